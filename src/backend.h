/* backend.h — the compute backend interface: device memory plus every numeric operation the models use.
 *
 * Model code (task models, the parameter autoencoder, the UNet, the DDPM) is written once against this table
 * of function pointers; src/cpu/ fills it with OpenBLAS/C and AVX-512 implementations and
 * kernels/ fills it with CUDA kernels and cuBLAS. All float buffers are float32, contiguous, row-major, and
 * must come from the same backend's alloc(); pointer arithmetic on them (views, offsets) is allowed. On the CPU
 * backend "device" memory is host memory.
 *
 * Conventions (llm.c style, one forward/backward pair per layer):
 *   - shapes are explicit arguments; a comment on each pointer gives its shape;
 *   - backward functions ACCUMULATE parameter gradients (dw += ...) — the caller zeroes the gradient block
 *     once per step — and write the input gradient din when acc == 0 or add to it when acc == 1
 *     (a tensor read by two layers gets its gradient summed that way); din may be NULL when not needed;
 *   - ops never allocate inside a training step except to grow per-thread scratch the first time;
 *   - results are deterministic for a fixed backend and thread count; the CPU backend's do not depend on the
 *     thread count either (reductions over a batch use 8 fixed partial sums, however many threads);
 *   - random numbers are counter-based (rng.h): element i of a random fill uses rng_normal_at(seed, offset + i),
 *     identical on every backend.
 * Optional slots may be NULL; the caller checks (none are optional yet).
 */
#ifndef PD_BACKEND_H
#define PD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct pd_backend pd_backend;

/* 2-D convolution geometry. input [n, cin, h, w], weight [cout, cin, k, k], bias [cout],
 * output [n, cout, ho, wo] with ho = (h + 2 pad - k) / stride + 1 (conv2d_shape_make fills ho, wo). */
typedef struct {
    int32_t n, cin, h, w;
    int32_t cout, k, stride, pad;
    int32_t ho, wo;
} pd_conv2d_shape;

/* 1-D convolution geometry. input [n, cin, l], output [n, cout, lo].
 *   conv1d:  weight [cout, cin, k], lo = (l + 2 pad - k) / stride + 1
 *   convt1d: weight [cin, cout, k] (PyTorch's ConvTranspose1d layout), lo = (l - 1) stride - 2 pad + k
 * conv1d_shape_make / convt1d_shape_make fill lo. */
typedef struct {
    int32_t n, cin, l;
    int32_t cout, k, stride, pad;
    int32_t lo;
} pd_conv1d_shape;

pd_conv2d_shape conv2d_shape_make(int32_t n, int32_t cin, int32_t h, int32_t w, int32_t cout, int32_t k,
                                  int32_t stride, int32_t pad);
pd_conv1d_shape conv1d_shape_make(int32_t n, int32_t cin, int32_t l, int32_t cout, int32_t k, int32_t stride,
                                  int32_t pad);
pd_conv1d_shape convt1d_shape_make(int32_t n, int32_t cin, int32_t l, int32_t cout, int32_t k, int32_t stride,
                                   int32_t pad);

/* A BatchNorm2d in eval mode: its parameters and running statistics [c] and eps. */
typedef struct {
    const float *gamma, *beta, *run_mean, *run_var;
    float eps;
} pd_bn_eval;

/* A linear layer that takes the place of storing a fused op's output: out [n, o] = in [n, i] w^T + b, with in the
 * op's output flattened per sample. */
typedef struct {
    const float *w, *b; /* [o, i], [o] or NULL */
    int32_t o;
    float *out;         /* [n, o] */
} pd_linear_eval;

typedef enum { PD_BACKEND_CPU, PD_BACKEND_CUDA } pd_backend_kind;

struct pd_backend {
    pd_backend_kind kind;
    const char *name;   /* "cpu" or "cuda" */
    int threads;        /* CPU threads used (BLAS and own loops) */

