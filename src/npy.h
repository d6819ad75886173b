/* npy.h — NumPy's .npy array files, float32 only: the format the exported matrices take (and that np.load reads).
 *
 *   \x93NUMPY | major 1, minor 0 | u16 header length | header | data
 *   header = "{'descr': '<f4', 'fortran_order': False, 'shape': (K, D), }", spaces, "\n" (64-byte aligned in all)
 *
 * The writer makes format 1.0, little-endian float32 ('<f4'), C order. The reader takes formats 1.0 and 2.0 (u32
 * header length), descr '<f4' in C order only, any shape of at most PD_ST_MAX_DIMS dimensions (shape () is a 0-d
 * array: one value), and exactly the data the shape needs. The header, a Python dict literal, is read by a small
 * strict parser; anything else is refused with one line naming the file and the problem.
 */
#ifndef PD_NPY_H
#define PD_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "safetensors.h" /* PD_ST_MAX_DIMS */

/* data: prod(shape) floats in C order (ndim 0: one value; shape may then be NULL). Written atomically. */
pd_status npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape, pd_error *err);
/* *data: malloc'd prod(shape) floats (free() it; never NULL on success); *ndim and shape[0..*ndim). */
pd_status npy_read_f32(const char *path, float **data, int *ndim, int64_t shape[PD_ST_MAX_DIMS], pd_error *err);
/* The same from memory; name labels the errors. */
pd_status npy_parse_f32(const uint8_t *buf, size_t size, const char *name, float **data, int *ndim,
                        int64_t shape[PD_ST_MAX_DIMS], pd_error *err);

#endif
