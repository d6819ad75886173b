/* stage_train.c — the "train" stage: train the task model, measure it, save state/task.bin.
 *
 * While it trains, the stage checkpoints to state/train_ckpt.bin (kind "train_ckpt") every tenth of the run (at
 * least 50 steps apart) and when cancelled: the model's parameters, BatchNorm buffers and SGD momentum, its shape
 * and architecture, the settings it was made with ("run": epochs, batch, total steps, schedule, log interval,
 * shuffling seed, lr, momentum, weight decay; then, only when one of them is not the default, augment, lr_gamma
 * and a checksum of lr_milestones), the steps done and the loss/accuracy counters of the unfinished
 * loss interval (pd_train_point). A resumed stage continues from it to the same task.bin and loss points as an
 * uninterrupted run (a checkpoint made with other settings is ignored: the stage starts over); the finished
 * stage deletes it, and the collect stage's checkpoint, which the new task model makes stale.
 *
 * The options (schedule, augmentation, seeds) come from stage_train_options, which the collect stage's
 * independent mode also uses to train its other runs (stage_train_fresh).
 *
 * init=FILE (stage_import.h): the model starts from FILE's state_dict (parameters and BatchNorm running
 * statistics, names and shapes checked) instead of its random initialisation, here and in every independent run;
 * with epochs=0 it is used as it is. A checkpoint then also records FILE's size and CRC-32 (a changed file is not
 * continued). checkpoints=DIR: the task model is DIR's first checkpoint, measured and saved as it is; epochs is
 * ignored (and said so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_import.h"
#include "stage_runs.h"
#include "stage_util.h"
#include "state.h"
#include "train.h"

#define STAGE_TRAIN_CKPT "train_ckpt"

/* The model's parameters, buffers (and momentum when `momentum`), shape and architecture into w. */
static pd_status stage_train_put_model(pd_pipeline *p, pd_state_writer *w, int momentum, pd_error *err)
{
    pd_backend *be = p->be;
    int64_t np = model_param_count(p->task), nb = model_buffer_count(p->task);
    int64_t most = np > nb ? np : nb;
    float *host = malloc((size_t)(most > 0 ? most : 1) * sizeof(float));
    if (!host)
        return error_set(err, PD_ERR_NOMEM, "train: out of memory saving the model");
    const pd_model_spec *sp = model_spec(p->task);
    int32_t shape[5] = {sp->in_c, sp->in_h, sp->in_w, sp->classes, sp->width};
    be->download(be, host, model_params(p->task), (size_t)np * sizeof(float));
    pd_status st = state_put(w, "params", PD_DTYPE_F32, host, np, err);
    if (st == PD_OK) {
        be->download(be, host, model_buffers(p->task), (size_t)nb * sizeof(float));
        st = state_put(w, "buffers", PD_DTYPE_F32, host, nb, err);
    }
    if (st == PD_OK && momentum) {
        be->download(be, host, model_momentum(p->task), (size_t)np * sizeof(float));
        st = state_put(w, "momentum", PD_DTYPE_F32, host, np, err);
    }
    if (st == PD_OK)
        st = state_put(w, "shape", PD_DTYPE_I32, shape, 5, err);
    if (st == PD_OK)
        st = state_put_i64(w, "arch", sp->arch, err);
    free(host);
    return st;
}

static pd_status stage_train_save(pd_pipeline *p, double accuracy, pd_error *err)
{
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "task", err));
    pd_status st = stage_train_put_model(p, w, 0, err);
    if (st == PD_OK)
        st = state_put_f64(w, "test_accuracy", accuracy, err);
    char path[PD_PATH_MAX];
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, session_state_path(p->session, "task", path, sizeof path), err);
}

pd_status stage_train_save_run(pd_pipeline *p, int32_t run, pd_error *err)
{
    char name[32], path[PD_PATH_MAX];
    pipeline_run_state_name(run, name, sizeof name);
    PD_TRY(pipeline_checkpoint(p, err));
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "task", err));
    pd_status st = stage_train_put_model(p, w, 0, err);
    if (st == PD_OK)
        st = state_put_i64(w, "run", run, err);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, session_state_path(p->session, name, path, sizeof path), err);
}

#define STAGE_TRAIN_RUN_V1 9 /* the signature before augment and the step schedule, still written for defaults */
#define STAGE_TRAIN_RUN_V2 12 /* ... before init=, still written without it */
#define STAGE_TRAIN_RUN 14

typedef struct {
    pd_pipeline *p;
    int64_t total;
    int32_t batch;
    int64_t run[STAGE_TRAIN_RUN]; /* the settings the run's numbers depend on (stage_train_run) */
    int32_t n_run;                /* how many of them a checkpoint records */
    int64_t init_size;            /* init=: the file's size and CRC-32 (-1, 0: no init) */
    uint32_t init_crc;
} stage_train_ckpt;

