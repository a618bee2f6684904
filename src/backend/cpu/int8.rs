//! Integer convolution, the CPU backend's int8 arithmetic ([`super::Arithmetic::Int8`]): each
//! input channel is quantized to int8 with its own scale, which moves into the weights
//! (`w[o][i][j] · scale_i`, as SmoothQuant migrates it, all the way), each output channel's
//! scaled weights to int8 with one scale for the row, and the products are summed exactly in
//! i32. One scale for the whole input cost 3–5 dB of log-mel on the real model: a few loud
//! channels set the step for all. Integer sums do not depend on order, so every kernel (AVX-512
//! VNNI, wasm simd128, the scalar twin, wasm's Winograd F(6,3) and F(6,4) in
//! `int8/winograd.rs`) and every thread count give bit-identical output; only the final scaling
//! to f32 rounds, the same way everywhere.

use std::mem::MaybeUninit;

use super::conv1d::tap_offsets;
use super::for_chunks;
use crate::backend::{Conv1dGeometry, Weight};

// Where multiplies are the cost (wasm: no byte dot); natively its arithmetic is tested.
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
mod winograd;

/// Input channels per 32-bit word: VNNI multiplies 4 adjacent bytes and sums them.
const GROUP: usize = 4;
/// Output channels per tile.
const ROWS: usize = 8;
/// Time steps per tile; the padded input and the i32 sums are whole tiles long.
const STEPS: usize = 32;
/// Channel groups summed before the time tiles move on: a chunk's input and weights stay in L1.
const CHUNK: usize = 16;
/// Convolutions with fewer output channels stay f32: the generator's `conv_post` (22 outputs:
/// the spectrum and phase the inverse STFT reads) cost 1.6 dB of log-mel in int8 on the real
/// model, every other convolution together about 0.9.
pub const MIN_CHANNELS: usize = 64;
/// What int8 rounding adds to a convolution's output, relative to its largest value: each
/// product is off by about half a level of each operand (1/254 of the row's or channel's
/// largest), and over many products the errors mostly cancel. A kernel that mixes up lanes,
/// taps or channels is off by the output itself.
pub const ERROR: f32 = 0.01;
/// The most products one i32 sum may hold: each is at most 255 · 127 (a biased input byte
/// times a weight), so 66,000 of them stay below 2³¹. Kokoro's widest convolution sums 3,270.
const MAX_TAPS: usize = 65_536;
/// Symmetric int8 levels: ±127 (−128 unused, so negation is exact).
const LEVELS: f32 = 127.0;

/// One piece of the quantized input, zero-padded: word `[g][q]` holds channels `4g..4g+4` at
/// padded position `t0 + q` (input position `t0 + q − padding`) as bytes `value + 128` (VNNI
/// multiplies unsigned by signed bytes; the +128 is taken off once per output channel).
struct Input {
    words: Vec<u32>,
    /// Words per group: the piece's time tiles plus the kernel's span.
    tp: usize,
    groups: usize,
    /// `[groups·k]`: where tap `j` of group `g` reads, `g·tp + j·dilation` ([`tap_offsets`]).
    offsets: Vec<usize>,
}

impl Input {
    /// Whether every tap's reads of `t_pad` words stay in `words`: what the vector kernels'
    /// unchecked loads rely on (their offsets carry the dilation).
    fn fits(&self, k: usize, t_pad: usize) -> bool {
        self.offsets.len() == self.groups * k && self.offsets.iter().all(|&o| o + t_pad <= self.words.len())
    }
}

/// One tile's quantized weights: word `[g][j][r]` holds channels `4g..4g+4` of tap `j` of row
/// `r` as signed bytes (zero for missing channels and rows).
struct Block {
    words: Vec<u32>,
    /// Σ of each row's quantized weights (for the +128 of the input).
    sums: [i32; ROWS],
    scales: [f32; ROWS],
}

/// Sums `acc[r][t] += Σ_{g,j} Σ_c x[g][t + j·dilation][c] · w[g][j][r][c]` (bytes as in
/// [`Input`] and [`Block`]) for `t` in whole tiles.
type Kernel = fn(&Input, &[u32], usize, usize, &mut [i32]);

