/* cpu_convbn.c — the fused convolution -> BatchNorm2d -> ReLU (-> 2x2 max-pool) block of the CPU backend
 * (conv_bn_relu_forward / conv_bn_relu_backward, contracts in backend.h).
 *
 * The convolution output x stays in the op pair's buffer channel-innermost, [n, h w, cout]: no transposes around
 * the Winograd products, and every BatchNorm / ReLU / pool step works on vectors of 16 channels (the planes of
 * these layers are too narrow for vectors along their rows).
 *   forward   the convolution (Winograd F(2x2, 3x3), or a direct loop when it has few input taps); per sample,
 *             while its plane is in cache: + bias, stored, and (train) its per-channel mean and sum of squared
 *             deviations; batch statistics by Chan's pairwise update in sample order; then per sample
 *             relu((x - mean) gamma rstd + beta), the first maximum of each 2x2 window, and one transpose of that
 *             (pooled) result to planar out. The expressions are those of the separate ops, so in eval mode the
 *             block's output equals conv2d -> bn_relu bit for bit (train mode: the same up to the summation
 *             order of the statistics).
 *   backward  per sample dy, the gradient reaching the BatchNorm output (recomputed from x and dout as
 *             bn_relu_backward does), summed per channel; then the BatchNorm input gradient
 *             ka dy - kb (x - mean) + kc is formed per sample, channel-innermost, right where the convolution's
 *             backward consumes it (the Winograd's output-gradient transform, or the direct loop's products).
 * Shapes the fast kinds do not cover (cout not a multiple of 16, other convolutions, planes under 16 values) run
 * the separate ops with x planar. The kind depends only on the shape. The forward keeps its per-sample statistics
 * in out and the backward its sums and per-channel maps in work until those are overwritten or done with.
 * Everything is computed per sample or per fixed group of samples and combined in order: results do not depend
 * on the thread count. */
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "cpu_winograd.h"

#define CB_L CPU_WG_LANES
#define CB_DIRECT_TAPS 32 /* cin k k at most for the direct convolution */
#define CB_GROUPS 8       /* direct backward: weight-gradient partials, whatever the thread count */

typedef float cb_v __attribute__((vector_size(4 * CB_L), aligned(4), may_alias));
typedef int32_t cb_vi __attribute__((vector_size(4 * CB_L), aligned(4), may_alias));
#define CB_LD(p) (*(const cb_v *)(p))
#define CB_ST(p, v) (*(cb_v *)(p) = (v))
#define CB_SEL(mask, a, b) ((cb_v)(((cb_vi)(a) & (mask)) | ((cb_vi)(b) & ~(mask)))) /* mask ? a : b, lane-wise */

enum { CB_PLAIN, CB_WINO, CB_DIRECT };

typedef struct {
    const pd_conv2d_shape *s;
    int kind, pool, train, keep, acc; /* keep: x is stored (train, or a backward follows) */
    int32_t c, h, w, ho, wo;      /* channels and plane of x; plane of out (h/2, w/2 with the pool) */
    int64_t hw, ohw;
    float *x;                     /* [n, hw, c] */
    const float *in, *b;          /* [n, cin, H, W]; bias [c] or NULL */
    float *out;                   /* [n, c, ho, wo] */
    const float *dout;            /* [n, c, ho, wo] */
    float *din;                   /* [n, cin, H, W] or NULL (direct kind) */
    const float *m, *gamma, *rstd, *beta; /* [c]: the forward map (x - m) gamma rstd + beta */
    const float *ka, *kb, *kc;    /* [c]: the backward map ka dy - kb (x - m) + kc (ka = gamma rstd) */
    double *part;                 /* [n, c, 2] per-sample statistics or sums */
    float *tmp;                   /* [threads, tmp_floats] */
    int64_t tmp_floats;
    /* direct kind */
    const float *wt;              /* [taps, c]: the weights with the taps outermost */
    int32_t taps, hp, wp;         /* cin k k; zero-padded input plane */
    int64_t toff[CB_DIRECT_TAPS]; /* offset of tap t = (ci, ky, kx) in the padded input */
    float *dwp;                   /* [ngroups, taps, c] weight-gradient partials */
    double *dbp;                  /* [ngroups, c] */
    int64_t ngroups, dwp_floats;
    cpu_wg_hooks hooks;           /* Winograd kind: the hooks (their ctx is this) */
    /* pool_conv_bn_relu_eval: the input is relu((x - pm) pk + pb) with x from pmx (pk >= 0) or pmn [n, cin, h, w],
     * made per sample at load_off of the thread's scratch */
    const float *pmx, *pmn, *pk, *pm, *pb;
    int64_t load_off;
    const pd_linear_eval *head;   /* or NULL: the classifier that replaces out, from the sample's plane at head_off */
    int64_t head_off;
} cb_args;

