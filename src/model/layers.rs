//! Building blocks shared by the Kokoro modules: PyTorch layers over the backend op set.

use super::weights::WeightSource;
use crate::backend::{Backend, Conv1dParams, ConvTransposeGeometry, ConvTransposeParams, NormKind};
use crate::error::Result;

/// Loads `name` with `shape` onto the backend.
pub fn load<B: Backend>(b: &B, src: &dyn WeightSource, name: &str, shape: &[usize]) -> Result<B::Weight> {
    b.load_weight(&src.tensor(name, shape)?)
}

/// `nn.Linear(inp, out)`: `{prefix}.weight [out, inp]`, `{prefix}.bias [out]`.
pub struct Linear<B: Backend> {
    w: B::Weight,
    bias: B::Weight,
}

impl<B: Backend> Linear<B> {
    pub fn load(b: &B, src: &dyn WeightSource, prefix: &str, inp: usize, out: usize) -> Result<Self> {
        Ok(Self { w: load(b, src, &format!("{prefix}.weight"), &[out, inp])?, bias: load(b, src, &format!("{prefix}.bias"), &[out])? })
    }

    /// `[inp, t]` → `[out, t]`.
    pub fn forward(&self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        b.linear(x, &self.w, Some(&self.bias))
    }
}

/// AdaIN1d (`kind = Instance`) and AdaLayerNorm (`Layer`): `[γ, β] = fc(style)`, then the
/// normalized `x [channels, t]` times `(1 + γ)` plus `β`, one fused op.
pub struct AdaNorm<B: Backend> {
    fc: Linear<B>,
    kind: NormKind,
}

impl<B: Backend> AdaNorm<B> {
    /// `{prefix}.fc`: `Linear(style, 2 · channels)`.
    pub fn load(b: &B, src: &dyn WeightSource, prefix: &str, kind: NormKind, style: usize, channels: usize) -> Result<Self> {
        Ok(Self { fc: Linear::load(b, src, &format!("{prefix}.fc"), style, 2 * channels)?, kind })
    }

    pub fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        b.ada_norm(x, &self.fc.forward(b, style)?, self.kind, 1e-5)
    }
}

/// `nn.LayerNorm(c)` (or Kokoro's channel-first `LayerNorm` with `gamma`/`beta`) over `[c, t]`.
pub struct LayerNorm<B: Backend> {
    gamma: B::Weight,
    beta: B::Weight,
    eps: f32,
}

impl<B: Backend> LayerNorm<B> {
    /// `{prefix}.{gain}`, `{prefix}.{bias}`: ("weight", "bias") for PyTorch's, ("gamma", "beta")
    /// for Kokoro's own.
    pub fn load(b: &B, src: &dyn WeightSource, prefix: &str, (gain, bias): (&str, &str), c: usize, eps: f32) -> Result<Self> {
        Ok(Self { gamma: load(b, src, &format!("{prefix}.{gain}"), &[c])?, beta: load(b, src, &format!("{prefix}.{bias}"), &[c])?, eps })
    }

    pub fn forward(&self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        b.layer_norm(x, &self.gamma, &self.beta, self.eps)
    }
}

/// A bidirectional 1-layer `nn.LSTM(inp, hidden)`: `[inp, t]` → `[2 · hidden, t]`
/// (forward states, then backward).
pub struct BiLstm<B: Backend> {
    /// (w_ih, w_hh, b_ih, b_hh) for the forward and the reverse direction.
    directions: [[B::Weight; 4]; 2],
}

impl<B: Backend> BiLstm<B> {
    pub fn load(b: &B, src: &dyn WeightSource, prefix: &str, inp: usize, hidden: usize) -> Result<Self> {
        let direction = |suffix: &str| -> Result<[B::Weight; 4]> {
            Ok([
                load(b, src, &format!("{prefix}.weight_ih_l0{suffix}"), &[4 * hidden, inp])?,
                load(b, src, &format!("{prefix}.weight_hh_l0{suffix}"), &[4 * hidden, hidden])?,
                load(b, src, &format!("{prefix}.bias_ih_l0{suffix}"), &[4 * hidden])?,
                load(b, src, &format!("{prefix}.bias_hh_l0{suffix}"), &[4 * hidden])?,
            ])
        };
        Ok(Self { directions: [direction("")?, direction("_reverse")?] })
    }

    pub fn forward(&self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        let [forward, reverse] = &self.directions;
        b.bilstm(x, &forward.into(), &reverse.into())
    }
}

/// An `nn.Conv1d`, plain or weight-normed (folded at load).
pub struct Conv1d<B: Backend> {
    w: B::Weight,
    bias: Option<B::Weight>,
    params: Conv1dParams,
}

impl<B: Backend> Conv1d<B> {
    /// `shape` is `[c_out, c_in, k]`; `bias` whether the layer has one.
    pub fn load_normed(b: &B, src: &dyn WeightSource, prefix: &str, shape: [usize; 3], bias: bool, params: Conv1dParams) -> Result<Self> {
        let w = b.load_weight(&src.normed(prefix, &shape)?)?;
        let bias = bias.then(|| load(b, src, &format!("{prefix}.bias"), &[shape[0]])).transpose()?;
        Ok(Self { w, bias, params })
    }

    /// A layer without weight norm: `{prefix}.weight [c_out, c_in, k]`, `{prefix}.bias`.
    pub fn load(b: &B, src: &dyn WeightSource, prefix: &str, shape: [usize; 3], params: Conv1dParams) -> Result<Self> {
        Ok(Self {
            w: load(b, src, &format!("{prefix}.weight"), &shape)?,
            bias: Some(load(b, src, &format!("{prefix}.bias"), &[shape[0]])?),
            params,
        })
    }

    pub fn forward(&self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        b.conv1d(x, &self.w, self.bias.as_ref(), self.params)
    }
}

/// An `nn.ConvTranspose1d`, weight-normed (folded at load): `weight [c_in, c_out / groups, k]`.
pub struct ConvTranspose1d<B: Backend> {
    w: B::Weight,
    bias: B::Weight,
    params: ConvTransposeParams,
}

impl<B: Backend> ConvTranspose1d<B> {
    /// `{prefix}.weight` (weight-normed) and `{prefix}.bias`; the shape must fit `params`
    /// (channels divisible by groups, output padding below the stride), checked here.
    pub fn load_normed(b: &B, src: &dyn WeightSource, prefix: &str, shape: [usize; 3], params: ConvTransposeParams) -> Result<Self> {
        let c_out = shape[1] * params.groups;
        ConvTransposeGeometry::new(&[shape[0], 1], &shape, Some(&[c_out]), params)?;
        Ok(Self { w: b.load_weight(&src.normed(prefix, &shape)?)?, bias: load(b, src, &format!("{prefix}.bias"), &[c_out])?, params })
    }

    pub fn forward(&self, b: &B, x: &B::Tensor) -> Result<B::Tensor> {
        b.conv_transpose1d(x, &self.w, Some(&self.bias), self.params)
    }
}
