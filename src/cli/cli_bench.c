/* cli_bench.c — `pdiff bench`: run the DESIGN §8 workloads and print name,unit,value lines (see bench.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "blas.h"
#include "cli.h"
#include "pdiff_build.h"

int cli_bench(int argc, char **argv)
{
    static const struct option longopts[] = {{"only", required_argument, NULL, 'o'},
                                              {"threads", required_argument, NULL, 't'},
                                              {"set", required_argument, NULL, 's'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    int want[64] = {0}, any = 0, threads = 2;
    pd_config cfg;
    config_defaults(&cfg);
    pd_error err = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': {
            int i = bench_find(optarg);
            if (i < 0) {
                fprintf(stderr, "pdiff bench: --only: unknown workload '%s' (", optarg);
                for (int j = 0; j < bench_count(); j++)
                    fprintf(stderr, "%s%s", j ? ", " : "", bench_name(j));
                fprintf(stderr, ")\n");
                return 2;
            }
            want[i] = any = 1;
            break;
        }
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 256) {
                fprintf(stderr, "pdiff bench: --threads: must be an integer in [1, 256], got '%s'\n", optarg);
                return 2;
            }
            threads = (int)v;
            break;
        }
        case 's':
            if (config_set_pair(&cfg, optarg, &err) != PD_OK)
                return cli_fail(&err);
            if (strncmp(optarg, "threads=", 8) == 0 && cfg.threads > 0)
                threads = cfg.threads;
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
    pd_backend *be;
    pd_backend_kind kind = strcmp(cfg.device, "cuda") == 0 ? PD_BACKEND_CUDA : PD_BACKEND_CPU;
    if (backend_create(&be, kind, threads, &err) != PD_OK)
        return cli_fail(&err);
    blas_set_threads(be->threads);
    char blas[256];
    blas_describe(blas, sizeof blas);
    fprintf(stderr, "# pdiff %s bench: backend %s, %d threads, %s\n", PACKAGE_VERSION, be->name, be->threads, blas);
    cli_signals_install();
    int rc = 0;
    for (int i = 0; i < bench_count() && !cli_interrupted(); i++) {
        if (any && !want[i])
            continue;
        pd_bench_result r;
        if (bench_run(i, be, &r, NULL, &err) != PD_OK) {
            rc = cli_fail(&err);
            break;
        }
        printf("%s,%s,%.6g\n", r.name, r.unit, r.value);
        if (r.gflops > 0 && strcmp(r.name, "sgemm_gflops") != 0)
            printf("%s_gflops,GFLOP/s,%.4g\n", r.name, r.gflops);
        fflush(stdout);
    }
    backend_destroy(be);
    return rc;
}
