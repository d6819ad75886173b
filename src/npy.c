/* npy.c — NumPy .npy files of float32 (see npy.h).
 *
 * The header is a Python dict literal. No JSON library reads it (single quotes, True/False, tuples), and it is
 * tiny, so a strict hand-written parser takes exactly what NumPy writes for a '<f4' array: the three keys 'descr',
 * 'fortran_order' and 'shape' once each in any order, single- or double-quoted keys and strings without escapes,
 * tuples of non-negative integers (a trailing comma allowed, "(3)" refused: it is not a tuple), optional
 * trailing comma before the closing brace, spaces, and the newline and padding after it.
 */
#include "npy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
#define NPY_STR_MAX 32 /* longest string the header may hold (keys, descr) */

static int npy_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* The element count of a shape, or -1 when it is not one (negative, more than 2^61 values, too many dims). */
static int64_t npy_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    if (ndim < 0 || ndim > PD_ST_MAX_DIMS || (ndim > 0 && !shape))
        return -1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n) || n > INT64_MAX / 8)
            return -1;
    return n;
}

/* "(3,)" for one dimension, "(3, 4)", "()" for none. */
static void npy_shape_str(char *out, size_t size, int ndim, const int64_t *shape)
{
    size_t len = (size_t)snprintf(out, size, "(");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < size)
        snprintf(out + len, size - len, ndim == 1 ? ",)" : ")");
}

/* ------------------------------------------------------------------------------------------- writing */

pd_status npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape, pd_error *err)
{
    int64_t n = npy_numel(ndim, shape);
    if (n < 0 || (n > 0 && !data))
        return error_set(err, PD_ERR_INTERNAL, "%s: invalid array shape or data for a .npy file", path);
    char dims[PD_ST_MAX_DIMS * 22 + 8], header[PD_ST_MAX_DIMS * 22 + 128 + NPY_ALIGN];
    npy_shape_str(dims, sizeof dims, ndim, shape);
    int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", dims);
    size_t total = NPY_MAGIC_LEN + 4 + (size_t)len + 1; /* magic, version, length, header, newline */
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    memset(header + len, ' ', pad);
    header[len + pad] = '\n';
    size_t hlen = (size_t)len + pad + 1;
    uint8_t pre[NPY_MAGIC_LEN + 4] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)hlen, (uint8_t)(hlen >> 8)};

    pd_atomic_file af;
    PD_TRY(atomic_open(&af, path, err));
    fwrite(pre, 1, sizeof pre, af.fp);
    fwrite(header, 1, hlen, af.fp);
    if (npy_little_endian()) {
        if (n > 0)
            fwrite(data, sizeof *data, (size_t)n, af.fp);
    } else {
        for (int64_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, &data[i], sizeof b);
            uint8_t le[4] = {(uint8_t)b, (uint8_t)(b >> 8), (uint8_t)(b >> 16), (uint8_t)(b >> 24)};
            fwrite(le, 1, sizeof le, af.fp);
        }
    }
    return atomic_commit(&af, err);
}

/* ------------------------------------------------------------------------------------------- the header */

typedef struct {
    const char *start, *p, *end; /* the header text */
    const char *name;            /* the file, for messages */
    pd_error *err;
    int ndim;
    int64_t shape[PD_ST_MAX_DIMS];
} npy_lex;

__attribute__((format(printf, 2, 3))) static pd_status npy_bad(npy_lex *lx, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return error_set(lx->err, PD_ERR_FORMAT, "%s: .npy header: %s (at byte %d of the header)", lx->name, what,
                     (int)(lx->p - lx->start));
}

/* What the cursor sees, for messages: "'x'", "the end" or "byte 0x00". */
static const char *npy_seen(const npy_lex *lx, char out[16])
{
    if (lx->p >= lx->end)
        return "the end";
    unsigned char c = (unsigned char)*lx->p;
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02x", c);
    return out;
}

static void npy_ws(npy_lex *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
        lx->p++;
}

static pd_status npy_expect(npy_lex *lx, char c)
{
    char seen[16];
    npy_ws(lx);
    if (lx->p >= lx->end || *lx->p != c)
        return npy_bad(lx, "expected '%c', found %s", c, npy_seen(lx, seen));
    lx->p++;
    return PD_OK;
}

