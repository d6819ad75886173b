/* cuda_norm.cu — normalisation on the CUDA backend: BatchNorm2d and InstanceNorm1d (contracts in
 * src/backend.h; CPU twins: src/cpu_batchnorm.c, src/cpu_instnorm.c), BatchNorm -> ReLU (-> max-pool) as one op,
 * the evaluator's fused eval-mode BatchNorm + ReLU + max-pool, and cuda_channel_sums (the convolutions' bias
 * gradient).
 *
 * Per-channel reductions over [n, c, len] tensors run in two stages: a grid of (slice, channel) blocks sums
 * a fixed slice of the channel's n len values each (double accumulators, a fixed reduction tree), then one
 * thread per channel adds the slices in order and finishes the statistics. The slice count depends only on
 * the shape, so results repeat run to run. Like the CPU, the batch moments are taken around one value of the
 * channel (sample 0's first) so the variance does not cancel when the mean is large; the batch variance
 * normalises biased and enters the running variance unbiased (PyTorch).
 * InstanceNorm normalises rows of length l: one warp per row, float sums as the CPU's. Both forward passes may
 * run in place (out == in). */
#include "cuda_internal.cuh"

#define CUDA_NORM_SLICE 16384 /* values per reduction block, about */
#define CUDA_NORM_MAX_SLICES 64

/* ---- two-stage per-channel reduction ------------------------------------------------------------------- */

static int32_t cuda_norm_slices(int64_t count)
{
    int64_t s = (count + CUDA_NORM_SLICE - 1) / CUDA_NORM_SLICE;
    return (int32_t)(s < 1 ? 1 : (s > CUDA_NORM_MAX_SLICES ? CUDA_NORM_MAX_SLICES : s));
}

/* part [c, slices, 2] = sums over slice blockIdx.x of channel blockIdx.y of the two values f adds up;
 * f(idx, ch, &a, &b) with idx the flat index into [n, c, len]. Narrow: every index of a channel's n len values
 * fits 32 bits, and the split into sample and position is a fastdiv (a 64-bit division per value made the
 * small reductions of the AE's bias gradients latency-bound). The unrolled loop keeps each thread's additions in
 * the same order; only the loads of several values may be in flight at once. */
template <bool Narrow, typename F>
__global__ void cuda_norm_partials_kernel(double *part, int32_t c, int64_t len, pd_fastdiv dlen, int64_t count,
                                          int32_t slices, F f)
{
    __shared__ double shared[32];
    int32_t sl = blockIdx.x, ch = blockIdx.y;
    int64_t e0 = count * sl / slices, e1 = count * (sl + 1) / slices;
    double a = 0.0, b = 0.0;
#pragma unroll 4
    for (int64_t e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
        int64_t smp, j;
        if (Narrow) {
            uint32_t r;
            smp = pd_fastdiv_divmod(dlen, (uint32_t)e, &r);
            j = r;
        } else {
            smp = e / len;
            j = e - smp * len;
        }
        f((smp * c + ch) * len + j, ch, a, b);
    }
    a = cuda_block_sum(a, shared);
    b = cuda_block_sum(b, shared);
    if (threadIdx.x == 0) {
        part[((int64_t)ch * slices + sl) * 2] = a;
        part[((int64_t)ch * slices + sl) * 2 + 1] = b;
    }
}

template <typename F>
static void cuda_norm_partials(pd_backend *be, double *part, int32_t n, int32_t c, int64_t len, int32_t slices, F f)
{
    dim3 grid((unsigned)slices, (unsigned)c);
    int64_t count = (int64_t)n * len;
    cudaStream_t st = cuda_of(be)->stream;
    if (count <= (int64_t)UINT32_MAX) {
        pd_fastdiv dlen = pd_fastdiv_make((uint32_t)len);
        cuda_norm_partials_kernel<true><<<grid, CUDA_THREADS, 0, st>>>(part, c, len, dlen, count, slices, f);
    } else {
        cuda_norm_partials_kernel<false><<<grid, CUDA_THREADS, 0, st>>>(part, c, len, pd_fastdiv_make(1), count,
                                                                        slices, f);
    }
    CUDA_LAUNCHED();
}

