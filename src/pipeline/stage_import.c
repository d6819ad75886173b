/* stage_import.c — models made elsewhere: init= and checkpoints= (see stage_import.h).
 *
 * A checkpoint folder is listed once per use: its regular files whose names end in ".safetensors" (hidden ones,
 * starting with '.', left out), sorted by strcmp. Every file is read whole and validated (safetensors_read), then
 * loaded with model_io_load's strict names and shapes (a non-finite weight refused). The collect stage's import is fast and keeps no checkpoint: a resumed one simply redoes it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "grow.h"
#include "model_io.h"
#include "path.h"
#include "safetensors.h"
#include "stage_import.h"

#define IMPORT_EXT ".safetensors"

/* ------------------------------------------------------------------------------------------------ the folder */

typedef struct {
    char **names; /* sorted file names (not paths) */
    int64_t n, cap;
} import_list;

static void import_list_free(import_list *l)
{
    for (int64_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int import_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A regular, not hidden, file of dir whose name ends in ".safetensors"? */
static int import_is_checkpoint(DIR *d, const char *name)
{
    size_t n = strlen(name), e = strlen(IMPORT_EXT);
    struct stat sb;
    return name[0] != '.' && n > e && strcmp(name + n - e, IMPORT_EXT) == 0 &&
           fstatat(dirfd(d), name, &sb, 0) == 0 && S_ISREG(sb.st_mode);
}

/* The checkpoint files of dir in name order. */
static pd_status import_list_dir(const char *dir, import_list *l, pd_error *err)
{
    memset(l, 0, sizeof *l);
    DIR *d = opendir(dir);
    if (!d)
        return error_set(err, PD_ERR_CONFIG, "checkpoints=%s: cannot open the folder: %s", dir, strerror(errno));
    pd_status st = PD_OK;
    struct dirent *e;
    while (st == PD_OK && (e = readdir(d)) != NULL) {
        if (!import_is_checkpoint(d, e->d_name))
            continue;
        char **grown = pd_grow(l->names, &l->cap, l->n + 1, sizeof *l->names, 32);
        char *name = grown ? strdup(e->d_name) : NULL;
        if (grown)
            l->names = grown;
        if (!name)
            st = error_set(err, PD_ERR_NOMEM, "checkpoints=%s: out of memory listing the folder", dir);
        else
            l->names[l->n++] = name;
    }
    closedir(d);
    if (st == PD_OK && l->n == 0)
        st = error_set(err, PD_ERR_CONFIG, "checkpoints=%s: no %s files in the folder", dir, IMPORT_EXT);
    if (st != PD_OK) {
        import_list_free(l);
        return st;
    }
    qsort(l->names, (size_t)l->n, sizeof *l->names, import_name_cmp);
    return PD_OK;
}

/* Enough files for k checkpoints? */
static pd_status import_enough(const pd_config *c, const import_list *l, pd_error *err)
{
    if (l->n >= c->k)
        return PD_OK;
    if (l->n < 2)
        return error_set(err, PD_ERR_CONFIG, "checkpoints=%s holds %lld %s file, fewer than k=%d: p-diff needs at "
                         "least 2 checkpoints", c->checkpoints, (long long)l->n, IMPORT_EXT, c->k);
    return error_set(err, PD_ERR_CONFIG, "checkpoints=%s holds %lld %s files, fewer than k=%d (set k=%lld)",
                     c->checkpoints, (long long)l->n, IMPORT_EXT, c->k, (long long)l->n);
}

pd_status stage_import_first(const pd_config *c, char *path, size_t size, pd_error *err)
{
    import_list l;
    PD_TRY(import_list_dir(c->checkpoints, &l, err));
    pd_status st = path_join(path, size, c->checkpoints, l.names[0], err);
    import_list_free(&l);
    return st;
}

/* ------------------------------------------------------------------------------------------------ checks */

/* The stages of mask that pipeline_run will run: from the first one not done (or the first, not resuming) on. */
static unsigned import_stages_run(unsigned mask, int resume, const int64_t *done)
{
    unsigned runs = 0;
    int on = 0;
    for (int s = 0; s < PD_STAGE_COUNT; s++)
        if (mask & (1u << s)) {
            if (!resume || !done[s])
                on = 1;
            if (on)
                runs |= 1u << s;
        }
    return runs;
}

pd_status stage_import_precheck(const pd_pipeline *p, unsigned mask, int resume, const int64_t *done,
                                pd_error *err)
{
    const pd_config *c = &p->cfg;
    if (!c->init[0] && !c->checkpoints[0])
        return PD_OK;
    unsigned runs = import_stages_run(mask, resume, done);
    unsigned early = (1u << PD_STAGE_TRAIN) | (1u << PD_STAGE_COLLECT);
    if (c->init[0] && c->checkpoints[0] && (runs & early))
        return error_set(err, PD_ERR_CONFIG, "init=%s and checkpoints=%s are both set: with checkpoints= the task "
                         "model is the folder's first checkpoint (clear one of them)", c->init, c->checkpoints);
    if (c->init[0] && (runs & (1u << PD_STAGE_TRAIN))) {
        struct stat sb;
        if (stat(c->init, &sb) != 0)
            return error_set(err, PD_ERR_CONFIG, "init=%s: cannot open the file: %s", c->init, strerror(errno));
        if (!S_ISREG(sb.st_mode))
            return error_set(err, PD_ERR_CONFIG, "init=%s: not a file (a safetensors state_dict is expected)",
                             c->init);
    }
    if (c->checkpoints[0] && (runs & early)) {
        import_list l;
        PD_TRY(import_list_dir(c->checkpoints, &l, err));
        pd_status st = runs & (1u << PD_STAGE_COLLECT) ? import_enough(c, &l, err) : PD_OK;
        import_list_free(&l);
        return st;
    }
    return PD_OK;
}

pd_status stage_import_signature(const char *path, int64_t *size, uint32_t *crc, pd_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, PD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char buf[65536];
    uLong c = crc32(0L, Z_NULL, 0);
    int64_t n = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        c = crc32(c, buf, (uInt)got);
        n += (int64_t)got;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return error_set(err, PD_ERR_IO, "%s: read error", path);
    *size = n;
    *crc = (uint32_t)c;
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ loading */

pd_status stage_import_load(pd_pipeline *p, const char *path, pd_error *err)
{
    pd_safetensors f;
    pd_status st = safetensors_read(&f, path, err);
    if (st == PD_OK)
        st = model_io_load(p->task, &f, err);
    safetensors_free(&f);
    return st;
}

/* Load path into the task model (stage_import_load) and copy its parameters and buffers into the host blocks
 * params [param_count] and bufs [buffer_count]. */
static pd_status import_load_host(pd_pipeline *p, const char *path, float *params, float *bufs, pd_error *err)
{
    pd_model *m = p->task;
    PD_TRY(stage_import_load(p, path, err));
    p->be->download(p->be, params, model_params(m), (size_t)model_param_count(m) * sizeof(float));
    p->be->download(p->be, bufs, model_buffers(m), (size_t)model_buffer_count(m) * sizeof(float));
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ collect */

/* The host copies of one collection from checkpoints. */
typedef struct {
    float *ref_params, *ref_bufs; /* the task model's (state/task.bin) */
    float *params, *bufs;         /* the checkpoint's */
    int64_t *differ;              /* [tensors + buffer tensors]: checkpoints in which the tensor differs */
    int64_t files_differ;         /* checkpoints in which one differs */
} import_cmp;

static void import_cmp_free(import_cmp *x)
{
    free(x->ref_params);
    free(x->ref_bufs);
    free(x->params);
    free(x->bufs);
    free(x->differ);
    memset(x, 0, sizeof *x);
}

static pd_status import_cmp_init(pd_pipeline *p, import_cmp *x, pd_error *err)
{
    pd_model *m = p->task;
    size_t np = (size_t)model_param_count(m) + 1, nb = (size_t)model_buffer_count(m) + 1;
    size_t nt = (size_t)model_tensor_count(m) + (size_t)model_buffer_tensor_count(m) + 1;
    *x = (import_cmp){.ref_params = malloc(np * sizeof(float)), .ref_bufs = malloc(nb * sizeof(float)),
                      .params = malloc(np * sizeof(float)), .bufs = malloc(nb * sizeof(float)),
                      .differ = calloc(nt, sizeof(int64_t))};
    if (!x->ref_params || !x->ref_bufs || !x->params || !x->bufs || !x->differ) {
        import_cmp_free(x);
        return error_set(err, PD_ERR_NOMEM, "collect: out of memory reading the checkpoints");
    }
    p->be->download(p->be, x->ref_params, model_params(m), (np - 1) * sizeof(float));
    p->be->download(p->be, x->ref_bufs, model_buffers(m), (nb - 1) * sizeof(float));
    return PD_OK;
}

/* Count the tensors outside the target t that differ from the reference (bit for bit). */
static void import_compare(import_cmp *x, const pd_model *m, const pd_target *t)
{
    int any = 0, nt = model_tensor_count(m), at = 0;
    for (int i = 0; i < nt; i++) {
        if (at < t->n && t->tensor[at] == i) {
            at++;
            continue;
        }
        const pd_tensor_info *ti = model_tensor(m, i);
        if (memcmp(x->params + ti->offset, x->ref_params + ti->offset, (size_t)ti->count * sizeof(float)) != 0)
            x->differ[i]++, any = 1;
    }
    for (int i = 0; i < model_buffer_tensor_count(m); i++) {
        const pd_tensor_info *ti = model_buffer_tensor(m, i);
        if (memcmp(x->bufs + ti->offset, x->ref_bufs + ti->offset, (size_t)ti->count * sizeof(float)) != 0)
            x->differ[nt + i]++, any = 1;
    }
    x->files_differ += any;
}

/* The log line on the first tensor outside the target that differs, and summary.csv's count. */
static void import_report(pd_pipeline *p, const import_cmp *x, int32_t k)
{
    const pd_model *m = p->task;
    int nt = model_tensor_count(m), n = nt + model_buffer_tensor_count(m);
    session_summary_set(p->session, "checkpoints_outside_target_differ", (double)x->files_differ);
    for (int i = 0; i < n; i++)
        if (x->differ[i] > 0) {
            const pd_tensor_info *ti = i < nt ? model_tensor(m, i) : model_buffer_tensor(m, i - nt);
            progress_log(&p->cb, "collect: warning: %s, outside the target, differs from the task model's (the "
                         "first checkpoint, state/task.bin) in %lld of %d checkpoints (%lld of %d differ somewhere "
                         "outside the target): later stages evaluate every vector with the task model's weights "
                         "outside the target", ti->name, (long long)x->differ[i], (int)k,
                         (long long)x->files_differ, (int)k);
            return;
        }
    progress_log(&p->cb, "collect: every tensor outside the target equals the first checkpoint's in all %d", (int)k);
}

/* Checkpoint i (path) into vecs [k, d]: its target tensors, in the target's order; then the comparison. */
static pd_status import_one(pd_pipeline *p, import_cmp *x, const char *path, float *vec, pd_error *err)
{
    const pd_target *t = &p->target;
    PD_TRY(import_load_host(p, path, x->params, x->bufs, err));
    int64_t at = 0;
    for (int j = 0; j < t->n; j++) {
        const pd_tensor_info *ti = model_tensor(p->task, t->tensor[j]);
        memcpy(vec + at, x->params + ti->offset, (size_t)ti->count * sizeof(float));
        at += ti->count;
    }
    import_compare(x, p->task, t);
    return PD_OK;
}

pd_status stage_import_collect(pd_pipeline *p, float *vecs, pd_error *err)
{
    const pd_config *c = &p->cfg;
    int32_t k = c->k;
    import_list l;
    PD_TRY(import_list_dir(c->checkpoints, &l, err));
    import_cmp x = {0};
    pd_status st = import_enough(c, &l, err);
    if (st == PD_OK)
        st = import_cmp_init(p, &x, err);
    if (st == PD_OK)
        progress_log(&p->cb, "collect: %d checkpoints of %lld numbers (%s) from %s: %s .. %s (of %lld files)",
                     (int)k, (long long)p->target.d, p->target.names, c->checkpoints, l.names[0], l.names[k - 1],
                     (long long)l.n);
    if (st == PD_OK && strcmp(c->collect_mode, "trajectory") != 0)
        progress_log(&p->cb, "collect: collect_mode=%s is not used: the checkpoints come from %s", c->collect_mode,
                     c->checkpoints);
    char path[PD_PATH_MAX];
    for (int32_t i = 0; st == PD_OK && i < k; i++) {
        if (progress_cancelled(&p->cb)) {
            st = error_set(err, PD_ERR_CANCELLED, "collect cancelled reading checkpoint %d of %d (resume reads them "
                           "again)", (int)i + 1, (int)k);
            break;
        }
        st = path_join(path, sizeof path, c->checkpoints, l.names[i], err);
        if (st == PD_OK)
            st = import_one(p, &x, path, vecs + (int64_t)i * p->target.d, err);
        progress_report(&p->cb, "collect", i + 1, k);
    }
    if (st == PD_OK)
        import_report(p, &x, k);
    import_cmp_free(&x);
    import_list_free(&l);
    return st;
}
