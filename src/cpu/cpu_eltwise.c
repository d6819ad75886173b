/* cpu_eltwise.c — element-wise ops of the CPU backend: fill, axpby, add, randn, noise_mix, clamp, relu,
 * leakyrelu, tanh, pad_rows (contracts in backend.h).
 *
 * Every op is a kernel over an index range [lo, hi) plus a thin wrapper. Large arrays are cut into fixed
 * chunks of CPU_ELTWISE_CHUNK elements run on the thread pool; every element is computed independently, so
 * the result never depends on the thread count. Loops are written so that GCC vectorises them. */
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "rng.h"

#define CPU_ELTWISE_CHUNK ((int64_t)1 << 15)
/* below these sizes the pool's wake-up costs more than it saves */
#define CPU_ELTWISE_CHEAP_MIN ((int64_t)1 << 17)
#define CPU_ELTWISE_COSTLY_MIN ((int64_t)1 << 13)

typedef struct {
    float *out;      /* [n] */
    const float *x;  /* [n] */
    const float *y;  /* [n] */
    float a, b;
    uint64_t seed, offset;
    int acc;
} cpu_eltwise_args;

typedef void (*cpu_eltwise_kernel)(const cpu_eltwise_args *a, int64_t lo, int64_t hi);

typedef struct {
    const cpu_eltwise_args *args;
    cpu_eltwise_kernel kernel;
    int64_t n;
} cpu_eltwise_job;

static void cpu_eltwise_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_eltwise_job *job = ctx;
    int64_t lo = task * CPU_ELTWISE_CHUNK;
    int64_t hi = lo + CPU_ELTWISE_CHUNK < job->n ? lo + CPU_ELTWISE_CHUNK : job->n;
    job->kernel(job->args, lo, hi);
}

/* Run kernel over [0, n), in parallel chunks when n >= min_parallel. */
static void cpu_eltwise_run(pd_backend *be, cpu_eltwise_kernel kernel, const cpu_eltwise_args *args, int64_t n,
                            int64_t min_parallel)
{
    if (n <= 0)
        return;
    if (be->threads <= 1 || n < min_parallel) {
        kernel(args, 0, n);
        return;
    }
    cpu_eltwise_job job = {.args = args, .kernel = kernel, .n = n};
    cpu_parallel_for(be, (n + CPU_ELTWISE_CHUNK - 1) / CPU_ELTWISE_CHUNK, cpu_eltwise_task, &job);
}

/* ---- fill, axpby, add --------------------------------------------------------------------------------- */

static void cpu_eltwise_fill_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out; /* [n] */
    float v = a->a;
    for (int64_t i = lo; i < hi; i++)
        out[i] = v;
}

static void cpu_eltwise_fill(pd_backend *be, float *x, int64_t n, float value)
{
    cpu_eltwise_args a = {.out = x, .a = value};
    cpu_eltwise_run(be, cpu_eltwise_fill_kernel, &a, n, CPU_ELTWISE_CHEAP_MIN);
}

static void cpu_eltwise_axpby_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *y = a->out;      /* [n] */
    const float *x = a->x;  /* [n], may alias y */
    float sa = a->a, sb = a->b;
    if (sb == 0.0f) { /* BLAS convention: y is not read, so it may hold garbage */
        for (int64_t i = lo; i < hi; i++)
            y[i] = sa * x[i];
    } else if (sb == 1.0f) {
        for (int64_t i = lo; i < hi; i++)
            y[i] += sa * x[i];
    } else {
        for (int64_t i = lo; i < hi; i++)
            y[i] = sa * x[i] + sb * y[i];
    }
}

