/* cifar.h — CIFAR-10 / CIFAR-100 binary batch files.
 *
 * CIFAR-10 records are 3073 bytes (label, then 1024 R, 1024 G, 1024 B row-major 32x32); CIFAR-100 records are
 * 3074 bytes (coarse label, fine label, then the pixels; pdiff uses the fine label, 100 classes). The file length
 * must be a whole number of records and every label must be in range.
 */
#ifndef PD_CIFAR_H
#define PD_CIFAR_H

#include <stdint.h>

#include "error.h"

/* Append the records of one batch file to pixels/labels (realloc'd; *n updated).
 * classes is 10 or 100. PD_ERR_DATA with "PATH: problem"; then *n is unchanged and the arrays (possibly
 * enlarged) still belong to the caller. */
pd_status cifar_read_file(const char *path, int32_t classes, uint8_t **pixels, int32_t **labels, int32_t *n,
                          pd_error *err);

#endif
