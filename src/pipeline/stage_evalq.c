/* stage_evalq.c — models waiting for evaluation on their way into a zoo (stage_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "pipeline_ctx.h"
#include "stage_runs.h"
#include "stage_util.h"

#define STAGE_EVALQ_BYTES (INT64_C(64) << 20) /* the vectors a queue holds at most (beyond one per rank) */
#define STAGE_EVALQ_RUNS 1024                 /* models held with several runs: each run's evaluator built once */

/* Models evaluated at once: one in a job of one process (progress and cancellation after every model, as always),
 * else eight per rank. */
static int32_t stage_evalq_step(void)
{
    int size = comm_world()->size;
    return size <= 1 ? 1 : 8 * size;
}

/* Models a queue holds: stage_evalq_step; with several collection runs up to STAGE_EVALQ_RUNS, so that the
 * evaluator of a run's task model is built once for many models (a stage's models, usually); all within about
 * 64 MiB of vectors. */
static int32_t stage_evalq_room(int64_t d, int32_t runs)
{
    int size = comm_world()->size;
    int64_t cap = stage_evalq_step();
    if (runs <= 1 && size <= 1)
        return 1;
    if (runs > 1 && cap < STAGE_EVALQ_RUNS)
        cap = STAGE_EVALQ_RUNS;
    int64_t fit = STAGE_EVALQ_BYTES / (d * (int64_t)sizeof(float));
    if (cap > fit)
        cap = fit > size ? fit : size;
    return (int32_t)cap;
}

pd_status stage_evalq_init(stage_evalq *q, struct pd_pipeline *p, struct pd_evaluator **ev, pd_zoo *z,
                           const char *stage, pd_status (*on_added)(void *, pd_error *), void *ud, pd_error *err)
{
    *q = (stage_evalq){.p = p, .ev = ev, .z = z, .stage = stage, .on_added = on_added, .ud = ud, .d = z->d,
                       .n_test = evaluator_test_count(*ev), .runs = pipeline_runs_count(&p->cfg), .ev_run = 0};
    q->cap = stage_evalq_room(q->d, q->runs);
    size_t cap = (size_t)q->cap, vbytes = cap * (size_t)q->d * sizeof(float), pbytes = cap * (size_t)q->n_test;
    q->kind = malloc(cap * sizeof *q->kind);
    q->vecs = malloc(vbytes);
    q->acc = malloc(cap * 2 * sizeof(double));
    q->pred = malloc(pbytes);
    q->run = malloc(cap * sizeof *q->run);
    int ok = q->kind && q->vecs && q->acc && q->pred && q->run;
    if (ok && q->runs > 1) {
        q->gvecs = malloc(vbytes);
        q->gacc = malloc(cap * 2 * sizeof(double));
        q->gpred = malloc(pbytes);
        q->gidx = malloc(cap * sizeof *q->gidx);
        ok = q->gvecs && q->gacc && q->gpred && q->gidx;
    }
    if (!ok) {
        stage_evalq_free(q);
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", stage);
    }
    q->loss = q->acc + q->cap;
    return PD_OK;
}

void stage_evalq_originals(stage_evalq *q, const float *orig, int32_t k)
{
    q->orig = orig;
    q->k = k;
}

/* The waiting models of run r (their places in gidx), evaluated in run r's task model: the stage's evaluator is
 * replaced by one of that model when it judges in another run. */
