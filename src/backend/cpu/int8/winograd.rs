//! Winograd's minimal filtering for the int8 convolution where multiplies are what costs: in
//! wasm the i16 dot is the only integer dot, two multiply µops per 8 products. F(6,3) computes
//! six outputs of three taps with 8 products instead of 18, F(6,4) six outputs of four taps with
//! 9 instead of 24 (Toom–Cook at the points 0, ±1, ±2, ±½, ∞ and for F(6,4) also 3; Lavin &
//! Gray's construction, scaled by `S` so that every factor is an integer). Each convolution
//! takes the one with fewer products for its taps: F(6,3) for 3, 5, 6 and 9, F(6,4) for 4, 7,
//! 8, 10 and 11. With `d_j` the input levels at `t + j·dilation` and `g_i` the weight levels
//! (quantized exactly as the direct kernels quantize them):
//!
//! ```text
//! m_e = (Σ_j Bᵀ[e][j]·d_j) · (Σ_i G[e][i]·g_i)        e, j < N = R + 5, i < R
//! S·y[t + n·dilation] = Σ_e Aᵀ[n][e]·m_e               n < 6
//! ```
//!
//! Transformed inputs and weights fit i16 (see [`F63`], [`F64`]). Integer sums are exact modulo
//! 2³², so S·y is known modulo 2³² and y itself while it stays within ±2²⁸ (S = 8 · odd): the
//! output is bit-identical to the direct kernels'. Taps come in groups of R, the last padded
//! with zero taps.
//!
//! Layout: the output windows `t + {0, …, 5}·d` with `t = t0 + 6d·m + p` (`p < d`) are the
//! kernel's steps `s = d·m + p`. A read at `t + q·d` is row phase `q mod 6` at index
//! `s + ⌊q/6⌋·d`, so each tap group is an offset into rows of transformed input, each `m_e` is a
//! one-tap convolution over them, and a tile kernel sums it as the direct kernels sum theirs.

use super::*;

/// Input channels per word: two i16 levels, the pair `i32x4.dot_i16x8_s` multiplies and adds.
const PAIR: usize = 2;
/// Steps per tile of the vector kernel; the rows are whole tiles long.
const TILE: usize = 8;
/// Entries summed before the tiles move on: a chunk's rows stay in L1.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const CHUNK: usize = 16;
/// Outputs per transform: the window.
const OUTS: usize = 6;

/// F(6, R) with N = R + 5 products: its integer Bᵀ, G and Aᵀ and the exact division by S.
pub(super) trait Transform<const R: usize, const N: usize> {
    /// Bᵀ: each product's input from the N positions it reads.
    const INPUT: [[i16; N]; N];
    /// G: each product's weight from the R taps.
    const WEIGHT: [[i32; R]; N];
    /// Aᵀ: each output, times S, from the N products.
    const OUTPUT: [[i32; N]; OUTS];
    /// S = 2^SHIFT · odd, and odd's inverse modulo 2³².
    const SHIFT: u32;
    const ODD_INVERSE: i32;
    /// The most products per output for which |y| < 2^(31 − SHIFT), where the division is exact.
    const MAX_PRODUCTS: usize = ((1usize << (31 - Self::SHIFT)) - 1) / (127 * 127);

    /// Products per window of `k` taps.
    fn products(k: usize) -> usize {
        N * k.div_ceil(R)
    }

    /// y from `S·y mod 2³²`: the shift divides by 2^SHIFT, the multiply by the odd part (both
    /// exact modulo 2^(32 − SHIFT)), and the shifts back sign-extend from there.
    #[inline(always)]
    fn exact(v: i32) -> i32 {
        ((v >> Self::SHIFT).wrapping_mul(Self::ODD_INVERSE) << Self::SHIFT) >> Self::SHIFT
    }
}

/// F(6,3), S = 360: transformed inputs within ±50·127, weights within ±7·127.
pub(super) struct F63;

