/* test_data.c — IDX and CIFAR loaders, data set checks, batches and shuffles on generated files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"
#include "idx.h"
#include "tap.h"

static char wd[4096];

static const char *path_of(const char *sub, const char *name)
{
    static char buf[4][4200 + 2048];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s%s%s", wd, sub, name ? "/" : "", name ? name : "");
    return buf[k];
}

static void write_bytes(const char *path, const uint8_t *buf, size_t len, int gz)
{
    char other[4300];
    size_t pl = strlen(path);
    if (gz) /* remove the other variant left by an earlier run */
        snprintf(other, sizeof other, "%.*s", (int)(pl - 3), path);
    else
        snprintf(other, sizeof other, "%s.gz", path);
    unlink(other);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || (len && gzwrite(g, buf, (unsigned)len) != (int)len) || gzclose(g) != Z_OK)
            tap_diag("cannot write %s", path);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
            tap_diag("cannot write %s", path);
    }
}

/* ------------------------------------------------------------------------------------------ IDX folders */

static uint8_t pix(int split, int32_t i, int64_t j)
{
    return (uint8_t)(i * 37 + j * 11 + 5 + split * 100);
}

typedef struct {
    int32_t ntr, nte, h, w, th, tw; /* th, tw: test image size (0: as train) */
    int32_t nlab;                   /* label of image i is i % nlab */
    int gz;                         /* bit f set: file f gzip-compressed (train img, train lbl, test img, test lbl) */
    uint32_t magic[4];              /* 0: the right magic */
    int32_t cut[4], extra[4];       /* payload bytes left off / appended */
    int32_t lbl_delta;              /* the train labels file holds this many more labels */
    int32_t bad_train, bad_test;    /* > 0: label [1] of the split set to this */
    int zero_dim;                   /* train images header says height 0 */
} idx_set;

static const char *const idx_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static void write_idx(const char *sub, int f, const idx_set *o, const uint32_t *dims, int ndim,
                      const uint8_t *payload, size_t plen)
{
    uint32_t magic = o->magic[f] ? o->magic[f] : 0x0800u | (uint32_t)ndim;
    int hdims = (int)(magic & 0xff) <= 3 ? (int)(magic & 0xff) : 3;
    size_t len = plen - (size_t)o->cut[f] + (size_t)o->extra[f];
    uint8_t *buf = calloc(4 + 4 * (size_t)hdims + len + 1, 1);
    for (int b = 0; b < 4; b++)
        buf[b] = (uint8_t)(magic >> (24 - 8 * b));
    for (int d = 0; d < hdims; d++)
        for (int b = 0; b < 4; b++)
            buf[4 + 4 * d + b] = (uint8_t)((d < ndim ? dims[d] : 1) >> (24 - 8 * b));
    size_t hl = 4 + 4 * (size_t)hdims, keep = plen - (size_t)o->cut[f];
    memcpy(buf + hl, payload, keep);
    memset(buf + hl + keep, 0xab, (size_t)o->extra[f]);
    char name[64];
    snprintf(name, sizeof name, "%s%s", idx_names[f], (o->gz >> f) & 1 ? ".gz" : "");
    write_bytes(path_of(sub, name), buf, hl + len, (o->gz >> f) & 1);
    free(buf);
}

static void gen_idx(const char *sub, const idx_set *o)
{
    mkdir(path_of(sub, NULL), 0777);
    for (int s = 0; s < 2; s++) {
        int32_t n = s ? o->nte : o->ntr, h = s && o->th ? o->th : o->h, w = s && o->tw ? o->tw : o->w;
        uint8_t *px = malloc((size_t)n * h * w), *lb = malloc((size_t)n + 16);
        for (int32_t i = 0; i < n; i++)
            for (int64_t j = 0; j < (int64_t)h * w; j++)
                px[(size_t)i * h * w + j] = pix(s, i, j);
        int32_t nl = n + (s ? 0 : o->lbl_delta);
        for (int32_t i = 0; i < nl; i++)
            lb[i] = (uint8_t)(i % o->nlab);
        if (s == 0 && o->bad_train)
            lb[1] = (uint8_t)o->bad_train;
        if (s == 1 && o->bad_test)
            lb[1] = (uint8_t)o->bad_test;
        uint32_t di[3] = {(uint32_t)n, (uint32_t)h, (uint32_t)w}, dl[1] = {(uint32_t)nl};
        if (s == 0 && o->zero_dim)
            di[1] = 0;
        write_idx(sub, 2 * s, o, di, 3, px, di[1] ? (size_t)n * h * w : 0);
        write_idx(sub, 2 * s + 1, o, dl, 1, lb, (size_t)nl);
        free(px);
        free(lb);
    }
}

