//! `tritone say` and `tritone bench` on a small-config model built from golden.py's seeded
//! weights (the same model the reference fixtures come from), and their errors.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::Command;

use tritone::gguf::GgmlType;
use tritone::model::checkpoint::{collect_weights, write_model};
use tritone::model::weights::{portable_param, RandomWeights};
use tritone::config::KokoroConfig;
use tritone::vocab;
use tritone::npy::read_npy;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference/small")
}

/// The small reference model as a tritone GGUF, with golden.py's voice pack as "af_test";
/// written once per run (the tests share it).
fn model_file() -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(write_model_file).clone()
}

fn write_model_file() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("small_seed0.gguf");
    let cfg: KokoroConfig = serde_json::from_str(&std::fs::read_to_string(fixtures().join("config.json")).unwrap()).unwrap();
    let tokens = vocab::tokens(cfg.n_token);
    let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
    let voices = vec![
        ("af_test".to_string(), portable_param("voicepack", 510 * 256, 0, 0.3, 0.0)),
        ("am_other".to_string(), portable_param("voicepack", 510 * 256, 1, 0.3, 0.0)),
    ];
    std::fs::write(&path, write_model(&cfg, &tokens, &weights, &voices, GgmlType::F32, &mut || {}).unwrap()).unwrap();
    path
}

fn tritone(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tritone")).args(args).output().unwrap()
}

