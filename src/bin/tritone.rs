//! The `tritone` command line.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use tritone::backend::{Backend, CpuBackend, GpuBackend};
use tritone::error::GgufErrorKind;
use tritone::gguf::{numpy_shape, GgufFile, MetaValue};
use tritone::selftest::{run_self_test, SelfTestReport};
use tritone::Error;

#[derive(Parser)]
#[command(name = "tritone", version, about = "Kokoro-82M text-to-speech: convert, inspect, synthesize, test")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the backends this machine offers (CPU kernels, GPU adapter).
    Backends,
    /// Run the op self-test on every available backend against the scalar definitions.
    Selftest {
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a GGUF file's metadata, tensor table and totals per type.
    Inspect {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write one tensor of a GGUF file, decoded to f32, as a NumPy .npy file.
    Tensor {
        file: PathBuf,
        /// Tensor name, as `inspect` lists it.
        name: String,
        /// Output .npy path; the shape is numpy's (GGUF `ne` reversed).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Backends => {
            backends();
            Ok(())
        }
        Command::Selftest { json } => selftest(json),
        Command::Inspect { file, json } => inspect(&file, json),
        Command::Tensor { file, name, out } => tensor(&file, &name, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn backends() {
    println!("cpu: {}", CpuBackend.name());
    match pollster::block_on(GpuBackend::new()) {
        Ok(gpu) => {
            let a = gpu.adapter();
            println!("gpu: {} [{}, {}] {}", a.name, a.backend, a.device_type, a.driver);
        }
        Err(e) => println!("gpu: none ({e})"),
    }
}

fn selftest(json: bool) -> Result<(), String> {
    let mut reports = vec![pollster::block_on(run_self_test(&CpuBackend))];
    match pollster::block_on(GpuBackend::new()) {
        Ok(gpu) => reports.push(pollster::block_on(run_self_test(&gpu))),
        Err(e) => eprintln!("gpu: skipped ({e})"),
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())?);
    } else {
        reports.iter().for_each(print_report);
    }
    match reports.iter().filter(|r| !r.pass).map(|r| r.backend.as_str()).collect::<Vec<_>>() {
        failed if failed.is_empty() => Ok(()),
        failed => Err(format!("self-test failed on {}", failed.join(", "))),
    }
}

fn print_report(r: &SelfTestReport) {
    println!("{} — {}", r.backend, if r.pass { "PASS" } else { "FAIL" });
    for c in &r.cases {
        let verdict = if c.pass { "ok" } else { "FAIL" };
        let detail = c.error.as_deref().unwrap_or("");
        println!("  {verdict:4} {:28} max rel error {:.2e} {detail}", c.name, c.max_rel_error);
    }
}

/// Reads only as much of the file as the header and tensor table need, growing the prefix
/// until they parse, so inspecting a large model does not read its weights.
fn read_header_prefix(path: &Path) -> Result<Vec<u8>, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    let mut want = 1 << 20;
    loop {
        (&mut file).take(want - bytes.len() as u64).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let whole_file = (bytes.len() as u64) < want;
        // The whole file gets the full checks (counts against its size, data in bounds).
        let parsed = if whole_file { GgufFile::parse(&bytes) } else { GgufFile::parse_header(&bytes) };
        match parsed {
            Err(Error::Gguf { kind: GgufErrorKind::Truncated, .. }) if !whole_file => want *= 4,
            Err(e) => return Err(format!("{}: {e}", path.display())),
            Ok(_) => return Ok(bytes),
        }
    }
}

fn meta_json(value: &MetaValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One-line rendering for the text table: long arrays show their first items and length.
fn meta_text(value: &MetaValue) -> String {
    match value {
        MetaValue::Array(a) if a.values.len() > 8 => {
            let head: Vec<String> = a.values.iter().take(6).map(meta_text).collect();
            format!("[{}, … ({} {})]", head.join(", "), a.values.len(), a.elem_type.name())
        }
        MetaValue::Array(a) => format!("[{}]", a.values.iter().map(meta_text).collect::<Vec<_>>().join(", ")),
        MetaValue::String(s) => format!("{s:?}"),
        other => meta_json(other).to_string(),
    }
}

fn inspect(path: &Path, as_json: bool) -> Result<(), String> {
    let bytes = read_header_prefix(path)?;
    let file = GgufFile::parse_header(&bytes).map_err(|e| e.to_string())?;
    let on_disk = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if on_disk < file.expected_len() {
        return Err(format!("{}: truncated: {on_disk} bytes, the tensor table needs {}", path.display(), file.expected_len()));
    }
    let mut totals: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for t in file.tensors() {
        let e = totals.entry(t.ggml_type.name()).or_default();
        *e = (e.0 + 1, e.1 + t.n_elements(), e.2 + t.size);
    }
    if as_json {
        let doc = json!({
            "version": file.version,
            "alignment": file.alignment(),
            "data_offset": file.data_offset(),
            "metadata": file.metadata().iter().map(|(k, v)| (k.to_string(), json!({
                "type": v.value_type().name(), "value": meta_json(v)
            }))).collect::<serde_json::Map<_, _>>(),
            "tensors": file.tensors().iter().map(|t| json!({
                "name": t.name, "type": t.ggml_type.name(), "ne": t.ne, "shape": numpy_shape(&t.ne),
                "offset": t.offset, "bytes": t.size,
            })).collect::<Vec<_>>(),
            "totals": totals.iter().map(|(ty, (n, el, by))| (ty.to_string(), json!({
                "tensors": n, "elements": el, "bytes": by
            }))).collect::<serde_json::Map<_, _>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
        return Ok(());
    }
    println!("{}: GGUF v{}, {} metadata keys, {} tensors, alignment {}", path.display(), file.version, file.metadata().len(), file.tensors().len(), file.alignment());
    println!("\nmetadata:");
    for (k, v) in file.metadata() {
        println!("  {k:48} {:6} {}", v.value_type().name(), meta_text(v));
    }
    println!("\ntensors (shape in numpy order, outermost first):");
    println!("  {:56} {:6} {:>22} {:>12}", "name", "type", "shape", "bytes");
    for t in file.tensors() {
        let shape = format!("{:?}", numpy_shape(&t.ne));
        println!("  {:56} {:6} {:>22} {:>12}", t.name, t.ggml_type.name(), shape, t.size);
    }
    println!("\ntotals:");
    for (ty, (n, el, by)) in &totals {
        println!("  {ty:6} {n:5} tensors {el:>12} elements {by:>12} bytes ({:.2} bits/element)", *by as f64 * 8.0 / (*el).max(1) as f64);
    }
    Ok(())
}

fn tensor(path: &Path, name: &str, out: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = GgufFile::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let info = file.tensor(name).map_err(|e| {
        let names: Vec<&str> = file.tensors().iter().map(|t| t.name).take(20).collect();
        format!("{e}; the file has {} tensors, e.g. {}", file.tensors().len(), names.join(", "))
    })?;
    let values = file.tensor_f32(name).map_err(|e| e.to_string())?;
    let shape = numpy_shape(&info.ne);
    let mut w = BufWriter::new(std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?);
    tritone::npy::write_npy(&mut w, &shape, &values).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{name}: {} {:?} → {} ({} values, f32)", info.ggml_type.name(), shape, out.display(), values.len());
    Ok(())
}

