/* cpu_winograd.c — Winograd F(2x2, 3x3) convolution (Lavin & Gray) for 3x3, stride-1, pad-1 layers with enough
 * channels on both sides: 16 GEMMs of [cout, cin] x [cin, tiles] replace im2col's [cout, 9 cin] x [9 cin, 4 tiles],
 * 4/9 of the multiply-adds, and the transformed input is 4x the input (im2col's is 9x).
 *
 * Output tile (ty, tx) = rows 2ty, 2ty + 1 and columns 2tx, 2tx + 1; it reads the 4x4 input tile d at input rows
 * 2ty - 1 .. 2ty + 2 and columns 2tx - 1 .. 2tx + 2 (zero outside). With g one 3x3 kernel and
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1]:
 *   forward   V = B^T d B, U = G g G^T, M_e [cout, T] = U_e [cout, cin] V_e [cin, T] for each of the 16 positions e,
 *             Y = A^T M A (+ bias);
 *   backward  Z = A dY A^T (the transposed output transform of the output gradient),
 *             dU_e [cout, cin] += Z_e [cout, T] V_e^T, dg = G^T dU G (summed over tiles in the transform domain),
 *             dV_e [cin, T] = U_e^T Z_e, din = sum over tiles of B dV B^T (tiles overlap by two rows/columns).
 * The transformed buffers are [16, channels, ldt]: position e's matrix, one row per channel, one column per tile
 * of the chunk (sample-major, then ty, tx), so every GEMM reads and writes plain row-major matrices.
 *
 * The batch is cut into chunks of samples (about WG_TILES tiles, buffers about WG_CHUNK_BYTES: they stay in
 * L2 between the transforms and the GEMMs), chunk sizes depend only on the geometry. Forward chunks run on the
 * pool with single-threaded BLAS; backward chunks are dealt to a fixed number of groups with private dU and db
 * partials that are added in group order, so results do not depend on the thread count. */
#include "cpu_winograd.h"

#include <string.h>

#define WG_MIN_CHANNELS 8          /* narrower layers keep im2col */
#define WG_TILES 196               /* aim for about this many tiles (GEMM columns) per chunk */
#define WG_CHUNK_BYTES (3u << 19)  /* ... while a chunk's transformed buffers stay about this small */
#define WG_GROUPS 8                /* backward partial sums (at least; more with more threads) */

typedef struct {
    const pd_conv2d_shape *s;
    float *out;         /* [n, cout, h, w] forward output */
    const float *in;    /* [n, cin, h, w] */
    const float *b;     /* [cout] or NULL */
    float *din;         /* [n, cin, h, w] or NULL */
    const float *dout;  /* [n, cout, h, w] */
    int acc;
    const float *u;     /* [16, cout, cin] transformed weights */
    int32_t th, tw;     /* tiles per column and per row */
    int32_t hp, wp;     /* padded plane: rows 2 th + 2, columns 2 tw + 2 (input row r at padded row r + 1) */
    int64_t tp;         /* tiles per sample */
    int32_t nc;         /* samples per chunk */
    int64_t nchunks, ngroups;
    int64_t ldt;        /* floats per channel row of the transformed buffers, >= nc tp */
    int64_t esi, eso;   /* floats between positions e of a buffer with cin / cout channels */
    float *work;        /* [threads, work_floats] */
    int64_t work_floats, b_off, pad_off, tmp_off;
    float *part;        /* [ngroups, part_floats]: dU partials [16, cout, cin] */
    int64_t part_floats;
    double *dbpart;     /* [ngroups, cout] */
} wg_args;

int cpu_winograd_fits(const pd_conv2d_shape *s)
{
    return s->k == 3 && s->stride == 1 && s->pad == 1 && s->ho == s->h && s->wo == s->w && s->cin >= WG_MIN_CHANNELS
           && s->cout >= WG_MIN_CHANNELS;
}

static int64_t wg_round(int64_t n)
{
    return (n + 15) & ~(int64_t)15; /* whole 64-byte lines of floats */
}

/* Floats between the 16 position matrices of a buffer with `rows` rows of ldt: the transforms write (or read)
 * all 16 at once, so their addresses must fall into different L1 sets: 4 KiB multiples plus 256 bytes e. */
static int64_t wg_estride(int64_t rows, int64_t ldt)
{
    return ((rows * ldt + 1023) & ~(int64_t)1023) + 64;
}

/* ---- transforms ---------------------------------------------------------------------------------------- */

