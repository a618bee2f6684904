//! 1-D convolution on the CPU. The output channels run on rayon's threads natively and in the
//! threaded wasm build (each output is computed exactly as on one thread, so results do not
//! depend on the thread count).

use super::for_chunks;
use super::simd::axpy;
use crate::backend::{Conv1dGeometry, Conv1dParams, ConvTransposeGeometry, Weight};

/// `x [c_in, t_in]`, `w [c_out, c_in, k]` → `[c_out, t_out]`: register tiles where this CPU
/// has a vector tile kernel and the stride is 1, else one tap at a time ([`conv1d_axpy`]).
///
/// In `conv1d_axpy` each output row starts at its bias and accumulates one weight tap at a time over the whole
/// row (an axpy over a contiguous input run when stride is 1), so each output element sums its
/// taps in (channel, tap) order. Weights stay in their storage format and are decoded one
/// output channel at a time.
pub fn conv1d(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
    conv1d_tiled(g, x, w, bias).unwrap_or_else(|| conv1d_axpy(g, x, w, bias))
}

/// The portable kernel: where no tile kernel runs (stride ≠ 1, a CPU without AVX2/FMA, wasm
/// without simd128), and the tile kernels' twin in tests.
pub fn conv1d_axpy(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
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
    for_chunks(&mut out, g.t_out, 1, || vec![0.0f32; g.c_in * g.k], channel);
    out
}

/// A strided convolution (dilation 1) as one stride-1 convolution over the input's phases:
/// input channel `i`'s samples `m·stride + p` (of the zero-padded input) become channel
/// `i·stride + p`, and tap `j = j'·stride + p` becomes that channel's tap `j'`, so output `t`
/// reads phase positions `t + j'`. The generator's noise branch (stride 6, k 12) then runs on
/// the tiles (or in int8) instead of one strided sample at a time. `conv` runs it (the
/// backend's arithmetic); `None` for dilated strided convolutions, which keep the one-tap path.
pub fn conv1d_strided_polyphase(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>, conv: impl Fn(&Conv1dGeometry, &[f32], &Weight, Option<&[f32]>) -> Vec<f32>) -> Option<Vec<f32>> {
    let s = g.stride;
    if s == 1 || g.dilation != 1 {
        return None;
    }
    let kp = g.k.div_ceil(s);
    let len = g.t_out + kp - 1;
    let mut phases = vec![0.0f32; g.c_in * s * len];
    for (x_row, rows) in x.chunks_exact(g.t_in).zip(phases.chunks_exact_mut(s * len)) {
        for (p, row) in rows.chunks_exact_mut(len).enumerate() {
            for (m, v) in row.iter_mut().enumerate() {
                // padded position m·s + p is input position m·s + p − padding
                if let Some(&sample) = (m * s + p).checked_sub(g.padding).and_then(|q| x_row.get(q)) {
                    *v = sample;
                }
            }
        }
    }
    let full = w.to_f32(); // [c_out][c_in][k]
    let mut taps = vec![0.0f32; g.c_out * g.c_in * s * kp];
    for (w_row, out_row) in full.chunks_exact(g.k).zip(taps.chunks_exact_mut(s * kp)) {
        for (j, &v) in w_row.iter().enumerate() {
            out_row[(j % s) * kp + j / s] = v;
        }
    }
    let Ok(taps) = Weight::f32(&[g.c_out, g.c_in * s, kp], taps) else { unreachable!("the shape holds the values") };
    let bias_shape = bias.map(|b| [b.len()]);
    let Ok(geo) = Conv1dGeometry::new(&[g.c_in * s, len], &[g.c_out, g.c_in * s, kp], bias_shape.as_ref().map(|s| s.as_slice()), Conv1dParams::default()) else {
        unreachable!("t_out + k' − 1 phase steps give t_out outputs")
    };
    debug_assert_eq!(geo.t_out, g.t_out);
    Some(conv(&geo, &phases, &taps, bias))
}

