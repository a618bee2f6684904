//! Ternary helpers (TQ1_0, TQ2_0): values in {−d, 0, d}

use super::*;

/// The per-block ternary scale that minimizes squared error. ggml's reference uses the block's
/// absmax, which zeroes 86% of a Gaussian block (94% of a Laplacian one) and leaves 0.81 of its
/// RMS as error; this scale leaves 0.43. With the k largest |x| mapped to ±d and the rest to 0, the
/// optimal d is `S_k/k` (S_k = sum of those |x|) and the error drops by `S_k²/k` from Σx²; so sort
/// |x| descending and take the k maximizing `S_k²/k`. O(n log n).
pub(super) fn ternary_scale(x: &[f32; QK_K]) -> f32 {
    let mut a = x.map(f32::abs);
    a.sort_unstable_by(|p, q| q.total_cmp(p));
    let (mut sum, mut best_gain, mut best_d) = (0.0f64, 0.0f64, 0.0f64);
    for (k, &v) in (1u32..).zip(&a) {
        sum += f64::from(v);
        let gain = sum * sum / f64::from(k);
        if gain > best_gain {
            (best_gain, best_d) = (gain, sum / f64::from(k));
        }
    }
    best_d as f32
}

/// The block's f16 scale d (from [`ternary_scale`], rounded to f16) and each value's digit
/// `t + 1 ∈ {0, 1, 2}`, t the nearest multiple of the rounded d.
pub(super) fn ternary_digits(x: &[f32; QK_K], ty: GgmlType) -> Result<([u8; 2], [u8; QK_K])> {
    let d = f16_scale(ternary_scale(x), ty)?;
    let dq = half(d);
    Ok((d, x.map(|v| if dq > 0.0 { ((v / dq).round().clamp(-1.0, 1.0) + 1.0) as u8 } else { 1 })))
}
