/* ddpm.h — denoising diffusion on latents: schedule, training step, samplers (doc/design.md §1 step 3).
 *
 * Schedule: T steps, beta linear from beta_start to beta_end (computed in double, like torch.linspace on
 * float64), alpha_bar = cumprod(1 - beta). Training (epsilon prediction, MSE): t_b uniform in [0, T) per sample,
 * eps ~ N(0, 1), x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, loss = mean (unet(x_t, t) - eps)^2,
 * AdamW. Randomness of step s comes from counter-based streams of (seed, s), so resuming repeats exactly.
 *
 * Samplers: "ddpm" ancestral sampling over all T steps with the "fixed large" variance sigma_t^2 = beta_t and
 * the predicted x0 clamped to [-1, 1]:
 *   x0p = clamp(sqrt(1/ab_t) x - sqrt(1/ab_t - 1) eps, -1, 1)
 *   x = c1_t x0p + c2_t x (+ sqrt(beta_t) z when t > 0), c1 = beta sqrt(ab_prev)/(1-ab), c2 = (1-ab_prev) sqrt(1-beta)/(1-ab)
 * then x itself is clamped to [-1, 1] after every step (as the PyTorch reference); and "ddim" (eta = 0) over
 * ddim_steps timesteps evenly spaced in [0, T - 1] (ddpm_ddim_timesteps), same x0 clamp, deterministic given the
 * starting noise:
 *   x_prev = sqrt(ab_prev) x0p + sqrt(1 - ab_prev) (x - sqrt(ab_t) x0p) / sqrt(1 - ab_t), ab_prev = 1 at the end.
 * Both are backend diffusion_step calls with the coefficients of ddpm_step_coefs.
 */
#ifndef PD_DDPM_H
#define PD_DDPM_H

#include <stdint.h>

#include "backend.h"
#include "error.h"
#include "progress.h"
#include "unet.h"

typedef enum { PD_SAMPLER_DDPM, PD_SAMPLER_DDIM } pd_sampler;

typedef struct {
    int32_t T;
    double *beta, *alpha_bar;   /* host [T] */
    float *sqrt_ab, *sqrt_1mab; /* device [T] */
    pd_backend *be;
} pd_ddpm_schedule;

typedef struct {
    float lr, weight_decay;
    uint64_t seed;
} pd_ddpm_train_opts;

pd_status ddpm_schedule_init(pd_ddpm_schedule *s, pd_backend *be, int32_t T, double beta_start, double beta_end,
                             pd_error *err);
void ddpm_schedule_free(pd_ddpm_schedule *s);

/* Coefficients of one reverse step (backend diffusion_step): x0p = clamp(ca x - cb eps, -1, 1);
 * x = c1 x0p + c2 x + sigma z. ddpm: from t to t - 1 (t_prev is ignored); ddim: from t to t_prev (-1: the end).
 * Computed in double, rounded to float once. */
typedef struct {
    float ca, cb, c1, c2, sigma;
} pd_ddpm_coefs;
pd_ddpm_coefs ddpm_step_coefs(const pd_ddpm_schedule *s, pd_sampler sampler, int32_t t, int32_t t_prev);
/* The DDIM timesteps, ascending: round(j (T - 1) / (steps - 1)), j < steps (T - 1 alone when steps == 1); steps is
 * limited to [1, T]. Writes them to out (may be NULL) and returns how many there are. */
int32_t ddpm_ddim_timesteps(int32_t T, int32_t steps, int32_t *out);

/* One training step on x0 [n, L] (device) with step number `step` >= 1; returns nothing, the loss accumulates
 * (ddpm_take_loss). Scratch for t/eps/x_t is owned by a trainer object. */
typedef struct pd_ddpm_trainer pd_ddpm_trainer;
pd_status ddpm_trainer_create(pd_ddpm_trainer **out, pd_unet *u, const pd_ddpm_schedule *s, int32_t max_batch,
                              pd_error *err);
void ddpm_trainer_free(pd_ddpm_trainer *tr);
void ddpm_train_step(pd_ddpm_trainer *tr, const float *x0, int32_t n, const pd_ddpm_train_opts *o, int64_t step);
float ddpm_take_loss(pd_ddpm_trainer *tr); /* mean loss since the previous call (NaN if none) */
/* The loss sum of the `count` steps since the previous ddpm_take_loss, read without taking it, and put back (a
 * checkpoint's, so a resumed run logs the same loss points as one without the stop). */
void ddpm_loss_window(pd_ddpm_trainer *tr, float *sum, int64_t *count);
void ddpm_loss_window_set(pd_ddpm_trainer *tr, float sum, int64_t count);

/* The exponential moving average of the denoiser's weights (the ddpm_ema setting, decay in (0, 1)). With
 * b = (float)decay and a = 1 - b (in float, exact for decay >= 0.5, so a + b = 1):
 *   ema_0 = w_0 (the initial weights, copied by the caller),
 *   ema_s = b ema_{s-1} + a w_s   after every optimizer step s >= 1 (w_s: the weights after step s),
 * with no warm-up and no bias correction (diffusers' EMAModel would cap the decay at (1 + s) / (10 + s)). The
 * official p-diff code applies the same rule with decay 0.9999 (accumulate: ema.mul_(decay).add_(w, alpha=1 -
 * decay)), at the start of each step, before that step's update: its EMA trails this one by one step.
 * ema and w are device blocks of n floats (backend axpby: any backend). */
void ddpm_ema_update(pd_backend *be, float *ema, const float *w, int64_t n, double decay);

/* Draw n samples [n, L] into x (device). ddim_steps is used by the ddim sampler only. Progress is reported as
 * ("generate", done steps, total steps); cancellation returns PD_ERR_CANCELLED. */
pd_status ddpm_sample(pd_unet *u, const pd_ddpm_schedule *s, float *x, int32_t n, pd_sampler sampler,
                      int32_t ddim_steps, uint64_t seed, const pd_callbacks *cb, pd_error *err);

#endif