/// `nn.ConvTranspose1d` (groups 1; `w [c_in, c_out, k]`) as `stride` ordinary convolutions,
/// one per output phase: output `p` with `q = p + padding = Q·stride + r` sums the taps
/// `j = r + m·stride` over inputs `Q − m`, a stride-1 convolution of `x` with the phase's taps
/// reversed. Each phase runs on [`conv1d`]'s tiles (and threads) instead of scattering one
/// sample at a time. `conv` runs each phase (the backend's arithmetic).
pub fn conv_transpose1d_polyphase(g: &ConvTransposeGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>, conv: impl Fn(&Conv1dGeometry, &[f32], &Weight) -> Vec<f32>) -> Vec<f32> {
    let (s, k) = (g.stride, g.k);
    let full = w.to_f32(); // [c_in][c_out][k]
    // Phase r's `[c_out, steps]`: its step Q is output q = Q·s + r, i.e. p = Q·s + r − padding.
    let phases: Vec<(usize, Vec<f32>)> = (0..s.min(k))
        .map(|r| {
            let kt = (k - r).div_ceil(s);
            // phase weights [c_out][c_in][m'] = w[ci][co][r + (kt − 1 − m')·s]
            let mut phase = vec![0.0f32; g.c_out * g.c_in * kt];
            for (co, per_out) in phase.chunks_exact_mut(g.c_in * kt).enumerate() {
                for (ci, taps) in per_out.chunks_exact_mut(kt).enumerate() {
                    for (m, v) in taps.iter_mut().enumerate() {
                        *v = full[(ci * g.c_out + co) * k + r + (kt - 1 - m) * s];
                    }
                }
            }
            let Ok(phase) = Weight::f32(&[g.c_out, g.c_in, kt], phase) else { unreachable!("the shape holds the values") };
            let params = Conv1dParams { stride: 1, padding: kt - 1, dilation: 1 };
            let Ok(geo) = Conv1dGeometry::new(&[g.c_in, g.t_in], &[g.c_out, g.c_in, kt], None, params) else {
                unreachable!("a stride-1 convolution padded by its span has outputs")
            };
            (geo.t_out, conv(&geo, x, &phase))
        })
        .collect();
    // Each output has one (Q, r): the bias plus that phase's value (none where r ≥ k or Q is
    // past the phase's steps). Rows on the threads.
    super::rows(g.c_out * g.t_out, g.t_out, |co, row| {
        let b = bias.map_or(0.0, |b| b[co]);
        let (mut big_q, mut r) = (g.padding / s, g.padding % s);
        for out in row {
            let v = phases.get(r).and_then(|(steps, y)| (big_q < *steps).then(|| y[co * steps + big_q]));
            out.write(v.map_or(b, |v| b + v));
            r += 1;
            if r == s {
                (big_q, r) = (big_q + 1, 0);
            }
        }
    })
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

/// Output channels per tile of the tiled kernels.
const TILE_CHANNELS: usize = 4;
/// The most time steps a tile kernel computes at once.
const MAX_STEPS: usize = 16;
/// Input channels a tile kernel sums before moving to the next time tile: 32 rows of input
/// and their weights fit in L1 next to the tiles.
const CHANNEL_CHUNK: usize = 32;
/// (Channel, tap) entries a tile sums at least between loading and storing its accumulators: a
/// linear layer's one tap per channel gets 64 channels.
const MIN_ENTRIES: usize = 64;

/// Input channels per chunk for a `k`-tap convolution.
fn channel_chunk(k: usize) -> usize {
    CHANNEL_CHUNK.max(MIN_ENTRIES.div_ceil(k))
}

/// Stride-1 convolution as register tiles: 4 output channels × a run of time steps accumulate
/// in vector registers over every (input channel, tap), reading a zero-padded copy of the input
/// (so no tap needs a bounds check) and each channel's decoded weights where they were decoded
/// (one broadcast per channel per tap; repacking them per call cost a linear layer over a
/// sentence a quarter of its time). Several multiply-adds per load instead of the axpy's one:
/// the generator's convolutions become compute-bound. `None` where no vector kernel exists for
/// this CPU.
fn conv1d_tiled(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    let kernel = tile_kernel()?;
    if g.stride != 1 {
        return None;
    }
    // xp[i][q] = x[i][q − padding], zero outside: output t, tap j reads xp[i][t + j·dilation].
    // Wide enough for whole tiles past the last output, so the last tile needs no other code.
    let tp = g.t_out.div_ceil(MAX_STEPS) * MAX_STEPS + (g.k - 1) * g.dilation;
    let mut xp = vec![0.0f32; g.c_in * tp];
    for (row, x_row) in xp.chunks_exact_mut(tp).zip(x.chunks_exact(g.t_in)) {
        let (from, to) = (g.padding.min(tp), (g.padding + g.t_in).min(tp));
        row[from..to].copy_from_slice(&x_row[..to - from]);
    }
    let taps = g.c_in * g.k;
    let offsets: Vec<usize> = tap_offsets(g, g.c_in, tp).collect();
    let mut out = vec![0.0f32; g.c_out * g.t_out];
    let block = |rows: &mut Vec<f32>, (b, y): (usize, &mut [f32])| {
        let first = b * TILE_CHANNELS;
        let n = y.len() / g.t_out;
        // The block's weights, a row per channel; missing channels (the last block) are zero.
        w.decode_rows(first, &mut rows[..n * taps]);
        rows[n * taps..].fill(0.0);
        let mut b4 = [0.0f32; TILE_CHANNELS];
        for (r, v) in b4.iter_mut().enumerate().take(n) {
            *v = bias.map_or(0.0, |bias| bias[first + r]);
        }
        let w_rows = std::array::from_fn(|r| &rows[r * taps..][..taps]);
        let tile = Tile { xp: &xp, c_in: g.c_in, k: g.k, t_out: g.t_out, offsets: &offsets, w_rows, bias: b4 };
        kernel(&tile, y);
    };
    let scratch = || vec![0.0f32; TILE_CHANNELS * taps];
    for_chunks(&mut out, TILE_CHANNELS * g.t_out, 1, scratch, block);
    Some(out)
}

/// Where tap `j` of padded input row `i` (of `rows`, each `row_len` long) reads, from a tile's
/// first step: `i·row_len + j·dilation`, in the order the weights are packed. The vector kernels
/// walk this one flat list (a linear layer's one tap per row costs no inner loop).
pub(super) fn tap_offsets(g: &Conv1dGeometry, rows: usize, row_len: usize) -> impl Iterator<Item = usize> + '_ {
    (0..rows).flat_map(move |i| (0..g.k).map(move |j| i * row_len + j * g.dilation))
}

