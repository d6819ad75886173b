/* cli_sweep.c — `pdiff sweep KEY=V1,V2,... [--seeds N] [--set KEY=VALUE]... [--config FILE] [--session DIR]
 * [--quiet] [--format text|csv|latex] [--dry-run]`: run the ablation (sweep.h), each value with N seeds, and print
 * its combined tables (mean ± 95 % CI) on stdout; or, with --dry-run, its plan (sweep_dry) without running. */
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
    int n_sets, quiet, dry_run;
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
        {"seeds", required_argument, NULL, 'n'},   {"dry-run", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0}};
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
        case 'r':
            o->dry_run = 1;
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

/* The plan as a table on stdout: per run where it starts, the evaluations it reuses, its memory and time. */
static void cli_sweep_print_dry(const char *spec, const sweep_dry *d)
{
    char mem[32], t[32], ev[48];
    printf("pdiff sweep --dry-run: %s, %d run%s (%d value%s x %d seed%s)\n", spec, d->n, d->n == 1 ? "" : "s",
           d->values, d->values == 1 ? "" : "s", d->seeds, d->seeds == 1 ? "" : "s");
    if (d->shared_upto > PD_STAGE_TRAIN)
        printf("the values of a seed share the stages before %s: the first value runs them, the others start from "
               "its copy and take its evaluations of the models they share\n", pipeline_stage_name(d->shared_upto));
    else
        printf("%s changes every stage: each run starts at train\n", d->key);
    printf("\n%-40s %-9s %-22s %10s %10s\n", "run", "starts at", "models evaluated", "memory", "time");
    for (int i = 0; i < d->n; i++) {
        const sweep_dry_run *r = &d->runs[i];
        int reused = r->reused_generate + r->reused_analyze;
        if (reused > 0)
            snprintf(ev, sizeof ev, "%d (%d reused)", r->evaluated, reused);
        else
            snprintf(ev, sizeof ev, "%d", r->evaluated);
        plan_format_bytes(r->bytes, mem, sizeof mem);
        plan_format_seconds(r->seconds, t, sizeof t);
        printf("%-40s %-9s %-22s %10s %10s\n", r->session, pipeline_stage_name(r->from), ev, mem, t);
    }
    plan_format_bytes(d->peak_bytes, mem, sizeof mem);
    plan_format_seconds(d->total_seconds, t, sizeof t);
    printf("%-73s %10s %10s\n", "total, one run after the other (memory: the largest stage's)", mem, t);
    if (d->separate_seconds > 0.0) {
        plan_format_seconds(d->separate_seconds, t, sizeof t);
        char what[96];
        snprintf(what, sizeof what, "as %d separate runs (nothing shared): the sweep is %.0f %% of it",
                 d->n, 100.0 * d->total_seconds / d->separate_seconds);
        printf("%-73s %10s %10s\n", what, "", t);
    }
    char once[128] = "once per value";
    if (d->plans_computed < d->values)
        snprintf(once, sizeof once, "once for all values (%s changes no size or unit of work)", d->key);
    printf("\nmeasured on %s with %d thread%s in %.1f s, as pdiff run --dry-run does, %s. The total is an upper "
           "bound: in one process on the CPU with 2 threads or more the values' own AE and DDPM train side by side, "
           "and under mpirun the runs spread over the ranks.\n",
           d->plans[0].backend, d->plans[0].threads, d->plans[0].threads == 1 ? "" : "s", d->measure_seconds, once);
}

static int cli_sweep_dry_run(const pd_config *cfg, const cli_sweep_opts *o)
{
    pd_error err = {0};
    sweep_dry d;
    pd_status st = sweep_dry_compute(&d, cfg, o->spec, o->seeds, 1, &err);
    if (st == PD_OK)
        cli_sweep_print_dry(o->spec, &d);
    sweep_dry_free(&d);
    if (st != PD_OK)
        return cli_fail(&err);
    return fflush(stdout) == 0 ? 0 : 1;
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
    if (o.dry_run) /* checks the sweep as sweep_validate does; one process's answer: under mpirun rank 0's */
        return comm_world()->rank == 0 ? cli_sweep_dry_run(&cfg, &o) : 0;
    if (sweep_validate(&cfg, o.spec, o.seeds, &err) != PD_OK)
        return cli_fail(&err);
    char dir[PD_PATH_MAX];
    if (cli_sweep_dir(&o, dir, sizeof dir, &err) != PD_OK)
        return cli_fail(&err);
    /* in a job of several ranks every rank runs the sweep (sweep.h); rank 0 names the folder and alone prints */
    const pd_comm *job = comm_world();
    if (job->bcast(job, dir, sizeof dir, 0, &err) != PD_OK)
        return cli_job_fail(&err);
    int continuing = 0; /* every rank reads the same folder: all go on or all refuse */
    if (sweep_check_dir(&cfg, o.spec, o.seeds, dir, &continuing, &err) != PD_OK)
        return job->rank == 0 ? cli_fail(&err) : error_exit_code(err.status);
    int quiet = o.quiet || job->rank != 0;
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    pd_callbacks cb = cli_progress_callbacks(&prog);
    cli_signals_install();
    cli_memory_session(dir, 1);
    if (!quiet)
        fprintf(stderr, "pdiff: sweep in %s%s\n", dir,
                continuing ? ": continuing it (its finished runs are kept)" : "");
    pd_status st = sweep_run(&cfg, o.spec, o.seeds, dir, &cb, &err);
    cli_progress_finish(&prog);
    if (st == PD_ERR_CANCELLED) { /* under mpirun: this group's leader; the job ends with it (the others wait) */
        char who[48] = "";
        if (job->size > 1)
            snprintf(who, sizeof who, "rank %d of %d: ", job->rank, job->size);
        fprintf(stderr, "pdiff: %s%s; the sweep keeps every run up to that point: the same command with --session %s "
                "continues it\n", who, err.msg[0] ? err.msg : "interrupted", dir);
        fflush(stderr);
        if (job->size > 1)
            job->abort(job, 130);
        return 130;
    }
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
