//! Model files: every weight the model needs gathered by name (from a PyTorch checkpoint, a
//! GGUF, or seeded random weights) and written as one tritone GGUF with config, vocabulary and
//! voices.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::config::KokoroConfig;
use super::kokoro::Kokoro;
use crate::formats::pth::{fold_kokoro_checkpoint, read_pth, PthDtype};
use super::voices::{ROWS, STYLE};
use super::weights::{shape_error, WeightSource};
use crate::backend::{CpuBackend, Weight};
use crate::error::{Error, Result};
use crate::formats::npz::read_npz;
use crate::formats::onnx::read_onnx;
use crate::gguf::{GgmlType, GgufWriter, MetaValue};
use crate::quant::padded_row_len;

/// Tensors by name, e.g. a folded PyTorch checkpoint.
pub struct MapSource {
    tensors: HashMap<String, Weight>,
}

impl MapSource {
    /// hexgrad's `.pth` layout: `{bert|bert_encoder|predictor|text_encoder|decoder: state_dict}`
    /// with `module.` prefixes and either weight-norm style; integer buffers are skipped.
    pub fn from_pth(bytes: &[u8]) -> Result<Self> {
        let mut tensors = HashMap::new();
        for (name, t) in fold_kokoro_checkpoint(read_pth(bytes)?)? {
            if t.dtype == PthDtype::I64 {
                continue; // position_ids and similar buffers
            }
            let shape = t.shape.clone();
            tensors.insert(name, Weight::f32(&shape, t.into_values())?);
        }
        Ok(Self { tensors })
    }

    /// The weights of a Kokoro ONNX export (kokoro-onnx's fp32/fp16/int8 files or kokoro's own
    /// `KModelForONNX` export), dequantized and named after the tensors a model of `config`
    /// loads. Also returns the recovered tensors the model does not use.
    pub fn from_onnx(bytes: bytes::Bytes, config: &KokoroConfig, tokens: &[String]) -> Result<(Self, Vec<String>)> {
        let weights = read_onnx(bytes)?;
        let wanted = requested_names(config, tokens)?;
        let inputs = weights.inputs.join(", ");
        let resolved = weights.resolve(&wanted)?;
        // Fewer than half the model's tensors found: some other network, not a damaged Kokoro.
        if resolved.tensors.len() * 2 < wanted.len() {
            return Err(Error::Onnx(format!(
                "this is not a Kokoro export: {} of the {} tensors Kokoro needs were found (graph inputs: {})",
                resolved.tensors.len(),
                wanted.len(),
                if inputs.is_empty() { "none" } else { &inputs }
            )));
        }
        let mut tensors = HashMap::new();
        for (name, t) in resolved.tensors {
            tensors.insert(name, Weight::f32(&t.shape, t.values)?);
        }
        Ok((Self { tensors }, resolved.unused))
    }

    /// Tensors already at hand (e.g. [`collect_weights`]'s list, some of them re-stored).
    pub fn from_weights(weights: impl IntoIterator<Item = (String, Weight)>) -> Self {
        Self { tensors: weights.into_iter().collect() }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }
}

impl WeightSource for MapSource {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight> {
        let w = self.tensors.get(name).ok_or_else(|| Error::MissingTensor { name: name.into() })?;
        if w.shape() != shape {
            return Err(shape_error(name, shape, w.shape()));
        }
        Ok(w.clone())
    }
}

/// Passes requests through, remembering each weight handed out, and collecting every failure
/// instead of stopping at the first (answering with zeros meanwhile), so a broken checkpoint is
/// reported in one go.
struct Recorder<'s> {
    inner: &'s dyn WeightSource,
    seen: RefCell<Vec<(String, Weight)>>,
    failures: RefCell<Vec<String>>,
}

impl Recorder<'_> {
    fn keep(&self, name: String, shape: &[usize], got: Result<Weight>) -> Result<Weight> {
        match got {
            Ok(w) => {
                self.seen.borrow_mut().push((name, w.clone()));
                Ok(w)
            }
            Err(e) => {
                self.failures.borrow_mut().push(e.to_string());
                Weight::f32(shape, vec![0.0; shape.iter().product()])
            }
        }
    }
}

