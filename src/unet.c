/* unet.c — the 1-D UNet denoiser (see unet.h): one parameter block, forward/backward over the backend.
 *
 * Block k (e1..e4 = 0..3, d1..d4 = 4..7) reads h (x for e1) and computes
 *   s = h + te -> [LeakyReLU] -> InstanceNorm -> n0 -> conv_a -> c0 -> LeakyReLU -> InstanceNorm -> n1
 *     -> conv_b -> out (+ skip for d1..d3, added in place)
 * with each "[+ te] [LeakyReLU] InstanceNorm" one norm_act op (which recomputes s and the LeakyReLU output in its
 * backward instead of keeping them), and keeps every tensor its backward reads, allocated once for max_batch.
 * The convolutions' weights are prepared (conv1d_pack) once per forward and reused by the backward; while the
 * UNet is frozen (sampling) once for all forwards.
 *
 * Backward. Two scratch buffers (gp, gq) of the widest tensor carry the gradient inside a block. The
 * gradients of the skip sources h3, h2, h1 are the gradients of g1, g2, g3 (the decoder sums): the decoder
 * leaves them in dg[2], dg[1], dg[0], where they wait until the encoder adds its own part through the acc flag of
 * norm_act_backward (dh = dg + ds), which also adds every block's input gradient, summed over channels, to the
 * embedding rows of the samples' timesteps. Since the embedding passes its gradient through unchanged, a block
 * input gradient ds is used directly as the gradient of h where nothing else flows into h.
 */
#include "unet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "devbuf.h"
#include "rng.h"

#define UNET_SLOPE 0.01f
#define UNET_EPS 1e-5f

typedef struct {
    int lead;                /* leading LeakyReLU (all but e1) */
    int32_t cin, cmid, cout;
    int64_t wa, ba, wb, bb;  /* parameter offsets */
    float *pa, *pb;          /* conv_a / conv_b weights prepared by conv1d_pack (NULL: nothing to prepare) */
    float *n0;               /* [mb, cin, L] */
    float *c0;               /* [mb, cmid, L] */
    float *n1;               /* [mb, cmid, L] */
    float *out;              /* [mb, cout, L] (plus the skip for d1..d3) */
    float *m0, *r0;          /* [mb cin] */
    float *m1, *r1;          /* [mb cmid] */
} unet_block;

struct pd_unet {
    pd_backend *be;
    pd_unet_geometry g;
    int32_t max_batch;
    int trainable;
    int64_t n_params, table;       /* parameter count; offset of the embedding table [T, L] */
    float *params, *grads, *m, *v;
    unet_block blk[8];
    float *gp, *gq;                /* [mb, widest, L] */
    float *dg[3];                  /* [mb, c0 | c1 | c2, L] gradients of g3, g2, g1 (then h1, h2, h3) */
    const int32_t *last_t;         /* timesteps of the latest forward */
    const float *last_x;           /* its input */
    int32_t last_n;
    int frozen;                    /* unet_freeze: the prepared weights stay valid */
    pd_devbuf bufs;                /* every backend buffer above */
};

static pd_status unet_geometry_check(const pd_unet_geometry *g, int32_t max_batch, pd_error *err)
{
    if (g->length < 2)
        return error_set(err, PD_ERR_CONFIG, "unet: latent length must be >= 2, got %d", g->length);
    if (g->timesteps < 1)
        return error_set(err, PD_ERR_CONFIG, "timesteps: must be >= 1, got %d", g->timesteps);
    for (int i = 0; i < 4; i++)
        if (g->channels[i] < 1 || g->channels[i] > 4096)
            return error_set(err, PD_ERR_CONFIG, "ddpm_channels: channel %d must be in [1, 4096], got %d", i + 1,
                             g->channels[i]);
    if (max_batch < 1)
        return error_set(err, PD_ERR_CONFIG, "unet: batch must be >= 1, got %d", max_batch);
    return PD_OK;
}

/* The blocks' channels and parameter offsets (PyTorch registration order), u->table and u->n_params; returns
 * the widest channel count. */
