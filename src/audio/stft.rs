//! `torch.stft` / `torch.istft` as Kokoro's `TorchSTFT` calls them: periodic Hann window of
//! `n_fft`, `center=True` with reflect padding, one-sided spectra.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::error::{Error, Result};

pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
}

/// Magnitude and phase, `[bins, frames]` row-major (`bins = n_fft / 2 + 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    pub bins: usize,
    pub frames: usize,
    pub magnitude: Vec<f32>,
    pub phase: Vec<f32>,
}

impl Stft {
    pub fn new(n_fft: usize, hop: usize) -> Result<Self> {
        if n_fft < 2 || !n_fft.is_multiple_of(2) || hop == 0 || hop > n_fft {
            return Err(Error::InvalidArgument { op: "stft", reason: format!("n_fft {n_fft} (even, ≥ 2) and hop {hop} (1..=n_fft)") });
        }
        // torch.hann_window(n_fft, periodic=True) as Kokoro builds it, in torch's f32 steps:
        // t = n · f32(2π / n_fft), w = cos(t) · −0.5 + 0.5. The f32 rounding makes the window
        // slightly asymmetric, which decides the sign of the (otherwise zero) imaginary parts of
        // the first, symmetric frame — and so whether those phases are +π or −π.
        let step = (2.0 * std::f64::consts::PI / n_fft as f64) as f32;
        let window = (0..n_fft).map(|i| ((i as f32 * step) as f64).cos() as f32 * -0.5 + 0.5).collect();
        let mut planner = FftPlanner::new();
        Ok(Self { n_fft, hop, window, forward: planner.plan_fft_forward(n_fft), inverse: planner.plan_fft_inverse(n_fft) })
    }

    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// `torch.stft(x, n_fft, hop, n_fft, window, center=True, pad_mode="reflect")` as
    /// magnitude and phase (`torch.abs`, `torch.angle`).
    pub fn transform(&self, x: &[f32]) -> Result<Spectrogram> {
        let pad = self.n_fft / 2;
        if x.len() <= pad {
            return Err(Error::InvalidArgument { op: "stft", reason: format!("{} samples are too few to reflect-pad by {pad}", x.len()) });
        }
        // Reflect padding: x[pad], …, x[1], x[0], x[1], …, x[n-2], …, x[n-1-pad].
        let n = x.len();
        let padded: Vec<f32> = (0..n + 2 * pad)
            .map(|i| {
                let j = i as isize - pad as isize;
                let j = if j < 0 { -j } else if j >= n as isize { 2 * (n as isize - 1) - j } else { j };
                x[j as usize]
            })
            .collect();
        let frames = 1 + n / self.hop;
        let bins = self.bins();
        let (mut magnitude, mut phase) = (vec![0.0; bins * frames], vec![0.0; bins * frames]);
        let mut buf = vec![Complex32::new(0.0, 0.0); self.n_fft];
        for f in 0..frames {
            let frame = &padded[f * self.hop..f * self.hop + self.n_fft];
            for ((b, &s), &w) in buf.iter_mut().zip(frame).zip(&self.window) {
                *b = Complex32::new(s * w, 0.0);
            }
            self.forward.process(&mut buf);
            for k in 0..bins {
                let mut c = buf[k];
                // DC and Nyquist of a real signal are real; make the zero imaginary part +0 so
                // the angle is 0 or +π, as torch reports.
                if k == 0 || k == bins - 1 {
                    c.im = 0.0;
                }
                magnitude[k * frames + f] = c.norm();
                phase[k * frames + f] = c.im.atan2(c.re);
            }
        }
        Ok(Spectrogram { bins, frames, magnitude, phase })
    }

    /// `torch.istft(magnitude · e^{i·phase}, n_fft, hop, n_fft, window, center=True)`: per frame
    /// an inverse real FFT (the imaginary parts of DC and Nyquist ignored), windowed overlap-add,
    /// division by the summed squared window, `n_fft / 2` samples trimmed from each end.
    pub fn inverse(&self, spec: &Spectrogram) -> Result<Vec<f32>> {
        let bins = self.bins();
        if spec.bins != bins || spec.frames == 0 || spec.magnitude.len() != bins * spec.frames || spec.phase.len() != spec.magnitude.len() {
            return Err(Error::InvalidArgument { op: "istft", reason: format!("spectrogram must be [{bins}, frames], got [{}, {}]", spec.bins, spec.frames) });
        }
        let frames = spec.frames;
        let total = self.n_fft + self.hop * (frames - 1);
        let mut out = vec![0.0f32; total];
        let mut envelope = vec![0.0f32; total];
        let mut buf = vec![Complex32::new(0.0, 0.0); self.n_fft];
        let scale = 1.0 / self.n_fft as f32;
        for f in 0..frames {
            for k in 0..bins {
                let (m, p) = (spec.magnitude[k * frames + f], spec.phase[k * frames + f]);
                let mut c = Complex32::new(m * p.cos(), m * p.sin());
                if k == 0 || k == bins - 1 {
                    c.im = 0.0;
                }
                buf[k] = c;
                if k > 0 && k < bins - 1 {
                    buf[self.n_fft - k] = c.conj();
                }
            }
            self.inverse.process(&mut buf);
            for (i, (b, &w)) in buf.iter().zip(&self.window).enumerate() {
                out[f * self.hop + i] += b.re * scale * w;
                envelope[f * self.hop + i] += w * w;
            }
        }
        let pad = self.n_fft / 2;
        Ok(out[pad..total - pad].iter().zip(&envelope[pad..total - pad]).map(|(v, e)| if *e > 1e-11 { v / e } else { *v }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_transform() {
        let stft = Stft::new(20, 5).unwrap();
        let x: Vec<f32> = (0..400).map(|i| (i as f32 * 0.13).sin() + 0.3 * (i as f32 * 0.71).cos()).collect();
        let spec = stft.transform(&x).unwrap();
        assert_eq!((spec.bins, spec.frames), (11, 81));
        let y = stft.inverse(&spec).unwrap();
        assert_eq!(y.len(), x.len());
        let err = x.iter().zip(&y).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 2e-6, "round trip error {err}");
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(Stft::new(21, 5).is_err());
        assert!(Stft::new(20, 0).is_err());
        assert!(Stft::new(20, 5).unwrap().transform(&[0.0; 10]).is_err());
    }
}
