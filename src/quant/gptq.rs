//! Error-compensating rounding (GPTQ: Frantar et al., 2022, after Optimal Brain Quantization)
//! for every block format.
//!
//! A weight row `w` meets inputs `x` whose second moment over calibration data is
//! `H = Σ x xᵀ`; rounding it to `q` changes the layer's output by `(w − q)ᵀ H (w − q)` in sum
//! of squares. GPTQ rounds the row's elements in order and, after each, moves the not yet rounded
//! ones to cancel the error it just made, through the upper Cholesky factor `R` of `H⁻¹`
//! (`err = (w_c − q_c) / R_cc`, `w_{c'} −= err · R_{cc'}` for `c' > c`). Rows are independent.
//!
//! Block formats: when a row reaches a block, the block's scales are fitted by the format's own
//! encoder to the row as it stands then (already corrected), which fixes each element's levels
//! ([`Levels`]); the elements are then rounded one by one onto those levels. Afterwards
//! [`refit_scales`] moves each row's block super-scales to the output's least-squares optimum
//! with the levels kept (the encoder fitted them to values, block by block). Act-order (rounding
//! columns by decreasing `H_cc`) is left out: ggml's blocks run along the stored column order,
//! and a permuted order would fit each block's scales before its elements are final.

use bytemuck::Pod;
use rayon::prelude::*;

use super::{padded_row_len, with_grid_block, GgmlType, GridBlock, Weight};
use crate::backend::cpu::conv1d;
use crate::backend::{Conv1dGeometry, Conv1dParams};
use crate::error::{Error, Result};

/// Rows handed to one task: each row of `R` read from memory serves all of them.
const ROWS_PER_TASK: usize = 8;

/// Second moments `Σ x xᵀ` of a layer's inputs, accumulated in f64 (lower triangle).
#[derive(Clone, Debug)]
pub struct Hessian {
    d: usize,
    lower: Vec<f64>,
    samples: usize,
}

impl Hessian {
    pub fn new(d: usize) -> Self {
        Self { d, lower: vec![0.0; d * d], samples: 0 }
    }

    pub fn dim(&self) -> usize {
        self.d
    }

    /// Input vectors added so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Adds the Gram matrix `G = X Xᵀ` (`d × d`, row-major) of `n` input vectors, computed by
    /// the caller (the calibration runs it through the CPU backend's matrix kernel).
    pub fn add_gram(&mut self, gram: &[f32], n: usize) {
        assert_eq!(gram.len(), self.d * self.d, "Hessian::add_gram: {} values for {0}×{0}", self.d);
        let d = self.d;
        self.lower.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
            for (h, &g) in row[..=i].iter_mut().zip(&gram[i * d..]) {
                *h += f64::from(g);
            }
        });
        self.samples += n;
    }

    /// `H[i][j]` (symmetric).
    fn at(&self, i: usize, j: usize) -> f64 {
        if j <= i { self.lower[i * self.d + j] } else { self.lower[j * self.d + i] }
    }

    /// The upper Cholesky factor `R` of `(H + λ·mean(diag H)·I)⁻¹`. Inputs that never moved
    /// (`H_cc = 0`) get `H_cc = 1`: their elements round to nearest, nothing flows through them.
    pub fn inverse_factor(&self, damping: f64) -> Result<InverseFactor> {
        let d = self.d;
        let mean_diag = (0..d).map(|c| self.at(c, c)).sum::<f64>() / d.max(1) as f64;
        let bump = damping * if mean_diag > 0.0 { mean_diag } else { 1.0 };
        // R = J·L⁻¹·J with L the lower Cholesky factor of J·H·J (J reverses the order): then
        // H = U·Uᵀ with U = J·L·J upper, and H⁻¹ = U⁻ᵀ·U⁻¹ = Rᵀ·R.
        let rev = |i: usize| d - 1 - i;
        let mut a = vec![0.0f64; d * d];
        for i in 0..d {
            for j in 0..=i {
                let mut v = self.at(rev(i), rev(j));
                if i == j {
                    v = if v > 0.0 { v + bump } else { 1.0 + bump };
                }
                a[i * d + j] = v;
            }
        }
        let l = cholesky(a, d)?;
        let linv = lower_inverse(&l, d);
        let mut r = vec![0.0f32; d * d];
        for i in 0..d {
            for j in i..d {
                r[i * d + j] = linv[rev(i) * d + rev(j)] as f32;
            }
        }
        Ok(InverseFactor { d, r })
    }

    /// The full symmetric matrix, row-major, in f32.
    pub fn to_f32(&self) -> Vec<f32> {
        let d = self.d;
        (0..d * d).map(|ij| self.at(ij / d, ij % d) as f32).collect()
    }
}

