//! Writes a model GGUF with the reference generator's seeded random weights (golden.py's), for
//! tests that need a whole model without downloading one: the browser tier and the CLI.
//!
//! `cargo run --example random_model -- CONFIG.json OUT.gguf [f16|f32|q8_0|q4_k|tq1_0|…]`

use tritone::gguf::GgmlType;
use tritone::model::checkpoint::{collect_weights, write_model};
use tritone::model::weights::{portable_param, RandomWeights};
use tritone::config::KokoroConfig;
use tritone::vocab;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, out, rest @ ..] = args.as_slice() else {
        return Err("usage: random_model CONFIG.json OUT.gguf [f16|f32|q8_0|q4_k|tq1_0|…]".into());
    };
    let dtype = match rest.first() {
        None => GgmlType::F16,
        Some(name) => GgmlType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name)).ok_or_else(|| format!("unknown storage type {name:?}"))?,
    };
    let cfg: KokoroConfig = serde_json::from_str(&std::fs::read_to_string(config).map_err(|e| format!("{config}: {e}"))?).map_err(|e| format!("{config}: {e}"))?;
    let tokens = vocab::tokens(cfg.n_token);
    let weights = collect_weights(&RandomWeights { seed: 0 }, &cfg, &tokens).map_err(|e| e.to_string())?;
    // golden.py's voice pack (seed 0) and a second one.
    let voices = vec![
        ("af_test".to_string(), portable_param("voicepack", 510 * 256, 0, 0.3, 0.0)),
        ("am_other".to_string(), portable_param("voicepack", 510 * 256, 1, 0.3, 0.0)),
    ];
    let bytes = write_model(&cfg, &tokens, &weights, &voices, dtype, &mut || {}).map_err(|e| e.to_string())?;
    if let Some(dir) = std::path::Path::new(out).parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, &bytes).map_err(|e| format!("{out}: {e}"))?;
    println!("{out}: {:.1} MB", bytes.len() as f64 / 1e6);
    Ok(())
}
