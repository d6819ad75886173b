/* ae.c — the parameter autoencoder (see ae.h): geometry, one parameter block, forward/backward over the backend.
 *
 * All eight layers (four encoder, four decoder) have the same shape of computation:
 *   x -> [LeakyReLU] -> InstanceNorm -> n0 -> op_a -> c0 -> LeakyReLU -> InstanceNorm -> n1 -> conv_b -> out
 * with op_a a stride-1 Conv1d (encoder) or a strided ConvTranspose1d (decoder) and conv_b a strided Conv1d
 * (encoder) or a stride-1 Conv1d (decoder); each "[LeakyReLU] InstanceNorm" is one norm_act op, whose backward
 * recomputes the LeakyReLU output from its input. Every tensor that a backward op reads is kept in its own
 * buffer, allocated once for max_batch; the backward pass ping-pongs between two gradient buffers sized for the
 * largest activation, so gradients need 2 activations of memory, not one per layer. conv_b's weights are
 * prepared (conv1d_pack) by each forward and reused by its backward.
 *
 * Training forward: x [n, d] -> (noise_mix a) -> pad to [n, 1, dp] -> encoder -> tanh -> z [n, C, Ll]
 *   -> (noise_mix b -> zn -> clamp -> zc) -> decoder -> [n, 1, lout] -> crop to y [n, d].
 * The backward pass goes through the clamp (using zn), the (1 - b) factor of the noise mix, tanh (using z) and
 * the encoder down to its first convolution's weights; the gradient of the input itself is never formed.
 * ae_encode / ae_decode share the layer buffers with ae_forward (they invalidate a pending backward) but write
 * their results to buffers of their own.
 */
#include "ae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "devbuf.h"
#include "rng.h"

#define AE_SLOPE 0.01f
#define AE_EPS 1e-5f

typedef struct {
    int lead;                   /* leading LeakyReLU (all but encoder layer 0) */
    int transposed;             /* op_a is a ConvTranspose1d */
    int32_t cin, cmid, cout;    /* channels: input, after op_a, after conv_b */
    int32_t lin, lmid, lout;    /* lengths likewise */
    int32_t ka, sa, pa;         /* op_a kernel, stride, pad */
    int32_t kb, sb, pb;         /* conv_b kernel, stride, pad */
    int64_t wa, ba, wb, bb;     /* parameter offsets */
    float *wpk;                 /* conv_b weights prepared by conv1d_pack (NULL: nothing to prepare) */
    float *n0;                  /* [mb, cin, lin] */
    float *c0;                  /* [mb, cmid, lmid] */
    float *n1;                  /* [mb, cmid, lmid] */
    float *out;                 /* [mb, cout, lout] */
    float *m0, *r0;             /* [mb cin] instance-norm statistics */
    float *m1, *r1;             /* [mb cmid] */
} ae_layer;

struct pd_ae {
    pd_backend *be;
    pd_ae_geometry g;
    int32_t max_batch;
    int trainable;
    int32_t dp, lat_c, lat_l, lout;
    int64_t n_params, lat;          /* parameters; latent numbers per sample */
    float *params, *grads, *m, *v;  /* [n_params] each (grads, m, v: trainable only) */
    ae_layer enc[4], dec[4];
    float *xn;    /* [mb, d] noisy input */
    float *x0;    /* [mb, 1, dp] padded input */
    float *z;     /* [mb, lat] tanh output of the training forward */
    float *zn;    /* [mb, lat] noisy latent before the clamp */
    float *zc;    /* [mb, lat] clamped latent (decoder input) */
    float *zenc;  /* [mb, lat] ae_encode result */
    float *y;     /* [mb, d] ae_forward result */
    float *ydec;  /* [mb, d] ae_decode result */
    /* trainable only */
    float *gp, *gq;   /* [mb, largest layer tensor] gradient ping-pong */
    float *dy;        /* [mb, d] d loss / d y */
    float *dout;      /* [mb, lout] padded d loss / d decoder output (== dy when lout == d) */
    float *dz, *dz2;  /* [mb, lat] latent gradients */
    float *loss;      /* [1] accumulated mean losses */
    int64_t loss_count;
    /* state of the latest ae_forward, for ae_backward */
    int32_t fwd_n;
    float fwd_b;
    pd_devbuf bufs; /* every backend buffer above */
};

