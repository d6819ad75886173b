/* progress_file.c — a session's progress.csv (progress_file.h). */
#include "progress_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "csvio.h"
#include "path.h"

static const char *const progress_columns[] = {"stage",        "unit",          "done", "total", "unit_start",
                                               "unit_seconds", "stage_seconds", "pid"};
#define PROGRESS_COLUMNS (int)(sizeof progress_columns / sizeof progress_columns[0])

pd_status progress_file_write(const char *dir, const pd_progress_snapshot *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, PROGRESS_FILE_NAME, err));
    pd_atomic_file f;
    PD_TRY(atomic_open(&f, path, err));
    pd_csv_writer *w;
    if (csvio_create_stream(&w, f.fp, err) != PD_OK) {
        atomic_abort(&f);
        return err->status;
    }
    for (int c = 0; c < PROGRESS_COLUMNS; c++)
        csvio_text(w, progress_columns[c]);
    csvio_endrow(w);
    csvio_text(w, s->stage);
    csvio_text(w, s->unit);
    csvio_int(w, s->done);
    csvio_int(w, s->total);
    csvio_int(w, s->unit_start);
    csvio_num(w, s->unit_seconds);
    csvio_num(w, s->stage_seconds);
    csvio_int(w, s->pid);
    csvio_endrow(w);
    if (csvio_commit(w, err) != PD_OK) { /* flushes the stream */
        atomic_abort(&f);
        return err->status;
    }
    return atomic_commit_volatile(&f, err); /* no fsync: rewritten every second, and nothing depends on it */
}

/* A whole number >= 0 from cell c of row 0, or -1. */
static int64_t progress_count(const pd_csv_table *t, int c)
{
    const char *v = csvio_cell(t, 0, c);
    char *end;
    long long n = v && v[0] ? strtoll(v, &end, 10) : -1;
    return v && v[0] && *end == '\0' && n >= 0 ? (int64_t)n : -1;
}

/* A finite number >= 0 from cell c of row 0, or -1. */
static double progress_seconds(const pd_csv_table *t, int c)
{
    const char *v = csvio_cell(t, 0, c);
    char *end;
    double x = v && v[0] ? strtod(v, &end) : -1;
    return v && v[0] && *end == '\0' && isfinite(x) && x >= 0 ? x : -1;
}

static int progress_parse(const pd_csv_table *t, pd_progress_snapshot *s)
{
    int col[PROGRESS_COLUMNS];
    for (int c = 0; c < PROGRESS_COLUMNS; c++)
        if ((col[c] = csvio_column(t, progress_columns[c])) < 0)
            return 0;
    if (t->rows != 1)
        return 0;
    const char *stage = csvio_cell(t, 0, col[0]), *unit = csvio_cell(t, 0, col[1]);
    if (!stage || !unit || strlen(stage) >= sizeof s->stage || strlen(unit) >= sizeof s->unit)
        return 0;
    snprintf(s->stage, sizeof s->stage, "%s", stage);
    snprintf(s->unit, sizeof s->unit, "%s", unit);
    s->done = progress_count(t, col[2]);
    s->total = progress_count(t, col[3]);
    s->unit_start = progress_count(t, col[4]);
    s->unit_seconds = progress_seconds(t, col[5]);
    s->stage_seconds = progress_seconds(t, col[6]);
    s->pid = (long)progress_count(t, col[7]);
    return s->done >= 0 && s->total >= 0 && s->done <= s->total && s->unit_start >= 0 && s->unit_start <= s->done &&
           s->unit_seconds >= 0 && s->stage_seconds >= 0 && s->pid >= 0;
}

int progress_file_read(const char *dir, pd_progress_snapshot *s)
{
    memset(s, 0, sizeof *s);
    char path[PD_PATH_MAX];
    pd_error err = {0};
    pd_csv_table t;
    if (path_join(path, sizeof path, dir, PROGRESS_FILE_NAME, &err) != PD_OK || csvio_read(path, &t, &err) != PD_OK)
        return 0;
    int ok = progress_parse(&t, s);
    csvio_free(&t);
    if (!ok)
        memset(s, 0, sizeof *s);
    return ok;
}

int progress_file_read_of(const char *dir, long pid, pd_progress_snapshot *s)
{
    if (progress_file_read(dir, s) && s->pid == pid)
        return 1;
    memset(s, 0, sizeof *s);
    return 0;
}

double progress_file_seconds_left(const pd_progress_snapshot *s)
{
    int64_t did = s->done - s->unit_start;
    if (s->total <= 0 || did <= 0 || !(s->unit_seconds > 0))
        return NAN;
    return (double)(s->total - s->done) * s->unit_seconds / (double)did;
}
