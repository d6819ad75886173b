/* state.h — binary state files (session state/: task model, AE, DDPM, optimiser moments, collected vectors).
 *
 * A state file is a header and named sections, little-endian:
 *   magic "PDIFFST1" (8 bytes) | u32 version (1) | u32 section count | char kind[16] (NUL padded, e.g. "task")
 *   per section: char name[32] | u32 dtype | u32 reserved | u64 count | data (count * size of dtype)
 *   u32 CRC-32 (zlib) of everything before it
 * A reader checks magic, version, kind, every size against the file length, and the checksum, and refuses a bad
 * file with one line naming it and a hint ("state/ae.bin: checksum mismatch (file corrupted?); rerun the ae stage
 * or delete the session"). Files are written atomically (atomic.h).
 *
 *   pd_state_writer *w; state_writer_create(&w, "task");
 *   state_put(w, "params", PD_DTYPE_F32, params, n);
 *   state_put_i64(w, "step", 1200);
 *   state_writer_commit(w, "sess/state/task.bin", &err);
 *
 *   pd_state *s; state_load(&s, "sess/state/task.bin", "task", &err);
 *   const float *p = state_get(s, "params", PD_DTYPE_F32, n, &err);   // NULL + message on a missing/mis-sized section
 *   state_free(s);
 */
#ifndef PD_STATE_H
#define PD_STATE_H

#include <stdint.h>

#include "error.h"

typedef enum { PD_DTYPE_F32 = 1, PD_DTYPE_I32 = 2, PD_DTYPE_U8 = 3, PD_DTYPE_F64 = 4, PD_DTYPE_I64 = 5 } pd_dtype;

typedef struct pd_state_writer pd_state_writer;
typedef struct pd_state pd_state;

pd_status state_writer_create(pd_state_writer **w, const char *kind, pd_error *err);
/* Copies the data. Names are at most 31 characters and unique. */
pd_status state_put(pd_state_writer *w, const char *name, pd_dtype dtype, const void *data, int64_t count,
                    pd_error *err);
pd_status state_put_i64(pd_state_writer *w, const char *name, int64_t value, pd_error *err);
pd_status state_put_f64(pd_state_writer *w, const char *name, double value, pd_error *err);
pd_status state_writer_commit(pd_state_writer *w, const char *path, pd_error *err); /* frees w */
void state_writer_free(pd_state_writer *w);

/* kind may be NULL to accept any kind. */
pd_status state_load(pd_state **s, const char *path, const char *kind, pd_error *err);
/* expected_count < 0 accepts any count; *count (may be NULL) receives it. */
const void *state_get(const pd_state *s, const char *name, pd_dtype dtype, int64_t expected_count,
                      int64_t *count, pd_error *err);
pd_status state_get_i64(const pd_state *s, const char *name, int64_t *value, pd_error *err);
pd_status state_get_f64(const pd_state *s, const char *name, double *value, pd_error *err);
int state_has(const pd_state *s, const char *name);
void state_free(pd_state *s);

#endif
