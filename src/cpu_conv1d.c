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
 *   DIRECT  loops over rows, one task per sample: tiny weights on long rows (the AE's outer layers);
 *   COLG    im2col on the long side + GEMM: wide short sides (the AE's wide middle, strided layers);
 *   COLS    columns on the short side + GEMM: narrow short sides next to wide long ones (e.g. 256 -> 8);
 *   WINO    Winograd F(2,3) + four GEMMs: wide stride-1 k-3 layers (the UNet), 2/3 of the multiply-adds.
 * The GEMM paths fold chunks of the batch into the GEMM's N dimension and split the batch into one range per
 * thread, each running single-threaded sgemm on its own chunks (see the section below).
 * Every reduction runs in a fixed order, so results do not depend on which thread ran a task.
 */
#include <string.h>

#include "cpu.h"

/* Floats of work buffers (columns + a folded tensor) one GEMM task may use per chunk. */
#define CPU_CONV1D_TASK_FLOATS (1 << 20)
/* Weights with fewer multiply-adds per position (cs cg k) take the direct path. */
#define CPU_CONV1D_DIRECT_MACS 64
/* Stride-1, k-3 layers at least this wide on both sides take the Winograd path. */
#define CPU_CONV1D_WINO_MIN 32

typedef struct {
    int32_t n;      /* batch */
    int32_t cs, ls; /* short side: channels, length */
    int32_t cg, lg; /* long side: channels, length */
    int32_t k, stride, pad;
} cpu_conv1d_geom;

static cpu_conv1d_geom cpu_conv1d_geom_conv(const pd_conv1d_shape *s)
{
    return (cpu_conv1d_geom){s->n, s->cout, s->lo, s->cin, s->l, s->k, s->stride, s->pad};
}

static cpu_conv1d_geom cpu_conv1d_geom_convt(const pd_conv1d_shape *s)
{
    return (cpu_conv1d_geom){s->n, s->cin, s->l, s->cout, s->lo, s->k, s->stride, s->pad};
}

/* The short positions j in [*j0, *j1) whose long position j s - pad + kk lies inside [0, lg). */
static void cpu_conv1d_range(const cpu_conv1d_geom *g, int32_t kk, int32_t *j0, int32_t *j1)
{
    int32_t lo = g->pad > kk ? (g->pad - kk + g->stride - 1) / g->stride : 0;
    int32_t num = g->lg - 1 + g->pad - kk;
    int32_t hi = num < 0 ? 0 : num / g->stride + 1;
    if (hi > g->ls)
        hi = g->ls;
    if (lo > hi)
        lo = hi;
    *j0 = lo;
    *j1 = hi;
}

/* ---- row kernels --------------------------------------------------------------------------------------- */

/* Start an output row y [n]: kept when accumulating, else bias [c] (0 without bias). */
static inline void cpu_conv1d_row_start(float *y, int32_t n, const float *bias, int64_t c, int acc)
{
    if (acc)
        return;
    float v = bias ? bias[c] : 0.0f;
    for (int32_t j = 0; j < n; j++)
        y[j] = v;
}

/* y [n] += w x [n] (stride 1) or y [n] += w x [n s] (stride s) */
static inline void cpu_conv1d_axpy(float *restrict y, const float *restrict x, int32_t s, float w, int32_t n)
{
    int32_t j = 0;
    if (s == 1) {
        for (; j + 8 <= n; j += 8)
            for (int q = 0; q < 8; q++)
                y[j + q] += w * x[j + q];
        for (; j < n; j++)
            y[j] += w * x[j];
    } else {
        for (; j < n; j++)
            y[j] += w * x[(int64_t)j * s];
    }
}

/* y [n s] += w x [n], y at stride s */
static inline void cpu_conv1d_axpy_scatter(float *restrict y, const float *restrict x, int32_t s, float w,
                                           int32_t n)
{
    if (s == 1) {
        cpu_conv1d_axpy(y, x, 1, w, n);
        return;
    }
    for (int32_t j = 0; j < n; j++)
        y[(int64_t)j * s] += w * x[j];
}

/* sum over j of a [n] b [n s] (eight partial sums, combined in a fixed order) */
static inline float cpu_conv1d_dot(const float *restrict a, const float *restrict b, int32_t s, int32_t n)
{
    float acc[8] = {0};
    int32_t j = 0;
    if (s == 1)
        for (; j + 8 <= n; j += 8)
            for (int q = 0; q < 8; q++)
                acc[q] += a[j + q] * b[j + q];
    for (; j < n; j++)
        acc[0] += a[j] * b[(int64_t)j * s];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ---- direct path: one task per sample ------------------------------------------------------------------ */

typedef struct {
    const cpu_conv1d_geom *g;
    float *s_out;         /* gather: S [n, cs, ls] */
    const float *s_in;    /* scatter, wgrad: S [n, cs, ls] */
    float *g_out;         /* scatter: G [n, cg, lg] */
    const float *g_in;    /* gather, wgrad: G [n, cg, lg] */
    const float *w;       /* [cs, cg, k] */
    const float *bias;    /* gather: [cs]; scatter: [cg]; may be NULL */
    float *part;          /* wgrad: [n, cs, cg, k] per-sample partial sums */
    int acc;
} cpu_conv1d_direct_job;

static void cpu_conv1d_gather_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_conv1d_direct_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    const float *gin = jb->g_in + b * g->cg * g->lg; /* [cg, lg] */
    for (int32_t a = 0; a < g->cs; a++) {
        float *y = jb->s_out + (b * g->cs + a) * g->ls; /* [ls] */
        cpu_conv1d_row_start(y, g->ls, jb->bias, a, jb->acc);
        for (int32_t c = 0; c < g->cg; c++)
            for (int32_t kk = 0; kk < g->k; kk++) {
                int32_t j0, j1;
                cpu_conv1d_range(g, kk, &j0, &j1);
                const float *x = gin + (int64_t)c * g->lg + (int64_t)j0 * g->stride - g->pad + kk;
                cpu_conv1d_axpy(y + j0, x, g->stride, jb->w[((int64_t)a * g->cg + c) * g->k + kk], j1 - j0);
            }
    }
}

static void cpu_conv1d_scatter_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_conv1d_direct_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    const float *sin = jb->s_in + b * g->cs * g->ls; /* [cs, ls] */
    for (int32_t c = 0; c < g->cg; c++) {
        float *y = jb->g_out + (b * g->cg + c) * g->lg; /* [lg] */
        cpu_conv1d_row_start(y, g->lg, jb->bias, c, jb->acc);
        for (int32_t a = 0; a < g->cs; a++)
            for (int32_t kk = 0; kk < g->k; kk++) {
                int32_t j0, j1;
                cpu_conv1d_range(g, kk, &j0, &j1);
                float *yp = y + (int64_t)j0 * g->stride - g->pad + kk;
                cpu_conv1d_axpy_scatter(yp, sin + (int64_t)a * g->ls + j0, g->stride,
                                        jb->w[((int64_t)a * g->cg + c) * g->k + kk], j1 - j0);
            }
    }
}

static void cpu_conv1d_wgrad_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_conv1d_direct_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    const float *sin = jb->s_in + b * g->cs * g->ls; /* [cs, ls] */
    const float *gin = jb->g_in + b * g->cg * g->lg; /* [cg, lg] */
    float *part = jb->part + b * g->cs * g->cg * g->k; /* [cs, cg, k] */
    for (int32_t a = 0; a < g->cs; a++)
        for (int32_t c = 0; c < g->cg; c++)
            for (int32_t kk = 0; kk < g->k; kk++) {
                int32_t j0, j1;
                cpu_conv1d_range(g, kk, &j0, &j1);
                const float *x = gin + (int64_t)c * g->lg + (int64_t)j0 * g->stride - g->pad + kk;
                part[((int64_t)a * g->cg + c) * g->k + kk] =
                    cpu_conv1d_dot(sin + (int64_t)a * g->ls + j0, x, g->stride, j1 - j0);
            }
}

