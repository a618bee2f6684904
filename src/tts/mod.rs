//! The engine façade: a model file in, speech out. [`Engine`] picks the backend at run time
//! (CPU or GPU), holds the voices, validates [`SynthesisOptions`], splits long input
//! ([`chunking`]) and joins the pieces. The CLI, the wasm API and the server all speak through it.

#[cfg(not(target_arch = "wasm32"))]
pub mod calibrate;
pub mod chunking;
#[cfg(not(target_arch = "wasm32"))]
pub mod quantize;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::str::FromStr;

use bytes::Bytes;

use crate::backend::{Backend, CpuBackend, GpuBackend, OpTimes, Weight};
use crate::config::KokoroConfig;
use crate::error::{Error, Result};
use crate::formats::ttscpp::{is_ttscpp_kokoro, translate};
use crate::gguf::GgufFile;
use crate::model::kokoro::{Kokoro, StageTimes};
use crate::model::voices::{style_row, VoiceMix, ROWS, STYLE};
use crate::model::weights::{GgufWeights, TranslatedWeights, WeightSource};
use crate::phonemize::{Language, Segment};
use chunking::{split_first_clause, split_phonemes, split_sentences, word_times, Joiner, WordTime};

/// Output sample rate.
pub const SAMPLE_RATE: u32 = 24_000;

/// The effective speaking rate (speed × an SSML `<prosody rate>`) is held to this range: beyond
/// it speech is unintelligible, and a tiny rate would make a short input minutes long.
const MIN_RATE: f32 = 0.1;
const MAX_RATE: f32 = 10.0;

/// Streaming: a first sentence longer than this (in phonemes, about 3 s of speech) is cut
/// after its first clause.
const FIRST_PIECE_MAX: usize = 80;

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
    /// Synthesize sentence by sentence (streaming: audio starts after the first sentence)
    /// instead of in the longest pieces the model takes (the reference pipeline's choice).
    pub by_sentence: bool,
}

