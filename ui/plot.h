/* plot.h — line and scatter plots as character cells, with no terminal involved (pure functions).
 *
 * A canvas is w x h character cells; each cell holds a 2 x 4 grid of dots, which render as one braille
 * character (U+2800..U+28FF) in a UTF-8 terminal or as one ASCII character ('.', '-', '\'', '|', ...) otherwise.
 * Series are drawn as straight lines between consecutive finite points, mapped through an axis range that
 * ui_plot_range() computes (min/max of the finite values, optionally log10, constant series widened so they
 * draw as a flat line in the middle). Scatter plots put one marker character per cell instead of dots.
 * ui_draw.c draws a canvas with curses; everything here is testable without a terminal (tests/test_widgets.c).
 *
 *   ui_plot_canvas c; ui_plot_canvas_init(&c, 40, 10);
 *   double lo, hi; ui_plot_range(loss, n, 1, &lo, &hi);
 *   ui_plot_canvas_series(&c, steps, loss, n, steps[0], steps[n-1], lo, hi, 1, 2);
 *   char cell[8]; ui_plot_canvas_cell(&c, col, row, utf8, cell);   // "⠤" or "-"
 *   ui_plot_canvas_free(&c);
 */
#ifndef PD_UI_PLOT_H
#define PD_UI_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* Range of the usable values of v[n] (finite; and > 0 when log != 0) into lo <= hi, returned in data units
 * (not log10). A constant series is widened (by 10% of |value|, or by 1 around 0; a factor of 2 each way when log) so
 * it draws flat in the middle. Returns the number of usable values; 0 leaves lo = 0, hi = 1 (lo = 1, hi = 10 when log).
 */
int ui_plot_range(const double *v, int n, int log, double *lo, double *hi);
/* Position of v along [lo, hi] as a fraction in [0, 1] (clamped); NaN when v is not usable (NaN, inf, <= 0 in
 * log scale) or the range is empty. */
double ui_plot_frac(double v, double lo, double hi, int log);
/* "Nice" tick values (1, 2, 5 x 10^k steps; powers of ten in log scale) inside [lo, hi], ascending; at most max.
 * Returns the count (lo and hi themselves when no nice value fits). */
int ui_plot_ticks(double lo, double hi, int log, double *ticks, int max);
/* Axis ticks, at most max: nice ticks (1-2-5 steps, the largest step giving at least 3 inside the range; powers of
 * ten in log scale) and hi itself, which replaces the last nice tick when that one lies within a quarter step of it,
 * so that an axis shows 4-5 ticks and always its top value. */
int ui_plot_axis_ticks(double lo, double hi, int log, double *ticks, int max);
/* A compact label for an axis value: "0.5", "120", "1.2e-03", "3.4k". */
void ui_plot_format(double v, char *buf, size_t size);

/* Braille: the bit of dot (dx in 0..1, dy in 0..3, top to bottom) in U+2800 + bits, and the UTF-8 encoding of a
 * braille cell (3 bytes + NUL). */
unsigned ui_plot_braille_bit(int dx, int dy);
void ui_plot_braille(unsigned bits, char out[4]);
/* The ASCII stand-in for a cell's dot mask (' ' when empty). */
char ui_plot_ascii(unsigned bits);

typedef struct {
    int w, h;       /* cells */
    uint8_t *bits;  /* [h * w] braille dot masks */
    uint8_t *color; /* [h * w] colour slot of the last thing drawn in the cell (0 = none) */
    char *mark;     /* [h * w] scatter marker (0 = none); a marker wins over dots */
} ui_plot_canvas;

/* 0 on success, -1 out of memory (the canvas is then empty and safe to free). w, h < 1 give an empty canvas. */
int ui_plot_canvas_init(ui_plot_canvas *c, int w, int h);
void ui_plot_canvas_free(ui_plot_canvas *c);
void ui_plot_canvas_clear(ui_plot_canvas *c);
/* One dot in pixel coordinates: px in [0, 2w), py in [0, 4h), py = 0 at the top; outside is ignored. */
void ui_plot_canvas_dot(ui_plot_canvas *c, int px, int py, int color);
void ui_plot_canvas_line(ui_plot_canvas *c, int x0, int y0, int x1, int y1, int color);
/* Draw y[i] against x[i] (x NULL: the index i) with lines between consecutive usable points; x in [xlo, xhi],
 * y through (ylo, yhi, ylog). A lone usable point draws one dot. */
void ui_plot_canvas_series(ui_plot_canvas *c, const double *x, const double *y, int n, double xlo, double xhi,
                           double ylo, double yhi, int ylog, int color);
/* A scatter marker in the cell at fractions (fx, fy) of the canvas (fy = 0 at the bottom); NaN is ignored. */
void ui_plot_canvas_mark(ui_plot_canvas *c, double fx, double fy, char mark, int color);
/* The text of one cell into out (NUL-terminated, at most 4 bytes): the marker, the braille character (utf8) or
 * the ASCII stand-in; " " when the cell is empty. */
void ui_plot_canvas_cell(const ui_plot_canvas *c, int col, int row, int utf8, char out[8]);
int ui_plot_canvas_cell_color(const ui_plot_canvas *c, int col, int row);

#endif
