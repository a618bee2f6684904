//! Q2_K: 16 sub-blocks of 16 × 2-bit, 4-bit scales and mins

use super::*;

/// `block_q2_K`: value = `d·(s & 15)·q − dmin·(s >> 4)` with `s = scales[e/16]`. Value
/// `e = 128h + 32p + l` (`l < 32`) is bits `2p..2p+2` of `qs[32h + l]`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ2_K {
    scales: [u8; 16],
    qs: [u8; 64],
    d: [u8; 2],
    dmin: [u8; 2],
}

/// Where sub-block `s < 16` lives in `qs`: its first byte and the bit shift of its 2-bit plane.
pub(super) fn q2k_place(s: usize) -> (usize, usize) {
    let (h, r) = (s / 8, s % 8);
    (32 * h + 16 * (r % 2), 2 * (r / 2))
}

impl Block<QK_K> for BlockQ2_K {
    const TYPE: GgmlType = GgmlType::Q2_K;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let (d, dmin) = (half(self.d), half(self.dmin));
        for (s, (ys, &sc)) in y.chunks_exact_mut(16).zip(&self.scales).enumerate() {
            let (dl, ml) = (d * f32::from(sc & 0xF), dmin * f32::from(sc >> 4));
            let (base, shift) = q2k_place(s);
            for (v, &q) in ys.iter_mut().zip(&self.qs[base..base + 16]) {
                *v = dl * f32::from((q >> shift) & 3) - ml;
            }
        }
    }

    fn value(&self, j: usize) -> f32 {
        // value e = 128h + 32p + l sits in bits 2p..2p+2 of qs[32h + l]
        let (h, p, l) = (j / 128, j % 128 / 32, j % 32);
        let q = (self.qs[32 * h + l] >> (2 * p)) & 3;
        let s = self.scales[j / 16];
        half(self.d) * f32::from(s & 0xF) * f32::from(q) - half(self.dmin) * f32::from(s >> 4)
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let mut fits = [(0.0f32, 0.0f32); 16];
        for (fit, xs) in fits.iter_mut().zip(x.chunks_exact(16)) {
            *fit = fit_scale_min(xs, 3.0);
        }
        let (d, ls) = quantize_scales(fits.map(|f| f.0), 15.0);
        let (dmin, lm) = quantize_scales(fits.map(|f| f.1), 15.0);
        let block = Self {
            d: f16_scale(d, Self::TYPE)?,
            dmin: f16_scale(dmin, Self::TYPE)?,
            scales: std::array::from_fn(|s| ls[s] | (lm[s] << 4)),
            qs: [0; 64],
        };
        Ok(block.with_levels(&std::array::from_fn(|e| block.levels(e).nearest(x[e]))))
    }
}

impl GridBlock<QK_K> for BlockQ2_K {
    fn levels(&self, e: usize) -> Levels {
        let s = self.scales[e / 16];
        Levels { step: half(self.d) * f32::from(s & 0xF), offset: -half(self.dmin) * f32::from(s >> 4), max: 3 }
    }

    fn with_levels(&self, l: &[u8; QK_K]) -> Self {
        let mut block = Self { qs: [0; 64], ..*self };
        for (s, ls) in l.chunks_exact(16).enumerate() {
            let (base, shift) = q2k_place(s);
            for (q, &v) in block.qs[base..base + 16].iter_mut().zip(ls) {
                *q |= v << shift;
            }
        }
        block
    }

    fn scales(&self) -> [f32; 2] {
        [half(self.d), half(self.dmin)]
    }

    fn with_scales(&self, s: [f32; 2]) -> Option<Self> {
        Some(Self { d: f16_bytes(s[0])?, dmin: f16_bytes(s[1])?, ..*self })
    }
}

const _: () = assert!(size_of::<BlockQ2_K>() == 84);
