//! TTS.cpp's Kokoro GGUF layout (`Kokoro_espeak.gguf`, `Kokoro_no_espeak_Q4.gguf`, …) read as
//! tritone's: tensor names mapped to the reference `state_dict` names, split tensors joined,
//! metadata turned into a [`KokoroConfig`].
//!
//! What TTS.cpp's converter changed, and how it is undone here:
//! - LSTM weights are split per gate: `weights.{0,2,4,6}` are `weight_ih_l0`'s i, f, g, o rows,
//!   the odd ones `weight_hh_l0`'s; `biases.*` likewise; `reverse_*` the backward direction.
//!   Joined by appending rows, which is appending bytes: each gate is a whole number of rows,
//!   so quantized gates join without decoding.
//! - AdaIN / AdaLayerNorm `fc` layers are split into `gamma_*` (first half of the rows) and
//!   `beta_*` (second half). Joined the same way.
//! - Weight norm is already folded (TTS.cpp stores `g·v/‖v‖` as the weight).
//! - ALBERT's two layer norms have swapped names: `attn_norm` is `full_layer_layer_norm` (after
//!   the FFN), `ffn_norm` is `attention.LayerNorm`.
//! - Only row 0 of `token_type_embeddings` is stored (the only one Kokoro uses): it becomes a
//!   `[1, embedding]` tensor. The unused ALBERT pooler is absent.
//! - Voices are `kokoro.voice_tensors.{name}` `[510, 256]`; they become `voices.{name}`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::gguf::{GgmlType, GgufFile, GgufWriter, MetaValue, TensorInfo};
use crate::error::{Error, Result};
use crate::config::{IstftnetConfig, KokoroConfig, PlbertConfig};

const PREFIX: &str = "kokoro.";

/// A tensor under its tritone name, in the file's storage format.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedTensor<'a> {
    pub name: String,
    /// GGUF order (`ne[0]` fastest).
    pub ne: Vec<u64>,
    pub ggml_type: GgmlType,
    pub data: Cow<'a, [u8]>,
}

/// A TTS.cpp Kokoro file in tritone's terms.
#[derive(Clone, Debug)]
pub struct Translated<'a> {
    pub config: KokoroConfig,
    /// Vocabulary, indexed by token id (`""` for unused ids).
    pub tokens: Vec<String>,
    pub voices: Vec<String>,
    pub tensors: Vec<MappedTensor<'a>>,
}

/// Whether `file` uses TTS.cpp's Kokoro layout (its tensors live under `kokoro.`).
pub fn is_ttscpp_kokoro(file: &GgufFile) -> bool {
    file.get_str("general.architecture").is_ok_and(|a| a == "kokoro")
        && file.tensors().iter().any(|t| t.name.starts_with(PREFIX))
}

fn layout_error(reason: String) -> Error {
    Error::InvalidArgument { op: "TTS.cpp Kokoro layout", reason }
}

/// Where a TTS.cpp tensor goes: tritone name, which part of it, of how many parts.
#[derive(Debug, PartialEq)]
struct Target {
    name: String,
    part: usize,
    parts: usize,
}

fn whole(name: String) -> Option<Target> {
    Some(Target { name, part: 0, parts: 1 })
}

/// `{gamma|beta}_{weight|bias}` → `fc.{weight|bias}`, gamma rows first.
fn adain_fc(prefix: &str, field: &str) -> Option<Target> {
    let (half, kind) = field.split_once('_')?;
    let part = match half {
        "gamma" => 0,
        "beta" => 1,
        _ => return None,
    };
    matches!(kind, "weight" | "bias").then(|| Target { name: format!("{prefix}.fc.{kind}"), part, parts: 2 })
}

/// `{weights|biases|reverse_weights|reverse_biases}.{g}` of one LSTM: even g input-to-hidden,
/// odd g hidden-to-hidden, gate g/2 in PyTorch's i, f, g, o order.
fn lstm(prefix: &str, rest: &[&str]) -> Option<Target> {
    let [kind, gate] = rest else { return None };
    let gate: usize = gate.parse().ok().filter(|&g| g < 8)?;
    let (what, reverse) = match *kind {
        "weights" => ("weight", ""),
        "biases" => ("bias", ""),
        "reverse_weights" => ("weight", "_reverse"),
        "reverse_biases" => ("bias", "_reverse"),
        _ => return None,
    };
    let source = if gate.is_multiple_of(2) { "ih" } else { "hh" };
    Some(Target { name: format!("{prefix}.{what}_{source}_l0{reverse}"), part: gate / 2, parts: 4 })
}