    /* ---- memory ---------------------------------------------------------------------------------------- */
    void *(*alloc)(pd_backend *be, size_t bytes);                     /* zero-filled, 64-byte aligned; NULL on failure */
    void (*free)(pd_backend *be, void *p);                            /* NULL is a no-op */
    void (*upload)(pd_backend *be, void *dst, const void *src_host, size_t bytes);
    void (*download)(pd_backend *be, void *dst_host, const void *src, size_t bytes);
    void (*copy)(pd_backend *be, void *dst, const void *src, size_t bytes); /* device to device, no overlap */
    void (*synchronize)(pd_backend *be);
    void (*destroy)(pd_backend *be);

    /* ---- element-wise (n elements) --------------------------------------------------------------------- */
    void (*fill)(pd_backend *be, float *x, int64_t n, float value);
    /* y = a x + b y  (x may alias y) */
    void (*axpby)(pd_backend *be, float *y, float a, const float *x, float b, int64_t n);
    /* out = a + b  (out may alias a or b) */
    void (*add)(pd_backend *be, float *out, const float *a, const float *b, int64_t n);
    /* x[i] = N(0,1) at counter (seed, offset + i) */
    void (*randn)(pd_backend *be, float *x, int64_t n, uint64_t seed, uint64_t offset);
    /* out[i] = (1 - a) x[i] + a N(0,1)(seed, offset + i)  — the AE's noise augmentation (out may alias x) */
    void (*noise_mix)(pd_backend *be, float *out, const float *x, float a, int64_t n, uint64_t seed,
                      uint64_t offset);
    void (*clamp_forward)(pd_backend *be, float *out, const float *in, float lo, float hi, int64_t n);
    /* gradient passes where lo <= in <= hi (PyTorch) */
    void (*clamp_backward)(pd_backend *be, float *din, const float *dout, const float *in, float lo, float hi,
                           int64_t n, int acc);
    void (*relu_forward)(pd_backend *be, float *out, const float *in, int64_t n);
    /* uses the forward OUTPUT: gradient passes where out > 0 */
    void (*relu_backward)(pd_backend *be, float *din, const float *dout, const float *out, int64_t n, int acc);
    void (*leakyrelu_forward)(pd_backend *be, float *out, const float *in, float slope, int64_t n);
    /* uses the forward INPUT */
    void (*leakyrelu_backward)(pd_backend *be, float *din, const float *dout, const float *in, float slope,
                               int64_t n, int acc);
    void (*tanh_forward)(pd_backend *be, float *out, const float *in, int64_t n);
    /* uses the forward OUTPUT: din = dout (1 - out^2) */
    void (*tanh_backward)(pd_backend *be, float *din, const float *dout, const float *out, int64_t n, int acc);
    /* dst [rows, ld] <- src [rows, ls]: copies min(ls, ld) columns, zero-fills the rest (pad and crop) */
    void (*pad_rows)(pd_backend *be, float *dst, const float *src, int64_t rows, int32_t ls, int32_t ld);

    /* ---- dense ----------------------------------------------------------------------------------------- */
    /* row-major C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C; ta/tb non-zero means transposed */
    void (*gemm)(pd_backend *be, int ta, int tb, int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                 int32_t lda, const float *b, int32_t ldb, float beta, float *c, int32_t ldc);
    /* out [n, o] = in [n, i] w^T, w [o, i], + b [o] (b may be NULL) */
    void (*linear_forward)(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                           int32_t n, int32_t i, int32_t o);
    /* din [n, i] (may be NULL), dw [o, i] +=, db [o] += (may be NULL); dout [n, o] */
    void (*linear_backward)(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int32_t n, int32_t i, int32_t o, int acc);

