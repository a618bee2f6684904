//! Log-mel spectra and the distance between two recordings that the project reports everywhere
//! (`tools/asr/ort_check.py` defines the same one in NumPy): 80 HTK mel bands from 0 to half the
//! sample rate over a 1024-point symmetric Hann window, hop 256, in dB; each spectrum floored 80 dB
//! below its peak; the overall gain difference (the median offset) removed; then the mean
//! absolute difference.

use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

const N_FFT: usize = 1024;
const HOP: usize = 256;
const N_MELS: usize = 80;

/// `[frames][N_MELS]` log-mel magnitudes in dB (`20·log10(max(mel, 1e-5))`).
pub fn log_mel(x: &[f32], sample_rate: u32) -> Vec<[f64; N_MELS]> {
    let bank = filter_bank(f64::from(sample_rate));
    let window: Vec<f64> = (0..N_FFT).map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (N_FFT - 1) as f64).cos()).collect();
    let fft = FftPlanner::new().plan_fft_forward(N_FFT);
    let frames = 1 + x.len().saturating_sub(N_FFT) / HOP;
    let mut buf = vec![Complex64::default(); N_FFT];
    (0..frames)
        .map(|f| {
            for (i, b) in buf.iter_mut().enumerate() {
                let v = x.get(f * HOP + i).copied().unwrap_or(0.0);
                *b = Complex64::new(f64::from(v) * window[i], 0.0);
            }
            fft.process(&mut buf);
            let mag: Vec<f64> = buf[..N_FFT / 2 + 1].iter().map(|c| c.norm()).collect();
            std::array::from_fn(|m| 20.0 * bank[m].iter().zip(&mag).map(|(w, a)| w * a).sum::<f64>().max(1e-5).log10())
        })
        .collect()
}

/// Triangular HTK-mel filters over the rfft bins, unnormalized (as the NumPy definition).
fn filter_bank(sample_rate: f64) -> Vec<Vec<f64>> {
    let hz_to_mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
    let top = hz_to_mel(sample_rate / 2.0);
    let hz: Vec<f64> = (0..N_MELS + 2).map(|i| 700.0 * (10f64.powf(top * i as f64 / (N_MELS + 1) as f64 / 2595.0) - 1.0)).collect();
    (0..N_MELS)
        .map(|m| {
            let (lo, c, hi) = (hz[m], hz[m + 1], hz[m + 2]);
            (0..=N_FFT / 2)
                .map(|k| {
                    let f = k as f64 * sample_rate / N_FFT as f64;
                    ((f - lo) / (c - lo)).min((hi - f) / (hi - c)).max(0.0)
                })
                .collect()
        })
        .collect()
}

/// Mean |log-mel difference| in dB between `a` and `b` (the shorter length of the two), gain
/// matched (see the module docs). 0 for identical audio.
pub fn log_mel_distance(a: &[f32], b: &[f32], sample_rate: u32) -> f64 {
    let n = a.len().min(b.len());
    let (ma, mb) = (log_mel(&a[..n], sample_rate), log_mel(&b[..n], sample_rate));
    let floor = |m: &[[f64; N_MELS]]| m.iter().flatten().fold(f64::NEG_INFINITY, |p, &v| p.max(v)) - 80.0;
    let (fa, fb) = (floor(&ma), floor(&mb));
    let pairs: Vec<(f64, f64)> = ma.iter().flatten().zip(mb.iter().flatten()).map(|(&x, &y)| (x.max(fa), y.max(fb))).collect();
    let mut offsets: Vec<f64> = pairs.iter().map(|(x, y)| x - y).collect();
    offsets.sort_by(f64::total_cmp);
    let median = match offsets.len() {
        0 => return 0.0,
        n if n % 2 == 1 => offsets[n / 2],
        n => 0.5 * (offsets[n / 2 - 1] + offsets[n / 2]),
    };
    pairs.iter().map(|(x, y)| (x - y - median).abs()).sum::<f64>() / pairs.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, n: usize, gain: f32) -> Vec<f32> {
        (0..n).map(|i| gain * (std::f32::consts::TAU * freq * i as f32 / 24_000.0).sin()).collect()
    }

    #[test]
    fn distance_is_zero_for_the_same_audio_and_ignores_gain() {
        let a = tone(440.0, 24_000, 0.3);
        assert_eq!(log_mel_distance(&a, &a, 24_000), 0.0);
        let louder: Vec<f32> = a.iter().map(|v| v * 2.0).collect();
        assert!(log_mel_distance(&a, &louder, 24_000) < 1e-9);
    }

    #[test]
    fn distance_grows_with_the_difference() {
        let a = tone(440.0, 24_000, 0.3);
        let noisy = |level: f32| -> Vec<f32> {
            let mut rng = crate::rng::SplitMix64(1);
            a.iter().map(|v| v + level * rng.uniform()).collect()
        };
        let (small, large) = (log_mel_distance(&a, &noisy(1e-3), 24_000), log_mel_distance(&a, &noisy(3e-2), 24_000));
        assert!(small > 0.0 && small < large, "{small} vs {large}");
        // Another pitch is far (several dB), as a garbled output would be.
        assert!(log_mel_distance(&a, &tone(1000.0, 24_000, 0.3), 24_000) > 5.0);
    }

    #[test]
    fn the_filters_tile_the_spectrum() {
        let bank = filter_bank(24_000.0);
        assert_eq!((bank.len(), bank[0].len()), (N_MELS, N_FFT / 2 + 1));
        // Each filter peaks near 1 and adjacent filters cross at 0.5-ish: every bin inside the
        // range is covered by at most two filters summing to at most 1.
        for k in 1..N_FFT / 2 {
            let s: f64 = bank.iter().map(|f| f[k]).sum();
            assert!(s <= 1.0 + 1e-9 && s > 0.0, "bin {k}: {s}");
        }
    }
}