static idx_set idx_good(void)
{
    return (idx_set){.ntr = 12, .nte = 5, .h = 5, .w = 7, .nlab = 4};
}

/* Pixels and labels of a split as gen_idx wrote them. */
static int idx_split_matches(const pd_split *sp, int s, int32_t n, int32_t h, int32_t w, int32_t nlab)
{
    if (sp->n != n || sp->c != 1 || sp->h != h || sp->w != w)
        return 0;
    for (int32_t i = 0; i < n; i++) {
        if (sp->labels[i] != i % nlab)
            return 0;
        for (int64_t j = 0; j < (int64_t)h * w; j++)
            if (sp->pixels[(size_t)i * h * w + j] != pix(s, i, j))
                return 0;
    }
    return 1;
}

/* Population mean/std of the training pixels gen_idx writes, over 255. */
static void idx_expected_norm(const idx_set *o, double *mean, double *sd)
{
    double sum = 0, sq = 0, cnt = (double)o->ntr * o->h * o->w;
    for (int32_t i = 0; i < o->ntr; i++)
        for (int64_t j = 0; j < (int64_t)o->h * o->w; j++)
            sum += pix(0, i, j) / 255.0, sq += (pix(0, i, j) / 255.0) * (pix(0, i, j) / 255.0);
    *mean = sum / cnt;
    *sd = sqrt(sq / cnt - *mean * *mean);
}

/* ------------------------------------------------------------------------------------------ CIFAR folders */

static uint8_t cpix(int32_t g, int64_t j)
{
    return (uint8_t)(g * 13 + j * 7 + 1);
}

static int32_t clabel(int32_t g, int32_t classes)
{
    return classes == 10 ? g % 10 : (g * 7) % 100;
}

/* CIFAR-10: data_batch_1..5 with 2 records each + test_batch with 3; CIFAR-100: train.bin 4, test.bin 2.
 * Global record numbers g run across the training files, then the test file starts again at 0. */
static void gen_cifar(const char *sub, int32_t classes, int32_t bad_label, int32_t extra)
{
    mkdir(path_of(sub, NULL), 0777);
    int64_t rec = classes == 10 ? 3073 : 3074;
    int nfiles = classes == 10 ? 6 : 2;
    int32_t g = 0;
    for (int f = 0; f < nfiles; f++) {
        int test = f == nfiles - 1;
        int32_t count = classes == 10 ? (test ? 3 : 2) : (test ? 2 : 4);
        if (test)
            g = 0;
        uint8_t *buf = calloc((size_t)(count * rec + extra), 1);
        for (int32_t r = 0; r < count; r++, g++) {
            uint8_t *p = buf + r * rec;
            if (classes == 100)
                *p++ = (uint8_t)(g % 20);
            *p++ = (uint8_t)(f == 0 && r == 1 && bad_label ? bad_label : clabel(g, classes));
            for (int64_t j = 0; j < 3072; j++)
                p[j] = cpix(g, j);
        }
        char name[32];
        if (classes == 10)
            snprintf(name, sizeof name, test ? "test_batch.bin" : "data_batch_%d.bin", f + 1);
        else
            snprintf(name, sizeof name, test ? "test.bin" : "train.bin");
        write_bytes(path_of(sub, name), buf, (size_t)(count * rec + (f == 0 ? extra : 0)), 0);
        free(buf);
    }
}

