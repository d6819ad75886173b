/* test_golden_pdiff.c — the autoencoder, the UNet and the DDPM schedule against values dumped by PyTorch
 * (tests/gen_golden_pdiff.py; fixtures in $top_srcdir/tests/fixtures, else ../tests/fixtures): outputs, loss,
 * every parameter gradient, the latent, and the sampler coefficients, compared with |a - b| <= atol + rtol |b|. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae.h"
#include "backend.h"
#include "ddpm.h"
#include "state.h"
#include "tap.h"
#include "unet.h"

static pd_backend *be;

/* $top_srcdir/tests/fixtures/NAME (make check sets top_srcdir); else tests/fixtures (run from the top of an in-tree
 * build), else ../tests/fixtures (run from tests/). */
static pd_state *load_fixture(const char *name)
{
    char path[4096];
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        snprintf(path, sizeof path, "%s/tests/fixtures/%s", top, name);
    } else {
        snprintf(path, sizeof path, "tests/fixtures/%s", name);
        if (access(path, R_OK) != 0)
            snprintf(path, sizeof path, "../tests/fixtures/%s", name);
    }
    pd_state *s = NULL;
    pd_error err;
    if (state_load(&s, path, "golden", &err) != PD_OK) {
        tap_ok(0, "load %s: %s", path, err.msg);
        return NULL;
    }
    return s;
}

static const void *get(const pd_state *s, const char *name, pd_dtype dt, int64_t count)
{
    pd_error err;
    const void *p = state_get(s, name, dt, count, NULL, &err);
    if (!p)
        tap_ok(0, "fixture section %s: %s", name, err.msg);
    return p;
}

static float *dev_copy(const float *src, int64_t n)
{
    float *p = backend_alloc_floats(be, n);
    be->upload(be, p, src, (size_t)n * sizeof *p);
    return p;
}

static void test_ae(void)
{
    pd_state *s = load_fixture("golden_ae.bin");
    if (!s)
        return;
    pd_error err;
    pd_ae_geometry g = ae_geometry_small(256);
    pd_ae *ae = NULL;
    const int32_t n = 4;
    if (ae_create(&ae, be, &g, n, 1, &err) != PD_OK) {
        tap_ok(0, "ae: %s", err.msg);
        state_free(s);
        return;
    }
    int64_t np = ae_param_count(ae), lat = ae_latent_size(ae);
    const float *params = get(s, "params", PD_DTYPE_F32, np), *x = get(s, "x", PD_DTYPE_F32, n * g.d);
    const float *out = get(s, "out", PD_DTYPE_F32, n * g.d), *loss = get(s, "loss", PD_DTYPE_F32, 1);
    const float *grads = get(s, "grads", PD_DTYPE_F32, np), *latent = get(s, "latent", PD_DTYPE_F32, n * lat);
    if (params && x && out && loss && grads && latent) {
        ae_init_params(ae, 0);
        be->upload(be, ae_params(ae), params, (size_t)np * sizeof *params);
        float *xd = dev_copy(x, n * g.d);
        float *y = malloc((size_t)n * g.d * sizeof *y), *gr = malloc((size_t)np * sizeof *gr);
        be->download(be, y, ae_forward(ae, xd, n, 0.0f, 0.0f, 0, 1), (size_t)n * g.d * sizeof *y);
        tap_close("ae output", y, out, n * g.d, 2e-5, 1e-4);
        /* the loss and d loss / d out through the backend's mse, then backward */
        float *lacc = backend_alloc_floats(be, 1), *dy = backend_alloc_floats(be, n * g.d);
        be->mse(be, lacc, dy, ae_forward(ae, xd, n, 0.0f, 0.0f, 0, 1), xd, n * g.d);
        float l = 0.0f;
        be->download(be, &l, lacc, sizeof l);
        tap_close("ae mse loss", &l, loss, 1, 1e-7, 1e-5);
        be->fill(be, ae_grads(ae), np, 0.0f);
        ae_backward(ae, dy, n);
        be->download(be, gr, ae_grads(ae), (size_t)np * sizeof *gr);
        float gmax = 0.0f;
        for (int64_t i = 0; i < np; i++)
            gmax = fabsf(grads[i]) > gmax ? fabsf(grads[i]) : gmax;
        tap_close("ae parameter grads", gr, grads, np, 2e-5 * gmax, 1e-3);
        float *z = malloc((size_t)n * lat * sizeof *z);
        be->download(be, z, ae_encode(ae, xd, n), (size_t)n * lat * sizeof *z);
        tap_close("ae latent", z, latent, n * lat, 1e-5, 1e-4);
        free(z);
        free(y);
        free(gr);
        be->free(be, xd);
        be->free(be, lacc);
        be->free(be, dy);
    }
    ae_free(ae);
    state_free(s);
}

