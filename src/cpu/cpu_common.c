/* cpu_common.c — what the CPU backend's op files share (cpu.h): per-thread scratch, the parallel loop, row-major
 * sgemm through OpenBLAS, and the AVX-512 probe. Depends on no op file. */
#include <cblas.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "blas.h"
#include "cpu.h"
#include "cpu_simd.h"

void *cpu_scratch(pd_backend *be, int thread, size_t bytes)
{
    cpu_backend *c = cpu_of(be);
    PD_ASSERT(thread >= 0 && thread < CPU_MAX_THREADS);
    if (c->scratch[thread].bytes < bytes) {
        free(c->scratch[thread].p);
        c->scratch[thread].p = NULL;
        c->scratch[thread].bytes = 0;
        size_t rounded = (bytes + 4095) & ~(size_t)4095;
        if (posix_memalign(&c->scratch[thread].p, 64, rounded) != 0) {
            c->scratch[thread].p = NULL;
            error_out_of_memory("a CPU work buffer", rounded);
        }
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
    blas_loop_enter();
    pool_run(c->pool, ntasks, fn, ctx);
    blas_loop_leave();
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

void cpu_scratch_release(cpu_backend *c)
{
    for (int i = 0; i < CPU_MAX_THREADS; i++) {
        free(c->scratch[i].p);
        c->scratch[i].p = NULL;
        c->scratch[i].bytes = 0;
    }
}

int cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static atomic_int has = -1; /* any thread may be first: each computes the same value */
    int v = atomic_load_explicit(&has, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
        atomic_store_explicit(&has, v, memory_order_relaxed);
    }
    return v;
#else
    return 0;
#endif
}
