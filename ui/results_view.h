/* results_view.h — the parts of the Results screen beyond the accuracy table and the model list (results_view.c):
 * the model filter, the session caption other screens share, the stage times, the per-kind memorization table,
 * the column legend and the detail view of one model. Internal to results.c (and the screens that name the
 * session: similarity.c, latents.c through screen_results.h). */
#ifndef PD_UI_RESULTS_VIEW_H
#define PD_UI_RESULTS_VIEW_H

#include "app.h"

/* Does model i pass the filter text? Space-separated terms, all must hold: "FIELD OP NUMBER" with FIELD one of id,
 * acc (in %, as shown), loss, iou (max IoU), l2 (nearest L2), nearest (its id) and OP one of < <= > >= = !=; "#N" or
 * a bare whole number: id N; any other word: the kind contains it. An empty text passes everything. */
int ui_results_filter_match(const pd_zoo *z, int32_t i, const char *text);
/* Stage times from summary.csv's seconds_* on one line at row y; returns 1 when drawn (0: no times recorded). */
int ui_results_draw_times(ui_app *a, int y, int x, int w);
/* Rows the per-kind memorization table needs (header + one per kind; 0 when the analysis has not run). */
int ui_results_kinds_rows(const ui_app *a);
/* The per-kind memorization table at (y, x), at most h rows. */
void ui_results_draw_kinds(ui_app *a, int y, int x, int w, int h);
/* Rows the column legend needs at width w, and the legend itself. */
int ui_results_legend_rows(const ui_app *a, int w);
void ui_results_draw_legend(ui_app *a, int y, int x, int w, int h);
/* Every number of model id, one per line with what it means, in h rows from y. */
void ui_results_draw_detail(ui_app *a, int y, int h, int32_t id);

#endif