/* dw [cs, cg, k] += per-sample partial sums, added in sample order */
static void cpu_conv1d_wgrad_direct(pd_backend *be, const cpu_conv1d_geom *g, float *dw, const float *s_in,
                                    const float *g_in)
{
    int64_t nw = (int64_t)g->cs * g->cg * g->k;
    float *part = cpu_scratch(be, 0, (size_t)(g->n * nw) * sizeof(float)); /* [n, cs, cg, k] */
    PD_ASSERT(part != NULL);
    cpu_conv1d_direct_job jb = {.g = g, .s_in = s_in, .g_in = g_in, .part = part};
    cpu_parallel_for(be, g->n, cpu_conv1d_wgrad_task, &jb);
    for (int64_t i = 0; i < nw; i++) {
        float sum = 0.0f;
        for (int32_t b = 0; b < g->n; b++)
            sum += part[b * nw + i];
        dw[i] += sum;
    }
}

/* ---- GEMM paths ------------------------------------------------------------------------------------------
 * The batch is split into one contiguous range of samples per thread (a task); a task walks its range in
 * chunks of nb samples folded into the GEMM's N dimension and runs single-threaded sgemm on them, so the
 * copies around each GEMM stay on the core that made them and no BLAS threads are woken. Weight gradients
 * go to one partial per task, summed in task order afterwards.
 * COLG, columns on the long side (wide cs): colG [cg k, nb ls] = im2col(G), fT [cs, nb ls] = S folded;
 *   gather fT = W colG, wgrad dW += fT colG^T, scatter colG = W^T fT then col2im into G.
 * COLS, columns on the short side (cs k narrow next to cg): colS [cs k, nb lg] holds S[a, j] at long position
 *   j s - pad + kk of row (a, kk), fT [cg, nb lg] = G folded, wT [cs k, cg] = W with rows (a, kk);
 *   gather colS = wT fT then S[a, j] = sum over kk of colS[(a, kk), j s - pad + kk], wgrad dwT = colS fT^T,
 *   scatter fT = wT^T colS then unfold into G.
 * WINO, Winograd F(2,3) (stride 1, k 3, wide on both sides): short positions in tiles of two; tile t reads
 *   long positions p = 2t - pad + i, i = 0..3. With d those four values of one G channel and g = W[a, c, :]:
 *   U = (d0 - d2, d1 + d2, d2 - d1, d1 - d3), Wt = (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2),
 *   M_i [cs, tiles] = Wt_i [cs, cg] U_i [cg, tiles] (four GEMMs, 2/3 of im2col's multiply-adds),
 *   S[2t] = M0 + M1 + M2, S[2t + 1] = M1 - M2 - M3; scatter and wgrad use the transposed transforms. */

