/* test_io.c — the engine's session files through their modules' APIs: atomic files (commit, abort, paths that do
 * not fit), the zoo (models.bin round trip of every value, models.csv), wrong-prediction similarity (against a
 * brute-force IoU), the report (text, CSV and LaTeX of a small fake session, exact cells, CSV quoting, LaTeX
 * escaping, formula neutralisation) and the sweep's combined table.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "csvio.h"
#include "path.h"
#include "report.h"
#include "similarity.h"
#include "state.h"
#include "sweep.h"
#include "tap.h"
#include "zoo.h"

static char work[4200];

static const char *wpath(const char *name)
{
    static char buf[4][4400];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", work, name);
    return p;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The whole file, malloc'd ("" when unreadable). */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 16);
    if (f && buf) {
        size_t n = fread(buf, 1, (1 << 16) - 1, f);
        buf[n] = '\0';
    }
    if (f)
        fclose(f);
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Does the folder hold a hidden temporary file (".*.tmp.*")? */
static int has_tmp(const char *dir)
{
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '\\.tmp\\.'", dir);
    return system(cmd) == 0;
}

/* ------------------------------------------------------------------------------------------------ atomic */

static void test_atomic(void)
{
    pd_atomic_file f;
    pd_error err = {0};
    char target[4400];
    snprintf(target, sizeof target, "%s", wpath("atomic.txt"));
    tap_ok(atomic_open(&f, target, &err) == PD_OK, "atomic_open (%s)", err.msg);
    fputs("new content\n", f.fp);
    tap_ok(!exists(target) && has_tmp(work), "before commit: no target, a hidden temporary file");
    tap_ok(atomic_commit(&f, &err) == PD_OK, "atomic_commit");
    char *s = read_text(target);
    tap_ok(strcmp(s, "new content\n") == 0 && !has_tmp(work), "after commit: the content, no temporary file");
    free(s);

    tap_ok(atomic_open(&f, target, &err) == PD_OK, "atomic_open over an existing file");
    fputs("half", f.fp);
    atomic_abort(&f);
    atomic_abort(&f);
    s = read_text(target);
    tap_ok(strcmp(s, "new content\n") == 0 && !has_tmp(work), "abort (twice): the old content stays, no temporary");
    free(s);

    char vtarget[4400];
    snprintf(vtarget, sizeof vtarget, "%s", wpath("volatile.txt"));
    tap_ok(atomic_open(&f, vtarget, &err) == PD_OK, "atomic_open for a volatile commit");
    fputs("volatile\n", f.fp);
    tap_ok(atomic_commit_volatile(&f, &err) == PD_OK && f.fp == NULL, "atomic_commit_volatile (%s)", err.msg);
    s = read_text(vtarget);
    tap_ok(strcmp(s, "volatile\n") == 0 && !has_tmp(work), "after a volatile commit: the content, no temporary file");
    free(s);
    err = (pd_error){0};
    tap_ok(atomic_commit_volatile(&f, &err) == PD_ERR_INTERNAL && strstr(err.msg, "not open"),
           "a second volatile commit of the same file is refused (%s)", err.msg);

    /* a path that does not fit, and one that fits but leaves no room for ".NAME.tmp.PID" */
    static char longp[PD_PATH_MAX + 10];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    err = (pd_error){0};
    pd_status st = atomic_open(&f, longp, &err);
    tap_ok(st == PD_ERR_IO && strstr(err.msg, "path too long") && f.fp == NULL && f.tmp[0] == '\0',
           "atomic_open of a path over PD_PATH_MAX: PD_ERR_IO (%.40s...%s)", err.msg, strstr(err.msg, "path too long"));
    atomic_abort(&f);
    longp[PD_PATH_MAX - 8] = '\0'; /* fits, but its temporary name does not */
    longp[PD_PATH_MAX - 30] = '/';
    err = (pd_error){0};
    st = atomic_open(&f, longp, &err);
    tap_ok(st == PD_ERR_IO && strstr(err.msg, "temporary file name") && f.fp == NULL && f.tmp[0] == '\0',
           "atomic_open when the temporary name does not fit: PD_ERR_IO (%s)", strstr(err.msg, "path too long"));
    atomic_abort(&f);
    err = (pd_error){0};
    tap_ok(atomic_open(&f, wpath("dir/"), &err) == PD_ERR_IO && strstr(err.msg, "not a file name"),
           "atomic_open of a folder name is refused (%s)", err.msg);

    err = (pd_error){0};
    tap_ok(atomic_mkdirs(wpath("x/y//z/"), &err) == PD_OK && exists(wpath("x/y/z")), "atomic_mkdirs makes x/y/z");
    tap_ok(atomic_mkdirs(wpath("x/y/z"), &err) == PD_OK, "atomic_mkdirs of an existing folder");
    tap_ok(atomic_mkdirs(wpath("atomic.txt/sub"), &err) == PD_ERR_IO, "atomic_mkdirs through a file fails (%s)",
           err.msg);
    memset(longp, 'b', sizeof longp - 1);
    err = (pd_error){0};
    tap_ok(atomic_mkdirs(longp, &err) == PD_ERR_IO && strstr(err.msg, "path too long"),
           "atomic_mkdirs of a path over PD_PATH_MAX: PD_ERR_IO");
    err = (pd_error){0};
    tap_ok(atomic_copy_file(target, wpath("x/copy.txt"), &err) == PD_OK, "atomic_copy_file (%s)", err.msg);
    s = read_text(wpath("x/copy.txt"));
    tap_ok(strcmp(s, "new content\n") == 0, "the copy has the content");
    free(s);
}

