/* idx.c — IDX ubyte files, plain or gzip-compressed, read through zlib (see idx.h).
 *
 * gzopen/gzread read a plain file transparently, so one code path serves both. The header is parsed by hand
 * (big-endian), every dimension is checked before anything is allocated, and the payload is read into a
 * buffer that grows as data actually arrives, so a lying header on a tiny file never reserves gigabytes.
 * After the payload the rest of the stream is drained: trailing bytes, a gzip stream cut short and a bad CRC
 * all surface there.
 */
#include "idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_BYTES (UINT64_C(1) << 31) /* sanity bound on the product of the dimensions */
#ifndef IDX_FIRST_ALLOC /* overridable to exercise the growth path */
#define IDX_FIRST_ALLOC (UINT64_C(1) << 26) /* grow the payload buffer past this as data arrives */
#endif
#define IDX_GZ_BUFFER (1u << 18)
#define IDX_READ_MAX (1u << 30) /* gzread takes an unsigned count and returns an int */

static const char *idx_kind(int32_t ndim)
{
    return ndim == 3 ? "an image file" : ndim == 1 ? "a label file" : "an IDX file";
}

static const char *idx_payload(int32_t ndim)
{
    return ndim == 3 ? "pixels" : ndim == 1 ? "labels" : "data";
}

static uint32_t idx_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* "60000 x 28 x 28" */
static void idx_dims_str(char *buf, size_t size, const uint32_t *dims, int32_t ndim)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lu", i ? " x " : "", (unsigned long)dims[i]);
}

/* The stream's error state: Z_OK (clean so far or clean end), Z_BUF_ERROR (compressed stream ends early),
 * anything else is an error and err is filled. */
static int idx_stream_state(gzFile gz, const char *path, pd_error *err)
{
    int errnum = Z_OK;
    const char *msg = gzerror(gz, &errnum);
    if (errnum == Z_OK || errnum == Z_STREAM_END || errnum == Z_BUF_ERROR)
        return errnum == Z_BUF_ERROR ? Z_BUF_ERROR : Z_OK;
    if (errnum == Z_ERRNO) {
        error_set(err, PD_ERR_DATA, "%s: read error: %s", path, strerror(errno));
    } else if (errnum == Z_MEM_ERROR) {
        error_set(err, PD_ERR_NOMEM, "%s: out of memory while decompressing", path);
    } else {
        /* zlib prefixes its message with the path; keep the message one line with the path once */
        size_t plen = strlen(path);
        if (msg && strncmp(msg, path, plen) == 0 && msg[plen] == ':' && msg[plen + 1] == ' ')
            msg += plen + 2;
        error_set(err, PD_ERR_DATA, "%s: corrupt gzip data: %s", path, msg && *msg ? msg : "unknown error");
    }
    return errnum;
}

/* Read up to len bytes; returns the number read (short at end of stream) or -1 with err set. */
static int64_t idx_readn(gzFile gz, const char *path, uint8_t *buf, uint64_t len, pd_error *err)
{
    uint64_t got = 0;
    while (got < len) {
        uint64_t want = len - got;
        if (want > IDX_READ_MAX)
            want = IDX_READ_MAX;
        int r = gzread(gz, buf + got, (unsigned)want);
        if (r < 0) {
            if (idx_stream_state(gz, path, err) == Z_BUF_ERROR) /* not reported by gzread as -1, but be safe */
                break;
            return -1;
        }
        if (r == 0)
            break;
        got += (uint64_t)r;
    }
    if (got < len) {
        int st = idx_stream_state(gz, path, err);
        if (st != Z_OK && st != Z_BUF_ERROR)
            return -1;
    }
    return (int64_t)got;
}

/* " (the compressed stream ends early)" when zlib saw the gzip stream cut short. */
static const char *idx_cut_note(gzFile gz)
{
    int errnum = Z_OK;
    gzerror(gz, &errnum);
    return errnum == Z_BUF_ERROR ? " (the compressed stream ends early)" : "";
}

