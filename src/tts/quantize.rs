//! `tritone quantize`: calibrated, mixed-precision quantization of a Kokoro model.
//!
//! 1. **Calibration**: the model speaks phonemized calibration sentences (a built-in English set,
//!    [`CALIBRATION_EN`], or the user's) through [`Calibrator`], which gathers each layer's input
//!    Hessian.
//! 2. **Rounding**: every matrix is rounded by GPTQ through its Hessian ([`crate::quant::gptq`]),
//!    or to nearest where no Hessian exists (embeddings, transposed convolutions) or when asked.
//! 3. **Evaluation**: held-out sentences spoken by a quantized model against the input model:
//!    the log-mel distance ([`crate::audio::mel`]) with the input model's durations forced (the
//!    frames align), and the share of tokens whose predicted duration moved.
//! 4. **Budget**: each group of tensors ([`group_of`]) is quantized alone at each format of the
//!    ladder and evaluated (its sensitivity); then one format per group is chosen that fits the
//!    file in the budget with the least sum of squared scores (a group's score is log-mel dB +
//!    10 × the share of moved durations; scores of independent parts add in quadrature),
//!    exactly, by a knapsack over sizes in KiB. The plan is verified end to end.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use rayon::prelude::*;

use super::calibrate::Calibrator;
use super::chunking::split_phonemes;
use crate::audio::mel::log_mel_distance;
use crate::backend::cpu::CpuTensor;
use crate::backend::{Backend, CpuBackend, Weight};
use crate::config::KokoroConfig;
use crate::error::{Error, Result};
use crate::gguf::{GgmlType, GgufFile, MetaValue};
use crate::model::checkpoint::{collect_weights, storage_type, write_packed_model, MapSource};
use crate::model::generator::Point;
use crate::model::kokoro::{DecoderInputs, GeneratorInputs, Kokoro, Synthesis};
use crate::model::voices::{style_row, ROWS, STYLE};
use crate::model::weights::{GgufWeights, WeightSource};
use crate::quant::gptq::{self, Hessian, InverseFactor};
use crate::tts::SAMPLE_RATE;

/// Several hundred English sentences written for calibration (one per line).
pub const CALIBRATION_EN: &str = include_str!("calibration_en.txt");

/// The unit of [`Quantizer::plan_budget`]'s knapsack.
const KIB: usize = 1024;

/// GPTQ's damping: `λ · mean(diag H)` added to the diagonal before inverting.
const DAMPING: f64 = 0.01;

/// How a matrix is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Error-compensating (GPTQ) where calibration gave the layer's inputs, else to nearest.
    Gptq,
    /// Round to nearest everywhere.
    Nearest,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Gptq => "gptq",
            Method::Nearest => "round-to-nearest",
        }
    }
}

/// What quantization did to the speech of the evaluation sentences.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Distortion {
    /// Mean log-mel distance to the input model, dB, both speaking on the input model's
    /// durations (so the frames align without DTW).
    pub mel_db: f64,
    /// Share of tokens whose duration changed.
    pub durations_moved: f64,
}

/// What rounding one tensor did to its layer's output over the calibration inputs:
/// `Σ_rows (w − q)ᵀ H (w − q) / Σ_rows wᵀ H w` for GPTQ's rows (with the block scales refitted
/// to the output, and before that refit) and for round-to-nearest's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rounding {
    pub gptq: f64,
    pub before_refit: f64,
    pub nearest: f64,
}

