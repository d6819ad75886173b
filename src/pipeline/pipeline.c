/* pipeline.c — stage orchestration, shared loading, config.csv (see pipeline.h, pipeline_ctx.h). */
#include "pipeline_ctx.h"
#include "stage_import.h"
#include "stage_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "eval_reuse.h"
#include "blas.h"
#include "path.h"
#include "pdiff_build.h"
#include "progress_file.h"
#include "state.h"

static const char *const pipeline_stage_names[PD_STAGE_COUNT] = {"train", "collect", "ae", "ddpm", "generate",
                                                                 "analyze"};

typedef pd_status (*pipeline_stage_fn)(pd_pipeline *p, int resume, pd_error *err);

static const pipeline_stage_fn pipeline_stage_fns[PD_STAGE_COUNT] = {
    stage_train, stage_collect, stage_ae, stage_ddpm, stage_generate, stage_analyze,
};

const char *pipeline_stage_name(pd_stage s)
{
    return (unsigned)s < PD_STAGE_COUNT ? pipeline_stage_names[s] : "unknown";
}

const char *pipeline_version(void)
{
    return PACKAGE_VERSION;
}

pd_status pipeline_parse_stages(const char *list, unsigned *mask, pd_error *err)
{
    *mask = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (strcmp(tok, "all") == 0) {
            *mask |= PIPELINE_ALL_STAGES;
            continue;
        }
        int found = 0;
        for (int s = 0; s < PD_STAGE_COUNT; s++)
            if (strcmp(tok, pipeline_stage_names[s]) == 0) {
                *mask |= 1u << s;
                found = 1;
            }
        if (!found)
            return error_set(err, PD_ERR_USAGE,
                             "--stages: unknown stage '%s' (train, collect, ae, ddpm, generate, analyze, all)", tok);
    }
    if (!*mask)
        return error_set(err, PD_ERR_USAGE, "--stages: empty stage list");
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ hooks */

static void pipeline_on_metric(void *ud, const char *stage, int64_t step, double loss, double acc)
{
    pd_pipeline *p = ud;
    session_loss_add(p->session, stage, step, loss, acc);
    if (p->user_cb.on_metric)
        p->user_cb.on_metric(p->user_cb.ud, stage, step, loss, acc);
}

/* progress.csv (progress_file.h): at a stage's start (unit NULL), a new unit, a unit's end, else at most once a
 * second. Only the session's writer has one; a file that cannot be written is skipped. */
static void pipeline_progress_file(pd_pipeline *p, const char *unit, int64_t done, int64_t total)
{
    if (!p->session)
        return;
    double now = progress_now();
    pd_progress_snapshot s = {.done = done, .total = total, .pid = (long)getpid()};
    if (!unit) {
        p->prog.stage_t0 = p->prog.unit_t0 = now;
        p->prog.unit_done0 = 0;
        p->prog.unit[0] = '\0'; /* the stage's first report starts its unit */
        unit = pipeline_stage_names[p->current];
    } else if (strcmp(unit, p->prog.unit) != 0 || done < p->prog.unit_done0) {
        p->prog.unit_t0 = now; /* a resumed stage starts counting at its checkpoint's step */
        p->prog.unit_done0 = done;
        snprintf(p->prog.unit, sizeof p->prog.unit, "%s", unit);
    } else if (done < total && now - p->prog.written < 1.0)
        return;
    if (total < 0 || done < 0 || done > total)
        return;
    snprintf(s.stage, sizeof s.stage, "%s", pipeline_stage_names[p->current]);
    snprintf(s.unit, sizeof s.unit, "%s", unit);
    s.unit_start = p->prog.unit_done0;
    s.unit_seconds = now - p->prog.unit_t0;
    s.stage_seconds = now - p->prog.stage_t0;
    pd_error err;
    progress_file_write(session_dir(p->session), &s, &err);
    p->prog.written = now;
}

static void pipeline_on_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    pd_pipeline *p = ud;
    pipeline_progress_file(p, stage, done, total);
    if (p->user_cb.on_progress)
        p->user_cb.on_progress(p->user_cb.ud, stage, done, total);
}

