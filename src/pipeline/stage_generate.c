/* stage_generate.c — the "generate" stage: sample new target vectors and evaluate them beside the originals.
 *
 * Evaluated, in this order (models.csv ids follow it): the K originals, the ensemble (one model whose target
 * is the mean of the K vectors: a weight average), n_recon AE reconstructions of evenly spaced originals, and
 * n_generate p-diff samples (DDPM or DDIM in latent space, decoded, mapped back through the AE's normalisation,
 * vecnorm.h; sampled from the denoiser's EMA weights when ddpm_ema > 0, from stage_gen_seed). The accuracy table
 * goes to summary.csv; every model with its vector and predictions to state/models.bin for the analysis; the
 * DDPM's own latent samples [n_generate, L], before decoding, to state/samples.bin ("latents", with "n" and
 * "length"), which the analysis embeds beside the re-encoded ones.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm.h"
#include "evaluate.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_runs.h"
#include "stage_util.h"
#include "vecnorm.h"
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

/* PD_ERR_NUMERIC when any of the n vectors [n, d] holds a NaN or infinity; what: says what they are and why. */
static pd_status stage_check_finite(const float *v, int32_t n, int64_t d, const char *what, pd_error *err)
{
    int32_t bad = 0;
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            if (!isfinite(v[(int64_t)i * d + j])) {
                bad++;
                break;
            }
    if (bad)
        return error_set(err, PD_ERR_NUMERIC, "generate: %d of %d %s", bad, n, what);
    return PD_OK;
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
    PD_TRY(ae_geometry_config(&p->cfg, d, &g, err));
    stage_ae_signature(&g, sig);
    pd_ae *ae;
    PD_TRY(ae_create(&ae, be, &g, max_batch, 0, err));
    char path[PD_PATH_MAX];
    stage_net net = {ae_params(ae), NULL, NULL, ae_param_count(ae), sig, 11};
    int64_t step;
    int complete;
    pd_state *s;
    pd_status st = stage_net_load(be, &net, session_state_path(p->session, "ae", path, sizeof path), "ae", -1, &step,
                                  &complete, &s, err);
    if (st != PD_OK) {
        ae_free(ae);
        return st;
    }
    const float *m = state_get(s, "mean", PD_DTYPE_F32, d, NULL, err);
    const float *sd = m ? state_get(s, "std", PD_DTYPE_F32, d, NULL, err) : NULL;
    *mean = malloc((size_t)d * sizeof(float));
    *std = malloc((size_t)d * sizeof(float));
    if (!sd) {
        st = err ? err->status : PD_ERR_STATE;
        goto fail;
    }
    if (!complete) {
        st = error_set(err, PD_ERR_STATE, "%s: the ae stage did not finish; run it (or pdiff resume) first", path);
        goto fail;
    }
    if (!*mean || !*std) {
        st = error_set(err, PD_ERR_NOMEM, "out of memory loading %s", path);
        goto fail;
    }
    if ((st = vecnorm_check(path, m, sd, d, err)) != PD_OK)
        goto fail;
    memcpy(*mean, m, (size_t)d * sizeof(float));
    memcpy(*std, sd, (size_t)d * sizeof(float));
    *out = ae;
    state_free(s);
    return PD_OK;
fail:
    ae_free(ae);
    free(*mean);
    free(*std);
    *mean = *std = NULL;
    state_free(s);
    return st;
}

static pd_status stage_gen_load(pd_pipeline *p, stage_gen_nets *n, int64_t d, int32_t max_batch, pd_error *err)
{
    PD_TRY(pipeline_need_state(p, "ddpm", PD_STAGE_DDPM, err));
    PD_TRY(stage_load_ae(p, d, max_batch, &n->ae, &n->mean, &n->std, err));
    pd_unet_geometry ug;
    int32_t usig[6];
    PD_TRY(unet_geometry_config(&p->cfg, (int32_t)ae_latent_size(n->ae), &ug, err));
    stage_unet_signature(&ug, usig);
    int32_t ub = p->cfg.n_generate < 256 ? p->cfg.n_generate : 256;
    PD_TRY(unet_create(&n->unet, p->be, &ug, ub, 0, err));
    char path[PD_PATH_MAX];
    stage_net unet = {unet_params(n->unet), NULL, NULL, unet_param_count(n->unet), usig, 6};
    int64_t step;
    int complete;
    pd_state *s;
    PD_TRY(stage_net_load(p->be, &unet, session_state_path(p->session, "ddpm", path, sizeof path), "ddpm", -1, &step,
                          &complete, &s, err));
    pd_status st = stage_ddpm_ema_load(s, path, p->cfg.ddpm_ema, 0, unet_params(n->unet), unet_param_count(n->unet),
                                       p->be, err);
    state_free(s);
    PD_TRY(st);
    if (!complete)
        return error_set(err, PD_ERR_STATE, "%s: the ddpm stage did not finish; run it (or pdiff resume) first", path);
    return PD_OK;
}

