/* bench.c — the workloads of doc/design.md §9 (see bench.h). */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ae.h"
#include "blas.h"
#include "ddpm.h"
#include "model.h"
#include "pool.h"
#include "rng.h"

typedef pd_status (*bench_fn)(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err);

/* Call step() until at least min_reps repetitions and min_seconds have passed; seconds per repetition. */
typedef void (*bench_step_fn)(void *ctx);
static double bench_time(bench_step_fn step, void *ctx, pd_backend *be, int warmup, int min_reps,
                         double min_seconds, const pd_callbacks *cb)
{
    for (int i = 0; i < warmup; i++)
        step(ctx);
    be->synchronize(be);
    double t0 = progress_now(), t;
    int reps = 0;
    do {
        step(ctx);
        be->synchronize(be);
        reps++;
        t = progress_now() - t0;
    } while ((reps < min_reps || t < min_seconds) && !progress_cancelled(cb));
    return t / reps;
}

static void bench_fill_random(pd_backend *be, float *dev, int64_t n, uint64_t seed)
{
    be->randn(be, dev, n, seed, 0);
}

/* ---------------------------------------------------------------------------------------------- task model */

typedef struct {
    pd_backend *be;
    pd_model *m;
    float *x, *dlogits, *loss;
    int32_t *y, *pred, *correct;
    int32_t n;
} bench_task_ctx;

static void bench_task_train_step(void *vp)
{
    bench_task_ctx *c = vp;
    pd_backend *be = c->be;
    int64_t np = model_param_count(c->m);
    const float *logits = model_forward(c->m, c->x, c->n, 1, 0);
    be->softmax_xent(be, c->loss, c->correct, c->dlogits, logits, c->y, c->n, 10);
    be->fill(be, model_grads(c->m), np, 0.0f);
    model_backward(c->m, c->dlogits, c->n, 1, 0);
    be->sgd_step(be, model_params(c->m), model_grads(c->m), model_momentum(c->m), np, 0.05f, 0.9f, 5e-4f);
}

static void bench_task_eval_step(void *vp)
{
    bench_task_ctx *c = vp;
    const float *logits = model_forward(c->m, c->x, c->n, 0, 0);
    c->be->argmax(c->be, c->pred, logits, c->n, 10);
}

/* FLOPs of one convnet forward on a 28x28 image (multiply-adds x 2): convs and the classifier. */
static double bench_convnet_forward_flops(void)
{
    double conv1 = 28.0 * 28 * 32 * 9 * 1, conv2 = 14.0 * 14 * 64 * 32 * 9, conv3 = 7.0 * 7 * 64 * 64 * 9;
    double fc = 3136.0 * 10;
    return 2.0 * (conv1 + conv2 + conv3 + fc);
}

static pd_status bench_task(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err, int train)
{
    bench_task_ctx c = {.be = be, .n = train ? 128 : 1000};
    pd_model_spec spec = {.arch = PD_ARCH_CONVNET, .in_c = 1, .in_h = 28, .in_w = 28, .classes = 10, .width = 64,
                          .max_batch = c.n, .trainable = train};
    PD_TRY(model_create(&c.m, be, &spec, err));
    model_init_params(c.m, 7);
    c.x = backend_alloc_floats(be, (int64_t)c.n * 784);
    c.dlogits = backend_alloc_floats(be, (int64_t)c.n * 10);
    c.loss = backend_alloc_floats(be, 1);
    c.y = backend_alloc_ints(be, c.n);
    c.pred = backend_alloc_ints(be, c.n);
    c.correct = backend_alloc_ints(be, 1);
    pd_status st = PD_OK;
    if (!c.x || !c.dlogits || !c.loss || !c.y || !c.pred || !c.correct) {
        st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
    } else {
        bench_fill_random(be, c.x, (int64_t)c.n * 784, 11);
        int32_t *labels = malloc((size_t)c.n * sizeof *labels);
        if (!labels) {
            st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
        } else {
            for (int32_t i = 0; i < c.n; i++)
                labels[i] = (int32_t)(rng_hash(3, (uint64_t)i) % 10);
            be->upload(be, c.y, labels, (size_t)c.n * sizeof *labels);
            free(labels);
            double sec = train ? bench_time(bench_task_train_step, &c, be, 2, 10, 1.5, cb)
                               : bench_time(bench_task_eval_step, &c, be, 1, 3, 1.5, cb);
            res->value = c.n / sec;
            res->gflops = bench_convnet_forward_flops() * c.n * (train ? 3.0 : 1.0) / sec * 1e-9;
        }
    }
    be->free(be, c.x);
    be->free(be, c.dlogits);
    be->free(be, c.loss);
    be->free(be, c.y);
    be->free(be, c.pred);
    be->free(be, c.correct);
    model_free(c.m);
    return st;
}

