//! The conformance suite: one list of op cases (the shapes Kokoro uses, the edges, every weight
//! format each weight-taking op accepts), run on any backend and compared with
//! [`ReferenceBackend`]. The tests run it natively on the CPU and on the GPU (lavapipe), the
//! demo's diagnostics page runs it in the browser (wasm simd128 and WebGPU), and
//! `tritone selftest` prints it.

use serde::Serialize;

use crate::backend::{Backend, Conv1dParams, ConvTransposeParams, LstmWeights, NormKind, ReferenceBackend, Unary, Weight, OPS};
use crate::error::{Error, Result};
use crate::quant::GgmlType;
use crate::rng::SplitMix64;

/// Every weight format the weight-taking ops accept.
pub const WEIGHT_FORMATS: [GgmlType; 10] = GgmlType::ALL;

/// An f32 activation input.
#[derive(Clone, Debug)]
pub struct Input {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// One op call with its inputs.
#[derive(Clone, Debug)]
pub enum OpCall {
    Conv1d { x: Input, w: Weight, bias: Option<Weight>, params: Conv1dParams },
    ConvTranspose1d { x: Input, w: Weight, bias: Option<Weight>, params: ConvTransposeParams },
    Linear { x: Input, w: Weight, bias: Option<Weight> },
    Embedding { table: Weight, ids: Vec<u32> },
    Lstm { x: Input, w: [Weight; 4], reverse: bool },
    Attention { q: Input, k: Input, v: Input, heads: usize },
    LayerNorm { x: Input, gamma: Weight, beta: Weight },
    AdaNorm { x: Input, style_params: Input, kind: NormKind },
    Snake { x: Input, alpha: Weight },
    Unary { x: Input, op: Unary },
    Add { a: Input, b: Input },
    Scale { x: Input, s: f32 },
    Concat { parts: Vec<Input> },
    Broadcast { column: Input, t: usize },
    RepeatInterleave { x: Input, counts: Vec<usize> },
    ReflectPad { x: Input, left: usize, right: usize },
    Upsample { x: Input, factor: usize },
}

impl OpCall {
    /// The op's name, as in [`OPS`].
    pub fn op(&self) -> &'static str {
        match self {
            OpCall::Conv1d { .. } => "conv1d",
            OpCall::ConvTranspose1d { .. } => "conv_transpose1d",
            OpCall::Linear { .. } => "linear",
            OpCall::Embedding { .. } => "embedding",
            OpCall::Lstm { .. } => "lstm",
            OpCall::Attention { .. } => "attention",
            OpCall::LayerNorm { .. } => "layer_norm",
            OpCall::AdaNorm { .. } => "ada_norm",
            OpCall::Snake { .. } => "snake",
            OpCall::Unary { .. } => "unary",
            OpCall::Add { .. } => "add",
            OpCall::Scale { .. } => "scale",
            OpCall::Concat { .. } => "concat",
            OpCall::Broadcast { .. } => "broadcast",
            OpCall::RepeatInterleave { .. } => "repeat_interleave",
            OpCall::ReflectPad { .. } => "reflect_pad",
            OpCall::Upsample { .. } => "upsample_nearest",
        }
    }

    /// The main weight's format (F32 for ops without weights).
    pub fn format(&self) -> GgmlType {
        match self {
            OpCall::Conv1d { w, .. } | OpCall::ConvTranspose1d { w, .. } | OpCall::Linear { w, .. } => w.ty(),
            OpCall::Embedding { table, .. } => table.ty(),
            OpCall::Lstm { w, .. } => w[0].ty(),
            _ => GgmlType::F32,
        }
    }

