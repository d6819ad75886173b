/* cpu_dense.c — dense ops of the CPU backend: gemm and the linear layer (contracts in backend.h).
 *
 * The linear layer's matrices are often thin (a classifier has o = 10 outputs), a shape where OpenBLAS's own
 * threading does not pay, so large products are cut into fixed blocks of rows (forward, input gradient) or
 * columns (weight gradient) that run on the thread pool with single-threaded BLAS. Blocks are independent
 * parts of the output and their size does not depend on the thread count, so results do not either. */
#include "cpu.h"

#define CPU_DENSE_ROWS 64   /* rows of out / din per task */
#define CPU_DENSE_COLS 256  /* columns of dw per task */
#define CPU_DENSE_MIN_FLOPS 2000000.0 /* smaller products run as one BLAS call */

static void cpu_dense_gemm(pd_backend *be, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha,
                           const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                           int32_t ldc)
{
    (void)be;
    /* c [m, ldc], a [m, k] or [k, m] (ta), b [k, n] or [n, k] (tb) */
    cpu_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

typedef struct {
    float *out;        /* [n, o] forward output, or din [n, i] */
    float *dw;         /* [o, i] */
    const float *in;   /* [n, i] */
    const float *w;    /* [o, i] */
    const float *b;    /* [o] or NULL */
    const float *dout; /* [n, o] */
    int32_t n, i, o;
    int acc;
} cpu_dense_args;

static void cpu_dense_forward_rows(const cpu_dense_args *a, int32_t r0, int32_t r1)
{
    float *out = a->out + (int64_t)r0 * a->o; /* [r1 - r0, o] */
    const float *in = a->in + (int64_t)r0 * a->i;
    if (a->b) {
        for (int32_t r = 0; r < r1 - r0; r++)
            for (int32_t j = 0; j < a->o; j++)
                out[(int64_t)r * a->o + j] = a->b[j];
    }
    cpu_sgemm(0, 1, r1 - r0, a->o, a->i, 1.0f, in, a->i, a->w, a->i, a->b ? 1.0f : 0.0f, out, a->o);
}

static void cpu_dense_forward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_dense_args *a = ctx;
    int32_t r0 = (int32_t)task * CPU_DENSE_ROWS;
    int32_t r1 = r0 + CPU_DENSE_ROWS < a->n ? r0 + CPU_DENSE_ROWS : a->n;
    cpu_dense_forward_rows(a, r0, r1);
}

static int64_t cpu_dense_blocks(pd_backend *be, int32_t len, int32_t block, double flops)
{
    if (be->threads <= 1 || flops < CPU_DENSE_MIN_FLOPS)
        return 1;
    return (len + block - 1) / block;
}

static void cpu_dense_linear_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                     int32_t n, int32_t i, int32_t o)
{
    /* out [n, o], in [n, i], w [o, i], b [o] or NULL */
    cpu_dense_args a = {.out = out, .in = in, .w = w, .b = b, .n = n, .i = i, .o = o};
    int64_t blocks = cpu_dense_blocks(be, n, CPU_DENSE_ROWS, 2.0 * n * i * o);
    if (blocks <= 1)
        cpu_dense_forward_rows(&a, 0, n);
    else
        cpu_parallel_for(be, blocks, cpu_dense_forward_task, &a);
}

/* din [r0:r1, i] (=|+=) dout [r0:r1, o] w [o, i] */
static void cpu_dense_din_rows(const cpu_dense_args *a, int32_t r0, int32_t r1)
{
    cpu_sgemm(0, 0, r1 - r0, a->i, a->o, 1.0f, a->dout + (int64_t)r0 * a->o, a->o, a->w, a->i,
              a->acc ? 1.0f : 0.0f, a->out + (int64_t)r0 * a->i, a->i);
}

static void cpu_dense_din_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_dense_args *a = ctx;
    int32_t r0 = (int32_t)task * CPU_DENSE_ROWS;
    int32_t r1 = r0 + CPU_DENSE_ROWS < a->n ? r0 + CPU_DENSE_ROWS : a->n;
    cpu_dense_din_rows(a, r0, r1);
}

/* dw [o, c0:c1] += dout^T [o, n] in [n, c0:c1] */
static void cpu_dense_dw_cols(const cpu_dense_args *a, int32_t c0, int32_t c1)
{
    cpu_sgemm(1, 0, a->o, c1 - c0, a->n, 1.0f, a->dout, a->o, a->in + c0, a->i, 1.0f, a->dw + c0, a->i);
}

static void cpu_dense_dw_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_dense_args *a = ctx;
    int32_t c0 = (int32_t)task * CPU_DENSE_COLS;
    int32_t c1 = c0 + CPU_DENSE_COLS < a->i ? c0 + CPU_DENSE_COLS : a->i;
    cpu_dense_dw_cols(a, c0, c1);
}

static void cpu_dense_linear_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                      const float *in, const float *w, int32_t n, int32_t i, int32_t o, int acc)
{
    /* din [n, i] or NULL, dw [o, i] +=, db [o] += or NULL, dout [n, o], in [n, i], w [o, i] */
    cpu_dense_args a = {.out = din, .dw = dw, .in = in, .w = w, .dout = dout, .n = n, .i = i, .o = o, .acc = acc};
    double flops = 2.0 * n * i * o;
    if (db) {
        for (int32_t j = 0; j < o; j++) {
            double s = 0.0;
            for (int32_t r = 0; r < n; r++)
                s += dout[(int64_t)r * o + j];
            db[j] += (float)s;
        }
    }
    int64_t blocks = cpu_dense_blocks(be, i, CPU_DENSE_COLS, flops);
    if (blocks <= 1)
        cpu_dense_dw_cols(&a, 0, i);
    else
        cpu_parallel_for(be, blocks, cpu_dense_dw_task, &a);
    if (din) {
        blocks = cpu_dense_blocks(be, n, CPU_DENSE_ROWS, flops);
        if (blocks <= 1)
            cpu_dense_din_rows(&a, 0, n);
        else
            cpu_parallel_for(be, blocks, cpu_dense_din_task, &a);
    }
}

void cpu_dense_register(pd_backend *be)
{
    be->gemm = cpu_dense_gemm;
    be->linear_forward = cpu_dense_linear_forward;
    be->linear_backward = cpu_dense_linear_backward;
}
