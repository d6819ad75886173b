/* cpu_diffusion.c — the UNet's time embedding and the DDPM's element-wise steps on the CPU backend
 * (see backend.h, cpu.h).
 *
 * temb adds one learned row per sample (the row of its own timestep) to every channel; its backward sums
 * over channels per sample on the thread pool, then adds those sums to the table in sample order, so
 * repeated timesteps in a batch accumulate deterministically. q_sample and diffusion_step are element-wise;
 * diffusion_step draws element i's noise at counter offset + i (rng.h), so its result does not depend on
 * how the work is split.
 */
#include <string.h>

#include "cpu.h"
#include "cpu_ops.h"
#include "rng.h"

/* Elements per task for the element-wise loops. */
#define CPU_DIFFUSION_TASK_ELEMS 16384

/* ---- time embedding ------------------------------------------------------------------------------------ */

typedef struct {
    float *out;          /* forward: out [n, c, l]; backward: din [n, c, l] (may be NULL) */
    const float *in;     /* forward: in [n, c, l]; backward: dout [n, c, l] */
    const float *table;  /* forward: [T, l] */
    float *sums;         /* backward: [n, l] per-sample sums over channels (NULL: not wanted) */
    const int32_t *t;    /* [n] */
    int32_t c, l;
    int acc;
} cpu_diffusion_temb_job;

static void cpu_diffusion_temb_forward_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_diffusion_temb_job *jb = ctx;
    const float *row = jb->table + (int64_t)jb->t[b] * jb->l; /* [l] */
    for (int32_t ch = 0; ch < jb->c; ch++) {
        const float *x = jb->in + (b * jb->c + ch) * jb->l; /* [l] */
        float *y = jb->out + (b * jb->c + ch) * jb->l;      /* [l] */
        for (int32_t j = 0; j < jb->l; j++)
            y[j] = x[j] + row[j];
    }
}

/* out [n, c, l] = in [n, c, l] + table [t[b], l] broadcast over c; t [n] (out may alias in) */
static void cpu_diffusion_temb_forward(pd_backend *be, float *out, const float *in, const float *table,
                                       const int32_t *t, int32_t n, int32_t c, int32_t l)
{
    cpu_diffusion_temb_job jb = {.out = out, .in = in, .table = table, .t = t, .c = c, .l = l};
    cpu_parallel_for(be, n, cpu_diffusion_temb_forward_task, &jb);
}

/* sums [b, :] = sum over c of dout [b, c, :]; then din [b] = (acc ? din [b] : 0) + dout [b] */
static void cpu_diffusion_temb_backward_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_diffusion_temb_job *jb = ctx;
    int64_t plane = (int64_t)jb->c * jb->l;
    const float *g = jb->in + b * plane; /* [c, l] */
    if (jb->sums) {
        float *sum = jb->sums + b * jb->l; /* [l] */
        for (int32_t j = 0; j < jb->l; j++)
            sum[j] = 0.0f;
        for (int32_t ch = 0; ch < jb->c; ch++) {
            const float *x = g + (int64_t)ch * jb->l;
            for (int32_t j = 0; j < jb->l; j++)
                sum[j] += x[j];
        }
    }
    if (!jb->out)
        return;
    float *dx = jb->out + b * plane; /* [c, l] */
    if (jb->acc) {
        for (int64_t i = 0; i < plane; i++)
            dx[i] += g[i];
    } else if (dx != g) {
        memcpy(dx, g, (size_t)plane * sizeof(float));
    }
}

/* din [n, c, l] = dout (acc as usual; may be NULL); dtable [T, l]: row t[b] += sum over c of dout [b, c, :]
 * (may be NULL); t [n] */
void cpu_temb_table_add(float *dtable, const float *sums, const int32_t *t, int32_t n, int32_t l)
{
    for (int32_t b = 0; b < n; b++) { /* samples in order */
        float *row = dtable + (int64_t)t[b] * l;
        const float *sum = sums + (int64_t)b * l;
        for (int32_t j = 0; j < l; j++)
            row[j] += sum[j];
    }
}

static void cpu_diffusion_temb_backward(pd_backend *be, float *din, float *dtable, const float *dout,
                                        const int32_t *t, int32_t n, int32_t c, int32_t l, int acc)
{
    if (n <= 0)
        return;
    cpu_diffusion_temb_job jb = {.out = din, .in = dout, .t = t, .c = c, .l = l, .acc = acc};
    if (dtable) {
        jb.sums = cpu_scratch(be, 0, (size_t)n * (size_t)l * sizeof(float));
    }
    cpu_parallel_for(be, n, cpu_diffusion_temb_backward_task, &jb);
    if (!dtable)
        return;
    cpu_temb_table_add(dtable, jb.sums, t, n, l);
}

