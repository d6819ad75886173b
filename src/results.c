/* results.c — loading a session snapshot (see results.h). summary.csv and losses.csv come through session.c, their
 * one reader; config.csv (as text), similarity.csv and latents.csv are read here, their only readers as tables. */
#include "results.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csvio.h"
#include "path.h"
#include "session.h"
#include "similarity.h"

/* path = dir/name; *found = whether that file exists. */
static pd_status results_file(const pd_results *r, const char *name, char *path, size_t size, int *found,
                              pd_error *err)
{
    struct stat st;
    PD_TRY(path_join(path, size, r->dir, name, err));
    *found = stat(path, &st) == 0;
    return PD_OK;
}

/* config.csv as text, every row (settings and the run's records), with its own reader: config_load_csv reads the
 * same file into a pd_config, which keeps only the settings. */
static pd_status results_load_config(pd_results *r, pd_error *err)
{
    char path[PD_PATH_MAX];
    int found;
    PD_TRY(results_file(r, "config.csv", path, sizeof path, &found, err));
    if (!found)
        return error_set(err, PD_ERR_IO, "%s: not a session folder (no config.csv)", r->dir);
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int ck = csvio_column(&t, "key"), cv = csvio_column(&t, "value");
    r->key = calloc((size_t)t.rows + 1, sizeof *r->key);
    r->config_value = calloc((size_t)t.rows + 1, sizeof *r->config_value);
    pd_status st = r->key && r->config_value ? PD_OK : error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    if (st == PD_OK && (ck < 0 || cv < 0))
        st = error_set(err, PD_ERR_FORMAT, "%s: expected columns key,value", path);
    for (int64_t i = 0; st == PD_OK && i < t.rows; i++) {
        snprintf(r->key[i], sizeof r->key[i], "%s", csvio_cell(&t, i, ck));
        snprintf(r->config_value[i], sizeof r->config_value[i], "%s", csvio_cell(&t, i, cv));
        r->n_config++;
    }
    csvio_free(&t);
    return st;
}

static pd_status results_copy_summary(pd_results *r, const pd_session *s, pd_error *err)
{
    int n = session_summary_count(s);
    r->metric = calloc((size_t)n + 1, sizeof *r->metric);
    r->value = calloc((size_t)n + 1, sizeof *r->value);
    if (!r->metric || !r->value)
        return error_set(err, PD_ERR_NOMEM, "%s: summary: out of memory", r->dir);
    for (int i = 0; i < n; i++)
        snprintf(r->metric[i], sizeof r->metric[i], "%s", session_summary_at(s, i, &r->value[i]));
    r->n_summary = n;
    return PD_OK;
}

static pd_status results_copy_losses(pd_results *r, const pd_session *s, pd_error *err)
{
    int64_t n = session_loss_count(s);
    size_t cap = (size_t)n + 1;
    r->loss_stage = calloc(cap, sizeof *r->loss_stage);
    r->loss_step = calloc(cap, sizeof *r->loss_step);
    r->loss = calloc(cap, sizeof *r->loss);
    r->loss_accuracy = calloc(cap, sizeof *r->loss_accuracy);
    if (!r->loss_stage || !r->loss_step || !r->loss || !r->loss_accuracy)
        return error_set(err, PD_ERR_NOMEM, "%s: losses: out of memory", r->dir);
    for (int64_t i = 0; i < n; i++) {
        const char *stage;
        session_loss_at(s, i, &stage, &r->loss_step[i], &r->loss[i], &r->loss_accuracy[i]);
        snprintf(r->loss_stage[i], sizeof r->loss_stage[i], "%s", stage);
    }
    r->n_losses = n;
    return PD_OK;
}

/* summary.csv and losses.csv, through their one reader (session_open); missing files are empty tables. */
static pd_status results_load_session(pd_results *r, pd_error *err)
{
    pd_session *s;
    PD_TRY(session_open(&s, r->dir, 0, err));
    pd_status st = results_copy_summary(r, s, err);
    if (st == PD_OK)
        st = results_copy_losses(r, s, err);
    session_free(s);
    return st;
}