/* ------------------------------------------------------------------------------------------------ zoo */

enum { ZD = 7, ZT = 70 };

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0; /* NaN == NaN, -0 != 0: bit for bit */
}

static void zoo_fill_models(pd_zoo *z)
{
    static const char *const kinds[] = {"original", "original",   "original",  "ensemble",
                                        "ae_recon", "pdiff",      "pdiff",     "noise:0.01",
                                        "noise:0.1", "a kind longer than 23 chars"};
    for (int m = 0; m < 10; m++) {
        float vec[ZD];
        uint8_t pred[ZT];
        for (int i = 0; i < ZD; i++)
            vec[i] = (float)(m * 100 + i) * 0.37f - 1.5f;
        for (int i = 0; i < ZT; i++)
            pred[i] = (uint8_t)((i * 7 + (i % (m + 2) == 0 ? 1 : 0)) % 10);
        zoo_add(z, kinds[m], vec, 0.5 + 0.01 * m + 1e-13, 2.0 / (m + 1), m == 4 ? NULL : pred);
    }
    /* analysed columns for some models, the others stay NaN / -1 */
    for (int m = 4; m < 10; m++) {
        z->max_iou[m] = 0.1 * m + 1e-12;
        z->nearest_l2[m] = 3.25 / m;
        z->nearest_id[m] = m % 3;
    }
}

static void zoo_fill(pd_zoo *z)
{
    int32_t labels[ZT];
    zoo_init(z, ZD, ZT);
    for (int i = 0; i < ZT; i++)
        labels[i] = (i * 7) % 10;
    zoo_set_labels(z, labels);
    zoo_fill_models(z);
}

/* zoo_fill, with every byte of the zoo's arrays (all z->cap slots) set to g before the models are added. */
static void zoo_fill_on_garbage(pd_zoo *z, int g)
{
    zoo_fill(z);
    size_t cap = (size_t)z->cap;
    memset(z->kind, g, cap * ZOO_KIND_MAX);
    memset(z->accuracy, g, cap * sizeof(double));
    memset(z->loss, g, cap * sizeof(double));
    memset(z->max_iou, g, cap * sizeof(double));
    memset(z->nearest_l2, g, cap * sizeof(double));
    memset(z->nearest_id, g, cap * sizeof(int32_t));
    memset(z->vectors, g, cap * ZD * sizeof(float));
    memset(z->preds, g, cap * ZT);
    z->n = 0;
    zoo_fill_models(z);
}

/* The whole file into buf (at most size bytes); its length, -1 when unreadable. */
static long read_bytes(const char *path, unsigned char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long n = (long)fread(buf, 1, size, f);
    fclose(f);
    return n;
}

/* Two saves of the same models write the same bytes, whatever the heap held before (no uninitialised bytes: the
 * padding after a kind's name was saved as it was). */
static void test_zoo_deterministic(void)
{
    static unsigned char a[1 << 16], b[1 << 16];
    pd_zoo z;
    pd_error err = {0};
    zoo_fill_on_garbage(&z, 0x5a);
    pd_status st = zoo_save(&z, wpath("garbage1.bin"), &err);
    zoo_free(&z);
    zoo_fill_on_garbage(&z, 0xa5);
    if (st == PD_OK)
        st = zoo_save(&z, wpath("garbage2.bin"), &err);
    zoo_free(&z);
    long na = read_bytes(wpath("garbage1.bin"), a, sizeof a), nb = read_bytes(wpath("garbage2.bin"), b, sizeof b);
    tap_ok(st == PD_OK && na > 0 && na < (long)sizeof a && na == nb && memcmp(a, b, (size_t)na) == 0,
           "zoo_save writes the same bytes for the same models, whatever the heap held (%s)", err.msg);
}

/* A models.bin with sizes n, d, n_test and sections for n models (nearest_id[0] = nid0); zoo_load's message. */
static const char *zoo_load_crafted(const char *name, int64_t n, int64_t d, int64_t nt, int32_t nid0)
{
    static pd_error err;
    static char kind[2 * ZOO_KIND_MAX];
    static double dv[2];
    static int32_t nid[2];
    static float vec[2 * 3];
    static uint8_t pred[2 * 4];
    nid[0] = nid0;
    nid[1] = -1;
    int64_t m = n < 2 ? n : 2, dd = d <= 3 ? d : 0, tt = nt <= 4 ? nt : 0;
    pd_state_writer *w;
    err = (pd_error){0};
    pd_status st = state_writer_create(&w, "models", &err);
    if (st == PD_OK) {
        state_put_i64(w, "n", n, &err);
        state_put_i64(w, "d", d, &err);
        state_put_i64(w, "n_test", nt, &err);
        state_put(w, "kind", PD_DTYPE_U8, kind, m * ZOO_KIND_MAX, &err);
        static const char *const f64[] = {"accuracy", "loss", "max_iou", "nearest_l2"};
        for (int i = 0; i < 4; i++)
            state_put(w, f64[i], PD_DTYPE_F64, dv, m, &err);
        state_put(w, "nearest_id", PD_DTYPE_I32, nid, m, &err);
        state_put(w, "vectors", PD_DTYPE_F32, vec, m * dd, &err);
        state_put(w, "preds", PD_DTYPE_U8, pred, m * tt, &err);
        st = state_writer_commit(w, wpath(name), &err);
    }
    if (st != PD_OK)
        return "(not written)";
    pd_zoo z;
    memset(&z, 0, sizeof z);
    err = (pd_error){0};
    st = zoo_load(&z, wpath(name), &err);
    zoo_free(&z);
    return st == PD_OK ? "(accepted)" : err.msg;
}

