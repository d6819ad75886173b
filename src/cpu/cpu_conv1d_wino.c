/* cpu_conv1d_wino.c — the Winograd F(4,3) path of the CPU convolutions (see cpu_conv1d.h, cpu_conv1d.c).
 *
 * For stride-1, kernel-3 correlations wide on both sides (the UNet's blocks, the AE decoder's wide stride-1
 * layers). Short positions come in tiles of four; tile t reads the six long positions p = 4t - pad + i,
 * i = 0..5 (zero outside the row). With d those six values of one G channel and g = W[a, c, :]:
 *   U = B^T d:  U0 = 4 d0 - 5 d2 + d4,            U1 = -4 (d1 + d2) + d3 + d4,   U2 = 4 (d1 - d2) - d3 + d4,
 *               U3 = 2 (d3 - d1) - d2 + d4,       U4 = 2 (d1 - d3) - d2 + d4,    U5 = 4 d1 - 5 d3 + d5
 *   Wt = G g:   Wt0 = g0 / 4,  Wt1 = -(g0 + g1 + g2) / 6,  Wt2 = -(g0 - g1 + g2) / 6,
 *               Wt3 = g0 / 24 + g1 / 12 + g2 / 6,  Wt4 = g0 / 24 - g1 / 12 + g2 / 6,  Wt5 = g2
 *   M_i [tiles, cs] = U_i [tiles, cg] Wt_i^T          (six GEMMs: 1/2 of im2col's multiply-adds)
 *   S[4t + j] = (A^T M)_j:  M0 + M1 + M2 + M3 + M4,  M1 - M2 + 2 (M3 - M4),  M1 + M2 + 4 (M3 + M4),
 *               M1 - M2 + 8 (M3 - M4) + M5
 * The scatter (din of a conv) runs the transposed chain: dM = A dS, dU_i = dM_i Wt_i, G += B dU (overlapping
 * tiles summed); the weight gradient is dWt_i = dM_i^T U_i summed over tiles, then dW = G^T dWt.
 *
 * Layout: U and M keep one row per tile (of every sample of a chunk of the batch) and one column per channel,
 * so that the transforms run across channels on contiguous vectors. A sample's rows [c, l] are transposed into
 * a [l, c] block first (and back after), in cache. The transforms run in parallel over samples; each GEMM spans
 * the whole chunk; the threads share out the six GEMMs of a phase (split further only beyond six threads), each
 * running single-threaded: pdiff's own AVX-512 kernel where the CPU has it (cpu_gemm512.h: 1.5x OpenBLAS's AVX2
 * kernels and 1.05-1.1x its AVX-512 ones on these shapes), else OpenBLAS. Every sum runs in a fixed order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_conv1d.h"
#include "cpu_gemm512.h"
#include "cpu_normact.h"
#include "cpu_simd.h"
#include "cpu_tr16.h"

/* Floats of U and M of one chunk of the batch. */
#define CPU_WINO_FLOATS (1 << 21)
#define CPU_WINO_N 6 /* transform size: 4 outputs + 3 - 1 */

/* Floats of the transformed weights Wt [6, cs, cg]. */
static int64_t cpu_wino_wt_floats(const cpu_conv1d_geom *g)
{
    return CPU_WINO_N * (int64_t)g->cs * g->cg;
}

/* Floats of one plane of Wt packed for the gather's GEMM (M_i = U_i Wt_i^T on pdiff's own kernel), 0 on CPUs
 * without it. Prepared weights (cpu_conv1d_wino_pack) hold them after Wt, so that a sampler's thousand forwards
 * do not pack the same weights a thousand times. They depend on the CPU only, not on PDIFF_GEMM, which the tests
 * change between preparing weights and using them: under PDIFF_GEMM=blas they are prepared and left unused. */
static int64_t cpu_wino_gb_floats(const cpu_conv1d_geom *g)
{
    return cpu_gemm512_available() ? cpu_gemm512_packed_floats(g->cs, g->cg) : 0;
}

/* The packed planes inside prepared weights wt (64-byte aligned after Wt), or NULL when there are none. */
static float *cpu_wino_gb_at(const cpu_conv1d_geom *g, const float *wt)
{
    if (!wt || cpu_wino_gb_floats(g) == 0)
        return NULL;
    uintptr_t at = (uintptr_t)(wt + cpu_wino_wt_floats(g));
    return (float *)((at + 63) & ~(uintptr_t)63);
}

int64_t cpu_conv1d_wino_pack_floats(const cpu_conv1d_geom *g)
{
    int64_t gb = cpu_wino_gb_floats(g);
    return cpu_wino_wt_floats(g) + (gb ? 16 + CPU_WINO_N * gb : 0);
}

typedef struct {
    const cpu_conv1d_geom *g;
    float *wt;       /* pack: [6, cs, cg] */
    const float *w;  /* pack: [cs, cg, 3] */
} cpu_wino_pack_job;

