/* test_widgets.c — the TUI's pure widgets without a terminal: plot scaling and braille cells, heatmap colour
 * mapping and aggregation, table layout and formatting. TAP output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "heatmap.h"
#include "kind.h"
#include "plot.h"
#include "table.h"

static void test_plot_range(void)
{
    double lo, hi;
    const double v[] = {3, -1, NAN, 7, INFINITY, 2};
    int n = ui_plot_range(v, 6, 0, &lo, &hi);
    tap_ok(n == 4 && lo == -1 && hi == 7, "range: min/max of finite values (n %d, %g..%g)", n, lo, hi);
    n = ui_plot_range(v, 6, 1, &lo, &hi);
    tap_ok(n == 3 && lo == 2 && hi == 7, "log range skips values <= 0 (n %d, %g..%g)", n, lo, hi);
    const double c[] = {5, 5, 5};
    ui_plot_range(c, 3, 0, &lo, &hi);
    tap_ok(lo < 5 && hi > 5 && fabs((lo + hi) / 2 - 5) < 1e-12, "constant series widened around it (%g..%g)", lo, hi);
    tap_ok(fabs(ui_plot_frac(5, lo, hi, 0) - 0.5) < 1e-12, "constant series sits in the middle");
    const double z[] = {0, 0};
    ui_plot_range(z, 2, 0, &lo, &hi);
    tap_ok(lo == -1 && hi == 1, "constant zero widened by 1 (%g..%g)", lo, hi);
    const double nn[] = {NAN, NAN};
    n = ui_plot_range(nn, 2, 0, &lo, &hi);
    tap_ok(n == 0 && lo == 0 && hi == 1, "all-NaN series: empty range 0..1");
    n = ui_plot_range(nn, 2, 1, &lo, &hi);
    tap_ok(n == 0 && lo == 1 && hi == 10, "all-NaN series in log scale: 1..10");

    tap_ok(ui_plot_frac(-1, -1, 7, 0) == 0 && ui_plot_frac(7, -1, 7, 0) == 1 && ui_plot_frac(3, -1, 7, 0) == 0.5,
           "linear fractions: min 0, max 1, middle 0.5");
    tap_ok(fabs(ui_plot_frac(10, 1, 100, 1) - 0.5) < 1e-12 && ui_plot_frac(1000, 1, 100, 1) == 1,
           "log fractions: 10 is halfway between 1 and 100, clamped above");
    tap_ok(isnan(ui_plot_frac(NAN, 0, 1, 0)) && isnan(ui_plot_frac(-1, 1, 10, 1)) && isnan(ui_plot_frac(1, 1, 1, 0)),
           "NaN, non-positive in log, empty range -> NaN");

    double t[16];
    n = ui_plot_ticks(0, 1, 0, t, 16);
    int nice = n >= 3;
    for (int i = 0; i < n; i++)
        nice &= t[i] >= 0 && t[i] <= 1 && fabs(t[i] * 4 - round(t[i] * 4)) < 1e-9;
    tap_ok(nice, "ticks of 0..1 are nice multiples inside the range (%d ticks)", n);
    n = ui_plot_ticks(0.003, 20, 1, t, 16);
    tap_ok(n == 4 && fabs(t[0] - 0.01) < 1e-12 && fabs(t[3] - 10) < 1e-9, "log ticks at powers of ten (%d)", n);
    n = ui_plot_ticks(2, 3, 1, t, 16);
    tap_ok(n >= 2 && t[0] >= 2 && t[n - 1] <= 3, "log range under a decade falls back to linear ticks (%d)", n);

    char buf[32];
    ui_plot_format(0.5, buf, sizeof buf);
    tap_ok(strcmp(buf, "0.5") == 0, "format 0.5 -> '%s'", buf);
    ui_plot_format(0.00012, buf, sizeof buf);
    tap_ok(strcmp(buf, "1.2e-04") == 0, "format 0.00012 -> '%s'", buf);
    ui_plot_format(25000, buf, sizeof buf);
    tap_ok(strcmp(buf, "25.0k") == 0, "format 25000 -> '%s'", buf);
}

static void test_braille(void)
{
    char s[4];
    ui_plot_braille(0, s);
    tap_ok(strcmp(s, "\u2800") == 0, "empty braille cell is U+2800");
    ui_plot_braille(0xff, s);
    tap_ok(strcmp(s, "\u28ff") == 0, "full braille cell is U+28FF");
    tap_ok(ui_plot_braille_bit(0, 0) == 0x01 && ui_plot_braille_bit(1, 0) == 0x08 &&
               ui_plot_braille_bit(0, 3) == 0x40 && ui_plot_braille_bit(1, 3) == 0x80 &&
               ui_plot_braille_bit(1, 2) == 0x20,
           "braille dot numbering (1,4 / 7,8)");

    ui_plot_canvas c;
    tap_ok(ui_plot_canvas_init(&c, 2, 1) == 0 && c.w == 2 && c.h == 1, "canvas 2x1");
    /* a rising line over pixels (0,3) -> (3,0): cell 0 holds (0,3),(1,2); cell 1 holds (2,1),(3,0) */
    const double y[] = {0, 1};
    ui_plot_canvas_series(&c, NULL, y, 2, 0, 1, 0, 1, 0, 3);
    char cell[8];
    ui_plot_canvas_cell(&c, 0, 0, 1, cell);
    tap_ok(strcmp(cell, "\u2860") == 0, "rising line, left cell: dots 7 and 6 -> U+2860 (got %02x %02x %02x)",
           (unsigned char)cell[0], (unsigned char)cell[1], (unsigned char)cell[2]);
    ui_plot_canvas_cell(&c, 1, 0, 1, cell);
    tap_ok(strcmp(cell, "\u280a") == 0, "rising line, right cell: dots 2 and 4 -> U+280A");
    tap_ok(ui_plot_canvas_cell_color(&c, 1, 0) == 3, "cell keeps the series colour");
    ui_plot_canvas_cell(&c, 0, 0, 0, cell);
    tap_ok(strcmp(cell, ".") == 0, "ASCII stand-in of the lower cell is '.' (got '%s')", cell);
    ui_plot_canvas_clear(&c);
    const double flat[] = {0.5, 0.5, 0.5};
    ui_plot_canvas_series(&c, NULL, flat, 3, 0, 2, 0, 1, 0, 1);
    ui_plot_canvas_cell(&c, 0, 0, 0, cell);
    tap_ok(strcmp(cell, "-") == 0, "flat line in the middle draws '-' in ASCII (got '%s')", cell);
    ui_plot_canvas_cell(&c, 1, 0, 1, cell);
    tap_ok(strcmp(cell, "\u2824") == 0 || strcmp(cell, "\u2812") == 0, "flat line in braille stays on one dot row");
    ui_plot_canvas_clear(&c);
    const double gaps[] = {NAN, 0.2, NAN};
    ui_plot_canvas_series(&c, NULL, gaps, 3, 0, 2, 0, 1, 0, 1);
    int dots = 0;
    for (int i = 0; i < 2; i++)
        dots += __builtin_popcount(c.bits[i]);
    tap_ok(dots == 1, "a lone finite point among NaNs draws one dot (%d)", dots);
    ui_plot_canvas_mark(&c, 1, 1, 'o', 2);
    ui_plot_canvas_cell(&c, 1, 0, 1, cell);
    tap_ok(strcmp(cell, "o") == 0, "scatter marker wins over dots");
    ui_plot_canvas_free(&c);
    ui_plot_canvas_free(&c); /* double free is safe */

    ui_plot_canvas big;
    ui_plot_canvas_init(&big, 10, 4);
    const double lg[] = {1, 10, 100};
    ui_plot_canvas_series(&big, NULL, lg, 3, 0, 2, 1, 100, 1, 1);
    /* in log scale the middle point (10) sits at the middle dot row: pixel row lround(0.5 * 15) = 8 */
    unsigned b = big.bits[2 * 10 + 5];
    tap_ok(b != 0, "log scale: 10 of 1..100 lands in the middle of the canvas");
    ui_plot_canvas_free(&big);
}

