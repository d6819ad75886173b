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

/* The host's fp32 peak as its best kernel measures it: the 1024^3 sgemm rate with the backend's threads of
 * OpenBLAS (bench_sgemm, with the kernels it runs now) and, on the CPU backend of an AVX-512 CPU, of pdiff's own
 * kernel (blas_own_kernel); the larger is the peak. Workloads report their share of it (bench_peak_share). */
typedef struct {
    double gflops;      /* the peak: the larger of the two */
    char kernel[64];    /* which reached it: "openblas-<core>" (cuda: "cuda-gemm") or blas_own_kernel()'s name */
    double blas_gflops; /* OpenBLAS (the backend's gemm) */
    double own_gflops;  /* pdiff's kernel; 0 where it does not run */
} pd_bench_peak;
pd_status bench_peak(pd_backend *be, pd_bench_peak *pk, pd_error *err);
/* res->gflops as a percentage of the peak (0 when either is unknown). */
double bench_peak_share(const pd_bench_result *res, const pd_bench_peak *pk);

#endif
