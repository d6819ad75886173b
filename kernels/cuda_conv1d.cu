/* cuda_conv1d.cu — Conv1d and ConvTranspose1d on the CUDA backend (contracts in src/backend.h; CPU twin:
 * src/cpu_conv1d.c, whose notation this file keeps).
 *
 * Both ops are one strided correlation between a "short" tensor S [n, cs, ls] and a "long" tensor
 * G [n, cg, lg] through a weight W [cs, cg, k]; short position j meets long position j stride - pad + kk:
 *   conv1d:  S = out, G = in,  W = w [cout, cin, k]
 *   convt1d: S = in,  G = out, W = w [cin, cout, k]  (PyTorch's ConvTranspose1d layout)
 * A chunk of nb samples is folded into the GEMM's N dimension (ncol = nb ls columns):
 *   col [cg k, ncol]  col[(c, kk), b ls + j] = G[b, c, j stride - pad + kk] (zero outside)   im2col
 *   ft  [cs, ncol]    ft[a, b ls + j] = S[b, a, j]                                          fold
 *   gather  (S from G):  ft = W col, then unfold into S             conv forward, convt input gradient
 *   scatter (G from S):  col = W^T ft, then col2im into G            convt forward, conv input gradient
 *   wgrad:               dW += ft col^T (chunk after chunk)          weight gradient of both
 * col2im is a gather (each G element sums the columns that touch it, kk in order), so no atomics; the bias
 * gradient is a per-channel sum (cuda_channel_sums). dw may be NULL in the backward passes. The chunk size
 * depends only on the shape, so results repeat run to run. The index kernels run over a grid of rows (cuda_map2)
 * with src/fastdiv.h's dividers, as in cuda_conv2d.cu. */
#include "cuda_internal.cuh"

#define CUDA_CONV1D_WORK_FLOATS ((int64_t)1 << 25) /* col + ft of one chunk: 128 MiB at most */

typedef struct {
    int32_t n;      /* batch */
    int32_t cs, ls; /* short side: channels, length */
    int32_t cg, lg; /* long side: channels, length */
    int32_t k, stride, pad;
} cuda_conv1d_geom;

static cuda_conv1d_geom cuda_conv1d_geom_conv(const pd_conv1d_shape *s)
{
    return (cuda_conv1d_geom){s->n, s->cout, s->lo, s->cin, s->l, s->k, s->stride, s->pad};
}

static cuda_conv1d_geom cuda_conv1d_geom_convt(const pd_conv1d_shape *s)
{
    return (cuda_conv1d_geom){s->n, s->cin, s->l, s->cout, s->lo, s->k, s->stride, s->pad};
}

typedef struct {
    cuda_conv1d_geom g;
    int32_t nb;     /* samples per chunk */
    int64_t kd;     /* cg k: rows of col */
    float *col;     /* [kd, nb ls] */
    float *ft;      /* [cs, nb ls] */
} cuda_conv1d_plan;

static cuda_conv1d_plan cuda_conv1d_plan_make(pd_backend *be, const cuda_conv1d_geom *g)
{
    cuda_conv1d_plan pl;
    pl.g = *g;
    pl.kd = (int64_t)g->cg * g->k;
    int64_t per = (pl.kd + g->cs) * g->ls; /* floats per sample */
    int64_t nb = per > 0 ? CUDA_CONV1D_WORK_FLOATS / per : g->n;
    nb = nb < 1 ? 1 : (nb > g->n ? g->n : nb);
    pl.nb = (int32_t)nb;
    int64_t col_floats = pl.kd * nb * g->ls;
    pl.col = (float *)cuda_scratch(be, (size_t)(per * nb + 64) * sizeof(float));
    pl.ft = pl.col + ((col_floats + 63) & ~(int64_t)63);
    return pl;
}

/* col [kd, cnt ls] <- G chunk [cnt, cg, lg] */
static void cuda_conv1d_im2col(pd_backend *be, const cuda_conv1d_plan *pl, const float *gin, int32_t cnt)
{
    cuda_conv1d_geom g = pl->g;
    int64_t ncol = (int64_t)cnt * g.ls;
    float *col = pl->col;
    pd_fastdiv dls = pd_fastdiv_make((uint32_t)g.ls), dk = pd_fastdiv_make((uint32_t)g.k);
    cuda_map2(be, ncol, pl->kd, [=] __device__(uint32_t cj, uint32_t row) { /* one grid row per row of col */
        uint32_t uj, ukk;
        uint32_t b = pd_fastdiv_divmod(dls, cj, &uj), c = pd_fastdiv_divmod(dk, row, &ukk);
        int32_t j = (int32_t)uj, kk = (int32_t)ukk;
        int32_t p = j * g.stride - g.pad + kk;
        col[(int64_t)row * ncol + cj] = p >= 0 && p < g.lg ? gin[((int64_t)b * g.cg + c) * g.lg + p] : 0.0f;
    });
}

