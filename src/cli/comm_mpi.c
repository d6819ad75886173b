/* comm_mpi.c — the MPI communicator (comm.h): the one module of pdiff that calls MPI.
 *
 * Linked into the pdiff program only (configure --with-mpi). comm_mpi_start initialises MPI only when a launcher
 * started this process (mpirun/mpiexec: OMPI_COMM_WORLD_SIZE; srun and other PMI launchers: PMIX_RANK, PMI_RANK,
 * PMI_SIZE), so a plain `pdiff` stays one process without MPI's start-up. Errors of MPI calls come back as a
 * status (MPI_ERRORS_RETURN) naming the operation and the peer; abort is MPI_Abort, which ends every rank.
 * Messages travel as bytes, in pieces of at most 1 GiB (MPI counts are int). A rank waiting for a message (the
 * other ranks while rank 0 trains, rank 0 while they evaluate) does not spin on a core as MPI's blocking calls do:
 * it tests the request, briefly at first, then sleeping between tests (up to 2 ms), so that the cores are left to
 * the ranks that compute.
 */
#include "comm_mpi.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMM_MPI_PIECE (INT64_C(1) << 30)
#define COMM_MPI_TAG 17

static pd_comm comm_mpi_world;
static MPI_Comm comm_mpi_world_handle;
static int comm_mpi_inited;

#define COMM_MPI_HANDLE(c) (*(const MPI_Comm *)(c)->impl)

static pd_status comm_mpi_error(int rc, const char *what, int peer, pd_error *err)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    if (peer < 0)
        return error_set(err, PD_ERR_IO, "MPI: %s failed: %s", what, msg);
    return error_set(err, PD_ERR_IO, "MPI: %s rank %d failed: %s", what, peer, msg);
}

/* Complete request r, sleeping between tests once it takes more than a moment. */
static int comm_mpi_wait(MPI_Request *r)
{
    long nap = 1000; /* ns */
    for (int spins = 0;; spins++) {
        int done = 0;
        int rc = MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done)
            return rc;
        if (spins < 200)
            continue;
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        nap = nap < 2000000 ? nap * 2 : 2000000;
    }
}

static pd_status comm_mpi_bcast(const pd_comm *c, void *buf, int64_t bytes, int root, pd_error *err)
{
    for (int64_t at = 0; at < bytes; at += COMM_MPI_PIECE) {
        int64_t n = bytes - at < COMM_MPI_PIECE ? bytes - at : COMM_MPI_PIECE;
        MPI_Request r;
        int rc = MPI_Ibcast((char *)buf + at, (int)n, MPI_BYTE, root, COMM_MPI_HANDLE(c), &r);
        if (rc == MPI_SUCCESS)
            rc = comm_mpi_wait(&r);
        if (rc != MPI_SUCCESS)
            return comm_mpi_error(rc, "broadcast from", root, err);
    }
    return PD_OK;
}

static pd_status comm_mpi_send(const pd_comm *c, const void *buf, int64_t bytes, int dest, pd_error *err)
{
    for (int64_t at = 0; at < bytes; at += COMM_MPI_PIECE) {
        int64_t n = bytes - at < COMM_MPI_PIECE ? bytes - at : COMM_MPI_PIECE;
        int rc = MPI_Send((const char *)buf + at, (int)n, MPI_BYTE, dest, COMM_MPI_TAG, COMM_MPI_HANDLE(c));
        if (rc != MPI_SUCCESS)
            return comm_mpi_error(rc, "send to", dest, err);
    }
    return PD_OK;
}

