/* term.h — the terminal layer under every screen: colour roles, glyphs with ASCII fallbacks, clipped text, boxes,
 * and the protection that restores the terminal on every way out (signals, crashes, engine assertions). */
#ifndef PD_UI_TERM_H
#define PD_UI_TERM_H

#include "app.h"

void ui_term_init_colors(ui_app *a);
attr_t ui_term_role(const ui_app *a, int role);
void ui_term_set(const ui_app *a, int role);
void ui_term_pair(int fg, int bg, attr_t attrs); /* fg/bg terminal colours, via alloc_pair */
void ui_term_text(int y, int x, int width, const char *s);
void ui_term_textf(int y, int x, int width, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ui_term_fill(int y, int x, int width);
void ui_term_box(const ui_app *a, int y, int x, int h, int w, const char *title);
const char *ui_term_glyph(const ui_app *a, const char *utf8, const char *ascii);
void ui_term_clip_rows(int *top, int cursor, int n, int height);
/* Terminal protection: capture the restore sequence and tty modes (after setupterm), then protect() once
 * curses runs: signal handlers, the engine's assertion hook; emergency_restore() is async-signal-safe. */
void ui_term_capture_restore(void);
void ui_term_emergency_restore(void);
void ui_term_protect(void);
void ui_term_unprotect(void);
int ui_term_signal_count(void); /* SIGINT/SIGTERM/SIGHUP seen so far */

#endif
