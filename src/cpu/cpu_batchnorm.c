/* cpu_batchnorm.c — BatchNorm2d on the CPU backend (contract in backend.h), PyTorch semantics: the batch
 * variance normalises with the biased estimate and enters the running variance unbiased.
 *
 * Two passes, each over the tensor in memory order with one task per sample on the thread pool (long
 * sequential streams; walking one channel at a time would hop between rows of a few hundred bytes that
 * the hardware prefetcher cannot follow): first every sample's per-channel sums (8 float lanes per row,
 * rows in double), then the per-channel affine map. The per-sample sums are added in sample order, so
 * results do not depend on the thread count.
 * Mean and variance come from one pass over the data shifted by one of its values, which keeps the
 * variance from cancelling when the mean is large. */
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "cpu_bnrelu.h"

#define CPU_BATCHNORM_PARALLEL_MIN ((int64_t)1 << 15) /* elements; smaller runs on the calling thread */

/* the fused passes are compiled for AVX-512 and the baseline and picked at load time (same results) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CPU_BN_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define CPU_BN_CLONES
#endif
#define CPU_BN_INLINE static inline __attribute__((always_inline)) /* into each clone */

typedef struct {
    float *out;              /* [n, c, hw] forward output, or din [n, c, hw] */
    const float *in;         /* [n, c, hw] */
    const float *dout;       /* [n, c, hw] (backward) */
    const float *center;     /* [c] subtracted from x: a shift for the moments, then the mean */
    double *part;            /* [n, c, 2] per-sample sums */
    const float *ka, *kb, *kc; /* [c] forward: out = ka (x - center) + kb; backward: din = ka dout
                                * - kb (x - center) + kc */
    const float *beta;       /* [c] (fused backward: recomputes the forward output) */
    int32_t n, c, hw;
    int32_t h, w;            /* fused: hw = h w */
    int pool;                /* fused: 2x2 max-pool after the ReLU */
    int acc;
} cpu_batchnorm_args;

/* Four floats as one value (a GCC/Clang vector extension): reductions written with it keep their partial
 * sums in registers, which GCC does not manage for arrays of scalar lanes. */
typedef float cpu_batchnorm_v4 __attribute__((vector_size(16)));

static cpu_batchnorm_v4 cpu_batchnorm_load(const float *p)
{
    cpu_batchnorm_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static double cpu_batchnorm_hsum(cpu_batchnorm_v4 v)
{
    return (double)v[0] + v[1] + v[2] + v[3];
}

/* sum of d and of d^2 for d = x [len] - shift, added to s1, s2 */
CPU_BN_INLINE void cpu_batchnorm_moments(const float *x, int64_t len, float shift, double *s1, double *s2)
{
    cpu_batchnorm_v4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        cpu_batchnorm_v4 d0 = cpu_batchnorm_load(x + i) - shift, d1 = cpu_batchnorm_load(x + i + 4) - shift;
        a0 += d0;
        a1 += d1;
        b0 += d0 * d0;
        b1 += d1 * d1;
    }
    double a = cpu_batchnorm_hsum(a0 + a1), b = cpu_batchnorm_hsum(b0 + b1);
    for (; i < len; i++) {
        double d = (double)x[i] - shift;
        a += d;
        b += d * d;
    }
    *s1 += a;
    *s2 += b;
}

/* sum of dy [len] and of dy (x [len] - mean), added to sdy, sdyx */
CPU_BN_INLINE void cpu_batchnorm_dsums(const float *dy, const float *x, int64_t len, float mean, double *sdy,
                                double *sdyx)
{
    cpu_batchnorm_v4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        cpu_batchnorm_v4 g0 = cpu_batchnorm_load(dy + i), g1 = cpu_batchnorm_load(dy + i + 4);
        a0 += g0;
        a1 += g1;
        b0 += g0 * (cpu_batchnorm_load(x + i) - mean);
        b1 += g1 * (cpu_batchnorm_load(x + i + 4) - mean);
    }
    double a = cpu_batchnorm_hsum(a0 + a1), b = cpu_batchnorm_hsum(b0 + b1);
    for (; i < len; i++) {
        a += dy[i];
        b += (double)dy[i] * (x[i] - mean);
    }
    *sdy += a;
    *sdyx += b;
}

