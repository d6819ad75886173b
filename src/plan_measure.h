/* plan_measure.h — private to the plan (plan.c, plan_measure.c; tests/test_plan.c checks plan_scale): what
 * plan_compute knows while it works (the configuration, the backend, the task model and its target, the AE and UNet
 * geometries) and the timing of its units (plan_measure.c: a few real units of every kind run on synthetic inputs of
 * the run's shapes).
 */
#ifndef PD_PLAN_MEASURE_H
#define PD_PLAN_MEASURE_H

#include <stdint.h>
#include <time.h>

#include "ae.h"
#include "backend.h"
#include "dataset.h"
#include "model.h"
#include "plan.h"
#include "progress.h"
#include "target.h"
#include "unet.h"

typedef struct {
    const pd_config *cfg;
    const pd_callbacks *cb;
    pd_backend *be;
    pd_model_spec spec;    /* the task model (max_batch and trainable set per use) */
    pd_model *probe;       /* the task model at batch 1, for the target */
    int32_t eval_batch;    /* the pipeline's evaluation batch for this model (evaluator_batch) */
    pd_target target;
    pd_ae_geometry aeg;
    pd_unet_geometry ug;
    pd_plan *pl;
} plan_env;

static inline int32_t plan_min(int64_t a, int64_t b)
{
    return (int32_t)(a < b ? a : b);
}

/* A synthetic split of n images of the data set's shape (random bytes and labels); plan_split_free frees it. */
pd_status plan_split(const plan_env *e, int32_t n, pd_split *s, pd_error *err);
void plan_split_free(pd_split *s);

/* Time one unit of every kind at the run's sizes (e->pl's counts) and fill each stage's unit, units and seconds
 * and the plan's total_seconds. PD_ERR_CANCELLED when e->cb's cancel hook fires. */
pd_status plan_measure_times(plan_env *e, pd_error *err);
/* A unit's seconds at size full from its seconds t at the largest size timed, n, and t0 at the size before, n0 (0:
 * none). Scaling t linearly overestimates where a unit has fixed costs, so the line through both points is taken
 * when there are two, kept between t (a unit does not get cheaper with size) and the linear scaling. */
double plan_scale(int32_t n0, double t0, int32_t n, double t, int32_t full);

#endif
