//! Winograd's F(4,3) for the int8 convolution where multiplies are what costs: in wasm the
//! i16 dot is the only integer dot, two multiply µops per 8 products. Four outputs of three
//! taps take 6 products instead of 12 (Lavin & Gray's transforms, times 24 so that every factor
//! is an integer). With `d_j` the input levels at `t + j·dilation` and `g_i` the weight levels
//! (quantized exactly as the direct kernels quantize them):
//!
//! ```text
//! m_e = (Σ_j Bᵀ[e][j]·d_j) · (Σ_i 24·G[e][i]·g_i)        e = 0 … 5, j = 0 … 5, i = 0 … 2
//! 24·y[t + n·dilation] = Σ_e Aᵀ[n][e]·m_e                 n = 0 … 3
//! ```
//!
//! Transformed inputs stay within ±1270 and weights within ±3048: i16. Integer sums are exact
//! (modulo 2³², and 24·y fits an i32), so the output is bit-identical to the direct kernels'.
//! Taps come in groups of three, the last padded with zero taps.
//!
//! Layout: the output quads `t + {0, 1, 2, 3}·d` with `t = t0 + 4d·m + p` (`p < d`) are the
//! kernel's steps `s = d·m + p`. A read at `t + q·d` is row phase `q mod 4` at index
//! `s + ⌊q/4⌋·d`, so each tap group is an offset into rows of transformed input, each `m_e` is a
//! one-tap convolution over them, and a tile kernel sums it as the direct kernels sum theirs.

use super::*;

/// Input channels per word: two i16 levels, the pair `i32x4.dot_i16x8_s` multiplies and adds.
const PAIR: usize = 2;
/// Steps per tile of the vector kernel; the rows are whole tiles long.
const TILE: usize = 8;
/// Entries summed before the tiles move on: a chunk's rows stay in L1.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const CHUNK: usize = 16;
/// Outputs per transform, and products.
const OUTS: usize = 4;
const PRODUCTS: usize = 6;
/// 24·G: each product's weight, from three taps. (Bᵀ is written out in [`transform_input`], Aᵀ
/// where the sums become outputs.)
const WEIGHT: [[i32; 3]; PRODUCTS] = [[6, 0, 0], [-4, -4, -4], [-4, 4, -4], [1, 2, 4], [1, -2, 4], [0, 0, 24]];
const SCALE: i32 = 24;
/// The most products per output for which 24·y fits an i32 (5,547; Kokoro's widest
/// convolution sums 3,270): wider ones take the direct kernels.
const MAX_PRODUCTS: usize = (i32::MAX / (SCALE * 127 * 127)) as usize;

/// Sums `acc[r][s] += Σ_n Σ_c x[offsets[n] + s][c] · w[n][r][c]` (two i16 per word) over the
/// `s` of `acc` (`[ROWS][steps]`, whole tiles).
pub(super) type Tile = fn(&[u32], &[usize], &[u32], &mut [i32]);

/// Whether F(4,3) applies and saves products: three taps or more, and 24·y fits.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) fn applies(g: &Conv1dGeometry) -> bool {
    g.k >= 3 && g.c_in * g.k <= MAX_PRODUCTS
}

/// Where everything of one convolution lies.
struct Layout {
    dilation: usize,
    /// Groups of three taps (the last padded with zero taps).
    groups: usize,
    pairs: usize,
    /// Output quads `m` per piece; the piece is `4·dilation·quads` steps.
    quads: usize,
    /// The kernel's steps, `dilation · quads` in whole tiles.
    steps: usize,
    /// Words per row (a multiple of `dilation`): the steps plus the furthest tap group.
    row_len: usize,
}

impl Layout {
    fn new(g: &Conv1dGeometry) -> Self {
        let d = g.dilation;
        let groups = g.k.div_ceil(3);
        let quads = (piece_steps(g.t_out).min(256) / (OUTS * d)).max(1);
        let steps = (d * quads).div_ceil(TILE) * TILE;
        let row_len = (steps + 3 * (groups - 1) / OUTS * d).div_ceil(d) * d;
        Self { dilation: d, groups, pairs: g.c_in.div_ceil(PAIR), quads, steps, row_len }
    }

    fn row(&self, pair: usize, kind: usize, phase: usize) -> usize {
        ((pair * OUTS + phase) * PRODUCTS + kind) * self.row_len
    }

    /// `m_e`'s entries in the order its weights are packed: per pair, each tap group (read at
    /// `t + 3h·d`).
    fn offsets(&self, e: usize) -> Vec<usize> {
        (0..self.pairs).flat_map(|pair| (0..self.groups).map(move |h| self.row(pair, e, 3 * h % OUTS) + 3 * h / OUTS * self.dilation)).collect()
    }

