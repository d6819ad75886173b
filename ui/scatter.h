/* scatter.h — a scatter plot of models on the terminal (scatter.c): one marker and colour per kind (kind.h), a
 * legend that wraps instead of dropping kinds, 4-5 ticks on both axes including the top value, axis titles with
 * units, and one selected point drawn highlighted (Similarity's model, Latents' cursor). */
#ifndef PD_UI_SCATTER_H
#define PD_UI_SCATTER_H

#include "app.h"

typedef struct {
    const char *title, *xlabel, *ylabel; /* ylabel/xlabel name the unit: "accuracy (%)" */
    int xpct, ypct;                      /* the axis holds fractions shown as percentages */
    const double *xs, *ys;
    const char *const *kind; /* [n] each point's kind */
    int n;
    int selected; /* point index drawn highlighted, -1: none */
} ui_scatter;

void ui_scatter_draw(ui_app *a, int y, int x, int h, int w, const ui_scatter *s);

#endif
