/* nav.h — the services every screen shares: the message on the status line, going to a screen.
 * Going to Sessions only marks its list stale (a->sess_stale); the loop rescans it before the next key or frame,
 * so nav.c calls no screen. */
#ifndef PD_UI_NAV_H
#define PD_UI_NAV_H

#include "app.h"

/* The status line's message: an error stays 10 s, a note 6 s. */
void ui_nav_message(ui_app *a, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The message of a failed engine call (its status name when it left no message). */
void ui_nav_error(ui_app *a, const pd_error *err);
void ui_nav_goto(ui_app *a, int screen);
/* Esc: back to the screen visited before the current one (a history of up to 16, popped). */
void ui_nav_back(ui_app *a);

#endif
