/* test_metrics.c — the analyze stage's per-kind metrics (src/metrics.h) without a pipeline:
 * expected best-of-n against brute-force enumeration of every draw, pairwise IoU / L2 against direct loops, the
 * disagreement with the ensemble, and the summary rows of a small hand-made zoo. TAP output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rng.h"
#include "session.h"
#include "tap.h"
#include "zoo.h"

static int close_to(double got, double want, double tol)
{
    return fabs(got - want) <= tol * (1.0 + fabs(want));
}

/* E[max] of n draws with replacement by enumerating all N^n draws. */
static double brute_best_of_n(const double *acc, int N, int n)
{
    int64_t total = 1;
    for (int i = 0; i < n; i++)
        total *= N;
    double s = 0.0;
    for (int64_t code = 0; code < total; code++) {
        int64_t c = code;
        double mx = -INFINITY;
        for (int i = 0; i < n; i++, c /= N)
            mx = acc[c % N] > mx ? acc[c % N] : mx;
        s += mx;
    }
    return s / (double)total;
}

static void test_best_of_n(void)
{
    pd_rng r;
    rng_init(&r, 7);
    int bad = 0, cases = 0;
    for (int N = 1; N <= 6; N++)
        for (int n = 1; n <= 5; n++)
            for (int rep = 0; rep < 3; rep++) {
                double acc[6];
                for (int i = 0; i < N; i++) /* rep 2: values with ties */
                    acc[i] = rep == 2 ? 0.5 + 0.1 * (double)rng_below(&r, 3) : rng_uniform(&r);
                double got = metrics_best_of_n(acc, N, n), want = brute_best_of_n(acc, N, n);
                cases++;
                if (!close_to(got, want, 1e-12)) {
                    bad++;
                    tap_diag("N %d n %d: got %.17g want %.17g", N, n, got, want);
                }
            }
    tap_ok(bad == 0, "best-of-n equals the enumeration of all N^n draws (%d cases, ties included)", cases);
    double one = 0.8125;
    tap_ok(metrics_best_of_n(&one, 1, 10) == one, "best-of-n of one model is its accuracy");
    double v[4] = {0.9, 0.7, 0.8, 0.6};
    tap_ok(close_to(metrics_best_of_n(v, 4, 1), 0.75, 1e-15), "best-of-1 is the mean");
    double same[5] = {0.3, 0.3, 0.3, 0.3, 0.3};
    tap_ok(close_to(metrics_best_of_n(same, 5, 7), 0.3, 1e-15), "all ties: best-of-n is the common value");
    tap_ok(close_to(metrics_best_of_n(v, 4, 200), 0.9, 1e-12), "large n tends to the best");
    tap_ok(v[0] == 0.9 && v[3] == 0.6, "best-of-n leaves its input unsorted");
    tap_ok(isnan(metrics_best_of_n(v, 0, 3)) && isnan(metrics_best_of_n(v, 4, 0)), "no models or n = 0: NaN");
}

/* Random predictions of m models on t images (labels 0..9), vectors [m, d]. */
static void random_models(pd_rng *r, int m, int t, int64_t d, uint8_t *preds, uint8_t *labels, float *vec)
{
    for (int i = 0; i < t; i++)
        labels[i] = (uint8_t)rng_below(r, 10);
    for (int k = 0; k < m; k++)
        for (int i = 0; i < t; i++) /* wrong on about a quarter of the images */
            preds[k * t + i] = rng_below(r, 4) == 0 ? (uint8_t)((labels[i] + 1) % 10) : labels[i];
    for (int64_t j = 0; j < (int64_t)m * d; j++)
        vec[j] = (float)(rng_normal(r) * 0.01);
}

static void direct_pairs(const uint8_t *preds, const uint8_t *labels, int t, const float *vec, int64_t d,
                         const int32_t *ids, int n, pd_pair_stats *want)
{
    double is = 0.0, imin = INFINITY, ls = 0.0;
    int pairs = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            int inter = 0, uni = 0;
            for (int i = 0; i < t; i++) {
                int wa = preds[ids[a] * t + i] != labels[i], wb = preds[ids[b] * t + i] != labels[i];
                inter += wa && wb;
                uni += wa || wb;
            }
            double iou = uni ? (double)inter / uni : 1.0;
            is += iou;
            imin = iou < imin ? iou : imin;
            double s = 0.0;
            for (int64_t j = 0; j < d; j++) {
                double e = (double)vec[ids[a] * d + j] - (double)vec[ids[b] * d + j];
                s += e * e;
            }
            ls += sqrt(s);
            pairs++;
        }
    want->iou_mean = is / pairs;
    want->iou_min = imin;
    want->l2_mean = ls / pairs;
}

