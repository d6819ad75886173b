/* pipeline_bench.c — the evaluation throughput of a job (pipeline.h, pipeline_bench_evaluate; issue 17).
 *
 * The task model of the configuration (freshly initialised: the speed of an evaluation does not depend on the
 * weights) on its data set's test split, and n random target vectors evaluated as the generate and analyze stages
 * do (pipeline_evaluate_many): split over the ranks of the job, gathered on rank 0. One warm-up exchange, then the
 * timed one.
 */
#include <stdlib.h>

#include "comm.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"

pd_status pipeline_bench_evaluate(const pd_config *cfg, int32_t n, double *models_per_s, pd_error *err)
{
    *models_per_s = 0.0;
    pd_pipeline *p;
    pd_evaluator *ev = NULL;
    float *vecs = NULL;
    double *acc = NULL;
    uint8_t *pred = NULL;
    pd_status st = pipeline_open_detached(&p, cfg, err);
    if (st == PD_OK) {
        model_init_params(p->task, rng_derive(cfg->seed, "bench-eval"));
        st = pipeline_evaluator_open(p, &ev, err);
    }
    if (st == PD_OK) {
        int64_t d = p->target.d, nt = evaluator_test_count(ev);
        vecs = malloc((size_t)n * (size_t)d * sizeof(float));
        acc = malloc((size_t)n * 2 * sizeof(double));
        pred = malloc((size_t)n * (size_t)nt);
        if (!vecs || !acc || !pred)
            st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
        uint64_t seed = rng_derive(cfg->seed, "bench-eval-vectors");
        for (int64_t i = 0; st == PD_OK && i < (int64_t)n * d; i++)
            vecs[i] = 1.0f + 0.1f * rng_normal_at(seed, (uint64_t)i);
    }
    int32_t warm = comm_world()->size < n ? comm_world()->size : n;
    if (st == PD_OK) /* every rank's first evaluation (allocations, caches) */
        st = pipeline_evaluate_many(p, ev, vecs, warm, acc, acc + n, pred, err);
    double t0 = progress_now();
    if (st == PD_OK)
        st = pipeline_evaluate_many(p, ev, vecs, n, acc, acc + n, pred, err);
    if (st == PD_OK)
        *models_per_s = n / (progress_now() - t0);
    free(vecs);
    free(acc);
    free(pred);
    if (p)
        pipeline_evaluator_close(p, ev);
    pipeline_free(p);
    return st;
}