static void test_heatmap(void)
{
    tap_ok(ui_heatmap_index(0, 0, 1, 16) == 0, "0 -> first colour");
    tap_ok(ui_heatmap_index(1, 0, 1, 16) == 15, "1 -> last colour");
    tap_ok(ui_heatmap_index(-5, 0, 1, 16) == 0 && ui_heatmap_index(5, 0, 1, 16) == 15, "out of range clamps");
    int mono = 1, prev = -1;
    for (int i = 0; i <= 1000; i++) {
        int k = ui_heatmap_index(i / 1000.0, 0, 1, 6);
        mono &= k >= prev && k >= 0 && k < 6;
        prev = k;
    }
    tap_ok(mono && prev == 5, "monotone over [0, 1]");
    tap_ok(ui_heatmap_index(NAN, 0, 1, 16) == -1, "NaN -> -1 (no colour)");
    tap_ok(ui_heatmap_index(0.3, 0.3, 0.3, 5) == 2, "empty range -> middle colour");

    int ramp[UI_HEATMAP_MAX_RAMP];
    int n256 = ui_heatmap_ramp(256, ramp, UI_HEATMAP_MAX_RAMP);
    int distinct = 1;
    for (int i = 0; i < n256; i++)
        for (int j = 0; j < i; j++)
            distinct &= ramp[i] != ramp[j];
    tap_ok(n256 == 16 && distinct, "256-colour ramp: 16 distinct colours");
    int n8 = ui_heatmap_ramp(8, ramp, UI_HEATMAP_MAX_RAMP);
    int in8 = 1;
    for (int i = 0; i < n8; i++)
        in8 &= ramp[i] >= 0 && ramp[i] < 8;
    tap_ok(n8 >= 4 && in8, "8-colour ramp uses the 8 basic colours (%d steps)", n8);
    tap_ok(ui_heatmap_ramp(2, ramp, 16) == 0, "monochrome: no ramp");
    tap_ok(strcmp(ui_heatmap_shade(0, 10, 0), " ") == 0 && strcmp(ui_heatmap_shade(9, 10, 0), "@") == 0,
           "ASCII shades from ' ' to '@'");

    enum { R = 100, C = 200, OR = 20, OC = 40 };
    float *m = malloc(sizeof(float) * R * C);
    double *out = malloc(sizeof(double) * OR * OC);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            m[i * C + j] = (float)(i * 1000 + j);
    m[0] = NAN; /* skipped in its block */
    ui_heatmap_aggregate(m, R, C, OR, OC, out);
    int good = 1;
    double worst = 0;
    for (int bi = 0; bi < OR; bi++)
        for (int bj = 0; bj < OC; bj++) {
            /* block: rows 5bi..5bi+4, cols 5bj..5bj+4 */
            double sum = 0;
            int cnt = 0;
            for (int i = 5 * bi; i < 5 * bi + 5; i++)
                for (int j = 5 * bj; j < 5 * bj + 5; j++)
                    if (!(i == 0 && j == 0)) {
                        sum += i * 1000 + j;
                        cnt++;
                    }
            double d = fabs(out[bi * OC + bj] - sum / cnt);
            if (d > worst)
                worst = d;
            good &= d < 1e-6;
        }
    tap_ok(good, "100x200 aggregated to 20x40: block means (max diff %g)", worst);
    tap_ok(fabs(out[OC + 1] - (7000 + 7)) < 1e-6, "block (1,1) mean is the value at its centre");
    int f, l;
    ui_heatmap_block(3, 100, 20, &f, &l);
    tap_ok(f == 15 && l == 19, "block 3 of 100 rows in 20 covers rows 15..19");
    ui_heatmap_block(2, 7, 3, &f, &l);
    tap_ok(f == 4 && l == 6, "uneven blocks: block 2 of 7 rows in 3 covers 4..6");
    for (int i = 0; i < 25; i++)
        m[i] = NAN;
    ui_heatmap_aggregate(m, 5, 5, 1, 1, out);
    tap_ok(isnan(out[0]), "an all-NaN block aggregates to NaN");
    double lo, hi;
    float r[] = {NAN, 0.25f, 0.75f, INFINITY};
    tap_ok(ui_heatmap_range(r, 4, &lo, &hi) == 2 && lo == 0.25 && hi == 0.75, "heatmap range over finite values");
    free(m);
    free(out);
}

