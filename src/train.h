/* train.h — training and evaluating a task model on a data set.
 *
 * train_task runs SGD (momentum, weight decay; PyTorch's rule) over shuffled mini-batches for a number of epochs,
 * BatchNorm in training mode, reporting a "task" loss/accuracy point every log_every steps and progress per
 * step, and stops cleanly (PD_ERR_CANCELLED) when the cancel hook fires. train_evaluate runs the model in eval
 * mode over a split and returns accuracy and mean loss, optionally every prediction.
 *
 * The batch loop stages each batch through a host buffer and one upload, so it works on every backend; with
 * `augment` the host gathers each batch cropped and flipped (augment.h; stream augment_stream(seed), draw per step
 * and position), so every backend trains on the same images.
 *
 * Learning rate of step t (0-based) in epoch e = t / steps_per_epoch (train_lr_at): constant: lr; cosine:
 * lr (1 + cos(pi t / steps)) / 2; step: lr * gamma^(number of milestones <= e), so at milestone epoch m the new
 * factor applies from the first step of epoch m (PyTorch's MultiStepLR stepped once per epoch).
 *
 * Checkpoints: with a save hook, train_task calls it every save_every steps (before the last) and when it is
 * cancelled (then returns PD_ERR_CANCELLED after a successful save), with the pd_train_point the run stands at;
 * the caller saves that point with the model's parameters, BatchNorm buffers and momentum (model_params,
 * model_buffers, model_momentum). A run given that point back in `from`, on a model restored to that state,
 * continues to exactly the result of an uninterrupted one (loss points included).
 */
#ifndef PD_TRAIN_H
#define PD_TRAIN_H

#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "progress.h"

/* Where a training run stands between two steps, besides the model's own state. */
typedef struct {
    int64_t step;     /* steps done */
    float loss_sum;   /* training loss summed over the steps since the last loss point */
    int32_t correct;  /* correct training predictions since the last loss point */
    int64_t seen;     /* training images since the last loss point */
} pd_train_point;

typedef enum { TRAIN_LR_CONSTANT, TRAIN_LR_COSINE, TRAIN_LR_STEP } pd_lr_schedule;

#define TRAIN_MAX_MILESTONES 16

typedef struct {
    int32_t epochs;
    int32_t batch;
    float lr, momentum, weight_decay;
    pd_lr_schedule schedule; /* see above */
    int32_t n_milestones;    /* step: epochs (increasing) at which the rate is multiplied by gamma */
    int32_t milestones[TRAIN_MAX_MILESTONES];
    double gamma;
    int augment;         /* 1: cropflip every training batch (augment.h) */
    uint64_t seed;       /* shuffling stream (and, derived from it, the augmentation stream) */
    const char *stage;   /* names loss points, progress and log lines (NULL: "task") */
    int32_t log_every;   /* steps between loss points (0: 50) */
    const pd_train_point *from; /* NULL: start at step 0; else continue after from->step */
    int64_t save_every;  /* steps between checkpoints (0: only when cancelled) */
    pd_status (*save)(void *ctx, const pd_train_point *at, pd_error *err); /* NULL: no checkpoints */
    void *save_ctx;
} pd_train_opts;

typedef struct {
    double last_loss;     /* mean training loss of the last logged interval */
    double last_accuracy; /* training accuracy of the last logged interval */
    int64_t steps;
} pd_train_result;

/* The batch train_task uses with m, its steps per epoch and in all. */
int32_t train_batch_size(const pd_model *m, const pd_train_opts *o);
int64_t train_total_steps(const pd_model *m, const pd_dataset *ds, const pd_train_opts *o);

/* The learning rate of step `step` (0-based) of a run of `total` steps, steps_per_epoch steps an epoch. */
float train_lr_at(const pd_train_opts *o, int64_t step, int64_t steps_per_epoch, int64_t total);

pd_status train_task(pd_model *m, const pd_dataset *ds, const pd_train_opts *o, const pd_callbacks *cb,
                     pd_train_result *res, pd_error *err);

/* Accuracy in [0, 1] and mean cross-entropy of m (eval mode) on split s; pred (host, [s->n], may be NULL)
 * receives every predicted class. batch <= the model's max_batch. */
pd_status train_evaluate(pd_model *m, const pd_split *s, int32_t batch, double *accuracy, double *loss,
                         int32_t *pred, const pd_callbacks *cb, pd_error *err);

#endif
