/* stage_collect.c — the "collect" stage: keep training only the target tensors of the trained task model and
 * save the flattened target every save_every iterations until there are k checkpoints.
 *
 * BatchNorm runs in eval mode throughout: its running statistics stay frozen, and the gradient is that of the
 * very network every checkpoint (and every generated vector) is later evaluated in. Layers before the first
 * target tensor are frozen too, so each batch runs them forward only (model_forward_range up to the cut) and
 * back-propagation stops at the cut. The optimiser is SGD with momentum on the target vector alone.
 * Outputs: state/collect.bin (vectors [k, d]) and params.csv (id, v0..v(d-1)).
 *
 * While it runs, the stage checkpoints to state/collect_ckpt.bin (kind "collect_ckpt") every tenth of the
 * iterations (at least 50 apart) and when cancelled: the target vector and its momentum, the vectors kept so far,
 * the settings it was made with ("run": k, d, save_every, batch, shuffling seed, collect_lr, momentum,
 * weight_decay, a checksum of the target's names), the iterations done and the unfinished loss interval (sum,
 * count). A resumed stage continues from it to the same vectors and loss points as an uninterrupted run (one made
 * with other settings is ignored: the collection starts over); the finished stage deletes it. A non-finite loss
 * or kept vector stops the stage naming collect_lr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "csvio.h"
#include "devbuf.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"
#include "state.h"

#define COLLECT_CKPT "collect_ckpt"

pd_status pipeline_write_collect(const char *path, const float *vecs, int32_t k, int64_t d, pd_error *err)
{
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "collect", err));
    pd_status st = state_put(w, "vectors", PD_DTYPE_F32, vecs, (int64_t)k * d, err);
    if (st == PD_OK)
        st = state_put_i64(w, "k", k, err);
    if (st == PD_OK)
        st = state_put_i64(w, "d", d, err);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, path, err);
}

pd_status pipeline_write_params(const char *path, const float *vecs, int32_t k, int64_t d, pd_error *err)
{
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, path, err));
    char name[32];
    csvio_text(w, "id");
    for (int64_t j = 0; j < d; j++) {
        snprintf(name, sizeof name, "v%lld", (long long)j);
        csvio_text(w, name);
    }
    csvio_endrow(w);
    for (int32_t i = 0; i < k; i++) {
        csvio_int(w, i);
        for (int64_t j = 0; j < d; j++)
            csvio_num(w, vecs[(int64_t)i * d + j]);
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}

/* Device and host buffers of one collection run. */
typedef struct {
    float *x_host;
    int32_t *y_host, *perm;
    float *x, *dlogits, *loss, *gvec, *mom;
    int32_t *y;
    pd_devbuf dev; /* x .. mom */
    int32_t batch;
    int64_t img, steps_per_epoch;
    int cut;
} collect_bufs;

static void collect_bufs_free(collect_bufs *b)
{
    free(b->x_host);
    free(b->y_host);
    free(b->perm);
    devbuf_free(&b->dev);
}

static pd_status collect_bufs_init(pd_pipeline *p, collect_bufs *b, pd_error *err)
{
    pd_backend *be = p->be;
    const pd_split *s = &p->data.train;
    int64_t d = p->target.d;
    b->batch = p->cfg.batch <= s->n ? p->cfg.batch : s->n;
    b->cut = model_cut_before(p->task, p->target.first_node);
    b->img = (int64_t)s->c * s->h * s->w;
    b->steps_per_epoch = s->n / b->batch;
    b->x_host = malloc((size_t)b->batch * (size_t)b->img * sizeof(float));
    b->y_host = malloc((size_t)b->batch * sizeof(int32_t));
    b->perm = malloc((size_t)s->n * sizeof(int32_t));
    devbuf_init(&b->dev, be);
    b->x = devbuf_floats(&b->dev, (int64_t)b->batch * b->img);
    b->y = devbuf_ints(&b->dev, b->batch);
    b->dlogits = devbuf_floats(&b->dev, (int64_t)b->batch * p->data.classes);
    b->loss = devbuf_floats(&b->dev, 1);
    b->gvec = devbuf_floats(&b->dev, d);
    b->mom = devbuf_floats(&b->dev, d);
    if (!b->x_host || !b->y_host || !b->perm || devbuf_failed(&b->dev)) {
        collect_bufs_free(b);
        return error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    }
    return PD_OK;
}

