/* stage_runs.h — the task models of collect_mode=independent's runs, and which of them judges a vector (internal).
 *
 * In the independent mode run r (0-based) is its own trained task model: run 0 is the train stage's
 * (state/task.bin), run r > 0 is saved by the collect stage as state/task-rN.bin (N = r + 1, as in the log). The
 * collection takes stage_run_k checkpoints of the target from run r's model, vectors stage_run_first.. of
 * collect.bin. Every later vector is evaluated (and fine-tuned) inside one run's model, its weights outside the
 * target and its BatchNorm statistics:
 *   - an original: the run it was collected from;
 *   - a model made from one original (its AE reconstruction, that original plus noise, fine-tuned from it): that
 *     original's run;
 *   - any other (p-diff samples, the ensemble, averaged, gaussian): the run of the original nearest to it in
 *     parameter space (squared L2; ties: the lower id).
 * models.bin records each model's run. With one trajectory (or checkpoints=DIR) there is one run, state/task.bin,
 * and nothing here changes what the stages do.
 */
#ifndef PD_STAGE_RUNS_H
#define PD_STAGE_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "pipeline.h"

struct pd_pipeline;

/* The checkpoints of run r of `runs` among k: k / runs, the first k mod runs runs one more; the index of its first. */
int32_t stage_run_k(int32_t k, int32_t runs, int32_t r);
int32_t stage_run_first(int32_t k, int32_t runs, int32_t r);
/* The run original i (of k) was collected from. */
int32_t stage_run_of_original(const pd_config *c, int32_t k, int32_t i);
/* The run of the original (orig [k, d]) nearest to v [d]; 0 with a single run. */
int32_t stage_run_nearest(const pd_config *c, const float *orig, int32_t k, int64_t d, const float *v);
/* Put run r's task model into p->task (nothing when it holds it already). PD_ERR_STATE naming the file when it
 * is missing (a session collected before the runs' models were kept: rerun collect). */
pd_status stage_runs_use(struct pd_pipeline *p, int32_t run, pd_error *err);
/* PD_ERR_STATE naming the first run's model file that is missing, before a stage starts working. */
pd_status stage_runs_check(struct pd_pipeline *p, pd_error *err);

#endif
