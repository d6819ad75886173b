/* test_gen.c — the generator side's small pieces: the normalisation of the collected vectors (vecnorm.c: none,
 * per tensor against a hand computation on a two-tensor target, per coordinate, pinning of what never moves,
 * old ae.bin values, the checks of a loaded mean/std) and the EMA of the denoiser's weights (ddpm_ema_update) on
 * the CPU backend, and on the CUDA backend when there is a GPU. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ddpm.h"
#include "tap.h"
#include "vecnorm.h"

/* Two vectors (k = 2) over a target of two tensors, 3 + 2 numbers. */
static const float two_tensor[2][5] = {{1.0f, 2.0f, 3.0f, 0.0f, 2.0f}, {3.0f, 4.0f, 5.0f, 4.0f, 2.0f}};

static void test_tensor(void)
{
    pd_error err;
    float mean[5], std[5], x[10], back[10];
    const int64_t sizes[2] = {3, 2};
    tap_ok(vecnorm_fit(&two_tensor[0][0], 2, 5, PD_VECNORM_TENSOR, sizes, 2, mean, std, &err) == PD_OK,
           "tensor: fitted on 2 tensors");
    /* tensor 0: 1 2 3 3 4 5: mean 3, population variance (4+1+0+0+1+4)/6; tensor 1: 0 2 4 2: mean 2, variance 2 */
    float m0 = 3.0f, s0 = (float)sqrt(10.0 / 6.0), m1 = 2.0f, s1 = (float)sqrt(2.0);
    int same = 1;
    for (int j = 0; j < 5; j++)
        same &= mean[j] == (j < 3 ? m0 : m1) && std[j] == (j < 3 ? s0 : s1);
    tap_ok(same, "tensor: one mean/std per tensor as computed by hand (3, %g | 2, %g), got %g %g | %g %g",
           (double)s0, (double)s1, (double)mean[0], (double)std[0], (double)mean[4], (double)std[4]);
    vecnorm_apply(&two_tensor[0][0], 2, 5, mean, std, x);
    tap_ok(x[0] == (1.0f - m0) / s0 && x[8] == (4.0f - m1) / s1, "tensor: x = (v - mean) / std");
    memcpy(back, x, sizeof x);
    vecnorm_invert(back, 2, 5, mean, std);
    tap_close("tensor: invert(apply(v)) = v", back, &two_tensor[0][0], 10, 1e-6, 1e-6);
    const int64_t wrong[2] = {3, 3};
    tap_ok(vecnorm_fit(&two_tensor[0][0], 2, 5, PD_VECNORM_TENSOR, wrong, 2, mean, std, &err) == PD_ERR_CONFIG &&
               strstr(err.msg, "normalize"),
           "tensor: sizes that do not sum to d are refused: %s", err.msg);
}

static void test_none_and_coordinate(void)
{
    pd_error err;
    float mean[5], std[5];
    vecnorm_fit(&two_tensor[0][0], 2, 5, PD_VECNORM_NONE, NULL, 0, mean, std, &err);
    int raw = 1;
    for (int j = 0; j < 5; j++)
        raw &= mean[j] == 0.0f && std[j] == 1.0f;
    tap_ok(raw, "none: mean 0, std 1 everywhere");
    vecnorm_fit(&two_tensor[0][0], 2, 5, PD_VECNORM_COORDINATE, NULL, 0, mean, std, &err);
    tap_ok(mean[0] == 2.0f && std[0] == 1.0f && mean[3] == 2.0f && std[3] == 2.0f,
           "coordinate: per coordinate (2, 1) and (2, 2), got (%g, %g) (%g, %g)", (double)mean[0], (double)std[0],
           (double)mean[3], (double)std[3]);
    pd_vecnorm_mode m;
    tap_ok(vecnorm_mode_parse("tensor", &m, &err) == PD_OK && m == PD_VECNORM_TENSOR &&
               vecnorm_mode_parse("coordinate", &m, &err) == PD_OK && m == PD_VECNORM_COORDINATE &&
               vecnorm_mode_parse("none", &m, &err) == PD_OK && m == PD_VECNORM_NONE,
           "mode names parse");
    tap_ok(vecnorm_mode_parse("global", &m, &err) == PD_ERR_CONFIG && strstr(err.msg, "normalize"),
           "an unknown mode is refused: %s", err.msg);
}