/* One SGD iteration `it` on the target vector vec (device [d]); the batch's mean loss is left in b->loss. */
static void collect_step(pd_pipeline *p, collect_bufs *b, float *vec, int64_t it, int64_t first, uint64_t seed)
{
    pd_backend *be = p->be;
    pd_model *m = p->task;
    const pd_target *t = &p->target;
    const pd_config *c = &p->cfg;
    const pd_split *s = &p->data.train;
    int64_t bi = it % b->steps_per_epoch;
    if (bi == 0 || it == first) /* the epoch's order (again, for a run resumed inside an epoch) */
        dataset_shuffle(b->perm, s->n, seed, it / b->steps_per_epoch);
    dataset_batch(s, b->perm + bi * b->batch, b->batch, b->x_host, b->y_host);
    be->upload(be, b->x, b->x_host, (size_t)b->batch * (size_t)b->img * sizeof(float));
    be->upload(be, b->y, b->y_host, (size_t)b->batch * sizeof(int32_t));
    target_scatter(be, m, t, vec, model_params(m));
    const float *h = b->cut > 0 ? model_forward_range(m, b->x, b->batch, 0, 0, b->cut) : b->x;
    const float *logits = model_forward(m, h, b->batch, 0, b->cut);
    const float zero = 0.0f;
    be->upload(be, b->loss, &zero, sizeof zero);
    be->softmax_xent(be, b->loss, NULL, b->dlogits, logits, b->y, b->batch, p->data.classes);
    be->fill(be, model_grads(m), model_param_count(m), 0.0f);
    model_backward(m, b->dlogits, b->batch, 0, b->cut);
    target_gather(be, m, t, model_grads(m), b->gvec);
    be->sgd_step(be, vec, b->gvec, b->mom, t->d, (float)c->collect_lr, (float)c->momentum, (float)c->weight_decay);
}

static pd_status collect_diverged(pd_pipeline *p, const char *what, int64_t it, pd_error *err)
{
    return error_set(err, PD_ERR_NUMERIC, "%s diverged at iteration %lld (non-finite %s): lower collect_lr (now %g)",
                     p->current == PD_STAGE_COLLECT ? "collect" : "fine-tuning", (long long)it,
                     what, p->cfg.collect_lr);
}

static int collect_finite(const float *v, int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return 0;
    return 1;
}

/* After iteration it + 1: keep the vector every save_every iterations, a loss point every 10. */
static pd_status collect_record(pd_pipeline *p, collect_bufs *b, const float *vec, int64_t it, int64_t iters,
                                const collect_job *job, collect_point *at, pd_error *err)
{
    pd_backend *be = p->be;
    int64_t d = p->target.d;
    if (job->out && (it + 1) % job->save_every == 0) {
        float *o = job->out + (it + 1) / job->save_every * d - d;
        be->download(be, o, vec, (size_t)d * sizeof(float));
        if (!collect_finite(o, d))
            return collect_diverged(p, "parameters", it + 1, err);
    }
    if (job->metric_stage) {
        float l;
        be->download(be, &l, b->loss, sizeof l);
        if (!isfinite(l))
            return collect_diverged(p, "loss", it + 1, err);
        at->loss_acc += l;
        at->loss_n++;
        if ((it + 1) % 10 == 0 || it + 1 == iters) {
            progress_metric(&p->cb, job->metric_stage, it + 1, at->loss_acc / at->loss_n, NAN);
            at->loss_acc = 0.0;
            at->loss_n = 0;
        }
        progress_report(&p->cb, job->metric_stage, it + 1, iters);
    }
    return PD_OK;
}

pd_status collect_train(pd_pipeline *p, float *vec, int64_t iters, const collect_job *job, pd_error *err)
{
    pd_backend *be = p->be;
    collect_bufs b = {0};
    PD_TRY(collect_bufs_init(p, &b, err));
    collect_point at = {0};
    if (job->from) {
        at = *job->from;
        be->upload(be, b.mom, job->from_mom, (size_t)p->target.d * sizeof(float));
    }
    pd_status st = PD_OK;
    int64_t first = at.done;
    for (int64_t it = first; st == PD_OK && it < iters; it++) {
        if (progress_cancelled(&p->cb)) {
            if (job->save && (st = job->save(job->ctx, &at, vec, b.mom, err)) != PD_OK)
                break;
            st = job->save ? error_set(err, PD_ERR_CANCELLED, "collect stopped after iteration %lld of %lld (saved)",
                                       (long long)it, (long long)iters)
                           : error_set(err, PD_ERR_CANCELLED, "collect cancelled at iteration %lld", (long long)it);
            break;
        }
        collect_step(p, &b, vec, it, first, job->seed);
        st = collect_record(p, &b, vec, it, iters, job, &at, err);
        at.done = it + 1;
        if (st == PD_OK && job->save && job->every > 0 && at.done % job->every == 0 && at.done < iters)
            st = job->save(job->ctx, &at, vec, b.mom, err);
    }
    collect_bufs_free(&b);
    return st;
}

/* ------------------------------------------------------------------------------------------------ checkpoints */

