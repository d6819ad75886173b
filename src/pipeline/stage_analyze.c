/* stage_analyze.c — the "analyze" stage: memorization versus generalization (doc/design.md §1 step 5).
 *
 * Adds the comparison models to the zoo the generate stage left, evaluated like every other model:
 *   noise:SIGMA  n_noise evenly spaced originals plus N(0, SIGMA^2) on every coordinate, for each SIGMA (more
 *                than K: the originals are cycled through evenly, every model with its own noise)
 *   finetune     n_finetune evenly spaced originals trained finetune_steps more SGD steps (as in collection)
 *   averaged     100 models, each the mean of 16 originals drawn without replacement (Zeng et al. 2025)
 *   gaussian     100 models drawn from the per-coordinate Gaussian fitted to the K originals
 * Then, for every model: its largest wrong-prediction IoU with any original other than itself (max_iou), and
 * its nearest original in parameter space by a direct sum of squared differences (nearest_id, nearest_l2; the
 * |a|^2 + |b|^2 - 2ab shortcut would round the tiny distances between consecutive checkpoints to zero).
 * novelty = share of p-diff models whose max_iou is below the smallest max_iou among the originals; the same
 * for every kind, diversity within each kind, best-of-n and disagreement with the ensemble: metrics.h.
 * Writes similarity.csv (every p-diff x original and original x original pair), latents.csv (t-SNE of the AE
 * latents of originals, p-diff samples and noise-added originals), models.csv and summary metrics per kind.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "evaluate.h"
#include "metrics.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "similarity.h"
#include "stage_runs.h"
#include "stage_util.h"
#include "tsne.h"
#include "zoo.h"

#define ANALYZE_AVERAGE_OF 16

typedef struct {
    pd_pipeline *p;
    pd_evaluator *ev;
    pd_zoo *z;
    int32_t k;
    int64_t d;
    const float *orig; /* [k, d] the originals (zoo rows 0..k-1) */
    stage_evalq q;     /* the models waiting for their evaluation */
    float *vec;        /* [d] scratch */
    pd_progress_parts *pp; /* the stage's one bar: comparison models, similarity, t-SNE */
    int64_t done, n_cmp;   /* comparison models evaluated, of n_cmp */
    int64_t sim_span, tsne_span; /* the bar's units for the similarity and the t-SNE */
} analyze_ctx;

/* A model evaluated and added to the zoo: one step of progress. */
static pd_status analyze_added(void *ud, pd_error *err)
{
    analyze_ctx *a = ud;
    progress_parts_report(a->pp, ++a->done, a->n_cmp);
    if (progress_cancelled(&a->p->cb))
        return error_set(err, PD_ERR_CANCELLED, "analyze cancelled");
    return PD_OK;
}

/* Evaluate v and add it to the zoo as a model of this kind (in turn: stage_evalq). */
static pd_status analyze_add(analyze_ctx *a, const char *kind, const float *v, pd_error *err)
{
    return stage_evalq_add(&a->q, kind, v, err);
}

static pd_status analyze_noise(analyze_ctx *a, pd_error *err)
{
    const pd_config *c = &a->p->cfg;
    double sig[16];
    int ns = config_parse_list(c->noise_sigmas, sig, 16);
    int32_t n = c->n_noise; /* more than k: the originals again, evenly, each copy with its own noise */
    for (int s = 0; s < ns; s++) {
        char kind[ZOO_KIND_MAX];
        snprintf(kind, sizeof kind, "noise:%g", sig[s]);
        uint64_t seed = rng_hash(rng_derive(c->seed, "analyze-noise"), (uint64_t)s);
        for (int32_t i = 0; i < n; i++) {
            int32_t from = (int32_t)(i * (int64_t)a->k / n);
            const float *o = a->orig + (int64_t)from * a->d;
            for (int64_t j = 0; j < a->d; j++)
                a->vec[j] = o[j] + (float)sig[s] * rng_normal_at(seed, (uint64_t)(i * a->d + j));
            PD_TRY(stage_evalq_add_run(&a->q, kind, a->vec, stage_run_of_original(c, a->k, from), err));
        }
    }
    return PD_OK;
}

