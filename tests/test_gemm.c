/* test_gemm.c — pdiff's own AVX-512 GEMM kernel (src/cpu/cpu_gemm512.c, through blas.h's blas_own_sgemm) against
 * a plain triple loop in double: every transpose, edge tiles on every side (rows and columns that are not whole
 * strips, k not a whole block, several k blocks, several row blocks, several column panels), padded leading
 * dimensions, alpha and beta, and a C full of NaN where beta is 0 (never read). The bound is the rigorous one of a
 * float sum of k products, (k + 2) u sum |alpha a b| + 2 u |beta c|, u = 2^-24. Where one k block holds the whole
 * sum (k <= 448), alpha = 1 and beta = 0, the kernel's sum is one chain of FMAs in k's order: it must equal
 * fmaf's chain bit for bit. B packed once (blas_own_pack, the Winograd gather's prepared weights) must give
 * what packing it inside the call gives, bit for bit. Skips (77) on a CPU without AVX-512. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "rng.h"
#include "tap.h"

static float rnd(uint64_t seed, int64_t i)
{
    return (float)(rng_hash(seed, (uint64_t)i) % 2001) / 1000.0f - 1.0f;
}

typedef struct {
    int ta, tb, m, n, k, pad;
    float alpha, beta;
} gemm_case;

/* A(i, p) and B(p, j) of a case whatever the storage */
static float at_a(const gemm_case *t, const float *a, int lda, int i, int p)
{
    return t->ta ? a[(int64_t)p * lda + i] : a[(int64_t)i * lda + p];
}

static float at_b(const gemm_case *t, const float *b, int ldb, int p, int j)
{
    return t->tb ? b[(int64_t)j * ldb + p] : b[(int64_t)p * ldb + j];
}

/* A case's operands: A and B from the seed, C0 from it (all NaN where beta is 0: never read), C a copy of C0. */
typedef struct {
    int lda, ldb, ldc;
    int64_t nc;
    float *a, *b, *c, *c0;
} gemm_ops;

static void ops_free(gemm_ops *o)
{
    free(o->a);
    free(o->b);
    free(o->c);
    free(o->c0);
}

/* 0 when out of memory (nothing left allocated) */
static int ops_make(gemm_ops *o, const gemm_case *t, uint64_t seed)
{
    o->lda = (t->ta ? t->m : t->k) + t->pad, o->ldb = (t->tb ? t->k : t->n) + t->pad, o->ldc = t->n + t->pad;
    int64_t na = (int64_t)(t->ta ? t->k : t->m) * o->lda, nb = (int64_t)(t->tb ? t->n : t->k) * o->ldb;
    o->nc = (int64_t)t->m * o->ldc;
    o->a = malloc((size_t)na * sizeof(float)), o->b = malloc((size_t)nb * sizeof(float));
    o->c = malloc((size_t)o->nc * sizeof(float)), o->c0 = malloc((size_t)o->nc * sizeof(float));
    if (!o->a || !o->b || !o->c || !o->c0) {
        ops_free(o);
        return 0;
    }
    for (int64_t i = 0; i < na; i++)
        o->a[i] = rnd(seed, i);
    for (int64_t i = 0; i < nb; i++)
        o->b[i] = rnd(seed + 1, i);
    for (int64_t i = 0; i < o->nc; i++)
        o->c0[i] = t->beta == 0.0f ? NAN : rnd(seed + 2, i);
    memcpy(o->c, o->c0, (size_t)o->nc * sizeof(float));
    return 1;
}

/* One case: 1 when it passed (one TAP line). */
static int run_case(const gemm_case *t, uint64_t seed)
{
    gemm_ops o;
    if (!ops_make(&o, t, seed))
        return tap_ok(0, "out of memory");
    int lda = o.lda, ldb = o.ldb, ldc = o.ldc;
    float *a = o.a, *b = o.b, *c = o.c, *c0 = o.c0;
    int ran = blas_own_sgemm(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c, ldc);
    const double u = 1.0 / 16777216.0;
    int64_t bad = 0, notbits = 0, padchanged = 0;
    double worst = 0.0;
    int bitwise = t->k <= 448 && t->alpha == 1.0f && t->beta == 0.0f;
    for (int i = 0; i < t->m; i++)
        for (int j = 0; j < ldc; j++) {
            double got = c[(int64_t)i * ldc + j];
            if (j >= t->n) { /* columns past n (the padding) stay as they were */
                padchanged += memcmp(&c[(int64_t)i * ldc + j], &c0[(int64_t)i * ldc + j], sizeof(float)) != 0;
                continue;
            }
            double s = 0.0, sa = 0.0;
            float chain = 0.0f;
            for (int p = 0; p < t->k; p++) {
                double x = (double)at_a(t, a, lda, i, p) * at_b(t, b, ldb, p, j);
                s += x;
                sa += fabs(x);
                chain = fmaf(at_a(t, a, lda, i, p), at_b(t, b, ldb, p, j), chain);
            }
            double cold = t->beta == 0.0f ? 0.0 : c0[(int64_t)i * ldc + j];
            double want = t->alpha * s + t->beta * cold;
            double bound = (t->k + 2) * u * fabs(t->alpha) * sa + 2 * u * fabs(t->beta * cold) + 1e-30;
            double d = fabs(got - want);
            if (!(d <= bound))
                bad++;
            if (d / bound > worst || d != d)
                worst = d / bound;
            if (bitwise && memcmp(&c[(int64_t)i * ldc + j], &chain, sizeof chain) != 0)
                notbits++;
        }
    int ok = ran && bad == 0 && notbits == 0 && padchanged == 0;
    tap_ok(ok, "ta %d tb %d m %d n %d k %d pad %d alpha %g beta %g: %lld outside the bound (worst %.3g of it)%s, "
               "%lld not bit for bit, padding changed %lld",
           t->ta, t->tb, t->m, t->n, t->k, t->pad, (double)t->alpha, (double)t->beta, (long long)bad, worst,
           ran ? "" : " (did not run)", (long long)notbits, (long long)padchanged);
    ops_free(&o);
    return ok;
}

