/* state.c — binary state files: header, named sections, CRC-32 trailer (format in state.h).
 *
 * Writing streams the sections through an atomic temporary file while the CRC is accumulated. Reading loads
 * the whole file, checks the magic and version, then the checksum over everything but the last four bytes; only
 * when that fails is the structure walked to tell a truncated file from a corrupted one. Section data is used in
 * place when it is suitably aligned (and the host is little-endian), copied otherwise.
 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "atomic.h"
#include "grow.h"

#define STATE_MAGIC "PDIFFST1"
#define STATE_VERSION 1u
#define STATE_HEADER 32u  /* magic 8 | version 4 | count 4 | kind 16 */
#define STATE_SECTION 48u /* name 32 | dtype 4 | reserved 4 | count 8 */
#define STATE_NAME 32
#define STATE_KIND 16
#define STATE_HINT "rerun the stage that wrote it or delete the session" /* ends the errors of a bad file */

static size_t state_dtype_size(uint32_t dtype)
{
    switch (dtype) {
    case PD_DTYPE_F32: return 4;
    case PD_DTYPE_I32: return 4;
    case PD_DTYPE_U8: return 1;
    case PD_DTYPE_F64: return 8;
    case PD_DTYPE_I64: return 8;
    default: return 0;
    }
}

static const char *state_dtype_name(uint32_t dtype)
{
    switch (dtype) {
    case PD_DTYPE_F32: return "f32";
    case PD_DTYPE_I32: return "i32";
    case PD_DTYPE_U8: return "u8";
    case PD_DTYPE_F64: return "f64";
    case PD_DTYPE_I64: return "i64";
    default: return "unknown";
    }
}

static int state_host_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void state_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void state_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t state_rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t state_rd64(const unsigned char *p)
{
    return (uint64_t)state_rd32(p) | (uint64_t)state_rd32(p + 4) << 32;
}

