//! TTS.cpp's Kokoro layout: a file with exactly the names, shapes and dtypes of TTS.cpp's
//! Kokoro-82M GGUF (tests/fixtures/ttscpp/ttscpp-kokoro-tensors.tsv, 797 tensors; random
//! data) and its metadata keys translates into the reference checkpoint's tensors
//! (kokoro-checkpoint-param-names.txt, weight norm folded) and Kokoro-82M's config.

use std::collections::BTreeMap;

use tritone::formats::ttscpp::{is_ttscpp_kokoro, translate};
use tritone::gguf::{GgmlType, GgufFile, GgufWriter, MetaValue};
use tritone::model::KokoroConfig;
use tritone::Error;

const TSV: &str = include_str!("fixtures/ttscpp/ttscpp-kokoro-tensors.tsv");
const CHECKPOINT: &str = include_str!("fixtures/ttscpp/kokoro-checkpoint-param-names.txt");

fn shape(s: &str) -> Vec<u64> {
    s.trim_matches(['[', ']']).split(',').map(|d| d.trim().parse().unwrap()).collect()
}

struct Row {
    name: String,
    torch: Vec<u64>,
    ne: Vec<u64>,
    f16_file: GgmlType,
    q_file: GgmlType,
}

fn rows() -> Vec<Row> {
    let ty = |s: &str| match s {
        "F32" => GgmlType::F32,
        "F16" => GgmlType::F16,
        "Qx" => GgmlType::Q4_0,
        other => panic!("dtype {other}"),
    };
    TSV.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Row { name: f[1].into(), torch: shape(f[2]), ne: shape(f[3]), f16_file: ty(f[4]), q_file: ty(f[5]) }
        })
        .collect()
}

/// Random bytes: any bit pattern is a valid tensor, and the test compares bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let z = (s ^ (s >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        out.extend_from_slice(&(z ^ (z >> 29)).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// The metadata TTS.cpp's converter writes for Kokoro-82M (kokoro-gguf-and-ternary.md 1.2).
fn ttscpp_metadata(w: &mut GgufWriter) {
    let u = |w: &mut GgufWriter, k: &str, v: u32| w.set(k, MetaValue::U32(v)).unwrap();
    w.set("general.architecture", MetaValue::string("kokoro")).unwrap();
    w.set("general.type", MetaValue::string("model")).unwrap();
    w.set("general.name", MetaValue::string("kokoro")).unwrap();
    for (k, v) in [
        ("tokenizer.ggml.padding_token_id", 0),
        ("kokoro.decoder_start_token_id", 0),
        ("kokoro.duration_predictor.albert.context_length", 512),
        ("kokoro.duration_predictor.albert.layers", 1),
        ("kokoro.duration_predictor.albert.attn_heads", 12),
        ("kokoro.duration_predictor.albert.hidden_size", 768),
        ("kokoro.duration_predictor.albert.recurrence", 12),
        ("kokoro.duration_predictor.hidden_size", 512),
        ("kokoro.duration_predictor.layers", 3),
        ("kokoro.duration_predictor.f0_n_blocks", 3),
        ("kokoro.text_encoder.layers", 3),
        ("kokoro.decoder.generator.up_sampling_factor", 600),
        ("kokoro.decoder.generator.kernels", 3),
        ("kokoro.decoder.generator.upsamples", 2),
        ("kokoro.decoder.generator.layers", 4),
        ("kokoro.decoder.generator.padding", 3),
        ("kokoro.decoder.generator.n_fft", 20),
        ("kokoro.decoder.generator.hop", 5),
        ("kokoro.decoder.generator.up_convs.0.padding", 5),
        ("kokoro.decoder.generator.up_convs.0.stride", 10),
        ("kokoro.decoder.generator.up_convs.1.padding", 3),
        ("kokoro.decoder.generator.up_convs.1.stride", 6),
        ("phonemizer.type", 1),
        ("phonemizer.phoneme_type", 1),
        ("general.file_type", 0),
        ("tokenizer.ggml.eos_token_id", 0),
        ("general.quantization_version", 2),
    ] {
        u(w, k, v);
    }
    for i in 0..6 {
        let k = [3, 7, 11][i % 3];
        for (j, d) in [1, 3, 5].into_iter().enumerate() {
            u(w, &format!("kokoro.decoder.generator.res_blocks.{i}.{j}.dilation"), d);
            u(w, &format!("kokoro.decoder.generator.res_blocks.{i}.{j}.padding"), (k * d - d) / 2);
        }
    }
    let voices: Vec<String> = rows().iter().filter_map(|r| r.name.strip_prefix("kokoro.voice_tensors.").map(String::from)).collect();
    w.set("kokoro.voices", MetaValue::strings(voices)).unwrap();
    let tokens: Vec<String> = (0..178).map(|i| if i % 7 == 0 { String::new() } else { format!("t{i}") }).collect();
    w.set("tokenizer.ggml.tokens", MetaValue::strings(tokens)).unwrap();
}

