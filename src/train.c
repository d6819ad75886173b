/* train.c — task-model training and evaluation (see train.h). */
#include "train.h"

#include <math.h>
#include <stdlib.h>

#include "augment.h"

/* Device staging for one batch. */
typedef struct {
    float *x_host, *x;
    int32_t *y_host, *y, *idx;
    float *dlogits, *loss;
    int32_t *correct;
} train_batch_bufs;

static void train_bufs_free(pd_backend *be, train_batch_bufs *b)
{
    free(b->x_host);
    free(b->y_host);
    free(b->idx);
    be->free(be, b->x);
    be->free(be, b->y);
    be->free(be, b->dlogits);
    be->free(be, b->loss);
    be->free(be, b->correct);
}

static pd_status train_bufs_init(pd_backend *be, train_batch_bufs *b, int32_t batch, int64_t img, int32_t classes,
                                 int32_t n_idx, pd_error *err)
{
    b->x_host = malloc((size_t)batch * (size_t)img * sizeof(float));
    b->y_host = malloc((size_t)batch * sizeof(int32_t));
    b->idx = malloc((size_t)(n_idx > batch ? n_idx : batch) * sizeof(int32_t));
    b->x = backend_alloc_floats(be, (int64_t)batch * img);
    b->y = backend_alloc_ints(be, batch);
    b->dlogits = backend_alloc_floats(be, (int64_t)batch * classes);
    b->loss = backend_alloc_floats(be, 1);
    b->correct = backend_alloc_ints(be, 1);
    if (!b->x_host || !b->y_host || !b->idx || !b->x || !b->y || !b->dlogits || !b->loss || !b->correct) {
        train_bufs_free(be, b);
        return error_set(err, PD_ERR_NOMEM, "train: out of memory for batch %d", batch);
    }
    return PD_OK;
}

static void train_zero_counters(pd_backend *be, train_batch_bufs *b)
{
    const float zf = 0.0f;
    const int32_t zi = 0;
    be->upload(be, b->loss, &zf, sizeof zf);
    be->upload(be, b->correct, &zi, sizeof zi);
}

/* Gather, normalise (and, when aug, augment as step `step` with stream `stream`) and upload n images. */
static void train_stage_batch(pd_backend *be, train_batch_bufs *b, const pd_split *s, const int32_t *idx,
                              int32_t n, int aug, uint64_t stream, int64_t step)
{
    int64_t img = (int64_t)s->c * s->h * s->w;
    if (aug)
        augment_batch(s, idx, n, b->x_host, b->y_host, stream, step);
    else
        dataset_batch(s, idx, n, b->x_host, b->y_host);
    be->upload(be, b->x, b->x_host, (size_t)n * (size_t)img * sizeof(float));
    be->upload(be, b->y, b->y_host, (size_t)n * sizeof(int32_t));
}

int32_t train_batch_size(const pd_model *m, const pd_train_opts *o)
{
    const pd_model_spec *spec = model_spec(m);
    return o->batch < spec->max_batch ? o->batch : spec->max_batch;
}

int64_t train_total_steps(const pd_model *m, const pd_dataset *ds, const pd_train_opts *o)
{
    int32_t batch = train_batch_size(m, o);
    return (ds->train.n + batch - 1) / batch * (int64_t)o->epochs;
}

float train_lr_at(const pd_train_opts *o, int64_t step, int64_t steps_per_epoch, int64_t total)
{
    if (o->schedule == TRAIN_LR_COSINE)
        return (float)(0.5 * o->lr * (1.0 + cos(M_PI * (double)step / (double)total)));
    if (o->schedule == TRAIN_LR_STEP) {
        int64_t epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
        double lr = o->lr;
        for (int32_t i = 0; i < o->n_milestones && i < TRAIN_MAX_MILESTONES; i++)
            if (epoch >= o->milestones[i])
                lr *= o->gamma;
        return (float)lr;
    }
    return o->lr;
}

/* One training run in progress. */
typedef struct {
    pd_model *m;
    const pd_dataset *ds;
    const pd_train_opts *o;
    const pd_callbacks *cb;
    pd_train_result *res;
    train_batch_bufs b;
    int32_t batch, log_every;
    int64_t steps_per_epoch, total;
    uint64_t aug_stream;
    const char *stage;
    pd_train_point at;
} train_run;