static void pipeline_on_log(void *ud, const char *line)
{
    pd_pipeline *p = ud;
    session_log(p->session, line); /* run.log: every front end's runs */
    if (p->user_cb.on_log)
        p->user_cb.on_log(p->user_cb.ud, line);
}

static int pipeline_should_cancel(void *ud)
{
    pd_pipeline *p = ud;
    return p->user_cb.should_cancel && p->user_cb.should_cancel(p->user_cb.ud);
}

/* ------------------------------------------------------------------------------------------------ config */

static pd_status pipeline_config_store(pd_pipeline *p, pd_error *err)
{
    char blas[256], threads[16], d[32], classes[16], train_n[16], test_n[16];
    blas_describe(blas, sizeof blas);
    snprintf(threads, sizeof threads, "%d", p->be->threads);
    const char *keys[16], *vals[16];
    int n = 0;
    keys[n] = "pdiff_version", vals[n++] = PACKAGE_VERSION;
    keys[n] = "blas", vals[n++] = blas;
    keys[n] = "libcsv_version", vals[n++] = PD_CSV_BUILD_VERSION;
    keys[n] = "zlib_version", vals[n++] = zlibVersion();
    keys[n] = "backend", vals[n++] = p->be->name;
    keys[n] = "threads_used", vals[n++] = threads;
    if (p->data_loaded) {
        snprintf(classes, sizeof classes, "%d", p->data.classes);
        snprintf(train_n, sizeof train_n, "%d", p->data.train.n);
        snprintf(test_n, sizeof test_n, "%d", p->data.test.n);
        keys[n] = "data_path", vals[n++] = p->data.dir;
        keys[n] = "classes", vals[n++] = classes;
        keys[n] = "train_images", vals[n++] = train_n;
        keys[n] = "test_images", vals[n++] = test_n;
    }
    if (p->target_resolved) {
        snprintf(d, sizeof d, "%lld", (long long)p->target.d);
        keys[n] = "target_tensors", vals[n++] = p->target.names;
        keys[n] = "target_d", vals[n++] = d;
    }
    char path[PD_PATH_MAX];
    return config_write_csv(&p->cfg, session_path(p->session, "config.csv", path, sizeof path), keys, vals, n, err);
}

pd_status pipeline_write_config(pd_pipeline *p, pd_error *err)
{
    if (p->config_held) {
        p->config_pending = 1;
        return PD_OK;
    }
    return pipeline_config_store(p, err);
}

/* Stop holding config.csv back: write it when a rewrite waits. */
static pd_status pipeline_config_release(pd_pipeline *p, pd_error *err)
{
    p->config_held = 0;
    if (!p->config_pending)
        return PD_OK;
    PD_TRY(pipeline_config_store(p, err));
    p->config_pending = 0;
    return PD_OK;
}

pd_status pipeline_checkpoint(pd_pipeline *p, pd_error *err)
{
    PD_TRY(pipeline_config_release(p, err));
    return session_losses_write(p->session, err);
}

void pipeline_drop_state(pd_pipeline *p, const char *name)
{
    char path[PD_PATH_MAX];
    remove(session_state_path(p->session, name, path, sizeof path));
}

/* ------------------------------------------------------------------------------------------------ loading */

pd_status pipeline_need_data(pd_pipeline *p, pd_error *err)
{
    if (p->data_loaded)
        return PD_OK;
    progress_log(&p->cb, "loading data set %s", p->cfg.dataset);
    PD_TRY(dataset_load(&p->data, p->cfg.dataset, p->cfg.data_dir, err));
    p->data_loaded = 1;
    return pipeline_write_config(p, err);
}

