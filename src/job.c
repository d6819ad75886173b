/* job.c — the pipeline in a worker thread with event/metric queues (see job.h). */
#include "job.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "path.h"
#include "pipeline.h"

#define JOB_EVENTS 1024
#define JOB_METRICS 8192

struct pd_job {
    pd_config cfg;
    char dir[PD_PATH_MAX];
    unsigned stages;
    int resume;
    pthread_t thread;
    int joined;
    pthread_mutex_t mu;
    atomic_bool cancel;
    atomic_bool running;
    int pipe_fd[2];
    double t0;
    pd_job_event events[JOB_EVENTS];
    int ev_head, ev_count;
    pd_job_metric metrics[JOB_METRICS];
    int m_head, m_count;
    pd_status final_status;
    pd_error final_err;
};

static void job_wake(pd_job *j)
{
    char b = 1;
    ssize_t w = write(j->pipe_fd[1], &b, 1); /* non-blocking: a full pipe already wakes the reader */
    (void)w;
}

/* Append an event (caller holds no lock). Progress events replace a queued one of the same unit. */
static void job_push_event(pd_job *j, pd_job_event_kind kind, const char *text, int64_t done, int64_t total,
                           pd_status status)
{
    pthread_mutex_lock(&j->mu);
    pd_job_event *e = NULL;
    if (kind == PD_JOB_EVENT_PROGRESS)
        for (int i = 0; i < j->ev_count; i++) {
            pd_job_event *q = &j->events[(j->ev_head + i) % JOB_EVENTS];
            if (q->kind == PD_JOB_EVENT_PROGRESS && strcmp(q->text, text) == 0)
                e = q;
        }
    if (!e) {
        if (j->ev_count == JOB_EVENTS) { /* full: drop the oldest */
            j->ev_head = (j->ev_head + 1) % JOB_EVENTS;
            j->ev_count--;
        }
        e = &j->events[(j->ev_head + j->ev_count) % JOB_EVENTS];
        j->ev_count++;
    }
    e->kind = kind;
    e->status = status;
    e->done = done;
    e->total = total;
    e->elapsed = progress_now() - j->t0;
    snprintf(e->text, sizeof e->text, "%s", text ? text : "");
    pthread_mutex_unlock(&j->mu);
    job_wake(j);
}

static void job_on_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    job_push_event(ud, PD_JOB_EVENT_PROGRESS, stage, done, total, PD_OK);
}

static void job_on_log(void *ud, const char *line)
{
    job_push_event(ud, PD_JOB_EVENT_LOG, line, 0, 0, PD_OK);
}

static void job_on_stage(void *ud, const char *stage, int started)
{
    job_push_event(ud, started ? PD_JOB_EVENT_STAGE_START : PD_JOB_EVENT_STAGE_DONE, stage, 0, 0, PD_OK);
}

static void job_on_metric(void *ud, const char *stage, int64_t step, double loss, double acc)
{
    pd_job *j = ud;
    pthread_mutex_lock(&j->mu);
    if (j->m_count == JOB_METRICS) {
        j->m_head = (j->m_head + 1) % JOB_METRICS;
        j->m_count--;
    }
    pd_job_metric *m = &j->metrics[(j->m_head + j->m_count) % JOB_METRICS];
    j->m_count++;
    snprintf(m->stage, sizeof m->stage, "%s", stage);
    m->step = step;
    m->loss = loss;
    m->accuracy = acc;
    pthread_mutex_unlock(&j->mu);
    job_wake(j);
}

static int job_should_cancel(void *ud)
{
    pd_job *j = ud;
    return atomic_load(&j->cancel);
}

