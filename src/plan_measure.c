/* plan_measure.c — the times of the plan (see plan.h, plan_measure.h): a unit of every kind (a training step, a
 * collection iteration, the evaluator's prefix and suffix, one model's evaluation, an AE step, a UNet step, a
 * sampling step) is set up with synthetic inputs of the run's shapes, timed at a small batch first and at larger ones
 * while that stays cheap (up to the run's own), and the largest timed size is scaled linearly to the run's.
 */
#include "plan_measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm.h"
#include "devbuf.h"
#include "evaluate.h"
#include "rng.h"

#define PLAN_REP_SECONDS 0.12   /* repeat a unit at one size for about this long */
#define PLAN_ONE_SECONDS 0.5    /* a unit whose first run (warm-up included) takes this long is timed once */
#define PLAN_GROW_SECONDS 0.3   /* time a larger size while one unit there (and its set-up) is predicted under this */

/* ---------------------------------------------------------------------------------------------- synthetic data */

pd_status plan_split(const plan_env *e, int32_t n, pd_split *s, pd_error *err)
{
    const pd_plan *pl = e->pl;
    memset(s, 0, sizeof *s);
    s->n = n, s->c = pl->c, s->h = pl->h, s->w = pl->w;
    size_t img = (size_t)pl->c * pl->h * pl->w;
    s->pixels = malloc((size_t)n * img);
    s->labels = malloc((size_t)n * sizeof *s->labels);
    if (!s->pixels || !s->labels) {
        free(s->pixels);
        free(s->labels);
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for %d synthetic images", n);
    }
    for (size_t i = 0; i < (size_t)n * img; i++)
        s->pixels[i] = (uint8_t)(rng_hash(17, i) & 0xff);
    for (int32_t i = 0; i < n; i++)
        s->labels[i] = (int32_t)(rng_hash(19, (uint64_t)i) % (uint64_t)pl->classes);
    for (int ch = 0; ch < 3; ch++)
        s->mean[ch] = 0.5f, s->std[ch] = 0.25f;
    return PD_OK;
}