enum { CPU_CONV1D_DIRECT, CPU_CONV1D_COLG, CPU_CONV1D_COLS, CPU_CONV1D_WINO };

typedef struct {
    const cpu_conv1d_geom *g;
    int32_t nb, len;    /* samples in the chunk, GEMM columns per sample */
    int64_t ncol;       /* nb len */
    float *col;         /* COLG: colG [cg k, ncol]; COLS: colS [cs k, ncol]; WINO: U [4, cg, ncol] */
    float *ft;          /* COLG: [cs, ncol]; COLS: [cg, ncol]; WINO: M [4, cs, ncol] */
    const float *s_in;  /* chunk of S [nb, cs, ls] */
    float *s_out;       /* chunk of S [nb, cs, ls] */
    const float *g_in;  /* chunk of G [nb, cg, lg] */
    float *g_out;       /* chunk of G [nb, cg, lg] */
    const float *bias;  /* of the output: [cs] or [cg]; may be NULL */
    int acc;
} cpu_conv1d_chunk;

/* COLG: col rows (c, kk) from channel c of G */
static void cpu_conv1d_im2col(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
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

/* x[p] inside the row [0, n), 0 outside */
static inline float cpu_conv1d_at(const float *x, int32_t p, int32_t n)
{
    return p >= 0 && p < n ? x[p] : 0.0f;
}

/* WINO: U from channel c of G */
static void cpu_conv1d_wino_in(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
    int64_t plane = (int64_t)g->cg * ch->ncol;
    int32_t nt = ch->len, pad = g->pad, lg = g->lg;
    /* tiles [ta, tb) read only inside the row */
    int32_t ta = (pad + 1) / 2 < nt ? (pad + 1) / 2 : nt;
    int32_t tb = lg - 4 + pad >= 0 ? (lg - 4 + pad) / 2 + 1 : 0;
    tb = tb < ta ? ta : (tb > nt ? nt : tb);
    for (int32_t b = 0; b < ch->nb; b++) {
        const float *x = ch->g_in + ((int64_t)b * g->cg + c) * lg; /* [lg] */
        float *u0 = ch->col + c * ch->ncol + (int64_t)b * nt, *u1 = u0 + plane, *u2 = u1 + plane;
        float *u3 = u2 + plane;
        for (int32_t t = 0; t < nt; t++) {
            if (t == ta)
                t = tb; /* the interior is below */
            if (t >= nt)
                break;
            int32_t p = 2 * t - pad;
            float d0 = cpu_conv1d_at(x, p, lg), d1 = cpu_conv1d_at(x, p + 1, lg);
            float d2 = cpu_conv1d_at(x, p + 2, lg), d3 = cpu_conv1d_at(x, p + 3, lg);
            u0[t] = d0 - d2, u1[t] = d1 + d2, u2[t] = d2 - d1, u3[t] = d1 - d3;
        }
        const float *xi = x - pad;
        for (int32_t t = ta; t < tb; t++) {
            const float *d = xi + 2 * t;
            u0[t] = d[0] - d[2];
            u1[t] = d[1] + d[2];
            u2[t] = d[2] - d[1];
            u3[t] = d[1] - d[3];
        }
    }
}

/* WINO: channel c of G = (acc ? G : bias) + the transposed input transform of U. Long position 2t - pad
 * collects tile t's first and tile t - 1's third value, 2t - pad + 1 tile t's second and tile t - 1's fourth. */
static void cpu_conv1d_wino_back(const cpu_conv1d_chunk *ch, int32_t c)
{
    const cpu_conv1d_geom *g = ch->g;
    int64_t plane = (int64_t)g->cg * ch->ncol;
    int32_t nt = ch->len, pad = g->pad, lg = g->lg;
    /* t in [ta, tb): 1 <= t < nt and both positions inside the row */
    int32_t ta = (pad + 1) / 2 > 1 ? (pad + 1) / 2 : 1;
    int32_t tb = lg - 2 + pad >= 0 ? (lg - 2 + pad) / 2 + 1 : 0;
    tb = tb > nt ? nt : tb;
    tb = tb < ta ? ta : tb;
    for (int32_t b = 0; b < ch->nb; b++) {
        const float *u0 = ch->col + c * ch->ncol + (int64_t)b * nt, *u1 = u0 + plane, *u2 = u1 + plane;
        const float *u3 = u2 + plane;
        float *y = ch->g_out + ((int64_t)b * g->cg + c) * lg; /* [lg] */
        cpu_conv1d_row_start(y, lg, ch->bias, c, ch->acc);
        for (int32_t t = 0; t <= nt; t++) {
            if (t == ta)
                t = tb; /* the interior is below */
            int32_t p = 2 * t - pad;
            float e0 = t < nt ? u0[t] : 0.0f, e1 = t < nt ? (u1[t] - u2[t]) + u3[t] : 0.0f;
            if (t > 0)
                e0 += (u1[t - 1] + u2[t - 1]) - u0[t - 1], e1 -= u3[t - 1];
            if (p >= 0 && p < lg)
                y[p] += e0;
            if (p + 1 >= 0 && p + 1 < lg)
                y[p + 1] += e1;
        }
        float *yi = y - pad;
        for (int32_t t = ta; t < tb; t++) {
            yi[2 * t] += u0[t] + ((u1[t - 1] + u2[t - 1]) - u0[t - 1]);
            yi[2 * t + 1] += ((u1[t] - u2[t]) + u3[t]) - u3[t - 1];
        }
    }
}

/* WINO: channel a of S = (acc ? S : bias) + the output transform of M */
static void cpu_conv1d_wino_out(const cpu_conv1d_chunk *ch, int32_t a)
{
    const cpu_conv1d_geom *g = ch->g;
    int64_t plane = (int64_t)g->cs * ch->ncol;
    float v = ch->bias ? ch->bias[a] : 0.0f;
    int32_t full = g->ls / 2;
    for (int32_t b = 0; b < ch->nb; b++) {
        const float *m0 = ch->ft + a * ch->ncol + (int64_t)b * ch->len, *m1 = m0 + plane, *m2 = m1 + plane;
        const float *m3 = m2 + plane;
        float *y = ch->s_out + ((int64_t)b * g->cs + a) * g->ls; /* [ls] */
        if (ch->acc) {
            for (int32_t t = 0; t < full; t++) {
                y[2 * t] += (m0[t] + m1[t]) + m2[t];
                y[2 * t + 1] += (m1[t] - m2[t]) - m3[t];
            }
        } else {
            for (int32_t t = 0; t < full; t++) {
                y[2 * t] = ((m0[t] + m1[t]) + m2[t]) + v;
                y[2 * t + 1] = ((m1[t] - m2[t]) - m3[t]) + v;
            }
        }
        if (g->ls & 1)
            y[2 * full] = (ch->acc ? y[2 * full] : v) + ((m0[full] + m1[full]) + m2[full]);
    }
}

/* WINO: M from channel a of S (the transposed output transform) */
static void cpu_conv1d_wino_grad(const cpu_conv1d_chunk *ch, int32_t a)
{
    const cpu_conv1d_geom *g = ch->g;
    int64_t plane = (int64_t)g->cs * ch->ncol;
    int32_t full = g->ls / 2;
    for (int32_t b = 0; b < ch->nb; b++) {
        const float *x = ch->s_in + ((int64_t)b * g->cs + a) * g->ls; /* [ls] */
        float *m0 = ch->ft + a * ch->ncol + (int64_t)b * ch->len, *m1 = m0 + plane, *m2 = m1 + plane;
        float *m3 = m2 + plane;
        for (int32_t t = 0; t < full; t++) {
            float d0 = x[2 * t], d1 = x[2 * t + 1];
            m0[t] = d0;
            m1[t] = d0 + d1;
            m2[t] = d0 - d1;
            m3[t] = -d1;
        }
        if (g->ls & 1)
            m0[full] = m1[full] = m2[full] = x[2 * full], m3[full] = 0.0f;
    }
}

typedef struct {
    pd_backend *be;
    const cpu_conv1d_geom *g;
    int mode;
    float *s_out, *g_out;             /* outputs (at most one) [n, cs, ls] / [n, cg, lg] */
    const float *s_in, *g_in;         /* inputs [n, cs, ls] / [n, cg, lg] */
    const float *w;                   /* [cs, cg, k] */
    float *wt;                        /* COLS: [cs k, cg]; WINO: [4, cs, cg] */
    const float *bias;
    float *dw;                        /* [cs, cg, k] or NULL */
    float *part;                      /* [ntasks, pw] partial weight gradients in the mode's layout */
    int64_t pw, per, shared;          /* floats: one partial, work per sample, thread 0's shared prefix */
    int32_t ntasks, nb, len;
    int acc;
} cpu_conv1d_plan;

/* One contiguous range of samples, chunk by chunk, on one thread. */
static void cpu_conv1d_gemm_task(void *ctx, int64_t task, int thread)
{
    const cpu_conv1d_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int32_t b0 = (int32_t)(task * g->n / pl->ntasks), b1 = (int32_t)((task + 1) * g->n / pl->ntasks);
    float *work = cpu_scratch(pl->be, thread, (size_t)((thread ? 0 : pl->shared) + pl->nb * pl->per) * sizeof(float));
    PD_ASSERT(work != NULL);
    work += thread ? 0 : pl->shared;
    float *part = pl->part ? pl->part + task * pl->pw : NULL;
    int32_t kg = g->cg * g->k, ks = g->cs * g->k;
    int64_t cw = (int64_t)g->cs * g->cg; /* one WINO plane of weights */
    for (int32_t c0 = b0; c0 < b1; c0 += pl->nb) {
        cpu_conv1d_chunk ch = {.g = g, .nb = b1 - c0 < pl->nb ? b1 - c0 : pl->nb, .len = pl->len,
                               .col = work, .bias = pl->bias, .acc = pl->acc};
        ch.ncol = (int64_t)ch.nb * ch.len;
        int32_t ncol = (int32_t)ch.ncol;
        ch.ft = work + (pl->mode == CPU_CONV1D_COLG ? kg : pl->mode == CPU_CONV1D_COLS ? ks : 4 * g->cg) * ch.ncol;
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
                cpu_sgemm(0, 1, g->cs, kg, ncol, 1.0f, st, ncol, ch.col, ncol, beta, part, kg);
            if (ch.s_out) {
                cpu_sgemm(0, 0, g->cs, ncol, kg, 1.0f, pl->w, kg, ch.col, ncol, 0.0f, ch.ft, ncol);
                cpu_conv1d_unfold(ch.s_out, ch.ft, ch.nb, g->cs, g->ls, ch.bias, ch.acc);
            }
            if (ch.g_out) {
                cpu_sgemm(1, 0, kg, ncol, g->cs, 1.0f, pl->w, kg, st, ncol, 0.0f, ch.col, ncol);
                for (int32_t c = 0; c < g->cg; c++)
                    cpu_conv1d_col2im(&ch, c);
            }
        } else if (pl->mode == CPU_CONV1D_COLS) {
            const float *gt = ch.ft; /* G folded */
            for (int32_t a = 0; ch.s_in && a < g->cs; a++)
                cpu_conv1d_im2cols(&ch, a);
            if (ch.g_in && (ch.nb > 1 || ch.g_out))
                cpu_conv1d_fold(ch.ft, ch.g_in, ch.nb, g->cg, g->lg);
            else if (ch.g_in)
                gt = ch.g_in;
            if (part)
                cpu_sgemm(0, 1, ks, g->cg, ncol, 1.0f, ch.col, ncol, gt, ncol, beta, part, g->cg);
            if (ch.s_out) {
                cpu_sgemm(0, 0, ks, ncol, g->cg, 1.0f, pl->wt, g->cg, gt, ncol, 0.0f, ch.col, ncol);
                for (int32_t a = 0; a < g->cs; a++)
                    cpu_conv1d_cols2s(&ch, a);
            }
            if (ch.g_out) {
                cpu_sgemm(1, 0, g->cg, ncol, ks, 1.0f, pl->wt, g->cg, ch.col, ncol, 0.0f, ch.ft, ncol);
                cpu_conv1d_unfold(ch.g_out, ch.ft, ch.nb, g->cg, g->lg, ch.bias, ch.acc);
            }
        } else {
            int64_t us = (int64_t)g->cg * ch.ncol, ms = (int64_t)g->cs * ch.ncol;
            for (int32_t c = 0; ch.g_in && c < g->cg; c++)
                cpu_conv1d_wino_in(&ch, c);
            for (int32_t a = 0; ch.s_in && a < g->cs; a++)
                cpu_conv1d_wino_grad(&ch, a);
            for (int i = 0; i < 4 && part; i++)
                cpu_sgemm(0, 1, g->cs, g->cg, ncol, 1.0f, ch.ft + i * ms, ncol, ch.col + i * us, ncol, beta,
                          part + i * cw, g->cg);
            if (ch.s_out) {
                for (int i = 0; i < 4; i++)
                    cpu_sgemm(0, 0, g->cs, ncol, g->cg, 1.0f, pl->wt + i * cw, g->cg, ch.col + i * us, ncol, 0.0f,
                              ch.ft + i * ms, ncol);
                for (int32_t a = 0; a < g->cs; a++)
                    cpu_conv1d_wino_out(&ch, a);
            }
            if (ch.g_out) {
                for (int i = 0; i < 4; i++)
                    cpu_sgemm(1, 0, g->cg, ncol, g->cs, 1.0f, pl->wt + i * cw, g->cg, ch.ft + i * ms, ncol, 0.0f,
                              ch.col + i * us, ncol);
                for (int32_t c = 0; c < g->cg; c++)
                    cpu_conv1d_wino_back(&ch, c);
            }
        }
    }
}

