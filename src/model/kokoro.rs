//! `KModel`: phonemes and a voice to 24 kHz samples, stage by stage over one backend.

use std::collections::HashMap;

use super::albert::Albert;
use crate::config::KokoroConfig;
use super::decoder::Decoder;
use super::generator::{Generator, Point};
use super::layers::Linear;
use super::noise;
use super::predictor::{durations, DurationEncoder, DurationHead, F0N};
use super::text_encoder::TextEncoder;
use super::voices::STYLE;
use super::weights::WeightSource;
use crate::audio::stft::Spectrogram;
use crate::backend::{now_ms, Backend};
use crate::error::{Error, Result};

/// Milliseconds spent in each stage of one synthesis.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    pub albert: f64,
    pub predictor: f64,
    pub text_encoder: f64,
    pub decoder: f64,
    pub generator: f64,
    pub istft: f64,
}

impl StageTimes {
    /// Adds another synthesis's times, stage by stage.
    pub fn add(&mut self, other: &StageTimes) {
        self.albert += other.albert;
        self.predictor += other.predictor;
        self.text_encoder += other.text_encoder;
        self.decoder += other.decoder;
        self.generator += other.generator;
        self.istft += other.istft;
    }
}

/// Where the frames per token come from.
#[derive(Clone, Copy)]
enum Timing<'f> {
    Predicted { speed: f32 },
    Given(&'f [usize]),
}

/// One synthesized utterance.
#[derive(Clone, Debug)]
pub struct Synthesis {
    pub audio: Vec<f32>,
    /// Frames per input token, the two boundary tokens included (600 samples per frame for
    /// Kokoro-82M).
    pub durations: Vec<usize>,
    pub times: StageTimes,
}

pub struct Kokoro<B: Backend> {
    pub config: KokoroConfig,
    vocab: HashMap<char, u32>,
    albert: Albert<B>,
    bert_encoder: Linear<B>,
    duration_encoder: DurationEncoder<B>,
    duration_head: DurationHead<B>,
    f0n: F0N<B>,
    text_encoder: TextEncoder<B>,
    decoder: Decoder<B>,
    generator: Generator<B>,
}

