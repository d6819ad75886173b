/* cpu_gemm512.c — pdiff's own AVX-512 fp32 GEMM and the hot call sites' choice of GEMM (see cpu_gemm512.h).
 *
 * GotoBLAS's structure: for each panel of at most G_NC columns and each block of G_KC along k, B's block is
 * packed into strips of 32 columns ([kc, 32] each, zero-padded); for each block of at most G_MC rows, A's block
 * is packed into strips of 14 rows ([kc, 14] each, zero-padded); then every (B strip, A strip) pair runs the
 * 14 x 32 micro-kernel, whose 28 accumulators stay in registers over the block's kc steps (the B strip stays in
 * L1, the A block in L2). Transposed operands are packed through 16 x 16 register transposes. The first k block
 * applies beta, the next ones add to C. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "cpu.h"
#include "cpu_gemm512.h"
#include "cpu_simd.h"
#include "cpu_tr16.h"

#define G_MR 14
#define G_NR 32
#define G_KC 448          /* k blocks: OpenBLAS's SkylakeX GEMM_Q, cut the way its driver cuts them (g_kblock) */
#define G_MC (28 * G_MR) /* rows of A packed at once (at most; blocks are balanced) */
#define G_NC 512         /* columns of B packed at once (at most; panels are balanced) */

static atomic_int g_mode = -1; /* PDIFF_GEMM, read at the first use (any thread may be first: same value) */

void cpu_gemm_set_mode(int mode)
{
    atomic_store_explicit(&g_mode, mode, memory_order_relaxed);
}

int cpu_gemm_mode(void)
{
    atomic_int *mode = &g_mode;
    int v = atomic_load_explicit(mode, memory_order_relaxed);
    if (v < 0) {
        const char *e = getenv("PDIFF_GEMM");
        v = e && strcmp(e, "blas") == 0 ? 1 : e && strcmp(e, "own") == 0 ? 2 : 0;
        atomic_store_explicit(mode, v, memory_order_relaxed);
    }
    return v;
}

#if defined(CPU_TR16)
#define G_FN CPU_TR16_FN
#define G_UNROLL _Pragma("GCC unroll 16")

/* the first n of 16 lanes (n <= 0: none) */
static inline __mmask16 g_mask(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* C [rows, cols] (rows <= R <= 14, cols <= 32) = alpha (A strip . B strip) + beta C over kc steps; the A strip
 * holds 14 values a step, of which the first R are used (R < 14: the last strip of a block, not padded work) */
#define G_KERNEL(NAME, R)                                                                                          \
    G_FN static void NAME(int64_t kc, const float *restrict ap, const float *restrict bp, float *restrict c,       \
                          int64_t ldc, float alpha, float beta, int rows, int cols)                               \
    {                                                                                                              \
        __m512 t[R][2];                                                                                            \
        G_UNROLL for (int i = 0; i < R; i++)                                                                       \
            t[i][0] = t[i][1] = _mm512_setzero_ps();                                                               \
        for (int64_t q = 0; q < kc; q++) {                                                                         \
            __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);                                          \
            G_UNROLL for (int i = 0; i < R; i++) {                                                                 \
                __m512 av = _mm512_set1_ps(ap[i]);                                                                 \
                t[i][0] = _mm512_fmadd_ps(av, b0, t[i][0]);                                                        \
                t[i][1] = _mm512_fmadd_ps(av, b1, t[i][1]);                                                        \
            }                                                                                                      \
            ap += G_MR;                                                                                            \
            bp += G_NR;                                                                                            \
        }                                                                                                          \
        __mmask16 mk[2] = {g_mask(cols), g_mask(cols - 16)};                                                       \
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                                              \
        G_UNROLL for (int i = 0; i < R; i++) {                                                                     \
            if (i >= rows)                                                                                         \
                break;                                                                                             \
            G_UNROLL for (int v = 0; v < 2; v++) {                                                                 \
                float *cr = c + i * ldc + 16 * v;                                                                  \
                __m512 r = _mm512_mul_ps(t[i][v], va);                                                             \
                if (beta != 0.0f)                                                                                  \
                    r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], cr), r);                                  \
                _mm512_mask_storeu_ps(cr, mk[v], r);                                                               \
            }                                                                                                      \
        }                                                                                                          \
    }

G_KERNEL(g_kernel14, 14)
G_KERNEL(g_kernel8, 8)
G_KERNEL(g_kernel4, 4)
G_KERNEL(g_kernel2, 2)

