/* test_tsne.c — exact t-SNE: separated clusters stay separated, runs repeat, threads agree, edge cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "tap.h"
#include "tsne.h"

#define NC 3     /* clusters */
#define PER 40   /* points per cluster */
#define DIM 10

/* NC Gaussian clusters (unit spread) in DIM-D with centres 20 apart: centre c = (20 / sqrt 2) e_c. */
static void make_clusters(float *x, int32_t *label)
{
    for (int32_t i = 0; i < NC * PER; i++) {
        label[i] = i / PER;
        for (int32_t k = 0; k < DIM; k++)
            x[i * DIM + k] = rng_normal_at(1234, (uint64_t)(i * DIM + k)) + (k == label[i] ? 20.0f / sqrtf(2) : 0);
    }
}

static int all_finite(const double *y, int32_t n)
{
    for (int32_t k = 0; k < 2 * n; k++)
        if (!isfinite(y[k]))
            return 0;
    return 1;
}

static double max_abs_diff(const double *a, const double *b, int32_t n)
{
    double m = 0.0;
    for (int32_t k = 0; k < n; k++)
        m = fmax(m, fabs(a[k] - b[k]));
    return m;
}

static void test_clusters(void)
{
    enum { N = NC * PER };
    static float x[N * DIM];
    static int32_t label[N];
    static double y[2 * N], y2[2 * N], y1t[2 * N];
    make_clusters(x, label);
    pd_error err = {0};
    pd_tsne_opts o = {.seed = 42, .threads = 2};
    pd_status st = tsne_embed(x, N, DIM, &o, y, &err);
    tap_ok(st == PD_OK && all_finite(y, N), "three clusters: embedded (%s)", st == PD_OK ? "ok" : err.msg);

    int32_t wrong = 0;
    for (int32_t i = 0; i < N; i++) {
        int32_t best = -1;
        double bd = INFINITY;
        for (int32_t j = 0; j < N; j++) {
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1], d = dx * dx + dy * dy;
            if (j != i && d < bd) {
                bd = d;
                best = j;
            }
        }
        wrong += best < 0 || label[best] != label[i];
    }
    tap_ok(wrong == 0, "three clusters: every nearest embedded neighbour in its own cluster (%d wrong)", (int)wrong);

    double cx[NC] = {0}, cy[NC] = {0}, spread[NC] = {0};
    for (int32_t i = 0; i < N; i++) {
        cx[label[i]] += y[2 * i] / PER;
        cy[label[i]] += y[2 * i + 1] / PER;
    }
    for (int32_t i = 0; i < N; i++) {
        double dx = y[2 * i] - cx[label[i]], dy = y[2 * i + 1] - cy[label[i]];
        spread[label[i]] += (dx * dx + dy * dy) / PER;
    }
    double max_spread = 0.0, min_sep = INFINITY;
    for (int a = 0; a < NC; a++) {
        max_spread = fmax(max_spread, sqrt(spread[a]));
        for (int b = a + 1; b < NC; b++)
            min_sep = fmin(min_sep, hypot(cx[a] - cx[b], cy[a] - cy[b]));
    }
    tap_ok(min_sep > 4.0 * max_spread, "three clusters: centre separation %.2f > 4 x largest RMS spread %.2f",
           min_sep, max_spread);

    st = tsne_embed(x, N, DIM, &o, y2, &err);
    tap_ok(st == PD_OK && memcmp(y, y2, sizeof y) == 0, "deterministic: two runs with seed 42 are identical");
    for (int threads = 1; threads <= 3; threads += 2) {
        o.threads = threads;
        st = tsne_embed(x, N, DIM, &o, y1t, &err);
        double d = max_abs_diff(y, y1t, 2 * N);
        tap_ok(st == PD_OK && d <= 1e-9, "%d and 2 threads agree: max |diff| %.3g", threads, d);
    }
    o.seed = 43;
    st = tsne_embed(x, N, DIM, &o, y2, &err);
    tap_ok(st == PD_OK && max_abs_diff(y, y2, 2 * N) > 1e-3, "another seed gives another map");
}

static void test_duplicates(void)
{
    enum { N = 40, D = 5 };
    float x[N * D];
    double y[2 * N];
    for (int32_t i = 0; i < N; i++)
        for (int32_t k = 0; k < D; k++)
            x[i * D + k] = i < 20 ? 3.0f : rng_normal_at(99, (uint64_t)(i * D + k));
    pd_error err = {0};
    pd_tsne_opts o = {.seed = 1, .iterations = 500};
    pd_status st = tsne_embed(x, N, D, &o, y, &err);
    tap_ok(st == PD_OK && all_finite(y, N), "20 identical + 20 other points: finite map (%s)",
           st == PD_OK ? "ok" : err.msg);
    for (int32_t i = 0; i < N; i++)
        for (int32_t k = 0; k < D; k++)
            x[i * D + k] = 1.0f;
    st = tsne_embed(x, N, D, &o, y, &err);
    tap_ok(st == PD_OK && all_finite(y, N), "40 identical points: finite map");
}

