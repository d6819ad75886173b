/* screen_setup.h — the Setup screen (setup.c, its plan popup: setup_plan.c): the settings, the data set, the
 * model's tensors and the target. */
#ifndef PD_UI_SCREEN_SETUP_H
#define PD_UI_SCREEN_SETUP_H

#include "app.h"

void ui_setup_init(ui_app *a);
void ui_setup_free(ui_app *a);
void ui_setup_refresh(ui_app *a);
void ui_setup_draw(ui_app *a, int y, int h);
void ui_setup_nav(ui_app *a, int act);
const char *ui_setup_current_key(const ui_app *a);
/* `p`: compute the plan of a run with the Setup settings (plan.h) in a thread and show it in a popup; again (or Esc,
 * or an edit) closes it. ui_setup_poll, called by the loop, marks the screen dirty when the plan is ready. */
void ui_setup_plan_toggle(ui_app *a);
int ui_setup_plan_close(ui_app *a); /* 1 when a popup was open */
void ui_setup_poll(ui_app *a);
void ui_setup_draw_plan(ui_app *a, int y, int h); /* the popup over the rows y..y+h-1 */
/* `u`: restore the settings from before the last preset (a preset that changes other settings asks y/n first). */
void ui_setup_undo(ui_app *a);

#endif
