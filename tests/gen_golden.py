#!/usr/bin/python3
"""gen_golden.py — golden fixtures for pdiff's task models, computed by PyTorch.

Regenerate (needs PyTorch; Debian's python3-torch lives under /usr/bin/python3):

    /usr/bin/python3 tests/gen_golden.py tests/fixtures

writes tests/fixtures/golden_convnet.bin and tests/fixtures/golden_resnet18.bin, read by
tests/test_golden_task.c (which needs no Python). The script is deterministic: same torch version, same bytes.

The models (tests/torch_models.py) are built exactly as src/arch.c builds them:
  convnet   conv3x3(1->32,pad 1,bias)+BN+ReLU+maxpool2 -> conv3x3(32->64)+BN+ReLU+maxpool2
            -> conv3x3(64->64)+BN+ReLU -> flatten -> linear(64*3*3 -> 10), on 1x12x12 inputs
  resnet18  CIFAR ResNet-18 with torchvision BasicBlocks (convs without bias, 3x3 stem, no max-pool,
            1x1 conv+BN projection shortcuts), base width 4 (stages 4/8/16/32), global average pool,
            fc -> 10, on 3x16x16 inputs
PyTorch's parameter registration order is pdiff's parameter-block order; the names are stored in the fixture
and the C test checks them against model_tensor().

Weights: torch.manual_seed, PyTorch's default initialisation, then BatchNorm weights/biases and running
statistics are perturbed away from 1/0 so that every term matters. Everything is rounded to float32 first
(that is what pdiff gets), and the reference computation then runs in float64, so the stored values are the
exact answer for the float32 inputs and the C test measures pdiff's own float32 error only. (The script also
prints how far a float32 PyTorch run lands from that reference, as a guide for the tolerances.)

Sequence recorded (batch of 8, one fixed batch):
  train-mode forward -> logits, mean cross-entropy loss; backward -> all parameter gradients;
  the BN running statistics after that forward (momentum 0.1, eps 1e-5);
  then SGD (lr 0.05, momentum 0.9, weight decay 5e-4, dampening 0, no Nesterov), 10 steps in all on the same
  batch, the first step using the gradients above: loss before each step, parameters and running statistics
  after the 10 steps, and eval-mode logits of the batch after them.

File layout (pdiff state file, src/state.h), kind "golden", sections:
  names         u8   parameter names, each followed by '\\n' (PyTorch order)
  buffer_names  u8   running_mean / running_var names, each followed by '\\n'
  config        i32  [in_c, in_h, in_w, classes, width, batch, steps]
  hyper         f32  [lr, momentum, weight_decay, bn_momentum, bn_eps]
  params0       f32  initial flat parameter vector
  buffers0      f32  initial running statistics (pdiff buffer order: per BN mean then var)
  x             f32  inputs [batch, c, h, w];  y  i32 labels [batch]
  logits        f32  [batch, classes] train mode;  loss  f32 [1]
  grads         f32  flat gradient vector (same order as params0)
  buffers1      f32  running statistics after the first forward
  losses        f32  [steps] loss at each SGD step (losses[0] == loss)
  params_final  f32  parameters after the steps;  buffers_final  f32  running statistics after them
  eval_logits   f32  [batch, classes] eval-mode logits with the final parameters and statistics
"""
import copy
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ConvNet, ResNet18  # noqa: E402

BATCH = 8
STEPS = 10
LR, MOMENTUM, WD = 0.05, 0.9, 5e-4
BN_MOMENTUM, BN_EPS = 0.1, 1e-5
CLASSES = 10


def perturb_bn(model, gen):
    """BatchNorm weights in [0.5, 1.5], biases in [-0.2, 0.2], running mean in [-0.1, 0.1], var in [0.5, 1.5]."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(0.5 + torch.rand(c, generator=gen))
                mod.bias.copy_(0.4 * torch.rand(c, generator=gen) - 0.2)
                mod.running_mean.copy_(0.2 * torch.rand(c, generator=gen) - 0.1)
                mod.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                mod.momentum = BN_MOMENTUM
                mod.eps = BN_EPS


def buffer_list(model):
    """(name, tensor) of running statistics in pdiff's order (per BN: running_mean, running_var)."""
    return [(n, b) for n, b in model.named_buffers() if n.endswith("running_mean") or n.endswith("running_var")]


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def run(model, x, y):
    """The recorded sequence on a copy of the model in the model's dtype. Returns a dict of float64 arrays."""
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    out = {}
    losses = []
    model.train()
    for step in range(STEPS):
        opt.zero_grad(set_to_none=False)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            out["logits"] = logits.detach().clone()
            out["loss"] = loss.detach().reshape(1).clone()
            out["grads"] = flat([p.grad for p in model.parameters()])
            out["buffers1"] = flat([b for _, b in buffer_list(model)])
        opt.step()
    out["losses"] = torch.tensor(losses, dtype=torch.float64)
    out["params_final"] = flat(list(model.parameters()))
    out["buffers_final"] = flat([b for _, b in buffer_list(model)])
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x).clone()
    return {k: v.double().numpy() for k, v in out.items()}


