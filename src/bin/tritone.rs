//! The `tritone` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tritone::backend::{Backend, CpuBackend, GpuBackend};
use tritone::selftest::{run_self_test, SelfTestReport};

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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Backends => {
            println!("cpu: {}", CpuBackend.name());
            match pollster::block_on(GpuBackend::new()) {
                Ok(gpu) => {
                    let a = gpu.adapter();
                    println!("gpu: {} [{}, {}] {}", a.name, a.backend, a.device_type, a.driver);
                }
                Err(e) => println!("gpu: none ({e})"),
            }
            ExitCode::SUCCESS
        }
        Command::Selftest { json } => {
            let mut reports = vec![pollster::block_on(run_self_test(&CpuBackend))];
            match pollster::block_on(GpuBackend::new()) {
                Ok(gpu) => reports.push(pollster::block_on(run_self_test(&gpu))),
                Err(e) => eprintln!("gpu: skipped ({e})"),
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&reports).unwrap_or_default());
            } else {
                reports.iter().for_each(print_report);
            }
            if reports.iter().all(|r| r.pass) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
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
