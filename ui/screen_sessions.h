/* screen_sessions.h — the Sessions screen (sessions.c): the session folders under the sessions root. */
#ifndef PD_UI_SCREEN_SESSIONS_H
#define PD_UI_SCREEN_SESSIONS_H

#include "app.h"

void ui_sessions_scan(ui_app *a);
void ui_sessions_free(ui_app *a);
void ui_sessions_draw(ui_app *a, int y, int h);
void ui_sessions_nav(ui_app *a, int act); /* moves the cursor; Enter (open) is an action (keys.c) */
const char *ui_sessions_selected(const ui_app *a);

#endif