/* The loss point after step at.step: mean loss and accuracy since the last one; PD_ERR_NUMERIC when not finite. */
static pd_status train_log_point(train_run *r, pd_error *err)
{
    pd_backend *be = model_backend(r->m);
    float loss_sum;
    int32_t correct;
    be->download(be, &loss_sum, r->b.loss, sizeof loss_sum);
    be->download(be, &correct, r->b.correct, sizeof correct);
    int64_t step = r->at.step;
    int64_t k = step % r->log_every == 0 ? r->log_every : step % r->log_every;
    double mean_loss = (double)loss_sum / (double)k;
    double acc = (double)correct / (double)r->at.seen;
    train_zero_counters(be, &r->b);
    r->at.seen = 0;
    if (!isfinite(mean_loss))
        return error_set(err, PD_ERR_NUMERIC, "task training diverged at step %lld (loss %g): lower lr (now %g)",
                         (long long)step, mean_loss, (double)r->o->lr);
    progress_metric(r->cb, r->stage, step, mean_loss, acc);
    if (r->res) {
        r->res->last_loss = mean_loss;
        r->res->last_accuracy = acc;
    }
    return PD_OK;
}

/* Hand the point the run stands at (counters included) to the caller's save hook. */
static pd_status train_save(train_run *r, pd_error *err)
{
    pd_backend *be = model_backend(r->m);
    be->download(be, &r->at.loss_sum, r->b.loss, sizeof r->at.loss_sum);
    be->download(be, &r->at.correct, r->b.correct, sizeof r->at.correct);
    return r->o->save(r->o->save_ctx, &r->at, err);
}

/* One SGD step on the batch of `n` images at idx. */
static void train_step(train_run *r, const int32_t *idx, int32_t n)
{
    pd_model *m = r->m;
    pd_backend *be = model_backend(m);
    const pd_train_opts *o = r->o;
    int64_t np = model_param_count(m);
    train_stage_batch(be, &r->b, &r->ds->train, idx, n, o->augment, r->aug_stream, r->at.step);
    const float *logits = model_forward(m, r->b.x, n, 1, 0);
    be->softmax_xent(be, r->b.loss, r->b.correct, r->b.dlogits, logits, r->b.y, n, r->ds->classes);
    be->fill(be, model_grads(m), np, 0.0f);
    model_backward(m, r->b.dlogits, n, 1, 0);
    float lr = train_lr_at(o, r->at.step, r->steps_per_epoch, r->total);
    be->sgd_step(be, model_params(m), model_grads(m), model_momentum(m), np, lr, o->momentum, o->weight_decay);
    r->at.step++;
    r->at.seen += n;
}

/* The steps of epoch ep from batch `first` on. */
static pd_status train_epoch(train_run *r, int32_t ep, int64_t first, pd_error *err)
{
    const pd_split *s = &r->ds->train;
    const pd_train_opts *o = r->o;
    dataset_shuffle(r->b.idx, s->n, o->seed, ep);
    for (int64_t i = first; i < r->steps_per_epoch; i++) {
        if (progress_cancelled(r->cb)) {
            if (!o->save)
                return error_set(err, PD_ERR_CANCELLED, "task training cancelled at step %lld",
                                 (long long)r->at.step);
            PD_TRY(train_save(r, err));
            return error_set(err, PD_ERR_CANCELLED, "task training stopped after step %lld of %lld (saved)",
                             (long long)r->at.step, (long long)r->total);
        }
        int32_t n = (int32_t)((i + 1) * r->batch <= s->n ? r->batch : s->n - i * r->batch);
        train_step(r, r->b.idx + i * r->batch, n);
        if (r->at.step % r->log_every == 0 || r->at.step == r->total)
            PD_TRY(train_log_point(r, err));
        progress_report(r->cb, r->stage, r->at.step, r->total);
        if (o->save && o->save_every > 0 && r->at.step % o->save_every == 0 && r->at.step < r->total)
            PD_TRY(train_save(r, err));
    }
    progress_log(r->cb, "%s: epoch %d/%d done", r->stage, ep + 1, o->epochs);
    return PD_OK;
}

