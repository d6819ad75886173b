/* cpu_pool.c — pooling on the CPU backend (contracts in backend.h): 2x2/2 max-pool with argmax indices
 * (first maximum wins and NaN propagates, as in PyTorch) and global average pooling.
 *
 * Planes ([h, w] images of one sample and channel) are independent; blocks of planes run on the thread pool.
 * The loops are written as selects so that GCC vectorises them. */
#include <string.h>

#include "cpu.h"
#include "cpu_ops.h"

#define CPU_POOL2D_TASK_ELEMS ((int64_t)1 << 15) /* input elements per task, about */

typedef struct {
    float *out;         /* [n c, ho, wo] or [n c] */
    int32_t *arg;       /* [n c, ho, wo] */
    float *din;         /* [n c, h, w] */
    const float *in;    /* [n c, h, w] */
    const float *dout;  /* [n c, ho, wo] or [n c] */
    const int32_t *carg;
    int64_t planes, per_task;
    int32_t h, w;
    int acc;
} cpu_pool_args;

static void cpu_pool_run(pd_backend *be, cpu_pool_args *a, int64_t plane_elems, pd_pool_fn fn)
{
    int64_t per = plane_elems > 0 ? CPU_POOL2D_TASK_ELEMS / plane_elems : a->planes;
    a->per_task = per < 1 ? 1 : per;
    int64_t tasks = (a->planes + a->per_task - 1) / a->per_task;
    if (tasks <= 1 || be->threads <= 1)
        for (int64_t t = 0; t < tasks; t++)
            fn(a, t, 0);
    else
        cpu_parallel_for(be, tasks, fn, a);
}

static void cpu_pool_plane_range(const cpu_pool_args *a, int64_t task, int64_t *p0, int64_t *p1)
{
    *p0 = task * a->per_task;
    *p1 = *p0 + a->per_task < a->planes ? *p0 + a->per_task : a->planes;
}

/* ---- max-pool ---------------------------------------------------------------------------------------- */

static void cpu_pool_max_forward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_pool_args *a = ctx;
    int32_t h = a->h, w = a->w, ho = h / 2, wo = w / 2;
    int64_t p0, p1;
    cpu_pool_plane_range(a, task, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *x = a->in + pl * h * w;           /* [h, w] */
        float *o = a->out + pl * ho * wo;               /* [ho, wo] */
        int32_t *g = a->arg + pl * ho * wo;             /* [ho, wo] */
        for (int32_t oy = 0; oy < ho; oy++) {
            const float *r0 = x + (int64_t)2 * oy * w, *r1 = r0 + w;
            float *orow = o + (int64_t)oy * wo;
            int32_t *grow = g + (int64_t)oy * wo;
            int32_t base = 2 * oy * w;
            for (int32_t ox = 0; ox < wo; ox++) {
                float m = r0[2 * ox], v;
                int32_t k = 0, t;
                v = r0[2 * ox + 1];
                t = (v > m) | (v != v);
                m = t ? v : m;
                k = t ? 1 : k;
                v = r1[2 * ox];
                t = (v > m) | (v != v);
                m = t ? v : m;
                k = t ? w : k;
                v = r1[2 * ox + 1];
                t = (v > m) | (v != v);
                m = t ? v : m;
                k = t ? w + 1 : k;
                orow[ox] = m;
                grow[ox] = base + 2 * ox + k;
            }
        }
    }
}

static void cpu_pool_max_forward(pd_backend *be, float *out, int32_t *arg, const float *in, int32_t n,
                                   int32_t c, int32_t h, int32_t w)
{
    /* out, arg [n, c, h/2, w/2], in [n, c, h, w] */
    cpu_pool_args a = {.out = out, .arg = arg, .in = in, .planes = (int64_t)n * c, .h = h, .w = w};
    if (h / 2 > 0 && w / 2 > 0)
        cpu_pool_run(be, &a, (int64_t)h * w, cpu_pool_max_forward_task);
}

