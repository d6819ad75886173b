/* stage_util.h — small helpers shared by the stage files (internal). */
#ifndef PD_STAGE_UTIL_H
#define PD_STAGE_UTIL_H

#include <math.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "session.h"

/* The bits of (float)v, for recording a setting exactly in a checkpoint's "run" signature. */
int64_t stage_float_bits(double v);
/* The seed of the generator side — the AE's training (init, batches, noise), the DDPM's training and the
 * sampling: cfg->seed itself when gen_seed is 0 (the streams of every run before gen_seed existed), else a seed
 * derived from gen_seed, so that the generator's variance can be measured over the same collected checkpoints. */
uint64_t stage_gen_seed(const pd_config *cfg);
/* Sort a copy and return best (max), mean and median of v [n]. */
void stage_stats(const double *v, int64_t n, double *best, double *mean, double *median);
/* stage_stats of the n accuracies acc, also written to the session summary as PREFIX_best, _mean, _median. */
void stage_summary_accuracy(pd_session *s, const char *prefix, const double *acc, int64_t n, double *best,
                            double *mean, double *median);

#include "backend.h"
#include "state.h"

/* The session's state/NAME.bin (path receives it) loaded as kind when it exists; *out is NULL when there is none. */
pd_status stage_state_load_optional(pd_session *session, const char *name, const char *kind, char *path, size_t size,
                                    pd_state **out, pd_error *err);
/* A trainable network's checkpoint: parameters and AdamW moments (device blocks of `count` floats), the last
 * completed step, a geometry signature that must match on load, and optional extra host sections. */
typedef struct {
    float *params, *adam_m, *adam_v; /* device */
    int64_t count;
    const int32_t *geometry;        /* host, n_geometry ints identifying the network's shape */
    int32_t n_geometry;
} stage_net;

typedef struct {
    const char *name;
    const float *data; /* host */
    int64_t count;
} stage_extra;

pd_status stage_net_save(pd_backend *be, const stage_net *net, const char *path, const char *kind, int64_t step,
                         int complete, const stage_extra *extra, int n_extra, pd_error *err);
/* Load a checkpoint written by stage_net_save into net's device blocks. The caller keeps *state open to read
 * extra sections (state_free it). PD_ERR_STATE naming the file when the geometry differs, or the step lies outside
 * 0..max_step (max_step < 0: any step >= 0), or complete is not 0 or 1. */
pd_status stage_net_load(pd_backend *be, const stage_net *net, const char *path, const char *kind, int64_t max_step,
                         int64_t *step, int *complete, pd_state **state, pd_error *err);
/* The loss a trainer has summed since the last loss point (stage_loop_run logs one every 10 steps), kept in a
 * checkpoint as the extra section "loss_window" = {sum, steps}: stage_loss_window_extra fills `pair` and names
 * it; stage_loss_window_load reads it back (0 and 0 from a state file written before it was saved), or
 * PD_ERR_STATE naming the file when it is not a finite sum over 0..9 steps. */
stage_extra stage_loss_window_extra(float sum, int64_t steps, float pair[2]);
pd_status stage_loss_window_load(const pd_state *s, const char *path, float *sum, int64_t *steps, pd_error *err);

#include "progress.h"

/* The training loop shared by the ae and ddpm stages: steps start+1..total, a loss point every 10 steps,
 * progress every step, a checkpoint every save_every steps, on cancellation (then PD_ERR_CANCELLED) and at the
 * end (complete = 1). A non-finite loss stops with PD_ERR_NUMERIC naming the stage and lr_key. */
typedef struct {
    const char *stage;      /* "ae" */
    const char *lr_key;     /* "ae_lr" */
    int64_t start, total, save_every;
    void (*step)(void *ctx, int64_t step);
    float (*take_loss)(void *ctx);
    pd_status (*save)(void *ctx, int64_t step, int complete, pd_error *err);
    void *ctx;
} stage_loop;

pd_status stage_loop_run(const stage_loop *l, const pd_callbacks *cb, pd_error *err);

#include "zoo.h"

struct pd_pipeline;
struct pd_evaluator;

/* Models waiting to be evaluated and added to a zoo (stage_evalq.c): the generate and analyze stages add each
 * model's vector here; the queue evaluates them in groups with pipeline_evaluate_many (one at a time in a job of one
 * process, a few per rank in a job of several) and adds them to the zoo in the order they came, calling on_added
 * after each (progress; a non-OK status, such as a cancellation, stops there). stage_evalq_flush evaluates what
 * waits. With several collection runs (stage_runs.h) the queue holds many models (usually all of a stage's),
 * evaluates them run by run, replacing the stage's evaluator (*ev) by one of the run's task model when the run
 * changes, and calls on_added as each is evaluated (they join the zoo in order at the end); each model's run goes
 * to the zoo. */
typedef struct {
    struct pd_pipeline *p;
    struct pd_evaluator **ev; /* the stage's evaluator, of run ev_run's task model */
    pd_zoo *z;
    const char *stage;   /* names an out-of-memory error */
    pd_status (*on_added)(void *ud, pd_error *err);
    void *ud;
    int32_t cap, n;      /* room, waiting */
    int64_t d, n_test;
    char (*kind)[ZOO_KIND_MAX];
    float *vecs;         /* [cap, d] */
    double *acc, *loss;  /* [cap] */
    uint8_t *pred;       /* [cap, n_test] */
    int32_t runs, ev_run; /* pipeline_runs_count; the run *ev judges in */
    int32_t *run;        /* [cap] each waiting model's run */
    const float *orig;   /* [k, d] the originals, for stage_run_nearest (stage_evalq_originals) */
    int32_t k;
    float *gvecs;        /* runs > 1: one run's vectors [cap, d], results and predictions, and their places */
    double *gacc;
    uint8_t *gpred;
    int32_t *gidx;
} stage_evalq;

/* ev: the stage's open evaluator (of p->task as loaded for the stage: run 0). */
pd_status stage_evalq_init(stage_evalq *q, struct pd_pipeline *p, struct pd_evaluator **ev, pd_zoo *z,
                           const char *stage, pd_status (*on_added)(void *, pd_error *), void *ud, pd_error *err);
/* The originals orig [k, d] (kept, not copied) whose nearest decides the run of a model stage_evalq_add adds. */
void stage_evalq_originals(stage_evalq *q, const float *orig, int32_t k);
/* Add a model judged in the run of the original nearest to it. */
pd_status stage_evalq_add(stage_evalq *q, const char *kind, const float *vec, pd_error *err);
/* Add a model judged in run `run`'s task model. */
pd_status stage_evalq_add_run(stage_evalq *q, const char *kind, const float *vec, int32_t run, pd_error *err);
pd_status stage_evalq_flush(stage_evalq *q, pd_error *err);
void stage_evalq_free(stage_evalq *q);

#endif