static pd_status analyze_finetune(analyze_ctx *a, pd_error *err)
{
    pd_pipeline *p = a->p;
    const pd_config *c = &p->cfg;
    int32_t n = c->n_finetune < a->k ? c->n_finetune : a->k;
    if (n <= 0 || c->finetune_steps <= 0)
        return PD_OK;
    float *dev = backend_alloc_floats(p->be, a->d);
    if (!dev)
        return error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
    pd_status st = PD_OK;
    for (int32_t i = 0; st == PD_OK && i < n; i++) {
        int32_t from = (int32_t)(i * (int64_t)a->k / n), run = stage_run_of_original(c, a->k, from);
        p->be->upload(p->be, dev, a->orig + (int64_t)from * a->d, (size_t)a->d * sizeof(float));
        collect_job job = {.save_every = c->finetune_steps, .out = a->vec,
                           .seed = rng_hash(rng_derive(c->seed, "analyze-finetune"), (uint64_t)i)};
        st = stage_runs_use(p, run, err); /* fine-tuned inside the model of the original's run */
        if (st == PD_OK)
            st = collect_train(p, dev, c->finetune_steps, &job, err);
        if (st == PD_OK)
            st = stage_evalq_add_run(&a->q, "finetune", a->vec, run, err);
    }
    p->be->free(p->be, dev);
    if (st == PD_OK) /* collect_train trained the task model's target in place */
        st = pipeline_load_task(p, err);
    return st;
}

