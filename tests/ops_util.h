/* ops_util.h — helpers of the CPU op tests (test_ops2d.c, test_dense.c): device buffers released together,
 * random and derived buffers, rotating test names, and gradcheck through a forward closure. Each test program
 * includes it once and sets `be` and `trng`. */
#ifndef PD_TEST_OPS_UTIL_H
#define PD_TEST_OPS_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "gradcheck.h"
#include "rng.h"
#include "tap.h"

static pd_backend *be;
static pd_rng trng;
static void *allocs[4096];
static int nallocs;

static void *track(void *p)
{
    if (!p || nallocs >= (int)(sizeof allocs / sizeof allocs[0]))
        abort();
    return allocs[nallocs++] = p;
}
static float *fbuf(int64_t n) { return track(backend_alloc_floats(be, n)); }
static int32_t *ibuf(int64_t n) { return track(backend_alloc_ints(be, n)); }
static void release(void)
{
    while (nallocs > 0)
        be->free(be, allocs[--nallocs]);
}
static float *frand(int64_t n, float lo, float hi) /* uniform in [lo, hi) */
{
    float *p = fbuf(n);
    for (int64_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * (float)rng_uniform(&trng);
    return p;
}
static float *fsum(const float *a, const float *b, float v, int64_t n) /* a (+ b if not NULL) + v */
{
    float *p = fbuf(n);
    for (int64_t i = 0; i < n; i++)
        p[i] = (a ? a[i] : 0.0f) + (b ? b[i] : 0.0f) + v;
    return p;
}
#define fcopy(x, n) fsum(x, NULL, 0.0f, n)
#define fconst(n, v) fsum(NULL, NULL, v, n)
/* a test name; sixteen rotating buffers, so that a few stay alive at once */
__attribute__((format(printf, 1, 2))) static const char *nm(const char *fmt, ...)
{
    static char buf[16][192];
    static int next;
    char *b = buf[next++ & 15];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof buf[0], fmt, ap);
    va_end(ap);
    return b;
}

/* gradcheck through a forward closure: L = sum r out */
typedef struct {
    void (*fwd)(void *op);
    void *op;
    const float *out, *r;
    int64_t n_out;
} gc_ctx;
static double gc_loss(void *ctx)
{
    gc_ctx *c = ctx;
    c->fwd(c->op);
    return gradcheck_dot(c->out, c->r, c->n_out);
}

/* Pass 0 of a test program runs on a CPU backend with 2 threads, pass 1 with 1 thread (be, trng reset);
 * 0 when the backend cannot start (said as a failed check). */
__attribute__((unused)) static int ops_pass_begin(int pass)
{
    pd_error err;
    if (backend_cpu_create(&be, pass == 0 ? 2 : 1, &err) != PD_OK)
        return tap_ok(0, "backend_cpu_create: %s", err.msg), 0;
    tap_diag("CPU backend, %d thread(s)", be->threads);
    rng_init(&trng, 1234);
    return 1;
}

#endif