static void cpu_wino_pack_task(void *ctx, int64_t a, int thread)
{
    (void)thread;
    const cpu_wino_pack_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    int64_t cw = (int64_t)g->cs * g->cg;
    for (int32_t c = 0; c < g->cg; c++) {
        const float *x = jb->w + (a * g->cg + c) * 3;
        float *o = jb->wt + a * g->cg + c;
        float g0 = x[0], g1 = x[1], g2 = x[2];
        float e = g0 + g2, f = g0 * (1.0f / 24.0f) + g2 * (1.0f / 6.0f);
        o[0] = g0 * 0.25f;
        o[cw] = -(e + g1) * (1.0f / 6.0f);
        o[2 * cw] = -(e - g1) * (1.0f / 6.0f);
        o[3 * cw] = f + g1 * (1.0f / 12.0f);
        o[4 * cw] = f - g1 * (1.0f / 12.0f);
        o[5 * cw] = g2;
    }
}

/* Plane i of Wt into its GEMM packing (B of M_i = U_i Wt_i^T: Wt_i is [cs, cg], transposed). */
static void cpu_wino_gb_task(void *ctx, int64_t i, int thread)
{
    (void)thread;
    const cpu_wino_pack_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    cpu_gemm512_pack(1, g->cs, g->cg, jb->wt + i * g->cs * g->cg, g->cg,
                     cpu_wino_gb_at(g, jb->wt) + i * cpu_wino_gb_floats(g));
}

/* The weight preparations' tasks: on the calling thread for small weights, else on the backend's threads. */
static void cpu_wino_pack_for(pd_backend *be, cpu_wino_pack_job *jb, int64_t ntasks, pd_pool_fn fn)
{
    if ((int64_t)jb->g->cs * jb->g->cg < 16384) {
        for (int64_t t = 0; t < ntasks; t++)
            fn(jb, t, 0);
        return;
    }
    cpu_parallel_for(be, ntasks, fn, jb);
}

/* wt [6, cs, cg] = the transformed weights of w */
static void cpu_wino_transform(pd_backend *be, const cpu_conv1d_geom *g, float *wt, const float *w)
{
    cpu_wino_pack_job jb = {g, wt, w};
    cpu_wino_pack_for(be, &jb, g->cs, cpu_wino_pack_task);
}

void cpu_conv1d_wino_pack(pd_backend *be, const cpu_conv1d_geom *g, float *wt, const float *w)
{
    cpu_wino_transform(be, g, wt, w);
    cpu_wino_pack_job jb = {g, wt, w};
    if (cpu_wino_gb_at(g, wt))
        cpu_wino_pack_for(be, &jb, CPU_WINO_N, cpu_wino_gb_task);
}

/* ---- transforms (one sample; rows of the [l, c] blocks are channel vectors) ------------------------------ */

/* dst [cols, rows] (leading dimension ldd) = src [rows, cols] (leading dimension lds) transposed */
CPU_VEC static void cpu_wino_transpose(float *restrict dst, int64_t ldd, const float *restrict src, int64_t lds,
                                       int32_t rows, int32_t cols)
{
    for (int32_t r0 = 0; r0 < rows; r0 += 16) {
        int32_t r1 = r0 + 16 < rows ? r0 + 16 : rows;
        for (int32_t c = 0; c < cols; c++)
            for (int32_t r = r0; r < r1; r++)
                dst[c * ldd + r] = src[r * lds + c];
    }
}

/* U rows [T, cg] (plane stride us) from XT [4T + 2, cg], the sample's G rows transposed and zero-padded */
CPU_VEC static void cpu_wino_in_rows(float *restrict u, int64_t us, const float *restrict xt, int32_t cg, int32_t T)
{
    for (int32_t t = 0; t < T; t++) {
        const float *d0 = xt + (int64_t)4 * t * cg, *d1 = d0 + cg, *d2 = d1 + cg, *d3 = d2 + cg, *d4 = d3 + cg;
        const float *d5 = d4 + cg;
        float *u0 = u + (int64_t)t * cg, *u1 = u0 + us, *u2 = u1 + us, *u3 = u2 + us, *u4 = u3 + us, *u5 = u4 + us;
        for (int32_t c = 0; c < cg; c++) {
            float p = d4[c] - d2[c], q = d4[c] - 4.0f * d2[c], r = d3[c] - d1[c];
            u0[c] = 4.0f * d0[c] - 5.0f * d2[c] + d4[c];
            u1[c] = q - 4.0f * d1[c] + d3[c];
            u2[c] = q + 4.0f * d1[c] - d3[c];
            u3[c] = p + 2.0f * r;
            u4[c] = p - 2.0f * r;
            u5[c] = 4.0f * d1[c] - 5.0f * d3[c] + d5[c];
        }
    }
}

/* M rows [T, cs] (plane stride ms) = A dS from ST [4T, cs], the sample's S rows transposed, zero beyond ls */
CPU_VEC static void cpu_wino_grad_rows(float *restrict m, int64_t ms, const float *restrict st, int32_t cs, int32_t T)
{
    for (int32_t t = 0; t < T; t++) {
        const float *y0 = st + (int64_t)4 * t * cs, *y1 = y0 + cs, *y2 = y1 + cs, *y3 = y2 + cs;
        float *m0 = m + (int64_t)t * cs, *m1 = m0 + ms, *m2 = m1 + ms, *m3 = m2 + ms, *m4 = m3 + ms, *m5 = m4 + ms;
        for (int32_t a = 0; a < cs; a++) {
            float e = y0[a] + y2[a], f = y1[a] + y3[a], h = y0[a] + 4.0f * y2[a], k = 2.0f * y1[a] + 8.0f * y3[a];
            m0[a] = y0[a];
            m1[a] = e + f;
            m2[a] = e - f;
            m3[a] = h + k;
            m4[a] = h - k;
            m5[a] = y3[a];
        }
    }
}

