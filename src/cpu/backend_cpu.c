/* backend_cpu.c — the CPU backend: host memory, a thread pool, OpenBLAS (see backend.h, cpu.h). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "cpu.h"
#include "cpu_simd.h"

static void *cpu_alloc(pd_backend *be, size_t bytes)
{
    (void)be;
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded == 0)
        rounded = 64;
    if (posix_memalign(&p, 64, rounded) != 0)
        return NULL;
    memset(p, 0, rounded);
    return p;
}

static void cpu_free(pd_backend *be, void *p)
{
    (void)be;
    free(p);
}

static void cpu_memcpy(pd_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_synchronize(pd_backend *be)
{
    (void)be;
}

static void cpu_destroy(pd_backend *be)
{
    cpu_backend *c = cpu_of(be);
    for (int i = 0; i < CPU_MAX_THREADS; i++)
        free(c->scratch[i].p);
    pool_free(c->pool);
    free(c);
}

void *cpu_scratch(pd_backend *be, int thread, size_t bytes)
{
    cpu_backend *c = cpu_of(be);
    PD_ASSERT(thread >= 0 && thread < CPU_MAX_THREADS);
    if (c->scratch[thread].bytes < bytes) {
        free(c->scratch[thread].p);
        c->scratch[thread].p = NULL;
        c->scratch[thread].bytes = 0;
        size_t rounded = (bytes + 4095) & ~(size_t)4095;
        if (posix_memalign(&c->scratch[thread].p, 64, rounded) != 0)
            return NULL;
        c->scratch[thread].bytes = rounded;
    }
    return c->scratch[thread].p;
}

void cpu_parallel_for(pd_backend *be, int64_t ntasks, pd_pool_fn fn, void *ctx)
{
    cpu_backend *c = cpu_of(be);
    if (be->threads <= 1 || ntasks <= 1) {
        for (int64_t t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    blas_set_threads(1);
    pool_run(c->pool, ntasks, fn, ctx);
    blas_set_threads(be->threads);
}

void cpu_sgemm(int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
               const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) { /* BLAS leaves C untouched for k == 0 only when beta == 1 */
        for (int32_t i = 0; i < m; i++)
            for (int32_t j = 0; j < n; j++)
                c[(int64_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(int64_t)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                a, lda, b, ldb, beta, c, ldc);
}

pd_status backend_cpu_create(pd_backend **out, int threads, pd_error *err)
{
    *out = NULL;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > CPU_MAX_THREADS)
        threads = CPU_MAX_THREADS;
    cpu_backend *c = calloc(1, sizeof *c);
    if (!c)
        return error_set(err, PD_ERR_NOMEM, "cpu backend: out of memory");
    pd_backend *be = &c->base;
    be->kind = PD_BACKEND_CPU;
    be->name = "cpu";
    be->threads = threads;
    c->pool = pool_create(threads);
    if (!c->pool) {
        free(c);
        return error_set(err, PD_ERR_NOMEM, "cpu backend: cannot start %d threads", threads);
    }
    be->threads = pool_threads(c->pool);
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_memcpy;
    be->download = cpu_memcpy;
    be->copy = cpu_memcpy;
    be->synchronize = cpu_synchronize;
    be->destroy = cpu_destroy;
    cpu_eltwise_register(be);
    cpu_dense_register(be);
    cpu_conv2d_register(be);
    cpu_batchnorm_register(be);
    cpu_pool2d_register(be);
    cpu_loss_register(be);
    cpu_optim_register(be);
    cpu_conv1d_register(be);
    cpu_instnorm_register(be);
    cpu_diffusion_register(be);
    blas_set_threads(be->threads);
    *out = be;
    return PD_OK;
}

int cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int has = -1; /* a benign race: every thread computes the same value */
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
              && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    }
    return has;
#else
    return 0;
#endif
}
