/* test_cuda_fused.c — CUDA vs CPU parity of the fused blocks of src/backend.h: BatchNorm -> ReLU (-> max-pool)
 * (bn_relu_forward / _backward), Convolution -> BatchNorm -> ReLU (-> max-pool) (conv_bn_relu_forward /
 * _backward) and "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" (norm_act_forward / _backward), forward
 * and backward, in training and evaluation mode. Harness and tolerances: cuda_parity.h. Skips (77) without a
 * CUDA build or a device. */
#include "cuda_parity.h"

static void free_all(tpair **all, size_t n)
{
    for (size_t j = 0; j < n; j++)
        tp_free(all[j]);
}

/* bn_relu on [n, c, h, w]; gamma partly negative (those channels pool the minimum of the normalised input) */
static void test_bn_relu(int32_t n, int32_t c, int32_t h, int32_t w, int pool)
{
    int64_t sz = (int64_t)n * c * h * w, osz = pool ? (int64_t)n * c * (h / 2) * (w / 2) : sz;
    tpair in = tp_rand(sz, -2.0f, 3.0f), out = tp_make(osz), gamma = tp_rand(c, 0.5f, 1.5f),
          beta = tp_rand(c, -0.5f, 0.5f), rm = tp_rand(c, -0.2f, 0.2f), rv = tp_rand(c, 0.5f, 1.5f), sm = tp_make(c),
          sr = tp_make(c), dout = tp_rand(osz, -1.0f, 1.0f), din = tp_rand(sz, -1.0f, 1.0f),
          dg = tp_rand(c, -1.0f, 1.0f), db = tp_rand(c, -1.0f, 1.0f);
    for (int32_t ch = 0; ch < c; ch += 3)
        gamma.h[ch] = -gamma.h[ch];
    tp_put(&gamma);
    char what[160];
    for (int train = 1; train >= 0; train--) {
        const char *mode = train ? "train" : "eval";
#define BR_CHECK(label, t)                                                                                       \
    do {                                                                                                         \
        snprintf(what, sizeof what, "bn_relu n %d c %d %dx%d%s %s: %s", n, c, h, w, pool ? " pool" : "", mode, \
                 label);                                                                                         \
        tp_check(what, &(t), TOL);                                                                               \
    } while (0)
        BOTH(be->bn_relu_forward(be, P(out), P(in), P(gamma), P(beta), P(rm), P(rv), P(sm), P(sr), n, c, h, w, pool,
                                 train, 0.1f, 1e-5f));
        BR_CHECK("forward", out);
        BR_CHECK("running mean", rm);
        BR_CHECK("running variance", rv);
        BR_CHECK("saved rstd", sr);
        BOTH(be->bn_relu_backward(be, P(din), P(dg), P(db), P(dout), P(in), P(gamma), P(beta), P(sm), P(sr), n, c, h,
                                  w, pool, train, 0));
        BR_CHECK("backward din", din);
        BR_CHECK("backward dgamma +=", dg);
        BR_CHECK("backward dbeta +=", db);
        BOTH(be->bn_relu_backward(be, P(din), P(dg), P(db), P(dout), P(in), P(gamma), P(beta), P(sm), P(sr), n, c, h,
                                  w, pool, train, 1));
        BR_CHECK("backward din acc", din);
#undef BR_CHECK
    }
    tpair *all[] = {&in, &out, &gamma, &beta, &rm, &rv, &sm, &sr, &dout, &din, &dg, &db};
    free_all(all, sizeof all / sizeof *all);
}

static void test_conv_bn_relu(int32_t n, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t k,
                              int32_t stride, int32_t pad, int pool)
{
    pd_conv2d_shape s = conv2d_shape_make(n, cin, h, w, cout, k, stride, pad);
    int64_t nin = (int64_t)n * cin * h * w, nw = (int64_t)cout * cin * k * k, nx = (int64_t)n * cout * s.ho * s.wo;
    int64_t nout = pool ? (int64_t)n * cout * (s.ho / 2) * (s.wo / 2) : nx;
    tpair in = tp_rand(nin, -1.0f, 1.0f), wt = tp_rand(nw, -0.5f, 0.5f), b = tp_rand(cout, -0.5f, 0.5f),
          x = tp_make(nx), work = tp_make(nx), out = tp_make(nout), gamma = tp_rand(cout, -1.5f, 1.5f),
          beta = tp_rand(cout, -0.5f, 0.5f), rm = tp_rand(cout, -0.2f, 0.2f), rv = tp_rand(cout, 0.5f, 1.5f),
          sm = tp_make(cout), sr = tp_make(cout), dout = tp_rand(nout, -1.0f, 1.0f), din = tp_rand(nin, -1.0f, 1.0f),
          dw = tp_rand(nw, -1.0f, 1.0f), db = tp_rand(cout, -1.0f, 1.0f), dg = tp_rand(cout, -1.0f, 1.0f),
          dbt = tp_rand(cout, -1.0f, 1.0f);
    char what[200];
    for (int train = 1; train >= 0; train--) {
#define CB_CHECK(label, t, tol)                                                                                     \
    do {                                                                                                            \
        snprintf(what, sizeof what, "conv block n %d %dx%dx%d->%d k%d s%d p%d%s %s: %s", n, cin, h, w, cout, k,     \
                 stride, pad, pool ? " pool" : "", train ? "train" : "eval", label);                                \
        tp_check(what, &(t), tol);                                                                                  \
    } while (0)
        BOTH(be->conv_bn_relu_forward(be, P(out), P(x), P(in), P(wt), P(b), &s, P(gamma), P(beta), P(rm), P(rv),
                                      P(sm), P(sr), pool, train, 0.1f, 1e-5f, 1));
        CB_CHECK("forward", out, TOL_GEMM);
        CB_CHECK("running mean", rm, TOL_GEMM);
        CB_CHECK("running variance", rv, TOL_GEMM);
        BOTH(be->conv_bn_relu_backward(be, P(din), P(dw), P(db), P(dg), P(dbt), P(work), P(dout), P(x), P(in), P(wt),
                                       &s, P(gamma), P(beta), P(sm), P(sr), pool, train, 0));
        CB_CHECK("backward din", din, TOL_GEMM);
        CB_CHECK("backward dw +=", dw, TOL_GEMM);
        CB_CHECK("backward db +=", db, TOL_GEMM);
        CB_CHECK("backward dgamma +=", dg, TOL_GEMM);
        CB_CHECK("backward dbeta +=", dbt, TOL_GEMM);
        BOTH(be->conv_bn_relu_backward(be, NULL, NULL, NULL, P(dg), P(dbt), P(work), P(dout), P(x), P(in), P(wt), &s,
                                       P(gamma), P(beta), P(sm), P(sr), pool, train, 0));
        CB_CHECK("backward without the convolution: dgamma +=", dg, TOL_GEMM);
#undef CB_CHECK
    }
    tpair *all[] = {&in, &wt, &b, &x, &work, &out, &gamma, &beta, &rm, &rv, &sm, &sr, &dout, &din, &dw, &db, &dg, &dbt};
    free_all(all, sizeof all / sizeof *all);
}