    /* ---- 2-D layers (NCHW) ----------------------------------------------------------------------------- */
    /* out [n, cout, ho, wo] = conv(in [n, cin, h, w], w [cout, cin, k, k]) + b [cout] (b may be NULL) */
    void (*conv2d_forward)(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                           const pd_conv2d_shape *s);
    void (*conv2d_backward)(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, const pd_conv2d_shape *s, int acc);
    /* BatchNorm over [n, c, hw] per channel c. train != 0: batch statistics (biased variance to normalise),
     * running stats updated run = (1 - momentum) run + momentum batch (unbiased variance for run_var), and
     * save_mean [c], save_rstd [c] = 1/sqrt(var + eps) stored for backward. train == 0: normalise with the
     * running statistics, which are not changed; save_mean/save_rstd are filled from them. */
    void (*batchnorm2d_forward)(pd_backend *be, float *out, const float *in, const float *gamma,
                                const float *beta, float *run_mean, float *run_var, float *save_mean,
                                float *save_rstd, int32_t n, int32_t c, int32_t hw, int train, float momentum,
                                float eps);
    /* train != 0: the full batch-statistics gradient; train == 0: statistics are constants,
     * din = dout gamma rstd. dgamma [c] +=, dbeta [c] +=. */
    void (*batchnorm2d_backward)(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                                 const float *in, const float *gamma, const float *save_mean,
                                 const float *save_rstd, int32_t n, int32_t c, int32_t hw, int train, int acc);
    /* 2x2 max-pool, stride 2, floor: out [n, c, h/2, w/2]; arg [n, c, h/2, w/2] int32 = index of the max
     * inside the input plane (first maximum wins, as PyTorch) */
    void (*maxpool2d_forward)(pd_backend *be, float *out, int32_t *arg, const float *in, int32_t n, int32_t c,
                              int32_t h, int32_t w);
    void (*maxpool2d_backward)(pd_backend *be, float *din, const float *dout, const int32_t *arg, int32_t n,
                               int32_t c, int32_t h, int32_t w, int acc);
    /* Eval-mode BatchNorm, ReLU and 2x2 max-pool in one pass over pre-pooled extremes: mx / mn [n, c, hw] hold
     * the max / min of each 2x2 window of the BatchNorm input; out [n, c, hw] = relu((sel - run_mean) k + beta)
     * with k = gamma rstd, rstd = 1/sqrt(run_var + eps) (computed in double, as batchnorm2d_forward does) and
     * sel = mx where k >= 0, else mn. Because that map is monotone per channel, this equals — bit for bit —
     * batchnorm2d_forward (eval) -> relu_forward -> maxpool2d_forward on the unpooled input, at a fraction of
     * the memory traffic (the evaluator of many target vectors uses it). */
    void (*bn_relu_pool_eval)(pd_backend *be, float *out, const float *mx, const float *mn, const float *gamma,
                              const float *beta, const float *run_mean, const float *run_var, float eps, int32_t n,
                              int32_t c, int32_t hw);
    /* BatchNorm2d (batchnorm2d_forward's contract, hw = h w), then ReLU, then, when pool != 0, the 2x2 max-pool
     * of maxpool2d_forward, in one pass that keeps neither the intermediate tensors nor the argmax: out is
     * [n, c, h/2, w/2] with the pool, else [n, c, h, w], and equals the composition of the separate ops bit for
     * bit. */
    void (*bn_relu_forward)(pd_backend *be, float *out, const float *in, const float *gamma, const float *beta,
                            float *run_mean, float *run_var, float *save_mean, float *save_rstd, int32_t n,
                            int32_t c, int32_t h, int32_t w, int pool, int train, float momentum, float eps);
    /* Its backward: dout is shaped like bn_relu_forward's out; the ReLU mask and the pool's choice (first
     * maximum) are recomputed from in, gamma, beta and the saved statistics; din [n, c, h, w] (acc as usual,
     * may be NULL), dgamma, dbeta [c] +=; train as in batchnorm2d_backward. */
    void (*bn_relu_backward)(pd_backend *be, float *din, float *dgamma, float *dbeta, const float *dout,
                             const float *in, const float *gamma, const float *beta, const float *save_mean,
                             const float *save_rstd, int32_t n, int32_t c, int32_t h, int32_t w, int pool, int train,
                             int acc);
    /* Convolution -> BatchNorm2d -> ReLU (-> 2x2 max-pool when pool != 0) as one block, for a convolution whose
     * output nothing else reads: out [n, cout, ho/2, wo/2] (pool) or [n, cout, ho, wo]; x [n, cout, ho, wo]
     * is the block's own buffer for the convolution output (its layout is the backend's business: only
     * conv_bn_relu_backward reads it, and only when keep != 0 — with keep == 0 no backward follows and x may
     * be left unwritten). The rest as conv2d_forward and bn_relu_forward, whose composition this equals up to
     * float rounding (the convolution may sum in another order; batch statistics too). */
    void (*conv_bn_relu_forward)(pd_backend *be, float *out, float *x, const float *in, const float *w,
                                 const float *b, const pd_conv2d_shape *s, const float *gamma, const float *beta,
                                 float *run_mean, float *run_var, float *save_mean, float *save_rstd, int pool,
                                 int train, float momentum, float eps, int keep);
    /* Its backward from dout (shaped like out) and the forward's x: din [n, cin, h, w] (acc as usual; may be
     * NULL), dw += and db += (db may be NULL; dw NULL skips the convolution: only dgamma, dbeta), dgamma,
     * dbeta [cout] +=; work [n, cout, ho, wo] is scratch. */
    void (*conv_bn_relu_backward)(pd_backend *be, float *din, float *dw, float *db, float *dgamma, float *dbeta,
                                  float *work, const float *dout, const float *x, const float *in, const float *w,
                                  const pd_conv2d_shape *s, const float *gamma, const float *beta,
                                  const float *save_mean, const float *save_rstd, int pool, int train, int acc);
    /* Optional (NULL where not offered): bn_relu_pool_eval (mx, mn and the BatchNorm pre give the convolution's
     * input [n, cin, h, w]) followed by conv_bn_relu_forward in eval mode with keep == 0, in one pass that
     * stores neither that input nor the convolution's output: out, save_mean and save_rstd equal the two ops'
     * bit for bit. With head (may be NULL) out is not written either: head->out = linear_forward of it, bit for
     * bit (the classifier after the block, without the block's output making a trip through memory). Returns 0,
     * having done nothing, for a shape or head it does not cover. */
    int (*pool_conv_bn_relu_eval)(pd_backend *be, float *out, const float *mx, const float *mn,
                                  const pd_bn_eval *pre, const float *w, const float *b, const pd_conv2d_shape *s,
                                  const pd_bn_eval *post, float *save_mean, float *save_rstd, int pool,
                                  const pd_linear_eval *head);
    /* global average pool: out [n, c] = mean over hw of in [n, c, hw] */
    void (*avgpool_forward)(pd_backend *be, float *out, const float *in, int32_t n, int32_t c, int32_t hw);
    void (*avgpool_backward)(pd_backend *be, float *din, const float *dout, int32_t n, int32_t c, int32_t hw,
                             int acc);

