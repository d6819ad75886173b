/* stage_ddpm.c — the "ddpm" stage: train the latent diffusion model on the AE latents of the K vectors.
 * Checkpoints (parameters, AdamW moments, step) go to state/ddpm.bin; a resumed run continues from the last one.
 * With ddpm_ema > 0 the file also holds the EMA of the weights ("ema", ddpm_ema_update) and its decay
 * ("ema_decay", [1]), which the generate stage samples from; with ddpm_ema = 0 neither is written. Init, batches
 * and noise draw from stage_gen_seed (gen_seed, or seed when it is 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"

typedef struct {
    pd_pipeline *p;
    pd_unet *unet;
    pd_ddpm_trainer *tr;
    pd_ddpm_train_opts opts;
    float *z_all, *z_batch;       /* device [k, L], [batch, L] */
    float *host_all, *host_batch; /* host */
    float *ema;                   /* device [parameters]: EMA of the weights (NULL: ddpm_ema = 0) */
    int32_t k, batch, length;
    int32_t geometry[6];
    char path[PD_PATH_MAX];
} stage_ddpm_ctx;

void stage_unet_signature(const pd_unet_geometry *g, int32_t sig[6])
{
    sig[0] = g->length;
    for (int i = 0; i < 4; i++)
        sig[1 + i] = g->channels[i];
    sig[5] = g->timesteps;
}

static void stage_ddpm_step(void *vp, int64_t step)
{
    stage_ddpm_ctx *c = vp;
    pd_backend *be = c->p->be;
    const float *z = c->z_all;
    int32_t n = c->k;
    if (c->batch < c->k) {
        pd_rng r;
        rng_init(&r, rng_hash(rng_derive(stage_gen_seed(&c->p->cfg), "ddpm-batch"), (uint64_t)step));
        for (int32_t i = 0; i < c->batch; i++)
            memcpy(c->host_batch + (int64_t)i * c->length,
                   c->host_all + (int64_t)rng_below(&r, (uint32_t)c->k) * c->length, (size_t)c->length * sizeof(float));
        be->upload(be, c->z_batch, c->host_batch, (size_t)c->batch * (size_t)c->length * sizeof(float));
        z = c->z_batch;
        n = c->batch;
    }
    ddpm_train_step(c->tr, z, n, &c->opts, step);
    if (c->ema)
        ddpm_ema_update(be, c->ema, unet_params(c->unet), unet_param_count(c->unet), c->p->cfg.ddpm_ema);
}

static float stage_ddpm_take_loss(void *vp)
{
    return ddpm_take_loss(((stage_ddpm_ctx *)vp)->tr);
}

static pd_status stage_ddpm_save(void *vp, int64_t step, int complete, pd_error *err)
{
    stage_ddpm_ctx *c = vp;
    PD_TRY(pipeline_checkpoint(c->p, err));
    int64_t np = unet_param_count(c->unet);
    stage_net net = {unet_params(c->unet), unet_adam_m(c->unet), unet_adam_v(c->unet), np, c->geometry, 6};
    float window[2], sum, decay = (float)c->p->cfg.ddpm_ema;
    int64_t steps;
    ddpm_loss_window(c->tr, &sum, &steps);
    stage_extra extra[3] = {stage_loss_window_extra(sum, steps, window)};
    if (!c->ema)
        return stage_net_save(c->p->be, &net, c->path, "ddpm", step, complete, extra, 1, err);
    float *host = malloc((size_t)np * sizeof *host);
    if (!host)
        return error_set(err, PD_ERR_NOMEM, "ddpm: out of memory saving the EMA weights");
    c->p->be->download(c->p->be, host, c->ema, (size_t)np * sizeof *host);
    extra[1] = (stage_extra){"ema", host, np};
    extra[2] = (stage_extra){"ema_decay", &decay, 1};
    pd_status st = stage_net_save(c->p->be, &net, c->path, "ddpm", step, complete, extra, 3, err);
    free(host);
    return st;
}