impl SynthesisOptions {
    pub fn new(voice: impl Into<String>) -> Self {
        Self { voice: voice.into(), speed: 1.0, seed: 0, language: None, by_sentence: false }
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
    /// When each word is spoken (words the phonemizer reported; none for raw phonemes).
    pub words: Vec<WordTime>,
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

    /// Plans speaking phonemized text piece by piece: each segment at `opts.speed` times its
    /// own rate, split where the reference pipeline would (or by sentence), followed by its
    /// pause as silence. Refuses bad options and empty input before any audio exists.
    fn start(&self, segments: &[Segment], opts: &SynthesisOptions) -> Result<SpeechStream> {
        let pack = self.voice(&opts.validate()?)?;
        // Refused before anything is synthesized: a stream starts with speech or not at all.
        if segments.iter().all(|s| s.phonemes.trim().is_empty()) {
            return Err(Error::EmptyInput { detail: "no phonemes in the input".into() });
        }
        let limit = self.model.config.plbert.max_position_embeddings - 2;
        let mut steps = VecDeque::new();
        for (index, segment) in segments.iter().enumerate() {
            let pieces = split_phonemes(&segment.phonemes, limit);
            let mut pieces: Vec<&str> = if opts.by_sentence { pieces.into_iter().flat_map(split_sentences).collect() } else { pieces };
            // Streaming: a long first sentence starts with its first clause, so audio starts early.
            if opts.by_sentence && !pieces.is_empty() && !steps.iter().any(|s| matches!(s, Step::Speak { .. })) {
                let first = split_first_clause(pieces.remove(0), FIRST_PIECE_MAX);
                pieces.splice(0..0, first);
            }
            let speed = (opts.speed * segment.rate).clamp(MIN_RATE, MAX_RATE);
            steps.extend(pieces.into_iter().map(|p| Step::Speak { phonemes: p.to_owned(), segment: index, speed }));
            let silence = segment.pause_ms as usize * SAMPLE_RATE as usize / 1000;
            if silence > 0 {
                steps.push_back(Step::Pause(silence));
            }
        }
        steps.push_back(Step::Finish);
        let words = segments.iter().map(|s| s.words.clone()).collect();
        Ok(SpeechStream { pack, steps, words, next_word: (0, 0), joiner: Joiner::default(), spoken: 0, seed: opts.seed })
    }

    /// The next chunk of `stream` (synthesizing one piece), or `None` after the last.
    async fn next(&self, b: &B, stream: &mut SpeechStream) -> Result<Option<SpeechChunk>> {
        let Some(step) = stream.steps.pop_front() else { return Ok(None) };
        Ok(Some(match step {
            Step::Speak { phonemes, segment, speed } => {
                // Each piece its own noise stream; the first uses `seed` itself (as the reference).
                let seed = stream.seed.wrapping_add(stream.spoken as u64);
                let style = style_row(&stream.pack, phonemes.chars().count());
                let out = match self.model.tokenize(&phonemes) {
                    Ok(ids) => self.model.synthesize(b, &ids, style, speed, seed).await,
                    Err(e) => Err(e),
                };
                // A failed piece stays first in line: another backend can take it up.
                let out = match out {
                    Ok(out) => out,
                    Err(e) => {
                        stream.steps.push_front(Step::Speak { phonemes, segment, speed });
                        return Err(e);
                    }
                };
                let seconds_per_frame = self.model.samples_per_frame() as f64 / SAMPLE_RATE as f64;
                let start = stream.joiner.pushed() as f64 / SAMPLE_RATE as f64;
                if stream.next_word.0 != segment {
                    stream.next_word = (segment, 0);
                }
                let words = word_times(&stream.words[segment], &mut stream.next_word.1, &phonemes, &out.durations, seconds_per_frame, start);
                stream.spoken += 1;
                SpeechChunk { audio: stream.joiner.piece(out.audio), phonemes, durations: out.durations, words, times: out.times }
            }
            Step::Pause(samples) => SpeechChunk { audio: stream.joiner.extend(vec![0.0; samples]), ..SpeechChunk::default() },
            Step::Finish => SpeechChunk { audio: stream.joiner.finish(), ..SpeechChunk::default() },
        }))
    }
}

/// What a [`SpeechStream`] does next.
#[derive(Debug)]
enum Step {
    Speak { phonemes: String, segment: usize, speed: f32 },
    /// Silence after a segment, in samples.
    Pause(usize),
    /// The held-back end of the audio.
    Finish,
}

/// Speech being synthesized piece by piece ([`Engine::start`], then [`Engine::next`] until it
/// gives `None`): the caller decides when to synthesize the next piece, so it can stop (a
/// listener left, a page cancelled) or yield to its event loop between pieces. The chunks
/// concatenated are the whole speech, joined with fades.
#[derive(Debug)]
pub struct SpeechStream {
    pack: Vec<f32>,
    steps: VecDeque<Step>,
    /// Each segment's words, for their times.
    words: Vec<Vec<crate::phonemize::Word>>,
    /// (segment, its next word to time)
    next_word: (usize, usize),
    joiner: Joiner,
    spoken: usize,
    seed: u64,
}

impl SpeechStream {
    /// Pieces of speech still to synthesize.
    pub fn pieces_left(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Speak { .. })).count()
    }
}

/// One piece of speech as it is synthesized. Chunks that only carry silence or the held-back
/// end of the audio have no phonemes.
#[derive(Clone, Debug, Default)]
pub struct SpeechChunk {
    pub audio: Vec<f32>,
    pub phonemes: String,
    /// Frames per token (boundary tokens included).
    pub durations: Vec<usize>,
    pub words: Vec<WordTime>,
    pub times: StageTimes,
}

impl Speech {
    fn collect(chunks: impl IntoIterator<Item = SpeechChunk>, ops: u64) -> Self {
        let mut speech = Speech { audio: Vec::new(), chunks: Vec::new(), words: Vec::new(), times: StageTimes::default(), ops };
        for c in chunks {
            speech.audio.extend(c.audio);
            speech.times.add(&c.times);
            speech.words.extend(c.words);
            if !c.phonemes.is_empty() {
                speech.chunks.push((c.phonemes, c.durations));
            }
        }
        speech
    }
}

/// A loaded model on the backend chosen at run time.
pub enum Engine {
    Cpu { tts: Box<Voiced<CpuBackend>>, cpu: CpuBackend, reason: String },
    Gpu(Box<GpuEngine>),
}

/// The model on the GPU, and the CPU it falls back to for good when the GPU fails (device
/// lost, out of memory, a validation error, a limit): the piece that failed is synthesized
/// again on the CPU, and so is everything after it.
pub struct GpuEngine {
    tts: Voiced<GpuBackend>,
    gpu: GpuBackend,
    /// The model file, to load the CPU's copy from when needed (shared, not copied).
    bytes: Bytes,
    /// The CPU backend it falls back to.
    cpu: CpuBackend,
    fallback: RefCell<Option<Fallback>>,
}

