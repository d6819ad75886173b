/* session.c — session directory bookkeeping: losses.csv and summary.csv (see session.h). This is the one reader
 * of those two files; results.c gets them through session_open. */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "csvio.h"
#include "grow.h"
#include "path.h"

typedef struct {
    char stage[16];
    int64_t step;
    double loss, accuracy;
} session_loss;

typedef struct {
    char metric[64];
    double value;
} session_metric;

struct pd_session {
    char dir[PD_PATH_MAX];
    session_loss *losses;
    int64_t n_losses, cap_losses;
    session_metric *metrics;
    int n_metrics;
    int64_t cap_metrics;
    int lock_fd; /* the writer lock on dir/.lock (session_open with create), -1 for a reader */
    FILE *log;   /* run.log, opened by the first session_log */
};

const char *session_dir(const pd_session *s)
{
    return s->dir;
}

/* session_open keeps SESSION_PATH_ROOM characters free after the folder's name, so these always fit in a
 * PD_PATH_MAX buffer for a name of at most SESSION_NAME_MAX characters; anything else is a caller's bug. */
const char *session_path(const pd_session *s, const char *name, char *buf, size_t size)
{
    pd_status st = path_join(buf, size, s->dir, name, NULL);
    PD_ASSERT(st == PD_OK);
    return buf;
}

const char *session_state_path(const pd_session *s, const char *name, char *buf, size_t size)
{
    pd_status st = path_format(buf, size, NULL, "%s/state/%s.bin", s->dir, name);
    PD_ASSERT(st == PD_OK);
    return buf;
}

int session_file_exists(const pd_session *s, const char *name)
{
    char path[PD_PATH_MAX];
    struct stat st;
    return path_join(path, sizeof path, s->dir, name, NULL) == PD_OK && stat(path, &st) == 0;
}

int session_exists(const char *dir)
{
    char path[PD_PATH_MAX];
    struct stat st;
    return dir && dir[0] && path_join(path, sizeof path, dir, "config.csv", NULL) == PD_OK && stat(path, &st) == 0;
}

pd_status session_loss_add(pd_session *s, const char *stage, int64_t step, double loss, double accuracy)
{
    session_loss *nl = pd_grow(s->losses, &s->cap_losses, s->n_losses + 1, sizeof *nl, 1024);
    if (!nl)
        return PD_ERR_NOMEM;
    s->losses = nl;
    session_loss *l = &s->losses[s->n_losses++];
    snprintf(l->stage, sizeof l->stage, "%s", stage);
    l->step = step;
    l->loss = loss;
    l->accuracy = accuracy;
    return PD_OK;
}

void session_loss_drop_stage(pd_session *s, const char *stage, int64_t from_step)
{
    int64_t k = 0;
    for (int64_t i = 0; i < s->n_losses; i++)
        if (strcmp(s->losses[i].stage, stage) != 0 || s->losses[i].step <= from_step)
            s->losses[k++] = s->losses[i];
    s->n_losses = k;
}

int64_t session_loss_count(const pd_session *s)
{
    return s->n_losses;
}

void session_loss_at(const pd_session *s, int64_t i, const char **stage, int64_t *step, double *loss,
                     double *accuracy)
{
    const session_loss *l = &s->losses[i];
    *stage = l->stage;
    *step = l->step;
    *loss = l->loss;
    *accuracy = l->accuracy;
}

