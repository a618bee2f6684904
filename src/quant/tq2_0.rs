//! TQ2_0: 4 trits per byte, 2.0625 bits per value

use super::*;

/// `block_tq2_0`: bits `2l..2l+2` of `qs[32h + m]` hold value `128h + 32l + m` as `t + 1` (the
/// unused code 3 decodes to 2d, as in ggml).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockTQ2_0 {
    qs: [u8; 64],
    d: [u8; 2],
}

impl Block<QK_K> for BlockTQ2_0 {
    const TYPE: GgmlType = GgmlType::TQ2_0;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let d = half(self.d);
        for (i, ys) in y.chunks_exact_mut(32).enumerate() {
            let (h, shift) = (i / 4, 2 * (i % 4));
            for (v, &q) in ys.iter_mut().zip(&self.qs[32 * h..32 * h + 32]) {
                *v = (f32::from((q >> shift) & 3) - 1.0) * d;
            }
        }
    }

    fn value(&self, j: usize) -> f32 {
        // value 128h + 32l + m is bits 2l..2l+2 of qs[32h + m]
        let (h, l, m) = (j / 128, j % 128 / 32, j % 32);
        (f32::from((self.qs[32 * h + m] >> (2 * l)) & 3) - 1.0) * half(self.d)
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let (d, u) = ternary_digits(x, Self::TYPE)?;
        Ok(Self { d, ..Self::zeroed() }.with_levels(&u))
    }
}

impl GridBlock<QK_K> for BlockTQ2_0 {
    fn levels(&self, _j: usize) -> Levels {
        let d = half(self.d);
        Levels { step: d, offset: -d, max: 2 }
    }

    fn with_levels(&self, u: &[u8; QK_K]) -> Self {
        let mut block = Self { qs: [0; 64], d: self.d };
        for (i, digits) in u.chunks_exact(32).enumerate() {
            let (h, shift) = (i / 4, 2 * (i % 4));
            for (q, &t) in block.qs[32 * h..32 * h + 32].iter_mut().zip(digits) {
                *q |= t << shift;
            }
        }
        block
    }

    fn scales(&self) -> [f32; 2] {
        [half(self.d), 0.0]
    }

    fn with_scales(&self, s: [f32; 2]) -> Option<Self> {
        Some(Self { d: f16_bytes(s[0])?, ..*self })
    }
}

const _: () = assert!(size_of::<BlockTQ2_0>() == 66);
