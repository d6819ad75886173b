/* results.c — the Results screen: the paper's accuracy table from the session summary (original
 * best/mean/median, ensemble, p-diff best/mean/median, AE reconstruction), the stage times and the per-kind
 * memorization table that `pdiff report` prints (results_kinds.c, from the same summary metrics), and the per-model
 * list from the zoo with a legend of its columns: scrollable, filtered with `/` (kind text, or conditions on id and
 * values: "pdiff acc>94 iou<0.5 id>=10"), sorted with `o` (id, accuracy, kind, max similarity) and reversed with
 * `O`; Enter shows every number of the selected model; `x` exports it as a PyTorch state_dict (export.h) into
 * SESSION/export. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_results.h"

#include "export.h"
#include "kind.h"
#include "nav.h"
#include "results_view.h"
#include "table.h"
#include "term.h"

void ui_results_caption(const ui_app *a, int full, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!a->res)
        return;
    const char *d = a->res->dir;
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/' && !full)
        n--;
    size_t b = full ? 0 : n;
    while (b > 0 && d[b - 1] != '/')
        b--;
    snprintf(buf, size, "%.*s", (int)(n - b), d + b);
    if (a->job && job_running(a->job)) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s", strcmp(a->run_dir, a->res->dir) != 0
                                              ? " (the previous session; this run's results show when it ends)"
                                              : " (as before this run; refreshed when it ends)");
    }
}

void ui_results_set(ui_app *a, pd_results *r)
{
    results_free(a->res);
    a->res = r;
    a->res_cursor = a->res_top = a->res_detail = 0;
    a->sim_r = a->sim_c = a->sim_r0 = a->sim_c0 = 0;
    a->lat_cursor = 0;
    ui_results_sort(a);
}

int ui_results_open(ui_app *a, const char *dir)
{
    pd_results *r = NULL;
    pd_error err = {0};
    if (results_load(&r, dir, &err) != PD_OK) {
        ui_nav_error(a, &err);
        return -1;
    }
    ui_results_set(a, r);
    if (results_problem(r)) /* the screens of that part say it again */
        ui_nav_message(a, 1, "opened without a damaged file: %s", results_problem(r));
    return 0;
}

static int ui_results_cmp(const void *pa, const void *pb, void *ctx)
{
    const ui_app *a = ctx;
    const pd_zoo *z = &a->res->zoo;
    int32_t i = *(const int32_t *)pa, j = *(const int32_t *)pb;
    double x, y;
    switch (a->res_sort) {
    case 1: /* accuracy, best first */
        x = z->accuracy[i];
        y = z->accuracy[j];
        break;
    case 2: { /* kind, then accuracy */
        int c = strcmp(z->kind[i], z->kind[j]);
        if (c)
            return c;
        x = z->accuracy[i];
        y = z->accuracy[j];
        break;
    }
    case 3: /* max similarity, most similar first; NaN last */
        x = z->max_iou[i];
        y = z->max_iou[j];
        break;
    default:
        return i < j ? -1 : i > j;
    }
    int xn = isnan(x), yn = isnan(y);
    if (xn || yn)
        return xn && yn ? (i > j) - (i < j) : xn ? 1 : -1;
    if (x != y)
        return x > y ? -1 : 1;
    return (i > j) - (i < j);
}

static int ui_results_cmp_dir(const void *pa, const void *pb, void *ctx)
{
    const ui_app *a = ctx;
    return a->res_rev ? -ui_results_cmp(pa, pb, ctx) : ui_results_cmp(pa, pb, ctx);
}

void ui_results_sort(ui_app *a)
{
    free(a->order);
    a->order = NULL;
    a->norder = 0;
    if (!a->res || !a->res->have_models || a->res->zoo.n <= 0)
        return;
    const pd_zoo *z = &a->res->zoo;
    a->order = malloc(sizeof *a->order * (size_t)z->n);
    if (!a->order)
        return;
    for (int32_t i = 0; i < z->n; i++)
        if (ui_results_filter_match(z, i, a->res_filter))
            a->order[a->norder++] = i;
    qsort_r(a->order, (size_t)a->norder, sizeof *a->order, ui_results_cmp_dir, a);
    if (a->res_cursor >= a->norder)
        a->res_cursor = a->norder > 0 ? a->norder - 1 : 0;
}

