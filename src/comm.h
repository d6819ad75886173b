/* comm.h — the processes of one job: the small communicator interface the engine sees (issue 17).
 *
 * pdiff is one process unless it is started by an MPI launcher (mpirun, srun) in a build with Open MPI. The engine
 * never calls MPI: it calls the operations of the communicator installed here, which is the one-process
 * communicator unless the program installed another. src/cli/comm_mpi.c (part of the pdiff program, never of
 * the engine library or the TUI) is the one module that calls MPI; it installs its communicator with
 * comm_install when it finds itself under a launcher.
 *
 * Roles: rank 0 runs the command and alone writes the session and prints; every other rank serves it
 * (pipeline_worker_serve: it evaluates the models rank 0 hands out). Ranks are numbered 0..size-1; local_rank is
 * the rank among the processes on the same node (one GPU per rank: device local_rank % GPUs).
 *
 *   const pd_comm *c = comm_world();
 *   if (c->size > 1) c->bcast(c, buf, bytes, 0, &err);     // every rank calls it; root's bytes reach all
 */
#ifndef PD_COMM_H
#define PD_COMM_H

#include <stdint.h>

#include "error.h"

typedef struct pd_comm pd_comm;

struct pd_comm {
    int rank, size;  /* this process and the number of processes */
    int local_rank;  /* among the processes on this node */
    const char *kind; /* "single", "mpi" */
    /* Every rank calls bcast with the same bytes; root's buffer reaches everyone's. */
    pd_status (*bcast)(const pd_comm *c, void *buf, int64_t bytes, int root, pd_error *err);
    /* Point to point, in order between two ranks (a send is matched by one recv of the same size). */
    pd_status (*send)(const pd_comm *c, const void *buf, int64_t bytes, int dest, pd_error *err);
    pd_status (*recv)(const pd_comm *c, void *buf, int64_t bytes, int src, pd_error *err);
    /* End every process of the job now with this exit code (after this rank has said why). Does not return. */
    void (*abort)(const pd_comm *c, int code);
    /* Every rank of c calls it: wait until all have. */
    pd_status (*barrier)(const pd_comm *c, pd_error *err);
    /* Every rank of c calls it: the ranks with the same color form a new communicator (ranks in c's order); free
     * it with comm_free. */
    pd_status (*split)(const pd_comm *c, int color, pd_comm **out, pd_error *err);
    void (*release)(pd_comm *c); /* comm_free's work for communicators made by split */
    void *impl;                  /* the implementation's handle */
};

/* The installed communicator (the one-process one unless comm_install was called). */
const pd_comm *comm_world(void);
/* Install c as the job's communicator (NULL: back to the one-process one). c must outlive its use. */
void comm_install(const pd_comm *c);
/* The one-process communicator: rank 0 of 1; bcast does nothing; send and recv fail (no other rank); abort
 * returns (the caller ends the process as it would anyway). */
const pd_comm *comm_single(void);

/* Free a communicator made by split (NULL is a no-op). */
void comm_free(pd_comm *c);

/* The block of n items rank r of size takes: [*lo, *hi), contiguous, in rank order, sizes differing by at most
 * one. */
void comm_block(int64_t n, int rank, int size, int64_t *lo, int64_t *hi);

#endif
