//! `tritone serve`: an OpenAI-compatible speech server (`POST /v1/audio/speech`).
//!
//! Requests go through a bounded queue to N synthesis workers, each an OS thread with its own
//! [`Engine`] over the same model bytes (weights are shared, not copied). A full queue answers
//! 429 with `Retry-After`; a client that goes away cancels its synthesis before the next piece;
//! SIGTERM or Ctrl-C stops accepting, lets in-flight work finish for `--shutdown-timeout`
//! seconds, then cancels the rest and exits 0.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes as BodyBytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc as tmpsc;
use tritone::backend::CpuBackend;
use tritone::model::voices::VoiceMix;
use tritone::phonemize::{Language, Phonemizer, Segment};
use tritone::tts::{BackendChoice, Engine, SpeechChunk, SynthesisOptions, SAMPLE_RATE};
use tritone::Error;

use super::paren;

pub struct ServeArgs {
    pub model: std::path::PathBuf,
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub max_queue: usize,
    pub max_input_chars: usize,
    pub backend: BackendChoice,
    pub cpu: CpuBackend,
    pub shutdown_timeout: f64,
    pub check: bool,
}

/// Audio encodings the server writes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    /// 16-bit mono WAV, sent whole (its header needs the length).
    Wav,
    /// Raw 16-bit little-endian mono samples at 24 kHz, streamed as synthesized.
    Pcm,
}

impl Format {
    fn parse(name: &str) -> Result<Self, ApiError> {
        match name {
            "wav" => Ok(Format::Wav),
            "pcm" => Ok(Format::Pcm),
            "mp3" | "opus" | "aac" | "flac" => Err(ApiError::bad(
                "unsupported_format",
                Some("response_format"),
                format!("response_format {name:?} is not supported: this server writes \"wav\" and \"pcm\" (24 kHz mono 16-bit)"),
            )),
            other => Err(ApiError::bad("unsupported_format", Some("response_format"), format!("unknown response_format {other:?}: use \"wav\" or \"pcm\""))),
        }
    }
}

/// OpenAI's request body, plus tritone's `lang`, `ssml` and `seed`.
#[derive(Deserialize)]
struct SpeechRequest {
    model: Option<String>,
    input: String,
    voice: String,
    speed: Option<f32>,
    response_format: Option<String>,
    stream_format: Option<String>,
    lang: Option<String>,
    ssml: Option<bool>,
    seed: Option<u64>,
}

/// What a worker is asked to do.
struct Job {
    input: String,
    ssml: bool,
    opts: SynthesisOptions,
    out: tmpsc::Sender<Event>,
    cancel: Arc<AtomicBool>,
}

/// Most silence (SSML breaks, paragraph pauses) one request may ask for.
const MAX_PAUSE_MS: u64 = 60_000;

impl Job {
    fn cancelled(&self, shared: &Shared) -> bool {
        self.cancel.load(Ordering::SeqCst) || shared.abort.load(Ordering::SeqCst)
    }

    /// Hands an event to the request, waiting while its buffer is full (a slow reader) but
    /// giving up when the request is cancelled or the server aborts: never blocks for good.
    fn send(&self, mut event: Event, shared: &Shared) -> Result<(), Error> {
        loop {
            if self.cancelled(shared) {
                return Err(Error::Cancelled);
            }
            match self.out.try_send(event) {
                Ok(()) => return Ok(()),
                Err(tmpsc::error::TrySendError::Full(back)) => {
                    event = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(tmpsc::error::TrySendError::Closed(_)) => return Err(Error::Cancelled),
            }
        }
    }
}

/// What a worker reports back.
enum Event {
    Chunk(SpeechChunk),
    Done(Result<(), Error>),
}

#[derive(Default)]
struct Metrics {
    requests: AtomicU64,
    ok: AtomicU64,
    client_errors: AtomicU64,
    rejected_full: AtomicU64,
    server_errors: AtomicU64,
    cancelled: AtomicU64,
    synthesis_micros: AtomicU64,
    audio_samples: AtomicU64,
}

struct Shared {
    /// The queue's sender; taken at shutdown so the workers' `recv` ends.
    jobs: Mutex<Option<mpsc::SyncSender<Job>>>,
    queued: AtomicUsize,
    max_queue: usize,
    max_input_chars: usize,
    voices: Vec<String>,
    backend: String,
    model: String,
    metrics: Metrics,
    /// Set when shutdown's grace period ends: workers stop what they are doing.
    abort: Arc<AtomicBool>,
}

type AppState = Arc<Shared>;

impl Shared {
    /// Model names requests may give: the file's name, and the names OpenAI clients send.
    fn model_ids(&self) -> Vec<&str> {
        vec![self.model.as_str(), "kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"]
    }
}

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
struct ApiError {
    status: StatusCode,
    code: String,
    param: Option<&'static str>,
    message: String,
}

impl ApiError {
    fn bad(code: &str, param: Option<&'static str>, message: String) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: code.into(), param, message }
    }