/// `x [c_in, t_in]`, `w [c_out, c_in, k]` → `[c_out, t_out]` in int8 arithmetic; `None` where
/// it does not apply: stride ≠ 1, more than [`MAX_TAPS`] products per output, or values that
/// are not finite (the float path propagates them as PyTorch does).
pub fn conv1d_int8(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if winograd::applies(g) {
        return winograd::conv1d(winograd::tile_simd128, g, x, w, bias);
    }
    conv1d_with(kernel(), g, x, w, bias)
}

fn conv1d_with(kernel: Kernel, g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    let (maxima, blocks) = quantize(g, x, w)?;
    let piece = piece_steps(g.t_out);
    let scratch = || (Input { words: Vec::new(), tp: 0, groups: 0, offsets: Vec::new() }, vec![0i32; ROWS * piece]);
    // SAFETY: every row of every piece is written below, each step once.
    let out = unsafe {
        over_pieces(g, piece, scratch, |(input, acc), t0, column| {
            let steps = column[0].len();
            let t_pad = steps.div_ceil(STEPS) * STEPS;
            quantize_input(g, x, &maxima, t0, t_pad, input);
            for (b, (block, rows)) in blocks.iter().zip(column.chunks_mut(ROWS)).enumerate() {
                let acc = &mut acc[..ROWS * t_pad];
                acc.fill(0);
                kernel(input, &block.words, g.k, g.dilation, acc);
                for (r, (y, sums)) in rows.iter_mut().zip(acc.chunks_exact(t_pad)).enumerate() {
                    let (scale, offset) = (block.scales[r], 128 * block.sums[r]);
                    let bias_r = bias.map_or(0.0, |bias| bias[b * ROWS + r]);
                    for (v, &s) in y.iter_mut().zip(sums) {
                        v.write((s - offset) as f32 * scale + bias_r);
                    }
                }
            }
        })
    };
    Some(out)
}

/// Each input channel's largest magnitude and the weights quantized in blocks of [`ROWS`]
/// output channels, on threads; `None` where int8 does not apply (see [`conv1d_int8`]).
fn quantize(g: &Conv1dGeometry, x: &[f32], w: &Weight) -> Option<(Vec<f32>, Vec<Block>)> {
    if g.stride != 1 || g.c_in * g.k > MAX_TAPS {
        return None;
    }
    // NaN marks a value that is not finite.
    let mut maxima = vec![0.0f32; g.c_in];
    for_chunks(&mut maxima, 1, (1 << 14) / g.t_in + 1, || (), |_, (i, m)| m[0] = max_abs(&x[i * g.t_in..(i + 1) * g.t_in]).unwrap_or(f32::NAN));
    if maxima.iter().any(|m| m.is_nan()) {
        return None;
    }
    // each tap's input channel scale, so that scaling a weight row is one flat product
    let tap_scales: Vec<f32> = maxima.iter().flat_map(|&m| std::iter::repeat_n(m / LEVELS, g.k)).collect();
    let taps = g.c_in * g.k;
    let words = g.c_in.div_ceil(GROUP) * g.k * ROWS;
    let mut blocks: Vec<Block> = (0..g.c_out.div_ceil(ROWS)).map(|_| Block { words: vec![0; words], sums: [0; ROWS], scales: [0.0; ROWS] }).collect();
    // levels for whole groups of channels: the missing channels' stay 128, the byte 0
    let level_buffer = || vec![128u8; g.c_in.div_ceil(GROUP) * GROUP * g.k];
    for_chunks(&mut blocks, 1, 1, || (vec![0.0f32; ROWS * taps], level_buffer()), |(rows, levels), (b, block)| {
        let n = (g.c_out - b * ROWS).min(ROWS);
        w.decode_rows(b * ROWS, &mut rows[..n * taps]);
        quantize_block(g, &mut rows[..n * taps], &tap_scales, levels, &mut block[0]);
    });
    Some((maxima, blocks))
}

