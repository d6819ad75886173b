/* results.c — loading a session snapshot (see results.h). summary.csv and losses.csv come through session.c, their
 * one reader; config.csv (as text), similarity.csv and latents.csv are read here, their only readers as tables. */
#include "results.h"

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
    for (int64_t i = 0; st == PD_OK && i < t.rows; i++) {
        double id;
        st = csvio_cell_double(&t, i, ci, &id, err);
        if (st == PD_OK)
            st = csvio_cell_double(&t, i, cx, &r->latent_x[i], err);
        if (st == PD_OK)
            st = csvio_cell_double(&t, i, cy, &r->latent_y[i], err);
        r->latent_id[i] = (int32_t)id;
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
        double a, b, v;
        st = csvio_cell_double(&t, i, ca, &a, err);
        if (st == PD_OK)
            st = csvio_cell_double(&t, i, cb, &b, err);
        if (st == PD_OK)
            st = csvio_cell_double(&t, i, cv, &v, err);
        if (st != PD_OK || a < 0 || b < 0 || a >= z->n || b >= z->n)
            continue;
        int32_t ra = row_of[(int32_t)a], cbb = col_of[(int32_t)b];
        if (ra >= 0 && cbb >= 0)
            r->sim[(int64_t)ra * r->sim_cols + cbb] = (float)v;
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
    pd_wrongsets w;
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
static pd_status results_build_similarity(pd_results *r, pd_error *err)
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

pd_status results_load(pd_results **out, const char *dir, pd_error *err)
{
    *out = NULL;
    pd_results *r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, PD_ERR_NOMEM, "results: out of memory");
    pd_status st = path_format(r->dir, sizeof r->dir, err, "%s", dir);
    if (st != PD_OK)
        goto fail;
    st = results_load_config(r, err);
    if (st != PD_OK)
        goto fail;
    st = results_load_session(r, err);
    if (st != PD_OK)
        goto fail;
    st = results_load_models(r, err);
    if (st != PD_OK)
        goto fail;
    st = results_build_similarity(r, err);
    if (st != PD_OK)
        goto fail;
    st = results_load_latents(r, err);
    if (st != PD_OK)
        goto fail;
    *out = r;
    return PD_OK;
fail:
    results_free(r);
    return st;
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
    if (r->have_models)
        zoo_free(&r->zoo);
    free(r->sim_row_ids);
    free(r->sim_col_ids);
    free(r->sim);
    free(r->latent_id);
    free(r->latent_kind);
    free(r->latent_x);
    free(r->latent_y);
    free(r);
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
