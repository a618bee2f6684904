//! 1-D convolution on the CPU.
//!
//! Stride 1 (every convolution of the generator and decoder, and `linear` as kernel 1) runs a
//! register-blocked kernel: 4 output channels × 8 or 16 time steps accumulate in registers while
//! the input channels and taps stream past, over a zero-padded copy of the input so no tap needs
//! a bounds test. Natively the channel blocks run on rayon's threads, and x86-64 CPUs with AVX2
//! get a 16-wide build of the same kernel. Every output still sums bias, then its (channel, tap)
//! products in order, so the result is the same float for float as the one-tap-at-a-time loop
//! that strided convolutions keep.

use crate::backend::{Conv1dGeometry, Weight};

/// Output channels per register block.
const OC: usize = 4;

/// `x [c_in, t_in]`, `w [c_out, c_in, k]` → `[c_out, t_out]`. Weights stay in their storage
/// format and are decoded one output channel (strided) or block of channels at a time.
pub fn conv1d(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    if g.stride == 1 {
        return conv1d_blocked(g, x, w, bias);
    }
    let mut out = vec![0.0f32; g.c_out * g.t_out];
    let mut w_row = vec![0.0f32; g.c_in * g.k];
    for (o, y) in out.chunks_exact_mut(g.t_out).enumerate() {
        // [c_in, k] of output channel o, decoded to f32.
        w.decode_row(o, &mut w_row);
        y.fill(bias.map_or(0.0, |b| b[o]));
        for (i, x_row) in x.chunks_exact(g.t_in).enumerate() {
            for j in 0..g.k {
                let a = w_row[i * g.k + j];
                let (t_lo, t_hi) = valid_outputs(g, j);
                if t_lo >= t_hi {
                    continue;
                }
                // Input position of output t is t·stride + j·dilation − padding.
                let first = t_lo * g.stride + j * g.dilation - g.padding;
                for (n, yt) in y[t_lo..t_hi].iter_mut().enumerate() {
                    *yt += a * x_row[first + n * g.stride];
                }
            }
        }
    }
    out
}

/// The input with `padding` zeros in front and zeros after, each row `len` long: output `t`'s
/// tap `j` reads `row[t + j·dilation]`, in bounds for every `t` of a whole tile.
fn padded_input(g: &Conv1dGeometry, x: &[f32], len: usize) -> Vec<f32> {
    let mut xp = vec![0.0f32; g.c_in * len];
    for (row, src) in xp.chunks_exact_mut(len).zip(x.chunks_exact(g.t_in)) {
        let n = g.t_in.min(len.saturating_sub(g.padding));
        row[g.padding..g.padding + n].copy_from_slice(&src[..n]);
    }
    xp
}

fn conv1d_blocked(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above).
        return unsafe { conv1d_avx2(g, x, w, bias) };
    }
    conv1d_tiles::<8>(g, x, w, bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn conv1d_avx2(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    conv1d_tiles::<16>(g, x, w, bias)
}

/// The blocked kernel with tiles of `TT` time steps (stride 1).
#[inline(always)]
fn conv1d_tiles<const TT: usize>(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    let span = (g.k - 1) * g.dilation;
    let len = g.t_out.next_multiple_of(TT) + span;
    let xp = padded_input(g, x, len);
    let mut out = vec![0.0f32; g.c_out * g.t_out];
    let block = |(b, out_block): (usize, &mut [f32])| {
        let row = g.c_in * g.k;
        let channels = out_block.len() / g.t_out;
        // Rows of the block's output channels; missing ones (last block) stay zero.
        let mut wb = vec![0.0f32; OC * row];
        for c in 0..channels {
            w.decode_row(b * OC + c, &mut wb[c * row..(c + 1) * row]);
        }
        let mut b0 = [0.0f32; OC];
        for (c, v) in b0.iter_mut().enumerate().take(channels) {
            *v = bias.map_or(0.0, |bias| bias[b * OC + c]);
        }
        for t0 in (0..g.t_out).step_by(TT) {
            let mut acc = [[0.0f32; TT]; OC];
            for (a, &v) in acc.iter_mut().zip(&b0) {
                *a = [v; TT];
            }
            for i in 0..g.c_in {
                let xrow = &xp[i * len + t0..];
                for j in 0..g.k {
                    let xs: &[f32; TT] = xrow[j * g.dilation..j * g.dilation + TT].try_into().expect("TT values");
                    for (c, a) in acc.iter_mut().enumerate() {
                        let wv = wb[c * row + i * g.k + j];
                        for l in 0..TT {
                            a[l] += wv * xs[l];
                        }
                    }
                }
            }
            let n = TT.min(g.t_out - t0);
            for (c, a) in acc.iter().enumerate().take(channels) {
                out_block[c * g.t_out + t0..c * g.t_out + t0 + n].copy_from_slice(&a[..n]);
            }
        }
    };
    let chunk = OC * g.t_out;
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk).enumerate().for_each(block);
    }
    #[cfg(target_arch = "wasm32")]
    out.chunks_mut(chunk).enumerate().for_each(block);
    out
}

/// The range of outputs `t` whose tap `j` lands inside the input (not in the zero padding).
fn valid_outputs(g: &Conv1dGeometry, j: usize) -> (usize, usize) {
    let offset = j * g.dilation; // input position of tap j is t·stride + offset − padding
    // smallest t with t·stride + offset ≥ padding
    let t_lo = g.padding.saturating_sub(offset).div_ceil(g.stride);
    // t·stride + offset − padding ≤ t_in − 1  ⇔  t ≤ (t_in − 1 + padding − offset) / stride
    let t_hi = match (g.t_in - 1 + g.padding).checked_sub(offset) {
        Some(last) => (last / g.stride + 1).min(g.t_out),
        None => 0,
    };
    (t_lo.min(g.t_out), t_hi)
}
