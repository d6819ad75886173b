/* test_ops1d.c — the CPU backend's 1-D and diffusion ops: conv1d, convt1d, instnorm, temb, q_sample,
 * diffusion_step. Forward passes against naive double-precision references, backward passes against naive
 * references (large shapes: GEMM path, several batch chunks) and finite differences (small shapes), the acc
 * flag, din == NULL, repeatability at a fixed thread count and the same bits at 1, 2 and 3 threads. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "gradcheck.h"
#include "rng.h"
#include "tap.h"

static pd_backend *be2; /* 2 threads: the backend under test */
static pd_backend *be1; /* 1 thread: for the thread-count comparison */
static pd_backend *be3; /* 3 threads: likewise */

static float *talloc(int64_t n)
{
    return backend_alloc_floats(be2, n > 0 ? n : 1);
}

static void tfree(void *p)
{
    be2->free(be2, p);
}

static void fill(float *x, int64_t n, uint64_t seed, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform_at(seed, (uint64_t)i);
}

static void to_float(float *dst, const double *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

static int same_bits(const float *a, const float *b, int64_t n)
{
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

/* ---- naive references ---------------------------------------------------------------------------------- */

/* Visit every (b, ci, co, kk, j_in, j_out) link of a conv (t = 0) or transposed conv (t = 1).
 * conv:  out[b, co, j] += w[co, ci, kk] in[b, ci, j s - pad + kk]
 * convt: out[b, co, j s - pad + kk] += w[ci, co, kk] in[b, ci, j] */
#define CONV_LINKS(s, t, BODY)                                                                                 \
    for (int32_t b_ = 0; b_ < (s)->n; b_++)                                                                    \
        for (int32_t co_ = 0; co_ < (s)->cout; co_++)                                                          \
            for (int32_t ci_ = 0; ci_ < (s)->cin; ci_++)                                                       \
                for (int32_t kk_ = 0; kk_ < (s)->k; kk_++)                                                     \
                    for (int32_t j_ = 0; j_ < ((t) ? (s)->l : (s)->lo); j_++) {                                \
                        int32_t p_ = j_ * (s)->stride - (s)->pad + kk_;                                        \
                        if (p_ < 0 || p_ >= ((t) ? (s)->lo : (s)->l))                                          \
                            continue;                                                                          \
                        int64_t ii = ((int64_t)b_ * (s)->cin + ci_) * (s)->l + ((t) ? j_ : p_);                \
                        int64_t oi = ((int64_t)b_ * (s)->cout + co_) * (s)->lo + ((t) ? p_ : j_);              \
                        int64_t wi = (t) ? ((int64_t)ci_ * (s)->cout + co_) * (s)->k + kk_                     \
                                         : ((int64_t)co_ * (s)->cin + ci_) * (s)->k + kk_;                     \
                        BODY                                                                                   \
                    }

static void ref_conv_forward(const pd_conv1d_shape *s, int t, double *out, const float *in, const float *w,
                             const float *b)
{
    int64_t nout = (int64_t)s->n * s->cout * s->lo;
    for (int64_t i = 0; i < nout; i++)
        out[i] = b ? b[(i / s->lo) % s->cout] : 0.0;
    CONV_LINKS(s, t, { out[oi] += (double)w[wi] * in[ii]; })
}

static void ref_conv_backward(const pd_conv1d_shape *s, int t, double *din, double *dw, double *db,
                              const float *dout, const float *in, const float *w)
{
    memset(din, 0, sizeof(double) * (size_t)s->n * s->cin * s->l);
    memset(dw, 0, sizeof(double) * (size_t)s->cin * s->cout * s->k);
    memset(db, 0, sizeof(double) * (size_t)s->cout);
    for (int64_t i = 0; i < (int64_t)s->n * s->cout * s->lo; i++)
        db[(i / s->lo) % s->cout] += dout[i];
    CONV_LINKS(s, t, {
        din[ii] += (double)w[wi] * dout[oi];
        dw[wi] += (double)in[ii] * dout[oi];
    })
}

/* ---- conv1d / convt1d ---------------------------------------------------------------------------------- */

typedef struct {
    pd_backend *be;
    pd_conv1d_shape s;
    int t; /* transposed */
    float *out, *in, *w, *b, *r;
} conv_ctx;

static void conv_fwd(pd_backend *be, int t, float *out, const float *in, const float *w, const float *b,
                     const pd_conv1d_shape *s)
{
    (t ? be->convt1d_forward : be->conv1d_forward)(be, out, in, w, b, s);
}

static void conv_bwd(pd_backend *be, int t, float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, const pd_conv1d_shape *s, int acc)
{
    (t ? be->convt1d_backward : be->conv1d_backward)(be, din, dw, db, dout, in, w, s, acc);
}

static double conv_loss(void *ctx)
{
    conv_ctx *c = ctx;
    conv_fwd(c->be, c->t, c->out, c->in, c->w, c->b, &c->s);
    return gradcheck_dot(c->out, c->r, (int64_t)c->s.n * c->s.cout * c->s.lo);
}

/* Forward and backward of one geometry against the naive reference; acc, NULL din, thread counts. */
static void check_conv(const pd_conv1d_shape *s, int t, int bias)
{
    char name[160];
    snprintf(name, sizeof name, "%s n%d cin%d l%d cout%d k%d s%d p%d lo%d%s", t ? "convt1d" : "conv1d", s->n,
             s->cin, s->l, s->cout, s->k, s->stride, s->pad, s->lo, bias ? " bias" : "");
    int64_t nin = (int64_t)s->n * s->cin * s->l, nout = (int64_t)s->n * s->cout * s->lo;
    int64_t nw = (int64_t)s->cin * s->cout * s->k;
    float *in = talloc(nin), *w = talloc(nw), *b = talloc(s->cout), *out = talloc(nout), *dout = talloc(nout);
    int64_t nmax = nin > nw ? nin : nw;
    nmax = nmax > nout ? nmax : nout;
    float *din = talloc(nin), *dw = talloc(nw), *db = talloc(s->cout), *want = talloc(nmax);
    float *out1 = talloc(nout), *din1 = talloc(nin), *dw1 = talloc(nw);
    double *ref = malloc(sizeof(double) * (size_t)(nout > nin ? nout : nin));
    double *rdw = malloc(sizeof(double) * (size_t)nw), *rdb = malloc(sizeof(double) * (size_t)s->cout);
    double *rdin = malloc(sizeof(double) * (size_t)nin);
    uint64_t seed = (uint64_t)(s->n * 1000003 + s->cin * 10007 + s->l * 101 + s->cout * 13 + s->k * 7 + t);
    fill(in, nin, seed, -1, 1);
    fill(w, nw, seed + 1, -0.5f, 0.5f);
    fill(b, s->cout, seed + 2, -1, 1);
    fill(dout, nout, seed + 3, -1, 1);
    const float *bp = bias ? b : NULL;
    double tol = 1e-5 * sqrt((double)s->cin * s->k) + 1e-5;

    /* forward */
    fill(out, nout, 99, 1e30f, 1e30f);
    conv_fwd(be2, t, out, in, w, bp, s);
    ref_conv_forward(s, t, ref, in, w, bp);
    to_float(want, ref, nout);
    char what[200];
    snprintf(what, sizeof what, "%s forward", name);
    tap_close(what, out, want, nout, tol, 1e-5);

    /* backward, acc = 0: din fully written, dw and db accumulate onto what is there */
    ref_conv_backward(s, t, rdin, rdw, rdb, dout, in, w);
    fill(din, nin, 99, 1e30f, 1e30f);
    fill(dw, nw, seed + 4, -1, 1);
    fill(db, s->cout, seed + 5, -1, 1);
    for (int64_t i = 0; i < nw; i++)
        rdw[i] += dw[i];
    for (int32_t i = 0; i < s->cout; i++)
        rdb[i] += db[i];
    conv_bwd(be2, t, din, dw, bias ? db : NULL, dout, in, w, s, 0);
    double btol = 1e-5 * sqrt((double)s->cout * s->k) + 1e-5;
    double wtol = 1e-5 * sqrt((double)s->n * (t ? s->l : s->lo)) + 1e-5;
    snprintf(what, sizeof what, "%s din", name);
    to_float(want, rdin, nin);
    tap_close(what, din, want, nin, btol, 1e-5);
    snprintf(what, sizeof what, "%s dw +=", name);
    to_float(want, rdw, nw);
    tap_close(what, dw, want, nw, wtol, 1e-5);
    if (bias) {
        snprintf(what, sizeof what, "%s db +=", name);
        to_float(want, rdb, s->cout);
        tap_close(what, db, want, s->cout, wtol, 1e-5);
    }

    /* acc = 1 adds to din; din = NULL still gives dw */
    fill(din, nin, seed + 6, -1, 1);
    for (int64_t i = 0; i < nin; i++)
        rdin[i] += din[i];
    fill(dw, nw, 0, 0, 0);
    conv_bwd(be2, t, din, dw, NULL, dout, in, w, s, 1);
    snprintf(what, sizeof what, "%s din acc=1 adds", name);
    to_float(want, rdin, nin);
    tap_close(what, din, want, nin, btol, 1e-5);
    fill(dw1, nw, 0, 0, 0);
    conv_bwd(be2, t, NULL, dw1, NULL, dout, in, w, s, 0);
    tap_ok(same_bits(dw, dw1, nw), "%s din NULL: same dw", name);

    /* the same thread count repeats bit for bit; 1 and 3 threads give the same bits as 2 */
    conv_fwd(be2, t, out1, in, w, bp, s);
    fill(din1, nin, 0, 0, 0);
    fill(dw1, nw, 0, 0, 0);
    conv_bwd(be2, t, din1, dw1, NULL, dout, in, w, s, 0);
    fill(din, nin, 0, 0, 0);
    fill(dw, nw, 0, 0, 0);
    conv_bwd(be2, t, din, dw, NULL, dout, in, w, s, 0);
    tap_ok(same_bits(out, out1, nout) && same_bits(din, din1, nin) && same_bits(dw, dw1, nw),
           "%s: two runs at 2 threads agree bit for bit", name);
    pd_backend *other[2] = {be1, be3};
    for (int i = 0; i < 2; i++) {
        conv_fwd(other[i], t, out1, in, w, bp, s);
        fill(din1, nin, 0, 0, 0);
        fill(dw1, nw, 0, 0, 0);
        conv_bwd(other[i], t, din1, dw1, NULL, dout, in, w, s, 0);
        tap_ok(same_bits(out, out1, nout) && same_bits(din, din1, nin) && same_bits(dw, dw1, nw),
               "%s: %d threads give the bits of 2", name, other[i]->threads);
    }

    tfree(in), tfree(w), tfree(b), tfree(out), tfree(dout), tfree(din), tfree(dw), tfree(db), tfree(want);
    tfree(out1), tfree(din1), tfree(dw1);
    free(ref), free(rdw), free(rdb), free(rdin);
}

/* Finite-difference checks of din, dw and db for one small geometry. */
static void gradcheck_conv(const pd_conv1d_shape *s, int t)
{
    char name[160];
    snprintf(name, sizeof name, "%s cin%d l%d cout%d k%d s%d p%d", t ? "convt1d" : "conv1d", s->cin, s->l,
             s->cout, s->k, s->stride, s->pad);
    int64_t nin = (int64_t)s->n * s->cin * s->l, nout = (int64_t)s->n * s->cout * s->lo;
    int64_t nw = (int64_t)s->cin * s->cout * s->k;
    conv_ctx c = {.be = be2, .s = *s, .t = t};
    c.in = talloc(nin), c.w = talloc(nw), c.b = talloc(s->cout), c.out = talloc(nout), c.r = talloc(nout);
    float *din = talloc(nin), *dw = talloc(nw), *db = talloc(s->cout);
    fill(c.in, nin, 11, -1, 1);
    fill(c.w, nw, 12, -0.5f, 0.5f);
    fill(c.b, s->cout, 13, -1, 1);
    fill(c.r, nout, 14, -1, 1);
    conv_bwd(be2, t, din, dw, db, c.r, c.in, c.w, s, 0);
    char what[200];
    snprintf(what, sizeof what, "%s din", name);
    gradcheck(what, c.in, din, nin, conv_loss, &c, 1e-2, 1e-3, 1e-3, 150);
    snprintf(what, sizeof what, "%s dw", name);
    gradcheck(what, c.w, dw, nw, conv_loss, &c, 1e-2, 1e-3, 1e-3, 150);
    snprintf(what, sizeof what, "%s db", name);
    gradcheck(what, c.b, db, s->cout, conv_loss, &c, 1e-2, 1e-3, 1e-3, 150);
    tfree(c.in), tfree(c.w), tfree(c.b), tfree(c.out), tfree(c.r), tfree(din), tfree(dw), tfree(db);
}

static void test_conv(void)
{
    /* the AE's lengths */
    tap_ok(conv1d_shape_make(1, 1, 2106, 2, 3, 1, 1).lo == 2106, "conv1d k3 pad1 keeps length 2106");
    tap_ok(conv1d_shape_make(1, 2, 2106, 2, 3, 3, 0).lo == 702, "conv1d k3 stride3 2106 -> 702");
    tap_ok(convt1d_shape_make(1, 4, 3, 4, 5, 5, 0).lo == 15, "convt1d k5 stride5 3 -> 15");
    tap_ok(conv1d_shape_make(1, 4, 15, 256, 5, 1, 4).lo == 19, "conv1d k5 pad4 15 -> 19");

    /* direct path: small channel counts (cin/cout 1..8), strides 1..5, pads 0/1/fold-1 */
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 1, 2106, 2, 3, 1, 1)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 2, 2106, 2, 3, 3, 0)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 4, 2500, 4, 5, 1, 1)}, 0, 0);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 4, 2498, 4, 5, 5, 0)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 8, 37, 1, 3, 1, 2)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 3, 20, 5, 5, 2, 4)}, 0, 0);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(4, 1, 12, 8, 3, 1, 1)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 6, 29, 7, 3, 3, 1)}, 0, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(3, 2, 26, 2, 3, 3, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 4, 3, 4, 5, 5, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 8, 50, 8, 5, 5, 0)}, 1, 0);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 3, 11, 5, 5, 3, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 5, 9, 3, 3, 5, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 4, 9, 6, 5, 3, 1)}, 1, 1);
    /* GEMM path: the AE's wide middle and the UNet's short rows */
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 4, 15, 256, 5, 1, 4)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 64, 78, 64, 3, 1, 2)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(5, 32, 12, 64, 3, 1, 1)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 64, 40, 8, 3, 1, 2)}, 0, 0);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 40, 47, 24, 5, 3, 2)}, 0, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(3, 64, 26, 64, 3, 3, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 32, 19, 48, 5, 5, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 24, 13, 40, 5, 3, 1)}, 1, 0);
    /* GEMM path with the batch split into several chunks */
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 64, 41, 8, 5, 2, 2)}, 0, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 8, 30, 64, 3, 1, 1)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 8, 17, 64, 5, 2, 1)}, 1, 0);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 48, 13, 32, 3, 1, 0)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 3, 32, 3, 1, 0)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 1, 32, 3, 1, 1)}, 0, 0);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 2, 32, 3, 1, 2)}, 0, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 5, 32, 3, 1, 3)}, 0, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(3, 32, 11, 40, 3, 1, 1)}, 1, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 40, 6, 32, 3, 1, 2)}, 1, 1);
    /* more samples than the GEMM paths' fixed task count (8): uneven ranges of several samples */
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(19, 16, 36, 48, 3, 3, 0)}, 0, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(19, 48, 12, 16, 3, 3, 0)}, 1, 1);
    /* GEMM paths with the batch split into several chunks */
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(7, 64, 12000, 8, 3, 1, 1)}, 0, 1);
    check_conv((pd_conv1d_shape[]){convt1d_shape_make(7, 64, 12000, 8, 3, 3, 0)}, 1, 1);
    check_conv((pd_conv1d_shape[]){conv1d_shape_make(3, 32, 24001, 32, 3, 1, 1)}, 0, 1);

    /* finite differences */
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 3, 17, 4, 3, 1, 1)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 2, 19, 3, 3, 3, 0)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 3, 15, 2, 5, 1, 4)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 3, 23, 2, 5, 2, 2)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 12, 16, 3, 1, 1)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 16, 12, 32, 3, 1, 1)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 24, 20, 16, 5, 2, 2)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 9, 32, 3, 1, 1)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){conv1d_shape_make(2, 32, 8, 40, 3, 1, 2)}, 0);
    gradcheck_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 3, 7, 2, 3, 3, 0)}, 1);
    gradcheck_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 2, 4, 3, 5, 5, 0)}, 1);
    gradcheck_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 3, 6, 2, 5, 3, 1)}, 1);
    gradcheck_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 16, 5, 24, 3, 3, 0)}, 1);
    gradcheck_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 8, 9, 32, 3, 1, 1)}, 1);
    gradcheck_conv((pd_conv1d_shape[]){convt1d_shape_make(2, 32, 7, 32, 3, 1, 0)}, 1);
}

