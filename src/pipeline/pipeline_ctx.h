/* pipeline_ctx.h — state shared by the stage implementations (internal to the pipeline files).
 *
 * One pd_pipeline per run: the effective configuration, the backend, the session, and whatever the stages
 * load lazily (data set, task model, target). Each stage lives in its own file and is a function
 * stage_<name>(pd_pipeline *p, int resume, pd_error *err).
 */
#ifndef PD_PIPELINE_CTX_H
#define PD_PIPELINE_CTX_H

#include "ae.h"
#include "backend.h"
#include "config.h"
#include "dataset.h"
#include "evaluate.h"
#include "model.h"
#include "pipeline.h"
#include "session.h"
#include "state.h"
#include "target.h"
#include "unet.h"
#include "zoo.h"

struct pd_pipeline {
    pd_config cfg;
    pd_backend *be;
    pd_session *session;
    pd_callbacks user_cb;   /* the caller's hooks */
    pd_callbacks cb;        /* hooks the stages use: record loss points in the session, then forward */
    pd_dataset data;
    int data_loaded;
    pd_model *task;         /* trainable task model, max batch = max(batch, eval_batch) */
    int32_t eval_batch;     /* images per evaluation batch (evaluator_batch), set with the task model */
    pd_target target;
    int target_resolved;
    pd_stage current;       /* the stage running */
    int config_held;        /* config.csv is not rewritten until the running stage saves something (see below) */
    int config_pending;     /* a rewrite of config.csv waits for that */
    struct pd_eval_reuse *reuse; /* state/reuse.bin's evaluations (eval_reuse.h), opened by pipeline_evaluate */
    int reuse_opened;
    int32_t task_run;       /* the collection run whose model p->task holds (stage_runs.h; -1: none loaded yet) */
    struct {                /* progress.csv (progress_file.h): what it last said, and when */
        char unit[16];
        int64_t unit_done0;
        double stage_t0, unit_t0, written; /* monotonic seconds */
    } prog;
};

/* Evaluation, over every rank of the job (pipeline_ranks.c). pipeline_evaluator_open creates the evaluator of the
 * task model as it is now (p->task) here and, in a job of several ranks, hands the model to every other rank so that
 * it builds the same evaluator; pipeline_evaluator_close frees them (NULL is a no-op). pipeline_evaluate_many
 * evaluates vecs [n, d] (host) into accuracy [n], loss [n] and pred [n, test images]: each vector found in
 * state/reuse.bin (a sweep left one there; eval_reuse.h) takes its recorded results, the others are split over the
 * ranks in contiguous blocks and gathered here, so the results do not depend on the number of ranks. */
pd_status pipeline_evaluator_open(pd_pipeline *p, pd_evaluator **ev, pd_error *err);
void pipeline_evaluator_close(pd_pipeline *p, pd_evaluator *ev);
pd_status pipeline_evaluate_many(pd_pipeline *p, pd_evaluator *ev, const float *vecs, int32_t n, double *accuracy,
                                 double *loss, uint8_t *pred, pd_error *err);

/* The task model for cfg on data set ds (trainable, built for max(batch, *eval_batch) images) and its evaluation
 * batch (evaluator_batch). */
pd_status pipeline_task_model(pd_backend *be, const pd_config *cfg, const pd_dataset *ds, pd_model **task,
                              int32_t *eval_batch, pd_error *err);

/* A pipeline without a session (the other ranks' evaluators, the bench): cfg's backend, data set, task model
 * (untrained) and resolved target. On failure *out holds what was built (pipeline_free it). */
pd_status pipeline_open_detached(pd_pipeline **out, const pd_config *cfg, pd_error *err);

/* Load the data set once. */
pd_status pipeline_need_data(pd_pipeline *p, pd_error *err);
/* Create the task model (architecture from the config, shapes from the data set) without weights. */
pd_status pipeline_need_model(pd_pipeline *p, pd_error *err);
/* 1 when state/NAME.bin (path receives it) can be opened. */
int pipeline_has_state(pd_pipeline *p, const char *name, char *path, size_t size);
/* PD_ERR_STATE naming state/NAME.bin and the stage that writes it when the file is missing. */
pd_status pipeline_need_state(pd_pipeline *p, const char *name, pd_stage producer, pd_error *err);
/* Load the trained task model from state/task.bin (after pipeline_need_model); task_run becomes 0. */
pd_status pipeline_load_task(pd_pipeline *p, pd_error *err);
/* Load the weights and statistics of state/NAME.bin (a task model file) into p->task; task_run is the caller's. */
pd_status pipeline_load_task_state(pd_pipeline *p, const char *name, pd_error *err);
/* Resolve the config's target on the task model (after pipeline_need_model) and record it in config.csv. */
pd_status pipeline_need_target(pd_pipeline *p, pd_error *err);
/* Load state/collect.bin: vectors [k, d] host (malloc'd, caller frees). */
pd_status pipeline_load_vectors(pd_pipeline *p, float **vecs, int32_t *k, int64_t *d, pd_error *err);
/* Rewrite config.csv with the current extra rows (resolved target, data set facts, versions). In a session with
 * completed stages the rewrite waits (config_held) until the running stage saves state or ends, so that a stage
 * that refuses the settings (a data set that does not match what earlier stages produced, ...) leaves config.csv
 * as it was. */
pd_status pipeline_write_config(pd_pipeline *p, pd_error *err);
/* A stage is about to save state (a checkpoint): config.csv (when held back) and losses.csv go first, so that a
 * run killed after the save resumes with the settings and the whole loss curve up to it. */
