#!/usr/bin/env python3
"""Generate the GGUF test fixtures in tests/fixtures/gguf/ (deterministic).

Usage (from the repository root):
    pip install -r tools/gguf/requirements.txt
    python3 tools/gguf/make_fixtures.py

Valid files are written with gguf-py's GGUFWriter where it can write them, otherwise with the small
hand-rolled byte writer below (which is checked to produce byte-identical output to GGUFWriter on a
file both can write).  Each valid file X.gguf gets X.json = what gguf-py's GGUFReader reads back
(see read_gguf.py), with dequantized tensor values in tensors/<name>.f32 (little-endian f32,
ggml element order, ne[0] fastest).  Malformed files (malformed/*.gguf) are described in
malformed.json; gguf-py's own reaction to each is recorded in malformed_gguf_py.json.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # keep tools/gguf free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import gguf  # noqa: E402
from gguf import GGUFWriter, GGUFValueType as V, GGMLQuantizationType as Q  # noqa: E402
from gguf.constants import GGML_QUANT_SIZES  # noqa: E402
from gguf.quants import quantize  # noqa: E402

import read_gguf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "tests", "fixtures", "gguf")
SEED = 20250607
ARCH = "tritone-test"

F32_MAX = float(np.finfo(np.float32).max)         # 3.4028234663852886e38
F32_TINY = float(np.finfo(np.float32).tiny)       # 1.1754943508222875e-38 (min normal)
F32_SUB = float(np.float32(2.0 ** -149))          # 1.401298464324817e-45 (min subnormal)
F64_MAX = sys.float_info.max
F64_TINY = sys.float_info.min                     # 2.2250738585072014e-308
F64_SUB = 5e-324
INF = float("inf")
NAN = float("nan")


# =============================================================================================
# hand-rolled little-endian GGUF byte writer (for what GGUFWriter refuses to write)
# =============================================================================================

def u32(x: int) -> bytes:
    return struct.pack("<I", x)


def u64(x: int) -> bytes:
    return struct.pack("<Q", x)


def gstr(s: str | bytes) -> bytes:
    b = s.encode("utf-8") if isinstance(s, str) else s
    return u64(len(b)) + b


_PACK = {V.UINT8: "<B", V.INT8: "<b", V.UINT16: "<H", V.INT16: "<h", V.UINT32: "<I",
         V.INT32: "<i", V.FLOAT32: "<f", V.BOOL: "<?", V.UINT64: "<Q", V.INT64: "<q",
         V.FLOAT64: "<d"}


def enc_value(vtype: V, v, elem: V | None = None) -> bytes:
    """Value bytes (without the leading value-type u32).  For arrays, `elem` is the element type;
    nested arrays are given as (elem_type, list) tuples."""
    if vtype == V.STRING:
        return gstr(v)
    if vtype == V.ARRAY:
        assert elem is not None
        out = u32(elem) + u64(len(v))
        for x in v:
            if elem == V.ARRAY:
                sub_elem, sub_v = x
                out += enc_value(V.ARRAY, sub_v, sub_elem)
            else:
                out += enc_value(elem, x)
        return out
    return struct.pack(_PACK[vtype], v)


def kv(key: str, vtype: V | int, v=None, elem: V | None = None, raw: bytes | None = None) -> bytes:
    payload = raw if raw is not None else enc_value(V(vtype), v, elem)
    return gstr(key) + u32(int(vtype)) + payload


def tinfo(name: str | bytes, ne: list[int], ggml_type: int, offset: int, n_dims: int | None = None) -> bytes:
    out = gstr(name) + u32(len(ne) if n_dims is None else n_dims)
    for d in ne:
        out += u64(d)
    return out + u32(ggml_type) + u64(offset)


def pad_to(n: int, align: int) -> int:
    return n if align <= 0 else (n + align - 1) // align * align


def gguf_bytes(kvs: list[bytes], tinfos: list[bytes], data: bytes = b"", *, magic: bytes = b"GGUF",
               version: int = 3, n_tensors: int | None = None, n_kv: int | None = None,
               alignment: int = 32) -> bytes:
    head = magic + u32(version) + u64(len(tinfos) if n_tensors is None else n_tensors) \
        + u64(len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tinfos)
    body += b"\0" * (pad_to(len(body), alignment) - len(body))
    return body + data


def padded(data: bytes, align: int = 32) -> bytes:
    return data + b"\0" * (pad_to(len(data), align) - len(data))


# =============================================================================================
# helpers
# =============================================================================================

def write_file(rel: str, data: bytes) -> str:
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


TENSOR_NAMES_SEEN: set[str] = set()


def write_json_for(gguf_path: str, writer: str, note: str | None = None) -> dict:
    """Read gguf_path back with gguf-py, write <stem>.json and tensors/<name>.f32."""
    doc, values = read_gguf.read_gguf(gguf_path)
    doc = {"writer": writer, **({"note": note} if note else {}), **doc}
    for entry in doc["tensors"]:
        name = entry["name"]
        assert name not in TENSOR_NAMES_SEEN, f"tensor name {name} reused across fixtures"
        TENSOR_NAMES_SEEN.add(name)
        v = values[name]
        assert v is not None, f"gguf-py cannot dequantize {name}"
        rel = f"tensors/{name}.f32"
        write_file(rel, read_gguf.f32_le_bytes(v))
        entry["values_file"] = rel
    stem = os.path.splitext(os.path.basename(gguf_path))[0]
    with open(os.path.join(OUT, stem + ".json"), "w", encoding="utf-8") as f:
        f.write(read_gguf.dumps(doc))
    return doc


def write_with_gguf_writer(w: GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def random_k_blocks(qtype: Q, n_rows: int, n_per_row: int, rng: np.random.Generator) -> np.ndarray:
    """Random raw blocks for a type gguf-py cannot quantize (Q2_K, Q4_K): random bytes, with the
    fp16 super-block scales d/dmin overwritten by small positive finite values so every block
    decodes to finite numbers."""
    block, size = GGML_QUANT_SIZES[qtype]
    n_blocks = n_rows * n_per_row // block
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.05, size=(n_blocks, 2)).astype(np.float16).view(np.uint8)
    if qtype == Q.Q2_K:    # uint8 scales[16]; uint8 qs[64]; half d; half dmin
        raw[:, 80:84] = scales
    elif qtype == Q.Q4_K:  # half d; half dmin; uint8 scales[12]; uint8 qs[128]
        raw[:, 0:4] = scales
    else:
        raise ValueError(qtype)
    return raw.reshape(n_rows, n_per_row // block * size)


# =============================================================================================
# valid fixtures
# =============================================================================================

SCALARS = [
    ("test.uint8", 255, V.UINT8),
    ("test.uint8_zero", 0, V.UINT8),
    ("test.int8_min", -128, V.INT8),
    ("test.int8_max", 127, V.INT8),
    ("test.uint16", 65535, V.UINT16),
    ("test.int16_min", -32768, V.INT16),
    ("test.int16_max", 32767, V.INT16),
    ("test.uint32", 4294967295, V.UINT32),
    ("test.int32_min", -2**31, V.INT32),
    ("test.int32_max", 2**31 - 1, V.INT32),
    ("test.float32", float(np.float32(3.14159)), V.FLOAT32),
    ("test.float32_max", F32_MAX, V.FLOAT32),
    ("test.float32_lowest", -F32_MAX, V.FLOAT32),
    ("test.float32_min_normal", F32_TINY, V.FLOAT32),
    ("test.float32_min_subnormal", F32_SUB, V.FLOAT32),
    ("test.float32_neg_zero", -0.0, V.FLOAT32),
    ("test.float32_neg_inf", -INF, V.FLOAT32),
    ("test.float32_nan", NAN, V.FLOAT32),
    ("test.bool_true", True, V.BOOL),
    ("test.bool_false", False, V.BOOL),
    ("test.string", "tritone", V.STRING),
    ("test.string_utf8", "h\u00e9llo w\u00f6rld \u2013 \u65e5\u672c\u8a9e \U0001F3B5", V.STRING),
    ("test.string_empty", "", V.STRING),
    ("test.string_nul", "a\u0000b", V.STRING),
    ("test.uint64_max", 2**64 - 1, V.UINT64),
    ("test.uint64_zero", 0, V.UINT64),
    ("test.int64_min", -2**63, V.INT64),
    ("test.int64_max", 2**63 - 1, V.INT64),
    ("test.float64", 0.1, V.FLOAT64),
    ("test.float64_max", F64_MAX, V.FLOAT64),
    ("test.float64_lowest", -F64_MAX, V.FLOAT64),
    ("test.float64_min_normal", F64_TINY, V.FLOAT64),
    ("test.float64_min_subnormal", F64_SUB, V.FLOAT64),
    ("test.float64_neg_zero", -0.0, V.FLOAT64),
    ("test.float64_inf", INF, V.FLOAT64),
    ("test.float64_nan", NAN, V.FLOAT64),
]

ARRAYS = [
    ("test.array.uint8", [0, 1, 127, 255], V.UINT8),
    ("test.array.int8", [-128, -1, 0, 127], V.INT8),
    ("test.array.uint16", [0, 1, 65535], V.UINT16),
    ("test.array.int16", [-32768, 0, 32767], V.INT16),
    ("test.array.uint32", [0, 1, 4294967295], V.UINT32),
    ("test.array.int32", [-2**31, -1, 0, 1, 2**31 - 1], V.INT32),
    ("test.array.float32", [1.5, -0.0, F32_MAX, F32_SUB, -INF, INF, NAN], V.FLOAT32),
    ("test.array.bool", [True, False, True], V.BOOL),
    ("test.array.string", ["a", "", "\u00fc\u65e5\U0001F3B5", "tritone"], V.STRING),
    ("test.array.uint64", [0, 1, 2**64 - 1], V.UINT64),
    ("test.array.int64", [-2**63, -1, 0, 2**63 - 1], V.INT64),
    ("test.array.float64", [0.1, -0.0, F64_MAX, F64_SUB, -INF, INF, NAN], V.FLOAT64),
    ("test.array.one", [42], V.INT32),
]

# (name, type, numpy shape = reversed ne, how)
ALL_TYPES_TENSORS = [
    ("f32_2d", Q.F32, (2, 256)),
    ("f16_2d", Q.F16, (2, 256)),
    ("bf16_2d", Q.BF16, (2, 256)),
    ("q8_0_2d", Q.Q8_0, (2, 256)),
    ("q4_0_2d", Q.Q4_0, (2, 256)),
    ("q5_0_2d", Q.Q5_0, (2, 256)),
    ("q2_k_2d", Q.Q2_K, (2, 256)),
    ("q4_k_2d", Q.Q4_K, (2, 512)),
    ("tq1_0_2d", Q.TQ1_0, (2, 512)),
    ("tq2_0_2d", Q.TQ2_0, (3, 256)),
    ("f32_1d_odd", Q.F32, (13,)),
    ("f32_3d_odd", Q.F32, (2, 3, 5)),      # ne = [5, 3, 2]
    ("f16_4d_odd", Q.F16, (3, 1, 5, 3)),   # ne = [3, 5, 1, 3]
]

# special values placed at the start of some tensors (exact in f16 and f32)
SPECIALS = [0.0, -0.0, 1.0, -2.0, 65504.0, -65504.0, 2.0 ** -24, 2.0 ** -14, INF, -INF, NAN]


def make_all_types(rng: np.random.Generator) -> None:
    path = os.path.join(OUT, "all_types.gguf")
    w = GGUFWriter(path, ARCH)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_name("tritone gguf fixture: all value and tensor types")
    for key, val, vt in SCALARS:
        # add_key_value, not add_string: GGUFWriter.add_string silently drops empty strings
        w.add_key_value(key, val, vt)
    for key, val, vt in ARRAYS:
        w.add_key_value(key, val, V.ARRAY, sub_type=vt)

    for name, qt, shape in ALL_TYPES_TENSORS:
        x = rng.standard_normal(size=shape).astype(np.float32)
        if name in ("f32_1d_odd", "f16_4d_odd"):
            x.reshape(-1)[: len(SPECIALS)] = SPECIALS
        if qt in (Q.Q2_K, Q.Q4_K):
            data = random_k_blocks(qt, shape[0], shape[1], rng)
        else:
            data = quantize(x, qt)
        if qt in (Q.F32, Q.F16):
            w.add_tensor(name, data)  # dtype-inferred F32 / F16
        else:
            w.add_tensor(name, data, raw_dtype=qt)
    write_with_gguf_writer(w)
    write_json_for(path, "gguf-py GGUFWriter")


def make_aligned(rng: np.random.Generator, alignment: int, prefix: str) -> None:
    path = os.path.join(OUT, f"align{alignment}.gguf")
    w = GGUFWriter(path, ARCH)
    w.add_custom_alignment(alignment)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_key_value("test.odd_string", "xyz", V.STRING)  # makes the header length odd
    w.add_tensor(f"{prefix}.f32_odd", rng.standard_normal(size=(3,)).astype(np.float32))
    w.add_tensor(f"{prefix}.q8_0", quantize(rng.standard_normal(size=(3, 32)).astype(np.float32), Q.Q8_0),
                 raw_dtype=Q.Q8_0)
    w.add_tensor(f"{prefix}.f16", rng.standard_normal(size=(7, 5)).astype(np.float16))
    w.add_tensor(f"{prefix}.tq2_0", quantize(rng.standard_normal(size=(1, 256)).astype(np.float32), Q.TQ2_0),
                 raw_dtype=Q.TQ2_0)
    write_with_gguf_writer(w)
    write_json_for(path, "gguf-py GGUFWriter")


def make_nested_array() -> None:
    # GGUFWriter CAN write arrays of arrays (inner element types are inferred per inner array:
    # Python int -> INT32, float -> FLOAT32, str -> STRING, list -> ARRAY; no empty inner arrays).
    # Kept out of all_types.gguf because ggml's gguf.cpp rejects ARRAY-of-ARRAY
    # ("key '...' has invalid GGUF type 9"), so a file containing one is not ggml-loadable.
    path = os.path.join(OUT, "nested_array.gguf")
    w = GGUFWriter(path, ARCH)
    w.add_key_value("test.nested.int32", [[1, 2, 3], [4, 5], [6]], V.ARRAY)
    w.add_key_value("test.nested.string", [["a", "bc"], ["\u65e5\u672c"]], V.ARRAY)
    w.add_key_value("test.nested.float32", [[0.5, -1.25], [2.0]], V.ARRAY)
    w.add_key_value("test.nested.depth3", [[[1], [2, 3]], [[4, 5, 6]]], V.ARRAY)
    w.add_key_value("test.nested.mixed", [[1, 2], ["x", "y"]], V.ARRAY)  # inner types differ
    w.add_key_value("test.after_nested", 7, V.UINT32)  # checks the reader resumes correctly
    write_with_gguf_writer(w)
    write_json_for(path, "gguf-py GGUFWriter",
                   note="array-of-array metadata; ggml's gguf.cpp refuses to load this file")


def make_empty_array() -> None:
    # GGUFWriter refuses empty arrays (add_array drops them silently, add_key_value raises
    # "Invalid GGUF metadata array. Empty array"), so this one is hand-rolled.  Zero tensors.
    kvs = [
        kv("general.architecture", V.STRING, ARCH),
        kv("test.empty.uint8", V.ARRAY, [], V.UINT8),
        kv("test.empty.int32", V.ARRAY, [], V.INT32),
        kv("test.empty.float32", V.ARRAY, [], V.FLOAT32),
        kv("test.empty.string", V.ARRAY, [], V.STRING),
        kv("test.after_empty", V.UINT32, 7),
    ]
    path = write_file("empty_array.gguf", gguf_bytes(kvs, []))
    write_json_for(path, "hand-rolled (tools/gguf/make_fixtures.py)",
                   note="empty metadata arrays (GGUFWriter cannot write them); no tensors")


def minimal_parts(arch: str = ARCH):
    """Shared base of the minimal valid file and of most malformed files: one KV and one F32 tensor
    't' with ne=[4] = [1, 2, 3, 4]."""
    kvs = [kv("general.architecture", V.STRING, arch)]
    data = np.array([1, 2, 3, 4], dtype="<f4").tobytes()
    return kvs, data


def make_minimal() -> None:
    kvs, data = minimal_parts()
    raw = gguf_bytes(kvs, [tinfo("minimal.t", [4], Q.F32, 0)], padded(data))
    path = write_file("minimal.gguf", raw)
    # validate the hand-rolled writer against GGUFWriter on the same content
    check = os.path.join(OUT, "_check.gguf")
    w = GGUFWriter(check, ARCH)
    w.add_tensor("minimal.t", np.frombuffer(data, dtype="<f4").copy())
    write_with_gguf_writer(w)
    with open(check, "rb") as f:
        same = f.read() == raw
    os.remove(check)
    assert same, "hand-rolled writer differs from GGUFWriter"
    write_json_for(path, "hand-rolled (tools/gguf/make_fixtures.py), byte-identical to GGUFWriter")


# =============================================================================================
# malformed fixtures
# =============================================================================================

def make_malformed() -> dict[str, str]:
    out: dict[str, str] = {}

    def add(name: str, raw: bytes, why: str) -> None:
        write_file(f"malformed/{name}", raw)
        out[f"malformed/{name}"] = why

    kvs, data = minimal_parts()
    ti = [tinfo("t", [4], Q.F32, 0)]
    good = gguf_bytes(kvs, ti, padded(data))
    arch_kv_prefix = gstr("general.architecture") + u32(V.STRING)

    add("empty.gguf", b"", "empty file (0 bytes): no magic")
    add("bad_magic.gguf", b"GGML" + good[4:], "bad magic: 'GGML' instead of 'GGUF'")
    add("version_1.gguf", gguf_bytes(kvs, ti, padded(data), version=1),
        "GGUF version 1 (unsupported; ggml and gguf-py reject v1)")
    add("version_4.gguf", gguf_bytes(kvs, ti, padded(data), version=4),
        "GGUF version 4 (newer than the supported version 3)")
    add("truncated_header.gguf", good[:12], "truncated header: file ends inside tensor_count (12 bytes)")
    add("truncated_in_string.gguf",
        gguf_bytes([arch_kv_prefix + u64(12) + b"tritone"], [], alignment=0),
        "truncated in the middle of a metadata string: length 12, only 7 bytes before EOF")
    add("tensor_count_huge.gguf", gguf_bytes(kvs, ti, padded(data), n_tensors=2**60),
        "tensor_count = 2^60 (file holds 1 tensor info); must fail without huge allocation")
    add("kv_count_huge.gguf", gguf_bytes(kvs, ti, padded(data), n_kv=2**60),
        "metadata kv_count = 2^60 (file holds 1 KV); must fail without huge allocation")
    add("string_len_huge.gguf",
        gguf_bytes([arch_kv_prefix + u64(2**63) + ARCH.encode()], ti, padded(data)),
        "metadata string length = 2^63; must fail without huge allocation")
    add("array_count_huge.gguf",
        gguf_bytes(kvs + [kv("test.big", V.ARRAY, raw=u32(V.UINT8) + u64(2**60) + b"\1\2\3")], ti,
                   padded(data)),
        "metadata array (UINT8) count = 2^60 but only 3 bytes follow; must fail without huge allocation")
    add("tensor_offset_past_eof.gguf", gguf_bytes(kvs, [tinfo("t", [4], Q.F32, 1 << 20)], padded(data)),
        "tensor data offset 1 MiB (aligned) lies past the end of the file")
    add("tensor_data_truncated.gguf", gguf_bytes(kvs, ti, data[:8]),
        "file ends inside the tensor data: F32 ne=[4] needs 16 bytes, 8 present")
    add("unknown_ggml_type.gguf", gguf_bytes(kvs, [tinfo("t", [4], 200, 0)], padded(data)),
        "tensor has unknown ggml type id 200")
    add("unknown_kv_type.gguf", gguf_bytes(kvs + [kv("test.bad", 13, raw=u32(0))], ti, padded(data)),
        "metadata value type id 13 is unknown (valid: 0..12)")
    two = [tinfo("t", [4], Q.F32, 0), tinfo("u", [4], Q.F32, 16)]
    add("misaligned_offset.gguf", gguf_bytes(kvs, two, data + data),
        "second tensor offset 16 is not a multiple of the alignment (32)")
    add("alignment_zero.gguf",
        gguf_bytes(kvs + [kv("general.alignment", V.UINT32, 0)], ti, data, alignment=0),
        "general.alignment = 0")
    add("alignment_48.gguf",
        gguf_bytes(kvs + [kv("general.alignment", V.UINT32, 48)], ti, padded(data, 48), alignment=48),
        "general.alignment = 48 is not a power of two")
    add("alignment_u64.gguf",
        gguf_bytes(kvs + [kv("general.alignment", V.UINT64, 32)], ti, padded(data)),
        "general.alignment has type UINT64 (must be UINT32)")
    add("n_dims_5.gguf", gguf_bytes(kvs, [tinfo("t", [4, 1, 1, 1, 1], Q.F32, 0)], padded(data)),
        "tensor n_dims = 5 (max 4)")
    add("dims_overflow.gguf", gguf_bytes(kvs, [tinfo("t", [2**32, 2**32, 2], Q.F32, 0)], padded(data)),
        "tensor dims [2^32, 2^32, 2]: element count overflows u64")
    add("nbytes_overflow.gguf", gguf_bytes(kvs, [tinfo("t", [2**31, 2**31], Q.F32, 0)], padded(data)),
        "tensor F32 dims [2^31, 2^31]: 2^62 elements fit u64 but the byte size 2^64 does not")
    add("dim_over_i64_max.gguf", gguf_bytes(kvs, [tinfo("t", [2**63], Q.F32, 0)], padded(data)),
        "tensor dim 2^63 > INT64_MAX (ggml stores ne as int64)")
    add("ne0_not_block_multiple.gguf",
        gguf_bytes(kvs, [tinfo("t", [33, 1], Q.Q8_0, 0)], padded(b"\0" * 64, 32)),
        "Q8_0 tensor with ne[0] = 33, not a multiple of the block size 32")
    add("duplicate_key.gguf",
        gguf_bytes(kvs + [kv("general.architecture", V.STRING, "other")], ti, padded(data)),
        "metadata key 'general.architecture' appears twice")
    add("duplicate_tensor_name.gguf", gguf_bytes(kvs, [tinfo("t", [4], Q.F32, 0), tinfo("t", [4], Q.F32, 32)],
                                                 padded(data) + padded(data)),
        "tensor name 't' appears twice")
    add("tensor_name_too_long.gguf", gguf_bytes(kvs, [tinfo("n" * 64, [4], Q.F32, 0)], padded(data)),
        "tensor name is 64 bytes; ggml requires < 64 (GGML_MAX_NAME incl. NUL)")
    add("invalid_utf8_string.gguf",
        gguf_bytes(kvs + [kv("test.bad_utf8", V.STRING, raw=u64(2) + b"\xff\xfe")], ti, padded(data)),
        "metadata string value is not valid UTF-8 (bytes ff fe)")
    add("bool_value_2.gguf",
        gguf_bytes(kvs + [kv("test.bool", V.BOOL, raw=b"\x02")], ti, padded(data)),
        "BOOL metadata value byte is 2 (only 0 and 1 are valid)")
    depth = 1000
    deep = b"".join(u32(V.ARRAY) + u64(1) for _ in range(depth - 1)) + u32(V.UINT32) + u64(1) + u32(7)
    add("nested_too_deep.gguf", gguf_bytes(kvs + [kv("test.deep", V.ARRAY, raw=deep)], ti, padded(data)),
        f"metadata arrays nested {depth} deep (otherwise well formed); must be refused by a depth limit, "
        "not overflow the stack")
    return out


def gguf_py_behaviour(files: list[str]) -> dict[str, str]:
    """What gguf-py's reader (via read_gguf.py) does with each file: 'accepted' or the error."""
    res: dict[str, str] = {}
    for rel in files:
        try:
            p = subprocess.run([sys.executable, "-B", os.path.join(HERE, "read_gguf.py"), os.path.join(OUT, rel)],
                               capture_output=True, text=True, timeout=15)
            if p.returncode == 0:
                res[rel] = "accepted"
            else:
                lines = [ln for ln in p.stderr.strip().splitlines() if ln.startswith("gguf-py")]
                msg = lines[-1] if lines else p.stderr.strip().splitlines()[-1]
                res[rel] = "error: " + msg.split(": ", 1)[1] if ": " in msg else msg
        except subprocess.TimeoutExpired:
            res[rel] = "no result within 15 s (killed)"
    return res


