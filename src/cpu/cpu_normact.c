/* cpu_normact.c — "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" in one pass on the CPU backend
 * (norm_act_forward / norm_act_backward, contracts in backend.h).
 *
 * The AE and the UNet run this before every convolution. Rows of length l (rows = n c) are normalised on their
 * own. The block input s = in + table[t[b]] and u = LeakyReLU(s) are recomputed wherever they are needed (the
 * expressions of temb_forward and leakyrelu_forward, so the same values); the row reductions are those of
 * cpu_instnorm.c (eight float lanes, lane = index mod 8, combined pairwise) and the per-sample sums over
 * channels those of temb_backward (channels in order), so the results equal the chain of separate ops bit for
 * bit.
 * Short rows (the UNet's length 8 or 12) go in groups of CPU_NORMACT_R rows transposed into [l, R] blocks, so
 * that every step runs across rows on full vectors (with AVX-512, rows of at most 16 positions are transposed
 * in registers: cpu_normact_*_group_16); long rows run one by one.
 * Forward tasks are fixed blocks of rows; backward tasks too, or, when the embedding table's gradient is wanted,
 * fixed blocks of whole samples, so that one task sums a sample's channels in order. Results never depend on
 * which thread ran a task.
 */
#include <math.h>
#include <string.h>

#include "cpu_normact.h"
#include "cpu_ops.h"
#include "cpu_simd.h"
#include "cpu_tr16.h"

#define CPU_NORMACT_R 16    /* rows per group */
#define CPU_NORMACT_LMAX 32 /* rows up to this long go in groups */
#define CPU_NORMACT_BLOCK 256 /* long rows are walked in blocks of this many elements */
/* Elements per task. */
#define CPU_NORMACT_TASK_ELEMS 16384

typedef struct {
    float *out;                      /* forward: [n, c, l]; backward: din [n, c, l] (may be NULL) */
    const float *in;                 /* [n, c, l] */
    const float *dout;               /* backward: [n, c, l] */
    const float *table;              /* [T, l] or NULL */
    const int32_t *t;                /* [n] */
    float *mean_out, *rstd_out;      /* forward: [n c] */
    const float *mean_in, *rstd_in;  /* backward: [n c] */
    float *sums;                     /* backward: [n, l] per-sample sums of ds over channels (NULL: no dtable) */
    int64_t rows, per_task;
    int32_t c, l;
    int lead, acc;
    float slope, eps;
} cpu_normact_job;

static inline float cpu_normact_tree(const float a[8])
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* ---- short rows: a group of R rows as [l, R] blocks ---------------------------------------------------------- */

#if defined(__GNUC__) && !defined(__clang__)
#define CPU_NORMACT_SHUFFLE 1
typedef float cpu_normact_v4 __attribute__((vector_size(16)));
typedef int cpu_normact_i4 __attribute__((vector_size(16)));

/* columns c0..c3 of the 4 x 4 block with rows r0..r3 */
static inline __attribute__((always_inline)) void cpu_normact_tr4(cpu_normact_v4 *c, cpu_normact_v4 r0,
                                                                  cpu_normact_v4 r1, cpu_normact_v4 r2,
                                                                  cpu_normact_v4 r3)
{
    cpu_normact_v4 t0 = __builtin_shuffle(r0, r1, (cpu_normact_i4){0, 4, 1, 5});
    cpu_normact_v4 t1 = __builtin_shuffle(r0, r1, (cpu_normact_i4){2, 6, 3, 7});
    cpu_normact_v4 t2 = __builtin_shuffle(r2, r3, (cpu_normact_i4){0, 4, 1, 5});
    cpu_normact_v4 t3 = __builtin_shuffle(r2, r3, (cpu_normact_i4){2, 6, 3, 7});
    c[0] = __builtin_shuffle(t0, t2, (cpu_normact_i4){0, 1, 4, 5});
    c[1] = __builtin_shuffle(t0, t2, (cpu_normact_i4){2, 3, 6, 7});
    c[2] = __builtin_shuffle(t1, t3, (cpu_normact_i4){0, 1, 4, 5});
    c[3] = __builtin_shuffle(t1, t3, (cpu_normact_i4){2, 3, 6, 7});
}

