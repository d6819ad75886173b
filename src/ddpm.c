/* ddpm.c — DDPM on latents: schedule, training step, ancestral and DDIM samplers (see ddpm.h).
 *
 * Random streams (rng.h), all pure functions of (seed, step) so that a resumed run repeats exactly:
 *   training step s: t_b from a host pd_rng seeded rng_hash(rng_derive(seed, "ddpm-t"), s), eps from
 *     be->randn with seed rng_hash(rng_derive(seed, "ddpm-eps"), s) at offset 0;
 *   sampling: x_T from rng_derive(seed, "ddpm-sample-x") at offset 0 over all n L numbers; the noise of reverse
 *     step number i (0 = the first, from t = T - 1) from rng_hash(rng_derive(seed, "ddpm-sample-z"), i) at
 *     offset (first sample of the chunk) L, so samples do not depend on how they are split into chunks.
 */
#include "ddpm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* ------------------------------------------------------------------------------------------ schedule */

pd_status ddpm_schedule_init(pd_ddpm_schedule *s, pd_backend *be, int32_t T, double beta_start, double beta_end,
                             pd_error *err)
{
    memset(s, 0, sizeof *s);
    if (T < 1)
        return error_set(err, PD_ERR_CONFIG, "timesteps: must be >= 1, got %d", T);
    if (!(beta_start > 0.0 && beta_start < 1.0) || !(beta_end > 0.0 && beta_end < 1.0))
        return error_set(err, PD_ERR_CONFIG, "beta_start, beta_end: must lie in (0, 1), got %g and %g", beta_start,
                         beta_end);
    s->T = T;
    s->be = be;
    s->beta = malloc((size_t)T * sizeof *s->beta);
    s->alpha_bar = malloc((size_t)T * sizeof *s->alpha_bar);
    float *tmp = malloc(2 * (size_t)T * sizeof *tmp);
    s->sqrt_ab = backend_alloc_floats(be, T);
    s->sqrt_1mab = backend_alloc_floats(be, T);
    if (!s->beta || !s->alpha_bar || !tmp || !s->sqrt_ab || !s->sqrt_1mab) {
        free(tmp);
        ddpm_schedule_free(s);
        return error_set(err, PD_ERR_NOMEM, "ddpm: out of memory for %d timesteps", T);
    }
    /* torch.linspace(beta_start, beta_end, T, dtype=float64): the first half counts up from the start, the
     * second half down from the end */
    double step = T > 1 ? (beta_end - beta_start) / (double)(T - 1) : 0.0;
    int32_t half = T / 2;
    double prod = 1.0;
    for (int32_t i = 0; i < T; i++) {
        s->beta[i] = i < half ? beta_start + step * (double)i : beta_end - step * (double)(T - 1 - i);
        prod *= 1.0 - s->beta[i];
        s->alpha_bar[i] = prod;
        tmp[i] = (float)sqrt(prod);
        tmp[T + i] = (float)sqrt(1.0 - prod);
    }
    if (!isfinite((float)sqrt(1.0 / prod))) { /* sampling divides by sqrt(alpha_bar): it must stay a float */
        free(tmp);
        ddpm_schedule_free(s);
        return error_set(err, PD_ERR_CONFIG,
                         "timesteps, beta_start, beta_end: the schedule's alpha_bar falls to %g by the last of %d steps, "
                         "too small to sample from; use fewer timesteps or smaller betas", prod, T);
    }
    be->upload(be, s->sqrt_ab, tmp, (size_t)T * sizeof *tmp);
    be->upload(be, s->sqrt_1mab, tmp + T, (size_t)T * sizeof *tmp);
    free(tmp);
    return PD_OK;
}

void ddpm_schedule_free(pd_ddpm_schedule *s)
{
    if (!s)
        return;
    free(s->beta);
    free(s->alpha_bar);
    if (s->be) {
        s->be->free(s->be, s->sqrt_ab);
        s->be->free(s->be, s->sqrt_1mab);
    }
    memset(s, 0, sizeof *s);
}

pd_ddpm_coefs ddpm_step_coefs(const pd_ddpm_schedule *s, pd_sampler sampler, int32_t t, int32_t t_prev)
{
    PD_ASSERT(t >= 0 && t < s->T && t_prev < t);
    double ab = s->alpha_bar[t], beta = s->beta[t];
    pd_ddpm_coefs c;
    c.ca = (float)sqrt(1.0 / ab);
    c.cb = (float)sqrt(1.0 / ab - 1.0);
    if (sampler == PD_SAMPLER_DDPM) {
        double abp = t > 0 ? s->alpha_bar[t - 1] : 1.0;
        c.c1 = (float)(beta * sqrt(abp) / (1.0 - ab));
        c.c2 = (float)((1.0 - abp) * sqrt(1.0 - beta) / (1.0 - ab));
        c.sigma = t > 0 ? (float)sqrt(beta) : 0.0f;
    } else {
        double abp = t_prev >= 0 ? s->alpha_bar[t_prev] : 1.0;
        double r = sqrt(1.0 - abp) / sqrt(1.0 - ab);
        c.c1 = (float)(sqrt(abp) - r * sqrt(ab));
        c.c2 = (float)r;
        c.sigma = 0.0f;
    }
    return c;
}

