/* test_ops2d.c — the CPU backend's element-wise and 2-D ops (backend.h: conv2d, BatchNorm, the fused blocks,
 * pooling) against naive double-precision references written here, finite-difference checks of every backward
 * (gradcheck.h), the accumulate conventions, and determinism: bit-identical at a fixed thread count, close
 * across counts. The linear layer, losses and optimisers: test_dense.c. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "ops_util.h"

/* ---- element-wise -------------------------------------------------------------------------------------- */

enum { U_RELU, U_LEAKY, U_TANH, U_CLAMP };
static const char *const unary_names[] = {"relu", "leakyrelu", "tanh", "clamp"};
typedef struct {
    int kind;
    float *out, *in;
    int64_t n;
} unary_op;
static void unary_fwd(void *p)
{
    unary_op *u = p;
    if (u->kind == U_RELU) be->relu_forward(be, u->out, u->in, u->n);
    if (u->kind == U_LEAKY) be->leakyrelu_forward(be, u->out, u->in, 0.2f, u->n);
    if (u->kind == U_TANH) be->tanh_forward(be, u->out, u->in, u->n);
    if (u->kind == U_CLAMP) be->clamp_forward(be, u->out, u->in, -0.5f, 0.5f, u->n);
}
static void unary_bwd(const unary_op *u, float *din, const float *dout, int acc)
{
    if (u->kind == U_RELU) be->relu_backward(be, din, dout, u->out, u->n, acc);
    if (u->kind == U_LEAKY) be->leakyrelu_backward(be, din, dout, u->in, 0.2f, u->n, acc);
    if (u->kind == U_TANH) be->tanh_backward(be, din, dout, u->out, u->n, acc);
    if (u->kind == U_CLAMP) be->clamp_backward(be, din, dout, u->in, -0.5f, 0.5f, u->n, acc);
}
static double unary_ref(int kind, double x)
{
    if (kind == U_RELU) return x > 0 ? x : 0;
    if (kind == U_LEAKY) return x > 0 ? x : 0.2 * x;
    if (kind == U_TANH) return tanh(x);
    return x < -0.5 ? -0.5 : x > 0.5 ? 0.5 : x;
}

static void test_eltwise(void)
{
    int64_t n = 300007; /* large enough for the parallel path */
    float *x = frand(n, -2, 2), *y = frand(n, -2, 2), *out = fbuf(n), *want = fbuf(n);
    for (int kind = U_RELU; kind <= U_CLAMP; kind++) {
        const char *name = unary_names[kind];
        unary_op u = {kind, out, x, n};
        unary_fwd(&u);
        for (int64_t i = 0; i < n; i++)
            want[i] = (float)unary_ref(kind, x[i]);
        tap_close(nm("%s forward", name), out, want, n, 1e-6, 1e-6);
        int64_t m = 257; /* gradients away from the kinks (0, the clamp bounds) */
        float *xs = frand(m, 0.05f, 1.0f), *r = frand(m, -1, 1), *din = fbuf(m), *din2 = fconst(m, 0.25f);
        for (int64_t i = 0; i < m; i++) { /* 0.05 <= |x| < 1, away from 0, and from +-0.5 for clamp */
            xs[i] *= kind == U_CLAMP && fabsf(xs[i] - 0.5f) < 0.05f ? 1.3f : 1.0f;
            xs[i] = rng_uniform(&trng) < 0.5 ? -xs[i] : xs[i];
        }
        unary_op us = {kind, fbuf(m), xs, m};
        unary_fwd(&us);
        unary_bwd(&us, din, r, 0);
        gc_ctx c = {unary_fwd, &us, us.out, r, m};
        gradcheck(nm("%s din", name), xs, din, m, gc_loss, &c, 1e-2, 1e-3, 1e-2, 300);
        unary_bwd(&us, din2, r, 1);
        tap_close(nm("%s acc=1 adds to din", name), din2, fsum(din, NULL, 0.25f, m), m, 1e-6, 1e-6);
    }
    be->fill(be, out, n, 3.5f);
    tap_close("fill", out, fconst(n, 3.5f), n, 0, 0);
    float *yy = fcopy(y, n);
    be->axpby(be, yy, 2.0f, x, -0.5f, n);
    for (int64_t i = 0; i < n; i++)
        want[i] = 2.0f * x[i] - 0.5f * y[i];
    tap_close("axpby", yy, want, n, 1e-6, 1e-6);
    be->axpby(be, yy, 3.0f, yy, 0.0f, n); /* aliased, b = 0 */
    for (int64_t i = 0; i < n; i++)
        want[i] *= 3.0f;
    tap_close("axpby aliased, b = 0", yy, want, n, 1e-6, 1e-6);
    be->add(be, out, x, y, n);
    tap_close("add", out, fsum(x, y, 0.0f, n), n, 0, 0);
    be->add(be, yy, yy, x, n);
    for (int64_t i = 0; i < n; i++)
        want[i] += x[i];
    tap_close("add aliased", yy, want, n, 1e-6, 1e-6);
    /* randn and noise_mix follow rng_normal_at exactly */
    int64_t nr = 100000, bad = 0;
    float *z = fbuf(nr), *mix = fcopy(x, nr);
    be->randn(be, z, nr, 42, 7);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < nr; i++) {
        bad += z[i] != rng_normal_at(42, 7 + (uint64_t)i);
        s += z[i];
        ss += (double)z[i] * z[i];
    }
    double mean = s / nr, var = ss / nr - mean * mean;
    tap_ok(bad == 0, "randn equals rng_normal_at (%lld differ)", (long long)bad);
    tap_ok(fabs(mean) < 0.015 && fabs(var - 1) < 0.02, "randn mean %.4f var %.4f", mean, var);
    be->noise_mix(be, mix, mix, 0.3f, nr, 42, 7);
    for (int64_t i = 0; i < nr; i++)
        want[i] = 0.7f * x[i] + 0.3f * z[i];
    tap_close("noise_mix", mix, want, nr, 1e-6, 1e-6);
    float *src = frand(4 * 5, -1, 1), *dpad = frand(4 * 8, -1, 1), *dcrop = fbuf(4 * 3), wpad[32], wcrop[12];
    be->pad_rows(be, dpad, src, 4, 5, 8);
    be->pad_rows(be, dcrop, src, 4, 5, 3);
    for (int i = 0; i < 32; i++)
        wpad[i] = i % 8 < 5 ? src[i / 8 * 5 + i % 8] : 0.0f;
    for (int i = 0; i < 12; i++)
        wcrop[i] = src[i / 3 * 5 + i % 3];
    tap_close("pad_rows pad 5 -> 8", dpad, wpad, 32, 0, 0);
    tap_close("pad_rows crop 5 -> 3", dcrop, wcrop, 12, 0, 0);
}

