/* sweep.c — one session per value and seed, shared early stages (see sweep.h; the tables: sweep_report.c). */
#include "sweep.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "backend.h"
#include "comm.h"
#include "csvio.h"
#include "path.h"
#include "plan.h"
#include "sweep_run_internal.h"

static const struct {
    const char *key;
    pd_stage stage;
} sweep_stage_table[] = {
    {"target", PD_STAGE_COLLECT},         {"k", PD_STAGE_COLLECT},
    {"save_every", PD_STAGE_COLLECT},     {"collect_lr", PD_STAGE_COLLECT},
    {"k_span", PD_STAGE_COLLECT},         {"collect_mode", PD_STAGE_COLLECT},
    {"collect_runs", PD_STAGE_COLLECT},
    {"ae", PD_STAGE_AE},                  {"ae_fold", PD_STAGE_AE},
    {"ae_kernel", PD_STAGE_AE},           {"ae_enc", PD_STAGE_AE},
    {"ae_dec", PD_STAGE_AE},              {"ae_steps", PD_STAGE_AE},
    {"ae_batch", PD_STAGE_AE},            {"ae_lr", PD_STAGE_AE},
    {"ae_weight_decay", PD_STAGE_AE},     {"input_noise", PD_STAGE_AE},
    {"latent_noise", PD_STAGE_AE},        {"normalize", PD_STAGE_AE},
    {"standardize", PD_STAGE_AE},         {"gen_seed", PD_STAGE_AE},
    {"ddpm_steps", PD_STAGE_DDPM},        {"ddpm_batch", PD_STAGE_DDPM},
    {"ddpm_lr", PD_STAGE_DDPM},           {"ddpm_weight_decay", PD_STAGE_DDPM},
    {"ddpm_channels", PD_STAGE_DDPM},     {"timesteps", PD_STAGE_DDPM},
    {"beta_start", PD_STAGE_DDPM},        {"beta_end", PD_STAGE_DDPM},
    {"ddpm_ema", PD_STAGE_DDPM},
    {"sampler", PD_STAGE_GENERATE},       {"ddim_steps", PD_STAGE_GENERATE},
    {"n_generate", PD_STAGE_GENERATE},    {"n_recon", PD_STAGE_GENERATE},
    {"n_noise", PD_STAGE_ANALYZE},        {"noise_sigmas", PD_STAGE_ANALYZE},
    {"n_finetune", PD_STAGE_ANALYZE},     {"finetune_steps", PD_STAGE_ANALYZE},
    {"best_of_n", PD_STAGE_ANALYZE},
};

pd_stage sweep_first_stage(const char *key)
{
    for (size_t i = 0; i < sizeof sweep_stage_table / sizeof sweep_stage_table[0]; i++)
        if (strcmp(sweep_stage_table[i].key, key) == 0)
            return sweep_stage_table[i].stage;
    return PD_STAGE_TRAIN;
}

static pd_status sweep_parse(const char *spec, int n_seeds, sweep_spec *s, pd_error *err)
{
    memset(s, 0, sizeof *s);
    if (n_seeds < 0 || n_seeds > SWEEP_MAX_SEEDS)
        return error_set(err, PD_ERR_USAGE, "--seeds: must be a whole number in [1, %d], got %d", SWEEP_MAX_SEEDS,
                         n_seeds);
    s->n_seeds = n_seeds;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof s->key)
        return error_set(err, PD_ERR_USAGE, "sweep: expected KEY=V1,V2,..., got '%s'", spec);
    memcpy(s->key, spec, (size_t)(eq - spec));
    const char *sep = strchr(eq + 1, ';') ? ";" : ",";
    char buf[4096];
    if (strlen(eq + 1) >= sizeof buf)
        return error_set(err, PD_ERR_USAGE, "sweep: the values of %s are too long (at most %zu characters)", s->key,
                         sizeof buf - 1);
    memcpy(buf, eq + 1, strlen(eq + 1) + 1);
    char *save = NULL;
    for (char *v = strtok_r(buf, sep, &save); v; v = strtok_r(NULL, sep, &save)) {
        if (s->n == SWEEP_MAX_VALUES)
            return error_set(err, PD_ERR_USAGE, "sweep: at most %d values", SWEEP_MAX_VALUES);
        snprintf(s->values[s->n++], PD_CONFIG_STR, "%s", v);
    }
    if (s->n < 1)
        return error_set(err, PD_ERR_USAGE, "sweep: no values for %s", s->key);
    if (strcmp(s->key, "seed") == 0 && n_seeds > 0)
        return error_set(err, PD_ERR_USAGE,
                         "sweep: --seeds does not go with a sweep over seed (its values are the seeds: "
                         "seed=1,2,3 is one group of three runs)");
    if (strcmp(s->key, "preset") == 0 || strcmp(s->key, "seed") == 0 || strcmp(s->key, "threads") == 0)
        return PD_OK;
    if (!config_key_find(s->key))
        return error_set(err, PD_ERR_CONFIG, "%s: unknown key (see pdiff --help for the list)", s->key);
    return PD_OK;
}