    /// One block's weights for `m0 … m5`, each `[entry][ROWS]` as i16 pairs, from the direct
    /// kernels' bytes: each pair, tap group and row reads its six levels once.
    fn weights(&self, g: &Conv1dGeometry, block: &Block) -> [Vec<u32>; PRODUCTS] {
        // tap j of channel c in row r, zero past c_in and past k
        let level = |r: usize, c: usize, j: usize| -> i32 {
            if c >= g.c_in || j >= g.k {
                return 0;
            }
            (block.words[((c / GROUP) * g.k + j) * ROWS + r] >> (8 * (c % GROUP))) as u8 as i8 as i32
        };
        let mut out: [Vec<u32>; PRODUCTS] = std::array::from_fn(|_| vec![0; self.pairs * self.groups * ROWS]);
        for pair in 0..self.pairs {
            for h in 0..self.groups {
                for r in 0..ROWS {
                    let at = (pair * self.groups + h) * ROWS + r;
                    for half in 0..PAIR {
                        let taps: [i32; 3] = std::array::from_fn(|i| level(r, PAIR * pair + half, 3 * h + i));
                        for (e, out_e) in out.iter_mut().enumerate() {
                            let v: i32 = WEIGHT[e].iter().zip(taps).map(|(f, g)| f * g).sum();
                            out_e[at] |= (v as u16 as u32) << (16 * half);
                        }
                    }
                }
            }
        }
        out
    }
}

/// Per piece: the transformed input rows, one pair of channels' levels (in order, and split
/// into the four phases), and the six sums.
struct Scratch {
    words: Vec<u32>,
    levels: Vec<u32>,
    phases: Vec<u32>,
    acc: Vec<i32>,
    /// One row's four outputs per step, `[OUTS][steps]`.
    outputs: Vec<f32>,
}

/// `[OUTS][steps]` as four rows.
fn outputs(buffer: &mut [f32], steps: usize) -> [&mut [f32]; OUTS] {
    let (y0, rest) = buffer[..OUTS * steps].split_at_mut(steps);
    let (y1, rest) = rest.split_at_mut(steps);
    let (y2, y3) = rest.split_at_mut(steps);
    [y0, y1, y2, y3]
}

/// Aᵀ over one row's steps: `y[n][s] = (Σ_e Aᵀ[n][e]·m[e][s]) / 24 · scale + bias`. The sums
/// are 24·y, exact modulo 2³² (a partial sum may wrap where the total does not) and within an
/// i32: divided, they are the direct kernels' integers, scaled the same way.
fn inverse_transform(m: [&[i32]; PRODUCTS], y: [&mut [f32]; OUTS], scale: f32, bias: f32) {
    let steps = y[0].len();
    assert!(m.iter().all(|m| m.len() == steps) && y.iter().all(|y| y.len() == steps));
    let [y0, y1, y2, y3] = y;
    for s in 0..steps {
        let [m0, m1, m2, m3, m4, m5] = m.map(|m| m[s]);
        let (sum12, diff12, sum34, diff34) = (m1.wrapping_add(m2), m1.wrapping_sub(m2), m3.wrapping_add(m4), m3.wrapping_sub(m4));
        y0[s] = div_24(m0.wrapping_add(sum12).wrapping_add(sum34)) as f32 * scale + bias;
        y1[s] = div_24(diff12.wrapping_add(diff34 << 1)) as f32 * scale + bias;
        y2[s] = div_24(sum12.wrapping_add(sum34 << 2)) as f32 * scale + bias;
        y3[s] = div_24(diff12.wrapping_add(diff34 << 3).wrapping_add(m5)) as f32 * scale + bias;
    }
}

/// One row's outputs into its piece: step `s = d·q + p` of output `n` is position
/// `4d·q + n·d + p`, so runs of `d` (and for `d = 1` a 4 × steps transpose).
fn scatter(piece: &mut [MaybeUninit<f32>], y: [&[f32]; OUTS], d: usize) {
    let [y0, y1, y2, y3] = y;
    let q = piece.len() / (OUTS * d);
    let mut quads = piece.chunks_exact_mut(OUTS * d);
    if d == 1 {
        for ((((quad, &a), &b), &c), &e) in (&mut quads).zip(y0).zip(y1).zip(y2).zip(y3) {
            quad[0].write(a);
            quad[1].write(b);
            quad[2].write(c);
            quad[3].write(e);
        }
    } else {
        for (q, quad) in (&mut quads).enumerate() {
            for (run, y_n) in quad.chunks_exact_mut(d).zip(y) {
                for (slot, &v) in run.iter_mut().zip(&y_n[d * q..][..d]) {
                    slot.write(v);
                }
            }
        }
    }
    for (run, y_n) in quads.into_remainder().chunks_mut(d).zip(y) {
        for (slot, &v) in run.iter_mut().zip(&y_n[d * q..]) {
            slot.write(v);
        }
    }
}