static int cb_kind(const pd_conv2d_shape *s, int pool)
{
    int64_t hw = (int64_t)s->ho * s->wo, ohw = pool ? (int64_t)(s->ho / 2) * (s->wo / 2) : hw;
    if (s->cout % CB_L != 0 || hw < 16 || ohw < 4) /* ohw >= 4: out holds the statistics, 4 floats a channel */
        return CB_PLAIN;
    if (cpu_winograd_fits(s))
        return CB_WINO;
    if ((int64_t)s->cin * s->k * s->k <= CB_DIRECT_TAPS)
        return CB_DIRECT;
    return CB_PLAIN;
}

static int64_t cb_round(int64_t n)
{
    return (n + CB_L - 1) & ~(int64_t)(CB_L - 1);
}

static float *cb_tmp(const cb_args *a, int thread)
{
    return a->tmp + thread * a->tmp_floats;
}

/* ---- batch statistics and maps ------------------------------------------------------------------------- */

/* From the per-sample means and squared deviations in part (train) or the running statistics (eval). */
static void cb_stats(const cb_args *a, int32_t n, float *run_mean, float *run_var, float *save_mean,
                     float *save_rstd, int train, float momentum, float eps)
{
    for (int32_t ch = 0; ch < a->c; ch++) {
        if (!train) {
            save_mean[ch] = run_mean[ch];
            save_rstd[ch] = (float)(1.0 / sqrt((double)run_var[ch] + (double)eps));
            continue;
        }
        double cnt = 0.0, mean = 0.0, m2 = 0.0, nb = (double)a->hw;
        for (int32_t smp = 0; smp < n; smp++) { /* Chan et al.: add sample smp's (count, mean, m2) */
            const double *pt = a->part + ((int64_t)smp * a->c + ch) * 2;
            double tot = cnt + nb, d = pt[0] - mean;
            mean += d * nb / tot;
            m2 += pt[1] + d * d * cnt * nb / tot;
            cnt = tot;
        }
        m2 = m2 > 0.0 ? m2 : 0.0;
        double var = m2 / cnt, uvar = cnt > 1.0 ? m2 / (cnt - 1.0) : var;
        float fm = (float)mean;
        save_mean[ch] = fm;
        save_rstd[ch] = (float)(1.0 / sqrt(var + (double)eps));
        run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * fm;
        run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (float)uvar;
    }
}

/* dgamma, dbeta and the backward map from the per-sample sums (as batchnorm2d_backward) */
static void cb_coefficients(const cb_args *a, int32_t n, float *dgamma, float *dbeta, const float *gamma,
                            const float *save_rstd, float *ka, float *kb, float *kc, int train)
{
    int64_t count = (int64_t)n * a->hw;
    for (int32_t ch = 0; ch < a->c; ch++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int32_t smp = 0; smp < n; smp++) {
            sdy += a->part[((int64_t)smp * a->c + ch) * 2];
            sdyx += a->part[((int64_t)smp * a->c + ch) * 2 + 1];
        }
        cpu_batchnorm_grad_coefs(sdy, sdyx, gamma[ch], save_rstd[ch], count, train, dgamma + ch, dbeta + ch,
                                 ka + ch, kb + ch, kc + ch);
    }
}

/* ---- the direct convolution (few input taps) ----------------------------------------------------------- */

