//! Winograd's F(2,3) for the int8 convolution where multiplies are what costs: in wasm the
//! i16 dot is the only integer dot, two multiply µops per 8 products. Two outputs of three taps
//! take 4 products instead of 6. With `d_i` the input levels at `t + i·dilation` and `g_i` the
//! weight levels (quantized exactly as the direct kernels quantize them):
//!
//! ```text
//! m0 = (d0 − d2)·2g0   m1 = (d1 + d2)·(g0 + g1 + g2)   m2 = (d2 − d1)·(g0 − g1 + g2)   m3 = (d1 − d3)·2g2
//! 2·y[t] = m0 + m1 + m2        2·y[t + dilation] = m1 − m2 − m3
//! ```
//!
//! (the textbook transform times 2, so that every factor is an integer and fits an i16). Integer
//! sums are exact, so the output is bit-identical to the direct kernels'. Taps come in groups
//! of three: a kernel of `3h + 2` taps gets a zero tap; one of `3h + 1` adds its last tap as it is,
//! to `m0` for `y[t]` and to `m3` (negated) for `y[t + dilation]`.
//!
//! Layout: the output pairs `(t, t + d)` with `t = t0 + 2d·m + p` (`p < d`) are the kernel's steps
//! `s = d·m + p`. A read at `t + q·d` is row phase `q mod 2` at index `s + ⌊q/2⌋·d`, so each tap
//! group is an offset into rows of transformed input, each `m_e` is a one-tap convolution over
//! them, and a tile kernel sums it as the direct kernels sum theirs.

use super::*;

/// Input channels per word: two i16 levels, the pair `i32x4.dot_i16x8_s` multiplies and adds.
const PAIR: usize = 2;
/// Steps per tile of the vector kernel; the rows are whole tiles long.
const TILE: usize = 8;
/// Entries summed before the tiles move on: a chunk's rows stay in L1.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const CHUNK: usize = 16;
/// Transformed input rows: `m0 … m3`'s, and the input as it is for a `3h + 1`-tap kernel's last tap.
const RAW: usize = 4;

/// Sums `acc[r][s] += Σ_n Σ_c x[offsets[n] + s][c] · w[n][r][c]` (two i16 per word) over the
/// `s` of `acc` (`[ROWS][steps]`, whole tiles).
pub(super) type Tile = fn(&[u32], &[usize], &[u32], &mut [i32]);

/// Whether F(2,3) saves products: three taps or more.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) fn applies(g: &Conv1dGeometry) -> bool {
    g.k >= 3
}

/// Where everything of one convolution lies.
struct Layout {
    dilation: usize,
    /// Groups of three taps (the last padded with zero taps when `k = 3h + 2`).
    groups: usize,
    /// Whether the last tap is added as it is (`k = 3h + 1`).
    direct: bool,
    pairs: usize,
    /// Row kinds per pair: `m0 … m3`'s input, and the raw input for `direct`.
    kinds: usize,
    /// Output pairs `m` per piece; the piece is `2·dilation·pairs_m` steps.
    pairs_m: usize,
    /// The kernel's steps, `dilation · pairs_m` in whole tiles.
    steps: usize,
    /// Words per row (a multiple of `dilation`): the steps plus the furthest tap group.
    row_len: usize,
}

impl Layout {
    fn new(g: &Conv1dGeometry) -> Self {
        let d = g.dilation;
        let (groups, direct) = (g.k / 3 + usize::from(g.k % 3 == 2), g.k % 3 == 1);
        let pairs_m = (piece_steps(g.t_out).min(256) / (2 * d)).max(1);
        let steps = (d * pairs_m).div_ceil(TILE) * TILE;
        // the furthest read: q = 3·groups + 1 (the direct tap of m3), ⌊q/2⌋ rows on; else 3·(groups − 1)
        let row_len = (steps + (3 * groups).div_ceil(2) * d).div_ceil(d) * d;
        Self { dilation: d, groups, direct, pairs: g.c_in.div_ceil(PAIR), kinds: RAW + usize::from(direct), pairs_m, steps, row_len }
    }

    fn row(&self, pair: usize, kind: usize, phase: usize) -> usize {
        ((pair * self.kinds + kind) * 2 + phase) * self.row_len
    }

