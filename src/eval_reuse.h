/* eval_reuse.h — evaluations a sweep point takes from the session it shares its early stages with.
 *
 * A sweep point that shares train and collect with the sweep's first session (pipeline_seed_session) has the same
 * task model, the same collected vectors and the same test set. Its originals, its ensemble and the analysis's
 * comparison models (noise-added, fine-tuned, averaged, gaussian: functions of the originals and `seed` only) are
 * then the very same vectors, evaluated by the very same code on the same backend and threads. So
 * pipeline_seed_session copies the first session's state/models.bin to state/reuse.bin, and the generate and analyze
 * stages look every vector up there (its exact bytes) before evaluating it: a vector found takes the accuracy, loss
 * and predictions recorded for it; any other is evaluated as usual. A reuse file can make a stage faster, never
 * different: it is used only when its test labels and vector length are those of the run, and ignored (with a log
 * line) when it cannot be read.
 *
 *   pd_eval_reuse *r = NULL;
 *   eval_reuse_open(&r, "sess/state/reuse.bin", labels, n_test, d, cb);    // r stays NULL without a usable file
 *   eval_reuse_run(r, ev, vec, &acc, &loss, pred, &err);                     // lookup, else evaluator_run
 *   eval_reuse_free(r);
 */
#ifndef PD_EVAL_REUSE_H
#define PD_EVAL_REUSE_H

#include <stdint.h>

#include "error.h"
#include "evaluate.h"
#include "progress.h"

typedef struct pd_eval_reuse pd_eval_reuse;

/* Load path when it exists and matches (labels [n_test], vectors of d numbers); *out = NULL otherwise. Never
 * fails: a damaged or mismatching file is only logged through cb. */
void eval_reuse_open(pd_eval_reuse **out, const char *path, const int32_t *labels, int32_t n_test, int64_t d,
                     const pd_callbacks *cb);
void eval_reuse_free(pd_eval_reuse *r); /* NULL is a no-op */
/* 1 and the recorded results when vec [d] is one of the file's models (pred [n_test] may be NULL). */
int eval_reuse_find(pd_eval_reuse *r, const float *vec, double *accuracy, double *loss, uint8_t *pred);
/* The recorded results of vec when r has them, else evaluator_run. */
pd_status eval_reuse_run(pd_eval_reuse *r, pd_evaluator *ev, const float *vec, double *accuracy, double *loss,
                         uint8_t *pred, pd_error *err);
/* How many lookups found their vector (for the log). */
int64_t eval_reuse_hits(const pd_eval_reuse *r);

#endif
