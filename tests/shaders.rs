//! Every pipeline the GPU backend can create (each op's WGSL file composed with the helpers
//! and, for ops that read weights, each format's decoder) parses and validates with naga:
//! shader errors fail without a GPU.

use std::fs;
use std::path::Path;

/// The .wgsl files under `dir`, recursively.
fn wgsl_files(dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            wgsl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            out.push(fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_shader_validates() {
    let sources = tritone::backend::gpu::all_sources();
    let mut checked = 0;
    for (label, source) in &sources {
        let module = naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{label}:\n{}", e.emit_to_string(source)));
        // Only what every WebGPU implementation guarantees: pack/unpack of f16 inside f32 values
        // is core WGSL (naga lists it as a capability because old GL lacks it); no shader-f16,
        // no subgroups.
        let webgpu_core = naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32;
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), webgpu_core)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{label}:\n{}", e.emit_to_string(source)));
        assert!(module.entry_points.iter().any(|ep| ep.name == "main"), "{label}: no `main` entry point");
        checked += 1;
    }
    // 4 weight-reading kernels × 10 formats + 11 others
    assert_eq!(checked, 51);
    // Every file in shaders/ is part of some pipeline.
    let mut files = Vec::new();
    wgsl_files(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders")), &mut files);
    for file in files {
        assert!(sources.iter().any(|(_, s)| s.contains(file.replace("WEIGHT", "w").trim())), "a file in shaders/ is in no pipeline:\n{file}");
    }
}
