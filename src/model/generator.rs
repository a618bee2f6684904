//! The ISTFTNet generator (`istftnet.py` `Generator`): the harmonic-plus-noise source from
//! F0, its STFT fed through `noise_convs` / `noise_res` into each upsampling stage,
//! transposed-conv upsampling with AdaIN residual blocks (Snake activations), and `conv_post`
//! giving log-magnitude and phase for the inverse STFT.

use crate::config::KokoroConfig;
use super::layers::{load, AdaNorm, Conv1d, ConvTranspose1d};
use super::weights::WeightSource;
use crate::audio::stft::{Spectrogram, Stft};
use crate::backend::{Backend, Conv1dParams, ConvTransposeParams, NormKind, Unary};
use crate::error::{Error, Result};

/// Sample rate the source is built for (hard-coded in the reference).
pub const SAMPLE_RATE: f32 = 24000.0;
const HARMONICS: usize = 9;
const SINE_AMP: f32 = 0.1;
const NOISE_STD: f32 = 0.003;
const VOICED_THRESHOLD: f32 = 10.0;

/// `SineGen` + `SourceModuleHnNSF`: the F0 curve (`[2·frames]`) → one source sample per output
/// sample (`f0.len() · scale`), mirroring PyTorch's f32 operation order: the source's phase
/// grows to thousands of radians, so every rounding step must match for the sines to.
///
/// `rand_ini` is the initial phase per harmonic (`torch.rand`, harmonic 0 forced to 0); `noise`
/// is the `[samples, 9]` Gaussian noise (`torch.randn_like`); `(w, bias)` is `l_linear`.
pub fn harmonic_source(f0: &[f32], scale: usize, rand_ini: &[f32], noise: &[f32], w: &[f32], bias: f32) -> Result<Vec<f32>> {
    let n = f0.len() * scale;
    if rand_ini.len() != HARMONICS || noise.len() != n * HARMONICS || w.len() != HARMONICS || scale == 0 {
        return Err(Error::InvalidArgument { op: "harmonic_source", reason: format!("{} F0 values × {scale}: noise must be [{n}, 9]", f0.len()) });
    }
    let blocks = f0.len();
    // rad = (f0 · (h + 1) / sr) % 1 per sample; F0 is constant over each block of `scale`
    // samples, and the linear ÷scale interpolation reads the block's middle pair, equal values
    // (only sample 0 carries rand_ini), so the down-sampled rad is the block's value.
    let rad = |block: usize, h: usize| -> f32 {
        let v = f0[block] * (h + 1) as f32 / SAMPLE_RATE;
        let r = v - v.floor();
        // Sample 0 also carries rand_ini (harmonics 1…), but the ÷scale interpolation never
        // reads sample 0 once scale > 1, so it has no effect (golden.py checks this too).
        if block == 0 && scale == 1 && h > 0 { r + rand_ini[h] } else { r }
    };
    // phase = cumsum(rad) · 2 · π (cumsum accumulated in f64 as torch does on the CPU), then · scale.
    let mut phase = vec![0.0f32; blocks * HARMONICS];
    for h in 0..HARMONICS {
        let mut acc = 0.0f64;
        for blk in 0..blocks {
            acc += rad(blk, h) as f64;
            phase[blk * HARMONICS + h] = (acc as f32 * 2.0) * std::f32::consts::PI * scale as f32;
        }
    }
    // Linear ×scale interpolation (align_corners=False), torch's index arithmetic in f32.
    let ratio = (1.0 / scale as f64) as f32;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let src = (ratio * (i as f32 + 0.5) - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(blocks - 1);
        let lambda1 = (src - i0 as f32).clamp(0.0, 1.0);
        let i1 = if i0 < blocks - 1 { i0 + 1 } else { i0 };
        let lambda0 = 1.0 - lambda1;
        let voiced = f0[i / scale] > VOICED_THRESHOLD;
        let uv = voiced as u8 as f32;
        let noise_amp = uv * NOISE_STD + (1.0 - uv) * SINE_AMP / 3.0;
        let mut merged = bias;
        let mut acc = 0.0f32;
        for h in 0..HARMONICS {
            // torch's x86 kernel contracts this into one fused multiply-add; so do we, or the
            // phase (thousands of radians) differs by an ulp.
            let p = phase[i0 * HARMONICS + h].mul_add(lambda0, phase[i1 * HARMONICS + h] * lambda1);
            let sine = p.sin() * SINE_AMP * uv + noise_amp * noise[i * HARMONICS + h];
            acc += w[h] * sine;
        }
        merged += acc;
        out.push(merged.tanh());
    }
    Ok(out)
}

/// A point in the generator: before upsampling stage `i` (its input: the decoder's output
/// for stage 0, the previous stage's output after it), before `conv_post`, or its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Point {
    Stage(usize),
    Post,
    Output,
}