/* ------------------------------------------------------------------------------------------ geometry */

pd_ae_geometry ae_geometry_small(int32_t d)
{
    pd_ae_geometry g = {.d = d, .fold = 3, .kernel = 3, .enc = {2, 2, 2, 2}, .dec = {2, 64, 64, 8}};
    return g;
}

pd_ae_geometry ae_geometry_medium(int32_t d)
{
    pd_ae_geometry g = {.d = d, .fold = 5, .kernel = 5, .enc = {4, 4, 4, 4}, .dec = {4, 256, 256, 8}};
    return g;
}

/* The encoder's layers from padded length dp; *len becomes the latent length. Returns 0 (err set) when a length
 * falls below 2. */
static int ae_plan_encoder(const pd_ae_geometry *g, ae_layer enc[4], int64_t *len, pd_error *err)
{
    int32_t f = g->fold, k = g->kernel;
    int32_t ch[5] = {g->enc[0], g->enc[0], g->enc[1], g->enc[2], g->enc[3]};
    for (int i = 0; i < 4; i++) {
        ae_layer *L = &enc[i];
        memset(L, 0, sizeof *L);
        L->lead = i > 0;
        L->cin = i == 0 ? 1 : ch[i];
        L->cmid = ch[i];
        L->cout = ch[i + 1];
        L->ka = L->kb = k;
        L->sa = 1;
        L->pa = 1;
        L->sb = f;
        L->pb = 0;
        int64_t mid = *len + 2 - k + 1;
        int64_t lo = mid >= k ? (mid - k) / f + 1 : 0;
        if (*len < 2 || mid < 2 || lo < 2) {
            error_set(err, PD_ERR_CONFIG,
                      "ae: d = %d is too short for fold %d, kernel %d: encoder layer %d would reach length %lld "
                      "(at least 2 needed; use a smaller fold or kernel)",
                      g->d, f, k, i, (long long)(lo < mid ? lo : mid));
            return 0;
        }
        L->lin = (int32_t)*len;
        L->lmid = (int32_t)mid;
        L->lout = (int32_t)lo;
        *len = lo;
    }
    return 1;
}

/* The decoder's layers from the latent length *len; *len becomes the output length. Returns 0 (err set) when a
 * length falls below 2 or grows past big. */
static int ae_plan_decoder(const pd_ae_geometry *g, ae_layer dec[4], int64_t *len, int64_t big, pd_error *err)
{
    int32_t f = g->fold, k = g->kernel;
    int32_t dc[5] = {g->dec[0], g->dec[1], g->dec[2], g->dec[3], 1};
    for (int i = 0; i < 4; i++) {
        ae_layer *L = &dec[i];
        memset(L, 0, sizeof *L);
        L->lead = 1;
        L->transposed = 1;
        L->cin = L->cmid = dc[i];
        L->cout = dc[i + 1];
        L->ka = L->kb = k;
        L->sa = f;
        L->pa = 0;
        L->sb = 1;
        L->pb = i == 3 ? f : f - 1;
        int64_t mid = (*len - 1) * f + k;
        int64_t lo = mid + 2 * L->pb - k + 1;
        if (mid > big || lo > big) {
            error_set(err, PD_ERR_CONFIG, "ae: decoder layer %d length %lld too large", i, (long long)lo);
            return 0;
        }
        if (mid < 2 || lo < 2) {
            error_set(err, PD_ERR_CONFIG, "ae: decoder layer %d would reach length %lld (at least 2 needed)", i,
                      (long long)(lo < mid ? lo : mid));
            return 0;
        }
        L->lin = (int32_t)*len;
        L->lmid = (int32_t)mid;
        L->lout = (int32_t)lo;
        *len = lo;
    }
    return 1;
}

/* The layers' parameter offsets in PyTorch registration order (per layer op_a weight, bias, conv_b weight,
 * bias; encoder then decoder); returns the parameter count. */
static int64_t ae_plan_offsets(ae_layer enc[4], ae_layer dec[4])
{
    int64_t off = 0;
    for (int i = 0; i < 8; i++) {
        ae_layer *L = i < 4 ? &enc[i] : &dec[i - 4];
        L->wa = off;
        off += (int64_t)L->cin * L->cmid * L->ka;
        L->ba = off;
        off += L->cmid;
        L->wb = off;
        off += (int64_t)L->cmid * L->cout * L->kb;
        L->bb = off;
        off += L->cout;
    }
    return off;
}