static inline __attribute__((always_inline)) cpu_normact_v4 cpu_normact_ld4(const float *p)
{
    cpu_normact_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* T [l, R] = the rows x [R, l] (row stride l) transposed; lanes beyond R are zero */
static inline __attribute__((always_inline)) void cpu_normact_gather(float T[][CPU_NORMACT_R], const float *x, int R,
                                                                     int32_t l)
{
    int i0 = 0;
#ifdef CPU_NORMACT_SHUFFLE
    for (; i0 + 4 <= R; i0 += 4) {
        int32_t j = 0;
        for (; j + 4 <= l; j += 4) {
            cpu_normact_v4 c[4];
            const float *p = x + (int64_t)i0 * l + j;
            cpu_normact_tr4(c, cpu_normact_ld4(p), cpu_normact_ld4(p + l), cpu_normact_ld4(p + 2 * l),
                            cpu_normact_ld4(p + 3 * l));
            for (int k = 0; k < 4; k++)
                memcpy(&T[j + k][i0], &c[k], sizeof c[k]);
        }
        for (; j < l; j++)
            for (int i = i0; i < i0 + 4; i++)
                T[j][i] = x[(int64_t)i * l + j];
    }
#endif
    for (int i = i0; i < CPU_NORMACT_R; i++)
        for (int32_t j = 0; j < l; j++)
            T[j][i] = i < R ? x[(int64_t)i * l + j] : 0.0f;
}

/* D [R, l] (row stride l) = T [l, R] transposed */
static inline __attribute__((always_inline)) void cpu_normact_scatter(float *D, float T[][CPU_NORMACT_R], int R,
                                                                      int32_t l)
{
    int i0 = 0;
#ifdef CPU_NORMACT_SHUFFLE
    for (; i0 + 4 <= R; i0 += 4) {
        int32_t j = 0;
        for (; j + 4 <= l; j += 4) {
            cpu_normact_v4 c[4];
            cpu_normact_tr4(c, cpu_normact_ld4(&T[j][i0]), cpu_normact_ld4(&T[j + 1][i0]),
                            cpu_normact_ld4(&T[j + 2][i0]), cpu_normact_ld4(&T[j + 3][i0]));
            for (int k = 0; k < 4; k++)
                memcpy(D + (int64_t)(i0 + k) * l + j, &c[k], sizeof c[k]);
        }
        for (; j < l; j++)
            for (int i = i0; i < i0 + 4; i++)
                D[(int64_t)i * l + j] = T[j][i];
    }
#endif
    for (int i = i0; i < R; i++)
        for (int32_t j = 0; j < l; j++)
            D[(int64_t)i * l + j] = T[j][i];
}

/* S [l, R] = x + te (rows of x [R, l] and te rows te[i] [l], or none), U [l, R] = LeakyReLU(S) or S; lanes
 * beyond R are zero */
static inline __attribute__((always_inline)) void cpu_normact_load(float S[][CPU_NORMACT_R], float U[][CPU_NORMACT_R],
                                                                   const float *x, const float *const *te, int R,
                                                                   int32_t l, int lead, float slope)
{
    cpu_normact_gather(S, x, R, l);
    if (te) {
        int same = 1;
        for (int i = 1; i < R; i++)
            same &= te[i] == te[0];
        if (same) { /* the rows of one sample: one embedding row, broadcast (lanes beyond R stay zero) */
            const float *t0 = te[0];
            float tv[CPU_NORMACT_LMAX];
            memcpy(tv, t0, (size_t)l * sizeof(float));
            if (R == CPU_NORMACT_R)
                for (int32_t j = 0; j < l; j++)
                    for (int i = 0; i < CPU_NORMACT_R; i++)
                        S[j][i] = S[j][i] + tv[j];
            else
                for (int32_t j = 0; j < l; j++)
                    for (int i = 0; i < R; i++)
                        S[j][i] = S[j][i] + tv[j];
        } else {
            for (int i = 0; i < R; i++) {
                const float *ti = te[i];
                for (int32_t j = 0; j < l; j++)
                    S[j][i] = S[j][i] + ti[j];
            }
        }
    }
    for (int32_t j = 0; j < l; j++)
        for (int i = 0; i < CPU_NORMACT_R; i++) {
            float v = S[j][i];
            float pos = v > 0.0f ? v : 0.0f, neg = v > 0.0f ? 0.0f : v;
            U[j][i] = lead ? pos + slope * neg : v;
        }
}

/* Forward of R rows: y [R, l], mean and rstd [R]. */
static inline __attribute__((always_inline)) void cpu_normact_fwd_group_l(float *y, float *mean, float *rstd,
                                                                          const float *x, const float *const *te,
                                                                          int R, int32_t l, int lead, float slope,
                                                                          float eps)
{
    float S[CPU_NORMACT_LMAX][CPU_NORMACT_R], U[CPU_NORMACT_LMAX][CPU_NORMACT_R];
    float A[8][CPU_NORMACT_R], M[CPU_NORMACT_R], RS[CPU_NORMACT_R];
    cpu_normact_load(S, U, x, te, R, l, lead, slope);
    for (int q = 0; q < 8; q++)
        for (int i = 0; i < CPU_NORMACT_R; i++)
            A[q][i] = 0.0f;
    for (int32_t j = 0; j < l; j++)
        for (int i = 0; i < CPU_NORMACT_R; i++)
            A[j & 7][i] += U[j][i];
    for (int i = 0; i < CPU_NORMACT_R; i++)
        M[i] = (((A[0][i] + A[1][i]) + (A[2][i] + A[3][i])) + ((A[4][i] + A[5][i]) + (A[6][i] + A[7][i]))) / (float)l;
    for (int q = 0; q < 8; q++)
        for (int i = 0; i < CPU_NORMACT_R; i++)
            A[q][i] = 0.0f;
    for (int32_t j = 0; j < l; j++)
        for (int i = 0; i < CPU_NORMACT_R; i++) {
            float d = U[j][i] - M[i];
            A[j & 7][i] += d * d;
        }
    for (int i = 0; i < CPU_NORMACT_R; i++) {
        float var = (((A[0][i] + A[1][i]) + (A[2][i] + A[3][i])) + ((A[4][i] + A[5][i]) + (A[6][i] + A[7][i]))) / (float)l;
        RS[i] = 1.0f / sqrtf(var + eps);
    }
    for (int32_t j = 0; j < l; j++)
        for (int i = 0; i < CPU_NORMACT_R; i++)
            S[j][i] = (U[j][i] - M[i]) * RS[i];
    cpu_normact_scatter(y, S, R, l);
    for (int i = 0; i < R; i++) {
        mean[i] = M[i];
        rstd[i] = RS[i];
    }
}

/* Backward of R rows: dx [R, l] (NULL, =, or += with acc) = ds; sum[i] [l] += ds of row i (rows in order; sum
 * NULL or sum[i] NULL: not wanted). */
static inline __attribute__((always_inline)) void cpu_normact_bwd_group_l(float *dx, float *const *sum, const float *x,
                                                                          const float *const *te, const float *g,
                                                                          const float *mean, const float *rstd, int R,
                                                                          int32_t l, int lead, float slope, int acc)
{
    float S[CPU_NORMACT_LMAX][CPU_NORMACT_R], U[CPU_NORMACT_LMAX][CPU_NORMACT_R], G[CPU_NORMACT_LMAX][CPU_NORMACT_R];
    float A[8][CPU_NORMACT_R], B[8][CPU_NORMACT_R], M[CPU_NORMACT_R], RS[CPU_NORMACT_R];
    float MG[CPU_NORMACT_R], MGX[CPU_NORMACT_R], D[CPU_NORMACT_R * CPU_NORMACT_LMAX];
    cpu_normact_load(S, U, x, te, R, l, lead, slope);
    cpu_normact_gather(G, g, R, l);
    for (int i = 0; i < CPU_NORMACT_R; i++) {
        M[i] = i < R ? mean[i] : 0.0f;
        RS[i] = i < R ? rstd[i] : 0.0f;
    }
    for (int q = 0; q < 8; q++)
        for (int i = 0; i < CPU_NORMACT_R; i++)
            A[q][i] = B[q][i] = 0.0f;
    for (int32_t j = 0; j < l; j++)
        for (int i = 0; i < CPU_NORMACT_R; i++) {
            A[j & 7][i] += G[j][i];
            B[j & 7][i] += G[j][i] * ((U[j][i] - M[i]) * RS[i]);
        }
    for (int i = 0; i < CPU_NORMACT_R; i++) {
        MG[i] = (((A[0][i] + A[1][i]) + (A[2][i] + A[3][i])) + ((A[4][i] + A[5][i]) + (A[6][i] + A[7][i]))) / (float)l;
        MGX[i] = (((B[0][i] + B[1][i]) + (B[2][i] + B[3][i])) + ((B[4][i] + B[5][i]) + (B[6][i] + B[7][i]))) / (float)l;
    }
    for (int32_t j = 0; j < l; j++)
        for (int i = 0; i < CPU_NORMACT_R; i++) {
            float d = RS[i] * (G[j][i] - MG[i] - (U[j][i] - M[i]) * RS[i] * MGX[i]);
            float pos = S[j][i] > 0.0f ? d : 0.0f, neg = S[j][i] > 0.0f ? 0.0f : d;
            G[j][i] = lead ? pos + slope * neg : d;
        }
    if (dx && !acc && !sum) {
        cpu_normact_scatter(dx, G, R, l);
        return;
    }
    cpu_normact_scatter(D, G, R, l);
    for (int i = 0; i < R; i++) {
        const float *d = D + (int64_t)i * l;
        if (sum && sum[i])
            for (int32_t j = 0; j < l; j++)
                sum[i][j] += d[j];
        if (!dx)
            continue;
        float *dr = dx + (int64_t)i * l;
        if (acc)
            for (int32_t j = 0; j < l; j++)
                dr[j] += d[j];
        else
            memcpy(dr, d, (size_t)l * sizeof(float));
    }
}

#if defined(CPU_TR16)
/* cpu_normact_fwd_group_l for rows of at most 16 positions on AVX-512: the rows transposed in registers (one
 * vector per position, lane = row), the same operations in the same order, so the same values. */
/* s [j] = x + te at position j of the R rows x [R, l] (lanes: rows; te rows te[i] or none) */
CPU_TR16_FN static inline __attribute__((always_inline)) void cpu_normact_s_16(__m512 s[16], const float *x,
                                                                              const float *const *te, int R, int32_t l)
{
    __m512 e[16];
    cpu_tr16_load(s, x, l, R, l);
    if (!te)
        return;
    int same = 1;
    for (int i = 1; i < R; i++)
        same &= te[i] == te[0];
    if (same)
        for (int32_t j = 0; j < l; j++)
            e[j] = _mm512_set1_ps(te[0][j]);
    else {
        __mmask16 mk = cpu_tr16_mask(l);
        for (int i = 0; i < 16; i++)
            e[i] = i < R ? _mm512_maskz_loadu_ps(mk, te[i]) : _mm512_setzero_ps();
        cpu_tr16(e);
    }
    for (int32_t j = 0; j < l; j++)
        s[j] = s[j] + e[j];
}


CPU_TR16_FN static void cpu_normact_fwd_group_16(float *y, float *mean, float *rstd, const float *x,
                                                 const float *const *te, int R, int32_t l, int lead, float slope,
                                                 float eps)
{
    __m512 s[16], m, rs;
    cpu_normact_s_16(s, x, te, R, l);
    cpu_normact_lanes_16(s, l, lead, slope, eps, &m, &rs);
    __mmask16 ml = cpu_tr16_rows(s, l);
    for (int i = 0; i < R; i++)
        _mm512_mask_storeu_ps(y + (int64_t)i * l, ml, s[i]);
    __mmask16 mr = cpu_tr16_mask(R);
    _mm512_mask_storeu_ps(mean, mr, m);
    _mm512_mask_storeu_ps(rstd, mr, rs);
}
/* cpu_normact_bwd_group_l for rows of at most 16 positions on AVX-512, the same way */
CPU_TR16_FN static void cpu_normact_bwd_group_16(float *dx, float *const *sum, const float *x, const float *const *te,
                                                 const float *g, const float *mean, const float *rstd, int R,
                                                 int32_t l, int lead, float slope, int acc)
{
    __m512 s[16], u[16], d[16], a[8], b[8];
    cpu_normact_s_16(s, x, te, R, l);
    for (int32_t j = 0; j < l; j++)
        u[j] = s[j];
    if (lead)
        for (int32_t j = 0; j < l; j++)
            u[j] = cpu_normact_leaky_16(s[j], cpu_normact_pos_16(s[j]), slope);
    cpu_tr16_load(d, g, l, R, l);
    __mmask16 mr = cpu_tr16_mask(R);
    __m512 m = _mm512_maskz_loadu_ps(mr, mean), rs = _mm512_maskz_loadu_ps(mr, rstd), fl = _mm512_set1_ps((float)l);
    for (int q = 0; q < 8; q++)
        a[q] = b[q] = _mm512_setzero_ps();
    for (int32_t j = 0; j < l; j++) {
        a[j & 7] = a[j & 7] + d[j];
        b[j & 7] = b[j & 7] + d[j] * ((u[j] - m) * rs);
    }
    __m512 mg = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))) / fl;
    __m512 mgx = (((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]))) / fl;
    for (int32_t j = 0; j < l; j++) {
        __m512 v = rs * (d[j] - mg - (u[j] - m) * rs * mgx);
        if (lead)
            v = cpu_normact_leaky_16(v, cpu_normact_pos_16(s[j]), slope);
        d[j] = v;
    }
    for (int32_t j = l; j < 16; j++)
        d[j] = _mm512_setzero_ps();
    __mmask16 ml = cpu_tr16_rows(d, l);
    for (int i = 0; i < R; i++) { /* rows in order: the per-sample sums add them in order */
        if (sum && sum[i])
            _mm512_mask_storeu_ps(sum[i], ml, _mm512_maskz_loadu_ps(ml, sum[i]) + d[i]);
        if (dx) {
            float *o = dx + (int64_t)i * l;
            __m512 v = d[i];
            if (acc)
                v = _mm512_maskz_loadu_ps(ml, o) + v;
            _mm512_mask_storeu_ps(o, ml, v);
        }
    }
}
#endif

