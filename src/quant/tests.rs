//! Every format against gguf-py's bytes, round trips, and the scalar twins.

use super::ternary::ternary_scale;
use super::tq1_0::{tq1_pack, tq1_trit};
use super::*;

/// Seeded test data without a rand crate (SplitMix64; the reference script uses the same).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(crate::rng::GOLDEN);
        crate::rng::mix(self.0)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v: Vec<u8> = (0..n.div_ceil(8)).flat_map(|_| self.next().to_le_bytes()).collect();
        v.truncate(n);
        v
    }

    /// Uniform in [-1, 1), exact in f32 (24 random bits).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 * (2.0f32).powi(-23) - 1.0
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let u1 = ((self.next() >> 11) as f64 + 0.5) * (2.0f64).powi(-53);
        let u2 = (self.next() >> 11) as f64 * (2.0f64).powi(-53);
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// FNV-1a of the f32 bit patterns, NaNs as one canonical NaN (payloads differ between
/// converters: numpy keeps signaling NaNs, half and x86's F16C quiet them).
fn hash_f32(v: &[f32]) -> u64 {
    fnv1a(v.iter().flat_map(|x| if x.is_nan() { 0x7FC0_0000u32 } else { x.to_bits() }.to_le_bytes()))
}

fn roundtrip(ty: GgmlType, x: &[f32]) -> Vec<f32> {
    let mut bytes = Vec::new();
    ty.quantize(x, &mut bytes).unwrap();
    assert_eq!(Some(bytes.len()), ty.bytes_for(x.len()));
    let mut y = vec![0.0; x.len()];
    ty.dequantize(&bytes, &mut y).unwrap();
    y
}

fn rms(v: impl Iterator<Item = f32>) -> f64 {
    let (mut s, mut n) = (0.0f64, 0usize);
    for a in v {
        s += f64::from(a) * f64::from(a);
        n += 1;
    }
    (s / n as f64).sqrt()
}

/// RMS error relative to the RMS of the data.
fn rel_rms(x: &[f32], y: &[f32]) -> f64 {
    rms(x.iter().zip(y).map(|(a, b)| a - b)) / rms(x.iter().copied())
}

fn normals(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..n).map(|_| rng.normal()).collect()
}

#[test]
fn type_table_matches_ggml() {
    // (id, gguf-py name, block size, type size) from ggml.h / gguf-py GGML_QUANT_SIZES
    let table = [
        (0, "F32", 1, 4),
        (1, "F16", 1, 2),
        (30, "BF16", 1, 2),
        (2, "Q4_0", 32, 18),
        (6, "Q5_0", 32, 22),
        (8, "Q8_0", 32, 34),
        (10, "Q2_K", 256, 84),
        (12, "Q4_K", 256, 144),
        (34, "TQ1_0", 256, 54),
        (35, "TQ2_0", 256, 66),
    ];
    for (ty, (id, name, bs, ts)) in GgmlType::ALL.into_iter().zip(table) {
        assert_eq!((ty.id(), ty.name(), ty.block_size(), ty.type_size()), (id, name, bs, ts));
        assert_eq!(GgmlType::from_id(id), Some(ty));
    }
    let structs = [
        size_of::<F32Bytes>(),
        size_of::<F16Bytes>(),
        size_of::<Bf16Bytes>(),
        size_of::<BlockQ4_0>(),
        size_of::<BlockQ5_0>(),
        size_of::<BlockQ8_0>(),
        size_of::<BlockQ2_K>(),
        size_of::<BlockQ4_K>(),
        size_of::<BlockTQ1_0>(),
        size_of::<BlockTQ2_0>(),
    ];
    for (ty, size) in GgmlType::ALL.into_iter().zip(structs) {
        assert_eq!(ty.type_size(), size, "{}", ty.name());
    }
}

#[test]
fn unknown_ids_are_none() {
    for id in [3, 4, 5, 7, 9, 11, 13, 14, 15, 16, 23, 24, 28, 29, 31, 33, 36, 39, 40, 41, 42, 1000, u32::MAX] {
        assert_eq!(GgmlType::from_id(id), None, "{id}");
    }
}