static pd_status stage_evalq_run_group(stage_evalq *q, int32_t r, pd_error *err)
{
    int32_t m = 0;
    for (int32_t i = 0; i < q->n; i++)
        if (q->run[i] == r) {
            memcpy(q->gvecs + (int64_t)m * q->d, q->vecs + (int64_t)i * q->d, (size_t)q->d * sizeof(float));
            q->gidx[m++] = i;
        }
    if (m == 0)
        return PD_OK;
    if (q->ev_run != r) {
        pipeline_evaluator_close(q->p, *q->ev);
        *q->ev = NULL;
        PD_TRY(stage_runs_use(q->p, r, err));
        PD_TRY(pipeline_evaluator_open(q->p, q->ev, err));
        q->ev_run = r;
    }
    double *gloss = q->gacc + q->cap;
    int32_t step = stage_evalq_step();
    for (int32_t j0 = 0; j0 < m; j0 += step) { /* progress and cancellation as without runs */
        int32_t nn = m - j0 < step ? m - j0 : step;
        PD_TRY(pipeline_evaluate_many(q->p, *q->ev, q->gvecs + (int64_t)j0 * q->d, nn, q->gacc + j0, gloss + j0,
                                      q->gpred + (int64_t)j0 * q->n_test, err));
        for (int32_t j = 0; j < nn && q->on_added; j++)
            PD_TRY(q->on_added(q->ud, err));
    }
    for (int32_t j = 0; j < m; j++) {
        int32_t i = q->gidx[j];
        q->acc[i] = q->gacc[j];
        q->loss[i] = gloss[j];
        memcpy(q->pred + (int64_t)i * q->n_test, q->gpred + (int64_t)j * q->n_test, (size_t)q->n_test);
    }
    return PD_OK;
}

/* Every waiting model, run by run: the evaluator's own run first, then the others in order. */
static pd_status stage_evalq_by_run(stage_evalq *q, pd_error *err)
{
    PD_TRY(stage_evalq_run_group(q, q->ev_run, err));
    int32_t first = q->ev_run;
    for (int32_t r = 0; r < q->runs; r++)
        if (r != first)
            PD_TRY(stage_evalq_run_group(q, r, err));
    return PD_OK;
}

pd_status stage_evalq_flush(stage_evalq *q, pd_error *err)
{
    int32_t n = q->n;
    if (n == 0)
        return PD_OK;
    if (q->runs > 1)
        PD_TRY(stage_evalq_by_run(q, err));
    else
        PD_TRY(pipeline_evaluate_many(q->p, *q->ev, q->vecs, n, q->acc, q->loss, q->pred, err));
    q->n = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t id = zoo_add(q->z, q->kind[i], q->vecs + (int64_t)i * q->d, q->acc[i], q->loss[i],
                             q->pred + (int64_t)i * q->n_test);
        if (id < 0)
            return error_set(err, PD_ERR_NOMEM, "%s: out of memory", q->stage);
        q->z->run[id] = q->run[i];
        if (q->runs <= 1 && q->on_added) /* with runs: called as each was evaluated */
            PD_TRY(q->on_added(q->ud, err));
    }
    return PD_OK;
}

pd_status stage_evalq_add_run(stage_evalq *q, const char *kind, const float *vec, int32_t run, pd_error *err)
{
    snprintf(q->kind[q->n], ZOO_KIND_MAX, "%s", kind);
    memcpy(q->vecs + (int64_t)q->n * q->d, vec, (size_t)q->d * sizeof(float));
    q->run[q->n] = run >= 0 && run < q->runs ? run : 0;
    if (++q->n == q->cap)
        return stage_evalq_flush(q, err);
    return PD_OK;
}

pd_status stage_evalq_add(stage_evalq *q, const char *kind, const float *vec, pd_error *err)
{
    int32_t run = q->runs > 1 && q->orig ? stage_run_nearest(&q->p->cfg, q->orig, q->k, q->d, vec) : 0;
    return stage_evalq_add_run(q, kind, vec, run, err);
}

void stage_evalq_free(stage_evalq *q)
{
    free(q->kind);
    free(q->vecs);
    free(q->acc);
    free(q->pred);
    free(q->run);
    free(q->gvecs);
    free(q->gacc);
    free(q->gpred);
    free(q->gidx);
    q->kind = NULL;
    q->vecs = NULL;
    q->acc = q->loss = NULL;
    q->pred = NULL;
    q->run = q->gidx = NULL;
    q->gvecs = NULL;
    q->gacc = NULL;
    q->gpred = NULL;
}