/* s1, s2 = the slices of channel ch added in order */
__device__ __forceinline__ void cuda_norm_total(const double *part, int32_t ch, int32_t slices, double *s1,
                                                double *s2)
{
    double a = 0.0, b = 0.0;
    for (int32_t s = 0; s < slices; s++) {
        a += part[((int64_t)ch * slices + s) * 2];
        b += part[((int64_t)ch * slices + s) * 2 + 1];
    }
    *s1 = a;
    *s2 = b;
}

void cuda_channel_sums(pd_backend *be, float *db, const float *t, int32_t n, int32_t c, int64_t len)
{
    /* db [c] += sum over n, len of t [n, c, len] */
    if (n <= 0 || c <= 0 || len <= 0)
        return;
    int32_t slices = cuda_norm_slices((int64_t)n * len);
    double *part = (double *)cuda_scratch(be, (size_t)c * slices * 2 * sizeof(double));
    cuda_norm_partials(be, part, n, c, len, slices,
                       [=] __device__(int64_t idx, int32_t ch, double &a, double &b) { a += t[idx]; });
    cuda_map(be, c, [=] __device__(int64_t ch) {
        double s1, s2;
        cuda_norm_total(part, (int32_t)ch, slices, &s1, &s2);
        db[ch] += (float)s1;
    });
}

/* ---- BatchNorm2d --------------------------------------------------------------------------------------- */

static void cuda_batchnorm_forward(pd_backend *be, float *out, const float *in, const float *gamma,
                                   const float *beta, float *run_mean, float *run_var, float *save_mean,
                                   float *save_rstd, int32_t n, int32_t c, int32_t hw, int train, float momentum,
                                   float eps)
{
    /* out, in [n, c, hw]; gamma, beta, run_mean, run_var, save_mean, save_rstd [c] */
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    int64_t count = (int64_t)n * hw;
    int32_t slices = cuda_norm_slices(count);
    size_t part_bytes = (size_t)c * slices * 2 * sizeof(double);
    char *scratch = (char *)cuda_scratch(be, part_bytes + 2 * (size_t)c * sizeof(float));
    double *part = (double *)scratch;
    float *ka = (float *)(scratch + part_bytes), *kb = ka + c; /* [c] each */
    if (train) {
        cuda_norm_partials(be, part, n, c, hw, slices,
                           [=] __device__(int64_t idx, int32_t ch, double &a, double &b) {
                               double d = (double)in[idx] - (double)in[(int64_t)ch * hw];
                               a += d;
                               b += d * d;
                           });
        cuda_map(be, c, [=] __device__(int64_t ch) {
            double s1, s2;
            cuda_norm_total(part, (int32_t)ch, slices, &s1, &s2);
            double dm = s1 / (double)count;
            double ss = s2 - s1 * dm; /* sum of squared deviations from the mean */
            ss = ss > 0.0 ? ss : 0.0;
            double var = ss / (double)count, uvar = count > 1 ? ss / (double)(count - 1) : var;
            float mean = (float)((double)in[ch * hw] + dm);
            float rstd = (float)(1.0 / sqrt(var + (double)eps));
            run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mean;
            run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (float)uvar;
            save_mean[ch] = mean;
            save_rstd[ch] = rstd;
            ka[ch] = gamma[ch] * rstd;
            kb[ch] = beta[ch];
        });
    } else {
        cuda_map(be, c, [=] __device__(int64_t ch) {
            float rstd = (float)(1.0 / sqrt((double)run_var[ch] + (double)eps));
            save_mean[ch] = run_mean[ch];
            save_rstd[ch] = rstd;
            ka[ch] = gamma[ch] * rstd;
            kb[ch] = beta[ch];
        });
    }
    const float *mean = save_mean;
    cuda_map(be, (int64_t)n * c * hw, [=] __device__(int64_t e) {
        int64_t ch = (e / hw) % c;
        out[e] = (in[e] - mean[ch]) * ka[ch] + kb[ch];
    });
}

