/* test_dense.c — the CPU backend's linear layer, losses and optimisers (backend.h) against naive
 * double-precision references written here, finite-difference checks of their backwards (gradcheck.h), the
 * accumulate conventions, and the thin linear forward's independence of the batch; with 2 threads and 1. */
#include <math.h>
#include <string.h>

#include "tap.h"
#include "ops_util.h"

/* ---- linear -------------------------------------------------------------------------------------------- */

typedef struct {
    float *out, *in, *w, *b;
    int32_t n, i, o;
} linear_op;
static void linear_fwd(void *p)
{
    linear_op *l = p;
    be->linear_forward(be, l->out, l->in, l->w, l->b, l->n, l->i, l->o);
}

/* a row's output does not depend on the batch around it (the evaluator relies on it) */
static void test_linear_rows(int32_t n, int32_t ni, int32_t no)
{
    float *in = frand((int64_t)n * ni, -1, 1), *w = frand((int64_t)no * ni, -1, 1), *b = frand(no, -1, 1);
    float *all = fbuf((int64_t)n * no), *one = fbuf(no);
    int same = 1;
    be->linear_forward(be, all, in, w, b, n, ni, no);
    for (int32_t r = 0; r < n; r += 1 + r % 7) {
        be->linear_forward(be, one, in + (int64_t)r * ni, w, b, 1, ni, no);
        same &= memcmp(one, all + (int64_t)r * no, (size_t)no * sizeof(float)) == 0;
    }
    tap_ok(same, "linear %dx%d->%d: a row alone gives its output in the batch bit for bit", n, ni, no);
}

static void test_linear(int32_t n, int32_t ni, int32_t no, int gc)
{
    int64_t sin = (int64_t)n * ni, sout = (int64_t)n * no, sw = (int64_t)no * ni;
    linear_op l = {fbuf(sout), frand(sin, -1, 1), frand(sw, -1, 1), frand(no, -1, 1), n, ni, no};
    float *want = fbuf(sout), *r = frand(sout, -1, 1), *din = fbuf(sin), *dw = fbuf(sw), *db = fbuf(no);
    float *wdin = fbuf(sin), *wdw = fbuf(sw), *wdb = fbuf(no);
    linear_fwd(&l);
    for (int32_t a = 0; a < n; a++)
        for (int32_t j = 0; j < no; j++) {
            double s = l.b[j];
            for (int32_t k = 0; k < ni; k++)
                s += (double)l.in[a * ni + k] * l.w[j * ni + k];
            want[a * no + j] = (float)s;
            wdb[j] += r[a * no + j];
            for (int32_t k = 0; k < ni; k++) {
                wdin[a * ni + k] += r[a * no + j] * l.w[j * ni + k];
                wdw[j * ni + k] += r[a * no + j] * l.in[a * ni + k];
            }
        }
    const char *tag = nm("linear %dx%d->%d", n, ni, no);
    tap_close(nm("%s forward", tag), l.out, want, sout, 1e-4, 1e-4);
    be->linear_backward(be, din, dw, db, r, l.in, l.w, n, ni, no, 0);
    const char *what = nm("%s din, dw, db vs reference", tag);
    tap_close(what, din, wdin, sin, 1e-4, 1e-4);
    tap_close(what, dw, wdw, sw, 1e-4, 1e-4);
    tap_close(what, db, wdb, no, 1e-4, 1e-4);
    if (!gc)
        return;
    gc_ctx c = {linear_fwd, &l, l.out, r, sout};
    gradcheck("linear din", l.in, din, sin, gc_loss, &c, 1e-2, 1e-3, 1e-2, 100);
    gradcheck("linear dw", l.w, dw, sw, gc_loss, &c, 1e-2, 1e-3, 1e-2, 100);
    gradcheck("linear db", l.b, db, no, gc_loss, &c, 1e-2, 1e-3, 1e-2, 100);
    float *din2 = fcopy(din, sin);
    be->linear_backward(be, din2, dw, NULL, r, l.in, l.w, n, ni, no, 1);
    tap_close("linear acc=1 adds to din", din2, fsum(din, din, 0.0f, sin), sin, 1e-6, 1e-6);
    tap_close("linear dw accumulates", dw, fsum(wdw, wdw, 0.0f, sw), sw, 1e-4, 1e-4);
}

