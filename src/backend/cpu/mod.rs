//! CPU backend: plain Rust, with wasm `simd128` kernels in the browser build. Weights stay
//! packed; each kernel decodes the rows it needs into scratch.

mod conv1d;
mod int8;
mod nn;
pub mod simd;

pub use conv1d::{conv1d, conv1d_axpy, conv_transpose1d_polyphase};
pub use nn::conv_transpose1d as conv_transpose1d_scatter;

use std::mem::MaybeUninit;

use super::{check_len, count_host_macs, host_op, host_ops, invalid, shapes, Backend, Conv1dGeometry, Conv1dParams, ConvTransposeGeometry, ConvTransposeParams, LstmWeights, NormKind, Unary, Weight};
use crate::error::Result;

#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend {
    arithmetic: Arithmetic,
}

/// How the CPU backend multiplies in convolutions (the generator's, the decoder's, the text
/// encoder's, the transposed ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arithmetic {
    /// f32 throughout: the reference the GPU and the conformance suite compare against.
    #[default]
    F32,
    /// The input quantized to int8 per channel and the weights per output channel, products
    /// summed exactly in i32 (except convolutions with few outputs: the generator's last one
    /// writes the spectrum and phase directly): faster where the CPU multiplies bytes (AVX-512
    /// VNNI, wasm's i16 dot), at a small cost in fidelity.
    Int8,
}

impl CpuBackend {
    pub fn new(arithmetic: Arithmetic) -> Self {
        Self { arithmetic }
    }

    /// An LSTM direction's input projection `W_ih x + b_ih` (`[4 · hidden, t]`), its shapes
    /// checked and its multiply-adds counted: `(hidden, t, projection)`.
    fn lstm_projection(&self, x: &CpuTensor, w: &LstmWeights<'_, Weight>) -> Result<(usize, usize, CpuTensor)> {
        let (hidden, t) = shapes::lstm(&x.shape, w.w_ih.shape(), w.w_hh.shape(), w.b_ih.shape(), w.b_hh.shape())?;
        count_host_macs(4 * hidden * hidden * t);
        Ok((hidden, t, self.linear(x, w.w_ih, Some(w.b_ih))?))
    }

    /// A convolution in this backend's arithmetic (int8 where it applies).
    fn convolve(&self, g: &Conv1dGeometry, x: &[f32], w: &Weight, bias: Option<&[f32]>) -> Vec<f32> {
        if let Some(y) = conv1d::conv1d_strided_polyphase(g, x, w, bias, |g, x, w, bias| self.convolve(g, x, w, bias)) {
            return y;
        }
        let int8 = self.arithmetic == Arithmetic::Int8 && g.c_out >= int8::MIN_CHANNELS;
        (if int8 { int8::conv1d_int8(g, x, w, bias) } else { None }).unwrap_or_else(|| conv1d(g, x, w, bias))
    }
}

/// `f(scratch, (i, chunk i))` for each `len`-long chunk of `out` (the last may be shorter): on
/// rayon's threads natively and in the threaded wasm build, a task taking at least `min_len`
/// chunks and making its scratch with `init`; in order with one scratch in the plain wasm build.
/// Each chunk is computed as on one thread, so results do not depend on the thread count.
fn for_chunks<T: Send, S>(out: &mut [T], len: usize, min_len: usize, init: impl Fn() -> S + Send + Sync, f: impl Fn(&mut S, (usize, &mut [T])) + Send + Sync) {
    if len == 0 {
        return;
    }
    #[cfg(any(not(target_arch = "wasm32"), feature = "wasm-threads"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(len).enumerate().with_min_len(min_len).for_each_init(init, f);
    }
    #[cfg(all(target_arch = "wasm32", not(feature = "wasm-threads")))]
    {
        let _ = min_len; // one task in order: nothing to batch
        let mut scratch = init();
        out.chunks_mut(len).enumerate().for_each(|item| f(&mut scratch, item));
    }
}

/// A new tensor of `len` values in `t`-long rows, `f(i, row i)` writing every value of its row:
/// on threads where there are (a task takes rows of at least 16 k values in all), without
/// zero-filling first (a serial pass over the generator's tens of MB).
fn rows(len: usize, t: usize, f: impl Fn(usize, &mut [MaybeUninit<f32>]) + Send + Sync) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    for_chunks(&mut out.spare_capacity_mut()[..len], t, (1 << 14) / t.max(1) + 1, || (), |_, (i, row)| f(i, row));
    // SAFETY: the rows cover all `len` values, and `f` writes every value of its row.
    unsafe { out.set_len(len) };
    out
}

