/* test_job.c — the job API, the TUI's only contract with the engine: a tiny run in a worker thread polled to the
 * end (stage, progress, log and finished events, metrics, the final status, the result snapshot), start errors,
 * cancelling (status, message, the saved state) and resuming the cancelled session, several jobs one after the
 * other in one process.
 *
 * Nothing depends on timing: a job is polled until its FINISHED event, with a generous bound, and a cancel is asked
 * for either before the worker can have reached a stage, or once the run is inside an AE stage of a million steps,
 * which cannot finish by itself.
 */
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "job.h"
#include "pipeline.h"
#include "results.h"
#include "tap.h"
#include "zoo.h"

#define POLL_MS 100
#define POLL_BOUND 6000 /* x POLL_MS = 10 minutes: only a hung job gets there */
#define MAX_STAGES 16

static char data_dir[4200];

/* ------------------------------------------------------------------------------------------------ data */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A plain IDX split: class c's images are bright in row band c, plus noise, so a small MLP learns something. */
static int write_split(const char *prefix, int n, int size, unsigned seed)
{
    char path[4400];
    unsigned char hdr[16];
    size_t px = (size_t)(size * size), nimg = (size_t)n * px;
    unsigned char *img = malloc(nimg), *lab = malloc((size_t)n);
    if (!img || !lab)
        return -1;
    for (int i = 0; i < n; i++) {
        lab[i] = (unsigned char)(i % 10);
        for (int p = 0; p < size * size; p++) {
            seed = seed * 1103515245u + 12345u;
            int band = (p / size) * 10 / size == lab[i];
            img[(size_t)i * px + (size_t)p] = (unsigned char)((band ? 140 : 40) + (seed >> 16) % 100);
        }
    }
    put_be32(hdr, 0x803);
    put_be32(hdr + 4, (unsigned)n);
    put_be32(hdr + 8, (unsigned)size);
    put_be32(hdr + 12, (unsigned)size);
    int rc = 0;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", data_dir, prefix);
    FILE *f = fopen(path, "wb");
    rc |= !f || fwrite(hdr, 1, 16, f) != 16 || fwrite(img, 1, nimg, f) != nimg;
    if (f)
        rc |= fclose(f) != 0;
    put_be32(hdr, 0x801);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", data_dir, prefix);
    f = fopen(path, "wb");
    rc |= !f || fwrite(hdr, 1, 8, f) != 8 || fwrite(lab, 1, (size_t)n, f) != (size_t)n;
    if (f)
        rc |= fclose(f) != 0;
    free(img);
    free(lab);
    return rc ? -1 : 0;
}

/* The TINY run of tests/pipeline.sh, smaller still: 1 epoch, k = 10, 30 AE and DDPM steps; then key = value
 * when key is not NULL. */
static int tiny_config(pd_config *c, const char *key, const char *value)
{
    char dataset[4300];
    snprintf(dataset, sizeof dataset, "idx:%s", data_dir);
    const char *pairs[][2] = {
        {"dataset", dataset},   {"arch", "mlp"},        {"epochs", "1"},          {"k", "10"},
        {"save_every", "1"},    {"ae_steps", "30"}, {"ddpm_steps", "30"},     {"n_generate", "4"},
        {"n_recon", "2"},       {"timesteps", "20"},    {"ddpm_channels", "8,8,8,8"}, {"n_noise", "1"},
        {"noise_sigmas", "0.01"}, {"n_finetune", "1"},  {"finetune_steps", "2"},  {"threads", "1"},
    };
    pd_error err = {0};
    config_defaults(c);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (config_set(c, pairs[i][0], pairs[i][1], &err) != PD_OK) {
            tap_diag("config_set %s: %s", pairs[i][0], err.msg);
            return -1;
        }
    if (key && config_set(c, key, value, &err) != PD_OK) {
        tap_diag("config_set %s: %s", key, err.msg);
        return -1;
    }
    return 0;
}

static const char *session(const char *name)
{
    static char buf[4][4400];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tap_workdir("test_job"), name);
    return p;
}