/* ---- losses -------------------------------------------------------------------------------------------- */

typedef struct {
    float *loss, *logits, *target;
    int32_t *labels;
    int32_t n, c;
} loss_op;
static void xent_fwd(void *p)
{
    loss_op *l = p;
    l->loss[0] = 0;
    be->softmax_xent(be, l->loss, NULL, NULL, l->logits, l->labels, l->n, l->c);
}
static void mse_fwd(void *p)
{
    loss_op *l = p;
    l->loss[0] = 0;
    be->mse(be, l->loss, NULL, l->logits, l->target, l->n);
}

static void test_losses(void)
{
    int32_t n = 7, c = 5, wc = 3, *correct = ibuf(1), *pred = ibuf(n);
    float one = 1.0f;
    loss_op l = {fconst(1, 0.5f), frand((int64_t)n * c, -3, 3), NULL, ibuf(n), n, c};
    for (int32_t a = 0; a < n; a++)
        l.labels[a] = (int32_t)rng_below(&trng, (uint32_t)c);
    l.logits[2 * c + 1] = 1000.0f; /* stability: a huge logit */
    l.logits[2 * c + 3] = 999.0f;
    float *dl = fbuf((int64_t)n * c), *wdl = fbuf((int64_t)n * c);
    correct[0] = 3;
    be->softmax_xent(be, l.loss, correct, dl, l.logits, l.labels, n, c);
    double total = 0;
    for (int32_t a = 0; a < n; a++) {
        const float *x = l.logits + a * c;
        int32_t am = 0;
        double s = 0;
        for (int32_t j = 1; j < c; j++)
            am = x[j] > x[am] ? j : am;
        for (int32_t j = 0; j < c; j++)
            s += exp((double)x[j] - x[am]);
        total += log(s) + x[am] - x[l.labels[a]];
        wc += am == l.labels[a];
        for (int32_t j = 0; j < c; j++)
            wdl[a * c + j] = (float)((exp((double)x[j] - x[am]) / s - (j == l.labels[a])) / n);
    }
    float wl = (float)(0.5 + total / n);
    tap_close("softmax_xent loss accumulates", l.loss, &wl, 1, 1e-5, 1e-5);
    tap_ok(correct[0] == wc, "softmax_xent correct count accumulates: %d (want %d)", correct[0], wc);
    tap_close("softmax_xent dlogits", dl, wdl, (int64_t)n * c, 1e-6, 1e-5);
    l.logits[2 * c + 1] = 3.0f; /* back to a range where float differences resolve the loss */
    l.logits[2 * c + 3] = 2.0f;
    be->softmax_xent(be, l.loss, NULL, dl, l.logits, l.labels, n, c);
    gc_ctx g = {xent_fwd, &l, l.loss, &one, 1};
    gradcheck("softmax_xent dlogits", l.logits, dl, (int64_t)n * c, gc_loss, &g, 1e-2, 2e-4, 1e-2, 100);
    float ties[8] = {1, 3, 3, 2, -1, -1, -2, -1};
    be->argmax(be, pred, ties, 2, 4);
    be->argmax(be, pred + 2, l.logits, n - 2, c);
    int ok = pred[0] == 1 && pred[1] == 0;
    for (int32_t a = 0; a < n - 2; a++) {
        int32_t am = 0;
        for (int32_t j = 1; j < c; j++)
            am = l.logits[a * c + j] > l.logits[a * c + am] ? j : am;
        ok &= pred[2 + a] == am;
    }
    tap_ok(ok, "argmax, first maximum wins");
    /* mse: a big one (chunked sum) against double, a small one by finite differences */
    int64_t big = 100003;
    float *p = frand(big, -1, 1), *t = frand(big, -1, 1), *dp = fbuf(big), *wdp = fbuf(big);
    double ss = 0;
    for (int64_t i = 0; i < big; i++) {
        ss += pow((double)p[i] - t[i], 2);
        wdp[i] = (float)(2.0 * ((double)p[i] - t[i]) / big);
    }
    float lm = 0.25f, wlm = (float)(0.25 + ss / big);
    be->mse(be, &lm, dp, p, t, big);
    tap_close("mse loss accumulates", &lm, &wlm, 1, 1e-6, 1e-5);
    tap_close("mse dpred", dp, wdp, big, 1e-9, 1e-5);
    loss_op m = {fbuf(1), frand(37, -1, 1), frand(37, -1, 1), NULL, 37, 1};
    be->mse(be, m.loss, dp, m.logits, m.target, 37);
    gc_ctx gm = {mse_fwd, &m, m.loss, &one, 1};
    gradcheck("mse dpred", m.logits, dp, 37, gc_loss, &gm, 1e-2, 1e-4, 1e-2, 100);
}