static int64_t unet_plan(pd_unet *u)
{
    const int32_t *c = u->g.channels;
    const int32_t spec[8][3] = {{1, c[0], c[0]},    {c[0], c[1], c[1]}, {c[1], c[2], c[2]}, {c[2], c[3], c[3]},
                                {c[3], c[2], c[2]}, {c[2], c[1], c[1]}, {c[1], c[0], c[0]}, {c[0], c[0], 1}};
    int64_t off = 0, widest = 0;
    for (int k = 0; k < 8; k++) {
        unet_block *B = &u->blk[k];
        B->lead = k > 0;
        B->cin = spec[k][0];
        B->cmid = spec[k][1];
        B->cout = spec[k][2];
        B->wa = off;
        off += (int64_t)B->cmid * B->cin * 3;
        B->ba = off;
        off += B->cmid;
        B->wb = off;
        off += (int64_t)B->cout * B->cmid * 3;
        B->bb = off;
        off += B->cout;
        for (int j = 0; j < 3; j++)
            if (spec[k][j] > widest)
                widest = spec[k][j];
    }
    u->table = off;
    u->n_params = off + (int64_t)u->g.timesteps * u->g.length;
    return widest;
}

/* Every buffer, for max_batch samples; devbuf_failed(&u->bufs) tells whether they all came. */
static void unet_alloc_buffers(pd_unet *u, int64_t widest)
{
    pd_backend *be = u->be;
    pd_devbuf *db = &u->bufs;
    int64_t mb = u->max_batch, L = u->g.length;
    u->params = devbuf_floats(db, u->n_params);
    for (int k = 0; k < 8; k++) {
        unet_block *B = &u->blk[k];
        B->n0 = devbuf_floats(db, mb * B->cin * L);
        B->c0 = devbuf_floats(db, mb * B->cmid * L);
        B->n1 = devbuf_floats(db, mb * B->cmid * L);
        pd_conv1d_shape sa = conv1d_shape_make(1, B->cin, (int32_t)L, B->cmid, 3, 1, 1);
        pd_conv1d_shape sb = conv1d_shape_make(1, B->cmid, (int32_t)L, B->cout, 3, 1, 1);
        int64_t npa = be->conv1d_pack_floats ? be->conv1d_pack_floats(be, &sa) : 0;
        int64_t npb = be->conv1d_pack_floats ? be->conv1d_pack_floats(be, &sb) : 0;
        if (npa > 0)
            B->pa = devbuf_floats(db, npa);
        if (npb > 0)
            B->pb = devbuf_floats(db, npb);
        B->out = devbuf_floats(db, mb * B->cout * L);
        B->m0 = devbuf_floats(db, mb * B->cin);
        B->r0 = devbuf_floats(db, mb * B->cin);
        B->m1 = devbuf_floats(db, mb * B->cmid);
        B->r1 = devbuf_floats(db, mb * B->cmid);
    }
    if (u->trainable) {
        u->grads = devbuf_floats(db, u->n_params);
        u->m = devbuf_floats(db, u->n_params);
        u->v = devbuf_floats(db, u->n_params);
        u->gp = devbuf_floats(db, mb * widest * L);
        u->gq = devbuf_floats(db, mb * widest * L);
        for (int j = 0; j < 3; j++)
            u->dg[j] = devbuf_floats(db, mb * u->g.channels[j] * L);
    }
}

pd_status unet_geometry_config(const pd_config *c, int32_t length, pd_unet_geometry *g, pd_error *err)
{
    double ch[4];
    if (config_parse_list(c->ddpm_channels, ch, 4) != 4)
        return error_set(err, PD_ERR_CONFIG, "ddpm_channels: need 4 channel counts, got '%s'", c->ddpm_channels);
    g->length = length;
    for (int i = 0; i < 4; i++)
        g->channels[i] = (int32_t)ch[i];
    g->timesteps = c->timesteps;
    return PD_OK;
}

pd_status unet_create(pd_unet **out, pd_backend *be, const pd_unet_geometry *g, int32_t max_batch, int trainable,
                      pd_error *err)
{
    *out = NULL;
    PD_TRY(unet_geometry_check(g, max_batch, err));
    pd_unet *u = calloc(1, sizeof *u);
    if (!u)
        return error_set(err, PD_ERR_NOMEM, "unet: out of memory");
    u->be = be;
    u->g = *g;
    u->max_batch = max_batch;
    u->trainable = trainable != 0;
    devbuf_init(&u->bufs, be);
    unet_alloc_buffers(u, unet_plan(u));
    if (devbuf_failed(&u->bufs)) {
        long long np = (long long)u->table;
        unet_free(u);
        return error_set(err, PD_ERR_NOMEM, "unet: out of memory for %lld parameters with batch %d", np, max_batch);
    }
    *out = u;
    return PD_OK;
}

void unet_free(pd_unet *u)
{
    if (!u)
        return;
    devbuf_free(&u->bufs);
    free(u);
}