pd_status pipeline_task_model(pd_backend *be, const pd_config *cfg, const pd_dataset *ds, pd_model **task,
                              int32_t *eval_batch, pd_error *err)
{
    *task = NULL;
    pd_model_spec spec = {.in_c = ds->train.c, .in_h = ds->train.h, .in_w = ds->train.w, .classes = ds->classes,
                          .width = cfg->width, .trainable = 1};
    PD_TRY(model_arch_parse(cfg->arch, &spec.arch, err));
    /* the evaluation batch fits the model's activations into a bounded memory (evaluator_batch): a probe at batch 1
     * gives their size per image */
    pd_model *probe;
    pd_model_spec one = spec;
    one.max_batch = 1;
    one.trainable = 0;
    PD_TRY(model_create(&probe, be, &one, err));
    *eval_batch = evaluator_batch(model_sample_floats(probe), cfg->batch);
    model_free(probe);
    spec.max_batch = cfg->batch > *eval_batch ? cfg->batch : *eval_batch;
    return model_create(task, be, &spec, err);
}

pd_status pipeline_need_model(pd_pipeline *p, pd_error *err)
{
    if (p->task)
        return PD_OK;
    PD_TRY(pipeline_need_data(p, err));
    return pipeline_task_model(p->be, &p->cfg, &p->data, &p->task, &p->eval_batch, err);
}

