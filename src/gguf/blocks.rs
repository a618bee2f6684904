//! ggml's tensor storage formats: each block laid out byte for byte as `ggml-common.h` declares it,
//! a dequantizer that gives ggml's `dequantize_row_*` results bit for bit, and a quantizer.
//!
//! Quantizers: Q8_0, Q4_0 and Q5_0 follow ggml's reference quantizers, so they write the bytes
//! gguf-py's `gguf.quants.quantize` writes. Q4_K and Q2_K fit their scales by least squares
//! ([`fit_scale_min`]) instead of ggml's search. TQ1_0 and TQ2_0 keep ggml's layout with our own
//! per-block scale ([`ternary_scale`]): ggml's absmax scale zeroes most of a Gaussian block.
//!
//! Non-finite values: F32, F16 and BF16 store them (F16 and BF16 round to nearest even; values
//! beyond their range become ±inf, as in ggml). Block types refuse them, and refuse values whose
//! block scale overflows f16, because one such value would spoil its whole block; `out` is left
//! unchanged on error. All multi-byte fields are little-endian, as GGUF stores them.

use bytemuck::{Pod, Zeroable};
use half::{bf16, f16};

use crate::error::{Error, Result};

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
        if n % self.block_size() != 0 {
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
        match self {
            GgmlType::F32 => decode_all::<F32Bytes, 1>(bytes, out),
            GgmlType::F16 => decode_all::<F16Bytes, 1>(bytes, out),
            GgmlType::BF16 => decode_all::<Bf16Bytes, 1>(bytes, out),
            GgmlType::Q4_0 => decode_all::<BlockQ4_0, 32>(bytes, out),
            GgmlType::Q5_0 => decode_all::<BlockQ5_0, 32>(bytes, out),
            GgmlType::Q8_0 => decode_all::<BlockQ8_0, 32>(bytes, out),
            GgmlType::Q2_K => decode_all::<BlockQ2_K, QK_K>(bytes, out),
            GgmlType::Q4_K => decode_all::<BlockQ4_K, QK_K>(bytes, out),
            GgmlType::TQ1_0 => decode_all::<BlockTQ1_0, QK_K>(bytes, out),
            GgmlType::TQ2_0 => decode_all::<BlockTQ2_0, QK_K>(bytes, out),
        }
    }

    /// Encodes `values` (len a multiple of block_size) appending to `out`; error otherwise.
    /// Block types also refuse non-finite values and scales beyond f16 (see the module docs).
    pub fn quantize(self, values: &[f32], out: &mut Vec<u8>) -> Result<()> {
        if values.len() % self.block_size() != 0 {
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
        let result = match self {
            GgmlType::F32 => encode_all::<F32Bytes, 1>(values, out),
            GgmlType::F16 => encode_all::<F16Bytes, 1>(values, out),
            GgmlType::BF16 => encode_all::<Bf16Bytes, 1>(values, out),
            GgmlType::Q4_0 => encode_all::<BlockQ4_0, 32>(values, out),
            GgmlType::Q5_0 => encode_all::<BlockQ5_0, 32>(values, out),
            GgmlType::Q8_0 => encode_all::<BlockQ8_0, 32>(values, out),
            GgmlType::Q2_K => encode_all::<BlockQ2_K, QK_K>(values, out),
            GgmlType::Q4_K => encode_all::<BlockQ4_K, QK_K>(values, out),
            GgmlType::TQ1_0 => encode_all::<BlockTQ1_0, QK_K>(values, out),
            GgmlType::TQ2_0 => encode_all::<BlockTQ2_0, QK_K>(values, out),
        };
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
    fn decode(&self, y: &mut [f32; N]);
    fn encode(x: &[f32; N]) -> Result<Self>;
}

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
    let h = f16::from_f32(d);
    if h.is_finite() {
        Ok(h.to_le_bytes())
    } else {
        Err(invalid("quantize", format!("{}: block scale {d} overflows f16", ty.name())))
    }
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

// ---------------------------------------------------------------------------------------------
// F32

/// One little-endian f32.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct F32Bytes([u8; 4]);

impl Block<1> for F32Bytes {
    const TYPE: GgmlType = GgmlType::F32;

    fn decode(&self, y: &mut [f32; 1]) {
        y[0] = f32::from_le_bytes(self.0);
    }

    fn encode(x: &[f32; 1]) -> Result<Self> {
        Ok(Self(x[0].to_le_bytes()))
    }
}

// ---------------------------------------------------------------------------------------------
// F16

/// One little-endian IEEE binary16 (ggml's `ggml_half`).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct F16Bytes([u8; 2]);

impl Block<1> for F16Bytes {
    const TYPE: GgmlType = GgmlType::F16;

    fn decode(&self, y: &mut [f32; 1]) {
        y[0] = half(self.0);
    }

    fn encode(x: &[f32; 1]) -> Result<Self> {
        Ok(Self(f16::from_f32(x[0]).to_le_bytes()))
    }
}

// ---------------------------------------------------------------------------------------------
// BF16

/// One little-endian bfloat16: the top half of an f32.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Bf16Bytes([u8; 2]);

impl Block<1> for Bf16Bytes {
    const TYPE: GgmlType = GgmlType::BF16;

    /// A plain shift, as ggml does (`half`'s `to_f32` would also quiet signaling NaNs).
    fn decode(&self, y: &mut [f32; 1]) {
        y[0] = f32::from_bits(u32::from(u16::from_le_bytes(self.0)) << 16);
    }

    /// Round to nearest even, NaNs kept and quieted: ggml's `ggml_compute_fp32_to_bf16`.
    fn encode(x: &[f32; 1]) -> Result<Self> {
        Ok(Self(bf16::from_f32(x[0]).to_le_bytes()))
    }
}

// ---------------------------------------------------------------------------------------------
// Q8_0: 32 × int8 · d

/// `block_q8_0`: value j is `qs[j]·d`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockQ8_0 {
    d: [u8; 2],
    qs: [i8; 32],
}

