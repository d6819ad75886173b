/* test_csvio.c — CSV reading/writing round trips, error messages, formula neutralisation, atomic writes. */
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "csvio.h"
#include "tap.h"

static char workdir[4096];


static void write_raw(const char *path, const char *bytes)
{
    size_t n = strlen(bytes);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite(bytes, 1, n, fp);
        fclose(fp);
    }
}

static char *read_all(const char *path)
{
    static char buf[65536];
    FILE *fp = fopen(path, "rb");
    size_t n = 0;
    if (fp) {
        n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
    }
    buf[n] = '\0';
    return buf;
}

/* Count files in workdir whose name contains ".tmp." */
static int count_tmp(void)
{
    int n = 0;
    DIR *d = opendir(workdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_text_round_trip(void)
{
    static const char *const texts[] = {"plain", "with, comma", "with \"quotes\"", "multi\nline\ntext",
                                        "ünïcødé ✓ 中文",
                                        "", "  spaces kept inside quotes  ", "trailing,"};
    const int n = (int)(sizeof texts / sizeof texts[0]);
    const char *path = tap_path("text.csv");
    pd_error err = {0};
    pd_csv_writer *w;
    tap_ok(csvio_create(&w, path, &err) == PD_OK, "create %s", path);
    csvio_text(w, "id");
    csvio_text(w, "text");
    csvio_endrow(w);
    for (int i = 0; i < n; i++) {
        csvio_int(w, i);
        csvio_text(w, texts[i]);
        csvio_endrow(w);
    }
    tap_ok(csvio_commit(w, &err) == PD_OK, "commit text table");
    pd_csv_table t;
    pd_status s = csvio_read(path, &t, &err);
    tap_ok(s == PD_OK, "read text table back (%s)", s == PD_OK ? "ok" : err.msg);
    if (s != PD_OK)
        return;
    tap_ok(t.cols == 2 && t.rows == n, "shape %d x %lld", t.cols, (long long)t.rows);
    int col = csvio_column(&t, "text");
    tap_ok(col == 1 && csvio_column(&t, "nope") == -1, "csvio_column");
    int same = 1;
    for (int i = 0; i < n && i < t.rows; i++)
        if (strcmp(csvio_cell(&t, i, col), texts[i]) != 0) {
            same = 0;
            tap_diag("row %d: got '%s' want '%s'", i, csvio_cell(&t, i, col), texts[i]);
        }
    tap_ok(same, "text with commas, quotes, newlines and UTF-8 round-trips");
    csvio_free(&t);
    csvio_free(&t); /* twice is harmless */
    tap_ok(count_tmp() == 0, "no temporary file left after commit");
}

static void test_numbers(void)
{
    const char *path = tap_path("numbers.csv");
    pd_error err = {0};
    enum { N = 2000 };
    static float vals[N];
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;
        float f = (float)((double)x / 4294967296.0 - 0.5) * powf(10.0f, (float)(i % 31 - 15));
        vals[i] = f;
    }
    vals[0] = 0.0f;
    vals[1] = -0.0f;
    vals[2] = 3.4028235e38f;
    vals[3] = 1.17549435e-38f;
    vals[4] = 1.4e-45f;
    vals[5] = 0.1f;
    pd_csv_writer *w;
    csvio_create(&w, path, &err);
    csvio_text(w, "v");
    csvio_text(w, "i");
    csvio_endrow(w);
    for (int i = 0; i < N; i++) {
        csvio_num(w, vals[i]);
        csvio_int(w, (int64_t)i - 1000000000000LL);
        csvio_endrow(w);
    }
    csvio_num(w, NAN);
    csvio_num(w, INFINITY);
    csvio_endrow(w);
    tap_ok(csvio_commit(w, &err) == PD_OK, "commit numbers");
    pd_csv_table t;
    if (!tap_ok(csvio_read(path, &t, &err) == PD_OK, "read numbers back"))
        return;
    int exact = 1;
    for (int i = 0; i < N; i++) {
        double d = 0;
        if (csvio_cell_double(&t, i, 0, &d, &err) != PD_OK || (float)d != vals[i] ||
            signbit((float)d) != signbit(vals[i])) {
            exact = 0;
            tap_diag("row %d: '%s' vs %.9g", i, csvio_cell(&t, i, 0), (double)vals[i]);
        }
    }
    tap_ok(exact, "%d floats written with %%.9g read back exactly", N);
    double d;
    tap_ok(strcmp(csvio_cell(&t, 5, 1), "-999999999995") == 0, "int64 written in full (%s)", csvio_cell(&t, 5, 1));
    tap_ok(strcmp(csvio_cell(&t, N, 0), "") == 0 && strcmp(csvio_cell(&t, N, 1), "") == 0,
           "NaN and Inf written as empty cells");
    tap_ok(csvio_cell_double(&t, N, 0, &d, &err) == PD_OK && isnan(d), "an empty cell reads as NaN");
    tap_ok(strncmp(read_all(path), "\"v\",\"i\"\n0,-1000000000000\n-0,-999999999999\n", 37) == 0,
           "numbers are not quoted");
    csvio_free(&t);

    /* a non-number cell names file, line and column */
    write_raw(tap_path("bad_num.csv"), "a,b\n1,2\n3,x7\n");
    if (csvio_read(tap_path("bad_num.csv"), &t, &err) == PD_OK) {
        pd_status s = csvio_cell_double(&t, 1, 1, &d, &err);
        tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "bad_num.csv:3") && strstr(err.msg, "'b'"),
               "bad number refused: %s", err.msg);
        csvio_free(&t);
    } else {
        tap_ok(0, "read bad_num.csv: %s", err.msg);
    }
}

