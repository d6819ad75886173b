/* sessions.c — the Sessions screen: every session folder under the sessions root (sessions/, or the folder
 * above --session) with its date, data set, architecture, D, K, seed, p-diff best, novelty and wall time, read
 * from config.csv and summary.csv; a sweep's folder lists its sessions as SWEEP/SESSION. `o` cycles the sort
 * column and `O` reverses it, `/` filters (name, date, architecture, data set), Space marks sessions and `c`
 * compares the marked ones (compare.c), `d` deletes the selected one after asking, Enter opens one (Results; one
 * another process is writing: watch.c follows it on Run), `e` exports its report, `R` resumes an unfinished one.
 *
 * Deleting is careful: only a real folder directly under the sessions root (not a symbolic link, not a sweep's
 * run) that has a config.csv and that no process is writing; its files are removed without following links
 * (nftw FTW_PHYS, and FTW_MOUNT: never into another file system).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "screen_sessions.h"

#include "compare.h"
#include "csvio.h"
#include "grow.h"
#include "nav.h"
#include "screen_results.h"
#include "progress_file.h"
#include "session.h"
#include "table.h"
#include "term.h"

/* ------------------------------------------------------------------------------------------------ columns */

/* The list's columns; every one is also a sort key (`o`). */
enum { SC_NAME, SC_DATE, SC_DATA, SC_ARCH, SC_D, SC_K, SC_SEED, SC_PBEST, SC_NOVELTY, SC_WALL, SC_STATUS, SC_N };
static const ui_table_col ui_sessions_cols[SC_N] = {
    {"session", 10, 28, 0}, {"date", 16, 16, 0},       {"data set", 6, 24, 0}, {"arch", 6, 8, 0},
    {"D", 7, 11, 1},        {"K", 4, 6, 1},            {"seed", 4, 6, 1},      {"p-diff best", 11, 11, 1},
    {"novelty", 7, 7, 1},   {"wall", 7, 8, 1},         {"status", 8, 8, 0}};

/* The order `o` cycles through the columns (a->sess_sort indexes it): newest first by default. */
static const int ui_sessions_sort_keys[SC_N] = {SC_DATE, SC_NAME,    SC_DATA, SC_ARCH, SC_D,     SC_K,
                                                SC_SEED, SC_PBEST,   SC_NOVELTY, SC_WALL, SC_STATUS};

/* The sort key of column c as a number (text columns: NAN, compared as text). */
static double ui_sessions_num(const ui_session_entry *s, int c)
{
    switch (c) {
    case SC_DATE:
        return s->date;
    case SC_D:
        return s->d;
    case SC_K:
        return s->k;
    case SC_SEED:
        return s->seed;
    case SC_PBEST:
        return s->pbest;
    case SC_NOVELTY:
        return s->novelty;
    case SC_WALL:
        return s->wall;
    default:
        return NAN;
    }
}

static const char *ui_sessions_text(const ui_session_entry *s, int c)
{
    switch (c) {
    case SC_DATA:
        return s->dataset;
    case SC_ARCH:
        return s->arch;
    case SC_STATUS:
        return s->running ? (s->progress[0] ? s->progress : "running") : s->complete ? "complete" : "partial";
    default:
        return s->name;
    }
}

static int ui_sessions_is_text(int c)
{
    return c == SC_NAME || c == SC_DATA || c == SC_ARCH || c == SC_STATUS;
}

/* Text columns ascend, numbers descend (newest, best, largest first); NaN always last; ties by name. */
static int ui_sessions_cmp(const void *x, const void *y, void *ctx)
{
    const ui_app *a = ctx;
    const ui_session_entry *p = x, *q = y;
    int c = ui_sessions_sort_keys[a->sess_sort], r = 0;
    if (ui_sessions_is_text(c))
        r = strcmp(ui_sessions_text(p, c), ui_sessions_text(q, c));
    else {
        double u = ui_sessions_num(p, c), v = ui_sessions_num(q, c);
        if (isnan(u) || isnan(v))
            return isnan(u) && isnan(v) ? strcmp(p->name, q->name) : isnan(u) ? 1 : -1;
        r = u > v ? -1 : u < v;
    }
    if (r == 0)
        r = strcmp(p->name, q->name);
    return a->sess_rev ? -r : r;
}

