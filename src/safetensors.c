/* safetensors.c — reading and writing safetensors files (see safetensors.h).
 *
 * The header is JSON and jansson parses it (with JSON_REJECT_DUPLICATES, so a name given twice is an error rather
 * than the last one silently winning); this file only checks what the parsed values claim. Reading copies the whole
 * file, validates the header, then moves the data section to the front of the same buffer, which becomes f->data.
 * Values are read byte by byte as little-endian, so neither alignment nor the host's byte order matter.
 */
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pdiff_build.h"

#ifdef HAVE_JANSSON
#include <jansson.h>

#include "atomic.h"
#include "grow.h"
#endif

#define ST_QUOTE_MAX 96 /* characters of a name shown in a message */

static const char *const st_dtype_names[PD_ST_DTYPE_COUNT] = {"F32", "F64", "F16", "BF16", "I64",
                                                              "I32", "I16", "I8",  "U8",   "BOOL"};
static const size_t st_dtype_sizes[PD_ST_DTYPE_COUNT] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};

const char *safetensors_dtype_name(pd_st_dtype dtype)
{
    return (unsigned)dtype < PD_ST_DTYPE_COUNT ? st_dtype_names[dtype] : NULL;
}

size_t safetensors_dtype_size(pd_st_dtype dtype)
{
    return (unsigned)dtype < PD_ST_DTYPE_COUNT ? st_dtype_sizes[dtype] : 0;
}

int64_t safetensors_numel(const pd_st_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

const pd_st_tensor *safetensors_find(const pd_safetensors *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *safetensors_meta_get(const pd_safetensors *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_key[i], key) == 0)
            return f->meta_value[i];
    return NULL;
}

void safetensors_free(pd_safetensors *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->t[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_key[i]);
        free(f->meta_value[i]);
    }
    free(f->t);
    free(f->meta_key);
    free(f->meta_value);
    free(f->data);
    memset(f, 0, sizeof *f);
}

/* s for a one-line message: control characters as '?', cut at ST_QUOTE_MAX characters with "...". */
static const char *st_quote(char out[ST_QUOTE_MAX + 4], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < ST_QUOTE_MAX; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s[i])
        memcpy(out + i, "...", 3), i += 3;
    out[i] = '\0';
    return out;
}

pd_status safetensors_load_file(const char *path, uint8_t **buf, size_t *size, pd_error *err)
{
    *buf = NULL;
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return error_set(err, PD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    pd_status s = PD_OK;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
        s = error_set(err, PD_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > SIZE_MAX / 2)
        s = error_set(err, PD_ERR_NOMEM, "%s: too large to load (%lld bytes)", path, (long long)st.st_size);
    else if (!(*buf = malloc(st.st_size ? (size_t)st.st_size : 1)))
        s = error_set(err, PD_ERR_NOMEM, "%s: out of memory loading %lld bytes", path, (long long)st.st_size);
    if (s == PD_OK) {
        *size = fread(*buf, 1, (size_t)st.st_size, fp); /* a file shrinking under us reads as truncated */
        if (ferror(fp))
            s = error_set(err, PD_ERR_IO, "%s: read error: %s", path, strerror(errno));
    }
    fclose(fp);
    if (s != PD_OK) {
        free(*buf);
        *buf = NULL;
        *size = 0;
    }
    return s;
}

/* ------------------------------------------------------------------------------------------- values as float */

float safetensors_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

float safetensors_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in float */
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13); /* infinity, or NaN with its payload */
    else
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static int st_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static uint64_t st_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* A double rounded to float; beyond float's range (after rounding) it is an infinity, as IEEE conversion gives. */
static float st_f64_to_f32(double d)
{
    if (d != d)
        return (float)d;
    if (fabs(d) >= 0x1.ffffffp127) /* FLT_MAX + half an ulp: rounds to infinity */
        return d > 0 ? INFINITY : -INFINITY;
    return (float)d;
}

