/* cpu_wgtile.c — the tile transforms of the Winograd path (see cpu_winograd.h, cpu_winograd.c), on vectors of
 * CPU_WG_LANES channels of channel-innermost buffers, for F(2x2, 3x3): 4x4 input tiles, 2x2 output tiles,
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1];
 * and, forward only, for F(4x4, 3x3): 6x6 input tiles, 4x4 output tiles, the matrices of the 1-D F(4, 3) of
 * cpu_conv1d_wino.c (points 0, +-1, +-2). Every 2-D transform is the 1-D one down the columns, then along the
 * rows. F(4x4, 3x3) does 36 products per 16 outputs (F(2x2, 3x3): 64) but its float32 error is 2-5e-6 relative
 * against 2e-7, enough to make ResNet's golden training drift past its tolerances: it serves inference only
 * (cpu_wg_hooks.fast). The vector code is compiled twice (AVX-512 and baseline) and picked at load time; both
 * compute the same lane-wise sums, bit for bit. */
#include "cpu_winograd.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(PD_NO_AVX512)
#define WG_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define WG_CLONES
#endif

#define WG_L CPU_WG_LANES
typedef float wg_vu __attribute__((vector_size(4 * WG_L), aligned(4), may_alias));
#define WG_LD(p) (*(const wg_vu *)(p))
#define WG_ST(p, v) (*(wg_vu *)(p) = (v))

/* ---- transforms ---------------------------------------------------------------------------------------- */

/* u [16] (position e at u[e es]) <- G g G^T for one kernel g [3, 3] */
static void wg2_weight(const float *g, float *u, int64_t es)
{
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        t[0][j] = g0;
        t[1][j] = 0.5f * ((g0 + g1) + g2);
        t[2][j] = 0.5f * ((g0 - g1) + g2);
        t[3][j] = g2;
    }
    for (int i = 0; i < 4; i++) {
        float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        u[(4 * i + 0) * es] = g0;
        u[(4 * i + 1) * es] = 0.5f * ((g0 + g1) + g2);
        u[(4 * i + 2) * es] = 0.5f * ((g0 - g1) + g2);
        u[(4 * i + 3) * es] = g2;
    }
}

/* g [3, 3] += G^T du G for one kernel's transform-domain gradient du [16] (position e at du[e es]) */
static void wg2_weight_grad(const float *du, int64_t es, float *g)
{
    float t[3][4];
    for (int j = 0; j < 4; j++) {
        float d0 = du[j * es], d1 = du[(4 + j) * es], d2 = du[(8 + j) * es], d3 = du[(12 + j) * es];
        t[0][j] = d0 + 0.5f * (d1 + d2);
        t[1][j] = 0.5f * (d1 - d2);
        t[2][j] = 0.5f * (d1 + d2) + d3;
    }
    for (int i = 0; i < 3; i++) {
        float d0 = t[i][0], d1 = t[i][1], d2 = t[i][2], d3 = t[i][3];
        g[3 * i + 0] += d0 + 0.5f * (d1 + d2);
        g[3 * i + 1] += 0.5f * (d1 - d2);
        g[3 * i + 2] += 0.5f * (d1 + d2) + d3;
    }
}

/* v [16, tp, cp] (position e at v + e es) <- B^T d B of every tile of the padded plane x [hp, wp, cp] */
WG_CLONES static void wg2_in(const float *restrict x, int32_t wp, int32_t th, int32_t tw, int64_t cp,
                            float *restrict v, int64_t es)
{
    for (int32_t ty = 0; ty < th; ty++)
        for (int32_t tx = 0; tx < tw; tx++) {
            const float *d = x + ((int64_t)2 * ty * wp + 2 * tx) * cp;
            float *o = v + ((int64_t)ty * tw + tx) * cp;
            for (int64_t cb = 0; cb < cp; cb += WG_L) {
                wg_vu r[4][4];
                for (int j = 0; j < 4; j++) {
                    wg_vu d0 = WG_LD(d + j * cp + cb), d1 = WG_LD(d + (wp + j) * cp + cb);
                    wg_vu d2 = WG_LD(d + (2 * wp + j) * cp + cb), d3 = WG_LD(d + (3 * wp + j) * cp + cb);
                    r[0][j] = d0 - d2;
                    r[1][j] = d1 + d2;
                    r[2][j] = d2 - d1;
                    r[3][j] = d1 - d3;
                }
                for (int i = 0; i < 4; i++) {
                    WG_ST(o + (4 * i + 0) * es + cb, r[i][0] - r[i][2]);
                    WG_ST(o + (4 * i + 1) * es + cb, r[i][1] + r[i][2]);
                    WG_ST(o + (4 * i + 2) * es + cb, r[i][2] - r[i][1]);
                    WG_ST(o + (4 * i + 3) * es + cb, r[i][1] - r[i][3]);
                }
            }
        }
}