static int file_exists(const char *dir, const char *name)
{
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* ------------------------------------------------------------------------------------------------ polling */

typedef struct {
    int events, logs, progress, bad_progress, finished, after_finished;
    char started[MAX_STAGES][16], done[MAX_STAGES][16];
    int n_started, n_done;
    pd_status status;
    char text[PD_ERROR_MSG_MAX];
    char want_log[128]; /* a log line starting with this was seen: */
    char seen_log[PD_ERROR_MSG_MAX];
    int64_t ae_done; /* latest "ae" progress */
    pd_job_metric *metrics;
    int n_metrics, cap_metrics, bad_metrics;
} job_log;

static void log_event(job_log *l, const pd_job_event *e)
{
    l->events++;
    if (l->finished)
        l->after_finished++;
    switch (e->kind) {
    case PD_JOB_EVENT_STAGE_START:
        if (l->n_started < MAX_STAGES)
            snprintf(l->started[l->n_started++], 16, "%s", e->text);
        break;
    case PD_JOB_EVENT_STAGE_DONE:
        if (l->n_done < MAX_STAGES)
            snprintf(l->done[l->n_done++], 16, "%s", e->text);
        break;
    case PD_JOB_EVENT_PROGRESS:
        l->progress++;
        if (!e->text[0] || e->total < 1 || e->done < 0 || e->done > e->total)
            l->bad_progress++;
        if (strcmp(e->text, "ae") == 0)
            l->ae_done = e->done;
        break;
    case PD_JOB_EVENT_LOG:
        l->logs++;
        if (l->want_log[0] && strncmp(e->text, l->want_log, strlen(l->want_log)) == 0)
            snprintf(l->seen_log, sizeof l->seen_log, "%s", e->text);
        break;
    case PD_JOB_EVENT_FINISHED:
        l->finished++;
        l->status = e->status;
        snprintf(l->text, sizeof l->text, "%s", e->text);
        break;
    }
}

static void log_drain(pd_job *j, job_log *l)
{
    pd_job_event ev[64];
    pd_job_metric m[256];
    int n;
    while ((n = job_poll_events(j, ev, 64)) > 0)
        for (int i = 0; i < n; i++)
            log_event(l, &ev[i]);
    while ((n = job_poll_metrics(j, m, 256)) > 0) {
        if (l->n_metrics + n > l->cap_metrics) {
            int cap = 2 * (l->n_metrics + n);
            pd_job_metric *nm = realloc(l->metrics, (size_t)cap * sizeof *nm);
            if (!nm) {
                l->bad_metrics += n;
                continue;
            }
            l->metrics = nm;
            l->cap_metrics = cap;
        }
        for (int i = 0; i < n; i++) {
            l->metrics[l->n_metrics++] = m[i];
            if (!isfinite(m[i].loss) || m[i].step < 1 || !m[i].stage[0])
                l->bad_metrics++;
        }
    }
}

typedef int (*job_trigger)(const job_log *l);

/* Poll the job until its FINISHED event; when trigger says so (once), cancel it. Returns 1 when it finished. */
static int log_until_finished(pd_job *j, job_log *l, job_trigger trigger)
{
    int cancelled = 0;
    for (int i = 0; i < POLL_BOUND && !l->finished; i++) {
        struct pollfd pf = {.fd = job_wake_fd(j), .events = POLLIN};
        (void)poll(&pf, 1, POLL_MS);
        log_drain(j, l);
        if (trigger && !cancelled && trigger(l)) {
            job_cancel(j);
            cancelled = 1;
        }
    }
    log_drain(j, l);
    return l->finished > 0;
}

static void log_free(job_log *l)
{
    free(l->metrics);
    memset(l, 0, sizeof *l);
}

static int stage_index(char names[][16], int n, const char *stage)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], stage) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------------------------------------ checks */

static const char *const all_stages[] = {"train", "collect", "ae", "ddpm", "generate", "analyze"};

