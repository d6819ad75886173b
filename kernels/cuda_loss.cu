/* cuda_loss.cu — losses and predictions on the CUDA backend (contracts in src/backend.h; CPU twin:
 * src/cpu_loss.c): softmax cross-entropy, argmax, mean squared error.
 *
 * The loss and correct-count accumulators are device scalars: the batch total is reduced on the device by one
 * block in a fixed order and added there, so a training step never waits for the host. Softmax works in
 * double after subtracting the row maximum, as the CPU. argmax: the first maximum wins and NaN counts as the
 * largest value (torch.argmax), decided per lane and then across the warp with the same rule. */
#include "cuda_internal.cuh"

#define CUDA_LOSS_MSE_CHUNK 16384 /* elements per partial sum of the MSE */

/* Is (v, j) a better argmax candidate than (m, best)? NaN beats numbers, larger beats smaller, and between
 * equals (or two NaNs) the lower index wins. */
__device__ __forceinline__ bool cuda_loss_better(float v, int32_t j, float m, int32_t best)
{
    bool vn = v != v, mn = m != m;
    if (vn || mn)
        return vn && (!mn || j < best);
    return v > m || (v == m && j < best);
}

/* argmax of x [c] over a warp; every lane gets the index */
__device__ __forceinline__ int32_t cuda_loss_warp_argmax(const float *x, int32_t c, int lane)
{
    float m = 0.0f;
    int32_t best = -1;
    for (int32_t j = lane; j < c; j += 32) {
        float v = x[j];
        if (best < 0 || cuda_loss_better(v, j, m, best)) {
            m = v;
            best = j;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float om = __shfl_xor_sync(0xffffffffu, m, o);
        int32_t ob = __shfl_xor_sync(0xffffffffu, best, o);
        if (ob >= 0 && (best < 0 || cuda_loss_better(om, ob, m, best))) {
            m = om;
            best = ob;
        }
    }
    return best;
}

/* one warp per row: rowloss [r] = log sum exp - x[label], rowok [r] = argmax == label, dlogits [r] */
__global__ void cuda_loss_xent_rows_kernel(double *rowloss, int32_t *rowok, float *dlogits, const float *logits,
                                           const int32_t *labels, int32_t n, int32_t c)
{
    int32_t r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= n)
        return;
    const float *x = logits + (int64_t)r * c; /* [c] */
    int32_t label = labels[r];
    bool valid = label >= 0 && label < c;
    int32_t am = cuda_loss_warp_argmax(x, c, lane);
    float m = x[am];
    double sum = 0.0;
    for (int32_t j = lane; j < c; j += 32)
        sum += exp((double)x[j] - m);
    sum = cuda_warp_sum(sum);
    if (lane == 0) {
        /* a label out of range is a caller bug (the CPU asserts): make it loud as a NaN loss */
        rowloss[r] = valid ? log(sum) + m - x[label] : __longlong_as_double(0x7ff8000000000000LL);
        rowok[r] = am == label;
    }
    if (dlogits) {
        double inv_n = 1.0 / n, scale = inv_n / sum;
        float *d = dlogits + (int64_t)r * c; /* [c] */
        for (int32_t j = lane; j < c; j += 32)
            d[j] = (float)(exp((double)x[j] - m) * scale - (j == label ? inv_n : 0.0));
    }
}

/* one block: loss_acc += mean of rowloss [n]; correct_acc += sum of rowok [n] (may be NULL) */
__global__ void cuda_loss_xent_total_kernel(float *loss_acc, int32_t *correct_acc, const double *rowloss,
                                            const int32_t *rowok, int32_t n)
{
    __shared__ double shared[32];
    __shared__ int32_t ishared[32];
    double s = 0.0;
    int32_t ok = 0;
    for (int32_t r = threadIdx.x; r < n; r += blockDim.x) {
        s += rowloss[r];
        ok += rowok[r];
    }
    s = cuda_block_sum(s, shared);
    ok = cuda_block_sum(ok, ishared);
    if (threadIdx.x == 0) {
        *loss_acc += (float)(s * (1.0 / n));
        if (correct_acc)
            *correct_acc += ok;
    }
}