impl Block<32> for BlockQ8_0 {
    const TYPE: GgmlType = GgmlType::Q8_0;

    fn decode(&self, y: &mut [f32; 32]) {
        let d = half(self.d);
        for (v, &q) in y.iter_mut().zip(&self.qs) {
            *v = f32::from(q) * d;
        }
    }

    /// `quantize_row_q8_0_ref`: `d = absmax/127`, `q = round(x/d)` with the unrounded d.
    fn encode(x: &[f32; 32]) -> Result<Self> {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        Ok(Self { d: f16_scale(d, Self::TYPE)?, qs: x.map(|v| (v * id).round() as i8) })
    }
}

// ---------------------------------------------------------------------------------------------
// Q4_0: 32 × 4-bit · d

/// `block_q4_0`: byte j holds value j in its low nibble and value j+16 in its high nibble;
/// a value is `(nibble − 8)·d`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockQ4_0 {
    d: [u8; 2],
    qs: [u8; 16],
}

impl Block<32> for BlockQ4_0 {
    const TYPE: GgmlType = GgmlType::Q4_0;

    fn decode(&self, y: &mut [f32; 32]) {
        let d = half(self.d);
        let (lo, hi) = y.split_at_mut(16);
        for ((a, b), &q) in lo.iter_mut().zip(hi).zip(&self.qs) {
            *a = f32::from(i16::from(q & 0xF) - 8) * d;
            *b = f32::from(i16::from(q >> 4) - 8) * d;
        }
    }

    /// `quantize_row_q4_0_ref`: `d = max/−8` with max the signed absmax, level `trunc(x/d + 8.5)`
    /// capped at 15.
    fn encode(x: &[f32; 32]) -> Result<Self> {
        let d = signed_absmax(x) / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0u8; 16];
        for (j, q) in qs.iter_mut().enumerate() {
            let lo = offset_trunc(x[j], id, 8.5).min(15);
            let hi = offset_trunc(x[j + 16], id, 8.5).min(15);
            *q = lo | (hi << 4);
        }
        Ok(Self { d: f16_scale(d, Self::TYPE)?, qs })
    }
}

// ---------------------------------------------------------------------------------------------
// Q5_0: 32 × 5-bit · d

/// `block_q5_0`: as Q4_0, plus bit j of the little-endian u32 `qh` as bit 4 of value j;
/// a value is `(q − 16)·d`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockQ5_0 {
    d: [u8; 2],
    qh: [u8; 4],
    qs: [u8; 16],
}

impl Block<32> for BlockQ5_0 {
    const TYPE: GgmlType = GgmlType::Q5_0;

