#!/usr/bin/env python3
"""Writes the golden fixtures of tests/test_golden_pdiff.c from PyTorch (run with a Python that has torch 1.13,
e.g. `/usr/bin/python3 tests/gen_golden_pdiff.py tests/fixtures`).

The models are the module definitions of the PyTorch reference (shared/bench/torch_pdiff.py), copied here so the
script stands alone; the UNet gives every sample its own timestep embedding.

Fixtures are pdiff state files (src/state.h): magic "PDIFFST1", u32 version 1, u32 section count, kind[16]
"golden", sections name[32] | u32 dtype (1 f32, 2 i32, 4 f64) | u32 0 | u64 count | data, trailer u32 CRC-32.
  golden_ae.bin    small AE (fold 3, kernel 3, enc 2,2,2,2, dec 2,64,64,8), d = 256, noise off, batch 4:
                   params, x, out, loss (F.mse_loss(out, x)), grads (of that loss), latent (encode(x))
  golden_unet.bin  UNet channels 8,16,32,64, L = 8, T = 50, batch 4, timesteps t = 3, 17, 0, 49:
                   params, x, t, r, out, grads (of sum(r * out))
  golden_ddpm.bin  T = 1000, beta 1e-4 .. 2e-2: beta, alpha_bar (f64), sqrt_ab, sqrt_1mab, and the ancestral
                   sampler's ca, cb, c1, c2, sigma (f32, as the reference computes them); DDIM with 50 steps:
                   ddim_t (i32, ascending) and ddim_c1, ddim_c2 per step (towards the previous timestep)
"""
import os
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F


class Enc(nn.Module):
    def __init__(s, chans, fold, k):
        super().__init__()
        ch = [chans[0]] + chans
        layers = []
        for i in range(len(ch) - 1):
            first, last = i == 0, i == len(ch) - 2
            layers.append(nn.Sequential(
                nn.Identity() if first else nn.LeakyReLU(), nn.InstanceNorm1d(1),
                nn.Conv1d(1 if first else ch[i], ch[i], k, 1, 1), nn.LeakyReLU(), nn.InstanceNorm1d(1),
                nn.Conv1d(ch[i], ch[i + 1], k, fold, 0), nn.Tanh() if last else nn.Identity()))
        s.net = nn.Sequential(*layers)

    def forward(s, x):
        return s.net(x)


class Dec(nn.Module):
    def __init__(s, chans, fold, k):
        super().__init__()
        ch = chans + [1]
        layers = []
        for i in range(len(ch) - 1):
            last = i == len(ch) - 2
            layers.append(nn.Sequential(
                nn.LeakyReLU(), nn.InstanceNorm1d(1), nn.ConvTranspose1d(ch[i], ch[i], k, fold, 0),
                nn.LeakyReLU(), nn.InstanceNorm1d(1),
                nn.Conv1d(ch[i], ch[i + 1], k, 1, fold if last else fold - 1)))
        s.net = nn.Sequential(*layers)

    def forward(s, x):
        return s.net(x)


class AE(nn.Module):
    def __init__(s, d, fold, k, enc, dec, in_noise=0.001, lat_noise=0.1):
        super().__init__()
        s.d, s.real = d, int(d / fold ** len(enc) + 1) * fold ** len(enc)
        s.enc, s.dec = Enc(enc, fold, k), Dec(dec, fold, k)
        s.a, s.b = in_noise, lat_noise

    def encode(s, x):
        x = F.pad(x.view(x.shape[0], 1, -1), (0, s.real - s.d))
        return s.enc(x)

    def decode(s, z):
        return s.dec(z)[:, 0, :s.d]

    def forward(s, x):
        x = torch.randn_like(x) * s.a + x * (1 - s.a)
        z = s.encode(x)
        z = (torch.randn_like(z) * s.b + z * (1 - s.b)).clamp(-1, 1)
        return s.decode(z)


def block(cin, cmid, cout, first=False):
    return nn.Sequential(*([] if first else [nn.LeakyReLU()]), nn.InstanceNorm1d(1),
                         nn.Conv1d(cin, cmid, 3, 1, 1), nn.LeakyReLU(), nn.InstanceNorm1d(1),
                         nn.Conv1d(cmid, cout, 3, 1, 1))


class UNet1D(nn.Module):
    def __init__(s, d, T=1000, ch=(64, 128, 256, 512)):
        super().__init__()
        s.e = nn.ModuleList([block(1, ch[0], ch[0], True), block(ch[0], ch[1], ch[1]),
                             block(ch[1], ch[2], ch[2]), block(ch[2], ch[3], ch[3])])
        s.d = nn.ModuleList([block(ch[3], ch[2], ch[2]), block(ch[2], ch[1], ch[1]),
                             block(ch[1], ch[0], ch[0]), block(ch[0], ch[0], 1)])
        s.t = nn.Embedding(T, d)

    def forward(s, x, t):
        te = s.t(t)[:, None, :]
        h1 = s.e[0](x + te); h2 = s.e[1](h1 + te); h3 = s.e[2](h2 + te); h4 = s.e[3](h3 + te)
        g = s.d[0](h4 + te) + h3; g = s.d[1](g + te) + h2; g = s.d[2](g + te) + h1
        return s.d[3](g + te)


