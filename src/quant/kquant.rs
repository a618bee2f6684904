//! K-quant helpers (Q4_K, Q2_K): sub-blocks of `x ≈ scale·L − min`

/// Fits `x ≈ scale·L − min` with `L ∈ 0..=nmax`, `scale ≥ 0`, `min ≥ 0` (the K layouts store a
/// non-negative min to subtract, so the lowest level is ≤ 0). Lloyd iterations ([`lloyd`]) from
/// three min/max starts, `range/(nmax − ½)`, `range/nmax` and `range/(nmax + ½)`, keeping the
/// lowest squared error. ggml's reference searches 16–21 scales with weighted errors instead; on
/// Gaussian data this fit lands slightly below it (relative RMS: Q4_K 0.0710 vs 0.0713, Q2_K 0.264
/// vs 0.297).
pub(super) fn fit_scale_min(x: &[f32], nmax: f32) -> (f32, f32) {
    let lo = x.iter().fold(0.0f32, |m, &v| m.min(v));
    let hi = x.iter().fold(lo, |m, &v| m.max(v));
    if hi <= lo {
        return (0.0, -lo);
    }
    let mut best = (f64::INFINITY, 0.0, lo);
    for delta in [-0.5, 0.0, 0.5] {
        let (scale, offset) = lloyd(x, nmax, (hi - lo) / (nmax + delta), lo);
        let err: f64 =
            x.iter().map(|&v| f64::from(scale * nearest_level(v, scale, offset, nmax) + offset - v).powi(2)).sum();
        if err < best.0 {
            best = (err, scale, offset);
        }
    }
    (best.1, -best.2)
}

/// Alternates nearest-level assignment with the least-squares `(scale, offset ≤ 0)` for those
/// levels; each step lowers the squared error, so it stops when nothing changes (or after 8).
pub(super) fn lloyd(x: &[f32], nmax: f32, mut scale: f32, mut offset: f32) -> (f32, f32) {
    let n = x.len() as f64;
    for _ in 0..8 {
        let (mut sl, mut sl2, mut sx, mut sxl) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for &v in x {
            let l = f64::from(nearest_level(v, scale, offset, nmax));
            let v = f64::from(v);
            sl += l;
            sl2 += l * l;
            sx += v;
            sxl += v * l;
        }
        let det = n * sl2 - sl * sl;
        if det.is_nan() || det <= 0.0 {
            break; // every value on one level: no scale to fit
        }
        let (mut s, mut o) = ((n * sxl - sx * sl) / det, (sl2 * sx - sl * sxl) / det);
        if o > 0.0 {
            // the free optimum has a positive offset; the constrained one sits on offset = 0
            (s, o) = (sxl / sl2, 0.0);
        }
        let (s, o) = (s as f32, o as f32);
        if s.is_nan() || s <= 0.0 || (s, o) == (scale, offset) {
            break;
        }
        (scale, offset) = (s, o);
    }
    (scale, offset)
}

/// The level `L ∈ 0..=nmax` whose `scale·L + offset` is nearest to `x` (0 when the scale is 0).
pub(super) fn nearest_level(x: f32, scale: f32, offset: f32, nmax: f32) -> f32 {
    if scale > 0.0 {
        ((x - offset) / scale).round().clamp(0.0, nmax)
    } else {
        0.0
    }
}

/// Quantizes non-negative sub-block scales (or mins) to `levels` steps of `max/levels`, as ggml
/// does: returns the super-block scale and each sub-block's level.
pub(super) fn quantize_scales<const S: usize>(v: [f32; S], levels: f32) -> (f32, [u8; S]) {
    let max = v.iter().fold(0.0f32, |m, &a| m.max(a));
    if max <= 0.0 {
        return (0.0, [0; S]);
    }
    let inv = levels / max;
    (max / levels, v.map(|a| (a * inv).round().clamp(0.0, levels) as u8))
}
