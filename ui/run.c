/* run.c — the Run screen: one progress bar with ETA per pipeline stage, live loss curves (task loss and
 * accuracy, AE loss, DDPM loss) in braille cells, and the tail of the log. It also turns the job's event and
 * metric queues into that state (ui_run_poll) and reacts when the job finishes. A saved session shows its
 * curves and stage times from losses.csv and summary.csv (ui_run_from_results).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_run.h"

#include "draw.h"
#include "log.h"
#include "nav.h"
#include "plan.h"
#include "screen_results.h"
#include "table.h"
#include "term.h"

void ui_run_log(ui_app *a, const char *line)
{
    int i = (a->log_head + a->log_n) % UI_LOG_LINES;
    if (a->log_n == UI_LOG_LINES)
        a->log_head = (a->log_head + 1) % UI_LOG_LINES;
    else
        a->log_n++;
    ui_app_copy(a->log[i], sizeof a->log[i], line);
    a->dirty = 1;
}

void ui_run_reset(ui_app *a)
{
    ui_series *all[] = {&a->task_loss, &a->task_acc, &a->collect_loss, &a->ae_loss, &a->ddpm_loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        all[i]->n = 0;
    memset(a->stage, 0, sizeof a->stage);
    memset(a->run_cost, 0, sizeof a->run_cost);
    a->log_head = a->log_n = 0;
    a->run_seconds = NAN;
}

void ui_run_free(ui_app *a)
{
    ui_log_close(a);
    ui_series *all[] = {&a->task_loss, &a->task_acc, &a->collect_loss, &a->ae_loss, &a->ddpm_loss};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ui_series_free(all[i]);
}

static int ui_run_stage_of(const char *name)
{
    for (int s = 0; s < PD_STAGE_COUNT; s++)
        if (strcmp(pipeline_stage_name((pd_stage)s), name) == 0)
            return s;
    return -1;
}

int ui_run_active_stage(const ui_app *a)
{
    int at = -1;
    for (int s = 0; s < PD_STAGE_COUNT; s++)
        if (a->stage[s].state == UI_STAGE_RUNNING)
            at = s;
    return at;
}

/* The stage a progress unit belongs to: "task" is train, "evaluate" is part of generate. */
static int ui_run_stage_of_unit(const ui_app *a, const char *unit)
{
    if (strcmp(unit, "task") == 0)
        return PD_STAGE_TRAIN;
    if (strcmp(unit, "evaluate") == 0)
        return PD_STAGE_GENERATE;
    int s = ui_run_stage_of(unit);
    return s >= 0 ? s : ui_run_active_stage(a);
}

double ui_run_elapsed(const ui_app *a)
{
    if (a->job)
        return progress_now() - a->job_t0;
    return a->run_seconds;
}

double ui_run_eta(const ui_app *a, int s)
{
    if (s < 0 || s >= PD_STAGE_COUNT || (!a->job && !a->watching))
        return NAN;
    const ui_stage *st = &a->stage[s];
    double t = ui_run_elapsed(a) - st->unit_t0; /* watching: on the writer's clock (watch.c), NaN without it */
    int64_t did = st->done - st->unit_done0;
    if (st->state != UI_STAGE_RUNNING || st->total <= 0 || did <= 0 || !(t > 0))
        return NAN;
    return (double)(st->total - st->done) * t / (double)did;
}

/* The relative size of each stage's work for the run's ETA, from the plan's counts (plan.h, nothing timed): passes
 * x samples x parameters of the network a unit runs, a training step counting three passes; an evaluation runs the
 * test set through the target's layers only (the evaluator caches the rest, once per stage). Zero when no plan. */