/* What a checkpoint must have been made with to be continued: epochs, batch, steps, schedule, log interval,
 * shuffling seed and the bits of lr, momentum and weight decay; then augment, the bits of gamma and a checksum
 * of the milestones, recorded only when augment, the step schedule or init= is on; then, with init=, the init
 * file's size and CRC-32, so that a changed file is not continued (a default run's checkpoint is the one
 * earlier versions wrote). */
static void stage_train_run(stage_train_ckpt *c, const pd_train_opts *o)
{
    int step = o->schedule == TRAIN_LR_STEP;
    uLong ms = step ? crc32(0L, (const Bytef *)o->milestones, (uInt)(sizeof(int32_t) * (size_t)o->n_milestones))
                    : 0;
    int64_t run[STAGE_TRAIN_RUN] = {o->epochs, c->batch, c->total, o->schedule, o->log_every, (int64_t)o->seed,
                                    stage_float_bits(o->lr), stage_float_bits(o->momentum),
                                    stage_float_bits(o->weight_decay), o->augment,
                                    step ? stage_float_bits(o->gamma) : 0, (int64_t)ms, c->init_size,
                                    (int64_t)c->init_crc};
    memcpy(c->run, run, sizeof run);
    c->n_run = c->init_size >= 0 ? STAGE_TRAIN_RUN : o->augment || step ? STAGE_TRAIN_RUN_V2 : STAGE_TRAIN_RUN_V1;
}

/* The init= file's size and CRC into c (-1 and 0 without init=). */
static pd_status stage_train_init_sig(const pd_config *cfg, stage_train_ckpt *c, pd_error *err)
{
    c->init_size = -1;
    c->init_crc = 0;
    return cfg->init[0] ? stage_import_signature(cfg->init, &c->init_size, &c->init_crc, err) : PD_OK;
}

uint64_t stage_run_seed(const pd_config *c, const char *purpose, int32_t run)
{
    uint64_t s = rng_derive(c->seed, purpose);
    return run == 0 ? s : rng_hash(s, (uint64_t)run);
}

/* The task-model training options of the config for training run `run` (0: the train stage's). */
static void stage_train_options(const pd_config *c, int32_t run, pd_train_opts *o)
{
    *o = (pd_train_opts){.epochs = c->epochs, .batch = c->batch, .lr = (float)c->lr, .momentum = (float)c->momentum,
                         .weight_decay = (float)c->weight_decay, .gamma = c->lr_gamma,
                         .schedule = strcmp(c->lr_schedule, "cosine") == 0 ? TRAIN_LR_COSINE
                                     : strcmp(c->lr_schedule, "step") == 0 ? TRAIN_LR_STEP
                                                                           : TRAIN_LR_CONSTANT,
                         .augment = strcmp(c->augment, "cropflip") == 0,
                         .seed = stage_run_seed(c, "task-shuffle", run), .log_every = 50};
    double ms[TRAIN_MAX_MILESTONES];
    int nm = o->schedule == TRAIN_LR_STEP ? config_parse_list(c->lr_milestones, ms, TRAIN_MAX_MILESTONES) : 0;
    for (int i = 0; i < nm; i++)
        o->milestones[i] = (int32_t)ms[i];
    o->n_milestones = nm > 0 ? nm : 0;
}

uint32_t stage_train_checksum(pd_pipeline *p)
{
    pd_train_opts o;
    stage_train_options(&p->cfg, 0, &o);
    stage_train_ckpt ck = {.p = p, .total = train_total_steps(p->task, &p->data, &o),
                           .batch = train_batch_size(p->task, &o)};
    if (stage_train_init_sig(&p->cfg, &ck, NULL) != PD_OK)
        ck.init_size = -2; /* an init= file that cannot be read: the train stage itself names it */
    stage_train_run(&ck, &o);
    size_t n = ck.init_size == -1 ? STAGE_TRAIN_RUN_V2 : STAGE_TRAIN_RUN; /* as before init= without it */
    return (uint32_t)crc32(0L, (const Bytef *)ck.run, (uInt)(n * sizeof *ck.run));
}

pd_status stage_train_fresh(pd_pipeline *p, int32_t run, const char *stage, pd_error *err)
{
    pd_train_opts o;
    stage_train_options(&p->cfg, run, &o);
    o.stage = stage;
    model_init_params(p->task, stage_run_seed(&p->cfg, "task-init", run));
    if (p->cfg.init[0]) /* every run starts from the init= model */
        PD_TRY(stage_import_load(p, p->cfg.init, err));
    return train_task(p->task, &p->data, &o, &p->cb, NULL, err);
}