    /// Records the op on `b` and reads the result back.
    pub async fn run<B: Backend>(&self, b: &B) -> Result<Vec<f32>> {
        let up = |i: &Input| b.upload(&i.shape, &i.data);
        let load = |w: &Weight| b.load_weight(w);
        let load_opt = |w: &Option<Weight>| w.as_ref().map(load).transpose();
        let y = match self {
            OpCall::Conv1d { x, w, bias, params } => b.conv1d(&up(x)?, &load(w)?, load_opt(bias)?.as_ref(), *params)?,
            OpCall::ConvTranspose1d { x, w, bias, params } => b.conv_transpose1d(&up(x)?, &load(w)?, load_opt(bias)?.as_ref(), *params)?,
            OpCall::Linear { x, w, bias } => b.linear(&up(x)?, &load(w)?, load_opt(bias)?.as_ref())?,
            OpCall::Embedding { table, ids } => b.embedding(&load(table)?, ids)?,
            OpCall::Lstm { x, w, reverse } => {
                let w = [load(&w[0])?, load(&w[1])?, load(&w[2])?, load(&w[3])?];
                b.lstm(&up(x)?, &LstmWeights::from(&w), *reverse)?
            }
            OpCall::Attention { q, k, v, heads } => b.attention(&up(q)?, &up(k)?, &up(v)?, *heads)?,
            OpCall::LayerNorm { x, gamma, beta } => b.layer_norm(&up(x)?, &load(gamma)?, &load(beta)?, 1e-5)?,
            OpCall::AdaNorm { x, style_params, kind } => b.ada_norm(&up(x)?, &up(style_params)?, *kind, 1e-5)?,
            OpCall::Snake { x, alpha } => b.snake(&up(x)?, &load(alpha)?)?,
            OpCall::Unary { x, op } => b.unary(&up(x)?, *op)?,
            OpCall::Add { a, b: second } => b.add(&up(a)?, &up(second)?)?,
            OpCall::Scale { x, s } => b.scale(&up(x)?, *s)?,
            OpCall::Concat { parts } => {
                let parts = parts.iter().map(up).collect::<Result<Vec<_>>>()?;
                b.concat(&parts.iter().collect::<Vec<_>>())?
            }
            OpCall::Broadcast { column, t } => b.broadcast(&up(column)?, *t)?,
            OpCall::RepeatInterleave { x, counts } => b.repeat_interleave(&up(x)?, counts)?,
            OpCall::ReflectPad { x, left, right } => b.reflect_pad(&up(x)?, *left, *right)?,
            OpCall::Upsample { x, factor } => b.upsample_nearest(&up(x)?, *factor)?,
        };
        b.read(&y).await
    }
}

/// A named op call, its tolerance, and whether the reference refuses it (an edge case every
/// backend must refuse too).
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub call: OpCall,
    /// Largest allowed `max |got − reference| / max(1, max |reference|)`.
    pub tolerance: f32,
}

/// Tolerances: data movement is exact; elementwise functions differ from f64 by f32 rounding;
/// sums of up to a few thousand products by accumulation order (GPU fused multiply-adds,
/// SIMD lanes). Far below what an indexing or decoding bug gives (≥ 1e-2).
const EXACT: f32 = 0.0;
const ELEMENTWISE: f32 = 2e-6;
const REDUCTION: f32 = 2e-5;

/// Largest |a − b| divided by max(1, max |b|); infinite when lengths differ or `a` is not finite.
/// Scaled by the output's magnitude, not elementwise, because sums cancel to near zero where
/// elementwise relative error means nothing.
pub fn max_rel_error(got: &[f32], expected: &[f32]) -> f32 {
    if got.len() != expected.len() {
        return f32::INFINITY;
    }
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    got.iter().zip(expected).fold(0.0f32, |m, (a, b)| if a.is_finite() { m.max((a - b).abs() / scale) } else { f32::INFINITY })
}