/// The `[c_out, t_out]` output, computed on threads in pieces of `piece` steps, time pieces
/// outermost: a piece's quantized input and sums stay in cache while every block of output
/// channels runs over them, and the sums become f32 while still in L1. `body` gets its scratch,
/// the piece's first step and the piece's slice of every row.
///
/// # Safety
/// `body` writes every value of the slices it is given (the output is not zero-filled first).
unsafe fn over_pieces<S>(g: &Conv1dGeometry, piece: usize, scratch: impl Fn() -> S + Send + Sync, body: impl Fn(&mut S, usize, &mut [&mut [MaybeUninit<f32>]]) + Send + Sync) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(g.c_out * g.t_out);
    let mut columns: Vec<Vec<&mut [MaybeUninit<f32>]>> = (0..g.t_out.div_ceil(piece)).map(|_| Vec::with_capacity(g.c_out)).collect();
    for row in out.spare_capacity_mut()[..g.c_out * g.t_out].chunks_exact_mut(g.t_out) {
        for (column, part) in columns.iter_mut().zip(row.chunks_mut(piece)) {
            column.push(part);
        }
    }
    for_chunks(&mut columns, 1, 1, scratch, |scratch, (p, column)| body(scratch, p * piece, &mut column[0]));
    // SAFETY: the pieces cover every row's every step, each written by `body` (the caller's promise).
    unsafe { out.set_len(g.c_out * g.t_out) };
    out
}

/// Time steps per piece: whole tiles, long enough that the kernel's span (up to 50 steps)
/// adds little quantizing, short enough that a piece's input (up to 64 groups) and sums stay in
/// L2, and several pieces per thread.
fn piece_steps(t_out: usize) -> usize {
    #[cfg(any(not(target_arch = "wasm32"), feature = "wasm-threads"))]
    let threads = rayon::current_num_threads();
    #[cfg(all(target_arch = "wasm32", not(feature = "wasm-threads")))]
    let threads = 1;
    (t_out.div_ceil(4 * threads).div_ceil(STEPS) * STEPS).clamp(4 * STEPS, 32 * STEPS)
}

/// The level `v / scale` rounds to (halves up), as the byte `level + 128` (`inv` = 1 / scale,
/// 0 for an all-zero channel or row; |v| ≤ its max, so the level is within ±127). Adding and
/// truncating, not `f32::round`: x86-64's baseline has no rounding instruction, and a libm call
/// per value cost as much as a small convolution.
#[inline]
fn level_byte(v: f32, inv: f32) -> u8 {
    (v * inv + 128.5) as u8
}

/// The largest magnitude, or `None` if any value is not finite. Eight lanes, compares that
/// compile to vector max, and `v · 0` (NaN exactly for infinities and NaNs) summed to find
/// the bad values: one vectorized pass.
fn max_abs(values: &[f32]) -> Option<f32> {
    let (mut max, mut bad) = ([0.0f32; 8], [0.0f32; 8]);
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for l in 0..8 {
            let a = chunk[l].abs();
            max[l] = if a > max[l] { a } else { max[l] };
            bad[l] += chunk[l] * 0.0;
        }
    }
    let mut m = max.into_iter().fold(0.0f32, f32::max);
    let mut b = bad.iter().sum::<f32>();
    for &v in chunks.remainder() {
        m = m.max(v.abs());
        b += v * 0.0;
    }
    (b == 0.0).then_some(m)
}

/// Quantizes padded positions `t0 .. t0 + t_pad + span` of every channel into `input`, four
/// channels' levels shifted into each word in one pass (vectorizes: 4 loads, multiply-adds,
/// conversions, shifts and ors per 8 words).
fn quantize_input(g: &Conv1dGeometry, x: &[f32], maxima: &[f32], t0: usize, t_pad: usize, input: &mut Input) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { quantize_input_avx2(g, x, maxima, t0, t_pad, input) };
        return;
    }
    quantize_input_portable(g, x, maxima, t0, t_pad, input);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_input_avx2(g: &Conv1dGeometry, x: &[f32], maxima: &[f32], t0: usize, t_pad: usize, input: &mut Input) {
    quantize_input_portable(g, x, maxima, t0, t_pad, input);
}