/* YT [4T, cs] = A^T M from M rows [T, cs] (plane stride ms) */
CPU_VEC static void cpu_wino_out_rows(float *restrict yt, const float *restrict m, int64_t ms, int32_t cs, int32_t T)
{
    for (int32_t t = 0; t < T; t++) {
        const float *m0 = m + (int64_t)t * cs, *m1 = m0 + ms, *m2 = m1 + ms, *m3 = m2 + ms, *m4 = m3 + ms;
        const float *m5 = m4 + ms;
        float *y0 = yt + (int64_t)4 * t * cs, *y1 = y0 + cs, *y2 = y1 + cs, *y3 = y2 + cs;
        for (int32_t a = 0; a < cs; a++) {
            float s12 = m1[a] + m2[a], d12 = m1[a] - m2[a], s34 = m3[a] + m4[a], d34 = m3[a] - m4[a];
            y0[a] = (m0[a] + s12) + s34;
            y1[a] = d12 + 2.0f * d34;
            y2[a] = s12 + 4.0f * s34;
            y3[a] = (d12 + 8.0f * d34) + m5[a];
        }
    }
}

/* ZT [4T + 2, cg] = B dU from dU rows [T, cg] (plane stride us), overlapping tiles summed */
CPU_VEC static void cpu_wino_back_rows(float *restrict zt, const float *restrict u, int64_t us, int32_t cg, int32_t T)
{
    memset(zt, 0, (size_t)2 * cg * sizeof(float));
    for (int32_t t = 0; t < T; t++) {
        const float *e0 = u + (int64_t)t * cg, *e1 = e0 + us, *e2 = e1 + us, *e3 = e2 + us, *e4 = e3 + us;
        const float *e5 = e4 + us;
        float *z0 = zt + (int64_t)4 * t * cg, *z1 = z0 + cg, *z2 = z1 + cg, *z3 = z2 + cg, *z4 = z3 + cg;
        float *z5 = z4 + cg;
        for (int32_t c = 0; c < cg; c++) {
            float s12 = e1[c] + e2[c], d12 = e2[c] - e1[c], s34 = e3[c] + e4[c], d34 = e4[c] - e3[c];
            z0[c] += 4.0f * e0[c];
            z1[c] += 4.0f * (d12 + e5[c]) + 2.0f * d34;
            z2[c] = -5.0f * e0[c] - 4.0f * s12 - s34;
            z3[c] = -d12 - 2.0f * d34 - 5.0f * e5[c];
            z4[c] = (e0[c] + s12) + s34;
            z5[c] = e5[c];
        }
    }
}

/* y [rows, len] = (acc ? y : bias [rows]) + xt [len, rows] transposed (bias may be NULL) */
CPU_VEC static void cpu_wino_store(float *restrict y, const float *restrict xt, int32_t rows, int32_t len,
                                   const float *bias, int acc)
{
    for (int32_t r0 = 0; r0 < rows; r0 += 16) {
        int32_t r1 = r0 + 16 < rows ? r0 + 16 : rows;
        for (int32_t r = r0; r < r1; r++) {
            float *yr = y + (int64_t)r * len;
            if (acc) {
                for (int32_t j = 0; j < len; j++)
                    yr[j] += xt[(int64_t)j * rows + r];
            } else {
                float v = bias ? bias[r] : 0.0f;
                for (int32_t j = 0; j < len; j++)
                    yr[j] = xt[(int64_t)j * rows + r] + v;
            }
        }
    }
}

/* ---- short rows with AVX-512: the transposes in registers ---------------------------------------------------
 * Rows of at most 16 positions (the UNet's) go 16 channels at a time: their rows transposed in registers into
 * one vector per position, the transform of cpu_wino_in_rows / cpu_wino_out_rows on those vectors (the same
 * expressions, so the same values), and the results stored directly. */

#if defined(CPU_TR16)
#define CPU_WINO_PMAX 20 /* positions of the zero-padded row: 4 T + 2 <= 18, pad + lg <= 18 */

/* rows [n, len] (row stride len) = (acc ? rows : bias) + r [j] (lane i: row i, position j) transposed, as
 * cpu_wino_store; bias may be NULL */
CPU_TR16_FN static inline __attribute__((always_inline)) void cpu_wino_store_16(float *y, __m512 r[16], int n,
                                                                               int32_t len, const float *bias,
                                                                               int acc)
{
    __mmask16 ml = cpu_tr16_rows(r, len);
    for (int i = 0; i < n; i++) {
        float *d = y + (int64_t)i * len;
        __m512 v = r[i];
        if (acc)
            v = _mm512_maskz_loadu_ps(ml, d) + v;
        else if (bias)
            v = v + _mm512_set1_ps(bias[i]);
        _mm512_mask_storeu_ps(d, ml, v);
    }
}

