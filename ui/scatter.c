/* scatter.c — a scatter plot of models with kinds, ticks and a selected point (see scatter.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scatter.h"

#include "kind.h"
#include "plot.h"
#include "table.h"
#include "term.h"

static attr_t ui_scatter_attr(const ui_app *a, const char *kind)
{
    ui_kind_style k = ui_kind_of(kind);
    return ui_term_role(a, UI_C_SERIES + (k.color - 1) % 8) | (k.bold ? A_BOLD : 0);
}

/* The legend, every kind in order of appearance, wrapped; returns the rows it took. */
static int ui_scatter_legend(ui_app *a, int y, int x, int w, int maxrows, const ui_scatter *s)
{
    const char *seen[32];
    int ns = 0, lx = x, ly = y;
    for (int i = 0; i < s->n && ns < 32; i++) {
        int k = 0;
        while (k < ns && strcmp(seen[k], s->kind[i]) != 0)
            k++;
        if (k < ns)
            continue;
        seen[ns++] = s->kind[i];
        char label[64], item[80];
        ui_kind_label(s->kind[i], a->utf8, label, sizeof label);
        snprintf(item, sizeof item, "%c %s", ui_kind_of(s->kind[i]).symbol, label);
        int iw = ui_table_text_width(item);
        if (lx + iw > x + w && lx > x) {
            if (ly - y + 1 >= maxrows)
                break;
            ly++;
            lx = x;
        }
        attrset(ui_scatter_attr(a, s->kind[i]));
        ui_term_text(ly, lx, iw < w ? iw : w, item);
        lx += iw + 2;
    }
    attrset(A_NORMAL);
    return ly - y + 1;
}

static void ui_scatter_label(double v, int pct, char *buf, size_t size)
{
    ui_plot_format(pct ? 100 * v : v, buf, size);
}

/* Tick labels under the plot at x + lm .. x + lm + cw - 1. */
static void ui_scatter_xaxis(const ui_app *a, int y, int x, int cw, double lo, double hi, int pct)
{
    double t[8];
    int nt = ui_plot_axis_ticks(lo, hi, 0, t, cw >= 40 ? 5 : cw >= 20 ? 4 : 2);
    int left = cw + 1; /* leftmost column written: the top value first, then the others leftwards */
    ui_term_set(a, UI_C_DIM);
    for (int i = nt - 1; i >= 0; i--) {
        double f = ui_plot_frac(t[i], lo, hi, 0);
        if (isnan(f))
            continue;
        char lab[32];
        ui_scatter_label(t[i], pct, lab, sizeof lab);
        int lw = (int)strlen(lab), col = (int)lround(f * (cw - 1));
        int at = col - lw / 2;
        if (at + lw > cw)
            at = cw - lw;
        if (at < 0)
            at = 0;
        if (at + lw >= left)
            continue;
        ui_term_text(y, x + at, lw, lab);
        left = at;
    }
    attrset(A_NORMAL);
}

static void ui_scatter_yaxis(const ui_app *a, int y, int x, int h, int lm, double lo, double hi, int pct)
{
    double t[8];
    int nt = ui_plot_axis_ticks(lo, hi, 0, t, h > 8 ? 5 : h > 4 ? 4 : 2), prev = -2;
    ui_term_set(a, UI_C_DIM);
    for (int r = 0; r < h; r++)
        mvaddstr(y + r, x + lm - 1, ui_term_glyph(a, "\u2502", "|"));
    for (int i = nt - 1; i >= 0; i--) {
        double f = ui_plot_frac(t[i], lo, hi, 0);
        int r = isnan(f) ? -1 : (int)lround((1 - f) * (h - 1));
        if (r < 0 || r == prev)
            continue;
        prev = r;
        char lab[32], fit[64];
        ui_scatter_label(t[i], pct, lab, sizeof lab);
        ui_table_fit(lab, lm - 1, 1, a->utf8, fit, sizeof fit);
        mvaddstr(y + r, x, fit);
        mvaddstr(y + r, x + lm - 1, ui_term_glyph(a, "\u2524", "+"));
    }
    attrset(A_NORMAL);
}

static void ui_scatter_points(ui_app *a, int y, int x, int ch, int cw, const ui_scatter *s, const double *r)
{
    for (int pass = 0; pass < 2; pass++) /* p-diff on top of the rest */
        for (int i = 0; i < s->n; i++) {
            double fx = ui_plot_frac(s->xs[i], r[0], r[1], 0), fy = ui_plot_frac(s->ys[i], r[2], r[3], 0);
            if (isnan(fx) || isnan(fy) || (strcmp(s->kind[i], "pdiff") == 0) != pass)
                continue;
            attrset(ui_scatter_attr(a, s->kind[i]));
            mvaddch(y + (int)lround((1 - fy) * (ch - 1)), x + (int)lround(fx * (cw - 1)),
                    (chtype)(unsigned char)ui_kind_of(s->kind[i]).symbol);
        }
    int i = s->selected;
    if (i >= 0 && i < s->n) {
        double fx = ui_plot_frac(s->xs[i], r[0], r[1], 0), fy = ui_plot_frac(s->ys[i], r[2], r[3], 0);
        if (!isnan(fx) && !isnan(fy)) {
            attrset(ui_scatter_attr(a, s->kind[i]) | A_REVERSE | A_BOLD);
            mvaddch(y + (int)lround((1 - fy) * (ch - 1)), x + (int)lround(fx * (cw - 1)),
                    (chtype)(unsigned char)ui_kind_of(s->kind[i]).symbol);
        }
    }
    attrset(A_NORMAL);
}

void ui_scatter_draw(ui_app *a, int y, int x, int h, int w, const ui_scatter *s)
{
    if (h < 1 || w < 8)
        return;
    ui_term_set(a, UI_C_HEAD);
    ui_term_text(y, x, w, s->title);
    attrset(A_NORMAL);
    int top = 1 + ui_scatter_legend(a, y + 1, x, w, h > 12 ? 4 : 2, s);
    int lm = 7, ch = h - top - 3, cw = w - lm;
    if (ch < 3 || cw < 12)
        return;
    double r[4];
    if (ui_plot_range(s->xs, s->n, 0, &r[0], &r[1]) == 0 || ui_plot_range(s->ys, s->n, 0, &r[2], &r[3]) == 0) {
        ui_term_set(a, UI_C_DIM);
        ui_term_text(y + top + 1, x + 2, w - 2, "no finite points to plot");
        attrset(A_NORMAL);
        return;
    }
    ui_term_set(a, UI_C_DIM);
    ui_term_textf(y + top, x, w, "%s %s", ui_term_glyph(a, "\u2191", "^"), s->ylabel);
    attrset(A_NORMAL);
    ui_scatter_yaxis(a, y + top + 1, x, ch, lm, r[2], r[3], s->ypct);
    ui_scatter_points(a, y + top + 1, x + lm, ch, cw, s, r);
    ui_scatter_xaxis(a, y + top + 1 + ch, x + lm, cw, r[0], r[1], s->xpct);
    char xt[96];
    snprintf(xt, sizeof xt, "%s %s", s->xlabel, ui_term_glyph(a, "\u2192", "->"));
    int xw = ui_table_text_width(xt);
    ui_term_set(a, UI_C_DIM);
    ui_term_text(y + top + 2 + ch, x + lm + (cw > xw ? (cw - xw) / 2 : 0), cw, xt);
    attrset(A_NORMAL);
}