#[inline(always)]
fn quantize_input_portable(g: &Conv1dGeometry, x: &[f32], maxima: &[f32], t0: usize, t_pad: usize, input: &mut Input) {
    let tp = t_pad + (g.k - 1) * g.dilation;
    input.groups = g.c_in.div_ceil(GROUP);
    input.tp = tp;
    input.words.resize(input.groups * tp, 0);
    input.offsets.clear();
    input.offsets.extend(tap_offsets(g, input.groups, tp));
    let (from, to, first) = input_span(g, t0, tp);
    let n = to - from;
    for (group, row) in input.words.chunks_exact_mut(tp).enumerate() {
        // A channel past c_in reads channel 0 with 1/scale 0: the byte 0x80, zero.
        let channel = |c: usize| {
            let i = GROUP * group + c;
            let (i, max) = if i < g.c_in { (i, maxima[i]) } else { (0, 0.0) };
            (&x[i * g.t_in + first..i * g.t_in + first + n], if max > 0.0 { LEVELS / max } else { 0.0 })
        };
        let [(x0, i0), (x1, i1), (x2, i2), (x3, i3)] = [0, 1, 2, 3].map(channel);
        row[..from].fill(0x8080_8080);
        row[to..].fill(0x8080_8080);
        for ((((word, &v0), &v1), &v2), &v3) in row[from..to].iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
            *word = input_level(v0, i0) | input_level(v1, i1) << 8 | input_level(v2, i2) << 16 | input_level(v3, i3) << 24;
        }
    }
}

/// Of `len` padded positions from `t0`: the ones that hold input, `from..to` (the rest is
/// padding), and the input index `from` reads.
fn input_span(g: &Conv1dGeometry, t0: usize, len: usize) -> (usize, usize, usize) {
    let from = g.padding.saturating_sub(t0).min(len);
    let to = (g.padding + g.t_in).saturating_sub(t0).clamp(from, len);
    (from, to, (t0 + from).saturating_sub(g.padding))
}

/// [`level_byte`] for an input value, as a word: the same level, without the saturating
/// conversion that keeps LLVM from vectorizing `as u8`.
#[inline(always)]
fn input_level(v: f32, inv: f32) -> u32 {
    // SAFETY: v is finite and |v| ≤ its channel's max (max_abs checked the input and found the
    // max), inv = 127 / max or 0, so v · inv + 128.5 lies in [1, 255.5]: an i32.
    unsafe { (v * inv + 128.5).to_int_unchecked::<i32>() as u32 }
}

/// Quantizes `rows` (`n ≤ ROWS` output channels, `[c_in][k]` each), times each tap's input
/// channel scale, into `block`. The levels come out of one flat pass per row (vector
/// conversions in wasm) into `levels` (whole groups of channels), then four at a time into the
/// tile's interleaved words.
fn quantize_block(g: &Conv1dGeometry, rows: &mut [f32], tap_scales: &[f32], levels: &mut [u8], block: &mut Block) {
    let taps = g.c_in * g.k;
    block.words.fill(0);
    block.sums = [0; ROWS];
    block.scales = [0.0; ROWS];
    for (r, row) in rows.chunks_exact_mut(taps).enumerate() {
        row.iter_mut().zip(tap_scales).for_each(|(v, &s)| *v *= s);
        let max = max_abs(row).unwrap_or(0.0);
        if max == 0.0 {
            continue; // a zero row contributes only its bias
        }
        let inv = LEVELS / max;
        block.scales[r] = max / LEVELS;
        weight_levels(row, inv, &mut levels[..taps]);
        block.sums[r] = levels[..taps].iter().map(|&l| l as i32).sum::<i32>() - 128 * taps as i32;
        for (group, four) in levels.chunks_exact(GROUP * g.k).enumerate() {
            for j in 0..g.k {
                // the four channels' signed levels `l − 128` as bytes
                let word = (0..GROUP).fold(0, |word, c| word | ((four[c * g.k + j] ^ 0x80) as u32) << (8 * c));
                block.words[(group * g.k + j) * ROWS + r] = word;
            }
        }
    }
}