/* ---- instnorm ------------------------------------------------------------------------------------------ */

typedef struct {
    float *out, *in, *mean, *rstd, *r;
    int64_t rows;
    int32_t l;
    float eps;
} in_ctx;

static double in_loss(void *ctx)
{
    in_ctx *c = ctx;
    be2->instnorm_forward(be2, c->out, c->in, c->mean, c->rstd, c->rows, c->l, c->eps);
    return gradcheck_dot(c->out, c->r, c->rows * c->l);
}

static void check_instnorm(int64_t rows, int32_t l, float eps)
{
    int64_t n = rows * l;
    float *in = talloc(n), *out = talloc(n), *mean = talloc(rows), *rstd = talloc(rows), *want = talloc(n);
    float *wm = talloc(rows), *wr = talloc(rows), *dout = talloc(n), *din = talloc(n), *din2 = talloc(n);
    fill(in, n, (uint64_t)(rows * 7 + l), -2, 3);
    fill(dout, n, (uint64_t)(rows * 7 + l + 1), -1, 1);
    be2->instnorm_forward(be2, out, in, mean, rstd, rows, l, eps);
    double *gref = malloc(sizeof(double) * (size_t)n);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * l;
        double m = 0, v = 0;
        for (int32_t j = 0; j < l; j++)
            m += x[j];
        m /= l;
        for (int32_t j = 0; j < l; j++)
            v += (x[j] - m) * (x[j] - m);
        v /= l;
        double rs = 1.0 / sqrt(v + eps), sg = 0, sgx = 0;
        wm[r] = (float)m;
        wr[r] = (float)rs;
        for (int32_t j = 0; j < l; j++) {
            want[r * l + j] = (float)((x[j] - m) * rs);
            sg += dout[r * l + j];
            sgx += dout[r * l + j] * (x[j] - m) * rs;
        }
        for (int32_t j = 0; j < l; j++)
            gref[r * l + j] = rs * (dout[r * l + j] - sg / l - (x[j] - m) * rs * sgx / l);
    }
    char what[120];
    snprintf(what, sizeof what, "instnorm rows%lld l%d forward", (long long)rows, l);
    tap_close(what, out, want, n, 1e-5, 1e-4);
    snprintf(what, sizeof what, "instnorm rows%lld l%d save_mean", (long long)rows, l);
    tap_close(what, mean, wm, rows, 1e-6, 1e-5);
    snprintf(what, sizeof what, "instnorm rows%lld l%d save_rstd", (long long)rows, l);
    tap_close(what, rstd, wr, rows, 1e-6, 1e-5);
    fill(din, n, 99, 1e30f, 1e30f);
    be2->instnorm_backward(be2, din, dout, in, mean, rstd, rows, l, 0);
    to_float(want, gref, n);
    snprintf(what, sizeof what, "instnorm rows%lld l%d din", (long long)rows, l);
    tap_close(what, din, want, n, 1e-4, 1e-4);
    fill(din2, n, 5, -1, 1);
    for (int64_t i = 0; i < n; i++)
        want[i] += din2[i];
    be2->instnorm_backward(be2, din2, dout, in, mean, rstd, rows, l, 1);
    snprintf(what, sizeof what, "instnorm rows%lld l%d din acc=1 adds", (long long)rows, l);
    tap_close(what, din2, want, n, 1e-4, 1e-4);
    be1->instnorm_backward(be1, din2, dout, in, mean, rstd, rows, l, 0);
    tap_ok(same_bits(din, din2, n), "instnorm rows%lld l%d: 1 and 2 threads agree bit for bit", (long long)rows, l);
    free(gref);
    tfree(in), tfree(out), tfree(mean), tfree(rstd), tfree(want), tfree(wm), tfree(wr), tfree(dout), tfree(din);
    tfree(din2);
}

