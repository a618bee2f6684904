//! The JavaScript API (wasm-bindgen). Every entry point returns a rejected promise or throws a
//! JS `Error` with the library's message; none panics.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::{Arithmetic, Backend, CpuBackend, GpuBackend};
use crate::error::Error;
use crate::phonemize::{Language, Phonemized, Phonemizer, Segment};
use crate::tts::{BackendChoice, Engine, SynthesisOptions};
use crate::conformance;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Whether this build's CPU kernels use wasm `simd128`.
/// Mean |log-mel difference| in dB between two 24 kHz signals, gain matched (the measure the
/// tests and the quantizer use): how far one backend's speech is from another's.
#[wasm_bindgen(js_name = logMelDistance)]
pub fn log_mel_distance(a: &[f32], b: &[f32]) -> f64 {
    crate::audio::mel::log_mel_distance(a, b, crate::tts::SAMPLE_RATE)
}

#[wasm_bindgen]
pub fn simd128() -> bool {
    cfg!(target_feature = "simd128")
}

/// Threads the CPU backend's kernels run on: 1 in the plain build, the pool's size in the
/// threaded one.
#[wasm_bindgen(js_name = cpuThreads)]
pub fn cpu_threads() -> usize {
    if cfg!(feature = "wasm-threads") { rayon::current_num_threads() } else { 1 }
}

/// Which backend runs an op.
#[derive(Clone, Copy)]
enum BackendKind {
    Cpu,
    /// The CPU in int8 arithmetic (the load option `int8`).
    CpuInt8,
    WebGpu,
}

impl BackendKind {
    fn parse(name: &str) -> Result<Self, JsValue> {
        match name {
            "cpu" => Ok(Self::Cpu),
            "cpu-int8" => Ok(Self::CpuInt8),
            "webgpu" => Ok(Self::WebGpu),
            other => Err(js_error(Error::BadOption { option: "backend", reason: format!("unknown backend {other:?}: expected \"cpu\", \"cpu-int8\" or \"webgpu\"") })),
        }
    }
}

struct Inner {
    cpu: CpuBackend,
    gpu: Result<GpuBackend, String>,
}

impl Inner {
    fn gpu(&self) -> Result<&GpuBackend, JsValue> {
        self.gpu.as_ref().map_err(|e| js_error(Error::NoAdapter(format!("WebGPU is not available: {e}"))))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendsInfo<'a> {
    cpu: String,
    simd128: bool,
    gpu: Option<&'a crate::backend::gpu::AdapterSummary>,
    gpu_error: Option<&'a str>,
}

/// The engine's devices: the CPU always, WebGPU when the browser offers an adapter.
#[wasm_bindgen]
pub struct Runtime {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Runtime {
    /// Opens WebGPU if possible. Resolves to a `Runtime` in every case; `backends().gpuError`
    /// says why the GPU is missing, and work falls back to the CPU.
    #[wasm_bindgen(unchecked_return_type = "Promise<Runtime>")]
    pub fn create() -> Promise {
        future_to_promise(async {
            let gpu = GpuBackend::new().await.map_err(|e| e.to_string());
            Ok(Runtime { inner: Rc::new(Inner { cpu: CpuBackend::default(), gpu }) }.into())
        })
    }

    /// `{ cpu, simd128, gpu: { name, backend, deviceType, driver, maxStorageBufferBindingSize } | null, gpuError }`
    pub fn backends(&self) -> Result<JsValue, JsValue> {
        let info = BackendsInfo {
            cpu: self.inner.cpu.name(),
            simd128: simd128(),
            gpu: self.inner.gpu.as_ref().ok().map(GpuBackend::adapter),
            gpu_error: self.inner.gpu.as_ref().err().map(String::as_str),
        };
        Ok(serde_wasm_bindgen::to_value(&info)?)
    }

