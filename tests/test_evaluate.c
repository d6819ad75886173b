/* test_evaluate.c — the cached-prefix evaluator: its accuracy, loss and predictions equal a full forward pass of
 * the same weights, on the fused (BatchNorm -> ReLU -> MaxPool) path and the plain one, with the pooled input
 * made inside the next convolution block (28x28 images) or stored (12x12); and the fused ops equal their
 * compositions bit for bit. */
#include <math.h>

#include "evaluate.h"
#include "rng.h"
#include "tap.h"
#include "target.h"

static pd_backend *be;

static void fill_split(pd_split *s, int32_t n, int32_t hw, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->c = 1;
    s->h = s->w = hw;
    s->pixels = malloc((size_t)n * hw * hw);
    s->labels = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < (int64_t)n * hw * hw; i++)
        s->pixels[i] = (uint8_t)(rng_hash(seed, (uint64_t)i) & 0xff);
    for (int32_t i = 0; i < n; i++)
        s->labels[i] = (int32_t)(rng_hash(seed + 1, (uint64_t)i) % 10);
    s->mean[0] = 0.5f;
    s->std[0] = 0.25f;
}

/* reference: full forward of the weights with vec scattered in, over the whole split */
static void reference(pd_model *m, const pd_target *t, const float *vec, const pd_split *s, double *acc,
                      double *loss, uint8_t *pred)
{
    float *vdev = backend_alloc_floats(be, t->d);
    be->upload(be, vdev, vec, (size_t)t->d * sizeof(float));
    target_scatter(be, m, t, vdev, model_params(m));
    int64_t img = (int64_t)s->h * s->w;
    float *x = malloc((size_t)s->n * (size_t)img * sizeof(float));
    int32_t *y = malloc((size_t)s->n * sizeof(int32_t)), *idx = malloc((size_t)s->n * sizeof(int32_t));
    for (int32_t i = 0; i < s->n; i++)
        idx[i] = i;
    dataset_batch(s, idx, s->n, x, y);
    const float *logits = model_forward(m, x, s->n, 0, 0);
    int correct = 0;
    double l = 0.0;
    for (int32_t i = 0; i < s->n; i++) {
        const float *r = logits + (int64_t)i * 10;
        int best = 0;
        double mx = r[0], se = 0.0;
        for (int j = 1; j < 10; j++)
            if (r[j] > r[best])
                best = j;
        for (int j = 0; j < 10; j++)
            mx = r[j] > mx ? r[j] : mx;
        for (int j = 0; j < 10; j++)
            se += exp(r[j] - mx);
        l += log(se) + mx - r[y[i]];
        pred[i] = (uint8_t)best;
        correct += best == y[i];
    }
    *acc = (double)correct / s->n;
    *loss = l / s->n;
    be->free(be, vdev);
    free(x);
    free(y);
    free(idx);
}

static void check_target(pd_model *m, const char *spec, const pd_split *s, int expect_fused)
{
    pd_target t;
    pd_error e = {0};
    if (target_resolve(&t, m, spec, &e) != PD_OK) {
        tap_ok(0, "%s: %s", spec, e.msg);
        return;
    }
    pd_evaluator *ev;
    if (evaluator_create(&ev, m, &t, s, 16, NULL, &e) != PD_OK) {
        tap_ok(0, "evaluator for %s: %s", spec, e.msg);
        target_free(&t);
        return;
    }
    tap_ok(evaluator_fused(ev) == expect_fused, "%s: the fused path is %s", spec, expect_fused ? "taken" : "not taken");
    float *vec = malloc((size_t)t.d * sizeof(float)), *orig = malloc((size_t)t.d * sizeof(float));
    uint8_t *p1 = malloc((size_t)s->n), *p2 = malloc((size_t)s->n);
    float *vdev = backend_alloc_floats(be, t.d);
    target_gather(be, m, &t, model_params(m), vdev);
    be->download(be, orig, vdev, (size_t)t.d * sizeof(float));
    for (int trial = 0; trial < 3; trial++) {
        /* trial 1 flips the sign of some scales (BatchNorm weights), exercising the min branch */
        for (int64_t i = 0; i < t.d; i++)
            vec[i] = orig[i] * (trial == 1 && i % 3 == 0 ? -1.0f : 1.0f) + 0.05f * trial * rng_normal_at(7, (uint64_t)i);
        double a1, l1, a2, l2;
        evaluator_run(ev, vec, &a1, &l1, p1, &e);
        reference(m, &t, vec, s, &a2, &l2, p2);
        int same = memcmp(p1, p2, (size_t)s->n) == 0;
        tap_ok(same && a1 == a2 && fabs(l1 - l2) <= 1e-5 * fabs(l2) + 1e-6,
               "%s trial %d: evaluator acc %.4f loss %.6f = full forward acc %.4f loss %.6f, predictions %s", spec,
               trial, a1, l1, a2, l2, same ? "equal" : "differ");
    }
    be->free(be, vdev);
    free(vec);
    free(orig);
    free(p1);
    free(p2);
    evaluator_free(ev);
    target_free(&t);
}

