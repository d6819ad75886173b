/* test_cuda.c — CUDA vs CPU parity of every backend op (src/backend.h), forward and backward; the fused
 * blocks are in test_cuda_fused.c, the harness in cuda_parity.h.
 *
 * Tolerances (cuda_parity.h): TOL (1e-4) for element-wise ops, norms and losses, TOL_GEMM (1e-3) for ops built
 * on cuBLAS (true float32: the backend disables TF32, so they land far below it in practice). Integer outputs
 * (argmax, max-pool indices, correct counts) must match exactly, and so must random numbers (randn, noise_mix,
 * diffusion_step: the same counter-based generator on both), up to a rare one-ulp difference (see
 * tp_check_exact); repeated GPU runs must agree bit for bit.
 *
 * Without a CUDA build, or without a device, it prints "1..0 # SKIP ..." and exits 77. Setting
 * PDIFF_CUDA_TEST_SELFCHECK=1 runs the whole harness with the CPU backend (1 thread) in the GPU's place,
 * which checks the test itself on machines without a GPU. */
#include "cuda_parity.h"

/* ---- element-wise -------------------------------------------------------------------------------------- */

static void test_random(void)
{
    int64_t n = 100003;
    tpair x = tp_make(n);
    uint64_t off = ((uint64_t)1 << 40) + 12345;
    BOTH(be->randn(be, P(x), n, 42, off));
    tp_check_exact("randn (seed 42, offset 2^40 + 12345)", &x);
    BOTH(be->randn(be, P(x), 1000, 0xFFFFFFFFFFFFFFFFULL, 0));
    tp_check_exact("randn (seed 2^64 - 1, offset 0)", &x);
    tpair y = tp_rand(n, -3.0f, 3.0f);
    BOTH(be->noise_mix(be, P(y), P(y), 0.1f, n, 7, 99)); /* in place */
    tp_check_exact("noise_mix in place", &y);
    tp_free(&x);
    tp_free(&y);
}

static void test_eltwise(void)
{
    int64_t n = 70001;
    tpair x = tp_rand(n, -2.0f, 2.0f), y = tp_rand(n, -2.0f, 2.0f), o = tp_make(n), d = tp_rand(n, -1.0f, 1.0f);
    BOTH(be->fill(be, P(o), n, 0.25f));
    tp_check_exact("fill", &o);
    BOTH(be->axpby(be, P(o), 1.5f, P(x), 0.0f, n));
    tp_check("axpby b = 0", &o, TOL);
    BOTH(be->axpby(be, P(o), -0.5f, P(y), 1.0f, n));
    tp_check("axpby b = 1", &o, TOL);
    BOTH(be->axpby(be, P(o), 0.3f, P(o), 0.7f, n)); /* x aliases y */
    tp_check("axpby in place", &o, TOL);
    BOTH(be->add(be, P(o), P(x), P(y), n));
    tp_check("add", &o, TOL);
    BOTH(be->add(be, P(o), P(o), P(x), n));
    tp_check("add in place", &o, TOL);
    BOTH(be->clamp_forward(be, P(o), P(x), -1.0f, 0.5f, n));
    tp_check("clamp forward", &o, TOL);
    BOTH(be->clamp_backward(be, P(o), P(d), P(x), -1.0f, 0.5f, n, 0));
    tp_check("clamp backward", &o, TOL);
    BOTH(be->clamp_backward(be, P(o), P(d), P(x), -1.0f, 0.5f, n, 1));
    tp_check("clamp backward acc", &o, TOL);
    BOTH(be->relu_forward(be, P(o), P(x), n));
    tp_check("relu forward", &o, TOL);
    BOTH(be->relu_backward(be, P(y), P(d), P(o), n, 0));
    tp_check("relu backward", &y, TOL);
    BOTH(be->relu_backward(be, P(y), P(d), P(o), n, 1));
    tp_check("relu backward acc", &y, TOL);
    BOTH(be->leakyrelu_forward(be, P(o), P(x), 0.2f, n));
    tp_check("leakyrelu forward", &o, TOL);
    BOTH(be->leakyrelu_backward(be, P(y), P(d), P(x), 0.2f, n, 0));
    tp_check("leakyrelu backward", &y, TOL);
    BOTH(be->leakyrelu_backward(be, P(y), P(d), P(x), 0.2f, n, 1));
    tp_check("leakyrelu backward acc", &y, TOL);
    BOTH(be->tanh_forward(be, P(o), P(x), n));
    tp_check("tanh forward", &o, TOL);
    BOTH(be->tanh_backward(be, P(y), P(d), P(o), n, 0));
    tp_check("tanh backward", &y, TOL);
    BOTH(be->tanh_backward(be, P(y), P(d), P(o), n, 1));
    tp_check("tanh backward acc", &y, TOL);
    /* pad_rows: pad 37 -> 50 and crop 50 -> 37 */
    tpair a = tp_rand(101 * 37, -1.0f, 1.0f), b = tp_rand(101 * 50, -1.0f, 1.0f), c = tp_rand(101 * 37, 5.0f, 6.0f);
    BOTH(be->pad_rows(be, P(b), P(a), 101, 37, 50));
    tp_check_exact("pad_rows pad", &b);
    BOTH(be->pad_rows(be, P(c), P(b), 101, 50, 37));
    tp_check_exact("pad_rows crop", &c);
    tp_free(&a);
    tp_free(&b);
    tp_free(&c);
    tp_free(&x);
    tp_free(&y);
    tp_free(&o);
    tp_free(&d);
}