/* The BatchNorm2d backward given dy(e, k), the gradient reaching the BatchNorm output at element e (k [c] =
 * gamma rstd, the forward's scale): dout itself for batchnorm2d_backward, dout sent back through ReLU and pool
 * for bn_relu_backward. din [n, c, hw] or NULL, dgamma, dbeta [c] +=; in [n, c, hw], gamma, save_* [c]. */
template <typename DY>
static void cuda_bn_backward_dy(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *in,
                                const float *gamma, const float *save_mean, const float *save_rstd, int32_t n,
                                int32_t c, int64_t hw, int train, int acc, DY dy)
{
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    int64_t count = (int64_t)n * hw;
    int32_t slices = cuda_norm_slices(count);
    size_t part_bytes = (size_t)c * slices * 2 * sizeof(double);
    char *scratch = (char *)cuda_scratch(be, part_bytes + 3 * (size_t)c * sizeof(float));
    double *part = (double *)scratch;
    float *ka = (float *)(scratch + part_bytes), *kb = ka + c, *kc = kb + c; /* [c] each */
    const float *mean = save_mean;
    cuda_map(be, c, [=] __device__(int64_t ch) { ka[ch] = gamma[ch] * save_rstd[ch]; });
    cuda_norm_partials(be, part, n, c, hw, slices, [=] __device__(int64_t idx, int32_t ch, double &a, double &b) {
        double g = dy(idx, ka);
        a += g;
        b += g * ((double)in[idx] - (double)mean[ch]);
    });
    cuda_map(be, c, [=] __device__(int64_t ch) {
        double sdy, sdyx; /* sum dy, sum dy (x - mean) */
        cuda_norm_total(part, (int32_t)ch, slices, &sdy, &sdyx);
        float rstd = save_rstd[ch];
        dgamma[ch] += (float)(sdyx * rstd);
        dbeta[ch] += (float)sdy;
        /* train: din = ka dy - kb (x - mean) + kc; eval: din = gamma rstd dy */
        float a = ka[ch];
        kb[ch] = train ? (float)((double)a * rstd * rstd * sdyx / (double)count) : 0.0f;
        kc[ch] = train ? (float)(-(double)a * sdy / (double)count) : 0.0f;
    });
    if (!din)
        return;
    cuda_map(be, (int64_t)n * c * hw, [=] __device__(int64_t e) {
        int64_t ch = (e / hw) % c;
        float v = ka[ch] * dy(e, ka) - kb[ch] * (in[e] - mean[ch]) + kc[ch];
        din[e] = acc ? din[e] + v : v;
    });
}

static void cuda_batchnorm_backward(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                                    const float *in, const float *gamma, const float *save_mean,
                                    const float *save_rstd, int32_t n, int32_t c, int32_t hw, int train, int acc)
{
    /* din [n, c, hw] or NULL, dgamma, dbeta [c] +=, dout, in [n, c, hw], gamma, save_mean, save_rstd [c] */
    cuda_bn_backward_dy(be, din, dgamma, dbeta, in, gamma, save_mean, save_rstd, n, c, hw, train, acc,
                        [=] __device__(int64_t e, const float *) { return dout[e]; });
}

/* ---- BatchNorm2d -> ReLU (-> 2x2 max-pool) as one op (bn_relu_forward / _backward; CPU twin:
 * src/cpu_batchnorm.c with src/cpu_bnrelu.c). r = relu((x - mean) k + beta), k = gamma rstd, with the
 * expressions of the separate ops; the pool takes each window's first maximum (NaN wins). The backward recomputes
 * r and sends dout to where the forward took it: every input element looks at its own window. ------------------ */

__device__ __forceinline__ float cuda_bnr_r(float x, float m, float k, float b)
{
    float v = (x - m) * k + b;
    return v < 0.0f ? 0.0f : v;
}