/* G chunk [cnt, cg, lg] = (acc ? G : bias [cg] or 0) + the columns of col [kd, cnt ls] at their positions */
static void cuda_conv1d_col2im(pd_backend *be, const cuda_conv1d_plan *pl, float *gout, int32_t cnt,
                               const float *bias, int acc)
{
    cuda_conv1d_geom g = pl->g;
    int64_t ncol = (int64_t)cnt * g.ls;
    const float *col = pl->col;
    pd_fastdiv dlg = pd_fastdiv_make((uint32_t)g.lg), dst = pd_fastdiv_make((uint32_t)g.stride);
    int64_t gs = (int64_t)g.cg * g.lg;
    cuda_map2(be, gs, cnt, [=] __device__(uint32_t e, uint32_t b) { /* one grid row per sample */
        uint32_t up, c = pd_fastdiv_divmod(dlg, e, &up);
        /* position p meets short position j through offset kk = p + pad - j stride: the first offset is
         * (p + pad) mod stride, then every stride-th, j going down by one each time */
        uint32_t ukk;
        int32_t j = (int32_t)pd_fastdiv_divmod(dst, up + (uint32_t)g.pad, &ukk);
        const float *cb = col + (int64_t)c * g.k * ncol + (int64_t)b * g.ls;
        float sum = 0.0f;
        for (int32_t kk = (int32_t)ukk; kk < g.k && j >= 0; kk += g.stride, j--)
            if (j < g.ls)
                sum += cb[(int64_t)kk * ncol + j];
        int64_t at = (int64_t)b * gs + e;
        float base = acc ? gout[at] : (bias ? bias[c] : 0.0f);
        gout[at] = base + sum;
    });
}

/* ft [cs, cnt ls] <- S chunk [cnt, cs, ls] */
static void cuda_conv1d_fold(pd_backend *be, const cuda_conv1d_plan *pl, const float *sin, int32_t cnt)
{
    cuda_conv1d_geom g = pl->g;
    int64_t ncol = (int64_t)cnt * g.ls;
    float *ft = pl->ft;
    pd_fastdiv dls = pd_fastdiv_make((uint32_t)g.ls);
    int64_t ss = (int64_t)g.cs * g.ls;
    cuda_map2(be, ss, cnt, [=] __device__(uint32_t e, uint32_t b) { /* one grid row per sample */
        uint32_t j, a = pd_fastdiv_divmod(dls, e, &j);
        ft[(int64_t)a * ncol + (int64_t)b * g.ls + j] = sin[(int64_t)b * ss + e];
    });
}

/* S chunk [cnt, cs, ls] = (acc ? S : bias [cs] or 0) + ft [cs, cnt ls] */
static void cuda_conv1d_unfold(pd_backend *be, const cuda_conv1d_plan *pl, float *sout, int32_t cnt,
                               const float *bias, int acc)
{
    cuda_conv1d_geom g = pl->g;
    int64_t ncol = (int64_t)cnt * g.ls;
    const float *ft = pl->ft;
    pd_fastdiv dls = pd_fastdiv_make((uint32_t)g.ls);
    int64_t ss = (int64_t)g.cs * g.ls;
    cuda_map2(be, ss, cnt, [=] __device__(uint32_t e, uint32_t b) { /* one grid row per sample */
        uint32_t j, a = pd_fastdiv_divmod(dls, e, &j);
        int64_t at = (int64_t)b * ss + e;
        float base = acc ? sout[at] : (bias ? bias[a] : 0.0f);
        sout[at] = base + ft[(int64_t)a * ncol + (int64_t)b * g.ls + j];
    });
}

/* ft = W [cs, kd] col */
static void cuda_conv1d_gemm_gather(pd_backend *be, const cuda_conv1d_plan *pl, const float *w, int32_t cnt)
{
    int32_t ncol = cnt * pl->g.ls;
    cuda_sgemm(be, 0, 0, pl->g.cs, ncol, (int32_t)pl->kd, 1.0f, w, (int32_t)pl->kd, pl->col, ncol, 0.0f, pl->ft,
               ncol);
}

/* col = W^T [kd, cs] ft */
static void cuda_conv1d_gemm_scatter(pd_backend *be, const cuda_conv1d_plan *pl, const float *w, int32_t cnt)
{
    int32_t ncol = cnt * pl->g.ls;
    cuda_sgemm(be, 1, 0, (int32_t)pl->kd, ncol, pl->g.cs, 1.0f, w, (int32_t)pl->kd, pl->ft, ncol, 0.0f, pl->col,
               ncol);
}

