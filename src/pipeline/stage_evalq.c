/* stage_evalq.c — models waiting for evaluation on their way into a zoo (stage_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "pipeline_ctx.h"
#include "stage_util.h"

/* Models a group holds: one in a job of one process (progress and cancellation after every model, as always),
 * else eight per rank, within about 64 MiB of vectors. */
static int32_t stage_evalq_room(int64_t d)
{
    int size = comm_world()->size;
    if (size <= 1)
        return 1;
    int64_t cap = 8 * (int64_t)size, fit = (INT64_C(64) << 20) / (d * (int64_t)sizeof(float));
    if (cap > fit)
        cap = fit > size ? fit : size;
    return (int32_t)cap;
}

pd_status stage_evalq_init(stage_evalq *q, struct pd_pipeline *p, struct pd_evaluator *ev, pd_zoo *z,
                           const char *stage, pd_status (*on_added)(void *, pd_error *), void *ud, pd_error *err)
{
    *q = (stage_evalq){.p = p, .ev = ev, .z = z, .stage = stage, .on_added = on_added, .ud = ud, .d = z->d,
                       .n_test = evaluator_test_count(ev)};
    q->cap = stage_evalq_room(q->d);
    q->kind = malloc((size_t)q->cap * sizeof *q->kind);
    q->vecs = malloc((size_t)q->cap * (size_t)q->d * sizeof(float));
    q->acc = malloc((size_t)q->cap * 2 * sizeof(double));
    q->pred = malloc((size_t)q->cap * (size_t)q->n_test);
    if (!q->kind || !q->vecs || !q->acc || !q->pred) {
        stage_evalq_free(q);
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", stage);
    }
    q->loss = q->acc + q->cap;
    return PD_OK;
}

pd_status stage_evalq_flush(stage_evalq *q, pd_error *err)
{
    int32_t n = q->n;
    q->n = 0;
    if (n == 0)
        return PD_OK;
    PD_TRY(pipeline_evaluate_many(q->p, q->ev, q->vecs, n, q->acc, q->loss, q->pred, err));
    for (int32_t i = 0; i < n; i++) {
        if (zoo_add(q->z, q->kind[i], q->vecs + (int64_t)i * q->d, q->acc[i], q->loss[i],
                    q->pred + (int64_t)i * q->n_test) < 0)
            return error_set(err, PD_ERR_NOMEM, "%s: out of memory", q->stage);
        if (q->on_added)
            PD_TRY(q->on_added(q->ud, err));
    }
    return PD_OK;
}

pd_status stage_evalq_add(stage_evalq *q, const char *kind, const float *vec, pd_error *err)
{
    snprintf(q->kind[q->n], ZOO_KIND_MAX, "%s", kind);
    memcpy(q->vecs + (int64_t)q->n * q->d, vec, (size_t)q->d * sizeof(float));
    if (++q->n == q->cap)
        return stage_evalq_flush(q, err);
    return PD_OK;
}

void stage_evalq_free(stage_evalq *q)
{
    free(q->kind);
    free(q->vecs);
    free(q->acc);
    free(q->pred);
    q->kind = NULL;
    q->vecs = NULL;
    q->acc = q->loss = NULL;
    q->pred = NULL;
}