pd_status session_losses_write(pd_session *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    pd_csv_writer *w;
    PD_TRY(path_join(path, sizeof path, s->dir, "losses.csv", err));
    PD_TRY(csvio_create(&w, path, err));
    csvio_text(w, "stage");
    csvio_text(w, "step");
    csvio_text(w, "loss");
    csvio_text(w, "accuracy");
    csvio_endrow(w);
    for (int64_t i = 0; i < s->n_losses; i++) {
        const session_loss *l = &s->losses[i];
        csvio_text(w, l->stage);
        csvio_int(w, l->step);
        csvio_num(w, l->loss);
        csvio_num(w, l->accuracy); /* NaN becomes an empty cell */
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}

pd_status session_summary_set(pd_session *s, const char *metric, double value)
{
    for (int i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i].metric, metric) == 0) {
            s->metrics[i].value = value;
            return PD_OK;
        }
    session_metric *nm = pd_grow(s->metrics, &s->cap_metrics, s->n_metrics + 1, sizeof *nm, 64);
    if (!nm)
        return PD_ERR_NOMEM;
    s->metrics = nm;
    session_metric *m = &s->metrics[s->n_metrics++];
    snprintf(m->metric, sizeof m->metric, "%s", metric);
    m->value = value;
    return PD_OK;
}

int session_summary_get(const pd_session *s, const char *metric, double *value)
{
    for (int i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i].metric, metric) == 0) {
            if (value)
                *value = s->metrics[i].value;
            return 1;
        }
    return 0;
}

int session_summary_count(const pd_session *s)
{
    return s->n_metrics;
}

const char *session_summary_at(const pd_session *s, int i, double *value)
{
    if (value)
        *value = s->metrics[i].value;
    return s->metrics[i].metric;
}

