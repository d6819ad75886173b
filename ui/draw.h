/* draw.h — the pure widgets (plot.h, heatmap.h) painted on the terminal: line plots, progress bars, scatter
 * plots, heat cells and their legend. */
#ifndef PD_UI_DRAW_H
#define PD_UI_DRAW_H

#include "app.h"

typedef struct {
    const ui_series *s;
    const char *label;
    int color; /* series colour slot 1..8 */
} ui_plot_line;
void ui_draw_plot(ui_app *a, int y, int x, int h, int w, const char *title, const ui_plot_line *lines, int n,
                  int logscale, const char *empty_note);
/* What a plot may add: a unit after the y-axis labels and the legend's values ("%"), and a dashed vertical line
 * at step xmark labelled xmark_label (NaN: none; drawn only inside the plotted steps). */
typedef struct {
    const char *yunit;
    double xmark;
    const char *xmark_label;
} ui_plot_opts;
void ui_draw_plot_opts(ui_app *a, int y, int x, int h, int w, const char *title, const ui_plot_line *lines, int n,
                       int logscale, const char *empty_note, const ui_plot_opts *o);
void ui_draw_bar(const ui_app *a, int y, int x, int w, double frac);
/* A heat cell at (y, x): upper/lower colour slots (-1 none); one char. */
void ui_draw_heat_cell(const ui_app *a, int y, int x, int upper, int lower);
void ui_draw_legend(const ui_app *a, int y, int x, int w, const char *label, double lo, double hi);

#endif
