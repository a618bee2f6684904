//! The reference backend (the conformance suite's oracle) and the CPU backend against direct
//! formulas (naive loops written from PyTorch's docs) and hand-computed values; shape errors.
//! PyTorch itself checks them again through the model stages (tests/reference_*.rs).

use tritone::backend::cpu::CpuTensor;
use tritone::backend::{Backend, Conv1dParams, ConvTransposeParams, CpuBackend, LstmWeights, NormKind, ReferenceBackend, Unary, Weight};
use tritone::Error;

/// Runs the body once with `$b` the reference backend and once with the CPU backend.
macro_rules! on_both {
    (|$b:ident| $body:block) => {{
        {
            let $b = &ReferenceBackend;
            $body
        }
        {
            let $b = &CpuBackend::default();
            $body
        }
    }};
}

fn t(shape: &[usize], data: &[f32]) -> CpuTensor {
    CpuTensor::new(shape, data.to_vec()).unwrap()
}

fn read(x: &CpuTensor) -> Vec<f32> {
    x.data().to_vec()
}

fn wave(n: usize, f: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * f).sin() * 1.7 + 0.3).collect()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}");
    }
}

#[test]
fn linear_is_a_matrix_product() {
    let w = Weight::f32(&[2, 3], vec![1.0, 2.0, 3.0, -1.0, 0.0, 0.5]).unwrap();
    let b = Weight::f32(&[2], vec![0.25, -0.25]).unwrap();
    let x = t(&[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // columns (1,2,3) and (4,5,6)
    on_both!(|be| { assert_eq!(read(&be.linear(&x, &w, Some(&b)).unwrap()), [14.25, 32.25, 0.25, -1.25]) });
}

#[test]
fn norms_match_their_definitions() {
    let (c, n) = (5, 7);
    let x = wave(c * n, 0.9);
    let (g, b) = (wave(c, 0.4), wave(c, 0.2));
    let gamma = Weight::f32(&[c], g.clone()).unwrap();
    let beta = Weight::f32(&[c], b.clone()).unwrap();
    let style = t(&[2 * c, 1], &[g.as_slice(), b.as_slice()].concat());
    let normalize = |v: &[f64], i: usize| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (v[i] - mean) / (var + 1e-5).sqrt()
    };
    on_both!(|be| {
        let layer = read(&be.layer_norm(&t(&[c, n], &x), &gamma, &beta, 1e-5).unwrap());
        let ada_layer = read(&be.ada_norm(&t(&[c, n], &x), &style, NormKind::Layer, 1e-5).unwrap());
        let ada_instance = read(&be.ada_norm(&t(&[c, n], &x), &style, NormKind::Instance, 1e-5).unwrap());
        for i in 0..c {
            for j in 0..n {
                let col: Vec<f64> = (0..c).map(|r| x[r * n + j] as f64).collect();
                let row: Vec<f64> = (0..n).map(|s| x[i * n + s] as f64).collect();
                let (g, b) = (g[i] as f64, b[i] as f64);
                // f32 rounding of terms of size ~2 that can cancel: 1e-5 absolute.
                let close = |got: f32, want: f64| assert!((got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()), "({i}, {j}): {got} vs {want}");
                close(layer[i * n + j], normalize(&col, i) * g + b);
                close(ada_layer[i * n + j], normalize(&col, i) * (1.0 + g) + b);
                close(ada_instance[i * n + j], normalize(&row, j) * (1.0 + g) + b);
            }
        }
        assert!(be.ada_norm(&t(&[c, n], &x), &t(&[c, 1], &g), NormKind::Instance, 1e-5).is_err());
        assert!(be.layer_norm(&t(&[c, n], &x), &beta, &Weight::f32(&[c + 1], vec![0.0; c + 1]).unwrap(), 1e-5).is_err());
    });
}

#[test]
fn elementwise_and_layout_ops() {
    on_both!(|cpu| {
        let x = t(&[2, 3], &[-1.0, 0.0, 2.0, 3.0, -4.0, 0.5]);
        assert_eq!(read(&cpu.unary(&x, Unary::LeakyRelu(0.2)).unwrap()), [-0.2, 0.0, 2.0, 3.0, -0.8, 0.5]);
        let gelu = read(&cpu.unary(&t(&[1, 3], &[-1.0, 0.0, 2.0]), Unary::GeluTanh).unwrap());
        close(&gelu, &[-0.158_808, 0.0, 1.954_597_7], 1e-6); // transformers' gelu_new values
        let column = t(&[2, 1], &[1.0, -0.5]);
        let y = cpu.concat(&[&x, &t(&[1, 3], &[7.0, 8.0, 9.0]), &t(&[1, 3], &[5.0, 6.0, 4.0])]).unwrap();
        assert_eq!(cpu.shape(&y), [4, 3]);
        assert_eq!(read(&y)[6..], [7.0, 8.0, 9.0, 5.0, 6.0, 4.0]);
        assert_eq!(read(&cpu.broadcast(&column, 2).unwrap()), [1.0, 1.0, -0.5, -0.5]);
        assert_eq!(read(&cpu.repeat_interleave(&x, &[2, 0, 1]).unwrap()), [-1.0, -1.0, 2.0, 3.0, 3.0, 0.5]);
        assert_eq!(read(&cpu.reflect_pad(&x, 2, 1).unwrap()), [2.0, 0.0, -1.0, 0.0, 2.0, 0.0, 0.5, -4.0, 3.0, -4.0, 0.5, -4.0]);
        assert_eq!(read(&cpu.upsample_nearest(&x, 2).unwrap()), [-1.0, -1.0, 0.0, 0.0, 2.0, 2.0, 3.0, 3.0, -4.0, -4.0, 0.5, 0.5]);
        let alpha = Weight::f32(&[1, 2, 1], vec![1.0, 2.0]).unwrap();
        let snake = read(&cpu.snake(&x, &alpha).unwrap());
        close(&snake, &[-1.0 + 1f32.sin().powi(2), 0.0, 2.0 + 2f32.sin().powi(2), 3.0 + 6f32.sin().powi(2) / 2.0, -4.0 + 8f32.sin().powi(2) / 2.0, 0.5 + 1f32.sin().powi(2) / 2.0], 1e-6);
        let table = Weight::f32(&[3, 2], vec![0.0, 1.0, 10.0, 11.0, 20.0, 21.0]).unwrap();
        assert_eq!(read(&cpu.embedding(&table, &[2, 0, 2]).unwrap()), [20.0, 0.0, 20.0, 21.0, 1.0, 21.0]);
        assert_eq!(read(&cpu.add(&x, &x).unwrap()), read(&cpu.scale(&x, 2.0).unwrap()));

        assert!(matches!(cpu.embedding(&table, &[3]), Err(Error::InvalidArgument { .. })));
        assert!(cpu.concat(&[&x, &t(&[1, 2], &[0.0; 2])]).is_err());
        assert!(cpu.concat(&[]).is_err());
        assert!(cpu.repeat_interleave(&x, &[1, 1]).is_err());
        assert!(cpu.reflect_pad(&x, 3, 0).is_err());
        assert!(cpu.add(&x, &column).is_err());
    });
}

/// Hand-computed convolutions: padding, dilation, stride, kernel 1, and a transposed one.
#[test]
fn convolutions_by_hand() {
    let p = |stride, padding, dilation| Conv1dParams { stride, padding, dilation };
    let w = |v: &[f32], shape: &[usize]| Weight::f32(shape, v.to_vec()).unwrap();
    on_both!(|cpu| {
        // [1, 2, 3] with a difference kernel, padding 1.
        let y = cpu.conv1d(&t(&[1, 3], &[1.0, 2.0, 3.0]), &w(&[1.0, 0.0, -1.0], &[1, 1, 3]), None, p(1, 1, 1)).unwrap();
        assert_eq!(read(&y), [-2.0, -2.0, 2.0]);
        // Two output channels, bias, dilation 2 on a length-5 input with no padding: t_out = 1.
        let bias = w(&[0.5, -1.0], &[2]);
        let y = cpu.conv1d(&t(&[1, 5], &[1.0, 2.0, 3.0, 4.0, 5.0]), &w(&[1.0, 1.0, 1.0, 2.0, 0.0, -1.0], &[2, 1, 3]), Some(&bias), p(1, 0, 2)).unwrap();
        assert_eq!(read(&y), [1.0 + 3.0 + 5.0 + 0.5, 2.0 - 5.0 - 1.0]);
        // Kernel 1 is a per-time-step matrix product; stride 2 keeps every other step.
        let y = cpu.conv1d(&t(&[2, 4], &[1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0]), &w(&[1.0, 0.5], &[1, 2, 1]), None, p(2, 0, 1)).unwrap();
        assert_eq!(read(&y), [6.0, 18.0]);
        // Padding wider than the input sees only zeros at the edges.
        let y = cpu.conv1d(&t(&[1, 1], &[2.0]), &w(&[3.0], &[1, 1, 1]), Some(&w(&[1.0], &[1])), p(1, 4, 1)).unwrap();
        assert_eq!(read(&y), [1.0, 1.0, 1.0, 1.0, 7.0, 1.0, 1.0, 1.0, 1.0]);
        // Transposed, stride 2, kernel 3, padding 1, output padding 1: each input spreads
        // [a, b, c] around position 2i; out length (2 − 1)·2 − 2 + 3 + 1 = 4.
        let params = ConvTransposeParams { stride: 2, padding: 1, output_padding: 1, groups: 1 };
        let y = cpu.conv_transpose1d(&t(&[1, 2], &[1.0, 10.0]), &w(&[1.0, 2.0, 3.0], &[1, 1, 3]), None, params).unwrap();
        assert_eq!(read(&y), [2.0, 3.0 + 10.0, 20.0, 30.0]);
        // Depthwise (groups = channels): each channel its own kernel.
        let params = ConvTransposeParams { stride: 1, padding: 0, output_padding: 0, groups: 2 };
        let y = cpu.conv_transpose1d(&t(&[2, 1], &[1.0, 2.0]), &w(&[1.0, -1.0, 5.0, 7.0], &[2, 1, 2]), Some(&w(&[0.5, 0.0], &[2])), params).unwrap();
        assert_eq!(read(&y), [1.5, -0.5, 10.0, 14.0]);
        assert!(cpu.conv_transpose1d(&t(&[3, 2], &[0.0; 6]), &w(&[0.0; 6], &[3, 1, 2]), None, ConvTransposeParams { stride: 1, padding: 0, output_padding: 0, groups: 2 }).is_err());
        assert!(cpu.conv_transpose1d(&t(&[1, 2], &[0.0; 2]), &w(&[0.0; 3], &[1, 1, 3]), None, ConvTransposeParams { stride: 1, padding: 0, output_padding: 1, groups: 1 }).is_err());
    });
}

/// Every way conv1d arguments can disagree is an error naming the problem.
#[test]
fn bad_conv_arguments_are_errors() {
    let p = |stride, padding, dilation| Conv1dParams { stride, padding, dilation };
    on_both!(|cpu| {
        let w = Weight::f32(&[2, 3, 3], vec![1.0; 18]).unwrap();
        let x = t(&[3, 10], &[0.5; 30]);
        let conv = |x: &_, w: &_, b: Option<&Weight>, p| cpu.conv1d(x, w, b, p).unwrap_err();
        let is_invalid = |e: Error, needle: &str| match e {
            Error::InvalidArgument { op: "conv1d", reason } => assert!(reason.contains(needle), "{reason}"),
            other => panic!("expected InvalidArgument containing {needle:?}, got {other:?}"),
        };
        is_invalid(conv(&t(&[3, 0], &[]), &w, None, p(1, 1, 1)), "empty input");
        is_invalid(conv(&t(&[2, 10], &[0.0; 20]), &w, None, p(1, 1, 1)), "weight expects 3");
        is_invalid(conv(&x, &w, None, p(0, 1, 1)), "stride and dilation");
        is_invalid(conv(&x, &w, None, p(1, 1, 0)), "stride and dilation");
        is_invalid(conv(&x, &w, None, p(1, 0, 6)), "exceeds padded input");
        is_invalid(conv(&x, &w, Some(&Weight::f32(&[3], vec![0.0; 3]).unwrap()), p(1, 1, 1)), "bias must be [2]");
        is_invalid(conv(&t(&[30], &[0.0; 30]), &w, None, p(1, 1, 1)), "[channels, time]");
        is_invalid(conv(&x, &Weight::f32(&[6, 3], vec![1.0; 18]).unwrap(), None, p(1, 1, 1)), "[c_out, c_in, kernel]");
    });
    assert!(matches!(CpuTensor::new(&[3, 10], vec![0.0; 29]), Err(Error::ShapeMismatch { expected: 30, got: 29, .. })));
    assert!(Weight::f32(&[usize::MAX, 2], vec![]).is_err());
}

#[test]
fn attention_matches_the_formula() {
    let (heads, d, n) = (2, 3, 4);
    let q = wave(heads * d * n, 0.7);
    let k = wave(heads * d * n, 1.3);
    let v = wave(heads * d * n, 0.5);
    on_both!(|be| { attention_case(be, heads, d, n, &q, &k, &v) });
}

fn attention_case<B: Backend<Tensor = CpuTensor>>(be: &B, heads: usize, d: usize, n: usize, q: &[f32], k: &[f32], v: &[f32]) {
    let got = read(&be.attention(&t(&[heads * d, n], q), &t(&[heads * d, n], k), &t(&[heads * d, n], v), heads).unwrap());
    for h in 0..heads {
        for i in 0..n {
            let at = |m: &[f32], c: usize, j: usize| m[(h * d + c) * n + j] as f64;
            let scores: Vec<f64> = (0..n).map(|j| (0..d).map(|c| at(q, c, i) * at(k, c, j)).sum::<f64>() / (d as f64).sqrt()).collect();
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            for c in 0..d {
                let want: f64 = (0..n).map(|j| (scores[j] - max).exp() / z * at(v, c, j)).sum();
                let got = got[(h * d + c) * n + i] as f64;
                assert!((got - want).abs() < 1e-5, "head {h} step {i} channel {c}: {got} vs {want}");
            }
        }
    }
    assert!(be.attention(&t(&[5, n], &[0.0; 20]), &t(&[5, n], &[0.0; 20]), &t(&[5, n], &[0.0; 20]), 2).is_err());
    // no channels: an empty answer or an error, never a panic
    if let Ok(empty) = be.attention(&t(&[0, n], &[]), &t(&[0, n], &[]), &t(&[0, n], &[]), 2) {
        assert!(read(&empty).is_empty());
    }
}

/// PyTorch's LSTM equations, one step at a time in f64.
#[test]
fn lstm_matches_the_equations_both_ways() {
    let (inp, h, n) = (3, 2, 5);
    let w_ih = wave(4 * h * inp, 0.3);
    let w_hh = wave(4 * h * h, 0.8);
    let b_ih = wave(4 * h, 1.1);
    let b_hh = wave(4 * h, 0.6);
    let x = wave(inp * n, 0.45);
    let weights = [
        Weight::f32(&[4 * h, inp], w_ih.clone()).unwrap(),
        Weight::f32(&[4 * h, h], w_hh.clone()).unwrap(),
        Weight::f32(&[4 * h], b_ih.clone()).unwrap(),
        Weight::f32(&[4 * h], b_hh.clone()).unwrap(),
    ];
    let lw = LstmWeights { w_ih: &weights[0], w_hh: &weights[1], b_ih: &weights[2], b_hh: &weights[3] };
    for reverse in [false, true] {
      on_both!(|be| {
        let got = read(&be.lstm(&t(&[inp, n], &x), &lw, reverse).unwrap());
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let (mut hs, mut cs) = (vec![0.0f64; h], vec![0.0f64; h]);
        let steps: Vec<usize> = if reverse { (0..n).rev().collect() } else { (0..n).collect() };
        for j in steps {
            let gate = |r: usize| -> f64 {
                b_ih[r] as f64 + b_hh[r] as f64
                    + (0..inp).map(|c| w_ih[r * inp + c] as f64 * x[c * n + j] as f64).sum::<f64>()
                    + (0..h).map(|c| w_hh[r * h + c] as f64 * hs[c]).sum::<f64>()
            };
            let g: Vec<f64> = (0..4 * h).map(gate).collect();
            for u in 0..h {
                cs[u] = sig(g[h + u]) * cs[u] + sig(g[u]) * g[2 * h + u].tanh();
                hs[u] = sig(g[3 * h + u]) * cs[u].tanh();
                assert!((got[u * n + j] as f64 - hs[u]).abs() < 1e-5, "reverse={reverse} step {j} unit {u}");
            }
        }
      });
    }
    let bad = Weight::f32(&[4 * h, h + 1], vec![0.0; 4 * h * (h + 1)]).unwrap();
    on_both!(|be| { assert!(be.lstm(&t(&[inp, n], &x), &LstmWeights { w_hh: &bad, ..lw }, false).is_err()) });
}