pd_status stage_ddpm_ema_load(const pd_state *s, const char *path, double want, int resume, float *ema,
                              int64_t count, pd_backend *be, pd_error *err)
{
    const float *decay = state_get(s, "ema_decay", PD_DTYPE_F32, 1, NULL, NULL);
    float had = decay ? decay[0] : 0.0f;
    if ((want > 0.0 || resume) && had != (float)want)
        return error_set(err, PD_ERR_STATE, "%s: made with ddpm_ema=%g, not %g (settings changed since?); rerun the "
                         "ddpm stage", path, (double)had, want);
    if (want <= 0.0)
        return PD_OK;
    const float *v = state_get(s, "ema", PD_DTYPE_F32, count, NULL, err);
    if (!v)
        return err ? err->status : PD_ERR_STATE;
    be->upload(be, ema, v, (size_t)count * sizeof *v);
    return PD_OK;
}

/* The latents [k, L] the ae stage left in state/ae.bin. */
static pd_status stage_ddpm_latents(pd_pipeline *p, float **lat, int32_t *k, int32_t *length, pd_error *err)
{
    char path[PD_PATH_MAX];
    session_state_path(p->session, "ae", path, sizeof path);
    PD_TRY(pipeline_need_state(p, "ae", PD_STAGE_AE, err));
    pd_state *s;
    PD_TRY(state_load(&s, path, "ae", err));
    int64_t complete = 0, count = 0;
    pd_status st = state_get_i64(s, "complete", &complete, err);
    if (st == PD_OK && !complete)
        st = error_set(err, PD_ERR_STATE, "%s: the ae stage did not finish; run it (or pdiff resume) first", path);
    const float *mean = st == PD_OK ? state_get(s, "mean", PD_DTYPE_F32, -1, &count, err) : NULL;
    int64_t d = count;
    const float *l = mean ? state_get(s, "latents", PD_DTYPE_F32, -1, &count, err) : NULL;
    if (st == PD_OK && !l)
        st = err ? err->status : PD_ERR_STATE;
    float *vecs = NULL;
    int32_t kk = 0;
    int64_t dd = 0;
    if (st == PD_OK)
        st = pipeline_load_vectors(p, &vecs, &kk, &dd, err);
    free(vecs);
    if (st == PD_OK && (dd != d || kk <= 0 || count <= 0 || count % kk != 0 || count / kk > INT32_MAX))
        st = error_set(err, PD_ERR_STATE, "%s: does not match state/collect.bin (rerun the ae stage)", path);
    for (int64_t i = 0; st == PD_OK && i < count; i++)
        if (!isfinite(l[i]))
            st = error_set(err, PD_ERR_STATE, "%s: latent %lld holds %g, not a finite number (rerun the ae stage)",
                           path, (long long)i, (double)l[i]);
    if (st == PD_OK && (*lat = malloc((size_t)count * sizeof(float))) == NULL)
        st = error_set(err, PD_ERR_NOMEM, "ddpm: out of memory");
    if (st == PD_OK) {
        memcpy(*lat, l, (size_t)count * sizeof(float));
        *k = kk;
        *length = (int32_t)(count / kk);
    }
    state_free(s);
    return st;
}

/* Initial weights (and their copy, the EMA's start, when ddpm_ema > 0), or, resuming, the checkpoint's; *start
 * receives the last step done. */
static pd_status stage_ddpm_start(stage_ddpm_ctx *c, int resume, int64_t *start, pd_error *err)
{
    pd_pipeline *p = c->p;
    pd_backend *be = p->be;
    int64_t np = unet_param_count(c->unet);
    *start = 0;
    unet_init_params(c->unet, rng_derive(stage_gen_seed(&p->cfg), "ddpm-init"));
    if (p->cfg.ddpm_ema > 0.0) {
        if (!(c->ema = backend_alloc_floats(be, np)))
            return error_set(err, PD_ERR_NOMEM, "ddpm: out of memory for the EMA weights");
        be->copy(be, c->ema, unet_params(c->unet), (size_t)np * sizeof(float));
    }
    session_state_path(p->session, "ddpm", c->path, sizeof c->path);
    FILE *f = resume ? fopen(c->path, "rb") : NULL;
    if (f) {
        fclose(f);
        stage_net net = {unet_params(c->unet), unet_adam_m(c->unet), unet_adam_v(c->unet), np, c->geometry, 6};
        pd_state *s;
        int complete;
        PD_TRY(stage_net_load(be, &net, c->path, "ddpm", p->cfg.ddpm_steps, start, &complete, &s, err));
        pd_status st = stage_ddpm_ema_load(s, c->path, p->cfg.ddpm_ema, 1, c->ema, np, be, err);
        float sum;
        int64_t steps;
        if (st == PD_OK && (st = stage_loss_window_load(s, c->path, &sum, &steps, err)) == PD_OK)
            ddpm_loss_window_set(c->tr, sum, steps);
        state_free(s);
        PD_TRY(st);
        progress_log(&p->cb, "ddpm: resuming after step %lld", (long long)*start);
    }
    session_loss_drop_stage(p->session, "ddpm", *start); /* a refused checkpoint leaves the curve as it was */
    return PD_OK;
}