static void *job_main(void *arg)
{
    pd_job *j = arg;
    pd_callbacks cb = {.on_progress = job_on_progress, .on_metric = job_on_metric, .on_log = job_on_log,
                       .should_cancel = job_should_cancel, .on_stage = job_on_stage, .ud = j};
    pd_pipeline *p = NULL;
    pd_error err = {0};
    pd_status st = pipeline_open(&p, &j->cfg, j->dir, &cb, &err);
    if (st == PD_OK)
        st = pipeline_run(p, j->stages, j->resume, &err);
    pipeline_free(p);
    j->final_status = st;
    j->final_err = err;
    atomic_store(&j->running, 0);
    job_push_event(j, PD_JOB_EVENT_FINISHED, st == PD_OK ? "" : err.msg, 0, 0, st);
    return NULL;
}

pd_status job_start(pd_job **out, const pd_config *cfg, const char *session_dir, unsigned stages, int resume,
                    pd_error *err)
{
    *out = NULL;
    PD_TRY(config_validate(cfg, err));
    pd_job *j = calloc(1, sizeof *j);
    if (!j)
        return error_set(err, PD_ERR_NOMEM, "job: out of memory");
    pd_status st = path_format(j->dir, sizeof j->dir, err, "%s", session_dir);
    if (st != PD_OK) {
        free(j);
        return st;
    }
    j->cfg = *cfg;
    j->stages = stages;
    j->resume = resume;
    j->t0 = progress_now();
    atomic_init(&j->cancel, 0);
    atomic_init(&j->running, 1);
    pthread_mutex_init(&j->mu, NULL);
    if (pipe(j->pipe_fd) != 0) {
        pthread_mutex_destroy(&j->mu);
        free(j);
        return error_set(err, PD_ERR_IO, "job: cannot create a pipe");
    }
    for (int i = 0; i < 2; i++) {
        fcntl(j->pipe_fd[i], F_SETFL, fcntl(j->pipe_fd[i], F_GETFL) | O_NONBLOCK);
        fcntl(j->pipe_fd[i], F_SETFD, FD_CLOEXEC);
    }
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        close(j->pipe_fd[0]);
        close(j->pipe_fd[1]);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return error_set(err, PD_ERR_NOMEM, "job: cannot start the worker thread");
    }
    *out = j;
    return PD_OK;
}

void job_cancel(pd_job *j)
{
    if (j)
        atomic_store(&j->cancel, 1);
}

int job_running(const pd_job *j)
{
    return j && atomic_load(&((pd_job *)j)->running);
}

static void job_drain_pipe(pd_job *j)
{
    char buf[256];
    while (read(j->pipe_fd[0], buf, sizeof buf) > 0)
        ;
}

int job_poll_events(pd_job *j, pd_job_event *out, int max)
{
    job_drain_pipe(j);
    pthread_mutex_lock(&j->mu);
    int n = j->ev_count < max ? j->ev_count : max;
    for (int i = 0; i < n; i++)
        out[i] = j->events[(j->ev_head + i) % JOB_EVENTS];
    j->ev_head = (j->ev_head + n) % JOB_EVENTS;
    j->ev_count -= n;
    pthread_mutex_unlock(&j->mu);
    return n;
}

int job_poll_metrics(pd_job *j, pd_job_metric *out, int max)
{
    pthread_mutex_lock(&j->mu);
    int n = j->m_count < max ? j->m_count : max;
    for (int i = 0; i < n; i++)
        out[i] = j->metrics[(j->m_head + i) % JOB_METRICS];
    j->m_head = (j->m_head + n) % JOB_METRICS;
    j->m_count -= n;
    pthread_mutex_unlock(&j->mu);
    return n;
}

int job_wake_fd(const pd_job *j)
{
    return j->pipe_fd[0];
}

const char *job_session_dir(const pd_job *j)
{
    return j->dir;
}

pd_status job_wait(pd_job *j, pd_error *err)
{
    if (!j->joined) {
        pthread_join(j->thread, NULL);
        j->joined = 1;
    }
    if (err)
        *err = j->final_err;
    return j->final_status;
}

void job_free(pd_job *j)
{
    if (!j)
        return;
    job_cancel(j);
    job_wait(j, NULL);
    close(j->pipe_fd[0]);
    close(j->pipe_fd[1]);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