static void g_kernel(int64_t kc, const float *ap, const float *bp, float *c, int64_t ldc, float alpha, float beta,
                     int rows, int cols)
{
    if (rows > 8)
        g_kernel14(kc, ap, bp, c, ldc, alpha, beta, rows, cols);
    else if (rows > 4)
        g_kernel8(kc, ap, bp, c, ldc, alpha, beta, rows, cols);
    else if (rows > 2)
        g_kernel4(kc, ap, bp, c, ldc, alpha, beta, rows, cols);
    else
        g_kernel2(kc, ap, bp, c, ldc, alpha, beta, rows, cols);
}

/* B (k, j) for k in [p0, p0 + kc), j in [j0, j0 + nc) into strips [kc, 32]; tb: b is [n, k] */
G_FN static void g_pack_b(float *restrict bp, int tb, const float *b, int64_t ldb, int64_t p0, int64_t kc,
                          int64_t j0, int64_t nc)
{
    for (int64_t s = 0; s * G_NR < nc; s++) {
        float *dst = bp + s * kc * G_NR;
        int64_t js = j0 + s * G_NR, ncols = nc - s * G_NR;
        if (!tb) {
            __mmask16 m0 = g_mask(ncols), m1 = g_mask(ncols - 16);
            for (int64_t q = 0; q < kc; q++) {
                const float *row = b + (p0 + q) * ldb + js;
                _mm512_store_ps(dst + q * G_NR, _mm512_maskz_loadu_ps(m0, row));
                _mm512_store_ps(dst + q * G_NR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
            }
            continue;
        }
        for (int h = 0; h < 2; h++)
            for (int64_t q0 = 0; q0 < kc; q0 += 16) {
                __mmask16 mq = g_mask(kc - q0);
                __m512 r[16];
                for (int jj = 0; jj < 16; jj++)
                    r[jj] = jj + 16 * h < ncols ? _mm512_maskz_loadu_ps(mq, b + (js + 16 * h + jj) * ldb + p0 + q0)
                                                : _mm512_setzero_ps();
                cpu_tr16(r);
                int64_t nq = kc - q0 < 16 ? kc - q0 : 16;
                for (int64_t qq = 0; qq < nq; qq++)
                    _mm512_store_ps(dst + (q0 + qq) * G_NR + 16 * h, r[qq]);
            }
    }
}

/* A (i, k) for i in [i0, i0 + mc), k in [p0, p0 + kc) into strips [kc, 14]; ta: a is [k, m] */
G_FN static void g_pack_a(float *restrict ap, int ta, const float *a, int64_t lda, int64_t i0, int64_t mc,
                          int64_t p0, int64_t kc)
{
    const __mmask16 m14 = (__mmask16)((1u << G_MR) - 1);
    for (int64_t s = 0; s * G_MR < mc; s++) {
        float *dst = ap + s * kc * G_MR;
        int64_t is = i0 + s * G_MR, nrows = mc - s * G_MR;
        if (ta) {
            __mmask16 mr = g_mask(nrows < G_MR ? nrows : G_MR);
            for (int64_t q = 0; q < kc; q++)
                _mm512_mask_storeu_ps(dst + q * G_MR, m14, _mm512_maskz_loadu_ps(mr, a + (p0 + q) * lda + is));
            continue;
        }
        for (int64_t q0 = 0; q0 < kc; q0 += 16) {
            __mmask16 mq = g_mask(kc - q0);
            __m512 r[16];
            for (int ii = 0; ii < 16; ii++)
                r[ii] = ii < G_MR && ii < nrows ? _mm512_maskz_loadu_ps(mq, a + (is + ii) * lda + p0 + q0)
                                                : _mm512_setzero_ps();
            cpu_tr16(r);
            int64_t nq = kc - q0 < 16 ? kc - q0 : 16;
            for (int64_t qq = 0; qq < nq; qq++)
                _mm512_mask_storeu_ps(dst + (q0 + qq) * G_MR, m14, r[qq]);
        }
    }
}

/* One packed B block [kc, nc] against rows [0, m) of A: pack A block by block, run the micro-kernels. */
static void g_blocks(float *ap, const float *bp, int ta, const float *a, int64_t lda, int64_t m, int64_t p0,
                     int64_t kc, int64_t j0, int64_t nc, float alpha, float beta, float *c, int64_t ldc)
{
    int64_t strips = (m + G_MR - 1) / G_MR, nblk = (strips * G_MR + G_MC - 1) / G_MC;
    for (int64_t bi = 0; bi < nblk; bi++) {
        int64_t i0 = bi * strips / nblk * G_MR, i1 = (bi + 1) * strips / nblk * G_MR;
        i1 = i1 < m ? i1 : m;
        g_pack_a(ap, ta, a, lda, i0, i1 - i0, p0, kc);
        for (int64_t j = 0; j < nc; j += G_NR) {
            const float *bs = bp + j / G_NR * kc * G_NR;
            int cols = (int)(nc - j < G_NR ? nc - j : G_NR);
            for (int64_t i = i0; i < i1; i += G_MR)
                g_kernel(kc, ap + (i - i0) / G_MR * kc * G_MR, bs, c + i * ldc + j0 + j, ldc, alpha, beta,
                         (int)(i1 - i < G_MR ? i1 - i : G_MR), cols);
        }
    }
}

/* The next k block of `rest` values, cut as OpenBLAS's level-3 driver cuts them for its SkylakeX kernels (GEMM_Q
 * 448, unroll 16): whole blocks of 448 while at least two remain, then two halves rounded up to 16. Each block's
 * sum is one chain of FMAs in k's order added to C, as there, so on hosts running those kernels the two agree bit
 * for bit (checked on the AE's and the UNet's shapes) and the default run's results do not depend on which ran. */
static int64_t g_kblock(int64_t rest)
{
    if (rest >= 2 * G_KC)
        return G_KC;
    if (rest > G_KC)
        return (rest / 2 + 15) / 16 * 16;
    return rest;
}

/* The calling thread's packing buffer of at least `bytes`, 64-byte aligned, kept for its next GEMMs (freed when
 * the thread ends; the main thread's stays reachable until exit); NULL when memory runs out. */
typedef struct {
    void *p;
    size_t bytes;
} g_buf;

static pthread_key_t g_key;
static int g_key_ok;

static void g_buf_free(void *v)
{
    g_buf *b = v;
    free(b->p);
    free(b);
}

static void g_key_create(void)
{
    g_key_ok = pthread_key_create(&g_key, g_buf_free) == 0;
}

static float *g_buffer(size_t bytes)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, g_key_create);
    if (!g_key_ok)
        return NULL;
    g_buf *b = pthread_getspecific(g_key);
    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return NULL;
        if (pthread_setspecific(g_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    if (b->bytes < bytes) {
        free(b->p);
        b->p = NULL;
        b->bytes = 0;
        size_t rounded = (bytes + 4095) & ~(size_t)4095;
        if (posix_memalign(&b->p, 64, rounded) != 0)
            return NULL;
        b->bytes = rounded;
    }
    return b->p;
}

/* n in balanced panels of whole strips of at most G_NC columns: their number, the widest's columns */
static int64_t g_panels(int64_t n, int64_t *ncmax)
{
    int64_t strips = (n + G_NR - 1) / G_NR, npan = (strips * G_NR + G_NC - 1) / G_NC;
    *ncmax = (strips + npan - 1) / npan * G_NR;
    return npan;
}

/* Columns [*j0, *j1) of panel pj of npan over n (j0 a multiple of G_NR). */
static void g_panel(int64_t n, int64_t npan, int64_t pj, int64_t *j0, int64_t *j1)
{
    int64_t strips = (n + G_NR - 1) / G_NR;
    *j0 = pj * strips / npan * G_NR;
    *j1 = (pj + 1) * strips / npan * G_NR;
    *j1 = *j1 < n ? *j1 : n;
}

/* Where panel [j0, j1)'s block of k at p0 lies in B packed whole (cpu_gemm512_pack): the panels one after the
 * other (every panel before j0 is whole strips: j0 k floats), each as its k blocks in order. */
static int64_t g_packed_at(int64_t k, int64_t j0, int64_t j1, int64_t p0)
{
    return j0 * k + p0 * ((j1 - j0 + G_NR - 1) / G_NR * G_NR);
}

/* The GEMM, with B packed here block by block (packed NULL) or already packed whole. */
static int g_gemm(int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                  const float *b, int32_t ldb, const float *packed, float beta, float *c, int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return 1;
    if (k <= 0)
        return 0; /* cpu_sgemm's rule for an empty sum */
    int64_t kcmax = k < G_KC ? k : G_KC, ncmax, npan = g_panels(n, &ncmax);
    int64_t nbp = packed ? 0 : kcmax * ncmax, nap = kcmax * (G_MC + G_MR);
    float *buf = g_buffer((size_t)(nbp + nap) * sizeof(float));
    if (!buf)
        return 0;
    for (int64_t pj = 0; pj < npan; pj++) {
        int64_t j0, j1;
        g_panel(n, npan, pj, &j0, &j1);
        for (int64_t p0 = 0, kc; p0 < k; p0 += kc) {
            kc = g_kblock(k - p0);
            const float *bp = packed ? packed + g_packed_at(k, j0, j1, p0) : buf;
            if (!packed)
                g_pack_b(buf, tb, b, ldb, p0, kc, j0, j1 - j0);
            g_blocks(buf + nbp, bp, ta, a, lda, m, p0, kc, j0, j1 - j0, alpha, p0 == 0 ? beta : 1.0f, c, ldc);
        }
    }
    return 1;
}

int cpu_gemm512(int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    return g_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, NULL, beta, c, ldc);
}

