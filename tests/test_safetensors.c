/* test_safetensors.c — the file formats of issue 14 (src/safetensors.h, src/npy.h): half and bfloat16 conversion
 * of every value; safetensors round trips of every dtype and of metadata; the writer's bytes against an encoding
 * built here from the specification and against a file Python wrote (tests/gen_st_format.py); every malformed
 * header refused with one line naming the file and the tensor; .npy round trips (1-d, 2-d, 0-d), format 2.0 and
 * malformed files; NumPy itself reading our .npy and us reading NumPy's (when python3-numpy is installed).
 * Without jansson the safetensors functions must answer PD_ERR_CONFIG; those checks replace the rest.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "pdiff_build.h"
#include "safetensors.h"
#include "tap.h"

#define FILE_NAME "m.safetensors"

/* The whole file, malloc'd; *size its length (NULL when unreadable). */
static uint8_t *read_all(const char *path, size_t *size)
{
    uint8_t *buf = NULL;
    *size = 0;
    pd_error err = {0};
    if (safetensors_load_file(path, &buf, size, &err) != PD_OK)
        tap_diag("%s", err.msg);
    return buf;
}

#ifdef HAVE_JANSSON
static int write_all(const char *path, const void *buf, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(buf, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The fixture's path: $top_srcdir/tests/fixtures/NAME, else tests/fixtures/NAME. */
static const char *fixture(const char *name)
{
    static char path[4200];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", top && *top ? top : ".", name);
    return path;
}
#endif

/* ------------------------------------------------------------------------------------------- half precision */

static void test_half(void)
{
    int bad16 = 0, badbf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        float got = safetensors_f16_to_f32((uint16_t)h);
        uint32_t gb;
        memcpy(&gb, &got, 4);
        if (e == 31) { /* infinity or NaN, payload kept */
            if (gb != ((uint32_t)s << 31 | 0x7f800000u | (uint32_t)m << 13))
                bad16++;
        } else {
            double want = ldexp(e ? 1024 + m : m, (e ? e : 1) - 25) * (s ? -1 : 1);
            if ((double)got != want || !!signbit(got) != (s != 0))
                bad16++;
        }
        int be = (h >> 7) & 255, bm = h & 127;
        float gbf = safetensors_bf16_to_f32((uint16_t)h);
        if (be == 255) {
            if (bm ? !isnan(gbf) : !isinf(gbf))
                badbf++;
        } else {
            double want = ldexp(be ? 128 + bm : bm, (be ? be : 1) - 134) * (s ? -1 : 1);
            if ((double)gbf != want || !!signbit(gbf) != (s != 0))
                badbf++;
        }
    }
    tap_ok(bad16 == 0, "F16 -> float exact for all 65536 values (NaN payloads and infinities kept): %d wrong", bad16);
    tap_ok(badbf == 0, "BF16 -> float exact for all 65536 values: %d wrong", badbf);
    tap_ok(safetensors_f16_to_f32(0x7bff) == 65504.0f && safetensors_f16_to_f32(0x0001) == 0x1p-24f &&
               isnan(safetensors_f16_to_f32(0x7e00)) && safetensors_f16_to_f32(0xfc00) == -INFINITY,
           "F16 landmarks: 65504, 2^-24, NaN, -inf");
}

/* ------------------------------------------------------------------------------------------- round trips */

#ifdef HAVE_JANSSON
/* Tensors of every dtype with the values as float they must read back as. */
typedef struct {
    const char *name;
    pd_st_dtype dtype;
    int ndim;
    int64_t shape[3];
    const void *data;
    float want[6];
    int n;
} rt_tensor;

static const float rt_f32[6] = {1.0f, -2.0f, 0.5f, 3.25f, -0.125f, 1e-3f};
static const double rt_f64[2] = {0.1, -1e300};
static const uint16_t rt_f16[3] = {0x3c00, 0x0001, 0xfc00};
static const uint16_t rt_bf16[2] = {0x3f80, 0xc0a0};
static const int64_t rt_i64[1] = {-7};
static const int32_t rt_i32[2] = {INT32_MIN, 5};
static const int16_t rt_i16[2] = {-3, 300};
static const int8_t rt_i8[2] = {-128, 127};
static const uint8_t rt_u8[2] = {0, 255};
static const uint8_t rt_bool[3] = {1, 0, 1};

/* The tensors of tests/gen_st_format.py, in its order. */
static const rt_tensor rt_tensors[] = {
    {"fc.weight", PD_ST_F32, 2, {2, 3}, rt_f32, {1.0f, -2.0f, 0.5f, 3.25f, -0.125f, 1e-3f}, 6},
    {"fc.bias", PD_ST_F64, 1, {2}, rt_f64, {0.1f, -INFINITY}, 2},
    {"h", PD_ST_F16, 1, {3}, rt_f16, {1.0f, 0x1p-24f, -INFINITY}, 3},
    {"b", PD_ST_BF16, 1, {2}, rt_bf16, {1.0f, -5.0f}, 2},
    {"bn.num_batches_tracked", PD_ST_I64, 0, {0}, rt_i64, {-7.0f}, 1},
    {"i32", PD_ST_I32, 1, {2}, rt_i32, {-2147483648.0f, 5.0f}, 2},
    {"i16", PD_ST_I16, 2, {1, 2}, rt_i16, {-3.0f, 300.0f}, 2},
    {"i8", PD_ST_I8, 1, {2}, rt_i8, {-128.0f, 127.0f}, 2},
    {"u8", PD_ST_U8, 1, {2}, rt_u8, {0.0f, 255.0f}, 2},
    {"mask", PD_ST_BOOL, 1, {3}, rt_bool, {1.0f, 0.0f, 1.0f}, 3},
    {"empty", PD_ST_F32, 2, {0, 4}, NULL, {0}, 0},
};
#define RT_N ((int)(sizeof rt_tensors / sizeof *rt_tensors))

static pd_status rt_write(const char *path, pd_error *err)
{
    pd_st_writer *w;
    PD_TRY(safetensors_writer_create(&w, err));
    pd_status s = safetensors_meta(w, "format", "pt", err);
    if (s == PD_OK)
        s = safetensors_meta(w, "note", "pdiff format fixture", err);
    for (int i = 0; i < RT_N && s == PD_OK; i++)
        s = safetensors_add(w, rt_tensors[i].name, rt_tensors[i].dtype, rt_tensors[i].ndim, rt_tensors[i].shape,
                            rt_tensors[i].data, err);
    if (s != PD_OK) {
        safetensors_writer_free(w);
        return s;
    }
    return safetensors_commit(w, path, err);
}

/* f holds exactly rt_tensors (names, order, dtypes, shapes, bytes, values) and the two metadata strings. */
static void rt_check(const pd_safetensors *f, const char *what)
{
    int bad = f->n != RT_N;
    for (int i = 0; !bad && i < RT_N; i++) {
        const rt_tensor *r = &rt_tensors[i];
        const pd_st_tensor *t = &f->t[i];
        bad |= strcmp(t->name, r->name) != 0 || t->dtype != r->dtype || t->ndim != r->ndim ||
               safetensors_find(f, r->name) != t || safetensors_numel(t) != r->n;
        for (int d = 0; !bad && d < r->ndim; d++)
            bad |= t->shape[d] != r->shape[d];
        size_t bytes = (size_t)r->n * safetensors_dtype_size(r->dtype);
        bad |= !bad && (t->end - t->begin != (int64_t)bytes || (bytes && memcmp(f->data + t->begin, r->data, bytes)));
        float got[6] = {0};
        pd_error err = {0};
        bad |= !bad && safetensors_get_f32(f, t, got, &err) != PD_OK;
        for (int k = 0; !bad && k < r->n; k++)
            bad |= memcmp(&got[k], &r->want[k], sizeof got[k]) != 0;
        if (bad)
            tap_diag("%s: tensor %d (%s) differs", what, i, r->name);
    }
    tap_ok(!bad, "%s: %d tensors of every dtype (names, order, shapes, bytes, values as float)", what, f->n);
    const char *fmt = safetensors_meta_get(f, "format"), *note = safetensors_meta_get(f, "note");
    tap_ok(f->n_meta == 2 && fmt && strcmp(fmt, "pt") == 0 && note && strcmp(note, "pdiff format fixture") == 0 &&
               !safetensors_meta_get(f, "absent") && !safetensors_find(f, "absent"),
           "%s: __metadata__ read back", what);
}

static void test_round_trip(void)
{
    pd_error err = {0};
    const char *path = tap_path("every.safetensors");
    tap_ok(rt_write(path, &err) == PD_OK, "writer: every dtype, a scalar, an empty tensor, metadata %s", err.msg);
    pd_safetensors f;
    tap_ok(safetensors_read(&f, path, &err) == PD_OK, "read back %s", err.msg);
    rt_check(&f, "round trip");
    safetensors_free(&f);
    tap_ok(safetensors_read(&f, fixture("st/format_python.safetensors"), &err) == PD_OK,
           "read the file Python wrote (tests/gen_st_format.py) %s", err.msg);
    rt_check(&f, "Python's file");
    safetensors_free(&f);

    size_t na, nb;
    uint8_t *a = read_all(path, &na), *b = read_all(fixture("st/format_python.safetensors"), &nb);
    tap_ok(a && b && na == nb && memcmp(a, b, na) == 0, "writer's bytes equal Python's json+struct encoding "
           "(%zu and %zu bytes)", na, nb);
    free(a);
    free(b);
}

/* The writer's bytes against an encoding made here from the specification. */
static void test_reference_bytes(void)
{
    static const char header[] = "{\"__metadata__\":{\"k\":\"v \\\"q\\\" \xc3\xa9\"},\"w\":{\"dtype\":\"F32\","
                                 "\"shape\":[2],\"data_offsets\":[0,8]},\"n\":{\"dtype\":\"I64\",\"shape\":[],"
                                 "\"data_offsets\":[8,16]}}";
    const float w[2] = {1.5f, -2.0f};
    const int64_t n = 3, two = 2;
    size_t hl = strlen(header), pad = (8 - hl % 8) % 8, size = 8 + hl + pad + 16;
    uint8_t *ref = calloc(1, size);
    for (int i = 0; i < 8; i++)
        ref[i] = (uint8_t)((hl + pad) >> (8 * i));
    memcpy(ref + 8, header, hl);
    memset(ref + 8 + hl, ' ', pad);
    memcpy(ref + 8 + hl + pad, w, 8);
    memcpy(ref + 8 + hl + pad + 8, &n, 8);

    pd_error err = {0};
    pd_st_writer *wr;
    const char *path = tap_path("ref.safetensors");
    pd_status s = safetensors_writer_create(&wr, &err);
    if (s == PD_OK) {
        safetensors_meta(wr, "k", "v \"q\" \xc3\xa9", &err);
        safetensors_add(wr, "w", PD_ST_F32, 1, &two, w, &err);
        safetensors_add(wr, "n", PD_ST_I64, 0, NULL, &n, &err);
        s = safetensors_commit(wr, path, &err);
    }
    size_t got_size;
    uint8_t *got = read_all(path, &got_size);
    tap_ok(s == PD_OK && got && got_size == size && memcmp(got, ref, size) == 0,
           "writer's bytes equal the specification's encoding (8-byte length, compact header, spaces to 8 bytes, "
           "data in order): %zu bytes %s", got_size, err.msg);
    free(got);
    free(ref);
}

static void test_writer_refusals(void)
{
    pd_error err = {0};
    pd_st_writer *w;
    const int64_t shape[2] = {2, 2}, neg = -1;
    float v[4] = {0};
    if (safetensors_writer_create(&w, &err) != PD_OK)
        return (void)tap_ok(0, "writer_create %s", err.msg);
    tap_ok(safetensors_add(w, "a", PD_ST_F32, 2, shape, v, &err) == PD_OK, "add 'a'");
    tap_ok(safetensors_add(w, "a", PD_ST_F32, 2, shape, v, &err) != PD_OK && strstr(err.msg, "'a'"),
           "the same name twice refused: %s", err.msg);
    tap_ok(safetensors_add(w, "__metadata__", PD_ST_F32, 2, shape, v, &err) != PD_OK, "__metadata__ refused");
    tap_ok(safetensors_add(w, "", PD_ST_F32, 2, shape, v, &err) == PD_OK, "an empty name taken, as the reader does");
    tap_ok(safetensors_add(w, "bad\xff", PD_ST_F32, 2, shape, v, &err) != PD_OK, "a name that is not UTF-8 refused");
    tap_ok(safetensors_add(w, "n", PD_ST_F32, 1, &neg, v, &err) != PD_OK, "a negative dimension refused");
    tap_ok(safetensors_add(w, "d", PD_ST_F32, 9, shape, v, &err) != PD_OK, "9 dimensions refused");
    tap_ok(safetensors_add(w, "t", (pd_st_dtype)99, 2, shape, v, &err) != PD_OK, "an unknown dtype refused");
    tap_ok(safetensors_meta(w, "k", "1", &err) == PD_OK && safetensors_meta(w, "k", "2", &err) != PD_OK,
           "a metadata key twice refused: %s", err.msg);
    const char *path = tap_path("nodir/x.safetensors");
    tap_ok(safetensors_commit(w, path, &err) == PD_ERR_IO && strstr(err.msg, "nodir"),
           "commit into a missing folder: PD_ERR_IO naming it (%s)", err.msg);
    FILE *f = fopen(path, "rb");
    tap_ok(!f, "nothing written");
    if (f)
        fclose(f);
}

/* ------------------------------------------------------------------------------------------- bad files */

/* A file from a header text and data_size zero bytes of data. */
static uint8_t *st_file(const char *header, size_t data_size, size_t *size)
{
    size_t hl = strlen(header);
    *size = 8 + hl + data_size;
    uint8_t *buf = calloc(1, *size);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    return buf;
}

/* buf refused with PD_ERR_FORMAT, one line holding the file name and every one of want (up to 3, NULL-ended). */
static void expect_bad_buf(const char *what, const uint8_t *buf, size_t size, const char *w1, const char *w2,
                           const char *w3)
{
    pd_safetensors f;
    pd_error err = {0};
    pd_status s = safetensors_parse(&f, buf, size, FILE_NAME, &err);
    int ok = s == PD_ERR_FORMAT && strncmp(err.msg, FILE_NAME ": ", strlen(FILE_NAME) + 2) == 0 &&
             !strchr(err.msg, '\n') && f.n == 0 && f.data == NULL;
    const char *want[3] = {w1, w2, w3};
    for (int i = 0; i < 3; i++)
        ok &= !want[i] || strstr(err.msg, want[i]) != NULL;
    tap_ok(ok, "%s refused: %s", what, err.msg);
    safetensors_free(&f);
}

static void expect_bad(const char *what, const char *header, size_t data_size, const char *w1, const char *w2,
                       const char *w3)
{
    size_t size;
    uint8_t *buf = st_file(header, data_size, &size);
    expect_bad_buf(what, buf, size, w1, w2, w3);
    free(buf);
}

#define T(name, dtype, shape, offs) "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_bad_headers(void)
{
    expect_bad("not JSON", "{\"a\":", 0, "not valid JSON", NULL, NULL);
    expect_bad("trailing garbage", "{} x", 0, "not valid JSON", NULL, NULL);
    expect_bad("not an object", "[1, 2]", 0, "not a JSON object", "an array", NULL);
    expect_bad("a tensor that is not an object", "{\"fc.w\":3}", 0, "tensor 'fc.w'", "not an object", NULL);
    expect_bad("an unknown dtype", "{" T("fc.w", "F8", "[1]", "[0,1]") "}", 1, "tensor 'fc.w'", "dtype 'F8'", NULL);
    expect_bad("a dtype that is not a string", "{" T("fc.w", "F32", "[1]", "[0,4]") "," "\"x\":{\"dtype\":3}}", 4,
               "tensor 'x'", "\"dtype\" is an integer", NULL);
    expect_bad("no dtype", "{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'x'", "no \"dtype\"", NULL);
    expect_bad("no shape", "{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'x'", "no \"shape\"", NULL);
    expect_bad("no data_offsets", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'x'", "no \"data_offsets\"",
               NULL);
    expect_bad("shape not matching its byte range", "{" T("fc.weight", "F32", "[10,5]", "[0,100]") "}", 100,
               "tensor 'fc.weight'", "data_offsets [0, 100] hold 100 bytes, shape [10, 5] of F32 needs 200", NULL);
    expect_bad("a negative shape entry", "{" T("x", "F32", "[2,-1]", "[0,0]") "}", 0, "tensor 'x'", "negative", NULL);
    expect_bad("a real shape entry", "{" T("x", "F32", "[2.0]", "[0,8]") "}", 8, "tensor 'x'", "real number", NULL);
    expect_bad("a string shape entry", "{" T("x", "F32", "[\"2\"]", "[0,8]") "}", 8, "tensor 'x'", "string", NULL);
    expect_bad("shape not an array", "{" T("x", "F32", "2", "[0,8]") "}", 8, "tensor 'x'", "not an array", NULL);
    expect_bad("9 dimensions", "{" T("x", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, "tensor 'x'",
               "9 dimensions", NULL);
    expect_bad("a shape overflowing 64 bits", "{" T("x", "F32", "[4294967296,4294967296]", "[0,4]") "}", 4,
               "tensor 'x'", "64 bits", NULL);
    expect_bad("bytes overflowing 64 bits", "{" T("x", "F64", "[4611686018427387904]", "[0,4]") "}", 4,
               "tensor 'x'", "64 bits", NULL);
    expect_bad("a range past the data", "{" T("x", "F32", "[2]", "[0,8]") "}", 4, "tensor 'x'", "past the data",
               NULL);
    expect_bad("begin after end", "{" T("x", "F32", "[0]", "[8,4]") "}", 8, "tensor 'x'", "begin after", NULL);
    expect_bad("a negative offset", "{" T("x", "F32", "[1]", "[-4,0]") "}", 8, "tensor 'x'", "negative", NULL);
    expect_bad("data_offsets of three", "{" T("x", "F32", "[1]", "[0,4,8]") "}", 8, "tensor 'x'", "3 entries",
               NULL);
    expect_bad("data_offsets of reals", "{" T("x", "F32", "[1]", "[0,4.0]") "}", 8, "tensor 'x'", "real", NULL);
    expect_bad("overlapping ranges", "{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[4,12]") "}", 12,
               "tensor 'b'", "overlap", "'a' [0, 8]");
    expect_bad("overlapping ranges, listed backwards",
               "{" T("b", "F32", "[2]", "[4,12]") "," T("a", "F32", "[2]", "[0,8]") "}", 12, "tensor 'b'", "overlap",
               "'a'");
    expect_bad("the same range twice", "{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[0,8]") "}", 8,
               "overlap", NULL, NULL);
    expect_bad("duplicate names", "{" T("a", "F32", "[1]", "[0,4]") "," T("a", "F32", "[1]", "[4,8]") "}", 8,
               "a name is given twice", "\"a\"", NULL);
    expect_bad("__metadata__ not an object", "{\"__metadata__\":[\"a\"]}", 0, "__metadata__", "not an object", NULL);
    expect_bad("__metadata__ with a number", "{\"__metadata__\":{\"epoch\":3}}", 0, "__metadata__", "'epoch'",
               "not a string");
    expect_bad("__metadata__ twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate", NULL, NULL);
    expect_bad("a control character in a name", "{\"a\\nb\":3}", 0, "tensor 'a?b'", NULL, NULL);
    expect_bad("a NUL in a name", "{\"a\\u0000b\":3}", 0, "not valid JSON", NULL, NULL);
    expect_bad("an empty header", "", 0, "not valid JSON", NULL, NULL);
}