/* wt from w for short channel a (COLS: rows (a, kk); WINO: the four transformed planes) */
static void cpu_conv1d_wt_task(void *ctx, int64_t a, int thread)
{
    (void)thread;
    const cpu_conv1d_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int64_t cw = (int64_t)g->cs * g->cg;
    for (int32_t c = 0; c < g->cg; c++) {
        const float *x = pl->w + (a * g->cg + c) * g->k;
        if (pl->mode == CPU_CONV1D_COLS) {
            for (int32_t kk = 0; kk < g->k; kk++)
                pl->wt[(a * g->k + kk) * g->cg + c] = x[kk];
        } else {
            float *o = pl->wt + a * g->cg + c;
            o[0] = x[0];
            o[cw] = 0.5f * ((x[0] + x[1]) + x[2]);
            o[2 * cw] = 0.5f * ((x[0] - x[1]) + x[2]);
            o[3 * cw] = x[2];
        }
    }
}

/* dw [a, :, :] += the partial weight gradients of short channel a, summed in task order */
static void cpu_conv1d_dw_task(void *ctx, int64_t a, int thread)
{
    (void)thread;
    const cpu_conv1d_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int64_t cw = (int64_t)g->cs * g->cg, kg = (int64_t)g->cg * g->k;
    /* the rows of a in the partials' layout: COLG one row [cg k]; COLS k rows [cg]; WINO 4 planes' rows [cg] */
    int32_t nrows = pl->mode == CPU_CONV1D_COLG ? 1 : pl->mode == CPU_CONV1D_COLS ? g->k : 4;
    int64_t rlen = pl->mode == CPU_CONV1D_COLG ? kg : g->cg;
    for (int32_t r = 0; r < nrows; r++) {
        int64_t off = pl->mode == CPU_CONV1D_COLG ? a * kg : pl->mode == CPU_CONV1D_COLS ? (a * g->k + r) * g->cg
                                                                                          : r * cw + a * g->cg;
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
    } else if (pl->mode == CPU_CONV1D_COLS) {
        for (int32_t kk = 0; kk < g->k; kk++) {
            const float *p = pl->part + (a * g->k + kk) * g->cg;
            for (int32_t c = 0; c < g->cg; c++)
                o[(int64_t)c * g->k + kk] += p[c];
        }
    } else {
        const float *p = pl->part + a * g->cg;
        for (int32_t c = 0; c < g->cg; c++) {
            float h1 = 0.5f * p[cw + c], h2 = 0.5f * p[2 * cw + c];
            o[3 * c] += p[c] + (h1 + h2);
            o[3 * c + 1] += h1 - h2;
            o[3 * c + 2] += (h1 + h2) + p[3 * cw + c];
        }
    }
}

