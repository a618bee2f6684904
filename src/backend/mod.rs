//! One closed op set, implemented once per device. Model code is written once over [`Backend`].
//!
//! Activations are f32 tensors `[channels, time]` (batch 1: Kokoro speaks one utterance at a
//! time). Weights stay packed in their storage format ([`Weight`], rows of blocks); each kernel
//! decodes the rows it reads, so a quantized model is the same model with different weights.
//!
//! The set is closed: 17 ops, listed in [`OPS`]. [`reference::ReferenceBackend`] defines each one
//! with plain loops; `crate::conformance` holds every backend to it.

pub mod cpu;
pub mod gpu;
pub mod reference;
pub mod shapes;

use std::future::Future;

pub(crate) use crate::error::check_len;
use crate::error::{Error, Result};

pub use crate::quant::Weight;
pub use cpu::{Arithmetic, CpuBackend};
pub use gpu::GpuBackend;
pub use reference::ReferenceBackend;
pub use shapes::ConvTransposeGeometry;

/// Every op of the set, by the name errors and reports use.
pub const OPS: [&str; 17] = [
    "conv1d",
    "conv_transpose1d",
    "linear",
    "embedding",
    "lstm",
    "attention",
    "layer_norm",
    "ada_norm",
    "snake",
    "unary",
    "add",
    "scale",
    "concat",
    "broadcast",
    "repeat_interleave",
    "reflect_pad",
    "upsample_nearest",
];

/// The ops every backend implements. Ops are recorded in order; [`Backend::read`] is the only
/// point where results come back to the host (on the GPU it submits everything recorded).
pub trait Backend {
    type Tensor;
    type Weight;

    /// Human-readable description, e.g. `"CPU (wasm simd128)"` or `"llvmpipe (Vulkan)"`.
    fn name(&self) -> String;

    /// The error this backend's arithmetic may add to a convolution, relative to the output's
    /// magnitude (what the conformance suite allows on top of f32 rounding): 0 for f32.
    fn convolution_error(&self) -> f32 {
        0.0
    }

    /// Uploads an f32 activation tensor.
    fn upload(&self, shape: &[usize], data: &[f32]) -> Result<Self::Tensor>;

    /// Makes a weight resident on the device, still packed in its storage format.
    fn load_weight(&self, weight: &Weight) -> Result<Self::Weight>;

