/* cuda_parity.h — the harness of the CUDA parity tests (tests/test_cuda.c, tests/test_cuda_fused.c): tensors
 * present on both backends, BOTH() to run an op on each, and the checks. Each check fills random inputs on the
 * host, uploads the same values to both backends, runs the op on each and compares the results with a
 * normalised error max|gpu - cpu| / max(1, max|cpu|) against a threshold: TOL (1e-4) for element-wise ops,
 * norms and losses, TOL_GEMM (1e-3) for ops built on cuBLAS. Integer outputs must match exactly, and so must
 * random numbers (see tp_check_exact).
 *
 * cuda_parity_open() picks the backend under test: without a CUDA build, or without a device, it returns the
 * exit status of "1..0 # SKIP ..." (77); PDIFF_CUDA_TEST_SELFCHECK=1 puts the CPU backend (1 thread) in the
 * GPU's place, which checks the tests themselves on machines without a GPU. */
#ifndef PD_TEST_CUDA_PARITY_H
#define PD_TEST_CUDA_PARITY_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "pdiff_build.h"
#include "rng.h"
#include "tap.h"

#define TOL 1e-4
#define TOL_GEMM 1e-3

__attribute__((unused)) static pd_backend *cpu; /* the reference */
__attribute__((unused)) static pd_backend *gpu; /* the backend under test */
__attribute__((unused)) static uint64_t seed_counter = 1000;

/* A tensor present on both backends: host staging, CPU copy, GPU copy. */
typedef struct {
    int64_t n;
    float *h, *c, *g;
} tpair;

typedef struct {
    int64_t n;
    int32_t *h, *c, *g;
} ipair;

/* P(t): the tensor's pointer on the side being run (inside BOTH) */
#define P(t) (side_ ? (t).g : (t).c)
/* Run stmt once on the CPU (be = cpu) and once on the GPU (be = gpu). */
#define BOTH(stmt)                                        \
    for (int side_ = 0; side_ < 2; side_++) {             \
        pd_backend *be = side_ ? gpu : cpu;               \
        stmt;                                             \
    }

__attribute__((unused)) static tpair tp_make(int64_t n)
{
    tpair t = {.n = n};
    t.h = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    t.c = backend_alloc_floats(cpu, n);
    t.g = backend_alloc_floats(gpu, n);
    PD_ASSERT(t.h && t.c && t.g);
    return t;
}

/* upload t.h to both sides */
__attribute__((unused)) static void tp_put(tpair *t)
{
    cpu->upload(cpu, t->c, t->h, (size_t)t->n * sizeof(float));
    gpu->upload(gpu, t->g, t->h, (size_t)t->n * sizeof(float));
}

/* uniform in [lo, hi) on both sides */
__attribute__((unused)) static tpair tp_rand(int64_t n, float lo, float hi)
{
    tpair t = tp_make(n);
    uint64_t seed = seed_counter++;
    for (int64_t i = 0; i < n; i++)
        t.h[i] = lo + (hi - lo) * rng_uniform_at(seed, (uint64_t)i);
    tp_put(&t);
    return t;
}

/* small integers in [lo, hi]: many exact ties */
__attribute__((unused)) static tpair tp_ties(int64_t n, int lo, int hi)
{
    tpair t = tp_make(n);
    uint64_t seed = seed_counter++;
    for (int64_t i = 0; i < n; i++)
        t.h[i] = (float)(lo + (int)(rng_uniform_at(seed, (uint64_t)i) * (float)(hi - lo + 1)));
    tp_put(&t);
    return t;
}

__attribute__((unused)) static void tp_free(tpair *t)
{
    free(t->h);
    cpu->free(cpu, t->c);
    gpu->free(gpu, t->g);
    memset(t, 0, sizeof *t);
}

