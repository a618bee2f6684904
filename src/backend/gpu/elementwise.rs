//! One invocation per output element: activations, arithmetic and data movement in time.

use bytemuck::{Pod, Zeroable};

use super::shaders::{ADD, BROADCAST, REFLECT_PAD, REPEAT_INTERLEAVE, SCALE, SNAKE, UNARY, UPSAMPLE_NEAREST};
use super::{u32_of, GpuBackend, GpuTensor, GpuWeight};
use crate::backend::{shapes, Unary};
use crate::error::Result;
use crate::quant::GgmlType;

/// The `Params` of every shader here: the output size, then up to three op-specific words.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    a: u32,
    b: u32,
    c: u32,
}

/// Records `kernel` over an output of `shape` with `params` (n filled in) and inputs `inputs`.
fn pointwise(gpu: &GpuBackend, op: &'static str, kernel: super::shaders::Kernel, shape: &[usize], mut params: Params, inputs: &[&wgpu::Buffer]) -> Result<GpuTensor> {
    let n = shape.iter().product::<usize>();
    params.n = u32_of(op, "output size", n)?;
    let y = gpu.alloc(op, shape)?;
    let buffers: Vec<&wgpu::Buffer> = inputs.iter().copied().chain([&*y.buffer]).collect();
    gpu.launch(op, kernel, GgmlType::F32, &params, &buffers, gpu.flat_groups(op, n)?)?;
    Ok(y)
}

fn params(a: u32, b: u32, c: u32) -> Params {
    Params { n: 0, a, b, c }
}

pub(super) fn unary(gpu: &GpuBackend, x: &GpuTensor, op: Unary) -> Result<GpuTensor> {
    let (code, slope) = match op {
        Unary::GeluTanh => (0, 0.0),
        Unary::LeakyRelu(slope) => (1, slope),
        Unary::Sigmoid => (2, 0.0),
        Unary::Tanh => (3, 0.0),
        Unary::Exp => (4, 0.0),
        Unary::Sin => (5, 0.0),
    };
    pointwise(gpu, "unary", UNARY, &x.shape, params(code, slope.to_bits(), 0), &[&x.buffer])
}

pub(super) fn snake(gpu: &GpuBackend, x: &GpuTensor, alpha: &GpuWeight) -> Result<GpuTensor> {
    let (c, t) = shapes::snake(&x.shape, alpha.shape.iter().product())?;
    let alpha = gpu.vector("snake", "alpha", alpha)?;
    pointwise(gpu, "snake", SNAKE, &[c, t], params(t as u32, 0, 0), &[&x.buffer, alpha])
}

pub(super) fn add(gpu: &GpuBackend, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
    shapes::same("add", &a.shape, &b.shape)?;
    pointwise(gpu, "add", ADD, &a.shape, params(0, 0, 0), &[&a.buffer, &b.buffer])
}

pub(super) fn scale(gpu: &GpuBackend, x: &GpuTensor, s: f32) -> Result<GpuTensor> {
    pointwise(gpu, "scale", SCALE, &x.shape, params(s.to_bits(), 0, 0), &[&x.buffer])
}

pub(super) fn broadcast(gpu: &GpuBackend, column: &GpuTensor, t: usize) -> Result<GpuTensor> {
    let c = shapes::broadcast(&column.shape)?;
    pointwise(gpu, "broadcast", BROADCAST, &[c, t], params(u32_of("broadcast", "t", t.max(1))?, 0, 0), &[&column.buffer])
}

pub(super) fn reflect_pad(gpu: &GpuBackend, x: &GpuTensor, left: usize, right: usize) -> Result<GpuTensor> {
    let (c, t) = shapes::reflect_pad(&x.shape, left, right)?;
    let n = t + left + right;
    let u = |v: usize, what: &str| u32_of("reflect_pad", what, v);
    pointwise(gpu, "reflect_pad", REFLECT_PAD, &[c, n], params(u(t, "t")?, u(n, "padded length")?, u(left, "left")?), &[&x.buffer])
}

pub(super) fn upsample_nearest(gpu: &GpuBackend, x: &GpuTensor, factor: usize) -> Result<GpuTensor> {
    let (c, t) = shapes::upsample(&x.shape, factor)?;
    let u = |v: usize, what: &str| u32_of("upsample_nearest", what, v);
    pointwise(gpu, "upsample_nearest", UPSAMPLE_NEAREST, &[c, t * factor], params(u(t, "t")?, u(factor, "factor")?, 0), &[&x.buffer])
}

/// The source step of every output step comes from the host, which has the counts.
pub(super) fn repeat_interleave(gpu: &GpuBackend, x: &GpuTensor, counts: &[usize]) -> Result<GpuTensor> {
    const OP: &str = "repeat_interleave";
    let (c, t, total) = shapes::repeat_interleave(&x.shape, counts)?;
    let source: Vec<u32> = counts.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat_n(i as u32, n)).collect();
    let source = gpu.storage_buffer("source steps", bytemuck::cast_slice(&source))?;
    let u = |v: usize, what: &str| u32_of(OP, what, v);
    pointwise(gpu, OP, REPEAT_INTERLEAVE, &[c, total], params(u(t, "t")?, u(total.max(1), "total")?, 0), &[&x.buffer, &source])
}

/// Parts are whole channel ranges of the output: buffer copies, no kernel.
pub(super) fn concat(gpu: &GpuBackend, parts: &[&GpuTensor]) -> Result<GpuTensor> {
    let shapes: Vec<&[usize]> = parts.iter().map(|p| p.shape.as_slice()).collect();
    let (c, t) = shapes::concat(&shapes)?;
    let y = gpu.alloc("concat", &[c, t])?;
    let mut offset = 0u64;
    for part in parts {
        let bytes = (part.shape.iter().product::<usize>() * 4) as u64;
        if bytes > 0 {
            gpu.copy(&part.buffer, &y.buffer, offset, bytes);
        }
        offset += bytes;
    }
    Ok(y)
}