void ui_results_toggle_kinds(ui_app *a)
{
    a->res_detail = a->res_detail == 2 ? 0 : 2;
}

void ui_results_nav(ui_app *a, int act)
{
    int page = a->rows - 16 > 1 ? a->rows - 16 : 1;
    switch (act) {
    case UI_NAV_ENTER:
        a->res_detail = a->res_detail != 1 && a->norder > 0;
        break;
    case UI_NAV_UP:
        a->res_cursor--;
        break;
    case UI_NAV_DOWN:
        a->res_cursor++;
        break;
    case UI_NAV_PGUP:
        a->res_cursor -= page;
        break;
    case UI_NAV_PGDN:
        a->res_cursor += page;
        break;
    case UI_NAV_HOME:
        a->res_cursor = 0;
        break;
    case UI_NAV_END:
        a->res_cursor = a->norder - 1;
        break;
    default:
        break;
    }
    if (a->res_cursor >= a->norder)
        a->res_cursor = a->norder - 1;
    if (a->res_cursor < 0)
        a->res_cursor = 0;
}

static void ui_results_fmt(double v, const char *fmt, char *buf, size_t size)
{
    if (isfinite(v))
        snprintf(buf, size, fmt, v);
    else
        snprintf(buf, size, "-");
}

static void ui_results_table_row(ui_app *a, int y, const char *label, const char *prefix, int single)
{
    char m[64], v[3][32];
    static const char *const which[3] = {"best", "mean", "median"};
    for (int i = 0; i < 3; i++) {
        if (single)
            ui_app_copy(m, sizeof m, prefix);
        else
            snprintf(m, sizeof m, "%s_%s", prefix, which[i]);
        if (single && i > 0)
            snprintf(v[i], sizeof v[i], " ");
        else
            ui_table_fmt_pct(results_summary(a->res, m), v[i], sizeof v[i]);
    }
    ui_term_textf(y, 0, a->cols, "   %-12s %8s %8s %8s", label, v[0], v[1], v[2]);
}

/* The title line, the accuracy table and the novelty line: rows y .. y + 6. */
static void ui_results_draw_summary(ui_app *a, int y)
{
    int W = a->cols;
    const pd_results *r = a->res;
    const char *arch = results_config(r, "arch"), *ds = results_config(r, "dataset");
    char task[32], name[PD_PATH_MAX + 96];
    ui_table_fmt_pct(results_summary(r, "task_accuracy"), task, sizeof task);
    if (strcmp(task, "-") != 0)
        strcat(task, "%");
    ui_results_caption(a, 1, name, sizeof name);
    attrset(A_BOLD);
    ui_term_textf(y, 0, W, " %s  %s  %s on %s  %s  task model %s", name,
                  ui_term_glyph(a, "\u00b7", "|"), arch ? arch : "?", ds ? ds : "?", ui_term_glyph(a, "\u00b7", "|"),
                  task);
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y + 1, 0, W, "   %-12s %8s %8s %8s   (test accuracy, %%)", "accuracy", "best", "mean", "median");
    attrset(A_NORMAL);
    ui_results_table_row(a, y + 2, "original", "original", 0);
    ui_results_table_row(a, y + 3, "ensemble", "ensemble", 1);
    attrset(A_BOLD);
    ui_results_table_row(a, y + 4, "p-diff", "pdiff", 0);
    attrset(A_NORMAL);
    ui_results_table_row(a, y + 5, "AE recon", "ae_recon", 0);
    double nov = results_summary(r, "novelty");
    char novs[64];
    ui_results_fmt(100 * nov, "%.1f%%", novs, sizeof novs);
    attrset(ui_term_role(a, UI_C_DIM));
    ui_term_textf(y + 6, 0, W, "   novelty %s%s", novs,
                  isnan(nov) ? " (run the analyze stage)"
                             : ": p-diff models less like the originals than any original is");
    attrset(A_NORMAL);
}