    fn decode(&self, y: &mut [f32; 32]) {
        let d = half(self.d);
        let qh = u32::from_le_bytes(self.qh);
        let high = |j: usize| ((qh >> j) & 1) as u8;
        let (lo, hi) = y.split_at_mut(16);
        for (j, ((a, b), &q)) in lo.iter_mut().zip(hi).zip(&self.qs).enumerate() {
            *a = f32::from(i16::from((q & 0xF) | (high(j) << 4)) - 16) * d;
            *b = f32::from(i16::from((q >> 4) | (high(j + 16) << 4)) - 16) * d;
        }
    }

    /// `quantize_row_q5_0_ref`: `d = max/−16`, level `trunc(x/d + 16.5)` capped at 31.
    fn encode(x: &[f32; 32]) -> Result<Self> {
        let d = signed_absmax(x) / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0u8; 16];
        let mut qh = 0u32;
        for (j, q) in qs.iter_mut().enumerate() {
            let lo = offset_trunc(x[j], id, 16.5).min(31);
            let hi = offset_trunc(x[j + 16], id, 16.5).min(31);
            *q = (lo & 0xF) | ((hi & 0xF) << 4);
            qh |= u32::from(lo >> 4) << j | u32::from(hi >> 4) << (j + 16);
        }
        Ok(Self { d: f16_scale(d, Self::TYPE)?, qh: qh.to_le_bytes(), qs })
    }
}

// ---------------------------------------------------------------------------------------------
// K-quant helpers (Q4_K, Q2_K): sub-blocks of `x ≈ scale·L − min`

/// Fits `x ≈ scale·L − min` with `L ∈ 0..=nmax`, `scale ≥ 0`, `min ≥ 0` (the K layouts store a
/// non-negative min to subtract, so the lowest level is ≤ 0). Lloyd iterations ([`lloyd`]) from
/// three min/max starts, `range/(nmax − ½)`, `range/nmax` and `range/(nmax + ½)`, keeping the
/// lowest squared error. ggml's reference searches 16–21 scales with weighted errors instead; on
/// Gaussian data this fit lands slightly below it (relative RMS: Q4_K 0.0710 vs 0.0713, Q2_K 0.264
/// vs 0.297).
fn fit_scale_min(x: &[f32], nmax: f32) -> (f32, f32) {
    let lo = x.iter().fold(0.0f32, |m, &v| m.min(v));
    let hi = x.iter().fold(lo, |m, &v| m.max(v));
    if hi <= lo {
        return (0.0, -lo);
    }
    let mut best = (f64::INFINITY, 0.0, lo);
    for delta in [-0.5, 0.0, 0.5] {
        let (scale, offset) = lloyd(x, nmax, (hi - lo) / (nmax + delta), lo);
        let err: f64 =
            x.iter().map(|&v| f64::from(scale * nearest_level(v, scale, offset, nmax) + offset - v).powi(2)).sum();
        if err < best.0 {
            best = (err, scale, offset);
        }
    }
    (best.1, -best.2)
}

/// Alternates nearest-level assignment with the least-squares `(scale, offset ≤ 0)` for those
/// levels; each step lowers the squared error, so it stops when nothing changes (or after 8).
fn lloyd(x: &[f32], nmax: f32, mut scale: f32, mut offset: f32) -> (f32, f32) {
    let n = x.len() as f64;
    for _ in 0..8 {
        let (mut sl, mut sl2, mut sx, mut sxl) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for &v in x {
            let l = f64::from(nearest_level(v, scale, offset, nmax));
            let v = f64::from(v);
            sl += l;
            sl2 += l * l;
            sx += v;
            sxl += v * l;
        }
        let det = n * sl2 - sl * sl;
        if det.is_nan() || det <= 0.0 {
            break; // every value on one level: no scale to fit
        }
        let (mut s, mut o) = ((n * sxl - sx * sl) / det, (sl2 * sx - sl * sxl) / det);
        if o > 0.0 {
            // the free optimum has a positive offset; the constrained one sits on offset = 0
            (s, o) = (sxl / sl2, 0.0);
        }
        let (s, o) = (s as f32, o as f32);
        if s.is_nan() || s <= 0.0 || (s, o) == (scale, offset) {
            break;
        }
        (scale, offset) = (s, o);
    }
    (scale, offset)
}

/// The level `L ∈ 0..=nmax` whose `scale·L + offset` is nearest to `x` (0 when the scale is 0).
fn nearest_level(x: f32, scale: f32, offset: f32, nmax: f32) -> f32 {
    if scale > 0.0 {
        ((x - offset) / scale).round().clamp(0.0, nmax)
    } else {
        0.0
    }
}