#[test]
fn bytes_for_checks_blocks_and_overflow() {
    assert_eq!(GgmlType::F32.bytes_for(3), Some(12));
    assert_eq!(GgmlType::Q8_0.bytes_for(64), Some(68));
    assert_eq!(GgmlType::TQ1_0.bytes_for(512), Some(108));
    assert_eq!(GgmlType::Q4_0.bytes_for(0), Some(0));
    assert_eq!(GgmlType::Q4_0.bytes_for(33), None);
    assert_eq!(GgmlType::Q4_K.bytes_for(255), None);
    assert_eq!(GgmlType::F32.bytes_for(usize::MAX), None);
    assert_eq!(GgmlType::Q8_0.bytes_for(usize::MAX / 32 * 32), None);
}

#[test]
fn bad_lengths_are_errors() {
    for ty in GgmlType::ALL {
        let (bs, ts) = (ty.block_size(), ty.type_size());
        let bytes = vec![0u8; 2 * ts + 1];
        let mut out = vec![0.0f32; 2 * bs];
        assert!(ty.dequantize(&bytes, &mut out).is_err(), "{} long bytes", ty.name());
        assert!(ty.dequantize(&bytes[..2 * ts - 1], &mut out).is_err(), "{} short bytes", ty.name());
        assert!(ty.dequantize(&bytes[..2 * ts], &mut out).is_ok(), "{}", ty.name());
        let mut got = vec![1u8];
        if bs > 1 {
            assert!(ty.dequantize(&bytes[..2 * ts], &mut out[..2 * bs - 1]).is_err(), "{}", ty.name());
            assert!(ty.quantize(&out[..bs + 1], &mut got).is_err(), "{}", ty.name());
            assert_eq!(got, [1], "{}: out is untouched on error", ty.name());
        }
    }
}

#[test]
fn non_finite_values_are_stored_by_float_types_and_refused_by_blocks() {
    for ty in GgmlType::ALL {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let bs = ty.block_size();
            let mut x = vec![0.5f32; 2 * bs];
            x[bs] = bad;
            let mut out = vec![7u8];
            if bs == 1 {
                let y = roundtrip(ty, &x);
                assert!(y[1].is_nan() == bad.is_nan() && (bad.is_nan() || y[1] == bad), "{}", ty.name());
            } else {
                assert!(ty.quantize(&x, &mut out).is_err(), "{} {bad}", ty.name());
                assert_eq!(out, [7], "{}: out is untouched on error", ty.name());
            }
        }
    }
}

#[test]
fn scales_beyond_f16_are_errors() {
    // finite but too large for the f16 block scale (and for F16 itself, which rounds to inf)
    let x = vec![1.0e9f32; QK_K];
    for ty in GgmlType::ALL.into_iter().filter(|t| t.block_size() > 1) {
        let mut out = Vec::new();
        assert!(ty.quantize(&x, &mut out).is_err(), "{}", ty.name());
        assert!(out.is_empty());
    }
    assert_eq!(roundtrip(GgmlType::F16, &[1.0e9, -7.0e4, 65504.0]), [f32::INFINITY, f32::NEG_INFINITY, 65504.0]);
}

#[test]
fn any_bytes_and_any_floats_never_panic() {
    let mut rng = Rng(99);
    for ty in GgmlType::ALL {
        for _ in 0..200 {
            // mostly whole blocks with the right byte count, sometimes one value or byte off
            let blocks = (rng.next() % 4) as usize;
            let n = blocks * ty.block_size() + usize::from(rng.next().is_multiple_of(4));
            let len = (blocks * ty.type_size() + (rng.next() % 8) as usize)
                .saturating_sub(4)
                .max(if rng.next().is_multiple_of(2) { blocks * ty.type_size() } else { 0 });
            let bytes = rng.bytes(len);
            let mut out = vec![0.0; n];
            let _ = ty.dequantize(&bytes, &mut out);
            let x: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.next() as u32)).collect();
            let _ = ty.quantize(&x, &mut Vec::new());
        }
        // tiny, subnormal and huge finite blocks
        for scale in [0.0f32, 1e-45, 1e-38, 1e-20, 1e4, 3e38] {
            let x: Vec<f32> = (0..QK_K).map(|_| rng.unit() * scale).collect();
            if ty.block_size() > 1 && ty.quantize(&x, &mut Vec::new()).is_ok() {
                let y = roundtrip(ty, &x);
                assert!(y.iter().all(|v| v.is_finite()), "{} at scale {scale}", ty.name());
            }
        }
    }
}