/* pass 1: part [s, ch] = sums over sample s's row of channel ch */
CPU_BN_CLONES static void cpu_batchnorm_sums_task(void *ctx, int64_t smp, int thread)
{
    (void)thread;
    const cpu_batchnorm_args *a = ctx;
    int64_t hw = a->hw;
    for (int32_t ch = 0; ch < a->c; ch++) {
        int64_t row = smp * a->c + ch;
        double *pt = a->part + 2 * row;
        pt[0] = pt[1] = 0.0;
        if (a->dout)
            cpu_batchnorm_dsums(a->dout + row * hw, a->in + row * hw, hw, a->center[ch], &pt[0], &pt[1]);
        else
            cpu_batchnorm_moments(a->in + row * hw, hw, a->center[ch], &pt[0], &pt[1]);
    }
}

/* pass 2: the per-channel affine map of sample smp */
CPU_BN_CLONES static void cpu_batchnorm_apply_task(void *ctx, int64_t smp, int thread)
{
    (void)thread;
    const cpu_batchnorm_args *a = ctx;
    int64_t hw = a->hw;
    for (int32_t ch = 0; ch < a->c; ch++) {
        int64_t row = smp * a->c + ch;
        const float *x = a->in + row * hw;
        float *y = a->out + row * hw;
        float ka = a->ka[ch], kb = a->kb[ch], kc = a->kc[ch], m = a->center[ch];
        if (!a->dout) { /* x - mean first, as PyTorch: no cancellation when the mean is large */
            for (int64_t j = 0; j < hw; j++)
                y[j] = (x[j] - m) * ka + kb;
            continue;
        }
        const float *dy = a->dout + row * hw;
        if (a->acc)
            for (int64_t j = 0; j < hw; j++)
                y[j] += ka * dy[j] - kb * (x[j] - m) + kc;
        else
            for (int64_t j = 0; j < hw; j++)
                y[j] = ka * dy[j] - kb * (x[j] - m) + kc;
    }
}

/* ---- fused ReLU / ReLU + 2x2 max-pool passes (the per-plane kernels are in cpu_bnrelu.c) ---------------- */

/* forward: the fused pass of sample smp (kb holds beta) */
static void cpu_bnr_forward_task(void *ctx, int64_t smp, int thread)
{
    (void)thread;
    const cpu_batchnorm_args *a = ctx;
    int64_t osize = a->pool ? (int64_t)(a->h / 2) * (a->w / 2) : a->hw;
    for (int32_t ch = 0; ch < a->c; ch++) {
        int64_t row = smp * a->c + ch;
        cpu_bnr_forward_plane(a->out + row * osize, a->in + row * a->hw, a->h, a->w, a->pool, a->center[ch],
                              a->ka[ch], a->kb[ch]);
    }
}

/* backward pass 1: part [smp, ch] = sums of dy and dy (x - mean) (ka holds the forward's scale) */
static void cpu_bnr_sums_task(void *ctx, int64_t smp, int thread)
{
    (void)thread;
    const cpu_batchnorm_args *a = ctx;
    int64_t osize = a->pool ? (int64_t)(a->h / 2) * (a->w / 2) : a->hw;
    for (int32_t ch = 0; ch < a->c; ch++) {
        int64_t row = smp * a->c + ch;
        double *pt = a->part + 2 * row;
        pt[0] = pt[1] = 0.0;
        cpu_bnr_sums_plane(a->in + row * a->hw, a->dout + row * osize, a->h, a->w, a->pool, a->center[ch], a->ka[ch],
                           a->beta[ch], &pt[0], &pt[1]);
    }
}

/* backward pass 2: din of sample smp */
static void cpu_bnr_apply_task(void *ctx, int64_t smp, int thread)
{
    (void)thread;
    const cpu_batchnorm_args *a = ctx;
    int64_t osize = a->pool ? (int64_t)(a->h / 2) * (a->w / 2) : a->hw;
    for (int32_t ch = 0; ch < a->c; ch++) {
        int64_t row = smp * a->c + ch;
        cpu_bnr_apply_plane(a->out + row * a->hw, a->in + row * a->hw, a->dout + row * osize, a->h, a->w, a->pool,
                            a->center[ch], a->ka[ch], a->beta[ch], a->ka[ch], a->kb[ch], a->kc[ch], a->acc);
    }
}