int sweep_seed_count(const sweep_spec *s)
{
    return s->n_seeds > 0 ? s->n_seeds : 1;
}

/* The configuration of value i, seed number j (seed = the base seed + j when --seeds is given). */
pd_status sweep_config(const pd_config *base, const sweep_spec *s, int i, int j, pd_config *cfg, pd_error *err)
{
    *cfg = *base;
    PD_TRY(config_set(cfg, s->key, s->values[i], err));
    if (s->n_seeds > 0)
        cfg->seed = base->seed + (uint64_t)j;
    return config_validate(cfg, err);
}

/* folder name of a run: KEY-VALUE, or KEY-VALUE-seed-S with --seeds N > 1, with characters unsafe in file names
 * replaced in the value */
static pd_status sweep_session_name(const sweep_spec *s, int i, uint64_t seed, char *out, size_t size,
                                    pd_error *err)
{
    PD_TRY(path_format(out, size, err, "%s-%s", s->key, s->values[i]));
    for (char *c = out + strlen(s->key) + 1; *c; c++)
        if (*c == '/' || *c == ',' || *c == ':' || *c == ' ' || *c == '*' || *c == '?')
            *c = '_';
    if (s->n_seeds > 1) {
        size_t len = strlen(out);
        PD_TRY(path_format(out + len, size - len, err, "-seed-%" PRIu64, seed));
    }
    return PD_OK;
}

pd_status sweep_session_dir(const char *dir, const sweep_spec *s, int i, uint64_t seed, char *out, size_t size,
                            pd_error *err)
{
    char name[PD_PATH_MAX];
    PD_TRY(sweep_session_name(s, i, seed, name, sizeof name, err));
    return path_join(out, size, dir, name, err);
}

/* dir/sweep_index.csv: key,value,seed,session; per value, its seeds in order */
pd_status sweep_index_rows(pd_csv_writer *w, const pd_config *base, const sweep_spec *s, pd_error *err)
{
    static const char *const head[4] = {"key", "value", "seed", "session"};
    for (int c = 0; c < 4; c++)
        csvio_text(w, head[c]);
    csvio_endrow(w);
    pd_status st = PD_OK;
    for (int i = 0; i < s->n && st == PD_OK; i++)
        for (int j = 0; j < sweep_seed_count(s) && st == PD_OK; j++) {
            pd_config cfg;
            char sess[PD_PATH_MAX], seed[32];
            st = sweep_config(base, s, i, j, &cfg, err);
            if (st == PD_OK)
                st = sweep_session_name(s, i, cfg.seed, sess, sizeof sess, err);
            if (st != PD_OK)
                break;
            snprintf(seed, sizeof seed, "%" PRIu64, cfg.seed);
            csvio_text(w, s->key);
            csvio_text(w, s->values[i]);
            csvio_text(w, seed);
            csvio_text(w, sess);
            csvio_endrow(w);
        }
    return st;
}

static pd_status sweep_write_index(const char *dir, const pd_config *base, const sweep_spec *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "sweep_index.csv", err));
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, path, err));
    pd_status st = sweep_index_rows(w, base, s, err);
    if (st != PD_OK) {
        csvio_abort(w);
        return st;
    }
    return csvio_commit(w, err);
}

/* How the runs of one seed share: the value run first (in full), the stage the others start at, and whether
 * they take the first k of its checkpoints. */
typedef struct {
    int first;
    pd_stage upto;
    int k_slice;
} sweep_plan;

static sweep_plan sweep_make_plan(const pd_config *base, const sweep_spec *s)
{
    sweep_plan plan = {0, sweep_first_stage(s->key), 0};
    /* k by slicing: valid only when the checkpoints of a smaller k are the first ones of a larger k, that is
     * one trajectory with a checkpoint every save_every iterations; otherwise k changes the collection */
    if (strcmp(s->key, "k") == 0 && base->k_span == 0 && strcmp(base->collect_mode, "trajectory") == 0) {
        plan.k_slice = 1;
        for (int i = 1; i < s->n; i++) /* the largest k first */
            if (atol(s->values[i]) > atol(s->values[plan.first]))
                plan.first = i;
    }
    return plan;
}

/* The stages value i shares with the sweep's first value (those before it), and the slice of the collection it
 * takes (0: all). */
static pd_stage sweep_shared_upto(const sweep_plan *plan)
{
    return plan->k_slice ? PD_STAGE_AE : plan->upto;
}

/* The value run k-th within a seed: the first value, then the others in their order. */
static int sweep_value_at(const sweep_plan *plan, int k)
{
    return k == 0 ? plan->first : (k - 1 < plan->first ? k - 1 : k);
}