// -- round trips. Tolerances are a little above the format's worst case; a layout or rounding
//    bug moves values by whole steps or between positions and exceeds them.

#[test]
fn float_types_round_trip() {
    let mut rng = Rng(1);
    let x: Vec<f32> = (0..4096).map(|i| rng.unit() * (2.0f32).powi(i % 24 - 12)).collect();
    assert_eq!(roundtrip(GgmlType::F32, &x), x);
    // F16: half an ulp, 2^-11 relative for normals, 2^-25 absolute below 2^-14 (subnormal step)
    for (a, b) in x.iter().zip(roundtrip(GgmlType::F16, &x)) {
        assert!((a - b).abs() <= a.abs() * 2f32.powi(-11) + 2f32.powi(-25), "F16 {a} -> {b}");
    }
    // BF16: half an ulp of an 8-bit significand
    for (a, b) in x.iter().zip(roundtrip(GgmlType::BF16, &x)) {
        assert!((a - b).abs() <= a.abs() * 2f32.powi(-8), "BF16 {a} -> {b}");
    }
    // values already representable come back exactly
    let h: Vec<f32> = (0..=u16::MAX).map(|b| f16::from_bits(b).to_f32()).filter(|v| !v.is_nan()).collect();
    assert_eq!(roundtrip(GgmlType::F16, &h), h);
    let bf: Vec<f32> = (0..=u16::MAX).map(|b| f32::from_bits(u32::from(b) << 16)).filter(|v| !v.is_nan()).collect();
    assert_eq!(roundtrip(GgmlType::BF16, &bf), bf);
    // BF16 decodes by a plain shift, as ggml does, signaling NaNs included
    let mut y = [0.0f32; 2];
    GgmlType::BF16.dequantize(&[0x81, 0x7F, 0x80, 0xFF], &mut y).unwrap();
    assert_eq!(y.map(f32::to_bits), [0x7F81_0000, 0xFF80_0000]);
}

/// Q8_0, Q4_0, Q5_0: `bound` in units of the block's |d| (before f16 rounding, which adds
/// ≤ max_level·2^-11 of d): Q8_0 rounds to nearest (½); Q4_0/Q5_0 truncate x/d + ½ (½), except
/// that the value opposite the absmax is capped one level short (1).
#[test]
fn legacy_types_round_trip() {
    for (ty, levels, bound, rms_bound) in [
        (GgmlType::Q8_0, 127.0f32, 0.5f32, 0.006f64),
        (GgmlType::Q4_0, 8.0, 1.0, 0.08),
        (GgmlType::Q5_0, 16.0, 1.0, 0.04),
    ] {
        let mut rng = Rng(2);
        let x: Vec<f32> = (0..32 * 64).map(|i| rng.unit() * (2.0f32).powi(i / 32 % 9 - 4)).collect();
        let y = roundtrip(ty, &x);
        for (xs, ys) in x.chunks(32).zip(y.chunks(32)) {
            let d = xs.iter().fold(0.0f32, |m, v| m.max(v.abs())) / levels;
            for (a, b) in xs.iter().zip(ys) {
                let tol = d * (bound + levels * 2f32.powi(-11));
                assert!((a - b).abs() <= tol, "{}: {a} -> {b}, d {d}", ty.name());
            }
        }
        // uniform data: RMS error ≈ step/√12 = range/(2·levels·√12) → 1/(2·levels) of the RMS
        let r = rel_rms(&x, &y);
        assert!(r < rms_bound, "{}: relative RMS {r}", ty.name());
    }
}

