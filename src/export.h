/* export.h — a session's models in formats other tools read (issue 14): each evaluated model as a complete
 * PyTorch state_dict in safetensors (model_io.h), and the collected and generated target vectors as NumPy .npy
 * matrices (npy.h) with a CSV of the target tensors.
 *
 * A model of state/models.bin (zoo.h) is the session's task model (state/task.bin, its running statistics
 * included) with that model's target vector written into the target tensors — exactly what the generate and
 * analyze stages evaluated. Opening reads the session without running anything and without the data set: the
 * task model's shape comes from task.bin, the target from config.csv.
 *
 *   pd_export *x;
 *   export_open(&x, "sessions/run1", &err);
 *   int32_t *ids, n;
 *   export_select(x, "pdiff", NULL, 0, &ids, &n, &err);          // every p-diff model
 *   for (int32_t i = 0; i < n; i++) export_safetensors(x, ids[i], "sessions/run1/export", path, sizeof path, &err);
 *   export_npy(x, "sessions/run1/export", &err);                  // collected.npy, generated.npy, target.csv
 *   free(ids); export_free(x);
 */
#ifndef PD_EXPORT_H
#define PD_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "zoo.h"

typedef struct pd_export pd_export;

/* Read config.csv, state/task.bin and state/models.bin of a session (PD_ERR_STATE naming a missing file and the
 * stage that writes it). */
pd_status export_open(pd_export **out, const char *session, pd_error *err);
void export_free(pd_export *x); /* NULL is a no-op */
const pd_zoo *export_zoo(const pd_export *x);

/* The ids to export: ids[0..n_ids-1] when n_ids > 0 (each must be a model of the session and, when kind is not
 * NULL, of that kind), else every model of kind (NULL: "pdiff"), which must have at least one. *out is malloc'd. */
pd_status export_select(const pd_export *x, const char *kind, const int32_t *ids, int n_ids, int32_t **out,
                        int32_t *n_out, pd_error *err);

/* DIR/KIND-ID.safetensors (':' of the kind as '_'; DIR made when missing): model id as a state_dict whose
 * __metadata__ has pdiff_version, session, kind, id, accuracy (a fraction, "%.9g"), target (the target tensors'
 * names) and format "pt". path (may be NULL) gets the file's name. Atomic. */
pd_status export_safetensors(pd_export *x, int32_t id, const char *dir, char *path, size_t size, pd_error *err);

/* DIR/collected.npy (K x D, state/collect.bin), DIR/generated.npy (N x D, the p-diff models' vectors) and
 * DIR/target.csv (name, shape "64x32x3x3", offset into the vector, count per target tensor). Each file atomic. */
pd_status export_npy(pd_export *x, const char *dir, pd_error *err);

/* SESSION/export */
pd_status export_default_dir(const char *session, char *buf, size_t size, pd_error *err);

#endif
