/* cuda_internal.cuh — internals shared by the CUDA backend's files (kernels/cuda_*.cu). Not a public header.
 *
 * The CUDA backend is a pd_backend (src/backend.h) whose memory is device memory. Each cuda_<group>.cu file
 * implements one group of ops and installs them with cuda_<group>_register(be), like the CPU backend's
 * src/cpu/cpu_<group>.c files it is tested against (tests/test_cuda.c). Helpers here:
 *   - cuda_of(be): the backend's state (stream, cuBLAS handle, scratch);
 *   - CUDA_CHECK / CUBLAS_CHECK / CUDA_LAUNCHED: a failure is fatal (ops cannot return a status);
 *   - cuda_map(be, n, lambda): an element-wise kernel over [0, n) on the backend's stream;
 *   - cuda_map2(be, nx, ny, lambda): the same over a grid of rows, with 32-bit indices, for kernels whose index
 *     arithmetic (with src/fastdiv.h's dividers) would otherwise cost more than their memory traffic;
 *   - cuda_scratch(be, bytes): device scratch, grown (never shrunk) on demand, valid until the next call;
 *   - cuda_sgemm: row-major GEMM through cuBLAS;
 *   - rng_hash_normal (src/rng_hash.h): the same counter-based normals as rng_normal_at, from the one
 *     definition gcc and nvcc both read, so CPU and GPU streams match bit for bit;
 *   - warp and block reductions that always combine values in the same order.
 * Nothing here uses float atomics: every result is a fixed function of the inputs and the launch geometry,
 * and the geometry depends only on the shapes.
 */
#ifndef PD_CUDA_INTERNAL_CUH
#define PD_CUDA_INTERNAL_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "backend.h"
#include "error.h"
}
#include "fastdiv.h"
#include "rng_hash.h"

typedef struct {
    pd_backend base; /* must be first */
    int device;
    int sm_count;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *scratch; /* device, scratch_bytes */
    size_t scratch_bytes;
} cuda_backend;

static inline cuda_backend *cuda_of(pd_backend *be)
{
    return (cuda_backend *)be;
}

/* Report a failed CUDA or cuBLAS call and abort through the assertion hook (never returns). */
void cuda_fail(const char *call, const char *detail, const char *file, int line) __attribute__((noreturn));

