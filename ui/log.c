/* log.c — the log view: run.log of the session the Run screen shows, then the last run's error in full; a pager
 * with tig's keys (see log.h). Lines wrap at the screen's width, so a long error message is read whole. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "table.h"

#include "nav.h"
#include "prompt.h"
#include "term.h"

struct ui_logview {
    char path[PD_PATH_MAX]; /* run.log ("" when the Run screen shows no session) */
    long long size;         /* its size when read (-1: absent) */
    char **lines;
    int n, cap;
    int top;    /* first display row (wrapped) */
    int follow; /* at the end: stays at the end as the file grows */
    char search[64];
};

static void ui_log_free_lines(struct ui_logview *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->lines[i]);
    free(v->lines);
    v->lines = NULL;
    v->n = v->cap = 0;
}

static void ui_log_add(struct ui_logview *v, const char *line)
{
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 256;
        char **nl = realloc(v->lines, (size_t)cap * sizeof *nl);
        if (!nl)
            return;
        v->lines = nl;
        v->cap = cap;
    }
    char *copy = strdup(line);
    if (copy)
        v->lines[v->n++] = copy;
}

static long long ui_log_file_size(const char *path)
{
    struct stat st;
    return path[0] && stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* (Re)read the file, then the last run's error when the file does not end with it. */
static void ui_log_read(ui_app *a, struct ui_logview *v)
{
    ui_log_free_lines(v);
    v->size = ui_log_file_size(v->path);
    FILE *f = v->path[0] ? fopen(v->path, "r") : NULL;
    char buf[4096];
    while (f && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        ui_log_add(v, buf);
    }
    if (f)
        fclose(f);
    const char *e = a->run_error;
    if (e[0] && !a->job) {
        size_t le = strlen(e), ll = v->n ? strlen(v->lines[v->n - 1]) : 0;
        if (!v->n || ll < le || strcmp(v->lines[v->n - 1] + ll - le, e) != 0) {
            char line[PD_ERROR_MSG_MAX + PD_PATH_MAX + 128];
            snprintf(line, sizeof line, "-- the last run (%s) %s: %s", a->run_dir,
                     a->job_started ? "ended" : "did not start", e);
            ui_log_add(v, line);
        }
    }
}

/* Bytes of the next display row of s at width w (a UTF-8 sequence is never split). */
static size_t ui_log_cut(const char *s, int w)
{
    size_t n = strlen(s);
    if (n <= (size_t)w)
        return n;
    size_t c = (size_t)w;
    while (c > 1 && ((unsigned char)s[c] & 0xC0) == 0x80)
        c--;
    return c;
}

static int ui_log_line_rows(const char *s, int w)
{
    int rows = 1;
    size_t c;
    while (s[c = ui_log_cut(s, w)] != '\0') {
        s += c;
        rows++;
    }
    return rows;
}

/* The display row where line i starts; with i == n, the number of rows. */
static int ui_log_row_of(const struct ui_logview *v, int i, int w)
{
    int r = 0;
    for (int k = 0; k < i && k < v->n; k++)
        r += ui_log_line_rows(v->lines[k], w);
    return r;
}

static int ui_log_width(const ui_app *a)
{
    return a->cols - 1 > 10 ? a->cols - 1 : 10;
}

static int ui_log_height(const ui_app *a)
{
    return a->rows - 3 > 1 ? a->rows - 3 : 1; /* the title bar, the view's own title, the status line */
}

static void ui_log_clamp(const ui_app *a, struct ui_logview *v)
{
    int last = ui_log_row_of(v, v->n, ui_log_width(a)) - ui_log_height(a);
    if (last < 0)
        last = 0;
    if (v->top > last || v->follow)
        v->top = last;
    if (v->top < 0)
        v->top = 0;
    v->follow = v->top == last;
}

void ui_log_open(ui_app *a)
{
    struct ui_logview *v = calloc(1, sizeof *v);
    if (!v) {
        ui_nav_message(a, 1, "log view: out of memory");
        return;
    }
    const char *dir = a->job || a->job_started || !a->res ? a->run_dir : a->res->dir;
    pd_error err = {0};
    if (dir[0] && path_join(v->path, sizeof v->path, dir, "run.log", &err) != PD_OK)
        v->path[0] = '\0';
    ui_log_read(a, v);
    if (v->n == 0) {
        ui_nav_message(a, 1, "no log yet: %s", v->path[0] ? v->path : "start a run (r) or open a session (6)");
        free(v);
        return;
    }
    v->follow = 1;
    ui_log_close(a);
    a->logview = v;
    ui_log_clamp(a, v);
}

void ui_log_close(ui_app *a)
{
    if (!a->logview)
        return;
    ui_log_free_lines(a->logview);
    free(a->logview);
    a->logview = NULL;
}

static int ui_log_match(const char *line, const char *pat)
{
    size_t m = strlen(pat);
    for (const char *p = line; *p; p++) {
        size_t i = 0;
        while (i < m && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)pat[i]))
            i++;
        if (i == m)
            return 1;
    }
    return m == 0;
}

