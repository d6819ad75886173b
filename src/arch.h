/* arch.h — the three task architectures, described to model.c through its builder calls (doc/design.md §6).
 *
 * arch_build() adds the nodes of spec->arch in execution order; each model_add_* returns the new node's index
 * and derives the output shape from its input node (-1 = the network input). Names follow PyTorch (torchvision
 * ResNet names: conv1, bn1, layer1.0.conv1, ..., layer2.0.downsample.0/1, fc).
 */
#ifndef PD_ARCH_H
#define PD_ARCH_H

#include "model.h"

int model_add_conv(pd_model *m, const char *name, int in, int32_t cout, int32_t k, int32_t stride, int32_t pad,
                   int bias);
int model_add_bn(pd_model *m, const char *name, int in);
int model_add_relu(pd_model *m, int in);
int model_add_maxpool(pd_model *m, int in);
int model_add_avgpool(pd_model *m, int in);
int model_add_linear(pd_model *m, const char *name, int in, int32_t out);
int model_add_add(pd_model *m, int a, int b);

/* Build the graph of m's architecture. Fails (PD_ERR_CONFIG) when the input is too small for it. */
pd_status arch_build(pd_model *m, pd_error *err);

#endif
