/* cli.c — command dispatch, help and version, `run` and `resume` (see cli.h). */
#include "cli.h"
#include "cli_job.h"
#include "comm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "backend.h"
#include "blas.h"
#include "path.h"
#include "pdiff_build.h"
#include "pipeline.h"
#include "plan.h"
#include "report.h"
#include "session.h"
#include "sweep.h"

int cli_fail(const pd_error *err)
{
    if (err->status == PD_ERR_CANCELLED) {
        fprintf(stderr, "pdiff: %s; the session keeps everything up to that point (pdiff resume continues it)\n",
                err->msg[0] ? err->msg : "interrupted");
        return 130;
    }
    fprintf(stderr, "pdiff: %s\n", err->msg[0] ? err->msg : error_status_string(err->status));
    return error_exit_code(err->status);
}

void cli_usage(FILE *out)
{
    fprintf(out,
            "Usage: pdiff [COMMAND] [OPTIONS]\n"
            "Neural-network parameter diffusion workbench (p-diff): train a model, collect checkpoints of a\n"
            "parameter subset, train a parameter autoencoder and a latent DDPM, generate new parameters, and\n"
            "measure whether they are good and whether they are new.\n\n"
            "Commands:\n"
            "  (none)                   the TUI with the default experiment (headless run when stdout is not a TTY)\n"
            "  tui [SESSION]            the TUI, optionally opening a saved session\n"
            "  run [OPTIONS]            the whole pipeline headless; progress on stderr\n"
            "      --set KEY=VALUE      override one setting (repeatable; applied after --config)\n"
            "      --config FILE        settings from a CSV file of key,value rows (a session's config.csv)\n"
            "      --session DIR        session folder (default sessions/YYYYMMDD-HHMMSS)\n"
            "      --stages LIST        comma list of train,collect,ae,ddpm,generate,analyze (default all)\n"
            "      --quiet              no progress output\n"
            "      --dry-run            print the plan instead: per stage the work, the memory and the time estimated\n"
            "                           from units timed on this machine (backend, threads); creates nothing\n"
            "  resume SESSION [--set threads=N] [--quiet]\n"
            "                           continue an interrupted session from its last completed stage/step\n"
            "                           (only threads and device may change; one writer per session at a time)\n"
            "  report SESSION|SWEEP_DIR [--format text|csv|latex]\n"
            "                           the paper-style tables of a session, or a sweep's combined tables\n"
            "  sweep KEY=V1,V2,... [--seeds N] [--set ...] [--session DIR] [--format text|csv|latex]\n"
            "                           ablation: one session per value (and seed), shared early stages, and\n"
            "                           tables of mean ± 95%% CI over the seeds (seed=1,2,3: one group of runs);\n"
            "                           --dry-run: per run the stage it starts at, the evaluations it reuses and\n"
            "                           its estimated time (measured as run --dry-run does), the total, and\n"
            "                           the same runs as separate runs;\n"
            "                           run again with the same --session, a stopped sweep continues (and one\n"
            "                           with more --seeds or values runs only what it adds)\n"
            "  export SESSION [--kind KIND] [--id N]... [--format safetensors|npy] [--out DIR]\n"
            "                           models as PyTorch state_dicts (safetensors; default every p-diff model, file\n"
            "                           DIR/KIND-ID.safetensors), or --format npy: collected.npy (K x D), generated.npy\n"
            "                           (N x D) and target.csv; DIR defaults to SESSION/export\n"
            "  plot SESSION|SWEEP_DIR [--format pdf|svg|png] [--out DIR] [--only NAME]... [--width PT]\n"
            "                           figures for papers (cairo): loss, similarity, memorization, tsne,\n"
            "                           accuracy (a session); sweep_metrics, sweep_max_similarity (a sweep, with\n"
            "                           95%% intervals over repeats); figures.tex; width in points (default 246, a\n"
            "                           single column; 510 double); DIR defaults to SESSION/figures\n"
            "  bench [--only NAME]... [--threads N] [--set device=cuda]   performance workloads\n"
            "  --help, --version\n\n"
            "Exit status: 0 success, 1 bad input (the message names the file or key), 2 usage error,\n"
            "130 interrupted (state saved). Ctrl-C stops a run cleanly and saves; a second Ctrl-C quits at once.\n\n"
            "Settings (KEY=VALUE; see pdiff(1) for details):\n");
    for (int i = 0; i < config_key_count(); i++) {
        const pd_key_info *k = config_key_at(i);
        pd_config def;
        config_defaults(&def);
        char val[PD_CONFIG_STR];
        if (config_get(&def, k->name, val, sizeof val, NULL) != PD_OK)
            val[0] = '\0';
        fprintf(out, "  %-18s %s (default: %s)\n", k->name, k->help, val[0] ? val : "\"\"");
    }
}