#[test]
fn legacy_types_keep_representable_values() {
    let mut rng = Rng(3);
    for (ty, lo, hi) in [(GgmlType::Q8_0, -127, 127), (GgmlType::Q4_0, -8, 7), (GgmlType::Q5_0, -16, 15)] {
        for _ in 0..20 {
            let d = f16::from_f32(rng.unit().abs() + 0.01).to_f32();
            let span = (hi - lo + 1) as u64;
            let mut q: Vec<i32> = (0..32).map(|_| lo + (rng.next() % span) as i32).collect();
            // the extreme level sets the scale: -127/127 for Q8_0, the lowest level for Q4_0/Q5_0
            q[(rng.next() % 32) as usize] = lo;
            let x: Vec<f32> = q.iter().map(|&l| l as f32 * d).collect();
            assert_eq!(roundtrip(ty, &x), x, "{}", ty.name());
        }
    }
}

/// Q4_K and Q2_K on Gaussian data: a 4-bit (2-bit) affine fit per 32 (16) values with 6-bit
/// (4-bit) scales lands at 0.0715 (0.2645) relative RMS here, ggml's reference quantizer near
/// 0.0713 (0.297); a misplaced nibble, scale or min multiplies it, and a single-start fit
/// (0.0736 for Q4_K) also fails the bound.
#[test]
fn k_types_round_trip() {
    let cases = [(GgmlType::Q4_K, 0.073f64, 32, 0.1f32), (GgmlType::Q2_K, 0.27, 16, 0.4)];
    for (ty, rms_bound, sub, max_bound) in cases {
        let x = normals(4, QK_K * 64);
        let y = roundtrip(ty, &x);
        let r = rel_rms(&x, &y);
        println!("{} relative RMS on N(0,1): {r:.4}", ty.name());
        assert!(r < rms_bound, "{}: relative RMS {r}", ty.name());
        // worst error per value in units of its sub-block's range (which includes 0): about one
        // level step, range/15 (range/3), at most; measured 0.06 (0.27) over several seeds
        for (xs, ys) in x.chunks(sub).zip(y.chunks(sub)) {
            let range = xs.iter().fold(0.0f32, |m, &v| m.max(v)) - xs.iter().fold(0.0f32, |m, &v| m.min(v));
            for (a, b) in xs.iter().zip(ys) {
                assert!((a - b).abs() <= range * max_bound, "{}: {a} -> {b}, range {range}", ty.name());
            }
        }
    }
    // a constant block and an all-zero block decode exactly (min only, scale 0)
    for ty in [GgmlType::Q4_K, GgmlType::Q2_K] {
        assert_eq!(roundtrip(ty, &[0.0; QK_K]), [0.0; QK_K]);
        let y = roundtrip(ty, &[-0.75; QK_K]);
        assert!(y.iter().all(|&v| (v + 0.75).abs() < 1e-3), "{}: {}", ty.name(), y[0]);
    }
}

