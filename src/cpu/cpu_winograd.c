/* cpu_winograd.c — Winograd convolution F(2x2, 3x3) (Lavin & Gray) for 3x3, stride-1, pad-1 layers with enough
 * channels on both sides (see cpu_winograd.h; the transforms are in cpu_wgtile.c). Output tile (ty, tx) = rows
 * 2 ty, 2 ty + 1 and columns alike reads the 4x4 input tile at rows 2 ty - 1 .. 2 ty + 2 (zero outside), and for
 * each of the 16 positions e of a transformed tile:
 *   forward   V = B^T d B, U = G g G^T, M_e [T, cout] = V_e [T, cin] U_e^T, Y = A^T M A (+ bias);
 *   backward  Z = A dY A^T (the transposed output transform of the output gradient),
 *             dU_e [cout, cin] += Z_e^T V_e, dg = G^T dU G (tiles summed in the transform domain),
 *             dV_e [T, cin] = Z_e U_e, din = sum over tiles of B dV B^T (tiles overlap by two rows/columns),
 *             db from the position of Z that sums a tile's output gradients.
 * That is 16 products per 4 outputs (im2col: 36), and the transformed input is 4x the input (im2col's is 9x).
 * Inside a chunk the data is channel-innermost: a sample is first transposed to a zero-bordered [hp, wp, C]
 * plane (C = channels rounded up to CPU_WG_LANES), so every transform works on vectors of channels and every
 * product reads plain row-major matrices: the transformed buffers are [a^2, T, C] (position e's [tiles,
 * channels] matrix), T = the chunk's tiles, sample-major then ty, tx.
 *
 * The batch is cut into chunks of samples (about WG_TILES tiles, buffers about WG_CHUNK_BYTES, so they stay in
 * L2 between transforms and products); chunk sizes depend only on the geometry. Forward chunks
 * run on the pool with single-threaded BLAS; backward chunks are dealt to a fixed number of groups with private
 * dU and db partials that are added in group order, so results do not depend on the thread count. */
#include "cpu_winograd.h"

#include <string.h>

#define WG_MIN_CHANNELS 8          /* narrower layers keep im2col */
#ifndef WG_TILES
#define WG_TILES 196               /* aim for about this many tiles (GEMM rows) per chunk */
#endif
#ifndef WG_CHUNK_BYTES
#define WG_CHUNK_BYTES (3u << 18)  /* ... while a chunk's transformed buffers stay this small (half of L2) */
#endif
#define WG_GROUPS 8                /* backward partial sums, whatever the thread count */

typedef struct {
    const pd_conv2d_shape *s;
    float *out;         /* [n, cout, h, w] forward output */
    const float *in;    /* [n, cin, h, w] */
    const float *b;     /* [cout] or NULL */
    const float *w;     /* [cout, cin, 3, 3] (backward) */
    float *din;         /* [n, cin, h, w] or NULL */
    const float *dout;  /* [n, cout, h, w] */
    int acc;
    int r;              /* output tile size: 2 (F(2x2, 3x3)) or 4 (F(4x4, 3x3), forward for inference) */
    int ne;             /* positions of a transformed tile: 16 or 36 */
    const float *u;     /* [ne, cout, cin] transformed weights */
    const float *ut;    /* [ne, cin, cout] the same, transposed per position */
    int32_t th, tw;     /* tiles per column and per row */
    int32_t hp, wp;     /* padded plane: 2 th + 2 rows, 2 tw + 2 columns (input (y, x) at (y + 1, x + 1)) */
    int64_t tp;         /* tiles per sample */
    int64_t ci, co;     /* cin, cout rounded up to whole vectors */
    int32_t nc;         /* samples per chunk */
    int64_t nchunks, ngroups;
    int64_t esi, eso;   /* floats between the position matrices [T, ci] / [T, co] */
    float *work;        /* [threads, work_floats]: V [ne, T, ci], M or Z [ne, T, co], padded plane, output plane */
    int64_t work_floats, m_off, x_off, y_off;
    cpu_wg_hooks *hooks; /* or NULL: planar out / dout */
    float *part;        /* [ngroups, part_floats]: dU partials [ne, cout, cin] */
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
    return (n + CPU_WG_LANES - 1) & ~(int64_t)(CPU_WG_LANES - 1); /* whole vectors, whole 64-byte lines */
}

