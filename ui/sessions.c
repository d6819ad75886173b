/* sessions.c — the Sessions screen: every session folder under the sessions root (sessions/, or the folder
 * above --session) with its headline numbers side by side (task accuracy, original best, p-diff best and
 * median) read from summary.csv and config.csv; Enter opens one (Results), `e` exports its report, `R` resumes
 * an unfinished one, `/` filters by name, architecture or data set.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_sessions.h"

#include "config.h"
#include "grow.h"
#include "nav.h"
#include "session.h"
#include "table.h"
#include "term.h"

static int ui_sessions_cmp(const void *x, const void *y)
{
    return -strcmp(((const ui_session_entry *)x)->name, ((const ui_session_entry *)y)->name);
}

void ui_sessions_free(ui_app *a)
{
    free(a->sess);
    a->sess = NULL;
    a->nsess = 0;
}

/* A summary metric, NaN when absent */
static double ui_sessions_metric(const pd_session *ss, const char *metric)
{
    double v;
    return session_summary_get(ss, metric, &v) ? v : NAN;
}

/* The headline numbers of the session in s->path, through the engine's readers of summary.csv (session.h) and
 * config.csv (config.h) */
static pd_status ui_sessions_read(ui_session_entry *s, pd_error *err)
{
    s->task = s->obest = s->pbest = s->pmedian = NAN;
    pd_session *ss;
    PD_TRY(session_open(&ss, s->path, 0, err));
    s->task = ui_sessions_metric(ss, "task_accuracy");
    s->obest = ui_sessions_metric(ss, "original_best");
    s->pbest = ui_sessions_metric(ss, "pdiff_best");
    s->pmedian = ui_sessions_metric(ss, "pdiff_median");
    s->complete = isfinite(s->pbest);
    session_free(ss);
    char file[PD_PATH_MAX];
    PD_TRY(path_join(file, sizeof file, s->path, "config.csv", err));
    pd_config cfg;
    config_defaults(&cfg);
    PD_TRY(config_load_csv(&cfg, file, 1, err));
    ui_app_copy(s->arch, sizeof s->arch, cfg.arch);
    ui_app_copy(s->dataset, sizeof s->dataset, cfg.dataset);
    return PD_OK;
}

void ui_sessions_scan(ui_app *a)
{
    ui_sessions_free(a);
    const char *root = a->sessions_root[0] ? a->sessions_root : ".";
    DIR *d = opendir(root);
    if (!d)
        return;
    int64_t cap = 0;
    struct dirent *e;
    pd_error err = {0};
    while ((e = readdir(d)) != NULL) {
        char path[PD_PATH_MAX];
        if (e->d_name[0] == '.' || path_join(path, sizeof path, root, e->d_name, &err) != PD_OK ||
            !session_exists(path))
            continue;
        ui_session_entry *n = pd_grow(a->sess, &cap, a->nsess + 1, sizeof *n, 32);
        if (!n)
            break;
        a->sess = n;
        ui_session_entry *s = &a->sess[a->nsess];
        memset(s, 0, sizeof *s);
        ui_app_copy(s->name, sizeof s->name, e->d_name);
        ui_app_copy(s->path, sizeof s->path, path);
        ui_sessions_read(s, &err); /* listed anyway: what could not be read stays blank, the message says why */
        a->nsess++;
    }
    closedir(d);
    if (err.status != PD_OK) /* a session left out or partly read: say which */
        ui_nav_error(a, &err);
    if (a->nsess > 1)
        qsort(a->sess, (size_t)a->nsess, sizeof *a->sess, ui_sessions_cmp);
    if (a->sess_cursor >= a->nsess)
        a->sess_cursor = a->nsess > 0 ? a->nsess - 1 : 0;
}

/* Indices of the sessions that pass the filter into idx (may be NULL); returns the count. */
static int ui_sessions_visible(const ui_app *a, int *idx)
{
    int n = 0;
    for (int i = 0; i < a->nsess; i++) {
        const ui_session_entry *s = &a->sess[i];
        const char *f = a->sess_filter;
        if (f[0] && !strstr(s->name, f) && !strstr(s->arch, f) && !strstr(s->dataset, f))
            continue;
        if (idx)
            idx[n] = i;
        n++;
    }
    return n;
}