/* U rows [T, cg] (plane stride us) of one sample's G rows x [cg, lg] */
CPU_TR16_FN static void cpu_wino_in_16(float *restrict u, int64_t us, const float *restrict x, int32_t cg, int32_t lg,
                                       int32_t pad, int32_t T)
{
    for (int32_t c0 = 0; c0 < cg; c0 += 16) {
        int nc = cg - c0 < 16 ? cg - c0 : 16;
        __mmask16 mk = cpu_tr16_mask(nc);
        __m512 r[16], d[CPU_WINO_PMAX];
        cpu_tr16_load(r, x + (int64_t)c0 * lg, lg, nc, lg);
        for (int p = 0; p < CPU_WINO_PMAX; p++)
            d[p] = p >= pad && p < pad + lg ? r[p - pad] : _mm512_setzero_ps();
        for (int32_t t = 0; t < T; t++) {
            __m512 d0 = d[4 * t], d1 = d[4 * t + 1], d2 = d[4 * t + 2], d3 = d[4 * t + 3], d4 = d[4 * t + 4];
            __m512 d5 = d[4 * t + 5];
            __m512 p = d4 - d2, q = d4 - 4.0f * d2, rr = d3 - d1;
            float *u0 = u + (int64_t)t * cg + c0;
            _mm512_mask_storeu_ps(u0, mk, 4.0f * d0 - 5.0f * d2 + d4);
            _mm512_mask_storeu_ps(u0 + us, mk, q - 4.0f * d1 + d3);
            _mm512_mask_storeu_ps(u0 + 2 * us, mk, q + 4.0f * d1 - d3);
            _mm512_mask_storeu_ps(u0 + 3 * us, mk, p + 2.0f * rr);
            _mm512_mask_storeu_ps(u0 + 4 * us, mk, p - 2.0f * rr);
            _mm512_mask_storeu_ps(u0 + 5 * us, mk, 4.0f * d1 - 5.0f * d3 + d5);
        }
    }
}

/* r [4 t + j] = position 4 t + j of A^T M for the 16 channels of m (M rows [T, .] with row stride cs, plane
 * stride ms; lanes past mk zero) */
CPU_TR16_FN static inline __attribute__((always_inline)) void cpu_wino_out_tiles_16(__m512 r[16], const float *m,
                                                                                   int64_t ms, int32_t cs, int32_t T,
                                                                                   __mmask16 mk)
{
    for (int32_t t = 0; t < T; t++) {
        const float *p = m + (int64_t)t * cs;
        __m512 m0 = _mm512_maskz_loadu_ps(mk, p), m1 = _mm512_maskz_loadu_ps(mk, p + ms);
        __m512 m2 = _mm512_maskz_loadu_ps(mk, p + 2 * ms), m3 = _mm512_maskz_loadu_ps(mk, p + 3 * ms);
        __m512 m4 = _mm512_maskz_loadu_ps(mk, p + 4 * ms), m5 = _mm512_maskz_loadu_ps(mk, p + 5 * ms);
        __m512 s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
        r[4 * t] = (m0 + s12) + s34;
        r[4 * t + 1] = d12 + 2.0f * d34;
        r[4 * t + 2] = s12 + 4.0f * s34;
        r[4 * t + 3] = (d12 + 8.0f * d34) + m5;
    }
}

/* y [cs, ls] = (acc ? y : bias) + A^T M from one sample's M rows [T, cs] (plane stride ms); bias may be NULL */
CPU_TR16_FN static void cpu_wino_out_16(float *restrict y, const float *restrict m, int64_t ms, int32_t cs, int32_t ls,
                                        int32_t T, const float *bias, int acc)
{
    for (int32_t a0 = 0; a0 < cs; a0 += 16) {
        int na = cs - a0 < 16 ? cs - a0 : 16;
        __m512 r[16];
        for (int j = 0; j < 16; j++)
            r[j] = _mm512_setzero_ps();
        cpu_wino_out_tiles_16(r, m + a0, ms, cs, T, cpu_tr16_mask(na));
        cpu_wino_store_16(y + (int64_t)a0 * ls, r, na, ls, bias ? bias + a0 : NULL, acc);
    }
}

/* cpu_wino_out_16 (acc 0) into y (NULL: not stored), then norm_act_forward of those rows into ny [cs, ls], mean
 * and rstd [cs]: per channel lane, the operations of cpu_normact_fwd_group_16 in the same order */
