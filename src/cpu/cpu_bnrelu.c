/* cpu_bnrelu.c — per-plane kernels of the fused BatchNorm -> ReLU (-> 2x2 max-pool) ops (see cpu_bnrelu.h).
 *
 * The planes of these layers are short (rows of 7 to 28 values), where compiler-vectorised loops spend their
 * time in remainders, so the hot versions are written for AVX-512 by hand: a pair of image rows is read 32
 * columns at a time with masked loads (never past the row), split into even and odd columns with one permute
 * each, and the four values of every window then sit in the same lane of four vectors. The portable versions
 * are plain loops over the same formulas; both give the same values element by element. */
#include "cpu_bnrelu.h"
#include "cpu_simd.h"

#include <string.h>

/* ---- portable ------------------------------------------------------------------------------------------- */

static inline float cpu_bnr_r(float x, float m, float k, float b)
{
    float v = (x - m) * k + b;
    return v < 0.0f ? 0.0f : v;
}

/* pick (0..3) of the window v [4]: the first maximum, NaN winning; *mx its value */
static inline int cpu_bnr_pick(const float v[4], float *mx)
{
    float best = v[0];
    int k = 0;
    for (int i = 1; i < 4; i++)
        if ((v[i] > best) | (v[i] != v[i])) {
            best = v[i];
            k = i;
        }
    *mx = best;
    return k;
}

/* dy of window (oy, ox) of plane x [h, w] with pooled gradient gv: d [4] in row-major window order */
static inline void cpu_bnr_window(const float *x, int32_t w, int32_t oy, int32_t ox, float m, float k, float b,
                                  float gv, float d[4], const float *xs[4])
{
    xs[0] = x + (int64_t)2 * oy * w + 2 * ox;
    xs[1] = xs[0] + 1;
    xs[2] = xs[0] + w;
    xs[3] = xs[2] + 1;
    float v[4], mx;
    for (int i = 0; i < 4; i++)
        v[i] = cpu_bnr_r(*xs[i], m, k, b);
    int pick = cpu_bnr_pick(v, &mx);
    for (int i = 0; i < 4; i++)
        d[i] = i == pick && v[i] > 0.0f ? gv : 0.0f;
}

static void cpu_bnr_forward_generic(float *out, const float *x, int32_t h, int32_t w, int pool, float m, float k,
                                    float b)
{
    if (!pool) {
        for (int64_t j = 0; j < (int64_t)h * w; j++)
            out[j] = cpu_bnr_r(x[j], m, k, b);
        return;
    }
    int32_t ho = h / 2, wo = w / 2;
    for (int32_t oy = 0; oy < ho; oy++)
        for (int32_t ox = 0; ox < wo; ox++) {
            const float *p = x + (int64_t)2 * oy * w + 2 * ox;
            float v[4] = {cpu_bnr_r(p[0], m, k, b), cpu_bnr_r(p[1], m, k, b), cpu_bnr_r(p[w], m, k, b),
                          cpu_bnr_r(p[w + 1], m, k, b)};
            cpu_bnr_pick(v, &out[(int64_t)oy * wo + ox]);
        }
}

static void cpu_bnr_sums_generic(const float *x, const float *g, int32_t h, int32_t w, int pool, float m, float k,
                                 float b, double *s1, double *s2)
{
    double a1 = 0.0, a2 = 0.0;
    if (!pool) {
        for (int64_t j = 0; j < (int64_t)h * w; j++) {
            float d = cpu_bnr_r(x[j], m, k, b) > 0.0f ? g[j] : 0.0f;
            a1 += d;
            a2 += d * (x[j] - m);
        }
    } else {
        int32_t ho = h / 2, wo = w / 2;
        for (int32_t oy = 0; oy < ho; oy++)
            for (int32_t ox = 0; ox < wo; ox++) {
                float d[4];
                const float *xs[4];
                cpu_bnr_window(x, w, oy, ox, m, k, b, g[(int64_t)oy * wo + ox], d, xs);
                for (int i = 0; i < 4; i++) {
                    a1 += d[i];
                    a2 += d[i] * (*xs[i] - m);
                }
            }
    }
    *s1 += a1;
    *s2 += a2;
}