/// AdainResBlk1d fields: `conv1_weight`, `conv1x1_weight`, `pool_bias`, `norm1_gamma_weight`…
fn adain_resblock(prefix: &str, field: &str) -> Option<Target> {
    for norm in ["norm1", "norm2"] {
        if let Some(rest) = field.strip_prefix(norm).and_then(|f| f.strip_prefix('_')) {
            return adain_fc(&format!("{prefix}.{norm}"), rest);
        }
    }
    let (module, kind) = field.rsplit_once('_')?;
    if !(matches!(module, "conv1" | "conv2" | "conv1x1" | "pool") && matches!(kind, "weight" | "bias")) {
        return None;
    }
    whole(format!("{prefix}.{module}.{kind}"))
}

/// AdaINResBlock1 (generator) field of sub-block j: `convs1_weight`, `alpha2`, `gamma1_bias`…
fn generator_resblock(prefix: &str, j: &str, field: &str) -> Option<Target> {
    if let Some(k) = field.strip_prefix("alpha") {
        return matches!(k, "1" | "2").then(|| format!("{prefix}.alpha{k}.{j}")).and_then(whole);
    }
    if let Some((module, kind)) = field.split_once('_') {
        if let Some(k) = module.strip_prefix("convs").filter(|k| matches!(*k, "1" | "2")) {
            return matches!(kind, "weight" | "bias").then(|| format!("{prefix}.convs{k}.{j}.{kind}")).and_then(whole);
        }
        let (half, k) = module.split_at(module.len().saturating_sub(1));
        if matches!(half, "gamma" | "beta") && matches!(k, "1" | "2") {
            return adain_fc(&format!("{prefix}.adain{k}.{j}"), &format!("{half}_{kind}"));
        }
    }
    None
}

fn albert_layer(layer: &str, field: &str) -> Option<Target> {
    let (module, kind) = match field.strip_suffix("_bias") {
        Some(m) => (m, "bias"),
        None => (field, "weight"),
    };
    let module = match module {
        "q" => "attention.query",
        "k" => "attention.key",
        "v" => "attention.value",
        "o" => "attention.dense",
        "attn_norm" => "full_layer_layer_norm",
        "ffn_norm" => "attention.LayerNorm",
        "ffn" => "ffn",
        "ffn_out" => "ffn_output",
        _ => return None,
    };
    whole(format!("bert.encoder.albert_layer_groups.0.albert_layers.{layer}.{module}.{kind}"))
}

/// Splits `x_weight` / `x_bias` into (`x`, kind).
fn suffixed(field: &str) -> Option<(&str, &str)> {
    field.rsplit_once('_').filter(|(_, k)| matches!(*k, "weight" | "bias"))
}

