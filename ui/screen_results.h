/* screen_results.h — the Results screen (results.c): the accuracy table and the per-model list. It also owns
 * the loaded snapshot (a->res) that Similarity and Latents show. */
#ifndef PD_UI_SCREEN_RESULTS_H
#define PD_UI_SCREEN_RESULTS_H

#include "app.h"

/* Load dir's results into a->res; on failure the message shows and a->res stays; 0 when loaded. */
int ui_results_open(ui_app *a, const char *dir);
void ui_results_set(ui_app *a, pd_results *r); /* takes ownership */
void ui_results_sort(ui_app *a);
/* The loaded session's name for a screen title (its folder as given when full, else its last component), with
 * "(the previous session; ...)" while a run on another session is active: "" when none is loaded. */
void ui_results_caption(const ui_app *a, int full, char *buf, size_t size);
void ui_results_draw(ui_app *a, int y, int h);
void ui_results_nav(ui_app *a, int act);
/* Enter toggles the detail view of the selected model (every number), m the per-kind table in place of the
 * models (when it does not fit beside them); Esc closes either (keys.c). */
void ui_results_toggle_kinds(ui_app *a);
/* `x`: the selected model as SESSION/export/KIND-ID.safetensors (export.h); says where on the message line. */
void ui_results_export_model(ui_app *a);

#endif