/* The group functions for any l, specialised for the UNet's usual lengths (constant l: unrolled loops). */
CPU_VEC static void cpu_normact_fwd_group(float *y, float *mean, float *rstd, const float *x, const float *const *te,
                                          int R, int32_t l, int lead, float slope, float eps)
{
    if (l == 12)
        cpu_normact_fwd_group_l(y, mean, rstd, x, te, R, 12, lead, slope, eps);
    else if (l == 8)
        cpu_normact_fwd_group_l(y, mean, rstd, x, te, R, 8, lead, slope, eps);
    else
        cpu_normact_fwd_group_l(y, mean, rstd, x, te, R, l, lead, slope, eps);
}

CPU_VEC static void cpu_normact_bwd_group(float *dx, float *const *sum, const float *x, const float *const *te,
                                          const float *g, const float *mean, const float *rstd, int R, int32_t l,
                                          int lead, float slope, int acc)
{
    if (l == 12)
        cpu_normact_bwd_group_l(dx, sum, x, te, g, mean, rstd, R, 12, lead, slope, acc);
    else if (l == 8)
        cpu_normact_bwd_group_l(dx, sum, x, te, g, mean, rstd, R, 8, lead, slope, acc);
    else
        cpu_normact_bwd_group_l(dx, sum, x, te, g, mean, rstd, R, l, lead, slope, acc);
}

