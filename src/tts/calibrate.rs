//! Calibration for `tritone quantize`: the model speaks calibration sentences on the CPU through
//! [`Calibrator`], a backend that forwards every op to [`CpuBackend`] and, on the way, adds what
//! each weight-taking layer sees to that weight's input [`Hessian`]: the input columns of a
//! linear layer, the im2col rows of a convolution (`c_in · k` values per output step, in the
//! weight's own row order), the inputs and the previous hidden states of an LSTM. Embeddings and
//! transposed convolutions get none (their weight rows do not meet one input vector each); they
//! round to nearest.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::backend::{Arithmetic, Backend, Conv1dGeometry, Conv1dParams, ConvTransposeParams, CpuBackend, LstmWeights, NormKind, Unary, Weight};
use crate::backend::cpu::CpuTensor;
use crate::error::Result;
use crate::quant::gptq::Hessian;
use crate::rng::SplitMix64;

/// Input vectors sampled per op call: long inputs (the generator's thousands of steps) would
/// otherwise dominate short ones and cost `d²` each.
const COLUMNS_PER_CALL: usize = 96;

/// A weight on the [`Calibrator`]: the packed weight and, when it is tracked, its index.
#[derive(Clone, Debug)]
pub struct Tracked {
    weight: Weight,
    index: Option<usize>,
}

/// See the module docs.
pub struct Calibrator {
    /// Tracked weights by the address of their packed bytes (shared with the caller's list).
    index_of: HashMap<usize, usize>,
    hessians: RefCell<HashMap<usize, Hessian>>,
    /// Input vectors not yet added, per weight: `(d, values one vector after another)`.
    pending: RefCell<HashMap<usize, (usize, Vec<f32>)>>,
    rng: RefCell<SplitMix64>,
    /// Runs the convolutions: int8 arithmetic (within 1 % of f32, 2–4× faster where the CPU
    /// multiplies bytes) gathers the same second moments to that precision, and calibration
    /// is mostly the generator's convolutions.
    convolutions: CpuBackend,
}

impl Calibrator {
    /// Tracks `weights` (the list the model is then loaded from; matrices only).
    pub fn new(weights: &[(String, Weight)]) -> Self {
        let index_of = weights.iter().enumerate().filter(|(_, (_, w))| w.shape().len() >= 2).map(|(i, (_, w))| (w.bytes().as_ptr() as usize, i)).collect();
        Self { index_of, hessians: RefCell::default(), pending: RefCell::default(), rng: RefCell::new(SplitMix64(0x5EED)), convolutions: CpuBackend::new(Arithmetic::Int8) }
    }

    /// Adds the vectors gathered since the last flush to their Hessians: `X Xᵀ` as one matrix
    /// product on the CPU backend's tiled kernel (`X [d, n]` as the weight, `Xᵀ` as the input).
    pub fn flush(&self) -> Result<()> {
        let mut hessians = self.hessians.borrow_mut();
        for (index, (d, vectors)) in self.pending.borrow_mut().drain() {
            let n = vectors.len() / d;
            let mut features = vec![0.0f32; vectors.len()];
            for (s, v) in vectors.chunks_exact(d).enumerate() {
                for (i, &x) in v.iter().enumerate() {
                    features[i * n + s] = x;
                }
            }
            let gram = CpuBackend::default().linear(&CpuTensor::new(&[n, d], vectors)?, &Weight::f32(&[d, n], features)?, None)?;
            hessians.entry(index).or_insert_with(|| Hessian::new(d)).add_gram(gram.data(), n);
        }
        Ok(())
    }

    /// The Hessians gathered so far, by index into the weight list.
    pub fn into_hessians(self) -> Result<HashMap<usize, Hessian>> {
        self.flush()?;
        Ok(self.hessians.into_inner())
    }

    /// Which of `steps` output steps to sample: all of them, or `COLUMNS_PER_CALL` evenly spaced
    /// from a random start.
    fn pick(&self, steps: usize) -> Vec<usize> {
        if steps <= COLUMNS_PER_CALL {
            return (0..steps).collect();
        }
        let start = self.rng.borrow_mut().next_u64() as usize % (steps / COLUMNS_PER_CALL);
        (0..COLUMNS_PER_CALL).map(|i| start + i * steps / COLUMNS_PER_CALL).collect()
    }

    /// Queues `n` vectors (`features[i·n + s]`) for the Hessian of weight `index` (row length `d`).
    fn accumulate(&self, index: Option<usize>, d: usize, features: &[f32], n: usize) {
        if let Some(index) = index {
            let mut pending = self.pending.borrow_mut();
            let (_, vectors) = pending.entry(index).or_insert_with(|| (d, Vec::new()));
            vectors.extend((0..n).flat_map(|s| (0..d).map(move |i| features[i * n + s])));
        }
    }

    /// Columns `at` of `x [rows, t]`, feature-major, with `shift` steps back (0 before the start
    /// or past the end): the inputs that produced output steps `at`.
    fn columns(x: &CpuTensor, at: &[usize], shift: isize) -> Vec<f32> {
        let t = x.shape()[1];
        let mut out = Vec::with_capacity(x.shape()[0] * at.len());
        for row in x.data().chunks_exact(t.max(1)) {
            out.extend(at.iter().map(|&s| usize::try_from(s as isize - shift).ok().and_then(|s| row.get(s)).copied().unwrap_or(0.0)));
        }
        out
    }
}

impl Backend for Calibrator {
    type Tensor = CpuTensor;
    type Weight = Tracked;

    fn name(&self) -> String {
        format!("calibration on {}", self.convolutions.name())
    }

    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<CpuTensor> {
        CpuBackend::default().upload(shape, data)
    }

