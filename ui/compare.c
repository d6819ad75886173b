/* compare.c — the compare view (compare.h): several sessions' summary.csv side by side with the difference of each
 * to the first, and their task, AE and DDPM loss curves overlaid. Accuracies (task_accuracy, ensemble and the
 * KIND_best / _mean / _median rows) show in percent and their differences in percentage points, as on Results;
 * every other metric as it is stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#include "draw.h"
#include "grow.h"
#include "nav.h"
#include "plot.h"
#include "session.h"
#include "table.h"
#include "term.h"

enum { UI_CMP_TASK, UI_CMP_AE, UI_CMP_DDPM, UI_CMP_NPLOTS };

struct ui_compare {
    int n;
    char name[UI_COMPARE_MAX][256];
    char dir[UI_COMPARE_MAX][PD_PATH_MAX];
    ui_series curve[UI_COMPARE_MAX][UI_CMP_NPLOTS];
    int nmetric;
    int64_t cap_metric;
    char (*metric)[64];
    double *value; /* [nmetric][UI_COMPARE_MAX], NaN where a session lacks the metric */
    int top, page;
};

void ui_compare_close(ui_app *a)
{
    struct ui_compare *c = a->cmp;
    if (!c)
        return;
    for (int i = 0; i < UI_COMPARE_MAX; i++)
        for (int p = 0; p < UI_CMP_NPLOTS; p++)
            ui_series_free(&c->curve[i][p]);
    free(c->metric);
    free(c->value);
    free(c);
    a->cmp = NULL;
    a->dirty = 1;
}

/* The row of metric m (added, with NaN for every session, when new); -1 out of memory. */
static int ui_compare_row(struct ui_compare *c, const char *m)
{
    for (int i = 0; i < c->nmetric; i++)
        if (strcmp(c->metric[i], m) == 0)
            return i;
    int64_t cap = c->cap_metric;
    char(*nm)[64] = pd_grow(c->metric, &cap, c->nmetric + 1, sizeof *nm, 64);
    if (!nm)
        return -1;
    c->metric = nm;
    cap = c->cap_metric;
    double *nv = pd_grow(c->value, &cap, c->nmetric + 1, sizeof *nv * UI_COMPARE_MAX, 64);
    if (!nv)
        return -1;
    c->value = nv;
    c->cap_metric = cap;
    ui_app_copy(c->metric[c->nmetric], sizeof c->metric[0], m);
    for (int k = 0; k < UI_COMPARE_MAX; k++)
        c->value[(size_t)c->nmetric * UI_COMPARE_MAX + (size_t)k] = NAN;
    return c->nmetric++;
}

/* Session i's summary rows and its task / ae / ddpm loss points. */
static pd_status ui_compare_read(struct ui_compare *c, int i, pd_error *err)
{
    pd_session *ss;
    PD_TRY(session_open(&ss, c->dir[i], 0, err));
    pd_status st = PD_OK;
    for (int k = 0; k < session_summary_count(ss) && st == PD_OK; k++) {
        double v;
        const char *m = session_summary_at(ss, k, &v);
        int r = ui_compare_row(c, m);
        if (r < 0)
            st = error_set(err, PD_ERR_NOMEM, "compare: out of memory");
        else
            c->value[(size_t)r * UI_COMPARE_MAX + (size_t)i] = v;
    }
    static const char *const stages[UI_CMP_NPLOTS] = {"task", "ae", "ddpm"};
    for (int64_t k = 0; k < session_loss_count(ss); k++) {
        const char *stage;
        int64_t step;
        double loss, acc;
        session_loss_at(ss, k, &stage, &step, &loss, &acc);
        for (int p = 0; p < UI_CMP_NPLOTS; p++)
            if (strcmp(stage, stages[p]) == 0)
                ui_series_push(&c->curve[i][p], (double)step, loss);
    }
    session_free(ss);
    return st;
}

void ui_compare_open(ui_app *a, const char *const *dirs, const char *const *names, int n)
{
    ui_compare_close(a);
    struct ui_compare *c = calloc(1, sizeof *c);
    if (!c) {
        ui_nav_message(a, 1, "compare: out of memory");
        return;
    }
    c->n = n < UI_COMPARE_MAX ? n : UI_COMPARE_MAX;
    pd_error err = {0};
    for (int i = 0; i < c->n; i++) {
        ui_app_copy(c->name[i], sizeof c->name[i], names[i]);
        ui_app_copy(c->dir[i], sizeof c->dir[i], dirs[i]);
        pd_error e = {0};
        if (ui_compare_read(c, i, &e) != PD_OK && err.status == PD_OK)
            err = e;
    }
    a->cmp = c;
    a->dirty = 1;
    if (err.status != PD_OK)
        ui_nav_error(a, &err);
    else
        a->msg_until = 0; /* the view names the sessions; the status line shows the keys */
}