/* ---- long rows, one by one ------------------------------------------------------------------------------- */

/* s and u of m positions of a row: s = x + te (into sb) or x itself without te; u = LeakyReLU(s) (into ub)
 * with lead, or s itself (ub may be x: each value is read before it is written). Nothing is copied that is
 * not computed. */
CPU_VEC static void cpu_normact_su(float *restrict sb, float *ub, const float *x, const float *restrict te,
                                   int32_t m, int lead, float slope, const float **s_out, const float **u_out)
{
    const float *s = x;
    if (te) {
        for (int32_t j = 0; j < m; j++)
            sb[j] = x[j] + te[j];
        s = sb;
    }
    *s_out = s;
    *u_out = s;
    if (!lead)
        return;
    for (int32_t j = 0; j < m; j++) {
        float v = s[j];
        float pos = v > 0.0f ? v : 0.0f, neg = v > 0.0f ? 0.0f : v;
        ub[j] = pos + slope * neg;
    }
    *u_out = ub;
}

/* acc[q] += x[j] for lane q = j mod 8 over x [m] (m a multiple of 8 but for the last block) */
static inline void cpu_normact_lanes(float acc[8], const float *x, int32_t m)
{
    int32_t j = 0;
    for (; j + 8 <= m; j += 8)
        for (int q = 0; q < 8; q++)
            acc[q] += x[j + q];
    for (int q = 0; j + q < m; q++)
        acc[q] += x[j + q];
}