static void test_reading(void)
{
    pd_csv_table t;
    pd_error err = {0};
    pd_status s;

    write_raw(tap_path("bom.csv"), "\xEF\xBB\xBFkey,value\nk,1\n");
    s = csvio_read(tap_path("bom.csv"), &t, &err);
    tap_ok(s == PD_OK && strcmp(t.header[0], "key") == 0 && csvio_column(&t, "key") == 0, "UTF-8 BOM stripped");
    if (s == PD_OK)
        csvio_free(&t);

    write_raw(tap_path("crlf.csv"), "a,b\r\n1,2\r\n\r\n3, 4 \r\n");
    s = csvio_read(tap_path("crlf.csv"), &t, &err);
    tap_ok(s == PD_OK && t.rows == 2 && strcmp(csvio_cell(&t, 1, 1), "4") == 0,
           "CRLF, blank lines skipped, unquoted fields trimmed");
    if (s == PD_OK)
        csvio_free(&t);

    write_raw(tap_path("noeol.csv"), "a,b\n1,2");
    s = csvio_read(tap_path("noeol.csv"), &t, &err);
    tap_ok(s == PD_OK && t.rows == 1 && strcmp(csvio_cell(&t, 0, 1), "2") == 0, "last line without newline");
    if (s == PD_OK)
        csvio_free(&t);

    write_raw(tap_path("header_only.csv"), "a,b,c\n");
    s = csvio_read(tap_path("header_only.csv"), &t, &err);
    tap_ok(s == PD_OK && t.rows == 0 && t.cols == 3, "header only: 0 rows");
    if (s == PD_OK)
        csvio_free(&t);

    write_raw(tap_path("ragged.csv"), "a,b,c\n1,2,3\n\n\"x\ny\",2,3\n4,5\n");
    s = csvio_read(tap_path("ragged.csv"), &t, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "ragged.csv:6: expected 3 fields, got 2"), "ragged row: %s",
           err.msg);
    tap_ok(t.header == NULL && t.rows == 0, "a failed read leaves an empty table");
    csvio_free(&t);

    write_raw(tap_path("long.csv"), "a,b,c\n1,2,3,4\n");
    s = csvio_read(tap_path("long.csv"), &t, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "long.csv:2: expected 3 fields, got 4"), "long row: %s", err.msg);

    write_raw(tap_path("unterminated.csv"), "a,b\n1,2\n3,\"open\nnever closed\n");
    s = csvio_read(tap_path("unterminated.csv"), &t, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "unterminated.csv:3: unterminated quoted field"),
           "unterminated quote: %s", err.msg);

    write_raw(tap_path("stray.csv"), "a,b\n1,\"x\"y\n");
    s = csvio_read(tap_path("stray.csv"), &t, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "stray.csv:2:"), "text after a closing quote: %s", err.msg);

    write_raw(tap_path("empty.csv"), "");
    s = csvio_read(tap_path("empty.csv"), &t, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "empty.csv: empty file (no header)"), "empty file: %s", err.msg);

    write_raw(tap_path("blank.csv"), "\xEF\xBB\xBF\n\r\n");
    s = csvio_read(tap_path("blank.csv"), &t, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "empty file"), "BOM and blank lines only: %s", err.msg);

    s = csvio_read(tap_path("does-not-exist.csv"), &t, &err);
    tap_ok(s == PD_ERR_IO && strstr(err.msg, "does-not-exist.csv"), "missing file: %s", err.msg);
}