void ui_compare_nav(ui_app *a, int act)
{
    struct ui_compare *c = a->cmp;
    int page = c->page > 1 ? c->page : 1;
    switch (act) {
    case UI_NAV_UP:
        c->top--;
        break;
    case UI_NAV_DOWN:
        c->top++;
        break;
    case UI_NAV_PGUP:
        c->top -= page;
        break;
    case UI_NAV_PGDN:
        c->top += page;
        break;
    case UI_NAV_HOME:
        c->top = 0;
        break;
    case UI_NAV_END:
        c->top = c->nmetric;
        break;
    default:
        break;
    }
    if (c->top > c->nmetric - page)
        c->top = c->nmetric - page;
    if (c->top < 0)
        c->top = 0;
}

/* ------------------------------------------------------------------------------------------------ drawing */

/* An accuracy (a fraction shown in percent): task_accuracy, ensemble, KIND_best / _mean / _median; not the
 * analysis rows that end the same way (pair IoU and L2 means, disagreement). */
static int ui_compare_is_pct(const char *m)
{
    static const char *const ends[3] = {"_best", "_mean", "_median"};
    if (strcmp(m, "task_accuracy") == 0 || strcmp(m, "ensemble") == 0)
        return 1;
    if (strstr(m, "pair_") || strstr(m, "disagreement") || strstr(m, "seconds"))
        return 0;
    size_t n = strlen(m);
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(ends[i]);
        if (n > l && strcmp(m + n - l, ends[i]) == 0)
            return 1;
    }
    return 0;
}

static void ui_compare_fmt(double v, int pct, int diff, char *buf, size_t size)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else if (pct)
        snprintf(buf, size, diff ? "%+.2f" : "%.2f", 100 * v);
    else
        snprintf(buf, size, diff ? "%+.4g" : "%.4g", v);
}

/* The table's columns: metric, then A, B, B-A, C, C-A, ... (the first dropped from the right when narrow). */
static int ui_compare_cols(const struct ui_compare *c, ui_table_col *cols, char titles[][64])
{
    int nc = 0;
    cols[nc++] = (ui_table_col){"metric", 14, 28, 0};
    for (int i = 0; i < c->n; i++) {
        snprintf(titles[nc], 64, "%c %s", 'A' + i, c->name[i]);
        cols[nc] = (ui_table_col){titles[nc], 8, 14, 1};
        nc++;
        if (i > 0) {
            snprintf(titles[nc], 64, "%c-A", 'A' + i);
            cols[nc] = (ui_table_col){titles[nc], 7, 8, 1};
            nc++;
        }
    }
    return nc;
}

static void ui_compare_draw_table(ui_app *a, const struct ui_compare *c, int y, int h)
{
    enum { NC = 2 * UI_COMPARE_MAX };
    ui_table_col cols[NC];
    char titles[NC][64];
    int nc = ui_compare_cols(c, cols, titles), w[NC];
    int shown = ui_table_layout(cols, nc, a->cols - 2, w);
    const char *cells[NC];
    char text[NC][48], line[1024];
    for (int j = 0; j < nc; j++)
        cells[j] = cols[j].title;
    ui_table_row(cells, cols, w, shown, a->utf8, line, sizeof line);
    attrset(A_UNDERLINE);
    ui_term_textf(y, 0, a->cols, "  %s", line);
    attrset(A_NORMAL);
    for (int r = 0; r < h - 1 && c->top + r < c->nmetric; r++) {
        int m = c->top + r, pct = ui_compare_is_pct(c->metric[m]);
        const double *v = &c->value[(size_t)m * UI_COMPARE_MAX];
        int j = 0;
        cells[j++] = c->metric[m];
        for (int i = 0; i < c->n; i++) {
            ui_compare_fmt(v[i], pct, 0, text[j], sizeof text[j]);
            cells[j] = text[j];
            j++;
            if (i > 0) {
                ui_compare_fmt(v[i] - v[0], pct, 1, text[j], sizeof text[j]);
                cells[j] = text[j];
                j++;
            }
        }
        ui_table_row(cells, cols, w, shown, a->utf8, line, sizeof line);
        ui_term_textf(y + 1 + r, 0, a->cols, "  %s", line);
    }
}

/* One plot of the sessions' curves of a stage, each session's letter at its last point (where ui_draw_plot puts
 * it: an 8-column axis margin, a title row and an x-axis row around 2 x 4 dots per cell). */
