/* stage_generate.c — the "generate" stage: sample new target vectors and evaluate them beside the originals.
 *
 * Evaluated, in this order (models.csv ids follow it): the K originals, the ensemble (one model whose target
 * is the mean of the K vectors: a weight average), n_recon AE reconstructions of evenly spaced originals, and
 * n_generate p-diff samples (DDPM or DDIM in latent space, decoded, un-standardised). The accuracy table goes
 * to summary.csv; every model with its vector and predictions to state/models.bin for the analysis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm.h"
#include "evaluate.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"
#include "zoo.h"

typedef struct {
    pd_ae *ae;
    float *mean, *std; /* host [d] */
    pd_unet *unet;
} stage_gen_nets;

static void stage_gen_nets_free(stage_gen_nets *n)
{
    ae_free(n->ae);
    unet_free(n->unet);
    free(n->mean);
    free(n->std);
}

pd_status stage_load_ae(pd_pipeline *p, int64_t d, int32_t max_batch, pd_ae **out, float **mean, float **std,
                        pd_error *err)
{
    pd_backend *be = p->be;
    pd_ae_geometry g;
    int32_t sig[11];
    *out = NULL;
    *mean = *std = NULL;
    PD_TRY(pipeline_need_state(p, "ae", PD_STAGE_AE, err));
    PD_TRY(stage_ae_geometry(&p->cfg, d, &g, err));
    stage_ae_signature(&g, sig);
    pd_ae *ae;
    PD_TRY(ae_create(&ae, be, &g, max_batch, 0, err));
    char path[4200];
    stage_net net = {ae_params(ae), NULL, NULL, ae_param_count(ae), sig, 11};
    int64_t step;
    int complete;
    pd_state *s;
    pd_status st = stage_net_load(be, &net, session_state_path(p->session, "ae", path, sizeof path), "ae", &step,
                                  &complete, &s, err);
    if (st != PD_OK) {
        ae_free(ae);
        return st;
    }
    const float *m = state_get(s, "mean", PD_DTYPE_F32, d, NULL, err);
    const float *sd = m ? state_get(s, "std", PD_DTYPE_F32, d, NULL, err) : NULL;
    *mean = malloc((size_t)d * sizeof(float));
    *std = malloc((size_t)d * sizeof(float));
    st = sd ? PD_OK : (err ? err->status : PD_ERR_STATE);
    if (st == PD_OK && !complete)
        st = error_set(err, PD_ERR_STATE, "%s: the ae stage did not finish; run it (or pdiff resume) first", path);
    if (st == PD_OK && (!*mean || !*std))
        st = error_set(err, PD_ERR_NOMEM, "out of memory loading %s", path);
    if (st == PD_OK) {
        memcpy(*mean, m, (size_t)d * sizeof(float));
        memcpy(*std, sd, (size_t)d * sizeof(float));
        *out = ae;
    } else {
        ae_free(ae);
        free(*mean);
        free(*std);
        *mean = *std = NULL;
    }
    state_free(s);
    return st;
}

static pd_status stage_gen_load(pd_pipeline *p, stage_gen_nets *n, int64_t d, int32_t max_batch, pd_error *err)
{
    PD_TRY(pipeline_need_state(p, "ddpm", PD_STAGE_DDPM, err));
    PD_TRY(stage_load_ae(p, d, max_batch, &n->ae, &n->mean, &n->std, err));
    pd_unet_geometry ug;
    int32_t usig[6];
    PD_TRY(stage_unet_geometry(&p->cfg, (int32_t)ae_latent_size(n->ae), &ug, err));
    stage_unet_signature(&ug, usig);
    int32_t ub = p->cfg.n_generate < 256 ? p->cfg.n_generate : 256;
    PD_TRY(unet_create(&n->unet, p->be, &ug, ub, 0, err));
    char path[4200];
    stage_net unet = {unet_params(n->unet), NULL, NULL, unet_param_count(n->unet), usig, 6};
    int64_t step;
    int complete;
    pd_state *s;
    PD_TRY(stage_net_load(p->be, &unet, session_state_path(p->session, "ddpm", path, sizeof path), "ddpm", &step,
                          &complete, &s, err));
    state_free(s);
    if (!complete)
        return error_set(err, PD_ERR_STATE, "%s: the ddpm stage did not finish; run it (or pdiff resume) first", path);
    return PD_OK;
}