static void cpu_batchnorm_run(pd_backend *be, cpu_batchnorm_args *a, pd_pool_fn fn)
{
    if ((int64_t)a->n * a->c * a->hw < CPU_BATCHNORM_PARALLEL_MIN)
        for (int32_t smp = 0; smp < a->n; smp++)
            fn(a, smp, 0);
    else
        cpu_parallel_for(be, a->n, fn, a);
}

/* Scratch for the per-sample sums [n, c, 2] doubles and four [c] float vectors. */
static double *cpu_batchnorm_scratch(pd_backend *be, int32_t n, int32_t c, float **vec)
{
    size_t part = (size_t)n * c * 2 * sizeof(double);
    double *p = cpu_scratch(be, 0, part + 4 * (size_t)c * sizeof(float));
    *vec = (float *)((char *)p + part);
    return p;
}

/* sums of part [n, c, 2] over samples for channel ch */
static void cpu_batchnorm_reduce(const double *part, int32_t n, int32_t c, int32_t ch, double *s1, double *s2)
{
    double a = 0.0, b = 0.0;
    for (int32_t smp = 0; smp < n; smp++) {
        a += part[2 * ((int64_t)smp * c + ch)];
        b += part[2 * ((int64_t)smp * c + ch) + 1];
    }
    *s1 = a;
    *s2 = b;
}

/* batchnorm2d_forward, then (fn != the plain apply pass) a fused ReLU / ReLU + max-pool pass */
static void cpu_batchnorm_forward_impl(pd_backend *be, float *out, const float *in, const float *gamma,
                                       const float *beta, float *run_mean, float *run_var, float *save_mean,
                                       float *save_rstd, int32_t n, int32_t c, int32_t h, int32_t w, int train,
                                       float momentum, float eps, int pool, pd_pool_fn fn)
{
    /* out [n, c, hw] (or pooled), in [n, c, hw]; gamma, beta, run_mean, run_var, save_mean, save_rstd [c] */
    int32_t hw = h * w;
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    float *vec;
    cpu_batchnorm_args a = {.out = out, .in = in, .n = n, .c = c, .hw = hw, .h = h, .w = w, .pool = pool};
    double *part = cpu_batchnorm_scratch(be, n, c, &vec);
    float *center = vec, *ka = vec + c, *kb = vec + 2 * c, *kc = vec + 3 * c; /* [c] each */
    a.center = center;
    a.part = part;
    a.ka = ka;
    a.kb = kb;
    a.kc = kc;
    int64_t count = (int64_t)n * hw;
    if (train) {
        for (int32_t ch = 0; ch < c; ch++) /* shift by one value of the channel: the variance cannot cancel */
            center[ch] = in[(int64_t)ch * hw];
        cpu_batchnorm_run(be, &a, cpu_batchnorm_sums_task);
    }
    for (int32_t ch = 0; ch < c; ch++) {
        float mean, rstd;
        if (train) {
            double s1, s2;
            cpu_batchnorm_reduce(part, n, c, ch, &s1, &s2);
            double dm = s1 / (double)count;
            double ss = s2 - s1 * dm; /* sum of squared deviations from the mean */
            ss = ss > 0.0 ? ss : 0.0;
            double var = ss / (double)count, uvar = count > 1 ? ss / (double)(count - 1) : var;
            mean = (float)(center[ch] + dm);
            rstd = (float)(1.0 / sqrt(var + (double)eps));
            run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mean;
            run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (float)uvar;
        } else {
            mean = run_mean[ch];
            rstd = (float)(1.0 / sqrt((double)run_var[ch] + (double)eps));
        }
        save_mean[ch] = center[ch] = mean;
        save_rstd[ch] = rstd;
        ka[ch] = gamma[ch] * rstd;
        kb[ch] = beta[ch];
        kc[ch] = 0.0f;
    }
    cpu_batchnorm_run(be, &a, fn);
}

