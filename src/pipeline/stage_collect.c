/* stage_collect.c — the "collect" stage: keep training only the target tensors of the trained task model and
 * save the flattened target every save_every iterations until there are k checkpoints; with k_span = N > 0, the
 * k checkpoints are spread over N iterations instead: checkpoint i (1..k) is the vector after iteration
 * round(i N / k) (halves rounded up), so the k-th is the last iteration N and k changes only the spacing.
 *
 * collect_mode=independent: the k checkpoints come from collect_runs (R) independently trained task models.
 * Run 0 is the train stage's model (state/task.bin); run r > 0 trains a fresh model with the train stage's
 * options and seeds stage_run_seed(..., r) (loss points "task-rN", N = r + 1 as in the log). From each run's
 * model the target is trained and kept as above (k / R checkpoints, the first k mod R runs one more, spaced by
 * save_every or k_span; loss points "collect-rN", shuffling seed stage_run_seed("collect-shuffle", r)); the
 * vectors of run r follow those of run r - 1 in collect.bin. Run 0 alone with the trajectory's spacing is the
 * trajectory mode's collection. Run r > 0's trained model is kept as state/task-rN.bin, and later stages judge
 * each vector inside the model of its run (its weights outside the target, its BatchNorm statistics: stage_runs.h).
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
 * weight_decay, a checksum of the target's names; then, only when one of them is not the default, k_span, the
 * mode, collect_runs, augment and a checksum of the train stage's settings), the iterations done and the
 * unfinished loss interval (sum, count). A resumed stage continues from it to the same vectors and loss points as
 * an uninterrupted run (one made with other settings is ignored: the collection starts over); the finished stage
 * deletes it. In the independent mode the checkpoint is written after each finished run ("runs_done" and the
 * vectors so far) and a resumed stage starts again at the first unfinished run. A non-finite loss or kept vector
 * stops the stage naming collect_lr.
 *
 * checkpoints=DIR: no training; the K vectors are the target tensors of DIR's first k checkpoints (in name
 * order), each file validated, the tensors outside the target compared with the task model's
 * (stage_import_collect). Nothing is checkpointed: a resumed stage reads the files again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "augment.h"
#include "csvio.h"
#include "devbuf.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_import.h"
#include "stage_runs.h"
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

pd_status pipeline_read_collect(const char *path, float **vecs, int32_t *k, int64_t *d, pd_error *err)
{
    *vecs = NULL;
    pd_state *s;
    PD_TRY(state_load(&s, path, "collect", err));
    int64_t kk = 0, dd = 0;
    pd_status st = state_get_i64(s, "k", &kk, err);
    if (st == PD_OK)
        st = state_get_i64(s, "d", &dd, err);
    if (st == PD_OK && (kk < 1 || kk > INT32_MAX))
        st = error_set(err, PD_ERR_STATE, "%s: k %lld outside 1..%d (rerun collect)", path, (long long)kk, INT32_MAX);
    if (st == PD_OK && (dd < 1 || dd > INT32_MAX || dd > INT64_MAX / (int64_t)sizeof(float) / kk))
        st = error_set(err, PD_ERR_STATE, "%s: d %lld outside 1..%d or too large for k %lld (rerun collect)", path,
                       (long long)dd, INT32_MAX, (long long)kk);
    const float *v = st == PD_OK ? state_get(s, "vectors", PD_DTYPE_F32, kk * dd, NULL, err) : NULL;
    if (st == PD_OK && !v)
        st = err ? err->status : PD_ERR_STATE;
    if (st == PD_OK && (*vecs = malloc((size_t)(kk * dd) * sizeof(float))) == NULL)
        st = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    if (st == PD_OK) {
        memcpy(*vecs, v, (size_t)(kk * dd) * sizeof(float));
        *k = (int32_t)kk;
        *d = dd;
    }
    state_free(s);
    return st;
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
    int augment;         /* cropflip each batch with stream aug_stream */
    uint64_t aug_stream;
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
    if (b->augment)
        augment_batch(s, b->perm + bi * b->batch, b->batch, b->x_host, b->y_host, b->aug_stream, it);
    else
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