static void check_complete_run(const job_log *l, const char *what)
{
    tap_ok(l->finished == 1 && l->after_finished == 0, "%s: exactly one FINISHED event, the last one", what);
    tap_ok(l->status == PD_OK && l->text[0] == '\0', "%s: finished with PD_OK and no message (%s)", what, l->text);
    int order = l->n_started == 6 && l->n_done == 6;
    for (int i = 0; order && i < 6; i++)
        order = strcmp(l->started[i], all_stages[i]) == 0 && strcmp(l->done[i], all_stages[i]) == 0;
    tap_ok(order, "%s: STAGE_START and STAGE_DONE for the six stages in order (%d started, %d done)", what,
           l->n_started, l->n_done);
    tap_ok(l->progress > 0 && l->bad_progress == 0, "%s: %d progress events, each with a unit and 0 <= done <= total",
           what, l->progress);
    tap_ok(l->logs > 0, "%s: %d log lines", what, l->logs);
    tap_ok(l->n_metrics > 0 && l->bad_metrics == 0, "%s: %d metrics, each with a stage, a step and a finite loss",
           what, l->n_metrics);
    static const char *const metric_stages[] = {"task", "collect", "ae", "ddpm"};
    for (int s = 0; s < 4; s++) {
        int n = 0;
        for (int i = 0; i < l->n_metrics; i++)
            n += strcmp(l->metrics[i].stage, metric_stages[s]) == 0;
        tap_ok(n > 0, "%s: %d metric points of stage %s", what, n, metric_stages[s]);
    }
    int acc_ok = 1;
    for (int i = 0; i < l->n_metrics; i++) {
        double a = l->metrics[i].accuracy;
        if (strcmp(l->metrics[i].stage, "task") == 0 ? !(a >= 0.0 && a <= 1.0) : !isnan(a))
            acc_ok = 0;
    }
    tap_ok(acc_ok, "%s: task metrics carry an accuracy in [0, 1], the others NaN", what);
}

/* The snapshot of a finished session agrees with what the job reported. */
static void check_snapshot(const char *dir, const job_log *l)
{
    pd_results *r = NULL;
    pd_error err = {0};
    pd_status st = results_load(&r, dir, &err);
    if (!tap_ok(st == PD_OK, "results_load of the finished session (%s)", err.msg))
        return;
    tap_ok(r->have_models && zoo_ids_of(&r->zoo, "original", NULL) == 10 && zoo_ids_of(&r->zoo, "pdiff", NULL) == 4,
           "snapshot: the zoo has the 10 originals and 4 p-diff models (%d models)", r->zoo.n);
    tap_ok(r->have_similarity && r->have_latents, "snapshot: similarity and latents present");
    double acc = results_summary(r, "task_accuracy");
    tap_ok(acc >= 0.0 && acc <= 1.0 && isfinite(results_summary(r, "pdiff_best")),
           "snapshot: summary has task_accuracy (%g) and pdiff_best", acc);
    const char *k = results_config(r, "k");
    tap_ok(k && strcmp(k, "10") == 0, "snapshot: config k = 10 (%s)", k ? k : "(none)");
    /* every metric point the job reported is in losses.csv (written with enough digits for 1e-6) */
    int missing = 0;
    for (int i = 0; i < l->n_metrics; i++) {
        const pd_job_metric *m = &l->metrics[i];
        int found = 0;
        for (int64_t q = 0; q < r->n_losses && !found; q++)
            found = strcmp(r->loss_stage[q], m->stage) == 0 && r->loss_step[q] == m->step &&
                    fabs(r->loss[q] - m->loss) <= 1e-6 * (1.0 + fabs(m->loss));
        missing += !found;
    }
    tap_ok(missing == 0 && r->n_losses == l->n_metrics,
           "snapshot: losses.csv has the %d metric points the job reported (%lld rows, %d missing)", l->n_metrics,
           (long long)r->n_losses, missing);
    results_free(r);
}

/* ------------------------------------------------------------------------------------------------ tests */

static void test_start_errors(void)
{
    pd_config c;
    pd_job *j = (pd_job *)(void *)&c; /* job_start must set it to NULL */
    pd_error err = {0};
    tiny_config(&c, NULL, NULL);
    c.k = 1; /* below the minimum */
    pd_status st = job_start(&j, &c, session("never"), PIPELINE_ALL_STAGES, 0, &err);
    tap_ok(st == PD_ERR_CONFIG && j == NULL && strstr(err.msg, "k"),
           "job_start with an invalid configuration fails at once, no job (%s)", err.msg);
    tap_ok(!file_exists(session("never"), "config.csv"), "... and writes nothing");

    static char longdir[PD_PATH_MAX + 100];
    memset(longdir, 'd', sizeof longdir - 1);
    tiny_config(&c, NULL, NULL);
    err = (pd_error){0};
    st = job_start(&j, &c, longdir, PIPELINE_ALL_STAGES, 0, &err);
    tap_ok(st == PD_ERR_IO && j == NULL && strstr(err.msg, "path too long"),
           "job_start with a session path over PD_PATH_MAX fails at once (%.60s)", err.msg);

    job_free(NULL);
    job_cancel(NULL);
    tap_ok(!job_running(NULL), "job_free/job_cancel/job_running accept NULL");
}

