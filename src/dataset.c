/* dataset.c — named and folder data sets, cross-file checks, normalisation, batches, shuffles (see dataset.h).
 *
 * A spec is turned into a plan (format, folder, classes, constants), the plan into the list of files
 * (dataset_locate stops there), and the files into two splits. Every failure frees what was already read.
 */
#include "dataset.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cifar.h"
#include "idx.h"
#include "path.h"
#include "rng.h"

#define DS_MAX_FILES 6

typedef enum { DS_IDX, DS_CIFAR } ds_format;

typedef struct {
    const char *name;
    ds_format format;
    int32_t classes;
    const char *dir;
    float mean[3], std[3];
    const char *hint; /* what to do when the files are missing (CIFAR: NULL, ds_missing says what to get) */
    const char *files, *archive, *sub; /* CIFAR: the files, the archive that holds them, its folder */
} ds_named;

static const ds_named ds_named_sets[] = {
    {"fashion-mnist", DS_IDX, 10, "/usr/share/datasets/fashion-mnist", {0.2860f, 0, 0}, {0.3530f, 1, 1},
     "install the Debian package dataset-fashion-mnist", NULL, NULL, NULL},
    {"mnist", DS_IDX, 10, "/usr/share/datasets/mnist", {0.1307f, 0, 0}, {0.3081f, 1, 1},
     "set data_dir to the folder that holds the IDX files, or use idx:DIR", NULL, NULL, NULL},
    {"cifar10", DS_CIFAR, 10, "/usr/share/datasets/cifar10", {0.4914f, 0.4822f, 0.4465f},
     {0.2470f, 0.2435f, 0.2616f}, NULL, "data_batch_1.bin .. data_batch_5.bin and test_batch.bin",
     "cifar-10-binary.tar.gz", "cifar-10-batches-bin"},
    {"cifar100", DS_CIFAR, 100, "/usr/share/datasets/cifar100", {0.5071f, 0.4865f, 0.4409f},
     {0.2673f, 0.2564f, 0.2762f}, NULL, "train.bin and test.bin", "cifar-100-binary.tar.gz", "cifar-100-binary"},
};
#define DS_NAMED_COUNT ((int)(sizeof ds_named_sets / sizeof ds_named_sets[0]))

static const char *const ds_idx_files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
static const char *const ds_cifar10_files[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                                "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
static const char *const ds_cifar100_files[2] = {"train.bin", "test.bin"};

/* What a spec resolves to, and after ds_locate the files themselves. */
typedef struct {
    ds_format format;
    const ds_named *named; /* NULL for idx:/cifar: folders */
    int32_t classes;       /* 0 = from the data (idx:DIR) or from the files found (cifar:DIR) */
    char base[PD_PATH_MAX]; /* the folder named by the spec or data_dir */
    char dir[PD_PATH_MAX];  /* the folder the files are in */
    int nfiles;             /* the last one is the test split's (IDX: images, labels, images, labels) */
    char files[DS_MAX_FILES][PD_PATH_MAX];
} ds_plan;

static pd_status ds_plan_init(ds_plan *p, const char *spec, const char *data_dir, pd_error *err)
{
    memset(p, 0, sizeof *p);
    const char *dir = NULL;
    for (int i = 0; i < DS_NAMED_COUNT; i++)
        if (strcmp(spec, ds_named_sets[i].name) == 0) {
            p->named = &ds_named_sets[i];
            p->format = p->named->format;
            p->classes = p->named->classes;
            dir = data_dir && *data_dir ? data_dir : p->named->dir;
        }
    if (!p->named) {
        if (strncmp(spec, "idx:", 4) == 0 && spec[4])
            p->format = DS_IDX, dir = spec + 4;
        else if (strncmp(spec, "cifar:", 6) == 0 && spec[6])
            p->format = DS_CIFAR, dir = spec + 6;
        else
            return error_set(err, PD_ERR_CONFIG,
                             "dataset: unknown data set '%s' (fashion-mnist, mnist, cifar10, cifar100, idx:DIR, "
                             "cifar:DIR)", spec);
    }
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len >= sizeof ((pd_dataset *)0)->dir - 32) /* room for a subfolder; fits pd_dataset.dir */
        return error_set(err, PD_ERR_CONFIG, "dataset: folder name too long (%zu characters)", len);
    memcpy(p->base, dir, len);
    p->base[len] = '\0';
    return PD_OK;
}