/// Quantizes non-negative sub-block scales (or mins) to `levels` steps of `max/levels`, as ggml
/// does: returns the super-block scale and each sub-block's level.
fn quantize_scales<const S: usize>(v: [f32; S], levels: f32) -> (f32, [u8; S]) {
    let max = v.iter().fold(0.0f32, |m, &a| m.max(a));
    if max <= 0.0 {
        return (0.0, [0; S]);
    }
    let inv = levels / max;
    (max / levels, v.map(|a| (a * inv).round().clamp(0.0, levels) as u8))
}

// ---------------------------------------------------------------------------------------------
// Q4_K: 8 sub-blocks of 32 × 4-bit, 6-bit scales and mins

/// `block_q4_K`: value = `d·sc·q − dmin·m` with 6-bit `(sc, m)` per 32-value sub-block packed in
/// `scales` (see [`scale_min_k4`]). Byte `32g + l` of `qs` holds value `64g + l` in its low
/// nibble and value `64g + 32 + l` in its high nibble.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockQ4_K {
    d: [u8; 2],
    dmin: [u8; 2],
    scales: [u8; 12],
    qs: [u8; 128],
}

/// Scale and min of sub-block `j < 8`: bytes 0..4 hold scales 0..4 (+ bits 4–5 of scales 4..8 on
/// top), bytes 4..8 mins 0..4 (+ bits 4–5 of mins 4..8), bytes 8..12 low nibbles of scale and min
/// 4..8 (`get_scale_min_k4`).
fn scale_min_k4(j: usize, s: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

impl Block<QK_K> for BlockQ4_K {
    const TYPE: GgmlType = GgmlType::Q4_K;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let (d, dmin) = (half(self.d), half(self.dmin));
        for (j, ys) in y.chunks_exact_mut(32).enumerate() {
            let (sc, m) = scale_min_k4(j, &self.scales);
            let (dl, ml) = (d * f32::from(sc), dmin * f32::from(m));
            let (base, shift) = (32 * (j / 2), 4 * (j % 2));
            for (v, &q) in ys.iter_mut().zip(&self.qs[base..base + 32]) {
                *v = dl * f32::from((q >> shift) & 0xF) - ml;
            }
        }
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let mut fits = [(0.0f32, 0.0f32); 8];
        for (fit, xs) in fits.iter_mut().zip(x.chunks_exact(32)) {
            *fit = fit_scale_min(xs, 15.0);
        }
        let (d, ls) = quantize_scales(fits.map(|f| f.0), 63.0);
        let (dmin, lm) = quantize_scales(fits.map(|f| f.1), 63.0);
        let mut block = Self { d: f16_scale(d, Self::TYPE)?, dmin: f16_scale(dmin, Self::TYPE)?, ..Self::zeroed() };
        for (j, (&sc, &m)) in ls.iter().zip(&lm).enumerate() {
            if j < 4 {
                block.scales[j] = sc;
                block.scales[j + 4] = m;
            } else {
                block.scales[j + 4] = (sc & 0xF) | ((m & 0xF) << 4);
                block.scales[j - 4] |= (sc >> 4) << 6;
                block.scales[j] |= (m >> 4) << 6;
            }
        }
        let (d, dmin) = (half(block.d), half(block.dmin));
        for (j, xs) in x.chunks_exact(32).enumerate() {
            let (sc, m) = scale_min_k4(j, &block.scales);
            let (dl, ml) = (d * f32::from(sc), dmin * f32::from(m));
            let (base, shift) = (32 * (j / 2), 4 * (j % 2));
            for (q, &v) in block.qs[base..base + 32].iter_mut().zip(xs) {
                *q |= (nearest_level(v, dl, -ml, 15.0) as u8) << shift;
            }
        }
        Ok(block)
    }
}

// ---------------------------------------------------------------------------------------------
// Q2_K: 16 sub-blocks of 16 × 2-bit, 4-bit scales and mins

/// `block_q2_K`: value = `d·(s & 15)·q − dmin·(s >> 4)` with `s = scales[e/16]`. Value
/// `e = 128h + 32p + l` (`l < 32`) is bits `2p..2p+2` of `qs[32h + l]`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockQ2_K {
    scales: [u8; 16],
    qs: [u8; 64],
    d: [u8; 2],
    dmin: [u8; 2],
}