void ui_sessions_free(ui_app *a)
{
    free(a->sess);
    a->sess = NULL;
    a->nsess = 0;
}

/* ------------------------------------------------------------------------------------------------ reading */

/* A summary metric, NaN when absent */
static double ui_sessions_metric(const pd_session *ss, const char *metric)
{
    double v;
    return session_summary_get(ss, metric, &v) ? v : NAN;
}

static void ui_sessions_read_summary(ui_session_entry *s, const pd_session *ss)
{
    s->task = ui_sessions_metric(ss, "task_accuracy");
    s->obest = ui_sessions_metric(ss, "original_best");
    s->pbest = ui_sessions_metric(ss, "pdiff_best");
    s->pmedian = ui_sessions_metric(ss, "pdiff_median");
    s->novelty = ui_sessions_metric(ss, "novelty");
    s->complete = isfinite(s->pbest);
    s->wall = NAN;
    for (int i = 0; i < session_summary_count(ss); i++) {
        double v;
        const char *m = session_summary_at(ss, i, &v);
        if (strncmp(m, "seconds_", 8) == 0 && isfinite(v))
            s->wall = (isnan(s->wall) ? 0 : s->wall) + v;
    }
}

/* config.csv's rows (key,value): the data set, architecture, target size, K and seed. */
static pd_status ui_sessions_read_config(ui_session_entry *s, const char *file, pd_error *err)
{
    pd_csv_table t;
    PD_TRY(csvio_read(file, &t, err));
    int kc = csvio_column(&t, "key"), vc = csvio_column(&t, "value");
    for (int64_t r = 0; kc >= 0 && vc >= 0 && r < t.rows; r++) {
        const char *k = csvio_cell(&t, r, kc), *v = csvio_cell(&t, r, vc);
        char *end;
        double num = strtod(v, &end);
        if (end == v || *end)
            num = NAN;
        if (strcmp(k, "dataset") == 0)
            ui_app_copy(s->dataset, sizeof s->dataset, v);
        else if (strcmp(k, "arch") == 0)
            ui_app_copy(s->arch, sizeof s->arch, v);
        else if (strcmp(k, "target_d") == 0)
            s->d = num;
        else if (strcmp(k, "k") == 0)
            s->k = num;
        else if (strcmp(k, "seed") == 0)
            s->seed = num;
    }
    csvio_free(&t);
    return PD_OK;
}

static pd_status ui_sessions_read(ui_session_entry *s, pd_error *err);

/* Whether another process writes the session, and how far it is: "ae 42%" from its progress.csv when that is the
 * writer's and fits the status column (the stage's first three letters otherwise: "gen 42%"). */
static void ui_sessions_status(ui_session_entry *s)
{
    pd_session_owner who;
    pd_progress_snapshot ps;
    s->running = session_owner(s->path, &who);
    s->progress[0] = '\0';
    if (!s->running || !progress_file_read_of(s->path, who.pid, &ps) || ps.total <= 0)
        return;
    int pct = (int)(100.0 * (double)ps.done / (double)ps.total);
    pct = pct > 99 ? 99 : pct; /* 100 % is the next stage's 0 % */
    snprintf(s->progress, sizeof s->progress, "%.15s %d%%", ps.stage, pct);
    if (strlen(s->progress) > 8)
        snprintf(s->progress, sizeof s->progress, "%.3s %d%%", ps.stage, pct);
}

/* 1 when path is a sweep's folder (pdiff sweep: sweep_index.csv beside its sessions). */
static int ui_sessions_is_sweep(const char *path)
{
    return path_file_in(path, "sweep_index.csv");
}

static long long ui_sessions_mtime(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* Changes when a session folder comes or goes: in the root, or in a sweep's folder there. */
static long long ui_sessions_root_stamp(const ui_app *a)
{
    const char *root = a->sessions_root[0] ? a->sessions_root : ".";
    unsigned long long stamp = (unsigned long long)ui_sessions_mtime(root);
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[PD_PATH_MAX];
        if (e->d_name[0] != '.' && path_join(path, sizeof path, root, e->d_name, NULL) == PD_OK &&
            ui_sessions_is_sweep(path))
            stamp = stamp * 31u + (unsigned long long)ui_sessions_mtime(path);
    }
    if (d)
        closedir(d);
    return (long long)(stamp >> 1);
}

