//! The weights of a Kokoro ONNX export, recovered through the graph.
//!
//! kokoro-onnx ships Kokoro-82M as fp32, fp16 and int8 (ONNX Runtime dynamic quantization)
//! graphs; kokoro's own `KModelForONNX` export is the fp32 layout. None of them keeps the
//! checkpoint's names on the big tensors: a quantized weight is an anonymous initializer
//! (`onnx::MatMul_6547_quantized`) whose scale sits two nodes downstream. So every weight is
//! found from the op that consumes it, dequantized by that op's rules, brought into PyTorch's
//! layout, and named by the consuming node's module scope
//! (`/encoder/predictor/text_encoder/lstms.0/LSTM_quant` → `encoder.predictor.text_encoder.lstms.0`).
//! Tensors no weight-bearing op consumes (biases, norms, Snake α) keep their initializer names.
//! [`OnnxWeights::resolve`] then matches these scoped names against the names a model asks for
//! by their longest common dotted suffix, so wrapper prefixes (`encoder.`, `decoder.decoder.`,
//! `kmodel.`) and flattened scopes (`/encoder/F0.0/…` for `predictor.F0.0`) need no table.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use half::{bf16, f16};
use prost::Message;

use crate::error::{Error, Result};

/// Just the fields of onnx.proto that weight recovery reads; prost skips the rest.
mod proto {
    use bytes::Bytes;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        #[prost(string, tag = "1")]
        pub name: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(int64, tag = "3")]
        pub i: i64,
        #[prost(bytes = "bytes", tag = "4")]
        pub s: Bytes,
        #[prost(message, optional, tag = "5")]
        pub t: Option<TensorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int64, repeated, tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(float, repeated, tag = "4")]
        pub float_data: Vec<f32>,
        #[prost(int32, repeated, tag = "5")]
        pub int32_data: Vec<i32>,
        #[prost(int64, repeated, tag = "7")]
        pub int64_data: Vec<i64>,
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(bytes = "bytes", tag = "9")]
        pub raw_data: Bytes,
        #[prost(double, repeated, tag = "10")]
        pub double_data: Vec<f64>,
        #[prost(int32, tag = "14")]
        pub data_location: i32,
    }
}

use proto::{NodeProto, TensorProto};

fn onnx_error(detail: impl Into<String>) -> Error {
    Error::Onnx(detail.into())
}

/// A tensor's values: floats as f32 (f16/bf16/f64 converted), integers kept exact.
enum Values {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

struct Tensor {
    shape: Vec<usize>,
    values: Values,
}

impl Tensor {
    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    fn floats(&self, what: &str) -> Result<&[f32]> {
        match &self.values {
            Values::Float(v) => Ok(v),
            Values::Int(_) => Err(onnx_error(format!("{what} must hold floats, it holds integers"))),
        }
    }

    fn ints(&self, what: &str) -> Result<&[i64]> {
        match &self.values {
            Values::Int(v) => Ok(v),
            Values::Float(_) => Err(onnx_error(format!("{what} must hold integers, it holds floats"))),
        }
    }
}

// onnx.proto's TensorProto.DataType codes.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const UINT16: i32 = 4;
const INT16: i32 = 5;
const INT32: i32 = 6;
const INT64: i32 = 7;
const FLOAT16: i32 = 10;
const DOUBLE: i32 = 11;
const BFLOAT16: i32 = 16;

fn decode_tensor(t: &TensorProto) -> Result<Tensor> {
    let what = || format!("tensor {:?}", t.name);
    if t.data_location == 1 {
        return Err(onnx_error(format!(
            "{} is stored in an external data file; convert from a single-file export (all initializers inline)",
            what()
        )));
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| onnx_error(format!("{} has a negative dimension {d}", what()))))
        .collect::<Result<Vec<_>>>()?;
    let n = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| onnx_error(format!("{} has an impossible shape {shape:?}", what())))?;
    let raw = &t.raw_data;
    let width = match t.data_type {
        FLOAT | INT32 => 4,
        DOUBLE | INT64 => 8,
        FLOAT16 | BFLOAT16 | UINT16 | INT16 => 2,
        UINT8 | INT8 => 1,
        other => return Err(onnx_error(format!("{} has data type {other}, which no Kokoro weight uses", what()))),
    };
    let values = if !raw.is_empty() {
        // A hostile shape can make n · width overflow: that is a mismatch, not a panic.
        if n.checked_mul(width) != Some(raw.len()) {
            return Err(onnx_error(format!("{} has {} bytes of data, its shape {shape:?} needs {n} × {width}", what(), raw.len())));
        }
        let le = |c: &[u8]| -> u64 { c.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) };
        let chunks = raw.chunks_exact(width).map(le);
        match t.data_type {
            FLOAT => Values::Float(chunks.map(|b| f32::from_bits(b as u32)).collect()),
            DOUBLE => Values::Float(chunks.map(|b| f64::from_bits(b) as f32).collect()),
            FLOAT16 => Values::Float(chunks.map(|b| f16::from_bits(b as u16).to_f32()).collect()),
            BFLOAT16 => Values::Float(chunks.map(|b| bf16::from_bits(b as u16).to_f32()).collect()),
            UINT8 | UINT16 => Values::Int(chunks.map(|b| b as i64).collect()),
            INT8 => Values::Int(chunks.map(|b| i64::from(b as u8 as i8)).collect()),
            INT16 => Values::Int(chunks.map(|b| i64::from(b as u16 as i16)).collect()),
            INT32 => Values::Int(chunks.map(|b| i64::from(b as u32 as i32)).collect()),
            _ => Values::Int(chunks.map(|b| b as i64).collect()),
        }
    } else {
        // The typed fields: int32_data carries every narrow type, f16/bf16 as their bit patterns.
        match t.data_type {
            FLOAT => Values::Float(t.float_data.clone()),
            DOUBLE => Values::Float(t.double_data.iter().map(|&v| v as f32).collect()),
            FLOAT16 => Values::Float(t.int32_data.iter().map(|&b| f16::from_bits(b as u16).to_f32()).collect()),
            BFLOAT16 => Values::Float(t.int32_data.iter().map(|&b| bf16::from_bits(b as u16).to_f32()).collect()),
            INT64 => Values::Int(t.int64_data.clone()),
            _ => Values::Int(t.int32_data.iter().map(|&v| i64::from(v)).collect()),
        }
    };
    let got = match &values {
        Values::Float(v) => v.len(),
        Values::Int(v) => v.len(),
    };
    if got != n {
        return Err(onnx_error(format!("{} has {got} values, its shape {shape:?} needs {n}", what())));
    }
    Ok(Tensor { shape, values })
}

