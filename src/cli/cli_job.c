/* cli_job.c — pdiff as one job of several processes, under mpirun or srun (issue 17).
 *
 * In a build with Open MPI, a process an MPI launcher started joins the job (comm_mpi_start). Rank 0 then runs the
 * command as a single pdiff would, and alone writes and prints; every other rank serves rank 0's evaluations
 * (pipeline_worker_serve) until rank 0 ends the job, whatever the command. A rank that fails prints one line naming
 * itself, its node and the reason, and ends the whole job (MPI_Abort), so nothing waits forever for it; a rank
 * killed by a signal is reported by the launcher, which ends the job too. The TUI stays one process (its runs use
 * rank 0 alone). `pdiff sweep` runs on every rank (sweep.h spreads its runs over groups of ranks). The other ranks ignore SIGINT and SIGTERM: Ctrl-C under mpirun reaches rank 0, which stops and
 * saves as one process does, then ends the job.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "cli_job.h"
#include "comm.h"
#include "pipeline.h"
#include "pdiff_build.h"
#ifdef HAVE_MPI
#include "comm_mpi.h"
#endif

static const pd_comm *cli_job_comm; /* the job's communicator while the TUI runs as one process */
static int cli_job_every;           /* every rank runs the command (sweep): nobody serves rank 0 at the end */

static void cli_job_fail_rank(const pd_comm *c, const pd_error *err)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    fprintf(stderr, "pdiff: rank %d of %d (%s) failed: %s\n", c->rank, c->size, host,
            err->msg[0] ? err->msg : error_status_string(err->status));
    fflush(stderr);
    c->abort(c, 1);
}

int cli_job_begin(int *argc, char ***argv, int interactive, int every_rank)
{
#ifdef HAVE_MPI
    pd_error err = {0};
    if (comm_mpi_start(argc, argv, &err) != PD_OK) {
        fprintf(stderr, "pdiff: %s\n", err.msg);
        return 1;
    }
#else
    (void)argc;
    (void)argv;
#endif
    const pd_comm *c = comm_world();
    backend_set_gpu_ordinal(c->local_rank);
    if (c->size > 1 && c->rank == 0 && interactive) {
        cli_job_comm = c; /* the TUI's runs are one process; the ranks are told to finish at the end */
        comm_install(comm_single());
    }
    if (c->size > 1 && every_rank && !interactive)
        cli_job_every = 1;
    if (c->rank == 0 || cli_job_every)
        return -1;
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    pd_error werr = {0};
    if (pipeline_worker_serve(NULL, &werr) != PD_OK)
        cli_job_fail_rank(c, &werr);
    return cli_job_end(0);
}

int cli_job_end(int rc)
{
    if (cli_job_comm) {
        comm_install(cli_job_comm);
        cli_job_comm = NULL;
    }
    const pd_comm *c = comm_world();
    if (c->rank == 0 && c->size > 1 && !cli_job_every && pipeline_ranks_end() != 0) {
        /* rank 0 stopped in the middle of an exchange: the other ranks cannot be told to finish */
        fprintf(stderr, "pdiff: rank 0 stopped during an exchange with the other ranks; ending the job\n");
        fflush(stderr);
        c->abort(c, rc ? rc : 1);
    }
#ifdef HAVE_MPI
    comm_mpi_finish();
#endif
    return rc;
}

int cli_job_fail(const pd_error *err)
{
    const pd_comm *c = comm_world();
    if (c->size == 1)
        return cli_fail(err);
    cli_job_fail_rank(c, err);
    return 1;
}

const char *cli_job_describe(void)
{
#ifdef HAVE_MPI
    return comm_mpi_version();
#else
    return "";
#endif
}
