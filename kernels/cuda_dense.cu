/* cuda_dense.cu — dense ops of the CUDA backend: gemm and the linear layer (contracts in src/backend.h; CPU
 * twin: src/cpu_dense.c), plus cuda_sgemm, the row-major cuBLAS wrapper every GEMM of the backend goes
 * through.
 *
 * cuBLAS is column-major: a row-major matrix is its transpose there, so row-major C = op(A) op(B) is
 * column-major C^T = op(B)^T op(A)^T, one cublasSgemm with the operands swapped. The handle runs in the
 * default math mode (true float32, no TF32) on the backend's single stream, which makes cuBLAS results
 * repeat bit for bit on one GPU model. */
#include "cuda_internal.cuh"

void cuda_sgemm(pd_backend *be, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                int32_t lda, const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    /* c [m, ldc], a [m, k] or [k, m] (ta), b [k, n] or [n, k] (tb) */
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) { /* no product: C = beta C, and beta == 0 does not read C */
        cuda_map(be, (int64_t)m * n, [=] __device__(int64_t i) {
            int64_t r = i / n, col = i - r * n;
            float *p = c + r * ldc + col;
            *p = beta == 0.0f ? 0.0f : beta * *p;
        });
        return;
    }
    CUBLAS_CHECK(cublasSgemm(cuda_of(be)->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n,
                             m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

static void cuda_dense_gemm(pd_backend *be, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha,
                            const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                            int32_t ldc)
{
    cuda_sgemm(be, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void cuda_dense_linear_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                      int32_t n, int32_t i, int32_t o)
{
    /* out [n, o] = in [n, i] w [o, i]^T + b [o] (b may be NULL) */
    if (n <= 0 || o <= 0)
        return;
    if (b)
        cuda_map(be, (int64_t)n * o, [=] __device__(int64_t e) { out[e] = b[e % o]; });
    cuda_sgemm(be, 0, 1, n, o, i, 1.0f, in, i, w, i, b ? 1.0f : 0.0f, out, o);
}

/* db [o] += column sums of dout [n, o], each in double and in row order (as the CPU) */
__global__ void cuda_dense_bias_grad_kernel(float *db, const float *dout, int32_t n, int32_t o)
{
    int32_t j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= o)
        return;
    double s = 0.0;
    for (int32_t r = 0; r < n; r++)
        s += dout[(int64_t)r * o + j];
    db[j] += (float)s;
}

static void cuda_dense_linear_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                       const float *in, const float *w, int32_t n, int32_t i, int32_t o, int acc)
{
    /* din [n, i] or NULL, dw [o, i] +=, db [o] += or NULL, dout [n, o], in [n, i], w [o, i] */
    if (n <= 0 || o <= 0) {
        if (din && !acc && n > 0)
            cuda_map(be, (int64_t)n * i, [=] __device__(int64_t e) { din[e] = 0.0f; });
        return;
    }
    if (db) {
        cuda_dense_bias_grad_kernel<<<(o + 127) / 128, 128, 0, cuda_of(be)->stream>>>(db, dout, n, o);
        CUDA_LAUNCHED();
    }
    if (dw) /* dw [o, i] += dout^T [o, n] in [n, i] */
        cuda_sgemm(be, 1, 0, o, i, n, 1.0f, dout, o, in, i, 1.0f, dw, i);
    if (din) /* din [n, i] (=|+=) dout [n, o] w [o, i] */
        cuda_sgemm(be, 0, 0, n, i, o, 1.0f, dout, o, w, i, acc ? 1.0f : 0.0f, din, i);
}

void cuda_dense_register(pd_backend *be)
{
    be->gemm = cuda_dense_gemm;
    be->linear_forward = cuda_dense_linear_forward;
    be->linear_backward = cuda_dense_linear_backward;
}
