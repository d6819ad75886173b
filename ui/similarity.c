/* similarity.c — the Similarity screen: a colour heatmap of the IoU of wrong predictions, p-diff models (rows)
 * x originals (columns), two matrix rows per text line with the upper-half block ▀ (fg = upper, bg = lower);
 * fitted to the screen with block means when larger than it, or one cell per pair with scrolling (`z`); a
 * cursor with the pair's ids and value; a legend with the colour scale. Beside it, when the analysis filled
 * max_iou in, accuracy against max similarity for every model kind (one marker and colour per kind).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_similarity.h"

#include "draw.h"
#include "plot.h"
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
    if (R > vu || C > hu) {
        v->agg = 1;
        v->gr = R < vu ? R : vu;
        v->gc = C < hu ? C : hu;
        return;
    }
    v->gr = R;
    v->gc = C;
    int sx = ui_similarity_clamp(hu / C, 1, 4), sy = ui_similarity_clamp(vu / R, 1, 4);
    if (v->rpl == 2)
        sx = sy = sx < sy ? sx : sy;
    else {
        if (sx > 2 * sy)
            sx = 2 * sy;
        if (sy > (sx + 1) / 2)
            sy = (sx + 1) / 2 > 0 ? (sx + 1) / 2 : 1;
    }
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

static void ui_similarity_draw_heatmap(ui_app *a, int y, int x, int h, int w)
{
    const pd_results *r = a->res;
    int R = r->sim_rows, C = r->sim_cols;
    double lo, hi;
    ui_heatmap_range(r->sim, (int64_t)R * C, &lo, &hi);
    ui_draw_legend(a, y + 1, x, w, "IoU", lo, hi);
    int hh = h - 3, hw = w - 2;
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
    int gy = y + 3, gx = x + 2;
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
    /* the cursor: arrows in the margins and a mark on the cell */
    int cl = cr * v.sy / v.rpl, ck = cc * v.sx;
    attrset(A_BOLD);
    mvaddstr(gy + cl, x, ui_term_glyph(a, "\u25b6", ">"));
    mvaddstr(gy - 1, gx + ck, ui_term_glyph(a, "\u25bc", "v"));
    attrset(A_REVERSE | A_BOLD);
    mvaddstr(gy + cl, gx + ck, ui_term_glyph(a, "\u25c6", "X"));
    attrset(A_NORMAL);
    /* the cursor's pair and value */
    char info[256];
    const char *times = ui_term_glyph(a, "\u00d7", "x");
    if (v.agg) {
        int r0, r1, c0, c1;
        ui_heatmap_block(cr, R, v.gr, &r0, &r1);
        ui_heatmap_block(cc, C, v.gc, &c0, &c1);
        snprintf(info, sizeof info, "IoU %.3f: p-diff #%d..%d %s original #%d..%d (mean of a %dx%d block)",
                 grid[cr * v.gc + cc], (int)r->sim_row_ids[r0], (int)r->sim_row_ids[r1], times, (int)r->sim_col_ids[c0],
                 (int)r->sim_col_ids[c1], r1 - r0 + 1, c1 - c0 + 1);
    } else
        snprintf(info, sizeof info, "IoU %.3f: p-diff #%d %s original #%d",
                 (double)r->sim[(int64_t)a->sim_r * C + a->sim_c], (int)r->sim_row_ids[a->sim_r], times,
                 (int)r->sim_col_ids[a->sim_c]);
    attrset(A_BOLD);
    ui_term_text(y, x, w, info);
    attrset(A_NORMAL);
    free(grid);
}

static void ui_similarity_draw_scatter(ui_app *a, int y, int x, int h, int w)
{
    const pd_zoo *z = &a->res->zoo;
    double *xs = malloc(sizeof *xs * (size_t)z->n), *ys = malloc(sizeof *ys * (size_t)z->n);
    int *kind = malloc(sizeof *kind * (size_t)z->n);
    const char *kinds[16];
    int nk = 0, n = 0;
    for (int32_t i = 0; xs && ys && kind && i < z->n; i++) {
        if (!isfinite(z->max_iou[i]))
            continue;
        int k = 0;
        while (k < nk && strcmp(kinds[k], z->kind[i]) != 0)
            k++;
        if (k == nk) {
            if (nk == 16)
                k = 15;
            else
                kinds[nk++] = z->kind[i];
        }
        xs[n] = z->max_iou[i];
        ys[n] = z->accuracy[i];
        kind[n] = k;
        n++;
    }
    if (n > 0)
        ui_draw_scatter(a, y, x, h, w, "accuracy vs max similarity", "max IoU", "accuracy", xs, ys, kind, n, kinds, nk);
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

void ui_similarity_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    const pd_results *r = a->res;
    attrset(ui_term_role(a, UI_C_HEAD));
    if (r && r->have_similarity)
        ui_term_textf(y, 0, W, " IoU of wrong predictions: %d p-diff models (rows) %s %d originals (columns)%s",
                      (int)r->sim_rows, ui_term_glyph(a, "\u00d7", "x"), (int)r->sim_cols,
                      a->sim_zoom ? ", one cell per pair (z)" : "");
    else
        ui_term_text(y, 0, W, " IoU of wrong predictions");
    attrset(A_NORMAL);
    if (!r || !r->have_similarity || r->sim_rows < 1 || r->sim_cols < 1) {
        const char *why = !r ? "" : r->similarity_error[0] ? r->similarity_error : r->models_error;
        attrset(ui_term_role(a, why[0] ? UI_C_ERROR : UI_C_DIM));
        if (why[0])
            ui_term_textf(y + 2, 1, W - 1, "no similarity matrix: %s", why);
        else
            ui_term_text(y + 2, 1, W - 1,
                         r ? "no similarity matrix in this session yet (it needs the generate stage's p-diff models)"
                           : "No session loaded: start a run (Setup, r) or open one (Sessions, 6).");
        attrset(A_NORMAL);
        return;
    }
    int have_scatter = ui_similarity_has_scatter(r);
    int hw = ui_similarity_panel_width(a);
    ui_similarity_draw_heatmap(a, y + 1, 0, h - 1, hw - 1);
    if (have_scatter && hw < W)
        ui_similarity_draw_scatter(a, y + 1, hw + 1, h - 1, W - hw - 1);
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
    /* the geometry ui_similarity_draw gives the heatmap: content rows - 1, panel width - 1 */
    int hh = (a->rows - 2 - 1) - 3, hw = (ui_similarity_panel_width(a) - 1) - 2;
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