/* Decode latents z [n, latent] (device) and map them back through the normalisation into out [n, d] (host). */
static void stage_gen_decode(pd_backend *be, stage_gen_nets *nets, const float *z, int32_t n, int64_t d, float *out)
{
    be->download(be, out, ae_decode(nets->ae, z, n), (size_t)n * (size_t)d * sizeof(float));
    vecnorm_invert(out, n, d, nets->mean, nets->std);
}

/* The models evaluated so far, with the progress over all of them. */
typedef struct {
    pd_pipeline *p;
    pd_evaluator *ev;
    pd_zoo z;
    stage_evalq q;          /* the models waiting for their evaluation */
    int64_t done, total;
    pd_progress_parts *pp;  /* the stage's one bar: sampling, then these evaluations */
} stage_gen_zoo;

/* A model evaluated and added to the zoo: one step of progress. */
static pd_status stage_gen_added(void *ud, pd_error *err)
{
    stage_gen_zoo *g = ud;
    progress_parts_report(g->pp, ++g->done, g->total);
    if (progress_cancelled(&g->p->cb))
        return error_set(err, PD_ERR_CANCELLED, "generate cancelled");
    return PD_OK;
}

/* Evaluate vector v and add it to the zoo as a model of this kind (in turn: stage_evalq). */
static pd_status stage_gen_add(stage_gen_zoo *g, const char *kind, const float *v, pd_error *err)
{
    return stage_evalq_add(&g->q, kind, v, err);
}

/* The evaluator over the test set (on every rank), the zoo's labels and the evaluation queue. */
static pd_status stage_gen_open_eval(stage_gen_zoo *g, pd_error *err)
{
    pd_pipeline *p = g->p;
    progress_log(&p->cb, "generate: evaluating on %d test images", p->data.test.n);
    PD_TRY(pipeline_evaluator_open(p, &g->ev, err));
    if (zoo_set_labels(&g->z, evaluator_labels(g->ev)) != PD_OK)
        return error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    return stage_evalq_init(&g->q, p, &g->ev, &g->z, "generate", stage_gen_added, g, err);
}

/* Sample n latents (DDPM or DDIM) into lat [n, latent] (host) and decode them, mapped back through the
 * normalisation, into out [n, d] (host). */
static pd_status stage_gen_sample(pd_pipeline *p, stage_gen_nets *nets, int32_t n, int64_t d, float *out, float *lat,
                                  const pd_callbacks *cb, pd_error *err)
{
    const pd_config *cfg = &p->cfg;
    pd_backend *be = p->be;
    int64_t ls = ae_latent_size(nets->ae);
    float *zdev = backend_alloc_floats(be, (int64_t)n * ls);
    if (!zdev)
        return error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    progress_log(&p->cb, "generate: sampling %d latents (%s sampler%s)", n, cfg->sampler,
                 cfg->ddpm_ema > 0.0 ? ", EMA weights" : "");
    pd_ddpm_schedule sched;
    pd_status st = ddpm_schedule_init(&sched, be, cfg->timesteps, cfg->beta_start, cfg->beta_end, err);
    if (st == PD_OK) {
        pd_sampler smp = strcmp(cfg->sampler, "ddim") == 0 ? PD_SAMPLER_DDIM : PD_SAMPLER_DDPM;
        st = ddpm_sample(nets->unet, &sched, zdev, n, smp, cfg->ddim_steps, rng_derive(stage_gen_seed(cfg), "sample"),
                         cb, err);
        ddpm_schedule_free(&sched);
    }
    if (st == PD_OK) {
        be->download(be, lat, zdev, (size_t)n * (size_t)ls * sizeof(float));
        stage_gen_decode(be, nets, zdev, n, d, out);
        char what[256];
        snprintf(what, sizeof what, "sampled vectors are not finite (NaN or Inf): sampling diverged; check timesteps, "
                 "beta_start, beta_end (now %d, %g, %g) and ddpm_lr", cfg->timesteps, cfg->beta_start, cfg->beta_end);
        st = stage_check_finite(out, n, d, what, err);
    }
    be->free(be, zdev);
    return st;
}