int pipeline_has_state(pd_pipeline *p, const char *name, char *path, size_t size)
{
    session_state_path(p->session, name, path, size);
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

pd_status pipeline_need_state(pd_pipeline *p, const char *name, pd_stage producer, pd_error *err)
{
    char path[PD_PATH_MAX];
    if (pipeline_has_state(p, name, path, sizeof path))
        return PD_OK;
    return error_set(err, PD_ERR_STATE,
                     "%s: missing: stage %s needs the output of stage %s (run --stages %s first, or pdiff resume)",
                     path, pipeline_stage_names[p->current], pipeline_stage_names[producer],
                     pipeline_stage_names[producer]);
}

pd_status pipeline_check_task_shape(const pd_pipeline *p, const pd_state *s, const char *path, pd_error *err)
{
    const pd_model_spec *sp = model_spec(p->task);
    const int32_t *sh = state_get(s, "shape", PD_DTYPE_I32, 5, NULL, err);
    if (!sh)
        return err ? err->status : PD_ERR_STATE;
    int64_t arch = 0;
    PD_TRY(state_get_i64(s, "arch", &arch, err));
    if (sh[0] != sp->in_c || sh[1] != sp->in_h || sh[2] != sp->in_w || sh[3] != sp->classes)
        return error_set(err, PD_ERR_STATE,
                         "%s: made for %dx%dx%d images of %d classes, but data set %s has %dx%dx%d images of %d classes "
                         "(use the data set the session was trained on, or rerun train)",
                         path, sh[0], sh[1], sh[2], sh[3], p->cfg.dataset, sp->in_c, sp->in_h, sp->in_w, sp->classes);
    if (arch != sp->arch || (sp->arch == PD_ARCH_RESNET18 && sh[4] != sp->width))
        return error_set(err, PD_ERR_STATE,
                         "%s: made for another task model (arch %s, width %d) than arch=%s width=%d (rerun train)",
                         path, model_arch_name(arch >= 0 && arch < 3 ? (pd_arch)arch : (pd_arch)3), sh[4],
                         p->cfg.arch, sp->width);
    return PD_OK;
}

pd_status pipeline_load_task_state(pd_pipeline *p, const char *name, pd_error *err)
{
    PD_TRY(pipeline_need_model(p, err));
    char path[PD_PATH_MAX];
    session_state_path(p->session, name, path, sizeof path);
    pd_state *s;
    PD_TRY(state_load(&s, path, "task", err));
    const float *params = NULL;
    if (pipeline_check_task_shape(p, s, path, err) == PD_OK)
        params = state_get(s, "params", PD_DTYPE_F32, model_param_count(p->task), NULL, err);
    const float *bufs = params ? state_get(s, "buffers", PD_DTYPE_F32, model_buffer_count(p->task), NULL, err) : NULL;
    if (!params || !bufs) {
        state_free(s);
        return err ? err->status : PD_ERR_STATE;
    }
    p->be->upload(p->be, model_params(p->task), params, (size_t)model_param_count(p->task) * sizeof(float));
    p->be->upload(p->be, model_buffers(p->task), bufs, (size_t)model_buffer_count(p->task) * sizeof(float));
    state_free(s);
    return PD_OK;
}

pd_status pipeline_load_task(pd_pipeline *p, pd_error *err)
{
    PD_TRY(pipeline_need_state(p, "task", PD_STAGE_TRAIN, err));
    p->task_run = -1;
    PD_TRY(pipeline_load_task_state(p, "task", err));
    p->task_run = 0;
    return PD_OK;
}

pd_status pipeline_need_target(pd_pipeline *p, pd_error *err)
{
    if (p->target_resolved)
        return PD_OK;
    PD_TRY(pipeline_need_model(p, err));
    PD_TRY(target_resolve(&p->target, p->task, p->cfg.target, err));
    p->target_resolved = 1;
    return pipeline_write_config(p, err);
}

pd_status pipeline_load_vectors(pd_pipeline *p, float **vecs, int32_t *k, int64_t *d, pd_error *err)
{
    *vecs = NULL;
    PD_TRY(pipeline_need_state(p, "collect", PD_STAGE_COLLECT, err));
    char path[PD_PATH_MAX];
    session_state_path(p->session, "collect", path, sizeof path);
    float *v;
    int32_t kk;
    int64_t dd;
    PD_TRY(pipeline_read_collect(path, &v, &kk, &dd, err));
    for (int64_t i = 0; i < (int64_t)kk * dd; i++)
        if (!isfinite(v[i])) {
            pd_status st = error_set(err, PD_ERR_STATE, "%s: vector %lld holds %g, not a finite number (rerun collect)",
                                     path, (long long)(i / dd), (double)v[i]);
            free(v);
            return st;
        }
    *vecs = v;
    *k = kk;
    *d = dd;
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ stage marks */

static pd_status pipeline_marks_read(pd_session *session, int64_t done[PD_STAGE_COUNT], pd_error *err)
{
    memset(done, 0, sizeof(int64_t) * PD_STAGE_COUNT);
    char path[PD_PATH_MAX];
    pd_state *s;
    PD_TRY(stage_state_load_optional(session, "stages", "stages", path, sizeof path, &s, err));
    if (!s)
        return PD_OK;
    pd_status st = PD_OK;
    for (int i = 0; i < PD_STAGE_COUNT && st == PD_OK; i++) {
        if (state_has(s, pipeline_stage_names[i]))
            state_get_i64(s, pipeline_stage_names[i], &done[i], NULL);
        if (done[i] != 0 && done[i] != 1)
            st = error_set(err, PD_ERR_STATE, "%s: stage %s is marked %lld, neither 0 nor 1 (damaged file?)", path,
                           pipeline_stage_names[i], (long long)done[i]);
    }
    state_free(s);
    return st;
}

static pd_status pipeline_marks_load(const pd_pipeline *p, int64_t done[PD_STAGE_COUNT], pd_error *err)
{
    return pipeline_marks_read(p->session, done, err);
}

pd_status pipeline_stages_done(const char *dir, int done[PD_STAGE_COUNT], pd_error *err)
{
    pd_session *s;
    int64_t marks[PD_STAGE_COUNT];
    memset(done, 0, sizeof(int) * PD_STAGE_COUNT);
    PD_TRY(session_open(&s, dir, 0, err));
    pd_status st = pipeline_marks_read(s, marks, err);
    session_free(s);
    for (int i = 0; st == PD_OK && i < PD_STAGE_COUNT; i++)
        done[i] = marks[i] != 0;
    return st;
}

static pd_status pipeline_marks_save(const pd_pipeline *p, const int64_t done[PD_STAGE_COUNT], pd_error *err)
{
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, "stages", err));
    for (int i = 0; i < PD_STAGE_COUNT; i++) {
        pd_status st = state_put_i64(w, pipeline_stage_names[i], done[i], err);
        if (st != PD_OK) {
            state_writer_free(w);
            return st;
        }
    }
    char path[PD_PATH_MAX];
    return state_writer_commit(w, session_state_path(p->session, "stages", path, sizeof path), err);
}