def state_bytes(kind, sections):
    """A pdiff state file (src/state.h): header, sections, CRC-32 trailer."""
    dtypes = {np.dtype("<f4"): 1, np.dtype("<i4"): 2, np.dtype("u1"): 3}
    body = bytearray(b"PDIFFST1")
    body += struct.pack("<II", 1, len(sections))
    body += kind.encode().ljust(16, b"\0")
    for name, arr in sections:
        assert len(name) < 32
        arr = np.ascontiguousarray(arr)
        body += name.encode().ljust(32, b"\0")
        body += struct.pack("<IIQ", dtypes[arr.dtype], 0, arr.size)
        body += arr.tobytes()
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    return bytes(body)


def golden(name, make, in_c, hw, width, seed):
    torch.manual_seed(seed)
    model = make().float()
    gen = torch.Generator().manual_seed(seed + 1)
    perturb_bn(model, gen)
    x = torch.randn(BATCH, in_c, hw, hw, generator=gen, dtype=torch.float32)
    y = torch.randperm(CLASSES, generator=gen)[:BATCH].to(torch.int64)  # distinct labels

    names = [n for n, _ in model.named_parameters()]
    bnames = [n for n, _ in buffer_list(model)]
    params0 = flat(list(model.parameters())).numpy().astype("<f4")
    buffers0 = flat([b for _, b in buffer_list(model)]).numpy().astype("<f4")

    ref = run(_copy(model, torch.float64), x.double(), y)
    f32 = run(_copy(model, torch.float32), x, y)
    print("%s: %d parameters, %d buffer values; float32 PyTorch vs float64 reference:" %
          (name, params0.size, buffers0.size))
    for k in ref:
        d = np.abs(f32[k] - ref[k])
        rel = d / np.maximum(np.abs(ref[k]), 1e-30)
        print("  %-14s max |diff| %.3g  (max rel where |ref| > 1e-3: %.3g)" %
              (k, d.max(), rel[np.abs(ref[k]) > 1e-3].max() if (np.abs(ref[k]) > 1e-3).any() else 0.0))
    print("  losses: " + " ".join("%.6f" % v for v in ref["losses"]))

    f = lambda a: np.asarray(a, dtype="<f4")
    sections = [
        ("names", np.frombuffer("".join(n + "\n" for n in names).encode(), dtype="u1")),
        ("buffer_names", np.frombuffer("".join(n + "\n" for n in bnames).encode(), dtype="u1")),
        ("config", np.array([in_c, hw, hw, CLASSES, width, BATCH, STEPS], dtype="<i4")),
        ("hyper", f([LR, MOMENTUM, WD, BN_MOMENTUM, BN_EPS])),
        ("params0", params0),
        ("buffers0", buffers0),
        ("x", x.numpy().astype("<f4")),
        ("y", y.numpy().astype("<i4")),
    ] + [(k, f(ref[k])) for k in ("logits", "loss", "grads", "buffers1", "losses", "params_final",
                                   "buffers_final", "eval_logits")]
    return state_bytes("golden", sections)


def _copy(model, dtype):
    m = copy.deepcopy(model).to(dtype)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.num_batches_tracked.zero_()
    return m


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(outdir, exist_ok=True)
    jobs = [
        ("golden_convnet.bin", lambda: ConvNet(1, 12, 12, CLASSES), 1, 12, 0, 1234),
        ("golden_resnet18.bin", lambda: ResNet18(3, 4, CLASSES), 3, 16, 4, 5678),
    ]
    for fname, make, in_c, hw, width, seed in jobs:
        data = golden(fname, make, in_c, hw, width, seed)
        path = os.path.join(outdir, fname)
        with open(path + ".tmp", "wb") as fp:
            fp.write(data)
        os.replace(path + ".tmp", path)
        print("wrote %s (%d bytes)" % (path, len(data)))


if __name__ == "__main__":
    main()