fn ttscpp_file(quantized: bool, skip: Option<&str>) -> Vec<u8> {
    let mut w = GgufWriter::new();
    ttscpp_metadata(&mut w);
    for (i, row) in rows().iter().enumerate() {
        if Some(row.name.as_str()) == skip {
            continue;
        }
        assert_eq!(row.torch, row.ne.iter().rev().copied().collect::<Vec<_>>(), "{}: the tsv's two shapes", row.name);
        let ty = if quantized { row.q_file } else { row.f16_file };
        let n: u64 = row.ne.iter().product();
        let bytes = ty.bytes_for(n as usize).unwrap();
        w.add_tensor(&row.name, &row.ne, ty, noise(bytes, i as u64)).unwrap();
    }
    w.to_bytes().unwrap()
}

/// Reference names and torch shapes after weight-norm folding, less what TTS.cpp drops.
fn expected_tensors() -> BTreeMap<String, Vec<u64>> {
    let mut out = BTreeMap::new();
    for line in CHECKPOINT.lines() {
        let (name, s) = line.split_once('\t').unwrap();
        if name.starts_with("bert.pooler.") || name.ends_with(".weight_g") {
            continue;
        }
        let mut torch = shape(s);
        if name == "bert.embeddings.token_type_embeddings.weight" {
            torch[0] = 1; // only the row Kokoro uses
        }
        out.insert(name.replace(".weight_v", ".weight"), torch);
    }
    out
}

fn check_translation(quantized: bool) {
    let bytes = ttscpp_file(quantized, None);
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.tensors().len(), 797);
    assert!(is_ttscpp_kokoro(&file));
    let t = translate(&file).unwrap();
    assert_eq!(t.config, KokoroConfig::kokoro_82m());
    assert_eq!(t.tokens.len(), 178);
    assert_eq!(t.voices.len(), 50);

    let mut got: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for m in &t.tensors {
        got.insert(m.name.clone(), m.ne.iter().rev().copied().collect());
    }
    let voices: Vec<String> = got.keys().filter(|k| k.starts_with("voices.")).cloned().collect();
    for v in &voices {
        assert_eq!(got.remove(v).unwrap(), [510, 256], "{v}");
    }
    let expected = expected_tensors();
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
    for (name, torch) in &expected {
        assert_eq!(&got[name], torch, "{name}: torch shape");
    }

    // Joined tensors are the parts' bytes in PyTorch's order.
    let source = |n: &str| file.tensor_bytes(file.tensor(n).unwrap()).unwrap();
    let mapped = |n: &str| t.tensors.iter().find(|m| m.name == n).unwrap().data.as_ref();
    let gates: Vec<u8> = [0, 2, 4, 6].iter().flat_map(|g| source(&format!("kokoro.duration_predictor.duration_lstm.0.weights.{g}")).to_vec()).collect();
    assert_eq!(mapped("predictor.lstm.weight_ih_l0"), gates.as_slice());
    let hh: Vec<u8> = [1, 3, 5, 7].iter().flat_map(|g| source(&format!("kokoro.text_encoder.lstm.0.reverse_biases.{g}")).to_vec()).collect();
    assert_eq!(mapped("text_encoder.lstm.bias_hh_l0_reverse"), hh.as_slice());
    let fc = [source("kokoro.decoder.encoder_block.norm1_gamma_weight"), source("kokoro.decoder.encoder_block.norm1_beta_weight")].concat();
    assert_eq!(mapped("decoder.encode.norm1.fc.weight"), fc.as_slice());
    assert_eq!(mapped("decoder.generator.conv_post.weight"), source("kokoro.decoder.generator.conv_post_weight"));
    let expected_type = if quantized { GgmlType::Q4_0 } else { GgmlType::F16 };
    assert_eq!(t.tensors.iter().find(|m| m.name == "predictor.shared.weight_hh_l0").unwrap().ggml_type, expected_type);

    // Written in tritone's layout, the config and tensors read back.
    let out = t.to_writer().unwrap().to_bytes().unwrap();
    let ours = GgufFile::parse(&out).unwrap();
    assert!(!is_ttscpp_kokoro(&ours));
    assert_eq!(KokoroConfig::from_gguf(&ours).unwrap(), t.config);
    assert_eq!(ours.get_str_array("kokoro.voices").unwrap().len(), 50);
    let w = ours.tensor("predictor.lstm.weight_ih_l0").unwrap();
    assert_eq!(ours.tensor_bytes(w).unwrap(), gates.as_slice());
}

