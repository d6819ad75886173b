/* test_golden_task.c — the task models against PyTorch (llm.c's test_gpt2 idea).
 *
 * tests/gen_golden.py builds convnet (1x12x12) and a width-4 CIFAR ResNet-18 (3x16x16) in PyTorch with fixed
 * weights, runs a train-mode forward/backward and 10 SGD steps (lr 0.05, momentum 0.9, weight decay 5e-4) on a
 * batch of 8, and stores everything in tests/fixtures/golden_*.bin (pdiff state files, kind "golden"); the
 * reference runs in float64, so the differences printed here are pdiff's own float32 error. This test needs no
 * Python: it loads the fixtures, builds the same models with model_create, and compares the parameter names,
 * logits, loss, every parameter gradient (per tensor), BatchNorm running statistics, the 10 losses, the final
 * parameters and the eval-mode logits with |got - want| <= atol + rtol |want|, with 1 and 2 backend threads.
 */
#include <unistd.h>

#include "model.h"
#include "state.h"
#include "tap.h"

/* Tolerances: a float32 PyTorch run lands within ~1/5 of these of the float64 reference (gen_golden.py prints
 * its distances), so a correct float32 implementation passes with margin. */
#define TOL_LOGITS 1e-5, 1e-4
#define TOL_LOSS 1e-6, 1e-5
#define TOL_GRADS 1e-5, 1e-3
#define TOL_BUFFERS 1e-5, 1e-4
#define TOL_LOSSES 1e-5, 1e-4
#define TOL_PARAMS 1e-5, 1e-4
#define TOL_EVAL 1e-4, 1e-4

static const char *fixture_path(const char *file)
{
    static char path[4096];
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        snprintf(path, sizeof path, "%s/tests/fixtures/%s", top, file);
        return path;
    }
    const char *dirs[] = {"../tests/fixtures", "tests/fixtures"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(path, sizeof path, "%s/%s", dirs[i], file);
        if (access(path, R_OK) == 0)
            return path;
    }
    return path;
}

/* A section of the given dtype and count (count < 0: any; *len receives it), or NULL with a failed TAP line. */
static const void *get_sec(const pd_state *s, const char *tag, const char *name, pd_dtype dtype, int64_t count,
                           int64_t *len)
{
    pd_error e = {0};
    const void *p = state_get(s, name, dtype, count, len, &e);
    if (!p)
        tap_ok(0, "%s: section %s: %s", tag, name, e.msg);
    return p;
}

static const float *get_f32(const pd_state *s, const char *tag, const char *name, int64_t count)
{
    return get_sec(s, tag, name, PD_DTYPE_F32, count, NULL);
}

/* names is '\n'-terminated names; check they equal the model's tensor names, in order */
static int check_names(const char *tag, const char *what, const char *names, int64_t len, const pd_model *m,
                       int buffers)
{
    int count = buffers ? model_buffer_tensor_count(m) : model_tensor_count(m);
    int64_t at = 0;
    for (int i = 0; i < count; i++) {
        const pd_tensor_info *t = buffers ? model_buffer_tensor(m, i) : model_tensor(m, i);
        int64_t l = (int64_t)strlen(t->name);
        int64_t theirs = 0; /* length of PyTorch's name #i, which need not be NUL-terminated */
        while (at + theirs < len && names[at + theirs] != '\n')
            theirs++;
        if (theirs != l || memcmp(names + at, t->name, (size_t)l) != 0 || at + l >= len)
            return tap_ok(0, "%s: %s #%d is %s in pdiff, PyTorch has '%.*s'", tag, what, i, t->name, (int)theirs,
                          names + at);
        at += l + 1;
    }
    return tap_ok(at == len, "%s: %d %s in PyTorch's order%s", tag, count, what,
                  at == len ? "" : " (PyTorch has more)");
}

/* One TAP line per tensor of a block (parameters or buffers). */
static void close_tensors(const char *tag, const char *what, const pd_model *m, int buffers, const float *got,
                          const float *want, double atol, double rtol)
{
    int count = buffers ? model_buffer_tensor_count(m) : model_tensor_count(m);
    for (int i = 0; i < count; i++) {
        const pd_tensor_info *t = buffers ? model_buffer_tensor(m, i) : model_tensor(m, i);
        char label[256];
        snprintf(label, sizeof label, "%s %s %s", tag, what, t->name);
        tap_close(label, got + t->offset, want + t->offset, t->count, atol, rtol);
    }
}

