/* cuda_eltwise.cu — element-wise ops of the CUDA backend: fill, axpby, add, randn, noise_mix, clamp, relu,
 * leakyrelu, tanh, pad_rows (contracts in src/backend.h; CPU twin: src/cpu_eltwise.c).
 *
 * One grid-stride kernel per op (cuda_map). Each expression is written as the CPU writes it and the library
 * is compiled without FMA contraction, so these ops give the CPU's bits (tanh aside: CUDA's tanhf and
 * glibc's differ by an ulp or two). Random numbers come from rng_hash_normal (src/rng_hash.h), the one
 * definition rng_normal_at uses too. */
#include "cuda_internal.cuh"

static void cuda_eltwise_fill(pd_backend *be, float *x, int64_t n, float value)
{
    /* x [n] */
    cuda_map(be, n, [=] __device__(int64_t i) { x[i] = value; });
}

static void cuda_eltwise_axpby(pd_backend *be, float *y, float a, const float *x, float b, int64_t n)
{
    /* y [n] = a x [n] + b y; x may alias y. b == 0: y is not read (BLAS convention) */
    if (b == 0.0f)
        cuda_map(be, n, [=] __device__(int64_t i) { y[i] = a * x[i]; });
    else if (b == 1.0f)
        cuda_map(be, n, [=] __device__(int64_t i) { y[i] += a * x[i]; });
    else
        cuda_map(be, n, [=] __device__(int64_t i) { y[i] = a * x[i] + b * y[i]; });
}

static void cuda_eltwise_add(pd_backend *be, float *out, const float *a, const float *b, int64_t n)
{
    /* out [n] = a [n] + b [n]; out may alias a or b */
    cuda_map(be, n, [=] __device__(int64_t i) { out[i] = a[i] + b[i]; });
}

static void cuda_eltwise_randn(pd_backend *be, float *x, int64_t n, uint64_t seed, uint64_t offset)
{
    /* x [n] = N(0,1) at counter (seed, offset + i) */
    cuda_map(be, n, [=] __device__(int64_t i) { x[i] = rng_hash_normal(seed, offset + (uint64_t)i); });
}

static void cuda_eltwise_noise_mix(pd_backend *be, float *out, const float *x, float a, int64_t n, uint64_t seed,
                                   uint64_t offset)
{
    /* out [n] = (1 - a) x [n] + a N(0,1); out may alias x */
    cuda_map(be, n, [=] __device__(int64_t i) {
        out[i] = (1.0f - a) * x[i] + a * rng_hash_normal(seed, offset + (uint64_t)i);
    });
}

static void cuda_eltwise_clamp_forward(pd_backend *be, float *out, const float *in, float lo, float hi, int64_t n)
{
    /* out, in [n]; NaN passes through */
    cuda_map(be, n, [=] __device__(int64_t i) {
        float v = in[i];
        v = v < lo ? lo : v;
        out[i] = v > hi ? hi : v;
    });
}

static void cuda_eltwise_clamp_backward(pd_backend *be, float *din, const float *dout, const float *in, float lo,
                                        float hi, int64_t n, int acc)
{
    /* din, dout, in [n]: the gradient passes where lo <= in <= hi */
    if (acc)
        cuda_map(be, n, [=] __device__(int64_t i) {
            float v = in[i];
            din[i] += (v >= lo) & (v <= hi) ? dout[i] : 0.0f;
        });
    else
        cuda_map(be, n, [=] __device__(int64_t i) {
            float v = in[i];
            din[i] = (v >= lo) & (v <= hi) ? dout[i] : 0.0f;
        });
}

static void cuda_eltwise_relu_forward(pd_backend *be, float *out, const float *in, int64_t n)
{
    /* out, in [n]; NaN passes through */
    cuda_map(be, n, [=] __device__(int64_t i) { out[i] = in[i] < 0.0f ? 0.0f : in[i]; });
}