/* models.bin with a valid checksum but sizes or ids out of range: refused with a line naming the file. */
static void test_zoo_refused(void)
{
    const char *msg = zoo_load_crafted("ok.bin", 2, 3, 4, 1);
    tap_ok(strcmp(msg, "(accepted)") == 0, "crafted models.bin: a sane one loads (%s)", msg);
    msg = zoo_load_crafted("overflow.bin", 2, INT64_MAX / 2 + 1, 4, 1);
    tap_ok(strstr(msg, "overflow.bin") && strstr(msg, "implausible sizes"), "n x d overflowing: %s", msg);
    msg = zoo_load_crafted("ntest.bin", 0, 3, INT64_C(1) << 40, -1);
    tap_ok(strstr(msg, "ntest.bin") && strstr(msg, "implausible sizes"), "n_test beyond int32: %s", msg);
    msg = zoo_load_crafted("nid.bin", 2, 3, 4, 7);
    tap_ok(strstr(msg, "nid.bin") && strstr(msg, "nearest_id 7"), "a nearest_id naming no model: %s", msg);
    msg = zoo_load_crafted("nid2.bin", 2, 3, 4, -2);
    tap_ok(strstr(msg, "nid2.bin") && strstr(msg, "nearest_id -2"), "a nearest_id below -1: %s", msg);
}

static void test_zoo_round_trip(void)
{
    pd_zoo z, y;
    pd_error err = {0};
    zoo_fill(&z);
    tap_ok(z.n == 10 && zoo_ids_of(&z, "original", NULL) == 3 && zoo_ids_of(&z, "noise:", NULL) == 2,
           "zoo_add/zoo_ids_of: 10 models, 3 originals, 2 noise:* (prefix match)");
    int32_t ids[10];
    double acc[10];
    tap_ok(zoo_ids_of(&z, "pdiff", ids) == 2 && ids[0] == 5 && ids[1] == 6, "zoo_ids_of gives the ids in order");
    tap_ok(zoo_accuracies(&z, "noise:", acc) == 2 && acc[0] == z.accuracy[7] && acc[1] == z.accuracy[8],
           "zoo_accuracies with a prefix");
    tap_ok(strcmp(z.kind[9], "a kind longer than 23 c") == 0, "a kind is cut to ZOO_KIND_MAX - 1 characters");
    int zero = 1;
    for (int i = 0; i < ZT; i++)
        zero &= z.preds[4 * ZT + i] == 0;
    tap_ok(zero, "a NULL prediction row is all zero");

    tap_ok(zoo_save(&z, wpath("models.bin"), &err) == PD_OK, "zoo_save (%s)", err.msg);
    tap_ok(zoo_load(&y, wpath("models.bin"), &err) == PD_OK, "zoo_load (%s)", err.msg);
    int same = y.n == z.n && y.d == z.d && y.n_test == z.n_test && y.labels &&
               memcmp(y.labels, z.labels, ZT) == 0 && memcmp(y.vectors, z.vectors, sizeof(float) * ZD * 10) == 0 &&
               memcmp(y.preds, z.preds, ZT * 10) == 0;
    for (int m = 0; same && m < z.n; m++)
        same = strcmp(y.kind[m], z.kind[m]) == 0 && same_double(y.accuracy[m], z.accuracy[m]) &&
               same_double(y.loss[m], z.loss[m]) && same_double(y.max_iou[m], z.max_iou[m]) &&
               same_double(y.nearest_l2[m], z.nearest_l2[m]) && y.nearest_id[m] == z.nearest_id[m];
    tap_ok(same, "models.bin round trip: every kind, number, vector, prediction and label bit for bit");
    zoo_free(&y);

    /* runs (collect_mode=independent): saved, loaded, and checked against the session's number of runs */
    z.run[5] = 2;
    tap_ok(zoo_save(&z, wpath("runs.bin"), &err) == PD_OK && zoo_load(&y, wpath("runs.bin"), &err) == PD_OK &&
               y.run[5] == 2 && y.run[4] == 0,
           "a model's run round trips (%s)", err.msg);
    tap_ok(zoo_check_runs(&y, 3, "runs.bin", &err) == PD_OK, "run 3 of a 3-run session passes");
    err = (pd_error){0};
    tap_ok(zoo_check_runs(&y, 2, "runs.bin", &err) == PD_ERR_STATE && strstr(err.msg, "runs.bin: model 5: run 3") &&
               strstr(err.msg, "has 2 runs"),
           "run 3 in a 2-run session is refused, naming the file and the model: %s", err.msg);
    err = (pd_error){0};
    tap_ok(zoo_check_runs(&y, 1, "runs.bin", &err) == PD_ERR_STATE && strstr(err.msg, "has 1 run") &&
               !strstr(err.msg, "1 runs"),
           "and in a single trajectory: %s", err.msg);
    zoo_free(&y);
    z.run[5] = 0;

    /* without labels: none come back */
    free(z.labels);
    z.labels = NULL;
    tap_ok(zoo_save(&z, wpath("nolabels.bin"), &err) == PD_OK && zoo_load(&y, wpath("nolabels.bin"), &err) == PD_OK &&
               y.labels == NULL && y.n == 10,
           "a zoo saved without labels loads without labels");
    zoo_free(&y);
    pd_zoo e;
    zoo_init(&e, 3, 0);
    tap_ok(zoo_save(&e, wpath("empty.bin"), &err) == PD_OK && zoo_load(&y, wpath("empty.bin"), &err) == PD_OK &&
               y.n == 0 && y.d == 3 && y.n_test == 0,
           "an empty zoo round trips");
    zoo_free(&y);
    zoo_free(&e);

    err = (pd_error){0};
    tap_ok(zoo_load(&y, wpath("nowhere.bin"), &err) != PD_OK && strstr(err.msg, "nowhere.bin"),
           "zoo_load of a missing file names it (%s)", err.msg);
    tap_ok(write_text(wpath("junk.bin"), "not a state file at all") == 0 &&
               zoo_load(&y, wpath("junk.bin"), &err) != PD_OK && strstr(err.msg, "junk.bin"),
           "zoo_load of a damaged file names it (%s)", err.msg);
    zoo_free(&z);
}

