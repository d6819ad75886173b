/* figures.h — F on Results and Similarity: the figure on screen as PDF into SESSION/figures/ (src/plots.h, what
 * `pdiff plot --only NAME` draws; figures.tex keeps the other figures' entries), and where it went on the status line. */
#ifndef PD_UI_FIGURES_H
#define PD_UI_FIGURES_H

#include "app.h"

/* Results: accuracy (the accuracy distribution per kind); Similarity: similarity (the heatmap) and memorization
 * (accuracy against max similarity) when the session has them. Without cairo the status line says what to install. */
void ui_figures_export(ui_app *a);

#endif
