/* session.c — session directory bookkeeping: losses.csv and summary.csv (see session.h). */
#include "session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "csvio.h"
#include "grow.h"

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
    char dir[4096];
    session_loss *losses;
    int64_t n_losses, cap_losses;
    session_metric *metrics;
    int n_metrics;
    int64_t cap_metrics;
};

const char *session_dir(const pd_session *s)
{
    return s->dir;
}

const char *session_path(const pd_session *s, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", s->dir, name);
    return buf;
}

const char *session_state_path(const pd_session *s, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/state/%s.bin", s->dir, name);
    return buf;
}

int session_file_exists(const pd_session *s, const char *name)
{
    char path[4200];
    struct stat st;
    return stat(session_path(s, name, path, sizeof path), &st) == 0;
}

int session_exists(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/config.csv", dir);
    return stat(path, &st) == 0;
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
    char path[4200];
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, session_path(s, "losses.csv", path, sizeof path), err));
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
    char path[4200];
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, session_path(s, "summary.csv", path, sizeof path), err));
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

static pd_status session_load_losses(pd_session *s, pd_error *err)
{
    char path[4200];
    session_path(s, "losses.csv", path, sizeof path);
    struct stat stt;
    if (stat(path, &stt) != 0)
        return PD_OK;
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int cs = csvio_column(&t, "stage"), cst = csvio_column(&t, "step"), cl = csvio_column(&t, "loss"),
        ca = csvio_column(&t, "accuracy");
    pd_status st = PD_OK;
    if (cs < 0 || cst < 0 || cl < 0)
        st = error_set(err, PD_ERR_FORMAT, "%s: expected columns stage,step,loss[,accuracy]", path);
    for (int64_t r = 0; st == PD_OK && r < t.rows; r++) {
        double step, loss, acc = NAN;
        st = csvio_cell_double(&t, r, cst, &step, err);
        if (st == PD_OK)
            st = csvio_cell_double(&t, r, cl, &loss, err);
        if (st == PD_OK && ca >= 0)
            st = csvio_cell_double(&t, r, ca, &acc, err);
        if (st == PD_OK && session_loss_add(s, csvio_cell(&t, r, cs), (int64_t)step, loss, acc) != PD_OK)
            st = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    }
    csvio_free(&t);
    return st;
}

static pd_status session_load_summary(pd_session *s, pd_error *err)
{
    char path[4200];
    session_path(s, "summary.csv", path, sizeof path);
    struct stat stt;
    if (stat(path, &stt) != 0)
        return PD_OK;
    pd_csv_table t;
    PD_TRY(csvio_read(path, &t, err));
    int cm = csvio_column(&t, "metric"), cv = csvio_column(&t, "value");
    pd_status st = PD_OK;
    if (cm < 0 || cv < 0)
        st = error_set(err, PD_ERR_FORMAT, "%s: expected columns metric,value", path);
    for (int64_t r = 0; st == PD_OK && r < t.rows; r++) {
        double v;
        st = csvio_cell_double(&t, r, cv, &v, err);
        if (st == PD_OK && session_summary_set(s, csvio_cell(&t, r, cm), v) != PD_OK)
            st = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    }
    csvio_free(&t);
    return st;
}

pd_status session_open(pd_session **out, const char *dir, int create, pd_error *err)
{
    *out = NULL;
    struct stat st;
    if (!create && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        return error_set(err, PD_ERR_IO, "%s: no such session folder", dir);
    pd_session *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "session: out of memory");
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    size_t len = strlen(s->dir);
    while (len > 1 && s->dir[len - 1] == '/')
        s->dir[--len] = '\0';
    pd_status rc = PD_OK;
    if (create) {
        char state[4200];
        snprintf(state, sizeof state, "%s/state", s->dir);
        rc = atomic_mkdirs(state, err);
    }
    if (rc == PD_OK)
        rc = session_load_losses(s, err);
    if (rc == PD_OK)
        rc = session_load_summary(s, err);
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
    free(s->losses);
    free(s->metrics);
    free(s);
}