impl WeightSource for Recorder<'_> {
    fn has(&self, name: &str, shape: &[usize]) -> bool {
        self.inner.has(name, shape)
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight> {
        self.keep(name.to_owned(), shape, self.inner.tensor(name, shape))
    }

    fn normed(&self, prefix: &str, shape: &[usize]) -> Result<Weight> {
        self.keep(format!("{prefix}.weight"), shape, self.inner.normed(prefix, shape))
    }
}

/// Answers every request with zeros and remembers the names asked for.
struct NameProbe(RefCell<Vec<String>>);

impl WeightSource for NameProbe {
    fn has(&self, _: &str, _: &[usize]) -> bool {
        false // ask for the tensor in its one required shape
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight> {
        self.0.borrow_mut().push(name.to_owned());
        Weight::f32(shape, vec![0.0; shape.iter().product()])
    }
}

/// The names of every tensor a model of `config` loads.
fn requested_names(config: &KokoroConfig, tokens: &[String]) -> Result<Vec<String>> {
    let probe = NameProbe(RefCell::new(Vec::new()));
    Kokoro::load(&CpuBackend::default(), &probe, config.clone(), tokens)?;
    let mut names = probe.0.into_inner();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

/// Every weight a model of `config` loads, in load order, named as stored (`X.weight` for
/// weight-normed layers). Missing tensors and wrong shapes are all named in one error.
pub fn collect_weights(src: &dyn WeightSource, config: &KokoroConfig, tokens: &[String]) -> Result<Vec<(String, Weight)>> {
    let recorder = Recorder { inner: src, seen: RefCell::new(Vec::new()), failures: RefCell::new(Vec::new()) };
    Kokoro::load(&CpuBackend::default(), &recorder, config.clone(), tokens)?;
    let failures = recorder.failures.into_inner();
    if !failures.is_empty() {
        return Err(Error::InvalidArgument { op: "load weights", reason: format!("{} problems:\n  {}", failures.len(), failures.join("\n  ")) });
    }
    let mut seen = recorder.seen.into_inner();
    // Weights shared by two layers would be recorded twice; keep the first.
    let mut names = std::collections::HashSet::new();
    seen.retain(|(n, _)| names.insert(n.clone()));
    Ok(seen)
}

/// The storage format `write_model` gives a weight of `shape` when asked for `dtype`: 1-D
/// tensors and single rows (biases, norms, Snake α, the source's 9 weights) stay F32; matrices
/// and kernels take `dtype`, except that a block format whose padded rows would take more bytes
/// than F16 (depthwise 3-tap kernels, rows shorter than a block) falls back to F16.
pub fn storage_type(shape: &[usize], dtype: GgmlType) -> GgmlType {
    let matrix = shape.iter().filter(|&&d| d > 1).count() >= 2;
    if !matrix || dtype == GgmlType::F32 {
        return GgmlType::F32;
    }
    let row_len: usize = shape[1..].iter().product();
    let bytes = |ty: GgmlType| ty.bytes_for(padded_row_len(row_len, ty));
    match (bytes(dtype), bytes(GgmlType::F16)) {
        (Some(packed), Some(half)) if packed <= half => dtype,
        _ => GgmlType::F16,
    }
}

/// A tritone GGUF: `general.architecture = "kokoro"`, the config, `tokenizer.ggml.tokens`,
/// `kokoro.voices`, every weight stored as [`storage_type`] says, and each voice pack as
/// `voices.{name}` `[510, 256]` F32. Block-format weights are written as the matrix
/// `[rows, row_len padded to whole blocks]` (zeros in the padding), so every row decodes alone
/// and ggml tools can read the file.
/// `on_tensor` is called after each weight (for progress bars).
pub fn write_model(config: &KokoroConfig, tokens: &[String], weights: &[(String, Weight)], voices: &[(String, Vec<f32>)], dtype: GgmlType, on_tensor: &mut dyn FnMut()) -> Result<Vec<u8>> {
    let mut packed = Vec::with_capacity(weights.len());
    for (name, weight) in weights {
        let ty = storage_type(weight.shape(), dtype);
        let w = Weight::quantize(weight.shape(), &weight.to_f32(), ty).map_err(|e| Error::InvalidArgument { op: "convert", reason: format!("tensor {name:?}: {e}") })?;
        packed.push((name.clone(), w));
        on_tensor();
    }
    let voices = voices
        .iter()
        .map(|(name, pack)| {
            if pack.len() != ROWS * STYLE {
                return Err(Error::InvalidArgument { op: "voices", reason: format!("voice {name:?} has {} values, expected {ROWS}×{STYLE}", pack.len()) });
            }
            Ok((name.clone(), Weight::f32(&[ROWS, STYLE], pack.clone())?))
        })
        .collect::<Result<Vec<_>>>()?;
    write_packed_model(config, tokens, &packed, &voices, &[])
}

/// [`write_model`] for weights already in their storage formats (voices `[510, 256]` in a float
/// format), with extra metadata `meta`.
pub fn write_packed_model<'m>(config: &KokoroConfig, tokens: &[String], weights: &[(String, Weight)], voices: &[(String, Weight)], meta: &[(String, MetaValue<'m>)]) -> Result<Vec<u8>> {
    let mut w = GgufWriter::new();
    w.set("general.architecture", MetaValue::string("kokoro"))?;
    w.set("general.name", MetaValue::string("Kokoro (tritone)"))?;
    config.write_gguf(&mut w)?;
    w.set("tokenizer.ggml.tokens", MetaValue::strings(tokens.iter().cloned()))?;
    w.set("kokoro.voices", MetaValue::strings(voices.iter().map(|(n, _)| n.clone())))?;
    for (key, value) in meta {
        w.set(key, value.clone())?;
    }
    let named_voices: Vec<(String, Weight)> = voices.iter().map(|(n, v)| (format!("voices.{n}"), v.clone())).collect();
    for (name, packed) in weights.iter().chain(&named_voices) {
        let ty = packed.ty();
        let ne: Vec<u64> = if ty.block_size() > 1 {
            vec![(packed.row_bytes() / ty.type_size() * ty.block_size()) as u64, packed.rows() as u64]
        } else {
            packed.shape().iter().rev().map(|&d| d as u64).collect()
        };
        w.add_tensor(name, &ne, ty, packed.bytes().to_vec())?;
    }
    w.to_bytes()
}

