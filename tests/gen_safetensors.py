#!/usr/bin/python3
"""gen_safetensors.py — PyTorch state_dicts in safetensors for pdiff's import/export tests, and a check of an
exported model in PyTorch.

Needs PyTorch and NumPy (Debian: python3-torch, python3-numpy); the safetensors package is not needed (Debian does
not package it): files are read and written from the format's specification with json and struct. Not run by
make check; its outputs are committed.

1. Fixtures (deterministic: same torch version, same bytes):

       /usr/bin/python3 tests/gen_safetensors.py fixtures [tests/fixtures/st]

   writes, for the tests' 12x12 one-channel 10-class images (tests/gen_idx.c),
     mlp.safetensors      the mlp of doc/design.md section 6 (fc1 144->256, fc2 256->128, fc3 128->10)
     convnet.safetensors  the convnet (conv1/bn1 .. conv3/bn3 with biases and BatchNorm, fc 576->10)
   each a complete state_dict in torch's order (BatchNorm's num_batches_tracked included, set to 1234) with fixed
   random weights and BatchNorm weights/biases/running statistics away from 1/0, and
     inputs.npy           8 fixed inputs [8, 1, 12, 12] (normalised images, as the model sees them)
     mlp_logits.npy       their eval-mode logits [8, 10] by the mlp, computed in float64 from the float32 weights
     convnet_logits.npy   the same for the convnet
   tests/test_model_io.c imports the state_dicts into pdiff models and matches the logits.

2. The acceptance check of issue 14 (an exported model in torch, strict=True):

       pdiff export SESSION --id N                      # SESSION/export/pdiff-N.safetensors
       /usr/bin/python3 tests/gen_safetensors.py check SESSION/export/pdiff-N.safetensors DATADIR [--mean M --std S]

   builds the torch module of the file's metadata (arch, input, classes, width), loads the state_dict with
   strict=True, and prints its accuracy on DATADIR's IDX test set (t10k-images-idx3-ubyte[.gz], labels alike)
   next to the accuracy pdiff measured (metadata "accuracy", as in models.csv) and their difference in points.
   Images are normalised as pdiff does for idx:DIR: the population mean and std of the training pixels
   (train-images-idx3-ubyte[.gz] in DATADIR), or --mean/--std for a named data set (mnist: 0.1307 0.3081,
   fashion-mnist: 0.2860 0.3530). Exit status 0 when the two agree within 0.05 points, 1 otherwise.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import make_model  # noqa: E402

CLASSES = 10
HW = 12
NBT = 1234

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "F16": (torch.float16, 2),
          "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2),
          "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1)}
NAMES = {v[0]: k for k, v in DTYPES.items()}


# ------------------------------------------------------------------------------------------------ safetensors

def save_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in the order to write; metadata: dict of str -> str."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, at = [], 0
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes() if t.dtype != torch.bfloat16 else \
            t.view(torch.int16).numpy().astype("<i2").tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fp:
        fp.write(struct.pack("<Q", len(text)))
        fp.write(text)
        for b in blobs:
            fp.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """(dict name -> tensor in the file's order, metadata dict)."""
    with open(path, "rb") as fp:
        raw = fp.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        dtype, size = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        buf = bytearray(data[b:e])
        t = torch.frombuffer(buf, dtype=dtype) if e > b else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta


# ------------------------------------------------------------------------------------------------ fixtures

def perturb(model, gen):
    """BatchNorm weights in [0.5, 1.5], biases in [-0.2, 0.2], running mean in [-0.3, 0.3], var in [0.5, 2]."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(0.5 + torch.rand(c, generator=gen))
                mod.bias.copy_(0.4 * torch.rand(c, generator=gen) - 0.2)
                mod.running_mean.copy_(0.6 * torch.rand(c, generator=gen) - 0.3)
                mod.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=gen))
                mod.num_batches_tracked.fill_(NBT)


def fixtures(outdir):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(outdir, exist_ok=True)
    gen = torch.Generator().manual_seed(14)
    x = torch.randn(8, 1, HW, HW, generator=gen, dtype=torch.float32)
    np.save(os.path.join(outdir, "inputs.npy"), x.numpy().astype("<f4"))
    for arch, seed in (("mlp", 1401), ("convnet", 1402)):
        torch.manual_seed(seed)
        model = make_model(arch, 1, HW, HW, CLASSES, 0).float()
        perturb(model, torch.Generator().manual_seed(seed + 1))
        model.eval()
        sd = model.state_dict()
        save_safetensors(os.path.join(outdir, arch + ".safetensors"), list(sd.items()),
                         {"format": "pt", "arch": arch, "made_by": "tests/gen_safetensors.py"})
        ref = make_model(arch, 1, HW, HW, CLASSES, 0).double()
        ref.load_state_dict(sd, strict=True)
        ref.eval()
        with torch.no_grad():
            logits = ref(x.double())
            f32 = model(x)
        np.save(os.path.join(outdir, arch + "_logits.npy"), logits.numpy().astype("<f4"))
        print("%s: %d tensors, %d values; float32 torch vs float64 max |diff| %.3g" %
              (arch, len(sd), sum(t.numel() for t in sd.values()), (f32.double() - logits).abs().max().item()))


# ------------------------------------------------------------------------------------------------ check

def read_idx(path):
    opener = open
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path, opener = path + ".gz", gzip.open
    with opener(path, "rb") as fp:
        raw = fp.read()
    (magic,) = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def check(args):
    if len(args) not in (2, 6):
        raise SystemExit("usage: gen_safetensors.py check FILE.safetensors DATADIR [--mean M --std S]")
    path, datadir = args[0], args[1]
    sd, meta = load_safetensors(path)
    c, h, w = (int(v) for v in meta["input"].split("x"))
    model = make_model(meta["arch"], c, h, w, int(meta["classes"]), int(meta.get("width", "0")))
    model.load_state_dict(sd, strict=True)
    model.eval()
    if len(args) == 6:
        opts = dict(zip(args[2::2], args[3::2]))
        mean, std = np.float32(float(opts["--mean"])), np.float32(float(opts["--std"]))
    else:
        # src/dataset.c ds_compute_norm: exact sums from the histogram, then double arithmetic
        hist = np.bincount(read_idx(os.path.join(datadir, "train-images-idx3-ubyte")).ravel(), minlength=256)
        count = float(int(hist.sum()))
        total = float(sum(b * int(hist[b]) for b in range(256)))
        sumsq = float(sum(b * b * int(hist[b]) for b in range(256)))
        m = total / count
        var = sumsq / count - m * m
        sd = np.sqrt(var) / 255.0 if var > 0 else 0.0
        mean, std = np.float32(m / 255.0), np.float32(sd if sd > 1e-12 else 1.0)
    images = read_idx(os.path.join(datadir, "t10k-images-idx3-ubyte"))
    labels = read_idx(os.path.join(datadir, "t10k-labels-idx1-ubyte")).astype(np.int64)
    lut = ((np.arange(256, dtype=np.float32) / np.float32(255.0) - mean) / std).astype(np.float32)
    x = torch.from_numpy(lut[images].reshape(-1, c, h, w))
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1).numpy() == labels[i:i + 1000]).sum()
    acc = 100.0 * correct / len(labels)
    theirs = 100.0 * float(meta["accuracy"])
    print("%s: %s %s model %s: torch accuracy %.4f%% on %d test images; pdiff measured %.4f%%; difference %.4f points"
          % (path, meta.get("kind", "?"), meta["arch"], meta.get("id", "?"), acc, len(labels), theirs, acc - theirs))
    return 0 if abs(acc - theirs) <= 0.05 else 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) >= 2 and sys.argv[1] == "fixtures":
        fixtures(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "fixtures", "st"))
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        return check(sys.argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