void unet_init_params(pd_unet *u, uint64_t seed)
{
    float *p = malloc((size_t)u->n_params * sizeof *p);
    if (!p)
        error_out_of_memory("the UNet's initial values", (size_t)u->n_params * sizeof *p);
    pd_rng r;
    rng_init(&r, rng_derive(seed, "unet-init"));
    for (int k = 0; k < 8; k++) {
        const unet_block *B = &u->blk[k];
        /* PyTorch's Conv1d default: weight and bias U(+-1/sqrt(cin k)) */
        double ba = 1.0 / sqrt(3.0 * B->cin), bb = 1.0 / sqrt(3.0 * B->cmid);
        for (int64_t i = B->wa; i < B->wb; i++) /* conv_a weight and bias */
            p[i] = (float)((2.0 * rng_uniform(&r) - 1.0) * ba);
        for (int64_t i = B->wb; i < B->bb + B->cout; i++)
            p[i] = (float)((2.0 * rng_uniform(&r) - 1.0) * bb);
    }
    for (int64_t i = u->table; i < u->n_params; i++) /* nn.Embedding: N(0, 1) */
        p[i] = rng_normal(&r);
    pd_backend *be = u->be;
    be->upload(be, u->params, p, (size_t)u->n_params * sizeof *p);
    free(p);
    if (u->trainable) {
        be->fill(be, u->grads, u->n_params, 0.0f);
        be->fill(be, u->m, u->n_params, 0.0f);
        be->fill(be, u->v, u->n_params, 0.0f);
    }
}

const pd_unet_geometry *unet_geometry(const pd_unet *u) { return &u->g; }
int32_t unet_max_batch(const pd_unet *u) { return u->max_batch; }
int64_t unet_param_count(const pd_unet *u) { return u->n_params; }
float *unet_params(pd_unet *u) { return u->params; }
float *unet_grads(pd_unet *u) { return u->grads; }
float *unet_adam_m(pd_unet *u) { return u->m; }
float *unet_adam_v(pd_unet *u) { return u->v; }

/* conv1d forward / backward with the prepared weights pk (NULL: none) */
static void unet_conv_forward(pd_backend *be, float *out, const float *in, const float *w, const float *pk,
                              const float *b, const pd_conv1d_shape *s)
{
    if (be->conv1d_forward_packed)
        be->conv1d_forward_packed(be, out, in, w, pk, b, s);
    else
        be->conv1d_forward(be, out, in, w, b, s);
}

static void unet_conv_backward(pd_backend *be, float *din, float *dw, float *db, const float *dout, const float *in,
                               const float *w, const float *pk, const pd_conv1d_shape *s)
{
    if (be->conv1d_backward_packed)
        be->conv1d_backward_packed(be, din, dw, db, dout, in, w, pk, s, 0);
    else
        be->conv1d_backward(be, din, dw, db, dout, in, w, s, 0);
}

/* Prepare every convolution's weights from the current parameters. */
static void unet_pack(pd_unet *u)
{
    pd_backend *be = u->be;
    int32_t L = u->g.length;
    for (int k = 0; k < 8; k++) {
        unet_block *B = &u->blk[k];
        pd_conv1d_shape sa = conv1d_shape_make(1, B->cin, L, B->cmid, 3, 1, 1);
        pd_conv1d_shape sb = conv1d_shape_make(1, B->cmid, L, B->cout, 3, 1, 1);
        if (B->pa)
            be->conv1d_pack(be, B->pa, u->params + B->wa, &sa);
        if (B->pb)
            be->conv1d_pack(be, B->pb, u->params + B->wb, &sb);
    }
}

void unet_freeze(pd_unet *u, int frozen)
{
    u->frozen = 0;
    if (frozen) {
        unet_pack(u);
        u->frozen = 1;
    }
}

