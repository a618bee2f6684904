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

/// `Σ a[i] · b[i]` over the shorter length: [`matvec`]'s scalar twin, one row.
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `y[r] = Σ_i w[r·n + i] · x[i]` for each `r < y.len()`, with `n = x.len()`: the LSTM's
/// recurrent product. Each row in `LANES` partial sums, and [`ROWS`] rows at once so that `x`
/// is loaded once for them and their chains of dependent adds overlap; every row is summed in
/// the same order whether it is one of `ROWS` or alone.
pub fn matvec(w: &[f32], x: &[f32], y: &mut [f32]) {
    assert!(w.len() >= x.len() * y.len(), "matvec: {} weights for {} rows of {}", w.len(), y.len(), x.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { matvec_avx2(w, x, y) };
        return;
    }
    matvec_rows(w, x, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn matvec_avx2(w: &[f32], x: &[f32], y: &mut [f32]) {
    matvec_rows(w, x, y);
}

/// Rows summed together by [`matvec`].
const ROWS: usize = 4;
/// Partial sums per row: one vector natively (LLVM's, 8 wide), one `v128` in wasm.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
const LANES: usize = 8;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const LANES: usize = 4;

/// [`matvec`] for any target: `ROWS` rows at a time, then one at a time.
#[inline(always)]
fn matvec_rows(w: &[f32], x: &[f32], y: &mut [f32]) {
    let n = x.len();
    let whole = y.len() / ROWS * ROWS;
    let (y_whole, y_rest) = y.split_at_mut(whole);
    let row = |r: usize| &w[r * n..(r + 1) * n];
    for (b, y_block) in y_whole.chunks_exact_mut(ROWS).enumerate() {
        y_block.copy_from_slice(&row_sums::<ROWS>(std::array::from_fn(|r| row(b * ROWS + r)), x));
    }
    for (r, y) in y_rest.iter_mut().enumerate() {
        *y = row_sums([row(whole + r)], x)[0];
    }
}

/// `R` rows' dot products with `x`: `LANES` partial sums each, combined pairwise at the end,
/// then the remainder past the last whole chunk in order.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn row_sums<const R: usize>(rows: [&[f32]; R], x: &[f32]) -> [f32; R] {
    let mut acc = [[0.0f32; LANES]; R];
    let whole = x.len() / LANES * LANES;
    for (i, x_chunk) in x[..whole].chunks_exact(LANES).enumerate() {
        for (acc, row) in acc.iter_mut().zip(rows) {
            let w_chunk = &row[i * LANES..(i + 1) * LANES];
            for l in 0..LANES {
                acc[l] += w_chunk[l] * x_chunk[l];
            }
        }
    }
    std::array::from_fn(|r| {
        let a = acc[r];
        ((a[0] + a[4]) + (a[1] + a[5]) + (a[2] + a[6]) + (a[3] + a[7])) + dot_scalar(&rows[r][whole..], &x[whole..])
    })
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn row_sums<const R: usize>(rows: [&[f32]; R], x: &[f32]) -> [f32; R] {
    use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat, v128, v128_load};
    let mut acc = [f32x4_splat(0.0); R];
    let whole = x.len() / LANES * LANES;
    assert!(rows.iter().all(|row| row.len() >= whole));
    for i in (0..whole).step_by(LANES) {
        // SAFETY: i + LANES ≤ whole ≤ every row's and x's length; v128 loads are unaligned.
        unsafe {
            let xv = v128_load(x.as_ptr().add(i) as *const v128);
            for (acc, row) in acc.iter_mut().zip(rows) {
                *acc = f32x4_add(*acc, f32x4_mul(v128_load(row.as_ptr().add(i) as *const v128), xv));
            }
        }
    }
    std::array::from_fn(|r| {
        let a = acc[r];
        ((f32x4_extract_lane::<0>(a) + f32x4_extract_lane::<2>(a)) + (f32x4_extract_lane::<1>(a) + f32x4_extract_lane::<3>(a))) + dot_scalar(&rows[r][whole..], &x[whole..])
    })
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

    /// Every row count around the blocks of `ROWS` and every length around the lanes: within
    /// reassociation of the exact sum, and each row the same bits as when it is alone.
    #[test]
    fn matvec_matches_scalar_twin_within_reassociation() {
        for n in 0..40 {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            for rows in 0..10 {
                let w: Vec<f32> = (0..rows * n + 3).map(|i| (i as f32 * 0.37).sin()).collect();
                let mut y = vec![f32::NAN; rows];
                matvec(&w, &x, &mut y);
                for (r, &got) in y.iter().enumerate() {
                    let row = &w[r * n..(r + 1) * n];
                    let exact: f64 = row.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
                    let bound = 1e-6 * row.iter().zip(&x).map(|(a, b)| (a * b).abs() as f64).sum::<f64>().max(1e-30);
                    assert!((got as f64 - exact).abs() <= bound, "n = {n}, row {r} of {rows}");
                    assert!((dot_scalar(row, &x) as f64 - exact).abs() <= bound, "n = {n}");
                    let mut alone = [f32::NAN];
                    matvec(row, &x, &mut alone);
                    assert_eq!(got.to_bits(), alone[0].to_bits(), "n = {n}, row {r} of {rows}");
                }
            }
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
