/* model.c — the task-model graph: builder, memory, forward and backward (see model.h, arch.h). */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arch.h"
#include "devbuf.h"
#include "grow.h"
#include "rng.h"

#define NODE_CONV PD_NODE_CONV
#define NODE_BN PD_NODE_BN
#define NODE_RELU PD_NODE_RELU
#define NODE_MAXPOOL PD_NODE_MAXPOOL
#define NODE_AVGPOOL PD_NODE_AVGPOOL
#define NODE_LINEAR PD_NODE_LINEAR
#define NODE_ADD PD_NODE_ADD

typedef struct {
    pd_node_kind kind;
    char name[48];
    int in, in2;              /* producer nodes (-1 = network input); in2 only for ADD */
    int32_t c, h, w;          /* output shape per sample */
    int64_t w_off, b_off;     /* parameter views (-1 = none) */
    int64_t rm_off, rv_off;   /* BN running statistics in the buffer block */
    int32_t k, stride, pad;   /* conv geometry */
    float *out;               /* [max_batch, c, h, w] */
    float *dout;              /* [max_batch, c, h, w] (trainable) */
    int32_t *arg;             /* maxpool argmax */
    float *mean, *rstd;       /* BN statistics saved for backward [c] */
    int dout_set;             /* backward bookkeeping: dout written this pass */
    int fuse;                 /* nodes after this one run with it as one op: BN: 1 = BN -> ReLU, 2 = ... -> MaxPool
                               * (bn_relu_forward); CONV: 2 = Conv -> BN -> ReLU, 3 = ... -> MaxPool
                               * (conv_bn_relu_forward) */
    int fused_from;           /* the first node of the fused op that wrote this node's output in the latest
                               * forward, or -1 */
} model_node;

struct pd_model {
    pd_backend *be;
    pd_model_spec spec;
    model_node *nodes;
    int n_nodes;
    int64_t cap_nodes;
    pd_tensor_info *tensors, *buffer_tensors;
    int n_tensors, n_buffer_tensors;
    int64_t n_params, n_buffers;
    float *params, *grads, *momentum, *buffers;
    const float *last_x; /* input of the latest forward (backward reads it) */
    int last_from;
    int build_failed;
    pd_devbuf bufs; /* every backend buffer: the blocks above and each node's out, dout, arg, mean, rstd */
};

static const char *const model_arch_names[] = {"mlp", "convnet", "resnet18"};

const char *model_arch_name(pd_arch arch)
{
    return (unsigned)arch < 3 ? model_arch_names[arch] : "unknown";
}

pd_status model_arch_parse(const char *name, pd_arch *arch, pd_error *err)
{
    for (int i = 0; i < 3; i++)
        if (strcasecmp(name, model_arch_names[i]) == 0) {
            *arch = (pd_arch)i;
            return PD_OK;
        }
    return error_set(err, PD_ERR_CONFIG, "arch: unknown architecture '%s' (mlp, convnet, resnet18)", name);
}

/* ------------------------------------------------------------------------------------------------ builder */

static void model_shape_of(const pd_model *m, int node, int32_t *c, int32_t *h, int32_t *w)
{
    if (node < 0) {
        *c = m->spec.in_c;
        *h = m->spec.in_h;
        *w = m->spec.in_w;
    } else {
        *c = m->nodes[node].c;
        *h = m->nodes[node].h;
        *w = m->nodes[node].w;
    }
}