/// The tritone target of one TTS.cpp tensor name (without the `kokoro.` prefix).
fn target(name: &str) -> Option<Target> {
    let p: Vec<&str> = name.split('.').collect();
    match p.as_slice() {
        ["albert", "token_embd"] => whole("bert.embeddings.word_embeddings.weight".into()),
        ["albert", "position_embd"] => whole("bert.embeddings.position_embeddings.weight".into()),
        ["albert", "token_type_embd"] => whole("bert.embeddings.token_type_embeddings.weight".into()),
        ["albert", "norm"] => whole("bert.embeddings.LayerNorm.weight".into()),
        ["albert", "norm_bias"] => whole("bert.embeddings.LayerNorm.bias".into()),
        ["albert", "embd"] => whole("bert.encoder.embedding_hidden_mapping_in.weight".into()),
        ["albert", "embd_bias"] => whole("bert.encoder.embedding_hidden_mapping_in.bias".into()),
        ["albert", "layer", layer, field] => albert_layer(layer, field),

        ["duration_predictor", "encode"] => whole("bert_encoder.weight".into()),
        ["duration_predictor", "encode_bias"] => whole("bert_encoder.bias".into()),
        ["duration_predictor", "layers", i, "lstm", "0", rest @ ..] => lstm(&format!("predictor.text_encoder.lstms.{i}"), rest),
        ["duration_predictor", "layers", i, field] => adain_fc(&format!("predictor.text_encoder.lstms.{i}"), field),
        ["duration_predictor", "duration_lstm", "0", rest @ ..] => lstm("predictor.lstm", rest),
        ["duration_predictor", "shared_lstm", "0", rest @ ..] => lstm("predictor.shared", rest),
        ["duration_predictor", "duration_proj"] => whole("predictor.duration_proj.linear_layer.weight".into()),
        ["duration_predictor", "duration_proj_bias"] => whole("predictor.duration_proj.linear_layer.bias".into()),
        ["duration_predictor", blocks, b, field] => {
            let module = match *blocks {
                "f0_blocks" => "F0",
                "n_blocks" => "N",
                _ => return None,
            };
            adain_resblock(&format!("predictor.{module}.{b}"), field)
        }
        ["duration_predictor", field] => {
            let (module, kind) = field.rsplit_once('_')?;
            let module = match module {
                "f0_proj" => "F0_proj",
                "n_proj" => "N_proj",
                _ => return None,
            };
            let kind = match kind {
                "kernel" => "weight",
                "bias" => "bias",
                _ => return None,
            };
            whole(format!("predictor.{module}.{kind}"))
        }

        ["text_encoder", "embedding_weight"] => whole("text_encoder.embedding.weight".into()),
        ["text_encoder", "layers", i, kind @ ("weight" | "bias")] => whole(format!("text_encoder.cnn.{i}.0.{kind}")),
        ["text_encoder", "layers", i, kind @ ("gamma" | "beta")] => whole(format!("text_encoder.cnn.{i}.1.{kind}")),
        ["text_encoder", "lstm", "0", rest @ ..] => lstm("text_encoder.lstm", rest),

        ["decoder", "encoder_block", field] => adain_resblock("decoder.encode", field),
        ["decoder", "decoder_blocks", b, field] => adain_resblock(&format!("decoder.decode.{b}"), field),
        ["decoder", "generator", "m_source_weight"] => whole("decoder.generator.m_source.l_linear.weight".into()),
        ["decoder", "generator", "m_source_bias"] => whole("decoder.generator.m_source.l_linear.bias".into()),
        ["decoder", "generator", "noise_blocks", i, field] => {
            let (module, kind) = suffixed(field)?;
            (module == "conv").then(|| format!("decoder.generator.noise_convs.{i}.{kind}")).and_then(whole)
        }
        ["decoder", "generator", "noise_blocks", i, "resblock", j, field] => {
            generator_resblock(&format!("decoder.generator.noise_res.{i}"), j, field)
        }
        ["decoder", "generator", "resblocks", r, j, field] => {
            generator_resblock(&format!("decoder.generator.resblocks.{r}"), j, field)
        }
        ["decoder", "generator", "ups", i, kind @ ("weight" | "bias")] => whole(format!("decoder.generator.ups.{i}.{kind}")),
        ["decoder", "generator", field] => {
            let (module, kind) = suffixed(field)?;
            (module == "conv_post").then(|| format!("decoder.generator.conv_post.{kind}")).and_then(whole)
        }
        ["decoder", field] => {
            let (module, kind) = suffixed(field)?;
            let module = match module {
                "f0_conv" => "F0_conv",
                "n_conv" => "N_conv",
                "asr_conv" => "asr_res.0",
                _ => return None,
            };
            whole(format!("decoder.{module}.{kind}"))
        }
        ["voice_tensors", voice] => whole(format!("voices.{voice}")),
        _ => None,
    }
}

