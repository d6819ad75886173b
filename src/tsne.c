/* tsne.c — exact t-SNE (see tsne.h).
 *
 * Affinities (in double): per point, a search on the precision beta of a Gaussian so that the entropy of the
 * conditional distribution P(j|i) matches log(perplexity); P = (P + P^T) / 2n floored at 1e-12, then kept as
 * floats. Optimisation: gradient descent with momentum and per-coordinate gains as in the reference implementation
 * (bhtsne), early exaggeration for the first 250 iterations, the map recentred after every step.
 *
 * The gradient visits each pair once, in square tiles of the pair matrix: the kernel and the sums within a tile run
 * four floats at a time (a 64-term float sum is accurate to ~1e-6, far below what the map can show), the tiles are
 * added up in double. Every sum has a fixed order whatever thread runs it, so the map is bit-for-bit reproducible
 * and independent of the thread count. At n = 2000 P takes 16 MB.
 */
#include "tsne.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "rng.h"

#define TSNE_EXAGGERATION 12.0
#define TSNE_EXAG_ITERS 250     /* exaggeration and momentum 0.5 until here, then 1 and 0.8 */
#define TSNE_SEARCH_ITERS 100   /* search steps on beta per point */
#define TSNE_SEARCH_TOL 1e-5    /* |entropy - log(perplexity)| in nats */
#define TSNE_P_FLOOR 1e-12
#define TSNE_TILE 64            /* points per block of the pair matrix */
#define TSNE_METRIC_EVERY 100

typedef struct {
    const float *x;         /* [n, dim] borrowed input */
    int32_t n, dim;
    double log_perp;        /* target entropy */
    double *scratch;        /* [threads, n] one row of distances / weights per thread */
    float *p;               /* [n, n] P(j|i), then the joint P (diagonal 0) */
    float *y0, *y1;         /* [n] current map, one array per axis */
    int32_t *tiles;         /* [ntiles, 2] block pairs (a, b), a <= b */
    double *part;           /* [nblocks, n, 5] per row and partner block: sum q, p q (y_i - y_j), q^2 (y_i - y_j) */
    double *klrow;          /* [n] per row: sum_{j > i} p_ij log(1 + |y_i - y_j|^2) */
} tsne_ctx;

static void tsne_run(pd_pool *pool, int64_t ntasks, pd_pool_fn fn, tsne_ctx *c)
{
    if (pool) {
        pool_run(pool, ntasks, fn, c);
        return;
    }
    for (int64_t t = 0; t < ntasks; t++)
        fn(c, t, 0);
}

/* Task i: row i of P(j|i), with the entropy of the target perplexity. Distances are taken relative to the nearest
 * neighbour, so the largest term is exp(0) = 1: no underflow to an all-zero row, and duplicate points (distance 0)
 * share the top weight. The search keeps a bracket [lo, hi] around beta and tries a Newton step first
 * (dH/dbeta = -beta Var(d)), bisecting when it leaves the bracket: about six passes over the row. */
static void tsne_task_cond(void *ctxp, int64_t task, int thread)
{
    tsne_ctx *c = ctxp;
    int32_t n = c->n, i = (int32_t)task;
    int64_t dim = c->dim;
    double *d = c->scratch + (int64_t)thread * n, dmin = INFINITY, excess = 0.0;
    const float *xi = c->x + i * dim;
    for (int32_t j = 0; j < n; j++) {
        const float *xj = c->x + j * dim;
        double s = 0.0;
        for (int64_t k = 0; k < dim; k++) {
            double t = (double)xi[k] - (double)xj[k];
            s += t * t;
        }
        d[j] = s;
        if (j != i && s < dmin)
            dmin = s;
    }
    for (int32_t j = 0; j < n; j++) {
        d[j] -= dmin;
        excess += j != i ? d[j] : 0.0;
    }
    double beta = 1.0, lo = 0.0, hi = INFINITY;
    if (excess > 0.0) {
        beta = (n - 1) / excess; /* start at 1 / mean excess: scale-free */
        for (int it = 0; it < TSNE_SEARCH_ITERS; it++) {
            double s0 = 0.0, s1 = 0.0, s2 = 0.0;
            for (int32_t j = 0; j < n; j++) {
                double e = j != i ? exp(-beta * d[j]) : 0.0;
                s0 += e;
                s1 += d[j] * e;
                s2 += d[j] * d[j] * e;
            }
            double mean = s1 / s0, var = s2 / s0 - mean * mean;
            double diff = log(s0) + beta * mean - c->log_perp; /* entropy - target */
            if (fabs(diff) < TSNE_SEARCH_TOL)
                break;
            if (diff > 0.0) /* too flat: sharpen */
                lo = beta;
            else
                hi = beta;
            double next = beta + diff / (beta * var); /* Newton */
            beta = next > lo && next < hi ? next : isinf(hi) ? 2.0 * beta : 0.5 * (lo + hi);
        }
    }
    double sum = 0.0;
    for (int32_t j = 0; j < n; j++) {
        d[j] = j != i ? exp(-beta * d[j]) : 0.0;
        sum += d[j];
    }
    float *row = c->p + (int64_t)i * n;
    for (int32_t j = 0; j < n; j++)
        row[j] = (float)(d[j] / sum);
}

