/* path.h — file paths built in one place. Every path the engine and the UI make goes through these helpers, which
 * fail with one line naming the path when it does not fit, instead of cutting it short silently.
 *
 *   char p[PD_PATH_MAX];
 *   PD_TRY(path_join(p, sizeof p, session_dir, "config.csv", err));
 */
#ifndef PD_PATH_H
#define PD_PATH_H

#include <stddef.h>

#include "error.h"

/* Room for any path pdiff builds (Linux's PATH_MAX). */
#define PD_PATH_MAX 4096

/* out = dir "/" name (no doubled slash when dir ends with one; just name when dir is "" or NULL).
 * PD_ERR_IO "DIR/NAME: path too long (N characters, at most M)" when it does not fit in size bytes. */
pd_status path_join(char *out, size_t size, const char *dir, const char *name, pd_error *err);
/* out = the printf-style path; the same error when it does not fit. */
pd_status path_format(char *out, size_t size, pd_error *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 1 when dir/name is a regular file (a session's config.csv, a sweep's sweep_index.csv, ...). */
int path_file_in(const char *dir, const char *name);
/* A small file's whole contents (at most about 16 MiB), NUL-terminated, to free; *len (may be NULL) receives its
 * length. NULL when it is absent or cannot be read. */
char *path_read_small(const char *path, size_t *len);

#endif
