/* series.h — a growing series of (x, y) points, as the Run screen's and the compare view's loss curves keep them
 * (drawn by ui_draw_plot through a ui_plot_line). Pure data, no terminal.
 *
 *   ui_series s = {0}; ui_series_push(&s, step, loss); ...; ui_series_free(&s);
 */
#ifndef PD_UI_SERIES_H
#define PD_UI_SERIES_H

#include <stdint.h>

typedef struct {
    double *x, *y;
    int n;
    int64_t cap; /* of both arrays */
} ui_series;

/* Appends (x, y); out of memory drops the point and leaves the series as it was. */
void ui_series_push(ui_series *s, double x, double y);
/* Frees both arrays and zeroes the series. */
void ui_series_free(ui_series *s);

#endif
