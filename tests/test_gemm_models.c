/* test_gemm_models.c — whole workloads on pdiff's own GEMM kernel against OpenBLAS (blas_gemm_select, the in-process
 * form of PDIFF_GEMM): the UNet 64-128-256-512 of the DDPM bench (forward, backward's gradients, a frozen sampling
 * forward) and the medium AE (forward and gradients), each with the default choice of kernels and with the own
 * kernel at every hot call site, compared with OpenBLAS everywhere. The sums run in another order, so the tolerance
 * is relative: 1e-4, plus 1e-4 of the tensor's largest value for cancellations (OpenBLAS's AVX2 and AVX-512
 * kernels differ from each other by up to 2e-5 of it on these gradients). Passes with any OPENBLAS_CORETYPE.
 * Skips (77) on a CPU without AVX-512, where OpenBLAS does it all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae.h"
#include "backend.h"
#include "blas.h"
#include "rng.h"
#include "tap.h"
#include "unet.h"

static pd_backend *be;

static void fill(float *x, int64_t n, uint64_t seed, float scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = scale * rng_normal_at(seed, (uint64_t)i);
}

static float maxabs(const float *x, int64_t n)
{
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++)
        m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    return m;
}

static void compare(const char *what, const char *setting, const float *got, const float *want, int64_t n)
{
    char name[160];
    snprintf(name, sizeof name, "%s, PDIFF_GEMM=%s vs blas", what, setting);
    tap_close(name, got, want, n, 1e-4 * maxabs(want, n), 1e-4);
}

/* The DDPM bench's latents */
#define UNET_LENGTH 12

/* OpenBLAS runs its generic kernels (neither AVX2 nor AVX-512: OPENBLAS_CORETYPE=Prescott or the like). At a random
 * initialisation the UNet's gradients are ill-conditioned (InstanceNorm over the 1 or 2 positions of the deepest
 * level): the last-bit differences between those kernels and the AVX-512 ones grow to 0.4 % of the largest
 * gradient, while the AVX2 and AVX-512 kernel sets stay within 2e-5 of it. */
static int generic_blas(void)
{
    const char *c = blas_core_name();
    return !(strstr(c, "Haswell") || strstr(c, "Skylake") || strstr(c, "Cooperlake") || strstr(c, "Sapphire") ||
             strstr(c, "Zen"));
}

/* The UNet's outputs: training forward [n, L], the gradients [params], a frozen forward [n, L]. */
typedef struct {
    float *y, *grads, *frozen;
} unet_out;

static int unet_run(const char *setting, unet_out *o, int64_t *np, int32_t n)
{
    pd_error err;
    pd_unet_geometry g = {.length = UNET_LENGTH, .channels = {64, 128, 256, 512}, .timesteps = 1000};
    pd_unet *u = NULL;
    if (!blas_gemm_select(setting) || unet_create(&u, be, &g, n, 1, &err) != PD_OK)
        return tap_ok(0, "unet (%s) created", setting);
    unet_init_params(u, 3);
    *np = unet_param_count(u);
    float *x = backend_alloc_floats(be, (int64_t)n * UNET_LENGTH);
    float *r = backend_alloc_floats(be, (int64_t)n * UNET_LENGTH);
    int32_t *t = backend_alloc_ints(be, n);
    fill(x, (int64_t)n * UNET_LENGTH, 31, 1.0f);
    fill(r, (int64_t)n * UNET_LENGTH, 32, 1.0f);
    for (int32_t i = 0; i < n; i++)
        t[i] = (int32_t)(rng_hash(33, (uint64_t)i) % 1000);
    o->y = malloc((size_t)n * UNET_LENGTH * sizeof(float));
    o->frozen = malloc((size_t)n * UNET_LENGTH * sizeof(float));
    o->grads = malloc((size_t)*np * sizeof(float));
    be->fill(be, unet_grads(u), *np, 0.0f);
    memcpy(o->y, unet_forward(u, x, t, n), (size_t)n * UNET_LENGTH * sizeof(float));
    unet_backward(u, r, n);
    memcpy(o->grads, unet_grads(u), (size_t)*np * sizeof(float));
    unet_freeze(u, 1);
    unet_forward(u, r, t, n);
    memcpy(o->frozen, unet_forward(u, x, t, n), (size_t)n * UNET_LENGTH * sizeof(float));
    unet_freeze(u, 0);
    unet_free(u);
    be->free(be, x);
    be->free(be, r);
    be->free(be, t);
    return 1;
}

