//! The model's CPU ops against direct formulas (naive loops written from PyTorch's docs) and
//! hand-computed values; shape errors. PyTorch itself checks them again through the model
//! stages (tests/reference_*.rs).

use tritone::backend::{Backend, CpuBackend, LstmWeights, Unary, Weight};
use tritone::Error;

fn t(shape: &[usize], data: &[f32]) -> tritone::backend::cpu::CpuTensor {
    CpuBackend.upload(shape, data).unwrap()
}

fn read(x: &tritone::backend::cpu::CpuTensor) -> Vec<f32> {
    pollster::block_on(CpuBackend.read(x)).unwrap()
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
    assert_eq!(read(&CpuBackend.linear(&x, &w, Some(&b)).unwrap()), [14.25, 32.25, 0.25, -1.25]);
}

#[test]
fn norms_match_their_definitions() {
    let (c, n) = (5, 7);
    let x = wave(c * n, 0.9);
    let g = Weight::f32(&[c], wave(c, 0.4)).unwrap();
    let bias = Weight::f32(&[c], wave(c, 0.2)).unwrap();
    let y = read(&CpuBackend.layer_norm(&t(&[c, n], &x), Some(&g), Some(&bias), 1e-5).unwrap());
    for j in 0..n {
        let col: Vec<f64> = (0..c).map(|i| x[i * n + j] as f64).collect();
        let mean = col.iter().sum::<f64>() / c as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c as f64;
        let (g, b) = (wave(c, 0.4), wave(c, 0.2));
        let want: Vec<f32> = (0..c).map(|i| ((col[i] - mean) / (var + 1e-5).sqrt() * g[i] as f64 + b[i] as f64) as f32).collect();
        // f32 rounding of terms of size ~2 that can cancel: 1e-5 absolute.
        close(&(0..c).map(|i| y[i * n + j]).collect::<Vec<_>>(), &want, 1e-5);
    }
    let y = read(&CpuBackend.instance_norm(&t(&[c, n], &x), 1e-5).unwrap());
    for (row_in, row_out) in x.chunks(n).zip(y.chunks(n)) {
        let mean = row_in.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = row_in.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        close(row_out, &row_in.iter().map(|&v| ((v as f64 - mean) / (var + 1e-5).sqrt()) as f32).collect::<Vec<_>>(), 1e-6);
    }
}

#[test]
fn elementwise_and_layout_ops() {
    let cpu = CpuBackend;
    let x = t(&[2, 3], &[-1.0, 0.0, 2.0, 3.0, -4.0, 0.5]);
    assert_eq!(read(&cpu.unary(&x, Unary::LeakyRelu(0.2)).unwrap()), [-0.2, 0.0, 2.0, 3.0, -0.8, 0.5]);
    let gelu = read(&cpu.unary(&t(&[1, 3], &[-1.0, 0.0, 2.0]), Unary::GeluTanh).unwrap());
    close(&gelu, &[-0.158_808, 0.0, 1.954_597_7], 1e-6); // transformers' gelu_new values
    let gamma = t(&[2, 1], &[1.0, -0.5]);
    let beta = t(&[2, 1], &[0.0, 1.0]);
    assert_eq!(read(&cpu.modulate(&x, &gamma, &beta).unwrap()), [-2.0, 0.0, 4.0, 2.5, -1.0, 1.25]);
    let y = cpu.concat(&x, &t(&[1, 3], &[7.0, 8.0, 9.0])).unwrap();
    assert_eq!(cpu.shape(&y), [3, 3]);
    assert_eq!(read(&cpu.slice(&y, 1, 3).unwrap()), [3.0, -4.0, 0.5, 7.0, 8.0, 9.0]);
    assert_eq!(read(&cpu.broadcast(&gamma, 2).unwrap()), [1.0, 1.0, -0.5, -0.5]);
    assert_eq!(read(&cpu.repeat_interleave(&x, &[2, 0, 1]).unwrap()), [-1.0, -1.0, 2.0, 3.0, 3.0, 0.5]);
    let table = Weight::f32(&[3, 2], vec![0.0, 1.0, 10.0, 11.0, 20.0, 21.0]).unwrap();
    assert_eq!(read(&cpu.embedding(&table, &[2, 0, 2]).unwrap()), [20.0, 0.0, 20.0, 21.0, 1.0, 21.0]);
    assert_eq!(read(&cpu.add(&x, &x).unwrap()), read(&cpu.scale(&x, 2.0).unwrap()));

    assert!(matches!(cpu.embedding(&table, &[3]), Err(Error::InvalidArgument { .. })));
    assert!(cpu.concat(&x, &t(&[1, 2], &[0.0; 2])).is_err());
    assert!(cpu.slice(&x, 1, 3).is_err());
    assert!(cpu.repeat_interleave(&x, &[1, 1]).is_err());
    assert!(cpu.modulate(&x, &t(&[3, 1], &[0.0; 3]), &beta).is_err());
    assert!(cpu.add(&x, &gamma).is_err());
}

#[test]
fn attention_matches_the_formula() {
    let (heads, d, n) = (2, 3, 4);
    let q = wave(heads * d * n, 0.7);
    let k = wave(heads * d * n, 1.3);
    let v = wave(heads * d * n, 0.5);
    let got = read(&CpuBackend.attention(&t(&[heads * d, n], &q), &t(&[heads * d, n], &k), &t(&[heads * d, n], &v), heads).unwrap());
    for h in 0..heads {
        for i in 0..n {
            let at = |m: &[f32], c: usize, j: usize| m[(h * d + c) * n + j] as f64;
            let scores: Vec<f64> = (0..n).map(|j| (0..d).map(|c| at(&q, c, i) * at(&k, c, j)).sum::<f64>() / (d as f64).sqrt()).collect();
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            for c in 0..d {
                let want: f64 = (0..n).map(|j| (scores[j] - max).exp() / z * at(&v, c, j)).sum();
                let got = got[(h * d + c) * n + i] as f64;
                assert!((got - want).abs() < 1e-5, "head {h} step {i} channel {c}: {got} vs {want}");
            }
        }
    }
    assert!(CpuBackend.attention(&t(&[5, n], &[0.0; 20]), &t(&[5, n], &[0.0; 20]), &t(&[5, n], &[0.0; 20]), 2).is_err());
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
        let got = read(&CpuBackend.lstm(&t(&[inp, n], &x), &lw, reverse).unwrap());
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
    }
    let bad = Weight::f32(&[4 * h, h + 1], vec![0.0; 4 * h * (h + 1)]).unwrap();
    assert!(CpuBackend.lstm(&t(&[inp, n], &x), &LstmWeights { w_hh: &bad, ..lw }, false).is_err());
}
