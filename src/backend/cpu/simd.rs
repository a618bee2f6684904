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
