/* test_state.c — binary state files: round trip of every dtype, and every way a file can be refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "state.h"
#include "tap.h"

static char workdir[4096];


static long file_size(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fclose(fp);
    return n;
}

static void copy_file(const char *from, const char *to, long keep)
{
    static unsigned char buf[1 << 20];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (keep >= 0 && (size_t)keep < n)
        n = (size_t)keep;
    if (out)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

static void poke(const char *path, long offset, unsigned char xor_mask)
{
    FILE *fp = fopen(path, "r+b");
    if (!fp)
        return;
    fseek(fp, offset, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, offset, SEEK_SET);
    fputc((c ^ xor_mask) & 0xff, fp);
    fclose(fp);
}

enum { NF = 1001, NI = 17, NU = 3, ND = 5, NL = 4 };
static float f32[NF];
static int32_t i32[NI];
static uint8_t u8[NU];
static double f64[ND];
static int64_t i64[NL];

static pd_status write_good(const char *path, const char *kind, pd_error *err)
{
    pd_state_writer *w;
    PD_TRY(state_writer_create(&w, kind, err));
    pd_status s = PD_OK;
    /* u8 first, with an odd count, so later sections are misaligned in the file */
    if (s == PD_OK) s = state_put(w, "bytes", PD_DTYPE_U8, u8, NU, err);
    if (s == PD_OK) s = state_put(w, "params", PD_DTYPE_F32, f32, NF, err);
    if (s == PD_OK) s = state_put(w, "labels", PD_DTYPE_I32, i32, NI, err);
    if (s == PD_OK) s = state_put(w, "doubles", PD_DTYPE_F64, f64, ND, err);
    if (s == PD_OK) s = state_put(w, "longs", PD_DTYPE_I64, i64, NL, err);
    if (s == PD_OK) s = state_put(w, "empty", PD_DTYPE_F32, NULL, 0, err);
    if (s == PD_OK) s = state_put_i64(w, "step", -1234567890123LL, err);
    if (s == PD_OK) s = state_put_f64(w, "loss", 0.1 + 0.2, err);
    if (s != PD_OK) {
        state_writer_free(w);
        return s;
    }
    return state_writer_commit(w, path, err);
}

