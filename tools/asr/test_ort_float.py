"""ort_float's rewrite on small graphs made here: a dynamically quantized MatMul, Conv and LSTM
(as onnxruntime's quantize_dynamic writes them) must become the float op on the dequantized
weights, exactly, and stay close to the int8 result. Also the duration-chain finder.

Run: target/asrenv/bin/python -m unittest discover -s tools/asr -p 'test_*.py'
"""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover
    onnx = None


def _run(model, feeds):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    s = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def _model(nodes, inits, inputs, outputs, ms_domain=False):
    g = helper.make_graph(nodes, "t", inputs, outputs, initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    ops = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if ms_domain else [])
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 8
    return m


@unittest.skipIf(onnx is None, "onnx/onnxruntime not installed")
class OrtFloatTest(unittest.TestCase):
    def setUp(self):
        import ort_float

        self.ort_float = ort_float
        self.rng = np.random.default_rng(3)

    def test_matmul_integer(self):
        x = self.rng.standard_normal((4, 16)).astype(np.float32)
        wq = self.rng.integers(-127, 128, (16, 8)).astype(np.int8)
        wzp = np.zeros(8, np.int8)
        wscale = (self.rng.random(8) * 0.01 + 0.001).astype(np.float32)
        bias = self.rng.standard_normal(8).astype(np.float32)
        nodes = [
            helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
            helper.make_node("MatMulInteger", ["xq", "wq", "xz", "wzp"], ["mi"]),
            helper.make_node("Cast", ["mi"], ["mf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["xs", "wscale"], ["sc"]),
            helper.make_node("Mul", ["mf", "sc"], ["y0"]),
            helper.make_node("Add", ["y0", "bias"], ["y"]),
        ]
        m = _model(nodes, {"wq": wq, "wzp": wzp, "wscale": wscale, "bias": bias},
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        want = x @ (wq.astype(np.float32) * wscale) + bias
        (y_int8,) = _run(m, {"x": x})
        (y_float,) = _run(self.ort_float.dequantized_model(m), {"x": x})
        np.testing.assert_allclose(y_float, want, rtol=1e-5, atol=1e-5)
        # int8 activations: close but not equal
        self.assertLess(np.abs(y_int8 - want).max(), 0.05 * np.abs(want).max())
        self.assertGreater(np.abs(y_int8 - want).max(), 1e-6)

    def test_conv_integer_with_runtime_bias(self):
        x = self.rng.standard_normal((1, 3, 20)).astype(np.float32)
        wq = self.rng.integers(0, 256, (5, 3, 3)).astype(np.uint8)
        wzp = np.array(128, np.uint8)
        wscale = np.array(0.02, np.float32)
        bias = self.rng.standard_normal(5).astype(np.float32)
        nodes = [
            helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
            helper.make_node("Mul", ["xs", "wscale"], ["bscale"]),
            helper.make_node("Div", ["bias", "bscale"], ["btmp"]),
            helper.make_node("Floor", ["btmp"], ["bq"], name="conv.bias_quant_rounded"),
            helper.make_node("Cast", ["bq"], ["bqi"], to=TensorProto.INT32),
            helper.make_node("Reshape", ["bqi", "bshape"], ["bqr"]),
            helper.make_node("ConvInteger", ["xq", "wq", "xz", "wzp"], ["ci"], kernel_shape=[3], pads=[1, 1]),
            helper.make_node("Add", ["ci", "bqr"], ["cb"]),
            helper.make_node("Cast", ["cb"], ["cf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["cf", "bscale"], ["y"]),
        ]
        m = _model(nodes, {"wq": wq, "wzp": wzp, "wscale": wscale, "bias": bias, "bshape": np.array([1, 5, 1], np.int64)},
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        w = (wq.astype(np.float32) - 128) * 0.02
        xp = np.pad(x[0], ((0, 0), (1, 1)))
        want = np.stack([sum(w[o, :, k] @ xp[:, k:k + 20] for k in range(3)) for o in range(5)]) + bias[:, None]
        (y_float,) = _run(self.ort_float.dequantized_model(m), {"x": x})
        np.testing.assert_allclose(y_float[0], want, rtol=1e-4, atol=1e-4)
        (y_int8,) = _run(m, {"x": x})
        self.assertLess(np.abs(y_int8[0] - want).max(), 0.05 * np.abs(want).max())

    def test_dynamic_quantize_lstm(self):
        T, I, H = 6, 5, 4
        x = self.rng.standard_normal((T, 1, I)).astype(np.float32)
        wq = self.rng.integers(-100, 100, (1, I, 4 * H)).astype(np.int8)
        rq = self.rng.integers(-100, 100, (1, H, 4 * H)).astype(np.int8)
        ws, rs = np.array([0.01], np.float32), np.array([0.012], np.float32)
        wz, rz = np.array([0], np.int8), np.array([0], np.int8)
        b = (self.rng.standard_normal((1, 8 * H)) * 0.1).astype(np.float32)
        node = helper.make_node("DynamicQuantizeLSTM", ["x", "wq", "rq", "b", "", "", "", "", "ws", "wz", "rs", "rz"],
                                ["y"], domain="com.microsoft", hidden_size=H, direction="forward")
        m = _model([node], {"wq": wq, "rq": rq, "b": b, "ws": ws, "wz": wz, "rs": rs, "rz": rz},
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, 1, I])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], ms_domain=True)
        (y_int8,) = _run(m, {"x": x})
        (y_float,) = _run(self.ort_float.dequantized_model(m), {"x": x})
        # reference LSTM in numpy, ONNX gate order i, o, f, c
        W = wq[0].astype(np.float32) * ws[0]  # [I, 4H]
        R = rq[0].astype(np.float32) * rs[0]
        bw, br = b[0, :4 * H], b[0, 4 * H:]
        sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        h = np.zeros(H, np.float32)
        c = np.zeros(H, np.float32)
        want = []
        for t in range(T):
            z = x[t, 0] @ W + h @ R + bw + br
            i_, o_, f_, g_ = sig(z[:H]), sig(z[H:2 * H]), sig(z[2 * H:3 * H]), np.tanh(z[3 * H:])
            c = f_ * c + i_ * g_
            h = o_ * np.tanh(c)
            want.append(h)
        want = np.array(want)
        np.testing.assert_allclose(y_float.reshape(T, H), want, rtol=1e-4, atol=1e-5)
        self.assertLess(np.abs(y_int8.reshape(T, H) - want).max(), 0.05)

    def test_find_duration_output(self):
        import ort_check

        nodes = [
            helper.make_node("MatMul", ["h", "w"], ["logits"], name="/encoder/predictor/duration_proj/linear_layer/MatMul"),
            helper.make_node("Sigmoid", ["logits"], ["sg"], name="sig"),
            helper.make_node("ReduceSum", ["sg", "axes"], ["sum"], name="sum", keepdims=0),
            helper.make_node("Div", ["sum", "speed"], ["div"], name="div"),
            helper.make_node("Round", ["div"], ["rnd"], name="round"),
            helper.make_node("Clip", ["rnd", "one"], ["clip"], name="clip"),
            helper.make_node("Cast", ["clip"], ["dur"], name="cast", to=TensorProto.INT64),
        ]
        h = self.rng.standard_normal((7, 3)).astype(np.float32)
        m = _model(nodes, {"w": self.rng.standard_normal((3, 50)).astype(np.float32), "axes": np.array([-1], np.int64),
                           "one": np.array(1.0, np.float32)},
                   [helper.make_tensor_value_info("h", TensorProto.FLOAT, [7, 3]),
                    helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])],
                   [helper.make_tensor_value_info("clip", TensorProto.FLOAT, None)])
        dur, raw, chain = ort_check.find_duration_output(m)
        self.assertEqual((dur, raw), ("dur", "div"))
        self.assertEqual(chain, ["sig", "sum", "div", "round", "clip", "cast"])
        m.graph.output.append(helper.make_tensor_value_info(dur, TensorProto.INT64, None))
        _, d = _run(m, {"h": h, "speed": np.array([1.0], np.float32)})
        self.assertEqual(d.dtype, np.int64)
        self.assertEqual(d.shape, (7,))


if __name__ == "__main__":
    unittest.main()
