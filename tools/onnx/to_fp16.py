"""Writes an fp16 copy of an fp32 ONNX export, the way kokoro-onnx's `kokoro-v1.0.fp16.onnx` is made
(onnxconverter-common's float16 conversion, inputs and outputs kept fp32), so `tritone convert
--onnx` is tested on fp16 initializers read through Cast nodes. Runs in target/refenv.

    target/refenv/bin/python tools/onnx/to_fp16.py IN.onnx OUT.onnx
"""

import sys

import onnx
from onnxconverter_common import float16


def main():
    src, dst = sys.argv[1], sys.argv[2]
    model = onnx.load(src)
    # Ops whose fp16 kernels onnxruntime lacks or that lose range stay fp32, as in common recipes.
    half = float16.convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    onnx.save(half, dst)
    kinds = {}
    for t in half.graph.initializer:
        kinds[t.data_type] = kinds.get(t.data_type, 0) + 1
    print(f"{dst}: initializers by ONNX data type {kinds} (10 = float16)")


if __name__ == "__main__":
    main()
