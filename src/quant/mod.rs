//! Weight storage formats, one file per format: ggml's blocks laid out byte for byte as
//! `ggml-common.h` declares them, each with a block decoder that gives ggml's `dequantize_row_*`
//! results bit for bit, its scalar twin (one element from the format's definition, which tests
//! hold the decoder to), a compile-time size check, and a quantizer. [`Weight`] is a packed
//! tensor of rows in one of these formats; kernels decode it a row at a time.
//!
//! Quantizers: Q8_0, Q4_0 and Q5_0 follow ggml's reference quantizers, so they write the bytes
//! gguf-py's `gguf.quants.quantize` writes. Q4_K and Q2_K fit their scales by least squares
//! (`kquant::fit_scale_min`) instead of ggml's search. TQ1_0 and TQ2_0 keep ggml's layout with our
//! own per-block scale (`ternary::ternary_scale`): ggml's absmax scale zeroes most of a Gaussian
//! block.
//!
//! Non-finite values: F32, F16 and BF16 store them (F16 and BF16 round to nearest even; values
//! beyond their range become ±inf, as in ggml). Block types refuse them, and refuse values whose
//! block scale overflows f16, because one such value would spoil its whole block; `out` is left
//! unchanged on error. All multi-byte fields are little-endian, as GGUF stores them.

mod bfloat16;
mod fp16;
mod fp32;
#[cfg(not(target_arch = "wasm32"))]
pub mod gptq;
mod kquant;
mod q2_k;
mod q4_0;
mod q4_k;
mod q5_0;
mod q8_0;
mod ternary;
#[cfg(test)]
mod tests;
mod tq1_0;
mod tq2_0;
mod weight;

use bytemuck::{Pod, Zeroable};
use half::{bf16, f16};

use crate::error::{Error, Result};
use bfloat16::Bf16Bytes;
use fp16::F16Bytes;
use fp32::F32Bytes;
use kquant::{fit_scale_min, quantize_scales};
use q2_k::BlockQ2_K;
use q4_0::BlockQ4_0;
use q4_k::BlockQ4_K;
use q5_0::BlockQ5_0;
use q8_0::BlockQ8_0;
use ternary::ternary_digits;
use tq1_0::BlockTQ1_0;
use tq2_0::BlockTQ2_0;

pub use weight::{padded_row_len, Weight};

/// Elements per super-block of the K and ternary types (ggml's `QK_K`).
const QK_K: usize = 256;

/// The ggml tensor types tritone reads and writes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q5_0,
    Q8_0,
    Q2_K,
    Q4_K,
    TQ1_0,
    TQ2_0,
}

impl GgmlType {
    /// Every type, in declaration order.
    pub const ALL: [GgmlType; 10] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q5_0,
        GgmlType::Q8_0,
        GgmlType::Q2_K,
        GgmlType::Q4_K,
        GgmlType::TQ1_0,
        GgmlType::TQ2_0,
    ];

    /// The type with ggml id `id` (`enum ggml_type`), if it is one of ours.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        GgmlType::ALL.into_iter().find(|t| t.id() == id)
    }

    /// ggml's type id (`enum ggml_type`), as GGUF tensor infos store it.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q5_0 => 6,
            GgmlType::Q8_0 => 8,
            GgmlType::Q2_K => 10,
            GgmlType::Q4_K => 12,
            GgmlType::BF16 => 30,
            GgmlType::TQ1_0 => 34,
            GgmlType::TQ2_0 => 35,
        }
    }

    /// The name gguf-py's `GGMLQuantizationType` gives the type.
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::BF16 => "BF16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q5_0 => "Q5_0",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q2_K => "Q2_K",
            GgmlType::Q4_K => "Q4_K",
            GgmlType::TQ1_0 => "TQ1_0",
            GgmlType::TQ2_0 => "TQ2_0",
        }
    }

    /// Elements per block.
    pub fn block_size(self) -> usize {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => 32,
            GgmlType::Q2_K | GgmlType::Q4_K | GgmlType::TQ1_0 | GgmlType::TQ2_0 => QK_K,
        }
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 18,
            GgmlType::Q5_0 => 22,
            GgmlType::Q8_0 => 34,
            GgmlType::Q2_K => 84,
            GgmlType::Q4_K => 144,
            GgmlType::TQ1_0 => 54,
            GgmlType::TQ2_0 => 66,
        }
    }

    /// Bytes of `n` elements; None when n is not a multiple of block_size or on overflow.
    pub fn bytes_for(self, n: usize) -> Option<usize> {
        if !n.is_multiple_of(self.block_size()) {
            return None;
        }
        (n / self.block_size()).checked_mul(self.type_size())
    }

    /// Decodes `bytes` (exactly bytes_for(out.len()) long) into `out`; error otherwise. Never panics.
    pub fn dequantize(self, bytes: &[u8], out: &mut [f32]) -> Result<()> {
        let Some(expected) = self.bytes_for(out.len()) else {
            return Err(self.not_whole_blocks("dequantize", out.len()));
        };
        if bytes.len() != expected {
            return Err(invalid(
                "dequantize",
                format!("{}: {} values need {expected} bytes, got {}", self.name(), out.len(), bytes.len()),
            ));
        }
        with_block!(self, |B, N| decode_all::<B, N>(bytes, out))
    }

    /// Encodes `values` (len a multiple of block_size) appending to `out`; error otherwise.
    /// Block types also refuse non-finite values and scales beyond f16 (see the module docs).
    pub fn quantize(self, values: &[f32], out: &mut Vec<u8>) -> Result<()> {
        if !values.len().is_multiple_of(self.block_size()) {
            return Err(self.not_whole_blocks("quantize", values.len()));
        }
        if self.block_size() > 1 {
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(invalid(
                    "quantize",
                    format!("{}: value {i} is {v}; blocks need finite values", self.name()),
                ));
            }
        }
        let start = out.len();
        let result = with_block!(self, |B, N| encode_all::<B, N>(values, out));
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn not_whole_blocks(self, op: &'static str, n: usize) -> Error {
        invalid(op, format!("{}: {n} values is not a multiple of the block size {}", self.name(), self.block_size()))
    }
}

