/* similarity.c — wrong-prediction bitsets and their IoU (see similarity.h). */
#include "similarity.h"

#include <stdlib.h>
#include <string.h>

pd_status similarity_init(pd_similarity_sets *w, const uint8_t *preds, const uint8_t *labels, int32_t n_models,
                          int32_t n_test)
{
    memset(w, 0, sizeof *w);
    w->n_models = n_models;
    w->n_test = n_test;
    w->words = (n_test + 63) / 64;
    w->bits = calloc((size_t)(n_models > 0 ? n_models : 1) * (size_t)(w->words > 0 ? w->words : 1), sizeof(uint64_t));
    w->wrong = calloc((size_t)(n_models > 0 ? n_models : 1), sizeof(int32_t));
    if (!w->bits || !w->wrong) {
        similarity_free(w);
        return PD_ERR_NOMEM;
    }
    for (int32_t m = 0; m < n_models; m++) {
        uint64_t *b = w->bits + (int64_t)m * w->words;
        const uint8_t *p = preds + (int64_t)m * n_test;
        for (int32_t i = 0; i < n_test; i++)
            if (p[i] != labels[i])
                b[i >> 6] |= (uint64_t)1 << (i & 63);
        int32_t c = 0;
        for (int32_t k = 0; k < w->words; k++)
            c += __builtin_popcountll(b[k]);
        w->wrong[m] = c;
    }
    return PD_OK;
}

void similarity_free(pd_similarity_sets *w)
{
    if (!w)
        return;
    free(w->bits);
    free(w->wrong);
    memset(w, 0, sizeof *w);
}

double similarity_iou(const pd_similarity_sets *w, int32_t a, int32_t b)
{
    const uint64_t *x = w->bits + (int64_t)a * w->words, *y = w->bits + (int64_t)b * w->words;
    int64_t inter = 0;
    for (int32_t k = 0; k < w->words; k++)
        inter += __builtin_popcountll(x[k] & y[k]);
    int64_t uni = (int64_t)w->wrong[a] + w->wrong[b] - inter;
    return uni > 0 ? (double)inter / (double)uni : 1.0;
}