/* A model id cell: a whole number from 0 to n - 1 (an empty or 'nan' cell is none). */
static pd_status results_cell_id(const pd_csv_table *t, int64_t row, int col, int32_t n, int32_t *id, pd_error *err)
{
    double v;
    PD_TRY(csvio_cell_double(t, row, col, &v, err));
    if (!(v >= 0 && v < (double)n && v == floor(v)))
        return error_set(err, PD_ERR_FORMAT,
                         "%s:%lld: column '%s': not a model id (a whole number from 0 to %ld): '%.60s'", t->path,
                         (long long)row + 2, t->header[col], (long)n - 1, csvio_cell(t, row, col));
    *id = (int32_t)v;
    return PD_OK;
}

/* A number cell from lo to hi; an empty (or 'nan') cell only when may_be_empty, as NaN. */
static pd_status results_cell_num(const pd_csv_table *t, int64_t row, int col, double lo, double hi, int may_be_empty,
                                  double *out, pd_error *err)
{
    PD_TRY(csvio_cell_double(t, row, col, out, err));
    if ((*out >= lo && *out <= hi) || (may_be_empty && isnan(*out)))
        return PD_OK;
    char want[96];
    if (lo == -DBL_MAX && hi == DBL_MAX)
        snprintf(want, sizeof want, "a finite number");
    else
        snprintf(want, sizeof want, "a number from %g to %g%s", lo, hi, may_be_empty ? " or empty" : "");
    return error_set(err, PD_ERR_FORMAT, "%s:%lld: column '%s': not %s: '%.60s'", t->path, (long long)row + 2,
                     t->header[col], want, csvio_cell(t, row, col));
}

/* latents.csv (id, kind, tsne_x, tsne_y); ids name models of state/models.bin when it was read. */
static pd_status results_load_latents(pd_results *r, pd_error *err)
{
    char path[PD_PATH_MAX];
    int found;
    PD_TRY(results_file(r, "latents.csv", path, sizeof path, &found, err));
    if (!found)
        return PD_OK;
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int ci = csvio_column(&t, "id"), ck = csvio_column(&t, "kind"), cx = csvio_column(&t, "tsne_x"),
        cy = csvio_column(&t, "tsne_y");
    size_t n = (size_t)t.rows + 1;
    r->latent_id = calloc(n, sizeof *r->latent_id);
    r->latent_kind = calloc(n, sizeof *r->latent_kind);
    r->latent_x = calloc(n, sizeof *r->latent_x);
    r->latent_y = calloc(n, sizeof *r->latent_y);
    pd_status st = r->latent_id && r->latent_kind && r->latent_x && r->latent_y
                       ? PD_OK
                       : error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    if (st == PD_OK && (ci < 0 || ck < 0 || cx < 0 || cy < 0))
        st = error_set(err, PD_ERR_FORMAT, "%s: expected columns id,kind,tsne_x,tsne_y", path);
    int32_t n_ids = r->have_models ? r->zoo.n : INT32_MAX;
    for (int64_t i = 0; st == PD_OK && i < t.rows; i++) {
        st = results_cell_id(&t, i, ci, n_ids, &r->latent_id[i], err);
        if (st == PD_OK)
            st = results_cell_num(&t, i, cx, -DBL_MAX, DBL_MAX, 0, &r->latent_x[i], err);
        if (st == PD_OK)
            st = results_cell_num(&t, i, cy, -DBL_MAX, DBL_MAX, 0, &r->latent_y[i], err);
        snprintf(r->latent_kind[i], sizeof r->latent_kind[i], "%s", csvio_cell(&t, i, ck));
        r->n_latents++;
    }
    r->have_latents = st == PD_OK && r->n_latents > 0;
    csvio_free(&t);
    return st;
}

/* similarity.csv (a,b,iou with zoo ids, written by the analysis) into the p-diff x original matrix; pairs that are
 * not p-diff x original are skipped. */