static void test_pairwise(void)
{
    enum { M = 9, T = 150 };
    const int64_t d = 37; /* not a multiple of 4 */
    pd_rng r;
    rng_init(&r, 11);
    uint8_t preds[M * T], labels[T];
    float vec[M * 37];
    random_models(&r, M, T, d, preds, labels, vec);
    pd_similarity_sets w;
    tap_ok(similarity_init(&w, preds, labels, M, T) == PD_OK, "similarity sets");
    int32_t ids[5] = {1, 3, 4, 7, 8};
    pd_pair_stats got, want;
    metrics_pairwise(&w, vec, d, ids, 5, &got);
    direct_pairs(preds, labels, T, vec, d, ids, 5, &want);
    tap_ok(close_to(got.iou_mean, want.iou_mean, 1e-14) && got.iou_min == want.iou_min,
           "pair IoU mean %.6f min %.6f equal the direct loop's (%.6f, %.6f)", got.iou_mean, got.iou_min,
           want.iou_mean, want.iou_min);
    tap_ok(close_to(got.l2_mean, want.l2_mean, 1e-13), "pair L2 mean %.9g equals the direct loop's %.9g", got.l2_mean,
           want.l2_mean);
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) {
        double e = (double)vec[j] - (double)vec[d + j];
        s += e * e;
    }
    tap_ok(close_to(metrics_sq_dist(vec, vec + d, d), s, 1e-14), "squared distance equals the direct sum");
    tap_ok(metrics_sq_dist(vec, vec, d) == 0.0, "distance of a vector to itself is 0");
    metrics_pairwise(&w, vec, d, ids, 2, &got);
    direct_pairs(preds, labels, T, vec, d, ids, 2, &want);
    tap_ok(got.iou_min == want.iou_min && close_to(got.l2_mean, want.l2_mean, 1e-14), "one pair");
    metrics_pairwise(&w, vec, d, ids, 1, &got);
    tap_ok(isnan(got.iou_mean) && isnan(got.iou_min) && isnan(got.l2_mean), "one model: NaN");
    similarity_free(&w);
}

/* Pairwise statistics at the critique's size (600 models, d = 3000, 10 000 test images): consistent values. How
 * fast this runs is measured by hand (about 0.3 s on 2 cores), never asserted here. */
static void test_pairwise_large(void)
{
    enum { M = 600, T = 10000 };
    const int64_t d = 3000;
    uint8_t *preds = malloc((size_t)M * T), *labels = malloc(T);
    float *vec = malloc((size_t)M * (size_t)d * sizeof *vec);
    int32_t *ids = malloc(M * sizeof *ids);
    pd_similarity_sets w;
    if (!tap_ok(preds && labels && vec && ids, "buffers of the large case")) {
        free(preds), free(labels), free(vec), free(ids);
        return;
    }
    pd_rng r;
    rng_init(&r, 3);
    random_models(&r, M, T, d, preds, labels, vec);
    for (int i = 0; i < M; i++)
        ids[i] = i;
    similarity_init(&w, preds, labels, M, T);
    pd_pair_stats got;
    metrics_pairwise(&w, vec, d, ids, M, &got);
    double first = similarity_iou(&w, 0, 1);
    tap_ok(isfinite(got.iou_mean) && isfinite(got.l2_mean) && got.iou_min <= first && first <= 1.0 &&
               got.iou_min <= got.iou_mean && got.iou_mean <= 1.0 && got.l2_mean > 0.0,
           "600 models, d 3000, 10000 images: min %.4f <= mean %.4f <= 1, mean L2 %.4f", got.iou_min, got.iou_mean,
           got.l2_mean);
    similarity_free(&w);
    free(preds), free(labels), free(vec), free(ids);
}

static void test_disagreement(void)
{
    pd_zoo z;
    zoo_init(&z, 2, 4);
    float v[2] = {0, 0};
    uint8_t p0[4] = {1, 2, 3, 4}, p1[4] = {1, 2, 0, 4}, p2[4] = {0, 0, 0, 0};
    zoo_add(&z, "original", v, 1.0, 0.0, p0);
    zoo_add(&z, "ensemble", v, 0.75, 0.0, p1);
    zoo_add(&z, "pdiff", v, 0.0, 0.0, p2);
    tap_ok(zoo_first_of(&z, "ensemble") == 1 && zoo_first_of(&z, "pdiff") == 2 && zoo_first_of(&z, "noise:") == -1,
           "zoo_first_of: exact kinds, -1 when absent");
    tap_ok(zoo_disagreement(&z, 0, 1) == 0.25 && zoo_disagreement(&z, 2, 1) == 0.75 &&
               zoo_disagreement(&z, 1, 1) == 0.0,
           "disagreement with the ensemble: 1/4, 3/4, 0 for itself");
    tap_ok(isnan(zoo_disagreement(&z, 0, -1)) && isnan(zoo_disagreement(&z, 0, 3)), "no ensemble: NaN");
    zoo_free(&z);
}