/* One row forward: y [l] (may be x) and its mean and rstd. With te or lead, y holds u until the last pass;
 * otherwise u is x itself and is read there. */
CPU_VEC static void cpu_normact_fwd_row(float *y, float *mean_out, float *rstd_out, const float *x, const float *te,
                                        int32_t l, int lead, float slope, float eps)
{
    float a[8] = {0};
    const float *u = x;
    if (te || lead) {
        float sb[CPU_NORMACT_BLOCK];
        for (int32_t j0 = 0; j0 < l; j0 += CPU_NORMACT_BLOCK) {
            int32_t m = l - j0 < CPU_NORMACT_BLOCK ? l - j0 : CPU_NORMACT_BLOCK;
            const float *sp, *up;
            cpu_normact_su(sb, y + j0, x + j0, te ? te + j0 : NULL, m, lead, slope, &sp, &up);
            if (up != y + j0) /* te without lead: u = s */
                memcpy(y + j0, up, (size_t)m * sizeof(float));
        }
        u = y;
    }
    cpu_normact_lanes(a, u, l);
    float mean = cpu_normact_tree(a) / (float)l;
    float q[8] = {0};
    int32_t j = 0;
    for (; j + 8 <= l; j += 8)
        for (int k = 0; k < 8; k++) {
            float d = u[j + k] - mean;
            q[k] += d * d;
        }
    for (int k = 0; j + k < l; k++) {
        float d = u[j + k] - mean;
        q[k] += d * d;
    }
    float rstd = 1.0f / sqrtf(cpu_normact_tree(q) / (float)l + eps);
    for (j = 0; j < l; j++)
        y[j] = (u[j] - mean) * rstd;
    *mean_out = mean;
    *rstd_out = rstd;
}

