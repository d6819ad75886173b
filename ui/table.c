/* table.c — column layout and cell formatting for text tables (see table.h). */
#include "table.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int ui_table_layout(const ui_table_col *cols, int n, int width, int *widths)
{
    if (n < 1)
        return 0;
    if (width < 1)
        width = 1;
    int shown = n, total;
    for (;;) {
        total = shown - 1;
        for (int i = 0; i < shown; i++)
            total += cols[i].min_w;
        if (total <= width || shown == 1)
            break;
        shown--;
    }
    for (int i = 0; i < n; i++)
        widths[i] = i < shown ? cols[i].min_w : 0;
    if (total > width) { /* one column, too wide: shrink it */
        widths[0] = width;
        return 1;
    }
    /* share the rest out one column at a time, round robin, up to each maximum */
    int left = width - total;
    while (left > 0) {
        int grew = 0;
        for (int i = 0; i < shown && left > 0; i++)
            if (widths[i] < cols[i].max_w) {
                widths[i]++;
                left--;
                grew = 1;
            }
        if (!grew)
            break;
    }
    return shown;
}

int ui_table_text_width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            w++;
    return w;
}

/* Byte length of the first `cols` code points of s. */
static size_t ui_table_prefix_bytes(const char *s, int cols)
{
    const unsigned char *p = (const unsigned char *)s;
    int w = 0;
    size_t i = 0;
    while (p[i]) {
        if ((p[i] & 0xc0) != 0x80) {
            if (w == cols)
                break;
            w++;
        }
        i++;
    }
    return i;
}

void ui_table_elide(const char *text, int w, int where, int utf8, char *out, size_t size)
{
    if (!size)
        return;
    const char *dots = utf8 ? "\u2026" : "...";
    int tw = ui_table_text_width(text), dw = utf8 ? 1 : 3;
    if (tw <= w || w <= dw) { /* fits, or no room for an ellipsis: cut at the end */
        snprintf(out, size, "%.*s", (int)ui_table_prefix_bytes(text, w > 0 ? w : 0), text);
        return;
    }
    int keep = w - dw; /* columns of text kept, split between the head and the tail */
    int head = where == UI_ELIDE_END ? keep : where == UI_ELIDE_MIDDLE ? (keep + 1) / 2 : 0;
    int tail = keep - head;
    const char *t = text + ui_table_prefix_bytes(text, tw - tail);
    snprintf(out, size, "%.*s%s%s", (int)ui_table_prefix_bytes(text, head), text, dots, t);
}

void ui_table_fit(const char *text, int w, int right, int utf8, char *out, size_t size)
{
    if (!size)
        return;
    out[0] = '\0';
    if (w <= 0)
        return;
    if (!text)
        text = "";
    int tw = ui_table_text_width(text);
    size_t o = 0;
#define UI_TABLE_PUT(str, len)                                                                                         \
    do {                                                                                                               \
        size_t l_ = (len);                                                                                             \
        if (o + l_ >= size)                                                                                            \
            l_ = size - 1 - o;                                                                                         \
        memcpy(out + o, (str), l_);                                                                                    \
        o += l_;                                                                                                       \
    } while (0)
    if (tw > w) {
        UI_TABLE_PUT(text, ui_table_prefix_bytes(text, w - 1));
        if (utf8)
            UI_TABLE_PUT("\u2026", 3);
        else
            UI_TABLE_PUT("~", 1);
    } else {
        int pad = w - tw;
        if (right)
            for (int i = 0; i < pad; i++)
                UI_TABLE_PUT(" ", 1);
        UI_TABLE_PUT(text, strlen(text));
        if (!right)
            for (int i = 0; i < pad; i++)
                UI_TABLE_PUT(" ", 1);
    }
#undef UI_TABLE_PUT
    out[o] = '\0';
}

void ui_table_row(const char *const *cells, const ui_table_col *cols, const int *widths, int shown, int utf8, char *out,
                  size_t size)
{
    size_t o = 0;
    if (!size)
        return;
    out[0] = '\0';
    for (int i = 0; i < shown; i++) {
        char cell[1024];
        ui_table_fit(cells[i], widths[i], cols[i].right, utf8, cell, sizeof cell);
        int k = snprintf(out + o, size - o, "%s%s", i ? " " : "", cell);
        if (k < 0 || (size_t)k >= size - o)
            break;
        o += (size_t)k;
    }
}

void ui_table_fmt_pct(double fraction, char *buf, size_t size)
{
    if (isfinite(fraction))
        snprintf(buf, size, "%.2f", 100.0 * fraction);
    else
        snprintf(buf, size, "-");
}

void ui_table_fmt_count(int64_t n, char *buf, size_t size)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(n < 0 ? -n : n));
    char tmp[48];
    size_t len = strlen(digits), o = 0;
    if (n < 0)
        tmp[o++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    snprintf(buf, size, "%s", tmp);
}

void ui_table_fmt_duration(double seconds, char *buf, size_t size)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, size, "-");
        return;
    }
    long long s = (long long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%lld:%02lld", s / 60, s % 60);
}