static void test_optim(void)
{
    int64_t n = 50000;
    tpair p = tp_rand(n, -1.0f, 1.0f), g = tp_rand(n, -1.0f, 1.0f), m = tp_rand(n, -0.1f, 0.1f),
          v = tp_rand(n, 0.0f, 0.01f);
    BOTH(be->sgd_step(be, P(p), P(g), P(m), n, 0.05f, 0.9f, 5e-4f));
    tp_check("sgd step: parameters", &p, TOL);
    tp_check("sgd step: momentum", &m, TOL);
    BOTH(be->adamw_step(be, P(p), P(g), P(m), P(v), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 2e-6f, 1));
    tp_check("adamw step t = 1: parameters", &p, TOL);
    BOTH(be->adamw_step(be, P(p), P(g), P(m), P(v), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 2e-6f, 7));
    tp_check("adamw step t = 7: parameters", &p, TOL);
    tp_check("adamw step: first moment", &m, TOL);
    tp_check("adamw step: second moment", &v, TOL);
    tp_free(&p);
    tp_free(&g);
    tp_free(&m);
    tp_free(&v);
}

/* ---- dense --------------------------------------------------------------------------------------------- */

static void test_gemm(void)
{
    int32_t m = 37, n = 53, k = 29, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int32_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
            tpair a = tp_rand((int64_t)(ta ? k : m) * lda, -1.0f, 1.0f);
            tpair b = tp_rand((int64_t)(tb ? n : k) * ldb, -1.0f, 1.0f);
            tpair c = tp_rand((int64_t)m * ldc, -1.0f, 1.0f);
            BOTH(be->gemm(be, ta, tb, m, n, k, 0.7f, P(a), lda, P(b), ldb, 0.5f, P(c), ldc));
            char name[64];
            snprintf(name, sizeof name, "gemm ta %d tb %d (padded leading dimensions, beta 0.5)", ta, tb);
            tp_check(name, &c, TOL_GEMM);
            tp_free(&a);
            tp_free(&b);
            tp_free(&c);
        }
    tpair a = tp_rand(64, -1.0f, 1.0f), c = tp_rand(6 * 7, -1.0f, 1.0f);
    BOTH(be->gemm(be, 0, 0, 6, 7, 0, 1.0f, P(a), 1, P(a), 7, 0.5f, P(c), 7));
    tp_check("gemm k = 0 scales C by beta", &c, TOL);
    tp_free(&a);
    tp_free(&c);
}