static void cpu_batchnorm_forward(pd_backend *be, float *out, const float *in, const float *gamma,
                                  const float *beta, float *run_mean, float *run_var, float *save_mean,
                                  float *save_rstd, int32_t n, int32_t c, int32_t hw, int train, float momentum,
                                  float eps)
{
    cpu_batchnorm_forward_impl(be, out, in, gamma, beta, run_mean, run_var, save_mean, save_rstd, n, c, 1, hw, train,
                               momentum, eps, 0, cpu_batchnorm_apply_task);
}

/* batchnorm2d_backward with the given sums and apply passes (the plain ones, or the fused ReLU / max-pool ones
 * that recompute the gradient reaching the BatchNorm output) */
static void cpu_batchnorm_backward_impl(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                                        const float *in, const float *gamma, const float *beta,
                                        const float *save_mean, const float *save_rstd, int32_t n, int32_t c,
                                        int32_t h, int32_t w, int train, int acc, int pool, pd_pool_fn sums,
                                        pd_pool_fn apply)
{
    /* din [n, c, hw] or NULL, dgamma, dbeta [c] +=, dout, in [n, c, hw], gamma, save_mean, save_rstd [c] */
    int32_t hw = h * w;
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    float *vec;
    cpu_batchnorm_args a = {.out = din, .in = in, .dout = dout, .center = save_mean, .beta = beta, .n = n, .c = c,
                            .hw = hw, .h = h, .w = w, .pool = pool, .acc = acc};
    double *part = cpu_batchnorm_scratch(be, n, c, &vec);
    float *ka = vec + c, *kb = vec + 2 * c, *kc = vec + 3 * c; /* [c] each */
    a.part = part;
    a.ka = ka;
    a.kb = kb;
    a.kc = kc;
    int64_t count = (int64_t)n * hw;
    for (int32_t ch = 0; ch < c; ch++) /* the forward's scale: the fused passes recompute its output */
        ka[ch] = gamma[ch] * save_rstd[ch];
    cpu_batchnorm_run(be, &a, sums);
    for (int32_t ch = 0; ch < c; ch++) {
        double sdy, sdyx; /* sum dout, sum dout (x - mean) */
        cpu_batchnorm_reduce(part, n, c, ch, &sdy, &sdyx);
        cpu_batchnorm_grad_coefs(sdy, sdyx, gamma[ch], save_rstd[ch], count, train, dgamma + ch, dbeta + ch,
                                 ka + ch, kb + ch, kc + ch);
    }
    if (din)
        cpu_batchnorm_run(be, &a, apply);
}

static void cpu_batchnorm_backward(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                                   const float *in, const float *gamma, const float *save_mean,
                                   const float *save_rstd, int32_t n, int32_t c, int32_t hw, int train, int acc)
{
    cpu_batchnorm_backward_impl(be, din, dgamma, dbeta, dout, in, gamma, NULL, save_mean, save_rstd, n, c, 1, hw,
                                train, acc, 0, cpu_batchnorm_sums_task, cpu_batchnorm_apply_task);
}

typedef struct {
    float *out;
    const float *mx, *mn;
    const float *k, *m, *b; /* [c] scale, mean, shift */
    int32_t c, hw;
} cpu_batchnorm_pool_args;

CPU_VEC void cpu_bn_relu_pool_rows(float *out, const float *mx, const float *mn, const float *k, const float *m,
                           const float *b, int32_t c, int32_t hw)
{
    for (int32_t ch = 0; ch < c; ch++) {
        int64_t row = (int64_t)ch * hw;
        const float *x = k[ch] >= 0.0f ? mx + row : mn + row;
        float *y = out + row;
        float kk = k[ch], mm = m[ch], bb = b[ch];
        for (int32_t j = 0; j < hw; j++) {
            float v = (x[j] - mm) * kk + bb; /* the expression batchnorm's eval pass computes */
            y[j] = v > 0.0f ? v : 0.0f;
        }
    }
}