/// One recovered weight, in PyTorch's layout, named by the scope it was found in.
#[derive(Debug)]
pub struct OnnxTensor {
    /// Dotted module path plus parameter name, e.g. `encoder.F0.0.conv1.weight`.
    pub path: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    /// The op and node it came from (for messages).
    pub origin: String,
}

/// Every weight of an ONNX export that an op consumes or that is a named float initializer.
#[derive(Debug)]
pub struct OnnxWeights {
    pub tensors: Vec<OnnxTensor>,
    /// Graph input names, to tell a Kokoro export (`tokens`, `style`, …) from other models.
    pub inputs: Vec<String>,
}

/// The graph, indexed: constant tensors by name, producers and consumers by value name.
struct Graph<'g> {
    nodes: &'g [NodeProto],
    constants: HashMap<&'g str, &'g TensorProto>,
    producer: HashMap<&'g str, usize>,
    consumers: HashMap<&'g str, Vec<usize>>,
}

impl<'g> Graph<'g> {
    fn new(graph: &'g proto::GraphProto) -> Self {
        let mut constants: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut producer = HashMap::new();
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, node) in graph.node.iter().enumerate() {
            if node.op_type == "Constant" {
                if let (Some(out), Some(t)) = (node.output.first(), node.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref())) {
                    constants.insert(out.as_str(), t);
                }
            }
            for out in &node.output {
                producer.insert(out.as_str(), i);
            }
            for input in node.input.iter().filter(|s| !s.is_empty()) {
                consumers.entry(input.as_str()).or_default().push(i);
            }
        }
        Self { nodes: &graph.node, constants, producer, consumers }
    }

    fn producer(&self, value: &str) -> Option<&'g NodeProto> {
        self.producer.get(value).map(|&i| &self.nodes[i])
    }

    fn consumers(&self, value: &str) -> impl Iterator<Item = &'g NodeProto> + '_ {
        self.consumers.get(value).into_iter().flatten().map(|&i| &self.nodes[i])
    }

    /// The constant behind `value`: an initializer or Constant node, possibly through a Cast
    /// (fp16 exports) or a DequantizeLinear of constants (QDQ exports). `None` if it is computed.
    fn constant(&self, value: &str) -> Result<Option<Tensor>> {
        if let Some(t) = self.constants.get(value) {
            return decode_tensor(t).map(Some);
        }
        let Some(node) = self.producer(value) else { return Ok(None) };
        match node.op_type.as_str() {
            "Cast" | "Identity" => match node.input.first() {
                Some(x) => Ok(self.constant(x)?.map(|t| Tensor { values: Values::Float(to_floats(&t)), shape: t.shape })),
                None => Ok(None),
            },
            "DequantizeLinear" => {
                let (Some(q), Some(scale)) = (self.input_constant(node, 0)?, self.input_constant(node, 1)?) else { return Ok(None) };
                let zero = self.input_constant(node, 2)?;
                let axis = attr_int(node, "axis").unwrap_or(1);
                let axis = if axis < 0 { axis + q.shape.len() as i64 } else { axis } as usize;
                let values = dequantize(&q, &scale, zero.as_ref(), axis, &node.name)?;
                Ok(Some(Tensor { shape: q.shape, values: Values::Float(values) }))
            }
            _ => Ok(None),
        }
    }

    /// Whether [`Graph::constant`] finds a constant behind `value`, without decoding it.
    fn is_constant(&self, value: &str) -> bool {
        if self.constants.contains_key(value) {
            return true;
        }
        match self.producer(value) {
            Some(node) if matches!(node.op_type.as_str(), "Cast" | "Identity") => node.input.first().is_some_and(|x| self.is_constant(x)),
            Some(node) if node.op_type == "DequantizeLinear" => node.input.iter().take(2).all(|x| self.is_constant(x)),
            _ => false,
        }
    }

    fn input_constant(&self, node: &NodeProto, index: usize) -> Result<Option<Tensor>> {
        match node.input.get(index).filter(|s| !s.is_empty()) {
            Some(name) => self.constant(name),
            None => Ok(None),
        }
    }

    fn required_constant(&self, node: &NodeProto, index: usize, what: &str) -> Result<Tensor> {
        self.input_constant(node, index)?
            .ok_or_else(|| onnx_error(format!("{} node {:?}: its {what} (input {index}) is not a constant", node.op_type, node.name)))
    }

    /// The weight scale of a MatMulInteger/ConvInteger node. ONNX Runtime's dynamic quantization
    /// multiplies the integer result (through Cast, and Add for a bias) by
    /// `Mul(activation_scale, weight_scale)`, where the activation scale is output 1 of the
    /// DynamicQuantizeLinear that feeds the node; the other factor is the weight's scale.
    fn dynamic_weight_scale(&self, node: &NodeProto) -> Result<(&'g str, Tensor)> {
        let missing = || onnx_error(format!("{} node {:?}: no weight scale found downstream (expected Mul(activation scale, weight scale))", node.op_type, node.name));
        let quantizer = node.input.first().and_then(|a| self.producer(a)).filter(|p| p.op_type == "DynamicQuantizeLinear").ok_or_else(missing)?;
        let activation_scale = quantizer.output.get(1).ok_or_else(missing)?;
        let mut frontier: Vec<&str> = node.output.iter().map(String::as_str).collect();
        for _ in 0..4 {
            let mut next = Vec::new();
            for value in frontier {
                for consumer in self.consumers(value) {
                    if consumer.op_type == "Mul" {
                        for factor in &consumer.input {
                            if let Some(scale_mul) = self.producer(factor).filter(|p| p.op_type == "Mul" && p.input.contains(activation_scale)) {
                                if let Some(other) = scale_mul.input.iter().find(|i| *i != activation_scale) {
                                    if let Some(t) = self.constant(other)? {
                                        return Ok((other.as_str(), t));
                                    }
                                }
                            }
                        }
                    }
                    next.extend(consumer.output.iter().map(String::as_str));
                }
            }
            frontier = next;
        }
        Err(missing())
    }
}

fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn attr_str<'n>(node: &'n NodeProto, name: &str) -> Option<&'n [u8]> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.s.as_ref())
}

fn to_floats(t: &Tensor) -> Vec<f32> {
    match &t.values {
        Values::Float(v) => v.clone(),
        Values::Int(v) => v.iter().map(|&x| x as f32).collect(),
    }
}

/// `(q − zero) · scale` with scale and zero point per tensor or per slice of `axis`; the
/// integer difference is exact and the product rounds once, as onnxruntime computes it.
fn dequantize(q: &Tensor, scale: &Tensor, zero: Option<&Tensor>, axis: usize, node: &str) -> Result<Vec<f32>> {
    let q_values = q.ints(&format!("quantized weight of {node:?}"))?;
    let scales = scale.floats(&format!("scale of {node:?}"))?;
    let zeros: Vec<i64> = match zero {
        Some(z) => z.ints(&format!("zero point of {node:?}"))?.to_vec(),
        None => vec![0],
    };
    let channels = q.shape.get(axis).copied().unwrap_or(1);
    let inner: usize = q.shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let per = |len: usize, what: &str| -> Result<bool> {
        match len {
            1 => Ok(false),
            l if l == channels => Ok(true),
            l => Err(onnx_error(format!("{node:?}: {what} has {l} values; expected 1 or {channels} (axis {axis} of {:?})", q.shape))),
        }
    };
    let (per_scale, per_zero) = (per(scales.len(), "scale")?, per(zeros.len(), "zero point")?);
    Ok(q_values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = (i / inner) % channels;
            let s = scales[if per_scale { c } else { 0 }];
            let z = zeros[if per_zero { c } else { 0 }];
            (v - z) as f32 * s
        })
        .collect())
}

/// `/encoder/text_encoder/cnn.0/cnn.0.0/Conv_quant` → `encoder.text_encoder.cnn.0.0`: the scopes
/// without the op's own name, nested list scopes (`cnn.0/cnn.0.0`) collapsed to the inner one.
pub fn module_path(node_name: &str) -> String {
    let mut parts: Vec<&str> = node_name.split('/').filter(|s| !s.is_empty()).collect();
    parts.pop();
    let mut path: Vec<&str> = Vec::with_capacity(parts.len());
    for part in parts {
        if let Some(last) = path.last() {
            if part.len() > last.len() && part.starts_with(last) && part.as_bytes()[last.len()] == b'.' {
                path.pop();
            }
        }
        path.push(part);
    }
    path.join(".")
}

/// Transposes a row-major `[rows, cols]` matrix.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// ONNX LSTM gates are ordered i, o, f, c; PyTorch's i, f, g(=c), o.
const ONNX_GATE_FOR_TORCH: [usize; 4] = [0, 2, 3, 1];

/// `[4H, cols]` rows from ONNX gate order to PyTorch's.
fn reorder_gates(values: &[f32], hidden: usize, cols: usize) -> Vec<f32> {
    let block = hidden * cols;
    ONNX_GATE_FOR_TORCH.iter().flat_map(|&g| values[g * block..(g + 1) * block].iter().copied()).collect()
}

struct Collector {
    tensors: Vec<OnnxTensor>,
    /// Constants already taken through an op (by value name), so they are not added again by name.
    taken: HashSet<String>,
}

impl Collector {
    fn take(&mut self, names: &[&str]) {
        self.taken.extend(names.iter().filter(|n| !n.is_empty()).map(|n| n.to_string()));
    }

    fn push(&mut self, path: String, shape: Vec<usize>, values: Vec<f32>, origin: String) {
        self.tensors.push(OnnxTensor { path, shape, values, origin });
    }
}