/* Decode latents z [n, latent] (device) and un-standardise into out [n, d] (host). */
static void stage_gen_decode(pd_backend *be, stage_gen_nets *nets, const float *z, int32_t n, int64_t d, float *out)
{
    be->download(be, out, ae_decode(nets->ae, z, n), (size_t)n * (size_t)d * sizeof(float));
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            out[(int64_t)i * d + j] = out[(int64_t)i * d + j] * nets->std[j] + nets->mean[j];
}

static pd_status stage_gen_eval_add(pd_pipeline *p, pd_evaluator *ev, pd_zoo *z, const char *kind, const float *v,
                                    uint8_t *pred, pd_error *err)
{
    double acc, loss;
    PD_TRY(evaluator_run(ev, v, &acc, &loss, pred, err));
    if (zoo_add(z, kind, v, acc, loss, pred) < 0)
        return error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    if (progress_cancelled(&p->cb))
        return error_set(err, PD_ERR_CANCELLED, "generate cancelled");
    return PD_OK;
}

static void stage_gen_summary(pd_pipeline *p, const pd_zoo *z, const char *kind, const char *prefix)
{
    int32_t n = zoo_accuracies(z, kind, NULL);
    double *acc = malloc((size_t)(n > 0 ? n : 1) * sizeof *acc);
    if (!acc || n == 0) {
        free(acc);
        return;
    }
    zoo_accuracies(z, kind, acc);
    double best, mean, median;
    stage_summary_accuracy(p->session, prefix, acc, n, &best, &mean, &median);
    free(acc);
}

