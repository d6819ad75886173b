/* cpu_wgsimd.c — the Winograd path's data movement and products (see cpu_winograd.h): changes between planar
 * [c, h, w] and channel-innermost [h, w, cp] layouts, and the small products between transformed buffers.
 *
 * With AVX-512 (picked at load time) the layout changes are 16 x 16 register transposes along the flattened
 * plane and the products run on a register-blocked kernel; without it, 4 x 4 SSE transposes and OpenBLAS. The
 * layout changes move values unchanged (the bias is added once, the same way) on both paths. */
#include <string.h>

#include "cpu.h"
#include "cpu_simd.h"
#include "cpu_tr16.h"
#include "cpu_winograd.h"

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#if defined(CPU_TR16)
#define WG_X86 1
#define WG_AVX512 CPU_TR16_FN
#endif

#if defined(WG_X86)
/* wg_to_cl in 16 x 16 blocks along the flattened plane (a block may span image rows); channels past c, up to
 * the next 16, are written as zeros (cp covers them). With af, a channel's values are first
 * relu((x - m) k + b) of its row of src (k >= 0) or af->mn (cpu_bn_relu_pool_rows' expression). */
typedef struct {
    const float *mn, *k, *m, *b;
} wg_bnrelu;

WG_AVX512 static inline __attribute__((always_inline)) void wg_to_cl_body(float *restrict dst, int32_t ld, int64_t cp,
                                                                         int32_t oy, int32_t ox,
                                                                         const float *restrict src,
                                                                         const wg_bnrelu *af, int32_t c, int32_t h,
                                                                         int32_t w)
{
    int64_t hw = (int64_t)h * w;
    for (int32_t c0 = 0; c0 < c; c0 += 16) {
        int32_t nc = c - c0 < 16 ? c - c0 : 16;
        int32_t y = 0, x = 0; /* position of p0 */
        for (int64_t p0 = 0; p0 < hw; p0 += 16) {
            int64_t np = hw - p0 < 16 ? hw - p0 : 16;
            __mmask16 mk = cpu_tr16_mask(np);
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                if (i >= nc) {
                    r[i] = _mm512_setzero_ps();
                    continue;
                }
                int32_t ch = c0 + i;
                if (!af) {
                    r[i] = _mm512_maskz_loadu_ps(mk, src + ch * hw + p0);
                    continue;
                }
                const float *row = (af->k[ch] >= 0.0f ? src : af->mn) + ch * hw + p0;
                __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, row), _mm512_set1_ps(af->m[ch])),
                                         _mm512_set1_ps(af->k[ch]));
                v = _mm512_add_ps(v, _mm512_set1_ps(af->b[ch]));
                r[i] = _mm512_maskz_mov_ps(_mm512_mask_cmp_ps_mask(mk, v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
            }
            cpu_tr16(r);
            for (int j = 0; j < np; j++) {
                _mm512_storeu_ps(dst + ((int64_t)(y + oy) * ld + ox + x) * cp + c0, r[j]);
                if (++x == w)
                    x = 0, y++;
            }
        }
    }
}

WG_AVX512 static void wg_to_cl_512(float *restrict dst, int32_t ld, int64_t cp, int32_t oy, int32_t ox,
                                   const float *restrict src, int32_t c, int32_t h, int32_t w)
{
    wg_to_cl_body(dst, ld, cp, oy, ox, src, NULL, c, h, w);
}

WG_AVX512 static void wg_to_cl_bnrelu_512(float *restrict dst, int32_t ld, int64_t cp, int32_t oy, int32_t ox,
                                          const float *restrict mx, const wg_bnrelu *af, int32_t c, int32_t h,
                                          int32_t w)
{
    wg_to_cl_body(dst, ld, cp, oy, ox, mx, af, c, h, w);
}

