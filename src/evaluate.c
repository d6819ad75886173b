/* evaluate.c — cached-prefix evaluation of target vectors (see evaluate.h). */
#include "evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "devbuf.h"

struct pd_evaluator {
    pd_backend *be;
    pd_model *m;          /* private, non-trainable copy with max_batch = batch */
    const pd_target *t;
    int cut;              /* first node of the suffix */
    int32_t n, batch, classes;
    int64_t feat;         /* per-image size of the cached prefix output */
    float *cache;         /* device [n, feat] */
    /* fused path: the suffix starts BatchNorm -> ReLU -> MaxPool; the cache then holds the max (cache) and the
     * min (cache_min) of every 2x2 window of the BatchNorm input, [n, c, hw2] each, and bn_relu_pool_eval
     * computes the pool's output directly. */
    int fused;
    int32_t fc, fhw;      /* channels and pooled plane size */
    float *cache_min;     /* device [n, fc * fhw] */
    float *pooled;        /* device [batch, fc * fhw] */
    const float *gamma, *beta, *run_mean, *run_var; /* the BatchNorm's views (device) */
    int32_t *labels_dev;  /* device [n] */
    int32_t *labels;      /* host [n] */
    float *vec;           /* device [d] */
    float *loss;          /* device [1] */
    int32_t *correct;     /* device [1] */
    int32_t *pred_dev;    /* device [batch] */
    int32_t *pred_host;   /* host [batch] */
    pd_devbuf bufs;       /* every device buffer above */
};

void evaluator_free(pd_evaluator *ev)
{
    if (!ev)
        return;
    devbuf_free(&ev->bufs);
    free(ev->labels);
    free(ev->pred_host);
    model_free(ev->m);
    free(ev);
}

int evaluator_fused(const pd_evaluator *ev)
{
    return ev->fused;
}

int32_t evaluator_test_count(const pd_evaluator *ev)
{
    return ev->n;
}

const int32_t *evaluator_labels(const pd_evaluator *ev)
{
    return ev->labels;
}

/* Can the suffix's first three nodes (BatchNorm -> ReLU -> MaxPool) be fused? Only if nothing after them reads
 * the BatchNorm input, its output or the ReLU's output. */
static int evaluator_fusable(const pd_model *m, int cut)
{
    int n = model_node_count(m), in, in2;
    if (cut < 1 || cut + 3 >= n || model_node_kind(m, cut) != PD_NODE_BN)
        return 0;
    model_node_inputs(m, cut + 1, &in, &in2);
    if (model_node_kind(m, cut + 1) != PD_NODE_RELU || in != cut)
        return 0;
    model_node_inputs(m, cut + 2, &in, &in2);
    if (model_node_kind(m, cut + 2) != PD_NODE_MAXPOOL || in != cut + 1)
        return 0;
    for (int j = cut + 3; j < n; j++) {
        model_node_inputs(m, j, &in, &in2);
        if ((in >= cut - 1 && in <= cut + 1) || (in2 >= cut - 1 && in2 <= cut + 1))
            return 0;
    }
    return 1;
}

/* The fused BatchNorm's parameter and running-statistic views. */
static void evaluator_bn_views(pd_evaluator *ev)
{
    const float *p = model_params(ev->m), *b = model_buffers(ev->m);
    int wi = -1, bi = -1;
    for (int i = 0; i < model_tensor_count(ev->m); i++)
        if (model_tensor(ev->m, i)->node == ev->cut)
            *(wi < 0 ? &wi : &bi) = i;
    ev->gamma = p + model_tensor(ev->m, wi)->offset;
    ev->beta = p + model_tensor(ev->m, bi)->offset;
    int mi = -1, vi = -1;
    for (int i = 0; i < model_buffer_tensor_count(ev->m); i++)
        if (model_buffer_tensor(ev->m, i)->node == ev->cut)
            *(mi < 0 ? &mi : &vi) = i;
    ev->run_mean = b + model_buffer_tensor(ev->m, mi)->offset;
    ev->run_var = b + model_buffer_tensor(ev->m, vi)->offset;
}

/* mx/mn [nb, c, hw2] = max/min of every 2x2 window of pre [nb, c, h, w]; tmp [nb, c, h, w], arg [nb c hw2] */
static void evaluator_extremes(pd_backend *be, float *mx, float *mn, const float *pre, float *tmp, int32_t *arg,
                               int32_t nb, int32_t c, int32_t h, int32_t w, int32_t hw2)
{
    int64_t size = (int64_t)nb * c * h * w, psize = (int64_t)nb * c * hw2;
    be->maxpool2d_forward(be, mx, arg, pre, nb, c, h, w);
    be->axpby(be, tmp, -1.0f, pre, 0.0f, size); /* min = -max(-x) */
    be->maxpool2d_forward(be, mn, arg, tmp, nb, c, h, w);
    be->axpby(be, mn, -1.0f, mn, 0.0f, psize);
}