pd_status stage_generate(pd_pipeline *p, int resume, pd_error *err)
{
    (void)resume;
    double t0 = stage_now();
    const pd_config *cfg = &p->cfg;
    pd_backend *be = p->be;
    PD_TRY(pipeline_load_task(p, err));
    PD_TRY(pipeline_need_target(p, err));
    float *vecs = NULL;
    int32_t k;
    int64_t d;
    PD_TRY(pipeline_load_vectors(p, &vecs, &k, &d, err));
    stage_gen_nets nets = {0};
    pd_evaluator *ev = NULL;
    pd_zoo z;
    zoo_init(&z, d, p->data.test.n);
    int32_t n_gen = cfg->n_generate, n_rec = cfg->n_recon < k ? cfg->n_recon : k;
    int32_t max_batch = k > n_gen ? k : n_gen;
    pd_status st = d == p->target.d ? PD_OK
                                    : error_set(err, PD_ERR_STATE, "state/collect.bin holds vectors of %lld numbers but "
                                                "target '%s' has %lld: rerun collect", (long long)d, cfg->target,
                                                (long long)p->target.d);
    if (st == PD_OK)
        st = stage_gen_load(p, &nets, d, max_batch, err);
    float *gen = malloc((size_t)max_batch * (size_t)d * sizeof(float));
    uint8_t *pred = malloc((size_t)p->data.test.n);
    float *zdev = backend_alloc_floats(be, (int64_t)max_batch * (nets.ae ? ae_latent_size(nets.ae) : 1));
    if (st == PD_OK && (!gen || !pred || !zdev))
        st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    if (st == PD_OK) {
        progress_log(&p->cb, "generate: sampling %d latents (%s sampler)", n_gen, cfg->sampler);
        pd_ddpm_schedule sched;
        st = ddpm_schedule_init(&sched, be, cfg->timesteps, cfg->beta_start, cfg->beta_end, err);
        if (st == PD_OK) {
            pd_sampler smp = strcmp(cfg->sampler, "ddim") == 0 ? PD_SAMPLER_DDIM : PD_SAMPLER_DDPM;
            st = ddpm_sample(nets.unet, &sched, zdev, n_gen, smp, cfg->ddim_steps, rng_derive(cfg->seed, "sample"),
                             &p->cb, err);
            ddpm_schedule_free(&sched);
        }
        if (st == PD_OK)
            stage_gen_decode(be, &nets, zdev, n_gen, d, gen);
    }
    if (st == PD_OK) {
        progress_log(&p->cb, "generate: evaluating on %d test images", p->data.test.n);
        st = evaluator_create(&ev, p->task, &p->target, &p->data.test, PIPELINE_EVAL_BATCH, &p->cb, err);
    }
    if (st == PD_OK && zoo_set_labels(&z, evaluator_labels(ev)) != PD_OK)
        st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    int64_t total = (int64_t)k + 1 + n_rec + n_gen, done = 0;
    for (int32_t i = 0; st == PD_OK && i < k; i++) {
        st = stage_gen_eval_add(p, ev, &z, "original", vecs + (int64_t)i * d, pred, err);
        progress_report(&p->cb, "evaluate", ++done, total);
    }
    if (st == PD_OK) {
        float *mean = malloc((size_t)d * sizeof(float));
        if (!mean)
            st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
        for (int64_t j = 0; st == PD_OK && j < d; j++) {
            double s = 0.0;
            for (int32_t i = 0; i < k; i++)
                s += vecs[(int64_t)i * d + j];
            mean[j] = (float)(s / k);
        }
        if (st == PD_OK)
            st = stage_gen_eval_add(p, ev, &z, "ensemble", mean, pred, err);
        progress_report(&p->cb, "evaluate", ++done, total);
        free(mean);
    }
    if (st == PD_OK && n_rec > 0) {
        /* reconstructions of evenly spaced originals, through the standardisation */
        for (int32_t r = 0; r < n_rec; r++) {
            int32_t i = (int32_t)((int64_t)r * k / n_rec);
            for (int64_t j = 0; j < d; j++)
                gen[(int64_t)r * d + j] = (vecs[(int64_t)i * d + j] - nets.mean[j]) / nets.std[j];
        }
        float *xdev = backend_alloc_floats(be, (int64_t)n_rec * d);
        float *rec = malloc((size_t)n_rec * (size_t)d * sizeof(float));
        if (!xdev || !rec) {
            st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
        } else {
            be->upload(be, xdev, gen, (size_t)n_rec * (size_t)d * sizeof(float));
            const float *lat = ae_encode(nets.ae, xdev, n_rec);
            stage_gen_decode(be, &nets, lat, n_rec, d, rec);
            for (int32_t r = 0; st == PD_OK && r < n_rec; r++) {
                st = stage_gen_eval_add(p, ev, &z, "ae_recon", rec + (int64_t)r * d, pred, err);
                progress_report(&p->cb, "evaluate", ++done, total);
            }
        }
        be->free(be, xdev);
        free(rec);
        /* the samples were decoded into gen before; decode them again since gen was reused */
        if (st == PD_OK)
            stage_gen_decode(be, &nets, zdev, n_gen, d, gen);
    }
    for (int32_t i = 0; st == PD_OK && i < n_gen; i++) {
        st = stage_gen_eval_add(p, ev, &z, "pdiff", gen + (int64_t)i * d, pred, err);
        progress_report(&p->cb, "evaluate", ++done, total);
    }
    char path[4200];
    if (st == PD_OK)
        st = zoo_write_csv(&z, session_path(p->session, "models.csv", path, sizeof path), err);
    if (st == PD_OK)
        st = zoo_save(&z, session_state_path(p->session, "models", path, sizeof path), err);
    if (st == PD_OK) {
        stage_gen_summary(p, &z, "original", "original");
        double ens;
        zoo_accuracies(&z, "ensemble", &ens);
        session_summary_set(p->session, "ensemble", ens);
        stage_gen_summary(p, &z, "pdiff", "pdiff");
        stage_gen_summary(p, &z, "ae_recon", "ae_recon");
        double best, mean, median;
        session_summary_get(p->session, "pdiff_best", &best);
        session_summary_get(p->session, "pdiff_median", &median);
        session_summary_get(p->session, "original_median", &mean);
        progress_log(&p->cb, "generate: p-diff best %.4f median %.4f (originals median %.4f)", best, median, mean);
        session_summary_set(p->session, "seconds_generate", stage_now() - t0);
    }
    be->free(be, zdev);
    free(gen);
    free(pred);
    free(vecs);
    evaluator_free(ev);
    stage_gen_nets_free(&nets);
    zoo_free(&z);
    return st;
}
