//! Where the model's weights come from: a GGUF file in tritone's layout, or seeded random
//! weights identical to the reference generator's (`tools/reference/golden.py`), which is how
//! the tests build models without downloading any.

use std::borrow::Cow;

use bytes::Bytes;

use crate::backend::Weight;
use crate::error::{Error, Result};
use crate::formats::ttscpp::Translated;
use crate::gguf::{numpy_shape, GgmlType, GgufFile};
use crate::quant::padded_row_len;
use crate::rng::{mix, GOLDEN};

/// A named tensor store. Names are the reference `state_dict` names without `module.`.
pub trait WeightSource {
    /// Tensor `name`, which must have `shape` (PyTorch order).
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight>;

    /// Whether `name` exists with `shape` (for tensors stored in more than one shape).
    fn has(&self, name: &str, shape: &[usize]) -> bool {
        self.tensor(name, shape).is_ok()
    }

    /// `{prefix}.weight` of a weight-normed layer (stored folded as `g · v / ‖v‖`).
    fn normed(&self, prefix: &str, shape: &[usize]) -> Result<Weight> {
        self.tensor(&format!("{prefix}.weight"), shape)
    }
}

pub(crate) fn shape_error(name: &str, expected: &[usize], got: &[usize]) -> Error {
    Error::TensorShape { name: name.into(), expected: expected.to_vec(), got: got.to_vec() }
}

/// Tensors of a parsed tritone-layout GGUF file, kept packed: each [`Weight`] shares the file's
/// bytes (no copy, no decode).
pub struct GgufWeights<'f, 'a> {
    file: &'f GgufFile<'a>,
    bytes: &'f Bytes,
}

impl<'f, 'a> GgufWeights<'f, 'a> {
    /// `file` must have been parsed from `bytes`.
    pub fn new(file: &'f GgufFile<'a>, bytes: &'f Bytes) -> Self {
        Self { file, bytes }
    }
}

impl WeightSource for GgufWeights<'_, '_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight> {
        let info = self.file.tensor(name)?;
        packed(name, shape, &info.ne, info.ggml_type, self.bytes.slice_ref(self.file.tensor_bytes(info)?))
    }
}

/// A TTS.cpp Kokoro file, through its translation to tritone's names (joined tensors are copies,
/// the rest share the file's bytes).
pub struct TranslatedWeights<'t, 'a> {
    pub translated: &'t Translated<'a>,
    pub bytes: &'t Bytes,
}

impl WeightSource for TranslatedWeights<'_, '_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight> {
        let t = self.translated.tensors.iter().find(|t| t.name == name).ok_or_else(|| Error::MissingTensor { name: name.into() })?;
        let data = match &t.data {
            Cow::Borrowed(b) => self.bytes.slice_ref(b),
            Cow::Owned(v) => Bytes::copy_from_slice(v),
        };
        packed(name, shape, &t.ne, t.ggml_type, data)
    }
}

/// A stored tensor as a packed [`Weight`] of `shape`. The file may store it in `shape` itself
/// (`ne` reversed; for block formats every row must then be whole blocks) or as the padded
/// matrix `[rows, row_len rounded up to whole blocks]` tritone's writer uses for block formats.
fn packed(name: &str, shape: &[usize], ne: &[u64], ty: GgmlType, bytes: Bytes) -> Result<Weight> {
    let stored: Vec<usize> = numpy_shape(ne).into_iter().map(|d| d as usize).collect();
    let rows = if shape.len() > 1 { shape[0] } else { 1 };
    let row_len = shape.iter().product::<usize>() / rows.max(1);
    let padded = [rows, padded_row_len(row_len, ty)];
    // Stored in `shape` itself, rows are whole blocks: GGUF readers refuse an `ne[0]` that is not
    // a block multiple, and `ne[0]` divides the row length.
    if stored == shape || stored == padded {
        return Weight::from_bytes(shape, ty, bytes).map_err(|e| Error::InvalidArgument { op: "load weights", reason: format!("tensor {name:?}: {e}") });
    }
    Err(shape_error(name, shape, &stored))
}