/* u [16] (position e at u[e es]) <- G g G^T for one kernel g [3, 3] */
static void wg_weight(const float *g, float *u, int64_t es)
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
static void wg_weight_grad(const float *du, int64_t es, float *g)
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

/* v (position e at v + e es, tile ty tw + tx at [ty tw + tx]) <- B^T d B for every tile of the padded plane
 * p [hp, wp]; tmp [4 wp] */
static void wg_in(const float *restrict p, int32_t wp, int32_t th, int32_t tw, float *restrict v, int64_t es,
                  float *restrict tmp)
{
    float *t0 = tmp, *t1 = tmp + wp, *t2 = t1 + wp, *t3 = t2 + wp;
    for (int32_t ty = 0; ty < th; ty++) {
        const float *p0 = p + (int64_t)2 * ty * wp, *p1 = p0 + wp, *p2 = p1 + wp, *p3 = p2 + wp;
        for (int32_t c = 0; c < wp; c++) {
            t0[c] = p0[c] - p2[c];
            t1[c] = p1[c] + p2[c];
            t2[c] = p2[c] - p1[c];
            t3[c] = p1[c] - p3[c];
        }
        for (int i = 0; i < 4; i++) {
            const float *r = tmp + (int64_t)i * wp;
            float *v0 = v + (int64_t)4 * i * es + (int64_t)ty * tw, *v1 = v0 + es, *v2 = v1 + es, *v3 = v2 + es;
            for (int32_t tx = 0; tx < tw; tx++) {
                float a0 = r[2 * tx], a1 = r[2 * tx + 1], a2 = r[2 * tx + 2], a3 = r[2 * tx + 3];
                v0[tx] = a0 - a2;
                v1[tx] = a1 + a2;
                v2[tx] = a2 - a1;
                v3[tx] = a1 - a3;
            }
        }
    }
}

/* p [hp, wp] += B dv B^T of every tile (the transpose of wg_in: overlapping tiles add up); tmp [4 wp] */
static void wg_in_t(const float *restrict v, int64_t es, int32_t th, int32_t tw, float *restrict p, int32_t wp,
                    float *restrict tmp)
{
    for (int32_t ty = 0; ty < th; ty++) {
        for (int i = 0; i < 4; i++) { /* row i of every tile in this row: the horizontal transpose */
            const float *d0 = v + (int64_t)4 * i * es + (int64_t)ty * tw, *d1 = d0 + es, *d2 = d1 + es;
            const float *d3 = d2 + es;
            float *h = tmp + (int64_t)i * wp;
            h[0] = d0[0];
            h[1] = (d1[0] - d2[0]) + d3[0];
            for (int32_t tx = 1; tx < tw; tx++) {
                h[2 * tx] = d0[tx] + ((d1[tx - 1] + d2[tx - 1]) - d0[tx - 1]);
                h[2 * tx + 1] = ((d1[tx] - d2[tx]) + d3[tx]) - d3[tx - 1];
            }
            h[2 * tw] = (d1[tw - 1] + d2[tw - 1]) - d0[tw - 1];
            h[2 * tw + 1] = -d3[tw - 1];
        }
        const float *h0 = tmp, *h1 = tmp + wp, *h2 = h1 + wp, *h3 = h2 + wp;
        float *p0 = p + (int64_t)2 * ty * wp, *p1 = p0 + wp, *p2 = p1 + wp, *p3 = p2 + wp;
        for (int32_t c = 0; c < wp; c++) {
            p0[c] += h0[c];
            p1[c] += (h1[c] - h2[c]) + h3[c];
            p2[c] += (h1[c] + h2[c]) - h0[c];
            p3[c] -= h3[c];
        }
    }
}

/* out [ho, wo] = A^T M A + bias of every tile (acc: += without the bias); m: position e at m + e es;
 * tmp [4 tw] */