impl Transform<3, 8> for F63 {
    const INPUT: [[i16; 8]; 8] = [
        [4, 0, -21, 0, 21, 0, -4, 0],
        [0, -4, -4, 17, 17, -4, -4, 0],
        [0, 4, -4, -17, 17, 4, -4, 0],
        [0, 2, 1, -10, -5, 8, 4, 0],
        [0, -2, 1, 10, -5, -8, 4, 0],
        [0, 4, 8, -5, -10, 1, 2, 0],
        [0, -4, 8, 5, -10, -1, 2, 0],
        [0, -4, 0, 21, 0, -21, 0, 4],
    ];
    const WEIGHT: [[i32; 3]; 8] = [[1, 0, 0], [1, 1, 1], [1, -1, 1], [1, 2, 4], [1, -2, 4], [4, 2, 1], [4, -2, 1], [0, 0, 1]];
    const OUTPUT: [[i32; 8]; OUTS] = [
        [90, 20, 20, 1, 1, 32, 32, 0],
        [0, 20, -20, 2, -2, 16, -16, 0],
        [0, 20, 20, 4, 4, 8, 8, 0],
        [0, 20, -20, 8, -8, 4, -4, 0],
        [0, 20, 20, 16, 16, 2, 2, 0],
        [0, 20, -20, 32, -32, 1, -1, 90],
    ];
    const SHIFT: u32 = 3;
    const ODD_INVERSE: i32 = 0xA4FA_4FA5u32 as i32; // 1/45
}

/// F(6,4) with the extra point 3, S = 12,600: transformed inputs within ±200·127 (25,400),
/// weights within ±40·127; a pair of their products still fits an i32.
pub(super) struct F64;

impl Transform<4, 9> for F64 {
    const INPUT: [[i16; 9]; 9] = [
        [12, -4, -63, 21, 63, -21, -12, 4, 0],
        [0, -12, -8, 55, 34, -29, -8, 4, 0],
        [0, 12, -16, -47, 68, -5, -16, 4, 0],
        [0, 6, 1, -31, -5, 29, 4, -4, 0],
        [0, -6, 5, 29, -25, -19, 20, -4, 0],
        [0, 12, 20, -23, -25, 13, 5, -2, 0],
        [0, -12, 28, 7, -35, 7, 7, -2, 0],
        [0, -4, 0, 21, 0, -21, 0, 4, 0],
        [0, 12, -4, -63, 21, 63, -21, -12, 4],
    ];
    const WEIGHT: [[i32; 4]; 9] = [[1, 0, 0, 0], [1, 1, 1, 1], [1, -1, 1, -1], [1, 2, 4, 8], [1, -2, 4, -8], [8, 4, 2, 1], [8, -4, 2, -1], [1, 3, 9, 27], [0, 0, 0, 1]];
    const OUTPUT: [[i32; 9]; OUTS] = [
        [1050, 350, 175, 35, 7, 224, 160, 3, 0],
        [0, 350, -175, 70, -14, 112, -80, 9, 0],
        [0, 350, 175, 140, 28, 56, 40, 27, 0],
        [0, 350, -175, 280, -56, 28, -20, 81, 0],
        [0, 350, 175, 560, 112, 14, 10, 243, 0],
        [0, 350, -175, 1120, -224, 7, -5, 729, 3150],
    ];
    const SHIFT: u32 = 3;
    const ODD_INVERSE: i32 = 0xCA33_0997u32 as i32; // 1/1575
}

/// Sums `acc[r][s] += Σ_n Σ_c x[offsets[n] + s][c] · w[n][r][c]` (two i16 per word) over the
/// `s` of `acc` (`[ROWS][steps]`, whole tiles).
pub(super) type Tile = fn(&[u32], &[usize], &[u32], &mut [i32]);

/// Whether Winograd applies and saves products: three taps or more, and y stays where the
/// division is exact.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) fn applies(g: &Conv1dGeometry) -> bool {
    g.k >= 3 && g.c_in * g.k <= F63::MAX_PRODUCTS.min(F64::MAX_PRODUCTS)
}

/// [`super::conv1d_int8`] through F(6,3) or F(6,4), whichever takes fewer products, with the
/// tile kernel `tile`.
pub(super) fn conv1d(tile: Tile, g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    if F64::products(g.k) < F63::products(g.k) {
        conv1d_with::<F64, 4, 9>(tile, g, x, w, bias)
    } else {
        conv1d_with::<F63, 3, 8>(tile, g, x, w, bias)
    }
}