static void test_linear(void)
{
    int32_t n = 67, i = 300, o = 10;
    tpair in = tp_rand((int64_t)n * i, -1.0f, 1.0f), w = tp_rand((int64_t)o * i, -0.1f, 0.1f),
          b = tp_rand(o, -0.5f, 0.5f), out = tp_make((int64_t)n * o), dout = tp_rand((int64_t)n * o, -1.0f, 1.0f),
          din = tp_rand((int64_t)n * i, -1.0f, 1.0f), dw = tp_rand((int64_t)o * i, -1.0f, 1.0f),
          db = tp_rand(o, -1.0f, 1.0f);
    BOTH(be->linear_forward(be, P(out), P(in), P(w), P(b), n, i, o));
    tp_check("linear forward", &out, TOL_GEMM);
    BOTH(be->linear_forward(be, P(out), P(in), P(w), NULL, n, i, o));
    tp_check("linear forward without bias", &out, TOL_GEMM);
    BOTH(be->linear_backward(be, P(din), P(dw), P(db), P(dout), P(in), P(w), n, i, o, 0));
    tp_check("linear backward din", &din, TOL_GEMM);
    tp_check("linear backward dw +=", &dw, TOL_GEMM);
    tp_check("linear backward db +=", &db, TOL);
    BOTH(be->linear_backward(be, P(din), P(dw), NULL, P(dout), P(in), P(w), n, i, o, 1));
    tp_check("linear backward din acc", &din, TOL_GEMM);
    tpair *all[] = {&in, &w, &b, &out, &dout, &din, &dw, &db};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
}

/* ---- 2-D layers ---------------------------------------------------------------------------------------- */

static void test_conv2d_case(int32_t n, int32_t cin, int32_t h, int32_t w_, int32_t cout, int32_t k, int32_t stride,
                             int32_t pad, int bias)
{
    pd_conv2d_shape s = conv2d_shape_make(n, cin, h, w_, cout, k, stride, pad);
    int64_t nin = (int64_t)n * cin * h * w_, nout = (int64_t)n * cout * s.ho * s.wo, nw = (int64_t)cout * cin * k * k;
    tpair in = tp_rand(nin, -1.0f, 1.0f), w = tp_rand(nw, -0.3f, 0.3f), b = tp_rand(cout, -0.5f, 0.5f),
          out = tp_make(nout), dout = tp_rand(nout, -1.0f, 1.0f), din = tp_rand(nin, -1.0f, 1.0f),
          dw = tp_rand(nw, -1.0f, 1.0f), db = tp_rand(cout, -1.0f, 1.0f);
    char name[160];
    snprintf(name, sizeof name, "conv2d n %d cin %d %dx%d cout %d k %d stride %d pad %d%s", n, cin, h, w_, cout, k,
             stride, pad, bias ? "" : " no bias");
    char what[220];
    BOTH(be->conv2d_forward(be, P(out), P(in), P(w), bias ? P(b) : NULL, &s));
    snprintf(what, sizeof what, "%s: forward", name);
    tp_check(what, &out, TOL_GEMM);
    BOTH(be->conv2d_backward(be, P(din), P(dw), bias ? P(db) : NULL, P(dout), P(in), P(w), &s, 0));
    snprintf(what, sizeof what, "%s: din", name);
    tp_check(what, &din, TOL_GEMM);
    snprintf(what, sizeof what, "%s: dw +=", name);
    tp_check(what, &dw, TOL_GEMM);
    if (bias) {
        snprintf(what, sizeof what, "%s: db +=", name);
        tp_check(what, &db, TOL);
    }
    BOTH(be->conv2d_backward(be, P(din), P(dw), NULL, P(dout), P(in), P(w), &s, 1));
    snprintf(what, sizeof what, "%s: din acc", name);
    tp_check(what, &din, TOL_GEMM);
    /* repeatability: the same backward pass again gives the same bits */
    BOTH(be->fill(be, P(dw), nw, 0.0f));
    BOTH(be->conv2d_backward(be, P(din), P(dw), NULL, P(dout), P(in), P(w), &s, 0));
    float *d1 = tp_gpu_host(&dw), *i1 = tp_gpu_host(&din);
    BOTH(be->fill(be, P(dw), nw, 0.0f));
    BOTH(be->conv2d_backward(be, P(din), P(dw), NULL, P(dout), P(in), P(w), &s, 0));
    float *d2 = tp_gpu_host(&dw), *i2 = tp_gpu_host(&din);
    snprintf(what, sizeof what, "%s: backward repeats bit for bit", name);
    tap_ok(memcmp(d1, d2, (size_t)nw * sizeof(float)) == 0 && memcmp(i1, i2, (size_t)nin * sizeof(float)) == 0,
           "%s", what);
    free(d1);
    free(d2);
    free(i1);
    free(i2);
    tpair *all[] = {&in, &w, &b, &out, &dout, &din, &dw, &db};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
}

