/* main.c — pdiff's entry point: pick good BLAS kernels, then the TUI or the command line.
 *
 * Debian's OpenBLAS 0.3.21 reads OPENBLAS_CORETYPE only when it is loaded and falls back to its slowest kernels
 * on CPUs it does not know (doc/design.md, "BLAS"). When the user has not set OPENBLAS_CORETYPE and OpenBLAS reports such
 * a fallback on a CPU with AVX-512 (or AVX2), pdiff re-executes itself once with the right kernel family set and
 * PDIFF_BLAS_AUTO=1 marking the choice (shown by --version and bench). Set OPENBLAS_CORETYPE to override, or
 * PDIFF_BLAS_AUTO=0 to keep OpenBLAS's own choice. It also makes a write past a file size limit an error, not a
 * signal.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"
#include "cli.h"
#include "cli_job.h"

static void main_fix_blas(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv("PDIFF_BLAS_AUTO"))
        return;
    const char *better = blas_better_core();
    if (!better)
        return;
    if (setenv("OPENBLAS_CORETYPE", better, 1) != 0 || setenv("PDIFF_BLAS_AUTO", "1", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slow kernels, and say so in --version */
    unsetenv("OPENBLAS_CORETYPE");
    setenv("PDIFF_BLAS_AUTO", "0", 1);
}

int main(int argc, char **argv)
{
    main_fix_blas(argv);
    /* Under a file size limit (ulimit -f, set by some batch systems) a write past it would kill pdiff with SIGXFSZ,
     * silently and with a temporary file left; ignored, the write fails with EFBIG and takes the usual path: one
     * line naming the file, exit status 1, the session resumable. */
    signal(SIGXFSZ, SIG_IGN);
    cli_memory_install(); /* and running out of memory inside a kernel or OpenBLAS too (cli_memory.c) */
    int tui = argc >= 2 && strcmp(argv[1], "tui") == 0;
    int interactive = tui || (argc == 1 && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO));
    int every = argc >= 2 && strcmp(argv[1], "sweep") == 0; /* a sweep spreads its runs over the ranks */
    int rc = cli_job_begin(&argc, &argv, interactive, every); /* under mpirun/srun: the other ranks serve rank 0 here */
    if (rc >= 0)
        return cli_memory_leaving(rc);
    if (tui)
        rc = cli_tui(argc - 1, argv + 1);
    else if (interactive)
        rc = cli_tui(argc, argv);
    else
        rc = cli_main(argc, argv);
    return cli_memory_leaving(cli_job_end(rc));
}