/// `R`, upper triangular, row-major `d × d` (see [`Hessian::inverse_factor`]).
pub struct InverseFactor {
    d: usize,
    r: Vec<f32>,
}

impl InverseFactor {
    /// The identity: GPTQ with it is round-to-nearest (nothing is compensated).
    pub fn identity(d: usize) -> Self {
        let mut r = vec![0.0; d * d];
        for c in 0..d {
            r[c * d + c] = 1.0;
        }
        Self { d, r }
    }
}

/// Columns per panel of the blocked Cholesky factorization.
const PANEL: usize = 64;

/// In-place lower Cholesky factor of the symmetric positive definite `a` (lower triangle read),
/// blocked: each panel of `PANEL` columns is factored, then the trailing rows are updated in
/// parallel from a copy of the panel (which stays in cache).
fn cholesky(mut a: Vec<f64>, d: usize) -> Result<Vec<f64>> {
    let mut panel = Vec::new();
    for k0 in (0..d).step_by(PANEL) {
        let k1 = (k0 + PANEL).min(d);
        // The diagonal block, then the rows below it (earlier panels are already subtracted).
        for i in k0..k1 {
            for j in k0..=i {
                let s = a[i * d + j] - dot64(&a[i * d + k0..i * d + j], &a[j * d + k0..j * d + j]);
                a[i * d + j] = if i == j {
                    if s <= 0.0 || !s.is_finite() {
                        return Err(Error::InvalidArgument { op: "gptq", reason: format!("the damped Hessian is not positive definite (pivot {i} of {d}: {s})") });
                    }
                    s.sqrt()
                } else {
                    s / a[j * d + j]
                };
            }
        }
        let (top, rest) = a.split_at_mut(k1 * d);
        let top = &*top;
        rest.par_chunks_mut(d).for_each(|row| {
            for j in k0..k1 {
                row[j] = (row[j] - dot64(&row[k0..j], &top[j * d + k0..j * d + j])) / top[j * d + j];
            }
        });
        // Trailing update: row i −= panel_i · panel_jᵀ for k1 ≤ j ≤ i.
        let width = k1 - k0;
        panel.clear();
        panel.extend(rest.chunks_exact(d).flat_map(|row| row[k0..k1].iter().copied()));
        rest.par_chunks_mut(d).enumerate().for_each(|(r, row)| {
            let pi = &panel[r * width..(r + 1) * width];
            for (j, v) in row[k1..=k1 + r].iter_mut().enumerate() {
                *v -= dot64(pi, &panel[j * width..(j + 1) * width]);
            }
        });
    }
    for i in 0..d {
        a[i * d + i + 1..(i + 1) * d].fill(0.0);
    }
    Ok(a)
}

/// `L⁻¹` of a lower triangular `l`, by rows (independent given `Lᵀ`), eight rows at a time so
/// each row of `Lᵀ` read serves all eight.
fn lower_inverse(l: &[f64], d: usize) -> Vec<f64> {
    const ROWS: usize = 8;
    let mut lt = vec![0.0f64; d * d];
    for i in 0..d {
        for j in 0..=i {
            lt[j * d + i] = l[i * d + j];
        }
    }
    let mut inv = vec![0.0f64; d * d];
    inv.par_chunks_mut(d * ROWS).enumerate().for_each(|(g, rows)| {
        let i0 = g * ROWS;
        let n = rows.len() / d;
        // row·L = e_i, solved from column i down to 0: row_j = −(Σ_{k>j} row_k L_kj) / L_jj
        for j in (0..i0 + n).rev() {
            let ltj = &lt[j * d..(j + 1) * d];
            for (r, row) in rows.chunks_exact_mut(d).enumerate() {
                let i = i0 + r;
                if j == i {
                    row[i] = 1.0 / l[i * d + i];
                } else if j < i {
                    row[j] = -dot64(&row[j + 1..=i], &ltj[j + 1..=i]) / l[j * d + j];
                }
            }
        }
    });
    inv
}

