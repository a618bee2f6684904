//! Q8_0: 32 × int8 · d

use super::*;

/// `block_q8_0`: value j is `qs[j]·d`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ8_0 {
    d: [u8; 2],
    qs: [i8; 32],
}

impl Block<32> for BlockQ8_0 {
    const TYPE: GgmlType = GgmlType::Q8_0;

    fn decode(&self, y: &mut [f32; 32]) {
        let d = half(self.d);
        for (v, &q) in y.iter_mut().zip(&self.qs) {
            *v = f32::from(q) * d;
        }
    }

    fn value(&self, j: usize) -> f32 {
        f32::from(self.qs[j]) * half(self.d)
    }

    /// `quantize_row_q8_0_ref`: `d = absmax/127`, `q = round(x/d)` with the unrounded d.
    fn encode(x: &[f32; 32]) -> Result<Self> {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        Ok(Self { d: f16_scale(d, Self::TYPE)?, qs: x.map(|v| (v * id).round() as i8) })
    }
}

impl GridBlock<32> for BlockQ8_0 {
    /// `q = L − 128`: the whole i8 range (ggml's quantizer uses ±127 of it).
    fn levels(&self, _j: usize) -> Levels {
        let d = half(self.d);
        Levels { step: d, offset: -128.0 * d, max: 255 }
    }

    fn with_levels(&self, l: &[u8; 32]) -> Self {
        Self { d: self.d, qs: l.map(|l| (i16::from(l) - 128) as i8) }
    }

    fn scales(&self) -> [f32; 2] {
        [half(self.d), 0.0]
    }

    fn with_scales(&self, s: [f32; 2]) -> Option<Self> {
        Some(Self { d: f16_bytes(s[0])?, ..*self })
    }
}

const _: () = assert!(size_of::<BlockQ8_0>() == 34);