static float st_value(pd_st_dtype dtype, const uint8_t *p)
{
    uint64_t u = st_le(p, st_dtype_sizes[dtype]);
    switch (dtype) {
    case PD_ST_F32: {
        uint32_t b = (uint32_t)u;
        float v;
        memcpy(&v, &b, sizeof v);
        return v;
    }
    case PD_ST_F64: {
        double v;
        memcpy(&v, &u, sizeof v);
        return st_f64_to_f32(v);
    }
    case PD_ST_F16: return safetensors_f16_to_f32((uint16_t)u);
    case PD_ST_BF16: return safetensors_bf16_to_f32((uint16_t)u);
    case PD_ST_I64: return (float)(int64_t)u;
    case PD_ST_I32: return (float)(int32_t)(uint32_t)u;
    case PD_ST_I16: return (float)(int16_t)(uint16_t)u;
    case PD_ST_I8: return (float)(int8_t)(uint8_t)u;
    case PD_ST_U8: return (float)u;
    case PD_ST_BOOL: return u ? 1.0f : 0.0f;
    }
    return 0.0f;
}

pd_status safetensors_get_f32(const pd_safetensors *f, const pd_st_tensor *t, float *out, pd_error *err)
{
    char q[ST_QUOTE_MAX + 4];
    size_t esize = safetensors_dtype_size(t->dtype);
    int64_t n = safetensors_numel(t);
    if (!esize || t->begin < 0 || t->begin > t->end || t->end > f->data_size ||
        (t->end - t->begin) / (int64_t)esize != n || (t->end - t->begin) % (int64_t)esize)
        return error_set(err, PD_ERR_INTERNAL, "%s: tensor '%s': not a valid tensor of this file", f->path,
                         st_quote(q, t->name ? t->name : "?"));
    const uint8_t *p = f->data + t->begin;
    if (t->dtype == PD_ST_F32 && st_little_endian()) {
        if (n)
            memcpy(out, p, (size_t)n * sizeof *out);
        return PD_OK;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = st_value(t->dtype, p + i * (int64_t)esize);
    return PD_OK;
}

#ifdef HAVE_JANSSON
/* ------------------------------------------------------------------------------------------- reading */

/* "[10, 5]" ("[]" for a scalar). */
static const char *st_shape_str(char *out, size_t size, int ndim, const int64_t *shape)
{
    size_t len = (size_t)snprintf(out, size, "[");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < size)
        snprintf(out + len, size - len, "]");
    return out;
}

/* One line, PD_ERR_FORMAT: "FILE: tensor 'NAME': problem" ("FILE: problem" when name is NULL). */
__attribute__((format(printf, 4, 5))) static pd_status st_bad(pd_error *err, const pd_safetensors *f,
                                                              const char *name, const char *fmt, ...)
{
    char what[PD_ERROR_MSG_MAX], q[ST_QUOTE_MAX + 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (name)
        return error_set(err, PD_ERR_FORMAT, "%s: tensor '%s': %s", f->path, st_quote(q, name), what);
    return error_set(err, PD_ERR_FORMAT, "%s: %s", f->path, what);
}

static const char *st_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

static pd_status st_dtype(const pd_safetensors *f, pd_st_tensor *t, const json_t *d, pd_error *err)
{
    char q[ST_QUOTE_MAX + 4];
    if (!d)
        return st_bad(err, f, t->name, "no \"dtype\"");
    if (!json_is_string(d))
        return st_bad(err, f, t->name, "\"dtype\" is %s, not a string", st_json_type(d));
    for (int k = 0; k < PD_ST_DTYPE_COUNT; k++)
        if (strcmp(json_string_value(d), st_dtype_names[k]) == 0) {
            t->dtype = (pd_st_dtype)k;
            return PD_OK;
        }
    return st_bad(err, f, t->name, "dtype '%s' is not supported (pdiff reads F32, F64, F16, BF16, I64, I32, I16, "
                  "I8, U8 and BOOL)", st_quote(q, json_string_value(d)));
}

/* t->ndim, t->shape and the element count *numel. */
static pd_status st_shape(const pd_safetensors *f, pd_st_tensor *t, const json_t *shape, int64_t *numel,
                          pd_error *err)
{
    if (!shape)
        return st_bad(err, f, t->name, "no \"shape\"");
    if (!json_is_array(shape))
        return st_bad(err, f, t->name, "\"shape\" is %s, not an array", st_json_type(shape));
    size_t nd = json_array_size(shape);
    if (nd > PD_ST_MAX_DIMS)
        return st_bad(err, f, t->name, "shape has %zu dimensions, at most %d are supported", nd, PD_ST_MAX_DIMS);
    t->ndim = (int)nd;
    *numel = 1;
    for (size_t i = 0; i < nd; i++) {
        const json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d))
            return st_bad(err, f, t->name, "shape entry %zu is %s, not an integer", i, st_json_type(d));
        json_int_t v = json_integer_value(d);
        if (v < 0)
            return st_bad(err, f, t->name, "shape entry %zu is negative (%lld)", i, (long long)v);
        t->shape[i] = (int64_t)v;
        if (__builtin_mul_overflow(*numel, t->shape[i], numel))
            return st_bad(err, f, t->name, "shape has more elements than 64 bits count");
    }
    return PD_OK;
}