static int cifar_split_matches(const pd_split *sp, int32_t n, int32_t classes)
{
    if (sp->n != n || sp->c != 3 || sp->h != 32 || sp->w != 32)
        return 0;
    for (int32_t g = 0; g < n; g++) {
        if (sp->labels[g] != clabel(g, classes))
            return 0;
        for (int64_t j = 0; j < 3072; j++)
            if (sp->pixels[(size_t)g * 3072 + j] != cpix(g, j))
                return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------------------------ checks */

/* A load that must fail: status, message starting with `file` (when given), containing k1 and k2, one line,
 * and nothing left allocated in the struct. */
static void expect_fail(const char *what, const char *spec, const char *data_dir, pd_status want, const char *file,
                        const char *k1, const char *k2)
{
    pd_dataset ds;
    pd_error err = {PD_OK, ""};
    pd_status st = dataset_load(&ds, spec, data_dir, &err);
    int ok = st == want && err.status == want && (!file || strncmp(err.msg, file, strlen(file)) == 0) &&
             (!k1 || strstr(err.msg, k1)) && (!k2 || strstr(err.msg, k2)) && !strchr(err.msg, '\n') &&
             !ds.train.pixels && !ds.test.pixels && !ds.train.labels && !ds.test.labels;
    tap_ok(ok, "%s refused (%s): %s", what, error_status_string(st), err.msg);
    dataset_free(&ds);
}

static pd_status load(pd_dataset *ds, const char *spec, const char *data_dir, pd_error *err)
{
    pd_status st = dataset_load(ds, spec, data_dir, err);
    if (st != PD_OK)
        tap_diag("load %s: %s", spec, err->msg);
    return st;
}

static void test_idx_good(void)
{
    idx_set o = idx_good();
    gen_idx("idx_plain", &o);
    o.gz = 0xf;
    gen_idx("idx_gz", &o);
    o.gz = 0x5; /* images compressed, labels plain */
    gen_idx("idx_mixed", &o);
    double mean, sd;
    idx_expected_norm(&o, &mean, &sd);

    const char *subs[3] = {"idx_plain", "idx_gz", "idx_mixed"};
    for (int k = 0; k < 3; k++) {
        char spec[4300];
        snprintf(spec, sizeof spec, "idx:%s", path_of(subs[k], NULL));
        pd_dataset ds;
        pd_error err;
        int ok = load(&ds, spec, "", &err) == PD_OK;
        tap_ok(ok && ds.classes == 4 && strcmp(ds.spec, spec) == 0 && strcmp(ds.dir, spec + 4) == 0,
               "%s: loads, 4 classes from the training labels, dir %s", subs[k], ds.dir);
        tap_ok(ok && idx_split_matches(&ds.train, 0, 12, 5, 7, 4) && idx_split_matches(&ds.test, 1, 5, 5, 7, 4),
               "%s: 5x7 images, shapes, pixels and labels of both splits", subs[k]);
        tap_ok(ok && fabs(ds.train.mean[0] - mean) < 1e-6 && fabs(ds.train.std[0] - sd) < 1e-6 &&
                   ds.test.mean[0] == ds.train.mean[0] && ds.test.std[0] == ds.train.std[0],
               "%s: mean %.6f std %.6f computed from the training split (want %.6f %.6f), test uses them",
               subs[k], ok ? ds.train.mean[0] : 0, ok ? ds.train.std[0] : 0, mean, sd);
        if (ok && k == 0) { /* a batch by hand */
            int32_t idx[3] = {3, 0, 11}, y[3];
            float x[3 * 35], want[3 * 35];
            dataset_batch(&ds.train, idx, 3, x, y);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 35; j++)
                    want[i * 35 + j] = (float)((pix(0, idx[i], j) / 255.0 - ds.train.mean[0]) / ds.train.std[0]);
            tap_close("dataset_batch idx: x = (b/255 - mean)/std", x, want, 3 * 35, 1e-6, 1e-6);
            tap_ok(y[0] == 3 && y[1] == 0 && y[2] == 3, "dataset_batch labels %d %d %d", y[0], y[1], y[2]);
            float lut[3][256];
            dataset_norm_lut(&ds.train, lut);
            int same = 1;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 35; j++)
                    same &= x[i * 35 + j] == lut[0][pix(0, idx[i], j)];
            tap_ok(same, "dataset_norm_lut: the table dataset_batch normalises with, bit for bit");
        }
        dataset_free(&ds);
        dataset_free(&ds);
    }
    tap_ok(1, "dataset_free twice is harmless");

    /* A named IDX set in another folder: standard constants, 10 classes. */
    o = idx_good();
    o.nlab = 10;
    gen_idx("mnist_like", &o);
    pd_dataset ds;
    pd_error err;
    int ok = load(&ds, "mnist", path_of("mnist_like", NULL), &err) == PD_OK;
    tap_ok(ok && ds.classes == 10 && ds.train.mean[0] == 0.1307f && ds.train.std[0] == 0.3081f &&
               ds.test.mean[0] == 0.1307f && ds.test.std[0] == 0.3081f && idx_split_matches(&ds.train, 0, 12, 5, 7, 10),
           "mnist with data_dir: 10 classes, mean 0.1307 std 0.3081 on both splits");
    dataset_free(&ds);

    /* The brief's example message, through idx_read itself. */
    pd_idx x;
    pd_status st = idx_read(path_of("idx_plain", idx_names[1]), 3, &x, &err);
    tap_ok(st == PD_ERR_DATA && x.data == NULL &&
               strstr(err.msg, "wrong magic 0x00000801, expected an image file (0x00000803)"),
           "idx_read of a label file as images: %s", err.msg);
    st = idx_read(path_of("idx_gz", "t10k-labels-idx1-ubyte.gz"), 1, &x, &err);
    tap_ok(st == PD_OK && x.ndim == 1 && x.dims[0] == 5 && x.data && x.data[4] == 0, "idx_read of a .gz label file");
    idx_free(&x);
    idx_free(&x);
}