static void test_conv2d(void)
{
    test_conv2d_case(3, 3, 9, 7, 5, 3, 1, 1, 1);  /* "same" */
    test_conv2d_case(2, 4, 8, 9, 6, 3, 2, 1, 1);  /* strided, odd width */
    test_conv2d_case(4, 8, 7, 7, 16, 1, 2, 0, 0); /* ResNet shortcut: 1x1 stride 2, no bias */
    test_conv2d_case(2, 2, 6, 5, 3, 5, 1, 2, 1);  /* k 5 */
    test_conv2d_case(2, 3, 11, 10, 4, 5, 2, 2, 1); /* k 5 stride 2: overlapping windows with padding */
    test_conv2d_case(80, 64, 28, 28, 8, 3, 1, 1, 0); /* several GPU chunks */
}

static void test_batchnorm_case(int32_t n, int32_t c, int32_t hw, float shift)
{
    int64_t sz = (int64_t)n * c * hw;
    tpair in = tp_rand(sz, shift - 2.0f, shift + 2.0f), out = tp_make(sz), gamma = tp_rand(c, 0.5f, 1.5f),
          beta = tp_rand(c, -0.5f, 0.5f), rm = tp_rand(c, -0.1f, 0.1f), rv = tp_rand(c, 0.5f, 1.5f),
          sm = tp_make(c), sr = tp_make(c), dout = tp_rand(sz, -1.0f, 1.0f), din = tp_rand(sz, -1.0f, 1.0f),
          dg = tp_rand(c, -1.0f, 1.0f), dbt = tp_rand(c, -1.0f, 1.0f);
    char name[120], what[180];
    snprintf(name, sizeof name, "batchnorm n %d c %d hw %d (mean %g)", n, c, hw, shift);
#define BN_CHECK(label, t, tol)                                  \
    do {                                                         \
        snprintf(what, sizeof what, "%s: %s", name, label);      \
        tp_check(what, &(t), tol);                               \
    } while (0)
    BOTH(be->batchnorm2d_forward(be, P(out), P(in), P(gamma), P(beta), P(rm), P(rv), P(sm), P(sr), n, c, hw, 1, 0.1f,
                                 1e-5f));
    BN_CHECK("train forward", out, TOL);
    BN_CHECK("running mean", rm, TOL);
    BN_CHECK("running variance (unbiased)", rv, TOL);
    BN_CHECK("saved mean", sm, TOL);
    BN_CHECK("saved rstd", sr, TOL);
    BOTH(be->batchnorm2d_backward(be, P(din), P(dg), P(dbt), P(dout), P(in), P(gamma), P(sm), P(sr), n, c, hw, 1, 0));
    BN_CHECK("train backward din", din, TOL);
    BN_CHECK("train backward dgamma +=", dg, TOL);
    BN_CHECK("train backward dbeta +=", dbt, TOL);
    BOTH(be->batchnorm2d_backward(be, P(din), P(dg), P(dbt), P(dout), P(in), P(gamma), P(sm), P(sr), n, c, hw, 1, 1));
    BN_CHECK("train backward din acc", din, TOL);
    BOTH(be->batchnorm2d_forward(be, P(out), P(in), P(gamma), P(beta), P(rm), P(rv), P(sm), P(sr), n, c, hw, 0, 0.1f,
                                 1e-5f));
    BN_CHECK("eval forward", out, TOL);
    BN_CHECK("eval saved rstd", sr, TOL);
    BN_CHECK("eval leaves the running variance", rv, TOL);
    BOTH(be->batchnorm2d_backward(be, P(din), P(dg), P(dbt), P(dout), P(in), P(gamma), P(sm), P(sr), n, c, hw, 0, 0));
    BN_CHECK("eval backward din", din, TOL);
    BN_CHECK("eval backward dgamma +=", dg, TOL);
    BOTH(be->batchnorm2d_forward(be, P(in), P(in), P(gamma), P(beta), P(rm), P(rv), P(sm), P(sr), n, c, hw, 1, 0.1f,
                                 1e-5f));
    BN_CHECK("train forward in place", in, TOL);
#undef BN_CHECK
    tpair *all[] = {&in, &out, &gamma, &beta, &rm, &rv, &sm, &sr, &dout, &din, &dg, &dbt};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
}

