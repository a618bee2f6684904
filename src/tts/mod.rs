//! The engine façade: a model file in, speech out. [`Engine`] picks the backend at run time
//! (CPU or GPU), holds the voices, validates [`SynthesisOptions`], splits long input
//! ([`chunking`]) and joins the pieces. The CLI, the wasm API and the server all speak through it.

pub mod chunking;

use std::str::FromStr;

use bytes::Bytes;

use crate::backend::{Backend, CpuBackend, GpuBackend, Weight};
use crate::config::KokoroConfig;
use crate::error::{Error, Result};
use crate::formats::ttscpp::{is_ttscpp_kokoro, translate};
use crate::gguf::GgufFile;
use crate::model::kokoro::{Kokoro, StageTimes};
use crate::model::voices::{style_row, VoiceMix, ROWS, STYLE};
use crate::model::weights::{GgufWeights, TranslatedWeights, WeightSource};
use crate::phonemize::{Language, Segment};
use chunking::{join, split_phonemes};

/// Output sample rate.
pub const SAMPLE_RATE: u32 = 24_000;

/// Which backend an [`Engine`] runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// The GPU when one is present and runs every op, else the CPU.
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl FromStr for BackendChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" | "webgpu" => Ok(Self::Gpu),
            other => Err(Error::BadOption { option: "backend", reason: format!("{other:?}: expected auto, cpu or gpu") }),
        }
    }
}

/// How to speak: the voice (a name or a blend such as `"af_bella(2)+af_sky(1)"`), the speed
/// (1 is normal), the seed of the vocoder's noise (the same seed gives the same audio), and the
/// language the text is phonemized in (`None`: from the voice's first letter).
#[derive(Clone, Debug, PartialEq)]
pub struct SynthesisOptions {
    pub voice: String,
    pub speed: f32,
    pub seed: u64,
    pub language: Option<Language>,
}

impl SynthesisOptions {
    pub fn new(voice: impl Into<String>) -> Self {
        Self { voice: voice.into(), speed: 1.0, seed: 0, language: None }
    }

    /// The parsed voice blend, or the first option that is out of range.
    fn validate(&self) -> Result<VoiceMix> {
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(Error::BadOption { option: "speed", reason: format!("must be a positive number, got {}", self.speed) });
        }
        VoiceMix::parse(&self.voice)
    }

    /// The language text is phonemized in.
    pub fn language(&self) -> Language {
        self.language.unwrap_or_else(|| Language::for_voice(&self.voice))
    }
}

/// Speech for a whole input.
#[derive(Clone, Debug)]
pub struct Speech {
    pub audio: Vec<f32>,
    /// Per chunk: the phonemes spoken and frames per token (boundary tokens included).
    pub chunks: Vec<(String, Vec<usize>)>,
    pub times: StageTimes,
    /// Backend ops recorded for this speech (GPU: compute dispatches; CPU: kernel calls).
    pub ops: u64,
}

/// A model on one backend with its voices (kept packed as stored; a voice is decoded when used).
pub struct Voiced<B: Backend> {
    pub model: Kokoro<B>,
    voices: Vec<(String, Weight)>,
}

impl<B: Backend> Voiced<B> {
    /// A tritone GGUF, or one of TTS.cpp's Kokoro files. The weights stay packed in `bytes`
    /// (shared, not copied).
    pub fn from_gguf(b: &B, bytes: &Bytes) -> Result<Self> {
        let file = GgufFile::parse(bytes)?;
        if is_ttscpp_kokoro(&file) {
            let t = translate(&file)?;
            let src = TranslatedWeights { translated: &t, bytes };
            return Self::assemble(b, &src, t.config.clone(), &t.tokens, &t.voices);
        }
        let config = KokoroConfig::from_gguf(&file)?;
        let tokens: Vec<String> = file.get_str_array("tokenizer.ggml.tokens")?.into_iter().map(str::to_owned).collect();
        let voices: Vec<String> = file.get_str_array("kokoro.voices")?.into_iter().map(str::to_owned).collect();
        Self::assemble(b, &GgufWeights::new(&file, bytes), config, &tokens, &voices)
    }

    /// From any weight source (voices as `voices.{name}` `[510, 256]`).
    pub fn assemble(b: &B, src: &dyn WeightSource, config: KokoroConfig, tokens: &[String], voice_names: &[String]) -> Result<Self> {
        let voices = voice_names.iter().map(|v| Ok((v.clone(), src.tensor(&format!("voices.{v}"), &[ROWS, STYLE])?))).collect::<Result<Vec<_>>>()?;
        Ok(Self { model: Kokoro::load(b, src, config, tokens)?, voices })
    }