/// `v / 24` for a multiple of 24, with no division (wasm has no vector one): `v / 8` is a
/// shift, and 3·q times the inverse of 3 modulo 2³² is q.
#[inline(always)]
fn div_24(v: i32) -> i32 {
    const INVERSE_OF_3: i32 = 0xAAAA_AAABu32 as i32;
    (v >> 3).wrapping_mul(INVERSE_OF_3)
}

/// [`super::conv1d_int8`] through F(4,3) with the tile kernel `tile`.
pub(super) fn conv1d(tile: Tile, g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    let (maxima, blocks) = quantize(g, x, w)?;
    let lay = Layout::new(g);
    let inv: Vec<f32> = maxima.iter().map(|&m| if m > 0.0 { LEVELS / m } else { 0.0 }).collect();
    let offsets: [Vec<usize>; PRODUCTS] = std::array::from_fn(|e| lay.offsets(e));
    let mut weights: Vec<[Vec<u32>; PRODUCTS]> = vec![Default::default(); blocks.len()];
    for_chunks(&mut weights, 1, 1, || (), |_, (b, block_w)| block_w[0] = lay.weights(g, &blocks[b]));
    let (d, steps) = (lay.dilation, lay.steps);
    let scratch = || Scratch { words: vec![0; lay.pairs * PRODUCTS * OUTS * lay.row_len], levels: Vec::new(), phases: Vec::new(), acc: vec![0; PRODUCTS * ROWS * steps], outputs: vec![0.0; OUTS * steps] };
    // SAFETY: `scatter` writes each row's piece (at most 4d·quads steps) whole: every position
    // 4d·q + n·d + p (n < 4, p < d) of its quads, from steps d·q + p < steps.
    let out = unsafe {
        over_pieces(g, OUTS * d * lay.quads, scratch, |scratch, t0, column| {
            transform_input(g, x, &inv, t0, &lay, scratch);
            for (b, (block_w, rows)) in weights.iter().zip(column.chunks_mut(ROWS)).enumerate() {
                scratch.acc.fill(0);
                for (e, acc) in scratch.acc.chunks_exact_mut(ROWS * steps).enumerate() {
                    tile(&scratch.words, &offsets[e], &block_w[e], acc);
                }
                for (r, y) in rows.iter_mut().enumerate() {
                    let (scale, bias_r) = (blocks[b].scales[r], bias.map_or(0.0, |bias| bias[b * ROWS + r]));
                    let m: [&[i32]; PRODUCTS] = std::array::from_fn(|e| &scratch.acc[(e * ROWS + r) * steps..][..steps]);
                    let [y0, y1, y2, y3] = outputs(&mut scratch.outputs, steps);
                    inverse_transform(m, [&mut *y0, &mut *y1, &mut *y2, &mut *y3], scale, bias_r);
                    scatter(y, [&*y0, &*y1, &*y2, &*y3], d);
                }
            }
        })
    };
    Some(out)
}