    /// Where a read at `t + q·dilation` of row `kind` starts.
    fn read(&self, pair: usize, kind: usize, q: usize) -> usize {
        self.row(pair, kind, q % 2) + q / 2 * self.dilation
    }

    /// Whether `m_e` gets the direct tap.
    fn has_direct(&self, e: usize) -> bool {
        self.direct && (e == 0 || e == 3)
    }

    /// `m_e`'s entries in the order its weights are packed: per pair, each tap group, then the
    /// direct tap (at `q = 3·groups` for `y[t]`, one step later for `y[t + d]`).
    fn offsets(&self, e: usize) -> Vec<usize> {
        let q_direct = 3 * self.groups + usize::from(e == 3);
        (0..self.pairs)
            .flat_map(|pair| (0..self.groups).map(move |h| self.read(pair, e, 3 * h)).chain(self.has_direct(e).then(|| self.read(pair, RAW, q_direct))))
            .collect()
    }

    /// One block's weights for `m0 … m3`, each `[entry][ROWS]` as i16 pairs, from the direct
    /// kernels' bytes.
    fn weights(&self, g: &Conv1dGeometry, block: &Block) -> [Vec<u32>; 4] {
        // levels [r][c][j], zero past c_in and past k
        let (channels, taps) = (PAIR * self.pairs, 3 * self.groups + 1);
        let mut levels = vec![0i32; ROWS * channels * taps];
        for (n, word) in block.words.chunks_exact(ROWS).enumerate() {
            let (group, j) = (n / g.k, n % g.k);
            for (r, &w) in word.iter().enumerate() {
                for (c, byte) in w.to_le_bytes().into_iter().enumerate().take(g.c_in.saturating_sub(GROUP * group)) {
                    levels[(r * channels + GROUP * group + c) * taps + j] = byte as i8 as i32;
                }
            }
        }
        let pack = |lo: i32, hi: i32| lo as u16 as u32 | (hi as u16 as u32) << 16;
        [0, 1, 2, 3].map(|e| {
            let mut words = Vec::with_capacity(self.pairs * (self.groups + 1) * ROWS);
            for pair in 0..self.pairs {
                let taps_of = |r: usize, c: usize| &levels[(r * channels + PAIR * pair + c) * taps..][..taps];
                for h in 0..self.groups {
                    words.extend((0..ROWS).map(|r| {
                        let [lo, hi] = [0, 1].map(|c| {
                            let [g0, g1, g2] = [0, 1, 2].map(|i| taps_of(r, c)[3 * h + i]);
                            [2 * g0, g0 + g1 + g2, g0 - g1 + g2, 2 * g2][e]
                        });
                        pack(lo, hi)
                    }));
                }
                if self.has_direct(e) {
                    let sign = if e == 0 { 2 } else { -2 };
                    words.extend((0..ROWS).map(|r| pack(sign * taps_of(r, 0)[g.k - 1], sign * taps_of(r, 1)[g.k - 1])));
                }
            }
            words
        })
    }
}

/// Per piece: the transformed input rows, one pair of channels' levels (in order, and split
/// into the two phases), and the four sums.
struct Scratch {
    words: Vec<u32>,
    levels: Vec<u32>,
    phases: Vec<u32>,
    acc: Vec<i32>,
}