/// Maps every tensor of a TTS.cpp Kokoro file and derives the config. Unknown tensor names,
/// missing gate parts and parts that disagree in type or shape are errors naming them.
pub fn translate<'a>(file: &GgufFile<'a>) -> Result<Translated<'a>> {
    // tritone name → parts in order.
    let mut groups: BTreeMap<String, Vec<Option<&TensorInfo<'a>>>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for info in file.tensors() {
        let short = info.name.strip_prefix(PREFIX).ok_or_else(|| layout_error(format!("tensor {:?} is not under {PREFIX}", info.name)))?;
        let t = target(short).ok_or_else(|| layout_error(format!("unknown tensor {:?}", info.name)))?;
        let slots = groups.entry(t.name.clone()).or_insert_with(|| {
            order.push(t.name.clone());
            vec![None; t.parts]
        });
        if slots.len() != t.parts || slots[t.part].replace(info).is_some() {
            return Err(layout_error(format!("tensor {:?} maps onto {} twice", info.name, t.name)));
        }
    }

    let mut tensors = Vec::with_capacity(order.len());
    for name in order {
        let parts = &groups[&name];
        let present: Vec<_> = parts.iter().flatten().copied().collect();
        if present.len() != parts.len() {
            let missing: Vec<usize> = parts.iter().enumerate().filter(|(_, p)| p.is_none()).map(|(i, _)| i).collect();
            return Err(layout_error(format!("{name}: parts {missing:?} of {} are missing", parts.len())));
        }
        let first = present[0];
        let inner = &first.ne[..first.ne.len().saturating_sub(1)];
        if let Some(odd) = present.iter().find(|p| p.ggml_type != first.ggml_type || p.ne[..p.ne.len().saturating_sub(1)] != *inner) {
            return Err(layout_error(format!(
                "{name}: part {:?} ({} {:?}) does not match {:?} ({} {:?})",
                odd.name,
                odd.ggml_type.name(),
                odd.ne,
                first.name,
                first.ggml_type.name(),
                first.ne
            )));
        }
        let (ne, data) = if present.len() == 1 {
            let ne = if name == "bert.embeddings.token_type_embeddings.weight" { vec![first.ne[0], 1] } else { first.ne.clone() };
            (ne, Cow::Borrowed(file.tensor_bytes(first)?))
        } else {
            // Parts stack along the outermost dim (the last in `ne`).
            let rows: u64 = present.iter().map(|p| p.ne.last().copied().unwrap_or(1)).sum();
            let mut ne = first.ne.clone();
            match ne.last_mut() {
                Some(last) if first.ne.len() > 1 => *last = rows,
                _ => ne = vec![rows],
            }
            let mut joined = Vec::with_capacity(present.iter().map(|p| p.size as usize).sum());
            for p in &present {
                joined.extend_from_slice(file.tensor_bytes(p)?);
            }
            (ne, Cow::Owned(joined))
        };
        tensors.push(MappedTensor { name, ne, ggml_type: first.ggml_type, data });
    }

    let tokens: Vec<String> = file.get_str_array("tokenizer.ggml.tokens")?.into_iter().map(str::to_owned).collect();
    let voices: Vec<String> = tensors.iter().filter_map(|t| t.name.strip_prefix("voices.")).map(str::to_owned).collect();
    let config = config(file, &tensors, tokens.len())?;
    Ok(Translated { config, tokens, voices, tensors })
}

/// The config from TTS.cpp's metadata keys, with what they leave out read off tensor shapes.
fn config(file: &GgufFile, tensors: &[MappedTensor], n_token: usize) -> Result<KokoroConfig> {
    let key = |k: &str| file.get_u32(&format!("kokoro.{k}")).map(|v| v as usize);
    let dim = |name: &str, axis: usize| -> Result<usize> {
        let t = tensors.iter().find(|t| t.name == name).ok_or_else(|| Error::MissingTensor { name: name.into() })?;
        t.ne.get(axis).map(|&d| d as usize).ok_or_else(|| layout_error(format!("{name} {:?} has no dim {axis}", t.ne)))
    };
    let n_layer = key("duration_predictor.layers")?;
    let text_layers = key("text_encoder.layers")?;
    if n_layer != text_layers {
        return Err(layout_error(format!("duration predictor has {n_layer} layers, text encoder {text_layers}: Kokoro uses one n_layer")));
    }
    let generator = "decoder.generator";
    let upsamples = key(&format!("{generator}.upsamples"))?;
    let kernels = key(&format!("{generator}.kernels"))?;
    let mut upsample_rates = Vec::with_capacity(upsamples.min(64));
    let mut upsample_kernel_sizes = Vec::with_capacity(upsamples.min(64));
    for i in 0..upsamples {
        upsample_rates.push(key(&format!("{generator}.up_convs.{i}.stride"))?);
        upsample_kernel_sizes.push(dim(&format!("decoder.generator.ups.{i}.weight"), 0)?);
    }
    let mut resblock_kernel_sizes = Vec::with_capacity(kernels.min(64));
    let mut resblock_dilation_sizes = Vec::with_capacity(kernels.min(64));
    for j in 0..kernels {
        resblock_kernel_sizes.push(dim(&format!("decoder.generator.resblocks.{j}.convs1.0.weight"), 0)?);
        let mut dilations = Vec::new();
        while let Ok(d) = key(&format!("{generator}.res_blocks.{j}.{}.dilation", dilations.len())) {
            dilations.push(d);
        }
        resblock_dilation_sizes.push(dilations);
    }
    let config = KokoroConfig {
        n_token,
        hidden_dim: key("duration_predictor.hidden_size")?,
        style_dim: dim("predictor.text_encoder.lstms.1.fc.weight", 0)?,
        n_layer,
        max_dur: dim("predictor.duration_proj.linear_layer.weight", 1)?,
        dim_in: dim("decoder.asr_res.0.weight", 2)?,
        // Neither is stored nor observable in the weights; Kokoro-82M's values.
        n_mels: 80,
        max_conv_dim: 512,
        text_encoder_kernel_size: dim("text_encoder.cnn.0.0.weight", 0)?,
        plbert: PlbertConfig {
            hidden_size: key("duration_predictor.albert.hidden_size")?,
            num_attention_heads: key("duration_predictor.albert.attn_heads")?,
            intermediate_size: dim("bert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight", 1)?,
            max_position_embeddings: key("duration_predictor.albert.context_length")?,
            num_hidden_layers: key("duration_predictor.albert.recurrence")?,
            embedding_size: dim("bert.embeddings.word_embeddings.weight", 0)?,
        },
        istftnet: IstftnetConfig {
            upsample_rates,
            upsample_kernel_sizes,
            upsample_initial_channel: dim("decoder.generator.ups.0.weight", 2)?,
            resblock_kernel_sizes,
            resblock_dilation_sizes,
            gen_istft_n_fft: key(&format!("{generator}.n_fft"))?,
            gen_istft_hop_size: key(&format!("{generator}.hop"))?,
        },
    };
    config.validate()?;
    Ok(config)
}