static void ui_compare_draw_plot(ui_app *a, const struct ui_compare *c, int p, int y, int x, int h, int w)
{
    static const char *const titles[UI_CMP_NPLOTS] = {"task loss", "AE loss", "DDPM loss"};
    static const char *const letters[UI_COMPARE_MAX] = {"A", "B", "C", "D", "E", "F", "G", "H"};
    ui_plot_line lines[UI_COMPARE_MAX] = {{0}};
    int total = 0;
    for (int i = 0; i < c->n; i++) {
        lines[i] = (ui_plot_line){&c->curve[i][p], letters[i], i + 1};
        total += c->curve[i][p].n;
    }
    ui_draw_plot(a, y, x, h, w, titles[p], lines, c->n, a->log_scale, "no points");
    int lm = 8, ch = h - 2, cw = w - lm;
    double *all = total > 0 && h >= 4 && w >= 16 ? malloc(sizeof *all * (size_t)total) : NULL;
    if (!all)
        return;
    double lo, hi, xlo = INFINITY, xhi = -INFINITY;
    int k = 0;
    for (int i = 0; i < c->n; i++) {
        const ui_series *s = &c->curve[i][p];
        for (int j = 0; j < s->n; j++)
            all[k++] = s->y[j];
        if (s->n > 0) {
            xlo = fmin(xlo, s->x[0]);
            xhi = fmax(xhi, s->x[s->n - 1]);
        }
    }
    ui_plot_range(all, total, a->log_scale, &lo, &hi);
    free(all);
    int used[UI_COMPARE_MAX][2], nused = 0;
    for (int i = 0; i < c->n; i++) {
        const ui_series *s = &c->curve[i][p];
        double fy = s->n > 0 ? ui_plot_frac(s->y[s->n - 1], lo, hi, a->log_scale) : NAN;
        if (isnan(fy))
            continue;
        double fx = xhi > xlo ? (s->x[s->n - 1] - xlo) / (xhi - xlo) : 0;
        int col = (int)lround(fx * (2 * cw - 1)) / 2, row = (int)lround((1 - fy) * (4 * ch - 1)) / 4;
        for (int u = 0; u < nused; u++) /* curves ending in the same cell: the later letter steps left */
            if (used[u][0] == row && used[u][1] == col && col > 0) {
                col--;
                u = -1;
            }
        used[nused][0] = row;
        used[nused++][1] = col;
        attrset(ui_term_role(a, UI_C_SERIES + i % 8) | A_BOLD);
        mvaddstr(y + 1 + row, x + lm + col, letters[i]);
    }
    attrset(A_NORMAL);
}

static void ui_compare_draw_legend(ui_app *a, const struct ui_compare *c, int y)
{
    int last = c->top + c->page < c->nmetric ? c->top + c->page : c->nmetric;
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y, 0, a->cols, " compare %d sessions: metrics %d-%d of %d  (accuracies in %%; X-A: X minus A; "
                  "Up/Down scroll, c or Esc closes)", c->n, c->nmetric ? c->top + 1 : 0, last, c->nmetric);
    attrset(A_NORMAL);
    int x = 1;
    for (int i = 0; i < c->n && x < a->cols - 4; i++) {
        char item[300];
        snprintf(item, sizeof item, "%c %s", 'A' + i, c->name[i]);
        attrset(ui_term_role(a, UI_C_SERIES + i % 8) | A_BOLD);
        mvaddstr(y + 1, x, ui_term_glyph(a, "\u2501", "*"));
        attrset(A_NORMAL);
        int iw = ui_table_text_width(item), room = a->cols - x - 2;
        ui_term_text(y + 1, x + 2, iw < room ? iw : room, item);
        x += 2 + iw + 3;
    }
}

void ui_compare_draw(ui_app *a, int y, int h)
{
    struct ui_compare *c = a->cmp;
    int body = h - 2;
    int ph = body >= 18 ? (body * 2 / 5 > 8 ? body * 2 / 5 : 8) : 0; /* the plots' share at least */
    int th = body - ph < c->nmetric + 1 ? body - ph : c->nmetric + 1; /* the table no taller than it needs */
    ph = body - th;
    c->page = th - 1;
    ui_compare_nav(a, -1); /* clamps top to the page */
    ui_compare_draw_legend(a, c, y);
    ui_compare_draw_table(a, c, y + 2, th);
    if (ph < 4)
        return;
    int pw = a->cols / UI_CMP_NPLOTS;
    for (int p = 0; p < UI_CMP_NPLOTS; p++) {
        int x = p * pw, w = p == UI_CMP_NPLOTS - 1 ? a->cols - x : pw - 1;
        ui_compare_draw_plot(a, c, p, y + 2 + th, x, ph, w);
    }
}
