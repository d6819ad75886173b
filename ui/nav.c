/* nav.c — the status line's message and going to a screen (see nav.h). */
#include "nav.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ui_nav_message(ui_app *a, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    for (unsigned char *c = (unsigned char *)a->msg; *c; c++) /* one line: a file's bytes may be quoted */
        if (*c < 0x20 || *c == 0x7f)
            *c = '?';
    a->msg_err = is_error;
    a->msg_until = progress_now() + (is_error ? 20 : 6); /* an error stays long enough to be read on a slow link */
    a->dirty = 1;
}

void ui_nav_error(ui_app *a, const pd_error *err)
{
    ui_nav_message(a, 1, "%s", err->msg[0] ? err->msg : error_status_string(err->status));
}

/* Back to the screen visited before this one (Esc), not forward again: the history is popped. */
void ui_nav_back(ui_app *a)
{
    while (a->n_history > 0) {
        int to = a->history[--a->n_history];
        if (to != a->screen) {
            a->prev_screen = a->n_history > 0 ? a->history[a->n_history - 1] : to;
            a->screen = to;
            if (to == UI_SESSIONS)
                a->sess_stale = 1;
            a->dirty = 1;
            return;
        }
    }
}

void ui_nav_goto(ui_app *a, int screen)
{
    if (screen < 0 || screen >= UI_NSCREENS)
        return;
    if (screen != a->screen) {
        a->prev_screen = a->screen;
        if (a->n_history == (int)(sizeof a->history / sizeof a->history[0])) { /* full: forget the oldest */
            memmove(a->history, a->history + 1, (size_t)(a->n_history - 1) * sizeof a->history[0]);
            a->n_history--;
        }
        a->history[a->n_history++] = a->screen;
        a->screen = screen;
    }
    if (screen == UI_SESSIONS)
        a->sess_stale = 1;
    a->dirty = 1;
}