impl<'a> Translated<'a> {
    /// A tritone-layout GGUF of the same weights: config, vocabulary, voices, tensors.
    pub fn to_writer(&self) -> Result<GgufWriter<'a>> {
        let mut w = GgufWriter::new();
        w.set("general.architecture", MetaValue::string("kokoro"))?;
        self.config.write_gguf(&mut w)?;
        w.set("tokenizer.ggml.tokens", MetaValue::strings(self.tokens.iter().cloned()))?;
        w.set("kokoro.voices", MetaValue::strings(self.voices.iter().cloned()))?;
        for t in &self.tensors {
            w.add_tensor(&t.name, &t.ne, t.ggml_type, t.data.clone())?;
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Option<(String, usize, usize)> {
        target(name).map(|t| (t.name, t.part, t.parts))
    }

    #[test]
    fn names_map_like_the_reference_state_dict() {
        let one = |s: &str| Some((s.to_owned(), 0, 1));
        assert_eq!(t("albert.layer.0.attn_norm"), one("bert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight"));
        assert_eq!(t("albert.layer.0.ffn_norm_bias"), one("bert.encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm.bias"));
        assert_eq!(t("duration_predictor.layers.2.lstm.0.weights.5"), Some(("predictor.text_encoder.lstms.2.weight_hh_l0".into(), 2, 4)));
        assert_eq!(t("text_encoder.lstm.0.reverse_biases.6"), Some(("text_encoder.lstm.bias_ih_l0_reverse".into(), 3, 4)));
        assert_eq!(t("duration_predictor.layers.3.beta_weight"), Some(("predictor.text_encoder.lstms.3.fc.weight".into(), 1, 2)));
        assert_eq!(t("duration_predictor.f0_blocks.1.norm1_gamma_bias"), Some(("predictor.F0.1.norm1.fc.bias".into(), 0, 2)));
        assert_eq!(t("duration_predictor.n_blocks.1.conv1x1_weight"), one("predictor.N.1.conv1x1.weight"));
        assert_eq!(t("duration_predictor.f0_proj_kernel"), one("predictor.F0_proj.weight"));
        assert_eq!(t("decoder.decoder_blocks.3.pool_weight"), one("decoder.decode.3.pool.weight"));
        assert_eq!(t("decoder.asr_conv_bias"), one("decoder.asr_res.0.bias"));
        assert_eq!(t("decoder.generator.noise_blocks.0.resblock.2.alpha1"), one("decoder.generator.noise_res.0.alpha1.2"));
        assert_eq!(t("decoder.generator.resblocks.4.1.beta2_weight"), Some(("decoder.generator.resblocks.4.adain2.1.fc.weight".into(), 1, 2)));
        assert_eq!(t("decoder.generator.resblocks.4.1.convs2_bias"), one("decoder.generator.resblocks.4.convs2.1.bias"));
        assert_eq!(t("decoder.generator.conv_post_weight"), one("decoder.generator.conv_post.weight"));
        assert_eq!(t("voice_tensors.af_bella"), one("voices.af_bella"));
        for unknown in ["albert.layer.0.qq", "duration_predictor.layers.0.lstm.0.weights.8", "decoder.generator.resblocks.0.0.alpha3", "decoder.foo_weight", "x"] {
            assert_eq!(t(unknown), None, "{unknown}");
        }
    }
}