CPU_TR16_FN static void cpu_wino_out_norm_16(float *restrict y, float *restrict ny, float *mean, float *rstd,
                                             const float *restrict m, int64_t ms, int32_t cs, int32_t ls, int32_t T,
                                             const float *bias, int lead, float slope, float eps)
{
    for (int32_t a0 = 0; a0 < cs; a0 += 16) {
        int na = cs - a0 < 16 ? cs - a0 : 16;
        __mmask16 mk = cpu_tr16_mask(na);
        __m512 r[16], c[16];
        for (int j = 0; j < 16; j++)
            r[j] = _mm512_setzero_ps();
        cpu_wino_out_tiles_16(r, m + a0, ms, cs, T, mk);
        __m512 bv = bias ? _mm512_maskz_loadu_ps(mk, bias + a0) : _mm512_setzero_ps();
        for (int32_t j = 0; j < ls; j++) {
            if (bias)
                r[j] = r[j] + bv;
            c[j] = r[j];
        }
        for (int32_t j = ls; j < 16; j++)
            c[j] = _mm512_setzero_ps();
        if (y)
            cpu_wino_store_16(y + (int64_t)a0 * ls, c, na, ls, NULL, 0);
        __m512 mv, rs;
        cpu_normact_lanes_16(r, ls, lead, slope, eps, &mv, &rs);
        cpu_wino_store_16(ny + (int64_t)a0 * ls, r, na, ls, NULL, 0);
        _mm512_mask_storeu_ps(mean + a0, mk, mv);
        _mm512_mask_storeu_ps(rstd + a0, mk, rs);
    }
}

/* M rows [T, cs] (plane stride ms) = A dS of one sample's S rows x [cs, ls] (cpu_wino_grad_rows' expressions) */
CPU_TR16_FN static void cpu_wino_grad_16(float *restrict m, int64_t ms, const float *restrict x, int32_t cs, int32_t ls,
                                         int32_t T)
{
    for (int32_t a0 = 0; a0 < cs; a0 += 16) {
        int na = cs - a0 < 16 ? cs - a0 : 16;
        __mmask16 mk = cpu_tr16_mask(na);
        __m512 r[16];
        cpu_tr16_load(r, x + (int64_t)a0 * ls, ls, na, ls); /* positions past ls are zero */
        for (int32_t t = 0; t < T; t++) {
            __m512 y0 = r[4 * t], y1 = r[4 * t + 1], y2 = r[4 * t + 2], y3 = r[4 * t + 3];
            __m512 e = y0 + y2, f = y1 + y3, h = y0 + 4.0f * y2, k = 2.0f * y1 + 8.0f * y3;
            float *m0 = m + (int64_t)t * cs + a0;
            _mm512_mask_storeu_ps(m0, mk, y0);
            _mm512_mask_storeu_ps(m0 + ms, mk, e + f);
            _mm512_mask_storeu_ps(m0 + 2 * ms, mk, e - f);
            _mm512_mask_storeu_ps(m0 + 3 * ms, mk, h + k);
            _mm512_mask_storeu_ps(m0 + 4 * ms, mk, h - k);
            _mm512_mask_storeu_ps(m0 + 5 * ms, mk, y3);
        }
    }
}

/* y [cg, lg] = (acc ? y : bias) + the positions pad .. pad + lg - 1 of B dU (overlapping tiles summed) from one
 * sample's dU rows [T, cg] (plane stride us) (cpu_wino_back_rows' expressions) */
CPU_TR16_FN static void cpu_wino_back_16(float *restrict y, const float *restrict u, int64_t us, int32_t cg, int32_t lg,
                                         int32_t pad, int32_t T, const float *bias, int acc)
{
    for (int32_t c0 = 0; c0 < cg; c0 += 16) {
        int nc = cg - c0 < 16 ? cg - c0 : 16;
        __mmask16 mk = cpu_tr16_mask(nc);
        __m512 z[CPU_WINO_PMAX], r[16];
        z[0] = z[1] = _mm512_setzero_ps();
        for (int32_t t = 0; t < T; t++) {
            const float *p = u + (int64_t)t * cg + c0;
            __m512 e0 = _mm512_maskz_loadu_ps(mk, p), e1 = _mm512_maskz_loadu_ps(mk, p + us);
            __m512 e2 = _mm512_maskz_loadu_ps(mk, p + 2 * us), e3 = _mm512_maskz_loadu_ps(mk, p + 3 * us);
            __m512 e4 = _mm512_maskz_loadu_ps(mk, p + 4 * us), e5 = _mm512_maskz_loadu_ps(mk, p + 5 * us);
            __m512 s12 = e1 + e2, d12 = e2 - e1, s34 = e3 + e4, d34 = e4 - e3;
            z[4 * t] = z[4 * t] + 4.0f * e0;
            z[4 * t + 1] = z[4 * t + 1] + (4.0f * (d12 + e5) + 2.0f * d34);
            z[4 * t + 2] = -5.0f * e0 - 4.0f * s12 - s34;
            z[4 * t + 3] = -d12 - 2.0f * d34 - 5.0f * e5;
            z[4 * t + 4] = (e0 + s12) + s34;
            z[4 * t + 5] = e5;
        }
        for (int j = 0; j < 16; j++)
            r[j] = j < lg ? z[pad + j] : _mm512_setzero_ps();
        cpu_wino_store_16(y + (int64_t)c0 * lg, r, nc, lg, bias ? bias + c0 : NULL, acc);
    }
}
#endif

/* ---- the plan ------------------------------------------------------------------------------------------ */