    /* ---- losses and predictions ------------------------------------------------------------------------ */
    /* softmax cross-entropy, mean over the batch. logits [n, c], labels [n] int32 in [0, c).
     * loss_acc [1] += mean loss; correct_acc [1] += number of rows whose argmax equals the label (may be NULL);
     * dlogits [n, c] = (softmax - onehot) / n, written (may be NULL) */
    void (*softmax_xent)(pd_backend *be, float *loss_acc, int32_t *correct_acc, float *dlogits,
                         const float *logits, const int32_t *labels, int32_t n, int32_t c);
    /* pred [n] int32 = argmax over c of logits [n, c] (first maximum wins) */
    void (*argmax)(pd_backend *be, int32_t *pred, const float *logits, int32_t n, int32_t c);
    /* mean squared error over n elements: loss_acc [1] += mean (pred - target)^2;
     * dpred [n] = 2 (pred - target) / n, written (may be NULL) */
    void (*mse)(pd_backend *be, float *loss_acc, float *dpred, const float *pred, const float *target,
                int64_t n);

    /* ---- optimisers (PyTorch update rules) ------------------------------------------------------------- */
    /* SGD, dampening 0, no Nesterov: g' = g + wd p; buf = momentum buf + g' (buf starts at 0); p -= lr buf */
    void (*sgd_step)(pd_backend *be, float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
                     float wd);
    /* AdamW: p -= lr wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps); t >= 1 is the step number */
    void (*adamw_step)(pd_backend *be, float *p, const float *g, float *m, float *v, int64_t n, float lr,
                       float b1, float b2, float eps, float wd, int64_t t);