/// The ternary types: d·{−1,0,1} blocks come back exactly; Gaussian blocks keep far more than
/// ggml's absmax scale does (measured here, printed with --nocapture).
#[test]
fn ternary_types_round_trip() {
    let mut rng = Rng(5);
    for ty in [GgmlType::TQ1_0, GgmlType::TQ2_0] {
        for _ in 0..20 {
            let d = f16::from_f32(rng.unit().abs() * 4.0 + 1e-3).to_f32();
            let mut x: Vec<f32> = (0..QK_K).map(|_| ((rng.next() % 3) as f32 - 1.0) * d).collect();
            x[7] = d; // at least one non-zero
            assert_eq!(roundtrip(ty, &x), x, "{}", ty.name());
        }
        assert_eq!(roundtrip(ty, &[0.0; QK_K]), [0.0; QK_K]);
    }
    // every TQ1_0 byte value and every digit string: decoding inverts packing
    for q in 0..243u16 {
        let digits = [81, 27, 9, 3, 1].map(|p| (q / p % 3) as u8);
        let byte = tq1_pack(digits);
        for (n, &t) in digits.iter().enumerate() {
            assert_eq!(tq1_trit(byte, n), f32::from(t) - 1.0, "q {q} trit {n}");
        }
    }

    let x = normals(6, QK_K * 64);
    let ours = roundtrip(GgmlType::TQ2_0, &x);
    assert_eq!(roundtrip(GgmlType::TQ1_0, &x), ours);
    let absmax: Vec<f32> = x
        .chunks(QK_K)
        .flat_map(|b| {
            let amax = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = f16::from_f32(amax).to_f32();
            b.iter().map(move |v| (v / amax).round() * d)
        })
        .collect();
    let (r_ours, r_absmax) = (rel_rms(&x, &ours), rel_rms(&x, &absmax));
    let zeros = |y: &[f32]| y.iter().filter(|v| **v == 0.0).count() as f64 / y.len() as f64;
    println!(
        "ternary relative RMS on N(0,1): ours {r_ours:.4} ({:.1}% zeros), absmax {r_absmax:.4} ({:.1}% zeros)",
        100.0 * zeros(&ours),
        100.0 * zeros(&absmax)
    );
    // optimal 3-level quantizer of a Gaussian: ≈ 0.19 of the variance left → ≈ 0.44 RMS
    assert!(r_ours < 0.46, "{r_ours}");
    assert!(r_absmax > 0.75, "{r_absmax}");
}

/// The scale search picks the k maximizing S_k²/k: brute force over all d on a fine grid
/// never does better.
#[test]
fn ternary_scale_is_least_squares_optimal() {
    let mut rng = Rng(7);
    for _ in 0..5 {
        let x: [f32; QK_K] = std::array::from_fn(|_| rng.normal());
        let err = |d: f32| x.iter().map(|&v| (v - (v / d).round().clamp(-1.0, 1.0) * d).powi(2)).sum::<f32>();
        let ours = err(ternary_scale(&x));
        for i in 1..400 {
            let d = i as f32 * 0.01;
            assert!(ours <= err(d) * 1.0001, "d {d}: {} < ours {ours}", err(d));
        }
    }
}

// -- gguf-py 0.17.1 references. Generated by a throwaway script (same SplitMix64 and FNV-1a):
//    dequantize: `gguf.quants.dequantize(reference_bytes(ty), ty)`;
//    quantize: `gguf.quants.quantize(quant_input(ty), ty)` bytes (TQ: ggml's absmax quantizer).

/// (type, first three dequantized values, FNV-1a of all dequantized f32 bits, FNV-1a of the
/// quantized bytes where gguf-py quantizes).
const GGUF_PY: [(GgmlType, [f32; 3], u64, Option<u64>); 10] = [
    (GgmlType::F32, [4.2940237e08, 0.00968803, -8.4089666e12], 0xf0e8bf87771a5b6d, None),
    (GgmlType::F16, [1.0418892e-04, -15920.0, 1.4722347e-05], 0xb8d84d7f715ae078, Some(0xc7943e4f3801aba9)),
    (GgmlType::BF16, [757760.0, 4.4855852e18, -2.9336661e-08], 0xd31a4d35f6bf9bf8, Some(0x9247b8b1861e4385)),
    (GgmlType::Q8_0, [79.921875, -101.71875, -39.960938], 0x5a70d3212e2dcef2, Some(0x1d5685f6e645bb47)),
    (GgmlType::Q4_0, [-1.2470703, -2.4941406, -4.364746], 0x802ee4db3ff45ae2, Some(0x3e6dc285aaf2737b)),
    (GgmlType::Q5_0, [-0.0, 0.63674927, 0.24490356], 0xf479a8be468621db, Some(0xc8065fd4e526a3d5)),
    (GgmlType::Q4_K, [0.16512108, 0.36820793, 0.706686], 0x9d0480ff6eff1a83, None),
    (GgmlType::Q2_K, [-0.12180233, -0.001502037, -0.001502037], 0x81e9e9cc9af890f2, None),
    (GgmlType::TQ1_0, [-0.0, -3.7837029e-04, -3.7837029e-04], 0x63e6196751b3e505, Some(0x9069fbb4fa36e663)),
    (GgmlType::TQ2_0, [1.2648106e-04, 0.0, 2.529621e-04], 0x45b99edecb77263b, Some(0x90b8adfb45e1dc69)),
];

