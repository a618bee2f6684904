//! The StyleTTS2 decoder (`istftnet.py` `Decoder`) and its residual block `AdainResBlk1d`,
//! which the prosody predictor's F0/N branches use too.

use super::layers::{AdaNorm, Conv1d, ConvTranspose1d};
use super::weights::WeightSource;
use crate::backend::{Backend, Conv1dParams, ConvTransposeParams, NormKind, Unary};
use crate::error::Result;

/// `AdainResBlk1d(dim_in, dim_out, upsample)`: residual (AdaIN → LeakyReLU 0.2 → [×2 depthwise
/// transposed conv] → conv k3 → AdaIN → LeakyReLU → conv k3) plus shortcut ([nearest ×2] →
/// [1×1 conv]), scaled by 1/√2.
pub struct AdainResBlk1d<B: Backend> {
    norm1: AdaNorm<B>,
    norm2: AdaNorm<B>,
    conv1: Conv1d<B>,
    conv2: Conv1d<B>,
    /// Learned shortcut when `dim_in ≠ dim_out`.
    conv1x1: Option<Conv1d<B>>,
    /// Depthwise ConvTranspose1d(k3, stride 2) when upsampling.
    pool: Option<ConvTranspose1d<B>>,
}

impl<B: Backend> AdainResBlk1d<B> {
    pub fn load(b: &B, src: &dyn WeightSource, prefix: &str, style: usize, dim_in: usize, dim_out: usize, upsample: bool) -> Result<Self> {
        let k3 = Conv1dParams { stride: 1, padding: 1, dilation: 1 };
        let p = |name: &str| format!("{prefix}.{name}");
        Ok(Self {
            norm1: AdaNorm::load(b, src, &p("norm1"), NormKind::Instance, style, dim_in)?,
            norm2: AdaNorm::load(b, src, &p("norm2"), NormKind::Instance, style, dim_out)?,
            conv1: Conv1d::load_normed(b, src, &p("conv1"), [dim_out, dim_in, 3], true, k3)?,
            conv2: Conv1d::load_normed(b, src, &p("conv2"), [dim_out, dim_out, 3], true, k3)?,
            conv1x1: (dim_in != dim_out)
                .then(|| Conv1d::load_normed(b, src, &p("conv1x1"), [dim_out, dim_in, 1], false, Conv1dParams::default()))
                .transpose()?,
            pool: upsample
                .then(|| {
                    let params = ConvTransposeParams { stride: 2, padding: 1, output_padding: 1, groups: dim_in };
                    ConvTranspose1d::load_normed(b, src, &p("pool"), [dim_in, 1, 3], params)
                })
                .transpose()?,
        })
    }

    pub fn forward(&self, b: &B, x: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let leaky = |t: &B::Tensor| b.unary(t, Unary::LeakyRelu(0.2));
        let mut r = leaky(&self.norm1.forward(b, x, style)?)?;
        if let Some(pool) = &self.pool {
            r = pool.forward(b, &r)?; // [c, 2t]
        }
        let r = self.conv1.forward(b, &r)?;
        let r = self.conv2.forward(b, &leaky(&self.norm2.forward(b, &r, style)?)?)?;
        let upsampled = self.pool.as_ref().map(|_| b.upsample_nearest(x, 2)).transpose()?;
        let shortcut = upsampled.as_ref().unwrap_or(x);
        let learned = self.conv1x1.as_ref().map(|conv| conv.forward(b, shortcut)).transpose()?;
        b.scale(&b.add(&r, learned.as_ref().unwrap_or(shortcut))?, std::f32::consts::FRAC_1_SQRT_2)
    }
}

/// `Decoder`: F0 and N curves down-sampled ×2 by strided convs, the aligned text features
/// through `encode` and four `decode` blocks (each fed the features, F0 and N again until the
/// upsampling one), then the generator. Block widths are fixed in the reference (1024, 512).
pub struct Decoder<B: Backend> {
    f0_conv: Conv1d<B>,
    n_conv: Conv1d<B>,
    encode: AdainResBlk1d<B>,
    asr_res: Conv1d<B>,
    decode: Vec<AdainResBlk1d<B>>,
}

/// Channels of `asr_res` (hard-coded in the reference).
const ASR_RES: usize = 64;

impl<B: Backend> Decoder<B> {
    pub fn load(b: &B, src: &dyn WeightSource, cfg: &super::KokoroConfig) -> Result<Self> {
        let (d, s) = (cfg.hidden_dim, cfg.style_dim);
        let down = Conv1dParams { stride: 2, padding: 1, dilation: 1 };
        let fed = 1024 + 2 + ASR_RES;
        let block = |i: usize, out, up| AdainResBlk1d::load(b, src, &format!("decoder.decode.{i}"), s, fed, out, up);
        Ok(Self {
            f0_conv: Conv1d::load_normed(b, src, "decoder.F0_conv", [1, 1, 3], true, down)?,
            n_conv: Conv1d::load_normed(b, src, "decoder.N_conv", [1, 1, 3], true, down)?,
            encode: AdainResBlk1d::load(b, src, "decoder.encode", s, d + 2, 1024, false)?,
            asr_res: Conv1d::load_normed(b, src, "decoder.asr_res.0", [ASR_RES, d, 1], true, Conv1dParams::default())?,
            decode: vec![block(0, 1024, false)?, block(1, 1024, false)?, block(2, 1024, false)?, block(3, cfg.istftnet.upsample_initial_channel, true)?],
        })
    }

    /// `asr [hidden, frames]`, F0 and N `[1, 2·frames]`, decoder style `[style, 1]` → the
    /// generator's input `[upsample_initial_channel, 2·frames]`.
    pub fn forward(&self, b: &B, asr: &B::Tensor, f0: &B::Tensor, n: &B::Tensor, style: &B::Tensor) -> Result<B::Tensor> {
        let f0 = self.f0_conv.forward(b, f0)?; // [1, frames]
        let n = self.n_conv.forward(b, n)?;
        let mut x = self.encode.forward(b, &b.concat(&[asr, &f0, &n])?, style)?;
        let asr_res = self.asr_res.forward(b, asr)?;
        let side = b.concat(&[&asr_res, &f0, &n])?; // [64 + 2, frames]
        for block in &self.decode {
            // Each block gets the side inputs again (the reference stops after the upsampling
            // block, which is the last).
            x = block.forward(b, &b.concat(&[&x, &side])?, style)?;
        }
        Ok(x)
    }
}