pd_status stage_ddpm(pd_pipeline *p, int resume, pd_error *err)
{
    double t0 = progress_now();
    const pd_config *cfg = &p->cfg;
    pd_backend *be = p->be;
    stage_ddpm_ctx c = {.p = p};
    PD_TRY(stage_ddpm_latents(p, &c.host_all, &c.k, &c.length, err));
    pd_unet_geometry g;
    pd_ddpm_schedule sched = {0};
    pd_status st = unet_geometry_config(cfg, c.length, &g, err);
    stage_unet_signature(&g, c.geometry);
    c.batch = cfg->ddpm_batch < c.k ? cfg->ddpm_batch : c.k;
    if (st == PD_OK && !(c.host_batch = malloc((size_t)c.batch * (size_t)c.length * sizeof(float))))
        st = error_set(err, PD_ERR_NOMEM, "ddpm: out of memory");
    if (st == PD_OK)
        st = unet_create(&c.unet, be, &g, c.batch, 1, err);
    if (st == PD_OK)
        st = ddpm_schedule_init(&sched, be, cfg->timesteps, cfg->beta_start, cfg->beta_end, err);
    if (st == PD_OK)
        st = ddpm_trainer_create(&c.tr, c.unet, &sched, c.batch, err);
    if (st == PD_OK) {
        c.z_all = backend_alloc_floats(be, (int64_t)c.k * c.length);
        c.z_batch = backend_alloc_floats(be, (int64_t)c.batch * c.length);
        if (!c.z_all || !c.z_batch)
            st = error_set(err, PD_ERR_NOMEM, "ddpm: out of memory");
        else
            be->upload(be, c.z_all, c.host_all, (size_t)c.k * (size_t)c.length * sizeof(float));
    }
    int64_t start = 0;
    if (st == PD_OK)
        st = stage_ddpm_start(&c, resume, &start, err);
    if (st == PD_OK) {
        c.opts = (pd_ddpm_train_opts){.lr = (float)cfg->ddpm_lr, .weight_decay = (float)cfg->ddpm_weight_decay,
                                      .seed = rng_derive(stage_gen_seed(cfg), "ddpm-noise")};
        progress_log(&p->cb, "ddpm: UNet %s on latents of %d numbers, %lld parameters, T %d, %d steps, batch %d",
                     cfg->ddpm_channels, c.length, (long long)unet_param_count(c.unet), cfg->timesteps,
                     cfg->ddpm_steps, c.batch);
        stage_loop loop = {.stage = "ddpm", .lr_key = "ddpm_lr", .start = start, .total = cfg->ddpm_steps,
                           .save_every = cfg->ddpm_steps / 10 > 50 ? cfg->ddpm_steps / 10 : 50,
                           .step = stage_ddpm_step, .take_loss = stage_ddpm_take_loss, .save = stage_ddpm_save,
                           .ctx = &c};
        st = stage_loop_run(&loop, &p->cb, err);
    }
    if (st == PD_OK) {
        session_summary_set(p->session, "ddpm_parameters", (double)unet_param_count(c.unet));
        session_summary_set(p->session, "seconds_ddpm", progress_now() - t0);
    }
    be->free(be, c.z_all);
    be->free(be, c.z_batch);
    be->free(be, c.ema);
    ddpm_trainer_free(c.tr);
    ddpm_schedule_free(&sched);
    unet_free(c.unet);
    free(c.host_all);
    free(c.host_batch);
    return st;
}