void cpu_batchnorm_eval_scale(float *k, const float *gamma, const float *run_var, float eps, int32_t c)
{
    for (int32_t ch = 0; ch < c; ch++)
        k[ch] = gamma[ch] * (float)(1.0 / sqrt((double)run_var[ch] + (double)eps));
}

static void cpu_batchnorm_pool_task(void *ctx, int64_t smp, int thread)
{
    (void)thread;
    const cpu_batchnorm_pool_args *a = ctx;
    int64_t off = smp * a->c * a->hw;
    cpu_bn_relu_pool_rows(a->out + off, a->mx + off, a->mn + off, a->k, a->m, a->b, a->c, a->hw);
}

static void cpu_batchnorm_relu_pool_eval(pd_backend *be, float *out, const float *mx, const float *mn,
                                         const float *gamma, const float *beta, const float *run_mean,
                                         const float *run_var, float eps, int32_t n, int32_t c, int32_t hw)
{
    /* out, mx, mn [n, c, hw]; gamma, beta, run_mean, run_var [c] */
    if (n <= 0 || c <= 0 || hw <= 0)
        return;
    float *k = cpu_scratch(be, 0, (size_t)c * sizeof(float));
    cpu_batchnorm_eval_scale(k, gamma, run_var, eps, c);
    cpu_batchnorm_pool_args a = {.out = out, .mx = mx, .mn = mn, .k = k, .m = run_mean, .b = beta, .c = c, .hw = hw};
    if ((int64_t)n * c * hw < CPU_BATCHNORM_PARALLEL_MIN)
        for (int32_t smp = 0; smp < n; smp++)
            cpu_batchnorm_pool_task(&a, smp, 0);
    else
        cpu_parallel_for(be, n, cpu_batchnorm_pool_task, &a);
}

static void cpu_batchnorm_relu_forward(pd_backend *be, float *out, const float *in, const float *gamma,
                                       const float *beta, float *run_mean, float *run_var, float *save_mean,
                                       float *save_rstd, int32_t n, int32_t c, int32_t h, int32_t w, int pool,
                                       int train, float momentum, float eps)
{
    /* out [n, c, h/2, w/2] (pool) or [n, c, h, w], in [n, c, h, w]; the rest [c] */
    cpu_batchnorm_forward_impl(be, out, in, gamma, beta, run_mean, run_var, save_mean, save_rstd, n, c, h, w, train,
                               momentum, eps, pool != 0, cpu_bnr_forward_task);
}

static void cpu_batchnorm_relu_backward(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                                        const float *in, const float *gamma, const float *beta,
                                        const float *save_mean, const float *save_rstd, int32_t n, int32_t c,
                                        int32_t h, int32_t w, int pool, int train, int acc)
{
    /* din [n, c, h, w] or NULL, dout shaped like the forward output, in [n, c, h, w]; the rest [c] */
    cpu_batchnorm_backward_impl(be, din, dgamma, dbeta, dout, in, gamma, beta, save_mean, save_rstd, n, c, h, w, train,
                                acc, pool != 0, cpu_bnr_sums_task, cpu_bnr_apply_task);
}

void cpu_batchnorm_register(pd_backend *be)
{
    be->bn_relu_forward = cpu_batchnorm_relu_forward;
    be->bn_relu_backward = cpu_batchnorm_relu_backward;
    be->bn_relu_pool_eval = cpu_batchnorm_relu_pool_eval;
    be->batchnorm2d_forward = cpu_batchnorm_forward;
    be->batchnorm2d_backward = cpu_batchnorm_backward;
}

void cpu_batchnorm_grad_coefs(double sdy, double sdyx, float gamma, float rstd, int64_t count, int train,
                              float *dgamma, float *dbeta, float *ka, float *kb, float *kc)
{
    *dgamma += (float)(sdyx * rstd);
    *dbeta += (float)sdy;
    /* train: din = g r (dout - sdy / N - xhat sum(dout xhat) / N) = ka dout - kb (x - mean) + kc
     * eval:  din = g r dout */
    *ka = gamma * rstd;
    *kb = *kc = 0.0f;
    if (train) {
        *kb = (float)((double)*ka * rstd * rstd * sdyx / (double)count);
        *kc = (float)(-(double)*ka * sdy / (double)count);
    }
}