    fn load_weight(&self, weight: &Weight) -> Result<Tracked> {
        let index = self.index_of.get(&(weight.bytes().as_ptr() as usize)).copied();
        Ok(Tracked { weight: weight.clone(), index })
    }

    fn shape<'t>(&self, tensor: &'t CpuTensor) -> &'t [usize] {
        tensor.shape()
    }

    fn conv1d(&self, x: &CpuTensor, w: &Tracked, bias: Option<&Tracked>, params: Conv1dParams) -> Result<CpuTensor> {
        let y = self.convolutions.conv1d(x, &w.weight, bias.map(|b| &b.weight), params)?;
        if w.index.is_some() {
            let g = Conv1dGeometry::new(x.shape(), w.weight.shape(), None, params)?;
            let at = self.pick(g.t_out);
            // im2col: feature c·k + tap of output step s is x[c, s·stride − padding + tap·dilation]
            let mut features = Vec::with_capacity(g.c_in * g.k * at.len());
            for row in x.data().chunks_exact(g.t_in) {
                for tap in 0..g.k {
                    features.extend(at.iter().map(|&s| {
                        let i = (s * g.stride + tap * g.dilation) as isize - g.padding as isize;
                        usize::try_from(i).ok().and_then(|i| row.get(i)).copied().unwrap_or(0.0)
                    }));
                }
            }
            self.accumulate(w.index, g.c_in * g.k, &features, at.len());
        }
        Ok(y)
    }

    fn conv_transpose1d(&self, x: &CpuTensor, w: &Tracked, bias: Option<&Tracked>, params: ConvTransposeParams) -> Result<CpuTensor> {
        self.convolutions.conv_transpose1d(x, &w.weight, bias.map(|b| &b.weight), params)
    }

    fn linear(&self, x: &CpuTensor, w: &Tracked, bias: Option<&Tracked>) -> Result<CpuTensor> {
        let y = CpuBackend::default().linear(x, &w.weight, bias.map(|b| &b.weight))?;
        let at = self.pick(x.shape()[1]);
        self.accumulate(w.index, x.shape()[0], &Self::columns(x, &at, 0), at.len());
        Ok(y)
    }

    fn embedding(&self, table: &Tracked, ids: &[u32]) -> Result<CpuTensor> {
        CpuBackend::default().embedding(&table.weight, ids)
    }

    fn lstm(&self, x: &CpuTensor, w: &LstmWeights<'_, Tracked>, reverse: bool) -> Result<CpuTensor> {
        let inner = LstmWeights { w_ih: &w.w_ih.weight, w_hh: &w.w_hh.weight, b_ih: &w.b_ih.weight, b_hh: &w.b_hh.weight };
        let h = CpuBackend::default().lstm(x, &inner, reverse)?;
        let at = self.pick(x.shape()[1]);
        self.accumulate(w.w_ih.index, x.shape()[0], &Self::columns(x, &at, 0), at.len());
        // step s saw the hidden state of the step before it in the direction of travel
        self.accumulate(w.w_hh.index, h.shape()[0], &Self::columns(&h, &at, if reverse { -1 } else { 1 }), at.len());
        Ok(h)
    }

    fn attention(&self, q: &CpuTensor, k: &CpuTensor, v: &CpuTensor, heads: usize) -> Result<CpuTensor> {
        CpuBackend::default().attention(q, k, v, heads)
    }

    fn layer_norm(&self, x: &CpuTensor, gamma: &Tracked, beta: &Tracked, eps: f32) -> Result<CpuTensor> {
        CpuBackend::default().layer_norm(x, &gamma.weight, &beta.weight, eps)
    }

    fn ada_norm(&self, x: &CpuTensor, style_params: &CpuTensor, kind: NormKind, eps: f32) -> Result<CpuTensor> {
        CpuBackend::default().ada_norm(x, style_params, kind, eps)
    }

    fn snake(&self, x: &CpuTensor, alpha: &Tracked) -> Result<CpuTensor> {
        CpuBackend::default().snake(x, &alpha.weight)
    }

    fn unary(&self, x: &CpuTensor, op: Unary) -> Result<CpuTensor> {
        CpuBackend::default().unary(x, op)
    }

    fn add(&self, a: &CpuTensor, b: &CpuTensor) -> Result<CpuTensor> {
        CpuBackend::default().add(a, b)
    }

    fn scale(&self, x: &CpuTensor, s: f32) -> Result<CpuTensor> {
        CpuBackend::default().scale(x, s)
    }

    fn concat(&self, parts: &[&CpuTensor]) -> Result<CpuTensor> {
        CpuBackend::default().concat(parts)
    }

    fn broadcast(&self, column: &CpuTensor, t: usize) -> Result<CpuTensor> {
        CpuBackend::default().broadcast(column, t)
    }

    fn repeat_interleave(&self, x: &CpuTensor, counts: &[usize]) -> Result<CpuTensor> {
        CpuBackend::default().repeat_interleave(x, counts)
    }

    fn reflect_pad(&self, x: &CpuTensor, left: usize, right: usize) -> Result<CpuTensor> {
        CpuBackend::default().reflect_pad(x, left, right)
    }

    fn upsample_nearest(&self, x: &CpuTensor, factor: usize) -> Result<CpuTensor> {
        CpuBackend::default().upsample_nearest(x, factor)
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn ops_recorded(&self) -> u64 {
        CpuBackend::default().ops_recorded()
    }

    async fn read(&self, tensor: &CpuTensor) -> Result<Vec<f32>> {
        CpuBackend::default().read(tensor).await
    }
}
