/* stage_ae.c — the "ae" stage: train the parameter autoencoder on the collected vectors.
 *
 * The K vectors are scaled as normalize says (vecnorm.h: none, per target tensor, or per coordinate, the
 * default), which keeps the AE's job the same whatever the scale of the target parameters; a coordinate that never
 * moved is pinned (std 0: decoded as its constant value). Generated vectors are mapped back with the same
 * mean/std. Checkpoints go to state/ae.bin (parameters, AdamW moments, step, mean, std); the finished file also
 * holds the noise-free latents of the K vectors, which the ddpm stage learns. Init, batches and noise draw from
 * stage_gen_seed (gen_seed, or seed when it is 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"
#include "vecnorm.h"

typedef struct {
    pd_pipeline *p;
    pd_ae *ae;
    pd_ae_train_opts opts;
    float *x_all;        /* device [k, d] normalised */
    float *x_batch;      /* device [batch, d] when batch < k */
    float *host_all;     /* host [k, d] normalised */
    float *host_batch;   /* host [batch, d] */
    float *mean, *std;   /* host [d] */
    int32_t k, batch;
    int64_t d;
    int32_t geometry[11];
    char path[PD_PATH_MAX];
} stage_ae_ctx;

void stage_ae_signature(const pd_ae_geometry *g, int32_t sig[11])
{
    sig[0] = g->d;
    sig[1] = g->fold;
    sig[2] = g->kernel;
    for (int i = 0; i < 4; i++) {
        sig[3 + i] = g->enc[i];
        sig[7 + i] = g->dec[i];
    }
}

static void stage_ae_step(void *vp, int64_t step)
{
    stage_ae_ctx *c = vp;
    pd_backend *be = c->p->be;
    const float *x = c->x_all;
    int32_t n = c->k;
    if (c->batch < c->k) {
        pd_rng r;
        rng_init(&r, rng_hash(rng_derive(stage_gen_seed(&c->p->cfg), "ae-batch"), (uint64_t)step));
        for (int32_t i = 0; i < c->batch; i++)
            memcpy(c->host_batch + (int64_t)i * c->d, c->host_all + (int64_t)rng_below(&r, (uint32_t)c->k) * c->d,
                   (size_t)c->d * sizeof(float));
        be->upload(be, c->x_batch, c->host_batch, (size_t)c->batch * (size_t)c->d * sizeof(float));
        x = c->x_batch;
        n = c->batch;
    }
    ae_train_step(c->ae, x, n, &c->opts, step);
}

static float stage_ae_take_loss(void *vp)
{
    return ae_take_loss(((stage_ae_ctx *)vp)->ae);
}

static pd_status stage_ae_save(void *vp, int64_t step, int complete, pd_error *err)
{
    stage_ae_ctx *c = vp;
    pd_backend *be = c->p->be;
    PD_TRY(pipeline_checkpoint(c->p, err));
    stage_net net = {ae_params(c->ae), ae_adam_m(c->ae), ae_adam_v(c->ae), ae_param_count(c->ae), c->geometry, 11};
    float window[2], sum;
    int64_t steps;
    ae_loss_window(c->ae, &sum, &steps);
    stage_extra extra[4] = {{"mean", c->mean, c->d}, {"std", c->std, c->d},
                            stage_loss_window_extra(sum, steps, window), {"latents", NULL, 0}};
    float *lat = NULL;
    if (complete) {
        int64_t ls = ae_latent_size(c->ae);
        lat = malloc((size_t)c->k * (size_t)ls * sizeof(float));
        if (!lat)
            return error_set(err, PD_ERR_NOMEM, "ae: out of memory");
        be->download(be, lat, ae_encode(c->ae, c->x_all, c->k), (size_t)c->k * (size_t)ls * sizeof(float));
        extra[3] = (stage_extra){"latents", lat, c->k * ls};
    }
    pd_status st = stage_net_save(be, &net, c->path, "ae", step, complete, extra, complete ? 4 : 3, err);
    free(lat);
    return st;
}

/* mean/std [d] as normalize says (tensor: the target's tensor sizes, from the task model's layout) and the
 * scaled vectors host_all. */
static pd_status stage_ae_normalise(stage_ae_ctx *c, const float *vecs, pd_error *err)
{
    pd_pipeline *p = c->p;
    pd_vecnorm_mode mode;
    PD_TRY(vecnorm_mode_parse(p->cfg.normalize, &mode, err));
    int64_t *sizes = NULL;
    int32_t nt = 0;
    if (mode == PD_VECNORM_TENSOR) {
        PD_TRY(pipeline_need_target(p, err));
        nt = p->target.n;
        if (!(sizes = malloc((size_t)(nt > 0 ? nt : 1) * sizeof *sizes)))
            return error_set(err, PD_ERR_NOMEM, "ae: out of memory");
        for (int32_t t = 0; t < nt; t++)
            sizes[t] = model_tensor(p->task, p->target.tensor[t])->count;
    }
    pd_status st = vecnorm_fit(vecs, c->k, c->d, mode, sizes, nt, c->mean, c->std, err);
    free(sizes);
    if (st != PD_OK)
        return st;
    vecnorm_apply(vecs, c->k, c->d, c->mean, c->std, c->host_all);
    int64_t pinned = 0;
    for (int64_t j = 0; j < c->d; j++)
        pinned += c->std[j] == 0.0f;
    if (pinned > 0)
        progress_log(&p->cb, "ae: %lld of %lld coordinates never move: pinned to their value", (long long)pinned,
                     (long long)c->d);
    return PD_OK;
}