/* ---- conv2d -------------------------------------------------------------------------------------------- */

typedef struct {
    pd_conv2d_shape s;
    float *out, *in, *w, *b;
} conv_op;
static void conv_fwd(void *p)
{
    conv_op *c = p;
    be->conv2d_forward(be, c->out, c->in, c->w, c->b, &c->s);
}

/* want = conv (double); with dout: wdin, wdw, wdb += its gradients */
static void conv_ref(const conv_op *c, float *want, const float *dout, float *wdin, float *wdw, float *wdb)
{
    const pd_conv2d_shape *s = &c->s;
    for (int64_t o = 0; o < (int64_t)s->n * s->cout * s->ho * s->wo; o++) {
        int32_t ox = (int32_t)(o % s->wo), oy = (int32_t)(o / s->wo % s->ho);
        int32_t co = (int32_t)(o / ((int64_t)s->wo * s->ho) % s->cout), a = (int32_t)(o / ((int64_t)s->wo * s->ho * s->cout));
        double acc = c->b ? c->b[co] : 0.0;
        wdb[co] += dout[o];
        for (int32_t ci = 0; ci < s->cin; ci++)
            for (int32_t ky = 0; ky < s->k; ky++)
                for (int32_t kx = 0; kx < s->k; kx++) {
                    int32_t iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
                    if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                        continue;
                    int64_t ii = (((int64_t)a * s->cin + ci) * s->h + iy) * s->w + ix;
                    int64_t wi = (((int64_t)co * s->cin + ci) * s->k + ky) * s->k + kx;
                    acc += (double)c->in[ii] * c->w[wi];
                    wdin[ii] += dout[o] * c->w[wi];
                    wdw[wi] += dout[o] * c->in[ii];
                }
        want[o] = (float)acc;
    }
}

