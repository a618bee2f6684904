//! The `tritone` command line.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod quantize;
mod serve;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tritone::formats::npz::is_npz;
use bytes::Bytes;
use tritone::backend::Weight;
use tritone::gguf::GgmlType;
use tritone::model::checkpoint::{collect_weights, storage_type, voice_from_pt, voices_from_npz, write_model, MapSource};
use tritone::model::voices::{ROWS, STYLE};
use tritone::model::weights::{GgufWeights, WeightSource};
use tritone::tts::{BackendChoice, Engine, SynthesisOptions, SAMPLE_RATE};
use tritone::config::KokoroConfig;
use tritone::vocab;
use tritone::phonemize::{Language, Phonemized, Phonemizer, Segment, UserLexicon};
use serde_json::{json, Value};
use tritone::backend::{Arithmetic, Backend, CpuBackend, GpuBackend};
use tritone::error::GgufErrorKind;
use tritone::gguf::{numpy_shape, GgufFile, MetaValue};
use tritone::audio::mel::log_mel_distance;
use tritone::conformance::{self, Outcome, Report};
use tritone::Error;

#[derive(Parser)]
#[command(name = "tritone", version, about = "Kokoro-82M text-to-speech: convert, inspect, synthesize, test")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct PhonemizerArgs {
    /// en-us or en-gb (default: en-us; `say` takes it from the voice name: a… US, b… GB).
    #[arg(long)]
    lang: Option<String>,
    /// The text is SSML (<speak>, <phoneme>, <say-as>, <sub>, <break>, <prosody rate>).
    #[arg(long)]
    ssml: bool,
    /// A JSON user lexicon, word → IPA or Arpabet, that wins over the built-in one.
    #[arg(long)]
    lexicon: Option<PathBuf>,
}

impl PhonemizerArgs {
    fn phonemizer(&self, default: Language) -> Result<Phonemizer, String> {
        let language = match &self.lang {
            Some(code) => Language::from_code(code).map_err(|e| e.to_string())?,
            None => default,
        };
        let mut phonemizer = Phonemizer::new(language).map_err(|e| e.to_string())?;
        if let Some(path) = &self.lexicon {
            let json = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let user = UserLexicon::from_json(&json, language).map_err(|e| format!("{}: {e}", path.display()))?;
            phonemizer = phonemizer.with_user_lexicon(user);
        }
        Ok(phonemizer)
    }