/* A coordinate that never moves decodes to its exact value whatever the decoder says. */
static void test_pinning(void)
{
    pd_error err;
    const float c = 0.3141592f; /* not a power of two: out * 1 + mean would round */
    float v[3][3] = {{1.0f, c, -2.0f}, {1.5f, c, -2.0f}, {0.5f, c, -2.0f}}, mean[3], std[3], x[9];
    vecnorm_fit(&v[0][0], 3, 3, PD_VECNORM_COORDINATE, NULL, 0, mean, std, &err);
    tap_ok(std[1] == 0.0f && mean[1] == c && std[2] == 0.0f && mean[2] == -2.0f && std[0] > 0.0f,
           "coordinate: constant coordinates pinned (std 0, mean = the value)");
    vecnorm_apply(&v[0][0], 3, 3, mean, std, x);
    tap_ok(x[1] == 0.0f && x[4] == 0.0f && x[7] == 0.0f && isfinite(x[0]), "pinned coordinates enter the AE as 0");
    float out[3] = {0.37f, 12.5f, -3.0f}; /* what a decoder might produce */
    vecnorm_invert(out, 1, 3, mean, std);
    tap_ok(out[1] == c && out[2] == -2.0f, "a pinned coordinate decodes to its exact value (%.9g, want %.9g)",
           (double)out[1], (double)c);
    tap_ok(out[0] == 0.37f * std[0] + mean[0], "a moving coordinate decodes as out * std + mean");
    /* tensor mode: a tensor that never moves is pinned, coordinate by coordinate; one that moves is not, even with
     * constant coordinates ({c, -2} differ) */
    const int64_t sizes[2] = {1, 2};
    float t[3][3] = {{1.0f, c, c}, {1.5f, c, c}, {0.5f, c, c}};
    vecnorm_fit(&t[0][0], 3, 3, PD_VECNORM_TENSOR, sizes, 2, mean, std, &err);
    tap_ok(std[1] == 0.0f && std[2] == 0.0f && mean[1] == c && mean[2] == c && std[0] > 0.0f,
           "tensor: a constant tensor is pinned to its values");
    vecnorm_fit(&v[0][0], 3, 3, PD_VECNORM_TENSOR, sizes, 2, mean, std, &err);
    tap_ok(std[1] > 0.0f && std[1] == std[2], "tensor: a tensor whose numbers differ is scaled, not pinned");
    /* an ae.bin written before pinning: std 1 on a constant coordinate, decoded as before */
    float old_mean[1] = {c}, old_std[1] = {1.0f}, o[1] = {0.25f};
    vecnorm_invert(o, 1, 1, old_mean, old_std);
    tap_ok(o[0] == 0.25f * 1.0f + c, "an old file's std 1 decodes as out * 1 + mean, as before");
}

static void test_check(void)
{
    pd_error err;
    float mean[2] = {1.0f, 2.0f}, std[2] = {0.0f, 0.5f};
    tap_ok(vecnorm_check("ae.bin", mean, std, 2, &err) == PD_OK, "check: std 0 (pinned) is accepted");
    std[1] = -1.0f;
    tap_ok(vecnorm_check("ae.bin", mean, std, 2, &err) == PD_ERR_STATE && strstr(err.msg, "ae.bin: std[1] is -1"),
           "check: a negative std is refused: %s", err.msg);
    std[1] = 1.0f;
    mean[0] = NAN;
    tap_ok(vecnorm_check("ae.bin", mean, std, 2, &err) == PD_ERR_STATE && strstr(err.msg, "mean[0]"),
           "check: a NaN mean is refused: %s", err.msg);
}

/* ema_0 = w_0, then ema = 0.5 ema + 0.5 w after each of 3 steps: 1/8 w0 + 1/8 w1 + 1/4 w2 + 1/2 w3 exactly;
 * decay 0.9 against the rule computed here in float. */
static void test_ema(pd_backend *be, const char *name)
{
    enum { N = 1000, STEPS = 3 };
    float *w[STEPS + 1], *hand = malloc(N * sizeof *hand), *got = malloc(N * sizeof *got);
    float *ref = malloc(N * sizeof *ref);
    float *dw = be->alloc(be, N * sizeof(float)), *dema = be->alloc(be, N * sizeof(float));
    for (int s = 0; s <= STEPS; s++) {
        w[s] = malloc(N * sizeof *w[s]);
        for (int i = 0; i < N; i++)
            w[s][i] = (float)((i * 7 + s * 13) % 64 - 32) / 16.0f; /* dyadic: every average exact */
    }
    for (double decay = 0.5; decay < 1.0; decay += 0.4) {
        be->upload(be, dema, w[0], N * sizeof(float));
        memcpy(ref, w[0], N * sizeof *ref);
        float b = (float)decay, a = 1.0f - b;
        for (int s = 1; s <= STEPS; s++) {
            be->upload(be, dw, w[s], N * sizeof(float));
            ddpm_ema_update(be, dema, dw, N, decay);
            for (int i = 0; i < N; i++)
                ref[i] = a * w[s][i] + b * ref[i];
        }
        be->download(be, got, dema, N * sizeof(float));
        if (decay == 0.5) {
            for (int i = 0; i < N; i++)
                hand[i] = 0.125f * w[0][i] + 0.125f * w[1][i] + 0.25f * w[2][i] + 0.5f * w[3][i];
            tap_ok(memcmp(got, hand, N * sizeof *got) == 0,
                   "%s: EMA decay 0.5 after 3 steps = w0/8 + w1/8 + w2/4 + w3/2 exactly", name);
        } else {
            tap_close("EMA decay 0.9 follows ema = 0.9 ema + 0.1 w", got, ref, N, 1e-6, 1e-6);
        }
    }
    for (int s = 0; s <= STEPS; s++)
        free(w[s]);
    be->free(be, dw);
    be->free(be, dema);
    free(hand);
    free(got);
    free(ref);
}

int main(void)
{
    pd_error err;
    test_tensor();
    test_none_and_coordinate();
    test_pinning();
    test_check();
    pd_backend *be;
    if (backend_create(&be, PD_BACKEND_CPU, 2, &err) != PD_OK) {
        tap_ok(0, "cpu backend: %s", err.msg);
        return tap_done();
    }
    test_ema(be, "cpu");
    backend_destroy(be);
    if (backend_create(&be, PD_BACKEND_CUDA, 2, &err) == PD_OK) {
        test_ema(be, "cuda");
        backend_destroy(be);
    } else {
        tap_diag("EMA on CUDA not tested: %s", err.msg);
    }
    return tap_done();
}
