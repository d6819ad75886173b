/* plan.c — the plan of a run: work, memory and time per stage, measured on this machine (see plan.h).
 *
 * Sizes come from real objects: the task model, the AE and the UNet are built from the configuration on the
 * configured backend, and the memory each one holds is what its creation asks the backend for (counted through a
 * wrapper around be->alloc), at max_batch 1 and 2, extrapolated linearly to the batch the run uses (activations
 * grow with the batch, weights and optimiser state do not), so nothing the size of a real run is allocated.
 * Times come from running a few units of each kind with synthetic inputs of the run's shapes: a unit is timed at a
 * small batch first and at larger ones while that stays cheap (up to the run's own), and the largest timed size is
 * scaled linearly to the run's.
 */
#include "plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ae.h"
#include "backend.h"
#include "blas.h"
#include "dataset.h"
#include "ddpm.h"
#include "devbuf.h"
#include "evaluate.h"
#include "idx.h"
#include "model.h"
#include "path.h"
#include "rng.h"
#include "target.h"
#include "unet.h"

#define PLAN_SAMPLE_CHUNK 256   /* the generate stage's largest sampling batch */
#define PLAN_REP_SECONDS 0.12   /* repeat a unit at one size for about this long */
#define PLAN_ONE_SECONDS 0.5    /* a unit whose first run (warm-up included) takes this long is timed once */
#define PLAN_GROW_SECONDS 0.3   /* time a larger size while one unit there (and its set-up) is predicted under this */

static int32_t plan_min(int64_t a, int64_t b)
{
    return (int32_t)(a < b ? a : b);
}

static double plan_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------------- formatting */

void plan_format_seconds(double s, char *buf, size_t size)
{
    if (!(s >= 0.0) || !isfinite(s))
        snprintf(buf, size, "?");
    else if (s < 1.0)
        snprintf(buf, size, "%.2f s", s);
    else if (s < 10.0)
        snprintf(buf, size, "%.1f s", s);
    else if (s < 100.0)
        snprintf(buf, size, "%.0f s", s);
    else if (s < 6000.0)
        snprintf(buf, size, "%.0f min", s / 60.0);
    else if (s < 48 * 3600.0)
        snprintf(buf, size, "%.1f h", s / 3600.0);
    else
        snprintf(buf, size, "%.1f days", s / 86400.0);
}