static void test_instnorm(void)
{
    check_instnorm(2 * 3, 2106, 1e-5f);
    check_instnorm(200 * 64, 12, 1e-5f);
    check_instnorm(7, 3, 1e-5f);
    check_instnorm(3, 1, 1e-5f);

    in_ctx c = {.rows = 6, .l = 13, .eps = 1e-5f};
    int64_t n = c.rows * c.l;
    c.in = talloc(n), c.out = talloc(n), c.mean = talloc(c.rows), c.rstd = talloc(c.rows), c.r = talloc(n);
    float *din = talloc(n);
    fill(c.in, n, 21, -1, 1);
    fill(c.r, n, 22, -1, 1);
    in_loss(&c);
    be2->instnorm_backward(be2, din, c.r, c.in, c.mean, c.rstd, c.rows, c.l, 0);
    gradcheck("instnorm din", c.in, din, n, in_loss, &c, 1e-3, 2e-3, 2e-2, 200);
    tfree(c.in), tfree(c.out), tfree(c.mean), tfree(c.rstd), tfree(c.r), tfree(din);
}

/* ---- time embedding ------------------------------------------------------------------------------------ */

typedef struct {
    float *out, *in, *table, *r;
    int32_t *t;
    int32_t n, c, l;
} te_ctx;

