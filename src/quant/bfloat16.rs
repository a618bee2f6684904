//! BF16

use super::*;

/// One little-endian bfloat16: the top half of an f32.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct Bf16Bytes([u8; 2]);

impl Block<1> for Bf16Bytes {
    const TYPE: GgmlType = GgmlType::BF16;

    /// A plain shift, as ggml does (`half`'s `to_f32` would also quiet signaling NaNs).
    fn decode(&self, y: &mut [f32; 1]) {
        y[0] = f32::from_bits(u32::from(u16::from_le_bytes(self.0)) << 16);
    }

    fn value(&self, _: usize) -> f32 {
        f32::from_bits(u32::from(u16::from_le_bytes(self.0)) << 16)
    }

    /// Round to nearest even, NaNs kept and quieted: ggml's `ggml_compute_fp32_to_bf16`.
    fn encode(x: &[f32; 1]) -> Result<Self> {
        Ok(Self(bf16::from_f32(x[0]).to_le_bytes()))
    }
}

const _: () = assert!(size_of::<Bf16Bytes>() == 2);
