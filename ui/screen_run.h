/* screen_run.h — the Run screen (run.c): stage progress, loss curves, the log; it also drains the job's queues. */
#ifndef PD_UI_SCREEN_RUN_H
#define PD_UI_SCREEN_RUN_H

#include "app.h"

void ui_run_reset(ui_app *a);
void ui_run_free(ui_app *a);
void ui_run_poll(ui_app *a);         /* drain the job's events and metrics */
void ui_run_from_results(ui_app *a); /* curves and stage times of a loaded session */
/* A job starts on dir: a fresh view, or (resume) the session's completed stages with their times and curves. */
void ui_run_begin(ui_app *a, const char *dir, int resume);
void ui_run_draw(ui_app *a, int y, int h);
void ui_run_log(ui_app *a, const char *line);
int ui_run_active_stage(const ui_app *a);
double ui_run_eta(const ui_app *a, int stage);
/* The whole run's remaining time, about: the current stage's ETA and the pending stages' sizes (ui_run_plan) at the
 * rate this run has shown so far; NaN while unknown, never below the stage's ETA. */
double ui_run_eta_all(const ui_app *a);
/* A job starts with cfg: the stages' relative sizes for ui_run_eta_all (after ui_run_begin). */
void ui_run_plan(ui_app *a, const pd_config *cfg);
double ui_run_elapsed(const ui_app *a);

#endif