static void test_small(void)
{
    float x[3 * 2] = {0, 0, 1, 0, 0, 5};
    double y[3 * 2];
    pd_error err = {0};
    pd_status st = tsne_embed(x, 2, 2, NULL, y, &err);
    tap_ok(st == PD_OK && all_finite(y, 2) && (y[0] != y[2] || y[1] != y[3]) && fabs(y[0] + y[2]) < 1e-9,
           "n = 2: two distinct points, centred (%s)", st == PD_OK ? "ok" : err.msg);
    st = tsne_embed(x, 3, 2, &(pd_tsne_opts){.seed = 5, .threads = 2}, y, &err);
    tap_ok(st == PD_OK && all_finite(y, 3), "n = 3: finite map (%s)", st == PD_OK ? "ok" : err.msg);
}

static void test_refused(void)
{
    float x[4 * 2] = {0, 1, 2, 3, 4, 5, 6, 7};
    double y[4 * 2];
    pd_error err = {0};
    pd_status st = tsne_embed(x, 1, 2, NULL, y, &err);
    tap_ok(st == PD_ERR_CONFIG && err.msg[0], "n = 1 refused: %s", err.msg);
    tap_ok(tsne_embed(x, 0, 2, NULL, y, NULL) == PD_ERR_CONFIG, "n = 0 refused");
    tap_ok(tsne_embed(x, 4, 0, NULL, y, NULL) == PD_ERR_CONFIG, "dim = 0 refused");
    tap_ok(tsne_embed(x, 4, 2, &(pd_tsne_opts){.perplexity = -1}, y, NULL) == PD_ERR_CONFIG,
           "negative perplexity refused");
    tap_ok(tsne_embed(x, 4, 2, &(pd_tsne_opts){.learning_rate = NAN}, y, NULL) == PD_ERR_CONFIG,
           "NaN learning rate refused");
    tap_ok(tsne_embed(x, 4, 2, &(pd_tsne_opts){.iterations = -5}, y, NULL) == PD_ERR_CONFIG,
           "negative iterations refused");
    x[5] = NAN;
    st = tsne_embed(x, 4, 2, NULL, y, &err);
    tap_ok(st == PD_ERR_DATA, "NaN input refused: %s", err.msg);
}

typedef struct {
    int64_t progress_calls, last_done, last_total, metrics;
    double first_kl, last_kl;
    int cancel_after; /* cancel once progress_calls reaches this (0 = never) */
} hooks;

static void on_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    hooks *h = ud;
    if (strcmp(stage, "tsne") == 0) {
        h->progress_calls++;
        h->last_done = done;
        h->last_total = total;
    }
}

static void on_metric(void *ud, const char *stage, int64_t step, double loss, double acc)
{
    (void)stage, (void)step, (void)acc;
    hooks *h = ud;
    if (h->metrics++ == 0)
        h->first_kl = loss;
    h->last_kl = loss;
}

static int should_cancel(void *ud)
{
    hooks *h = ud;
    return h->cancel_after > 0 && h->progress_calls >= h->cancel_after;
}

static void test_callbacks(void)
{
    enum { N = NC * PER };
    static float x[N * DIM];
    static int32_t label[N];
    static double y[2 * N];
    make_clusters(x, label);
    hooks h = {0};
    pd_callbacks cb = {.on_progress = on_progress, .on_metric = on_metric, .should_cancel = should_cancel, .ud = &h};
    pd_tsne_opts o = {.seed = 3, .iterations = 400, .cb = &cb};
    pd_error err = {0};
    pd_status st = tsne_embed(x, N, DIM, &o, y, &err);
    tap_ok(st == PD_OK && h.progress_calls > 0 && h.last_done == 400 && h.last_total == 400,
           "progress reported up to 400/400 (%lld calls)", (long long)h.progress_calls);
    tap_ok(h.metrics == 5 && isfinite(h.last_kl) && h.last_kl >= 0.0 && h.last_kl < h.first_kl,
           "KL divergence reported %lld times, %.3f -> %.3f", (long long)h.metrics, h.first_kl, h.last_kl);
    h = (hooks){.cancel_after = 3};
    st = tsne_embed(x, N, DIM, &o, y, &err);
    tap_ok(st == PD_ERR_CANCELLED && all_finite(y, N), "cancel: %s", err.msg);
}

int main(void)
{
    test_clusters();
    test_duplicates();
    test_small();
    test_refused();
    test_callbacks();
    return tap_done();
}