impl<B: Backend> Kokoro<B> {
    /// `tokens[id]` is the symbol of token id `id` (`""` for unused ids), as in
    /// `tokenizer.ggml.tokens`.
    pub fn load(b: &B, src: &dyn WeightSource, config: KokoroConfig, tokens: &[String]) -> Result<Self> {
        config.validate()?;
        let mut vocab = HashMap::new();
        for (id, symbol) in tokens.iter().enumerate() {
            let mut chars = symbol.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                vocab.insert(c, id as u32);
            }
        }
        let c = &config;
        Ok(Self {
            vocab,
            albert: Albert::load(b, src, &c.plbert, c.n_token)?,
            bert_encoder: Linear::load(b, src, "bert_encoder", c.plbert.hidden_size, c.hidden_dim)?,
            duration_encoder: DurationEncoder::load(b, src, c)?,
            duration_head: DurationHead::load(b, src, c)?,
            f0n: F0N::load(b, src, c)?,
            text_encoder: TextEncoder::load(b, src, c)?,
            decoder: Decoder::load(b, src, c)?,
            generator: Generator::load(b, src, c)?,
            config,
        })
    }

    /// Output samples per duration frame (600 for Kokoro-82M).
    pub fn samples_per_frame(&self) -> usize {
        2 * self.generator.upsample_scale
    }

    /// Phoneme string → token ids with the boundary token 0 on each side. Symbols outside the
    /// vocabulary are an error naming them (the reference drops them silently).
    pub fn tokenize(&self, phonemes: &str) -> Result<Vec<u32>> {
        let mut unknown: Vec<char> = phonemes.chars().filter(|c| !self.vocab.contains_key(c)).collect();
        if !unknown.is_empty() {
            unknown.dedup();
            return Err(Error::UnknownPhonemes { symbols: unknown });
        }
        if phonemes.trim().is_empty() {
            return Err(Error::EmptyInput { detail: "no phonemes".into() });
        }
        let limit = self.config.plbert.max_position_embeddings - 2;
        let ids: Vec<u32> = phonemes.chars().map(|c| self.vocab[&c]).collect();
        if ids.len() > limit {
            return Err(Error::InvalidArgument { op: "tokenize", reason: format!("{} phonemes exceed the model's {limit} per chunk", ids.len()) });
        }
        Ok([0].into_iter().chain(ids).chain([0]).collect())
    }

    /// Synthesizes `ids` (from [`Kokoro::tokenize`]) with a 256-value style row, at `speed`
    /// (> 0; 1 is normal), with the source noise drawn from `seed`.
    pub async fn synthesize(&self, b: &B, ids: &[u32], style: &[f32], speed: f32, seed: u64) -> Result<Synthesis> {
        self.run(b, ids, style, Timing::Predicted { speed }, seed).await
    }

    /// [`Kokoro::synthesize`] with the frames per token given (boundary tokens included; e.g.
    /// another model's durations), so two models' audio align frame for frame.
    pub async fn synthesize_with_durations(&self, b: &B, ids: &[u32], style: &[f32], frames: &[usize], seed: u64) -> Result<Synthesis> {
        check_frames(ids, frames)?;
        self.run(b, ids, style, Timing::Given(frames), seed).await
    }

    /// The frames per token [`Kokoro::synthesize`] would use, without the audio.
    pub async fn predict_durations(&self, b: &B, ids: &[u32], style: &[f32], speed: f32) -> Result<Vec<usize>> {
        let s_p = self.prosody_style(b, style, speed)?;
        let (_, frames) = self.encode_durations(b, ids, &s_p, Timing::Predicted { speed }, &mut || {}).await?;
        Ok(frames)
    }

    /// The prosody half of a style row on the device, after checking the row and the speed.
    fn prosody_style(&self, b: &B, style: &[f32], speed: f32) -> Result<B::Tensor> {
        if style.len() != STYLE {
            return Err(Error::InvalidArgument { op: "synthesize", reason: format!("style has {} values, expected {STYLE}", style.len()) });
        }
        if !(speed.is_finite() && speed > 0.0) {
            return Err(Error::BadOption { option: "speed", reason: format!("must be a positive number, got {speed}") });
        }
        b.upload(&[STYLE / 2, 1], &style[STYLE / 2..])
    }

    /// ALBERT, the duration encoder and (unless given) the durations: `([hidden + style, t],
    /// frames)`; `after_albert` is called between the two (stage times).
    async fn encode_durations(&self, b: &B, ids: &[u32], s_p: &B::Tensor, timing: Timing<'_>, after_albert: &mut dyn FnMut()) -> Result<(B::Tensor, Vec<usize>)> {
        let bert = self.albert.forward(b, ids)?; // [plbert, t]
        let d_en = self.bert_encoder.forward(b, &bert)?; // [hidden, t]
        after_albert();
        let d = self.duration_encoder.forward(b, &d_en, s_p)?; // [hidden + style, t]
        let frames = match timing {
            Timing::Given(frames) => frames.to_vec(),
            Timing::Predicted { speed } => {
                let logits = b.read(&self.duration_head.forward(b, &d)?).await?; // the one mid-forward readback
                durations(&logits, self.config.max_dur, ids.len(), speed).1
            }
        };
        Ok((d, frames))
    }

    /// What the decoder takes for `ids` spoken on `frames` (boundary tokens included): the
    /// text encoder's features and the predicted F0 and energy, frame by frame. With
    /// [`Kokoro::decode`] it is [`Kokoro::synthesize_with_durations`] in two halves, so a model
    /// that differs from another only in the decoder (or generator) can start from the other's
    /// inputs.
    pub async fn decoder_inputs(&self, b: &B, ids: &[u32], style: &[f32], frames: &[usize]) -> Result<DecoderInputs<B>> {
        check_frames(ids, frames)?;
        let mut times = StageTimes::default();
        self.prepare(b, ids, style, Timing::Given(frames), &mut times, &mut now_ms()).await
    }

    /// The decoder and generator on `inputs` (from [`Kokoro::decoder_inputs`]) with the timbre
    /// half of `style`, and the source noise drawn from `seed`.
    pub async fn decode(&self, b: &B, inputs: &DecoderInputs<B>, style: &[f32], seed: u64) -> Result<Synthesis> {
        let mut times = StageTimes::default();
        self.render(b, inputs, style, seed, &mut times, &mut now_ms()).await
    }

    /// The generator's input for `inputs` (the decoder's output, at [`Point::Stage`] 0) and its
    /// source spectrogram: [`Kokoro::decode`] is [`Kokoro::generate`] on it.
    pub async fn generator_inputs(&self, b: &B, inputs: &DecoderInputs<B>, style: &[f32], seed: u64) -> Result<GeneratorInputs<B>> {
        self.enter_generator(b, inputs, style, seed, &mut StageTimes::default(), &mut now_ms()).await
    }

    /// `inputs` carried through the generator to `to`: a model that differs from another only
    /// after `to` can start from the other's activations there.
    pub fn advance(&self, b: &B, inputs: &GeneratorInputs<B>, style: &[f32], to: Point) -> Result<GeneratorInputs<B>> {
        let s_d = self.timbre(b, style)?;
        let x = self.generator.forward_between(b, &inputs.x, &s_d, &inputs.har, inputs.at, to)?;
        Ok(GeneratorInputs { at: to, x, har: inputs.har.clone(), frames: inputs.frames.clone() })
    }

    /// The rest of the generator from `inputs`, and the inverse STFT.
    pub async fn generate(&self, b: &B, inputs: &GeneratorInputs<B>, style: &[f32]) -> Result<Synthesis> {
        let mut times = StageTimes::default();
        self.finish(b, inputs, style, &mut times, &mut now_ms()).await
    }

    /// The decoder style (`[style/2, 1]`, the timbre half), after checking `style`'s length.
    fn timbre(&self, b: &B, style: &[f32]) -> Result<B::Tensor> {
        if style.len() != STYLE {
            return Err(Error::InvalidArgument { op: "synthesize", reason: format!("style has {} values, expected {STYLE}", style.len()) });
        }
        b.upload(&[STYLE / 2, 1], &style[..STYLE / 2])
    }

    async fn run(&self, b: &B, ids: &[u32], style: &[f32], timing: Timing<'_>, seed: u64) -> Result<Synthesis> {
        let mut times = StageTimes::default();
        let mut clock = now_ms();
        let inputs = self.prepare(b, ids, style, timing, &mut times, &mut clock).await?;
        self.render(b, &inputs, style, seed, &mut times, &mut clock).await
    }

    /// ALBERT, the durations (unless given), F0 and energy, the text encoder.
    async fn prepare(&self, b: &B, ids: &[u32], style: &[f32], timing: Timing<'_>, times: &mut StageTimes, clock: &mut f64) -> Result<DecoderInputs<B>> {
        let speed = match timing {
            Timing::Predicted { speed } => speed,
            Timing::Given(_) => 1.0,
        };
        let s_p = self.prosody_style(b, style, speed)?; // predictor: prosody
        let mut lap = |slot: &mut f64| stage_lap(slot, clock);
        let (d, frames) = self.encode_durations(b, ids, &s_p, timing, &mut || lap(&mut times.albert)).await?;
        let en = b.repeat_interleave(&d, &frames)?; // [hidden + style, frames]
        let (f0, n) = self.f0n.forward(b, &en, &s_p)?; // [1, 2·frames] each
        lap(&mut times.predictor);
        let t_en = self.text_encoder.forward(b, ids)?; // [hidden, t]
        let asr = b.repeat_interleave(&t_en, &frames)?; // [hidden, frames]
        lap(&mut times.text_encoder);
        Ok(DecoderInputs { asr, f0, n, frames })
    }

    /// The decoder, the generator and the inverse STFT.
    async fn render(&self, b: &B, inputs: &DecoderInputs<B>, style: &[f32], seed: u64, times: &mut StageTimes, clock: &mut f64) -> Result<Synthesis> {
        let generator_inputs = self.enter_generator(b, inputs, style, seed, times, clock).await?;
        self.finish(b, &generator_inputs, style, times, clock).await
    }

    /// The decoder, then the generator's source spectrogram from F0 and `seed`.
    async fn enter_generator(&self, b: &B, inputs: &DecoderInputs<B>, style: &[f32], seed: u64, times: &mut StageTimes, clock: &mut f64) -> Result<GeneratorInputs<B>> {
        let s_d = self.timbre(b, style)?;
        let DecoderInputs { asr, f0, n, frames } = inputs;
        let x = self.decoder.forward(b, asr, f0, n, &s_d)?; // [channels, 2·frames]
        let f0_host = b.read(f0).await?;
        stage_lap(&mut times.decoder, clock);
        let samples = f0_host.len() * self.generator.upsample_scale;
        let (_, har) = self.generator.source_spectrogram(&f0_host, &noise::rand_ini(seed), &noise::sine_noise(samples, seed))?;
        Ok(GeneratorInputs { at: Point::Stage(0), x, har, frames: frames.clone() })
    }

    /// The generator from `inputs` on, and the inverse STFT.
    async fn finish(&self, b: &B, inputs: &GeneratorInputs<B>, style: &[f32], times: &mut StageTimes, clock: &mut f64) -> Result<Synthesis> {
        let s_d = self.timbre(b, style)?;
        let post = self.generator.forward_between(b, &inputs.x, &s_d, &inputs.har, inputs.at, Point::Output)?;
        let post_frames = b.shape(&post)[1];
        let post = b.read(&post).await?;
        stage_lap(&mut times.generator, clock);
        let audio = self.generator.to_audio(&post, post_frames)?;
        stage_lap(&mut times.istft, clock);
        Ok(Synthesis { audio, durations: inputs.frames.clone(), times: times.clone() })
    }
}