pd_status pipeline_checkpoint(pd_pipeline *p, pd_error *err);
/* Delete state/NAME.bin when present (a checkpoint the finished or restarted stage no longer needs). */
void pipeline_drop_state(pd_pipeline *p, const char *name);
/* PD_ERR_STATE naming path when the "shape" and "arch" of a task model state file s differ from the task model
 * (the data set's image size and classes, the config's arch and width). */
pd_status pipeline_check_task_shape(const pd_pipeline *p, const pd_state *s, const char *path, pd_error *err);

/* The signatures in state files of an AE geometry and a UNet geometry (ae_geometry_config, unet_geometry_config). */
void stage_ae_signature(const pd_ae_geometry *g, int32_t sig[11]);
void stage_unet_signature(const pd_unet_geometry *g, int32_t sig[6]);
/* The EMA weights of state/ddpm.bin s (path names it) into ema (device [count]) when want (ddpm_ema) > 0.
 * PD_ERR_STATE when the file was made with another decay (none: 0) and want > 0, or, resuming, any other. */
pd_status stage_ddpm_ema_load(const pd_state *s, const char *path, double want, int resume, float *ema,
                              int64_t count, pd_backend *be, pd_error *err);

/* Where a collection stands between two iterations, besides its vector and momentum. */
typedef struct {
    int64_t done;    /* iterations done */
    double loss_acc; /* loss summed over the iterations since the last loss point */
    int32_t loss_n;  /* iterations since the last loss point */
} collect_point;

/* One run of collect_train. */
typedef struct {
    int32_t save_every;       /* span 0: keep the vector every save_every iterations ... */
    int32_t k_out;            /* span > 0: keep k_out vectors, vector i (1..k_out) after iteration
                               * round(i span / k_out) (collect_kept_after) ... */
    int64_t span;
    float *out;               /* ... into out [kept, d] (host; NULL: keep none) */
    uint64_t seed;            /* batch order */
    const char *metric_stage; /* names loss points and progress (NULL: none) */
    const collect_point *from; /* NULL: from iteration 0 with zero momentum; else continue after from->done ... */
    const float *from_mom;    /* ... with this momentum (host [d]; vec and out's first vectors restored by the caller) */
    int64_t every;            /* checkpoint every `every` iterations (0: only when cancelled) */
    /* checkpoint hook (NULL: none): vec and mom are device [d]; on cancellation collect_train saves, then returns
     * PD_ERR_CANCELLED */
    pd_status (*save)(void *ctx, const collect_point *at, const float *vec, const float *mom, pd_error *err);
    void *ctx;
} collect_job;

/* Train the target vector vec (device [d], loaded into the task model each step) for iters SGD iterations
 * (momentum, BatchNorm frozen; each batch cropped and flipped when the config's augment is cropflip) as job
 * says. A non-finite loss or kept vector stops with PD_ERR_NUMERIC naming collect_lr. */
pd_status collect_train(pd_pipeline *p, float *vec, int64_t iters, const collect_job *job, pd_error *err);
/* How many vectors a job (save_every, k_out, span) has kept after `done` iterations. */
int64_t collect_kept_after(int32_t save_every, int32_t k_out, int64_t span, int64_t done);

/* Training runs besides the train stage's (the collect stage's independent mode). The seed of `purpose`
 * ("task-init", "task-shuffle", "collect-shuffle") for run r: rng_derive(seed, purpose) for r = 0 (the train
 * stage's own), rng_hash of that with r for r > 0. */
uint64_t stage_run_seed(const pd_config *c, const char *purpose, int32_t run);
/* Train the task model from run r's fresh initialisation with the train stage's options (no checkpoints; loss
 * points and progress under `stage`). */
pd_status stage_train_fresh(pd_pipeline *p, int32_t run, const char *stage, pd_error *err);
/* Save the task model as it is now as run r's (r > 0) state/task-rN.bin (stage_runs.h), after losses.csv. */
pd_status stage_train_save_run(pd_pipeline *p, int32_t run, pd_error *err);
/* A checksum of the settings the train stage's model depends on (its checkpoint signature). */
uint32_t stage_train_checksum(pd_pipeline *p);

/* Load the finished AE of state/ae.bin (non-trainable, max_batch) with its normalisation mean/std [d]
 * (vecnorm.h, std 0: pinned; malloc'd; the caller frees them and ae_free's the AE). */
pd_status stage_load_ae(pd_pipeline *p, int64_t d, int32_t max_batch, pd_ae **ae, float **mean, float **std,
                        pd_error *err);

/* Stages. */
pd_status stage_train(pd_pipeline *p, int resume, pd_error *err);
pd_status stage_collect(pd_pipeline *p, int resume, pd_error *err);
pd_status stage_ae(pd_pipeline *p, int resume, pd_error *err);
pd_status stage_ddpm(pd_pipeline *p, int resume, pd_error *err);
pd_status stage_generate(pd_pipeline *p, int resume, pd_error *err);
pd_status stage_analyze(pd_pipeline *p, int resume, pd_error *err);
/* The t-SNE part of analyze: latents.csv for the originals, p-diff and noise models of z and the DDPM's own
 * latent samples of state/samples.bin (kind pdiff_latent). */
pd_status stage_analyze_latents(pd_pipeline *p, const pd_zoo *z, pd_error *err);


#endif