/* pad [cin, hp, wp] <- sample smp's input, zero-bordered (the border is cleared here: the area is shared) */
static void cb_pad_input(const cb_args *a, float *pad, int32_t smp)
{
    const pd_conv2d_shape *s = a->s;
    int64_t plane = (int64_t)s->h * s->w;
    memset(pad, 0, (size_t)s->cin * a->hp * a->wp * sizeof(float));
    for (int32_t ci = 0; ci < s->cin; ci++)
        for (int32_t yy = 0; yy < s->h; yy++)
            memcpy(pad + ((int64_t)ci * a->hp + yy + s->pad) * a->wp + s->pad,
                   a->in + ((int64_t)smp * s->cin + ci) * plane + (int64_t)yy * s->w, (size_t)s->w * sizeof(float));
}

/* offset of tap t = (ci, ky, kx) of output position (oy, ox) in the padded input */
static inline int64_t cb_tap(const cb_args *a, int32_t t, int32_t oy, int32_t ox)
{
    const pd_conv2d_shape *s = a->s;
    int32_t kx = t % s->k, ky = t / s->k % s->k, ci = t / (s->k * s->k);
    return ((int64_t)ci * a->hp + oy * s->stride + ky) * a->wp + ox * s->stride + kx;
}

/* ---- the kernels, twice ------------------------------------------------------------------------------------
 * For the AVX-512 of server cores (F, DQ, BW, VL: lane masks turn into vectors without a detour) and for the
 * baseline; picked at run time, both compute the same values. (GCC's target_clones cannot name several
 * features in one clone, and its "arch=" clones test the CPU model.) */

#define CB_FWD(xv, mv, kv, bv, zero)                                                                               \
    ({                                                                                                             \
        cb_v v_ = ((xv) - (mv)) * (kv) + (bv);                                                                     \
        CB_SEL((cb_vi)(v_ < (zero)), (zero), v_);                                                                  \
    })

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(PD_NO_AVX512)
#define CB_X86 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
#define CB_SUFFIX(name) name##_512
#include "cpu_convbn_kern.h"
#undef CB_SUFFIX
#pragma GCC pop_options

#define CB_PICK(name, args) (cpu_has_avx512() ? name##_512 args : name##_gen args)
#else
#define CB_PICK(name, args) (name##_gen args)
#endif
#define CB_SUFFIX(name) name##_gen
#include "cpu_convbn_kern.h"
#undef CB_SUFFIX

static void cb_emit(const cb_args *a, int32_t smp, const float *y, int32_t ld, float *acc)
{
    CB_PICK(cb_emit, (a, smp, y, ld, acc));
}

static void cb_eval_emit(const cb_args *a, int32_t smp, const float *y, int32_t ld, float *t)
{
    CB_PICK(cb_eval_emit, (a, smp, y, ld, t));
}

static void cb_dbn(const cb_args *a, int32_t smp, float *y, int32_t ld, float *g)
{
    CB_PICK(cb_dbn, (a, smp, y, ld, g));
}

static void cb_forward_task(void *ctx, int64_t smp, int thread)
{
    CB_PICK(cb_forward_task, (ctx, smp, thread));
}

static void cb_sums_task(void *ctx, int64_t smp, int thread)
{
    CB_PICK(cb_sums_task, (ctx, smp, thread));
}

static void cb_direct_backward_task(void *ctx, int64_t grp, int thread)
{
    CB_PICK(cb_direct_backward_task, (ctx, grp, thread));
}

static void cb_direct_forward_task(void *ctx, int64_t smp, int thread)
{
    const cb_args *a = ctx;
    float *pad = cb_tmp(a, thread), *y = pad + cb_round((int64_t)a->s->cin * a->hp * a->wp);
    cb_pad_input(a, pad, (int32_t)smp);
    CB_PICK(cb_direct_conv, (a, pad, y));
    if (a->keep)
        cb_emit(a, (int32_t)smp, y, a->w, y + a->hw * a->c);
    else
        cb_eval_emit(a, (int32_t)smp, y, a->w, y + a->hw * a->c);
}

/* ---- Winograd hooks ------------------------------------------------------------------------------------- */

static void cb_wg_emit(const cpu_wg_hooks *h, int32_t smp, const float *y, int32_t ld, int thread)
{
    const cb_args *a = h->ctx;
    if (a->keep)
        cb_emit(a, smp, y, ld, h->extra + thread * a->tmp_floats);
    else
        cb_eval_emit(a, smp, y, ld, h->extra + thread * a->tmp_floats);
}

