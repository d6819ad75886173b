/* cuda_backend.cu — the CUDA backend: device memory on one stream, cuBLAS, scratch, and the op table
 * (contract: cuda_backend_create in src/backend.h; internals: cuda_internal.cuh). */
#include <stdio.h>
#include <stdlib.h>

#include "cuda_internal.cuh"

void cuda_fail(const char *call, const char *detail, const char *file, int line)
{
    static char msg[512]; /* the process aborts right after: no reentrancy to worry about */
    snprintf(msg, sizeof msg, "CUDA call %s failed: %s", call, detail ? detail : "unknown error");
    error_assert_fail(msg, file, line);
}

/* ---- memory -------------------------------------------------------------------------------------------- */

static void *cuda_alloc(pd_backend *be, size_t bytes)
{
    cuda_backend *c = cuda_of(be);
    size_t rounded = (bytes + 255) & ~(size_t)255;
    if (rounded == 0)
        rounded = 256;
    void *p = NULL;
    if (cudaMalloc(&p, rounded) != cudaSuccess) {
        (void)cudaGetLastError(); /* out of memory is not sticky: clear it, report NULL */
        return NULL;
    }
    CUDA_CHECK(cudaMemsetAsync(p, 0, rounded, c->stream));
    return p;
}

static void cuda_free_mem(pd_backend *be, void *p)
{
    if (!p)
        return;
    /* queued kernels may still use p: cudaFree waits for the device, but make the ordering explicit */
    CUDA_CHECK(cudaStreamSynchronize(cuda_of(be)->stream));
    CUDA_CHECK(cudaFree(p));
}

/* Host buffers are pageable and may be reused the moment the call returns: both directions wait. */
static void cuda_upload(pd_backend *be, void *dst, const void *src_host, size_t bytes)
{
    if (!bytes)
        return;
    cudaStream_t s = cuda_of(be)->stream;
    CUDA_CHECK(cudaMemcpyAsync(dst, src_host, bytes, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
}

static void cuda_download(pd_backend *be, void *dst_host, const void *src, size_t bytes)
{
    if (!bytes)
        return;
    cudaStream_t s = cuda_of(be)->stream;
    CUDA_CHECK(cudaMemcpyAsync(dst_host, src, bytes, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
}

static void cuda_copy(pd_backend *be, void *dst, const void *src, size_t bytes)
{
    if (!bytes || dst == src)
        return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_of(be)->stream));
}

static void cuda_synchronize(pd_backend *be)
{
    CUDA_CHECK(cudaStreamSynchronize(cuda_of(be)->stream));
}

static void cuda_destroy(pd_backend *be)
{
    cuda_backend *c = cuda_of(be);
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    if (c->blas)
        cublasDestroy(c->blas);
    if (c->scratch)
        cudaFree(c->scratch);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    free(c);
}

void *cuda_scratch(pd_backend *be, size_t bytes)
{
    cuda_backend *c = cuda_of(be);
    if (c->scratch_bytes >= bytes && c->scratch)
        return c->scratch;
    size_t want = c->scratch_bytes + c->scratch_bytes / 2; /* grow geometrically: few reallocations */
    if (want < bytes)
        want = bytes;
    want = (want + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    if (c->scratch) {
        CUDA_CHECK(cudaStreamSynchronize(c->stream)); /* queued kernels may still read the old buffer */
        CUDA_CHECK(cudaFree(c->scratch));
        c->scratch = NULL;
        c->scratch_bytes = 0;
    }
    CUDA_CHECK(cudaMalloc(&c->scratch, want));
    c->scratch_bytes = want;
    return c->scratch;
}

/* ---- creation ------------------------------------------------------------------------------------------ */

pd_status cuda_backend_create(pd_backend **out, int threads, pd_error *err)
{
    *out = NULL;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return error_set(err, PD_ERR_DEVICE, "device=cuda: no CUDA device found (cudaGetDeviceCount: %s)",
                         cudaGetErrorString(e));
    }
    if (count <= 0)
        return error_set(err, PD_ERR_DEVICE, "device=cuda: no CUDA device found (cudaGetDeviceCount: 0 devices)");
    cuda_backend *c = (cuda_backend *)calloc(1, sizeof *c);
    if (!c)
        return error_set(err, PD_ERR_NOMEM, "cuda backend: out of memory");
    pd_backend *be = &c->base;
    c->device = backend_gpu_ordinal() % count; /* one GPU per rank in a job of several (comm.h) */
    e = cudaSetDevice(c->device);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&c->sm_count, cudaDevAttrMultiProcessorCount, c->device);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        cuda_destroy(be);
        return error_set(err, PD_ERR_DEVICE, "device=cuda: cannot use CUDA device 0: %s", cudaGetErrorString(e));
    }
    cublasStatus_t bs = cublasCreate(&c->blas);
    if (bs != CUBLAS_STATUS_SUCCESS)
        c->blas = NULL;
    else
        bs = cublasSetStream(c->blas, c->stream);
    /* true float32 GEMMs (no TF32), as the CPU path computes */
    if (bs == CUBLAS_STATUS_SUCCESS)
        bs = cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH);
    if (bs == CUBLAS_STATUS_SUCCESS)
        bs = cublasSetPointerMode(c->blas, CUBLAS_POINTER_MODE_HOST);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        cuda_destroy(be);
        return error_set(err, PD_ERR_DEVICE, "device=cuda: cuBLAS setup failed: %s", cublasGetStatusString(bs));
    }
    if (c->sm_count < 1)
        c->sm_count = 1;
    be->kind = PD_BACKEND_CUDA;
    be->name = "cuda";
    be->threads = threads > 0 ? threads : 1;
    be->alloc = cuda_alloc;
    be->free = cuda_free_mem;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->copy = cuda_copy;
    be->synchronize = cuda_synchronize;
    be->destroy = cuda_destroy;
    cuda_eltwise_register(be);
    cuda_optim_register(be);
    cuda_dense_register(be);
    cuda_conv2d_register(be);
    cuda_norm_register(be);
    cuda_pool_register(be);
    cuda_loss_register(be);
    cuda_conv1d_register(be);
    cuda_diffusion_register(be);
    cuda_normact_register(be);
    *out = be;
    return PD_OK;
}
