/* cpu.h — what the CPU backend's op files (cpu_<group>.c) share; implemented in cpu_common.c. Private to src/cpu/.
 *
 * The CPU backend is a pd_backend (backend.h) whose "device" memory is host memory. Each cpu_<group>.c file
 * implements one group of ops as static functions and installs them with cpu_<group>_register(be).
 * Helpers here: per-thread scratch, a batch-parallel loop on the backend's thread pool, and row-major sgemm
 * through OpenBLAS with the BLAS thread count managed for nested use.
 */
#ifndef PD_CPU_H
#define PD_CPU_H

#include "backend.h"
#include "pool.h"

#define CPU_MAX_THREADS 64

typedef struct {
    pd_backend base; /* must be first */
    pd_pool *pool;
    struct {
        void *p;
        size_t bytes;
    } scratch[CPU_MAX_THREADS];
} cpu_backend;

static inline cpu_backend *cpu_of(pd_backend *be)
{
    return (cpu_backend *)be;
}

/* Per-thread scratch of at least `bytes` bytes, 64-byte aligned, grown (never shrunk) on demand; contents are
 * undefined. thread is the index passed to a parallel task (0 outside of cpu_parallel_for). Never NULL: when
 * memory runs out it calls error_out_of_memory (error.h), which does not return. */
void *cpu_scratch(pd_backend *be, int thread, size_t bytes);

/* Run fn(ctx, task, thread) for task in [0, ntasks) on the backend's threads. While the loop runs BLAS is
 * single-threaded, so tasks may call cpu_sgemm. */
void cpu_parallel_for(pd_backend *be, int64_t ntasks, pd_pool_fn fn, void *ctx);

/* Row-major C[m,n] = alpha op(A) op(B) + beta C via cblas_sgemm. */
void cpu_sgemm(int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
               const float *b, int32_t ldb, float beta, float *c, int32_t ldc);

/* Free every thread's scratch (the backend's destroy). */
void cpu_scratch_release(cpu_backend *c);

/* Helpers of one op group that another group's fused kernels reuse. */
/* BatchNorm2d backward, one channel, from sdy = sum of dy and sdyx = sum of dy (x - mean) over its count values:
 * dgamma, dbeta +=, and the input-gradient map din = ka dy - kb (x - mean) + kc (train) or ka dy (eval). */
void cpu_batchnorm_grad_coefs(double sdy, double sdyx, float gamma, float rstd, int64_t count, int train,
                              float *dgamma, float *dbeta, float *ka, float *kb, float *kc);
/* BatchNorm2d's eval scale k = gamma / sqrt(run_var + eps), [c] */
void cpu_batchnorm_eval_scale(float *k, const float *gamma, const float *run_var, float eps, int32_t c);
/* One sample of bn_relu_pool_eval: out [c, hw] = relu((x - m) k + b) with x the row of mx (k >= 0) or mn */
void cpu_bn_relu_pool_rows(float *out, const float *mx, const float *mn, const float *k, const float *m,
                           const float *b, int32_t c, int32_t hw);
/* dtable [T, l]: row t[b] += sums [b, :] for the samples b < n in order (the embedding table's gradient) */
void cpu_temb_table_add(float *dtable, const float *sums, const int32_t *t, int32_t n, int32_t l);

#endif