void cli_version(FILE *out)
{
    char blas[256];
    blas_describe(blas, sizeof blas);
    fprintf(out, "pdiff %s\n", PACKAGE_VERSION);
    fprintf(out, "backends: %s\n", backend_built_list());
    fprintf(out, "blas: %s\n", blas);
    fprintf(out, "libcsv %s, zlib %s\n", PD_CSV_BUILD_VERSION, zlibVersion());
    const pd_comm *c = comm_world();
    const char *mpi = cli_job_describe();
    if (mpi[0])
        fprintf(out, "mpi: %s, this job %d rank%s\n", mpi, c->size, c->size == 1 ? "" : "s");
    else
        fprintf(out, "mpi: not built (configure --with-mpi)\n");
}

int cli_session_arg(const char *cmd, const char *what, const char *dir)
{
    if (dir && dir[0])
        return 0;
    fprintf(stderr, "pdiff %s: %s: empty folder name (name the session's folder)\n", cmd, what);
    return 1;
}

/* ------------------------------------------------------------------------------------------------ options */

typedef struct {
    const char *config_file;
    const char *session;
    const char *stages;
    const char *sets[256];
    int n_sets;
    int quiet;
    int dry_run;
} cli_run_opts;

enum { CLI_OPT_SET = 1000, CLI_OPT_CONFIG, CLI_OPT_SESSION, CLI_OPT_STAGES, CLI_OPT_QUIET, CLI_OPT_DRY_RUN };

static int cli_parse_run_opts(int argc, char **argv, cli_run_opts *o, const char *cmd)
{
    static const struct option longopts[] = {
        {"set", required_argument, NULL, CLI_OPT_SET},         {"config", required_argument, NULL, CLI_OPT_CONFIG},
        {"session", required_argument, NULL, CLI_OPT_SESSION}, {"stages", required_argument, NULL, CLI_OPT_STAGES},
        {"quiet", no_argument, NULL, CLI_OPT_QUIET},           {"help", no_argument, NULL, 'h'},
        {"dry-run", no_argument, NULL, CLI_OPT_DRY_RUN},       {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_SET:
            if (o->n_sets == 256) {
                fprintf(stderr, "pdiff %s: too many --set options\n", cmd);
                return 2;
            }
            o->sets[o->n_sets++] = optarg;
            break;
        case CLI_OPT_CONFIG:
            o->config_file = optarg;
            break;
        case CLI_OPT_SESSION:
            o->session = optarg;
            break;
        case CLI_OPT_STAGES:
            o->stages = optarg;
            break;
        case CLI_OPT_QUIET:
        case 'q':
            o->quiet = 1;
            break;
        case CLI_OPT_DRY_RUN:
            o->dry_run = 1;
            break;
        case 'h':
            cli_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "pdiff %s: unknown or incomplete option '%s' (see pdiff --help)\n", cmd,
                    argv[optind - 1]);
            return 2;
        }
    }
    return 0;
}

/* Defaults, then base (a session's config.csv: every setting must have its row), then --config, then --set in
 * order. */
static pd_status cli_build_config(pd_config *cfg, const char *base_csv, const cli_run_opts *o, pd_error *err)
{
    config_defaults(cfg);
    if (base_csv)
        PD_TRY(config_load_session_csv(cfg, base_csv, err));
    if (o->config_file)
        PD_TRY(config_load_csv(cfg, o->config_file, 0, err));
    for (int i = 0; i < o->n_sets; i++)
        PD_TRY(config_set_pair(cfg, o->sets[i], err));
    return config_validate(cfg, err);
}

/* ------------------------------------------------------------------------------------------------ --dry-run */

static void cli_plan_row(int width, const char *stage, const char *work, const char *mem, const char *time)
{
    printf("%-9s %-*s %10s %10s\n", stage, width, work, mem, time);
}

