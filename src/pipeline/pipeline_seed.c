/* pipeline_seed.c — start a session from another one's early stages (used by sweeps): copy what the stages
 * before `upto` wrote, optionally keep only the first k collected vectors, and mark those stages complete. When
 * the collection is shared, the source's evaluated models (state/models.bin) come along as state/reuse.bin, so
 * that generate and analyze take the results of the vectors both sessions have (eval_reuse.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "path.h"
#include "pipeline.h"
#include "state.h"

/* src_dir/name to dst (a path) */
static pd_status pipeline_seed_copy_as(const char *src_dir, const char *name, const char *dst, pd_error *err)
{
    char src[PD_PATH_MAX];
    PD_TRY(path_join(src, sizeof src, src_dir, name, err));
    FILE *f = fopen(src, "rb");
    if (!f)
        return PD_OK; /* not written by the source: nothing to share */
    fclose(f);
    return atomic_copy_file(src, dst, err);
}

static pd_status pipeline_seed_copy(const char *src_dir, const char *dst_dir, const char *name, pd_error *err)
{
    char dst[PD_PATH_MAX];
    PD_TRY(path_join(dst, sizeof dst, dst_dir, name, err));
    return pipeline_seed_copy_as(src_dir, name, dst, err);
}

/* The task models of an independent collection's runs 2, 3, ... (state/task-rN.bin, stage_runs.h), as many as the
 * source has in a row. */
static pd_status pipeline_seed_runs(const char *src_dir, const char *dst_dir, pd_error *err)
{
    for (int32_t r = 1;; r++) {
        char run[32], name[64], src[PD_PATH_MAX];
        pipeline_run_state_name(r, run, sizeof run);
        snprintf(name, sizeof name, "state/%s.bin", run);
        PD_TRY(path_join(src, sizeof src, src_dir, name, err));
        FILE *f = fopen(src, "rb");
        if (!f)
            return PD_OK;
        fclose(f);
        PD_TRY(pipeline_seed_copy(src_dir, dst_dir, name, err));
    }
}

/* state/collect.bin and params.csv with the first k vectors of the source's collection */
static pd_status pipeline_seed_slice(const char *src_dir, const char *dst_dir, int32_t k, pd_error *err)
{
    char path[PD_PATH_MAX], dst_collect[PD_PATH_MAX], dst_params[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, src_dir, "state/collect.bin", err));
    PD_TRY(path_join(dst_collect, sizeof dst_collect, dst_dir, "state/collect.bin", err));
    PD_TRY(path_join(dst_params, sizeof dst_params, dst_dir, "params.csv", err));
    float *v;
    int32_t kk;
    int64_t d;
    PD_TRY(pipeline_read_collect(path, &v, &kk, &d, err));
    pd_status st = PD_OK;
    if (kk < k)
        st = error_set(err, PD_ERR_STATE, "%s: holds %lld vectors, %d wanted", path, (long long)kk, k);
    if (st == PD_OK)
        st = pipeline_write_collect(dst_collect, v, k, d, err);
    if (st == PD_OK)
        st = pipeline_write_params(dst_params, v, k, d, err);
    free(v);
    return st;
}

pd_status pipeline_seed_reuse(const char *dst_dir, const char *src_dir, pd_error *err)
{
    char reuse[PD_PATH_MAX];
    PD_TRY(path_join(reuse, sizeof reuse, dst_dir, "state/reuse.bin", err));
    return pipeline_seed_copy_as(src_dir, "state/models.bin", reuse, err);
}

pd_status pipeline_seed_session(const char *dst_dir, const char *src_dir, pd_stage upto, int32_t k_slice,
                                pd_error *err)
{
    char state_dir[PD_PATH_MAX], path[PD_PATH_MAX];
    PD_TRY(path_join(state_dir, sizeof state_dir, dst_dir, "state", err));
    PD_TRY(path_join(path, sizeof path, dst_dir, "state/stages.bin", err));
    PD_TRY(atomic_mkdirs(state_dir, err));
    if (upto > PD_STAGE_TRAIN) {
        PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "state/task.bin", err));
        PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "losses.csv", err));
        PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "summary.csv", err));
    }
    if (upto > PD_STAGE_COLLECT) {
        PD_TRY(pipeline_seed_runs(src_dir, dst_dir, err));
        if (k_slice > 0) {
            PD_TRY(pipeline_seed_slice(src_dir, dst_dir, k_slice, err));
        } else {
            PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "state/collect.bin", err));
            PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "params.csv", err));
        }
    }
    if (upto > PD_STAGE_COLLECT)
        PD_TRY(pipeline_seed_reuse(dst_dir, src_dir, err));
    if (upto > PD_STAGE_AE)
        PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "state/ae.bin", err));
    if (upto > PD_STAGE_DDPM)
        PD_TRY(pipeline_seed_copy(src_dir, dst_dir, "state/ddpm.bin", err));
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "stages", err));
    pd_status st = PD_OK;
    for (int i = 0; i < PD_STAGE_COUNT && st == PD_OK; i++)
        st = state_put_i64(w, pipeline_stage_name((pd_stage)i), i < (int)upto, err);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, path, err);
}