static pd_status analyze_interpolations(analyze_ctx *a, pd_error *err)
{
    const pd_config *c = &a->p->cfg;
    pd_rng r;
    rng_init(&r, rng_derive(c->seed, "analyze-averaged"));
    int32_t m = a->k < ANALYZE_AVERAGE_OF ? a->k : ANALYZE_AVERAGE_OF;
    int32_t *idx = malloc((size_t)a->k * sizeof *idx);
    double *mean = calloc((size_t)a->d, sizeof *mean), *sd = calloc((size_t)a->d, sizeof *sd);
    pd_status st = idx && mean && sd ? PD_OK : error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
    for (int32_t n = 0; st == PD_OK && n < PIPELINE_ANALYZE_AVERAGED; n++) {
        for (int32_t i = 0; i < a->k; i++)
            idx[i] = i;
        for (int32_t i = 0; i < m; i++) { /* partial Fisher-Yates: m distinct originals */
            int32_t j = i + (int32_t)rng_below(&r, (uint32_t)(a->k - i));
            int32_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        for (int64_t j = 0; j < a->d; j++) {
            double s = 0.0;
            for (int32_t i = 0; i < m; i++)
                s += a->orig[(int64_t)idx[i] * a->d + j];
            a->vec[j] = (float)(s / m);
        }
        st = analyze_add(a, "averaged", a->vec, err);
    }
    for (int64_t j = 0; st == PD_OK && j < a->d; j++) {
        for (int32_t i = 0; i < a->k; i++)
            mean[j] += a->orig[(int64_t)i * a->d + j];
        mean[j] /= a->k;
        for (int32_t i = 0; i < a->k; i++) {
            double dv = a->orig[(int64_t)i * a->d + j] - mean[j];
            sd[j] += dv * dv;
        }
        sd[j] = sqrt(sd[j] / a->k);
    }
    uint64_t gseed = rng_derive(c->seed, "analyze-gaussian");
    for (int32_t n = 0; st == PD_OK && n < PIPELINE_ANALYZE_GAUSSIAN; n++) {
        for (int64_t j = 0; j < a->d; j++)
            a->vec[j] = (float)(mean[j] + sd[j] * rng_normal_at(gseed, (uint64_t)(n * a->d + j)));
        st = analyze_add(a, "gaussian", a->vec, err);
    }
    free(idx);
    free(mean);
    free(sd);
    return st;
}

/* max_iou against originals (excluding itself) and the L2-nearest original (excluding itself). */
static pd_status analyze_similarity(pd_pipeline *p, pd_zoo *z, int32_t k, pd_progress_parts *pp, pd_error *err)
{
    pd_similarity_sets w;
    if (similarity_init(&w, z->preds, z->labels, z->n, z->n_test) != PD_OK)
        return error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
    char path[PD_PATH_MAX];
    pd_csv_writer *cw;
    pd_status st = csvio_create(&cw, session_path(p->session, "similarity.csv", path, sizeof path), err);
    if (st == PD_OK) {
        csvio_text(cw, "a");
        csvio_text(cw, "b");
        csvio_text(cw, "iou");
        csvio_endrow(cw);
    }
    for (int32_t m = 0; st == PD_OK && m < z->n; m++) {
        double best = -1.0, l2best = INFINITY;
        int32_t nearest = -1;
        int write = strcmp(z->kind[m], "pdiff") == 0 || m < k;
        const float *v = z->vectors + (int64_t)m * z->d;
        for (int32_t o = 0; o < k; o++) {
            if (o == m)
                continue;
            double iou = similarity_iou(&w, m, o);
            if (iou > best)
                best = iou;
            if (write && (m >= k || o > m)) {
                csvio_int(cw, m);
                csvio_int(cw, o);
                csvio_num(cw, iou);
                csvio_endrow(cw);
            }
            const float *u = z->vectors + (int64_t)o * z->d;
            double s = 0.0;
            for (int64_t j = 0; j < z->d; j++) {
                double dv = (double)v[j] - (double)u[j];
                s += dv * dv;
            }
            if (s < l2best) {
                l2best = s;
                nearest = o;
            }
        }
        z->max_iou[m] = best >= 0 ? best : NAN;
        z->nearest_id[m] = nearest;
        z->nearest_l2[m] = nearest >= 0 ? sqrt(l2best) : NAN;
        progress_parts_report(pp, m + 1, z->n);
    }
    similarity_free(&w);
    if (st == PD_OK)
        st = csvio_commit(cw, err);
    return st;
}

static void analyze_summary(pd_pipeline *p, const pd_zoo *z, int32_t k)
{
    double *acc = malloc((size_t)z->n * sizeof *acc), *iou = malloc((size_t)z->n * sizeof *iou),
           *l2 = malloc((size_t)z->n * sizeof *l2);
    if (!acc || !iou || !l2)
        goto out;
    for (int32_t first = 0; first < z->n; first++) {
        int seen = 0; /* one pass per distinct kind, at its first model */
        for (int32_t e = 0; e < first && !seen; e++)
            seen = strcmp(z->kind[e], z->kind[first]) == 0;
        if (seen)
            continue;
        int32_t n = 0, ni = 0, nl = 0;
        for (int32_t m = first; m < z->n; m++) {
            if (strcmp(z->kind[m], z->kind[first]) != 0)
                continue;
            acc[n++] = z->accuracy[m];
            if (isfinite(z->max_iou[m]))
                iou[ni++] = z->max_iou[m];
            if (isfinite(z->nearest_l2[m]))
                l2[nl++] = z->nearest_l2[m];
        }
        char pre[ZOO_KIND_MAX + 8], key[96];
        metrics_prefix(z->kind[first], pre, sizeof pre);
        double best, mean, median, mn = INFINITY, mx = -INFINITY;
        if (strcmp(pre, "ensemble") != 0 && strcmp(pre, "original") != 0 && strcmp(pre, "pdiff") != 0 &&
            strcmp(pre, "ae_recon") != 0) /* the generate stage wrote those */
            stage_summary_accuracy(p->session, pre, acc, n, &best, &mean, &median);
        else
            stage_stats(acc, n, &best, &mean, &median);
        for (int32_t i = 0; i < ni; i++) {
            mn = iou[i] < mn ? iou[i] : mn;
            mx = iou[i] > mx ? iou[i] : mx;
        }
        stage_stats(iou, ni, &best, &mean, &median);
        snprintf(key, sizeof key, "%s_max_iou_mean", pre);
        session_summary_set(p->session, key, ni ? mean : NAN);
        snprintf(key, sizeof key, "%s_max_iou_min", pre);
        session_summary_set(p->session, key, ni ? mn : NAN);
        snprintf(key, sizeof key, "%s_max_iou_max", pre);
        session_summary_set(p->session, key, ni ? mx : NAN);
        stage_stats(l2, nl, &best, &mean, &median);
        snprintf(key, sizeof key, "%s_nearest_l2_median", pre);
        session_summary_set(p->session, key, nl ? median : NAN);
    }
    double orig_min = INFINITY;
    for (int32_t m = 0; m < k && m < z->n; m++)
        if (isfinite(z->max_iou[m]) && z->max_iou[m] < orig_min)
            orig_min = z->max_iou[m];
    int32_t n_pdiff = 0, novel = 0;
    for (int32_t m = 0; m < z->n; m++)
        if (strcmp(z->kind[m], "pdiff") == 0) {
            n_pdiff++;
            novel += z->max_iou[m] < orig_min;
        }
    session_summary_set(p->session, "novelty", n_pdiff ? (double)novel / n_pdiff : NAN);
out:
    free(acc);
    free(iou);
    free(l2);
}


/* The zoo's predictions must be of the loaded test split: same image count and labels. */
static pd_status analyze_check_test(const pd_pipeline *p, const pd_zoo *z, const char *path, pd_error *err)
{
    const pd_split *t = &p->data.test;
    if (z->n_test != t->n)
        return error_set(err, PD_ERR_STATE,
                         "%s: generate evaluated %d test images, but data set %s has %d (use the data set generate "
                         "ran on, or rerun generate)", path, z->n_test, p->cfg.dataset, t->n);
    for (int32_t i = 0; i < t->n; i++)
        if (z->labels[i] != (uint8_t)t->labels[i])
            return error_set(err, PD_ERR_STATE,
                             "%s: the test labels differ from data set %s's at image %d (use the data set generate "
                             "ran on, or rerun generate)", path, p->cfg.dataset, i);
    return PD_OK;
}

/* The comparison models the stage adds (noise, fine-tuned, averaged, gaussian). */
static int64_t analyze_count(const pd_config *c, int32_t k)
{
    double sig[16];
    int64_t ns = config_parse_list(c->noise_sigmas, sig, 16);
    int32_t nf = c->n_finetune < k ? c->n_finetune : k;
    if (nf < 0 || c->finetune_steps <= 0)
        nf = 0;
    return ns * c->n_noise + nf + PIPELINE_ANALYZE_AVERAGED + PIPELINE_ANALYZE_GAUSSIAN;
}

/* The similarity of every model and the t-SNE, as the last parts of the stage's bar (rough weights: each about
 * a twentieth of an evaluation per model); the t-SNE reports through pp (p->cb is pp's for its duration). */
static pd_status analyze_similarity_tsne(analyze_ctx *a, pd_error *err)
{
    pd_pipeline *p = a->p;
    progress_log(&p->cb, "analyze: similarity of %d models", a->z->n);
    progress_parts_next(a->pp, a->sim_span);
    PD_TRY(analyze_similarity(p, a->z, a->k, a->pp, err));
    progress_parts_next(a->pp, a->tsne_span);
    pd_callbacks saved = p->cb;
    p->cb = a->pp->cb;
    pd_status st = stage_analyze_latents(p, a->z, err);
    p->cb = saved;
    progress_parts_report(a->pp, 1, 1);
    return st;
}

/* The zoo generate left, cut back to generate's models (a rerun starts again from them), checked against the
 * loaded test split and the target; the task model loaded. path names state/models.bin in messages. */
static pd_status analyze_prepare(pd_pipeline *p, pd_zoo *z, const char *path, pd_error *err)
{
    int32_t keep = 0;
    for (int32_t m = 0; m < z->n; m++)
        if (!strcmp(z->kind[m], "original") || !strcmp(z->kind[m], "ensemble") || !strcmp(z->kind[m], "ae_recon") ||
            !strcmp(z->kind[m], "pdiff"))
            keep = m + 1;
    z->n = keep;
    if (!z->labels)
        return error_set(err, PD_ERR_STATE, "%s: no test labels (rerun generate)", path);
    PD_TRY(pipeline_load_task(p, err));
    PD_TRY(stage_runs_check(p, err));
    PD_TRY(zoo_check_runs(z, pipeline_runs_count(&p->cfg), path, err));
    PD_TRY(analyze_check_test(p, z, path, err));
    PD_TRY(pipeline_need_target(p, err));
    if (p->target.d != z->d)
        return error_set(err, PD_ERR_STATE, "%s: vectors of %lld numbers, target has %lld (rerun collect)", path,
                         (long long)z->d, (long long)p->target.d);
    return PD_OK;
}

/* models.csv, state/models.bin and the summary rows of the whole zoo (k originals first). */
static pd_status analyze_write(pd_pipeline *p, pd_zoo *z, int32_t k, double t0, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(zoo_write_csv(z, session_path(p->session, "models.csv", path, sizeof path), err));
    PD_TRY(zoo_save(z, session_state_path(p->session, "models", path, sizeof path), err));
    analyze_summary(p, z, k);
    PD_TRY(metrics_zoo_summary(p->session, z, k, p->cfg.best_of_n, err));
    double nov = NAN;
    session_summary_get(p->session, "novelty", &nov);
    progress_log(&p->cb, "analyze: novelty %.3f", nov);
    session_summary_set(p->session, "seconds_analyze", progress_now() - t0);
    return PD_OK;
}

pd_status stage_analyze(pd_pipeline *p, int resume, pd_error *err)
{
    (void)resume;
    double t0 = progress_now();
    char path[PD_PATH_MAX];
    pd_zoo z;
    PD_TRY(pipeline_need_state(p, "models", PD_STAGE_GENERATE, err));
    PD_TRY(zoo_load(&z, session_state_path(p->session, "models", path, sizeof path), err));
    pd_status st = analyze_prepare(p, &z, path, err);
    analyze_ctx a = {.p = p, .z = &z, .k = zoo_ids_of(&z, "original", NULL), .d = z.d, .orig = z.vectors};
    float *orig = NULL;
    if (st == PD_OK) {
        /* the zoo grows while we add models: work from a copy of the originals */
        orig = malloc((size_t)a.k * (size_t)z.d * sizeof(float));
        a.vec = malloc((size_t)z.d * sizeof(float));
        if (!orig || !a.vec)
            st = error_set(err, PD_ERR_NOMEM, "analyze: out of memory");
        else
            memcpy(orig, z.vectors, (size_t)a.k * (size_t)z.d * sizeof(float));
        a.orig = orig;
    }
    if (st == PD_OK)
        st = pipeline_evaluator_open(p, &a.ev, err);
    if (st == PD_OK)
        st = stage_evalq_init(&a.q, p, &a.ev, &z, "analyze", analyze_added, &a, err);
    if (st == PD_OK)
        stage_evalq_originals(&a.q, orig, a.k);
    pd_progress_parts pp;
    a.pp = &pp;
    a.n_cmp = analyze_count(&p->cfg, a.k);
    a.sim_span = (z.n + a.n_cmp) / 20 > 0 ? (z.n + a.n_cmp) / 20 : 1;
    a.tsne_span = a.n_cmp / 20 > 0 ? a.n_cmp / 20 : 1;
    progress_parts_init(&pp, &p->cb, "analyze", a.n_cmp + a.sim_span + a.tsne_span);
    progress_parts_next(&pp, a.n_cmp);
    if (st == PD_OK) {
        progress_log(&p->cb, "analyze: %lld comparison models (noise, fine-tuned, averaged, gaussian)",
                     (long long)a.n_cmp);
        st = analyze_noise(&a, err);
    }
    if (st == PD_OK)
        st = analyze_finetune(&a, err);
    if (st == PD_OK)
        st = analyze_interpolations(&a, err);
    if (st == PD_OK)
        st = stage_evalq_flush(&a.q, err);
    if (st == PD_OK)
        st = analyze_similarity_tsne(&a, err);
    if (st == PD_OK)
        st = analyze_write(p, &z, a.k, t0, err);
    stage_evalq_free(&a.q);
    pipeline_evaluator_close(p, a.ev);
    free(orig);
    free(a.vec);
    zoo_free(&z);
    return st;
}