/* the evaluator's fused eval BatchNorm + ReLU + max-pool: CPU parity, and equal bits to the unfused chain */
static void test_bn_relu_pool(void)
{
    int32_t n = 5, c = 6, h = 8, w = 6, hw2 = (h / 2) * (w / 2);
    int64_t sz = (int64_t)n * c * h * w, psz = (int64_t)n * c * hw2;
    tpair pre = tp_rand(sz, -2.0f, 2.0f), neg = tp_make(sz), mx = tp_make(psz), mn = tp_make(psz),
          gamma = tp_rand(c, -1.0f, 1.0f), beta = tp_rand(c, -0.5f, 0.5f), rm = tp_rand(c, -0.2f, 0.2f),
          rv = tp_rand(c, 0.5f, 1.5f), fused = tp_make(psz), bn = tp_make(sz), pooled = tp_make(psz),
          sm = tp_make(c), sr = tp_make(c);
    ipair arg = ip_make(psz);
    gamma.h[0] = -0.75f; /* at least one negative scale: that channel pools the minimum */
    gamma.h[1] = 0.5f;
    tp_put(&gamma);
    BOTH(be->maxpool2d_forward(be, P(mx), P(arg), P(pre), n, c, h, w);
         be->axpby(be, P(neg), -1.0f, P(pre), 0.0f, sz); be->maxpool2d_forward(be, P(mn), P(arg), P(neg), n, c, h, w);
         be->axpby(be, P(mn), -1.0f, P(mn), 0.0f, psz);
         be->bn_relu_pool_eval(be, P(fused), P(mx), P(mn), P(gamma), P(beta), P(rm), P(rv), 1e-5f, n, c, hw2));
    tp_check_exact("bn_relu_pool_eval", &fused);
    BOTH(be->batchnorm2d_forward(be, P(bn), P(pre), P(gamma), P(beta), P(rm), P(rv), P(sm), P(sr), n, c, h * w, 0,
                                 0.1f, 1e-5f);
         be->relu_forward(be, P(bn), P(bn), sz); be->maxpool2d_forward(be, P(pooled), P(arg), P(bn), n, c, h, w));
    float *a = tp_gpu_host(&fused), *b = tp_gpu_host(&pooled);
    tap_ok(memcmp(a, b, (size_t)psz * sizeof(float)) == 0,
           "bn_relu_pool_eval on the GPU equals eval batchnorm -> relu -> maxpool bit for bit");
    free(a);
    free(b);
    tpair *all[] = {&pre, &neg, &mx, &mn, &gamma, &beta, &rm, &rv, &fused, &bn, &pooled, &sm, &sr};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
    ip_free(&arg);
}

static void test_pool(void)
{
    int32_t n = 3, c = 4, h = 7, w = 9, ho = h / 2, wo = w / 2;
    int64_t nin = (int64_t)n * c * h * w, nout = (int64_t)n * c * ho * wo;
    tpair in = tp_ties(nin, -2, 2), out = tp_make(nout), dout = tp_rand(nout, -1.0f, 1.0f),
          din = tp_rand(nin, -1.0f, 1.0f);
    ipair arg = ip_make(nout);
    BOTH(be->maxpool2d_forward(be, P(out), P(arg), P(in), n, c, h, w));
    tp_check_exact("maxpool forward (many ties, odd sizes)", &out);
    ip_check("maxpool indices: first maximum wins", &arg);
    BOTH(be->maxpool2d_backward(be, P(din), P(dout), P(arg), n, c, h, w, 0));
    tp_check_exact("maxpool backward", &din);
    BOTH(be->maxpool2d_backward(be, P(din), P(dout), P(arg), n, c, h, w, 1));
    tp_check("maxpool backward acc", &din, TOL);
    int32_t hw = 49;
    tpair x = tp_rand((int64_t)n * 64 * hw, -1.0f, 3.0f), y = tp_make((int64_t)n * 64),
          dy = tp_rand((int64_t)n * 64, -1.0f, 1.0f), dx = tp_rand((int64_t)n * 64 * hw, -1.0f, 1.0f);
    BOTH(be->avgpool_forward(be, P(y), P(x), n, 64, hw));
    tp_check("avgpool forward", &y, TOL);
    BOTH(be->avgpool_backward(be, P(dx), P(dy), n, 64, hw, 0));
    tp_check("avgpool backward", &dx, TOL);
    BOTH(be->avgpool_backward(be, P(dx), P(dy), n, 64, hw, 1));
    tp_check("avgpool backward acc", &dx, TOL);
    tpair *all[] = {&in, &out, &dout, &din, &x, &y, &dy, &dx};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
    ip_free(&arg);
}