/* A quoted string without escapes, at most NPY_STR_MAX characters. */
static pd_status npy_string(npy_lex *lx, char out[NPY_STR_MAX + 1], const char *what)
{
    char seen[16];
    npy_ws(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"'))
        return npy_bad(lx, "expected %s (a quoted string), found %s", what, npy_seen(lx, seen));
    char q = *lx->p++;
    size_t n = 0;
    while (lx->p < lx->end && *lx->p != q) {
        unsigned char c = (unsigned char)*lx->p;
        if (c < 0x20 || c >= 0x7f || c == '\\')
            return npy_bad(lx, "%s holds %s (only plain ASCII text is expected)", what, npy_seen(lx, seen));
        if (n == NPY_STR_MAX)
            return npy_bad(lx, "%s is longer than %d characters", what, NPY_STR_MAX);
        out[n++] = (char)c;
        lx->p++;
    }
    if (lx->p >= lx->end)
        return npy_bad(lx, "%s has no closing quote", what);
    lx->p++;
    out[n] = '\0';
    return PD_OK;
}

/* A non-negative integer (Python 2's "3L" too). */
static pd_status npy_int(npy_lex *lx, int64_t *v)
{
    char seen[16];
    npy_ws(lx);
    if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9')
        return npy_bad(lx, "expected a dimension (a non-negative integer), found %s", npy_seen(lx, seen));
    *v = 0;
    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
        if (*v > (INT64_MAX - 9) / 10)
            return npy_bad(lx, "a dimension is larger than 64 bits hold");
        *v = *v * 10 + (*lx->p++ - '0');
    }
    if (lx->p < lx->end && *lx->p == 'L')
        lx->p++;
    return PD_OK;
}

/* '(' [int (',' int)* [',']] ')', where one integer needs its comma. */
static pd_status npy_shape(npy_lex *lx)
{
    char seen[16];
    PD_TRY(npy_expect(lx, '('));
    lx->ndim = 0;
    for (;;) {
        npy_ws(lx);
        if (lx->p < lx->end && *lx->p == ')')
            break;
        if (lx->ndim == PD_ST_MAX_DIMS)
            return npy_bad(lx, "the shape has more than %d dimensions", PD_ST_MAX_DIMS);
        PD_TRY(npy_int(lx, &lx->shape[lx->ndim]));
        lx->ndim++;
        npy_ws(lx);
        if (lx->p < lx->end && *lx->p == ',') {
            lx->p++;
            continue;
        }
        if (lx->p < lx->end && *lx->p == ')') {
            if (lx->ndim == 1)
                return npy_bad(lx, "shape (%lld) is not a tuple (one dimension is written (%lld,))",
                               (long long)lx->shape[0], (long long)lx->shape[0]);
            break;
        }
        return npy_bad(lx, "expected ',' or ')' in the shape, found %s", npy_seen(lx, seen));
    }
    lx->p++;
    return PD_OK;
}

/* One value of the dict, for its key (seen: the keys read so far, one bit each). */
static pd_status npy_value(npy_lex *lx, const char *key, unsigned *seen)
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    char word[NPY_STR_MAX + 1];
    int k = 0;
    while (k < 3 && strcmp(key, keys[k]) != 0)
        k++;
    if (k == 3)
        return npy_bad(lx, "unexpected key '%s' (a .npy header has 'descr', 'fortran_order' and 'shape')", key);
    if (*seen & (1u << k))
        return npy_bad(lx, "key '%s' given twice", key);
    *seen |= 1u << k;
    if (k == 2)
        return npy_shape(lx);
    if (k == 0) {
        PD_TRY(npy_string(lx, word, "the dtype"));
        if (strcmp(word, "<f4") != 0)
            return error_set(lx->err, PD_ERR_FORMAT, "%s: dtype '%s' is not supported (pdiff reads little-endian "
                             "float32 '<f4')", lx->name, word);
        return PD_OK;
    }
    npy_ws(lx);
    if (lx->end - lx->p >= 5 && memcmp(lx->p, "False", 5) == 0) {
        lx->p += 5;
        return PD_OK;
    }
    if (lx->end - lx->p >= 4 && memcmp(lx->p, "True", 4) == 0)
        return error_set(lx->err, PD_ERR_FORMAT, "%s: fortran_order True (column-major) is not supported: save "
                         "a C-ordered array (numpy.ascontiguousarray)", lx->name);
    return npy_bad(lx, "fortran_order is neither True nor False");
}