int32_t ddpm_ddim_timesteps(int32_t T, int32_t steps, int32_t *out)
{
    if (steps > T)
        steps = T;
    if (steps < 1)
        steps = 1;
    for (int32_t j = 0; out && j < steps; j++)
        out[j] = steps == 1 ? T - 1 : (int32_t)floor((double)j * (double)(T - 1) / (double)(steps - 1) + 0.5);
    return steps;
}

/* ------------------------------------------------------------------------------------------ training */

struct pd_ddpm_trainer {
    pd_backend *be;
    pd_unet *u;
    const pd_ddpm_schedule *s;
    int32_t max_batch, length;
    int32_t *t_host;   /* [mb] */
    int32_t *t;        /* [mb] device */
    float *eps;        /* [mb, L] */
    float *xt;         /* [mb, L] */
    float *deps;       /* [mb, L] */
    float *loss;       /* [1] */
    int64_t loss_count;
};

pd_status ddpm_trainer_create(pd_ddpm_trainer **out, pd_unet *u, const pd_ddpm_schedule *s, int32_t max_batch,
                              pd_error *err)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > unet_max_batch(u))
        return error_set(err, PD_ERR_CONFIG, "ddpm_batch: must be in [1, %d], got %d", unet_max_batch(u), max_batch);
    if (unet_grads(u) == NULL)
        return error_set(err, PD_ERR_INTERNAL, "ddpm: the UNet was created without gradients");
    if (unet_geometry(u)->timesteps != s->T)
        return error_set(err, PD_ERR_CONFIG, "ddpm: the UNet embeds %d timesteps, the schedule has %d",
                         unet_geometry(u)->timesteps, s->T);
    pd_ddpm_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return error_set(err, PD_ERR_NOMEM, "ddpm: out of memory");
    pd_backend *be = s->be;
    int64_t L = unet_geometry(u)->length, mb = max_batch;
    tr->be = be;
    tr->u = u;
    tr->s = s;
    tr->max_batch = max_batch;
    tr->length = (int32_t)L;
    tr->t_host = malloc((size_t)mb * sizeof *tr->t_host);
    tr->t = backend_alloc_ints(be, mb);
    tr->eps = backend_alloc_floats(be, mb * L);
    tr->xt = backend_alloc_floats(be, mb * L);
    tr->deps = backend_alloc_floats(be, mb * L);
    tr->loss = backend_alloc_floats(be, 1);
    if (!tr->t_host || !tr->t || !tr->eps || !tr->xt || !tr->deps || !tr->loss) {
        ddpm_trainer_free(tr);
        return error_set(err, PD_ERR_NOMEM, "ddpm: out of memory for batch %d", max_batch);
    }
    *out = tr;
    return PD_OK;
}

void ddpm_trainer_free(pd_ddpm_trainer *tr)
{
    if (!tr)
        return;
    pd_backend *be = tr->be;
    free(tr->t_host);
    be->free(be, tr->t);
    be->free(be, tr->eps);
    be->free(be, tr->xt);
    be->free(be, tr->deps);
    be->free(be, tr->loss);
    free(tr);
}

void ddpm_train_step(pd_ddpm_trainer *tr, const float *x0, int32_t n, const pd_ddpm_train_opts *o, int64_t step)
{
    PD_ASSERT(n >= 1 && n <= tr->max_batch && step >= 1);
    const pd_ddpm_schedule *s = tr->s;
    pd_backend *be = s->be;
    pd_unet *u = tr->u;
    int64_t nl = (int64_t)n * tr->length;
    pd_rng r;
    rng_init(&r, rng_hash(rng_derive(o->seed, "ddpm-t"), (uint64_t)step));
    for (int32_t b = 0; b < n; b++)
        tr->t_host[b] = (int32_t)rng_below(&r, (uint32_t)s->T);
    be->upload(be, tr->t, tr->t_host, (size_t)n * sizeof *tr->t_host);
    be->randn(be, tr->eps, nl, rng_hash(rng_derive(o->seed, "ddpm-eps"), (uint64_t)step), 0);
    be->diffusion_q_sample(be, tr->xt, x0, tr->eps, tr->t, s->sqrt_ab, s->sqrt_1mab, n, tr->length);
    const float *pred = unet_forward(u, tr->xt, tr->t, n);
    be->mse(be, tr->loss, tr->deps, pred, tr->eps, nl);
    int64_t np = unet_param_count(u);
    be->fill(be, unet_grads(u), np, 0.0f);
    unet_backward(u, tr->deps, n);
    be->adamw_step(be, unet_params(u), unet_grads(u), unet_adam_m(u), unet_adam_v(u), np, o->lr, 0.9f, 0.999f, 1e-8f,
                   o->weight_decay, step);
    tr->loss_count++;
}

