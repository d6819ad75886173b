/* test_model.c — task-model graphs: parameter lists and counts, target selection, cached-prefix forward,
 * and a finite-difference check of whole-network gradients (wiring, residual sums, BatchNorm modes). */
#include "gradcheck.h"
#include "model.h"
#include "rng.h"
#include "target.h"

static pd_backend *be;

static pd_model *make(pd_arch arch, int32_t c, int32_t hw, int32_t width, int32_t batch, int trainable)
{
    pd_model *m = NULL;
    pd_error e = {0};
    pd_model_spec s = {.arch = arch, .in_c = c, .in_h = hw, .in_w = hw, .classes = 10, .width = width,
                       .max_batch = batch, .trainable = trainable};
    if (model_create(&m, be, &s, &e) != PD_OK)
        tap_diag("model_create: %s", e.msg);
    return m;
}

static void test_counts(void)
{
    pd_model *m = make(PD_ARCH_CONVNET, 1, 28, 64, 2, 0);
    tap_ok(m && model_param_count(m) == 87434, "convnet has 87434 parameters (%lld)", (long long)model_param_count(m));
    tap_ok(model_tensor_count(m) == 14 && strcmp(model_tensor(m, 0)->name, "conv1.weight") == 0 &&
               strcmp(model_tensor(m, 13)->name, "fc.bias") == 0 && model_tensor(m, 12)->shape[1] == 3136,
           "convnet tensors conv1.weight .. fc.bias, fc is 10x3136");
    int64_t at = 0, ok = 1;
    for (int i = 0; i < model_tensor_count(m); i++) {
        ok = ok && model_tensor(m, i)->offset == at;
        at += model_tensor(m, i)->count;
    }
    tap_ok(ok && at == model_param_count(m), "views tile the parameter block in order");
    tap_ok(model_buffer_count(m) == 2 * (32 + 64 + 64), "BatchNorm running statistics: %lld",
           (long long)model_buffer_count(m));
    model_free(m);
    m = make(PD_ARCH_MLP, 1, 28, 64, 2, 0);
    tap_ok(m && model_param_count(m) == 235146, "mlp has 235146 parameters");
    model_free(m);
    m = make(PD_ARCH_RESNET18, 3, 32, 64, 2, 0);
    tap_ok(m && model_param_count(m) == 11173962, "resnet18 (CIFAR, 3 channels) has 11173962 parameters (%lld)",
           (long long)model_param_count(m));
    tap_ok(model_tensor_find(m, "layer4.1.bn2.weight") >= 0 && model_tensor_find(m, "layer2.0.downsample.0.weight") >= 0
               && model_tensor_find(m, "layer1.0.downsample.0.weight") < 0,
           "resnet18 names follow torchvision");
    pd_target t;
    pd_error e = {0};
    tap_ok(target_resolve(&t, m, "layer4.1.bn1,layer4.1.bn2", &e) == PD_OK && t.d == 2048 && t.n == 4,
           "paper target: last two BN of layer4.1 = 2048 numbers");
    int cut = model_cut_before(m, t.first_node);
    tap_ok(strcmp(model_node_name(m, cut), "layer4.1.conv1") == 0, "cut for layer4.1.bn1 is before layer4.1.conv1 (%s)",
           model_node_name(m, cut));
    target_free(&t);
    model_free(m);
    m = make(PD_ARCH_RESNET18, 1, 28, 4, 2, 0);
    tap_ok(m && model_param_count(m) == 44550, "resnet18 width 4, 1 channel: 44550 parameters");
    model_free(m);
}

static void test_targets(void)
{
    pd_model *m = make(PD_ARCH_CONVNET, 1, 28, 64, 2, 0);
    pd_target t;
    pd_error e = {0};
    pd_status st = target_resolve(&t, m, "auto", &e);
    tap_ok(st == PD_OK && t.d == 256 && strcmp(t.names, "bn2.weight,bn2.bias,bn3.weight,bn3.bias") == 0,
           "auto on convnet = bn2, bn3 (256): %s", st == PD_OK ? t.names : e.msg);
    int cut = model_cut_before(m, t.first_node);
    tap_ok(strcmp(model_node_name(m, cut), "bn2") == 0, "convnet cut is right before bn2");
    target_free(&t);
    tap_ok(target_resolve(&t, m, "bn?", &e) == PD_OK && t.n == 6, "glob bn? selects 6 tensors");
    target_free(&t);
    tap_ok(target_resolve(&t, m, "fc.weight", &e) == PD_OK && t.d == 31360, "exact tensor name");
    target_free(&t);
    tap_ok(target_resolve(&t, m, "all", &e) == PD_OK && t.d == 87434, "all");
    target_free(&t);
    tap_ok(target_resolve(&t, m, "bn9", &e) == PD_ERR_CONFIG && strstr(e.msg, "bn9") && strstr(e.msg, "conv1.weight"),
           "unknown target refused with the list: %s", e.msg);
    model_free(m);
    m = make(PD_ARCH_MLP, 1, 28, 64, 2, 0);
    tap_ok(target_resolve(&t, m, "auto", &e) == PD_OK && t.d == 1290, "auto on mlp = fc3 (1290)");
    target_free(&t);
    model_free(m);
}