    /// Runs the conformance suite (every op × every weight format it takes, against the f64
    /// reference backend) on `"cpu"`, `"cpu-int8"` (convolutions within int8 rounding) or
    /// `"webgpu"`; resolves to `{ backend, pass, passed,
    /// unsupported, failed, cases: [{ name, op, format, outcome, maxRelError, tolerance, message }] }`.
    #[wasm_bindgen(js_name = selfTest, unchecked_return_type = "Promise<any>")]
    pub fn self_test(&self, backend: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let kind = BackendKind::parse(&backend)?;
            let report = match kind {
                BackendKind::Cpu => conformance::run(&inner.cpu).await,
                BackendKind::CpuInt8 => conformance::run(&CpuBackend::new(Arithmetic::Int8)).await,
                BackendKind::WebGpu => conformance::run(inner.gpu()?).await,
            };
            Ok(serde_wasm_bindgen::to_value(&report)?)
        })
    }
}

/// What `inspectGguf` reports of one tensor. Sizes are JS numbers (f64): exact for any file a
/// browser can hold.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TensorSummary<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    ggml_type: &'static str,
    /// GGUF order, `ne[0]` fastest.
    ne: Vec<f64>,
    offset: f64,
    bytes: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GgufSummary<'a> {
    version: u32,
    alignment: f64,
    data_offset: f64,
    /// The file length the tensor table implies.
    expected_length: f64,
    metadata: Vec<(&'a str, &'a crate::gguf::MetaValue<'a>)>,
    tensors: Vec<TensorSummary<'a>>,
}

/// A JS `Error` named `TritoneError` with the engine's stable `code` (`"unknown_voice"`,
/// `"bad_gguf"`, …) and its message.
fn js_error(e: Error) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name("TritoneError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
    error.into()
}

/// Parses GGUF bytes (e.g. `new Uint8Array(arrayBuffer)`) and describes them:
/// `{ version, alignment, dataOffset, expectedLength, metadata: [[key, value]…], tensors }`.
/// With `headerOnly`, only the header and tensor table must be present, so a download can be
/// checked before it finishes; a prefix too short for them throws an error saying "truncated".
/// 64-bit metadata integers come back as `BigInt`; sizes and offsets as numbers.
#[wasm_bindgen(js_name = inspectGguf)]
pub fn inspect_gguf(bytes: &[u8], header_only: bool) -> Result<JsValue, JsValue> {
    use crate::gguf::GgufFile;
    let file = if header_only { GgufFile::parse_header(bytes) } else { GgufFile::parse(bytes) }.map_err(js_error)?;
    let summary = GgufSummary {
        version: file.version,
        alignment: file.alignment() as f64,
        data_offset: file.data_offset() as f64,
        expected_length: file.expected_len() as f64,
        metadata: file.metadata().iter().map(|(k, v)| (*k, v)).collect(),
        tensors: file
            .tensors()
            .iter()
            .map(|t| TensorSummary {
                name: t.name,
                ggml_type: t.ggml_type.name(),
                ne: t.ne.iter().map(|&d| d as f64).collect(),
                offset: t.offset as f64,
                bytes: t.size as f64,
            })
            .collect(),
    };
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
    Ok(summary.serialize(&serializer)?)
}

/// One tensor of a GGUF file decoded to f32 (storage order, `ne[0]` fastest).
#[wasm_bindgen(js_name = ggufTensorF32)]
pub fn gguf_tensor_f32(bytes: &[u8], name: &str) -> Result<js_sys::Float32Array, JsValue> {
    let file = crate::gguf::GgufFile::parse(bytes).map_err(js_error)?;
    let values = file.tensor_f32(name).map_err(js_error)?;
    Ok(js_sys::Float32Array::from(values.as_slice()))
}