static void wg_out(const float *restrict m, int64_t es, int32_t th, int32_t tw, float *restrict out, int32_t ho,
                   int32_t wo, float bias, int acc, float *restrict tmp)
{
    float *y0 = tmp, *y1 = tmp + tw, *y2 = y1 + tw, *y3 = y2 + tw; /* row 0 even/odd, row 1 even/odd */
    int32_t half = wo / 2;
    for (int32_t ty = 0; ty < th; ty++) {
        const float *mt = m + (int64_t)ty * tw;
        for (int32_t tx = 0; tx < tw; tx++) {
            float s0[4], s1[4];
            for (int j = 0; j < 4; j++) {
                float a = mt[j * es + tx], b = mt[(4 + j) * es + tx], c = mt[(8 + j) * es + tx];
                float d = mt[(12 + j) * es + tx];
                s0[j] = (a + b) + c;
                s1[j] = (b - c) - d;
            }
            y0[tx] = (s0[0] + s0[1]) + s0[2];
            y1[tx] = (s0[1] - s0[2]) - s0[3];
            y2[tx] = (s1[0] + s1[1]) + s1[2];
            y3[tx] = (s1[1] - s1[2]) - s1[3];
        }
        for (int r = 0; r < 2 && 2 * ty + r < ho; r++) {
            float *o = out + (int64_t)(2 * ty + r) * wo;
            const float *ye = r ? y2 : y0, *yo = r ? y3 : y1;
            if (acc) {
                for (int32_t x = 0; x < half; x++) {
                    o[2 * x] += ye[x];
                    o[2 * x + 1] += yo[x];
                }
                if (wo & 1)
                    o[wo - 1] += ye[half];
            } else {
                for (int32_t x = 0; x < half; x++) {
                    o[2 * x] = ye[x] + bias;
                    o[2 * x + 1] = yo[x] + bias;
                }
                if (wo & 1)
                    o[wo - 1] = ye[half] + bias;
            }
        }
    }
}

/* z (position e at z + e es) <- A dY A^T of every tile of dy [2 th, ld] (rows and columns past the output
 * are zero) */
static void wg_grad(const float *restrict dy, int32_t ld, int32_t th, int32_t tw, float *restrict z, int64_t es)
{
    for (int32_t ty = 0; ty < th; ty++) {
        const float *r0 = dy + (int64_t)2 * ty * ld, *r1 = r0 + ld;
        float *zt = z + (int64_t)ty * tw;
        for (int32_t tx = 0; tx < tw; tx++) {
            float a0 = r0[2 * tx], a1 = r0[2 * tx + 1], b0 = r1[2 * tx], b1 = r1[2 * tx + 1];
            float c0[4] = {a0, a0 + b0, a0 - b0, -b0}, c1[4] = {a1, a1 + b1, a1 - b1, -b1};
            for (int i = 0; i < 4; i++) {
                zt[(4 * i + 0) * es + tx] = c0[i];
                zt[(4 * i + 1) * es + tx] = c0[i] + c1[i];
                zt[(4 * i + 2) * es + tx] = c0[i] - c1[i];
                zt[(4 * i + 3) * es + tx] = -c1[i];
            }
        }
    }
}

/* ---- planning ------------------------------------------------------------------------------------------ */

/* Tiling, chunking and scratch: [u: 16 cout cin][shared floats][threads x work]; returns the shared part. */
static float *wg_plan(pd_backend *be, wg_args *a, int64_t shared, int64_t max_tasks)
{
    const pd_conv2d_shape *s = a->s;
    a->th = (s->ho + 1) / 2;
    a->tw = (s->wo + 1) / 2;
    a->hp = 2 * a->th + 2;
    a->wp = 2 * a->tw + 2;
    a->tp = (int64_t)a->th * a->tw;
    int64_t per_tile = (int64_t)16 * (s->cin + s->cout) * (int64_t)sizeof(float);
    int64_t nc = (WG_TILES + a->tp - 1) / a->tp, cap = (int64_t)WG_CHUNK_BYTES / (per_tile * a->tp);
    nc = nc > cap ? cap : nc;
    nc = nc > s->n ? s->n : nc;
    a->nc = (int32_t)(nc < 1 ? 1 : nc);
    a->nchunks = (s->n + a->nc - 1) / a->nc;
    a->ldt = wg_round(a->nc * a->tp);
    a->esi = wg_estride(s->cin, a->ldt);
    a->eso = wg_estride(s->cout, a->ldt);
    a->b_off = 16 * a->esi;
    a->pad_off = a->b_off + 16 * a->eso;
    a->tmp_off = a->pad_off + wg_round((int64_t)a->hp * a->wp);
    a->work_floats = a->tmp_off + wg_round(4 * (int64_t)(a->wp > a->tw ? a->wp : a->tw) + 4);
    int64_t threads = a->nchunks > 1 && max_tasks > 1 ? be->threads : 1;
    int64_t u_floats = wg_round(16 * (int64_t)s->cout * s->cin);
    float *scratch = cpu_scratch(be, 0, (size_t)(u_floats + shared + threads * a->work_floats) * sizeof(float));
    PD_ASSERT(scratch != NULL);
    a->work = scratch + u_floats + shared;
    a->u = scratch;
    return scratch + u_floats;
}

