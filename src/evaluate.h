/* evaluate.h — test accuracy of many target vectors in the frozen task model, fast.
 *
 * Every p-diff model differs from the trained task model only in the target tensors, so the layers before
 * the first target tensor compute the same thing for every model. The evaluator runs that prefix once over the
 * test set (eval mode), keeps its output (model_cut_before gives the cut), and evaluates each vector by loading
 * it into a private copy of the model and running only the suffix. It keeps every prediction, which the
 * memorization analysis needs.
 *
 *   pd_evaluator *ev;
 *   evaluator_create(&ev, task_model, &target, &data.test, 1000, cb, &err);
 *   evaluator_run(ev, vec, &acc, &loss, preds, &err);    // vec: host [d]; preds: host [n_test] or NULL
 *   evaluator_free(ev);
 */
#ifndef PD_EVALUATE_H
#define PD_EVALUATE_H

#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "progress.h"
#include "target.h"

typedef struct pd_evaluator pd_evaluator;

/* The evaluation batch for a model whose nodes output sample_floats floats per image (model_sample_floats):
 * EVALUATOR_BATCH_MAX images, fewer when a trainable model at that batch would need more than
 * EVALUATOR_BATCH_BYTES for its activations and their gradients (a ResNet-18 on 32x32 images: about 150), never
 * fewer than train_batch (the model is built for that anyway). */
#define EVALUATOR_BATCH_MAX 1000
#define EVALUATOR_BATCH_BYTES (INT64_C(2) << 30)
int32_t evaluator_batch(int64_t sample_floats, int32_t train_batch);

/* m supplies the weights and running statistics (copied; m is not modified or kept). */
pd_status evaluator_create(pd_evaluator **out, pd_model *m, const pd_target *t, const pd_split *test,
                           int32_t batch, const pd_callbacks *cb, pd_error *err);
void evaluator_free(pd_evaluator *ev); /* NULL is a no-op */
int32_t evaluator_test_count(const pd_evaluator *ev);
/* 1 when the BatchNorm -> ReLU -> MaxPool start of the suffix runs fused (see above). */
int evaluator_fused(const pd_evaluator *ev);
const int32_t *evaluator_labels(const pd_evaluator *ev); /* host [n_test] */
/* Evaluate one target vector (host memory [d]): accuracy in [0, 1], mean cross-entropy, predictions
 * (host [n_test], may be NULL). */
pd_status evaluator_run(pd_evaluator *ev, const float *vec, double *accuracy, double *loss, uint8_t *pred,
                        pd_error *err);

#endif