static void cpu_pool_max_backward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_pool_args *a = ctx;
    int32_t h = a->h, w = a->w, ho = h / 2, wo = w / 2;
    int64_t p0, p1;
    cpu_pool_plane_range(a, task, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        float *d = a->din + pl * h * w;                 /* [h, w] */
        const float *dy = a->dout + pl * ho * wo;       /* [ho, wo] */
        const int32_t *g = a->carg + pl * ho * wo;      /* [ho, wo] */
        for (int32_t oy = 0; oy < ho; oy++) {
            float *r0 = d + (int64_t)2 * oy * w, *r1 = r0 + w;
            const float *dyr = dy + (int64_t)oy * wo;
            const int32_t *gr = g + (int64_t)oy * wo;
            int32_t base = 2 * oy * w;
            if (a->acc) {
                for (int32_t ox = 0; ox < wo; ox++) {
                    int32_t k = gr[ox] - base - 2 * ox;
                    float v = dyr[ox];
                    r0[2 * ox] += k == 0 ? v : 0.0f;
                    r0[2 * ox + 1] += k == 1 ? v : 0.0f;
                    r1[2 * ox] += k == w ? v : 0.0f;
                    r1[2 * ox + 1] += k == w + 1 ? v : 0.0f;
                }
            } else {
                for (int32_t ox = 0; ox < wo; ox++) {
                    int32_t k = gr[ox] - base - 2 * ox;
                    float v = dyr[ox];
                    r0[2 * ox] = k == 0 ? v : 0.0f;
                    r0[2 * ox + 1] = k == 1 ? v : 0.0f;
                    r1[2 * ox] = k == w ? v : 0.0f;
                    r1[2 * ox + 1] = k == w + 1 ? v : 0.0f;
                }
                if (w & 1) {
                    r0[w - 1] = 0.0f;
                    r1[w - 1] = 0.0f;
                }
            }
        }
        if ((h & 1) && !a->acc)
            memset(d + (int64_t)(h - 1) * w, 0, (size_t)w * sizeof(float));
    }
}

static void cpu_pool_max_backward(pd_backend *be, float *din, const float *dout, const int32_t *arg, int32_t n,
                                    int32_t c, int32_t h, int32_t w, int acc)
{
    /* din [n, c, h, w], dout, arg [n, c, h/2, w/2] */
    cpu_pool_args a = {.din = din, .dout = dout, .carg = arg, .planes = (int64_t)n * c, .h = h, .w = w,
                         .acc = acc};
    if (h / 2 > 0 && w / 2 > 0)
        cpu_pool_run(be, &a, (int64_t)h * w, cpu_pool_max_backward_task);
    else if (!acc)
        memset(din, 0, (size_t)a.planes * h * w * sizeof(float));
}

/* ---- global average pool ----------------------------------------------------------------------------- */

static void cpu_pool_avg_forward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    enum { L = 16 };
    const cpu_pool_args *a = ctx;
    int64_t hw = a->h, p0, p1;
    cpu_pool_plane_range(a, task, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *x = a->in + pl * hw; /* [hw] */
        float lane[L] = {0};
        int64_t i = 0;
        for (; i + L <= hw; i += L) {
#pragma GCC unroll 16
            for (int j = 0; j < L; j++)
                lane[j] += x[i + j];
        }
        double s = 0.0;
        for (; i < hw; i++)
            s += x[i];
        for (int j = 0; j < L; j++)
            s += lane[j];
        a->out[pl] = (float)(s / (double)hw);
    }
}

static void cpu_pool_avg_forward(pd_backend *be, float *out, const float *in, int32_t n, int32_t c, int32_t hw)
{
    /* out [n, c], in [n, c, hw] */
    cpu_pool_args a = {.out = out, .in = in, .planes = (int64_t)n * c, .h = hw};
    cpu_pool_run(be, &a, hw, cpu_pool_avg_forward_task);
}

static void cpu_pool_avg_backward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_pool_args *a = ctx;
    int64_t hw = a->h, p0, p1;
    cpu_pool_plane_range(a, task, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        float *d = a->din + pl * hw; /* [hw] */
        float v = a->dout[pl] / (float)hw;
        if (a->acc)
            for (int64_t i = 0; i < hw; i++)
                d[i] += v;
        else
            for (int64_t i = 0; i < hw; i++)
                d[i] = v;
    }
}

static void cpu_pool_avg_backward(pd_backend *be, float *din, const float *dout, int32_t n, int32_t c,
                                    int32_t hw, int acc)
{
    /* din [n, c, hw], dout [n, c] */
    cpu_pool_args a = {.din = din, .dout = dout, .planes = (int64_t)n * c, .h = hw, .acc = acc};
    cpu_pool_run(be, &a, hw, cpu_pool_avg_backward_task);
}

void cpu_pool_register(pd_backend *be)
{
    be->maxpool2d_forward = cpu_pool_max_forward;
    be->maxpool2d_backward = cpu_pool_max_backward;
    be->avgpool_forward = cpu_pool_avg_forward;
    be->avgpool_backward = cpu_pool_avg_backward;
}
