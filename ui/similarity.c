/* similarity.c — the Similarity screen: a colour heatmap of the IoU of wrong predictions, p-diff models (rows)
 * x originals (columns), two matrix rows per text line with the upper-half block ▀ (fg = upper, bg = lower);
 * fitted to the screen with block means when larger than it, or one cell per pair with scrolling (`z`); a
 * cursor with the pair's ids and value on a readout line of its own (full width, wrapped); a legend with the colour
 * scale. Beside it, when the analysis filled max_iou in, accuracy (%) against max similarity for every model kind
 * (scatter.h: one marker and colour per kind, kind.h), the p-diff model under the cursor highlighted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_similarity.h"

#include "draw.h"
#include "plot.h"
#include "scatter.h"
#include "screen_results.h"
#include "table.h"
#include "term.h"

typedef struct {
    int rpl;    /* matrix units per text line: 2 with ▀ and colours, else 1 */
    int agg;    /* grid = block means */
    int gr, gc; /* grid size */
    int sx, sy; /* cell size: columns x units */
    int r0, c0; /* first matrix row/column shown (scroll mode) */
} ui_similarity_view;

static int ui_similarity_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void ui_similarity_layout(ui_app *a, int hh, int hw, ui_similarity_view *v)
{
    const pd_results *r = a->res;
    int R = r->sim_rows, C = r->sim_cols;
    memset(v, 0, sizeof *v);
    v->rpl = a->nramp > 0 && a->utf8 ? 2 : 1;
    int vu = hh * v->rpl, hu = hw;
    v->sx = v->sy = 1;
    if (a->sim_zoom) {
        v->gr = R < vu ? R : vu;
        v->gc = C < hu ? C : hu;
        /* scroll so the cursor stays inside */
        if (a->sim_r < a->sim_r0)
            a->sim_r0 = a->sim_r;
        if (a->sim_r >= a->sim_r0 + v->gr)
            a->sim_r0 = a->sim_r - v->gr + 1;
        if (a->sim_c < a->sim_c0)
            a->sim_c0 = a->sim_c;
        if (a->sim_c >= a->sim_c0 + v->gc)
            a->sim_c0 = a->sim_c - v->gc + 1;
        a->sim_r0 = ui_similarity_clamp(a->sim_r0, 0, R - v->gr);
        a->sim_c0 = ui_similarity_clamp(a->sim_c0, 0, C - v->gc);
        v->r0 = a->sim_r0;
        v->c0 = a->sim_c0;
        return;
    }
    if (R > vu || C > hu) { /* block means; the side that fits still gets wider cells */
        v->agg = 1;
        v->gr = R < vu ? R : vu;
        v->gc = C < hu ? C : hu;
        v->sx = ui_similarity_clamp(hu / v->gc, 1, 8);
        v->sy = ui_similarity_clamp(vu / v->gr, 1, 8);
        return;
    }
    v->gr = R;
    v->gc = C;
    /* cells as large as the panel allows (up to 8 x 8 units), not more than twice as wide as tall or the reverse */
    int sx = ui_similarity_clamp(hu / C, 1, 8), sy = ui_similarity_clamp(vu / R, 1, 8);
    int ux = v->rpl == 2 ? 1 : 2; /* columns per unit of height: a half line is about one column, a line two */
    if (sx > 2 * sy * ux)
        sx = 2 * sy * ux;
    if (sy * ux > 2 * sx)
        sy = ui_similarity_clamp(2 * sx / ux, 1, 8);
    v->sx = sx;
    v->sy = sy;
}

/* The grid cell of matrix row m: block index (aggregated) or row - offset. */
static int ui_similarity_grid_of(int m, int n, int g, int agg, int off)
{
    if (!agg)
        return m - off;
    int i = (int)((int64_t)m * g / n), f, l;
    for (int guard = 0; guard < 4; guard++) {
        ui_heatmap_block(i, n, g, &f, &l);
        if (m < f)
            i--;
        else if (m > l)
            i++;
        else
            break;
    }
    return ui_similarity_clamp(i, 0, g - 1);
}

