/* evaluate.c — cached-prefix evaluation of target vectors (see evaluate.h). */
#include "evaluate.h"

#include <stdlib.h>
#include <string.h>

struct pd_evaluator {
    pd_backend *be;
    pd_model *m;          /* private, non-trainable copy with max_batch = batch */
    const pd_target *t;
    int cut;              /* first node of the suffix */
    int32_t n, batch, classes;
    int64_t feat;         /* per-image size of the cached prefix output */
    float *cache;         /* device [n, feat] */
    int32_t *labels_dev;  /* device [n] */
    int32_t *labels;      /* host [n] */
    float *vec;           /* device [d] */
    float *loss;          /* device [1] */
    int32_t *correct;     /* device [1] */
    int32_t *pred_dev;    /* device [batch] */
    int32_t *pred_host;   /* host [batch] */
};

void evaluator_free(pd_evaluator *ev)
{
    if (!ev)
        return;
    pd_backend *be = ev->be;
    be->free(be, ev->cache);
    be->free(be, ev->labels_dev);
    be->free(be, ev->vec);
    be->free(be, ev->loss);
    be->free(be, ev->correct);
    be->free(be, ev->pred_dev);
    free(ev->labels);
    free(ev->pred_host);
    model_free(ev->m);
    free(ev);
}

int32_t evaluator_test_count(const pd_evaluator *ev)
{
    return ev->n;
}

const int32_t *evaluator_labels(const pd_evaluator *ev)
{
    return ev->labels;
}

/* Run the frozen prefix over the test set once and keep its output. */
static pd_status evaluator_fill_cache(pd_evaluator *ev, const pd_split *test, const pd_callbacks *cb,
                                      pd_error *err)
{
    pd_backend *be = ev->be;
    int64_t img = (int64_t)test->c * test->h * test->w;
    float *x_host = malloc((size_t)ev->batch * (size_t)img * sizeof(float));
    int32_t *idx = malloc((size_t)ev->batch * sizeof(int32_t));
    float *x = backend_alloc_floats(be, (int64_t)ev->batch * img);
    pd_status st = PD_OK;
    if (!x_host || !idx || !x)
        st = error_set(err, PD_ERR_NOMEM, "evaluate: out of memory for the test batch");
    for (int32_t at = 0; st == PD_OK && at < ev->n; at += ev->batch) {
        if (progress_cancelled(cb)) {
            st = error_set(err, PD_ERR_CANCELLED, "evaluation cancelled");
            break;
        }
        int32_t nb = ev->n - at < ev->batch ? ev->n - at : ev->batch;
        for (int32_t i = 0; i < nb; i++)
            idx[i] = at + i;
        dataset_batch(test, idx, nb, x_host, ev->labels + at);
        if (ev->cut == 0) {
            be->upload(be, ev->cache + (int64_t)at * ev->feat, x_host, (size_t)nb * (size_t)img * sizeof(float));
            continue;
        }
        be->upload(be, x, x_host, (size_t)nb * (size_t)img * sizeof(float));
        const float *pre = model_forward_range(ev->m, x, nb, 0, 0, ev->cut);
        be->copy(be, ev->cache + (int64_t)at * ev->feat, pre, (size_t)nb * (size_t)ev->feat * sizeof(float));
    }
    if (st == PD_OK)
        be->upload(be, ev->labels_dev, ev->labels, (size_t)ev->n * sizeof(int32_t));
    free(x_host);
    free(idx);
    be->free(be, x);
    return st;
}

