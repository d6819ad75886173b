/* zoo.c — the evaluated models of a session (see zoo.h). */
#include "zoo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "state.h"

void zoo_init(pd_zoo *z, int64_t d, int32_t n_test)
{
    memset(z, 0, sizeof *z);
    z->d = d;
    z->n_test = n_test;
}

void zoo_free(pd_zoo *z)
{
    if (!z)
        return;
    free(z->kind);
    free(z->accuracy);
    free(z->loss);
    free(z->max_iou);
    free(z->nearest_l2);
    free(z->nearest_id);
    free(z->run);
    free(z->vectors);
    free(z->preds);
    free(z->labels);
    memset(z, 0, sizeof *z);
}

pd_status zoo_set_labels(pd_zoo *z, const int32_t *labels)
{
    free(z->labels);
    z->labels = malloc((size_t)(z->n_test > 0 ? z->n_test : 1));
    if (!z->labels)
        return PD_ERR_NOMEM;
    for (int32_t i = 0; i < z->n_test; i++)
        z->labels[i] = (uint8_t)labels[i];
    return PD_OK;
}

static int zoo_grow(pd_zoo *z, int32_t cap)
{
#define ZOO_REALLOC(field, count)                                            \
    do {                                                                     \
        void *np_ = realloc(z->field, (size_t)(count) * sizeof *z->field);   \
        if (!np_)                                                            \
            return -1;                                                       \
        z->field = np_;                                                      \
    } while (0)
    ZOO_REALLOC(kind, cap);
    ZOO_REALLOC(accuracy, cap);
    ZOO_REALLOC(loss, cap);
    ZOO_REALLOC(max_iou, cap);
    ZOO_REALLOC(nearest_l2, cap);
    ZOO_REALLOC(nearest_id, cap);
    ZOO_REALLOC(run, cap);
    ZOO_REALLOC(vectors, (int64_t)cap * z->d);
    ZOO_REALLOC(preds, (int64_t)cap * z->n_test);
#undef ZOO_REALLOC
    z->cap = cap;
    return 0;
}

int32_t zoo_add(pd_zoo *z, const char *kind, const float *vec, double accuracy, double loss, const uint8_t *pred)
{
    if (z->n == z->cap && zoo_grow(z, z->cap ? 2 * z->cap : 256) != 0)
        return -1;
    int32_t i = z->n++;
    memset(z->kind[i], 0, ZOO_KIND_MAX); /* the bytes after the name are saved too (zoo_save): no heap garbage */
    snprintf(z->kind[i], ZOO_KIND_MAX, "%s", kind);
    z->accuracy[i] = accuracy;
    z->loss[i] = loss;
    z->max_iou[i] = NAN;
    z->nearest_l2[i] = NAN;
    z->nearest_id[i] = -1;
    z->run[i] = 0;
    memcpy(z->vectors + (int64_t)i * z->d, vec, (size_t)z->d * sizeof(float));
    if (pred)
        memcpy(z->preds + (int64_t)i * z->n_test, pred, (size_t)z->n_test);
    else
        memset(z->preds + (int64_t)i * z->n_test, 0, (size_t)z->n_test);
    return i;
}

static int zoo_kind_matches(const char *have, const char *want)
{
    size_t l = strlen(want);
    if (l && want[l - 1] == ':')
        return strncmp(have, want, l) == 0;
    return strcmp(have, want) == 0;
}

int32_t zoo_ids_of(const pd_zoo *z, const char *kind, int32_t *ids)
{
    int32_t n = 0;
    for (int32_t i = 0; i < z->n; i++)
        if (zoo_kind_matches(z->kind[i], kind)) {
            if (ids)
                ids[n] = i;
            n++;
        }
    return n;
}

int32_t zoo_first_of(const pd_zoo *z, const char *kind)
{
    for (int32_t i = 0; i < z->n; i++)
        if (strcmp(z->kind[i], kind) == 0)
            return i;
    return -1;
}

double zoo_disagreement(const pd_zoo *z, int32_t a, int32_t b)
{
    if (a < 0 || a >= z->n || b < 0 || b >= z->n || z->n_test <= 0)
        return NAN;
    const uint8_t *x = z->preds + (int64_t)a * z->n_test, *y = z->preds + (int64_t)b * z->n_test;
    int32_t diff = 0;
    for (int32_t i = 0; i < z->n_test; i++)
        diff += x[i] != y[i];
    return (double)diff / (double)z->n_test;
}

int32_t zoo_accuracies(const pd_zoo *z, const char *kind, double *acc)
{
    int32_t n = 0;
    for (int32_t i = 0; i < z->n; i++)
        if (zoo_kind_matches(z->kind[i], kind)) {
            if (acc)
                acc[n] = z->accuracy[i];
            n++;
        }
    return n;
}