/// Where sub-block `s < 16` lives in `qs`: its first byte and the bit shift of its 2-bit plane.
fn q2k_place(s: usize) -> (usize, usize) {
    let (h, r) = (s / 8, s % 8);
    (32 * h + 16 * (r % 2), 2 * (r / 2))
}

impl Block<QK_K> for BlockQ2_K {
    const TYPE: GgmlType = GgmlType::Q2_K;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let (d, dmin) = (half(self.d), half(self.dmin));
        for (s, (ys, &sc)) in y.chunks_exact_mut(16).zip(&self.scales).enumerate() {
            let (dl, ml) = (d * f32::from(sc & 0xF), dmin * f32::from(sc >> 4));
            let (base, shift) = q2k_place(s);
            for (v, &q) in ys.iter_mut().zip(&self.qs[base..base + 16]) {
                *v = dl * f32::from((q >> shift) & 3) - ml;
            }
        }
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let mut fits = [(0.0f32, 0.0f32); 16];
        for (fit, xs) in fits.iter_mut().zip(x.chunks_exact(16)) {
            *fit = fit_scale_min(xs, 3.0);
        }
        let (d, ls) = quantize_scales(fits.map(|f| f.0), 15.0);
        let (dmin, lm) = quantize_scales(fits.map(|f| f.1), 15.0);
        let mut block = Self { d: f16_scale(d, Self::TYPE)?, dmin: f16_scale(dmin, Self::TYPE)?, ..Self::zeroed() };
        let (d, dmin) = (half(block.d), half(block.dmin));
        for (s, xs) in x.chunks_exact(16).enumerate() {
            block.scales[s] = ls[s] | (lm[s] << 4);
            let (dl, ml) = (d * f32::from(ls[s]), dmin * f32::from(lm[s]));
            let (base, shift) = q2k_place(s);
            for (q, &v) in block.qs[base..base + 16].iter_mut().zip(xs) {
                *q |= (nearest_level(v, dl, -ml, 3.0) as u8) << shift;
            }
        }
        Ok(block)
    }
}

// ---------------------------------------------------------------------------------------------
// Ternary helpers (TQ1_0, TQ2_0): values in {−d, 0, d}

/// The per-block ternary scale that minimizes squared error. ggml's reference uses the block's
/// absmax, which zeroes 86% of a Gaussian block (94% of a Laplacian one) and leaves 0.81 of its
/// RMS as error; this scale leaves 0.43. With the k largest |x| mapped to ±d and the rest to 0, the
/// optimal d is `S_k/k` (S_k = sum of those |x|) and the error drops by `S_k²/k` from Σx²; so sort
/// |x| descending and take the k maximizing `S_k²/k`. O(n log n).
fn ternary_scale(x: &[f32; QK_K]) -> f32 {
    let mut a = x.map(f32::abs);
    a.sort_unstable_by(|p, q| q.total_cmp(p));
    let (mut sum, mut best_gain, mut best_d) = (0.0f64, 0.0f64, 0.0f64);
    for (k, &v) in (1u32..).zip(&a) {
        sum += f64::from(v);
        let gain = sum * sum / f64::from(k);
        if gain > best_gain {
            (best_gain, best_d) = (gain, sum / f64::from(k));
        }
    }
    best_d as f32
}

/// The block's f16 scale d (from [`ternary_scale`], rounded to f16) and each value's digit
/// `t + 1 ∈ {0, 1, 2}`, t the nearest multiple of the rounded d.
fn ternary_digits(x: &[f32; QK_K], ty: GgmlType) -> Result<([u8; 2], [u8; QK_K])> {
    let d = f16_scale(ternary_scale(x), ty)?;
    let dq = half(d);
    Ok((d, x.map(|v| if dq > 0.0 { ((v / dq).round().clamp(-1.0, 1.0) + 1.0) as u8 } else { 1 })))
}

// ---------------------------------------------------------------------------------------------
// TQ1_0: 5 trits per byte, 1.6875 bits per value

/// `block_tq1_0`: `qs[m]` (m < 32) holds values `m + 32n`, `qs[32 + m]` (m < 16) values
/// `160 + m + 16n` (n < 5), `qh[j]` values `240 + j + 4n` (n < 4), first value in the most
/// significant trit. A byte stores the base-3 number q as `⌈q·256/243⌉`, so trit n is the top
/// digit of `(byte·3ⁿ mod 256)·3 / 256`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockTQ1_0 {
    qs: [u8; 48],
    qh: [u8; 4],
    d: [u8; 2],
}