/* The layer plan of a geometry (channels, lengths, kernels; offsets of the parameters). Returns 0 and names the
 * problem in err when a length falls below 2 (InstanceNorm needs two elements, as PyTorch) or grows too large. */
static int ae_plan(const pd_ae_geometry *g, ae_layer enc[4], ae_layer dec[4], int32_t *dp_out, int64_t *np_out,
                   pd_error *err)
{
    const int64_t big = (int64_t)1 << 30;
    int32_t f = g->fold, k = g->kernel;
    int64_t f4 = (int64_t)f * f * f * f;
    int64_t dp = ((int64_t)g->d / f4 + 1) * f4;
    if (dp > big) {
        error_set(err, PD_ERR_CONFIG, "ae: d = %d with fold %d pads to %lld numbers, too large", g->d, f,
                  (long long)dp);
        return 0;
    }
    int64_t len = dp;
    if (!ae_plan_encoder(g, enc, &len, err) || !ae_plan_decoder(g, dec, &len, big, err))
        return 0;
    if (len < g->d) {
        error_set(err, PD_ERR_CONFIG,
                  "ae: the decoder of fold %d, kernel %d reconstructs only %lld of d = %d numbers; use a smaller kernel",
                  f, k, (long long)len, g->d);
        return 0;
    }
    *dp_out = (int32_t)dp;
    *np_out = ae_plan_offsets(enc, dec);
    return 1;
}

pd_status ae_geometry_check(const pd_ae_geometry *g, pd_error *err)
{
    if (g->d < 1)
        return error_set(err, PD_ERR_CONFIG, "ae: vector length d must be >= 1, got %d", g->d);
    if (g->fold < 2 || g->fold > 64)
        return error_set(err, PD_ERR_CONFIG, "ae_fold: must be in [2, 64], got %d", g->fold);
    if (g->kernel < 1 || g->kernel > 64)
        return error_set(err, PD_ERR_CONFIG, "ae_kernel: must be in [1, 64], got %d", g->kernel);
    for (int i = 0; i < 4; i++) {
        if (g->enc[i] < 1 || g->enc[i] > 4096)
            return error_set(err, PD_ERR_CONFIG, "ae_enc: channel %d must be in [1, 4096], got %d", i + 1, g->enc[i]);
        if (g->dec[i] < 1 || g->dec[i] > 4096)
            return error_set(err, PD_ERR_CONFIG, "ae_dec: channel %d must be in [1, 4096], got %d", i + 1, g->dec[i]);
    }
    if (g->enc[3] != g->dec[0])
        return error_set(err, PD_ERR_CONFIG,
                         "ae_dec: the first decoder channel count (%d) must equal the last encoder one (%d), the "
                         "latent's channels",
                         g->dec[0], g->enc[3]);
    ae_layer enc[4], dec[4];
    int32_t dp;
    int64_t np;
    return ae_plan(g, enc, dec, &dp, &np, err) ? PD_OK : err ? err->status : PD_ERR_CONFIG;
}

pd_status ae_geometry_config(const pd_config *c, int64_t d, pd_ae_geometry *g, pd_error *err)
{
    if (strcmp(c->ae, "small") == 0) {
        *g = ae_geometry_small((int32_t)d);
    } else if (strcmp(c->ae, "medium") == 0) {
        *g = ae_geometry_medium((int32_t)d);
    } else {
        double enc[4], dec[4];
        if (config_parse_list(c->ae_enc, enc, 4) != 4 || config_parse_list(c->ae_dec, dec, 4) != 4)
            return error_set(err, PD_ERR_CONFIG, "ae_enc/ae_dec: need 4 channel counts each");
        g->d = (int32_t)d;
        g->fold = c->ae_fold;
        g->kernel = c->ae_kernel;
        for (int i = 0; i < 4; i++) {
            g->enc[i] = (int32_t)enc[i];
            g->dec[i] = (int32_t)dec[i];
        }
    }
    return ae_geometry_check(g, err);
}

/* ------------------------------------------------------------------------------------------ lifetime */