/* Whole-block comparison in one TAP line; on failure, the tensors at fault as diagnostics. */
static void close_block(const char *tag, const char *what, const pd_model *m, int buffers, const float *got,
                        const float *want, int64_t n, double atol, double rtol)
{
    char label[256];
    snprintf(label, sizeof label, "%s %s", tag, what);
    if (tap_close(label, got, want, n, atol, rtol))
        return;
    int count = buffers ? model_buffer_tensor_count(m) : model_tensor_count(m);
    for (int i = 0; i < count; i++) {
        const pd_tensor_info *t = buffers ? model_buffer_tensor(m, i) : model_tensor(m, i);
        double maxdiff = 0;
        int64_t bad = 0;
        for (int64_t j = 0; j < t->count; j++) {
            double a = got[t->offset + j], b = want[t->offset + j], d = fabs(a - b);
            if (!(d <= atol + rtol * fabs(b)))
                bad++;
            if (d > maxdiff || d != d)
                maxdiff = d;
        }
        if (bad)
            tap_diag("  %s: %lld of %lld differ, max |diff| %.3g", t->name, (long long)bad, (long long)t->count,
                     maxdiff);
    }
}

static void golden(pd_backend *be, pd_arch arch, const char *file, int32_t in_c, int32_t hw, int32_t width,
                   int threads)
{
    char tag[64];
    snprintf(tag, sizeof tag, "%s t%d", model_arch_name(arch), threads);
    const char *path = fixture_path(file);
    pd_error e = {0};
    pd_state *s = NULL;
    if (state_load(&s, path, "golden", &e) != PD_OK) {
        tap_ok(0, "%s: load fixture: %s", tag, e.msg);
        return;
    }
    const int32_t *cfg = get_sec(s, tag, "config", PD_DTYPE_I32, 7, NULL);
    const float *hyper = get_f32(s, tag, "hyper", 5);
    if (!tap_ok(cfg && hyper && cfg[0] == in_c && cfg[1] == hw && cfg[2] == hw && cfg[3] >= 2 && cfg[4] == width &&
                    cfg[5] >= 1 && cfg[6] >= 1,
                "%s: fixture %s is for %dx%dx%d inputs, width %d (%s)", tag, path, in_c, hw, hw, width,
                cfg ? "config read" : "no config")) {
        state_free(s);
        return;
    }
    const int32_t n = cfg[5], classes = cfg[3], steps = cfg[6];
    const float lr = hyper[0], mom = hyper[1], wd = hyper[2];
    pd_model_spec spec = {.arch = arch, .in_c = cfg[0], .in_h = cfg[1], .in_w = cfg[2], .classes = classes,
                          .width = cfg[4], .max_batch = n, .trainable = 1};
    pd_model *m = NULL;
    pd_status st = model_create(&m, be, &spec, &e);
    if (!tap_ok(st == PD_OK, "%s: model_create %dx%dx%d width %d%s%s", tag, cfg[0], cfg[1], cfg[2], cfg[4],
                st == PD_OK ? "" : ": ", st == PD_OK ? "" : e.msg)) {
        state_free(s);
        return;
    }
    tap_ok(fabs(hyper[3] - 0.1) < 1e-7 && fabs(hyper[4] - 1e-5) < 1e-12,
           "%s: fixture uses pdiff's BatchNorm momentum 0.1 and eps 1e-5", tag);
    const int64_t P = model_param_count(m), B = model_buffer_count(m), nin = (int64_t)n * cfg[0] * cfg[1] * cfg[2];
    const int64_t nl = (int64_t)n * classes;

    int64_t len = 0;
    const char *names = get_sec(s, tag, "names", PD_DTYPE_U8, -1, &len);
    int names_ok = names && check_names(tag, "parameter tensors", names, len, m, 0);
    const char *bnames = get_sec(s, tag, "buffer_names", PD_DTYPE_U8, -1, &len);
    names_ok = bnames && check_names(tag, "buffer tensors", bnames, len, m, 1) && names_ok;
    const float *params0 = get_f32(s, tag, "params0", P), *buffers0 = get_f32(s, tag, "buffers0", B);
    const float *x = get_f32(s, tag, "x", nin), *w_logits = get_f32(s, tag, "logits", nl);
    const float *w_loss = get_f32(s, tag, "loss", 1), *w_grads = get_f32(s, tag, "grads", P);
    const float *w_buf1 = get_f32(s, tag, "buffers1", B), *w_losses = get_f32(s, tag, "losses", steps);
    const float *w_params = get_f32(s, tag, "params_final", P), *w_buf = get_f32(s, tag, "buffers_final", B);
    const float *w_eval = get_f32(s, tag, "eval_logits", nl);
    const int32_t *y = get_sec(s, tag, "y", PD_DTYPE_I32, n, NULL);
    if (!tap_ok(names_ok && params0 && buffers0 && x && y && w_logits && w_loss && w_grads && w_buf1 && w_losses &&
                    w_params && w_buf && w_eval,
                "%s: %lld parameters and %lld buffer values match the fixture's sections", tag, (long long)P,
                (long long)B)) {
        model_free(m);
        state_free(s);
        return;
    }

    float *dx = backend_alloc_floats(be, nin), *dlogits = backend_alloc_floats(be, nl);
    float *dloss = backend_alloc_floats(be, 1);
    int32_t *dy = backend_alloc_ints(be, n);
    float *host = malloc((size_t)(P > B ? (P > nl ? P : nl) : (B > nl ? B : nl)) * sizeof *host);
    float *losses = calloc((size_t)steps, sizeof *losses);
    PD_ASSERT(dx && dlogits && dloss && dy && host && losses);
    be->upload(be, dx, x, (size_t)nin * sizeof(float));
    be->upload(be, dy, y, (size_t)n * sizeof(int32_t));
    be->upload(be, model_params(m), params0, (size_t)P * sizeof(float));
    be->upload(be, model_buffers(m), buffers0, (size_t)B * sizeof(float));
    be->fill(be, model_momentum(m), P, 0.0f);

    char label[256];
    for (int step = 0; step < steps; step++) {
        const float *logits = model_forward(m, dx, n, 1, 0);
        be->fill(be, dloss, 1, 0.0f);
        be->softmax_xent(be, dloss, NULL, dlogits, logits, dy, n, classes);
        be->download(be, &losses[step], dloss, sizeof(float));
        be->fill(be, model_grads(m), P, 0.0f);
        model_backward(m, dlogits, n, 1, 0);
        if (step == 0) {
            be->download(be, host, logits, (size_t)nl * sizeof(float));
            snprintf(label, sizeof label, "%s train-mode logits", tag);
            tap_close(label, host, w_logits, nl, TOL_LOGITS);
            snprintf(label, sizeof label, "%s loss (%.6f)", tag, (double)losses[0]);
            tap_close(label, &losses[0], w_loss, 1, TOL_LOSS);
            be->download(be, host, model_grads(m), (size_t)P * sizeof(float));
            close_tensors(tag, "grad", m, 0, host, w_grads, TOL_GRADS);
            be->download(be, host, model_buffers(m), (size_t)B * sizeof(float));
            close_tensors(tag, "after one forward:", m, 1, host, w_buf1, TOL_BUFFERS);
        }
        be->sgd_step(be, model_params(m), model_grads(m), model_momentum(m), P, lr, mom, wd);
    }
    snprintf(label, sizeof label, "%s %d SGD losses (%.6f .. %.6f)", tag, steps, (double)losses[0],
             (double)losses[steps - 1]);
    tap_close(label, losses, w_losses, steps, TOL_LOSSES);
    be->download(be, host, model_params(m), (size_t)P * sizeof(float));
    close_block(tag, "parameters after the SGD steps", m, 0, host, w_params, P, TOL_PARAMS);
    be->download(be, host, model_buffers(m), (size_t)B * sizeof(float));
    close_block(tag, "running statistics after the SGD steps", m, 1, host, w_buf, B, TOL_BUFFERS);
    /* eval mode with the final weights: uses (and must not change) the running statistics */
    const float *logits = model_forward(m, dx, n, 0, 0);
    float *stats = malloc((size_t)B * sizeof *stats);
    PD_ASSERT(stats);
    be->download(be, stats, model_buffers(m), (size_t)B * sizeof(float));
    snprintf(label, sizeof label, "%s eval-mode forward leaves the running statistics alone", tag);
    tap_close(label, stats, host, B, 0, 0);
    free(stats);
    be->download(be, host, logits, (size_t)nl * sizeof(float));
    snprintf(label, sizeof label, "%s eval-mode logits after the SGD steps", tag);
    tap_close(label, host, w_eval, nl, TOL_EVAL);

    free(losses);
    free(host);
    be->free(be, dx);
    be->free(be, dlogits);
    be->free(be, dloss);
    be->free(be, dy);
    model_free(m);
    state_free(s);
}

int main(void)
{
    for (int threads = 1; threads <= 2; threads++) {
        pd_backend *be = NULL;
        pd_error e = {0};
        if (backend_cpu_create(&be, threads, &e) != PD_OK) {
            printf("Bail out! %s\n", e.msg);
            return 1;
        }
        golden(be, PD_ARCH_CONVNET, "golden_convnet.bin", 1, 12, 0, threads);
        golden(be, PD_ARCH_RESNET18, "golden_resnet18.bin", 3, 16, 4, threads);
        backend_destroy(be);
    }
    return tap_done();
}
