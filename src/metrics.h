/* metrics.h — the memorization metrics computed the same way for every kind of model of a zoo (the analyze
 * stage writes them; the pure computations are public so that tests can check them without a pipeline).
 *
 * For every kind (prefix = the kind with ':' -> '_'), summary.csv gets:
 *   PREFIX_novelty            share of the kind's models whose max_iou is below novelty_threshold, the smallest
 *                             max_iou among the originals (one definition for every kind; `novelty` = p-diff's)
 *   PREFIX_pair_iou_mean/min  IoU of wrong predictions over every pair of the kind's models (diversity)
 *   PREFIX_pair_l2_mean       mean L2 distance between the kind's vectors over every pair
 *   PREFIX_best_of_n          expected best accuracy of best_of_n models drawn with replacement from the kind
 *   PREFIX_disagreement_mean  mean share of test images a model predicts differently from the ensemble
 * plus novelty_threshold and best_of_n. Pairwise metrics are NaN for a kind with fewer than 2 models.
 *
 *   double b = metrics_best_of_n(acc, n_models, 10);           // kinds with different N compare fairly
 *   metrics_zoo_summary(session, &zoo, k, cfg.best_of_n, &err); // every metric above, every kind
 */
#ifndef PD_METRICS_H
#define PD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "session.h"
#include "similarity.h"
#include "zoo.h"

/* Expected maximum of n values drawn with replacement from acc [count] (any order):
 * sum_i a_(i) ((i/N)^n - ((i-1)/N)^n) over the ascending a_(1..N). NaN when count < 1, n < 1 or out of memory. */
double metrics_best_of_n(const double *acc, int64_t count, int32_t n);

typedef struct {
    double iou_mean, iou_min; /* IoU of wrong predictions (similarity.h) over every pair */
    double l2_mean;           /* mean Euclidean distance over every pair (sum of squared differences in double) */
} pd_pair_stats;

/* Pairwise statistics over the models ids [n] (rows of w and of vectors [*, d]); NaN when n < 2. */
void metrics_pairwise(const pd_similarity_sets *w, const float *vectors, int64_t d, const int32_t *ids, int32_t n,
                      pd_pair_stats *out);

/* Squared Euclidean distance of two float vectors, accumulated in double. */
double metrics_sq_dist(const float *a, const float *b, int64_t d);

/* "noise:0.01" -> "noise_0.01": the kind's prefix of summary metric names. */
void metrics_prefix(const char *kind, char *out, size_t size);

/* The per-kind metrics above for the analysed zoo z whose first k models are the originals, into summary s. */
pd_status metrics_zoo_summary(pd_session *s, const pd_zoo *z, int32_t k, int32_t best_of_n, pd_error *err);

#endif