/// Dot products with eight partial sums, so the loop vectorizes without reassociating floats.
fn dot64(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}


/// `values` (row-major `shape`, rows `shape[0]` of `∏ shape[1..]`) stored as `ty` with GPTQ's
/// rounding through `factor` (of the rows' input Hessian; `factor.d` must be the row length).
/// Float types have no levels to choose: they round as [`Weight::quantize`] does.
pub fn quantize(shape: &[usize], values: &[f32], ty: GgmlType, factor: &InverseFactor) -> Result<Weight> {
    let row_len: usize = shape.iter().skip(1).product();
    if factor.d != row_len || shape.len() < 2 {
        return Err(Error::InvalidArgument { op: "gptq", reason: format!("shape {shape:?} has rows of {row_len}, the Hessian is {0}×{0}", factor.d) });
    }
    crate::error::check_len("gptq", shape, values.len())?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument { op: "gptq", reason: format!("value {i} is {}; blocks need finite values", values[i]) });
    }
    with_grid_block!(ty, |B, N| quantize_rows::<B, N>(shape, values, factor), Weight::quantize(shape, values, ty))
}

fn quantize_rows<B: GridBlock<N>, const N: usize>(shape: &[usize], values: &[f32], factor: &InverseFactor) -> Result<Weight>
where
    [f32; N]: Pod,
{
    let (d, padded) = (factor.d, padded_row_len(factor.d, B::TYPE));
    let row_bytes = padded / N * size_of::<B>();
    let mut out = vec![0u8; values.len() / d.max(1) * row_bytes];
    out.par_chunks_mut(row_bytes * ROWS_PER_TASK).zip(values.par_chunks(d * ROWS_PER_TASK)).try_for_each(|(out, rows)| {
        let n = rows.len() / d;
        // Working copies, padded with zeros to whole blocks.
        let mut w: Vec<f32> = vec![0.0; n * padded];
        for (dst, src) in w.chunks_exact_mut(padded).zip(rows.chunks_exact(d)) {
            dst[..d].copy_from_slice(src);
        }
        let mut blocks = vec![B::zeroed(); n];
        let mut levels = vec![[0u8; N]; n];
        let mut errs = vec![0.0f32; n];
        for b0 in (0..padded).step_by(N) {
            for (r, blk) in blocks.iter_mut().enumerate() {
                let x: &[f32; N] = w[r * padded + b0..r * padded + b0 + N].try_into().expect("block slice");
                *blk = B::encode(x)?;
            }
            for j in 0..N {
                let c = b0 + j;
                for (r, ((blk, lr), err)) in blocks.iter().zip(levels.iter_mut()).zip(errs.iter_mut()).enumerate() {
                    let lv = blk.levels(j);
                    let v = w[r * padded + c];
                    lr[j] = lv.nearest(v);
                    *err = if c < d { (v - lv.value(lr[j])) / factor.r[c * d + c] } else { 0.0 };
                }
                if c + 1 >= d {
                    continue;
                }
                let rc = &factor.r[c * d + c + 1..(c + 1) * d];
                for (r, &e) in errs.iter().enumerate() {
                    if e != 0.0 {
                        for (wv, &h) in w[r * padded + c + 1..r * padded + d].iter_mut().zip(rc) {
                            *wv -= e * h;
                        }
                    }
                }
            }
            for (r, (blk, lv)) in blocks.iter().zip(&levels).enumerate() {
                let at = r * row_bytes + b0 / N * size_of::<B>();
                out[at..at + size_of::<B>()].copy_from_slice(bytemuck::bytes_of(&blk.with_levels(lv)));
            }
        }
        Ok::<_, Error>(())
    })?;
    Weight::from_bytes(shape, B::TYPE, out.into())
}

/// Rows refitted together: each row of `H` read from memory serves all of them.
const REFIT_ROWS: usize = 16;