static void test_conv(int32_t n, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t k, int32_t stride,
                      int32_t pad, int bias, int gc)
{
    conv_op c = {conv2d_shape_make(n, cin, h, w, cout, k, stride, pad), NULL, NULL, NULL, NULL};
    const pd_conv2d_shape *s = &c.s;
    int64_t ni = (int64_t)n * cin * h * w, no = (int64_t)n * cout * s->ho * s->wo, nw = (int64_t)cout * cin * k * k;
    c.out = fbuf(no);
    c.in = frand(ni, -1, 1);
    c.w = frand(nw, -1, 1);
    c.b = bias ? frand(cout, -1, 1) : NULL;
    float *r = frand(no, -1, 1), *want = fbuf(no), *wdin = fbuf(ni), *wdw = fbuf(nw), *wdb = fbuf(cout);
    float *din = fbuf(ni), *dw = fbuf(nw), *db = fbuf(cout);
    const char *tag = nm("conv2d n%d %dx%dx%d->%d k%d s%d p%d%s", n, cin, h, w, cout, k, stride, pad,
                         bias ? "" : " nobias");
    conv_fwd(&c);
    conv_ref(&c, want, r, wdin, wdw, wdb);
    tap_close(nm("%s forward", tag), c.out, want, no, 1e-4, 1e-4);
    be->conv2d_backward(be, din, dw, bias ? db : NULL, r, c.in, c.w, s, 0);
    const char *what = nm("%s din, dw%s vs reference", tag, bias ? ", db" : "");
    tap_close(what, din, wdin, ni, 1e-4, 1e-4);
    tap_close(what, dw, wdw, nw, 1e-4, 1e-4);
    if (bias)
        tap_close(what, db, wdb, cout, 1e-4, 1e-4);
    if (!gc)
        return;
    gc_ctx g = {conv_fwd, &c, c.out, r, no};
    gradcheck(nm("%s din", tag), c.in, din, ni, gc_loss, &g, 1e-2, 2e-3, 1e-2, 60);
    gradcheck(nm("%s dw", tag), c.w, dw, nw, gc_loss, &g, 1e-2, 2e-3, 1e-2, 60);
    if (bias)
        gradcheck(nm("%s db", tag), c.b, db, cout, gc_loss, &g, 1e-2, 2e-3, 1e-2, 60);
    float *din2 = fcopy(din, ni);
    be->conv2d_backward(be, din2, dw, NULL, r, c.in, c.w, s, 1);
    tap_close(nm("%s acc=1 adds to din", tag), din2, fsum(din, din, 0.0f, ni), ni, 1e-5, 1e-5);
    tap_close(nm("%s dw accumulates", tag), dw, fsum(wdw, wdw, 0.0f, nw), nw, 1e-4, 1e-4);
}

/* ---- batchnorm ----------------------------------------------------------------------------------------- */

typedef struct {
    float *out, *in, *gamma, *beta, *rm, *rv, *sm, *sr;
    int32_t n, c, hw;
    int train;
} bn_op;
static void bn_fwd(void *p)
{
    bn_op *b = p;
    be->batchnorm2d_forward(be, b->out, b->in, b->gamma, b->beta, b->rm, b->rv, b->sm, b->sr, b->n, b->c, b->hw,
                            b->train, 0.1f, 1e-5f);
}

