/* idx.h — IDX files (the MNIST family's format), plain or gzip-compressed, read through zlib.
 *
 * Format: magic 00 00 <type> <ndim>, type 0x08 = unsigned byte, then ndim big-endian uint32 dimensions, then
 * the data. pdiff reads images (ndim 3: n, h, w) and labels (ndim 1: n). Everything the file claims is checked
 * against what it holds: a short or over-long payload, a wrong magic, zero or absurd dimensions.
 */
#ifndef PD_IDX_H
#define PD_IDX_H

#include <stdint.h>

#include "error.h"

typedef struct {
    int32_t ndim;
    int32_t dims[3];
    uint8_t *data; /* product of dims bytes, malloc'd */
} pd_idx;

/* Read an IDX ubyte file with the given number of dimensions (3 for images, 1 for labels).
 * PD_ERR_DATA with "PATH: problem" on any mismatch; data is NULL then. */
pd_status idx_read(const char *path, int32_t want_ndim, pd_idx *out, pd_error *err);
/* Only the header: the dimensions a file claims (dims[ndim..2] = 0), after the magic check. */
pd_status idx_read_dims(const char *path, int32_t want_ndim, int32_t dims[3], pd_error *err);
void idx_free(pd_idx *x);

#endif