__attribute__((unused)) static ipair ip_make(int64_t n)
{
    ipair t = {.n = n};
    t.h = calloc((size_t)(n > 0 ? n : 1), sizeof(int32_t));
    t.c = backend_alloc_ints(cpu, n);
    t.g = backend_alloc_ints(gpu, n);
    PD_ASSERT(t.h && t.c && t.g);
    return t;
}

__attribute__((unused)) static void ip_put(ipair *t)
{
    cpu->upload(cpu, t->c, t->h, (size_t)t->n * sizeof(int32_t));
    gpu->upload(gpu, t->g, t->h, (size_t)t->n * sizeof(int32_t));
}

/* uniform integers in [0, m) on both sides */
__attribute__((unused)) static ipair ip_rand(int64_t n, int32_t m)
{
    ipair t = ip_make(n);
    pd_rng r;
    rng_init(&r, seed_counter++);
    for (int64_t i = 0; i < n; i++)
        t.h[i] = (int32_t)rng_below(&r, (uint32_t)m);
    ip_put(&t);
    return t;
}

__attribute__((unused)) static void ip_free(ipair *t)
{
    free(t->h);
    cpu->free(cpu, t->c);
    gpu->free(gpu, t->g);
    memset(t, 0, sizeof *t);
}

/* max|a - b| / max(1, max|b|) over n values (NaN in the same places counts as equal; elsewhere it fails) */
__attribute__((unused)) static double norm_err(const float *a, const float *b, int64_t n, int64_t *worst)
{
    double maxd = 0.0, maxb = 0.0;
    *worst = -1;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i]))
            continue;
        double d = fabs((double)a[i] - (double)b[i]);
        if (d != d) {
            *worst = i;
            return INFINITY;
        }
        if (d > maxd) {
            maxd = d;
            *worst = i;
        }
        if (fabs((double)b[i]) > maxb)
            maxb = fabs((double)b[i]);
    }
    return maxd / (maxb > 1.0 ? maxb : 1.0);
}

/* download both sides of t and compare them */
__attribute__((unused)) static int tp_check(const char *name, const tpair *t, double tol)
{
    float *a = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(float));
    float *b = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(float));
    PD_ASSERT(a && b);
    gpu->download(gpu, a, t->g, (size_t)t->n * sizeof(float));
    cpu->download(cpu, b, t->c, (size_t)t->n * sizeof(float));
    int64_t worst;
    double e = norm_err(a, b, t->n, &worst);
    int ok;
    if (e <= tol)
        ok = tap_ok(1, "%s: %lld values, normalised error %.3g", name, (long long)t->n, e);
    else
        ok = tap_ok(0, "%s: %lld values, normalised error %.3g > %g (e.g. [%lld] cuda %.9g cpu %.9g)", name,
                    (long long)t->n, e, tol, (long long)worst, worst >= 0 ? (double)a[worst] : 0.0,
                    worst >= 0 ? (double)b[worst] : 0.0);
    free(a);
    free(b);
    return ok;
}

/* distance in units in the last place between two finite floats of the same sign (large otherwise) */
__attribute__((unused)) static int64_t ulp_distance(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    if (isnan(a) || isnan(b) || (ia < 0) != (ib < 0))
        return ia == ib ? 0 : INT64_MAX;
    return ia > ib ? (int64_t)ia - ib : (int64_t)ib - ia;
}

/* Download both sides of t and require the CPU's bits, except that up to 1 + n / 100000 values may be one ulp
 * off: random numbers go through double log/cos, which CUDA and glibc may round differently in the last double
 * bit, and about one value in 10^8 then rounds to a neighbouring float. A real bug differs almost everywhere. */