static void test_zoo_csv(void)
{
    pd_zoo z;
    pd_error err = {0};
    zoo_fill(&z);
    tap_ok(zoo_write_csv(&z, wpath("models.csv"), &err) == PD_OK, "zoo_write_csv (%s)", err.msg);
    pd_csv_table t;
    if (!tap_ok(csvio_read(wpath("models.csv"), &t, &err) == PD_OK, "models.csv reads back (%s)", err.msg)) {
        zoo_free(&z);
        return;
    }
    static const char *const cols[] = {"id",      "kind",       "accuracy",   "loss",
                                       "max_iou", "nearest_id", "nearest_l2", "disagreement"};
    int hdr = t.cols == 8;
    for (int c = 0; hdr && c < 8; c++)
        hdr = strcmp(t.header[c], cols[c]) == 0;
    tap_ok(hdr && t.rows == 10,
           "models.csv: header id,kind,accuracy,loss,max_iou,nearest_id,nearest_l2,disagreement and 10 rows");
    int same = 1;
    for (int m = 0; m < z.n && same; m++) {
        char want[8][64];
        snprintf(want[0], 64, "%d", m);
        snprintf(want[1], 64, "%s", z.kind[m]);
        snprintf(want[2], 64, "%.9g", z.accuracy[m]);
        snprintf(want[3], 64, "%.9g", z.loss[m]);
        snprintf(want[4], 64, isnan(z.max_iou[m]) ? "" : "%.9g", z.max_iou[m]);
        snprintf(want[5], 64, z.nearest_id[m] < 0 ? "" : "%d", z.nearest_id[m]);
        snprintf(want[6], 64, isnan(z.nearest_l2[m]) ? "" : "%.9g", z.nearest_l2[m]);
        snprintf(want[7], 64, "%.9g", zoo_disagreement(&z, m, 3)); /* with the ensemble, model 3 */
        for (int c = 0; c < 8 && same; c++)
            if (strcmp(csvio_cell(&t, m, c), want[c]) != 0) {
                tap_diag("row %d column %s: got '%s', want '%s'", m, cols[c], csvio_cell(&t, m, c), want[c]);
                same = 0;
            }
    }
    tap_ok(same, "models.csv: every cell (numbers %%.9g, not analysed = empty)");
    csvio_free(&t);
    char *s = read_text(wpath("models.csv"));
    char row4[2][96], row0[64];
    double dis4 = zoo_disagreement(&z, 4, 3);
    snprintf(row4[0], sizeof row4[0], "\n4,\"ae_recon\",0.540000000,0.4,0.4,1,0.8125,%.9g\n", dis4);
    snprintf(row4[1], sizeof row4[1], "\n4,\"ae_recon\",0.54,0.4,0.4,1,0.8125,%.9g\n", dis4);
    snprintf(row0, sizeof row0, "\n0,\"original\",0.5,2,,,,%.9g\n", zoo_disagreement(&z, 0, 3));
    tap_ok(strstr(s, row4[0]) != NULL || strstr(s, row4[1]) != NULL,
           "models.csv: text cells quoted, numbers not (row 4)");
    tap_ok(strstr(s, row0) != NULL, "models.csv: row 0 is 0,\"original\",0.5,2,,,,DISAGREEMENT");
    free(s);
    zoo_free(&z);
}

/* ------------------------------------------------------------------------------------------------ similarity */

