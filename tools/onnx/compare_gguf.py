"""Compares two tritone GGUFs tensor by tensor (same names, shapes, values within a tolerance).

Used on the fp32 ONNX export made from the real weights (tools/reference/export_onnx.py): converted
back with `tritone convert --onnx`, it must give the weights it was made from. The export recomputes
weight norm (g·v/‖v‖ from g = ‖W‖, v = W), so values differ by f32 rounding, not more.

    target/pyenv/bin/python tools/onnx/compare_gguf.py A.gguf B.gguf [--rtol 2e-6]
"""

import argparse
import sys

import numpy as np
from gguf import GGUFReader


def tensors(path):
    return {t.name: np.asarray(t.data, np.float32).reshape([int(d) for d in reversed(t.shape)]) for t in GGUFReader(path).tensors}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=2e-6, help="per tensor: max |a − b| / max |b|")
    args = ap.parse_args()
    a, b = tensors(args.a), tensors(args.b)
    problems = [f"only in {args.a}: {n}" for n in sorted(a.keys() - b.keys())] + [f"only in {args.b}: {n}" for n in sorted(b.keys() - a.keys())]
    worst, identical = (0.0, ""), 0
    for name in sorted(a.keys() & b.keys()):
        x, y = a[name], b[name]
        if x.shape != y.shape:
            problems.append(f"{name}: shape {x.shape} vs {y.shape}")
            continue
        scale = float(np.abs(y).max()) or 1.0
        rel = float(np.abs(x - y).max()) / scale
        identical += rel == 0.0
        worst = max(worst, (rel, name))
        if rel > args.rtol:
            problems.append(f"{name}: max |a − b| / max |b| = {rel:.2e}")
    print(f"{len(a.keys() & b.keys())} tensors compared, {identical} identical, worst {worst[0]:.2e} ({worst[1]}), {len(problems)} problems")
    for p in problems:
        print("  " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
