//! Tier 2: the WGSL kernels through native wgpu (Mesa lavapipe on machines without a GPU),
//! compared with the CPU backend. Fails, rather than skips, when no adapter exists.

use half::f16;
use tritone::backend::{Backend, Conv1dParams, CpuBackend, GpuBackend, Weight};
use tritone::selftest::{max_rel_error, standard_cases, Conv1dCase, CONV1D_TOLERANCE};
use tritone::Error;

fn gpu() -> GpuBackend {
    let gpu = pollster::block_on(GpuBackend::new())
        .unwrap_or_else(|e| panic!("GPU tier needs an adapter (scripts/setup.sh installs Mesa's lavapipe): {e}"));
    println!("GPU adapter: {}", gpu.name());
    gpu
}

#[test]
fn conv1d_matches_cpu_on_every_standard_case() {
    let gpu = gpu();
    for case in standard_cases() {
        let on_cpu = pollster::block_on(case.run(&CpuBackend)).unwrap();
        let on_gpu = pollster::block_on(case.run(&gpu)).unwrap();
        let err = max_rel_error(&on_gpu, &on_cpu);
        println!("{:28} max rel error {err:.2e}", case.name);
        assert!(err <= CONV1D_TOLERANCE, "{}: GPU vs CPU max rel error {err:e}", case.name);
    }
}

/// The shader's F32 weight path, on cases whose weights are not F16-representable.
#[test]
fn conv1d_f32_weights_match_cpu() {
    let gpu = gpu();
    for case in standard_cases() {
        let w: Vec<f32> = (0..case.weight.len()).map(|i| ((i as f32) * 0.618).sin() / (case.c_in * case.k) as f32).collect();
        let w = Weight::f32(&[case.c_out, case.c_in, case.k], w).unwrap();
        fn run<B: Backend>(b: &B, case: &Conv1dCase, w: &Weight) -> Vec<f32> {
            let x = b.upload(&[case.c_in, case.t_in], &case.x).unwrap();
            let w = b.load_weight(w).unwrap();
            let bias = case.bias().unwrap().map(|bias| b.load_weight(&bias).unwrap());
            let y = b.conv1d(&x, &w, bias.as_ref(), case.params).unwrap();
            pollster::block_on(b.read(&y)).unwrap()
        }
        let (on_cpu, on_gpu) = (run(&CpuBackend, &case, &w), run(&gpu, &case, &w));
        let err = max_rel_error(&on_gpu, &on_cpu);
        assert!(err <= CONV1D_TOLERANCE, "{}: F32 weights, GPU vs CPU {err:e}", case.name);
    }
}

#[test]
fn conv1d_sweep_matches_cpu() {
    let gpu = gpu();
    let mut seed = 1000;
    for (k, stride, dilation, padding, t_in) in [(1, 1, 1, 0, 1), (2, 1, 1, 0, 9), (3, 2, 3, 3, 31), (5, 3, 2, 9, 7), (7, 1, 1, 3, 129)] {
        for c_in in [1, 3, 17] {
            seed += 1;
            // An odd weight count exercises the zero half word at the end of the packed F16 buffer.
            let case = Conv1dCase::generate("sweep", c_in, 5, t_in, k, Conv1dParams { stride, padding, dilation }, seed % 2 == 1, seed);
            let err = max_rel_error(&pollster::block_on(case.run(&gpu)).unwrap(), &pollster::block_on(case.run(&CpuBackend)).unwrap());
            assert!(err <= CONV1D_TOLERANCE, "k={k} s={stride} d={dilation} p={padding} t={t_in} c_in={c_in}: {err:e}");
        }
    }
}

/// Two convolutions recorded back to back, one submit at the final read.
#[test]
fn chained_ops_submit_once_and_match_cpu() {
    let gpu = gpu();
    let first = Conv1dCase::generate("first", 8, 16, 50, 3, Conv1dParams { stride: 1, padding: 1, dilation: 1 }, true, 1);
    let second = Conv1dCase::generate("second", 16, 4, 50, 5, Conv1dParams { stride: 1, padding: 4, dilation: 2 }, false, 2);
    fn chain<B: Backend>(b: &B, first: &Conv1dCase, second: &Conv1dCase) -> Vec<f32> {
        let x = b.upload(&[first.c_in, first.t_in], &first.x).unwrap();
        let w1 = b.load_weight(&first.weight().unwrap()).unwrap();
        let b1 = b.load_weight(&first.bias().unwrap().unwrap()).unwrap();
        let w2 = b.load_weight(&second.weight().unwrap()).unwrap();
        let h = b.conv1d(&x, &w1, Some(&b1), first.params).unwrap();
        let y = b.conv1d(&h, &w2, None, second.params).unwrap();
        assert_eq!(b.shape(&y), [4, 50]);
        pollster::block_on(b.read(&y)).unwrap()
    }
    let err = max_rel_error(&chain(&gpu, &first, &second), &chain(&CpuBackend, &first, &second));
    assert!(err <= CONV1D_TOLERANCE, "chained: {err:e}");
}

#[test]
fn bad_arguments_are_errors_on_the_gpu_too() {
    let gpu = gpu();
    let x = gpu.upload(&[3, 10], &[0.5; 30]).unwrap();
    let w = gpu.load_weight(&Weight::f16(&[2, 3, 3], vec![f16::ONE; 18]).unwrap()).unwrap();
    let f16_bias = gpu.load_weight(&Weight::f16(&[2], vec![f16::ONE; 2]).unwrap()).unwrap();
    assert_eq!(
        gpu.conv1d(&x, &w, Some(&f16_bias), Conv1dParams::default()).err(),
        Some(Error::WeightFormat { op: "conv1d", what: "bias", expected: "F32", got: "F16" })
    );
    let w = gpu.load_weight(&Weight::f16(&[2, 4, 3], vec![f16::ONE; 24]).unwrap()).unwrap();
    assert!(matches!(gpu.conv1d(&x, &w, None, Conv1dParams::default()), Err(Error::InvalidArgument { op: "conv1d", .. })));
    let empty = gpu.upload(&[3, 0], &[]).unwrap();
    assert!(matches!(gpu.conv1d(&empty, &w, None, Conv1dParams::default()), Err(Error::InvalidArgument { .. })));
}
