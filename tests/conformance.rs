//! The conformance suite (`tritone::conformance`) on the native backends: the CPU and the GPU
//! (Mesa's lavapipe on machines without a GPU; the test fails, rather than skips, without an
//! adapter) must pass every case, every op in every weight format.

use half::f16;
use tritone::backend::{Arithmetic, Backend, Conv1dParams, CpuBackend, GpuBackend, ReferenceBackend, Weight, OPS};
use tritone::conformance::{self, cases, max_rel_error, Outcome, Report, WEIGHT_FORMATS};
use tritone::Error;

fn gpu() -> GpuBackend {
    let gpu = pollster::block_on(GpuBackend::new())
        .unwrap_or_else(|e| panic!("GPU tier needs an adapter (scripts/setup.sh installs Mesa's lavapipe): {e}"));
    println!("GPU adapter: {}", gpu.name());
    gpu
}

fn print(report: &Report) {
    println!("{}: {} passed, {} unsupported, {} failed", report.backend, report.passed, report.unsupported, report.failed);
    for (op, pass, unsupported, fail) in report.by_op() {
        println!("  {op:18} {pass:3} pass {unsupported:3} unsupported {fail:3} fail");
    }
    for c in report.cases.iter().filter(|c| c.outcome == Outcome::Fail) {
        println!("  FAIL {} ({}): {:e} > {:e} {}", c.name, c.format, c.max_rel_error, c.tolerance, c.message.as_deref().unwrap_or(""));
    }
}

#[test]
fn suite_covers_every_op_and_every_weight_format() {
    let all = cases();
    for op in OPS {
        assert!(all.iter().any(|c| c.call.op() == op), "no case for {op}");
    }
    for op in ["conv1d", "conv_transpose1d", "linear", "embedding", "lstm"] {
        for ty in WEIGHT_FORMATS {
            assert!(all.iter().any(|c| c.call.op() == op && c.call.format() == ty), "no {op} case with {} weights", ty.name());
        }
    }
    let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len(), "case names must be unique");
}

#[test]
fn cpu_passes_every_case() {
    let report = pollster::block_on(conformance::run(&CpuBackend::default()));
    print(&report);
    assert_eq!((report.failed, report.unsupported), (0, 0));
}

/// The tolerances catch real bugs: one output value off by 1e-3 of the output's scale, or the
/// last row of a padded block-format weight decoded from the wrong block, fails its case.
#[test]
fn tolerances_would_catch_a_wrong_value() {
    for case in cases().iter().filter(|c| c.name.starts_with("conv1d_k3_d3_Q4_K") || c.name == "layer_norm" || c.name == "concat_three") {
        let mut got = pollster::block_on(case.call.run(&CpuBackend::default())).unwrap();
        let want = pollster::block_on(case.call.run(&ReferenceBackend)).unwrap();
        let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let mid = got.len() / 2;
        got[mid] += 1e-3 * scale;
        assert!(max_rel_error(&got, &want) > case.tolerance, "{}", case.name);
    }
}

#[test]
fn gpu_passes_every_case() {
    let report = pollster::block_on(conformance::run(&gpu()));
    print(&report);
    assert_eq!((report.failed, report.unsupported), (0, 0));
}