/// 64 values of float types, 4 blocks of 32-blocks, 2 blocks of 256-blocks.
fn reference_len(ty: GgmlType) -> usize {
    match ty.block_size() {
        1 => 64,
        32 => 128,
        bs => 2 * bs,
    }
}

/// Random bytes from seed 1000 + id, with the top exponent bit of each f16 scale cleared so
/// scales are finite (|d| < 2) and every value is checked.
fn reference_bytes(ty: GgmlType) -> Vec<u8> {
    let scale_offsets: &[usize] = match ty {
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => &[0],
        GgmlType::Q4_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::TQ1_0 => &[52],
        GgmlType::TQ2_0 => &[64],
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => &[],
    };
    let n = reference_len(ty);
    let mut bytes = Rng(1000 + u64::from(ty.id())).bytes(ty.bytes_for(n).unwrap());
    for block in bytes.chunks_mut(ty.type_size()) {
        for &off in scale_offsets {
            block[off + 1] &= 0xBF;
        }
    }
    bytes
}

/// Uniform values from seed 2000 + id: blocks scaled by 2^-4, 1, 8 and 0 in turn; float types
/// scaled by 2^-16 … 2^12 (F16 subnormals to near its top). `+ 0.0` turns −0 into +0: for an
/// all-zero Q4_0/Q5_0 block gguf-py takes the sign of the scale from the first zero, ggml's C
/// (and we) always store −0; both decode to zeros.
fn quant_input(ty: GgmlType) -> Vec<f32> {
    let mut rng = Rng(2000 + u64::from(ty.id()));
    let bs = ty.block_size();
    (0..reference_len(ty))
        .map(|i| {
            let scale =
                if bs == 1 { (2.0f32).powi((i % 8) as i32 * 4 - 16) } else { [0.0625, 1.0, 8.0, 0.0][i / bs % 4] };
            rng.unit() * scale + 0.0
        })
        .collect()
}

#[test]
fn dequantize_matches_gguf_py() {
    for (ty, first, hash, _) in GGUF_PY {
        let bytes = reference_bytes(ty);
        let mut y = vec![0.0f32; reference_len(ty)];
        ty.dequantize(&bytes, &mut y).unwrap();
        assert_eq!(y[..3], first, "{}", ty.name());
        assert_eq!(hash_f32(&y), hash, "{}", ty.name());
    }
}

#[test]
fn quantize_matches_gguf_py() {
    for (ty, _, _, hash) in GGUF_PY {
        let Some(hash) = hash else { continue };
        let mut x = quant_input(ty);
        if matches!(ty, GgmlType::TQ1_0 | GgmlType::TQ2_0) {
            // ggml's absmax trits; our scale search recovers exactly that d from them, so the
            // bytes show the layout is ggml's
            for b in x.chunks_mut(QK_K) {
                let amax = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let (id, d) = (if amax > 0.0 { 1.0 / amax } else { 0.0 }, f16::from_f32(amax).to_f32());
                b.iter_mut().for_each(|v| *v = (*v * id).round() * d);
            }
        }
        let mut bytes = Vec::new();
        ty.quantize(&x, &mut bytes).unwrap();
        assert_eq!(fnv1a(bytes), hash, "{}", ty.name());
    }
}

