//! 1-D convolution on the CPU. Natively the output channels run on rayon's threads (each
//! output is computed exactly as on one thread, so results do not depend on the thread count).

use super::simd::axpy;
use crate::backend::{Conv1dGeometry, Weight};

/// `x [c_in, t_in]`, `w [c_out, c_in, k]` → `[c_out, t_out]`.
///
/// Each output row starts at its bias and accumulates one weight tap at a time over the whole
/// row (an axpy over a contiguous input run when stride is 1), so each output element sums its
/// taps in (channel, tap) order. Weights stay in their storage format and are decoded one
/// output channel at a time.
pub fn conv1d(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    let mut out = vec![0.0f32; g.c_out * g.t_out];
    let channel = |w_row: &mut Vec<f32>, (o, y): (usize, &mut [f32])| {
        // [c_in, k] of output channel o, decoded to f32.
        w.decode_row(o, w_row);
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
                if g.stride == 1 {
                    axpy(&mut y[t_lo..t_hi], a, &x_row[first..]);
                } else {
                    for (n, yt) in y[t_lo..t_hi].iter_mut().enumerate() {
                        *yt += a * x_row[first + n * g.stride];
                    }
                }
            }
        }
    };
    let scratch = || vec![0.0f32; g.c_in * g.k];
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_exact_mut(g.t_out).enumerate().for_each_init(scratch, channel);
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut w_row = scratch();
        out.chunks_exact_mut(g.t_out).enumerate().for_each(|item| channel(&mut w_row, item));
    }
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