/// Values per task of the elementwise ops.
const CHUNK: usize = 1 << 14;

/// `f` of each value of `x` (monomorphized, so the loop vectorizes).
fn map(x: &[f32], f: impl Fn(f32) -> f32 + Send + Sync) -> Vec<f32> {
    rows(x.len(), CHUNK, |i, y| y.iter_mut().zip(&x[i * CHUNK..]).for_each(|(o, &v)| _ = o.write(f(v))))
}

/// `(a(), b())`, at once where there are threads.
fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "wasm-threads"))]
    return rayon::join(a, b);
    #[cfg(all(target_arch = "wasm32", not(feature = "wasm-threads")))]
    (a(), b())
}

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

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

impl Backend for CpuBackend {
    type Tensor = CpuTensor;
    type Weight = Weight;

    fn name(&self) -> String {
        let mut parts = vec![simd::KIND.to_owned()];
        match conv1d::tile_kernel_name() {
            // wasm's tiles are simd128 too: its name says it already
            Some(tiles) if !cfg!(target_arch = "wasm32") => parts.push(tiles.to_owned()),
            _ => {}
        }
        if self.arithmetic == Arithmetic::Int8 {
            parts.push(format!("int8 convolutions: {}", int8::kernel_name()));
        }
        if cfg!(all(target_arch = "wasm32", feature = "wasm-threads")) {
            parts.push(format!("{} threads", rayon::current_num_threads()));
        }
        format!("CPU ({})", parts.join(", "))
    }

    fn convolution_error(&self) -> f32 {
        match self.arithmetic {
            Arithmetic::F32 => 0.0,
            Arithmetic::Int8 => int8::ERROR,
        }
    }

    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<CpuTensor> {
        CpuTensor::new(shape, data.to_vec())
    }

    /// Shares the packed bytes (no copy, no decode).
    fn load_weight(&self, weight: &Weight) -> Result<Weight> {
        Ok(weight.clone())
    }