impl Point {
    /// The latest point from which a run still uses weight `name` (a `decoder.generator.*`
    /// name; `None` for others and for the source's `m_source`, which the source spectrogram
    /// uses before stage 0), for `resblocks` residual blocks per stage.
    pub fn using(name: &str, resblocks: usize) -> Option<Point> {
        let rest = name.strip_prefix("decoder.generator.").filter(|r| !r.starts_with("m_source."))?;
        let index = |prefix: &str| rest.strip_prefix(prefix).and_then(|r| r.split('.').next()).and_then(|i| i.parse::<usize>().ok());
        Some(if rest.starts_with("conv_post") {
            Point::Post
        } else if let Some(i) = index("resblocks.") {
            Point::Stage(i / resblocks.max(1))
        } else if let Some(i) = index("ups.").or_else(|| index("noise_convs.")).or_else(|| index("noise_res.")) {
            Point::Stage(i)
        } else {
            Point::Stage(0)
        })
    }
}

/// AdaIN → Snake → conv.
struct SnakeConv<B: Backend> {
    norm: AdaNorm<B>,
    alpha: B::Weight,
    conv: Conv1d<B>,
}

impl<B: Backend> SnakeConv<B> {
    fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        self.conv.forward(b, &b.snake(&self.norm.forward(b, x, style)?, &self.alpha)?)
    }
}

/// `AdaINResBlock1`: three times (dilated SnakeConv → SnakeConv) added back to the input.
struct AdaInResBlock1<B: Backend> {
    layers: Vec<[SnakeConv<B>; 2]>,
}

impl<B: Backend> AdaInResBlock1<B> {
    fn load(b: &B, src: &dyn WeightSource, prefix: &str, style: usize, c: usize, k: usize, dilations: &[usize]) -> Result<Self> {
        let layers = dilations
            .iter()
            .enumerate()
            .map(|(j, &d)| -> Result<_> {
                let part = |n: usize, dilation: usize| -> Result<SnakeConv<B>> {
                    let params = Conv1dParams { stride: 1, padding: (k * dilation - dilation) / 2, dilation };
                    Ok(SnakeConv {
                        norm: AdaNorm::load(b, src, &format!("{prefix}.adain{n}.{j}"), NormKind::Instance, style, c)?,
                        alpha: load(b, src, &format!("{prefix}.alpha{n}.{j}"), &[1, c, 1])?,
                        conv: Conv1d::load_normed(b, src, &format!("{prefix}.convs{n}.{j}"), [c, c, k], true, params)?,
                    })
                };
                Ok([part(1, d)?, part(2, 1)?])
            })
            .collect::<Result<_>>()?;
        Ok(Self { layers })
    }

    fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let step = |x: &B::Tensor, [first, second]: &[SnakeConv<B>; 2]| -> Result<B::Tensor> {
            b.add(&second.forward(b, &first.forward(b, x, style)?, style)?, x)
        };
        let mut x = step(x, &self.layers[0])?;
        for layer in &self.layers[1..] {
            x = step(&x, layer)?;
        }
        Ok(x)
    }
}

struct Stage<B: Backend> {
    noise_conv: Conv1d<B>,
    noise_res: AdaInResBlock1<B>,
    up: ConvTranspose1d<B>,
    resblocks: Vec<AdaInResBlock1<B>>,
}

pub struct Generator<B: Backend> {
    stages: Vec<Stage<B>>,
    conv_post: Conv1d<B>,
    /// `m_source.l_linear` on the host: 9 weights and a bias.
    source_linear: (Vec<f32>, f32),
    pub stft: Stft,
    /// Output samples per input step of the generator (product of upsample rates × hop).
    pub upsample_scale: usize,
}

