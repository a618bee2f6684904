//! GGUF reader and writer: round trips of every metadata type, streaming header parses, and a
//! clear error (kind and byte offset) for each way a file can be broken.

use tritone::error::GgufErrorKind as Kind;
use tritone::gguf::{GgmlType, GgufFile, GgufWriter, MetaArray, MetaValue, ValueType};
use tritone::Error;

fn every_value_type() -> Vec<(&'static str, MetaValue<'static>)> {
    vec![
        ("t.u8", MetaValue::U8(255)),
        ("t.i8", MetaValue::I8(-128)),
        ("t.u16", MetaValue::U16(65535)),
        ("t.i16", MetaValue::I16(-32768)),
        ("t.u32", MetaValue::U32(u32::MAX)),
        ("t.i32", MetaValue::I32(i32::MIN)),
        ("t.f32", MetaValue::F32(-1.5e-38)),
        ("t.bool_true", MetaValue::Bool(true)),
        ("t.bool_false", MetaValue::Bool(false)),
        ("t.string", MetaValue::string("héllo ✓ 音")),
        ("t.empty_string", MetaValue::string("")),
        ("t.u64", MetaValue::U64(u64::MAX)),
        ("t.i64", MetaValue::I64(i64::MIN)),
        ("t.f64", MetaValue::F64(std::f64::consts::PI)),
        ("t.strings", MetaValue::strings(["", "ʃ", "tokens"])),
        ("t.empty_array", MetaValue::Array(MetaArray { elem_type: ValueType::U32, values: vec![] })),
        (
            "t.nested",
            MetaValue::Array(MetaArray {
                elem_type: ValueType::Array,
                values: vec![
                    MetaValue::Array(MetaArray { elem_type: ValueType::I16, values: vec![MetaValue::I16(-1), MetaValue::I16(2)] }),
                    MetaValue::strings(["a", "bc"]),
                ],
            }),
        ),
    ]
}

fn sample_file() -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.set("general.architecture", MetaValue::string("tritone-test")).unwrap();
    for (k, v) in every_value_type() {
        w.set(k, v).unwrap();
    }
    w.add_tensor_f32("a", &[3, 2], GgmlType::F32, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    w.add_tensor_f32("b", &[5], GgmlType::F16, &[0.5, -2.0, 65504.0, 0.0, 1.0]).unwrap();
    w.to_bytes().unwrap()
}

#[test]
fn every_value_type_round_trips() {
    let bytes = sample_file();
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.version, 3);
    assert_eq!(file.alignment(), 32);
    assert_eq!(file.data_offset() % 32, 0);
    assert_eq!(file.get_str("general.architecture").unwrap(), "tritone-test");
    for (k, v) in every_value_type() {
        assert_eq!(file.get(k), Some(&v), "{k}");
    }
    assert_eq!(file.tensor_f32("a").unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(file.tensor_f32("b").unwrap(), [0.5, -2.0, 65504.0, 0.0, 1.0]);
    let b = file.tensor("b").unwrap();
    assert_eq!((b.offset, b.size, b.ne.as_slice()), (32, 10, &[5u64][..]), "a takes 24 bytes, padded to 32");
    assert_eq!(bytes.len() as u64, file.expected_len().next_multiple_of(32));
}

#[test]
fn typed_accessors_say_what_is_wrong() {
    let bytes = sample_file();
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.get_u32("t.u16").unwrap(), 65535);
    assert_eq!(file.get_u64("t.u64").unwrap(), u64::MAX);
    assert_eq!(file.get_f32("t.f64").unwrap(), std::f32::consts::PI);
    assert!(file.get_bool("t.bool_true").unwrap());
    assert_eq!(file.get_str_array("t.strings").unwrap(), ["", "ʃ", "tokens"]);
    assert_eq!(file.get_u32("t.u64"), Err(Error::MetadataType { key: "t.u64".into(), expected: "an integer fitting u32", got: "u64" }));
    assert_eq!(file.get_u32("t.i8"), Err(Error::MetadataType { key: "t.i8".into(), expected: "an integer fitting u32", got: "i8" }));
    assert_eq!(file.get_str("t.u8"), Err(Error::MetadataType { key: "t.u8".into(), expected: "string", got: "u8" }));
    assert_eq!(file.get_str_array("t.nested").unwrap_err().to_string(), "metadata key \"t.nested\" must be array of strings, got array");
    assert_eq!(file.get_u32("nope"), Err(Error::MissingMetadata { key: "nope".into() }));
    assert_eq!(file.tensor_f32("nope"), Err(Error::MissingTensor { name: "nope".into() }));
}