/* u [16, cout, cin] from w [cout, cin, 3, 3] */
static void wg_weights(const pd_conv2d_shape *s, const float *w, float *u)
{
    int64_t es = (int64_t)s->cout * s->cin;
    for (int64_t k = 0; k < es; k++)
        wg_weight(w + 9 * k, u + k, es);
}

/* The padded plane of work area `work` gets input channel plane x [h, w] (its zero border stays). */
static void wg_pad(const wg_args *a, float *pad, const float *x)
{
    const pd_conv2d_shape *s = a->s;
    for (int32_t y = 0; y < s->h; y++)
        memcpy(pad + (int64_t)(y + 1) * a->wp + 1, x + (int64_t)y * s->w, (size_t)s->w * sizeof(float));
}

/* V [16, cin, ldt] of samples n0 .. n0 + cnt - 1 */
static void wg_input(const wg_args *a, float *v, float *pad, float *tmp, int32_t n0, int32_t cnt)
{
    const pd_conv2d_shape *s = a->s;
    int64_t plane = (int64_t)s->h * s->w, es = a->esi;
    memset(pad, 0, (size_t)a->hp * a->wp * sizeof(float));
    for (int32_t i = 0; i < cnt; i++)
        for (int32_t ci = 0; ci < s->cin; ci++) {
            wg_pad(a, pad, a->in + ((int64_t)(n0 + i) * s->cin + ci) * plane);
            wg_in(pad, a->wp, a->th, a->tw, v + ci * a->ldt + i * a->tp, es, tmp);
        }
}

/* ---- forward ------------------------------------------------------------------------------------------- */

static void wg_forward_task(void *ctx, int64_t c, int thread)
{
    const wg_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int32_t n0 = (int32_t)c * a->nc, cnt = s->n - n0 < a->nc ? s->n - n0 : a->nc;
    int64_t t = cnt * a->tp, plane = (int64_t)s->h * s->w;
    float *v = a->work + thread * a->work_floats, *m = v + a->b_off, *pad = v + a->pad_off, *tmp = v + a->tmp_off;
    int64_t esv = a->esi, esm = a->eso, esu = (int64_t)s->cout * s->cin;
    wg_input(a, v, pad, tmp, n0, cnt);
    for (int e = 0; e < 16; e++)
        cpu_sgemm(0, 0, s->cout, (int32_t)t, s->cin, 1.0f, a->u + e * esu, s->cin, v + e * esv, (int32_t)a->ldt,
                  0.0f, m + e * esm, (int32_t)a->ldt);
    for (int32_t i = 0; i < cnt; i++)
        for (int32_t co = 0; co < s->cout; co++)
            wg_out(m + co * a->ldt + i * a->tp, esm, a->th, a->tw,
                   a->out + ((int64_t)(n0 + i) * s->cout + co) * plane, s->ho, s->wo, a->b ? a->b[co] : 0.0f, 0,
                   tmp);
}

void cpu_winograd_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                          const pd_conv2d_shape *s)
{
    /* out [n, cout, h, w], in [n, cin, h, w], w [cout, cin, 3, 3], b [cout] or NULL */
    if (s->n <= 0)
        return;
    wg_args a = {.s = s, .out = out, .in = in, .b = b};
    wg_plan(be, &a, 0, INT64_MAX);
    wg_weights(s, w, (float *)a.u);
    cpu_parallel_for(be, a.nchunks, wg_forward_task, &a);
}

/* ---- backward ------------------------------------------------------------------------------------------ */