static void test_fused_op(void)
{
    const int32_t n = 3, c = 5, h = 7, w = 6, h2 = 3, w2 = 3;
    int64_t sz = (int64_t)n * c * h * w, psz = (int64_t)n * c * h2 * w2;
    float *x = backend_alloc_floats(be, sz), *y = backend_alloc_floats(be, sz), *r = backend_alloc_floats(be, sz);
    float *want = backend_alloc_floats(be, psz), *got = backend_alloc_floats(be, psz);
    float *mx = backend_alloc_floats(be, psz), *mn = backend_alloc_floats(be, psz), *tmp = backend_alloc_floats(be, sz);
    int32_t *arg = backend_alloc_ints(be, psz);
    float g[5] = {1.5f, -0.7f, 0.0f, 2.0f, -1.2f}, b[5] = {0.1f, 0.3f, -0.2f, -0.5f, 0.0f};
    float rm[5] = {0.2f, -0.1f, 0.0f, 0.5f, 0.3f}, rv[5] = {0.9f, 1.3f, 0.5f, 2.0f, 0.7f}, sm[5], sr[5];
    be->randn(be, x, sz, 3, 0);
    be->batchnorm2d_forward(be, y, x, g, b, rm, rv, sm, sr, n, c, h * w, 0, 0.1f, 1e-5f);
    be->relu_forward(be, r, y, sz);
    be->maxpool2d_forward(be, want, arg, r, n, c, h, w);
    be->maxpool2d_forward(be, mx, arg, x, n, c, h, w);
    be->axpby(be, tmp, -1.0f, x, 0.0f, sz);
    be->maxpool2d_forward(be, mn, arg, tmp, n, c, h, w);
    be->axpby(be, mn, -1.0f, mn, 0.0f, psz);
    be->bn_relu_pool_eval(be, got, mx, mn, g, b, rm, rv, 1e-5f, n, c, h2 * w2);
    tap_close("bn_relu_pool_eval equals batchnorm(eval) -> relu -> maxpool, bit for bit", got, want, psz, 0, 0);
    float *bufs[] = {x, y, r, want, got, mx, mn, tmp};
    for (int i = 0; i < 8; i++)
        be->free(be, bufs[i]);
    be->free(be, arg);
}

