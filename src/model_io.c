/* model_io.c — task models to and from PyTorch state_dicts in safetensors (see model_io.h). */
#include "model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry of the state_dict: a parameter tensor, a buffer tensor or a BatchNorm's num_batches_tracked. */
enum { MIO_PARAM, MIO_BUFFER, MIO_NBT };
typedef struct {
    int kind;
    int index; /* tensor index (model_tensor / model_buffer_tensor) or, for MIO_NBT, the BatchNorm node */
} mio_entry;

/* The entries in torch's state_dict order: per node (registration order) its parameters, then its buffers, then
 * num_batches_tracked for a BatchNorm. Returns the count; e may be NULL to count. */
static int mio_entries(const pd_model *m, mio_entry *e)
{
    int n = 0, np = model_tensor_count(m), nb = model_buffer_tensor_count(m);
    for (int node = 0; node < model_node_count(m); node++) {
        for (int i = 0; i < np; i++)
            if (model_tensor(m, i)->node == node) {
                if (e)
                    e[n] = (mio_entry){MIO_PARAM, i};
                n++;
            }
        for (int i = 0; i < nb; i++)
            if (model_buffer_tensor(m, i)->node == node) {
                if (e)
                    e[n] = (mio_entry){MIO_BUFFER, i};
                n++;
            }
        if (model_node_is_bn(m, node)) {
            if (e)
                e[n] = (mio_entry){MIO_NBT, node};
            n++;
        }
    }
    return n;
}

static const pd_tensor_info *mio_info(const pd_model *m, const mio_entry *e)
{
    return e->kind == MIO_PARAM ? model_tensor(m, e->index) : e->kind == MIO_BUFFER ? model_buffer_tensor(m, e->index)
                                                                                    : NULL;
}

static const char *mio_name(const pd_model *m, const mio_entry *e, char *buf, size_t size)
{
    if (e->kind == MIO_NBT)
        snprintf(buf, size, "%s.num_batches_tracked", model_node_name(m, e->index));
    else
        snprintf(buf, size, "%s", mio_info(m, e)->name);
    return buf;
}

static pd_status mio_list(const pd_model *m, mio_entry **e, int *n, pd_error *err)
{
    *n = mio_entries(m, NULL);
    *e = malloc((size_t)(*n > 0 ? *n : 1) * sizeof **e);
    if (!*e)
        return error_set(err, PD_ERR_NOMEM, "model_io: out of memory");
    mio_entries(m, *e);
    return PD_OK;
}

int model_io_count(const pd_model *m)
{
    return mio_entries(m, NULL);
}

const char *model_io_name(const pd_model *m, int i, char *buf, size_t size)
{
    mio_entry *e;
    int n;
    if (size > 0)
        buf[0] = '\0';
    if (mio_list(m, &e, &n, NULL) != PD_OK)
        return buf;
    if (i >= 0 && i < n)
        mio_name(m, &e[i], buf, size);
    free(e);
    return buf;
}

/* ------------------------------------------------------------------------------------------------ save */

/* Add every entry of m (host copies of its parameters and buffers) to w. */
static pd_status mio_add_all(pd_model *m, pd_st_writer *w, const float *params, const float *bufs, int64_t nbt,
                             pd_error *err)
{
    mio_entry *e;
    int n;
    PD_TRY(mio_list(m, &e, &n, err));
    pd_status st = PD_OK;
    char name[96];
    for (int i = 0; st == PD_OK && i < n; i++) {
        mio_name(m, &e[i], name, sizeof name);
        if (e[i].kind == MIO_NBT) {
            int64_t scalar = 1; /* shape [] (ndim 0): not read */
            st = safetensors_add(w, name, PD_ST_I64, 0, &scalar, &nbt, err);
            continue;
        }
        const pd_tensor_info *t = mio_info(m, &e[i]);
        int64_t shape[4];
        for (int k = 0; k < t->ndim; k++)
            shape[k] = t->shape[k];
        const float *base = e[i].kind == MIO_PARAM ? params : bufs;
        st = safetensors_add(w, name, PD_ST_F32, t->ndim, shape, base + t->offset, err);
    }
    free(e);
    return st;
}

static pd_status mio_add_meta(pd_st_writer *w, const char *const *kv, int n_meta, pd_error *err)
{
    int has_format = 0;
    for (int i = 0; i < n_meta; i++) {
        has_format |= strcmp(kv[2 * i], "format") == 0;
        PD_TRY(safetensors_meta(w, kv[2 * i], kv[2 * i + 1], err));
    }
    return has_format ? PD_OK : safetensors_meta(w, "format", "pt", err);
}

