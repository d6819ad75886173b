/* pipeline.h — the p-diff method as stages over a session directory (doc/design.md §1, §3, §5).
 *
 * Stages, in order: train (the task model), collect (K checkpoints of the target subset), ae (parameter
 * autoencoder), ddpm (latent diffusion), generate (sample, decode, evaluate: the accuracy table), analyze
 * (memorization analysis). Each stage reads what earlier stages left in the session (state/NAME.bin) and writes its
 * own outputs atomically; a stage that is interrupted (cancel hook) saves what it has and returns
 * PD_ERR_CANCELLED, so pipeline_run(..., resume = 1) continues where it stopped.
 *
 *   pd_pipeline *p;
 *   pipeline_open(&p, &cfg, "sessions/run1", &callbacks, &err);   // writes config.csv
 *   pipeline_run(p, PIPELINE_ALL_STAGES, 0, &err);
 *   pipeline_free(p);
 */
#ifndef PD_PIPELINE_H
#define PD_PIPELINE_H

#include "config.h"
#include "error.h"
#include "progress.h"

typedef enum {
    PD_STAGE_TRAIN,
    PD_STAGE_COLLECT,
    PD_STAGE_AE,
    PD_STAGE_DDPM,
    PD_STAGE_GENERATE,
    PD_STAGE_ANALYZE,
    PD_STAGE_COUNT
} pd_stage;

#define PIPELINE_ALL_STAGES ((1u << PD_STAGE_COUNT) - 1u)

/* The models the analyze stage adds besides the noise-added and fine-tuned ones: averaged (each the mean of a few
 * originals) and gaussian (drawn from the Gaussian fitted to the originals); the plan counts them too. */
#define PIPELINE_ANALYZE_AVERAGED 100
#define PIPELINE_ANALYZE_GAUSSIAN 100

typedef struct pd_pipeline pd_pipeline;

const char *pipeline_stage_name(pd_stage s);
/* "train,collect" / "all" → bit mask of (1 << stage); PD_ERR_USAGE naming a bad stage. */
pd_status pipeline_parse_stages(const char *list, unsigned *mask, pd_error *err);

/* Validate cfg, create the session folder and the compute backend, write config.csv (in a session with completed
 * stages only once the first stage run saves state or ends well, so a run refused for settings that contradict
 * what earlier stages produced leaves config.csv as it was). */
pd_status pipeline_open(pd_pipeline **out, const pd_config *cfg, const char *dir, const pd_callbacks *cb,
                        pd_error *err);
/* Run the stages in mask, in order. resume != 0: skip stages the session already completed and continue a
 * partly trained stage from its last saved step. */
pd_status pipeline_run(pd_pipeline *p, unsigned mask, int resume, pd_error *err);
/* Is a stage complete in this session? */
int pipeline_stage_done(const pd_pipeline *p, pd_stage s);
/* The same for a session folder, read without taking its lock (state/stages.bin; none: no stage done). */
pd_status pipeline_stages_done(const char *dir, int done[PD_STAGE_COUNT], pd_error *err);
void pipeline_free(pd_pipeline *p);

/* Write state/collect.bin (kind "collect": vectors, k, d) and params.csv (id, v0..v(d-1)) for the collected
 * vectors [k, d] (atomic). */
pd_status pipeline_write_collect(const char *path, const float *vecs, int32_t k, int64_t d, pd_error *err);
pd_status pipeline_write_params(const char *path, const float *vecs, int32_t k, int64_t d, pd_error *err);
/* Read state/collect.bin at path: its vectors [k, d] into *vecs (malloc'd, caller frees; NULL on error). A k or d
 * outside 1..INT32_MAX (or a k x d too large) or missing vectors are PD_ERR_STATE naming the file. */
pd_status pipeline_read_collect(const char *path, float **vecs, int32_t *k, int64_t *d, pd_error *err);

/* Prepare dst_dir as a session whose stages before `upto` are complete copies of src_dir's (task model,
 * collected vectors — only the first k_slice of them when k_slice > 0 —, AE, DDPM). A run with resume = 1 in
 * dst_dir then does only the stages from `upto` on. Used by sweeps to share work between values. */
pd_status pipeline_seed_session(const char *dst_dir, const char *src_dir, pd_stage upto, int32_t k_slice,
                                pd_error *err);
/* The part of that which can come later: src_dir's evaluated models (state/models.bin, when it has them) as
 * dst_dir's state/reuse.bin, for a sweep whose first session generated after the copy was made. */
pd_status pipeline_seed_reuse(const char *dst_dir, const char *src_dir, pd_error *err);

/* A job of several processes (comm.h, issue 17): rank 0 runs the pipeline and every other rank calls
 * pipeline_worker_serve, which evaluates the models rank 0 hands out (the same evaluator on every rank, so results do
 * not depend on the number of ranks) until rank 0 calls pipeline_ranks_end. A worker's failure is returned (the
 * program names the rank and ends the job). pipeline_ranks_end returns 0 when the other ranks were told to finish
 * (or there are none), -1 when rank 0 stopped in the middle of an exchange: the job must then be aborted. cb: log
 * hooks for the worker (may be NULL). */
pd_status pipeline_worker_serve(const pd_callbacks *cb, pd_error *err);
int pipeline_ranks_end(void);
/* `pdiff bench`'s evaluation throughput over the ranks of the job: n random target vectors evaluated in cfg's task
 * model (freshly initialised) on its data set's test split, split over the ranks as the stages do; models per
 * second into *models_per_s. */
pd_status pipeline_bench_evaluate(const pd_config *cfg, int32_t n, double *models_per_s, pd_error *err);

/* collect_mode=independent's runs (src/pipeline/stage_runs.h): how many task models the collection came from
 * (collect_runs in that mode, else 1), and the state file name of run r's model: "task" (r = 0) or "task-rN"
 * (N = r + 1). */
int32_t pipeline_runs_count(const pd_config *c);
void pipeline_run_state_name(int32_t run, char *name, size_t size);

/* Version strings recorded in config.csv and printed by --version. */
const char *pipeline_version(void);

#endif
