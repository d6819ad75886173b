/* cli_job.h — pdiff under an MPI launcher (cli_job.c). */
#ifndef PD_CLI_JOB_H
#define PD_CLI_JOB_H

#include "error.h"

/* Join the job when an MPI launcher started this process. Returns -1 on rank 0 (and in a plain run): go on with the
 * command, then return cli_job_end(its exit code). On another rank it serves rank 0 until the job ends and returns
 * the exit code to end with. interactive: the command is the TUI (rank 0 runs it as one process). every_rank: the
 * command runs on every rank (sweep), which returns -1 everywhere. */
int cli_job_begin(int *argc, char ***argv, int interactive, int every_rank);
/* Rank 0, after the command: tell the other ranks to finish (or abort the job when they cannot be told), leave MPI;
 * returns rc. */
int cli_job_end(int rc);
/* A failure in a job of several ranks that the other ranks cannot know of: one line naming this rank, its node and
 * the reason, then the whole job ends. In one process: cli_fail. */
int cli_job_fail(const pd_error *err);
/* The MPI library of this build ("" without MPI). */
const char *cli_job_describe(void);

#endif