const char *ui_sessions_selected(const ui_app *a)
{
    if (a->nsess < 1)
        return NULL;
    int *idx = malloc(sizeof *idx * (size_t)a->nsess);
    if (!idx)
        return NULL;
    int n = ui_sessions_visible(a, idx);
    const char *p = n > 0 && a->sess_cursor < n ? a->sess[idx[a->sess_cursor]].path : NULL;
    free(idx);
    return p;
}

void ui_sessions_nav(ui_app *a, int act)
{
    int n = ui_sessions_visible(a, NULL);
    int page = a->rows - 6 > 1 ? a->rows - 6 : 1;
    switch (act) {
    case UI_NAV_UP:
        a->sess_cursor--;
        break;
    case UI_NAV_DOWN:
        a->sess_cursor++;
        break;
    case UI_NAV_PGUP:
        a->sess_cursor -= page;
        break;
    case UI_NAV_PGDN:
        a->sess_cursor += page;
        break;
    case UI_NAV_HOME:
        a->sess_cursor = 0;
        break;
    case UI_NAV_END:
        a->sess_cursor = n - 1;
        break;
    default:
        break;
    }
    if (a->sess_cursor >= n)
        a->sess_cursor = n - 1;
    if (a->sess_cursor < 0)
        a->sess_cursor = 0;
}

void ui_sessions_draw(ui_app *a, int y, int h)
{
    int W = a->cols;
    int *idx = a->nsess ? malloc(sizeof *idx * (size_t)a->nsess) : NULL;
    int n = idx ? ui_sessions_visible(a, idx) : 0;
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y, 0, W, " sessions in %s: %d%s%s  (Enter opens, e exports, R resumes)",
                  a->sessions_root[0] ? a->sessions_root : ".", n, a->sess_filter[0] ? "  filter: " : "",
                  a->sess_filter);
    attrset(A_NORMAL);
    if (n == 0) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1,
                     a->nsess ? "no session matches the filter (Esc clears it)"
                              : "no sessions yet: start a run from Setup (1, then r)");
        attrset(A_NORMAL);
        free(idx);
        return;
    }
    static const ui_table_col cols[] = {{"session", 16, 32, 0}, {"arch", 8, 8, 0},          {"task", 6, 7, 1},
                                        {"orig best", 9, 9, 1}, {"p-diff best", 11, 11, 1}, {"p-diff med", 10, 10, 1},
                                        {"status", 8, 8, 0},    {"dataset", 10, 40, 0}};
    enum { NC = (int)(sizeof cols / sizeof cols[0]) };
    int w[NC];
    int shown = ui_table_layout(cols, NC, W - 3, w);
    const char *head[NC];
    for (int i = 0; i < NC; i++)
        head[i] = cols[i].title;
    char line[1024];
    ui_table_row(head, cols, w, shown, a->utf8, line, sizeof line);
    attrset(A_UNDERLINE);
    ui_term_textf(y + 1, 0, W, "   %s", line);
    attrset(A_NORMAL);
    int lh = h - 2;
    ui_term_clip_rows(&a->sess_top, a->sess_cursor, n, lh);
    for (int i = 0; i < lh && a->sess_top + i < n; i++) {
        int k = a->sess_top + i;
        const ui_session_entry *s = &a->sess[idx[k]];
        char c[NC][64];
        ui_app_copy(c[0], sizeof c[0], s->name);
        ui_app_copy(c[1], sizeof c[1], s->arch);
        ui_table_fmt_pct(s->task, c[2], sizeof c[2]);
        ui_table_fmt_pct(s->obest, c[3], sizeof c[3]);
        ui_table_fmt_pct(s->pbest, c[4], sizeof c[4]);
        ui_table_fmt_pct(s->pmedian, c[5], sizeof c[5]);
        ui_app_copy(c[6], sizeof c[6], s->complete ? "complete" : "partial");
        ui_app_copy(c[7], sizeof c[7], s->dataset);
        const char *cells[NC];
        for (int j = 0; j < NC; j++)
            cells[j] = c[j];
        ui_table_row(cells, cols, w, shown, a->utf8, line, sizeof line);
        int open = a->res && strcmp(a->res->dir, s->path) == 0;
        attrset(k == a->sess_cursor ? ui_term_role(a, UI_C_SEL) : open ? A_BOLD : A_NORMAL);
        ui_term_textf(y + 2 + i, 0, W, " %s %s", open ? "*" : " ", line);
        attrset(A_NORMAL);
    }
    free(idx);
}
