/* export.c — a session's models as safetensors state_dicts and NumPy matrices (see export.h). */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "backend.h"
#include "config.h"
#include "csvio.h"
#include "model.h"
#include "model_io.h"
#include "npy.h"
#include "path.h"
#include "pipeline.h"
#include "state.h"
#include "target.h"

struct pd_export {
    char session[PD_PATH_MAX];
    pd_config cfg;
    pd_backend *be;
    pd_model *m;        /* the task model of state/task.bin (not trainable, batch 1) */
    pd_target target;
    pd_zoo zoo;         /* state/models.bin */
    int64_t batches;    /* num_batches_tracked: the train stage's steps */
    int32_t run;        /* the collection run whose task model m holds (zoo.run; -1: unknown) */
};

/* SESSION/state/NAME.bin, PD_ERR_STATE naming it and the stage that writes it when it is missing. */
static pd_status export_state_path(const pd_export *x, const char *name, const char *stage, char *path, size_t size,
                                   pd_error *err)
{
    PD_TRY(path_format(path, size, err, "%s/state/%s.bin", x->session, name));
    struct stat st;
    if (stat(path, &st) != 0)
        return error_set(err, PD_ERR_STATE, "%s: missing: the session has no output of stage %s yet (pdiff resume %s)",
                         path, stage, x->session);
    return PD_OK;
}

/* The train stage's steps (epochs x batches per epoch, from config.csv's train_images record); 0 when unknown. */
static int64_t export_batches(const pd_export *x, const char *config_path)
{
    pd_csv_table t;
    if (csvio_read(config_path, &t, NULL) != PD_OK)
        return 0;
    int kc = csvio_column(&t, "key"), vc = csvio_column(&t, "value");
    int64_t n = 0;
    for (int64_t r = 0; kc >= 0 && vc >= 0 && r < t.rows; r++)
        if (strcmp(csvio_cell(&t, r, kc), "train_images") == 0)
            n = strtoll(csvio_cell(&t, r, vc), NULL, 10);
    csvio_free(&t);
    int64_t b = x->cfg.batch;
    return n > 0 && b > 0 ? (n + b - 1) / b * (int64_t)x->cfg.epochs : 0;
}

/* The weights and statistics of task model file s (path) into x->m. */
static pd_status export_put_weights(pd_export *x, pd_state *s, pd_error *err)
{
    const float *params = state_get(s, "params", PD_DTYPE_F32, model_param_count(x->m), NULL, err);
    const float *bufs = params ? state_get(s, "buffers", PD_DTYPE_F32, model_buffer_count(x->m), NULL, err) : NULL;
    if (!bufs)
        return err ? err->status : PD_ERR_STATE;
    x->be->upload(x->be, model_params(x->m), params, (size_t)model_param_count(x->m) * sizeof(float));
    x->be->upload(x->be, model_buffers(x->m), bufs, (size_t)model_buffer_count(x->m) * sizeof(float));
    return PD_OK;
}

/* The task model of state/task.bin: its shape and architecture from the file, its weights and statistics. */
static pd_status export_load_task(pd_export *x, const char *path, pd_error *err)
{
    pd_state *s;
    PD_TRY(state_load(&s, path, "task", err));
    int64_t arch = -1;
    const int32_t *sh = state_get(s, "shape", PD_DTYPE_I32, 5, NULL, err);
    pd_status st = sh ? state_get_i64(s, "arch", &arch, err) : (err ? err->status : PD_ERR_STATE);
    if (st == PD_OK && (arch < 0 || arch > PD_ARCH_RESNET18 || sh[0] < 1 || sh[1] < 1 || sh[2] < 1 || sh[3] < 1))
        st = error_set(err, PD_ERR_STATE, "%s: arch %lld or shape %dx%dx%d, %d classes out of range (rerun train)",
                       path, (long long)arch, sh[0], sh[1], sh[2], sh[3]);
    if (st == PD_OK) {
        pd_model_spec spec = {.arch = (pd_arch)arch, .in_c = sh[0], .in_h = sh[1], .in_w = sh[2], .classes = sh[3],
                              .width = sh[4], .max_batch = 1, .trainable = 0};
        st = model_create(&x->m, x->be, &spec, err);
    }
    if (st == PD_OK)
        st = export_put_weights(x, s, err);
    state_free(s);
    return st;
}

