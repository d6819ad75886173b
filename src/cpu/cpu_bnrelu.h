/* cpu_bnrelu.h — the per-plane kernels of the CPU backend's fused BatchNorm -> ReLU (-> 2x2 max-pool) ops
 * (bn_relu_forward / bn_relu_backward in backend.h; driven by cpu_batchnorm.c). Internal.
 *
 * One plane is one (sample, channel) image x [h, w] of the BatchNorm input. With r = relu((x - m) k + b) (the
 * exact expressions of batchnorm2d_forward's apply pass and relu_forward) and, with pool, each 2x2 window's
 * first maximum (NaN wins; maxpool2d_forward's rule):
 *   forward  out = r, or the window maxima [h/2, w/2];
 *   dy       the gradient reaching the BatchNorm output: g (shaped like out) at the window's pick, or at every
 *            position without the pool, where r > 0; else 0 (also where no window reaches);
 *   sums     s1 += sum dy, s2 += sum dy (x - m);
 *   apply    din = ka dy - kb (x - m) + kc (= or += with acc), batchnorm2d_backward's expression.
 * The AVX-512 versions (picked at load time when the CPU has it) compute the same per-element values as the
 * portable ones; only the order of the float additions in the sums differs. */
#ifndef PD_CPU_BNRELU_H
#define PD_CPU_BNRELU_H

#include <stdint.h>

void cpu_bnr_forward_plane(float *out, const float *x, int32_t h, int32_t w, int pool, float m, float k, float b);
void cpu_bnr_sums_plane(const float *x, const float *g, int32_t h, int32_t w, int pool, float m, float k, float b,
                        double *s1, double *s2);
void cpu_bnr_apply_plane(float *din, const float *x, const float *g, int32_t h, int32_t w, int pool, float m,
                         float k, float b, float ka, float kb, float kc, int acc);

#endif