void ui_run_plan(ui_app *a, const pd_config *cfg)
{
    pd_plan *p = calloc(1, sizeof *p);
    pd_error err = {0};
    memset(a->run_cost, 0, sizeof a->run_cost);
    if (!p || plan_compute(p, cfg, 0, NULL, &err) != PD_OK) {
        free(p);
        return;
    }
    double task = 3.0 * (double)p->train_batch * (double)p->task_params;
    double eval = (double)p->n_test * (double)p->target_d, prefix = (double)p->n_test * (double)p->task_params;
    a->run_cost[PD_STAGE_TRAIN][0] = task * (double)p->train_steps;
    a->run_cost[PD_STAGE_COLLECT][0] = task * (double)(p->collect_iters + p->collect_runs * p->train_steps);
    a->run_cost[PD_STAGE_AE][0] = 3.0 * (double)cfg->ae_steps * p->ae_batch * (double)p->ae_params;
    a->run_cost[PD_STAGE_DDPM][0] = 3.0 * (double)cfg->ddpm_steps * p->ddpm_batch * (double)p->unet_params;
    a->run_cost[PD_STAGE_GENERATE][0] =
        (double)p->sample_chunks * (double)p->sample_steps * p->sample_batch * (double)p->unet_params;
    a->run_cost[PD_STAGE_GENERATE][1] = prefix + eval * p->eval_generate;
    a->run_cost[PD_STAGE_ANALYZE][0] = prefix + eval * p->eval_analyze + task * (double)p->finetune_iters;
    free(p);
}

/* The network a stage's unit (0: its first, 1: generate's evaluate) mostly runs: costs of one network are
 * comparable, across networks they are not (a convolution reuses its parameters), so each has its own rate. */
enum { UI_RUN_NET_TASK, UI_RUN_NET_AE, UI_RUN_NET_UNET, UI_RUN_NETS };
static int ui_run_net(int s, int unit)
{
    if (unit)
        return UI_RUN_NET_TASK;
    return s == PD_STAGE_AE ? UI_RUN_NET_AE : s == PD_STAGE_DDPM || s == PD_STAGE_GENERATE ? UI_RUN_NET_UNET
                                                                                           : UI_RUN_NET_TASK;
}

/* Seconds per unit of cost, per network and over all (index UI_RUN_NETS), from what this run did: the one-unit
 * stages it completed and the current one so far. */
static void ui_run_rates(const ui_app *a, int act, double rate[UI_RUN_NETS + 1])
{
    double secs[UI_RUN_NETS + 1] = {0}, cost[UI_RUN_NETS + 1] = {0};
    for (int s = 0; s < PD_STAGE_COUNT; s++) {
        const ui_stage *st = &a->stage[s];
        const double *c = a->run_cost[s];
        double t = 0, f = 0;
        if (c[1] > 0 || c[0] <= 0)
            continue;
        if (st->state == UI_STAGE_DONE && st->t_end > st->t_start) {
            t = st->t_end - st->t_start;
            f = 1;
        } else if (s == act && st->total > 0) {
            t = ui_run_elapsed(a) - st->t_start;
            f = (double)st->done / (double)st->total;
        }
        int n = ui_run_net(s, 0);
        secs[n] += t, secs[UI_RUN_NETS] += t;
        cost[n] += c[0] * f, cost[UI_RUN_NETS] += c[0] * f;
    }
    for (int n = 0; n <= UI_RUN_NETS; n++)
        rate[n] = cost[n] > 0 && secs[n] > 0 ? secs[n] / cost[n] : NAN;
    for (int n = 0; n < UI_RUN_NETS; n++)
        if (isnan(rate[n]))
            rate[n] = rate[UI_RUN_NETS];
}

double ui_run_eta_all(const ui_app *a)
{
    int act = ui_run_active_stage(a);
    double stage_eta = ui_run_eta(a, act);
    if (act < 0 || !isfinite(stage_eta))
        return NAN;
    double rate[UI_RUN_NETS + 1], left = 0;
    ui_run_rates(a, act, rate);
    for (int s = 0; s < PD_STAGE_COUNT; s++)
        for (int u = 0; u < 2; u++) {
            double c = a->run_cost[s][u];
            /* the pending stages, and the current stage's second unit while its first runs */
            int todo = a->stage[s].state == UI_STAGE_PENDING ||
                       (s == act && u == 1 && strcmp(a->stage[s].unit, "evaluate") != 0);
            if (todo && u == 0 && c <= 0)
                return NAN; /* no plan: the stage's size is unknown */
            if (!todo || c <= 0)
                continue;
            if (!isfinite(rate[ui_run_net(s, u)]))
                return NAN;
            left += c * rate[ui_run_net(s, u)];
        }
    return stage_eta + (left > 0 && isfinite(left) ? left : 0);
}