static void cb_wg_gather(const cpu_wg_hooks *h, int32_t smp, float *y, int32_t ld, int thread)
{
    const cb_args *a = h->ctx;
    cb_dbn(a, smp, y, ld, h->extra + thread * a->tmp_floats);
}

static void cb_wg_load(const cpu_wg_hooks *h, int32_t smp, float *x, int32_t wp, int64_t cp, int thread)
{
    const cb_args *a = h->ctx;
    const pd_conv2d_shape *s = a->s;
    float *t = h->extra + thread * a->tmp_floats + a->load_off;
    int64_t plane = (int64_t)s->h * s->w, off = (int64_t)smp * s->cin * plane;
    cpu_wg_to_cl_bnrelu(x, wp, cp, 1, 1, a->pmx + off, a->pmn + off, a->pk, a->pm, a->pb, t, s->cin, s->h, s->w);
}

/* ---- the ops -------------------------------------------------------------------------------------------- */

/* wt [taps, c] = w [c, taps]: the direct kind's weights with the taps outermost */
static void cb_taps_first(const cb_args *a, float *wt, const float *w)
{
    for (int32_t co = 0; co < a->c; co++)
        for (int32_t t = 0; t < a->taps; t++)
            wt[(int64_t)t * a->c + co] = w[(int64_t)co * a->taps + t];
}

static void cb_init(cb_args *a, pd_backend *be, const pd_conv2d_shape *s, int pool)
{
    memset(a, 0, sizeof *a);
    a->s = s;
    a->pool = pool;
    a->kind = cb_kind(s, pool);
    a->c = s->cout;
    a->h = s->ho;
    a->w = s->wo;
    a->hw = (int64_t)s->ho * s->wo;
    a->ho = pool ? s->ho / 2 : s->ho;
    a->wo = pool ? s->wo / 2 : s->wo;
    a->ohw = (int64_t)a->ho * a->wo;
    a->taps = s->cin * s->k * s->k;
    a->hp = s->h + 2 * s->pad;
    a->wp = s->w + 2 * s->pad;
    if (a->kind == CB_DIRECT)
        for (int32_t t = 0; t < a->taps; t++)
            a->toff[t] = cb_tap(a, t, 0, 0);
    (void)be;
}

/* per-thread scratch floats of the BatchNorm steps: a (pooled) plane of channels plus 2 c */
static int64_t cb_bn_tmp(const cb_args *a)
{
    return cb_round(a->ohw * a->c + 2 * a->c);
}

static void cb_run(pd_backend *be, int64_t n, pd_pool_fn fn, void *ctx)
{
    cpu_parallel_for(be, n, fn, ctx);
}

static void cpu_convbn_forward(pd_backend *be, float *out, float *x, const float *in, const float *w, const float *b,
                               const pd_conv2d_shape *s, const float *gamma, const float *beta, float *run_mean,
                               float *run_var, float *save_mean, float *save_rstd, int pool, int train,
                               float momentum, float eps, int keep)
{
    /* out [n, cout, ho', wo'], x [n, cout, ho, wo] (the block's), in [n, cin, h, w], w [cout, cin, k, k],
     * b [cout] or NULL; gamma, beta, run_mean, run_var, save_mean, save_rstd [cout] */
    cb_args a;
    cb_init(&a, be, s, pool != 0);
    if (s->n <= 0 || a.c <= 0 || a.hw <= 0)
        return;
    if (a.kind == CB_PLAIN) {
        be->conv2d_forward(be, x, in, w, b, s);
        be->bn_relu_forward(be, out, x, gamma, beta, run_mean, run_var, save_mean, save_rstd, s->n, a.c, a.h, a.w,
                            pool, train, momentum, eps);
        return;
    }
    a.train = train;
    a.keep = keep || train;
    a.x = x;
    a.in = in;
    a.b = b;
    a.out = out;
    a.part = (double *)out; /* [n, c, 2]: fits (ohw >= 4), read before out is written */
    a.gamma = gamma;
    a.beta = beta;
    a.m = save_mean;
    a.rstd = save_rstd;
    if (!train) /* eval: the map is known up front; without keep the convolution output goes straight to out */
        cb_stats(&a, s->n, run_mean, run_var, save_mean, save_rstd, 0, momentum, eps);
    a.tmp_floats = cb_bn_tmp(&a);
    if (a.kind == CB_WINO) {
        a.hooks = (cpu_wg_hooks){.emit = cb_wg_emit, .ctx = &a, .extra_floats = be->threads * a.tmp_floats,
                                 .fast = !a.keep};
        cpu_winograd_forward_hooked(be, in, w, s, &a.hooks);
    } else {
        int64_t conv_tmp = cb_round((int64_t)s->cin * a.hp * a.wp) + a.hw * a.c + cb_bn_tmp(&a);
        a.tmp_floats = a.tmp_floats > conv_tmp ? a.tmp_floats : conv_tmp;
        int64_t wt_floats = cb_round((int64_t)a.taps * a.c);
        float *sc = cpu_scratch(be, 0, (size_t)(wt_floats + be->threads * a.tmp_floats) * sizeof(float));
        cb_taps_first(&a, sc, w);
        a.wt = sc;
        a.tmp = sc + wt_floats;
        cb_run(be, s->n, cb_direct_forward_task, &a);
    }
    if (!a.keep)
        return;
    if (train)
        cb_stats(&a, s->n, run_mean, run_var, save_mean, save_rstd, train, momentum, eps);
    a.tmp_floats = cb_bn_tmp(&a);
    a.tmp = cpu_scratch(be, 0, (size_t)(be->threads * a.tmp_floats) * sizeof(float));
    cb_run(be, s->n, cb_forward_task, &a);
}