    fn run(&self, text: &str, default: Language) -> Result<Phonemized, String> {
        let phonemizer = self.phonemizer(default)?;
        if self.ssml {
            phonemizer.phonemize_ssml(text).map_err(|e| e.to_string())
        } else {
            Ok(phonemizer.phonemize(text))
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// List the backends this machine offers (CPU kernels, GPU adapter).
    Backends,
    /// Run the op self-test on every available backend against the scalar definitions.
    Selftest {
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
        /// Also speak with this model on the GPU and on the CPU, sentence by sentence, and compare
        /// the two: the same durations and log-mel within 0.1 dB, or the self-test fails.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Voice for --model (default: the first in the file).
        #[arg(long, requires = "model")]
        voice: Option<String>,
        /// Text for --model, through the bundled phonemizer (default: the bench paragraph).
        #[arg(long, requires = "model")]
        text: Option<String>,
    },
    /// Print a GGUF file's metadata, tensor table and totals per type.
    Inspect {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Convert hexgrad's PyTorch checkpoint or a Kokoro ONNX export, with voice packs, into one
    /// tritone GGUF; or store a tritone GGUF's weights in another format.
    Convert {
        /// hexgrad's checkpoint (kokoro-v1_0.pth).
        #[arg(long, required_unless_present_any = ["onnx", "gguf"], conflicts_with_all = ["onnx", "gguf"])]
        pth: Option<PathBuf>,
        /// A tritone GGUF to re-store with --dtype (its config, vocabulary and voices are kept).
        #[arg(long, conflicts_with = "onnx")]
        gguf: Option<PathBuf>,
        /// A Kokoro ONNX export: kokoro-onnx's kokoro-v1.0.onnx, .fp16.onnx or .int8.onnx (dequantized), or kokoro's KModelForONNX export.
        #[arg(long)]
        onnx: Option<PathBuf>,
        /// The model's config.json (default: Kokoro-82M's).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Voice packs: a .npz (kokoro-onnx's voices-v1.0.bin), a folder of *.pt, or one .pt
        /// (with --gguf: replaces the file's voices).
        #[arg(long, required_unless_present = "gguf")]
        voices: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Storage of matrices and kernels (round to nearest; 1-D tensors and voices stay F32,
        /// and rows a block format would pad beyond F16's size stay F16).
        #[arg(long, value_enum, default_value = "f16")]
        dtype: Dtype,
    },
    /// Synthesize speech to a 24 kHz mono WAV.
    Say {
        /// A tritone GGUF or a TTS.cpp Kokoro GGUF.
        #[arg(long)]
        model: PathBuf,
        /// A voice name, or a blend such as "af_bella(2)+af_sky(1)".
        #[arg(long)]
        voice: String,
        /// Phonemes in Kokoro's alphabet (misaki's conventions).
        #[arg(long, conflicts_with = "text")]
        phonemes: Option<String>,
        /// Text to speak, through the bundled phonemizer.
        text: Option<String>,
        #[command(flatten)]
        phonemizer: PhonemizerArgs,
        #[arg(long, default_value_t = 1.0)]
        speed: f32,
        /// Seed of the vocoder's noise; the same seed gives the same audio. Random if absent.
        #[arg(long)]
        seed: Option<u64>,
        /// Synthesize sentence by sentence, as streaming does (the server, the page's Speak
        /// button, tritone-tts's stream()), instead of in the longest pieces the model takes.
        #[arg(long)]
        by_sentence: bool,
        #[command(flatten)]
        backend: BackendArgs,
        /// Also write durations.npy (int64 per token) and audio.npy (f32) here.
        #[arg(long)]
        dump: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the phonemes the model would be fed for TEXT (read from stdin when absent).
    Phonemize {
        text: Option<String>,
        #[command(flatten)]
        phonemizer: PhonemizerArgs,
        /// Print every word with its phonemes and where they came from, as JSON.
        #[arg(long)]
        json: bool,
        /// Print the text as the normalizer rewrites it (numbers, dates, units… spelled out).
        #[arg(long, conflicts_with_all = ["json", "ssml"])]
        normalize_only: bool,
    },
    /// An OpenAI-compatible speech server: POST /v1/audio/speech, GET /v1/models,
    /// /v1/audio/voices, /health, /metrics.
    Serve {
        /// A tritone GGUF or a TTS.cpp Kokoro GGUF.
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 8880)]
        port: u16,
        /// Synthesis workers (each one synthesis at a time; default: the CPU cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Requests that may wait for a worker; more get 429 with Retry-After.
        #[arg(long, default_value_t = 16)]
        max_queue: usize,
        /// Longest input in characters.
        #[arg(long, default_value_t = 4096)]
        max_input_chars: usize,
        #[command(flatten)]
        backend: BackendArgs,
        /// Seconds in-flight requests get to finish after SIGTERM before they are cancelled.
        #[arg(long, default_value_t = 10.0)]
        shutdown_timeout: f64,
        /// Load the model, speak one word, and exit (for health checks).
        #[arg(long)]
        check: bool,
    },
    /// Synthesize a fixed paragraph and print the real-time factor and time per stage.
    Bench {
        #[arg(long)]
        model: PathBuf,
        /// Voice (default: the first in the file).
        #[arg(long)]
        voice: Option<String>,
        /// Runs to take the median of.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Untimed runs first (allocator, caches, page faults).
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        #[command(flatten)]
        backend: BackendArgs,
        /// Phonemes to speak instead of the built-in paragraph (11.1 s with Kokoro-82M's voices).
        #[arg(long)]
        phonemes: Option<String>,
        /// CPU threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// One more run, timing every op (GPU: kernel time from timestamp queries, where the
        /// adapter has them), printed per op.
        #[arg(long)]
        per_op: bool,
        /// Print one JSON object: median_s, audio_s, rtf, runs, threads, backend, gflops, stages.
        #[arg(long)]
        json: bool,
    },
    /// Quantize a model with calibration: GPTQ rounding, one format for every matrix (--type) or
    /// a format per part of the model chosen by measured sensitivity to fit a size (--budget).
    Quantize {
        /// A tritone GGUF (F32 or F16; its speech is the reference).
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long, required_unless_present = "check")]
        out: Option<PathBuf>,
        /// One format for every matrix (1-D tensors stay F32; voices are stored F16). Several,
        /// comma-separated, share one calibration: --out then names them with {type}.
        #[arg(long = "type", value_enum, value_delimiter = ',', required_unless_present_any = ["budget", "check"], conflicts_with_all = ["budget", "check"])]
        ty: Vec<Dtype>,
        /// The largest file to write, e.g. 30MB, 28.5MiB or 30000000. Several, comma-separated,
        /// share one calibration and one sensitivity sweep: --out then names them with {budget}.
        #[arg(long, value_delimiter = ',', conflicts_with = "check")]
        budget: Vec<String>,
        /// Judge this file (a quantized copy of --in) on the held-out sentences instead of
        /// writing one: log-mel distance on --in's durations and the share of moved durations.
        #[arg(long, conflicts_with = "out")]
        check: Option<PathBuf>,
        /// With --budget: the formats to choose from, best first.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "q8_0,q4_k,q4_0,q2_k,tq1_0")]
        ladder: Vec<Dtype>,
        /// With --budget: judge every part at every format of the ladder (the whole sensitivity
        /// table), not only the pairs some budget's best plan could use (the same plans).
        #[arg(long, requires = "budget")]
        full_sweep: bool,
        /// Calibration text, one sentence per line (default: the built-in English set of 320).
        #[arg(long)]
        calibration: Option<PathBuf>,
        /// Sentences (from the start of the text) that calibrate.
        #[arg(long, default_value_t = 64)]
        sentences: usize,
        /// Held-out sentences (from the end of the text) that judge each choice.
        #[arg(long, default_value_t = 3)]
        eval_sentences: usize,
        /// The voices that speak them in turn, comma-separated (default: every voice of the model).
        #[arg(long)]
        voice: Option<String>,
        /// Round to nearest instead of GPTQ (no calibration).
        #[arg(long)]
        nearest: bool,
        /// Write a JSON report: sizes, distortion per rounding, per tensor or per group and format.
        #[arg(long)]
        report: Option<PathBuf>,
        /// CPU threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Write one tensor of a GGUF file, decoded to f32, as a NumPy .npy file.
    Tensor {
        file: PathBuf,
        /// Tensor name, as `inspect` lists it.
        name: String,
        /// Output .npy path; the shape is numpy's (GGUF `ne` reversed).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Keeps freed tensors in the heap for the next op instead of handing each one back to the
/// kernel: glibc maps large allocations afresh (above 32 MiB whatever `M_MMAP_THRESHOLD` says),
/// and every op's output then costs a page fault per 4 KiB. With mapping off, the generator's
/// 40 MB tensors reuse freed heap (16 s paragraph, int8, one thread: 1.02 M page faults → 0.19 M,
/// RTF 0.44 → 0.33).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    keep_freed_memory();
    let result = match Cli::parse().command {
        Command::Backends => {
            backends();
            Ok(())
        }
        Command::Selftest { json, model, voice, text } => selftest(json, model.as_deref(), voice.as_deref(), text.as_deref()),
        Command::Quantize { input, out, ty, budget, check, ladder, full_sweep, calibration, sentences, eval_sentences, voice, nearest, report, threads } => {
            quantize::quantize(quantize::QuantizeArgs { input, out, ty, budget, check, ladder, full_sweep, calibration, sentences, eval_sentences, voice, nearest, report, threads })
        }
        Command::Inspect { file, json } => inspect(&file, json),
        Command::Tensor { file, name, out } => tensor(&file, &name, &out),
        Command::Convert { pth, gguf, onnx, config, voices, out, dtype } => match gguf {
            Some(gguf) => restore(&gguf, voices.as_deref(), &out, dtype),
            None => match voices {
                Some(voices) => convert(pth.as_deref(), onnx.as_deref(), config.as_deref(), &voices, &out, dtype),
                None => Err("--voices is required".into()),
            },
        },
        Command::Say { model, voice, phonemes, text, phonemizer, speed, seed, by_sentence, backend, dump, out } => {
            say(&model, &voice, phonemes, text, &phonemizer, speed, seed, by_sentence, backend, dump.as_deref(), &out)
        }
        Command::Phonemize { text, phonemizer, json, normalize_only } => phonemize(text, &phonemizer, json, normalize_only),
        Command::Bench { model, voice, runs, warmup, backend, phonemes, threads, per_op, json } => {
            bench(&model, voice.as_deref(), (warmup, runs), backend, phonemes.as_deref().unwrap_or(BENCH_PHONEMES), threads, per_op, json)
        }
        Command::Serve { model, host, port, workers, max_queue, max_input_chars, backend, shutdown_timeout, check } => serve::serve(serve::ServeArgs {
            model,
            host,
            port,
            workers: workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            max_queue,
            max_input_chars,
            backend: backend.backend.choice(),
            cpu: backend.cpu(),
            shutdown_timeout,
            check,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn backends() {
    println!("cpu: {}", CpuBackend::default().name());
    match pollster::block_on(GpuBackend::new()) {
        Ok(gpu) => {
            let a = gpu.adapter();
            println!("gpu: {} [{}, {}] {}", a.name, a.backend, a.device_type, a.driver);
        }
        Err(e) => println!("gpu: none ({e})"),
    }
}

fn selftest(json: bool, model: Option<&Path>, voice: Option<&str>, text: Option<&str>) -> Result<(), String> {
    let mut reports = vec![pollster::block_on(conformance::run(&CpuBackend::default())), pollster::block_on(conformance::run(&CpuBackend::new(Arithmetic::Int8)))];
    match pollster::block_on(GpuBackend::new()) {
        Ok(gpu) => reports.push(pollster::block_on(conformance::run(&gpu))),
        Err(e) => eprintln!("gpu: skipped ({e})"),
    }
    let parity = model.map(|m| model_parity(m, voice, text)).transpose()?;
    if json {
        let out = json!({ "ops": reports, "model": parity });
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    } else {
        reports.iter().for_each(print_report);
        if let Some(p) = &parity {
            print_parity(p);
        }
    }
    let mut failed: Vec<&str> = reports.iter().filter(|r| !r.pass).map(|r| r.backend.as_str()).collect();
    if parity.as_ref().is_some_and(|p| !p.pass) {
        failed.push("the model on the GPU");
    }
    if failed.is_empty() { Ok(()) } else { Err(format!("self-test failed on {}", failed.join(", "))) }
}

/// Largest log-mel distance the GPU may be from the CPU, sentence by sentence: f32 rounding
/// moves the real model 0.02-0.04 dB on a sentence (README, "The GPU"); a wrong kernel moves it
/// by whole dB. Within one long piece the harmonic source's phase drifts further apart (an
/// 18 s piece: 0.10 dB on lavapipe, 0.14 on an H100), so the comparison goes by sentence.
const PARITY_DB: f64 = 0.1;

/// The model on the GPU against the CPU, same phonemes, voice and seed.
#[derive(serde::Serialize)]
struct Parity {
    pass: bool,
    gpu: String,
    /// Why the GPU was not used to the end, if it was not.
    gpu_fallback: String,
    tokens: usize,
    tokens_with_other_duration: usize,
    log_mel_db: f64,
    max_abs_sample_diff: f32,
    audio_s: f64,
    gpu_s: f64,
    cpu_s: f64,
}

fn model_parity(model: &Path, voice: Option<&str>, text: Option<&str>) -> Result<Parity, String> {
    let bytes = Bytes::from(std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?);
    let load = |choice| pollster::block_on(Engine::load(&bytes, choice)).map_err(|e| format!("{}: {e}", model.display()));
    let gpu = load(BackendChoice::Gpu).map_err(|e| format!("--model: no GPU to compare with the CPU: {e}"))?;
    let cpu = load(BackendChoice::Cpu)?;
    let voice = match voice {
        Some(v) => v.to_owned(),
        None => cpu.voices().into_iter().next().ok_or("the model has no voices")?,
    };
    let segments = match text {
        Some(t) => Phonemizer::new(Language::for_voice(&voice)).map_err(|e| e.to_string())?.phonemize(t).segments,
        None => vec![Segment { phonemes: BENCH_PHONEMES.into(), words: Vec::new(), rate: 1.0, pause_ms: 0 }],
    };
    let opts = SynthesisOptions { by_sentence: true, ..SynthesisOptions::new(voice) };
    let speak = |engine: &Engine| -> Result<(tritone::tts::Speech, f64), String> {
        // once untimed: the GPU compiles its pipelines on first use
        pollster::block_on(engine.speak_segments(&segments, &opts)).map_err(|e| e.to_string())?;
        let started = std::time::Instant::now();
        let speech = pollster::block_on(engine.speak_segments(&segments, &opts)).map_err(|e| e.to_string())?;
        Ok((speech, started.elapsed().as_secs_f64()))
    };
    let (on_gpu, gpu_s) = speak(&gpu)?;
    let (on_cpu, cpu_s) = speak(&cpu)?;
    let durations = |s: &tritone::tts::Speech| s.chunks.iter().flat_map(|(_, d)| d.clone()).collect::<Vec<usize>>();
    let (dg, dc) = (durations(&on_gpu), durations(&on_cpu));
    let moved = dg.iter().zip(&dc).filter(|(a, b)| a != b).count() + dg.len().abs_diff(dc.len());
    let log_mel_db = log_mel_distance(&on_gpu.audio, &on_cpu.audio, SAMPLE_RATE);
    let max_abs_sample_diff = on_gpu.audio.iter().zip(&on_cpu.audio).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    let gpu_fallback = gpu.backend_reason();
    Ok(Parity {
        pass: moved == 0 && log_mel_db <= PARITY_DB && gpu_fallback.is_empty() && matches!(gpu, Engine::Gpu(_)),
        gpu: gpu.backend(),
        gpu_fallback,
        tokens: dc.len(),
        tokens_with_other_duration: moved,
        log_mel_db,
        max_abs_sample_diff,
        audio_s: on_cpu.audio.len() as f64 / SAMPLE_RATE as f64,
        gpu_s,
        cpu_s,
    })
}

fn print_parity(p: &Parity) {
    let verdict = if p.pass { "PASS" } else { "FAIL" };
    println!("the model on {} against the CPU — {verdict}{}", p.gpu, paren(&p.gpu_fallback));
    println!("  durations: {} of {} tokens differ", p.tokens_with_other_duration, p.tokens);
    println!("  log-mel L1 {:.3} dB (≤ {PARITY_DB}), max |Δsample| {:.4}", p.log_mel_db, p.max_abs_sample_diff);
    println!("  {:.2} s of audio: GPU {:.3} s (RTF {:.4}), CPU {:.3} s (RTF {:.4})", p.audio_s, p.gpu_s, p.gpu_s / p.audio_s, p.cpu_s, p.cpu_s / p.audio_s);
}

fn print_report(r: &Report) {
    let verdict = if r.pass { "PASS" } else { "FAIL" };
    println!("{} — {verdict}: {} passed, {} unsupported, {} failed", r.backend, r.passed, r.unsupported, r.failed);
    for c in &r.cases {
        let verdict = match c.outcome {
            Outcome::Pass => "ok",
            Outcome::Fail => "FAIL",
            Outcome::Unsupported => "n/a",
        };
        let detail = if c.outcome == Outcome::Pass { "" } else { c.message.as_deref().unwrap_or("") };
        println!("  {verdict:4} {:40} {:6} max rel error {:.2e} (≤ {:.0e}) {detail}", c.name, c.format, c.max_rel_error, c.tolerance);
    }
}

/// Reads only as much of the file as the header and tensor table need, growing the prefix
/// until they parse, so inspecting a large model does not read its weights.
fn read_header_prefix(path: &Path) -> Result<Vec<u8>, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    let mut want = 1 << 20;
    loop {
        (&mut file).take(want - bytes.len() as u64).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let whole_file = (bytes.len() as u64) < want;
        // The whole file gets the full checks (counts against its size, data in bounds).
        let parsed = if whole_file { GgufFile::parse(&bytes) } else { GgufFile::parse_header(&bytes) };
        match parsed {
            Err(Error::Gguf { kind: GgufErrorKind::Truncated, .. }) if !whole_file => want *= 4,
            Err(e) => return Err(format!("{}: {e}", path.display())),
            Ok(_) => return Ok(bytes),
        }
    }
}

fn meta_json(value: &MetaValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One-line rendering for the text table: long arrays show their first items and length.
fn meta_text(value: &MetaValue) -> String {
    match value {
        MetaValue::Array(a) if a.values.len() > 8 => {
            let head: Vec<String> = a.values.iter().take(6).map(meta_text).collect();
            format!("[{}, … ({} {})]", head.join(", "), a.values.len(), a.elem_type.name())
        }
        MetaValue::Array(a) => format!("[{}]", a.values.iter().map(meta_text).collect::<Vec<_>>().join(", ")),
        MetaValue::String(s) => format!("{s:?}"),
        other => meta_json(other).to_string(),
    }
}

fn inspect(path: &Path, as_json: bool) -> Result<(), String> {
    let bytes = read_header_prefix(path)?;
    let file = GgufFile::parse_header(&bytes).map_err(|e| e.to_string())?;
    let on_disk = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if on_disk < file.expected_len() {
        return Err(format!("{}: truncated: {on_disk} bytes, the tensor table needs {}", path.display(), file.expected_len()));
    }
    let mut totals: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for t in file.tensors() {
        let e = totals.entry(t.ggml_type.name()).or_default();
        *e = (e.0 + 1, e.1 + t.n_elements(), e.2 + t.size);
    }
    if as_json {
        let doc = json!({
            "version": file.version,
            "alignment": file.alignment(),
            "data_offset": file.data_offset(),
            "metadata": file.metadata().iter().map(|(k, v)| (k.to_string(), json!({
                "type": v.value_type().name(), "value": meta_json(v)
            }))).collect::<serde_json::Map<_, _>>(),
            "tensors": file.tensors().iter().map(|t| json!({
                "name": t.name, "type": t.ggml_type.name(), "ne": t.ne, "shape": numpy_shape(&t.ne),
                "offset": t.offset, "bytes": t.size,
            })).collect::<Vec<_>>(),
            "totals": totals.iter().map(|(ty, (n, el, by))| (ty.to_string(), json!({
                "tensors": n, "elements": el, "bytes": by
            }))).collect::<serde_json::Map<_, _>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("{}: GGUF v{}, {} metadata keys, {} tensors, alignment {}", path.display(), file.version, file.metadata().len(), file.tensors().len(), file.alignment());
    println!("\nmetadata:");
    for (k, v) in file.metadata() {
        println!("  {k:48} {:6} {}", v.value_type().name(), meta_text(v));
    }
    println!("\ntensors (shape in numpy order, outermost first):");
    println!("  {:56} {:6} {:>22} {:>12}", "name", "type", "shape", "bytes");
    for t in file.tensors() {
        let shape = format!("{:?}", numpy_shape(&t.ne));
        println!("  {:56} {:6} {:>22} {:>12}", t.name, t.ggml_type.name(), shape, t.size);
    }
    println!("\ntotals:");
    for (ty, (n, el, by)) in &totals {
        println!("  {ty:6} {n:5} tensors {el:>12} elements {by:>12} bytes ({:.2} bits/element)", *by as f64 * 8.0 / (*el).max(1) as f64);
    }
    if let Some(method) = file.get("tritone.quantization.method") {
        // Per part of the model: the formats its tensors are stored in (what the plan chose).
        println!("\nquantization ({}):", meta_text(method));
        if let Some(c) = file.get("tritone.quantization.calibration") {
            println!("  calibration: {}", meta_text(c));
        }
        let mut groups: BTreeMap<&str, BTreeMap<&str, (u64, u64)>> = BTreeMap::new();
        for t in file.tensors().iter().filter(|t| !t.name.starts_with("voices.")) {
            let e = groups.entry(quantize::group_of(t.name)).or_default().entry(t.ggml_type.name()).or_default();
            *e = (e.0 + 1, e.1 + t.size);
        }
        for (group, types) in &groups {
            let parts: Vec<String> = types.iter().map(|(ty, (n, by))| format!("{n} {ty} ({:.2} MB)", *by as f64 / 1e6)).collect();
            println!("  {group:22} {}", parts.join(", "));
        }
    }
    Ok(())
}

fn tensor(path: &Path, name: &str, out: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = GgufFile::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let info = file.tensor(name).map_err(|e| {
        let names: Vec<&str> = file.tensors().iter().map(|t| t.name).take(20).collect();
        format!("{e}; the file has {} tensors, e.g. {}", file.tensors().len(), names.join(", "))
    })?;
    let values = file.tensor_f32(name).map_err(|e| e.to_string())?;
    let shape = numpy_shape(&info.ne);
    let mut w = BufWriter::new(std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?);
    tritone::npy::write_npy(&mut w, &shape, &values).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{name}: {} {:?} → {} ({} values, f32)", info.ggml_type.name(), shape, out.display(), values.len());
    Ok(())
}


/// Where synthesis runs, and how the CPU multiplies.
#[derive(Clone, Copy, clap::Args)]
struct BackendArgs {
    /// Where synthesis runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// CPU convolutions in int8 (input per tensor, weights per output channel, exact integer
    /// sums): about 2× faster on CPUs with AVX-512 VNNI, a fraction of a dB from f32.
    #[arg(long)]
    int8: bool,
}

impl BackendArgs {
    fn cpu(&self) -> CpuBackend {
        CpuBackend::new(if self.int8 { Arithmetic::Int8 } else { Arithmetic::F32 })
    }
}

/// `--backend`: where synthesis runs.
#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The GPU when it runs every op, else the CPU.
    Auto,
    Cpu,
    Gpu,
}

impl BackendArg {
    fn choice(self) -> BackendChoice {
        match self {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Cpu => BackendChoice::Cpu,
            BackendArg::Gpu => BackendChoice::Gpu,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
#[allow(non_camel_case_types)]
enum Dtype {
    F32,
    F16,
    Bf16,
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q5_0")]
    Q5_0,
    #[value(name = "q4_0")]
    Q4_0,
    #[value(name = "q4_k")]
    Q4_K,
    #[value(name = "q2_k")]
    Q2_K,
    #[value(name = "tq2_0")]
    TQ2_0,
    #[value(name = "tq1_0")]
    TQ1_0,
}

impl Dtype {
    fn ggml(self) -> GgmlType {
        match self {
            Dtype::F32 => GgmlType::F32,
            Dtype::F16 => GgmlType::F16,
            Dtype::Bf16 => GgmlType::BF16,
            Dtype::Q8_0 => GgmlType::Q8_0,
            Dtype::Q5_0 => GgmlType::Q5_0,
            Dtype::Q4_0 => GgmlType::Q4_0,
            Dtype::Q4_K => GgmlType::Q4_K,
            Dtype::Q2_K => GgmlType::Q2_K,
            Dtype::TQ2_0 => GgmlType::TQ2_0,
            Dtype::TQ1_0 => GgmlType::TQ1_0,
        }
    }
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
    bar.set_message(what.to_owned());
    bar
}

/// Where `convert` takes the weights from.
enum WeightFile<'p> {
    Pth(&'p Path),
    Onnx(&'p Path),
}

fn convert(pth: Option<&Path>, onnx: Option<&Path>, config: Option<&Path>, voices: &Path, out: &Path, dtype: Dtype) -> Result<(), String> {
    let file = match (pth, onnx) {
        (Some(p), None) => WeightFile::Pth(p),
        (None, Some(p)) => WeightFile::Onnx(p),
        _ => return Err("give exactly one of --pth and --onnx".into()),
    };
    let config_json: Option<Value> = config
        .map(|p| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display())).and_then(|s| serde_json::from_str(&s).map_err(|e| format!("{}: {e}", p.display()))))
        .transpose()?;
    let cfg: KokoroConfig = match &config_json {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("config: {e}"))?,
        None => KokoroConfig::kokoro_82m(),
    };
    cfg.validate().map_err(|e| e.to_string())?;
    // The vocabulary: config.json's "vocab" when given, else Kokoro-82M's.
    let tokens = match config_json.as_ref().and_then(|v| v.get("vocab")).and_then(Value::as_object) {
        Some(vocab) => {
            let mut tokens = vec![String::new(); cfg.n_token];
            for (symbol, id) in vocab {
                let id = id.as_u64().filter(|&i| (i as usize) < cfg.n_token).ok_or_else(|| format!("vocab id of {symbol:?} outside 0..{}", cfg.n_token))?;
                tokens[id as usize] = symbol.clone();
            }
            tokens
        }
        None => vocab::tokens(cfg.n_token),
    };
    // Read first: a missing voices file should not cost a model conversion.
    let voices = read_voices(voices)?;
    let (path, what) = match file {
        WeightFile::Pth(p) => (p, "checkpoint"),
        WeightFile::Onnx(p) => (p, "ONNX"),
    };
    let bar = progress(3, what);
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    bar.inc(1);
    let (source, unused_extra) = match file {
        WeightFile::Pth(_) => (MapSource::from_pth(&bytes).map_err(|e| format!("{}: {e}", path.display()))?, Vec::new()),
        WeightFile::Onnx(_) => MapSource::from_onnx(bytes.into(), &cfg, &tokens).map_err(|e| format!("{}: {e}", path.display()))?,
    };
    bar.inc(1);
    let weights = collect_weights(&source, &cfg, &tokens).map_err(|e| format!("{}: {e}", path.display()))?;
    bar.inc(1);
    bar.finish();
    let used: std::collections::HashSet<&str> = weights.iter().map(|(n, _)| n.as_str()).collect();
    let mut unused: Vec<&str> = source.names().filter(|n| !used.contains(n) && !n.starts_with("bert.pooler.")).collect();
    // Anonymous graph constants (`/…/Constant_output_0`, `onnx::…`) are the export's arithmetic, not weights.
    unused.extend(unused_extra.iter().map(String::as_str).filter(|n| !n.starts_with('/') && !n.starts_with("onnx::")));
    unused.sort();
    if !unused.is_empty() {
        let shown = unused.len().min(8);
        let more = if unused.len() > shown { format!(", and {} more", unused.len() - shown) } else { String::new() };
        eprintln!("note: {} tensors in {} are not part of the model: {}{more}", unused.len(), path.display(), unused[..shown].join(", "));
    }
    write_out(&cfg, &tokens, &weights, &voices, dtype, out)
}

/// Writes the model with a progress bar over its tensors and reports what went into it.
fn write_out(cfg: &KokoroConfig, tokens: &[String], weights: &[(String, Weight)], voices: &[(String, Vec<f32>)], dtype: Dtype, out: &Path) -> Result<(), String> {
    let bar = progress(weights.len() as u64, dtype.ggml().name());
    let gguf = write_model(cfg, tokens, weights, voices, dtype.ggml(), &mut || bar.inc(1)).map_err(|e| e.to_string())?;
    bar.finish();
    std::fs::write(out, &gguf).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut by_type = std::collections::BTreeMap::new();
    for (_, w) in weights {
        *by_type.entry(storage_type(w.shape(), dtype.ggml()).name()).or_insert(0) += 1;
    }
    let types: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
    println!("{}: {} weights ({}), {} voices, {:.1} MB", out.display(), weights.len(), types.join(", "), voices.len(), gguf.len() as f64 / 1e6);
    Ok(())
}

/// `convert --gguf`: a tritone GGUF's weights stored as `dtype` (decoded and encoded again).
fn restore(path: &Path, voices: Option<&Path>, out: &Path, dtype: Dtype) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let bytes = Bytes::from(std::fs::read(path).map_err(|e| fail(&e))?);
    let file = GgufFile::parse(&bytes).map_err(|e| fail(&e))?;
    let cfg = KokoroConfig::from_gguf(&file).map_err(|e| fail(&e))?;
    let tokens: Vec<String> = file.get_str_array("tokenizer.ggml.tokens").map_err(|e| fail(&e))?.into_iter().map(str::to_owned).collect();
    let source = GgufWeights::new(&file, &bytes);
    let weights = collect_weights(&source, &cfg, &tokens).map_err(|e| fail(&e))?;
    let voices = match voices {
        Some(v) => read_voices(v)?,
        None => file
            .get_str_array("kokoro.voices")
            .map_err(|e| fail(&e))?
            .into_iter()
            .map(|name| Ok((name.to_owned(), source.tensor(&format!("voices.{name}"), &[ROWS, STYLE])?.to_f32())))
            .collect::<tritone::Result<Vec<_>>>()
            .map_err(|e| fail(&e))?,
    };
    write_out(&cfg, &tokens, &weights, &voices, dtype, out)
}

/// Voice packs from a `.npz` (kokoro-onnx's `voices-v1.0.bin`), a folder of `*.pt`, or one `.pt`.
fn read_voices(path: &Path) -> Result<Vec<(String, Vec<f32>)>, String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| fail(&e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pt"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("no voice packs (*.pt) in {}", path.display()));
        }
        files
    } else {
        let bytes = std::fs::read(path).map_err(|e| fail(&e))?;
        if is_npz(&bytes) {
            let voices = voices_from_npz(&bytes).map_err(|e| fail(&e))?;
            if voices.is_empty() {
                return Err(format!("{}: the archive holds no voices", path.display()));
            }
            return Ok(voices);
        }
        vec![path.to_owned()]
    };
    let bar = progress(files.len() as u64, "voices");
    let mut voices = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("voice").to_owned();
        voices.push((name, voice_from_pt(&bytes).map_err(|e| format!("{}: {e}", f.display()))?));
        bar.inc(1);
    }
    bar.finish();
    Ok(voices)
}

fn load_model(path: &Path, backend: BackendArgs) -> Result<Engine, String> {
    let bytes = Bytes::from(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    pollster::block_on(Engine::load_with(&bytes, backend.backend.choice(), backend.cpu())).map_err(|e| format!("{}: {e}", path.display()))
}

/// ` (why)`, or nothing.
pub(crate) fn paren(why: &str) -> String {
    if why.is_empty() { String::new() } else { format!(" ({why})") }
}

#[allow(clippy::too_many_arguments)]
fn phonemize(text: Option<String>, args: &PhonemizerArgs, json: bool, normalize_only: bool) -> Result<(), String> {
    let text = match text {
        Some(t) => t,
        None => {
            let mut t = String::new();
            std::io::stdin().read_to_string(&mut t).map_err(|e| format!("stdin: {e}"))?;
            t
        }
    };
    if normalize_only {
        for line in text.lines() {
            println!("{}", args.phonemizer(Language::EnUs)?.normalize_text(line));
        }
        return Ok(());
    }
    let result = args.run(&text, Language::EnUs)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?);
    } else {
        println!("{}", result.phonemes());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn say(model: &Path, voice: &str, phonemes: Option<String>, text: Option<String>, args: &PhonemizerArgs, speed: f32, seed: Option<u64>, by_sentence: bool, backend: BackendArgs, dump: Option<&Path>, out: &Path) -> Result<(), String> {
    let segments = match (phonemes, text) {
        (Some(p), _) => vec![Segment { phonemes: p, words: Vec::new(), rate: 1.0, pause_ms: 0 }],
        (None, Some(text)) => {
            if let (None, Some(note)) = (&args.lang, Language::voice_note(voice)) {
                eprintln!("note: {note}");
            }
            args.run(&text, Language::for_voice(voice))?.segments
        }
        (None, None) => return Err("nothing to say: pass --phonemes or TEXT".into()),
    };
    let engine = load_model(model, backend)?;
    let seed = seed.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
    let opts = SynthesisOptions { speed, seed, by_sentence, ..SynthesisOptions::new(voice) };
    let started = std::time::Instant::now();
    let speech = pollster::block_on(engine.speak_segments(&segments, &opts)).map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64();
    let spec = hound::WavSpec { channels: 1, sample_rate: SAMPLE_RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut wav = hound::WavWriter::create(out, spec).map_err(|e| format!("{}: {e}", out.display()))?;
    for &s in &speech.audio {
        wav.write_sample(serve::pcm16_sample(s)).map_err(|e| e.to_string())?;
    }
    wav.finalize().map_err(|e| e.to_string())?;
    if let Some(dir) = dump {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let durations: Vec<i64> = speech.chunks.iter().flat_map(|(_, d)| d.iter().map(|&f| f as i64)).collect();
        let write = |name: &str, f: &dyn Fn(&mut BufWriter<std::fs::File>) -> std::io::Result<()>| -> Result<(), String> {
            let path = dir.join(name);
            let mut w = BufWriter::new(std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?);
            f(&mut w).map_err(|e| format!("{}: {e}", path.display()))
        };
        write("durations.npy", &|w| tritone::npy::write_npy(w, &[durations.len() as u64], &durations))?;
        write("audio.npy", &|w| tritone::npy::write_npy(w, &[speech.audio.len() as u64], &speech.audio))?;
    }
    let seconds = speech.audio.len() as f64 / SAMPLE_RATE as f64;
    println!("{}: {seconds:.2} s of audio in {elapsed:.2} s (RTF {:.3}), seed {seed}", out.display(), elapsed / seconds.max(1e-9));
    Ok(())
}

/// "Kokoro is an open-weight TTS model with 82 million parameters. Despite its lightweight
/// architecture, it delivers comparable quality to larger models." in misaki's US phonemes.
const BENCH_PHONEMES: &str = "kˈOkəɹO ɪz ɐn ˈOpᵊnwˌAt tˌitˌiˈɛs mˈɑdᵊl wɪð ˈATi tˈu mˈɪljᵊn pəɹˈæməTəɹz. dəspˈAt ɪts lˈAtwˌAt ˈɑɹkətˌɛkʧəɹ, ɪt dəlˈɪvəɹz kəmpˈɛɹəbᵊl kwˈɑləTi tə lˈɑɹʤəɹ mˈɑdᵊlz.";

#[allow(clippy::too_many_arguments)]
fn bench(model: &Path, voice: Option<&str>, (warmup, runs): (usize, usize), backend: BackendArgs, phonemes: &str, threads: Option<usize>, per_op: bool, json: bool) -> Result<(), String> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().map_err(|e| format!("--threads: {e}"))?;
    }
    let engine = load_model(model, backend)?;
    let voice = match voice {
        Some(v) => v.to_owned(),
        None => engine.voices().into_iter().next().ok_or("the model has no voices")?,
    };
    let opts = SynthesisOptions::new(voice);
    for _ in 0..warmup {
        pollster::block_on(engine.speak(phonemes, &opts)).map_err(|e| e.to_string())?;
    }
    let mut results = Vec::new();
    for _ in 0..runs.max(1) {
        let macs = tritone::backend::host_multiply_adds();
        let started = std::time::Instant::now();
        let speech = pollster::block_on(engine.speak(phonemes, &opts)).map_err(|e| e.to_string())?;
        results.push((started.elapsed().as_secs_f64(), tritone::backend::host_multiply_adds() - macs, speech));
    }
    results.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (elapsed, macs, speech) = &results[results.len() / 2];
    let seconds = speech.audio.len() as f64 / SAMPLE_RATE as f64;
    // multiply-adds of the convolutions and matrix products (CPU backend), 2 flops each
    let gflops = 2.0 * *macs as f64 / elapsed / 1e9;
    let threads = rayon::current_num_threads();
    let t = &speech.times;
    let stages = [("albert", t.albert), ("predictor", t.predictor), ("text_encoder", t.text_encoder), ("decoder", t.decoder), ("generator", t.generator), ("istft", t.istft)];
    // after the timed runs: timing each op slows the whole
    let op_times = if per_op { Some(time_ops(&engine, phonemes, &opts)) } else { None };
    let gpu_memory = match &engine {
        Engine::Gpu(g) => Some(g.gpu().memory()),
        Engine::Cpu { .. } => None,
    };
    if json {
        let stages: serde_json::Map<String, serde_json::Value> = stages.iter().map(|(k, ms)| (k.to_string(), serde_json::json!(ms / 1e3))).collect();
        let out = serde_json::json!({
            "median_s": elapsed, "audio_s": seconds, "rtf": elapsed / seconds, "runs": results.len(), "threads": threads,
            "backend": engine.backend(), "gflops": gflops, "multiply_adds": macs, "ops": speech.ops, "stages_s": stages,
            "gpu_memory": gpu_memory,
            "per_op_ms": op_times.as_ref().and_then(|t| t.as_ref().ok()),
            "per_op_error": op_times.as_ref().and_then(|t| t.as_ref().err()),
        });
        println!("{out}");
        return Ok(());
    }
    println!("backend: {}{}", engine.backend(), paren(&engine.backend_reason()));
    if *macs > 0 {
        println!("ops per synthesis: {}, {:.1} G multiply-adds", speech.ops, *macs as f64 / 1e9);
        println!("{seconds:.2} s of audio, median of {} runs {elapsed:.3} s, RTF {:.3}, {gflops:.1} GFLOP/s effective on {threads} threads", results.len(), elapsed / seconds);
    } else {
        // the GPU's multiply-adds are not counted on the host
        println!("dispatches per synthesis: {}", speech.ops);
        println!("{seconds:.2} s of audio, median of {} runs {elapsed:.3} s, RTF {:.3}", results.len(), elapsed / seconds);
        println!("  (stage times on the GPU: recording, plus the waits at the readbacks)");
    }
    if let Some(m) = gpu_memory {
        let mb = |b: u64| b as f64 / 1e6;
        println!("GPU memory: weights {:.1} MB, peak {:.1} MB ({:.1} MB pooled for reuse)", mb(m.weights), mb(m.peak), mb(m.pooled));
    }
    for (stage, ms) in stages {
        println!("  {stage:13} {ms:9.1} ms  {:5.1} %", 100.0 * ms / (elapsed * 1e3));
    }
    match op_times {
        Some(Ok(times)) => {
            let total: f64 = times.values().map(|t| t.ms).sum();
            let what = if gpu_memory.is_some() { "kernel time from timestamp queries" } else { "wall time per call" };
            println!("per op, one more run ({what}; {total:.1} ms in all):");
            let mut rows: Vec<_> = times.iter().collect();
            rows.sort_by(|a, b| b.1.ms.total_cmp(&a.1.ms));
            for (op, t) in rows {
                println!("  {op:17} {:6} calls {:10.2} ms  {:5.1} %", t.calls, t.ms, 100.0 * t.ms / total);
            }
        }
        Some(Err(e)) => println!("per op: not measured: {e}"),
        None => {}
    }
    Ok(())
}

/// One synthesis with every op timed.
fn time_ops(engine: &Engine, phonemes: &str, opts: &SynthesisOptions) -> Result<tritone::backend::OpTimes, String> {
    engine.profile(true).map_err(|e| e.to_string())?;
    let times = pollster::block_on(async {
        engine.speak(phonemes, opts).await?;
        engine.take_profile().await
    });
    engine.profile(false).map_err(|e| e.to_string())?;
    times.map_err(|e| e.to_string())
}