static pd_status results_sim_from_csv(pd_results *r, const char *path, pd_error *err)
{
    const pd_zoo *z = &r->zoo;
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int ca = csvio_column(&t, "a"), cb = csvio_column(&t, "b"), cv = csvio_column(&t, "iou");
    pd_status st = ca >= 0 && cb >= 0 && cv >= 0 ? PD_OK
                                                 : error_set(err, PD_ERR_FORMAT, "%s: expected columns a,b,iou", path);
    /* zoo id -> row / column index */
    int32_t *row_of = calloc((size_t)z->n, sizeof *row_of), *col_of = calloc((size_t)z->n, sizeof *col_of);
    if (st == PD_OK && (!row_of || !col_of))
        st = error_set(err, PD_ERR_NOMEM, "results: out of memory");
    for (int32_t i = 0; st == PD_OK && i < z->n; i++)
        row_of[i] = col_of[i] = -1;
    for (int32_t i = 0; st == PD_OK && i < r->sim_rows; i++)
        row_of[r->sim_row_ids[i]] = i;
    for (int32_t i = 0; st == PD_OK && i < r->sim_cols; i++)
        col_of[r->sim_col_ids[i]] = i;
    for (int64_t i = 0; st == PD_OK && i < t.rows; i++) {
        int32_t a = 0, b = 0;
        double v = NAN;
        st = results_cell_id(&t, i, ca, z->n, &a, err);
        if (st == PD_OK)
            st = results_cell_id(&t, i, cb, z->n, &b, err);
        if (st == PD_OK)
            st = results_cell_num(&t, i, cv, 0, 1, 1, &v, err);
        if (st == PD_OK && row_of[a] >= 0 && col_of[b] >= 0)
            r->sim[(int64_t)row_of[a] * r->sim_cols + col_of[b]] = (float)v;
    }
    free(row_of);
    free(col_of);
    csvio_free(&t);
    r->have_similarity = st == PD_OK;
    return st;
}

/* The matrix computed from the kept predictions (when the analysis has not run). */
static pd_status results_sim_from_preds(pd_results *r, pd_error *err)
{
    const pd_zoo *z = &r->zoo;
    if (!z->labels)
        return PD_OK;
    pd_similarity_sets w;
    if (similarity_init(&w, z->preds, z->labels, z->n, z->n_test) != PD_OK)
        return error_set(err, PD_ERR_NOMEM, "results: out of memory");
    for (int32_t i = 0; i < r->sim_rows; i++)
        for (int32_t j = 0; j < r->sim_cols; j++)
            r->sim[(int64_t)i * r->sim_cols + j] = (float)similarity_iou(&w, r->sim_row_ids[i], r->sim_col_ids[j]);
    similarity_free(&w);
    r->have_similarity = 1;
    return PD_OK;
}

/* p-diff rows x original columns: from similarity.csv when present, else from the kept predictions. */
static pd_status results_load_similarity(pd_results *r, pd_error *err)
{
    if (!r->have_models)
        return PD_OK;
    const pd_zoo *z = &r->zoo;
    r->sim_rows = zoo_ids_of(z, "pdiff", NULL);
    r->sim_cols = zoo_ids_of(z, "original", NULL);
    if (r->sim_rows == 0 || r->sim_cols == 0)
        return PD_OK;
    r->sim_row_ids = malloc((size_t)r->sim_rows * sizeof(int32_t));
    r->sim_col_ids = malloc((size_t)r->sim_cols * sizeof(int32_t));
    r->sim = malloc((size_t)r->sim_rows * (size_t)r->sim_cols * sizeof(float));
    if (!r->sim_row_ids || !r->sim_col_ids || !r->sim)
        return error_set(err, PD_ERR_NOMEM, "results: out of memory");
    zoo_ids_of(z, "pdiff", r->sim_row_ids);
    zoo_ids_of(z, "original", r->sim_col_ids);
    for (int64_t i = 0; i < (int64_t)r->sim_rows * r->sim_cols; i++)
        r->sim[i] = NAN;
    char path[PD_PATH_MAX];
    int found;
    PD_TRY(results_file(r, "similarity.csv", path, sizeof path, &found, err));
    return found ? results_sim_from_csv(r, path, err) : results_sim_from_preds(r, err);
}