/// Given frames per token: one per token, not all zero.
fn check_frames(ids: &[u32], frames: &[usize]) -> Result<()> {
    if frames.len() != ids.len() || frames.iter().all(|&f| f == 0) {
        return Err(Error::InvalidArgument { op: "synthesize", reason: format!("{} durations for {} tokens (and not all zero)", frames.len(), ids.len()) });
    }
    Ok(())
}

/// Adds the time since `clock` to `slot` and restarts `clock` (stage times).
fn stage_lap(slot: &mut f64, clock: &mut f64) {
    let now = now_ms();
    *slot += now - *clock;
    *clock = now;
}

/// The decoder's inputs for one utterance (see [`Kokoro::decoder_inputs`]).
pub struct DecoderInputs<B: Backend> {
    asr: B::Tensor,
    f0: B::Tensor,
    n: B::Tensor,
    frames: Vec<usize>,
}

/// The generator's activations at one of its points for one utterance, with its source
/// spectrogram (see [`Kokoro::generator_inputs`] and [`Kokoro::advance`]).
pub struct GeneratorInputs<B: Backend> {
    at: Point,
    x: B::Tensor,
    har: Spectrogram,
    frames: Vec<usize>,
}

impl<B: Backend> GeneratorInputs<B> {
    /// Where in the generator these activations are.
    pub fn at(&self) -> Point {
        self.at
    }
}