    /* ---- 1-D layers (NCL) ------------------------------------------------------------------------------ */
    void (*conv1d_forward)(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                           const pd_conv1d_shape *s);
    void (*conv1d_backward)(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, const pd_conv1d_shape *s, int acc);
    void (*convt1d_forward)(pd_backend *be, float *out, const float *in, const float *w, const float *b,
                            const pd_conv1d_shape *s);
    void (*convt1d_backward)(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                             const float *in, const float *w, const pd_conv1d_shape *s, int acc);
    /* Prepared conv1d weights, for a caller that runs many convolutions with the same weights (a sampler, the
     * backward pass after the forward): conv1d_pack_floats gives the floats conv1d_pack writes for shape s
     * (they depend on everything in s but n; 0 means nothing to prepare for this shape, and packed may then be
     * NULL); conv1d_pack fills packed from w [cout, cin, k]. The _packed ops take those prepared weights beside
     * w (packed NULL: prepare nothing, as conv1d_forward / conv1d_backward, which they equal bit for bit) and
     * skip the preparation that every plain call repeats. packed is only valid while w keeps its values. */
    int64_t (*conv1d_pack_floats)(pd_backend *be, const pd_conv1d_shape *s);
    void (*conv1d_pack)(pd_backend *be, float *packed, const float *w, const pd_conv1d_shape *s);
    void (*conv1d_forward_packed)(pd_backend *be, float *out, const float *in, const float *w,
                                  const float *packed, const float *b, const pd_conv1d_shape *s);
    void (*conv1d_backward_packed)(pd_backend *be, float *din, float *dw, float *db, const float *dout,
                                   const float *in, const float *w, const float *packed, const pd_conv1d_shape *s,
                                   int acc);
    /* Optional (NULL where not offered): conv1d_forward_packed into out (NULL: not stored, nothing reads it)
     * followed by norm_act_forward of that output without a table (nout, save_mean, save_rstd), in one pass;
     * equal bit for bit to the two ops. Returns 0, having done nothing, for a shape it does not cover. */
    int (*conv1d_norm_act_forward)(pd_backend *be, float *out, float *nout, float *save_mean, float *save_rstd,
                                   const float *in, const float *w, const float *packed, const float *b,
                                   const pd_conv1d_shape *s, int lead, float slope, float eps);
    /* instance norm without affine parameters over rows of length l (rows = n * c):
     * out = (in - mean) / sqrt(var + eps), biased variance; save_mean/save_rstd [rows] kept for backward */
    void (*instnorm_forward)(pd_backend *be, float *out, const float *in, float *save_mean, float *save_rstd,
                             int64_t rows, int32_t l, float eps);
    void (*instnorm_backward)(pd_backend *be, float *din, const float *dout, const float *in,
                              const float *save_mean, const float *save_rstd, int64_t rows, int32_t l, int acc);
    /* The AE's and UNet's "[+ time embedding] [-> LeakyReLU] -> InstanceNorm" in one pass over in [n, c, l]:
     *   s = in + table [t[b], :] (broadcast over c; table and t may be NULL: s = in),
     *   u = lead ? LeakyReLU(s, slope) : s,  out = instnorm(u) (instnorm_forward's contract, save_mean and
     *   save_rstd [n c]),
     * equal bit for bit to temb_forward -> leakyrelu_forward -> instnorm_forward, without keeping s or u. */
    void (*norm_act_forward)(pd_backend *be, float *out, const float *in, const float *table, const int32_t *t,
                             float *save_mean, float *save_rstd, int32_t n, int32_t c, int32_t l, int lead,
                             float slope, float eps);
    /* Its backward from dout [n, c, l]: ds = gradient of s (instnorm_backward, then the LeakyReLU's derivative
     * at s when lead), recomputing s and u from in, table and t; din [n, c, l] = ds (acc 0) or += ds (acc 1),
     * may be NULL; dtable [T, l] (may be NULL): row t[b] += sum over c of ds [b, c, :], samples in order, as
     * temb_backward. Equal bit for bit to instnorm_backward -> leakyrelu_backward -> temb_backward. */
    void (*norm_act_backward)(pd_backend *be, float *din, float *dtable, const float *dout, const float *in,
                              const float *table, const int32_t *t, const float *save_mean, const float *save_rstd,
                              int32_t n, int32_t c, int32_t l, int lead, float slope, int acc);
    /* time embedding: out [n, c, l] = in [n, c, l] + table [t[b], l] broadcast over c; t [n] int32 (device) */
    void (*temb_forward)(pd_backend *be, float *out, const float *in, const float *table, const int32_t *t,
                         int32_t n, int32_t c, int32_t l);
    /* din = dout (acc as usual); dtable [T, l] row t[b] += sum over c of dout [b, c, :] */
    void (*temb_backward)(pd_backend *be, float *din, float *dtable, const float *dout, const int32_t *t,
                          int32_t n, int32_t c, int32_t l, int acc);

