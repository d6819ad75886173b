/* results_view.c — filter, stage times, per-kind memorization table, column legend and detail view of the Results
 * screen (see results_view.h). The numbers come from the session's summary.csv and state/models.bin through
 * results.h, the same metrics `pdiff report` prints, never recomputed here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_view.h"

#include "kind.h"
#include "table.h"
#include "term.h"

/* ---------------------------------------------------------------------------------------------- the filter */

static double ui_results_field(const pd_zoo *z, int32_t i, const char *f, size_t n)
{
    static const struct {
        const char *name;
        int which;
    } names[] = {{"id", 0},  {"acc", 1},     {"accuracy", 1}, {"loss", 2},       {"iou", 3},
                 {"maxiou", 3}, {"max_iou", 3}, {"l2", 4},     {"nearest_l2", 4}, {"nearest", 5}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k].name) == n && strncmp(names[k].name, f, n) == 0)
            switch (names[k].which) {
            case 0:
                return i;
            case 1:
                return 100.0 * z->accuracy[i];
            case 2:
                return z->loss[i];
            case 3:
                return z->max_iou[i];
            case 4:
                return z->nearest_l2[i];
            default:
                return z->nearest_id[i] >= 0 ? z->nearest_id[i] : NAN;
            }
    return INFINITY; /* not a field */
}

/* One term; -1 when it is not a condition (then it is a kind word). */
static int ui_results_term(const pd_zoo *z, int32_t i, const char *t, size_t len)
{
    char buf[64];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, t, len);
    buf[len] = '\0';
    char *end;
    if (buf[0] == '#' || (buf[0] >= '0' && buf[0] <= '9')) {
        long v = strtol(buf + (buf[0] == '#'), &end, 10);
        return *end ? -1 : v == i;
    }
    size_t f = strcspn(buf, "<>=!");
    if (f == 0 || f == len)
        return -1;
    double have = ui_results_field(z, i, buf, f);
    if (isinf(have))
        return -1;
    const char *op = buf + f;
    size_t ol = strspn(op, "<>=!");
    double want = strtod(op + ol, &end);
    if (*end || end == op + ol)
        return -1;
    if (isnan(have))
        return 0;
    if (ol == 1)
        return op[0] == '<' ? have < want : op[0] == '>' ? have > want : op[0] == '=' ? have == want : -1;
    if (ol == 2 && op[1] == '=')
        return op[0] == '<' ? have <= want : op[0] == '>' ? have >= want : op[0] == '!' ? have != want : -1;
    return -1;
}

int ui_results_filter_match(const pd_zoo *z, int32_t i, const char *text)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        int m = ui_results_term(z, i, p, len);
        if (m < 0) { /* a kind word */
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), p);
            m = strstr(z->kind[i], word) != NULL;
        }
        if (!m)
            return 0;
        p += len;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------- times, kinds */

int ui_results_draw_times(ui_app *a, int y, int x, int w)
{
    static const char *const stages[] = {"train", "collect", "ae", "ddpm", "generate", "analyze", "total"};
    char item[7][48];
    int ni = 0;
    double total = 0;
    for (int i = 0; i < 7; i++) {
        char key[32];
        snprintf(key, sizeof key, "seconds_%s", stages[i]);
        double v = i < 6 ? results_summary(a->res, key) : total;
        if (!isfinite(v) || (i == 6 && ni == 0))
            continue;
        total += i < 6 ? v : 0;
        snprintf(item[ni++], sizeof item[0], "%s %.1f", stages[i], v);
    }
    if (!ni)
        return 0;
    /* "wall time (s): train 2.5 · collect 5.2 ...", wrapped onto a second line when narrow */
    const char *sep = ui_term_glyph(a, " \u00b7 ", ", ");
    int rows = 1, col = 0;
    ui_term_set(a, UI_C_DIM);
    ui_term_text(y, x, w, "wall time (s):");
    col = 15;
    for (int i = 0; i < ni; i++) {
        int tw = ui_table_text_width(item[i]), sw = i ? ui_table_text_width(sep) : 0;
        if (i && col + sw + tw > w && rows < 2) {
            rows++;
            col = 15;
            sw = 0;
        }
        if (sw)
            ui_term_text(y + rows - 1, x + col, w - col, sep);
        col += sw;
        ui_term_text(y + rows - 1, x + col, w - col, item[i]);
        col += tw;
    }
    attrset(A_NORMAL);
    return rows;
}