typedef struct {
    pd_backend *be;
    const cpu_conv1d_geom *g;
    float *s_out, *g_out;       /* outputs (at most one) [n, cs, ls] / [n, cg, lg] */
    const float *s_in, *g_in;   /* inputs [n, cs, ls] / [n, cg, lg] */
    const float *wt;            /* [6, cs, cg] */
    const float *gb;            /* the gather's planes of Wt packed for pdiff's GEMM (prepared weights), or NULL */
    const float *bias;          /* of the output: [cs] or [cg]; may be NULL */
    float *dw;                  /* [cs, cg, 3] or NULL */
    float *dwt;                 /* [6, cs, cg]: dWt summed over the chunks */
    float *u, *m;               /* the chunk's U [6, ncol, cg] and M [6, ncol, cs] (ncol = nb T) */
    int64_t total0;             /* floats of thread 0's scratch (the shared buffers, then its sample buffer) */
    int64_t blk;                /* floats of a thread's sample buffer */
    int32_t c0, nb;             /* the chunk: first sample, samples */
    int32_t tiles, ntasks, nsplit;
    int acc, first;             /* first: the chunk starts dWt (beta 0) */
    int r16;                    /* rows of at most 16 positions on AVX-512: the cpu_wino_*_16 transforms */
    float *nout, *mean, *rstd;  /* cpu_conv1d_wino_norm_act: the norm_act of s_out (nout non-NULL) */
    int lead;
    float slope, eps;
} cpu_wino_plan;

/* A thread's sample buffer: [4T + 2, max(cs, cg)] for one transposed sample block. */
static float *cpu_wino_buf(const cpu_wino_plan *pl, int thread)
{
    float *w = thread ? cpu_scratch(pl->be, thread, (size_t)pl->blk * sizeof(float))
                      : cpu_scratch(pl->be, 0, (size_t)pl->total0 * sizeof(float));
    return w + (thread ? 0 : pl->total0 - pl->blk);
}

/* Phase 1, a block of the chunk's samples: U from G and M from S as the requested results need them. */
static void cpu_wino_in_task(void *ctx, int64_t task, int thread)
{
    const cpu_wino_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int32_t T = pl->tiles, b0 = (int32_t)(task * pl->nb / pl->ntasks), b1 = (int32_t)((task + 1) * pl->nb / pl->ntasks);
    float *buf = cpu_wino_buf(pl, thread);
    int64_t ncol = (int64_t)pl->nb * T;
#if defined(CPU_TR16)
    if (pl->g_in && pl->r16) {
        for (int32_t b = b0; b < b1; b++)
            cpu_wino_in_16(pl->u + (int64_t)b * T * g->cg, ncol * g->cg,
                           pl->g_in + ((int64_t)pl->c0 + b) * g->cg * g->lg, g->cg, g->lg, g->pad, T);
    } else
#endif
    if (pl->g_in) {
        int64_t rows = 4 * (int64_t)T + 2, cg = g->cg;
        memset(buf, 0, (size_t)(rows * cg) * sizeof(float)); /* the zero margins stay */
        for (int32_t b = b0; b < b1; b++) {
            const float *x = pl->g_in + ((int64_t)pl->c0 + b) * cg * g->lg;
            cpu_wino_transpose(buf + g->pad * cg, cg, x, g->lg, g->cg, g->lg);
            cpu_wino_in_rows(pl->u + (int64_t)b * T * cg, ncol * cg, buf, g->cg, T);
        }
    }
#if defined(CPU_TR16)
    if (pl->s_in && pl->r16) {
        for (int32_t b = b0; b < b1; b++)
            cpu_wino_grad_16(pl->m + (int64_t)b * T * g->cs, ncol * g->cs,
                             pl->s_in + ((int64_t)pl->c0 + b) * g->cs * g->ls, g->cs, g->ls, T);
    } else
#endif
    if (pl->s_in) {
        int64_t cs = g->cs;
        memset(buf, 0, (size_t)(4 * T * cs) * sizeof(float)); /* the zero tail stays */
        for (int32_t b = b0; b < b1; b++) {
            const float *x = pl->s_in + ((int64_t)pl->c0 + b) * cs * g->ls;
            cpu_wino_transpose(buf, cs, x, g->ls, g->cs, g->ls);
            cpu_wino_grad_rows(pl->m + (int64_t)b * T * cs, ncol * cs, buf, g->cs, T);
        }
    }
}

