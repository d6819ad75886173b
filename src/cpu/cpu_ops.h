/* cpu_ops.h — the CPU backend's op groups, one file each; backend_cpu.c installs them in this order (a later group
 * may replace an earlier one's slot). The same groups on the CUDA backend are kernels/cuda_<group>.cu, except that
 * CUDA keeps BatchNorm and InstanceNorm in one file (cuda_norm.cu). Private to src/cpu/. */
#ifndef PD_CPU_OPS_H
#define PD_CPU_OPS_H

#include "backend.h"

void cpu_eltwise_register(pd_backend *be);   /* cpu_eltwise.c: fill..pad_rows, randn, noise_mix */
void cpu_dense_register(pd_backend *be);     /* cpu_dense.c: gemm, linear */
void cpu_conv2d_register(pd_backend *be);    /* cpu_conv2d.c: conv2d (direct and Winograd F(2x2, 3x3)) */
void cpu_convbn_register(pd_backend *be);    /* cpu_convbn.c: the fused conv2d -> BatchNorm -> ReLU block */
void cpu_batchnorm_register(pd_backend *be); /* cpu_batchnorm.c: batchnorm2d, bn_relu, bn_relu_pool_eval */
void cpu_pool_register(pd_backend *be);      /* cpu_pool.c: maxpool2d, avgpool */
void cpu_loss_register(pd_backend *be);      /* cpu_loss.c: softmax_xent, argmax, mse */
void cpu_optim_register(pd_backend *be);     /* cpu_optim.c: sgd, adamw */
void cpu_conv1d_register(pd_backend *be);    /* cpu_conv1d.c: conv1d, convt1d */
void cpu_instnorm_register(pd_backend *be);  /* cpu_instnorm.c: instnorm */
void cpu_normact_register(pd_backend *be);   /* cpu_normact.c: norm_act ([temb] [LeakyReLU] InstanceNorm) */
void cpu_diffusion_register(pd_backend *be); /* cpu_diffusion.c: temb, q_sample, diffusion_step */

/* cpu_dense.c: one row of linear_forward's thin path (o <= CPU_DENSE_THIN outputs), the same floats as
 * linear_forward gives that row: out [o] = in [i] w^T (+ b) */
#define CPU_DENSE_THIN 16
void cpu_dense_thin_row(float *out, const float *in, const float *w, const float *b, int32_t i, int32_t o);

#endif