/* x [hp, wp, cp] += B dv B^T of every tile (the transpose of wg_in: overlapping tiles add up) */
WG_CLONES static void wg2_in_t(const float *restrict v, int64_t es, int32_t th, int32_t tw, int64_t cp,
                              float *restrict x, int32_t wp)
{
    for (int32_t ty = 0; ty < th; ty++)
        for (int32_t tx = 0; tx < tw; tx++) {
            const float *q = v + ((int64_t)ty * tw + tx) * cp;
            float *p = x + ((int64_t)2 * ty * wp + 2 * tx) * cp;
            for (int64_t cb = 0; cb < cp; cb += WG_L) {
                wg_vu h[4][4];
                for (int i = 0; i < 4; i++) {
                    wg_vu q0 = WG_LD(q + (4 * i + 0) * es + cb), q1 = WG_LD(q + (4 * i + 1) * es + cb);
                    wg_vu q2 = WG_LD(q + (4 * i + 2) * es + cb), q3 = WG_LD(q + (4 * i + 3) * es + cb);
                    h[i][0] = q0;
                    h[i][1] = (q1 - q2) + q3;
                    h[i][2] = (q1 + q2) - q0;
                    h[i][3] = -q3;
                }
                for (int j = 0; j < 4; j++) {
                    float *c0 = p + j * cp + cb, *c1 = c0 + wp * cp, *c2 = c1 + wp * cp, *c3 = c2 + wp * cp;
                    WG_ST(c0, WG_LD(c0) + h[0][j]);
                    WG_ST(c1, WG_LD(c1) + ((h[1][j] - h[2][j]) + h[3][j]));
                    WG_ST(c2, WG_LD(c2) + ((h[1][j] + h[2][j]) - h[0][j]));
                    WG_ST(c3, WG_LD(c3) - h[3][j]);
                }
            }
        }
}

/* y [2 th, 2 tw, cp] <- A^T M A of every tile; m: position e at m + e es, tile t at m + t cp */
WG_CLONES static void wg2_out(const float *restrict m, int64_t es, int32_t th, int32_t tw, int64_t cp,
                             float *restrict y)
{
    int64_t row = (int64_t)2 * tw * cp;
    for (int32_t ty = 0; ty < th; ty++)
        for (int32_t tx = 0; tx < tw; tx++) {
            const float *mt = m + ((int64_t)ty * tw + tx) * cp;
            float *yt = y + (int64_t)2 * ty * row + (int64_t)2 * tx * cp;
            for (int64_t cb = 0; cb < cp; cb += WG_L) {
                wg_vu s0[4], s1[4];
                for (int j = 0; j < 4; j++) {
                    wg_vu a = WG_LD(mt + j * es + cb), b = WG_LD(mt + (4 + j) * es + cb);
                    wg_vu c = WG_LD(mt + (8 + j) * es + cb), d = WG_LD(mt + (12 + j) * es + cb);
                    s0[j] = (a + b) + c;
                    s1[j] = (b - c) - d;
                }
                WG_ST(yt + cb, (s0[0] + s0[1]) + s0[2]);
                WG_ST(yt + cp + cb, (s0[1] - s0[2]) - s0[3]);
                WG_ST(yt + row + cb, (s1[0] + s1[1]) + s1[2]);
                WG_ST(yt + row + cp + cb, (s1[1] - s1[2]) - s1[3]);
            }
        }
}

/* z (position e at z + e es, tile t at z + t cp) <- A dY A^T of every tile of dy [2 th, 2 tw, cp] */
WG_CLONES static void wg2_grad(const float *restrict dy, int32_t th, int32_t tw, int64_t cp, float *restrict z,
                              int64_t es)
{
    int64_t row = (int64_t)2 * tw * cp;
    for (int32_t ty = 0; ty < th; ty++)
        for (int32_t tx = 0; tx < tw; tx++) {
            const float *d = dy + (int64_t)2 * ty * row + (int64_t)2 * tx * cp;
            float *o = z + ((int64_t)ty * tw + tx) * cp;
            for (int64_t cb = 0; cb < cp; cb += WG_L) {
                wg_vu a0 = WG_LD(d + cb), a1 = WG_LD(d + cp + cb), b0 = WG_LD(d + row + cb);
                wg_vu b1 = WG_LD(d + row + cp + cb);
                wg_vu c0[4] = {a0, a0 + b0, a0 - b0, -b0}, c1[4] = {a1, a1 + b1, a1 - b1, -b1};
                for (int i = 0; i < 4; i++) {
                    WG_ST(o + (4 * i + 0) * es + cb, c0[i]);
                    WG_ST(o + (4 * i + 1) * es + cb, c0[i] + c1[i]);
                    WG_ST(o + (4 * i + 2) * es + cb, c0[i] - c1[i]);
                    WG_ST(o + (4 * i + 3) * es + cb, -c1[i]);
                }
            }
        }
}