def clean_output() -> None:
    """Remove previously generated files (only ours, only in tests/fixtures/gguf)."""
    if not os.path.isdir(OUT):
        return
    for root, _dirs, files in os.walk(OUT, topdown=False):
        for fn in files:
            if fn.endswith((".gguf", ".json", ".f32")):
                os.remove(os.path.join(root, fn))
        if root != OUT and not os.listdir(root):
            os.rmdir(root)


def main() -> int:
    if read_gguf._gguf_py_version() != read_gguf.EXPECTED_GGUF_VERSION:
        print(f"error: need gguf=={read_gguf.EXPECTED_GGUF_VERSION} "
              f"(pip install -r tools/gguf/requirements.txt)", file=sys.stderr)
        return 1
    clean_output()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    make_all_types(rng)
    make_aligned(rng, 64, "a64")
    make_aligned(rng, 1, "a1")
    make_nested_array()
    make_empty_array()
    make_minimal()
    malformed = make_malformed()
    with open(os.path.join(OUT, "malformed.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(malformed, indent=1) + "\n")
    behaviour = gguf_py_behaviour(list(malformed))
    with open(os.path.join(OUT, "malformed_gguf_py.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"gguf_py_version": read_gguf._gguf_py_version(),
                            "note": "informational: how read_gguf.py reacts (gguf-py's GGUFReader, then UTF-8 "
                                    "decoding of metadata strings as ReaderField.contents() does, then "
                                    "gguf.quants.dequantize); gguf-py validates little, so 'accepted' "
                                    "does not mean valid",
                            "results": behaviour}, indent=1) + "\n")
    total = sum(os.path.getsize(os.path.join(r, fn)) for r, _d, fs in os.walk(OUT) for fn in fs)
    print(f"wrote fixtures to {os.path.relpath(OUT, REPO)} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