/* The GEMM paths. Reads s_in [n, cs, ls] and/or g_in [n, cg, lg] as the requested results need them:
 *   s_out [n, cs, ls] = gather(g_in) (+ bias [cs]);  g_out [n, cg, lg] = scatter(s_in) (+ bias [cg]);
 *   dw [cs, cg, k] += wgrad(s_in, g_in). At most one of s_out, g_out; acc applies to it. */
static void cpu_conv1d_gemm(pd_backend *be, const cpu_conv1d_geom *g, int mode, float *s_out, float *g_out,
                            float *dw, const float *s_in, const float *g_in, const float *w, const float *bias,
                            int acc)
{
    cpu_conv1d_plan pl = {.be = be, .g = g, .mode = mode, .s_out = s_out, .g_out = g_out, .s_in = s_in,
                          .g_in = g_in, .w = w, .bias = bias, .dw = dw, .acc = acc};
    int64_t cw = (int64_t)g->cs * g->cg, nwt = 0;
    if (mode == CPU_CONV1D_COLG) {
        pl.len = g->ls;
        pl.per = ((int64_t)g->cg * g->k + g->cs) * g->ls;
        pl.pw = cw * g->k;
    } else if (mode == CPU_CONV1D_COLS) {
        pl.len = g->lg;
        pl.per = ((int64_t)g->cs * g->k + g->cg) * g->lg;
        pl.pw = nwt = cw * g->k;
    } else {
        pl.len = (g->ls + 1) / 2;
        pl.per = 4 * ((int64_t)g->cg + g->cs) * pl.len;
        pl.pw = nwt = 4 * cw;
    }
    pl.ntasks = be->threads < g->n ? be->threads : g->n;
    int32_t span = (g->n + pl.ntasks - 1) / pl.ntasks;
    int64_t nb = CPU_CONV1D_TASK_FLOATS / pl.per;
    nb = nb < 1 ? 1 : (nb > span ? span : nb);
    pl.nb = (int32_t)((span + (span + nb - 1) / nb - 1) / ((span + nb - 1) / nb)); /* equal chunks */
    pl.shared = nwt + (dw ? pl.ntasks * pl.pw : 0);
    float *shared = cpu_scratch(be, 0, (size_t)(pl.shared + pl.nb * pl.per) * sizeof(float));
    PD_ASSERT(shared != NULL);
    pl.wt = shared;
    pl.part = dw ? shared + nwt : NULL;
    if (nwt && (s_out || g_out))
        cpu_parallel_for(be, g->cs, cpu_conv1d_wt_task, &pl);
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
    if (g->k == 3 && g->stride == 1 && g->cs >= CPU_CONV1D_WINO_MIN && g->cg >= CPU_CONV1D_WINO_MIN)
        return CPU_CONV1D_WINO;
    int64_t fg = (kg + g->cs) * g->ls, fs = (ks + g->cg) * g->lg;
    if (g->cs < 16 ? fs < 2 * fg : 4 * fs < 3 * fg)
        return CPU_CONV1D_COLS;
    return CPU_CONV1D_COLG;
}