/* Run r's task model in x->m (collect_mode=independent: state/task-rN.bin beside task.bin, the same shape). */
static pd_status export_use_run(pd_export *x, int32_t run, pd_error *err)
{
    if (run == x->run)
        return PD_OK;
    char name[32], path[PD_PATH_MAX];
    pipeline_run_state_name(run, name, sizeof name);
    PD_TRY(export_state_path(x, name, "collect", path, sizeof path, err));
    pd_state *s;
    PD_TRY(state_load(&s, path, "task", err));
    const int32_t *sh = state_get(s, "shape", PD_DTYPE_I32, 5, NULL, err);
    const pd_model_spec *sp = model_spec(x->m);
    pd_status st = sh ? PD_OK : (err ? err->status : PD_ERR_STATE);
    if (st == PD_OK && (sh[0] != sp->in_c || sh[1] != sp->in_h || sh[2] != sp->in_w || sh[3] != sp->classes))
        st = error_set(err, PD_ERR_STATE, "%s: another shape than state/task.bin's (rerun collect)", path);
    x->run = -1;
    if (st == PD_OK && (st = export_put_weights(x, s, err)) == PD_OK)
        x->run = run;
    state_free(s);
    return st;
}

static pd_status export_open_parts(pd_export *x, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, x->session, "config.csv", err));
    struct stat sb;
    if (stat(path, &sb) != 0)
        return error_set(err, PD_ERR_IO, "%s: not a session folder (no config.csv)", x->session);
    config_defaults(&x->cfg);
    PD_TRY(config_load_session_csv(&x->cfg, path, err));
    x->batches = export_batches(x, path);
    PD_TRY(export_state_path(x, "task", "train", path, sizeof path, err));
    PD_TRY(backend_cpu_create(&x->be, 1, err));
    PD_TRY(export_load_task(x, path, err));
    PD_TRY(target_resolve(&x->target, x->m, x->cfg.target, err));
    PD_TRY(export_state_path(x, "models", "generate", path, sizeof path, err));
    PD_TRY(zoo_load(&x->zoo, path, err));
    PD_TRY(zoo_check_runs(&x->zoo, pipeline_runs_count(&x->cfg), path, err));
    if (x->zoo.d != x->target.d)
        return error_set(err, PD_ERR_STATE,
                         "%s: vectors of %lld numbers, but the target (%s) of the task model has %lld (rerun collect)",
                         path, (long long)x->zoo.d, x->target.names, (long long)x->target.d);
    return PD_OK;
}

pd_status export_open(pd_export **out, const char *session, pd_error *err)
{
    *out = NULL;
    pd_export *x = calloc(1, sizeof *x);
    if (!x)
        return error_set(err, PD_ERR_NOMEM, "export: out of memory");
    zoo_init(&x->zoo, 0, 0);
    pd_status st = path_format(x->session, sizeof x->session, err, "%s", session);
    if (st == PD_OK)
        st = export_open_parts(x, err);
    if (st != PD_OK) {
        export_free(x);
        return st;
    }
    *out = x;
    return PD_OK;
}

void export_free(pd_export *x)
{
    if (!x)
        return;
    zoo_free(&x->zoo);
    target_free(&x->target);
    model_free(x->m);
    backend_destroy(x->be);
    free(x);
}

const pd_zoo *export_zoo(const pd_export *x)
{
    return &x->zoo;
}

/* ------------------------------------------------------------------------------------------------ selection */

/* "original, ensemble, pdiff, ..." : the kinds present, in order of first appearance. */
static void export_kinds(const pd_zoo *z, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < z->n && o < size; i++)
        if (zoo_first_of(z, z->kind[i]) == i)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", z->kind[i]);
}