static void test_idx_bad(void)
{
    char spec[4300];
    idx_set o;
#define IDX_CASE(sub, what, k1, k2, file, ...)                                                     \
    do {                                                                                          \
        o = idx_good();                                                                           \
        __VA_ARGS__;                                                                              \
        gen_idx(sub, &o);                                                                         \
        snprintf(spec, sizeof spec, "idx:%s", path_of(sub, NULL));                                \
        expect_fail(what, spec, "", PD_ERR_DATA, path_of(sub, file), k1, k2);                     \
    } while (0)
    IDX_CASE("trunc", "truncated image file", "truncated: 420 bytes of pixels expected", "100 found",
             idx_names[0], o.cut[0] = 320);
    IDX_CASE("trunc_gz", "truncated .gz image file", "truncated: 175 bytes of pixels expected", "170 found",
             "t10k-images-idx3-ubyte.gz", o.gz = 0xf, o.cut[2] = 5);
    IDX_CASE("magic", "wrong magic", "wrong magic 0x00000d03", "image file (0x00000803)", idx_names[0],
             o.magic[0] = 0x0d03);
    IDX_CASE("ndim", "wrong number of dimensions", "wrong magic 0x00000802", "2 dimensions", idx_names[0],
             o.magic[0] = 0x0802);
    IDX_CASE("ndim_lbl", "labels with 3 dimensions", "expected a label file", "3 dimensions", idx_names[3],
             o.magic[3] = 0x0803);
    IDX_CASE("zero", "zero dimension", "zero dimension", "12 x 0 x 7", idx_names[0], o.zero_dim = 1);
    IDX_CASE("count", "image/label count mismatch", "12 images", path_of("count", idx_names[1]), idx_names[0],
             o.lbl_delta = -1);
    IDX_CASE("trail", "trailing garbage", "5 unexpected bytes after the data", NULL, idx_names[1], o.extra[1] = 5);
    IDX_CASE("trail_gz", "trailing garbage in .gz", "3 unexpected bytes after the data", NULL, idx_names[2],
             o.gz = 0x4, o.extra[2] = 3);
    IDX_CASE("size", "test image size differs", "5x7", "7x5", idx_names[2], o.th = 7, o.tw = 5);
    IDX_CASE("testlabel", "test label beyond the training labels", "label 9 at index 1 out of range", "4 classes",
             idx_names[3], o.bad_test = 9);
    o = idx_good();
    gen_idx("missing", &o);
    unlink(path_of("missing", idx_names[3]));
    snprintf(spec, sizeof spec, "idx:%s", path_of("missing", NULL));
    expect_fail("missing label file", spec, "", PD_ERR_DATA, path_of("missing", idx_names[3]), "not found", ".gz");

    /* Named sets: labels beyond 10 classes, the fashion-mnist hint. */
    o = idx_good();
    o.nlab = 10;
    o.bad_train = 10;
    gen_idx("label10", &o);
    expect_fail("label out of range", "fashion-mnist", path_of("label10", NULL), PD_ERR_DATA,
                path_of("label10", idx_names[1]), "label 10 at index 1 out of range", "10 classes");
    expect_fail("missing folder", "fashion-mnist", path_of("nowhere", NULL), PD_ERR_DATA, path_of("nowhere", NULL),
                "folder not found", "install the Debian package dataset-fashion-mnist");
    snprintf(spec, sizeof spec, "idx:%s", path_of("nowhere", NULL));
    expect_fail("missing idx: folder", spec, "", PD_ERR_DATA, path_of("nowhere", NULL), "folder not found", NULL);

    /* A gzip stream cut in the middle. */
    o = idx_good();
    o.gz = 0xf;
    o.ntr = 400;
    gen_idx("cut_gz", &o);
    const char *p = path_of("cut_gz", "train-images-idx3-ubyte.gz");
    struct stat sb;
    if (stat(p, &sb) == 0 && truncate(p, sb.st_size / 2) != 0)
        tap_diag("cannot truncate %s", p);
    snprintf(spec, sizeof spec, "idx:%s", path_of("cut_gz", NULL));
    expect_fail("gzip stream cut short", spec, "", PD_ERR_DATA, p, "truncated", "compressed stream ends early");

    /* An absurd header on a tiny file. */
    o = idx_good();
    o.magic[0] = 0;
    gen_idx("absurd", &o);
    uint8_t head[16] = {0, 0, 8, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}; /* 65536^3 */
    write_bytes(path_of("absurd", idx_names[0]), head, sizeof head, 0);
    snprintf(spec, sizeof spec, "idx:%s", path_of("absurd", NULL));
    expect_fail("absurd dimensions", spec, "", PD_ERR_DATA, path_of("absurd", idx_names[0]), "absurd", "2^31");

    expect_fail("unknown spec", "foo", "", PD_ERR_CONFIG, NULL,
                "dataset: unknown data set 'foo' (fashion-mnist, mnist, cifar10, cifar100, idx:DIR, cifar:DIR)",
                NULL);
    expect_fail("empty idx: folder", "idx:", "", PD_ERR_CONFIG, NULL, "unknown data set 'idx:'", NULL);
    expect_fail("empty spec", "", "", PD_ERR_CONFIG, NULL, "unknown data set ''", NULL);
#undef IDX_CASE
}