pd_status session_summary_write(pd_session *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    pd_csv_writer *w;
    PD_TRY(path_join(path, sizeof path, s->dir, "summary.csv", err));
    PD_TRY(csvio_create(&w, path, err));
    csvio_text(w, "metric");
    csvio_text(w, "value");
    csvio_endrow(w);
    for (int i = 0; i < s->n_metrics; i++) {
        csvio_text(w, s->metrics[i].metric);
        csvio_num(w, s->metrics[i].value);
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}

/* The columns a session table needs (the first n_required of names) and may have (the rest; -1 when absent), in
 * any order, other columns ignored. PD_ERR_FORMAT "PATH: no 'loss' column (expected stage,step,loss[,accuracy])". */
static pd_status session_columns(const pd_csv_table *t, const char *path, const char *const *names, int n,
                                 int n_required, const char *expect, int *cols, pd_error *err)
{
    for (int i = 0; i < n; i++) {
        cols[i] = csvio_column(t, names[i]);
        if (cols[i] < 0 && i < n_required)
            return error_set(err, PD_ERR_FORMAT, "%s: no '%s' column (expected %s)", path, names[i], expect);
    }
    return PD_OK;
}

/* A step cell: a whole number (pdiff writes them with csvio_int). */
static pd_status session_cell_step(const pd_csv_table *t, const char *path, int64_t r, int col, int64_t *step,
                                   pd_error *err)
{
    double v;
    PD_TRY(csvio_cell_double(t, r, col, &v, err));
    if (!(v == floor(v) && fabs(v) < 9.0e15)) /* also refuses NaN (an empty cell) */
        return error_set(err, PD_ERR_FORMAT, "%s:%lld: column 'step': not a whole number: '%.60s'", path,
                         (long long)r + 2, csvio_cell(t, r, col));
    *step = (int64_t)v;
    return PD_OK;
}

/* losses.csv: stage,step,loss[,accuracy] (session_losses_write's format); an empty loss or accuracy is NaN. */
static pd_status session_read_losses(pd_session *s, const char *path, pd_error *err)
{
    static const char *const names[4] = {"stage", "step", "loss", "accuracy"};
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int c[4] = {-1, -1, -1, -1};
    pd_status st = session_columns(&t, path, names, 4, 3, "stage,step,loss[,accuracy]", c, err);
    for (int64_t r = 0; st == PD_OK && r < t.rows; r++) {
        int64_t step = 0;
        double loss = NAN, acc = NAN;
        st = session_cell_step(&t, path, r, c[1], &step, err);
        if (st == PD_OK)
            st = csvio_cell_double(&t, r, c[2], &loss, err);
        if (st == PD_OK && c[3] >= 0)
            st = csvio_cell_double(&t, r, c[3], &acc, err);
        if (st == PD_OK && session_loss_add(s, csvio_cell(&t, r, c[0]), step, loss, acc) != PD_OK)
            st = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    }
    csvio_free(&t);
    return st;
}

/* summary.csv: metric,value (session_summary_write's format); any metric name, an empty value is NaN, a repeated
 * metric keeps its first place and its last value. */
static pd_status session_read_summary(pd_session *s, const char *path, pd_error *err)
{
    static const char *const names[2] = {"metric", "value"};
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int c[2] = {-1, -1};
    pd_status st = session_columns(&t, path, names, 2, 2, "metric,value", c, err);
    for (int64_t r = 0; st == PD_OK && r < t.rows; r++) {
        double v = NAN;
        st = csvio_cell_double(&t, r, c[1], &v, err);
        if (st == PD_OK && session_summary_set(s, csvio_cell(&t, r, c[0]), v) != PD_OK)
            st = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    }
    csvio_free(&t);
    return st;
}

/* Read dir/name with reader when the file exists; a missing file is an empty table. */
static pd_status session_load(pd_session *s, const char *name,
                              pd_status (*reader)(pd_session *, const char *, pd_error *), pd_error *err)
{
    char path[PD_PATH_MAX];
    struct stat st;
    PD_TRY(path_join(path, sizeof path, s->dir, name, err));
    if (stat(path, &st) != 0)
        return PD_OK;
    return reader(s, path, err);
}

/* ------------------------------------------------------------------------------------------------ writer lock */

static char session_writer[64] = "pdiff";

void session_set_writer_name(const char *name)
{
    snprintf(session_writer, sizeof session_writer, "%s", name && name[0] ? name : "pdiff");
}

/* The owner's lines "PID COMMAND" and "host HOST" (the second absent in locks of older pdiff versions; both empty
 * while the owner is writing them) into *who; 0 when there is no owner line. */
static int session_lock_read(int fd, pd_session_owner *who)
{
    char buf[512] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    memset(who, 0, sizeof *who);
    int used = 0;
    if (n <= 0 || sscanf(buf, "%ld %n", &who->pid, &used) != 1 || who->pid <= 0) {
        who->pid = 0;
        return 0;
    }
    char *cmd = buf + used, *next = cmd + strcspn(cmd, "\r\n");
    snprintf(who->command, sizeof who->command, "%.*s", (int)(next - cmd), cmd);
    if (strncmp(next, "\nhost ", 6) == 0) {
        char *host = next + 6;
        host[strcspn(host, "\r\n")] = '\0';
        snprintf(who->host, sizeof who->host, "%s", host);
    }
    return 1;
}

/* The lock is held: say by whom, from the owner's lines (empty while the owner is writing them). */
static pd_status session_lock_busy(const char *dir, int fd, pd_error *err)
{
    pd_session_owner who;
    if (!session_lock_read(fd, &who))
        return error_set(err, PD_ERR_IO, "%s: in use by another pdiff process; a session has one writer at a time "
                         "(wait until it ends, or stop it)", dir);
    return error_set(err, PD_ERR_IO, "%s: in use by %.64s (pid %ld)%s%.64s; a session has one writer at a time (wait "
                     "until it ends, or stop it)", dir, who.command[0] ? who.command : "pdiff", who.pid,
                     who.host[0] ? " on " : "", who.host);
}

/* Take dir/.lock (flock, released by session_free or when the process dies) and write "PID COMMAND" in it. A file
 * system without flock leaves the session unlocked rather than unusable. */
static pd_status session_lock(pd_session *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, s->dir, ".lock", err));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return error_set(err, PD_ERR_IO, "%s: cannot open the session's lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        pd_status st = session_lock_busy(s->dir, fd, err);
        close(fd);
        return st;
    }
    s->lock_fd = fd;
    char line[512], host[256] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    host[strcspn(host, "\r\n")] = '\0';
    int n = snprintf(line, sizeof line, "%ld %s\nhost %s\n", (long)getpid(), session_writer, host[0] ? host : "?");
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        /* best effort: the lock holds without the line; the message then says "another pdiff process" */
    }
    return PD_OK;
}