struct Fallback {
    tts: Arc<Voiced<CpuBackend>>,
    reason: String,
}

impl GpuEngine {
    /// The GPU backend (for diagnostics and tests; see [`GpuBackend::lose_device`]).
    pub fn gpu(&self) -> &GpuBackend {
        &self.gpu
    }

    /// The CPU's copy of the model once the GPU has failed.
    fn fallback(&self) -> Option<Arc<Voiced<CpuBackend>>> {
        self.fallback.borrow().as_ref().map(|f| f.tts.clone())
    }

    async fn next(&self, stream: &mut SpeechStream) -> Result<Option<SpeechChunk>> {
        if let Some(cpu) = self.fallback() {
            return cpu.next(&self.cpu, stream).await;
        }
        match self.tts.next(&self.gpu, stream).await {
            Ok(chunk) => Ok(chunk),
            Err(e) => {
                let cpu = Arc::new(Voiced::from_gguf(&self.cpu, &self.bytes)?);
                *self.fallback.borrow_mut() = Some(Fallback { tts: cpu.clone(), reason: format!("the GPU failed ({e}); the CPU took over") });
                cpu.next(&self.cpu, stream).await
            }
        }
    }
}

impl Engine {
    /// Loads a GGUF model on the CPU (f32 arithmetic).
    pub fn cpu(bytes: &Bytes, reason: impl Into<String>) -> Result<Self> {
        Self::on_cpu(bytes, CpuBackend::default(), reason)
    }

    fn on_cpu(bytes: &Bytes, cpu: CpuBackend, reason: impl Into<String>) -> Result<Self> {
        Ok(Engine::Cpu { tts: Box::new(Voiced::from_gguf(&cpu, bytes)?), cpu, reason: reason.into() })
    }

    /// Loads a GGUF model on the backend `choice` asks for. `Auto` takes the GPU when a
    /// hardware adapter opens; otherwise the CPU, saying why.
    pub async fn load(bytes: &Bytes, choice: BackendChoice) -> Result<Self> {
        Self::load_with(bytes, choice, CpuBackend::default()).await
    }

    /// [`Engine::load`] with `cpu` as the CPU backend (where the CPU runs, and what the GPU
    /// falls back to).
    pub async fn load_with(bytes: &Bytes, choice: BackendChoice, cpu: CpuBackend) -> Result<Self> {
        match choice {
            BackendChoice::Cpu => Self::on_cpu(bytes, cpu, "asked for"),
            BackendChoice::Gpu => Self::gpu(bytes, GpuBackend::new().await?, cpu),
            BackendChoice::Auto => {
                match GpuBackend::new().await {
                    // A software rasterizer (lavapipe, SwiftShader) runs the same kernels on
                    // these same cores, slower than the CPU backend.
                    Ok(gpu) if gpu.adapter().is_software() => Self::on_cpu(bytes, cpu, format!("the only GPU is a software rasterizer ({})", gpu.name())),
                    Ok(gpu) => match Self::gpu(bytes, gpu, cpu) {
                        Err(e @ (Error::Gpu(_) | Error::InvalidArgument { .. })) => Self::on_cpu(bytes, cpu, format!("the GPU could not load the model: {e}")),
                        loaded => loaded,
                    },
                    Err(e) => Self::on_cpu(bytes, cpu, format!("no GPU: {e}")),
                }
            }
        }
    }

    /// Loads a GGUF model on `gpu`; uploads are checked before it counts as loaded.
    fn gpu(bytes: &Bytes, gpu: GpuBackend, cpu: CpuBackend) -> Result<Self> {
        let tts = Voiced::from_gguf(&gpu, bytes)?;
        gpu.flush()?;
        Ok(Engine::Gpu(Box::new(GpuEngine { tts, gpu, bytes: bytes.clone(), cpu, fallback: RefCell::new(None) })))
    }

    /// The CPU backend: the one that runs, or the one the GPU falls back to.
    fn cpu_backend(&self) -> CpuBackend {
        match self {
            Engine::Cpu { cpu, .. } => *cpu,
            Engine::Gpu(g) => g.cpu,
        }
    }