/// Parses an ONNX model and recovers its weights (see the module docs).
pub fn read_onnx(bytes: Bytes) -> Result<OnnxWeights> {
    if bytes.is_empty() {
        return Err(onnx_error("the file is empty"));
    }
    let model = proto::ModelProto::decode(bytes).map_err(|e| onnx_error(format!("not an ONNX model (protobuf: {e})")))?;
    let graph = model.graph.ok_or_else(|| onnx_error("not an ONNX model: it has no graph"))?;
    let g = Graph::new(&graph);
    let mut out = Collector { tensors: Vec::new(), taken: HashSet::new() };
    // A weight shared by several nodes (ALBERT's one layer, run 12 times) is taken once.
    let mut seen_weights = HashSet::new();
    for node in g.nodes {
        let weight_input = match node.op_type.as_str() {
            "Gather" => 0,
            "MatMul" | "MatMulInteger" | "Gemm" | "Conv" | "ConvInteger" | "ConvTranspose" | "LSTM" | "DynamicQuantizeLSTM" => 1,
            _ => continue,
        };
        let Some(weight_name) = node.input.get(weight_input) else { continue };
        if !g.is_constant(weight_name) {
            continue; // an activation × activation product, or a computed gather
        }
        if !seen_weights.insert(weight_name.clone()) {
            continue;
        }
        collect_node(&g, node, &mut out)?;
    }
    // Named float initializers no op took: biases, norms, Snake α, in the checkpoint's names.
    for t in &graph.initializer {
        if out.taken.contains(&t.name) || t.name.is_empty() || !matches!(t.data_type, FLOAT | FLOAT16 | BFLOAT16 | DOUBLE) {
            continue;
        }
        let tensor = decode_tensor(t)?;
        let values = tensor.floats(&t.name)?.to_vec();
        out.push(t.name.clone(), tensor.shape, values, "initializer".into());
    }
    Ok(OnnxWeights { tensors: out.tensors, inputs: graph.input.iter().map(|i| i.name.clone()).collect() })
}

fn collect_node(g: &Graph, node: &NodeProto, out: &mut Collector) -> Result<()> {
    let scope = module_path(&node.name);
    let origin = format!("{} {}", node.op_type, node.name);
    let bad = |what: String| onnx_error(format!("{origin}: {what}"));
    match node.op_type.as_str() {
        "Gather" => {
            let data = g.required_constant(node, 0, "table")?;
            if data.shape.len() != 2 {
                return Ok(()); // shape bookkeeping, not an embedding table
            }
            let values = match &data.values {
                Values::Float(v) => v.clone(),
                Values::Int(_) => {
                    // int8 table: Gather, then DequantizeLinear(scale, zero point) of the rows.
                    let Some(dq) = node.output.first().and_then(|o| g.consumers(o).find(|c| c.op_type == "DequantizeLinear")) else { return Ok(()) };
                    let scale = g.required_constant(dq, 1, "scale")?;
                    let zero = g.input_constant(dq, 2)?;
                    if scale.len() != 1 {
                        return Err(bad(format!("an embedding scale of {} values (per-row scales cannot survive the Gather)", scale.len())));
                    }
                    out.take(&dq.input.iter().skip(1).map(String::as_str).collect::<Vec<_>>());
                    dequantize(&data, &scale, zero.as_ref(), 0, &node.name)?
                }
            };
            out.taken.insert(node.input[0].clone());
            out.push(format!("{scope}.weight"), data.shape, values, origin);
        }
        "MatMul" | "MatMulInteger" | "Gemm" => {
            let b = g.required_constant(node, 1, "weight")?;
            let [rows, cols] = b.shape[..] else { return Err(bad(format!("a weight of shape {:?}; a Linear layer's is 2-D", b.shape))) };
            let values = if node.op_type == "MatMulInteger" {
                let zero = g.input_constant(node, 3)?;
                let (scale_name, scale) = g.dynamic_weight_scale(node)?;
                out.take(&[scale_name, node.input.get(3).map_or("", String::as_str)]);
                dequantize(&b, &scale, zero.as_ref(), 1, &node.name)?
            } else {
                b.floats(&format!("weight of {origin}"))?.to_vec()
            };
            // MatMul's B is [in, out]; PyTorch's Linear weight is [out, in]. Gemm says so itself.
            let (weight, shape) = if node.op_type == "Gemm" && attr_int(node, "transB") == Some(1) {
                (values, vec![rows, cols])
            } else {
                (transpose(&values, rows, cols), vec![cols, rows])
            };
            out.taken.insert(node.input[1].clone());
            out.push(format!("{scope}.weight"), shape, weight, origin.clone());
            if node.op_type == "Gemm" {
                if let Some(c) = g.input_constant(node, 2)? {
                    out.taken.insert(node.input[2].clone());
                    out.push(format!("{scope}.bias"), c.shape.clone(), to_floats(&c), origin);
                }
            }
        }
        "Conv" | "ConvTranspose" | "ConvInteger" => {
            let w = g.required_constant(node, 1, "weight")?;
            if w.shape.len() != 3 {
                return Err(bad(format!("a weight of shape {:?}; Kokoro's convolutions are 1-D", w.shape)));
            }
            let values = if node.op_type == "ConvInteger" {
                let zero = g.input_constant(node, 3)?;
                let (scale_name, scale) = g.dynamic_weight_scale(node)?;
                out.take(&[scale_name, node.input.get(3).map_or("", String::as_str)]);
                dequantize(&w, &scale, zero.as_ref(), 0, &node.name)?
            } else {
                w.floats(&format!("weight of {origin}"))?.to_vec()
            };
            out.taken.insert(node.input[1].clone());
            out.push(format!("{scope}.weight"), w.shape.clone(), values, origin.clone());
            if node.op_type != "ConvInteger" {
                if let Some(bias) = g.input_constant(node, 2)? {
                    out.taken.insert(node.input[2].clone());
                    out.push(format!("{scope}.bias"), bias.shape.clone(), to_floats(&bias), origin);
                }
            }
        }
        "LSTM" | "DynamicQuantizeLSTM" => collect_lstm(g, node, &scope, origin, out)?,
        _ => {}
    }
    Ok(())
}