static void test_unet(void)
{
    pd_state *s = load_fixture("golden_unet.bin");
    if (!s)
        return;
    pd_error err;
    pd_unet_geometry g = {.length = 8, .channels = {8, 16, 32, 64}, .timesteps = 50};
    pd_unet *u = NULL;
    const int32_t n = 4, L = 8;
    if (unet_create(&u, be, &g, n, 1, &err) != PD_OK) {
        tap_ok(0, "unet: %s", err.msg);
        state_free(s);
        return;
    }
    int64_t np = unet_param_count(u);
    const float *params = get(s, "params", PD_DTYPE_F32, np), *x = get(s, "x", PD_DTYPE_F32, n * L);
    const int32_t *t = get(s, "t", PD_DTYPE_I32, n);
    const float *r = get(s, "r", PD_DTYPE_F32, n * L), *out = get(s, "out", PD_DTYPE_F32, n * L);
    const float *grads = get(s, "grads", PD_DTYPE_F32, np);
    if (params && x && t && r && out && grads) {
        be->upload(be, unet_params(u), params, (size_t)np * sizeof *params);
        float *xd = dev_copy(x, n * L), *rd = dev_copy(r, n * L);
        int32_t *td = backend_alloc_ints(be, n);
        be->upload(be, td, t, (size_t)n * sizeof *t);
        float *y = malloc((size_t)n * L * sizeof *y), *gr = malloc((size_t)np * sizeof *gr);
        be->download(be, y, unet_forward(u, xd, td, n), (size_t)n * L * sizeof *y);
        tap_close("unet output", y, out, n * L, 1e-5, 1e-4);
        be->fill(be, unet_grads(u), np, 0.0f);
        unet_backward(u, rd, n);
        be->download(be, gr, unet_grads(u), (size_t)np * sizeof *gr);
        float gmax = 0.0f;
        for (int64_t i = 0; i < np; i++)
            gmax = fabsf(grads[i]) > gmax ? fabsf(grads[i]) : gmax;
        int64_t tab = np - (int64_t)g.timesteps * L;
        tap_close("unet conv parameter grads", gr, grads, tab, 2e-5 * gmax, 1e-3);
        tap_close("unet embedding grads", gr + tab, grads + tab, np - tab, 2e-5 * gmax, 1e-3);
        free(y);
        free(gr);
        be->free(be, xd);
        be->free(be, rd);
        be->free(be, td);
    }
    unet_free(u);
    state_free(s);
}

static void test_ddpm(void)
{
    pd_state *s = load_fixture("golden_ddpm.bin");
    if (!s)
        return;
    pd_error err;
    const int32_t T = 1000, S = 50;
    pd_ddpm_schedule sc;
    if (ddpm_schedule_init(&sc, be, T, 1e-4, 2e-2, &err) != PD_OK) {
        tap_ok(0, "schedule: %s", err.msg);
        state_free(s);
        return;
    }
    const double *beta = get(s, "beta", PD_DTYPE_F64, T), *ab = get(s, "alpha_bar", PD_DTYPE_F64, T);
    const char *names[5] = {"ca", "cb", "c1", "c2", "sigma"};
    const float *want[5];
    int ok = beta && ab;
    for (int k = 0; k < 5; k++)
        ok = (want[k] = get(s, names[k], PD_DTYPE_F32, T)) != NULL && ok;
    const float *sab = get(s, "sqrt_ab", PD_DTYPE_F32, T), *s1m = get(s, "sqrt_1mab", PD_DTYPE_F32, T);
    const int32_t *dt = get(s, "ddim_t", PD_DTYPE_I32, S);
    const float *dc1 = get(s, "ddim_c1", PD_DTYPE_F32, S), *dc2 = get(s, "ddim_c2", PD_DTYPE_F32, S);
    if (ok && sab && s1m && dt && dc1 && dc2) {
        double wb = 0.0, wa = 0.0;
        for (int32_t i = 0; i < T; i++) {
            wb = fmax(wb, fabs(sc.beta[i] - beta[i]) / beta[i]);
            wa = fmax(wa, fabs(sc.alpha_bar[i] - ab[i]) / ab[i]);
        }
        tap_ok(wb < 1e-14, "beta vs torch.linspace(float64): max rel diff %.3g", wb);
        tap_ok(wa < 1e-14, "alpha_bar vs torch.cumprod: max rel diff %.3g", wa);
        float *got = malloc((size_t)T * sizeof *got);
        be->download(be, got, sc.sqrt_ab, (size_t)T * sizeof *got);
        tap_close("sqrt_ab", got, sab, T, 0, 1e-6);
        be->download(be, got, sc.sqrt_1mab, (size_t)T * sizeof *got);
        tap_close("sqrt_1mab", got, s1m, T, 0, 1e-6);
        for (int k = 0; k < 5; k++) {
            for (int32_t i = 0; i < T; i++) {
                pd_ddpm_coefs c = ddpm_step_coefs(&sc, PD_SAMPLER_DDPM, i, i - 1);
                const float v[5] = {c.ca, c.cb, c.c1, c.c2, c.sigma};
                got[i] = v[k];
            }
            char nm[32];
            snprintf(nm, sizeof nm, "ddpm sampler %s", names[k]);
            tap_close(nm, got, want[k], T, 1e-7, 1e-6);
        }
        int32_t ts[50];
        int32_t m = ddpm_ddim_timesteps(T, S, ts);
        tap_ok(m == S && memcmp(ts, dt, sizeof ts) == 0, "ddim timesteps (%d of them)", m);
        float g1[50], g2[50];
        for (int32_t j = 0; j < S; j++) {
            pd_ddpm_coefs c = ddpm_step_coefs(&sc, PD_SAMPLER_DDIM, ts[j], j ? ts[j - 1] : -1);
            g1[j] = c.c1;
            g2[j] = c.c2;
        }
        tap_close("ddim c1", g1, dc1, S, 1e-7, 1e-6);
        tap_close("ddim c2", g2, dc2, S, 1e-7, 1e-6);
        free(got);
    }
    ddpm_schedule_free(&sc);
    state_free(s);
}

int main(void)
{
    pd_error err;
    if (backend_cpu_create(&be, 2, &err) != PD_OK) {
        tap_ok(0, "cpu backend: %s", err.msg);
        return tap_done();
    }
    test_ae();
    test_unet();
    test_ddpm();
    backend_destroy(be);
    return tap_done();
}
