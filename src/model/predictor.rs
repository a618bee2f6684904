//! The prosody predictor (`modules.py`): `DurationEncoder` (biLSTMs with AdaLayerNorm, style
//! concatenated to every step) and the duration head. F0/N branches come next.

use super::config::KokoroConfig;
use super::layers::{BiLstm, Linear};
use super::weights::WeightSource;
use crate::backend::Backend;
use crate::error::Result;

/// `AdaLayerNorm`: LayerNorm without affine, then `(1 + γ) · x + β` with `[γ, β] = fc(style)`.
struct AdaLayerNorm<B: Backend> {
    fc: Linear<B>,
    channels: usize,
}

impl<B: Backend> AdaLayerNorm<B> {
    fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let h = self.fc.forward(b, style)?; // [2c, 1]
        let (gamma, beta) = (b.slice(&h, 0, self.channels)?, b.slice(&h, self.channels, 2 * self.channels)?);
        b.modulate(&b.layer_norm(x, None, None, 1e-5)?, &gamma, &beta)
    }
}

/// `predictor.text_encoder`: `[hidden, t]` text features + prosody style → `d [hidden + style, t]`.
pub struct DurationEncoder<B: Backend> {
    blocks: Vec<(BiLstm<B>, AdaLayerNorm<B>)>,
}

impl<B: Backend> DurationEncoder<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &KokoroConfig) -> Result<Self> {
        let (d, s) = (cfg.hidden_dim, cfg.style_dim);
        let p = "predictor.text_encoder.lstms";
        let blocks = (0..cfg.n_layer)
            .map(|i| {
                let lstm = BiLstm::load(b, src, &format!("{p}.{}", 2 * i), d + s, d / 2)?;
                let norm = AdaLayerNorm { fc: Linear::load(b, src, &format!("{p}.{}.fc", 2 * i + 1), s, 2 * d)?, channels: d };
                Ok((lstm, norm))
            })
            .collect::<Result<_>>()?;
        Ok(Self { blocks })
    }

    /// `x [hidden, t]`, `style [style, 1]` → `[hidden + style, t]`.
    pub fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let t = b.shape(x)[1];
        let s = b.broadcast(style, t)?;
        let mut x = b.concat(x, &s)?;
        for (lstm, norm) in &self.blocks {
            x = b.concat(&norm.forward(b, &lstm.forward(b, &x)?, style)?, &s)?;
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
        .map(|j| (0..max_dur).map(|r| 1.0 / (1.0 + (-logits[r * t + j]).exp())).sum::<f32>() / speed)
        .collect();
    let frames = float.iter().map(|d| d.round_ties_even().max(1.0) as usize).collect();
    (float, frames)
}