/* Prepare value i with seed number j as a copy of seed_from's stages before sweep_shared_upto. */
static pd_status sweep_seed(const pd_config *base, const sweep_spec *s, int i, int j, const char *dir,
                            const char *seed_from, const sweep_plan *plan, pd_error *err)
{
    pd_config cfg;
    PD_TRY(sweep_config(base, s, i, j, &cfg, err));
    char sess[PD_PATH_MAX];
    PD_TRY(sweep_session_dir(dir, s, i, cfg.seed, sess, sizeof sess, err));
    pd_stage upto = sweep_shared_upto(plan);
    if (s->cont && sweep_session_has(sess, (1u << upto) - 1u))
        return PD_OK; /* seeded before the stop: its own stages since are kept */
    return pipeline_seed_session(sess, seed_from, upto, plan->k_slice ? cfg.k : 0, err);
}

/* Value i with seed number j takes the evaluations of the seed's first value, which has them now
 * (pipeline_seed_reuse). */
static pd_status sweep_reuse_first(const pd_config *base, const sweep_spec *s, const sweep_plan *plan, int i, int j,
                                   const char *dir, pd_error *err)
{
    pd_config cfg;
    char first_sess[PD_PATH_MAX], sess[PD_PATH_MAX];
    PD_TRY(sweep_config(base, s, plan->first, j, &cfg, err));
    PD_TRY(sweep_session_dir(dir, s, plan->first, cfg.seed, first_sess, sizeof first_sess, err));
    PD_TRY(sweep_config(base, s, i, j, &cfg, err));
    PD_TRY(sweep_session_dir(dir, s, i, cfg.seed, sess, sizeof sess, err));
    if (s->cont && sweep_session_has(sess, PIPELINE_ALL_STAGES))
        return PD_OK; /* finished before the stop */
    return pipeline_seed_reuse(sess, first_sess, err);
}

/* Run the stages in mask of value i with seed number j (resume: the session holds its earlier stages) on threads
 * threads (0: the configured number). */
static pd_status sweep_exec_on(const pd_config *base, const sweep_spec *s, int i, int j, const char *dir,
                               unsigned mask, int resume, int threads, const pd_callbacks *cb, pd_error *err)
{
    pd_config cfg;
    PD_TRY(sweep_config(base, s, i, j, &cfg, err));
    if (threads > 0)
        cfg.threads = threads;
    char sess[PD_PATH_MAX];
    PD_TRY(sweep_session_dir(dir, s, i, cfg.seed, sess, sizeof sess, err));
    if (s->cont && sweep_session_has(sess, mask))
        return PD_OK; /* done before the stop */
    pd_pipeline *p;
    PD_TRY(pipeline_open(&p, &cfg, sess, cb, err));
    pd_status st = pipeline_run(p, mask, resume || s->cont, err);
    pipeline_free(p);
    if (st != PD_OK)
        error_prefix(err, "sweep %s=%s seed %" PRIu64, s->key, s->values[i], cfg.seed);
    return st;
}

static pd_status sweep_exec(const pd_config *base, const sweep_spec *s, int i, int j, const char *dir,
                            unsigned mask, int resume, const pd_callbacks *cb, pd_error *err)
{
    return sweep_exec_on(base, s, i, j, dir, mask, resume, 0, cb, err);
}

/* Run value i with seed number j; seed_from: the session to share the stages before plan->upto with (NULL:
 * run everything). */
static pd_status sweep_one(const pd_config *base, const sweep_spec *s, int i, int j, const char *dir,
                           const char *seed_from, const sweep_plan *plan, const pd_callbacks *cb, pd_error *err)
{
    if (seed_from)
        PD_TRY(sweep_seed(base, s, i, j, dir, seed_from, plan, err));
    pd_config cfg;
    PD_TRY(sweep_config(base, s, i, j, &cfg, err));
    char sess[PD_PATH_MAX];
    PD_TRY(sweep_session_dir(dir, s, i, cfg.seed, sess, sizeof sess, err));
    progress_log(cb, "sweep: %s=%s seed %" PRIu64 " -> %s%s%s", s->key, s->values[i], cfg.seed, sess,
                 seed_from ? ": sharing the stages before " : "",
                 seed_from ? pipeline_stage_name(sweep_shared_upto(plan)) : "");
    return sweep_exec(base, s, i, j, dir, PIPELINE_ALL_STAGES, seed_from != NULL, cb, err);
}

/* dir/sweep.csv and dir/sweep.tex, the combined tables (atomic) */
static pd_status sweep_write_tables(const char *dir, pd_error *err)
{
    static const char *const names[2] = {"sweep.csv", "sweep.tex"};
    static const pd_report_format fmts[2] = {PD_REPORT_CSV, PD_REPORT_LATEX};
    for (int i = 0; i < 2; i++) {
        char path[PD_PATH_MAX];
        pd_atomic_file f;
        PD_TRY(path_join(path, sizeof path, dir, names[i], err));
        PD_TRY(atomic_open(&f, path, err));
        pd_status st = sweep_report(dir, fmts[i], f.fp, err);
        if (st != PD_OK) {
            atomic_abort(&f);
            return st;
        }
        PD_TRY(atomic_commit(&f, err));
    }
    return PD_OK;
}

