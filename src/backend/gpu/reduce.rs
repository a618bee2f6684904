//! Kernels that reduce across a workgroup: normalizations and attention.

use bytemuck::{Pod, Zeroable};

use super::shaders::{ADA_NORM, ATTENTION};
use super::{u32_of, GpuBackend, GpuTensor, GpuWeight};
use crate::backend::{shapes, NormKind};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Mirrors `Params` in `shaders/ada_norm.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct NormParams {
    rows: u32,
    n: u32,
    row_step: u32,
    elem_step: u32,
    eps: f32,
    plus_one: u32,
    channel_is_row: u32,
    shift_offset: u32,
}

/// Rows, reduction length and steps of `kind` over `[c, t]`, with the channel index role.
fn norm_params(op: &'static str, kind: NormKind, c: usize, t: usize, eps: f32) -> Result<NormParams> {
    u32_of(op, "input size", c * t)?;
    let (c, t) = (c as u32, t as u32);
    Ok(match kind {
        NormKind::Instance => NormParams { rows: c, n: t, row_step: t, elem_step: 1, eps, plus_one: 0, channel_is_row: 1, shift_offset: 0 },
        NormKind::Layer => NormParams { rows: t, n: c, row_step: 1, elem_step: t, eps, plus_one: 0, channel_is_row: 0, shift_offset: 0 },
    })
}

pub(super) fn layer_norm(gpu: &GpuBackend, x: &GpuTensor, gamma: &GpuWeight, beta: &GpuWeight, eps: f32) -> Result<GpuTensor> {
    const OP: &str = "layer_norm";
    let (c, t) = shapes::layer_norm(&x.shape, &gamma.shape, &beta.shape)?;
    let p = norm_params(OP, NormKind::Layer, c, t, eps)?;
    let (gamma, beta) = (gpu.vector(OP, "gamma", gamma)?, gpu.vector(OP, "beta", beta)?);
    let y = gpu.alloc(OP, &[c, t])?;
    gpu.launch(OP, ADA_NORM, GgmlType::F32, &p, &[&x.buffer, gamma, beta, &y.buffer], gpu.row_groups(OP, t)?)?;
    Ok(y)
}

pub(super) fn ada_norm(gpu: &GpuBackend, x: &GpuTensor, style: &GpuTensor, kind: NormKind, eps: f32) -> Result<GpuTensor> {
    const OP: &str = "ada_norm";
    let (c, t) = shapes::ada_norm(&x.shape, &style.shape)?;
    let p = NormParams { plus_one: 1, shift_offset: c as u32, ..norm_params(OP, kind, c, t, eps)? };
    let y = gpu.alloc(OP, &[c, t])?;
    gpu.launch(OP, ADA_NORM, GgmlType::F32, &p, &[&x.buffer, &style.buffer, &style.buffer, &y.buffer], gpu.row_groups(OP, p.rows as usize)?)?;
    Ok(y)
}

/// Mirrors `Params` in `shaders/attention.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AttentionParams {
    t: u32,
    heads: u32,
    d: u32,
    scale: f32,
}

/// `MAX_T` in `shaders/attention.wgsl`: one query's weights live in workgroup memory.
const MAX_T: usize = 1024;

pub(super) fn attention(gpu: &GpuBackend, q: &GpuTensor, k: &GpuTensor, v: &GpuTensor, heads: usize) -> Result<GpuTensor> {
    const OP: &str = "attention";
    let (c, t) = shapes::attention(&q.shape, &k.shape, &v.shape, heads)?;
    if t > MAX_T {
        return Err(Error::InvalidArgument { op: OP, reason: format!("{t} steps exceed the GPU kernel's {MAX_T}") });
    }
    let d = c / heads;
    let p = AttentionParams { t: t as u32, heads: u32_of(OP, "heads", heads)?, d: d as u32, scale: 1.0 / (d as f32).sqrt() };
    let y = gpu.alloc(OP, &[c, t])?;
    gpu.launch(OP, ATTENTION, GgmlType::F32, &p, &[&q.buffer, &k.buffer, &v.buffer, &y.buffer], [t as u32, p.heads, 1])?;
    Ok(y)
}
