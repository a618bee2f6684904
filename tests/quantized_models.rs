//! Models stored in every block format load packed and speak exactly as the same weights
//! decoded to F32 beforehand; the GGUF reader accepts padded and unpadded block rows and refuses
//! inconsistent ones; the op count of one forward is what the closed op set implies.

use bytes::Bytes;
use tritone::backend::Weight;
use tritone::config::KokoroConfig;
use tritone::gguf::{GgmlType, GgufFile, GgufWriter, MetaValue};
use tritone::model::checkpoint::{collect_weights, storage_type, write_model};
use tritone::model::weights::{portable_param, GgufWeights, RandomWeights, WeightSource};
use tritone::tts::{Engine, SynthesisOptions};
use tritone::vocab;

const PHONEMES: &str = "hˈɛlO wˈɜɹld. ðɪs ɪz ə tˈɛst.";

fn config() -> KokoroConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference/small/config.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn model(dtype: GgmlType) -> Vec<u8> {
    let cfg = config();
    let tokens = vocab::tokens(cfg.n_token);
    let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).unwrap();
    let voices = vec![("af_test".to_string(), portable_param("voicepack", 510 * 256, 0, 0.3, 0.0))];
    write_model(&cfg, &tokens, &weights, &voices, dtype, &mut || {}).unwrap()
}

/// The model in `bytes` with every weight decoded to F32 and written again (what
/// `tritone convert --gguf IN --dtype f32` does).
fn decoded_to_f32(bytes: &Bytes) -> Vec<u8> {
    let file = GgufFile::parse(bytes).unwrap();
    let cfg = KokoroConfig::from_gguf(&file).unwrap();
    let tokens = vocab::tokens(cfg.n_token);
    let weights = collect_weights(&GgufWeights::new(&file, bytes), &cfg, &tokens).unwrap();
    let voice = GgufWeights::new(&file, bytes).tensor("voices.af_test", &[510, 256]).unwrap().to_f32();
    write_model(&cfg, &tokens, &weights, &[("af_test".into(), voice)], GgmlType::F32, &mut || {}).unwrap()
}

fn speak(bytes: &Bytes) -> tritone::tts::Speech {
    let engine = Engine::cpu(bytes, "test").unwrap();
    pollster::block_on(engine.speak(PHONEMES, &SynthesisOptions { seed: 7, ..SynthesisOptions::new("af_test") })).unwrap()
}

#[test]
fn every_block_format_speaks_like_its_f32_decoding() {
    for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q2_K, GgmlType::TQ1_0, GgmlType::TQ2_0] {
        let packed = Bytes::from(model(ty));
        let file = GgufFile::parse(&packed).unwrap();
        let in_format = file.tensors().iter().filter(|t| t.ggml_type == ty).count();
        assert!(in_format > 50, "{}: only {in_format} tensors stored in the format", ty.name());
        let twin = Bytes::from(decoded_to_f32(&packed));
        let (a, b) = (speak(&packed), speak(&twin));
        assert_eq!(a.chunks, b.chunks, "{}: durations", ty.name());
        let max_diff = a.audio.iter().zip(&b.audio).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        println!("{}: {in_format} tensors, {:.2} MB vs {:.2} MB F32, max |Δaudio| {max_diff:e}", ty.name(), packed.len() as f64 / 1e6, twin.len() as f64 / 1e6);
        assert_eq!(a.audio.len(), b.audio.len());
        assert!(max_diff <= 1e-5, "{}: audio differs by {max_diff}", ty.name());
    }
}