static double te_loss(void *ctx)
{
    te_ctx *c = ctx;
    be2->temb_forward(be2, c->out, c->in, c->table, c->t, c->n, c->c, c->l);
    return gradcheck_dot(c->out, c->r, (int64_t)c->n * c->c * c->l);
}

static void test_temb(void)
{
    te_ctx c = {.n = 6, .c = 5, .l = 12};
    int32_t T = 10;
    int64_t n = (int64_t)c.n * c.c * c.l;
    int32_t t[6] = {3, 7, 3, 0, 9, 3}; /* repeated timesteps */
    c.t = backend_alloc_ints(be2, c.n);
    memcpy(c.t, t, sizeof t);
    c.in = talloc(n), c.out = talloc(n), c.table = talloc((int64_t)T * c.l), c.r = talloc(n);
    float *want = talloc(n), *din = talloc(n), *dtab = talloc((int64_t)T * c.l), *wtab = talloc((int64_t)T * c.l);
    fill(c.in, n, 31, -1, 1);
    fill(c.table, (int64_t)T * c.l, 32, -1, 1);
    fill(c.r, n, 33, -1, 1);
    be2->temb_forward(be2, c.out, c.in, c.table, c.t, c.n, c.c, c.l);
    for (int64_t i = 0; i < n; i++)
        want[i] = c.in[i] + c.table[(int64_t)t[i / (c.c * c.l)] * c.l + i % c.l];
    tap_close("temb forward", c.out, want, n, 0, 0);

    fill(dtab, (int64_t)T * c.l, 34, -1, 1);
    memcpy(wtab, dtab, sizeof(float) * (size_t)T * c.l);
    for (int64_t i = 0; i < n; i++)
        wtab[(int64_t)t[i / (c.c * c.l)] * c.l + i % c.l] += c.r[i];
    fill(din, n, 99, 1e30f, 1e30f);
    be2->temb_backward(be2, din, dtab, c.r, c.t, c.n, c.c, c.l, 0);
    tap_close("temb din", din, c.r, n, 0, 0);
    tap_close("temb dtable += (repeated timesteps)", dtab, wtab, (int64_t)T * c.l, 1e-5, 1e-5);
    for (int64_t i = 0; i < n; i++)
        want[i] = din[i] + c.r[i];
    be2->temb_backward(be2, din, NULL, c.r, c.t, c.n, c.c, c.l, 1);
    tap_close("temb din acc=1 adds", din, want, n, 1e-6, 1e-6);

    fill(din, n, 0, 0, 0);
    fill(dtab, (int64_t)T * c.l, 0, 0, 0);
    be2->temb_backward(be2, din, dtab, c.r, c.t, c.n, c.c, c.l, 0);
    gradcheck("temb din", c.in, din, n, te_loss, &c, 1e-2, 1e-3, 1e-3, 200);
    gradcheck("temb dtable", c.table, dtab, (int64_t)T * c.l, te_loss, &c, 1e-2, 1e-3, 1e-3, 200);
    tfree(c.t), tfree(c.in), tfree(c.out), tfree(c.table), tfree(c.r), tfree(want), tfree(din), tfree(dtab);
    tfree(wtab);
}