/* non-trivial running statistics so eval-mode BN matters (variances in [0.5, 1.1]) */
static void set_running_stats(pd_model *m)
{
    float *buf = model_buffers(m);
    for (int i = 0; i < model_buffer_tensor_count(m); i++) {
        const pd_tensor_info *ti = model_buffer_tensor(m, i);
        for (int64_t j = 0; j < ti->count; j++)
            buf[ti->offset + j] = strstr(ti->name, "var") ? 0.5f + 0.1f * (float)(j % 7) : 0.05f * (float)(j % 5);
    }
}

/* gather/scatter round trip and cached-prefix forward == full forward */
static void test_prefix(void)
{
    pd_model *m = make(PD_ARCH_RESNET18, 1, 12, 4, 3, 0);
    model_init_params(m, 3);
    float *x = backend_alloc_floats(be, 3 * 144);
    be->randn(be, x, 3 * 144, 9, 0);
    set_running_stats(m);
    pd_target t;
    pd_error e = {0};
    target_resolve(&t, m, "layer4.1.bn1,layer4.1.bn2", &e);
    float *vec = backend_alloc_floats(be, t.d);
    for (int64_t i = 0; i < t.d; i++)
        vec[i] = 0.5f + 0.01f * (float)i;
    target_scatter(be, m, &t, vec, model_params(m));
    float *back = backend_alloc_floats(be, t.d);
    target_gather(be, m, &t, model_params(m), back);
    tap_close("gather after scatter", back, vec, t.d, 0, 0);
    const float *full = model_forward(m, x, 3, 0, 0);
    float want[30];
    memcpy(want, full, sizeof want);
    int cut = model_cut_before(m, t.first_node);
    int32_t c, h, w;
    model_node_shape(m, cut - 1, &c, &h, &w);
    tap_ok(cut > 0 && c == 32 && h == 2 && w == 2, "resnet18 width 4 on 12x12 cuts at a 32x2x2 tensor (%dx%dx%d)",
           c, h, w);
    int64_t sz = 3LL * c * h * w;
    float *cache = backend_alloc_floats(be, sz);
    be->copy(be, cache, model_forward_range(m, x, 3, 0, 0, cut), (size_t)sz * sizeof(float));
    be->fill(be, x, 3 * 144, 0.0f); /* the suffix must not read the images */
    const float *suffix = model_forward(m, cache, 3, 0, cut);
    tap_close("logits from the cached prefix", suffix, want, 30, 1e-6, 1e-5);
    be->free(be, cache);
    target_free(&t);
    be->free(be, vec);
    be->free(be, back);
    be->free(be, x);
    model_free(m);
}

typedef struct {
    pd_model *m;
    float *x, *loss;
    int32_t *y;
    int32_t n;
    int train;
    float *r;
} net_ctx;

static double net_loss(void *vp)
{
    net_ctx *c = vp;
    /* train-mode forward updates running statistics; they do not affect a train-mode output */
    const float *logits = model_forward(c->m, c->x, c->n, c->train, 0);
    return gradcheck_dot(logits, c->r, (int64_t)c->n * 10);
}

static void test_net_gradients(pd_arch arch, const char *name, int train)
{
    const int n = 4;
    pd_model *m = make(arch, 1, 8, 2, n, 1);
    model_init_params(m, 11);
    set_running_stats(m);
    net_ctx c = {.m = m, .n = n, .train = train};
    c.x = backend_alloc_floats(be, n * 64);
    c.r = backend_alloc_floats(be, n * 10);
    be->randn(be, c.x, n * 64, 21, 0);
    be->randn(be, c.r, n * 10, 22, 0);
    net_loss(&c);
    be->fill(be, model_grads(m), model_param_count(m), 0.0f);
    model_backward(m, c.r, n, train, 0); /* dL/dlogits = r */
    float *g = malloc((size_t)model_param_count(m) * sizeof *g);
    memcpy(g, model_grads(m), (size_t)model_param_count(m) * sizeof *g);
    char label[96];
    snprintf(label, sizeof label, "%s %s-mode parameter gradients", name, train ? "train" : "eval");
    gradcheck(label, model_params(m), g, model_param_count(m), net_loss, &c, 1e-3, 2e-3, 5e-2, 300);
    free(g);
    be->free(be, c.x);
    be->free(be, c.r);
    model_free(m);
}

int main(void)
{
    pd_error e = {0};
    if (backend_cpu_create(&be, 2, &e) != PD_OK) {
        printf("Bail out! %s\n", e.msg);
        return 1;
    }
    test_counts();
    test_targets();
    test_prefix();
    test_net_gradients(PD_ARCH_CONVNET, "convnet", 1);
    test_net_gradients(PD_ARCH_CONVNET, "convnet", 0);
    test_net_gradients(PD_ARCH_RESNET18, "resnet18", 1);
    test_net_gradients(PD_ARCH_MLP, "mlp", 1);
    backend_destroy(be);
    return tap_done();
}