pd_status export_select(const pd_export *x, const char *kind, const int32_t *ids, int n_ids, int32_t **out,
                        int32_t *n_out, pd_error *err)
{
    const pd_zoo *z = &x->zoo;
    char kinds[256];
    export_kinds(z, kinds, sizeof kinds);
    *out = NULL;
    *n_out = 0;
    for (int i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= z->n)
            return error_set(err, PD_ERR_CONFIG, "--id %d: %s/state/models.bin has models 0..%d", (int)ids[i],
                             x->session, (int)z->n - 1);
        if (kind && strcmp(z->kind[ids[i]], kind) != 0)
            return error_set(err, PD_ERR_CONFIG, "--id %d: model %d is of kind %s, not %s", (int)ids[i], (int)ids[i],
                             z->kind[ids[i]], kind);
    }
    if (!kind)
        kind = "pdiff";
    int32_t n = n_ids > 0 ? n_ids : zoo_ids_of(z, kind, NULL);
    if (n == 0)
        return error_set(err, PD_ERR_CONFIG, "--kind %s: %s/state/models.bin has no model of that kind (kinds: %s)",
                         kind, x->session, kinds);
    if ((*out = malloc((size_t)n * sizeof **out)) == NULL)
        return error_set(err, PD_ERR_NOMEM, "export: out of memory");
    if (n_ids > 0)
        memcpy(*out, ids, (size_t)n * sizeof **out);
    else
        zoo_ids_of(z, kind, *out);
    *n_out = n;
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ safetensors */

pd_status export_default_dir(const char *session, char *buf, size_t size, pd_error *err)
{
    return path_join(buf, size, session, "export", err);
}

/* The model's target vector into the task model of its run (its target tensors). */
static pd_status export_scatter(pd_export *x, int32_t id, pd_error *err)
{
    PD_TRY(export_use_run(x, x->zoo.run[id], err));
    float *vec = backend_alloc_floats(x->be, x->target.d);
    if (!vec)
        return error_set(err, PD_ERR_NOMEM, "export: out of memory");
    x->be->upload(x->be, vec, x->zoo.vectors + (size_t)id * (size_t)x->zoo.d, (size_t)x->target.d * sizeof(float));
    target_scatter(x->be, x->m, &x->target, vec, model_params(x->m));
    x->be->free(x->be, vec);
    return PD_OK;
}