static model_node *model_push(pd_model *m, pd_node_kind kind, const char *name, int in)
{
    model_node *nn = pd_grow(m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof *nn, 32);
    if (!nn) {
        m->build_failed = 1;
        return NULL;
    }
    m->nodes = nn;
    model_node *n = &m->nodes[m->n_nodes++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    snprintf(n->name, sizeof n->name, "%s", name ? name : "");
    n->in = in;
    n->in2 = -1;
    n->w_off = n->b_off = n->rm_off = n->rv_off = -1;
    model_shape_of(m, in, &n->c, &n->h, &n->w);
    return n;
}

static int64_t model_add_tensor(pd_model *m, int buffer, const char *node, const char *suffix, int ndim,
                                const int32_t *shape)
{
    pd_tensor_info **list = buffer ? &m->buffer_tensors : &m->tensors;
    int *count = buffer ? &m->n_buffer_tensors : &m->n_tensors;
    int64_t *total = buffer ? &m->n_buffers : &m->n_params;
    pd_tensor_info *nl = realloc(*list, (size_t)(*count + 1) * sizeof *nl);
    if (!nl) {
        m->build_failed = 1;
        return -1;
    }
    *list = nl;
    pd_tensor_info *t = &nl[(*count)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", node, suffix);
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->count *= shape[i];
    }
    t->offset = *total;
    t->node = m->n_nodes - 1;
    *total += t->count;
    return t->offset;
}

int model_add_conv(pd_model *m, const char *name, int in, int32_t cout, int32_t k, int32_t stride, int32_t pad,
                   int bias)
{
    model_node *n = model_push(m, NODE_CONV, name, in);
    if (!n)
        return -1;
    int32_t cin = n->c;
    n->k = k;
    n->stride = stride;
    n->pad = pad;
    n->c = cout;
    n->h = (n->h + 2 * pad - k) / stride + 1;
    n->w = (n->w + 2 * pad - k) / stride + 1;
    int32_t ws[4] = {cout, cin, k, k};
    n->w_off = model_add_tensor(m, 0, name, "weight", 4, ws);
    if (bias)
        n->b_off = model_add_tensor(m, 0, name, "bias", 1, &cout);
    return m->n_nodes - 1;
}

int model_add_bn(pd_model *m, const char *name, int in)
{
    model_node *n = model_push(m, NODE_BN, name, in);
    if (!n)
        return -1;
    n->w_off = model_add_tensor(m, 0, name, "weight", 1, &n->c);
    n->b_off = model_add_tensor(m, 0, name, "bias", 1, &n->c);
    n->rm_off = model_add_tensor(m, 1, name, "running_mean", 1, &n->c);
    n->rv_off = model_add_tensor(m, 1, name, "running_var", 1, &n->c);
    return m->n_nodes - 1;
}

int model_add_relu(pd_model *m, int in)
{
    return model_push(m, NODE_RELU, "relu", in) ? m->n_nodes - 1 : -1;
}

int model_add_maxpool(pd_model *m, int in)
{
    model_node *n = model_push(m, NODE_MAXPOOL, "maxpool", in);
    if (!n)
        return -1;
    n->h /= 2;
    n->w /= 2;
    return m->n_nodes - 1;
}

int model_add_avgpool(pd_model *m, int in)
{
    model_node *n = model_push(m, NODE_AVGPOOL, "avgpool", in);
    if (!n)
        return -1;
    n->h = n->w = 1;
    return m->n_nodes - 1;
}

int model_add_linear(pd_model *m, const char *name, int in, int32_t out)
{
    model_node *n = model_push(m, NODE_LINEAR, name, in);
    if (!n)
        return -1;
    int32_t fin = n->c * n->h * n->w;
    n->c = out;
    n->h = n->w = 1;
    int32_t ws[2] = {out, fin};
    n->w_off = model_add_tensor(m, 0, name, "weight", 2, ws);
    n->b_off = model_add_tensor(m, 0, name, "bias", 1, &out);
    return m->n_nodes - 1;
}

int model_add_add(pd_model *m, int a, int b)
{
    model_node *n = model_push(m, NODE_ADD, "add", a);
    if (!n)
        return -1;
    n->in2 = b;
    return m->n_nodes - 1;
}

/* ------------------------------------------------------------------------------------------------ fusion */

/* Does anything but node `only` read node j's output? */
static int model_read_elsewhere(const pd_model *m, int j, int only)
{
    for (int k = 0; k < m->n_nodes; k++)
        if (k != only && (m->nodes[k].in == j || m->nodes[k].in2 == j))
            return 1;
    return 0;
}

/* Mark BatchNorm -> ReLU (-> MaxPool) chains whose intermediate outputs nothing else reads: the forward runs
 * them as one bn_relu_forward (no BatchNorm output, ReLU output or argmax tensors written or read back) and the
 * backward as one bn_relu_backward; and when such a chain follows a convolution that nothing else reads, the
 * whole Conv -> BN -> ReLU (-> MaxPool) runs as one conv_bn_relu_forward / _backward (the convolution's output
 * buffer becomes the block's, the BatchNorm's output buffer its backward scratch). Other graphs (ResNet's
 * BN -> add -> ReLU) keep the separate ops. */
static void model_plan_fusion(pd_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        model_node *n = &m->nodes[i];
        n->fused_from = -1;
        n->fuse = 0;
        if (n->kind != NODE_BN || !m->be->bn_relu_forward || !m->be->bn_relu_backward || i + 1 >= m->n_nodes)
            continue;
        const model_node *r = &m->nodes[i + 1];
        if (r->kind != NODE_RELU || r->in != i || model_read_elsewhere(m, i, i + 1))
            continue;
        n->fuse = 1;
        if (i + 2 < m->n_nodes && m->nodes[i + 2].kind == NODE_MAXPOOL && m->nodes[i + 2].in == i + 1
            && !model_read_elsewhere(m, i + 1, i + 2))
            n->fuse = 2;
    }
    for (int i = 0; i + 1 < m->n_nodes; i++) {
        model_node *n = &m->nodes[i];
        const model_node *bn = &m->nodes[i + 1];
        if (n->kind == NODE_CONV && bn->kind == NODE_BN && bn->in == i && bn->fuse && !model_read_elsewhere(m, i, i + 1)
            && m->be->conv_bn_relu_forward && m->be->conv_bn_relu_backward)
            n->fuse = 1 + bn->fuse;
    }
}

