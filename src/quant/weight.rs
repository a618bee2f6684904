//! A packed weight tensor: `rows = shape[0]` rows of `row_len = ∏ shape[1..]` values (a vector is
//! one row), each row
//! stored in whole blocks of its format and zero-padded up to the next block boundary, so any
//! row decodes on its own (the kernels' unit of work).

use std::borrow::Cow;

use bytes::Bytes;
use half::f16;
use half::slice::HalfFloatSliceExt;

use super::{with_block, Block, GgmlType};
use crate::error::{check_len, Error, Result};

#[derive(Clone, PartialEq)]
pub struct Weight {
    shape: Vec<usize>,
    ty: GgmlType,
    rows: usize,
    row_len: usize,
    /// Bytes of one stored row: whole blocks covering `row_len` values.
    row_bytes: usize,
    data: Bytes,
}

impl std::fmt::Debug for Weight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Weight({} {:?}, {} bytes)", self.ty.name(), self.shape, self.data.len())
    }
}

/// `(rows, row_len, row_bytes)` of `shape` stored as `ty`, or None on overflow. A vector (1-D)
/// is one row; a scalar one row of one value.
fn layout(shape: &[usize], ty: GgmlType) -> Option<(usize, usize, usize)> {
    let (rows, rest) = match shape {
        [] => (1, &[][..]),
        [_] => (1, shape),
        [rows, rest @ ..] => (*rows, rest),
    };
    let row_len = rest.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    let row_bytes = ty.bytes_for(row_len.checked_next_multiple_of(ty.block_size())?)?;
    rows.checked_mul(row_bytes)?;
    Some((rows, row_len, row_bytes))
}

/// Values per stored row of `row_len` values in `ty` (`row_len` rounded up to whole blocks).
pub fn padded_row_len(row_len: usize, ty: GgmlType) -> usize {
    row_len.next_multiple_of(ty.block_size())
}

impl Weight {
    /// Wraps stored bytes (shared, not copied): `rows` rows of `row_bytes` each.
    pub fn from_bytes(shape: &[usize], ty: GgmlType, data: Bytes) -> Result<Self> {
        let (rows, row_len, row_bytes) = layout(shape, ty).ok_or_else(|| too_large(shape))?;
        if data.len() != rows * row_bytes {
            return Err(Error::InvalidArgument {
                op: "weight",
                reason: format!(
                    "{} {shape:?} stores {rows} rows of {row_bytes} bytes ({} values padded to whole blocks of {}) = {} bytes, got {}",
                    ty.name(),
                    padded_row_len(row_len, ty),
                    ty.block_size(),
                    rows * row_bytes,
                    data.len()
                ),
            });
        }
        Ok(Self { shape: shape.to_vec(), ty, rows, row_len, row_bytes, data })
    }

    /// `values` (row-major, `shape`) encoded as `ty`, each row zero-padded to whole blocks.
    pub fn quantize(shape: &[usize], values: &[f32], ty: GgmlType) -> Result<Self> {
        let (rows, row_len, row_bytes) = layout(shape, ty).ok_or_else(|| too_large(shape))?;
        check_len("weight", shape, values.len())?;
        let mut out = Vec::with_capacity(rows * row_bytes);
        let mut padded = vec![0.0f32; padded_row_len(row_len, ty)];
        for row in values.chunks_exact(row_len.max(1)).take(rows) {
            padded[..row_len].copy_from_slice(row);
            ty.quantize(&padded, &mut out)?;
        }
        if row_len == 0 {
            out.resize(rows * row_bytes, 0);
        }
        Self::from_bytes(shape, ty, Bytes::from(out))
    }

    pub fn f32(shape: &[usize], values: Vec<f32>) -> Result<Self> {
        check_len("weight", shape, values.len())?;
        Self::from_bytes(shape, GgmlType::F32, Bytes::from_owner(F32Owner(values)))
    }