/* Floats between the position matrices of `floats` each: the transforms touch all of them at the same offset,
 * so their addresses must fall into different L1 sets: 4 KiB multiples plus e times 256 bytes. */
static int64_t wg_estride(int64_t floats)
{
    return ((floats + 1023) & ~(int64_t)1023) + 64;
}

/* Kernel-wise work around the chunks: the weight transforms before the forward (u [16, cout, cin] and
 * ut [16, cin, cout] from w [cout, cin, 3, 3]) and, after the backward, dw += G^T (sum of the groups' dU) G.
 * Each task takes WG_KERNELS kernels (co, ci) in order; every value is computed by one task the same way. */
#define WG_KERNELS 512

typedef struct {
    const wg_args *a;
    const float *w;
    float *u, *ut, *dw;
} wg_kernel_args;

/* Blocks of 16 consecutive kernels go through a small [16 positions, 16 kernels] tile, so the position
 * matrices are written (read) in runs of 16 instead of one value per 64 KiB-apart position. */
static void wg_weights_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const wg_kernel_args *k = ctx;
    const pd_conv2d_shape *s = k->a->s;
    int64_t es = (int64_t)s->cout * s->cin, k0 = task * WG_KERNELS, k1 = k0 + WG_KERNELS < es ? k0 + WG_KERNELS : es;
    float tile[36 * 16];
    int ne = k->a->ne;
    void (*wfn)(const float *, float *, int64_t) = k->a->r == 4 ? cpu_wg4_weight : cpu_wg_weight;
    for (int64_t q0 = k0; q0 < k1; q0 += 16) {
        int64_t nb = k1 - q0 < 16 ? k1 - q0 : 16;
        for (int64_t q = q0; q < q0 + nb; q++) /* u: kernel q = co cin + ci at column q */
            wfn(k->w + 9 * q, tile + (q - q0), 16);
        for (int e = 0; e < ne; e++)
            memcpy(k->u + e * es + q0, tile + e * 16, (size_t)nb * sizeof(float));
        if (!k->ut)
            continue;
        for (int64_t r = q0; r < q0 + nb; r++) /* ut: column r = ci cout + co holds kernel co cin + ci */
            wfn(k->w + 9 * ((r % s->cout) * s->cin + r / s->cout), tile + (r - q0), 16);
        for (int e = 0; e < ne; e++)
            memcpy(k->ut + e * es + q0, tile + e * 16, (size_t)nb * sizeof(float));
    }
}

static void wg_weights(pd_backend *be, const wg_args *a, const float *w, float *u, float *ut)
{
    wg_kernel_args k = {.a = a, .w = w, .u = u, .ut = ut};
    int64_t es = (int64_t)a->s->cout * a->s->cin;
    cpu_parallel_for(be, (es + WG_KERNELS - 1) / WG_KERNELS, wg_weights_task, &k);
}

static void wg_weight_grads_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const wg_kernel_args *k = ctx;
    const wg_args *a = k->a;
    int64_t es = (int64_t)a->s->cout * a->s->cin, k0 = task * WG_KERNELS, k1 = k0 + WG_KERNELS < es ? k0 + WG_KERNELS : es;
    float tile[16 * 16];
    for (int64_t q0 = k0; q0 < k1; q0 += 16) {
        int64_t nb = k1 - q0 < 16 ? k1 - q0 : 16;
        for (int e = 0; e < 16; e++) { /* the groups' partials in group order */
            float *t = tile + e * 16;
            const float *p = a->part + e * es + q0;
            for (int64_t j = 0; j < nb; j++)
                t[j] = p[j];
            for (int64_t g = 1; g < a->ngroups; g++)
                for (int64_t j = 0; j < nb; j++)
                    t[j] += p[g * a->part_floats + j];
        }
        for (int64_t q = q0; q < q0 + nb; q++)
            cpu_wg_weight_grad(tile + (q - q0), 16, k->dw + 9 * q);
    }
}