    fn shape<'t>(&self, tensor: &'t Self::Tensor) -> &'t [usize];

    /// 1-D convolution, groups = 1: `x [c_in, t_in]`, `weight [c_out, c_in, k]`, `bias [c_out]`
    /// → `[c_out, t_out]`, zero padding on both sides.
    fn conv1d(&self, x: &Self::Tensor, weight: &Self::Weight, bias: Option<&Self::Weight>, params: Conv1dParams) -> Result<Self::Tensor>;

    /// Transposed 1-D convolution (`nn.ConvTranspose1d`): `x [c_in, t_in]`, `weight
    /// [c_in, c_out / groups, k]`, `bias [c_out]` → `[c_out, (t_in − 1)·stride − 2·padding + k +
    /// output_padding]` (see [`ConvTransposeGeometry`]).
    fn conv_transpose1d(&self, x: &Self::Tensor, weight: &Self::Weight, bias: Option<&Self::Weight>, params: ConvTransposeParams) -> Result<Self::Tensor>;

    /// `weight [out, in] @ x [in, t] + bias [out]` → `[out, t]` (a PyTorch `Linear` applied
    /// at every time step).
    fn linear(&self, x: &Self::Tensor, weight: &Self::Weight, bias: Option<&Self::Weight>) -> Result<Self::Tensor>;

    /// Rows of `table [n, d]` picked by `ids`, as columns: `[d, ids.len()]`.
    fn embedding(&self, table: &Self::Weight, ids: &[u32]) -> Result<Self::Tensor>;

    /// One direction of a 1-layer PyTorch LSTM (gates i, f, g, o): `x [in, t]` → `[hidden, t]`;
    /// `reverse` runs from the last step to the first.
    fn lstm(&self, x: &Self::Tensor, weights: &LstmWeights<'_, Self::Weight>, reverse: bool) -> Result<Self::Tensor>;

    /// A bidirectional LSTM: [`Backend::lstm`] forward with `forward`'s weights and in reverse
    /// with `reverse`'s, stacked `[2 · hidden, t]`. A backend with threads may run the two
    /// directions at once (each recurrence is serial).
    fn bilstm(&self, x: &Self::Tensor, forward: &LstmWeights<'_, Self::Weight>, reverse: &LstmWeights<'_, Self::Weight>) -> Result<Self::Tensor> {
        self.concat(&[&self.lstm(x, forward, false)?, &self.lstm(x, reverse, true)?])
    }

    /// Multi-head self-attention core: `softmax(q_h^T k_h / √d) v_h` per head, with `q, k, v`
    /// of shape `[heads · d, t]` (already projected). No mask (Kokoro attends everywhere).
    fn attention(&self, q: &Self::Tensor, k: &Self::Tensor, v: &Self::Tensor, heads: usize) -> Result<Self::Tensor>;

    /// Normalizes each time step over the channels (`nn.LayerNorm(C)` on `[t, C]`), then
    /// `· gamma + beta` (both `[C]`).
    fn layer_norm(&self, x: &Self::Tensor, gamma: &Self::Weight, beta: &Self::Weight, eps: f32) -> Result<Self::Tensor>;

    /// Style-conditioned normalization (AdaIN1d, AdaLayerNorm): `x [C, t]` normalized by `kind`
    /// without affine, then `· (1 + γ) + β` where `style_params [2C, 1]` holds γ then β (the
    /// output of the layer's `fc(style)`).
    fn ada_norm(&self, x: &Self::Tensor, style_params: &Self::Tensor, kind: NormKind, eps: f32) -> Result<Self::Tensor>;

    /// Snake activation with per-channel `alpha [C]` (stored `[1, C, 1]`): `x + sin²(α·x) / α`.
    fn snake(&self, x: &Self::Tensor, alpha: &Self::Weight) -> Result<Self::Tensor>;

    fn unary(&self, x: &Self::Tensor, op: Unary) -> Result<Self::Tensor>;

    /// `a + b`, same shapes.
    fn add(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;

    /// `x · s`.
    fn scale(&self, x: &Self::Tensor, s: f32) -> Result<Self::Tensor>;

    /// Channels of each part in order, same time length: `[ΣC, t]`.
    fn concat(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor>;

    /// A `[C, 1]` column repeated over `t` steps: `[C, t]`.
    fn broadcast(&self, column: &Self::Tensor, t: usize) -> Result<Self::Tensor>;

    /// Time step `i` repeated `counts[i]` times (the alignment matrix product of Kokoro).
    fn repeat_interleave(&self, x: &Self::Tensor, counts: &[usize]) -> Result<Self::Tensor>;

    /// Reflection padding in time (`nn.ReflectionPad1d((left, right))`).
    fn reflect_pad(&self, x: &Self::Tensor, left: usize, right: usize) -> Result<Self::Tensor>;

    /// Each time step repeated `factor` times (`F.interpolate(mode="nearest")` by an integer).
    fn upsample_nearest(&self, x: &Self::Tensor, factor: usize) -> Result<Self::Tensor>;

    /// Starts the work recorded so far without waiting for it (a GPU submits its encoder; the
    /// CPU has nothing pending).
    fn flush(&self) -> Result<()>;

    /// Ops recorded since the backend was created (GPU: compute dispatches; CPU: kernel calls).
    fn ops_recorded(&self) -> u64;

    /// Copies a tensor back to the host, finishing all work recorded before it.
    fn read(&self, tensor: &Self::Tensor) -> impl Future<Output = Result<Vec<f32>>>;

    /// Starts (with a fresh table) or stops timing each op. Host backends time their calls on
    /// this thread; a GPU times its kernels with timestamp queries, an error where the adapter
    /// has none.
    fn profile(&self, on: bool) -> Result<()> {
        profile_host(on);
        Ok(())
    }

    /// Time per op since profiling started (a GPU finishes its recorded work first); the table
    /// starts over.
    fn take_profile(&self) -> impl Future<Output = Result<OpTimes>> {
        async { Ok(take_host_profile()) }
    }
}

thread_local! {
    /// Kernel calls of the host backends (CPU, reference) on this thread; each synthesis runs on
    /// one thread, so differences count one forward.
    static HOST_OPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Multiply-adds of the CPU backend's convolutions and matrix products on this thread.
    static HOST_MACS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Time per op, by op name (`conv1d`, `lstm`, …), from [`Backend::take_profile`].
pub type OpTimes = std::collections::BTreeMap<&'static str, OpTime>;

#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct OpTime {
    /// Kernel calls (GPU: dispatches, several per op for the LSTM's chunks).
    pub calls: u64,
    pub ms: f64,
}

impl OpTime {
    pub(crate) fn add(&mut self, ms: f64) {
        self.calls += 1;
        self.ms += ms;
    }
}

thread_local! {
    /// Per-op times of the host backends on this thread while profiling.
    static HOST_PROFILE: std::cell::RefCell<Option<OpTimes>> = const { std::cell::RefCell::new(None) };
    /// An op is being timed: ops it calls (the LSTM's input projection) count as its time.
    static TIMING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts one host kernel call; while profiling, times it until the guard drops.
pub(crate) fn host_op(name: &'static str) -> HostOp {
    HOST_OPS.with(|n| n.set(n.get() + 1));
    let outermost = HOST_PROFILE.with(|p| p.borrow().is_some()) && !TIMING.replace(true);
    HostOp { name, start: outermost.then(now_ms) }
}

pub(crate) struct HostOp {
    name: &'static str,
    start: Option<f64>,
}

impl Drop for HostOp {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            let ms = now_ms() - start;
            TIMING.set(false);
            HOST_PROFILE.with(|p| {
                if let Some(times) = p.borrow_mut().as_mut() {
                    times.entry(self.name).or_default().add(ms);
                }
            });
        }
    }
}

/// Starts (a fresh table) or stops timing the host backends' ops on this thread.
pub(crate) fn profile_host(on: bool) {
    HOST_PROFILE.with(|p| *p.borrow_mut() = on.then(OpTimes::new));
}

/// The host ops timed on this thread since profiling started; the table starts over.
pub(crate) fn take_host_profile() -> OpTimes {
    HOST_PROFILE.with(|p| p.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default())
}

/// Wall-clock milliseconds (`Date.now()` in the browser, where `Instant` does not exist).
pub(crate) fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
    }
}

