/* cpu_conv2d.c — 2-D convolution on the CPU backend (contract in backend.h).
 *
 * im2col + GEMM: out [cout, P] = W [cout, K] col [K, P] with K = cin k k and P = ho wo. The batch is cut into
 * chunks of nc samples whose im2col matrices sit side by side in one col [K, nc P], so BLAS gets a wide N
 * even for small feature maps (a chunk of one sample writes its product straight into the output). Chunks
 * run on the thread pool with single-threaded BLAS; a batch of one chunk runs on the calling thread with
 * threaded BLAS. The bias rides along as one more column of W and a row of ones in col, so the GEMM adds it
 * in the forward pass and, in the backward pass, the same row turns the weight-gradient product into
 * [dW | db] at no extra cost.
 *
 * Backward: chunks are dealt to a fixed number of groups; each group sums its [dW | db] into a private
 * partial and the partials are added in group order afterwards, so the result does not depend on which
 * thread ran what (nor, up to CPU_CONV2D_GROUPS threads, on the thread count). din is written chunk by
 * chunk: dcol = W^T dout, then col2im. Chunk sizes depend only on the geometry.
 *
 * For the common "same" geometry (stride 1, 2 pad = k - 1) each sample is first copied into a buffer with
 * zero rows above and below; every row of col is then one flat, branch-free pass over P values (the
 * vertical padding comes from the zero rows, the horizontal padding from a mask per kernel column), and
 * col2im is the same pass in reverse. */
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "cpu_winograd.h"

#define CPU_CONV2D_COLS 512             /* aim for at least this many GEMM columns per chunk */
#define CPU_CONV2D_COL_BYTES (1u << 20) /* ... while one chunk's col stays about this small */
#define CPU_CONV2D_GROUPS 8             /* backward partial sums, whatever the thread count */

typedef struct {
    const pd_conv2d_shape *s;
    float *out;          /* [n, cout, ho, wo] forward output */
    const float *in;     /* [n, cin, h, w] */
    const float *w;      /* [cout, cin, k, k] */
    const float *wb;     /* [cout, kb]: w with the bias as a last column (forward), or w itself */
    float *din;          /* [n, cin, h, w] or NULL */
    const float *dout;   /* [n, cout, ho, wo] */
    int acc;
    int same;            /* stride 1, ho = h, wo = w: the padded-buffer im2col */
    int64_t kd, kb, p;   /* K, K + 1 with a bias (else K), P */
    int32_t nc;          /* samples per chunk */
    const int32_t *mask; /* [k, P] (same geometry) 1 where kernel column kx reads inside the input row */
    int64_t nchunks, ngroups;
    float *part;         /* [ngroups, part_floats] backward partials [cout, kb] */
    int64_t part_floats;
    float *work;         /* [threads, work_floats]: col [kb, nc P], y [cout, nc P], padded sample */
    int64_t work_floats, y_off, pad_off;
} cpu_conv2d_args;

static int64_t cpu_conv2d_round(int64_t n)
{
    return (n + 15) & ~(int64_t)15; /* whole 64-byte lines of floats */
}

/* Floats per channel of a padded sample: pad guard values, (h + 2 pad) rows of w, pad guard values. */
static int64_t cpu_conv2d_pstride(const pd_conv2d_shape *s)
{
    return (int64_t)(s->h + 2 * s->pad) * s->w + 2 * s->pad;
}

/* ---- im2col and col2im ------------------------------------------------------------------------------- */

/* padded [cin, pstride] <- in [cin, h, w] with zero guards and rows */
static void cpu_conv2d_pad(float *restrict padded, const float *restrict in, const pd_conv2d_shape *s)
{
    int64_t ps = cpu_conv2d_pstride(s), top = s->pad + (int64_t)s->pad * s->w, plane = (int64_t)s->h * s->w;
    for (int32_t ci = 0; ci < s->cin; ci++) {
        float *dst = padded + ci * ps;
        memset(dst, 0, (size_t)top * sizeof(float));
        memcpy(dst + top, in + ci * plane, (size_t)plane * sizeof(float));
        memset(dst + top + plane, 0, (size_t)(ps - top - plane) * sizeof(float));
    }
}