/* ---- losses -------------------------------------------------------------------------------------------- */

static void test_xent_case(int32_t n, int32_t c)
{
    tpair logits = tp_ties((int64_t)n * c, -3, 3), dl = tp_make((int64_t)n * c), loss = tp_make(1);
    ipair labels = ip_rand(n, c), correct = ip_make(1), pred = ip_make(n);
    loss.h[0] = 0.5f;
    tp_put(&loss);
    correct.h[0] = 3;
    ip_put(&correct);
    char what[120];
    BOTH(be->softmax_xent(be, P(loss), P(correct), P(dl), P(logits), P(labels), n, c));
    BOTH(be->softmax_xent(be, P(loss), NULL, NULL, P(logits), P(labels), n, c));
    snprintf(what, sizeof what, "softmax_xent n %d c %d: loss accumulates", n, c);
    tp_check(what, &loss, TOL);
    snprintf(what, sizeof what, "softmax_xent n %d c %d: correct count accumulates", n, c);
    ip_check(what, &correct);
    snprintf(what, sizeof what, "softmax_xent n %d c %d: dlogits", n, c);
    tp_check(what, &dl, TOL);
    BOTH(be->argmax(be, P(pred), P(logits), n, c));
    snprintf(what, sizeof what, "argmax n %d c %d (ties: first maximum wins)", n, c);
    ip_check(what, &pred);
    tp_free(&logits);
    tp_free(&dl);
    tp_free(&loss);
    ip_free(&labels);
    ip_free(&correct);
    ip_free(&pred);
}

static void test_mse(void)
{
    int64_t n = 100000;
    tpair p = tp_rand(n, -1.0f, 1.0f), t = tp_rand(n, -1.0f, 1.0f), d = tp_make(n), loss = tp_make(1);
    loss.h[0] = 0.25f;
    tp_put(&loss);
    BOTH(be->mse(be, P(loss), P(d), P(p), P(t), n));
    BOTH(be->mse(be, P(loss), NULL, P(p), P(t), 1000));
    tp_check("mse: loss accumulates", &loss, TOL);
    tp_check("mse: dpred", &d, TOL);
    tp_free(&p);
    tp_free(&t);
    tp_free(&d);
    tp_free(&loss);
}

/* ---- 1-D layers ---------------------------------------------------------------------------------------- */