static inline void cpu_bnr_put(float *p, float d, float x, float m, float ka, float kb, float kc, int acc)
{
    float v = ka * d - kb * (x - m) + kc;
    *p = acc ? *p + v : v;
}

static void cpu_bnr_apply_generic(float *din, const float *x, const float *g, int32_t h, int32_t w, int pool,
                                  float m, float k, float b, float ka, float kb, float kc, int acc)
{
    int64_t hw = (int64_t)h * w;
    if (!pool) {
        for (int64_t j = 0; j < hw; j++)
            cpu_bnr_put(din + j, cpu_bnr_r(x[j], m, k, b) > 0.0f ? g[j] : 0.0f, x[j], m, ka, kb, kc, acc);
        return;
    }
    int32_t ho = h / 2, wo = w / 2;
    for (int32_t y = 0; y < h; y++) /* positions no window reaches: dy = 0 */
        for (int32_t xx = y < 2 * ho ? 2 * wo : 0; xx < w; xx++)
            cpu_bnr_put(din + (int64_t)y * w + xx, 0.0f, x[(int64_t)y * w + xx], m, ka, kb, kc, acc);
    for (int32_t oy = 0; oy < ho; oy++)
        for (int32_t ox = 0; ox < wo; ox++) {
            float d[4];
            const float *xs[4];
            cpu_bnr_window(x, w, oy, ox, m, k, b, g[(int64_t)oy * wo + ox], d, xs);
            for (int i = 0; i < 4; i++)
                cpu_bnr_put(din + (xs[i] - x), d[i], *xs[i], m, ka, kb, kc, acc);
        }
}

/* ---- AVX-512 -------------------------------------------------------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CPU_BNR_X86 1
#define CPU_BNR_AVX512 __attribute__((target("avx512f")))

static inline __mmask16 cpu_bnr_mask(int64_t n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1u);
}

/* relu((x - m) k + b), exactly as the scalar expression (no FMA) */
CPU_BNR_AVX512 static inline __m512 cpu_bnr_vr(__m512 x, __m512 m, __m512 k, __m512 b)
{
    __m512 z = _mm512_setzero_ps(), v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(x, m), k), b);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, z, _CMP_LT_OQ), v, z);
}