static void test_similarity(void)
{
    enum { NM = 6, NT = 130 }; /* three words, the last partly used */
    uint8_t preds[NM * NT], labels[NT];
    uint64_t r = 12345;
    for (int i = 0; i < NT; i++)
        labels[i] = (uint8_t)(i % 10);
    for (int m = 0; m < NM; m++)
        for (int i = 0; i < NT; i++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            int wrong = m == 0 ? 0 : m == 1 ? (i < 64) : m == 2 ? (i >= 64) : (int)((r >> 33) % 3 == 0);
            preds[m * NT + i] = (uint8_t)(wrong ? (labels[i] + 1 + (r >> 40) % 9) % 10 : labels[i]);
        }
    memcpy(preds + 5 * NT, preds + 4 * NT, NT); /* 5 = 4 */
    pd_similarity_sets w;
    if (!tap_ok(similarity_init(&w, preds, labels, NM, NT) == PD_OK, "similarity_init"))
        return;
    int counts = 1, iou = 1;
    for (int a = 0; a < NM; a++) {
        int wa = 0;
        for (int i = 0; i < NT; i++)
            wa += preds[a * NT + i] != labels[i];
        counts &= w.wrong[a] == wa;
        for (int b = 0; b < NM; b++) {
            int inter = 0, uni = 0;
            for (int i = 0; i < NT; i++) {
                int x = preds[a * NT + i] != labels[i], y = preds[b * NT + i] != labels[i];
                inter += x && y;
                uni += x || y;
            }
            double want = uni ? (double)inter / uni : 1.0;
            if (similarity_iou(&w, a, b) != want) {
                tap_diag("iou(%d, %d) = %.17g, want %.17g", a, b, similarity_iou(&w, a, b), want);
                iou = 0;
            }
        }
    }
    tap_ok(counts, "|W| of every model matches a count of its wrong predictions");
    tap_ok(iou, "similarity_iou of every pair is |W(a) n W(b)| / |W(a) u W(b)| exactly");
    tap_ok(similarity_iou(&w, 0, 0) == 1.0 && similarity_iou(&w, 1, 2) == 0.0 && similarity_iou(&w, 4, 5) == 1.0 &&
               similarity_iou(&w, 0, 1) == 0.0,
           "no mistakes: 1; disjoint: 0; identical: 1; none vs some: 0");
    similarity_free(&w);
    similarity_free(&w);

    /* through the zoo: the similarity of the loaded models is that of the saved ones */
    pd_zoo z, y;
    pd_error err = {0};
    zoo_fill(&z);
    int same = zoo_save(&z, wpath("sim.bin"), &err) == PD_OK && zoo_load(&y, wpath("sim.bin"), &err) == PD_OK;
    pd_similarity_sets a, b;
    if (same && similarity_init(&a, z.preds, z.labels, z.n, z.n_test) == PD_OK) {
        if (similarity_init(&b, y.preds, y.labels, y.n, y.n_test) == PD_OK) {
            for (int i = 0; i < z.n; i++)
                for (int j = 0; j < z.n; j++)
                    same &= similarity_iou(&a, i, j) == similarity_iou(&b, i, j);
            similarity_free(&b);
        }
        similarity_free(&a);
    }
    tap_ok(same, "similarity of the models loaded from models.bin equals that of the saved ones");
    zoo_free(&z);
    zoo_free(&y);
}

/* ------------------------------------------------------------------------------------------------ report */

/* The output of a report writer as a string (malloc'd). */
static char *capture(pd_status (*fn)(const char *, pd_report_format, FILE *, pd_error *), const char *dir,
                     pd_report_format f, pd_status *st, pd_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    *st = fn(dir, f, out, err);
    fclose(out);
    return buf;
}

static void test_report_table(void)
{
    pd_report_table t;
    report_table_init(&t, "50% & more_{x}~^\\ #$", "lab", 3);
    const char *head[3] = {"name", "a,b \"q\"", "=SUM(A1)"};
    tap_ok(report_table_row(&t, head, NULL, NULL) == PD_OK, "report_table_row (header)");
    const char *r1[3] = {"row_1 & co", NULL, NULL};
    double v1[3] = {0, 1.23456, NAN};
    report_table_row(&t, r1, v1, "%.2f");
    const char *r2[3] = {"+cmd", "-5", NULL};
    double v2[3] = {0, 0, -0.5};
    report_table_row(&t, r2, v2, NULL);
    tap_ok(t.rows == 3 && strcmp(t.cells[3 + 1], "1.23") == 0 && strcmp(t.cells[3 + 2], "-") == 0 &&
               strcmp(t.cells[6], "'+cmd") == 0 && strcmp(t.cells[7], "-5") == 0 && strcmp(t.cells[8], "-0.5") == 0 &&
               strcmp(t.cells[2], "'=SUM(A1)") == 0,
           "cells: numbers formatted, NaN is '-', formulas neutralised, a plain number is not");

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    report_table_print(&t, PD_REPORT_TEXT, out);
    fclose(out);
    const char *want_text = "50% & more_{x}~^\\ #$\n"
                            "  name        a,b \"q\"  '=SUM(A1)\n"
                            "  ------------------------------\n"
                            "  row_1 & co     1.23          -\n"
                            "  '+cmd            -5       -0.5\n"
                            "\n";
    tap_ok(strcmp(buf, want_text) == 0, "text: title, aligned columns, a rule under the header");
    if (strcmp(buf, want_text) != 0)
        tap_diag("got:\n%s", buf);
    free(buf);

    out = open_memstream(&buf, &len);
    report_table_print(&t, PD_REPORT_LATEX, out);
    fclose(out);
    const char *want_tex =
        "% 50% & more_{x}~^\\ #$\n"
        "\\begin{table}[t]\n\\centering\n"
        "\\caption{50\\% \\& more\\_\\{x\\}\\textasciitilde{}\\textasciicircum{}\\textbackslash{} \\#\\$}\n"
        "\\label{tab:lab}\n\\begin{tabular}{lrr}\n\\toprule\n"
        "name & a,b \"q\" & '=SUM(A1) \\\\\n\\midrule\n"
        "row\\_1 \\& co & 1.23 & -- \\\\\n"
        "'+cmd & -5 & -0.5 \\\\\n"
        "\\bottomrule\n\\end{tabular}\n\\end{table}\n\n";
    tap_ok(strcmp(buf, want_tex) == 0, "LaTeX: escaped caption and cells, '-' as '--', booktabs rules");
    if (strcmp(buf, want_tex) != 0)
        tap_diag("got:\n%s", buf);
    free(buf);

    out = open_memstream(&buf, &len);
    report_table_print(&t, PD_REPORT_CSV, out);
    fclose(out);
    const char *want_csv = "\"lab\",\"row_1 & co\",\"a,b \"\"q\"\"\",1.23456\n"
                           "\"lab\",\"'+cmd\",\"'=SUM(A1)\",-0.5\n";
    tap_ok(strcmp(buf, want_csv) == 0, "CSV: tidy rows of numeric cells only, quotes doubled, full precision");
    if (strcmp(buf, want_csv) != 0)
        tap_diag("got:\n%s", buf);
    free(buf);
    report_table_free(&t);
    report_table_free(&t);

    pd_report_format f = PD_REPORT_TEXT;
    pd_error err = {0};
    tap_ok(report_parse_format("csv", &f, &err) == PD_OK && f == PD_REPORT_CSV &&
               report_parse_format("latex", &f, &err) == PD_OK && f == PD_REPORT_LATEX &&
               report_parse_format("text", &f, &err) == PD_OK && f == PD_REPORT_TEXT,
           "report_parse_format: text, csv, latex");
    tap_ok(report_parse_format("pdf", &f, &err) == PD_ERR_USAGE && strstr(err.msg, "'pdf'"),
           "report_parse_format refuses pdf (%s)", err.msg);
}