static pd_status st_offsets(const pd_safetensors *f, pd_st_tensor *t, const json_t *off, pd_error *err)
{
    if (!off)
        return st_bad(err, f, t->name, "no \"data_offsets\"");
    if (!json_is_array(off))
        return st_bad(err, f, t->name, "\"data_offsets\" is %s, not an array [begin, end]", st_json_type(off));
    if (json_array_size(off) != 2)
        return st_bad(err, f, t->name, "\"data_offsets\" has %zu entries, not 2 [begin, end]",
                      json_array_size(off));
    int64_t v[2];
    for (size_t k = 0; k < 2; k++) {
        const json_t *e = json_array_get(off, k);
        if (!json_is_integer(e))
            return st_bad(err, f, t->name, "\"data_offsets\" %s is %s, not an integer", k ? "end" : "begin",
                          st_json_type(e));
        v[k] = (int64_t)json_integer_value(e);
        if (v[k] < 0)
            return st_bad(err, f, t->name, "\"data_offsets\" %s is negative (%lld)", k ? "end" : "begin",
                          (long long)v[k]);
    }
    t->begin = v[0], t->end = v[1];
    if (t->begin > t->end)
        return st_bad(err, f, t->name, "data_offsets [%lld, %lld] begin after they end", (long long)t->begin,
                      (long long)t->end);
    if (t->end > f->data_size)
        return st_bad(err, f, t->name, "data_offsets [%lld, %lld] run past the data section (%lld bytes)",
                      (long long)t->begin, (long long)t->end, (long long)f->data_size);
    return PD_OK;
}

