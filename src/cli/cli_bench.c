/* cli_bench.c — `pdiff bench`: run the workloads of doc/design.md §9 and print name,unit,value lines (see bench.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "blas.h"
#include "cli.h"
#include "pdiff_build.h"

typedef struct {
    int want[64], any; /* --only: the workloads asked for (any: some were) */
    int threads;
    pd_config cfg;
} cli_bench_opts;

/* --only NAME: mark workload NAME; 0, or 2 (after the message) when there is none of that name. */
static int cli_bench_only(cli_bench_opts *o, const char *name)
{
    int i = bench_find(name);
    if (i < 0) {
        fprintf(stderr, "pdiff bench: --only: unknown workload '%s' (", name);
        for (int j = 0; j < bench_count(); j++)
            fprintf(stderr, "%s%s", j ? ", " : "", bench_name(j));
        fprintf(stderr, ")\n");
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

/* Run the chosen workloads on be, one line each on stdout, until done or interrupted. */
static int cli_bench_run(const cli_bench_opts *o, pd_backend *be)
{
    pd_error err = {0};
    for (int i = 0; i < bench_count() && !cli_interrupted(); i++) {
        if (o->any && !o->want[i])
            continue;
        pd_bench_result r;
        if (bench_run(i, be, &r, NULL, &err) != PD_OK)
            return cli_fail(&err);
        printf("%s,%s,%.6g\n", r.name, r.unit, r.value);
        if (r.gflops > 0 && strcmp(r.name, "sgemm_gflops") != 0)
            printf("%s_gflops,GFLOP/s,%.4g\n", r.name, r.gflops);
        fflush(stdout);
    }
    return 0;
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
