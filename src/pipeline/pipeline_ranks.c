/* pipeline_ranks.c — evaluation over the ranks of a job (comm.h; issue 17).
 *
 * Rank 0 runs the pipeline. Every other rank waits in pipeline_worker_serve for rank 0's messages, each a
 * ranks_msg header broadcast to all, then its payload:
 *   SETUP    the configuration (pd_config bytes: the same program on every rank), then the task model's parameters
 *            and buffers: the worker builds (or keeps, for the same configuration) the data set, the task model and
 *            the target, loads the weights and creates the evaluator
 *   EVAL     n vectors of d numbers: every rank evaluates its block (comm_block) and sends accuracy, loss and
 *            predictions to rank 0, which evaluates block 0 meanwhile and takes the others in rank order
 *   RELEASE  free the evaluator
 *   QUIT     the job is over
 * A worker that fails returns its error (the program says which rank and ends the job). Rank 0 records whether an
 * exchange is under way, so that after a failure the program knows whether the ranks can still be told to quit
 * (pipeline_ranks_end) or the job must be aborted.
 */
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "eval_reuse.h"
#include "path.h"
#include "pipeline_ctx.h"

enum { RANKS_QUIT = 1, RANKS_SETUP, RANKS_EVAL, RANKS_RELEASE };

typedef struct {
    int32_t cmd, pad;
    int64_t a, b, c; /* SETUP: parameter and buffer counts; EVAL: n, d, test images */
} ranks_msg;

static int ranks_busy; /* rank 0: an exchange is under way */

static pd_status ranks_bcast_msg(const pd_comm *c, int32_t cmd, int64_t a, int64_t b, int64_t x, pd_error *err)
{
    ranks_msg m = {.cmd = cmd, .a = a, .b = b, .c = x};
    return c->bcast(c, &m, sizeof m, 0, err);
}

/* --------------------------------------------------------------------------------------------- rank 0 */

/* The task model's weights (host copies) and the configuration to every rank. */
static pd_status ranks_send_setup(pd_pipeline *p, const pd_comm *c, pd_error *err)
{
    int64_t np = model_param_count(p->task), nb = model_buffer_count(p->task);
    float *params = malloc((size_t)(np > 0 ? np : 1) * sizeof(float));
    float *bufs = malloc((size_t)(nb > 0 ? nb : 1) * sizeof(float));
    pd_status st = params && bufs ? PD_OK : error_set(err, PD_ERR_NOMEM, "evaluation: out of memory");
    if (st == PD_OK) {
        p->be->download(p->be, params, model_params(p->task), (size_t)np * sizeof(float));
        p->be->download(p->be, bufs, model_buffers(p->task), (size_t)nb * sizeof(float));
        st = ranks_bcast_msg(c, RANKS_SETUP, np, nb, 0, err);
    }
    if (st == PD_OK)
        st = c->bcast(c, &p->cfg, sizeof p->cfg, 0, err);
    if (st == PD_OK)
        st = c->bcast(c, params, np * (int64_t)sizeof(float), 0, err);
    if (st == PD_OK)
        st = c->bcast(c, bufs, nb * (int64_t)sizeof(float), 0, err);
    free(params);
    free(bufs);
    return st;
}

pd_status pipeline_evaluator_open(pd_pipeline *p, pd_evaluator **ev, pd_error *err)
{
    *ev = NULL;
    const pd_comm *c = comm_world();
    if (c->size > 1) { /* the other ranks build theirs while this one builds its own */
        ranks_busy = 1;
        PD_TRY(ranks_send_setup(p, c, err));
        ranks_busy = 0;
        progress_log(&p->cb, "evaluating over %d ranks", c->size);
    }
    return evaluator_create(ev, p->task, &p->target, &p->data.test, p->eval_batch, &p->cb, err);
}

void pipeline_evaluator_close(pd_pipeline *p, pd_evaluator *ev)
{
    (void)p;
    if (!ev)
        return;
    evaluator_free(ev);
    const pd_comm *c = comm_world();
    pd_error e = {0};
    if (c->size > 1 && !ranks_busy && ranks_bcast_msg(c, RANKS_RELEASE, 0, 0, 0, &e) != PD_OK)
        ranks_busy = 1; /* the ranks are out of step: the program aborts the job */
}

static void pipeline_reuse_open(pd_pipeline *p, pd_evaluator *ev)
{
    if (p->reuse_opened)
        return;
    char path[PD_PATH_MAX];
    p->reuse_opened = 1;
    if (session_state_path(p->session, "reuse", path, sizeof path) && p->target_resolved) {
        eval_reuse_open(&p->reuse, path, evaluator_labels(ev), evaluator_test_count(ev), p->target.d, &p->cb);
        if (p->reuse)
            progress_log(&p->cb, "reusing the evaluations of the session this one shares its collection "
                         "with (state/reuse.bin)");
    }
}