/// `weight` (blocks whose levels are set, from `values` by [`quantize`] or rounding to nearest)
/// with each row's block super-scales (`d`, and `dmin` where the format has one) refitted to
/// the least output error `(w − q)ᵀ H (w − q)` with the levels and sub-scales kept: `q` is
/// linear in the row's scales, so they solve one small least-squares system per row (the
/// blocks couple through `H`). A row keeps its old scales when the refit, once rounded to f16,
/// is not better. `h` is the full `d × d` Hessian of the rows' inputs. Float types are returned
/// as they are.
pub fn refit_scales(weight: &Weight, values: &[f32], h: &[f32]) -> Result<Weight> {
    let ty = weight.ty();
    let d = weight.row_len();
    if h.len() != d * d || values.len() != weight.rows() * d {
        return Err(Error::InvalidArgument { op: "gptq", reason: format!("refit: rows of {d}, {} values, a Hessian of {} values", values.len(), h.len()) });
    }
    with_grid_block!(ty, |B, N| refit_rows::<B, N>(weight, values, h), Ok(weight.clone()))
}

fn refit_rows<B: GridBlock<N> + Send + Sync, const N: usize>(weight: &Weight, values: &[f32], h: &[f32]) -> Result<Weight>
where
    [f32; N]: Pod,
{
    let d = weight.row_len();
    let nb = padded_row_len(d, B::TYPE) / N;
    let mut blocks: Vec<B> = bytemuck::try_cast_slice(weight.bytes()).map_err(|e| Error::InvalidArgument { op: "gptq", reason: format!("refit: {e:?}") })?.to_vec();
    if blocks.len() != weight.rows() * nb {
        return Err(Error::InvalidArgument { op: "gptq", reason: "refit: block count".into() });
    }
    blocks.par_chunks_mut(nb * REFIT_ROWS).zip(values.par_chunks(d * REFIT_ROWS)).for_each(|(blocks, rows)| {
        // Per row, the unknowns (block, scale) whose basis is not zero, and the basis: the
        // block's values with that scale 1 and the other 0.
        let rows_basis: Vec<Vec<(usize, usize, [f32; N])>> = blocks
            .chunks_exact(nb)
            .map(|row| {
                let mut unknowns = Vec::new();
                for (b, blk) in row.iter().enumerate() {
                    for k in 0..2 {
                        let mut unit = [0.0f32; 2];
                        unit[k] = 1.0;
                        let mut phi = [0.0f32; N];
                        if let Some(u) = blk.with_scales(unit) {
                            u.decode(&mut phi);
                        }
                        if phi.iter().any(|&v| v != 0.0) {
                            unknowns.push((b, k, phi));
                        }
                    }
                }
                unknowns
            })
            .collect();
        // G[u][v] = φ_uᵀ H φ_v and rhs[v] = φ_vᵀ H w, block by block: the unknowns of block b
        // (two per row of this task) give z_v = H φ_v as one matrix product on the CPU's tiled
        // kernel (φ_v is zero outside its block, so z_v = H[:, block] φ_v, and H is symmetric:
        // H[:, block]ᵀ is the block's rows of H).
        let n_rows = rows_basis.len();
        // at[r][2·b + k]: row r's unknown for scale k of block b, if it has one
        let at: Vec<Vec<Option<usize>>> = rows_basis
            .iter()
            .map(|unknowns| {
                let mut at = vec![None; 2 * nb];
                for (u, &(b, k, _)) in unknowns.iter().enumerate() {
                    at[2 * b + k] = Some(u);
                }
                at
            })
            .collect();
        let mut g: Vec<Vec<f64>> = rows_basis.iter().map(|u| vec![0.0; u.len() * u.len()]).collect();
        let mut rhs: Vec<Vec<f64>> = rows_basis.iter().map(|u| vec![0.0; u.len()]).collect();
        for b in 0..nb {
            let c0 = b * N;
            let width = N.min(d.saturating_sub(c0));
            if width == 0 {
                continue;
            }
            let mut phi = vec![0.0f32; 2 * n_rows * width];
            for (r, unknowns) in rows_basis.iter().enumerate() {
                for k in 0..2 {
                    if let Some(u) = at[r][2 * b + k] {
                        phi[(2 * r + k) * width..(2 * r + k + 1) * width].copy_from_slice(&unknowns[u].2[..width]);
                    }
                }
            }
            let z = block_products(&h[c0 * d..(c0 + width) * d], d, phi, 2 * n_rows, width);
            for (r, unknowns) in rows_basis.iter().enumerate() {
                let m = unknowns.len();
                let w = &rows[r * d..(r + 1) * d];
                for k in 0..2 {
                    let Some(v) = at[r][2 * b + k] else { continue };
                    let zv = &z[(2 * r + k) * d..(2 * r + k + 1) * d];
                    rhs[r][v] = zv.iter().zip(w).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                    for (u, (ub, _, phi_u)) in unknowns.iter().enumerate() {
                        let cu = ub * N;
                        g[r][u * m + v] = (cu..(cu + N).min(d)).map(|c| f64::from(phi_u[c - cu]) * f64::from(zv[c])).sum();
                    }
                }
            }
        }
        for ((row, unknowns), (g, rhs)) in blocks.chunks_exact_mut(nb).zip(&rows_basis).zip(g.iter().zip(&rhs)) {
            let m = unknowns.len();
            let scales_of = |row: &[B]| unknowns.iter().map(|&(b, k, _)| f64::from(row[b].scales()[k])).collect::<Vec<f64>>();
            // (w − q)ᵀ H (w − q) − wᵀ H w for q = Σ θ_u φ_u
            let objective = |theta: &[f64]| -> f64 {
                (0..m).map(|u| theta[u] * ((0..m).map(|v| g[u * m + v] * theta[v]).sum::<f64>() - 2.0 * rhs[u])).sum()
            };
            let Some(theta) = solve_spd(g, rhs, m) else { continue };
            let mut refit: Vec<B> = row.to_vec();
            let mut representable = true;
            for (b, blk) in refit.iter_mut().enumerate() {
                let mut s = blk.scales();
                for (u, &(ub, k, _)) in unknowns.iter().enumerate() {
                    if ub == b {
                        s[k] = theta[u] as f32;
                    }
                }
                match blk.with_scales(s) {
                    Some(new) => *blk = new,
                    None => representable = false,
                }
            }
            if representable && objective(&scales_of(&refit)) < objective(&scales_of(row)) {
                row.copy_from_slice(&refit);
            }
        }
    });
    Weight::from_bytes(weight.shape(), B::TYPE, bytemuck::cast_slice(&blocks).to_vec().into())
}