/// Two convolutions recorded back to back, flushed, then one read: the same values as the CPU,
/// and the dispatch counter sees both.
#[test]
fn gpu_chained_ops_flush_and_read() {
    let gpu = gpu();
    let w1 = Weight::f16(&[16, 8, 3], (0..384).map(|i| f16::from_f32(((i as f32) * 0.37).sin() / 5.0)).collect()).unwrap();
    let b1 = Weight::f32(&[16], (0..16).map(|i| i as f32 / 16.0).collect()).unwrap();
    let w2 = Weight::f32(&[4, 16, 5], (0..320).map(|i| ((i as f32) * 0.11).cos() / 9.0).collect()).unwrap();
    let x: Vec<f32> = (0..400).map(|i| ((i as f32) * 0.05).sin()).collect();
    fn chain<B: Backend>(b: &B, x: &[f32], w1: &Weight, b1: &Weight, w2: &Weight) -> (Vec<f32>, u64) {
        let before = b.ops_recorded();
        let x = b.upload(&[8, 50], x).unwrap();
        let (w1, b1, w2) = (b.load_weight(w1).unwrap(), b.load_weight(b1).unwrap(), b.load_weight(w2).unwrap());
        let h = b.conv1d(&x, &w1, Some(&b1), Conv1dParams { stride: 1, padding: 1, dilation: 1 }).unwrap();
        b.flush().unwrap();
        let y = b.conv1d(&h, &w2, None, Conv1dParams { stride: 1, padding: 4, dilation: 2 }).unwrap();
        assert_eq!(b.shape(&y), [4, 50]);
        (pollster::block_on(b.read(&y)).unwrap(), b.ops_recorded() - before)
    }
    let (on_gpu, gpu_ops) = chain(&gpu, &x, &w1, &b1, &w2);
    let (on_cpu, cpu_ops) = chain(&CpuBackend::default(), &x, &w1, &b1, &w2);
    assert!(max_rel_error(&on_gpu, &on_cpu) <= 2e-5);
    assert_eq!((gpu_ops, cpu_ops), (2, 2));
}

#[test]
fn bad_arguments_are_errors_on_the_gpu_too() {
    let gpu = gpu();
    let x = gpu.upload(&[3, 10], &[0.5; 30]).unwrap();
    let w = gpu.load_weight(&Weight::f16(&[2, 3, 3], vec![f16::ONE; 18]).unwrap()).unwrap();
    // A vector in any format is decoded at load: an F16 bias adds as the CPU's does.
    let f16_bias = Weight::f16(&[2], vec![f16::from_f32(0.25), f16::ONE]).unwrap();
    let y = gpu.conv1d(&x, &w, Some(&gpu.load_weight(&f16_bias).unwrap()), Conv1dParams::default()).unwrap();
    let on_cpu = CpuBackend::default().conv1d(&CpuBackend::default().upload(&[3, 10], &[0.5; 30]).unwrap(), &Weight::f16(&[2, 3, 3], vec![f16::ONE; 18]).unwrap(), Some(&f16_bias), Conv1dParams::default()).unwrap();
    assert_eq!(pollster::block_on(gpu.read(&y)).unwrap(), on_cpu.data());
    let w = gpu.load_weight(&Weight::f16(&[2, 4, 3], vec![f16::ONE; 24]).unwrap()).unwrap();
    assert!(matches!(gpu.conv1d(&x, &w, None, Conv1dParams::default()), Err(Error::InvalidArgument { op: "conv1d", .. })));
    let empty = gpu.upload(&[3, 0], &[]).unwrap();
    assert!(matches!(gpu.conv1d(&empty, &w, None, Conv1dParams::default()), Err(Error::InvalidArgument { .. })));
}

/// The CPU's int8 arithmetic against the reference: convolutions within int8 rounding
/// (`convolution_error`), every other op exactly as in f32, and the int8 kernels really run.
#[test]
fn int8_arithmetic_passes_the_suite() {
    let int8 = CpuBackend::new(Arithmetic::Int8);
    assert!(int8.name().contains("int8 convolutions"), "{}", int8.name());
    let report = pollster::block_on(conformance::run(&int8));
    let failed: Vec<String> = report.cases.iter().filter(|c| c.outcome == Outcome::Fail).map(|c| format!("{}: {} > {}", c.name, c.max_rel_error, c.tolerance)).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    // The wide cases went through int8: their error is int8's, not f32's.
    for name in ["conv1d_generator_k7_d3", "conv1d_text_encoder_k5", "conv1d_generator_k3_d5", "conv_transpose1d_upsample_64"] {
        let c = report.cases.iter().find(|c| c.name == name).unwrap();
        assert!(c.max_rel_error > 1e-4, "{name}: {} (f32-sized: int8 did not run)", c.max_rel_error);
    }
}
