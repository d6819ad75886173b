/* atomic.h — write a file so that readers only ever see the old or the complete new content.
 *
 *   pd_atomic_file f;
 *   if (atomic_open(&f, "sess/models.csv", &err) != PD_OK) ...   // writes "sess/.models.csv.tmp.<pid>"
 *   fprintf(f.fp, ...);
 *   if (atomic_commit(&f, &err) != PD_OK) ...                     // fflush + fsync + rename; or:
 *   atomic_abort(&f);                                              // removes the temporary file
 * A killed process leaves at most a hidden *.tmp.* file behind, never a half-written target.
 */
#ifndef PD_ATOMIC_H
#define PD_ATOMIC_H

#include <stdio.h>

#include "error.h"
#include "path.h"

typedef struct {
    FILE *fp;
    char path[PD_PATH_MAX];
    char tmp[PD_PATH_MAX];
} pd_atomic_file;

/* PD_ERR_IO naming the path when it, or the temporary name next to it, does not fit in PD_PATH_MAX. */
pd_status atomic_open(pd_atomic_file *f, const char *path, pd_error *err);
pd_status atomic_commit(pd_atomic_file *f, pd_error *err); /* also checks ferror; the file is closed either way */
/* The same without the fsyncs: readers still see the old or the whole new content, but after a crash of the machine
 * the file may be old or empty. For files rewritten every second that nothing depends on (progress.csv), where an
 * fsync on a network file system would stall the writer. */
pd_status atomic_commit_volatile(pd_atomic_file *f, pd_error *err);
void atomic_abort(pd_atomic_file *f);                      /* safe after commit or on a zeroed struct */
/* Copy a file atomically (dst appears complete or not at all). */
pd_status atomic_copy_file(const char *src, const char *dst, pd_error *err);
/* The process id in a temporary file's name (".NAME.tmp.PID", a base name without folder), else 0. */
long atomic_tmp_pid(const char *name);
/* mkdir -p */
pd_status atomic_mkdirs(const char *dir, pd_error *err);

#endif