static const char *fake_summary = "\"metric\",\"value\"\n"
                                  "\"task_accuracy\",0.9\n"
                                  "\"original_best\",0.91\n\"original_mean\",0.905\n\"original_median\",0.9075\n"
                                  "\"ensemble\",0.92\n"
                                  "\"pdiff_best\",0.915\n\"pdiff_mean\",0.91\n\"pdiff_median\",0.9125\n"
                                  "\"pdiff_max_iou_mean\",0.8\n\"pdiff_max_iou_min\",0.5\n"
                                  "\"pdiff_max_iou_max\",0.95\n\"pdiff_nearest_l2_median\",0.012346\n"
                                  "\"noise_0.01_best\",0.5\n"
                                  "\"novelty\",0.25\n"
                                  "\"seconds_train\",1.25\n\"seconds_ae\",2.5\n";
static const char *fake_models = "\"id\",\"kind\",\"accuracy\",\"loss\",\"max_iou\",\"nearest_id\",\"nearest_l2\"\n"
                                 "0,\"original\",0.91,0.3,,,\n"
                                 "1,\"pdiff\",0.915,0.3,0.8,0,0.01\n"
                                 "2,\"noise:0.01\",0.5,0.3,0.4,0,0.5\n"
                                 "3,\"say \"\"hi\"\", x_1%\",0.5,0.3,0.4,0,0.5\n";

/* The LaTeX pieces report and sweep share: the escape (with ± as $\pm$) and a booktabs table's frame. */
static void test_report_latex(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    report_latex_escape("a_b & 50% ± 2 {x} ~^\\ #$±", out);
    fclose(out);
    const char *want_esc = "a\\_b \\& 50\\% $\\pm$ 2 \\{x\\} "
                           "\\textasciitilde{}\\textasciicircum{}\\textbackslash{} \\#\\$$\\pm$";
    tap_ok(strcmp(buf, want_esc) == 0, "report_latex_escape: specials made literal, ± as $\\pm$ (%s)", buf);
    free(buf);
    out = open_memstream(&buf, &len);
    report_latex_begin("t_1", "lab", 2, 4, out);
    const char *cells[2][4] = {{"a", "b_", "1", "2"}, {"c", "-", "$x_1$", "-"}};
    for (int r = 0; r < 2; r++) {
        for (int c = 0; c < 4; c++)
            report_latex_cell(c, cells[r][c], c < 2, out);
        report_latex_row_end(r, out);
    }
    report_latex_end(out);
    fclose(out);
    const char *want_tab = "% t_1\n\\begin{table}[t]\n\\centering\n\\caption{t\\_1}\n\\label{tab:lab}\n"
                           "\\begin{tabular}{llrr}\n\\toprule\na & b\\_ & 1 & 2 \\\\\n\\midrule\n"
                           "c & -- & $x_1$ & -- \\\\\n"
                           "\\bottomrule\n\\end{tabular}\n\\end{table}\n\n";
    tap_ok(strcmp(buf, want_tab) == 0,
           "report_latex_begin/cell/row_end/end: 2 text columns, cells escaped or not, '-' as '--', rules");
    if (strcmp(buf, want_tab) != 0)
        tap_diag("got:\n%s", buf);
    free(buf);
}

