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

#include "app.h"
#include "grow.h"
#include "session.h"
#include "table.h"

/* One CSV field starting at *p (quoted with "" escapes, or bare up to ','); advances past the comma. */
static void ui_sessions_field(const char **p, char *out, size_t size)
{
    const char *s = *p;
    size_t o = 0;
    if (*s == '"') {
        s++;
        while (*s && !(*s == '"' && s[1] != '"')) {
            if (*s == '"')
                s++;
            if (o + 1 < size)
                out[o++] = *s;
            s++;
        }
        if (*s == '"')
            s++;
    } else
        while (*s && *s != ',' && *s != '\n' && *s != '\r') {
            if (o + 1 < size)
                out[o++] = *s;
            s++;
        }
    out[o] = '\0';
    if (*s == ',')
        s++;
    *p = s;
}

/* The value of a key in a two-column CSV (summary.csv, config.csv); 0 when found. */
static int ui_sessions_lookup(const char *path, const char *const *keys, char (*vals)[256], int n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        char k[128], v[256];
        ui_sessions_field(&p, k, sizeof k);
        ui_sessions_field(&p, v, sizeof v);
        for (int i = 0; i < n; i++)
            if (strcmp(k, keys[i]) == 0)
                ui_app_copy(vals[i], sizeof vals[i], v);
    }
    fclose(f);
    return 0;
}

static double ui_sessions_num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return *s && end != s ? v : NAN;
}

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

void ui_sessions_scan(ui_app *a)
{
    ui_sessions_free(a);
    DIR *d = opendir(a->sessions_root[0] ? a->sessions_root : ".");
    if (!d)
        return;
    int64_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", a->sessions_root[0] ? a->sessions_root : ".", e->d_name);
        if (!session_exists(path))
            continue;
        ui_session_entry *n = pd_grow(a->sess, &cap, a->nsess + 1, sizeof *n, 32);
        if (!n)
            break;
        a->sess = n;
        ui_session_entry *s = &a->sess[a->nsess++];
        memset(s, 0, sizeof *s);
        ui_app_copy(s->name, sizeof s->name, e->d_name);
        ui_app_copy(s->path, sizeof s->path, path);
        static const char *const mk[] = {"task_accuracy", "original_best", "pdiff_best", "pdiff_median"};
        char mv[4][256] = {"", "", "", ""};
        char file[4500];
        snprintf(file, sizeof file, "%s/summary.csv", path);
        ui_sessions_lookup(file, mk, mv, 4);
        s->task = ui_sessions_num(mv[0]);
        s->obest = ui_sessions_num(mv[1]);
        s->pbest = ui_sessions_num(mv[2]);
        s->pmedian = ui_sessions_num(mv[3]);
        s->complete = isfinite(s->pbest);
        static const char *const ck[] = {"arch", "dataset"};
        char cv[2][256] = {"", ""};
        snprintf(file, sizeof file, "%s/config.csv", path);
        ui_sessions_lookup(file, ck, cv, 2);
        ui_app_copy(s->arch, sizeof s->arch, cv[0]);
        ui_app_copy(s->dataset, sizeof s->dataset, cv[1]);
    }
    closedir(d);
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
    case UI_NAV_ENTER: {
        const char *dir = ui_sessions_selected(a);
        if (dir) {
            char path[4200];
            ui_app_copy(path, sizeof path, dir);
            ui_tui_open_results(a, path);
            if (a->res && strcmp(a->res->dir, path) == 0) {
                if (!a->job)
                    ui_run_from_results(a);
                ui_tui_goto(a, UI_RESULTS);
            }
        }
        break;
    }
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
