/* devbuf.h — the backend buffers one object owns, kept in one list: allocate them one by one, check once that
 * all succeeded, free them all at once. The AE, the UNet, the task model and the evaluator each hold one.
 *
 *   pd_devbuf bufs;
 *   devbuf_init(&bufs, be);
 *   x->params = devbuf_floats(&bufs, n_params);
 *   x->arg = devbuf_ints(&bufs, n);
 *   if (devbuf_failed(&bufs)) { devbuf_free(&bufs); return error_set(err, PD_ERR_NOMEM, "..."); }
 *   ...
 *   devbuf_free(&bufs);
 *
 * Buffers come from backend_alloc_floats / backend_alloc_ints (zero-filled; n < 1 still gets one element).
 * After the first failure (the backend's or the list's own memory) every further request returns NULL without
 * allocating, and devbuf_failed says so.
 */
#ifndef PD_DEVBUF_H
#define PD_DEVBUF_H

#include <stdint.h>

#include "backend.h"

typedef struct {
    pd_backend *be;
    void **bufs;
    int64_t n, cap;
    int failed;
} pd_devbuf;

void devbuf_init(pd_devbuf *l, pd_backend *be);
float *devbuf_floats(pd_devbuf *l, int64_t n);
int32_t *devbuf_ints(pd_devbuf *l, int64_t n);
int devbuf_failed(const pd_devbuf *l);
/* Frees every buffer of the list, in allocation order, and the list itself; the list is then empty and can be
 * reused. A zeroed (calloc'd) pd_devbuf is an empty list too. */
void devbuf_free(pd_devbuf *l);

#endif
