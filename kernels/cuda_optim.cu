/* cuda_optim.cu — optimiser steps of the CUDA backend (contracts in src/backend.h; CPU twin:
 * src/cpu_optim.c), PyTorch's SGD (dampening 0, no Nesterov) and AdamW (amsgrad off) update rules.
 *
 * Element-wise; the scalar factors (bias corrections) are computed on the host in double exactly as the CPU
 * backend computes them, and the per-element expressions are the CPU's, so the updates match it bit for bit
 * for equal inputs. */
#include <math.h>

#include "cuda_internal.cuh"

static void cuda_optim_sgd_step(pd_backend *be, float *p, const float *g, float *buf, int64_t n, float lr,
                                float momentum, float wd)
{
    /* p, g, buf [n]: g' = g + wd p; buf = momentum buf + g'; p -= lr buf */
    cuda_map(be, n, [=] __device__(int64_t i) {
        float d = g[i] + wd * p[i];
        float b = momentum * buf[i] + d;
        buf[i] = b;
        p[i] -= lr * b;
    });
}

static void cuda_optim_adamw_step(pd_backend *be, float *p, const float *g, float *m, float *v, int64_t n,
                                  float lr, float b1, float b2, float eps, float wd, int64_t t)
{
    /* p, g, m, v [n]; t >= 1 the step number */
    PD_ASSERT(t >= 1);
    double bc1 = 1.0 - pow((double)b1, (double)t), bc2 = 1.0 - pow((double)b2, (double)t);
    float decay = 1.0f - lr * wd, step = (float)((double)lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    cuda_map(be, n, [=] __device__(int64_t i) {
        float gi = g[i];
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = p[i] * decay - step * (mi / denom);
    });
}

void cuda_optim_register(pd_backend *be)
{
    be->sgd_step = cuda_optim_sgd_step;
    be->adamw_step = cuda_optim_adamw_step;
}
