/* test_model_io.c — task models to and from PyTorch state_dicts (model_io.h).
 *
 * tests/fixtures/st/ holds state_dicts that PyTorch made (tests/gen_safetensors.py: an mlp and a convnet written
 * from doc/design.md §6 with fixed random weights and non-trivial BatchNorm statistics) and the float64 logits
 * of 8 fixed inputs. Each is imported into a pdiff model, whose eval-mode logits must match; exported again, each
 * tensor must come back with the fixture's name, dtype, shape and bytes, in torch's order. Files with a tensor
 * missing, extra or of another shape, or holding a NaN, are refused naming the tensor and what was expected, and
 * leave the model as it was; other dtypes (F64) are converted; the state_dict order of a ResNet-18 is torch's.
 * Skips when pdiff was built without a JSON library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "model.h"
#include "model_io.h"
#include "npy.h"
#include "safetensors.h"
#include "tap.h"

static pd_backend *be;

static const char *fixture(const char *file)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        snprintf(p, sizeof path[0], "%s/tests/fixtures/st/%s", top, file);
        return p;
    }
    const char *dirs[] = {"../tests/fixtures/st", "tests/fixtures/st"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof path[0], "%s/%s", dirs[i], file);
        if (access(p, R_OK) == 0)
            return p;
    }
    return p;
}

static pd_model *make_model(pd_arch arch, int32_t in_c, int32_t hw, int32_t width)
{
    pd_model *m = NULL;
    pd_error err = {0};
    pd_model_spec spec = {.arch = arch, .in_c = in_c, .in_h = hw, .in_w = hw, .classes = 10, .width = width,
                          .max_batch = 8, .trainable = 0};
    if (model_create(&m, be, &spec, &err) != PD_OK)
        tap_ok(0, "model_create: %s", err.msg);
    return m;
}

/* The tensors of f sorted by their data offset: the order they were written in. */
static int cmp_begin(const void *a, const void *b)
{
    const pd_st_tensor *x = *(const pd_st_tensor *const *)a, *y = *(const pd_st_tensor *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static const pd_st_tensor **by_offset(const pd_safetensors *f)
{
    const pd_st_tensor **o = malloc((size_t)(f->n > 0 ? f->n : 1) * sizeof *o);
    for (int i = 0; o && i < f->n; i++)
        o[i] = &f->t[i];
    if (o)
        qsort(o, (size_t)f->n, sizeof *o, cmp_begin);
    return o;
}

/* Eval-mode logits of the fixed inputs against the fixture's. */
static void check_logits(pd_model *m, const char *tag, const char *logits_file)
{
    pd_error err = {0};
    float *x = NULL, *want = NULL;
    int nx = 0, nw = 0;
    int64_t sx[PD_ST_MAX_DIMS], sw[PD_ST_MAX_DIMS];
    if (!tap_ok(npy_read_f32(fixture("inputs.npy"), &x, &nx, sx, &err) == PD_OK &&
                    npy_read_f32(fixture(logits_file), &want, &nw, sw, &err) == PD_OK && nx == 4 && sx[0] == 8 &&
                    sx[1] == 1 && sx[2] == 12 && sx[3] == 12 && nw == 2 && sw[0] == 8 && sw[1] == 10,
                "%s: inputs.npy [8, 1, 12, 12] and %s [8, 10] read %s", tag, logits_file, err.msg)) {
        free(x);
        free(want);
        return;
    }
    float *dx = backend_alloc_floats(be, 8 * 144), got[80];
    be->upload(be, dx, x, 8 * 144 * sizeof(float));
    const float *logits = model_forward(m, dx, 8, 0, 0);
    be->download(be, got, logits, sizeof got);
    char name[64];
    snprintf(name, sizeof name, "%s: logits of the imported model match PyTorch's", tag);
    tap_close(name, got, want, 80, 1e-4, 1e-4);
    be->free(be, dx);
    free(x);
    free(want);
}

/* Export m again (with the fixture's num_batches_tracked) and compare every tensor with the fixture's. */
static void check_export(pd_model *m, const char *tag, const pd_safetensors *fx)
{
    pd_error err = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.safetensors", tap_workdir("test_model_io"), tag);
    const pd_st_tensor *nbt = safetensors_find(fx, "bn1.num_batches_tracked");
    int64_t batches = nbt ? *(const int64_t *)(const void *)(fx->data + nbt->begin) : 0;
    const char *meta[] = {"arch", tag};
    pd_safetensors out;
    memset(&out, 0, sizeof out);
    if (!tap_ok(model_io_save(m, path, batches, meta, 1, &err) == PD_OK && safetensors_read(&out, path, &err) == PD_OK,
                "%s: exported and read back %s", tag, err.msg)) {
        safetensors_free(&out);
        return;
    }
    const char *fmt = safetensors_meta_get(&out, "format"), *arch = safetensors_meta_get(&out, "arch");
    tap_ok(fmt && strcmp(fmt, "pt") == 0 && arch && strcmp(arch, tag) == 0, "%s: metadata format pt and arch", tag);
    const pd_st_tensor **a = by_offset(fx), **b = by_offset(&out);
    int same = a && b && fx->n == out.n && fx->n == model_io_count(m), bad = -1;
    for (int i = 0; same && i < fx->n; i++) {
        same = strcmp(a[i]->name, b[i]->name) == 0 && a[i]->dtype == b[i]->dtype && a[i]->ndim == b[i]->ndim &&
               memcmp(a[i]->shape, b[i]->shape, sizeof a[i]->shape) == 0 &&
               a[i]->end - a[i]->begin == b[i]->end - b[i]->begin &&
               memcmp(fx->data + a[i]->begin, out.data + b[i]->begin, (size_t)(a[i]->end - a[i]->begin)) == 0;
        bad = same ? -1 : i;
    }
    tap_ok(same, "%s: the export has the fixture's %d tensors in torch's order, same dtype, shape and bytes%s%s", tag,
           fx->n, bad >= 0 ? "; first difference: " : "", bad >= 0 ? a[bad]->name : "");
    free(a);
    free(b);
    safetensors_free(&out);
}

static void roundtrip(pd_arch arch, const char *tag)
{
    pd_error err = {0};
    char file[64], logits[64];
    snprintf(file, sizeof file, "%s.safetensors", tag);
    snprintf(logits, sizeof logits, "%s_logits.npy", tag);
    pd_safetensors f;
    if (!tap_ok(safetensors_read(&f, fixture(file), &err) == PD_OK, "%s: fixture %s read %s", tag, file, err.msg)) {
        safetensors_free(&f);
        return;
    }
    pd_model *m = make_model(arch, 1, 12, 0);
    if (m && tap_ok(model_io_load(m, &f, &err) == PD_OK, "%s: PyTorch's state_dict imported %s", tag, err.msg)) {
        check_logits(m, tag, logits);
        check_export(m, tag, &f);
    }
    model_free(m);
    safetensors_free(&f);
}

/* ------------------------------------------------------------------------------------------------ refusals */

typedef struct {
    const char *drop;     /* leave this tensor out */
    const char *reshape;  /* give this tensor shape[0..ndim) (same bytes: a 2-D split of its values) */
    int ndim;
    int64_t shape[2];
    const char *extra;    /* add this tensor (4 floats) */
    const char *nan_in;   /* set this tensor's first value to NaN */
    int as_f64;           /* store the F32 tensors as F64 */
    int drop_nbt;         /* leave every num_batches_tracked out */
} edit;

/* A copy of fixture f edited as e says, at path. */
static pd_status write_edited(const pd_safetensors *f, const edit *e, const char *path, pd_error *err)
{
    pd_st_writer *w;
    PD_TRY(safetensors_writer_create(&w, err));
    pd_status st = PD_OK;
    for (int i = 0; st == PD_OK && i < f->n; i++) {
        const pd_st_tensor *t = &f->t[i];
        if ((e->drop && strcmp(t->name, e->drop) == 0) || (e->drop_nbt && strstr(t->name, "num_batches_tracked")))
            continue;
        int64_t n = safetensors_numel(t);
        float *v = malloc((size_t)n * sizeof *v);
        double *d = malloc((size_t)n * sizeof *d);
        const void *data = f->data + t->begin;
        int ndim = t->ndim;
        const int64_t *shape = t->shape;
        pd_st_dtype dt = t->dtype;
        if (t->dtype == PD_ST_F32) {
            memcpy(v, data, (size_t)n * sizeof *v);
            if (e->nan_in && strcmp(t->name, e->nan_in) == 0)
                v[0] = NAN;
            for (int64_t k = 0; k < n; k++)
                d[k] = v[k];
            data = e->as_f64 ? (const void *)d : (const void *)v;
            dt = e->as_f64 ? PD_ST_F64 : PD_ST_F32;
        }
        if (e->reshape && strcmp(t->name, e->reshape) == 0)
            ndim = e->ndim, shape = e->shape;
        st = safetensors_add(w, t->name, dt, ndim, shape, data, err);
        free(v);
        free(d);
    }
    static const float four[4] = {1, 2, 3, 4};
    if (st == PD_OK && e->extra)
        st = safetensors_add(w, e->extra, PD_ST_F32, 1, (const int64_t[]){4}, four, err);
    if (st != PD_OK) {
        safetensors_writer_free(w);
        return st;
    }
    return safetensors_commit(w, path, err);
}

/* Load the edited convnet fixture: want_ok, or refused with a message holding each of the needles. */
static void try_edit(const pd_safetensors *f, pd_model *m, const edit *e, int want_ok, const char *what,
                     const char *n1, const char *n2)
{
    pd_error err = {0};
    const char *path = tap_path("edited.safetensors");
    pd_safetensors g;
    memset(&g, 0, sizeof g);
    if (!tap_ok(write_edited(f, e, path, &err) == PD_OK && safetensors_read(&g, path, &err) == PD_OK,
                "%s: file written %s", what, err.msg)) {
        safetensors_free(&g);
        return;
    }
    int64_t np = model_param_count(m);
    float *before = malloc((size_t)np * sizeof *before), *after = malloc((size_t)np * sizeof *after);
    be->download(be, before, model_params(m), (size_t)np * sizeof(float));
    pd_status st = model_io_load(m, &g, &err);
    be->download(be, after, model_params(m), (size_t)np * sizeof(float));
    if (want_ok)
        tap_ok(st == PD_OK, "%s: accepted %s", what, err.msg);
    else
        tap_ok(st != PD_OK && strstr(err.msg, path) && (!n1 || strstr(err.msg, n1)) && (!n2 || strstr(err.msg, n2)) &&
                   memcmp(before, after, (size_t)np * sizeof(float)) == 0,
               "%s: refused naming the file, %s and %s, model unchanged (%s)", what, n1 ? n1 : "-", n2 ? n2 : "-",
               err.msg);
    free(before);
    free(after);
    safetensors_free(&g);
}

static void refusals(void)
{
    pd_error err = {0};
    pd_safetensors f, mlp;
    int ok = safetensors_read(&f, fixture("convnet.safetensors"), &err) == PD_OK &&
             safetensors_read(&mlp, fixture("mlp.safetensors"), &err) == PD_OK;
    pd_model *m = make_model(PD_ARCH_CONVNET, 1, 12, 0);
    if (tap_ok(ok && m, "refusals: fixtures read %s", err.msg)) {
        try_edit(&f, m, &(edit){.drop = "bn2.running_var"}, 0, "a missing tensor", "bn2.running_var", "[64]");
        try_edit(&f, m, &(edit){.extra = "fc.extra"}, 0, "an extra tensor", "fc.extra", "convnet");
        try_edit(&f, m, &(edit){.reshape = "fc.weight", .ndim = 2, .shape = {20, 288}}, 0, "a tensor of another shape",
                 "[20, 288]", "[10, 576]");
        try_edit(&f, m, &(edit){.nan_in = "conv2.bias"}, 0, "a NaN", "conv2.bias", "finite");
        try_edit(&mlp, m, &(edit){0}, 0, "an mlp's state_dict into a convnet", "conv1.weight", "missing");
        try_edit(&f, m, &(edit){.drop_nbt = 1}, 1, "no num_batches_tracked", NULL, NULL);
        try_edit(&f, m, &(edit){.as_f64 = 1}, 1, "F64 tensors", NULL, NULL);
        check_logits(m, "convnet from F64", "convnet_logits.npy");
    }
    model_free(m);
    safetensors_free(&f);
    safetensors_free(&mlp);
}

/* torch's state_dict order on a ResNet-18 (torchvision names): 122 entries. */
static void resnet_order(void)
{
    pd_model *m = make_model(PD_ARCH_RESNET18, 3, 16, 4);
    if (!m)
        return;
    static const char *const want[] = {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                       "bn1.running_var", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
                                       "layer1.0.bn1.weight"};
    char name[96];
    int ok = model_io_count(m) == 122;
    for (int i = 0; ok && i < 8; i++)
        ok = strcmp(model_io_name(m, i, name, sizeof name), want[i]) == 0;
    int ds = -1;
    for (int i = 0; i < model_io_count(m); i++)
        if (strcmp(model_io_name(m, i, name, sizeof name), "layer2.0.downsample.0.weight") == 0)
            ds = i;
    ok = ok && ds > 0 && strcmp(model_io_name(m, ds - 1, name, sizeof name), "layer2.0.bn2.num_batches_tracked") == 0 &&
         strcmp(model_io_name(m, ds + 1, name, sizeof name), "layer2.0.downsample.1.weight") == 0 &&
         strcmp(model_io_name(m, 121, name, sizeof name), "fc.bias") == 0;
    tap_ok(ok, "resnet18: 122 state_dict entries in torch's order (conv1, bn1 with its buffers, ..., downsample, fc)");
    model_free(m);
}

int main(void)
{
    pd_error err = {0};
    pd_safetensors probe;
    pd_status st = safetensors_read(&probe, fixture("mlp.safetensors"), &err);
    safetensors_free(&probe);
    if (st == PD_ERR_CONFIG)
        return tap_skip_all("pdiff was built without a JSON library");
    if (backend_cpu_create(&be, 1, &err) != PD_OK) {
        tap_ok(0, "cpu backend: %s", err.msg);
        return tap_done();
    }
    tap_workdir("test_model_io");
    roundtrip(PD_ARCH_MLP, "mlp");
    roundtrip(PD_ARCH_CONVNET, "convnet");
    refusals();
    resnet_order();
    backend_destroy(be);
    return tap_done();
}