#[test]
fn custom_alignment_is_recorded_and_honoured() {
    let mut w = GgufWriter::new();
    w.set_alignment(64).unwrap();
    w.add_tensor_f32("x", &[3], GgmlType::F32, &[1.0, 2.0, 3.0]).unwrap();
    // Integers up to 127 are exact in Q8_0 (scale 1).
    let y: Vec<f32> = (0..32).map(|i| if i == 5 { 127.0 } else { i as f32 - 16.0 }).collect();
    w.add_tensor_f32("y", &[32], GgmlType::Q8_0, &y).unwrap();
    let bytes = w.to_bytes().unwrap();
    let file = GgufFile::parse(&bytes).unwrap();
    assert_eq!(file.get_u32("general.alignment").unwrap(), 64);
    assert_eq!(file.alignment(), 64);
    assert_eq!(file.data_offset() % 64, 0);
    assert_eq!(file.tensor("y").unwrap().offset, 64);
    assert_eq!(file.tensor_f32("y").unwrap(), y);
    assert!(w.set_alignment(48).is_err());
}

#[test]
fn writer_refuses_inconsistent_tensors() {
    let mut w = GgufWriter::new();
    assert!(w.add_tensor("short", &[4], GgmlType::F32, vec![0u8; 12]).is_err());
    assert!(w.add_tensor("ragged", &[100], GgmlType::Q8_0, vec![0u8; 34 * 4]).is_err(), "ne[0] not a multiple of 32");
    assert!(w.add_tensor("dims", &[1, 1, 1, 1, 1], GgmlType::F32, vec![0u8; 4]).is_err());
    w.add_tensor("x", &[1], GgmlType::F32, vec![0u8; 4]).unwrap();
    assert!(w.add_tensor("x", &[1], GgmlType::F32, vec![0u8; 4]).is_err(), "duplicate");
    let mixed = MetaValue::Array(MetaArray { elem_type: ValueType::U8, values: vec![MetaValue::U16(1)] });
    assert!(w.set("mixed", mixed).is_err());
}

#[test]
fn header_parses_from_a_prefix_before_the_data_arrives() {
    let bytes = sample_file();
    let full = GgufFile::parse(&bytes).unwrap();
    let header_end = full.data_offset() as usize;
    // Every prefix shorter than the tensor table is "truncated", never another error or a panic.
    for cut in 0..header_end - 31 {
        match GgufFile::parse_header(&bytes[..cut]) {
            Err(Error::Gguf { kind: Kind::Truncated, offset, .. }) => assert!(offset <= cut as u64),
            other => panic!("prefix of {cut} bytes: {other:?}"),
        }
    }
    let head = GgufFile::parse_header(&bytes[..header_end]).unwrap();
    assert_eq!(head.tensors(), full.tensors());
    assert_eq!(head.expected_len(), full.expected_len());
    assert!(matches!(head.tensor_f32("a"), Err(Error::Gguf { kind: Kind::Truncated, .. })));
    assert!(matches!(GgufFile::parse(&bytes[..bytes.len() - 40]), Err(Error::Gguf { kind: Kind::OutOfBounds, .. })));
}

/// Builds raw GGUF bytes field by field, for files no writer would produce.
#[derive(Default)]
struct Raw(Vec<u8>);

impl Raw {
    fn header(version: u32, n_tensors: u64, n_kv: u64) -> Self {
        let mut r = Raw(b"GGUF".to_vec());
        r.u32(version).u64(n_tensors).u64(n_kv);
        r
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn tensor(&mut self, name: &str, ne: &[u64], ty: u32, offset: u64) -> &mut Self {
        self.str(name).u32(ne.len() as u32);
        ne.iter().for_each(|&d| {
            self.u64(d);
        });
        self.u32(ty).u64(offset)
    }
    fn pad_with_data(&mut self, data_len: usize) -> Vec<u8> {
        let mut v = self.0.clone();
        v.resize(v.len().next_multiple_of(32) + data_len, 0);
        v
    }
}

fn error_of(bytes: &[u8]) -> (Kind, u64, String) {
    match GgufFile::parse(bytes) {
        Err(Error::Gguf { kind, offset, detail }) => (kind, offset, detail),
        other => panic!("expected a GGUF error, got {other:?}"),
    }
}

#[test]
fn malformed_files_give_clear_errors() {
    // Truncated inside the header, and inside a metadata string.
    assert_eq!(error_of(b"GGUF\x03\x00").0, Kind::Truncated);
    let mut r = Raw::header(3, 0, 1);
    r.u64(100);
    r.0.extend_from_slice(&[b'a'; 20]);
    let (kind, offset, _) = error_of(&r.0);
    assert_eq!((kind, offset), (Kind::Truncated, 24));

    assert_eq!(error_of(b"GGML\x03\x00\x00\x00").0, Kind::BadMagic);
    assert_eq!(error_of(&Raw::header(1, 0, 0).0).0, Kind::UnsupportedVersion);
    assert_eq!(error_of(&Raw::header(4, 0, 0).0).0, Kind::UnsupportedVersion);

    // A tensor count of 2^60 and a metadata count of 2^60: refused before any allocation; a
    // header-only parse (a download in progress) reads on until the bytes run out instead.
    let (kind, offset, detail) = error_of(&Raw::header(3, 1 << 60, 0).0);
    assert_eq!((kind, offset), (Kind::TooLarge, 8), "{detail}");
    assert_eq!(error_of(&Raw::header(3, 0, 1 << 60).0).0, Kind::TooLarge);
    assert!(matches!(GgufFile::parse_header(&Raw::header(3, 1 << 60, 0).0), Err(Error::Gguf { kind: Kind::Truncated, .. })));
    // A string length of 2^63.
    let mut r = Raw::header(3, 0, 1);
    r.u64(1 << 63).u64(0).u64(0);
    assert_eq!(error_of(&r.0), (Kind::Truncated, 24, "metadata key of 9223372036854775808 bytes, 16 remain".into()));
    // An array of 2^60 elements.
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9).u32(4).u64(1 << 60);
    assert_eq!(error_of(&r.0).0, Kind::TooLarge);

