/* figure.c — print figures on cairo: axes, ticks, lines, markers, legends, heatmaps (see figure.h). */
#include "figure.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdiff_build.h"

/* The TUI's kinds (ui/kind.c: symbol, colour slot) with their print marker and Okabe-Ito colour; keep in step. */
static const struct {
    const char *kind, *label;
    fig_kind_style style;
    int palette;
} fig_kind_table[] = {
    {"original", "original", {'o', FIG_MARK_CIRCLE, {0, 0, 0}}, 2},       /* TUI cyan -> sky blue */
    {"pdiff", "p-diff", {'*', FIG_MARK_STAR, {0, 0, 0}}, 6},              /* TUI yellow, bold -> vermillion */
    {"pdiff_latent", "p-diff latent", {'+', FIG_MARK_PLUS, {0, 0, 0}}, 6}, /* TUI yellow -> vermillion */
    {"finetune", "fine-tuned", {'f', FIG_MARK_SQUARE, {0, 0, 0}}, 3},     /* TUI green -> bluish green */
    {"ae_recon", "AE recon", {'r', FIG_MARK_DIAMOND, {0, 0, 0}}, 7},      /* TUI magenta -> reddish purple */
    {"noise:", "noise", {'~', FIG_MARK_TRIANGLE, {0, 0, 0}}, 1},          /* TUI red -> orange */
    {"averaged", "averaged", {'=', FIG_MARK_BAR, {0, 0, 0}}, 5},          /* TUI blue -> blue */
    {"ensemble", "ensemble", {'E', FIG_MARK_CROSS, {0, 0, 0}}, 0},        /* TUI white, bold -> black */
    {"gaussian", "gaussian", {'g', FIG_MARK_DOT, {0, 0, 0}}, 0},          /* TUI white -> black (a dot) */
};
enum { FIG_KIND_N = (int)(sizeof fig_kind_table / sizeof fig_kind_table[0]) };

fig_rgb fig_palette(int i)
{
    static const unsigned char okabe_ito[8][3] = {{0, 0, 0},       {230, 159, 0}, {86, 180, 233}, {0, 158, 115},
                                                  {240, 228, 66},  {0, 114, 178}, {213, 94, 0},   {204, 121, 167}};
    i = ((i % 8) + 8) % 8;
    return (fig_rgb){okabe_ito[i][0] / 255.0, okabe_ito[i][1] / 255.0, okabe_ito[i][2] / 255.0};
}

static int fig_kind_find(const char *kind)
{
    for (int i = 0; kind && i < FIG_KIND_N; i++) {
        const char *k = fig_kind_table[i].kind;
        size_t n = strlen(k);
        if (k[n - 1] == ':' ? strncmp(kind, k, n) == 0 : strcmp(kind, k) == 0)
            return i;
    }
    return -1;
}

fig_kind_style fig_kind_of(const char *kind)
{
    int i = fig_kind_find(kind);
    if (i < 0)
        return (fig_kind_style){'?', FIG_MARK_DOT, {0.6, 0.6, 0.6}};
    fig_kind_style s = fig_kind_table[i].style;
    s.colour = fig_palette(fig_kind_table[i].palette);
    return s;
}

void fig_kind_label(const char *kind, char *buf, size_t size)
{
    int i = fig_kind_find(kind);
    if (i < 0)
        snprintf(buf, size, "%s", kind ? kind : "?");
    else if (strncmp(kind, "noise:", 6) == 0)
        snprintf(buf, size, "noise \u03c3=%s", kind + 6);
    else
        snprintf(buf, size, "%s", fig_kind_table[i].label);
}

pd_status fig_format_parse(const char *s, fig_format *out, pd_error *err)
{
    static const char *const names[] = {"pdf", "svg", "png"};
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (fig_format)i;
            return PD_OK;
        }
    return error_set(err, PD_ERR_USAGE, "--format: pdf, svg or png, got '%s'", s ? s : "");
}

const char *fig_format_ext(fig_format f)
{
    return f == FIG_SVG ? "svg" : f == FIG_PNG ? "png" : "pdf";
}

