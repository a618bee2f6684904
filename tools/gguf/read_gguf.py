#!/usr/bin/env python3
"""Dump what the official `gguf` Python package (gguf-py, pinned 0.17.1) reads from a GGUF file.

Usage:
    python3 tools/gguf/read_gguf.py FILE [--raw-hex] [--no-values]

Prints ONE JSON document on stdout (schema: tools/gguf/README.md).  Tensor values are
gguf.quants.dequantize()d to float32 and written exactly, as the hex of their little-endian f32
bytes ("values_f32_hex").  Exits 1 with a message on stderr if gguf-py cannot read the file (or
cannot dequantize one of its tensors, unless --no-values).

The same dump code is imported by make_fixtures.py to produce tests/fixtures/gguf/*.json
(there the values go to tensors/<name>.f32 files instead of inline hex).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from typing import Any

import numpy as np

import gguf
from gguf import GGUFReader, GGUFValueType, GGMLQuantizationType
from gguf.quants import dequantize

EXPECTED_GGUF_VERSION = "0.17.1"


def _gguf_py_version() -> str:
    try:
        from importlib.metadata import version

        return version("gguf")
    except Exception:  # pragma: no cover
        return "unknown"


# ---------------------------------------------------------------------------------------------
# exact scalar encoding
# ---------------------------------------------------------------------------------------------

def float_json(x: float) -> float | str:
    """A finite float as a JSON number (Python's shortest repr of the exact f64 value, so an f32
    value read as f64 and cast back to f32 is exact); non-finite values as "inf"/"-inf"/"nan"."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _bits_hex(raw: bytes) -> str:
    # raw are the value's bytes as stored in the file (little-endian GGUF)
    return "0x" + raw[::-1].hex()


def _scalar(part: np.ndarray, vtype: GGUFValueType) -> tuple[Any, str | None]:
    """(JSON value, bit pattern hex or None) of a one-element reader part."""
    v = part.tolist()[0]
    if vtype in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
        return float_json(float(v)), _bits_hex(part.tobytes())
    if vtype == GGUFValueType.BOOL:
        return bool(v), None
    return int(v), None


# ---------------------------------------------------------------------------------------------
# metadata: walk ReaderField.parts ourselves.  ReaderField.contents() flattens nested arrays and
# uses the first element's type for all of them, and an empty array has no element type in
# ReaderField.types, so the structure is rebuilt from the parsed parts instead (the parts are
# exactly what gguf-py parsed: [type, count, ...elements] for arrays, [len, bytes] for strings).
# ---------------------------------------------------------------------------------------------

def _walk_value(parts: list[np.ndarray], i: int, vtype: GGUFValueType) -> tuple[dict, int]:
    """Decode one value of type vtype starting at parts[i]; returns (node, next index)."""
    if vtype == GGUFValueType.STRING:
        raw = parts[i + 1].tobytes()
        return {"type": "STRING", "value": raw.decode("utf-8")}, i + 2
    if vtype == GGUFValueType.ARRAY:
        etype = GGUFValueType(int(parts[i][0]))
        count = int(parts[i + 1][0])
        i += 2
        node: dict[str, Any] = {"type": "ARRAY", "element_type": etype.name, "count": count}
        values: list[Any] = []
        bits: list[str] = []
        for _ in range(count):
            child, i = _walk_value(parts, i, etype)
            if etype == GGUFValueType.ARRAY:
                values.append(child)  # nested: list of ARRAY nodes
            else:
                values.append(child["value"])
                if "bits" in child:
                    bits.append(child["bits"])
        node["value"] = values
        if etype in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
            node["bits"] = bits
        return node, i
    value, bits_hex = _scalar(parts[i], vtype)
    node = {"type": vtype.name, "value": value}
    if bits_hex is not None:
        node["bits"] = bits_hex
    return node, i + 1