static const ui_table_col ui_results_cols[] = {{"id", 5, 6, 1},          {"kind", 10, 18, 0},  {"accuracy", 8, 9, 1},
                                               {"loss", 8, 10, 1},       {"max IoU", 8, 9, 1}, {"nearest", 7, 8, 1},
                                               {"nearest L2", 10, 12, 1}};
enum { UI_RESULTS_NC = (int)(sizeof ui_results_cols / sizeof ui_results_cols[0]) };

/* One model's row of the list, laid out by w. */
static void ui_results_model_row(const ui_app *a, int32_t id, const int *w, int shown, char *line, size_t size)
{
    const pd_zoo *z = &a->res->zoo;
    char c[UI_RESULTS_NC][48];
    snprintf(c[0], sizeof c[0], "%d", (int)id);
    ui_app_copy(c[1], sizeof c[1], z->kind[id]);
    ui_table_fmt_pct(z->accuracy[id], c[2], sizeof c[2]);
    ui_results_fmt(z->loss[id], "%.4f", c[3], sizeof c[3]);
    ui_results_fmt(z->max_iou[id], "%.3f", c[4], sizeof c[4]);
    if (z->nearest_id[id] >= 0)
        snprintf(c[5], sizeof c[5], "%d", (int)z->nearest_id[id]);
    else
        snprintf(c[5], sizeof c[5], "-");
    ui_results_fmt(z->nearest_l2[id], "%.3f", c[6], sizeof c[6]); /* one format for the column */
    const char *cells[UI_RESULTS_NC];
    for (int k = 0; k < UI_RESULTS_NC; k++)
        cells[k] = c[k];
    ui_table_row(cells, ui_results_cols, w, shown, a->utf8, line, size);
}

/* The per-model list: its heading on row ly - 1, the column titles on ly, the models below, lh rows in all. */
static void ui_results_draw_models(ui_app *a, int ly, int lh)
{
    int W = a->cols;
    const pd_results *r = a->res;
    int w[UI_RESULTS_NC];
    int shown = ui_table_layout(ui_results_cols, UI_RESULTS_NC, W - 2, w);
    const char *head[UI_RESULTS_NC];
    for (int i = 0; i < UI_RESULTS_NC; i++)
        head[i] = ui_results_cols[i].title;
    char line[1024];
    static const char *const sorts[] = {"id", "accuracy", "kind", "max similarity"};
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(ly - 1, 0, W, " models: %d of %d, sorted by %s (o)%s%s%s%s", a->norder, (int)r->zoo.n,
                  sorts[a->res_sort], a->res_rev ? ", reversed (O)" : "", a->res_filter[0] ? ", filter: " : "",
                  a->res_filter, a->norder > 0 ? (a->cols >= 100 ? "; Enter: every number of one; m: per kind" : "; Enter: all; m: per kind")
                                               : "");
    ui_table_row(head, ui_results_cols, w, shown, a->utf8, line, sizeof line);
    attrset(A_UNDERLINE);
    ui_term_textf(ly, 0, W, " %s", line);
    attrset(A_NORMAL);
    ly++;
    lh--;
    ui_term_clip_rows(&a->res_top, a->res_cursor, a->norder, lh);
    for (int i = 0; i < lh && a->res_top + i < a->norder; i++) {
        int idx = a->res_top + i;
        int32_t id = a->order[idx];
        ui_results_model_row(a, id, w, shown, line, sizeof line);
        int pd = strcmp(r->zoo.kind[id], "pdiff") == 0;
        attrset(idx == a->res_cursor ? ui_term_role(a, UI_C_SEL) : pd ? A_BOLD : A_NORMAL);
        ui_term_textf(ly + i, 0, W, " %s", line);
        attrset(A_NORMAL);
    }
}