static void test_bad_lengths(void)
{
    uint8_t buf[64] = {0};
    expect_bad_buf("a truncated file (5 bytes)", buf, 5, "truncated", "8-byte header length", NULL);
    expect_bad_buf("an empty file", buf, 0, "truncated", NULL, NULL);
    buf[0] = 100; /* 100 bytes of header, 56 there */
    expect_bad_buf("a header length past the end", buf, 64, "header length 100", "past the end", NULL);
    memset(buf, 0, 8);
    buf[5] = 1; /* 2^40 */
    expect_bad_buf("a huge header length", buf, 64, "header length 1099511627776", "limit", NULL);
    memset(buf, 0xff, 8);
    expect_bad_buf("a header length of 2^64-1", buf, 64, "limit", NULL, NULL);

    /* a valid file cut short: the ranges then run past the data */
    size_t size;
    uint8_t *ok = st_file("{" T("fc.w", "F32", "[4]", "[0,16]") "}", 16, &size);
    expect_bad_buf("a valid file missing its last byte", ok, size - 1, "tensor 'fc.w'", "past the data", NULL);
    const char *path = tap_path("cut.safetensors");
    write_all(path, ok, size - 1);
    pd_safetensors f;
    pd_error err = {0};
    tap_ok(safetensors_read(&f, path, &err) == PD_ERR_FORMAT && strstr(err.msg, path) &&
               strstr(err.msg, "tensor 'fc.w'"), "a cut file on disk: the error names its path (%s)", err.msg);
    safetensors_free(&f);
    tap_ok(safetensors_read(&f, tap_path("absent.safetensors"), &err) == PD_ERR_IO && strstr(err.msg, "absent"),
           "a missing file: PD_ERR_IO (%s)", err.msg);
    write_all(path, ok, size);
    err.msg[0] = '\0';
    tap_ok(safetensors_read(&f, path, &err) == PD_OK && f.n == 1 && f.data_size == 16, "the whole file reads %s",
           err.msg);
    safetensors_free(&f);
    free(ok);
}

