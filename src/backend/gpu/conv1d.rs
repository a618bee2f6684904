//! Launcher for `shaders/conv1d.wgsl`.

use bytemuck::{Pod, Zeroable};

use super::{GpuBackend, GpuTensor, GpuWeight};
use crate::backend::{format_error, Conv1dGeometry, Conv1dParams};
use crate::error::{Error, Result};

pub(super) const SOURCE: &str = include_str!("../../../shaders/conv1d.wgsl");
const WORKGROUP_X: usize = 64;

/// Mirrors `Params` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    c_in: u32,
    c_out: u32,
    t_in: u32,
    t_out: u32,
    k: u32,
    stride: u32,
    padding: u32,
    dilation: u32,
    has_bias: u32,
    weight_f32: u32,
    _pad: [u32; 2],
}

pub(super) fn conv1d(
    gpu: &GpuBackend,
    x: &GpuTensor,
    weight: &GpuWeight,
    bias: Option<&GpuWeight>,
    params: Conv1dParams,
) -> Result<GpuTensor> {
    let g = Conv1dGeometry::new(&x.shape, &weight.shape, bias.map(|b| b.shape.as_slice()), params)?;
    let weight_f32 = match weight.format {
        "F16" => 0,
        "F32" => 1,
        other => return Err(format_error("conv1d", "weight", "F16 or F32", other)),
    };
    if let Some(b) = bias {
        if b.format != "F32" {
            return Err(format_error("conv1d", "bias", "F32", b.format));
        }
    }
    let u32_of = |v: usize, what: &str| {
        u32::try_from(v).map_err(|_| Error::InvalidArgument {
            op: "conv1d",
            reason: format!("{what} = {v} does not fit the GPU kernel's 32-bit indices"),
        })
    };
    // Flat indices in the shader are u32.
    u32_of(g.c_in * g.t_in, "input size")?;
    u32_of(g.c_out * g.c_in * g.k, "weight size")?;
    u32_of(g.c_out * g.t_out, "output size")?;
    let p = Params {
        c_in: u32_of(g.c_in, "c_in")?,
        c_out: u32_of(g.c_out, "c_out")?,
        t_in: u32_of(g.t_in, "t_in")?,
        t_out: u32_of(g.t_out, "t_out")?,
        k: u32_of(g.k, "k")?,
        stride: u32_of(g.stride, "stride")?,
        padding: u32_of(g.padding, "padding")?,
        dilation: u32_of(g.dilation, "dilation")?,
        has_bias: bias.is_some() as u32,
        weight_f32,
        _pad: [0; 2],
    };
    let y = gpu.alloc(&[g.c_out, g.t_out])?;
    let bias_buffer = bias.map_or(&gpu.zero_f32, |b| &b.buffer);
    gpu.dispatch(
        &gpu.pipelines.conv1d,
        bytemuck::bytes_of(&p),
        &[&x.buffer, &weight.buffer, bias_buffer, &y.buffer],
        [g.t_out.div_ceil(WORKGROUP_X), g.c_out, 1],
    )?;
    Ok(y)
}
