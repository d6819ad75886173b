#!/usr/bin/env python3
"""gen_st_format.py -- writes tests/fixtures/st/format_python.safetensors, the byte-exact reference for
tests/test_safetensors.c: every dtype, a scalar, an empty tensor and __metadata__, encoded from the safetensors
specification with json and struct alone (8-byte little-endian header length, compact JSON header padded with
spaces to a multiple of 8 bytes, the data in the order of the header). Run from the top of the source tree."""
import json
import struct

TENSORS = [
    ("fc.weight", "F32", [2, 3], struct.pack("<6f", 1.0, -2.0, 0.5, 3.25, -0.125, 1e-3)),
    ("fc.bias", "F64", [2], struct.pack("<2d", 0.1, -1e300)),
    ("h", "F16", [3], struct.pack("<3H", 0x3c00, 0x0001, 0xfc00)),
    ("b", "BF16", [2], struct.pack("<2H", 0x3f80, 0xc0a0)),
    ("bn.num_batches_tracked", "I64", [], struct.pack("<q", -7)),
    ("i32", "I32", [2], struct.pack("<2i", -2147483648, 5)),
    ("i16", "I16", [1, 2], struct.pack("<2h", -3, 300)),
    ("i8", "I8", [2], struct.pack("<2b", -128, 127)),
    ("u8", "U8", [2], struct.pack("<2B", 0, 255)),
    ("mask", "BOOL", [3], bytes([1, 0, 1])),
    ("empty", "F32", [0, 4], b""),
]


def main():
    header = {"__metadata__": {"format": "pt", "note": "pdiff format fixture"}}
    off = 0
    for name, dtype, shape, data in TENSORS:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open("tests/fixtures/st/format_python.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in TENSORS))


if __name__ == "__main__":
    main()
