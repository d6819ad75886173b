/* sweep.c — one session per value, shared early stages, a combined table (see sweep.h). */
#include "sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "csvio.h"
#include "path.h"
#include "results.h"

#define SWEEP_MAX_VALUES 64

static const struct {
    const char *key;
    pd_stage stage;
} sweep_stage_table[] = {
    {"target", PD_STAGE_COLLECT},         {"k", PD_STAGE_COLLECT},
    {"save_every", PD_STAGE_COLLECT},     {"collect_lr", PD_STAGE_COLLECT},
    {"ae", PD_STAGE_AE},                  {"ae_fold", PD_STAGE_AE},
    {"ae_kernel", PD_STAGE_AE},           {"ae_enc", PD_STAGE_AE},
    {"ae_dec", PD_STAGE_AE},              {"ae_steps", PD_STAGE_AE},
    {"ae_batch", PD_STAGE_AE},            {"ae_lr", PD_STAGE_AE},
    {"ae_weight_decay", PD_STAGE_AE},     {"input_noise", PD_STAGE_AE},
    {"latent_noise", PD_STAGE_AE},        {"standardize", PD_STAGE_AE},
    {"ddpm_steps", PD_STAGE_DDPM},        {"ddpm_batch", PD_STAGE_DDPM},
    {"ddpm_lr", PD_STAGE_DDPM},           {"ddpm_weight_decay", PD_STAGE_DDPM},
    {"ddpm_channels", PD_STAGE_DDPM},     {"timesteps", PD_STAGE_DDPM},
    {"beta_start", PD_STAGE_DDPM},        {"beta_end", PD_STAGE_DDPM},
    {"sampler", PD_STAGE_GENERATE},       {"ddim_steps", PD_STAGE_GENERATE},
    {"n_generate", PD_STAGE_GENERATE},    {"n_recon", PD_STAGE_GENERATE},
    {"n_noise", PD_STAGE_ANALYZE},        {"noise_sigmas", PD_STAGE_ANALYZE},
    {"n_finetune", PD_STAGE_ANALYZE},     {"finetune_steps", PD_STAGE_ANALYZE},
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
    char values[SWEEP_MAX_VALUES][PD_CONFIG_STR];
} sweep_spec;

static pd_status sweep_parse(const char *spec, sweep_spec *s, pd_error *err)
{
    memset(s, 0, sizeof *s);
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
    if (strcmp(s->key, "preset") == 0 || strcmp(s->key, "seed") == 0 || strcmp(s->key, "threads") == 0)
        return PD_OK;
    if (!config_key_find(s->key))
        return error_set(err, PD_ERR_CONFIG, "%s: unknown key (see pdiff --help for the list)", s->key);
    return PD_OK;
}

/* folder name for a value: KEY-VALUE with characters unsafe in file names replaced */
static pd_status sweep_session_name(const char *key, const char *value, char *out, size_t size, pd_error *err)
{
    PD_TRY(path_format(out, size, err, "%s-%s", key, value));
    for (char *c = out + strlen(key) + 1; *c; c++)
        if (*c == '/' || *c == ',' || *c == ':' || *c == ' ' || *c == '*' || *c == '?')
            *c = '_';
    return PD_OK;
}

/* dir/KEY-VALUE */
static pd_status sweep_session_dir(const char *dir, const char *key, const char *value, char *out, size_t size,
                                   pd_error *err)
{
    char name[PD_PATH_MAX];
    PD_TRY(sweep_session_name(key, value, name, sizeof name, err));
    return path_join(out, size, dir, name, err);
}

static pd_status sweep_write_index(const char *dir, const sweep_spec *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "sweep_index.csv", err));
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, path, err));
    csvio_text(w, "key");
    csvio_text(w, "value");
    csvio_text(w, "session");
    csvio_endrow(w);
    for (int i = 0; i < s->n; i++) {
        char sess[PD_PATH_MAX];
        pd_status st = sweep_session_name(s->key, s->values[i], sess, sizeof sess, err);
        if (st != PD_OK) {
            csvio_abort(w);
            return st;
        }
        csvio_text(w, s->key);
        csvio_text(w, s->values[i]);
        csvio_text(w, sess);
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}

static pd_status sweep_one(const pd_config *base, const sweep_spec *s, int i, const char *dir, const char *seed_from,
                           pd_stage upto, int32_t k_slice, const pd_callbacks *cb, pd_error *err)
{
    pd_config cfg = *base;
    PD_TRY(config_set(&cfg, s->key, s->values[i], err));
    PD_TRY(config_validate(&cfg, err));
    char sess[PD_PATH_MAX];
    PD_TRY(sweep_session_dir(dir, s->key, s->values[i], sess, sizeof sess, err));
    if (seed_from)
        PD_TRY(pipeline_seed_session(sess, seed_from, upto, k_slice, err));
    progress_log(cb, "sweep: %s=%s -> %s%s", s->key, s->values[i], sess, seed_from ? " (sharing earlier stages)" : "");
    pd_pipeline *p;
    PD_TRY(pipeline_open(&p, &cfg, sess, cb, err));
    pd_status st = pipeline_run(p, PIPELINE_ALL_STAGES, seed_from != NULL, err);
    pipeline_free(p);
    if (st != PD_OK)
        error_prefix(err, "sweep %s=%s", s->key, s->values[i]);
    return st;
}