/* ------------------------------------------------------------------------------------------------ lifetime */

static int64_t model_node_size(const model_node *n)
{
    return (int64_t)n->c * n->h * n->w;
}

/* Every buffer, for spec.max_batch samples; devbuf_failed(&m->bufs) tells whether they all came. */
static void model_alloc_buffers(pd_model *m)
{
    pd_devbuf *db = &m->bufs;
    m->params = devbuf_floats(db, m->n_params);
    m->buffers = devbuf_floats(db, m->n_buffers);
    if (m->spec.trainable) {
        m->grads = devbuf_floats(db, m->n_params);
        m->momentum = devbuf_floats(db, m->n_params);
    }
    int64_t nb = m->spec.max_batch;
    for (int i = 0; i < m->n_nodes; i++) {
        model_node *n = &m->nodes[i];
        int64_t sz = nb * model_node_size(n);
        n->out = devbuf_floats(db, sz);
        if (m->spec.trainable)
            n->dout = devbuf_floats(db, sz);
        if (n->kind == NODE_MAXPOOL)
            n->arg = devbuf_ints(db, sz);
        if (n->kind == NODE_BN) {
            n->mean = devbuf_floats(db, n->c);
            n->rstd = devbuf_floats(db, n->c);
        }
    }
}

pd_status model_create(pd_model **out, pd_backend *be, const pd_model_spec *spec, pd_error *err)
{
    *out = NULL;
    if (spec->in_c < 1 || spec->in_h < 1 || spec->in_w < 1 || spec->classes < 2 || spec->max_batch < 1)
        return error_set(err, PD_ERR_CONFIG, "model: bad input shape %dx%dx%d, %d classes, batch %d", spec->in_c,
                         spec->in_h, spec->in_w, spec->classes, spec->max_batch);
    if (spec->arch == PD_ARCH_RESNET18 && (spec->width < 1 || spec->width > 1024))
        return error_set(err, PD_ERR_CONFIG, "width: must be in [1, 1024], got %d", spec->width);
    pd_model *m = calloc(1, sizeof *m);
    if (!m)
        return error_set(err, PD_ERR_NOMEM, "model: out of memory");
    m->be = be;
    m->spec = *spec;
    devbuf_init(&m->bufs, be);
    pd_status st = arch_build(m, err);
    if (st != PD_OK) {
        model_free(m);
        return st;
    }
    if (m->build_failed) {
        model_free(m);
        return error_set(err, PD_ERR_NOMEM, "model: out of memory while building %s", model_arch_name(spec->arch));
    }
    model_plan_fusion(m);
    model_alloc_buffers(m);
    if (devbuf_failed(&m->bufs)) {
        model_free(m);
        return error_set(err, PD_ERR_NOMEM, "model: out of memory for %s with batch %d", model_arch_name(spec->arch),
                         spec->max_batch);
    }
    *out = m;
    return PD_OK;
}

void model_free(pd_model *m)
{
    if (!m)
        return;
    devbuf_free(&m->bufs);
    free(m->nodes);
    free(m->tensors);
    free(m->buffer_tensors);
    free(m);
}