static void test_good_edge_cases(void)
{
    /* gaps between ranges, zero-size tensors at the same offset, extra keys in an entry, padding spaces */
    size_t size;
    uint8_t *buf = st_file("{" T("b", "U8", "[2]", "[6,8]") "," T("z1", "F32", "[0]", "[4,4]") ","
                           T("z2", "F32", "[3,0]", "[4,4]") ",\"a\":{\"dtype\":\"I16\",\"shape\":[1],"
                           "\"data_offsets\":[0,2],\"extra\":true}}      ", 8, &size);
    pd_safetensors f;
    pd_error err = {0};
    pd_status s = safetensors_parse(&f, buf, size, FILE_NAME, &err);
    tap_ok(s == PD_OK && f.n == 4 && strcmp(f.t[3].name, "a") == 0 && f.data_size == 8,
           "gaps, empty tensors sharing an offset, unknown keys and trailing spaces accepted %s", err.msg);
    safetensors_free(&f);
    free(buf);
}

#else
static void test_no_json(void)
{
    pd_error err = {0};
    pd_safetensors f;
    pd_st_writer *w = NULL;
    uint8_t buf[16] = {0};
    tap_ok(safetensors_parse(&f, buf, sizeof buf, FILE_NAME, &err) == PD_ERR_CONFIG &&
               strcmp(err.msg, FILE_NAME ": " PD_ST_NO_JSON) == 0, "without jansson: parse says %s", err.msg);
    tap_ok(safetensors_read(&f, "x.safetensors", &err) == PD_ERR_CONFIG, "without jansson: read refused");
    tap_ok(safetensors_writer_create(&w, &err) == PD_ERR_CONFIG && !w && strstr(err.msg, "libjansson-dev"),
           "without jansson: no writer (%s)", err.msg);
    safetensors_free(&f);
}
#endif

