//! CPU kernels of the model's non-convolution ops, over row-major `[C, T]` slices.

use std::mem::MaybeUninit;

use super::rows;
use super::simd::{self, matvec};
use super::conv1d::conv1d;
use crate::backend::{Conv1dGeometry, Conv1dParams, ConvTransposeGeometry, NormKind, Weight};

/// Normalizes each column (time step) over the `c` rows, then `· gamma + beta`.
pub fn layer_norm(x: &[f32], c: usize, t: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    let mut out = vec![0.0; c * t];
    let mut column = vec![0.0f32; c];
    for j in 0..t {
        for (i, v) in column.iter_mut().enumerate() {
            *v = x[i * t + j];
        }
        let (mean, inv_std) = moments(&column, eps);
        for (i, v) in column.iter().enumerate() {
            out[i * t + j] = (v - mean) * inv_std * gamma[i] + beta[i];
        }
    }
    out
}

/// Normalizes by `kind`, then `· (1 + gamma[row]) + beta[row]` in one pass.
pub fn ada_norm(x: &[f32], c: usize, t: usize, gamma: &[f32], beta: &[f32], kind: NormKind, eps: f32) -> Vec<f32> {
    match kind {
        NormKind::Instance => rows(c * t, t, |i, y| {
            let row = &x[i * t..(i + 1) * t];
            let (mean, inv_std) = moments(row, eps);
            let (g, b) = (1.0 + gamma[i], beta[i]);
            for (o, &v) in y.iter_mut().zip(row) {
                o.write((v - mean) * inv_std * g + b);
            }
        }),
        NormKind::Layer => {
            let mut out = vec![0.0; c * t];
            let mut column = vec![0.0f32; c];
            for j in 0..t {
                for (i, v) in column.iter_mut().enumerate() {
                    *v = x[i * t + j];
                }
                let (mean, inv_std) = moments(&column, eps);
                for (i, v) in column.iter().enumerate() {
                    out[i * t + j] = (v - mean) * inv_std * (1.0 + gamma[i]) + beta[i];
                }
            }
            out
        }
    }
}

/// Mean and 1/√(biased variance + eps), accumulated in f64 so long rows lose nothing.
fn moments(v: &[f32], eps: f32) -> (f32, f32) {
    let n = v.len() as f64;
    let mean = lane_sum(v, |x| x as f64) / n;
    let var = lane_sum(v, |x| (x as f64 - mean).powi(2)) / n;
    (mean as f32, (1.0 / (var + eps as f64).sqrt()) as f32)
}