pd_status zoo_write_csv(const pd_zoo *z, const char *path, pd_error *err)
{
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, path, err));
    static const char *const cols[] = {"id",         "kind",       "accuracy",    "loss",
                                       "max_iou",    "nearest_id", "nearest_l2", "disagreement"};
    int32_t ensemble = zoo_first_of(z, "ensemble");
    for (int c = 0; c < 8; c++)
        csvio_text(w, cols[c]);
    csvio_endrow(w);
    for (int32_t i = 0; i < z->n; i++) {
        csvio_int(w, i);
        csvio_text(w, z->kind[i]);
        csvio_num(w, z->accuracy[i]);
        csvio_num(w, z->loss[i]);
        csvio_num(w, z->max_iou[i]);
        if (z->nearest_id[i] >= 0)
            csvio_int(w, z->nearest_id[i]);
        else
            csvio_empty(w);
        csvio_num(w, z->nearest_l2[i]);
        csvio_num(w, zoo_disagreement(z, i, ensemble));
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}

pd_status zoo_save(const pd_zoo *z, const char *path, pd_error *err)
{
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "models", err));
    pd_status st = state_put_i64(w, "n", z->n, err);
    if (st == PD_OK)
        st = state_put_i64(w, "d", z->d, err);
    if (st == PD_OK)
        st = state_put_i64(w, "n_test", z->n_test, err);
    if (st == PD_OK)
        st = state_put(w, "kind", PD_DTYPE_U8, z->kind, (int64_t)z->n * ZOO_KIND_MAX, err);
    if (st == PD_OK)
        st = state_put(w, "accuracy", PD_DTYPE_F64, z->accuracy, z->n, err);
    if (st == PD_OK)
        st = state_put(w, "loss", PD_DTYPE_F64, z->loss, z->n, err);
    if (st == PD_OK)
        st = state_put(w, "max_iou", PD_DTYPE_F64, z->max_iou, z->n, err);
    if (st == PD_OK)
        st = state_put(w, "nearest_l2", PD_DTYPE_F64, z->nearest_l2, z->n, err);
    if (st == PD_OK)
        st = state_put(w, "nearest_id", PD_DTYPE_I32, z->nearest_id, z->n, err);
    int runs = 0;
    for (int32_t i = 0; i < z->n; i++)
        runs |= z->run[i] != 0;
    if (st == PD_OK && runs)
        st = state_put(w, "run", PD_DTYPE_I32, z->run, z->n, err);
    if (st == PD_OK)
        st = state_put(w, "vectors", PD_DTYPE_F32, z->vectors, (int64_t)z->n * z->d, err);
    if (st == PD_OK)
        st = state_put(w, "preds", PD_DTYPE_U8, z->preds, (int64_t)z->n * z->n_test, err);
    if (st == PD_OK && z->labels)
        st = state_put(w, "labels", PD_DTYPE_U8, z->labels, z->n_test, err);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    return state_writer_commit(w, path, err);
}

/* models.bin's sections, each checked against n, d and n_test by state_get. */
typedef struct {
    const void *kind, *acc, *loss, *iou, *l2, *nid, *run, *vec, *pred, *labels;
} zoo_sections;

/* n, d and n_test: in range, and so that every section's size (n * d, n * n_test) is a sane int64. */
static pd_status zoo_load_sizes(const pd_state *s, const char *path, int64_t *n, int64_t *d, int64_t *nt,
                                pd_error *err)
{
    PD_TRY(state_get_i64(s, "n", n, err));
    PD_TRY(state_get_i64(s, "d", d, err));
    PD_TRY(state_get_i64(s, "n_test", nt, err));
    if (*n < 0 || *n > (1 << 24) || *d < 1 || *d > (INT64_C(1) << 40) / (*n > 0 ? *n : 1) || *nt < 0 ||
        *nt > INT32_MAX - 64)
        return error_set(err, PD_ERR_STATE, "%s: implausible sizes (n %lld, d %lld, n_test %lld)", path,
                         (long long)*n, (long long)*d, (long long)*nt);
    return PD_OK;
}