/* values uniform in [lo, hi) */
static void test_batchnorm(int32_t n, int32_t c, int32_t hw, float lo, float hi, int gc)
{
    int64_t sz = (int64_t)n * c * hw, cnt = (int64_t)n * hw;
    bn_op b = {fbuf(sz), frand(sz, lo, hi), frand(c, 0.5f, 1.5f), frand(c, -1, 1), frand(c, -0.5f, 0.5f),
               frand(c, 0.5f, 2), fbuf(c), fbuf(c), n, c, hw, 1};
    float *rm0 = fcopy(b.rm, c), *rv0 = fcopy(b.rv, c), *want = fbuf(sz), *r = frand(sz, -1, 1);
    float *wm = fbuf(c), *wr = fbuf(c), *wrm = fbuf(c), *wrv = fbuf(c), *din = fbuf(sz), *dg = fbuf(c);
    float *dbt = fbuf(c), *wdin = fbuf(sz), *wdg = fbuf(c), *wdb = fbuf(c);
    for (int mode = 1; mode >= 0; mode--) {
        const char *tag = nm("batchnorm n%d c%d hw%d in [%g, %g) %s", n, c, hw, lo, hi, mode ? "train" : "eval");
        b.train = mode;
        bn_fwd(&b);
        for (int32_t ch = 0; ch < c; ch++) {
            double s = 0, ss = 0, m, var, sdy = 0, sdyx = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int64_t t = 0; t < cnt; t++) {
                    double v = b.in[(t / hw * c + ch) * hw + t % hw];
                    s += pass == 0 ? v : 0.0;
                    ss += pass == 1 ? (v - s / cnt) * (v - s / cnt) : 0.0;
                }
            m = mode ? s / cnt : rm0[ch];
            var = mode ? ss / cnt : rv0[ch];
            wrm[ch] = mode ? (float)(0.9 * rm0[ch] + 0.1 * m) : rm0[ch];
            wrv[ch] = mode ? (float)(0.9 * rv0[ch] + 0.1 * ss / (cnt - 1)) : rv0[ch];
            double rstd = 1.0 / sqrt(var + 1e-5);
            wm[ch] = (float)m;
            wr[ch] = (float)rstd;
            for (int pass = 0; pass < 2; pass++)
                for (int64_t t = 0; t < cnt; t++) {
                    int64_t i = (t / hw * c + ch) * hw + t % hw;
                    double xh = (b.in[i] - m) * rstd;
                    if (pass == 0) {
                        want[i] = (float)(xh * b.gamma[ch] + b.beta[ch]);
                        sdy += r[i];
                        sdyx += r[i] * xh;
                    } else {
                        wdin[i] = (float)(b.gamma[ch] * rstd * (r[i] - (mode ? (sdy + xh * sdyx) / cnt : 0.0)));
                    }
                }
            wdg[ch] = (float)sdyx;
            wdb[ch] = (float)sdy;
        }
        tap_close(nm("%s forward", tag), b.out, want, sz, 1e-4, 1e-4);
        const char *what = nm("%s save_mean, save_rstd, running mean, running var", tag);
        tap_close(what, b.sm, wm, c, 1e-5, 1e-5);
        tap_close(what, b.sr, wr, c, 1e-5, 1e-4);
        tap_close(what, b.rm, wrm, c, 1e-6, 1e-5);
        tap_close(what, b.rv, wrv, c, 1e-6, 1e-4);
        memset(dg, 0, (size_t)c * sizeof(float));
        memset(dbt, 0, (size_t)c * sizeof(float));
        be->batchnorm2d_backward(be, din, dg, dbt, r, b.in, b.gamma, b.sm, b.sr, n, c, hw, mode, 0);
        what = nm("%s din, dgamma, dbeta vs reference", tag);
        tap_close(what, din, wdin, sz, 1e-4, 1e-3);
        tap_close(what, dg, wdg, c, 1e-4, 1e-4);
        tap_close(what, dbt, wdb, c, 1e-4, 1e-4);
        if (gc) {
            gc_ctx g = {bn_fwd, &b, b.out, r, sz};
            gradcheck(nm("%s din", tag), b.in, din, sz, gc_loss, &g, 1e-2, 2e-3, 2e-2, 80);
            gradcheck(nm("%s dgamma", tag), b.gamma, dg, c, gc_loss, &g, 1e-2, 2e-3, 1e-2, 80);
            gradcheck(nm("%s dbeta", tag), b.beta, dbt, c, gc_loss, &g, 1e-2, 2e-3, 1e-2, 80);
            float *din2 = fcopy(din, sz);
            be->batchnorm2d_backward(be, din2, dg, dbt, r, b.in, b.gamma, b.sm, b.sr, n, c, hw, mode, 1);
            tap_close(nm("%s acc=1 adds to din", tag), din2, fsum(din, din, 0.0f, sz), sz, 1e-5, 1e-5);
        }
        memcpy(b.rm, rm0, (size_t)c * sizeof(float)); /* the forward passes above moved them */
        memcpy(b.rv, rv0, (size_t)c * sizeof(float));
    }
}

/* ---- fused BatchNorm -> ReLU (-> max-pool), Conv -> BatchNorm -> ReLU (-> max-pool) ---------------------
 * Against the separate ops: bn_relu's forward bit for bit, backwards and the conv block within float rounding;
 * finite differences through the fused ops; acc, keep = 0 (inference) and dw = NULL. */

typedef struct {
    float *out, *x, *in, *w, *b, *gamma, *beta, *rm, *rv, *sm, *sr;
    pd_conv2d_shape s; /* conv block; bn_relu: n, cout = c, ho, wo only */
    int pool, train, conv;
} fz_op;
static void fz_fwd(void *p)
{
    fz_op *f = p;
    if (f->conv)
        be->conv_bn_relu_forward(be, f->out, f->x, f->in, f->w, f->b, &f->s, f->gamma, f->beta, f->rm, f->rv, f->sm,
                                 f->sr, f->pool, f->train, 0.1f, 1e-5f, 1);
    else
        be->bn_relu_forward(be, f->out, f->in, f->gamma, f->beta, f->rm, f->rv, f->sm, f->sr, f->s.n, f->s.cout,
                            f->s.ho, f->s.wo, f->pool, f->train, 0.1f, 1e-5f);
}