#[test]
fn f16_file_translates_to_the_reference_layout() {
    check_translation(false);
}

#[test]
fn q4_file_translates_to_the_reference_layout() {
    check_translation(true);
}

#[test]
fn incomplete_or_foreign_files_are_refused_by_name() {
    let bytes = ttscpp_file(false, Some("kokoro.text_encoder.lstm.0.weights.4"));
    let err = translate(&GgufFile::parse(&bytes).unwrap()).unwrap_err().to_string();
    assert!(err.contains("text_encoder.lstm.weight_ih_l0: parts [2] of 4 are missing"), "{err}");

    let mut w = GgufWriter::new();
    ttscpp_metadata(&mut w);
    w.add_tensor_f32("kokoro.decoder.mystery_weight", &[4], GgmlType::F32, &[0.0; 4]).unwrap();
    let bytes = w.to_bytes().unwrap();
    let err = translate(&GgufFile::parse(&bytes).unwrap()).unwrap_err().to_string();
    assert!(err.contains("unknown tensor \"kokoro.decoder.mystery_weight\""), "{err}");

    let mut w = GgufWriter::new();
    ttscpp_metadata(&mut w);
    w.add_tensor_f32("kokoro.text_encoder.lstm.0.biases.0", &[256], GgmlType::F32, &[0.0; 256]).unwrap();
    w.add_tensor_f32("kokoro.text_encoder.lstm.0.biases.2", &[256], GgmlType::F16, &[0.0; 256]).unwrap();
    w.add_tensor_f32("kokoro.text_encoder.lstm.0.biases.4", &[256], GgmlType::F32, &[0.0; 256]).unwrap();
    w.add_tensor_f32("kokoro.text_encoder.lstm.0.biases.6", &[256], GgmlType::F32, &[0.0; 256]).unwrap();
    let bytes = w.to_bytes().unwrap();
    let err = translate(&GgufFile::parse(&bytes).unwrap()).unwrap_err();
    assert!(matches!(&err, Error::InvalidArgument { reason, .. } if reason.contains("does not match")), "{err}");
}

/// The whole pipeline loads TTS.cpp's layout: every weight found with the shape the config
/// asks for, and its 50 voices.
#[test]
fn ttscpp_file_loads_as_a_model() {
    use tritone::model::voices::VoiceMix;
    use tritone::tts::Engine;
    let bytes = ttscpp_file(true, None).into();
    let engine = Engine::cpu(&bytes, "test").unwrap();
    assert_eq!(engine.voices().len(), 50);
    assert_eq!(engine.config(), &KokoroConfig::kokoro_82m());
    let Engine::Cpu { tts, .. } = &engine else { unreachable!() };
    assert!(tts.voice(&VoiceMix::parse("af_bella(1)+am_adam(3)").unwrap()).is_ok());
    let unknown = tts.voice(&VoiceMix::parse("af_bella+nobody").unwrap()).unwrap_err();
    assert_eq!(unknown.code(), "unknown_voice");
}
