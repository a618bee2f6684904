//! The reference backend: every op as its definition, one output element at a time, in f64,
//! with weights decoded by each format's scalar twin. Slow and plain on purpose: it is what the
//! conformance suite (`crate::conformance`) holds the CPU, wasm and GPU kernels to.

use super::cpu::CpuTensor;
use super::{host_op, host_ops, shapes, Backend, Conv1dGeometry, Conv1dParams, ConvTransposeGeometry, ConvTransposeParams, LstmWeights, NormKind, Unary, Weight};
use crate::error::Result;

#[derive(Clone, Copy, Debug, Default)]
pub struct ReferenceBackend;

/// Weight values in f64, decoded element by element from the format's definition.
fn values(w: &Weight) -> Vec<f64> {
    w.to_f32_scalar().into_iter().map(f64::from).collect()
}

fn tensor(shape: &[usize], data: impl IntoIterator<Item = f64>) -> Result<CpuTensor> {
    CpuTensor::new(shape, data.into_iter().map(|v| v as f32).collect())
}

fn at(x: &CpuTensor, i: usize) -> f64 {
    f64::from(x.data()[i])
}

impl Unary {
    /// The function in f64 (the reference's precision).
    pub fn apply_f64(self, v: f64) -> f64 {
        match self {
            Unary::GeluTanh => 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh()),
            Unary::LeakyRelu(slope) => {
                if v >= 0.0 {
                    v
                } else {
                    v * f64::from(slope)
                }
            }
            Unary::Sigmoid => 1.0 / (1.0 + (-v).exp()),
            Unary::Tanh => v.tanh(),
            Unary::Exp => v.exp(),
            Unary::Sin => v.sin(),
        }
    }
}

/// Mean and 1/√(biased variance + eps).
fn moments(v: impl Iterator<Item = f64> + Clone, eps: f32) -> (f64, f64) {
    let n = v.clone().count() as f64;
    let mean = v.clone().sum::<f64>() / n;
    let var = v.map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, 1.0 / (var + f64::from(eps)).sqrt())
}

impl Backend for ReferenceBackend {
    type Tensor = CpuTensor;
    type Weight = Weight;

    fn name(&self) -> String {
        "reference (f64 loops)".into()
    }

    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<CpuTensor> {
        CpuTensor::new(shape, data.to_vec())
    }

    fn load_weight(&self, weight: &Weight) -> Result<Weight> {
        Ok(weight.clone())
    }