/* t = (v > mx) | isnan(v); mx = t ? v : mx */
CPU_BNR_AVX512 static inline __mmask16 cpu_bnr_vstep(__m512 v, __m512 *mx)
{
    __mmask16 t = _mm512_cmp_ps_mask(v, *mx, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    *mx = _mm512_mask_blend_ps(t, *mx, v);
    return t;
}

/* One block of a row pair: columns c .. c + n - 1 (n <= 32) of rows x0, x1 -> raw values and relu values split
 * into even (e) and odd (o) columns: lane i holds window i's values. */
typedef struct {
    __m512 xe0, xo0, xe1, xo1; /* raw */
    __m512 e0, o0, e1, o1;     /* relu */
} cpu_bnr_block;

CPU_BNR_AVX512 static inline void cpu_bnr_load(cpu_bnr_block *q, const float *x0, const float *x1, int64_t n,
                                               __m512 m, __m512 k, __m512 b)
{
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __mmask16 lo = cpu_bnr_mask(n), hi = cpu_bnr_mask(n - 16);
    __m512 a0 = _mm512_maskz_loadu_ps(lo, x0), a1 = _mm512_maskz_loadu_ps(hi, x0 + 16);
    __m512 b0 = _mm512_maskz_loadu_ps(lo, x1), b1 = _mm512_maskz_loadu_ps(hi, x1 + 16);
    q->xe0 = _mm512_permutex2var_ps(a0, ie, a1);
    q->xo0 = _mm512_permutex2var_ps(a0, io, a1);
    q->xe1 = _mm512_permutex2var_ps(b0, ie, b1);
    q->xo1 = _mm512_permutex2var_ps(b0, io, b1);
    q->e0 = cpu_bnr_vr(q->xe0, m, k, b);
    q->o0 = cpu_bnr_vr(q->xo0, m, k, b);
    q->e1 = cpu_bnr_vr(q->xe1, m, k, b);
    q->o1 = cpu_bnr_vr(q->xo1, m, k, b);
}

/* dy of the block's windows (lanes under wm) from their pooled gradients g */
CPU_BNR_AVX512 static inline void cpu_bnr_route(const cpu_bnr_block *q, __m512 g, __m512 d[4])
{
    __m512 mx = q->e0, z = _mm512_setzero_ps();
    __mmask16 t1 = cpu_bnr_vstep(q->o0, &mx), t2 = cpu_bnr_vstep(q->e1, &mx), t3 = cpu_bnr_vstep(q->o1, &mx);
    __mmask16 s0 = (__mmask16)~(t1 | t2 | t3), s1 = (__mmask16)(t1 & ~(t2 | t3)), s2 = (__mmask16)(t2 & ~t3);
    d[0] = _mm512_maskz_mov_ps(s0 & _mm512_cmp_ps_mask(q->e0, z, _CMP_GT_OQ), g);
    d[1] = _mm512_maskz_mov_ps(s1 & _mm512_cmp_ps_mask(q->o0, z, _CMP_GT_OQ), g);
    d[2] = _mm512_maskz_mov_ps(s2 & _mm512_cmp_ps_mask(q->e1, z, _CMP_GT_OQ), g);
    d[3] = _mm512_maskz_mov_ps(t3 & _mm512_cmp_ps_mask(q->o1, z, _CMP_GT_OQ), g);
}

/* ka d - kb (x - m) + kc */
CPU_BNR_AVX512 static inline __m512 cpu_bnr_vdin(__m512 d, __m512 x, __m512 m, __m512 ka, __m512 kb, __m512 kc)
{
    return _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(ka, d), _mm512_mul_ps(kb, _mm512_sub_ps(x, m))), kc);
}

CPU_BNR_AVX512 static double cpu_bnr_hsum(__m512 v)
{
    float f[16];
    _mm512_storeu_ps(f, v);
    double s = 0.0;
    for (int i = 0; i < 16; i++)
        s += f[i];
    return s;
}

CPU_BNR_AVX512 static void cpu_bnr_forward_512(float *out, const float *x, int32_t h, int32_t w, int pool, float mf,
                                               float kf, float bf)
{
    __m512 m = _mm512_set1_ps(mf), k = _mm512_set1_ps(kf), b = _mm512_set1_ps(bf);
    if (!pool) {
        int64_t hw = (int64_t)h * w;
        for (int64_t j = 0; j < hw; j += 16) {
            __mmask16 mk = cpu_bnr_mask(hw - j);
            _mm512_mask_storeu_ps(out + j, mk, cpu_bnr_vr(_mm512_maskz_loadu_ps(mk, x + j), m, k, b));
        }
        return;
    }
    int32_t ho = h / 2, wo = w / 2;
    for (int32_t oy = 0; oy < ho; oy++) {
        const float *x0 = x + (int64_t)2 * oy * w, *x1 = x0 + w;
        for (int32_t c = 0; c < 2 * wo; c += 32) {
            cpu_bnr_block q;
            cpu_bnr_load(&q, x0 + c, x1 + c, 2 * wo - c, m, k, b);
            __m512 mx = q.e0;
            cpu_bnr_vstep(q.o0, &mx);
            cpu_bnr_vstep(q.e1, &mx);
            cpu_bnr_vstep(q.o1, &mx);
            _mm512_mask_storeu_ps(out + (int64_t)oy * wo + c / 2, cpu_bnr_mask(wo - c / 2), mx);
        }
    }
}