/// An LSTM's eight PyTorch tensors per layer: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`, and `_reverse` twins for a bidirectional one. ONNX's W is `[dir, 4H, in]`
/// (DynamicQuantizeLSTM: `[dir, in, 4H]`, int8 with a scale per direction), B is `[dir, 8H]`
/// (input bias then recurrent bias), gates in ONNX order.
fn collect_lstm(g: &Graph, node: &NodeProto, scope: &str, origin: String, out: &mut Collector) -> Result<()> {
    let bad = |what: String| onnx_error(format!("{origin}: {what}"));
    let quantized = node.op_type == "DynamicQuantizeLSTM";
    let load = |index: usize, what: &str, scale_index: usize| -> Result<Tensor> {
        let t = g.required_constant(node, index, what)?;
        if !quantized {
            return Ok(t);
        }
        let scale = g.required_constant(node, scale_index, &format!("{what} scale"))?;
        let zero = g.input_constant(node, scale_index + 1)?;
        // Per direction ([dir]) or per output column ([dir, 4H]): dequantize each direction alone.
        let dirs = t.shape.first().copied().unwrap_or(0);
        let per_dir = t.len() / dirs.max(1);
        let scales = scale.floats("LSTM scale")?;
        let zeros = zero.as_ref().map(|z| z.ints("LSTM zero point")).transpose()?.unwrap_or(&[0]);
        let (sc, zc) = (scales.len() / dirs.max(1), zeros.len() / dirs.max(1));
        let mut values = Vec::with_capacity(t.len());
        for d in 0..dirs {
            let slice = Tensor { shape: t.shape[1..].to_vec(), values: Values::Int(t.ints("LSTM weight")?[d * per_dir..(d + 1) * per_dir].to_vec()) };
            let s = Tensor { shape: vec![sc], values: Values::Float(scales[d * sc..(d + 1) * sc].to_vec()) };
            let z = Tensor { shape: vec![zc.max(1)], values: Values::Int(if zeros.len() == 1 { zeros.to_vec() } else { zeros[d * zc..(d + 1) * zc].to_vec() }) };
            values.extend(dequantize(&slice, &s, Some(&z), 1, &node.name)?);
        }
        Ok(Tensor { shape: t.shape, values: Values::Float(values) })
    };
    let w = load(1, "W", 8)?;
    let r = load(2, "R", 10)?;
    let (&[dirs, a, b], &[r_dirs, _, _]) = (&w.shape[..], &r.shape[..]) else {
        return Err(bad(format!("W {:?} and R {:?} must be 3-D", w.shape, r.shape)));
    };
    let hidden = attr_int(node, "hidden_size").map(|h| h as usize).unwrap_or(if quantized { b / 4 } else { a / 4 });
    let (four_h, input) = if quantized { (b, a) } else { (a, b) };
    let expected_dirs = if attr_str(node, "direction") == Some(b"bidirectional") { 2 } else { 1 };
    if four_h != 4 * hidden || dirs != expected_dirs || r_dirs != dirs || r.shape[1..] != if quantized { [hidden, four_h] } else { [four_h, hidden] } {
        return Err(bad(format!("W {:?} and R {:?} do not fit hidden size {hidden} × {expected_dirs} directions", w.shape, r.shape)));
    }
    let bias = g.input_constant(node, 3)?;
    if let Some(b) = &bias {
        if b.shape != [dirs, 8 * hidden] {
            return Err(bad(format!("B has shape {:?}, expected [{dirs}, {}]", b.shape, 8 * hidden)));
        }
    }
    let (w_values, r_values) = (w.floats("W")?, r.floats("R")?);
    for d in 0..dirs {
        let suffix = if d == 1 { "_reverse" } else { "" };
        // To PyTorch's [4H, cols] in its gate order.
        let torch = |values: &[f32], cols: usize| {
            let dir = &values[d * four_h * cols..(d + 1) * four_h * cols];
            let rows_first = if quantized { transpose(dir, cols, four_h) } else { dir.to_vec() };
            reorder_gates(&rows_first, hidden, cols)
        };
        out.push(format!("{scope}.weight_ih_l0{suffix}"), vec![four_h, input], torch(w_values, input), origin.clone());
        out.push(format!("{scope}.weight_hh_l0{suffix}"), vec![four_h, hidden], torch(r_values, hidden), origin.clone());
        let biases = match &bias {
            Some(b) => b.floats("B")?[d * 8 * hidden..(d + 1) * 8 * hidden].to_vec(),
            None => vec![0.0; 8 * hidden],
        };
        out.push(format!("{scope}.bias_ih_l0{suffix}"), vec![four_h], reorder_gates(&biases[..four_h], hidden, 1), origin.clone());
        out.push(format!("{scope}.bias_hh_l0{suffix}"), vec![four_h], reorder_gates(&biases[four_h..], hidden, 1), origin.clone());
    }
    // W, R, B and (quantized) their scales and zero points.
    out.take(&[1, 2, 3, 8, 9, 10, 11].iter().filter_map(|&i| node.input.get(i).map(String::as_str)).collect::<Vec<_>>());
    Ok(())
}

