/* model.h — task models (mlp, convnet, resnet18) as a small graph of layers over one parameter block.
 *
 * A model is a list of nodes in execution order (conv2d, batchnorm2d, relu, maxpool2d, global avgpool, linear,
 * add); each node reads the output of one or two earlier nodes (or the network input). All learnable parameters
 * live in one contiguous block with named views in PyTorch's dotted style and PyTorch's registration order
 * ("conv1.weight", "layer4.1.bn2.bias", "fc.weight"), so a checkpoint is one copy and "the optimizer" is one
 * loop; gradients and SGD momentum are blocks of the same size. BatchNorm running statistics live in a second
 * block (buffers), also with named views ("bn1.running_mean").
 *
 * Activations for up to max_batch samples are allocated once at creation; forward/backward never allocate.
 * A forward pass can start at any node (model_forward's from_node) given that node's input, which is how the
 * p-diff evaluation reuses a cached prefix; a backward pass can stop at any node, leaving earlier layers alone.
 *
 *   pd_model *m;
 *   pd_model_spec spec = {.arch = PD_ARCH_CONVNET, .in_c = 1, .in_h = 28, .in_w = 28, .classes = 10,
 *                         .width = 64, .max_batch = 128, .trainable = 1};
 *   model_create(&m, be, &spec, &err);
 *   model_init_params(m, seed);
 *   const float *logits = model_forward(m, x, n, 1, 0);         // train mode: batch statistics
 *   be->softmax_xent(be, loss, NULL, dlogits, logits, labels, n, classes);
 *   be->fill(be, model_grads(m), model_param_count(m), 0);
 *   model_backward(m, dlogits, n, 1, 0);
 *   be->sgd_step(be, model_params(m), model_grads(m), model_momentum(m), model_param_count(m), lr, mom, wd);
 */
#ifndef PD_MODEL_H
#define PD_MODEL_H

#include <stdint.h>

#include "backend.h"
#include "error.h"

typedef enum { PD_ARCH_MLP, PD_ARCH_CONVNET, PD_ARCH_RESNET18 } pd_arch;

typedef struct {
    pd_arch arch;
    int32_t in_c, in_h, in_w; /* input image shape */
    int32_t classes;
    int32_t width;            /* resnet18 base channels (64 for the real network); ignored by mlp/convnet */
    int32_t max_batch;        /* largest batch forward/backward will see */
    int trainable;            /* allocate gradient, momentum and activation-gradient buffers */
} pd_model_spec;

/* A named view into the parameter block or the buffer block. */
typedef struct {
    char name[64];            /* "layer4.1.bn2.weight" */
    int32_t ndim;
    int32_t shape[4];
    int64_t offset, count;    /* in floats, into the block */
    int32_t node;             /* index of the node that owns it */
} pd_tensor_info;

typedef struct pd_model pd_model;

pd_status model_create(pd_model **out, pd_backend *be, const pd_model_spec *spec, pd_error *err);
void model_free(pd_model *m); /* NULL is a no-op */

/* PyTorch's default initialisation (conv/linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias;
 * BatchNorm: weight 1, bias 0, running mean 0, running var 1), drawn from rng streams of seed. */
void model_init_params(pd_model *m, uint64_t seed);

const pd_model_spec *model_spec(const pd_model *m);
pd_backend *model_backend(const pd_model *m);
const char *model_arch_name(pd_arch arch);
pd_status model_arch_parse(const char *name, pd_arch *arch, pd_error *err);

int64_t model_param_count(const pd_model *m);
int model_tensor_count(const pd_model *m);
const pd_tensor_info *model_tensor(const pd_model *m, int i);
int model_tensor_find(const pd_model *m, const char *name); /* -1 when absent */
int64_t model_buffer_count(const pd_model *m);
int model_buffer_tensor_count(const pd_model *m);
const pd_tensor_info *model_buffer_tensor(const pd_model *m, int i);

float *model_params(pd_model *m);   /* [param_count] device */
float *model_grads(pd_model *m);    /* [param_count] device (trainable models only) */
float *model_momentum(pd_model *m); /* [param_count] device (trainable models only) */
float *model_buffers(pd_model *m);  /* [buffer_count] device: BatchNorm running statistics */

int model_node_count(const pd_model *m);
/* Floats of every node's output for one sample: what the activations of a batch cost per image. */
int64_t model_sample_floats(const pd_model *m);
/* Per-sample shape [c, h, w] of a node's output; node -1 is the network input. */
void model_node_shape(const pd_model *m, int node, int32_t *c, int32_t *h, int32_t *w);
typedef enum {
    PD_NODE_CONV,
    PD_NODE_BN,
    PD_NODE_RELU,
    PD_NODE_MAXPOOL,
    PD_NODE_AVGPOOL,
    PD_NODE_LINEAR,
    PD_NODE_ADD
} pd_node_kind;

pd_node_kind model_node_kind(const pd_model *m, int node);
/* The nodes a node reads (-1 = the network input; in2 is -1 except for ADD). */
void model_node_inputs(const pd_model *m, int node, int *in, int *in2);
/* Is the node a batchnorm / linear / conv node (for the "auto" target)? */
int model_node_is_bn(const pd_model *m, int node);
int model_node_is_linear(const pd_model *m, int node);
const char *model_node_name(const pd_model *m, int node);

/* Run nodes from_node..end on n <= max_batch samples. x is the input of from_node: the images [n, c, h, w]
 * for from_node 0, otherwise the output of node from_node-1 (a valid cut, see model_cut_before).
 * train != 0: BatchNorm uses batch statistics and updates its running statistics. Returns logits [n, classes]
 * (device memory owned by the model, valid until the next forward). */
const float *model_forward(pd_model *m, const float *x, int32_t n, int train, int from_node);
/* Run nodes from_node..to_node-1 only and return node to_node-1's output [n, c, h, w] (device, owned by the
 * model): with to_node = a cut, this computes the prefix that a cache can keep. */
const float *model_forward_range(pd_model *m, const float *x, int32_t n, int train, int from_node, int to_node);
/* model_forward (eval mode) from from_node, a convolution that the forward runs as one Conv -> BN -> ReLU block,
 * whose input is BatchNorm node bn -> ReLU -> MaxPool (eval mode) of the tensor whose 2x2-window maxima and
 * minima are mx and mn [n, c, h/2, w/2] (bn_relu_pool_eval), computed inside the block where the backend offers
 * pool_conv_bn_relu_eval; when the block's output goes straight into the last node, a linear classifier, that
 * runs in the same pass too (the block's output then stays unwritten). Returns the logits as model_forward does,
 * bit for bit, or NULL, having done nothing, where it cannot: the caller then runs bn_relu_pool_eval and
 * model_forward. */
const float *model_forward_pooled(pd_model *m, const float *mx, const float *mn, int bn, int32_t n, int from_node);
/* Back-propagate dlogits [n, classes] through nodes end..stop_node, accumulating into model_grads(); n and
 * train must match the latest forward, whose input x must still be alive, and stop_node >= its from_node.
 * Parameter gradients of nodes before stop_node are not computed. */
void model_backward(pd_model *m, const float *dlogits, int32_t n, int train, int stop_node);

/* The latest node index c <= node such that nodes c.. read nothing older than node c-1's output: running from
 * c needs only that one tensor. Returns 0 when only the network input works. */
int model_cut_before(const pd_model *m, int node);

#endif