/// The reference generator's seeded weights: `offset + scale · U(-1, 1)` per element from
/// SplitMix64 keyed by FNV-1a-64 of the tensor name and the seed, with golden.py's
/// `param_init_spec` choosing scale and offset. Weight-normed layers draw `weight_g` and
/// `weight_v` and fold them, as the reference does at run time.
pub struct RandomWeights {
    pub seed: u64,
}


fn fnv1a64(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// `n` uniforms in [0, 1) with 24 random bits, exactly as golden.py's `portable_uniform`.
pub fn portable_uniform(stream: &str, n: usize, seed: u64) -> impl Iterator<Item = f32> {
    let key = fnv1a64(stream) ^ seed.wrapping_mul(GOLDEN);
    (1..=n as u64).map(move |i| {
        let z = mix(key.wrapping_add(i.wrapping_mul(GOLDEN)));
        (z >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    })
}

/// golden.py's `portable_param`.
pub fn portable_param(name: &str, n: usize, seed: u64, scale: f32, offset: f32) -> Vec<f32> {
    portable_uniform(name, n, seed).map(|u| (2.0 * u - 1.0) * scale + offset).collect()
}

/// golden.py's `param_init_spec`: (scale, offset) for a checkpoint tensor.
fn init_spec(name: &str, shape: &[usize]) -> (f64, f64) {
    if name.ends_with("weight_g") {
        return (0.2, 0.6);
    }
    if name.contains(".alpha1.") || name.contains(".alpha2.") {
        return (0.5, 1.0);
    }
    if name.ends_with(".gamma") || name.ends_with("LayerNorm.weight") || name.ends_with("layer_norm.weight") {
        return (0.1, 1.0);
    }
    match name {
        "predictor.duration_proj.linear_layer.bias" => return (0.5, -4.5),
        "predictor.duration_proj.linear_layer.weight" => return (20.0 / (shape[1] as f64).sqrt(), 0.0),
        "predictor.F0_proj.bias" => return (20.0, -30.0),
        "predictor.F0_proj.weight" => return (300.0 / (shape[1] as f64).sqrt(), 0.0),
        "decoder.generator.conv_post.weight_g" => return (0.05, 0.15),
        _ => {}
    }
    if shape.len() <= 1 {
        return (0.1, 0.0);
    }
    (1.0 / (shape[1..].iter().product::<usize>() as f64).sqrt(), 0.0)
}

impl RandomWeights {
    fn draw(&self, name: &str, shape: &[usize]) -> Vec<f32> {
        let (scale, offset) = init_spec(name, shape);
        portable_param(name, shape.iter().product(), self.seed, scale as f32, offset as f32)
    }
}

impl WeightSource for RandomWeights {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Weight> {
        Weight::f32(shape, self.draw(name, shape))
    }

    fn normed(&self, prefix: &str, shape: &[usize]) -> Result<Weight> {
        let mut g_shape = vec![1; shape.len()];
        g_shape[0] = shape[0];
        let g = self.draw(&format!("{prefix}.weight_g"), &g_shape);
        let v = self.draw(&format!("{prefix}.weight_v"), shape);
        Weight::f32(shape, fold_weight_norm(&g, &v))
    }
}

/// `g · v / ‖v‖` with the norm over every dim but the first (`torch.nn.utils.weight_norm`),
/// in f64, rounded once.
pub fn fold_weight_norm(g: &[f32], v: &[f32]) -> Vec<f32> {
    let per_row = v.len() / g.len().max(1);
    v.chunks(per_row.max(1))
        .zip(g)
        .flat_map(|(row, &gain)| {
            let norm = row.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
            row.iter().map(move |&x| (gain as f64 * x as f64 / norm) as f32)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_matches_golden_py() {
        // golden.py: fnv1a64("") is the FNV offset basis; the first uniform of a known stream.
        assert_eq!(fnv1a64(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64("a"), 0xaf63_dc4c_8601_ec8c);
        let u: Vec<f32> = portable_uniform("noise.sinegen.randn", 3, 0).collect();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn weight_norm_folds_per_output_row() {
        let w = fold_weight_norm(&[2.0, 0.5], &[3.0, 4.0, 0.0, -2.0]);
        assert_eq!(w, [1.2, 1.6, 0.0, -0.5]);
    }
}
