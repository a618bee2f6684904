//! `tritone quantize`: calibration, GPTQ rounding, and a per-group plan under a byte budget
//! (the work is in `tritone::tts::quantize`; this file parses, shows progress and reports).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use serde_json::{json, Value};
use tritone::gguf::{GgmlType, MetaValue};
use tritone::phonemize::{Language, Phonemizer};
pub use tritone::tts::quantize::group_of;
use tritone::tts::quantize::{Distortion, Method, Quantizer, Sweep, CALIBRATION_EN};

use super::{progress, Dtype};

/// A file to write.
struct Output {
    path: PathBuf,
    formats: HashMap<usize, GgmlType>,
    meta: Vec<(String, MetaValue<'static>)>,
    /// The size it must not exceed (--budget).
    budget: Option<usize>,
    /// What the report says of it.
    report: Value,
}

/// `--out` for one of several outputs: `{key}` replaced by `value`; one output may use `--out` as is.
fn out_path(out: &std::path::Path, key: &str, value: &str, several: bool) -> Result<PathBuf, String> {
    let pattern = out.to_string_lossy();
    let slot = format!("{{{key}}}");
    match (several, pattern.contains(&slot)) {
        (_, true) => Ok(PathBuf::from(pattern.replace(&slot, &value.to_ascii_lowercase()))),
        (false, false) => Ok(out.to_owned()),
        (true, false) => Err(format!("several --{key} values need an --out with {slot} in it (e.g. kokoro-{slot}.gguf)")),
    }
}

pub struct QuantizeArgs {
    pub input: PathBuf,
    pub out: Option<PathBuf>,
    pub ty: Vec<Dtype>,
    pub budget: Vec<String>,
    pub check: Option<PathBuf>,
    pub ladder: Vec<Dtype>,
    pub full_sweep: bool,
    pub calibration: Option<PathBuf>,
    pub sentences: usize,
    pub eval_sentences: usize,
    pub voice: Option<String>,
    pub nearest: bool,
    pub report: Option<PathBuf>,
    pub threads: Option<usize>,
}

/// "30MB", "28.5 MiB", "30000000" → bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let value: f64 = num.parse().map_err(|_| format!("--budget {s:?}: expected a size such as 30MB, 28.5MiB or 30000000"))?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "kib" => 1024.0,
        "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" => 1e9,
        other => return Err(format!("--budget {s:?}: unknown unit {other:?} (B, kB, KiB, MB, MiB, GB)")),
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("--budget {s:?}: must be positive"));
    }
    Ok((value * scale) as usize)
}