#define CUDA_CHECK(call)                                                      \
    do {                                                                      \
        cudaError_t cuda_check_e_ = (call);                                   \
        if (cuda_check_e_ != cudaSuccess)                                     \
            cuda_fail(#call, cudaGetErrorString(cuda_check_e_), __FILE__, __LINE__); \
    } while (0)

#define CUBLAS_CHECK(call)                                                    \
    do {                                                                      \
        cublasStatus_t cublas_check_s_ = (call);                              \
        if (cublas_check_s_ != CUBLAS_STATUS_SUCCESS)                         \
            cuda_fail(#call, cublasGetStatusString(cublas_check_s_), __FILE__, __LINE__); \
    } while (0)

/* after a <<<>>> launch: configuration errors surface here, execution errors at the next synchronisation */
#define CUDA_LAUNCHED() CUDA_CHECK(cudaGetLastError())

#define CUDA_THREADS 256

/* Blocks for a grid-stride loop over n items: enough to fill the device, never more than needed. */
static inline unsigned cuda_grid(pd_backend *be, int64_t n, int threads)
{
    int64_t blocks = (n + threads - 1) / threads;
    int64_t cap = (int64_t)cuda_of(be)->sm_count * 32;
    if (blocks > cap)
        blocks = cap;
    return (unsigned)(blocks > 0 ? blocks : 1);
}

template <typename F> __global__ void cuda_map_kernel(int64_t n, F f)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        f(i);
}

/* Run f(i) for i in [0, n) on the backend's stream (f: a __device__ lambda capturing by value). */
template <typename F> static inline void cuda_map(pd_backend *be, int64_t n, F f)
{
    if (n <= 0)
        return;
    cuda_map_kernel<<<cuda_grid(be, n, CUDA_THREADS), CUDA_THREADS, 0, cuda_of(be)->stream>>>(n, f);
    CUDA_LAUNCHED();
}

template <typename F> __global__ void cuda_map2_kernel(uint32_t nx, uint32_t ny, F f)
{
    for (uint32_t y = blockIdx.y; y < ny; y += gridDim.y)
        for (uint32_t x = blockIdx.x * blockDim.x + threadIdx.x; x < nx; x += gridDim.x * blockDim.x)
            f(x, y);
}

/* Run f(x, y) for x in [0, nx) and y in [0, ny) on the backend's stream, neighbouring threads on neighbouring x
 * (f: a __device__ lambda taking two uint32_t). nx and ny must stay below 2^31 (a failure otherwise: callers
 * split larger work); a kernel computes its flat offsets in 64 bits from them. */
template <typename F> static inline void cuda_map2(pd_backend *be, int64_t nx, int64_t ny, F f)
{
    if (nx <= 0 || ny <= 0)
        return;
    if (nx > INT32_MAX || ny > INT32_MAX)
        cuda_fail("cuda_map2", "a dimension of 2^31 items or more", __FILE__, __LINE__);
    /* short rows get smaller blocks (whole warps), so that few threads idle; as many threads in all as cuda_grid */
    int64_t threads = nx < CUDA_THREADS ? (nx + 31) / 32 * 32 : CUDA_THREADS;
    int64_t cap = (int64_t)cuda_of(be)->sm_count * 32 * (CUDA_THREADS / threads); /* blocks in all */
    int64_t by = ny < 65535 ? ny : 65535;
    if (by > cap)
        by = cap;
    int64_t bx = (nx + threads - 1) / threads, bx_cap = cap / by > 0 ? cap / by : 1;
    if (bx > bx_cap)
        bx = bx_cap;
    dim3 grid((unsigned)bx, (unsigned)by);
    cuda_map2_kernel<<<grid, (unsigned)threads, 0, cuda_of(be)->stream>>>((uint32_t)nx, (uint32_t)ny, f);
    CUDA_LAUNCHED();
}

/* Device scratch of at least bytes (256-byte aligned); contents undefined; valid until the next call. */
void *cuda_scratch(pd_backend *be, size_t bytes);

/* Row-major C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C (ta/tb non-zero: transposed), like cpu_sgemm:
 * k <= 0 scales C by beta. */
void cuda_sgemm(pd_backend *be, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                int32_t lda, const float *b, int32_t ldb, float beta, float *c, int32_t ldc);

/* db [c] += sum over n and len of t [n, c, len] (per-channel sums in double, fixed order) — the bias
 * gradient of the convolutions. */
void cuda_channel_sums(pd_backend *be, float *db, const float *t, int32_t n, int32_t c, int64_t len);

/* ---- reductions in a fixed order ----------------------------------------------------------------------- */

template <typename T> __device__ __forceinline__ T cuda_warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total. shared holds
 * 32 values; the function synchronises the block, so call it from every thread. */
template <typename T> __device__ __forceinline__ T cuda_block_sum(T v, T *shared)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = cuda_warp_sum(v);
    __syncthreads(); /* shared may still be read by a previous call */
    if (lane == 0)
        shared[warp] = v;
    __syncthreads();
    T t = lane < nwarps ? shared[lane] : (T)0;
    return cuda_warp_sum(t);
}

/* ---- op groups, one per file --------------------------------------------------------------------------- */

void cuda_eltwise_register(pd_backend *be);   /* cuda_eltwise.cu: fill..pad_rows, randn, noise_mix */
void cuda_optim_register(pd_backend *be);     /* cuda_optim.cu: sgd, adamw */
void cuda_dense_register(pd_backend *be);     /* cuda_dense.cu: gemm, linear */
void cuda_conv2d_register(pd_backend *be);    /* cuda_conv2d.cu */
void cuda_norm_register(pd_backend *be);      /* cuda_norm.cu: batchnorm2d, bn_relu_pool_eval, instnorm */
void cuda_pool_register(pd_backend *be);      /* cuda_pool.cu: maxpool2d, avgpool */
void cuda_loss_register(pd_backend *be);      /* cuda_loss.cu: softmax_xent, argmax, mse */
void cuda_conv1d_register(pd_backend *be);    /* cuda_conv1d.cu: conv1d, convt1d */
void cuda_diffusion_register(pd_backend *be); /* cuda_diffusion.cu: temb, q_sample, diffusion_step */
/* cuda_diffusion.cu: dtable [T, l] row t[b] += sum over c of g [b, c, :], channels in order, then samples in order
 * (repeated timesteps accumulate without atomics); scratch: cuda_temb_scratch_floats(n, l) floats of device
 * scratch (the per-sample sums [n, l] and two int32 tables [n]). */
void cuda_temb_table_grad(pd_backend *be, float *dtable, const float *g, const int32_t *t, int32_t n, int32_t c,
                          int32_t l, float *scratch);
static inline int64_t cuda_temb_scratch_floats(int32_t n, int32_t l)
{
    return (int64_t)n * l + 2 * (int64_t)n;
}
void cuda_normact_register(pd_backend *be);   /* cuda_normact.cu: norm_act (temb, LeakyReLU, instnorm) */

#endif