CPU_BNR_AVX512 static void cpu_bnr_sums_512(const float *x, const float *g, int32_t h, int32_t w, int pool, float mf,
                                            float kf, float bf, double *s1, double *s2)
{
    __m512 m = _mm512_set1_ps(mf), k = _mm512_set1_ps(kf), b = _mm512_set1_ps(bf), z = _mm512_setzero_ps();
    __m512 a1 = z, a2 = z;
    if (!pool) {
        int64_t hw = (int64_t)h * w;
        for (int64_t j = 0; j < hw; j += 16) {
            __mmask16 mk = cpu_bnr_mask(hw - j);
            __m512 xv = _mm512_maskz_loadu_ps(mk, x + j), gv = _mm512_maskz_loadu_ps(mk, g + j);
            __m512 d = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(cpu_bnr_vr(xv, m, k, b), z, _CMP_GT_OQ), gv);
            a1 = _mm512_add_ps(a1, d);
            a2 = _mm512_add_ps(a2, _mm512_mul_ps(d, _mm512_sub_ps(xv, m)));
        }
    } else {
        int32_t ho = h / 2, wo = w / 2;
        for (int32_t oy = 0; oy < ho; oy++) {
            const float *x0 = x + (int64_t)2 * oy * w, *x1 = x0 + w;
            for (int32_t c = 0; c < 2 * wo; c += 32) {
                cpu_bnr_block q;
                __m512 d[4];
                cpu_bnr_load(&q, x0 + c, x1 + c, 2 * wo - c, m, k, b);
                cpu_bnr_route(&q, _mm512_maskz_loadu_ps(cpu_bnr_mask(wo - c / 2), g + (int64_t)oy * wo + c / 2), d);
                a1 = _mm512_add_ps(a1, _mm512_add_ps(_mm512_add_ps(d[0], d[1]), _mm512_add_ps(d[2], d[3])));
                __m512 p0 = _mm512_add_ps(_mm512_mul_ps(d[0], _mm512_sub_ps(q.xe0, m)),
                                          _mm512_mul_ps(d[1], _mm512_sub_ps(q.xo0, m)));
                __m512 p1 = _mm512_add_ps(_mm512_mul_ps(d[2], _mm512_sub_ps(q.xe1, m)),
                                          _mm512_mul_ps(d[3], _mm512_sub_ps(q.xo1, m)));
                a2 = _mm512_add_ps(a2, _mm512_add_ps(p0, p1));
            }
        }
    }
    *s1 += cpu_bnr_hsum(a1);
    *s2 += cpu_bnr_hsum(a2);
}

/* din [n] (= or +=) from dy d and x, n <= 16 */
CPU_BNR_AVX512 static inline void cpu_bnr_store(float *p, __mmask16 mk, __m512 v, int acc)
{
    if (acc)
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, p), v);
    _mm512_mask_storeu_ps(p, mk, v);
}

