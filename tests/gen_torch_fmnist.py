#!/usr/bin/python3
"""gen_torch_fmnist.py — issue 14's acceptance check on Fashion-MNIST: models made in PyTorch, taken in by pdiff.

Not run by make check (it needs Debian's python3-torch and the dataset-fashion-mnist package). Usage:

    /usr/bin/python3 tests/gen_torch_fmnist.py OUTDIR [EPOCHS]

trains pdiff's convnet (torch modules and names of tests/torch_models.py) on Fashion-MNIST with SGD for EPOCHS
(default 1) epochs, normalised as pdiff normalises (the training pixels' mean 0.2860 and std 0.3530), measures its
test accuracy in eval mode, and writes

    OUTDIR/convnet.safetensors   its state_dict, for pdiff run --set init=... --set epochs=0
    OUTDIR/accuracy.txt          the test accuracy PyTorch measured
    OUTDIR/ckpt/ckpt-NN.safetensors  20 checkpoints: the model trained on with only bn2 and bn3 learning (BatchNorm in
                                 eval mode, as pdiff collects), one every 5 iterations, for pdiff --set checkpoints=
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_safetensors import read_idx, save_safetensors  # noqa: E402
from torch_models import make_model  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def load(prefix):
    x = read_idx(os.path.join(DATA, prefix + "-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(DATA, prefix + "-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy((x - MEAN) / STD).unsqueeze(1), torch.from_numpy(y)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        right = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, len(x), 1000))
    return right / len(x)


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.manual_seed(1)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    model = make_model("convnet", 1, 28, 28, 10, 64)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    acc = accuracy(model, xte, yte)
    os.makedirs(os.path.join(out, "ckpt"), exist_ok=True)
    save_safetensors(os.path.join(out, "convnet.safetensors"), list(model.state_dict().items()), {"format": "pt"})
    with open(os.path.join(out, "accuracy.txt"), "w") as fp:
        fp.write("%.4f\n" % acc)
    print("PyTorch test accuracy %.4f" % acc)
    # collection as pdiff does it: BatchNorm in eval mode, only the target (bn2, bn3) learns
    model.eval()
    target = [p for n, p in model.named_parameters() if n.startswith(("bn2.", "bn3."))]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in target:
        p.requires_grad_(True)
    opt = torch.optim.SGD(target, lr=0.01, momentum=0.9, weight_decay=5e-4)
    perm = torch.randperm(len(xtr))
    for k in range(20):
        for it in range(5):
            idx = perm[(k * 5 + it) * 128:(k * 5 + it + 1) * 128]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        path = os.path.join(out, "ckpt", "ckpt-%02d.safetensors" % k)
        save_safetensors(path, list(model.state_dict().items()), {"format": "pt"})
    print("20 checkpoints in %s" % os.path.join(out, "ckpt"))


if __name__ == "__main__":
    main()