/* Look again at who writes session i and how far it is; the whole row again when a run started or ended. */
static void ui_sessions_poll_one(ui_app *a, int i)
{
    ui_session_entry *s = &a->sess[i];
    int was = s->running;
    char before[sizeof s->progress];
    ui_app_copy(before, sizeof before, s->progress);
    ui_sessions_status(s);
    if (s->running != was) {
        pd_error err = {0};
        ui_sessions_read(s, &err);
    }
    if (s->running != was || strcmp(before, s->progress) != 0)
        a->dirty = 1;
}

/* Rows neither shown nor running looked at per poll, in turn: with thousands of sessions (on NFS every probe is a
 * round trip) a poll probes the rows on screen, the running ones and this many more, so a run resumed in a row
 * off screen shows within nsess / UI_SESSIONS_POLL_TURN polls, and as soon as its row is on screen. */
#define UI_SESSIONS_POLL_TURN 64

void ui_sessions_poll(ui_app *a)
{
    double now = progress_now();
    if (a->screen != UI_SESSIONS || a->cmp || now < a->sess_poll_next)
        return;
    a->sess_poll_next = now + 2.0;
    if (ui_sessions_root_stamp(a) != a->sess_root_stamp) { /* a session came or went: the whole list again */
        a->sess_stale = 1;
        return;
    }
    int n = a->nsess, turn = n < UI_SESSIONS_POLL_TURN ? n : UI_SESSIONS_POLL_TURN;
    int start = n > 0 ? a->sess_poll_turn % n : 0;
    for (int i = 0; i < n; i++) {
        int in_turn = (i - start + n) % n < turn;
        if (in_turn || a->sess[i].running || a->sess[i].shown == a->sess_draws)
            ui_sessions_poll_one(a, i);
    }
    a->sess_poll_turn = n > 0 ? (start + turn) % n : 0;
}

/* The columns of the session in s->path, through the engine's readers of summary.csv (session.h) and of CSV
 * (csvio.h); the date is the newest of config.csv and summary.csv. */
static pd_status ui_sessions_read(ui_session_entry *s, pd_error *err)
{
    s->task = s->obest = s->pbest = s->pmedian = s->novelty = s->wall = NAN;
    s->date = s->d = s->k = s->seed = NAN;
    static const char *const files[2] = {"config.csv", "summary.csv"};
    for (int i = 0; i < 2; i++) {
        char file[PD_PATH_MAX];
        struct stat st;
        if (path_join(file, sizeof file, s->path, files[i], NULL) == PD_OK && stat(file, &st) == 0 &&
            !(st.st_mtime <= s->date))
            s->date = (double)st.st_mtime;
    }
    ui_sessions_status(s);
    pd_session *ss;
    PD_TRY(session_open(&ss, s->path, 0, err));
    ui_sessions_read_summary(s, ss);
    session_free(ss);
    char file[PD_PATH_MAX];
    PD_TRY(path_join(file, sizeof file, s->path, "config.csv", err));
    return ui_sessions_read_config(s, file, err);
}

/* The marks (their order) of the sessions listed before a rescan, by path; NULL when none. */
static int *ui_sessions_keep_marks(const ui_app *a, char (**paths)[PD_PATH_MAX], int *n)
{
    *n = 0;
    *paths = NULL;
    int *order = NULL;
    for (int i = 0; i < a->nsess; i++)
        if (a->sess[i].marked)
            (*n)++;
    if (*n == 0 || !(order = malloc(sizeof *order * (size_t)*n)) || !(*paths = malloc(sizeof **paths * (size_t)*n))) {
        free(order);
        *n = 0;
        return NULL;
    }
    for (int i = 0, k = 0; i < a->nsess; i++)
        if (a->sess[i].marked) {
            order[k] = a->sess[i].marked;
            ui_app_copy((*paths)[k++], PD_PATH_MAX, a->sess[i].path);
        }
    return order;
}

