/* watch.c — following a session another process writes (watch.h). Everything comes from the session's files,
 * which the writer replaces whole and atomically (atomic.h): losses.csv at every save and stage end, summary.csv
 * and state/stages.bin at every stage end, run.log as the run logs. A stage is done when summary.csv has its
 * seconds_STAGE; the first stage not done is the running one. Its progress comes from progress.csv
 * (progress_file.h), which the writer rewrites about once a second with its unit, count, total and seconds, so
 * every stage shows a count and an ETA; a writer that has none (an older pdiff) shows the last step of the
 * stage's loss curve against the step count of config.csv (train and the stages without a curve: no count). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "watch.h"

#include "config.h"
#include "nav.h"
#include "progress_file.h"
#include "screen_results.h"
#include "screen_run.h"
#include "session.h"

/* The files a writer changes whose change means reload, and the one that only moves the progress. */
static const char *const ui_watch_files[] = {"losses.csv", "summary.csv", "config.csv", "state/stages.bin", "run.log"};
static const char *const ui_watch_progress_files[] = {PROGRESS_FILE_NAME};

/* The sizes and modification times of n files, as one string: a change means the writer wrote. */
static void ui_watch_signature(const char *dir, const char *const *files, size_t n, char *sig, size_t size)
{
    size_t o = 0;
    sig[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char path[PD_PATH_MAX];
        struct stat st;
        long long sz = -1, ns = 0;
        if (path_join(path, sizeof path, dir, files[i], NULL) == PD_OK && stat(path, &st) == 0) {
            sz = (long long)st.st_size;
            ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        }
        int k = snprintf(sig + o, size - o, "%llx.%llx;", sz, ns);
        if (k < 0 || (size_t)k >= size - o)
            break;
        o += (size_t)k;
    }
}

/* A config value as a number, NaN when absent. */
static double ui_watch_config(const pd_results *r, const char *key)
{
    const char *v = results_config(r, key);
    return v && v[0] ? atof(v) : NAN;
}

/* The last step of a stage's loss curve, -1 when it has none. */
static int64_t ui_watch_last_step(const pd_results *r, const char *stage)
{
    int64_t last = -1;
    for (int64_t i = 0; i < r->n_losses; i++)
        if (strcmp(r->loss_stage[i], stage) == 0 && r->loss_step[i] > last)
            last = r->loss_step[i];
    return last;
}

/* The running stage's progress from progress.csv, when the watched writer wrote it for this stage: 1 if so.
 * The Run screen's clock is then the writer's: the stages done, plus this one's seconds so far. */
static int ui_watch_progress_file(ui_app *a, ui_stage *st, const char *stage)
{
    pd_progress_snapshot ps;
    if (!progress_file_read_of(a->watch_dir, a->watch_pid, &ps) || strcmp(ps.stage, stage) != 0)
        return 0;
    a->run_seconds = a->watch_done_s + ps.stage_seconds;
    st->t_start = a->watch_done_s;
    if (ps.total > 0) {
        ui_app_copy(st->unit, sizeof st->unit, ps.unit);
        st->done = ps.done;
        st->total = ps.total;
        st->unit_t0 = a->run_seconds - ps.unit_seconds;
        st->unit_done0 = ps.unit_start;
    }
    return 1;
}

/* The first stage without seconds_STAGE is running: its progress as far as the files tell. */
static void ui_watch_progress(ui_app *a)
{
    const pd_results *r = a->res;
    int s = 0;
    while (s < PD_STAGE_COUNT && a->stage[s].state != UI_STAGE_PENDING && a->stage[s].state != UI_STAGE_RUNNING)
        s++;
    if (s == PD_STAGE_COUNT)
        return;
    ui_stage *st = &a->stage[s];
    st->state = UI_STAGE_RUNNING;
    const char *unit = pipeline_stage_name((pd_stage)s);
    if (ui_watch_progress_file(a, st, unit))
        return;
    st->t_start = a->watch_done_s;
    st->unit_t0 = NAN; /* no ETA without the writer's clock */
    double total = NAN;
    if (s == PD_STAGE_COLLECT) {
        double span = ui_watch_config(r, "k_span");
        total = span > 0 ? span : ui_watch_config(r, "k") * ui_watch_config(r, "save_every");
    } else if (s == PD_STAGE_AE)
        total = ui_watch_config(r, "ae_steps");
    else if (s == PD_STAGE_DDPM)
        total = ui_watch_config(r, "ddpm_steps");
    int64_t done = ui_watch_last_step(r, unit);
    if (isfinite(total) && total > 0 && done >= 0) {
        ui_app_copy(st->unit, sizeof st->unit, unit);
        st->done = done;
        st->total = (int64_t)total;
    }
}

/* The relative sizes of the run's stages for its ETA (run.c's plan), from the session's config.csv, once per watch:
 * on the CPU with one thread whatever the run uses (only the sizes are kept), none when the settings or the data
 * set cannot be read here. */