/* Parse and check every run's settings before anything runs. */
static pd_status sweep_check(const pd_config *base, const char *spec, int n_seeds, sweep_spec *s, pd_error *err)
{
    PD_TRY(sweep_parse(spec, n_seeds, s, err));
    if (s->n_seeds > 1 && base->seed > UINT64_MAX - (uint64_t)(s->n_seeds - 1))
        return error_set(err, PD_ERR_CONFIG, "--seeds %d: seed %" PRIu64 " + %d does not fit in 64 bits",
                         s->n_seeds, base->seed, s->n_seeds - 1);
    for (int i = 0; i < s->n; i++) {
        pd_config cfg;
        PD_TRY(sweep_config(base, s, i, 0, &cfg, err));
    }
    return PD_OK;
}

/* ------------------------------------------------------------------ the points' own training side by side */
/* With sharing, what every point trains on its own is the AE and the DDPM (the stages from the shared ones up to
 * generate). Their steps are too small to keep many threads busy (doc/findings.md §4), so in one process on the CPU
 * with 2 threads or more the points of a seed train them side by side, up to SWEEP_SIDE_MAX at a time, the threads
 * split between them. A CPU run does not depend on the thread count (backend.h), so every session ends as it would
 * one point after the other. generate and analyze then run one point after the other, the first point first: the
 * others reuse its evaluations (state/reuse.bin). Only the first point's progress and losses reach the callbacks;
 * every point's log lines do, with the point named. */
#define SWEEP_SIDE_MAX 8

typedef struct {
    pthread_mutex_t lock;
    const pd_callbacks *cb;
} sweep_side_hub;

typedef struct {
    sweep_side_hub *hub;
    const pd_config *base;
    const sweep_spec *s;
    const char *dir;
    int i, j, threads, lead;
    unsigned mask;
    pd_callbacks cb;
    pd_status st;
    pd_error err;
} sweep_side;

static void sweep_side_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    sweep_side *w = ud;
    pthread_mutex_lock(&w->hub->lock);
    if (w->lead && w->hub->cb && w->hub->cb->on_progress)
        w->hub->cb->on_progress(w->hub->cb->ud, stage, done, total);
    pthread_mutex_unlock(&w->hub->lock);
}

static void sweep_side_metric(void *ud, const char *stage, int64_t step, double loss, double acc)
{
    sweep_side *w = ud;
    pthread_mutex_lock(&w->hub->lock);
    if (w->lead && w->hub->cb && w->hub->cb->on_metric)
        w->hub->cb->on_metric(w->hub->cb->ud, stage, step, loss, acc);
    pthread_mutex_unlock(&w->hub->lock);
}

static void sweep_side_stage(void *ud, const char *stage, int started)
{
    sweep_side *w = ud;
    pthread_mutex_lock(&w->hub->lock);
    if (w->lead && w->hub->cb && w->hub->cb->on_stage)
        w->hub->cb->on_stage(w->hub->cb->ud, stage, started);
    pthread_mutex_unlock(&w->hub->lock);
}

static void sweep_side_log(void *ud, const char *line)
{
    sweep_side *w = ud;
    pthread_mutex_lock(&w->hub->lock);
    if (w->hub->cb && w->hub->cb->on_log) {
        char buf[1024];
        snprintf(buf, sizeof buf, "[%s=%s] %s", w->s->key, w->s->values[w->i], line);
        w->hub->cb->on_log(w->hub->cb->ud, buf);
    }
    pthread_mutex_unlock(&w->hub->lock);
}

static int sweep_side_cancel(void *ud)
{
    sweep_side *w = ud;
    pthread_mutex_lock(&w->hub->lock);
    int c = progress_cancelled(w->hub->cb);
    pthread_mutex_unlock(&w->hub->lock);
    return c;
}

static void *sweep_side_main(void *arg)
{
    sweep_side *w = arg;
    w->st = sweep_exec_on(w->base, w->s, w->i, w->j, w->dir, w->mask, 1, w->threads, &w->cb, &w->err);
    return NULL;
}

/* The threads a run of base gets when at least 2 on the CPU in one process, else 0 (no side by side). */
static int sweep_side_threads(const pd_config *base)
{
    int t = backend_cpu_threads(base->threads);
    return strcmp(base->device, "cpu") == 0 && comm_world()->size == 1 && t >= 2 ? t : 0;
}