    fn shape<'t>(&self, tensor: &'t CpuTensor) -> &'t [usize] {
        &tensor.shape
    }

    fn conv1d(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>, params: Conv1dParams) -> Result<CpuTensor> {
        let g = Conv1dGeometry::new(&x.shape, weight.shape(), bias.map(Weight::shape), params)?;
        let _op = host_op("conv1d");
        count_host_macs(g.macs());
        let b = bias.map(Weight::values);
        CpuTensor::new(&[g.c_out, g.t_out], self.convolve(&g, &x.data, weight, b.as_deref()))
    }

    fn conv_transpose1d(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>, p: ConvTransposeParams) -> Result<CpuTensor> {
        let g = ConvTransposeGeometry::new(&x.shape, weight.shape(), bias.map(Weight::shape), p)?;
        let _op = host_op("conv_transpose1d");
        count_host_macs(g.c_in * g.per_group_out() * g.k * g.t_in);
        let b = bias.map(Weight::values);
        // Grouped (the depthwise pooling) stays a scatter; the generator's upsampling runs as
        // tiled convolutions.
        let out = if g.groups == 1 { conv1d::conv_transpose1d_polyphase(&g, &x.data, weight, b.as_deref(), |g, x, w| self.convolve(g, x, w, None)) } else { nn::conv_transpose1d(&g, &x.data, weight, b.as_deref()) };
        CpuTensor::new(&[g.c_out, g.t_out], out)
    }

    fn linear(&self, x: &CpuTensor, weight: &Weight, bias: Option<&Weight>) -> Result<CpuTensor> {
        let (out, inp) = super::rank2("linear", "weight", weight.shape())?;
        let g = Conv1dGeometry::new(&x.shape, &[out, inp, 1], bias.map(Weight::shape), Conv1dParams::default())?;
        let _op = host_op("linear");
        count_host_macs(g.macs());
        let b = bias.map(Weight::values);
        CpuTensor::new(&[g.c_out, g.t_out], conv1d(&g, &x.data, weight, b.as_deref()))
    }

    fn embedding(&self, table: &Weight, ids: &[u32]) -> Result<CpuTensor> {
        let (d, t) = shapes::embedding(table.shape(), ids)?;
        let _op = host_op("embedding");
        CpuTensor::new(&[d, t], nn::embedding(table, ids))
    }

    fn lstm(&self, x: &CpuTensor, w: &LstmWeights<'_, Weight>, reverse: bool) -> Result<CpuTensor> {
        let (hidden, t, xp) = self.lstm_projection(x, w)?;
        let _op = host_op("lstm");
        CpuTensor::new(&[hidden, t], nn::lstm_recurrence(&xp.data, w.w_hh, &w.b_hh.values(), hidden, t, reverse))
    }

    /// The projections one after the other (each on the threads), then both recurrences at once:
    /// the same ops counted, on this thread, as the directions one by one.
    fn bilstm(&self, x: &CpuTensor, forward: &LstmWeights<'_, Weight>, reverse: &LstmWeights<'_, Weight>) -> Result<CpuTensor> {
        let ((hidden, t, xp_f), (hidden_r, _, xp_r)) = (self.lstm_projection(x, forward)?, self.lstm_projection(x, reverse)?);
        if hidden_r != hidden {
            return Err(invalid("lstm", format!("the directions' hidden sizes {hidden} and {hidden_r} differ")));
        }
        let _ops = [host_op("lstm"), host_op("lstm"), host_op("concat")];
        let recurrence = |w: &LstmWeights<'_, Weight>, xp: &CpuTensor, reverse| nn::lstm_recurrence(&xp.data, w.w_hh, &w.b_hh.values(), hidden, t, reverse);
        let (mut y, y_r) = join(|| recurrence(forward, &xp_f, false), || recurrence(reverse, &xp_r, true));
        y.extend(y_r);
        CpuTensor::new(&[2 * hidden, t], y)
    }

    fn attention(&self, q: &CpuTensor, k: &CpuTensor, v: &CpuTensor, heads: usize) -> Result<CpuTensor> {
        let (c, t) = shapes::attention(&q.shape, &k.shape, &v.shape, heads)?;
        let _op = host_op("attention");
        CpuTensor::new(&q.shape, nn::attention(&q.data, &k.data, &v.data, heads, c / heads, t))
    }

    fn layer_norm(&self, x: &CpuTensor, gamma: &Weight, beta: &Weight, eps: f32) -> Result<CpuTensor> {
        let (c, t) = shapes::layer_norm(&x.shape, gamma.shape(), beta.shape())?;
        let _op = host_op("layer_norm");
        let (g, b) = (gamma.values(), beta.values());
        CpuTensor::new(&x.shape, nn::layer_norm(&x.data, c, t, &g, &b, eps))
    }

    fn ada_norm(&self, x: &CpuTensor, style_params: &CpuTensor, kind: NormKind, eps: f32) -> Result<CpuTensor> {
        let (c, t) = shapes::ada_norm(&x.shape, &style_params.shape)?;
        let _op = host_op("ada_norm");
        let (gamma, beta) = style_params.data.split_at(c);
        CpuTensor::new(&x.shape, nn::ada_norm(&x.data, c, t, gamma, beta, kind, eps))
    }

    fn snake(&self, x: &CpuTensor, alpha: &Weight) -> Result<CpuTensor> {
        let (_, t) = shapes::snake(&x.shape, alpha.len())?;
        let _op = host_op("snake");
        CpuTensor::new(&x.shape, nn::snake(&x.data, t, &alpha.values()))
    }

    fn unary(&self, x: &CpuTensor, op: Unary) -> Result<CpuTensor> {
        let _op = host_op("unary");
        // tanh and the logistic in plain arithmetic that vectorizes (libm's are a call per
        // element: ALBERT's GELU).
        let out = match op {
            Unary::GeluTanh => {
                let c = (2.0f32 / std::f32::consts::PI).sqrt();
                map(&x.data, |v| 0.5 * v * (1.0 + simd::tanh(c * (v + 0.044715 * v * v * v))))
            }
            Unary::Tanh => map(&x.data, simd::tanh),
            Unary::Sigmoid => map(&x.data, simd::sigmoid),
            op => map(&x.data, |v| op.apply(v)),
        };
        CpuTensor::new(&x.shape, out)
    }

    fn add(&self, a: &CpuTensor, b: &CpuTensor) -> Result<CpuTensor> {
        shapes::same("add", &a.shape, &b.shape)?;
        let _op = host_op("add");
        let out = rows(a.data.len(), CHUNK, |i, y| y.iter_mut().zip(&a.data[i * CHUNK..]).zip(&b.data[i * CHUNK..]).for_each(|((o, &u), &v)| _ = o.write(u + v)));
        CpuTensor::new(&a.shape, out)
    }

    fn scale(&self, x: &CpuTensor, s: f32) -> Result<CpuTensor> {
        let _op = host_op("scale");
        CpuTensor::new(&x.shape, map(&x.data, |v| v * s))
    }

    fn concat(&self, parts: &[&CpuTensor]) -> Result<CpuTensor> {
        let shapes: Vec<&[usize]> = parts.iter().map(|p| p.shape.as_slice()).collect();
        let (c, t) = shapes::concat(&shapes)?;
        let _op = host_op("concat");
        CpuTensor::new(&[c, t], parts.iter().flat_map(|p| p.data.iter().copied()).collect())
    }

    fn broadcast(&self, column: &CpuTensor, t: usize) -> Result<CpuTensor> {
        let c = shapes::broadcast(&column.shape)?;
        let _op = host_op("broadcast");
        CpuTensor::new(&[c, t], column.data.iter().flat_map(|&v| std::iter::repeat_n(v, t)).collect())
    }

    fn repeat_interleave(&self, x: &CpuTensor, counts: &[usize]) -> Result<CpuTensor> {
        let (c, t, total) = shapes::repeat_interleave(&x.shape, counts)?;
        let _op = host_op("repeat_interleave");
        CpuTensor::new(&[c, total], nn::repeat_interleave(&x.data, t, counts))
    }

    fn reflect_pad(&self, x: &CpuTensor, left: usize, right: usize) -> Result<CpuTensor> {
        let (c, t) = shapes::reflect_pad(&x.shape, left, right)?;
        let _op = host_op("reflect_pad");
        let mut out = Vec::with_capacity(c * (t + left + right));
        for row in x.data.chunks_exact(t) {
            out.extend((1..=left).rev().map(|i| row[i]));
            out.extend_from_slice(row);
            out.extend((0..right).map(|i| row[t - 2 - i]));
        }
        CpuTensor::new(&[c, t + left + right], out)
    }

    fn upsample_nearest(&self, x: &CpuTensor, factor: usize) -> Result<CpuTensor> {
        let (c, t) = shapes::upsample(&x.shape, factor)?;
        let _op = host_op("upsample_nearest");
        CpuTensor::new(&[c, t * factor], x.data.iter().flat_map(|&v| std::iter::repeat_n(v, factor)).collect())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn ops_recorded(&self) -> u64 {
        host_ops()
    }

    async fn read(&self, tensor: &CpuTensor) -> Result<Vec<f32>> {
        Ok(tensor.data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bidirectional LSTM with its recurrences on two threads: bit for bit the directions
    /// one after the other, stacked, with the same ops counted; and refused where they differ.
    #[test]
    fn bilstm_is_both_directions_stacked() {
        let mut rng = crate::rng::SplitMix64(11);
        let mut values = |n: usize| (0..n).map(|_| rng.uniform() - 0.5).collect::<Vec<f32>>();
        let (inp, hidden, t) = (12, 9, 17);
        let x = CpuTensor::new(&[inp, t], values(inp * t)).unwrap();
        let direction = |values: &mut dyn FnMut(usize) -> Vec<f32>, hidden: usize| {
            let shapes: [&[usize]; 4] = [&[4 * hidden, inp], &[4 * hidden, hidden], &[4 * hidden], &[4 * hidden]];
            shapes.map(|shape| Weight::f32(shape, values(shape.iter().product())).unwrap())
        };
        let (forward, reverse) = (direction(&mut values, hidden), direction(&mut values, hidden));
        let (forward, reverse) = (LstmWeights::from(&forward), LstmWeights::from(&reverse));
        let cpu = CpuBackend::default();
        let ops = host_ops();
        let one_by_one = cpu.concat(&[&cpu.lstm(&x, &forward, false).unwrap(), &cpu.lstm(&x, &reverse, true).unwrap()]).unwrap();
        let ops_one_by_one = host_ops() - ops;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let (both, ops_both) = pool.install(|| {
            let ops = host_ops();
            (cpu.bilstm(&x, &forward, &reverse).unwrap(), host_ops() - ops)
        });
        assert_eq!(both.shape(), [2 * hidden, t]);
        assert_eq!(both.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>(), one_by_one.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(ops_both, ops_one_by_one);
        let wider = direction(&mut values, hidden + 1);
        assert!(matches!(cpu.bilstm(&x, &forward, &LstmWeights::from(&wider)), Err(crate::error::Error::InvalidArgument { op: "lstm", .. })));
    }
}
