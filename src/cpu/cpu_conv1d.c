/* cpu_conv1d.c — Conv1d and ConvTranspose1d on the CPU backend (see backend.h, cpu.h).
 *
 * Both ops are one strided correlation between a "short" tensor S [n, cs, ls] and a "long" tensor
 * G [n, cg, lg] through a weight W [cs, cg, k]; short position j meets long position j stride - pad + kk:
 *   conv1d:  S = out, G = in,  W = w [cout, cin, k]
 *   convt1d: S = in,  G = out, W = w [cin, cout, k]  (PyTorch's ConvTranspose1d layout)
 * Three kernels cover the forward and backward passes of both ops:
 *   gather   S[a, j]   = sum over c, kk of W[a, c, kk] G[c, j s - pad + kk]    conv forward, convt din
 *   scatter  G[c, p]  += W[a, c, kk] S[a, j] for every p = j s - pad + kk      conv din, convt forward
 *   wgrad    dW[a, c, kk] += sum over j of S[a, j] G[c, j s - pad + kk]       dw of both
 * cpu_conv1d_mode picks one of four paths per shape (all three kernels of an op take the same one):
 *   DIRECT  loops over rows, one task per sample: tiny weights on long rows (the AE's outer layers;
 *           cpu_conv1d_direct.c);
 *   COLG    im2col on the long side + GEMM: wide short sides (the AE's wide middle, strided layers);
 *   COLS    columns on the short side + GEMM: narrow short sides next to wide long ones (e.g. 256 -> 8);
 *   WINO    Winograd F(4,3) + six GEMMs: wide stride-1 k-3 layers (the UNet), 1/2 of the multiply-adds
 *           (cpu_conv1d_wino.c).
 * The GEMM paths fold chunks of the batch into the GEMM's N dimension and split the batch into one range per
 * task, CPU_CONV1D_GROUPS of them however many threads there are, each running single-threaded sgemm on its own
 * chunks (see the section below).
 * Every reduction runs in a fixed order, so results depend neither on which thread ran a task nor on the thread
 * count.
 * Weights can be prepared once for many calls (conv1d_pack): COLS's reordered and WINO's transformed weights
 * then come from the caller instead of being recomputed by every call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_conv1d.h"
#include "cpu_gemm512.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "cpu_tr16.h"

/* Floats of work buffers (columns + a folded tensor) one GEMM task may use per chunk. */
#define CPU_CONV1D_TASK_FLOATS (1 << 20)
/* Weights with fewer multiply-adds per position (cs cg k) take the direct path. */
#define CPU_CONV1D_DIRECT_MACS 64
/* The GEMM paths split the batch into this many tasks, whatever the thread count; a weight gradient is one
 * partial sum per task, added in task order. */
#define CPU_CONV1D_GROUPS 8

static cpu_conv1d_geom cpu_conv1d_geom_conv(const pd_conv1d_shape *s)
{
    return (cpu_conv1d_geom){s->n, s->cout, s->lo, s->cin, s->l, s->k, s->stride, s->pad};
}

static cpu_conv1d_geom cpu_conv1d_geom_convt(const pd_conv1d_shape *s)
{
    return (cpu_conv1d_geom){s->n, s->cin, s->l, s->cout, s->lo, s->k, s->stride, s->pad};
}

/* ---- GEMM paths ------------------------------------------------------------------------------------------
 * The batch is split into CPU_CONV1D_GROUPS contiguous ranges of samples (tasks; at most that many threads
 * work on them); a task walks its range in chunks of nb samples folded into the GEMM's N dimension and runs
 * single-threaded sgemm on them, so the copies around each GEMM stay on the core that made them and no BLAS
 * threads are woken. Weight gradients go to one partial per task, summed in task order afterwards.
 * COLG, columns on the long side (wide cs): colG [cg k, nb ls] = im2col(G), fT [cs, nb ls] = S folded;
 *   gather fT = W colG, wgrad dW += fT colG^T, scatter colG = W^T fT then col2im into G.
 * COLS, columns on the short side (cs k narrow next to cg): colS [cs k, nb lg] holds S[a, j] at long position
 *   j s - pad + kk of row (a, kk), fT [cg, nb lg] = G folded, wT [cs k, cg] = W with rows (a, kk);
 *   gather colS = wT fT then S[a, j] = sum over kk of colS[(a, kk), j s - pad + kk], wgrad dwT = colS fT^T,
 *   scatter fT = wT^T colS then unfold into G. */

enum { CPU_CONV1D_DIRECT, CPU_CONV1D_COLG, CPU_CONV1D_COLS, CPU_CONV1D_WINO };

