/* stage_runs.c — the task models of collect_mode=independent's runs (see stage_runs.h). */
#include "stage_runs.h"

#include <stdio.h>
#include <string.h>

#include "path.h"
#include "pipeline_ctx.h"

int32_t pipeline_runs_count(const pd_config *c)
{
    if (strcmp(c->collect_mode, "independent") != 0 || c->checkpoints[0] || c->collect_runs < 1)
        return 1;
    return c->collect_runs;
}

int32_t stage_run_k(int32_t k, int32_t runs, int32_t r)
{
    return k / runs + (r < k % runs ? 1 : 0);
}

int32_t stage_run_first(int32_t k, int32_t runs, int32_t r)
{
    return r * (k / runs) + (r < k % runs ? r : k % runs);
}

int32_t stage_run_of_original(const pd_config *c, int32_t k, int32_t i)
{
    int32_t runs = pipeline_runs_count(c);
    if (runs > k)
        runs = k;
    for (int32_t r = runs - 1; r > 0; r--)
        if (i >= stage_run_first(k, runs, r))
            return r;
    return 0;
}

int32_t stage_run_nearest(const pd_config *c, const float *orig, int32_t k, int64_t d, const float *v)
{
    if (pipeline_runs_count(c) <= 1 || k < 1)
        return 0;
    int32_t best = 0;
    double best_d2 = -1.0;
    for (int32_t i = 0; i < k; i++) {
        const float *o = orig + (int64_t)i * d;
        double s = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double t = (double)v[j] - (double)o[j];
            s += t * t;
        }
        if (best_d2 < 0.0 || s < best_d2) {
            best_d2 = s;
            best = i;
        }
    }
    return stage_run_of_original(c, k, best);
}

void pipeline_run_state_name(int32_t run, char *name, size_t size)
{
    if (run <= 0)
        snprintf(name, size, "task");
    else
        snprintf(name, size, "task-r%d", (int)run + 1);
}

/* PD_ERR_STATE when run r's model file is missing. */
static pd_status stage_run_need(pd_pipeline *p, int32_t run, pd_error *err)
{
    if (run == 0)
        return pipeline_need_state(p, "task", PD_STAGE_TRAIN, err);
    char name[32], path[PD_PATH_MAX];
    pipeline_run_state_name(run, name, sizeof name);
    if (pipeline_has_state(p, name, path, sizeof path))
        return PD_OK;
    return error_set(err, PD_ERR_STATE,
                     "%s: missing: collect_mode=independent judges run %d's checkpoints in run %d's task model, which "
                     "the collect stage keeps there (rerun --stages collect and the stages after it)",
                     path, (int)run + 1, (int)run + 1);
}

pd_status stage_runs_use(pd_pipeline *p, int32_t run, pd_error *err)
{
    if (p->task_run == run)
        return PD_OK;
    if (run == 0)
        return pipeline_load_task(p, err);
    PD_TRY(stage_run_need(p, run, err));
    char name[32];
    pipeline_run_state_name(run, name, sizeof name);
    p->task_run = -1;
    PD_TRY(pipeline_load_task_state(p, name, err));
    p->task_run = run;
    return PD_OK;
}

pd_status stage_runs_check(pd_pipeline *p, pd_error *err)
{
    int32_t runs = pipeline_runs_count(&p->cfg);
    for (int32_t r = 1; r < runs; r++)
        PD_TRY(stage_run_need(p, r, err));
    return PD_OK;
}