    /// An engine error: 400 for what the request got wrong, 503 when the server cancelled it
    /// (shutdown), 500 for anything else (the engine or the model failed).
    fn engine(e: Error) -> Self {
        let status = match e {
            Error::Ssml { .. } | Error::Alphabet { .. } | Error::UnknownVoice { .. } | Error::UnknownPhonemes { .. } | Error::EmptyInput { .. } | Error::BadOption { .. } => StatusCode::BAD_REQUEST,
            Error::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self { status, code: e.code().into(), param: None, message: e.to_string() }
    }

    fn worker_failed() -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, code: "worker_failed".into(), param: None, message: "the synthesis worker stopped".into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() { "server_error" } else { "invalid_request_error" };
        let body = json!({ "error": { "message": self.message, "type": kind, "param": self.param, "code": self.code } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

pub fn serve(args: ServeArgs) -> Result<(), String> {
    let bytes = Bytes::from(std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model.display()))?);
    let workers = args.workers.max(1);
    let load = |_| pollster::block_on(Engine::load_with(&bytes, args.backend, args.cpu)).map_err(|e| format!("{}: {e}", args.model.display()));
    let engines: Vec<Engine> = (0..workers).map(load).collect::<Result<_, _>>()?;
    let first = &engines[0];
    println!("model {}: {} voices; backend {}{}", args.model.display(), first.voices().len(), first.backend(), paren(&first.backend_reason()));
    if args.check {
        // One short synthesis proves the model speaks, not just that it parses.
        let voice = first.voices().into_iter().next().ok_or("the model has no voices")?;
        pollster::block_on(first.speak("hˈI.", &SynthesisOptions::new(voice))).map_err(|e| e.to_string())?;
        println!("check passed");
        return Ok(());
    }
    let (jobs, queue) = mpsc::sync_channel::<Job>(args.max_queue);
    let abort = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared {
        jobs: Mutex::new(Some(jobs)),
        queued: AtomicUsize::new(0),
        max_queue: args.max_queue,
        max_input_chars: args.max_input_chars,
        voices: first.voices(),
        backend: first.backend(),
        model: args.model.file_stem().map_or_else(|| "kokoro".into(), |s| s.to_string_lossy().into_owned()),
        metrics: Metrics::default(),
        abort: abort.clone(),
    });
    let queue = Arc::new(Mutex::new(queue));
    let mut handles = Vec::new();
    for engine in engines {
        let (queue, shared) = (queue.clone(), shared.clone());
        handles.push(std::thread::spawn(move || worker(engine, &queue, &shared)));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| e.to_string())?;
    let app = router(shared.clone());
    let grace = Duration::try_from_secs_f64(args.shutdown_timeout).map_err(|e| format!("--shutdown-timeout {}: {e}", args.shutdown_timeout))?;
    let (host, port) = (args.host.clone(), args.port);
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await.map_err(|e| format!("{host}:{port}: {e}"))?;
        println!("tritone serve: listening on http://{}", listener.local_addr().map_err(|e| e.to_string())?);
        let signalled = Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        let shutdown = async move {
            shutdown_signal().await;
            eprintln!("shutting down: finishing requests in flight (up to {:.0} s)", grace.as_secs_f64());
            notify.notify_one();
            // After the grace period, cancel whatever is still synthesizing.
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                abort.store(true, Ordering::SeqCst);
            });
        };
        // Connections that outlive the grace period by 5 s (a client that stopped reading) are dropped.
        let deadline = async move {
            signalled.notified().await;
            tokio::time::sleep(grace + Duration::from_secs(5)).await;
        };
        tokio::select! {
            served = axum::serve(listener, app).with_graceful_shutdown(shutdown) => served.map_err(|e| e.to_string()),
            () = deadline => Ok(()),
        }
    })?;
    lock(&shared.jobs).take();
    drop(runtime);
    for h in handles {
        let _ = h.join();
    }
    eprintln!("stopped");
    Ok(())
}

