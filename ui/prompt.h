/* prompt.h — the one-line editor (Setup values, list filters, the save path) and the quit confirmation.
 * The prompt knows no screen: whoever opens it passes what Enter, each edit and Esc do (ui_prompt_fns, app.h). */
#ifndef PD_UI_PROMPT_H
#define PD_UI_PROMPT_H

#include "app.h"

/* kind: UI_PROMPT_EDIT (drawn by Setup in its row), _FILTER or _SAVE (drawn on the line above the status), or
 * _CONFIRM: a y/n question its opener draws; y or Enter calls submit(a, "y"), n or Esc calls cancel. */
void ui_prompt_open(ui_app *a, int kind, const char *initial, ui_prompt_fns fns);
void ui_prompt_key(ui_app *a, int key);
/* The keys an open prompt takes, for the status line (it takes every key, so no screen key applies); NULL: none open. */
const char *ui_prompt_hints(const ui_app *a);
/* The tail of the line that fits in room columns and the cursor's column within it. */
const char *ui_prompt_visible(const ui_app *a, int room, int *cursor_x);
void ui_prompt_draw(ui_app *a);
void ui_prompt_draw_confirm(ui_app *a);

#endif
