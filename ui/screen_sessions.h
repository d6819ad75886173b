/* screen_sessions.h — the Sessions screen (sessions.c): the session folders under the sessions root, sorted,
 * filtered, marked for the compare view (compare.h), deleted after asking. */
#ifndef PD_UI_SCREEN_SESSIONS_H
#define PD_UI_SCREEN_SESSIONS_H

#include "app.h"

void ui_sessions_scan(ui_app *a);
/* While the Sessions screen shows: every 2 s, which listed sessions another process writes now and how far it is
 * (their status cell); a session whose writer came or went is read again, and when a session folder was made or
 * removed under the root (its modification time changed) the list is scanned again (marks and cursor kept). */
void ui_sessions_poll(ui_app *a);
void ui_sessions_free(ui_app *a);
void ui_sessions_draw(ui_app *a, int y, int h);
void ui_sessions_nav(ui_app *a, int act); /* moves the cursor (the compare view: scrolls); Enter is an action (keys.c) */
const char *ui_sessions_selected(const ui_app *a);
/* Sort the list by a->sess_sort (reversed: a->sess_rev); the cursor follows the session at path keep (NULL: stays). */
void ui_sessions_sort(ui_app *a, const char *keep);
/* The screen's own keys (the key table names them): Space marks, c compares (closes the compare view), o / O
 * cycle / reverse the sort column, d / Delete ask before deleting the selected session. */
void ui_sessions_key(ui_app *a, int key);
/* The answer while a deletion waits (a->sess_delete set): y deletes, any other key keeps the session. */
void ui_sessions_confirm_key(ui_app *a, int key);
void ui_sessions_draw_confirm(ui_app *a); /* the question, over the screen */

#endif
