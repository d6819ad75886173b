/* arch.c — mlp, convnet and resnet18 exactly as doc/design.md §6 describes them (see arch.h). */
#include "arch.h"

#include <stdio.h>

static pd_status arch_mlp(pd_model *m)
{
    const pd_model_spec *s = model_spec(m);
    int x = model_add_linear(m, "fc1", -1, 256);
    x = model_add_relu(m, x);
    x = model_add_linear(m, "fc2", x, 128);
    x = model_add_relu(m, x);
    model_add_linear(m, "fc3", x, s->classes);
    return PD_OK;
}

/* conv3x3(c→32)+BN+ReLU+maxpool → conv3x3(32→64)+BN+ReLU+maxpool → conv3x3(64→64)+BN+ReLU → fc */
static pd_status arch_convnet(pd_model *m, pd_error *err)
{
    const pd_model_spec *s = model_spec(m);
    if (s->in_h < 4 || s->in_w < 4)
        return error_set(err, PD_ERR_CONFIG, "arch: convnet needs images of at least 4x4, got %dx%d", s->in_h,
                         s->in_w);
    int x = model_add_conv(m, "conv1", -1, 32, 3, 1, 1, 1);
    x = model_add_bn(m, "bn1", x);
    x = model_add_relu(m, x);
    x = model_add_maxpool(m, x);
    x = model_add_conv(m, "conv2", x, 64, 3, 1, 1, 1);
    x = model_add_bn(m, "bn2", x);
    x = model_add_relu(m, x);
    x = model_add_maxpool(m, x);
    x = model_add_conv(m, "conv3", x, 64, 3, 1, 1, 1);
    x = model_add_bn(m, "bn3", x);
    x = model_add_relu(m, x);
    model_add_linear(m, "fc", x, s->classes);
    return PD_OK;
}

/* torchvision BasicBlock: conv3x3(stride)-bn-relu-conv3x3-bn, + identity or 1x1 conv/bn projection, relu */
static int arch_basic_block(pd_model *m, const char *prefix, int x, int32_t cin, int32_t cout, int32_t stride)
{
    char name[64];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    int h = model_add_conv(m, name, x, cout, 3, stride, 1, 0);
    snprintf(name, sizeof name, "%s.bn1", prefix);
    h = model_add_bn(m, name, h);
    h = model_add_relu(m, h);
    snprintf(name, sizeof name, "%s.conv2", prefix);
    h = model_add_conv(m, name, h, cout, 3, 1, 1, 0);
    snprintf(name, sizeof name, "%s.bn2", prefix);
    h = model_add_bn(m, name, h);
    int sc = x;
    if (stride != 1 || cin != cout) {
        snprintf(name, sizeof name, "%s.downsample.0", prefix);
        sc = model_add_conv(m, name, x, cout, 1, stride, 0, 0);
        snprintf(name, sizeof name, "%s.downsample.1", prefix);
        sc = model_add_bn(m, name, sc);
    }
    h = model_add_add(m, h, sc);
    return model_add_relu(m, h);
}

/* CIFAR ResNet-18: 3x3 stem, no max-pool, 4 stages x 2 BasicBlocks, global average pool, fc */
static pd_status arch_resnet18(pd_model *m, pd_error *err)
{
    const pd_model_spec *s = model_spec(m);
    if (s->in_h < 8 || s->in_w < 8)
        return error_set(err, PD_ERR_CONFIG, "arch: resnet18 needs images of at least 8x8, got %dx%d", s->in_h,
                         s->in_w);
    int32_t w = s->width;
    int x = model_add_conv(m, "conv1", -1, w, 3, 1, 1, 0);
    x = model_add_bn(m, "bn1", x);
    x = model_add_relu(m, x);
    int32_t cin = w;
    for (int stage = 0; stage < 4; stage++) {
        int32_t cout = w << stage;
        for (int b = 0; b < 2; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, b);
            x = arch_basic_block(m, prefix, x, cin, cout, (stage > 0 && b == 0) ? 2 : 1);
            cin = cout;
        }
    }
    x = model_add_avgpool(m, x);
    model_add_linear(m, "fc", x, s->classes);
    return PD_OK;
}

pd_status arch_build(pd_model *m, pd_error *err)
{
    switch (model_spec(m)->arch) {
    case PD_ARCH_MLP:
        return arch_mlp(m);
    case PD_ARCH_CONVNET:
        return arch_convnet(m, err);
    case PD_ARCH_RESNET18:
        return arch_resnet18(m, err);
    }
    return error_set(err, PD_ERR_INTERNAL, "unknown architecture");
}