pd_status model_io_save(pd_model *m, const char *path, int64_t batches_tracked, const char *const *meta_kv,
                        int n_meta, pd_error *err)
{
    pd_backend *be = model_backend(m);
    int64_t np = model_param_count(m), nb = model_buffer_count(m);
    float *params = malloc((size_t)(np > 0 ? np : 1) * sizeof(float));
    float *bufs = malloc((size_t)(nb > 0 ? nb : 1) * sizeof(float));
    pd_st_writer *w = NULL;
    pd_status st = PD_OK;
    if (!params || !bufs) {
        st = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    be->download(be, params, model_params(m), (size_t)np * sizeof(float));
    if (nb > 0)
        be->download(be, bufs, model_buffers(m), (size_t)nb * sizeof(float));
    st = safetensors_writer_create(&w, err);
    if (st == PD_OK)
        st = mio_add_meta(w, meta_kv, n_meta, err);
    if (st == PD_OK)
        st = mio_add_all(m, w, params, bufs, batches_tracked, err);
    if (st == PD_OK) {
        st = safetensors_commit(w, path, err); /* frees w */
        w = NULL;
    }
done:
    safetensors_writer_free(w);
    free(params);
    free(bufs);
    return st;
}

/* ------------------------------------------------------------------------------------------------ load */

static void mio_shape_str(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int k = 0; k < ndim && o < size; k++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", k ? ", " : "", (long long)shape[k]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

/* The file's tensor for entry e: present, of e's shape (num_batches_tracked: one value of any dtype). */
static pd_status mio_check_one(const pd_model *m, const pd_safetensors *f, const mio_entry *e,
                               const pd_st_tensor **out, pd_error *err)
{
    char name[96], want[96], got[96];
    mio_name(m, e, name, sizeof name);
    const pd_tensor_info *t = mio_info(m, e);
    int64_t shape[4] = {0};
    for (int k = 0; t && k < t->ndim; k++)
        shape[k] = t->shape[k];
    mio_shape_str(shape, t ? t->ndim : 0, want, sizeof want);
    const char *arch = model_arch_name(model_spec(m)->arch);
    *out = safetensors_find(f, name);
    if (!*out) {
        if (e->kind == MIO_NBT)
            return PD_OK;
        return error_set(err, PD_ERR_FORMAT, "%s: tensor %s is missing (the %s model needs it, shape %s)", f->path,
                         name, arch, want);
    }
    if (e->kind == MIO_NBT) {
        if (safetensors_numel(*out) != 1)
            return error_set(err, PD_ERR_FORMAT, "%s: tensor %s holds %lld values, expected one (a scalar)", f->path,
                             name, (long long)safetensors_numel(*out));
        return PD_OK;
    }
    int same = (*out)->ndim == t->ndim;
    for (int k = 0; same && k < t->ndim; k++)
        same = (*out)->shape[k] == shape[k];
    if (!same) {
        mio_shape_str((*out)->shape, (*out)->ndim, got, sizeof got);
        return error_set(err, PD_ERR_FORMAT, "%s: tensor %s has shape %s, but the %s model expects %s", f->path, name,
                         got, arch, want);
    }
    return PD_OK;
}

/* A tensor of the file that the model does not have. */
static pd_status mio_check_extra(const pd_model *m, const pd_safetensors *f, const mio_entry *e, int n,
                                 pd_error *err)
{
    char name[96], first[96], last[96];
    for (int i = 0; i < f->n; i++) {
        int known = 0;
        for (int j = 0; !known && j < n; j++)
            known = strcmp(mio_name(m, &e[j], name, sizeof name), f->t[i].name) == 0;
        if (!known && n > 0)
            return error_set(err, PD_ERR_FORMAT,
                             "%s: tensor %s is not part of the %s model (its %d tensors are %s .. %s)", f->path,
                             f->t[i].name, model_arch_name(model_spec(m)->arch), n,
                             mio_name(m, &e[0], first, sizeof first), mio_name(m, &e[n - 1], last, sizeof last));
    }
    return PD_OK;
}

/* Convert entry e's tensor into dst (count floats) and check every value is finite. */
static pd_status mio_read_one(const pd_model *m, const pd_safetensors *f, const mio_entry *e,
                              const pd_st_tensor *t, float *dst, pd_error *err)
{
    PD_TRY(safetensors_get_f32(f, t, dst, err));
    int64_t count = mio_info(m, e)->count;
    for (int64_t i = 0; i < count; i++)
        if (!isfinite(dst[i]))
            return error_set(err, PD_ERR_FORMAT, "%s: tensor %s holds %g at index %lld, not a finite number",
                             f->path, t->name, (double)dst[i], (long long)i);
    return PD_OK;
}

pd_status model_io_load(pd_model *m, const pd_safetensors *f, pd_error *err)
{
    mio_entry *e;
    int n;
    PD_TRY(mio_list(m, &e, &n, err));
    int64_t np = model_param_count(m), nb = model_buffer_count(m);
    float *params = malloc((size_t)(np > 0 ? np : 1) * sizeof(float));
    float *bufs = malloc((size_t)(nb > 0 ? nb : 1) * sizeof(float));
    pd_status st = params && bufs ? PD_OK : error_set(err, PD_ERR_NOMEM, "%s: out of memory", f->path);
    const pd_st_tensor *t;
    for (int i = 0; st == PD_OK && i < n; i++)
        st = mio_check_one(m, f, &e[i], &t, err);
    if (st == PD_OK)
        st = mio_check_extra(m, f, e, n, err);
    for (int i = 0; st == PD_OK && i < n; i++) {
        if (e[i].kind == MIO_NBT)
            continue;
        const pd_tensor_info *info = mio_info(m, &e[i]);
        st = mio_check_one(m, f, &e[i], &t, err);
        if (st == PD_OK)
            st = mio_read_one(m, f, &e[i], t, (e[i].kind == MIO_PARAM ? params : bufs) + info->offset, err);
    }
    if (st == PD_OK) {
        pd_backend *be = model_backend(m);
        be->upload(be, model_params(m), params, (size_t)np * sizeof(float));
        if (nb > 0)
            be->upload(be, model_buffers(m), bufs, (size_t)nb * sizeof(float));
    }
    free(e);
    free(params);
    free(bufs);
    return st;
}
