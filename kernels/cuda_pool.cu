/* cuda_pool.cu — pooling on the CUDA backend (contracts in src/backend.h; CPU twin: src/cpu_pool.c):
 * 2x2/2 max-pool with argmax indices (first maximum wins and NaN propagates, as PyTorch) and global average
 * pooling.
 *
 * Max-pool windows do not overlap, so the backward pass is a gather: every input element looks at the one
 * window that contains it. Average pooling uses one warp per plane. */
#include "cuda_internal.cuh"

static void cuda_pool_max_forward(pd_backend *be, float *out, int32_t *arg, const float *in, int32_t n, int32_t c,
                                  int32_t h, int32_t w)
{
    /* out, arg [n, c, h/2, w/2], in [n, c, h, w]; arg = index of the max inside the input plane */
    int32_t ho = h / 2, wo = w / 2;
    if (ho <= 0 || wo <= 0)
        return;
    cuda_map(be, (int64_t)n * c * ho * wo, [=] __device__(int64_t e) {
        int32_t ox = (int32_t)(e % wo), oy = (int32_t)((e / wo) % ho);
        int64_t pl = e / ((int64_t)wo * ho);
        const float *r0 = in + pl * h * w + (int64_t)2 * oy * w, *r1 = r0 + w;
        float m = r0[2 * ox], v;
        int32_t k = 0;
        bool t;
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
        out[e] = m;
        arg[e] = 2 * oy * w + 2 * ox + k;
    });
}

static void cuda_pool_max_backward(pd_backend *be, float *din, const float *dout, const int32_t *arg, int32_t n,
                                   int32_t c, int32_t h, int32_t w, int acc)
{
    /* din [n, c, h, w], dout, arg [n, c, h/2, w/2] */
    int32_t ho = h / 2, wo = w / 2;
    cuda_map(be, (int64_t)n * c * h * w, [=] __device__(int64_t e) {
        int32_t x = (int32_t)(e % w), y = (int32_t)((e / w) % h);
        int64_t pl = e / ((int64_t)w * h);
        float v = 0.0f;
        if (y / 2 < ho && x / 2 < wo) {
            int64_t o = (pl * ho + y / 2) * wo + x / 2;
            v = arg[o] == y * w + x ? dout[o] : 0.0f;
        }
        din[e] = acc ? din[e] + v : v;
    });
}

/* out [plane] = mean of in [plane, hw], one warp per plane, double sums */
__global__ void cuda_pool_avg_forward_kernel(float *out, const float *in, int64_t planes, int32_t hw)
{
    int64_t pl = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (pl >= planes)
        return;
    const float *x = in + pl * hw;
    double s = 0.0;
    for (int32_t j = lane; j < hw; j += 32)
        s += x[j];
    s = cuda_warp_sum(s);
    if (lane == 0)
        out[pl] = (float)(s / (double)hw);
}

static void cuda_pool_avg_forward(pd_backend *be, float *out, const float *in, int32_t n, int32_t c, int32_t hw)
{
    /* out [n, c], in [n, c, hw] */
    int64_t planes = (int64_t)n * c;
    if (planes <= 0)
        return;
    unsigned blocks = (unsigned)((planes + 7) / 8);
    cuda_pool_avg_forward_kernel<<<blocks, 256, 0, cuda_of(be)->stream>>>(out, in, planes, hw);
    CUDA_LAUNCHED();
}

static void cuda_pool_avg_backward(pd_backend *be, float *din, const float *dout, int32_t n, int32_t c,
                                   int32_t hw, int acc)
{
    /* din [n, c, hw] = dout [n, c] / hw broadcast */
    cuda_map(be, (int64_t)n * c * hw, [=] __device__(int64_t e) {
        float v = dout[e / hw] / (float)hw;
        din[e] = acc ? din[e] + v : v;
    });
}

void cuda_pool_register(pd_backend *be)
{
    be->maxpool2d_forward = cuda_pool_max_forward;
    be->maxpool2d_backward = cuda_pool_max_backward;
    be->avgpool_forward = cuda_pool_avg_forward;
    be->avgpool_backward = cuda_pool_avg_backward;
}