static void test_round_trip(void)
{
    for (int i = 0; i < NF; i++)
        f32[i] = (float)i * 0.37f - 100.0f;
    for (int i = 0; i < NI; i++)
        i32[i] = i * 1000003 - 7;
    u8[0] = 0, u8[1] = 128, u8[2] = 255;
    for (int i = 0; i < ND; i++)
        f64[i] = 1.0 / (i + 3);
    for (int i = 0; i < NL; i++)
        i64[i] = (int64_t)1 << (60 - i);
    i64[NL - 1] = INT64_MIN;

    pd_error err = {0};
    const char *path = tap_path("good.bin");
    pd_status s = write_good(path, "task", &err);
    tap_ok(s == PD_OK, "write a state file (%s)", s == PD_OK ? "ok" : err.msg);
    long want = 32 + 8 * 48 + NU + NF * 4 + NI * 4 + ND * 8 + NL * 8 + 8 + 8 + 4;
    tap_ok(file_size(path) == want, "file size %ld matches the format (%ld)", file_size(path), want);

    pd_state *st;
    s = state_load(&st, path, "task", &err);
    if (!tap_ok(s == PD_OK, "load it back (%s)", s == PD_OK ? "ok" : err.msg))
        return;
    int64_t n = -1;
    const float *pf = state_get(st, "params", PD_DTYPE_F32, NF, &n, &err);
    tap_ok(pf && n == NF && memcmp(pf, f32, sizeof f32) == 0, "f32 section round-trips");
    const int32_t *pi = state_get(st, "labels", PD_DTYPE_I32, -1, &n, &err);
    tap_ok(pi && n == NI && memcmp(pi, i32, sizeof i32) == 0, "i32 section round-trips (any count)");
    const uint8_t *pu = state_get(st, "bytes", PD_DTYPE_U8, NU, NULL, &err);
    tap_ok(pu && memcmp(pu, u8, sizeof u8) == 0, "u8 section round-trips");
    const double *pd = state_get(st, "doubles", PD_DTYPE_F64, ND, NULL, &err);
    tap_ok(pd && memcmp(pd, f64, sizeof f64) == 0, "f64 section round-trips");
    const int64_t *pl = state_get(st, "longs", PD_DTYPE_I64, NL, NULL, &err);
    tap_ok(pl && memcmp(pl, i64, sizeof i64) == 0, "i64 section round-trips");
    tap_ok(state_get(st, "empty", PD_DTYPE_F32, 0, &n, &err) != NULL && n == 0, "empty section");
    int64_t step = 0;
    double loss = 0;
    tap_ok(state_get_i64(st, "step", &step, &err) == PD_OK && step == -1234567890123LL, "state_get_i64");
    tap_ok(state_get_f64(st, "loss", &loss, &err) == PD_OK && loss == 0.1 + 0.2, "state_get_f64");
    tap_ok(state_has(st, "params") && !state_has(st, "nope"), "state_has");

    tap_ok(state_get(st, "nope", PD_DTYPE_F32, -1, NULL, &err) == NULL && err.status == PD_ERR_STATE &&
               strstr(err.msg, "good.bin") && strstr(err.msg, "missing section 'nope'"),
           "missing section: %s", err.msg);
    tap_ok(state_get(st, "params", PD_DTYPE_F32, 1000497, NULL, &err) == NULL &&
               strstr(err.msg, "section 'params' has 1001 values, expected 1000497 (made with different settings?)"),
           "wrong size: %s", err.msg);
    tap_ok(state_get(st, "params", PD_DTYPE_I32, NF, NULL, &err) == NULL && strstr(err.msg, "'params'") &&
               strstr(err.msg, "f32") && strstr(err.msg, "i32"),
           "wrong type: %s", err.msg);
    tap_ok(state_get_i64(st, "loss", &step, &err) == PD_ERR_STATE, "i64 getter on an f64 section refused");
    state_free(st);
    state_free(NULL);

    s = state_load(&st, path, NULL, &err);
    tap_ok(s == PD_OK, "kind NULL accepts any kind");
    state_free(st);
}

static void test_refusals(void)
{
    pd_error err = {0};
    pd_state *st = NULL;
    const char *good = tap_path("good.bin");
    long size = file_size(good);
    pd_status s;

    s = state_load(&st, good, "ae", &err);
    tap_ok(s == PD_ERR_STATE && st == NULL && strstr(err.msg, "good.bin") && strstr(err.msg, "'task'") &&
               strstr(err.msg, "'ae'"),
           "wrong kind: %s", err.msg);

    const char *bad = tap_path("corrupt.bin");
    copy_file(good, bad, -1);
    poke(bad, 32 + 48 * 2 + 3 + 100, 0x01); /* a byte inside the params data */
    s = state_load(&st, bad, "task", &err);
    tap_ok(s == PD_ERR_STATE && strstr(err.msg, "corrupt.bin: checksum mismatch"), "corrupted byte: %s", err.msg);

    copy_file(good, bad, -1);
    poke(bad, size - 1, 0x80); /* the checksum itself */
    s = state_load(&st, bad, "task", &err);
    tap_ok(s == PD_ERR_STATE && strstr(err.msg, "checksum mismatch"), "corrupted checksum: %s", err.msg);

    copy_file(good, bad, -1);
    poke(bad, 16, 0x20); /* the kind field */
    s = state_load(&st, bad, NULL, &err);
    tap_ok(s == PD_ERR_STATE && strstr(err.msg, "checksum mismatch"), "corrupted header byte: %s", err.msg);

    const char *cut = tap_path("truncated.bin");
    long cuts[] = {size - 1, size - 4, size / 2, 40, 33, 20, 5, 0};
    int all = 1;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_file(good, cut, cuts[i]);
        s = state_load(&st, cut, "task", &err);
        if (!(s == PD_ERR_STATE && strstr(err.msg, "truncated.bin: truncated"))) {
            all = 0;
            tap_diag("cut at %ld: %s", cuts[i], err.msg);
        }
    }
    tap_ok(all, "truncated at 8 places: %s", err.msg);

    copy_file(good, bad, -1);
    poke(bad, 0, 'P' ^ 'X');
    s = state_load(&st, bad, "task", &err);
    tap_ok(s == PD_ERR_STATE && strstr(err.msg, "corrupt.bin: not a pdiff state file"), "wrong magic: %s", err.msg);

    const char *text = tap_path("text.bin");
    FILE *fp = fopen(text, "w");
    fputs("key,value\nk,200\n", fp);
    fclose(fp);
    s = state_load(&st, text, "task", &err);
    tap_ok(s == PD_ERR_STATE && strstr(err.msg, "not a pdiff state file"), "a text file: %s", err.msg);

    copy_file(good, bad, -1);
    poke(bad, 8, 1 ^ 2); /* version 2 */
    s = state_load(&st, bad, "task", &err);
    tap_ok(s == PD_ERR_STATE && strstr(err.msg, "newer pdiff"), "newer version: %s", err.msg);

    s = state_load(&st, tap_path("missing.bin"), "task", &err);
    tap_ok(s == PD_ERR_IO && strstr(err.msg, "missing.bin"), "missing file: %s", err.msg);

    /* writer misuse */
    pd_state_writer *w;
    state_writer_create(&w, "x", &err);
    tap_ok(state_put(w, "a", PD_DTYPE_F32, f32, 2, &err) == PD_OK &&
               state_put(w, "a", PD_DTYPE_F32, f32, 2, &err) != PD_OK,
           "duplicate section name refused: %s", err.msg);
    tap_ok(state_put(w, "0123456789012345678901234567890123", PD_DTYPE_F32, f32, 2, &err) != PD_OK,
           "overlong section name refused: %s", err.msg);
    tap_ok(state_put(w, "b", (pd_dtype)9, f32, 2, &err) != PD_OK, "unknown dtype refused: %s", err.msg);
    state_writer_free(w);
    tap_ok(state_writer_create(&w, "a-kind-far-too-long", &err) != PD_OK && w == NULL, "overlong kind refused");

    s = write_good(tap_path("no-such-dir/x.bin"), "task", &err);
    tap_ok(s == PD_ERR_IO && strstr(err.msg, "no-such-dir/x.bin"), "commit into a missing folder: %s", err.msg);
}

