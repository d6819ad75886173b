/* keys.h — the one key table: the dispatcher, the ?/F1 help overlay and the status line's hints. */
#ifndef PD_UI_KEYS_H
#define PD_UI_KEYS_H

#include "app.h"

void ui_keys_handle(ui_app *a, int key);
void ui_keys_draw_help(ui_app *a);
const char *ui_keys_hints(const ui_app *a);

#endif