static pd_status bench_task_train(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    return bench_task(be, res, cb, err, 1);
}

static pd_status bench_task_eval(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    return bench_task(be, res, cb, err, 0);
}

/* ---------------------------------------------------------------------------------------------- autoencoder */

/* Multiply-adds x 2 of one AE forward for one sample (convolutions only), following doc/design.md §9's geometry. */
static double bench_ae_forward_flops(const pd_ae_geometry *g)
{
    int32_t f4 = g->fold * g->fold * g->fold * g->fold, k = g->kernel;
    int32_t len = (g->d / f4 + 1) * f4;
    int32_t c[5] = {g->enc[0], g->enc[0], g->enc[1], g->enc[2], g->enc[3]};
    double fl = 0.0;
    for (int i = 0; i < 4; i++) {
        int32_t cin = i == 0 ? 1 : c[i];
        int32_t l1 = len + 2 - k;                       /* conv k, stride 1, pad 1 */
        fl += 2.0 * cin * c[i] * k * l1;
        len = (l1 - k) / g->fold + 1;                    /* conv k, stride fold */
        fl += 2.0 * c[i] * c[i + 1] * k * len;
    }
    int32_t dc[5] = {g->dec[0], g->dec[1], g->dec[2], g->dec[3], 1};
    for (int i = 0; i < 4; i++) {
        fl += 2.0 * dc[i] * dc[i] * k * len;             /* convT over the input length */
        len = (len - 1) * g->fold + k;
        int32_t pad = i == 3 ? g->fold : g->fold - 1;
        len = len + 2 * pad - k + 1;
        fl += 2.0 * dc[i] * dc[i + 1] * k * len;
    }
    return fl;
}

typedef struct {
    pd_ae *ae;
    float *x;
    pd_ae_train_opts o;
    int64_t step;
} bench_ae_ctx;

static void bench_ae_step(void *vp)
{
    bench_ae_ctx *c = vp;
    ae_train_step(c->ae, c->x, 200, &c->o, ++c->step);
}

static pd_status bench_ae(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err, int medium)
{
    pd_ae_geometry g = medium ? ae_geometry_medium(2048) : ae_geometry_small(2048);
    bench_ae_ctx c = {.o = {.input_noise = 0.001f, .latent_noise = 0.1f, .lr = 1e-3f, .weight_decay = 2e-6f,
                            .seed = 5}};
    PD_TRY(ae_create(&c.ae, be, &g, 200, 1, err));
    ae_init_params(c.ae, 3);
    c.x = backend_alloc_floats(be, 200 * 2048);
    pd_status st = PD_OK;
    if (!c.x) {
        st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
    } else {
        be->randn(be, c.x, 200 * 2048, 9, 0);
        be->axpby(be, c.x, 0.0f, c.x, 0.1f, 200 * 2048);
        double sec = bench_time(bench_ae_step, &c, be, 1, medium ? 3 : 10, 1.5, cb);
        res->value = 1000.0 * sec;
        res->gflops = 3.0 * 200 * bench_ae_forward_flops(&g) / sec * 1e-9;
    }
    be->free(be, c.x);
    ae_free(c.ae);
    return st;
}

static pd_status bench_ae_small(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    return bench_ae(be, res, cb, err, 0);
}

static pd_status bench_ae_medium(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    return bench_ae(be, res, cb, err, 1);
}

/* ---------------------------------------------------------------------------------------------- diffusion */

/* Multiply-adds x 2 of one UNet forward for one sample of length l (the 16 convolutions, kernel 3). */
static double bench_unet_forward_flops(const int32_t ch[4], int32_t l)
{
    static const int blocks[8][3] = {{-1, 0, 0}, {0, 1, 1}, {1, 2, 2}, {2, 3, 3},
                                     {3, 2, 2},  {2, 1, 1}, {1, 0, 0}, {0, 0, -1}};
    double fl = 0.0;
    for (int b = 0; b < 8; b++) {
        double cin = blocks[b][0] < 0 ? 1 : ch[blocks[b][0]], cmid = ch[blocks[b][1]];
        double cout = blocks[b][2] < 0 ? 1 : ch[blocks[b][2]];
        fl += 2.0 * 3 * l * (cin * cmid + cmid * cout);
    }
    return fl;
}