static pd_status comm_mpi_recv(const pd_comm *c, void *buf, int64_t bytes, int src, pd_error *err)
{
    for (int64_t at = 0; at < bytes; at += COMM_MPI_PIECE) {
        int64_t n = bytes - at < COMM_MPI_PIECE ? bytes - at : COMM_MPI_PIECE;
        MPI_Request r;
        int rc = MPI_Irecv((char *)buf + at, (int)n, MPI_BYTE, src, COMM_MPI_TAG, COMM_MPI_HANDLE(c), &r);
        if (rc == MPI_SUCCESS)
            rc = comm_mpi_wait(&r);
        if (rc != MPI_SUCCESS)
            return comm_mpi_error(rc, "receive from", src, err);
    }
    return PD_OK;
}

static void comm_mpi_abort(const pd_comm *c, int code)
{
    (void)c;
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort does not return; should it, the process still ends */
}

static pd_status comm_mpi_barrier(const pd_comm *c, pd_error *err)
{
    MPI_Request r;
    int rc = MPI_Ibarrier(COMM_MPI_HANDLE(c), &r);
    if (rc == MPI_SUCCESS)
        rc = comm_mpi_wait(&r);
    return rc == MPI_SUCCESS ? PD_OK : comm_mpi_error(rc, "barrier", -1, err);
}

static void comm_mpi_release(pd_comm *c)
{
    if (!c)
        return;
    MPI_Comm_free((MPI_Comm *)c->impl);
    free(c->impl);
    free(c);
}

static pd_status comm_mpi_split(const pd_comm *c, int color, pd_comm **out, pd_error *err)
{
    *out = NULL;
    pd_comm *g = malloc(sizeof *g);
    MPI_Comm *h = malloc(sizeof *h);
    if (!g || !h) {
        free(g);
        free(h);
        return error_set(err, PD_ERR_NOMEM, "MPI: out of memory");
    }
    int rc = MPI_Comm_split(COMM_MPI_HANDLE(c), color, c->rank, h);
    if (rc != MPI_SUCCESS) {
        free(g);
        free(h);
        return comm_mpi_error(rc, "communicator split", -1, err);
    }
    MPI_Comm_set_errhandler(*h, MPI_ERRORS_RETURN);
    *g = *c;
    g->impl = h;
    g->release = comm_mpi_release;
    MPI_Comm_rank(*h, &g->rank);
    MPI_Comm_size(*h, &g->size);
    *out = g;
    return PD_OK;
}

int comm_mpi_launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

/* The rank among the processes that share this node's memory. */
static int comm_mpi_local_rank(void)
{
    MPI_Comm node;
    int r = 0;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return 0;
    MPI_Comm_rank(node, &r);
    MPI_Comm_free(&node);
    return r;
}

pd_status comm_mpi_start(int *argc, char ***argv, pd_error *err)
{
    if (comm_mpi_inited || !comm_mpi_launched())
        return PD_OK;
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
        return error_set(err, PD_ERR_IO, "MPI: MPI_Init_thread failed (code %d)", rc);
    comm_mpi_inited = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    comm_mpi_world_handle = MPI_COMM_WORLD;
    comm_mpi_world = (pd_comm){.kind = "mpi", .bcast = comm_mpi_bcast, .send = comm_mpi_send, .recv = comm_mpi_recv,
                               .abort = comm_mpi_abort, .barrier = comm_mpi_barrier, .split = comm_mpi_split,
                               .impl = &comm_mpi_world_handle};
    MPI_Comm_rank(MPI_COMM_WORLD, &comm_mpi_world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &comm_mpi_world.size);
    comm_mpi_world.local_rank = comm_mpi_local_rank();
    comm_install(&comm_mpi_world);
    return PD_OK;
}

void comm_mpi_finish(void)
{
    if (!comm_mpi_inited)
        return;
    comm_install(NULL);
    comm_mpi_inited = 0;
    MPI_Finalize();
}

const char *comm_mpi_version(void)
{
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!v[0] && MPI_Get_library_version(v, &len) == MPI_SUCCESS) {
        char *nl = strchr(v, '\n');
        if (nl)
            *nl = '\0';
        char *comma = strchr(v, ',');
        if (comma)
            *comma = '\0';
    }
    return v;
}
