/* cpu_conv1d_direct.c — the direct path of the CPU convolutions (see cpu_conv1d.h, cpu_conv1d.c): loops over
 * rows, one task per sample, for tiny weights on long rows (the AE's outer layers). The weight gradient sums
 * per-sample partial sums in sample order, so results do not depend on which thread ran a task. */
#include "cpu_conv1d.h"

typedef struct {
    const cpu_conv1d_geom *g;
    float *s_out;         /* gather: S [n, cs, ls] */
    const float *s_in;    /* scatter, wgrad: S [n, cs, ls] */
    float *g_out;         /* scatter: G [n, cg, lg] */
    const float *g_in;    /* gather, wgrad: G [n, cg, lg] */
    const float *w;       /* [cs, cg, k] */
    const float *bias;    /* gather: [cs]; scatter: [cg]; may be NULL */
    float *part;          /* wgrad: [n, cs, cg, k] per-sample partial sums */
    int acc;
} cpu_conv1d_direct_job;

static void cpu_conv1d_gather_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_conv1d_direct_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    const float *gin = jb->g_in + b * g->cg * g->lg; /* [cg, lg] */
    for (int32_t a = 0; a < g->cs; a++) {
        float *y = jb->s_out + (b * g->cs + a) * g->ls; /* [ls] */
        cpu_conv1d_row_start(y, g->ls, jb->bias, a, jb->acc);
        for (int32_t c = 0; c < g->cg; c++)
            for (int32_t kk = 0; kk < g->k; kk++) {
                int32_t j0, j1;
                cpu_conv1d_range(g, kk, &j0, &j1);
                const float *x = gin + (int64_t)c * g->lg + (int64_t)j0 * g->stride - g->pad + kk;
                cpu_conv1d_axpy(y + j0, x, g->stride, jb->w[((int64_t)a * g->cg + c) * g->k + kk], j1 - j0);
            }
    }
}

static void cpu_conv1d_scatter_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_conv1d_direct_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    const float *sin = jb->s_in + b * g->cs * g->ls; /* [cs, ls] */
    for (int32_t c = 0; c < g->cg; c++) {
        float *y = jb->g_out + (b * g->cg + c) * g->lg; /* [lg] */
        cpu_conv1d_row_start(y, g->lg, jb->bias, c, jb->acc);
        for (int32_t a = 0; a < g->cs; a++)
            for (int32_t kk = 0; kk < g->k; kk++) {
                int32_t j0, j1;
                cpu_conv1d_range(g, kk, &j0, &j1);
                float *yp = y + (int64_t)j0 * g->stride - g->pad + kk;
                cpu_conv1d_axpy_scatter(yp, sin + (int64_t)a * g->ls + j0, g->stride,
                                        jb->w[((int64_t)a * g->cg + c) * g->k + kk], j1 - j0);
            }
    }
}

static void cpu_conv1d_wgrad_task(void *ctx, int64_t b, int thread)
{
    (void)thread;
    const cpu_conv1d_direct_job *jb = ctx;
    const cpu_conv1d_geom *g = jb->g;
    const float *sin = jb->s_in + b * g->cs * g->ls; /* [cs, ls] */
    const float *gin = jb->g_in + b * g->cg * g->lg; /* [cg, lg] */
    float *part = jb->part + b * g->cs * g->cg * g->k; /* [cs, cg, k] */
    for (int32_t a = 0; a < g->cs; a++)
        for (int32_t c = 0; c < g->cg; c++)
            for (int32_t kk = 0; kk < g->k; kk++) {
                int32_t j0, j1;
                cpu_conv1d_range(g, kk, &j0, &j1);
                const float *x = gin + (int64_t)c * g->lg + (int64_t)j0 * g->stride - g->pad + kk;
                part[((int64_t)a * g->cg + c) * g->k + kk] =
                    cpu_conv1d_dot(sin + (int64_t)a * g->ls + j0, x, g->stride, j1 - j0);
            }
}

/* dw [cs, cg, k] += per-sample partial sums, added in sample order */
static void cpu_conv1d_wgrad_direct(pd_backend *be, const cpu_conv1d_geom *g, float *dw, const float *s_in,
                                    const float *g_in)
{
    int64_t nw = (int64_t)g->cs * g->cg * g->k;
    float *part = cpu_scratch(be, 0, (size_t)(g->n * nw) * sizeof(float)); /* [n, cs, cg, k] */
    cpu_conv1d_direct_job jb = {.g = g, .s_in = s_in, .g_in = g_in, .part = part};
    cpu_parallel_for(be, g->n, cpu_conv1d_wgrad_task, &jb);
    for (int64_t i = 0; i < nw; i++) {
        float sum = 0.0f;
        for (int32_t b = 0; b < g->n; b++)
            sum += part[b * nw + i];
        dw[i] += sum;
    }
}

void cpu_conv1d_direct_run(pd_backend *be, const cpu_conv1d_geom *g, float *s_out, float *g_out, float *dw,
                           const float *s_in, const float *g_in, const float *w, const float *bias, int acc)
{
    if (dw)
        cpu_conv1d_wgrad_direct(be, g, dw, s_in, g_in);
    cpu_conv1d_direct_job jb = {.g = g, .s_in = s_in, .g_in = g_in, .s_out = s_out, .g_out = g_out, .w = w,
                                .bias = bias, .acc = acc};
    if (s_out)
        cpu_parallel_for(be, g->n, cpu_conv1d_gather_task, &jb);
    if (g_out)
        cpu_parallel_for(be, g->n, cpu_conv1d_scatter_task, &jb);
}
