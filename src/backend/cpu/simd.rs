//! Vector kernels, each with a scalar twin that tests compare it against.
//!
//! The wasm build uses `simd128` intrinsics when compiled with `-C target-feature=+simd128`
//! (the project's `.cargo/config.toml` does this). Natively the 8-wide chunked loop is what
//! LLVM auto-vectorizes to SSE/AVX/NEON.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub const KIND: &str = "wasm simd128";
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub const KIND: &str = "auto-vectorized";

/// `y[i] += a * x[i]` for `i < y.len()`; `x` must be at least as long as `y`.
#[inline]
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    let x = &x[..y.len()];
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    axpy_simd128(y, a, x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    axpy_chunked(y, a, x);
}

/// The scalar twin of [`axpy`].
pub fn axpy_scalar(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `Σ a[i] · b[i]` over the shorter length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return dot_simd128(a, b);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    dot_chunked(a, b)
}

/// The scalar twin of [`dot`].
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Eight partial sums, combined pairwise at the end (the order the SIMD versions use too).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn dot_chunked(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ac = a.chunks_exact(8);
    let mut bc = b.chunks_exact(8);
    for (x, y) in (&mut ac).zip(&mut bc) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let lanes = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    lanes + dot_scalar(ac.remainder(), bc.remainder())
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn dot_simd128(a: &[f32], b: &[f32]) -> f32 {
    use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat, v128, v128_load};
    let mut acc = f32x4_splat(0.0);
    let mut ac = a.chunks_exact(4);
    let mut bc = b.chunks_exact(4);
    for (x, y) in (&mut ac).zip(&mut bc) {
        // SAFETY: each chunk is exactly 4 f32; v128 loads are unaligned.
        unsafe {
            acc = f32x4_add(acc, f32x4_mul(v128_load(x.as_ptr() as *const v128), v128_load(y.as_ptr() as *const v128)));
        }
    }
    let lanes = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<2>(acc))
        + (f32x4_extract_lane::<1>(acc) + f32x4_extract_lane::<3>(acc));
    lanes + dot_scalar(ac.remainder(), bc.remainder())
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn axpy_chunked(y: &mut [f32], a: f32, x: &[f32]) {
    let mut yc = y.chunks_exact_mut(8);
    let mut xc = x.chunks_exact(8);
    for (yb, xb) in (&mut yc).zip(&mut xc) {
        for l in 0..8 {
            yb[l] += a * xb[l];
        }
    }
    axpy_scalar(yc.into_remainder(), a, xc.remainder());
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn axpy_simd128(y: &mut [f32], a: f32, x: &[f32]) {
    use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};
    let av = f32x4_splat(a);
    let mut yc = y.chunks_exact_mut(4);
    let mut xc = x.chunks_exact(4);
    for (yb, xb) in (&mut yc).zip(&mut xc) {
        // SAFETY: each chunk is exactly 4 f32 = 16 bytes; v128 loads and stores are unaligned.
        unsafe {
            let yv = v128_load(yb.as_ptr() as *const v128);
            let xv = v128_load(xb.as_ptr() as *const v128);
            v128_store(yb.as_mut_ptr() as *mut v128, f32x4_add(yv, f32x4_mul(av, xv)));
        }
    }
    axpy_scalar(yc.into_remainder(), a, xc.remainder());
}

/// `tanh(x)` in plain arithmetic that vectorizes (libm's `tanhf` is a call per element):
/// `(1 − e) / (1 + e)` with `e = exp(−2|x|)`, the exponential as `2ⁿ · p(r)` (Cody–Waite
/// reduction, degree-6 polynomial). Within 3e-7 of the exact value everywhere (absolute; the
/// conformance suite allows 2e-6); ±1 past |x| ≈ 9; NaN stays NaN.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // e underflows far below f32's step at 1 once −2|x| < −87: tanh is ±1 there.
    let y = (-2.0 * x.abs()).max(-87.0);
    // n = round(y / ln 2) by the 1.5·2²³ trick (no float-to-int conversion, which would not
    // vectorize); its low bits land in the mantissa.
    const SHIFTER: f32 = 12_582_912.0;
    let shifted = y * std::f32::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    // ln 2 in two parts, the first with 9 significant bits so that n·C1 is exact (no fused
    // multiply-add: baseline x86-64 and wasm would call libm's fmaf).
    let r = y - n * 0.693_359_4;
    let r = r + n * 2.121_944_4e-4;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2ⁿ: n's low 9 bits (two's complement) shifted into the exponent, plus the bias.
    let two_n = f32::from_bits((shifted.to_bits() << 23).wrapping_add(127 << 23));
    let e = p * two_n;
    let t = (1.0 - e) / (1.0 + e);
    if x.is_nan() {
        x
    } else {
        t.copysign(x)
    }
}

/// The logistic function through [`tanh`]: `½ + ½·tanh(x/2)`, as accurate (absolutely).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    0.5 + 0.5 * tanh(0.5 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_scalar_twin_within_reassociation() {
        for n in 0..70 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let bound = 1e-6 * a.iter().zip(&b).map(|(x, y)| (x * y).abs() as f64).sum::<f64>().max(1e-30);
            assert!((dot(&a, &b) as f64 - exact).abs() <= bound, "n = {n}");
            assert!((dot_scalar(&a, &b) as f64 - exact).abs() <= bound, "n = {n}");
        }
    }

    #[test]
    fn axpy_matches_scalar_twin_for_every_remainder() {
        for n in 0..40 {
            let x: Vec<f32> = (0..n + 3).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut fast: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - 1.0).collect();
            let mut slow = fast.clone();
            axpy(&mut fast, -1.25, &x);
            axpy_scalar(&mut slow, -1.25, &x);
            assert_eq!(fast, slow, "n = {n}");
        }
    }

    #[test]
    fn tanh_and_sigmoid_stay_within_3e7_of_the_exact_values() {
        let mut worst = (0.0f64, 0.0f32);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // −20 … 20, finest where tanh bends
            for (got, want) in [(tanh(x) as f64, (x as f64).tanh()), (sigmoid(x) as f64, 1.0 / (1.0 + (-(x as f64)).exp()))] {
                if (got - want).abs() > worst.0 {
                    worst = ((got - want).abs(), x);
                }
            }
        }
        assert!(worst.0 < 3e-7, "off by {} at {}", worst.0, worst.1);
        for (x, want) in [(0.0, 0.0), (-0.0, -0.0), (1e-30, 1e-30), (88.0, 1.0), (-1e30, -1.0), (f32::INFINITY, 1.0), (f32::NEG_INFINITY, -1.0)] {
            assert!((tanh(x) - want).abs() <= 1e-30, "tanh({x}) = {}", tanh(x));
        }
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
        assert_eq!((sigmoid(f32::NEG_INFINITY), sigmoid(f32::INFINITY)), (0.0, 1.0));
    }
}