/* Four floats as one value (a GCC/Clang vector extension, as in cpu_batchnorm.c; SSE on any x86-64): the tile's
 * row sums stay in registers and four pairs go through the kernel at once. */
typedef float tsne_v4 __attribute__((vector_size(16)));

static tsne_v4 tsne_load(const float *p)
{
    tsne_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void tsne_store(float *p, tsne_v4 v)
{
    memcpy(p, &v, sizeof v);
}

/* Tile (a, b), a <= b: blocks of TSNE_TILE points. Every pair i < j is visited once and its kernel
 * q = 1 / (1 + |y_i - y_j|^2) serves both rows, with y_j - y_i = -(y_i - y_j). Row i's sums over the pairs with
 * block b go to part[b, i, 0..4] = (sum q, sum p q dx, p q dy, q^2 dx, q^2 dy), added up later in block order. */
static void tsne_task_grad(void *ctxp, int64_t task, int thread)
{
    (void)thread;
    tsne_ctx *c = ctxp;
    int32_t n = c->n, a = c->tiles[2 * task], b = c->tiles[2 * task + 1];
    int32_t i0 = a * TSNE_TILE, i1 = i0 + TSNE_TILE < n ? i0 + TSNE_TILE : n;
    int32_t j0 = b * TSNE_TILE, j1 = j0 + TSNE_TILE < n ? j0 + TSNE_TILE : n;
    const float *y0 = c->y0, *y1 = c->y1;
    float col[5][TSNE_TILE] = {{0}}; /* the j side of every pair, by j - j0 */
    double *pa = c->part + ((int64_t)b * n + i0) * 5;
    for (int32_t i = i0; i < i1; i++, pa += 5) {
        const float *pi = c->p + (int64_t)i * n;
        float a0 = y0[i], a1 = y1[i];
        tsne_v4 z = {0}, ax = {0}, ay = {0}, rx = {0}, ry = {0};
        int32_t j = a == b ? i + 1 : j0;
        for (; j + 4 <= j1; j += 4) {
            int32_t jc = j - j0;
            tsne_v4 dx = a0 - tsne_load(y0 + j), dy = a1 - tsne_load(y1 + j);
            tsne_v4 q = 1.0f / (1.0f + dx * dx + dy * dy), pq = tsne_load(pi + j) * q, qq = q * q;
            z += q;
            ax += pq * dx;
            ay += pq * dy;
            rx += qq * dx;
            ry += qq * dy;
            tsne_store(col[0] + jc, tsne_load(col[0] + jc) + q);
            tsne_store(col[1] + jc, tsne_load(col[1] + jc) - pq * dx);
            tsne_store(col[2] + jc, tsne_load(col[2] + jc) - pq * dy);
            tsne_store(col[3] + jc, tsne_load(col[3] + jc) - qq * dx);
            tsne_store(col[4] + jc, tsne_load(col[4] + jc) - qq * dy);
        }
        tsne_v4 *acc[5] = {&z, &ax, &ay, &rx, &ry};
        for (int k = 0; k < 5; k++)
            pa[k] = (double)(*acc[k])[0] + (*acc[k])[1] + (*acc[k])[2] + (*acc[k])[3];
        for (; j < j1; j++) {
            float dx = a0 - y0[j], dy = a1 - y1[j];
            float q = 1.0f / (1.0f + dx * dx + dy * dy), pq = pi[j] * q, qq = q * q;
            float v[5] = {q, pq * dx, pq * dy, qq * dx, qq * dy};
            for (int k = 0; k < 5; k++) {
                pa[k] += v[k];
                col[k][j - j0] += k ? -v[k] : v[k];
            }
        }
    }
    double *pb = c->part + ((int64_t)a * n + j0) * 5;
    for (int32_t j = j0; j < j1; j++, pb += 5)
        for (int k = 0; k < 5; k++)
            pb[k] = (a == b ? pb[k] : 0.0) + col[k][j - j0]; /* diagonal tile: rows are also columns */
}

/* Points [64 task, 64 task + 64): sum_{j > i} p_ij log(1 + |y_i - y_j|^2). With P symmetric,
 * KL(P || Q) = sum p log p + 2 (sum of these) + sum(P) log Z. */
static void tsne_task_kl(void *ctxp, int64_t task, int thread)
{
    (void)thread;
    tsne_ctx *c = ctxp;
    int32_t n = c->n, i0 = (int32_t)task * TSNE_TILE;
    int32_t i1 = i0 + TSNE_TILE < n ? i0 + TSNE_TILE : n;
    for (int32_t i = i0; i < i1; i++) {
        const float *pi = c->p + (int64_t)i * n;
        double s = 0.0;
        for (int32_t j = i + 1; j < n; j++) {
            double dx = (double)c->y0[i] - c->y0[j], dy = (double)c->y1[i] - c->y1[j];
            s += pi[j] * log1p(dx * dx + dy * dy);
        }
        c->klrow[i] = s;
    }
}

static double tsne_sign(double v)
{
    return v > 0.0 ? 1.0 : v < 0.0 ? -1.0 : 0.0;
}

/* Subtract the mean of y [n, 2]; returns 0 when the map holds a NaN or an infinity. */
static int tsne_recentre(double *y, int32_t n)
{
    double m0 = 0.0, m1 = 0.0;
    for (int32_t i = 0; i < n; i++) {
        m0 += y[2 * i];
        m1 += y[2 * i + 1];
    }
    m0 /= n;
    m1 /= n;
    if (!isfinite(m0) || !isfinite(m1))
        return 0;
    for (int32_t i = 0; i < n; i++) {
        y[2 * i] -= m0;
        y[2 * i + 1] -= m1;
    }
    return 1;
}

static pd_status tsne_check(const float *x, int32_t n, int32_t dim, const pd_tsne_opts *o, double *y,
                            pd_error *err)
{
    if (n < 2)
        return error_set(err, PD_ERR_CONFIG, "tsne: need at least 2 points, got %d", (int)n);
    if (dim < 1)
        return error_set(err, PD_ERR_CONFIG, "tsne: dimension must be at least 1, got %d", (int)dim);
    if (!x || !y)
        return error_set(err, PD_ERR_CONFIG, "tsne: input and output arrays are required");
    if (!(o->perplexity >= 0.0) || isinf(o->perplexity))
        return error_set(err, PD_ERR_CONFIG, "tsne: perplexity must be positive, got %g", o->perplexity);
    if (o->iterations < 0)
        return error_set(err, PD_ERR_CONFIG, "tsne: iterations must be positive, got %d", (int)o->iterations);
    if (!(o->learning_rate >= 0.0) || isinf(o->learning_rate))
        return error_set(err, PD_ERR_CONFIG, "tsne: learning rate must be positive, got %g", o->learning_rate);
    if (o->threads < 0 || o->threads > 1024)
        return error_set(err, PD_ERR_CONFIG, "tsne: threads must be in 0..1024, got %d", o->threads);
    for (int64_t k = 0; k < (int64_t)n * dim; k++)
        if (!isfinite(x[k]))
            return error_set(err, PD_ERR_DATA, "tsne: point %lld has a non-finite value in dimension %lld",
                             (long long)(k / dim), (long long)(k % dim));
    return PD_OK;
}

/* The optimisation's state beside the workers' context. */
typedef struct {
    tsne_ctx c;
    pd_pool *pool;             /* NULL: one thread */
    size_t un, nblocks, ntiles;
    double *y;                 /* [n, 2] the map (the caller's array) */
    double *upd, *gains;       /* [n, 2] the latest update, per-coordinate gains */
    double psum, plogp;        /* sum P, sum P log P (for the KL metric) */
    int want_kl;
} tsne_opt;

/* Allocate the working memory of n points and set up the context and the tile list. */
static pd_status tsne_alloc(tsne_opt *s, const float *x, int32_t n, int32_t dim, double perp, int threads,
                            pd_error *err)
{
    /* doubles: part [nblocks, n, 5], scratch [threads, n], klrow [n], update and gains [n, 2];
     * floats: P [n, n], y0 and y1 [n] */
    size_t un = (size_t)n, nblocks = (un + TSNE_TILE - 1) / TSNE_TILE, ntiles = nblocks * (nblocks + 1) / 2;
    size_t nd = (5 * nblocks + (size_t)threads + 5) * un, nf = un * un + 2 * un;
    if (un > (SIZE_MAX / 16) / (un + 5 * nblocks + (size_t)threads + 7))
        return error_set(err, PD_ERR_NOMEM, "tsne: %d points are too many for exact t-SNE", (int)n);
    double *dbl = malloc(nd * sizeof(double));
    float *flt = malloc(nf * sizeof(float));
    int32_t *tiles = malloc(2 * ntiles * sizeof(int32_t));
    pd_pool *pool = threads > 1 ? pool_create(threads) : NULL;
    if (!dbl || !flt || !tiles || (threads > 1 && !pool)) {
        free(dbl);
        free(flt);
        free(tiles);
        pool_free(pool);
        return error_set(err, PD_ERR_NOMEM, "tsne: out of memory for %d points (%.1f MB)", (int)n,
                         (double)(nd * sizeof(double) + nf * sizeof(float)) / 1e6);
    }
    s->c = (tsne_ctx){.x = x, .n = n, .dim = dim, .log_perp = log(perp), .p = flt, .tiles = tiles, .part = dbl};
    s->c.scratch = s->c.part + 5 * nblocks * un;
    s->c.klrow = s->c.scratch + (size_t)threads * un;
    s->upd = s->c.klrow + un;
    s->gains = s->upd + 2 * un;
    s->c.y0 = s->c.p + un * un;
    s->c.y1 = s->c.y0 + un;
    s->pool = pool;
    s->un = un;
    s->nblocks = nblocks;
    s->ntiles = ntiles;
    for (size_t a = 0, t = 0; a < nblocks; a++)
        for (size_t b = a; b < nblocks; b++, t++) {
            tiles[2 * t] = (int32_t)a;
            tiles[2 * t + 1] = (int32_t)b;
        }
    return PD_OK;
}

static void tsne_release(tsne_opt *s)
{
    pool_free(s->pool);
    free(s->c.tiles);
    free(s->c.p);
    free(s->c.part);
}

/* P: the conditional affinities, symmetrised and floored; psum and (want_kl) plogp. */
static void tsne_affinities(tsne_opt *s)
{
    tsne_run(s->pool, s->c.n, tsne_task_cond, &s->c);
    float *p = s->c.p;
    size_t un = s->un;
    double psum = 0.0, plogp = 0.0;
    for (size_t i = 0; i < un; i++) {
        for (size_t j = i + 1; j < un; j++) {
            double v = ((double)p[i * un + j] + p[j * un + i]) / (2.0 * s->c.n);
            p[i * un + j] = p[j * un + i] = (float)(v > TSNE_P_FLOOR ? v : TSNE_P_FLOOR);
            psum += 2.0 * p[i * un + j];
            plogp += s->want_kl ? 2.0 * p[i * un + j] * log(p[i * un + j]) : 0.0;
        }
    }
    s->psum = psum;
    s->plogp = plogp;
}

/* The initial map N(0, 1e-4), recentred; no update yet, unit gains. */
static void tsne_init_map(tsne_opt *s, uint64_t seed)
{
    for (size_t k = 0; k < 2 * s->un; k++) {
        s->y[k] = 1e-2 * rng_normal_at(seed, k);
        s->upd[k] = 0.0;
        s->gains[k] = 1.0;
    }
    tsne_recentre(s->y, s->c.n);
}

/* The gradient's sums [n, 5] of the current map (part added up over partner blocks, in block order; they live in
 * c.part) and zsum = sum of q. */
static const double *tsne_gradient(tsne_opt *s, double *zsum)
{
    tsne_ctx *c = &s->c;
    size_t un = s->un;
    for (size_t i = 0; i < un; i++) {
        c->y0[i] = (float)s->y[2 * i];
        c->y1[i] = (float)s->y[2 * i + 1];
    }
    tsne_run(s->pool, (int64_t)s->ntiles, tsne_task_grad, c);
    double *sums = c->part, z = 0.0;
    for (size_t bl = 1; bl < s->nblocks; bl++)
        for (size_t k = 0; k < 5 * un; k++)
            sums[k] += c->part[5 * un * bl + k];
    for (size_t i = 0; i < un; i++)
        z += sums[5 * i];
    *zsum = z;
    return sums;
}

/* KL(P || Q) of the current map to the metric callback. */
static void tsne_report_kl(tsne_opt *s, const pd_callbacks *cb, int32_t it, double zsum)
{
    tsne_run(s->pool, (int64_t)s->nblocks, tsne_task_kl, &s->c);
    double kl = s->plogp + s->psum * log(zsum);
    for (size_t i = 0; i < s->un; i++)
        kl += 2.0 * s->c.klrow[i];
    progress_metric(cb, "tsne", it, kl, NAN);
}

/* One step of gradient descent with momentum and gains, then the recentring; returns 0 when the map diverged. */
static int tsne_update(tsne_opt *s, const double *sums, double zsum, int32_t it, double eta)
{
    double exag = it < TSNE_EXAG_ITERS ? TSNE_EXAGGERATION : 1.0;
    double mom = it < TSNE_EXAG_ITERS ? 0.5 : 0.8;
    double *y = s->y, *upd = s->upd, *gains = s->gains;
    for (size_t k = 0; k < 2 * s->un; k++) {
        const double *sk = sums + 5 * (k / 2) + k % 2; /* sk[1] attraction, sk[3] repulsion on this axis */
        double g = 4.0 * (exag * sk[1] - sk[3] / zsum);
        gains[k] = tsne_sign(g) != tsne_sign(upd[k]) ? gains[k] + 0.2 : gains[k] * 0.8;
        if (gains[k] < 0.01)
            gains[k] = 0.01;
        upd[k] = mom * upd[k] - eta * gains[k] * g;
        y[k] += upd[k];
    }
    return tsne_recentre(y, s->c.n);
}

pd_status tsne_embed(const float *x, int32_t n, int32_t dim, const pd_tsne_opts *o, double *y, pd_error *err)
{
    static const pd_tsne_opts defaults = {0};
    if (!o)
        o = &defaults;
    PD_TRY(tsne_check(x, n, dim, o, y, err));
    const pd_callbacks *cb = o->cb;
    int32_t iters = o->iterations > 0 ? o->iterations : 1000;
    double perp = o->perplexity > 0.0 ? o->perplexity : 30.0;
    if (perp > (n - 1) / 3.0)
        perp = (n - 1) / 3.0;
    double eta = o->learning_rate > 0.0 ? o->learning_rate : fmax(n / 12.0, 50.0);
    int threads = o->threads > 1 ? o->threads : 1;
    tsne_opt s;
    PD_TRY(tsne_alloc(&s, x, n, dim, perp, threads, err));
    s.y = y;
    s.want_kl = cb && cb->on_metric;
    tsne_affinities(&s);
    tsne_init_map(&s, o->seed);
    pd_status st = PD_OK;
    for (int32_t it = 0; it < iters; it++) {
        if (progress_cancelled(cb)) {
            st = error_set(err, PD_ERR_CANCELLED, "tsne: cancelled after %d of %d iterations", (int)it,
                           (int)iters);
            break;
        }
        double zsum;
        const double *sums = tsne_gradient(&s, &zsum);
        if (s.want_kl && (it % TSNE_METRIC_EVERY == 0 || it == iters - 1))
            tsne_report_kl(&s, cb, it, zsum);
        if (!tsne_update(&s, sums, zsum, it, eta)) {
            st = error_set(err, PD_ERR_NUMERIC, "tsne: the map diverged at iteration %d", (int)it);
            break;
        }
        if ((it + 1) % 10 == 0 || it + 1 == iters)
            progress_report(cb, "tsne", it + 1, iters);
    }
    tsne_release(&s);
    return st;
}
