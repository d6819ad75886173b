/* safetensors.h — the safetensors weight format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header, then the data section.
 *
 *   {"__metadata__": {"key": "value", ...},
 *    "fc.weight": {"dtype": "F32", "shape": [10, 5], "data_offsets": [0, 200]}, ...}
 *
 * data_offsets are byte offsets into the data section (after the header), values little-endian, C order. The header
 * is parsed with jansson (configure --with-json); a build without it returns PD_ERR_CONFIG from every function that
 * needs the header. Reading validates everything the file claims: header length within the file and at most
 * PD_ST_MAX_HEADER, a JSON object without duplicate names, known dtypes, shapes of non-negative integers (at most
 * PD_ST_MAX_DIMS) whose byte count equals the tensor's range, ranges inside the data section and not overlapping,
 * __metadata__ an object of strings. A bad file fails with one line naming the file, the tensor and the problem.
 *
 *   pd_safetensors f;
 *   if (safetensors_read(&f, "model.safetensors", &err) != PD_OK) ...
 *   const pd_st_tensor *t = safetensors_find(&f, "fc.weight");
 *   float *w = malloc(safetensors_numel(t) * sizeof *w);
 *   safetensors_get_f32(&f, t, w, &err);
 *   safetensors_free(&f);
 *
 *   pd_st_writer *w;
 *   safetensors_writer_create(&w, &err);
 *   safetensors_add(w, "fc.weight", PD_ST_F32, 2, (int64_t[]){10, 5}, weights, &err);
 *   safetensors_meta(w, "format", "pt", &err);
 *   safetensors_commit(w, "model.safetensors", &err);           // atomic; frees w whatever happens
 *
 * The writer lays the tensors out in the order added and pads the header with spaces to a multiple of 8 bytes, as
 * the reference implementation does; __metadata__ (when any) comes first.
 */
#ifndef PD_SAFETENSORS_H
#define PD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "path.h"

typedef enum {
    PD_ST_F32,
    PD_ST_F64,
    PD_ST_F16,
    PD_ST_BF16,
    PD_ST_I64,
    PD_ST_I32,
    PD_ST_I16,
    PD_ST_I8,
    PD_ST_U8,
    PD_ST_BOOL
} pd_st_dtype;
#define PD_ST_DTYPE_COUNT 10

#define PD_ST_MAX_DIMS 8
/* The message (after "FILE: " where there is a file) of every function that needs the header in a build without
 * jansson; their status is then PD_ERR_CONFIG. */
#define PD_ST_NO_JSON "pdiff was built without a JSON library (install libjansson-dev and reconfigure)"
#define PD_ST_MAX_HEADER (100 * 1000 * 1000) /* bytes of JSON header accepted (the reference's limit) */

typedef struct {
    char *name;
    pd_st_dtype dtype;
    int ndim;
    int64_t shape[PD_ST_MAX_DIMS];
    int64_t begin, end; /* byte range in the data section */
} pd_st_tensor;

typedef struct {
    int n; /* tensors, in the header's order */
    pd_st_tensor *t;
    int n_meta;
    char **meta_key, **meta_value;
    uint8_t *data; /* the data section */
    int64_t data_size;
    char path[PD_PATH_MAX]; /* the file (or the name given to safetensors_parse) */
} pd_safetensors;

/* The whole file, validated. f is zeroed first; safetensors_free(f) is safe whatever the result. */
pd_status safetensors_read(pd_safetensors *f, const char *path, pd_error *err);
/* The same from memory (buf is copied; name labels the errors). */
pd_status safetensors_parse(pd_safetensors *f, const uint8_t *buf, size_t size, const char *name, pd_error *err);
void safetensors_free(pd_safetensors *f);
const pd_st_tensor *safetensors_find(const pd_safetensors *f, const char *name); /* NULL when absent */
const char *safetensors_meta_get(const pd_safetensors *f, const char *key);     /* NULL when absent */
int64_t safetensors_numel(const pd_st_tensor *t); /* 1 for a scalar (shape []) */

/* The whole regular file into a malloc'd buffer (*buf non-NULL on success, even for an empty file); npy.c uses it
 * too. PD_ERR_IO naming the path when it cannot be read. */
pd_status safetensors_load_file(const char *path, uint8_t **buf, size_t *size, pd_error *err);

/* "F32", ...; NULL for a value out of range. */
const char *safetensors_dtype_name(pd_st_dtype dtype);
size_t safetensors_dtype_size(pd_st_dtype dtype);

/* The tensor's values as float: F32 copied, F64 rounded (out of range -> +-inf), F16 and BF16 exactly (NaN and
 * infinities kept), integers and BOOL converted. out has safetensors_numel(t) floats. */
pd_status safetensors_get_f32(const pd_safetensors *f, const pd_st_tensor *t, float *out, pd_error *err);
/* One IEEE half (binary16) or bfloat16, given as its bits, as a float (exact). */
float safetensors_f16_to_f32(uint16_t h);
float safetensors_bf16_to_f32(uint16_t h);

typedef struct pd_st_writer pd_st_writer;
pd_status safetensors_writer_create(pd_st_writer **w, pd_error *err);
/* data: numel elements of dtype in host order, copied and stored little-endian. Names are unique, valid UTF-8 and
 * not "__metadata__" (an empty name is valid, as for the reader). ndim 0 (shape may then be NULL) is a scalar. */
pd_status safetensors_add(pd_st_writer *w, const char *name, pd_st_dtype dtype, int ndim, const int64_t *shape,
                          const void *data, pd_error *err);
/* A __metadata__ string pair (UTF-8; keys unique). */
pd_status safetensors_meta(pd_st_writer *w, const char *key, const char *value, pd_error *err);
/* Write the file atomically (it appears complete or not at all); frees w whatever the result. */
pd_status safetensors_commit(pd_st_writer *w, const char *path, pd_error *err);
void safetensors_writer_free(pd_st_writer *w); /* abandon the file; NULL is fine */

#endif