static int ds_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

static int ds_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* A missing folder or file: the message, then the named set's hint (for CIFAR: which files to put where). */
__attribute__((format(printf, 3, 4))) static pd_status ds_missing(const ds_plan *p, pd_error *err, const char *fmt,
                                                                  ...)
{
    char what[PD_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->named && p->named->files) /* CIFAR is not a Debian package: say what to put where */
        return error_set(err, PD_ERR_DATA, "%s; %s needs %s in %s or %s/%s/: unpack the '%s binary version' (%s from "
                         "https://www.cs.toronto.edu/~kriz/cifar.html) into %s, or set data_dir to the folder that "
                         "holds them", what, p->classes == 100 ? "CIFAR-100" : "CIFAR-10", p->named->files, p->base,
                         p->base, p->named->sub, p->classes == 100 ? "CIFAR-100" : "CIFAR-10", p->named->archive,
                         p->base);
    if (p->named)
        return error_set(err, PD_ERR_DATA, "%s; %s", what, p->named->hint);
    return error_set(err, PD_ERR_DATA, "%s", what);
}

static pd_status ds_locate_idx(ds_plan *p, pd_error *err)
{
    PD_TRY(path_format(p->dir, sizeof p->dir, err, "%s", p->base));
    for (int i = 0; i < 4; i++) {
        char gz[PD_PATH_MAX];
        PD_TRY(path_join(p->files[i], sizeof p->files[i], p->dir, ds_idx_files[i], err));
        if (ds_is_file(p->files[i]))
            continue;
        PD_TRY(path_format(gz, sizeof gz, err, "%s.gz", p->files[i]));
        if (!ds_is_file(gz))
            return ds_missing(p, err, "%s: not found (nor %s.gz)", p->files[i], ds_idx_files[i]);
        PD_TRY(path_format(p->files[i], sizeof p->files[i], err, "%s", gz));
    }
    p->nfiles = 4;
    return PD_OK;
}

/* Does cand hold a full CIFAR-10 (classes 10) or CIFAR-100 layout? 1 yes, 0 no trace, -1 error (partial). */
static int ds_try_cifar(ds_plan *p, const char *cand, int32_t classes, pd_error *err)
{
    const char *const *names = classes == 10 ? ds_cifar10_files : ds_cifar100_files;
    int count = classes == 10 ? 6 : 2;
    char path[PD_PATH_MAX];
    if (path_join(path, sizeof path, cand, names[0], err) != PD_OK)
        return -1;
    if (!ds_is_file(path))
        return 0;
    for (int i = 0; i < count; i++) {
        if (path_join(p->files[i], sizeof p->files[i], cand, names[i], err) != PD_OK)
            return -1;
        if (!ds_is_file(p->files[i])) {
            ds_missing(p, err, "%s: not found%s", p->files[i],
                       classes == 10 ? " (CIFAR-10 needs data_batch_1..5.bin and test_batch.bin)"
                                     : " (CIFAR-100 needs train.bin and test.bin)");
            return -1;
        }
    }
    if (path_format(p->dir, sizeof p->dir, err, "%s", cand) != PD_OK)
        return -1;
    p->classes = classes;
    p->nfiles = count;
    return 1;
}