/* Evaluate vectors [lo, hi) of vecs here. */
static pd_status ranks_eval_block(pd_evaluator *ev, const float *vecs, int64_t d, int64_t lo, int64_t hi,
                                  double *acc, double *loss, uint8_t *pred, pd_error *err)
{
    int64_t nt = evaluator_test_count(ev);
    for (int64_t i = lo; i < hi; i++)
        PD_TRY(evaluator_run(ev, vecs + i * d, acc + i, loss + i, pred + i * nt, err));
    return PD_OK;
}

/* The vectors of miss [n] split over the ranks; results into acc, loss, pred at the same positions. */
static pd_status ranks_eval_spread(pd_pipeline *p, pd_evaluator *ev, const pd_comm *c, float *miss, int64_t n,
                                   double *acc, double *loss, uint8_t *pred, pd_error *err)
{
    int64_t d = p->target.d, nt = evaluator_test_count(ev), lo, hi;
    ranks_busy = 1;
    PD_TRY(ranks_bcast_msg(c, RANKS_EVAL, n, d, nt, err));
    PD_TRY(c->bcast(c, miss, n * d * (int64_t)sizeof(float), 0, err));
    comm_block(n, 0, c->size, &lo, &hi);
    PD_TRY(ranks_eval_block(ev, miss, d, lo, hi, acc, loss, pred, err));
    for (int r = 1; r < c->size; r++) {
        comm_block(n, r, c->size, &lo, &hi);
        PD_TRY(c->recv(c, acc + lo, (hi - lo) * (int64_t)sizeof(double), r, err));
        PD_TRY(c->recv(c, loss + lo, (hi - lo) * (int64_t)sizeof(double), r, err));
        PD_TRY(c->recv(c, pred + lo * nt, (hi - lo) * nt, r, err));
    }
    ranks_busy = 0;
    return PD_OK;
}

pd_status pipeline_evaluate_many(pd_pipeline *p, pd_evaluator *ev, const float *vecs, int32_t n, double *accuracy,
                                 double *loss, uint8_t *pred, pd_error *err)
{
    pipeline_reuse_open(p, ev);
    const pd_comm *c = comm_world();
    int64_t d = p->target.d, nt = evaluator_test_count(ev);
    int32_t *todo = malloc((size_t)(n > 0 ? n : 1) * sizeof *todo), m = 0;
    if (!todo)
        return error_set(err, PD_ERR_NOMEM, "evaluation: out of memory");
    for (int32_t i = 0; i < n; i++)
        if (!eval_reuse_find(p->reuse, vecs + (int64_t)i * d, accuracy + i, loss + i, pred + (int64_t)i * nt))
            todo[m++] = i;
    pd_status st = PD_OK;
    if (c->size == 1 || m < 2) { /* one rank, or nothing worth spreading */
        for (int32_t j = 0; st == PD_OK && j < m; j++)
            st = evaluator_run(ev, vecs + (int64_t)todo[j] * d, accuracy + todo[j], loss + todo[j],
                               pred + (int64_t)todo[j] * nt, err);
        free(todo);
        return st;
    }
    float *miss = malloc((size_t)m * (size_t)d * sizeof(float));
    double *ma = malloc((size_t)m * 2 * sizeof(double));
    uint8_t *mp = malloc((size_t)m * (size_t)nt);
    st = miss && ma && mp ? PD_OK : error_set(err, PD_ERR_NOMEM, "evaluation: out of memory");
    for (int32_t j = 0; st == PD_OK && j < m; j++)
        memcpy(miss + (int64_t)j * d, vecs + (int64_t)todo[j] * d, (size_t)d * sizeof(float));
    if (st == PD_OK)
        st = ranks_eval_spread(p, ev, c, miss, m, ma, ma + m, mp, err);
    for (int32_t j = 0; st == PD_OK && j < m; j++) {
        accuracy[todo[j]] = ma[j];
        loss[todo[j]] = ma[m + j];
        memcpy(pred + (int64_t)todo[j] * nt, mp + (int64_t)j * nt, (size_t)nt);
    }
    free(miss);
    free(ma);
    free(mp);
    free(todo);
    return st;
}

int pipeline_ranks_end(void)
{
    const pd_comm *c = comm_world();
    if (c->size == 1)
        return 0;
    pd_error e = {0};
    if (ranks_busy || ranks_bcast_msg(c, RANKS_QUIT, 0, 0, 0, &e) != PD_OK)
        return -1;
    return 0;
}

/* --------------------------------------------------------------------------------------------- other ranks */

typedef struct {
    pd_pipeline *p;   /* data set, task model and target of p->cfg, kept while the configuration stays the same */
    pd_evaluator *ev;
    pd_callbacks cb;
} ranks_worker;

static void ranks_worker_drop(ranks_worker *w)
{
    evaluator_free(w->ev);
    w->ev = NULL;
    pipeline_free(w->p);
    w->p = NULL;
}

static pd_status ranks_worker_build(ranks_worker *w, const pd_config *cfg, pd_error *err)
{
    if (w->p && memcmp(&w->p->cfg, cfg, sizeof *cfg) == 0)
        return PD_OK;
    ranks_worker_drop(w);
    pd_status st = pipeline_open_detached(&w->p, cfg, err);
    if (st != PD_OK)
        ranks_worker_drop(w); /* never kept half built */
    return st;
}