/* Tiling, chunking and scratch: [u][ut][shared floats][threads x work]; returns the shared part. */
static float *wg_plan(pd_backend *be, wg_args *a, int64_t shared, int64_t max_tasks)
{
    const pd_conv2d_shape *s = a->s;
    a->r = a->r == 4 ? 4 : 2;
    a->ne = (a->r + 2) * (a->r + 2);
    a->th = (s->ho + a->r - 1) / a->r;
    a->tw = (s->wo + a->r - 1) / a->r;
    a->hp = a->r * a->th + 2;
    a->wp = a->r * a->tw + 2;
    a->tp = (int64_t)a->th * a->tw;
    a->ci = wg_round(s->cin);
    a->co = wg_round(s->cout);
    int64_t per_tile = (int64_t)a->ne * (a->ci + a->co) * (int64_t)sizeof(float);
    int64_t nc = (WG_TILES + a->tp - 1) / a->tp, cap = (int64_t)WG_CHUNK_BYTES / (per_tile * a->tp);
    nc = nc > cap ? cap : nc;
    nc = nc > s->n ? s->n : nc;
    a->nc = (int32_t)(nc < 1 ? 1 : nc);
    a->nchunks = (s->n + a->nc - 1) / a->nc;
    a->esi = wg_estride(a->nc * a->tp * a->ci);
    a->eso = wg_estride(a->nc * a->tp * a->co);
    a->m_off = a->ne * a->esi;
    a->x_off = a->m_off + a->ne * a->eso;
    a->y_off = a->x_off + wg_round((int64_t)a->hp * a->wp * a->ci);
    a->work_floats = a->y_off + wg_round((int64_t)a->r * a->r * a->tp * a->co);
    int64_t threads = a->nchunks > 1 && max_tasks > 1 ? be->threads : 1;
    int64_t u_floats = wg_round(a->ne * (int64_t)s->cout * s->cin);
    float *scratch = cpu_scratch(be, 0, (size_t)(2 * u_floats + shared + threads * a->work_floats) * sizeof(float));
    a->u = scratch;
    a->ut = scratch + u_floats;
    a->work = scratch + 2 * u_floats + shared;
    return scratch + 2 * u_floats;
}

/* V [ne, T, ci] of samples n0 .. n0 + cnt - 1 through the padded plane x (whose border stays zero) */
static void wg_input(const wg_args *a, float *v, float *x, int32_t n0, int32_t cnt, int thread)
{
    const pd_conv2d_shape *s = a->s;
    int64_t size = (int64_t)s->cin * s->h * s->w;
    for (int32_t i = 0; i < cnt; i++) {
        if (a->hooks && a->hooks->load)
            a->hooks->load(a->hooks, n0 + i, x, a->wp, a->ci, thread);
        else
            cpu_wg_to_cl(x, a->wp, a->ci, 1, 1, a->in + (int64_t)(n0 + i) * size, s->cin, s->h, s->w);
        (a->r == 4 ? cpu_wg4_in : cpu_wg_in)(x, a->wp, a->th, a->tw, a->ci, v + i * a->tp * a->ci, a->esi);
    }
}

/* ---- forward -------------------------------------------------------------------------------------------- */