/* B packed once (blas_own_pack) gives blas_own_sgemm's floats bit for bit (several panels and k blocks included). */
static void packed_case(const gemm_case *t, uint64_t seed)
{
    gemm_ops o;
    int64_t np = blas_own_packed_floats(t->n, t->k);
    float *pk = NULL;
    if (np <= 0 || posix_memalign((void **)&pk, 64, (size_t)np * sizeof *pk) != 0 || !ops_make(&o, t, seed)) {
        tap_ok(0, "packed: out of memory (or no packed size: %lld)", (long long)np);
        free(pk);
        return;
    }
    memset(pk, 0xff, (size_t)np * sizeof *pk); /* NaN: a float the packing forgot would show */
    blas_own_pack(t->tb, t->n, t->k, o.b, o.ldb, pk);
    int r0 = blas_own_sgemm(t->ta, t->tb, t->m, t->n, t->k, t->alpha, o.a, o.lda, o.b, o.ldb, t->beta, o.c, o.ldc);
    int r1 = blas_own_sgemm_packed(t->ta, t->m, t->n, t->k, t->alpha, o.a, o.lda, pk, t->beta, o.c0, o.ldc);
    tap_ok(r0 && r1 && memcmp(o.c, o.c0, (size_t)o.nc * sizeof(float)) == 0,
           "B packed once: ta %d tb %d m %d n %d k %d pad %d beta %g: the same floats as packing in the call", t->ta,
           t->tb, t->m, t->n, t->k, t->pad, (double)t->beta);
    ops_free(&o);
    free(pk);
}

int main(void)
{
    if (!blas_own_kernel())
        return tap_skip_all("this CPU has no AVX-512 (pdiff's own GEMM kernel does not run; OpenBLAS does it all)");
    tap_diag("kernel %s", blas_own_kernel());
    /* shapes: edges of the 14-row strips and 32-column strips, of the k blocks (448, then halves), of the 392-row
     * blocks and of the 512-column panels; the UNet's and the AE's products in small */
    static const int ms[] = {1, 2, 3, 5, 8, 9, 13, 14, 15, 29, 40};
    static const int ns[] = {1, 7, 16, 17, 31, 32, 33, 65};
    static const int ks[] = {1, 3, 16, 17, 100};
    uint64_t seed = 100;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t im = 0; im < sizeof ms / sizeof ms[0]; im++)
                for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++) {
                    gemm_case t = {ta, tb, ms[im], ns[in], ks[(im + in) % 5], (int)(im % 3), 1.0f, 0.0f};
                    run_case(&t, seed += 3);
                }
    static const gemm_case big[] = {
        {0, 0, 300, 512, 256, 0, 1.0f, 0.0f},  {0, 1, 300, 256, 512, 0, 1.0f, 0.0f},
        {1, 0, 128, 128, 600, 0, 1.0f, 1.0f},  {0, 1, 45, 70, 257, 5, 1.0f, 1.0f},
        {1, 1, 33, 47, 513, 2, 0.5f, -0.25f},  {0, 0, 400, 40, 300, 1, 1.0f, 0.0f},
        {1, 1, 401, 33, 255, 0, -1.5f, 0.0f},  {0, 0, 17, 1100, 70, 3, 1.0f, 1.0f},
        {1, 0, 29, 2080, 20, 0, 2.0f, 0.5f},   {0, 1, 3, 5, 1000, 1, 1.0f, 0.0f},
        {1, 0, 256, 100, 40, 0, 1.0f, 0.0f},   {0, 1, 40, 256, 700, 4, 1.0f, 1.0f},
        {0, 0, 20, 40, 448, 0, 1.0f, 0.0f},    {1, 1, 20, 40, 449, 1, 1.0f, 0.0f},
        {0, 1, 15, 33, 895, 0, 1.0f, 0.0f},    {1, 0, 15, 33, 896, 2, 1.0f, 0.5f},
        {0, 0, 30, 530, 1300, 0, 1.0f, 0.0f},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        run_case(&big[i], seed += 3);
    static const gemm_case packed[] = {
        {0, 1, 300, 512, 512, 0, 1.0f, 0.0f}, {0, 1, 100, 33, 7, 3, 1.0f, 0.0f},  {1, 0, 29, 2080, 20, 0, 2.0f, 0.5f},
        {0, 0, 30, 530, 1300, 2, 1.0f, 0.0f}, {1, 1, 20, 40, 449, 1, 1.0f, 1.0f}, {0, 1, 401, 1100, 896, 0, 1.0f, 0.0f},
    };
    for (size_t i = 0; i < sizeof packed / sizeof packed[0]; i++)
        packed_case(&packed[i], seed += 3);
    /* the empty cases: nothing to do, C untouched */
    float c[4] = {1, 2, 3, 4}, a[4] = {1, 1, 1, 1};
    int r0 = blas_own_sgemm(0, 0, 0, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2);
    int r1 = blas_own_sgemm(0, 0, 2, 0, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2);
    tap_ok(r0 && r1 && c[0] == 1 && c[3] == 4, "m = 0 or n = 0: done, C untouched");
    tap_ok(blas_own_sgemm(0, 0, 2, 2, 0, 1.0f, a, 2, a, 2, 0.0f, c, 2) == 0 && c[0] == 1,
           "k = 0: left to the caller's rule (returns 0, C untouched)");
    return tap_done();
}