/* The pair under the cursor, its IoU and, when analysed, the p-diff model's own numbers, into info. */
static void ui_similarity_readout(const ui_app *a, const ui_similarity_view *v, double cell, int cr, int cc,
                                  char *info, size_t size)
{
    const pd_results *r = a->res;
    const char *times = ui_term_glyph(a, "\u00d7", "x");
    int n;
    if (v->agg) {
        int r0, r1, c0, c1;
        ui_heatmap_block(cr, r->sim_rows, v->gr, &r0, &r1);
        ui_heatmap_block(cc, r->sim_cols, v->gc, &c0, &c1);
        char rows[32], cols[32];
        snprintf(rows, sizeof rows, r1 > r0 ? "#%d..%d" : "#%d", (int)r->sim_row_ids[r0], (int)r->sim_row_ids[r1]);
        snprintf(cols, sizeof cols, c1 > c0 ? "#%d..%d" : "#%d", (int)r->sim_col_ids[c0], (int)r->sim_col_ids[c1]);
        n = snprintf(info, size, "IoU %.3f: mean of p-diff %s %s original %s (a %dx%d block, z: one cell per pair)", cell,
                     rows, times, cols, r1 - r0 + 1, c1 - c0 + 1);
    } else
        n = snprintf(info, size, "IoU %.3f: p-diff #%d %s original #%d",
                     (double)r->sim[(int64_t)a->sim_r * r->sim_cols + a->sim_c], (int)r->sim_row_ids[a->sim_r], times,
                     (int)r->sim_col_ids[a->sim_c]);
    int32_t id = r->sim_row_ids[a->sim_r];
    if (n < 0 || (size_t)n >= size || !r->have_models || id < 0 || id >= r->zoo.n)
        return;
    char acc[32];
    ui_table_fmt_pct(r->zoo.accuracy[id], acc, sizeof acc);
    snprintf(info + n, size - (size_t)n, "; model #%d: accuracy %s%%, max IoU %.3f", (int)id, acc,
             r->zoo.max_iou[id]);
}

/* The heatmap: legend on row y, column arrows on y + 1, the grid below; the readout of the cursor into info. */
static void ui_similarity_draw_heatmap(ui_app *a, int y, int x, int h, int w, char *info, size_t size)
{
    const pd_results *r = a->res;
    int R = r->sim_rows, C = r->sim_cols;
    double lo, hi;
    ui_heatmap_range(r->sim, (int64_t)R * C, &lo, &hi);
    ui_draw_legend(a, y, x, w, "IoU", lo, hi);
    int hh = h - 2, hw = w - 2;
    info[0] = '\0';
    if (hh < 1 || hw < 2)
        return;
    ui_similarity_view v;
    ui_similarity_layout(a, hh, hw, &v);
    double *grid = malloc(sizeof *grid * (size_t)(v.gr > 0 ? v.gr : 1) * (size_t)(v.gc > 0 ? v.gc : 1));
    if (!grid)
        return;
    if (v.agg)
        ui_heatmap_aggregate(r->sim, R, C, v.gr, v.gc, grid);
    else
        for (int i = 0; i < v.gr; i++)
            for (int j = 0; j < v.gc; j++)
                grid[i * v.gc + j] = r->sim[(int64_t)(v.r0 + i) * C + (v.c0 + j)];
    int nslots = a->nramp > 0 ? a->nramp : 10;
    int gy = y + 2, gx = x + 2;
    int cr = ui_similarity_grid_of(a->sim_r, R, v.gr, v.agg, v.r0),
        cc = ui_similarity_grid_of(a->sim_c, C, v.gc, v.agg, v.c0);
    for (int l = 0; l < hh; l++)
        for (int k = 0; k < hw; k++) {
            int gcol = k / v.sx;
            int slot[2] = {-1, -1};
            for (int u = 0; u < v.rpl; u++) {
                int grow = (l * v.rpl + u) / v.sy;
                if (grow < v.gr && gcol < v.gc)
                    slot[u] = ui_heatmap_index(grid[grow * v.gc + gcol], lo, hi, nslots);
            }
            if (slot[0] < 0 && slot[1] < 0)
                continue;
            ui_draw_heat_cell(a, gy + l, gx + k, slot[0], slot[1]);
        }
    /* the cursor: arrows in the margins and a mark on the cell, drawn on the cell's own colour */
    int cl = cr * v.sy / v.rpl, ck = cc * v.sx;
    attrset(A_BOLD);
    mvaddstr(gy + cl, x, ui_term_glyph(a, "\u25b6", ">"));
    mvaddstr(gy - 1, gx + ck, ui_term_glyph(a, "\u25bc", "v"));
    int cslot = ui_heatmap_index(grid[cr * v.gc + cc], lo, hi, nslots);
    if (a->nramp > 0 && cslot >= 0)
        ui_term_pair(cslot < nslots / 2 ? COLOR_WHITE : COLOR_BLACK, a->ramp[cslot], A_BOLD);
    else
        attrset(A_REVERSE | A_BOLD);
    mvaddstr(gy + cl, gx + ck, ui_term_glyph(a, "\u25c6", "X"));
    attrset(A_NORMAL);
    ui_similarity_readout(a, &v, grid[cr * v.gc + cc], cr, cc, info, size);
    free(grid);
}

