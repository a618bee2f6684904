//! F32

use super::*;

/// One little-endian f32.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct F32Bytes([u8; 4]);

impl Block<1> for F32Bytes {
    const TYPE: GgmlType = GgmlType::F32;

    fn decode(&self, y: &mut [f32; 1]) {
        y[0] = f32::from_le_bytes(self.0);
    }

    fn value(&self, _: usize) -> f32 {
        f32::from_le_bytes(self.0)
    }

    fn encode(x: &[f32; 1]) -> Result<Self> {
        Ok(Self(x[0].to_le_bytes()))
    }
}

const _: () = assert!(size_of::<F32Bytes>() == 4);