/* the first maximum of the window v [4] (NaN wins): its index, and *mx its value */
__device__ __forceinline__ int cuda_bnr_pick(const float v[4], float *mx)
{
    float best = v[0];
    int k = 0;
    for (int i = 1; i < 4; i++) {
        bool t = (v[i] > best) | (v[i] != v[i]);
        best = t ? v[i] : best;
        k = t ? i : k;
    }
    *mx = best;
    return k;
}

/* dy of element e of in [n, c, h, w]: the gradient reaching the BatchNorm output */
__device__ __forceinline__ float cuda_bnr_dy(const float *in, const float *dout, int64_t e, int32_t c, int32_t h,
                                             int32_t w, int pool, const float *mean, const float *k,
                                             const float *beta)
{
    int64_t hw = (int64_t)h * w, plane = e / hw, j = e - plane * hw;
    int32_t ch = (int32_t)(plane % c), y = (int32_t)(j / w), x = (int32_t)(j % w);
    float m = mean[ch], kk = k[ch], b = beta[ch];
    if (!pool)
        return cuda_bnr_r(in[e], m, kk, b) > 0.0f ? dout[e] : 0.0f;
    int32_t ho = h / 2, wo = w / 2;
    if (y / 2 >= ho || x / 2 >= wo)
        return 0.0f;
    const float *p = in + plane * hw + (int64_t)(y & ~1) * w + (x & ~1);
    float v[4] = {cuda_bnr_r(p[0], m, kk, b), cuda_bnr_r(p[1], m, kk, b), cuda_bnr_r(p[w], m, kk, b),
                  cuda_bnr_r(p[w + 1], m, kk, b)};
    float mx;
    int pick = cuda_bnr_pick(v, &mx), mine = (y & 1) * 2 + (x & 1);
    return pick == mine && v[mine] > 0.0f ? dout[(plane * ho + y / 2) * wo + x / 2] : 0.0f;
}

static void cuda_bn_relu_forward(pd_backend *be, float *out, const float *in, const float *gamma, const float *beta,
                                 float *run_mean, float *run_var, float *save_mean, float *save_rstd, int32_t n,
                                 int32_t c, int32_t h, int32_t w, int pool, int train, float momentum, float eps)
{
    /* out [n, c, h/2, w/2] (pool) or [n, c, h, w], in [n, c, h, w]; gamma .. save_rstd [c] */
    int64_t hw = (int64_t)h * w;
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    int64_t count = (int64_t)n * hw;
    int32_t slices = cuda_norm_slices(count);
    size_t part_bytes = (size_t)c * slices * 2 * sizeof(double);
    char *scratch = (char *)cuda_scratch(be, part_bytes + (size_t)c * sizeof(float));
    double *part = (double *)scratch;
    float *k = (float *)(scratch + part_bytes); /* [c] gamma rstd */
    if (train)
        cuda_norm_partials(be, part, n, c, hw, slices,
                           [=] __device__(int64_t idx, int32_t ch, double &a, double &b) {
                               double d = (double)in[idx] - (double)in[(int64_t)ch * hw];
                               a += d;
                               b += d * d;
                           });
    cuda_map(be, c, [=] __device__(int64_t ch) {
        float mean, rstd;
        if (train) {
            double s1, s2;
            cuda_norm_total(part, (int32_t)ch, slices, &s1, &s2);
            double dm = s1 / (double)count;
            double ss = s2 - s1 * dm;
            ss = ss > 0.0 ? ss : 0.0;
            double var = ss / (double)count, uvar = count > 1 ? ss / (double)(count - 1) : var;
            mean = (float)((double)in[ch * hw] + dm);
            rstd = (float)(1.0 / sqrt(var + (double)eps));
            run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mean;
            run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (float)uvar;
        } else {
            mean = run_mean[ch];
            rstd = (float)(1.0 / sqrt((double)run_var[ch] + (double)eps));
        }
        save_mean[ch] = mean;
        save_rstd[ch] = rstd;
        k[ch] = gamma[ch] * rstd;
    });
    const float *mean = save_mean;
    pd_fastdiv dc = pd_fastdiv_make((uint32_t)c);
    if (!pool) { /* one grid row per plane (sample, channel) */
        cuda_map2(be, hw, (int64_t)n * c, [=] __device__(uint32_t j, uint32_t pl) {
            uint32_t ch = pd_fastdiv_mod(dc, pl);
            int64_t e = (int64_t)pl * hw + j;
            out[e] = cuda_bnr_r(in[e], mean[ch], k[ch], beta[ch]);
        });
        return;
    }
    int32_t ho = h / 2, wo = w / 2;
    pd_fastdiv dwo = pd_fastdiv_make((uint32_t)wo);
    cuda_map2(be, (int64_t)ho * wo, (int64_t)n * c, [=] __device__(uint32_t j, uint32_t pl) {
        uint32_t ox, oy = pd_fastdiv_divmod(dwo, j, &ox);
        uint32_t ch = pd_fastdiv_mod(dc, pl);
        int64_t e = (int64_t)pl * ho * wo + j;
        const float *p = in + (int64_t)pl * hw + (int64_t)2 * oy * w + 2 * ox;
        float m = mean[ch], kk = k[ch], b = beta[ch];
        float v[4] = {cuda_bnr_r(p[0], m, kk, b), cuda_bnr_r(p[1], m, kk, b), cuda_bnr_r(p[w], m, kk, b),
                      cuda_bnr_r(p[w + 1], m, kk, b)};
        float mx;
        cuda_bnr_pick(v, &mx);
        out[e] = mx;
    });
}