static void cpu_convbn_backward(pd_backend *be, float *din, float *dw, float *db, float *dgamma, float *dbeta,
                                float *work, const float *dout, const float *x, const float *in, const float *w,
                                const pd_conv2d_shape *s, const float *gamma, const float *beta,
                                const float *save_mean, const float *save_rstd, int pool, int train, int acc)
{
    /* din [n, cin, h, w] or NULL, dw [cout, cin, k, k] += or NULL (then the convolution is skipped), db [cout] +=
     * or NULL, dgamma, dbeta [cout] +=, work [n, cout, ho, wo] scratch, dout [n, cout, ho', wo'], x and in as
     * in the forward */
    cb_args a;
    cb_init(&a, be, s, pool != 0);
    if (s->n <= 0 || a.c <= 0 || a.hw <= 0)
        return;
    if (a.kind == CB_PLAIN) {
        be->bn_relu_backward(be, work, dgamma, dbeta, dout, x, gamma, beta, save_mean, save_rstd, s->n, a.c, a.h, a.w,
                             pool, train, 0);
        if (dw)
            be->conv2d_backward(be, din, dw, db, work, in, w, s, acc);
        return;
    }
    a.x = (float *)x;
    a.in = in;
    a.dout = dout;
    a.din = din;
    a.acc = acc;
    a.m = save_mean;
    a.beta = beta;
    /* work: [n, c, 2] doubles, then ka, kb, kc [c] (fits: hw >= 16) */
    a.part = (double *)work;
    float *ka = work + (int64_t)s->n * a.c * 4, *kb = ka + a.c, *kc = kb + a.c;
    for (int32_t ch = 0; ch < a.c; ch++)
        ka[ch] = gamma[ch] * save_rstd[ch]; /* the forward's scale (the sums recompute its output) */
    a.ka = ka;
    a.kb = kb;
    a.kc = kc;
    a.tmp_floats = cb_bn_tmp(&a);
    a.tmp = cpu_scratch(be, 0, (size_t)(be->threads * a.tmp_floats) * sizeof(float));
    cb_run(be, s->n, cb_sums_task, &a);
    cb_coefficients(&a, s->n, dgamma, dbeta, gamma, save_rstd, ka, kb, kc, train);
    if (!dw)
        return;
    if (a.kind == CB_WINO) {
        a.tmp_floats = cb_round(a.ohw * a.c);
        a.hooks = (cpu_wg_hooks){.gather = cb_wg_gather, .ctx = &a, .extra_floats = be->threads * a.tmp_floats};
        cpu_winograd_backward_hooked(be, din, dw, db, in, w, s, acc, &a.hooks);
        return;
    }
    int64_t groups = CB_GROUPS;
    a.ngroups = groups > s->n ? s->n : groups;
    a.dwp_floats = cb_round((int64_t)a.taps * a.c);
    int64_t pad = cb_round((int64_t)s->cin * a.hp * a.wp), wt_floats = cb_round((int64_t)a.taps * a.c);
    a.tmp_floats = 2 * pad + cb_round(a.hw * a.c) + cb_round(a.ohw * a.c) + cb_round(a.c);
    int64_t dbp_floats = cb_round(2 * groups * (int64_t)a.c);
    float *sc = cpu_scratch(be, 0, (size_t)(wt_floats + groups * a.dwp_floats + dbp_floats
                                            + be->threads * a.tmp_floats) * sizeof(float));
    cb_taps_first(&a, sc, w);
    a.wt = sc;
    a.dwp = sc + wt_floats;
    a.dbp = (double *)(a.dwp + groups * a.dwp_floats);
    a.tmp = a.dwp + groups * a.dwp_floats + dbp_floats;
    cb_run(be, a.ngroups, cb_direct_backward_task, &a);
    for (int32_t co = 0; co < a.c; co++) {
        for (int32_t t = 0; t < a.taps; t++) {
            float sum = 0.0f;
            for (int64_t g = 0; g < a.ngroups; g++)
                sum += a.dwp[g * a.dwp_floats + (int64_t)t * a.c + co];
            dw[(int64_t)co * a.taps + t] += sum;
        }
        if (db) {
            double sum = 0.0;
            for (int64_t g = 0; g < a.ngroups; g++)
                sum += a.dbp[g * a.c + co];
            db[co] += (float)sum;
        }
    }
}