/// One block of output channels: what a tile kernel reads.
struct Tile<'a> {
    xp: &'a [f32],
    c_in: usize,
    k: usize,
    t_out: usize,
    /// `[c_in·k]`: where tap `j` of channel `i` reads, `i·tp + j·dilation`.
    offsets: &'a [usize],
    /// Each channel's `[c_in·k]` weights.
    w_rows: [&'a [f32]; TILE_CHANNELS],
    bias: [f32; TILE_CHANNELS],
}

impl Tile<'_> {
    /// Whether every tap's reads of whole `steps`-long tiles stay in `xp` and the weights cover
    /// every tap: what the kernels' unchecked loads rely on.
    fn fits(&self, steps: usize) -> bool {
        let reach = self.t_out.div_ceil(steps) * steps;
        self.offsets.len() == self.c_in * self.k && self.w_rows.iter().all(|row| row.len() >= self.offsets.len()) && self.offsets.iter().all(|&o| o + reach <= self.xp.len())
    }
}

type TileKernel = fn(&Tile, &mut [f32]);

/// Where each of a tile's rows lives while a kernel sums it (`STEPS` values from `t0` of each
/// row of `y`, `[rows][t_out]`): in `y` itself for a whole tile; in its buffer, holding y's
/// values, for a missing row (the block's last) or a partial last tile. The pointers into y
/// all come from one `as_mut_ptr` taken after the copies, so they stay valid together.
#[cfg_attr(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))), allow(dead_code))]
fn tile_rows<const STEPS: usize>(y: &mut [f32], t_out: usize, t0: usize, partial: &mut [[f32; STEPS]; TILE_CHANNELS]) -> [*mut f32; TILE_CHANNELS] {
    let (rows, steps) = (y.len() / t_out, STEPS.min(t_out - t0));
    let whole = steps == STEPS;
    if !whole {
        for (r, buffer) in partial.iter_mut().enumerate().take(rows) {
            buffer[..steps].copy_from_slice(&y[r * t_out + t0..][..steps]);
        }
    }
    let y = y.as_mut_ptr();
    std::array::from_fn(|r| {
        if whole && r < rows {
            // SAFETY: r < rows and t0 + STEPS ≤ t_out: within y.
            unsafe { y.add(r * t_out + t0) }
        } else {
            partial[r].as_mut_ptr()
        }
    })
}