pd_status evaluator_create(pd_evaluator **out, pd_model *m, const pd_target *t, const pd_split *test,
                           int32_t batch, const pd_callbacks *cb, pd_error *err)
{
    *out = NULL;
    pd_backend *be = model_backend(m);
    pd_evaluator *ev = calloc(1, sizeof *ev);
    if (!ev)
        return error_set(err, PD_ERR_NOMEM, "evaluate: out of memory");
    ev->be = be;
    ev->t = t;
    ev->n = test->n;
    ev->batch = batch < test->n ? batch : test->n;
    pd_model_spec spec = *model_spec(m);
    spec.max_batch = ev->batch;
    spec.trainable = 0;
    ev->classes = spec.classes;
    pd_status st = model_create(&ev->m, be, &spec, err);
    if (st != PD_OK) {
        free(ev);
        return st;
    }
    be->copy(be, model_params(ev->m), model_params(m), (size_t)model_param_count(m) * sizeof(float));
    be->copy(be, model_buffers(ev->m), model_buffers(m), (size_t)model_buffer_count(m) * sizeof(float));
    ev->cut = model_cut_before(ev->m, t->first_node);
    int32_t c, h, w;
    model_node_shape(ev->m, ev->cut - 1, &c, &h, &w);
    ev->feat = (int64_t)c * h * w;
    ev->cache = backend_alloc_floats(be, (int64_t)ev->n * ev->feat);
    ev->labels_dev = backend_alloc_ints(be, ev->n);
    ev->labels = malloc((size_t)ev->n * sizeof(int32_t));
    ev->vec = backend_alloc_floats(be, t->d);
    ev->loss = backend_alloc_floats(be, 1);
    ev->correct = backend_alloc_ints(be, 1);
    ev->pred_dev = backend_alloc_ints(be, ev->batch);
    ev->pred_host = malloc((size_t)ev->batch * sizeof(int32_t));
    if (!ev->cache || !ev->labels_dev || !ev->labels || !ev->vec || !ev->loss || !ev->correct || !ev->pred_dev ||
        !ev->pred_host) {
        evaluator_free(ev);
        return error_set(err, PD_ERR_NOMEM, "evaluate: out of memory caching %lld activations of the test set",
                         (long long)ev->n * ev->feat);
    }
    st = evaluator_fill_cache(ev, test, cb, err);
    if (st != PD_OK) {
        evaluator_free(ev);
        return st;
    }
    *out = ev;
    return PD_OK;
}

pd_status evaluator_run(pd_evaluator *ev, const float *vec, double *accuracy, double *loss, uint8_t *pred,
                        pd_error *err)
{
    pd_backend *be = ev->be;
    be->upload(be, ev->vec, vec, (size_t)ev->t->d * sizeof(float));
    target_scatter(be, ev->m, ev->t, ev->vec, model_params(ev->m));
    const float zf = 0.0f;
    const int32_t zi = 0;
    be->upload(be, ev->correct, &zi, sizeof zi);
    double loss_sum = 0.0;
    for (int32_t at = 0; at < ev->n; at += ev->batch) {
        int32_t nb = ev->n - at < ev->batch ? ev->n - at : ev->batch;
        const float *logits = model_forward(ev->m, ev->cache + (int64_t)at * ev->feat, nb, 0, ev->cut);
        be->upload(be, ev->loss, &zf, sizeof zf);
        be->softmax_xent(be, ev->loss, ev->correct, NULL, logits, ev->labels_dev + at, nb, ev->classes);
        float bl;
        be->download(be, &bl, ev->loss, sizeof bl);
        loss_sum += (double)bl * nb;
        if (pred) {
            be->argmax(be, ev->pred_dev, logits, nb, ev->classes);
            be->download(be, ev->pred_host, ev->pred_dev, (size_t)nb * sizeof(int32_t));
            for (int32_t i = 0; i < nb; i++)
                pred[at + i] = (uint8_t)ev->pred_host[i];
        }
    }
    int32_t correct;
    be->download(be, &correct, ev->correct, sizeof correct);
    if (accuracy)
        *accuracy = (double)correct / ev->n;
    if (loss)
        *loss = loss_sum / ev->n; /* NaN for a broken vector: reported, not an error */
    (void)err;
    return PD_OK;
}