#define CB_POOL_MAX_CIN 1024 /* pool_conv_bn_relu_eval: the input BatchNorm's scale lives on the stack */

static int cpu_pool_convbn_eval(pd_backend *be, float *out, const float *mx, const float *mn, const pd_bn_eval *pre,
                                const float *w, const float *b, const pd_conv2d_shape *s, const pd_bn_eval *post,
                                float *save_mean, float *save_rstd, int pool, const pd_linear_eval *head)
{
    /* out [n, cout, ho', wo'], mx, mn [n, cin, h, w], pre [cin], w [cout, cin, 3, 3], b [cout] or NULL, post,
     * save_mean, save_rstd [cout]; head: w [o, cout ho' wo'], out [n, o] */
    cb_args a;
    cb_init(&a, be, s, pool != 0);
    if (s->n <= 0 || a.kind != CB_WINO || s->cin > CB_POOL_MAX_CIN || (head && head->o > CPU_DENSE_THIN))
        return 0;
    float k[CB_POOL_MAX_CIN];
    cpu_batchnorm_eval_scale(k, pre->gamma, pre->run_var, pre->eps, s->cin);
    a.pmx = mx;
    a.pmn = mn;
    a.pk = k;
    a.pm = pre->run_mean;
    a.pb = pre->beta;
    a.b = b;
    a.out = out;
    a.gamma = post->gamma;
    a.beta = post->beta;
    a.m = save_mean;
    a.rstd = save_rstd;
    cb_stats(&a, s->n, (float *)post->run_mean, (float *)post->run_var, save_mean, save_rstd, 0, 0.0f, post->eps);
    a.load_off = cb_bn_tmp(&a);
    a.tmp_floats = a.load_off + cb_round((int64_t)s->cin * s->h * s->w);
    a.head = head;
    a.head_off = a.tmp_floats;
    if (head) /* the sample's output plane, for the classifier */
        a.tmp_floats += cb_round(a.ohw * a.c);
    a.hooks = (cpu_wg_hooks){.emit = cb_wg_emit, .load = cb_wg_load, .ctx = &a,
                             .extra_floats = be->threads * a.tmp_floats, .fast = 1};
    cpu_winograd_forward_hooked(be, NULL, w, s, &a.hooks);
    return 1;
}

void cpu_convbn_register(pd_backend *be)
{
    be->pool_conv_bn_relu_eval = cpu_pool_convbn_eval;
    be->conv_bn_relu_forward = cpu_convbn_forward;
    be->conv_bn_relu_backward = cpu_convbn_backward;
}
