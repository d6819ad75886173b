/* heatmap.h — colour mapping and aggregation for matrix heatmaps, with no terminal involved (pure functions).
 *
 * A value maps to one of n colour slots along a ramp (lo → slot 0, hi → slot n-1, monotone, NaN → -1). A matrix
 * larger than the screen is aggregated into out_rows x out_cols blocks holding the mean of the finite values of
 * each block (NaN when a block has none). The ramps are terminal colour numbers: a 16-step blue → yellow → red ramp
 * for 256-colour terminals, a 6-step readable ramp for 8-colour ones; monochrome terminals shade with characters.
 * ui_draw.c paints the cells (upper-half block ▀ with fg = upper row, bg = lower row: two matrix rows per line).
 */
#ifndef PD_UI_HEATMAP_H
#define PD_UI_HEATMAP_H

#include <stdint.h>

#define UI_HEATMAP_MAX_RAMP 16

/* Colour slot of v in [0, n): slot 0 for v <= lo, n-1 for v >= hi, monotone in v; -1 for NaN or n < 1.
 * An empty range (hi <= lo) maps every finite value to the middle slot. */
int ui_heatmap_index(double v, double lo, double hi, int n);
/* Finite min/max of m[n] into lo/hi; returns the count of finite values (0: lo = 0, hi = 1). */
int64_t ui_heatmap_range(const float *m, int64_t n, double *lo, double *hi);
/* Mean over blocks: out [out_rows, out_cols] from m [rows, cols]; block (i, j) covers rows
 * [i*rows/out_rows, (i+1)*rows/out_rows) and the same for columns (out_rows <= rows, out_cols <= cols;
 * larger values are clamped to rows/cols by the caller's choice: pass at most rows/cols). NaNs are skipped. */
void ui_heatmap_aggregate(const float *m, int rows, int cols, int out_rows, int out_cols, double *out);
/* The matrix row range of aggregated row i (for a cursor label): [*first, *last] inclusive. */
void ui_heatmap_block(int i, int rows, int out_rows, int *first, int *last);
/* Terminal colour numbers of the ramp for a terminal with `colors` colours (>= 256: 16 steps; >= 8: 6 steps;
 * otherwise 0 = no colour). Returns the number of steps written to out (at most max). */
int ui_heatmap_ramp(int colors, int *out, int max);
/* Monochrome shading glyph of slot i of n (ASCII " .:-=+*#%@" or UTF-8 " ░▒▓█"). */
const char *ui_heatmap_shade(int i, int n, int utf8);

#endif