/* The whole header: the dict, then only white space (the padding and the newline). */
static pd_status npy_dict(npy_lex *lx)
{
    char key[NPY_STR_MAX + 1], seen_c[16];
    unsigned seen = 0;
    PD_TRY(npy_expect(lx, '{'));
    for (;;) {
        npy_ws(lx);
        if (lx->p < lx->end && *lx->p == '}')
            break;
        PD_TRY(npy_string(lx, key, "a key"));
        PD_TRY(npy_expect(lx, ':'));
        PD_TRY(npy_value(lx, key, &seen));
        npy_ws(lx);
        if (lx->p < lx->end && *lx->p == ',') {
            lx->p++;
            continue;
        }
        if (lx->p < lx->end && *lx->p == '}')
            break;
        return npy_bad(lx, "expected ',' or '}', found %s", npy_seen(lx, seen_c));
    }
    lx->p++;
    npy_ws(lx);
    if (lx->p < lx->end)
        return npy_bad(lx, "unexpected %s after the dict", npy_seen(lx, seen_c));
    if (seen != 7u)
        return npy_bad(lx, "the header has no '%s'", !(seen & 1u) ? "descr" : !(seen & 2u) ? "fortran_order" : "shape");
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------- reading */

/* The magic and version; *off = where the header starts, *hlen its length. */
static pd_status npy_preamble(const uint8_t *buf, size_t size, const char *name, size_t *off, size_t *hlen,
                              pd_error *err)
{
    if (size < NPY_MAGIC_LEN || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return error_set(err, PD_ERR_FORMAT, "%s: not a NumPy .npy file (it does not begin with \\x93NUMPY)", name);
    if (size < NPY_MAGIC_LEN + 2)
        return error_set(err, PD_ERR_FORMAT, "%s: truncated: %zu bytes, no room for the .npy version", name, size);
    int major = buf[6], minor = buf[7];
    if ((major != 1 && major != 2) || minor != 0)
        return error_set(err, PD_ERR_FORMAT, "%s: .npy format version %d.%d is not supported (pdiff reads 1.0 and "
                         "2.0)", name, major, minor);
    *off = major == 1 ? 10 : 12;
    if (size < *off)
        return error_set(err, PD_ERR_FORMAT, "%s: truncated: %zu bytes, no room for the .npy header length", name,
                         size);
    *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (major == 2)
        *hlen |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (*hlen > size - *off)
        return error_set(err, PD_ERR_FORMAT, "%s: .npy header length %zu runs past the end of the file (%zu bytes "
                         "follow it)", name, *hlen, size - *off);
    return PD_OK;
}

pd_status npy_parse_f32(const uint8_t *buf, size_t size, const char *name, float **data, int *ndim,
                        int64_t shape[PD_ST_MAX_DIMS], pd_error *err)
{
    size_t off = 0, hlen = 0;
    *data = NULL;
    *ndim = 0;
    PD_TRY(npy_preamble(buf, size, name, &off, &hlen, err));
    npy_lex lx = {.start = (const char *)buf + off, .p = (const char *)buf + off,
                  .end = (const char *)buf + off + hlen, .name = name, .err = err};
    PD_TRY(npy_dict(&lx));
    char dims[PD_ST_MAX_DIMS * 22 + 8];
    npy_shape_str(dims, sizeof dims, lx.ndim, lx.shape);
    int64_t n = npy_numel(lx.ndim, lx.shape);
    size_t have = size - off - hlen;
    if (n < 0)
        return error_set(err, PD_ERR_FORMAT, "%s: shape %s holds more values than 64 bits count", name, dims);
    if ((uint64_t)n * 4 != have)
        return error_set(err, PD_ERR_FORMAT, "%s: shape %s of float32 needs %llu bytes of data, the file holds %zu",
                         name, dims, (unsigned long long)n * 4, have);
    float *out = malloc(n ? (size_t)n * sizeof *out : 1);
    if (!out)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory for %lld values", name, (long long)n);
    const uint8_t *p = buf + off + hlen;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                     (uint32_t)p[4 * i + 3] << 24;
        memcpy(&out[i], &b, sizeof b);
    }
    *data = out;
    *ndim = lx.ndim;
    memcpy(shape, lx.shape, sizeof lx.shape);
    return PD_OK;
}

pd_status npy_read_f32(const char *path, float **data, int *ndim, int64_t shape[PD_ST_MAX_DIMS], pd_error *err)
{
    uint8_t *buf;
    size_t size;
    *data = NULL;
    *ndim = 0;
    PD_TRY(safetensors_load_file(path, &buf, &size, err));
    pd_status s = npy_parse_f32(buf, size, path, data, ndim, shape, err);
    free(buf);
    return s;
}
