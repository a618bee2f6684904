//! Cross-validation with gguf-py (tools/gguf): its files read identically here (metadata,
//! tensor table, dequantized values bit for bit), its malformed files are refused, and files
//! written here are read identically by gguf-py.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tritone::gguf::{GgmlType, GgufFile, GgufWriter, MetaArray, MetaValue, ValueType};
use tritone::Error;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf")
}

/// gguf-py's value type names.
fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::U8 => "UINT8",
        ValueType::I8 => "INT8",
        ValueType::U16 => "UINT16",
        ValueType::I16 => "INT16",
        ValueType::U32 => "UINT32",
        ValueType::I32 => "INT32",
        ValueType::F32 => "FLOAT32",
        ValueType::Bool => "BOOL",
        ValueType::String => "STRING",
        ValueType::Array => "ARRAY",
        ValueType::U64 => "UINT64",
        ValueType::I64 => "INT64",
        ValueType::F64 => "FLOAT64",
    }
}

/// Compares one value with a read_gguf.py value node; floats by bit pattern.
fn check_value(ctx: &str, ours: &MetaValue, node: &Value) {
    assert_eq!(node["type"], type_name(ours.value_type()), "{ctx}: type");
    check_plain(ctx, ours, &node["value"], node.get("bits"));
}

fn check_plain(ctx: &str, ours: &MetaValue, value: &Value, bits: Option<&Value>) {
    let bits_of = |b: Option<&Value>| b.and_then(Value::as_str).map(|s| u64::from_str_radix(&s[2..], 16).unwrap());
    match ours {
        MetaValue::F32(f) => assert_eq!(Some(f.to_bits() as u64), bits_of(bits), "{ctx}: f32 bits"),
        MetaValue::F64(f) => assert_eq!(Some(f.to_bits()), bits_of(bits), "{ctx}: f64 bits"),
        MetaValue::Bool(b) => assert_eq!(value.as_bool(), Some(*b), "{ctx}"),
        MetaValue::String(s) => assert_eq!(value.as_str(), Some(s.as_ref()), "{ctx}"),
        MetaValue::Array(MetaArray { elem_type, values }) => {
            let items = value.as_array().unwrap_or_else(|| panic!("{ctx}: not an array: {value}"));
            assert_eq!(items.len(), values.len(), "{ctx}: array length");
            for (i, (ours, theirs)) in values.iter().zip(items).enumerate() {
                let ctx = format!("{ctx}[{i}]");
                if *elem_type == ValueType::Array {
                    check_array_node(&ctx, ours, theirs);
                } else {
                    let bit = bits.and_then(|b| b.get(i));
                    check_plain(&ctx, ours, theirs, bit);
                }
            }
        }
        MetaValue::I8(_) | MetaValue::I16(_) | MetaValue::I32(_) | MetaValue::I64(_) => {
            let ours = match ours {
                MetaValue::I8(v) => i64::from(*v),
                MetaValue::I16(v) => i64::from(*v),
                MetaValue::I32(v) => i64::from(*v),
                MetaValue::I64(v) => *v,
                _ => unreachable!(),
            };
            assert_eq!(value.as_i64(), Some(ours), "{ctx}");
        }
        unsigned => assert_eq!(value.as_u64(), unsigned.as_u64(), "{ctx}"),
    }
}

fn check_array_node(ctx: &str, ours: &MetaValue, node: &Value) {
    let MetaValue::Array(a) = ours else { panic!("{ctx}: expected an array, got {ours:?}") };
    assert_eq!(node["element_type"], type_name(a.elem_type), "{ctx}: element type");
    check_plain(ctx, ours, &node["value"], node.get("bits"));
}

fn check_metadata_array(ctx: &str, ours: &MetaValue, node: &Value) {
    if let MetaValue::Array(a) = ours {
        assert_eq!(node["element_type"], type_name(a.elem_type), "{ctx}: element type");
        assert_eq!(node["count"].as_u64(), Some(a.values.len() as u64), "{ctx}: count");
    }
}