/* The stages in mask of the values in order[0..n) (the first value first) side by side, threads split. */
static pd_status sweep_side_batch(const pd_config *base, const sweep_spec *s, const int *order, int n, int j,
                                  const char *dir, unsigned mask, int threads, const pd_callbacks *cb, pd_error *err)
{
    sweep_side_hub hub = {.cb = cb};
    pthread_mutex_init(&hub.lock, NULL);
    sweep_side w[SWEEP_SIDE_MAX];
    pthread_t tid[SWEEP_SIDE_MAX];
    int started[SWEEP_SIDE_MAX] = {0};
    for (int k = 0; k < n; k++) {
        w[k] = (sweep_side){.hub = &hub, .base = base, .s = s, .dir = dir, .i = order[k], .j = j, .lead = k == 0,
                            .threads = threads / n + (k < threads % n), .mask = mask, .st = PD_OK};
        w[k].cb = (pd_callbacks){.on_progress = sweep_side_progress, .on_metric = sweep_side_metric,
                                 .on_log = sweep_side_log, .should_cancel = sweep_side_cancel,
                                 .on_stage = sweep_side_stage, .ud = &w[k]};
        started[k] = k > 0 && pthread_create(&tid[k], NULL, sweep_side_main, &w[k]) == 0;
        if (k > 0 && !started[k])
            sweep_side_main(&w[k]); /* no thread to be had: this one now */
    }
    sweep_side_main(&w[0]);
    pd_status st = PD_OK;
    for (int k = 0; k < n; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        if (st == PD_OK && w[k].st != PD_OK) {
            st = w[k].st;
            if (err)
                *err = w[k].err;
        }
    }
    pthread_mutex_destroy(&hub.lock);
    return st;
}

/* Seed number j of a sweep whose points train their own stages side by side: the first value's shared stages, the
 * copies, the own training in batches of up to `threads` values (at most SWEEP_SIDE_MAX), then generate and analyze
 * one after the other. */
static pd_status sweep_side_seed(const pd_config *base, const sweep_spec *s, const sweep_plan *plan, int j,
                                 const char *dir, const char *first_sess, int threads, const pd_callbacks *cb,
                                 pd_error *err)
{
    unsigned before = (1u << sweep_shared_upto(plan)) - 1u;
    unsigned own = ((1u << PD_STAGE_GENERATE) - 1u) & ~before;
    int first = plan->first, order[SWEEP_MAX_VALUES];
    for (int k = 0; k < s->n; k++)
        order[k] = sweep_value_at(plan, k);
    char names[64] = "";
    for (int t = 0; t < PD_STAGE_GENERATE; t++)
        if (own & (1u << t)) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", len ? " " : "", pipeline_stage_name((pd_stage)t));
        }
    progress_log(cb, "sweep: %s=%s seed number %d -> %s: the shared stages; then every value's own stages (%s) side "
                 "by side on %d threads", s->key, s->values[first], j + 1, first_sess, names, threads);
    PD_TRY(sweep_exec(base, s, first, j, dir, before, 0, cb, err));
    for (int k = 1; k < s->n; k++)
        PD_TRY(sweep_seed(base, s, order[k], j, dir, first_sess, plan, err));
    int per = threads < SWEEP_SIDE_MAX ? threads : SWEEP_SIDE_MAX;
    for (int k = 0; k < s->n; k += per) {
        int n = s->n - k < per ? s->n - k : per;
        PD_TRY(sweep_side_batch(base, s, order + k, n, j, dir, own, threads, cb, err));
    }
    for (int k = 0; k < s->n; k++) {
        if (k > 0) /* the first value's evaluations, now that it has them */
            PD_TRY(sweep_reuse_first(base, s, plan, order[k], j, dir, err));
        progress_log(cb, "sweep: %s=%s seed number %d: generate and analyze", s->key, s->values[order[k]], j + 1);
        PD_TRY(sweep_exec(base, s, order[k], j, dir, PIPELINE_ALL_STAGES, 1, cb, err));
    }
    return PD_OK;
}

static pd_status sweep_run_all(const pd_config *base, const sweep_spec *s, const char *dir, const pd_callbacks *cb,
                               pd_error *err)
{
    sweep_plan plan = sweep_make_plan(base, s);
    int share = plan.upto > PD_STAGE_TRAIN;
    /* side by side when the points share stages and then train an AE or a DDPM of their own */
    int side = share && sweep_shared_upto(&plan) < PD_STAGE_GENERATE ? sweep_side_threads(base) : 0;
    for (int j = 0; j < sweep_seed_count(s); j++) {
        pd_config cfg;
        char first_sess[PD_PATH_MAX];
        PD_TRY(sweep_config(base, s, plan.first, j, &cfg, err));
        PD_TRY(sweep_session_dir(dir, s, plan.first, cfg.seed, first_sess, sizeof first_sess, err));
        if (side && s->n > 1) {
            PD_TRY(sweep_side_seed(base, s, &plan, j, dir, first_sess, side, cb, err));
            continue;
        }
        PD_TRY(sweep_one(base, s, plan.first, j, dir, NULL, &plan, cb, err));
        for (int i = 0; i < s->n; i++)
            if (i != plan.first)
                PD_TRY(sweep_one(base, s, i, j, dir, share ? first_sess : NULL, &plan, cb, err));
    }
    return PD_OK;
}

/* ------------------------------------------------------------------------- a job of several ranks (comm.h) */