/// `levels[i] = level_byte(row[i], inv)` for a row of finite values whose largest magnitude
/// sets `inv`.
fn weight_levels(row: &[f32], inv: f32, levels: &mut [u8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = weight_levels_simd128(row, inv, levels);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (l, &v) in levels[done..].iter_mut().zip(&row[done..]) {
        *l = level_byte(v, inv);
    }
}

/// Four [`level_byte`]s as i32 lanes, with its multiply, add and truncation (LLVM leaves wasm's
/// float-to-int conversion scalar, so the vector quantizers call this).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn level_bytes_simd128(v: core::arch::wasm32::v128, inv: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    i32x4_trunc_sat_f32x4(f32x4_add(f32x4_mul(v, inv), f32x4_splat(128.5)))
}

/// [`weight_levels`] sixteen at a time; the levels lie in 1…255, so the narrowings do not
/// saturate. Returns the levels done.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn weight_levels_simd128(row: &[f32], inv: f32, levels: &mut [u8]) -> usize {
    use core::arch::wasm32::*;
    let inv = f32x4_splat(inv);
    let n = row.len().min(levels.len()) / 16 * 16;
    for done in (0..n).step_by(16) {
        // SAFETY: done + 16 ≤ n ≤ both slices' lengths.
        unsafe {
            let level = |q: usize| level_bytes_simd128(v128_load(row.as_ptr().add(done + 4 * q) as *const v128), inv);
            let low = i16x8_narrow_i32x4(level(0), level(1));
            let high = i16x8_narrow_i32x4(level(2), level(3));
            v128_store(levels.as_mut_ptr().add(done) as *mut v128, u8x16_narrow_i16x8(low, high));
        }
    }
    n
}

/// The fastest kernel this CPU has.
fn kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if vnni_available() {
        return |x, w, k, d, acc| {
            // SAFETY: the CPU has AVX-512F/BW and VNNI (checked above).
            unsafe { tile_vnni(x, w, k, d, acc) }
        };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return tile_simd128;
    #[allow(unreachable_code)]
    tile_scalar
}

#[cfg(target_arch = "x86_64")]
fn vnni_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") && std::arch::is_x86_feature_detected!("avx512vnni")
}

/// Which int8 kernel runs here.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if vnni_available() {
        return "AVX-512 VNNI";
    }
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "simd128 i16 dot + Winograd F(6,3)/F(6,4)"
    } else {
        "scalar"
    }
}

/// The scalar twin: one (group, tap, row) at a time over the whole padded time axis.
fn tile_scalar(input: &Input, w: &[u32], k: usize, dilation: usize, acc: &mut [i32]) {
    let t_pad = acc.len() / ROWS;
    for (gi, x_group) in input.words.chunks_exact(input.tp).enumerate() {
        for j in 0..k {
            let x = &x_group[j * dilation..j * dilation + t_pad];
            for (r, acc_row) in acc.chunks_exact_mut(t_pad).enumerate() {
                let wb = w[(gi * k + j) * ROWS + r].to_le_bytes().map(|b| b as i8 as i32);
                for (a, xw) in acc_row.iter_mut().zip(x) {
                    let xb = xw.to_le_bytes();
                    *a += (0..GROUP).map(|c| xb[c] as i32 * wb[c]).sum::<i32>();
                }
            }
        }
    }
}

/// 8 rows × 32 steps: 16 accumulators of 16 lanes, one `vpdpbusd` per (register, group, tap)
/// with the row's 4 weight bytes broadcast; channel groups in chunks of [`CHUNK`] (the sums wait
/// in `acc` between chunks).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_vnni(input: &Input, w: &[u32], k: usize, _dilation: usize, acc: &mut [i32]) {
    use std::arch::x86_64::*;
    let t_pad = acc.len() / ROWS;
    assert!(w.len() >= input.groups * k * ROWS && input.fits(k, t_pad));
    let mut g0 = 0;
    while g0 < input.groups {
        let g1 = (g0 + CHUNK).min(input.groups);
        let mut t0 = 0;
        while t0 < t_pad {
            let mut a = [[_mm512_setzero_si512(); 2]; ROWS];
            for (r, a_r) in a.iter_mut().enumerate() {
                let at = acc.as_ptr().add(r * t_pad + t0);
                *a_r = [_mm512_loadu_si512(at as *const _), _mm512_loadu_si512(at.add(16) as *const _)];
            }
            // SAFETY (asserted above): each offset plus t_pad ≥ t0 + STEPS words stays in the
            // input; w walks the chunk's words once.
            let x_tile = input.words.as_ptr().add(t0);
            let mut wp = w.as_ptr().add(g0 * k * ROWS);
            for &offset in &input.offsets[g0 * k..g1 * k] {
                let xs = x_tile.add(offset);
                let x0 = _mm512_loadu_si512(xs as *const _);
                let x1 = _mm512_loadu_si512(xs.add(16) as *const _);
                for (r, a_r) in a.iter_mut().enumerate() {
                    let wb = _mm512_set1_epi32(*wp.add(r) as i32);
                    a_r[0] = _mm512_dpbusd_epi32(a_r[0], x0, wb);
                    a_r[1] = _mm512_dpbusd_epi32(a_r[1], x1, wb);
                }
                wp = wp.add(ROWS);
            }
            for (r, a_r) in a.iter().enumerate() {
                let at = acc.as_mut_ptr().add(r * t_pad + t0);
                _mm512_storeu_si512(at as *mut _, a_r[0]);
                _mm512_storeu_si512(at.add(16) as *mut _, a_r[1]);
            }
            t0 += STEPS;
        }
        g0 = g1;
    }
}