void model_init_params(pd_model *m, uint64_t seed)
{
    size_t np = (size_t)(m->n_params > 0 ? m->n_params : 1), nb = (size_t)(m->n_buffers > 0 ? m->n_buffers : 1);
    float *p = calloc(np, sizeof *p);
    float *b = calloc(nb, sizeof *b);
    if (!p || !b)
        error_out_of_memory("the task model's initial values", (np + nb) * sizeof(float));
    pd_rng r;
    rng_init(&r, rng_derive(seed, "model-init"));
    for (int i = 0; i < m->n_nodes; i++) {
        const model_node *n = &m->nodes[i];
        if (n->kind == NODE_CONV || n->kind == NODE_LINEAR) {
            const pd_tensor_info *wt = NULL;
            for (int t = 0; t < m->n_tensors; t++)
                if (m->tensors[t].offset == n->w_off)
                    wt = &m->tensors[t];
            PD_ASSERT(wt);
            int64_t fan_in = wt->count / wt->shape[0];
            float bound = 1.0f / sqrtf((float)fan_in);
            for (int64_t j = 0; j < wt->count; j++)
                p[n->w_off + j] = (float)((2.0 * rng_uniform(&r) - 1.0) * bound);
            if (n->b_off >= 0)
                for (int64_t j = 0; j < wt->shape[0]; j++)
                    p[n->b_off + j] = (float)((2.0 * rng_uniform(&r) - 1.0) * bound);
        } else if (n->kind == NODE_BN) {
            for (int32_t j = 0; j < n->c; j++) {
                p[n->w_off + j] = 1.0f;
                p[n->b_off + j] = 0.0f;
                b[n->rm_off + j] = 0.0f;
                b[n->rv_off + j] = 1.0f;
            }
        }
    }
    m->be->upload(m->be, m->params, p, (size_t)m->n_params * sizeof *p);
    m->be->upload(m->be, m->buffers, b, (size_t)m->n_buffers * sizeof *b);
    if (m->momentum)
        m->be->fill(m->be, m->momentum, m->n_params, 0.0f);
    free(p);
    free(b);
}

/* ------------------------------------------------------------------------------------------------ accessors */

const pd_model_spec *model_spec(const pd_model *m) { return &m->spec; }
pd_backend *model_backend(const pd_model *m) { return m->be; }
int64_t model_param_count(const pd_model *m) { return m->n_params; }
int model_tensor_count(const pd_model *m) { return m->n_tensors; }
int64_t model_buffer_count(const pd_model *m) { return m->n_buffers; }
int model_buffer_tensor_count(const pd_model *m) { return m->n_buffer_tensors; }
float *model_params(pd_model *m) { return m->params; }
float *model_grads(pd_model *m) { return m->grads; }
float *model_momentum(pd_model *m) { return m->momentum; }
float *model_buffers(pd_model *m) { return m->buffers; }
int model_node_count(const pd_model *m) { return m->n_nodes; }

const pd_tensor_info *model_tensor(const pd_model *m, int i)
{
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

const pd_tensor_info *model_buffer_tensor(const pd_model *m, int i)
{
    return i >= 0 && i < m->n_buffer_tensors ? &m->buffer_tensors[i] : NULL;
}

int model_tensor_find(const pd_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return i;
    return -1;
}

void model_node_shape(const pd_model *m, int node, int32_t *c, int32_t *h, int32_t *w)
{
    model_shape_of(m, node, c, h, w);
}

int64_t model_sample_floats(const pd_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        int32_t c, h, w;
        model_shape_of(m, i, &c, &h, &w);
        n += (int64_t)c * h * w;
    }
    return n;
}

pd_node_kind model_node_kind(const pd_model *m, int node) { return m->nodes[node].kind; }

void model_node_inputs(const pd_model *m, int node, int *in, int *in2)
{
    *in = m->nodes[node].in;
    *in2 = m->nodes[node].in2;
}

int model_node_is_bn(const pd_model *m, int node) { return m->nodes[node].kind == NODE_BN; }
int model_node_is_linear(const pd_model *m, int node) { return m->nodes[node].kind == NODE_LINEAR; }
const char *model_node_name(const pd_model *m, int node) { return m->nodes[node].name; }

