//! Q5_0: 32 × 5-bit · d

use super::*;

/// `block_q5_0`: as Q4_0, plus bit j of the little-endian u32 `qh` as bit 4 of value j;
/// a value is `(q − 16)·d`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ5_0 {
    d: [u8; 2],
    qh: [u8; 4],
    qs: [u8; 16],
}

impl Block<32> for BlockQ5_0 {
    const TYPE: GgmlType = GgmlType::Q5_0;

    fn decode(&self, y: &mut [f32; 32]) {
        let d = half(self.d);
        let qh = u32::from_le_bytes(self.qh);
        let high = |j: usize| ((qh >> j) & 1) as u8;
        let (lo, hi) = y.split_at_mut(16);
        for (j, ((a, b), &q)) in lo.iter_mut().zip(hi).zip(&self.qs).enumerate() {
            *a = f32::from(i16::from((q & 0xF) | (high(j) << 4)) - 16) * d;
            *b = f32::from(i16::from((q >> 4) | (high(j + 16) << 4)) - 16) * d;
        }
    }

    fn value(&self, j: usize) -> f32 {
        let nibble = if j < 16 { self.qs[j] & 0xF } else { self.qs[j - 16] >> 4 };
        let high = (u32::from_le_bytes(self.qh) >> j) & 1;
        (f32::from(nibble) + 16.0 * high as f32 - 16.0) * half(self.d)
    }

    /// `quantize_row_q5_0_ref`: `d = max/−16`, level `trunc(x/d + 16.5)` capped at 31.
    fn encode(x: &[f32; 32]) -> Result<Self> {
        let d = signed_absmax(x) / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let block = Self { d: f16_scale(d, Self::TYPE)?, qh: [0; 4], qs: [0; 16] };
        Ok(block.with_levels(&x.map(|v| offset_trunc(v, id, 16.5).min(31))))
    }
}

impl GridBlock<32> for BlockQ5_0 {
    fn levels(&self, _j: usize) -> Levels {
        let d = half(self.d);
        Levels { step: d, offset: -16.0 * d, max: 31 }
    }

    fn with_levels(&self, l: &[u8; 32]) -> Self {
        let qh = (0..32).fold(0u32, |qh, j| qh | u32::from(l[j] >> 4) << j);
        Self { d: self.d, qh: qh.to_le_bytes(), qs: std::array::from_fn(|j| (l[j] & 0xF) | ((l[j + 16] & 0xF) << 4)) }
    }

    fn scales(&self) -> [f32; 2] {
        [half(self.d), 0.0]
    }

    fn with_scales(&self, s: [f32; 2]) -> Option<Self> {
        Some(Self { d: f16_bytes(s[0])?, ..*self })
    }
}

const _: () = assert!(size_of::<BlockQ5_0>() == 22);
