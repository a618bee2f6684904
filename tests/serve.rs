//! `tritone serve` over raw HTTP on 127.0.0.1, with the small seeded model: every endpoint, the
//! audio formats and streaming, OpenAI-shaped 4xx errors for bad requests, a full queue giving
//! only 200s and 429s, a client that leaves cancelling its synthesis, SIGTERM exiting cleanly.
//! The OpenAI Python client and Whisper run against it on the real model in the real-speech tier
//! (`tools/serve/openai_check.py`).
#![cfg(all(feature = "cli", unix))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tritone::gguf::GgmlType;
use tritone::model::checkpoint::{collect_weights, write_model};
use tritone::model::weights::{portable_param, RandomWeights};
use tritone::vocab;

const SENTENCES: &str = "Hello there. This is the second sentence. And here is a third one, a little longer than the others.";

/// The small seeded model (F16), written once per run.
fn model_file() -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve_small.gguf");
        let cfg: tritone::config::KokoroConfig = serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference/small/config.json")).unwrap()).unwrap();
        let tokens = vocab::tokens(cfg.n_token);
        let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
        let voices = vec![("af_test".to_string(), portable_param("voicepack", 510 * 256, 0, 0.3, 0.0))];
        std::fs::write(&path, write_model(&cfg, &tokens, &weights, &voices, GgmlType::F16, &mut || {}).unwrap()).unwrap();
        path
    })
    .clone()
}

struct Server {
    child: Child,
    addr: String,
    /// Kept open: the server's stdout must not break while it runs.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let model = model_file();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tritone"))
            .args(["serve", "--model", model.to_str().unwrap(), "--port", "0", "--backend", "cpu"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("the server printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("tritone serve: listening on http://") {
                break rest.to_owned();
            }
        };
        Server { child, addr, _stdout: lines }
    }

    fn request(&self, method: &str, path: &str, body: &str) -> Response {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(stream, "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", self.addr, body.len()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        Response::parse(&raw)
    }

    fn speech(&self, body: serde_json::Value) -> Response {
        self.request("POST", "/v1/audio/speech", &body.to_string())
    }

    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// HTTP/1.1 response bytes, chunked transfer encoding decoded.
    fn parse(raw: &[u8]) -> Response {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        let head = String::from_utf8_lossy(&raw[..split]);
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned())).collect();
        let mut body = raw[split + 4..].to_vec();
        if headers.iter().any(|(k, v)| k == "transfer-encoding" && v == "chunked") {
            let (mut out, mut rest) = (Vec::new(), body.as_slice());
            loop {
                let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16).unwrap();
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
                rest = &rest[line_end + 2 + size + 2..];
            }
            body = out;
        }
        Response { status, headers, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// `(code, param)` of an OpenAI-shaped error, checking the shape.
    fn error(&self) -> (String, serde_json::Value) {
        let v = self.json();
        let e = &v["error"];
        assert!(e["message"].is_string() && e["type"].is_string(), "{v}");
        (e["code"].as_str().unwrap().to_owned(), e["param"].clone())
    }
}