static void test_conv1d_case(int transposed, int32_t n, int32_t cin, int32_t l, int32_t cout, int32_t k,
                             int32_t stride, int32_t pad)
{
    pd_conv1d_shape s = transposed ? convt1d_shape_make(n, cin, l, cout, k, stride, pad)
                                   : conv1d_shape_make(n, cin, l, cout, k, stride, pad);
    int64_t nin = (int64_t)n * cin * l, nout = (int64_t)n * cout * s.lo, nw = (int64_t)cout * cin * k;
    tpair in = tp_rand(nin, -1.0f, 1.0f), w = tp_rand(nw, -0.3f, 0.3f), b = tp_rand(cout, -0.5f, 0.5f),
          out = tp_make(nout), dout = tp_rand(nout, -1.0f, 1.0f), din = tp_rand(nin, -1.0f, 1.0f),
          dw = tp_rand(nw, -1.0f, 1.0f), db = tp_rand(cout, -1.0f, 1.0f);
    char name[160], what[220];
    snprintf(name, sizeof name, "%s n %d cin %d l %d cout %d k %d stride %d pad %d", transposed ? "convt1d" : "conv1d",
             n, cin, l, cout, k, stride, pad);
    void (*fwd)(pd_backend *, float *, const float *, const float *, const float *, const pd_conv1d_shape *);
    void (*bwd)(pd_backend *, float *, float *, float *, const float *, const float *, const float *,
                const pd_conv1d_shape *, int);
#define C1_CHECK(label, t, tol)                                  \
    do {                                                         \
        snprintf(what, sizeof what, "%s: %s", name, label);      \
        tp_check(what, &(t), tol);                               \
    } while (0)
    BOTH(fwd = transposed ? be->convt1d_forward : be->conv1d_forward; fwd(be, P(out), P(in), P(w), P(b), &s));
    C1_CHECK("forward", out, TOL_GEMM);
    BOTH(fwd = transposed ? be->convt1d_forward : be->conv1d_forward; fwd(be, P(out), P(in), P(w), NULL, &s));
    C1_CHECK("forward without bias", out, TOL_GEMM);
    BOTH(bwd = transposed ? be->convt1d_backward : be->conv1d_backward;
         bwd(be, P(din), P(dw), P(db), P(dout), P(in), P(w), &s, 0));
    C1_CHECK("din", din, TOL_GEMM);
    C1_CHECK("dw +=", dw, TOL_GEMM);
    C1_CHECK("db +=", db, TOL);
    BOTH(bwd = transposed ? be->convt1d_backward : be->conv1d_backward;
         bwd(be, P(din), NULL, NULL, P(dout), P(in), P(w), &s, 1));
    C1_CHECK("din acc, dw NULL", din, TOL_GEMM);
    BOTH(bwd = transposed ? be->convt1d_backward : be->conv1d_backward;
         bwd(be, NULL, P(dw), NULL, P(dout), P(in), P(w), &s, 0));
    C1_CHECK("dw +=, din NULL", dw, TOL_GEMM);
#undef C1_CHECK
    tpair *all[] = {&in, &w, &b, &out, &dout, &din, &dw, &db};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
}

static void test_conv1d(void)
{
    test_conv1d_case(0, 5, 1, 250, 4, 5, 1, 1);   /* AE first layer */
    test_conv1d_case(0, 5, 4, 250, 4, 5, 5, 0);   /* AE strided down */
    test_conv1d_case(0, 7, 64, 12, 128, 3, 1, 1); /* UNet */
    test_conv1d_case(0, 3, 8, 40, 1, 5, 1, 5);    /* AE last layer: pad fold */
    test_conv1d_case(1, 5, 4, 10, 4, 5, 5, 0);    /* AE up: ConvTranspose1d stride fold */
    test_conv1d_case(1, 4, 6, 11, 3, 3, 2, 1);    /* transposed with cropping padding */
    test_conv1d_case(1, 3, 16, 9, 8, 4, 1, 0);
    test_conv1d_case(0, 3, 5, 23, 6, 5, 2, 2);    /* overlapping windows, stride below k, padding */
    test_conv1d_case(1, 3, 5, 12, 6, 5, 3, 2);    /* transposed likewise */
}

static void test_instnorm(void)
{
    int64_t rows = 37;
    int32_t l = 250;
    int64_t sz = rows * l;
    tpair in = tp_rand(sz, 3.0f, 5.0f), out = tp_make(sz), sm = tp_make(rows), sr = tp_make(rows),
          dout = tp_rand(sz, -1.0f, 1.0f), din = tp_rand(sz, -1.0f, 1.0f);
    BOTH(be->instnorm_forward(be, P(out), P(in), P(sm), P(sr), rows, l, 1e-5f));
    tp_check("instnorm forward", &out, TOL);
    tp_check("instnorm saved mean", &sm, TOL);
    tp_check("instnorm saved rstd", &sr, TOL);
    BOTH(be->instnorm_backward(be, P(din), P(dout), P(in), P(sm), P(sr), rows, l, 0));
    tp_check("instnorm backward", &din, TOL);
    BOTH(be->instnorm_backward(be, P(din), P(dout), P(in), P(sm), P(sr), rows, l, 1));
    tp_check("instnorm backward acc", &din, TOL);
    BOTH(be->instnorm_forward(be, P(in), P(in), P(sm), P(sr), rows, l, 1e-5f));
    tp_check("instnorm forward in place", &in, TOL);
    tpair s = tp_rand(200 * 64 * 12, -2.0f, 2.0f), so = tp_make(200 * 64 * 12), ssm = tp_make(200 * 64),
          ssr = tp_make(200 * 64);
    BOTH(be->instnorm_forward(be, P(so), P(s), P(ssm), P(ssr), 200 * 64, 12, 1e-5f));
    tp_check("instnorm forward, UNet rows of 12", &so, TOL);
    tpair *all[] = {&in, &out, &sm, &sr, &dout, &din, &s, &so, &ssm, &ssr};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
}