static void cpu_eltwise_axpby(pd_backend *be, float *y, float a, const float *x, float b, int64_t n)
{
    cpu_eltwise_args args = {.out = y, .x = x, .a = a, .b = b};
    cpu_eltwise_run(be, cpu_eltwise_axpby_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

static void cpu_eltwise_add_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out;    /* [n], may alias x or y */
    const float *x = a->x;  /* [n] */
    const float *y = a->y;  /* [n] */
    for (int64_t i = lo; i < hi; i++)
        out[i] = x[i] + y[i];
}

static void cpu_eltwise_add(pd_backend *be, float *out, const float *a, const float *b, int64_t n)
{
    cpu_eltwise_args args = {.out = out, .x = a, .y = b};
    cpu_eltwise_run(be, cpu_eltwise_add_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

/* ---- random ------------------------------------------------------------------------------------------ */

static void cpu_eltwise_randn_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out; /* [n] */
    for (int64_t i = lo; i < hi; i++)
        out[i] = rng_normal_at(a->seed, a->offset + (uint64_t)i);
}

static void cpu_eltwise_randn(pd_backend *be, float *x, int64_t n, uint64_t seed, uint64_t offset)
{
    cpu_eltwise_args args = {.out = x, .seed = seed, .offset = offset};
    cpu_eltwise_run(be, cpu_eltwise_randn_kernel, &args, n, CPU_ELTWISE_COSTLY_MIN);
}

static void cpu_eltwise_noise_mix_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out;    /* [n], may alias x */
    const float *x = a->x;  /* [n] */
    float s = a->a;
    for (int64_t i = lo; i < hi; i++)
        out[i] = (1.0f - s) * x[i] + s * rng_normal_at(a->seed, a->offset + (uint64_t)i);
}

static void cpu_eltwise_noise_mix(pd_backend *be, float *out, const float *x, float a, int64_t n, uint64_t seed,
                                  uint64_t offset)
{
    cpu_eltwise_args args = {.out = out, .x = x, .a = a, .seed = seed, .offset = offset};
    cpu_eltwise_run(be, cpu_eltwise_noise_mix_kernel, &args, n, CPU_ELTWISE_COSTLY_MIN);
}

/* ---- clamp ------------------------------------------------------------------------------------------- */

static void cpu_eltwise_clamp_forward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out;    /* [n] */
    const float *in = a->x; /* [n] */
    float l = a->a, h = a->b;
    for (int64_t i = lo; i < hi; i++) { /* NaN passes through, as in PyTorch */
        float v = in[i];
        v = v < l ? l : v;
        out[i] = v > h ? h : v;
    }
}