/* wg_from_cl in 16 x 16 blocks along the flattened plane */
WG_AVX512 static void wg_from_cl_512(float *restrict dst, int acc, const float *bias, const float *restrict src,
                                     int32_t ld, int64_t cp, int32_t oy, int32_t ox, int32_t c, int32_t h, int32_t w)
{
    int64_t hw = (int64_t)h * w;
    for (int32_t c0 = 0; c0 < c; c0 += 16) {
        int32_t nc = c - c0 < 16 ? c - c0 : 16;
        int32_t y = 0, x = 0;
        for (int64_t p0 = 0; p0 < hw; p0 += 16) {
            int64_t np = hw - p0 < 16 ? hw - p0 : 16;
            __mmask16 mk = cpu_tr16_mask(np);
            __m512 r[16];
            for (int j = 0; j < 16; j++) {
                r[j] = j < np ? _mm512_loadu_ps(src + ((int64_t)(y + oy) * ld + ox + x) * cp + c0) : _mm512_setzero_ps();
                if (j < np && ++x == w)
                    x = 0, y++;
            }
            cpu_tr16(r);
            for (int i = 0; i < nc; i++) {
                float *d = dst + (c0 + i) * hw + p0;
                __m512 v = acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk, d), r[i])
                               : bias ? _mm512_add_ps(r[i], _mm512_set1_ps(bias[c0 + i])) : r[i];
                _mm512_mask_storeu_ps(d, mk, v);
            }
        }
    }
}
#endif

/* dst [rows, ld, cp] at row oy, column ox onward <- src [c, h, w] (channel-innermost) */
void cpu_wg_to_cl(float *restrict dst, int32_t ld, int64_t cp, int32_t oy, int32_t ox, const float *restrict src,
                  int32_t c, int32_t h, int32_t w)
{
#if defined(WG_X86)
    if (cpu_has_avx512()) {
        wg_to_cl_512(dst, ld, cp, oy, ox, src, c, h, w);
        return;
    }
#endif
    int64_t hw = (int64_t)h * w;
    int32_t c4 = 0;
#if defined(__SSE__)
    for (; c4 + 4 <= c; c4 += 4)
        for (int32_t y = 0; y < h; y++) {
            const float *s0 = src + c4 * hw + (int64_t)y * w, *s1 = s0 + hw, *s2 = s1 + hw, *s3 = s2 + hw;
            float *d = dst + ((int64_t)(y + oy) * ld + ox) * cp + c4;
            int32_t x = 0;
            for (; x + 4 <= w; x += 4) {
                __m128 r0 = _mm_loadu_ps(s0 + x), r1 = _mm_loadu_ps(s1 + x), r2 = _mm_loadu_ps(s2 + x);
                __m128 r3 = _mm_loadu_ps(s3 + x);
                _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                _mm_storeu_ps(d + (x + 0) * cp, r0);
                _mm_storeu_ps(d + (x + 1) * cp, r1);
                _mm_storeu_ps(d + (x + 2) * cp, r2);
                _mm_storeu_ps(d + (x + 3) * cp, r3);
            }
            for (; x < w; x++) {
                d[x * cp + 0] = s0[x];
                d[x * cp + 1] = s1[x];
                d[x * cp + 2] = s2[x];
                d[x * cp + 3] = s3[x];
            }
        }
#endif
    for (; c4 < c; c4++)
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++)
                dst[((int64_t)(y + oy) * ld + ox + x) * cp + c4] = src[c4 * hw + (int64_t)y * w + x];
}

/* cpu_wg_to_cl of relu((x - m) k + b), x from mx (k >= 0) or mn, per channel (tmp [c, h, w]: scratch for the
 * path without AVX-512) */
void cpu_wg_to_cl_bnrelu(float *dst, int32_t ld, int64_t cp, int32_t oy, int32_t ox, const float *mx, const float *mn,
                         const float *k, const float *m, const float *b, float *tmp, int32_t c, int32_t h, int32_t w)
{
#if defined(WG_X86)
    if (cpu_has_avx512()) {
        wg_bnrelu af = {mn, k, m, b};
        wg_to_cl_bnrelu_512(dst, ld, cp, oy, ox, mx, &af, c, h, w);
        return;
    }
#endif
    cpu_bn_relu_pool_rows(tmp, mx, mn, k, m, b, c, h * w);
    cpu_wg_to_cl(dst, ld, cp, oy, ox, tmp, c, h, w);
}

