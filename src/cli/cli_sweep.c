/* cli_sweep.c — `pdiff sweep KEY=V1,V2,... [--seeds N] [--set KEY=VALUE]... [--config FILE] [--session DIR]
 * [--quiet] [--format text|csv|latex]`: run the ablation (sweep.h), each value with N seeds, and print its
 * combined tables (mean ± 95 % CI) on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_job.h"
#include "comm.h"
#include "path.h"
#include "session.h"
#include "sweep.h"

typedef struct {
    const char *sets[256], *config_file, *dir, *spec;
    int n_sets, quiet;
    int seeds; /* 0: not given */
    pd_report_format fmt;
} cli_sweep_opts;

/* --seeds N: 1..SWEEP_MAX_SEEDS, else 0 after a one-line message */
static int cli_sweep_seeds(const char *arg)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    if (errno || end == arg || *end || n < 1 || n > SWEEP_MAX_SEEDS) {
        fprintf(stderr, "pdiff sweep: --seeds: must be a whole number in [1, %d], got '%s'\n", SWEEP_MAX_SEEDS, arg);
        return 0;
    }
    return (int)n;
}

/* The options into o: -1 to go on, else the exit status (after any message). */
static int cli_sweep_parse(int argc, char **argv, cli_sweep_opts *o)
{
    static const struct option longopts[] = {
        {"set", required_argument, NULL, 's'},     {"config", required_argument, NULL, 'c'},
        {"session", required_argument, NULL, 'd'}, {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"seeds", required_argument, NULL, 'n'},   {NULL, 0, NULL, 0}};
    pd_error err = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (o->n_sets < 256)
                o->sets[o->n_sets++] = optarg;
            break;
        case 'c':
            o->config_file = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'f':
            if (report_parse_format(optarg, &o->fmt, &err) != PD_OK)
                return cli_fail(&err);
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'n':
            if ((o->seeds = cli_sweep_seeds(optarg)) == 0)
                return 2;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "pdiff sweep: unknown or incomplete option '%s' (see pdiff --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "pdiff sweep: usage: pdiff sweep KEY=V1,V2,... [--seeds N] [--set KEY=VALUE]... "
                        "[--session DIR]\n");
        return 2;
    }
    if (o->dir && cli_session_arg("sweep", "--session", o->dir))
        return 1;
    o->spec = argv[optind];
    if (o->seeds && strncmp(o->spec, "seed=", 5) == 0) {
        fprintf(stderr, "pdiff sweep: --seeds does not go with a sweep over seed (seed=1,2,3 is already one group "
                        "of runs)\n");
        return 2;
    }
    return -1;
}

/* The sweep's folder: --session DIR, else sessions/sweep-KEY-YYYYMMDD-HHMMSS. */
static pd_status cli_sweep_dir(const cli_sweep_opts *o, char *dir, size_t size, pd_error *err)
{
    if (o->dir)
        return path_format(dir, size, err, "%s", o->dir);
    char key[64] = "sweep", stamp[32];
    const char *eq = strchr(o->spec, '=');
    if (eq && (size_t)(eq - o->spec) < sizeof key) {
        memcpy(key, o->spec, (size_t)(eq - o->spec));
        key[eq - o->spec] = '\0';
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return path_format(dir, size, err, "sessions/sweep-%s-%s", key, stamp);
}

int cli_sweep(int argc, char **argv)
{
    cli_sweep_opts o = {.fmt = PD_REPORT_TEXT};
    int rc = cli_sweep_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    session_set_writer_name("pdiff sweep");
    pd_error err = {0};
    pd_config cfg;
    config_defaults(&cfg);
    if (o.config_file && config_load_csv(&cfg, o.config_file, 0, &err) != PD_OK)
        return cli_fail(&err);
    for (int i = 0; i < o.n_sets; i++)
        if (config_set_pair(&cfg, o.sets[i], &err) != PD_OK)
            return cli_fail(&err);
    if (config_validate(&cfg, &err) != PD_OK)
        return cli_fail(&err);
    if (sweep_validate(&cfg, o.spec, o.seeds, &err) != PD_OK)
        return cli_fail(&err);
    char dir[PD_PATH_MAX];
    if (cli_sweep_dir(&o, dir, sizeof dir, &err) != PD_OK)
        return cli_fail(&err);
    /* in a job of several ranks every rank runs the sweep (sweep.h); rank 0 names the folder and alone prints */
    const pd_comm *job = comm_world();
    if (job->bcast(job, dir, sizeof dir, 0, &err) != PD_OK)
        return cli_job_fail(&err);
    int quiet = o.quiet || job->rank != 0;
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    pd_callbacks cb = cli_progress_callbacks(&prog);
    cli_signals_install();
    if (!quiet)
        fprintf(stderr, "pdiff: sweep in %s\n", dir);
    pd_status st = sweep_run(&cfg, o.spec, o.seeds, dir, &cb, &err);
    cli_progress_finish(&prog);
    if (st != PD_OK)
        return cli_job_fail(&err);
    if (job->rank != 0)
        return 0;
    if (sweep_report(dir, o.fmt, stdout, &err) != PD_OK)
        return cli_fail(&err);
    if (!o.quiet)
        fprintf(stderr, "pdiff: sweep tables in %s/sweep.csv and %s/sweep.tex\n", dir, dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