/* conv == 0: bn_relu on [n, c, h, w]; else the conv block over in [n, cin, h, w] with k, stride, pad */
static void test_fused(int conv, int32_t n, int32_t cin, int32_t h, int32_t w, int32_t c, int32_t k, int32_t st,
                       int32_t pad, int pool, int gc)
{
    fz_op f = {.conv = conv, .pool = pool};
    f.s = conv ? conv2d_shape_make(n, cin, h, w, c, k, st, pad) : conv2d_shape_make(n, c, h, w, c, 1, 1, 0);
    int64_t ni = conv ? (int64_t)n * cin * h * w : (int64_t)n * c * h * w, nw = (int64_t)c * cin * k * k;
    int64_t nx = (int64_t)n * c * f.s.ho * f.s.wo, ho = pool ? f.s.ho / 2 : f.s.ho, wo = pool ? f.s.wo / 2 : f.s.wo;
    int64_t no = (int64_t)n * c * ho * wo;
    f.in = frand(ni, -1, 3);
    f.w = conv ? frand(nw, -1, 1) : NULL;
    f.b = conv ? frand(c, -1, 1) : NULL;
    f.gamma = frand(c, 0.5f, 1.5f);
    for (int32_t ch = 0; ch < c; ch += 3)
        f.gamma[ch] = -f.gamma[ch];
    f.beta = frand(c, -0.5f, 0.5f), f.rm = frand(c, -0.5f, 0.5f), f.rv = frand(c, 0.5f, 2);
    f.sm = fbuf(c), f.sr = fbuf(c), f.out = fbuf(no), f.x = fbuf(nx);
    float *rm0 = fcopy(f.rm, c), *rv0 = fcopy(f.rv, c), *xr = fbuf(nx), *t = fbuf(nx), *want = fbuf(no);
    float *r = frand(no, -1, 1), *wsm = fbuf(c), *wsr = fbuf(c), *work = fbuf(nx), *t2 = fbuf(nx);
    int32_t *arg = ibuf(no);
    float *din = fbuf(ni), *wdin = fbuf(ni), *dw = fbuf(nw > 0 ? nw : 1), *wdw = fbuf(nw > 0 ? nw : 1);
    float *db = fbuf(c), *wdb = fbuf(c), *dg = fbuf(c), *wdg = fbuf(c), *dbt = fbuf(c), *wdbt = fbuf(c);
    const char *kind = conv ? nm("conv block n%d %dx%dx%d->%d k%d s%d p%d", n, cin, h, w, c, k, st, pad)
                            : nm("bn_relu n%d c%d %dx%d", n, c, h, w);
    for (int mode = 1; mode >= 0; mode--) {
        const char *tag = nm("%s%s %s", kind, pool ? " pool" : "", mode ? "train" : "eval");
        f.train = mode;
        /* reference: the separate ops (running statistics restored in between) */
        const float *bin = f.in;
        if (conv) {
            be->conv2d_forward(be, xr, f.in, f.w, f.b, &f.s);
            bin = xr;
        }
        int64_t hw = (int64_t)f.s.ho * f.s.wo;
        be->batchnorm2d_forward(be, t, bin, f.gamma, f.beta, f.rm, f.rv, wsm, wsr, n, c, hw, mode, 0.1f, 1e-5f);
        float *wrm = fcopy(f.rm, c), *wrv = fcopy(f.rv, c);
        be->relu_forward(be, t, t, nx);
        if (pool)
            be->maxpool2d_forward(be, want, arg, t, n, c, f.s.ho, f.s.wo);
        else
            memcpy(want, t, (size_t)nx * sizeof(float));
        memcpy(f.rm, rm0, (size_t)c * sizeof(float));
        memcpy(f.rv, rv0, (size_t)c * sizeof(float));
        fz_fwd(&f);
        double tol = conv ? 1e-5 : 0.0;
        tap_close(nm("%s forward equals the separate ops", tag), f.out, want, no, tol, conv ? 1e-4 : 0.0);
        tap_close(nm("%s statistics", tag), f.rm, wrm, c, tol, tol);
        tap_close(nm("%s statistics", tag), f.rv, wrv, c, tol, conv ? 1e-4 : 0.0);
        if (!conv)
            tap_close(nm("%s saved statistics", tag), f.sm, wsm, c, 0, 0);
        /* backward */
        memset(wdg, 0, (size_t)c * 4), memset(wdbt, 0, (size_t)c * 4), memset(wdw, 0, (size_t)(nw > 0 ? nw : 1) * 4);
        memset(wdb, 0, (size_t)c * 4), memset(dg, 0, (size_t)c * 4), memset(dbt, 0, (size_t)c * 4);
        memset(dw, 0, (size_t)(nw > 0 ? nw : 1) * 4), memset(db, 0, (size_t)c * 4);
        if (pool)
            be->maxpool2d_backward(be, t2, r, arg, n, c, f.s.ho, f.s.wo, 0);
        else
            memcpy(t2, r, (size_t)nx * sizeof(float));
        be->relu_backward(be, t2, t2, t, nx, 0);
        be->batchnorm2d_backward(be, conv ? work : wdin, wdg, wdbt, t2, bin, f.gamma, wsm, wsr, n, c, hw, mode, 0);
        if (conv) {
            be->conv2d_backward(be, wdin, wdw, wdb, work, f.in, f.w, &f.s, 0);
            be->conv_bn_relu_backward(be, din, dw, db, dg, dbt, work, r, f.x, f.in, f.w, &f.s, f.gamma, f.beta, f.sm,
                                      f.sr, pool, mode, 0);
        } else {
            be->bn_relu_backward(be, din, dg, dbt, r, f.in, f.gamma, f.beta, f.sm, f.sr, n, c, h, w, pool, mode, 0);
        }
        const char *what = nm("%s backward vs the separate ops", tag);
        tap_close(what, din, wdin, ni, 1e-4, 1e-3);
        tap_close(what, dg, wdg, c, 1e-4, 1e-4);
        tap_close(what, dbt, wdbt, c, 1e-4, 1e-4);
        if (conv) {
            tap_close(what, dw, wdw, nw, 1e-4, 1e-3);
            tap_close(what, db, wdb, c, 1e-4, 1e-4);
        }
        if (gc && mode) {
            gc_ctx g = {fz_fwd, &f, f.out, r, no};
            gradcheck(nm("%s din", tag), f.in, din, ni, gc_loss, &g, 1e-2, 2e-3, 2e-2, 60);
            gradcheck(nm("%s dgamma", tag), f.gamma, dg, c, gc_loss, &g, 1e-2, 2e-3, 2e-2, 60);
            if (conv) /* a weight moves a whole channel across ReLU and pool kinks: a smaller step */
                gradcheck(nm("%s dw", tag), f.w, dw, nw, gc_loss, &g, 2e-3, 2e-3, 2e-2, 60);
        }
        float *din2 = fcopy(din, ni);
        if (conv)
            be->conv_bn_relu_backward(be, din2, dw, NULL, dg, dbt, work, r, f.x, f.in, f.w, &f.s, f.gamma, f.beta,
                                      f.sm, f.sr, pool, mode, 1);
        else
            be->bn_relu_backward(be, din2, dg, dbt, r, f.in, f.gamma, f.beta, f.sm, f.sr, n, c, h, w, pool, mode, 1);
        tap_close(nm("%s acc=1 adds to din, dgamma, dbeta accumulate", tag), din2, fsum(din, din, 0.0f, ni), ni, 1e-5,
                  1e-5);
        tap_close(nm("%s acc=1 adds to din, dgamma, dbeta accumulate", tag), dg, fsum(wdg, wdg, 0.0f, c), c, 1e-4,
                  1e-4);
        if (conv) { /* dw NULL: the BatchNorm's gradients only; keep = 0 (eval): the same out */
            float *dg3 = fconst(c, 0.0f), *dbt3 = fconst(c, 0.0f);
            be->conv_bn_relu_backward(be, NULL, NULL, NULL, dg3, dbt3, work, r, f.x, f.in, f.w, &f.s, f.gamma, f.beta,
                                      f.sm, f.sr, pool, mode, 0);
            tap_close(nm("%s dw = NULL: dgamma, dbeta only", tag), dbt3, wdbt, c, 1e-4, 1e-4);
            if (!mode) {
                float *out3 = fbuf(no);
                be->conv_bn_relu_forward(be, out3, fbuf(nx), f.in, f.w, f.b, &f.s, f.gamma, f.beta, f.rm, f.rv, f.sm,
                                         f.sr, pool, 0, 0.1f, 1e-5f, 0);
                /* keep = 0 is inference: the Winograd kind then runs F(4x4, 3x3), float error ~5e-6 relative */
                tap_close(nm("%s keep = 0 (inference) gives the same out up to rounding", tag), out3, f.out, no, 2e-4,
                          2e-5);
            }
        }
        memcpy(f.rm, rm0, (size_t)c * sizeof(float));
        memcpy(f.rv, rv0, (size_t)c * sizeof(float));
    }
}