typedef struct {
    const cpu_conv1d_geom *g;
    int32_t nb, len;    /* samples in the chunk, GEMM columns per sample */
    int64_t ncol;       /* nb len */
    float *col;         /* COLG: colG [cg k, ncol]; COLS: colS [cs k, ncol] */
    float *ft;          /* COLG: [cs, ncol]; COLS: [cg, ncol] */
    const float *s_in;  /* chunk of S [nb, cs, ls] */
    float *s_out;       /* chunk of S [nb, cs, ls] */
    const float *g_in;  /* chunk of G [nb, cg, lg] */
    float *g_out;       /* chunk of G [nb, cg, lg] */
    const float *bias;  /* of the output: [cs] or [cg]; may be NULL */
    int acc;
} cpu_conv1d_chunk;

/* Tiled geometry (stride == k, pad 0: the AE's strided layers): short position j meets long positions
 * j k .. j k + k - 1, each long position at most one short one, and im2col / col2im are (de)interleavings. */
static inline int cpu_conv1d_tiled(const cpu_conv1d_geom *g)
{
    return g->stride == g->k && g->pad == 0 && (int64_t)g->ls * g->k <= g->lg;
}

#if defined(__GNUC__) && !defined(__clang__)
#define CPU_CONV1D_SHUFFLE 1
typedef float cpu_conv1d_v4 __attribute__((vector_size(16)));
typedef int cpu_conv1d_i4 __attribute__((vector_size(16)));
#define CPU_CONV1D_SHUF(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, (cpu_conv1d_i4){i0, i1, i2, i3})

