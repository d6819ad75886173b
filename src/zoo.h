/* zoo.h — the evaluated models of a session: every original checkpoint, the ensemble, AE reconstructions,
 * p-diff samples and (analysis stage) the comparison models, each with its target vector, accuracy, loss and
 * test-set predictions, plus the memorization columns the analysis fills in.
 *
 * The zoo is what models.csv shows (one row per model; ids are row indices, originals first so that a
 * nearest_id names an original; its last column, disagreement, is the model's zoo_disagreement with the
 * ensemble, computed when written) and what state/models.bin keeps for the analysis, the report and the TUI.
 *
 *   pd_zoo z; zoo_init(&z, d, n_test);
 *   zoo_add(&z, "original", vec, acc, loss, preds);
 *   zoo_write_csv(&z, "sess/models.csv", &err); zoo_save(&z, "sess/state/models.bin", &err);
 *   zoo_free(&z);
 */
#ifndef PD_ZOO_H
#define PD_ZOO_H

#include <stdint.h>

#include "error.h"

#define ZOO_KIND_MAX 24

typedef struct {
    int32_t n, cap;
    int64_t d;                     /* vector length */
    int32_t n_test;                /* predictions per model */
    char (*kind)[ZOO_KIND_MAX];    /* [n] "original", "ensemble", "ae_recon", "pdiff", "noise:0.01", ... */
    double *accuracy, *loss;       /* [n] */
    double *max_iou, *nearest_l2;  /* [n], NaN until analysed */
    int32_t *nearest_id;           /* [n], -1 until analysed */
    int32_t *run;                  /* [n] the collection run whose task model judged it (collect_mode=independent:
                                    * stage_runs.h); 0 for every model of a single trajectory */
    float *vectors;                /* [n, d] host */
    uint8_t *preds;                /* [n, n_test] host */
    uint8_t *labels;               /* [n_test] true test labels (zoo_set_labels), NULL until set */
} pd_zoo;

void zoo_init(pd_zoo *z, int64_t d, int32_t n_test);
void zoo_free(pd_zoo *z);
/* Keep the true test labels (copied), needed to tell wrong predictions for the similarity analysis. */
pd_status zoo_set_labels(pd_zoo *z, const int32_t *labels);
/* Append a model (copies vec [d] and pred [n_test]; pred may be NULL = all zero; run 0). Returns its id or -1. */
int32_t zoo_add(pd_zoo *z, const char *kind, const float *vec, double accuracy, double loss, const uint8_t *pred);
/* Ids of a kind in order; returns the count (ids may be NULL to just count). */
int32_t zoo_ids_of(const pd_zoo *z, const char *kind, int32_t *ids);
/* Id of the first model of exactly this kind, or -1. */
int32_t zoo_first_of(const pd_zoo *z, const char *kind);
/* Share of the test images that models a and b predict differently; NaN when b (or a) is not a model id or
 * there are no test predictions. */
double zoo_disagreement(const pd_zoo *z, int32_t a, int32_t b);
/* Accuracies of a kind into acc (may be NULL); returns the count. Prefix match when kind ends with ':'. */
int32_t zoo_accuracies(const pd_zoo *z, const char *kind, double *acc);

/* models.csv; state/models.bin (its "run" section only when some model's run is not 0, so that a single
 * trajectory's file is what it always was; a file without one loads with every run 0). */
pd_status zoo_write_csv(const pd_zoo *z, const char *path, pd_error *err);
pd_status zoo_save(const pd_zoo *z, const char *path, pd_error *err);
pd_status zoo_load(pd_zoo *z, const char *path, pd_error *err);
/* PD_ERR_STATE naming path and the first model whose run is not below runs (the session's number of runs). */
pd_status zoo_check_runs(const pd_zoo *z, int32_t runs, const char *path, pd_error *err);

#endif
