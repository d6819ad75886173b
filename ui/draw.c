/* draw.c — thin curses wrappers that paint the pure widgets (plot.c, heatmap.c) on the terminal (see app.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

#include "plot.h"
#include "table.h"
#include "term.h"

static void ui_draw_canvas(const ui_app *a, const ui_plot_canvas *c, int y, int x)
{
    char cell[8];
    for (int r = 0; r < c->h; r++)
        for (int k = 0; k < c->w; k++) {
            ui_plot_canvas_cell(c, k, r, a->utf8, cell);
            int col = ui_plot_canvas_cell_color(c, k, r);
            attrset(col > 0 ? ui_term_role(a, UI_C_SERIES + (col - 1) % 8) : A_NORMAL);
            mvaddstr(y + r, x + k, cell);
        }
    attrset(A_NORMAL);
}

/* y-axis labels at the nice ticks of [lo, hi], right-aligned in lm - 1 columns, with the axis line. */
static void ui_draw_yaxis(const ui_app *a, int y, int x, int h, int lm, double lo, double hi, int logscale,
                          const char *unit)
{
    double ticks[8];
    int nt = ui_plot_axis_ticks(lo, hi, logscale, ticks, h > 8 ? 5 : h > 4 ? 4 : h > 2 ? 3 : 2);
    ui_term_set(a, UI_C_DIM);
    for (int r = 0; r < h; r++)
        mvaddstr(y + r, x + lm - 1, ui_term_glyph(a, "\u2502", "|"));
    int used_prev = -2;
    for (int i = nt - 1; i >= 0; i--) {
        double f = ui_plot_frac(ticks[i], lo, hi, logscale);
        if (isnan(f))
            continue;
        int r = (int)lround((1 - f) * (h - 1));
        if (r == used_prev)
            continue;
        used_prev = r;
        char num[32], lab[48];
        ui_plot_format(ticks[i], num, sizeof num);
        snprintf(lab, sizeof lab, "%s%s", num, unit ? unit : "");
        char fit[64];
        ui_table_fit(lab, lm - 1, 1, a->utf8, fit, sizeof fit);
        mvaddstr(y + r, x, fit);
        mvaddstr(y + r, x + lm - 1, ui_term_glyph(a, "\u2524", "+"));
    }
    attrset(A_NORMAL);
}

/* One y range over every series' points (a constant series alone is widened; with others it is not) and the
 * x range from the first to the last step; 1 when there are points, 0 when none, -1 out of memory. */
static int ui_draw_plot_range(const ui_plot_line *lines, int n, int logscale, double *lo, double *hi, double *xlo,
                              double *xhi)
{
    int total = 0, xhave = 0;
    for (int i = 0; i < n; i++)
        total += lines[i].s->n;
    double *all = malloc(sizeof *all * (size_t)(total > 0 ? total : 1));
    if (!all)
        return -1;
    total = 0;
    for (int i = 0; i < n; i++) {
        if (lines[i].s->n > 0) /* an empty series may have no array at all */
            memcpy(all + total, lines[i].s->y, sizeof *all * (size_t)lines[i].s->n);
        total += lines[i].s->n;
        if (lines[i].s->n > 0) {
            double a0 = lines[i].s->x[0], a1 = lines[i].s->x[lines[i].s->n - 1];
            *xlo = xhave ? fmin(*xlo, a0) : a0;
            *xhi = xhave ? fmax(*xhi, a1) : a1;
            xhave = 1;
        }
    }
    int have = ui_plot_range(all, total, logscale, lo, hi) > 0;
    free(all);
    return have;
}