/* state/models.bin, when the generation stage has written it. */
static pd_status results_load_models(pd_results *r, pd_error *err)
{
    char path[PD_PATH_MAX];
    int found;
    PD_TRY(results_file(r, "state/models.bin", path, sizeof path, &found, err));
    if (!found)
        return PD_OK;
    PD_TRY(zoo_load(&r->zoo, path, err));
    r->have_models = 1;
    return PD_OK;
}

static void results_drop_models(pd_results *r)
{
    if (r->have_models)
        zoo_free(&r->zoo);
    r->have_models = 0;
}

static void results_drop_similarity(pd_results *r)
{
    free(r->sim_row_ids);
    free(r->sim_col_ids);
    free(r->sim);
    r->sim_row_ids = r->sim_col_ids = NULL;
    r->sim = NULL;
    r->sim_rows = r->sim_cols = 0;
    r->have_similarity = 0;
}

static void results_drop_latents(pd_results *r)
{
    free(r->latent_id);
    free(r->latent_kind);
    free(r->latent_x);
    free(r->latent_y);
    r->latent_id = NULL;
    r->latent_kind = NULL;
    r->latent_x = r->latent_y = NULL;
    r->n_latents = 0;
    r->have_latents = 0;
}

/* A message as one line: the readers quote what they found in a file, which may hold a line break or another
 * control character (a quoted CSV cell, a state file's kind); each becomes '?'. */
static void results_one_line(char *msg)
{
    for (unsigned char *c = (unsigned char *)msg; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            *c = '?';
}

/* A part of the snapshot: when its file cannot be read, the part is left out and why keeps the reason. */
static void results_load_part(pd_results *r, pd_status (*load)(pd_results *, pd_error *),
                              void (*drop)(pd_results *), char *why)
{
    pd_error perr = {0};
    pd_status st = load(r, &perr);
    if (st == PD_OK)
        return;
    drop(r);
    snprintf(why, PD_ERROR_MSG_MAX, "%s", perr.msg[0] ? perr.msg : error_status_string(st));
    results_one_line(why);
}

pd_status results_load(pd_results **out, const char *dir, pd_error *err)
{
    *out = NULL;
    pd_results *r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, PD_ERR_NOMEM, "results: out of memory");
    pd_status st = path_format(r->dir, sizeof r->dir, err, "%s", dir);
    if (st == PD_OK)
        st = results_load_config(r, err);
    if (st == PD_OK)
        st = results_load_session(r, err);
    if (st != PD_OK) {
        results_free(r);
        if (err)
            results_one_line(err->msg);
        return st;
    }
    results_load_part(r, results_load_models, results_drop_models, r->models_error);
    results_load_part(r, results_load_similarity, results_drop_similarity, r->similarity_error);
    results_load_part(r, results_load_latents, results_drop_latents, r->latents_error);
    *out = r;
    return PD_OK;
}

void results_free(pd_results *r)
{
    if (!r)
        return;
    free(r->metric);
    free(r->value);
    free(r->key);
    free(r->config_value);
    free(r->loss_stage);
    free(r->loss_step);
    free(r->loss);
    free(r->loss_accuracy);
    results_drop_models(r);
    results_drop_similarity(r);
    results_drop_latents(r);
    free(r);
}

const char *results_problem(const pd_results *r)
{
    const char *why[3] = {r->models_error, r->similarity_error, r->latents_error};
    for (int i = 0; i < 3; i++)
        if (why[i][0])
            return why[i];
    return NULL;
}

double results_summary(const pd_results *r, const char *metric)
{
    for (int i = 0; i < r->n_summary; i++)
        if (strcmp(r->metric[i], metric) == 0)
            return r->value[i];
    return NAN;
}

const char *results_config(const pd_results *r, const char *key)
{
    for (int i = 0; i < r->n_config; i++)
        if (strcmp(r->key[i], key) == 0)
            return r->config_value[i];
    return NULL;
}
