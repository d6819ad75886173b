/* cpu_winograd.h — Winograd convolution for the CPU backend's conv2d (internal; see cpu_winograd.c).
 * cpu_conv2d.c routes a 3x3, stride-1, pad-1 convolution with enough channels here.
 *
 * The driver (cpu_winograd.c) uses two helper files:
 *   cpu_wgsimd.c  channel-innermost layout changes and the small products between transformed buffers;
 *   cpu_wgtile.c  the tile transforms of F(2x2, 3x3).
 * Channel-innermost buffers hold cp floats per position, cp = channels rounded up to CPU_WG_LANES. */
#ifndef PD_CPU_WINOGRAD_H
#define PD_CPU_WINOGRAD_H

#include "cpu.h"

#define CPU_WG_LANES 16 /* channels per vector in the transforms */

/* The fused convolution block (cpu_convbn.c): installs conv_bn_relu_forward / _backward. */

/* Does this geometry take the Winograd path? */
int cpu_winograd_fits(const pd_conv2d_shape *s);

/* The conv2d_forward / conv2d_backward contracts of backend.h for a geometry that fits. */
void cpu_winograd_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                          const pd_conv2d_shape *s);
void cpu_winograd_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, const pd_conv2d_shape *s, int acc);

/* Hooks that take the place of the planar output (forward) or output gradient (backward) — the fused
 * convolution block (cpu_convbn.c) keeps its tensors channel-innermost. cout must be a multiple of
 * CPU_WG_LANES. y holds one sample's plane as [2 th, ld = 2 tw, cout] (th, tw: ceil(h / 2), ceil(w / 2)):
 *   emit    (forward) y is the convolution of `sample` without the bias; positions past h, w are junk;
 *   gather  (backward) fill y with the gradient of `sample`'s convolution output; positions past h, w are zero
 *           and must stay zero;
 *   load    (forward) produce `sample`'s input in place of reading it from `in`.
 * Hooks run on the pool (`thread` as in cpu_parallel_for); extra_floats of scratch for them are kept next to
 * the Winograd's own, at `extra`, set before the first hook runs. */
typedef struct cpu_wg_hooks cpu_wg_hooks;
struct cpu_wg_hooks {
    void (*emit)(const cpu_wg_hooks *h, int32_t sample, const float *y, int32_t ld, int thread);
    void (*gather)(const cpu_wg_hooks *h, int32_t sample, float *y, int32_t ld, int thread);
    /* (forward, may be NULL: the input `in` is read) fill the padded plane x [hp, wp, cp] with `sample`'s input
     * at rows and columns 1 on, as cpu_wg_to_cl (x, wp, cp, 1, 1, ...) does; the border is zero and stays so */
    void (*load)(const cpu_wg_hooks *h, int32_t sample, float *x, int32_t wp, int64_t cp, int thread);
    /* forward for inference: F(4x4, 3x3) (fewer products, float error 2-5e-6 relative); y then holds
     * [4 th, ld = 4 tw, cout] with th, tw = ceil(h / 4), ceil(w / 4) */
    int fast;
    void *ctx;
    int64_t extra_floats;
    float *extra;
};
void cpu_winograd_forward_hooked(pd_backend *be, const float *in, const float *w, const pd_conv2d_shape *s,
                                 cpu_wg_hooks *h);
void cpu_winograd_backward_hooked(pd_backend *be, float *din, float *dw, float *db, const float *in, const float *w,
                                  const pd_conv2d_shape *s, int acc, cpu_wg_hooks *h);

/* ---- cpu_wgsimd.c ---------------------------------------------------------------------------------------- */

/* dst [rows, ld, cp] from row oy, column ox on <- src [c, h, w]; channels c .. cp - 1 of the written positions
 * are zero */
void cpu_wg_to_cl(float *dst, int32_t ld, int64_t cp, int32_t oy, int32_t ox, const float *src, int32_t c,
                  int32_t h, int32_t w);
/* cpu_wg_to_cl of relu((x - m) k + b), x the channel's row of mx (k >= 0) or mn (cpu_bn_relu_pool_rows, the
 * same values); tmp [c, h, w] is scratch */
void cpu_wg_to_cl_bnrelu(float *dst, int32_t ld, int64_t cp, int32_t oy, int32_t ox, const float *mx, const float *mn,
                         const float *k, const float *m, const float *b, float *tmp, int32_t c, int32_t h, int32_t w);
/* dst [c, h, w] = src + bias[c] (src itself when bias is NULL), or += src when acc <- src [rows, ld, cp] from
 * (oy, ox) on */
void cpu_wg_from_cl(float *dst, int acc, const float *bias, const float *src, int32_t ld, int64_t cp, int32_t oy,
                    int32_t ox, int32_t c, int32_t h, int32_t w);
/* C [m, n] = A B (+ C when acc), row-major B and C; ta: A is stored transposed ([kk, m], leading dimension lda) */
void cpu_wg_gemm(int ta, int64_t m, int64_t n, int64_t kk, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float *c, int64_t ldc, int acc);

/* ---- cpu_wgtile.c: position e = 4 i + j of a 4x4 transformed tile lives at base + e es ----------------------- */

/* F(4x4, 3x3), forward only: the same with 6x6 tiles (e = 6 i + j), 4x4 output tiles, padded plane
 * [4 th + 2, wp, cp] and output [4 th, 4 tw, cp] */
void cpu_wg4_weight(const float *g, float *u, int64_t es);
void cpu_wg4_in(const float *x, int32_t wp, int32_t th, int32_t tw, int64_t cp, float *v, int64_t es);
void cpu_wg4_out(const float *mm, int64_t es, int32_t th, int32_t tw, int64_t cp, float *y);

/* u <- G g G^T for one kernel g [3, 3] */
void cpu_wg_weight(const float *g, float *u, int64_t es);
/* g [3, 3] += G^T du G */
void cpu_wg_weight_grad(const float *du, int64_t es, float *g);
/* v [e][tile] (tile t at v + t cp) <- B^T d B of every tile of the padded plane x [2 th + 2, wp, cp] */
void cpu_wg_in(const float *x, int32_t wp, int32_t th, int32_t tw, int64_t cp, float *v, int64_t es);
/* x [2 th + 2, wp, cp] += B dv B^T of every tile (overlapping tiles add up) */
void cpu_wg_in_t(const float *v, int64_t es, int32_t th, int32_t tw, int64_t cp, float *x, int32_t wp);
/* y [2 th, 2 tw, cp] <- A^T M A of every tile */
void cpu_wg_out(const float *mm, int64_t es, int32_t th, int32_t tw, int64_t cp, float *y);
/* z <- A dY A^T of every tile of dy [2 th, 2 tw, cp] */
void cpu_wg_grad(const float *dy, int32_t th, int32_t tw, int64_t cp, float *z, int64_t es);
/* db [c] += sum over t rows of z [t, cp] (pass position 5 of A dY A^T: the sum of a tile's output gradients) */
void cpu_wg_bias_grad(const float *z, int64_t t, int64_t cp, int32_t c, double *db);

#endif