static void test_unet(void)
{
    const int32_t n = 24;
    const char *settings[3] = {"blas", "default", "own"};
    unet_out o[3];
    int64_t np = 0;
    for (int s = 0; s < 3; s++)
        if (!unet_run(settings[s], &o[s], &np, n))
            return;
    for (int s = 1; s < 3; s++) {
        compare("unet forward", settings[s], o[s].y, o[0].y, (int64_t)n * UNET_LENGTH);
        if (generic_blas())
            tap_skip("unet gradients, PDIFF_GEMM=%s vs blas: OpenBLAS runs its generic %s kernels, whose rounding "
                     "this random UNet's gradients amplify beyond any fair tolerance", settings[s], blas_core_name());
        else
            compare("unet gradients", settings[s], o[s].grads, o[0].grads, np);
        compare("unet frozen (sampling) forward", settings[s], o[s].frozen, o[0].frozen, (int64_t)n * UNET_LENGTH);
    }
    /* the frozen UNet prepares its weights once (on AVX-512 with the gather's GEMM operands packed) and reuses them
     * for every forward after: the second frozen forward equals a training forward of the same input */
    for (int s = 0; s < 3; s++)
        tap_ok(memcmp(o[s].frozen, o[s].y, (size_t)n * UNET_LENGTH * sizeof(float)) == 0,
               "unet, PDIFF_GEMM=%s: a frozen forward after another equals the training forward bit for bit",
               settings[s]);
    for (int s = 0; s < 3; s++) {
        free(o[s].y);
        free(o[s].grads);
        free(o[s].frozen);
    }
}

static int ae_run(const char *setting, float **y, float **grads, int64_t *np, int32_t n)
{
    pd_error err;
    pd_ae_geometry g = ae_geometry_medium(2048);
    pd_ae *ae = NULL;
    if (!blas_gemm_select(setting) || ae_create(&ae, be, &g, n, 1, &err) != PD_OK)
        return tap_ok(0, "ae (%s) created", setting);
    ae_init_params(ae, 3);
    *np = ae_param_count(ae);
    float *x = backend_alloc_floats(be, (int64_t)n * g.d), *r = backend_alloc_floats(be, (int64_t)n * g.d);
    fill(x, (int64_t)n * g.d, 41, 1.0f); /* at 0.1 the gradients are ill-conditioned: OpenBLAS's own
                                              * kernel sets (Haswell, SkylakeX) differ by 4 % there */
    fill(r, (int64_t)n * g.d, 42, 1.0f);
    *y = malloc((size_t)n * g.d * sizeof(float));
    *grads = malloc((size_t)*np * sizeof(float));
    be->fill(be, ae_grads(ae), *np, 0.0f);
    memcpy(*y, ae_forward(ae, x, n, 0.0f, 0.0f, 5, 1), (size_t)n * g.d * sizeof(float));
    ae_backward(ae, r, n);
    memcpy(*grads, ae_grads(ae), (size_t)*np * sizeof(float));
    ae_free(ae);
    be->free(be, x);
    be->free(be, r);
    return 1;
}

static void test_ae(void)
{
    const int32_t n = 6;
    const char *settings[3] = {"blas", "default", "own"};
    float *y[3], *grads[3];
    int64_t np = 0;
    for (int s = 0; s < 3; s++)
        if (!ae_run(settings[s], &y[s], &grads[s], &np, n))
            return;
    for (int s = 1; s < 3; s++) {
        compare("ae (medium, D = 2048) forward", settings[s], y[s], y[0], (int64_t)n * 2048);
        compare("ae (medium, D = 2048) gradients", settings[s], grads[s], grads[0], np);
    }
    for (int s = 0; s < 3; s++) {
        free(y[s]);
        free(grads[s]);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    /* the kernels pdiff itself would run (main.c): OpenBLAS 0.3.21 falls back to its generic ones on CPUs it
     * does not know, and pdiff then restarts with the right family */
    const char *better = blas_better_core();
    if (better && !getenv("OPENBLAS_CORETYPE") && setenv("OPENBLAS_CORETYPE", better, 1) == 0)
        execv("/proc/self/exe", argv);
    if (!blas_own_kernel())
        return tap_skip_all("this CPU has no AVX-512 (pdiff's own GEMM kernel does not run; OpenBLAS does it all)");
    pd_error err;
    if (backend_cpu_create(&be, 2, &err) != PD_OK) {
        tap_ok(0, "cpu backend: %s", err.msg);
        return tap_done();
    }
    test_unet();
    test_ae();
    blas_gemm_select("default");
    backend_destroy(be);
    return tap_done();
}