/* The nice step (1, 2, 2.5, 5 x 10^k) nearest above raw. */
static double fig_nice_step(double raw)
{
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10);
}

/* integer: steps of 1, 2, 5 x 10^k only, at least 1. */
static int fig_linear_ticks(double lo, double hi, double *t, int max, int integer)
{
    if (!(hi > lo)) {
        if (max > 0)
            t[0] = lo;
        return max > 0;
    }
    int n = 0;
    for (int target = 5; target >= 2; target--) {
        double step = fig_nice_step((hi - lo) / target);
        if (integer)
            step = step <= 1 ? 1 : step == 2.5 ? 5 : step;
        n = 0;
        for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < max; v += step)
            t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
        if (n <= 6)
            break;
    }
    return n;
}

int fig_int_ticks(double lo, double hi, double *ticks, int max)
{
    return fig_linear_ticks(lo, hi, ticks, max, 1);
}

int fig_ticks(double lo, double hi, int log, double *ticks, int max)
{
    if (!log || !(lo > 0) || !(hi > lo))
        return fig_linear_ticks(lo, hi, ticks, max, 0);
    int e0 = (int)ceil(log10(lo) - 1e-9), e1 = (int)floor(log10(hi) + 1e-9);
    if (e1 - e0 >= 1) {
        int every = (e1 - e0 + 5) / 6 + 0; /* at most about 6 labels */
        if (every < 1)
            every = 1;
        int n = 0;
        for (int e = e0; e <= e1 && n < max; e += every)
            ticks[n++] = pow(10, e);
        return n;
    }
    int n = 0; /* within a decade: 1-2-5 multiples, else linear */
    for (int e = e0 - 1; e <= e1 && n < max; e++)
        for (int m = 1; m <= 5 && n < max; m += m == 1 ? 1 : 3) {
            double v = m * pow(10, e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9))
                ticks[n++] = v;
        }
    return n >= 3 ? n : fig_linear_ticks(lo, hi, ticks, max, 0);
}

#ifndef HAVE_CAIRO

int fig_available(void)
{
    return 0;
}

pd_status fig_open(pd_figure **f, const char *path, fig_format fmt, double width_pt, double height_pt,
                   pd_error *err)
{
    (void)path, (void)fmt, (void)width_pt, (void)height_pt;
    *f = NULL;
    return error_set(err, PD_ERR_CONFIG, "pdiff was built without cairo (install libcairo2-dev and reconfigure)");
}

/* Never reached without a figure (fig_open fails); here so that the plots link. */
pd_status fig_close(pd_figure **f, pd_error *err)
{
    *f = NULL;
    return error_set(err, PD_ERR_CONFIG, "pdiff was built without cairo");
}
void fig_abort(pd_figure **f)
{
    (void)f;
}
void fig_panel(pd_figure *f, const fig_axes *a, double fx0, double fy0, double fx1, double fy1)
{
    (void)f, (void)a, (void)fx0, (void)fy0, (void)fx1, (void)fy1;
}
void fig_line(pd_figure *f, const double *x, const double *y, int n, fig_rgb c, int dashed)
{
    (void)f, (void)x, (void)y, (void)n, (void)c, (void)dashed;
}
void fig_points(pd_figure *f, const double *x, const double *y, int n, fig_marker m, fig_rgb c)
{
    (void)f, (void)x, (void)y, (void)n, (void)m, (void)c;
}
void fig_errorbar(pd_figure *f, double x, double lo, double hi, fig_rgb c)
{
    (void)f, (void)x, (void)lo, (void)hi, (void)c;
}
void fig_box(pd_figure *f, double x, double half, double lo, double mid, double hi, fig_rgb c)
{
    (void)f, (void)x, (void)half, (void)lo, (void)mid, (void)hi, (void)c;
}
void fig_vline(pd_figure *f, double x, const char *label)
{
    (void)f, (void)x, (void)label;
}
void fig_legend(pd_figure *f, const fig_legend_entry *e, int n, int bottom)
{
    (void)f, (void)e, (void)n, (void)bottom;
}
void fig_heatmap(pd_figure *f, const float *v, int rows, int cols, double vmin, double vmax, const char *label)
{
    (void)f, (void)v, (void)rows, (void)cols, (void)vmin, (void)vmax, (void)label;
}
void fig_heatmap_cell(const pd_figure *f, int i, int j, double *x, double *y, double *w, double *h)
{
    (void)f, (void)i, (void)j;
    *x = *y = *w = *h = 0;
}