/* ---- pooling ------------------------------------------------------------------------------------------- */

typedef struct {
    float *out, *in;
    int32_t *arg;
    int32_t n, c, h, w, avg;
} pool_op;
static void pool_fwd(void *p)
{
    pool_op *q = p;
    if (q->avg)
        be->avgpool_forward(be, q->out, q->in, q->n, q->c, q->h * q->w);
    else
        be->maxpool2d_forward(be, q->out, q->arg, q->in, q->n, q->c, q->h, q->w);
}
static void pool_bwd(const pool_op *q, float *din, const float *dout, int acc)
{
    if (q->avg)
        be->avgpool_backward(be, din, dout, q->n, q->c, q->h * q->w, acc);
    else
        be->maxpool2d_backward(be, din, dout, q->arg, q->n, q->c, q->h, q->w, acc);
}

static void test_pool(int32_t n, int32_t c, int32_t h, int32_t w, int avg)
{
    int64_t ni = (int64_t)n * c * h * w, no = avg ? (int64_t)n * c : (int64_t)n * c * (h / 2) * (w / 2);
    pool_op q = {fbuf(no), fbuf(ni), ibuf(no), n, c, h, w, avg};
    for (int64_t i = 0; i < ni; i++) /* distinct values 0.02 apart: no ties, no switches under h = 1e-3 */
        q.in[i] = (float)i * 0.02f - 1.0f;
    for (int64_t i = ni - 1; i > 0; i--) {
        int64_t j = rng_below(&trng, (uint32_t)(i + 1));
        float t = q.in[i];
        q.in[i] = q.in[j];
        q.in[j] = t;
    }
    float *want = fbuf(no), *r = frand(no, -1, 1), *din = fconst(ni, 7.0f), *din2 = fconst(ni, 0.5f);
    int64_t badarg = 0;
    pool_fwd(&q);
    for (int64_t pl = 0; pl < (int64_t)n * c; pl++) {
        const float *x = q.in + pl * h * w;
        double s = 0;
        for (int32_t i = 0; i < h * w && avg; i++)
            s += x[i];
        if (avg)
            want[pl] = (float)(s / (h * w));
        for (int32_t o = 0; o < (h / 2) * (w / 2) && !avg; o++) {
            int32_t oy = o / (w / 2), ox = o % (w / 2), best = 2 * oy * w + 2 * ox;
            for (int32_t d = 1; d < 4; d++)
                best = x[(2 * oy + d / 2) * w + 2 * ox + d % 2] > x[best] ? (2 * oy + d / 2) * w + 2 * ox + d % 2 : best;
            want[pl * (h / 2) * (w / 2) + o] = x[best];
            badarg += q.arg[pl * (h / 2) * (w / 2) + o] != best;
        }
    }
    const char *tag = nm("%s n%d c%d %dx%d", avg ? "avgpool" : "maxpool2d", n, c, h, w);
    tap_close(nm("%s forward", tag), q.out, want, no, 1e-6, 1e-6);
    if (!avg)
        tap_ok(badarg == 0, "%s argmax indices (%lld wrong)", tag, (long long)badarg);
    pool_bwd(&q, din, r, 0); /* din started at 7: every element must be written, uncovered edges too */
    gc_ctx g = {pool_fwd, &q, q.out, r, no};
    gradcheck(nm("%s din", tag), q.in, din, ni, gc_loss, &g, 1e-3, 1e-3, 1e-2, 400);
    pool_bwd(&q, din2, r, 1);
    tap_close(nm("%s acc=1 adds to din", tag), din2, fsum(din, NULL, 0.5f, ni), ni, 1e-6, 1e-6);
    if (!avg) { /* ties: the first maximum of the window wins */
        float tie[16] = {1, 2, 2, 0, 2, 2, 0, 0, 5, 3, 4, 4, 5, 5, 4, 4};
        memcpy(q.in, tie, sizeof tie);
        be->maxpool2d_forward(be, q.out, q.arg, q.in, 1, 1, 4, 4);
        tap_ok(q.arg[0] == 1 && q.arg[1] == 2 && q.arg[2] == 8 && q.arg[3] == 10,
               "maxpool2d ties: first maximum wins (%d %d %d %d)", q.arg[0], q.arg[1], q.arg[2], q.arg[3]);
    }
}