/* Reverse the bytes of each element in place (big-endian hosts only). */
static void state_swap(unsigned char *p, size_t count, size_t esize)
{
    if (esize == 1)
        return;
    for (size_t i = 0; i < count; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

static uLong state_crc(uLong crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* ------------------------------------------------------------------------------------------ writing */

typedef struct {
    char name[STATE_NAME];
    uint32_t dtype;
    int64_t count;
    void *data;
} state_wsec;

struct pd_state_writer {
    char kind[STATE_KIND];
    state_wsec *secs;
    int n;
    int64_t cap;
};

pd_status state_writer_create(pd_state_writer **w, const char *kind, pd_error *err)
{
    *w = NULL;
    if (!kind)
        kind = "";
    if (strlen(kind) >= STATE_KIND)
        return error_set(err, PD_ERR_INTERNAL, "state: kind '%s' longer than %d characters", kind, STATE_KIND - 1);
    pd_state_writer *nw = calloc(1, sizeof *nw);
    if (!nw)
        return error_set(err, PD_ERR_NOMEM, "state: out of memory");
    snprintf(nw->kind, sizeof nw->kind, "%s", kind);
    *w = nw;
    return PD_OK;
}

pd_status state_put(pd_state_writer *w, const char *name, pd_dtype dtype, const void *data, int64_t count,
                    pd_error *err)
{
    size_t es = state_dtype_size((uint32_t)dtype);
    if (!name || !*name || strlen(name) >= STATE_NAME)
        return error_set(err, PD_ERR_INTERNAL, "state: section name '%s' empty or longer than %d characters",
                         name ? name : "(null)", STATE_NAME - 1);
    if (!es)
        return error_set(err, PD_ERR_INTERNAL, "state: section '%s': unknown dtype %d", name, (int)dtype);
    if (count < 0 || (uint64_t)count > SIZE_MAX / 8 || (count > 0 && !data))
        return error_set(err, PD_ERR_INTERNAL, "state: section '%s': bad count %lld", name, (long long)count);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->secs[i].name, name) == 0)
            return error_set(err, PD_ERR_INTERNAL, "state: duplicate section '%s'", name);
    state_wsec *grown = pd_grow(w->secs, &w->cap, w->n + 1, sizeof *grown, 8);
    if (!grown)
        return error_set(err, PD_ERR_NOMEM, "state: out of memory");
    w->secs = grown;
    size_t bytes = (size_t)count * es;
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return error_set(err, PD_ERR_NOMEM, "state: out of memory for section '%s' (%zu bytes)", name, bytes);
    if (bytes)
        memcpy(copy, data, bytes);
    state_wsec *s = &w->secs[w->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dtype = (uint32_t)dtype;
    s->count = count;
    s->data = copy;
    return PD_OK;
}

pd_status state_put_i64(pd_state_writer *w, const char *name, int64_t value, pd_error *err)
{
    return state_put(w, name, PD_DTYPE_I64, &value, 1, err);
}

pd_status state_put_f64(pd_state_writer *w, const char *name, double value, pd_error *err)
{
    return state_put(w, name, PD_DTYPE_F64, &value, 1, err);
}

void state_writer_free(pd_state_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->secs[i].data);
    free(w->secs);
    free(w);
}

/* fwrite + CRC update. */
static int state_emit(FILE *fp, uLong *crc, const void *p, size_t n)
{
    *crc = state_crc(*crc, p, n);
    return fwrite(p, 1, n, fp) == n;
}

pd_status state_writer_commit(pd_state_writer *w, const char *path, pd_error *err)
{
    if (!w)
        return error_set(err, PD_ERR_INTERNAL, "%s: commit of no state writer", path);
    pd_atomic_file f;
    pd_status st = atomic_open(&f, path, err);
    if (st != PD_OK) {
        state_writer_free(w);
        return st;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    unsigned char hdr[STATE_HEADER] = {0};
    memcpy(hdr, STATE_MAGIC, 8);
    state_le32(hdr + 8, STATE_VERSION);
    state_le32(hdr + 12, (uint32_t)w->n);
    memcpy(hdr + 16, w->kind, strlen(w->kind));
    int ok = state_emit(f.fp, &crc, hdr, sizeof hdr);
    int le = state_host_le();
    for (int i = 0; ok && i < w->n; i++) {
        const state_wsec *s = &w->secs[i];
        unsigned char sh[STATE_SECTION] = {0};
        memcpy(sh, s->name, strlen(s->name));
        state_le32(sh + 32, s->dtype);
        state_le64(sh + 40, (uint64_t)s->count);
        ok = state_emit(f.fp, &crc, sh, sizeof sh);
        size_t es = state_dtype_size(s->dtype), bytes = (size_t)s->count * es;
        if (ok && bytes) {
            if (!le)
                state_swap(s->data, (size_t)s->count, es); /* the writer is freed below */
            ok = state_emit(f.fp, &crc, s->data, bytes);
        }
    }
    unsigned char tail[4];
    state_le32(tail, (uint32_t)crc);
    if (ok)
        ok = fwrite(tail, 1, 4, f.fp) == 4;
    state_writer_free(w);
    if (!ok) {
        int e = errno ? errno : EIO;
        atomic_abort(&f);
        return error_set(err, PD_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return atomic_commit(&f, err);
}

/* ------------------------------------------------------------------------------------------ reading */

typedef struct {
    char name[STATE_NAME];
    uint32_t dtype;
    int64_t count;
    const void *data;
} state_rsec;

struct pd_state {
    char path[1024];
    char kind[STATE_KIND];
    unsigned char *buf;
    size_t size;
    state_rsec *secs;
    void **owned; /* per-section copies (misaligned or byte-swapped), NULL when used in place */
    uint32_t n;
};

void state_free(pd_state *s)
{
    if (!s)
        return;
    if (s->owned)
        for (uint32_t i = 0; i < s->n; i++)
            free(s->owned[i]);
    free(s->owned);
    free(s->secs);
    free(s->buf);
    free(s);
}

static pd_status state_slurp(pd_state *s, pd_error *err)
{
    FILE *fp = fopen(s->path, "rb");
    if (!fp)
        return error_set(err, PD_ERR_IO, "%s: cannot open: %s", s->path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return error_set(err, PD_ERR_IO, "%s: not a regular file", s->path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX - 16) {
        fclose(fp);
        return error_set(err, PD_ERR_NOMEM, "%s: too large to load", s->path);
    }
    s->size = (size_t)st.st_size;
    s->buf = malloc(s->size ? s->size : 1);
    if (!s->buf) {
        fclose(fp);
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory loading %zu bytes", s->path, s->size);
    }
    size_t got = fread(s->buf, 1, s->size, fp);
    int bad = ferror(fp);
    int e = errno;
    fclose(fp);
    if (bad)
        return error_set(err, PD_ERR_IO, "%s: read error: %s", s->path, strerror(e));
    s->size = got; /* a file shrinking under us reads as truncated */
    return PD_OK;
}

/* Walk the section headers. Returns the file length the headers imply (0 when a header itself lies beyond the
 * end of the file) and stores the first unknown dtype's section index in *bad_dtype (-1 if none). */
static uint64_t state_walk(const pd_state *s, uint32_t nsec, int64_t *bad_dtype)
{
    uint64_t pos = STATE_HEADER, size = s->size;
    *bad_dtype = -1;
    for (uint32_t i = 0; i < nsec; i++) {
        if (pos + STATE_SECTION > size)
            return 0;
        const unsigned char *h = s->buf + pos;
        uint32_t dtype = state_rd32(h + 32);
        uint64_t count = state_rd64(h + 40);
        size_t es = state_dtype_size(dtype);
        if (!es) {
            *bad_dtype = i;
            return 0;
        }
        if (count > (size - pos) / es) /* bigger than the file: do not multiply blindly */
            return UINT64_MAX;
        pos += STATE_SECTION + count * es;
    }
    return pos + 4;
}

/* The fixed header: magic, length, version. */
static pd_status state_check_header(const pd_state *s, pd_error *err)
{
    const char *path = s->path;
    if (s->size < 8) {
        if (memcmp(s->buf, STATE_MAGIC, s->size) == 0)
            return error_set(err, PD_ERR_STATE, "%s: truncated (%zu bytes); %s", path, s->size, STATE_HINT);
        return error_set(err, PD_ERR_STATE, "%s: not a pdiff state file", path);
    }
    if (memcmp(s->buf, STATE_MAGIC, 8) != 0)
        return error_set(err, PD_ERR_STATE, "%s: not a pdiff state file", path);
    if (s->size < STATE_HEADER + 4)
        return error_set(err, PD_ERR_STATE, "%s: truncated (%zu bytes); %s", path, s->size, STATE_HINT);
    uint32_t version = state_rd32(s->buf + 8);
    if (version > STATE_VERSION)
        return error_set(err, PD_ERR_STATE,
                         "%s: written by a newer pdiff (state format %u, this build reads %u); upgrade pdiff or %s",
                         path, version, STATE_VERSION, STATE_HINT);
    if (version == 0)
        return error_set(err, PD_ERR_STATE, "%s: unsupported state format version 0 (file corrupted?); %s", path,
                         STATE_HINT);
    return PD_OK;
}

/* The checksum and the section structure of nsec sections: a bad checksum is explained as truncation when the
 * headers say the file is short; with a good one the headers must describe the file exactly. */
static pd_status state_check_structure(const pd_state *s, uint32_t nsec, pd_error *err)
{
    const char *path = s->path;
    uint32_t stored = state_rd32(s->buf + s->size - 4);
    uint32_t crc = (uint32_t)state_crc(crc32(0L, Z_NULL, 0), s->buf, s->size - 4);
    int64_t bad_dtype;
    uint64_t implied = state_walk(s, nsec, &bad_dtype);
    if (crc != stored) {
        if (implied == 0 && bad_dtype < 0)
            return error_set(err, PD_ERR_STATE, "%s: truncated (%zu bytes, %u sections announced); %s", path,
                             s->size, nsec, STATE_HINT);
        if (implied > s->size && bad_dtype < 0) {
            if (implied == UINT64_MAX)
                return error_set(err, PD_ERR_STATE, "%s: truncated (%zu bytes); %s", path, s->size, STATE_HINT);
            return error_set(err, PD_ERR_STATE, "%s: truncated (%zu bytes, expected %llu); %s", path, s->size,
                             (unsigned long long)implied, STATE_HINT);
        }
        return error_set(err, PD_ERR_STATE, "%s: checksum mismatch (file corrupted?); %s", path, STATE_HINT);
    }
    /* The checksum holds, so the structure must be exactly right. */
    if (bad_dtype >= 0)
        return error_set(err, PD_ERR_STATE, "%s: section %lld has an unknown value type (made by a newer pdiff?)",
                         path, (long long)bad_dtype);
    if (implied != s->size)
        return error_set(err, PD_ERR_STATE, "%s: malformed: sections describe %llu bytes, the file has %zu; %s",
                         path, (unsigned long long)implied, s->size, STATE_HINT);
    return PD_OK;
}

/* The table of nsec (checked) sections; data not aligned for its type, or on a big-endian host, is copied. */
static pd_status state_index(pd_state *s, uint32_t nsec, pd_error *err)
{
    s->secs = calloc(nsec ? nsec : 1, sizeof *s->secs);
    s->owned = calloc(nsec ? nsec : 1, sizeof *s->owned);
    if (!s->secs || !s->owned)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", s->path);
    s->n = nsec;
    int le = state_host_le();
    size_t pos = STATE_HEADER;
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *h = s->buf + pos;
        state_rsec *r = &s->secs[i];
        memcpy(r->name, h, STATE_NAME);
        r->name[STATE_NAME - 1] = '\0';
        r->dtype = state_rd32(h + 32);
        r->count = (int64_t)state_rd64(h + 40);
        size_t es = state_dtype_size(r->dtype), bytes = (size_t)r->count * es;
        unsigned char *data = s->buf + pos + STATE_SECTION;
        r->data = data;
        if (bytes && (!le || (uintptr_t)data % es != 0)) {
            s->owned[i] = malloc(bytes);
            if (!s->owned[i])
                return error_set(err, PD_ERR_NOMEM, "%s: out of memory for section '%s'", s->path, r->name);
            memcpy(s->owned[i], data, bytes);
            if (!le)
                state_swap(s->owned[i], (size_t)r->count, es);
            r->data = s->owned[i];
        }
        pos += STATE_SECTION + bytes;
    }
    return PD_OK;
}

static pd_status state_parse(pd_state *s, const char *kind, pd_error *err)
{
    PD_TRY(state_check_header(s, err));
    uint32_t nsec = state_rd32(s->buf + 12);
    PD_TRY(state_check_structure(s, nsec, err));
    memcpy(s->kind, s->buf + 16, STATE_KIND);
    s->kind[STATE_KIND - 1] = '\0';
    if (kind && strcmp(kind, s->kind) != 0)
        return error_set(err, PD_ERR_STATE, "%s: holds '%s' state, expected '%s' (wrong file?)", s->path, s->kind,
                         kind);
    return state_index(s, nsec, err);
}

pd_status state_load(pd_state **out, const char *path, const char *kind, pd_error *err)
{
    *out = NULL;
    pd_state *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    pd_status st = state_slurp(s, err);
    if (st == PD_OK)
        st = state_parse(s, kind, err);
    if (st != PD_OK) {
        state_free(s);
        return st;
    }
    *out = s;
    return PD_OK;
}

static const state_rsec *state_find(const pd_state *s, const char *name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->secs[i].name, name) == 0)
            return &s->secs[i];
    return NULL;
}

int state_has(const pd_state *s, const char *name)
{
    return s && name && state_find(s, name) != NULL;
}

const void *state_get(const pd_state *s, const char *name, pd_dtype dtype, int64_t expected_count,
                      int64_t *count, pd_error *err)
{
    const state_rsec *r = state_find(s, name);
    if (!r) {
        error_set(err, PD_ERR_STATE, "%s: missing section '%s' (made by another stage or an older pdiff?)",
                  s->path, name);
        return NULL;
    }
    if (r->dtype != (uint32_t)dtype) {
        error_set(err, PD_ERR_STATE, "%s: section '%s' holds %s values, expected %s", s->path, name,
                  state_dtype_name(r->dtype), state_dtype_name((uint32_t)dtype));
        return NULL;
    }
    if (expected_count >= 0 && r->count != expected_count) {
        error_set(err, PD_ERR_STATE, "%s: section '%s' has %lld values, expected %lld (made with different settings?)",
                  s->path, name, (long long)r->count, (long long)expected_count);
        return NULL;
    }
    if (count)
        *count = r->count;
    return r->data;
}

pd_status state_get_i64(const pd_state *s, const char *name, int64_t *value, pd_error *err)
{
    const void *p = state_get(s, name, PD_DTYPE_I64, 1, NULL, err);
    if (!p)
        return PD_ERR_STATE;
    memcpy(value, p, sizeof *value);
    return PD_OK;
}

pd_status state_get_f64(const pd_state *s, const char *name, double *value, pd_error *err)
{
    const void *p = state_get(s, name, PD_DTYPE_F64, 1, NULL, err);
    if (!p)
        return PD_ERR_STATE;
    memcpy(value, p, sizeof *value);
    return PD_OK;
}