/* The group rank belongs to: groups of contiguous ranks, as even as can be (comm_block). */
static int sweep_group_of(int rank, int size, int groups)
{
    for (int g = 0; g < groups; g++) {
        int64_t lo, hi;
        comm_block(size, g, groups, &lo, &hi);
        if (rank >= lo && rank < hi)
            return g;
    }
    return groups - 1;
}

typedef struct {
    const pd_config *base;
    const sweep_spec *s;
    const char *dir;
    const sweep_plan *plan;
    const pd_callbacks *cb;
    const pd_comm *world;
    int share;         /* the runs share stages with their seed's first value (they resume its copy) */
    pd_comm *grp;      /* this rank's group in the phase; its rank 0 (the leader) runs the group's runs */
    int group, groups;
} sweep_job;

/* What a phase of a job runs: the shared stages of every seed; every run; with a shared collection, every run's
 * own stages before generate, then the first value's runs (whose evaluations the others take), then the others. */
typedef enum { SWEEP_PART_SHARED, SWEEP_PART_ALL, SWEEP_PART_OWN, SWEEP_PART_FIRST, SWEEP_PART_REST } sweep_part;

/* Sharing: the first value of seed number j runs the shared stages in group j % groups, whose leader then seeds
 * the seed's other sessions from it (while it is not written to). */
static pd_status sweep_job_shared(sweep_job *w, pd_error *err)
{
    unsigned before = (1u << sweep_shared_upto(w->plan)) - 1u;
    int first = w->plan->first;
    for (int j = 0; j < sweep_seed_count(w->s); j++) {
        if (j % w->groups != w->group)
            continue;
        pd_config cfg;
        char sess[PD_PATH_MAX];
        PD_TRY(sweep_config(w->base, w->s, first, j, &cfg, err));
        PD_TRY(sweep_session_dir(w->dir, w->s, first, cfg.seed, sess, sizeof sess, err));
        progress_log(w->cb, "sweep: group %d: %s=%s seed %" PRIu64 ", the shared stages -> %s", w->group, w->s->key,
                     w->s->values[first], cfg.seed, sess);
        PD_TRY(sweep_exec(w->base, w->s, first, j, w->dir, before, 0, w->cb, err));
        for (int i = 0; i < w->s->n; i++)
            if (i != first)
                PD_TRY(sweep_seed(w->base, w->s, i, j, w->dir, sess, w->plan, err));
    }
    return PD_OK;
}

/* The runs of a part (not SWEEP_PART_SHARED): run number r of the part in group r % groups, seed by seed, the
 * first value first. After a first value's run its leader hands its evaluations to the seed's other sessions. */
static pd_status sweep_job_runs(sweep_job *w, sweep_part part, pd_error *err)
{
    int r = 0, first = w->plan->first;
    unsigned before = (1u << sweep_shared_upto(w->plan)) - 1u;
    unsigned mask = part == SWEEP_PART_OWN ? ((1u << PD_STAGE_GENERATE) - 1u) & ~before : PIPELINE_ALL_STAGES;
    for (int j = 0; j < sweep_seed_count(w->s); j++)
        for (int k = 0; k < w->s->n; k++) {
            int i = sweep_value_at(w->plan, k);
            if ((part == SWEEP_PART_FIRST && k > 0) || (part == SWEEP_PART_REST && k == 0) ||
                r++ % w->groups != w->group)
                continue;
            progress_log(w->cb, "sweep: group %d: %s=%s, seed number %d%s", w->group, w->s->key, w->s->values[i],
                         j + 1, part == SWEEP_PART_OWN ? ", its own stages before generate" : "");
            PD_TRY(sweep_exec(w->base, w->s, i, j, w->dir, mask, w->share, w->cb, err));
            for (int o = 0; part == SWEEP_PART_FIRST && o < w->s->n; o++)
                if (o != first)
                    PD_TRY(sweep_reuse_first(w->base, w->s, w->plan, o, j, w->dir, err));
        }
    return PD_OK;
}

/* How many runs a part has (the number of groups it can use). */
static int sweep_part_runs(const sweep_spec *s, sweep_part part)
{
    int seeds = sweep_seed_count(s);
    return part == SWEEP_PART_SHARED || part == SWEEP_PART_FIRST ? seeds
           : part == SWEEP_PART_REST                            ? (s->n - 1) * seeds
                                                                : s->n * seeds;
}

/* One phase: the ranks form min(ranks, runs of the part) groups; each group's leader does its share while the
 * group's other ranks serve its evaluations; then every rank waits for all. */
