//! Q4_K: 8 sub-blocks of 32 × 4-bit, 6-bit scales and mins

use super::*;

/// `block_q4_K`: value = `d·sc·q − dmin·m` with 6-bit `(sc, m)` per 32-value sub-block packed in
/// `scales` (see [`scale_min_k4`]). Byte `32g + l` of `qs` holds value `64g + l` in its low
/// nibble and value `64g + 32 + l` in its high nibble.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ4_K {
    d: [u8; 2],
    dmin: [u8; 2],
    scales: [u8; 12],
    qs: [u8; 128],
}

/// Scale and min of sub-block `j < 8`: bytes 0..4 hold scales 0..4 (+ bits 4–5 of scales 4..8 on
/// top), bytes 4..8 mins 0..4 (+ bits 4–5 of mins 4..8), bytes 8..12 low nibbles of scale and min
/// 4..8 (`get_scale_min_k4`).
pub(super) fn scale_min_k4(j: usize, s: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

impl Block<QK_K> for BlockQ4_K {
    const TYPE: GgmlType = GgmlType::Q4_K;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let (d, dmin) = (half(self.d), half(self.dmin));
        for (j, ys) in y.chunks_exact_mut(32).enumerate() {
            let (sc, m) = scale_min_k4(j, &self.scales);
            let (dl, ml) = (d * f32::from(sc), dmin * f32::from(m));
            let (base, shift) = (32 * (j / 2), 4 * (j % 2));
            for (v, &q) in ys.iter_mut().zip(&self.qs[base..base + 32]) {
                *v = dl * f32::from((q >> shift) & 0xF) - ml;
            }
        }
    }

    fn value(&self, j: usize) -> f32 {
        let sub = j / 32;
        let (sc, m) = scale_min_k4(sub, &self.scales);
        let q = (self.qs[32 * (sub / 2) + j % 32] >> (4 * (sub % 2))) & 0xF;
        half(self.d) * f32::from(sc) * f32::from(q) - half(self.dmin) * f32::from(m)
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let mut fits = [(0.0f32, 0.0f32); 8];
        for (fit, xs) in fits.iter_mut().zip(x.chunks_exact(32)) {
            *fit = fit_scale_min(xs, 15.0);
        }
        let (d, ls) = quantize_scales(fits.map(|f| f.0), 63.0);
        let (dmin, lm) = quantize_scales(fits.map(|f| f.1), 63.0);
        let mut block = Self { d: f16_scale(d, Self::TYPE)?, dmin: f16_scale(dmin, Self::TYPE)?, ..Self::zeroed() };
        for (j, (&sc, &m)) in ls.iter().zip(&lm).enumerate() {
            if j < 4 {
                block.scales[j] = sc;
                block.scales[j + 4] = m;
            } else {
                block.scales[j + 4] = (sc & 0xF) | ((m & 0xF) << 4);
                block.scales[j - 4] |= (sc >> 4) << 6;
                block.scales[j] |= (m >> 4) << 6;
            }
        }
        Ok(block.with_levels(&std::array::from_fn(|e| block.levels(e).nearest(x[e]))))
    }
}

impl GridBlock<QK_K> for BlockQ4_K {
    fn levels(&self, e: usize) -> Levels {
        let (sc, m) = scale_min_k4(e / 32, &self.scales);
        Levels { step: half(self.d) * f32::from(sc), offset: -half(self.dmin) * f32::from(m), max: 15 }
    }

    fn with_levels(&self, l: &[u8; QK_K]) -> Self {
        let mut block = Self { qs: [0; 128], ..*self };
        for (j, ls) in l.chunks_exact(32).enumerate() {
            let (base, shift) = (32 * (j / 2), 4 * (j % 2));
            for (q, &v) in block.qs[base..base + 32].iter_mut().zip(ls) {
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

const _: () = assert!(size_of::<BlockQ4_K>() == 144);