/* ------------------------------------------------------------------------------------------- npy */

static void npy_round_trip(const char *what, int ndim, const int64_t *shape, int64_t n)
{
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v), *got = NULL;
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(i * 0.25 - 3.0);
    if (n)
        v[0] = -0.0f;
    const char *path = tap_path("rt.npy");
    pd_error err = {0};
    int ok = npy_write_f32(path, v, ndim, shape, &err) == PD_OK;
    size_t size;
    uint8_t *raw = read_all(path, &size);
    size_t hl = raw && size >= 10 ? (size_t)raw[8] | (size_t)raw[9] << 8 : 0;
    ok = ok && raw && (10 + hl) % 64 == 0 && raw[9 + hl] == '\n' && raw[6] == 1 && raw[7] == 0 &&
         memcmp(raw + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (", 51) == 0 &&
         size == 10 + hl + (size_t)n * 4;
    int rnd = 0;
    int64_t rshape[PD_ST_MAX_DIMS];
    ok = ok && npy_read_f32(path, &got, &rnd, rshape, &err) == PD_OK && rnd == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = rshape[d] == shape[d];
    ok = ok && (n == 0 || memcmp(got, v, (size_t)n * sizeof *v) == 0);
    tap_ok(ok, "npy round trip %s: 64-byte aligned format 1.0 header, values bit-exact %s", what, err.msg);
    free(raw);
    free(got);
    free(v);
}

/* The bytes of a .npy file with the given version and header text (no padding), then nbytes of zero data. */
static uint8_t *npy_file(int major, const char *header, size_t nbytes, size_t *size)
{
    size_t hl = strlen(header), off = major == 1 ? 10 : 12;
    *size = off + hl + nbytes;
    uint8_t *buf = calloc(1, *size);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    for (size_t i = 8; i < off; i++)
        buf[i] = (uint8_t)(hl >> (8 * (i - 8)));
    memcpy(buf + off, header, hl);
    return buf;
}

static void npy_expect(const char *what, int major, const char *header, size_t nbytes, const char *want)
{
    size_t size;
    uint8_t *buf = npy_file(major, header, nbytes, &size);
    float *data = NULL;
    int ndim;
    int64_t shape[PD_ST_MAX_DIMS];
    pd_error err = {0};
    pd_status s = npy_parse_f32(buf, size, "X.npy", &data, &ndim, shape, &err);
    if (!want)
        tap_ok(s == PD_OK && data, "%s read %s", what, err.msg);
    else
        tap_ok(s == PD_ERR_FORMAT && !data && strncmp(err.msg, "X.npy: ", 7) == 0 && strstr(err.msg, want) &&
                   !strchr(err.msg, '\n'), "%s refused: %s", what, err.msg);
    free(data);
    free(buf);
}

#define NPY_H(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }   \n"

static void test_npy_headers(void)
{
    npy_expect("format 2.0", 2, NPY_H("(2, 3)"), 24, NULL);
    npy_expect("double quotes, no trailing comma, keys in another order", 1,
               "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<f4\"}\n", 12, NULL);
    npy_expect("Python 2 long dims", 1, NPY_H("(2L, 1L)"), 8, NULL);
    npy_expect("an empty array", 1, NPY_H("(0, 5)"), 0, NULL);
    npy_expect("descr '<f8'", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16,
               "dtype '<f8' is not supported (pdiff reads little-endian float32 '<f4')");
    npy_expect("big-endian '>f4'", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8, "'>f4'");
    npy_expect("a structured dtype", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 8,
               "quoted string");
    npy_expect("fortran_order True", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16,
               "fortran_order True");
    npy_expect("fortran_order 0", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }\n", 8, "fortran_order");
    npy_expect("shape (3) (not a tuple)", 1, NPY_H("(3)"), 12, "not a tuple");
    npy_expect("a negative dimension", 1, NPY_H("(-1, 3)"), 12, "dimension");
    npy_expect("a real dimension", 1, NPY_H("(2.0,)"), 8, "','");
    npy_expect("9 dimensions", 1, NPY_H("(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 4, "more than 8 dimensions");
    npy_expect("a dimension past 64 bits", 1, NPY_H("(99999999999999999999,)"), 4, "64 bits");
    npy_expect("a shape past 64 bits", 1, NPY_H("(4294967296, 4294967296)"), 4, "64 bits");
    npy_expect("short data", 1, NPY_H("(2, 3)"), 20, "needs 24 bytes of data, the file holds 20");
    npy_expect("extra data", 1, NPY_H("(2, 3)"), 28, "needs 24 bytes of data, the file holds 28");
    npy_expect("an unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", 4,
               "unexpected key 'x'");
    npy_expect("a key twice", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", 4,
               "twice");
    npy_expect("no shape", 1, "{'descr': '<f4', 'fortran_order': False}\n", 4, "no 'shape'");
    npy_expect("text after the dict", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\n", 4,
               "after the dict");
    npy_expect("an unclosed dict", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, "expected");
    npy_expect("an unclosed string", 1, "{'descr", 0, "no closing quote");
    npy_expect("an escape in a string", 1, "{'des\\cr': '<f4'}", 0, "plain ASCII");
    npy_expect("a NUL in the header", 1, "{'descr': '<f4',\x01 'fortran_order': False, 'shape': (1,)}", 4,
               "byte 0x01");
}

static void test_npy_preamble(void)
{
    size_t size;
    uint8_t *buf = npy_file(1, NPY_H("(1,)"), 4, &size);
    float *data = NULL;
    int ndim;
    int64_t shape[PD_ST_MAX_DIMS];
    pd_error err = {0};
    buf[1] = 'n';
    tap_ok(npy_parse_f32(buf, size, "X.npy", &data, &ndim, shape, &err) == PD_ERR_FORMAT &&
               strstr(err.msg, "not a NumPy .npy file"), "bad magic refused: %s", err.msg);
    buf[1] = 'N', buf[6] = 3;
    tap_ok(npy_parse_f32(buf, size, "X.npy", &data, &ndim, shape, &err) == PD_ERR_FORMAT &&
               strstr(err.msg, "version 3.0 is not supported"), "version 3.0 refused: %s", err.msg);
    buf[6] = 1, buf[7] = 1;
    tap_ok(npy_parse_f32(buf, size, "X.npy", &data, &ndim, shape, &err) == PD_ERR_FORMAT &&
               strstr(err.msg, "version 1.1"), "version 1.1 refused: %s", err.msg);
    buf[7] = 0, buf[9] = 1;
    tap_ok(npy_parse_f32(buf, size, "X.npy", &data, &ndim, shape, &err) == PD_ERR_FORMAT &&
               strstr(err.msg, "runs past the end"), "header length past the end refused: %s", err.msg);
    tap_ok(npy_parse_f32(buf, 9, "X.npy", &data, &ndim, shape, &err) == PD_ERR_FORMAT && strstr(err.msg, "truncated"),
           "9 bytes refused: %s", err.msg);
    tap_ok(npy_read_f32(tap_path("absent.npy"), &data, &ndim, shape, &err) == PD_ERR_IO && !data,
           "a missing file: PD_ERR_IO (%s)", err.msg);
    free(buf);
    const int64_t neg = -2;
    tap_ok(npy_write_f32(tap_path("neg.npy"), NULL, 1, &neg, &err) != PD_OK, "writing a negative shape refused");
}

/* NumPy reads what we write and we read what NumPy writes (skipped without python3-numpy). */
static void test_npy_numpy(void)
{
    static const char *const pythons[] = {"python3", "/usr/bin/python3"}; /* a pyenv python may lack numpy */
    const char *py = NULL;
    char cmd[9000];
    for (int i = 0; i < 2 && !py; i++) {
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", pythons[i]);
        if (system(cmd) == 0)
            py = pythons[i];
    }
    if (!py) {
        printf("ok %d - # SKIP python3-numpy not installed\n", ++tap_count_);
        return;
    }
    const float v[6] = {1.5f, -2.0f, 0.25f, 1e-7f, 3e38f, -0.0f};
    const int64_t shape[2] = {2, 3};
    pd_error err = {0};
    const char *ours = tap_path("ours.npy"), *theirs = tap_path("theirs.npy");
    npy_write_f32(ours, v, 2, shape, &err);
    snprintf(cmd, sizeof cmd, "%s -c \"import numpy as np, sys; a = np.load(sys.argv[1]); "
             "sys.exit(0 if a.dtype == np.float32 and a.shape == (2, 3) and a[1, 1] == np.float32(3e38) else 1)\" '%s'",
             py, ours);
    tap_ok(system(cmd) == 0, "numpy.load reads our .npy");
    snprintf(cmd, sizeof cmd, "%s -c \"import numpy as np, sys; "
             "np.save(sys.argv[1], np.arange(24, dtype='<f4').reshape(2, 3, 4) / 8)\" '%s'", py, theirs);
    float *data = NULL;
    int ndim = 0;
    int64_t rs[PD_ST_MAX_DIMS];
    int ok = system(cmd) == 0 && npy_read_f32(theirs, &data, &ndim, rs, &err) == PD_OK && ndim == 3 && rs[0] == 2 &&
             rs[1] == 3 && rs[2] == 4;
    for (int i = 0; ok && i < 24; i++)
        ok = data[i] == (float)i / 8;
    tap_ok(ok, "we read numpy.save's .npy (2, 3, 4) %s", err.msg);
    free(data);
}

static void test_npy(void)
{
    const int64_t s1[1] = {7}, s2[2] = {3, 5}, s4[4] = {2, 1, 3, 2}, s0[2] = {0, 3};
    npy_round_trip("1-d (7,)", 1, s1, 7);
    npy_round_trip("2-d (3, 5)", 2, s2, 15);
    npy_round_trip("0-d ()", 0, NULL, 1);
    npy_round_trip("4-d (2, 1, 3, 2)", 4, s4, 12);
    npy_round_trip("empty (0, 3)", 2, s0, 0);
    test_npy_headers();
    test_npy_preamble();
    test_npy_numpy();
}

int main(void)
{
    tap_workdir("test_safetensors");
    test_half();
#ifdef HAVE_JANSSON
    test_round_trip();
    test_reference_bytes();
    test_writer_refusals();
    test_bad_headers();
    test_bad_lengths();
    test_good_edge_cases();
#else
    tap_diag("built without jansson: the safetensors reader and writer are checked to refuse");
    test_no_json();
#endif
    test_npy();
    return tap_done();
}