/* What a stopped run kept: the training stages continue from their last checkpoint, generate and analyze start
 * over (the stages before them are kept either way). */
static void ui_run_stopped_message(ui_app *a, int stage)
{
    const char *name = stage >= 0 ? pipeline_stage_name((pd_stage)stage) : "";
    if (stage >= 0 && stage <= PD_STAGE_DDPM)
        ui_nav_message(a, 0, "run stopped in %s: its state is saved; Sessions: R resumes it from there", name);
    else if (stage >= 0)
        ui_nav_message(a, 0, "run stopped in %s: the stages before it are saved; R on Sessions starts %s over", name,
                       name);
    else
        ui_nav_message(a, 0, "run stopped");
}

/* A run that failed before its first stage (device, data set, a session in use, ...): the Run screen keeps the
 * session it showed, the error is kept in full for the log view (L), and the screen stays. */
static void ui_run_failed_start(ui_app *a, const char *line)
{
    ui_run_from_results(a);
    ui_run_log(a, line);
    ui_nav_message(a, 1, "%s (L: the whole message)", line);
}

static void ui_run_finished(ui_app *a, const pd_job_event *ev)
{
    pd_error err = {0};
    pd_status st = job_wait(a->job, &err);
    int act = ui_run_active_stage(a);
    job_free(a->job);
    a->job = NULL;
    char line[PD_PATH_MAX + PD_ERROR_MSG_MAX + 32];
    if (st == PD_OK)
        snprintf(line, sizeof line, "finished: results in %s", a->run_dir);
    else
        snprintf(line, sizeof line, "%s: %s", st == PD_ERR_CANCELLED ? "stopped" : "failed",
                 err.msg[0] ? err.msg : error_status_string(st));
    ui_app_copy(a->run_error, sizeof a->run_error, st == PD_OK ? "" : line);
    a->sess_stale = 1; /* the new session's numbers */
    if (a->stopping) {
        a->quit = 1;
        a->exit_code = a->interrupted ? 130 : 0;
    }
    if (st != PD_OK && st != PD_ERR_CANCELLED && !a->job_started) {
        ui_run_failed_start(a, line);
        return;
    }
    a->run_seconds = ev->elapsed;
    for (int s = 0; s < PD_STAGE_COUNT; s++) {
        if (a->stage[s].state == UI_STAGE_RUNNING) {
            a->stage[s].state = st == PD_OK ? UI_STAGE_DONE : UI_STAGE_FAILED;
            a->stage[s].t_end = ev->elapsed;
        } else if (a->stage[s].state == UI_STAGE_PENDING && st == PD_OK)
            a->stage[s].state = UI_STAGE_SKIPPED;
    }
    ui_run_log(a, line);
    ui_results_open(a, a->run_dir);
    int have_table = a->res && !isnan(results_summary(a->res, "pdiff_best"));
    if (st == PD_OK) {
        ui_nav_message(a, 0, "run finished in %.1f s: results of %s", ev->elapsed, a->run_dir);
        ui_nav_goto(a, UI_RESULTS);
    } else if (st == PD_ERR_CANCELLED)
        ui_run_stopped_message(a, act);
    else {
        ui_nav_message(a, 1, "%s (L: the whole message)", line);
        if (have_table && !a->stopping)
            ui_nav_goto(a, UI_RESULTS);
    }
}

/* A resumed stage sends its points again from the step it continues after: drop the series' tail from there. */
static void ui_run_series_push_at(ui_series *s, double x, double y)
{
    while (s->n > 0 && s->x[s->n - 1] >= x)
        s->n--;
    ui_series_push(s, x, y);
}