static void wg_forward_task(void *ctx, int64_t c, int thread)
{
    const wg_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int32_t n0 = (int32_t)c * a->nc, cnt = s->n - n0 < a->nc ? s->n - n0 : a->nc;
    int64_t t = cnt * a->tp, size = (int64_t)s->cout * s->ho * s->wo, esu = (int64_t)s->cout * s->cin;
    float *v = a->work + thread * a->work_floats, *m = v + a->m_off, *x = v + a->x_off, *y = v + a->y_off;
    memset(x, 0, (size_t)a->hp * a->wp * a->ci * sizeof(float));
    if (a->co != s->cout) /* lanes past cout are never written by the products */
        memset(m, 0, (size_t)(a->ne * a->eso) * sizeof(float));
    wg_input(a, v, x, n0, cnt, thread);
    for (int e = 0; e < a->ne; e++)
        cpu_wg_gemm(0, t, s->cout, s->cin, v + e * a->esi, a->ci, a->ut + e * esu, s->cout, m + e * a->eso, a->co,
                    0);
    for (int32_t i = 0; i < cnt; i++) {
        (a->r == 4 ? cpu_wg4_out : cpu_wg_out)(m + i * a->tp * a->co, a->eso, a->th, a->tw, a->co, y);
        if (a->hooks)
            a->hooks->emit(a->hooks, n0 + i, y, a->r * a->tw, thread);
        else
            cpu_wg_from_cl(a->out + (int64_t)(n0 + i) * size, 0, a->b, y, a->r * a->tw, a->co, 0, 0, s->cout, s->ho,
                           s->wo);
    }
}

void cpu_winograd_forward(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                          const pd_conv2d_shape *s)
{
    /* out [n, cout, h, w], in [n, cin, h, w], w [cout, cin, 3, 3], b [cout] or NULL */
    if (s->n <= 0)
        return;
    wg_args a = {.s = s, .out = out, .in = in, .b = b};
    wg_plan(be, &a, 0, INT64_MAX);
    wg_weights(be, &a, w, (float *)a.u, (float *)a.ut);
    cpu_parallel_for(be, a.nchunks, wg_forward_task, &a);
}

void cpu_winograd_forward_hooked(pd_backend *be, const float *in, const float *w, const pd_conv2d_shape *s,
                                 cpu_wg_hooks *h)
{
    if (s->n <= 0)
        return;
    PD_ASSERT(s->cout % CPU_WG_LANES == 0);
    wg_args a = {.s = s, .in = in, .hooks = h, .r = h->fast ? 4 : 2};
    h->extra = wg_plan(be, &a, h->extra_floats, INT64_MAX);
    wg_weights(be, &a, w, (float *)a.u, (float *)a.ut);
    cpu_parallel_for(be, a.nchunks, wg_forward_task, &a);
}

/* ---- backward ------------------------------------------------------------------------------------------- */

static void wg_backward_task(void *ctx, int64_t g, int thread)
{
    const wg_args *a = ctx;
    const pd_conv2d_shape *s = a->s;
    int64_t plane = (int64_t)s->h * s->w, esu = (int64_t)s->cout * s->cin;
    float *v = a->work + thread * a->work_floats, *z = v + a->m_off, *x = v + a->x_off, *y = v + a->y_off;
    float *du = a->part + g * a->part_floats; /* [ne, cout, cin] */
    double *dbp = a->dbpart + g * s->cout;    /* [cout] */
    memset(du, 0, (size_t)a->part_floats * sizeof(float));
    for (int32_t co = 0; co < s->cout; co++)
        dbp[co] = 0.0;
    /* rows and columns past the output stay zero */
    memset(y, 0, (size_t)(4 * a->tp * a->co) * sizeof(float));
    int64_t c0 = g * a->nchunks / a->ngroups, c1 = (g + 1) * a->nchunks / a->ngroups;
    for (int64_t c = c0; c < c1; c++) {
        int32_t n0 = (int32_t)c * a->nc, cnt = s->n - n0 < a->nc ? s->n - n0 : a->nc;
        int64_t t = cnt * a->tp;
        memset(x, 0, (size_t)a->hp * a->wp * a->ci * sizeof(float));
        wg_input(a, v, x, n0, cnt, thread);
        for (int32_t i = 0; i < cnt; i++) { /* Z [ne, T, co] from dout */
            if (a->hooks)
                a->hooks->gather(a->hooks, n0 + i, y, 2 * a->tw, thread);
            else
                cpu_wg_to_cl(y, 2 * a->tw, a->co, 0, 0, a->dout + (int64_t)(n0 + i) * s->cout * plane, s->cout, s->ho,
                             s->wo);
            cpu_wg_grad(y, a->th, a->tw, a->co, z + i * a->tp * a->co, a->eso);
        }
        cpu_wg_bias_grad(z + 5 * a->eso, t, a->co, s->cout, dbp);
        for (int e = 0; e < a->ne; e++)
            cpu_wg_gemm(1, s->cout, s->cin, t, z + e * a->eso, a->co, v + e * a->esi, a->ci, du + e * esu, s->cin, 1);
        if (!a->din)
            continue;
        for (int e = 0; e < a->ne; e++) /* dV [ne, T, ci] = Z_e U_e over V (lanes past cin keep V's zeros) */
            cpu_wg_gemm(0, t, s->cin, s->cout, z + e * a->eso, a->co, a->u + e * esu, s->cin, v + e * a->esi, a->ci,
                        0);
        for (int32_t i = 0; i < cnt; i++) {
            memset(x, 0, (size_t)a->hp * a->wp * a->ci * sizeof(float));
            cpu_wg_in_t(v + i * a->tp * a->ci, a->esi, a->th, a->tw, a->ci, x, a->wp);
            cpu_wg_from_cl(a->din + (int64_t)(n0 + i) * s->cin * plane, a->acc, NULL, x, a->wp, a->ci, 1, 1, s->cin,
                           s->h, s->w);
        }
    }
}