#else

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include "atomic.h"

#define FIG_FONT 7.0
#define FIG_MARK 2.2

struct pd_figure {
    pd_atomic_file file;
    fig_format fmt;
    cairo_surface_t *surface;
    cairo_t *cr;
    double w, h, scale;             /* points; device units per point */
    fig_axes ax;                    /* the current panel */
    double px0, px1, py0, py1;      /* its data box in points (py0 top) */
    int hm_rows, hm_cols;           /* the last heatmap */
};

int fig_available(void)
{
    return 1;
}

static cairo_status_t fig_write(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

pd_status fig_open(pd_figure **out, const char *path, fig_format fmt, double width_pt, double height_pt,
                   pd_error *err)
{
    *out = NULL;
    pd_figure *f = calloc(1, sizeof *f);
    if (!f)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    pd_status st = atomic_open(&f->file, path, err);
    if (st != PD_OK) {
        free(f);
        return st;
    }
    f->fmt = fmt;
    f->w = width_pt;
    f->h = height_pt;
    f->scale = fmt == FIG_PNG ? FIG_PNG_DPI / 72.0 : 1.0;
    if (fmt == FIG_PDF)
        f->surface = cairo_pdf_surface_create_for_stream(fig_write, f->file.fp, width_pt, height_pt);
    else if (fmt == FIG_SVG)
        f->surface = cairo_svg_surface_create_for_stream(fig_write, f->file.fp, width_pt, height_pt);
    else
        f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(width_pt * f->scale),
                                                (int)ceil(height_pt * f->scale));
    f->cr = cairo_create(f->surface);
    if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) {
        st = error_set(err, PD_ERR_IO, "%s: cairo: %s", path, cairo_status_to_string(cairo_status(f->cr)));
        fig_abort(&f);
        return st;
    }
    cairo_scale(f->cr, f->scale, f->scale);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_select_font_face(f->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(f->cr, FIG_FONT);
    *out = f;
    return PD_OK;
}

static void fig_release(pd_figure *f)
{
    if (f->cr)
        cairo_destroy(f->cr);
    if (f->surface)
        cairo_surface_destroy(f->surface);
    f->cr = NULL;
    f->surface = NULL;
}

pd_status fig_close(pd_figure **fp, pd_error *err)
{
    pd_figure *f = *fp;
    *fp = NULL;
    cairo_status_t cs = cairo_status(f->cr);
    cairo_destroy(f->cr);
    f->cr = NULL;
    if (cs == CAIRO_STATUS_SUCCESS && f->fmt == FIG_PNG)
        cs = cairo_surface_write_to_png_stream(f->surface, fig_write, f->file.fp);
    cairo_surface_finish(f->surface);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(f->surface);
    fig_release(f);
    pd_status st = PD_OK;
    if (cs != CAIRO_STATUS_SUCCESS) {
        st = error_set(err, PD_ERR_IO, "%s: cairo: %s", f->file.path, cairo_status_to_string(cs));
        atomic_abort(&f->file);
    } else
        st = atomic_commit(&f->file, err);
    free(f);
    return st;
}

void fig_abort(pd_figure **fp)
{
    if (!fp || !*fp)
        return;
    pd_figure *f = *fp;
    *fp = NULL;
    if (f->surface)
        cairo_surface_finish(f->surface);
    fig_release(f);
    atomic_abort(&f->file);
    free(f);
}

/* ------------------------------------------------------------------------------------------------ text */

/* Text anchored at (x, y): ha 0 left, 0.5 centre, 1 right; va 0 top, 0.5 middle, 1 baseline; angle in degrees. */
static void fig_text(pd_figure *f, double x, double y, const char *s, double ha, double va, double angle)
{
    cairo_t *cr = f->cr;
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle * M_PI / 180);
    double dy = va == 1 ? 0 : va == 0 ? fe.ascent * 0.8 : fe.ascent * 0.35;
    cairo_move_to(cr, -te.x_advance * ha, dy);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

