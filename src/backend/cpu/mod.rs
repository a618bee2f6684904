//! CPU backend: plain Rust, with wasm `simd128` kernels in the browser build.

mod conv1d;
mod nn;
pub mod simd;

pub use conv1d::{conv1d, conv1d_scalar};

use super::{
    check_len, invalid, rank2, Backend, Conv1dGeometry, Conv1dParams, ConvTransposeParams, LstmWeights, Unary, Weight,
};
use crate::error::Result;

#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

/// An f32 tensor in host memory, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl CpuTensor {
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<Self> {
        check_len("tensor", shape, data.len())?;
        Ok(Self { shape: shape.to_vec(), data })
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }
}

impl Backend for CpuBackend {
    type Tensor = CpuTensor;
    type Weight = Weight;

    fn name(&self) -> String {
        format!("CPU ({})", simd::KIND)
    }

    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<CpuTensor> {
        CpuTensor::new(shape, data.to_vec())
    }

    fn load_weight(&self, weight: &Weight) -> Result<Weight> {
        Ok(weight.clone())
    }

    fn shape<'t>(&self, tensor: &'t CpuTensor) -> &'t [usize] {
        &tensor.shape
    }

    fn conv1d(
        &self,
        x: &CpuTensor,
        weight: &Weight,
        bias: Option<&Weight>,
        params: Conv1dParams,
    ) -> Result<CpuTensor> {
        let g = Conv1dGeometry::new(&x.shape, weight.shape(), bias.map(Weight::shape), params)?;
        let b = bias.map(|b| b.as_f32("conv1d", "bias")).transpose()?;
        CpuTensor::new(&[g.c_out, g.t_out], conv1d(&g, &x.data, weight.data(), b))
    }

    fn conv_transpose1d(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>, p: ConvTransposeParams) -> Result<CpuTensor> {
        const OP: &str = "conv_transpose1d";
        let (c_in, t_in) = rank2(OP, "input", &x.shape)?;
        let &[w_in, per_group_out, k] = weight.shape() else {
            return Err(invalid(OP, format!("weight must be [c_in, c_out/groups, k], got {:?}", weight.shape())));
        };
        if p.groups == 0 || c_in % p.groups != 0 || w_in != c_in || p.stride == 0 || k == 0 || t_in == 0 {
            return Err(invalid(OP, format!("input {:?} and weight {:?} do not fit {p:?}", x.shape, weight.shape())));
        }
        let c_out = per_group_out * p.groups;
        let full = (t_in - 1) * p.stride + k + p.output_padding;
        let t_out = full.checked_sub(2 * p.padding).filter(|&n| n > 0).ok_or_else(|| invalid(OP, format!("padding {} leaves no output", p.padding)))?;
        let b = bias.map(|b| b.as_f32(OP, "bias")).transpose()?;
        if b.is_some_and(|b| b.len() != c_out) {
            return Err(invalid(OP, format!("bias must be [{c_out}]")));
        }
        CpuTensor::new(&[c_out, t_out], nn::conv_transpose1d(&x.data, c_in, t_in, weight.data(), c_out, k, b, p, t_out))
    }

    fn upsample_nearest(&self, x: &CpuTensor, factor: usize) -> Result<CpuTensor> {
        let (c, t) = rank2("upsample_nearest", "input", &x.shape)?;
        CpuTensor::new(&[c, t * factor], x.data.iter().flat_map(|&v| std::iter::repeat_n(v, factor)).collect())
    }

    fn reflect_pad(&self, x: &CpuTensor, left: usize, right: usize) -> Result<CpuTensor> {
        let (c, t) = rank2("reflect_pad", "input", &x.shape)?;
        if left >= t || right >= t {
            return Err(invalid("reflect_pad", format!("padding ({left}, {right}) needs more than {t} steps")));
        }
        let mut out = Vec::with_capacity(c * (t + left + right));
        for row in x.data.chunks_exact(t) {
            out.extend((1..=left).rev().map(|i| row[i]));
            out.extend_from_slice(row);
            out.extend((0..right).map(|i| row[t - 2 - i]));
        }
        CpuTensor::new(&[c, t + left + right], out)
    }

    fn snake(&self, x: &CpuTensor, alpha: &Weight) -> Result<CpuTensor> {
        let (c, t) = rank2("snake", "input", &x.shape)?;
        if alpha.data().len() != c {
            return Err(invalid("snake", format!("alpha has {} values for {c} channels", alpha.data().len())));
        }
        CpuTensor::new(&x.shape, nn::snake(&x.data, t, alpha.as_f32("snake", "alpha")?))
    }

    fn linear(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>) -> Result<CpuTensor> {
        let (out, inp) = rank2("linear", "weight", weight.shape())?;
        let g = Conv1dGeometry::new(&x.shape, &[out, inp, 1], bias.map(Weight::shape), Conv1dParams::default())?;
        let b = bias.map(|b| b.as_f32("linear", "bias")).transpose()?;
        CpuTensor::new(&[g.c_out, g.t_out], conv1d(&g, &x.data, weight.data(), b))
    }

    fn embedding(&self, table: &Weight, ids: &[u32]) -> Result<CpuTensor> {
        let (n, d) = rank2("embedding", "table", table.shape())?;
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= n) {
            return Err(invalid("embedding", format!("id {bad} outside the table of {n} rows")));
        }
        CpuTensor::new(&[d, ids.len()], nn::embedding(table.data(), d, ids))
    }

    fn layer_norm(&self, x: &CpuTensor, gamma: Option<&Weight>, beta: Option<&Weight>, eps: f32) -> Result<CpuTensor> {
        let (c, t) = rank2("layer_norm", "input", &x.shape)?;
        fn vector<'w>(w: Option<&'w Weight>, what: &'static str, c: usize) -> Result<Option<&'w [f32]>> {
            let Some(w) = w else { return Ok(None) };
            if w.shape() != [c] {
                return Err(invalid("layer_norm", format!("{what} must be [{c}], got {:?}", w.shape())));
            }
            w.as_f32("layer_norm", what).map(Some)
        }
        let (g, b) = (vector(gamma, "gamma", c)?, vector(beta, "beta", c)?);
        CpuTensor::new(&x.shape, nn::layer_norm(&x.data, c, t, g, b, eps))
    }

    fn instance_norm(&self, x: &CpuTensor, eps: f32) -> Result<CpuTensor> {
        let (_, t) = rank2("instance_norm", "input", &x.shape)?;
        if t == 0 {
            return Err(invalid("instance_norm", "empty input".into()));
        }
        CpuTensor::new(&x.shape, nn::instance_norm(&x.data, t, eps))
    }

    fn modulate(&self, x: &CpuTensor, gamma: &CpuTensor, beta: &CpuTensor) -> Result<CpuTensor> {
        let (c, t) = rank2("modulate", "input", &x.shape)?;
        if gamma.shape != [c, 1] || beta.shape != [c, 1] {
            return Err(invalid("modulate", format!("gamma and beta must be [{c}, 1], got {:?} and {:?}", gamma.shape, beta.shape)));
        }
        CpuTensor::new(&x.shape, nn::modulate(&x.data, t, &gamma.data, &beta.data))
    }

    fn unary(&self, x: &CpuTensor, op: Unary) -> Result<CpuTensor> {
        CpuTensor::new(&x.shape, nn::unary(&x.data, op))
    }

    fn add(&self, a: &CpuTensor, b: &CpuTensor) -> Result<CpuTensor> {
        if a.shape != b.shape {
            return Err(invalid("add", format!("shapes {:?} and {:?} differ", a.shape, b.shape)));
        }
        CpuTensor::new(&a.shape, a.data.iter().zip(&b.data).map(|(x, y)| x + y).collect())
    }

    fn scale(&self, x: &CpuTensor, s: f32) -> Result<CpuTensor> {
        CpuTensor::new(&x.shape, x.data.iter().map(|v| v * s).collect())
    }

    fn concat(&self, a: &CpuTensor, b: &CpuTensor) -> Result<CpuTensor> {
        let (ca, ta) = rank2("concat", "first input", &a.shape)?;
        let (cb, tb) = rank2("concat", "second input", &b.shape)?;
        if ta != tb {
            return Err(invalid("concat", format!("time lengths {ta} and {tb} differ")));
        }
        CpuTensor::new(&[ca + cb, ta], [a.data.as_slice(), b.data.as_slice()].concat())
    }

    fn slice(&self, x: &CpuTensor, start: usize, end: usize) -> Result<CpuTensor> {
        let (c, t) = rank2("slice", "input", &x.shape)?;
        if start > end || end > c {
            return Err(invalid("slice", format!("channels {start}..{end} outside 0..{c}")));
        }
        CpuTensor::new(&[end - start, t], x.data[start * t..end * t].to_vec())
    }

    fn broadcast(&self, column: &CpuTensor, t: usize) -> Result<CpuTensor> {
        let (c, one) = rank2("broadcast", "column", &column.shape)?;
        if one != 1 {
            return Err(invalid("broadcast", format!("column must be [C, 1], got {:?}", column.shape)));
        }
        CpuTensor::new(&[c, t], column.data.iter().flat_map(|&v| std::iter::repeat_n(v, t)).collect())
    }

    fn repeat_interleave(&self, x: &CpuTensor, counts: &[usize]) -> Result<CpuTensor> {
        let (c, t) = rank2("repeat_interleave", "input", &x.shape)?;
        if counts.len() != t {
            return Err(invalid("repeat_interleave", format!("{} counts for {t} time steps", counts.len())));
        }
        let total = counts.iter().try_fold(0usize, |a, &n| a.checked_add(n));
        let total = total.filter(|&n| n.checked_mul(c).is_some()).ok_or_else(|| invalid("repeat_interleave", "output too large".into()))?;
        CpuTensor::new(&[c, total], nn::repeat_interleave(&x.data, t, counts))
    }

    fn attention(&self, q: &CpuTensor, k: &CpuTensor, v: &CpuTensor, heads: usize) -> Result<CpuTensor> {
        let (c, t) = rank2("attention", "q", &q.shape)?;
        if k.shape != q.shape || v.shape != q.shape {
            return Err(invalid("attention", format!("q {:?}, k {:?}, v {:?} must match", q.shape, k.shape, v.shape)));
        }
        if heads == 0 || c % heads != 0 {
            return Err(invalid("attention", format!("{c} channels do not split into {heads} heads")));
        }
        CpuTensor::new(&q.shape, nn::attention(&q.data, &k.data, &v.data, heads, c / heads, t))
    }

    fn lstm(&self, x: &CpuTensor, w: &LstmWeights<'_, Weight>, reverse: bool) -> Result<CpuTensor> {
        let (_, t) = rank2("lstm", "input", &x.shape)?;
        let (gates, hidden) = rank2("lstm", "w_hh", w.w_hh.shape())?;
        if gates != 4 * hidden || w.w_ih.shape().first() != Some(&gates) || w.b_hh.shape() != [gates] {
            return Err(invalid(
                "lstm",
                format!("w_ih {:?}, w_hh {:?}, b_hh {:?} are not one LSTM of hidden size {hidden}", w.w_ih.shape(), w.w_hh.shape(), w.b_hh.shape()),
            ));
        }
        let xp = self.linear(x, w.w_ih, Some(w.b_ih))?;
        let b_hh = w.b_hh.as_f32("lstm", "b_hh")?;
        CpuTensor::new(&[hidden, t], nn::lstm_recurrence(&xp.data, w.w_hh.data(), b_hh, hidden, t, reverse))
    }

    async fn read(&self, tensor: &CpuTensor) -> Result<Vec<f32>> {
        Ok(tensor.data.clone())
    }
}
