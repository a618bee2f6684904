//! `TextEncoder`: token embedding, `n_layer` × (weight-normed conv → channel LayerNorm →
//! LeakyReLU 0.2), then a bidirectional LSTM. Gives the acoustic text features `t_en`.

use crate::config::KokoroConfig;
use super::layers::{load, BiLstm, Conv1d, LayerNorm};
use super::weights::WeightSource;
use crate::backend::{Backend, Conv1dParams, Unary};
use crate::error::Result;

pub struct TextEncoder<B: Backend> {
    embedding: B::Weight,
    cnn: Vec<(Conv1d<B>, LayerNorm<B>)>,
    lstm: BiLstm<B>,
}

impl<B: Backend> TextEncoder<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &KokoroConfig) -> Result<Self> {
        let (c, k) = (cfg.hidden_dim, cfg.text_encoder_kernel_size);
        let same = Conv1dParams { stride: 1, padding: (k - 1) / 2, dilation: 1 };
        let cnn = (0..cfg.n_layer)
            .map(|i| {
                let conv = Conv1d::load_normed(b, src, &format!("text_encoder.cnn.{i}.0"), [c, c, k], true, same)?;
                let norm = LayerNorm::load(b, src, &format!("text_encoder.cnn.{i}.1"), ("gamma", "beta"), c, 1e-5)?;
                Ok((conv, norm))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            embedding: load(b, src, "text_encoder.embedding.weight", &[cfg.n_token, c])?,
            cnn,
            lstm: BiLstm::load(b, src, "text_encoder.lstm", c, c / 2)?,
        })
    }

    /// Token ids → `t_en [hidden, t]`.
    pub fn forward(&self, b: &B, ids: &[u32]) -> Result<B::Tensor> {
        let mut x = b.embedding(&self.embedding, ids)?; // [c, t]
        for (conv, norm) in &self.cnn {
            x = b.unary(&norm.forward(b, &conv.forward(b, &x)?)?, Unary::LeakyRelu(0.2))?;
        }
        self.lstm.forward(b, &x)
    }
}