    /* ---- diffusion ------------------------------------------------------------------------------------- */
    /* forward process: xt [n, l] = sqrt_ab[t[b]] x0 + sqrt_1mab[t[b]] eps; tables [T] and t [n] on device */
    void (*diffusion_q_sample)(pd_backend *be, float *xt, const float *x0, const float *eps,
                               const int32_t *t, const float *sqrt_ab, const float *sqrt_1mab, int32_t n,
                               int32_t l);
    /* one reverse step shared by all rows (same t): x0p = clamp(ca x - cb eps, -1, 1);
     * x = c1 x0p + c2 x + sigma z, z = N(0,1)(seed, offset + i) (no noise when sigma == 0).
     * DDPM ancestral and DDIM (eta 0) are both this form with different coefficients (ddpm.c). */
    void (*diffusion_step)(pd_backend *be, float *x, const float *eps, int64_t n, float ca, float cb, float c1,
                           float c2, float sigma, uint64_t seed, uint64_t offset);
};

/* Create the CPU backend (src/cpu/) with the given number of threads (>= 1; 0 means all online cores). */
pd_status backend_cpu_create(pd_backend **out, int threads, pd_error *err);
/* The threads backend_cpu_create(threads) runs: 0 = the online cores, capped at what the backend supports. */
int backend_cpu_threads(int threads);
/* 1 when the CPU backend runs its hand-written AVX-512 kernels on this CPU (AVX-512 F, DQ, BW and VL), else 0.
 * Those kernels compute the same values as the portable paths; tests use this to say which path they checked. */
int backend_cpu_has_avx512(void);
/* Create the CUDA backend (kernels/; built only when configure finds CUDA, PD_HAVE_CUDA). Its memory is device
 * memory on GPU backend_gpu_ordinal() modulo the GPUs CUDA_VISIBLE_DEVICES leaves (0 unless a job of several
 * ranks set it to the node-local rank: one GPU per rank): host code moves data with upload/download/copy.
 * Every op runs asynchronously on one stream owned by the backend; upload and download wait for it. GEMMs are
 * true float32 (no TF32), reductions run in a fixed order (no float atomics), random fills use the counter-based
 * generator of rng.h, so results repeat on one GPU model and random numbers equal the CPU backend's. A CUDA failure
 * inside an op (which cannot return a status) is fatal through PD_ASSERT's hook. threads is recorded in
 * be->threads (host-side work only). Fails with PD_ERR_DEVICE and one line when no CUDA device is usable or the
 * stream or cuBLAS cannot be set up. */
pd_status cuda_backend_create(pd_backend **out, int threads, pd_error *err);
/* The GPU the CUDA backends of this process use, counted from 0 and taken modulo the number of GPUs (default 0).
 * The program sets it to the node-local rank of a job of several processes (comm.h). */
void backend_set_gpu_ordinal(int ordinal);
int backend_gpu_ordinal(void);
/* Create the backend named by kind; PD_ERR_DEVICE with a message when it is not built or no device exists. */
pd_status backend_create(pd_backend **out, pd_backend_kind kind, int threads, pd_error *err);
/* Names of the backends compiled into this build, e.g. "cpu" or "cpu, cuda". */
const char *backend_built_list(void);
void backend_destroy(pd_backend *be); /* NULL is a no-op */

/* Typed helpers on top of alloc/upload/download. */
float *backend_alloc_floats(pd_backend *be, int64_t n);
int32_t *backend_alloc_ints(pd_backend *be, int64_t n);

#endif