/* ---- diffusion ----------------------------------------------------------------------------------------- */

static void test_diffusion(void)
{
    int32_t n = 33, c = 16, l = 12, T = 50;
    int64_t sz = (int64_t)n * c * l;
    tpair in = tp_rand(sz, -1.0f, 1.0f), out = tp_make(sz), table = tp_rand((int64_t)T * l, -1.0f, 1.0f),
          dout = tp_rand(sz, -1.0f, 1.0f), din = tp_rand(sz, -1.0f, 1.0f), dtable = tp_rand((int64_t)T * l, -1.0f, 1.0f);
    ipair t = ip_rand(n, 5); /* few distinct timesteps: repeated rows of the table */
    BOTH(be->temb_forward(be, P(out), P(in), P(table), P(t), n, c, l));
    tp_check("temb forward", &out, TOL);
    BOTH(be->temb_forward(be, P(in), P(in), P(table), P(t), n, c, l));
    tp_check("temb forward in place", &in, TOL);
    BOTH(be->temb_backward(be, P(din), P(dtable), P(dout), P(t), n, c, l, 0));
    tp_check("temb backward din", &din, TOL);
    tp_check("temb backward dtable += (repeated timesteps)", &dtable, TOL);
    BOTH(be->temb_backward(be, P(din), P(dtable), P(dout), P(t), n, c, l, 1));
    tp_check("temb backward din acc", &din, TOL);
    BOTH(be->temb_backward(be, NULL, P(dtable), P(dout), P(t), n, c, l, 0));
    tp_check("temb backward din NULL", &dtable, TOL);
    /* q_sample and the reverse step */
    int32_t L = 12, nb = 100;
    tpair x0 = tp_rand((int64_t)nb * L, -1.0f, 1.0f), eps = tp_rand((int64_t)nb * L, -2.0f, 2.0f),
          xt = tp_make((int64_t)nb * L), sab = tp_rand(T, 0.0f, 1.0f), s1m = tp_rand(T, 0.0f, 1.0f);
    ipair tt = ip_rand(nb, T);
    BOTH(be->diffusion_q_sample(be, P(xt), P(x0), P(eps), P(tt), P(sab), P(s1m), nb, L));
    tp_check("diffusion q_sample", &xt, TOL);
    BOTH(be->diffusion_step(be, P(xt), P(eps), (int64_t)nb * L, 1.3f, 0.4f, 0.6f, 0.35f, 0.05f, 77, 1000));
    tp_check_exact("diffusion step with noise", &xt);
    BOTH(be->diffusion_step(be, P(xt), P(eps), (int64_t)nb * L, 1.1f, 0.2f, 0.7f, 0.25f, 0.0f, 77, 2000));
    tp_check_exact("diffusion step without noise (sigma 0)", &xt);
    tpair *all[] = {&in, &out, &table, &dout, &din, &dtable, &x0, &eps, &xt, &sab, &s1m};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++)
        tp_free(all[j]);
    ip_free(&t);
    ip_free(&tt);
}

int main(void)
{
    int status;
    if (cuda_parity_open(&status) != 0)
        return status;
    test_random();
    test_eltwise();
    test_optim();
    test_gemm();
    test_linear();
    test_conv2d();
    test_batchnorm_case(8, 6, 49, 0.0f);
    test_batchnorm_case(32, 8, 784, 100.0f); /* several reduction slices; a large mean */
    test_batchnorm_case(5, 3, 1, 0.0f);      /* hw 1 (BN after global pooling) */
    test_pool();
    test_bn_relu_pool();
    test_xent_case(37, 10);
    test_xent_case(9, 45); /* more classes than a warp has lanes */
    test_mse();
    test_conv1d();
    test_instnorm();
    test_diffusion();
    cuda_parity_close();
    return tap_done();
}