static void test_cifar(void)
{
    gen_cifar("c10", 10, 0, 0);
    gen_cifar("c100", 100, 0, 0);
    mkdir(path_of("c10nest", NULL), 0777);
    gen_cifar("c10nest/cifar-10-batches-bin", 10, 0, 0);

    pd_dataset ds;
    pd_error err;
    char spec[4300];
    int ok = load(&ds, "cifar10", path_of("c10", NULL), &err) == PD_OK;
    tap_ok(ok && ds.classes == 10 && cifar_split_matches(&ds.train, 10, 10) && cifar_split_matches(&ds.test, 3, 10),
           "cifar10: 10 + 3 images of 3x32x32 across six batch files, labels and pixels");
    tap_ok(ok && ds.train.mean[1] == 0.4822f && ds.train.std[2] == 0.2616f && ds.test.mean[0] == 0.4914f,
           "cifar10: standard constants");
    if (ok) {
        int32_t idx[2] = {7, 2}, y[2];
        float *x = malloc(2 * 3072 * sizeof *x), *want = malloc(2 * 3072 * sizeof *want);
        dataset_batch(&ds.train, idx, 2, x, y);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3072; j++)
                want[i * 3072 + j] =
                    (float)((cpix(idx[i], j) / 255.0 - ds.train.mean[j / 1024]) / ds.train.std[j / 1024]);
        tap_close("dataset_batch cifar10: per-channel constants", x, want, 2 * 3072, 1e-6, 1e-6);
        tap_ok(y[0] == 7 && y[1] == 2, "dataset_batch cifar10 labels");
        free(x);
        free(want);
    }
    dataset_free(&ds);

    snprintf(spec, sizeof spec, "cifar:%s", path_of("c10nest", NULL));
    ok = load(&ds, spec, "", &err) == PD_OK;
    double m = 0;
    for (int32_t g = 0; g < 10; g++)
        for (int j = 1024; j < 2048; j++)
            m += cpix(g, j) / 255.0;
    m /= 10 * 1024;
    tap_ok(ok && ds.classes == 10 && strstr(ds.dir, "c10nest/cifar-10-batches-bin") &&
               cifar_split_matches(&ds.train, 10, 10) && fabs(ds.train.mean[1] - m) < 1e-6,
           "cifar:DIR one level down: dir %s, green mean %.6f computed (want %.6f)", ds.dir, ok ? ds.train.mean[1] : 0,
           m);
    dataset_free(&ds);

    snprintf(spec, sizeof spec, "cifar:%s", path_of("c100", NULL));
    ok = load(&ds, spec, "", &err) == PD_OK;
    tap_ok(ok && ds.classes == 100 && cifar_split_matches(&ds.train, 4, 100) && cifar_split_matches(&ds.test, 2, 100),
           "cifar:DIR with CIFAR-100: 100 classes, fine labels, 4 + 2 images");
    dataset_free(&ds);
    ok = load(&ds, "cifar100", path_of("c100", NULL), &err) == PD_OK;
    tap_ok(ok && ds.train.mean[0] == 0.5071f && ds.train.std[1] == 0.2564f, "cifar100: standard constants");
    dataset_free(&ds);

    gen_cifar("c10len", 10, 0, 100);
    expect_fail("CIFAR-10 length not whole records", "cifar10", path_of("c10len", NULL), PD_ERR_DATA,
                path_of("c10len", "data_batch_1.bin"), "not a whole number of 3073-byte", "100 bytes over");
    gen_cifar("c100len", 100, 0, 7);
    snprintf(spec, sizeof spec, "cifar:%s", path_of("c100len", NULL));
    expect_fail("CIFAR-100 length not whole records", spec, "", PD_ERR_DATA, path_of("c100len", "train.bin"),
                "not a whole number of 3074-byte", NULL);
    gen_cifar("c10lab", 10, 10, 0);
    expect_fail("CIFAR-10 label out of range", "cifar10", path_of("c10lab", NULL), PD_ERR_DATA,
                path_of("c10lab", "data_batch_1.bin"), "record 1: label 10 out of range", NULL);
    gen_cifar("c100lab", 100, 100, 0);
    expect_fail("CIFAR-100 fine label out of range", "cifar100", path_of("c100lab", NULL), PD_ERR_DATA,
                path_of("c100lab", "train.bin"), "label 100 out of range", NULL);
    expect_fail("cifar100 named on a CIFAR-10 folder", "cifar100", path_of("c10", NULL), PD_ERR_DATA,
                path_of("c10", NULL), "no CIFAR-100 batches", NULL);
    unlink(path_of("c10len", "data_batch_4.bin"));
    expect_fail("missing CIFAR batch", "cifar10", path_of("c10len", NULL), PD_ERR_DATA,
                path_of("c10len", "data_batch_4.bin"), "not found", NULL);
    snprintf(spec, sizeof spec, "cifar:%s", path_of("idx_plain", NULL));
    expect_fail("cifar: on an IDX folder", spec, "", PD_ERR_DATA, path_of("idx_plain", NULL), "no CIFAR-10", NULL);

    char dir[4300];
    pd_status st = dataset_locate(spec + 6, "", dir, sizeof dir, &err); /* "idx_plain/..." is not a spec */
    tap_ok(st == PD_ERR_CONFIG, "dataset_locate: a bare path is not a spec");
    st = dataset_locate("cifar10", path_of("c10nest", NULL), dir, sizeof dir, &err);
    tap_ok(st == PD_OK && strcmp(dir, path_of("c10nest", "cifar-10-batches-bin")) == 0, "dataset_locate: %s", dir);
    st = dataset_locate("fashion-mnist", path_of("nowhere", NULL), dir, sizeof dir, &err);
    tap_ok(st == PD_ERR_DATA && strstr(err.msg, "dataset-fashion-mnist"), "dataset_locate missing: %s", err.msg);
}

