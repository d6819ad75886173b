/* plots_internal.h — shared between plots.c (sessions, figures.tex) and plots_sweep.c (sweeps); private to them. */
#ifndef PD_PLOTS_INTERNAL_H
#define PD_PLOTS_INTERNAL_H

#include <stdio.h>

#include "atomic.h"
#include "path.h"
#include "plots.h"

typedef struct {
    const pd_plot_opts *o;
    double width;
    char dir[PD_PATH_MAX], out[PD_PATH_MAX];
    const char *name;          /* the session's or sweep's folder name */
    pd_atomic_file tex;        /* figures.tex */
    char *old_tex;             /* with --only: the previous figures.tex (its entries of figures not redrawn stay) */
    int tex_next;              /* the next figure (plots.c's order) whose entry figures.tex has yet to get */
    plots_note_fn note;
    void *ctx;
} plots_ctx;

/* 1 when figure name is wanted (no --only, or named by one). */
int plots_want(const plots_ctx *c, const char *name);
/* Open OUT/NAME.EXT at the context's width and height h (points). */
pd_status plots_open(plots_ctx *c, const char *name, double h, pd_figure **f, pd_error *err);
/* Close the figure, report it and add it to figures.tex with a caption (plain text, escaped here). */
pd_status plots_close(plots_ctx *c, const char *name, pd_figure **f, const char *caption, pd_error *err);
/* A figure that cannot be drawn: an error when --only named it, else a note. */
pd_status plots_skip(plots_ctx *c, const char *name, const char *why, pd_error *err);
/* Finite min and max of v padded by pad x the span (a span of 0 gets +-0.5 or 5 %); 0 when none is finite. */
int plots_range(const double *v, int n, double pad, double *lo, double *hi);
/* Quartiles and median of the finite values (sorted copy); 0 when none. */
int plots_quartiles(const double *v, int n, double *q1, double *med, double *q3);
/* A deterministic jitter in [-1, 1] for point i. */
double plots_jitter(int i);
/* Plot the sweep in c->dir (plots_sweep.c). */
pd_status plots_sweep(plots_ctx *c, pd_error *err);

#endif