/* A unit's time: milliseconds below a tenth of a second. */
static void cli_plan_seconds(double s, char *buf, size_t size)
{
    if (s > 0.0 && s < 0.1)
        snprintf(buf, size, "%.2g ms", 1000.0 * s);
    else
        plan_format_seconds(s, buf, size);
}

/* The plan as a table on stdout: per stage the work, the memory and the time (and below it the timed unit); then
 * the total and what the times were measured on. */
static void cli_print_plan(const pd_config *cfg, const pd_plan *pl)
{
    char mem[32], t[32], unit[32], once[32];
    printf("pdiff run --dry-run: the plan of preset %s: %s on %s, %dx%dx%d images, %d classes\n", cfg->preset,
           cfg->arch, cfg->dataset, pl->h, pl->w, pl->c, pl->classes);
    printf("data: %d training + %d test images%s%s\n\n", pl->n_train, pl->n_test, pl->data_note[0] ? "; " : "",
           pl->data_note);
    int width = 40;
    for (int i = 0; i < PD_STAGE_COUNT; i++)
        width = (int)strlen(pl->stage[i].work) > width ? (int)strlen(pl->stage[i].work) : width;
    cli_plan_row(width, "stage", "work", "memory", "time");
    for (int i = 0; i < PD_STAGE_COUNT; i++) {
        const pd_plan_stage *s = &pl->stage[i];
        plan_format_bytes(s->bytes, mem, sizeof mem);
        plan_format_seconds(s->seconds, t, sizeof t);
        cli_plan_row(width, pipeline_stage_name((pd_stage)i), s->work, mem, t);
        cli_plan_seconds(s->unit_seconds, unit, sizeof unit);
        cli_plan_seconds(s->once_seconds, once, sizeof once);
        printf("%-9s = %lld x %s of %s%s%s\n", "", (long long)s->units, s->unit, unit,
               s->once_seconds > 0.0 ? " + other work " : "", s->once_seconds > 0.0 ? once : "");
    }
    plan_format_bytes(pl->peak_bytes, mem, sizeof mem);
    plan_format_seconds(pl->total_seconds, t, sizeof t);
    cli_plan_row(width, "total", "estimated (memory: the largest stage's)", mem, t);
    printf("\nmeasured on %s with %d thread%s in %.1f s: a few units of each kind run with synthetic inputs, scaled "
           "to the run's sizes\n", pl->backend, pl->threads, pl->threads == 1 ? "" : "s", pl->measure_seconds);
    char as[400];
    plan_format_address(pl, as, sizeof as);
    printf("%s\n", as);
}

static int cli_dry_run(const cli_run_opts *o)
{
    pd_error err = {0};
    pd_config cfg;
    if (o->stages) {
        unsigned mask;
        if (pipeline_parse_stages(o->stages, &mask, &err) != PD_OK)
            return cli_fail(&err);
    }
    if (cli_build_config(&cfg, NULL, o, &err) != PD_OK)
        return cli_fail(&err);
    pd_plan pl;
    if (plan_compute(&pl, &cfg, 1, NULL, &err) != PD_OK)
        return cli_fail(&err);
    cli_print_plan(&cfg, &pl);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* sessions/YYYYMMDD-HHMMSS, with -2, -3, ... appended while that folder exists. */
static pd_status cli_default_session(char *buf, size_t size, pd_error *err)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    PD_TRY(path_format(buf, size, err, "sessions/%s", stamp));
    struct stat st;
    for (int i = 2; stat(buf, &st) == 0 && i < 1000; i++)
        PD_TRY(path_format(buf, size, err, "sessions/%s-%d", stamp, i));
    return PD_OK;
}

/* Unlink the files (not folders) of dir but the one named keep (NULL: none), then rmdir dir when rm_dir (it fails,
 * harmlessly, when something is left). Best effort. */
static void cli_remove_files(const char *dir, const char *keep, int rm_dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    struct stat st;
    while ((e = readdir(d)) != NULL)
        if (!(keep && strcmp(e->d_name, keep) == 0) && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(st.st_mode))
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    if (rm_dir)
        (void)rmdir(dir);
}

/* A run that made dir and failed before any stage completed leaves nothing behind, so that the same --session
 * can be used again: its files go while the run still holds the session's lock (locked: all but the lock file),
 * the lock file and the folders once it let go. Only a folder this run created gets here. */