/* ---- F(4x4, 3x3), forward ----------------------------------------------------------------------------------- */

/* the 1-D F(4, 3) input transform of d0..d5 (cpu_wino_in_rows' expressions) */
#define WG4_IN(u, d0, d1, d2, d3, d4, d5)                                                                         \
    do {                                                                                                           \
        wg_vu p_ = (d4) - (d2), q_ = (d4) - 4.0f * (d2), r_ = (d3) - (d1);                                        \
        (u)[0] = 4.0f * (d0) - 5.0f * (d2) + (d4);                                                                 \
        (u)[1] = q_ - 4.0f * (d1) + (d3);                                                                          \
        (u)[2] = q_ + 4.0f * (d1) - (d3);                                                                          \
        (u)[3] = p_ + 2.0f * r_;                                                                                   \
        (u)[4] = p_ - 2.0f * r_;                                                                                   \
        (u)[5] = 4.0f * (d1) - 5.0f * (d3) + (d5);                                                                 \
    } while (0)

/* the 1-D F(4, 3) output transform of m0..m5 (cpu_wino_out_rows' expressions) */
#define WG4_OUT(y, m0, m1, m2, m3, m4, m5)                                                                        \
    do {                                                                                                           \
        wg_vu s12_ = (m1) + (m2), d12_ = (m1) - (m2), s34_ = (m3) + (m4), d34_ = (m3) - (m4);                      \
        (y)[0] = ((m0) + s12_) + s34_;                                                                             \
        (y)[1] = d12_ + 2.0f * d34_;                                                                               \
        (y)[2] = s12_ + 4.0f * s34_;                                                                               \
        (y)[3] = (d12_ + 8.0f * d34_) + (m5);                                                                      \
    } while (0)

/* u [36] (position e at u[e es]) <- G g G^T for one kernel g [3, 3] */
static void wg4_weight(const float *g, float *u, int64_t es)
{
    float t[6][3];
    for (int j = 0; j < 3; j++) {
        float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        float e = g0 + g2, f = g0 * (1.0f / 24.0f) + g2 * (1.0f / 6.0f);
        t[0][j] = g0 * 0.25f;
        t[1][j] = -(e + g1) * (1.0f / 6.0f);
        t[2][j] = -(e - g1) * (1.0f / 6.0f);
        t[3][j] = f + g1 * (1.0f / 12.0f);
        t[4][j] = f - g1 * (1.0f / 12.0f);
        t[5][j] = g2;
    }
    for (int i = 0; i < 6; i++) {
        float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        float e = g0 + g2, f = g0 * (1.0f / 24.0f) + g2 * (1.0f / 6.0f);
        u[(6 * i + 0) * es] = g0 * 0.25f;
        u[(6 * i + 1) * es] = -(e + g1) * (1.0f / 6.0f);
        u[(6 * i + 2) * es] = -(e - g1) * (1.0f / 6.0f);
        u[(6 * i + 3) * es] = f + g1 * (1.0f / 12.0f);
        u[(6 * i + 4) * es] = f - g1 * (1.0f / 12.0f);
        u[(6 * i + 5) * es] = g2;
    }
}

/* v [36, tp, cp] (position e at v + e es) <- B^T d B of every 6x6 tile (stride 4) of the padded plane x */
WG_CLONES static void wg4_in(const float *restrict x, int32_t wp, int32_t th, int32_t tw, int64_t cp,
                            float *restrict v, int64_t es)
{
    int64_t row = (int64_t)wp * cp;
    for (int32_t ty = 0; ty < th; ty++)
        for (int32_t tx = 0; tx < tw; tx++) {
            const float *d = x + ((int64_t)4 * ty * wp + 4 * tx) * cp;
            float *o = v + ((int64_t)ty * tw + tx) * cp;
            for (int64_t cb = 0; cb < cp; cb += WG_L) {
                wg_vu r[6][6], c[6];
                for (int j = 0; j < 6; j++) {
                    const float *q = d + j * cp + cb;
                    WG4_IN(c, WG_LD(q), WG_LD(q + row), WG_LD(q + 2 * row), WG_LD(q + 3 * row), WG_LD(q + 4 * row),
                           WG_LD(q + 5 * row));
                    for (int i = 0; i < 6; i++)
                        r[i][j] = c[i];
                }
                for (int i = 0; i < 6; i++) {
                    WG4_IN(c, r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], r[i][5]);
                    for (int k = 0; k < 6; k++)
                        WG_ST(o + (6 * i + k) * es + cb, c[k]);
                }
            }
        }
}