/* Run the frozen prefix over the test set once and keep its output. */
static pd_status evaluator_fill_cache(pd_evaluator *ev, const pd_split *test, const pd_callbacks *cb,
                                      pd_error *err)
{
    pd_backend *be = ev->be;
    int64_t img = (int64_t)test->c * test->h * test->w;
    float *x_host = malloc((size_t)ev->batch * (size_t)img * sizeof(float));
    int32_t *idx = malloc((size_t)ev->batch * sizeof(int32_t));
    pd_devbuf tmps; /* the batch's device buffers */
    devbuf_init(&tmps, be);
    float *x = devbuf_floats(&tmps, (int64_t)ev->batch * img);
    float *tmp = NULL;
    int32_t *arg = NULL, c = 0, h = 0, w = 0;
    if (ev->fused) {
        model_node_shape(ev->m, ev->cut - 1, &c, &h, &w);
        tmp = devbuf_floats(&tmps, (int64_t)ev->batch * c * h * w);
        arg = devbuf_ints(&tmps, (int64_t)ev->batch * ev->fc * ev->fhw);
    }
    pd_status st = PD_OK;
    if (!x_host || !idx || devbuf_failed(&tmps))
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
        if (ev->fused)
            evaluator_extremes(be, ev->cache + (int64_t)at * ev->feat, ev->cache_min + (int64_t)at * ev->feat, pre,
                               tmp, arg, nb, c, h, w, ev->fhw);
        else
            be->copy(be, ev->cache + (int64_t)at * ev->feat, pre, (size_t)nb * (size_t)ev->feat * sizeof(float));
    }
    if (st == PD_OK)
        be->upload(be, ev->labels_dev, ev->labels, (size_t)ev->n * sizeof(int32_t));
    free(x_host);
    free(idx);
    devbuf_free(&tmps);
    return st;
}

int32_t evaluator_batch(int64_t sample_floats, int32_t train_batch)
{
    int64_t per = sample_floats * 2 * (int64_t)sizeof(float); /* outputs and their gradients */
    int64_t fit = per > 0 ? EVALUATOR_BATCH_BYTES / per : EVALUATOR_BATCH_MAX;
    int64_t b = fit < EVALUATOR_BATCH_MAX ? fit : EVALUATOR_BATCH_MAX;
    if (b < train_batch)
        b = train_batch;
    return (int32_t)(b > 0 ? b : 1);
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
    devbuf_init(&ev->bufs, be);
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
    ev->fused = evaluator_fusable(ev->m, ev->cut);
    if (ev->fused) {
        ev->fc = c;
        ev->fhw = (h / 2) * (w / 2);
        ev->feat = (int64_t)c * ev->fhw;
        evaluator_bn_views(ev);
        ev->cache_min = devbuf_floats(&ev->bufs, (int64_t)ev->n * ev->feat);
        ev->pooled = devbuf_floats(&ev->bufs, (int64_t)ev->batch * ev->feat);
        if (devbuf_failed(&ev->bufs)) {
            evaluator_free(ev);
            return error_set(err, PD_ERR_NOMEM, "evaluate: out of memory caching the test set");
        }
    }
    ev->cache = devbuf_floats(&ev->bufs, (int64_t)ev->n * ev->feat);
    ev->labels_dev = devbuf_ints(&ev->bufs, ev->n);
    ev->labels = malloc((size_t)ev->n * sizeof(int32_t));
    ev->vec = devbuf_floats(&ev->bufs, t->d);
    ev->loss = devbuf_floats(&ev->bufs, 1);
    ev->correct = devbuf_ints(&ev->bufs, 1);
    ev->pred_dev = devbuf_ints(&ev->bufs, ev->batch);
    ev->pred_host = malloc((size_t)ev->batch * sizeof(int32_t));
    if (devbuf_failed(&ev->bufs) || !ev->labels || !ev->pred_host) {
        long long count = (long long)ev->n * ev->feat;
        evaluator_free(ev);
        return error_set(err, PD_ERR_NOMEM, "evaluate: out of memory caching %lld activations of the test set",
                         count);
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
        const float *logits;
        if (ev->fused) {
            const float *mx = ev->cache + (int64_t)at * ev->feat, *mn = ev->cache_min + (int64_t)at * ev->feat;
            logits = model_forward_pooled(ev->m, mx, mn, ev->cut, nb, ev->cut + 3);
            if (!logits) {
                be->bn_relu_pool_eval(be, ev->pooled, mx, mn, ev->gamma, ev->beta, ev->run_mean, ev->run_var, 1e-5f,
                                      nb, ev->fc, ev->fhw);
                logits = model_forward(ev->m, ev->pooled, nb, 0, ev->cut + 3);
            }
        } else {
            logits = model_forward(ev->m, ev->cache + (int64_t)at * ev->feat, nb, 0, ev->cut);
        }
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
