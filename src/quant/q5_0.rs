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
        let mut qs = [0u8; 16];
        let mut qh = 0u32;
        for (j, q) in qs.iter_mut().enumerate() {
            let lo = offset_trunc(x[j], id, 16.5).min(31);
            let hi = offset_trunc(x[j + 16], id, 16.5).min(31);
            *q = (lo & 0xF) | ((hi & 0xF) << 4);
            qh |= u32::from(lo >> 4) << j | u32::from(hi >> 4) << (j + 16);
        }
        Ok(Self { d: f16_scale(d, Self::TYPE)?, qh: qh.to_le_bytes(), qs })
    }
}

const _: () = assert!(size_of::<BlockQ5_0>() == 22);