    pub fn voice_names(&self) -> Vec<String> {
        self.voices.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The voice pack of a blend.
    pub fn voice(&self, mix: &VoiceMix) -> Result<Vec<f32>> {
        let names = self.voice_names();
        let packs: Vec<(String, Vec<f32>)> = mix
            .0
            .iter()
            .filter_map(|(n, _)| self.voices.iter().find(|(v, _)| v == n))
            .map(|(n, w)| (n.clone(), w.to_f32()))
            .collect();
        mix.blend(&names, |n| packs.iter().find(|(v, _)| v == n).map(|(_, p)| p.as_slice()).ok_or_else(|| Error::UnknownVoice { name: n.into(), available: names.clone() }))
    }

    /// Speaks `phonemes` (any length) with a voice pack at `speed`, noise seeded by `seed`.
    async fn speak(&self, b: &B, phonemes: &str, pack: &[f32], speed: f32, seed: u64) -> Result<Speech> {
        let limit = self.model.config.plbert.max_position_embeddings - 2;
        let pieces = split_phonemes(phonemes, limit);
        if pieces.is_empty() {
            return Err(Error::EmptyInput { detail: "no phonemes".into() });
        }
        let ops = b.ops_recorded();
        let mut speech = Speech { audio: Vec::new(), chunks: Vec::new(), times: StageTimes::default(), ops: 0 };
        for (i, piece) in pieces.into_iter().enumerate() {
            let ids = self.model.tokenize(piece)?;
            let style = style_row(pack, piece.chars().count());
            // Each chunk its own noise stream; the first uses `seed` itself (as the reference).
            let out = self.model.synthesize(b, &ids, style, speed, seed.wrapping_add(i as u64)).await?;
            join(&mut speech.audio, out.audio);
            speech.chunks.push((piece.to_owned(), out.durations));
            speech.times.add(&out.times);
        }
        speech.ops = b.ops_recorded() - ops;
        Ok(speech)
    }

    /// Speaks phonemized text: each segment at `speed` times its own rate, followed by its
    /// pause (SSML `<break>`, paragraph ends) as silence.
    async fn speak_segments(&self, b: &B, segments: &[Segment], opts: &SynthesisOptions) -> Result<Speech> {
        let pack = self.voice(&opts.validate()?)?;
        let mut speech = Speech { audio: Vec::new(), chunks: Vec::new(), times: StageTimes::default(), ops: 0 };
        for segment in segments {
            if !segment.phonemes.trim().is_empty() {
                let seed = opts.seed.wrapping_add(speech.chunks.len() as u64);
                let part = self.speak(b, &segment.phonemes, &pack, opts.speed * segment.rate, seed).await?;
                join(&mut speech.audio, part.audio);
                speech.chunks.extend(part.chunks);
                speech.times.add(&part.times);
                speech.ops += part.ops;
            }
            speech.audio.extend(std::iter::repeat_n(0.0, segment.pause_ms as usize * SAMPLE_RATE as usize / 1000));
        }
        if speech.chunks.is_empty() {
            return Err(Error::EmptyInput { detail: "no phonemes in the input".into() });
        }
        Ok(speech)
    }
}

/// A loaded model on the backend chosen at run time.
pub enum Engine {
    Cpu { tts: Box<Voiced<CpuBackend>>, reason: String },
    Gpu { tts: Box<Voiced<GpuBackend>>, gpu: GpuBackend },
}

impl Engine {
    /// Loads a GGUF model on the CPU.
    pub fn cpu(bytes: &Bytes, reason: impl Into<String>) -> Result<Self> {
        Ok(Engine::Cpu { tts: Box::new(Voiced::from_gguf(&CpuBackend, bytes)?), reason: reason.into() })
    }

    /// Loads a GGUF model on the backend `choice` asks for. `Auto` takes the GPU only when an
    /// adapter opens and the GPU backend runs every op; otherwise the CPU, saying why.
    pub async fn load(bytes: &Bytes, choice: BackendChoice) -> Result<Self> {
        match choice {
            BackendChoice::Cpu => Self::cpu(bytes, "asked for"),
            BackendChoice::Gpu => {
                let gpu = GpuBackend::new().await?;
                Ok(Engine::Gpu { tts: Box::new(Voiced::from_gguf(&gpu, bytes)?), gpu })
            }
            BackendChoice::Auto => {
                let missing = GpuBackend::missing_ops();
                if !missing.is_empty() {
                    return Self::cpu(bytes, format!("the GPU backend lacks {} of the {} ops ({}, …)", missing.len(), crate::backend::OPS.len(), missing[0]));
                }
                match GpuBackend::new().await {
                    Ok(gpu) => Ok(Engine::Gpu { tts: Box::new(Voiced::from_gguf(&gpu, bytes)?), gpu }),
                    Err(e) => Self::cpu(bytes, format!("no GPU: {e}")),
                }
            }
        }
    }

    /// The backend's name, e.g. `"CPU (wasm simd128)"`.
    pub fn backend(&self) -> String {
        match self {
            Engine::Cpu { .. } => CpuBackend.name(),
            Engine::Gpu { gpu, .. } => gpu.name(),
        }
    }

    /// Why this backend runs (empty on the GPU).
    pub fn backend_reason(&self) -> &str {
        match self {
            Engine::Cpu { reason, .. } => reason,
            Engine::Gpu { .. } => "",
        }
    }

    pub fn config(&self) -> &KokoroConfig {
        match self {
            Engine::Cpu { tts, .. } => &tts.model.config,
            Engine::Gpu { tts, .. } => &tts.model.config,
        }
    }

    pub fn voices(&self) -> Vec<String> {
        match self {
            Engine::Cpu { tts, .. } => tts.voice_names(),
            Engine::Gpu { tts, .. } => tts.voice_names(),
        }
    }

    /// Speaks phonemes (any length; split where the reference pipeline would).
    pub async fn speak(&self, phonemes: &str, opts: &SynthesisOptions) -> Result<Speech> {
        let segment = Segment { phonemes: phonemes.to_owned(), words: Vec::new(), rate: 1.0, pause_ms: 0 };
        self.speak_segments(std::slice::from_ref(&segment), opts).await
    }

    /// Speaks phonemized text (segments with their rates and pauses).
    pub async fn speak_segments(&self, segments: &[Segment], opts: &SynthesisOptions) -> Result<Speech> {
        match self {
            Engine::Cpu { tts, .. } => tts.speak_segments(&CpuBackend, segments, opts).await,
            Engine::Gpu { tts, gpu } => tts.speak_segments(gpu, segments, opts).await,
        }
    }
}
