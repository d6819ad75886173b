/* devbuf.c — a list of owned backend buffers (see devbuf.h). */
#include "devbuf.h"

#include "grow.h"

void devbuf_init(pd_devbuf *l, pd_backend *be)
{
    l->be = be;
    l->bufs = NULL;
    l->n = l->cap = 0;
    l->failed = 0;
}

/* Allocate bytes_each * n (at least one element) and keep it in the list. */
static void *devbuf_take(pd_devbuf *l, int64_t n, size_t bytes_each)
{
    if (l->failed)
        return NULL;
    void **nb = pd_grow(l->bufs, &l->cap, l->n + 1, sizeof *nb, 16);
    if (!nb) {
        l->failed = 1;
        return NULL;
    }
    l->bufs = nb;
    void *p = l->be->alloc(l->be, (size_t)(n > 0 ? n : 1) * bytes_each);
    if (!p) {
        l->failed = 1;
        return NULL;
    }
    l->bufs[l->n++] = p;
    return p;
}

float *devbuf_floats(pd_devbuf *l, int64_t n)
{
    return devbuf_take(l, n, sizeof(float));
}

int32_t *devbuf_ints(pd_devbuf *l, int64_t n)
{
    return devbuf_take(l, n, sizeof(int32_t));
}

int devbuf_failed(const pd_devbuf *l)
{
    return l->failed;
}

void devbuf_free(pd_devbuf *l)
{
    for (int64_t i = 0; i < l->n; i++)
        l->be->free(l->be, l->bufs[i]);
    free(l->bufs);
    devbuf_init(l, l->be);
}