/// The piece's transformed input. Each pair of channels is quantized into words (two i16
/// levels) at padded positions `t0 + u`, and split into four phases, `L_φ[i]` = the word at
/// `u = 4d·⌊i/d⌋ + φ·d + i mod d`. Position `u + j·d` of a phase-`φ` row is then
/// `L_{(φ+j) mod 4}[i + ⌊(φ+j)/4⌋·d]`: every product's input is a few passes over shifted slices.
fn transform_input(g: &Conv1dGeometry, x: &[f32], inv: &[f32], t0: usize, lay: &Layout, scratch: &mut Scratch) {
    let d = lay.dilation;
    let phase_len = lay.row_len + 2 * d; // a phase-3 row reads u + 5d: 2d on
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
        for (phase, rows) in rows.chunks_exact_mut(PRODUCTS * n).enumerate() {
            let [a, b, c, e, f, h]: [&[i16]; 6] = std::array::from_fn(|j| {
                let (at, shift) = ((phase + j) % OUTS, (phase + j) / OUTS * d);
                &phases[PAIR * (at * phase_len + shift)..][..n]
            });
            let mut rows = rows.chunks_exact_mut(n);
            let mut next = || rows.next().expect("six rows");
            let [r0, r1, r2, r3, r4, r5] = [next(), next(), next(), next(), next(), next()];
            // Bᵀ, its common terms once
            for i in 0..n {
                let (b_plus_c, b_minus_c, b_minus_e, e_plus_f, f_minus_e, f_minus_c) = (b[i] + c[i], b[i] - c[i], b[i] - e[i], e[i] + f[i], f[i] - e[i], f[i] - c[i]);
                r0[i] = 4 * a[i] - 5 * c[i] + f[i];
                r1[i] = e_plus_f - 4 * b_plus_c;
                r2[i] = f_minus_e + 4 * b_minus_c;
                r3[i] = f_minus_c - 2 * b_minus_e;
                r4[i] = f_minus_c + 2 * b_minus_e;
                r5[i] = 4 * b[i] - 5 * e[i] + h[i];
            }
        }
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

/// [`quantize_pair`] four words at a time (LLVM leaves wasm's float-to-int conversion scalar),
/// with `signed_level`'s arithmetic: a multiply, an add, truncation. Returns the words done.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn quantize_pair_simd128(words: &mut [u32], x: [&[f32]; PAIR], inv: [f32; PAIR]) -> usize {
    use core::arch::wasm32::*;
    let (inv0, inv1, half, bias, low) = (f32x4_splat(inv[0]), f32x4_splat(inv[1]), f32x4_splat(128.5), i32x4_splat(128), i32x4_splat(0xffff));
    let n = words.len().min(x[0].len()).min(x[1].len()) / 4 * 4;
    for done in (0..n).step_by(4) {
        // SAFETY: done + 4 ≤ n ≤ every slice's length.
        unsafe {
            let level = |x: &[f32], inv: v128| i32x4_sub(i32x4_trunc_sat_f32x4(f32x4_add(f32x4_mul(v128_load(x.as_ptr().add(done) as *const v128), inv), half)), bias);
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

    /// F(4,3) against the direct scalar kernel over every remainder: taps 3h, 3h + 1 and
    /// 3h + 2, odd channel counts (a pair half empty), dilations that do not divide a tile,
    /// padding, time not a multiple of a quad or a piece: bit-identical.
    #[test]
    fn winograd_is_bit_identical_to_the_direct_kernel() {
        let mut rng = crate::rng::SplitMix64(11);
        let mut cases = 0;
        for (c_out, c_in) in [(1, 1), (3, 5), (9, 8), (17, 70)] {
            for (k, dilation) in [(3, 1), (4, 2), (5, 1), (7, 3), (11, 5), (3, 7)] {
                for t_in in [1, 2, 31, 33, 100, 700] {
                    for padding in [0, (k - 1) * dilation / 2, (k - 1) * dilation] {
                        let Some((g, x, w, bias)) = case(&mut rng, c_out, c_in, k, dilation, t_in, padding) else { continue };
                        let winograd = conv1d(tile_scalar, &g, &x, &w, Some(&bias)).unwrap();
                        let direct = conv1d_with(super::super::tile_scalar, &g, &x, &w, Some(&bias)).unwrap();
                        assert_eq!(winograd, direct, "c_out {c_out} c_in {c_in} k {k} d {dilation} t_in {t_in} pad {padding}");
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 300, "{cases}");
    }

    /// The largest sums F(4,3) takes (MAX_PRODUCTS products of ±127 · ±127, all of one sign):
    /// 24·y within 0.02 % of 2³¹, and still the direct kernel's result; one more channel and
    /// the direct kernels take over.
    #[test]
    fn the_largest_sums_fit() {
        let c_in = MAX_PRODUCTS / 3;
        let geometry = |c_in: usize| Conv1dGeometry::new(&[c_in, 8], &[2, c_in, 3], None, Conv1dParams { stride: 1, padding: 0, dilation: 1 }).unwrap();
        let g = geometry(c_in);
        assert!(applies(&g) && !applies(&geometry(c_in + 1)));
        let alternating = |n: usize, period: usize, even: f32| (0..n).map(move |i| if (i % period).is_multiple_of(2) { even } else { -even });
        let x: Vec<f32> = alternating(c_in * 8, 8, 1.0).collect();
        let w = Weight::f32(&[2, c_in, 3], alternating(c_in * 3, 3, 1.0).chain(alternating(c_in * 3, 3, -1.0)).collect()).unwrap();
        let winograd = conv1d(tile_scalar, &g, &x, &w, None).unwrap();
        assert_eq!(winograd, conv1d_with(super::super::tile_scalar, &g, &x, &w, None).unwrap());
        // every product +1 at even steps of row 0, −1 at odd ones; the opposite in row 1
        let full = (3 * c_in) as f32;
        for (t, &y) in winograd.iter().enumerate() {
            let expected = if (t % 6).is_multiple_of(2) { full } else { -full } * if t < 6 { 1.0 } else { -1.0 };
            assert!((y - expected).abs() < 1.0, "{t}: {y} vs {expected}");
        }
    }
}