/* The three kernels on either path; see cpu_conv1d_gemm for the arguments. */
static void cpu_conv1d_run(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                           const float *s_in, const float *g_in, const float *w, const float *bias, int acc)
{
    if (g->n <= 0)
        return;
    PD_ASSERT(g->ls >= 1 && g->lg >= 1 && g->k >= 1 && g->stride >= 1 && g->pad >= 0);
    int mode = cpu_conv1d_mode(g);
    if (mode != CPU_CONV1D_DIRECT) {
        cpu_conv1d_gemm(be, g, mode, s_out, g_out, dw, s_in, g_in, w, bias, acc);
        return;
    }
    if (dw)
        cpu_conv1d_wgrad_direct(be, g, dw, s_in, g_in);
    cpu_conv1d_direct_job jb = {.g = g, .s_in = s_in, .g_in = g_in, .s_out = s_out, .g_out = g_out, .w = w,
                                .bias = bias, .acc = acc};
    if (s_out)
        cpu_parallel_for(be, g->n, cpu_conv1d_gather_task, &jb);
    if (g_out)
        cpu_parallel_for(be, g->n, cpu_conv1d_scatter_task, &jb);
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

static void cpu_conv1d_bgrad(pd_backend *be, float *db, const float *t, int32_t n, int32_t c, int32_t len)
{
    cpu_conv1d_bias_job jb = {db, t, n, c, len};
    cpu_parallel_for(be, c, cpu_conv1d_bgrad_task, &jb);
}

/* ---- the ops ------------------------------------------------------------------------------------------- */

/* out [n, cout, lo] = conv(in [n, cin, l], w [cout, cin, k]) + b [cout] (b may be NULL) */
static void cpu_conv1d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                               const pd_conv1d_shape *s)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    cpu_conv1d_run(be, &g, out, NULL, NULL, NULL, in, w, b, 0);
}