    pub fn f16(shape: &[usize], values: Vec<f16>) -> Result<Self> {
        check_len("weight", shape, values.len())?;
        Self::from_bytes(shape, GgmlType::F16, Bytes::from(bytemuck::cast_slice::<f16, u8>(&values).to_vec()))
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    pub fn format_name(&self) -> &'static str {
        self.ty.name()
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Values in the tensor (padding not counted).
    pub fn len(&self) -> usize {
        self.rows * self.row_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of one stored row (whole blocks).
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// The stored bytes, rows back to back.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// Decodes row `r` into `out` (`row_len` values). `r < rows` and the length are the
    /// caller's contract (kernels validate shapes first).
    #[inline]
    pub fn decode_row(&self, r: usize, out: &mut [f32]) {
        assert!(r < self.rows && out.len() == self.row_len, "decode_row({r}) of {self:?} into {} values", out.len());
        let bytes = &self.data[r * self.row_bytes..(r + 1) * self.row_bytes];
        // Float rows that happen to be aligned: a copy, or half's SIMD conversion (F16C, NEON).
        match self.ty {
            GgmlType::F32 if cfg!(target_endian = "little") => {
                if let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
                    return out.copy_from_slice(values);
                }
            }
            GgmlType::F16 if cfg!(target_endian = "little") => {
                if let Ok(halves) = bytemuck::try_cast_slice::<u8, f16>(bytes) {
                    return halves.convert_to_f32_slice(out);
                }
            }
            _ => {}
        }
        with_block!(self.ty, |B, N| decode_row::<B, N>(bytes, out))
    }

    /// Decodes rows `first..first + out.len() / row_len` into `out`.
    pub fn decode_rows(&self, first: usize, out: &mut [f32]) {
        for (i, row) in out.chunks_exact_mut(self.row_len.max(1)).enumerate() {
            self.decode_row(first + i, row);
        }
    }

    /// Every value, decoded with the fast per-block path.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.len()];
        self.decode_rows(0, &mut out);
        out
    }

    /// Every value, decoded one element at a time from the format's definition (the scalar
    /// twin of [`Weight::to_f32`], for reference kernels and tests).
    #[allow(clippy::modulo_one)] // N = 1 for the float formats
    pub fn to_f32_scalar(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len());
        for r in 0..self.rows {
            let bytes = &self.data[r * self.row_bytes..(r + 1) * self.row_bytes];
            with_block!(self.ty, |B, N| {
                let blocks: &[B] = bytemuck::cast_slice(bytes);
                out.extend((0..self.row_len).map(|i| blocks[i / N].value(i % N)));
            })
        }
        out
    }

    /// The values as f32, borrowed when stored as aligned F32 (small tensors: biases, norms).
    pub fn values(&self) -> Cow<'_, [f32]> {
        match (self.ty, bytemuck::try_cast_slice::<u8, f32>(&self.data)) {
            (GgmlType::F32, Ok(v)) if cfg!(target_endian = "little") => Cow::Borrowed(v),
            _ => Cow::Owned(self.to_f32()),
        }
    }
}

fn too_large(shape: &[usize]) -> Error {
    Error::InvalidArgument { op: "weight", reason: format!("shape {shape:?} is too large") }
}

/// Whole blocks straight into `out`; the padded last block through a scratch block.
#[inline]
fn decode_row<B: Block<N>, const N: usize>(bytes: &[u8], out: &mut [f32])
where
    [f32; N]: bytemuck::Pod,
{
    let blocks: &[B] = bytemuck::cast_slice(bytes);
    let whole = out.len() / N;
    let (head, tail) = out.split_at_mut(whole * N);
    let outs: &mut [[f32; N]] = bytemuck::cast_slice_mut(head);
    for (block, y) in blocks.iter().zip(outs) {
        block.decode(y);
    }
    if !tail.is_empty() {
        let mut last = [0.0f32; N];
        blocks[whole].decode(&mut last);
        tail.copy_from_slice(&last[..tail.len()]);
    }
}

/// Lets a `Vec<f32>` back a [`Bytes`] without copying.
struct F32Owner(Vec<f32>);

impl AsRef<[u8]> for F32Owner {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}