/// Σ f(v[i]) in 8 independent f64 lanes: one serial sum waits on each add's latency and
/// cannot be vectorized.
#[inline]
fn lane_sum(v: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += f(x);
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// `table [n, d]` rows `ids` as columns `[d, ids.len()]`. Ids are checked by the caller.
pub fn embedding(table: &Weight, ids: &[u32]) -> Vec<f32> {
    let (d, t) = (table.row_len(), ids.len());
    let mut out = vec![0.0; d * t];
    let mut row = vec![0.0f32; d];
    for (j, &id) in ids.iter().enumerate() {
        table.decode_row(id as usize, &mut row);
        for (i, v) in row.iter().enumerate() {
            out[i * t + j] = *v;
        }
    }
    out
}

/// Softmax attention per head over `q, k, v` of `[heads · d, t]`. Both products run on the
/// tiled convolution kernel as 1-wide convolutions: the scores `[t_q, t_k]` with the scaled
/// queries as weights over the keys, the output `[d, t_q]` with the values as weights over the
/// transposed probabilities.
pub fn attention(q: &[f32], k: &[f32], v: &[f32], heads: usize, d: usize, t: usize) -> Vec<f32> {
    let mut out = vec![0.0; heads * d * t];
    if d == 0 {
        return out; // no channels: nothing to attend with (and no product to shape)
    }
    let scale = 1.0 / (d as f32).sqrt();
    let product = |rows: usize, inner: usize, w: Vec<f32>, x: &[f32]| {
        let (Ok(g), Ok(w)) = (Conv1dGeometry::new(&[inner, t], &[rows, inner, 1], None, Conv1dParams::default()), Weight::f32(&[rows, inner, 1], w)) else {
            unreachable!("the shapes hold the values")
        };
        conv1d(&g, x, &w, None)
    };
    // Heads on rayon's threads, each as on one thread.
    let head = |probabilities: &mut Vec<f32>, (h, out_h): (usize, &mut [f32])| {
        let rows = h * d * t..(h + 1) * d * t;
        let (qh, kh, vh) = (&q[rows.clone()], &k[rows.clone()], &v[rows]);
        let mut q_rows = transpose(qh, d, t);
        q_rows.iter_mut().for_each(|v| *v *= scale);
        let mut scores = product(t, d, q_rows, kh);
        for (i, row) in scores.chunks_exact_mut(t).enumerate() {
            softmax(row);
            for (j, &p) in row.iter().enumerate() {
                probabilities[j * t + i] = p;
            }
        }
        out_h.copy_from_slice(&product(d, t, vh.to_vec(), probabilities));
    };
    super::for_chunks(&mut out, d * t, 1, || vec![0.0f32; t * t], head);
    out
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0f32;
    row.iter_mut().for_each(|v| {
        *v = (*v - max).exp();
        sum += *v;
    });
    row.iter_mut().for_each(|v| *v /= sum);
}

/// The LSTM recurrence given the input projection `xp = W_ih x + b_ih` (`[4h, t]`).
pub fn lstm_recurrence(xp: &[f32], w_hh: &Weight, b_hh: &[f32], hidden: usize, t: usize, reverse: bool) -> Vec<f32> {
    // Every step reads all of W_hh: decoded once per call into scratch (4h × h, 256 KB for
    // Kokoro), not kept.
    let w = w_hh.to_f32();
    // Time-major copies of the projection and the output: each step reads and writes
    // contiguous rows instead of one value per cache line of [4h, t].
    let xp_steps = transpose(xp, 4 * hidden, t);
    let mut c = vec![0.0f32; hidden];
    let mut gates = vec![0.0f32; 4 * hidden];
    let mut h_steps = vec![0.0f32; hidden * t];
    let mut h_prev = vec![0.0f32; hidden];
    for step in 0..t {
        let j = if reverse { t - 1 - step } else { step };
        matvec(&w, &h_prev, &mut gates);
        for ((g, &x), &b) in gates.iter_mut().zip(&xp_steps[j * 4 * hidden..(j + 1) * 4 * hidden]).zip(b_hh) {
            *g += x + b;
        }
        // Gates i, f, g, o in passes that vectorize (the activations are plain arithmetic).
        let (ifg, o) = gates.split_at_mut(3 * hidden);
        let (i_f, g) = ifg.split_at_mut(2 * hidden);
        i_f.iter_mut().for_each(|v| *v = simd::sigmoid(*v));
        o.iter_mut().for_each(|v| *v = simd::sigmoid(*v));
        g.iter_mut().for_each(|v| *v = simd::tanh(*v));
        let (i, f) = i_f.split_at(hidden);
        for (((c, &i), &f), &g) in c.iter_mut().zip(i).zip(f).zip(&*g) {
            *c = f * *c + i * g;
        }
        let h = &mut h_steps[j * hidden..(j + 1) * hidden];
        for ((h, &o), &c) in h.iter_mut().zip(&*o).zip(&c) {
            *h = o * simd::tanh(c);
        }
        h_prev.copy_from_slice(h);
    }
    transpose(&h_steps, t, hidden)
}

/// A row-major `[rows, cols]` matrix as `[cols, rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for (r, row) in values.chunks_exact(cols.max(1)).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

/// Time step `i` of each row repeated `counts[i]` times.
pub fn repeat_interleave(x: &[f32], t: usize, counts: &[usize]) -> Vec<f32> {
    let total: usize = counts.iter().sum();
    let mut out = Vec::with_capacity(x.len() / t.max(1) * total);
    for row in x.chunks_exact(t) {
        for (v, &n) in row.iter().zip(counts) {
            out.extend(std::iter::repeat_n(*v, n));
        }
    }
    out
}

/// `nn.ConvTranspose1d` by scattering each input sample: `x [c_in, t_in]`, `w [c_in, c_out/groups, k]`
/// decoded one input channel (one stored row) at a time.
pub fn conv_transpose1d(g: &ConvTransposeGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    let (per_group_in, per_group_out, k, t_out) = (g.per_group_in(), g.per_group_out(), g.k, g.t_out);
    let mut out = vec![0.0f32; g.c_out * t_out];
    for (o, row) in out.chunks_exact_mut(t_out).enumerate() {
        row.fill(bias.map_or(0.0, |b| b[o]));
    }
    let mut w_row = vec![0.0f32; per_group_out * k];
    for ci in 0..g.c_in {
        let group = ci / per_group_in;
        w.decode_row(ci, &mut w_row);
        for (col, taps) in w_row.chunks_exact(k).enumerate() {
            let co = group * per_group_out + col;
            let y = &mut out[co * t_out..(co + 1) * t_out];
            for (i, &xv) in x[ci * g.t_in..(ci + 1) * g.t_in].iter().enumerate() {
                for (j, &tap) in taps.iter().enumerate() {
                    // output position i·stride − padding + j, when inside the output
                    let pos = (i * g.stride + j).wrapping_sub(g.padding);
                    if pos < t_out {
                        y[pos] += xv * tap;
                    }
                }
            }
        }
    }
    out
}

/// `x + sin²(α x) / α` per channel row.
pub fn snake(x: &[f32], t: usize, alpha: &[f32]) -> Vec<f32> {
    // Written from x row by row (not a copy then updated in place): one pass less over
    // tensors far larger than the cache.
    rows(x.len(), t, |i, y| {
        let (x_row, a) = (&x[i * t..(i + 1) * t], alpha[i]);
        let inv = 1.0 / a;
        if x_row.iter().all(|v| (a * v).abs() <= SIN_SQUARED_RANGE) {
            snake_row(x_row, y, a, inv);
        } else {
            for (o, &v) in y.iter_mut().zip(x_row) {
                let s = (a * v).sin();
                o.write(v + inv * s * s);
            }
        }
    })
}

/// Where [`sin_squared`]'s argument reduction is exact (Cephes' `sinf` bound).
const SIN_SQUARED_RANGE: f32 = 8192.0;

/// `y = x + inv · sin²(a x)` over a row whose `a x` are within [`SIN_SQUARED_RANGE`]: 8 lanes
/// where the CPU has AVX2 (the same operations, so the same results), else the target's.
fn snake_row(x: &[f32], y: &mut [MaybeUninit<f32>], a: f32, inv: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { snake_row_avx2(x, y, a, inv) };
        return;
    }
    snake_row_portable(x, y, a, inv);
}