#define COLLECT_RUN 9

typedef struct {
    pd_pipeline *p;
    const float *vecs; /* host [k, d]: the vectors kept so far */
    float *host;       /* host [d] scratch */
    int64_t run[COLLECT_RUN]; /* the settings the collection's numbers depend on (collect_run_of) */
} collect_ckpt;

/* What a checkpoint must have been made with to be continued: k, d, save_every, the batch, the shuffling seed,
 * the bits of collect_lr, momentum and weight_decay, and a checksum of the target's tensor names. */
static void collect_run_of(const pd_pipeline *p, int64_t run[COLLECT_RUN])
{
    const pd_config *c = &p->cfg;
    int32_t batch = c->batch <= p->data.train.n ? c->batch : p->data.train.n;
    const char *names = p->target.names ? p->target.names : "";
    int64_t r[COLLECT_RUN] = {c->k, p->target.d, c->save_every, batch, (int64_t)rng_derive(c->seed, "collect-shuffle"),
                              stage_float_bits(c->collect_lr), stage_float_bits(c->momentum),
                              stage_float_bits(c->weight_decay),
                              (int64_t)crc32(0L, (const Bytef *)names, (uInt)strlen(names))};
    memcpy(run, r, sizeof r);
}

/* The save hook: losses.csv (and config.csv), then state/collect_ckpt.bin. */
static pd_status collect_checkpoint(void *ctx, const collect_point *at, const float *vec, const float *mom,
                                    pd_error *err)
{
    collect_ckpt *c = ctx;
    pd_pipeline *p = c->p;
    pd_backend *be = p->be;
    int64_t d = p->target.d;
    PD_TRY(pipeline_checkpoint(p, err));
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, COLLECT_CKPT, err));
    be->download(be, c->host, vec, (size_t)d * sizeof(float));
    pd_status st = state_put(w, "vector", PD_DTYPE_F32, c->host, d, err);
    be->download(be, c->host, mom, (size_t)d * sizeof(float));
    if (st == PD_OK)
        st = state_put(w, "momentum", PD_DTYPE_F32, c->host, d, err);
    if (st == PD_OK)
        st = state_put(w, "vectors", PD_DTYPE_F32, c->vecs, at->done / p->cfg.save_every * d, err);
    if (st == PD_OK)
        st = state_put(w, "run", PD_DTYPE_I64, c->run, COLLECT_RUN, err);
    if (st == PD_OK)
        st = state_put_i64(w, "done", at->done, err);
    if (st == PD_OK)
        st = state_put_i64(w, "loss_n", at->loss_n, err);
    if (st == PD_OK)
        st = state_put_f64(w, "loss_acc", at->loss_acc, err);
    char path[PD_PATH_MAX];
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, session_state_path(p->session, COLLECT_CKPT, path, sizeof path), err);
}

/* The checkpoint's counts, range-checked against this collection. */
static pd_status collect_ckpt_point(const pd_pipeline *p, const pd_state *s, const char *path, collect_point *at,
                                    pd_error *err)
{
    int64_t done = 0, loss_n = 0;
    PD_TRY(state_get_i64(s, "done", &done, err));
    PD_TRY(state_get_i64(s, "loss_n", &loss_n, err));
    PD_TRY(state_get_f64(s, "loss_acc", &at->loss_acc, err));
    int64_t iters = (int64_t)p->cfg.k * p->cfg.save_every;
    if (done < 0 || done > iters)
        return error_set(err, PD_ERR_STATE, "%s: done %lld outside 0..%lld", path, (long long)done, (long long)iters);
    if (loss_n < 0 || loss_n > 10 || loss_n > done)
        return error_set(err, PD_ERR_STATE, "%s: loss_n %lld outside 0..%lld", path, (long long)loss_n,
                         (long long)(done < 10 ? done : 10));
    if (!isfinite(at->loss_acc) || at->loss_acc < 0.0)
        return error_set(err, PD_ERR_STATE, "%s: loss_acc %g is not a finite sum of losses", path, at->loss_acc);
    at->done = done;
    at->loss_n = (int32_t)loss_n;
    return PD_OK;
}

/* Restore a collection from state/collect_ckpt.bin: the vectors kept (into vecs), the vector (device vec), the
 * momentum (host mom [d]) and *at. *found = 0 when there is none, or when it was made with other settings (then
 * the collection starts over, as an uninterrupted one with these settings would). */
