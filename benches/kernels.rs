//! CPU kernel throughput, each fast kernel next to its scalar twin (the ratio is the point:
//! absolute numbers move with the machine). `cargo bench --bench kernels`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::f16;
use tritone::backend::cpu::simd::{axpy, axpy_scalar, dot_scalar, matvec};
use tritone::backend::cpu::{conv1d, conv1d_axpy, conv_transpose1d_polyphase, conv_transpose1d_scatter};
use tritone::backend::{Arithmetic, Backend, Conv1dGeometry, Conv1dParams, ConvTransposeGeometry, ConvTransposeParams, CpuBackend, NormKind, ReferenceBackend, Weight};
use tritone::quant::GgmlType;

fn data(n: usize, f: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * f).sin()).collect()
}

fn vectors(c: &mut Criterion) {
    let n = 4096;
    let (x, mut y) = (data(n, 0.37), data(n, 0.11));
    let mut g = c.benchmark_group("vector");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("axpy", |b| b.iter(|| axpy(&mut y, 0.5, &x)));
    g.bench_function("axpy_scalar", |b| b.iter(|| axpy_scalar(&mut y, 0.5, &x)));
    g.finish();
    // The LSTM's recurrent product at Kokoro's shape: W_hh [4·256, 256] times h.
    let (rows, n) = (1024, 256);
    let (w, h) = (data(rows * n, 0.37), data(n, 0.11));
    let mut gates = vec![0.0; rows];
    let mut g = c.benchmark_group("matvec");
    g.throughput(Throughput::Elements((rows * n) as u64));
    g.bench_function("lstm", |b| b.iter(|| matvec(&w, &h, &mut gates)));
    g.bench_function("lstm_scalar", |b| b.iter(|| gates.iter_mut().zip(w.chunks_exact(n)).for_each(|(g, row)| *g = dot_scalar(row, &h))));
    g.finish();
}

/// Shapes of the generator's residual blocks, where 90 % of Kokoro's time goes.
fn convolutions(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv1d");
    g.sample_size(10);
    // The generator's resblocks at both stages, and ALBERT's feed-forward (a linear layer over
    // 271 tokens: the 16 s paragraph's).
    for (c_ch, c_out, k, dilation, t) in [(128usize, 128usize, 11usize, 3usize, 2400usize), (256, 256, 7, 1, 400), (768, 2048, 1, 1, 271), (768, 2048, 1, 1, 64)] {
        let p = Conv1dParams { stride: 1, padding: (k - 1) * dilation / 2, dilation };
        let geo = Conv1dGeometry::new(&[c_ch, t], &[c_out, c_ch, k], Some(&[c_out]), p).unwrap();
        let x = data(c_ch * t, 0.013);
        let w = Weight::f16(&[c_out, c_ch, k], data(c_out * c_ch * k, 0.7).into_iter().map(|v| f16::from_f32(v * 0.05)).collect()).unwrap();
        let bias = data(c_out, 0.3);
        g.throughput(Throughput::Elements(geo.macs() as u64));
        let id = format!("{c_ch}to{c_out}_k{k}_d{dilation}_t{t}");
        g.bench_with_input(BenchmarkId::new("cpu", &id), &(), |b, _| b.iter(|| conv1d(&geo, &x, &w, Some(&bias))));
        g.bench_with_input(BenchmarkId::new("axpy", &id), &(), |b, _| b.iter(|| conv1d_axpy(&geo, &x, &w, Some(&bias))));
        // int8 arithmetic: the input's quantization and the weights' per call included
        let int8 = CpuBackend::new(Arithmetic::Int8);
        let (xi, bi) = (int8.upload(&[c_ch, t], &x).unwrap(), Weight::f32(&[c_out], bias.clone()).unwrap());
        g.bench_with_input(BenchmarkId::new("int8", &id), &(), |b, _| b.iter(|| int8.conv1d(&xi, &w, Some(&bi), p).unwrap()));
        let reference = ReferenceBackend;
        let (xr, br) = (reference.upload(&[c_ch, t], &x).unwrap(), Weight::f32(&[c_out], bias.clone()).unwrap());
        g.bench_with_input(BenchmarkId::new("reference", &id), &(), |b, _| b.iter(|| reference.conv1d(&xr, &w, Some(&br), p).unwrap()));
    }
    g.finish();
}