/* same geometry: col [K, ldc] (this sample's P columns start at col) <- patches of padded [cin, pstride].
 * Output j = oy w + ox reads padded row oy + ky, column ox + kx - pad: one flat pass per row of col (rows
 * above and below come from the zero rows), masked where the column falls left or right of the input. */
static void cpu_conv2d_im2col_same(float *restrict col, int64_t ldc, const float *restrict padded,
                                   const int32_t *restrict mask, const pd_conv2d_shape *s)
{
    int32_t k = s->k;
    int64_t p = (int64_t)s->ho * s->wo, ps = cpu_conv2d_pstride(s);
    for (int32_t ci = 0; ci < s->cin; ci++)
        for (int32_t ky = 0; ky < k; ky++)
            for (int32_t kx = 0; kx < k; kx++) {
                const float *src = padded + ci * ps + (int64_t)ky * s->w + kx;
                const int32_t *m = mask + (int64_t)kx * p;
                float *dst = col + (((int64_t)ci * k + ky) * k + kx) * ldc;
                if (kx == s->pad) /* the centre column never leaves the row */
                    for (int64_t j = 0; j < p; j++)
                        dst[j] = src[j];
                else
                    for (int64_t j = 0; j < p; j++) {
                        float v = src[j];
                        dst[j] = m[j] ? v : 0.0f;
                    }
            }
}

/* same geometry: din [cin, h, w] (=, or += when acc) <- col [K, ldc] summed back; padded [cin, pstride] is
 * scratch */
static void cpu_conv2d_col2im_same(float *restrict din, int acc, const float *restrict col, int64_t ldc,
                                   float *restrict padded, const int32_t *restrict mask, const pd_conv2d_shape *s)
{
    int32_t k = s->k;
    int64_t p = (int64_t)s->ho * s->wo, ps = cpu_conv2d_pstride(s);
    int64_t top = s->pad + (int64_t)s->pad * s->w, plane = (int64_t)s->h * s->w;
    memset(padded, 0, (size_t)(s->cin * ps) * sizeof(float));
    for (int32_t ci = 0; ci < s->cin; ci++)
        for (int32_t ky = 0; ky < k; ky++)
            for (int32_t kx = 0; kx < k; kx++) {
                float *dst = padded + ci * ps + (int64_t)ky * s->w + kx;
                const int32_t *m = mask + (int64_t)kx * p;
                const float *src = col + (((int64_t)ci * k + ky) * k + kx) * ldc;
                if (kx == s->pad)
                    for (int64_t j = 0; j < p; j++)
                        dst[j] += src[j];
                else
                    for (int64_t j = 0; j < p; j++) {
                        float v = src[j];
                        dst[j] += m[j] ? v : 0.0f;
                    }
            }
    for (int32_t ci = 0; ci < s->cin; ci++) {
        const float *src = padded + ci * ps + top;
        float *dst = din + ci * plane;
        if (acc)
            for (int64_t j = 0; j < plane; j++)
                dst[j] += src[j];
        else
            memcpy(dst, src, (size_t)plane * sizeof(float));
    }
}

/* Output columns [lo, hi) that read inside the input row for kernel column kx. */
static void cpu_conv2d_range(const pd_conv2d_shape *s, int32_t kx, int32_t *lo, int32_t *hi)
{
    int32_t a = s->pad - kx, b = s->w - 1 + s->pad - kx; /* a <= ox stride <= b */
    int32_t l = a <= 0 ? 0 : (a + s->stride - 1) / s->stride;
    int32_t h = b < 0 ? 0 : b / s->stride + 1;
    *lo = l < s->wo ? l : s->wo;
    *hi = h < s->wo ? h : s->wo;
    if (*hi < *lo)
        *hi = *lo;
}