CPU_BNR_AVX512 static void cpu_bnr_apply_512(float *din, const float *x, const float *g, int32_t h, int32_t w,
                                             int pool, float mf, float kf, float bf, float kaf, float kbf, float kcf,
                                             int acc)
{
    __m512 m = _mm512_set1_ps(mf), k = _mm512_set1_ps(kf), b = _mm512_set1_ps(bf), z = _mm512_setzero_ps();
    __m512 ka = _mm512_set1_ps(kaf), kb = _mm512_set1_ps(kbf), kc = _mm512_set1_ps(kcf);
    int64_t hw = (int64_t)h * w;
    if (!pool) {
        for (int64_t j = 0; j < hw; j += 16) {
            __mmask16 mk = cpu_bnr_mask(hw - j);
            __m512 xv = _mm512_maskz_loadu_ps(mk, x + j), gv = _mm512_maskz_loadu_ps(mk, g + j);
            __m512 d = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(cpu_bnr_vr(xv, m, k, b), z, _CMP_GT_OQ), gv);
            cpu_bnr_store(din + j, mk, cpu_bnr_vdin(d, xv, m, ka, kb, kc), acc);
        }
        return;
    }
    const __m512i il = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i ih = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    int32_t ho = h / 2, wo = w / 2;
    for (int32_t oy = 0; oy < ho; oy++) {
        const float *x0 = x + (int64_t)2 * oy * w, *x1 = x0 + w;
        float *p0 = din + (int64_t)2 * oy * w, *p1 = p0 + w;
        for (int32_t c = 0; c < 2 * wo; c += 32) {
            cpu_bnr_block q;
            __m512 d[4];
            cpu_bnr_load(&q, x0 + c, x1 + c, 2 * wo - c, m, k, b);
            cpu_bnr_route(&q, _mm512_maskz_loadu_ps(cpu_bnr_mask(wo - c / 2), g + (int64_t)oy * wo + c / 2), d);
            __m512 de0 = cpu_bnr_vdin(d[0], q.xe0, m, ka, kb, kc), do0 = cpu_bnr_vdin(d[1], q.xo0, m, ka, kb, kc);
            __m512 de1 = cpu_bnr_vdin(d[2], q.xe1, m, ka, kb, kc), do1 = cpu_bnr_vdin(d[3], q.xo1, m, ka, kb, kc);
            __mmask16 lo = cpu_bnr_mask(2 * wo - c), hi = cpu_bnr_mask(2 * wo - c - 16);
            cpu_bnr_store(p0 + c, lo, _mm512_permutex2var_ps(de0, il, do0), acc);
            cpu_bnr_store(p0 + c + 16, hi, _mm512_permutex2var_ps(de0, ih, do0), acc);
            cpu_bnr_store(p1 + c, lo, _mm512_permutex2var_ps(de1, il, do1), acc);
            cpu_bnr_store(p1 + c + 16, hi, _mm512_permutex2var_ps(de1, ih, do1), acc);
        }
        if (w & 1) { /* the column no window reaches */
            cpu_bnr_put(p0 + w - 1, 0.0f, x0[w - 1], mf, kaf, kbf, kcf, acc);
            cpu_bnr_put(p1 + w - 1, 0.0f, x1[w - 1], mf, kaf, kbf, kcf, acc);
        }
    }
    for (int64_t j = (int64_t)2 * ho * w; j < hw; j += 16) { /* the row no window reaches */
        __mmask16 mk = cpu_bnr_mask(hw - j);
        cpu_bnr_store(din + j, mk, cpu_bnr_vdin(z, _mm512_maskz_loadu_ps(mk, x + j), m, ka, kb, kc), acc);
    }
}
#endif

/* ---- dispatch ------------------------------------------------------------------------------------------- */

void cpu_bnr_forward_plane(float *out, const float *x, int32_t h, int32_t w, int pool, float m, float k, float b)
{
#if defined(CPU_BNR_X86)
    if (cpu_has_avx512()) {
        cpu_bnr_forward_512(out, x, h, w, pool, m, k, b);
        return;
    }
#endif
    cpu_bnr_forward_generic(out, x, h, w, pool, m, k, b);
}

void cpu_bnr_sums_plane(const float *x, const float *g, int32_t h, int32_t w, int pool, float m, float k, float b,
                        double *s1, double *s2)
{
#if defined(CPU_BNR_X86)
    if (cpu_has_avx512()) {
        cpu_bnr_sums_512(x, g, h, w, pool, m, k, b, s1, s2);
        return;
    }
#endif
    cpu_bnr_sums_generic(x, g, h, w, pool, m, k, b, s1, s2);
}

void cpu_bnr_apply_plane(float *din, const float *x, const float *g, int32_t h, int32_t w, int pool, float m,
                         float k, float b, float ka, float kb, float kc, int acc)
{
#if defined(CPU_BNR_X86)
    if (cpu_has_avx512()) {
        cpu_bnr_apply_512(din, x, g, h, w, pool, m, k, b, ka, kb, kc, acc);
        return;
    }
#endif
    cpu_bnr_apply_generic(din, x, g, h, w, pool, m, k, b, ka, kb, kc, acc);
}