fn f32_bits(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Everything gguf-py read (the JSON) must equal what we read from the same bytes.
fn check_against(json: &Value, bytes: &[u8], values_dir: Option<&Path>) {
    let file = GgufFile::parse(bytes).unwrap_or_else(|e| panic!("{}: {e}", json["file"]));
    let name = json["file"].as_str().unwrap_or("written file").to_owned();
    assert_eq!(json["version"].as_u64(), Some(u64::from(file.version)), "{name}");
    assert_eq!(json["alignment"].as_u64(), Some(file.alignment()), "{name}: alignment");
    assert_eq!(json["data_offset"].as_u64(), Some(file.data_offset()), "{name}: data offset");

    let metadata = json["metadata"].as_array().unwrap();
    assert_eq!(metadata.len(), file.metadata().len(), "{name}: metadata count");
    for ((key, value), node) in file.metadata().iter().zip(metadata) {
        assert_eq!(node["key"].as_str(), Some(*key), "{name}: key order");
        let ctx = format!("{name}: {key}");
        check_value(&ctx, value, node);
        check_metadata_array(&ctx, value, node);
    }

    let tensors = json["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), file.tensors().len(), "{name}: tensor count");
    for (info, node) in file.tensors().iter().zip(tensors) {
        let ctx = format!("{name}: tensor {}", info.name);
        assert_eq!(node["name"].as_str(), Some(info.name), "{ctx}");
        assert_eq!(node["type"].as_str(), Some(info.ggml_type.name()), "{ctx}: type");
        assert_eq!(node["type_id"].as_u64(), Some(u64::from(info.ggml_type.id())), "{ctx}: type id");
        assert_eq!(node["ne"], serde_json::json!(info.ne), "{ctx}: ne");
        assert_eq!(node["offset"].as_u64(), Some(info.offset), "{ctx}: offset");
        assert_eq!(node["n_bytes"].as_u64(), Some(info.size), "{ctx}: bytes");
        let expected = match (values_dir, node.get("values_f32_hex")) {
            (Some(dir), _) => fs::read(dir.join(node["values_file"].as_str().unwrap())).unwrap(),
            (None, Some(hex)) => decode_hex(hex.as_str().unwrap()),
            _ => panic!("{ctx}: no values"),
        };
        let ours = file.tensor_f32(info.name).unwrap();
        let ours_bits: Vec<u32> = ours.iter().map(|v| v.to_bits()).collect();
        assert_eq!(ours_bits, f32_bits(&expected), "{ctx}: dequantized values differ from gguf-py");
    }
}

fn decode_hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn gguf_py_fixtures_read_identically() {
    let mut types_seen = std::collections::BTreeSet::new();
    for name in ["all_types", "align64", "align1", "nested_array", "empty_array", "minimal"] {
        let json: Value = serde_json::from_str(&fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap()).unwrap();
        let bytes = fs::read(fixtures().join(format!("{name}.gguf"))).unwrap();
        check_against(&json, &bytes, Some(&fixtures()));
        for t in GgufFile::parse(&bytes).unwrap().tensors() {
            types_seen.insert(t.ggml_type.name());
        }
    }
    let all: std::collections::BTreeSet<_> = GgmlType::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(types_seen, all, "the fixtures cover every block format");
}

#[test]
fn gguf_py_malformed_files_are_refused() {
    let index: Value = serde_json::from_str(&fs::read_to_string(fixtures().join("malformed.json")).unwrap()).unwrap();
    let cases = index.as_object().unwrap();
    assert!(cases.len() >= 25);
    for (file, why) in cases {
        let bytes = fs::read(fixtures().join(file)).unwrap();
        let result = GgufFile::parse(&bytes);
        if file.ends_with("tensor_name_too_long.gguf") {
            // ggml's stock GGML_MAX_NAME refuses 64-byte names, but TTS.cpp's own Kokoro files
            // contain them (kokoro.decoder.generator.noise_blocks.0.resblock.0.convs1_weight):
            // refusing would lock those files out.
            assert!(result.is_ok(), "{file}: {result:?}");
            continue;
        }
        match result {
            Err(Error::Gguf { kind, offset, detail }) => {
                // Out-of-bounds data is reported where it would start, past the end.
                let limit = if kind == tritone::error::GgufErrorKind::OutOfBounds { u64::MAX } else { bytes.len() as u64 };
                assert!(offset <= limit, "{file}: offset {offset} beyond the file");
                println!("{file:48} {kind} at byte {offset}: {detail}   [{why}]");
            }
            other => panic!("{file} ({why}): expected a GGUF error, got {other:?}"),
        }
    }
}

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    assert!(venv.exists(), "{} missing: run scripts/setup.sh (it installs tools/gguf/requirements.txt)", venv.display());
    venv
}

#[test]
fn files_we_write_are_read_identically_by_gguf_py() {
    let mut w = GgufWriter::new();
    w.set("general.architecture", MetaValue::string("tritone-test")).unwrap();
    w.set_alignment(64).unwrap();
    w.set("t.u8", MetaValue::U8(7)).unwrap();
    w.set("t.i8", MetaValue::I8(-7)).unwrap();
    w.set("t.u16", MetaValue::U16(65535)).unwrap();
    w.set("t.i16", MetaValue::I16(-300)).unwrap();
    w.set("t.u32", MetaValue::U32(u32::MAX)).unwrap();
    w.set("t.i32", MetaValue::I32(i32::MIN)).unwrap();
    w.set("t.f32", MetaValue::F32(f32::MIN_POSITIVE)).unwrap();
    w.set("t.bool", MetaValue::Bool(true)).unwrap();
    w.set("t.string", MetaValue::string("ˈkəʊkəɹəʊ ✓")).unwrap();
    w.set("t.u64", MetaValue::U64(u64::MAX)).unwrap();
    w.set("t.i64", MetaValue::I64(i64::MIN)).unwrap();
    w.set("t.f64", MetaValue::F64(-0.0)).unwrap();
    w.set("t.tokens", MetaValue::strings(["$", ";", "ɑ", ""])).unwrap();
    let floats = MetaValue::Array(MetaArray { elem_type: ValueType::F32, values: vec![MetaValue::F32(0.1), MetaValue::F32(-2.5)] });
    w.set("t.floats", floats).unwrap();
    let mut seed = 0x1234_5678_u64;
    let mut gaussian = || {
        // Irwin–Hall: 12 uniforms − 6 ≈ N(0, 1); deterministic and portable.
        (0..12).map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32
        }).sum::<f32>() - 6.0
    };
    for ty in GgmlType::ALL {
        let values: Vec<f32> = (0..512).map(|_| gaussian()).collect();
        w.add_tensor_f32(&format!("w.{}", ty.name()), &[256, 2], ty, &values).unwrap();
    }
    let bytes = w.to_bytes().unwrap();
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("written_by_tritone.gguf");
    fs::write(&path, &bytes).unwrap();

    let output = Command::new(python()).arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/gguf/read_gguf.py")).arg(&path).output().unwrap();
    assert!(output.status.success(), "gguf-py could not read our file: {}", String::from_utf8_lossy(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    check_against(&json, &bytes, None);
}