/* any geometry: col [K, ldc] (this sample's P columns start at col) <- patches of in [cin, h, w] */
static void cpu_conv2d_im2col(float *restrict col, int64_t ldc, const float *restrict in,
                              const pd_conv2d_shape *s)
{
    int32_t k = s->k, st = s->stride, wo = s->wo;
    for (int32_t ci = 0; ci < s->cin; ci++)
        for (int32_t ky = 0; ky < k; ky++)
            for (int32_t kx = 0; kx < k; kx++) {
                float *row = col + (((int64_t)ci * k + ky) * k + kx) * ldc;
                int32_t lo, hi;
                cpu_conv2d_range(s, kx, &lo, &hi);
                for (int32_t oy = 0; oy < s->ho; oy++) {
                    float *dst = row + (int64_t)oy * wo;
                    int32_t iy = oy * st - s->pad + ky;
                    if (iy < 0 || iy >= s->h) {
                        for (int32_t ox = 0; ox < wo; ox++)
                            dst[ox] = 0.0f;
                        continue;
                    }
                    const float *src = in + ((int64_t)ci * s->h + iy) * s->w - s->pad + kx; /* src[ox st] */
                    for (int32_t ox = 0; ox < lo; ox++)
                        dst[ox] = 0.0f;
                    for (int32_t ox = lo; ox < hi; ox++)
                        dst[ox] = src[(int64_t)ox * st];
                    for (int32_t ox = hi; ox < wo; ox++)
                        dst[ox] = 0.0f;
                }
            }
}

/* any geometry: din [cin, h, w] += col [K, ldc] scattered back to the input positions */
static void cpu_conv2d_col2im(float *restrict din, const float *restrict col, int64_t ldc,
                              const pd_conv2d_shape *s)
{
    int32_t k = s->k, st = s->stride, wo = s->wo;
    for (int32_t ci = 0; ci < s->cin; ci++)
        for (int32_t ky = 0; ky < k; ky++)
            for (int32_t kx = 0; kx < k; kx++) {
                const float *row = col + (((int64_t)ci * k + ky) * k + kx) * ldc;
                int32_t lo, hi;
                cpu_conv2d_range(s, kx, &lo, &hi);
                for (int32_t oy = 0; oy < s->ho; oy++) {
                    int32_t iy = oy * st - s->pad + ky;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    const float *src = row + (int64_t)oy * wo;
                    float *dst = din + ((int64_t)ci * s->h + iy) * s->w - s->pad + kx; /* dst[ox st] */
                    for (int32_t ox = lo; ox < hi; ox++)
                        dst[(int64_t)ox * st] += src[ox];
                }
            }
}

/* col [kb, ldc] for samples n0 .. n0 + cnt - 1, with the row of ones when kb > K */
static void cpu_conv2d_fill_col(const cpu_conv2d_args *a, float *col, float *padded, int32_t n0, int32_t cnt)
{
    const pd_conv2d_shape *s = a->s;
    int64_t ldc = cnt * a->p, in_size = (int64_t)s->cin * s->h * s->w;
    for (int32_t i = 0; i < cnt; i++) {
        const float *x = a->in + (n0 + i) * in_size;
        if (a->same) {
            cpu_conv2d_pad(padded, x, s);
            cpu_conv2d_im2col_same(col + i * a->p, ldc, padded, a->mask, s);
        } else {
            cpu_conv2d_im2col(col + i * a->p, ldc, x, s);
        }
    }
    if (a->kb > a->kd)
        for (int64_t j = 0; j < ldc; j++)
            col[a->kd * ldc + j] = 1.0f;
}

/* Chunking, work areas (for at most max_tasks parallel tasks) and the shared mask; returns the scratch
 * block's first `shared` floats for the caller (the biased weights or the partial sums). */
static float *cpu_conv2d_plan(pd_backend *be, cpu_conv2d_args *a, int64_t max_tasks, int64_t shared)
{
    const pd_conv2d_shape *s = a->s;
    a->kd = (int64_t)s->cin * s->k * s->k;
    a->p = (int64_t)s->ho * s->wo;
    a->same = s->stride == 1 && s->ho == s->h && s->wo == s->w;
    int64_t nc = (CPU_CONV2D_COLS + a->p - 1) / a->p;
    int64_t cap = (int64_t)CPU_CONV2D_COL_BYTES / (int64_t)sizeof(float) / (a->kb * a->p);
    nc = nc > cap ? cap : nc;
    nc = nc > s->n ? s->n : nc;
    a->nc = (int32_t)(nc < 1 ? 1 : nc);
    a->nchunks = (s->n + a->nc - 1) / a->nc;
    a->y_off = cpu_conv2d_round(a->kb * a->nc * a->p);
    a->pad_off = a->y_off + (a->nc > 1 ? cpu_conv2d_round(s->cout * a->nc * a->p) : 0);
    a->work_floats = a->pad_off + (a->same ? cpu_conv2d_round(s->cin * cpu_conv2d_pstride(s)) : 0);
    int64_t threads = a->nchunks > 1 && max_tasks > 1 ? be->threads : 1;
    int64_t mask_floats = a->same ? cpu_conv2d_round(s->k * a->p) : 0;
    float *scratch = cpu_scratch(be, 0, (size_t)(shared + mask_floats + threads * a->work_floats) * sizeof(float));
    a->work = scratch + shared + mask_floats;
    if (a->same) {
        int32_t *mask = (int32_t *)(scratch + shared); /* [k, P] */
        for (int32_t kx = 0; kx < s->k; kx++)
            for (int64_t j = 0; j < a->p; j++) {
                int32_t ix = (int32_t)(j % s->wo) - s->pad + kx;
                mask[kx * a->p + j] = ix >= 0 && ix < s->w;
            }
        a->mask = mask;
    }
    return scratch;
}