pd_status export_safetensors(pd_export *x, int32_t id, const char *dir, char *path, size_t size, pd_error *err)
{
    if (id < 0 || id >= x->zoo.n)
        return error_set(err, PD_ERR_CONFIG, "export: no model %d (the session has models 0..%d)", (int)id,
                         (int)x->zoo.n - 1);
    char kind[ZOO_KIND_MAX], file[PD_PATH_MAX], sid[16], acc[32], input[48], classes[16], width[16], run[16];
    snprintf(kind, sizeof kind, "%s", x->zoo.kind[id]);
    for (char *c = kind; *c; c++)
        *c = *c == ':' || *c == '/' ? '_' : *c;
    PD_TRY(atomic_mkdirs(dir, err));
    PD_TRY(path_format(file, sizeof file, err, "%s/%s-%d.safetensors", dir, kind, (int)id));
    PD_TRY(export_scatter(x, id, err));
    const pd_model_spec *sp = model_spec(x->m);
    snprintf(sid, sizeof sid, "%d", (int)id);
    snprintf(acc, sizeof acc, "%.9g", x->zoo.accuracy[id]);
    snprintf(input, sizeof input, "%dx%dx%d", sp->in_c, sp->in_h, sp->in_w);
    snprintf(classes, sizeof classes, "%d", sp->classes);
    snprintf(width, sizeof width, "%d", sp->width);
    snprintf(run, sizeof run, "%d", (int)x->zoo.run[id] + 1);
    const char *meta[] = {"pdiff_version", pipeline_version(), "session", x->session, "kind", x->zoo.kind[id],
                          "id", sid, "accuracy", acc, "target", x->target.names, "arch",
                          model_arch_name(sp->arch), "input", input, "classes", classes, "width", width,
                          "format", "pt", "run", run};
    int runs = pipeline_runs_count(&x->cfg) > 1;
    int n_meta = (int)(sizeof meta / sizeof meta[0] / 2) - !runs; /* "run" (1, 2, ...): the independent mode's */
    PD_TRY(model_io_save(x->m, file, x->batches, meta, n_meta, err));
    if (path && size > 0)
        snprintf(path, size, "%s", file);
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ npy */

/* state/collect.bin's vectors [k, d] (d must be the target's) into collected.npy. */
static pd_status export_collected(pd_export *x, const char *dir, pd_error *err)
{
    char path[PD_PATH_MAX], out[PD_PATH_MAX];
    PD_TRY(export_state_path(x, "collect", "collect", path, sizeof path, err));
    PD_TRY(path_join(out, sizeof out, dir, "collected.npy", err));
    float *v;
    int32_t k;
    int64_t d;
    PD_TRY(pipeline_read_collect(path, &v, &k, &d, err));
    pd_status st = PD_OK;
    if (d != x->target.d) /* k >= 1: pipeline_read_collect checked */
        st = error_set(err, PD_ERR_STATE,
                       "%s: %lld vectors of %lld numbers, but the target (%s) has %lld (rerun collect)", path,
                       (long long)k, (long long)d, x->target.names, (long long)x->target.d);
    if (st == PD_OK)
        st = npy_write_f32(out, v, 2, (const int64_t[]){k, d}, err);
    free(v);
    return st;
}

/* The p-diff models' vectors [n, d] into generated.npy. */
static pd_status export_generated(pd_export *x, const char *dir, pd_error *err)
{
    char out[PD_PATH_MAX];
    PD_TRY(path_join(out, sizeof out, dir, "generated.npy", err));
    int32_t n = zoo_ids_of(&x->zoo, "pdiff", NULL);
    int64_t d = x->zoo.d;
    float *v = malloc((size_t)(n > 0 ? n : 1) * (size_t)d * sizeof(float));
    int32_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    pd_status st = v && ids ? PD_OK : error_set(err, PD_ERR_NOMEM, "%s: out of memory", out);
    if (st == PD_OK) {
        zoo_ids_of(&x->zoo, "pdiff", ids);
        for (int32_t i = 0; i < n; i++)
            memcpy(v + (size_t)i * (size_t)d, x->zoo.vectors + (size_t)ids[i] * (size_t)d, (size_t)d * sizeof(float));
        st = npy_write_f32(out, v, 2, (const int64_t[]){n, d}, err);
    }
    free(v);
    free(ids);
    return st;
}

/* target.csv: name, shape, offset (into the vector), count of each target tensor. */
static pd_status export_target_csv(pd_export *x, const char *dir, pd_error *err)
{
    char out[PD_PATH_MAX];
    PD_TRY(path_join(out, sizeof out, dir, "target.csv", err));
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, out, err));
    static const char *const cols[] = {"name", "shape", "offset", "count"};
    for (int i = 0; i < 4; i++)
        csvio_text(w, cols[i]);
    csvio_endrow(w);
    int64_t at = 0;
    for (int i = 0; i < x->target.n; i++) {
        const pd_tensor_info *t = model_tensor(x->m, x->target.tensor[i]);
        char shape[64];
        size_t o = 0;
        shape[0] = '\0';
        for (int k = 0; k < t->ndim && o < sizeof shape; k++)
            o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%d", k ? "x" : "", t->shape[k]);
        csvio_text(w, t->name);
        csvio_text(w, shape);
        csvio_int(w, at);
        csvio_int(w, t->count);
        csvio_endrow(w);
        at += t->count;
    }
    return csvio_commit(w, err);
}

pd_status export_npy(pd_export *x, const char *dir, pd_error *err)
{
    PD_TRY(atomic_mkdirs(dir, err));
    PD_TRY(export_collected(x, dir, err));
    PD_TRY(export_generated(x, dir, err));
    return export_target_csv(x, dir, err);
}