pd_status ae_create(pd_ae **out, pd_backend *be, const pd_ae_geometry *g, int32_t max_batch, int trainable,
                    pd_error *err)
{
    *out = NULL;
    PD_TRY(ae_geometry_check(g, err));
    if (max_batch < 1)
        return error_set(err, PD_ERR_CONFIG, "ae: batch must be >= 1, got %d", max_batch);
    pd_ae *ae = calloc(1, sizeof *ae);
    if (!ae)
        return error_set(err, PD_ERR_NOMEM, "ae: out of memory");
    ae->be = be;
    ae->g = *g;
    ae->max_batch = max_batch;
    ae->trainable = trainable != 0;
    devbuf_init(&ae->bufs, be);
    PD_ASSERT(ae_plan(g, ae->enc, ae->dec, &ae->dp, &ae->n_params, NULL));
    ae->lat_c = ae->enc[3].cout;
    ae->lat_l = ae->enc[3].lout;
    ae->lat = (int64_t)ae->lat_c * ae->lat_l;
    ae->lout = ae->dec[3].lout;
    int64_t mb = max_batch, d = g->d, biggest = 0;
    ae->params = devbuf_floats(&ae->bufs, ae->n_params);
    for (int i = 0; i < 8; i++) {
        ae_layer *L = i < 4 ? &ae->enc[i] : &ae->dec[i - 4];
        int64_t nin = (int64_t)L->cin * L->lin, nmid = (int64_t)L->cmid * L->lmid;
        L->n0 = devbuf_floats(&ae->bufs, mb * nin);
        L->c0 = devbuf_floats(&ae->bufs, mb * nmid);
        L->n1 = devbuf_floats(&ae->bufs, mb * nmid);
        pd_conv1d_shape sb = conv1d_shape_make(1, L->cmid, L->lmid, L->cout, L->kb, L->sb, L->pb);
        int64_t npb = be->conv1d_pack_floats ? be->conv1d_pack_floats(be, &sb) : 0;
        if (npb > 0)
            L->wpk = devbuf_floats(&ae->bufs, npb);
        L->out = devbuf_floats(&ae->bufs, mb * L->cout * L->lout);
        L->m0 = devbuf_floats(&ae->bufs, mb * L->cin);
        L->r0 = devbuf_floats(&ae->bufs, mb * L->cin);
        L->m1 = devbuf_floats(&ae->bufs, mb * L->cmid);
        L->r1 = devbuf_floats(&ae->bufs, mb * L->cmid);
        if (nin > biggest)
            biggest = nin;
        if (nmid > biggest)
            biggest = nmid;
    }
    ae->xn = devbuf_floats(&ae->bufs, mb * d);
    ae->x0 = devbuf_floats(&ae->bufs, mb * ae->dp);
    ae->z = devbuf_floats(&ae->bufs, mb * ae->lat);
    ae->zn = devbuf_floats(&ae->bufs, mb * ae->lat);
    ae->zc = devbuf_floats(&ae->bufs, mb * ae->lat);
    ae->zenc = devbuf_floats(&ae->bufs, mb * ae->lat);
    ae->y = devbuf_floats(&ae->bufs, mb * d);
    ae->ydec = devbuf_floats(&ae->bufs, mb * d);
    if (ae->trainable) {
        ae->grads = devbuf_floats(&ae->bufs, ae->n_params);
        ae->m = devbuf_floats(&ae->bufs, ae->n_params);
        ae->v = devbuf_floats(&ae->bufs, ae->n_params);
        ae->gp = devbuf_floats(&ae->bufs, mb * biggest);
        ae->gq = devbuf_floats(&ae->bufs, mb * biggest);
        ae->dy = devbuf_floats(&ae->bufs, mb * d);
        ae->dout = ae->lout == d ? ae->dy : devbuf_floats(&ae->bufs, mb * ae->lout);
        ae->dz = devbuf_floats(&ae->bufs, mb * ae->lat);
        ae->dz2 = devbuf_floats(&ae->bufs, mb * ae->lat);
        ae->loss = devbuf_floats(&ae->bufs, 1);
    }
    if (devbuf_failed(&ae->bufs)) {
        long long np = (long long)ae->n_params;
        ae_free(ae);
        return error_set(err, PD_ERR_NOMEM, "ae: out of memory for %lld parameters with batch %d", np, max_batch);
    }
    *out = ae;
    return PD_OK;
}

