/* latents.c — the Latents screen: the 2-D t-SNE embedding of the session's latents (latents.csv, written by
 * the analyze stage), one marker and colour per model kind with a legend; a hint when there is none yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_latents.h"

#include "draw.h"
#include "term.h"

void ui_latents_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    const pd_results *r = a->res;
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_text(y, 0, W, " t-SNE of the latents, per kind");
    attrset(A_NORMAL);
    if (!r) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1, "No session loaded: start a run (Setup, r) or open one (Sessions, 6).");
        attrset(A_NORMAL);
        return;
    }
    if (r->latents_error[0]) {
        attrset(ui_term_role(a, UI_C_ERROR));
        ui_term_textf(y + 2, 1, W - 1, "latents.csv could not be read: %s", r->latents_error);
        attrset(A_NORMAL);
        return;
    }
    if (!r->have_latents || r->n_latents < 1) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1, "This session has no latents.csv: run the analyze stage to embed the latents");
        ui_term_textf(y + 3, 1, W - 1, "(pdiff run --stages analyze --session %s).", r->dir);
        attrset(A_NORMAL);
        return;
    }
    int n = r->n_latents;
    int *kind = malloc(sizeof *kind * (size_t)n);
    const char *kinds[16];
    int nk = 0;
    if (!kind)
        return;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < nk && strcmp(kinds[k], r->latent_kind[i]) != 0)
            k++;
        if (k == nk) {
            if (nk == 16)
                k = 15;
            else
                kinds[nk++] = r->latent_kind[i];
        }
        kind[i] = k;
    }
    char title[64];
    snprintf(title, sizeof title, "%d latents", n);
    ui_draw_scatter(a, y + 1, 1, h - 1, W - 2, title, "t-SNE x", "t-SNE y", r->latent_x, r->latent_y, kind, n, kinds,
                    nk);
    free(kind);
}