/// [`super::conv1d_int8`] through F(2,3) with the tile kernel `tile`.
pub(super) fn conv1d(tile: Tile, g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    let (maxima, blocks) = quantize(g, x, w)?;
    let lay = Layout::new(g);
    let inv: Vec<f32> = maxima.iter().map(|&m| if m > 0.0 { LEVELS / m } else { 0.0 }).collect();
    let offsets: [Vec<usize>; 4] = [0, 1, 2, 3].map(|e| lay.offsets(e));
    let weights: Vec<[Vec<u32>; 4]> = blocks.iter().map(|block| lay.weights(g, block)).collect();
    let (d, steps) = (lay.dilation, lay.steps);
    let scratch = || Scratch { words: vec![0; lay.pairs * lay.kinds * 2 * lay.row_len], levels: Vec::new(), phases: Vec::new(), acc: vec![0; 4 * ROWS * steps] };
    // SAFETY: each row's piece (at most 2d·pairs_m steps) is written below, in runs of 2d
    // steps: the pairs (2d·m + p, 2d·m + p + d), p < d.
    let out = unsafe {
        over_pieces(g, 2 * d * lay.pairs_m, scratch, |scratch, t0, column| {
            transform_input(g, x, &inv, t0, &lay, scratch);
            for (b, (block_w, rows)) in weights.iter().zip(column.chunks_mut(ROWS)).enumerate() {
                scratch.acc.fill(0);
                for (e, acc) in scratch.acc.chunks_exact_mut(ROWS * steps).enumerate() {
                    tile(&scratch.words, &offsets[e], &block_w[e], acc);
                }
                let acc = &scratch.acc;
                for (r, y) in rows.iter_mut().enumerate() {
                    let (scale, bias_r) = (blocks[b].scales[r], bias.map_or(0.0, |bias| bias[b * ROWS + r]));
                    let sums = |e: usize| &acc[(e * ROWS + r) * steps..][..steps];
                    let (a0, a1, a2, a3) = (sums(0), sums(1), sums(2), sums(3));
                    // Each sum is 2·y exactly (|2·y| < 2³¹ for MAX_TAPS products): halved, it is the
                    // direct kernels' integer, scaled the same way. Wrapping: a partial sum may
                    // overflow where the total does not.
                    let value = |twice: i32| (twice >> 1) as f32 * scale + bias_r;
                    for (pm, pair) in y.chunks_mut(2 * d).enumerate() {
                        let s = d * pm;
                        let (first, second) = pair.split_at_mut(d.min(pair.len()));
                        for (p, v) in first.iter_mut().enumerate() {
                            v.write(value(a0[s + p].wrapping_add(a1[s + p]).wrapping_add(a2[s + p])));
                        }
                        for (p, v) in second.iter_mut().enumerate() {
                            v.write(value(a1[s + p].wrapping_sub(a2[s + p]).wrapping_sub(a3[s + p])));
                        }
                    }
                }
            }
        })
    };
    Some(out)
}

/// The piece's transformed input. Each pair of channels is quantized into words (two i16
/// levels) at padded positions `t0 + u`, and split into its two phases, `L_φ[i]` = the word at
/// `u = 2d·⌊i/d⌋ + φ·d + i mod d`. The four positions a row combines, `u + {0, 1, 2, 3}·d`, are
/// then `L0[i], L1[i], L0[i + d], L1[i + d]` in phase 0 and `L1[i], L0[i + d], L1[i + d],
/// L0[i + 2d]` in phase 1: every kind is one pass over shifted slices.
fn transform_input(g: &Conv1dGeometry, x: &[f32], inv: &[f32], t0: usize, lay: &Layout, scratch: &mut Scratch) {
    let d = lay.dilation;
    let phase_len = lay.row_len + 2 * d;
    let span = 2 * phase_len;
    scratch.levels.resize(span, 0);
    scratch.phases.resize(2 * phase_len, 0);
    // the positions that hold input (the rest is padding) and the input range they read
    let from = g.padding.saturating_sub(t0).min(span);
    let to = (g.padding + g.t_in).saturating_sub(t0).clamp(from, span);
    let first = (t0 + from).saturating_sub(g.padding);
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
        for ((word, &v0), &v1) in levels[from..to].iter_mut().zip(x0).zip(x1) {
            *word = signed_level(v0, i0) | signed_level(v1, i1) << 16;
        }
        let (p0, p1) = scratch.phases.split_at_mut(phase_len);
        for (phase, out) in [p0, p1].into_iter().enumerate() {
            if d == 1 {
                out.iter_mut().zip(levels[phase..].iter().step_by(2)).for_each(|(o, &l)| *o = l);
            } else {
                for (dst, src) in out.chunks_exact_mut(d).zip(levels[phase * d..].chunks(2 * d)) {
                    dst.copy_from_slice(&src[..d]);
                }
            }
        }
        let phases: &[i16] = bytemuck::cast_slice(&scratch.phases);
        let (l0, l1) = phases.split_at(PAIR * phase_len);
        let rows: &mut [i16] = bytemuck::cast_slice_mut(&mut scratch.words[lay.row(pair, 0, 0)..lay.row(pair + 1, 0, 0)]);
        let shift = PAIR * d;
        for phase in 0..2 {
            let (a, b, c, e) = if phase == 0 { (l0, l1, &l0[shift..], &l1[shift..]) } else { (l1, &l0[shift..], &l1[shift..], &l0[2 * shift..]) };
            for kind in 0..lay.kinds {
                let start = (kind * 2 + phase) * n;
                let out = &mut rows[start..start + n];
                let combine = |out: &mut [i16], p: &[i16], q: &[i16], f: fn(i16, i16) -> i16| out.iter_mut().zip(p.iter().zip(q)).for_each(|(o, (&p, &q))| *o = f(p, q));
                match kind {
                    0 => combine(out, a, c, |a, c| a - c),
                    1 => combine(out, b, c, |b, c| b + c),
                    2 => combine(out, c, b, |c, b| c - b),
                    3 => combine(out, b, e, |b, e| b - e),
                    _ => out.copy_from_slice(&a[..n]),
                }
            }
        }
    }
}