int64_t cpu_gemm512_packed_floats(int32_t n, int32_t k)
{
    if (n <= 0 || k <= 0)
        return 0;
    return (int64_t)(n + G_NR - 1) / G_NR * G_NR * k;
}

void cpu_gemm512_pack(int tb, int32_t n, int32_t k, const float *b, int32_t ldb, float *packed)
{
    int64_t ncmax, npan = g_panels(n, &ncmax);
    for (int64_t pj = 0; n > 0 && pj < npan; pj++) {
        int64_t j0, j1;
        g_panel(n, npan, pj, &j0, &j1);
        for (int64_t p0 = 0, kc; p0 < k; p0 += kc) {
            kc = g_kblock(k - p0);
            g_pack_b(packed + g_packed_at(k, j0, j1, p0), tb, b, ldb, p0, kc, j0, j1 - j0);
        }
    }
}

int cpu_gemm512_packed(int ta, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                       const float *packed, float beta, float *c, int32_t ldc)
{
    return g_gemm(ta, 0, m, n, k, alpha, a, lda, NULL, 0, packed, beta, c, ldc);
}

int cpu_gemm512_available(void)
{
    return cpu_has_avx512();
}

#else

int cpu_gemm512(int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta;
    (void)c, (void)ldc;
    return 0;
}