static pd_status collect_restore(collect_ckpt *c, float *vecs, float *vec, float *mom, collect_point *at, int *found,
                                 pd_error *err)
{
    pd_pipeline *p = c->p;
    *found = 0;
    char path[PD_PATH_MAX];
    pd_state *s;
    PD_TRY(stage_state_load_optional(p->session, COLLECT_CKPT, COLLECT_CKPT, path, sizeof path, &s, err));
    if (!s)
        return PD_OK;
    int64_t n = 0, d = p->target.d;
    const int64_t *run = state_get(s, "run", PD_DTYPE_I64, -1, &n, NULL);
    if (!run || n != COLLECT_RUN || memcmp(run, c->run, sizeof c->run) != 0) {
        progress_log(&p->cb, "collect: %s was made with other settings; collecting from the start", path);
        state_free(s);
        return PD_OK;
    }
    pd_status st = collect_ckpt_point(p, s, path, at, err);
    int64_t kept = at->done / p->cfg.save_every * d;
    const float *v = st == PD_OK ? state_get(s, "vector", PD_DTYPE_F32, d, NULL, err) : NULL;
    const float *m = v ? state_get(s, "momentum", PD_DTYPE_F32, d, NULL, err) : NULL;
    const float *all = m ? state_get(s, "vectors", PD_DTYPE_F32, kept, NULL, err) : NULL;
    if (st == PD_OK && !all)
        st = err ? err->status : PD_ERR_STATE;
    if (st == PD_OK) {
        p->be->upload(p->be, vec, v, (size_t)d * sizeof(float));
        memcpy(mom, m, (size_t)d * sizeof(float));
        memcpy(vecs, all, (size_t)kept * sizeof(float));
        *found = 1;
    }
    state_free(s);
    return st;
}

/* Collect into vecs [k, d], from the checkpoint when resuming. */
static pd_status collect_run(pd_pipeline *p, int resume, float *vecs, float *vec, pd_error *err)
{
    const pd_config *c = &p->cfg;
    int64_t d = p->target.d, iters = (int64_t)c->k * c->save_every;
    collect_ckpt ck = {.p = p, .vecs = vecs, .host = malloc((size_t)d * sizeof(float))};
    float *mom = malloc((size_t)d * sizeof(float));
    collect_point at = {0};
    int found = 0;
    collect_run_of(p, ck.run);
    pd_status st = ck.host && mom ? PD_OK : error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    if (st == PD_OK && resume)
        st = collect_restore(&ck, vecs, vec, mom, &at, &found, err);
    else if (st == PD_OK)
        pipeline_drop_state(p, COLLECT_CKPT); /* a fresh start never continues an older run */
    if (st == PD_OK) {
        session_loss_drop_stage(p->session, "collect", found ? at.done : -1);
        if (found)
            progress_log(&p->cb, "collect: resuming after iteration %lld", (long long)at.done);
        collect_job job = {.save_every = c->save_every, .out = vecs, .seed = rng_derive(c->seed, "collect-shuffle"),
                           .metric_stage = "collect", .from = found ? &at : NULL, .from_mom = mom,
                           .every = iters / 10 > 50 ? iters / 10 : 50, .save = collect_checkpoint, .ctx = &ck};
        st = collect_train(p, vec, iters, &job, err);
    }
    free(ck.host);
    free(mom);
    return st;
}

pd_status stage_collect(pd_pipeline *p, int resume, pd_error *err)
{
    double t0 = stage_now();
    PD_TRY(pipeline_load_task(p, err));
    PD_TRY(pipeline_need_target(p, err));
    pd_backend *be = p->be;
    const pd_target *t = &p->target;
    const pd_config *c = &p->cfg;
    int64_t d = t->d;
    int32_t k = c->k;
    progress_log(&p->cb, "collect: %d checkpoints of %lld numbers (%s), every %d iterations, lr %g", k, (long long)d,
                 t->names, c->save_every, c->collect_lr);
    float *vecs = malloc((size_t)k * (size_t)d * sizeof(float));
    float *vec = backend_alloc_floats(be, d);
    pd_status st = vecs && vec ? PD_OK : error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    if (st == PD_OK) {
        target_gather(be, p->task, t, model_params(p->task), vec);
        st = collect_run(p, resume, vecs, vec, err);
    }
    char path[PD_PATH_MAX];
    if (st == PD_OK)
        st = pipeline_write_collect(session_state_path(p->session, "collect", path, sizeof path), vecs, k, d, err);
    if (st == PD_OK)
        st = pipeline_write_params(session_path(p->session, "params.csv", path, sizeof path), vecs, k, d, err);
    if (st == PD_OK)
        pipeline_drop_state(p, COLLECT_CKPT);
    /* collection trained the task model's target in place: restore the trained weights for later stages */
    if (st == PD_OK)
        st = pipeline_load_task(p, err);
    free(vecs);
    be->free(be, vec);
    if (st == PD_OK)
        session_summary_set(p->session, "seconds_collect", stage_now() - t0);
    return st;
}
