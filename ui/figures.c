/* figures.c — the figure on screen exported as PDF (see figures.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"

#include "nav.h"
#include "plots.h"
#include "table.h"

typedef struct {
    char first[PD_PATH_MAX]; /* the first figure written */
    char rest[160];          /* the others' file names, ", "-separated */
    int n;
} ui_figures_said;

static void ui_figures_note(const char *path, const char *note, void *ctx)
{
    ui_figures_said *s = ctx;
    size_t len = path ? strlen(path) : 0;
    if (note || len < 4 || strcmp(path + len - 4, ".pdf") != 0) /* figures.tex, similarity_cells.csv */
        return;
    if (s->n++ == 0) {
        ui_app_copy(s->first, sizeof s->first, path);
        return;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t used = strlen(s->rest);
    snprintf(s->rest + used, sizeof s->rest - used, ", %s", base);
}

/* The figures of the screen whose data the session has; returns their count. */
static int ui_figures_of_screen(const ui_app *a, pd_plot_opts *o)
{
    const pd_results *r = a->res;
    if (a->screen == UI_RESULTS && r->have_models && r->zoo.n > 0)
        o->only[o->n_only++] = "accuracy";
    if (a->screen == UI_SIMILARITY && r->have_similarity && r->sim_rows > 0 && r->sim_cols > 0)
        o->only[o->n_only++] = "similarity";
    int scatter = 0;
    for (int32_t i = 0; a->screen == UI_SIMILARITY && r->have_models && i < r->zoo.n; i++)
        scatter |= isfinite(r->zoo.max_iou[i]);
    if (scatter)
        o->only[o->n_only++] = "memorization";
    return o->n_only;
}

/* Where the figures went, on the status line: the first one's absolute path elided in the middle to what the line
 * has room for beside its left part (" NAME │ idle │ 0:56 │ ETA -"), then the others' file names. */
static void ui_figures_say(ui_app *a, const ui_figures_said *s)
{
    char head[32], fit[PD_PATH_MAX], *abs = realpath(s->first, NULL);
    const char *dir = a->res->dir, *base = strrchr(dir, '/') && strrchr(dir, '/')[1] ? strrchr(dir, '/') + 1 : dir;
    snprintf(head, sizeof head, "%s saved: ", s->n > 1 ? "figures" : "figure");
    int room = a->cols - 32 - ui_table_text_width(base) - ui_table_text_width(head) - ui_table_text_width(s->rest);
    ui_table_elide(abs ? abs : s->first, room > 12 ? room : 12, UI_ELIDE_MIDDLE, a->utf8, fit, sizeof fit);
    free(abs);
    ui_nav_message(a, 0, "%s%s%s", head, fit, s->rest);
}

void ui_figures_export(ui_app *a)
{
    pd_plot_opts o = {.format = FIG_PDF};
    if (!a->res) {
        ui_nav_message(a, 1, "no session: open one first (Sessions, 6)");
        return;
    }
    if (ui_figures_of_screen(a, &o) == 0) {
        ui_nav_message(a, 1, "no figure to export: this session has no %s yet",
                       a->screen == UI_RESULTS ? "models" : "similarities");
        return;
    }
    ui_figures_said s = {.n = 0};
    pd_error err = {0};
    if (plots_run(a->res->dir, &o, ui_figures_note, &s, &err) != PD_OK) {
        ui_nav_message(a, 1, "figure: %s", err.msg);
        return;
    }
    ui_figures_say(a, &s);
}