static pd_status st_tensor(pd_safetensors *f, const char *name, const json_t *v, pd_error *err)
{
    pd_st_tensor *t = &f->t[f->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", f->path);
    f->n++;
    if (!json_is_object(v))
        return st_bad(err, f, t->name, "the entry is %s, not an object {\"dtype\", \"shape\", \"data_offsets\"}",
                      st_json_type(v));
    int64_t numel = 0, bytes = 0;
    PD_TRY(st_dtype(f, t, json_object_get(v, "dtype"), err));
    PD_TRY(st_shape(f, t, json_object_get(v, "shape"), &numel, err));
    PD_TRY(st_offsets(f, t, json_object_get(v, "data_offsets"), err));
    char shape[PD_ST_MAX_DIMS * 22 + 4];
    st_shape_str(shape, sizeof shape, t->ndim, t->shape);
    if (__builtin_mul_overflow(numel, (int64_t)st_dtype_sizes[t->dtype], &bytes))
        return st_bad(err, f, t->name, "shape %s of %s needs more bytes than 64 bits count", shape,
                      st_dtype_names[t->dtype]);
    if (bytes != t->end - t->begin)
        return st_bad(err, f, t->name, "data_offsets [%lld, %lld] hold %lld bytes, shape %s of %s needs %lld",
                      (long long)t->begin, (long long)t->end, (long long)(t->end - t->begin), shape,
                      st_dtype_names[t->dtype], (long long)bytes);
    return PD_OK;
}

static pd_status st_metadata(pd_safetensors *f, json_t *v, pd_error *err)
{
    char q[ST_QUOTE_MAX + 4];
    if (!json_is_object(v))
        return st_bad(err, f, NULL, "\"__metadata__\" is %s, not an object of strings", st_json_type(v));
    size_t n = json_object_size(v);
    f->meta_key = calloc(n ? n : 1, sizeof *f->meta_key);
    f->meta_value = calloc(n ? n : 1, sizeof *f->meta_value);
    if (!f->meta_key || !f->meta_value)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", f->path);
    const char *key;
    json_t *value;
    json_object_foreach(v, key, value) {
        if (!json_is_string(value))
            return st_bad(err, f, NULL, "\"__metadata__\" '%s' is %s, not a string", st_quote(q, key),
                          st_json_type(value));
        f->meta_key[f->n_meta] = strdup(key);
        f->meta_value[f->n_meta] = strdup(json_string_value(value));
        f->n_meta++; /* freed by safetensors_free even when one strdup failed */
        if (!f->meta_key[f->n_meta - 1] || !f->meta_value[f->n_meta - 1])
            return error_set(err, PD_ERR_NOMEM, "%s: out of memory", f->path);
    }
    return PD_OK;
}

typedef struct {
    int64_t begin, end;
    int i;
} st_range;

static int st_range_cmp(const void *pa, const void *pb)
{
    const st_range *a = pa, *b = pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* No two tensors' byte ranges share a byte (ranges sorted by where they begin). */
static pd_status st_check_overlap(const pd_safetensors *f, pd_error *err)
{
    if (f->n < 2)
        return PD_OK;
    st_range *r = malloc((size_t)f->n * sizeof *r);
    if (!r)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++)
        r[i] = (st_range){f->t[i].begin, f->t[i].end, i};
    qsort(r, (size_t)f->n, sizeof *r, st_range_cmp);
    pd_status s = PD_OK;
    for (int k = 1; k < f->n && s == PD_OK; k++)
        if (r[k - 1].end > r[k].begin) {
            char q[ST_QUOTE_MAX + 4];
            s = st_bad(err, f, f->t[r[k].i].name, "data_offsets [%lld, %lld] overlap those of tensor '%s' "
                       "[%lld, %lld]", (long long)r[k].begin, (long long)r[k].end,
                       st_quote(q, f->t[r[k - 1].i].name), (long long)r[k - 1].begin, (long long)r[k - 1].end);
        }
    free(r);
    return s;
}

static pd_status st_header(pd_safetensors *f, json_t *root, pd_error *err)
{
    if (!json_is_object(root))
        return st_bad(err, f, NULL, "the header is %s, not a JSON object", st_json_type(root));
    size_t n = json_object_size(root);
    if (!(f->t = calloc(n ? n : 1, sizeof *f->t)))
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory for %zu tensors", f->path, n);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        pd_status s = strcmp(key, "__metadata__") == 0 ? st_metadata(f, v, err) : st_tensor(f, key, v, err);
        if (s != PD_OK)
            return s;
    }
    return st_check_overlap(f, err);
}

/* Validate buf (size bytes, taken over: on success its data section, moved to the front, becomes f->data; freed
 * on failure, when f is emptied). */