/// Speech synthesis in the page: a model loaded from GGUF bytes (tritone's or TTS.cpp's
/// layout), phonemes or text in, 24 kHz samples out. Runs on the CPU (wasm simd128) until the
/// GPU backend runs every op; `backend` and `backendReason` say which and why.
#[wasm_bindgen]
pub struct Tts {
    inner: Rc<Engine>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpeechInfo {
    sample_rate: u32,
    /// Per chunk: the phonemes and frames per token (boundary tokens included).
    chunks: Vec<(String, Vec<usize>)>,
    /// Milliseconds per stage.
    times: crate::model::StageTimes,
    /// Backend ops recorded for this speech.
    ops: u64,
    /// `[{ text, start, end }]` in seconds, for text input.
    words: Vec<crate::tts::chunking::WordTime>,
}

#[wasm_bindgen]
impl Tts {
    /// Loads a model from the bytes of a GGUF file on the CPU (opening WebGPU takes a promise:
    /// see [`Tts::create`]). The weights stay packed as stored.
    pub fn load(bytes: Vec<u8>) -> Result<Tts, JsValue> {
        let engine = Engine::cpu(&bytes.into(), "loaded synchronously (Tts.create opens WebGPU)").map_err(js_error)?;
        Ok(Tts { inner: Rc::new(engine) })
    }

    /// Loads a model on `backend`: `"auto"` (WebGPU when a hardware adapter opens, else the
    /// CPU, with the reason in `backendReason`), `"webgpu"` or `"cpu"`. A GPU that fails
    /// later hands the speech to the CPU (`backend` and `backendReason` then say so). `int8`:
    /// the CPU's convolutions in int8 arithmetic (faster, slightly less faithful).
    #[wasm_bindgen(unchecked_return_type = "Promise<Tts>")]
    pub fn create(bytes: Vec<u8>, backend: String, int8: Option<bool>) -> Promise {
        future_to_promise(async move {
            let choice: BackendChoice = backend.parse().map_err(js_error)?;
            let cpu = CpuBackend::new(if int8.unwrap_or(false) { Arithmetic::Int8 } else { Arithmetic::F32 });
            let engine = Engine::load_with(&bytes.into(), choice, cpu).await.map_err(js_error)?;
            Ok(Tts { inner: Rc::new(engine) }.into())
        })
    }

    pub fn voices(&self) -> Vec<String> {
        self.inner.voices()
    }

    /// The backend speech runs on, e.g. `"CPU (wasm simd128)"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.backend()
    }

    /// Why that backend was chosen.
    #[wasm_bindgen(getter, js_name = backendReason)]
    pub fn backend_reason(&self) -> String {
        self.inner.backend_reason()
    }

    /// Destroys the GPU device, as a driver reset would; speech carries on on the CPU (a
    /// diagnostic of the fallback). False when this engine does not run on the GPU.
    #[wasm_bindgen(js_name = loseGpuDevice)]
    pub fn lose_gpu_device(&self) -> bool {
        match &*self.inner {
            Engine::Gpu(g) => {
                g.gpu().lose_device();
                true
            }
            Engine::Cpu { .. } => false,
        }
    }

    /// Device memory in bytes, `{ weights, inUse, pooled, peak }`, or undefined on the CPU.
    #[wasm_bindgen(js_name = gpuMemory)]
    pub fn gpu_memory(&self) -> Result<JsValue, JsValue> {
        match &*self.inner {
            Engine::Gpu(g) => Ok(serde_wasm_bindgen::to_value(&g.gpu().memory())?),
            Engine::Cpu { .. } => Ok(JsValue::UNDEFINED),
        }
    }

