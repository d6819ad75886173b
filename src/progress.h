/* progress.h — how long-running engine work reports to its caller (CLI progress bars, the TUI's job API).
 *
 * The engine never prints. Training loops call these hooks instead; every hook may be NULL. should_cancel is
 * polled about once per batch/step: when it returns non-zero the loop stops at a clean point (state saved by the
 * caller) and returns PD_ERR_CANCELLED.
 */
#ifndef PD_PROGRESS_H
#define PD_PROGRESS_H

#include <stdint.h>

typedef struct {
    /* units of work done out of total. `stage` names the unit, which is a pipeline stage's work or part of it:
     * "task" (train stage), "collect", "ae", "ddpm", "generate" (sampling, generate stage), "evaluate"
     * (evaluating models: generate stage), "analyze" (analyze stage) */
    void (*on_progress)(void *ud, const char *stage, int64_t done, int64_t total);
    /* one loss point; accuracy is NaN when the stage has none */
    void (*on_metric)(void *ud, const char *stage, int64_t step, double loss, double accuracy);
    /* a human-readable log line (no trailing newline) */
    void (*on_log)(void *ud, const char *line);
    int (*should_cancel)(void *ud);
    /* a pipeline stage ("train", ...) starts (started = 1) or completes (started = 0) */
    void (*on_stage)(void *ud, const char *stage, int started);
    void *ud;
} pd_callbacks;

static inline int progress_cancelled(const pd_callbacks *cb)
{
    return cb && cb->should_cancel && cb->should_cancel(cb->ud);
}

static inline void progress_report(const pd_callbacks *cb, const char *stage, int64_t done, int64_t total)
{
    if (cb && cb->on_progress)
        cb->on_progress(cb->ud, stage, done, total);
}

static inline void progress_metric(const pd_callbacks *cb, const char *stage, int64_t step, double loss,
                                   double accuracy)
{
    if (cb && cb->on_metric)
        cb->on_metric(cb->ud, stage, step, loss, accuracy);
}

void progress_log(const pd_callbacks *cb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): what progress, ETAs and timings are measured with. */
double progress_now(void);

/* One forward-only bar over the parts of a stage (sampling then evaluation, ...): the stage reports under `unit`
 * (its own name) `done` out of `total` work units, and each part, begun with progress_parts_next(span), maps its
 * own done/total onto the next `span` units. Pass `cb` to a part's code: its progress is mapped (whatever unit it
 * names), every other hook goes to the parent as it is; reports never go backwards.
 *
 *   pd_progress_parts pp;
 *   progress_parts_init(&pp, &p->cb, "generate", n_samples + n_models);
 *   progress_parts_next(&pp, n_samples);  ddpm_sample(..., &pp.cb, ...);      // 0 .. n_samples
 *   progress_parts_next(&pp, n_models);   progress_parts_report(&pp, i + 1, n_models);
 */
typedef struct {
    pd_callbacks parent; /* a copy: the caller may point its own hooks at pp.cb meanwhile */
    pd_callbacks cb;
    const char *unit;
    int64_t total, base, span, last;
} pd_progress_parts;

void progress_parts_init(pd_progress_parts *pp, const pd_callbacks *parent, const char *unit, int64_t total);
/* The next part takes `span` units after the previous one's. */
void progress_parts_next(pd_progress_parts *pp, int64_t span);
/* The current part has done `done` of its `total`. */
void progress_parts_report(pd_progress_parts *pp, int64_t done, int64_t total);

#endif
