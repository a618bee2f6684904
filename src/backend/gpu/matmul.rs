//! Kernels that read packed weights: convolutions, `linear`, the LSTM and `embedding`.

use bytemuck::{Pod, Zeroable};

use super::shaders::{CONV1D, CONV_TRANSPOSE1D, EMBEDDING, LSTM, LSTM_WEIGHTS};
use super::weights::WeightLayout;
use super::{u32_of, GpuBackend, GpuTensor, GpuWeight};
use crate::backend::{shapes, Conv1dGeometry, Conv1dParams, ConvTransposeGeometry, ConvTransposeParams, LstmWeights};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Mirrors `Params` in `shaders/conv1d.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ConvParams {
    w: WeightLayout,
    c_in: u32,
    c_out: u32,
    t_in: u32,
    t_out: u32,
    k: u32,
    stride: u32,
    padding: u32,
    dilation: u32,
    has_bias: u32,
    _pad: [u32; 3],
}

/// Output tile side of `shaders/conv1d.wgsl`.
const TILE: usize = 64;

/// Records the tiled product of `shaders/conv1d.wgsl` for geometry `g`.
fn tiled(gpu: &GpuBackend, op: &'static str, x: &GpuTensor, w: &GpuWeight, bias: Option<&GpuWeight>, g: &Conv1dGeometry) -> Result<GpuTensor> {
    let u = |v: usize, what: &str| u32_of(op, what, v);
    u(g.c_in * g.t_in, "input size")?;
    let p = ConvParams {
        w: w.layout,
        c_in: u(g.c_in, "c_in")?,
        c_out: u(g.c_out, "c_out")?,
        t_in: u(g.t_in, "t_in")?,
        t_out: u(g.t_out, "t_out")?,
        k: u(g.k, "k")?,
        stride: u(g.stride, "stride")?,
        padding: u(g.padding, "padding")?,
        dilation: u(g.dilation, "dilation")?,
        has_bias: bias.is_some() as u32,
        _pad: [0; 3],
    };
    let y = gpu.alloc(op, &[g.c_out, g.t_out])?;
    let bias = gpu.vector_or_zero(op, "bias", bias)?;
    let groups = [u(g.t_out.div_ceil(TILE), "time tiles")?, u(g.c_out.div_ceil(TILE), "channel tiles")?, 1];
    gpu.launch(op, CONV1D, w.ty, &p, &[&x.buffer, &w.buffer, bias, &y.buffer], groups)?;
    Ok(y)
}

pub(super) fn conv1d(gpu: &GpuBackend, x: &GpuTensor, w: &GpuWeight, bias: Option<&GpuWeight>, params: Conv1dParams) -> Result<GpuTensor> {
    let g = Conv1dGeometry::new(&x.shape, &w.shape, bias.map(|b| b.shape.as_slice()), params)?;
    tiled(gpu, "conv1d", x, w, bias, &g)
}

pub(super) fn linear(gpu: &GpuBackend, x: &GpuTensor, w: &GpuWeight, bias: Option<&GpuWeight>) -> Result<GpuTensor> {
    let (out, inp) = crate::backend::rank2("linear", "weight", &w.shape)?;
    let g = Conv1dGeometry::new(&x.shape, &[out, inp, 1], bias.map(|b| b.shape.as_slice()), Conv1dParams::default())?;
    tiled(gpu, "linear", x, w, bias, &g)
}

/// Mirrors `Params` in `shaders/conv_transpose1d.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ConvTransposeUniform {
    w: WeightLayout,
    c_out: u32,
    t_in: u32,
    t_out: u32,
    k: u32,
    stride: u32,
    padding: u32,
    per_in: u32,
    per_out: u32,
    has_bias: u32,
    _pad: [u32; 3],
}

pub(super) fn conv_transpose1d(gpu: &GpuBackend, x: &GpuTensor, w: &GpuWeight, bias: Option<&GpuWeight>, params: ConvTransposeParams) -> Result<GpuTensor> {
    const OP: &str = "conv_transpose1d";
    let g = ConvTransposeGeometry::new(&x.shape, &w.shape, bias.map(|b| b.shape.as_slice()), params)?;
    let u = |v: usize, what: &str| u32_of(OP, what, v);
    u(g.c_in * g.t_in, "input size")?;
    let p = ConvTransposeUniform {
        w: w.layout,
        c_out: u(g.c_out, "c_out")?,
        t_in: u(g.t_in, "t_in")?,
        t_out: u(g.t_out, "t_out")?,
        k: u(g.k, "k")?,
        stride: u(g.stride, "stride")?,
        padding: u(g.padding, "padding")?,
        per_in: u(g.per_group_in(), "input channels per group")?,
        per_out: u(g.per_group_out(), "output channels per group")?,
        has_bias: bias.is_some() as u32,
        _pad: [0; 3],
    };
    let y = gpu.alloc(OP, &[g.c_out, g.t_out])?;
    let bias = gpu.vector_or_zero(OP, "bias", bias)?;
    let groups = [u(g.t_out.div_ceil(64), "time groups")?, u(g.c_out, "c_out")?, 1];
    gpu.launch(OP, CONV_TRANSPOSE1D, w.ty, &p, &[&x.buffer, &w.buffer, bias, &y.buffer], groups)?;
    Ok(y)
}