/// What [`OnnxWeights::resolve`] found.
#[derive(Debug)]
pub struct Resolved {
    /// Model name → recovered tensor.
    pub tensors: HashMap<String, OnnxTensor>,
    /// Recovered tensors the model does not use (their paths).
    pub unused: Vec<String>,
}

impl OnnxWeights {
    /// Names each recovered tensor after one of `wanted` (the names a model loads): the one that
    /// ends with the longest dotted suffix of the tensor's path. Two tensors for one name, or a
    /// suffix that fits several names equally, is an error naming them.
    pub fn resolve(self, wanted: &[String]) -> Result<Resolved> {
        let mut by_suffix: HashMap<&str, Vec<&str>> = HashMap::new();
        for name in wanted {
            let mut rest = name.as_str();
            loop {
                by_suffix.entry(rest).or_default().push(name);
                match rest.split_once('.') {
                    Some((_, tail)) => rest = tail,
                    None => break,
                }
            }
        }
        let mut tensors: HashMap<String, OnnxTensor> = HashMap::new();
        let mut unused = Vec::new();
        let mut problems = Vec::new();
        let mut ambiguous: Vec<(OnnxTensor, Vec<&str>)> = Vec::new();
        let mut assign = |tensors: &mut HashMap<String, OnnxTensor>, name: &str, t: OnnxTensor| {
            if let Some(previous) = tensors.get(name) {
                if previous.values != t.values {
                    problems.push(format!("{name}: found twice, from {} and from {}", previous.origin, t.origin));
                }
            } else {
                tensors.insert(name.to_owned(), t);
            }
        };
        for t in self.tensors {
            // A suffix names at least a module and a parameter: "weight" alone fits everything.
            let mut rest = t.path.as_str();
            let found = loop {
                if let Some(names) = by_suffix.get(rest) {
                    break Some(names);
                }
                match rest.split_once('.') {
                    Some((_, tail)) if tail.contains('.') => rest = tail,
                    _ => break None,
                }
            };
            match found.map(Vec::as_slice) {
                None => unused.push(t.path),
                Some([name]) => assign(&mut tensors, name, t),
                Some(names) => ambiguous.push((t, names.to_vec())),
            }
        }
        // A scope that fits several names (`/lstm/LSTM`: predictor.lstm or text_encoder.lstm)
        // takes the one no better-matched tensor has claimed; repeat while that settles any.
        loop {
            let before = ambiguous.len();
            let mut still = Vec::new();
            for (t, names) in ambiguous {
                let open: Vec<&str> = names.iter().copied().filter(|n| !tensors.contains_key(*n)).collect();
                match open[..] {
                    [name] => assign(&mut tensors, name, t),
                    _ => still.push((t, names)),
                }
            }
            ambiguous = still;
            if ambiguous.len() == before {
                break;
            }
        }
        // Still several equally good names: leave it; a model tensor left without one is
        // reported as missing, with every other problem, when the model loads.
        unused.extend(ambiguous.into_iter().map(|(t, names)| format!("{} (fits {})", t.path, names.join(", "))));
        if !problems.is_empty() {
            return Err(onnx_error(format!("{} tensors cannot be named:\n  {}", problems.len(), problems.join("\n  "))));
        }
        Ok(Resolved { tensors, unused })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_drop_the_op_and_collapse_list_scopes() {
        assert_eq!(module_path("/encoder/text_encoder/cnn.0/cnn.0.0/Conv_quant"), "encoder.text_encoder.cnn.0.0");
        assert_eq!(module_path("/decoder/decoder/generator/ups.0/ConvTranspose"), "decoder.decoder.generator.ups.0");
        assert_eq!(module_path("/encoder/F0.0/conv1/Conv_quant"), "encoder.F0.0.conv1");
        assert_eq!(module_path("Conv_12"), "");
        // A scope that merely shares a prefix is not a nested list scope.
        assert_eq!(module_path("/a/ab/Op"), "a.ab");
    }

    #[test]
    fn dequantizes_per_tensor_and_per_channel() {
        let q = Tensor { shape: vec![2, 3], values: Values::Int(vec![-1, 0, 1, 2, 3, 4]) };
        let s = Tensor { shape: vec![], values: Values::Float(vec![0.5]) };
        assert_eq!(dequantize(&q, &s, None, 0, "n").unwrap(), [-0.5, 0.0, 0.5, 1.0, 1.5, 2.0]);
        let s3 = Tensor { shape: vec![3], values: Values::Float(vec![1.0, 2.0, 4.0]) };
        let z3 = Tensor { shape: vec![3], values: Values::Int(vec![0, 1, 2]) };
        assert_eq!(dequantize(&q, &s3, Some(&z3), 1, "n").unwrap(), [-1.0, -2.0, -4.0, 2.0, 4.0, 8.0]);
        let s2 = Tensor { shape: vec![2], values: Values::Float(vec![1.0, 10.0]) };
        assert_eq!(dequantize(&q, &s2, None, 0, "n").unwrap(), [-1.0, 0.0, 1.0, 20.0, 30.0, 40.0]);
        assert!(dequantize(&q, &s2, None, 1, "n").is_err());
    }

    #[test]
    fn gates_go_from_iofc_to_ifgo() {
        // hidden 1, one column: ONNX rows i, o, f, c.
        assert_eq!(reorder_gates(&[1.0, 2.0, 3.0, 4.0], 1, 1), [1.0, 3.0, 4.0, 2.0]);
    }

    #[test]
    fn resolves_by_longest_suffix() {
        let t = |path: &str| OnnxTensor { path: path.into(), shape: vec![1], values: vec![0.0], origin: "test".into() };
        let weights = OnnxWeights {
            tensors: vec![t("encoder.F0.0.conv1.weight"), t("decoder.decoder.encode.conv1.weight"), t("decoder.decoder.generator.stft.window")],
            inputs: vec![],
        };
        let wanted = ["predictor.F0.0.conv1.weight", "decoder.encode.conv1.weight", "decoder.F0_conv.weight"].map(String::from);
        let r = weights.resolve(&wanted).unwrap();
        assert_eq!(r.tensors["predictor.F0.0.conv1.weight"].path, "encoder.F0.0.conv1.weight");
        assert_eq!(r.tensors["decoder.encode.conv1.weight"].path, "decoder.decoder.encode.conv1.weight");
        assert_eq!(r.unused, ["decoder.decoder.generator.stft.window"]);
        // "conv1.weight" alone fits two names: left unnamed, not guessed...
        let ambiguous = OnnxWeights { tensors: vec![t("x.conv1.weight"), t("y.weight")], inputs: vec![] };
        let wanted = ["a.conv1.weight", "b.conv1.weight", "weight"].map(String::from);
        let r = ambiguous.resolve(&wanted).unwrap();
        assert!(r.tensors.is_empty());
        assert_eq!(r.unused, ["y.weight", "x.conv1.weight (fits a.conv1.weight, b.conv1.weight)"]);
        // ...unless a better-matched tensor has claimed all but one of them.
        let settled = OnnxWeights { tensors: vec![t("lstm.w"), t("text_encoder.lstm.w")], inputs: vec![] };
        let r = settled.resolve(&["predictor.lstm.w".to_string(), "text_encoder.lstm.w".to_string()]).unwrap();
        assert_eq!(r.tensors["predictor.lstm.w"].path, "lstm.w");
        assert_eq!(r.tensors["text_encoder.lstm.w"].path, "text_encoder.lstm.w");
        // Two different tensors for one name is an error naming both origins.
        let twice = OnnxWeights { tensors: vec![t("p.q.weight"), OnnxTensor { values: vec![1.0], ..t("r.q.weight") }], inputs: vec![] };
        assert!(twice.resolve(&["m.q.weight".to_string()]).unwrap_err().to_string().contains("found twice"));
    }

    fn tensor(name: &str, data_type: i32, dims: &[i64], raw: Vec<u8>) -> TensorProto {
        TensorProto { name: name.into(), data_type, dims: dims.to_vec(), raw_data: raw.into(), ..Default::default() }
    }

    fn f32s(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn i8s(values: &[i8]) -> Vec<u8> {
        values.iter().map(|&v| v as u8).collect()
    }

    fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto { name: name.into(), op_type: op.into(), input: inputs.iter().map(|s| s.to_string()).collect(), output: outputs.iter().map(|s| s.to_string()).collect(), attribute: vec![] }
    }

    fn int_attr(name: &str, i: i64) -> proto::AttributeProto {
        proto::AttributeProto { name: name.into(), i, ..Default::default() }
    }

    /// A graph with one of each weight-bearing op as ONNX Runtime's dynamic quantization and
    /// an fp16 export write them; every value below is worked out by hand.
    fn model() -> Vec<u8> {
        let mut lstm = node("/enc/lstm/LSTM_quant", "DynamicQuantizeLSTM", &["x", "LW_q", "LR_q", "LB", "", "", "", "", "LW_s", "L_zp", "LR_s", "L_zp"], &["h"]);
        lstm.attribute = vec![int_attr("hidden_size", 1), proto::AttributeProto { name: "direction".into(), s: bytes::Bytes::from_static(b"bidirectional"), ..Default::default() }];
        let graph = proto::GraphProto {
            node: vec![
                node("q", "DynamicQuantizeLinear", &["x"], &["x_q", "x_scale", "x_zp"]),
                node("/enc/lin/MatMul_quant", "MatMulInteger", &["x_q", "W_q", "x_zp", "W_zp"], &["mm"]),
                node("cast", "Cast", &["mm"], &["mm_f"]),
                node("scales", "Mul", &["x_scale", "W_scale"], &["s"]),
                node("out", "Mul", &["mm_f", "s"], &["y"]),
                lstm,
                node("/enc/conv/Cast", "Cast", &["w16"], &["w32"]),
                node("/enc/conv/Conv", "Conv", &["x", "w32", "cb"], &["c"]),
                node("/enc/emb/Gather_quant", "Gather", &["E_q", "tokens"], &["g"]),
                node("/enc/emb/dq", "DequantizeLinear", &["g", "E_s", "E_zp"], &["e"]),
            ],
            initializer: vec![
                tensor("W_q", INT8, &[2, 3], i8s(&[1, 2, 3, 4, 5, 6])),
                tensor("W_zp", INT8, &[3], i8s(&[0, 1, 0])),
                tensor("W_scale", FLOAT, &[3], f32s(&[0.5, 1.0, 2.0])),
                tensor("LW_q", INT8, &[2, 1, 4], i8s(&[1, 2, 3, 4, 5, 6, 7, 8])),
                tensor("LR_q", INT8, &[2, 1, 4], i8s(&[9, 10, 11, 12, 13, 14, 15, 16])),
                tensor("LB", FLOAT, &[2, 8], f32s(&(0..16).map(|v| v as f32).collect::<Vec<_>>())),
                tensor("LW_s", FLOAT, &[2], f32s(&[1.0, 0.5])),
                tensor("LR_s", FLOAT, &[2], f32s(&[1.0, 1.0])),
                tensor("L_zp", INT8, &[2], i8s(&[0, 0])),
                tensor("w16", FLOAT16, &[1, 1, 2], [1.5f32, -2.0].iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect()),
                tensor("cb", FLOAT, &[1], f32s(&[0.25])),
                tensor("E_q", INT8, &[2, 2], i8s(&[1, -1, 2, -2])),
                tensor("E_s", FLOAT, &[], f32s(&[0.25])),
                tensor("E_zp", INT8, &[], i8s(&[0])),
                tensor("enc.norm.weight", FLOAT, &[2], f32s(&[1.0, 2.0])),
            ],
            input: vec![proto::ValueInfoProto { name: "tokens".into() }],
        };
        proto::ModelProto { graph: Some(graph) }.encode_to_vec()
    }

    #[test]
    fn recovers_every_weight_kind_in_pytorch_layout() {
        let wanted = [
            "m.lin.weight", "m.lstm.weight_ih_l0", "m.lstm.weight_hh_l0", "m.lstm.bias_ih_l0", "m.lstm.bias_hh_l0",
            "m.lstm.weight_ih_l0_reverse", "m.lstm.weight_hh_l0_reverse", "m.lstm.bias_ih_l0_reverse", "m.lstm.bias_hh_l0_reverse",
            "m.conv.weight", "m.conv.bias", "m.emb.weight", "m.norm.weight",
        ]
        .map(String::from);
        let r = read_onnx(Bytes::from(model())).unwrap().resolve(&wanted).unwrap();
        let get = |n: &str| (r.tensors[n].shape.clone(), r.tensors[n].values.clone());
        // [in 2, out 3] int8, zero point and scale per output column, transposed to [out, in].
        assert_eq!(get("m.lin.weight"), (vec![3, 2], vec![0.5, 2.0, 1.0, 4.0, 6.0, 12.0]));
        // Gates i, o, f, c → i, f, g, o; the reverse direction has its own scale.
        assert_eq!(get("m.lstm.weight_ih_l0"), (vec![4, 1], vec![1.0, 3.0, 4.0, 2.0]));
        assert_eq!(get("m.lstm.weight_ih_l0_reverse").1, [2.5, 3.5, 4.0, 3.0]);
        assert_eq!(get("m.lstm.weight_hh_l0").1, [9.0, 11.0, 12.0, 10.0]);
        assert_eq!(get("m.lstm.bias_ih_l0").1, [0.0, 2.0, 3.0, 1.0]);
        assert_eq!(get("m.lstm.bias_hh_l0").1, [4.0, 6.0, 7.0, 5.0]);
        assert_eq!(get("m.lstm.bias_hh_l0_reverse").1, [12.0, 14.0, 15.0, 13.0]);
        // An fp16 initializer through a Cast; the bias comes with its Conv.
        assert_eq!(get("m.conv.weight"), (vec![1, 1, 2], vec![1.5, -2.0]));
        assert_eq!(get("m.conv.bias").1, [0.25]);
        assert_eq!(get("m.emb.weight"), (vec![2, 2], vec![0.25, -0.25, 0.5, -0.5]));
        assert_eq!(get("m.norm.weight").1, [1.0, 2.0]);
        assert_eq!(r.tensors.len(), wanted.len());
    }

    #[test]
    fn a_quantized_weight_without_its_scale_is_an_error() {
        let mut m = proto::ModelProto::decode(model().as_slice()).unwrap();
        let graph = m.graph.as_mut().unwrap();
        graph.node.retain(|n| n.name != "scales");
        let e = read_onnx(Bytes::from(m.encode_to_vec())).unwrap_err().to_string();
        assert!(e.contains("/enc/lin/MatMul_quant") && e.contains("no weight scale"), "{e}");
        // Raw data that does not fit the shape.
        let mut m = proto::ModelProto::decode(model().as_slice()).unwrap();
        m.graph.as_mut().unwrap().initializer[0].dims = vec![2, 4];
        let e = read_onnx(Bytes::from(m.encode_to_vec())).unwrap_err().to_string();
        assert!(e.contains("\"W_q\" has 6 bytes of data, its shape [2, 4] needs 8 × 1"), "{e}");
        // A shape whose byte count overflows usize is refused, not a panic.
        let mut m = proto::ModelProto::decode(model().as_slice()).unwrap();
        m.graph.as_mut().unwrap().initializer[0].dims = vec![1 << 62, 1];
        m.graph.as_mut().unwrap().initializer[0].data_type = FLOAT;
        assert!(read_onnx(Bytes::from(m.encode_to_vec())).unwrap_err().to_string().contains("bytes of data"));
    }

    #[test]
    fn refuses_what_is_not_onnx() {
        assert!(read_onnx(Bytes::new()).is_err());
        assert!(read_onnx(Bytes::from_static(b"\xff\xff\xff\xff not protobuf")).unwrap_err().to_string().contains("ONNX"));
        // Every truncation of a valid model is an error or a smaller graph, never a panic.
        let bytes = model();
        for n in 0..bytes.len() {
            let _ = read_onnx(Bytes::copy_from_slice(&bytes[..n]));
        }
    }
}