/* The dashed vertical line of o->xmark over the chart's empty cells, its label beside it on the top row. */
static void ui_draw_plot_mark(const ui_app *a, const ui_plot_canvas *c, int y, int x, double xlo, double xhi,
                              const ui_plot_opts *o)
{
    if (!o || !isfinite(o->xmark) || !(xhi > xlo) || o->xmark < xlo || o->xmark > xhi)
        return;
    int col = (int)lround((o->xmark - xlo) / (xhi - xlo) * (2 * c->w - 1)) / 2;
    ui_term_set(a, UI_C_DIM);
    for (int r = 0; r < c->h; r++)
        if (r == 0 || !c->bits[(size_t)r * (size_t)c->w + (size_t)col]) /* the top row carries the label */
            mvaddstr(y + r, x + col, ui_term_glyph(a, "\u254e", ":"));
    const char *lab = o->xmark_label ? o->xmark_label : "";
    int lw = ui_table_text_width(lab);
    if (col + 1 + lw <= c->w)
        ui_term_text(y, x + col + 1, lw, lab);
    else if (col >= lw)
        ui_term_text(y, x + col - lw, lw, lab);
    attrset(A_NORMAL);
}

void ui_draw_plot(ui_app *a, int y, int x, int h, int w, const char *title, const ui_plot_line *lines, int n,
                  int logscale, const char *empty_note)
{
    ui_draw_plot_opts(a, y, x, h, w, title, lines, n, logscale, empty_note, NULL);
}

void ui_draw_plot_opts(ui_app *a, int y, int x, int h, int w, const char *title, const ui_plot_line *lines, int n,
                       int logscale, const char *empty_note, const ui_plot_opts *o)
{
    const char *unit = o && o->yunit ? o->yunit : "";
    if (h < 1 || w < 4)
        return;
    /* title and legend */
    ui_term_set(a, UI_C_HEAD);
    ui_term_textf(y, x, w, "%s%s", title, logscale ? " (log)" : "");
    int cx = x + ui_table_text_width(title) + (logscale ? 6 : 0) + 1;
    for (int i = 0; i < n && cx < x + w - 4; i++) {
        const ui_series *s = lines[i].s;
        char item[96];
        if (s->n > 0) {
            char v[32];
            ui_plot_format(s->y[s->n - 1], v, sizeof v);
            snprintf(item, sizeof item, "%s %s%s", lines[i].label, v, unit);
        } else
            ui_app_copy(item, sizeof item, lines[i].label);
        attrset(ui_term_role(a, UI_C_SERIES + (lines[i].color - 1) % 8));
        mvaddstr(y, cx, ui_term_glyph(a, " \u2501", " *"));
        attrset(A_NORMAL);
        int room = x + w - (cx + 3);
        if (room <= 0)
            break;
        ui_term_text(y, cx + 3, ui_table_text_width(item) < room ? ui_table_text_width(item) : room, item);
        cx += 4 + ui_table_text_width(item);
    }
    attrset(A_NORMAL);
    if (h < 4 || w < 16)
        return;
    int lm = 8, ch = h - 2, cw = w - lm;
    double lo = 0, hi = 0, xlo = 0, xhi = 0;
    int have = ui_draw_plot_range(lines, n, logscale, &lo, &hi, &xlo, &xhi);
    if (have < 0)
        return;
    if (!have) {
        ui_term_set(a, UI_C_DIM);
        const char *note = empty_note ? empty_note : "no data yet";
        int nw = ui_table_text_width(note);
        ui_term_text(y + 1 + ch / 2, x + (w > nw ? (w - nw) / 2 : 0), w, note);
        attrset(A_NORMAL);
        return;
    }
    ui_plot_canvas c;
    if (ui_plot_canvas_init(&c, cw, ch) != 0)
        return;
    for (int i = 0; i < n; i++)
        ui_plot_canvas_series(&c, lines[i].s->x, lines[i].s->y, lines[i].s->n, xlo, xhi, lo, hi, logscale,
                              lines[i].color);
    ui_draw_yaxis(a, y + 1, x, ch, lm, lo, hi, logscale, unit);
    ui_draw_canvas(a, &c, y + 1, x + lm);
    ui_draw_plot_mark(a, &c, y + 1, x + lm, xlo, xhi, o);
    ui_plot_canvas_free(&c);
    /* x axis: first and last step */
    char l0[32], l1[48];
    snprintf(l0, sizeof l0, "%.0f", xlo);
    snprintf(l1, sizeof l1, "%.0f", xhi);
    ui_term_set(a, UI_C_DIM);
    ui_term_text(y + h - 1, x + lm, cw, l0);
    ui_term_text(y + h - 1, x + lm + (cw - 4) / 2, 4, "step");
    int l1w = (int)strlen(l1);
    if (l1w < cw - 6)
        ui_term_text(y + h - 1, x + w - l1w, l1w, l1);
    attrset(A_NORMAL);
}