    // Unknown metadata value type and unknown tensor type.
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(13).u32(0);
    let (kind, offset, detail) = error_of(&r.0);
    assert_eq!((kind, offset), (Kind::UnknownValueType, 33), "{detail}");
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[4], 200, 0);
    let (kind, _, detail) = error_of(&r.pad_with_data(64));
    assert_eq!(kind, Kind::UnknownTensorType);
    assert!(detail.contains("200") && detail.contains("\"w\""), "{detail}");

    // Tensor data past the end of the file.
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[16], 0, 0);
    assert_eq!(error_of(&r.pad_with_data(63)).0, Kind::OutOfBounds);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[1], 0, 1 << 40);
    assert_eq!(error_of(&r.pad_with_data(64)).0, Kind::OutOfBounds);

    // A misaligned data offset, and bad alignments.
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[1], 0, 4);
    assert_eq!(error_of(&r.pad_with_data(64)).0, Kind::Misaligned);
    for bad in [0u32, 48] {
        let mut r = Raw::header(3, 0, 1);
        r.str("general.alignment").u32(4).u32(bad);
        assert_eq!(error_of(&r.0).0, Kind::BadAlignment, "alignment {bad}");
    }
    let mut r = Raw::header(3, 0, 1);
    r.str("general.alignment").u32(10).u64(32);
    assert_eq!(error_of(&r.0).0, Kind::BadAlignment, "alignment must be u32");

    // Five dims; a dims product that overflows; ne[0] not a whole number of blocks.
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[1, 1, 1, 1, 1], 0, 0);
    assert_eq!(error_of(&r.pad_with_data(64)).0, Kind::TooManyDims);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[1 << 32, 1 << 32, 2], 0, 0);
    assert_eq!(error_of(&r.pad_with_data(64)).0, Kind::BadShape);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("w", &[100], 8, 0);
    assert_eq!(error_of(&r.pad_with_data(256)).0, Kind::BadShape);

    // Duplicates, invalid UTF-8, a bool that is neither 0 nor 1, arrays nested without end.
    let mut r = Raw::header(3, 0, 2);
    r.str("k").u32(4).u32(1).str("k").u32(4).u32(2);
    assert_eq!(error_of(&r.0).0, Kind::Duplicate);
    let mut r = Raw::header(3, 2, 0);
    r.tensor("w", &[1], 0, 0).tensor("w", &[1], 0, 32);
    assert_eq!(error_of(&r.pad_with_data(64)).0, Kind::Duplicate);
    let mut r = Raw::header(3, 0, 1);
    r.u64(2);
    r.0.extend_from_slice(&[0xff, 0xfe]);
    r.u32(4).u32(0);
    assert_eq!(error_of(&r.0).0, Kind::InvalidString);
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(7);
    r.0.push(2);
    assert_eq!(error_of(&r.0).0, Kind::UnknownValueType);
    let mut r = Raw::header(3, 0, 1);
    r.str("k").u32(9);
    for _ in 0..100 {
        r.u32(9).u64(1);
    }
    assert_eq!(error_of(&r.0).0, Kind::TooDeep);

    // The message names the byte offset.
    let message = GgufFile::parse(&Raw::header(3, 1 << 60, 0).0).unwrap_err().to_string();
    assert!(message.starts_with("GGUF, byte 8: count larger than the file"), "{message}");
}

/// Inputs the fuzzer (fuzz/fuzz_targets/gguf_reader.rs) found; each once broke an invariant.
#[test]
fn fuzz_regressions() {
    // A Q4_0 tensor with no dims: one element, not a whole block. It used to parse with a size
    // of 0 bytes and fail only when decoded.
    let mut r = Raw::header(3, 1, 0);
    r.tensor("s", &[], 2, 0);
    assert_eq!(error_of(&r.pad_with_data(32)).0, Kind::BadShape);
    let mut r = Raw::header(3, 1, 0);
    r.tensor("s", &[], 0, 0);
    assert_eq!(GgufFile::parse(&r.pad_with_data(32)).unwrap().tensor_f32("s").unwrap(), [0.0]);

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gguf/fuzz_regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(file) = GgufFile::parse(&bytes) {
            for t in file.tensors() {
                file.tensor_f32(t.name).unwrap();
            }
        }
    }
}