void plan_format_bytes(int64_t b, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (b < 1024) {
        snprintf(buf, size, "%lld B", (long long)b);
        return;
    }
    double v = (double)b / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, v < 10.0 ? "%.2f %s" : v < 100.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* ---------------------------------------------------------------------------------------------- the data */

/* Images in a file of fixed-size records (CIFAR); -1 when it cannot be read. */
static int64_t plan_records(const char *dir, const char *name, int64_t record)
{
    char path[PD_PATH_MAX];
    struct stat sb;
    if (path_join(path, sizeof path, dir, name, NULL) != PD_OK || stat(path, &sb) != 0)
        return -1;
    return (int64_t)sb.st_size / record;
}

/* Images in an IDX image file (plain or .gz); -1 when it cannot be read. */
static int64_t plan_idx_count(const char *dir, const char *name)
{
    char path[PD_PATH_MAX];
    int32_t dims[3];
    struct stat sb;
    if (path_join(path, sizeof path, dir, name, NULL) != PD_OK)
        return -1;
    if (stat(path, &sb) != 0 && path_format(path, sizeof path, NULL, "%s/%s.gz", dir, name) != PD_OK)
        return -1;
    return idx_read_dims(path, 3, dims, NULL) == PD_OK ? dims[0] : -1;
}

/* The counts of the files found in dir; 0 when one cannot be read (then the known sizes stay). */
static int plan_data_counts(pd_plan *pl, const char *dir)
{
    int64_t tr = 0, te = 0;
    if (pl->c == 3 && pl->classes == 100) {
        tr = plan_records(dir, "train.bin", 3074);
        te = plan_records(dir, "test.bin", 3074);
    } else if (pl->c == 3) {
        for (int i = 1; i <= 5 && tr >= 0; i++) {
            char name[32];
            snprintf(name, sizeof name, "data_batch_%d.bin", i);
            int64_t n = plan_records(dir, name, 3073);
            tr = n < 0 ? -1 : tr + n;
        }
        te = plan_records(dir, "test_batch.bin", 3073);
    } else {
        tr = plan_idx_count(dir, "train-images-idx3-ubyte");
        te = plan_idx_count(dir, "t10k-images-idx3-ubyte");
    }
    if (tr <= 0 || te <= 0 || tr > INT32_MAX || te > INT32_MAX)
        return 0;
    pl->n_train = (int32_t)tr;
    pl->n_test = (int32_t)te;
    return 1;
}

/* The data set's shape and sizes: from its files when they are there, else the named set's known sizes. */
static void plan_data(pd_plan *pl, const pd_config *cfg)
{
    int cifar = strncmp(cfg->dataset, "cifar", 5) == 0;
    pl->c = cifar ? 3 : 1;
    pl->h = pl->w = cifar ? 32 : 28;
    pl->classes = strcmp(cfg->dataset, "cifar100") == 0 ? 100 : 10;
    pl->n_train = cifar ? 50000 : 60000;
    pl->n_test = 10000;
    char dir[PD_PATH_MAX] = "";
    pd_error derr = {0};
    pl->data_found = dataset_locate(cfg->dataset, cfg->data_dir, dir, sizeof dir, &derr) == PD_OK;
    if (pl->data_found) {
        int32_t c, h, w, classes;
        pl->data_found = dataset_probe(cfg->dataset, cfg->data_dir, &c, &h, &w, &classes, &derr) == PD_OK;
        if (pl->data_found) {
            pl->c = c, pl->h = h, pl->w = w, pl->classes = classes;
            if (!plan_data_counts(pl, dir))
                snprintf(derr.msg, sizeof derr.msg, "%s: could not count the images; assumed %d + %d", dir,
                         pl->n_train, pl->n_test);
        }
    }
    if (!pl->data_found)
        snprintf(pl->data_note, sizeof pl->data_note, "data set files missing (sizes assumed): %s", derr.msg);
    else
        snprintf(pl->data_note, sizeof pl->data_note, "%s", derr.msg);
    pl->data_bytes = ((int64_t)pl->n_train + pl->n_test) * ((int64_t)pl->c * pl->h * pl->w + (int64_t)sizeof(int32_t));
}

/* ---------------------------------------------------------------------------------------------- objects and bytes */

/* What a creation asks the backend for: be->alloc is wrapped while it runs (per thread, so that two plans in two
 * threads, each on its own backend, count apart). */
static _Thread_local int64_t plan_counted;
static _Thread_local void *(*plan_alloc_real)(pd_backend *, size_t);

static void *plan_alloc_counting(pd_backend *be, size_t bytes)
{
    void *p = plan_alloc_real(be, bytes);
    if (p)
        plan_counted += (int64_t)bytes;
    return p;
}

typedef struct {
    const pd_config *cfg;
    const pd_callbacks *cb;
    pd_backend *be;
    pd_model_spec spec;    /* the task model (max_batch and trainable set per use) */
    pd_model *probe;       /* the task model at batch 1, for the target */
    int32_t eval_batch;    /* the pipeline's evaluation batch for this model (evaluator_batch) */
    pd_target target;
    pd_ae_geometry aeg;
    pd_unet_geometry ug;
    pd_plan *pl;
} plan_env;

enum { PLAN_OBJ_TASK, PLAN_OBJ_TASK_EVAL, PLAN_OBJ_EVALUATOR, PLAN_OBJ_AE, PLAN_OBJ_AE_EVAL, PLAN_OBJ_UNET,
       PLAN_OBJ_UNET_TRAIN };

/* A synthetic split of n images of the data set's shape (random bytes and labels). */
static pd_status plan_split(const plan_env *e, int32_t n, pd_split *s, pd_error *err)
{
    const pd_plan *pl = e->pl;
    memset(s, 0, sizeof *s);
    s->n = n, s->c = pl->c, s->h = pl->h, s->w = pl->w;
    size_t img = (size_t)pl->c * pl->h * pl->w;
    s->pixels = malloc((size_t)n * img);
    s->labels = malloc((size_t)n * sizeof *s->labels);
    if (!s->pixels || !s->labels) {
        free(s->pixels);
        free(s->labels);
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for %d synthetic images", n);
    }
    for (size_t i = 0; i < (size_t)n * img; i++)
        s->pixels[i] = (uint8_t)(rng_hash(17, i) & 0xff);
    for (int32_t i = 0; i < n; i++)
        s->labels[i] = (int32_t)(rng_hash(19, (uint64_t)i) % (uint64_t)pl->classes);
    for (int ch = 0; ch < 3; ch++)
        s->mean[ch] = 0.5f, s->std[ch] = 0.25f;
    return PD_OK;
}

static void plan_split_free(pd_split *s)
{
    free(s->pixels);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* Create (and free) one object of a kind at max_batch n; *bytes: what it asked the backend for. */
static pd_status plan_object_bytes(plan_env *e, int kind, int32_t n, int64_t *bytes, pd_error *err)
{
    pd_backend *be = e->be;
    pd_model_spec sp = e->spec;
    sp.max_batch = n;
    sp.trainable = kind == PLAN_OBJ_TASK;
    pd_split split = {0};
    if (kind == PLAN_OBJ_EVALUATOR)
        PD_TRY(plan_split(e, n, &split, err));
    plan_alloc_real = be->alloc;
    be->alloc = plan_alloc_counting;
    plan_counted = 0;
    pd_status st = PD_OK;
    if (kind == PLAN_OBJ_TASK || kind == PLAN_OBJ_TASK_EVAL) {
        pd_model *m;
        if ((st = model_create(&m, be, &sp, err)) == PD_OK)
            model_free(m);
    } else if (kind == PLAN_OBJ_EVALUATOR) {
        pd_evaluator *ev;
        if ((st = evaluator_create(&ev, e->probe, &e->target, &split, 1, NULL, err)) == PD_OK)
            evaluator_free(ev);
    } else if (kind == PLAN_OBJ_AE || kind == PLAN_OBJ_AE_EVAL) {
        pd_ae *ae;
        if ((st = ae_create(&ae, be, &e->aeg, n, kind == PLAN_OBJ_AE, err)) == PD_OK)
            ae_free(ae);
    } else {
        pd_unet *u = NULL;
        pd_ddpm_schedule sched = {0};
        pd_ddpm_trainer *tr = NULL;
        st = unet_create(&u, be, &e->ug, n, kind == PLAN_OBJ_UNET_TRAIN, err);
        if (st == PD_OK && kind == PLAN_OBJ_UNET_TRAIN) {
            st = ddpm_schedule_init(&sched, be, e->ug.timesteps, e->cfg->beta_start, e->cfg->beta_end, err);
            if (st == PD_OK)
                st = ddpm_trainer_create(&tr, u, &sched, n, err);
            ddpm_trainer_free(tr);
            if (sched.T)
                ddpm_schedule_free(&sched);
        }
        unet_free(u);
    }
    be->alloc = plan_alloc_real;
    *bytes = plan_counted;
    plan_split_free(&split);
    return st;
}

/* The bytes of an object at max_batch n, from its sizes at 1 and 2 (activations grow linearly with the batch). */
static pd_status plan_object_at(plan_env *e, int kind, int64_t n, int64_t *bytes, pd_error *err)
{
    int64_t b1, b2;
    PD_TRY(plan_object_bytes(e, kind, 1, &b1, err));
    PD_TRY(plan_object_bytes(e, kind, 2, &b2, err));
    *bytes = b1 + (b2 - b1) * (n - 1);
    return PD_OK;
}

/* ---------------------------------------------------------------------------------------------- timed units */

/* The kinds of timed unit: a training step, a collection iteration, the evaluator's prefix (the layers before the
 * target, run once over the test set) and suffix (the rest, run for every model) on one evaluation batch, one
 * model's evaluation by the real evaluator on n images (set up with its prefix), an AE step, a UNet step, a
 * sampling step. */
enum { PLAN_W_TRAIN, PLAN_W_COLLECT, PLAN_W_PREFIX, PLAN_W_SUFFIX, PLAN_W_EVAL, PLAN_W_AE, PLAN_W_DDPM, PLAN_W_SAMPLE };

/* One kind of unit set up at batch n: the objects and synthetic inputs it runs on. */
typedef struct {
    plan_env *e;
    int kind;
    int32_t n;
    pd_devbuf bufs;
    pd_split split;
    int32_t *idx;
    float *x_host, *x, *dlogits, *loss, *vec;
    int32_t *y_host, *y, *t;
    pd_model *m;
    int cut;
    pd_evaluator *ev;
    float *vec_host;
    double setup_seconds; /* eval: the evaluator's creation (its prefix over the n images) */
    pd_ae *ae;
    pd_unet *u;
    pd_ddpm_schedule sched;
    pd_ddpm_trainer *tr;
    int64_t step;
} plan_work;

static void plan_work_free(plan_work *w)
{
    evaluator_free(w->ev);
    free(w->vec_host);
    model_free(w->m);
    ae_free(w->ae);
    if (w->u)
        unet_freeze(w->u, 0);
    ddpm_trainer_free(w->tr);
    if (w->sched.T)
        ddpm_schedule_free(&w->sched);
    unet_free(w->u);
    devbuf_free(&w->bufs);
    plan_split_free(&w->split);
    free(w->idx);
    free(w->x_host);
    free(w->y_host);
    plan_env *e = w->e;
    memset(w, 0, sizeof *w);
    w->e = e;
}

/* The real evaluator over the n synthetic images, with a target vector to evaluate. */
static pd_status plan_work_evaluator(plan_work *w, pd_error *err)
{
    plan_env *e = w->e;
    w->vec_host = malloc((size_t)e->target.d * sizeof(float));
    if (!w->vec_host)
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a vector of %lld", (long long)e->target.d);
    e->be->download(e->be, w->vec_host, w->vec, (size_t)e->target.d * sizeof(float));
    double t0 = plan_now();
    PD_TRY(evaluator_create(&w->ev, w->m, &e->target, &w->split, plan_min(w->n, e->eval_batch), e->cb, err));
    e->be->synchronize(e->be);
    w->setup_seconds = plan_now() - t0;
    return PD_OK;
}

/* The task model with a batch of n inputs: images gathered from a synthetic split (train, collect), random images
 * (prefix) or random activations at the cut with a target vector loaded (suffix). */
static pd_status plan_work_task(plan_work *w, pd_error *err)
{
    plan_env *e = w->e;
    pd_backend *be = e->be;
    int data = w->kind == PLAN_W_TRAIN || w->kind == PLAN_W_COLLECT || w->kind == PLAN_W_EVAL;
    pd_model_spec sp = e->spec;
    sp.max_batch = w->n;
    sp.trainable = data && w->kind != PLAN_W_EVAL;
    PD_TRY(model_create(&w->m, be, &sp, err));
    model_init_params(w->m, 7);
    w->cut = model_cut_before(w->m, e->target.first_node);
    int32_t c = sp.in_c, h = sp.in_h, wd = sp.in_w;
    if (w->kind == PLAN_W_SUFFIX && w->cut > 0)
        model_node_shape(w->m, w->cut - 1, &c, &h, &wd);
    int64_t img = (int64_t)c * h * wd;
    w->x = devbuf_floats(&w->bufs, (int64_t)w->n * img);
    w->y = devbuf_ints(&w->bufs, w->n);
    w->dlogits = devbuf_floats(&w->bufs, (int64_t)w->n * sp.classes);
    w->loss = devbuf_floats(&w->bufs, 1);
    w->vec = devbuf_floats(&w->bufs, e->target.d);
    if (devbuf_failed(&w->bufs))
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a batch of %d", w->n);
    be->randn(be, w->x, (int64_t)w->n * img, 11, 0);
    be->randn(be, w->vec, e->target.d, 13, 0);
    if (!data)
        return PD_OK;
    PD_TRY(plan_split(e, w->n, &w->split, err));
    if (w->kind == PLAN_W_EVAL)
        return plan_work_evaluator(w, err);
    w->idx = malloc((size_t)w->n * sizeof *w->idx);
    w->x_host = malloc((size_t)w->n * (size_t)img * sizeof(float));
    w->y_host = malloc((size_t)w->n * sizeof(int32_t));
    if (!w->idx || !w->x_host || !w->y_host)
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a batch of %d", w->n);
    for (int32_t i = 0; i < w->n; i++)
        w->idx[i] = i;
    return PD_OK;
}

/* The AE (trainable) or the UNet (trainable with its trainer, or frozen for sampling) with n synthetic inputs. */
static pd_status plan_work_nets(plan_work *w, pd_error *err)
{
    plan_env *e = w->e;
    pd_backend *be = e->be;
    if (w->kind == PLAN_W_AE) {
        PD_TRY(ae_create(&w->ae, be, &e->aeg, w->n, 1, err));
        ae_init_params(w->ae, 3);
        w->x = devbuf_floats(&w->bufs, (int64_t)w->n * e->aeg.d);
        if (devbuf_failed(&w->bufs))
            return error_set(err, PD_ERR_NOMEM, "plan: out of memory for an AE batch of %d", w->n);
        be->randn(be, w->x, (int64_t)w->n * e->aeg.d, 9, 0);
        return PD_OK;
    }
    PD_TRY(unet_create(&w->u, be, &e->ug, w->n, w->kind == PLAN_W_DDPM, err));
    unet_init_params(w->u, 3);
    PD_TRY(ddpm_schedule_init(&w->sched, be, e->ug.timesteps, e->cfg->beta_start, e->cfg->beta_end, err));
    if (w->kind == PLAN_W_DDPM)
        PD_TRY(ddpm_trainer_create(&w->tr, w->u, &w->sched, w->n, err));
    w->x = devbuf_floats(&w->bufs, (int64_t)w->n * e->ug.length);
    w->t = devbuf_ints(&w->bufs, w->n);
    if (devbuf_failed(&w->bufs))
        return error_set(err, PD_ERR_NOMEM, "plan: out of memory for a UNet batch of %d", w->n);
    be->randn(be, w->x, (int64_t)w->n * e->ug.length, 4, 0);
    be->tanh_forward(be, w->x, w->x, (int64_t)w->n * e->ug.length);
    if (w->kind == PLAN_W_SAMPLE)
        unet_freeze(w->u, 1);
    return PD_OK;
}

static pd_status plan_work_setup(plan_work *w, int kind, int32_t n, pd_error *err)
{
    plan_work_free(w);
    w->kind = kind;
    w->n = n;
    devbuf_init(&w->bufs, w->e->be);
    pd_status st = kind <= PLAN_W_EVAL ? plan_work_task(w, err) : plan_work_nets(w, err);
    if (st != PD_OK)
        plan_work_free(w);
    return st;
}

/* A training step (train) or a collection iteration (collect: frozen BatchNorm, the prefix forward only, the
 * backward down to the cut) on one batch, with the batch gathered from the bytes and uploaded as the stages do. */
static void plan_step_task(plan_work *w)
{
    pd_backend *be = w->e->be;
    pd_model *m = w->m;
    int32_t n = w->n, classes = w->e->spec.classes;
    int collect = w->kind == PLAN_W_COLLECT;
    dataset_batch(&w->split, w->idx, n, w->x_host, w->y_host);
    be->upload(be, w->x, w->x_host, (size_t)n * (size_t)(w->split.c * w->split.h * w->split.w) * sizeof(float));
    be->upload(be, w->y, w->y_host, (size_t)n * sizeof(int32_t));
    int from = collect ? w->cut : 0;
    const float *h = collect && w->cut > 0 ? model_forward_range(m, w->x, n, 0, 0, w->cut) : w->x;
    const float *logits = model_forward(m, h, n, !collect, from);
    be->softmax_xent(be, w->loss, NULL, w->dlogits, logits, w->y, n, classes);
    int64_t np = model_param_count(m);
    be->fill(be, model_grads(m), np, 0.0f);
    model_backward(m, w->dlogits, n, !collect, from);
    if (!collect)
        be->sgd_step(be, model_params(m), model_grads(m), model_momentum(m), np, 0.01f, 0.9f, 5e-4f);
}

/* The evaluator's work on one batch: the prefix (eval mode, up to the cut) or one model's suffix (its target loaded,
 * the rest of the network, loss and predictions). */
static void plan_step_eval(plan_work *w)
{
    pd_backend *be = w->e->be;
    if (w->kind == PLAN_W_PREFIX) {
        if (w->cut > 0)
            model_forward_range(w->m, w->x, w->n, 0, 0, w->cut);
        return;
    }
    target_scatter(be, w->m, &w->e->target, w->vec, model_params(w->m));
    const float *logits = model_forward(w->m, w->x, w->n, 0, w->cut);
    be->softmax_xent(be, w->loss, NULL, NULL, logits, w->y, w->n, w->e->spec.classes);
    be->argmax(be, w->y, logits, w->n, w->e->spec.classes);
}

/* One sampling step: the frozen UNet's forward and the reverse update. */
static void plan_step_sample(plan_work *w)
{
    pd_backend *be = w->e->be;
    int32_t T = w->e->ug.timesteps, t = T / 2;
    int32_t *th = malloc((size_t)w->n * sizeof *th);
    if (th) {
        for (int32_t i = 0; i < w->n; i++)
            th[i] = t;
        be->upload(be, w->t, th, (size_t)w->n * sizeof *th);
        free(th);
    }
    const float *eps = unet_forward(w->u, w->x, w->t, w->n);
    pd_ddpm_coefs k = ddpm_step_coefs(&w->sched, PD_SAMPLER_DDPM, t, t - 1);
    int64_t n = (int64_t)w->n * w->e->ug.length;
    be->diffusion_step(be, w->x, eps, n, k.ca, k.cb, k.c1, k.c2, k.sigma, 5, 0);
    be->clamp_forward(be, w->x, w->x, -1.0f, 1.0f, n);
}

static void plan_step(plan_work *w)
{
    const pd_config *c = w->e->cfg;
    switch (w->kind) {
    case PLAN_W_TRAIN:
    case PLAN_W_COLLECT:
        plan_step_task(w);
        break;
    case PLAN_W_PREFIX:
    case PLAN_W_SUFFIX:
        plan_step_eval(w);
        break;
    case PLAN_W_EVAL: {
        double acc, loss;
        evaluator_run(w->ev, w->vec_host, &acc, &loss, NULL, NULL);
        break;
    }
    case PLAN_W_AE: {
        pd_ae_train_opts o = {.input_noise = (float)c->input_noise, .latent_noise = (float)c->latent_noise,
                              .lr = (float)c->ae_lr, .weight_decay = (float)c->ae_weight_decay, .seed = 5};
        ae_train_step(w->ae, w->x, w->n, &o, ++w->step);
        break;
    }
    case PLAN_W_DDPM: {
        pd_ddpm_train_opts o = {.lr = (float)c->ddpm_lr, .weight_decay = (float)c->ddpm_weight_decay, .seed = 5};
        ddpm_train_step(w->tr, w->x, w->n, &o, ++w->step);
        break;
    }
    default:
        plan_step_sample(w);
        break;
    }
    w->e->be->synchronize(w->e->be);
}

/* Seconds of one unit at the current size: the first run warms up (scratch, packed weights); unless it was slow,
 * the unit is repeated (at least once, for about PLAN_REP_SECONDS) and the mean of the repetitions is taken. */
static double plan_time_unit(plan_work *w)
{
    double t0 = plan_now();
    plan_step(w);
    double first = plan_now() - t0;
    if (first >= PLAN_ONE_SECONDS)
        return first;
    int reps = 0;
    double t1 = plan_now(), t;
    do {
        plan_step(w);
        reps++;
        t = plan_now() - t1;
    } while (t < PLAN_REP_SECONDS && reps < 50);
    return t / reps;
}

/* Seconds of one unit of kind at batch `full` (and, for eval, of its set-up: *once), timed at `start` and at sizes
 * 8 times larger while one unit there (with its set-up) is predicted to take under PLAN_GROW_SECONDS, then scaled
 * linearly from the largest size timed. */
static pd_status plan_measure(plan_env *e, int kind, int32_t start, int32_t full, double *unit, double *once,
                              pd_error *err)
{
    plan_work w = {.e = e};
    int32_t n = start < full ? start : full;
    if (n < 1)
        n = 1;
    double sec = 0.0, setup = 0.0;
    for (;;) {
        PD_TRY(plan_work_setup(&w, kind, n, err));
        sec = plan_time_unit(&w);
        setup = w.setup_seconds;
        if (progress_cancelled(e->cb)) {
            plan_work_free(&w);
            return error_set(err, PD_ERR_CANCELLED, "plan: cancelled");
        }
        int32_t next = (int64_t)n * 8 < full ? n * 8 : full;
        if (n == full || (sec + setup) * next / n > PLAN_GROW_SECONDS)
            break;
        n = next;
    }
    plan_work_free(&w);
    *unit = sec * full / n;
    if (once)
        *once = setup * full / n;
    return PD_OK;
}

/* One model's evaluation over the test set and the evaluator's prefix: the real evaluator timed on as many test
 * images as is cheap, and the prefix and suffix timed on evaluation batches; each way overestimates where it
 * scales a small size (fixed costs grow with it), so the smaller estimate is taken. */
static pd_status plan_measure_eval(plan_env *e, double *per_model, double *prefix, pd_error *err)
{
    const pd_plan *pl = e->pl;
    int32_t eb = plan_min(e->eval_batch, pl->n_test);
    double ev_model, ev_prefix, t_prefix, t_suffix;
    PD_TRY(plan_measure(e, PLAN_W_EVAL, 8, pl->n_test, &ev_model, &ev_prefix, err));
    PD_TRY(plan_measure(e, PLAN_W_PREFIX, 8, eb, &t_prefix, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_SUFFIX, 8, eb, &t_suffix, NULL, err));
    t_prefix *= (double)pl->n_test / eb;
    t_suffix *= (double)pl->n_test / eb;
    *per_model = ev_model < t_suffix ? ev_model : t_suffix;
    *prefix = ev_prefix < t_prefix ? ev_prefix : t_prefix;
    return PD_OK;
}

/* ---------------------------------------------------------------------------------------------- the networks */

/* "1,234,567" */
static const char *plan_count(int64_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* The AE geometry and the UNet geometry the ae and ddpm stages build for this configuration (stage_ae_geometry,
 * stage_unet_geometry). */
static pd_status plan_geometries(plan_env *e, pd_error *err)
{
    const pd_config *c = e->cfg;
    int64_t d = e->target.d;
    if (strcmp(c->ae, "small") == 0) {
        e->aeg = ae_geometry_small((int32_t)d);
    } else if (strcmp(c->ae, "medium") == 0) {
        e->aeg = ae_geometry_medium((int32_t)d);
    } else {
        double enc[4], dec[4];
        if (config_parse_list(c->ae_enc, enc, 4) != 4 || config_parse_list(c->ae_dec, dec, 4) != 4)
            return error_set(err, PD_ERR_CONFIG, "ae_enc/ae_dec: need 4 channel counts each");
        e->aeg.d = (int32_t)d;
        e->aeg.fold = c->ae_fold;
        e->aeg.kernel = c->ae_kernel;
        for (int i = 0; i < 4; i++) {
            e->aeg.enc[i] = (int32_t)enc[i];
            e->aeg.dec[i] = (int32_t)dec[i];
        }
    }
    PD_TRY(ae_geometry_check(&e->aeg, err));
    double ch[4];
    if (config_parse_list(c->ddpm_channels, ch, 4) != 4)
        return error_set(err, PD_ERR_CONFIG, "ddpm_channels: need 4 channel counts, got '%s'", c->ddpm_channels);
    for (int i = 0; i < 4; i++)
        e->ug.channels[i] = (int32_t)ch[i];
    e->ug.timesteps = c->timesteps;
    return PD_OK;
}

/* The task model (its parameters, the target in it), the AE and the UNet: sizes from the real objects. */
static pd_status plan_networks(plan_env *e, pd_error *err)
{
    pd_plan *pl = e->pl;
    const pd_config *c = e->cfg;
    e->spec = (pd_model_spec){.in_c = pl->c, .in_h = pl->h, .in_w = pl->w, .classes = pl->classes,
                              .width = c->width, .max_batch = 1};
    PD_TRY(model_arch_parse(c->arch, &e->spec.arch, err));
    PD_TRY(model_create(&e->probe, e->be, &e->spec, err));
    model_init_params(e->probe, 7);
    pl->task_params = model_param_count(e->probe);
    e->eval_batch = evaluator_batch(model_sample_floats(e->probe), c->batch);
    PD_TRY(target_resolve(&e->target, e->probe, c->target, err));
    pl->target_d = e->target.d;
    pl->target_tensors = e->target.n;
    PD_TRY(plan_geometries(e, err));
    pd_ae *ae;
    PD_TRY(ae_create(&ae, e->be, &e->aeg, 1, 0, err));
    pl->ae_params = ae_param_count(ae);
    pl->latent = (int32_t)ae_latent_size(ae);
    ae_free(ae);
    e->ug.length = pl->latent;
    pd_unet *u;
    PD_TRY(unet_create(&u, e->be, &e->ug, 1, 0, err));
    pl->unet_params = unet_param_count(u);
    unet_free(u);
    return PD_OK;
}

/* ---------------------------------------------------------------------------------------------- the work */

static void plan_counts(pd_plan *pl, const pd_config *c)
{
    int32_t k = c->k;
    pl->train_batch = c->batch;
    pl->steps_per_epoch = (pl->n_train + (int64_t)c->batch - 1) / c->batch;
    pl->train_steps = pl->steps_per_epoch * c->epochs;
    if (strcmp(c->collect_mode, "independent") == 0) {
        /* R runs: run 0 is the train stage's model, each other one is trained afresh as the train stage does; each
         * gives its share of K, spaced by save_every or spread over k_span iterations */
        pl->collect_runs = c->collect_runs - 1;
        pl->collect_iters = c->k_span > 0 ? (int64_t)c->collect_runs * c->k_span : (int64_t)k * c->save_every;
    } else {
        pl->collect_iters = c->k_span > 0 ? c->k_span : (int64_t)k * c->save_every;
    }
    pl->ae_batch = plan_min(c->ae_batch, k);
    pl->ddpm_batch = plan_min(c->ddpm_batch, k);
    pl->sample_steps = strcmp(c->sampler, "ddim") == 0 ? ddpm_ddim_timesteps(c->timesteps, c->ddim_steps, NULL)
                                                         : c->timesteps;
    pl->sample_batch = plan_min(c->n_generate, PLAN_SAMPLE_CHUNK);
    pl->sample_chunks = (c->n_generate + PLAN_SAMPLE_CHUNK - 1) / PLAN_SAMPLE_CHUNK;
    pl->eval_generate = k + 1 + plan_min(c->n_recon, k) + c->n_generate;
    double sig[16];
    int ns = config_parse_list(c->noise_sigmas, sig, 16);
    int32_t nft = c->finetune_steps > 0 ? plan_min(c->n_finetune, k) : 0;
    pl->eval_analyze = (ns > 0 ? ns : 0) * c->n_noise + nft + PLAN_ANALYZE_AVERAGED + PLAN_ANALYZE_GAUSSIAN;
    pl->finetune_iters = (int64_t)nft * c->finetune_steps;
}

static void plan_work_text(pd_plan *pl, const pd_config *c)
{
    char a[32], b[32], d[32], e[32];
    pd_plan_stage *s = pl->stage;
    snprintf(s[PD_STAGE_TRAIN].work, sizeof s->work, "%d epoch%s x %s = %s SGD steps, batch %d; %s parameters",
             c->epochs, c->epochs == 1 ? "" : "s", plan_count(pl->steps_per_epoch, a, sizeof a), plan_count(pl->train_steps, b, sizeof b),
             pl->train_batch, plan_count(pl->task_params, d, sizeof d));
    if (pl->collect_runs > 0)
        snprintf(s[PD_STAGE_COLLECT].work, sizeof s->work,
                 "%lld more training runs of %s steps, %s iterations for K = %d; D = %s",
                 (long long)pl->collect_runs, plan_count(pl->train_steps, a, sizeof a),
                 plan_count(pl->collect_iters, b, sizeof b), c->k, plan_count(pl->target_d, d, sizeof d));
    else
        snprintf(s[PD_STAGE_COLLECT].work, sizeof s->work, "%s iterations for K = %d checkpoints, batch %d; D = %s",
                 plan_count(pl->collect_iters, b, sizeof b), c->k, plan_min(c->batch, pl->n_train),
                 plan_count(pl->target_d, d, sizeof d));
    snprintf(s[PD_STAGE_AE].work, sizeof s->work, "%s AdamW steps, batch %d; %s AE, %s parameters, latent %d",
             plan_count(c->ae_steps, a, sizeof a), pl->ae_batch, c->ae, plan_count(pl->ae_params, b, sizeof b),
             pl->latent);
    snprintf(s[PD_STAGE_DDPM].work, sizeof s->work, "%s AdamW steps, batch %d; UNet %s, %s parameters, T = %d",
             plan_count(c->ddpm_steps, a, sizeof a), pl->ddpm_batch, c->ddpm_channels,
             plan_count(pl->unet_params, b, sizeof b), c->timesteps);
    snprintf(s[PD_STAGE_GENERATE].work, sizeof s->work, "%d samples x %lld %s steps; %s models evaluated on %s images",
             c->n_generate, (long long)pl->sample_steps, c->sampler, plan_count(pl->eval_generate, a, sizeof a),
             plan_count(pl->n_test, e, sizeof e));
    snprintf(s[PD_STAGE_ANALYZE].work, sizeof s->work,
             "%s more models evaluated (noise, fine-tuned with %s iterations, averaged, gaussian)",
             plan_count(pl->eval_analyze, a, sizeof a), plan_count(pl->finetune_iters, b, sizeof b));
}

/* ---------------------------------------------------------------------------------------------- memory */

/* Bytes each stage holds at its peak: the data, the networks at the run's batches (plan_object_at), the vectors,
 * the zoo (each model's vector and predictions) and the evaluator (its model and the prefix cache of the test set). */
static pd_status plan_memory(plan_env *e, pd_error *err)
{
    pd_plan *pl = e->pl;
    const pd_config *c = e->cfg;
    int64_t task, task_eval1, task_eval, evaluator, ae, ae_gen, ae_enc, unet_train, unet_gen;
    int32_t eb = plan_min(e->eval_batch, pl->n_test), k = c->k;
    PD_TRY(plan_object_at(e, PLAN_OBJ_TASK, c->batch > e->eval_batch ? c->batch : e->eval_batch, &task, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_TASK_EVAL, 1, &task_eval1, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_TASK_EVAL, eb, &task_eval, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_EVALUATOR, pl->n_test, &evaluator, err));
    evaluator += task_eval - task_eval1; /* the evaluator's own model at its real batch, not 1 */
    PD_TRY(plan_object_at(e, PLAN_OBJ_AE, k > pl->ae_batch ? k : pl->ae_batch, &ae, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_AE_EVAL, k, &ae_enc, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_AE_EVAL, k > c->n_generate ? k : c->n_generate, &ae_gen, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_UNET_TRAIN, pl->ddpm_batch, &unet_train, err));
    PD_TRY(plan_object_at(e, PLAN_OBJ_UNET, pl->sample_batch, &unet_gen, err));
    int64_t f = (int64_t)sizeof(float), d = pl->target_d, vecs = (int64_t)k * d * f;
    int64_t batch_host = (int64_t)c->batch * ((int64_t)pl->c * pl->h * pl->w * f + 4);
    int64_t per_model = pl->n_test + d * f;
    int64_t models = (int64_t)pl->eval_generate + pl->eval_analyze;
    pd_plan_stage *s = pl->stage;
    s[PD_STAGE_TRAIN].bytes = pl->data_bytes + task + batch_host;
    s[PD_STAGE_COLLECT].bytes = pl->data_bytes + task + batch_host + vecs + 2 * d * f;
    s[PD_STAGE_AE].bytes = 3 * vecs + ae;
    s[PD_STAGE_DDPM].bytes = vecs + ae_enc + unet_train + 2 * (int64_t)k * pl->latent * f +
                             (c->ddpm_ema > 0.0 ? pl->unet_params * f : 0);
    s[PD_STAGE_GENERATE].bytes = pl->data_bytes + task + evaluator + ae_gen + unet_gen + vecs +
                                 (int64_t)c->n_generate * d * f + pl->eval_generate * per_model;
    s[PD_STAGE_ANALYZE].bytes = pl->data_bytes + task + evaluator + vecs + models * per_model + models * pl->n_test / 8;
    pl->peak_bytes = 0;
    for (int i = 0; i < PD_STAGE_COUNT; i++)
        if (s[i].bytes > pl->peak_bytes)
            pl->peak_bytes = s[i].bytes;
    return PD_OK;
}

/* ---------------------------------------------------------------------------------------------- time */

static void plan_stage_time(pd_plan_stage *s, const char *unit, int64_t units, double unit_seconds, double once)
{
    snprintf(s->unit, sizeof s->unit, "%s", unit);
    s->units = units;
    s->unit_seconds = unit_seconds;
    s->once_seconds = once;
    s->seconds = (double)units * unit_seconds + once;
}

/* Time one unit of every kind at the run's sizes and multiply by the counts. */
static pd_status plan_times(plan_env *e, pd_error *err)
{
    pd_plan *pl = e->pl;
    const pd_config *c = e->cfg;
    double t_train, t_collect, t_eval, t_prefix, t_ae, t_ddpm, t_sample;
    int32_t cb = plan_min(c->batch, pl->n_train);
    PD_TRY(plan_measure(e, PLAN_W_TRAIN, 4, c->batch, &t_train, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_COLLECT, 4, cb, &t_collect, NULL, err));
    PD_TRY(plan_measure_eval(e, &t_eval, &t_prefix, err));
    PD_TRY(plan_measure(e, PLAN_W_AE, 8, pl->ae_batch, &t_ae, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_DDPM, 8, pl->ddpm_batch, &t_ddpm, NULL, err));
    PD_TRY(plan_measure(e, PLAN_W_SAMPLE, 8, pl->sample_batch, &t_sample, NULL, err));
    char u[64];
    pd_plan_stage *s = pl->stage;
    snprintf(u, sizeof u, "training step (batch %d)", c->batch);
    plan_stage_time(&s[PD_STAGE_TRAIN], u, pl->train_steps, t_train, t_prefix + t_eval);
    snprintf(u, sizeof u, "collection iteration (batch %d)", cb);
    plan_stage_time(&s[PD_STAGE_COLLECT], u, pl->collect_iters, t_collect,
                    (double)pl->collect_runs * ((double)pl->train_steps * t_train + t_prefix + t_eval));
    snprintf(u, sizeof u, "AE step (batch %d)", pl->ae_batch);
    plan_stage_time(&s[PD_STAGE_AE], u, c->ae_steps, t_ae, 0.0);
    snprintf(u, sizeof u, "UNet step (batch %d)", pl->ddpm_batch);
    plan_stage_time(&s[PD_STAGE_DDPM], u, c->ddpm_steps, t_ddpm, 0.0);
    snprintf(u, sizeof u, "model evaluated (%d images)", pl->n_test);
    double sampling = (double)pl->sample_steps * t_sample * c->n_generate / pl->sample_batch;
    plan_stage_time(&s[PD_STAGE_GENERATE], u, pl->eval_generate, t_eval, t_prefix + sampling);
    plan_stage_time(&s[PD_STAGE_ANALYZE], u, pl->eval_analyze, t_eval,
                    t_prefix + (double)pl->finetune_iters * t_collect);
    pl->total_seconds = 0.0;
    for (int i = 0; i < PD_STAGE_COUNT; i++)
        pl->total_seconds += s[i].seconds;
    return PD_OK;
}

/* ---------------------------------------------------------------------------------------------- the plan */

pd_status plan_compute(pd_plan *plan, const pd_config *cfg, int measure, const pd_callbacks *cb, pd_error *err)
{
    double t0 = plan_now();
    memset(plan, 0, sizeof *plan);
    plan_data(plan, cfg);
    plan_counts(plan, cfg);
    plan_env e = {.cfg = cfg, .cb = cb, .pl = plan};
    pd_backend_kind kind = strcmp(cfg->device, "cuda") == 0 ? PD_BACKEND_CUDA : PD_BACKEND_CPU;
    pd_status st = measure ? backend_create(&e.be, kind, cfg->threads, err) : backend_cpu_create(&e.be, 1, err);
    if (st != PD_OK)
        return st;
    if (measure)
        blas_set_threads(e.be->threads); /* as the pipeline sets them for its run */
    snprintf(plan->backend, sizeof plan->backend, "%s", e.be->name);
    plan->threads = e.be->threads;
    st = plan_networks(&e, err);
    if (st == PD_OK) {
        plan_work_text(plan, cfg);
        st = plan_memory(&e, err);
    }
    if (st == PD_OK && measure)
        st = plan_times(&e, err);
    plan->measured = st == PD_OK && measure;
    model_free(e.probe);
    if (e.target.tensor || e.target.names)
        target_free(&e.target);
    backend_destroy(e.be);
    plan->measure_seconds = plan_now() - t0;
    return st;
}