static double fig_text_width(pd_figure *f, const char *s)
{
    cairo_text_extents_t te;
    cairo_text_extents(f->cr, s, &te);
    return te.x_advance;
}

static void fig_tick_label(double v, double step, int log, char *buf, size_t size)
{
    if (log || fabs(v) >= 1e5 || (v != 0 && fabs(v) < 1e-3)) {
        snprintf(buf, size, "%g", v);
        return;
    }
    int dec = step > 0 ? (int)ceil(-log10(step) - 1e-9) : 0;
    if (step > 0 && fabs(step * pow(10, dec) - round(step * pow(10, dec))) > 1e-6)
        dec++; /* 2.5 x 10^k */
    snprintf(buf, size, "%.*f", dec < 0 ? 0 : dec, v);
}

/* ------------------------------------------------------------------------------------------------ axes */

static double fig_tx(const pd_figure *f, double x)
{
    double d = f->ax.x1 - f->ax.x0;
    return f->px0 + (d > 0 ? (x - f->ax.x0) / d : 0.5) * (f->px1 - f->px0);
}

static double fig_ty(const pd_figure *f, double y)
{
    double a = f->ax.y0, b = f->ax.y1;
    if (f->ax.logy) {
        a = log10(a), b = log10(b), y = y > 0 ? log10(y) : a - 10;
    }
    return f->py1 - (b != a ? (y - a) / (b - a) : 0.5) * (f->py1 - f->py0);
}

static void fig_x_axis(pd_figure *f)
{
    cairo_t *cr = f->cr;
    char buf[64];
    if (f->ax.n_xcats > 0) {
        for (int i = 0; i < f->ax.n_xcats; i++) {
            double x = fig_tx(f, i);
            cairo_move_to(cr, x, f->py1);
            cairo_line_to(cr, x, f->py1 + 2.5);
            cairo_stroke(cr);
            fig_text(f, x + 2, f->py1 + 4, f->ax.xcats[i], 1, 0.5, -30);
        }
        return;
    }
    double t[16];
    int n = f->ax.xint ? fig_int_ticks(f->ax.x0, f->ax.x1, t, 16) : fig_ticks(f->ax.x0, f->ax.x1, 0, t, 16);
    for (int i = 0; i < n; i++) {
        double x = fig_tx(f, t[i]);
        cairo_move_to(cr, x, f->py1);
        cairo_line_to(cr, x, f->py1 + 2.5);
        cairo_stroke(cr);
        fig_tick_label(t[i], n > 1 ? t[1] - t[0] : 0, 0, buf, sizeof buf);
        fig_text(f, x, f->py1 + 3.5, buf, 0.5, 0, 0);
    }
    if (f->ax.xlabel)
        fig_text(f, (f->px0 + f->px1) / 2, f->py1 + 12, f->ax.xlabel, 0.5, 0, 0);
}

static void fig_y_axis(pd_figure *f)
{
    cairo_t *cr = f->cr;
    char buf[64];
    double t[16], widest = 0;
    int n = fig_ticks(fmin(f->ax.y0, f->ax.y1), fmax(f->ax.y0, f->ax.y1), f->ax.logy, t, 16);
    for (int i = 0; i < n; i++) {
        double y = fig_ty(f, t[i]);
        cairo_move_to(cr, f->px0, y);
        cairo_line_to(cr, f->px0 - 2.5, y);
        cairo_stroke(cr);
        fig_tick_label(t[i], n > 1 ? t[1] - t[0] : 0, f->ax.logy, buf, sizeof buf);
        fig_text(f, f->px0 - 3.5, y, buf, 1, 0.5, 0);
        double w = fig_text_width(f, buf);
        widest = w > widest ? w : widest;
    }
    if (f->ax.ylabel)
        fig_text(f, f->px0 - 6 - widest, (f->py0 + f->py1) / 2, f->ax.ylabel, 0.5, 1, -90);
}