/// A block-format tensor loads stored unpadded in its logical shape (rows of whole blocks) or as
/// the padded matrix; rows that straddle blocks cannot be written (nor read: ggml requires whole
/// blocks per `ne[0]`), and a wrong shape is refused with its own code.
#[test]
fn reader_accepts_padded_and_unpadded_rows_and_refuses_straddling_ones() {
    let values: Vec<f32> = (0..4 * 64).map(|i| (i as f32 * 0.1).sin()).collect();
    let whole = Weight::quantize(&[4, 2, 32], &values, GgmlType::Q8_0).unwrap();
    let straddling: Vec<f32> = (0..2 * 48).map(|i| (i as f32 * 0.1).cos()).collect();
    let mut encoded = Vec::new();
    GgmlType::Q8_0.quantize(&straddling, &mut encoded).unwrap();
    let mut w = GgufWriter::new();
    w.set("general.architecture", MetaValue::string("kokoro")).unwrap();
    w.add_tensor("whole", &[32, 2, 4], GgmlType::Q8_0, whole.bytes().to_vec()).unwrap();
    w.add_tensor("padded", &[64, 4], GgmlType::Q8_0, whole.bytes().to_vec()).unwrap();
    let err = w.add_tensor("straddling", &[48, 2], GgmlType::Q8_0, encoded).unwrap_err().to_string();
    assert!(err.contains("multiple of 32"), "{err}");
    let bytes = Bytes::from(w.to_bytes().unwrap());
    let file = GgufFile::parse(&bytes).unwrap();
    let src = GgufWeights::new(&file, &bytes);
    assert_eq!(src.tensor("whole", &[4, 2, 32]).unwrap().to_f32(), whole.to_f32());
    assert_eq!(src.tensor("padded", &[4, 2, 32]).unwrap().to_f32(), whole.to_f32());
    let err = src.tensor("padded", &[4, 3, 32]).unwrap_err();
    assert_eq!(err.code(), "tensor_shape", "{err}");
}

#[test]
fn storage_types_follow_the_size_rule() {
    assert_eq!(storage_type(&[512], GgmlType::Q4_K), GgmlType::F32); // biases, norms
    assert_eq!(storage_type(&[1, 512, 1], GgmlType::Q4_K), GgmlType::F32); // Snake α
    assert_eq!(storage_type(&[512, 1, 3], GgmlType::Q4_K), GgmlType::F16); // depthwise: F16 is smaller
    assert_eq!(storage_type(&[512, 512, 3], GgmlType::Q4_K), GgmlType::Q4_K);
    assert_eq!(storage_type(&[768, 128], GgmlType::Q4_K), GgmlType::Q4_K); // 144 B padded < 256 B F16
    assert_eq!(storage_type(&[768, 64], GgmlType::Q4_K), GgmlType::F16); // 144 B > 128 B
    assert_eq!(storage_type(&[512, 512, 3], GgmlType::F32), GgmlType::F32);
}

/// One synthesis records the ops the model's structure implies on the CPU: counted, so a
/// change to the op set or a fusion shows up here and in `tritone bench`.
#[test]
fn ops_per_forward_are_counted() {
    let bytes = Bytes::from(model(GgmlType::F16));
    let speech = speak(&bytes);
    println!("ops per forward (small config, {} chunk): {}", speech.chunks.len(), speech.ops);
    assert_eq!(speech.chunks.len(), 1);
    // 386 kernel calls for one forward of the small config: its 60 style-conditioned norms are
    // 2 ops each (fc, fused ada_norm), 5 before the fusion; the decoder's three-way concats 1
    // op each, 2 before (568 then).
    assert_eq!(speech.ops, 386);
}

#[test]
fn speech_on_given_durations_equals_speech_on_predicted_ones() {
    use tritone::backend::CpuBackend;
    use tritone::model::kokoro::Kokoro;
    let cfg = config();
    let tokens = vocab::tokens(cfg.n_token);
    let model = Kokoro::load(&CpuBackend::default(), &RandomWeights { seed: 0 }, cfg, &tokens).unwrap();
    let ids = model.tokenize(PHONEMES).unwrap();
    let style = portable_param("voicepack", 256, 0, 0.3, 0.0);
    let spoken = pollster::block_on(model.synthesize(&CpuBackend::default(), &ids, &style, 1.0, 5)).unwrap();
    let predicted = pollster::block_on(model.predict_durations(&CpuBackend::default(), &ids, &style, 1.0)).unwrap();
    assert_eq!(predicted, spoken.durations);
    let forced = pollster::block_on(model.synthesize_with_durations(&CpuBackend::default(), &ids, &style, &predicted, 5)).unwrap();
    assert_eq!((&forced.durations, &forced.audio), (&spoken.durations, &spoken.audio));
    // Other durations: their frame count, so another model's audio aligns with this one's.
    let doubled: Vec<usize> = predicted.iter().map(|f| 2 * f).collect();
    let slow = pollster::block_on(model.synthesize_with_durations(&CpuBackend::default(), &ids, &style, &doubled, 5)).unwrap();
    assert_eq!(slow.audio.len(), 2 * spoken.audio.len());
    for bad in [&predicted[1..], &vec![0; predicted.len()][..]] {
        assert!(pollster::block_on(model.synthesize_with_durations(&CpuBackend::default(), &ids, &style, bad, 5)).is_err());
    }
}