/* Phase 4, a block of the chunk's samples: S from M or G from dU. */
static void cpu_wino_out_task(void *ctx, int64_t task, int thread)
{
    const cpu_wino_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int32_t T = pl->tiles, b0 = (int32_t)(task * pl->nb / pl->ntasks), b1 = (int32_t)((task + 1) * pl->nb / pl->ntasks);
    float *buf = cpu_wino_buf(pl, thread);
    int64_t ncol = (int64_t)pl->nb * T;
    for (int32_t b = b0; b < b1; b++) {
        int64_t s = (int64_t)pl->c0 + b;
#if defined(CPU_TR16)
        if (pl->nout) {
            cpu_wino_out_norm_16(pl->s_out ? pl->s_out + s * g->cs * g->ls : NULL, pl->nout + s * g->cs * g->ls,
                                 pl->mean + s * g->cs, pl->rstd + s * g->cs, pl->m + (int64_t)b * T * g->cs,
                                 ncol * g->cs, g->cs, g->ls, T, pl->bias, pl->lead, pl->slope, pl->eps);
            continue;
        }
        if (pl->s_out && pl->r16) {
            cpu_wino_out_16(pl->s_out + s * g->cs * g->ls, pl->m + (int64_t)b * T * g->cs, ncol * g->cs, g->cs, g->ls,
                            T, pl->bias, pl->acc);
            continue;
        }
        if (pl->g_out && pl->r16) {
            cpu_wino_back_16(pl->g_out + s * g->cg * g->lg, pl->u + (int64_t)b * T * g->cg, ncol * g->cg, g->cg, g->lg,
                             g->pad, T, pl->bias, pl->acc);
            continue;
        }
#endif
        if (pl->s_out) {
            cpu_wino_out_rows(buf, pl->m + (int64_t)b * T * g->cs, ncol * g->cs, g->cs, T);
            cpu_wino_store(pl->s_out + s * g->cs * g->ls, buf, g->cs, g->ls, pl->bias, pl->acc);
        } else {
            cpu_wino_back_rows(buf, pl->u + (int64_t)b * T * g->cg, ncol * g->cg, g->cg, T);
            cpu_wino_store(pl->g_out + s * g->cg * g->lg, buf + (int64_t)g->pad * g->cg, g->cg, g->lg, pl->bias,
                           pl->acc);
        }
    }
}

/* Task `task` of the GEMM phases: plane i and rows [*r0, *r1) of nsplit blocks over `rows` (multiples of 16
 * but the last). */
static int cpu_wino_rows(const cpu_wino_plan *pl, int64_t task, int32_t rows, int32_t *r0, int32_t *r1)
{
    int64_t part = task % pl->nsplit;
    int32_t units = (rows + 15) / 16;
    *r0 = (int32_t)(part * units / pl->nsplit) * 16;
    *r1 = (int32_t)((part + 1) * units / pl->nsplit) * 16;
    *r0 = *r0 < rows ? *r0 : rows;
    *r1 = *r1 < rows ? *r1 : rows;
    return (int)(task / pl->nsplit);
}

/* Phase 2, plane i (a block of its short channels): dWt_i (+)= M_i^T U_i. */
static void cpu_wino_wgrad_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_wino_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int32_t a0, a1, ncol = pl->nb * pl->tiles;
    int i = cpu_wino_rows(pl, task, g->cs, &a0, &a1);
    int64_t cw = (int64_t)g->cs * g->cg, us = (int64_t)ncol * g->cg, ms = (int64_t)ncol * g->cs;
    if (a1 > a0)
        cpu_gemm_hot(1, 1, 0, a1 - a0, g->cg, ncol, 1.0f, pl->m + i * ms + a0, g->cs, pl->u + i * us, g->cg,
                     pl->first ? 0.0f : 1.0f, pl->dwt + i * cw + (int64_t)a0 * g->cg, g->cg);
}

/* Phase 3, plane i (a block of its tiles): M_i = U_i Wt_i^T (gather) or dU_i = M_i Wt_i (scatter). */
static void cpu_wino_gemm_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_wino_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int32_t r0, r1, ncol = pl->nb * pl->tiles;
    int i = cpu_wino_rows(pl, task, ncol, &r0, &r1);
    int64_t cw = (int64_t)g->cs * g->cg, us = (int64_t)ncol * g->cg, ms = (int64_t)ncol * g->cs;
    if (r1 > r0) {
        if (!pl->g_out) { /* the gather */
            const float *u = pl->u + i * us + (int64_t)r0 * g->cg;
            float *m = pl->m + i * ms + (int64_t)r0 * g->cs;
            if (!pl->gb || !cpu_gemm512_packed(0, r1 - r0, g->cs, g->cg, 1.0f, u, g->cg,
                                               pl->gb + i * cpu_wino_gb_floats(g), 0.0f, m, g->cs))
                cpu_gemm_hot(1, 0, 1, r1 - r0, g->cs, g->cg, 1.0f, u, g->cg, pl->wt + i * cw, g->cg, 0.0f, m, g->cs);
        } else
            cpu_gemm_hot(1, 0, 0, r1 - r0, g->cg, g->cs, 1.0f, pl->m + i * ms + (int64_t)r0 * g->cs, g->cs,
                         pl->wt + i * cw, g->cg, 0.0f, pl->u + i * us + (int64_t)r0 * g->cg, g->cg);
    }
}

/* Phase 5, short channel a: dw [a, :, :] += G^T dWt. */
static void cpu_wino_dw_task(void *ctx, int64_t a, int thread)
{
    (void)thread;
    const cpu_wino_plan *pl = ctx;
    const cpu_conv1d_geom *g = pl->g;
    int64_t cw = (int64_t)g->cs * g->cg;
    const float *p = pl->dwt + a * g->cg;
    float *o = pl->dw + a * g->cg * 3; /* [cg, 3] */
    for (int32_t c = 0; c < g->cg; c++) {
        float e0 = p[c], e1 = p[cw + c], e2 = p[2 * cw + c], e3 = p[3 * cw + c], e4 = p[4 * cw + c];
        float e5 = p[5 * cw + c];
        float s12 = (e1 + e2) * (1.0f / 6.0f), s34 = e3 + e4;
        o[3 * c] += (0.25f * e0 - s12) + s34 * (1.0f / 24.0f);
        o[3 * c + 1] += (e2 - e1) * (1.0f / 6.0f) + (e3 - e4) * (1.0f / 12.0f);
        o[3 * c + 2] += (s34 * (1.0f / 6.0f) - s12) + e5;
    }
}