pub(crate) fn host_ops() -> u64 {
    HOST_OPS.with(std::cell::Cell::get)
}

pub(crate) fn count_host_macs(n: usize) {
    HOST_MACS.with(|m| m.set(m.get() + n as u64));
}

/// Multiply-adds the CPU backend's conv1d, linear and conv_transpose1d did on this thread so
/// far (benchmarks divide by time for GFLOP/s).
pub fn host_multiply_adds() -> u64 {
    HOST_MACS.with(std::cell::Cell::get)
}

/// What [`Backend::ada_norm`] normalizes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NormKind {
    /// Each channel over time (`nn.InstanceNorm1d`, biased variance): AdaIN1d.
    Instance,
    /// Each time step over the channels (`nn.LayerNorm` without affine): AdaLayerNorm.
    Layer,
}

/// Stride, zero padding, extra output length and channel groups of a transposed convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeParams {
    pub stride: usize,
    pub padding: usize,
    pub output_padding: usize,
    pub groups: usize,
}

/// Elementwise functions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// GELU with the tanh approximation (transformers' `gelu_new`).
    GeluTanh,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Exp,
    Sin,
}

impl Unary {
    #[inline]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Unary::GeluTanh => {
                let c = (2.0f32 / std::f32::consts::PI).sqrt();
                0.5 * v * (1.0 + (c * (v + 0.044715 * v * v * v)).tanh())
            }
            Unary::LeakyRelu(slope) => {
                if v >= 0.0 {
                    v
                } else {
                    v * slope
                }
            }
            Unary::Sigmoid => 1.0 / (1.0 + (-v).exp()),
            Unary::Tanh => v.tanh(),
            Unary::Exp => v.exp(),
            Unary::Sin => v.sin(),
        }
    }
}

