/* figure.h — a small plotting layer on cairo for print figures (`pdiff plot`): one drawing code, three surfaces
 * (PDF and SVG: vector; PNG: 300 dpi), written atomically (a temporary name, then rename, as atomic.h does).
 *
 *   pd_figure *f;
 *   fig_open(&f, "figs/loss.pdf", FIG_PDF, 246, 160, &err);        // width and height in points
 *   fig_axes a = {.x0 = 0, .x1 = 900, .y0 = 0.1, .y1 = 3, .logy = 1, .xlabel = "step", .ylabel = "loss"};
 *   fig_panel(f, &a, 0, 0, 1, 1);                                 // axes over the whole figure: ticks, labels
 *   fig_line(f, x, y, n, fig_palette(1), 0);
 *   fig_points(f, x, y, n, FIG_MARK_STAR, fig_palette(6));
 *   fig_close(&f, &err);                                           // finishes the file; fig_abort(&f) drops it
 *
 * Ticks are nice numbers (1, 2, 2.5, 5 x 10^k), 4 to 6 per axis; a log axis ticks the powers of ten (or 1-2-5 within
 * a decade). Colours are the Okabe-Ito palette (colour-blind safe); every model kind has one colour and one marker
 * (fig_kind_of), the same kinds and symbols as the TUI's table in ui/kind.c (which the engine cannot include: the
 * mapping is kept here as data, symbol by symbol, and ui/kind.c says so).
 *
 * Everything but the kind table and the format names needs cairo (HAVE_CAIRO); without it fig_open fails with
 * "pdiff was built without cairo (install libcairo2-dev and reconfigure)".
 */
#ifndef PD_FIGURE_H
#define PD_FIGURE_H

#include <stddef.h>

#include "error.h"

#define FIG_SINGLE_COLUMN 246.0 /* points */
#define FIG_DOUBLE_COLUMN 510.0
#define FIG_PNG_DPI 300.0

typedef enum { FIG_PDF, FIG_SVG, FIG_PNG } fig_format;

typedef enum {
    FIG_MARK_CIRCLE,   /* TUI 'o' */
    FIG_MARK_STAR,     /* TUI '*' */
    FIG_MARK_PLUS,     /* TUI '+' */
    FIG_MARK_SQUARE,   /* TUI 'f' */
    FIG_MARK_DIAMOND,  /* TUI 'r' */
    FIG_MARK_TRIANGLE, /* TUI '~' (pointing down) */
    FIG_MARK_BAR,      /* TUI '=' (a horizontal bar) */
    FIG_MARK_CROSS,    /* TUI 'E' */
    FIG_MARK_DOT       /* TUI '?' (unknown kinds) */
} fig_marker;

typedef struct {
    double r, g, b;
} fig_rgb;

typedef struct {
    char tui_symbol;   /* the TUI's marker for the kind (ui/kind.c) */
    fig_marker marker; /* its print counterpart */
    fig_rgb colour;
} fig_kind_style;

/* Okabe-Ito colour i (0 black, 1 orange, 2 sky blue, 3 bluish green, 4 yellow, 5 blue, 6 vermillion, 7 reddish
 * purple), i taken modulo 8. */
fig_rgb fig_palette(int i);
/* The style of a zoo or latents kind ("noise:0.1" matches "noise:"); unknown kinds get a grey dot. */
fig_kind_style fig_kind_of(const char *kind);
/* A reader's name: "p-diff", "fine-tuned", "noise σ=0.01" (UTF-8), ... */
void fig_kind_label(const char *kind, char *buf, size_t size);
/* "pdf", "svg", "png" -> format; PD_ERR_USAGE naming the word otherwise. */
pd_status fig_format_parse(const char *s, fig_format *out, pd_error *err);
const char *fig_format_ext(fig_format f);
/* 1 when figures can be drawn (built with cairo). */
int fig_available(void);
/* Nice ticks covering [lo, hi] (4 to 6 of them, at most max); returns the count. log: powers of ten when the range
 * spans a decade or more, else 1-2-5 ticks (lo, hi > 0). */
int fig_ticks(double lo, double hi, int log, double *ticks, int max);
/* Linear ticks that are whole numbers (steps 1, 2, 5 x 10^k, at least 1), for an axis of counts, seeds or k. */
int fig_int_ticks(double lo, double hi, double *ticks, int max);

typedef struct pd_figure pd_figure;

typedef struct {
    double x0, x1, y0, y1; /* data range (y0, y1 > 0 with logy) */
    int logy;
    const char *xlabel, *ylabel, *title;
    const char *const *xcats; /* categorical x axis: labels at x = 0 .. n_xcats - 1 (ticks otherwise) */
    int n_xcats;
    double right; /* extra room on the right (points), for a colour bar */
    int xint;     /* 1: x ticks only at whole numbers (fig_int_ticks) */
} fig_axes;

pd_status fig_open(pd_figure **f, const char *path, fig_format fmt, double width_pt, double height_pt,
                   pd_error *err);
/* Finish and rename into place; *f is freed and set to NULL either way. */
pd_status fig_close(pd_figure **f, pd_error *err);
void fig_abort(pd_figure **f); /* drops the temporary file; NULL or *f NULL is a no-op */
/* Axes in the figure's box (fx0, fy0)-(fx1, fy1), fractions of its width and height from the top left: frame,
 * ticks, tick labels, axis labels and title; later drawing uses this panel's data coordinates, clipped. */
void fig_panel(pd_figure *f, const fig_axes *a, double fx0, double fy0, double fx1, double fy1);
/* A polyline through the finite points (a gap at a non-finite one); dashed: 1 for a dashed line. */
void fig_line(pd_figure *f, const double *x, const double *y, int n, fig_rgb c, int dashed);
void fig_points(pd_figure *f, const double *x, const double *y, int n, fig_marker m, fig_rgb c);
/* A vertical error bar with caps from lo to hi at x. */
void fig_errorbar(pd_figure *f, double x, double lo, double hi, fig_rgb c);
/* A box at x from y lo to hi (half width in data units), a line at mid. */
void fig_box(pd_figure *f, double x, double half, double lo, double mid, double hi, fig_rgb c);
/* A dashed vertical line at x over the panel with a small label at its top. */
void fig_vline(pd_figure *f, double x, const char *label);
/* A legend in the panel's top right (bottom right with bottom = 1): one row per entry, a marker and/or a line. */
typedef struct {
    const char *label;
    fig_rgb colour;
    fig_marker marker;
    int has_marker, has_line;
} fig_legend_entry;
void fig_legend(pd_figure *f, const fig_legend_entry *e, int n, int bottom);
/* A heatmap over the panel's data box: v [rows, cols] (row 0 at the top, NaN grey) on a perceptual colour map from
 * vmin to vmax, and a colour bar with ticks right of the panel labelled label (leave fig_axes.right >= 40). */
void fig_heatmap(pd_figure *f, const float *v, int rows, int cols, double vmin, double vmax, const char *label);
/* The device rectangle of heatmap cell (i, j) as drawn by the last fig_heatmap: pixels for PNG, points otherwise. */
void fig_heatmap_cell(const pd_figure *f, int i, int j, double *x, double *y, double *w, double *h);

#endif