/* One row backward: dx [l] (NULL, =, or += with acc) = ds; sum [l] += ds (may be NULL). */
CPU_VEC static void cpu_normact_bwd_row(float *dx, float *sum, const float *x, const float *te, const float *g,
                                        int32_t l, float mean, float rstd, int lead, float slope, int acc)
{
    float sb[CPU_NORMACT_BLOCK], ub[CPU_NORMACT_BLOCK], d[CPU_NORMACT_BLOCK];
    float sg[8] = {0}, sgx[8] = {0};
    const float *s, *u;
    for (int32_t j0 = 0; j0 < l; j0 += CPU_NORMACT_BLOCK) {
        int32_t m = l - j0 < CPU_NORMACT_BLOCK ? l - j0 : CPU_NORMACT_BLOCK;
        const float *gg = g + j0;
        cpu_normact_su(sb, ub, x + j0, te ? te + j0 : NULL, m, lead, slope, &s, &u);
        for (int32_t j = 0; j < m; j++)
            d[j] = gg[j] * ((u[j] - mean) * rstd);
        cpu_normact_lanes(sg, gg, m);
        cpu_normact_lanes(sgx, d, m);
    }
    float mg = cpu_normact_tree(sg) / (float)l, mgx = cpu_normact_tree(sgx) / (float)l;
    for (int32_t j0 = 0; j0 < l; j0 += CPU_NORMACT_BLOCK) {
        int32_t m = l - j0 < CPU_NORMACT_BLOCK ? l - j0 : CPU_NORMACT_BLOCK;
        const float *gg = g + j0;
        cpu_normact_su(sb, ub, x + j0, te ? te + j0 : NULL, m, lead, slope, &s, &u);
        for (int32_t j = 0; j < m; j++) {
            float v = rstd * (gg[j] - mg - (u[j] - mean) * rstd * mgx);
            float pos = s[j] > 0.0f ? v : 0.0f, neg = s[j] > 0.0f ? 0.0f : v;
            d[j] = lead ? pos + slope * neg : v;
        }
        if (sum)
            for (int32_t j = 0; j < m; j++)
                sum[j0 + j] += d[j];
        if (dx && acc)
            for (int32_t j = 0; j < m; j++)
                dx[j0 + j] += d[j];
        else if (dx)
            memcpy(dx + j0, d, (size_t)m * sizeof(float));
    }
}