/* A session with completed stages keeps its config.csv until a stage saves or ends (pipeline_write_config). */
static pd_status pipeline_hold_config(pd_pipeline *p, pd_error *err)
{
    int64_t done[PD_STAGE_COUNT];
    PD_TRY(pipeline_marks_load(p, done, err));
    for (int i = 0; i < PD_STAGE_COUNT; i++)
        if (done[i])
            p->config_held = 1;
    if (!session_file_exists(p->session, "config.csv"))
        p->config_held = 0;
    return PD_OK;
}

int pipeline_stage_done(const pd_pipeline *p, pd_stage s)
{
    int64_t done[PD_STAGE_COUNT];
    if (pipeline_marks_load(p, done, NULL) != PD_OK)
        return 0;
    return done[s] != 0;
}

/* ------------------------------------------------------------------------------------------------ run */

pd_status pipeline_open(pd_pipeline **out, const pd_config *cfg, const char *dir, const pd_callbacks *cb,
                        pd_error *err)
{
    *out = NULL;
    PD_TRY(config_validate(cfg, err));
    pd_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return error_set(err, PD_ERR_NOMEM, "pipeline: out of memory");
    p->cfg = *cfg;
    p->task_run = -1;
    if (cb)
        p->user_cb = *cb;
    p->cb = (pd_callbacks){.on_progress = pipeline_on_progress, .on_metric = pipeline_on_metric,
                           .on_log = pipeline_on_log, .should_cancel = pipeline_should_cancel, .ud = p};
    pd_backend_kind kind = strcmp(cfg->device, "cuda") == 0 ? PD_BACKEND_CUDA : PD_BACKEND_CPU;
    /* a missing data set is found out before anything is written */
    pd_status st = dataset_locate(cfg->dataset, cfg->data_dir, NULL, 0, err);
    if (st == PD_OK)
        st = backend_create(&p->be, kind, cfg->threads, err);
    if (st == PD_OK)
        blas_set_threads(p->be->threads); /* the run's BLAS threads, set once here (blas.h) */
    if (st == PD_OK)
        st = session_open(&p->session, dir, 1, err);
    if (st == PD_OK)
        st = pipeline_hold_config(p, err);
    if (st == PD_OK)
        st = pipeline_write_config(p, err);
    if (st != PD_OK) {
        pipeline_free(p);
        return st;
    }
    *out = p;
    return PD_OK;
}

pd_status pipeline_open_detached(pd_pipeline **out, const pd_config *cfg, pd_error *err)
{
    pd_pipeline *p = calloc(1, sizeof *p);
    *out = p;
    if (!p)
        return error_set(err, PD_ERR_NOMEM, "pipeline: out of memory");
    p->cfg = *cfg;
    p->task_run = -1;
    p->reuse_opened = 1; /* no session: nothing to reuse */
    pd_backend_kind kind = strcmp(cfg->device, "cuda") == 0 ? PD_BACKEND_CUDA : PD_BACKEND_CPU;
    PD_TRY(backend_create(&p->be, kind, cfg->threads, err));
    blas_set_threads(p->be->threads);
    PD_TRY(dataset_load(&p->data, cfg->dataset, cfg->data_dir, err));
    p->data_loaded = 1;
    PD_TRY(pipeline_task_model(p->be, cfg, &p->data, &p->task, &p->eval_batch, err));
    PD_TRY(target_resolve(&p->target, p->task, cfg->target, err));
    p->target_resolved = 1;
    return PD_OK;
}

/* A run that trains and then uses the target (collect and later) checks the target first, on the task model built
 * for the data set (train builds it anyway): a pattern that matches nothing is refused before the training. */
