/* backend.c — backend selection and helpers shared by all backends (see backend.h). */
#include "backend.h"

#include "pdiff_build.h"

pd_conv2d_shape conv2d_shape_make(int32_t n, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t k,
                                  int32_t stride, int32_t pad)
{
    pd_conv2d_shape s = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .k = k, .stride = stride, .pad = pad};
    s.ho = (h + 2 * pad - k) / stride + 1;
    s.wo = (w + 2 * pad - k) / stride + 1;
    return s;
}

pd_conv1d_shape conv1d_shape_make(int32_t n, int32_t cin, int32_t l, int32_t cout, int32_t k, int32_t stride,
                                  int32_t pad)
{
    pd_conv1d_shape s = {.n = n, .cin = cin, .l = l, .cout = cout, .k = k, .stride = stride, .pad = pad};
    s.lo = (l + 2 * pad - k) / stride + 1;
    return s;
}

pd_conv1d_shape convt1d_shape_make(int32_t n, int32_t cin, int32_t l, int32_t cout, int32_t k, int32_t stride,
                                   int32_t pad)
{
    pd_conv1d_shape s = {.n = n, .cin = cin, .l = l, .cout = cout, .k = k, .stride = stride, .pad = pad};
    s.lo = (l - 1) * stride - 2 * pad + k;
    return s;
}

static int backend_gpu = 0;

void backend_set_gpu_ordinal(int ordinal)
{
    backend_gpu = ordinal > 0 ? ordinal : 0;
}

int backend_gpu_ordinal(void)
{
    return backend_gpu;
}

pd_status backend_create(pd_backend **out, pd_backend_kind kind, int threads, pd_error *err)
{
    *out = NULL;
    switch (kind) {
    case PD_BACKEND_CPU:
        return backend_cpu_create(out, threads, err);
    case PD_BACKEND_CUDA:
#ifdef PD_HAVE_CUDA
        return cuda_backend_create(out, threads, err);
#else
        return error_set(err, PD_ERR_DEVICE,
                         "device=cuda: this pdiff was built without CUDA (reconfigure with --with-cuda)");
#endif
    }
    return error_set(err, PD_ERR_INTERNAL, "unknown backend kind %d", (int)kind);
}

const char *backend_built_list(void)
{
#ifdef PD_HAVE_CUDA
    return "cpu, cuda";
#else
    return "cpu";
#endif
}

void backend_destroy(pd_backend *be)
{
    if (be)
        be->destroy(be);
}

float *backend_alloc_floats(pd_backend *be, int64_t n)
{
    return be->alloc(be, (size_t)(n > 0 ? n : 1) * sizeof(float));
}

int32_t *backend_alloc_ints(pd_backend *be, int64_t n)
{
    return be->alloc(be, (size_t)(n > 0 ? n : 1) * sizeof(int32_t));
}