static void test_shuffle(void)
{
    enum { N = 1000 };
    static int32_t a[N], b[N], c[N], d[N];
    int seen[N] = {0}, perm = 1, moved = 0;
    dataset_shuffle(a, N, 42, 3);
    for (int i = 0; i < N; i++) {
        if (a[i] < 0 || a[i] >= N || seen[a[i]]++)
            perm = 0;
        moved += a[i] != i;
    }
    tap_ok(perm && moved > N / 2, "dataset_shuffle is a permutation (%d of %d moved)", moved, N);
    dataset_shuffle(b, N, 42, 3);
    dataset_shuffle(c, N, 42, 4);
    dataset_shuffle(d, N, 43, 3);
    tap_ok(memcmp(a, b, sizeof a) == 0 && memcmp(a, c, sizeof a) != 0 && memcmp(a, d, sizeof a) != 0,
           "dataset_shuffle: same (seed, epoch) repeats; another epoch or seed gives another permutation");
    dataset_shuffle(a, 1, 1, 1);
    dataset_shuffle(NULL, 0, 1, 1);
    tap_ok(a[0] == 0, "dataset_shuffle: n = 1 and n = 0");
}

static void test_fashion(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        tap_diag("%s not installed: skipping the real Fashion-MNIST checks", dir);
        return;
    }
    pd_dataset ds;
    pd_error err;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = load(&ds, "fashion-mnist", "", &err) == PD_OK;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tap_ok(ok && ds.train.n == 60000 && ds.test.n == 10000 && ds.train.h == 28 && ds.train.w == 28 &&
               ds.train.c == 1 && ds.test.h == 28 && ds.classes == 10,
           "fashion-mnist: 60000 + 10000 images of 28x28, 10 classes, loaded in %.3f s",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    int32_t cnt[2][10] = {{0}};
    int balanced = ok;
    for (int s = 0; ok && s < 2; s++) {
        const pd_split *sp = s ? &ds.test : &ds.train;
        for (int32_t i = 0; i < sp->n; i++)
            cnt[s][sp->labels[i]]++;
        for (int k = 0; k < 10; k++)
            balanced &= cnt[s][k] == (s ? 1000 : 6000);
    }
    tap_ok(balanced, "fashion-mnist: each class exactly 6000 / 1000 times");
    dataset_free(&ds);
    ok = load(&ds, "idx:/usr/share/datasets/fashion-mnist", "", &err) == PD_OK;
    tap_ok(ok && fabs(ds.train.mean[0] - 0.2860) < 5e-4 && fabs(ds.train.std[0] - 0.3530) < 5e-4,
           "idx: on Fashion-MNIST computes mean %.4f std %.4f (standard 0.2860 0.3530)", ok ? ds.train.mean[0] : 0,
           ok ? ds.train.std[0] : 0);
    dataset_free(&ds);
}

int main(void)
{
    snprintf(wd, sizeof wd, "%s", tap_workdir("data"));
    test_idx_good();
    test_idx_bad();
    test_cifar();
    test_shuffle();
    test_fashion();
    return tap_done();
}
