/* log.h — the log view (L on the Run screen): the session's run.log, and the last run's error in full, in a pager
 * with tig's keys (j/k or arrows, PgUp/PgDn or Space/b, g/G, / search with n/N, q or Esc back). Long lines wrap.
 * It follows the file while a run writes it: at the end it stays at the end. */
#ifndef PD_UI_LOG_H
#define PD_UI_LOG_H

#include "app.h"

void ui_log_open(ui_app *a);
void ui_log_close(ui_app *a); /* also frees it; NULL view: no-op */
void ui_log_key(ui_app *a, int key);
/* the view in rows y..y+h-1 of the screen (instead of the current screen) */
void ui_log_draw(ui_app *a, int y, int h);

#endif