typedef struct {
    pd_unet *u;
    pd_ddpm_schedule sched;
    pd_ddpm_trainer *tr;
    pd_ddpm_train_opts o;
    float *z, *out;
    int64_t step;
} bench_ddpm_ctx;

static void bench_ddpm_step(void *vp)
{
    bench_ddpm_ctx *c = vp;
    ddpm_train_step(c->tr, c->z, 200, &c->o, ++c->step);
}

static pd_status bench_ddpm(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err, int sample)
{
    /* the latent of the medium AE for D = 2048: 4 x 3 = 12 numbers */
    pd_unet_geometry g = {.length = 12, .channels = {64, 128, 256, 512}, .timesteps = 1000};
    bench_ddpm_ctx c = {.o = {.lr = 1e-3f, .weight_decay = 2e-6f, .seed = 5}};
    pd_status st = unet_create(&c.u, be, &g, sample ? 100 : 200, !sample, err);
    if (st == PD_OK)
        st = ddpm_schedule_init(&c.sched, be, 1000, 1e-4, 2e-2, err);
    if (st == PD_OK && !sample)
        st = ddpm_trainer_create(&c.tr, c.u, &c.sched, 200, err);
    if (st == PD_OK) {
        unet_init_params(c.u, 3);
        c.z = backend_alloc_floats(be, 200 * 12);
        if (!c.z)
            st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
    }
    if (st == PD_OK && !sample) {
        be->randn(be, c.z, 200 * 12, 4, 0);
        be->tanh_forward(be, c.z, c.z, 200 * 12);
        double sec = bench_time(bench_ddpm_step, &c, be, 2, 10, 1.5, cb);
        res->value = 1000.0 * sec;
        res->gflops = 3.0 * 200 * bench_unet_forward_flops(g.channels, 12) / sec * 1e-9;
    } else if (st == PD_OK) {
        double t0 = progress_now();
        st = ddpm_sample(c.u, &c.sched, c.z, 100, PD_SAMPLER_DDPM, 0, 11, cb, err);
        double sec = progress_now() - t0;
        res->value = sec;
        res->gflops = 1000.0 * 100 * bench_unet_forward_flops(g.channels, 12) / sec * 1e-9;
    }
    be->free(be, c.z);
    ddpm_trainer_free(c.tr);
    if (c.sched.T)
        ddpm_schedule_free(&c.sched);
    unet_free(c.u);
    return st;
}

static pd_status bench_ddpm_train(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    return bench_ddpm(be, res, cb, err, 0);
}

static pd_status bench_ddpm_sample(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    return bench_ddpm(be, res, cb, err, 1);
}

static pd_status bench_sgemm_entry(pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    (void)cb;
    return bench_sgemm(be, res, err);
}

/* ---------------------------------------------------------------------------------------------- table */

static const struct {
    const char *name, *unit;
    bench_fn fn;
} bench_table[] = {
    {"sgemm_gflops", "GFLOP/s", bench_sgemm_entry},
    {"task_train_ips", "images/s", bench_task_train},
    {"task_eval_ips", "images/s", bench_task_eval},
    {"ae_small_step_ms", "ms", bench_ae_small},
    {"ae_medium_step_ms", "ms", bench_ae_medium},
    {"ddpm_step_ms", "ms", bench_ddpm_train},
    {"ddpm_sample_s", "s", bench_ddpm_sample},
};

int bench_count(void)
{
    return (int)(sizeof bench_table / sizeof bench_table[0]);
}

const char *bench_name(int i)
{
    return bench_table[i].name;
}

int bench_find(const char *name)
{
    for (int i = 0; i < bench_count(); i++)
        if (strcmp(bench_table[i].name, name) == 0)
            return i;
    return -1;
}

pd_status bench_run(int i, pd_backend *be, pd_bench_result *res, const pd_callbacks *cb, pd_error *err)
{
    memset(res, 0, sizeof *res);
    pd_status st = bench_table[i].fn(be, res, cb, err);
    res->name = bench_table[i].name;
    res->unit = bench_table[i].unit;
    return st;
}

typedef struct {
    pd_backend *be;
    float *a, *b, *c;
} bench_sgemm_ctx;

static void bench_sgemm_step(void *vp)
{
    bench_sgemm_ctx *s = vp;
    s->be->gemm(s->be, 0, 0, 1024, 1024, 1024, 1.0f, s->a, 1024, s->b, 1024, 0.0f, s->c, 1024);
}

