/* test_normact.c — the CPU backend's fused "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" (norm_act_forward /
 * norm_act_backward) against the chain of separate ops it replaces (temb, leakyrelu, instnorm: each tested on its
 * own in test_ops1d.c), bit for bit as backend.h promises: short rows (grouped, transposed), long rows (in blocks),
 * with and without the embedding and the LeakyReLU, in place, acc, din == NULL, the table's gradient with
 * repeated timesteps, and 1 vs 2 threads; and conv1d_norm_act_forward against conv1d_forward_packed ->
 * norm_act_forward. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "rng.h"
#include "tap.h"

#define SLOPE 0.01f
#define EPS 1e-5f

static pd_backend *be2, *be1;

/* Every buffer a case allocates, freed by release() when the next case starts and at the end (the sanitizer build's
 * leak check: 3.7 MB were left). */
enum { MAX_HELD = 64 };
static void *held[MAX_HELD];
static int nheld;

static void *hold(void *p)
{
    if (nheld == MAX_HELD) {
        fprintf(stderr, "test_normact: more than %d buffers in a case\n", MAX_HELD);
        abort();
    }
    return held[nheld++] = p;
}

static void release(void)
{
    while (nheld > 0)
        be2->free(be2, held[--nheld]);
}

static float *buf(int64_t n, uint64_t seed, float lo, float hi)
{
    float *x = hold(backend_alloc_floats(be2, n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        x[i] = seed ? lo + (hi - lo) * rng_uniform_at(seed, (uint64_t)i) : 0.0f;
    return x;
}

static float *copy(const float *x, int64_t n)
{
    float *y = buf(n, 0, 0, 0);
    memcpy(y, x, (size_t)n * sizeof(float));
    return y;
}

static int same(const float *a, const float *b, int64_t n)
{
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

static void check(const char *what, const char *tag, const float *a, const float *b, int64_t n)
{
    int64_t first = -1;
    for (int64_t i = 0; i < n && first < 0; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            first = i;
    if (first < 0)
        tap_ok(1, "%s: %s equals the separate ops bit for bit (%lld values)", tag, what, (long long)n);
    else
        tap_ok(0, "%s: %s differs at [%lld]: fused %.9g, separate %.9g", tag, what, (long long)first,
               (double)a[first], (double)b[first]);
}

static void test_case(int32_t n, int32_t c, int32_t l, int emb, int lead)
{
    int32_t T = 30;
    int64_t sz = (int64_t)n * c * l, rows = (int64_t)n * c;
    release();
    char tag[96];
    snprintf(tag, sizeof tag, "norm_act n %d c %d l %d%s%s", n, c, l, emb ? " temb" : "", lead ? " leaky" : "");
    float *in = buf(sz, 11 + (uint64_t)l, -2.0f, 2.5f), *table = buf((int64_t)T * l, 12, -1.0f, 1.0f);
    float *dout = buf(sz, 13, -1.0f, 1.0f);
    int32_t *t = hold(backend_alloc_ints(be2, n));
    pd_rng r;
    rng_init(&r, 14);
    for (int32_t b = 0; b < n; b++)
        t[b] = (int32_t)rng_below(&r, 5); /* few distinct timesteps: repeated table rows */
    const float *tab = emb ? table : NULL;
    const int32_t *tt = emb ? t : NULL;

    /* the separate ops */
    float *s = buf(sz, 0, 0, 0), *u = buf(sz, 0, 0, 0), *want = buf(sz, 0, 0, 0), *wm = buf(rows, 0, 0, 0),
          *wr = buf(rows, 0, 0, 0);
    const float *sp = in, *up;
    if (emb) {
        be2->temb_forward(be2, s, in, table, t, n, c, l);
        sp = s;
    }
    up = sp;
    if (lead) {
        be2->leakyrelu_forward(be2, u, sp, SLOPE, sz);
        up = u;
    }
    be2->instnorm_forward(be2, want, up, wm, wr, rows, l, EPS);
    float *du = buf(sz, 0, 0, 0), *ds = buf(sz, 0, 0, 0), *wdin = buf(sz, 0, 0, 0);
    float *wdt = buf((int64_t)T * l, 15, -1.0f, 1.0f), *dt0 = copy(wdt, (int64_t)T * l);
    be2->instnorm_backward(be2, du, dout, up, wm, wr, rows, l, 0);
    const float *dsp = du;
    if (lead) {
        be2->leakyrelu_backward(be2, ds, du, sp, SLOPE, sz, 0);
        dsp = ds;
    }
    if (emb)
        be2->temb_backward(be2, wdin, wdt, dsp, t, n, c, l, 0);
    else
        memcpy(wdin, dsp, (size_t)sz * sizeof(float));

    /* fused, 2 threads */
    float *out = buf(sz, 0, 0, 0), *m = buf(rows, 0, 0, 0), *rs = buf(rows, 0, 0, 0);
    be2->norm_act_forward(be2, out, in, tab, tt, m, rs, n, c, l, lead, SLOPE, EPS);
    check("forward", tag, out, want, sz);
    check("saved mean", tag, m, wm, rows);
    check("saved rstd", tag, rs, wr, rows);
    float *din = buf(sz, 16, -1.0f, 1.0f), *dt = copy(dt0, (int64_t)T * l);
    be2->norm_act_backward(be2, din, emb ? dt : NULL, dout, in, tab, tt, m, rs, n, c, l, lead, SLOPE, 0);
    check("backward din", tag, din, wdin, sz);
    if (emb)
        check("backward dtable +=", tag, dt, wdt, (int64_t)T * l);

    /* acc = 1 adds ds to din (the separate chain's din + ds, summed the same way) */
    float *din2 = copy(din, sz), *want2 = copy(din, sz);
    for (int64_t i = 0; i < sz; i++)
        want2[i] += wdin[i];
    be2->norm_act_backward(be2, din2, NULL, dout, in, tab, tt, m, rs, n, c, l, lead, SLOPE, 1);
    check("backward acc=1", tag, din2, want2, sz);

    /* din NULL: the table's gradient alone */
    if (emb) {
        float *dt2 = copy(dt0, (int64_t)T * l);
        be2->norm_act_backward(be2, NULL, dt2, dout, in, tab, tt, m, rs, n, c, l, lead, SLOPE, 0);
        check("backward din NULL: dtable +=", tag, dt2, wdt, (int64_t)T * l);
    }

    /* in place, and one thread */
    float *io = copy(in, sz), *m1 = buf(rows, 0, 0, 0), *r1 = buf(rows, 0, 0, 0), *out1 = buf(sz, 0, 0, 0);
    be2->norm_act_forward(be2, io, io, tab, tt, m1, r1, n, c, l, lead, SLOPE, EPS);
    check("forward in place", tag, io, want, sz);
    be1->norm_act_forward(be1, out1, in, tab, tt, m1, r1, n, c, l, lead, SLOPE, EPS);
    float *din1 = buf(sz, 0, 0, 0), *dt1 = copy(dt0, (int64_t)T * l);
    be1->norm_act_backward(be1, din1, emb ? dt1 : NULL, dout, in, tab, tt, m1, r1, n, c, l, lead, SLOPE, 0);
    tap_ok(same(out1, out, sz) && same(din1, din, sz) && (!emb || same(dt1, dt, (int64_t)T * l)),
           "%s: 1 thread gives the 2-thread results bit for bit", tag);
}

/* the UNet's conv_a -> LeakyReLU -> InstanceNorm in one op (where the backend offers it) */
static void test_conv_case(int32_t n, int32_t cin, int32_t l, int32_t cout, int lead, int keep)
{
    release();
    const char *tag = lead ? "conv1d_norm_act lead" : "conv1d_norm_act";
    pd_conv1d_shape s = conv1d_shape_make(n, cin, l, cout, 3, 1, 1);
    int64_t ni = (int64_t)n * cin * l, no = (int64_t)n * cout * s.lo, rows = (int64_t)n * cout;
    float *x = buf(ni, 41, -2, 2), *w = buf((int64_t)cout * cin * 3, 42, -0.2f, 0.2f), *b = buf(cout, 43, -1, 1);
    int64_t np = be2->conv1d_pack_floats ? be2->conv1d_pack_floats(be2, &s) : 0;
    float *pk = np ? buf(np, 0, 0, 0) : NULL;
    if (pk)
        be2->conv1d_pack(be2, pk, w, &s);
    float *c0 = buf(no, 0, 0, 0), *want = buf(no, 0, 0, 0), *wm = buf(rows, 0, 0, 0), *wr = buf(rows, 0, 0, 0);
    be2->conv1d_forward_packed(be2, c0, x, w, pk, b, &s);
    be2->norm_act_forward(be2, want, c0, NULL, NULL, wm, wr, n, cout, s.lo, lead, SLOPE, EPS);
    float *c1 = buf(no, 0, 0, 0), *got = buf(no, 0, 0, 0), *gm = buf(rows, 0, 0, 0), *gr = buf(rows, 0, 0, 0);
    int done = be2->conv1d_norm_act_forward
               && be2->conv1d_norm_act_forward(be2, keep ? c1 : NULL, got, gm, gr, x, w, pk, b, &s, lead, SLOPE, EPS);
    if (!done && !backend_cpu_has_avx512()) { /* the CPU backend offers the fused pass with AVX-512 only */
        tap_ok(1, "%s: n %d %d->%d l %d # SKIP not offered without AVX-512", tag, n, cin, cout, l);
        return;
    }
    tap_ok(done, "%s: n %d %d->%d l %d is covered", tag, n, cin, cout, l);
    if (!done)
        return;
    check("forward", tag, got, want, no);
    check("saved mean", tag, gm, wm, rows);
    check("saved rstd", tag, gr, wr, rows);
    if (keep)
        check("convolution output", tag, c1, c0, no);
}

int main(void)
{
    pd_error err = {0};
    if (backend_cpu_create(&be2, 2, &err) != PD_OK || backend_cpu_create(&be1, 1, &err) != PD_OK) {
        tap_ok(0, "CPU backend: %s", err.msg);
        return tap_done();
    }
    test_case(33, 16, 12, 1, 1); /* the UNet's temb -> LeakyReLU -> InstanceNorm, rows of 12 */
    test_case(9, 64, 12, 1, 0);  /* the UNet's first block: temb, no LeakyReLU */
    test_case(3, 5, 8, 0, 1);    /* short rows, a partial group */
    test_case(7, 5, 12, 1, 1);   /* groups spanning samples: several embedding rows in one group */
    test_case(4, 3, 16, 1, 1);   /* the longest rows transposed in registers */
    test_case(4, 3, 17, 1, 1);   /* and one longer */
    test_case(5, 7, 36, 0, 0);   /* long rows, plain InstanceNorm (the AE) */
    test_case(5, 7, 250, 0, 1);  /* the AE's LeakyReLU -> InstanceNorm */
    test_case(3, 5, 600, 1, 1);  /* rows longer than a block, with the embedding */
    test_case(2, 4, 601, 1, 0);  /* an odd length over blocks, temb without LeakyReLU */
    test_case(2, 3, 16385, 0, 1); /* rows longer than a task's share (target=all): no task of zero rows */
    test_case(2, 2, 20000, 1, 0); /* the same with the embedding */
    test_conv_case(7, 32, 12, 40, 1, 1); /* a partial vector of channels, the convolution kept */
    test_conv_case(5, 48, 12, 64, 0, 0);
    test_conv_case(3, 32, 9, 32, 1, 0);  /* a partial last tile */
    release();
    backend_destroy(be2);
    backend_destroy(be1);
    return tap_done();
}