impl<B: Backend> Generator<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &KokoroConfig) -> Result<Self> {
        let ist = &cfg.istftnet;
        let s = cfg.style_dim;
        let p = "decoder.generator";
        let n_fft = ist.gen_istft_n_fft;
        let mut stages = Vec::new();
        let mut ch = ist.upsample_initial_channel;
        for (i, (&u, &k)) in ist.upsample_rates.iter().zip(&ist.upsample_kernel_sizes).enumerate() {
            let c_out = ch / 2;
            let up_params = ConvTransposeParams { stride: u, padding: (k - u) / 2, output_padding: 0, groups: 1 };
            let up = ConvTranspose1d::load_normed(b, src, &format!("{p}.ups.{i}"), [ch, c_out, k], up_params)?;
            let last = i + 1 == ist.upsample_rates.len();
            let (nk, nparams, res_k) = if last {
                (1, Conv1dParams::default(), 11)
            } else {
                let stride: usize = ist.upsample_rates[i + 1..].iter().product();
                (2 * stride, Conv1dParams { stride, padding: stride.div_ceil(2), dilation: 1 }, 7)
            };
            let resblocks = ist
                .resblock_kernel_sizes
                .iter()
                .zip(&ist.resblock_dilation_sizes)
                .enumerate()
                .map(|(j, (&rk, d))| AdaInResBlock1::load(b, src, &format!("{p}.resblocks.{}", i * ist.resblock_kernel_sizes.len() + j), s, c_out, rk, d))
                .collect::<Result<_>>()?;
            stages.push(Stage {
                noise_conv: Conv1d::load(b, src, &format!("{p}.noise_convs.{i}"), [c_out, n_fft + 2, nk], nparams)?,
                noise_res: AdaInResBlock1::load(b, src, &format!("{p}.noise_res.{i}"), s, c_out, res_k, &[1, 3, 5])?,
                up,
                resblocks,
            });
            ch = c_out;
        }
        let lin = src.tensor(&format!("{p}.m_source.l_linear.weight"), &[1, HARMONICS])?;
        let lin_b = src.tensor(&format!("{p}.m_source.l_linear.bias"), &[1])?;
        Ok(Self {
            stages,
            conv_post: Conv1d::load_normed(b, src, &format!("{p}.conv_post"), [n_fft + 2, ch, 7], true, Conv1dParams { stride: 1, padding: 3, dilation: 1 })?,
            source_linear: (lin.to_f32(), lin_b.to_f32()[0]),
            stft: Stft::new(n_fft, ist.gen_istft_hop_size)?,
            upsample_scale: ist.upsample_rates.iter().product::<usize>() * ist.gen_istft_hop_size,
        })
    }

    /// The source and its STFT from the F0 curve (`[2·frames]`) and the seeded noise.
    pub fn source_spectrogram(&self, f0: &[f32], rand_ini: &[f32], noise: &[f32]) -> Result<(Vec<f32>, Spectrogram)> {
        let (w, bias) = &self.source_linear;
        let source = harmonic_source(f0, self.upsample_scale, rand_ini, noise, w, *bias)?;
        let spec = self.stft.transform(&source)?;
        Ok((source, spec))
    }

    /// The network: `x [channels, 2·frames]`, decoder style, source spectrogram → `conv_post`
    /// output `[n_fft + 2, stft frames]` (log-magnitude rows, then phase rows).
    pub fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor, har: &Spectrogram) -> Result<B::Tensor> {
        self.forward_between(b, x, style, har, Point::Stage(0), Point::Output)
    }

    /// The network from `from` (`x`: its activations there) to `to` (the activations there;
    /// [`Point::Output`]: `conv_post`'s output), so a run can restart where earlier weights no
    /// longer matter.
    pub fn forward_between(&self, b: &B, x: &B::Tensor, style: &B::Tensor, har: &Spectrogram, from: Point, to: Point) -> Result<B::Tensor> {
        let stages = self.stages.len();
        let stage = |e: Point| match e {
            Point::Stage(i) if i < stages => Ok(i),
            Point::Stage(i) => Err(Error::InvalidArgument { op: "generator", reason: format!("stage {i} of {stages}") }),
            Point::Post | Point::Output => Ok(stages),
        };
        let (first, last) = (stage(from)?, stage(to)?);
        if from >= to {
            return Err(Error::InvalidArgument { op: "generator", reason: format!("from {from:?} to {to:?}") });
        }
        let har = (first < last).then(|| b.upload(&[2 * har.bins, har.frames], &[har.magnitude.as_slice(), har.phase.as_slice()].concat())).transpose()?;
        let mut out: Option<B::Tensor> = None;
        for (i, stage) in self.stages.iter().enumerate().take(last).skip(first) {
            let x = b.unary(out.as_ref().unwrap_or(x), Unary::LeakyRelu(0.1))?;
            let har = har.as_ref().expect("uploaded when a stage runs");
            let source = stage.noise_res.forward(b, &stage.noise_conv.forward(b, har)?, style)?;
            let mut x = stage.up.forward(b, &x)?;
            if i + 1 == stages {
                x = b.reflect_pad(&x, 1, 0)?;
            }
            let x = b.add(&x, &source)?;
            let mut sum = stage.resblocks[0].forward(b, &x, style)?;
            for block in &stage.resblocks[1..] {
                sum = b.add(&sum, &block.forward(b, &x, style)?)?;
            }
            out = Some(b.scale(&sum, 1.0 / stage.resblocks.len() as f32)?);
        }
        if to == Point::Output {
            return self.conv_post.forward(b, &b.unary(out.as_ref().unwrap_or(x), Unary::LeakyRelu(0.01))?);
        }
        out.ok_or_else(|| Error::InvalidArgument { op: "generator", reason: format!("nothing runs from {from:?} to {to:?}") })
    }

    /// Samples from `conv_post`'s output (read back, `[n_fft + 2, frames]` row-major):
    /// magnitude `exp` of the first half, phase `sin` of the second, inverse STFT.
    pub fn to_audio(&self, post: &[f32], frames: usize) -> Result<Vec<f32>> {
        let bins = self.stft.bins();
        if post.len() != 2 * bins * frames {
            return Err(Error::InvalidArgument { op: "to_audio", reason: format!("{} values for [{}, {frames}]", post.len(), 2 * bins) });
        }
        let (mag, phase) = post.split_at(bins * frames);
        let spec = Spectrogram { bins, frames, magnitude: mag.iter().map(|v| v.exp()).collect(), phase: phase.iter().map(|v| v.sin()).collect() };
        self.stft.inverse(&spec)
    }
}