/// After [`tile_rows`]: a partial last tile's sums from the buffers into `y`.
#[cfg_attr(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))), allow(dead_code))]
fn partial_rows_back<const STEPS: usize>(y: &mut [f32], t_out: usize, t0: usize, partial: &[[f32; STEPS]; TILE_CHANNELS]) {
    let (rows, steps) = (y.len() / t_out, STEPS.min(t_out - t0));
    if steps < STEPS {
        for (r, buffer) in partial.iter().enumerate().take(rows) {
            y[r * t_out + t0..][..steps].copy_from_slice(&buffer[..steps]);
        }
    }
}

/// The vector tile kernel this CPU runs, if any.
fn tile_kernel() -> Option<TileKernel> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return Some(|tile, y| {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { tile_avx2(tile, y) }
        });
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return Some(tile_simd128);
    #[allow(unreachable_code)]
    None
}

/// Whether [`conv1d`] runs vector tile kernels here, and which.
pub fn tile_kernel_name() -> Option<&'static str> {
    tile_kernel()?;
    Some(if cfg!(target_arch = "wasm32") { "simd128 tiles" } else { "AVX2+FMA tiles" })
}

/// 4 channels × 16 steps (two 8-lane registers per channel: 8 accumulators) per tile. Input
/// channels go in chunks of [`CHANNEL_CHUNK`], all tiles of a chunk before the next (partial
/// sums wait in `y`), so a chunk's input rows and weights stay in L1 while the tiles sweep time;
/// each output still sums its (channel, tap) products in order. Written with named registers
/// and pointer steps (no arrays, no index arithmetic in the inner loop) so the accumulators
/// stay in registers in every build profile.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(tile: &Tile, y: &mut [f32]) {
    use std::arch::x86_64::*;
    const STEPS: usize = 16;
    let (k, t_out) = (tile.k, tile.t_out);
    assert!(tile.fits(STEPS), "tile buffers too short");
    let mut i0 = 0;
    while i0 < tile.c_in {
        let i1 = (i0 + channel_chunk(k)).min(tile.c_in);
        let mut t0 = 0;
        while t0 < t_out {
            let mut partial = [[0.0f32; STEPS]; TILE_CHANNELS];
            let at = tile_rows(y, t_out, t0, &mut partial);
            let start = |r: usize| if i0 == 0 { _mm256_set1_ps(tile.bias[r]) } else { _mm256_loadu_ps(at[r]) };
            let start_hi = |r: usize| if i0 == 0 { _mm256_set1_ps(tile.bias[r]) } else { _mm256_loadu_ps(at[r].add(8)) };
            let (mut a00, mut a01) = (start(0), start_hi(0));
            let (mut a10, mut a11) = (start(1), start_hi(1));
            let (mut a20, mut a21) = (start(2), start_hi(2));
            let (mut a30, mut a31) = (start(3), start_hi(3));
            // SAFETY: every offset plus whole tiles stays in xp (asserted above), so every load
            // does; entry e < c_in·k is within every weight row (asserted); each `at[r]` points at
            // STEPS values of y or of its buffer.
            let x_tile = tile.xp.as_ptr().add(t0);
            let [w0, w1, w2, w3] = tile.w_rows.map(<[f32]>::as_ptr);
            for (e, &offset) in (i0 * k..).zip(&tile.offsets[i0 * k..i1 * k]) {
                let xs = x_tile.add(offset);
                // The line the tile after next will read here (the hardware prefetcher does not
                // follow 32 rows at once).
                _mm_prefetch::<_MM_HINT_T0>(xs.wrapping_add(2 * STEPS) as *const i8);
                let x0 = _mm256_loadu_ps(xs);
                let x1 = _mm256_loadu_ps(xs.add(8));
                let v0 = _mm256_broadcast_ss(&*w0.add(e));
                a00 = _mm256_fmadd_ps(v0, x0, a00);
                a01 = _mm256_fmadd_ps(v0, x1, a01);
                let v1 = _mm256_broadcast_ss(&*w1.add(e));
                a10 = _mm256_fmadd_ps(v1, x0, a10);
                a11 = _mm256_fmadd_ps(v1, x1, a11);
                let v2 = _mm256_broadcast_ss(&*w2.add(e));
                a20 = _mm256_fmadd_ps(v2, x0, a20);
                a21 = _mm256_fmadd_ps(v2, x1, a21);
                let v3 = _mm256_broadcast_ss(&*w3.add(e));
                a30 = _mm256_fmadd_ps(v3, x0, a30);
                a31 = _mm256_fmadd_ps(v3, x1, a31);
            }
            for (r, (lo, hi)) in [(a00, a01), (a10, a11), (a20, a21), (a30, a31)].into_iter().enumerate() {
                _mm256_storeu_ps(at[r], lo);
                _mm256_storeu_ps(at[r].add(8), hi);
            }
            partial_rows_back(y, t_out, t0, &partial);
            t0 += STEPS;
        }
        i0 = i1;
    }
}