/* Distinct kinds of the zoo in order of appearance (at most max); 0 when the analysis filled no max_iou in. */
static int ui_results_kinds(const ui_app *a, const char **kinds, int max)
{
    const pd_results *r = a->res;
    int n = 0, analysed = 0;
    for (int32_t i = 0; r && r->have_models && i < r->zoo.n; i++) {
        analysed |= isfinite(r->zoo.max_iou[i]);
        int k = 0;
        while (k < n && strcmp(kinds[k], r->zoo.kind[i]) != 0)
            k++;
        if (k == n && n < max)
            kinds[n++] = r->zoo.kind[i];
    }
    return analysed ? n : 0;
}

int ui_results_kinds_rows(const ui_app *a)
{
    const char *kinds[32];
    int n = ui_results_kinds(a, kinds, 32);
    return n ? n + 1 : 0;
}

static void ui_results_kind_row(ui_app *a, const char *kind, char *line, size_t size)
{
    char pre[64], key[96], v[7][24];
    snprintf(pre, sizeof pre, "%.40s", kind);
    for (char *c = pre; *c; c++)
        if (*c == ':')
            *c = '_';
    static const char *const sfx[7] = {"best", "mean", "median", "max_iou_mean", "max_iou_min", "max_iou_max",
                                       "nearest_l2_median"};
    for (int j = 0; j < 7; j++) {
        snprintf(key, sizeof key, "%s_%s", pre, sfx[j]);
        double x = results_summary(a->res, j < 3 && strcmp(pre, "ensemble") == 0 ? "ensemble" : key);
        if (j < 3)
            ui_table_fmt_pct(x, v[j], sizeof v[j]);
        else if (isfinite(x))
            snprintf(v[j], sizeof v[j], "%.3f", x);
        else
            snprintf(v[j], sizeof v[j], "-");
    }
    char label[64], cell[80];
    ui_kind_label(kind, a->utf8, label, sizeof label);
    snprintf(cell, sizeof cell, "%c %.60s", ui_kind_of(kind).symbol, label);
    char fit[96];
    ui_table_fit(cell, 14, 0, a->utf8, fit, sizeof fit);
    snprintf(line, size, "   %s %7.12s %7.12s %7.12s %8.12s %8.12s %8.12s %8.12s", fit, v[0], v[1], v[2], v[3], v[4], v[5],
             v[6]);
}

void ui_results_draw_kinds(ui_app *a, int y, int x, int w, int h)
{
    const char *kinds[32];
    int n = ui_results_kinds(a, kinds, 32);
    if (!n || h < 2)
        return;
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y, x, w, "   %-14s %7s %7s %7s %8s %8s %8s %8s", "per kind", "best%", "mean%", "median%", "IoU mean",
                  "IoU min", "IoU max", "L2 med");
    attrset(A_NORMAL);
    char line[256];
    for (int k = 0; k < n && k + 1 < h; k++) {
        ui_results_kind_row(a, kinds[k], line, sizeof line);
        attrset(strcmp(kinds[k], "pdiff") == 0 ? A_BOLD : A_NORMAL);
        ui_term_text(y + 1 + k, x, w, line);
    }
    attrset(A_NORMAL);
}

/* ---------------------------------------------------------------------------------------------- legend, detail */

static const char *const ui_results_legend[][2] = {
    {"id", "the model's number in this session (originals first)"},
    {"kind", "how it was made (o original, * p-diff, r AE recon, f fine-tuned, = averaged, ~ noise, E ensemble)"},
    {"accuracy", "test accuracy, %"},
    {"loss", "test cross-entropy loss"},
    {"max IoU", "highest IoU of its wrong predictions with any original's (1: the same mistakes)"},
    {"nearest", "id of the original closest in parameter space"},
    {"nearest L2", "L2 distance of its parameters to that original"},
};
enum { UI_RESULTS_NLEGEND = (int)(sizeof ui_results_legend / sizeof ui_results_legend[0]) };

