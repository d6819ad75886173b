/* plot.c — line and scatter plots as character cells (see plot.h). */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ui_plot_usable(double v, int log)
{
    return isfinite(v) && (!log || v > 0);
}

int ui_plot_range(const double *v, int n, int log, double *lo, double *hi)
{
    int count = 0;
    double a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        if (!ui_plot_usable(v[i], log))
            continue;
        if (count == 0 || v[i] < a)
            a = v[i];
        if (count == 0 || v[i] > b)
            b = v[i];
        count++;
    }
    if (count == 0) {
        *lo = log ? 1 : 0;
        *hi = log ? 10 : 1;
        return 0;
    }
    if (!(b > a)) {
        if (log) {
            a /= 2;
            b *= 2;
        } else {
            double pad = a != 0 ? 0.1 * fabs(a) : 1.0;
            a -= pad;
            b += pad;
        }
    }
    *lo = a;
    *hi = b;
    return count;
}

double ui_plot_frac(double v, double lo, double hi, int log)
{
    if (!ui_plot_usable(v, log) || !isfinite(lo) || !isfinite(hi) || !(hi > lo) || (log && !(lo > 0)))
        return NAN;
    double f = log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo);
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

int ui_plot_ticks(double lo, double hi, int log, double *ticks, int max)
{
    int n = 0;
    if (max < 1 || !isfinite(lo) || !isfinite(hi) || hi < lo)
        return 0;
    if (log && lo > 0) {
        for (double e = ceil(log10(lo) - 1e-9); e <= floor(log10(hi) + 1e-9) && n < max; e++)
            ticks[n++] = pow(10.0, e);
        if (n >= 2 || max < 2)
            return n;
        /* fewer than two decades: fall through to linear ticks */
        n = 0;
    }
    double span = hi - lo;
    if (!(span > 0)) {
        ticks[0] = lo;
        return 1;
    }
    int want = max < 5 ? max : 5;
    double raw = span / (want > 1 ? want - 1 : 1);
    double mag = pow(10.0, floor(log10(raw)));
    double step = mag;
    static const double mult[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++) {
        step = mult[i] * mag;
        if (span / step <= want - 1 + 1e-9)
            break;
    }
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step && n < max; t += step)
        ticks[n++] = fabs(t) < 1e-12 * step ? 0.0 : t;
    if (n == 0) {
        ticks[n++] = lo;
        if (max > 1)
            ticks[n++] = hi;
    }
    return n;
}

/* Linear nice ticks: the largest 1-2-5 step that gives 4 ticks or more inside [lo, hi] without passing max, else the
 * largest that gives 3. */
static int ui_plot_linear_ticks(double lo, double hi, double *ticks, int max)
{
    double span = hi - lo, step = 0, step3 = 0;
    for (double mag = pow(10.0, ceil(log10(span))); mag > span * 1e-6 && !(step > 0); mag /= 10) {
        static const double mult[] = {5, 2, 1};
        for (int i = 0; i < 3 && !(step > 0); i++) {
            double s = mult[i] * mag, count = floor(hi / s + 1e-9) - ceil(lo / s - 1e-9) + 1;
            if (count >= 3 && !(step3 > 0))
                step3 = s;
            if (count >= 4)
                step = count <= max ? s : step3;
        }
    }
    if (!(step > 0))
        step = step3;
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; step > 0 && t <= hi + 1e-9 * step && n < max; t += step)
        ticks[n++] = fabs(t) < 1e-12 * step ? 0.0 : t;
    return n;
}

int ui_plot_axis_ticks(double lo, double hi, int log, double *ticks, int max)
{
    if (max < 3 || !isfinite(lo) || !isfinite(hi) || !(hi > lo))
        return ui_plot_ticks(lo, hi, log, ticks, max);
    int n = log ? ui_plot_ticks(lo, hi, log, ticks, max) : ui_plot_linear_ticks(lo, hi, ticks, max);
    if (n < 1)
        return ui_plot_ticks(lo, hi, log, ticks, max);
    double last = ticks[n - 1];
    if (fabs(last - hi) <= 1e-9 * fabs(hi))
        return n;
    /* the top value: in place of the last nice tick when that one is within a quarter step of it */
    double step = n > 1 ? (log ? log10(ticks[n - 1] / ticks[n - 2]) : ticks[n - 1] - ticks[n - 2]) : 1;
    double gap = log ? log10(hi / last) : hi - last;
    if (gap < 0.25 * step || n >= max)
        ticks[n - 1] = hi;
    else
        ticks[n++] = hi;
    return n;
}

void ui_plot_format(double v, char *buf, size_t size)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, size, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (a == 0)
        snprintf(buf, size, "0");
    else if (a >= 1e6 || a < 1e-3)
        snprintf(buf, size, "%.1e", v);
    else if (a >= 1e4)
        snprintf(buf, size, "%.1fk", v / 1000);
    else if (a >= 100)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

unsigned ui_plot_braille_bit(int dx, int dy)
{
    static const unsigned bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (dx < 0 || dx > 1 || dy < 0 || dy > 3)
        return 0;
    return bit[dy][dx];
}