/// The generator's upsampling (ConvTranspose1d 512→256, k 20, stride 10 and 256→128, k 12,
/// stride 6): polyphase tiles against the scatter.
fn transposed(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv_transpose1d");
    g.sample_size(10);
    for (c_in, c_out, k, stride, t) in [(512usize, 256usize, 20usize, 10usize, 100usize), (256, 128, 12, 6, 1000)] {
        let p = ConvTransposeParams { stride, padding: (k - stride) / 2, output_padding: 0, groups: 1 };
        let geo = ConvTransposeGeometry::new(&[c_in, t], &[c_in, c_out, k], Some(&[c_out]), p).unwrap();
        let x = data(c_in * t, 0.013);
        let w = Weight::f16(&[c_in, c_out, k], data(c_in * c_out * k, 0.7).into_iter().map(|v| f16::from_f32(v * 0.05)).collect()).unwrap();
        let bias = data(c_out, 0.3);
        g.throughput(Throughput::Elements((c_in * c_out * k * t) as u64));
        let id = format!("{c_in}to{c_out}_k{k}_s{stride}_t{t}");
        g.bench_with_input(BenchmarkId::new("polyphase", &id), &(), |b, _| b.iter(|| conv_transpose1d_polyphase(&geo, &x, &w, Some(&bias), |g, x, w| conv1d(g, x, w, None))));
        g.bench_with_input(BenchmarkId::new("scatter", &id), &(), |b, _| b.iter(|| conv_transpose1d_scatter(&geo, &x, &w, Some(&bias))));
    }
    g.finish();
}

/// Row decoding per weight format: the block decoders kernels use, and their scalar twins.
fn decoding(c: &mut Criterion) {
    let (rows, row_len) = (64, 1408);
    let values = data(rows * row_len, 0.77);
    let mut g = c.benchmark_group("decode_row");
    g.throughput(Throughput::Elements((rows * row_len) as u64));
    for ty in GgmlType::ALL {
        let w = Weight::quantize(&[rows, row_len], &values, ty).unwrap();
        let mut out = vec![0.0f32; rows * row_len];
        g.bench_function(BenchmarkId::new("block", ty.name()), |b| b.iter(|| w.decode_rows(0, &mut out)));
        g.bench_function(BenchmarkId::new("scalar", ty.name()), |b| b.iter(|| w.to_f32_scalar()));
    }
    g.finish();
}

/// The generator's activations and norms at its last stage's shape ([128, 17280]: 3.6 s of
/// audio), the CPU backend against the f64 reference (its ada_norm, minutes here, left out).
fn activations(c: &mut Criterion) {
    let (ch, t) = (128usize, 17280usize);
    let cpu = CpuBackend::default();
    let reference = ReferenceBackend;
    let x = data(ch * t, 0.013);
    let alpha = Weight::f32(&[ch], data(ch, 0.3).into_iter().map(|v| 1.0 + v.abs()).collect()).unwrap();
    let style = data(2 * ch, 0.21);
    let mut g = c.benchmark_group("activation");
    g.sample_size(10);
    g.throughput(Throughput::Elements((ch * t) as u64));
    let (xc, sc) = (cpu.upload(&[ch, t], &x).unwrap(), cpu.upload(&[2 * ch, 1], &style).unwrap());
    let xr = reference.upload(&[ch, t], &x).unwrap();
    g.bench_function("snake/cpu", |b| b.iter(|| cpu.snake(&xc, &alpha).unwrap()));
    g.bench_function("snake/reference", |b| b.iter(|| reference.snake(&xr, &alpha).unwrap()));
    g.bench_function("ada_norm/cpu", |b| b.iter(|| cpu.ada_norm(&xc, &sc, NormKind::Instance, 1e-5).unwrap()));
    g.finish();
}

criterion_group!(benches, vectors, convolutions, transposed, decoding, activations);
criterion_main!(benches);
