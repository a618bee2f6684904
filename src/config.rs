//! Hyper-parameters: the fields of hexgrad's `config.json`, stored in GGUF under `kokoro.*`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gguf::{GgufFile, GgufWriter, MetaArray, MetaValue, ValueType};

/// Every width, count and kernel size the model is built from. Field names follow
/// `config.json` so a config of another Kokoro-shaped model deserializes as is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KokoroConfig {
    pub n_token: usize,
    pub hidden_dim: usize,
    pub style_dim: usize,
    pub n_layer: usize,
    pub max_dur: usize,
    pub dim_in: usize,
    #[serde(default = "default_n_mels")]
    pub n_mels: usize,
    #[serde(default = "default_max_conv_dim")]
    pub max_conv_dim: usize,
    pub text_encoder_kernel_size: usize,
    pub plbert: PlbertConfig,
    pub istftnet: IstftnetConfig,
}

/// The ALBERT (PL-BERT) text model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlbertConfig {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    /// Times the one shared ALBERT layer is applied.
    pub num_hidden_layers: usize,
    /// ALBERT's factorized embedding width (transformers' default when absent).
    #[serde(default = "default_embedding_size")]
    pub embedding_size: usize,
}

/// The ISTFTNet generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IstftnetConfig {
    pub upsample_rates: Vec<usize>,
    pub upsample_kernel_sizes: Vec<usize>,
    pub upsample_initial_channel: usize,
    pub resblock_kernel_sizes: Vec<usize>,
    pub resblock_dilation_sizes: Vec<Vec<usize>>,
    pub gen_istft_n_fft: usize,
    pub gen_istft_hop_size: usize,
}

fn default_n_mels() -> usize {
    80
}
fn default_max_conv_dim() -> usize {
    512
}
fn default_embedding_size() -> usize {
    128
}

impl KokoroConfig {
    /// Kokoro-82M v1.0 (hexgrad/Kokoro-82M `config.json`).
    pub fn kokoro_82m() -> Self {
        Self {
            n_token: 178,
            hidden_dim: 512,
            style_dim: 128,
            n_layer: 3,
            max_dur: 50,
            dim_in: 64,
            n_mels: 80,
            max_conv_dim: 512,
            text_encoder_kernel_size: 5,
            plbert: PlbertConfig {
                hidden_size: 768,
                num_attention_heads: 12,
                intermediate_size: 2048,
                max_position_embeddings: 512,
                num_hidden_layers: 12,
                embedding_size: 128,
            },
            istftnet: IstftnetConfig {
                upsample_rates: vec![10, 6],
                upsample_kernel_sizes: vec![20, 12],
                upsample_initial_channel: 512,
                resblock_kernel_sizes: vec![3, 7, 11],
                resblock_dilation_sizes: vec![vec![1, 3, 5]; 3],
                gen_istft_n_fft: 20,
                gen_istft_hop_size: 5,
            },
        }
    }

    /// Checks what the model's structure needs: non-zero sizes, heads dividing the width, one
    /// dilation list per resblock kernel.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidArgument { op: "config", reason });
        let sizes = [
            ("n_token", self.n_token),
            ("hidden_dim", self.hidden_dim),
            ("style_dim", self.style_dim),
            ("n_layer", self.n_layer),
            ("max_dur", self.max_dur),
            ("text_encoder_kernel_size", self.text_encoder_kernel_size),
            ("plbert.hidden_size", self.plbert.hidden_size),
            ("plbert.num_attention_heads", self.plbert.num_attention_heads),
            ("istftnet.gen_istft_n_fft", self.istftnet.gen_istft_n_fft),
            ("istftnet.gen_istft_hop_size", self.istftnet.gen_istft_hop_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return bad(format!("{name} must be positive"));
        }
        if self.plbert.max_position_embeddings < 3 {
            return bad("plbert.max_position_embeddings must leave room for two boundary tokens and a phoneme".into());
        }
        if !self.plbert.hidden_size.is_multiple_of(self.plbert.num_attention_heads) {
            return bad(format!(
                "plbert.hidden_size {} is not a multiple of num_attention_heads {}",
                self.plbert.hidden_size, self.plbert.num_attention_heads
            ));
        }
        let ist = &self.istftnet;
        if ist.upsample_rates.len() != ist.upsample_kernel_sizes.len() {
            return bad("istftnet: upsample_rates and upsample_kernel_sizes differ in length".into());
        }
        if ist.resblock_kernel_sizes.len() != ist.resblock_dilation_sizes.len() {
            return bad("istftnet: one dilation list per resblock kernel size is needed".into());
        }
        Ok(())
    }