static void test_missing_data(void)
{
    pd_config c;
    pd_job *j;
    pd_error err = {0};
    tiny_config(&c, NULL, NULL);
    char dataset[4400];
    snprintf(dataset, sizeof dataset, "idx:%s/nowhere", data_dir);
    config_set(&c, "dataset", dataset, NULL);
    if (!tap_ok(job_start(&j, &c, session("nodata"), PIPELINE_ALL_STAGES, 0, &err) == PD_OK,
                "a job on a missing data set starts (%s)", err.msg))
        return;
    job_log l = {0};
    tap_ok(log_until_finished(j, &l, NULL), "... and finishes");
    tap_ok(l.status != PD_OK && l.status != PD_ERR_CANCELLED && strstr(l.text, "nowhere"),
           "... with an error naming the folder (%s): %s", error_status_string(l.status), l.text);
    tap_ok(l.n_started == 0, "... before any stage started");
    err = (pd_error){0};
    tap_ok(job_wait(j, &err) == l.status && err.status == l.status && strcmp(err.msg, l.text) == 0,
           "job_wait returns the same status and message");
    job_free(j);
    log_free(&l);
}

static void test_full_run(void)
{
    pd_config c;
    pd_job *j;
    pd_error err = {0};
    const char *dir = session("full");
    tiny_config(&c, NULL, NULL);
    if (!tap_ok(job_start(&j, &c, dir, PIPELINE_ALL_STAGES, 0, &err) == PD_OK, "job_start of a tiny run (%s)",
                err.msg))
        return;
    tap_ok(strcmp(job_session_dir(j), dir) == 0, "job_session_dir is the session folder");
    job_log l = {0};
    tap_ok(log_until_finished(j, &l, NULL), "the tiny run finishes (polled through job_wake_fd)");
    tap_ok(!job_running(j), "job_running is 0 once FINISHED is seen");
    check_complete_run(&l, "tiny run");
    err = (pd_error){0};
    tap_ok(job_wait(j, &err) == PD_OK && err.msg[0] == '\0', "job_wait returns PD_OK");
    tap_ok(job_wait(j, NULL) == PD_OK, "job_wait again (already joined) returns PD_OK");
    job_free(j);
    check_snapshot(dir, &l);
    log_free(&l);
}

/* Cancelled before the worker can be in a stage: it stops in the first one, whose 10000 epochs could not finish
 * before the cancel anyway; resuming with the tiny run's settings completes the session. */
static void test_cancel_at_once_and_resume(void)
{
    pd_config c;
    pd_job *j;
    pd_error err = {0};
    const char *dir = session("cancel_at_once");
    tiny_config(&c, "epochs", "10000");
    if (!tap_ok(job_start(&j, &c, dir, PIPELINE_ALL_STAGES, 0, &err) == PD_OK, "second job in the process starts"))
        return;
    job_cancel(j);
    err = (pd_error){0};
    tap_ok(job_wait(j, &err) == PD_ERR_CANCELLED, "cancelled at once: job_wait returns PD_ERR_CANCELLED (%s)",
           err.msg);
    struct pollfd pf = {.fd = job_wake_fd(j), .events = POLLIN};
    tap_ok(poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN),
           "the wake-up pipe is readable after the worker queued events");
    job_log l = {0};
    log_drain(j, &l);
    pf.revents = 0;
    tap_ok(poll(&pf, 1, 0) == 0, "job_poll_events drained the wake-up pipe");
    tap_ok(l.finished == 1 && l.status == PD_ERR_CANCELLED && strcmp(l.text, err.msg) == 0,
           "FINISHED event with PD_ERR_CANCELLED and the message of job_wait");
    tap_ok(l.n_started == 1 && strcmp(l.started[0], "train") == 0 && l.n_done == 0,
           "it stopped in the first stage, which did not finish");
    tap_ok(!job_running(j), "job_running is 0");
    job_free(j);
    log_free(&l);

    err = (pd_error){0};
    tiny_config(&c, NULL, NULL);
    if (!tap_ok(job_start(&j, &c, dir, PIPELINE_ALL_STAGES, 1, &err) == PD_OK, "resume job starts (%s)", err.msg))
        return;
    tap_ok(log_until_finished(j, &l, NULL), "the resumed session finishes");
    check_complete_run(&l, "resumed run");
    job_free(j);
    check_snapshot(dir, &l);
    log_free(&l);
}