void ae_free(pd_ae *ae)
{
    if (!ae)
        return;
    devbuf_free(&ae->bufs);
    free(ae);
}

/* U(-bound, bound) with bound = 1 / sqrt(fan_in), PyTorch's default for Conv1d / ConvTranspose1d. */
static void ae_init_uniform(float *p, int64_t n, float bound, pd_rng *r)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)((2.0 * rng_uniform(r) - 1.0) * bound);
}

void ae_init_params(pd_ae *ae, uint64_t seed)
{
    float *p = malloc((size_t)ae->n_params * sizeof *p);
    if (!p)
        error_out_of_memory("the autoencoder's initial values", (size_t)ae->n_params * sizeof *p);
    pd_rng r;
    rng_init(&r, rng_derive(seed, "ae-init"));
    for (int i = 0; i < 8; i++) {
        const ae_layer *L = i < 4 ? &ae->enc[i] : &ae->dec[i - 4];
        /* Conv1d weight [cmid, cin, k]: fan_in cin k; ConvTranspose1d weight [cin, cmid, k]: fan_in cmid k */
        int64_t fan_a = (int64_t)(L->transposed ? L->cmid : L->cin) * L->ka;
        float bound_a = 1.0f / sqrtf((float)fan_a), bound_b = 1.0f / sqrtf((float)((int64_t)L->cmid * L->kb));
        ae_init_uniform(p + L->wa, (int64_t)L->cin * L->cmid * L->ka, bound_a, &r);
        ae_init_uniform(p + L->ba, L->cmid, bound_a, &r);
        ae_init_uniform(p + L->wb, (int64_t)L->cmid * L->cout * L->kb, bound_b, &r);
        ae_init_uniform(p + L->bb, L->cout, bound_b, &r);
    }
    pd_backend *be = ae->be;
    be->upload(be, ae->params, p, (size_t)ae->n_params * sizeof *p);
    free(p);
    if (ae->trainable) {
        be->fill(be, ae->grads, ae->n_params, 0.0f);
        be->fill(be, ae->m, ae->n_params, 0.0f);
        be->fill(be, ae->v, ae->n_params, 0.0f);
    }
}

const pd_ae_geometry *ae_geometry(const pd_ae *ae) { return &ae->g; }
int32_t ae_padded_length(const pd_ae *ae) { return ae->dp; }
int32_t ae_latent_channels(const pd_ae *ae) { return ae->lat_c; }
int32_t ae_latent_length(const pd_ae *ae) { return ae->lat_l; }
int64_t ae_latent_size(const pd_ae *ae) { return ae->lat; }
int64_t ae_param_count(const pd_ae *ae) { return ae->n_params; }
float *ae_params(pd_ae *ae) { return ae->params; }
float *ae_grads(pd_ae *ae) { return ae->grads; }
float *ae_adam_m(pd_ae *ae) { return ae->m; }
float *ae_adam_v(pd_ae *ae) { return ae->v; }

/* ------------------------------------------------------------------------------------------ layers */

static pd_conv1d_shape ae_shape_a(const ae_layer *L, int32_t n)
{
    return L->transposed ? convt1d_shape_make(n, L->cin, L->lin, L->cmid, L->ka, L->sa, L->pa)
                         : conv1d_shape_make(n, L->cin, L->lin, L->cmid, L->ka, L->sa, L->pa);
}

static pd_conv1d_shape ae_shape_b(const ae_layer *L, int32_t n)
{
    return conv1d_shape_make(n, L->cmid, L->lmid, L->cout, L->kb, L->sb, L->pb);
}

/* L->out [n, cout, lout] from x [n, cin, lin] */
static void ae_layer_forward(pd_backend *be, const float *P, ae_layer *L, const float *x, int32_t n)
{
    be->norm_act_forward(be, L->n0, x, NULL, NULL, L->m0, L->r0, n, L->cin, L->lin, L->lead, AE_SLOPE, AE_EPS);
    pd_conv1d_shape sa = ae_shape_a(L, n);
    (L->transposed ? be->convt1d_forward : be->conv1d_forward)(be, L->c0, L->n0, P + L->wa, P + L->ba, &sa);
    be->norm_act_forward(be, L->n1, L->c0, NULL, NULL, L->m1, L->r1, n, L->cmid, L->lmid, 1, AE_SLOPE, AE_EPS);
    pd_conv1d_shape sb = ae_shape_b(L, n);
    if (L->wpk) {
        be->conv1d_pack(be, L->wpk, P + L->wb, &sb);
        be->conv1d_forward_packed(be, L->out, L->n1, P + L->wb, L->wpk, P + L->bb, &sb);
    } else {
        be->conv1d_forward(be, L->out, L->n1, P + L->wb, P + L->bb, &sb);
    }
}