    fn shape<'t>(&self, tensor: &'t CpuTensor) -> &'t [usize] {
        tensor.shape()
    }

    fn conv1d(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>, p: Conv1dParams) -> Result<CpuTensor> {
        let g = Conv1dGeometry::new(x.shape(), weight.shape(), bias.map(Weight::shape), p)?;
        let _op = host_op("conv1d");
        let (w, b) = (values(weight), bias.map(values));
        let mut out = Vec::with_capacity(g.c_out * g.t_out);
        for o in 0..g.c_out {
            for t in 0..g.t_out {
                let mut acc = b.as_ref().map_or(0.0, |b| b[o]);
                for i in 0..g.c_in {
                    for j in 0..g.k {
                        let pos = (t * g.stride + j * g.dilation) as isize - g.padding as isize;
                        if (0..g.t_in as isize).contains(&pos) {
                            acc += w[(o * g.c_in + i) * g.k + j] * at(x, i * g.t_in + pos as usize);
                        }
                    }
                }
                out.push(acc);
            }
        }
        tensor(&[g.c_out, g.t_out], out)
    }

    /// Gathers, for each output position, every (input step, tap) pair that lands on it.
    fn conv_transpose1d(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>, p: ConvTransposeParams) -> Result<CpuTensor> {
        let g = ConvTransposeGeometry::new(x.shape(), weight.shape(), bias.map(Weight::shape), p)?;
        let _op = host_op("conv_transpose1d");
        let (w, b) = (values(weight), bias.map(values));
        let (pgi, pgo) = (g.per_group_in(), g.per_group_out());
        let mut out = Vec::with_capacity(g.c_out * g.t_out);
        for co in 0..g.c_out {
            let (group, col) = (co / pgo, co % pgo);
            for pos in 0..g.t_out {
                let mut acc = b.as_ref().map_or(0.0, |b| b[co]);
                for ci in group * pgi..(group + 1) * pgi {
                    for i in 0..g.t_in {
                        // tap j = pos + padding − i·stride
                        let j = (pos + g.padding) as isize - (i * g.stride) as isize;
                        if (0..g.k as isize).contains(&j) {
                            acc += at(x, ci * g.t_in + i) * w[(ci * pgo + col) * g.k + j as usize];
                        }
                    }
                }
                out.push(acc);
            }
        }
        tensor(&[g.c_out, g.t_out], out)
    }

    fn linear(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>) -> Result<CpuTensor> {
        let (out_c, inp) = super::rank2("linear", "weight", weight.shape())?;
        let g = Conv1dGeometry::new(x.shape(), &[out_c, inp, 1], bias.map(Weight::shape), Conv1dParams::default())?;
        let _op = host_op("linear");
        let (w, b) = (values(weight), bias.map(values));
        let out = (0..out_c).flat_map(|o| {
            let (w, b, x) = (&w, &b, &x);
            (0..g.t_in).map(move |t| b.as_ref().map_or(0.0, |b| b[o]) + (0..inp).map(|i| w[o * inp + i] * at(x, i * g.t_in + t)).sum::<f64>())
        });
        tensor(&[out_c, g.t_in], out.collect::<Vec<_>>())
    }

    fn embedding(&self, table: &Weight, ids: &[u32]) -> Result<CpuTensor> {
        let (d, t) = shapes::embedding(table.shape(), ids)?;
        let _op = host_op("embedding");
        let w = values(table);
        tensor(&[d, t], (0..d).flat_map(|c| ids.iter().map(move |&id| (id as usize, c))).map(|(id, c)| w[id * d + c]).collect::<Vec<_>>())
    }

    /// PyTorch's equations, one step at a time, state in f64.
    fn lstm(&self, x: &CpuTensor, lw: &LstmWeights<'_, Weight>, reverse: bool) -> Result<CpuTensor> {
        let (h, t) = shapes::lstm(x.shape(), lw.w_ih.shape(), lw.w_hh.shape(), lw.b_ih.shape(), lw.b_hh.shape())?;
        let _op = host_op("lstm");
        let inp = x.shape()[0];
        let (w_ih, w_hh, b_ih, b_hh) = (values(lw.w_ih), values(lw.w_hh), values(lw.b_ih), values(lw.b_hh));
        let sig = |v: f64| Unary::Sigmoid.apply_f64(v);
        let (mut hs, mut cs) = (vec![0.0f64; h], vec![0.0f64; h]);
        let mut out = vec![0.0f64; h * t];
        for step in 0..t {
            let j = if reverse { t - 1 - step } else { step };
            let gate: Vec<f64> = (0..4 * h)
                .map(|r| {
                    b_ih[r] + b_hh[r] + (0..inp).map(|c| w_ih[r * inp + c] * at(x, c * t + j)).sum::<f64>() + (0..h).map(|c| w_hh[r * h + c] * hs[c]).sum::<f64>()
                })
                .collect();
            for u in 0..h {
                cs[u] = sig(gate[h + u]) * cs[u] + sig(gate[u]) * gate[2 * h + u].tanh();
                hs[u] = sig(gate[3 * h + u]) * cs[u].tanh();
                out[u * t + j] = hs[u];
            }
        }
        tensor(&[h, t], out)
    }

    fn attention(&self, q: &CpuTensor, k: &CpuTensor, v: &CpuTensor, heads: usize) -> Result<CpuTensor> {
        let (c, t) = shapes::attention(q.shape(), k.shape(), v.shape(), heads)?;
        let _op = host_op("attention");
        let d = c / heads;
        let mut out = vec![0.0f64; c * t];
        for hd in 0..heads {
            let el = |m: &CpuTensor, ch: usize, j: usize| at(m, (hd * d + ch) * t + j);
            for i in 0..t {
                let scores: Vec<f64> = (0..t).map(|j| (0..d).map(|ch| el(q, ch, i) * el(k, ch, j)).sum::<f64>() / (d as f64).sqrt()).collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for ch in 0..d {
                    out[(hd * d + ch) * t + i] = (0..t).map(|j| (scores[j] - max).exp() / z * el(v, ch, j)).sum();
                }
            }
        }
        tensor(&[c, t], out)
    }

    fn layer_norm(&self, x: &CpuTensor, gamma: &Weight, beta: &Weight, eps: f32) -> Result<CpuTensor> {
        let (c, t) = shapes::layer_norm(x.shape(), gamma.shape(), beta.shape())?;
        let _op = host_op("layer_norm");
        let (g, b) = (values(gamma), values(beta));
        let mut out = vec![0.0f64; c * t];
        for j in 0..t {
            let (mean, inv) = moments((0..c).map(|i| at(x, i * t + j)), eps);
            for i in 0..c {
                out[i * t + j] = (at(x, i * t + j) - mean) * inv * g[i] + b[i];
            }
        }
        tensor(&[c, t], out)
    }

    fn ada_norm(&self, x: &CpuTensor, style_params: &CpuTensor, kind: NormKind, eps: f32) -> Result<CpuTensor> {
        let (c, t) = shapes::ada_norm(x.shape(), style_params.shape())?;
        let _op = host_op("ada_norm");
        let mut out = vec![0.0f64; c * t];
        for i in 0..c {
            for j in 0..t {
                let (mean, inv) = match kind {
                    NormKind::Instance => moments((0..t).map(|s| at(x, i * t + s)), eps),
                    NormKind::Layer => moments((0..c).map(|r| at(x, r * t + j)), eps),
                };
                out[i * t + j] = (at(x, i * t + j) - mean) * inv * (1.0 + at(style_params, i)) + at(style_params, c + i);
            }
        }
        tensor(&[c, t], out)
    }

    fn snake(&self, x: &CpuTensor, alpha: &Weight) -> Result<CpuTensor> {
        let (c, t) = shapes::snake(x.shape(), alpha.len())?;
        let _op = host_op("snake");
        let a = values(alpha);
        tensor(&[c, t], (0..c * t).map(|e| at(x, e) + (a[e / t] * at(x, e)).sin().powi(2) / a[e / t]).collect::<Vec<_>>())
    }

    fn unary(&self, x: &CpuTensor, op: Unary) -> Result<CpuTensor> {
        let _op = host_op("unary");
        tensor(x.shape(), x.data().iter().map(|&v| op.apply_f64(f64::from(v))).collect::<Vec<_>>())
    }

    fn add(&self, a: &CpuTensor, b: &CpuTensor) -> Result<CpuTensor> {
        shapes::same("add", a.shape(), b.shape())?;
        let _op = host_op("add");
        tensor(a.shape(), (0..a.data().len()).map(|i| at(a, i) + at(b, i)).collect::<Vec<_>>())
    }

    fn scale(&self, x: &CpuTensor, s: f32) -> Result<CpuTensor> {
        let _op = host_op("scale");
        tensor(x.shape(), (0..x.data().len()).map(|i| at(x, i) * f64::from(s)).collect::<Vec<_>>())
    }

    /// Output channel `r` is channel `r − offset` of the part that covers it.
    fn concat(&self, parts: &[&CpuTensor]) -> Result<CpuTensor> {
        let part_shapes: Vec<&[usize]> = parts.iter().map(|p| p.shape()).collect();
        let (c, t) = shapes::concat(&part_shapes)?;
        let _op = host_op("concat");
        let mut out = Vec::with_capacity(c * t);
        for r in 0..c {
            let (mut part, mut offset) = (0, 0);
            while r >= offset + part_shapes[part][0] {
                offset += part_shapes[part][0];
                part += 1;
            }
            out.extend((0..t).map(|j| at(parts[part], (r - offset) * t + j)));
        }
        tensor(&[c, t], out)
    }

    fn broadcast(&self, column: &CpuTensor, t: usize) -> Result<CpuTensor> {
        let c = shapes::broadcast(column.shape())?;
        let _op = host_op("broadcast");
        tensor(&[c, t], (0..c * t).map(|e| at(column, e / t.max(1))).collect::<Vec<_>>())
    }

    /// Output step `s` reads the input step whose cumulative count first exceeds `s`.
    fn repeat_interleave(&self, x: &CpuTensor, counts: &[usize]) -> Result<CpuTensor> {
        let (c, t, total) = shapes::repeat_interleave(x.shape(), counts)?;
        let _op = host_op("repeat_interleave");
        let ends: Vec<usize> = counts.iter().scan(0, |acc, &n| { *acc += n; Some(*acc) }).collect();
        let source = |s: usize| ends.iter().position(|&e| e > s).unwrap_or(0);
        tensor(&[c, total], (0..c).flat_map(|i| (0..total).map(move |s| (i, s))).map(|(i, s)| at(x, i * t + source(s))).collect::<Vec<_>>())
    }

    /// Output step `s` reads input `|s − left|` mirrored at the last step.
    fn reflect_pad(&self, x: &CpuTensor, left: usize, right: usize) -> Result<CpuTensor> {
        let (c, t) = shapes::reflect_pad(x.shape(), left, right)?;
        let _op = host_op("reflect_pad");
        let n = t + left + right;
        let source = |s: usize| {
            let p = (s as isize - left as isize).unsigned_abs();
            if p < t { p } else { 2 * (t - 1) - p }
        };
        tensor(&[c, n], (0..c * n).map(|e| at(x, e / n * t + source(e % n))).collect::<Vec<_>>())
    }

    fn upsample_nearest(&self, x: &CpuTensor, factor: usize) -> Result<CpuTensor> {
        let (c, t) = shapes::upsample(x.shape(), factor)?;
        let _op = host_op("upsample_nearest");
        let n = t * factor;
        tensor(&[c, n], (0..c * n).map(|e| at(x, e / n * t + e % n / factor)).collect::<Vec<_>>())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn ops_recorded(&self) -> u64 {
        host_ops()
    }

    async fn read(&self, tensor: &CpuTensor) -> Result<Vec<f32>> {
        Ok(tensor.data().to_vec())
    }
}