/* train_task's save hook: losses.csv (and config.csv), then state/train_ckpt.bin. */
static pd_status stage_train_checkpoint(void *ctx, const pd_train_point *at, pd_error *err)
{
    stage_train_ckpt *c = ctx;
    pd_pipeline *p = c->p;
    PD_TRY(pipeline_checkpoint(p, err));
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, STAGE_TRAIN_CKPT, err));
    pd_status st = stage_train_put_model(p, w, 1, err);
    if (st == PD_OK)
        st = state_put(w, "run", PD_DTYPE_I64, c->run, c->n_run, err);
    if (st == PD_OK)
        st = state_put_i64(w, "step", at->step, err);
    if (st == PD_OK)
        st = state_put(w, "loss_sum", PD_DTYPE_F32, &at->loss_sum, 1, err);
    if (st == PD_OK)
        st = state_put_i64(w, "correct", at->correct, err);
    if (st == PD_OK)
        st = state_put_i64(w, "seen", at->seen, err);
    char path[PD_PATH_MAX];
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, session_state_path(p->session, STAGE_TRAIN_CKPT, path, sizeof path), err);
}

/* The checkpoint's counters, range-checked against the run it continues. */
static pd_status stage_train_point(const pd_state *s, const char *path, const stage_train_ckpt *c,
                                   int32_t log_every, pd_train_point *at, pd_error *err)
{
    int64_t correct = 0;
    PD_TRY(state_get_i64(s, "step", &at->step, err));
    PD_TRY(state_get_i64(s, "correct", &correct, err));
    PD_TRY(state_get_i64(s, "seen", &at->seen, err));
    const float *loss = state_get(s, "loss_sum", PD_DTYPE_F32, 1, NULL, err);
    if (!loss)
        return err ? err->status : PD_ERR_STATE;
    if (at->step < 0 || at->step > c->total)
        return error_set(err, PD_ERR_STATE, "%s: step %lld outside 0..%lld", path, (long long)at->step,
                         (long long)c->total);
    if (at->seen < 0 || at->seen > (int64_t)log_every * c->batch)
        return error_set(err, PD_ERR_STATE, "%s: seen %lld outside 0..%lld", path, (long long)at->seen,
                         (long long)log_every * c->batch);
    if (correct < 0 || correct > at->seen)
        return error_set(err, PD_ERR_STATE, "%s: correct %lld outside 0..%lld", path, (long long)correct,
                         (long long)at->seen);
    if (!isfinite(*loss) || *loss < 0.0f)
        return error_set(err, PD_ERR_STATE, "%s: loss_sum %g is not a finite sum of losses", path, (double)*loss);
    at->correct = (int32_t)correct;
    at->loss_sum = *loss;
    return PD_OK;
}

/* Was the checkpoint made by a run like this one (settings, task model shape)? */
static int stage_train_same_run(const stage_train_ckpt *c, const pd_state *s, const char *path)
{
    int64_t n = 0;
    const int64_t *run = state_get(s, "run", PD_DTYPE_I64, -1, &n, NULL);
    return run && n == c->n_run && memcmp(run, c->run, (size_t)c->n_run * sizeof *run) == 0 &&
           pipeline_check_task_shape(c->p, s, path, NULL) == PD_OK;
}

/* Restore the model and *at from state/train_ckpt.bin; *found = 0 when there is none, or when it was made with
 * other settings (then the stage starts from step 0, as an uninterrupted run with these settings would). */
static pd_status stage_train_restore(const stage_train_ckpt *c, int32_t log_every, pd_train_point *at, int *found,
                                     pd_error *err)
{
    pd_pipeline *p = c->p;
    *found = 0;
    char path[PD_PATH_MAX];
    pd_state *s;
    PD_TRY(stage_state_load_optional(p->session, STAGE_TRAIN_CKPT, STAGE_TRAIN_CKPT, path, sizeof path, &s, err));
    if (!s)
        return PD_OK;
    if (!stage_train_same_run(c, s, path)) {
        progress_log(&p->cb, "train: %s was made with other settings; training from the start", path);
        state_free(s);
        return PD_OK;
    }
    int64_t np = model_param_count(p->task), nb = model_buffer_count(p->task);
    const float *params = state_get(s, "params", PD_DTYPE_F32, np, NULL, err);
    const float *bufs = params ? state_get(s, "buffers", PD_DTYPE_F32, nb, NULL, err) : NULL;
    const float *mom = bufs ? state_get(s, "momentum", PD_DTYPE_F32, np, NULL, err) : NULL;
    pd_status st = mom ? stage_train_point(s, path, c, log_every, at, err) : (err ? err->status : PD_ERR_STATE);
    if (st == PD_OK) {
        pd_backend *be = p->be;
        be->upload(be, model_params(p->task), params, (size_t)np * sizeof(float));
        be->upload(be, model_buffers(p->task), bufs, (size_t)nb * sizeof(float));
        be->upload(be, model_momentum(p->task), mom, (size_t)np * sizeof(float));
        *found = 1;
    }
    state_free(s);
    return st;
}

