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

#include "actions.h"

#include "nav.h"
#include "prompt.h"
#include "report.h"
#include "screen_results.h"
#include "screen_run.h"
#include "session.h"

/* dir and the folders above it (dir fits in PD_PATH_MAX: the callers built it) */
static int ui_actions_mkdirs(const char *dir)
{
    char tmp[PD_PATH_MAX];
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
    char dir[PD_PATH_MAX];
    pd_error err = {0};
    if (path_format(dir, sizeof dir, &err, "%s", path) != PD_OK) {
        ui_nav_error(a, &err);
        return;
    }
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (ui_actions_mkdirs(dir) != 0) {
            ui_nav_message(a, 1, "%s: cannot create the folder (%s)", dir, strerror(errno));
            return;
        }
    }
    if (config_write_csv(&a->cfg, path, NULL, NULL, 0, &err) != PD_OK)
        ui_nav_message(a, 1, "%s", err.msg);
    else
        ui_nav_message(a, 0, "settings saved to %s (pdiff run --config %s)", path, path);
}

/* 1 when dir holds results (losses.csv or summary.csv), 0 when not, -1 when the path does not fit */
static int ui_actions_has_results(const char *dir, pd_error *err)
{
    static const char *const names[] = {"losses.csv", "summary.csv"};
    for (int i = 0; i < 2; i++) {
        char p[PD_PATH_MAX];
        struct stat st;
        if (path_join(p, sizeof p, dir, names[i], err) != PD_OK)
            return -1;
        if (stat(p, &st) == 0)
            return 1;
    }
    return 0;
}

/* The folder a new run writes: --session, else sessions/YYYYMMDD-HHMMSS; a -2, -3, ... suffix when it already
 * has results. */
static pd_status ui_actions_new_dir(const ui_app *a, char *dir, size_t size, pd_error *err)
{
    char base[PD_PATH_MAX];
    if (a->session_arg[0])
        PD_TRY(path_format(base, sizeof base, err, "%s", a->session_arg));
    else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        PD_TRY(path_join(base, sizeof base, a->sessions_root, stamp, err));
    }
    PD_TRY(path_format(dir, size, err, "%s", base));
    int has;
    for (int i = 2; (has = ui_actions_has_results(dir, err)) == 1 && i < 10000; i++)
        PD_TRY(path_format(dir, size, err, "%s-%d", base, i));
    return has < 0 ? err->status : PD_OK;
}

/* Start the job on dir (fresh or resuming); the Run screen follows it. */
static void ui_actions_start(ui_app *a, const pd_config *cfg, const char *dir, int resume)
{
    pd_error err = {0};
    if (a->job) {
        job_free(a->job);
        a->job = NULL;
    }
    if (job_start(&a->job, cfg, dir, PIPELINE_ALL_STAGES, resume, &err) != PD_OK) {
        a->job = NULL;
        ui_nav_message(a, 1, "%s", err.msg);
        return;
    }
    ui_run_begin(a, dir, resume);
    ui_run_plan(a, cfg);
    a->job_t0 = progress_now();
    ui_app_copy(a->run_dir, sizeof a->run_dir, dir);
    ui_run_log(a, resume ? "resuming" : "run started");
    if (resume)
        ui_nav_message(a, 0, "resuming %s", dir);
    else
        ui_nav_message(a, 0, "run started: session %s", dir);
    ui_nav_goto(a, UI_RUN);
}

