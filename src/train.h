/* train.h — training and evaluating a task model on a data set.
 *
 * train_task runs SGD (momentum, weight decay; PyTorch's rule) over shuffled mini-batches for a number of epochs,
 * BatchNorm in training mode, reporting a "task" loss/accuracy point every log_every steps and progress per
 * step, and stops cleanly (PD_ERR_CANCELLED) when the cancel hook fires. train_evaluate runs the model in eval
 * mode over a split and returns accuracy and mean loss, optionally every prediction.
 *
 * The batch loop stages each batch through a host buffer and one upload, so it works on every backend.
 */
#ifndef PD_TRAIN_H
#define PD_TRAIN_H

#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "progress.h"

typedef struct {
    int32_t epochs;
    int32_t batch;
    float lr, momentum, weight_decay;
    int cosine;          /* 1: lr_t = lr (1 + cos(pi t / steps)) / 2 for step t = 0..steps-1 */
    uint64_t seed;       /* shuffling stream */
    int32_t log_every;   /* steps between loss points (0: 50) */
} pd_train_opts;

typedef struct {
    double last_loss;     /* mean training loss of the last logged interval */
    double last_accuracy; /* training accuracy of the last logged interval */
    int64_t steps;
} pd_train_result;

pd_status train_task(pd_model *m, const pd_dataset *ds, const pd_train_opts *o, const pd_callbacks *cb,
                     pd_train_result *res, pd_error *err);

/* Accuracy in [0, 1] and mean cross-entropy of m (eval mode) on split s; pred (host, [s->n], may be NULL)
 * receives every predicted class. batch <= the model's max_batch. */
pd_status train_evaluate(pd_model *m, const pd_split *s, int32_t batch, double *accuracy, double *loss,
                         int32_t *pred, const pd_callbacks *cb, pd_error *err);

#endif
