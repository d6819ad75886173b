/* ae.h — the parameter autoencoder of p-diff (doc/design.md §1 step 2, geometry in §9).
 *
 * Input vectors x [n, d] are zero-padded to dp = floor(d / fold^4 + 1) fold^4 and viewed as [n, 1, dp].
 * Encoder layer i (i = 0..3), channels c = (enc0, enc0, enc1, enc2, enc3):
 *   [LeakyReLU (not on layer 0), InstanceNorm, Conv1d(c_i -> c_i, k, stride 1, pad 1) (layer 0 takes 1 channel),
 *    LeakyReLU, InstanceNorm, Conv1d(c_i -> c_{i+1}, k, stride fold, pad 0)], tanh after layer 3.
 * Decoder layer i, channels c = (dec0, dec1, dec2, dec3, 1):
 *   [LeakyReLU, InstanceNorm, ConvTranspose1d(c_i -> c_i, k, stride fold, pad 0), LeakyReLU, InstanceNorm,
 *    Conv1d(c_i -> c_{i+1}, k, stride 1, pad fold-1; the last layer pad fold)], output cropped to d.
 * LeakyReLU slope 0.01, InstanceNorm eps 1e-5 without affine parameters. small (fold 3, k 3, enc 2,2,2,2,
 * dec 2,64,64,8) has 39 393 parameters for d = 2048 with latent 2x26; medium (fold 5, k 5, enc 4,4,4,4,
 * dec 4,256,256,8) has 1 000 497 with latent 4x3. Parameters are one block in PyTorch's registration order
 * (encoder layers 0..3 each conv a weight, bias, conv b weight, bias; then the decoder likewise).
 *
 * Training (ae_train_step): x' = (1 - a) x + a N(0,1); z = encode(x'); z' = clamp((1 - b) z + b N(0,1), -1, 1);
 * loss = mean (decode(z') - x)^2 against the clean x; backward; AdamW (beta 0.9, 0.999, eps 1e-8).
 * The noise of step s is drawn from counter-based streams of (seed, s), so a resumed run repeats exactly.
 *
 *   pd_ae *ae; pd_ae_geometry g = ae_geometry_small(256);
 *   ae_create(&ae, be, &g, 200, 1, &err); ae_init_params(ae, seed);
 *   for (s = 1; s <= steps; s++) ae_train_step(ae, x, n, &opts, s);
 *   float loss = ae_take_loss(ae);                 // mean loss of the steps since the last call
 *   const float *z = ae_encode(ae, x, n);          // [n, latent_channels, latent_length], no noise
 *   const float *y = ae_decode(ae, z, n);          // [n, d]
 */
#ifndef PD_AE_H
#define PD_AE_H

#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "error.h"

typedef struct {
    int32_t d;          /* vector length */
    int32_t fold, kernel;
    int32_t enc[4], dec[4];
} pd_ae_geometry;

typedef struct {
    float input_noise, latent_noise; /* a and b */
    float lr, weight_decay;
    uint64_t seed;                   /* noise streams */
} pd_ae_train_opts;

typedef struct pd_ae pd_ae;

pd_ae_geometry ae_geometry_small(int32_t d);
pd_ae_geometry ae_geometry_medium(int32_t d);
/* Check a geometry (fold >= 2, kernel >= 1, positive channels, enc[3] == dec[0] (the latent's channels), every
 * instance-normalised length >= 2 (PyTorch refuses 1; a latent of length 1 would be ignored by the decoder), the
 * decoder output at least d long); PD_ERR_CONFIG naming it. */
pd_status ae_geometry_check(const pd_ae_geometry *g, pd_error *err);
/* The geometry configuration c asks for with vectors of length d (ae = small | medium, or custom from ae_enc,
 * ae_dec, ae_fold, ae_kernel), checked; PD_ERR_CONFIG naming the key. The ae stage, generate and the plan use it. */
pd_status ae_geometry_config(const pd_config *c, int64_t d, pd_ae_geometry *g, pd_error *err);

pd_status ae_create(pd_ae **out, pd_backend *be, const pd_ae_geometry *g, int32_t max_batch, int trainable,
                    pd_error *err);
void ae_free(pd_ae *ae); /* NULL is a no-op */
/* PyTorch's default init (Conv1d: U(+-1/sqrt(cin k)), ConvTranspose1d: U(+-1/sqrt(cout k)), biases alike). */
void ae_init_params(pd_ae *ae, uint64_t seed);

const pd_ae_geometry *ae_geometry(const pd_ae *ae);
int32_t ae_padded_length(const pd_ae *ae);
int32_t ae_latent_channels(const pd_ae *ae);
int32_t ae_latent_length(const pd_ae *ae);
int64_t ae_latent_size(const pd_ae *ae);   /* channels x length */
int64_t ae_param_count(const pd_ae *ae);
float *ae_params(pd_ae *ae);    /* device, [param_count] */
float *ae_grads(pd_ae *ae);     /* trainable only */
float *ae_adam_m(pd_ae *ae);    /* trainable only */
float *ae_adam_v(pd_ae *ae);    /* trainable only */

/* Full forward for training with noise a and b drawn from streams (seed, step): returns the reconstruction
 * [n, d] (device, owned by the ae). a = b = 0 gives the noise-free forward (golden tests). */
const float *ae_forward(pd_ae *ae, const float *x, int32_t n, float a, float b, uint64_t seed, int64_t step);
/* Backward of the latest ae_forward given d(loss)/d(output) [n, d]; accumulates into ae_grads(). */
void ae_backward(pd_ae *ae, const float *dout, int32_t n);
/* One optimisation step (forward, MSE against x, backward, AdamW with step number `step` >= 1). */
void ae_train_step(pd_ae *ae, const float *x, int32_t n, const pd_ae_train_opts *o, int64_t step);
/* Mean training loss of the steps since the previous call (NaN if none). */
float ae_take_loss(pd_ae *ae);
/* The loss accumulated since the previous ae_take_loss (a sum over `count` steps), read without taking it, and
 * put back (a checkpoint saves it, so the first loss point after a resume is the same as without the stop). */
void ae_loss_window(pd_ae *ae, float *sum, int64_t *count);
void ae_loss_window_set(pd_ae *ae, float sum, int64_t count);

/* Noise-free encode [n, d] -> latent [n, latent_channels, latent_length] (after tanh) and decode back to
 * [n, d]. Results are device memory owned by the ae, valid until the next call of the same function. Both reuse
 * the layer buffers of ae_forward: run ae_backward before them. */
const float *ae_encode(pd_ae *ae, const float *x, int32_t n);
const float *ae_decode(pd_ae *ae, const float *z, int32_t n);

#endif