/* dst [c, h, w] (= src + bias[c], or += src when acc) <- src [rows, ld, cp] from row oy, column ox onward */
void cpu_wg_from_cl(float *restrict dst, int acc, const float *bias, const float *restrict src, int32_t ld,
                    int64_t cp, int32_t oy, int32_t ox, int32_t c, int32_t h, int32_t w)
{
#if defined(WG_X86)
    if (cpu_has_avx512()) {
        wg_from_cl_512(dst, acc, bias, src, ld, cp, oy, ox, c, h, w);
        return;
    }
#endif
    int64_t hw = (int64_t)h * w;
    int32_t c4 = 0;
#if defined(__SSE__)
    for (; c4 + 4 <= c; c4 += 4) {
        __m128 b0 = _mm_set1_ps(bias && !acc ? bias[c4] : 0.0f), b1 = _mm_set1_ps(bias && !acc ? bias[c4 + 1] : 0.0f);
        __m128 b2 = _mm_set1_ps(bias && !acc ? bias[c4 + 2] : 0.0f), b3 = _mm_set1_ps(bias && !acc ? bias[c4 + 3] : 0.0f);
        for (int32_t y = 0; y < h; y++) {
            float *d0 = dst + c4 * hw + (int64_t)y * w, *d1 = d0 + hw, *d2 = d1 + hw, *d3 = d2 + hw;
            const float *sr = src + ((int64_t)(y + oy) * ld + ox) * cp + c4;
            int32_t x = 0;
            for (; x + 4 <= w; x += 4) {
                __m128 r0 = _mm_loadu_ps(sr + (x + 0) * cp), r1 = _mm_loadu_ps(sr + (x + 1) * cp);
                __m128 r2 = _mm_loadu_ps(sr + (x + 2) * cp), r3 = _mm_loadu_ps(sr + (x + 3) * cp);
                _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                if (acc) {
                    r0 = _mm_add_ps(_mm_loadu_ps(d0 + x), r0);
                    r1 = _mm_add_ps(_mm_loadu_ps(d1 + x), r1);
                    r2 = _mm_add_ps(_mm_loadu_ps(d2 + x), r2);
                    r3 = _mm_add_ps(_mm_loadu_ps(d3 + x), r3);
                } else if (bias) {
                    r0 = _mm_add_ps(r0, b0);
                    r1 = _mm_add_ps(r1, b1);
                    r2 = _mm_add_ps(r2, b2);
                    r3 = _mm_add_ps(r3, b3);
                }
                _mm_storeu_ps(d0 + x, r0);
                _mm_storeu_ps(d1 + x, r1);
                _mm_storeu_ps(d2 + x, r2);
                _mm_storeu_ps(d3 + x, r3);
            }
            for (; x < w; x++) {
                const float *q = sr + x * cp;
                if (acc) {
                    d0[x] += q[0];
                    d1[x] += q[1];
                    d2[x] += q[2];
                    d3[x] += q[3];
                } else if (bias) {
                    d0[x] = q[0] + b0[0];
                    d1[x] = q[1] + b1[0];
                    d2[x] = q[2] + b2[0];
                    d3[x] = q[3] + b3[0];
                } else {
                    d0[x] = q[0];
                    d1[x] = q[1];
                    d2[x] = q[2];
                    d3[x] = q[3];
                }
            }
        }
    }
#endif
    for (; c4 < c; c4++) {
        float bv = bias && !acc ? bias[c4] : 0.0f;
        for (int32_t y = 0; y < h; y++)
            for (int32_t x = 0; x < w; x++) {
                float v = src[((int64_t)(y + oy) * ld + ox + x) * cp + c4];
                float *d = dst + c4 * hw + (int64_t)y * w + x;
                *d = acc ? *d + v : bias ? v + bv : v;
            }
    }
}

/* ---- the position products ------------------------------------------------------------------------------
 * C [m, n] (=, or += with acc) A B for A(r, q) = a[r ar + q aq] (row-major A: ar = lda, aq = 1; A stored
 * transposed: ar = 1, aq = lda), B [kk, n] and C row-major. The shapes here (n = 32 or 64 channels, kk = 32 or 64
 * channels or a chunk's tiles) are small for BLAS, so with AVX-512 and n a multiple of 16 a register-blocked
 * kernel does them: 12 rows x 32 columns of C in 24 registers, one broadcast of A and two rows of B per step. */