/* din [n, cin, l] (may be NULL), dw [cout, cin, k] +=, db [cout] += (may be NULL); dout [n, cout, lo] */
static void cpu_conv1d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, const pd_conv1d_shape *s, int acc)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_conv(s);
    if (db)
        cpu_conv1d_bgrad(be, db, dout, s->n, s->cout, s->lo);
    if (dw || din)
        cpu_conv1d_run(be, &g, NULL, din, dw, dout, dw ? in : NULL, w, NULL, acc);
}

/* out [n, cout, lo] = convtranspose(in [n, cin, l], w [cin, cout, k]) + b [cout] (b may be NULL) */
static void cpu_convt1d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                const pd_conv1d_shape *s)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_convt(s);
    cpu_conv1d_run(be, &g, NULL, out, NULL, in, NULL, w, b, 0);
}

/* din [n, cin, l] (may be NULL), dw [cin, cout, k] +=, db [cout] += (may be NULL); dout [n, cout, lo] */
static void cpu_convt1d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                 const float *in, const float *w, const pd_conv1d_shape *s, int acc)
{
    cpu_conv1d_geom g = cpu_conv1d_geom_convt(s);
    if (db)
        cpu_conv1d_bgrad(be, db, dout, s->n, s->cout, s->lo);
    if (dw || din)
        cpu_conv1d_run(be, &g, din, NULL, dw, dw ? in : NULL, dout, w, NULL, acc);
}

void cpu_conv1d_register(pd_backend *be)
{
    be->conv1d_forward = cpu_conv1d_forward;
    be->conv1d_backward = cpu_conv1d_backward;
    be->convt1d_forward = cpu_convt1d_forward;
    be->convt1d_backward = cpu_convt1d_backward;
}