static pd_status ranks_worker_setup(ranks_worker *w, const pd_comm *c, const ranks_msg *m, pd_error *err)
{
    pd_config cfg;
    PD_TRY(c->bcast(c, &cfg, sizeof cfg, 0, err));
    float *params = malloc((size_t)(m->a > 0 ? m->a : 1) * sizeof(float));
    float *bufs = malloc((size_t)(m->b > 0 ? m->b : 1) * sizeof(float));
    pd_status st = params && bufs ? PD_OK : error_set(err, PD_ERR_NOMEM, "out of memory for the task model");
    if (st == PD_OK)
        st = c->bcast(c, params, m->a * (int64_t)sizeof(float), 0, err);
    if (st == PD_OK)
        st = c->bcast(c, bufs, m->b * (int64_t)sizeof(float), 0, err);
    evaluator_free(w->ev);
    w->ev = NULL;
    if (st == PD_OK)
        st = ranks_worker_build(w, &cfg, err);
    pd_pipeline *p = w->p;
    if (st == PD_OK && (model_param_count(p->task) != m->a || model_buffer_count(p->task) != m->b))
        st = error_set(err, PD_ERR_STATE, "the task model has %lld parameters and %lld buffers here, rank 0 sent "
                       "%lld and %lld", (long long)model_param_count(p->task),
                       (long long)model_buffer_count(p->task), (long long)m->a, (long long)m->b);
    if (st == PD_OK) {
        p->be->upload(p->be, model_params(p->task), params, (size_t)m->a * sizeof(float));
        p->be->upload(p->be, model_buffers(p->task), bufs, (size_t)m->b * sizeof(float));
        st = evaluator_create(&w->ev, p->task, &p->target, &p->data.test, p->eval_batch, &w->cb, err);
    }
    free(params);
    free(bufs);
    return st;
}

static pd_status ranks_worker_eval(ranks_worker *w, const pd_comm *c, const ranks_msg *m, pd_error *err)
{
    int64_t n = m->a, d = m->b, nt = m->c, lo, hi;
    float *vecs = malloc((size_t)(n * d > 0 ? n * d : 1) * sizeof(float));
    if (!vecs)
        return error_set(err, PD_ERR_NOMEM, "out of memory for %lld vectors", (long long)n);
    pd_status st = c->bcast(c, vecs, n * d * (int64_t)sizeof(float), 0, err);
    if (st == PD_OK && (!w->ev || d != w->p->target.d || nt != evaluator_test_count(w->ev)))
        st = error_set(err, PD_ERR_STATE, "rank 0 sent vectors of %lld numbers on %lld test images; this rank's "
                       "evaluator has %lld and %d", (long long)d, (long long)nt,
                       (long long)(w->p ? w->p->target.d : 0), w->ev ? evaluator_test_count(w->ev) : 0);
    comm_block(n, c->rank, c->size, &lo, &hi);
    double *ad = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof(double));
    uint8_t *pred = malloc((size_t)(n * nt > 0 ? n * nt : 1));
    if (st == PD_OK && (!ad || !pred))
        st = error_set(err, PD_ERR_NOMEM, "out of memory for %lld evaluations", (long long)n);
    if (st == PD_OK)
        st = ranks_eval_block(w->ev, vecs, d, lo, hi, ad, ad + n, pred, err);
    if (st == PD_OK)
        st = c->send(c, ad + lo, (hi - lo) * (int64_t)sizeof(double), 0, err);
    if (st == PD_OK)
        st = c->send(c, ad + n + lo, (hi - lo) * (int64_t)sizeof(double), 0, err);
    if (st == PD_OK)
        st = c->send(c, pred + lo * nt, (hi - lo) * nt, 0, err);
    free(vecs);
    free(ad);
    free(pred);
    return st;
}

pd_status pipeline_worker_serve(const pd_callbacks *cb, pd_error *err)
{
    const pd_comm *c = comm_world();
    ranks_worker w = {0};
    if (cb)
        w.cb = *cb;
    pd_status st = PD_OK;
    for (;;) {
        ranks_msg m;
        if ((st = c->bcast(c, &m, sizeof m, 0, err)) != PD_OK)
            break;
        if (m.cmd == RANKS_QUIT)
            break;
        if (m.cmd == RANKS_SETUP)
            st = ranks_worker_setup(&w, c, &m, err);
        else if (m.cmd == RANKS_EVAL)
            st = ranks_worker_eval(&w, c, &m, err);
        else if (m.cmd == RANKS_RELEASE) {
            evaluator_free(w.ev);
            w.ev = NULL;
        } else
            st = error_set(err, PD_ERR_INTERNAL, "unknown message %d from rank 0", m.cmd);
        if (st != PD_OK)
            break;
    }
    ranks_worker_drop(&w);
    return st;
}
