/* job.h — a pipeline run in a worker thread, for front ends that must never block (the TUI).
 *
 * job_start() copies the configuration, starts a thread that opens the session and runs the stages, and
 * returns at once. The worker never touches the caller's data: it appends events (stage started/finished,
 * progress, log lines, the final status) and metrics (loss points per stage) to bounded queues under a mutex,
 * and writes a byte to a pipe so the caller can poll() job_wake_fd() together with its keyboard. The caller
 * drains the queues with job_poll_events()/job_poll_metrics() whenever it likes. job_cancel() asks the run to
 * stop at the next step; the pipeline then saves its state and the job finishes with PD_ERR_CANCELLED.
 * Results are read afterwards as immutable snapshots from the session folder (results.h).
 *
 *   pd_job *j;
 *   job_start(&j, &cfg, "sessions/run1", PIPELINE_ALL_STAGES, 0, &err);
 *   while (...) { poll(job_wake_fd(j)...); n = job_poll_events(j, ev, 64); ... }
 *   job_free(j);   // cancels and joins when still running
 */
#ifndef PD_JOB_H
#define PD_JOB_H

#include <stdint.h>

#include "config.h"
#include "error.h"

typedef enum {
    PD_JOB_EVENT_STAGE_START,   /* text = stage name */
    PD_JOB_EVENT_STAGE_DONE,    /* text = stage name */
    PD_JOB_EVENT_PROGRESS,      /* text = progress unit ("task", "evaluate", ...), done/total */
    PD_JOB_EVENT_LOG,           /* text = the line */
    PD_JOB_EVENT_FINISHED       /* status = final status, text = error message (empty on success) */
} pd_job_event_kind;

typedef struct {
    pd_job_event_kind kind;
    pd_status status;
    int64_t done, total;
    double elapsed;         /* seconds since job start */
    char text[PD_ERROR_MSG_MAX];
} pd_job_event;

typedef struct {
    char stage[16];         /* task, collect, ae, ddpm */
    int64_t step;
    double loss, accuracy;  /* accuracy NaN when none */
} pd_job_metric;

typedef struct pd_job pd_job;

/* Fails at once (no job, *out = NULL) on an invalid configuration or a session_dir over PD_PATH_MAX; every later
 * failure, a missing data set included, comes as the FINISHED event. The worker holds the session's writer lock
 * (session_open with create, through pipeline_open) for the whole run: a session another run is writing, in this
 * process or another (pdiff run/resume), ends the job with PD_ERR_IO "DIR: in use by pdiff run (pid N); ...". */
pd_status job_start(pd_job **out, const pd_config *cfg, const char *session_dir, unsigned stages, int resume,
                    pd_error *err);
void job_cancel(pd_job *j);
int job_running(const pd_job *j);
/* Copy up to max queued events/metrics into out (oldest first) and remove them; returns the count.
 * Progress events are coalesced: only the latest per unit is kept. */
int job_poll_events(pd_job *j, pd_job_event *out, int max);
int job_poll_metrics(pd_job *j, pd_job_metric *out, int max);
/* Read end of the wake-up pipe (readable when something was queued); job_poll_* drain it. */
int job_wake_fd(const pd_job *j);
const char *job_session_dir(const pd_job *j);
/* Join the worker (blocks) and return the run's final status with its message. */
pd_status job_wait(pd_job *j, pd_error *err);
void job_free(pd_job *j); /* cancels and joins a running job; NULL is a no-op */

#endif