static inline __attribute__((always_inline)) cpu_conv1d_v4 cpu_conv1d_ld4(const float *p)
{
    cpu_conv1d_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void cpu_conv1d_st4(float *p, cpu_conv1d_v4 v)
{
    memcpy(p, &v, sizeof v);
}
#endif

/* d [k, ld]: d[kk, j] = x[j k + kk] for j < n */
static inline __attribute__((always_inline)) void cpu_conv1d_deinterleave(float *restrict d, int64_t ld,
                                                                          const float *restrict x, int32_t n,
                                                                          int32_t k)
{
    int32_t j = 0;
#ifdef CPU_CONV1D_SHUFFLE
    if (k == 3) /* four positions at a time: 12 values in, three rows of four out */
        for (; j + 4 <= n; j += 4) {
            const float *p = x + (int64_t)3 * j;
            cpu_conv1d_v4 y0 = cpu_conv1d_ld4(p), y1 = cpu_conv1d_ld4(p + 4), y2 = cpu_conv1d_ld4(p + 8);
            cpu_conv1d_v4 t0 = CPU_CONV1D_SHUF(y0, y1, 0, 3, 6, 7), t1 = CPU_CONV1D_SHUF(y0, y1, 1, 4, 7, 7);
            cpu_conv1d_v4 t2 = CPU_CONV1D_SHUF(y0, y1, 2, 5, 5, 5);
            cpu_conv1d_st4(d + j, CPU_CONV1D_SHUF(t0, y2, 0, 1, 2, 5));
            cpu_conv1d_st4(d + ld + j, CPU_CONV1D_SHUF(t1, y2, 0, 1, 2, 6));
            cpu_conv1d_st4(d + 2 * ld + j, CPU_CONV1D_SHUF(t2, y2, 0, 1, 4, 7));
        }
#endif
    for (; j < n; j++)
        for (int32_t kk = 0; kk < k; kk++)
            d[kk * ld + j] = x[(int64_t)j * k + kk];
}

/* y [j k + kk] = (acc ? y : v) + d[kk, j] for j < n (d [k, ld]) */
static inline __attribute__((always_inline)) void cpu_conv1d_interleave(float *restrict y, const float *restrict d,
                                                                        int64_t ld, int32_t n, int32_t k, float v,
                                                                        int acc)
{
    int32_t j = 0;
#ifdef CPU_CONV1D_SHUFFLE
    if (k == 3) { /* three rows of four in, 12 values out */
        cpu_conv1d_v4 vb = {v, v, v, v};
        for (; j + 4 <= n; j += 4) {
            cpu_conv1d_v4 a = cpu_conv1d_ld4(d + j), b = cpu_conv1d_ld4(d + ld + j), c = cpu_conv1d_ld4(d + 2 * ld + j);
            cpu_conv1d_v4 t0 = CPU_CONV1D_SHUF(a, b, 0, 4, 1, 5), t1 = CPU_CONV1D_SHUF(b, c, 1, 5, 2, 6);
            cpu_conv1d_v4 t2 = CPU_CONV1D_SHUF(a, b, 3, 7, 3, 7);
            cpu_conv1d_v4 y0 = CPU_CONV1D_SHUF(t0, c, 0, 1, 4, 2), y1 = CPU_CONV1D_SHUF(t1, a, 0, 1, 6, 2);
            cpu_conv1d_v4 y2 = CPU_CONV1D_SHUF(c, t2, 2, 4, 5, 3);
            float *p = y + (int64_t)3 * j;
            if (acc) {
                y0 += cpu_conv1d_ld4(p), y1 += cpu_conv1d_ld4(p + 4), y2 += cpu_conv1d_ld4(p + 8);
            } else {
                y0 += vb, y1 += vb, y2 += vb;
            }
            cpu_conv1d_st4(p, y0), cpu_conv1d_st4(p + 4, y1), cpu_conv1d_st4(p + 8, y2);
        }
    }
#endif
    if (acc)
        for (; j < n; j++)
            for (int32_t kk = 0; kk < k; kk++)
                y[(int64_t)j * k + kk] += d[kk * ld + j];
    else
        for (; j < n; j++)
            for (int32_t kk = 0; kk < k; kk++)
                y[(int64_t)j * k + kk] = d[kk * ld + j] + v;
}

/* COLG, tiled: col rows (c, kk) from channel c of G */
CPU_VEC static void cpu_conv1d_im2col_tiled(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
    float *rows = ch->col + (int64_t)c * g->k * ch->ncol; /* [k, nb ls] */
    for (int32_t b = 0; b < ch->nb; b++) {
        const float *x = ch->g_in + ((int64_t)b * g->cg + c) * g->lg;
        float *d = rows + (int64_t)b * g->ls;
        if (g->k == 3)
            cpu_conv1d_deinterleave(d, ch->ncol, x, g->ls, 3);
        else if (g->k == 5)
            cpu_conv1d_deinterleave(d, ch->ncol, x, g->ls, 5);
        else
            cpu_conv1d_deinterleave(d, ch->ncol, x, g->ls, g->k);
    }
}

/* COLG, tiled: channel c of G = (acc ? G : bias) + its col rows placed at their long positions */
CPU_VEC static void cpu_conv1d_col2im_tiled(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
    const float *rows = ch->col + (int64_t)c * g->k * ch->ncol; /* [k, nb ls] */
    float v = ch->bias ? ch->bias[c] : 0.0f;
    int64_t used = (int64_t)g->ls * g->k;
    for (int32_t b = 0; b < ch->nb; b++) {
        float *y = ch->g_out + ((int64_t)b * g->cg + c) * g->lg; /* [lg] */
        const float *d = rows + (int64_t)b * g->ls;
        if (g->k == 3)
            cpu_conv1d_interleave(y, d, ch->ncol, g->ls, 3, v, ch->acc);
        else if (g->k == 5)
            cpu_conv1d_interleave(y, d, ch->ncol, g->ls, 5, v, ch->acc);
        else
            cpu_conv1d_interleave(y, d, ch->ncol, g->ls, g->k, v, ch->acc);
        for (int64_t p = used; !ch->acc && p < g->lg; p++)
            y[p] = v;
    }
}

/* COLG: col rows (c, kk) from channel c of G */
static void cpu_conv1d_im2col(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
    if (cpu_conv1d_tiled(g)) {
        cpu_conv1d_im2col_tiled(ch, c);
        return;
    }
    for (int32_t kk = 0; kk < g->k; kk++) {
        int32_t j0, j1;
        cpu_conv1d_range(g, kk, &j0, &j1);
        float *row = ch->col + ((int64_t)c * g->k + kk) * ch->ncol; /* [nb ls] */
        for (int32_t b = 0; b < ch->nb; b++) {
            float *d = row + (int64_t)b * g->ls;
            const float *x = ch->g_in + ((int64_t)b * g->cg + c) * g->lg + (int64_t)j0 * g->stride - g->pad + kk;
            memset(d, 0, (size_t)j0 * sizeof(float));
            if (g->stride == 1)
                memcpy(d + j0, x, (size_t)(j1 - j0) * sizeof(float));
            else
                for (int32_t j = j0; j < j1; j++)
                    d[j] = x[(int64_t)(j - j0) * g->stride];
            memset(d + j1, 0, (size_t)(g->ls - j1) * sizeof(float));
        }
    }
}

/* COLG: channel c of G = (acc ? G : bias) + its col rows placed at their long positions */
static void cpu_conv1d_col2im(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
    if (cpu_conv1d_tiled(g)) {
        cpu_conv1d_col2im_tiled(ch, c);
        return;
    }
    for (int32_t b = 0; b < ch->nb; b++) {
        float *y = ch->g_out + ((int64_t)b * g->cg + c) * g->lg; /* [lg] */
        cpu_conv1d_row_start(y, g->lg, ch->bias, c, ch->acc);
        for (int32_t kk = 0; kk < g->k; kk++) {
            int32_t j0, j1;
            cpu_conv1d_range(g, kk, &j0, &j1);
            const float *x = ch->col + ((int64_t)c * g->k + kk) * ch->ncol + (int64_t)b * g->ls + j0;
            cpu_conv1d_axpy_scatter(y + (int64_t)j0 * g->stride - g->pad + kk, x, g->stride, 1.0f, j1 - j0);
        }
    }
}

/* COLS: col rows (a, kk) from channel a of S */
static void cpu_conv1d_im2cols(const cpu_conv1d_chunk *ch, int32_t a)
{
    const cpu_conv1d_geom *g = ch->g;
    for (int32_t kk = 0; kk < g->k; kk++) {
        int32_t j0, j1;
        cpu_conv1d_range(g, kk, &j0, &j1);
        int64_t p0 = (int64_t)j0 * g->stride - g->pad + kk, p1 = (int64_t)(j1 - 1) * g->stride - g->pad + kk + 1;
        if (j1 <= j0)
            p0 = p1 = 0;
        float *row = ch->col + ((int64_t)a * g->k + kk) * ch->ncol; /* [nb lg] */
        for (int32_t b = 0; b < ch->nb; b++) {
            float *d = row + (int64_t)b * g->lg;
            const float *x = ch->s_in + ((int64_t)b * g->cs + a) * g->ls + j0;
            memset(d, 0, (size_t)p0 * sizeof(float));
            if (g->stride == 1) {
                memcpy(d + p0, x, (size_t)(j1 - j0) * sizeof(float));
            } else {
                memset(d + p0, 0, (size_t)(p1 - p0) * sizeof(float));
                for (int32_t j = 0; j < j1 - j0; j++)
                    d[p0 + (int64_t)j * g->stride] = x[j];
            }
            memset(d + p1, 0, (size_t)(g->lg - p1) * sizeof(float));
        }
    }
}

/* COLS: channel a of S = (acc ? S : bias) + sum over kk of col row (a, kk) at the long positions */
static void cpu_conv1d_cols2s(const cpu_conv1d_chunk *ch, int32_t a)
{
    const cpu_conv1d_geom *g = ch->g;
    for (int32_t b = 0; b < ch->nb; b++) {
        float *y = ch->s_out + ((int64_t)b * g->cs + a) * g->ls; /* [ls] */
        cpu_conv1d_row_start(y, g->ls, ch->bias, a, ch->acc);
        for (int32_t kk = 0; kk < g->k; kk++) {
            int32_t j0, j1;
            cpu_conv1d_range(g, kk, &j0, &j1);
            const float *x = ch->col + ((int64_t)a * g->k + kk) * ch->ncol + (int64_t)b * g->lg
                             + (int64_t)j0 * g->stride - g->pad + kk;
            cpu_conv1d_axpy(y + j0, x, g->stride, 1.0f, j1 - j0);
        }
    }
}

/* ft [fc, nb flen] <- src [nb, fc, flen] */
static void cpu_conv1d_fold(float *ft, const float *src, int32_t nb, int32_t fc, int32_t flen)
{
    for (int32_t c = 0; c < fc; c++)
        for (int32_t b = 0; b < nb; b++)
            memcpy(ft + ((int64_t)c * nb + b) * flen, src + ((int64_t)b * fc + c) * flen, (size_t)flen * sizeof(float));
}

/* dst [nb, fc, flen] = (acc ? dst : bias [fc]) + ft [fc, nb flen] */
static void cpu_conv1d_unfold(float *dst, const float *ft, int32_t nb, int32_t fc, int32_t flen, const float *bias,
                              int acc)
{
    for (int32_t b = 0; b < nb; b++)
        for (int32_t c = 0; c < fc; c++) {
            float *y = dst + ((int64_t)b * fc + c) * flen;
            const float *x = ft + ((int64_t)c * nb + b) * flen;
            if (acc) {
                for (int32_t j = 0; j < flen; j++)
                    y[j] += x[j];
            } else {
                float v = bias ? bias[c] : 0.0f;
                for (int32_t j = 0; j < flen; j++)
                    y[j] = x[j] + v;
            }
        }
}

typedef struct {
    pd_backend *be;
    const cpu_conv1d_geom *g;
    int mode;
    float *s_out, *g_out;             /* outputs (at most one) [n, cs, ls] / [n, cg, lg] */
    const float *s_in, *g_in;         /* inputs [n, cs, ls] / [n, cg, lg] */
    const float *w;                   /* [cs, cg, k] */
    const float *wt;                  /* COLS: [cs k, cg] */
    const float *bias;
    float *dw;                        /* [cs, cg, k] or NULL */
    float *part;                      /* [ntasks, pw] partial weight gradients in the mode's layout */
    int64_t pw, per, shared;          /* floats: one partial, work per sample, thread 0's shared prefix */
    int32_t ntasks, nb, len;
    int acc;
} cpu_conv1d_plan;

/* C = op(A) op(B) + beta C for the COLG / COLS paths, on pdiff's own kernel (cpu_gemm512.h) where the CPU has
 * AVX-512 and every side is at least 128 (the AE's large products: as fast as OpenBLAS's AVX-512 kernels, 1.4x
 * its AVX2 ones); the thin ones (a side of 40) were up to 7 % slower there (doc/performance.md, issue 18). */
static void cpu_conv1d_sgemm(int ta, int tb, int32_t m, int32_t n, int32_t k, const float *a, int32_t lda,
                             const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    int own = m >= 128 && n >= 128 && k >= 128;
    cpu_gemm_hot(own, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

/* One contiguous range of samples, chunk by chunk, on one thread. */
static void cpu_conv1d_gemm_task(void *ctx, int64_t task, int thread)
{
    const cpu_conv1d_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int32_t b0 = (int32_t)(task * g->n / pl->ntasks), b1 = (int32_t)((task + 1) * g->n / pl->ntasks);
    float *work = cpu_scratch(pl->be, thread, (size_t)((thread ? 0 : pl->shared) + pl->nb * pl->per) * sizeof(float));
    work += thread ? 0 : pl->shared;
    float *part = pl->part ? pl->part + task * pl->pw : NULL;
    int32_t kg = g->cg * g->k, ks = g->cs * g->k;
    for (int32_t c0 = b0; c0 < b1; c0 += pl->nb) {
        cpu_conv1d_chunk ch = {.g = g, .nb = b1 - c0 < pl->nb ? b1 - c0 : pl->nb, .len = pl->len,
                               .col = work, .bias = pl->bias, .acc = pl->acc};
        ch.ncol = (int64_t)ch.nb * ch.len;
        int32_t ncol = (int32_t)ch.ncol;
        ch.ft = work + (pl->mode == CPU_CONV1D_COLG ? kg : ks) * ch.ncol;
        ch.s_in = pl->s_in ? pl->s_in + (int64_t)c0 * g->cs * g->ls : NULL;
        ch.s_out = pl->s_out ? pl->s_out + (int64_t)c0 * g->cs * g->ls : NULL;
        ch.g_in = pl->g_in ? pl->g_in + (int64_t)c0 * g->cg * g->lg : NULL;
        ch.g_out = pl->g_out ? pl->g_out + (int64_t)c0 * g->cg * g->lg : NULL;
        float beta = c0 == b0 ? 0.0f : 1.0f;
        if (pl->mode == CPU_CONV1D_COLG) {
            const float *st = ch.ft; /* S folded (a lone sample already is) */
            if (ch.s_in && (ch.nb > 1 || ch.s_out))
                cpu_conv1d_fold(ch.ft, ch.s_in, ch.nb, g->cs, g->ls);
            else if (ch.s_in)
                st = ch.s_in;
            for (int32_t c = 0; ch.g_in && c < g->cg; c++)
                cpu_conv1d_im2col(&ch, c);
            if (part)
                cpu_conv1d_sgemm(0, 1, g->cs, kg, ncol, st, ncol, ch.col, ncol, beta, part, kg);
            if (ch.s_out) {
                cpu_conv1d_sgemm(0, 0, g->cs, ncol, kg, pl->w, kg, ch.col, ncol, 0.0f, ch.ft, ncol);
                cpu_conv1d_unfold(ch.s_out, ch.ft, ch.nb, g->cs, g->ls, ch.bias, ch.acc);
            }
            if (ch.g_out) {
                cpu_conv1d_sgemm(1, 0, kg, ncol, g->cs, pl->w, kg, st, ncol, 0.0f, ch.col, ncol);
                for (int32_t c = 0; c < g->cg; c++)
                    cpu_conv1d_col2im(&ch, c);
            }
        } else {
            const float *gt = ch.ft; /* G folded */
            for (int32_t a = 0; ch.s_in && a < g->cs; a++)
                cpu_conv1d_im2cols(&ch, a);
            if (ch.g_in && (ch.nb > 1 || ch.g_out))
                cpu_conv1d_fold(ch.ft, ch.g_in, ch.nb, g->cg, g->lg);
            else if (ch.g_in)
                gt = ch.g_in;
            if (part)
                cpu_conv1d_sgemm(0, 1, ks, g->cg, ncol, ch.col, ncol, gt, ncol, beta, part, g->cg);
            if (ch.s_out) {
                cpu_conv1d_sgemm(0, 0, ks, ncol, g->cg, pl->wt, g->cg, gt, ncol, 0.0f, ch.col, ncol);
                for (int32_t a = 0; a < g->cs; a++)
                    cpu_conv1d_cols2s(&ch, a);
            }
            if (ch.g_out) {
                cpu_conv1d_sgemm(1, 0, g->cg, ncol, ks, pl->wt, g->cg, ch.col, ncol, 0.0f, ch.ft, ncol);
                cpu_conv1d_unfold(ch.g_out, ch.ft, ch.nb, g->cg, g->lg, ch.bias, ch.acc);
            }
        }
    }
}

/* COLS: wt [cs k, cg] from w [cs, cg, k], rows (a, kk) of short channel a */
typedef struct {
    const cpu_conv1d_geom *g;
    float *wt;
    const float *w;
} cpu_conv1d_wt_job;

static void cpu_conv1d_wt_task(void *ctx, int64_t a, int thread)
{
    (void)thread;
    const cpu_conv1d_wt_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    for (int32_t c = 0; c < g->cg; c++) {
        const float *x = jb->w + (a * g->cg + c) * g->k;
        for (int32_t kk = 0; kk < g->k; kk++)
            jb->wt[(a * g->k + kk) * g->cg + c] = x[kk];
    }
}

static void cpu_conv1d_cols_pack(pd_backend *be, const cpu_conv1d_geom *g, float *wt, const float *w)
{
    cpu_conv1d_wt_job jb = {g, wt, w};
    if ((int64_t)g->cs * g->cg * g->k < 8192) {
        for (int32_t a = 0; a < g->cs; a++)
            cpu_conv1d_wt_task(&jb, a, 0);
        return;
    }
    cpu_parallel_for(be, g->cs, cpu_conv1d_wt_task, &jb);
}

/* dw [a, :, :] += the partial weight gradients of short channel a, summed in task order */
static void cpu_conv1d_dw_task(void *ctx, int64_t a, int thread)
{
    (void)thread;
    const cpu_conv1d_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int64_t kg = (int64_t)g->cg * g->k;
    /* the rows of a in the partials' layout: COLG one row [cg k]; COLS k rows [cg] */
    int32_t nrows = pl->mode == CPU_CONV1D_COLG ? 1 : g->k;
    int64_t rlen = pl->mode == CPU_CONV1D_COLG ? kg : g->cg;
    for (int32_t r = 0; r < nrows; r++) {
        int64_t off = pl->mode == CPU_CONV1D_COLG ? a * kg : (a * g->k + r) * g->cg;
        float *p0 = pl->part + off;
        for (int32_t t = 1; t < pl->ntasks; t++) {
            const float *pt = pl->part + t * pl->pw + off;
            for (int64_t i = 0; i < rlen; i++)
                p0[i] += pt[i];
        }
    }
    float *o = pl->dw + a * kg; /* [cg, k] */
    if (pl->mode == CPU_CONV1D_COLG) {
        const float *p = pl->part + a * kg;
        for (int64_t i = 0; i < kg; i++)
            o[i] += p[i];
    } else {
        for (int32_t kk = 0; kk < g->k; kk++) {
            const float *p = pl->part + (a * g->k + kk) * g->cg;
            for (int32_t c = 0; c < g->cg; c++)
                o[(int64_t)c * g->k + kk] += p[c];
        }
    }
}

/* The GEMM paths. Reads s_in [n, cs, ls] and/or g_in [n, cg, lg] as the requested results need them:
 *   s_out [n, cs, ls] = gather(g_in) (+ bias [cs]);  g_out [n, cg, lg] = scatter(s_in) (+ bias [cg]);
 *   dw [cs, cg, k] += wgrad(s_in, g_in). At most one of s_out, g_out; acc applies to it.
 * wt: COLS's packed weights, or NULL to reorder w here. */
static void cpu_conv1d_gemm(pd_backend *be, const cpu_conv1d_geom *g, int mode, float *s_out, float *g_out,
                            float *dw, const float *s_in, const float *g_in, const float *w, const float *wt,
                            const float *bias, int acc)
{
    cpu_conv1d_plan pl = {.be = be, .g = g, .mode = mode, .s_out = s_out, .g_out = g_out, .s_in = s_in,
                          .g_in = g_in, .w = w, .bias = bias, .dw = dw, .acc = acc};
    int64_t cw = (int64_t)g->cs * g->cg, nwt = 0;
    if (mode == CPU_CONV1D_COLG) {
        pl.len = g->ls;
        pl.per = ((int64_t)g->cg * g->k + g->cs) * g->ls;
        pl.pw = cw * g->k;
    } else {
        pl.len = g->lg;
        pl.per = ((int64_t)g->cs * g->k + g->cg) * g->lg;
        pl.pw = cw * g->k;
        nwt = wt || !(s_out || g_out) ? 0 : pl.pw;
    }
    /* a fixed number of tasks, so neither the chunks nor the order of a weight gradient's sums depend on the
     * thread count */
    pl.ntasks = (int32_t)(CPU_CONV1D_GROUPS < g->n ? CPU_CONV1D_GROUPS : g->n);
    int32_t span = (g->n + pl.ntasks - 1) / pl.ntasks;
    int64_t nb = CPU_CONV1D_TASK_FLOATS / pl.per;
    nb = nb < 1 ? 1 : (nb > span ? span : nb);
    pl.nb = (int32_t)((span + (span + nb - 1) / nb - 1) / ((span + nb - 1) / nb)); /* equal chunks */
    pl.shared = nwt + (dw ? pl.ntasks * pl.pw : 0);
    float *shared = cpu_scratch(be, 0, (size_t)(pl.shared + pl.nb * pl.per) * sizeof(float));
    if (nwt) {
        cpu_conv1d_cols_pack(be, g, shared, w);
        wt = shared;
    }
    pl.wt = wt;
    pl.part = dw ? shared + nwt : NULL;
    cpu_parallel_for(be, pl.ntasks, cpu_conv1d_gemm_task, &pl);
    if (dw)
        cpu_parallel_for(be, g->cs, cpu_conv1d_dw_task, &pl);
}

/* DIRECT for tiny weights (their rows are long); WINO for wide stride-1 k-3 layers; otherwise the GEMM path
 * whose buffers are smaller, leaning to COLS (whose GEMMs have cs k rows) when cs is narrow. */
static int cpu_conv1d_mode(const cpu_conv1d_geom *g)
{
    int64_t kg = (int64_t)g->cg * g->k, ks = (int64_t)g->cs * g->k;
    if (g->cs * kg < CPU_CONV1D_DIRECT_MACS)
        return CPU_CONV1D_DIRECT;
    if (cpu_conv1d_wino_fits(g))
        return CPU_CONV1D_WINO;
    int64_t fg = (kg + g->cs) * g->ls, fs = (ks + g->cg) * g->lg;
    if (g->cs < 16 ? fs < 2 * fg : 4 * fs < 3 * fg)
        return CPU_CONV1D_COLS;
    return CPU_CONV1D_COLG;
}

/* The three kernels on either path; see cpu_conv1d_gemm for the arguments. packed: the weights prepared by
 * cpu_conv1d_pack for this geometry, or NULL. */
static void cpu_conv1d_run(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                           const float *s_in, const float *g_in, const float *w, const float *packed,
                           const float *bias, int acc)
{
    if (g->n <= 0)
        return;
    PD_ASSERT(g->ls >= 1 && g->lg >= 1 && g->k >= 1 && g->stride >= 1 && g->pad >= 0);
    int mode = cpu_conv1d_mode(g);
    if (mode == CPU_CONV1D_WINO) {
        cpu_conv1d_wino_run(be, g, s_out, g_out, dw, s_in, g_in, w, packed, bias, acc);
        return;
    }
    if (mode != CPU_CONV1D_DIRECT) {
        cpu_conv1d_gemm(be, g, mode, s_out, g_out, dw, s_in, g_in, w, mode == CPU_CONV1D_COLS ? packed : NULL,
                        bias, acc);
        return;
    }
    cpu_conv1d_direct_run(be, g, s_out, g_out, dw, s_in, g_in, w, bias, acc);
}

/* db [c] += sum over samples and positions of t [n, c, len] */
typedef struct {
    float *db;
    const float *t;
    int32_t n, c, len;
} cpu_conv1d_bias_job;

static void cpu_conv1d_bgrad_task(void *ctx, int64_t c, int thread)
{
    (void)thread;
    const cpu_conv1d_bias_job *jb = ctx;
    double sum = 0.0;
    for (int32_t b = 0; b < jb->n; b++) {
        const float *x = jb->t + ((int64_t)b * jb->c + c) * jb->len;
        float acc[8] = {0};
        int32_t j = 0;
        for (; j + 8 <= jb->len; j += 8)
            for (int q = 0; q < 8; q++)
                acc[q] += x[j + q];
        for (; j < jb->len; j++)
            acc[0] += x[j];
        sum += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
    jb->db[c] += (float)sum;
}

#if defined(CPU_TR16)
/* cpu_conv1d_bgrad_task for the 16 channels from 16 task on, rows of at most 16 positions: the rows of a sample
 * transposed in registers (lane = channel), the same sums in the same order */
CPU_TR16_FN static void cpu_conv1d_bgrad_16(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_conv1d_bias_job *jb = ctx;
    int32_t c0 = (int32_t)task * 16, nc = jb->c - c0 < 16 ? jb->c - c0 : 16, len = jb->len;
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int32_t b = 0; b < jb->n; b++) {
        __m512 r[16], a[8];
        cpu_tr16_load(r, jb->t + ((int64_t)b * jb->c + c0) * len, len, nc, len);
        for (int q = 0; q < 8; q++)
            a[q] = _mm512_setzero_ps();
        int32_t j = 0;
        for (; j + 8 <= len; j += 8)
            for (int q = 0; q < 8; q++)
                a[q] = a[q] + r[j + q];
        for (; j < len; j++)
            a[0] = a[0] + r[j];
        __m512 t = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        lo = lo + _mm512_cvtps_pd(_mm512_castps512_ps256(t));
        hi = hi + _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
    }
    double sums[16];
    _mm512_storeu_pd(sums, lo);
    _mm512_storeu_pd(sums + 8, hi);
    for (int i = 0; i < nc; i++)
        jb->db[c0 + i] += (float)sums[i];
}
#endif

static void cpu_conv1d_bgrad(pd_backend *be, float *db, const float *t, int32_t n, int32_t c, int32_t len)
{
    cpu_conv1d_bias_job jb = {db, t, n, c, len};
#if defined(CPU_TR16)
    if (len <= 16 && cpu_has_avx512()) {
        cpu_parallel_for(be, (c + 15) / 16, cpu_conv1d_bgrad_16, &jb);
        return;
    }
#endif
    cpu_parallel_for(be, c, cpu_conv1d_bgrad_task, &jb);
}

/* ---- prepared weights ---------------------------------------------------------------------------------- */

/* Floats of the prepared weights of a conv1d shape: WINO's transformed planes, COLS's reordered rows, else 0. */
static int64_t cpu_conv1d_pack_floats(pd_backend *be, const pd_conv1d_shape *s)
{
    (void)be;
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    int mode = cpu_conv1d_mode(&g);
    if (mode == CPU_CONV1D_WINO)
        return cpu_conv1d_wino_pack_floats(&g);
    if (mode == CPU_CONV1D_COLS)
        return (int64_t)g.cs * g.cg * g.k;
    return 0;
}

/* packed [conv1d_pack_floats] = the weights w [cout, cin, k] prepared for shape s */
static void cpu_conv1d_pack(pd_backend *be, float *packed, const float *w, const pd_conv1d_shape *s)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    int mode = cpu_conv1d_mode(&g);
    if (mode == CPU_CONV1D_WINO)
        cpu_conv1d_wino_pack(be, &g, packed, w);
    else if (mode == CPU_CONV1D_COLS)
        cpu_conv1d_cols_pack(be, &g, packed, w);
}

/* ---- the ops ------------------------------------------------------------------------------------------- */

/* out [n, cout, lo] = conv(in [n, cin, l], w [cout, cin, k]) + b [cout] (b may be NULL); packed: w prepared by
 * conv1d_pack, or NULL */
static void cpu_conv1d_forward_packed(pd_backend *be, float *out, const float *in, const float *w,
                                      const float *packed, const float *b, const pd_conv1d_shape *s)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    cpu_conv1d_run(be, &g, out, NULL, NULL, NULL, in, w, packed, b, 0);
}

/* conv1d_forward_packed -> norm_act_forward in one pass where the Winograd path takes rows of at most 16 */
static int cpu_conv1d_norm_act_forward(pd_backend *be, float *out, float *nout, float *save_mean, float *save_rstd,
                                       const float *in, const float *w, const float *packed, const float *b,
                                       const pd_conv1d_shape *s, int lead, float slope, float eps)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    if (g.n <= 0 || cpu_conv1d_mode(&g) != CPU_CONV1D_WINO)
        return 0;
    return cpu_conv1d_wino_norm_act(be, &g, out, nout, save_mean, save_rstd, in, w, packed, b, lead, slope, eps);
}