static void ui_run_metric(ui_app *a, const pd_job_metric *m)
{
    if (strcmp(m->stage, "task") == 0) {
        ui_run_series_push_at(&a->task_loss, (double)m->step, m->loss);
        if (isfinite(m->accuracy))
            ui_run_series_push_at(&a->task_acc, (double)m->step, 100 * m->accuracy); /* in %, as Results */
    } else if (strcmp(m->stage, "collect") == 0) {
        double off = a->task_loss.n ? a->task_loss.x[a->task_loss.n - 1] : 0;
        ui_run_series_push_at(&a->collect_loss, off + (double)m->step, m->loss);
    } else if (strcmp(m->stage, "ae") == 0)
        ui_run_series_push_at(&a->ae_loss, (double)m->step, m->loss);
    else if (strcmp(m->stage, "ddpm") == 0)
        ui_run_series_push_at(&a->ddpm_loss, (double)m->step, m->loss);
}

void ui_run_poll(ui_app *a)
{
    pd_job_event ev[64];
    pd_job_metric met[512];
    int n;
    while (a->job && (n = job_poll_metrics(a->job, met, 512)) > 0) {
        for (int i = 0; i < n; i++)
            ui_run_metric(a, &met[i]);
        a->dirty = 1;
    }
    while (a->job && (n = job_poll_events(a->job, ev, 64)) > 0) {
        a->dirty = 1;
        for (int i = 0; i < n && a->job; i++) {
            const pd_job_event *e = &ev[i];
            int s;
            switch (e->kind) {
            case PD_JOB_EVENT_STAGE_START:
                if ((s = ui_run_stage_of(e->text)) >= 0) {
                    a->job_started = 1;
                    memset(&a->stage[s], 0, sizeof a->stage[s]);
                    a->stage[s].state = UI_STAGE_RUNNING;
                    a->stage[s].t_start = a->stage[s].unit_t0 = e->elapsed;
                }
                break;
            case PD_JOB_EVENT_STAGE_DONE:
                if ((s = ui_run_stage_of(e->text)) >= 0) {
                    a->stage[s].state = UI_STAGE_DONE;
                    a->stage[s].t_end = e->elapsed;
                }
                break;
            case PD_JOB_EVENT_PROGRESS:
                if ((s = ui_run_stage_of_unit(a, e->text)) >= 0) {
                    ui_stage *st = &a->stage[s];
                    if (strcmp(st->unit, e->text) != 0 || e->done < st->done) {
                        ui_app_copy(st->unit, sizeof st->unit, e->text);
                        st->unit_t0 = e->elapsed;
                        st->unit_done0 = e->done;
                    }
                    st->done = e->done;
                    st->total = e->total;
                    if (st->state == UI_STAGE_PENDING) {
                        st->state = UI_STAGE_RUNNING;
                        st->t_start = e->elapsed;
                    }
                }
                break;
            case PD_JOB_EVENT_LOG:
                ui_run_log(a, e->text);
                break;
            case PD_JOB_EVENT_FINISHED:
                ui_run_finished(a, e);
                break;
            }
        }
    }
}

/* Curves of losses.csv and stage times of summary.csv from snapshot r; done (NULL: the stages with a time) says
 * which stages are complete. */
static void ui_run_load(ui_app *a, const pd_results *r, const int *done)
{
    for (int64_t i = 0; i < r->n_losses; i++) {
        pd_job_metric m = {.step = r->loss_step[i], .loss = r->loss[i], .accuracy = r->loss_accuracy[i]};
        ui_app_copy(m.stage, sizeof m.stage, r->loss_stage[i]);
        ui_run_metric(a, &m);
    }
    double total = 0;
    for (int s = 0; s < PD_STAGE_COUNT; s++) {
        char metric[64];
        snprintf(metric, sizeof metric, "seconds_%s", pipeline_stage_name((pd_stage)s));
        double sec = results_summary(r, metric);
        if (done ? !done[s] : !isfinite(sec))
            continue;
        sec = isfinite(sec) ? sec : 0;
        a->stage[s].state = UI_STAGE_DONE;
        a->stage[s].t_start = total;
        a->stage[s].t_end = total + sec;
        total += sec;
    }
    a->run_seconds = total > 0 ? total : NAN;
}