/* The session at path into the list as name; 0, or -1 out of memory. */
static int ui_sessions_add_one(ui_app *a, int64_t *cap, const char *path, const char *name, pd_error *err)
{
    ui_session_entry *n = pd_grow(a->sess, cap, a->nsess + 1, sizeof *n, 32);
    if (!n)
        return -1;
    a->sess = n;
    ui_session_entry *s = &a->sess[a->nsess];
    memset(s, 0, sizeof *s);
    ui_app_copy(s->name, sizeof s->name, name);
    ui_app_copy(s->path, sizeof s->path, path);
    ui_sessions_read(s, err); /* listed anyway: what could not be read stays blank, the message says why */
    a->nsess++;
    return 0;
}

/* One folder of the root into the list: a session, or each session of a sweep's folder, named SWEEP/SESSION;
 * 0, or -1 out of memory. */
static int ui_sessions_add(ui_app *a, int64_t *cap, const char *root, const char *name, pd_error *err)
{
    char path[PD_PATH_MAX];
    if (name[0] == '.' || path_join(path, sizeof path, root, name, err) != PD_OK)
        return 0;
    if (session_exists(path))
        return ui_sessions_add_one(a, cap, path, name, err);
    if (!ui_sessions_is_sweep(path))
        return 0;
    DIR *d = opendir(path);
    struct dirent *e;
    int rc = 0;
    while (d && rc == 0 && (e = readdir(d)) != NULL) {
        char sub[PD_PATH_MAX], label[2 * sizeof e->d_name + 2];
        if (e->d_name[0] == '.' || path_join(sub, sizeof sub, path, e->d_name, NULL) != PD_OK || !session_exists(sub))
            continue;
        snprintf(label, sizeof label, "%s/%s", name, e->d_name);
        rc = ui_sessions_add_one(a, cap, sub, label, err);
    }
    if (d)
        closedir(d);
    return rc;
}

void ui_sessions_scan(ui_app *a)
{
    char(*marked)[PD_PATH_MAX];
    int nmarked;
    int *order = ui_sessions_keep_marks(a, &marked, &nmarked);
    char sel[PD_PATH_MAX] = "";
    const char *cur = ui_sessions_selected(a);
    if (cur)
        ui_app_copy(sel, sizeof sel, cur);
    ui_sessions_free(a);
    a->sess_root_stamp = ui_sessions_root_stamp(a);
    const char *root = a->sessions_root[0] ? a->sessions_root : ".";
    DIR *d = opendir(root);
    int64_t cap = 0;
    struct dirent *e;
    pd_error err = {0};
    while (d && (e = readdir(d)) != NULL)
        if (ui_sessions_add(a, &cap, root, e->d_name, &err) != 0)
            break;
    if (d)
        closedir(d);
    if (err.status != PD_OK) /* a session left out or partly read: say which */
        ui_nav_error(a, &err);
    for (int i = 0; i < a->nsess; i++)
        for (int k = 0; k < nmarked; k++)
            if (strcmp(a->sess[i].path, marked[k]) == 0)
                a->sess[i].marked = order[k];
    free(order);
    free(marked);
    ui_sessions_sort(a, sel[0] ? sel : NULL);
}

/* Indices of the sessions that pass the filter into idx (may be NULL); returns the count. */
static int ui_sessions_visible(const ui_app *a, int *idx)
{
    int n = 0;
    for (int i = 0; i < a->nsess; i++) {
        const ui_session_entry *s = &a->sess[i];
        const char *f = a->sess_filter;
        char date[32] = "";
        if (f[0] && isfinite(s->date)) {
            time_t t = (time_t)s->date;
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
        }
        if (f[0] && !strstr(s->name, f) && !strstr(s->arch, f) && !strstr(s->dataset, f) && !strstr(date, f))
            continue;
        if (idx)
            idx[n] = i;
        n++;
    }
    return n;
}

