/* stage_util.c — helpers shared by the stages (see stage_util.h). */
#include "stage_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "stats.h"

void stage_stats(const double *v, int64_t n, double *best, double *mean, double *median)
{
    *best = *mean = *median = NAN;
    if (n <= 0)
        return;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, stats_cmp_double);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += s[i];
    *best = s[n - 1];
    *mean = sum / (double)n;
    *median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
}

void stage_summary_accuracy(pd_session *s, const char *prefix, const double *acc, int64_t n, double *best,
                            double *mean, double *median)
{
    stage_stats(acc, n, best, mean, median);
    const char *suffix[3] = {"best", "mean", "median"};
    const double *value[3] = {best, mean, median};
    for (int i = 0; i < 3; i++) {
        char key[96];
        snprintf(key, sizeof key, "%s_%s", prefix, suffix[i]);
        session_summary_set(s, key, *value[i]);
    }
}

pd_status stage_net_save(pd_backend *be, const stage_net *net, const char *path, const char *kind, int64_t step,
                         int complete, const stage_extra *extra, int n_extra, pd_error *err)
{
    float *host = malloc((size_t)(net->count > 0 ? net->count : 1) * sizeof(float));
    if (!host)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory saving", path);
    pd_state_writer *w;
    pd_status st = state_writer_create(&w, kind, err);
    const char *names[3] = {"params", "adam_m", "adam_v"};
    const float *blocks[3] = {net->params, net->adam_m, net->adam_v};
    for (int i = 0; i < 3 && st == PD_OK; i++) {
        be->download(be, host, blocks[i], (size_t)net->count * sizeof(float));
        st = state_put(w, names[i], PD_DTYPE_F32, host, net->count, err);
    }
    if (st == PD_OK)
        st = state_put(w, "geometry", PD_DTYPE_I32, net->geometry, net->n_geometry, err);
    if (st == PD_OK)
        st = state_put_i64(w, "step", step, err);
    if (st == PD_OK)
        st = state_put_i64(w, "complete", complete, err);
    for (int i = 0; i < n_extra && st == PD_OK; i++)
        st = state_put(w, extra[i].name, PD_DTYPE_F32, extra[i].data, extra[i].count, err);
    free(host);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, path, err);
}

pd_status stage_net_load(pd_backend *be, const stage_net *net, const char *path, const char *kind, int64_t max_step,
                         int64_t *step, int *complete, pd_state **state, pd_error *err)
{
    *state = NULL;
    pd_state *s;
    PD_TRY(state_load(&s, path, kind, err));
    int64_t n_geo = 0, done = 0;
    const int32_t *geo = state_get(s, "geometry", PD_DTYPE_I32, -1, &n_geo, err);
    pd_status st = geo ? PD_OK : (err ? err->status : PD_ERR_STATE);
    if (st == PD_OK && (n_geo != net->n_geometry || memcmp(geo, net->geometry, (size_t)n_geo * sizeof *geo) != 0))
        st = error_set(err, PD_ERR_STATE,
                       "%s: made for a different %s network (settings changed since?); rerun the stage that wrote it",
                       path, kind);
    const char *names[3] = {"params", "adam_m", "adam_v"};
    float *blocks[3] = {net->params, net->adam_m, net->adam_v};
    for (int i = 0; i < 3 && st == PD_OK; i++) {
        const float *v = state_get(s, names[i], PD_DTYPE_F32, net->count, NULL, err);
        if (!v)
            st = err ? err->status : PD_ERR_STATE;
        else if (blocks[i])
            be->upload(be, blocks[i], v, (size_t)net->count * sizeof(float));
    }
    if (st == PD_OK)
        st = state_get_i64(s, "step", step, err);
    if (st == PD_OK)
        st = state_get_i64(s, "complete", &done, err);
    if (st == PD_OK && *step < 0)
        st = error_set(err, PD_ERR_STATE, "%s: step %lld is negative (damaged file?)", path, (long long)*step);
    if (st == PD_OK && max_step >= 0 && *step > max_step)
        st = error_set(err, PD_ERR_STATE, "%s: step %lld is past the %lld steps of this run (settings changed since?)",
                       path, (long long)*step, (long long)max_step);
    if (st == PD_OK && done != 0 && done != 1)
        st = error_set(err, PD_ERR_STATE, "%s: complete %lld is neither 0 nor 1", path, (long long)done);
    if (st != PD_OK) {
        state_free(s);
        return st;
    }
    *complete = (int)done;
    *state = s;
    return PD_OK;
}

stage_extra stage_loss_window_extra(float sum, int64_t steps, float pair[2])
{
    pair[0] = sum;
    pair[1] = (float)steps;
    return (stage_extra){"loss_window", pair, 2};
}

pd_status stage_loss_window_load(const pd_state *s, const char *path, float *sum, int64_t *steps, pd_error *err)
{
    *sum = 0.0f;
    *steps = 0;
    if (!state_has(s, "loss_window"))
        return PD_OK;
    const float *w = state_get(s, "loss_window", PD_DTYPE_F32, 2, NULL, err);
    if (!w)
        return err ? err->status : PD_ERR_STATE;
    if (!isfinite(w[0]) || !(w[1] >= 0.0f && w[1] < 10.0f) || w[1] != floorf(w[1]))
        return error_set(err, PD_ERR_STATE, "%s: loss_window {%g, %g} is not a loss sum over 0 to 9 steps (damaged "
                         "file?)", path, (double)w[0], (double)w[1]);
    *sum = w[0];
    *steps = (int64_t)w[1];
    return PD_OK;
}

pd_status stage_loop_run(const stage_loop *l, const pd_callbacks *cb, pd_error *err)
{
    for (int64_t s = l->start + 1; s <= l->total; s++) {
        if (progress_cancelled(cb)) {
            PD_TRY(l->save(l->ctx, s - 1, 0, err));
            return error_set(err, PD_ERR_CANCELLED, "%s training stopped after step %lld of %lld (saved)", l->stage,
                             (long long)(s - 1), (long long)l->total);
        }
        l->step(l->ctx, s);
        if (s % 10 == 0 || s == l->total) {
            float loss = l->take_loss(l->ctx);
            if (!isfinite(loss))
                return error_set(err, PD_ERR_NUMERIC, "%s training diverged at step %lld (loss %g): lower %s",
                                 l->stage, (long long)s, (double)loss, l->lr_key);
            progress_metric(cb, l->stage, s, loss, NAN);
        }
        progress_report(cb, l->stage, s, l->total);
        if (s % l->save_every == 0 && s < l->total)
            PD_TRY(l->save(l->ctx, s, 0, err));
    }
    return l->save(l->ctx, l->total, 1, err);
}

pd_status stage_state_load_optional(pd_session *session, const char *name, const char *kind, char *path, size_t size,
                                    pd_state **out, pd_error *err)
{
    *out = NULL;
    session_state_path(session, name, path, size);
    FILE *f = fopen(path, "rb");
    if (!f)
        return PD_OK;
    fclose(f);
    return state_load(out, path, kind, err);
}

int64_t stage_float_bits(double v)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (int64_t)u;
}

uint64_t stage_gen_seed(const pd_config *cfg)
{
    return cfg->gen_seed ? rng_derive(cfg->gen_seed, "gen-seed") : cfg->seed;
}