pd_status session_check_unlocked(const char *dir, pd_error *err)
{
    char path[PD_PATH_MAX];
    if (!dir || !dir[0] || path_join(path, sizeof path, dir, ".lock", NULL) != PD_OK)
        return PD_OK; /* session_open says what is wrong with such a path */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PD_OK;
    pd_status st = PD_OK;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        st = session_lock_busy(dir, fd, err);
    close(fd); /* releases the probe */
    return st;
}

int session_owner(const char *dir, pd_session_owner *who)
{
    char path[PD_PATH_MAX];
    memset(who, 0, sizeof *who);
    if (!dir || !dir[0] || path_join(path, sizeof path, dir, ".lock", NULL) != PD_OK)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (held)
        session_lock_read(fd, who);
    close(fd); /* releases the probe */
    return held;
}

/* Remove the temporaries (atomic.h) that killed writers left in dir: with the lock held no other writer is at
 * work, so every one of another process is stale. Best effort. */
static void session_remove_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = atomic_tmp_pid(e->d_name);
        if (pid > 0 && pid != (long)getpid())
            (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* The writer's part of session_open: the folders, the lock, no stale temporaries. */
static pd_status session_create(pd_session *s, pd_error *err)
{
    char state[PD_PATH_MAX];
    PD_TRY(path_join(state, sizeof state, s->dir, "state", err));
    PD_TRY(atomic_mkdirs(state, err));
    PD_TRY(session_lock(s, err));
    session_remove_stale(s->dir);
    session_remove_stale(state);
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------------ open */

pd_status session_open(pd_session **out, const char *dir, int create, pd_error *err)
{
    *out = NULL;
    struct stat st;
    if (!dir || !dir[0])
        return error_set(err, PD_ERR_IO, "session folder: empty path (name a folder)");
    size_t len = strlen(dir);
    if (len + SESSION_PATH_ROOM >= PD_PATH_MAX)
        return error_set(err, PD_ERR_IO, "%.200s...: session folder path too long (%zu characters, at most %d)",
                         dir, len, PD_PATH_MAX - 1 - SESSION_PATH_ROOM);
    if (!create && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        return error_set(err, PD_ERR_IO, "%s: no such session folder", dir);
    pd_session *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "session: out of memory");
    s->lock_fd = -1;
    pd_status rc = path_format(s->dir, sizeof s->dir, err, "%s", dir);
    while (len > 1 && s->dir[len - 1] == '/')
        s->dir[--len] = '\0';
    if (rc == PD_OK && create)
        rc = session_create(s, err);
    if (rc == PD_OK)
        rc = session_load(s, "losses.csv", session_read_losses, err);
    if (rc == PD_OK)
        rc = session_load(s, "summary.csv", session_read_summary, err);
    if (rc != PD_OK) {
        session_free(s);
        return rc;
    }
    *out = s;
    return PD_OK;
}

void session_free(pd_session *s)
{
    if (!s)
        return;
    if (s->log)
        fclose(s->log);
    if (s->lock_fd >= 0) {
        if (ftruncate(s->lock_fd, 0) != 0) {
            /* best effort: a stale owner line is harmless once the lock is released */
        }
        close(s->lock_fd); /* releases the lock */
    }
    free(s->losses);
    free(s->metrics);
    free(s);
}

void session_log(pd_session *s, const char *line)
{
    if (!s || s->lock_fd < 0)
        return;
    if (!s->log) {
        char path[PD_PATH_MAX];
        s->log = fopen(session_path(s, "run.log", path, sizeof path), "a");
        if (!s->log)
            return; /* best effort: the log is a convenience, never a reason to stop a run */
        setvbuf(s->log, NULL, _IOLBF, 0);
    }
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(s->log, "%s %s\n", stamp, line);
}