/* The end of the stage: test accuracy and loss (with a warning near chance), task.bin, no checkpoint. */
static pd_status stage_train_finish(pd_pipeline *p, double t0, pd_error *err)
{
    double acc, loss;
    PD_TRY(train_evaluate(p->task, &p->data.test, p->eval_batch, &acc, &loss, NULL, &p->cb, err));
    progress_log(&p->cb, "train: test accuracy %.4f, test loss %.4f", acc, loss);
    double chance = 1.0 / p->data.classes;
    if (p->data.classes > 1 && acc < 1.5 * chance)
        progress_log(&p->cb, "train: warning: test accuracy %.4f is near chance (%.4f for %d classes): the task model "
                     "did not learn (diverged?); lower lr (now %g) or train longer", acc, chance, p->data.classes,
                     p->cfg.lr);
    session_summary_set(p->session, "task_accuracy", acc);
    session_summary_set(p->session, "task_test_loss", loss);
    PD_TRY(stage_train_save(p, acc, err));
    pipeline_drop_state(p, STAGE_TRAIN_CKPT);
    pipeline_drop_state(p, "collect_ckpt"); /* made from the task model this stage replaced */
    session_summary_set(p->session, "seconds_train", progress_now() - t0);
    return PD_OK;
}

/* checkpoints=: the task model is the folder's first checkpoint, as it is (nothing is trained). */
static pd_status stage_train_first_checkpoint(pd_pipeline *p, double t0, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(stage_import_first(&p->cfg, path, sizeof path, err));
    if (p->cfg.epochs > 0)
        progress_log(&p->cb, "train: checkpoints=%s: the task model is its first checkpoint, %s; nothing is trained "
                     "(epochs=%d is ignored)", p->cfg.checkpoints, path, p->cfg.epochs);
    else
        progress_log(&p->cb, "train: checkpoints=%s: the task model is its first checkpoint, %s", p->cfg.checkpoints,
                     path);
    PD_TRY(stage_import_load(p, path, err));
    pipeline_drop_state(p, STAGE_TRAIN_CKPT);
    session_loss_drop_stage(p->session, "task", -1);
    return stage_train_finish(p, t0, err);
}

pd_status stage_train(pd_pipeline *p, int resume, pd_error *err)
{
    double t0 = progress_now();
    PD_TRY(pipeline_need_model(p, err));
    model_init_params(p->task, stage_run_seed(&p->cfg, "task-init", 0));
    const pd_config *c = &p->cfg;
    if (c->checkpoints[0])
        return stage_train_first_checkpoint(p, t0, err);
    if (c->init[0]) {
        progress_log(&p->cb, "train: the task model starts from init=%s%s", c->init,
                     c->epochs == 0 ? " and is used as it is (epochs=0)" : "");
        PD_TRY(stage_import_load(p, c->init, err));
    }
    pd_train_opts o;
    stage_train_options(c, 0, &o);
    stage_train_ckpt ck = {.p = p, .total = train_total_steps(p->task, &p->data, &o),
                           .batch = train_batch_size(p->task, &o)};
    PD_TRY(stage_train_init_sig(c, &ck, err));
    o.save = stage_train_checkpoint;
    o.save_ctx = &ck;
    o.save_every = ck.total / 10 > 50 ? ck.total / 10 : 50;
    stage_train_run(&ck, &o);
    pd_train_point at = {0};
    int found = 0;
    if (resume)
        PD_TRY(stage_train_restore(&ck, o.log_every, &at, &found, err));
    else
        pipeline_drop_state(p, STAGE_TRAIN_CKPT); /* a fresh start never continues an older run */
    session_loss_drop_stage(p->session, "task", found ? at.step : -1);
    if (found) {
        o.from = &at;
        progress_log(&p->cb, "train: resuming after step %lld", (long long)at.step);
    }
    progress_log(&p->cb, "train: %s on %s, %d epochs, batch %d, lr %g (%s%s%s), augment %s", c->arch, c->dataset,
                 c->epochs, c->batch, c->lr, c->lr_schedule, o.schedule == TRAIN_LR_STEP ? " at " : "",
                 o.schedule == TRAIN_LR_STEP ? c->lr_milestones : "", c->augment);
    PD_TRY(train_task(p->task, &p->data, &o, &p->cb, NULL, err));
    return stage_train_finish(p, t0, err);
}
