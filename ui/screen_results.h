/* screen_results.h — the Results screen (results.c): the accuracy table and the per-model list. It also owns
 * the loaded snapshot (a->res) that Similarity and Latents show. */
#ifndef PD_UI_SCREEN_RESULTS_H
#define PD_UI_SCREEN_RESULTS_H

#include "app.h"

/* Load dir's results into a->res; on failure the message shows and a->res stays; 0 when loaded. */
int ui_results_open(ui_app *a, const char *dir);
void ui_results_set(ui_app *a, pd_results *r); /* takes ownership */
void ui_results_sort(ui_app *a);
void ui_results_draw(ui_app *a, int y, int h);
void ui_results_nav(ui_app *a, int act);
/* `x`: the selected model as SESSION/export/KIND-ID.safetensors (export.h); says where on the message line. */
void ui_results_export_model(ui_app *a);

#endif
