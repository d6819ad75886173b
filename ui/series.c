/* series.c — see series.h. */
#include "series.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

void ui_series_push(ui_series *s, double x, double y)
{
    int64_t cap = s->cap; /* for both arrays */
    double *nx = pd_grow(s->x, &cap, s->n + 1, sizeof *nx, 256);
    if (!nx)
        return;
    s->x = nx;
    cap = s->cap;
    double *ny = pd_grow(s->y, &cap, s->n + 1, sizeof *ny, 256);
    if (!ny)
        return;
    s->y = ny;
    s->cap = cap;
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

void ui_series_free(ui_series *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}