static void ui_similarity_draw_scatter(ui_app *a, int y, int x, int h, int w)
{
    const pd_zoo *z = &a->res->zoo;
    double *xs = malloc(sizeof *xs * (size_t)z->n), *ys = malloc(sizeof *ys * (size_t)z->n);
    const char **kind = malloc(sizeof *kind * (size_t)z->n);
    int n = 0, sel = -1;
    int32_t cur = a->res->sim_row_ids[a->sim_r];
    for (int32_t i = 0; xs && ys && kind && i < z->n; i++) {
        if (!isfinite(z->max_iou[i]))
            continue;
        if (i == cur)
            sel = n;
        xs[n] = z->max_iou[i];
        ys[n] = z->accuracy[i];
        kind[n] = z->kind[i];
        n++;
    }
    ui_scatter s = {"accuracy vs max similarity", "max IoU with any original", "accuracy (%)", 0, 1,
                    xs, ys, kind, n, sel};
    if (n > 0)
        ui_scatter_draw(a, y, x, h, w, &s);
    free(xs);
    free(ys);
    free(kind);
}

static int ui_similarity_has_scatter(const pd_results *r)
{
    for (int32_t i = 0; r->have_models && i < r->zoo.n; i++)
        if (isfinite(r->zoo.max_iou[i]))
            return 1;
    return 0;
}

/* Width of the heatmap panel for the screen width (half when the scatter sits beside it). */
static int ui_similarity_panel_width(const ui_app *a)
{
    return ui_similarity_has_scatter(a->res) && a->cols >= 70 ? a->cols / 2 : a->cols;
}

/* Lines of the readout: two below 160 columns, where the model's numbers go on a line of their own when the whole
 * does not fit on one. */
static int ui_similarity_readout_lines(const ui_app *a)
{
    return a->cols < 160 ? 2 : 1;
}

/* The heatmap grid's size for the screen (draw and nav agree on it). */
static void ui_similarity_grid_size(const ui_app *a, int *hh, int *hw)
{
    int h = a->rows - 2; /* the rows between the title bar and the status line */
    *hh = h - 1 - ui_similarity_readout_lines(a) - 2;
    *hw = (ui_similarity_panel_width(a) - 1) - 2;
}

static void ui_similarity_draw_readout(ui_app *a, int y, int lines, const char *info)
{
    attrset(A_BOLD);
    const char *split = lines > 1 ? strstr(info, "; ") : NULL;
    if (split && ui_table_text_width(info) > a->cols - 1) {
        ui_term_textf(y, 1, a->cols - 1, "%.*s", (int)(split - info), info);
        ui_term_text(y + 1, 1, a->cols - 1, split + 2);
    } else
        ui_term_text(y, 1, a->cols - 1, info);
    attrset(A_NORMAL);
}