static pd_status pipeline_target_precheck(pd_pipeline *p, unsigned mask, int resume, const int64_t done[], pd_error *err)
{
    int trains = (mask & (1u << PD_STAGE_TRAIN)) && !(resume && done[PD_STAGE_TRAIN]), uses = 0;
    for (int s = PD_STAGE_COLLECT; s < PD_STAGE_COUNT; s++)
        uses |= s != PD_STAGE_DDPM && (mask & (1u << s)) != 0;
    if (!trains || !uses)
        return PD_OK;
    PD_TRY(pipeline_need_model(p, err));
    pd_target t;
    PD_TRY(target_resolve(&t, p->task, p->cfg.target, err));
    target_free(&t);
    return PD_OK;
}

static pd_status pipeline_run_stages(pd_pipeline *p, unsigned mask, int resume, pd_error *err)
{
    int64_t done[PD_STAGE_COUNT];
    PD_TRY(pipeline_marks_load(p, done, err));
    PD_TRY(stage_import_precheck(p, mask, resume, done, err)); /* init=, checkpoints= before anything runs */
    PD_TRY(pipeline_target_precheck(p, mask, resume, done, err));
    for (int s = 0; s < PD_STAGE_COUNT; s++) {
        if (!(mask & (1u << s)))
            continue;
        if (resume && done[s])
            continue;
        for (int later = s; later < PD_STAGE_COUNT; later++) /* outputs after s become stale */
            done[later] = 0;
        PD_TRY(pipeline_marks_save(p, done, err));
        if (s <= PD_STAGE_COLLECT) /* the shared session's evaluations are of another task model now */
            pipeline_drop_state(p, "reuse");
        p->current = (pd_stage)s;
        pipeline_progress_file(p, NULL, 0, 0);
        if (p->user_cb.on_stage)
            p->user_cb.on_stage(p->user_cb.ud, pipeline_stage_names[s], 1);
        progress_log(&p->cb, "stage %s: start", pipeline_stage_names[s]);
        pd_status st = pipeline_stage_fns[s](p, resume, err);
        if (st == PD_OK)
            st = pipeline_config_release(p, err);
        pd_error werr;
        if (session_losses_write(p->session, &werr) != PD_OK && st == PD_OK)
            st = error_set(err, werr.status, "%s", werr.msg);
        if (session_summary_write(p->session, &werr) != PD_OK && st == PD_OK)
            st = error_set(err, werr.status, "%s", werr.msg);
        if (st != PD_OK)
            return st;
        done[s] = 1;
        PD_TRY(pipeline_marks_save(p, done, err));
        progress_log(&p->cb, "stage %s: done", pipeline_stage_names[s]);
        if (p->user_cb.on_stage)
            p->user_cb.on_stage(p->user_cb.ud, pipeline_stage_names[s], 0);
    }
    return PD_OK;
}

pd_status pipeline_run(pd_pipeline *p, unsigned mask, int resume, pd_error *err)
{
    char line[PD_ERROR_MSG_MAX + 64];
    int n = snprintf(line, sizeof line, "%s: pdiff %s, pid %ld, stages", resume ? "resume" : "run", PACKAGE_VERSION,
                     (long)getpid());
    for (int s = 0; s < PD_STAGE_COUNT && n > 0 && (size_t)n < sizeof line; s++)
        if (mask & (1u << s))
            n += snprintf(line + n, sizeof line - (size_t)n, " %s", pipeline_stage_names[s]);
    session_log(p->session, line);
    pd_error local = {0};
    pd_status st = pipeline_run_stages(p, mask, resume, err ? err : &local);
    const char *msg = err ? err->msg : local.msg;
    if (st == PD_OK)
        snprintf(line, sizeof line, "finished");
    else
        snprintf(line, sizeof line, "%s: %s", st == PD_ERR_CANCELLED ? "stopped" : "failed",
                 msg[0] ? msg : error_status_string(st));
    session_log(p->session, line);
    return st;
}

void pipeline_free(pd_pipeline *p)
{
    if (!p)
        return;
    eval_reuse_free(p->reuse);
    target_free(&p->target);
    model_free(p->task);
    dataset_free(&p->data);
    session_free(p->session);
    backend_destroy(p->be);
    free(p);
}