/// Where everything of one convolution lies.
struct Layout {
    dilation: usize,
    /// Taps per group and groups (the last padded with zero taps).
    taps: usize,
    groups: usize,
    pairs: usize,
    /// Products: transformed input rows per pair and phase.
    products: usize,
    /// Output windows `m` per piece; the piece is `6·dilation·windows` steps.
    windows: usize,
    /// The kernel's steps, `dilation · windows`: whole tiles.
    steps: usize,
    /// Words per row (a multiple of `dilation`): the steps plus the furthest tap group.
    row_len: usize,
}

impl Layout {
    fn new(g: &Conv1dGeometry, taps: usize, products: usize) -> Self {
        let d = g.dilation;
        let groups = g.k.div_ceil(taps);
        // about 256 outputs per piece, and d·windows whole tiles: no step computed in vain
        let per_tile = TILE / gcd(d, TILE);
        let windows = ((piece_steps(g.t_out).min(256) / (OUTS * d) + per_tile / 2) / per_tile).max(1) * per_tile;
        let steps = d * windows;
        let row_len = (steps + taps * (groups - 1) / OUTS * d).div_ceil(d) * d;
        Self { dilation: d, taps, groups, pairs: g.c_in.div_ceil(PAIR), products, windows, steps, row_len }
    }

    fn row(&self, pair: usize, kind: usize, phase: usize) -> usize {
        ((pair * OUTS + phase) * self.products + kind) * self.row_len
    }

    /// Whether a tap group starts at this phase: only those rows are read (a single group
    /// starts at phase 0 alone, F(6,4)'s at 0, 4 and 2).
    fn reads_phase(&self, phase: usize) -> bool {
        (0..self.groups).any(|h| self.taps * h % OUTS == phase)
    }

    /// `m_e`'s entries in the order its weights are packed: per pair, each tap group (read at
    /// `t + R·h·d`).
    fn offsets(&self, e: usize) -> Vec<usize> {
        (0..self.pairs).flat_map(|pair| (0..self.groups).map(move |h| self.row(pair, e, self.taps * h % OUTS) + self.taps * h / OUTS * self.dilation)).collect()
    }