/* pool_conv_bn_relu_eval = bn_relu_pool_eval -> conv_bn_relu_forward (eval, keep 0), bit for bit */
static void test_pool_conv_op(int pool)
{
    const int32_t n = 3, ci = 24, co = 32, h = 7, w = 7;
    pd_conv2d_shape s = conv2d_shape_make(n, ci, h, w, co, 3, 1, 1);
    int64_t isz = (int64_t)n * ci * h * w, osz = (int64_t)n * co * (pool ? (h / 2) * (w / 2) : h * w);
    float *mx = backend_alloc_floats(be, isz), *mn = backend_alloc_floats(be, isz), *in = backend_alloc_floats(be, isz);
    float *x = backend_alloc_floats(be, (int64_t)n * co * h * w), *want = backend_alloc_floats(be, osz);
    float *got = backend_alloc_floats(be, osz), *wt = backend_alloc_floats(be, (int64_t)co * ci * 9);
    float *prm = backend_alloc_floats(be, 4 * ci + 7 * co);
    be->randn(be, mx, isz, 11, 0);
    be->randn(be, mn, isz, 12, 0);
    be->axpby(be, mn, -0.5f, mx, 1.0f, isz); /* mn below mx (mostly) */
    be->randn(be, wt, (int64_t)co * ci * 9, 13, 0);
    be->randn(be, prm, 4 * ci + 7 * co, 14, 0);
    for (int64_t i = 0; i < 4 * ci + 7 * co; i++) /* variances positive, some negative scales */
        prm[i] = (i >= 3 * ci && i < 4 * ci) || i >= 4 * ci + 6 * co ? 0.5f + prm[i] * prm[i] : prm[i];
    float *pg = prm, *pbeta = prm + ci, *pm = prm + 2 * ci, *pv = prm + 3 * ci, *bias = prm + 4 * ci;
    float *g = bias + co, *bt = g + co, *rm = bt + co, *sm = rm + co, *sr = sm + co, *rv = sr + co;
    pd_bn_eval pre = {pg, pbeta, pm, pv, 1e-5f}, post = {g, bt, rm, rv, 1e-5f};
    be->bn_relu_pool_eval(be, in, mx, mn, pg, pbeta, pm, pv, 1e-5f, n, ci, h * w);
    be->conv_bn_relu_forward(be, want, x, in, wt, bias, &s, g, bt, rm, rv, sm, sr, pool, 0, 0.1f, 1e-5f, 0);
    int done = be->pool_conv_bn_relu_eval && be->pool_conv_bn_relu_eval(be, got, mx, mn, &pre, wt, bias, &s, &post,
                                                                         sm, sr, pool, NULL);
    tap_ok(done, "pool_conv_bn_relu_eval covers cin %d cout %d %dx%d (pool %d)", ci, co, h, w, pool);
    if (done)
        tap_close("pool_conv_bn_relu_eval equals bn_relu_pool_eval -> conv_bn_relu_forward, bit for bit", got, want,
                  osz, 0, 0);
    /* with a classifier head (10 outputs, and 16, the most the thin path takes): out untouched, the logits of
     * linear_forward on the block's output, bit for bit; 17 outputs are refused, having done nothing */
    int64_t fi = osz / n;
    float *fw = backend_alloc_floats(be, 17 * fi), *fb = backend_alloc_floats(be, 17);
    float *lw = backend_alloc_floats(be, (int64_t)n * 17), *lg = backend_alloc_floats(be, (int64_t)n * 17);
    be->randn(be, fw, 17 * fi, 15, 0);
    be->randn(be, fb, 17, 16, 0);
    for (int32_t o = 10; o <= 17; o += o == 10 ? 6 : 1) {
        be->fill(be, got, osz, 7.0f);
        be->fill(be, lg, (int64_t)n * 17, 7.0f);
        be->linear_forward(be, lw, want, fw, fb, n, (int32_t)fi, o);
        pd_linear_eval head = {fw, fb, o, lg};
        int hd = be->pool_conv_bn_relu_eval && be->pool_conv_bn_relu_eval(be, got, mx, mn, &pre, wt, bias, &s,
                                                                           &post, sm, sr, pool, &head);
        int untouched = 1;
        for (int64_t i = 0; i < osz; i++)
            untouched = untouched && got[i] == 7.0f;
        if (o == 17) {
            tap_ok(!hd && untouched && lg[0] == 7.0f, "a head of 17 outputs is refused, nothing written (pool %d)",
                   pool);
            continue;
        }
        tap_ok(hd && untouched, "with a head of %d outputs: done, the block's output not written (pool %d)", o, pool);
        if (hd)
            tap_close("... its logits equal linear_forward's, bit for bit", lg, lw, (int64_t)n * o, 0, 0);
    }
    float *bufs[] = {mx, mn, in, x, want, got, wt, prm, fw, fb, lw, lg};
    for (int i = 0; i < 12; i++)
        be->free(be, bufs[i]);
}

/* The evaluation batch: 1000 for the default convnet, smaller for a ResNet-18 on CIFAR images so that its
 * activations and their gradients stay within EVALUATOR_BATCH_BYTES, never below the training batch. */