static pd_status ds_locate_cifar(ds_plan *p, pd_error *err)
{
    static const char *const subs[3] = {NULL, "cifar-10-batches-bin", "cifar-100-binary"};
    int32_t want = p->classes;
    for (int s = 0; s < 3; s++) {
        char cand[PD_PATH_MAX];
        if (subs[s])
            PD_TRY(path_join(cand, sizeof cand, p->base, subs[s], err));
        else
            PD_TRY(path_format(cand, sizeof cand, err, "%s", p->base));
        for (int32_t classes = 10; classes <= 100; classes += 90) {
            if (want && want != classes)
                continue;
            int r = ds_try_cifar(p, cand, classes, err);
            if (r < 0)
                return err ? err->status : PD_ERR_DATA;
            if (r > 0)
                return PD_OK;
        }
    }
    if (p->named) /* ds_missing says which files, where */
        return ds_missing(p, err, "%s: no CIFAR-%d batches", p->base, (int)want);
    if (want == 10)
        return ds_missing(p, err, "%s: no CIFAR-10 batches (data_batch_1..5.bin, test_batch.bin) here or in "
                          "cifar-10-batches-bin/", p->base);
    if (want == 100)
        return ds_missing(p, err, "%s: no CIFAR-100 batches (train.bin, test.bin) here or in cifar-100-binary/",
                          p->base);
    return ds_missing(p, err, "%s: no CIFAR-10 (data_batch_1..5.bin, test_batch.bin) or CIFAR-100 (train.bin, "
                      "test.bin) batches here or in cifar-10-batches-bin/ or cifar-100-binary/", p->base);
}

static pd_status ds_locate(ds_plan *p, pd_error *err)
{
    if (!ds_is_dir(p->base))
        return ds_missing(p, err, ds_is_file(p->base) ? "%s: not a folder" : "%s: folder not found", p->base);
    return p->format == DS_IDX ? ds_locate_idx(p, err) : ds_locate_cifar(p, err);
}

pd_status dataset_locate(const char *spec, const char *data_dir, char *dir_out, size_t dir_size, pd_error *err)
{
    ds_plan *p = malloc(sizeof *p);
    if (!p)
        return error_set(err, PD_ERR_NOMEM, "dataset: out of memory");
    pd_status st = ds_plan_init(p, spec ? spec : "", data_dir, err);
    if (st == PD_OK)
        st = ds_locate(p, err);
    if (dir_out && dir_size) { /* on failure, where the files were looked for (the failure's error stays) */
        pd_status cs = path_format(dir_out, dir_size, st == PD_OK ? err : NULL, "%s", st == PD_OK ? p->dir : p->base);
        if (st == PD_OK)
            st = cs;
    }
    free(p);
    return st;
}

pd_status dataset_probe(const char *spec, const char *data_dir, int32_t *c, int32_t *h, int32_t *w,
                        int32_t *classes, pd_error *err)
{
    ds_plan *p = malloc(sizeof *p);
    if (!p)
        return error_set(err, PD_ERR_NOMEM, "dataset: out of memory");
    pd_status st = ds_plan_init(p, spec ? spec : "", data_dir, err);
    if (st == PD_OK)
        st = ds_locate(p, err);
    if (st == PD_OK && p->format == DS_CIFAR) {
        *c = 3;
        *h = *w = 32;
        *classes = p->classes;
    } else if (st == PD_OK) {
        int32_t dims[3];
        st = idx_read_dims(p->files[0], 3, dims, err);
        *c = 1;
        *h = dims[1];
        *w = dims[2];
        *classes = p->classes;
        if (st == PD_OK && !*classes) { /* idx:DIR: the largest training label + 1 */
            pd_idx lb;
            st = idx_read(p->files[1], 1, &lb, err);
            int32_t mx = 0;
            for (int32_t i = 0; st == PD_OK && i < lb.dims[0]; i++)
                mx = lb.data[i] > mx ? lb.data[i] : mx;
            *classes = mx + 1;
            idx_free(&lb);
        }
    }
    free(p);
    return st;
}

/* ------------------------------------------------------------------------------------------------ loading */