static void wg_backward_task(void *ctx, int64_t g, int thread)
{
    const wg_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int64_t plane = (int64_t)s->h * s->w;
    float *v = a->work + thread * a->work_floats, *z = v + a->b_off, *pad = v + a->pad_off, *tmp = v + a->tmp_off;
    int64_t esv = a->esi, esz = a->eso, esu = (int64_t)s->cout * s->cin;
    float *du = a->part + g * a->part_floats; /* [16, cout, cin] */
    double *dbp = a->dbpart + g * s->cout;    /* [cout] */
    memset(du, 0, (size_t)a->part_floats * sizeof(float));
    for (int32_t co = 0; co < s->cout; co++)
        dbp[co] = 0.0;
    int even = s->ho % 2 == 0 && s->wo % 2 == 0;
    int64_t c0 = g * a->nchunks / a->ngroups, c1 = (g + 1) * a->nchunks / a->ngroups;
    for (int64_t c = c0; c < c1; c++) {
        int32_t n0 = (int32_t)c * a->nc, cnt = s->n - n0 < a->nc ? s->n - n0 : a->nc;
        int64_t t = cnt * a->tp;
        wg_input(a, v, pad, tmp, n0, cnt);
        /* Z [16, cout, ldt] from dout; db */
        if (!even)
            memset(pad, 0, (size_t)a->hp * a->wp * sizeof(float));
        for (int32_t i = 0; i < cnt; i++)
            for (int32_t co = 0; co < s->cout; co++) {
                const float *dy = a->dout + ((int64_t)(n0 + i) * s->cout + co) * plane; /* [ho, wo] */
                double sum = 0.0;
                for (int64_t j = 0; j < plane; j++)
                    sum += dy[j];
                dbp[co] += sum;
                float *zp = z + co * a->ldt + i * a->tp;
                if (even) {
                    wg_grad(dy, s->wo, a->th, a->tw, zp, esz);
                } else { /* zero-extended to [2 th, 2 tw] in the padded plane's buffer */
                    for (int32_t y = 0; y < s->ho; y++)
                        memcpy(pad + (int64_t)y * 2 * a->tw, dy + (int64_t)y * s->wo, (size_t)s->wo * sizeof(float));
                    wg_grad(pad, 2 * a->tw, a->th, a->tw, zp, esz);
                }
            }
        for (int e = 0; e < 16; e++)
            cpu_sgemm(0, 1, s->cout, s->cin, (int32_t)t, 1.0f, z + e * esz, (int32_t)a->ldt, v + e * esv,
                      (int32_t)a->ldt, 1.0f, du + e * esu, s->cin);
        if (!a->din)
            continue;
        /* dV [16, cin, ldt] = U_e^T Z_e over V, then din */
        for (int e = 0; e < 16; e++)
            cpu_sgemm(1, 0, s->cin, (int32_t)t, s->cout, 1.0f, a->u + e * esu, s->cin, z + e * esz, (int32_t)a->ldt,
                      0.0f, v + e * esv, (int32_t)a->ldt);
        for (int32_t i = 0; i < cnt; i++)
            for (int32_t ci = 0; ci < s->cin; ci++) {
                memset(pad, 0, (size_t)a->hp * a->wp * sizeof(float));
                wg_in_t(v + ci * a->ldt + i * a->tp, esv, a->th, a->tw, pad, a->wp, tmp);
                float *d = a->din + ((int64_t)(n0 + i) * s->cin + ci) * plane; /* [h, w] */
                for (int32_t y = 0; y < s->h; y++) {
                    const float *src = pad + (int64_t)(y + 1) * a->wp + 1;
                    float *dst = d + (int64_t)y * s->w;
                    if (a->acc)
                        for (int32_t x = 0; x < s->w; x++)
                            dst[x] += src[x];
                    else
                        memcpy(dst, src, (size_t)s->w * sizeof(float));
                }
            }
    }
}

void cpu_winograd_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, const pd_conv2d_shape *s, int acc)
{
    /* din [n, cin, h, w] or NULL, dw [cout, cin, 3, 3] +=, db [cout] += or NULL, dout [n, cout, h, w],
     * in [n, cin, h, w], w [cout, cin, 3, 3] */
    if (s->n <= 0)
        return;
    wg_args a = {.s = s, .din = din, .dout = dout, .in = in, .acc = acc};
    int64_t groups = be->threads > WG_GROUPS ? be->threads : WG_GROUPS;
    a.part_floats = wg_round(16 * (int64_t)s->cout * s->cin);
    int64_t db_floats = wg_round(2 * groups * (int64_t)s->cout);
    float *shared = wg_plan(be, &a, groups * a.part_floats + db_floats, groups);
    a.part = shared;
    a.dbpart = (double *)(shared + groups * a.part_floats);
    wg_weights(s, w, (float *)a.u);
    a.ngroups = groups > a.nchunks ? a.nchunks : groups;
    cpu_parallel_for(be, a.ngroups, wg_backward_task, &a);
    int64_t es = (int64_t)s->cout * s->cin;
    for (int64_t g = 1; g < a.ngroups; g++)
        for (int64_t j = 0; j < 16 * es; j++)
            a.part[j] += a.part[g * a.part_floats + j];
    for (int64_t k = 0; k < es; k++)
        wg_weight_grad(a.part + k, es, dw + 9 * k);
    if (db)
        for (int32_t co = 0; co < s->cout; co++) {
            double sum = 0.0;
            for (int64_t g = 0; g < a.ngroups; g++)
                sum += a.dbpart[g * s->cout + co];
            db[co] += (float)sum;
        }
}
