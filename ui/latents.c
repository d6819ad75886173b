/* latents.c — the Latents screen: the 2-D t-SNE embedding of the session's latents (latents.csv, written by
 * the analyze stage), one marker and colour per model kind (kind.h) with a legend that names every kind; a cursor
 * (Left/Right, Home/End) selects one point and says which model and kind it is; a hint when there is none yet. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_latents.h"

#include "kind.h"
#include "scatter.h"
#include "screen_results.h"
#include "table.h"
#include "term.h"

/* The empty states; 1 when one was drawn. */
static int ui_latents_draw_empty(ui_app *a, int y, const pd_results *r)
{
    int W = a->cols;
    if (!r) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1,
                     a->job ? "run in progress: the t-SNE appears when the analyze stage finishes"
                            : "No session loaded: start a run (Setup, r) or open one (Sessions, 6).");
        attrset(A_NORMAL);
        return 1;
    }
    if (r->latents_error[0]) {
        attrset(ui_term_role(a, UI_C_ERROR));
        ui_term_textf(y + 2, 1, W - 1, "latents.csv could not be read: %s", r->latents_error);
        attrset(A_NORMAL);
        return 1;
    }
    if (!r->have_latents || r->n_latents < 1) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1, "This session has no latents.csv: run the analyze stage to embed the latents");
        ui_term_textf(y + 3, 1, W - 1, "(pdiff run --stages analyze --session %s).", r->dir);
        attrset(A_NORMAL);
        return 1;
    }
    return 0;
}

/* The selected point: its id, kind and, when it names a model, that model's accuracy. */
static void ui_latents_readout(ui_app *a, int y, const pd_results *r, int i)
{
    char label[64], acc[48] = "";
    ui_kind_label(r->latent_kind[i], a->utf8, label, sizeof label);
    int32_t id = r->latent_id[i];
    if (r->have_models && id >= 0 && id < r->zoo.n) {
        char pct[24];
        ui_table_fmt_pct(r->zoo.accuracy[id], pct, sizeof pct);
        snprintf(acc, sizeof acc, ", accuracy %s%%", pct);
    }
    attrset(A_BOLD);
    ui_term_textf(y, 1, a->cols - 1, "point %d of %d: %c %s, model #%d%s (t-SNE %.2f, %.2f)%s", i + 1,
                  (int)r->n_latents, ui_kind_of(r->latent_kind[i]).symbol, label, (int)id, acc, r->latent_x[i],
                  r->latent_y[i], a->cols >= 100 ? "   Left/Right: another point" : "");
    attrset(A_NORMAL);
}

void ui_latents_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    const pd_results *r = a->res;
    char name[PD_PATH_MAX + 96];
    ui_results_caption(a, 0, name, sizeof name);
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y, 0, W, " %s%st-SNE of the latents, per kind", name, name[0] ? ": " : "");
    attrset(A_NORMAL);
    if (ui_latents_draw_empty(a, y, r))
        return;
    int n = r->n_latents;
    const char **kind = malloc(sizeof *kind * (size_t)n);
    if (!kind)
        return;
    for (int i = 0; i < n; i++)
        kind[i] = r->latent_kind[i];
    if (a->lat_cursor >= n)
        a->lat_cursor = n - 1;
    ui_latents_readout(a, y + 1, r, a->lat_cursor);
    char title[64];
    snprintf(title, sizeof title, "%d latents", n);
    ui_scatter s = {title, "t-SNE x", "t-SNE y", 0, 0, r->latent_x, r->latent_y, kind, n, a->lat_cursor};
    ui_scatter_draw(a, y + 2, 1, h - 2, W - 2, &s);
    free(kind);
}

void ui_latents_nav(ui_app *a, int act)
{
    const pd_results *r = a->res;
    if (!r || !r->have_latents || r->n_latents < 1)
        return;
    int n = r->n_latents;
    switch (act) {
    case UI_NAV_LEFT:
    case UI_NAV_UP:
        a->lat_cursor--;
        break;
    case UI_NAV_RIGHT:
    case UI_NAV_DOWN:
        a->lat_cursor++;
        break;
    case UI_NAV_PGUP:
        a->lat_cursor -= 10;
        break;
    case UI_NAV_PGDN:
        a->lat_cursor += 10;
        break;
    case UI_NAV_HOME:
        a->lat_cursor = 0;
        break;
    case UI_NAV_END:
        a->lat_cursor = n - 1;
        break;
    default:
        break;
    }
    a->lat_cursor = (a->lat_cursor % n + n) % n; /* cycles */
}