static pd_status st_parse_owned(pd_safetensors *f, uint8_t *buf, size_t size, pd_error *err)
{
    pd_status s = PD_OK;
    uint64_t hlen = size >= 8 ? st_le(buf, 8) : 0;
    if (size < 8)
        s = st_bad(err, f, NULL, "truncated: %zu bytes, a safetensors file begins with an 8-byte header length",
                   size);
    else if (hlen > PD_ST_MAX_HEADER)
        s = st_bad(err, f, NULL, "header length %llu is more than the limit of %d bytes", (unsigned long long)hlen,
                   PD_ST_MAX_HEADER);
    else if (hlen > size - 8)
        s = st_bad(err, f, NULL, "header length %llu runs past the end of the file (%zu bytes follow the length)",
                   (unsigned long long)hlen, size - 8);
    if (s == PD_OK) {
        json_error_t je;
        json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
        f->data_size = (int64_t)(size - 8 - hlen);
        if (!root) {
            char q[ST_QUOTE_MAX + 4];
            s = st_bad(err, f, NULL, "the header is not valid JSON%s: %s (byte %d of the header)",
                       json_error_code(&je) == json_error_duplicate_key ? " (a name is given twice)" : "",
                       st_quote(q, je.text), je.position);
        } else {
            s = st_header(f, root, err);
            json_decref(root);
        }
    }
    if (s != PD_OK) {
        free(buf);
        safetensors_free(f);
        return s;
    }
    memmove(buf, buf + 8 + hlen, (size_t)f->data_size);
    uint8_t *shrunk = realloc(buf, f->data_size ? (size_t)f->data_size : 1);
    f->data = shrunk ? shrunk : buf;
    return PD_OK;
}

pd_status safetensors_parse(pd_safetensors *f, const uint8_t *buf, size_t size, const char *name, pd_error *err)
{
    memset(f, 0, sizeof *f);
    PD_TRY(path_format(f->path, sizeof f->path, err, "%s", name));
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory copying %zu bytes", name, size);
    if (size)
        memcpy(copy, buf, size);
    return st_parse_owned(f, copy, size, err);
}

pd_status safetensors_read(pd_safetensors *f, const char *path, pd_error *err)
{
    uint8_t *buf;
    size_t size;
    memset(f, 0, sizeof *f);
    PD_TRY(path_format(f->path, sizeof f->path, err, "%s", path));
    PD_TRY(safetensors_load_file(path, &buf, &size, err));
    return st_parse_owned(f, buf, size, err);
}

/* ------------------------------------------------------------------------------------------- writing */

typedef struct {
    char *name;
    pd_st_dtype dtype;
    int ndim;
    int64_t shape[PD_ST_MAX_DIMS];
    uint8_t *data; /* little-endian */
    int64_t bytes;
} st_wtensor;

struct pd_st_writer {
    st_wtensor *t;
    int64_t n, cap;
    char **meta; /* key, value, key, value, ... */
    int64_t n_meta, meta_cap;
};

pd_status safetensors_writer_create(pd_st_writer **w, pd_error *err)
{
    *w = calloc(1, sizeof **w);
    return *w ? PD_OK : error_set(err, PD_ERR_NOMEM, "out of memory for a safetensors writer");
}

void safetensors_writer_free(pd_st_writer *w)
{
    if (!w)
        return;
    for (int64_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (int64_t i = 0; i < 2 * w->n_meta; i++)
        free(w->meta[i]);
    free(w->t);
    free(w->meta);
    free(w);
}

/* Elements of esize bytes from host order to little-endian (nothing to do on a little-endian host). */
static void st_to_le(uint8_t *p, int64_t bytes, size_t esize)
{
    if (st_little_endian() || esize < 2)
        return;
    for (int64_t i = 0; i + (int64_t)esize <= bytes; i += (int64_t)esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            uint8_t x = p[i + a];
            p[i + a] = p[i + b], p[i + b] = x;
        }
}

/* s is text jansson takes (UTF-8). */
static int st_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/* The element count of a shape the writer is given, or -1 when it is not one. */
static int64_t st_writer_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    if (ndim < 0 || ndim > PD_ST_MAX_DIMS || (ndim > 0 && !shape))
        return -1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n))
            return -1;
    return n;
}