/* dir/sweep.csv and dir/sweep.tex, the combined table (atomic) */
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

pd_status sweep_run(const pd_config *base, const char *spec, const char *dir, const pd_callbacks *cb,
                    pd_error *err)
{
    sweep_spec *s = malloc(sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    pd_status st = sweep_parse(spec, s, err);
    /* check every value before running anything */
    for (int i = 0; st == PD_OK && i < s->n; i++) {
        pd_config cfg = *base;
        st = config_set(&cfg, s->key, s->values[i], err);
        if (st == PD_OK)
            st = config_validate(&cfg, err);
    }
    if (st == PD_OK)
        st = atomic_mkdirs(dir, err);
    if (st == PD_OK)
        st = sweep_write_index(dir, s, err);
    pd_stage upto = sweep_first_stage(s->key);
    int first = 0;
    int is_k = strcmp(s->key, "k") == 0;
    if (is_k) /* the largest k first: the others take its first k checkpoints */
        for (int i = 1; i < s->n; i++)
            if (atol(s->values[i]) > atol(s->values[first]))
                first = i;
    char base_sess[PD_PATH_MAX];
    if (st == PD_OK)
        st = sweep_session_dir(dir, s->key, s->values[first], base_sess, sizeof base_sess, err);
    if (st == PD_OK)
        st = sweep_one(base, s, first, dir, NULL, upto, 0, cb, err);
    for (int i = 0; st == PD_OK && i < s->n; i++) {
        if (i == first)
            continue;
        int share = upto > PD_STAGE_TRAIN;
        st = sweep_one(base, s, i, dir, share ? base_sess : NULL, is_k ? PD_STAGE_AE : upto,
                       is_k ? (int32_t)atol(s->values[i]) : 0, cb, err);
    }
    if (st == PD_OK)
        st = sweep_write_tables(dir, err);
    free(s);
    return st;
}

pd_status sweep_report(const char *dir, pd_report_format f, FILE *out, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "sweep_index.csv", err));
    pd_csv_table idx;
    PD_TRY(csvio_read(path, &idx, err));
    int ck = csvio_column(&idx, "key"), cv = csvio_column(&idx, "value"), cs = csvio_column(&idx, "session");
    if (ck < 0 || cv < 0 || cs < 0 || idx.rows < 1) {
        csvio_free(&idx);
        return error_set(err, PD_ERR_FORMAT, "%s: expected columns key,value,session and at least one row", path);
    }
    int pct = f != PD_REPORT_CSV;
    char title[160];
    snprintf(title, sizeof title, "Ablation over %s: test accuracy%s and novelty", csvio_cell(&idx, 0, ck),
             pct ? " (%)" : "");
    pd_report_table t;
    report_table_init(&t, title, "sweep", 6);
    const char *head[6] = {csvio_cell(&idx, 0, ck), "original best", "p-diff best", "p-diff mean", "p-diff median",
                           "novelty"};
    pd_status st = report_table_row(&t, head, NULL, NULL);
    for (int64_t r = 0; st == PD_OK && r < idx.rows; r++) {
        char sess[PD_PATH_MAX];
        pd_results *res;
        st = path_join(sess, sizeof sess, dir, csvio_cell(&idx, r, cs), err);
        if (st == PD_OK)
            st = results_load(&res, sess, err);
        if (st != PD_OK)
            break;
        static const char *const metrics[5] = {"original_best", "pdiff_best", "pdiff_mean", "pdiff_median",
                                               "novelty"};
        double v[6] = {NAN};
        for (int j = 0; j < 5; j++)
            v[1 + j] = results_summary(res, metrics[j]) * (pct && j < 4 ? 100.0 : 1.0);
        results_free(res);
        const char *txt[6] = {csvio_cell(&idx, r, cv), NULL, NULL, NULL, NULL, NULL};
        st = report_table_row(&t, txt, v, pct ? "%.2f" : "%.6g");
    }
    if (st == PD_OK) {
        if (f == PD_REPORT_CSV) {
            pd_csv_writer *w;
            if (csvio_create_stream(&w, out, err) == PD_OK) {
                static const char *const h[4] = {"table", "kind", "metric", "value"};
                for (int i = 0; i < 4; i++)
                    csvio_text(w, h[i]);
                csvio_endrow(w);
                csvio_commit(w, NULL);
            }
        }
        report_table_print(&t, f, out);
    }
    report_table_free(&t);
    csvio_free(&idx);
    return st;
}