int64_t collect_kept_after(int32_t save_every, int32_t k_out, int64_t span, int64_t done)
{
    if (span <= 0)
        return done / save_every;
    /* i is kept by `done` when round(i span / k) <= done, i.e. 2 span i < k (2 done + 1) */
    int64_t n = ((int64_t)k_out * (2 * done + 1) - 1) / (2 * span);
    return n < k_out ? n : k_out;
}

/* After iteration it + 1: keep the vector when the job's spacing says so, a loss point every 10. */
static pd_status collect_record(pd_pipeline *p, collect_bufs *b, const float *vec, int64_t it, int64_t iters,
                                const collect_job *job, collect_point *at, pd_error *err)
{
    pd_backend *be = p->be;
    int64_t d = p->target.d;
    int64_t kept = collect_kept_after(job->save_every, job->k_out, job->span, it + 1);
    if (job->out && kept > collect_kept_after(job->save_every, job->k_out, job->span, it)) {
        float *o = job->out + kept * d - d;
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
    b.augment = strcmp(p->cfg.augment, "cropflip") == 0;
    b.aug_stream = augment_stream(job->seed);
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

#define COLLECT_RUN_V1 9 /* the signature before k_span, the independent mode and augment, still written for defaults */
#define COLLECT_RUN 14

typedef struct {
    pd_pipeline *p;
    const float *vecs; /* host [k, d]: the vectors kept so far */
    float *host;       /* host [d] scratch */
    int64_t run[COLLECT_RUN]; /* the settings the collection's numbers depend on (collect_run_of) */
    int32_t n_run;            /* how many of them a checkpoint records */
} collect_ckpt;

static int collect_independent(const pd_config *c)
{
    return strcmp(c->collect_mode, "independent") == 0;
}

/* The iterations of a collection keeping k_out vectors. */
static int64_t collect_iters(const pd_config *c, int32_t k_out)
{
    return c->k_span > 0 ? c->k_span : (int64_t)k_out * c->save_every;
}

/* What a checkpoint must have been made with to be continued: k, d, save_every, the batch, the shuffling seed,
 * the bits of collect_lr, momentum and weight_decay, and a checksum of the target's tensor names; then k_span,
 * the mode, collect_runs, augment and (independent mode) a checksum of the train stage's settings, recorded only
 * when one of them is not the default (so that a default run's checkpoint is the one earlier versions wrote). */
static void collect_run_of(pd_pipeline *p, collect_ckpt *ck)
{
    const pd_config *c = &p->cfg;
    int32_t batch = c->batch <= p->data.train.n ? c->batch : p->data.train.n;
    const char *names = p->target.names ? p->target.names : "";
    int ind = collect_independent(c), aug = strcmp(c->augment, "cropflip") == 0;
    int64_t r[COLLECT_RUN] = {c->k, p->target.d, c->save_every, batch, (int64_t)rng_derive(c->seed, "collect-shuffle"),
                              stage_float_bits(c->collect_lr), stage_float_bits(c->momentum),
                              stage_float_bits(c->weight_decay),
                              (int64_t)crc32(0L, (const Bytef *)names, (uInt)strlen(names)), c->k_span, ind,
                              ind ? c->collect_runs : 0, aug, ind ? (int64_t)stage_train_checksum(p) : 0};
    memcpy(ck->run, r, sizeof r);
    ck->n_run = c->k_span > 0 || ind || aug ? COLLECT_RUN : COLLECT_RUN_V1;
}

/* Was checkpoint s made with this collection's settings? */
static int collect_same_run(const collect_ckpt *ck, const pd_state *s)
{
    int64_t n = 0;
    const int64_t *run = state_get(s, "run", PD_DTYPE_I64, -1, &n, NULL);
    return run && n == ck->n_run && memcmp(run, ck->run, (size_t)ck->n_run * sizeof *run) == 0;
}

/* The save hook: losses.csv (and config.csv), then state/collect_ckpt.bin. */
static pd_status collect_checkpoint(void *ctx, const collect_point *at, const float *vec, const float *mom,
                                    pd_error *err)
{
    collect_ckpt *c = ctx;
    pd_pipeline *p = c->p;
    pd_backend *be = p->be;
    const pd_config *cfg = &p->cfg;
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
        st = state_put(w, "vectors", PD_DTYPE_F32, c->vecs,
                       collect_kept_after(cfg->save_every, cfg->k, cfg->k_span, at->done) * d, err);
    if (st == PD_OK)
        st = state_put(w, "run", PD_DTYPE_I64, c->run, c->n_run, err);
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
    int64_t iters = collect_iters(&p->cfg, p->cfg.k);
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
    const pd_config *cfg = &p->cfg;
    *found = 0;
    char path[PD_PATH_MAX];
    pd_state *s;
    PD_TRY(stage_state_load_optional(p->session, COLLECT_CKPT, COLLECT_CKPT, path, sizeof path, &s, err));
    if (!s)
        return PD_OK;
    int64_t d = p->target.d;
    if (!collect_same_run(c, s)) {
        progress_log(&p->cb, "collect: %s was made with other settings; collecting from the start", path);
        state_free(s);
        return PD_OK;
    }
    pd_status st = collect_ckpt_point(p, s, path, at, err);
    int64_t kept = collect_kept_after(cfg->save_every, cfg->k, cfg->k_span, at->done) * d;
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

/* Forget the loss points of independent runs r >= from (0-based; "task-rN", "collect-rN" with N = r + 1). */
static void collect_drop_run_losses(pd_pipeline *p, int32_t from)
{
    for (int64_t i = 0; i < session_loss_count(p->session);) {
        const char *stage;
        int64_t step;
        double loss, acc;
        session_loss_at(p->session, i, &stage, &step, &loss, &acc);
        int r = -1, used = 0;
        int is_run = sscanf(stage, "task-r%d%n", &r, &used) == 1 || sscanf(stage, "collect-r%d%n", &r, &used) == 1;
        if (is_run && stage[used] == '\0' && r > from) {
            char name[32];
            snprintf(name, sizeof name, "%s", stage);
            session_loss_drop_stage(p->session, name, -1); /* the points after i move down: look at i again */
        } else {
            i++;
        }
    }
}

/* The trajectory collection into vecs [k, d], from the checkpoint when resuming. */
static pd_status collect_trajectory(pd_pipeline *p, int resume, float *vecs, float *vec, pd_error *err)
{
    const pd_config *c = &p->cfg;
    int64_t d = p->target.d, iters = collect_iters(c, c->k);
    collect_ckpt ck = {.p = p, .vecs = vecs, .host = malloc((size_t)d * sizeof(float))};
    float *mom = malloc((size_t)d * sizeof(float));
    collect_point at = {0};
    int found = 0;
    collect_run_of(p, &ck);
    pd_status st = ck.host && mom ? PD_OK : error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    if (st == PD_OK && resume)
        st = collect_restore(&ck, vecs, vec, mom, &at, &found, err);
    else if (st == PD_OK)
        pipeline_drop_state(p, COLLECT_CKPT); /* a fresh start never continues an older run */
    if (st == PD_OK) {
        session_loss_drop_stage(p->session, "collect", found ? at.done : -1);
        collect_drop_run_losses(p, 0);
        if (found)
            progress_log(&p->cb, "collect: resuming after iteration %lld", (long long)at.done);
        collect_job job = {.save_every = c->save_every, .k_out = c->k, .span = c->k_span, .out = vecs,
                           .seed = rng_derive(c->seed, "collect-shuffle"), .metric_stage = "collect",
                           .from = found ? &at : NULL, .from_mom = mom, .every = iters / 10 > 50 ? iters / 10 : 50,
                           .save = collect_checkpoint, .ctx = &ck};
        st = collect_train(p, vec, iters, &job, err);
    }
    free(ck.host);
    free(mom);
    return st;
}

/* ------------------------------------------------------------------------------------------- independent runs */

/* Run r: its task model (run 0: the train stage's, loaded; else trained afresh), then its checkpoints. */
static pd_status collect_one_run(pd_pipeline *p, int32_t r, float *vecs, float *vec, pd_error *err)
{
    const pd_config *c = &p->cfg;
    char stage[32];
    if (r > 0) {
        snprintf(stage, sizeof stage, "task-r%d", (int)r + 1);
        PD_TRY(stage_train_fresh(p, r, stage, err));
        PD_TRY(stage_train_save_run(p, r, err)); /* the model later stages judge this run's vectors in */
    }
    int32_t kr = stage_run_k(c->k, c->collect_runs, r), first = stage_run_first(c->k, c->collect_runs, r);
    int64_t iters = collect_iters(c, kr);
    progress_log(&p->cb, "collect: run %d of %d: checkpoints %d..%d (ids %d..%d), %lld iterations", (int)r + 1,
                 (int)c->collect_runs, (int)first + 1, (int)(first + kr), (int)first, (int)(first + kr - 1),
                 (long long)iters);
    snprintf(stage, sizeof stage, "collect-r%d", (int)r + 1);
    target_gather(p->be, p->task, &p->target, model_params(p->task), vec);
    collect_job job = {.save_every = c->save_every, .k_out = kr, .span = c->k_span,
                       .out = vecs + (int64_t)first * p->target.d,
                       .seed = stage_run_seed(c, "collect-shuffle", r), .metric_stage = stage};
    return collect_train(p, vec, iters, &job, err);
}

/* After run runs_done - 1: losses.csv (and config.csv), then state/collect_ckpt.bin with the vectors so far. */
static pd_status collect_runs_save(const collect_ckpt *ck, int32_t runs_done, pd_error *err)
{
    pd_pipeline *p = ck->p;
    PD_TRY(pipeline_checkpoint(p, err));
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, COLLECT_CKPT, err));
    int64_t n = (int64_t)stage_run_first(p->cfg.k, p->cfg.collect_runs, runs_done) * p->target.d;
    pd_status st = state_put(w, "vectors", PD_DTYPE_F32, ck->vecs, n, err);
    if (st == PD_OK)
        st = state_put(w, "run", PD_DTYPE_I64, ck->run, ck->n_run, err);
    if (st == PD_OK)
        st = state_put_i64(w, "runs_done", runs_done, err);
    char path[PD_PATH_MAX];
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, session_state_path(p->session, COLLECT_CKPT, path, sizeof path), err);
}