void fig_panel(pd_figure *f, const fig_axes *a, double fx0, double fy0, double fx1, double fy1)
{
    cairo_t *cr = f->cr;
    f->ax = *a;
    double bottom = a->n_xcats > 0 ? 34 : a->xlabel ? 22 : 12;
    f->px0 = fx0 * f->w + 36;
    f->px1 = fx1 * f->w - 6 - a->right;
    f->py0 = fy0 * f->h + (a->title ? 13 : 5);
    f->py1 = fy1 * f->h - bottom;
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.5);
    cairo_rectangle(cr, f->px0, f->py0, f->px1 - f->px0, f->py1 - f->py0);
    cairo_stroke(cr);
    fig_x_axis(f);
    fig_y_axis(f);
    if (a->title) {
        cairo_save(cr);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        fig_text(f, (f->px0 + f->px1) / 2, f->py0 - 3, a->title, 0.5, 1, 0);
        cairo_restore(cr);
    }
}

/* ------------------------------------------------------------------------------------------------ marks */

static void fig_clip(pd_figure *f, fig_rgb c)
{
    cairo_save(f->cr);
    cairo_rectangle(f->cr, f->px0, f->py0, f->px1 - f->px0, f->py1 - f->py0);
    cairo_clip(f->cr);
    cairo_set_source_rgb(f->cr, c.r, c.g, c.b);
    cairo_set_line_width(f->cr, 0.8);
}

void fig_line(pd_figure *f, const double *x, const double *y, int n, fig_rgb c, int dashed)
{
    fig_clip(f, c);
    if (dashed) {
        double d[2] = {2.5, 1.5};
        cairo_set_dash(f->cr, d, 2, 0);
    }
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || (f->ax.logy && !(y[i] > 0))) {
            open = 0;
            continue;
        }
        if (open)
            cairo_line_to(f->cr, fig_tx(f, x[i]), fig_ty(f, y[i]));
        else
            cairo_move_to(f->cr, fig_tx(f, x[i]), fig_ty(f, y[i]));
        open = 1;
    }
    cairo_stroke(f->cr);
    cairo_restore(f->cr);
}

static void fig_polygon(cairo_t *cr, double x, double y, double r, int n, double rot, double inner)
{
    for (int k = 0; k < n * (inner > 0 ? 2 : 1); k++) {
        double rr = inner > 0 && k % 2 ? inner : r;
        double a = rot + k * M_PI * 2 / (n * (inner > 0 ? 2 : 1));
        if (k == 0)
            cairo_move_to(cr, x + rr * sin(a), y - rr * cos(a));
        else
            cairo_line_to(cr, x + rr * sin(a), y - rr * cos(a));
    }
    cairo_close_path(cr);
}

/* One marker at device point (x, y): filled shapes get a thin darker outline so that they stay apart. */
static void fig_marker_at(cairo_t *cr, double x, double y, fig_marker m, double r)
{
    switch (m) {
    case FIG_MARK_CIRCLE:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r * 0.9, 0, 2 * M_PI);
        cairo_stroke(cr);
        return;
    case FIG_MARK_PLUS:
    case FIG_MARK_CROSS: {
        double d = m == FIG_MARK_CROSS ? r * 0.8 : r;
        cairo_move_to(cr, x - d, y - (m == FIG_MARK_CROSS ? d : 0));
        cairo_line_to(cr, x + d, y + (m == FIG_MARK_CROSS ? d : 0));
        cairo_move_to(cr, x - (m == FIG_MARK_CROSS ? d : 0), y + d);
        cairo_line_to(cr, x + (m == FIG_MARK_CROSS ? d : 0), y - d);
        cairo_stroke(cr);
        return;
    }
    case FIG_MARK_STAR:
        fig_polygon(cr, x, y, r * 1.3, 5, 0, r * 0.55);
        break;
    case FIG_MARK_SQUARE:
        cairo_rectangle(cr, x - r * 0.8, y - r * 0.8, r * 1.6, r * 1.6);
        break;
    case FIG_MARK_DIAMOND:
        fig_polygon(cr, x, y, r * 1.1, 4, 0, 0);
        break;
    case FIG_MARK_TRIANGLE:
        fig_polygon(cr, x, y, r * 1.1, 3, M_PI, 0);
        break;
    case FIG_MARK_BAR:
        cairo_rectangle(cr, x - r, y - r * 0.4, r * 2, r * 0.8);
        break;
    case FIG_MARK_DOT:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r * 0.6, 0, 2 * M_PI);
        break;
    }
    cairo_fill(cr);
}

