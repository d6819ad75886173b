/* screen_similarity.h — the Similarity screen (similarity.c): the IoU heatmap and accuracy vs. similarity. */
#ifndef PD_UI_SCREEN_SIMILARITY_H
#define PD_UI_SCREEN_SIMILARITY_H

#include "app.h"

void ui_similarity_draw(ui_app *a, int y, int h);
void ui_similarity_nav(ui_app *a, int act);

#endif