static void cuda_bn_relu_backward(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                                  const float *in, const float *gamma, const float *beta, const float *save_mean,
                                  const float *save_rstd, int32_t n, int32_t c, int32_t h, int32_t w, int pool,
                                  int train, int acc)
{
    /* din [n, c, h, w] or NULL, dgamma, dbeta [c] +=, dout shaped like the forward's out, in [n, c, h, w] */
    const float *mean = save_mean;
    cuda_bn_backward_dy(be, din, dgamma, dbeta, in, gamma, save_mean, save_rstd, n, c, (int64_t)h * w, train, acc,
                        [=] __device__(int64_t e, const float *k) {
                            return cuda_bnr_dy(in, dout, e, c, h, w, pool, mean, k, beta);
                        });
}

/* Eval-mode BatchNorm + ReLU + 2x2 max-pool over pre-pooled window extremes (contract in src/backend.h): the map
 * is monotone per channel, so the window's max (k >= 0) or min (k < 0) goes through the expression the eval
 * forward pass computes, bit for bit. */
static void cuda_batchnorm_relu_pool_eval(pd_backend *be, float *out, const float *mx, const float *mn,
                                          const float *gamma, const float *beta, const float *run_mean,
                                          const float *run_var, float eps, int32_t n, int32_t c, int32_t hw)
{
    /* out, mx, mn [n, c, hw]; gamma, beta, run_mean, run_var [c] */
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    float *k = (float *)cuda_scratch(be, (size_t)c * sizeof(float)); /* [c] */
    cuda_map(be, c, [=] __device__(int64_t ch) {
        k[ch] = gamma[ch] * (float)(1.0 / sqrt((double)run_var[ch] + (double)eps));
    });
    pd_fastdiv dc = pd_fastdiv_make((uint32_t)c);
    cuda_map2(be, hw, (int64_t)n * c, [=] __device__(uint32_t j, uint32_t pl) { /* one grid row per plane */
        uint32_t ch = pd_fastdiv_mod(dc, pl);
        int64_t e = (int64_t)pl * hw + j;
        float kc = k[ch];
        float x = kc >= 0.0f ? mx[e] : mn[e];
        float v = (x - run_mean[ch]) * kc + beta[ch];
        out[e] = v > 0.0f ? v : 0.0f;
    });
}

/* ---- InstanceNorm1d (no affine parameters) --------------------------------------------------------------- */

#define CUDA_INSTNORM_ROWS 8 /* rows (warps) per block */