/// One direction of an LSTM layer, PyTorch layout.
pub struct LstmWeights<'w, W> {
    /// `[4 · hidden, in]`, gate blocks i, f, g, o.
    pub w_ih: &'w W,
    /// `[4 · hidden, hidden]`.
    pub w_hh: &'w W,
    /// `[4 · hidden]` each.
    pub b_ih: &'w W,
    pub b_hh: &'w W,
}

/// From `[w_ih, w_hh, b_ih, b_hh]`, the order a checkpoint lists them in.
impl<'w, W> From<&'w [W; 4]> for LstmWeights<'w, W> {
    fn from([w_ih, w_hh, b_ih, b_hh]: &'w [W; 4]) -> Self {
        Self { w_ih, w_hh, b_ih, b_hh }
    }
}

/// `(rows, cols)` of a rank-2 shape, or an error naming the op and operand.
pub(crate) fn rank2(op: &'static str, what: &str, shape: &[usize]) -> Result<(usize, usize)> {
    match *shape {
        [r, c] => Ok((r, c)),
        _ => Err(Error::InvalidArgument { op, reason: format!("{what} must be 2-D, got {shape:?}") }),
    }
}

pub(crate) fn invalid(op: &'static str, reason: String) -> Error {
    Error::InvalidArgument { op, reason }
}

pub(crate) fn format_error(op: &'static str, what: &'static str, expected: &'static str, got: &'static str) -> Error {
    Error::WeightFormat { op, what, expected, got }
}

/// Stride, zero padding (each side) and dilation of a 1-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conv1dParams {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl Default for Conv1dParams {
    fn default() -> Self {
        Self { stride: 1, padding: 0, dilation: 1 }
    }
}

/// Sizes of one conv1d call, validated once and shared by every backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dGeometry {
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
    pub t_in: usize,
    pub t_out: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl Conv1dGeometry {
    /// Checks shapes the way `torch.nn.functional.conv1d` does, with an error
    /// instead of a panic for each way they can disagree.
    pub fn new(
        x_shape: &[usize],
        w_shape: &[usize],
        b_shape: Option<&[usize]>,
        p: Conv1dParams,
    ) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidArgument { op: "conv1d", reason };
        let &[c_in, t_in] = x_shape else {
            return Err(invalid(format!("input must be [channels, time], got {x_shape:?}")));
        };
        let &[c_out, w_c_in, k] = w_shape else {
            return Err(invalid(format!("weight must be [c_out, c_in, kernel], got {w_shape:?}")));
        };
        if w_c_in != c_in {
            return Err(invalid(format!("input has {c_in} channels, weight expects {w_c_in}")));
        }
        if c_in == 0 || t_in == 0 {
            return Err(invalid(format!("empty input {x_shape:?}")));
        }
        if c_out == 0 || k == 0 {
            return Err(invalid(format!("empty weight {w_shape:?}")));
        }
        if p.stride == 0 || p.dilation == 0 {
            return Err(invalid(format!("stride and dilation must be ≥ 1, got {p:?}")));
        }
        if let Some(b_shape) = b_shape {
            if b_shape != [c_out] {
                return Err(invalid(format!("bias must be [{c_out}], got {b_shape:?}")));
            }
        }
        let span = (k - 1).checked_mul(p.dilation).and_then(|s| s.checked_add(1));
        let padded = p.padding.checked_mul(2).and_then(|pp| pp.checked_add(t_in));
        let t_out = match (span, padded) {
            (Some(span), Some(padded)) if padded >= span => (padded - span) / p.stride + 1,
            _ => {
                return Err(invalid(format!(
                    "kernel span (k={k}, dilation={}) exceeds padded input length {t_in} + 2·{}",
                    p.dilation, p.padding
                )))
            }
        };
        Ok(Self { c_in, c_out, k, t_in, t_out, stride: p.stride, padding: p.padding, dilation: p.dilation })
    }

    /// Multiply-adds the convolution performs, for throughput reports.
    pub fn macs(&self) -> usize {
        self.c_out * self.t_out * self.c_in * self.k
    }
}