/* B->out [n, cout, L] from h [n, cin, L] and the timesteps t [n] */
static void unet_block_forward(pd_unet *u, unet_block *B, const float *h, const int32_t *t, int32_t n)
{
    pd_backend *be = u->be;
    const float *P = u->params;
    int32_t L = u->g.length;
    be->norm_act_forward(be, B->n0, h, P + u->table, t, B->m0, B->r0, n, B->cin, L, B->lead, UNET_SLOPE, UNET_EPS);
    pd_conv1d_shape sa = conv1d_shape_make(n, B->cin, L, B->cmid, 3, 1, 1);
    /* conv_a and the norm_act after it in one pass where the backend can; c0 only when a backward may follow */
    if (!be->conv1d_norm_act_forward
        || !be->conv1d_norm_act_forward(be, u->frozen ? NULL : B->c0, B->n1, B->m1, B->r1, B->n0, P + B->wa, B->pa,
                                        P + B->ba, &sa, 1, UNET_SLOPE, UNET_EPS)) {
        unet_conv_forward(be, B->c0, B->n0, P + B->wa, B->pa, P + B->ba, &sa);
        be->norm_act_forward(be, B->n1, B->c0, NULL, NULL, B->m1, B->r1, n, B->cmid, L, 1, UNET_SLOPE, UNET_EPS);
    }
    pd_conv1d_shape sb = conv1d_shape_make(n, B->cmid, L, B->cout, 3, 1, 1);
    unet_conv_forward(be, B->out, B->n1, P + B->wb, B->pb, P + B->bb, &sb);
}

const float *unet_forward(pd_unet *u, const float *x, const int32_t *t, int32_t n)
{
    PD_ASSERT(n >= 1 && n <= u->max_batch);
    pd_backend *be = u->be;
    int64_t L = u->g.length;
    if (!u->frozen)
        unet_pack(u);
    const float *h = x;
    for (int k = 0; k < 8; k++) {
        unet_block *B = &u->blk[k];
        unet_block_forward(u, B, h, t, n);
        if (k >= 4 && k < 7) /* g = d(...) + h3, h2, h1 */
            be->add(be, B->out, B->out, u->blk[6 - k].out, n * B->cout * L);
        h = B->out;
    }
    u->last_t = t;
    u->last_n = n;
    u->last_x = x;
    return u->blk[7].out;
}

/* Parameter gradients of block B from dout [n, cout, L], whose input was h [n, cin, L]; ds [n, cin, L] = gradient
 * of the block input s = h + te (written, or added when acc; NULL: not wanted), the embedding table's gradient
 * accumulated on the way. dout may be gq, ds may be gq; neither may be gp. */
static void unet_block_backward(pd_unet *u, const unet_block *B, const float *h, const float *dout, float *ds, int acc)
{
    pd_backend *be = u->be;
    const float *P = u->params;
    float *G = u->grads, *gp = u->gp, *gq = u->gq;
    int32_t L = u->g.length, n = u->last_n;
    const int32_t *t = u->last_t;
    pd_conv1d_shape sa = conv1d_shape_make(n, B->cin, L, B->cmid, 3, 1, 1);
    pd_conv1d_shape sb = conv1d_shape_make(n, B->cmid, L, B->cout, 3, 1, 1);
    unet_conv_backward(be, gp, G + B->wb, G + B->bb, dout, B->n1, P + B->wb, B->pb, &sb);        /* d n1 */
    be->norm_act_backward(be, gq, NULL, gp, B->c0, NULL, NULL, B->m1, B->r1, n, B->cmid, L, 1, UNET_SLOPE,
                          0);                                                                     /* d c0 */
    unet_conv_backward(be, gp, G + B->wa, G + B->ba, gq, B->n0, P + B->wa, B->pa, &sa);          /* d n0 */
    be->norm_act_backward(be, ds, G + u->table, gp, h, P + u->table, t, B->m0, B->r0, n, B->cin, L, B->lead,
                          UNET_SLOPE, acc);                                                       /* d s */
}

void unet_backward(pd_unet *u, const float *deps, int32_t n)
{
    PD_ASSERT(u->trainable && !u->frozen && n == u->last_n); /* a frozen forward keeps no c0 */
    const float *dout = deps;
    /* decoder: d4, d3, d2 leave the gradients of g3, g2, g1 in dg[0..2]; d1 leaves that of h4 in gq */
    for (int k = 7; k >= 4; k--) {
        const unet_block *B = &u->blk[k];
        float *ds = k > 4 ? u->dg[7 - k] : u->gq;
        unet_block_backward(u, B, u->blk[k - 1].out, dout, ds, 0);
        dout = ds;
    }
    /* encoder: e4, e3, e2 add their input gradient to the skip gradient waiting in dg: dh3, dh2, dh1 */
    for (int k = 3; k >= 1; k--) {
        float *dh = u->dg[k - 1];
        unet_block_backward(u, &u->blk[k], u->blk[k - 1].out, dout, dh, 1);
        dout = dh;
    }
    unet_block_backward(u, &u->blk[0], u->last_x, dout, NULL, 0);
}