#if defined(WG_X86)

/* rows r0 .. r0 + MR - 1, columns j .. j + 16 NV - 1 */
#define WG_UNROLL _Pragma("GCC unroll 16")
#define WG_KERNEL(NAME, MR, NV)                                                                                   \
    WG_AVX512 static void NAME(int64_t kk, const float *a, int64_t ar, int64_t aq, const float *b, int64_t ldb,     \
                               float *c, int64_t ldc, int acc)                                                    \
    {                                                                                                              \
        __m512 t[MR][NV];                                                                                          \
        WG_UNROLL for (int i = 0; i < MR; i++)                                                                     \
            WG_UNROLL for (int v = 0; v < NV; v++)                                                                 \
                t[i][v] = acc ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();                       \
        for (int64_t q = 0; q < kk; q++) {                                                                         \
            __m512 bv[NV];                                                                                         \
            WG_UNROLL for (int v = 0; v < NV; v++)                                                                 \
                bv[v] = _mm512_loadu_ps(b + q * ldb + 16 * v);                                                     \
            const float *aa = a + q * aq;                                                                          \
            WG_UNROLL for (int i = 0; i < MR; i++) {                                                               \
                __m512 av = _mm512_set1_ps(aa[i * ar]);                                                            \
                WG_UNROLL for (int v = 0; v < NV; v++)                                                             \
                    t[i][v] = _mm512_fmadd_ps(av, bv[v], t[i][v]);                                                 \
            }                                                                                                      \
        }                                                                                                          \
        WG_UNROLL for (int i = 0; i < MR; i++)                                                                     \
            WG_UNROLL for (int v = 0; v < NV; v++)                                                                 \
                _mm512_storeu_ps(c + i * ldc + 16 * v, t[i][v]);                                                   \
    }

WG_KERNEL(wg_k12x2, 12, 2)
WG_KERNEL(wg_k4x2, 4, 2)
WG_KERNEL(wg_k1x2, 1, 2)
WG_KERNEL(wg_k12x1, 12, 1)
WG_KERNEL(wg_k4x1, 4, 1)
WG_KERNEL(wg_k1x1, 1, 1)

static void wg_gemm512(int64_t m, int64_t n, int64_t kk, const float *a, int64_t ar, int64_t aq, const float *b,
                       int64_t ldb, float *c, int64_t ldc, int acc)
{
    for (int64_t j = 0; j < n; j += 32) {
        int wide = n - j >= 32;
        int64_t r = 0;
        for (; r + 12 <= m; r += 12)
            (wide ? wg_k12x2 : wg_k12x1)(kk, a + r * ar, ar, aq, b + j, ldb, c + r * ldc + j, ldc, acc);
        for (; r + 4 <= m; r += 4)
            (wide ? wg_k4x2 : wg_k4x1)(kk, a + r * ar, ar, aq, b + j, ldb, c + r * ldc + j, ldc, acc);
        for (; r < m; r++)
            (wide ? wg_k1x2 : wg_k1x1)(kk, a + r * ar, ar, aq, b + j, ldb, c + r * ldc + j, ldc, acc);
    }
}

#endif

/* C [m, n] = A B (+ C when acc); ta: A is stored transposed ([kk, m] with leading dimension lda) */
void cpu_wg_gemm(int ta, int64_t m, int64_t n, int64_t kk, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float *c, int64_t ldc, int acc)
{
#if defined(WG_X86)
    if (n % 16 == 0 && cpu_has_avx512()) {
        wg_gemm512(m, n, kk, a, ta ? 1 : lda, ta ? lda : 1, b, ldb, c, ldc, acc);
        return;
    }
#endif
    cpu_sgemm(ta, 0, (int32_t)m, (int32_t)n, (int32_t)kk, 1.0f, a, (int32_t)lda, b, (int32_t)ldb, acc ? 1.0f : 0.0f,
              c, (int32_t)ldc);
}

