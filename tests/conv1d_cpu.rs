//! CPU conv1d against an independent reference (explicit zero-padded input) and hand-computed
//! values; argument errors.

use half::f16;
use tritone::backend::{Backend, Conv1dParams, CpuBackend, Weight, WeightData};
use tritone::selftest::{max_rel_error, standard_cases, Conv1dCase, CONV1D_TOLERANCE};
use tritone::Error;

fn params(stride: usize, padding: usize, dilation: usize) -> Conv1dParams {
    Conv1dParams { stride, padding, dilation }
}

/// conv1d written differently from the library: pad the input with zeros first, then index
/// without bounds checks, the way the formula reads in the PyTorch docs.
fn reference(case: &Conv1dCase) -> Vec<f32> {
    let p = case.params;
    let padded_len = case.t_in + 2 * p.padding;
    let mut padded = vec![0.0f32; case.c_in * padded_len];
    for i in 0..case.c_in {
        padded[i * padded_len + p.padding..][..case.t_in].copy_from_slice(&case.x[i * case.t_in..][..case.t_in]);
    }
    let t_out = (padded_len - p.dilation * (case.k - 1) - 1) / p.stride + 1;
    let mut y = Vec::with_capacity(case.c_out * t_out);
    for o in 0..case.c_out {
        for t in 0..t_out {
            let mut acc = case.bias.as_ref().map_or(0.0, |b| b[o]);
            for i in 0..case.c_in {
                for j in 0..case.k {
                    let w = f16::from_bits(case.weight[(o * case.c_in + i) * case.k + j]).to_f32();
                    acc += w * padded[i * padded_len + t * p.stride + j * p.dilation];
                }
            }
            y.push(acc);
        }
    }
    y
}

fn run(case: &Conv1dCase) -> Result<Vec<f32>, Error> {
    pollster::block_on(case.run(&CpuBackend))
}

#[test]
fn standard_cases_match_independent_reference() {
    for case in standard_cases() {
        let expected = reference(&case);
        let got = run(&case).unwrap();
        let err = max_rel_error(&got, &expected);
        assert!(err <= CONV1D_TOLERANCE, "{}: max rel error {err:e}", case.name);
        // The scalar twin too, since the other backends are checked against it.
        let err = max_rel_error(&case.reference().unwrap(), &expected);
        assert!(err <= CONV1D_TOLERANCE, "{} scalar twin: max rel error {err:e}", case.name);
    }
}

#[test]
fn sweep_of_small_geometries_matches_reference() {
    let mut seed = 100;
    for k in [1, 2, 3, 5] {
        for stride in [1, 2, 3] {
            for dilation in [1, 2, 4] {
                for padding in [0, 1, 3, 9] {
                    for t_in in [1, 2, 7, 16, 33] {
                        seed += 1;
                        let case = Conv1dCase::generate("sweep", 3, 4, t_in, k, params(stride, padding, dilation), seed % 2 == 0, seed);
                        if t_in + 2 * padding < dilation * (k - 1) + 1 {
                            assert!(run(&case).is_err(), "{case:?} should not fit");
                            continue;
                        }
                        let err = max_rel_error(&run(&case).unwrap(), &reference(&case));
                        assert!(err <= CONV1D_TOLERANCE, "k={k} s={stride} d={dilation} p={padding} t={t_in}: {err:e}");
                    }
                }
            }
        }
    }
}