void ui_plot_braille(unsigned bits, char out[4])
{
    unsigned cp = 0x2800u + (bits & 0xffu);
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    out[3] = '\0';
}

char ui_plot_ascii(unsigned bits)
{
    if (!(bits & 0xff))
        return ' ';
    /* which of the four dot rows are used */
    int rows = 0;
    for (int dy = 0; dy < 4; dy++)
        if (bits & (ui_plot_braille_bit(0, dy) | ui_plot_braille_bit(1, dy)))
            rows |= 1 << dy;
    int first = 0, last = 3;
    while (!(rows & (1 << first)))
        first++;
    while (!(rows & (1 << last)))
        last--;
    if (last - first >= 2)
        return '|';
    static const char by_centre[7] = {'\'', '\'', '-', '-', '-', '.', '_'}; /* first + last: 0 top .. 6 bottom */
    return by_centre[first + last];
}

int ui_plot_canvas_init(ui_plot_canvas *c, int w, int h)
{
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1)
        return 0;
    size_t n = (size_t)w * (size_t)h;
    c->bits = calloc(n, 1);
    c->color = calloc(n, 1);
    c->mark = calloc(n, 1);
    if (!c->bits || !c->color || !c->mark) {
        ui_plot_canvas_free(c);
        return -1;
    }
    c->w = w;
    c->h = h;
    return 0;
}

void ui_plot_canvas_free(ui_plot_canvas *c)
{
    if (!c)
        return;
    free(c->bits);
    free(c->color);
    free(c->mark);
    memset(c, 0, sizeof *c);
}

void ui_plot_canvas_clear(ui_plot_canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    if (n) {
        memset(c->bits, 0, n);
        memset(c->color, 0, n);
        memset(c->mark, 0, n);
    }
}

void ui_plot_canvas_dot(ui_plot_canvas *c, int px, int py, int color)
{
    if (px < 0 || py < 0 || px >= 2 * c->w || py >= 4 * c->h)
        return;
    size_t i = (size_t)(py / 4) * (size_t)c->w + (size_t)(px / 2);
    c->bits[i] |= (uint8_t)ui_plot_braille_bit(px % 2, py % 4);
    c->color[i] = (uint8_t)color;
}

void ui_plot_canvas_line(ui_plot_canvas *c, int x0, int y0, int x1, int y1, int color)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (int guard = 0; guard < 100000; guard++) {
        ui_plot_canvas_dot(c, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

void ui_plot_canvas_series(ui_plot_canvas *c, const double *x, const double *y, int n, double xlo, double xhi,
                           double ylo, double yhi, int ylog, int color)
{
    if (c->w < 1 || c->h < 1)
        return;
    int pw = 2 * c->w, ph = 4 * c->h;
    int have = 0, lx = 0, ly = 0;
    for (int i = 0; i < n; i++) {
        double fy = ui_plot_frac(y[i], ylo, yhi, ylog);
        double xv = x ? x[i] : (double)i;
        double fx = xhi > xlo ? (xv - xlo) / (xhi - xlo) : 0.5;
        if (isnan(fy) || !isfinite(fx))
            continue;
        fx = fx < 0 ? 0 : fx > 1 ? 1 : fx;
        int px = (int)lround(fx * (pw - 1)), py = (int)lround((1 - fy) * (ph - 1));
        if (have)
            ui_plot_canvas_line(c, lx, ly, px, py, color);
        else
            ui_plot_canvas_dot(c, px, py, color);
        have = 1;
        lx = px;
        ly = py;
    }
}

void ui_plot_canvas_mark(ui_plot_canvas *c, double fx, double fy, char mark, int color)
{
    if (!isfinite(fx) || !isfinite(fy) || c->w < 1 || c->h < 1)
        return;
    fx = fx < 0 ? 0 : fx > 1 ? 1 : fx;
    fy = fy < 0 ? 0 : fy > 1 ? 1 : fy;
    int col = (int)lround(fx * (c->w - 1)), row = (int)lround((1 - fy) * (c->h - 1));
    size_t i = (size_t)row * (size_t)c->w + (size_t)col;
    c->mark[i] = mark;
    c->color[i] = (uint8_t)color;
}

void ui_plot_canvas_cell(const ui_plot_canvas *c, int col, int row, int utf8, char out[8])
{
    out[0] = ' ';
    out[1] = '\0';
    if (col < 0 || row < 0 || col >= c->w || row >= c->h)
        return;
    size_t i = (size_t)row * (size_t)c->w + (size_t)col;
    if (c->mark[i]) {
        out[0] = c->mark[i];
        return;
    }
    if (!c->bits[i])
        return;
    if (utf8)
        ui_plot_braille(c->bits[i], out);
    else
        out[0] = ui_plot_ascii(c->bits[i]);
}

int ui_plot_canvas_cell_color(const ui_plot_canvas *c, int col, int row)
{
    if (col < 0 || row < 0 || col >= c->w || row >= c->h)
        return 0;
    return c->color[(size_t)row * (size_t)c->w + (size_t)col];
}
