/* heatmap.c — colour mapping and aggregation for matrix heatmaps (see heatmap.h). */
#include "heatmap.h"

#include <math.h>

int ui_heatmap_index(double v, double lo, double hi, int n)
{
    if (n < 1 || isnan(v))
        return -1;
    if (!(hi > lo))
        return isfinite(v) || isinf(v) ? (n - 1) / 2 : -1;
    double f = (v - lo) / (hi - lo);
    if (!(f > 0))
        return 0;
    if (f >= 1)
        return n - 1;
    int i = (int)(f * n);
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

int64_t ui_heatmap_range(const float *m, int64_t n, double *lo, double *hi)
{
    int64_t count = 0;
    double a = 0, b = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = m[i];
        if (!isfinite(v))
            continue;
        if (count == 0 || v < a)
            a = v;
        if (count == 0 || v > b)
            b = v;
        count++;
    }
    if (count == 0) {
        a = 0;
        b = 1;
    }
    *lo = a;
    *hi = b;
    return count;
}

void ui_heatmap_block(int i, int rows, int out_rows, int *first, int *last)
{
    if (out_rows < 1)
        out_rows = 1;
    if (out_rows > rows)
        out_rows = rows;
    *first = (int)((int64_t)i * rows / out_rows);
    *last = (int)((int64_t)(i + 1) * rows / out_rows) - 1;
    if (*last < *first)
        *last = *first;
}

void ui_heatmap_aggregate(const float *m, int rows, int cols, int out_rows, int out_cols, double *out)
{
    if (out_rows > rows)
        out_rows = rows;
    if (out_cols > cols)
        out_cols = cols;
    for (int i = 0; i < out_rows; i++) {
        int r0, r1;
        ui_heatmap_block(i, rows, out_rows, &r0, &r1);
        for (int j = 0; j < out_cols; j++) {
            int c0, c1;
            ui_heatmap_block(j, cols, out_cols, &c0, &c1);
            double sum = 0;
            int64_t cnt = 0;
            for (int r = r0; r <= r1; r++)
                for (int c = c0; c <= c1; c++) {
                    double v = m[(int64_t)r * cols + c];
                    if (isfinite(v)) {
                        sum += v;
                        cnt++;
                    }
                }
            out[(int64_t)i * out_cols + j] = cnt ? sum / (double)cnt : NAN;
        }
    }
}

int ui_heatmap_ramp(int colors, int *out, int max)
{
    /* 256 colours: a path through the 6x6x6 cube, dark blue → cyan → green → yellow → red, all distinct */
    static const int ramp256[16] = {17, 19, 21, 27, 33, 39, 45, 51, 49, 48, 118, 154, 190, 226, 214, 196};
    /* 8 colours: blue, cyan, green, yellow, red, white stay distinct on every palette */
    static const int ramp8[6] = {4, 6, 2, 3, 1, 7};
    const int *src = colors >= 256 ? ramp256 : colors >= 8 ? ramp8 : 0;
    int n = colors >= 256 ? 16 : colors >= 8 ? 6 : 0;
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++)
        out[i] = src[i];
    return n;
}

const char *ui_heatmap_shade(int i, int n, int utf8)
{
    static const char *const ascii[] = {" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"};
    static const char *const blocks[] = {" ", "\u2591", "\u2592", "\u2593", "\u2588"};
    const char *const *set = utf8 ? blocks : ascii;
    int k = utf8 ? 5 : 10;
    if (i < 0 || n < 1)
        return " ";
    int s = n == 1 ? k - 1 : (int)((int64_t)i * (k - 1) / (n - 1));
    return set[s < 0 ? 0 : s >= k ? k - 1 : s];
}
