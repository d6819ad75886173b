/* screen_setup.h — the Setup screen (setup.c): the settings, the data set, the model's tensors and the target. */
#ifndef PD_UI_SCREEN_SETUP_H
#define PD_UI_SCREEN_SETUP_H

#include "app.h"

void ui_setup_init(ui_app *a);
void ui_setup_free(ui_app *a);
void ui_setup_refresh(ui_app *a);
void ui_setup_draw(ui_app *a, int y, int h);
void ui_setup_nav(ui_app *a, int act);
const char *ui_setup_current_key(const ui_app *a);

#endif
