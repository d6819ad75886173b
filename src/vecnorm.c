/* vecnorm.c — the scaling of the collected vectors for the autoencoder (see vecnorm.h). */
#include "vecnorm.h"

#include <math.h>
#include <string.h>

/* A spread at most this is no spread: the coordinate (or tensor) is pinned. */
#define VECNORM_PIN_STD 1e-12

pd_status vecnorm_mode_parse(const char *name, pd_vecnorm_mode *mode, pd_error *err)
{
    if (strcmp(name, "none") == 0)
        *mode = PD_VECNORM_NONE;
    else if (strcmp(name, "tensor") == 0)
        *mode = PD_VECNORM_TENSOR;
    else if (strcmp(name, "coordinate") == 0)
        *mode = PD_VECNORM_COORDINATE;
    else
        return error_set(err, PD_ERR_CONFIG, "normalize: must be none, tensor or coordinate, got '%s'", name);
    return PD_OK;
}

/* Mean and population std of the numbers vecs[i, lo..hi) over the k vectors, in double. */
static void vecnorm_moments(const float *vecs, int32_t k, int64_t d, int64_t lo, int64_t hi, double *mean,
                            double *sd)
{
    double s = 0.0, s2 = 0.0, n = (double)k * (double)(hi - lo);
    for (int32_t i = 0; i < k; i++)
        for (int64_t j = lo; j < hi; j++)
            s += vecs[(int64_t)i * d + j];
    *mean = s / n;
    for (int32_t i = 0; i < k; i++)
        for (int64_t j = lo; j < hi; j++) {
            double dv = vecs[(int64_t)i * d + j] - *mean;
            s2 += dv * dv;
        }
    *sd = sqrt(s2 / n);
}

/* Coordinates lo..hi-1 pinned to their own means. */
static void vecnorm_pin(const float *vecs, int32_t k, int64_t d, int64_t lo, int64_t hi, float *mean, float *std)
{
    for (int64_t j = lo; j < hi; j++) {
        double m, sd;
        vecnorm_moments(vecs, k, d, j, j + 1, &m, &sd);
        mean[j] = (float)m;
        std[j] = 0.0f;
    }
}

pd_status vecnorm_fit(const float *vecs, int32_t k, int64_t d, pd_vecnorm_mode mode, const int64_t *sizes,
                      int32_t n_tensors, float *mean, float *std, pd_error *err)
{
    if (mode == PD_VECNORM_NONE) {
        for (int64_t j = 0; j < d; j++) {
            mean[j] = 0.0f;
            std[j] = 1.0f;
        }
        return PD_OK;
    }
    if (mode == PD_VECNORM_COORDINATE) {
        for (int64_t j = 0; j < d; j++) {
            double m, sd;
            vecnorm_moments(vecs, k, d, j, j + 1, &m, &sd);
            mean[j] = (float)m;
            std[j] = sd > VECNORM_PIN_STD ? (float)sd : 0.0f;
        }
        return PD_OK;
    }
    int64_t total = 0;
    for (int32_t t = 0; t < n_tensors; t++)
        total += sizes[t] > 0 ? sizes[t] : 0;
    if (total != d)
        return error_set(err, PD_ERR_CONFIG, "normalize=tensor: the target's tensors hold %lld numbers, the vectors "
                         "%lld", (long long)total, (long long)d);
    int64_t lo = 0;
    for (int32_t t = 0; t < n_tensors; t++) {
        int64_t hi = lo + sizes[t];
        double m = 0.0, sd = 0.0;
        if (hi > lo)
            vecnorm_moments(vecs, k, d, lo, hi, &m, &sd);
        if (hi > lo && sd > VECNORM_PIN_STD) {
            for (int64_t j = lo; j < hi; j++) {
                mean[j] = (float)m;
                std[j] = (float)sd;
            }
        } else {
            vecnorm_pin(vecs, k, d, lo, hi, mean, std);
        }
        lo = hi;
    }
    return PD_OK;
}

void vecnorm_apply(const float *v, int32_t n, int64_t d, const float *mean, const float *std, float *x)
{
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            int64_t at = (int64_t)i * d + j;
            x[at] = std[j] > 0.0f ? (v[at] - mean[j]) / std[j] : 0.0f;
        }
}

void vecnorm_invert(float *x, int32_t n, int64_t d, const float *mean, const float *std)
{
    for (int32_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            int64_t at = (int64_t)i * d + j;
            x[at] = std[j] > 0.0f ? x[at] * std[j] + mean[j] : mean[j];
        }
}

pd_status vecnorm_check(const char *what, const float *mean, const float *std, int64_t d, pd_error *err)
{
    for (int64_t j = 0; j < d; j++) {
        if (!isfinite(mean[j]))
            return error_set(err, PD_ERR_STATE, "%s: mean[%lld] is %g, not a finite number (rerun the ae stage)", what,
                             (long long)j, (double)mean[j]);
        if (!isfinite(std[j]) || !(std[j] >= 0.0f))
            return error_set(err, PD_ERR_STATE,
                             "%s: std[%lld] is %g, not a finite number >= 0 (0: pinned) (rerun the ae stage)", what,
                             (long long)j, (double)std[j]);
    }
    return PD_OK;
}