/// The direct kernels' level ([`level_byte`]), signed, as the low 16 bits of a word.
#[inline(always)]
fn signed_level(v: f32, inv: f32) -> u32 {
    // SAFETY: as for `input_level`: v · inv + 128.5 lies in [1, 255.5].
    (unsafe { (v * inv + 128.5).to_int_unchecked::<i32>() } - 128) as u16 as u32
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
    use super::*;
    use crate::backend::Conv1dParams;

    fn case(rng: &mut crate::rng::SplitMix64, c_out: usize, c_in: usize, k: usize, dilation: usize, t_in: usize, padding: usize) -> Option<(Conv1dGeometry, Vec<f32>, Weight, Vec<f32>)> {
        let params = Conv1dParams { stride: 1, padding, dilation };
        let g = Conv1dGeometry::new(&[c_in, t_in], &[c_out, c_in, k], Some(&[c_out]), params).ok()?;
        let x: Vec<f32> = (0..c_in * t_in).map(|_| rng.uniform() * 3.0).collect();
        let w = Weight::f32(&[c_out, c_in, k], (0..c_out * c_in * k).map(|_| rng.uniform()).collect()).unwrap();
        let bias: Vec<f32> = (0..c_out).map(|_| rng.uniform()).collect();
        Some((g, x, w, bias))
    }

    /// F(2,3) against the direct scalar kernel over every remainder: taps 3h, 3h + 1 and
    /// 3h + 2, odd channel counts (a pair half empty), dilations that do not divide a tile,
    /// padding, time not a multiple of a pair or a piece: bit-identical.
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

    /// The largest sums int8 allows (MAX_TAPS products of ±127 · ±127, all of one sign):
    /// `2·y` and `m2` come within 2 % of 2³¹ and the result is still the direct kernel's.
    #[test]
    fn the_largest_sums_fit() {
        let c_in = MAX_TAPS / 3;
        let g = Conv1dGeometry::new(&[c_in, 6], &[2, c_in, 3], None, Conv1dParams { stride: 1, padding: 0, dilation: 1 }).unwrap();
        let alternating = |n: usize, period: usize, even: f32| (0..n).map(move |i| if (i % period).is_multiple_of(2) { even } else { -even });
        let x: Vec<f32> = alternating(c_in * 6, 6, 1.0).collect();
        let w = Weight::f32(&[2, c_in, 3], alternating(c_in * 3, 3, 1.0).chain(alternating(c_in * 3, 3, -1.0)).collect()).unwrap();
        let winograd = conv1d(tile_scalar, &g, &x, &w, None).unwrap();
        assert_eq!(winograd, conv1d_with(super::super::tile_scalar, &g, &x, &w, None).unwrap());
        // every product +1 at even steps of row 0, −1 at odd ones; the opposite in row 1
        let full = (3 * c_in) as f32;
        for (t, &y) in winograd.iter().enumerate() {
            let expected = if (t % 4) % 2 == 0 { full } else { -full } * if t < 4 { 1.0 } else { -1.0 };
            assert!((y - expected).abs() < 1.0, "{t}: {y} vs {expected}");
        }
    }
}