/* The finished runs and their vectors from state/collect_ckpt.bin; *runs_done = 0 when there is none or it was
 * made with other settings. */
static pd_status collect_runs_restore(const collect_ckpt *ck, float *vecs, int32_t *runs_done, pd_error *err)
{
    pd_pipeline *p = ck->p;
    int32_t runs = p->cfg.collect_runs;
    *runs_done = 0;
    char path[PD_PATH_MAX];
    pd_state *s;
    PD_TRY(stage_state_load_optional(p->session, COLLECT_CKPT, COLLECT_CKPT, path, sizeof path, &s, err));
    if (!s)
        return PD_OK;
    if (!collect_same_run(ck, s)) {
        progress_log(&p->cb, "collect: %s was made with other settings; collecting from the start", path);
        state_free(s);
        return PD_OK;
    }
    int64_t done = 0;
    pd_status st = state_get_i64(s, "runs_done", &done, err);
    if (st == PD_OK && (done < 1 || done >= runs))
        st = error_set(err, PD_ERR_STATE, "%s: runs_done %lld outside 1..%d", path, (long long)done, (int)runs - 1);
    int64_t n = st == PD_OK ? (int64_t)stage_run_first(p->cfg.k, runs, (int32_t)done) * p->target.d : 0;
    const float *v = st == PD_OK ? state_get(s, "vectors", PD_DTYPE_F32, n, NULL, err) : NULL;
    if (st == PD_OK && !v)
        st = err ? err->status : PD_ERR_STATE;
    if (st == PD_OK) {
        memcpy(vecs, v, (size_t)n * sizeof(float));
        *runs_done = (int32_t)done;
    }
    state_free(s);
    return st;
}

