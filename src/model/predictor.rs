//! The prosody predictor (`modules.py`): `DurationEncoder` (biLSTMs with AdaLayerNorm, style
//! concatenated to every step), the duration head, and the F0 / energy (N) branches.

use crate::config::KokoroConfig;
use super::decoder::AdainResBlk1d;
use super::layers::{AdaNorm, BiLstm, Conv1d, Linear};
use super::weights::WeightSource;
use crate::backend::{Backend, Conv1dParams, NormKind, Unary};
use crate::error::Result;

/// `predictor.text_encoder`: `[hidden, t]` text features + prosody style → `d [hidden + style, t]`.
pub struct DurationEncoder<B: Backend> {
    blocks: Vec<(BiLstm<B>, AdaNorm<B>)>,
}

impl<B: Backend> DurationEncoder<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &KokoroConfig) -> Result<Self> {
        let (d, s) = (cfg.hidden_dim, cfg.style_dim);
        let p = "predictor.text_encoder.lstms";
        let blocks = (0..cfg.n_layer)
            .map(|i| {
                let lstm = BiLstm::load(b, src, &format!("{p}.{}", 2 * i), d + s, d / 2)?;
                let norm = AdaNorm::load(b, src, &format!("{p}.{}", 2 * i + 1), NormKind::Layer, s, d)?;
                Ok((lstm, norm))
            })
            .collect::<Result<_>>()?;
        Ok(Self { blocks })
    }

    /// `x [hidden, t]`, `style [style, 1]` → `[hidden + style, t]`.
    pub fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let t = b.shape(x)[1];
        let s = b.broadcast(style, t)?;
        let mut x = b.concat(&[x, &s])?;
        for (lstm, norm) in &self.blocks {
            x = b.concat(&[&norm.forward(b, &lstm.forward(b, &x)?, style)?, &s])?;
        }
        Ok(x)
    }
}

/// The duration head: biLSTM over `d`, then a projection to `max_dur` logits per token.
pub struct DurationHead<B: Backend> {
    lstm: BiLstm<B>,
    proj: Linear<B>,
}

impl<B: Backend> DurationHead<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &KokoroConfig) -> Result<Self> {
        let (d, s) = (cfg.hidden_dim, cfg.style_dim);
        Ok(Self {
            lstm: BiLstm::load(b, src, "predictor.lstm", d + s, d / 2)?,
            proj: Linear::load(b, src, "predictor.duration_proj.linear_layer", d, cfg.max_dur)?,
        })
    }

    /// `d [hidden + style, t]` → logits `[max_dur, t]`.
    pub fn forward(&self, b: &B, d: &B::Tensor) -> Result<B::Tensor> {
        self.proj.forward(b, &self.lstm.forward(b, d)?)
    }
}

/// Frames per token from the duration logits `[max_dur, t]` (row-major, as read back):
/// `Σ sigmoid / speed`, rounded half to even like `torch.round`, at least 1.
pub fn durations(logits: &[f32], max_dur: usize, t: usize, speed: f32) -> (Vec<f32>, Vec<usize>) {
    let float: Vec<f32> = (0..t)
        .map(|j| (0..max_dur).map(|r| Unary::Sigmoid.apply(logits[r * t + j])).sum::<f32>() / speed)
        .collect();
    let frames = float.iter().map(|d| d.round_ties_even().max(1.0) as usize).collect();
    (float, frames)
}

/// One prosody curve: three AdainResBlk1d (the second upsamples ×2), then a 1×1 projection.
struct Branch<B: Backend> {
    blocks: [AdainResBlk1d<B>; 3],
    proj: Conv1d<B>,
}

impl<B: Backend> Branch<B> {
    fn load(b: &B, src: &dyn WeightSource, name: &str, d: usize, s: usize) -> Result<Self> {
        let p = |i| format!("predictor.{name}.{i}");
        Ok(Self {
            blocks: [
                AdainResBlk1d::load(b, src, &p(0), s, d, d, false)?,
                AdainResBlk1d::load(b, src, &p(1), s, d, d / 2, true)?,
                AdainResBlk1d::load(b, src, &p(2), s, d / 2, d / 2, false)?,
            ],
            proj: Conv1d::load(b, src, &format!("predictor.{name}_proj"), [1, d / 2, 1], Conv1dParams::default())?,
        })
    }

    fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let [first, second, third] = &self.blocks;
        let y = third.forward(b, &second.forward(b, &first.forward(b, x, style)?, style)?, style)?;
        self.proj.forward(b, &y)
    }
}

/// `F0Ntrain`: the shared biLSTM over the aligned features, then the F0 and energy (N) curves,
/// `[1, 2·frames]` each.
pub struct F0N<B: Backend> {
    shared: BiLstm<B>,
    f0: Branch<B>,
    n: Branch<B>,
}

impl<B: Backend> F0N<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &KokoroConfig) -> Result<Self> {
        let (d, s) = (cfg.hidden_dim, cfg.style_dim);
        Ok(Self {
            shared: BiLstm::load(b, src, "predictor.shared", d + s, d / 2)?,
            f0: Branch::load(b, src, "F0", d, s)?,
            n: Branch::load(b, src, "N", d, s)?,
        })
    }

    /// Aligned `en [hidden + style, frames]` and the prosody style → (F0, N).
    pub fn forward(&self, b: &B, en: &B::Tensor, style: &B::Tensor) -> Result<(B::Tensor, B::Tensor)> {
        let x = self.shared.forward(b, en)?; // [hidden, frames]
        Ok((self.f0.forward(b, &x, style)?, self.n.forward(b, &x, style)?))
    }
}