/* Sort by a->sess_sort (a->sess_rev); the cursor stays on the session at path keep (NULL: stays in place). */
void ui_sessions_sort(ui_app *a, const char *keep)
{
    if (a->nsess > 1)
        qsort_r(a->sess, (size_t)a->nsess, sizeof *a->sess, ui_sessions_cmp, a);
    int *idx = a->nsess ? malloc(sizeof *idx * (size_t)a->nsess) : NULL;
    int n = idx ? ui_sessions_visible(a, idx) : 0;
    for (int k = 0; keep && k < n; k++)
        if (strcmp(a->sess[idx[k]].path, keep) == 0)
            a->sess_cursor = k;
    free(idx);
    if (a->sess_cursor >= n)
        a->sess_cursor = n > 0 ? n - 1 : 0;
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

static ui_session_entry *ui_sessions_selected_entry(ui_app *a)
{
    const char *p = ui_sessions_selected(a);
    for (int i = 0; p && i < a->nsess; i++)
        if (a->sess[i].path == p)
            return &a->sess[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------------ keys */

/* Space: mark the selected session for the compare view (or unmark it), then move down. */
static void ui_sessions_mark(ui_app *a)
{
    ui_session_entry *s = ui_sessions_selected_entry(a);
    if (!s)
        return;
    int was = s->marked, most = 0, count = 0;
    for (int i = 0; i < a->nsess; i++) {
        if (was && a->sess[i].marked > was)
            a->sess[i].marked--; /* the later marks move up: the order stays 1..n */
        most = a->sess[i].marked > most ? a->sess[i].marked : most;
    }
    if (!was && most >= UI_COMPARE_MAX) {
        ui_nav_message(a, 1, "at most %d sessions can be compared", UI_COMPARE_MAX);
        return;
    }
    s->marked = was ? 0 : most + 1;
    for (int i = 0; i < a->nsess; i++)
        count += a->sess[i].marked > 0;
    ui_nav_message(a, 0, "%d session%s marked%s", count, count == 1 ? "" : "s",
                   count >= 2 ? " (c compares them)" : " (mark another with Space, then c compares)");
    a->sess_cursor++;
    ui_sessions_nav(a, -1); /* clamps */
}

/* c: the compare view of the marked sessions, in the order they were marked. */
static void ui_sessions_compare(ui_app *a)
{
    const char *dirs[UI_COMPARE_MAX], *names[UI_COMPARE_MAX];
    int n = 0;
    for (int m = 1; m <= UI_COMPARE_MAX; m++)
        for (int i = 0; i < a->nsess; i++)
            if (a->sess[i].marked == m && n < UI_COMPARE_MAX) {
                dirs[n] = a->sess[i].path;
                names[n++] = a->sess[i].name;
            }
    if (n < 2) {
        ui_nav_message(a, 1, "mark at least two sessions with Space to compare them (%d marked)", n);
        return;
    }
    ui_compare_open(a, dirs, names, n);
}

static void ui_sessions_cycle_sort(ui_app *a, int reverse)
{
    char keep[PD_PATH_MAX] = "";
    const char *cur = ui_sessions_selected(a);
    if (cur)
        ui_app_copy(keep, sizeof keep, cur);
    if (reverse)
        a->sess_rev = !a->sess_rev;
    else {
        a->sess_sort = (a->sess_sort + 1) % SC_N;
        a->sess_rev = 0;
    }
    ui_sessions_sort(a, keep[0] ? keep : NULL);
    ui_nav_message(a, 0, "sessions sorted by %s%s", ui_sessions_cols[ui_sessions_sort_keys[a->sess_sort]].title,
                   a->sess_rev ? ", reversed" : "");
}

/* d / Delete: ask before deleting the selected session (y deletes, anything else keeps it). */
static void ui_sessions_ask_delete(ui_app *a)
{
    const char *p = ui_sessions_selected(a);
    if (!p) {
        ui_nav_message(a, 1, "no session selected");
        return;
    }
    ui_app_copy(a->sess_delete, sizeof a->sess_delete, p);
}

void ui_sessions_key(ui_app *a, int key)
{
    if (a->cmp) {
        if (key == 'c')
            ui_compare_close(a);
        return;
    }
    switch (key) {
    case ' ':
        ui_sessions_mark(a);
        break;
    case 'c':
        ui_sessions_compare(a);
        break;
    case 'o':
    case 'O':
        ui_sessions_cycle_sort(a, key == 'O');
        break;
    default: /* d, Delete */
        ui_sessions_ask_delete(a);
        break;
    }
}

/* ------------------------------------------------------------------------------------------------ delete */

static int ui_sessions_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path); /* a link is removed itself, never what it names */
    return rc == 0 || errno == ENOENT ? 0 : -1;
}

/* Why dir (root/NAME) may not be deleted, NULL when it may: a real folder, a session, not being written. */
static const char *ui_sessions_refuse(const ui_app *a, const char *dir, char *why, size_t size)
{
    struct stat st;
    const char *root = a->sessions_root[0] ? a->sessions_root : ".";
    size_t rl = strlen(root);
    pd_session_owner who;
    const char *sep = strncmp(dir, root, rl) == 0 && dir[rl] == '/' ? strchr(dir + rl + 1, '/') : NULL;
    if (sep && !strchr(sep + 1, '/'))
        snprintf(why, size, "%s: a run of the sweep in %.*s (its tables list it); not deleted", dir, (int)(sep - dir),
                 dir);
    else if (strncmp(dir, root, rl) != 0 || dir[rl] != '/' || sep)
        snprintf(why, size, "%s: not a folder of %s; not deleted", dir, root);
    else if (lstat(dir, &st) != 0)
        snprintf(why, size, "%s: %s", dir, strerror(errno));
    else if (S_ISLNK(st.st_mode))
        snprintf(why, size, "%s is a symbolic link; pdiff deletes only session folders, never what a link names", dir);
    else if (!S_ISDIR(st.st_mode) || !session_exists(dir))
        snprintf(why, size, "%s: not a session folder (no config.csv); not deleted", dir);
    else if (session_owner(dir, &who) || (a->job && strcmp(a->run_dir, dir) == 0))
        snprintf(why, size, "%s: a run is writing it (pid %ld%s%.64s); not deleted", dir,
                 who.pid ? who.pid : (long)getpid(), who.host[0] ? " on " : "", who.host);
    else
        return NULL;
    return why;
}

static void ui_sessions_delete(ui_app *a, const char *dir)
{
    char why[PD_PATH_MAX + 200];
    if (ui_sessions_refuse(a, dir, why, sizeof why)) {
        ui_nav_message(a, 1, "%s", why);
        return;
    }
    if (nftw(dir, ui_sessions_rm, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
        ui_nav_message(a, 1, "%s: could not delete everything (%s)", dir, strerror(errno));
    } else
        ui_nav_message(a, 0, "deleted %s", dir);
    if (a->res && strcmp(a->res->dir, dir) == 0)
        ui_results_set(a, NULL); /* its screens would show a session that is gone */
    ui_sessions_scan(a);
}

void ui_sessions_confirm_key(ui_app *a, int key)
{
    char dir[PD_PATH_MAX];
    ui_app_copy(dir, sizeof dir, a->sess_delete);
    a->sess_delete[0] = '\0';
    a->dirty = 1;
    if (key == 'y' || key == 'Y')
        ui_sessions_delete(a, dir);
    else
        ui_nav_message(a, 0, "kept %s", dir);
}

/* ------------------------------------------------------------------------------------------------ drawing */

void ui_sessions_nav(ui_app *a, int act)
{
    if (a->cmp) {
        ui_compare_nav(a, act);
        return;
    }
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

/* The cells of one row. */
static void ui_sessions_cells(const ui_session_entry *s, char c[SC_N][64])
{
    for (int j = 0; j < SC_N; j++)
        ui_app_copy(c[j], sizeof c[j], ui_sessions_is_text(j) ? ui_sessions_text(s, j) : "-");
    if (isfinite(s->date)) {
        time_t t = (time_t)s->date;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(c[SC_DATE], sizeof c[SC_DATE], "%Y-%m-%d %H:%M", &tm);
    }
    if (isfinite(s->d))
        ui_table_fmt_count((int64_t)s->d, c[SC_D], sizeof c[SC_D]);
    if (isfinite(s->k))
        snprintf(c[SC_K], sizeof c[SC_K], "%.0f", s->k);
    if (isfinite(s->seed))
        snprintf(c[SC_SEED], sizeof c[SC_SEED], "%.0f", s->seed);
    ui_table_fmt_pct(s->pbest, c[SC_PBEST], sizeof c[SC_PBEST]);
    if (isfinite(s->novelty))
        snprintf(c[SC_NOVELTY], sizeof c[SC_NOVELTY], "%.3f", s->novelty);
    ui_table_fmt_duration(s->wall, c[SC_WALL], sizeof c[SC_WALL]);
}

void ui_sessions_draw_confirm(ui_app *a)
{
    int w = a->cols - 4 < 72 ? a->cols - 4 : 72, h = 6;
    int y = (a->rows - h) / 2, x = (a->cols - w) / 2;
    const char *name = strrchr(a->sess_delete, '/');
    attrset(ui_term_role(a, UI_C_WARN));
    ui_term_box(a, y, x, h, w, "delete");
    attrset(A_NORMAL);
    ui_term_textf(y + 2, x + 2, w - 4, "Delete session %s and all its files?", name ? name + 1 : a->sess_delete);
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_text(y + 3, x + 2, w - 4, "y: delete    n / Esc: keep it");
    attrset(A_NORMAL);
}

static void ui_sessions_draw_head(ui_app *a, int y, int n)
{
    attrset(ui_term_role(a, UI_C_HEAD));
    ui_term_textf(y, 0, a->cols, " sessions in %s: %d%s%s, sorted by %s%s  (Enter opens, Space marks, c compares)",
                  a->sessions_root[0] ? a->sessions_root : ".", n, a->sess_filter[0] ? "  filter: " : "",
                  a->sess_filter, ui_sessions_cols[ui_sessions_sort_keys[a->sess_sort]].title,
                  a->sess_rev ? ui_term_glyph(a, " \u25b2", " (reversed)") : ui_term_glyph(a, " \u25bc", ""));
    attrset(A_NORMAL);
}

void ui_sessions_draw(ui_app *a, int y, int h)
{
    if (a->cmp) {
        ui_compare_draw(a, y, h);
        return;
    }
    int W = a->cols;
    int *idx = a->nsess ? malloc(sizeof *idx * (size_t)a->nsess) : NULL;
    int n = idx ? ui_sessions_visible(a, idx) : 0;
    ui_sessions_draw_head(a, y, n);
    if (n == 0) {
        attrset(ui_term_role(a, UI_C_DIM));
        ui_term_text(y + 2, 1, W - 1,
                     a->nsess ? "no session matches the filter (Esc clears it)"
                              : "no sessions yet: start a run from Setup (1, then r)");
        attrset(A_NORMAL);
        free(idx);
        return;
    }
    int w[SC_N];
    int shown = ui_table_layout(ui_sessions_cols, SC_N, W - 3, w);
    const char *head[SC_N];
    for (int i = 0; i < SC_N; i++)
        head[i] = ui_sessions_cols[i].title;
    char line[1024];
    ui_table_row(head, ui_sessions_cols, w, shown, a->utf8, line, sizeof line);
    attrset(A_UNDERLINE);
    ui_term_textf(y + 1, 0, W, "   %s", line);
    attrset(A_NORMAL);
    int lh = h - 2;
    ui_term_clip_rows(&a->sess_top, a->sess_cursor, n, lh);
    a->sess_draws++;
    for (int i = 0; i < lh && a->sess_top + i < n; i++) {
        int k = a->sess_top + i;
        ui_session_entry *s = &a->sess[idx[k]];
        s->shown = a->sess_draws;
        char c[SC_N][64];
        ui_sessions_cells(s, c);
        const char *cells[SC_N];
        for (int j = 0; j < SC_N; j++)
            cells[j] = c[j];
        ui_table_row(cells, ui_sessions_cols, w, shown, a->utf8, line, sizeof line);
        int open = a->res && strcmp(a->res->dir, s->path) == 0;
        attrset(k == a->sess_cursor ? ui_term_role(a, UI_C_SEL) : open ? A_BOLD : A_NORMAL);
        char mark[4] = "  ";
        if (s->marked)
            mark[0] = (char)('A' + s->marked - 1);
        if (open)
            mark[1] = '*';
        ui_term_textf(y + 2 + i, 0, W, "%s %s", mark, line);
        attrset(A_NORMAL);
    }
    free(idx);
}