__global__ void cuda_instnorm_forward_kernel(float *out, const float *in, float *save_mean, float *save_rstd,
                                             int64_t rows, int32_t l, float eps)
{
    int64_t row = (int64_t)blockIdx.x * CUDA_INSTNORM_ROWS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= rows)
        return; /* the whole warp leaves together: only warp-level sync below */
    const float *x = in + row * l; /* [l] */
    float *y = out + row * l;      /* [l], may be x */
    float s = 0.0f;
    for (int32_t j = lane; j < l; j += 32)
        s += x[j];
    float mean = cuda_warp_sum(s) / (float)l;
    float q = 0.0f;
    for (int32_t j = lane; j < l; j += 32) {
        float d = x[j] - mean;
        q += d * d;
    }
    float var = cuda_warp_sum(q) / (float)l;
    float rstd = 1.0f / sqrtf(var + eps);
    for (int32_t j = lane; j < l; j += 32)
        y[j] = (x[j] - mean) * rstd;
    if (lane == 0) {
        save_mean[row] = mean;
        save_rstd[row] = rstd;
    }
}

__global__ void cuda_instnorm_backward_kernel(float *din, const float *dout, const float *in,
                                              const float *save_mean, const float *save_rstd, int64_t rows,
                                              int32_t l, int acc)
{
    int64_t row = (int64_t)blockIdx.x * CUDA_INSTNORM_ROWS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= rows)
        return;
    const float *x = in + row * l;   /* [l] */
    const float *g = dout + row * l; /* [l] */
    float *dx = din + row * l;       /* [l], may be g */
    float mean = save_mean[row], rstd = save_rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int32_t j = lane; j < l; j += 32) {
        sg += g[j];
        sgx += g[j] * ((x[j] - mean) * rstd);
    }
    float mg = cuda_warp_sum(sg) / (float)l, mgx = cuda_warp_sum(sgx) / (float)l;
    for (int32_t j = lane; j < l; j += 32) {
        float v = rstd * (g[j] - mg - (x[j] - mean) * rstd * mgx);
        dx[j] = acc ? dx[j] + v : v;
    }
}

static void cuda_instnorm_forward(pd_backend *be, float *out, const float *in, float *save_mean, float *save_rstd,
                                  int64_t rows, int32_t l, float eps)
{
    /* out [rows, l] = normalised in [rows, l]; save_mean, save_rstd [rows] */
    if (rows <= 0 || l <= 0)
        return;
    unsigned blocks = (unsigned)((rows + CUDA_INSTNORM_ROWS - 1) / CUDA_INSTNORM_ROWS);
    cuda_instnorm_forward_kernel<<<blocks, 32 * CUDA_INSTNORM_ROWS, 0, cuda_of(be)->stream>>>(
        out, in, save_mean, save_rstd, rows, l, eps);
    CUDA_LAUNCHED();
}

static void cuda_instnorm_backward(pd_backend *be, float *din, const float *dout, const float *in,
                                   const float *save_mean, const float *save_rstd, int64_t rows, int32_t l, int acc)
{
    /* din [rows, l] (written, or added when acc; may be NULL); dout, in [rows, l]; save_* [rows] */
    if (!din || rows <= 0 || l <= 0)
        return;
    unsigned blocks = (unsigned)((rows + CUDA_INSTNORM_ROWS - 1) / CUDA_INSTNORM_ROWS);
    cuda_instnorm_backward_kernel<<<blocks, 32 * CUDA_INSTNORM_ROWS, 0, cuda_of(be)->stream>>>(
        din, dout, in, save_mean, save_rstd, rows, l, acc);
    CUDA_LAUNCHED();
}

void cuda_norm_register(pd_backend *be)
{
    be->batchnorm2d_forward = cuda_batchnorm_forward;
    be->batchnorm2d_backward = cuda_batchnorm_backward;
    be->bn_relu_pool_eval = cuda_batchnorm_relu_pool_eval;
    be->bn_relu_forward = cuda_bn_relu_forward;
    be->bn_relu_backward = cuda_bn_relu_backward;
    be->instnorm_forward = cuda_instnorm_forward;
    be->instnorm_backward = cuda_instnorm_backward;
}
