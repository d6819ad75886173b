/* cuda_conv2d.cu — 2-D convolution on the CUDA backend (contract in src/backend.h; CPU twin:
 * src/cpu_conv2d.c).
 *
 * im2col + one cuBLAS GEMM per chunk of nc samples, with K = cin k k and P = ho wo:
 *   col [K, nc P]    column i P + p holds the patch of output position p of sample i of the chunk;
 *   forward          Y [cout, nc P] = W [cout, K] col, then out [i, co, p] = Y [co, i P + p] + b [co];
 *   backward         dY [cout, nc P] gathered from dout; dW [cout, K] += dY col^T (one GEMM per chunk, added
 *                    chunk after chunk); dcol = W^T dY; din by col2im, each input element summing the
 *                    columns that read it (a gather in a fixed order, no atomics); db by per-channel sums.
 * The chunk size depends only on the geometry (col stays under CUDA_CONV2D_COL_FLOATS), so results repeat.
 * The index kernels run over a grid of rows (cuda_map2) and split indices with src/fastdiv.h's dividers: with
 * 64-bit divisions the im2col kernel was a third of the task model's inference time on an H200. */
#include "cuda_internal.cuh"

#define CUDA_CONV2D_COL_FLOATS ((int64_t)1 << 25) /* 128 MiB of columns per chunk at most */

typedef struct {
    pd_conv2d_shape s;
    int64_t kd, p; /* K, P */
    int32_t nc;    /* samples per chunk */
} cuda_conv2d_plan;

static cuda_conv2d_plan cuda_conv2d_plan_make(const pd_conv2d_shape *s)
{
    cuda_conv2d_plan pl;
    pl.s = *s;
    pl.kd = (int64_t)s->cin * s->k * s->k;
    pl.p = (int64_t)s->ho * s->wo;
    int64_t per = (pl.kd > s->cout ? pl.kd : s->cout) * pl.p; /* floats of col (or Y) per sample */
    int64_t nc = per > 0 ? CUDA_CONV2D_COL_FLOATS / per : s->n;
    if (nc < 1)
        nc = 1;
    if (nc > s->n)
        nc = s->n;
    pl.nc = (int32_t)nc;
    return pl;
}

/* The dividers of im2col's index arithmetic (src/fastdiv.h): columns into sample and position by P, positions
 * into output row and column by wo, rows into input channel and kernel offset by k k, offsets by k */
typedef struct {
    pd_fastdiv p, wo, kk, k;
} cuda_conv2d_im2col_div;

/* col2im's: an input element's index into row and channel by w and h, offsets into output positions by the
 * stride */
typedef struct {
    pd_fastdiv w, h, stride;
} cuda_conv2d_col2im_div;

/* col [K, cnt P] <- patches of in [cnt, cin, h, w] (the chunk's samples): one grid row per row of col */
static void cuda_conv2d_im2col(pd_backend *be, float *col, const float *in, const cuda_conv2d_plan *pl,
                               int32_t cnt)
{
    pd_conv2d_shape s = pl->s;
    cuda_conv2d_im2col_div dv = {pd_fastdiv_make((uint32_t)pl->p), pd_fastdiv_make((uint32_t)s.wo),
                                 pd_fastdiv_make((uint32_t)(s.k * s.k)), pd_fastdiv_make((uint32_t)s.k)};
    int64_t ldc = cnt * pl->p;
    cuda_map2(be, ldc, pl->kd, [=] __device__(uint32_t j, uint32_t row) {
        uint32_t pp, ox, r, kx;
        uint32_t i = pd_fastdiv_divmod(dv.p, j, &pp), oy = pd_fastdiv_divmod(dv.wo, pp, &ox);
        uint32_t ci = pd_fastdiv_divmod(dv.kk, row, &r), ky = pd_fastdiv_divmod(dv.k, r, &kx);
        int32_t iy = (int32_t)oy * s.stride - s.pad + (int32_t)ky, ix = (int32_t)ox * s.stride - s.pad + (int32_t)kx;
        float v = 0.0f;
        if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
            v = in[(((int64_t)i * s.cin + ci) * s.h + iy) * s.w + ix];
        col[(int64_t)row * ldc + j] = v;
    });
}

/* din [cnt, cin, h, w] (=, or += when acc) <- the columns of col [K, cnt P] that read each element: one grid row
 * per sample */
