//! The generator's only randomness, made reproducible: golden.py's portable generator
//! (SplitMix64 keyed by FNV-1a-64 of a stream name and the seed), so a `--seed` gives the same
//! audio on every backend and matches the reference's noise bit for bit.

use super::weights::portable_uniform;

/// `SineGen`'s initial harmonic phases (`torch.rand`, 9 values).
pub fn rand_ini(seed: u64) -> Vec<f32> {
    portable_uniform("noise.sinegen.rand_ini", 9, seed).collect()
}

/// `SineGen`'s Gaussian noise (`torch.randn_like`, `[samples, 9]`): Irwin–Hall, the sum of 12
/// uniforms (exact in f64) minus 6.
pub fn sine_noise(samples: usize, seed: u64) -> Vec<f32> {
    let u: Vec<f32> = portable_uniform("noise.sinegen.randn", 12 * samples * 9, seed).collect();
    u.chunks_exact(12).map(|c| (c.iter().map(|&x| x as f64).sum::<f64>() - 6.0) as f32).collect()
}