/* ---- DDPM steps ---------------------------------------------------------------------------------------- */

typedef struct {
    float *x;              /* q_sample: xt [n, l]; step: x [n] */
    const float *x0;       /* q_sample: [n, l] */
    const float *eps;      /* q_sample: [n, l]; step: [n] */
    const int32_t *t;      /* q_sample: [n] */
    const float *sqrt_ab;  /* [T] */
    const float *sqrt_1mab; /* [T] */
    int64_t n, per_task;
    int32_t l;
    float ca, cb, c1, c2, sigma;
    uint64_t seed, offset;
} cpu_diffusion_job;

static void cpu_diffusion_q_sample_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_diffusion_job *jb = ctx;
    float a = jb->sqrt_ab[jb->t[b]], s = jb->sqrt_1mab[jb->t[b]];
    const float *x0 = jb->x0 + b * jb->l, *e = jb->eps + b * jb->l; /* [l] */
    float *y = jb->x + b * jb->l;                                    /* [l] */
    for (int32_t j = 0; j < jb->l; j++)
        y[j] = a * x0[j] + s * e[j];
}

/* xt [n, l] = sqrt_ab [t[b]] x0 [n, l] + sqrt_1mab [t[b]] eps [n, l]; t [n]; tables [T] */
static void cpu_diffusion_q_sample(pd_backend *be, float *xt, const float *x0, const float *eps,
                                   const int32_t *t, const float *sqrt_ab, const float *sqrt_1mab, int32_t n,
                                   int32_t l)
{
    cpu_diffusion_job jb = {.x = xt, .x0 = x0, .eps = eps, .t = t, .sqrt_ab = sqrt_ab, .sqrt_1mab = sqrt_1mab,
                            .n = n, .l = l};
    if ((int64_t)n * l < CPU_DIFFUSION_TASK_ELEMS) {
        for (int32_t b = 0; b < n; b++)
            cpu_diffusion_q_sample_task(&jb, b, 0);
        return;
    }
    cpu_parallel_for(be, n, cpu_diffusion_q_sample_task, &jb);
}

static void cpu_diffusion_step_task(void *ctx, int64_t task, int thread)
{
    (void)thread;
    const cpu_diffusion_job *jb = ctx;
    int64_t i0 = task * jb->per_task, i1 = i0 + jb->per_task < jb->n ? i0 + jb->per_task : jb->n;
    for (int64_t i = i0; i < i1; i++) {
        float v = jb->ca * jb->x[i] - jb->cb * jb->eps[i];
        float x0p = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v); /* NaN passes through, as torch.clamp */
        float y = jb->c1 * x0p + jb->c2 * jb->x[i];
        if (jb->sigma != 0.0f)
            y += jb->sigma * rng_normal_at(jb->seed, jb->offset + (uint64_t)i);
        jb->x[i] = y;
    }
}

/* x [n] = c1 clamp(ca x - cb eps [n], -1, 1) + c2 x + sigma N(0,1)(seed, offset + i) */
static void cpu_diffusion_step(pd_backend *be, float *x, const float *eps, int64_t n, float ca, float cb,
                               float c1, float c2, float sigma, uint64_t seed, uint64_t offset)
{
    if (n <= 0)
        return;
    cpu_diffusion_job jb = {.x = x, .eps = eps, .n = n, .ca = ca, .cb = cb, .c1 = c1, .c2 = c2, .sigma = sigma,
                            .seed = seed, .offset = offset};
    /* noise costs a hash, a log and a cosine per element: smaller tasks then */
    jb.per_task = sigma != 0.0f ? CPU_DIFFUSION_TASK_ELEMS / 8 : CPU_DIFFUSION_TASK_ELEMS;
    cpu_parallel_for(be, (n + jb.per_task - 1) / jb.per_task, cpu_diffusion_step_task, &jb);
}

void cpu_diffusion_register(pd_backend *be)
{
    be->temb_forward = cpu_diffusion_temb_forward;
    be->temb_backward = cpu_diffusion_temb_backward;
    be->diffusion_q_sample = cpu_diffusion_q_sample;
    be->diffusion_step = cpu_diffusion_step;
}