/// The part of Kokoro a tensor belongs to; sensitivity is measured and formats are chosen per group.
pub fn group_of(name: &str) -> &'static str {
    let starts = |p: &str| name.starts_with(p);
    if starts("bert.") {
        "albert"
    } else if starts("bert_encoder") {
        "bert_encoder"
    } else if name.contains(".fc.") {
        "style_fc" // the AdaIN / AdaLayerNorm projections of the style vector
    } else if starts("predictor.text_encoder") {
        "duration_encoder"
    } else if starts("predictor.lstm") || starts("predictor.shared") || starts("predictor.duration_proj") {
        "duration_lstm"
    } else if starts("predictor.") {
        "f0_energy"
    } else if starts("text_encoder.") {
        "text_encoder"
    } else if starts("decoder.generator.ups") {
        "generator_upsample"
    } else if starts("decoder.generator.resblocks") {
        // the first three run at 256 channels, the last three at 128 over 10× the frames
        if index_after(name, "decoder.generator.resblocks.").is_some_and(|i| i < 3) {
            "generator_resblocks_256"
        } else {
            "generator_resblocks_128"
        }
    } else if starts("decoder.generator.noise") {
        "generator_noise"
    } else if starts("decoder.generator.conv_post") {
        "conv_post"
    } else if starts("decoder.generator") {
        "generator_other"
    } else if starts("decoder.decode.") {
        // the decoder's four blocks (a third of the model) are judged apart
        index_after(name, "decoder.decode.").and_then(|i| ["decoder_decode0", "decoder_decode1", "decoder_decode2", "decoder_decode3"].get(i)).copied().unwrap_or("decoder")
    } else {
        "decoder" // its encode block and the F0, energy and ASR input convolutions
    }
}

/// One held-out sentence.
struct Held {
    ids: Vec<u32>,
    style: Vec<f32>,
    reference: Synthesis,
    /// The input model's decoder inputs, and its generator's activations at each stage and
    /// before `conv_post`.
    inputs: DecoderInputs<CpuBackend>,
    generator: Vec<GeneratorInputs<CpuBackend>>,
}

/// Where judging a model can start, given where its weights differ from the input model's
/// (earliest first): from the text, after the durations (they cannot move after the duration
/// head), at the decoder's inputs, or at a point in the generator (what comes before is the
/// input model's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Start {
    Text,
    AfterDurations,
    Decoder,
    Generator(Point),
}

impl Start {
    /// The earliest start that runs every use of tensors `names`; `resblocks` per generator stage.
    fn of<'n>(names: impl Iterator<Item = &'n str>, resblocks: usize) -> Self {
        names.fold(Start::Generator(Point::Post), |at, name| {
            let here = if shapes_durations(name) {
                Start::Text
            } else if let Some(point) = Point::using(name, resblocks) {
                Start::Generator(point)
            } else if name.starts_with("decoder.") {
                Start::Decoder
            } else {
                Start::AfterDurations
            };
            at.min(here)
        })
    }
}

/// Whether tensor `name` is on the way to the predicted durations: ALBERT, its projection, the
/// duration encoder (with its AdaLayerNorm projections), the duration LSTM and its projection.
pub fn shapes_durations(name: &str) -> bool {
    ["bert.", "bert_encoder", "predictor.text_encoder", "predictor.lstm", "predictor.duration_proj"].iter().any(|p| name.starts_with(p))
}

/// The single digit after `prefix` in `name` ("decoder.decode.2.conv1" → 2).
fn index_after(name: &str, prefix: &str) -> Option<usize> {
    name.strip_prefix(prefix)?.chars().next()?.to_digit(10).map(|d| d as usize)
}

/// The model being quantized, its calibration, and the sentences that judge the result.
pub struct Quantizer {
    config: KokoroConfig,
    tokens: Vec<String>,
    voices: Vec<(String, Weight)>,
    weights: Vec<(String, Weight)>,
    hessians: HashMap<usize, Hessian>,
    factors: HashMap<usize, InverseFactor>,
    cache: HashMap<(usize, GgmlType, Method), Weight>,
    errors: HashMap<(usize, GgmlType), Rounding>,
    /// Held-out sentences: token ids, style row, the input model's speech and its decoder's inputs.
    eval: Vec<Held>,
    calibration: String,
}

