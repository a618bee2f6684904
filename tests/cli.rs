//! The `tritone` binary: inspect and tensor on gguf-py's fixture, errors on bad files.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn tritone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tritone")).args(args).output().unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/gguf/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn inspect_prints_metadata_tensors_and_totals() {
    let out = tritone(&["inspect", &fixture("all_types.gguf")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("GGUF v3, 52 metadata keys, 13 tensors, alignment 32"), "{text}");
    assert!(text.contains("general.architecture"));
    // Q4_K 2 × 512 elements: 4 blocks of 144 bytes, 4.5 bits per element.
    let q4k = text.lines().find(|l| l.trim_start().starts_with("q4_k")).unwrap_or_else(|| panic!("{text}"));
    assert!(q4k.contains("Q4_K") && q4k.contains("[2, 512]") && q4k.ends_with("576"), "{q4k}");
    assert!(text.lines().any(|l| l.contains("Q4_K") && l.contains("1 tensors") && l.contains("4.50 bits/element")), "{text}");
}

#[test]
fn inspect_json_matches_the_table() {
    let out = tritone(&["inspect", "--json", &fixture("all_types.gguf")]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["tensors"].as_array().unwrap().len(), 13);
    assert_eq!(doc["metadata"]["test.uint64_max"]["value"], serde_json::json!(u64::MAX));
    assert_eq!(doc["metadata"]["test.uint64_max"]["type"], "u64");
    let tq1 = doc["tensors"].as_array().unwrap().iter().find(|t| t["type"] == "TQ1_0").unwrap();
    assert_eq!(tq1["ne"], serde_json::json!([512, 2]));
    assert_eq!(tq1["shape"], serde_json::json!([2, 512]));
    assert_eq!(doc["totals"]["TQ1_0"]["bytes"], 4 * 54);
}

#[test]
fn tensor_writes_npy_that_numpy_reads() {
    let out_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("q5_0.npy");
    let out = tritone(&["tensor", &fixture("all_types.gguf"), "q5_0_2d", "--out", out_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let npy = std::fs::read(&out_path).unwrap();
    assert_eq!(&npy[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 256)"), "{header}");
    assert_eq!((10 + header_len) % 64, 0);
    let values = &npy[10 + header_len..];
    assert_eq!(values, std::fs::read(fixture("tensors/q5_0_2d.f32")).unwrap(), "values equal gguf-py's dequantization");

    // numpy itself agrees, when the tools' venv is there (scripts/setup.sh makes it).
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    let check = Command::new(python)
        .args(["-c", "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype)", out_path.to_str().unwrap()])
        .output()
        .expect("target/pyenv missing: run scripts/setup.sh");
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "(2, 256) float32", "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn bad_inputs_exit_with_a_message() {
    let out = tritone(&["inspect", &fixture("malformed/tensor_count_huge.gguf")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("byte 8: count larger than the file"));

    let truncated = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("truncated.gguf");
    let bytes = std::fs::read(fixture("all_types.gguf")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    let out = tritone(&["inspect", truncated.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"), "{}", String::from_utf8_lossy(&out.stderr));

    let out = tritone(&["tensor", &fixture("all_types.gguf"), "nope", "--out", "/dev/null"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tensor \"nope\" is missing") && err.contains("f32_2d"), "{err}");

    let out = tritone(&["inspect", "/no/such/file.gguf"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.gguf"));
}