static void cli_discard_session(const char *dir, int locked)
{
    char state[PD_PATH_MAX];
    if (path_join(state, sizeof state, dir, "state", NULL) != PD_OK)
        return;
    cli_remove_files(state, NULL, !locked);
    cli_remove_files(dir, locked ? ".lock" : NULL, !locked);
}

static int cli_nothing_done(const pd_pipeline *p)
{
    for (int s = 0; s < PD_STAGE_COUNT; s++)
        if (pipeline_stage_done(p, (pd_stage)s))
            return 0;
    return 1;
}

/* created: this run made dir (it did not exist before). */
static int cli_execute(const pd_config *cfg, const char *dir, unsigned mask, int resume, int created, int quiet)
{
    pd_error err = {0};
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    pd_callbacks cb = cli_progress_callbacks(&prog);
    cli_signals_install();
    cli_memory_session(dir, 0);
    pd_pipeline *p;
    if (pipeline_open(&p, cfg, dir, &cb, &err) != PD_OK)
        return cli_fail(&err);
    if (!quiet)
        fprintf(stderr, "pdiff: session %s\n", dir);
    pd_status st = pipeline_run(p, mask, resume, &err);
    cli_progress_finish(&prog);
    int discard = st != PD_OK && st != PD_ERR_CANCELLED && created && cli_nothing_done(p);
    if (discard)
        cli_discard_session(dir, 1);
    pipeline_free(p);
    if (discard)
        cli_discard_session(dir, 0);
    if (st != PD_OK)
        return cli_fail(&err);
    if (!quiet)
        fprintf(stderr, "pdiff: finished; results in %s (pdiff report %s)\n", dir, dir);
    return 0;
}

int cli_run(int argc, char **argv)
{
    cli_run_opts o;
    int rc = cli_parse_run_opts(argc, argv, &o, "run");
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind < argc) {
        fprintf(stderr, "pdiff run: unexpected argument '%s' (settings go in --set KEY=VALUE)\n", argv[optind]);
        return 2;
    }
    if (o.session && cli_session_arg("run", "--session", o.session))
        return 1;
    if (o.dry_run)
        return cli_dry_run(&o);
    session_set_writer_name("pdiff run");
    pd_error err = {0};
    unsigned mask = PIPELINE_ALL_STAGES;
    if (o.stages && pipeline_parse_stages(o.stages, &mask, &err) != PD_OK)
        return cli_fail(&err);
    char dir[PD_PATH_MAX];
    pd_status st = o.session ? path_format(dir, sizeof dir, &err, "%s", o.session)
                             : cli_default_session(dir, sizeof dir, &err);
    if (st != PD_OK)
        return cli_fail(&err);
    char base[PD_PATH_MAX];
    const char *base_csv = NULL;
    if (session_check_unlocked(dir, &err) != PD_OK)
        return cli_fail(&err);
    if (session_exists(dir)) {
        if (!o.stages) {
            fprintf(stderr,
                    "pdiff run: %s already holds a session; continue it with 'pdiff resume %s', redo some stages "
                    "with --stages, or pick another --session\n",
                    dir, dir);
            return 1;
        }
        if (path_join(base, sizeof base, dir, "config.csv", &err) != PD_OK)
            return cli_fail(&err);
        base_csv = base;
    }
    pd_config cfg;
    if (cli_build_config(&cfg, base_csv, &o, &err) != PD_OK)
        return cli_fail(&err);
    struct stat sb;
    int created = stat(dir, &sb) != 0 && errno == ENOENT;
    return cli_execute(&cfg, dir, mask, 0, created, o.quiet);
}

/* Resuming may change only run settings (threads, device): what the session's earlier stages computed depends on
 * the others, and config.csv must keep saying what the session ran with. */
static int cli_resume_check(const char *dir, const pd_config *ran, const pd_config *cfg)
{
    const pd_key_info *k = config_first_change(ran, cfg);
    if (!k)
        return 0;
    char was[PD_CONFIG_STR + 32] = "", now[PD_CONFIG_STR + 32] = "";
    config_get(ran, k->name, was, sizeof was, NULL);
    config_get(cfg, k->name, now, sizeof now, NULL);
    fprintf(stderr,
            "pdiff resume: %s: cannot change when resuming (%s ran with '%.60s', not '%.60s'); only run settings "
            "(threads, device) can; start a new session with pdiff run --config %s/config.csv --set %s=...\n",
            k->name, dir, was, now, dir, k->name);
    return 1;
}