static pd_status sweep_job_phase(sweep_job *w, sweep_part part, pd_error *err)
{
    int runs = sweep_part_runs(w->s, part);
    w->groups = w->world->size < runs ? w->world->size : runs;
    w->group = sweep_group_of(w->world->rank, w->world->size, w->groups);
    PD_TRY(w->world->split(w->world, w->group, &w->grp, err));
    static const char *const what[] = {"the shared stages", "every run", "every run's own stages before generate",
                                       "the first value's runs", "the other values' runs"};
    progress_log(w->cb, "sweep: %s: %d run%s over %d group%s of ranks", what[part], runs, runs == 1 ? "" : "s",
                 w->groups, w->groups == 1 ? "" : "s");
    comm_install(w->grp);
    pd_status st;
    if (w->grp->rank == 0) {
        st = part == SWEEP_PART_SHARED ? sweep_job_shared(w, err) : sweep_job_runs(w, part, err);
        if (st == PD_OK && pipeline_ranks_end() != 0)
            st = error_set(err, PD_ERR_INTERNAL, "sweep: the ranks of group %d are out of step", w->group);
    } else {
        st = pipeline_worker_serve(NULL, err);
    }
    comm_install(w->world);
    comm_free(w->grp);
    w->grp = NULL;
    if (st == PD_OK)
        st = w->world->barrier(w->world, err);
    return st;
}

/* A sweep spread over groups of ranks; each session's results are those of one process. Without sharing every run
 * in full, the runs in min(ranks, runs) groups. With sharing, first the shared stages (one group per seed) and the
 * copies. When the points share the collection, the others reuse the first value's evaluations (eval_reuse.h), so
 * that must be finished first: every run's own stages before generate, then the first values' remaining stages
 * (all the ranks evaluate for them), then the others'. Otherwise every run's remaining stages at once. */
static pd_status sweep_run_job(const pd_config *base, const sweep_spec *s, const char *dir, const pd_callbacks *cb,
                               pd_error *err)
{
    sweep_plan plan = sweep_make_plan(base, s);
    sweep_job w = {.base = base, .s = s, .dir = dir, .plan = &plan, .cb = cb, .world = comm_world()};
    w.share = plan.upto > PD_STAGE_TRAIN;
    pd_stage upto = sweep_shared_upto(&plan);
    if (w.share)
        PD_TRY(sweep_job_phase(&w, SWEEP_PART_SHARED, err));
    if (!w.share || upto <= PD_STAGE_COLLECT || s->n < 2)
        return sweep_job_phase(&w, SWEEP_PART_ALL, err);
    if (upto < PD_STAGE_GENERATE)
        PD_TRY(sweep_job_phase(&w, SWEEP_PART_OWN, err));
    PD_TRY(sweep_job_phase(&w, SWEEP_PART_FIRST, err));
    return sweep_job_phase(&w, SWEEP_PART_REST, err);
}

/* ------------------------------------------------------------------------------------------- the dry run */

/* What run number k of a seed (0: the first value) takes from the first value, and where it starts. */
static void sweep_dry_reuse(const sweep_spec *s, const sweep_plan *plan, int k, const pd_config *cfg,
                            sweep_dry_run *r)
{
    pd_stage upto = sweep_shared_upto(plan);
    r->from = k > 0 && plan->upto > PD_STAGE_TRAIN ? upto : PD_STAGE_TRAIN;
    if (k == 0 || upto <= PD_STAGE_COLLECT)
        return; /* its own collection: nothing to take */
    if (upto <= PD_STAGE_GENERATE) /* the originals (and the ensemble, unless it takes a slice of them) */
        r->reused_generate = plan->k_slice ? cfg->k : cfg->k + 1;
    if (!plan->k_slice && sweep_first_stage(s->key) < PD_STAGE_ANALYZE) /* the comparison models */
        r->reused_analyze = r->pl->eval_analyze;
}

/* The estimate of one run: its value's stages from r->from, less the evaluations it takes. */
static void sweep_dry_estimate(sweep_dry_run *r)
{
    const pd_plan *pl = r->pl;
    r->evaluated = (r->from <= PD_STAGE_GENERATE ? pl->eval_generate : 0) + pl->eval_analyze - r->reused_generate -
                   r->reused_analyze;
    for (int t = r->from; t < PD_STAGE_COUNT; t++) {
        r->seconds += pl->stage[t].seconds;
        r->bytes = pl->stage[t].bytes > r->bytes ? pl->stage[t].bytes : r->bytes;
    }
    r->seconds -= r->reused_generate * pl->stage[PD_STAGE_GENERATE].unit_seconds +
                  r->reused_analyze * pl->stage[PD_STAGE_ANALYZE].unit_seconds;
    r->seconds = r->seconds > 0.0 ? r->seconds : 0.0;
}

static pd_status sweep_dry_runs(sweep_dry *d, const pd_config *base, const sweep_spec *s, pd_error *err)
{
    sweep_plan plan = sweep_make_plan(base, s);
    d->shared_upto = plan.upto > PD_STAGE_TRAIN ? sweep_shared_upto(&plan) : PD_STAGE_TRAIN;
    for (int j = 0, n = 0; j < d->seeds; j++)
        for (int k = 0; k < s->n; k++, n++) {
            int i = sweep_value_at(&plan, k);
            sweep_dry_run *r = &d->runs[n];
            pd_config cfg;
            PD_TRY(sweep_config(base, s, i, j, &cfg, err));
            PD_TRY(sweep_session_name(s, i, cfg.seed, r->session, sizeof r->session, err));
            r->pl = &d->plans[i];
            sweep_dry_reuse(s, &plan, k, &cfg, r);
            sweep_dry_estimate(r);
            d->total_seconds += r->seconds;
            d->separate_seconds += r->pl->total_seconds;
            d->peak_bytes = r->bytes > d->peak_bytes ? r->bytes : d->peak_bytes;
        }
    return PD_OK;
}