    /// Speaks `phonemes` with `voice` (a name or a blend like `"af_bella(2)+af_sky(1)"`) at
    /// `speed`, noise seeded by `seed` (an integer; the same seed gives the same audio).
    /// Resolves to `{ audio: Float32Array, sampleRate, chunks, times, ops }`. Errors are
    /// `TritoneError`s with a `code`.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn speak(&self, phonemes: String, voice: String, speed: f32, seed: f64) -> Result<Promise, JsValue> {
        let segments = vec![Segment { phonemes, words: Vec::new(), rate: 1.0, pause_ms: 0 }];
        self.speak_segments(segments, voice, speed, seed, None)
    }

    /// Speaks English text (SSML when `ssml`) through the bundled phonemizer in `lang` ("en-us",
    /// "en-gb"), or when it is absent by the voice's first letter (en-US for voices of other
    /// languages; see [`voice_note`]); otherwise as [`Tts::speak`].
    #[wasm_bindgen(js_name = speakText, unchecked_return_type = "Promise<any>")]
    pub fn speak_text(&self, text: &str, voice: String, speed: f32, seed: f64, ssml: bool, lang: Option<String>) -> Result<Promise, JsValue> {
        let language = lang.as_deref().map(Language::from_code).transpose().map_err(js_error)?;
        let language_or_voice = language.unwrap_or_else(|| Language::for_voice(&voice));
        let phonemized = phonemize_with(text, language_or_voice, ssml)?;
        self.speak_segments(phonemized.segments, voice, speed, seed, language)
    }

    /// Starts speaking `input` piece by piece: resolves nothing yet, returns a [`SpeechStream`]
    /// whose `next()` synthesizes one piece at a time, so a worker can answer messages (a
    /// cancel) between pieces. `options`: `{ voice, speed = 1, seed = 0, lang, ssml = false,
    /// phonemes = false (input is phonemes), bySentence = true (pieces are sentences: audio
    /// starts early; false: the longest pieces the model takes, as `speak`) }`. Bad options,
    /// unknown voices, bad SSML and empty input throw here, before any audio.
    pub fn stream(&self, input: &str, options: JsValue) -> Result<SpeechStream, JsValue> {
        let options: StreamOptions = if options.is_undefined() || options.is_null() {
            StreamOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| js_error(Error::BadOption { option: "options", reason: e.to_string() }))?
        };
        let seed = checked_seed(options.seed.unwrap_or(0.0))?;
        let language = options.lang.as_deref().map(Language::from_code).transpose().map_err(js_error)?;
        let voice = options.voice.ok_or_else(|| js_error(Error::BadOption { option: "voice", reason: format!("is required; this model has {}", self.inner.voices().join(", ")) }))?;
        let opts = SynthesisOptions { voice, speed: options.speed.unwrap_or(1.0), seed, language, by_sentence: options.by_sentence.unwrap_or(true) };
        let segments = if options.phonemes {
            vec![Segment { phonemes: input.to_owned(), words: Vec::new(), rate: 1.0, pause_ms: 0 }]
        } else {
            phonemize_with(input, opts.language(), options.ssml)?.segments
        };
        let state = self.inner.start(&segments, &opts).map_err(js_error)?;
        Ok(SpeechStream { engine: self.inner.clone(), state: Rc::new(RefCell::new(Some(state))) })
    }

    fn speak_segments(&self, segments: Vec<Segment>, voice: String, speed: f32, seed: f64, language: Option<Language>) -> Result<Promise, JsValue> {
        let opts = SynthesisOptions { voice, speed, seed: checked_seed(seed)?, language, by_sentence: false };
        let inner = self.inner.clone();
        Ok(future_to_promise(async move {
            let speech = inner.speak_segments(&segments, &opts).await.map_err(js_error)?;
            let info = SpeechInfo { sample_rate: crate::tts::SAMPLE_RATE, chunks: speech.chunks, times: speech.times, ops: speech.ops, words: speech.words };
            let out = serde_wasm_bindgen::to_value(&info)?;
            js_sys::Reflect::set(&out, &"audio".into(), &js_sys::Float32Array::from(speech.audio.as_slice()))
                .map_err(|_| JsError::new("could not attach the audio"))?;
            Ok(out)
        }))
    }
}