/* norm_act over [n, c, l]; emb: with the time embedding (and its table's gradient); lead: the LeakyReLU */
static void test_norm_act(int32_t n, int32_t c, int32_t l, int emb, int lead)
{
    int32_t T = 40;
    int64_t sz = (int64_t)n * c * l, rows = (int64_t)n * c;
    tpair in = tp_rand(sz, -2.0f, 2.5f), out = tp_make(sz), table = tp_rand((int64_t)T * l, -1.0f, 1.0f),
          sm = tp_make(rows), sr = tp_make(rows), dout = tp_rand(sz, -1.0f, 1.0f), din = tp_rand(sz, -1.0f, 1.0f),
          dtable = tp_rand((int64_t)T * l, -1.0f, 1.0f);
    ipair t = ip_rand(n, 6); /* few distinct timesteps: repeated rows of the table */
    char what[160];
#define NA_CHECK(label, x)                                                                                      \
    do {                                                                                                        \
        snprintf(what, sizeof what, "norm_act n %d c %d l %d%s%s: %s", n, c, l, emb ? " temb" : "",            \
                 lead ? " leaky" : "", label);                                                                  \
        tp_check(what, &(x), TOL);                                                                              \
    } while (0)
    BOTH(be->norm_act_forward(be, P(out), P(in), emb ? P(table) : NULL, emb ? P(t) : NULL, P(sm), P(sr), n, c, l,
                              lead, 0.01f, 1e-5f));
    NA_CHECK("forward", out);
    NA_CHECK("saved mean", sm);
    NA_CHECK("saved rstd", sr);
    BOTH(be->norm_act_backward(be, P(din), emb ? P(dtable) : NULL, P(dout), P(in), emb ? P(table) : NULL,
                               emb ? P(t) : NULL, P(sm), P(sr), n, c, l, lead, 0.01f, 0));
    NA_CHECK("backward din", din);
    if (emb)
        NA_CHECK("backward dtable += (repeated timesteps)", dtable);
    BOTH(be->norm_act_backward(be, P(din), emb ? P(dtable) : NULL, P(dout), P(in), emb ? P(table) : NULL,
                               emb ? P(t) : NULL, P(sm), P(sr), n, c, l, lead, 0.01f, 1));
    NA_CHECK("backward din acc", din);
    if (emb) {
        BOTH(be->norm_act_backward(be, NULL, P(dtable), P(dout), P(in), P(table), P(t), P(sm), P(sr), n, c, l, lead,
                                   0.01f, 0));
        NA_CHECK("backward din NULL: dtable +=", dtable);
    }
#undef NA_CHECK
    tpair *all[] = {&in, &out, &table, &sm, &sr, &dout, &din, &dtable};
    free_all(all, sizeof all / sizeof *all);
    ip_free(&t);
}

int main(void)
{
    int status;
    if (cuda_parity_open(&status) != 0)
        return status;
    test_bn_relu(4, 6, 8, 6, 1);
    test_bn_relu(3, 5, 7, 5, 1); /* odd sizes: a row and a column no window reaches */
    test_bn_relu(3, 5, 6, 6, 0);
    test_conv_bn_relu(3, 8, 8, 8, 16, 3, 1, 1, 1);   /* convnet-like, pooled */
    test_conv_bn_relu(2, 3, 9, 9, 16, 3, 2, 1, 0);   /* strided, no pool */
    test_conv_bn_relu(4, 1, 12, 12, 8, 3, 1, 1, 1);  /* one input channel */
    test_norm_act(5, 7, 250, 0, 0);   /* the AE's plain InstanceNorm */
    test_norm_act(5, 7, 250, 0, 1);   /* the AE's LeakyReLU -> InstanceNorm */
    test_norm_act(33, 16, 12, 1, 1);  /* the UNet's temb -> LeakyReLU -> InstanceNorm */
    test_norm_act(9, 64, 12, 1, 0);   /* the UNet's first block (temb, no LeakyReLU) */
    cuda_parity_close();
    return tap_done();
}