/// A mutex's value, also after a panic elsewhere (the data stays consistent: plain values).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/audio/speech", post(speech))
        .route("/v1/models", get(models))
        .route("/v1/audio/voices", get(voices))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError { status: StatusCode::NOT_FOUND, code: "not_found".into(), param: None, message: "no such endpoint".into() } })
        .with_state(state)
}

/// One synthesis worker: phonemizes and speaks jobs until the queue closes.
fn worker(engine: Engine, queue: &Mutex<mpsc::Receiver<Job>>, shared: &Shared) {
    let mut phonemizers: Vec<(Language, Phonemizer)> = Vec::new();
    loop {
        let job = match lock(queue).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        shared.queued.fetch_sub(1, Ordering::SeqCst);
        let started = Instant::now();
        let result = if job.cancelled(shared) {
            Err(Error::Cancelled)
        } else {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_job(&engine, &mut phonemizers, &job, shared))).unwrap_or_else(|panic| {
                let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                Err(Error::InvalidArgument { op: "synthesis", reason: format!("the worker panicked: {what}") })
            })
        };
        shared.metrics.synthesis_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if matches!(result, Err(Error::Cancelled)) {
            shared.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        let _ = job.send(Event::Done(result), shared);
    }
}

fn run_job(engine: &Engine, phonemizers: &mut Vec<(Language, Phonemizer)>, job: &Job, shared: &Shared) -> Result<(), Error> {
    let language = job.opts.language();
    if !phonemizers.iter().any(|(l, _)| *l == language) {
        phonemizers.push((language, Phonemizer::new(language)?));
    }
    let phonemizer = &phonemizers.iter().find(|(l, _)| *l == language).expect("just added").1;
    let segments: Vec<Segment> = if job.ssml { phonemizer.phonemize_ssml(&job.input)?.segments } else { phonemizer.phonemize(&job.input).segments };
    let pause_ms: u64 = segments.iter().map(|s| u64::from(s.pause_ms)).sum();
    if pause_ms > MAX_PAUSE_MS {
        return Err(Error::BadOption { option: "input", reason: format!("{:.0} s of breaks; at most {} s per request", pause_ms as f64 / 1e3, MAX_PAUSE_MS / 1000) });
    }
    let mut sink = |chunk: SpeechChunk| {
        shared.metrics.audio_samples.fetch_add(chunk.audio.len() as u64, Ordering::Relaxed);
        job.send(Event::Chunk(chunk), shared)
    };
    pollster::block_on(engine.stream_segments(&segments, &job.opts, &mut sink)).map(|_| ())
}

/// Validates a request into a job's options, or the 4xx that says what is wrong.
fn validate(shared: &Shared, body: &[u8]) -> Result<(SpeechRequest, Format, bool, SynthesisOptions), ApiError> {
    let req: SpeechRequest = serde_json::from_slice(body).map_err(|e| ApiError::bad("invalid_json", None, format!("the body is not a valid speech request: {e}")))?;
    let models = shared.model_ids();
    if let Some(model) = req.model.as_deref().filter(|m| !models.contains(m)) {
        return Err(ApiError { status: StatusCode::NOT_FOUND, code: "model_not_found".into(), param: Some("model"), message: format!("model {model:?} does not exist here; use one of: {}", models.join(", ")) });
    }
    if req.input.trim().is_empty() {
        return Err(ApiError::bad("empty_input", Some("input"), "input is empty: nothing to speak".into()));
    }
    let chars = req.input.chars().count();
    if chars > shared.max_input_chars {
        return Err(ApiError::bad("input_too_long", Some("input"), format!("input has {chars} characters; this server takes at most {}", shared.max_input_chars)));
    }
    let mix = VoiceMix::parse(&req.voice).map_err(|e| ApiError::bad(e.code(), Some("voice"), e.to_string()))?;
    if let Some((name, _)) = mix.0.iter().find(|(n, _)| !shared.voices.contains(n)) {
        return Err(ApiError::bad("unknown_voice", Some("voice"), format!("unknown voice {name:?}; this model has: {}", shared.voices.join(", "))));
    }
    let speed = req.speed.unwrap_or(1.0);
    if !(0.25..=4.0).contains(&speed) {
        return Err(ApiError::bad("bad_option", Some("speed"), format!("speed must be between 0.25 and 4.0, got {speed}")));
    }
    let format = Format::parse(req.response_format.as_deref().unwrap_or("wav"))?;
    let sse = match req.stream_format.as_deref() {
        None | Some("audio") => false,
        Some("sse") => true,
        Some(other) => return Err(ApiError::bad("bad_option", Some("stream_format"), format!("stream_format {other:?}: use \"audio\" or \"sse\""))),
    };
    if sse && format != Format::Pcm {
        return Err(ApiError::bad("bad_option", Some("stream_format"), "stream_format \"sse\" carries base64 \"pcm\": set response_format to \"pcm\"".into()));
    }
    let language = req.lang.as_deref().map(Language::from_code).transpose().map_err(|e| ApiError::bad(e.code(), Some("lang"), e.to_string()))?;
    let opts = SynthesisOptions { voice: req.voice.clone(), speed, seed: req.seed.unwrap_or(0), language, by_sentence: true };
    Ok((req, format, sse, opts))
}

