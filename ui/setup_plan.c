/* setup_plan.c — Setup's `p`: the plan of a run with the Setup settings (the work, memory and estimated time per
 * stage, plan.h) in a popup, computed in a thread because timing the units takes seconds (see screen_setup.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "screen_setup.h"

#include "nav.h"
#include "plan.h"
#include "term.h"

#define UI_PLAN_LINE 1200

/* One plan being computed in its own thread, or computed. */
typedef struct ui_plan_job {
    pthread_t th;
    pd_config cfg;
    pd_plan plan;
    pd_error err;
    pd_status st;
    atomic_int done, cancel;
} ui_plan_job;

static int ui_setup_plan_cancelled(void *ud)
{
    return atomic_load(&((ui_plan_job *)ud)->cancel);
}

static void *ui_setup_plan_thread(void *vp)
{
    ui_plan_job *j = vp;
    pd_callbacks cb = {.should_cancel = ui_setup_plan_cancelled, .ud = j};
    j->st = plan_compute(&j->plan, &j->cfg, 1, &cb, &j->err);
    atomic_store(&j->done, 1);
    return NULL;
}

/* Stop (cancel and join) and forget the plan. */
static void ui_setup_plan_end(ui_app *a)
{
    ui_plan_job *j = a->setup.plan;
    a->setup.plan = NULL;
    a->setup.plan_shown = 0;
    if (!j)
        return;
    atomic_store(&j->cancel, 1);
    pthread_join(j->th, NULL);
    free(j);
}

int ui_setup_plan_close(ui_app *a)
{
    int was = a->setup.plan_shown;
    ui_setup_plan_end(a);
    return was;
}

void ui_setup_plan_toggle(ui_app *a)
{
    if (ui_setup_plan_close(a))
        return;
    if (a->job && job_running(a->job)) {
        ui_nav_message(a, 1, "a run is active: timing the plan's units now would slow it down");
        return;
    }
    pd_error err = {0};
    if (config_validate(&a->cfg, &err) != PD_OK) {
        ui_nav_error(a, &err);
        return;
    }
    ui_plan_job *j = calloc(1, sizeof *j);
    if (!j) {
        ui_nav_message(a, 1, "out of memory");
        return;
    }
    j->cfg = a->cfg;
    if (pthread_create(&j->th, NULL, ui_setup_plan_thread, j) != 0) {
        free(j);
        ui_nav_message(a, 1, "cannot start a thread to compute the plan");
        return;
    }
    a->setup.plan = j;
    a->setup.plan_shown = 1;
}

void ui_setup_poll(ui_app *a)
{
    ui_plan_job *j = a->setup.plan;
    if (j && j->st == PD_OK && atomic_load(&j->done) == 1) {
        atomic_store(&j->done, 2); /* seen */
        a->dirty = 1;
    }
}

/* The popup's lines: the data, per stage the work, memory and time, the total, what it was measured on. */
static int ui_setup_plan_lines(const ui_app *a, char lines[][UI_PLAN_LINE], int max)
{
    const ui_plan_job *j = a->setup.plan;
    const pd_plan *p = &j->plan;
    int n = 0;
    if (!atomic_load(&j->done)) {
        snprintf(lines[n++], UI_PLAN_LINE, "computing the plan: timing a few units of each stage on %s...", a->cfg.device);
        return n;
    }
    if (j->st != PD_OK) {
        snprintf(lines[n++], UI_PLAN_LINE, "no plan: %s", j->err.msg);
        return n;
    }
    char mem[32], t[32];
    snprintf(lines[n++], UI_PLAN_LINE, "%s on %s: %d + %d images of %dx%dx%d, %d classes", a->cfg.arch, a->cfg.dataset,
             p->n_train, p->n_test, p->h, p->w, p->c, p->classes);
    if (p->data_note[0] && n < max)
        snprintf(lines[n++], UI_PLAN_LINE, "%s", p->data_note);
    snprintf(lines[n++], UI_PLAN_LINE, "%-9s %10s %10s  %s", "stage", "memory", "time", "work");
    for (int i = 0; i < PD_STAGE_COUNT && n < max - 3; i++) {
        plan_format_bytes(p->stage[i].bytes, mem, sizeof mem);
        plan_format_seconds(p->stage[i].seconds, t, sizeof t);
        snprintf(lines[n++], UI_PLAN_LINE, "%-9s %10s %10s  %s", pipeline_stage_name((pd_stage)i), mem, t, p->stage[i].work);
    }
    plan_format_bytes(p->peak_bytes, mem, sizeof mem);
    plan_format_seconds(p->total_seconds, t, sizeof t);
    snprintf(lines[n++], UI_PLAN_LINE, "%-9s %10s %10s  estimated total (memory: the largest stage's)", "total", mem, t);
    plan_format_address(p, lines[n++], UI_PLAN_LINE);
    snprintf(lines[n++], UI_PLAN_LINE, "measured on %s with %d thread%s in %.1f s (p or Esc closes)", p->backend, p->threads,
             p->threads == 1 ? "" : "s", p->measure_seconds);
    return n;
}

void ui_setup_draw_plan(ui_app *a, int y, int h)
{
    char lines[16][UI_PLAN_LINE];
    int n = ui_setup_plan_lines(a, lines, 16);
    int w = a->cols, bh = n + 2 < h ? n + 2 : h;
    if (w < 20 || bh < 3)
        return;
    attrset(A_NORMAL);
    ui_term_box(a, y + (h - bh) / 2, 0, bh, w, "plan of a run with these settings");
    for (int i = 0; i < bh - 2; i++) {
        attrset(i == 2 && n > 3 ? ui_term_role(a, UI_C_HEAD) : A_NORMAL);
        ui_term_text(y + (h - bh) / 2 + 1 + i, 2, w - 4, lines[i]);
    }
    attrset(A_NORMAL);
}