// ---------------------------------------------------------------------------------------------
// Shared machinery

/// One block of a type: its bytes (a `Pod` struct of byte fields, so any byte slice of whole
/// blocks casts to it) and the `N` values it holds.
trait Block<const N: usize>: Pod {
    const TYPE: GgmlType;
    /// All `N` values (the fast path kernels use).
    fn decode(&self, y: &mut [f32; N]);
    /// Value `j < N` alone, written from the format's definition: the scalar twin of `decode`.
    fn value(&self, j: usize) -> f32;
    fn encode(x: &[f32; N]) -> Result<Self>;
}

/// The values one element of a block can take once the block's scales are set: `step·L + offset`
/// for `L ∈ 0..=max`. Every ggml block type is such a grid; error-compensating rounding
/// ([`gptq`]) picks each element's level itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Levels {
    pub step: f32,
    pub offset: f32,
    pub max: u8,
}

impl Levels {
    /// The level nearest to `x` (0 when the step is 0: every level is then the offset). The step
    /// may be negative (Q4_0 and Q5_0 store a signed scale).
    pub fn nearest(&self, x: f32) -> u8 {
        if self.step != 0.0 {
            ((x - self.offset) / self.step).round().clamp(0.0, f32::from(self.max)) as u8
        } else {
            0
        }
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub fn value(&self, level: u8) -> f32 {
        self.step * f32::from(level) + self.offset
    }
}

/// A block type whose scales, once set by `encode`, fix each element's [`Levels`].
trait GridBlock<const N: usize>: Block<N> {
    /// The levels element `j < N` may take in this block.
    fn levels(&self, j: usize) -> Levels;
    /// This block's scales with element `j` at level `levels[j]` (each ≤ its `max`).
    fn with_levels(&self, levels: &[u8; N]) -> Self;
    /// The block's f16 super-scales: `d`, and `dmin` where the format has one (else 0). With the
    /// levels and sub-scales set, every value is linear in them.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))] // the refit is native-only, as GPTQ
    fn scales(&self) -> [f32; 2];
    /// This block with super-scales `s` (rounded to f16; those the format lacks are ignored);
    /// None when one overflows f16.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    fn with_scales(&self, s: [f32; 2]) -> Option<Self>;
}

/// Dispatches on `$ty`: `$blocks` with `$B` bound to the block type and `$N` to its values per
/// block for the block types, `$floats` with `$F` bound to the element type for F32, F16, BF16.
macro_rules! match_type {
    ($ty:expr, |$B:ident, $N:ident| $blocks:expr, |$F:ident| $floats:expr) => {
        match $ty {
            GgmlType::F32 => { type $F = $crate::quant::F32Bytes; $floats }
            GgmlType::F16 => { type $F = $crate::quant::F16Bytes; $floats }
            GgmlType::BF16 => { type $F = $crate::quant::Bf16Bytes; $floats }
            GgmlType::Q4_0 => { type $B = $crate::quant::BlockQ4_0; const $N: usize = 32; $blocks }
            GgmlType::Q5_0 => { type $B = $crate::quant::BlockQ5_0; const $N: usize = 32; $blocks }
            GgmlType::Q8_0 => { type $B = $crate::quant::BlockQ8_0; const $N: usize = 32; $blocks }
            GgmlType::Q2_K => { type $B = $crate::quant::BlockQ2_K; const $N: usize = $crate::quant::QK_K; $blocks }
            GgmlType::Q4_K => { type $B = $crate::quant::BlockQ4_K; const $N: usize = $crate::quant::QK_K; $blocks }
            GgmlType::TQ1_0 => { type $B = $crate::quant::BlockTQ1_0; const $N: usize = $crate::quant::QK_K; $blocks }
            GgmlType::TQ2_0 => { type $B = $crate::quant::BlockTQ2_0; const $N: usize = $crate::quant::QK_K; $blocks }
        }
    };
}
pub(crate) use match_type;

/// Calls `$body` with `$B` bound to the block type of `$ty` and `$N` to its values per block
/// (a float type is a block of one).
macro_rules! with_block {
    ($ty:expr, |$B:ident, $N:ident| $body:expr) => {
        $crate::quant::match_type!($ty, |$B, $N| $body, |$B| {
            const $N: usize = 1;
            $body
        })
    };
}
pub(crate) use with_block;

/// [`with_block`] for the block types ([`GridBlock`]); `$other` for the float types.
#[cfg_attr(target_arch = "wasm32", allow(unused_macros))] // GPTQ is native-only
macro_rules! with_grid_block {
    ($ty:expr, |$B:ident, $N:ident| $body:expr, $other:expr) => {
        $crate::quant::match_type!($ty, |$B, $N| $body, |_Float| $other)
    };
}
#[cfg_attr(target_arch = "wasm32", allow(unused_imports))]
pub(crate) use with_grid_block;

fn invalid(op: &'static str, reason: String) -> Error {
    Error::InvalidArgument { op, reason }
}

/// Decodes whole blocks; lengths were checked by the caller, a mismatch is still an error.
fn decode_all<B: Block<N>, const N: usize>(bytes: &[u8], out: &mut [f32]) -> Result<()>
where
    [f32; N]: Pod,
{
    let cast_error = |e: bytemuck::PodCastError| invalid("dequantize", format!("{}: {e:?}", B::TYPE.name()));
    let blocks: &[B] = bytemuck::try_cast_slice(bytes).map_err(cast_error)?;
    let outs: &mut [[f32; N]] = bytemuck::try_cast_slice_mut(out).map_err(cast_error)?;
    if blocks.len() != outs.len() {
        return Err(invalid("dequantize", format!("{}: block count mismatch", B::TYPE.name())));
    }
    for (block, y) in blocks.iter().zip(outs) {
        block.decode(y);
    }
    Ok(())
}

fn encode_all<B: Block<N>, const N: usize>(values: &[f32], out: &mut Vec<u8>) -> Result<()>
where
    [f32; N]: Pod,
{
    let xs: &[[f32; N]] =
        bytemuck::try_cast_slice(values).map_err(|e| invalid("quantize", format!("{}: {e:?}", B::TYPE.name())))?;
    out.reserve(xs.len().saturating_mul(size_of::<B>()));
    for x in xs {
        out.extend_from_slice(bytemuck::bytes_of(&B::encode(x)?));
    }
    Ok(())
}

fn half(bytes: [u8; 2]) -> f32 {
    f16::from_le_bytes(bytes).to_f32()
}

/// An f16 block scale. One beyond f16's range would decode its block to infinities and NaNs.
fn f16_scale(d: f32, ty: GgmlType) -> Result<[u8; 2]> {
    f16_bytes(d).ok_or_else(|| invalid("quantize", format!("{}: block scale {d} overflows f16", ty.name())))
}

/// `v` as f16 bytes, if finite there.
fn f16_bytes(v: f32) -> Option<[u8; 2]> {
    let h = f16::from_f32(v);
    h.is_finite().then(|| h.to_le_bytes())
}

/// The first value of largest magnitude, sign kept (Q4_0 and Q5_0 map it to the level -8 / -16,
/// which has no positive twin, so the extreme value is stored exactly).
fn signed_absmax(x: &[f32]) -> f32 {
    let mut best = 0.0f32;
    for &v in x {
        if v.abs() > best.abs() {
            best = v;
        }
    }
    best
}

/// `trunc(x·id + offset)` the way gguf-py computes ggml's Q4_0/Q5_0 reference rounding: the exact
/// product and sum in f64, rounded once to f32, then truncated. ggml's C result depends on whether
/// the compiler fuses `x*id + offset` into an FMA (gguf-py's "cursed" comment): this matches ggml
/// built with FMA contraction; built without, ggml differs in a few blocks whose values sit on
/// exact half-steps. Saturates into `u8`.
fn offset_trunc(x: f32, id: f32, offset: f64) -> u8 {
    ((f64::from(x) * f64::from(id) + offset) as f32).trunc() as u8
}