static void ui_watch_plan(ui_app *a)
{
    char path[PD_PATH_MAX];
    pd_error err = {0};
    pd_config cfg;
    config_defaults(&cfg);
    memset(a->watch_cost, 0, sizeof a->watch_cost);
    if (path_join(path, sizeof path, a->watch_dir, "config.csv", &err) != PD_OK ||
        config_load_session_csv(&cfg, path, &err) != PD_OK || config_set(&cfg, "device", "cpu", &err) != PD_OK ||
        config_set(&cfg, "threads", "1", &err) != PD_OK)
        return;
    ui_run_plan(a, &cfg);
    memcpy(a->watch_cost, a->run_cost, sizeof a->watch_cost);
}

/* The tail of run.log (when the writer keeps one) into the Run screen's log. */
static void ui_watch_log(ui_app *a)
{
    char path[PD_PATH_MAX];
    if (path_join(path, sizeof path, a->watch_dir, "run.log", NULL) != PD_OK)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    enum { TAIL = 32768 };
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > TAIL)
        fseek(f, -TAIL, SEEK_END);
    else
        rewind(f);
    char line[512];
    int first = ftell(f) > 0; /* the first line read may be cut: skip it */
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        int whole = n > 0 && line[n - 1] == '\n';
        line[strcspn(line, "\r\n")] = '\0';
        if (!first && line[0])
            ui_run_log(a, line);
        first = !whole; /* the rest of a line longer than the buffer is skipped */
    }
    fclose(f);
}

/* Re-read the session: Results keeps its cursors, Run gets the curves, stages and log. */
static void ui_watch_reload(ui_app *a, int running)
{
    pd_results *r = NULL;
    pd_error err = {0};
    if (results_load(&r, a->watch_dir, &err) != PD_OK) {
        ui_nav_error(a, &err);
        return;
    }
    int cur = a->res_cursor, top = a->res_top, same = a->res && a->res->sim_rows == r->sim_rows &&
                                                      a->res->sim_cols == r->sim_cols;
    int sim[4] = {a->sim_r, a->sim_c, a->sim_r0, a->sim_c0};
    ui_results_set(a, r);
    a->res_cursor = cur;
    a->res_top = top;
    ui_results_sort(a); /* clamps the cursor to the new list */
    if (same) {
        a->sim_r = sim[0];
        a->sim_c = sim[1];
        a->sim_r0 = sim[2];
        a->sim_c0 = sim[3];
    }
    ui_run_from_results(a);
    a->watch_done_s = isfinite(a->run_seconds) ? a->run_seconds : 0;
    if (running) {
        memcpy(a->run_cost, a->watch_cost, sizeof a->run_cost);
        ui_watch_progress(a);
    }
    ui_watch_log(a);
    if (running) {
        char line[400];
        snprintf(line, sizeof line, "watching: %s (the files are re-read every second)", a->watch_who);
        ui_run_log(a, line);
    }
    a->dirty = 1;
}

/* The writer let go: the final numbers. */
static void ui_watch_ended(ui_app *a)
{
    a->watching = 0;
    ui_watch_reload(a, 0);
    a->sess_stale = 1;
    if (a->res && isfinite(results_summary(a->res, "pdiff_best"))) {
        ui_nav_message(a, 0, "the watched run has ended: results of %s", a->watch_dir);
        ui_nav_goto(a, UI_RESULTS);
    } else
        ui_nav_message(a, 0, "the watched run has stopped before its results (pdiff resume %s continues it)",
                       a->watch_dir);
}

void ui_watch_poll(ui_app *a)
{
    double now = progress_now();
    if (a->job || !a->res) { /* this TUI's own run, or nothing loaded */
        a->watching = 0;
        a->watch_dir[0] = '\0';
        return;
    }
    int same = strcmp(a->watch_dir, a->res->dir) == 0;
    if (same && now < a->watch_next)
        return;
    a->watch_next = now + 1.0;
    if (!same) {
        ui_app_copy(a->watch_dir, sizeof a->watch_dir, a->res->dir);
        a->watching = 0;
    }
    pd_session_owner who;
    if (!session_owner(a->watch_dir, &who)) {
        if (a->watching)
            ui_watch_ended(a);
        return;
    }
    snprintf(a->watch_who, sizeof a->watch_who, "running on %s pid %ld", who.host[0] ? who.host : "?", who.pid);
    a->watch_pid = who.pid;
    char sig[sizeof a->watch_sig];
    ui_watch_signature(a->watch_dir, ui_watch_files, sizeof ui_watch_files / sizeof *ui_watch_files, sig, sizeof sig);
    if (!a->watching) {
        a->watching = 1;
        a->watch_sig[0] = '\0';
        ui_watch_plan(a);
        ui_nav_message(a, 0, "watching %s: %s (%s)", a->watch_dir, a->watch_who,
                       who.command[0] ? who.command : "pdiff");
        ui_nav_goto(a, UI_RUN);
    }
    char prog[sizeof a->watch_prog];
    ui_watch_signature(a->watch_dir, ui_watch_progress_files, 1, prog, sizeof prog);
    if (strcmp(sig, a->watch_sig) != 0) {
        ui_app_copy(a->watch_sig, sizeof a->watch_sig, sig);
        ui_app_copy(a->watch_prog, sizeof a->watch_prog, prog);
        ui_watch_reload(a, 1);
    } else if (strcmp(prog, a->watch_prog) != 0) { /* only the progress moved: no need to re-read the session */
        ui_app_copy(a->watch_prog, sizeof a->watch_prog, prog);
        ui_watch_progress(a);
        a->dirty = 1;
    }
}