/* dW [cs, kd] += ft col^T */
static void cuda_conv1d_gemm_wgrad(pd_backend *be, const cuda_conv1d_plan *pl, float *dw, int32_t cnt)
{
    int32_t ncol = cnt * pl->g.ls;
    cuda_sgemm(be, 0, 1, pl->g.cs, (int32_t)pl->kd, ncol, 1.0f, pl->ft, ncol, pl->col, ncol, 1.0f, dw,
               (int32_t)pl->kd);
}

static int cuda_conv1d_empty(const cuda_conv1d_geom *g)
{
    return g->n <= 0 || g->cs <= 0 || g->cg <= 0 || g->ls <= 0 || g->lg <= 0 || g->k <= 0 || g->stride <= 0;
}

/* The three kernels of both ops, chunk by chunk (see the file comment): s_out [n, cs, ls] = gather(g_in)
 * (+ bias [cs]); g_out [n, cg, lg] = scatter(s_in) (+ bias [cg]); dw [cs, cg, k] += wgrad(s_in, g_in). At
 * most one of s_out, g_out; acc applies to it. */
static void cuda_conv1d_run(pd_backend *be, const cuda_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                            const float *s_in, const float *g_in, const float *w, const float *bias, int acc)
{
    if (!s_out && !g_out && !dw)
        return;
    cuda_conv1d_plan pl = cuda_conv1d_plan_make(be, g);
    int64_t ss = (int64_t)g->cs * g->ls, gs = (int64_t)g->cg * g->lg; /* per-sample sizes */
    for (int32_t n0 = 0; n0 < g->n; n0 += pl.nb) {
        int32_t cnt = g->n - n0 < pl.nb ? g->n - n0 : pl.nb;
        if (s_in && (dw || g_out))
            cuda_conv1d_fold(be, &pl, s_in + n0 * ss, cnt);
        if (g_in && (dw || s_out))
            cuda_conv1d_im2col(be, &pl, g_in + n0 * gs, cnt);
        if (dw)
            cuda_conv1d_gemm_wgrad(be, &pl, dw, cnt);
        if (s_out) { /* the GEMM overwrites the folded buffer, the wgrad's input, only after it */
            cuda_conv1d_gemm_gather(be, &pl, w, cnt);
            cuda_conv1d_unfold(be, &pl, s_out + n0 * ss, cnt, bias, acc);
        }
        if (g_out) {
            cuda_conv1d_gemm_scatter(be, &pl, w, cnt);
            cuda_conv1d_col2im(be, &pl, g_out + n0 * gs, cnt, bias, acc);
        }
    }
}

/* out [n, cout, lo] = conv(in [n, cin, l], w [cout, cin, k]) + b [cout] (b may be NULL) */
static void cuda_conv1d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                const pd_conv1d_shape *s)
{
    cuda_conv1d_geom g = cuda_conv1d_geom_conv(s);
    if (!cuda_conv1d_empty(&g))
        cuda_conv1d_run(be, &g, out, NULL, NULL, NULL, in, w, b, 0);
}

/* din [n, cin, l] (may be NULL), dw [cout, cin, k] += (may be NULL), db [cout] += (may be NULL);
 * dout [n, cout, lo] */
static void cuda_conv1d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                 const float *in, const float *w, const pd_conv1d_shape *s, int acc)
{
    cuda_conv1d_geom g = cuda_conv1d_geom_conv(s);
    if (cuda_conv1d_empty(&g))
        return;
    if (db)
        cuda_channel_sums(be, db, dout, g.n, g.cs, g.ls);
    cuda_conv1d_run(be, &g, NULL, din, dw, dout, in, w, NULL, acc);
}

/* out [n, cout, lo] = convtranspose(in [n, cin, l], w [cin, cout, k]) + b [cout] (b may be NULL) */
static void cuda_convt1d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                 const pd_conv1d_shape *s)
{
    cuda_conv1d_geom g = cuda_conv1d_geom_convt(s);
    if (!cuda_conv1d_empty(&g))
        cuda_conv1d_run(be, &g, NULL, out, NULL, in, NULL, w, b, 0);
}

/* din [n, cin, l] (may be NULL), dw [cin, cout, k] += (may be NULL), db [cout] += (may be NULL);
 * dout [n, cout, lo] */
static void cuda_convt1d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                  const float *in, const float *w, const pd_conv1d_shape *s, int acc)
{
    cuda_conv1d_geom g = cuda_conv1d_geom_convt(s);
    if (cuda_conv1d_empty(&g))
        return;
    if (db)
        cuda_channel_sums(be, db, dout, g.n, g.cg, g.lg);
    cuda_conv1d_run(be, &g, din, NULL, dw, in, dout, w, NULL, acc);
}

void cuda_conv1d_register(pd_backend *be)
{
    be->conv1d_forward = cuda_conv1d_forward;
    be->conv1d_backward = cuda_conv1d_backward;
    be->convt1d_forward = cuda_convt1d_forward;
    be->convt1d_backward = cuda_convt1d_backward;
}