static void test_report_session(void)
{
    char dir[4400];
    snprintf(dir, sizeof dir, "%s", wpath("sess"));
    mkdir(dir, 0777);
    write_text(wpath("sess/summary.csv"), fake_summary);
    write_text(wpath("sess/models.csv"), fake_models);
    pd_error err = {0};
    pd_status st;
    char *s = capture(report_write, dir, PD_REPORT_TEXT, &st, &err);
    tap_ok(st == PD_OK, "report_write text (%s)", err.msg);
    char want[4600];
    snprintf(want, sizeof want, "Session %s\nTask model test accuracy: 90.00 %%\n\nTest accuracy (%%)\n", dir);
    tap_ok(strncmp(s, want, strlen(want)) == 0, "text: session, task accuracy, accuracy table title");
    tap_ok(strstr(s, "\n  original  91.00  90.50   90.75\n") && strstr(s, "\n  ensemble  92.00  92.00   92.00\n") &&
               strstr(s, "\n  p-diff    91.50  91.00   91.25\n") && strstr(s, "\n  AE recon      -      -       -\n"),
           "text: accuracy rows in percent, '-' where the session has no value");
    tap_ok(strstr(s, "\n  p-diff                 91.50     91.00       91.25         0.800        0.500        0.950"
                     "            0.01235\n") != NULL,
           "text: memorization row of p-diff (similarity %%.3f, L2 %%.4g)");
    tap_ok(strstr(s, "\n  noise (sigma 0.01)     50.00         -           -             -            -            -"
                     "                  -\n") != NULL,
           "text: a noise kind gets its label, missing values '-'");
    tap_ok(strstr(s, "Novelty: 25.0 % of the p-diff models") != NULL, "text: novelty line");
    tap_ok(strstr(s, "Wall time per stage (s)\n  stage  seconds\n  --------------\n  train      1.2\n"
                     "  ae         2.5\n  total      3.8\n\n") != NULL,
           "text: time table with the stages present and their total");
    free(s);

    s = capture(report_write, dir, PD_REPORT_CSV, &st, &err);
    tap_ok(st == PD_OK && strncmp(s, "\"table\",\"kind\",\"metric\",\"value\"\n", 32) == 0, "CSV: the tidy header");
    tap_ok(strstr(s, "\n\"accuracy\",\"original\",\"best\",0.91\n\"accuracy\",\"original\",\"mean\",0.905\n") != NULL,
           "CSV: accuracies as fractions");
    tap_ok(strstr(s, "\n\"memorization\",\"p-diff\",\"nearest L2 median\",0.012346\n") != NULL,
           "CSV: memorization values at full precision");
    tap_ok(strstr(s, "\n\"memorization\",\"say \"\"hi\"\", x_1%\",") == NULL &&
               strstr(s, "\"time\",\"total\",\"seconds\",3.75\n") != NULL,
           "CSV: a kind without numbers has no rows; the time total");
    free(s);

    s = capture(report_write, dir, PD_REPORT_LATEX, &st, &err);
    tap_ok(st == PD_OK && strncmp(s, "% Test accuracy (%)\n\\begin{table}[t]\n", 36) == 0,
           "LaTeX: starts with the accuracy table");
    tap_ok(strstr(s, "\noriginal & 91.00 & 90.50 & 90.75 \\\\\n") && strstr(s, "\nAE recon & -- & -- & -- \\\\\n"),
           "LaTeX: accuracy rows, '--' for missing values");
    tap_ok(strstr(s, "\nsay \"hi\", x\\_1\\% & -- & -- & -- & -- & -- & -- & -- \\\\\n") != NULL,
           "LaTeX: a kind with special characters is escaped");
    tap_ok(strstr(s, "\\label{tab:memorization}\n\\begin{tabular}{lrrrrrrr}\n") != NULL,
           "LaTeX: memorization tabular with 8 columns");
    free(s);

    /* not analysed: no memorization table */
    mkdir(wpath("fresh"), 0777);
    write_text(wpath("fresh/summary.csv"), fake_summary);
    write_text(wpath("fresh/models.csv"),
               "\"id\",\"kind\",\"accuracy\",\"loss\",\"max_iou\",\"nearest_id\",\"nearest_l2\"\n"
               "0,\"original\",0.91,0.3,,,\n");
    s = capture(report_write, wpath("fresh"), PD_REPORT_TEXT, &st, &err);
    tap_ok(st == PD_OK && strstr(s, "Memorization") == NULL && strstr(s, "Novelty") == NULL,
           "text: no memorization table before the analysis");
    free(s);

    err = (pd_error){0};
    s = capture(report_write, wpath("nowhere"), PD_REPORT_TEXT, &st, &err);
    tap_ok(st == PD_ERR_IO && strstr(err.msg, "nowhere/summary.csv"), "report of a missing session names the file (%s)",
           err.msg);
    free(s);
    mkdir(wpath("bad"), 0777);
    write_text(wpath("bad/summary.csv"), "\"a\",\"b\"\n1,2\n");
    err = (pd_error){0};
    s = capture(report_write, wpath("bad"), PD_REPORT_TEXT, &st, &err);
    tap_ok(st == PD_ERR_FORMAT && strstr(err.msg, "bad/summary.csv: no 'metric' column (expected metric,value"),
           "a summary.csv without metric,value (%s)", err.msg);
    free(s);
}

/* ------------------------------------------------------------------------------------------------ sweep */