int model_cut_before(const pd_model *m, int node)
{
    for (int c = node; c > 0; c--) {
        int ok = 1;
        for (int j = c; j < m->n_nodes && ok; j++) {
            const model_node *n = &m->nodes[j];
            if ((n->in < c - 1) || (n->kind == NODE_ADD && n->in2 < c - 1))
                ok = 0;
        }
        if (ok)
            return c;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------ compute */

/* The tensor a node reads: the given input x for the node just before the start, else a node output. */
static const float *model_src(const pd_model *m, int j, const float *x, int from)
{
    return j == from - 1 ? x : m->nodes[j].out;
}

const float *model_forward(pd_model *m, const float *x, int32_t n, int train, int from_node)
{
    return model_forward_range(m, x, n, train, from_node, m->n_nodes);
}

const float *model_forward_range(pd_model *m, const float *x, int32_t n, int train, int from_node, int to_node)
{
    pd_backend *be = m->be;
    PD_ASSERT(n >= 1 && n <= m->spec.max_batch);
    PD_ASSERT(from_node >= 0 && from_node < to_node && to_node <= m->n_nodes);
    float *P = m->params, *B = m->buffers;
    m->last_x = x;
    m->last_from = from_node;
    for (int i = from_node; i < to_node; i++) {
        model_node *nd = &m->nodes[i];
        const float *in = model_src(m, nd->in, x, from_node);
        int32_t ic, ih, iw;
        model_shape_of(m, nd->in, &ic, &ih, &iw);
        int64_t size = (int64_t)n * model_node_size(nd);
        nd->fused_from = -1;
        switch (nd->kind) {
        case NODE_CONV: {
            pd_conv2d_shape s = conv2d_shape_make(n, ic, ih, iw, nd->c, nd->k, nd->stride, nd->pad);
            if (nd->fuse && i + nd->fuse < to_node) { /* Conv -> BN -> ReLU (-> MaxPool) in one op */
                model_node *bn = &m->nodes[i + 1], *last = &m->nodes[i + nd->fuse];
                be->conv_bn_relu_forward(be, last->out, nd->out, in, P + nd->w_off,
                                         nd->b_off >= 0 ? P + nd->b_off : NULL, &s, P + bn->w_off, P + bn->b_off,
                                         B + bn->rm_off, B + bn->rv_off, bn->mean, bn->rstd, nd->fuse == 3, train,
                                         0.1f, 1e-5f, m->spec.trainable);
                last->fused_from = i;
                i += nd->fuse;
                break;
            }
            be->conv2d_forward(be, nd->out, in, P + nd->w_off, nd->b_off >= 0 ? P + nd->b_off : NULL, &s);
            break;
        }
        case NODE_BN:
            if (nd->fuse && i + nd->fuse < to_node) { /* the whole chain runs here: one pass, no intermediates */
                model_node *last = &m->nodes[i + nd->fuse];
                be->bn_relu_forward(be, last->out, in, P + nd->w_off, P + nd->b_off, B + nd->rm_off, B + nd->rv_off,
                                    nd->mean, nd->rstd, n, nd->c, nd->h, nd->w, nd->fuse == 2, train, 0.1f, 1e-5f);
                last->fused_from = i;
                i += nd->fuse;
                break;
            }
            be->batchnorm2d_forward(be, nd->out, in, P + nd->w_off, P + nd->b_off, B + nd->rm_off, B + nd->rv_off,
                                    nd->mean, nd->rstd, n, nd->c, nd->h * nd->w, train, 0.1f, 1e-5f);
            break;
        case NODE_RELU:
            be->relu_forward(be, nd->out, in, size);
            break;
        case NODE_MAXPOOL:
            be->maxpool2d_forward(be, nd->out, nd->arg, in, n, ic, ih, iw);
            break;
        case NODE_AVGPOOL:
            be->avgpool_forward(be, nd->out, in, n, ic, ih * iw);
            break;
        case NODE_LINEAR:
            be->linear_forward(be, nd->out, in, P + nd->w_off, P + nd->b_off, n, ic * ih * iw, nd->c);
            break;
        case NODE_ADD:
            be->add(be, nd->out, in, model_src(m, nd->in2, x, from_node), size);
            break;
        }
    }
    return m->nodes[to_node - 1].out;
}

const float *model_forward_pooled(pd_model *m, const float *mx, const float *mn, int bn, int32_t n, int from_node)
{
    pd_backend *be = m->be;
    PD_ASSERT(n >= 1 && n <= m->spec.max_batch && bn >= 0 && from_node > bn && from_node < m->n_nodes);
    model_node *cv = &m->nodes[from_node], *pb = &m->nodes[bn];
    if (!be->pool_conv_bn_relu_eval || pb->kind != NODE_BN || cv->kind != NODE_CONV || !cv->fuse
        || from_node + cv->fuse >= m->n_nodes)
        return NULL;
    model_node *cb = &m->nodes[from_node + 1], *last = &m->nodes[from_node + cv->fuse];
    float *P = m->params, *B = m->buffers;
    int32_t ic, ih, iw;
    model_shape_of(m, cv->in, &ic, &ih, &iw);
    pd_conv2d_shape s = conv2d_shape_make(n, ic, ih, iw, cv->c, cv->k, cv->stride, cv->pad);
    pd_bn_eval pre = {P + pb->w_off, P + pb->b_off, B + pb->rm_off, B + pb->rv_off, 1e-5f};
    pd_bn_eval post = {P + cb->w_off, P + cb->b_off, B + cb->rm_off, B + cb->rv_off, 1e-5f};
    const float *w = P + cv->w_off, *b = cv->b_off >= 0 ? P + cv->b_off : NULL;
    int next = from_node + cv->fuse + 1;
    model_node *fc = next == m->n_nodes - 1 ? &m->nodes[next] : NULL;
    if (fc && fc->kind == NODE_LINEAR && fc->in == from_node + cv->fuse) { /* the classifier: in the same pass */
        pd_linear_eval head = {P + fc->w_off, P + fc->b_off, fc->c, fc->out};
        if (be->pool_conv_bn_relu_eval(be, last->out, mx, mn, &pre, w, b, &s, &post, cb->mean, cb->rstd,
                                       cv->fuse == 3, &head))
            return fc->out;
    }
    if (!be->pool_conv_bn_relu_eval(be, last->out, mx, mn, &pre, w, b, &s, &post, cb->mean, cb->rstd, cv->fuse == 3,
                                    NULL))
        return NULL;
    return next < m->n_nodes ? model_forward(m, last->out, n, 0, next) : last->out;
}

/* Where the gradient of producer j goes: NULL when j is not part of the backward pass. */
static float *model_dst_grad(pd_model *m, int j, int stop, int *acc)
{
    if (j < stop || j < 0) {
        *acc = 0;
        return NULL;
    }
    model_node *p = &m->nodes[j];
    *acc = p->dout_set;
    p->dout_set = 1;
    return p->dout;
}

/* Back through a fused Conv -> BN -> ReLU (-> MaxPool) block starting at node f and ending at node last. */
static void model_backward_conv_block(pd_model *m, int f, int last, const float *dout, int32_t n, int train,
                                      int stop_node)
{
    pd_backend *be = m->be;
    float *P = m->params, *G = m->grads;
    const model_node *cv = &m->nodes[f], *bn = &m->nodes[f + 1];
    if (f + 1 < stop_node) /* below stop_node the block holds nothing that is needed */
        return;
    int acc = 0;
    int32_t cc, ch, cw;
    model_shape_of(m, cv->in, &cc, &ch, &cw);
    pd_conv2d_shape s = conv2d_shape_make(n, cc, ch, cw, cv->c, cv->k, cv->stride, cv->pad);
    int whole = f >= stop_node; /* else the BatchNorm's parameters only */
    float *dcv = whole ? model_dst_grad(m, cv->in, stop_node, &acc) : NULL;
    be->conv_bn_relu_backward(be, dcv, whole ? G + cv->w_off : NULL, whole && cv->b_off >= 0 ? G + cv->b_off : NULL,
                              G + bn->w_off, G + bn->b_off, bn->out, dout, cv->out,
                              model_src(m, cv->in, m->last_x, m->last_from), P + cv->w_off, &s, P + bn->w_off,
                              P + bn->b_off, bn->mean, bn->rstd, last - f == 3, train, acc);
}

/* Back through a fused BN -> ReLU (-> MaxPool) chain starting at node b and ending at node last. */
static void model_backward_bn_chain(pd_model *m, int b, int last, const float *dout, int32_t n, int train,
                                    int stop_node)
{
    pd_backend *be = m->be;
    float *P = m->params, *G = m->grads;
    const model_node *bn = &m->nodes[b];
    if (b < stop_node) /* below stop_node the chain holds nothing that is needed */
        return;
    int acc = 0;
    float *dbn = model_dst_grad(m, bn->in, stop_node, &acc);
    be->bn_relu_backward(be, dbn, G + bn->w_off, G + bn->b_off, dout, model_src(m, bn->in, m->last_x, m->last_from),
                         P + bn->w_off, P + bn->b_off, bn->mean, bn->rstd, n, bn->c, bn->h, bn->w, last - b == 2,
                         train, acc);
}

/* dst = dout (acc == 0) or dst += dout (acc == 1), size numbers; nothing when dst is NULL. */
static void model_pass_grad(pd_backend *be, float *dst, const float *dout, int64_t size, int acc)
{
    if (!dst)
        return;
    if (acc)
        be->axpby(be, dst, 1.0f, dout, 1.0f, size);
    else
        be->copy(be, dst, dout, (size_t)size * sizeof(float));
}

/* Back through one unfused node i. */
static void model_backward_node(pd_model *m, int i, const float *dout, int32_t n, int train, int stop_node)
{
    pd_backend *be = m->be;
    float *P = m->params, *G = m->grads;
    model_node *nd = &m->nodes[i];
    const float *in = model_src(m, nd->in, m->last_x, m->last_from);
    int32_t ic, ih, iw;
    model_shape_of(m, nd->in, &ic, &ih, &iw);
    int64_t size = (int64_t)n * model_node_size(nd);
    int acc = 0;
    float *din = model_dst_grad(m, nd->in, stop_node, &acc);
    switch (nd->kind) {
    case NODE_CONV: {
        pd_conv2d_shape s = conv2d_shape_make(n, ic, ih, iw, nd->c, nd->k, nd->stride, nd->pad);
        be->conv2d_backward(be, din, G + nd->w_off, nd->b_off >= 0 ? G + nd->b_off : NULL, dout, in, P + nd->w_off,
                            &s, acc);
        break;
    }
    case NODE_BN:
        be->batchnorm2d_backward(be, din, G + nd->w_off, G + nd->b_off, dout, in, P + nd->w_off, nd->mean, nd->rstd,
                                 n, nd->c, nd->h * nd->w, train, acc);
        break;
    case NODE_RELU:
        if (din)
            be->relu_backward(be, din, dout, nd->out, size, acc);
        break;
    case NODE_MAXPOOL:
        if (din)
            be->maxpool2d_backward(be, din, dout, nd->arg, n, ic, ih, iw, acc);
        break;
    case NODE_AVGPOOL:
        if (din)
            be->avgpool_backward(be, din, dout, n, ic, ih * iw, acc);
        break;
    case NODE_LINEAR:
        be->linear_backward(be, din, G + nd->w_off, G + nd->b_off, dout, in, P + nd->w_off, n, ic * ih * iw, nd->c,
                            acc);
        break;
    case NODE_ADD: {
        model_pass_grad(be, din, dout, size, acc);
        int acc2 = 0;
        float *din2 = model_dst_grad(m, nd->in2, stop_node, &acc2);
        model_pass_grad(be, din2, dout, size, acc2);
        break;
    }
    }
}

void model_backward(pd_model *m, const float *dlogits, int32_t n, int train, int stop_node)
{
    PD_ASSERT(m->spec.trainable && m->grads);
    PD_ASSERT(stop_node >= m->last_from && stop_node < m->n_nodes);
    for (int i = stop_node; i < m->n_nodes; i++)
        m->nodes[i].dout_set = 0;
    for (int i = m->n_nodes - 1; i >= stop_node; i--) {
        model_node *nd = &m->nodes[i];
        const float *dout = i == m->n_nodes - 1 ? dlogits : nd->dout;
        int f = nd->fused_from;
        if (f >= 0 && m->nodes[f].kind == NODE_CONV) { /* the end of a fused block */
            model_backward_conv_block(m, f, i, dout, n, train, stop_node);
            i = f;
        } else if (f >= 0) { /* the end of a fused BN -> ReLU (-> MaxPool) chain: back through all of it */
            model_backward_bn_chain(m, f, i, dout, n, train, stop_node);
            i = f;
        } else {
            model_backward_node(m, i, dout, n, train, stop_node);
        }
    }
}
