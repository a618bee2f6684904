//! Q4_0: 32 × 4-bit · d

use super::*;

/// `block_q4_0`: byte j holds value j in its low nibble and value j+16 in its high nibble;
/// a value is `(nibble − 8)·d`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ4_0 {
    d: [u8; 2],
    qs: [u8; 16],
}

impl Block<32> for BlockQ4_0 {
    const TYPE: GgmlType = GgmlType::Q4_0;

    fn decode(&self, y: &mut [f32; 32]) {
        let d = half(self.d);
        let (lo, hi) = y.split_at_mut(16);
        for ((a, b), &q) in lo.iter_mut().zip(hi).zip(&self.qs) {
            *a = f32::from(i16::from(q & 0xF) - 8) * d;
            *b = f32::from(i16::from(q >> 4) - 8) * d;
        }
    }

    fn value(&self, j: usize) -> f32 {
        let nibble = if j < 16 { self.qs[j] & 0xF } else { self.qs[j - 16] >> 4 };
        (f32::from(nibble) - 8.0) * half(self.d)
    }

    /// `quantize_row_q4_0_ref`: `d = max/−8` with max the signed absmax, level `trunc(x/d + 8.5)`
    /// capped at 15.
    fn encode(x: &[f32; 32]) -> Result<Self> {
        let d = signed_absmax(x) / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let block = Self { d: f16_scale(d, Self::TYPE)?, qs: [0; 16] };
        Ok(block.with_levels(&x.map(|v| offset_trunc(v, id, 8.5).min(15))))
    }
}

impl GridBlock<32> for BlockQ4_0 {
    fn levels(&self, _j: usize) -> Levels {
        let d = half(self.d);
        Levels { step: d, offset: -8.0 * d, max: 15 }
    }

    fn with_levels(&self, l: &[u8; 32]) -> Self {
        Self { d: self.d, qs: std::array::from_fn(|j| l[j] | (l[j + 16] << 4)) }
    }

    fn scales(&self) -> [f32; 2] {
        [half(self.d), 0.0]
    }

    fn with_scales(&self, s: [f32; 2]) -> Option<Self> {
        Some(Self { d: f16_bytes(s[0])?, ..*self })
    }
}

const _: () = assert!(size_of::<BlockQ4_0>() == 18);