/* state/samples.bin: the DDPM's own latent samples lat [n, length], in the order of the p-diff models. */
static pd_status stage_gen_save_samples(pd_pipeline *p, const float *lat, int32_t n, int64_t length, pd_error *err)
{
    char path[PD_PATH_MAX];
    session_state_path(p->session, "samples", path, sizeof path);
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "samples", err));
    pd_status st = state_put_i64(w, "n", n, err);
    if (st == PD_OK)
        st = state_put_i64(w, "length", length, err);
    if (st == PD_OK)
        st = state_put(w, "latents", PD_DTYPE_F32, lat, (int64_t)n * length, err);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, path, err);
}

/* The k originals, then the ensemble: one model whose vector is their mean. */
static pd_status stage_gen_originals(stage_gen_zoo *g, const float *vecs, int32_t k, int64_t d, pd_error *err)
{
    stage_evalq_originals(&g->q, vecs, k);
    for (int32_t i = 0; i < k; i++)
        PD_TRY(stage_evalq_add_run(&g->q, "original", vecs + (int64_t)i * d,
                                   stage_run_of_original(&g->p->cfg, k, i), err));
    float *mean = malloc((size_t)d * sizeof(float));
    if (!mean)
        return error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    for (int64_t j = 0; j < d; j++) {
        double s = 0.0;
        for (int32_t i = 0; i < k; i++)
            s += vecs[(int64_t)i * d + j];
        mean[j] = (float)(s / k);
    }
    pd_status st = stage_gen_add(g, "ensemble", mean, err);
    free(mean);
    return st;
}