int cli_resume(int argc, char **argv)
{
    cli_run_opts o;
    int rc = cli_parse_run_opts(argc, argv, &o, "resume");
    if (rc)
        return rc < 0 ? 0 : rc;
    if (optind != argc - 1 || o.config_file || o.session || o.stages) {
        fprintf(stderr, "pdiff resume: usage: pdiff resume SESSION [--set KEY=VALUE]... [--quiet]\n");
        return 2;
    }
    const char *dir = argv[optind];
    if (cli_session_arg("resume", "SESSION", dir))
        return 1;
    if (!session_exists(dir)) {
        fprintf(stderr, "pdiff resume: %s: not a session folder (no config.csv)\n", dir);
        return 1;
    }
    session_set_writer_name("pdiff resume");
    pd_error err = {0};
    char base[PD_PATH_MAX];
    if (session_check_unlocked(dir, &err) != PD_OK || path_join(base, sizeof base, dir, "config.csv", &err) != PD_OK)
        return cli_fail(&err);
    pd_config ran, cfg;
    config_defaults(&ran);
    if (config_load_session_csv(&ran, base, &err) != PD_OK || cli_build_config(&cfg, base, &o, &err) != PD_OK)
        return cli_fail(&err);
    if (cli_resume_check(dir, &ran, &cfg))
        return 1;
    return cli_execute(&cfg, dir, PIPELINE_ALL_STAGES, 1, 0, o.quiet);
}

/* A sweep's folder: its combined tables, of the runs that have results when it is running or stopped. */
static int cli_report_sweep(const char *dir, pd_report_format f)
{
    pd_error err = {0};
    sweep_report_status st;
    fflush(stdout);
    if (sweep_report_partial(dir, f, stdout, &st, &err) != PD_OK)
        return cli_fail(&err);
    if (st.without > 0)
        fprintf(stderr, "pdiff report: %s: %lld of the sweep's %lld runs have no results yet (%s%s): the tables "
                "show the others\n", dir, (long long)st.without, (long long)st.runs, st.first_without,
                st.without > 1 ? ", ..." : "");
    return fflush(stdout) == 0 ? 0 : 1;
}

int cli_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    pd_report_format f = PD_REPORT_TEXT;
    pd_error err = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hf:", longopts, NULL)) != -1) {
        if (c == 'f') {
            if (report_parse_format(optarg, &f, &err) != PD_OK)
                return cli_fail(&err);
        } else if (c == 'h') {
            cli_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "pdiff report: unknown or incomplete option '%s' (see pdiff --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "pdiff report: usage: pdiff report SESSION|SWEEP_DIR [--format text|csv|latex]\n");
        return 2;
    }
    if (cli_session_arg("report", "SESSION", argv[optind]))
        return 1;
    if (!session_exists(argv[optind])) {
        if (path_file_in(argv[optind], "sweep_index.csv"))
            return cli_report_sweep(argv[optind], f);
        fprintf(stderr, "pdiff report: %s: not a session folder (no config.csv) nor a sweep's (no sweep_index.csv)\n",
                argv[optind]);
        return 1;
    }
    char status[600], summary[PD_PATH_MAX];
    cli_session_status(argv[optind], status, sizeof status);
    if (status[0]) { /* a run in progress: where it is, and the tables as far as it got (none before generate) */
        if (path_join(summary, sizeof summary, argv[optind], "summary.csv", &err) == PD_OK && access(summary, F_OK)) {
            fprintf(stderr, "pdiff report: %s: %s; no tables before its first stage has ended (summary.csv)\n",
                    argv[optind], status);
            return 1;
        }
        fprintf(stderr, "pdiff report: %s: %s; the tables below are as far as it got\n", argv[optind], status);
    }
    if (report_write(argv[optind], f, stdout, &err) != PD_OK)
        return cli_fail(&err);
    return fflush(stdout) == 0 ? 0 : 1;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_run(argc, argv);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        cli_version(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "resume") == 0)
        return cli_resume(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cli_report(argc - 1, argv + 1);
    if (strcmp(cmd, "sweep") == 0)
        return cli_sweep(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cli_export(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0)
        return cli_plot(argc - 1, argv + 1);
    fprintf(stderr, "pdiff: unknown command '%s' (see pdiff --help)\n", cmd);
    return 2;
}