void plan_split_free(pd_split *s)
{
    free(s->pixels);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------------------------------------- timed units */

/* The kinds of timed unit: a training step, a collection iteration, the evaluator's prefix (the layers before the
 * target, run once over the test set) and suffix (the rest, run for every model) on one evaluation batch, one
 * model's evaluation by the real evaluator on n images (set up with its prefix), an AE step, a UNet step, a
 * sampling step. */
enum { PLAN_W_TRAIN, PLAN_W_COLLECT, PLAN_W_PREFIX, PLAN_W_SUFFIX, PLAN_W_EVAL, PLAN_W_AE, PLAN_W_DDPM, PLAN_W_SAMPLE };

/* One kind of unit set up at batch n: the objects and synthetic inputs it runs on. */
typedef struct {
    plan_env *e;
    int kind;
    int32_t n;
    pd_devbuf bufs;
    pd_split split;
    int32_t *idx;
    float *x_host, *x, *dlogits, *loss, *vec;
    int32_t *y_host, *y, *t;
    pd_model *m;
    int cut;
    pd_evaluator *ev;
    float *vec_host;
    double setup_seconds; /* eval: the evaluator's creation (its prefix over the n images) */
    pd_ae *ae;
    pd_unet *u;
    pd_ddpm_schedule sched;
    pd_ddpm_trainer *tr;
    int64_t step;
} plan_work;

static void plan_work_free(plan_work *w)
{
    evaluator_free(w->ev);
    free(w->vec_host);
    model_free(w->m);
    ae_free(w->ae);
    if (w->u)
        unet_freeze(w->u, 0);
    ddpm_trainer_free(w->tr);
    if (w->sched.T)
        ddpm_schedule_free(&w->sched);
    unet_free(w->u);
    devbuf_free(&w->bufs);
    plan_split_free(&w->split);
    free(w->idx);
    free(w->x_host);
    free(w->y_host);
    plan_env *e = w->e;
    memset(w, 0, sizeof *w);
    w->e = e;
}

/* The real evaluator over the n synthetic images, with a target vector to evaluate. */
static pd_status plan_work_evaluator(plan_work *w, pd_error *err)
{
    plan_env *e = w->e;
    w->vec_host = malloc((size_t)e->target.d * sizeof(float));
    if (!w->vec_host)
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a vector of %lld", (long long)e->target.d);
    e->be->download(e->be, w->vec_host, w->vec, (size_t)e->target.d * sizeof(float));
    double t0 = progress_now();
    PD_TRY(evaluator_create(&w->ev, w->m, &e->target, &w->split, plan_min(w->n, e->eval_batch), e->cb, err));
    e->be->synchronize(e->be);
    w->setup_seconds = progress_now() - t0;
    return PD_OK;
}

/* The task model with a batch of n inputs: images gathered from a synthetic split (train, collect), random images
 * (prefix) or random activations at the cut with a target vector loaded (suffix). */
static pd_status plan_work_task(plan_work *w, pd_error *err)
{
    plan_env *e = w->e;
    pd_backend *be = e->be;
    int data = w->kind == PLAN_W_TRAIN || w->kind == PLAN_W_COLLECT || w->kind == PLAN_W_EVAL;
    pd_model_spec sp = e->spec;
    sp.max_batch = w->n;
    sp.trainable = data && w->kind != PLAN_W_EVAL;
    PD_TRY(model_create(&w->m, be, &sp, err));
    model_init_params(w->m, 7);
    w->cut = model_cut_before(w->m, e->target.first_node);
    int32_t c = sp.in_c, h = sp.in_h, wd = sp.in_w;
    if (w->kind == PLAN_W_SUFFIX && w->cut > 0)
        model_node_shape(w->m, w->cut - 1, &c, &h, &wd);
    int64_t img = (int64_t)c * h * wd;
    w->x = devbuf_floats(&w->bufs, (int64_t)w->n * img);
    w->y = devbuf_ints(&w->bufs, w->n);
    w->dlogits = devbuf_floats(&w->bufs, (int64_t)w->n * sp.classes);
    w->loss = devbuf_floats(&w->bufs, 1);
    w->vec = devbuf_floats(&w->bufs, e->target.d);
    if (devbuf_failed(&w->bufs))
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a batch of %d", w->n);
    be->randn(be, w->x, (int64_t)w->n * img, 11, 0);
    be->randn(be, w->vec, e->target.d, 13, 0);
    if (!data)
        return PD_OK;
    PD_TRY(plan_split(e, w->n, &w->split, err));
    if (w->kind == PLAN_W_EVAL)
        return plan_work_evaluator(w, err);
    w->idx = malloc((size_t)w->n * sizeof *w->idx);
    w->x_host = malloc((size_t)w->n * (size_t)img * sizeof(float));
    w->y_host = malloc((size_t)w->n * sizeof(int32_t));
    if (!w->idx || !w->x_host || !w->y_host)
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a batch of %d", w->n);
    for (int32_t i = 0; i < w->n; i++)
        w->idx[i] = i;
    return PD_OK;
}

/* The AE (trainable) or the UNet (trainable with its trainer, or frozen for sampling) with n synthetic inputs. */
static pd_status plan_work_nets(plan_work *w, pd_error *err)
{
    plan_env *e = w->e;
    pd_backend *be = e->be;
    if (w->kind == PLAN_W_AE) {
        PD_TRY(ae_create(&w->ae, be, &e->aeg, w->n, 1, err));
        ae_init_params(w->ae, 3);
        w->x = devbuf_floats(&w->bufs, (int64_t)w->n * e->aeg.d);
        if (devbuf_failed(&w->bufs))
            return error_set(err, PD_ERR_NOMEM, "plan: out of memory for an AE batch of %d", w->n);
        be->randn(be, w->x, (int64_t)w->n * e->aeg.d, 9, 0);
        return PD_OK;
    }
    PD_TRY(unet_create(&w->u, be, &e->ug, w->n, w->kind == PLAN_W_DDPM, err));
    unet_init_params(w->u, 3);
    PD_TRY(ddpm_schedule_init(&w->sched, be, e->ug.timesteps, e->cfg->beta_start, e->cfg->beta_end, err));
    if (w->kind == PLAN_W_DDPM)
        PD_TRY(ddpm_trainer_create(&w->tr, w->u, &w->sched, w->n, err));
    w->x = devbuf_floats(&w->bufs, (int64_t)w->n * e->ug.length);
    w->t = devbuf_ints(&w->bufs, w->n);
    if (devbuf_failed(&w->bufs))
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a UNet batch of %d", w->n);
    be->randn(be, w->x, (int64_t)w->n * e->ug.length, 4, 0);
    be->tanh_forward(be, w->x, w->x, (int64_t)w->n * e->ug.length);
    if (w->kind == PLAN_W_SAMPLE)
        unet_freeze(w->u, 1);
    return PD_OK;
}

static pd_status plan_work_setup(plan_work *w, int kind, int32_t n, pd_error *err)
{
    plan_work_free(w);
    w->kind = kind;
    w->n = n;
    devbuf_init(&w->bufs, w->e->be);
    pd_status st = kind <= PLAN_W_EVAL ? plan_work_task(w, err) : plan_work_nets(w, err);
    if (st != PD_OK)
        plan_work_free(w);
    return st;
}

/* A training step (train) or a collection iteration (collect: frozen BatchNorm, the prefix forward only, the
 * backward down to the cut) on one batch, with the batch gathered from the bytes and uploaded as the stages do. */
static void plan_step_task(plan_work *w)
{
    pd_backend *be = w->e->be;
    pd_model *m = w->m;
    int32_t n = w->n, classes = w->e->spec.classes;
    int collect = w->kind == PLAN_W_COLLECT;
    dataset_batch(&w->split, w->idx, n, w->x_host, w->y_host);
    be->upload(be, w->x, w->x_host, (size_t)n * (size_t)(w->split.c * w->split.h * w->split.w) * sizeof(float));
    be->upload(be, w->y, w->y_host, (size_t)n * sizeof(int32_t));
    int from = collect ? w->cut : 0;
    const float *h = collect && w->cut > 0 ? model_forward_range(m, w->x, n, 0, 0, w->cut) : w->x;
    const float *logits = model_forward(m, h, n, !collect, from);
    be->softmax_xent(be, w->loss, NULL, w->dlogits, logits, w->y, n, classes);
    int64_t np = model_param_count(m);
    be->fill(be, model_grads(m), np, 0.0f);
    model_backward(m, w->dlogits, n, !collect, from);
    if (!collect)
        be->sgd_step(be, model_params(m), model_grads(m), model_momentum(m), np, 0.01f, 0.9f, 5e-4f);
}

/* The evaluator's work on one batch: the prefix (eval mode, up to the cut) or one model's suffix (its target loaded,
 * the rest of the network, loss and predictions). */
static void plan_step_eval(plan_work *w)
{
    pd_backend *be = w->e->be;
    if (w->kind == PLAN_W_PREFIX) {
        if (w->cut > 0)
            model_forward_range(w->m, w->x, w->n, 0, 0, w->cut);
        return;
    }
    target_scatter(be, w->m, &w->e->target, w->vec, model_params(w->m));
    const float *logits = model_forward(w->m, w->x, w->n, 0, w->cut);
    be->softmax_xent(be, w->loss, NULL, NULL, logits, w->y, w->n, w->e->spec.classes);
    be->argmax(be, w->y, logits, w->n, w->e->spec.classes);
}

/* One sampling step: the frozen UNet's forward and the reverse update. */
static void plan_step_sample(plan_work *w)
{
    pd_backend *be = w->e->be;
    int32_t T = w->e->ug.timesteps, t = T / 2;
    int32_t *th = malloc((size_t)w->n * sizeof *th);
    if (th) {
        for (int32_t i = 0; i < w->n; i++)
            th[i] = t;
        be->upload(be, w->t, th, (size_t)w->n * sizeof *th);
        free(th);
    }
    const float *eps = unet_forward(w->u, w->x, w->t, w->n);
    pd_ddpm_coefs k = ddpm_step_coefs(&w->sched, PD_SAMPLER_DDPM, t, t - 1);
    int64_t n = (int64_t)w->n * w->e->ug.length;
    be->diffusion_step(be, w->x, eps, n, k.ca, k.cb, k.c1, k.c2, k.sigma, 5, 0);
    be->clamp_forward(be, w->x, w->x, -1.0f, 1.0f, n);
}

static void plan_step(plan_work *w)
{
    const pd_config *c = w->e->cfg;
    switch (w->kind) {
    case PLAN_W_TRAIN:
    case PLAN_W_COLLECT:
        plan_step_task(w);
        break;
    case PLAN_W_PREFIX:
    case PLAN_W_SUFFIX:
        plan_step_eval(w);
        break;
    case PLAN_W_EVAL: {
        double acc, loss;
        evaluator_run(w->ev, w->vec_host, &acc, &loss, NULL, NULL);
        break;
    }
    case PLAN_W_AE: {
        pd_ae_train_opts o = {.input_noise = (float)c->input_noise, .latent_noise = (float)c->latent_noise,
                              .lr = (float)c->ae_lr, .weight_decay = (float)c->ae_weight_decay, .seed = 5};
        ae_train_step(w->ae, w->x, w->n, &o, ++w->step);
        break;
    }
    case PLAN_W_DDPM: {
        pd_ddpm_train_opts o = {.lr = (float)c->ddpm_lr, .weight_decay = (float)c->ddpm_weight_decay, .seed = 5};
        ddpm_train_step(w->tr, w->x, w->n, &o, ++w->step);
        break;
    }
    default:
        plan_step_sample(w);
        break;
    }
    w->e->be->synchronize(w->e->be);
}

/* Seconds of one unit at the current size: the first run warms up (scratch, packed weights); unless it was slow,
 * the unit is repeated (at least once, for about PLAN_REP_SECONDS) and the mean of the repetitions is taken. */
static double plan_time_unit(plan_work *w)
{
    double t0 = progress_now();
    plan_step(w);
    double first = progress_now() - t0;
    if (first >= PLAN_ONE_SECONDS)
        return first;
    int reps = 0;
    double t1 = progress_now(), t;
    do {
        plan_step(w);
        reps++;
        t = progress_now() - t1;
    } while (t < PLAN_REP_SECONDS && reps < 50);
    return t / reps;
}

double plan_scale(int32_t n0, double t0, int32_t n, double t, int32_t full)
{
    double linear = t * full / n;
    if (n >= full || n0 <= 0 || n0 >= n)
        return linear;
    double fit = t + (t - t0) / (n - n0) * (full - n);
    return fit < t ? t : fit > linear ? linear : fit;
}

/* Seconds of one unit of kind at batch `full` (and, for eval, of its set-up: *once). It is timed at `start`, then
 * at the largest size up to full at which one unit (with its set-up) is predicted to take PLAN_GROW_SECONDS, as long
 * as that at least doubles the size (or reaches full), and scaled to full from the two largest sizes (plan_scale).
 * The size grows with the time measured, not in fixed steps, so a little noise in one timing moves the sizes a
 * little instead of stopping the growth a step early (which made the estimates jump by several times). */
static pd_status plan_measure(plan_env *e, int kind, int32_t start, int32_t full, double *unit, double *once,
                              pd_error *err)
{
    plan_work w = {.e = e};
    int32_t n = start < full ? start : full, n0 = 0;
    if (n < 1)
        n = 1;
    double sec = 0.0, setup = 0.0, sec0 = 0.0, setup0 = 0.0;
    for (;;) {
        PD_TRY(plan_work_setup(&w, kind, n, err));
        sec = plan_time_unit(&w);
        setup = w.setup_seconds;
        if (progress_cancelled(e->cb)) {
            plan_work_free(&w);
            return error_set(err, PD_ERR_CANCELLED, "plan: cancelled");
        }
        double fits = sec + setup > 0.0 ? PLAN_GROW_SECONDS * n / (sec + setup) : full; /* the size that fits */
        int64_t next = fits < full ? (int64_t)fits : full;
        if (n >= full || next <= n || (next < 2 * (int64_t)n && next < full))
            break;
        n0 = n, sec0 = sec, setup0 = setup;
        n = (int32_t)next;
    }
    plan_work_free(&w);
    *unit = plan_scale(n0, sec0, n, sec, full);
    if (once)
        *once = plan_scale(n0, setup0, n, setup, full);
    return PD_OK;
}

/* One model's evaluation over the test set and the evaluator's prefix: the real evaluator timed on as many test
 * images as is cheap, and the prefix and suffix timed on evaluation batches; each way overestimates where it
 * scales a small size (fixed costs grow with it), so the smaller estimate is taken. */
static pd_status plan_measure_eval(plan_env *e, double *per_model, double *prefix, pd_error *err)
{
    const pd_plan *pl = e->pl;
    int32_t eb = plan_min(e->eval_batch, pl->n_test);
    double ev_model, ev_prefix, t_prefix, t_suffix;
    PD_TRY(plan_measure(e, PLAN_W_EVAL, 8, pl->n_test, &ev_model, &ev_prefix, err));
    PD_TRY(plan_measure(e, PLAN_W_PREFIX, 8, eb, &t_prefix, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_SUFFIX, 8, eb, &t_suffix, NULL, err));
    t_prefix *= (double)pl->n_test / eb;
    t_suffix *= (double)pl->n_test / eb;
    *per_model = ev_model < t_suffix ? ev_model : t_suffix;
    *prefix = ev_prefix < t_prefix ? ev_prefix : t_prefix;
    return PD_OK;
}

/* ---------------------------------------------------------------------------------------------- time */

static void plan_stage_time(pd_plan_stage *s, const char *unit, int64_t units, double unit_seconds, double once)
{
    snprintf(s->unit, sizeof s->unit, "%s", unit);
    s->units = units;
    s->unit_seconds = unit_seconds;
    s->once_seconds = once;
    s->seconds = (double)units * unit_seconds + once;
}

/* Time one unit of every kind at the run's sizes and multiply by the counts. */
pd_status plan_measure_times(plan_env *e, pd_error *err)
{
    pd_plan *pl = e->pl;
    const pd_config *c = e->cfg;
    double t_train, t_collect, t_eval, t_prefix, t_ae, t_ddpm, t_sample;
    int32_t cb = plan_min(c->batch, pl->n_train);
    PD_TRY(plan_measure(e, PLAN_W_TRAIN, 4, c->batch, &t_train, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_COLLECT, 4, cb, &t_collect, NULL, err));
    PD_TRY(plan_measure_eval(e, &t_eval, &t_prefix, err));
    PD_TRY(plan_measure(e, PLAN_W_AE, 8, pl->ae_batch, &t_ae, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_DDPM, 8, pl->ddpm_batch, &t_ddpm, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_SAMPLE, 8, pl->sample_batch, &t_sample, NULL, err));
    char u[64];
    pd_plan_stage *s = pl->stage;
    snprintf(u, sizeof u, "training step (batch %d)", c->batch);
    plan_stage_time(&s[PD_STAGE_TRAIN], u, pl->train_steps, t_train, t_prefix + t_eval);
    snprintf(u, sizeof u, "collection iteration (batch %d)", cb);
    plan_stage_time(&s[PD_STAGE_COLLECT], u, pl->collect_iters, t_collect,
                    (double)pl->collect_runs * ((double)pl->train_steps * t_train + t_prefix + t_eval));
    snprintf(u, sizeof u, "AE step (batch %d)", pl->ae_batch);
    plan_stage_time(&s[PD_STAGE_AE], u, c->ae_steps, t_ae, 0.0);
    snprintf(u, sizeof u, "UNet step (batch %d)", pl->ddpm_batch);
    plan_stage_time(&s[PD_STAGE_DDPM], u, c->ddpm_steps, t_ddpm, 0.0);
    snprintf(u, sizeof u, "model evaluated (%d images)", pl->n_test);
    double sampling = (double)pl->sample_steps * t_sample * c->n_generate / pl->sample_batch;
    plan_stage_time(&s[PD_STAGE_GENERATE], u, pl->eval_generate, t_eval, t_prefix + sampling);
    plan_stage_time(&s[PD_STAGE_ANALYZE], u, pl->eval_analyze, t_eval,
                    t_prefix + (double)pl->finetune_iters * t_collect);
    pl->total_seconds = 0.0;
    for (int i = 0; i < PD_STAGE_COUNT; i++)
        pl->total_seconds += s[i].seconds;
    return PD_OK;
}
