//! Weights on the GPU: packed blocks transcoded at load into 4-byte-aligned segments (quants |
//! high bits or sub-scales | f16 scales) that `shaders/lib/weights/<format>.wgsl` decodes one
//! element at a time, in the shader. Single-row weights (biases, norm and snake parameters) are
//! decoded to f32 at load: they are small and every kernel reads them as plain floats.

use bytemuck::{Pod, Zeroable};

use crate::backend::Weight;
use crate::error::{Error, Result};
use crate::quant::{padded_row_len, GgmlType};

/// Mirrors `WeightLayout` in `shaders/lib/weights/layout.wgsl`: element `e = row · row_stride +
/// column` of a weight; `extra` and `scales` are the word offsets of the second and third segments.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub(super) struct WeightLayout {
    pub row_stride: u32,
    pub extra: u32,
    pub scales: u32,
    pub _pad: u32,
}

/// Byte ranges of one block's fields: (quants, high bits or sub-scales, f16 scales). None for
/// the float formats, which stay as stored.
fn fields(ty: GgmlType) -> Option<[std::ops::Range<usize>; 3]> {
    Some(match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => return None,
        GgmlType::Q8_0 => [2..34, 0..0, 0..2],
        GgmlType::Q4_0 => [2..18, 0..0, 0..2],
        GgmlType::Q5_0 => [6..22, 2..6, 0..2],
        GgmlType::Q4_K => [16..144, 4..16, 0..4],
        GgmlType::Q2_K => [16..80, 0..16, 80..84],
        GgmlType::TQ1_0 => [0..48, 48..52, 52..54],
        GgmlType::TQ2_0 => [0..64, 0..0, 64..66],
    })
}

/// The bytes the GPU stores for `weight` (a whole number of u32 words, at least one), its
/// layout, and the format the shader decodes.
pub(super) fn transcode(weight: &Weight) -> Result<(Vec<u8>, WeightLayout, GgmlType)> {
    let too_large = || Error::Gpu(format!("weight {:?} has more elements than the GPU kernels' 32-bit indices address", weight.shape()));
    let (ty, bytes) = if weight.rows() == 1 && weight.ty() != GgmlType::F32 {
        (GgmlType::F32, bytemuck::cast_slice::<f32, u8>(&weight.to_f32()).to_vec())
    } else {
        (weight.ty(), weight.bytes().to_vec())
    };
    let row_stride = padded_row_len(weight.row_len(), ty);
    u32::try_from(row_stride.checked_mul(weight.rows()).ok_or_else(too_large)?).map_err(|_| too_large())?;
    let mut layout = WeightLayout { row_stride: row_stride as u32, ..Default::default() };
    let Some(ranges) = fields(ty) else {
        return Ok((padded(bytes), layout, ty));
    };
    let mut segments: [Vec<u8>; 3] = Default::default();
    for block in bytes.chunks_exact(ty.type_size()) {
        for (segment, range) in segments.iter_mut().zip(&ranges) {
            segment.extend_from_slice(&block[range.clone()]);
        }
    }
    let [quants, extra, scales] = segments.map(padded);
    let words = |b: &Vec<u8>| u32::try_from(b.len() / 4).map_err(|_| too_large());
    layout.extra = words(&quants)?;
    layout.scales = layout.extra + words(&extra)?;
    Ok(([quants, extra, scales].concat(), layout, ty))
}

/// Zero bytes up to whole words (storage buffers hold u32).
fn padded(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    bytes
}
