/* actions.c — what the TUI does besides drawing: start a run with the Setup settings, resume a session,
 * save the Setup as a config.csv, export a session's report. Files are written atomically (temp file, flush,
 * fsync, rename) so a killed TUI never leaves half a report; a new run never overwrites a session that
 * already has results (it gets a -2, -3, ... suffix instead).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "report.h"
#include "session.h"

static int ui_actions_mkdirs(const char *dir)
{
    char tmp[4096];
    ui_app_copy(tmp, sizeof tmp, dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

void ui_actions_save_to(ui_app *a, const char *path)
{
    char dir[4096];
    ui_app_copy(dir, sizeof dir, path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (ui_actions_mkdirs(dir) != 0) {
            ui_tui_message(a, 1, "%s: cannot create the folder (%s)", dir, strerror(errno));
            return;
        }
    }
    pd_error err = {0};
    if (config_write_csv(&a->cfg, path, NULL, NULL, 0, &err) != PD_OK)
        ui_tui_message(a, 1, "%s", err.msg);
    else
        ui_tui_message(a, 0, "settings saved to %s (pdiff run --config %s)", path, path);
}

static int ui_actions_has_results(const char *dir)
{
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/losses.csv", dir);
    if (stat(p, &st) == 0)
        return 1;
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    return stat(p, &st) == 0;
}

void ui_actions_run(ui_app *a)
{
    ui_setup *s = &a->setup;
    if (a->job && job_running(a->job)) {
        ui_tui_message(a, 1, "a run is already active (Run screen, c cancels it)");
        return;
    }
    if (s->target_bad) {
        ui_tui_message(a, 1, "target: %s", s->target_msg[0] ? s->target_msg : "tick at least one tensor");
        ui_tui_goto(a, UI_SETUP);
        return;
    }
    pd_error err = {0};
    if (config_validate(&a->cfg, &err) != PD_OK) {
        ui_app_copy(s->err, sizeof s->err, err.msg);
        s->err_row = -1;
        ui_tui_message(a, 1, "%s", err.msg);
        ui_tui_goto(a, UI_SETUP);
        return;
    }
    char base[4200], dir[4300];
    if (a->session_arg[0])
        ui_app_copy(base, sizeof base, a->session_arg);
    else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(base, sizeof base, "%s/%s", a->sessions_root, stamp);
    }
    ui_app_copy(dir, sizeof dir, base);
    for (int i = 2; ui_actions_has_results(dir) && i < 10000; i++)
        snprintf(dir, sizeof dir, "%s-%d", base, i);
    if (a->sessions_root[0] && mkdir(a->sessions_root, 0777) != 0 && errno != EEXIST) {
        ui_tui_message(a, 1, "%s: cannot create the folder (%s)", a->sessions_root, strerror(errno));
        return;
    }
    if (a->job) {
        job_free(a->job);
        a->job = NULL;
    }
    ui_run_reset(a);
    if (job_start(&a->job, &a->cfg, dir, PIPELINE_ALL_STAGES, 0, &err) != PD_OK) {
        a->job = NULL;
        ui_tui_message(a, 1, "%s", err.msg);
        return;
    }
    a->job_t0 = ui_tui_now();
    ui_app_copy(a->run_dir, sizeof a->run_dir, dir);
    ui_run_log(a, "run started");
    ui_tui_message(a, 0, "run started: session %s", dir);
    ui_tui_goto(a, UI_RUN);
}

void ui_actions_resume(ui_app *a)
{
    const char *dir = ui_sessions_selected(a);
    if (!dir) {
        ui_tui_message(a, 1, "no session selected");
        return;
    }
    if (a->job && job_running(a->job)) {
        ui_tui_message(a, 1, "a run is already active");
        return;
    }
    char path[4300], d[4200];
    ui_app_copy(d, sizeof d, dir);
    snprintf(path, sizeof path, "%s/config.csv", d);
    pd_config cfg;
    pd_error err = {0};
    config_defaults(&cfg);
    if (config_load_csv(&cfg, path, 1, &err) != PD_OK || config_validate(&cfg, &err) != PD_OK) {
        ui_tui_message(a, 1, "%s", err.msg);
        return;
    }
    if (a->job) {
        job_free(a->job);
        a->job = NULL;
    }
    ui_run_reset(a);
    if (job_start(&a->job, &cfg, d, PIPELINE_ALL_STAGES, 1, &err) != PD_OK) {
        a->job = NULL;
        ui_tui_message(a, 1, "%s", err.msg);
        return;
    }
    a->job_t0 = ui_tui_now();
    ui_app_copy(a->run_dir, sizeof a->run_dir, d);
    ui_run_log(a, "resuming");
    ui_tui_message(a, 0, "resuming %s", d);
    ui_tui_goto(a, UI_RUN);
}

void ui_actions_save(ui_app *a)
{
    char path[4200];
    const char *dir = a->session_arg[0] ? a->session_arg : NULL;
    char probe[4300];
    if (dir)
        snprintf(probe, sizeof probe, "%s/summary.csv", dir);
    if (dir && access(probe, F_OK) != 0)
        snprintf(path, sizeof path, "%s/config.csv", dir);
    else
        snprintf(path, sizeof path, "pdiff-config.csv");
    ui_prompt_open(a, UI_PROMPT_SAVE, path);
}

int ui_actions_write_report(const char *dir, int csv, pd_error *err)
{
    char path[4300], tmp[4400];
    snprintf(path, sizeof path, "%s/report.%s", dir, csv ? "csv" : "tex");
    snprintf(tmp, sizeof tmp, "%s/.report.%s.tmp.%ld", dir, csv ? "csv" : "tex", (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        error_set(err, PD_ERR_IO, "%s: cannot write (%s)", tmp, strerror(errno));
        return -1;
    }
    pd_status st = report_write(dir, csv ? PD_REPORT_CSV : PD_REPORT_LATEX, f, err);
    int bad = st != PD_OK;
    if (!bad && (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)) {
        error_set(err, PD_ERR_IO, "%s: write failed (%s)", tmp, strerror(errno));
        bad = 1;
    }
    if (fclose(f) != 0 && !bad) {
        error_set(err, PD_ERR_IO, "%s: write failed (%s)", tmp, strerror(errno));
        bad = 1;
    }
    if (!bad && rename(tmp, path) != 0) {
        error_set(err, PD_ERR_IO, "%s: cannot rename into place (%s)", path, strerror(errno));
        bad = 1;
    }
    if (bad)
        unlink(tmp);
    return bad ? -1 : 0;
}

void ui_actions_export(ui_app *a, const char *dir)
{
    pd_error err = {0};
    if (!session_exists(dir)) {
        ui_tui_message(a, 1, "%s: not a session folder (no config.csv)", dir);
        return;
    }
    if (ui_actions_write_report(dir, 1, &err) != 0 || ui_actions_write_report(dir, 0, &err) != 0) {
        ui_tui_message(a, 1, "export: %s", err.msg);
        return;
    }
    ui_tui_message(a, 0, "exported %s/report.csv and %s/report.tex", dir, dir);
}