/* Parameter gradients of one layer (accumulated into G) from dout [n, cout, lout]; dx [n, cin, lin] = gradient of
 * the layer input x when dx != NULL. gp, gq: scratch of the largest layer tensor; dout may be gq (it is consumed
 * first), dx may be gq, neither may be gp. */
static void ae_layer_backward(pd_backend *be, const float *P, float *G, const ae_layer *L, const float *x,
                              const float *dout, float *dx, float *gp, float *gq, int32_t n)
{
    pd_conv1d_shape sb = ae_shape_b(L, n), sa = ae_shape_a(L, n);
    if (L->wpk) /* prepared by the forward */
        be->conv1d_backward_packed(be, gp, G + L->wb, G + L->bb, dout, L->n1, P + L->wb, L->wpk, &sb, 0); /* d n1 */
    else
        be->conv1d_backward(be, gp, G + L->wb, G + L->bb, dout, L->n1, P + L->wb, &sb, 0);
    be->norm_act_backward(be, gq, NULL, gp, L->c0, NULL, NULL, L->m1, L->r1, n, L->cmid, L->lmid, 1, AE_SLOPE,
                          0);                                                                  /* d c0 */
    (L->transposed ? be->convt1d_backward : be->conv1d_backward)(be, dx ? gp : NULL, G + L->wa, G + L->ba, gq,
                                                                 L->n0, P + L->wa, &sa, 0);    /* d n0 */
    if (dx)
        be->norm_act_backward(be, dx, NULL, gp, x, NULL, NULL, L->m0, L->r0, n, L->cin, L->lin, L->lead, AE_SLOPE,
                              0);                                                              /* d x */
}

/* Encoder on the padded input ae->x0 [n, 1, dp]; tanh into z [n, lat]. */
static void ae_run_encoder(pd_ae *ae, float *z, int32_t n)
{
    pd_backend *be = ae->be;
    const float *h = ae->x0;
    for (int i = 0; i < 4; i++) {
        ae_layer_forward(be, ae->params, &ae->enc[i], h, n);
        h = ae->enc[i].out;
    }
    be->tanh_forward(be, z, h, (int64_t)n * ae->lat);
}

/* Decoder from z [n, lat]; returns the uncropped output [n, 1, lout]. */
static const float *ae_run_decoder(pd_ae *ae, const float *z, int32_t n)
{
    const float *h = z;
    for (int i = 0; i < 4; i++) {
        ae_layer_forward(ae->be, ae->params, &ae->dec[i], h, n);
        h = ae->dec[i].out;
    }
    return h;
}

/* ------------------------------------------------------------------------------------------ passes */

const float *ae_forward(pd_ae *ae, const float *x, int32_t n, float a, float b, uint64_t seed, int64_t step)
{
    pd_backend *be = ae->be;
    PD_ASSERT(n >= 1 && n <= ae->max_batch);
    int32_t d = ae->g.d;
    const float *xin = x;
    if (a != 0.0f) {
        be->noise_mix(be, ae->xn, x, a, (int64_t)n * d, rng_hash(rng_derive(seed, "ae-input-noise"), (uint64_t)step),
                      0);
        xin = ae->xn;
    }
    be->pad_rows(be, ae->x0, xin, n, d, ae->dp);
    ae_run_encoder(ae, ae->z, n);
    const float *zdec = ae->z;
    if (b != 0.0f) {
        int64_t nl = (int64_t)n * ae->lat;
        be->noise_mix(be, ae->zn, ae->z, b, nl, rng_hash(rng_derive(seed, "ae-latent-noise"), (uint64_t)step), 0);
        be->clamp_forward(be, ae->zc, ae->zn, -1.0f, 1.0f, nl);
        zdec = ae->zc;
    }
    const float *out = ae_run_decoder(ae, zdec, n);
    be->pad_rows(be, ae->y, out, n, ae->lout, d);
    ae->fwd_n = n;
    ae->fwd_b = b;
    return ae->y;
}