static void cpu_conv1d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                               const pd_conv1d_shape *s)
{
    cpu_conv1d_forward_packed(be, out, in, w, NULL, b, s);
}

/* din [n, cin, l] (may be NULL), dw [cout, cin, k] +=, db [cout] += (may be NULL); dout [n, cout, lo] */
static void cpu_conv1d_backward_packed(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                       const float *in, const float *w, const float *packed,
                                       const pd_conv1d_shape *s, int acc)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    if (db)
        cpu_conv1d_bgrad(be, db, dout, s->n, s->cout, s->lo);
    if (dw || din)
        cpu_conv1d_run(be, &g, NULL, din, dw, dout, dw ? in : NULL, w, packed, NULL, acc);
}

static void cpu_conv1d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, const pd_conv1d_shape *s, int acc)
{
    cpu_conv1d_backward_packed(be, din, dw, db, dout, in, w, NULL, s, acc);
}

/* out [n, cout, lo] = convtranspose(in [n, cin, l], w [cin, cout, k]) + b [cout] (b may be NULL) */
static void cpu_convt1d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                const pd_conv1d_shape *s)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_convt(s);
    cpu_conv1d_run(be, &g, NULL, out, NULL, in, NULL, w, NULL, b, 0);
}

/* din [n, cin, l] (may be NULL), dw [cin, cout, k] +=, db [cout] += (may be NULL); dout [n, cout, lo] */
static void cpu_convt1d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                 const float *in, const float *w, const pd_conv1d_shape *s, int acc)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_convt(s);
    if (db)
        cpu_conv1d_bgrad(be, db, dout, s->n, s->cout, s->lo);
    if (dw || din)
        cpu_conv1d_run(be, &g, din, NULL, dw, dw ? in : NULL, dout, w, NULL, NULL, acc);
}

void cpu_conv1d_register(pd_backend *be)
{
    be->conv1d_forward = cpu_conv1d_forward;
    be->conv1d_backward = cpu_conv1d_backward;
    be->convt1d_forward = cpu_convt1d_forward;
    be->convt1d_backward = cpu_convt1d_backward;
    be->conv1d_pack_floats = cpu_conv1d_pack_floats;
    be->conv1d_pack = cpu_conv1d_pack;
    be->conv1d_forward_packed = cpu_conv1d_forward_packed;
    be->conv1d_norm_act_forward = cpu_conv1d_norm_act_forward;
    be->conv1d_backward_packed = cpu_conv1d_backward_packed;
}