pd_status bench_sgemm(pd_backend *be, pd_bench_result *res, pd_error *err)
{
    memset(res, 0, sizeof *res);
    res->name = "sgemm_gflops";
    res->unit = "GFLOP/s";
    bench_sgemm_ctx s = {.be = be};
    s.a = backend_alloc_floats(be, 1 << 20);
    s.b = backend_alloc_floats(be, 1 << 20);
    s.c = backend_alloc_floats(be, 1 << 20);
    pd_status st = PD_OK;
    if (!s.a || !s.b || !s.c) {
        st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
    } else {
        bench_fill_random(be, s.a, 1 << 20, 1);
        bench_fill_random(be, s.b, 1 << 20, 2);
        double sec = bench_time(bench_sgemm_step, &s, be, 2, 10, 1.0, NULL);
        res->value = 2.0 * 1024.0 * 1024.0 * 1024.0 / sec * 1e-9;
        res->gflops = res->value;
    }
    be->free(be, s.a);
    be->free(be, s.b);
    be->free(be, s.c);
    return st;
}

/* pdiff's own kernel on 1024^3, rows split evenly over the threads */
typedef struct {
    const float *a, *b;
    float *c;
    int parts, ok;
} bench_own_ctx;

static void bench_own_task(void *vp, int64_t t, int thread)
{
    (void)thread;
    bench_own_ctx *s = vp;
    int r0 = (int)(t * 1024 / s->parts), r1 = (int)((t + 1) * 1024 / s->parts);
    if (!blas_own_sgemm(0, 0, r1 - r0, 1024, 1024, 1.0f, s->a + (int64_t)r0 * 1024, 1024, s->b, 1024, 0.0f,
                        s->c + (int64_t)r0 * 1024, 1024))
        s->ok = 0; /* every task writes the same value */
}

typedef struct {
    pd_pool *pool;
    bench_own_ctx *own;
} bench_own_run;

static void bench_own_step(void *vp)
{
    bench_own_run *r = vp;
    pool_run(r->pool, r->own->parts, bench_own_task, r->own);
}

/* GFLOP/s of the own kernel with `threads` threads into *gflops (0 when it cannot run). */
static pd_status bench_own_sgemm(pd_backend *be, int threads, double *gflops, pd_error *err)
{
    *gflops = 0.0;
    if (!blas_own_kernel() || strcmp(be->name, "cpu") != 0)
        return PD_OK;
    bench_own_ctx s = {.parts = threads, .ok = 1};
    float *a = backend_alloc_floats(be, 1 << 20), *b = backend_alloc_floats(be, 1 << 20);
    float *c = backend_alloc_floats(be, 1 << 20);
    pd_pool *pool = pool_create(threads);
    pd_status st = PD_OK;
    if (!a || !b || !c || !pool) {
        st = error_set(err, PD_ERR_NOMEM, "bench: out of memory");
    } else {
        bench_fill_random(be, a, 1 << 20, 1);
        bench_fill_random(be, b, 1 << 20, 2);
        s.a = a, s.b = b, s.c = c;
        bench_own_run run = {pool, &s};
        double sec = bench_time(bench_own_step, &run, be, 2, 10, 1.0, NULL);
        *gflops = s.ok ? 2.0 * 1024.0 * 1024.0 * 1024.0 / sec * 1e-9 : 0.0;
    }
    pool_free(pool);
    be->free(be, a);
    be->free(be, b);
    be->free(be, c);
    return st;
}

pd_status bench_peak(pd_backend *be, pd_bench_peak *pk, pd_error *err)
{
    memset(pk, 0, sizeof *pk);
    pd_bench_result r;
    PD_TRY(bench_sgemm(be, &r, err));
    PD_TRY(bench_own_sgemm(be, be->threads, &pk->own_gflops, err));
    pk->blas_gflops = r.value;
    if (strcmp(be->name, "cpu") == 0)
        snprintf(pk->kernel, sizeof pk->kernel, "openblas-%s", blas_core_name());
    else
        snprintf(pk->kernel, sizeof pk->kernel, "%s-gemm", be->name);
    pk->gflops = pk->blas_gflops;
    if (pk->own_gflops > pk->gflops) {
        pk->gflops = pk->own_gflops;
        snprintf(pk->kernel, sizeof pk->kernel, "%s", blas_own_kernel());
    }
    return PD_OK;
}

double bench_peak_share(const pd_bench_result *res, const pd_bench_peak *pk)
{
    return res->gflops > 0 && pk->gflops > 0 ? 100.0 * res->gflops / pk->gflops : 0.0;
}