def _metadata_entry(field) -> dict:
    key = field.parts[1].tobytes().decode("utf-8")
    vtype = GGUFValueType(int(field.parts[2][0]))
    node, end = _walk_value(field.parts, 3, vtype)
    assert end == len(field.parts), (key, end, len(field.parts))
    # cross-check against gguf-py's own accessor where it is meaningful (flat values)
    if vtype != GGUFValueType.ARRAY or (node["count"] > 0 and node["element_type"] != "ARRAY"):
        c = field.contents()
        if vtype == GGUFValueType.ARRAY:
            c = [float_json(float(x)) if isinstance(x, float) else x for x in c]
        elif isinstance(c, float):
            c = float_json(c)
        assert c == node["value"], (key, c, node["value"])
    return {"key": key, **node}


# ---------------------------------------------------------------------------------------------
# whole file
# ---------------------------------------------------------------------------------------------

def read_gguf(path: str, want_values: bool = True) -> tuple[dict, dict[str, np.ndarray | None]]:
    """Returns (document without tensor values, {tensor name: float32 values (flat, ggml element
    order: ne[0] fastest) or None}).  Raises whatever gguf-py raises on a bad file."""
    reader = GGUFReader(path)
    with open(path, "rb") as f:
        file_bytes = f.read()

    doc: dict[str, Any] = {
        "gguf_py_version": _gguf_py_version(),
        "file": os.path.basename(path),
        "file_size": len(file_bytes),
        "file_sha256": hashlib.sha256(file_bytes).hexdigest(),
        "version": int(reader.fields["GGUF.version"].parts[0][0]),
        "tensor_count": int(reader.fields["GGUF.tensor_count"].parts[0][0]),
        "kv_count": int(reader.fields["GGUF.kv_count"].parts[0][0]),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
    }

    metadata = []
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue  # header pseudo-fields
        metadata.append(_metadata_entry(field))
    doc["metadata"] = metadata

    tensors = []
    values: dict[str, np.ndarray | None] = {}
    for t in reader.tensors:
        qtype = GGMLQuantizationType(int(t.tensor_type))
        raw = np.ascontiguousarray(t.data).view(np.uint8).tobytes()
        assert len(raw) == int(t.n_bytes), (t.name, len(raw), t.n_bytes)
        entry: dict[str, Any] = {
            "name": t.name,
            "type": qtype.name,
            "type_id": int(qtype),
            "n_dims": len(t.shape),
            "ne": [int(x) for x in t.shape],  # GGUF order, ne[0] first
            "n_elements": int(t.n_elements),
            "offset": int(t.data_offset) - int(reader.data_offset),  # relative to data section
            "n_bytes": int(t.n_bytes),  # unpadded
            "data_sha256": hashlib.sha256(raw).hexdigest(),
        }
        vals = None
        if want_values:
            try:
                vals = np.asarray(dequantize(t.data, qtype), dtype=np.float32).reshape(-1)
            except NotImplementedError as e:
                entry["dequantize_error"] = str(e)
            else:
                assert vals.size == t.n_elements, (t.name, vals.size, t.n_elements)
        values[t.name] = vals
        tensors.append(entry)
    doc["tensors"] = tensors
    return doc, values


def f32_le_bytes(v: np.ndarray) -> bytes:
    return np.ascontiguousarray(v, dtype="<f4").tobytes()


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    unknown = flags - {"--raw-hex", "--no-values"}
    if len(args) != 1 or unknown:
        print(__doc__, file=sys.stderr)
        return 2
    path = args[0]
    want_values = "--no-values" not in flags
    if _gguf_py_version() != EXPECTED_GGUF_VERSION:
        print(f"warning: gguf-py {_gguf_py_version()} installed, fixtures were made with "
              f"{EXPECTED_GGUF_VERSION}", file=sys.stderr)
    try:
        doc, values = read_gguf(path, want_values)
    except Exception as e:  # gguf-py failed to read it
        print(f"gguf-py failed to read {path}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    for entry in doc["tensors"]:
        v = values[entry["name"]]
        if want_values:
            if v is None:
                print(f"gguf-py cannot dequantize tensor {entry['name']!r} ({entry['type']}): "
                      f"{entry.get('dequantize_error')}", file=sys.stderr)
                return 1
            entry["values_f32_hex"] = f32_le_bytes(v).hex()
        if "--raw-hex" in flags:
            with open(path, "rb") as f:
                f.seek(doc["data_offset"] + entry["offset"])
                entry["data_hex"] = f.read(entry["n_bytes"]).hex()
    sys.stdout.write(dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