static void test_table(void)
{
    const ui_table_col cols[] = {{"name", 6, 20, 0}, {"acc", 6, 6, 1}, {"loss", 8, 8, 1}, {"kind", 8, 12, 0}};
    int w[4];
    int shown = ui_table_layout(cols, 4, 80, w);
    tap_ok(shown == 4 && w[0] == 20 && w[1] == 6 && w[2] == 8 && w[3] == 12, "wide: every column at its maximum");
    shown = ui_table_layout(cols, 4, 31, w);
    tap_ok(shown == 4 && w[0] + w[1] + w[2] + w[3] + 3 == 31, "31 columns: all shown, exact fit (%d %d %d %d)", w[0],
           w[1], w[2], w[3]);
    shown = ui_table_layout(cols, 4, 25, w);
    tap_ok(shown == 3 && w[3] == 0 && w[0] + w[1] + w[2] + 2 <= 25, "25 columns: last column dropped");
    shown = ui_table_layout(cols, 4, 4, w);
    tap_ok(shown == 1 && w[0] == 4, "4 columns: only the first, shrunk to 4");

    char out[64];
    ui_table_fit("resnet18", 5, 0, 0, out, sizeof out);
    tap_ok(strcmp(out, "resn~") == 0, "truncation with '~' in ASCII: '%s'", out);
    ui_table_fit("resnet18", 5, 0, 1, out, sizeof out);
    tap_ok(strcmp(out, "resn\u2026") == 0 && ui_table_text_width(out) == 5, "truncation with '…' in UTF-8");
    ui_table_fit("39.40", 7, 1, 0, out, sizeof out);
    tap_ok(strcmp(out, "  39.40") == 0, "right alignment pads on the left");
    ui_table_fit("ab", 4, 0, 0, out, sizeof out);
    tap_ok(strcmp(out, "ab  ") == 0, "left alignment pads on the right");
    ui_table_elide("/home/me/data", 20, UI_ELIDE_START, 1, out, sizeof out);
    tap_ok(strcmp(out, "/home/me/data") == 0, "elide: a text that fits is unchanged, not padded");
    ui_table_elide("/home/me/long/data", 10, UI_ELIDE_START, 1, out, sizeof out);
    tap_ok(strcmp(out, "\u2026long/data") == 0 && ui_table_text_width(out) == 10, "elide at the start: '%s'", out);
    ui_table_elide("/home/me/long/data", 10, UI_ELIDE_START, 0, out, sizeof out);
    tap_ok(strcmp(out, "...ng/data") == 0, "elide at the start in ASCII: '%s'", out);
    ui_table_elide("idx:/home/me/long/data", 11, UI_ELIDE_MIDDLE, 1, out, sizeof out);
    tap_ok(strcmp(out, "idx:/\u2026/data") == 0 && ui_table_text_width(out) == 11, "elide in the middle: '%s'", out);
    ui_table_elide("\u00b7\u00b7\u00b7\u00b7\u00b7\u00b7", 4, UI_ELIDE_END, 1, out, sizeof out);
    tap_ok(strcmp(out, "\u00b7\u00b7\u00b7\u2026") == 0, "elide at the end counts code points: '%s'", out);
    ui_table_elide("abcdef", 2, UI_ELIDE_START, 0, out, sizeof out);
    tap_ok(strcmp(out, "ab") == 0, "elide without room for the ellipsis cuts: '%s'", out);
    ui_table_fit("x", 0, 0, 0, out, sizeof out);
    tap_ok(out[0] == '\0', "zero width gives an empty cell");
    ui_table_fit("\u00e9t\u00e9s", 3, 0, 0, out, sizeof out);
    tap_ok(ui_table_text_width(out) == 3, "UTF-8 text truncated by code points");

    const char *cells[] = {"original", "39.40", "2.2057", "pdiff"};
    char row[128];
    shown = ui_table_layout(cols, 4, 25, w);
    ui_table_row(cells, cols, w, shown, 0, row, sizeof row);
    tap_ok(ui_table_text_width(row) <= 25 && strstr(row, "39.40") != NULL, "a row fits the width: '%s'", row);

    ui_table_fmt_pct(0.394, out, sizeof out);
    tap_ok(strcmp(out, "39.40") == 0, "percentage 0.394 -> %s", out);
    ui_table_fmt_pct(NAN, out, sizeof out);
    tap_ok(strcmp(out, "-") == 0, "percentage of NaN -> -");
    ui_table_fmt_count(1234567, out, sizeof out);
    tap_ok(strcmp(out, "1,234,567") == 0, "count 1234567 -> %s", out);
    ui_table_fmt_count(256, out, sizeof out);
    tap_ok(strcmp(out, "256") == 0, "count 256 -> %s", out);
    ui_table_fmt_duration(3723, out, sizeof out);
    tap_ok(strcmp(out, "1:02:03") == 0, "duration 3723 s -> %s", out);
    ui_table_fmt_duration(7.4, out, sizeof out);
    tap_ok(strcmp(out, "0:07") == 0, "duration 7.4 s -> %s", out);
}

