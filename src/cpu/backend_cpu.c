/* backend_cpu.c — the CPU backend's creation: host memory, the thread pool and the op table, one group of ops per
 * cpu_<group>.c file (cpu_ops.h). The helpers those files share live in cpu_common.c (cpu.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "cpu_simd.h"

/* Zero-filled and 64-byte aligned. calloc hands large blocks straight from mmap without writing them, so the pages
 * of a buffer that a run never reaches are never touched: a buffer sized for the largest batch costs only what is
 * used. (A memset here faulted in every page at once; on a virtual machine whose host reclaims freed memory, that
 * was about 3 s of page clearing before the first training step.) The block's start is kept just below the
 * aligned pointer. */
static void *cpu_alloc(pd_backend *be, size_t bytes)
{
    (void)be;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes || rounded > SIZE_MAX - 64)
        return NULL;
    if (rounded == 0)
        rounded = 64;
    unsigned char *raw = calloc(1, rounded + 64);
    if (!raw)
        return NULL;
    unsigned char *p = raw + (64 - ((uintptr_t)raw & 63)); /* 16 to 64 bytes in: room for the start */
    ((void **)p)[-1] = raw;
    return p;
}

static void cpu_free(pd_backend *be, void *p)
{
    (void)be;
    if (p)
        free(((void **)p)[-1]);
}

static void cpu_memcpy(pd_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_synchronize(pd_backend *be)
{
    (void)be;
}

static void cpu_destroy(pd_backend *be)
{
    cpu_backend *c = cpu_of(be);
    cpu_scratch_release(c);
    pool_free(c->pool);
    free(c);
}

int backend_cpu_threads(int threads)
{
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    return threads > CPU_MAX_THREADS ? CPU_MAX_THREADS : threads;
}

pd_status backend_cpu_create(pd_backend **out, int threads, pd_error *err)
{
    *out = NULL;
    threads = backend_cpu_threads(threads);
    cpu_backend *c = calloc(1, sizeof *c);
    if (!c)
        return error_set(err, PD_ERR_NOMEM, "cpu backend: out of memory");
    pd_backend *be = &c->base;
    be->kind = PD_BACKEND_CPU;
    be->name = "cpu";
    be->threads = threads;
    c->pool = pool_create(threads);
    if (!c->pool) {
        free(c);
        return error_set(err, PD_ERR_NOMEM, "cpu backend: cannot start %d threads", threads);
    }
    be->threads = pool_threads(c->pool);
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_memcpy;
    be->download = cpu_memcpy;
    be->copy = cpu_memcpy;
    be->synchronize = cpu_synchronize;
    be->destroy = cpu_destroy;
    cpu_eltwise_register(be);
    cpu_dense_register(be);
    cpu_conv2d_register(be);
    cpu_convbn_register(be);
    cpu_batchnorm_register(be);
    cpu_pool_register(be);
    cpu_loss_register(be);
    cpu_optim_register(be);
    cpu_conv1d_register(be);
    cpu_instnorm_register(be);
    cpu_normact_register(be);
    cpu_diffusion_register(be);
    *out = be;
    return PD_OK;
}

int backend_cpu_has_avx512(void)
{
    return cpu_has_avx512();
}
