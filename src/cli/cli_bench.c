/* cli_bench.c — `pdiff bench`: run the workloads of doc/design.md §9 and print name,unit,value lines (see bench.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "blas.h"
#include "cli.h"
#include "comm.h"
#include "pipeline.h"
#include "pdiff_build.h"

/* The evaluation throughput over the ranks of the job (pipeline_bench_evaluate): models evaluated per rank. */
#define CLI_BENCH_EVAL "eval_models_per_s"
#define CLI_BENCH_EVAL_PER_RANK 16

typedef struct {
    int want[64], any; /* --only: the workloads asked for (any: some were) */
    int want_eval;     /* --only eval_models_per_s */
    int threads;
    pd_config cfg;
} cli_bench_opts;

/* --only NAME: mark workload NAME; 0, or 2 (after the message) when there is none of that name. */
static int cli_bench_only(cli_bench_opts *o, const char *name)
{
    if (strcmp(name, CLI_BENCH_EVAL) == 0) {
        o->want_eval = o->any = 1;
        return 0;
    }
    int i = bench_find(name);
    if (i < 0) {
        fprintf(stderr, "pdiff bench: --only: unknown workload '%s' (", name);
        for (int j = 0; j < bench_count(); j++)
            fprintf(stderr, "%s%s", j ? ", " : "", bench_name(j));
        fprintf(stderr, ", %s)\n", CLI_BENCH_EVAL);
        return 2;
    }
    o->want[i] = o->any = 1;
    return 0;
}

/* The options into o: -1 to go on, else the exit status (after any message). */
static int cli_bench_parse(int argc, char **argv, cli_bench_opts *o)
{
    static const struct option longopts[] = {{"only", required_argument, NULL, 'o'},
                                              {"threads", required_argument, NULL, 't'},
                                              {"set", required_argument, NULL, 's'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    pd_error err = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (cli_bench_only(o, optarg) != 0)
                return 2;
            break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 256) {
                fprintf(stderr, "pdiff bench: --threads: must be an integer in [1, 256], got '%s'\n", optarg);
                return 2;
            }
            o->threads = (int)v;
            break;
        }
        case 's':
            if (config_set_pair(&o->cfg, optarg, &err) != PD_OK)
                return cli_fail(&err);
            if (strncmp(optarg, "threads=", 8) == 0 && o->cfg.threads > 0)
                o->threads = o->cfg.threads;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "pdiff bench: unknown or incomplete option '%s' (see pdiff --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pdiff bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* eval_models_per_s: the models the job evaluates per second (the default experiment's task model on its test
 * split, every rank of the job taking its share), with the number of ranks, so that scaling can be measured. */
static int cli_bench_eval(const cli_bench_opts *o)
{
    if ((o->any && !o->want_eval) || cli_interrupted())
        return 0;
    pd_config cfg = o->cfg;
    cfg.threads = o->threads;
    int ranks = comm_world()->size;
    double rate;
    pd_error err = {0};
    if (pipeline_bench_evaluate(&cfg, CLI_BENCH_EVAL_PER_RANK * ranks, &rate, &err) != PD_OK)
        return cli_fail(&err);
    printf("%s,models/s,%.6g\neval_ranks,ranks,%d\neval_models_per_s_per_rank,models/s,%.6g\n", CLI_BENCH_EVAL,
           rate, ranks, rate / ranks);
    fflush(stdout);
    return 0;
}

/* Run the chosen workloads on be, one line each on stdout, until done or interrupted. */
static int cli_bench_run(const cli_bench_opts *o, pd_backend *be)
{
    pd_error err = {0};
    pd_bench_peak pk; /* the host's fp32 peak (bench.h): every workload's share of it */
    if (bench_peak(be, &pk, &err) != PD_OK)
        return cli_fail(&err);
    printf("peak_gflops,GFLOP/s,%.6g\npeak_kernel,kernel,%s\n", pk.gflops, pk.kernel);
    if (pk.own_gflops > 0)
        printf("peak_own_gflops,GFLOP/s,%.6g\npeak_blas_gflops,GFLOP/s,%.6g\n", pk.own_gflops, pk.blas_gflops);
    for (int i = 0; i < bench_count() && !cli_interrupted(); i++) {
        if (o->any && !o->want[i])
            continue;
        pd_bench_result r;
        if (bench_run(i, be, &r, NULL, &err) != PD_OK)
            return cli_fail(&err);
        printf("%s,%s,%.6g\n", r.name, r.unit, r.value);
        if (r.gflops > 0 && strcmp(r.name, "sgemm_gflops") != 0)
            printf("%s_gflops,GFLOP/s,%.4g\n%s_peak_share,%%,%.3g\n", r.name, r.gflops, r.name,
                   bench_peak_share(&r, &pk));
        fflush(stdout);
    }
    return cli_bench_eval(o);
}

int cli_bench(int argc, char **argv)
{
    cli_bench_opts o = {.threads = 2};
    config_defaults(&o.cfg);
    int rc = cli_bench_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    pd_error err = {0};
    pd_backend *be;
    pd_backend_kind kind = strcmp(o.cfg.device, "cuda") == 0 ? PD_BACKEND_CUDA : PD_BACKEND_CPU;
    if (backend_create(&be, kind, o.threads, &err) != PD_OK)
        return cli_fail(&err);
    blas_set_threads(be->threads);
    char blas[256];
    blas_describe(blas, sizeof blas);
    fprintf(stderr, "# pdiff %s bench: backend %s, %d threads, %s\n", PACKAGE_VERSION, be->name, be->threads, blas);
    cli_signals_install();
    rc = cli_bench_run(&o, be);
    backend_destroy(be);
    return rc;
}
