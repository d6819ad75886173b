/* cli_sweep.c — `pdiff sweep KEY=V1,V2,... [--set KEY=VALUE]... [--config FILE] [--session DIR] [--quiet]
 * [--format text|csv|latex]`: run the ablation (sweep.h) and print its combined table on stdout. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sweep.h"

int cli_sweep(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"set", required_argument, NULL, 's'},     {"config", required_argument, NULL, 'c'},
        {"session", required_argument, NULL, 'd'}, {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *sets[256], *config_file = NULL, *dir_opt = NULL;
    int n_sets = 0, quiet = 0;
    pd_report_format fmt = PD_REPORT_TEXT;
    pd_error err = {0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (n_sets < 256)
                sets[n_sets++] = optarg;
            break;
        case 'c':
            config_file = optarg;
            break;
        case 'd':
            dir_opt = optarg;
            break;
        case 'f':
            if (report_parse_format(optarg, &fmt, &err) != PD_OK)
                return cli_fail(&err);
            break;
        case 'q':
            quiet = 1;
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
        fprintf(stderr, "pdiff sweep: usage: pdiff sweep KEY=V1,V2,... [--set KEY=VALUE]... [--session DIR]\n");
        return 2;
    }
    const char *spec = argv[optind];
    pd_config cfg;
    config_defaults(&cfg);
    if (config_file && config_load_csv(&cfg, config_file, 0, &err) != PD_OK)
        return cli_fail(&err);
    for (int i = 0; i < n_sets; i++)
        if (config_set_pair(&cfg, sets[i], &err) != PD_OK)
            return cli_fail(&err);
    if (config_validate(&cfg, &err) != PD_OK)
        return cli_fail(&err);
    char dir[4096];
    if (dir_opt) {
        snprintf(dir, sizeof dir, "%s", dir_opt);
    } else {
        char key[64] = "sweep", stamp[32];
        const char *eq = strchr(spec, '=');
        if (eq && (size_t)(eq - spec) < sizeof key) {
            memcpy(key, spec, (size_t)(eq - spec));
            key[eq - spec] = '\0';
        }
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dir, sizeof dir, "sessions/sweep-%s-%s", key, stamp);
    }
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    pd_callbacks cb = cli_progress_callbacks(&prog);
    cli_signals_install();
    if (!quiet)
        fprintf(stderr, "pdiff: sweep in %s\n", dir);
    pd_status st = sweep_run(&cfg, spec, dir, &cb, &err);
    cli_progress_finish(&prog);
    if (st != PD_OK)
        return cli_fail(&err);
    if (sweep_report(dir, fmt, stdout, &err) != PD_OK)
        return cli_fail(&err);
    if (!quiet)
        fprintf(stderr, "pdiff: sweep tables in %s/sweep.csv and %s/sweep.tex\n", dir, dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