static void test_neutralise(void)
{
    static const char *const bad[][2] = {
        {"=SUM(A1)", "'=SUM(A1)"}, {"+1+1", "'+1+1"}, {"@x", "'@x"}, {"-cmd", "'-cmd"},
        {"\tx", "'\tx"},           {"\rx", "'\rx"},   {"-", "'-"},   {"+", "'+"},
    };
    static const char *const good[] = {"-0.5", "1e-3", "+3", "-1E+07", "-.5", "plain", "", "a=b", "0"};
    char out[64];
    int ok = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        csvio_neutralise(bad[i][0], out, sizeof out);
        if (strcmp(out, bad[i][1]) != 0) {
            ok = 0;
            tap_diag("'%s' -> '%s'", bad[i][0], out);
        }
    }
    tap_ok(ok, "formula cells get a ' prefix");
    ok = 1;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        csvio_neutralise(good[i], out, sizeof out);
        if (strcmp(out, good[i]) != 0) {
            ok = 0;
            tap_diag("'%s' -> '%s'", good[i], out);
        }
    }
    tap_ok(ok, "numbers and harmless text untouched");
    csvio_neutralise("=abcdef", out, 4);
    tap_ok(strcmp(out, "'=a") == 0, "neutralise truncates to the buffer (%s)", out);

    /* through a writer */
    const char *path = tap_path("formula.csv");
    pd_error err = {0};
    pd_csv_writer *w;
    csvio_create(&w, path, &err);
    csvio_text(w, "=SUM(A1)");
    csvio_text(w, "-0.5");
    csvio_text(w, "@x");
    csvio_empty(w);
    csvio_endrow(w);
    csvio_commit(w, &err);
    tap_ok(strcmp(read_all(path), "\"'=SUM(A1)\",\"-0.5\",\"'@x\",\n") == 0, "writer neutralises text cells: %s",
           read_all(path));
}