    /// One block's weights for `m_0 … m_{N−1}`, each `[entry][ROWS]` as i16 pairs, from the
    /// direct kernels' bytes: each pair, tap group and channel reads its R levels of all rows
    /// once, and the rows go through G side by side (the inner loops vectorize over them).
    fn weights<T: Transform<R, N>, const R: usize, const N: usize>(&self, g: &Conv1dGeometry, block: &Block) -> [Vec<u32>; N] {
        let mut out: [Vec<u32>; N] = std::array::from_fn(|_| vec![0; self.pairs * self.groups * ROWS]);
        for pair in 0..self.pairs {
            for h in 0..self.groups {
                let at = (pair * self.groups + h) * ROWS;
                for half in 0..PAIR {
                    let c = PAIR * pair + half;
                    // tap R·h + i of channel c in every row, zero past c_in and past k
                    let taps: [[i32; ROWS]; R] = std::array::from_fn(|i| {
                        let j = R * h + i;
                        if c >= g.c_in || j >= g.k {
                            return [0; ROWS];
                        }
                        let words = &block.words[((c / GROUP) * g.k + j) * ROWS..][..ROWS];
                        std::array::from_fn(|r| (words[r] >> (8 * (c % GROUP))) as u8 as i8 as i32)
                    });
                    for (weight, out_e) in T::WEIGHT.iter().zip(out.iter_mut()) {
                        for (r, word) in out_e[at..at + ROWS].iter_mut().enumerate() {
                            let v: i32 = weight.iter().zip(&taps).map(|(f, taps_i)| f * taps_i[r]).sum();
                            *word |= (v as u16 as u32) << (16 * half);
                        }
                    }
                }
            }
        }
        out
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Per piece: the transformed input rows, one pair of channels' levels (in order, and split
/// into the phases), the N sums, and one row's outputs `[OUTS][steps]`.
struct Scratch {
    words: Vec<u32>,
    levels: Vec<u32>,
    phases: Vec<u32>,
    acc: Vec<i32>,
    outputs: Vec<f32>,
}

/// Aᵀ over one row's steps: `y[n][s] = (Σ_e Aᵀ[n][e]·m[e][s]) / S · scale + bias` for the six
/// outputs `n` (`y` is `[OUTS][steps]`). The sums are S·y modulo 2³² (a partial sum may wrap
/// where the total does not); divided exactly, they are the direct kernels' integers, scaled
/// the same way. All six in one pass, each `m[e][s]` loaded once. A function of its own for
/// the reasons [`input_row`] is.
#[inline(never)]
fn output_rows<T: Transform<R, N>, const R: usize, const N: usize>(y: &mut [f32], m: &[&[i32]; N], scale: f32, bias: f32) {
    let steps = y.len() / OUTS;
    let m: [&[i32]; N] = std::array::from_fn(|e| &m[e][..steps]);
    for s in 0..steps {
        let v: [i32; N] = std::array::from_fn(|e| m[e][s]);
        for (n, a) in T::OUTPUT.iter().enumerate() {
            let sum = (0..N).fold(0i32, |sum, e| sum.wrapping_add(a[e].wrapping_mul(v[e])));
            y[n * steps + s] = T::exact(sum) as f32 * scale + bias;
        }
    }
}

/// One row's outputs into its piece: step `s = d·w + p` of output `n` is position
/// `6d·w + n·d + p`, so runs of `d` (and for `d = 1` a 6 × steps transpose).
fn scatter(piece: &mut [MaybeUninit<f32>], y: &[f32], d: usize) {
    let steps = y.len() / OUTS;
    let y: [&[f32]; OUTS] = std::array::from_fn(|n| &y[n * steps..][..steps]);
    let whole = piece.len() / (OUTS * d);
    let mut windows = piece.chunks_exact_mut(OUTS * d);
    if d == 1 {
        for (s, window) in (&mut windows).enumerate() {
            for (slot, y_n) in window.iter_mut().zip(y) {
                slot.write(y_n[s]);
            }
        }
    } else {
        for (w, window) in (&mut windows).enumerate() {
            for (run, y_n) in window.chunks_exact_mut(d).zip(y) {
                for (slot, &v) in run.iter_mut().zip(&y_n[d * w..][..d]) {
                    slot.write(v);
                }
            }
        }
    }
    for (run, y_n) in windows.into_remainder().chunks_mut(d).zip(y) {
        for (slot, &v) in run.iter_mut().zip(&y_n[d * whole..]) {
            slot.write(v);
        }
    }
}

/// [`conv1d`] through the transform `T`.
fn conv1d_with<T: Transform<R, N>, const R: usize, const N: usize>(tile: Tile, g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    let (maxima, blocks) = quantize(g, x, w)?;
    let lay = Layout::new(g, R, N);
    let inv: Vec<f32> = maxima.iter().map(|&m| if m > 0.0 { LEVELS / m } else { 0.0 }).collect();
    let offsets: [Vec<usize>; N] = std::array::from_fn(|e| lay.offsets(e));
    let mut weights: Vec<[Vec<u32>; N]> = (0..blocks.len()).map(|_| std::array::from_fn(|_| Vec::new())).collect();
    for_chunks(&mut weights, 1, 1, || (), |_, (b, block_w)| block_w[0] = lay.weights::<T, R, N>(g, &blocks[b]));
    let (d, steps) = (lay.dilation, lay.steps);
    let scratch = || Scratch { words: vec![0; lay.pairs * N * OUTS * lay.row_len], levels: Vec::new(), phases: Vec::new(), acc: vec![0; N * ROWS * steps], outputs: vec![0.0; OUTS * steps] };
    // SAFETY: `scatter` writes each row's piece (at most 6d·windows steps) whole: every position
    // 6d·w + n·d + p (n < 6, p < d) of its windows, from steps d·w + p < steps.
    let out = unsafe {
        over_pieces(g, OUTS * d * lay.windows, scratch, |scratch, t0, column| {
            transform_input::<T, R, N>(g, x, &inv, t0, &lay, scratch);
            for (b, (block_w, rows)) in weights.iter().zip(column.chunks_mut(ROWS)).enumerate() {
                scratch.acc.fill(0);
                for (e, acc) in scratch.acc.chunks_exact_mut(ROWS * steps).enumerate() {
                    tile(&scratch.words, &offsets[e], &block_w[e], acc);
                }
                for (r, y) in rows.iter_mut().enumerate() {
                    let (scale, bias_r) = (blocks[b].scales[r], bias.map_or(0.0, |bias| bias[b * ROWS + r]));
                    let m: [&[i32]; N] = std::array::from_fn(|e| &scratch.acc[(e * ROWS + r) * steps..][..steps]);
                    output_rows::<T, R, N>(&mut scratch.outputs, &m, scale, bias_r);
                    scatter(y, &scratch.outputs, d);
                }
            }
        })
    };
    Some(out)
}

/// The piece's transformed input. Each pair of channels is quantized into words (two i16
/// levels) at padded positions `t0 + u`, and split into six phases, `L_φ[i]` = the word at
/// `u = 6d·⌊i/d⌋ + φ·d + i mod d`. Position `u + j·d` of a phase-`φ` row is then
/// `L_{(φ+j) mod 6}[i + ⌊(φ+j)/6⌋·d]`: every product's input is a few passes over shifted slices.
fn transform_input<T: Transform<R, N>, const R: usize, const N: usize>(g: &Conv1dGeometry, x: &[f32], inv: &[f32], t0: usize, lay: &Layout, scratch: &mut Scratch) {
    let d = lay.dilation;
    let phase_len = lay.row_len + (OUTS - 1 + N - 1) / OUTS * d; // how far the last phase's rows read
    let span = OUTS * phase_len;
    scratch.levels.resize(span, 0);
    scratch.phases.resize(OUTS * phase_len, 0);
    let (from, to, first) = input_span(g, t0, span);
    let n = PAIR * lay.row_len;
    for pair in 0..lay.pairs {
        // a channel past c_in reads channel 0 with 1/scale 0: level 0
        let channel = |c: usize| {
            let i = PAIR * pair + c;
            let (i, inv) = if i < g.c_in { (i, inv[i]) } else { (0, 0.0) };
            (&x[i * g.t_in + first..i * g.t_in + first + (to - from)], inv)
        };
        let [(x0, i0), (x1, i1)] = [0, 1].map(channel);
        let levels = &mut scratch.levels;
        levels[..from].fill(0);
        levels[to..].fill(0);
        quantize_pair(&mut levels[from..to], [x0, x1], [i0, i1]);
        for (phase, out) in scratch.phases.chunks_exact_mut(phase_len).enumerate() {
            if d == 1 {
                out.iter_mut().zip(levels[phase..].iter().step_by(OUTS)).for_each(|(o, &l)| *o = l);
            } else {
                for (dst, src) in out.chunks_exact_mut(d).zip(levels[phase * d..].chunks(OUTS * d)) {
                    dst.copy_from_slice(&src[..d]);
                }
            }
        }
        let phases: &[i16] = bytemuck::cast_slice(&scratch.phases);
        let rows: &mut [i16] = bytemuck::cast_slice_mut(&mut scratch.words[lay.row(pair, 0, 0)..lay.row(pair + 1, 0, 0)]);
        for (phase, rows) in rows.chunks_exact_mut(N * n).enumerate().filter(|&(phase, _)| lay.reads_phase(phase)) {
            let src: [&[i16]; N] = std::array::from_fn(|j| {
                let (at, shift) = ((phase + j) % OUTS, (phase + j) / OUTS * d);
                &phases[PAIR * (at * phase_len + shift)..][..n]
            });
            let mut rows = rows.chunks_exact_mut(n);
            // each row of Bᵀ with its coefficients as constants
            macro_rules! input_rows {
                ($($e:literal)+) => { $( if $e < N { input_row::<T, R, N, $e>(rows.next().expect("N rows"), &src); } )+ };
            }
            input_rows!(0 1 2 3 4 5 6 7 8);
        }
    }
}

/// Row `E` of Bᵀ: `dst[i] = Σ_j Bᵀ[E][j]·src[j][i]`. A function of its own, so that `dst` is
/// known not to alias the sources (the loop vectorizes without checks) and the coefficients are
/// constants (zero terms vanish, small powers of two become shifts).
#[inline(never)]
fn input_row<T: Transform<R, N>, const R: usize, const N: usize, const E: usize>(dst: &mut [i16], src: &[&[i16]; N]) {
    let Some(&b) = T::INPUT.get(E) else { return };
    let n = dst.len();
    let src: [&[i16]; N] = std::array::from_fn(|j| &src[j][..n]);
    for (i, v) in dst.iter_mut().enumerate() {
        *v = (0..N).fold(0, |sum, j| sum + b[j] * src[j][i]);
    }
}

/// Two channels' levels, signed, into words (two i16 each).
fn quantize_pair(words: &mut [u32], x: [&[f32]; PAIR], inv: [f32; PAIR]) {
    assert!(x.iter().all(|x| x.len() >= words.len()));
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = quantize_pair_simd128(words, x, inv);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for ((word, &v0), &v1) in words[done..].iter_mut().zip(&x[0][done..]).zip(&x[1][done..]) {
        *word = signed_level(v0, inv[0]) | signed_level(v1, inv[1]) << 16;
    }
}

/// [`quantize_pair`] four words at a time, with `signed_level`'s arithmetic
/// ([`level_bytes_simd128`], less 128). Returns the words done.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn quantize_pair_simd128(words: &mut [u32], x: [&[f32]; PAIR], inv: [f32; PAIR]) -> usize {
    use core::arch::wasm32::*;
    let (inv0, inv1, bias, low) = (f32x4_splat(inv[0]), f32x4_splat(inv[1]), i32x4_splat(128), i32x4_splat(0xffff));
    let n = words.len().min(x[0].len()).min(x[1].len()) / 4 * 4;
    for done in (0..n).step_by(4) {
        // SAFETY: done + 4 ≤ n ≤ every slice's length.
        unsafe {
            let level = |x: &[f32], inv: v128| i32x4_sub(level_bytes_simd128(v128_load(x.as_ptr().add(done) as *const v128), inv), bias);
            let word = v128_or(v128_and(level(x[0], inv0), low), i32x4_shl(level(x[1], inv1), 16));
            v128_store(words.as_mut_ptr().add(done) as *mut v128, word);
        }
    }
    n
}

/// The direct kernels' level ([`input_level`]), signed, as the low 16 bits of a word.
#[inline(always)]
fn signed_level(v: f32, inv: f32) -> u32 {
    (input_level(v, inv) as i32 - 128) as u16 as u32
}

/// The scalar twin of the tile kernels: one entry and row at a time over all steps.
#[cfg(test)]
fn tile_scalar(words: &[u32], offsets: &[usize], w: &[u32], acc: &mut [i32]) {
    let steps = acc.len() / ROWS;
    let halves = |word: u32| [word as u16 as i16 as i32, (word >> 16) as u16 as i16 as i32];
    for (n, &offset) in offsets.iter().enumerate() {
        for (r, acc_row) in acc.chunks_exact_mut(steps).enumerate() {
            let [w0, w1] = halves(w[n * ROWS + r]);
            for (a, &xw) in acc_row.iter_mut().zip(&words[offset..offset + steps]) {
                let [x0, x1] = halves(xw);
                *a = a.wrapping_add(x0 * w0 + x1 * w1);
            }
        }
    }
}

/// 4 rows × 8 steps at a time: two loads (4 steps × 2 channels each), and `i32x4.dot_i16x8_s`
/// against each row's two weights leaves every step's sum in its own lane.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(super) fn tile_simd128(words: &[u32], offsets: &[usize], w: &[u32], acc: &mut [i32]) {
    use core::arch::wasm32::*;
    const R: usize = 4;
    let steps = acc.len() / ROWS;
    assert!(steps.is_multiple_of(TILE) && acc.len() == ROWS * steps && w.len() >= offsets.len() * ROWS && offsets.iter().all(|&o| o + steps <= words.len()));
    for (c, chunk) in offsets.chunks(CHUNK).enumerate() {
        for r0 in (0..ROWS).step_by(R) {
            for t0 in (0..steps).step_by(TILE) {
                // SAFETY (asserted above): every offset plus `steps` stays in `words`, t0 + TILE ≤
                // steps, the chunk's weights are in `w`, and r0 + R ≤ ROWS.
                unsafe {
                    let at = |r: usize| acc.as_ptr().add((r0 + r) * steps + t0) as *const v128;
                    let mut a = [0, 1, 2, 3].map(|r| [v128_load(at(r)), v128_load(at(r).add(1))]);
                    let x_tile = words.as_ptr().add(t0);
                    let mut wp = w.as_ptr().add(c * CHUNK * ROWS + r0);
                    for &offset in chunk {
                        let xs = x_tile.add(offset) as *const v128;
                        let (x0, x1) = (v128_load(xs), v128_load(xs.add(1)));
                        for (r, a_r) in a.iter_mut().enumerate() {
                            let wr = i32x4_splat(*wp.add(r) as i32);
                            a_r[0] = i32x4_add(a_r[0], i32x4_dot_i16x8(x0, wr));
                            a_r[1] = i32x4_add(a_r[1], i32x4_dot_i16x8(x1, wr));
                        }
                        wp = wp.add(ROWS);
                    }
                    for (r, a_r) in a.iter().enumerate() {
                        let at = acc.as_mut_ptr().add((r0 + r) * steps + t0) as *mut v128;
                        v128_store(at, a_r[0]);
                        v128_store(at.add(1), a_r[1]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::case;
    use super::*;
    use crate::backend::Conv1dParams;

    /// F(6,3) and F(6,4) against the direct scalar kernel over every remainder: tap counts that
    /// fill their last group or leave one to three taps of it empty, odd channel counts (a pair
    /// half empty), dilations that do not divide a tile, padding, time not a multiple of a window
    /// or a piece: bit-identical.
    #[test]
    fn winograd_is_bit_identical_to_the_direct_kernel() {
        let mut rng = crate::rng::SplitMix64(11);
        let mut cases = 0;
        for (c_out, c_in) in [(1, 1), (3, 5), (9, 8), (17, 70)] {
            for (k, dilation) in [(3, 1), (4, 2), (5, 1), (7, 3), (8, 1), (11, 5), (3, 7)] {
                for t_in in [1, 2, 31, 33, 100, 700] {
                    for padding in [0, (k - 1) * dilation / 2, (k - 1) * dilation] {
                        let Some((g, x, w, bias)) = case(&mut rng, c_out, c_in, k, dilation, t_in, padding) else { continue };
                        let direct = conv1d_with_direct(&g, &x, &w, &bias);
                        let f63 = conv1d_with::<F63, 3, 8>(tile_scalar, &g, &x, &w, Some(&bias)).unwrap();
                        let f64 = conv1d_with::<F64, 4, 9>(tile_scalar, &g, &x, &w, Some(&bias)).unwrap();
                        assert_eq!(f63, direct, "F(6,3): c_out {c_out} c_in {c_in} k {k} d {dilation} t_in {t_in} pad {padding}");
                        assert_eq!(f64, direct, "F(6,4): c_out {c_out} c_in {c_in} k {k} d {dilation} t_in {t_in} pad {padding}");
                        assert_eq!(conv1d(tile_scalar, &g, &x, &w, Some(&bias)).unwrap(), direct);
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 400, "{cases}");
    }

    fn conv1d_with_direct(g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: &[f32]) -> Vec<f32> {
        super::super::conv1d_with(super::super::tile_scalar, g, x, w, Some(bias)).unwrap()
    }

    /// Each convolution takes the transform with fewer products.
    #[test]
    fn the_transform_with_fewer_products_is_chosen() {
        let f44: Vec<usize> = (3..=12).filter(|&k| F64::products(k) < F63::products(k)).collect();
        assert_eq!(f44, [4, 7, 8, 10, 11, 12]);
        assert_eq!([3, 7, 11].map(|k| F63::products(k).min(F64::products(k))), [8, 18, 27]);
    }

    /// Bᵀ, G and Aᵀ are a minimal filtering algorithm: on random integers, S·y equals the
    /// direct sum for every output, and the transformed values stay within i16.
    #[test]
    fn transforms_are_exact_and_fit_i16() {
        fn check<T: Transform<R, N>, const R: usize, const N: usize>(scale: i32) {
            assert_eq!(scale, (1 << T::SHIFT) * (scale >> T::SHIFT), "S is 2^SHIFT times the odd part");
            assert_eq!(((scale >> T::SHIFT) as u32).wrapping_mul(T::ODD_INVERSE as u32), 1);
            let mut rng = crate::rng::SplitMix64(3);
            let mut level = || (rng.uniform() * 127.0).round() as i32;
            for extreme in [false, true] {
                for _ in 0..200 {
                    let (d, g): ([i32; N], [i32; R]) = if extreme { (std::array::from_fn(|j| if j % 2 == 0 { 127 } else { -127 }), std::array::from_fn(|i| if i % 2 == 0 { 127 } else { -127 })) } else { (std::array::from_fn(|_| level()), std::array::from_fn(|_| level())) };
                    let bd: [i32; N] = std::array::from_fn(|e| (0..N).map(|j| T::INPUT[e][j] as i32 * d[j]).sum());
                    let gg: [i32; N] = std::array::from_fn(|e| (0..R).map(|i| T::WEIGHT[e][i] * g[i]).sum());
                    assert!(bd.iter().chain(&gg).all(|v| v.abs() <= i16::MAX as i32), "{bd:?} {gg:?}");
                    for n in 0..OUTS {
                        let y: i32 = (0..R).map(|i| d[n + i] * g[i]).sum();
                        // exactly in i64; the kernels see it modulo 2³²
                        let sy: i64 = (0..N).map(|e| T::OUTPUT[n][e] as i64 * bd[e] as i64 * gg[e] as i64).sum();
                        assert_eq!(sy, scale as i64 * y as i64, "output {n}");
                        assert_eq!(T::exact(sy as i32), y);
                    }
                }
            }
        }
        check::<F63, 3, 8>(360);
        check::<F64, 4, 9>(12_600);
    }

    /// The largest sums each transform takes (MAX_PRODUCTS products of ±127 · ±127, all of one
    /// sign): y just under 2²⁸, S·y far past an i32 and wrapped, and still the direct kernel's
    /// result; one more channel and the direct kernels take over.
    #[test]
    fn the_largest_sums_fit() {
        fn check<T: Transform<R, N>, const R: usize, const N: usize>() {
            let c_in = T::MAX_PRODUCTS / R;
            let geometry = |c_in: usize| Conv1dGeometry::new(&[c_in, 8], &[2, c_in, R], None, Conv1dParams { stride: 1, padding: 0, dilation: 1 }).unwrap();
            let g = geometry(c_in);
            assert!(applies(&g) && !applies(&geometry(c_in + 1)));
            let alternating = |n: usize, period: usize, even: f32| (0..n).map(move |i| if (i % period).is_multiple_of(2) { even } else { -even });
            // every product +1 at even steps of row 0, −1 at odd ones; the opposite in row 1
            let x: Vec<f32> = alternating(c_in * 8, 8, 1.0).collect();
            let w = Weight::f32(&[2, c_in, R], alternating(c_in * R, R, 1.0).chain(alternating(c_in * R, R, -1.0)).collect()).unwrap();
            let winograd = conv1d_with::<T, R, N>(tile_scalar, &g, &x, &w, None).unwrap();
            assert_eq!(winograd, conv1d_with_direct(&g, &x, &w, &[0.0, 0.0]));
            let full = (R * c_in) as f32;
            assert!(full * 127.0 * 127.0 > (1 << 27) as f32, "{full}");
            let t_out = 9 - R;
            for (t, &y) in winograd.iter().enumerate() {
                let expected = if (t % t_out).is_multiple_of(2) { full } else { -full } * if t < t_out { 1.0 } else { -1.0 };
                assert!((y - expected).abs() < 1.0, "{t}: {y} vs {expected}");
            }
        }
        check::<F63, 3, 8>();
        check::<F64, 4, 9>();
    }
}
