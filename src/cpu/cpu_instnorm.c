/* cpu_instnorm.c — InstanceNorm1d without affine parameters on the CPU backend (see backend.h, cpu.h).
 *
 * Every row of length l (rows = n c) is normalised on its own: out = (in - mean) rstd with
 * rstd = 1 / sqrt(var + eps) and the biased variance, as PyTorch. The backward pass is the usual
 *   din = rstd (dout - mean(dout) - xhat mean(dout xhat)),  xhat = (in - mean) rstd.
 * Rows are handed to the thread pool in fixed blocks; each row is reduced in a fixed order (eight float
 * partial sums, combined pairwise), so results never depend on which thread ran a block.
 */
#include <math.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "cpu_normact.h"

/* Elements per task, so tiny rows (the UNet's length 12) still make tasks worth scheduling. */
#define CPU_INSTNORM_TASK_ELEMS 16384

typedef struct {
    float *out;             /* forward: [rows, l]; backward: din [rows, l] */
    const float *in;        /* [rows, l] */
    const float *dout;      /* backward: [rows, l] */
    float *mean_out;        /* forward: save_mean [rows] */
    float *rstd_out;        /* forward: save_rstd [rows] */
    const float *mean_in;   /* backward: save_mean [rows] */
    const float *rstd_in;   /* backward: save_rstd [rows] */
    int64_t rows, per_task;
    int32_t l;
    float eps;
    int acc;
} cpu_instnorm_job;

/* sum of x [n] in eight float lanes, combined pairwise */
static float cpu_instnorm_sum(const float *restrict x, int32_t n)
{
    float acc[8] = {0};
    int32_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++)
            acc[q] += x[j + q];
    for (int q = 0; j + q < n; q++)
        acc[q] += x[j + q];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum of (x - m)^2 over x [n], as cpu_instnorm_sum */
static float cpu_instnorm_sqdev(const float *restrict x, float m, int32_t n)
{
    float acc[8] = {0};
    int32_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) {
            float d = x[j + q] - m;
            acc[q] += d * d;
        }
    for (int q = 0; j + q < n; q++) {
        float d = x[j + q] - m;
        acc[q] += d * d;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static void cpu_instnorm_forward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_instnorm_job *jb = ctx;
    int64_t r0 = task * jb->per_task, r1 = r0 + jb->per_task < jb->rows ? r0 + jb->per_task : jb->rows;
    int32_t l = jb->l;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = jb->in + r * l; /* [l] */
        float *y = jb->out + r * l;      /* [l] */
        float mean = cpu_instnorm_sum(x, l) / (float)l;
        float var = cpu_instnorm_sqdev(x, mean, l) / (float)l;
        float rstd = 1.0f / sqrtf(var + jb->eps);
        for (int32_t j = 0; j < l; j++)
            y[j] = (x[j] - mean) * rstd;
        jb->mean_out[r] = mean;
        jb->rstd_out[r] = rstd;
    }
}

static void cpu_instnorm_backward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_instnorm_job *jb = ctx;
    int64_t r0 = task * jb->per_task, r1 = r0 + jb->per_task < jb->rows ? r0 + jb->per_task : jb->rows;
    int32_t l = jb->l;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = jb->in + r * l;    /* [l] */
        const float *g = jb->dout + r * l;  /* [l] */
        float *dx = jb->out + r * l;        /* [l] */
        float mean = jb->mean_in[r], rstd = jb->rstd_in[r];
        float sg[8] = {0}, sgx[8] = {0};
        int32_t j = 0;
        for (; j + 8 <= l; j += 8)
            for (int q = 0; q < 8; q++) {
                sg[q] += g[j + q];
                sgx[q] += g[j + q] * ((x[j + q] - mean) * rstd);
            }
        for (int q = 0; j + q < l; q++) {
            sg[q] += g[j + q];
            sgx[q] += g[j + q] * ((x[j + q] - mean) * rstd);
        }
        float tg = ((sg[0] + sg[1]) + (sg[2] + sg[3])) + ((sg[4] + sg[5]) + (sg[6] + sg[7]));
        float tgx = ((sgx[0] + sgx[1]) + (sgx[2] + sgx[3])) + ((sgx[4] + sgx[5]) + (sgx[6] + sgx[7]));
        float mg = tg / (float)l, mgx = tgx / (float)l;
        if (jb->acc) {
            for (j = 0; j < l; j++)
                dx[j] += rstd * (g[j] - mg - (x[j] - mean) * rstd * mgx);
        } else {
            for (j = 0; j < l; j++)
                dx[j] = rstd * (g[j] - mg - (x[j] - mean) * rstd * mgx);
        }
    }
}

static int64_t cpu_instnorm_rows_per_task(int64_t rows, int32_t l)
{
    int64_t per = CPU_INSTNORM_TASK_ELEMS / (l > 0 ? l : 1);
    if (per < 1)
        per = 1;
    return per < rows ? per : (rows > 0 ? rows : 1);
}

/* out [rows, l] = normalised in [rows, l]; save_mean [rows], save_rstd [rows] */
static void cpu_instnorm_forward(pd_backend *be, float *out, const float *in, float *save_mean, float *save_rstd,
                                 int64_t rows, int32_t l, float eps)
{
    if (rows <= 0 || l <= 0)
        return;
    cpu_instnorm_job jb = {.out = out, .in = in, .mean_out = save_mean, .rstd_out = save_rstd, .rows = rows,
                           .l = l, .eps = eps};
    jb.per_task = cpu_instnorm_rows_per_task(rows, l);
    cpu_parallel_for(be, (rows + jb.per_task - 1) / jb.per_task, cpu_instnorm_forward_task, &jb);
}

/* din [rows, l] (written, or added when acc; may be NULL); dout, in [rows, l]; save_* [rows] */
static void cpu_instnorm_backward(pd_backend *be, float *din, const float *dout, const float *in,
                                  const float *save_mean, const float *save_rstd, int64_t rows, int32_t l, int acc)
{
    if (!din || rows <= 0 || l <= 0)
        return;
    cpu_instnorm_job jb = {.out = din, .in = in, .dout = dout, .mean_in = save_mean, .rstd_in = save_rstd,
                           .rows = rows, .l = l, .acc = acc};
    jb.per_task = cpu_instnorm_rows_per_task(rows, l);
    cpu_parallel_for(be, (rows + jb.per_task - 1) / jb.per_task, cpu_instnorm_backward_task, &jb);
}

void cpu_instnorm_register(pd_backend *be)
{
    be->instnorm_forward = cpu_instnorm_forward;
    be->instnorm_backward = cpu_instnorm_backward;
}