void ui_actions_run(ui_app *a)
{
    ui_setup *s = &a->setup;
    if (a->job && job_running(a->job)) {
        ui_nav_message(a, 1, "a run is already active (Run screen, c cancels it)");
        return;
    }
    if (s->target_bad) { /* the message names the key */
        ui_nav_message(a, 1, "%s", s->target_msg[0] ? s->target_msg : "target: tick at least one tensor");
        ui_nav_goto(a, UI_SETUP);
        return;
    }
    if (s->device_msg[0] && strcmp(s->device_checked, a->cfg.device) == 0) { /* a run could not start here */
        ui_nav_message(a, 1, "%s", s->device_msg);
        ui_nav_goto(a, UI_SETUP);
        return;
    }
    pd_error err = {0};
    if (config_validate(&a->cfg, &err) != PD_OK) {
        ui_app_copy(s->err, sizeof s->err, err.msg);
        s->err_row = -1;
        ui_nav_message(a, 1, "%s", err.msg);
        ui_nav_goto(a, UI_SETUP);
        return;
    }
    char dir[PD_PATH_MAX];
    if (ui_actions_new_dir(a, dir, sizeof dir, &err) != PD_OK) {
        ui_nav_error(a, &err);
        return;
    }
    if (a->sessions_root[0] && mkdir(a->sessions_root, 0777) != 0 && errno != EEXIST) {
        ui_nav_message(a, 1, "%s: cannot create the folder (%s)", a->sessions_root, strerror(errno));
        return;
    }
    ui_actions_start(a, &a->cfg, dir, 0);
}

void ui_actions_resume(ui_app *a, const char *dir)
{
    if (!dir) {
        ui_nav_message(a, 1, "no session selected");
        return;
    }
    if (a->job && job_running(a->job)) {
        ui_nav_message(a, 1, "a run is already active");
        return;
    }
    char d[PD_PATH_MAX], path[PD_PATH_MAX];
    pd_config cfg;
    pd_error err = {0};
    config_defaults(&cfg);
    if (path_format(d, sizeof d, &err, "%s", dir) != PD_OK ||
        path_join(path, sizeof path, d, "config.csv", &err) != PD_OK || config_load_session_csv(&cfg, path, &err) != PD_OK ||
        config_validate(&cfg, &err) != PD_OK) {
        ui_nav_error(a, &err);
        return;
    }
    ui_actions_start(a, &cfg, d, 1);
}

int ui_actions_open(ui_app *a, const char *dir)
{
    char d[PD_PATH_MAX];
    pd_error err = {0};
    if (path_format(d, sizeof d, &err, "%s", dir) != PD_OK) {
        ui_nav_error(a, &err);
        return -1;
    }
    if (ui_results_open(a, d) != 0)
        return -1;
    if (!a->job)
        ui_run_from_results(a);
    return 0;
}

static int ui_actions_save_submit(ui_app *a, const char *text)
{
    if (text[0])
        ui_actions_save_to(a, text);
    return 0;
}

/* Ask where to save the Setup: the --session folder's config.csv while it has no results, else
 * pdiff-config.csv. */
void ui_actions_save(ui_app *a)
{
    char path[PD_PATH_MAX] = "pdiff-config.csv", probe[PD_PATH_MAX];
    const char *dir = a->session_arg[0] ? a->session_arg : NULL;
    pd_error err = {0};
    if (dir && (path_join(probe, sizeof probe, dir, "summary.csv", &err) != PD_OK ||
                (access(probe, F_OK) != 0 && path_join(path, sizeof path, dir, "config.csv", &err) != PD_OK))) {
        ui_nav_error(a, &err);
        return;
    }
    ui_prompt_open(a, UI_PROMPT_SAVE, path, (ui_prompt_fns){.submit = ui_actions_save_submit});
}

int ui_actions_write_report(const char *dir, int csv, pd_error *err)
{
    char path[PD_PATH_MAX], tmp[PD_PATH_MAX];
    if (path_format(path, sizeof path, err, "%s/report.%s", dir, csv ? "csv" : "tex") != PD_OK ||
        path_format(tmp, sizeof tmp, err, "%s/.report.%s.tmp.%ld", dir, csv ? "csv" : "tex", (long)getpid()) != PD_OK)
        return -1;
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
        ui_nav_message(a, 1, "%s: not a session folder (no config.csv)", dir);
        return;
    }
    if (ui_actions_write_report(dir, 1, &err) != 0 || ui_actions_write_report(dir, 0, &err) != 0) {
        ui_nav_message(a, 1, "export: %s", err.msg);
        return;
    }
    ui_nav_message(a, 0, "exported %s/report.csv and %s/report.tex", dir, dir);
}