/* ---- tasks and ops ------------------------------------------------------------------------------------- */

/* The embedding rows of rows [r, r + R) (NULL without a table). */
static const float *const *cpu_normact_te(const cpu_normact_job *jb, int64_t r, int R, const float **buf)
{
    if (!jb->table)
        return NULL;
    for (int i = 0; i < R; i++)
        buf[i] = jb->table + (int64_t)jb->t[(r + i) / jb->c] * jb->l;
    return buf;
}

static void cpu_normact_forward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_normact_job *jb = ctx;
    int64_t r0 = task * jb->per_task, r1 = r0 + jb->per_task < jb->rows ? r0 + jb->per_task : jb->rows;
    int32_t l = jb->l;
    const float *te[CPU_NORMACT_R];
#if defined(CPU_TR16)
    if (l <= 16 && cpu_has_avx512()) {
        for (int64_t r = r0; r < r1; r += CPU_NORMACT_R) {
            int R = r1 - r < CPU_NORMACT_R ? (int)(r1 - r) : CPU_NORMACT_R;
            cpu_normact_fwd_group_16(jb->out + r * l, jb->mean_out + r, jb->rstd_out + r, jb->in + r * l,
                                     cpu_normact_te(jb, r, R, te), R, l, jb->lead, jb->slope, jb->eps);
        }
        return;
    }
#endif
    if (l <= CPU_NORMACT_LMAX) {
        for (int64_t r = r0; r < r1; r += CPU_NORMACT_R) {
            int R = r1 - r < CPU_NORMACT_R ? (int)(r1 - r) : CPU_NORMACT_R;
            cpu_normact_fwd_group(jb->out + r * l, jb->mean_out + r, jb->rstd_out + r, jb->in + r * l,
                                  cpu_normact_te(jb, r, R, te), R, l, jb->lead, jb->slope, jb->eps);
        }
        return;
    }
    for (int64_t r = r0; r < r1; r++)
        cpu_normact_fwd_row(jb->out + r * l, jb->mean_out + r, jb->rstd_out + r, jb->in + r * l,
                            jb->table ? jb->table + (int64_t)jb->t[r / jb->c] * l : NULL, l, jb->lead, jb->slope,
                            jb->eps);
}

/* Rows a task takes: about CPU_NORMACT_TASK_ELEMS numbers in whole groups of CPU_NORMACT_R rows, at least one
 * group however long a row is (a row over CPU_NORMACT_TASK_ELEMS numbers is a task group of its own), at most all. */
static int64_t cpu_normact_rows_per_task(int64_t rows, int32_t l)
{
    int64_t per = CPU_NORMACT_TASK_ELEMS / l;
    if (per < 1)
        per = 1;
    per = (per + CPU_NORMACT_R - 1) / CPU_NORMACT_R * CPU_NORMACT_R; /* whole groups */
    return per < rows ? per : rows;
}

/* out [n, c, l] (may be in), in [n, c, l]; table [T, l] and t [n] or NULL; save_mean, save_rstd [n c] */
static void cpu_normact_forward(pd_backend *be, float *out, const float *in, const float *table, const int32_t *t,
                                float *save_mean, float *save_rstd, int32_t n, int32_t c, int32_t l, int lead,
                                float slope, float eps)
{
    int64_t rows = (int64_t)n * c;
    if (rows <= 0 || l <= 0)
        return;
    cpu_normact_job jb = {.out = out, .in = in, .table = t ? table : NULL, .t = t, .mean_out = save_mean,
                          .rstd_out = save_rstd, .rows = rows, .c = c, .l = l, .lead = lead, .slope = slope,
                          .eps = eps};
    jb.per_task = cpu_normact_rows_per_task(rows, l);
    cpu_parallel_for(be, (rows + jb.per_task - 1) / jb.per_task, cpu_normact_forward_task, &jb);
}