/// Case inputs from SplitMix64: identical on every target.
struct Rng(SplitMix64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0.uniform()
    }

    fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform() * scale).collect()
    }

    fn input(&mut self, shape: &[usize]) -> Input {
        Input { shape: shape.to_vec(), data: self.values(shape.iter().product(), 1.0) }
    }

    /// A weight scaled like PyTorch's default init (±1/√fan_in), stored as `ty`.
    fn weight(&mut self, shape: &[usize], ty: GgmlType) -> Weight {
        let fan_in: usize = shape[1..].iter().product::<usize>().max(1);
        let values = self.values(shape.iter().product(), 1.0 / (fan_in as f32).sqrt());
        Weight::quantize(shape, &values, ty).expect("finite values quantize")
    }

    fn vector(&mut self, n: usize, offset: f32) -> Weight {
        Weight::f32(&[n], self.values(n, 0.5).into_iter().map(|v| v + offset).collect()).expect("shape fits")
    }
}

fn conv(stride: usize, padding: usize, dilation: usize) -> Conv1dParams {
    Conv1dParams { stride, padding, dilation }
}

fn convt(stride: usize, padding: usize, output_padding: usize, groups: usize) -> ConvTransposeParams {
    ConvTransposeParams { stride, padding, output_padding, groups }
}