static pd_status ds_load_idx_split(const char *img_path, const char *lbl_path, pd_split *s, pd_error *err)
{
    pd_idx im, lb;
    PD_TRY(idx_read(img_path, 3, &im, err));
    pd_status st = idx_read(lbl_path, 1, &lb, err);
    if (st != PD_OK) {
        idx_free(&im);
        return st;
    }
    if (im.dims[0] != lb.dims[0]) {
        st = error_set(err, PD_ERR_DATA, "%s: %d images but %s has %d labels", img_path, im.dims[0], lbl_path,
                       lb.dims[0]);
    } else if (!(s->labels = malloc((size_t)lb.dims[0] * sizeof *s->labels))) {
        st = error_set(err, PD_ERR_NOMEM, "%s: out of memory for %d labels", lbl_path, lb.dims[0]);
    } else {
        for (int32_t i = 0; i < lb.dims[0]; i++)
            s->labels[i] = lb.data[i];
        s->n = im.dims[0];
        s->c = 1;
        s->h = im.dims[1];
        s->w = im.dims[2];
        s->pixels = im.data; /* ownership moves to the split */
        im.data = NULL;
    }
    idx_free(&im);
    idx_free(&lb);
    return st;
}

static pd_status ds_load_cifar_split(const ds_plan *p, int first, int count, pd_split *s, pd_error *err)
{
    for (int i = first; i < first + count; i++)
        PD_TRY(cifar_read_file(p->files[i], p->classes, &s->pixels, &s->labels, &s->n, err));
    s->c = 3;
    s->h = 32;
    s->w = 32;
    return PD_OK;
}

/* Labels of a split in [0, classes): the file named is the split's labels file. */
static pd_status ds_check_labels(const pd_split *s, int32_t classes, const char *path, int from_train,
                                 pd_error *err)
{
    for (int32_t i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] >= classes)
            return error_set(err, PD_ERR_DATA, "%s: label %d at index %d out of range (%d classes%s)", path,
                             s->labels[i], i, classes, from_train ? ", from the training labels" : "");
    return PD_OK;
}

/* Per-channel population mean/std over all training pixels, as fractions of 255. */
static void ds_compute_norm(pd_split *s)
{
    int64_t hw = (int64_t)s->h * s->w;
    for (int32_t ch = 0; ch < 3; ch++) {
        s->mean[ch] = 0.0f;
        s->std[ch] = 1.0f;
    }
    for (int32_t ch = 0; ch < s->c; ch++) {
        uint64_t hist[256] = {0};
        for (int64_t i = 0; i < s->n; i++) {
            const uint8_t *px = s->pixels + ((size_t)i * s->c + ch) * hw;
            for (int64_t j = 0; j < hw; j++)
                hist[px[j]]++;
        }
        double count = (double)s->n * (double)hw, sum = 0.0, sumsq = 0.0;
        for (int b = 0; b < 256; b++) {
            sum += (double)b * (double)hist[b];
            sumsq += (double)b * b * (double)hist[b];
        }
        double mean = sum / count, var = sumsq / count - mean * mean;
        double sd = var > 0.0 ? sqrt(var) / 255.0 : 0.0;
        s->mean[ch] = (float)(mean / 255.0);
        s->std[ch] = sd > 1e-12 ? (float)sd : 1.0f; /* constant images: leave them centred, unscaled */
    }
}

static pd_status ds_load_files(pd_dataset *ds, ds_plan *p, pd_error *err)
{
    const char *train_lbl = p->files[1], *test_lbl = p->files[3], *test_img = p->files[2];
    if (p->format == DS_IDX) {
        PD_TRY(ds_load_idx_split(p->files[0], p->files[1], &ds->train, err));
        PD_TRY(ds_load_idx_split(p->files[2], p->files[3], &ds->test, err));
    } else {
        PD_TRY(ds_load_cifar_split(p, 0, p->nfiles - 1, &ds->train, err));
        PD_TRY(ds_load_cifar_split(p, p->nfiles - 1, 1, &ds->test, err));
        train_lbl = p->files[0];
        test_lbl = test_img = p->files[p->nfiles - 1];
    }
    if (ds->train.n == 0 || ds->test.n == 0)
        return error_set(err, PD_ERR_DATA, "%s: no images", ds->train.n == 0 ? p->files[0] : test_img);
    if (ds->test.h != ds->train.h || ds->test.w != ds->train.w || ds->test.c != ds->train.c)
        return error_set(err, PD_ERR_DATA, "%s: images are %dx%d but the training images (%s) are %dx%d", test_img,
                         ds->test.h, ds->test.w, p->files[0], ds->train.h, ds->train.w);

    ds->classes = p->classes;
    int from_train = 0;
    if (ds->classes == 0) { /* idx:DIR: the training labels define the classes */
        int32_t max = 0;
        for (int32_t i = 0; i < ds->train.n; i++)
            max = ds->train.labels[i] > max ? ds->train.labels[i] : max;
        ds->classes = max + 1;
        from_train = 1;
    }
    PD_TRY(ds_check_labels(&ds->train, ds->classes, train_lbl, 0, err));
    PD_TRY(ds_check_labels(&ds->test, ds->classes, test_lbl, from_train, err));

    if (p->named) {
        memcpy(ds->train.mean, p->named->mean, sizeof ds->train.mean);
        memcpy(ds->train.std, p->named->std, sizeof ds->train.std);
    } else {
        ds_compute_norm(&ds->train);
    }
    memcpy(ds->test.mean, ds->train.mean, sizeof ds->test.mean);
    memcpy(ds->test.std, ds->train.std, sizeof ds->test.std);
    return PD_OK;
}