/// 4 rows × 4 steps at a time: each 16-byte load (4 steps × 4 channels) is widened to two i16x8
/// vectors of 2 steps, and `i32x4.dot_i16x8_s` against the row's 4 weights (twice) leaves each
/// step's sum in two lanes, added at the end of the tile. The sums are the same integers as the
/// other kernels'.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile_simd128(input: &Input, w: &[u32], k: usize, _dilation: usize, acc: &mut [i32]) {
    use core::arch::wasm32::*;
    const R: usize = 4;
    const S: usize = 4;
    let t_pad = acc.len() / ROWS;
    assert!(w.len() >= input.groups * k * ROWS && input.fits(k, t_pad));
    // Each row's weights widened once: [g][j][r] as 4 × i16 (8 bytes) for a 64-bit splat.
    let wide: Vec<u64> = w
        .iter()
        .map(|word| {
            let b = word.to_le_bytes();
            (0..GROUP).fold(0u64, |acc, c| acc | ((b[c] as i8 as i16 as u16 as u64) << (16 * c)))
        })
        .collect();
    let mut g0 = 0;
    while g0 < input.groups {
        let g1 = (g0 + CHUNK).min(input.groups);
        for r0 in (0..ROWS).step_by(R) {
            let mut t0 = 0;
            while t0 < t_pad {
                let zero = i32x4_splat(0);
                let (mut a00, mut a01, mut a10, mut a11) = (zero, zero, zero, zero);
                let (mut a20, mut a21, mut a30, mut a31) = (zero, zero, zero, zero);
                // SAFETY (asserted above): each offset plus t_pad ≥ t0 + S words stays in the input;
                // wide has groups·k·ROWS entries and r0 + R ≤ ROWS.
                unsafe {
                    let x_tile = input.words.as_ptr().add(t0);
                    let mut wp = wide.as_ptr().add(g0 * k * ROWS + r0);
                    for &offset in &input.offsets[g0 * k..g1 * k] {
                        let x = v128_load(x_tile.add(offset) as *const v128);
                        let (lo, hi) = (u16x8_extend_low_u8x16(x), u16x8_extend_high_u8x16(x));
                        let w0 = u64x2_splat(*wp);
                        a00 = i32x4_add(a00, i32x4_dot_i16x8(lo, w0));
                        a01 = i32x4_add(a01, i32x4_dot_i16x8(hi, w0));
                        let w1 = u64x2_splat(*wp.add(1));
                        a10 = i32x4_add(a10, i32x4_dot_i16x8(lo, w1));
                        a11 = i32x4_add(a11, i32x4_dot_i16x8(hi, w1));
                        let w2 = u64x2_splat(*wp.add(2));
                        a20 = i32x4_add(a20, i32x4_dot_i16x8(lo, w2));
                        a21 = i32x4_add(a21, i32x4_dot_i16x8(hi, w2));
                        let w3 = u64x2_splat(*wp.add(3));
                        a30 = i32x4_add(a30, i32x4_dot_i16x8(lo, w3));
                        a31 = i32x4_add(a31, i32x4_dot_i16x8(hi, w3));
                        wp = wp.add(ROWS);
                    }
                    for (r, (lo, hi)) in [(a00, a01), (a10, a11), (a20, a21), (a30, a31)].into_iter().enumerate() {
                        // lanes (step, half): (0,a) (0,b) (1,a) (1,b) → steps 0, 1 (and 2, 3 from hi)
                        let sums = [
                            i32x4_extract_lane::<0>(lo) + i32x4_extract_lane::<1>(lo),
                            i32x4_extract_lane::<2>(lo) + i32x4_extract_lane::<3>(lo),
                            i32x4_extract_lane::<0>(hi) + i32x4_extract_lane::<1>(hi),
                            i32x4_extract_lane::<2>(hi) + i32x4_extract_lane::<3>(hi),
                        ];
                        let row = &mut acc[(r0 + r) * t_pad + t0..(r0 + r) * t_pad + t0 + S];
                        for (a, s) in row.iter_mut().zip(sums) {
                            *a += s;
                        }
                    }
                }
                t0 += S;
            }
        }
        g0 = g1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Conv1dParams;

    /// A random convolution (`None` where the geometry does not fit).
    pub(super) fn case(rng: &mut crate::rng::SplitMix64, c_out: usize, c_in: usize, k: usize, dilation: usize, t_in: usize, padding: usize) -> Option<(Conv1dGeometry, Vec<f32>, Weight, Vec<f32>)> {
        let params = Conv1dParams { stride: 1, padding, dilation };
        let g = Conv1dGeometry::new(&[c_in, t_in], &[c_out, c_in, k], Some(&[c_out]), params).ok()?;
        let x: Vec<f32> = (0..c_in * t_in).map(|_| rng.uniform() * 3.0).collect();
        let w = Weight::f32(&[c_out, c_in, k], (0..c_out * c_in * k).map(|_| rng.uniform()).collect()).unwrap();
        let bias: Vec<f32> = (0..c_out).map(|_| rng.uniform()).collect();
        Some((g, x, w, bias))
    }

    /// The vector kernel against the scalar twin over every remainder (channels not a multiple
    /// of 4 or 8, time not a multiple of a tile, padding, dilation, more than one channel
    /// chunk, several time pieces): the integer sums are exact, so the outputs are bit-identical.
    #[test]
    fn vector_kernel_is_bit_identical_to_the_scalar_twin() {
        let mut rng = crate::rng::SplitMix64(5);
        let mut cases = 0;
        for (c_out, c_in) in [(1, 1), (3, 5), (9, 8), (8, 70), (17, 130)] {
            for (k, dilation) in [(1, 1), (3, 1), (7, 3), (11, 5)] {
                for t_in in [1, 31, 32, 33, 100, 300] {
                    for padding in [0, (k - 1) * dilation / 2, (k - 1) * dilation] {
                        let Some((g, x, w, bias)) = case(&mut rng, c_out, c_in, k, dilation, t_in, padding) else { continue };
                        let fast = conv1d_int8(&g, &x, &w, Some(&bias)).unwrap();
                        let twin = conv1d_with(tile_scalar, &g, &x, &w, Some(&bias)).unwrap();
                        assert_eq!(fast, twin, "c_out {c_out} c_in {c_in} k {k} d {dilation} t_in {t_in} pad {padding} ({})", kernel_name());
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 200, "{cases}");
    }

    /// Against the float convolution of the quantized operands done by hand (input levels per
    /// channel, weights times the channel scales in levels per row): equal to f32 rounding. And
    /// against the unquantized convolution: close (RMS error under 1 % of the output's RMS)
    /// but not equal (the quantization really happens).
    #[test]
    fn int8_convolution_is_the_convolution_of_its_quantized_operands() {
        let mut rng = crate::rng::SplitMix64(9);
        for (c_out, c_in, k, dilation, t_in, padding) in [(16, 64, 3, 1, 50, 1), (8, 33, 7, 3, 40, 9), (5, 256, 11, 5, 120, 25), (9, 20, 7, 3, 700, 9)] {
            let (g, mut x, w, bias) = case(&mut rng, c_out, c_in, k, dilation, t_in, padding).unwrap();
            // channels of very different loudness, and a silent one
            for (i, row) in x.chunks_exact_mut(t_in).enumerate() {
                row.iter_mut().for_each(|v| *v *= [0.01, 1.0, 30.0, 0.0][i % 4]);
            }
            let int8 = conv1d_int8(&g, &x, &w, Some(&bias)).unwrap();
            let levels = |v: &[f32], max: f32| -> Vec<f32> { v.iter().map(|&v| (level_byte(v, if max > 0.0 { LEVELS / max } else { 0.0 }) as i32 - 128) as f32).collect() };
            let maxima: Vec<f32> = x.chunks_exact(t_in).map(|r| r.iter().fold(0.0f32, |m, v| m.max(v.abs()))).collect();
            let x_levels: Vec<f32> = x.chunks_exact(t_in).zip(&maxima).flat_map(|(r, &m)| levels(r, m)).collect();
            let values = w.to_f32();
            let mut w_hat = Vec::new();
            for row in values.chunks_exact(c_in * k) {
                let scaled: Vec<f32> = row.iter().enumerate().map(|(n, v)| v * maxima[n / k] / LEVELS).collect();
                let max = scaled.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                w_hat.extend(levels(&scaled, max).into_iter().map(|q| q * max / LEVELS));
            }
            let w_hat = Weight::f32(&[c_out, c_in, k], w_hat).unwrap();
            let by_hand = super::super::conv1d_axpy(&g, &x_levels, &w_hat, Some(&bias));
            let exact = super::super::conv1d_axpy(&g, &x, &w, Some(&bias));
            let magnitude = (c_in * k) as f32 * 30.0;
            for (a, b) in int8.iter().zip(&by_hand) {
                assert!((a - b).abs() <= 1e-6 * magnitude, "{a} vs {b}");
            }
            let rms = |v: &mut dyn Iterator<Item = f32>| (v.map(|d| d * d).sum::<f32>() / int8.len() as f32).sqrt();
            let error = rms(&mut int8.iter().zip(&exact).map(|(a, b)| a - b));
            let signal = rms(&mut exact.iter().copied());
            assert!(error < 0.01 * signal && error > 1e-5 * signal, "RMS error {error} of {signal}");
        }
    }

    /// An all-zero input is only the bias; a zero weight row is only its bias; infinities,
    /// NaNs and strides are left to the float path.
    #[test]
    fn zero_input_and_zero_rows_give_the_bias() {
        let params = Conv1dParams { stride: 1, padding: 1, dilation: 1 };
        let g = Conv1dGeometry::new(&[3, 5], &[2, 3, 3], Some(&[2]), params).unwrap();
        let mut values = vec![0.5f32; 18];
        values[9..].fill(0.0);
        let w = Weight::f32(&[2, 3, 3], values).unwrap();
        assert_eq!(conv1d_int8(&g, &[0.0; 15], &w, Some(&[1.0, -2.0])).unwrap(), [[1.0; 5], [-2.0; 5]].concat());
        let y = conv1d_int8(&g, &[1.0; 15], &w, Some(&[1.0, -2.0])).unwrap();
        assert_eq!(&y[5..], &[-2.0; 5]);
        assert!((y[2] - (1.0 + 4.5)).abs() < 1e-3, "{}", y[2]);
        for bad in [f32::NAN, f32::INFINITY] {
            let mut x = [1.0f32; 15];
            x[7] = bad;
            assert!(conv1d_int8(&g, &x, &w, None).is_none());
        }
        let strided = Conv1dGeometry::new(&[3, 5], &[2, 3, 3], None, Conv1dParams { stride: 2, padding: 1, dilation: 1 }).unwrap();
        assert!(conv1d_int8(&strided, &[1.0; 15], &w, None).is_none());
        // more products than an i32 sum holds
        let wide = Conv1dGeometry::new(&[MAX_TAPS + 1, 1], &[1, MAX_TAPS + 1, 1], None, Conv1dParams::default()).unwrap();
        let ones = Weight::f32(&[1, MAX_TAPS + 1, 1], vec![1.0; MAX_TAPS + 1]).unwrap();
        assert!(conv1d_int8(&wide, &vec![1.0; MAX_TAPS + 1], &ones, None).is_none());
    }
}
