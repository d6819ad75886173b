/* cuda_normact.cu — "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" as one op on the CUDA backend
 * (norm_act_forward / norm_act_backward, contracts in src/backend.h; CPU twin: src/cpu_normact.c).
 *
 * One warp per row of length l (rows = n c), as cuda_norm.cu's instance norm. The block input
 * s = in + table[t[b]] and u = LeakyReLU(s) are recomputed wherever they are needed, so neither is kept.
 * When the embedding table's gradient is wanted, ds goes to scratch first and then through temb_backward's
 * reduction (cuda_temb_table_grad: channels in order, then samples in order, no atomics). */
#include "cuda_internal.cuh"

#define CUDA_NORMACT_ROWS 8 /* rows (warps) per block */

/* s and u at position j of a row: x the row of in, e the row of the table (NULL: none) */
__device__ __forceinline__ float cuda_normact_s(const float *x, const float *e, int32_t j)
{
    return e ? x[j] + e[j] : x[j];
}

__device__ __forceinline__ float cuda_normact_u(float s, int lead, float slope)
{
    if (!lead)
        return s;
    float pos = s > 0.0f ? s : 0.0f, neg = s > 0.0f ? 0.0f : s; /* leakyrelu_forward's expression */
    return pos + slope * neg;
}

/* out [rows, l] = instnorm(u); save_mean, save_rstd [rows]; table [T, l] and t [n] or NULL; c: rows per sample */
__global__ void cuda_normact_forward_kernel(float *out, const float *in, const float *table, const int32_t *t,
                                            float *save_mean, float *save_rstd, int64_t rows, int32_t c, int32_t l,
                                            int lead, float slope, float eps)
{
    int64_t row = (int64_t)blockIdx.x * CUDA_NORMACT_ROWS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= rows)
        return; /* the whole warp leaves together: only warp-level sync below */
    const float *x = in + row * l;                                    /* [l] */
    const float *e = table ? table + (int64_t)t[row / c] * l : NULL; /* [l] */
    float *y = out + row * l;                                         /* [l] */
    float sum = 0.0f;
    for (int32_t j = lane; j < l; j += 32)
        sum += cuda_normact_u(cuda_normact_s(x, e, j), lead, slope);
    float mean = cuda_warp_sum(sum) / (float)l;
    float q = 0.0f;
    for (int32_t j = lane; j < l; j += 32) {
        float d = cuda_normact_u(cuda_normact_s(x, e, j), lead, slope) - mean;
        q += d * d;
    }
    float var = cuda_warp_sum(q) / (float)l;
    float rstd = 1.0f / sqrtf(var + eps);
    for (int32_t j = lane; j < l; j += 32)
        y[j] = (cuda_normact_u(cuda_normact_s(x, e, j), lead, slope) - mean) * rstd;
    if (lane == 0) {
        save_mean[row] = mean;
        save_rstd[row] = rstd;
    }
}

/* ds [rows, l] (written, or added when acc; may alias dout) = gradient of s from dout [rows, l] */
__global__ void cuda_normact_backward_kernel(float *ds, const float *dout, const float *in, const float *table,
                                             const int32_t *t, const float *save_mean, const float *save_rstd,
                                             int64_t rows, int32_t c, int32_t l, int lead, float slope, int acc)
{
    int64_t row = (int64_t)blockIdx.x * CUDA_NORMACT_ROWS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= rows)
        return;
    const float *x = in + row * l;
    const float *e = table ? table + (int64_t)t[row / c] * l : NULL;
    const float *g = dout + row * l;
    float *dx = ds + row * l;
    float mean = save_mean[row], rstd = save_rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int32_t j = lane; j < l; j += 32) {
        float u = cuda_normact_u(cuda_normact_s(x, e, j), lead, slope);
        sg += g[j];
        sgx += g[j] * ((u - mean) * rstd);
    }
    float mg = cuda_warp_sum(sg) / (float)l, mgx = cuda_warp_sum(sgx) / (float)l;
    for (int32_t j = lane; j < l; j += 32) {
        float s = cuda_normact_s(x, e, j);
        float u = cuda_normact_u(s, lead, slope);
        float v = rstd * (g[j] - mg - (u - mean) * rstd * mgx); /* d u */
        if (lead) {                                              /* leakyrelu_backward's expression */
            float pos = s > 0.0f ? v : 0.0f, neg = s > 0.0f ? 0.0f : v;
            v = pos + slope * neg;
        }
        dx[j] = acc ? dx[j] + v : v;
    }
}

static void cuda_normact_forward(pd_backend *be, float *out, const float *in, const float *table, const int32_t *t,
                                 float *save_mean, float *save_rstd, int32_t n, int32_t c, int32_t l, int lead,
                                 float slope, float eps)
{
    int64_t rows = (int64_t)n * c;
    if (rows <= 0 || l <= 0)
        return;
    unsigned blocks = (unsigned)((rows + CUDA_NORMACT_ROWS - 1) / CUDA_NORMACT_ROWS);
    cuda_normact_forward_kernel<<<blocks, 32 * CUDA_NORMACT_ROWS, 0, cuda_of(be)->stream>>>(
        out, in, table && t ? table : NULL, t, save_mean, save_rstd, rows, c, l, lead, slope, eps);
    CUDA_LAUNCHED();
}

static void cuda_normact_backward(pd_backend *be, float *din, float *dtable, const float *dout, const float *in,
                                  const float *table, const int32_t *t, const float *save_mean,
                                  const float *save_rstd, int32_t n, int32_t c, int32_t l, int lead, float slope,
                                  int acc)
{
    int64_t rows = (int64_t)n * c;
    if (rows <= 0 || l <= 0 || (!din && !dtable))
        return;
    const float *tab = table && t ? table : NULL;
    unsigned blocks = (unsigned)((rows + CUDA_NORMACT_ROWS - 1) / CUDA_NORMACT_ROWS);
    if (!dtable) {
        cuda_normact_backward_kernel<<<blocks, 32 * CUDA_NORMACT_ROWS, 0, cuda_of(be)->stream>>>(
            din, dout, in, tab, t, save_mean, save_rstd, rows, c, l, lead, slope, acc);
        CUDA_LAUNCHED();
        return;
    }
    /* ds [n, c, l] and the table gradient's scratch in one block */
    float *ds = (float *)cuda_scratch(be, (size_t)(rows * l + cuda_temb_scratch_floats(n, l)) * sizeof(float));
    float *sums = ds + rows * l;
    cuda_normact_backward_kernel<<<blocks, 32 * CUDA_NORMACT_ROWS, 0, cuda_of(be)->stream>>>(
        ds, dout, in, tab, t, save_mean, save_rstd, rows, c, l, lead, slope, 0);
    CUDA_LAUNCHED();
    cuda_temb_table_grad(be, dtable, ds, t, n, c, l, sums);
    if (!din)
        return;
    if (acc)
        cuda_map(be, rows * l, [=] __device__(int64_t e) { din[e] += ds[e]; });
    else
        CUDA_CHECK(cudaMemcpyAsync(din, ds, (size_t)(rows * l) * sizeof(float), cudaMemcpyDeviceToDevice,
                                   cuda_of(be)->stream));
}

void cuda_normact_register(pd_backend *be)
{
    be->norm_act_forward = cuda_normact_forward;
    be->norm_act_backward = cuda_normact_backward;
}
