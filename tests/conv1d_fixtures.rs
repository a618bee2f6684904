//! The browser tier compares the wasm kernels with values computed natively. Those values live
//! in `tests/fixtures/conv1d/`: one little-endian f32 file per standard case plus `index.json`.
//! This test checks the files still match the native CPU backend (and cover every case).
//! Regenerate with `TRITONE_BLESS=1 cargo test --test conv1d_fixtures`.

use std::fs;
use std::path::PathBuf;

use serde_json::json;
use tritone::backend::CpuBackend;
use tritone::selftest::{max_rel_error, standard_cases, CONV1D_TOLERANCE};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conv1d")
}

#[test]
fn fixtures_match_native_cpu() {
    let bless = std::env::var_os("TRITONE_BLESS").is_some();
    let mut index = Vec::new();
    for case in standard_cases() {
        let g = case.geometry().unwrap();
        let native = pollster::block_on(case.run(&CpuBackend)).unwrap();
        let file = format!("{}.f32", case.name);
        let path = dir().join(&file);
        if bless {
            fs::create_dir_all(dir()).unwrap();
            fs::write(&path, native.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        }
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (bless to create)", path.display()));
        let stored: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        let err = max_rel_error(&stored, &native);
        assert!(err <= CONV1D_TOLERANCE, "{}: fixture differs from native CPU by {err:e}", case.name);
        index.push(json!({ "name": case.name, "shape": [g.c_out, g.t_out], "file": file }));
    }
    let index = json!({ "tolerance": CONV1D_TOLERANCE, "cases": index });
    let index_path = dir().join("index.json");
    if bless {
        fs::write(&index_path, serde_json::to_string_pretty(&index).unwrap() + "\n").unwrap();
    }
    let stored: serde_json::Value = serde_json::from_str(&fs::read_to_string(&index_path).unwrap()).unwrap();
    assert_eq!(stored, index, "index.json is stale: bless to regenerate");
}