/* The independent collection into vecs [k, d], from the last finished run when resuming. */
static pd_status collect_independent_runs(pd_pipeline *p, int resume, float *vecs, float *vec, pd_error *err)
{
    const pd_config *c = &p->cfg;
    collect_ckpt ck = {.p = p, .vecs = vecs};
    collect_run_of(p, &ck);
    int32_t done = 0;
    if (resume)
        PD_TRY(collect_runs_restore(&ck, vecs, &done, err));
    else
        pipeline_drop_state(p, COLLECT_CKPT); /* a fresh start never continues an older run */
    session_loss_drop_stage(p->session, "collect", -1);
    collect_drop_run_losses(p, done);
    if (done > 0)
        progress_log(&p->cb, "collect: resuming after run %d of %d", (int)done, (int)c->collect_runs);
    pd_status st = PD_OK;
    for (int32_t r = done; st == PD_OK && r < c->collect_runs; r++) {
        st = collect_one_run(p, r, vecs, vec, err);
        if (st == PD_OK && r + 1 < c->collect_runs)
            st = collect_runs_save(&ck, r + 1, err);
        else if (st == PD_ERR_CANCELLED)
            st = error_set(err, st, "collect stopped in run %d of %d (%s)", (int)r + 1, (int)c->collect_runs,
                           r > 0 ? "the runs before it are saved" : "nothing saved yet");
    }
    return st;
}

