/* plan.c — the plan of a run: work, memory and time per stage, measured on this machine (see plan.h).
 *
 * Sizes come from real objects: the task model, the AE and the UNet are built from the configuration on the
 * configured backend, and the memory each one holds is what its creation asks the backend for (counted through a
 * wrapper around be->alloc), at max_batch 1 and 2, extrapolated linearly to the batch the run uses (activations
 * grow with the batch, weights and optimiser state do not), so nothing the size of a real run is allocated.
 * Times come from running a few units of each kind with synthetic inputs of the run's shapes (plan_measure.c).
 */
#include "plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blas.h"
#include "ddpm.h"
#include "evaluate.h"
#include "idx.h"
#include "path.h"
#include "plan_measure.h"

#define PLAN_SAMPLE_CHUNK 256   /* the generate stage's largest sampling batch */

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

void plan_format_address(const pd_plan *pl, char *buf, size_t size)
{
    char need[32], prog[32], peak[32], per[32], lim[32], slack[32];
    plan_format_bytes(pl->address_bytes, need, sizeof need);
    plan_format_bytes(pl->program_bytes, prog, sizeof prog);
    plan_format_bytes(pl->peak_bytes, peak, sizeof peak);
    plan_format_bytes(PD_PLAN_THREAD_BYTES, per, sizeof per);
    plan_format_bytes(pl->address_limit, lim, sizeof lim);
    plan_format_bytes(PD_PLAN_SLACK_BYTES, slack, sizeof slack);
    snprintf(buf, size,
             "address space: up to about %s, limit (ulimit -v) %s%s (the program %s + the largest stage %s + %d "
             "thread%s x %s for OpenBLAS's work buffers and stacks + %s%s)",
             need, pl->address_limit < 0 ? "none" : lim,
             pl->address_limit < 0 ? "" : pl->address_short ? ": too low, the run would stop for lack of memory"
                                                              : ": enough",
             prog, peak, pl->run_threads, pl->run_threads == 1 ? "" : "s", per, slack,
             strcmp(pl->backend, "cuda") == 0 ? "; CUDA's own reservations not counted" : "");
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

enum { PLAN_OBJ_TASK, PLAN_OBJ_TASK_EVAL, PLAN_OBJ_EVALUATOR, PLAN_OBJ_AE, PLAN_OBJ_AE_EVAL, PLAN_OBJ_UNET,
       PLAN_OBJ_UNET_TRAIN };

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
    PD_TRY(ae_geometry_config(c, e->target.d, &e->aeg, err)); /* as the ae and ddpm stages build them */
    pd_ae *ae;
    PD_TRY(ae_create(&ae, e->be, &e->aeg, 1, 0, err));
    pl->ae_params = ae_param_count(ae);
    pl->latent = (int32_t)ae_latent_size(ae);
    ae_free(ae);
    PD_TRY(unet_geometry_config(c, pl->latent, &e->ug, err));
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
    pl->eval_analyze = (ns > 0 ? ns : 0) * c->n_noise + nft + PIPELINE_ANALYZE_AVERAGED +
                       PIPELINE_ANALYZE_GAUSSIAN;
    pl->finetune_iters = (int64_t)nft * c->finetune_steps;
}

static void plan_work_text(pd_plan *pl, const pd_config *c)
{
    char a[32], b[32], d[32], e[32];
    pd_plan_stage *s = pl->stage;
    snprintf(s[PD_STAGE_TRAIN].work, sizeof s->work, "%d epoch%s x %s = %s SGD steps, batch %d; %s parameters",
             c->epochs, c->epochs == 1 ? "" : "s", plan_count(pl->steps_per_epoch, a, sizeof a),
             plan_count(pl->train_steps, b, sizeof b), pl->train_batch, plan_count(pl->task_params, d, sizeof d));
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

/* ---------------------------------------------------------------------------------------------- the plan */

/* The process's address space now (/proc/self/statm, 0 where there is none) and its limit. */
static void plan_address_now(pd_plan *pl)
{
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    pl->program_bytes = (int64_t)pages * (page > 0 ? page : 4096);
    struct rlimit rl;
    pl->address_limit = getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (int64_t)rl.rlim_cur : -1;
}

/* What the run's address space comes to (plan.h), once the stages' memory is known. */
static void plan_address_need(pd_plan *pl, const pd_config *cfg)
{
    pl->run_threads = backend_cpu_threads(cfg->threads);
    pl->address_bytes = pl->program_bytes + pl->peak_bytes + (int64_t)pl->run_threads * PD_PLAN_THREAD_BYTES +
                        PD_PLAN_SLACK_BYTES;
    pl->address_short = pl->address_limit >= 0 && pl->address_limit < pl->address_bytes;
}

pd_status plan_compute(pd_plan *plan, const pd_config *cfg, int measure, const pd_callbacks *cb, pd_error *err)
{
    double t0 = progress_now();
    memset(plan, 0, sizeof *plan);
    plan_address_now(plan); /* before this plan's own objects and measurements take any */
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
    if (st == PD_OK)
        plan_address_need(plan, cfg);
    if (st == PD_OK && measure)
        st = plan_measure_times(&e, err);
    plan->measured = st == PD_OK && measure;
    model_free(e.probe);
    if (e.target.tensor || e.target.names)
        target_free(&e.target);
    backend_destroy(e.be);
    plan->measure_seconds = progress_now() - t0;
    return st;
}
