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
}