/* y [4 th, 4 tw, cp] <- A^T M A of every tile; m: position e at m + e es, tile t at m + t cp */
WG_CLONES static void wg4_out(const float *restrict m, int64_t es, int32_t th, int32_t tw, int64_t cp,
                             float *restrict y)
{
    int64_t row = (int64_t)4 * tw * cp;
    for (int32_t ty = 0; ty < th; ty++)
        for (int32_t tx = 0; tx < tw; tx++) {
            const float *mt = m + ((int64_t)ty * tw + tx) * cp;
            float *yt = y + (int64_t)4 * ty * row + (int64_t)4 * tx * cp;
            for (int64_t cb = 0; cb < cp; cb += WG_L) {
                wg_vu s[4][6], c[4];
                for (int j = 0; j < 6; j++) {
                    const float *q = mt + j * es + cb;
                    WG4_OUT(c, WG_LD(q), WG_LD(q + 6 * es), WG_LD(q + 12 * es), WG_LD(q + 18 * es),
                            WG_LD(q + 24 * es), WG_LD(q + 30 * es));
                    for (int i = 0; i < 4; i++)
                        s[i][j] = c[i];
                }
                for (int i = 0; i < 4; i++) {
                    WG4_OUT(c, s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5]);
                    for (int k = 0; k < 4; k++)
                        WG_ST(yt + i * row + k * cp + cb, c[k]);
                }
            }
        }
}

/* ---- entry points ---------------------------------------------------------------------------------------- */

void cpu_wg_weight(const float *g, float *u, int64_t es)
{
    wg2_weight(g, u, es);
}

void cpu_wg4_weight(const float *g, float *u, int64_t es)
{
    wg4_weight(g, u, es);
}

void cpu_wg4_in(const float *x, int32_t wp, int32_t th, int32_t tw, int64_t cp, float *v, int64_t es)
{
    wg4_in(x, wp, th, tw, cp, v, es);
}

void cpu_wg4_out(const float *mm, int64_t es, int32_t th, int32_t tw, int64_t cp, float *y)
{
    wg4_out(mm, es, th, tw, cp, y);
}

void cpu_wg_weight_grad(const float *du, int64_t es, float *g)
{
    wg2_weight_grad(du, es, g);
}

void cpu_wg_in(const float *x, int32_t wp, int32_t th, int32_t tw, int64_t cp, float *v, int64_t es)
{
    wg2_in(x, wp, th, tw, cp, v, es);
}

void cpu_wg_in_t(const float *v, int64_t es, int32_t th, int32_t tw, int64_t cp, float *x, int32_t wp)
{
    wg2_in_t(v, es, th, tw, cp, x, wp);
}

void cpu_wg_out(const float *mm, int64_t es, int32_t th, int32_t tw, int64_t cp, float *y)
{
    wg2_out(mm, es, th, tw, cp, y);
}

void cpu_wg_grad(const float *dy, int32_t th, int32_t tw, int64_t cp, float *z, int64_t es)
{
    wg2_grad(dy, th, tw, cp, z, es);
}

/* db [cout] += sum over t tiles of z5 [t, cp]: position (1, 1) of A dY A^T is the sum of the tile's four
 * output gradients */
WG_CLONES void cpu_wg_bias_grad(const float *restrict z5, int64_t t, int64_t cp, int32_t cout, double *db)
{
    for (int64_t cb = 0; cb < cp; cb += WG_L) {
        wg_vu s0 = {0}, s1 = {0};
        int64_t r = 0;
        for (; r + 2 <= t; r += 2) {
            s0 += WG_LD(z5 + r * cp + cb);
            s1 += WG_LD(z5 + (r + 1) * cp + cb);
        }
        if (r < t)
            s0 += WG_LD(z5 + r * cp + cb);
        s0 += s1;
        for (int l = 0; l < WG_L && cb + l < cout; l++)
            db[cb + l] += s0[l];
    }
}

