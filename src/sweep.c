/* sweep.c — one session per value and seed, shared early stages (see sweep.h; the tables: sweep_report.c). */
#include "sweep.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "csvio.h"
#include "path.h"

#define SWEEP_MAX_VALUES 64

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

typedef struct {
    char key[64];
    int n;
    int n_seeds; /* as given: 0 = one run per value at the configured seed, folders KEY-VALUE */
    char values[SWEEP_MAX_VALUES][PD_CONFIG_STR];
} sweep_spec;

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

static int sweep_seed_count(const sweep_spec *s)
{
    return s->n_seeds > 0 ? s->n_seeds : 1;
}

/* The configuration of value i, seed number j (seed = the base seed + j when --seeds is given). */
static pd_status sweep_config(const pd_config *base, const sweep_spec *s, int i, int j, pd_config *cfg,
                              pd_error *err)
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

static pd_status sweep_session_dir(const char *dir, const sweep_spec *s, int i, uint64_t seed, char *out,
                                   size_t size, pd_error *err)
{
    char name[PD_PATH_MAX];
    PD_TRY(sweep_session_name(s, i, seed, name, sizeof name, err));
    return path_join(out, size, dir, name, err);
}

/* dir/sweep_index.csv: key,value,seed,session; per value, its seeds in order */
static pd_status sweep_write_index(const char *dir, const pd_config *base, const sweep_spec *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "sweep_index.csv", err));
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, path, err));
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

/* Run value i with seed number j; seed_from: the session to share the stages before plan->upto with (NULL:
 * run everything). */
static pd_status sweep_one(const pd_config *base, const sweep_spec *s, int i, int j, const char *dir,
                           const char *seed_from, const sweep_plan *plan, const pd_callbacks *cb, pd_error *err)
{
    pd_config cfg;
    PD_TRY(sweep_config(base, s, i, j, &cfg, err));
    char sess[PD_PATH_MAX];
    PD_TRY(sweep_session_dir(dir, s, i, cfg.seed, sess, sizeof sess, err));
    pd_stage upto = plan->k_slice ? PD_STAGE_AE : plan->upto;
    if (seed_from)
        PD_TRY(pipeline_seed_session(sess, seed_from, upto, plan->k_slice ? cfg.k : 0, err));
    progress_log(cb, "sweep: %s=%s seed %" PRIu64 " -> %s%s%s", s->key, s->values[i], cfg.seed, sess,
                 seed_from ? ": sharing the stages before " : "", seed_from ? pipeline_stage_name(upto) : "");
    pd_pipeline *p;
    PD_TRY(pipeline_open(&p, &cfg, sess, cb, err));
    pd_status st = pipeline_run(p, PIPELINE_ALL_STAGES, seed_from != NULL, err);
    pipeline_free(p);
    if (st != PD_OK)
        error_prefix(err, "sweep %s=%s seed %" PRIu64, s->key, s->values[i], cfg.seed);
    return st;
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

static pd_status sweep_run_all(const pd_config *base, const sweep_spec *s, const char *dir, const pd_callbacks *cb,
                               pd_error *err)
{
    sweep_plan plan = sweep_make_plan(base, s);
    int share = plan.upto > PD_STAGE_TRAIN;
    for (int j = 0; j < sweep_seed_count(s); j++) {
        pd_config cfg;
        char first_sess[PD_PATH_MAX];
        PD_TRY(sweep_config(base, s, plan.first, j, &cfg, err));
        PD_TRY(sweep_session_dir(dir, s, plan.first, cfg.seed, first_sess, sizeof first_sess, err));
        PD_TRY(sweep_one(base, s, plan.first, j, dir, NULL, &plan, cb, err));
        for (int i = 0; i < s->n; i++)
            if (i != plan.first)
                PD_TRY(sweep_one(base, s, i, j, dir, share ? first_sess : NULL, &plan, cb, err));
    }
    return PD_OK;
}

pd_status sweep_run(const pd_config *base, const char *spec, int n_seeds, const char *dir, const pd_callbacks *cb,
                    pd_error *err)
{
    sweep_spec *s = malloc(sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    pd_status st = sweep_check(base, spec, n_seeds, s, err);
    if (st == PD_OK)
        st = atomic_mkdirs(dir, err);
    if (st == PD_OK)
        st = sweep_write_index(dir, base, s, err);
    if (st == PD_OK)
        st = sweep_run_all(base, s, dir, cb, err);
    if (st == PD_OK)
        st = sweep_write_tables(dir, err);
    free(s);
    return st;
}