/// Every case: weight-taking ops at the shapes Kokoro uses, in every format; the others at
/// Kokoro shapes and edges; and inputs every backend must refuse.
pub fn cases() -> Vec<Case> {
    let mut rng = Rng(SplitMix64(0x0074_170e));
    let mut out = Vec::new();
    let mut case = |name: String, call: OpCall, tolerance: f32| out.push(Case { name, call, tolerance });

    for ty in WEIGHT_FORMATS {
        let f = ty.name();
        // Rows of 64·3 = 192 and 48·11 = 528 values are not block multiples: padding exercised.
        case(format!("conv1d_k3_d3_{f}"), OpCall::Conv1d { x: rng.input(&[64, 37]), w: rng.weight(&[24, 64, 3], ty), bias: Some(rng.vector(24, 0.0)), params: conv(1, 3, 3) }, REDUCTION);
        case(format!("conv1d_k11_d5_{f}"), OpCall::Conv1d { x: rng.input(&[48, 60]), w: rng.weight(&[16, 48, 11], ty), bias: Some(rng.vector(16, 0.0)), params: conv(1, 25, 5) }, REDUCTION);
        case(format!("conv1d_k1_nobias_{f}"), OpCall::Conv1d { x: rng.input(&[256, 9]), w: rng.weight(&[20, 256, 1], ty), bias: None, params: conv(1, 0, 1) }, REDUCTION);
        case(format!("conv1d_noise_stride6_{f}"), OpCall::Conv1d { x: rng.input(&[22, 61]), w: rng.weight(&[32, 22, 12], ty), bias: Some(rng.vector(32, 0.0)), params: conv(6, 3, 1) }, REDUCTION);
        case(format!("conv_transpose1d_up_s5_{f}"), OpCall::ConvTranspose1d { x: rng.input(&[40, 13]), w: rng.weight(&[40, 20, 10], ty), bias: Some(rng.vector(20, 0.0)), params: convt(5, 2, 0, 1) }, REDUCTION);
        case(format!("conv_transpose1d_depthwise_pool_{f}"), OpCall::ConvTranspose1d { x: rng.input(&[96, 15]), w: rng.weight(&[96, 1, 3], ty), bias: Some(rng.vector(96, 0.0)), params: convt(2, 1, 1, 96) }, REDUCTION);
        case(format!("linear_{f}"), OpCall::Linear { x: rng.input(&[300, 7]), w: rng.weight(&[70, 300], ty), bias: Some(rng.vector(70, 0.0)) }, REDUCTION);
        case(format!("embedding_{f}"), OpCall::Embedding { table: rng.weight(&[50, 96], ty), ids: vec![0, 49, 7, 7, 23] }, EXACT);
        let (inp, h) = (40, 24);
        let lstm_w = [rng.weight(&[4 * h, inp], ty), rng.weight(&[4 * h, h], ty), rng.vector(4 * h, 0.0), rng.vector(4 * h, 0.0)];
        case(format!("lstm_reverse_{f}"), OpCall::Lstm { x: rng.input(&[inp, 19]), w: lstm_w, reverse: true }, REDUCTION);
    }

    // Weight-free ops and geometry edges (F32 weights).
    let f32w = GgmlType::F32;
    case("conv1d_stride2_down".into(), OpCall::Conv1d { x: rng.input(&[1, 33]), w: rng.weight(&[1, 1, 3], f32w), bias: Some(rng.vector(1, 0.0)), params: conv(2, 1, 1) }, REDUCTION);
    case("conv1d_padding_wider_than_input".into(), OpCall::Conv1d { x: rng.input(&[3, 2]), w: rng.weight(&[5, 3, 3], f32w), bias: Some(rng.vector(5, 0.0)), params: conv(1, 4, 1) }, REDUCTION);
    case("conv1d_k11_stride3_dilation2".into(), OpCall::Conv1d { x: rng.input(&[5, 40]), w: rng.weight(&[6, 5, 11], f32w), bias: Some(rng.vector(6, 0.0)), params: conv(3, 7, 2) }, REDUCTION);
    case("conv1d_single_sample".into(), OpCall::Conv1d { x: rng.input(&[1, 1]), w: rng.weight(&[1, 1, 1], f32w), bias: None, params: conv(1, 0, 1) }, REDUCTION);
    case("conv_transpose1d_k4_s2_groups2".into(), OpCall::ConvTranspose1d { x: rng.input(&[6, 9]), w: rng.weight(&[6, 2, 4], f32w), bias: None, params: convt(2, 1, 0, 2) }, REDUCTION);
    case("conv_transpose1d_single_step".into(), OpCall::ConvTranspose1d { x: rng.input(&[3, 1]), w: rng.weight(&[3, 2, 5], f32w), bias: Some(rng.vector(2, 0.0)), params: convt(3, 1, 0, 1) }, REDUCTION);
    // Wide enough for the CPU's int8 arithmetic (64 outputs and up), every remainder of its
    // tiles: 8-channel blocks, 4-channel groups, 32-step time tiles.
    case("conv1d_generator_k7_d3".into(), OpCall::Conv1d { x: rng.input(&[70, 45]), w: rng.weight(&[68, 70, 7], f32w), bias: Some(rng.vector(68, 0.0)), params: conv(1, 9, 3) }, REDUCTION);
    // More for the page's Winograd F(6,3) and F(6,4) (three taps and more; the k7 case above
    // takes F(6,4)): a tap group padded with zero taps, an odd channel, and two time pieces at
    // dilation 5.
    case("conv1d_text_encoder_k5".into(), OpCall::Conv1d { x: rng.input(&[64, 60]), w: rng.weight(&[72, 64, 5], f32w), bias: Some(rng.vector(72, 0.0)), params: conv(1, 2, 1) }, REDUCTION);
    case("conv1d_generator_k3_d5".into(), OpCall::Conv1d { x: rng.input(&[65, 300]), w: rng.weight(&[64, 65, 3], f32w), bias: Some(rng.vector(64, 0.0)), params: conv(1, 5, 5) }, REDUCTION);
    case("conv_transpose1d_upsample_64".into(), OpCall::ConvTranspose1d { x: rng.input(&[48, 21]), w: rng.weight(&[48, 64, 12], f32w), bias: Some(rng.vector(64, 0.0)), params: convt(6, 3, 0, 1) }, REDUCTION);
    // Kokoro's hidden size over as many frames as the GPU walks in three dispatches.
    let lstm_w = [rng.weight(&[1024, 48], f32w), rng.weight(&[1024, 256], f32w), rng.vector(1024, 0.0), rng.vector(1024, 0.0)];
    case("lstm_hidden256_300_frames".into(), OpCall::Lstm { x: rng.input(&[48, 300]), w: lstm_w, reverse: false }, REDUCTION);
    case("lstm_forward_single_step".into(), OpCall::Lstm { x: rng.input(&[8, 1]), w: [rng.weight(&[16, 8], f32w), rng.weight(&[16, 4], f32w), rng.vector(16, 0.0), rng.vector(16, 0.0)], reverse: false }, REDUCTION);
    case("attention_4_heads".into(), OpCall::Attention { q: rng.input(&[64, 23]), k: rng.input(&[64, 23]), v: rng.input(&[64, 23]), heads: 4 }, REDUCTION);
    case("layer_norm".into(), OpCall::LayerNorm { x: rng.input(&[96, 17]), gamma: rng.vector(96, 1.0), beta: rng.vector(96, 0.0) }, REDUCTION);
    for (kind, name) in [(NormKind::Instance, "instance"), (NormKind::Layer, "layer")] {
        case(format!("ada_norm_{name}"), OpCall::AdaNorm { x: rng.input(&[64, 45]), style_params: rng.input(&[128, 1]), kind }, REDUCTION);
        case(format!("ada_norm_{name}_one_step"), OpCall::AdaNorm { x: rng.input(&[8, 1]), style_params: rng.input(&[16, 1]), kind }, REDUCTION);
    }
    case("snake".into(), OpCall::Snake { x: rng.input(&[32, 50]), alpha: Weight::f32(&[1, 32, 1], rng.values(32, 0.5).into_iter().map(|v| v + 1.0).collect()).expect("shape fits") }, ELEMENTWISE);
    for op in [Unary::GeluTanh, Unary::LeakyRelu(0.2), Unary::Sigmoid, Unary::Tanh, Unary::Exp, Unary::Sin] {
        case(format!("unary_{op:?}").to_lowercase().replace(['(', ')', '.'], "_"), OpCall::Unary { x: rng.input(&[7, 33]), op }, ELEMENTWISE);
    }
    case("add".into(), OpCall::Add { a: rng.input(&[5, 31]), b: rng.input(&[5, 31]) }, ELEMENTWISE);
    case("scale".into(), OpCall::Scale { x: rng.input(&[5, 31]), s: std::f32::consts::FRAC_1_SQRT_2 }, ELEMENTWISE);
    case("concat_three".into(), OpCall::Concat { parts: vec![rng.input(&[64, 12]), rng.input(&[1, 12]), rng.input(&[1, 12])] }, EXACT);
    case("broadcast".into(), OpCall::Broadcast { column: rng.input(&[16, 1]), t: 21 }, EXACT);
    case("repeat_interleave".into(), OpCall::RepeatInterleave { x: rng.input(&[6, 5]), counts: vec![3, 0, 1, 7, 2] }, EXACT);
    case("reflect_pad".into(), OpCall::ReflectPad { x: rng.input(&[4, 9]), left: 1, right: 3 }, EXACT);
    case("upsample_nearest".into(), OpCall::Upsample { x: rng.input(&[4, 9]), factor: 2 }, EXACT);

    // Inputs every backend must refuse with an error.
    let empty = Input { shape: vec![3, 0], data: vec![] };
    case("refuse_conv1d_empty_input".into(), OpCall::Conv1d { x: empty.clone(), w: rng.weight(&[2, 3, 3], f32w), bias: None, params: conv(1, 1, 1) }, EXACT);
    case("refuse_conv1d_kernel_beyond_input".into(), OpCall::Conv1d { x: rng.input(&[3, 4]), w: rng.weight(&[2, 3, 3], f32w), bias: None, params: conv(1, 0, 3) }, EXACT);
    case("refuse_conv_transpose1d_empty_input".into(), OpCall::ConvTranspose1d { x: empty.clone(), w: rng.weight(&[3, 2, 4], f32w), bias: None, params: convt(2, 1, 0, 1) }, EXACT);
    case("refuse_linear_wrong_width".into(), OpCall::Linear { x: rng.input(&[5, 3]), w: rng.weight(&[4, 6], f32w), bias: None }, EXACT);
    case("refuse_embedding_id_outside_table".into(), OpCall::Embedding { table: rng.weight(&[4, 8], f32w), ids: vec![4] }, EXACT);
    case("refuse_layer_norm_empty_input".into(), OpCall::LayerNorm { x: empty.clone(), gamma: rng.vector(3, 1.0), beta: rng.vector(3, 0.0) }, EXACT);
    case("refuse_ada_norm_wrong_params".into(), OpCall::AdaNorm { x: rng.input(&[4, 5]), style_params: rng.input(&[4, 1]), kind: NormKind::Instance }, EXACT);
    case("refuse_concat_time_mismatch".into(), OpCall::Concat { parts: vec![rng.input(&[2, 3]), rng.input(&[2, 4])] }, EXACT);
    case("refuse_reflect_pad_too_wide".into(), OpCall::ReflectPad { x: rng.input(&[2, 3]), left: 3, right: 0 }, EXACT);
    out
}