static void test_sweep(void)
{
    tap_ok(sweep_first_stage("k") == PD_STAGE_COLLECT && sweep_first_stage("latent_noise") == PD_STAGE_AE &&
               sweep_first_stage("ddpm_lr") == PD_STAGE_DDPM && sweep_first_stage("sampler") == PD_STAGE_GENERATE &&
               sweep_first_stage("n_noise") == PD_STAGE_ANALYZE && sweep_first_stage("lr") == PD_STAGE_TRAIN,
           "sweep_first_stage for a key of each stage");
    mkdir(wpath("sweep"), 0777);
    write_text(wpath("sweep/sweep_index.csv"), "\"key\",\"value\",\"session\"\n\"k\",\"10\",\"k-10\"\n"
                                                 "\"k\",\"2,0\",\"k-2_0\"\n");
    static const char *const values[2][2] = {{"k-10", "0.9"}, {"k-2_0", "0.8"}};
    for (int i = 0; i < 2; i++) {
        char name[64], text[512];
        snprintf(name, sizeof name, "sweep/%s", values[i][0]);
        mkdir(wpath(name), 0777);
        snprintf(name, sizeof name, "sweep/%s/config.csv", values[i][0]);
        write_text(wpath(name), "\"key\",\"value\"\n\"k\",\"10\"\n\"seed\",\"7\"\n");
        snprintf(name, sizeof name, "sweep/%s/summary.csv", values[i][0]);
        snprintf(text, sizeof text, "\"metric\",\"value\"\n\"original_best\",%s\n\"pdiff_best\",0.85\n"
                                    "\"pdiff_mean\",0.8\n\"novelty\",0.5\n", values[i][1]);
        write_text(wpath(name), text);
    }
    pd_error err = {0};
    pd_status st;
    char *s = capture(sweep_report, wpath("sweep"), PD_REPORT_TEXT, &st, &err);
    const char *want = "Sweep over k: one run per value; accuracies in %\n"
                       "  kind      metric       10     2,0\n"
                       "  ---------------------------------\n"
                       "  original  best      90.00   80.00\n"
                       "  pdiff     best      85.00   85.00\n"
                       "  pdiff     mean      80.00   80.00\n"
                       "  -         novelty  0.5000  0.5000\n\n";
    tap_ok(st == PD_OK && strcmp(s, want) == 0, "sweep_report text: one column per value (%s)", err.msg);
    if (st == PD_OK && strcmp(s, want) != 0)
        tap_diag("got:\n%s", s);
    free(s);
    s = capture(sweep_report, wpath("sweep"), PD_REPORT_CSV, &st, &err);
    want = "\"table\",\"key\",\"value\",\"seed\",\"kind\",\"metric\",\"n\",\"mean\",\"sd\",\"ci95\"\n"
           "\"sweep\",\"k\",\"10\",\"7\",\"original\",\"best\",1,0.9,,\n"
           "\"sweep\",\"k\",\"10\",\"\",\"original\",\"best\",1,0.9,,\n"
           "\"sweep\",\"k\",\"2,0\",\"7\",\"original\",\"best\",1,0.8,,\n"
           "\"sweep\",\"k\",\"2,0\",\"\",\"original\",\"best\",1,0.8,,\n"
           "\"sweep\",\"k\",\"10\",\"7\",\"pdiff\",\"best\",1,0.85,,\n"
           "\"sweep\",\"k\",\"10\",\"\",\"pdiff\",\"best\",1,0.85,,\n"
           "\"sweep\",\"k\",\"2,0\",\"7\",\"pdiff\",\"best\",1,0.85,,\n"
           "\"sweep\",\"k\",\"2,0\",\"\",\"pdiff\",\"best\",1,0.85,,\n"
           "\"sweep\",\"k\",\"10\",\"7\",\"pdiff\",\"mean\",1,0.8,,\n"
           "\"sweep\",\"k\",\"10\",\"\",\"pdiff\",\"mean\",1,0.8,,\n"
           "\"sweep\",\"k\",\"2,0\",\"7\",\"pdiff\",\"mean\",1,0.8,,\n"
           "\"sweep\",\"k\",\"2,0\",\"\",\"pdiff\",\"mean\",1,0.8,,\n"
           "\"sweep\",\"k\",\"10\",\"7\",\"\",\"novelty\",1,0.5,,\n"
           "\"sweep\",\"k\",\"10\",\"\",\"\",\"novelty\",1,0.5,,\n"
           "\"sweep\",\"k\",\"2,0\",\"7\",\"\",\"novelty\",1,0.5,,\n"
           "\"sweep\",\"k\",\"2,0\",\"\",\"\",\"novelty\",1,0.5,,\n";
    tap_ok(st == PD_OK && strcmp(s, want) == 0, "sweep_report CSV: tidy, a row per run (its seed) and per value (seed empty), fractions, a comma quoted");
    if (st == PD_OK && strcmp(s, want) != 0)
        tap_diag("got:\n%s", s);
    free(s);
    err = (pd_error){0};
    s = capture(sweep_report, wpath("nosweep"), PD_REPORT_TEXT, &st, &err);
    tap_ok(st != PD_OK && strstr(err.msg, "nosweep/sweep_index.csv"),
           "sweep_report of a missing sweep names the index (%s)", err.msg);
    free(s);
}

int main(void)
{
    nftw(tap_workdir("test_io"), remove_entry, 16, FTW_DEPTH | FTW_PHYS); /* files of an earlier run */
    snprintf(work, sizeof work, "%s", tap_workdir("test_io"));
    test_atomic();
    test_zoo_round_trip();
    test_zoo_deterministic();
    test_zoo_refused();
    test_zoo_csv();
    test_similarity();
    test_report_table();
    test_report_latex();
    test_report_session();
    test_sweep();
    return tap_done();
}