pd_status safetensors_add(pd_st_writer *w, const char *name, pd_st_dtype dtype, int ndim, const int64_t *shape,
                          const void *data, pd_error *err)
{
    char q[ST_QUOTE_MAX + 4];
    int64_t numel = st_writer_numel(ndim, shape), bytes;
    if (!w || !name || !st_utf8(name) || strcmp(name, "__metadata__") == 0)
        return error_set(err, PD_ERR_INTERNAL, "safetensors: tensor name '%s' is not UTF-8 text or is reserved",
                         name ? st_quote(q, name) : "(null)");
    if ((unsigned)dtype >= PD_ST_DTYPE_COUNT || numel < 0 ||
        __builtin_mul_overflow(numel, (int64_t)st_dtype_sizes[dtype], &bytes) || (uint64_t)bytes > SIZE_MAX / 2 ||
        (bytes > 0 && !data))
        return error_set(err, PD_ERR_INTERNAL, "safetensors: tensor '%s': invalid dtype, shape or data",
                         st_quote(q, name));
    for (int64_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return error_set(err, PD_ERR_INTERNAL, "safetensors: tensor '%s' added twice", st_quote(q, name));
    st_wtensor *grown = pd_grow(w->t, &w->cap, w->n + 1, sizeof *w->t, 64);
    if (!grown)
        return error_set(err, PD_ERR_NOMEM, "safetensors: out of memory adding tensor '%s'", st_quote(q, name));
    w->t = grown;
    st_wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc(bytes ? (size_t)bytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return error_set(err, PD_ERR_NOMEM, "safetensors: out of memory adding tensor '%s'", st_quote(q, name));
    }
    t->dtype = dtype, t->ndim = ndim, t->bytes = bytes;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    if (bytes)
        memcpy(t->data, data, (size_t)bytes);
    st_to_le(t->data, bytes, st_dtype_sizes[dtype]);
    w->n++;
    return PD_OK;
}

pd_status safetensors_meta(pd_st_writer *w, const char *key, const char *value, pd_error *err)
{
    char q[ST_QUOTE_MAX + 4];
    if (!w || !key || !value || !st_utf8(key) || !st_utf8(value))
        return error_set(err, PD_ERR_INTERNAL, "safetensors: metadata '%s': key or value is not UTF-8 text",
                         key ? st_quote(q, key) : "(null)");
    for (int64_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[2 * i], key) == 0)
            return error_set(err, PD_ERR_INTERNAL, "safetensors: metadata '%s' given twice", st_quote(q, key));
    int64_t cap2 = 2 * w->meta_cap;
    char **grown = pd_grow(w->meta, &cap2, 2 * w->n_meta + 2, sizeof *w->meta, 16);
    if (!grown)
        return error_set(err, PD_ERR_NOMEM, "safetensors: out of memory adding metadata '%s'", st_quote(q, key));
    w->meta = grown, w->meta_cap = cap2 / 2;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return error_set(err, PD_ERR_NOMEM, "safetensors: out of memory adding metadata '%s'", st_quote(q, key));
    }
    w->meta[2 * w->n_meta] = k, w->meta[2 * w->n_meta + 1] = v;
    w->n_meta++;
    return PD_OK;
}