static pd_status zoo_load_sections(const pd_state *s, const char *path, int64_t n, int64_t d, int64_t nt,
                                   zoo_sections *p, pd_error *err)
{
    memset(p, 0, sizeof *p);
    p->kind = state_get(s, "kind", PD_DTYPE_U8, n * ZOO_KIND_MAX, NULL, err);
    p->acc = p->kind ? state_get(s, "accuracy", PD_DTYPE_F64, n, NULL, err) : NULL;
    p->loss = p->acc ? state_get(s, "loss", PD_DTYPE_F64, n, NULL, err) : NULL;
    p->iou = p->loss ? state_get(s, "max_iou", PD_DTYPE_F64, n, NULL, err) : NULL;
    p->l2 = p->iou ? state_get(s, "nearest_l2", PD_DTYPE_F64, n, NULL, err) : NULL;
    p->nid = p->l2 ? state_get(s, "nearest_id", PD_DTYPE_I32, n, NULL, err) : NULL;
    p->vec = p->nid ? state_get(s, "vectors", PD_DTYPE_F32, n * d, NULL, err) : NULL;
    p->pred = p->vec ? state_get(s, "preds", PD_DTYPE_U8, n * nt, NULL, err) : NULL;
    if (!p->pred)
        return err ? err->status : PD_ERR_STATE;
    if (state_has(s, "labels") && !(p->labels = state_get(s, "labels", PD_DTYPE_U8, nt, NULL, err)))
        return err ? err->status : PD_ERR_STATE;
    if (state_has(s, "run") && !(p->run = state_get(s, "run", PD_DTYPE_I32, n, NULL, err)))
        return err ? err->status : PD_ERR_STATE;
    for (int64_t i = 0; p->run && i < n; i++)
        if (((const int32_t *)p->run)[i] < 0)
            return error_set(err, PD_ERR_STATE, "%s: model %lld: run %d is negative", path, (long long)i,
                             (int)((const int32_t *)p->run)[i]);
    const int32_t *nid = p->nid;
    for (int64_t i = 0; i < n; i++) /* an original's id, or -1 until analysed */
        if (nid[i] < -1 || nid[i] >= n)
            return error_set(err, PD_ERR_STATE, "%s: model %lld: nearest_id %d is not a model id", path,
                             (long long)i, (int)nid[i]);
    return PD_OK;
}

/* The zoo from the checked sections (an empty zoo allocates nothing: its arrays stay NULL). */
static pd_status zoo_load_copy(pd_zoo *z, const char *path, int64_t n, int64_t d, int64_t nt, const zoo_sections *p,
                               pd_error *err)
{
    zoo_init(z, d, (int32_t)nt);
    int ok = n == 0 || zoo_grow(z, (int32_t)n) == 0;
    if (ok && p->labels)
        ok = (z->labels = malloc((size_t)nt + 1)) != NULL;
    if (!ok) {
        zoo_free(z);
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    }
    if (p->labels)
        memcpy(z->labels, p->labels, (size_t)nt);
    if (n == 0)
        return PD_OK;
    z->n = (int32_t)n;
    memcpy(z->kind, p->kind, (size_t)n * ZOO_KIND_MAX);
    for (int32_t i = 0; i < z->n; i++)
        z->kind[i][ZOO_KIND_MAX - 1] = '\0';
    memcpy(z->accuracy, p->acc, (size_t)n * sizeof(double));
    memcpy(z->loss, p->loss, (size_t)n * sizeof(double));
    memcpy(z->max_iou, p->iou, (size_t)n * sizeof(double));
    memcpy(z->nearest_l2, p->l2, (size_t)n * sizeof(double));
    memcpy(z->nearest_id, p->nid, (size_t)n * sizeof(int32_t));
    if (p->run)
        memcpy(z->run, p->run, (size_t)n * sizeof(int32_t));
    else
        memset(z->run, 0, (size_t)n * sizeof(int32_t));
    memcpy(z->vectors, p->vec, (size_t)(n * d) * sizeof(float));
    memcpy(z->preds, p->pred, (size_t)(n * nt));
    return PD_OK;
}

pd_status zoo_load(pd_zoo *z, const char *path, pd_error *err)
{
    pd_state *s;
    PD_TRY(state_load(&s, path, "models", err));
    int64_t n = 0, d = 0, nt = 0;
    zoo_sections p;
    pd_status st = zoo_load_sizes(s, path, &n, &d, &nt, err);
    if (st == PD_OK)
        st = zoo_load_sections(s, path, n, d, nt, &p, err);
    if (st == PD_OK)
        st = zoo_load_copy(z, path, n, d, nt, &p, err);
    state_free(s);
    return st;
}

pd_status zoo_check_runs(const pd_zoo *z, int32_t runs, const char *path, pd_error *err)
{
    for (int32_t i = 0; i < z->n; i++)
        if (z->run[i] >= runs)
            return error_set(err, PD_ERR_STATE, "%s: model %d: run %d, but the session's collection has %d run%s",
                             path, (int)i, (int)z->run[i] + 1, (int)runs, runs == 1 ? "" : "s");
    return PD_OK;
}