void fig_points(pd_figure *f, const double *x, const double *y, int n, fig_marker m, fig_rgb c)
{
    fig_clip(f, c);
    cairo_set_line_width(f->cr, 0.6);
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i]) && (!f->ax.logy || y[i] > 0))
            fig_marker_at(f->cr, fig_tx(f, x[i]), fig_ty(f, y[i]), m, FIG_MARK);
    cairo_restore(f->cr);
}

void fig_errorbar(pd_figure *f, double x, double lo, double hi, fig_rgb c)
{
    if (!isfinite(x) || !isfinite(lo) || !isfinite(hi))
        return;
    fig_clip(f, c);
    double X = fig_tx(f, x), a = fig_ty(f, lo), b = fig_ty(f, hi);
    cairo_move_to(f->cr, X, a);
    cairo_line_to(f->cr, X, b);
    cairo_move_to(f->cr, X - 2, a);
    cairo_line_to(f->cr, X + 2, a);
    cairo_move_to(f->cr, X - 2, b);
    cairo_line_to(f->cr, X + 2, b);
    cairo_stroke(f->cr);
    cairo_restore(f->cr);
}

void fig_box(pd_figure *f, double x, double half, double lo, double mid, double hi, fig_rgb c)
{
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(mid))
        return;
    fig_clip(f, c);
    double a = fig_tx(f, x - half), b = fig_tx(f, x + half);
    cairo_rectangle(f->cr, a, fig_ty(f, hi), b - a, fig_ty(f, lo) - fig_ty(f, hi));
    cairo_move_to(f->cr, a, fig_ty(f, mid));
    cairo_line_to(f->cr, b, fig_ty(f, mid));
    cairo_stroke(f->cr);
    cairo_restore(f->cr);
}

void fig_vline(pd_figure *f, double x, const char *label)
{
    if (!isfinite(x))
        return;
    fig_clip(f, (fig_rgb){0.4, 0.4, 0.4});
    double d[2] = {2, 2}, X = fig_tx(f, x);
    cairo_set_dash(f->cr, d, 2, 0);
    cairo_move_to(f->cr, X, f->py0);
    cairo_line_to(f->cr, X, f->py1);
    cairo_stroke(f->cr);
    cairo_restore(f->cr);
    if (label) {
        cairo_save(f->cr);
        cairo_set_font_size(f->cr, FIG_FONT * 0.85);
        fig_text(f, X - 1.5, f->py0 + 2, label, 1, 0, 0);
        cairo_restore(f->cr);
    }
}

void fig_legend(pd_figure *f, const fig_legend_entry *e, int n, int bottom)
{
    if (n <= 0)
        return;
    cairo_t *cr = f->cr;
    double widest = 0, row = FIG_FONT * 1.25;
    for (int i = 0; i < n; i++) {
        double w = fig_text_width(f, e[i].label);
        widest = w > widest ? w : widest;
    }
    double bw = widest + 18, bh = n * row + 4;
    double x = f->px1 - bw - 3, y = bottom ? f->py1 - bh - 3 : f->py0 + 3;
    cairo_save(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, x, y, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 0.4);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double cy = y + 2 + row * (i + 0.5);
        cairo_set_source_rgb(cr, e[i].colour.r, e[i].colour.g, e[i].colour.b);
        cairo_set_line_width(cr, 0.8);
        if (e[i].has_line) {
            cairo_move_to(cr, x + 2, cy);
            cairo_line_to(cr, x + 12, cy);
            cairo_stroke(cr);
        }
        if (e[i].has_marker)
            fig_marker_at(cr, x + 7, cy, e[i].marker, FIG_MARK);
        fig_text(f, x + 15, cy, e[i].label, 0, 0.5, 0);
    }
    cairo_restore(cr);
}

/* ------------------------------------------------------------------------------------------------ heatmap */

