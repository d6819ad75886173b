/* vecnorm.h — how the K collected vectors are scaled before the autoencoder sees them (the `normalize` setting).
 *
 * Each coordinate j gets a mean[j] and a std[j] (float), fitted on the K vectors [k, d]:
 *   none        mean 0, std 1: the raw vectors (as the official p-diff v1 code);
 *   tensor      one mean and one std (population, over the K vectors and the tensor's numbers) per target tensor,
 *               the tensors' sizes in order summing to d (as the official v3 code);
 *   coordinate  one mean and std per coordinate, over the K vectors (pdiff's default).
 * Means and sums are taken in double and rounded to float once. A coordinate that never moves — its own std
 * (coordinate mode) or its tensor's std (tensor mode) at most 1e-12 — is PINNED: std[j] = 0 and mean[j] = its
 * value (its mean over the K vectors). Scaling x = (v - mean) / std gives 0 for a pinned coordinate, and the
 * inverse v = x std + mean gives back exactly mean[j] whatever the decoder produced, so a constant coordinate is
 * reproduced exactly instead of being decoded with an error.
 *
 * state/ae.bin keeps mean and std [d]; a file written before pinning existed has std 1 where a coordinate was
 * constant and decodes as before.
 */
#ifndef PD_VECNORM_H
#define PD_VECNORM_H

#include <stdint.h>

#include "error.h"

typedef enum { PD_VECNORM_NONE, PD_VECNORM_TENSOR, PD_VECNORM_COORDINATE } pd_vecnorm_mode;

/* "none" | "tensor" | "coordinate"; PD_ERR_CONFIG naming normalize otherwise. */
pd_status vecnorm_mode_parse(const char *name, pd_vecnorm_mode *mode, pd_error *err);

/* mean, std [d] for vecs [k, d] (k >= 1). tensor mode needs the n_tensors sizes (summing to d; PD_ERR_CONFIG
 * otherwise); the other modes ignore them. */
pd_status vecnorm_fit(const float *vecs, int32_t k, int64_t d, pd_vecnorm_mode mode, const int64_t *sizes,
                      int32_t n_tensors, float *mean, float *std, pd_error *err);
/* x [n, d] = (v - mean) / std per coordinate, 0 where pinned (std 0). x may alias v. */
void vecnorm_apply(const float *v, int32_t n, int64_t d, const float *mean, const float *std, float *x);
/* x [n, d] = x std + mean in place, mean where pinned (std 0). */
void vecnorm_invert(float *x, int32_t n, int64_t d, const float *mean, const float *std);
/* PD_ERR_STATE naming what (a file) when a mean is not finite or a std not finite and >= 0. */
pd_status vecnorm_check(const char *what, const float *mean, const float *std, int64_t d, pd_error *err);

#endif