    /// Writes the config as `kokoro.*` metadata.
    pub fn write_gguf(&self, w: &mut GgufWriter) -> Result<()> {
        let u = |v: usize| MetaValue::U32(v as u32);
        let list = |v: &[usize]| MetaValue::Array(MetaArray { elem_type: ValueType::U32, values: v.iter().map(|&x| u(x)).collect() });
        for (key, value) in [
            ("n_token", self.n_token),
            ("hidden_dim", self.hidden_dim),
            ("style_dim", self.style_dim),
            ("n_layer", self.n_layer),
            ("max_dur", self.max_dur),
            ("dim_in", self.dim_in),
            ("n_mels", self.n_mels),
            ("max_conv_dim", self.max_conv_dim),
            ("text_encoder_kernel_size", self.text_encoder_kernel_size),
            ("plbert.hidden_size", self.plbert.hidden_size),
            ("plbert.num_attention_heads", self.plbert.num_attention_heads),
            ("plbert.intermediate_size", self.plbert.intermediate_size),
            ("plbert.max_position_embeddings", self.plbert.max_position_embeddings),
            ("plbert.num_hidden_layers", self.plbert.num_hidden_layers),
            ("plbert.embedding_size", self.plbert.embedding_size),
            ("istftnet.upsample_initial_channel", self.istftnet.upsample_initial_channel),
            ("istftnet.gen_istft_n_fft", self.istftnet.gen_istft_n_fft),
            ("istftnet.gen_istft_hop_size", self.istftnet.gen_istft_hop_size),
        ] {
            w.set(&format!("kokoro.{key}"), u(value))?;
        }
        let ist = &self.istftnet;
        w.set("kokoro.istftnet.upsample_rates", list(&ist.upsample_rates))?;
        w.set("kokoro.istftnet.upsample_kernel_sizes", list(&ist.upsample_kernel_sizes))?;
        w.set("kokoro.istftnet.resblock_kernel_sizes", list(&ist.resblock_kernel_sizes))?;
        // Flattened, one row per kernel size: ggml's own reader refuses arrays of arrays.
        let flat: Vec<usize> = ist.resblock_dilation_sizes.iter().flatten().copied().collect();
        w.set("kokoro.istftnet.resblock_dilation_sizes", list(&flat))?;
        Ok(())
    }

    /// Reads the config written by [`KokoroConfig::write_gguf`].
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let get = |key: &str| file.get_u32(&format!("kokoro.{key}")).map(|v| v as usize);
        let list = |key: &str| -> Result<Vec<usize>> {
            let key = format!("kokoro.{key}");
            let value = file.get(&key).ok_or_else(|| Error::MissingMetadata { key: key.clone() })?;
            value
                .as_array()
                .and_then(|a| a.values.iter().map(|v| v.as_u64().map(|n| n as usize)).collect::<Option<Vec<_>>>())
                .ok_or(Error::MetadataType { key, expected: "array of integers", got: value.value_type().name() })
        };
        let kernels = list("istftnet.resblock_kernel_sizes")?;
        let flat = list("istftnet.resblock_dilation_sizes")?;
        if kernels.is_empty() || flat.len() % kernels.len() != 0 {
            return Err(Error::InvalidArgument {
                op: "config",
                reason: format!("{} dilations do not split into {} resblocks", flat.len(), kernels.len()),
            });
        }
        let config = Self {
            n_token: get("n_token")?,
            hidden_dim: get("hidden_dim")?,
            style_dim: get("style_dim")?,
            n_layer: get("n_layer")?,
            max_dur: get("max_dur")?,
            dim_in: get("dim_in")?,
            n_mels: get("n_mels")?,
            max_conv_dim: get("max_conv_dim")?,
            text_encoder_kernel_size: get("text_encoder_kernel_size")?,
            plbert: PlbertConfig {
                hidden_size: get("plbert.hidden_size")?,
                num_attention_heads: get("plbert.num_attention_heads")?,
                intermediate_size: get("plbert.intermediate_size")?,
                max_position_embeddings: get("plbert.max_position_embeddings")?,
                num_hidden_layers: get("plbert.num_hidden_layers")?,
                embedding_size: get("plbert.embedding_size")?,
            },
            istftnet: IstftnetConfig {
                upsample_rates: list("istftnet.upsample_rates")?,
                upsample_kernel_sizes: list("istftnet.upsample_kernel_sizes")?,
                upsample_initial_channel: get("istftnet.upsample_initial_channel")?,
                resblock_dilation_sizes: flat.chunks(flat.len() / kernels.len()).map(<[usize]>::to_vec).collect(),
                resblock_kernel_sizes: kernels,
                gen_istft_n_fft: get("istftnet.gen_istft_n_fft")?,
                gen_istft_hop_size: get("istftnet.gen_istft_hop_size")?,
            },
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_gguf() {
        let mut config = KokoroConfig::kokoro_82m();
        config.istftnet.resblock_dilation_sizes = vec![vec![1, 3], vec![2, 4], vec![5, 7]];
        let mut w = GgufWriter::new();
        config.write_gguf(&mut w).unwrap();
        let bytes = w.to_bytes().unwrap();
        assert_eq!(KokoroConfig::from_gguf(&GgufFile::parse(&bytes).unwrap()).unwrap(), config);
    }

    #[test]
    fn official_config_json_deserializes() {
        // hexgrad/Kokoro-82M config.json, less the vocab (which goes to tokenizer.ggml.tokens).
        let json = r#"{"istftnet": {"upsample_kernel_sizes": [20, 12], "upsample_rates": [10, 6],
            "gen_istft_hop_size": 5, "gen_istft_n_fft": 20, "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
            "resblock_kernel_sizes": [3, 7, 11], "upsample_initial_channel": 512},
            "dim_in": 64, "dropout": 0.2, "hidden_dim": 512, "max_conv_dim": 512, "max_dur": 50, "multispeaker": true,
            "n_layer": 3, "n_mels": 80, "n_token": 178, "style_dim": 128, "text_encoder_kernel_size": 5,
            "plbert": {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 2048,
            "max_position_embeddings": 512, "num_hidden_layers": 12, "dropout": 0.1}}"#;
        let config: KokoroConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config, KokoroConfig::kokoro_82m());
    }

    #[test]
    fn inconsistent_configs_are_refused() {
        let mut c = KokoroConfig::kokoro_82m();
        c.plbert.num_attention_heads = 7;
        assert!(c.validate().is_err());
        let mut c = KokoroConfig::kokoro_82m();
        c.istftnet.resblock_dilation_sizes.pop();
        assert!(c.validate().is_err());
        let mut c = KokoroConfig::kokoro_82m();
        c.plbert.max_position_embeddings = 2;
        assert!(c.validate().is_err());
    }
}