void ui_run_from_results(ui_app *a)
{
    ui_run_reset(a);
    const pd_results *r = a->res;
    if (!r)
        return;
    ui_run_load(a, r, NULL);
    char line[PD_PATH_MAX + 32];
    snprintf(line, sizeof line, "opened session %s", r->dir);
    ui_run_log(a, line);
}

void ui_run_begin(ui_app *a, const char *dir, int resume)
{
    ui_run_reset(a);
    a->job_started = 0;
    a->run_error[0] = '\0';
    if (!resume)
        return;
    /* the stages the session completed stay done, with their curves and times (state/stages.bin) */
    pd_results *r = NULL;
    pd_error err = {0};
    int done[PD_STAGE_COUNT];
    if (pipeline_stages_done(dir, done, &err) != PD_OK || results_load(&r, dir, &err) != PD_OK) {
        ui_run_log(a, err.msg);
        return;
    }
    ui_run_load(a, r, done);
    results_free(r);
}

static void ui_run_draw_stage(ui_app *a, int y, int s)
{
    const ui_stage *st = &a->stage[s];
    int W = a->cols;
    int bw = W - 50;
    bw = bw < 10 ? 10 : bw > 50 ? 50 : bw;
    double frac = st->state == UI_STAGE_DONE ? 1 : st->total > 0 ? (double)st->done / (double)st->total : 0;
    attrset(st->state == UI_STAGE_RUNNING ? A_BOLD : A_NORMAL);
    ui_term_textf(y, 0, 10, " %-8s", pipeline_stage_name((pd_stage)s));
    attrset(A_NORMAL);
    ui_draw_bar(a, y, 10, bw, frac);
    char info[160], t1[32], t2[32];
    switch (st->state) {
    case UI_STAGE_RUNNING:
        ui_table_fmt_duration(ui_run_eta(a, s), t1, sizeof t1);
        if (st->total > 0)
            snprintf(info, sizeof info, "%3.0f%%  %s %lld/%lld  ETA %s", 100 * frac, st->unit, (long long)st->done,
                     (long long)st->total, t1);
        else
            snprintf(info, sizeof info, "  0%%  starting");
        break;
    case UI_STAGE_DONE:
        ui_table_fmt_duration(st->t_end - st->t_start, t2, sizeof t2);
        snprintf(info, sizeof info, "100%%  done in %s", t2);
        break;
    case UI_STAGE_FAILED:
        snprintf(info, sizeof info, "%3.0f%%  stopped", 100 * frac);
        break;
    case UI_STAGE_SKIPPED:
        snprintf(info, sizeof info, "  -   skipped");
        break;
    default:
        snprintf(info, sizeof info, "  -   pending");
        break;
    }
    attrset(st->state == UI_STAGE_FAILED ? ui_term_role(a, UI_C_ERROR)
            : st->state == UI_STAGE_DONE ? ui_term_role(a, UI_C_OK)
                                         : A_NORMAL);
    ui_term_text(y, 11 + bw, W - 11 - bw, info);
    attrset(A_NORMAL);
}

