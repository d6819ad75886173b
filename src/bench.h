/* bench.h — the performance workloads of doc/design.md §9, run on a backend and measured.
 *
 * Each workload builds its model with random data, warms up, then times repeated steps (at least a few
 * repetitions and about a second of work) and returns the throughput in the workload's unit plus the GFLOP/s
 * it achieved (from a FLOP count of the work done; 0 when not counted). Results are reported, never asserted.
 */
#ifndef PD_BENCH_H
#define PD_BENCH_H

#include "backend.h"
#include "progress.h"

typedef struct {
    const char *name;  /* "task_train_ips" */
    const char *unit;  /* "images/s" */
    double value;
    double gflops;     /* achieved GFLOP/s, 0 if unknown */
} pd_bench_result;

int bench_count(void);
const char *bench_name(int i);
int bench_find(const char *name); /* -1 when unknown */
/* Run workload i on be. */
pd_status bench_run(int i, pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err);
/* cblas_sgemm 1024x1024x1024 GFLOP/s with the backend's threads (the practical limit of the machine). */
pd_status bench_sgemm(pd_backend *be, pd_bench_result *res, pd_error *err);

#endif