/// Mirrors `Params` in `shaders/lstm.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LstmParams {
    hidden: u32,
    steps: u32,
    reverse: u32,
    first: u32,
    count: u32,
    _pad: [u32; 3],
}

/// Mirrors `Params` in `shaders/lstm_weights.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LstmWeightsParams {
    w: WeightLayout,
    rows: u32,
    cols: u32,
    _pad: [u32; 2],
}

/// `MAX_HIDDEN` in `shaders/lstm.wgsl`: the recurrent state lives in workgroup memory.
const MAX_HIDDEN: usize = 512;

/// Loop iterations one invocation of the recurrence may run per dispatch: half of llvmpipe's
/// limit (65,535 in all), the rest left to the bookkeeping loops.
const ITERATIONS_PER_DISPATCH: usize = 32_768;

/// The input projection of every step as one tiled product, w_hh decoded and transposed, then
/// the recurrence as a persistent workgroup, in as many dispatches as keep each invocation's
/// loops bounded.
pub(super) fn lstm(gpu: &GpuBackend, x: &GpuTensor, lw: &LstmWeights<'_, GpuWeight>, reverse: bool) -> Result<GpuTensor> {
    const OP: &str = "lstm";
    let (h, t) = shapes::lstm(&x.shape, &lw.w_ih.shape, &lw.w_hh.shape, &lw.b_ih.shape, &lw.b_hh.shape)?;
    if h > MAX_HIDDEN {
        return Err(Error::InvalidArgument { op: OP, reason: format!("hidden size {h} exceeds the GPU kernel's {MAX_HIDDEN}") });
    }
    let g = Conv1dGeometry::new(&x.shape, &[4 * h, x.shape[0], 1], Some(&[4 * h]), Conv1dParams::default())?;
    let gates = tiled(gpu, OP, x, lw.w_ih, Some(lw.b_ih), &g)?;
    let y = gpu.alloc(OP, &[h, t])?;
    // h then c between dispatches (the first starts from zero itself)
    let state = gpu.alloc(OP, &[2 * h])?;
    let b_hh = gpu.vector_or_zero(OP, "b_hh", Some(lw.b_hh))?;
    let wt = gpu.alloc(OP, &[h, 4 * h])?;
    let p = LstmWeightsParams { w: lw.w_hh.layout, rows: 4 * h as u32, cols: h as u32, _pad: [0; 2] };
    gpu.launch(OP, LSTM_WEIGHTS, lw.w_hh.ty, &p, &[&lw.w_hh.buffer, &wt.buffer], gpu.flat_groups(OP, 4 * h * h)?)?;
    // per step: h iterations (one per column) for each of the invocation's units
    let per_step = h.max(1) * h.div_ceil(256).max(1) + 4;
    let chunk = (ITERATIONS_PER_DISPATCH / per_step).max(1);
    let steps = u32_of(OP, "steps", t)?;
    for first in (0..t).step_by(chunk) {
        let count = chunk.min(t - first) as u32;
        let p = LstmParams { hidden: h as u32, steps, reverse: reverse as u32, first: first as u32, count, _pad: [0; 3] };
        gpu.launch(OP, LSTM, GgmlType::F32, &p, &[&gates.buffer, &wt.buffer, b_hh, &state.buffer, &y.buffer], [1, 1, 1])?;
    }
    Ok(y)
}

/// Mirrors `Params` in `shaders/embedding.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct EmbeddingParams {
    table: WeightLayout,
    n: u32,
    t: u32,
    _pad: [u32; 2],
}

pub(super) fn embedding(gpu: &GpuBackend, table: &GpuWeight, ids: &[u32]) -> Result<GpuTensor> {
    const OP: &str = "embedding";
    let (d, t) = shapes::embedding(&table.shape, ids)?;
    let n = u32_of(OP, "output size", d * t)?;
    let p = EmbeddingParams { table: table.layout, n, t: t as u32, _pad: [0; 2] };
    let ids = gpu.storage_buffer("ids", bytemuck::cast_slice(ids))?;
    let y = gpu.alloc(OP, &[d, t])?;
    gpu.launch(OP, EMBEDDING, table.ty, &p, &[&table.buffer, &ids, &y.buffer], gpu.flat_groups(OP, d * t)?)?;
    Ok(y)
}