/* Rows [r0, r1) backward; sums: each row's sample sum row (NULL: not wanted). */
static void cpu_normact_backward_rows(const cpu_normact_job *jb, int64_t r0, int64_t r1)
{
    int32_t l = jb->l;
    const float *te[CPU_NORMACT_R];
    float *sum[CPU_NORMACT_R];
    if (l <= CPU_NORMACT_LMAX) {
        for (int64_t r = r0; r < r1; r += CPU_NORMACT_R) {
            int R = r1 - r < CPU_NORMACT_R ? (int)(r1 - r) : CPU_NORMACT_R;
            for (int i = 0; i < R; i++)
                sum[i] = jb->sums ? jb->sums + (r + i) / jb->c * l : NULL;
#if defined(CPU_TR16)
            if (l <= 16 && cpu_has_avx512()) {
                cpu_normact_bwd_group_16(jb->out ? jb->out + r * l : NULL, sum, jb->in + r * l,
                                         cpu_normact_te(jb, r, R, te), jb->dout + r * l, jb->mean_in + r,
                                         jb->rstd_in + r, R, l, jb->lead, jb->slope, jb->acc);
                continue;
            }
#endif
            cpu_normact_bwd_group(jb->out ? jb->out + r * l : NULL, sum, jb->in + r * l, cpu_normact_te(jb, r, R, te),
                                  jb->dout + r * l, jb->mean_in + r, jb->rstd_in + r, R, l, jb->lead, jb->slope,
                                  jb->acc);
        }
        return;
    }
    for (int64_t r = r0; r < r1; r++)
        cpu_normact_bwd_row(jb->out ? jb->out + r * l : NULL, jb->sums ? jb->sums + r / jb->c * l : NULL,
                            jb->in + r * l, jb->table ? jb->table + (int64_t)jb->t[r / jb->c] * l : NULL,
                            jb->dout + r * l, l, jb->mean_in[r], jb->rstd_in[r], jb->lead, jb->slope, jb->acc);
}

static void cpu_normact_backward_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_normact_job *jb = ctx;
    if (!jb->sums) { /* blocks of rows */
        int64_t r0 = task * jb->per_task, r1 = r0 + jb->per_task < jb->rows ? r0 + jb->per_task : jb->rows;
        cpu_normact_backward_rows(jb, r0, r1);
        return;
    }
    int64_t n = jb->rows / jb->c; /* blocks of samples, whose channels one task sums in order */
    int64_t b0 = task * jb->per_task, b1 = b0 + jb->per_task < n ? b0 + jb->per_task : n;
    memset(jb->sums + b0 * jb->l, 0, (size_t)((b1 - b0) * jb->l) * sizeof(float));
    cpu_normact_backward_rows(jb, b0 * jb->c, b1 * jb->c);
}

/* din (may be NULL), dout, in [n, c, l]; dtable [T, l] (may be NULL); table [T, l] and t [n] or NULL */
static void cpu_normact_backward(pd_backend *be, float *din, float *dtable, const float *dout, const float *in,
                                 const float *table, const int32_t *t, const float *save_mean,
                                 const float *save_rstd, int32_t n, int32_t c, int32_t l, int lead, float slope,
                                 int acc)
{
    int64_t rows = (int64_t)n * c;
    if (rows <= 0 || l <= 0 || (!din && !dtable))
        return;
    cpu_normact_job jb = {.out = din, .in = in, .dout = dout, .table = t ? table : NULL, .t = t,
                          .mean_in = save_mean, .rstd_in = save_rstd, .rows = rows, .c = c, .l = l, .lead = lead,
                          .acc = acc, .slope = slope};
    int64_t units = rows;
    if (dtable) {
        PD_ASSERT(t != NULL);
        jb.sums = cpu_scratch(be, 0, (size_t)n * (size_t)l * sizeof(float));
        int64_t per = CPU_NORMACT_TASK_ELEMS / ((int64_t)c * l);
        jb.per_task = per < 1 ? 1 : per;
        units = n;
    } else {
        jb.per_task = cpu_normact_rows_per_task(rows, l);
    }
    cpu_parallel_for(be, (units + jb.per_task - 1) / jb.per_task, cpu_normact_backward_task, &jb);
    if (!dtable)
        return;
    cpu_temb_table_add(dtable, jb.sums, t, n, l);
}

void cpu_normact_register(pd_backend *be)
{
    be->norm_act_forward = cpu_normact_forward;
    be->norm_act_backward = cpu_normact_backward;
}