impl Quantizer {
    /// A tritone GGUF (any storage; its values are the reference).
    pub fn open(bytes: &Bytes) -> Result<Self> {
        let file = GgufFile::parse(bytes)?;
        let config = KokoroConfig::from_gguf(&file)?;
        let tokens: Vec<String> = file.get_str_array("tokenizer.ggml.tokens")?.into_iter().map(str::to_owned).collect();
        let source = GgufWeights::new(&file, bytes);
        let weights = collect_weights(&source, &config, &tokens)?;
        let voices = file
            .get_str_array("kokoro.voices")?
            .into_iter()
            .map(|name| Ok((name.to_owned(), source.tensor(&format!("voices.{name}"), &[ROWS, STYLE])?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { config, tokens, voices, weights, hessians: HashMap::new(), factors: HashMap::new(), cache: HashMap::new(), errors: HashMap::new(), eval: Vec::new(), calibration: String::new() })
    }

    pub fn voice_names(&self) -> Vec<String> {
        self.voices.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Names of the tensors quantization stores in block formats (matrices), in load order.
    pub fn matrices(&self) -> impl Iterator<Item = (usize, &str)> {
        self.weights.iter().enumerate().filter(|(_, (_, w))| is_matrix(w.shape())).map(|(i, (n, _))| (i, n.as_str()))
    }

    fn model<B: crate::backend::Backend>(&self, b: &B, weights: &[(String, Weight)]) -> Result<Kokoro<B>> {
        Kokoro::load(b, &MapSource::from_weights(weights.iter().cloned()), self.config.clone(), &self.tokens)
    }

    fn style(&self, voice: &str, phonemes: usize) -> Result<Vec<f32>> {
        let (_, pack) = self.voices.iter().find(|(n, _)| n == voice).ok_or_else(|| Error::UnknownVoice { name: voice.into(), available: self.voice_names() })?;
        Ok(style_row(&pack.to_f32(), phonemes).to_vec())
    }

    /// `phonemes` in pieces the model takes at once (as the engine splits long input).
    fn pieces(&self, phonemes: &[String]) -> Vec<String> {
        let limit = self.config.plbert.max_position_embeddings - 2;
        phonemes.iter().flat_map(|p| split_phonemes(p, limit)).filter(|p| !p.trim().is_empty()).map(str::to_owned).collect()
    }

    /// Speaks `sentences` (phonemes) through the calibrating backend, sentence `i` with voice
    /// `i mod voices.len()` (the style projections see every voice), gathering each matrix's input
    /// Hessian; `progress` is called after each sentence.
    pub fn calibrate(&mut self, sentences: &[String], voices: &[String], progress: &mut dyn FnMut()) -> Result<()> {
        let calibrator = Calibrator::new(&self.weights);
        let model = self.model(&calibrator, &self.weights)?;
        let mut hash = Fnv::default();
        for (i, sentence) in sentences.iter().enumerate() {
            let voice = voices.get(i % voices.len().max(1)).ok_or_else(|| Error::BadOption { option: "voice", reason: "no voices to calibrate with".into() })?;
            for phonemes in self.pieces(std::slice::from_ref(sentence)) {
                let ids = model.tokenize(&phonemes)?;
                let style = self.style(voice, phonemes.chars().count())?;
                pollster::block_on(model.synthesize(&calibrator, &ids, &style, 1.0, 0))?;
            }
            calibrator.flush()?;
            hash.write(voice.as_bytes());
            hash.write(sentence.as_bytes());
            hash.write(b"\n");
            progress();
        }
        self.hessians = calibrator.into_hessians()?;
        self.factors.clear();
        self.cache.clear();
        self.errors.clear();
        self.calibration = format!("{} sentences, voices {}, phonemes fnv1a64 {:016x}", sentences.len(), voices.join(" "), hash.0);
        Ok(())
    }

    /// Sets the held-out sentences that [`Quantizer::evaluate`] speaks (piece `i` with voice
    /// `i mod voices.len()`), and speaks them with the input model.
    pub fn set_evaluation(&mut self, sentences: &[String], voices: &[String]) -> Result<()> {
        let model = self.model(&CpuBackend::default(), &self.weights)?;
        self.eval = self
            .pieces(sentences)
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let voice = voices.get(i % voices.len().max(1)).ok_or_else(|| Error::BadOption { option: "voice", reason: "no voices to evaluate with".into() })?;
                let ids = model.tokenize(p)?;
                let style = self.style(voice, p.chars().count())?;
                // One synthesis in steps (durations, decoder inputs, generator points, audio),
                // keeping what judging starts from.
                let b = &CpuBackend::default();
                let frames = pollster::block_on(model.predict_durations(b, &ids, &style, 1.0))?;
                let inputs = pollster::block_on(model.decoder_inputs(b, &ids, &style, &frames))?;
                let mut generator = vec![pollster::block_on(model.generator_inputs(b, &inputs, &style, 0))?];
                for at in (1..self.config.istftnet.upsample_rates.len()).map(Point::Stage).chain([Point::Post]) {
                    let next = model.advance(b, generator.last().expect("starts with one"), &style, at)?;
                    generator.push(next);
                }
                let reference = pollster::block_on(model.generate(b, generator.last().expect("starts with one"), &style))?;
                Ok(Held { ids, style, reference, inputs, generator })
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// The distortion of a model with `weights` (a full list, as [`Quantizer::assemble`] gives).
    pub fn evaluate(&self, weights: &[(String, Weight)]) -> Result<Distortion> {
        self.judge(weights, Start::Text)
    }

    /// [`Quantizer::evaluate`] for `weights` that differ from the input model's only from
    /// `start` on: what comes before is taken from the input model.
    fn judge(&self, weights: &[(String, Weight)], start: Start) -> Result<Distortion> {
        if self.eval.is_empty() {
            return Err(Error::InvalidArgument { op: "quantize", reason: "no evaluation sentences".into() });
        }
        let model = self.model(&CpuBackend::default(), weights)?;
        // Sentences in parallel: one sentence's small ops leave cores idle. Summed in order.
        let per_sentence = self
            .eval
            .par_iter()
            .map(|Held { ids, style, reference, inputs, generator }| {
                let b = &CpuBackend::default();
                let moved = if start == Start::Text {
                    let frames = pollster::block_on(model.predict_durations(b, ids, style, 1.0))?;
                    reference.durations.iter().zip(&frames).filter(|(a, b)| a != b).count()
                } else {
                    0
                };
                // The sound on the reference's durations: frames align, timing is counted apart.
                let out = match start {
                    Start::Generator(at) => {
                        let inputs = generator.iter().find(|g| g.at() == at).ok_or_else(|| Error::InvalidArgument { op: "quantize", reason: format!("no generator activations at {at:?}") })?;
                        pollster::block_on(model.generate(b, inputs, style))?
                    }
                    Start::Decoder => pollster::block_on(model.decode(b, inputs, style, 0))?,
                    Start::Text | Start::AfterDurations => pollster::block_on(model.synthesize_with_durations(b, ids, style, &reference.durations, 0))?,
                };
                Ok((log_mel_distance(&reference.audio, &out.audio, SAMPLE_RATE), moved, reference.durations.len()))
            })
            .collect::<Result<Vec<_>>>()?;
        let (mut mel, mut moved, mut tokens) = (0.0, 0usize, 0usize);
        for (m, v, t) in per_sentence {
            (mel, moved, tokens) = (mel + m, moved + v, tokens + t);
        }
        Ok(Distortion { mel_db: mel / self.eval.len() as f64, durations_moved: moved as f64 / tokens.max(1) as f64 })
    }

    /// The distortion of another file of the same model (a quantized one): its tensors, read
    /// by the input model's names and shapes, judged as [`Quantizer::evaluate`] judges a plan.
    pub fn evaluate_file(&self, bytes: &Bytes) -> Result<Distortion> {
        let file = GgufFile::parse(bytes)?;
        let weights = collect_weights(&GgufWeights::new(&file, bytes), &self.config, &self.tokens)?;
        self.evaluate(&weights)
    }

    /// Tensor `index` stored as `ty` (or the F16 fallback [`storage_type`] picks for rows that
    /// padding would make larger), rounded by `method`. Cached. GPTQ's result is kept only where
    /// its output error (on the calibration inputs) is below round-to-nearest's: refitting block
    /// scales to corrected rows can lose, most often with ternary blocks.
    pub fn quantized(&mut self, index: usize, ty: GgmlType, method: Method) -> Result<Weight> {
        let (name, w) = &self.weights[index];
        let ty = storage_type(w.shape(), ty);
        if let Some(q) = self.cache.get(&(index, ty, method)) {
            return Ok(q.clone());
        }
        let values = w.to_f32();
        let name = name.clone();
        let fail = move |e: Error| Error::InvalidArgument { op: "quantize", reason: format!("tensor {name:?}: {e}") };
        let nearest = Weight::quantize(w.shape(), &values, ty).map_err(&fail)?;
        let q = match (method, self.hessians.get(&index)) {
            (Method::Gptq, Some(h)) if ty.block_size() > 1 => {
                let factor = match self.factors.entry(index) {
                    Entry::Occupied(f) => f.into_mut(),
                    Entry::Vacant(slot) => slot.insert(h.inverse_factor(DAMPING).map_err(&fail)?),
                };
                let rounded = gptq::quantize(w.shape(), &values, ty, factor).map_err(&fail)?;
                let corrected = gptq::refit_scales(&rounded, &values, &h.to_f32()).map_err(&fail)?;
                let errors = self.output_errors(index, &[&corrected, &nearest, &rounded])?.unwrap_or_default();
                let (g, n) = (errors[0], errors[1]);
                self.errors.insert((index, ty), Rounding { gptq: g, nearest: n, before_refit: errors[2] });
                if g <= n { corrected } else { nearest.clone() }
            }
            _ => nearest.clone(),
        };
        self.cache.insert((index, ty, Method::Nearest), nearest);
        self.cache.insert((index, ty, method), q.clone());
        Ok(q)
    }

    /// The output errors of GPTQ and of round-to-nearest for tensor `index` as `ty`, once
    /// [`Quantizer::quantized`] has rounded it with GPTQ.
    pub fn rounding(&self, index: usize, ty: GgmlType) -> Option<Rounding> {
        self.errors.get(&(index, storage_type(self.weights[index].1.shape(), ty))).copied()
    }

    /// For each of `qs`, `Σ_rows (w − q)ᵀ H (w − q) / Σ_rows wᵀ H w` of tensor `index` stored as
    /// `q`: the share of the layer's output over the calibration inputs that rounding changed,
    /// in energy (None without a Hessian). The products run on the CPU backend's matrix kernel.
    fn output_errors(&self, index: usize, qs: &[&Weight]) -> Result<Option<Vec<f64>>> {
        let Some(h) = self.hessians.get(&index) else { return Ok(None) };
        let d = h.dim();
        let hx = CpuTensor::new(&[d, d], h.to_f32())?;
        let w = self.weights[index].1.to_f32();
        let rows = w.len() / d;
        // Σ (M H) ∘ M for M = rows × d
        let energy = |m: Vec<f32>| -> Result<f64> {
            let mh = CpuBackend::default().linear(&hx, &Weight::f32(&[rows, d], m.clone())?, None)?;
            Ok(mh.data().iter().zip(&m).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum())
        };
        let total = energy(w.clone())?;
        let errors = qs
            .iter()
            .map(|q| {
                let delta: Vec<f32> = w.iter().zip(q.to_f32()).map(|(a, b)| a - b).collect();
                Ok(if total > 0.0 { energy(delta)? / total } else { 0.0 })
            })
            .collect::<Result<_>>()?;
        Ok(Some(errors))
    }

    /// Every weight: matrices as `plan` says (unlisted ones as in the input), the rest as stored.
    pub fn assemble(&mut self, plan: &HashMap<usize, GgmlType>, method: Method) -> Result<Vec<(String, Weight)>> {
        (0..self.weights.len())
            .map(|i| {
                let w = match plan.get(&i) {
                    Some(&ty) => self.quantized(i, ty, method)?,
                    None => self.weights[i].1.clone(),
                };
                Ok((self.weights[i].0.clone(), w))
            })
            .collect()
    }

    /// Stored bytes of tensor `index` as `ty`.
    fn bytes_as(&self, index: usize, ty: GgmlType) -> usize {
        let w = &self.weights[index].1;
        let ty = storage_type(w.shape(), ty);
        w.rows() * ty.bytes_for(crate::quant::padded_row_len(w.row_len(), ty)).unwrap_or(usize::MAX / 4)
    }

    /// The GGUF of `weights` with F16 voices and the quantization metadata.
    pub fn write(&self, weights: &[(String, Weight)], method: Method, extra: &[(String, MetaValue<'static>)]) -> Result<Vec<u8>> {
        let voices = self.voices.iter().map(|(n, v)| Ok((n.clone(), Weight::quantize(&[ROWS, STYLE], &v.to_f32(), GgmlType::F16)?))).collect::<Result<Vec<_>>>()?;
        let types: Vec<String> = weights.iter().filter(|(_, w)| is_matrix(w.shape())).map(|(n, w)| format!("{n}={}", w.format_name())).collect();
        let mut meta = vec![
            ("tritone.quantization.method".to_owned(), MetaValue::string(if self.calibration.is_empty() { Method::Nearest.name() } else { method.name() })),
            ("tritone.quantization.tensor_types".to_owned(), MetaValue::strings(types)),
        ];
        if !self.calibration.is_empty() {
            meta.push(("tritone.quantization.calibration".to_owned(), MetaValue::string(self.calibration.clone())));
        }
        meta.extend(extra.iter().cloned());
        write_packed_model(&self.config, &self.tokens, weights, &voices, &meta)
    }

    /// Everything but the matrices, as [`Quantizer::write`] stores it (F16 voices, the rest as is).
    fn fixed_bytes(&self) -> usize {
        let voices = self.voices.len() * ROWS * STYLE * 2;
        let others: usize = self.weights.iter().filter(|(_, w)| !is_matrix(w.shape())).map(|(_, w)| w.bytes().len()).sum();
        // metadata (the vocabulary, the tensor table) and alignment
        voices + others + 64 * 1024 + self.weights.len() * 160
    }

    /// The evaluations [`Quantizer::sensitivity`] makes: per group, its tensors and the formats
    /// of `ladder` it is judged at, with their bytes. A format within 5 % of an earlier one's
    /// size (Q4_0 and Q4_K unless K's padding of short rows tells them apart) is skipped: the
    /// earlier one stands for it.
    pub fn sensitivity_plan(&self, ladder: &[GgmlType]) -> Vec<GroupFormats> {
        let mut groups: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for (i, name) in self.matrices() {
            groups.entry(group_of(name)).or_default().push(i);
        }
        groups
            .into_iter()
            .map(|(group, members)| {
                let mut rungs: Vec<(GgmlType, usize)> = Vec::new();
                for &ty in ladder {
                    let bytes = members.iter().map(|&i| self.bytes_as(i, ty)).sum();
                    if rungs.iter().all(|&(_, b)| b.abs_diff(bytes) * 20 > bytes) {
                        rungs.push((ty, bytes));
                    }
                }
                GroupFormats { group, members, formats: rungs }
            })
            .collect()
    }

    /// Per group and format of [`Quantizer::sensitivity_plan`]: its bytes, and its distortion
    /// when only it is quantized. With `budgets`, only the rungs some budget's best plan could
    /// use are judged ([`sweep`]); the others stay `None`. `progress` hears of each round and
    /// each evaluation.
    pub fn sensitivity(&mut self, ladder: &[GgmlType], method: Method, budgets: Option<&[usize]>, progress: &mut dyn FnMut(Sweep<'_>)) -> Result<Vec<GroupCost>> {
        let mut costs: Vec<GroupCost> = self
            .sensitivity_plan(ladder)
            .into_iter()
            .map(|GroupFormats { group, members, formats }| GroupCost { group, members, rungs: formats.into_iter().map(|(t, b)| (t, b, None)).collect() })
            .collect();
        let parts: Vec<(&'static str, Vec<usize>, Vec<GgmlType>)> = costs.iter().map(|c| (c.group, c.members.clone(), c.rungs.iter().map(|r| r.0).collect())).collect();
        let fixed = self.fixed_bytes();
        let resblocks = self.config.istftnet.resblock_kernel_sizes.len();
        sweep(&mut costs, fixed, budgets, |round: &[(usize, usize)]| {
            progress(Sweep::Round(round.len()));
            round
                .iter()
                .map(|&(g, r)| {
                    let (group, members, types) = &parts[g];
                    let plan: HashMap<usize, GgmlType> = members.iter().map(|&i| (i, types[r])).collect();
                    let weights = self.assemble(&plan, method)?;
                    let d = self.judge(&weights, Start::of(members.iter().map(|&i| self.weights[i].0.as_str()), resblocks))?;
                    progress(Sweep::Judged(group, types[r], &d));
                    Ok(d)
                })
                .collect()
        })?;
        Ok(costs)
    }

    /// Chooses a format per group so the file fits `budget` bytes with the least sum of squared
    /// scores: [`best_plan`] with this model's fixed bytes (voices, vectors, metadata).
    pub fn plan_budget(&self, costs: &[GroupCost], budget: usize) -> Result<Plan> {
        best_plan(costs, self.fixed_bytes(), budget)
    }
}

/// What [`Quantizer::sensitivity`] is doing: starting a round of this many evaluations, or
/// done with one.
pub enum Sweep<'a> {
    Round(usize),
    Judged(&'a str, GgmlType, &'a Distortion),
}

/// Judges the rungs of `costs` that the best plans for `budgets` could use (every rung without
/// budgets), in rounds: `judge` gets a round's (group, rung) pairs and returns their
/// distortions. An unjudged rung counts as distortion 0, the least it can have; when every
/// budget's best plan uses judged rungs only, judging the others could only make the plans
/// that contain them worse, so the plans are those of judging every rung.
pub fn sweep(costs: &mut [GroupCost], fixed: usize, budgets: Option<&[usize]>, mut judge: impl FnMut(&[(usize, usize)]) -> Result<Vec<Distortion>>) -> Result<()> {
    loop {
        let mut round = std::collections::BTreeSet::new();
        match budgets {
            None => round.extend(costs.iter().enumerate().flat_map(|(g, c)| c.rungs.iter().enumerate().filter(|r| r.1 .2.is_none()).map(move |(r, _)| (g, r)))),
            Some(budgets) => {
                for &budget in budgets {
                    let plan = best_plan(costs, fixed, budget)?;
                    for (g, (c, (_, ty))) in costs.iter().zip(&plan.groups).enumerate() {
                        let r = c.rungs.iter().position(|r| r.0 == *ty).expect("a plan picks its group's rungs");
                        if c.rungs[r].2.is_none() {
                            round.insert((g, r));
                        }
                    }
                }
            }
        }
        if round.is_empty() {
            return Ok(());
        }
        let round: Vec<(usize, usize)> = round.into_iter().collect();
        for ((g, r), d) in round.iter().zip(judge(&round)?) {
            costs[*g].rungs[*r].2 = Some(d);
        }
    }
}

/// The format per group that fits the file (`fixed` bytes plus the groups' rungs) in `budget`
/// bytes with the least sum of squared scores (see the module docs; an unjudged rung scores 0).
/// Each group's choices are the rungs no other rung beats in both size and distortion (a K
/// format padding short rows can be larger than a 32-block one).
pub fn best_plan(costs: &[GroupCost], fixed: usize, budget: usize) -> Result<Plan> {
    // Distortions of independent parts add in quadrature, so the plan minimizes the sum of
    // squared scores: a step's cost is the growth of its part's square.
    let score = |d: &Option<Distortion>| d.as_ref().map_or(0.0, |d| (d.mel_db + 10.0 * d.durations_moved).powi(2));
    let fronts: Vec<Vec<(GgmlType, usize, f64)>> = costs
        .iter()
        .map(|c| {
            let mut rungs: Vec<(GgmlType, usize, f64)> = c.rungs.iter().map(|(t, b, d)| (*t, *b, score(d))).collect();
            rungs.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.total_cmp(&b.2)));
            let mut front: Vec<(GgmlType, usize, f64)> = Vec::new();
            for r in rungs {
                // a smaller rung stays only if nothing smaller or equal is at least as good
                while front.last().is_some_and(|l| l.2 >= r.2) {
                    front.pop();
                }
                if front.last().is_none_or(|l| l.1 > r.1) {
                    front.push(r);
                }
            }
            front
        })
        .collect();
    let size = |rung: &[usize]| fixed + fronts.iter().zip(rung).map(|(f, &r)| f[r].1).sum::<usize>();
    let smallest: Vec<usize> = fronts.iter().map(|f| f.len() - 1).collect();
    if size(&smallest) > budget {
        return Err(Error::BadOption { option: "budget", reason: format!("{budget} bytes is below the smallest plan this ladder allows ({} bytes)", size(&smallest)) });
    }
    // The least sum of squared scores within the budget, exactly: a knapsack with one
    // choice per group over sizes in KiB (each rung rounded up, so the plan fits).
    let cells = (budget - fixed) / KIB;
    let cost = |bytes: usize| bytes.div_ceil(KIB);
    let mut best = vec![f64::INFINITY; cells + 1];
    best[0] = 0.0;
    let mut choice: Vec<Vec<u8>> = Vec::with_capacity(fronts.len());
    for front in &fronts {
        let mut next = vec![f64::INFINITY; cells + 1];
        let mut pick = vec![u8::MAX; cells + 1];
        for (c, &so_far) in best.iter().enumerate().filter(|(_, v)| v.is_finite()) {
            for (r, &(_, bytes, score)) in front.iter().enumerate() {
                let to = c + cost(bytes);
                if to <= cells && so_far + score < next[to] {
                    next[to] = so_far + score;
                    pick[to] = r as u8;
                }
            }
        }
        best = next;
        choice.push(pick);
    }
    // Lowest total score; among equals, the smallest file.
    let Some(mut c) = (0..=cells).filter(|&c| best[c].is_finite()).min_by(|&a, &b| best[a].total_cmp(&best[b]).then(a.cmp(&b))) else {
        return Err(Error::BadOption { option: "budget", reason: format!("{budget} bytes leaves no plan once sizes are rounded up to KiB") });
    };
    let mut rung = vec![0usize; fronts.len()];
    for g in (0..fronts.len()).rev() {
        let r = usize::from(choice[g][c]);
        rung[g] = r;
        c -= cost(fronts[g][r].1);
    }
    let chosen: Vec<GgmlType> = fronts.iter().zip(&rung).map(|(f, &r)| f[r].0).collect();
    let groups = costs.iter().zip(&chosen).map(|(c, &t)| (c.group, t)).collect();
    let tensors = costs.iter().zip(&chosen).flat_map(|(c, &t)| c.members.iter().map(move |&i| (i, t))).collect();
    // Independent perturbations: their distances add roughly in quadrature.
    let predicted = costs.iter().zip(&chosen).map(|(c, &t)| c.rungs.iter().find(|r| r.0 == t).and_then(|r| r.2.as_ref()).map_or(0.0, |d| d.mel_db.powi(2))).sum::<f64>().sqrt();
    Ok(Plan { groups, tensors, predicted_mel_db: predicted, estimated_bytes: size(&rung) })
}

/// A group's tensors and the formats it is judged at, with their bytes.
#[derive(Clone, Debug)]
pub struct GroupFormats {
    pub group: &'static str,
    pub members: Vec<usize>,
    pub formats: Vec<(GgmlType, usize)>,
}

/// A group's bytes and distortion at each rung of the ladder.
#[derive(Clone, Debug)]
pub struct GroupCost {
    pub group: &'static str,
    pub members: Vec<usize>,
    /// (format, bytes, distortion when only this group is quantized; `None` if not judged)
    pub rungs: Vec<(GgmlType, usize, Option<Distortion>)>,
}

/// The formats [`Quantizer::plan_budget`] chose.
#[derive(Clone, Debug)]
pub struct Plan {
    pub groups: Vec<(&'static str, GgmlType)>,
    pub tensors: HashMap<usize, GgmlType>,
    /// The chosen rungs' distances measured alone, added in quadrature (the prediction).
    pub predicted_mel_db: f64,
    pub estimated_bytes: usize,
}

fn is_matrix(shape: &[usize]) -> bool {
    storage_type(shape, GgmlType::Q8_0) != GgmlType::F32
}

/// FNV-1a, 64 bits: names the calibration text in the file's metadata.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::group_of;

    #[test]
    fn tensors_fall_into_their_parts() {
        for (name, group) in [
            ("bert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight", "albert"),
            ("predictor.F0.1.conv1.weight", "f0_energy"),
            ("predictor.F0.1.norm1.fc.weight", "style_fc"),
            ("decoder.encode.conv1.weight", "decoder"),
            ("decoder.F0_conv.weight", "decoder"),
            ("decoder.decode.0.conv1.weight", "decoder_decode0"),
            ("decoder.decode.3.conv2.weight", "decoder_decode3"),
            ("decoder.decode.3.norm1.fc.weight", "style_fc"),
            ("decoder.generator.resblocks.2.convs1.0.weight", "generator_resblocks_256"),
            ("decoder.generator.resblocks.5.convs2.2.weight", "generator_resblocks_128"),
            ("decoder.generator.ups.1.weight", "generator_upsample"),
            ("decoder.generator.noise_res.0.convs1.0.weight", "generator_noise"),
        ] {
            assert_eq!(group_of(name), group, "{name}");
        }
    }
}