/* The header as jansson values (__metadata__ first, then the tensors in the order added), or NULL without memory. */
static json_t *st_header_json(const pd_st_writer *w)
{
    json_t *root = json_object();
    int ok = root != NULL;
    if (ok && w->n_meta) {
        json_t *m = json_object();
        ok = m && json_object_set_new(root, "__metadata__", m) == 0;
        for (int64_t i = 0; ok && i < w->n_meta; i++)
            ok = json_object_set_new(m, w->meta[2 * i], json_string(w->meta[2 * i + 1])) == 0;
    }
    int64_t off = 0;
    for (int64_t i = 0; ok && i < w->n; i++) {
        const st_wtensor *t = &w->t[i];
        json_t *shape = json_array();
        ok = shape != NULL;
        for (int d = 0; ok && d < t->ndim; d++)
            ok = json_array_append_new(shape, json_integer((json_int_t)t->shape[d])) == 0;
        json_t *e = ok ? json_pack("{s:s, s:O, s:[I, I]}", "dtype", st_dtype_names[t->dtype], "shape", shape,
                                   "data_offsets", (json_int_t)off, (json_int_t)(off + t->bytes))
                       : NULL;
        json_decref(shape);
        ok = e && json_object_set_new(root, t->name, e) == 0;
        off += t->bytes;
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static void st_write_data(const pd_st_writer *w, FILE *fp, const char *text, size_t len, size_t pad)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)((uint64_t)(len + pad) >> (8 * i));
    fwrite(le, 1, sizeof le, fp);
    fwrite(text, 1, len, fp);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', fp);
    for (int64_t i = 0; i < w->n; i++)
        fwrite(w->t[i].data, 1, (size_t)w->t[i].bytes, fp);
}

pd_status safetensors_commit(pd_st_writer *w, const char *path, pd_error *err)
{
    if (!w)
        return error_set(err, PD_ERR_INTERNAL, "%s: no safetensors writer", path);
    pd_status s = PD_OK;
    json_t *root = st_header_json(w);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    size_t len = text ? strlen(text) : 0, pad = (8 - len % 8) % 8; /* spaces, as the reference pads */
    if (!text)
        s = error_set(err, PD_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
    else if (len + pad > PD_ST_MAX_HEADER)
        s = error_set(err, PD_ERR_INTERNAL, "%s: the safetensors header would take %zu bytes, at most %d are "
                      "allowed", path, len + pad, PD_ST_MAX_HEADER);
    pd_atomic_file af;
    if (s == PD_OK)
        s = atomic_open(&af, path, err);
    if (s == PD_OK) {
        st_write_data(w, af.fp, text, len, pad);
        s = atomic_commit(&af, err);
    }
    free(text);
    json_decref(root);
    safetensors_writer_free(w);
    return s;
}
#else
/* ------------------------------------------------------------------------------------------- without jansson */

pd_status safetensors_read(pd_safetensors *f, const char *path, pd_error *err)
{
    memset(f, 0, sizeof *f);
    return error_set(err, PD_ERR_CONFIG, "%s: " PD_ST_NO_JSON, path);
}

pd_status safetensors_parse(pd_safetensors *f, const uint8_t *buf, size_t size, const char *name, pd_error *err)
{
    (void)buf, (void)size;
    memset(f, 0, sizeof *f);
    return error_set(err, PD_ERR_CONFIG, "%s: " PD_ST_NO_JSON, name);
}

pd_status safetensors_writer_create(pd_st_writer **w, pd_error *err)
{
    *w = NULL;
    return error_set(err, PD_ERR_CONFIG, PD_ST_NO_JSON);
}

pd_status safetensors_add(pd_st_writer *w, const char *name, pd_st_dtype dtype, int ndim, const int64_t *shape,
                          const void *data, pd_error *err)
{
    (void)w, (void)name, (void)dtype, (void)ndim, (void)shape, (void)data;
    return error_set(err, PD_ERR_CONFIG, PD_ST_NO_JSON);
}

pd_status safetensors_meta(pd_st_writer *w, const char *key, const char *value, pd_error *err)
{
    (void)w, (void)key, (void)value;
    return error_set(err, PD_ERR_CONFIG, PD_ST_NO_JSON);
}

pd_status safetensors_commit(pd_st_writer *w, const char *path, pd_error *err)
{
    (void)w;
    return error_set(err, PD_ERR_CONFIG, "%s: " PD_ST_NO_JSON, path);
}

void safetensors_writer_free(pd_st_writer *w)
{
    (void)w;
}
#endif