int cpu_gemm512_available(void)
{
    return 0;
}

int64_t cpu_gemm512_packed_floats(int32_t n, int32_t k)
{
    (void)n, (void)k;
    return 0;
}

void cpu_gemm512_pack(int tb, int32_t n, int32_t k, const float *b, int32_t ldb, float *packed)
{
    (void)tb, (void)n, (void)k, (void)b, (void)ldb, (void)packed;
}

int cpu_gemm512_packed(int ta, int32_t m, int32_t n, int32_t k, float alpha, const float *a, int32_t lda,
                       const float *packed, float beta, float *c, int32_t ldc)
{
    (void)ta, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)packed, (void)beta, (void)c;
    (void)ldc;
    return 0;
}

#endif

void cpu_gemm_hot(int want_own, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                  int32_t lda, const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    int mode = cpu_gemm_mode();
    int own = mode == 2 || (mode == 0 && want_own);
    if (own && k > 0 && cpu_gemm512_available() && cpu_gemm512(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    cpu_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- blas.h: pdiff's own kernel for bench and tests ---------------------------------------------------------- */

const char *blas_own_kernel(void)
{
    return cpu_gemm512_available() ? "pdiff-avx512-14x32" : NULL;
}

int blas_own_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc)
{
    return cpu_gemm512_available() && k > 0 && cpu_gemm512(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int64_t blas_own_packed_floats(int n, int k)
{
    return cpu_gemm512_packed_floats(n, k);
}

void blas_own_pack(int tb, int n, int k, const float *b, int ldb, float *packed)
{
    if (cpu_gemm512_available())
        cpu_gemm512_pack(tb, n, k, b, ldb, packed);
}

int blas_own_sgemm_packed(int ta, int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                          float beta, float *c, int ldc)
{
    return cpu_gemm512_available() && k > 0 && cpu_gemm512_packed(ta, m, n, k, alpha, a, lda, packed, beta, c, ldc);
}

const char *blas_gemm_setting(void)
{
    static const char *names[] = {"default", "blas", "own"};
    return names[cpu_gemm_mode()];
}

int blas_gemm_select(const char *setting)
{
    static const char *names[] = {"default", "blas", "own"};
    for (int i = 0; i < 3; i++)
        if (strcmp(setting, names[i]) == 0) {
            cpu_gemm_set_mode(i);
            return 1;
        }
    return 0;
}
