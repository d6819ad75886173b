/* compare.h — the compare view of the Sessions screen (compare.c): the summaries of several sessions side by side
 * (one column per session, a row per metric present in any, the difference of each to the first session) and
 * their loss curves overlaid (task, AE, DDPM), one colour and letter per session (A is the first marked). It
 * reads each session once, when opened, through session.h (losses.csv, summary.csv); `c` again re-reads them. */
#ifndef PD_UI_COMPARE_H
#define PD_UI_COMPARE_H

#include "app.h"

#define UI_COMPARE_MAX 8 /* one series colour each */

/* Open the view on n (2..UI_COMPARE_MAX) sessions; a session that cannot be read shows empty (the message says
 * why). Replaces a view already open. */
void ui_compare_open(ui_app *a, const char *const *dirs, const char *const *names, int n);
void ui_compare_close(ui_app *a); /* no-op when closed */
void ui_compare_nav(ui_app *a, int act); /* scrolls the table */
void ui_compare_draw(ui_app *a, int y, int h);

#endif
