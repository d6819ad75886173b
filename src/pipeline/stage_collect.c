/* stage_collect.c — the "collect" stage: keep training only the target tensors of the trained task model and
 * save the flattened target every save_every iterations until there are k checkpoints.
 *
 * BatchNorm runs in eval mode throughout: its running statistics stay frozen, and the gradient is that of the
 * very network every checkpoint (and every generated vector) is later evaluated in. Layers before the first
 * target tensor are frozen too, so each batch runs them forward only (model_forward_range up to the cut) and
 * back-propagation stops at the cut. The optimiser is SGD with momentum on the target vector alone.
 * Outputs: state/collect.bin (vectors [k, d]) and params.csv (id, v0..v(d-1)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"
#include "state.h"

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

pd_status collect_train(pd_pipeline *p, float *vec, int64_t iters, int32_t save_every, float *out,
                        uint64_t seed, const char *metric_stage, pd_error *err)
{
    pd_backend *be = p->be;
    pd_model *m = p->task;
    const pd_target *t = &p->target;
    const pd_config *c = &p->cfg;
    const pd_split *s = &p->data.train;
    int64_t d = t->d, np = model_param_count(m);
    int32_t batch = c->batch <= s->n ? c->batch : s->n;
    int cut = model_cut_before(m, t->first_node);
    int64_t img = (int64_t)s->c * s->h * s->w;
    float *x_host = malloc((size_t)batch * (size_t)img * sizeof(float));
    int32_t *y_host = malloc((size_t)batch * sizeof(int32_t));
    int32_t *perm = malloc((size_t)s->n * sizeof(int32_t));
    float *x = backend_alloc_floats(be, (int64_t)batch * img);
    int32_t *y = backend_alloc_ints(be, batch);
    float *dlogits = backend_alloc_floats(be, (int64_t)batch * p->data.classes);
    float *loss = backend_alloc_floats(be, 1);
    float *gvec = backend_alloc_floats(be, d), *mom = backend_alloc_floats(be, d);
    pd_status st = PD_OK;
    if (!x_host || !y_host || !perm || !x || !y || !dlogits || !loss || !gvec || !mom)
        st = error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    int64_t steps_per_epoch = s->n / batch;
    int32_t saved = 0;
    double loss_acc = 0.0;
    int loss_n = 0;
    for (int64_t it = 0; st == PD_OK && it < iters; it++) {
        if (progress_cancelled(&p->cb)) {
            st = error_set(err, PD_ERR_CANCELLED, "collect cancelled at iteration %lld", (long long)it);
            break;
        }
        int64_t b = it % steps_per_epoch;
        if (b == 0)
            dataset_shuffle(perm, s->n, seed, it / steps_per_epoch);
        dataset_batch(s, perm + b * batch, batch, x_host, y_host);
        be->upload(be, x, x_host, (size_t)batch * (size_t)img * sizeof(float));
        be->upload(be, y, y_host, (size_t)batch * sizeof(int32_t));
        target_scatter(be, m, t, vec, model_params(m));
        const float *h = cut > 0 ? model_forward_range(m, x, batch, 0, 0, cut) : x;
        const float *logits = model_forward(m, h, batch, 0, cut);
        const float zero = 0.0f;
        be->upload(be, loss, &zero, sizeof zero);
        be->softmax_xent(be, loss, NULL, dlogits, logits, y, batch, p->data.classes);
        be->fill(be, model_grads(m), np, 0.0f);
        model_backward(m, dlogits, batch, 0, cut);
        target_gather(be, m, t, model_grads(m), gvec);
        be->sgd_step(be, vec, gvec, mom, d, (float)c->collect_lr, (float)c->momentum, (float)c->weight_decay);
        if (out && (it + 1) % save_every == 0)
            be->download(be, out + (int64_t)saved++ * d, vec, (size_t)d * sizeof(float));
        if (metric_stage) {
            float l;
            be->download(be, &l, loss, sizeof l);
            loss_acc += l;
            loss_n++;
            if ((it + 1) % 10 == 0 || it + 1 == iters) {
                progress_metric(&p->cb, metric_stage, it + 1, loss_acc / loss_n, NAN);
                loss_acc = 0.0;
                loss_n = 0;
            }
            progress_report(&p->cb, metric_stage, it + 1, iters);
        }
    }
    free(x_host);
    free(y_host);
    free(perm);
    be->free(be, x);
    be->free(be, y);
    be->free(be, dlogits);
    be->free(be, loss);
    be->free(be, gvec);
    be->free(be, mom);
    return st;
}

pd_status stage_collect(pd_pipeline *p, int resume, pd_error *err)
{
    (void)resume; /* collection is seconds long: it restarts */
    double t0 = stage_now();
    PD_TRY(pipeline_load_task(p, err));
    PD_TRY(pipeline_need_target(p, err));
    pd_backend *be = p->be;
    const pd_target *t = &p->target;
    const pd_config *c = &p->cfg;
    int64_t d = t->d;
    int32_t k = c->k;
    session_loss_drop_stage(p->session, "collect", -1);
    progress_log(&p->cb, "collect: %d checkpoints of %lld numbers (%s), every %d iterations, lr %g", k, (long long)d,
                 t->names, c->save_every, c->collect_lr);
    float *vecs = malloc((size_t)k * (size_t)d * sizeof(float));
    float *vec = backend_alloc_floats(be, d);
    pd_status st = vecs && vec ? PD_OK : error_set(err, PD_ERR_NOMEM, "collect: out of memory");
    if (st == PD_OK) {
        target_gather(be, p->task, t, model_params(p->task), vec);
        st = collect_train(p, vec, (int64_t)k * c->save_every, c->save_every, vecs,
                           rng_derive(c->seed, "collect-shuffle"), "collect", err);
    }
    char path[PD_PATH_MAX];
    if (st == PD_OK)
        st = pipeline_write_collect(session_state_path(p->session, "collect", path, sizeof path), vecs, k, d, err);
    if (st == PD_OK)
        st = pipeline_write_params(session_path(p->session, "params.csv", path, sizeof path), vecs, k, d, err);
    /* collection trained the task model's target in place: restore the trained weights for later stages */
    if (st == PD_OK)
        st = pipeline_load_task(p, err);
    free(vecs);
    be->free(be, vec);
    if (st == PD_OK)
        session_summary_set(p->session, "seconds_collect", stage_now() - t0);
    return st;
}
