/* cli_plot.c — `pdiff plot SESSION|SWEEP_DIR [--format pdf|svg|png] [--out DIR] [--only NAME]... [--width PT]`
 * (plots.h): a session's or a sweep's figures and figures.tex; prints each file written on stdout, each figure
 * skipped (its data absent) on stderr. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plots.h"

#define CLI_PLOT_USAGE "pdiff plot SESSION|SWEEP_DIR [--format pdf|svg|png] [--out DIR] [--only NAME]... [--width PT]"

static int cli_plot_option(int c, pd_plot_opts *o)
{
    pd_error err = {0};
    char *end;
    switch (c) {
    case 'f':
        if (fig_format_parse(optarg, &o->format, &err) == PD_OK)
            return -1;
        fprintf(stderr, "pdiff plot: %s\n", err.msg);
        return 2;
    case 'o':
        o->out = optarg;
        return -1;
    case 'n':
        if (o->n_only == PLOT_MAX_ONLY) {
            fprintf(stderr, "pdiff plot: too many --only options\n");
            return 2;
        }
        o->only[o->n_only++] = optarg;
        return -1;
    case 'w':
        errno = 0;
        o->width = strtod(optarg, &end);
        if (errno || end == optarg || *end || !isfinite(o->width) || o->width < 100 || o->width > 2000) {
            fprintf(stderr, "pdiff plot: --width: points from 100 to 2000 (single column 246, double 510), got "
                            "'%s'\n", optarg);
            return 2;
        }
        return -1;
    case 'h':
        cli_usage(stdout);
        return 0;
    default:
        fprintf(stderr, "pdiff plot: unknown or incomplete option '%s' (see pdiff --help)\n", optarg ? optarg : "");
        return 2;
    }
}

static void cli_plot_note(const char *path, const char *note, void *ctx)
{
    (void)ctx;
    if (path)
        printf("%s\n", path);
    else
        fprintf(stderr, "pdiff plot: %s\n", note);
}

int cli_plot(int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                              {"out", required_argument, NULL, 'o'},
                                              {"only", required_argument, NULL, 'n'},
                                              {"width", required_argument, NULL, 'w'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    pd_plot_opts o = {.format = FIG_PDF};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        optarg = c == '?' || c == ':' ? argv[optind - 1] : optarg;
        int rc = cli_plot_option(c, &o);
        if (rc >= 0)
            return rc;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "pdiff plot: usage: " CLI_PLOT_USAGE "\n");
        return 2;
    }
    if (cli_session_arg("plot", "SESSION|SWEEP_DIR", argv[optind]))
        return 1;
    if (o.out && !o.out[0]) {
        fprintf(stderr, "pdiff plot: --out: empty folder name\n");
        return 1;
    }
    pd_error err = {0};
    if (plots_run(argv[optind], &o, cli_plot_note, NULL, &err) != PD_OK) {
        if (err.status == PD_ERR_USAGE) {
            fprintf(stderr, "pdiff plot: %s\n", err.msg);
            return 2;
        }
        return cli_fail(&err);
    }
    return 0;
}