static void cuda_conv2d_col2im(pd_backend *be, float *din, const float *col, const cuda_conv2d_plan *pl,
                               int32_t cnt, int acc)
{
    pd_conv2d_shape s = pl->s;
    cuda_conv2d_col2im_div dv = {pd_fastdiv_make((uint32_t)s.w), pd_fastdiv_make((uint32_t)s.h),
                                 pd_fastdiv_make((uint32_t)s.stride)};
    int64_t p = pl->p, ldc = cnt * p, in_size = (int64_t)s.cin * s.h * s.w;
    cuda_map2(be, in_size, cnt, [=] __device__(uint32_t e, uint32_t i) {
        uint32_t ux, uy;
        uint32_t ci = pd_fastdiv_divmod(dv.h, pd_fastdiv_divmod(dv.w, e, &ux), &uy);
        const float *c = col + (int64_t)ci * s.k * s.k * ldc + (int64_t)i * p; /* row (ci, 0, 0), sample i */
        /* input row y meets output row oy through ky = y + pad - oy stride: the first ky is (y + pad) mod
         * stride, then every stride-th, oy going down by one each time; columns likewise */
        uint32_t ky0, kx0;
        int32_t oy0 = (int32_t)pd_fastdiv_divmod(dv.stride, uy + (uint32_t)s.pad, &ky0);
        int32_t ox0 = (int32_t)pd_fastdiv_divmod(dv.stride, ux + (uint32_t)s.pad, &kx0);
        float sum = 0.0f;
        for (int32_t ky = (int32_t)ky0, oy = oy0; ky < s.k && oy >= 0; ky += s.stride, oy--) {
            if (oy >= s.ho)
                continue;
            for (int32_t kx = (int32_t)kx0, ox = ox0; kx < s.k && ox >= 0; kx += s.stride, ox--)
                if (ox < s.wo)
                    sum += c[(int64_t)(ky * s.k + kx) * ldc + (int64_t)oy * s.wo + ox];
        }
        int64_t at = (int64_t)i * in_size + e;
        din[at] = acc ? din[at] + sum : sum;
    });
}

static void cuda_conv2d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                                const pd_conv2d_shape *s)
{
    /* out [n, cout, ho, wo], in [n, cin, h, w], w [cout, cin, k, k], b [cout] or NULL */
    if (s->n <= 0 || s->cout <= 0 || s->ho <= 0 || s->wo <= 0)
        return;
    cuda_conv2d_plan pl = cuda_conv2d_plan_make(s);
    int64_t p = pl.p, cout = s->cout, in_size = (int64_t)s->cin * s->h * s->w;
    int64_t col_floats = pl.kd * pl.nc * p, y_floats = cout * pl.nc * p;
    float *col = (float *)cuda_scratch(be, (size_t)(col_floats + y_floats) * sizeof(float));
    float *yb = col + col_floats; /* [cout, nc P] */
    for (int32_t n0 = 0; n0 < s->n; n0 += pl.nc) {
        int32_t cnt = s->n - n0 < pl.nc ? s->n - n0 : pl.nc;
        int64_t ldc = cnt * p;
        cuda_conv2d_im2col(be, col, in + n0 * in_size, &pl, cnt);
        cuda_sgemm(be, 0, 0, s->cout, (int32_t)ldc, (int32_t)pl.kd, 1.0f, w, (int32_t)pl.kd, col, (int32_t)ldc, 0.0f,
                   yb, (int32_t)ldc);
        float *o = out + n0 * cout * p;
        pd_fastdiv dp = pd_fastdiv_make((uint32_t)p);
        cuda_map2(be, cout * p, cnt, [=] __device__(uint32_t e, uint32_t i) { /* o [cnt, cout, P] */
            uint32_t pp, co = pd_fastdiv_divmod(dp, e, &pp);
            float v = yb[co * ldc + (int64_t)i * p + pp];
            o[(int64_t)i * cout * p + e] = b ? v + b[co] : v;
        });
    }
}

