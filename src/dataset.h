/* dataset.h — image classification data sets read offline from the files users already have.
 *
 * A spec names the data set: "fashion-mnist", "mnist" (IDX files, 10 classes), "cifar10", "cifar100" (CIFAR
 * binary batches), "idx:DIR" (any IDX folder: train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz, any image size) or "cifar:DIR" (a folder
 * with CIFAR-10 data_batch_1..5.bin + test_batch.bin, or CIFAR-100 train.bin + test.bin; also accepted one
 * level down in cifar-10-batches-bin/ or cifar-100-binary/). data_dir, when non-empty, replaces the default
 * folder of a named data set (fashion-mnist: /usr/share/datasets/fashion-mnist, mnist: /usr/share/datasets/mnist,
 * cifar10: /usr/share/datasets/cifar10, cifar100: /usr/share/datasets/cifar100).
 *
 * Images stay as bytes in memory; dataset_batch() gathers and normalises a batch into floats with the
 * per-channel mean/std of the data set (standard constants for the named sets, computed from the training split
 * for idx:/cifar: folders). Every file is validated (magic, dimensions, size against length, label range,
 * image/label counts agree); a bad file yields PD_ERR_DATA and one line naming the file and the problem.
 *
 *   pd_dataset ds;
 *   if (dataset_load(&ds, "fashion-mnist", "", &err) != PD_OK) { puts(err.msg); ... }
 *   dataset_batch(&ds.train, idx, 128, xbuf, ybuf);   // xbuf [128, c, h, w] floats, ybuf [128] int32
 *   dataset_free(&ds);
 */
#ifndef PD_DATASET_H
#define PD_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct {
    int32_t n;          /* number of images */
    int32_t c, h, w;    /* channels (1 or 3), height, width */
    uint8_t *pixels;    /* [n, c, h, w] raw bytes, channel-major (CHW) per image */
    int32_t *labels;    /* [n], each in [0, classes) */
    float mean[3];      /* per-channel normalisation: x = (byte / 255 - mean) / std */
    float std[3];
} pd_split;

typedef struct {
    char spec[1040];    /* as given */
    char dir[1024];     /* folder the files were read from */
    int32_t classes;
    pd_split train, test;
} pd_dataset;

/* Load both splits into *ds (overwritten, not freed first). PD_ERR_DATA (bad or missing file, message names it)
 * or PD_ERR_CONFIG (bad spec). For idx:DIR the class count is the largest training label + 1 and a larger test
 * label is an error; data_dir is ignored for idx:/cifar: specs; 1-channel sets have mean[1..2] = 0 and
 * std[1..2] = 1; a computed std of 0 becomes 1. */
pd_status dataset_load(pd_dataset *ds, const char *spec, const char *data_dir, pd_error *err);
void dataset_free(pd_dataset *ds); /* safe on a zeroed or already freed struct */

/* Resolve the folder and check that the expected files exist, without reading them (for the TUI's
 * "files found" hint). Fills dir_out (may be NULL; on failure the folder it looked in) and returns PD_OK or
 * PD_ERR_DATA with a message. */
pd_status dataset_locate(const char *spec, const char *data_dir, char *dir_out, size_t dir_size, pd_error *err);

/* The image shape [c, h, w] and class count of a data set, reading only file headers (and, for idx:DIR, the
 * training labels) — for the TUI's Setup screen. Same errors as dataset_locate. */
pd_status dataset_probe(const char *spec, const char *data_dir, int32_t *c, int32_t *h, int32_t *w,
                        int32_t *classes, pd_error *err);

/* Gather images idx[0..n) of a split into x [n, c, h, w] (normalised floats, host memory) and y [n];
 * either may be NULL. Indices must be in range (asserted). */
void dataset_batch(const pd_split *s, const int32_t *idx, int32_t n, float *x, int32_t *y);
/* The normalisation dataset_batch applies: lut[ch][byte] = (byte / 255 - mean[ch]) / std[ch] for the split's
 * channels (augment_batch shares it). */
void dataset_norm_lut(const pd_split *s, float lut[3][256]);

/* Deterministic permutation of [0, n) for an epoch: depends only on (seed, epoch). */
void dataset_shuffle(int32_t *perm, int32_t n, uint64_t seed, int64_t epoch);

#endif