/* AE reconstructions of n_rec evenly spaced originals, through the normalisation. */
static pd_status stage_gen_recons(stage_gen_zoo *g, stage_gen_nets *nets, const float *vecs, int32_t k,
                                  int32_t n_rec, int64_t d, pd_error *err)
{
    pd_backend *be = g->p->be;
    size_t bytes = (size_t)n_rec * (size_t)d * sizeof(float);
    float *x = malloc(bytes), *rec = malloc(bytes);
    float *xdev = backend_alloc_floats(be, (int64_t)n_rec * d);
    pd_status st = PD_OK;
    if (!x || !rec || !xdev) {
        st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
    } else {
        for (int32_t r = 0; r < n_rec; r++) {
            int32_t i = (int32_t)((int64_t)r * k / n_rec);
            vecnorm_apply(vecs + (int64_t)i * d, 1, d, nets->mean, nets->std, x + (int64_t)r * d);
        }
        be->upload(be, xdev, x, bytes);
        stage_gen_decode(be, nets, ae_encode(nets->ae, xdev, n_rec), n_rec, d, rec);
        st = stage_check_finite(rec, n_rec, d, "AE reconstructions are not finite (NaN or Inf): state/ae.bin is "
                                "unusable; rerun the ae stage (lower ae_lr)", err);
    }
    for (int32_t r = 0; st == PD_OK && r < n_rec; r++)
        st = stage_evalq_add_run(&g->q, "ae_recon", rec + (int64_t)r * d,
                                 stage_run_of_original(&g->p->cfg, k, (int32_t)((int64_t)r * k / n_rec)), err);
    be->free(be, xdev);
    free(x);
    free(rec);
    return st;
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

/* models.csv, state/models.bin and the accuracy rows of summary.csv. */
static pd_status stage_gen_write(pd_pipeline *p, const pd_zoo *z, double t0, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(zoo_write_csv(z, session_path(p->session, "models.csv", path, sizeof path), err));
    PD_TRY(zoo_save(z, session_state_path(p->session, "models", path, sizeof path), err));
    stage_gen_summary(p, z, "original", "original");
    double ens;
    zoo_accuracies(z, "ensemble", &ens);
    session_summary_set(p->session, "ensemble", ens);
    stage_gen_summary(p, z, "pdiff", "pdiff");
    stage_gen_summary(p, z, "ae_recon", "ae_recon");
    double best, mean, median;
    session_summary_get(p->session, "pdiff_best", &best);
    session_summary_get(p->session, "pdiff_median", &median);
    session_summary_get(p->session, "original_median", &mean);
    progress_log(&p->cb, "generate: p-diff best %.4f median %.4f (originals median %.4f)", best, median, mean);
    session_summary_set(p->session, "seconds_generate", progress_now() - t0);
    return PD_OK;
}

pd_status stage_generate(pd_pipeline *p, int resume, pd_error *err)
{
    (void)resume;
    double t0 = progress_now();
    const pd_config *cfg = &p->cfg;
    PD_TRY(pipeline_load_task(p, err));
    PD_TRY(pipeline_need_target(p, err));
    float *vecs = NULL, *gen = NULL, *lat = NULL;
    int32_t k;
    int64_t d;
    PD_TRY(pipeline_load_vectors(p, &vecs, &k, &d, err));
    stage_gen_nets nets = {0};
    pd_progress_parts pp;
    stage_gen_zoo g = {.p = p, .pp = &pp};
    zoo_init(&g.z, d, p->data.test.n);
    int32_t n_gen = cfg->n_generate, n_rec = cfg->n_recon < k ? cfg->n_recon : k;
    int32_t max_batch = k > n_gen ? k : n_gen;
    pd_status st = PD_OK;
    if (d != p->target.d) {
        st = error_set(err, PD_ERR_STATE, "state/collect.bin holds vectors of %lld numbers but target '%s' has %lld: "
                       "rerun collect", (long long)d, cfg->target, (long long)p->target.d);
        goto done;
    }
    if ((st = stage_gen_load(p, &nets, d, max_batch, err)) != PD_OK || (st = stage_runs_check(p, err)) != PD_OK)
        goto done;
    if (pipeline_runs_count(cfg) > 1)
        progress_log(&p->cb, "generate: each model is judged in the task model of its run (%d runs): an original "
                     "in its own, any other in that of the nearest original", pipeline_runs_count(cfg));
    gen = malloc((size_t)max_batch * (size_t)d * sizeof(float));
    lat = malloc((size_t)n_gen * (size_t)ae_latent_size(nets.ae) * sizeof(float));
    if (!gen || !lat) {
        st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
        goto done;
    }
    /* one bar: a unit per latent sampled, then one per model evaluated */
    g.total = (int64_t)k + 1 + n_rec + n_gen;
    progress_parts_init(&pp, &p->cb, "generate", n_gen + g.total);
    progress_parts_next(&pp, n_gen);
    /* the evaluator first: in a job of several ranks the others build theirs meanwhile (pipeline_ranks.c) */
    if ((st = stage_gen_open_eval(&g, err)) != PD_OK)
        goto done;
    /* the samples, decoded once: gen holds them until their evaluation, after the originals' */
    if ((st = stage_gen_sample(p, &nets, n_gen, d, gen, lat, &pp.cb, err)) != PD_OK)
        goto done;
    progress_parts_next(&pp, g.total);
    st = stage_gen_originals(&g, vecs, k, d, err);
    if (st == PD_OK && n_rec > 0)
        st = stage_gen_recons(&g, &nets, vecs, k, n_rec, d, err);
    for (int32_t i = 0; st == PD_OK && i < n_gen; i++)
        st = stage_gen_add(&g, "pdiff", gen + (int64_t)i * d, err);
    if (st == PD_OK)
        st = stage_evalq_flush(&g.q, err);
    if (st == PD_OK)
        st = stage_gen_save_samples(p, lat, n_gen, ae_latent_size(nets.ae), err);
    if (st == PD_OK)
        st = stage_gen_write(p, &g.z, t0, err);
done:
    free(gen);
    free(lat);
    free(vecs);
    stage_evalq_free(&g.q);
    pipeline_evaluator_close(p, g.ev);
    stage_gen_nets_free(&nets);
    zoo_free(&g.z);
    return st;
}