#[test]
fn endpoints_formats_and_streaming() {
    let server = Server::start(&["--workers", "1"]);
    let health = server.request("GET", "/health", "");
    assert_eq!((health.status, health.json()["status"].as_str()), (200, Some("ok")));
    let models = server.request("GET", "/v1/models", "").json();
    assert!(models["data"].as_array().unwrap().iter().any(|m| m["id"] == "tts-1"));
    assert_eq!(server.request("GET", "/v1/audio/voices", "").json()["voices"], serde_json::json!(["af_test"]));

    // wav: whole, with a header that matches its data
    let wav = server.speech(serde_json::json!({ "model": "tts-1", "input": SENTENCES, "voice": "af_test", "response_format": "wav", "seed": 5 }));
    assert_eq!(wav.status, 200);
    assert_eq!(wav.header("content-type"), Some("audio/wav"));
    assert_eq!(&wav.body[..4], b"RIFF");
    let data = u32::from_le_bytes(wav.body[40..44].try_into().unwrap()) as usize;
    assert_eq!(data, wav.body.len() - 44);
    assert!(data > 2 * 2400, "at least 0.1 s of audio");

    // pcm streams the same samples; sse carries them base64-encoded with word times
    let pcm = server.speech(serde_json::json!({ "input": SENTENCES, "voice": "af_test", "response_format": "pcm", "seed": 5 }));
    assert_eq!(pcm.status, 200);
    assert_eq!(pcm.body, wav.body[44..]);
    let sse = server.speech(serde_json::json!({ "input": SENTENCES, "voice": "af_test", "response_format": "pcm", "stream_format": "sse", "seed": 5 }));
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    let events: Vec<serde_json::Value> = String::from_utf8(sse.body).unwrap().split("\n\n").filter_map(|e| e.strip_prefix("data: ")).map(|e| serde_json::from_str(e).unwrap()).collect();
    assert_eq!(events.last().unwrap()["type"], "speech.audio.done");
    let deltas: Vec<&serde_json::Value> = events.iter().filter(|e| e["type"] == "speech.audio.delta").collect();
    assert!(deltas.len() >= 3, "one event per sentence at least: {}", deltas.len());
    let audio: Vec<u8> = deltas.iter().flat_map(|e| base64::engine::general_purpose::STANDARD.decode(e["audio"].as_str().unwrap()).unwrap()).collect();
    assert_eq!(audio, pcm.body);
    let words: Vec<&serde_json::Value> = deltas.iter().flat_map(|e| e["words"].as_array().unwrap()).collect();
    assert_eq!(words.first().unwrap()["text"], "Hello");
    assert!(words.windows(2).all(|w| w[0]["end"].as_f64() <= w[1]["start"].as_f64()), "words in order");

    // The first bytes of a stream arrive well before the whole synthesis ends.
    let long = SENTENCES.repeat(3);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = serde_json::json!({ "input": long, "voice": "af_test", "response_format": "pcm" }).to_string();
    let started = Instant::now();
    write!(stream, "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).unwrap();
    let first_byte = started.elapsed();
    stream.read_to_end(&mut Vec::new()).unwrap();
    let total = started.elapsed();
    println!("streaming: first byte after {first_byte:?}, whole response after {total:?}");
    assert!(first_byte * 2 < total, "first byte {first_byte:?} vs total {total:?}");
    assert!(server.stop().success(), "SIGTERM exits with status 0");
}

#[test]
fn bad_requests_get_openai_shaped_4xx() {
    let server = Server::start(&["--workers", "1", "--max-input-chars", "300"]);
    let bad = |body: &str, status: u16, code: &str| {
        let r = server.request("POST", "/v1/audio/speech", body);
        assert_eq!(r.status, status, "{body}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.error().0, code, "{body}");
        r
    };
    bad("{not json", 400, "invalid_json");
    bad(r#"{"voice": "af_test"}"#, 400, "invalid_json");
    bad(r#"{"input": "  ", "voice": "af_test"}"#, 400, "empty_input");
    bad(&serde_json::json!({ "input": "a".repeat(301), "voice": "af_test" }).to_string(), 400, "input_too_long");
    let r = bad(r#"{"input": "Hi", "voice": "nobody"}"#, 400, "unknown_voice");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("af_test"));
    assert_eq!(r.error().1, "voice");
    bad(r#"{"input": "Hi", "voice": "af_test(x)"}"#, 400, "bad_option");
    bad(r#"{"input": "Hi", "voice": "af_test", "speed": 0}"#, 400, "bad_option");
    bad(r#"{"input": "Hi", "voice": "af_test", "speed": 9}"#, 400, "bad_option");
    bad(r#"{"input": "Hi", "voice": "af_test", "response_format": "mp3"}"#, 400, "unsupported_format");
    bad(r#"{"input": "Hi", "voice": "af_test", "stream_format": "sse"}"#, 400, "bad_option");
    bad(r#"{"input": "Hi", "voice": "af_test", "lang": "fr"}"#, 400, "bad_option");
    bad(r#"{"input": "<speak>Hi <b>x</b></speak>", "voice": "af_test", "ssml": true}"#, 400, "bad_ssml");
    // silence alone is nothing to speak, even streamed; and breaks are bounded per request
    bad(r#"{"input": "<speak><break time=\"2s\"/></speak>", "voice": "af_test", "ssml": true, "response_format": "pcm"}"#, 400, "empty_input");
    let breaks = format!("<speak>Hi {}</speak>", "<break time=\"10s\"/> a ".repeat(7));
    bad(&serde_json::json!({ "input": breaks, "voice": "af_test", "ssml": true }).to_string(), 400, "bad_option");
    bad(r#"{"model": "gpt-5", "input": "Hi", "voice": "af_test"}"#, 404, "model_not_found");
    assert_eq!(server.request("GET", "/v2/nothing", "").error().0, "not_found");
    assert_eq!(server.request("GET", "/v1/audio/speech", "").status, 405);
    // Still serving after all of that.
    assert_eq!(server.speech(serde_json::json!({ "input": "Hi.", "voice": "af_test" })).status, 200);
}

/// 32 clients at once against one worker and a queue of 8: each gets 200 or 429 (with
/// Retry-After), never a 5xx, and the server answers afterwards.
#[test]
fn a_full_queue_answers_429_and_the_server_survives() {
    let server = Server::start(&["--workers", "1", "--max-queue", "8"]);
    let statuses: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let r = server.speech(serde_json::json!({ "input": format!("Request number {i}."), "voice": "af_test", "response_format": "pcm" }));
                    (r.status, r.header("retry-after").map(str::to_owned))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|(s, _)| *s == 200).count();
    let busy = statuses.iter().filter(|(s, r)| *s == 429 && r.as_deref() == Some("1")).count();
    println!("32 concurrent requests, queue 8: {ok} × 200, {busy} × 429");
    assert_eq!(ok + busy, 32, "{statuses:?}");
    // The queue holds 8; the worker may or may not have taken one before the rest arrive.
    assert!(ok >= 8 && busy >= 1, "{statuses:?}");
    assert_eq!(server.request("GET", "/health", "").status, 200);
    let metrics = String::from_utf8(server.request("GET", "/metrics", "").body).unwrap();
    assert!(metrics.contains(&format!("tritone_responses_total{{outcome=\"queue_full\"}} {busy}")), "{metrics}");
    assert!(metrics.contains("tritone_real_time_factor"), "{metrics}");
}

/// A client that disconnects mid-stream stops its synthesis.
#[test]
fn a_client_that_leaves_cancels_its_synthesis() {
    let server = Server::start(&["--workers", "1"]);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = serde_json::json!({ "input": SENTENCES.repeat(6), "voice": "af_test", "response_format": "pcm" }).to_string();
    write!(stream, "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut first = [0u8; 64];
    stream.read_exact(&mut first).unwrap();
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = String::from_utf8(server.request("GET", "/metrics", "").body).unwrap();
        if metrics.contains("tritone_cancelled_total 1") {
            break;
        }
        assert!(Instant::now() < deadline, "the synthesis was not cancelled: {metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn check_loads_the_model_and_exits() {
    let out = Command::new(env!("CARGO_BIN_EXE_tritone")).args(["serve", "--model", model_file().to_str().unwrap(), "--check", "--backend", "cpu"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("check passed"));
    let out = Command::new(env!("CARGO_BIN_EXE_tritone")).args(["serve", "--model", "/nonexistent.gguf", "--check"]).output().unwrap();
    assert!(!out.status.success());
}

/// The systemd unit is valid (`systemd-analyze verify`, with the unit pointed at this build's
/// binary; setup installs systemd, which runs here without booting it).
#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/tritone.service")).unwrap();
    assert!(unit.contains("Restart=on-failure") && unit.contains("User=tritone") && unit.contains("--check"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unit");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tritone.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/tritone", env!("CARGO_BIN_EXE_tritone"))).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", path.to_str().unwrap()]).output().expect("systemd-analyze (scripts/setup.sh installs systemd)");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !text.contains("tritone.service"), "{text}");
}

/// SIGTERM while a long synthesis streams: the server gives it `--shutdown-timeout`, then
/// cancels it, ends the response, and exits 0.
#[test]
fn sigterm_cancels_work_still_running_after_the_timeout() {
    let server = Server::start(&["--workers", "1", "--shutdown-timeout", "1"]);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = serde_json::json!({ "input": SENTENCES.repeat(8), "voice": "af_test", "response_format": "pcm" }).to_string();
    write!(stream, "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut first = [0u8; 64];
    stream.read_exact(&mut first).unwrap();
    let started = Instant::now();
    let reader = std::thread::spawn(move || stream.read_to_end(&mut Vec::new()).map(|_| ()));
    let status = server.stop();
    let took = started.elapsed();
    println!("SIGTERM with a synthesis in flight: exited {status:?} after {took:?}");
    assert!(status.success());
    assert!(took < Duration::from_secs(30), "{took:?}");
    reader.join().unwrap().ok();
}