static void ui_results_draw_none(ui_app *a, int y)
{
    int W = a->cols;
    if (a->job && job_running(a->job)) {
        ui_term_text(y + 1, 1, W - 1, "Run in progress: results appear when generate finishes.");
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1, "Its stages and curves are on Run (2).");
    } else {
        ui_term_text(y + 1, 1, W - 1, "No session loaded.");
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1, "Start a run from Setup (1, then r) or open a saved one in Sessions (6).");
    }
    attrset(A_NORMAL);
}

/* Below the summary from row y, h rows: stage times, the per-kind table (when it fits above the models; else `m`
 * shows it in their place), the models (or one model's numbers), the column legend when there is room. */
void ui_results_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    if (!a->res) {
        ui_results_draw_none(a, y);
        return;
    }
    ui_results_draw_summary(a, y);
    int used = 7 + ui_results_draw_times(a, y + 7, 3, W - 3);
    int kr = ui_results_kinds_rows(a);
    if (kr && a->res_detail == 2) { /* m: instead of the models */
        ui_results_draw_kinds(a, y + used + 1, 0, W, h - used - 1);
        return;
    } else if (kr && h - used - 1 - kr >= 8) {
        ui_results_draw_kinds(a, y + used + 1, 0, W, kr);
        used += 1 + kr;
    }
    int ly = y + used + 2, lh = h - used - 2;
    if (lh < 1)
        return;
    if (!a->res->have_models) {
        attrset(ui_term_role(a, a->res->models_error[0] ? UI_C_ERROR : UI_C_DIM));
        if (a->res->models_error[0])
            ui_term_textf(ly - 1, 1, W - 1, "no per-model list: %s", a->res->models_error);
        else
            ui_term_text(ly - 1, 1, W - 1, "no per-model list yet (state/models.bin is written by the generate stage)");
        attrset(A_NORMAL);
        return;
    }
    if (a->res_detail == 1 && a->norder > 0) {
        ui_results_draw_detail(a, ly - 1, lh + 1, a->order[a->res_cursor]);
        return;
    }
    int lg = ui_results_legend_rows(a, W - 2);
    if (lh - lg - 1 >= 8) {
        ui_results_draw_legend(a, y + h - lg, 1, W - 2, lg);
        lh -= lg + 1;
    }
    ui_results_draw_models(a, ly, lh);
}

/* Where the model went, on the status line: the path elided in the middle to what the line has room for. */
static void ui_results_export_said(ui_app *a, int id, const char *kind, const char *path)
{
    char head[96], fit[PD_PATH_MAX];
    snprintf(head, sizeof head, "model %d (%s) exported as a PyTorch state_dict: ", id, kind);
    int room = a->cols - 44 - ui_table_text_width(head); /* the status line's left part takes about 40 */
    ui_table_elide(path, room > 12 ? room : 12, UI_ELIDE_MIDDLE, a->utf8, fit, sizeof fit);
    ui_nav_message(a, 0, "%s%s", head, fit);
}

void ui_results_export_model(ui_app *a)
{
    if (!a->res || !a->res->have_models || a->norder <= 0) {
        ui_nav_message(a, 1, "no model to export: open a session whose generate stage has run");
        return;
    }
    const char *dir = a->res->dir;
    int32_t id = a->order[a->res_cursor];
    char kind[ZOO_KIND_MAX], out[PD_PATH_MAX], path[PD_PATH_MAX];
    ui_app_copy(kind, sizeof kind, a->res->zoo.kind[id]);
    pd_error err = {0};
    pd_export *x = NULL;
    pd_status st = export_default_dir(dir, out, sizeof out, &err);
    if (st == PD_OK)
        st = export_open(&x, dir, &err);
    if (st == PD_OK && (id >= export_zoo(x)->n || strcmp(export_zoo(x)->kind[id], kind) != 0))
        st = error_set(&err, PD_ERR_STATE, "%s changed since it was opened: open it again (Sessions, 6)", dir);
    if (st == PD_OK)
        st = export_safetensors(x, id, out, path, sizeof path, &err);
    export_free(x);
    if (st != PD_OK)
        ui_nav_message(a, 1, "export: %s", err.msg);
    else
        ui_results_export_said(a, (int)id, kind, path);
}
