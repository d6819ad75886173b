/* metrics.c — memorization metrics computed the same way for every kind (see metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stats.h"

void metrics_prefix(const char *kind, char *out, size_t size)
{
    snprintf(out, size, "%s", kind);
    for (char *c = out; *c; c++)
        if (*c == ':')
            *c = '_';
}

double metrics_best_of_n(const double *acc, int64_t count, int32_t n)
{
    if (count < 1 || n < 1)
        return NAN;
    double *v = malloc((size_t)count * sizeof *v);
    if (!v)
        return NAN;
    memcpy(v, acc, (size_t)count * sizeof *v);
    qsort(v, (size_t)count, sizeof *v, stats_cmp_double);
    /* P(max of n draws = a_(i)) = (i/N)^n - ((i-1)/N)^n, the i-th smallest value */
    double s = 0.0, below = 0.0;
    for (int64_t i = 1; i <= count; i++) {
        double upto = pow((double)i / (double)count, (double)n);
        s += v[i - 1] * (upto - below);
        below = upto;
    }
    free(v);
    return s;
}

double metrics_sq_dist(const float *a, const float *b, int64_t d)
{
    /* four running sums: the same direct sum of squared differences, without a dependency chain per term */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        double e0 = (double)a[j] - (double)b[j], e1 = (double)a[j + 1] - (double)b[j + 1];
        double e2 = (double)a[j + 2] - (double)b[j + 2], e3 = (double)a[j + 3] - (double)b[j + 3];
        s0 += e0 * e0;
        s1 += e1 * e1;
        s2 += e2 * e2;
        s3 += e3 * e3;
    }
    for (; j < d; j++) {
        double e = (double)a[j] - (double)b[j];
        s0 += e * e;
    }
    return (s0 + s1) + (s2 + s3);
}

void metrics_pairwise(const pd_similarity_sets *w, const float *vectors, int64_t d, const int32_t *ids, int32_t n,
                      pd_pair_stats *out)
{
    out->iou_mean = out->iou_min = out->l2_mean = NAN;
    if (n < 2)
        return;
    double iou_sum = 0.0, iou_min = INFINITY, l2_sum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        const float *a = vectors + (int64_t)ids[i] * d;
        for (int32_t j = i + 1; j < n; j++) {
            double iou = similarity_iou(w, ids[i], ids[j]);
            iou_sum += iou;
            iou_min = iou < iou_min ? iou : iou_min;
            l2_sum += sqrt(metrics_sq_dist(a, vectors + (int64_t)ids[j] * d, d));
        }
    }
    double pairs = (double)n * (double)(n - 1) / 2.0;
    out->iou_mean = iou_sum / pairs;
    out->iou_min = iou_min;
    out->l2_mean = l2_sum / pairs;
}

/* The metrics of one kind: its models ids [n] (acc is scratch [n]). */
static pd_status metrics_kind(pd_session *s, const pd_zoo *z, const pd_similarity_sets *w, const int32_t *ids,
                              int32_t n, double *acc, double threshold, int32_t ensemble, int32_t best_of_n)
{
    char pre[ZOO_KIND_MAX + 8], key[ZOO_KIND_MAX + 64];
    metrics_prefix(z->kind[ids[0]], pre, sizeof pre);
    int32_t novel = 0;
    double dis = 0.0;
    for (int32_t i = 0; i < n; i++) {
        acc[i] = z->accuracy[ids[i]];
        novel += z->max_iou[ids[i]] < threshold;
        dis += zoo_disagreement(z, ids[i], ensemble);
    }
    pd_pair_stats ps;
    metrics_pairwise(w, z->vectors, z->d, ids, n, &ps);
    const struct {
        const char *name;
        double v;
    } m[] = {{"novelty", (double)novel / n},
             {"best_of_n", metrics_best_of_n(acc, n, best_of_n)},
             {"pair_iou_mean", ps.iou_mean},
             {"pair_iou_min", ps.iou_min},
             {"pair_l2_mean", ps.l2_mean},
             {"disagreement_mean", dis / n}};
    pd_status st = PD_OK;
    for (size_t i = 0; i < sizeof m / sizeof m[0] && st == PD_OK; i++) {
        snprintf(key, sizeof key, "%s_%s", pre, m[i].name);
        st = session_summary_set(s, key, m[i].v);
    }
    return st;
}

pd_status metrics_zoo_summary(pd_session *s, const pd_zoo *z, int32_t k, int32_t best_of_n, pd_error *err)
{
    if (z->n == 0)
        return PD_OK;
    pd_similarity_sets w;
    if (!z->labels || similarity_init(&w, z->preds, z->labels, z->n, z->n_test) != PD_OK)
        return error_set(err, z->labels ? PD_ERR_NOMEM : PD_ERR_STATE,
                         z->labels ? "metrics: out of memory" : "metrics: no test labels (rerun generate)");
    int32_t *ids = malloc((size_t)z->n * sizeof *ids);
    double *acc = malloc((size_t)z->n * sizeof *acc);
    pd_status st = ids && acc ? PD_OK : PD_ERR_NOMEM;
    double threshold = INFINITY; /* the originals' smallest max_iou, as `novelty` always used */
    for (int32_t m = 0; m < k && m < z->n; m++)
        if (isfinite(z->max_iou[m]) && z->max_iou[m] < threshold)
            threshold = z->max_iou[m];
    if (st == PD_OK)
        st = session_summary_set(s, "novelty_threshold", isfinite(threshold) ? threshold : NAN);
    if (st == PD_OK)
        st = session_summary_set(s, "best_of_n", best_of_n);
    int32_t ensemble = zoo_first_of(z, "ensemble");
    for (int32_t first = 0; st == PD_OK && first < z->n; first++) {
        if (zoo_first_of(z, z->kind[first]) != first) /* one pass per distinct kind, at its first model */
            continue;
        int32_t n = zoo_ids_of(z, z->kind[first], ids);
        st = metrics_kind(s, z, &w, ids, n, acc, threshold, ensemble, best_of_n);
    }
    similarity_free(&w);
    free(ids);
    free(acc);
    return st == PD_OK ? PD_OK : error_set(err, st, "metrics: out of memory");
}
