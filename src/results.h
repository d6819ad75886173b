/* results.h — an immutable snapshot of a session's results, for front ends (the TUI) and reports.
 *
 * results_load() reads whatever the session folder holds — config.csv, summary.csv, losses.csv,
 * state/models.bin (every evaluated model), similarity.csv, latents.csv — and tolerates the files a stage has
 * not written yet (have_* flags). The similarity matrix of p-diff models x originals comes from similarity.csv
 * when the analysis ran, else it is computed from the kept predictions. Once loaded the snapshot never changes,
 * so a UI can keep drawing it while a new run works on the session; load a fresh one when the run finishes.
 * summary.csv and losses.csv are read by session.h's reader, on its rules (a repeated metric: its last value).
 *
 * Every id and number of similarity.csv and latents.csv is checked (a model id is a whole number naming a model of
 * state/models.bin, an IoU lies in [0, 1] or is empty, a t-SNE coordinate is finite); a file that breaks a rule is
 * refused with one line naming the file, line and column (a control character it quotes shows as '?'). config.csv, summary.csv and losses.csv are the session:
 * when one is damaged results_load fails. state/models.bin, similarity.csv and latents.csv are parts: a damaged
 * part is left out (its have_* flag 0) and its reason kept in *_error, so that the rest can still be shown.
 */
#ifndef PD_RESULTS_H
#define PD_RESULTS_H

#include <stdint.h>

#include "error.h"
#include "path.h"
#include "zoo.h"

typedef struct {
    char dir[PD_PATH_MAX]; /* the folder as given to results_load */
    /* summary.csv */
    int n_summary;
    char (*metric)[64];
    double *value;
    /* config.csv */
    int n_config;
    char (*key)[64];
    char (*config_value)[300];
    /* losses.csv */
    int64_t n_losses;
    char (*loss_stage)[16];
    int64_t *loss_step;
    double *loss, *loss_accuracy;
    /* state/models.bin */
    int have_models;
    pd_zoo zoo;
    /* p-diff x original IoU of wrong predictions: sim [sim_rows, sim_cols] */
    int have_similarity;
    int32_t sim_rows, sim_cols;
    int32_t *sim_row_ids, *sim_col_ids; /* zoo ids */
    float *sim;
    /* latents.csv */
    int have_latents;
    int32_t n_latents;
    int32_t *latent_id;
    char (*latent_kind)[ZOO_KIND_MAX];
    double *latent_x, *latent_y;
    /* why a part could not be read (one line naming the file), "" when it was read or is absent */
    char models_error[PD_ERROR_MSG_MAX], similarity_error[PD_ERROR_MSG_MAX], latents_error[PD_ERROR_MSG_MAX];
} pd_results;

/* PD_ERR_IO when dir is not a session (no config.csv); damaged files give their own message. */
pd_status results_load(pd_results **out, const char *dir, pd_error *err);
void results_free(pd_results *r); /* NULL is a no-op */
/* The first part that could not be read, as its one-line reason; NULL when every file present was read. */
const char *results_problem(const pd_results *r);
/* A summary metric, NaN when absent. */
double results_summary(const pd_results *r, const char *metric);
/* A config value, NULL when absent. */
const char *results_config(const pd_results *r, const char *key);

#endif