#[test]
fn say_writes_wav_and_dumps_matching_the_reference_durations() {
    let model = model_file();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (wav, dump) = (tmp.join("hello.wav"), tmp.join("dump"));
    let out = tritone(&[
        "say", "--model", model.to_str().unwrap(), "--voice", "af_test", "--phonemes", "həlˈO wˈɜɹld!",
        "--seed", "0", "--dump", dump.to_str().unwrap(), "--out", wav.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let durations = read_npy(&std::fs::read(dump.join("durations.npy")).unwrap()).unwrap();
    let reference = read_npy(&std::fs::read(fixtures().join("short/pred_dur.npy")).unwrap()).unwrap();
    assert_eq!(durations.values, reference.values, "durations equal PyTorch's");
    let audio = read_npy(&std::fs::read(dump.join("audio.npy")).unwrap()).unwrap();
    assert_eq!(audio.values.len(), 2480);
    let bytes = std::fs::read(&wav).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 24_000, "sample rate");
    assert_eq!(bytes.len(), 44 + 2 * 2480, "16-bit mono PCM");

    // Text through the bundled phonemizer: the same phonemes, so the same audio.
    let text = tmp.join("text");
    let out = tritone(&["say", "--model", model.to_str().unwrap(), "--voice", "af_test", "Hello world!", "--seed", "0", "--dump", text.to_str().unwrap(), "--out", tmp.join("text.wav").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(text.join("audio.npy")).unwrap(), std::fs::read(dump.join("audio.npy")).unwrap());
    // An SSML break becomes silence: 300 ms at 24 kHz after the speech.
    let ssml = tmp.join("ssml");
    let out = tritone(&["say", "--model", model.to_str().unwrap(), "--voice", "af_test", "--ssml", "<speak>Hello world!<break time=\"300ms\"/></speak>", "--seed", "0", "--dump", ssml.to_str().unwrap(), "--out", tmp.join("ssml.wav").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let with_break = read_npy(&std::fs::read(ssml.join("audio.npy")).unwrap()).unwrap();
    assert_eq!(with_break.values.len(), 2480 + 7200);
    assert_eq!(&with_break.values[..2480], &audio.values[..]);
    assert!(with_break.values[2480..].iter().all(|&x| x == 0.0));

    // The same seed gives the same audio; a blend is accepted.
    let again = tmp.join("again");
    let out = tritone(&["say", "--model", model.to_str().unwrap(), "--voice", "af_test", "--phonemes", "həlˈO wˈɜɹld!", "--seed", "0", "--dump", again.to_str().unwrap(), "--out", tmp.join("again.wav").to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(std::fs::read(again.join("audio.npy")).unwrap(), std::fs::read(dump.join("audio.npy")).unwrap());
    let out = tritone(&["say", "--model", model.to_str().unwrap(), "--voice", "af_test(2)+am_other(1)", "--phonemes", "hˈI", "--out", tmp.join("blend.wav").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let fails = |args: &[&str], needle: &str| {
        let mut full = vec!["say", "--model", model.to_str().unwrap(), "--out", "/tmp/tritone-unused.wav"];
        full.extend_from_slice(args);
        let out = tritone(&full);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    fails(&["--voice", "nope", "--phonemes", "hˈI"], "unknown voice \"nope\"; this model has: af_test, am_other");
    fails(&["--voice", "af_test", "--phonemes", "hˈI#1"], "phonemes outside the vocabulary: '#' (U+0023), '1' (U+0031)");
    fails(&["--voice", "af_test", "--phonemes", "hˈI", "--speed", "0"], "option speed: must be a positive number");
    fails(&["--voice", "af_test", "--phonemes", "hˈI", "--speed", "NaN"], "option speed: must be a positive number");
    fails(&["--voice", "af_test", "--phonemes", "   "], "no phonemes");
    fails(&["--voice", "af_test", "🙂 ⚽"], "no phonemes");
    fails(&["--voice", "af_test", "--ssml", "<speak>Hi <b>x</b></speak>"], "SSML, byte 10");
    fails(&["--voice", "af_test", "--lang", "fr", "Bonjour"], "unknown language");
    fails(&["--voice", "af_test", "--lexicon", "/nonexistent.json", "Hi"], "/nonexistent.json");
    fails(&["--voice", "af_(", "--phonemes", "hˈI"], "expected name(weight)");
}

#[test]
fn long_input_is_split_not_truncated() {
    let model = model_file();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // 30 sentences of 13 symbols: beyond the small model's 126 phonemes per chunk.
    let text = "həlˈO wˈɜɹld. ".repeat(30);
    let dump = tmp.join("long");
    let out = tritone(&["say", "--model", model.to_str().unwrap(), "--voice", "af_test", "--phonemes", &text, "--seed", "3", "--dump", dump.to_str().unwrap(), "--out", tmp.join("long.wav").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let durations = read_npy(&std::fs::read(dump.join("durations.npy")).unwrap()).unwrap();
    // Every phoneme spoken, in chunks of whole sentences (at most 9 of 14 symbols fit the small
    // model's 126): each chunk adds two boundary tokens and drops the space before the next.
    let phonemes = text.trim().chars().count();
    let chunks = durations.values.len() - phonemes - 1;
    assert_eq!(chunks, 30usize.div_ceil(9), "chunks");
}

#[test]
fn bench_prints_rtf_and_stages() {
    let model = model_file();
    let out = tritone(&["bench", "--model", model.to_str().unwrap(), "--runs", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for stage in ["RTF", "GFLOP/s", "multiply-adds", "albert", "predictor", "text_encoder", "decoder", "generator", "istft"] {
        assert!(text.contains(stage), "{stage}: {text}");
    }
    // --json on one thread, with given phonemes: the numbers add up
    let out = tritone(&["bench", "--model", model.to_str().unwrap(), "--runs", "3", "--threads", "1", "--json", "--phonemes", "həlˈO wˈɜɹld."]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (median, audio, rtf) = (v["median_s"].as_f64().unwrap(), v["audio_s"].as_f64().unwrap(), v["rtf"].as_f64().unwrap());
    assert!(median > 0.0 && audio > 0.0 && (rtf - median / audio).abs() < 1e-9, "{v}");
    assert_eq!(v["runs"], 3);
    assert_eq!(v["threads"], 1);
    let macs = v["multiply_adds"].as_f64().unwrap();
    assert!((v["gflops"].as_f64().unwrap() - 2.0 * macs / median / 1e9).abs() < 1e-6, "{v}");
    let stages: f64 = v["stages_s"].as_object().unwrap().values().map(|s| s.as_f64().unwrap()).sum();
    assert!(stages <= median * 1.01, "stages {stages} s within the run's {median} s");
}

/// `selftest --model`: the op suite on both backends, then the model spoken on the GPU against
/// the CPU. On the tiny config (hidden 64) f32 rounding moves the audio ~0.001 dB, so the 0.1 dB
/// bar holds; the small config's random weights are chaotic enough to move 0.2 dB (gpu_model.rs).
#[test]
fn selftest_speaks_with_the_model_on_the_gpu_and_the_cpu() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tiny_seed0.gguf");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-config.json");
    let cfg: KokoroConfig = serde_json::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    let tokens = vocab::tokens(cfg.n_token);
    let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
    let voices = vec![("af_test".to_string(), portable_param("voicepack", 510 * 256, 0, 0.3, 0.0))];
    std::fs::write(&path, write_model(&cfg, &tokens, &weights, &voices, GgmlType::Q8_0, &mut || {}).unwrap()).unwrap();
    let out = tritone(&["selftest", "--json", "--model", path.to_str().unwrap(), "--text", "Hello there. This is a test."]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ops"].as_array().unwrap().len(), 3, "the CPU in f32 and in int8, and the GPU");
    assert!(v["ops"].as_array().unwrap().iter().all(|r| r["pass"] == true));
    let m = &v["model"];
    assert_eq!(m["pass"], true, "{m}");
    assert_eq!(m["gpu_fallback"], "");
    assert!(m["tokens"].as_u64().unwrap() > 20, "{m}");
    assert_eq!(m["tokens_with_other_duration"], 0);
    let db = m["log_mel_db"].as_f64().unwrap();
    assert!(db < 0.1 && m["max_abs_sample_diff"].as_f64().unwrap() < 0.05, "{m}");
    assert!(m["audio_s"].as_f64().unwrap() > 0.0 && m["gpu_s"].as_f64().unwrap() > 0.0 && m["cpu_s"].as_f64().unwrap() > 0.0);
}