/// 4 channels × 8 steps (two 4-lane registers per channel: 8 accumulators) per tile, input
/// channels in chunks; wasm has no fused multiply-add without relaxed SIMD, so a multiply and an
/// add. Named registers and pointer steps, as in the AVX2 kernel, so the accumulators stay in
/// registers; whole tiles start from and end in `y` itself (a copy through a buffer per tile
/// cost as much as a chunk's products in a linear layer).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile_simd128(tile: &Tile, y: &mut [f32]) {
    use core::arch::wasm32::*;
    const STEPS: usize = 8;
    let (k, t_out) = (tile.k, tile.t_out);
    assert!(tile.fits(STEPS), "tile buffers too short");
    // Input channels in chunks, as in the AVX2 kernel (partial sums wait in y).
    let mut i0 = 0;
    while i0 < tile.c_in {
        let i1 = (i0 + channel_chunk(k)).min(tile.c_in);
        let mut t0 = 0;
        while t0 < t_out {
            let mut partial = [[0.0f32; STEPS]; TILE_CHANNELS];
            let at = tile_rows(y, t_out, t0, &mut partial);
            // SAFETY: (asserted above) every offset plus whole tiles stays in xp, every weight row
            // has c_in·k values; each `at[r]` points at STEPS values of y or of its buffer; v128
            // loads and stores are unaligned-safe.
            unsafe {
                let start = |r: usize, half: usize| if i0 == 0 { f32x4_splat(tile.bias[r]) } else { v128_load(at[r].add(4 * half) as *const v128) };
                let (mut a00, mut a01) = (start(0, 0), start(0, 1));
                let (mut a10, mut a11) = (start(1, 0), start(1, 1));
                let (mut a20, mut a21) = (start(2, 0), start(2, 1));
                let (mut a30, mut a31) = (start(3, 0), start(3, 1));
                let x_tile = tile.xp.as_ptr().add(t0);
                let [w0, w1, w2, w3] = tile.w_rows.map(<[f32]>::as_ptr);
                for (e, &offset) in (i0 * k..).zip(&tile.offsets[i0 * k..i1 * k]) {
                    let xs = x_tile.add(offset);
                    let x0 = v128_load(xs as *const v128);
                    let x1 = v128_load(xs.add(4) as *const v128);
                    let v0 = f32x4_splat(*w0.add(e));
                    a00 = f32x4_add(a00, f32x4_mul(v0, x0));
                    a01 = f32x4_add(a01, f32x4_mul(v0, x1));
                    let v1 = f32x4_splat(*w1.add(e));
                    a10 = f32x4_add(a10, f32x4_mul(v1, x0));
                    a11 = f32x4_add(a11, f32x4_mul(v1, x1));
                    let v2 = f32x4_splat(*w2.add(e));
                    a20 = f32x4_add(a20, f32x4_mul(v2, x0));
                    a21 = f32x4_add(a21, f32x4_mul(v2, x1));
                    let v3 = f32x4_splat(*w3.add(e));
                    a30 = f32x4_add(a30, f32x4_mul(v3, x0));
                    a31 = f32x4_add(a31, f32x4_mul(v3, x1));
                }
                for (r, (lo, hi)) in [(a00, a01), (a10, a11), (a20, a21), (a30, a31)].into_iter().enumerate() {
                    v128_store(at[r] as *mut v128, lo);
                    v128_store(at[r].add(4) as *mut v128, hi);
                }
            }
            partial_rows_back(y, t_out, t0, &partial);
            t0 += STEPS;
        }
        i0 = i1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tile kernels against the one-tap kernel over every remainder the tiles have: output
    /// channels not a multiple of 4, time not a multiple of the tile, padding on either side,
    /// dilation, k = 1 (linear). Sums differ only by rounding (fused multiply-adds natively).
    #[test]
    fn tiles_match_the_axpy_kernel() {
        let kind = tile_kernel_name();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            assert_eq!(kind, Some("AVX2+FMA tiles"));
        }
        let mut rng = crate::rng::SplitMix64(7);
        let mut cases = 0;
        for (c_out, c_in) in [(1, 1), (4, 3), (5, 17), (9, 8), (6, 70)] {
            for (k, dilation) in [(1, 1), (3, 1), (3, 3), (7, 5)] {
                for t_in in [1, 15, 16, 33, 100] {
                    for padding in [0, (k - 1) * dilation / 2, (k - 1) * dilation] {
                        let span = (k - 1) * dilation;
                        if t_in + 2 * padding <= span {
                            continue;
                        }
                        let x: Vec<f32> = (0..c_in * t_in).map(|_| rng.uniform()).collect();
                        let w: Vec<f32> = (0..c_out * c_in * k).map(|_| rng.uniform()).collect();
                        let bias: Vec<f32> = (0..c_out).map(|_| rng.uniform()).collect();
                        let weight = Weight::f32(&[c_out, c_in, k], w).unwrap();
                        let params = Conv1dParams { stride: 1, padding, dilation };
                        let g = Conv1dGeometry::new(&[c_in, t_in], &[c_out, c_in, k], Some(&[c_out]), params).unwrap();
                        let fast = conv1d(&g, &x, &weight, Some(&bias));
                        let slow = conv1d_axpy(&g, &x, &weight, Some(&bias));
                        assert_eq!(fast.len(), slow.len());
                        // each output sums c_in·k products of magnitude ≤ 1
                        let bound = 1e-6 * (c_in * k) as f32;
                        for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                            assert!((a - b).abs() <= bound, "c_out {c_out} c_in {c_in} k {k} d {dilation} t_in {t_in} pad {padding}: [{i}] {a} vs {b}");
                        }
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 150, "{cases}");
    }

    /// The strided convolution over phases against the one-tap kernel's strided path, over
    /// strides larger and smaller than the kernel, paddings and short inputs.
    #[test]
    fn strided_conv_over_phases_matches_the_one_tap_kernel() {
        let mut rng = crate::rng::SplitMix64(13);
        let mut cases = 0;
        for (stride, k) in [(2usize, 3usize), (2, 4), (3, 2), (6, 12), (4, 9), (5, 1)] {
            for padding in [0, k / 2, k - 1] {
                for t_in in [1, 7, 40, 101] {
                    let (c_in, c_out) = (5, 6);
                    let params = Conv1dParams { stride, padding, dilation: 1 };
                    let Ok(g) = Conv1dGeometry::new(&[c_in, t_in], &[c_out, c_in, k], Some(&[c_out]), params) else { continue };
                    let x: Vec<f32> = (0..c_in * t_in).map(|_| rng.uniform()).collect();
                    let w = Weight::f32(&[c_out, c_in, k], (0..c_out * c_in * k).map(|_| rng.uniform()).collect()).unwrap();
                    let bias: Vec<f32> = (0..c_out).map(|_| rng.uniform()).collect();
                    let fast = conv1d_strided_polyphase(&g, &x, &w, Some(&bias), conv1d).unwrap();
                    let slow = conv1d_axpy(&g, &x, &w, Some(&bias));
                    assert_eq!(fast.len(), slow.len());
                    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                        assert!((a - b).abs() <= 1e-5, "stride {stride} k {k} pad {padding} t_in {t_in}: [{i}] {a} vs {b}");
                    }
                    cases += 1;
                }
            }
        }
        assert!(cases > 50, "{cases}");
        let dilated = Conv1dGeometry::new(&[2, 20], &[3, 2, 3], None, Conv1dParams { stride: 2, padding: 0, dilation: 2 }).unwrap();
        assert!(conv1d_strided_polyphase(&dilated, &[0.0; 40], &Weight::f32(&[3, 2, 3], vec![0.0; 18]).unwrap(), None, conv1d).is_none());
    }

    /// The polyphase transposed convolution against the scatter it replaces, over strides
    /// larger and smaller than the kernel, paddings, and single-sample inputs.
    #[test]
    fn polyphase_transposed_conv_matches_the_scatter() {
        use crate::backend::ConvTransposeParams;
        let mut rng = crate::rng::SplitMix64(11);
        for (stride, k) in [(1usize, 3usize), (2, 4), (3, 2), (5, 10), (6, 12), (10, 20), (4, 3)] {
            for padding in [0, k.saturating_sub(stride) / 2, k / 2] {
                for (t_in, output_padding) in [(1, 0), (2, 0), (17, 0), (9, stride - 1)] {
                    let (c_in, c_out) = (5, 6);
                    let params = ConvTransposeParams { stride, padding, output_padding, groups: 1 };
                    let Ok(g) = ConvTransposeGeometry::new(&[c_in, t_in], &[c_in, c_out, k], Some(&[c_out]), params) else { continue };
                    let x: Vec<f32> = (0..c_in * t_in).map(|_| rng.uniform()).collect();
                    let w = Weight::f32(&[c_in, c_out, k], (0..c_in * c_out * k).map(|_| rng.uniform()).collect()).unwrap();
                    let bias: Vec<f32> = (0..c_out).map(|_| rng.uniform()).collect();
                    let fast = conv_transpose1d_polyphase(&g, &x, &w, Some(&bias), |g, x, w| conv1d(g, x, w, None));
                    let slow = super::super::nn::conv_transpose1d(&g, &x, &w, Some(&bias));
                    assert_eq!(fast.len(), slow.len());
                    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                        assert!((a - b).abs() <= 1e-5, "stride {stride} k {k} pad {padding} t_in {t_in}: [{i}] {a} vs {b}");
                    }
                }
            }
        }
    }
}
