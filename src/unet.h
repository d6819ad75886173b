/* unet.h — the latent denoiser of p-diff: a 1-D convolutional UNet without down-sampling (doc/design.md §9).
 *
 * Input x [n, 1, L] (a flattened latent of L numbers) and per-sample timesteps t [n] (device int32). Every block
 * keeps the length L: block(cin, cmid, cout) = [LeakyReLU (not on the first), InstanceNorm, Conv1d(cin->cmid, 3,
 * pad 1), LeakyReLU, InstanceNorm, Conv1d(cmid->cout, 3, pad 1)]. With channels (c0, c1, c2, c3):
 *   encoder: e1 = block(1, c0, c0), e2 = block(c0, c1, c1), e3 = block(c1, c2, c2), e4 = block(c2, c3, c3)
 *   decoder: d1 = block(c3, c2, c2), d2 = block(c2, c1, c1), d3 = block(c1, c0, c0), d4 = block(c0, c0, 1)
 *   te = table[t] [n, 1, L] (a learned T x L table, PyTorch nn.Embedding init N(0,1)) added, broadcast over
 *   channels, to every block's input:
 *   h1 = e1(x + te); h2 = e2(h1 + te); h3 = e3(h2 + te); h4 = e4(h3 + te);
 *   g = d1(h4 + te) + h3; g = d2(g + te) + h2; g = d3(g + te) + h1; out = d4(g + te)
 * Each sample gets its own timestep's embedding. LeakyReLU slope 0.01, InstanceNorm eps 1e-5, no affine.
 * Parameter order as PyTorch registers them: e1..e4 (each conv a weight, bias, conv b weight, bias), d1..d4, then
 * the table. 64,128,256,512 with L = 12, T = 1000 has 2 362 273 parameters.
 */
#ifndef PD_UNET_H
#define PD_UNET_H

#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "error.h"

typedef struct {
    int32_t length;       /* L */
    int32_t channels[4];
    int32_t timesteps;    /* T, rows of the embedding table */
} pd_unet_geometry;

typedef struct pd_unet pd_unet;

/* The geometry configuration c asks for with latents of `length` numbers (ddpm_channels, timesteps); PD_ERR_CONFIG
 * when ddpm_channels is not 4 channel counts. The ddpm stage, generate and the plan use it. */
pd_status unet_geometry_config(const pd_config *c, int32_t length, pd_unet_geometry *g, pd_error *err);

pd_status unet_create(pd_unet **out, pd_backend *be, const pd_unet_geometry *g, int32_t max_batch, int trainable,
                      pd_error *err);
void unet_free(pd_unet *u); /* NULL is a no-op */
void unet_init_params(pd_unet *u, uint64_t seed);
const pd_unet_geometry *unet_geometry(const pd_unet *u);
int32_t unet_max_batch(const pd_unet *u); /* the largest n of unet_forward */
int64_t unet_param_count(const pd_unet *u);
float *unet_params(pd_unet *u);
float *unet_grads(pd_unet *u);
float *unet_adam_m(pd_unet *u);
float *unet_adam_v(pd_unet *u);

/* eps_pred [n, 1, L] (device, owned by the unet) for x [n, 1, L] and t [n] (device). */
const float *unet_forward(pd_unet *u, const float *x, const int32_t *t, int32_t n);
/* Backward of the latest forward; accumulates into unet_grads(). din of x is not needed and not computed. The
 * parameters must not change between the forward and its backward (the backward reuses the weights the forward
 * prepared). */
void unet_backward(pd_unet *u, const float *deps, int32_t n);
/* For many forwards with fixed parameters (sampling): unet_freeze(u, 1) prepares the convolution weights once
 * and every unet_forward reuses them until unet_freeze(u, 0); the parameters must not change in between.
 * Unfrozen (the default), every unet_forward prepares them afresh. */
void unet_freeze(pd_unet *u, int frozen);

#endif