# ---------------------------------------------------------------------------------------------- state files

DT_F32, DT_I32, DT_F64 = 1, 2, 4


def write_state(path, sections):
    """sections: list of (name, dtype, tensor)"""
    out = bytearray(b"PDIFFST1")
    out += struct.pack("<II", 1, len(sections))
    out += b"golden".ljust(16, b"\0")
    for name, dtype, t in sections:
        t = t.detach().reshape(-1)
        if dtype == DT_F32:
            data = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == DT_I32:
            data = t.to(torch.int32).numpy().astype("<i4").tobytes()
        else:
            data = t.to(torch.float64).numpy().astype("<f8").tobytes()
        nb = name.encode()
        assert len(nb) < 32
        out += nb.ljust(32, b"\0") + struct.pack("<IIQ", dtype, 0, t.numel()) + data
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(out)
    print(f"{path}: {len(out)} bytes, {len(sections)} sections")


def flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


def flat_grads(params):
    return torch.cat([p.grad.detach().reshape(-1) for p in params])


def gen_ae(outdir):
    # A seed whose network is well conditioned: instance norms over short rows (the latent has length 4) can
    # amplify float rounding a thousandfold; with this seed parameters perturbed by float epsilon move the output
    # by < 1e-5, so tight tolerances test the implementation, not the rounding.
    torch.manual_seed(11)
    ae = AE(256, 3, 3, [2, 2, 2, 2], [2, 64, 64, 8], 0.0, 0.0)
    params = list(ae.parameters())
    x = torch.randn(4, 256) * 0.5
    out = ae(x)
    loss = F.mse_loss(out, x)
    loss.backward()
    with torch.no_grad():
        z = ae.encode(x)
    write_state(os.path.join(outdir, "golden_ae.bin"), [
        ("params", DT_F32, flat(params)), ("x", DT_F32, x), ("out", DT_F32, out),
        ("loss", DT_F32, loss.reshape(1)), ("grads", DT_F32, flat_grads(params)), ("latent", DT_F32, z)])


def gen_unet(outdir):
    torch.manual_seed(8)  # well conditioned, as for the AE
    net = UNet1D(8, 50, (8, 16, 32, 64))
    params = list(net.parameters())
    x = torch.randn(4, 1, 8)
    t = torch.tensor([3, 17, 0, 49])
    r = torch.rand(4, 1, 8) * 2 - 1
    out = net(x, t)
    (out * r).sum().backward()
    write_state(os.path.join(outdir, "golden_unet.bin"), [
        ("params", DT_F32, flat(params)), ("x", DT_F32, x), ("t", DT_I32, t), ("r", DT_F32, r),
        ("out", DT_F32, out), ("grads", DT_F32, flat_grads(params))])


def gen_ddpm(outdir):
    T = 1000
    betas = torch.linspace(1e-4, 2e-2, T, dtype=torch.float64)
    ab = torch.cumprod(1 - betas, 0)
    abp = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
    c1 = (betas * abp.sqrt() / (1 - ab)).float()
    c2 = ((1 - abp) * (1 - betas).sqrt() / (1 - ab)).float()
    rra, rrm1 = (1 / ab).sqrt().float(), (1 / ab - 1).sqrt().float()
    sig = betas.sqrt().float()
    sig[0] = 0.0  # no noise on the last step
    S = 50
    ts = [int((j * (T - 1)) / (S - 1) + 0.5) for j in range(S)]  # round half up of j (T-1) / (S-1)
    dc1, dc2 = [], []
    for j in range(S):
        a = ab[ts[j]]
        ap = ab[ts[j - 1]] if j > 0 else torch.tensor(1.0, dtype=torch.float64)
        rr = (1 - ap).sqrt() / (1 - a).sqrt()
        dc1.append(ap.sqrt() - rr * a.sqrt())
        dc2.append(rr)
    write_state(os.path.join(outdir, "golden_ddpm.bin"), [
        ("beta", DT_F64, betas), ("alpha_bar", DT_F64, ab),
        ("sqrt_ab", DT_F32, ab.sqrt().float()), ("sqrt_1mab", DT_F32, (1 - ab).sqrt().float()),
        ("ca", DT_F32, rra), ("cb", DT_F32, rrm1), ("c1", DT_F32, c1), ("c2", DT_F32, c2), ("sigma", DT_F32, sig),
        ("ddim_t", DT_I32, torch.tensor(ts)), ("ddim_c1", DT_F32, torch.stack(dc1).float()),
        ("ddim_c2", DT_F32, torch.stack(dc2).float())])


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    gen_ae(outdir)
    gen_unet(outdir)
    gen_ddpm(outdir)


if __name__ == "__main__":
    main()
