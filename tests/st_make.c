/* st_make.c — tests' helper: safetensors checkpoints for init= and checkpoints= (tests/import.sh), written with
 * model_io_save, without a pdiff export.
 *
 *   st_make task TASK.bin OUT.safetensors
 *       the task model of a session's state/task.bin, as it is
 *   st_make series TASK.bin DIR N TENSORS [OTHER I]
 *       N checkpoints DIR/ckpt_000.safetensors .. : the task model with every value of the tensors TENSORS (a comma
 *       list of names) plus i * 0.01 in checkpoint i; with OTHER I, checkpoint I also has tensor OTHER plus 0.5
 *   st_make random ARCH C H W CLASSES OUT.safetensors
 *       a model of ARCH (mlp, convnet, resnet18 of width 4) for C x H x W images, randomly initialised (seed 1)
 *
 * Exit 0 on success, 1 with a message on stderr otherwise (2: usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "model_io.h"
#include "state.h"

typedef struct {
    pd_backend *be;
    pd_model *m;
    float *params; /* host copy of the parameters */
    int64_t np;
} st_model;

static int st_fail(const pd_error *err)
{
    fprintf(stderr, "st_make: %s\n", err->msg);
    return 1;
}

static pd_status st_create(st_model *s, const pd_model_spec *spec, pd_error *err)
{
    PD_TRY(backend_create(&s->be, PD_BACKEND_CPU, 1, err));
    PD_TRY(model_create(&s->m, s->be, spec, err));
    model_init_params(s->m, 1);
    s->np = model_param_count(s->m);
    s->params = malloc((size_t)s->np * sizeof(float));
    if (!s->params)
        return error_set(err, PD_ERR_NOMEM, "out of memory");
    s->be->download(s->be, s->params, model_params(s->m), (size_t)s->np * sizeof(float));
    return PD_OK;
}

static void st_free(st_model *s)
{
    free(s->params);
    model_free(s->m);
    backend_destroy(s->be);
}

/* The model of a task.bin, its parameters and buffers loaded. */
static pd_status st_from_task(st_model *s, const char *path, pd_error *err)
{
    pd_state *st;
    PD_TRY(state_load(&st, path, "task", err));
    int64_t arch = 0;
    const int32_t *sh = state_get(st, "shape", PD_DTYPE_I32, 5, NULL, err);
    pd_status rc = sh ? state_get_i64(st, "arch", &arch, err) : PD_ERR_STATE;
    pd_model_spec spec = {0};
    if (rc == PD_OK) {
        spec = (pd_model_spec){.arch = (pd_arch)arch, .in_c = sh[0], .in_h = sh[1], .in_w = sh[2], .classes = sh[3],
                               .width = sh[4], .max_batch = 1};
        rc = st_create(s, &spec, err);
    }
    int64_t nb = rc == PD_OK ? model_buffer_count(s->m) : 0;
    const float *p = rc == PD_OK ? state_get(st, "params", PD_DTYPE_F32, s->np, NULL, err) : NULL;
    const float *b = p ? state_get(st, "buffers", PD_DTYPE_F32, nb, NULL, err) : NULL;
    if (rc == PD_OK && !b)
        rc = PD_ERR_STATE;
    if (rc == PD_OK) {
        memcpy(s->params, p, (size_t)s->np * sizeof(float));
        s->be->upload(s->be, model_buffers(s->m), b, (size_t)nb * sizeof(float));
    }
    state_free(st);
    return rc;
}

/* Tensor name of s plus delta (on the host copy). */
static pd_status st_shift(st_model *s, const char *name, float delta, pd_error *err)
{
    int i = model_tensor_find(s->m, name);
    if (i < 0)
        return error_set(err, PD_ERR_USAGE, "no tensor %s in the model", name);
    const pd_tensor_info *t = model_tensor(s->m, i);
    for (int64_t j = 0; j < t->count; j++)
        s->params[t->offset + j] += delta;
    return PD_OK;
}

static pd_status st_save(st_model *s, const char *path, pd_error *err)
{
    s->be->upload(s->be, model_params(s->m), s->params, (size_t)s->np * sizeof(float));
    return model_io_save(s->m, path, 0, (const char *const[]){"made_by", "tests/st_make"}, 1, err);
}

/* Checkpoint i of a series: the tensors of list shifted by i * 0.01, other (when i == other_i) by 0.5. */
static pd_status st_series_one(st_model *s, const float *base, const char *list, const char *other, int other_i,
                               int i, const char *dir, pd_error *err)
{
    memcpy(s->params, base, (size_t)s->np * sizeof(float));
    char names[1024], path[4096];
    snprintf(names, sizeof names, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        PD_TRY(st_shift(s, tok, 0.01f * (float)i, err));
    if (other && i == other_i)
        PD_TRY(st_shift(s, other, 0.5f, err));
    snprintf(path, sizeof path, "%s/ckpt_%03d.safetensors", dir, i);
    return st_save(s, path, err);
}

static pd_status st_series(st_model *s, int argc, char **argv, pd_error *err)
{
    int n = atoi(argv[4]);
    const char *other = argc == 8 ? argv[6] : NULL;
    int other_i = argc == 8 ? atoi(argv[7]) : -1;
    float *base = malloc((size_t)s->np * sizeof(float));
    if (!base)
        return error_set(err, PD_ERR_NOMEM, "out of memory");
    memcpy(base, s->params, (size_t)s->np * sizeof(float));
    pd_status st = PD_OK;
    for (int i = 0; i < n && st == PD_OK; i++)
        st = st_series_one(s, base, argv[5], other, other_i, i, argv[3], err);
    free(base);
    return st;
}

static pd_status st_random(st_model *s, char **argv, pd_error *err)
{
    pd_model_spec spec = {.in_c = atoi(argv[3]), .in_h = atoi(argv[4]), .in_w = atoi(argv[5]),
                          .classes = atoi(argv[6]), .width = 4, .max_batch = 1};
    pd_arch arch;
    PD_TRY(model_arch_parse(argv[2], &arch, err));
    spec.arch = arch;
    PD_TRY(st_create(s, &spec, err));
    return st_save(s, argv[7], err);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    int task = strcmp(cmd, "task") == 0 && argc == 4, series = strcmp(cmd, "series") == 0 && (argc == 6 || argc == 8),
        random = strcmp(cmd, "random") == 0 && argc == 8;
    if (!task && !series && !random) {
        fprintf(stderr, "usage: st_make task TASK.bin OUT | series TASK.bin DIR N TENSORS [OTHER I] | "
                        "random ARCH C H W CLASSES OUT\n");
        return 2;
    }
    st_model s = {0};
    pd_error err = {0};
    pd_status st;
    if (random)
        st = st_random(&s, argv, &err);
    else if ((st = st_from_task(&s, argv[2], &err)) == PD_OK)
        st = task ? st_save(&s, argv[3], &err) : st_series(&s, argc, argv, &err);
    st_free(&s);
    return st == PD_OK ? 0 : st_fail(&err);
}