static void ui_similarity_draw_empty(ui_app *a, int y, const pd_results *r)
{
    int W = a->cols;
    const char *why = !r ? "" : r->similarity_error[0] ? r->similarity_error : r->models_error;
    attrset(ui_term_role(a, why[0] ? UI_C_ERROR : UI_C_DIM));
    if (why[0])
        ui_term_textf(y + 2, 1, W - 1, "no similarity matrix: %s", why);
    else if (!r && a->job)
        ui_term_text(y + 2, 1, W - 1, "run in progress: the heatmap appears when generate finishes");
    else
        ui_term_text(y + 2, 1, W - 1,
                     r ? "no similarity matrix in this session yet (it needs the generate stage's p-diff models)"
                       : "No session loaded: start a run (Setup, r) or open one (Sessions, 6).");
    attrset(A_NORMAL);
}

void ui_similarity_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    const pd_results *r = a->res;
    char name[PD_PATH_MAX + 96];
    ui_results_caption(a, 0, name, sizeof name);
    attrset(ui_term_role(a, UI_C_HEAD));
    if (r && r->have_similarity)
        ui_term_textf(y, 0, W, " %s: IoU of wrong predictions, %d p-diff (rows) %s %d originals (columns)%s", name,
                      (int)r->sim_rows, ui_term_glyph(a, "\u00d7", "x"), (int)r->sim_cols,
                      a->sim_zoom ? ", one cell per pair (z)" : "");
    else
        ui_term_textf(y, 0, W, " %s%sIoU of wrong predictions", name, name[0] ? ": " : "");
    attrset(A_NORMAL);
    if (!r || !r->have_similarity || r->sim_rows < 1 || r->sim_cols < 1) {
        ui_similarity_draw_empty(a, y, r);
        return;
    }
    int have_scatter = ui_similarity_has_scatter(r), rl = ui_similarity_readout_lines(a);
    int hw = ui_similarity_panel_width(a);
    char info[512];
    ui_similarity_draw_heatmap(a, y + 1 + rl, 0, h - 1 - rl, hw - 1, info, sizeof info);
    ui_similarity_draw_readout(a, y + 1, rl, info);
    if (have_scatter && hw < W)
        ui_similarity_draw_scatter(a, y + 1 + rl, hw + 1, h - 1 - rl, W - hw - 1);
    else if (!have_scatter) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + h - 1, 1, W - 1, "accuracy vs max similarity: run the analyze stage (it fills max_iou in)");
        attrset(A_NORMAL);
    }
}

void ui_similarity_nav(ui_app *a, int act)
{
    const pd_results *r = a->res;
    if (!r || !r->have_similarity || r->sim_rows < 1)
        return;
    int R = r->sim_rows, C = r->sim_cols;
    /* move by one grid cell: a block when aggregated */
    int hh, hw;
    ui_similarity_grid_size(a, &hh, &hw);
    ui_similarity_view v;
    ui_similarity_layout(a, hh > 1 ? hh : 1, hw > 2 ? hw : 2, &v);
    int sr = v.agg ? (R + v.gr - 1) / v.gr : 1, sc = v.agg ? (C + v.gc - 1) / v.gc : 1;
    switch (act) {
    case UI_NAV_UP:
        a->sim_r -= sr;
        break;
    case UI_NAV_DOWN:
        a->sim_r += sr;
        break;
    case UI_NAV_LEFT:
        a->sim_c -= sc;
        break;
    case UI_NAV_RIGHT:
        a->sim_c += sc;
        break;
    case UI_NAV_PGUP:
        a->sim_r -= v.gr > 1 ? v.gr * sr / 2 : 1;
        break;
    case UI_NAV_PGDN:
        a->sim_r += v.gr > 1 ? v.gr * sr / 2 : 1;
        break;
    case UI_NAV_HOME:
        a->sim_r = a->sim_c = 0;
        break;
    case UI_NAV_END:
        a->sim_r = R - 1;
        a->sim_c = C - 1;
        break;
    default:
        break;
    }
    a->sim_r = ui_similarity_clamp(a->sim_r, 0, R - 1);
    a->sim_c = ui_similarity_clamp(a->sim_c, 0, C - 1);
}
