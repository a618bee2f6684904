//! F16

use super::*;

/// One little-endian IEEE binary16 (ggml's `ggml_half`).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct F16Bytes([u8; 2]);

impl Block<1> for F16Bytes {
    const TYPE: GgmlType = GgmlType::F16;

    fn decode(&self, y: &mut [f32; 1]) {
        y[0] = half(self.0);
    }

    fn value(&self, _: usize) -> f32 {
        f16::from_bits(u16::from_le_bytes(self.0)).to_f32()
    }

    fn encode(x: &[f32; 1]) -> Result<Self> {
        Ok(Self(f16::from_f32(x[0]).to_le_bytes()))
    }
}

const _: () = assert!(size_of::<F16Bytes>() == 2);