static void test_eval_batch(void)
{
    pd_error e = {0};
    pd_model *m = NULL, *r = NULL;
    pd_model_spec conv = {.arch = PD_ARCH_CONVNET, .in_c = 1, .in_h = 28, .in_w = 28, .classes = 10, .width = 64,
                          .max_batch = 1};
    pd_model_spec res = {.arch = PD_ARCH_RESNET18, .in_c = 3, .in_h = 32, .in_w = 32, .classes = 100, .width = 64,
                         .max_batch = 1};
    if (model_create(&m, be, &conv, &e) != PD_OK || model_create(&r, be, &res, &e) != PD_OK) {
        tap_ok(0, "models for the batch rule: %s", e.msg);
        model_free(m);
        return;
    }
    int64_t fm = model_sample_floats(m), fr = model_sample_floats(r);
    int32_t bm = evaluator_batch(fm, 128), br = evaluator_batch(fr, 64);
    tap_ok(fm == 32 * 28 * 28 * 3 + 32 * 14 * 14 + 64 * 14 * 14 * 3 + 64 * 7 * 7 + 64 * 7 * 7 * 3 + 10,
           "convnet: %lld floats per image over its nodes", (long long)fm);
    tap_ok(bm == EVALUATOR_BATCH_MAX, "convnet on 28x28: batch %d (the full 1000)", bm);
    tap_ok(br < EVALUATOR_BATCH_MAX && br >= 64 && (int64_t)br * fr * 8 <= EVALUATOR_BATCH_BYTES,
           "resnet18 on 32x32x3: batch %d, %.2f GiB of activations and gradients", br,
           (double)br * (double)fr * 8.0 / (1 << 30));
    tap_ok(evaluator_batch(fr, 512) == 512 && evaluator_batch(INT64_C(1) << 40, 1) == 1 && evaluator_batch(0, 1) ==
               EVALUATOR_BATCH_MAX,
           "never below the training batch, at least 1");
    model_free(m);
    model_free(r);
}

int main(void)
{
    pd_error e = {0};
    if (backend_cpu_create(&be, 2, &e) != PD_OK) {
        printf("Bail out! %s\n", e.msg);
        return 1;
    }
    test_fused_op();
    test_eval_batch();
    pd_split s;
    fill_split(&s, 37, 12, 5);
    pd_model *m;
    pd_model_spec spec = {.arch = PD_ARCH_CONVNET, .in_c = 1, .in_h = 12, .in_w = 12, .classes = 10, .width = 64,
                          .max_batch = 37, .trainable = 0};
    model_create(&m, be, &spec, &e);
    model_init_params(m, 4);
    float *buf = model_buffers(m);
    for (int i = 0; i < model_buffer_tensor_count(m); i++) {
        const pd_tensor_info *ti = model_buffer_tensor(m, i);
        for (int64_t j = 0; j < ti->count; j++)
            buf[ti->offset + j] = strstr(ti->name, "var") ? 0.05f + 0.02f * (float)(j % 5) : 0.01f * (float)(j % 7);
    }
    check_target(m, "bn2,bn3", &s, 1); /* fused: the suffix starts bn2 -> relu -> maxpool */
    check_target(m, "bn3", &s, 0);
    check_target(m, "fc", &s, 0);
    check_target(m, "conv1.bias", &s, 0); /* cut at the input */
    model_free(m);
    free(s.pixels);
    free(s.labels);
    test_pool_conv_op(0);
    test_pool_conv_op(1);
    fill_split(&s, 21, 28, 6); /* 7x7 planes after two pools: the pooled input is made inside conv3's block */
    spec.in_h = spec.in_w = 28;
    spec.max_batch = 21;
    model_create(&m, be, &spec, &e);
    model_init_params(m, 5);
    buf = model_buffers(m);
    for (int i = 0; i < model_buffer_tensor_count(m); i++) {
        const pd_tensor_info *ti = model_buffer_tensor(m, i);
        for (int64_t j = 0; j < ti->count; j++)
            buf[ti->offset + j] = strstr(ti->name, "var") ? 0.05f + 0.02f * (float)(j % 5) : 0.01f * (float)(j % 7);
    }
    check_target(m, "bn2,bn3", &s, 1);
    model_free(m);
    free(s.pixels);
    free(s.labels);
    backend_destroy(be);
    return tap_done();
}
