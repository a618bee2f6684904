//! TQ1_0: 5 trits per byte, 1.6875 bits per value

use super::*;

/// `block_tq1_0`: `qs[m]` (m < 32) holds values `m + 32n`, `qs[32 + m]` (m < 16) values
/// `160 + m + 16n` (n < 5), `qh[j]` values `240 + j + 4n` (n < 4), first value in the most
/// significant trit. A byte stores the base-3 number q as `⌈q·256/243⌉`, so trit n is the top
/// digit of `(byte·3ⁿ mod 256)·3 / 256`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockTQ1_0 {
    qs: [u8; 48],
    qh: [u8; 4],
    d: [u8; 2],
}

pub(super) const POW3: [u8; 5] = [1, 3, 9, 27, 81];

/// Trit `n < 5` of a TQ1_0 byte, as −1, 0 or 1.
pub(super) fn tq1_trit(byte: u8, n: usize) -> f32 {
    let q = byte.wrapping_mul(POW3[n]);
    f32::from((u16::from(q) * 3) >> 8) - 1.0
}

/// Five digits (first most significant) as one TQ1_0 byte.
pub(super) fn tq1_pack(digits: [u8; 5]) -> u8 {
    let q = digits.iter().fold(0u16, |q, &t| q * 3 + u16::from(t));
    (q * 256).div_ceil(243) as u8
}

impl Block<QK_K> for BlockTQ1_0 {
    const TYPE: GgmlType = GgmlType::TQ1_0;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let d = half(self.d);
        let (a, rest) = y.split_at_mut(160);
        let (b, c) = rest.split_at_mut(80);
        for (n, ys) in a.chunks_exact_mut(32).enumerate() {
            for (v, &q) in ys.iter_mut().zip(&self.qs[..32]) {
                *v = tq1_trit(q, n) * d;
            }
        }
        for (n, ys) in b.chunks_exact_mut(16).enumerate() {
            for (v, &q) in ys.iter_mut().zip(&self.qs[32..]) {
                *v = tq1_trit(q, n) * d;
            }
        }
        for (n, ys) in c.chunks_exact_mut(4).enumerate() {
            for (v, &q) in ys.iter_mut().zip(&self.qh) {
                *v = tq1_trit(q, n) * d;
            }
        }
    }

    fn value(&self, j: usize) -> f32 {
        let (byte, n) = match j {
            0..160 => (self.qs[j % 32], j / 32),
            160..240 => (self.qs[32 + (j - 160) % 16], (j - 160) / 16),
            _ => (self.qh[(j - 240) % 4], (j - 240) / 4),
        };
        tq1_trit(byte, n) * half(self.d)
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let (d, u) = ternary_digits(x, Self::TYPE)?;
        Ok(Self { d, ..Self::zeroed() }.with_levels(&u))
    }
}

impl GridBlock<QK_K> for BlockTQ1_0 {
    fn levels(&self, _j: usize) -> Levels {
        let d = half(self.d);
        Levels { step: d, offset: -d, max: 2 }
    }

    fn with_levels(&self, u: &[u8; QK_K]) -> Self {
        let mut block = *self;
        for (m, q) in block.qs.iter_mut().enumerate() {
            *q = if m < 32 {
                tq1_pack([0, 1, 2, 3, 4].map(|n| u[m + 32 * n]))
            } else {
                tq1_pack([0, 1, 2, 3, 4].map(|n| u[160 + (m - 32) + 16 * n]))
            };
        }
        for (j, q) in block.qh.iter_mut().enumerate() {
            *q = tq1_pack([u[240 + j], u[244 + j], u[248 + j], u[252 + j], 0]);
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

const _: () = assert!(size_of::<BlockTQ1_0>() == 54);
