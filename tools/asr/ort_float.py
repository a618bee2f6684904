"""Turn kokoro-onnx's dynamically quantized (int8) Kokoro graph into the same network computed in
float: the weights stay exactly the int8 values times their scales (what a GGUF converted from the
file holds), but activations are no longer quantized. This separates "the importer is wrong" from
"onnxruntime's int8 activations moved a value".

ONNX Runtime's dynamic quantization writes every Linear/Conv as
    DynamicQuantizeLinear(x) -> (x_q uint8, x_scale, x_zp)
    MatMulInteger(x_q, W_q, x_zp, W_zp) or ConvInteger(...)   (int32)
    [+ bias quantized at run time: Floor(bias / (x_scale * w_scale)) -> Cast int32 -> Add]
    Cast float -> Mul(x_scale * w_scale)
and every LSTM as com.microsoft DynamicQuantizeLSTM (int8 W [dir, in, 4H], R [dir, H, 4H], per-
direction scale and zero point; it quantizes X and H internally).

The rewrite, in memory:
  - x_q is replaced by x / x_scale + x_zp in float (no rounding, no saturation);
  - MatMulInteger / ConvInteger become MatMul / Conv of (that - x_zp) and (W_q - W_zp) as float,
    so the following Mul by x_scale * w_scale gives exactly x @ dequantized W;
  - the bias Floor becomes Identity and its Cast to int32 a Cast to float (the exact bias);
  - DynamicQuantizeLSTM becomes a standard LSTM with W = transpose((W_q - zp) * scale).
Everything else (the float ConvTranspose, STFT, ...) is left as it is.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def dequantized_model(model):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def arr(name):
        return numpy_helper.to_array(inits[name])

    new_inits = []
    float_init_cache = {}

    def float_weight(w_name, zp_name):
        """(W_q - W_zp) as a float initializer (zero point broadcast per output column / channel)."""
        key = (w_name, zp_name)
        if key not in float_init_cache:
            w = arr(w_name).astype(np.float32)
            zp = arr(zp_name).astype(np.float32) if zp_name else np.float32(0)
            name = f"{w_name}__deq_nozp"
            new_inits.append(numpy_helper.from_array(w - zp if np.ndim(zp) == 0 else _bcast_sub(w, zp), name))
            float_init_cache[key] = name
        return float_init_cache[key]

    out_nodes = []
    dql_float = {}  # x_q name -> float (unrounded) name
    for n in g.node:
        if n.op_type == "DynamicQuantizeLinear":
            x, (y, s, zp) = n.input[0], n.output
            out_nodes.append(n)
            zf, yf = f"{zp}__f", f"{y}__f"
            out_nodes.append(helper.make_node("Cast", [zp], [zf], to=TensorProto.FLOAT, name=f"{n.name}__zpf"))
            out_nodes.append(helper.make_node("Div", [x, s], [f"{y}__div"], name=f"{n.name}__div"))
            out_nodes.append(helper.make_node("Add", [f"{y}__div", zf], [yf], name=f"{n.name}__add"))
            dql_float[y] = (yf, zf)
        elif n.op_type in ("MatMulInteger", "ConvInteger"):
            a, w, a_zp, w_zp = (list(n.input) + ["", "", ""])[:4]
            if a not in dql_float or w not in inits:
                raise RuntimeError(f"{n.name}: unexpected inputs {list(n.input)}")
            af, zf = dql_float[a]
            centered = f"{n.output[0]}__a"
            out_nodes.append(helper.make_node("Sub", [af, zf], [centered], name=f"{n.name}__center"))
            wf = float_weight(w, w_zp if w_zp in inits else "")
            op = "MatMul" if n.op_type == "MatMulInteger" else "Conv"
            attrs = {a_.name: helper.get_attribute_value(a_) for a_ in n.attribute}
            out_nodes.append(helper.make_node(op, [centered, wf], list(n.output), name=f"{n.name}__float", **attrs))
        elif n.op_type == "Floor" and n.name.endswith("bias_quant_rounded"):
            out_nodes.append(helper.make_node("Identity", list(n.input), list(n.output), name=n.name))
        elif n.op_type == "Cast" and helper.get_attribute_value(n.attribute[0]) == TensorProto.INT32:
            out_nodes.append(helper.make_node("Cast", list(n.input), list(n.output), to=TensorProto.FLOAT, name=n.name))
        elif n.op_type == "DynamicQuantizeLSTM":
            ins = list(n.input) + [""] * (12 - len(n.input))
            x, w, r, b, seq, h0, c0, p, w_s, w_zp, r_s, r_zp = ins
            wd = _deq_lstm(arr(w), arr(w_s), arr(w_zp))
            rd = _deq_lstm(arr(r), arr(r_s), arr(r_zp))
            wn, rn = f"{w}__lstm_f", f"{r}__lstm_f"
            new_inits.append(numpy_helper.from_array(wd, wn))
            new_inits.append(numpy_helper.from_array(rd, rn))
            attrs = {a_.name: helper.get_attribute_value(a_) for a_ in n.attribute}
            out_nodes.append(helper.make_node("LSTM", [x, wn, rn, b, seq, h0, c0, p], list(n.output),
                                              name=f"{n.name}__float", **attrs))
        else:
            out_nodes.append(n)

    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.node[:]
    m.graph.node.extend(out_nodes)
    m.graph.initializer.extend(new_inits)
    del m.graph.value_info[:]  # intermediate types changed (int32 -> float)
    return m


def _bcast_sub(w, zp):
    # MatMulInteger: W [K, N], zero point [N] (per column) or scalar; ConvInteger: W [O, I, k], zp [O] or scalar
    if w.ndim == 2:
        return w - zp.reshape(1, -1)
    return w - zp.reshape((-1,) + (1,) * (w.ndim - 1))


def _deq_lstm(q, scale, zp):
    """DynamicQuantizeLSTM weight [dir, in, 4H] int8 with per-direction (or per-column) scale and zero
    point -> standard ONNX LSTM weight [dir, 4H, in] float (same gate order i, o, f, c)."""
    q = q.astype(np.float32)
    scale = np.asarray(scale, np.float32)
    zp = np.asarray(zp, np.float32)
    if scale.ndim == 1:
        scale, zp = scale[:, None, None], zp[:, None, None]
    else:  # [dir, 4H]
        scale, zp = scale[:, None, :], zp[:, None, :]
    return np.ascontiguousarray(((q - zp) * scale).transpose(0, 2, 1))