async fn speech(State(shared): State<AppState>, body: BodyBytes) -> Response {
    shared.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let response = match speech_response(&shared, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let counter = match response.status() {
        s if s.is_success() => &shared.metrics.ok,
        StatusCode::TOO_MANY_REQUESTS => &shared.metrics.rejected_full,
        s if s.is_client_error() => &shared.metrics.client_errors,
        _ => &shared.metrics.server_errors,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    response
}

async fn speech_response(shared: &AppState, body: &[u8]) -> Result<Response, ApiError> {
    let (req, format, sse, opts) = validate(shared, body)?;
    let (tx, mut rx) = tmpsc::channel::<Event>(64);
    let cancel = Arc::new(AtomicBool::new(false));
    let job = Job { input: req.input, ssml: req.ssml.unwrap_or(false), opts, out: tx, cancel: cancel.clone() };
    shared.queued.fetch_add(1, Ordering::SeqCst);
    let sent = match lock(&shared.jobs).as_ref() {
        Some(jobs) => jobs.try_send(job),
        None => Err(mpsc::TrySendError::Disconnected(job)),
    };
    if let Err(e) = sent {
        shared.queued.fetch_sub(1, Ordering::SeqCst);
        return Err(match e {
            mpsc::TrySendError::Full(_) => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "queue_full".into(),
                param: None,
                message: format!("the server is busy: {} requests are waiting; retry shortly", shared.max_queue),
            },
            mpsc::TrySendError::Disconnected(_) => ApiError { status: StatusCode::SERVICE_UNAVAILABLE, code: "shutting_down".into(), param: None, message: "the server is shutting down".into() },
        });
    }
    // Cancels the job if this request goes away (client disconnect drops the future or body).
    let guard = CancelOnDrop(cancel);
    // The first event says whether synthesis started well: errors before any audio are 4xx.
    let first = rx.recv().await.ok_or_else(ApiError::worker_failed)?;
    let first = match first {
        Event::Done(Err(e)) => return Err(ApiError::engine(e)),
        other => other,
    };
    if format == Format::Wav {
        let mut samples = Vec::new();
        let mut event = first;
        loop {
            match event {
                Event::Chunk(c) => samples.extend(pcm16(&c.audio)),
                Event::Done(Ok(())) => break,
                Event::Done(Err(e)) => return Err(ApiError::engine(e)),
            }
            event = rx.recv().await.ok_or_else(ApiError::worker_failed)?;
        }
        drop(guard);
        let mut wav = wav_header(samples.len() as u32);
        wav.extend(samples);
        return Ok(([(header::CONTENT_TYPE, "audio/wav")], wav).into_response());
    }
    // pcm and sse: stream each chunk as it comes.
    let stream = futures_util::stream::unfold((Some(first), rx, guard, false), move |(pending, mut rx, guard, finished)| async move {
        if finished {
            return None;
        }
        let event = match pending {
            Some(e) => e,
            // The worker went away without a verdict: end the stream with an error, not cleanly.
            None => match rx.recv().await {
                Some(e) => e,
                None => return Some((Err(std::io::Error::other("the synthesis worker stopped")), (None, rx, guard, true))),
            },
        };
        let (bytes, done) = match event {
            Event::Chunk(c) if sse => (sse_event(&c), false),
            Event::Chunk(c) => (pcm16(&c.audio), false),
            Event::Done(Ok(())) if sse => (b"data: {\"type\":\"speech.audio.done\"}\n\n".to_vec(), true),
            Event::Done(Ok(())) => return None,
            // Headers are sent: the error can only end the stream.
            Event::Done(Err(e)) if sse => (format!("data: {}\n\n", json!({ "type": "error", "error": { "message": e.to_string(), "code": e.code() } })).into_bytes(), true),
            Event::Done(Err(e)) => return Some((Err(std::io::Error::other(e.to_string())), (None, rx, guard, true))),
        };
        Some((Ok::<_, std::io::Error>(BodyBytes::from(bytes)), (None, rx, guard, done)))
    });
    let content_type = if sse { "text/event-stream" } else { "audio/pcm" };
    Ok(([(header::CONTENT_TYPE, content_type)], Body::from_stream(stream)).into_response())
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// One sample as 16-bit PCM (clipped), the way `say` writes WAV too.
pub(crate) fn pcm16_sample(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

fn pcm16(audio: &[f32]) -> Vec<u8> {
    audio.iter().flat_map(|&s| pcm16_sample(s).to_le_bytes()).collect()
}

/// `data: {"type":"speech.audio.delta","audio":<base64 pcm>,"words":[…]}`.
fn sse_event(chunk: &SpeechChunk) -> Vec<u8> {
    let audio = base64::engine::general_purpose::STANDARD.encode(pcm16(&chunk.audio));
    format!("data: {}\n\n", json!({ "type": "speech.audio.delta", "audio": audio, "words": chunk.words })).into_bytes()
}

/// A 44-byte RIFF header for `data_bytes` of 16-bit mono PCM at 24 kHz.
fn wav_header(data_bytes: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(44 + data_bytes as usize);
    h.extend(b"RIFF");
    h.extend((36 + data_bytes).to_le_bytes());
    h.extend(b"WAVEfmt ");
    h.extend(16u32.to_le_bytes());
    h.extend(1u16.to_le_bytes()); // PCM
    h.extend(1u16.to_le_bytes()); // mono
    h.extend(SAMPLE_RATE.to_le_bytes());
    h.extend((SAMPLE_RATE * 2).to_le_bytes());
    h.extend(2u16.to_le_bytes());
    h.extend(16u16.to_le_bytes());
    h.extend(b"data");
    h.extend(data_bytes.to_le_bytes());
    h
}

async fn models(State(shared): State<AppState>) -> Response {
    let data: Vec<_> = shared.model_ids().iter().map(|id| json!({ "id": id, "object": "model", "created": 0, "owned_by": "tritone" })).collect();
    axum::Json(json!({ "object": "list", "data": data })).into_response()
}

async fn voices(State(shared): State<AppState>) -> Response {
    axum::Json(json!({ "voices": shared.voices })).into_response()
}

async fn health(State(shared): State<AppState>) -> Response {
    axum::Json(json!({ "status": "ok", "model": shared.model, "backend": shared.backend, "voices": shared.voices.len(), "queued": shared.queued.load(Ordering::SeqCst) })).into_response()
}

/// Prometheus text exposition.
async fn metrics(State(shared): State<AppState>) -> Response {
    let m = &shared.metrics;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let synthesis = get(&m.synthesis_micros) as f64 / 1e6;
    let audio = get(&m.audio_samples) as f64 / SAMPLE_RATE as f64;
    let text = format!(
        "# HELP tritone_requests_total Speech requests received.\n# TYPE tritone_requests_total counter\ntritone_requests_total {}\n\
         # HELP tritone_responses_total Speech responses by outcome.\n# TYPE tritone_responses_total counter\n\
         tritone_responses_total{{outcome=\"ok\"}} {}\ntritone_responses_total{{outcome=\"client_error\"}} {}\ntritone_responses_total{{outcome=\"queue_full\"}} {}\ntritone_responses_total{{outcome=\"server_error\"}} {}\n\
         # HELP tritone_cancelled_total Syntheses stopped because the client left or the server shut down.\n# TYPE tritone_cancelled_total counter\ntritone_cancelled_total {}\n\
         # HELP tritone_queue_depth Requests waiting for a worker.\n# TYPE tritone_queue_depth gauge\ntritone_queue_depth {}\n\
         # HELP tritone_synthesis_seconds_total Time workers spent synthesizing.\n# TYPE tritone_synthesis_seconds_total counter\ntritone_synthesis_seconds_total {synthesis:.6}\n\
         # HELP tritone_audio_seconds_total Audio produced.\n# TYPE tritone_audio_seconds_total counter\ntritone_audio_seconds_total {audio:.6}\n\
         # HELP tritone_real_time_factor Synthesis seconds per audio second, since start.\n# TYPE tritone_real_time_factor gauge\ntritone_real_time_factor {:.6}\n",
        get(&m.requests),
        get(&m.ok),
        get(&m.client_errors),
        get(&m.rejected_full),
        get(&m.server_errors),
        get(&m.cancelled),
        shared.queued.load(Ordering::SeqCst),
        if audio > 0.0 { synthesis / audio } else { 0.0 },
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