const POW3: [u8; 5] = [1, 3, 9, 27, 81];

/// Trit `n < 5` of a TQ1_0 byte, as −1, 0 or 1.
fn tq1_trit(byte: u8, n: usize) -> f32 {
    let q = byte.wrapping_mul(POW3[n]);
    f32::from((u16::from(q) * 3) >> 8) - 1.0
}

/// Five digits (first most significant) as one TQ1_0 byte.
fn tq1_pack(digits: [u8; 5]) -> u8 {
    let q = digits.iter().fold(0u16, |q, &t| q * 3 + u16::from(t));
    (q * 256).div_ceil(243) as u8
}

impl Block<QK_K> for BlockTQ1_0 {
    const TYPE: GgmlType = GgmlType::TQ1_0;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let d = half(self.d);
        let (a, rest) = y.split_at_mut(160);
        let (b, c) = rest.split_at_mut(80);
        for (n, ys) in a.chunks_exact_mut(32).enumerate() {
            for (v, &q) in ys.iter_mut().zip(&self.qs[..32]) {
                *v = tq1_trit(q, n) * d;
            }
        }
        for (n, ys) in b.chunks_exact_mut(16).enumerate() {
            for (v, &q) in ys.iter_mut().zip(&self.qs[32..]) {
                *v = tq1_trit(q, n) * d;
            }
        }
        for (n, ys) in c.chunks_exact_mut(4).enumerate() {
            for (v, &q) in ys.iter_mut().zip(&self.qh) {
                *v = tq1_trit(q, n) * d;
            }
        }
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let (d, u) = ternary_digits(x, Self::TYPE)?;
        let mut block = Self { d, ..Self::zeroed() };
        for (m, q) in block.qs.iter_mut().enumerate() {
            *q = if m < 32 {
                tq1_pack([0, 1, 2, 3, 4].map(|n| u[m + 32 * n]))
            } else {
                tq1_pack([0, 1, 2, 3, 4].map(|n| u[160 + (m - 32) + 16 * n]))
            };
        }
        for (j, q) in block.qh.iter_mut().enumerate() {
            *q = tq1_pack([u[240 + j], u[244 + j], u[248 + j], u[252 + j], 0]);
        }
        Ok(block)
    }
}

// ---------------------------------------------------------------------------------------------
// TQ2_0: 4 trits per byte, 2.0625 bits per value

/// `block_tq2_0`: bits `2l..2l+2` of `qs[32h + m]` hold value `128h + 32l + m` as `t + 1` (the
/// unused code 3 decodes to 2d, as in ggml).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct BlockTQ2_0 {
    qs: [u8; 64],
    d: [u8; 2],
}

impl Block<QK_K> for BlockTQ2_0 {
    const TYPE: GgmlType = GgmlType::TQ2_0;

    fn decode(&self, y: &mut [f32; QK_K]) {
        let d = half(self.d);
        for (i, ys) in y.chunks_exact_mut(32).enumerate() {
            let (h, shift) = (i / 4, 2 * (i % 4));
            for (v, &q) in ys.iter_mut().zip(&self.qs[32 * h..32 * h + 32]) {
                *v = (f32::from((q >> shift) & 3) - 1.0) * d;
            }
        }
    }

    fn encode(x: &[f32; QK_K]) -> Result<Self> {
        let (d, u) = ternary_digits(x, Self::TYPE)?;
        let mut block = Self { d, ..Self::zeroed() };
        for (i, digits) in u.chunks_exact(32).enumerate() {
            let (h, shift) = (i / 4, 2 * (i % 4));
            for (q, &t) in block.qs[32 * h..32 * h + 32].iter_mut().zip(digits) {
                *q |= t << shift;
            }
        }
        Ok(block)
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: seeded test data without a rand crate; the reference script uses the same.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
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
                let n = blocks * ty.block_size() + usize::from(rng.next() % 4 == 0);
                let len = (blocks * ty.type_size() + (rng.next() % 8) as usize)
                    .saturating_sub(4)
                    .max(if rng.next() % 2 == 0 { blocks * ty.type_size() } else { 0 });
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
}