void ae_backward(pd_ae *ae, const float *dout, int32_t n)
{
    pd_backend *be = ae->be;
    PD_ASSERT(ae->trainable && ae->fwd_n == n);
    const float *P = ae->params;
    float *G = ae->grads, *gp = ae->gp, *gq = ae->gq;
    const float *dcur = dout;
    if (ae->lout != ae->g.d) {
        be->pad_rows(be, ae->dout, dout, n, ae->g.d, ae->lout);
        dcur = ae->dout;
    }
    float b = ae->fwd_b;
    const float *zdec = b != 0.0f ? ae->zc : ae->z;
    for (int i = 3; i >= 0; i--) {
        const float *x = i > 0 ? ae->dec[i - 1].out : zdec;
        ae_layer_backward(be, P, G, &ae->dec[i], x, dcur, gq, gp, gq, n);
        dcur = gq;
    }
    int64_t nl = (int64_t)n * ae->lat;
    if (b != 0.0f) {
        be->clamp_backward(be, ae->dz, gq, ae->zn, -1.0f, 1.0f, nl, 0);
        be->axpby(be, ae->dz, 1.0f - b, ae->dz, 0.0f, nl); /* d z = (1 - b) d zn */
        dcur = ae->dz;
    }
    be->tanh_backward(be, ae->dz2, dcur, ae->z, nl, 0);
    dcur = ae->dz2;
    for (int i = 3; i >= 0; i--) {
        const float *x = i > 0 ? ae->enc[i - 1].out : ae->x0;
        ae_layer_backward(be, P, G, &ae->enc[i], x, dcur, i > 0 ? gq : NULL, gp, gq, n);
        dcur = gq;
    }
}

void ae_train_step(pd_ae *ae, const float *x, int32_t n, const pd_ae_train_opts *o, int64_t step)
{
    pd_backend *be = ae->be;
    PD_ASSERT(ae->trainable && step >= 1);
    const float *y = ae_forward(ae, x, n, o->input_noise, o->latent_noise, o->seed, step);
    be->mse(be, ae->loss, ae->dy, y, x, (int64_t)n * ae->g.d);
    be->fill(be, ae->grads, ae->n_params, 0.0f);
    ae_backward(ae, ae->dy, n);
    be->adamw_step(be, ae->params, ae->grads, ae->m, ae->v, ae->n_params, o->lr, 0.9f, 0.999f, 1e-8f,
                   o->weight_decay, step);
    ae->loss_count++;
}

float ae_take_loss(pd_ae *ae)
{
    if (!ae->trainable || ae->loss_count == 0)
        return NAN;
    float acc = 0.0f;
    ae->be->download(ae->be, &acc, ae->loss, sizeof acc);
    ae->be->fill(ae->be, ae->loss, 1, 0.0f);
    float mean = acc / (float)ae->loss_count;
    ae->loss_count = 0;
    return mean;
}

void ae_loss_window(pd_ae *ae, float *sum, int64_t *count)
{
    *sum = 0.0f;
    *count = ae->trainable ? ae->loss_count : 0;
    if (*count > 0)
        ae->be->download(ae->be, sum, ae->loss, sizeof *sum);
}

void ae_loss_window_set(pd_ae *ae, float sum, int64_t count)
{
    PD_ASSERT(ae->trainable && count >= 0);
    ae->be->upload(ae->be, ae->loss, &sum, sizeof sum);
    ae->loss_count = count;
}

const float *ae_encode(pd_ae *ae, const float *x, int32_t n)
{
    PD_ASSERT(n >= 1 && n <= ae->max_batch);
    ae->be->pad_rows(ae->be, ae->x0, x, n, ae->g.d, ae->dp);
    ae_run_encoder(ae, ae->zenc, n);
    ae->fwd_n = 0;
    return ae->zenc;
}

const float *ae_decode(pd_ae *ae, const float *z, int32_t n)
{
    PD_ASSERT(n >= 1 && n <= ae->max_batch);
    const float *out = ae_run_decoder(ae, z, n);
    ae->be->pad_rows(ae->be, ae->ydec, out, n, ae->lout, ae->g.d);
    ae->fwd_n = 0;
    return ae->ydec;
}