static void cuda_loss_softmax_xent(pd_backend *be, float *loss_acc, int32_t *correct_acc, float *dlogits,
                                   const float *logits, const int32_t *labels, int32_t n, int32_t c)
{
    /* loss_acc [1] +=, correct_acc [1] += or NULL, dlogits [n, c] or NULL, logits [n, c], labels [n] */
    if (n <= 0 || c <= 0)
        return;
    cudaStream_t st = cuda_of(be)->stream;
    char *scratch = (char *)cuda_scratch(be, (size_t)n * (sizeof(double) + sizeof(int32_t)));
    double *rowloss = (double *)scratch;
    int32_t *rowok = (int32_t *)(scratch + (size_t)n * sizeof(double));
    cuda_loss_xent_rows_kernel<<<(unsigned)((n + 7) / 8), 256, 0, st>>>(rowloss, rowok, dlogits, logits, labels, n,
                                                                         c);
    CUDA_LAUNCHED();
    cuda_loss_xent_total_kernel<<<1, 1024, 0, st>>>(loss_acc, correct_acc, rowloss, rowok, n);
    CUDA_LAUNCHED();
}

__global__ void cuda_loss_argmax_kernel(int32_t *pred, const float *logits, int32_t n, int32_t c)
{
    int32_t r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (r >= n)
        return;
    int32_t am = cuda_loss_warp_argmax(logits + (int64_t)r * c, c, lane);
    if (lane == 0)
        pred[r] = am;
}

static void cuda_loss_argmax(pd_backend *be, int32_t *pred, const float *logits, int32_t n, int32_t c)
{
    /* pred [n], logits [n, c] */
    if (n <= 0 || c <= 0)
        return;
    cuda_loss_argmax_kernel<<<(unsigned)((n + 7) / 8), 256, 0, cuda_of(be)->stream>>>(pred, logits, n, c);
    CUDA_LAUNCHED();
}

/* block b: part [b] = sum of squares over chunk b; dpred over the chunk */
__global__ void cuda_loss_mse_part_kernel(double *part, float *dpred, const float *pred, const float *target,
                                          int64_t n, float scale)
{
    __shared__ double shared[32];
    int64_t lo = (int64_t)blockIdx.x * CUDA_LOSS_MSE_CHUNK;
    int64_t hi = lo + CUDA_LOSS_MSE_CHUNK < n ? lo + CUDA_LOSS_MSE_CHUNK : n;
    double s = 0.0;
    for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        float d = pred[i] - target[i];
        s += (double)d * d;
        if (dpred)
            dpred[i] = scale * d;
    }
    s = cuda_block_sum(s, shared);
    if (threadIdx.x == 0)
        part[blockIdx.x] = s;
}

__global__ void cuda_loss_mse_total_kernel(float *loss_acc, const double *part, int64_t chunks, int64_t n)
{
    __shared__ double shared[32];
    double s = 0.0;
    for (int64_t t = threadIdx.x; t < chunks; t += blockDim.x)
        s += part[t];
    s = cuda_block_sum(s, shared);
    if (threadIdx.x == 0)
        *loss_acc += (float)(s / (double)n);
}

static void cuda_loss_mse(pd_backend *be, float *loss_acc, float *dpred, const float *pred, const float *target,
                          int64_t n)
{
    /* loss_acc [1] += mean (pred - target)^2; dpred [n] = 2 (pred - target) / n or NULL; pred, target [n] */
    if (n <= 0)
        return;
    cudaStream_t st = cuda_of(be)->stream;
    int64_t chunks = (n + CUDA_LOSS_MSE_CHUNK - 1) / CUDA_LOSS_MSE_CHUNK;
    double *part = (double *)cuda_scratch(be, (size_t)chunks * sizeof(double));
    cuda_loss_mse_part_kernel<<<(unsigned)chunks, 256, 0, st>>>(part, dpred, pred, target, n,
                                                                 (float)(2.0 / (double)n));
    CUDA_LAUNCHED();
    cuda_loss_mse_total_kernel<<<1, 1024, 0, st>>>(loss_acc, part, chunks, n);
    CUDA_LAUNCHED();
}

void cuda_loss_register(pd_backend *be)
{
    be->softmax_xent = cuda_loss_softmax_xent;
    be->argmax = cuda_loss_argmax;
    be->mse = cuda_loss_mse;
}