pd_status stage_collect(pd_pipeline *p, int resume, pd_error *err)
{
    double t0 = progress_now();
    PD_TRY(pipeline_load_task(p, err));
    PD_TRY(pipeline_need_target(p, err));
    pd_backend *be = p->be;
    const pd_target *t = &p->target;
    const pd_config *c = &p->cfg;
    int64_t d = t->d;
    int32_t k = c->k;
    if (!c->checkpoints[0] && c->k_span > 0)
        progress_log(&p->cb, "collect: %d checkpoints of %lld numbers (%s), spread over %d iterations, lr %g", k,
                     (long long)d, t->names, c->k_span, c->collect_lr);
    else if (!c->checkpoints[0])
        progress_log(&p->cb, "collect: %d checkpoints of %lld numbers (%s), every %d iterations, lr %g", k,
                     (long long)d, t->names, c->save_every, c->collect_lr);
    float *vecs = malloc((size_t)k * (size_t)d * sizeof(float));
    float *vec = backend_alloc_floats(be, d);
    pd_status st = vecs && vec ? PD_OK : error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    if (st == PD_OK && c->checkpoints[0]) {
        pipeline_drop_state(p, COLLECT_CKPT);
        session_loss_drop_stage(p->session, "collect", -1);
        collect_drop_run_losses(p, 0);
        st = stage_import_collect(p, vecs, err);
    } else if (st == PD_OK && collect_independent(c)) {
        progress_log(&p->cb, "collect: from %d independently trained task models (run 1 is the train stage's)",
                     (int)c->collect_runs);
        if (d < model_param_count(p->task) || model_buffer_count(p->task) > 0)
            progress_log(&p->cb, "collect: each run's task model is kept (state/task-rN.bin): later stages judge "
                         "every vector inside the model of its run (%s)",
                         d < model_param_count(p->task) ? "the weights outside the target and the BatchNorm "
                         "statistics" : "its BatchNorm statistics");
        st = collect_independent_runs(p, resume, vecs, vec, err);
    } else if (st == PD_OK) {
        target_gather(be, p->task, t, model_params(p->task), vec);
        st = collect_trajectory(p, resume, vecs, vec, err);
    }
    char path[PD_PATH_MAX];
    if (st == PD_OK)
        st = pipeline_write_collect(session_state_path(p->session, "collect", path, sizeof path), vecs, k, d, err);
    if (st == PD_OK)
        st = pipeline_write_params(session_path(p->session, "params.csv", path, sizeof path), vecs, k, d, err);
    if (st == PD_OK)
        pipeline_drop_state(p, COLLECT_CKPT);
    /* collection trained the task model's target in place (and the independent mode whole models): restore the
     * trained weights for later stages */
    if (st == PD_OK)
        st = pipeline_load_task(p, err);
    free(vecs);
    be->free(be, vec);
    if (st == PD_OK)
        session_summary_set(p->session, "seconds_collect", progress_now() - t0);
    return st;
}
