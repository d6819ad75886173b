/* screen_latents.h — the Latents screen (latents.c): the t-SNE embedding of the latents per kind. */
#ifndef PD_UI_SCREEN_LATENTS_H
#define PD_UI_SCREEN_LATENTS_H

#include "app.h"

void ui_latents_draw(ui_app *a, int y, int h);
/* Left/Right (Up/Down) select the previous/next point, cycling; Home/End the first/last. */
void ui_latents_nav(ui_app *a, int act);

#endif