void ui_run_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    char el[32];
    ui_table_fmt_duration(ui_run_elapsed(a), el, sizeof el);
    int act = ui_run_active_stage(a);
    const char *dir = a->job ? a->run_dir : a->res ? a->res->dir : "";
    attrset(A_BOLD);
    const char *dot = ui_term_glyph(a, "\u00b7", "|");
    if (a->job) {
        char eta[32], all[32];
        int left = 0;
        for (int s = 0; s < PD_STAGE_COUNT; s++)
            left += a->stage[s].state == UI_STAGE_PENDING;
        ui_table_fmt_duration(ui_run_eta(a, act), eta, sizeof eta);
        ui_table_fmt_duration(ui_run_eta_all(a), all, sizeof all);
        ui_term_textf(y, 0, W,
                      " running %s  %s  elapsed %s  %s  stage ETA %s, %d more stage%s  %s  ETA run ~ %s  %s  session %s",
                      act >= 0 ? pipeline_stage_name((pd_stage)act) : "", dot, el, dot, eta, left,
                      left == 1 ? "" : "s", dot, all, dot, dir);
    } else if (dir[0] && a->watching) { /* another process writes it (watch.c) */
        char eta[32], all[32];
        ui_table_fmt_duration(ui_run_eta(a, act), eta, sizeof eta);
        ui_table_fmt_duration(ui_run_eta_all(a), all, sizeof all);
        ui_term_textf(y, 0, W, " watching %s  %s  elapsed %s  %s  stage ETA %s  %s  ETA run ~ %s  %s  session %s",
                      act >= 0 ? pipeline_stage_name((pd_stage)act) : "", dot, el, dot, eta, dot, all, dot, dir);
    } else if (dir[0])
        ui_term_textf(y, 0, W, " session %s  %s  total %s  (no run active; r starts one from Setup; L: log)", dir,
                      dot, el);
    else
        ui_term_text(y, 0, W, " no run yet: press r to start one with the Setup settings");
    attrset(A_NORMAL);
    int stages = h - 1 >= PD_STAGE_COUNT ? PD_STAGE_COUNT : h - 1;
    for (int s = 0; s < stages; s++)
        ui_run_draw_stage(a, y + 1 + s, s);
    int rest = h - 1 - stages;
    int loglines = rest >= 20 ? 5 : rest >= 14 ? 3 : rest >= 8 ? 2 : rest > 0 ? 1 : 0;
    int pa = rest - loglines;
    int py = y + 1 + stages;
    const char *note = a->job ? "waiting for data" : "no data: start a run (r) or open a session (6)";
    ui_plot_line task[2] = {{&a->task_loss, "task", 1}, {&a->collect_loss, "collect", 2}};
    ui_plot_line acc[1] = {{&a->task_acc, "train accuracy", 3}};
    /* where collection starts: the task curve's last train step, once collect has sent its first point */
    ui_plot_opts pct = {.yunit = "%", .xmark = NAN};
    ui_plot_opts mark = {.xmark = a->collect_loss.n > 0 && a->task_loss.n > 0 ? a->task_loss.x[a->task_loss.n - 1]
                                                                               : NAN,
                         .xmark_label = "collect"};
    ui_plot_line ae[1] = {{&a->ae_loss, "ae", 4}};
    ui_plot_line dd[1] = {{&a->ddpm_loss, "ddpm", 5}};
    ui_plot_line aedd[2] = {{&a->ae_loss, "ae", 4}, {&a->ddpm_loss, "ddpm", 5}};
    int hw = W / 2;
    if (pa >= 8) {
        int ph = pa / 2;
        ui_draw_plot_opts(a, py, 0, ph, hw - 1, "loss", task, 2, a->log_scale, note, &mark);
        ui_draw_plot_opts(a, py, hw, ph, W - hw, "accuracy", acc, 1, 0, note, &pct);
        ui_draw_plot(a, py + ph, 0, pa - ph, hw - 1, "AE loss", ae, 1, a->log_scale, note);
        ui_draw_plot(a, py + ph, hw, pa - ph, W - hw, "DDPM loss", dd, 1, a->log_scale, note);
    } else if (pa >= 3) {
        ui_draw_plot_opts(a, py, 0, pa, hw - 1, "loss", task, 2, a->log_scale, note, &mark);
        ui_draw_plot(a, py, hw, pa, W - hw, "AE/DDPM", aedd, 2, a->log_scale, note);
    }
    int ly = py + (pa > 0 ? pa : 0);
    attrset(ui_term_role(a, UI_C_DIM));
    for (int i = 0; i < loglines; i++) {
        int k = a->log_n - loglines + i;
        if (k < 0)
            continue;
        ui_term_textf(ly + i, 0, W, " %s %s", ui_term_glyph(a, "\u2502", "|"),
                      a->log[(a->log_head + k) % UI_LOG_LINES]);
    }
    attrset(A_NORMAL);
}