void ddpm_ema_update(pd_backend *be, float *ema, const float *w, int64_t n, double decay)
{
    float b = (float)decay, a = 1.0f - b;
    be->axpby(be, ema, a, w, b, n);
}

float ddpm_take_loss(pd_ddpm_trainer *tr)
{
    if (tr->loss_count == 0)
        return NAN;
    pd_backend *be = tr->be;
    float acc = 0.0f;
    be->download(be, &acc, tr->loss, sizeof acc);
    be->fill(be, tr->loss, 1, 0.0f);
    float mean = acc / (float)tr->loss_count;
    tr->loss_count = 0;
    return mean;
}

void ddpm_loss_window(pd_ddpm_trainer *tr, float *sum, int64_t *count)
{
    *sum = 0.0f;
    *count = tr->loss_count;
    if (*count > 0)
        tr->be->download(tr->be, sum, tr->loss, sizeof *sum);
}

void ddpm_loss_window_set(pd_ddpm_trainer *tr, float sum, int64_t count)
{
    PD_ASSERT(count >= 0);
    tr->be->upload(tr->be, tr->loss, &sum, sizeof sum);
    tr->loss_count = count;
}

/* ------------------------------------------------------------------------------------------ sampling */

pd_status ddpm_sample(pd_unet *u, const pd_ddpm_schedule *s, float *x, int32_t n, pd_sampler sampler,
                      int32_t ddim_steps, uint64_t seed, const pd_callbacks *cb, pd_error *err)
{
    if (n < 1)
        return error_set(err, PD_ERR_CONFIG, "n_generate: must be >= 1, got %d", n);
    if (sampler == PD_SAMPLER_DDIM && ddim_steps < 1)
        return error_set(err, PD_ERR_CONFIG, "ddim_steps: must be >= 1, got %d", ddim_steps);
    if (unet_geometry(u)->timesteps != s->T)
        return error_set(err, PD_ERR_CONFIG, "ddpm: the UNet embeds %d timesteps, the schedule has %d",
                         unet_geometry(u)->timesteps, s->T);
    pd_backend *be = s->be;
    int32_t L = unet_geometry(u)->length, mb = unet_max_batch(u);
    int32_t nsteps = sampler == PD_SAMPLER_DDIM ? ddpm_ddim_timesteps(s->T, ddim_steps, NULL) : s->T;
    int32_t *ts = malloc((size_t)nsteps * sizeof *ts);
    int32_t *t_host = malloc((size_t)mb * sizeof *t_host);
    int32_t *t_dev = backend_alloc_ints(be, mb);
    pd_status st = PD_OK;
    if (!ts || !t_host || !t_dev) {
        st = error_set(err, PD_ERR_NOMEM, "generate: out of memory");
        goto done;
    }
    if (sampler == PD_SAMPLER_DDIM)
        ddpm_ddim_timesteps(s->T, ddim_steps, ts);
    else
        for (int32_t j = 0; j < nsteps; j++)
            ts[j] = j;
    be->randn(be, x, (int64_t)n * L, rng_derive(seed, "ddpm-sample-x"), 0);
    unet_freeze(u, 1); /* the weights are prepared once for all steps */
    uint64_t zseed = rng_derive(seed, "ddpm-sample-z");
    int32_t nchunks = (n + mb - 1) / mb;
    int64_t total = (int64_t)nsteps * nchunks;
    for (int32_t c = 0; c < nchunks; c++) {
        int32_t b0 = c * mb, nb = n - b0 < mb ? n - b0 : mb;
        float *xc = x + (int64_t)b0 * L; /* [nb, L] */
        for (int32_t i = 0; i < nsteps; i++) {
            int32_t j = nsteps - 1 - i, t = ts[j], tp = j > 0 ? ts[j - 1] : -1;
            for (int32_t b = 0; b < nb; b++)
                t_host[b] = t;
            be->upload(be, t_dev, t_host, (size_t)nb * sizeof *t_host);
            const float *eps = unet_forward(u, xc, t_dev, nb);
            pd_ddpm_coefs k = ddpm_step_coefs(s, sampler, t, tp);
            be->diffusion_step(be, xc, eps, (int64_t)nb * L, k.ca, k.cb, k.c1, k.c2, k.sigma,
                               rng_hash(zseed, (uint64_t)i), (uint64_t)b0 * (uint64_t)L);
            if (sampler == PD_SAMPLER_DDPM)
                be->clamp_forward(be, xc, xc, -1.0f, 1.0f, (int64_t)nb * L);
            int64_t done = (int64_t)c * nsteps + i + 1;
            if (done % 10 == 0 || done == total)
                progress_report(cb, "generate", done, total);
            if (progress_cancelled(cb)) {
                st = error_set(err, PD_ERR_CANCELLED, "generate: cancelled");
                goto done;
            }
        }
    }
done:
    unet_freeze(u, 0);
    free(ts);
    free(t_host);
    be->free(be, t_dev);
    return st;
}