/* pipeline_read_collect: state/collect.bin as pipeline_write_collect writes it, and a k of 0 refused */
static void test_collect(void)
{
    pd_error err = {0};
    const float vecs[6] = {1, 2, 3, 4, 5, 6.5f};
    const char *path = tap_path("collect.bin");
    tap_ok(pipeline_write_collect(path, vecs, 3, 2, &err) == PD_OK, "write collect.bin: %s", err.msg);
    float *v = NULL;
    int32_t k = 0;
    int64_t d = 0;
    pd_status s = pipeline_read_collect(path, &v, &k, &d, &err);
    tap_ok(s == PD_OK && k == 3 && d == 2 && v && memcmp(v, vecs, sizeof vecs) == 0, "read collect.bin back: %s",
           err.msg);
    free(v);

    pd_state_writer *w;
    const char *bad = tap_path("collect0.bin");
    s = state_writer_create(&w, "collect", &err);
    if (s == PD_OK) s = state_put(w, "vectors", PD_DTYPE_F32, vecs, 0, &err);
    if (s == PD_OK) s = state_put_i64(w, "k", 0, &err);
    if (s == PD_OK) s = state_put_i64(w, "d", 2, &err);
    if (s == PD_OK) s = state_writer_commit(w, bad, &err);
    tap_ok(s == PD_OK, "write a collect.bin with k 0: %s", err.msg);
    float dummy = 0;
    v = &dummy; /* set to NULL on error */
    s = pipeline_read_collect(bad, &v, &k, &d, &err);
    tap_ok(s == PD_ERR_STATE && v == NULL && strstr(err.msg, "collect0.bin") && strstr(err.msg, "k 0 outside"),
           "k 0 refused: %s", err.msg);
    s = pipeline_read_collect(tap_path("missing.bin"), &v, &k, &d, &err);
    tap_ok(s != PD_OK && v == NULL && strstr(err.msg, "missing.bin"), "a missing file named: %s", err.msg);
}

int main(void)
{
    snprintf(workdir, sizeof workdir, "%s", tap_workdir("state"));
    test_round_trip();
    test_refusals();
    test_collect();
    return tap_done();
}