/* ---- q_sample and diffusion_step ----------------------------------------------------------------------- */

static void test_diffusion(void)
{
    int32_t n = 300, l = 12, T = 1000;
    int64_t ne = (int64_t)n * l;
    float *x0 = talloc(ne), *eps = talloc(ne), *xt = talloc(ne), *want = talloc(ne);
    float *sab = talloc(T), *s1m = talloc(T);
    int32_t *t = backend_alloc_ints(be2, n);
    for (int32_t i = 0; i < T; i++) {
        double ab = exp(-0.01 * i);
        sab[i] = (float)sqrt(ab), s1m[i] = (float)sqrt(1 - ab);
    }
    for (int32_t b = 0; b < n; b++)
        t[b] = (int32_t)((b * 7919u) % (uint32_t)T);
    fill(x0, ne, 41, -1, 1);
    fill(eps, ne, 42, -3, 3);
    be2->diffusion_q_sample(be2, xt, x0, eps, t, sab, s1m, n, l);
    for (int64_t i = 0; i < ne; i++)
        want[i] = sab[t[i / l]] * x0[i] + s1m[t[i / l]] * eps[i];
    tap_close("q_sample", xt, want, ne, 1e-6, 1e-6);

    /* one reverse step, with and without noise; ca large enough that some x0p clamp */
    int64_t sizes[2] = {1200, 50000};
    for (int si = 0; si < 2; si++) {
        int64_t m = sizes[si];
        float *x = talloc(m), *e = talloc(m), *w = talloc(m), *x1 = talloc(m);
        for (int pass = 0; pass < 2; pass++) {
            float ca = 1.7f, cb = 0.4f, c1 = 0.3f, c2 = 0.65f, sigma = pass ? 0.2f : 0.0f;
            uint64_t seed = 77, off = 123456789;
            fill(x, m, 43 + si, -1, 1);
            fill(e, m, 44 + si, -1, 1);
            int64_t clamped = 0;
            for (int64_t i = 0; i < m; i++) {
                float v = ca * x[i] - cb * e[i];
                float x0p = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
                clamped += x0p != v;
                w[i] = c1 * x0p + c2 * x[i];
                if (sigma != 0.0f)
                    w[i] += sigma * rng_normal_at(seed, off + (uint64_t)i);
            }
            memcpy(x1, x, sizeof(float) * (size_t)m);
            be2->diffusion_step(be2, x, e, m, ca, cb, c1, c2, sigma, seed, off);
            char what[120];
            snprintf(what, sizeof what, "diffusion_step n%lld sigma %g (%lld of %lld clamped)", (long long)m,
                     sigma, (long long)clamped, (long long)m);
            tap_ok(clamped > 0 && clamped < m, "diffusion_step test data hits the clamp for some elements only");
            tap_close(what, x, w, m, 1e-6, 1e-6);
            be1->diffusion_step(be1, x1, e, m, ca, cb, c1, c2, sigma, seed, off);
            tap_ok(same_bits(x, x1, m), "diffusion_step n%lld sigma %g: 1 and 2 threads agree bit for bit",
                   (long long)m, sigma);
        }
        /* no clamp: coefficients that keep |ca x - cb eps| < 1 */
        fill(x, m, 45, -0.5f, 0.5f);
        fill(e, m, 46, -0.5f, 0.5f);
        for (int64_t i = 0; i < m; i++)
            w[i] = 0.5f * (0.9f * x[i] - 0.5f * e[i]) + 0.5f * x[i];
        be2->diffusion_step(be2, x, e, m, 0.9f, 0.5f, 0.5f, 0.5f, 0.0f, 1, 0);
        tap_close("diffusion_step without clamping", x, w, m, 1e-6, 1e-6);
        tfree(x), tfree(e), tfree(w), tfree(x1);
    }
    tfree(x0), tfree(eps), tfree(xt), tfree(want), tfree(sab), tfree(s1m), tfree(t);
}

int main(void)
{
    pd_error err;
    if (backend_cpu_create(&be2, 2, &err) != PD_OK || backend_cpu_create(&be1, 1, &err) != PD_OK ||
        backend_cpu_create(&be3, 3, &err) != PD_OK) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    test_conv();
    test_instnorm();
    test_temb();
    test_diffusion();
    backend_destroy(be2);
    backend_destroy(be1);
    backend_destroy(be3);
    return tap_done();
}