/// `z[o] = Σ_j phi[o][j] · h_rows[j]` for `rows` vectors `phi` of `width` values and
/// `h_rows` = `width` rows of `d` values: a `[rows, width] × [width, d]` product on the CPU
/// backend's tiled kernel.
fn block_products(h_rows: &[f32], d: usize, phi: Vec<f32>, rows: usize, width: usize) -> Vec<f32> {
    let geometry = Conv1dGeometry::new(&[width, d], &[rows, width, 1], None, Conv1dParams::default());
    let weight = Weight::f32(&[rows, width, 1], phi);
    match (geometry, weight) {
        (Ok(g), Ok(w)) => conv1d(&g, h_rows, &w, None),
        _ => unreachable!("the shapes hold the values"),
    }
}

/// Solves `G θ = rhs` for a small symmetric positive semi-definite `G` (`m × m`) through
/// [`cholesky`], with a ridge of 1e-9 · mean diagonal; None when it fails.
fn solve_spd(g: &[f64], rhs: &[f64], m: usize) -> Option<Vec<f64>> {
    let ridge = 1e-9 * (0..m).map(|i| g[i * m + i]).sum::<f64>() / m.max(1) as f64;
    let mut a = g.to_vec();
    for i in 0..m {
        a[i * m + i] += ridge;
    }
    let l = cholesky(a, m).ok()?;
    let mut y = vec![0.0f64; m];
    for i in 0..m {
        y[i] = (rhs[i] - dot64(&l[i * m..i * m + i], &y[..i])) / l[i * m + i];
    }
    for i in (0..m).rev() {
        y[i] = (y[i] - (i + 1..m).map(|k| l[k * m + i] * y[k]).sum::<f64>()) / l[i * m + i];
    }
    y.iter().all(|v| v.is_finite()).then_some(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn dot32(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; 16];
        let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
        let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ca.zip(cb) {
            for k in 0..16 {
                acc[k] += x[k] * y[k];
            }
        }
        acc.iter().sum::<f32>() + tail
    }

    fn normal(rng: &mut SplitMix64) -> f32 {
        let (u1, u2) = ((rng.uniform() + 1.0) * 0.5, rng.uniform());
        ((-2.0 * f64::from(u1.max(1e-7)).ln()).sqrt() * (std::f64::consts::PI * f64::from(u2)).cos()) as f32
    }

    /// Adds `n` input vectors stored feature-major (`features[i·n + s]`) to `h` through its
    /// one accumulation path, [`Hessian::add_gram`].
    fn add_vectors(h: &mut Hessian, features: &[f32], n: usize) {
        let d = h.dim();
        let gram: Vec<f32> = (0..d * d).map(|ij| dot32(&features[ij / d * n..(ij / d + 1) * n], &features[ij % d * n..(ij % d + 1) * n])).collect();
        h.add_gram(&gram, n);
    }

    /// `n` inputs of dimension `d` with correlated features (a random mix of `d / 4` sources plus
    /// a little noise), as a layer sees after another layer; feature-major.
    fn correlated_inputs(d: usize, n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64(seed);
        let k = d / 4;
        let mix: Vec<f32> = (0..d * k).map(|_| normal(&mut rng)).collect();
        let mut x = vec![0.0f32; d * n];
        for s in 0..n {
            let src: Vec<f32> = (0..k).map(|_| normal(&mut rng)).collect();
            for i in 0..d {
                x[i * n + s] = dot32(&mix[i * k..(i + 1) * k], &src) + 0.1 * normal(&mut rng);
            }
        }
        x
    }

    #[test]
    fn the_inverse_factor_factors_the_damped_inverse() {
        // One panel, and several with a partial last one.
        for d in [37, 150] {
            let mut h = Hessian::new(d);
            add_vectors(&mut h, &correlated_inputs(d, 2 * d, d as u64), 2 * d);
            let damping = 0.01;
            let f = h.inverse_factor(damping).unwrap();
            let mean_diag = (0..d).map(|c| h.at(c, c)).sum::<f64>() / d as f64;
            let r = |i: usize, j: usize| f64::from(f.r[i * d + j]);
            // M = Rᵀ R, then M (H + λ I) = I
            let m: Vec<f64> = (0..d * d).map(|ij| (0..d).map(|k| r(k, ij / d) * r(k, ij % d)).sum()).collect();
            for i in 0..d {
                for j in 0..d {
                    let v: f64 = (0..d).map(|k| m[i * d + k] * (h.at(k, j) + if k == j { damping * mean_diag } else { 0.0 })).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-3, "d {d}: ({i}, {j}): {v}");
                }
                for j in 0..i {
                    assert_eq!(f.r[i * d + j], 0.0, "R is upper triangular");
                }
            }
        }
    }

    #[test]
    fn identity_factor_is_round_to_nearest() {
        let mut rng = SplitMix64(5);
        let shape = [6, 300];
        let w: Vec<f32> = (0..1800).map(|_| normal(&mut rng)).collect();
        for ty in [GgmlType::Q2_K, GgmlType::Q4_K, GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::F16] {
            let g = quantize(&shape, &w, ty, &InverseFactor::identity(300)).unwrap();
            assert_eq!(g.bytes(), Weight::quantize(&shape, &w, ty).unwrap().bytes(), "{}", ty.name());
        }
    }

    /// `Σ_rows δᵀ H δ / Σ_rows wᵀ H w` with `δ = w − q`.
    fn output_error(h: &Hessian, w: &[f32], q: &Weight) -> f64 {
        let (d, full, q) = (h.dim(), h.to_f32(), q.to_f32());
        let form = |v: &[f32]| -> f64 { (0..d).map(|i| f64::from(v[i]) * f64::from(dot32(&full[i * d..(i + 1) * d], v))).sum() };
        let delta: Vec<f32> = w.iter().zip(&q).map(|(a, b)| a - b).collect();
        delta.chunks(d).map(form).sum::<f64>() / w.chunks(d).map(form).sum::<f64>()
    }

    #[test]
    fn gptq_beats_round_to_nearest_on_correlated_inputs() {
        let (d, n, rows) = (320, 1200, 24);
        let mut h = Hessian::new(d);
        let x = correlated_inputs(d, n, 2);
        add_vectors(&mut h, &x, n);
        assert_eq!(h.samples(), n);
        let f = h.inverse_factor(0.01).unwrap();
        let mut rng = SplitMix64(3);
        let w: Vec<f32> = (0..rows * d).map(|_| normal(&mut rng) * 0.05).collect();
        let shape = [rows, 32, 10];
        for ty in GgmlType::ALL.into_iter().filter(|t| t.block_size() > 1) {
            let (gptq, rtn) = (output_error(&h, &w, &quantize(&shape, &w, ty, &f).unwrap()), output_error(&h, &w, &Weight::quantize(&shape, &w, ty).unwrap()));
            println!("{}: output error GPTQ {gptq:.3e}, round to nearest {rtn:.3e}", ty.name());
            assert!(gptq < 0.7 * rtn, "{}: GPTQ {gptq:.3e} vs round to nearest {rtn:.3e}", ty.name());
        }
    }

    #[test]
    fn refitting_scales_lowers_the_output_error_and_keeps_levels() {
        let (d, n, rows) = (300, 900, 16);
        let mut h = Hessian::new(d);
        add_vectors(&mut h, &correlated_inputs(d, n, 7), n);
        let f = h.inverse_factor(0.01).unwrap();
        let full = h.to_f32();
        let mut rng = SplitMix64(8);
        let w: Vec<f32> = (0..rows * d).map(|_| normal(&mut rng) * 0.05).collect();
        let shape = [rows, d];
        for ty in GgmlType::ALL.into_iter().filter(|t| t.block_size() > 1) {
            for (how, q) in [("gptq", quantize(&shape, &w, ty, &f).unwrap()), ("nearest", Weight::quantize(&shape, &w, ty).unwrap())] {
                let refit = refit_scales(&q, &w, &full).unwrap();
                let (before, after) = (output_error(&h, &w, &q), output_error(&h, &w, &refit));
                println!("{} {how}: output error {before:.3e} → {after:.3e} refitted", ty.name());
                // Only scales move: with one scale per block, every zero and sign stays.
                let (qv, rv) = (q.to_f32(), refit.to_f32());
                let single_scale = !matches!(ty, GgmlType::Q2_K | GgmlType::Q4_K);
                let pattern = |v: &[f32]| v.iter().map(|x| if *x == 0.0 { 0 } else { x.signum() as i8 }).collect::<Vec<_>>();
                assert!(!single_scale || pattern(&qv) == pattern(&rv), "{} {how}: signs and zeros kept", ty.name());
                // Scales fitted block by block (or to the corrected row) are not the output's best.
                assert!(after < 0.99 * before, "{} {how}: the refit gained nothing, {before:.3e} → {after:.3e}", ty.name());
            }
        }
        assert!(refit_scales(&Weight::quantize(&shape, &w, GgmlType::Q4_0).unwrap(), &w[..10], &full).is_err(), "wrong value count");
    }

    #[test]
    fn bad_shapes_and_values_are_errors() {
        let f = InverseFactor::identity(8);
        assert!(quantize(&[2, 4], &[0.0; 8], GgmlType::Q4_0, &f).is_err(), "row length differs from the Hessian");
        assert!(quantize(&[2, 8], &[0.0; 15], GgmlType::Q4_0, &f).is_err(), "value count");
        let mut v = vec![0.5f32; 16];
        v[3] = f32::NAN;
        assert!(quantize(&[2, 8], &v, GgmlType::Q4_0, &f).is_err(), "non-finite");
        let mut h = Hessian::new(3);
        add_vectors(&mut h, &[1.0, f32::NAN, 0.0], 1);
        assert!(h.inverse_factor(0.01).is_err(), "a NaN Hessian");
    }
}