/* ---- optimisers: five steps against the loops of PyTorch's documentation ------------------------------- */

static void test_optim(int64_t n)
{
    float *p = frand(n, -1, 1), *buf = fbuf(n), *m = fbuf(n), *v = fbuf(n);
    float *q = fcopy(p, n), *rp = fcopy(p, n), *rq = fcopy(p, n), *rb = fbuf(n), *rm = fbuf(n), *rv = fbuf(n);
    const float lr = 0.05f, mom = 0.9f, wd = 5e-4f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd2 = 0.01f;
    for (int64_t t = 1; t <= 5; t++) {
        float *g = frand(n, -1, 1), bc1 = 1.0f - powf(b1, (float)t), bc2 = 1.0f - powf(b2, (float)t);
        be->sgd_step(be, p, g, buf, n, lr, mom, wd);
        be->adamw_step(be, q, g, m, v, n, lr, b1, b2, eps, wd2, t);
        for (int64_t i = 0; i < n; i++) {
            float d = g[i] + wd * rp[i]; /* torch.optim.SGD */
            rb[i] = mom * rb[i] + d;
            rp[i] -= lr * rb[i];
            rq[i] *= 1.0f - lr * wd2; /* torch.optim.AdamW */
            rm[i] = b1 * rm[i] + (1 - b1) * g[i];
            rv[i] = b2 * rv[i] + (1 - b2) * g[i] * g[i];
            rq[i] -= lr * (rm[i] / bc1) / (sqrtf(rv[i] / bc2) + eps);
        }
    }
    const char *tag = nm("(n %lld, 5 steps)", (long long)n);
    tap_close(nm("sgd_step %s: p", tag), p, rp, n, 1e-6, 1e-5);
    tap_close(nm("sgd_step %s: momentum buffer", tag), buf, rb, n, 1e-6, 1e-5);
    tap_close(nm("adamw_step %s: p", tag), q, rq, n, 1e-6, 1e-5);
    tap_close(nm("adamw_step %s: m", tag), m, rm, n, 1e-7, 1e-5);
    tap_close(nm("adamw_step %s: v", tag), v, rv, n, 1e-8, 1e-5);
}

int main(void)
{
    for (int pass = 0; pass < 2; pass++) {
        if (!ops_pass_begin(pass))
            return tap_done();
        test_linear(5, 7, 4, 1);
        test_linear(300, 700, 10, 0);    /* parallel blocks */
        test_linear(7, 64, 16, 0);       /* the widest thin forward, whole vectors */
        test_linear(3, 40, 17, 0);       /* BLAS */
        test_linear_rows(301, 3136, 10); /* the convnet's classifier: rows alone = rows in a batch */
        test_losses();
        test_optim(101);
        test_optim(100000);
        release();
        backend_destroy(be);
    }
    return tap_done();
}
