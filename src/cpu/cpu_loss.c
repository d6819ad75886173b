/* cpu_loss.c — losses and predictions on the CPU backend (contracts in backend.h): softmax cross-entropy,
 * argmax, mean squared error.
 *
 * Softmax subtracts the row maximum before exponentiating and sums in double. The MSE over large arrays runs
 * in fixed chunks on the thread pool, each writing a partial sum that is added in chunk order, so the loss
 * does not depend on the thread count. */
#include <math.h>

#include "cpu.h"
#include "cpu_ops.h"

#define CPU_LOSS_CHUNK ((int64_t)1 << 15)

/* Index of the first maximum of x [c]; NaN counts as the largest value (as torch.argmax). */
static int32_t cpu_loss_argmax_row(const float *x, int32_t c)
{
    int32_t best = 0;
    float m = x[0];
    for (int32_t j = 1; j < c && m == m; j++)
        if (x[j] > m || x[j] != x[j]) {
            m = x[j];
            best = j;
        }
    return best;
}

static void cpu_loss_softmax_xent(pd_backend *be, float *loss_acc, int32_t *correct_acc, float *dlogits,
                                  const float *logits, const int32_t *labels, int32_t n, int32_t c)
{
    (void)be;
    /* loss_acc [1] +=, correct_acc [1] += or NULL, dlogits [n, c] or NULL, logits [n, c], labels [n] */
    double total = 0.0;
    int32_t correct = 0;
    double inv_n = n > 0 ? 1.0 / n : 0.0;
    for (int32_t r = 0; r < n; r++) {
        const float *x = logits + (int64_t)r * c; /* [c] */
        int32_t label = labels[r];
        PD_ASSERT(label >= 0 && label < c);
        int32_t am = cpu_loss_argmax_row(x, c);
        float m = x[am];
        correct += am == label;
        double sum = 0.0;
        for (int32_t j = 0; j < c; j++)
            sum += exp((double)x[j] - m);
        total += log(sum) + m - x[label];
        if (dlogits) {
            float *d = dlogits + (int64_t)r * c; /* [c] */
            double scale = inv_n / sum;
            for (int32_t j = 0; j < c; j++)
                d[j] = (float)(exp((double)x[j] - m) * scale - (j == label ? inv_n : 0.0));
        }
    }
    *loss_acc += (float)(total * inv_n);
    if (correct_acc)
        *correct_acc += correct;
}

static void cpu_loss_argmax(pd_backend *be, int32_t *pred, const float *logits, int32_t n, int32_t c)
{
    (void)be;
    /* pred [n], logits [n, c] */
    for (int32_t r = 0; r < n; r++)
        pred[r] = cpu_loss_argmax_row(logits + (int64_t)r * c, c);
}

typedef struct {
    double *part;       /* [chunks] partial sums of squares */
    float *dpred;       /* [n] or NULL */
    const float *pred;  /* [n] */
    const float *target; /* [n] */
    int64_t n;
    float scale;        /* 2 / n */
} cpu_loss_mse_args;

static void cpu_loss_mse_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    enum { L = 16 };
    const cpu_loss_mse_args *a = ctx;
    int64_t lo = task * CPU_LOSS_CHUNK, hi = lo + CPU_LOSS_CHUNK < a->n ? lo + CPU_LOSS_CHUNK : a->n;
    const float *p = a->pred, *t = a->target;
    float lane[L] = {0};
    int64_t i = lo;
    for (; i + L <= hi; i += L) {
#pragma GCC unroll 16
        for (int j = 0; j < L; j++) {
            float d = p[i + j] - t[i + j];
            lane[j] += d * d;
        }
    }
    double s = 0.0;
    for (; i < hi; i++)
        s += (double)(p[i] - t[i]) * (p[i] - t[i]);
    for (int j = 0; j < L; j++)
        s += lane[j];
    a->part[task] = s;
    if (a->dpred)
        for (i = lo; i < hi; i++)
            a->dpred[i] = a->scale * (p[i] - t[i]);
}

static void cpu_loss_mse(pd_backend *be, float *loss_acc, float *dpred, const float *pred, const float *target,
                         int64_t n)
{
    /* loss_acc [1] +=, dpred [n] or NULL, pred [n], target [n] */
    if (n <= 0)
        return;
    int64_t chunks = (n + CPU_LOSS_CHUNK - 1) / CPU_LOSS_CHUNK;
    double *part = cpu_scratch(be, 0, (size_t)chunks * sizeof(double));
    cpu_loss_mse_args a = {.part = part, .dpred = dpred, .pred = pred, .target = target, .n = n,
                           .scale = (float)(2.0 / (double)n)};
    cpu_parallel_for(be, chunks, cpu_loss_mse_task, &a);
    double s = 0.0;
    for (int64_t t = 0; t < chunks; t++)
        s += part[t];
    *loss_acc += (float)(s / (double)n);
}

void cpu_loss_register(pd_backend *be)
{
    be->softmax_xent = cpu_loss_softmax_xent;
    be->argmax = cpu_loss_argmax;
    be->mse = cpu_loss_mse;
}
