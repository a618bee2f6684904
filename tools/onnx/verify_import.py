"""Checks `tritone convert --onnx` against an independent dequantization of kokoro-onnx's int8 file.

The Rust importer finds each weight's scale by walking the graph from the op that consumes it and
names tensors by matching module scopes against the model's names. This script takes the other
road: ONNX Runtime's quantizer names a weight `W_quantized` and stores its scale and zero point as
`W_scale` / `W_zero_point`, and a fixed table maps the export's scopes to checkpoint prefixes.
Every tensor of the converted GGUF (F32) must equal the value computed here to f32 rounding.

    target/pyenv/bin/python tools/onnx/verify_import.py --onnx target/real/kokoro-v1.0.int8.onnx \
        --gguf target/real/kokoro-f32.gguf
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
from gguf import GGUFReader

# Scope prefix of the export → checkpoint prefix. kokoro-onnx's wrapper puts the predictor's
# F0/N stacks and the shared LSTM directly under /encoder/.
SCOPES = [
    ("encoder.bert_encoder", "bert_encoder"),
    ("encoder.bert", "bert"),
    ("encoder.predictor", "predictor"),
    ("encoder.text_encoder", "text_encoder"),
    ("encoder.shared", "predictor.shared"),
    ("encoder.F0_proj", "predictor.F0_proj"),
    ("encoder.N_proj", "predictor.N_proj"),
    ("encoder.F0.", "predictor.F0."),
    ("encoder.N.", "predictor.N."),
    ("decoder.decoder", "decoder"),
]


def checkpoint_name(scope_path):
    for onnx_prefix, torch_prefix in SCOPES:
        if scope_path.startswith(onnx_prefix):
            return torch_prefix + scope_path[len(onnx_prefix):]
    return None


def scope(node_name):
    parts = [p for p in node_name.split("/") if p][:-1]
    out = []
    for p in parts:
        if out and p.startswith(out[-1] + "."):
            out.pop()
        out.append(p)
    return ".".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--tritone", help="also check that broken files are refused with every problem named")
    args = ap.parse_args()

    model = onnx.load(args.onnx)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    expected = {}

    def dq(base, axis_shape, zero_point):
        # The zero point is the node's own input: ONNX Runtime merges equal initializers, so a
        # layer's `W_zero_point` may be another layer's (equal) one.
        q = inits[base + "_quantized"].astype(np.int64)
        s = inits[base + "_scale"].astype(np.float32)
        z = inits[zero_point].astype(np.int64) if zero_point else np.zeros((), np.int64)
        return ((q - z.reshape(axis_shape)).astype(np.float32) * s.reshape(axis_shape)).astype(np.float32)

    for node in model.graph.node:
        path = checkpoint_name(scope(node.name))
        op = node.op_type
        if path is None:
            continue
        w = node.input[1] if len(node.input) > 1 else ""
        if op == "MatMulInteger" and w.endswith("_quantized"):
            b = dq(w[: -len("_quantized")], (1, -1), node.input[3])  # [in, out], per output column
            expected.setdefault(path + ".weight", b.T)
        elif op == "ConvInteger" and w.endswith("_quantized"):
            expected.setdefault(path + ".weight", dq(w[: -len("_quantized")], (-1, 1, 1), node.input[3]))
        elif op in ("ConvTranspose", "Conv") and w in inits:
            expected.setdefault(path + ".weight", inits[w])
        elif op == "MatMul" and w in inits and inits[w].ndim == 2:
            expected.setdefault(path + ".weight", inits[w].T)
        elif op == "Gather" and node.input[0].endswith("_quantized"):
            dequantize = next(c for c in model.graph.node if c.op_type == "DequantizeLinear" and c.input[0] == node.output[0])
            expected.setdefault(path + ".weight", dq(node.input[0][: -len("_quantized")], (), dequantize.input[2]))
        elif op == "DynamicQuantizeLSTM":
            W = dq(node.input[1][: -len("_quantized")], (-1, 1, 1), node.input[9])  # [dir, in, 4H]
            R = dq(node.input[2][: -len("_quantized")], (-1, 1, 1), node.input[11])
            B = inits[node.input[3]]
            H = R.shape[1]
            order = np.concatenate([np.arange(g * H, (g + 1) * H) for g in (0, 2, 3, 1)])  # iofc → ifgo
            for d, suffix in enumerate(["", "_reverse"][: W.shape[0]]):
                expected[f"{path}.weight_ih_l0{suffix}"] = W[d].T[order]
                expected[f"{path}.weight_hh_l0{suffix}"] = R[d].T[order]
                expected[f"{path}.bias_ih_l0{suffix}"] = B[d, : 4 * H][order]
                expected[f"{path}.bias_hh_l0{suffix}"] = B[d, 4 * H :][order]
    for name, value in inits.items():
        if value.dtype == np.float32 and (name.startswith("encoder.") or name.startswith("decoder.decoder.")):
            torch_name = checkpoint_name(name)
            if torch_name and torch_name not in expected:
                expected[torch_name] = value

    reader = GGUFReader(args.gguf)
    checked = exact = 0
    problems = []
    for t in reader.tensors:
        if t.name.startswith("voices."):
            continue
        if t.tensor_type != 0:
            sys.exit(f"{t.name}: not F32 (type {t.tensor_type}); convert with --dtype f32 for this check")
        got = np.asarray(t.data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])
        want = expected.get(t.name)
        if want is None:
            problems.append(f"{t.name}: no independent value")
            continue
        want = np.asarray(want, np.float32).reshape(got.shape) if want.size == got.size else want
        if want.shape != got.shape:
            problems.append(f"{t.name}: shape {got.shape}, expected {want.shape}")
            continue
        checked += 1
        diff = np.abs(got - want)
        tol = np.abs(want) * 2.0**-23 + 1e-30
        if (diff > tol).any():
            i = int(np.argmax(diff - tol))
            problems.append(f"{t.name}: {int((diff > tol).sum())} values differ, worst {got.flat[i]} vs {want.flat[i]}")
        elif (diff == 0).all():
            exact += 1
    print(f"{checked} tensors checked, {exact} bit-identical, {len(problems)} problems")
    for p in problems:
        print("  " + p)
    if args.tritone:
        problems += broken_files(args.tritone, args.onnx, model)
    sys.exit(1 if problems or checked < 400 else 0)


def broken_files(tritone, onnx_path, model):
    """`tritone convert --onnx` on damaged copies: each must fail with a message naming the damage."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        voices = os.path.join(os.path.dirname(onnx_path), "voices_ja.npz")

        def convert(path, expect):
            r = subprocess.run([tritone, "convert", "--onnx", path, "--voices", voices, "--out", os.path.join(tmp, "x.gguf")],
                               capture_output=True, text=True)
            ok = r.returncode != 0 and all(e in r.stderr for e in expect) and "panicked" not in r.stderr
            print(f"  {os.path.basename(path)}: {'refused as expected' if ok else 'NOT AS EXPECTED'}: {r.stderr.strip().splitlines()[-1][:160] if r.stderr.strip() else r.stdout.strip()}")
            if not ok:
                problems.append(f"{os.path.basename(path)}: exit {r.returncode}, expected {expect}, got: {r.stderr[-2000:]}")

        data = open(onnx_path, "rb").read()
        truncated = os.path.join(tmp, "truncated.onnx")
        open(truncated, "wb").write(data[: len(data) // 3])
        convert(truncated, ["ONNX"])

        # Two weights gone: one conv (its initializer) and one LSTM (the whole node).
        broken = onnx.ModelProto()
        broken.CopyFrom(model)
        conv = next(n for n in broken.graph.node if n.name == "/decoder/decoder/generator/conv_post/Conv")
        lstm = next(n for n in broken.graph.node if n.name == "/encoder/predictor/lstm/LSTM_quant")
        broken.graph.node.remove(lstm)
        gone = [i for i in broken.graph.initializer if i.name == conv.input[1]][0]
        broken.graph.initializer.remove(gone)
        missing = os.path.join(tmp, "missing.onnx")
        onnx.save(broken, missing)
        convert(missing, ["decoder.generator.conv_post.weight", "predictor.lstm.weight_ih_l0", "predictor.lstm.bias_hh_l0_reverse"])

        other = onnx.helper.make_model(onnx.helper.make_graph(
            [onnx.helper.make_node("Conv", ["x", "w"], ["y"], name="/net/conv/Conv")], "other",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, 4])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 1, 4])],
            [numpy_helper.from_array(np.ones((1, 1, 1), np.float32), "w")]))
        other_path = os.path.join(tmp, "other.onnx")
        onnx.save(other, other_path)
        convert(other_path, ["not a Kokoro export"])
    return problems


if __name__ == "__main__":
    main()