/* ---- forward ----------------------------------------------------------------------------------------- */

static void cpu_conv2d_forward_task(void *ctx, int64_t task, int thread)
{
    const cpu_conv2d_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int32_t n0 = (int32_t)task * a->nc;
    int32_t cnt = s->n - n0 < a->nc ? s->n - n0 : a->nc;
    int64_t p = a->p, ldc = cnt * p, out_size = (int64_t)s->cout * p;
    float *col = a->work + thread * a->work_floats; /* [kb, cnt P] */
    float *y = col + a->y_off;                      /* [cout, cnt P] */
    cpu_conv2d_fill_col(a, col, col + a->pad_off, n0, cnt);
    float *o = a->out + n0 * out_size; /* [cnt, cout, P] */
    if (cnt == 1) {
        cpu_sgemm(0, 0, s->cout, (int32_t)p, (int32_t)a->kb, 1.0f, a->wb, (int32_t)a->kb, col, (int32_t)p, 0.0f, o,
                  (int32_t)p);
        return;
    }
    cpu_sgemm(0, 0, s->cout, (int32_t)ldc, (int32_t)a->kb, 1.0f, a->wb, (int32_t)a->kb, col, (int32_t)ldc, 0.0f, y,
              (int32_t)ldc);
    for (int32_t i = 0; i < cnt; i++)
        for (int32_t co = 0; co < s->cout; co++)
            memcpy(o + i * out_size + co * p, y + co * ldc + i * p, (size_t)p * sizeof(float));
}

static void cpu_conv2d_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                               const pd_conv2d_shape *s)
{
    /* out [n, cout, ho, wo], in [n, cin, h, w], w [cout, cin, k, k], b [cout] or NULL */
    if (s->n <= 0 || s->cout <= 0 || s->ho <= 0 || s->wo <= 0)
        return;
    if (cpu_winograd_fits(s)) {
        cpu_winograd_forward(be, out, in, w, b, s);
        return;
    }
    cpu_conv2d_args a = {.s = s, .out = out, .in = in, .w = w, .wb = w};
    a.kb = (int64_t)s->cin * s->k * s->k + (b != NULL);
    int64_t wb_floats = b ? cpu_conv2d_round(s->cout * a.kb) : 0;
    float *wb = cpu_conv2d_plan(be, &a, INT64_MAX, wb_floats); /* [cout, K + 1] = [w | b] */
    if (b) {
        for (int32_t co = 0; co < s->cout; co++) {
            memcpy(wb + co * a.kb, w + co * a.kd, (size_t)a.kd * sizeof(float));
            wb[co * a.kb + a.kd] = b[co];
        }
        a.wb = wb;
    }
    cpu_parallel_for(be, a.nchunks, cpu_conv2d_forward_task, &a);
}

/* ---- backward ---------------------------------------------------------------------------------------- */