static void cuda_eltwise_relu_backward(pd_backend *be, float *din, const float *dout, const float *out, int64_t n,
                                       int acc)
{
    /* din, dout [n]; out [n] is the forward output */
    if (acc)
        cuda_map(be, n, [=] __device__(int64_t i) { din[i] += out[i] > 0.0f ? dout[i] : 0.0f; });
    else
        cuda_map(be, n, [=] __device__(int64_t i) { din[i] = out[i] > 0.0f ? dout[i] : 0.0f; });
}

static void cuda_eltwise_leakyrelu_forward(pd_backend *be, float *out, const float *in, float slope, int64_t n)
{
    /* out, in [n] */
    cuda_map(be, n, [=] __device__(int64_t i) {
        float v = in[i];
        float pos = v > 0.0f ? v : 0.0f, neg = v > 0.0f ? 0.0f : v;
        out[i] = pos + slope * neg;
    });
}

static void cuda_eltwise_leakyrelu_backward(pd_backend *be, float *din, const float *dout, const float *in,
                                            float slope, int64_t n, int acc)
{
    /* din, dout [n]; in [n] is the forward input */
    if (acc)
        cuda_map(be, n, [=] __device__(int64_t i) {
            float g = dout[i], pos = in[i] > 0.0f ? g : 0.0f, neg = in[i] > 0.0f ? 0.0f : g;
            din[i] += pos + slope * neg;
        });
    else
        cuda_map(be, n, [=] __device__(int64_t i) {
            float g = dout[i], pos = in[i] > 0.0f ? g : 0.0f, neg = in[i] > 0.0f ? 0.0f : g;
            din[i] = pos + slope * neg;
        });
}

static void cuda_eltwise_tanh_forward(pd_backend *be, float *out, const float *in, int64_t n)
{
    /* out, in [n] */
    cuda_map(be, n, [=] __device__(int64_t i) { out[i] = tanhf(in[i]); });
}

static void cuda_eltwise_tanh_backward(pd_backend *be, float *din, const float *dout, const float *out, int64_t n,
                                       int acc)
{
    /* din, dout [n]; out [n] is the forward output */
    if (acc)
        cuda_map(be, n, [=] __device__(int64_t i) { din[i] += dout[i] * (1.0f - out[i] * out[i]); });
    else
        cuda_map(be, n, [=] __device__(int64_t i) { din[i] = dout[i] * (1.0f - out[i] * out[i]); });
}

static void cuda_eltwise_pad_rows(pd_backend *be, float *dst, const float *src, int64_t rows, int32_t ls,
                                  int32_t ld)
{
    /* dst [rows, ld] <- src [rows, ls]: min(ls, ld) columns copied, the rest zero */
    if (ld <= 0)
        return;
    cuda_map(be, rows * ld, [=] __device__(int64_t i) {
        int64_t r = i / ld;
        int32_t j = (int32_t)(i - r * ld);
        dst[i] = j < ls ? src[r * ls + j] : 0.0f;
    });
}

void cuda_eltwise_register(pd_backend *be)
{
    be->fill = cuda_eltwise_fill;
    be->axpby = cuda_eltwise_axpby;
    be->add = cuda_eltwise_add;
    be->randn = cuda_eltwise_randn;
    be->noise_mix = cuda_eltwise_noise_mix;
    be->clamp_forward = cuda_eltwise_clamp_forward;
    be->clamp_backward = cuda_eltwise_clamp_backward;
    be->relu_forward = cuda_eltwise_relu_forward;
    be->relu_backward = cuda_eltwise_relu_backward;
    be->leakyrelu_forward = cuda_eltwise_leakyrelu_forward;
    be->leakyrelu_backward = cuda_eltwise_leakyrelu_backward;
    be->tanh_forward = cuda_eltwise_tanh_forward;
    be->tanh_backward = cuda_eltwise_tanh_backward;
    be->pad_rows = cuda_eltwise_pad_rows;
}