/// How one case went on one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// The backend has no kernel for this op or weight format yet.
    Unsupported,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseReport {
    pub name: String,
    pub op: &'static str,
    pub format: &'static str,
    pub outcome: Outcome,
    pub max_rel_error: f32,
    pub tolerance: f32,
    /// What went wrong, or the expected refusal's message.
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub backend: String,
    pub cases: Vec<CaseReport>,
    /// Every case passed or is unsupported; none failed.
    pub pass: bool,
    pub passed: usize,
    pub unsupported: usize,
    pub failed: usize,
}

impl Report {
    /// `(op, passed, unsupported, failed)` per op of [`OPS`], in that order.
    pub fn by_op(&self) -> Vec<(&'static str, usize, usize, usize)> {
        OPS.iter()
            .map(|&op| {
                let of = |o: Outcome| self.cases.iter().filter(|c| c.op == op && c.outcome == o).count();
                (op, of(Outcome::Pass), of(Outcome::Unsupported), of(Outcome::Fail))
            })
            .collect()
    }
}

/// Runs one case on `backend` and judges it against the reference.
pub async fn run_case<B: Backend>(backend: &B, case: &Case) -> CaseReport {
    // Convolutions may also carry the backend's own arithmetic error (int8).
    let tolerance = if matches!(case.call, OpCall::Conv1d { .. } | OpCall::ConvTranspose1d { .. }) { case.tolerance.max(backend.convolution_error()) } else { case.tolerance };
    let expected = case.call.run(&ReferenceBackend).await;
    let got = case.call.run(backend).await;
    let (outcome, err, message) = match (expected, got) {
        (Ok(want), Ok(got)) => {
            let err = max_rel_error(&got, &want);
            let outcome = if err <= tolerance { Outcome::Pass } else { Outcome::Fail };
            (outcome, err, None)
        }
        (_, Err(e @ (Error::Unsupported { .. } | Error::WeightFormat { .. }))) => (Outcome::Unsupported, f32::NAN, Some(e.to_string())),
        (Err(_), Err(e)) => (Outcome::Pass, 0.0, Some(e.to_string())),
        (Ok(_), Err(e)) => (Outcome::Fail, f32::INFINITY, Some(e.to_string())),
        (Err(e), Ok(_)) => (Outcome::Fail, f32::INFINITY, Some(format!("accepted what the reference refuses: {e}"))),
    };
    CaseReport { name: case.name.clone(), op: case.call.op(), format: case.call.format().name(), outcome, max_rel_error: err, tolerance, message }
}

/// Runs every case on `backend`.
pub async fn run<B: Backend>(backend: &B) -> Report {
    let mut reports = Vec::new();
    for case in cases() {
        reports.push(run_case(backend, &case).await);
    }
    let count = |o: Outcome| reports.iter().filter(|c| c.outcome == o).count();
    let (passed, unsupported, failed) = (count(Outcome::Pass), count(Outcome::Unsupported), count(Outcome::Fail));
    Report { backend: backend.name(), cases: reports, pass: failed == 0, passed, unsupported, failed }
}