static int trigger_in_ae(const job_log *l)
{
    return l->ae_done >= 1;
}

static int trigger_resumed(const job_log *l)
{
    return l->seen_log[0] != '\0';
}

/* The step of "ae training stopped after step N of M (saved)", -1 when the message is another. */
static long long stopped_step(const char *msg)
{
    long long n = -1, total = 0;
    const char *p = strstr(msg, "ae training stopped after step ");
    if (!p || sscanf(p, "ae training stopped after step %lld of %lld", &n, &total) != 2 || total != 1000000)
        return -1;
    return n;
}

/* Cancelled in the middle of a stage that cannot finish by itself: the AE state is saved, a resumed job continues
 * from the saved step (and is cancelled again). */
static void test_cancel_in_stage_and_resume(void)
{
    pd_config c;
    pd_job *j;
    pd_error err = {0};
    const char *dir = session("cancel_in_ae");
    tiny_config(&c, "ae_steps", "1000000");
    if (!tap_ok(job_start(&j, &c, dir, PIPELINE_ALL_STAGES, 0, &err) == PD_OK, "job with a million AE steps starts"))
        return;
    job_log l = {0};
    tap_ok(log_until_finished(j, &l, trigger_in_ae), "cancelled once in the AE stage, it finishes");
    long long n = stopped_step(l.text);
    tap_ok(l.status == PD_ERR_CANCELLED && n >= 1, "PD_ERR_CANCELLED: %s", l.text);
    tap_ok(l.n_done == 2 && stage_index(l.done, l.n_done, "collect") == 1 && l.n_started == 3 &&
               strcmp(l.started[2], "ae") == 0,
           "train and collect finished, ae started and did not");
    tap_ok(file_exists(dir, "state/ae.bin") && !file_exists(dir, "state/ddpm.bin"),
           "the AE state is saved, there is no DDPM state");
    job_free(j);
    log_free(&l);

    err = (pd_error){0};
    if (!tap_ok(job_start(&j, &c, dir, PIPELINE_ALL_STAGES, 1, &err) == PD_OK, "resume job starts (%s)", err.msg))
        return;
    snprintf(l.want_log, sizeof l.want_log, "ae: resuming after step ");
    tap_ok(log_until_finished(j, &l, trigger_resumed), "resumed, cancelled again, it finishes");
    char want[128];
    snprintf(want, sizeof want, "ae: resuming after step %lld", n);
    tap_ok(strcmp(l.seen_log, want) == 0, "the resumed job continues from the saved step: '%s'", l.seen_log);
    tap_ok(l.n_started == 1 && strcmp(l.started[0], "ae") == 0,
           "the resumed job skips the finished stages (first stage started: %s)", l.n_started ? l.started[0] : "-");
    long long n2 = stopped_step(l.text);
    tap_ok(l.status == PD_ERR_CANCELLED && n2 >= n, "cancelled again at step %lld >= %lld", n2, n);
    job_free(j);
    log_free(&l);
}

int main(void)
{
    /* a fresh scratch folder: sessions of an earlier run would be resumed */
    nftw(tap_workdir("test_job"), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    snprintf(data_dir, sizeof data_dir, "%s/data", tap_workdir("test_job"));
    mkdir(data_dir, 0777);
    if (write_split("train", 500, 8, 1) != 0 || write_split("t10k", 200, 8, 2) != 0) {
        tap_ok(0, "cannot write the IDX data set into %s", data_dir);
        return tap_done();
    }
    test_start_errors();
    test_missing_data();
    test_full_run();
    test_cancel_at_once_and_resume();
    test_cancel_in_stage_and_resume();
    return tap_done();
}
