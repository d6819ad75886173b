/* atomic.c — write-to-temporary-then-rename files and mkdir -p (see atomic.h).
 *
 * The temporary file lives in the target's folder (".NAME.tmp.<pid>") so that rename() never crosses a file
 * system. Commit flushes the stdio buffer, fsyncs the data, renames over the target and, best effort, fsyncs
 * the folder so the rename itself survives a crash.
 */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Split path into its folder ("." when none) and base name; returns 0 when the base is empty. */
static int atomic_split(const char *path, char *dir, size_t dsize, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dsize, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dsize, "/");
        *base = slash + 1;
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= dsize)
            n = dsize - 1;
        memcpy(dir, path, n);
        dir[n] = '\0';
        *base = slash + 1;
    }
    return **base != '\0';
}

/* f->tmp = the hidden temporary name next to path (".NAME.tmp.<pid>" in the same folder). */
static pd_status atomic_tmp_name(pd_atomic_file *f, const char *path, const char *dir, const char *base,
                                 pd_error *err)
{
    pd_status st;
    if (strchr(path, '/'))
        st = path_format(f->tmp, sizeof f->tmp, NULL, "%s/.%s.tmp.%ld", strcmp(dir, "/") ? dir : "", base,
                         (long)getpid());
    else
        st = path_format(f->tmp, sizeof f->tmp, NULL, ".%s.tmp.%ld", base, (long)getpid());
    if (st != PD_OK)
        return error_set(err, PD_ERR_IO, "%.200s...: path too long for its temporary file name (.%.40s.tmp.%ld, "
                         "at most %zu characters in all)", path, base, (long)getpid(), sizeof f->tmp - 1);
    return PD_OK;
}

long atomic_tmp_pid(const char *name)
{
    const char *t = NULL;
    if (!name || name[0] != '.')
        return 0;
    for (const char *p = strstr(name + 1, ".tmp."); p; p = strstr(p + 1, ".tmp."))
        t = p; /* the last one: NAME may contain ".tmp." itself */
    if (!t || t == name + 1 || !t[5])
        return 0;
    long pid = 0;
    for (const char *d = t + 5; *d; d++) {
        if (*d < '0' || *d > '9' || pid > 99999999)
            return 0;
        pid = pid * 10 + (*d - '0');
    }
    return pid;
}

pd_status atomic_open(pd_atomic_file *f, const char *path, pd_error *err)
{
    char dir[PD_PATH_MAX];
    const char *base = NULL;
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return error_set(err, PD_ERR_IO, "(empty path): cannot write a file without a name");
    pd_status st = path_format(f->path, sizeof f->path, err, "%s", path);
    if (st == PD_OK && !atomic_split(path, dir, sizeof dir, &base))
        st = error_set(err, PD_ERR_IO, "%s: not a file name (ends with '/')", path);
    if (st == PD_OK)
        st = atomic_tmp_name(f, path, dir, base, err);
    if (st != PD_OK) {
        memset(f, 0, sizeof *f); /* nothing for atomic_abort to remove */
        return st;
    }

    int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        pd_status s = error_set(err, PD_ERR_IO, "%s: cannot create temporary file %s: %s", path, f->tmp,
                                strerror(e));
        memset(f, 0, sizeof *f);
        return s;
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp);
        memset(f, 0, sizeof *f);
        return error_set(err, PD_ERR_IO, "%s: cannot open a stream: %s", path, strerror(e));
    }
    return PD_OK;
}

/* Best-effort fsync of the folder holding path, so that the rename is durable. */
static void atomic_sync_dir(const char *path)
{
    char dir[PD_PATH_MAX];
    const char *base;
    atomic_split(path, dir, sizeof dir, &base);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Flush and close the temporary file (durable: fsync it first), rename it over the target (durable: then fsync the
 * folder). */
static pd_status atomic_finish(pd_atomic_file *f, int durable, pd_error *err)
{
    if (!f->fp)
        return error_set(err, PD_ERR_INTERNAL, "%s: commit of a file that is not open", f->path);
    int e = 0;
    if (fflush(f->fp) != 0)
        e = errno ? errno : EIO;
    if (!e && ferror(f->fp))
        e = EIO;
    if (!e && durable && fsync(fileno(f->fp)) != 0 && errno != EINVAL && errno != EROFS)
        e = errno;
    if (fclose(f->fp) != 0 && !e)
        e = errno ? errno : EIO;
    f->fp = NULL;
    if (e) {
        unlink(f->tmp);
        f->tmp[0] = '\0';
        return error_set(err, PD_ERR_IO, "%s: write failed: %s", f->path, strerror(e));
    }
    if (rename(f->tmp, f->path) != 0) {
        e = errno;
        unlink(f->tmp);
        f->tmp[0] = '\0';
        return error_set(err, PD_ERR_IO, "%s: cannot replace the file: %s", f->path, strerror(e));
    }
    f->tmp[0] = '\0';
    if (durable)
        atomic_sync_dir(f->path);
    return PD_OK;
}

pd_status atomic_commit(pd_atomic_file *f, pd_error *err)
{
    return atomic_finish(f, 1, err);
}

pd_status atomic_commit_volatile(pd_atomic_file *f, pd_error *err)
{
    return atomic_finish(f, 0, err);
}

void atomic_abort(pd_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp[0]) {
        unlink(f->tmp);
        f->tmp[0] = '\0';
    }
}

/* mkdir one component; an existing folder is fine. */
static pd_status atomic_mkdir_one(const char *dir, pd_error *err)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0)
        return PD_OK;
    int e = errno;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return PD_OK;
        return error_set(err, PD_ERR_IO, "%s: cannot create folder: a file of that name exists", dir);
    }
    return error_set(err, PD_ERR_IO, "%s: cannot create folder: %s", dir, strerror(e));
}

pd_status atomic_mkdirs(const char *dir, pd_error *err)
{
    char buf[PD_PATH_MAX];
    if (!dir || !*dir)
        return PD_OK;
    PD_TRY(path_format(buf, sizeof buf, err, "%s", dir));
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        pd_status s = atomic_mkdir_one(buf, err);
        buf[i] = '/';
        if (s != PD_OK)
            return s;
    }
    return atomic_mkdir_one(buf, err);
}

pd_status atomic_copy_file(const char *src, const char *dst, pd_error *err)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return error_set(err, PD_ERR_IO, "%s: %s", src, strerror(errno));
    pd_atomic_file f;
    pd_status st = atomic_open(&f, dst, err);
    char buf[65536];
    size_t n;
    while (st == PD_OK && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, f.fp) != n)
            st = error_set(err, PD_ERR_IO, "%s: write failed", dst);
    if (st == PD_OK && ferror(in))
        st = error_set(err, PD_ERR_IO, "%s: read failed", src);
    fclose(in);
    if (st == PD_OK)
        return atomic_commit(&f, err);
    atomic_abort(&f);
    return st;
}