static double summary(const pd_session *s, const char *metric)
{
    double v = -1.0;
    return session_summary_get(s, metric, &v) ? v : -1.0;
}

/* A zoo of 3 originals, the ensemble, 2 p-diff and 1 noise model with known max_iou and accuracies. */
static void test_fair_metrics(void)
{
    pd_zoo z;
    enum { T = 4 };
    zoo_init(&z, 3, T);
    int32_t labels[T] = {0, 1, 2, 3};
    zoo_set_labels(&z, labels);
    static const struct {
        const char *kind;
        double acc, max_iou;
        uint8_t pred[T];
        float vec[3];
    } m[] = {{"original", 0.75, 0.50, {0, 1, 2, 0}, {0, 0, 0}},   {"original", 0.50, 0.40, {0, 1, 0, 0}, {3, 4, 0}},
             {"original", 0.75, 0.60, {0, 1, 2, 9}, {0, 0, 1}},   {"ensemble", 0.75, 0.45, {0, 1, 2, 0}, {1, 1, 1}},
             {"pdiff", 1.00, 0.30, {0, 1, 2, 3}, {0, 0, 0}},      {"pdiff", 0.25, 0.40, {9, 9, 9, 3}, {0, 0, 2}},
             {"noise:0.1", 0.50, 0.35, {0, 1, 9, 9}, {5, 5, 5}}};
    for (int i = 0; i < 7; i++) {
        zoo_add(&z, m[i].kind, m[i].vec, m[i].acc, 0.0, m[i].pred);
        z.max_iou[i] = m[i].max_iou;
    }
    pd_session *s = NULL;
    pd_error err = {0};
    pd_status st = session_open(&s, tap_workdir("metrics"), 1, &err);
    if (tap_ok(st == PD_OK, "session (%s)", err.msg))
        st = metrics_zoo_summary(s, &z, 3, 2, &err);
    if (!tap_ok(st == PD_OK, "metrics_zoo_summary (%s)", err.msg)) {
        session_free(s);
        zoo_free(&z);
        return;
    }
    tap_ok(summary(s, "novelty_threshold") == 0.40 && summary(s, "best_of_n") == 2, "novelty_threshold, best_of_n");
    tap_ok(summary(s, "original_novelty") == 0.0 && summary(s, "pdiff_novelty") == 0.5 &&
               summary(s, "noise_0.1_novelty") == 1.0 && summary(s, "ensemble_novelty") == 0.0,
           "novelty: share below the originals' smallest max_iou, for every kind");
    /* originals: sorted 0.5, 0.75, 0.75 -> 0.5 * 1/9 + 0.75 * 8/9 */
    tap_ok(close_to(summary(s, "original_best_of_n"), 0.5 / 9 + 0.75 * 8 / 9, 1e-15) &&
               close_to(summary(s, "pdiff_best_of_n"), 0.25 / 4 + 1.0 * 3 / 4, 1e-15) &&
               summary(s, "ensemble_best_of_n") == 0.75,
           "best-of-2 per kind");
    /* p-diff wrong sets {} and {0,1,2}: IoU 0; distance 2 */
    tap_ok(summary(s, "pdiff_pair_iou_mean") == 0.0 && summary(s, "pdiff_pair_iou_min") == 0.0 &&
               summary(s, "pdiff_pair_l2_mean") == 2.0,
           "p-diff pairwise IoU and L2");
    /* originals' wrong sets {3}, {2,3}, {3}: IoU 1/2, 1, 1/2; distances 5, 1, sqrt(26) */
    tap_ok(close_to(summary(s, "original_pair_iou_mean"), 2.0 / 3, 1e-15) &&
               summary(s, "original_pair_iou_min") == 0.5 &&
               close_to(summary(s, "original_pair_l2_mean"), (6.0 + sqrt(26.0)) / 3, 1e-15),
           "originals' pairwise IoU and L2");
    tap_ok(isnan(summary(s, "ensemble_pair_iou_mean")) && isnan(summary(s, "noise_0.1_pair_l2_mean")),
           "one model of a kind: pairwise metrics NaN");
    /* ensemble predicts 0,1,2,0 */
    tap_ok(close_to(summary(s, "original_disagreement_mean"), (0.0 + 0.25 + 0.25) / 3, 1e-15) &&
               summary(s, "pdiff_disagreement_mean") == (0.25 + 1.0) / 2 &&
               summary(s, "noise_0.1_disagreement_mean") == 0.5 && summary(s, "ensemble_disagreement_mean") == 0.0,
           "disagreement with the ensemble per kind");
    session_free(s);
    zoo_free(&z);
}

int main(void)
{
    test_best_of_n();
    test_pairwise();
    test_disagreement();
    test_fair_metrics();
    test_pairwise_large();
    return tap_done();
}
