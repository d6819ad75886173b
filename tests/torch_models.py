"""torch_models.py — PyTorch modules of pdiff's task models, shared by the fixture generators
(tests/gen_golden.py, tests/gen_safetensors.py, tests/gen_import.py, tests/gen_torch_fmnist.py).

Not a script. The generators import it after putting their own directory on sys.path, so they run from the top of
the source tree or from tests/ alike. Needs PyTorch (Debian: python3-torch).

The modules are built as src/arch.c builds the models, with torch's names; PyTorch's parameter registration order is
pdiff's parameter-block order:
  mlp       doc/design.md section 6: flatten -> fc1 (256) -> ReLU -> fc2 (128) -> ReLU -> fc3 (classes)
  convnet   conv3x3(c->32,pad 1,bias)+BN+ReLU+maxpool2 -> conv3x3(32->64)+BN+ReLU+maxpool2
            -> conv3x3(64->64)+BN+ReLU -> flatten -> linear(64*(h/4)*(w/4) -> classes)
  resnet18  CIFAR ResNet-18 with torchvision BasicBlocks (convs without bias, 3x3 stem, no max-pool,
            1x1 conv+BN projection shortcuts), base width `width` (stages width, 2x, 4x, 8x), global average pool,
            fc -> classes
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """doc/design.md section 6: flatten -> fc1 (256) -> ReLU -> fc2 (128) -> ReLU -> fc3 (classes)."""

    def __init__(self, in_features, classes):
        super().__init__()
        self.fc1 = nn.Linear(in_features, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ConvNet(nn.Module):
    """doc/design.md section 6: conv3x3(c->32)+BN+ReLU+maxpool -> conv3x3(32->64)+BN+ReLU+maxpool
    -> conv3x3(64->64)+BN+ReLU -> flatten -> fc (classes); convolutions with bias."""

    def __init__(self, in_c, h, w, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 * (h // 4) * (w // 4), classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(torch.flatten(x, 1))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (registration order conv1, bn1, conv2, bn2, downsample)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """CIFAR ResNet-18 (torchvision names): 3x3 stem without max-pool, 4 stages x 2 BasicBlocks, avgpool, fc."""

    def __init__(self, in_c, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for stage in range(4):
            cout = width << stage
            blocks = []
            for b in range(2):
                blocks.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def make_model(arch, in_c, h, w, classes, width):
    """The module of a pdiff arch name ("mlp", "convnet", "resnet18") for in_c x h x w inputs."""
    if arch == "mlp":
        return MLP(in_c * h * w, classes)
    if arch == "convnet":
        return ConvNet(in_c, h, w, classes)
    if arch == "resnet18":
        return ResNet18(in_c, width, classes)
    raise SystemExit("unknown arch %r" % arch)