static void cuda_conv2d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                 const float *in, const float *w, const pd_conv2d_shape *s, int acc)
{
    /* din [n, cin, h, w] or NULL, dw [cout, cin, k, k] += (may be NULL), db [cout] += or NULL,
     * dout [n, cout, ho, wo], in [n, cin, h, w], w [cout, cin, k, k] */
    if (s->n <= 0)
        return;
    int64_t in_size = (int64_t)s->cin * s->h * s->w;
    if (s->cout <= 0 || s->ho <= 0 || s->wo <= 0) { /* empty output: nothing flows back */
        if (din && !acc)
            cuda_map(be, s->n * in_size, [=] __device__(int64_t e) { din[e] = 0.0f; });
        return;
    }
    cuda_conv2d_plan pl = cuda_conv2d_plan_make(s);
    int64_t p = pl.p, cout = s->cout;
    if (db)
        cuda_channel_sums(be, db, dout, s->n, s->cout, p);
    if (!dw && !din)
        return;
    int64_t col_floats = pl.kd * pl.nc * p, y_floats = cout * pl.nc * p;
    float *col = (float *)cuda_scratch(be, (size_t)(col_floats + y_floats) * sizeof(float));
    float *dy = col + col_floats; /* [cout, nc P] */
    for (int32_t n0 = 0; n0 < s->n; n0 += pl.nc) {
        int32_t cnt = s->n - n0 < pl.nc ? s->n - n0 : pl.nc;
        int64_t ldc = cnt * p;
        const float *d = dout + n0 * cout * p; /* [cnt, cout, P] */
        const float *dyc = d;                  /* one sample: dout already is [cout, P] */
        if (cnt > 1) {
            pd_fastdiv dp = pd_fastdiv_make((uint32_t)p);
            cuda_map2(be, cout * p, cnt, [=] __device__(uint32_t e, uint32_t i) {
                uint32_t pp, co = pd_fastdiv_divmod(dp, e, &pp);
                dy[co * ldc + (int64_t)i * p + pp] = d[(int64_t)i * cout * p + e];
            });
            dyc = dy;
        }
        if (dw) {
            cuda_conv2d_im2col(be, col, in + n0 * in_size, &pl, cnt);
            cuda_sgemm(be, 0, 1, s->cout, (int32_t)pl.kd, (int32_t)ldc, 1.0f, dyc, (int32_t)ldc, col, (int32_t)ldc,
                       1.0f, dw, (int32_t)pl.kd);
        }
        if (din) {
            cuda_sgemm(be, 1, 0, (int32_t)pl.kd, (int32_t)ldc, s->cout, 1.0f, w, (int32_t)pl.kd, dyc, (int32_t)ldc,
                       0.0f, col, (int32_t)ldc);
            cuda_conv2d_col2im(be, din + n0 * in_size, col, &pl, cnt, acc);
        }
    }
}

/* ---- Convolution -> BatchNorm -> ReLU (-> max-pool) block (CPU twin: src/cpu_convbn.c). On the GPU the block
 * is the composition of the ops: x holds the planar convolution output, and the backward runs the BatchNorm's
 * backward into work, then the convolution's. ------------------------------------------------------------------ */

static void cuda_conv_bn_relu_forward(pd_backend *be, float *out, float *x, const float *in, const float *w,
                                      const float *b, const pd_conv2d_shape *s, const float *gamma,
                                      const float *beta, float *run_mean, float *run_var, float *save_mean,
                                      float *save_rstd, int pool, int train, float momentum, float eps, int keep)
{
    (void)keep; /* x is always written */
    be->conv2d_forward(be, x, in, w, b, s);
    be->bn_relu_forward(be, out, x, gamma, beta, run_mean, run_var, save_mean, save_rstd, s->n, s->cout, s->ho,
                        s->wo, pool, train, momentum, eps);
}

static void cuda_conv_bn_relu_backward(pd_backend *be, float *din, float *dw, float *db, float *dgamma, float *dbeta,
                                       float *work, const float *dout, const float *x, const float *in,
                                       const float *w, const pd_conv2d_shape *s, const float *gamma,
                                       const float *beta, const float *save_mean, const float *save_rstd, int pool,
                                       int train, int acc)
{
    be->bn_relu_backward(be, work, dgamma, dbeta, dout, x, gamma, beta, save_mean, save_rstd, s->n, s->cout, s->ho,
                         s->wo, pool, train, 0);
    if (dw)
        be->conv2d_backward(be, din, dw, db, work, in, w, s, acc);
}

void cuda_conv2d_register(pd_backend *be)
{
    be->conv2d_forward = cuda_conv2d_forward;
    be->conv2d_backward = cuda_conv2d_backward;
    be->conv_bn_relu_forward = cuda_conv_bn_relu_forward;
    be->conv_bn_relu_backward = cuda_conv_bn_relu_backward;
}