/* Lays the legend items out in rows of width w; draws them when draw != 0; returns the rows used. */
static int ui_results_legend_layout(ui_app *a, int y, int x, int w, int h, int draw)
{
    int row = 0, col = 0;
    for (int i = 0; i < UI_RESULTS_NLEGEND; i++) {
        char item[160];
        snprintf(item, sizeof item, "%s: %s", ui_results_legend[i][0], ui_results_legend[i][1]);
        int iw = ui_table_text_width(item);
        if (col > 0 && col + 3 + iw > w) {
            row++;
            col = 0;
        }
        if (draw && row < h) {
            ui_term_set(a, UI_C_DIM);
            ui_term_text(y + row, x + col + (col ? 3 : 0), w - col - (col ? 3 : 0), item);
        }
        col += (col ? 3 : 0) + iw;
    }
    attrset(A_NORMAL);
    return row + 1;
}

int ui_results_legend_rows(const ui_app *a, int w)
{
    return ui_results_legend_layout((ui_app *)a, 0, 0, w, 0, 0);
}

void ui_results_draw_legend(ui_app *a, int y, int x, int w, int h)
{
    ui_results_legend_layout(a, y, x, w, h, 1);
}

void ui_results_draw_detail(ui_app *a, int y, int h, int32_t id)
{
    const pd_zoo *z = &a->res->zoo;
    char v[UI_RESULTS_NLEGEND][96], label[64];
    snprintf(v[0], sizeof v[0], "%d", (int)id);
    ui_kind_label(z->kind[id], a->utf8, label, sizeof label);
    snprintf(v[1], sizeof v[1], "%c %.40s (%.30s)", ui_kind_of(z->kind[id]).symbol, label, z->kind[id]);
    ui_table_fmt_pct(z->accuracy[id], v[2], sizeof v[2]);
    if (isfinite(z->accuracy[id]))
        strcat(v[2], "%");
    snprintf(v[3], sizeof v[3], isfinite(z->loss[id]) ? "%.4f" : "-", z->loss[id]);
    snprintf(v[4], sizeof v[4], isfinite(z->max_iou[id]) ? "%.3f" : "- (run the analyze stage)", z->max_iou[id]);
    snprintf(v[5], sizeof v[5], z->nearest_id[id] >= 0 ? "#%d" : "-", (int)z->nearest_id[id]);
    snprintf(v[6], sizeof v[6], isfinite(z->nearest_l2[id]) ? "%.3f" : "-", z->nearest_l2[id]);
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y, 0, a->cols, " model #%d: every number (Enter or Esc: back to the list)", (int)id);
    attrset(A_NORMAL);
    int row = 1;
    for (int i = 0; i < UI_RESULTS_NLEGEND && row < h; i++, row++) {
        attrset(A_BOLD);
        ui_term_textf(y + row, 0, a->cols, "   %-12s %-28s", ui_results_legend[i][0], v[i]);
        ui_term_set(a, UI_C_DIM);
        if (a->cols > 48)
            ui_term_text(y + row, 45, a->cols - 45, ui_results_legend[i][1]);
        attrset(A_NORMAL);
    }
    int32_t e = zoo_first_of(z, "ensemble");
    double dis = e >= 0 && e != id ? zoo_disagreement(z, id, e) : NAN;
    if (row < h && isfinite(dis)) {
        attrset(A_BOLD);
        ui_term_textf(y + row, 0, a->cols, "   %-12s %-28.2f", "disagrees", 100 * dis);
        ui_term_set(a, UI_C_DIM);
        if (a->cols > 48)
            ui_term_text(y + row, 45, a->cols - 45, "share of test images it predicts unlike the ensemble, %");
        attrset(A_NORMAL);
    }
}