pd_status stage_ae(pd_pipeline *p, int resume, pd_error *err)
{
    double t0 = progress_now();
    const pd_config *cfg = &p->cfg;
    pd_backend *be = p->be;
    stage_ae_ctx c = {.p = p};
    float *vecs = NULL;
    PD_TRY(pipeline_load_vectors(p, &vecs, &c.k, &c.d, err));
    pd_ae_geometry g;
    pd_status st = ae_geometry_config(cfg, c.d, &g, err);
    stage_ae_signature(&g, c.geometry);
    c.batch = cfg->ae_batch < c.k ? cfg->ae_batch : c.k;
    c.mean = malloc((size_t)c.d * sizeof(float));
    c.std = malloc((size_t)c.d * sizeof(float));
    c.host_all = malloc((size_t)c.k * (size_t)c.d * sizeof(float));
    c.host_batch = malloc((size_t)c.batch * (size_t)c.d * sizeof(float));
    if (st == PD_OK && (!c.mean || !c.std || !c.host_all || !c.host_batch))
        st = error_set(err, PD_ERR_NOMEM, "ae: out of memory");
    if (st == PD_OK)
        st = stage_ae_normalise(&c, vecs, err);
    if (st == PD_OK)
        st = ae_create(&c.ae, be, &g, c.k > c.batch ? c.k : c.batch, 1, err);
    if (st == PD_OK) {
        c.x_all = backend_alloc_floats(be, (int64_t)c.k * c.d);
        c.x_batch = backend_alloc_floats(be, (int64_t)c.batch * c.d);
        if (!c.x_all || !c.x_batch)
            st = error_set(err, PD_ERR_NOMEM, "ae: out of memory");
        else
            be->upload(be, c.x_all, c.host_all, (size_t)c.k * (size_t)c.d * sizeof(float));
    }
    int64_t start = 0;
    if (st == PD_OK) {
        ae_init_params(c.ae, rng_derive(stage_gen_seed(cfg), "ae-init"));
        session_state_path(p->session, "ae", c.path, sizeof c.path);
        FILE *f = resume ? fopen(c.path, "rb") : NULL;
        if (f) {
            fclose(f);
            stage_net net = {ae_params(c.ae), ae_adam_m(c.ae), ae_adam_v(c.ae), ae_param_count(c.ae), c.geometry, 11};
            pd_state *s;
            int complete;
            st = stage_net_load(be, &net, c.path, "ae", cfg->ae_steps, &start, &complete, &s, err);
            float sum;
            int64_t steps;
            if (st == PD_OK && (st = stage_loss_window_load(s, c.path, &sum, &steps, err)) == PD_OK)
                ae_loss_window_set(c.ae, sum, steps);
            state_free(s);
            if (st == PD_OK)
                progress_log(&p->cb, "ae: resuming after step %lld", (long long)start);
        }
        if (st == PD_OK) /* a refused checkpoint leaves the curve as it was */
            session_loss_drop_stage(p->session, "ae", start);
    }
    if (st == PD_OK) {
        c.opts = (pd_ae_train_opts){.input_noise = (float)cfg->input_noise, .latent_noise = (float)cfg->latent_noise,
                                    .lr = (float)cfg->ae_lr, .weight_decay = (float)cfg->ae_weight_decay,
                                    .seed = rng_derive(stage_gen_seed(cfg), "ae-noise")};
        progress_log(&p->cb, "ae: %s geometry (fold %d, kernel %d), %lld parameters, latent %dx%d, %d steps, batch %d",
                     cfg->ae, g.fold, g.kernel, (long long)ae_param_count(c.ae), ae_latent_channels(c.ae),
                     ae_latent_length(c.ae), cfg->ae_steps, c.batch);
        stage_loop loop = {.stage = "ae", .lr_key = "ae_lr", .start = start, .total = cfg->ae_steps,
                           .save_every = cfg->ae_steps / 10 > 50 ? cfg->ae_steps / 10 : 50, .step = stage_ae_step,
                           .take_loss = stage_ae_take_loss, .save = stage_ae_save, .ctx = &c};
        st = stage_loop_run(&loop, &p->cb, err);
    }
    if (st == PD_OK) {
        session_summary_set(p->session, "ae_parameters", (double)ae_param_count(c.ae));
        session_summary_set(p->session, "seconds_ae", progress_now() - t0);
    }
    be->free(be, c.x_all);
    be->free(be, c.x_batch);
    ae_free(c.ae);
    free(c.mean);
    free(c.std);
    free(c.host_all);
    free(c.host_batch);
    free(vecs);
    return st;
}
