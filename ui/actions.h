/* actions.h — what the TUI does besides drawing: start or resume a run, open a session, save the Setup,
 * export a report. Each reports on the status line (nav.h). */
#ifndef PD_UI_ACTIONS_H
#define PD_UI_ACTIONS_H

#include "app.h"

void ui_actions_run(ui_app *a);                     /* start a run with the Setup settings */
void ui_actions_resume(ui_app *a, const char *dir); /* resume a session (NULL: none selected) */
/* Open a session's results (and its curves when no run is active); 0 when loaded. */
int ui_actions_open(ui_app *a, const char *dir);
void ui_actions_save(ui_app *a); /* ask where, then write the Setup as a config.csv */
void ui_actions_save_to(ui_app *a, const char *path);
void ui_actions_export(ui_app *a, const char *dir);
int ui_actions_write_report(const char *dir, int csv, pd_error *err);

#endif