/* The batch goes in chunks of at most CPU_WINO_FLOATS floats of U and M. Per chunk: the input transforms,
 * parallel over samples; the weight gradient's six GEMMs, then the other six, parallel over the planes; the
 * output transforms, parallel over samples. dWt is summed over the chunks and turned into dw at the end. */
static int cpu_wino_r16(const cpu_conv1d_geom *g)
{
#if defined(CPU_TR16)
    return g->ls <= 16 && g->lg <= 16 && g->pad <= 2 && cpu_has_avx512();
#else
    (void)g;
    return 0;
#endif
}

static void cpu_wino_run(cpu_wino_plan *plan, const float *w, const float *wt)
{
    cpu_wino_plan pl = *plan;
    pd_backend *be = pl.be;
    const cpu_conv1d_geom *g = pl.g;
    float *dw = pl.dw;
    int fwd = pl.s_out || pl.g_out || pl.nout;
    pl.tiles = (g->ls + 3) / 4;
    pl.r16 = cpu_wino_r16(g);
    int64_t per = CPU_WINO_N * ((int64_t)g->cg + g->cs) * pl.tiles;
    int64_t nb = CPU_WINO_FLOATS / per;
    nb = nb < 1 ? 1 : (nb > g->n ? g->n : nb);
    int32_t nchunks = (int32_t)((g->n + nb - 1) / nb);
    nb = (g->n + nchunks - 1) / nchunks; /* equal chunks */
    int64_t pw = cpu_wino_wt_floats(g), nwt = wt || !fwd ? 0 : pw;
    pl.gb = cpu_gemm_mode() == 1 ? NULL : cpu_wino_gb_at(g, wt); /* NULL unless wt is prepared weights */
    int64_t ndwt = dw ? pw : 0;
    pl.blk = (4 * (int64_t)pl.tiles + 2) * (g->cs > g->cg ? g->cs : g->cg);
    pl.total0 = nwt + ndwt + nb * per + pl.blk;
    float *shared = cpu_scratch(be, 0, (size_t)pl.total0 * sizeof(float));
    if (nwt) {
        cpu_wino_transform(be, g, shared, w);
        wt = shared;
    }
    pl.wt = wt;
    pl.dwt = dw ? shared + nwt : NULL;
    pl.u = shared + nwt + ndwt;
    for (int32_t c = 0; c < nchunks; c++) {
        pl.c0 = (int32_t)(c * nb);
        pl.nb = (int32_t)(g->n - pl.c0 < nb ? g->n - pl.c0 : nb);
        int32_t ncol = pl.nb * pl.tiles;
        pl.m = pl.u + CPU_WINO_N * (int64_t)ncol * g->cg;
        pl.first = c == 0;
        pl.ntasks = 4 * be->threads < pl.nb ? 4 * be->threads : pl.nb;
        cpu_parallel_for(be, pl.ntasks, cpu_wino_in_task, &pl);
        /* GEMM tasks: the six planes, each split into nsplit row blocks only beyond six threads */
        pl.nsplit = (be->threads + CPU_WINO_N - 1) / CPU_WINO_N;
        if (dw)
            cpu_parallel_for(be, CPU_WINO_N * pl.nsplit, cpu_wino_wgrad_task, &pl);
        if (fwd) {
            cpu_parallel_for(be, CPU_WINO_N * pl.nsplit, cpu_wino_gemm_task, &pl);
            cpu_parallel_for(be, pl.ntasks, cpu_wino_out_task, &pl);
        }
    }
    if (dw)
        cpu_parallel_for(be, g->cs, cpu_wino_dw_task, &pl);
}

void cpu_conv1d_wino_run(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                         const float *s_in, const float *g_in, const float *w, const float *wt, const float *bias,
                         int acc)
{
    cpu_wino_plan pl = {.be = be, .g = g, .s_out = s_out, .g_out = g_out, .s_in = s_in, .g_in = g_in,
                        .bias = bias, .dw = dw, .acc = acc};
    cpu_wino_run(&pl, w, wt);
}

int cpu_conv1d_wino_norm_act(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *nout, float *mean,
                             float *rstd, const float *g_in, const float *w, const float *wt, const float *bias,
                             int lead, float slope, float eps)
{
    if (!cpu_wino_r16(g))
        return 0;
    cpu_wino_plan pl = {.be = be, .g = g, .s_out = s_out, .g_in = g_in, .bias = bias, .nout = nout, .mean = mean,
                        .rstd = rstd, .lead = lead, .slope = slope, .eps = eps};
    if (g->n > 0)
        cpu_wino_run(&pl, w, wt);
    return 1;
}
