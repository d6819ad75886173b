/* cifar.c — CIFAR-10 / CIFAR-100 binary batch files (see cifar.h).
 *
 * The length is checked against the record size before anything is read, the arrays grow once per file, and
 * records are read in blocks. On failure *n is left as it was: the arrays may have grown, but the caller
 * still owns them and everything past *n is ignored.
 */
#include "cifar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072 /* 3 x 32 x 32 */
#define CIFAR_BLOCK 256   /* records per fread */

static pd_status cifar_check_length(const char *path, int64_t len, int32_t classes, int64_t rec, pd_error *err)
{
    if (len == 0)
        return error_set(err, PD_ERR_DATA, "%s: empty file, expected CIFAR-%d records of %lld bytes", path,
                         classes, (long long)rec);
    if (len % rec == 0)
        return PD_OK;
    int64_t other = classes == 10 ? 3074 : 3073;
    char note[64] = "";
    if (len % other == 0)
        snprintf(note, sizeof note, "; it looks like a CIFAR-%d file", classes == 10 ? 100 : 10);
    return error_set(err, PD_ERR_DATA,
                     "%s: length %lld is not a whole number of %lld-byte CIFAR-%d records (%lld records and %lld "
                     "bytes over)%s",
                     path, (long long)len, (long long)rec, classes, (long long)(len / rec), (long long)(len % rec),
                     note);
}

/* Copy a block of records after checking their labels. */
static pd_status cifar_take(const char *path, const uint8_t *buf, int64_t count, int64_t first, int32_t classes,
                            int64_t rec, uint8_t *pixels, int32_t *labels, pd_error *err)
{
    for (int64_t r = 0; r < count; r++) {
        const uint8_t *p = buf + r * rec;
        int32_t label = classes == 10 ? p[0] : p[1];
        if (classes == 100 && p[0] >= 20)
            return error_set(err, PD_ERR_DATA, "%s: record %lld: coarse label %d out of range (20 superclasses)",
                             path, (long long)(first + r), p[0]);
        if (label >= classes)
            return error_set(err, PD_ERR_DATA, "%s: record %lld: label %d out of range (CIFAR-%d has %d classes)",
                             path, (long long)(first + r), label, classes, classes);
        labels[r] = label;
        memcpy(pixels + r * CIFAR_PIXELS, p + (rec - CIFAR_PIXELS), CIFAR_PIXELS);
    }
    return PD_OK;
}

static pd_status cifar_read_records(FILE *f, const char *path, int32_t classes, int64_t rec, int64_t k,
                                    uint8_t *pixels, int32_t *labels, pd_error *err)
{
    uint8_t *buf = malloc((size_t)(CIFAR_BLOCK * rec));
    if (!buf)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    pd_status st = PD_OK;
    for (int64_t done = 0; done < k && st == PD_OK;) {
        int64_t want = k - done < CIFAR_BLOCK ? k - done : CIFAR_BLOCK;
        size_t got = fread(buf, (size_t)rec, (size_t)want, f);
        if ((int64_t)got < want) {
            if (ferror(f))
                st = error_set(err, PD_ERR_DATA, "%s: read error: %s", path, strerror(errno));
            else
                st = error_set(err, PD_ERR_DATA, "%s: truncated while reading: %lld records expected, %lld found",
                               path, (long long)k, (long long)(done + (int64_t)got));
            break;
        }
        st = cifar_take(path, buf, want, done, classes, rec, pixels + done * CIFAR_PIXELS, labels + done, err);
        done += want;
    }
    free(buf);
    return st;
}

pd_status cifar_read_file(const char *path, int32_t classes, uint8_t **pixels, int32_t **labels, int32_t *n,
                          pd_error *err)
{
    PD_ASSERT(path && pixels && labels && n && *n >= 0 && (classes == 10 || classes == 100));
    const int64_t rec = classes == 10 ? 1 + CIFAR_PIXELS : 2 + CIFAR_PIXELS;

    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, PD_ERR_DATA, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int e = errno;
        fclose(f);
        return error_set(err, PD_ERR_DATA, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        fclose(f);
        return error_set(err, PD_ERR_DATA, "%s: not a regular file", path);
    }
    pd_status st = cifar_check_length(path, (int64_t)sb.st_size, classes, rec, err);
    if (st != PD_OK) {
        fclose(f);
        return st;
    }
    int64_t k = (int64_t)sb.st_size / rec, total = (int64_t)*n + k;
    if (total > INT32_MAX) {
        fclose(f);
        return error_set(err, PD_ERR_DATA, "%s: too many images in all (%lld)", path, (long long)total);
    }

    uint8_t *px = realloc(*pixels, (size_t)total * CIFAR_PIXELS);
    if (px)
        *pixels = px;
    int32_t *lb = px ? realloc(*labels, (size_t)total * sizeof *lb) : NULL;
    if (lb)
        *labels = lb;
    if (!px || !lb) {
        fclose(f);
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory for %lld images", path, (long long)total);
    }

    st = cifar_read_records(f, path, classes, rec, k, px + (size_t)*n * CIFAR_PIXELS, lb + *n, err);
    fclose(f);
    if (st == PD_OK)
        *n = (int32_t)total;
    return st;
}
