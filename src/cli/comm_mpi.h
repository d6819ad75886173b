/* comm_mpi.h — start and finish the MPI communicator (comm_mpi.c; only in a build with Open MPI, HAVE_MPI).
 *
 *   if (comm_mpi_start(&argc, &argv, &err) != PD_OK) ...   // under mpirun/srun: MPI_Init, comm_install
 *   ...                                                    // comm_world() is the job
 *   comm_mpi_finish();                                     // MPI_Finalize (nothing when not started)
 */
#ifndef PD_COMM_MPI_H
#define PD_COMM_MPI_H

#include "comm.h"

/* 1 when an MPI launcher started this process (its environment says so). */
int comm_mpi_launched(void);
/* Under a launcher: MPI_Init and install the job's communicator; otherwise nothing (one process). */
pd_status comm_mpi_start(int *argc, char ***argv, pd_error *err);
void comm_mpi_finish(void);
/* The MPI library's name and version ("Open MPI v4.1.4"). */
const char *comm_mpi_version(void);

#endif