/* The next (dir 1) or previous (-1) line after the top one holding the search text. */
static void ui_log_find(ui_app *a, int dir)
{
    struct ui_logview *v = a->logview;
    if (!v || !v->search[0])
        return;
    int w = ui_log_width(a), cur = 0;
    while (cur < v->n - 1 && ui_log_row_of(v, cur + 1, w) <= v->top)
        cur++;
    for (int i = cur + dir; i >= 0 && i < v->n; i += dir)
        if (ui_log_match(v->lines[i], v->search)) {
            v->top = ui_log_row_of(v, i, w);
            v->follow = 0;
            ui_log_clamp(a, v);
            return;
        }
    ui_nav_message(a, 1, "'%s': not found %s", v->search, dir > 0 ? "below" : "above");
}

static int ui_log_search_submit(ui_app *a, const char *text)
{
    if (a->logview && text[0]) {
        ui_app_copy(a->logview->search, sizeof a->logview->search, text);
        a->logview->top--; /* a match on the top line counts */
        ui_log_find(a, 1);
    }
    return 0;
}

void ui_log_key(ui_app *a, int key)
{
    struct ui_logview *v = a->logview;
    int h = ui_log_height(a);
    switch (key) {
    case 'q': case 27: case 'L':
        ui_log_close(a);
        return;
    case 'j': case KEY_DOWN: case '\n': case '\r': case KEY_ENTER:
        v->top++;
        break;
    case 'k': case KEY_UP:
        v->top--;
        break;
    case KEY_NPAGE: case ' ': case 0x06: /* Ctrl-F */
        v->top += h;
        break;
    case KEY_PPAGE: case 'b': case 0x02: /* Ctrl-B */
        v->top -= h;
        break;
    case 'g': case KEY_HOME:
        v->top = 0;
        break;
    case 'G': case KEY_END:
        v->top = ui_log_row_of(v, v->n, ui_log_width(a));
        break;
    case '/':
        ui_prompt_open(a, UI_PROMPT_FILTER, "", (ui_prompt_fns){.submit = ui_log_search_submit});
        return;
    case 'n': case 'N':
        ui_log_find(a, key == 'n' ? 1 : -1);
        return;
    default:
        return;
    }
    v->follow = 0;
    ui_log_clamp(a, v);
}

void ui_log_draw(ui_app *a, int y, int h)
{
    struct ui_logview *v = a->logview;
    if (v->path[0] && ui_log_file_size(v->path) != v->size) { /* a run is writing it */
        ui_log_read(a, v);
        ui_log_clamp(a, v);
    }
    int w = ui_log_width(a), total = ui_log_row_of(v, v->n, w);
    attrset(ui_term_role(a, UI_C_HEAD) | A_BOLD);
    ui_term_fill(y, 0, a->cols);
    char tail[160], shown[PD_PATH_MAX];
    snprintf(tail, sizeof tail, "  %s  rows %d-%d of %d  (j/k PgUp/PgDn g/G / n N, q back)",
             ui_term_glyph(a, "\u00b7", "|"), total ? v->top + 1 : 0, v->top + h - 1 < total ? v->top + h - 1 : total,
             total);
    int room = a->cols - 5 - ui_table_text_width(tail); /* a long path is cut at its start: run.log stays */
    ui_table_elide(v->path[0] ? v->path : "(no session)", room > 12 ? room : 12, UI_ELIDE_START, a->utf8, shown,
                   sizeof shown);
    ui_term_textf(y, 0, a->cols, " log %s%s", shown, tail);
    attrset(A_NORMAL);
    int row = 0, yy = y + 1;
    for (int i = 0; i < v->n && yy < y + h; i++) {
        const char *s = v->lines[i];
        int hit = v->search[0] && ui_log_match(s, v->search);
        do {
            size_t c = ui_log_cut(s, w);
            if (row >= v->top && yy < y + h) {
                char part[4096];
                snprintf(part, sizeof part, "%.*s", (int)c, s);
                attrset(hit ? A_BOLD : strstr(v->lines[i], "failed") ? ui_term_role(a, UI_C_ERROR) : A_NORMAL);
                ui_term_text(yy++, 0, a->cols, part);
            }
            row++;
            s += c;
        } while (*s);
    }
    attrset(A_NORMAL);
}