pd_status train_task(pd_model *m, const pd_dataset *ds, const pd_train_opts *o, const pd_callbacks *cb,
                     pd_train_result *res, pd_error *err)
{
    pd_backend *be = model_backend(m);
    const pd_split *s = &ds->train;
    train_run r = {.m = m, .ds = ds, .o = o, .cb = cb, .res = res, .batch = train_batch_size(m, o),
                   .log_every = o->log_every > 0 ? o->log_every : 50, .stage = o->stage ? o->stage : "task",
                   .aug_stream = augment_stream(o->seed)};
    r.steps_per_epoch = (s->n + r.batch - 1) / r.batch;
    r.total = r.steps_per_epoch * o->epochs;
    PD_TRY(train_bufs_init(be, &r.b, r.batch, (int64_t)s->c * s->h * s->w, ds->classes, s->n, err));
    train_zero_counters(be, &r.b);
    if (o->from) { /* the counters of the interval the checkpoint was in */
        r.at = *o->from;
        be->upload(be, r.b.loss, &r.at.loss_sum, sizeof r.at.loss_sum);
        be->upload(be, r.b.correct, &r.at.correct, sizeof r.at.correct);
    }
    if (res) {
        res->last_loss = NAN;
        res->last_accuracy = NAN;
        res->steps = 0;
    }
    pd_status st = PD_OK;
    int32_t ep0 = r.steps_per_epoch > 0 ? (int32_t)(r.at.step / r.steps_per_epoch) : 0;
    for (int32_t ep = ep0; ep < o->epochs && st == PD_OK; ep++)
        st = train_epoch(&r, ep, ep == ep0 ? r.at.step % r.steps_per_epoch : 0, err);
    if (res)
        res->steps = r.at.step;
    train_bufs_free(be, &r.b);
    return st;
}

pd_status train_evaluate(pd_model *m, const pd_split *s, int32_t batch, double *accuracy, double *loss,
                         int32_t *pred, const pd_callbacks *cb, pd_error *err)
{
    pd_backend *be = model_backend(m);
    const pd_model_spec *spec = model_spec(m);
    if (batch > spec->max_batch)
        batch = spec->max_batch;
    train_batch_bufs b = {0};
    PD_TRY(train_bufs_init(be, &b, batch, (int64_t)s->c * s->h * s->w, spec->classes, s->n, err));
    int32_t *pred_dev = backend_alloc_ints(be, batch);
    if (!pred_dev) {
        train_bufs_free(be, &b);
        return error_set(err, PD_ERR_NOMEM, "evaluate: out of memory");
    }
    for (int32_t i = 0; i < s->n; i++)
        b.idx[i] = i;
    train_zero_counters(be, &b);
    double loss_sum = 0.0;
    pd_status st = PD_OK;
    int64_t nb = (s->n + batch - 1) / batch;
    for (int64_t i = 0; i < nb; i++) {
        if (progress_cancelled(cb)) {
            st = error_set(err, PD_ERR_CANCELLED, "evaluation cancelled");
            break;
        }
        int32_t n = (int32_t)((i + 1) * batch <= s->n ? batch : s->n - i * batch);
        train_stage_batch(be, &b, s, b.idx + i * batch, n, 0, 0, 0);
        const float *logits = model_forward(m, b.x, n, 0, 0);
        float batch_loss;
        be->fill(be, b.loss, 1, 0.0f);
        be->softmax_xent(be, b.loss, b.correct, NULL, logits, b.y, n, spec->classes);
        be->download(be, &batch_loss, b.loss, sizeof batch_loss);
        loss_sum += (double)batch_loss * n;
        if (pred) {
            be->argmax(be, pred_dev, logits, n, spec->classes);
            be->download(be, pred + i * batch, pred_dev, (size_t)n * sizeof(int32_t));
        }
    }
    if (st == PD_OK) {
        int32_t correct;
        be->download(be, &correct, b.correct, sizeof correct);
        if (accuracy)
            *accuracy = s->n ? (double)correct / s->n : 0.0;
        if (loss)
            *loss = s->n ? loss_sum / s->n : 0.0;
    }
    be->free(be, pred_dev);
    train_bufs_free(be, &b);
    return st;
}
