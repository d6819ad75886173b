/* path.c — checked path building (see path.h). */
#include "path.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static pd_status path_too_long(const char *out, size_t size, int n, pd_error *err)
{
    /* out holds the cut path: show its start, which names the folder, and the full length */
    return error_set(err, PD_ERR_IO, "%.200s...: path too long (%d characters, at most %zu)", out, n,
                     size ? size - 1 : 0);
}

pd_status path_format(char *out, size_t size, pd_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n < 0)
        return error_set(err, PD_ERR_IO, "cannot format a path from '%s'", fmt);
    if ((size_t)n >= size)
        return path_too_long(out, size, n, err);
    return PD_OK;
}

pd_status path_join(char *out, size_t size, const char *dir, const char *name, pd_error *err)
{
    if (!dir || !dir[0])
        return path_format(out, size, err, "%s", name);
    size_t len = strlen(dir);
    const char *sep = dir[len - 1] == '/' ? "" : "/";
    return path_format(out, size, err, "%s%s%s", dir, sep, name);
}

int path_file_in(const char *dir, const char *name)
{
    char path[PD_PATH_MAX];
    struct stat sb;
    return path_join(path, sizeof path, dir, name, NULL) == PD_OK && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

char *path_read_small(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, fp);
        if (n < cap - 1 || cap > ((size_t)1 << 24))
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown)
            free(buf);
        buf = grown, cap *= 2;
    }
    if (buf && ferror(fp)) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = buf ? n : 0;
    return buf;
}
