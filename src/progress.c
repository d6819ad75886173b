/* progress.c — formatted log lines through the caller's hook; one bar over a stage's parts (see progress.h). */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void progress_log(const pd_callbacks *cb, const char *fmt, ...)
{
    if (!cb || !cb->on_log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cb->on_log(cb->ud, line);
}

static void progress_parts_on_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    (void)stage;
    progress_parts_report(ud, done, total);
}

static void progress_parts_on_metric(void *ud, const char *stage, int64_t step, double loss, double accuracy)
{
    pd_progress_parts *pp = ud;
    progress_metric(&pp->parent, stage, step, loss, accuracy);
}

static void progress_parts_on_log(void *ud, const char *line)
{
    pd_progress_parts *pp = ud;
    if (pp->parent.on_log)
        pp->parent.on_log(pp->parent.ud, line);
}

static int progress_parts_should_cancel(void *ud)
{
    pd_progress_parts *pp = ud;
    return progress_cancelled(&pp->parent);
}

static void progress_parts_on_stage(void *ud, const char *stage, int started)
{
    pd_progress_parts *pp = ud;
    if (pp->parent.on_stage)
        pp->parent.on_stage(pp->parent.ud, stage, started);
}

void progress_parts_init(pd_progress_parts *pp, const pd_callbacks *parent, const char *unit, int64_t total)
{
    pp->parent = parent ? *parent : (pd_callbacks){0};
    pp->cb = (pd_callbacks){.on_progress = progress_parts_on_progress, .on_metric = progress_parts_on_metric,
                            .on_log = progress_parts_on_log, .should_cancel = progress_parts_should_cancel,
                            .on_stage = progress_parts_on_stage, .ud = pp};
    pp->unit = unit;
    pp->total = total > 0 ? total : 1;
    pp->base = pp->span = 0;
    pp->last = -1;
}

void progress_parts_next(pd_progress_parts *pp, int64_t span)
{
    pp->base += pp->span;
    pp->span = span > 0 ? span : 0;
}

void progress_parts_report(pd_progress_parts *pp, int64_t done, int64_t total)
{
    int64_t at = pp->base;
    if (total > 0 && done > 0)
        at += done >= total ? pp->span : (int64_t)((double)pp->span * (double)done / (double)total);
    if (at > pp->total)
        at = pp->total;
    if (at <= pp->last)
        return; /* forward only, and no repeats */
    pp->last = at;
    progress_report(&pp->parent, pp->unit, at, pp->total);
}

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
