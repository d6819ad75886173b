/* cpu_optim.c — optimiser steps on the CPU backend (contracts in backend.h), following PyTorch's
 * torch.optim.SGD (dampening 0, no Nesterov) and torch.optim.AdamW (amsgrad off) update rules.
 *
 * Every parameter is updated independently; large blocks run in fixed chunks on the thread pool. */
#include <math.h>

#include "cpu.h"
#include "cpu_ops.h"

#define CPU_OPTIM_CHUNK ((int64_t)1 << 15)
#define CPU_OPTIM_PARALLEL_MIN ((int64_t)1 << 16)

typedef struct {
    float *p;        /* [n] parameters */
    const float *g;  /* [n] gradients */
    float *m;        /* [n] SGD momentum buffer or Adam first moment */
    float *v;        /* [n] Adam second moment */
    int64_t n;
    float lr, momentum, wd;           /* SGD */
    float decay, b1, b2, eps;         /* AdamW: decay = 1 - lr wd */
    float step_size, bc2_sqrt;        /* AdamW: lr / (1 - b1^t), sqrt(1 - b2^t) */
} cpu_optim_args;

static void cpu_optim_run(pd_backend *be, cpu_optim_args *a, pd_pool_fn fn)
{
    if (a->n <= 0)
        return;
    if (be->threads <= 1 || a->n < CPU_OPTIM_PARALLEL_MIN) {
        int64_t tasks = (a->n + CPU_OPTIM_CHUNK - 1) / CPU_OPTIM_CHUNK;
        for (int64_t t = 0; t < tasks; t++)
            fn(a, t, 0);
        return;
    }
    cpu_parallel_for(be, (a->n + CPU_OPTIM_CHUNK - 1) / CPU_OPTIM_CHUNK, fn, a);
}

static void cpu_optim_sgd_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_optim_args *a = ctx;
    int64_t lo = task * CPU_OPTIM_CHUNK, hi = lo + CPU_OPTIM_CHUNK < a->n ? lo + CPU_OPTIM_CHUNK : a->n;
    float *p = a->p, *buf = a->m;
    const float *g = a->g;
    float lr = a->lr, mom = a->momentum, wd = a->wd;
    for (int64_t i = lo; i < hi; i++) {
        float d = g[i] + wd * p[i];
        float b = mom * buf[i] + d;
        buf[i] = b;
        p[i] -= lr * b;
    }
}

static void cpu_optim_sgd_step(pd_backend *be, float *p, const float *g, float *buf, int64_t n, float lr,
                               float momentum, float wd)
{
    /* p, g, buf [n] */
    cpu_optim_args a = {.p = p, .g = g, .m = buf, .n = n, .lr = lr, .momentum = momentum, .wd = wd};
    cpu_optim_run(be, &a, cpu_optim_sgd_task);
}

static void cpu_optim_adamw_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_optim_args *a = ctx;
    int64_t lo = task * CPU_OPTIM_CHUNK, hi = lo + CPU_OPTIM_CHUNK < a->n ? lo + CPU_OPTIM_CHUNK : a->n;
    float *p = a->p, *m = a->m, *v = a->v;
    const float *g = a->g;
    float decay = a->decay, b1 = a->b1, b2 = a->b2, eps = a->eps;
    float c1 = 1.0f - b1, c2 = 1.0f - b2, step = a->step_size, bc2 = a->bc2_sqrt;
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2 + eps;
        p[i] = p[i] * decay - step * (mi / denom);
    }
}

static void cpu_optim_adamw_step(pd_backend *be, float *p, const float *g, float *m, float *v, int64_t n,
                                 float lr, float b1, float b2, float eps, float wd, int64_t t)
{
    /* p, g, m, v [n]; t >= 1 */
    PD_ASSERT(t >= 1);
    double bc1 = 1.0 - pow((double)b1, (double)t), bc2 = 1.0 - pow((double)b2, (double)t);
    cpu_optim_args a = {.p = p, .g = g, .m = m, .v = v, .n = n, .decay = 1.0f - lr * wd, .b1 = b1, .b2 = b2,
                        .eps = eps, .step_size = (float)((double)lr / bc1), .bc2_sqrt = (float)sqrt(bc2)};
    cpu_optim_run(be, &a, cpu_optim_adamw_task);
}

void cpu_optim_register(pd_backend *be)
{
    be->sgd_step = cpu_optim_sgd_step;
    be->adamw_step = cpu_optim_adamw_step;
}