/// The block decoders (the kernels' path) equal each format's scalar definition, bit for bit,
/// on random bytes (scales kept finite).
#[test]
fn block_decoders_match_their_scalar_twins() {
    for ty in GgmlType::ALL {
        let bytes = reference_bytes(ty);
        let n = reference_len(ty);
        let w = Weight::from_bytes(&[1, n], ty, bytes::Bytes::from(bytes)).unwrap();
        let (fast, twin) = (w.to_f32(), w.to_f32_scalar());
        for (i, (a, b)) in fast.iter().zip(&twin).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{} value {i}: {a} vs {b}", ty.name());
        }
    }
}

/// Rows that are not block multiples are padded with zeros per row, so each row decodes alone
/// and equals the row quantized by itself.
#[test]
fn padded_rows_decode_alone() {
    let (rows, row_len) = (3, 300);
    let values = normals(7, rows * row_len);
    for ty in GgmlType::ALL {
        let w = Weight::quantize(&[rows, 3, 100], &values, ty).unwrap();
        let padded = row_len.next_multiple_of(ty.block_size());
        assert_eq!((w.rows(), w.row_len(), w.row_bytes()), (rows, row_len, ty.bytes_for(padded).unwrap()), "{}", ty.name());
        for r in 0..rows {
            let mut alone = values[r * row_len..(r + 1) * row_len].to_vec();
            alone.resize(padded, 0.0);
            let want = roundtrip(ty, &alone);
            let mut got = vec![0.0; row_len];
            w.decode_row(r, &mut got);
            assert_eq!(got, want[..row_len], "{} row {r}", ty.name());
        }
        assert_eq!(w.to_f32(), w.to_f32_scalar(), "{}", ty.name());
    }
}

#[test]
fn packed_weights_refuse_inconsistent_bytes() {
    let e = Weight::from_bytes(&[2, 300], GgmlType::Q4_K, bytes::Bytes::from(vec![0u8; 144 * 3])).unwrap_err().to_string();
    assert!(e.contains("2 rows of 288 bytes") && e.contains("got 432"), "{e}");
    assert!(Weight::from_bytes(&[usize::MAX, 2], GgmlType::F32, bytes::Bytes::new()).is_err());
    assert!(Weight::quantize(&[2, 2], &[1.0, 2.0, 3.0], GgmlType::Q8_0).is_err());
    assert!(Weight::quantize(&[1, 32], &[f32::NAN; 32], GgmlType::Q8_0).is_err());
}

#[test]
fn block_levels_are_what_blocks_decode() {
    // Any levels written into a block decode to `step·L + offset` of that element's grid.
    let mut rng = Rng(11);
    for ty in GgmlType::ALL.into_iter().filter(|t| t.block_size() > 1) {
        let n = ty.block_size();
        let x: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        let (decoded, expected) = with_grid_block!(
            ty,
            |B, N| {
                let block = B::encode(x.as_slice().try_into().unwrap()).unwrap();
                let levels: [u8; N] = std::array::from_fn(|j| (rng.next() % (u64::from(block.levels(j).max) + 1)) as u8);
                let mut y = [0.0f32; N];
                block.with_levels(&levels).decode(&mut y);
                (y.to_vec(), (0..N).map(|j| block.levels(j).value(levels[j])).collect::<Vec<_>>())
            },
            unreachable!()
        );
        let scale = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (j, (a, b)) in decoded.iter().zip(&expected).enumerate() {
            assert!((a - b).abs() <= 1e-5 * scale, "{}: element {j} decodes {a}, its levels say {b}", ty.name());
        }
        // The encoder's own choice is the nearest level for the K and ternary types.
        if matches!(ty, GgmlType::Q2_K | GgmlType::Q4_K | GgmlType::TQ1_0 | GgmlType::TQ2_0) {
            with_grid_block!(
                ty,
                |B, N| {
                    let block = B::encode(x.as_slice().try_into().unwrap()).unwrap();
                    let nearest: [u8; N] = std::array::from_fn(|j| block.levels(j).nearest(x[j]));
                    assert_eq!(bytemuck::bytes_of(&block.with_levels(&nearest)), bytemuck::bytes_of(&block), "{}", ty.name());
                },
                unreachable!()
            )
        }
    }
}