/* issue 15: 4-5 axis ticks that end on the top value; one symbol and colour per kind */
static void test_axis_and_kinds(void)
{
    double t[8];
    int n = ui_plot_axis_ticks(0.3, 0.62, 0, t, 5);
    tap_ok(n == 4 && fabs(t[0] - 0.3) < 1e-9 && fabs(t[n - 1] - 0.62) < 1e-12,
           "axis ticks of 0.3..0.62: 0.3 .. 0.62, 4 of them (%d, last %g)", n, n ? t[n - 1] : NAN);
    n = ui_plot_axis_ticks(-10, 12, 0, t, 5);
    tap_ok(n == 5 && t[0] == -10 && t[4] == 12, "axis ticks of -10..12: five, ending at 12 (%d)", n);
    n = ui_plot_axis_ticks(93, 94.2, 0, t, 5);
    tap_ok(n >= 4 && n <= 5 && t[n - 1] == 94.2, "axis ticks of 93..94.2: %d, the top value last", n);
    n = ui_plot_axis_ticks(0, 1, 0, t, 5);
    tap_ok(n >= 3 && n <= 5 && t[n - 1] == 1, "axis ticks of 0..1 end at 1 (%d)", n);
    static const char *const kinds[] = {"original", "pdiff", "pdiff_latent", "finetune", "ae_recon", "averaged",
                                        "ensemble", "noise:0.01"};
    int distinct = 1;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < i; j++)
            distinct &= ui_kind_of(kinds[i]).symbol != ui_kind_of(kinds[j]).symbol;
    tap_ok(distinct, "every kind has its own symbol");
    ui_kind_style o = ui_kind_of("original"), f = ui_kind_of("finetune"), av = ui_kind_of("averaged");
    tap_ok(o.color != f.color && o.color != av.color && f.color != av.color,
           "original, fine-tuned and averaged have distinct colours");
    tap_ok(ui_kind_of("noise:0.1").symbol == ui_kind_of("noise:0.01").symbol && ui_kind_of("pdiff").symbol == '*',
           "noise kinds share the noise symbol; p-diff is *");
    char label[64];
    ui_kind_label("noise:0.01", 0, label, sizeof label);
    tap_ok(strcmp(label, "noise s=0.01") == 0, "noise label in ASCII: '%s'", label);
}

int main(void)
{
    test_axis_and_kinds();
    test_plot_range();
    test_braille();
    test_heatmap();
    test_table();
    return tap_done();
}
