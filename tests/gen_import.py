#!/usr/bin/python3
"""gen_import.py — a PyTorch-trained convnet for pdiff's init= (tests/import.sh), saved as safetensors.

Regenerate (needs PyTorch and NumPy; Debian's python3-torch; not run by make check):

    tests/gen_idx /tmp/imp 1500 400 8
    /usr/bin/python3 tests/gen_import.py /tmp/imp tests/fixtures/import

reads the IDX files tests/gen_idx writes (train-*-idx?-ubyte plain, t10k-*-idx?-ubyte.gz), normalises the pixels
as pdiff does (per-channel population mean and std of the training pixels, as fractions of 255, in float32),
trains pdiff's convnet (src/arch.c: conv3x3(1->32)+BN+ReLU+maxpool2 -> conv3x3(32->64)+BN+ReLU+maxpool2 ->
conv3x3(64->64)+BN+ReLU -> flatten -> fc, torch's names) for a few epochs with SGD, rounds every parameter and
running statistic to float16 (the file stores F16, which keeps the fixture small and exercises the conversion),
measures the test accuracy of that rounded model in eval mode (float32), and writes

    convnet.safetensors   the state_dict (F16; num_batches_tracked I64 scalars), written from the format's
                          specification with json + struct (python3-safetensors is not packaged in Debian)
    convnet.txt           how the data was made and the accuracy PyTorch measured (key value lines)

On 8x8 images the convnet has about 59,000 parameters, about 120 KB in F16.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ConvNet  # noqa: E402

TRAIN, TEST, SIZE = 1500, 400, 8
EPOCHS, BATCH, LR, MOMENTUM, WD = 20, 64, 0.01, 0.9, 5e-4


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", data[8:16])
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, 1, h, w)
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)


def load(folder, prefix, gz):
    ext = ".gz" if gz else ""
    x = read_idx(os.path.join(folder, "%s-images-idx3-ubyte%s" % (prefix, ext)))
    y = read_idx(os.path.join(folder, "%s-labels-idx1-ubyte%s" % (prefix, ext)))
    return x, y


def normaliser(train_x):
    """pdiff's dataset normalisation (src/dataset.c ds_compute_norm, dataset_norm_lut), exactly."""
    hist = np.bincount(train_x.reshape(-1), minlength=256).astype(np.float64)
    b = np.arange(256, dtype=np.float64)
    count = float(train_x.size)
    mean = float((b * hist).sum()) / count
    var = float((b * b * hist).sum()) / count - mean * mean
    sd = np.sqrt(var) / 255.0 if var > 0 else 0.0
    mean32 = np.float32(mean / 255.0)
    sd32 = np.float32(sd) if sd > 1e-12 else np.float32(1.0)
    lut = (np.arange(256, dtype=np.float32) / np.float32(255.0) - mean32) / sd32
    return lambda x: torch.from_numpy(lut[x].astype(np.float32))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    return int((pred == y).sum())


def write_safetensors(path, tensors, meta):
    """The safetensors format: u64 LE header length, JSON header (padded with spaces to 8 bytes), data."""
    header, blobs, at = {"__metadata__": meta}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_import.py IDX_DIR OUT_DIR")
    data, out = sys.argv[1], sys.argv[2]
    train_x, train_y = load(data, "train", False)
    test_x, test_y = load(data, "t10k", True)
    assert train_x.shape == (TRAIN, 1, SIZE, SIZE) and test_x.shape == (TEST, 1, SIZE, SIZE), \
        "make the data with: tests/gen_idx DIR %d %d %d" % (TRAIN, TEST, SIZE)
    norm = normaliser(train_x)
    xtr, xte = norm(train_x), norm(test_x)
    ytr, yte = torch.from_numpy(train_y), torch.from_numpy(test_y)

    torch.manual_seed(7)
    model = ConvNet(1, SIZE, SIZE, 10)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    gen = torch.Generator().manual_seed(8)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(TRAIN, generator=gen)
        for i in range(0, TRAIN, BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()

    tensors = {}
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                tensors[name] = ("I64", [], struct.pack("<q", int(t)))
                continue
            half = t.to(torch.float16)
            t.copy_(half.to(torch.float32))  # the model measured is the one the file holds
            tensors[name] = ("F16", list(t.shape), half.numpy().astype("<f2").tobytes())
    correct = accuracy(model, xte, yte)
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "convnet.safetensors"), tensors,
                      {"format": "pt", "made_by": "tests/gen_import.py", "torch": torch.__version__})
    with open(os.path.join(out, "convnet.txt"), "w") as f:
        f.write("# tests/gen_import.py: pdiff's convnet trained by PyTorch %s, weights stored as F16\n"
                % torch.__version__)
        f.write("gen_idx %d %d %d\n" % (TRAIN, TEST, SIZE))
        f.write("arch convnet\n")
        f.write("test_correct %d\n" % correct)
        f.write("test_accuracy %.6f\n" % (correct / TEST))
    print("convnet: test accuracy %d/%d = %.4f" % (correct, TEST, correct / TEST))


if __name__ == "__main__":
    main()