__attribute__((unused)) static int tp_check_exact(const char *name, const tpair *t)
{
    float *a = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(float));
    float *b = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(float));
    PD_ASSERT(a && b);
    gpu->download(gpu, a, t->g, (size_t)t->n * sizeof(float));
    cpu->download(cpu, b, t->c, (size_t)t->n * sizeof(float));
    int64_t bad = 0, far = 0, first = -1;
    for (int64_t i = 0; i < t->n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            if (first < 0)
                first = i;
            bad++;
            far += ulp_distance(a[i], b[i]) > 1;
        }
    int ok;
    if (!bad)
        ok = tap_ok(1, "%s: %lld values identical to the CPU's", name, (long long)t->n);
    else if (!far && bad <= 1 + t->n / 100000)
        ok = tap_ok(1, "%s: %lld values identical to the CPU's but %lld one ulp off (e.g. [%lld] cuda %.9g cpu %.9g)",
                    name, (long long)t->n, (long long)bad, (long long)first, (double)a[first], (double)b[first]);
    else
        ok = tap_ok(0, "%s: %lld of %lld values differ from the CPU's, %lld by more than one ulp (e.g. [%lld] cuda %.9g "
                       "cpu %.9g)",
                    name, (long long)bad, (long long)t->n, (long long)far, (long long)first, (double)a[first],
                    (double)b[first]);
    free(a);
    free(b);
    return ok;
}

__attribute__((unused)) static int ip_check(const char *name, const ipair *t)
{
    int32_t *a = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(int32_t));
    int32_t *b = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(int32_t));
    PD_ASSERT(a && b);
    gpu->download(gpu, a, t->g, (size_t)t->n * sizeof(int32_t));
    cpu->download(cpu, b, t->c, (size_t)t->n * sizeof(int32_t));
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < t->n; i++)
        if (a[i] != b[i]) {
            if (first < 0)
                first = i;
            bad++;
        }
    int ok;
    if (!bad)
        ok = tap_ok(1, "%s: %lld integers equal", name, (long long)t->n);
    else
        ok = tap_ok(0, "%s: %lld of %lld differ (e.g. [%lld] cuda %d cpu %d)", name, (long long)bad,
                    (long long)t->n, (long long)first, a[first], b[first]);
    free(a);
    free(b);
    return ok;
}

/* GPU side of t, downloaded into a fresh host buffer (for repeatability checks) */
__attribute__((unused)) static float *tp_gpu_host(const tpair *t)
{
    float *a = malloc((size_t)(t->n > 0 ? t->n : 1) * sizeof(float));
    PD_ASSERT(a);
    gpu->download(gpu, a, t->g, (size_t)t->n * sizeof(float));
    return a;
}


/* 0 when both backends are up (cpu: 2 threads; gpu: CUDA, or the CPU in self-check mode), else the status
 * main() returns (77 for a skip). */
__attribute__((unused)) static int cuda_parity_open(int *status)
{
    pd_error err = {0};
    const char *self = getenv("PDIFF_CUDA_TEST_SELFCHECK");
    if (self && *self && strcmp(self, "0") != 0) {
        if (backend_cpu_create(&gpu, 1, &err) != PD_OK) {
            *status = tap_skip_all(err.msg);
            return -1;
        }
        tap_diag("self-check: the CPU backend (1 thread) stands in for the GPU");
    } else {
#ifndef PD_HAVE_CUDA
        *status = tap_skip_all("built without CUDA (configure --with-cuda)");
        return -1;
#else
        if (backend_create(&gpu, PD_BACKEND_CUDA, 1, &err) != PD_OK) {
            *status = tap_skip_all(err.msg);
            return -1;
        }
#endif
    }
    if (backend_cpu_create(&cpu, 2, &err) != PD_OK) {
        tap_ok(0, "CPU backend: %s", err.msg);
        *status = tap_done();
        return -1;
    }
    tap_diag("comparing backend '%s' against '%s' (%d threads)", gpu->name, cpu->name, cpu->threads);
    return 0;
}

__attribute__((unused)) static void cuda_parity_close(void)
{
    gpu->synchronize(gpu);
    backend_destroy(gpu);
    backend_destroy(cpu);
}

#endif