pd_status dataset_load(pd_dataset *ds, const char *spec, const char *data_dir, pd_error *err)
{
    PD_ASSERT(ds);
    memset(ds, 0, sizeof *ds);
    if (!spec)
        spec = "";
    if (strlen(spec) >= sizeof ds->spec)
        return error_set(err, PD_ERR_CONFIG, "dataset: spec too long (%zu characters)", strlen(spec));
    snprintf(ds->spec, sizeof ds->spec, "%s", spec);

    ds_plan *p = malloc(sizeof *p);
    if (!p)
        return error_set(err, PD_ERR_NOMEM, "dataset: out of memory");
    pd_status st = ds_plan_init(p, spec, data_dir, err);
    if (st == PD_OK)
        st = ds_locate(p, err);
    if (st == PD_OK)
        st = path_format(ds->dir, sizeof ds->dir, err, "%s", p->dir);
    if (st == PD_OK)
        st = ds_load_files(ds, p, err);
    free(p);
    if (st != PD_OK) {
        dataset_free(ds);
        snprintf(ds->spec, sizeof ds->spec, "%s", spec);
    }
    return st;
}

static void ds_split_free(pd_split *s)
{
    free(s->pixels);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

void dataset_free(pd_dataset *ds)
{
    if (!ds)
        return;
    ds_split_free(&ds->train);
    ds_split_free(&ds->test);
    ds->classes = 0;
    ds->dir[0] = '\0';
}

/* ------------------------------------------------------------------------------------------ batches, shuffles */

void dataset_norm_lut(const pd_split *s, float lut[3][256])
{
    for (int32_t ch = 0; ch < s->c && ch < 3; ch++)
        for (int b = 0; b < 256; b++)
            lut[ch][b] = ((float)b / 255.0f - s->mean[ch]) / s->std[ch];
}

void dataset_batch(const pd_split *s, const int32_t *idx, int32_t n, float *x, int32_t *y)
{
    PD_ASSERT(s && (n == 0 || idx) && s->c >= 1 && s->c <= 3);
    const int64_t hw = (int64_t)s->h * s->w, chw = s->c * hw;
    float lut[3][256];
    dataset_norm_lut(s, lut);
    for (int32_t i = 0; i < n; i++) {
        int32_t k = idx[i];
        PD_ASSERT(k >= 0 && k < s->n);
        if (y)
            y[i] = s->labels[k];
        if (!x)
            continue;
        const uint8_t *src = s->pixels + (size_t)k * chw;
        float *dst = x + (size_t)i * chw;
        for (int32_t ch = 0; ch < s->c; ch++)
            for (int64_t j = 0; j < hw; j++)
                dst[ch * hw + j] = lut[ch][src[ch * hw + j]];
    }
}

void dataset_shuffle(int32_t *perm, int32_t n, uint64_t seed, int64_t epoch)
{
    PD_ASSERT(n >= 0 && (n == 0 || perm));
    for (int32_t i = 0; i < n; i++)
        perm[i] = i;
    pd_rng r;
    rng_init(&r, rng_hash(seed, (uint64_t)epoch));
    rng_shuffle_i32(&r, perm, n);
}