static void cpu_conv2d_backward_task(void *ctx, int64_t g, int thread)
{
    const cpu_conv2d_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int64_t p = a->p, kd = a->kd, kb = a->kb;
    int64_t in_size = (int64_t)s->cin * s->h * s->w, out_size = (int64_t)s->cout * p;
    float *pw = a->part + g * a->part_floats;       /* [cout, kb] = [dW | db] */
    float *col = a->work + thread * a->work_floats; /* [kb, nc P], then dcol [K, nc P] */
    float *y = col + a->y_off;                      /* [cout, nc P] gathered dout */
    float *padded = col + a->pad_off;               /* [cin, pstride] */
    int64_t c0 = g * a->nchunks / a->ngroups, c1 = (g + 1) * a->nchunks / a->ngroups;
    memset(pw, 0, (size_t)a->part_floats * sizeof(float));
    for (int64_t c = c0; c < c1; c++) {
        int32_t n0 = (int32_t)c * a->nc;
        int32_t cnt = s->n - n0 < a->nc ? s->n - n0 : a->nc;
        int64_t ldc = cnt * p;
        const float *d = a->dout + n0 * out_size; /* [cnt, cout, P] */
        const float *yc = d;                      /* [cout, cnt P] */
        if (cnt > 1) {
            for (int32_t i = 0; i < cnt; i++)
                for (int32_t co = 0; co < s->cout; co++)
                    memcpy(y + co * ldc + i * p, d + i * out_size + co * p, (size_t)p * sizeof(float));
            yc = y;
        }
        cpu_conv2d_fill_col(a, col, padded, n0, cnt);
        cpu_sgemm(0, 1, s->cout, (int32_t)kb, (int32_t)ldc, 1.0f, yc, (int32_t)ldc, col, (int32_t)ldc, 1.0f, pw,
                  (int32_t)kb);
        if (!a->din)
            continue;
        /* dcol [K, cnt P] = W^T [K, cout] dout, overwriting col */
        cpu_sgemm(1, 0, (int32_t)kd, (int32_t)ldc, s->cout, 1.0f, a->w, (int32_t)kd, yc, (int32_t)ldc, 0.0f, col,
                  (int32_t)ldc);
        for (int32_t i = 0; i < cnt; i++) {
            float *di = a->din + (n0 + i) * in_size;
            if (a->same) {
                cpu_conv2d_col2im_same(di, a->acc, col + i * p, ldc, padded, a->mask, s);
                continue;
            }
            if (!a->acc)
                memset(di, 0, (size_t)in_size * sizeof(float));
            cpu_conv2d_col2im(di, col + i * p, ldc, s);
        }
    }
}

static void cpu_conv2d_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, const pd_conv2d_shape *s, int acc)
{
    /* din [n, cin, h, w] or NULL, dw [cout, cin, k, k] +=, db [cout] += or NULL, dout [n, cout, ho, wo],
     * in [n, cin, h, w], w [cout, cin, k, k] */
    if (s->n <= 0)
        return;
    if (s->cout <= 0 || s->ho <= 0 || s->wo <= 0) { /* empty output: nothing flows back */
        if (din && !acc)
            memset(din, 0, (size_t)s->n * s->cin * s->h * s->w * sizeof(float));
        return;
    }
    if (cpu_winograd_fits(s)) {
        cpu_winograd_backward(be, din, dw, db, dout, in, w, s, acc);
        return;
    }
    cpu_conv2d_args a = {.s = s, .din = din, .dout = dout, .in = in, .w = w, .acc = acc};
    a.kb = (int64_t)s->cin * s->k * s->k + (db != NULL);
    a.part_floats = cpu_conv2d_round(s->cout * a.kb);
    /* groups: fixed by the geometry, never by the thread count */
    int64_t groups = CPU_CONV2D_GROUPS;
    a.part = cpu_conv2d_plan(be, &a, groups, groups * a.part_floats);
    a.ngroups = groups > a.nchunks ? a.nchunks : groups;
    cpu_parallel_for(be, a.ngroups, cpu_conv2d_backward_task, &a);
    for (int32_t co = 0; co < s->cout; co++)
        for (int64_t t = 0; t < a.kb; t++) {
            float sum = 0.0f;
            for (int64_t g = 0; g < a.ngroups; g++)
                sum += a.part[g * a.part_floats + co * a.kb + t];
            if (t < a.kd)
                dw[co * a.kd + t] += sum;
            else
                db[co] += sum;
        }
}

void cpu_conv2d_register(pd_backend *be)
{
    be->conv2d_forward = cpu_conv2d_forward;
    be->conv2d_backward = cpu_conv2d_backward;
}
