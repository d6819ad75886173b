/* cpu_winograd.h — Winograd F(2x2, 3x3) convolution for the CPU backend's conv2d (internal; see
 * cpu_winograd.c). cpu_conv2d.c routes a 3x3, stride-1, pad-1 convolution with enough channels here. */
#ifndef PD_CPU_WINOGRAD_H
#define PD_CPU_WINOGRAD_H

#include "cpu.h"

/* Does this geometry take the Winograd path? */
int cpu_winograd_fits(const pd_conv2d_shape *s);

/* The conv2d_forward / conv2d_backward contracts of backend.h for a geometry that fits. */
void cpu_winograd_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                          const pd_conv2d_shape *s);
void cpu_winograd_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, const pd_conv2d_shape *s, int acc);

#endif