static void cpu_eltwise_clamp_forward(pd_backend *be, float *out, const float *in, float lo, float hi, int64_t n)
{
    cpu_eltwise_args args = {.out = out, .x = in, .a = lo, .b = hi};
    cpu_eltwise_run(be, cpu_eltwise_clamp_forward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

static void cpu_eltwise_clamp_backward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *din = a->out;      /* [n] */
    const float *dout = a->x; /* [n] */
    const float *in = a->y;   /* [n] */
    float l = a->a, h = a->b;
    if (a->acc) {
        for (int64_t i = lo; i < hi; i++) {
            float g = dout[i], v = in[i];
            din[i] += ((v >= l) & (v <= h)) ? g : 0.0f;
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            float g = dout[i], v = in[i];
            din[i] = ((v >= l) & (v <= h)) ? g : 0.0f;
        }
    }
}

static void cpu_eltwise_clamp_backward(pd_backend *be, float *din, const float *dout, const float *in, float lo,
                                       float hi, int64_t n, int acc)
{
    cpu_eltwise_args args = {.out = din, .x = dout, .y = in, .a = lo, .b = hi, .acc = acc};
    cpu_eltwise_run(be, cpu_eltwise_clamp_backward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

/* ---- relu, leaky relu -------------------------------------------------------------------------------- */

static void cpu_eltwise_relu_forward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out;    /* [n] */
    const float *in = a->x; /* [n] */
    for (int64_t i = lo; i < hi; i++)
        out[i] = in[i] < 0.0f ? 0.0f : in[i]; /* NaN passes through */
}

static void cpu_eltwise_relu_forward(pd_backend *be, float *out, const float *in, int64_t n)
{
    cpu_eltwise_args args = {.out = out, .x = in};
    cpu_eltwise_run(be, cpu_eltwise_relu_forward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

static void cpu_eltwise_relu_backward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *din = a->out;      /* [n] */
    const float *dout = a->x; /* [n] */
    const float *out = a->y;  /* [n] forward output */
    if (a->acc) {
        for (int64_t i = lo; i < hi; i++) {
            float g = dout[i];
            din[i] += out[i] > 0.0f ? g : 0.0f;
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            float g = dout[i];
            din[i] = out[i] > 0.0f ? g : 0.0f;
        }
    }
}

static void cpu_eltwise_relu_backward(pd_backend *be, float *din, const float *dout, const float *out, int64_t n,
                                      int acc)
{
    cpu_eltwise_args args = {.out = din, .x = dout, .y = out, .acc = acc};
    cpu_eltwise_run(be, cpu_eltwise_relu_backward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

static void cpu_eltwise_leakyrelu_forward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out;    /* [n] */
    const float *in = a->x; /* [n] */
    float s = a->a;
    for (int64_t i = lo; i < hi; i++) {
        float v = in[i];
        float pos = v > 0.0f ? v : 0.0f, neg = v > 0.0f ? 0.0f : v; /* two selects: the loop vectorises */
        out[i] = pos + s * neg;
    }
}

static void cpu_eltwise_leakyrelu_forward(pd_backend *be, float *out, const float *in, float slope, int64_t n)
{
    cpu_eltwise_args args = {.out = out, .x = in, .a = slope};
    cpu_eltwise_run(be, cpu_eltwise_leakyrelu_forward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

static void cpu_eltwise_leakyrelu_backward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *din = a->out;      /* [n] */
    const float *dout = a->x; /* [n] */
    const float *in = a->y;   /* [n] forward input */
    float s = a->a;
    if (a->acc) {
        for (int64_t i = lo; i < hi; i++) {
            float g = dout[i], pos = in[i] > 0.0f ? g : 0.0f, neg = in[i] > 0.0f ? 0.0f : g;
            din[i] += pos + s * neg;
        }
    } else {
        for (int64_t i = lo; i < hi; i++) {
            float g = dout[i], pos = in[i] > 0.0f ? g : 0.0f, neg = in[i] > 0.0f ? 0.0f : g;
            din[i] = pos + s * neg;
        }
    }
}

static void cpu_eltwise_leakyrelu_backward(pd_backend *be, float *din, const float *dout, const float *in,
                                           float slope, int64_t n, int acc)
{
    cpu_eltwise_args args = {.out = din, .x = dout, .y = in, .a = slope, .acc = acc};
    cpu_eltwise_run(be, cpu_eltwise_leakyrelu_backward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

/* ---- tanh -------------------------------------------------------------------------------------------- */

static void cpu_eltwise_tanh_forward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *out = a->out;    /* [n] */
    const float *in = a->x; /* [n] */
    for (int64_t i = lo; i < hi; i++)
        out[i] = tanhf(in[i]);
}

static void cpu_eltwise_tanh_forward(pd_backend *be, float *out, const float *in, int64_t n)
{
    cpu_eltwise_args args = {.out = out, .x = in};
    cpu_eltwise_run(be, cpu_eltwise_tanh_forward_kernel, &args, n, CPU_ELTWISE_COSTLY_MIN);
}

static void cpu_eltwise_tanh_backward_kernel(const cpu_eltwise_args *a, int64_t lo, int64_t hi)
{
    float *din = a->out;      /* [n] */
    const float *dout = a->x; /* [n] */
    const float *out = a->y;  /* [n] forward output */
    if (a->acc) {
        for (int64_t i = lo; i < hi; i++)
            din[i] += dout[i] * (1.0f - out[i] * out[i]);
    } else {
        for (int64_t i = lo; i < hi; i++)
            din[i] = dout[i] * (1.0f - out[i] * out[i]);
    }
}

static void cpu_eltwise_tanh_backward(pd_backend *be, float *din, const float *dout, const float *out, int64_t n,
                                      int acc)
{
    cpu_eltwise_args args = {.out = din, .x = dout, .y = out, .acc = acc};
    cpu_eltwise_run(be, cpu_eltwise_tanh_backward_kernel, &args, n, CPU_ELTWISE_CHEAP_MIN);
}

/* ---- pad_rows ---------------------------------------------------------------------------------------- */

static void cpu_eltwise_pad_rows(pd_backend *be, float *dst, const float *src, int64_t rows, int32_t ls,
                                 int32_t ld)
{
    (void)be;
    /* dst [rows, ld], src [rows, ls] */
    int32_t keep = ls < ld ? ls : ld;
    for (int64_t r = 0; r < rows; r++) {
        float *d = dst + r * ld;
        if (keep > 0)
            memcpy(d, src + r * ls, (size_t)keep * sizeof(float));
        for (int32_t j = keep; j < ld; j++)
            d[j] = 0.0f;
    }
}

void cpu_eltwise_register(pd_backend *be)
{
    be->fill = cpu_eltwise_fill;
    be->axpby = cpu_eltwise_axpby;
    be->add = cpu_eltwise_add;
    be->randn = cpu_eltwise_randn;
    be->noise_mix = cpu_eltwise_noise_mix;
    be->clamp_forward = cpu_eltwise_clamp_forward;
    be->clamp_backward = cpu_eltwise_clamp_backward;
    be->relu_forward = cpu_eltwise_relu_forward;
    be->relu_backward = cpu_eltwise_relu_backward;
    be->leakyrelu_forward = cpu_eltwise_leakyrelu_forward;
    be->leakyrelu_backward = cpu_eltwise_leakyrelu_backward;
    be->tanh_forward = cpu_eltwise_tanh_forward;
    be->tanh_backward = cpu_eltwise_tanh_backward;
    be->pad_rows = cpu_eltwise_pad_rows;
}