/// Every voice pack in an `.npz` (kokoro-onnx's `voices-v1.0.bin`, `voices_ja.npz`), by name.
pub fn voices_from_npz(bytes: &[u8]) -> Result<Vec<(String, Vec<f32>)>> {
    read_npz(bytes)?
        .into_iter()
        .map(|(name, array)| {
            if array.values.len() != ROWS * STYLE {
                return Err(Error::InvalidArgument { op: "voices", reason: format!("voice {name:?} has shape {:?}, expected [510, 1, 256]", array.shape) });
            }
            Ok((name, array.to_f32()))
        })
        .collect()
}

/// A voice pack saved by `torch.save` (`[510, 1, 256]` or `[510, 256]`).
pub fn voice_from_pt(bytes: &[u8]) -> Result<Vec<f32>> {
    let tensors = read_pth(bytes)?;
    match tensors.as_slice() {
        [(_, t)] if t.values().len() == ROWS * STYLE => Ok(t.values().to_vec()),
        [(_, t)] => Err(Error::InvalidArgument { op: "voices", reason: format!("voice pack of shape {:?}, expected [510, 1, 256]", t.shape) }),
        _ => Err(Error::InvalidArgument { op: "voices", reason: format!("a voice file holds one tensor, this one {}", tensors.len()) }),
    }
}