static pd_status idx_read_header(gzFile gz, const char *path, int32_t want_ndim, uint32_t *dims, pd_error *err)
{
    uint8_t head[16];
    int64_t got = idx_readn(gz, path, head, 4, err);
    if (got < 0)
        return err ? err->status : PD_ERR_DATA;
    if (got == 0)
        return error_set(err, PD_ERR_DATA, "%s: empty file, expected %s", path, idx_kind(want_ndim));
    if (got < 4)
        return error_set(err, PD_ERR_DATA, "%s: truncated: 4-byte magic expected, %lld found%s", path,
                         (long long)got, idx_cut_note(gz));

    uint32_t magic = idx_be32(head), want = 0x0800u | (uint32_t)want_ndim;
    if (magic != want) {
        char note[96] = "";
        if (head[0] == 0 && head[1] == 0 && head[2] == 0x08)
            snprintf(note, sizeof note, "; the file has %u dimension%s, %s %d", head[3], head[3] == 1 ? "" : "s",
                     want_ndim == 3 ? "images need" : want_ndim == 1 ? "labels need" : "expected", want_ndim);
        else if (head[0] == 0 && head[1] == 0)
            snprintf(note, sizeof note, "; data type 0x%02x, only unsigned bytes (0x08) are supported", head[2]);
        else
            snprintf(note, sizeof note, "; not an IDX file");
        return error_set(err, PD_ERR_DATA, "%s: wrong magic 0x%08lx, expected %s (0x%08lx)%s", path,
                         (unsigned long)magic, idx_kind(want_ndim), (unsigned long)want, note);
    }

    uint64_t hlen = 4u * (uint64_t)want_ndim;
    got = idx_readn(gz, path, head, hlen, err);
    if (got < 0)
        return err ? err->status : PD_ERR_DATA;
    if ((uint64_t)got < hlen)
        return error_set(err, PD_ERR_DATA, "%s: truncated: %llu bytes of dimensions expected after the magic, "
                         "%lld found%s", path, (unsigned long long)hlen, (long long)got, idx_cut_note(gz));

    uint64_t prod = 1;
    int zero = 0, absurd = 0;
    for (int32_t i = 0; i < want_ndim; i++) {
        dims[i] = idx_be32(head + 4 * i);
        zero |= dims[i] == 0;
        absurd |= dims[i] > INT32_MAX;
        if (prod <= IDX_MAX_BYTES) /* prod <= 2^31 and dim < 2^32: no overflow */
            prod *= dims[i];
    }
    char ds[64];
    idx_dims_str(ds, sizeof ds, dims, want_ndim);
    if (zero)
        return error_set(err, PD_ERR_DATA, "%s: zero dimension in the header (%s)", path, ds);
    if (absurd || prod > IDX_MAX_BYTES)
        return error_set(err, PD_ERR_DATA, "%s: absurd dimensions in the header (%s: more than 2^31 bytes)", path,
                         ds);
    return PD_OK;
}

static pd_status idx_read_gz(gzFile gz, const char *path, int32_t want_ndim, pd_idx *out, pd_error *err)
{
    uint32_t dims[3] = {0, 0, 0};
    PD_TRY(idx_read_header(gz, path, want_ndim, dims, err));
    uint64_t expected = 1;
    for (int32_t i = 0; i < want_ndim; i++)
        expected *= dims[i];

    uint64_t cap = expected < IDX_FIRST_ALLOC ? expected : IDX_FIRST_ALLOC, got = 0;
    uint8_t *data = malloc((size_t)cap);
    if (!data)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory for %llu bytes", path, (unsigned long long)cap);
    for (;;) {
        int64_t r = idx_readn(gz, path, data + got, cap - got, err);
        if (r < 0) {
            free(data);
            return err ? err->status : PD_ERR_DATA;
        }
        got += (uint64_t)r;
        if (got < cap || cap == expected)
            break;
        uint64_t ncap = cap * 2 < expected ? cap * 2 : expected;
        uint8_t *nd = realloc(data, (size_t)ncap);
        if (!nd) {
            free(data);
            return error_set(err, PD_ERR_NOMEM, "%s: out of memory for %llu bytes", path,
                             (unsigned long long)ncap);
        }
        data = nd;
        cap = ncap;
    }
    if (got < expected) {
        char ds[64];
        idx_dims_str(ds, sizeof ds, dims, want_ndim);
        error_set(err, PD_ERR_DATA, "%s: truncated: %llu bytes of %s expected (%s), %llu found%s", path,
                  (unsigned long long)expected, idx_payload(want_ndim), ds, (unsigned long long)got,
                  idx_cut_note(gz));
        free(data);
        return PD_ERR_DATA;
    }

    /* Drain the rest: trailing bytes, and the gzip trailer (CRC, length) is checked only at the very end. */
    uint64_t extra = 0;
    uint8_t scratch[8192];
    for (;;) {
        int64_t r = idx_readn(gz, path, scratch, sizeof scratch, err);
        if (r < 0) {
            free(data);
            return err ? err->status : PD_ERR_DATA;
        }
        extra += (uint64_t)r;
        if (r < (int64_t)sizeof scratch)
            break;
    }
    if (extra) {
        free(data);
        return error_set(err, PD_ERR_DATA, "%s: %llu unexpected bytes after the data (%llu bytes of %s)", path,
                         (unsigned long long)extra, (unsigned long long)expected, idx_payload(want_ndim));
    }
    if (idx_cut_note(gz)[0]) {
        free(data);
        return error_set(err, PD_ERR_DATA, "%s: corrupt gzip data: the compressed stream ends early", path);
    }

    out->ndim = want_ndim;
    for (int32_t i = 0; i < want_ndim; i++)
        out->dims[i] = (int32_t)dims[i];
    out->data = data;
    return PD_OK;
}

pd_status idx_read(const char *path, int32_t want_ndim, pd_idx *out, pd_error *err)
{
    PD_ASSERT(path && out && want_ndim >= 1 && want_ndim <= 3);
    memset(out, 0, sizeof *out);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return error_set(err, PD_ERR_DATA, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, IDX_GZ_BUFFER);
    pd_status st = idx_read_gz(gz, path, want_ndim, out, err);
    gzclose(gz);
    if (st != PD_OK)
        idx_free(out);
    return st;
}

pd_status idx_read_dims(const char *path, int32_t want_ndim, int32_t dims[3], pd_error *err)
{
    PD_ASSERT(path && want_ndim >= 1 && want_ndim <= 3);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return error_set(err, PD_ERR_DATA, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    uint32_t d[3] = {0, 0, 0};
    pd_status st = idx_read_header(gz, path, want_ndim, d, err);
    gzclose(gz);
    for (int i = 0; i < 3; i++)
        dims[i] = i < want_ndim ? (int32_t)d[i] : 0;
    return st;
}

void idx_free(pd_idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}