/* ---- all of it, per thread count; then determinism ------------------------------------------------------ */

static void test_all(void)
{
    test_eltwise();
    test_conv(2, 3, 7, 7, 4, 3, 1, 1, 1, 1);   /* same geometry, 3x3 */
    test_conv(3, 2, 5, 9, 3, 5, 1, 2, 1, 1);   /* same geometry, 5x5, not square */
    test_conv(3, 5, 8, 6, 6, 3, 2, 1, 0, 1);   /* stride 2, no bias */
    test_conv(2, 8, 5, 5, 3, 1, 1, 0, 1, 1);   /* 1x1 */
    test_conv(1, 6, 9, 9, 5, 3, 1, 0, 1, 1);   /* pad 0, n 1 */
    test_conv(1, 3, 6, 6, 4, 3, 1, 1, 0, 1);   /* same geometry, n 1 (threaded BLAS), no bias */
    test_conv(2, 4, 6, 7, 2, 1, 2, 0, 0, 1);   /* 1x1 stride 2 (a projection) */
    test_conv(2, 7, 9, 8, 4, 5, 2, 2, 1, 1);   /* 5x5 stride 2 */
    test_conv(40, 1, 12, 12, 8, 3, 1, 1, 1, 0); /* many chunks, K = 9 */
    test_conv(40, 16, 8, 8, 12, 3, 1, 1, 1, 0); /* many chunks and groups */
    test_batchnorm(3, 4, 5, -1, 3, 1);
    test_batchnorm(2, 3, 1, -1, 3, 1);
    test_batchnorm(32, 8, 196, -1, 3, 0);       /* parallel */
    test_batchnorm(4, 3, 50, 999, 1001, 0);     /* a large mean: the variance must not cancel */
    test_conv(2, 8, 7, 5, 9, 3, 1, 1, 1, 1);    /* Winograd: odd sizes */
    test_conv(3, 12, 6, 6, 16, 3, 1, 1, 0, 1);  /* Winograd, no bias */
    test_fused(0, 3, 0, 6, 6, 4, 0, 0, 0, 1, 1);  /* bn_relu + pool */
    test_fused(0, 2, 0, 7, 5, 3, 0, 0, 0, 1, 1);  /* odd sizes: a row and a column no window reaches */
    test_fused(0, 2, 0, 5, 5, 3, 0, 0, 0, 0, 1);  /* bn_relu alone */
    test_fused(0, 4, 0, 28, 28, 16, 0, 0, 0, 1, 0); /* wide rows */
    test_fused(1, 3, 8, 6, 6, 16, 3, 1, 1, 1, 1); /* conv block, Winograd kind */
    test_fused(1, 2, 16, 7, 7, 32, 3, 1, 1, 1, 0); /* Winograd, odd plane */
    test_fused(1, 2, 16, 6, 6, 16, 3, 1, 1, 0, 0); /* Winograd, no pool */
    test_fused(1, 3, 1, 8, 8, 16, 3, 1, 1, 1, 1);  /* direct kind (few taps) */
    test_fused(1, 2, 3, 9, 9, 16, 3, 2, 1, 0, 1);  /* direct, stride 2, no pool */
    test_fused(1, 2, 4, 6, 6, 6, 3, 1, 1, 1, 1);   /* the separate ops (cout 6) */
    test_pool(2, 3, 7, 7, 0);
    test_pool(2, 2, 8, 6, 0);
    test_pool(3, 4, 5, 2, 1);
    release();
}