void ui_draw_bar(const ui_app *a, int y, int x, int w, double frac)
{
    if (w < 1)
        return;
    if (!(frac >= 0))
        frac = 0;
    if (frac > 1)
        frac = 1;
    if (a->utf8) {
        static const char *const part[8] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
        int eighths = (int)(frac * w * 8 + 0.5);
        int full = eighths / 8, rest = eighths % 8;
        attrset(ui_term_role(a, UI_C_SERIES + 0));
        int k = 0;
        for (; k < full && k < w; k++)
            mvaddstr(y, x + k, "\u2588");
        if (k < w && rest) {
            mvaddstr(y, x + k, part[rest]);
            k++;
        }
        ui_term_set(a, UI_C_DIM);
        for (; k < w; k++)
            mvaddstr(y, x + k, "\u00b7");
    } else {
        int full = (int)(frac * w + 0.5);
        attrset(ui_term_role(a, UI_C_SERIES + 0));
        for (int k = 0; k < w; k++) {
            if (k == full)
                ui_term_set(a, UI_C_DIM);
            mvaddch(y, x + k, k < full ? '#' : '.');
        }
    }
    attrset(A_NORMAL);
}

void ui_draw_heat_cell(const ui_app *a, int y, int x, int upper, int lower)
{
    if (a->nramp > 0) {
        int fg = upper >= 0 ? a->ramp[upper] : -1, bg = lower >= 0 ? a->ramp[lower] : -1;
        if (a->utf8) {
            ui_term_pair(fg, bg, A_NORMAL);
            mvaddstr(y, x, upper >= 0 ? "\u2580" : " ");
        } else {
            /* one matrix row per line: a space on the colour */
            ui_term_pair(COLOR_BLACK, fg, A_NORMAL);
            mvaddstr(y, x, upper >= 0 ? " " : ".");
        }
        attrset(A_NORMAL);
        return;
    }
    mvaddstr(y, x, ui_heatmap_shade(upper, 10, 0)); /* monochrome: 10 ASCII shades, one row per line */
}

void ui_draw_legend(const ui_app *a, int y, int x, int w, const char *label, double lo, double hi)
{
    char l0[32], l1[32];
    snprintf(l0, sizeof l0, "%.3f", lo);
    snprintf(l1, sizeof l1, "%.3f", hi);
    char head[96];
    snprintf(head, sizeof head, "%s scale %s ", label, l0);
    int hw = ui_table_text_width(head);
    int steps = a->nramp > 0 ? a->nramp : 10;
    int cells = w - hw - (int)strlen(l1) - 1;
    if (cells > 2 * steps)
        cells = 2 * steps;
    if (cells < steps)
        cells = cells < 1 ? 0 : cells;
    ui_term_text(y, x, hw, head);
    for (int k = 0; k < cells; k++) {
        int slot = cells > 1 ? (int)((int64_t)k * steps / cells) : 0;
        if (a->nramp > 0) {
            ui_term_pair(COLOR_BLACK, a->ramp[slot], A_NORMAL);
            mvaddstr(y, x + hw + k, " ");
            attrset(A_NORMAL);
        } else
            mvaddstr(y, x + hw + k, ui_heatmap_shade(slot, steps, 0));
    }
    ui_term_textf(y, x + hw + cells, w - hw - cells, " %s", l1);
}
