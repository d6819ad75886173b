/* cli_tui.c — `pdiff` / `pdiff tui [SESSION]`: the options, then the TUI (ui/tui.h) or, without a usable terminal,
 * a headless run.
 *
 *   pdiff tui [SESSION] [--set KEY=VALUE]... [--config FILE] [--session DIR]
 *
 * --config and --set pre-fill Setup (after SESSION's own config.csv when one is given); SESSION opens a saved
 * session on the Results screen; --session names the folder a new run writes. Without a terminal that can
 * address the cursor (no TTY, TERM=dumb, unknown TERM) it says so on stderr and runs headless instead: `pdiff run`
 * with the same options, or the text report of SESSION.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "path.h"
#include "report.h"
#include "session.h"
#include "tui.h"

typedef struct {
    char **sets;
    int nsets;
    const char *config, *sess_dir, *session;
} cli_tui_opts;

static void cli_tui_usage(FILE *out)
{
    fprintf(out, "Usage: pdiff tui [SESSION] [--set KEY=VALUE]... [--config FILE] [--session DIR]\n"
                 "  SESSION        open a saved session on the Results screen\n"
                 "  --set, --config  pre-fill the Setup screen (as for pdiff run)\n"
                 "  --session DIR  folder a new run writes (default sessions/YYYYMMDD-HHMMSS)\n"
                 "Press ? in the TUI for its keys.\n");
}

/* -1 when the options are fine, else the exit status (0 after --help) */
static int cli_tui_parse(int argc, char **argv, cli_tui_opts *o)
{
    enum { OPT_SET = 1000, OPT_CONFIG, OPT_SESSION };
    static const struct option longopts[] = {{"set", required_argument, NULL, OPT_SET},
                                             {"config", required_argument, NULL, OPT_CONFIG},
                                             {"session", required_argument, NULL, OPT_SESSION},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    optind = 0; /* glibc: full re-initialisation, options may follow SESSION */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == OPT_SET)
            o->sets[o->nsets++] = optarg;
        else if (c == OPT_CONFIG)
            o->config = optarg;
        else if (c == OPT_SESSION)
            o->sess_dir = optarg;
        else if (c == 'h') {
            cli_tui_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "pdiff tui: unknown or incomplete option '%s' (see pdiff tui --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        o->session = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "pdiff tui: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if ((o->session && cli_session_arg("tui", "SESSION", o->session)) ||
        (o->sess_dir && cli_session_arg("tui", "--session", o->sess_dir)))
        return 1;
    if (o->session && !session_exists(o->session)) {
        fprintf(stderr, "pdiff tui: %s: not a session folder (no config.csv)\n", o->session);
        return 1;
    }
    return -1;
}

/* No usable terminal: the same options as a headless run, or SESSION's text report. */
static int cli_tui_headless(const char *why, const cli_tui_opts *o, const char *argv0)
{
    if (o->session) {
        fprintf(stderr, "pdiff tui: %s; printing the report of %s instead\n", why, o->session);
        pd_error err = {0};
        if (report_write(o->session, PD_REPORT_TEXT, stdout, &err) != PD_OK)
            return cli_fail(&err);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(stderr, "pdiff tui: %s; running headless (pdiff run)\n", why);
    char **av = calloc((size_t)(2 * o->nsets + 6), sizeof *av);
    if (!av)
        return 1;
    int n = 0;
    av[n++] = (char *)argv0;
    for (int i = 0; i < o->nsets; i++) {
        av[n++] = "--set";
        av[n++] = o->sets[i];
    }
    if (o->config) {
        av[n++] = "--config";
        av[n++] = (char *)o->config;
    }
    if (o->sess_dir) {
        av[n++] = "--session";
        av[n++] = (char *)o->sess_dir;
    }
    int rc = cli_run(n, av);
    free(av);
    return rc;
}

/* Setup's settings: defaults, then SESSION's config.csv, --config, and each --set */
static pd_status cli_tui_settings(pd_config *cfg, const cli_tui_opts *o, pd_error *err)
{
    config_defaults(cfg);
    if (o->session) {
        char path[PD_PATH_MAX];
        PD_TRY(path_join(path, sizeof path, o->session, "config.csv", err));
        PD_TRY(config_load_csv(cfg, path, 1, err));
    }
    if (o->config)
        PD_TRY(config_load_csv(cfg, o->config, 0, err));
    for (int i = 0; i < o->nsets; i++)
        PD_TRY(config_set_pair(cfg, o->sets[i], err));
    return PD_OK;
}

int cli_tui(int argc, char **argv)
{
    cli_tui_opts o = {.sets = calloc((size_t)argc + 1, sizeof *o.sets)};
    if (!o.sets)
        return 1;
    int rc = cli_tui_parse(argc, argv, &o);
    session_set_writer_name("pdiff tui");
    if (rc < 0) {
        pd_config cfg;
        pd_error err = {0};
        const char *problem = NULL;
        if (cli_tui_settings(&cfg, &o, &err) != PD_OK)
            rc = cli_fail(&err);
        else if ((problem = tui_terminal_problem()) != NULL)
            rc = cli_tui_headless(problem, &o, argv[0]);
        else
            rc = tui_run(&cfg, o.session, o.sess_dir);
    }
    free(o.sets);
    return rc;
}
