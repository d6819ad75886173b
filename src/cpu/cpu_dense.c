/* cpu_dense.c — dense ops of the CPU backend: gemm and the linear layer (contracts in backend.h).
 *
 * The linear layer's matrices are often thin (a classifier has o = 10 outputs), a shape where OpenBLAS's own
 * threading does not pay, so large products are cut into fixed blocks of rows (forward, input gradient) or
 * columns (weight gradient) that run on the thread pool with single-threaded BLAS. Blocks are independent
 * parts of the output and their size does not depend on the thread count, so results do not either.
 * A thin forward (o <= CPU_DENSE_THIN) skips BLAS, whose packing of the whole input costs as much as the
 * product there: each output is a dot product in 16 lanes (lane = input index mod 16, in index order, the lanes
 * then summed pairwise) plus the bias, the same on every path and for any batch size or blocking. */
#include "cpu.h"
#include "cpu_ops.h"
#include "cpu_simd.h"

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

/* CPU_DENSE_THIN (cpu_ops.h): at most this many outputs take the dot-product forward */

typedef float cpu_dense_v16 __attribute__((vector_size(64), aligned(4), may_alias));

static inline float cpu_dense_lanes(cpu_dense_v16 v)
{
    float t[8];
    for (int q = 0; q < 8; q++)
        t[q] = v[2 * q] + v[2 * q + 1];
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* rows r .. r + R - 1 of out [., o] = in [., ni] w^T (+ b), R = 1 or 2 rows sharing each weight load */
static inline __attribute__((always_inline)) void cpu_dense_thin_rows(float *out, const float *in, const float *w,
                                                                      const float *b, int32_t ni, int32_t o,
                                                                      int R)
{
    cpu_dense_v16 acc[2][CPU_DENSE_THIN];
    for (int r = 0; r < R; r++)
        for (int32_t j = 0; j < o; j++)
            acc[r][j] = (cpu_dense_v16){0};
    int32_t k = 0;
    for (; k + 16 <= ni; k += 16) {
        cpu_dense_v16 x0 = *(const cpu_dense_v16 *)(in + k), x1 = x0;
        if (R == 2)
            x1 = *(const cpu_dense_v16 *)(in + ni + k);
        for (int32_t j = 0; j < o; j++) {
            cpu_dense_v16 wv = *(const cpu_dense_v16 *)(w + (int64_t)j * ni + k);
            acc[0][j] += x0 * wv;
            if (R == 2)
                acc[1][j] += x1 * wv;
        }
    }
    if (k < ni) { /* the last partial vector: its lanes alone */
        for (int r = 0; r < R; r++) {
            cpu_dense_v16 xv = {0};
            for (int32_t q = k; q < ni; q++)
                xv[q - k] = in[(int64_t)r * ni + q];
            for (int32_t j = 0; j < o; j++) {
                cpu_dense_v16 wv = {0};
                for (int32_t q = k; q < ni; q++)
                    wv[q - k] = w[(int64_t)j * ni + q];
                acc[r][j] += xv * wv;
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int32_t j = 0; j < o; j++) {
            float d = cpu_dense_lanes(acc[r][j]);
            out[(int64_t)r * o + j] = b ? d + b[j] : d;
        }
}

CPU_VEC static void cpu_dense_thin(const cpu_dense_args *a, int32_t r0, int32_t r1)
{
    int32_t r = r0;
    if (a->o == 10) /* the classifiers: the accumulators stay in registers */
        for (; r + 2 <= r1; r += 2)
            cpu_dense_thin_rows(a->out + (int64_t)r * 10, a->in + (int64_t)r * a->i, a->w, a->b, a->i, 10, 2);
    for (; r + 2 <= r1; r += 2)
        cpu_dense_thin_rows(a->out + (int64_t)r * a->o, a->in + (int64_t)r * a->i, a->w, a->b, a->i, a->o, 2);
    for (; r < r1; r++)
        cpu_dense_thin_rows(a->out + (int64_t)r * a->o, a->in + (int64_t)r * a->i, a->w, a->b, a->i, a->o, 1);
}

CPU_VEC void cpu_dense_thin_row(float *out, const float *in, const float *w, const float *b, int32_t i, int32_t o)
{
    cpu_dense_thin_rows(out, in, w, b, i, o, 1);
}

static void cpu_dense_forward_rows(const cpu_dense_args *a, int32_t r0, int32_t r1)
{
    if (a->o <= CPU_DENSE_THIN) {
        cpu_dense_thin(a, r0, r1);
        return;
    }
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