/* viridis at t in [0, 1] (11 anchors, linear in between): luminance rises with t, readable in grey. */
static fig_rgb fig_viridis(double t)
{
    static const double v[11][3] = {{0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530},
                                     {0.207, 0.372, 0.553}, {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551},
                                     {0.135, 0.659, 0.518}, {0.267, 0.749, 0.441}, {0.478, 0.821, 0.318},
                                     {0.741, 0.873, 0.150}, {0.993, 0.906, 0.144}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int i = (int)(t * 10);
    i = i > 9 ? 9 : i;
    double u = t * 10 - i;
    return (fig_rgb){v[i][0] + u * (v[i + 1][0] - v[i][0]), v[i][1] + u * (v[i + 1][1] - v[i][1]),
                     v[i][2] + u * (v[i + 1][2] - v[i][2])};
}

static void fig_colour_bar(pd_figure *f, double vmin, double vmax, const char *label)
{
    cairo_t *cr = f->cr;
    double x = f->px1 + 8, w = 7, y0 = f->py0, y1 = f->py1;
    cairo_pattern_t *p = cairo_pattern_create_linear(0, y1, 0, y0);
    for (int i = 0; i <= 10; i++) {
        fig_rgb c = fig_viridis(i / 10.0);
        cairo_pattern_add_color_stop_rgb(p, i / 10.0, c.r, c.g, c.b);
    }
    cairo_rectangle(cr, x, y0, w, y1 - y0);
    cairo_set_source(cr, p);
    cairo_fill(cr);
    cairo_pattern_destroy(p);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.5);
    cairo_rectangle(cr, x, y0, w, y1 - y0);
    cairo_stroke(cr);
    double t[16];
    char buf[64];
    int n = fig_ticks(vmin, vmax, 0, t, 16);
    for (int i = 0; i < n; i++) {
        double y = vmax > vmin ? y1 - (t[i] - vmin) / (vmax - vmin) * (y1 - y0) : (y0 + y1) / 2;
        cairo_move_to(cr, x + w, y);
        cairo_line_to(cr, x + w + 2, y);
        cairo_stroke(cr);
        fig_tick_label(t[i], n > 1 ? t[1] - t[0] : 0, 0, buf, sizeof buf);
        fig_text(f, x + w + 3, y, buf, 0, 0.5, 0);
    }
    if (label)
        fig_text(f, x + w + 33, (y0 + y1) / 2, label, 0.5, 1, -90);
}

void fig_heatmap(pd_figure *f, const float *v, int rows, int cols, double vmin, double vmax, const char *label)
{
    if (rows <= 0 || cols <= 0)
        return;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cols, rows);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    cairo_surface_flush(img);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double x = v[(size_t)i * (size_t)cols + (size_t)j];
            fig_rgb c = isfinite(x) ? fig_viridis(vmax > vmin ? (x - vmin) / (vmax - vmin) : 0.5)
                                    : (fig_rgb){0.8, 0.8, 0.8};
            uint32_t p = (uint32_t)lround(c.r * 255) << 16 | (uint32_t)lround(c.g * 255) << 8 |
                         (uint32_t)lround(c.b * 255);
            memcpy(px + (size_t)i * (size_t)stride + (size_t)j * 4, &p, 4);
        }
    cairo_surface_mark_dirty(img);
    cairo_t *cr = f->cr;
    cairo_save(cr);
    cairo_translate(cr, f->px0, f->py0);
    cairo_scale(cr, (f->px1 - f->px0) / cols, (f->py1 - f->py0) / rows);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, cols, rows);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    f->hm_rows = rows;
    f->hm_cols = cols;
    fig_colour_bar(f, vmin, vmax, label);
}

void fig_heatmap_cell(const pd_figure *f, int i, int j, double *x, double *y, double *w, double *h)
{
    double cw = (f->px1 - f->px0) / (f->hm_cols > 0 ? f->hm_cols : 1);
    double ch = (f->py1 - f->py0) / (f->hm_rows > 0 ? f->hm_rows : 1);
    *x = (f->px0 + j * cw) * f->scale;
    *y = (f->py0 + i * ch) * f->scale;
    *w = cw * f->scale;
    *h = ch * f->scale;
}

#endif