static void test_atomic(void)
{
    const char *path = tap_path("atomic.csv");
    pd_error err = {0};
    pd_csv_writer *w;
    csvio_create(&w, path, &err);
    csvio_text(w, "old");
    csvio_endrow(w);
    csvio_commit(w, &err);

    tap_ok(csvio_create(&w, path, &err) == PD_OK, "second writer");
    csvio_text(w, "new");
    csvio_endrow(w);
    tap_ok(count_tmp() == 1, "the writer works on a hidden temporary file");
    tap_ok(strcmp(read_all(path), "\"old\"\n") == 0, "the target is untouched while writing");
    csvio_abort(w);
    tap_ok(strcmp(read_all(path), "\"old\"\n") == 0, "an aborted writer leaves the old file intact");
    tap_ok(count_tmp() == 0, "an aborted writer leaves no temporary file");
    csvio_abort(NULL);

    pd_status s = csvio_create(&w, tap_path("no-such-dir/x.csv"), &err);
    tap_ok(s == PD_ERR_IO && w == NULL && strstr(err.msg, "no-such-dir/x.csv"), "create in a missing folder: %s",
           err.msg);

    /* mkdirs */
    char deep[4300];
    snprintf(deep, sizeof deep, "%s/a/b//c/", workdir);
    tap_ok(atomic_mkdirs(deep, &err) == PD_OK && atomic_mkdirs(deep, &err) == PD_OK, "atomic_mkdirs twice");
    snprintf(deep, sizeof deep, "%s/a/b/c/f.csv", workdir);
    tap_ok(csvio_create(&w, deep, &err) == PD_OK, "write into the new folder");
    csvio_commit(w, &err);
    snprintf(deep, sizeof deep, "%s/a/b/c/f.csv/sub", workdir);
    s = atomic_mkdirs(deep, &err);
    tap_ok(s == PD_ERR_IO && strstr(err.msg, "f.csv"), "mkdirs through a file refused: %s", err.msg);

    pd_atomic_file f;
    memset(&f, 0, sizeof f);
    atomic_abort(&f);
    tap_ok(1, "atomic_abort on a zeroed struct");
}

static void test_stream(void)
{
    const char *path = tap_path("stream.csv");
    FILE *fp = fopen(path, "w");
    pd_error err = {0};
    pd_csv_writer *w;
    tap_ok(csvio_create_stream(&w, fp, &err) == PD_OK, "stream writer");
    csvio_text(w, "metric");
    csvio_num(w, 0.125);
    csvio_endrow(w);
    tap_ok(csvio_commit(w, &err) == PD_OK, "stream commit");
    fputs("after\n", fp); /* the stream stays open */
    fclose(fp);
    tap_ok(strcmp(read_all(path), "\"metric\",0.125\nafter\n") == 0, "stream content");
}

static void test_comma_locale(void)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
                                        "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++) {
        char probe[16];
        if (!setlocale(LC_NUMERIC, names[i]))
            continue;
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        if (strcmp(probe, "0,5") == 0)
            got = names[i];
        else
            setlocale(LC_NUMERIC, "C");
    }
    if (!got) {
        tap_ok(1, "comma-decimal locale # SKIP no de_DE/fr_FR/... locale installed");
        return;
    }
    const char *path = tap_path("locale.csv");
    pd_error err = {0};
    pd_csv_writer *w;
    csvio_create(&w, path, &err);
    csvio_text(w, "a");
    csvio_text(w, "b");
    csvio_endrow(w);
    csvio_num(w, 0.125);
    csvio_num(w, -1.5e-7);
    csvio_endrow(w);
    csvio_commit(w, &err);
    tap_ok(strcmp(read_all(path), "\"a\",\"b\"\n0.125,-1.5e-07\n") == 0, "LC_NUMERIC=%s: numbers written with '.'",
           got);
    pd_csv_table t;
    double a = 0, b = 0;
    if (csvio_read(path, &t, &err) == PD_OK) {
        tap_ok(csvio_cell_double(&t, 0, 0, &a, &err) == PD_OK && csvio_cell_double(&t, 0, 1, &b, &err) == PD_OK &&
                   a == 0.125 && b == -1.5e-7,
               "LC_NUMERIC=%s: numbers read with '.'", got);
        csvio_free(&t);
    } else {
        tap_ok(0, "read locale.csv: %s", err.msg);
    }
    setlocale(LC_NUMERIC, "C");
}

int main(void)
{
    snprintf(workdir, sizeof workdir, "%s", tap_workdir("csvio"));
    test_text_round_trip();
    test_numbers();
    test_reading();
    test_neutralise();
    test_atomic();
    test_stream();
    test_comma_locale();
    return tap_done();
}
