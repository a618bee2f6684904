//! Every WGSL file in shaders/ parses and validates with naga: shader errors fail without a GPU.

use std::fs;

#[test]
fn every_shader_validates() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
    let mut checked = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let source = fs::read_to_string(&path).unwrap();
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}:\n{}", path.display(), e.emit_to_string(&source)));
        // Only what every WebGPU implementation guarantees: pack/unpack of f16 inside f32 values
        // is core WGSL (naga lists it as a capability because old GL lacks it); no shader-f16,
        // no subgroups.
        let webgpu_core = naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32;
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), webgpu_core)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}:\n{}", path.display(), e.emit_to_string(&source)));
        assert!(module.entry_points.iter().any(|ep| ep.name == "main"), "{}: no `main` entry point", path.display());
        checked += 1;
    }
    assert!(checked >= 1, "no shaders found in {dir}");
}