/// x = [1, 2, 3], w = [1, 0, −1], padding 1 (cross-correlation, as PyTorch computes it).
#[test]
fn hand_computed_values() {
    let w = |v: &[f32], shape: &[usize]| Weight::f16(shape, v.iter().map(|&x| f16::from_f32(x)).collect()).unwrap();
    let cpu = CpuBackend;
    let x = cpu.upload(&[1, 3], &[1.0, 2.0, 3.0]).unwrap();
    let y = cpu.conv1d(&x, &w(&[1.0, 0.0, -1.0], &[1, 1, 3]), None, params(1, 1, 1)).unwrap();
    assert_eq!(pollster::block_on(cpu.read(&y)).unwrap(), [-2.0, -2.0, 2.0]);

    // Two output channels, bias, dilation 2 on a length-5 input with no padding: t_out = 1.
    let x = cpu.upload(&[1, 5], &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    let bias = Weight::f32(&[2], vec![0.5, -1.0]).unwrap();
    let y = cpu.conv1d(&x, &w(&[1.0, 1.0, 1.0, 2.0, 0.0, -1.0], &[2, 1, 3]), Some(&bias), params(1, 0, 2)).unwrap();
    assert_eq!(cpu.shape(&y), [2, 1]);
    assert_eq!(pollster::block_on(cpu.read(&y)).unwrap(), [1.0 + 3.0 + 5.0 + 0.5, 2.0 - 5.0 - 1.0]);

    // Kernel 1 is a per-time-step matrix product; stride 2 keeps every other step.
    let x = cpu.upload(&[2, 4], &[1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0]).unwrap();
    let y = cpu.conv1d(&x, &w(&[1.0, 0.5], &[1, 2, 1]), None, params(2, 0, 1)).unwrap();
    assert_eq!(pollster::block_on(cpu.read(&y)).unwrap(), [6.0, 18.0]);
}

/// F32 weights take the same path as F16 ones: identical results for F16-representable values.
#[test]
fn f32_weights_match_f16_weights() {
    let cpu = CpuBackend;
    for case in standard_cases() {
        let w16 = case.weight().unwrap();
        let WeightData::F16(bits) = w16.data() else { unreachable!() };
        let w32 = Weight::f32(w16.shape(), bits.iter().map(|v| v.to_f32()).collect()).unwrap();
        let x = cpu.upload(&[case.c_in, case.t_in], &case.x).unwrap();
        let b = case.bias().unwrap();
        let y16 = cpu.conv1d(&x, &w16, b.as_ref(), case.params).unwrap();
        let y32 = cpu.conv1d(&x, &w32, b.as_ref(), case.params).unwrap();
        assert_eq!(y16, y32, "{}", case.name);
    }
}

#[test]
fn padding_larger_than_input_sees_only_zeros_at_the_edges() {
    let cpu = CpuBackend;
    let x = cpu.upload(&[1, 1], &[2.0]).unwrap();
    let w = Weight::f16(&[1, 1, 1], vec![f16::from_f32(3.0)]).unwrap();
    let b = Weight::f32(&[1], vec![1.0]).unwrap();
    let y = cpu.conv1d(&x, &w, Some(&b), params(1, 4, 1)).unwrap();
    assert_eq!(pollster::block_on(cpu.read(&y)).unwrap(), [1.0, 1.0, 1.0, 1.0, 7.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn bad_arguments_are_errors() {
    let cpu = CpuBackend;
    let w = Weight::f16(&[2, 3, 3], vec![f16::ONE; 18]).unwrap();
    let x = cpu.upload(&[3, 10], &[0.5; 30]).unwrap();
    let conv = |x: &_, w: &_, b: Option<&Weight>, p| cpu.conv1d(x, w, b, p).unwrap_err();
    let is_invalid = |e: Error, needle: &str| match e {
        Error::InvalidArgument { op: "conv1d", reason } => assert!(reason.contains(needle), "{reason}"),
        other => panic!("expected InvalidArgument containing {needle:?}, got {other:?}"),
    };

    is_invalid(conv(&cpu.upload(&[3, 0], &[]).unwrap(), &w, None, params(1, 1, 1)), "empty input");
    is_invalid(conv(&cpu.upload(&[0, 5], &[]).unwrap(), &Weight::f16(&[2, 0, 3], vec![]).unwrap(), None, params(1, 1, 1)), "empty input");
    is_invalid(conv(&cpu.upload(&[2, 10], &[0.0; 20]).unwrap(), &w, None, params(1, 1, 1)), "weight expects 3");
    is_invalid(conv(&x, &w, None, params(0, 1, 1)), "stride and dilation");
    is_invalid(conv(&x, &w, None, params(1, 1, 0)), "stride and dilation");
    is_invalid(conv(&x, &w, None, params(1, 0, 6)), "exceeds padded input");
    is_invalid(conv(&x, &w, Some(&Weight::f32(&[3], vec![0.0; 3]).unwrap()), params(1, 1, 1)), "bias must be [2]");
    is_invalid(conv(&cpu.upload(&[30], &[0.0; 30]).unwrap(), &w, None, params(1, 1, 1)), "[channels, time]");
    is_invalid(conv(&x, &Weight::f16(&[6, 3], vec![f16::ONE; 18]).unwrap(), None, params(1, 1, 1)), "[c_out, c_in, kernel]");
    assert_eq!(
        conv(&x, &w, Some(&Weight::f16(&[2], vec![f16::ONE; 2]).unwrap()), params(1, 1, 1)),
        Error::WeightFormat { op: "conv1d", what: "bias", expected: "F32", got: "F16" }
    );
    assert!(matches!(cpu.upload(&[3, 10], &[0.0; 29]), Err(Error::ShapeMismatch { expected: 30, got: 29, .. })));
    assert!(matches!(Weight::f32(&[usize::MAX, 2], vec![]), Err(Error::ShapeMismatch { .. })));
}