/* Keys whose values give the same plan: no size, count or unit of work depends on them, only numbers inside the
 * work (seeds, rates, noise levels, how the vectors are scaled). */
static int sweep_same_plan(const char *key)
{
    static const char *const keys[] = {"seed",   "gen_seed",     "latent_noise", "input_noise", "lr",
                                       "momentum", "weight_decay", "collect_lr", "ae_lr",      "ae_weight_decay",
                                       "ddpm_lr",  "ddpm_weight_decay", "normalize"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

pd_status sweep_dry_compute(sweep_dry *d, const pd_config *base, const char *spec, int n_seeds, int measure,
                            pd_error *err)
{
    memset(d, 0, sizeof *d);
    sweep_spec *s = malloc(sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    pd_status st = sweep_check(base, spec, n_seeds, s, err);
    if (st == PD_OK) {
        snprintf(d->key, sizeof d->key, "%s", s->key);
        d->values = s->n;
        d->seeds = sweep_seed_count(s);
        d->n = d->values * d->seeds;
        d->runs = calloc((size_t)d->n, sizeof *d->runs);
        d->plans = calloc((size_t)d->values, sizeof *d->plans);
        if (!d->runs || !d->plans)
            st = error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    }
    /* one plan per value (the seed changes no size); the values of a key that changes no size, count or unit of
     * work take the first one's plan instead of measuring the same work again (and getting other noise) */
    int same = st == PD_OK && sweep_same_plan(s->key);
    for (int i = 0; st == PD_OK && i < s->n; i++) {
        pd_config cfg;
        st = sweep_config(base, s, i, 0, &cfg, err);
        if (st == PD_OK && same && i > 0)
            d->plans[i] = d->plans[0];
        else if (st == PD_OK && (st = plan_compute(&d->plans[i], &cfg, measure, NULL, err)) == PD_OK) {
            d->measure_seconds += d->plans[i].measure_seconds;
            d->plans_computed++;
        }
        if (st != PD_OK)
            error_prefix(err, "sweep %s=%s", s->key, s->values[i]);
    }
    if (st == PD_OK)
        st = sweep_dry_runs(d, base, s, err);
    free(s);
    return st;
}

void sweep_dry_free(sweep_dry *d)
{
    free(d->runs);
    free(d->plans);
    d->runs = NULL;
    d->plans = NULL;
}

pd_status sweep_validate(const pd_config *base, const char *spec, int n_seeds, pd_error *err)
{
    sweep_spec *s = malloc(sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    pd_status st = sweep_check(base, spec, n_seeds, s, err);
    free(s);
    return st;
}

/* The parsed, checked sweep (*out, to free) and whether dir holds a stopped run of it (s->cont). */
static pd_status sweep_open_spec(const pd_config *base, const char *spec, int n_seeds, const char *dir,
                                 sweep_spec **out, pd_error *err)
{
    sweep_spec *s = *out = malloc(sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    PD_TRY(sweep_check(base, spec, n_seeds, s, err));
    return sweep_continuing(dir, base, s, err);
}

pd_status sweep_check_dir(const pd_config *base, const char *spec, int n_seeds, const char *dir, int *continuing,
                          pd_error *err)
{
    sweep_spec *s;
    pd_status st = sweep_open_spec(base, spec, n_seeds, dir, &s, err);
    if (continuing)
        *continuing = st == PD_OK && s->cont;
    free(s);
    return st;
}

pd_status sweep_run(const pd_config *base, const char *spec, int n_seeds, const char *dir, const pd_callbacks *cb,
                    pd_error *err)
{
    const pd_comm *world = comm_world();
    sweep_spec *s;
    pd_status st = sweep_open_spec(base, spec, n_seeds, dir, &s, err);
    if (st == PD_OK && world->size > 1) /* every rank has read the folder before rank 0 writes the index */
        st = world->barrier(world, err);
    if (st == PD_OK && world->rank == 0)
        st = atomic_mkdirs(dir, err);
    if (st == PD_OK && world->rank == 0)
        st = sweep_write_index(dir, base, s, err);
    if (st == PD_OK && world->size > 1)
        st = world->barrier(world, err);
    if (st == PD_OK)
        st = world->size > 1 ? sweep_run_job(base, s, dir, cb, err) : sweep_run_all(base, s, dir, cb, err);
    if (st == PD_OK && world->rank == 0)
        st = sweep_write_tables(dir, err);
    free(s);
    return st;
}
