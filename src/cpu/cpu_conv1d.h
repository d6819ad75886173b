/* cpu_conv1d.h — internals shared by the CPU backend's convolution files (cpu_conv1d.c, cpu_conv1d_wino.c).
 * Not a public header.
 *
 * Conv1d and ConvTranspose1d are both one strided correlation between a "short" tensor S [n, cs, ls] and a
 * "long" tensor G [n, cg, lg] through a weight W [cs, cg, k]; short position j meets long position
 * j stride - pad + kk (see cpu_conv1d.c). The Winograd path (cpu_conv1d_wino.c) serves the wide stride-1 k-3
 * shapes, cpu_conv1d_direct.c the tiny weights; cpu_conv1d.c picks the path and owns the GEMM paths.
 */
#ifndef PD_CPU_CONV1D_H
#define PD_CPU_CONV1D_H

#include "cpu.h"

typedef struct {
    int32_t n;      /* batch */
    int32_t cs, ls; /* short side: channels, length */
    int32_t cg, lg; /* long side: channels, length */
    int32_t k, stride, pad;
} cpu_conv1d_geom;

/* Stride-1, k-3 layers at least this wide on both sides take the Winograd path. */
#define CPU_CONV1D_WINO_MIN 32

static inline int cpu_conv1d_wino_fits(const cpu_conv1d_geom *g)
{
    return g->k == 3 && g->stride == 1 && g->cs >= CPU_CONV1D_WINO_MIN && g->cg >= CPU_CONV1D_WINO_MIN;
}

/* Floats of the transformed weights of a Winograd-path geometry (they do not depend on n or the lengths). */
int64_t cpu_conv1d_wino_pack_floats(const cpu_conv1d_geom *g);

/* wt [pack_floats] = the transformed weights of w [cs, cg, 3] (on the backend's threads). */
void cpu_conv1d_wino_pack(pd_backend *be, const cpu_conv1d_geom *g, float *wt, const float *w);

/* The Winograd path: s_out [n, cs, ls] = gather(g_in) (+ bias [cs]); g_out [n, cg, lg] = scatter(s_in)
 * (+ bias [cg]); dw [cs, cg, 3] += wgrad(s_in, g_in). At most one of s_out, g_out; acc applies to it.
 * wt: the packed weights of w, or NULL to transform w here. */
void cpu_conv1d_wino_run(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                         const float *s_in, const float *g_in, const float *w, const float *wt, const float *bias,
                         int acc);

/* The gather (acc 0) followed by norm_act_forward of its output without a table, for rows of at most 16
 * positions on AVX-512 (returns 0, having done nothing, otherwise): nout [n, cs, ls], mean and rstd [n cs] as
 * norm_act_forward writes them, bit for bit; s_out may be NULL (then the convolution's output is not stored). */
int cpu_conv1d_wino_norm_act(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *nout, float *mean,
                             float *rstd, const float *g_in, const float *w, const float *wt, const float *bias,
                             int lead, float slope, float eps);

/* ---- row kernels shared by the paths ------------------------------------------------------------------- */

/* The short positions j in [*j0, *j1) whose long position j s - pad + kk lies inside [0, lg). */
static inline void cpu_conv1d_range(const cpu_conv1d_geom *g, int32_t kk, int32_t *j0, int32_t *j1)
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

/* The direct path (cpu_conv1d_direct.c), one task per sample, for tiny weights on long rows: the arguments of
 * cpu_conv1d_wino_run without prepared weights. */
void cpu_conv1d_direct_run(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                           const float *s_in, const float *g_in, const float *w, const float *bias, int acc);

#endif
