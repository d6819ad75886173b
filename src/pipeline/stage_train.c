/* stage_train.c — the "train" stage: train the task model, measure it, save state/task.bin. */
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "pipeline_ctx.h"
#include "rng.h"
#include "stage_util.h"
#include "state.h"
#include "train.h"

static pd_status stage_train_save(pd_pipeline *p, double accuracy, pd_error *err)
{
    pd_backend *be = p->be;
    int64_t np = model_param_count(p->task), nb = model_buffer_count(p->task);
    float *host = malloc((size_t)(np + nb) * sizeof(float));
    if (!host)
        return error_set(err, PD_ERR_NOMEM, "train: out of memory saving the model");
    be->download(be, host, model_params(p->task), (size_t)np * sizeof(float));
    be->download(be, host + np, model_buffers(p->task), (size_t)nb * sizeof(float));
    pd_state_writer *w;
    pd_status st = state_writer_create(&w, "task", err);
    if (st == PD_OK) {
        const pd_model_spec *sp = model_spec(p->task);
        int32_t shape[5] = {sp->in_c, sp->in_h, sp->in_w, sp->classes, sp->width};
        st = state_put(w, "params", PD_DTYPE_F32, host, np, err);
        if (st == PD_OK)
            st = state_put(w, "buffers", PD_DTYPE_F32, host + np, nb, err);
        if (st == PD_OK)
            st = state_put(w, "shape", PD_DTYPE_I32, shape, 5, err);
        if (st == PD_OK)
            st = state_put_i64(w, "arch", sp->arch, err);
        if (st == PD_OK)
            st = state_put_f64(w, "test_accuracy", accuracy, err);
        char path[PD_PATH_MAX];
        if (st == PD_OK)
            st = state_writer_commit(w, session_state_path(p->session, "task", path, sizeof path), err);
        else
            state_writer_free(w);
    }
    free(host);
    return st;
}

pd_status stage_train(pd_pipeline *p, int resume, pd_error *err)
{
    (void)resume; /* the task stage restarts from scratch: it is minutes long at most */
    double t0 = stage_now();
    PD_TRY(pipeline_need_model(p, err));
    model_init_params(p->task, rng_derive(p->cfg.seed, "task-init"));
    session_loss_drop_stage(p->session, "task", -1);
    const pd_config *c = &p->cfg;
    pd_train_opts o = {.epochs = c->epochs, .batch = c->batch, .lr = (float)c->lr, .momentum = (float)c->momentum,
                       .weight_decay = (float)c->weight_decay, .cosine = strcmp(c->lr_schedule, "cosine") == 0,
                       .seed = rng_derive(c->seed, "task-shuffle"),
                       .log_every = 50};
    progress_log(&p->cb, "train: %s on %s, %d epochs, batch %d, lr %g (%s)", c->arch, c->dataset, c->epochs, c->batch,
                 c->lr, c->lr_schedule);
    PD_TRY(train_task(p->task, &p->data, &o, &p->cb, NULL, err));
    double acc, loss;
    PD_TRY(train_evaluate(p->task, &p->data.test, PIPELINE_EVAL_BATCH, &acc, &loss, NULL, &p->cb, err));
    progress_log(&p->cb, "train: test accuracy %.4f, test loss %.4f", acc, loss);
    session_summary_set(p->session, "task_accuracy", acc);
    session_summary_set(p->session, "task_test_loss", loss);
    PD_TRY(stage_train_save(p, acc, err));
    session_summary_set(p->session, "seconds_train", stage_now() - t0);
    return PD_OK;
}
