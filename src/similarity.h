/* similarity.h — how alike two models' mistakes are: IoU of their wrong predictions on the test set.
 *
 * W(m) = the test images model m gets wrong; similarity(a, b) = |W(a) ∩ W(b)| / |W(a) ∪ W(b)| (1 when both make
 * no mistake). Wrong sets are kept as bitsets, so a pair costs n_test/64 popcounts.
 *
 *   pd_similarity_sets w;
 *   similarity_init(&w, preds, labels, n_models, n_test);   // preds [n_models, n_test]
 *   double iou = similarity_iou(&w, a, b);
 *   similarity_free(&w);
 */
#ifndef PD_SIMILARITY_H
#define PD_SIMILARITY_H

#include <stdint.h>

#include "error.h"

typedef struct {
    int32_t n_models, n_test, words;
    uint64_t *bits;      /* [n_models, words] */
    int32_t *wrong;      /* [n_models] |W| */
} pd_similarity_sets;

pd_status similarity_init(pd_similarity_sets *w, const uint8_t *preds, const uint8_t *labels, int32_t n_models,
                          int32_t n_test);
void similarity_free(pd_similarity_sets *w);
double similarity_iou(const pd_similarity_sets *w, int32_t a, int32_t b);

#endif
