/* cli_export.c — `pdiff export SESSION [--kind KIND] [--id N]... [--format safetensors|npy] [--out DIR]`
 * (export.h): the chosen models of a session as PyTorch state_dicts in safetensors (default: every p-diff model),
 * or its collected and generated vectors as NumPy .npy with target.csv. Prints each file written on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "path.h"
#include "session.h"

typedef struct {
    const char *session, *kind, *out;
    int npy;
    int32_t *ids;
    int n_ids;
} cli_export_opts;

#define CLI_EXPORT_USAGE "pdiff export SESSION [--kind KIND] [--id N]... [--format safetensors|npy] [--out DIR]"

static int cli_export_id(const char *arg, int32_t *id)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > INT32_MAX) {
        fprintf(stderr, "pdiff export: --id: must be a model id (a whole number >= 0, see models.csv), got '%s'\n",
                arg);
        return 2;
    }
    *id = (int32_t)v;
    return 0;
}

/* The options into o: -1 to go on, else the exit status (after any message). */
static int cli_export_parse(int argc, char **argv, cli_export_opts *o)
{
    static const struct option longopts[] = {{"kind", required_argument, NULL, 'k'},
                                              {"id", required_argument, NULL, 'i'},
                                              {"format", required_argument, NULL, 'f'},
                                              {"out", required_argument, NULL, 'o'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'k')
            o->kind = optarg;
        else if (c == 'i') {
            if (cli_export_id(optarg, &o->ids[o->n_ids]))
                return 2;
            o->n_ids++;
        } else if (c == 'f') {
            if (strcmp(optarg, "safetensors") != 0 && strcmp(optarg, "npy") != 0) {
                fprintf(stderr, "pdiff export: --format: safetensors or npy, got '%s'\n", optarg);
                return 2;
            }
            o->npy = strcmp(optarg, "npy") == 0;
        } else if (c == 'o')
            o->out = optarg;
        else if (c == 'h') {
            cli_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "pdiff export: unknown or incomplete option '%s' (see pdiff --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "pdiff export: usage: " CLI_EXPORT_USAGE "\n");
        return 2;
    }
    o->session = argv[optind];
    if (o->npy && (o->kind || o->n_ids)) {
        fprintf(stderr, "pdiff export: %s applies to --format safetensors (npy exports the collected and the p-diff "
                        "vectors)\n", o->kind ? "--kind" : "--id");
        return 2;
    }
    if (o->out && !o->out[0]) {
        fprintf(stderr, "pdiff export: --out: empty folder name\n");
        return 1;
    }
    return -1;
}

static int cli_export_models(pd_export *x, const cli_export_opts *o, const char *dir)
{
    pd_error err = {0};
    int32_t *ids, n;
    if (export_select(x, o->kind, o->ids, o->n_ids, &ids, &n, &err) != PD_OK)
        return cli_fail(&err);
    char path[PD_PATH_MAX];
    for (int32_t i = 0; i < n; i++) {
        if (export_safetensors(x, ids[i], dir, path, sizeof path, &err) != PD_OK) {
            free(ids);
            return cli_fail(&err);
        }
        printf("%s\n", path);
    }
    free(ids);
    return 0;
}

static int cli_export_npy(pd_export *x, const char *dir)
{
    pd_error err = {0};
    if (export_npy(x, dir, &err) != PD_OK)
        return cli_fail(&err);
    static const char *const files[] = {"collected.npy", "generated.npy", "target.csv"};
    for (int i = 0; i < 3; i++)
        printf("%s/%s\n", dir, files[i]);
    return 0;
}

int cli_export(int argc, char **argv)
{
    cli_export_opts o = {0};
    o.ids = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *o.ids);
    if (!o.ids) {
        fprintf(stderr, "pdiff export: out of memory\n");
        return 1;
    }
    int rc = cli_export_parse(argc, argv, &o);
    if (rc < 0 && cli_session_arg("export", "SESSION", o.session))
        rc = 1;
    if (rc < 0 && !session_exists(o.session)) {
        fprintf(stderr, "pdiff export: %s: not a session folder (no config.csv)\n", o.session);
        rc = 1;
    }
    pd_error err = {0};
    char dir[PD_PATH_MAX];
    if (rc < 0 && (o.out ? path_format(dir, sizeof dir, &err, "%s", o.out)
                         : export_default_dir(o.session, dir, sizeof dir, &err)) != PD_OK)
        rc = cli_fail(&err);
    pd_export *x = NULL;
    if (rc < 0 && export_open(&x, o.session, &err) != PD_OK)
        rc = cli_fail(&err);
    if (rc < 0)
        rc = o.npy ? cli_export_npy(x, dir) : cli_export_models(x, &o, dir);
    if (rc == 0 && fflush(stdout) != 0)
        rc = 1;
    export_free(x);
    free(o.ids);
    return rc;
}