fn distortion_json(d: &Distortion) -> Value {
    json!({ "mel_db": d.mel_db, "durations_moved": d.durations_moved })
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

pub fn quantize(a: QuantizeArgs) -> Result<(), String> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().map_err(|e| format!("--threads: {e}"))?;
    }
    let budgets: Vec<(String, usize)> = a.budget.iter().map(|b| Ok((b.trim().to_owned(), parse_size(b)?))).collect::<Result<_, String>>()?;
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", a.input.display());
    let bytes = Bytes::from(std::fs::read(&a.input).map_err(|e| fail(&e))?);
    let mut q = Quantizer::open(&bytes).map_err(|e| fail(&e))?;
    let voices: Vec<String> = match &a.voice {
        Some(v) => v.split(',').map(|v| v.trim().to_owned()).collect(),
        None => q.voice_names(),
    };
    let Some(first) = voices.first() else { return Err(fail(&"the model has no voices")) };

    // Calibration and evaluation sentences, phonemized.
    let text = match &a.calibration {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => CALIBRATION_EN.to_owned(),
    };
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if a.sentences == 0 || a.eval_sentences == 0 || lines.len() < a.sentences + a.eval_sentences {
        return Err(format!("calibration text: {} sentences, --sentences {} + --eval-sentences {} needed (each at least 1)", lines.len(), a.sentences, a.eval_sentences));
    }
    let phonemizer = Phonemizer::new(Language::for_voice(first)).map_err(|e| e.to_string())?;
    let phonemize = |l: &&str| phonemizer.phonemize(l).phonemes();
    let calibration: Vec<String> = lines[..a.sentences].iter().map(phonemize).collect();
    let evaluation: Vec<String> = lines[lines.len() - a.eval_sentences..].iter().map(phonemize).collect();

    if let Some(path) = &a.check {
        let started = Instant::now();
        q.set_evaluation(&evaluation, &voices).map_err(|e| fail(&e))?;
        let candidate = Bytes::from(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
        let d = q.evaluate_file(&candidate).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{}: {:.2} MB, log-mel distance {:.2} dB, durations moved {:.1} % ({} held-out sentences)", path.display(), mb(candidate.len()), d.mel_db, 100.0 * d.durations_moved, evaluation.len());
        let report = json!({
            "input": a.input.display().to_string(), "check": path.display().to_string(), "bytes": candidate.len(), "voices": voices,
            "evaluation_sentences": evaluation.len(), "distortion": distortion_json(&d), "seconds": started.elapsed().as_secs_f64(),
        });
        if let Some(path) = &a.report {
            std::fs::write(path, serde_json::to_string_pretty(&report).unwrap_or_default()).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    let out_pattern = a.out.clone().ok_or("--out is required")?;
    let method = if a.nearest { Method::Nearest } else { Method::Gptq };
    let started = Instant::now();
    if method == Method::Gptq {
        let bar = progress(calibration.len() as u64, "calibrate");
        q.calibrate(&calibration, &voices, &mut || bar.inc(1)).map_err(|e| fail(&e))?;
        bar.finish();
    }
    let calibrate_s = started.elapsed().as_secs_f64();
    q.set_evaluation(&evaluation, &voices).map_err(|e| fail(&e))?;

    let mut report = json!({
        "input": a.input.display().to_string(), "input_bytes": bytes.len(), "method": method.name(), "voices": voices,
        "calibration_sentences": calibration.len(), "evaluation_sentences": evaluation.len(), "calibrate_s": calibrate_s,
    });
    let matrices: Vec<(usize, String)> = q.matrices().map(|(i, n)| (i, n.to_owned())).collect();
    let mut outputs: Vec<Output> = Vec::new();
    match (a.ty.is_empty(), budgets.is_empty()) {
        (false, _) => {
            for ty in a.ty.iter().map(|t| t.ggml()) {
                let out = out_path(&out_pattern, "type", ty.name(), a.ty.len() > 1)?;
                let plan: HashMap<usize, GgmlType> = matrices.iter().map(|&(i, _)| (i, ty)).collect();
                // Both roundings, so the report says what calibration bought.
                let bar = progress(matrices.len() as u64, ty.name());
                let mut tensors = Vec::new();
                for (i, name) in &matrices {
                    let chosen = q.quantized(*i, ty, method).map_err(|e| fail(&e))?;
                    bar.inc(1);
                    let r = q.rounding(*i, ty);
                    tensors.push(json!({
                        "name": name, "group": group_of(name), "type": chosen.format_name(), "bytes": chosen.bytes().len(),
                        "output_error_gptq": r.map(|r| r.gptq), "output_error_before_refit": r.map(|r| r.before_refit), "output_error_nearest": r.map(|r| r.nearest),
                    }));
                }
                bar.finish();
                let mut distortion = serde_json::Map::new();
                for m in if method == Method::Gptq { vec![Method::Gptq, Method::Nearest] } else { vec![Method::Nearest] } {
                    let weights = q.assemble(&plan, m).map_err(|e| fail(&e))?;
                    let d = q.evaluate(&weights).map_err(|e| fail(&e))?;
                    println!("{:>6} {:>18}: log-mel distance {:.2} dB, durations moved {:.1} %", ty.name(), m.name(), d.mel_db, 100.0 * d.durations_moved);
                    distortion.insert(m.name().to_owned(), distortion_json(&d));
                }
                let kept = tensors.iter().filter(|t| t["output_error_gptq"].as_f64().zip(t["output_error_nearest"].as_f64()).is_some_and(|(g, n)| g <= n)).count();
                let calibrated = tensors.iter().filter(|t| t["output_error_gptq"].is_number()).count();
                if method == Method::Gptq {
                    println!("{:>6}: GPTQ kept for {kept} of {calibrated} calibrated matrices (the rest round to nearest: lower output error)", ty.name());
                }
                let part = json!({ "type": ty.name(), "distortion": distortion, "gptq_kept": kept, "calibrated": calibrated, "tensors": tensors });
                outputs.push(Output { path: out, formats: plan, meta: vec![("tritone.quantization.type".to_owned(), MetaValue::string(ty.name()))], budget: None, report: part });
            }
        }
        (true, false) => {
            // The sensitivity once, as far as some budget needs it; a plan per budget.
            let ladder: Vec<GgmlType> = a.ladder.iter().map(|d| d.ggml()).collect();
            let every: usize = q.sensitivity_plan(&ladder).iter().map(|g| g.formats.len()).sum();
            let bar = progress(0, "sensitivity");
            let sizes: Vec<usize> = budgets.iter().map(|(_, b)| *b).collect();
            let costs = q
                .sensitivity(&ladder, method, (!a.full_sweep).then_some(sizes.as_slice()), &mut |event| match event {
                    Sweep::Round(n) => bar.inc_length(n as u64),
                    Sweep::Judged(group, ty, d) => {
                        bar.suspend(|| println!("{group:>20} {:>6}: {:.2} dB, durations moved {:.1} %", ty.name(), d.mel_db, 100.0 * d.durations_moved));
                        bar.inc(1);
                    }
                })
                .map_err(|e| fail(&e))?;
            bar.finish();
            let judged = costs.iter().flat_map(|c| &c.rungs).filter(|r| r.2.is_some()).count();
            println!("judged {judged} of {every} (part, format) pairs; the rest no budget's best plan could use");
            report["ladder"] = json!(ladder.iter().map(|t| t.name()).collect::<Vec<_>>());
            report["sensitivity"] = json!(costs
                .iter()
                .map(|c| json!({
                    "group": c.group, "tensors": c.members.len(),
                    "rungs": c.rungs.iter().map(|(t, b, d)| json!({ "type": t.name(), "bytes": b, "mel_db": d.as_ref().map(|d| d.mel_db), "durations_moved": d.as_ref().map(|d| d.durations_moved) })).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>());
            for (name, budget) in &budgets {
                let out = out_path(&out_pattern, "budget", name, budgets.len() > 1)?;
                let plan = q.plan_budget(&costs, *budget).map_err(|e| fail(&e))?;
                let weights = q.assemble(&plan.tensors, method).map_err(|e| fail(&e))?;
                let measured = q.evaluate(&weights).map_err(|e| fail(&e))?;
                println!("budget {name}:");
                for (group, ty) in &plan.groups {
                    println!("{group:>20}: {}", ty.name());
                }
                println!("plan: predicted {:.2} dB (the parts alone, in quadrature), measured {:.2} dB, durations moved {:.1} %", plan.predicted_mel_db, measured.mel_db, 100.0 * measured.durations_moved);
                let part = json!({
                    "budget": name, "budget_bytes": budget,
                    "plan": plan.groups.iter().map(|(g, t)| json!({ "group": g, "type": t.name() })).collect::<Vec<_>>(),
                    "predicted_mel_db": plan.predicted_mel_db,
                    "distortion": { method.name(): distortion_json(&measured) },
                });
                let groups_meta: Vec<String> = plan.groups.iter().map(|(g, t)| format!("{g}={}", t.name())).collect();
                let meta = vec![
                    ("tritone.quantization.budget_bytes".to_owned(), MetaValue::U64(*budget as u64)),
                    ("tritone.quantization.groups".to_owned(), MetaValue::strings(groups_meta)),
                ];
                outputs.push(Output { path: out, formats: plan.tensors, meta, budget: Some(*budget), report: part });
            }
        }
        (true, true) => return Err("give --type or --budget".into()),
    }
    // Every plan first (a budget too small fails before any file is written), then the files.
    let mut parts = Vec::new();
    for Output { path: out, formats: plan, meta: extra, budget, report: mut part } in outputs {
        let weights = q.assemble(&plan, method).map_err(|e| fail(&e))?;
        let gguf = q.write(&weights, method, &extra).map_err(|e| fail(&e))?;
        if let Some(budget) = budget {
            if gguf.len() > budget {
                return Err(format!("{}: {:.2} MB, over the budget of {:.2} MB (the estimate of the metadata was short)", out.display(), mb(gguf.len()), mb(budget)));
            }
        }
        std::fs::write(&out, &gguf).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("{}: {:.2} MB ({} matrices quantized, {})", out.display(), mb(gguf.len()), plan.len(), method.name());
        part["output"] = json!(out.display().to_string());
        part["output_bytes"] = json!(gguf.len());
        parts.push(part);
    }
    report[if budgets.is_empty() { "types" } else { "budgets" }] = json!(parts);
    let seconds = started.elapsed().as_secs_f64();
    println!("{seconds:.0} s in all");
    report["seconds"] = json!(seconds);
    if let Some(path) = &a.report {
        std::fs::write(path, serde_json::to_string_pretty(&report).unwrap_or_default()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("30MB"), Ok(30_000_000));
        assert_eq!(parse_size("1.5 MiB"), Ok(1_572_864));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("30 parsecs").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("0MB").is_err());
    }
}
