/* cli_memory.c — what the program does when memory runs out where nothing can return a status.
 *
 * Most allocations fail into the usual path (a pd_error naming what, exit status 1). Two cannot:
 *   - An engine operation that has no status to return (a CPU kernel growing its work buffer, a network's first
 *     values) calls error_out_of_memory(); cli_memory_install points its hook at cli_memory_stop.
 *   - Debian's OpenBLAS 0.3.21 maps a 128 MiB work buffer for each thread that runs a matrix product, and when the
 *     map fails (under an address space limit: ulimit -v, Grid Engine's h_vmem) it tries again forever, at full
 *     CPU, and only a second Ctrl-C ended pdiff. OpenBLAS calls mmap through the dynamic linker, and the program's
 *     own definition below comes first in the lookup, so it sees those calls (the C library's own maps, malloc's
 *     among them, do not come here). It passes every call on unchanged; when one large size fails with ENOMEM
 *     GUARD_REPEATS times in a row, that is the endless retry (a passing shortage would have let one through).
 *     Sanitizer builds, which intercept mmap themselves, leave the wrapper out.
 * Once main returns (cli_memory_leaving) the command has printed all it has to say: OpenBLAS's exit handler still
 * joins its worker threads, and one of them may be in that retry (seen: a run refused for memory at its start, one
 * line printed, then the guard's line as a second); the guard then ends the process with main's status and no line.
 * Otherwise the process ends the way a second Ctrl-C does: the terminal restored if the TUI had it, one line on
 * stderr naming what and the limit, exit status 1. What the session has saved stays (files are only ever renamed
 * into place). The line says how to go on under a higher limit or with fewer threads, for the session the command
 * named (cli_memory_session): `pdiff resume DIR` once its config.csv is written, before that the same command
 * again (a stop that early has saved nothing, and resume would not find a session), and for a sweep the same
 * command with --session DIR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "path.h"
#include "term.h"

static atomic_int cli_memory_stopping;
static atomic_int cli_memory_exit = -1; /* the status main returns with, once it has said all it has to say */
static char cli_memory_dir[PD_PATH_MAX]; /* the command's session or sweep folder; "" when none */
static int cli_memory_sweep;             /* cli_memory_dir is a sweep's folder */

void cli_memory_session(const char *dir, int sweep)
{
    snprintf(cli_memory_dir, sizeof cli_memory_dir, "%s", dir ? dir : "");
    cli_memory_sweep = sweep;
}

/* How to go on, into buf: by the session's state now (path_file_in: snprintf and stat(2) only, for the same
 * reason as below). */
static void cli_memory_how(char *buf, size_t size)
{
    if (!cli_memory_dir[0]) {
        snprintf(buf, size, "what the session saved is kept: pdiff resume");
    } else if (cli_memory_sweep) {
        snprintf(buf, size, "the sweep keeps every run it saved: the same command with --session %s continues it",
                 cli_memory_dir);
    } else if (path_file_in(cli_memory_dir, "config.csv")) {
        snprintf(buf, size, "what the session saved is kept: pdiff resume %s", cli_memory_dir);
    } else {
        snprintf(buf, size, "nothing was saved yet: run the same command again");
    }
}

/* One line on stderr and exit status 1. Only snprintf and write(2): the thread that gets here may be inside
 * OpenBLAS or a kernel while another holds stdio's locks. A second thread that runs out too waits for the first. */
__attribute__((noreturn)) static void cli_memory_stop(const char *what)
{
    if (atomic_exchange(&cli_memory_stopping, 1))
        for (;;)
            pause();
    int leaving = atomic_load(&cli_memory_exit);
    if (leaving >= 0) /* main has returned: its last line stands, with its status */
        _exit(leaving);
    ui_term_emergency_restore();
    char limit[112] = "";
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(limit, sizeof limit, " under the address space limit of %llu MiB (ulimit -v %llu)",
                 (unsigned long long)(rl.rlim_cur >> 20), (unsigned long long)(rl.rlim_cur >> 10));
    char how[PD_PATH_MAX + 128], msg[PD_PATH_MAX + 1024];
    cli_memory_how(how, sizeof how);
    int n = snprintf(msg, sizeof msg, "pdiff: out of memory: %s%s; raise the limit or lower threads (%s)\n", what,
                     limit, how);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
        (void)w;
    }
    _exit(1);
}

static void cli_memory_engine(const char *what, size_t bytes)
{
    char line[256];
    snprintf(line, sizeof line, "%s of %.1f MiB could not be allocated", what, (double)bytes / (1 << 20));
    cli_memory_stop(line);
}

void cli_memory_install(void)
{
    error_set_oom_hook(cli_memory_engine);
}

int cli_memory_leaving(int status)
{
    atomic_store(&cli_memory_exit, status);
    return status;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GUARD_OFF 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GUARD_OFF 1
#endif

#ifndef GUARD_OFF

#define GUARD_MIN_BYTES ((size_t)16 << 20) /* smaller maps are not OpenBLAS's buffers (128 MiB in 0.3.21) */
#define GUARD_REPEATS 5000                 /* well under a second of retrying */

typedef void *(*guard_mmap_fn)(void *, size_t, int, int, int, off_t);

static _Atomic(guard_mmap_fn) guard_next;
static atomic_size_t guard_len; /* the large size that failed last */
static atomic_int guard_fails;  /* how many times in a row */

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    guard_mmap_fn next = atomic_load(&guard_next);
    if (!next) {
        next = (guard_mmap_fn)dlsym(RTLD_NEXT, "mmap");
        if (!next) {
            errno = ENOSYS;
            return MAP_FAILED;
        }
        atomic_store(&guard_next, next);
    }
    void *p = next(addr, len, prot, flags, fd, off);
    if (len < GUARD_MIN_BYTES)
        return p;
    if (p != MAP_FAILED) {
        if (atomic_load(&guard_len) == len)
            atomic_store(&guard_fails, 0);
        return p;
    }
    int e = errno;
    if (e == ENOMEM) {
        if (atomic_exchange(&guard_len, len) != len)
            atomic_store(&guard_fails, 0);
        if (atomic_fetch_add(&guard_fails, 1) + 1 >= GUARD_REPEATS) {
            char line[160];
            snprintf(line, sizeof line, "OpenBLAS cannot map its %zu MiB work buffer (it would retry forever)",
                     len >> 20);
            cli_memory_stop(line);
        }
    }
    errno = e;
    return p;
}

#endif