#[inline(always)]
fn snake_row_portable(x: &[f32], y: &mut [MaybeUninit<f32>], a: f32, inv: f32) {
    y.iter_mut().zip(x).for_each(|(o, &v)| _ = o.write(v + inv * sin_squared(a * v)));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn snake_row_avx2(x: &[f32], y: &mut [MaybeUninit<f32>], a: f32, inv: f32) {
    snake_row_portable(x, y, a, inv);
}

/// sin²(y) for |y| ≤ [`SIN_SQUARED_RANGE`], branch-free so the snake loop vectorizes (libm's
/// `sinf` is a call per element): y reduced by π/2 in three parts (Cody–Waite) to r in
/// [−π/4, π/4], then sin²(r) as its Taylor series in r² (the first term left out is below 4e-9
/// there); in an odd quadrant sin²(y) = cos²(r) = 1 − sin²(r). One polynomial, not sin and
/// cos squared: a quarter fewer operations.
#[inline(always)]
fn sin_squared(y: f32) -> f32 {
    const DP1: f32 = 1.570_312_5;
    const DP2: f32 = 4.837_513e-4;
    const DP3: f32 = 7.549_79e-8;
    // Adding 1.5 · 2²³ rounds to an integer (ties to even) kept in the low mantissa bits: the
    // quadrant's parity without a float-to-int conversion, which keeps the loop vectorized.
    const ROUND: f32 = 12_582_912.0;
    let shifted = y * std::f32::consts::FRAC_2_PI + ROUND;
    let odd = shifted.to_bits() & 1;
    let jf = shifted - ROUND;
    let r = ((y - jf * DP1) - jf * DP2) - jf * DP3;
    let z = r * r;
    // sin²(r) = Σ (−1)^(n+1) 2^(2n−1) r^(2n) / (2n)!
    let s = z * (1.0 + z * (-1.0 / 3.0 + z * (2.0 / 45.0 + z * (-1.0 / 315.0 + z * (2.0 / 14_175.0 + z * (-2.0 / 467_775.0))))));
    if odd == 0 { s } else { 1.0 - s }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane sums against plain f64 sums, on rows whose mean dwarfs their spread (where
    /// E[x²] − mean² would cancel to noise), constant rows and lengths around the lanes: within
    /// f32's rounding.
    #[test]
    fn moments_are_accurate_even_under_a_large_mean() {
        let mut rng = crate::rng::SplitMix64(5);
        for (offset, spread) in [(0.0f64, 1.0f64), (3.0, 0.5), (-1e4, 1e-2), (1e4, 0.0)] {
            for n in [1, 7, 8, 9, 100, 5000] {
                let v: Vec<f32> = (0..n).map(|_| (offset + spread * rng.uniform() as f64) as f32).collect();
                let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
                let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
                let eps = 1e-12;
                let (m, inv) = moments(&v, eps);
                let want = 1.0 / (var + eps as f64).sqrt();
                assert!((m as f64 - mean).abs() <= 1e-7 * mean.abs().max(1e-30), "mean {m} vs {mean} (offset {offset}, n {n})");
                assert!((inv as f64 - want).abs() <= 1e-6 * want, "1/std {inv} vs {want} (offset {offset}, spread {spread}, n {n})");
            }
        }
    }

    /// The polynomial sin² against f64 over its whole range, near multiples of π/2 included.
    #[test]
    fn sin_squared_is_accurate_over_its_range() {
        let mut worst = 0.0f64;
        let mut rng = crate::rng::SplitMix64(3);
        let near_quadrants = (-40..40).flat_map(|k| [-1e-3f32, 0.0, 1e-3].map(|d| k as f32 * std::f32::consts::FRAC_PI_2 + d));
        let random = (0..200_000).map(|_| rng.uniform() * SIN_SQUARED_RANGE);
        let small = (0..2000).map(|i| (i as f32 - 1000.0) * 1e-3);
        for y in near_quadrants.chain(random).chain(small) {
            let exact = (y as f64).sin().powi(2);
            worst = worst.max((sin_squared(y) as f64 - exact).abs());
        }
        assert!(worst < 3e-7, "max |error| {worst}");
    }

    #[test]
    fn snake_takes_libm_beyond_the_range() {
        let x = [1e5f32, -3.0, 0.5];
        let out = snake(&x, 3, &[1.0]);
        for (o, v) in out.iter().zip(x) {
            assert!((o - (v + v.sin() * v.sin())).abs() <= 1e-6 * v.abs().max(1.0), "{o} vs {v}");
        }
    }
}