/// A JS number that is a seed: an integer from 0 to 2^53 − 1.
fn checked_seed(seed: f64) -> Result<u64, JsValue> {
    if (0.0..=9_007_199_254_740_991.0).contains(&seed) && seed.fract() == 0.0 {
        Ok(seed as u64)
    } else {
        Err(js_error(Error::BadOption { option: "seed", reason: format!("must be a non-negative integer, got {seed}") }))
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamOptions {
    voice: Option<String>,
    speed: Option<f32>,
    seed: Option<f64>,
    lang: Option<String>,
    #[serde(default)]
    ssml: bool,
    #[serde(default)]
    phonemes: bool,
    by_sentence: Option<bool>,
}

/// One chunk of a stream: `{ audio: Float32Array, phonemes, words: [{ text, start, end }],
/// durations, times }`; times in seconds from the start of the whole speech.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChunkInfo {
    phonemes: String,
    durations: Vec<usize>,
    words: Vec<crate::tts::chunking::WordTime>,
    times: crate::model::StageTimes,
    /// Pieces still to synthesize after this one.
    pieces_left: usize,
    /// The backend that made this piece, and why it runs (a GPU that failed hands over to
    /// the CPU mid-speech).
    backend: String,
    backend_reason: String,
}

/// Speech being synthesized piece by piece (from [`Tts::stream`]).
#[wasm_bindgen]
pub struct SpeechStream {
    engine: Rc<Engine>,
    state: Rc<RefCell<Option<crate::tts::SpeechStream>>>,
}

#[wasm_bindgen]
impl SpeechStream {
    /// Synthesizes the next piece: resolves to a chunk (see `ChunkInfo`), or `undefined` when
    /// the speech is complete. The chunks' audio concatenated is the whole speech.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn next(&self) -> Promise {
        let (engine, state) = (self.engine.clone(), self.state.clone());
        future_to_promise(async move {
            // Taken out while a piece is synthesized: a second next() meanwhile finds it gone.
            let Some(mut stream) = state.borrow_mut().take() else {
                return Err(js_error(Error::BadOption { option: "next", reason: "the previous next() has not resolved yet".into() }));
            };
            let next = engine.next(&mut stream).await;
            let pieces_left = stream.pieces_left();
            *state.borrow_mut() = Some(stream);
            let Some(chunk) = next.map_err(js_error)? else { return Ok(JsValue::UNDEFINED) };
            let (backend, backend_reason) = (engine.backend(), engine.backend_reason());
            let info = ChunkInfo { phonemes: chunk.phonemes, durations: chunk.durations, words: chunk.words, times: chunk.times, pieces_left, backend, backend_reason };
            let out = serde_wasm_bindgen::to_value(&info)?;
            js_sys::Reflect::set(&out, &"audio".into(), &js_sys::Float32Array::from(chunk.audio.as_slice()))
                .map_err(|_| JsError::new("could not attach the audio"))?;
            Ok(out)
        })
    }
}

fn phonemize_with(text: &str, language: Language, ssml: bool) -> Result<Phonemized, JsValue> {
    // the demo calls this on every keystroke: build each language's phonemizer once
    thread_local! {
        static PHONEMIZERS: std::cell::OnceCell<(Rc<Phonemizer>, Rc<Phonemizer>)> = const { std::cell::OnceCell::new() };
    }
    let (us, gb) = PHONEMIZERS.with(|cell| match cell.get() {
        Some(pair) => Ok(pair.clone()),
        None => {
            let pair = (Rc::new(Phonemizer::new(Language::EnUs)?), Rc::new(Phonemizer::new(Language::EnGb)?));
            Ok(cell.get_or_init(|| pair).clone())
        }
    }).map_err(js_error)?;
    let phonemizer = if language.is_british() { gb } else { us };
    if ssml {
        phonemizer.phonemize_ssml(text).map_err(js_error)
    } else {
        Ok(phonemizer.phonemize(text))
    }
}

/// For a voice of a language tritone cannot phonemize yet (jf_alpha, …), the note that its text
/// is read as US English; `undefined` for English voices.
#[wasm_bindgen(js_name = voiceNote)]
pub fn voice_note(voice: &str) -> Option<String> {
    Language::voice_note(voice)
}

/// The bundled phonemizer: `lang` "en-us" or "en-gb"; `ssml` reads the text as SSML.
/// Returns `{ phonemes, segments: [{ phonemes, words: [{ text, phonemes, source }], rate, pause_ms }] }`.
#[wasm_bindgen]
pub fn phonemize(text: &str, lang: &str, ssml: bool) -> Result<JsValue, JsValue> {
    let phonemized = phonemize_with(text, Language::from_code(lang).map_err(js_error)?, ssml)?;
    let out = serde_wasm_bindgen::to_value(&phonemized)?;
    js_sys::Reflect::set(&out, &"phonemes".into(), &phonemized.phonemes().into())
        .map_err(|_| JsError::new("could not attach the phonemes"))?;
    Ok(out)
}
