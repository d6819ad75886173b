/* tsne.h — exact t-SNE: a 2-D map of a few thousand points (van der Maaten & Hinton 2008).
 *
 * The results screen places every model (a flattened weight vector, or a summary of one) on a plane so that
 * neighbours in the original space stay neighbours. Exact t-SNE (no Barnes-Hut approximation) costs O(n^2) time
 * per iteration and n^2 floats of memory (16 MB at n = 2000), fine for the few hundred to few thousand points
 * pdiff shows: n = 2000 takes a few seconds.
 *
 *   pd_tsne_opts o = {.perplexity = 30, .iterations = 1000, .seed = 7, .threads = 2};
 *   double y[2 * n];                                      // out: [n, 2], row-major, centred on 0
 *   if (tsne_embed(x, n, dim, &o, y, &err) != PD_OK)      // x [n, dim] row-major floats (borrowed)
 *       ... err.msg says why ...
 *
 * Zero (or NULL opts) means the default for every field. The result is a pure function of (x, options): the
 * same seed gives the same map, and the thread count does not change it either (every row of the O(n^2) loops is
 * summed by one thread, in a fixed order). Duplicate input points are fine. Progress goes to o->cb as
 * ("tsne", iterations done, total), the KL divergence every 100 iterations to on_metric (only computed when that
 * hook is set), and should_cancel is polled once per iteration (PD_ERR_CANCELLED, y then holds the map so far).
 */
#ifndef PD_TSNE_H
#define PD_TSNE_H

#include <stdint.h>

#include "error.h"
#include "progress.h"

typedef struct {
    double perplexity;       /* default 30; clamped to (n-1)/3 for small n */
    int32_t iterations;      /* default 1000; 250 of them with early exaggeration x12 */
    double learning_rate;    /* default max(n/12, 50) (0 = default) */
    uint64_t seed;           /* initial positions N(0, 1e-4) from rng_normal_at(seed, 2i + k) */
    int threads;             /* 0/1 = single thread; else a pd_pool of that many threads for the O(n^2) loops */
    const pd_callbacks *cb;  /* optional (borrowed): progress, KL metric, cancellation */
} pd_tsne_opts;

/* Embed n points of dimension dim (x [n, dim], row-major floats) into y [n, 2] (row-major doubles).
 * PD_ERR_CONFIG for n < 2, dim < 1 or bad options; PD_ERR_DATA for a non-finite input value; PD_ERR_NOMEM;
 * PD_ERR_NUMERIC if the map diverges; PD_ERR_CANCELLED. */
pd_status tsne_embed(const float *x, int32_t n, int32_t dim, const pd_tsne_opts *o, double *y, pd_error *err);

#endif
