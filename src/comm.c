/* comm.c — the one-process communicator and the installed one (comm.h). */
#include "comm.h"

#include <stdlib.h>

static pd_status single_bcast(const pd_comm *c, void *buf, int64_t bytes, int root, pd_error *err)
{
    (void)c;
    (void)buf;
    (void)bytes;
    if (root != 0)
        return error_set(err, PD_ERR_INTERNAL, "comm: broadcast from rank %d in a job of one process", root);
    return PD_OK;
}

static pd_status single_send(const pd_comm *c, const void *buf, int64_t bytes, int dest, pd_error *err)
{
    (void)c;
    (void)buf;
    (void)bytes;
    return error_set(err, PD_ERR_INTERNAL, "comm: send to rank %d in a job of one process", dest);
}

static pd_status single_recv(const pd_comm *c, void *buf, int64_t bytes, int src, pd_error *err)
{
    (void)c;
    (void)buf;
    (void)bytes;
    return error_set(err, PD_ERR_INTERNAL, "comm: receive from rank %d in a job of one process", src);
}

static void single_abort(const pd_comm *c, int code)
{
    (void)c;
    (void)code;
}

static pd_status single_barrier(const pd_comm *c, pd_error *err)
{
    (void)c;
    (void)err;
    return PD_OK;
}

static pd_status single_split(const pd_comm *c, int color, pd_comm **out, pd_error *err);

static void single_release(pd_comm *c)
{
    free(c);
}

static const pd_comm comm_one = {.rank = 0, .size = 1, .local_rank = 0, .kind = "single", .bcast = single_bcast,
                                 .send = single_send, .recv = single_recv, .abort = single_abort,
                                 .barrier = single_barrier, .split = single_split, .release = single_release};

static pd_status single_split(const pd_comm *c, int color, pd_comm **out, pd_error *err)
{
    (void)c;
    (void)color;
    *out = malloc(sizeof **out);
    if (!*out)
        return error_set(err, PD_ERR_NOMEM, "comm: out of memory");
    **out = comm_one;
    return PD_OK;
}

void comm_free(pd_comm *c)
{
    if (c && c->release)
        c->release(c);
}

static const pd_comm *comm_current = &comm_one;

const pd_comm *comm_single(void)
{
    return &comm_one;
}

const pd_comm *comm_world(void)
{
    return comm_current;
}

void comm_install(const pd_comm *c)
{
    comm_current = c ? c : &comm_one;
}

void comm_block(int64_t n, int rank, int size, int64_t *lo, int64_t *hi)
{
    if (size < 1)
        size = 1;
    *lo = n * rank / size;
    *hi = n * (rank + 1) / size;
}