    /// The backend's name, e.g. `"CPU (wasm simd128)"` (the CPU's once a GPU has fallen back).
    pub fn backend(&self) -> String {
        match self {
            Engine::Gpu(g) if g.fallback.borrow().is_none() => g.gpu.name(),
            _ => self.cpu_backend().name(),
        }
    }

    /// Why this backend runs: why not the GPU, or why the GPU handed over (empty while the
    /// GPU runs).
    pub fn backend_reason(&self) -> String {
        match self {
            Engine::Cpu { reason, .. } => reason.clone(),
            Engine::Gpu(g) => g.fallback.borrow().as_ref().map(|f| f.reason.clone()).unwrap_or_default(),
        }
    }

    /// Starts (with a fresh table) or stops timing each op of the backend that runs
    /// ([`Backend::profile`]; a GPU without timestamp queries says so).
    pub fn profile(&self, on: bool) -> Result<()> {
        match self {
            Engine::Gpu(g) if g.fallback.borrow().is_none() => g.gpu.profile(on),
            _ => self.cpu_backend().profile(on),
        }
    }

    /// Time per op since [`Engine::profile`] started it; the table starts over.
    pub async fn take_profile(&self) -> Result<OpTimes> {
        match self {
            Engine::Gpu(g) if g.fallback.borrow().is_none() => g.gpu.take_profile().await,
            _ => self.cpu_backend().take_profile().await,
        }
    }

    pub fn config(&self) -> &KokoroConfig {
        match self {
            Engine::Cpu { tts, .. } => &tts.model.config,
            Engine::Gpu(g) => &g.tts.model.config,
        }
    }

    pub fn voices(&self) -> Vec<String> {
        match self {
            Engine::Cpu { tts, .. } => tts.voice_names(),
            Engine::Gpu(g) => g.tts.voice_names(),
        }
    }

    /// Speaks phonemes (any length; split where the reference pipeline would).
    pub async fn speak(&self, phonemes: &str, opts: &SynthesisOptions) -> Result<Speech> {
        let segment = Segment { phonemes: phonemes.to_owned(), words: Vec::new(), rate: 1.0, pause_ms: 0 };
        self.speak_segments(std::slice::from_ref(&segment), opts).await
    }

    /// Speaks phonemized text (segments with their rates and pauses).
    pub async fn speak_segments(&self, segments: &[Segment], opts: &SynthesisOptions) -> Result<Speech> {
        let mut chunks = Vec::new();
        let ops = self
            .stream_segments(segments, opts, &mut |c| {
                chunks.push(c);
                Ok(())
            })
            .await?;
        Ok(Speech::collect(chunks, ops))
    }

    /// Starts speaking phonemized text piece by piece (see [`SpeechStream`]); bad options and
    /// empty input are refused here, before any audio.
    pub fn start(&self, segments: &[Segment], opts: &SynthesisOptions) -> Result<SpeechStream> {
        match self {
            Engine::Cpu { tts, .. } => tts.start(segments, opts),
            Engine::Gpu(g) => g.tts.start(segments, opts),
        }
    }

    /// Synthesizes the next piece of `stream`; `None` once it has all been given.
    pub async fn next(&self, stream: &mut SpeechStream) -> Result<Option<SpeechChunk>> {
        match self {
            Engine::Cpu { tts, cpu, .. } => tts.next(cpu, stream).await,
            Engine::Gpu(g) => g.next(stream).await,
        }
    }

    /// Backend ops recorded so far.
    fn ops_recorded(&self) -> u64 {
        match self {
            Engine::Gpu(g) if g.fallback.borrow().is_none() => g.gpu.ops_recorded(),
            _ => self.cpu_backend().ops_recorded(),
        }
    }

    /// Speaks phonemized text, handing each piece's audio to `sink` as soon as it exists (see
    /// [`SpeechChunk`]); returns the ops recorded. An error from `sink` (e.g. the listener left)
    /// stops the synthesis before the next piece.
    pub async fn stream_segments(&self, segments: &[Segment], opts: &SynthesisOptions, sink: &mut dyn FnMut(SpeechChunk) -> Result<()>) -> Result<u64> {
        let mut stream = self.start(segments, opts)?;
        let ops = self.ops_recorded();
        while let Some(chunk) = self.next(&mut stream).await? {
            sink(chunk)?;
        }
        // (a GPU that fell back mid-stream counts on the CPU's counter from then on)
        Ok(self.ops_recorded().saturating_sub(ops))
    }
}
