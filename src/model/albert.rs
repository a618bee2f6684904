//! PL-BERT: HuggingFace `AlbertModel` as Kokoro's `CustomAlbert` uses it (`last_hidden_state`;
//! one layer's weights applied `num_hidden_layers` times; post-LayerNorm; gelu_new).

use crate::config::PlbertConfig;
use super::layers::{load, LayerNorm, Linear};
use super::weights::WeightSource;
use crate::backend::{Backend, Unary};
use crate::error::{Error, Result};

const EPS: f32 = 1e-12;

pub struct Albert<B: Backend> {
    word: B::Weight,
    position: B::Weight,
    token_type: B::Weight,
    embed_norm: LayerNorm<B>,
    embed_to_hidden: Linear<B>,
    layer: AlbertLayer<B>,
    cfg: PlbertConfig,
}

struct AlbertLayer<B: Backend> {
    query: Linear<B>,
    key: Linear<B>,
    value: Linear<B>,
    dense: Linear<B>,
    attention_norm: LayerNorm<B>,
    ffn: Linear<B>,
    ffn_output: Linear<B>,
    output_norm: LayerNorm<B>,
}

impl<B: Backend> Albert<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &PlbertConfig, n_token: usize) -> Result<Self> {
        let (e, h) = (cfg.embedding_size, cfg.hidden_size);
        let p = "bert.embeddings";
        let l = "bert.encoder.albert_layer_groups.0.albert_layers.0";
        let lin = |name: &str, inp, out| Linear::load(b, src, &format!("{l}.{name}"), inp, out);
        let norm = |prefix: &str, c| LayerNorm::load(b, src, prefix, ("weight", "bias"), c, EPS);
        // Only row 0 is used (token type ids are all zero); TTS.cpp's files keep only that row.
        let token_type_name = format!("{p}.token_type_embeddings.weight");
        let rows = if src.has(&token_type_name, &[1, e]) { 1 } else { 2 };
        let token_type = load(b, src, &token_type_name, &[rows, e])?;
        Ok(Self {
            word: load(b, src, &format!("{p}.word_embeddings.weight"), &[n_token, e])?,
            position: load(b, src, &format!("{p}.position_embeddings.weight"), &[cfg.max_position_embeddings, e])?,
            token_type,
            embed_norm: norm(&format!("{p}.LayerNorm"), e)?,
            embed_to_hidden: Linear::load(b, src, "bert.encoder.embedding_hidden_mapping_in", e, h)?,
            layer: AlbertLayer {
                query: lin("attention.query", h, h)?,
                key: lin("attention.key", h, h)?,
                value: lin("attention.value", h, h)?,
                dense: lin("attention.dense", h, h)?,
                attention_norm: norm(&format!("{l}.attention.LayerNorm"), h)?,
                ffn: lin("ffn", h, cfg.intermediate_size)?,
                ffn_output: lin("ffn_output", cfg.intermediate_size, h)?,
                output_norm: norm(&format!("{l}.full_layer_layer_norm"), h)?,
            },
            cfg: cfg.clone(),
        })
    }

    /// Token ids (with the boundary tokens) → `[hidden, t]`.
    pub fn forward(&self, b: &B, ids: &[u32]) -> Result<B::Tensor> {
        if ids.len() > self.cfg.max_position_embeddings {
            return Err(Error::InvalidArgument {
                op: "albert",
                reason: format!("{} tokens exceed the {} positions", ids.len(), self.cfg.max_position_embeddings),
            });
        }
        let positions: Vec<u32> = (0..ids.len() as u32).collect();
        let x = b.add(&b.embedding(&self.word, ids)?, &b.embedding(&self.position, &positions)?)?;
        let x = b.add(&x, &b.embedding(&self.token_type, &vec![0; ids.len()])?)?;
        let mut x = self.embed_to_hidden.forward(b, &self.embed_norm.forward(b, &x)?)?; // [h, t]
        let l = &self.layer;
        for _ in 0..self.cfg.num_hidden_layers {
            let (q, k, v) = (l.query.forward(b, &x)?, l.key.forward(b, &x)?, l.value.forward(b, &x)?);
            let context = b.attention(&q, &k, &v, self.cfg.num_attention_heads)?;
            x = l.attention_norm.forward(b, &b.add(&x, &l.dense.forward(b, &context)?)?)?;
            let ffn = l.ffn_output.forward(b, &b.unary(&l.ffn.forward(b, &x)?, Unary::GeluTanh)?)?; // [h, t]
            x = l.output_norm.forward(b, &b.add(&x, &ffn)?)?;
        }
        Ok(x)
    }
}