/* a fixed workload; returns its outputs (malloc'd) and their count */
static float *det_run(int64_t *count)
{
    rng_init(&trng, 99);
    conv_op c = {conv2d_shape_make(48, 16, 10, 10, 24, 3, 1, 1), NULL, NULL, NULL, NULL};
    int64_t ni = 48 * 16 * 100, no = 48 * 24 * 100, nw = 24 * 16 * 9;
    c.in = frand(ni, -1, 1);
    c.w = frand(nw, -1, 1);
    c.b = frand(24, -1, 1);
    c.out = fbuf(no);
    float *r = frand(no, -1, 1), *din = fbuf(ni), *dw = fbuf(nw), *db = fbuf(24);
    conv_fwd(&c);
    be->conv2d_backward(be, din, dw, db, r, c.in, c.w, &c.s, 0);
    bn_op b = {fbuf(no), c.out, fconst(24, 1), fconst(24, 0), fbuf(24), fconst(24, 1), fbuf(24), fbuf(24), 48, 24,
               100, 1};
    bn_fwd(&b);
    float *bdin = fbuf(no), *dg = fbuf(24), *dbt = fbuf(24), *loss = fbuf(1);
    be->batchnorm2d_backward(be, bdin, dg, dbt, r, b.in, b.gamma, b.sm, b.sr, 48, 24, 100, 1, 0);
    be->mse(be, loss, NULL, b.out, r, no);
    const float *parts[] = {c.out, din, dw, db, b.out, bdin, dg, dbt, loss};
    int64_t sizes[] = {no, ni, nw, 24, no, no, 24, 24, 1}, total = 0;
    for (int i = 0; i < 9; i++)
        total += sizes[i];
    float *res = malloc((size_t)total * sizeof(float));
    if (!res)
        abort();
    for (int i = 0, off = 0; i < 9; off += (int)sizes[i], i++)
        memcpy(res + off, parts[i], (size_t)sizes[i] * sizeof(float));
    release();
    *count = total;
    return res;
}

int main(void)
{
    float *res[3];
    int64_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (!ops_pass_begin(pass))
            return tap_done();
        test_all();
        res[2 * pass] = det_run(&count);
        if (pass == 0)
            res[1] = det_run(&count);
        backend_destroy(be);
    }
    tap_ok(memcmp(res[0], res[1], (size_t)count * sizeof(float)) == 0, "2 threads: two runs bit-identical");
    tap_close("1 thread vs 2 threads", res[2], res[0], count, 1e-5, 1e-5);
    for (int i = 0; i < 3; i++)
        free(res[i]);
    return tap_done();
}