static void wg_backward_run(pd_backend *be, wg_args *a0, float *dw, float *db)
{
    wg_args a = *a0;
    const pd_conv2d_shape *s = a.s;
    int64_t groups = WG_GROUPS;
    a.part_floats = wg_round(16 * (int64_t)s->cout * s->cin);
    int64_t db_floats = wg_round(2 * groups * (int64_t)s->cout), extra = a.hooks ? wg_round(a.hooks->extra_floats) : 0;
    float *shared = wg_plan(be, &a, groups * a.part_floats + db_floats + extra, groups);
    a.part = shared;
    a.dbpart = (double *)(shared + groups * a.part_floats);
    if (a.hooks)
        a.hooks->extra = shared + groups * a.part_floats + db_floats;
    wg_weights(be, &a, a.w, (float *)a.u, NULL);
    a.ngroups = groups > a.nchunks ? a.nchunks : groups;
    cpu_parallel_for(be, a.ngroups, wg_backward_task, &a);
    int64_t es = (int64_t)s->cout * s->cin;
    wg_kernel_args k = {.a = &a, .dw = dw};
    cpu_parallel_for(be, (es + WG_KERNELS - 1) / WG_KERNELS, wg_weight_grads_task, &k);
    if (db)
        for (int32_t co = 0; co < s->cout; co++) {
            double sum = 0.0;
            for (int64_t g = 0; g < a.ngroups; g++)
                sum += a.dbpart[g * s->cout + co];
            db[co] += (float)sum;
        }
}

void cpu_winograd_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, const pd_conv2d_shape *s, int acc)
{
    /* din [n, cin, h, w] or NULL, dw [cout, cin, 3, 3] +=, db [cout] += or NULL, dout [n, cout, h, w],
     * in [n, cin, h, w], w [cout, cin, 3, 3] */
    if (s->n <= 0)
        return;
    wg_args a = {.s = s, .din = din, .dout = dout, .in = in, .w = w, .acc = acc};
    wg_backward_run(be, &a, dw, db);
}

void cpu_winograd_backward_hooked(pd_backend *be, float *din, float *dw, float *db, const float *in, const float *w,
                                  const pd_conv2d_shape *s, int acc, cpu_wg_hooks *h)
{
    if (s->n <= 0)
        return;
    PD_ASSERT(s->cout % CPU_WG_LANES == 0);
    wg_args a = {.s = s, .din = din, .in = in, .w = w, .acc = acc, .hooks = h};
    wg_backward_run(be, &a, dw, db);
}
