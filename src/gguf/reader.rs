//! Zero-copy GGUF reader. Every count and offset is checked against the bytes that remain before
//! anything is allocated or indexed, so hostile files give an [`Error::Gguf`], never a panic or
//! an allocation larger than the file.

use std::borrow::Cow;

use super::{
    GgmlType, MetaArray, MetaValue, ValueType, ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC, MAX_DIMS, VERSION,
};
use crate::error::{Error, GgufErrorKind as Kind, Result};

/// Arrays of arrays deeper than this are refused (a stack guard; real files use one level).
const MAX_ARRAY_DEPTH: usize = 8;

/// One tensor's entry in the table.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo<'a> {
    pub name: &'a str,
    /// GGUF order: `ne[0]` varies fastest (numpy shape reversed).
    pub ne: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Relative to the start of the data section.
    pub offset: u64,
    /// Bytes of data, from `ne` and the type's block size.
    pub size: u64,
}

impl TensorInfo<'_> {
    pub fn n_elements(&self) -> u64 {
        self.ne.iter().product()
    }
}

/// A parsed GGUF file borrowing its bytes.
#[derive(Clone, Debug)]
pub struct GgufFile<'a> {
    pub version: u32,
    metadata: Vec<(&'a str, MetaValue<'a>)>,
    tensors: Vec<TensorInfo<'a>>,
    alignment: u64,
    /// Absolute offset of the data section.
    data_offset: u64,
    bytes: &'a [u8],
}

impl<'a> GgufFile<'a> {
    /// Parses a whole file and checks that every tensor's data lies inside it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let file = Self::parse_table(bytes, true)?;
        for t in &file.tensors {
            let end = file.data_offset.checked_add(t.offset).and_then(|s| s.checked_add(t.size));
            if end.is_none_or(|end| end > bytes.len() as u64) {
                return Err(Error::Gguf {
                    offset: file.data_offset.saturating_add(t.offset),
                    kind: Kind::OutOfBounds,
                    detail: format!(
                        "tensor {:?} needs bytes {}..{} of the data section, the file has {}",
                        t.name,
                        t.offset,
                        t.offset.saturating_add(t.size),
                        (bytes.len() as u64).saturating_sub(file.data_offset)
                    ),
                });
            }
        }
        Ok(file)
    }

    /// Parses the header, metadata and tensor table from a prefix of the file, without needing
    /// the tensor data: a download can be validated (and its size known) early. Errors with
    /// [`GgufErrorKind::Truncated`](crate::error::GgufErrorKind::Truncated) until enough bytes
    /// have arrived.
    pub fn parse_header(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_table(bytes, false)
    }

    /// `complete`: `bytes` is the whole file, so counts it cannot hold are refused up front
    /// rather than read until the bytes run out.
    fn parse_table(bytes: &'a [u8], complete: bool) -> Result<Self> {
        let mut c = Cursor { bytes, pos: 0, complete };
        let magic = c.take(4, "magic")?;
        if magic != MAGIC {
            return Err(c.error_at(0, Kind::BadMagic, format!("magic is {magic:02x?}, expected \"GGUF\"")));
        }
        let version = c.u32("version")?;
        if version != VERSION {
            let detail = format!("version {version}; only version {VERSION} is supported");
            return Err(c.error_at(4, Kind::UnsupportedVersion, detail));
        }
        let n_tensors = c.u64("tensor count")?;
        let n_kv = c.u64("metadata count")?;
        // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at
        // least 8 + 4 + 4 + 8: counts beyond what the rest could hold are corrupt.
        let n_kv = c.check_count(n_kv, 13, "metadata count", 16)?;
        let n_tensors = c.check_count(n_tensors, 24, "tensor count", 8)?;

        let mut metadata: Vec<(&str, MetaValue)> = Vec::with_capacity(c.capacity_for(n_kv, 13));
        let mut alignment_at = 0;
        for _ in 0..n_kv {
            let key_at = c.pos;
            let key = c.string("metadata key")?;
            let type_at = c.pos;
            let type_id = c.u32("value type")?;
            let ty = ValueType::from_id(type_id).ok_or_else(|| {
                c.error_at(type_at, Kind::UnknownValueType, format!("type id {type_id} of key {key:?}"))
            })?;
            if key == ALIGNMENT_KEY {
                alignment_at = type_at;
            }
            let value = c.value(ty, 0)?;
            if metadata.iter().any(|(k, _)| *k == key) {
                return Err(c.error_at(key_at, Kind::Duplicate, format!("metadata key {key:?} appears twice")));
            }
            metadata.push((key, value));
        }

        let alignment = match metadata.iter().find(|(k, _)| *k == ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some((_, MetaValue::U32(a))) if a.is_power_of_two() => u64::from(*a),
            Some((_, v)) => {
                let detail = format!("{ALIGNMENT_KEY} = {v:?}: must be a u32 power of two");
                return Err(c.error_at(alignment_at, Kind::BadAlignment, detail));
            }
        };

        let mut tensors: Vec<TensorInfo> = Vec::with_capacity(c.capacity_for(n_tensors, 24));
        for _ in 0..n_tensors {
            let info_at = c.pos;
            let name = c.string("tensor name")?;
            let dims_at = c.pos;
            let n_dims = c.u32("tensor dims")?;
            if n_dims as usize > MAX_DIMS {
                let detail = format!("tensor {name:?} has {n_dims} dims, at most {MAX_DIMS} allowed");
                return Err(c.error_at(dims_at, Kind::TooManyDims, detail));
            }
            let ne = (0..n_dims).map(|_| c.u64("tensor dim")).collect::<Result<Vec<u64>>>()?;
            if let Some(d) = ne.iter().find(|&&d| d > i64::MAX as u64) {
                let detail = format!("tensor {name:?} dim {d} exceeds ggml's int64 range");
                return Err(c.error_at(dims_at, Kind::BadShape, detail));
            }
            let type_at = c.pos;
            let type_id = c.u32("tensor type")?;
            let ggml_type = GgmlType::from_id(type_id).ok_or_else(|| {
                c.error_at(type_at, Kind::UnknownTensorType, format!("ggml type id {type_id} of tensor {name:?}"))
            })?;
            let offset_at = c.pos;
            let offset = c.u64("tensor offset")?;
            let size = tensor_size(&ne, ggml_type).map_err(|detail| {
                c.error_at(dims_at, Kind::BadShape, format!("tensor {name:?} {ne:?} {}: {detail}", ggml_type.name()))
            })?;
            if offset % alignment != 0 {
                let detail = format!("tensor {name:?} starts at {offset}, not a multiple of {alignment}");
                return Err(c.error_at(offset_at, Kind::Misaligned, detail));
            }
            if tensors.iter().any(|t| t.name == name) {
                return Err(c.error_at(info_at, Kind::Duplicate, format!("tensor {name:?} appears twice")));
            }
            tensors.push(TensorInfo { name, ne, ggml_type, offset, size });
        }

        let data_offset = (c.pos as u64).next_multiple_of(alignment);
        Ok(Self { version, metadata, tensors, alignment, data_offset, bytes })
    }

    /// Bytes from the start of the file to the data section.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The file size the tensor table implies: the end of the last tensor's data.
    pub fn expected_len(&self) -> u64 {
        let end = self.tensors.iter().map(|t| t.offset.saturating_add(t.size)).max().unwrap_or(0);
        self.data_offset.saturating_add(end)
    }

    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Metadata in file order.
    pub fn metadata(&self) -> &[(&'a str, MetaValue<'a>)] {
        &self.metadata
    }

    pub fn tensors(&self) -> &[TensorInfo<'a>] {
        &self.tensors
    }

    pub fn get(&self, key: &str) -> Option<&MetaValue<'a>> {
        self.metadata.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn require(&self, key: &str) -> Result<&MetaValue<'a>> {
        self.get(key).ok_or_else(|| Error::MissingMetadata { key: key.into() })
    }

    fn type_error(key: &str, expected: &'static str, got: &MetaValue) -> Error {
        Error::MetadataType { key: key.into(), expected, got: got.value_type().name() }
    }

    /// An integer key that fits `u32` (any integer type, as writers differ).
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        let v = self.require(key)?;
        v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| Self::type_error(key, "an integer fitting u32", v))
    }

    pub fn get_u64(&self, key: &str) -> Result<u64> {
        let v = self.require(key)?;
        v.as_u64().ok_or_else(|| Self::type_error(key, "a non-negative integer", v))
    }

    pub fn get_f32(&self, key: &str) -> Result<f32> {
        let v = self.require(key)?;
        v.as_f64().map(|f| f as f32).ok_or_else(|| Self::type_error(key, "a number", v))
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        match self.require(key)? {
            MetaValue::Bool(b) => Ok(*b),
            v => Err(Self::type_error(key, "bool", v)),
        }
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        let v = self.require(key)?;
        v.as_str().ok_or_else(|| Self::type_error(key, "string", v))
    }

    /// An array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        let v = self.require(key)?;
        v.as_array()
            .and_then(|a| a.values.iter().map(MetaValue::as_str).collect::<Option<Vec<_>>>())
            .ok_or_else(|| Self::type_error(key, "array of strings", v))
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo<'a>> {
        self.tensors.iter().find(|t| t.name == name).ok_or_else(|| Error::MissingTensor { name: name.into() })
    }

    /// The raw bytes of a tensor, in its storage format. Requires a file checked by [`parse`];
    /// on a header-only parse, errors for data that has not arrived.
    ///
    /// [`parse`]: GgufFile::parse
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<&'a [u8]> {
        let start = self.data_offset.saturating_add(info.offset);
        let end = start.saturating_add(info.size);
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(s, e)| self.bytes.get(s..e))
            .ok_or_else(|| Error::Gguf {
                offset: start,
                kind: Kind::Truncated,
                detail: format!("tensor {:?} data ends at byte {end}, only {} available", info.name, self.bytes.len()),
            })
    }

    /// A tensor decoded to f32, in storage order (`ne[0]` fastest).
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        let info = self.tensor(name)?;
        let n = usize::try_from(info.n_elements())
            .map_err(|_| Error::InvalidArgument { op: "tensor_f32", reason: format!("{name:?} is too large") })?;
        let mut out = vec![0.0; n];
        info.ggml_type.dequantize(self.tensor_bytes(info)?, &mut out)?;
        Ok(out)
    }
}

/// Bytes of a tensor: product of `ne` (checked), rows a whole number of blocks.
fn tensor_size(ne: &[u64], ty: GgmlType) -> Result<u64, String> {
    let n = ne.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).ok_or("element count overflows")?;
    let block = ty.block_size() as u64;
    // A tensor with no dims is a scalar: ne[0] is 1, as in ggml.
    if ne.first().copied().unwrap_or(1) % block != 0 {
        return Err(format!("ne[0] must be a multiple of the block size {block}"));
    }
    (n / block).checked_mul(ty.type_size() as u64).ok_or_else(|| "byte size overflows".into())
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    complete: bool,
}

impl<'a> Cursor<'a> {
    fn error_at(&self, offset: usize, kind: Kind, detail: String) -> Error {
        Error::Gguf { offset: offset as u64, kind, detail }
    }

    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        match self.pos.checked_add(n).and_then(|end| self.bytes.get(self.pos..end)) {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(self.error_at(
                self.pos,
                Kind::Truncated,
                format!("{what} needs {n} bytes, {} remain", self.remaining()),
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Refuses counts whose items could not fit in the remaining bytes.
    /// In a complete file, refuses counts whose items could not fit in the remaining bytes
    /// (`at` is where the count was read). A prefix may hold fewer items than its counts say.
    fn check_count(&self, count: u64, min_item_size: u64, what: &str, at: usize) -> Result<u64> {
        if self.complete && count > self.remaining() / min_item_size {
            let detail = format!("{what} {count} exceeds what the remaining {} bytes can hold", self.remaining());
            return Err(self.error_at(at, Kind::TooLarge, detail));
        }
        Ok(count)
    }

    /// Capacity to reserve for `count` items: never more than the remaining bytes could hold.
    fn capacity_for(&self, count: u64, min_item_size: u64) -> usize {
        count.min(self.remaining() / min_item_size) as usize
    }

    fn string(&mut self, what: &str) -> Result<&'a str> {
        let len_at = self.pos;
        let len = self.u64(what)?;
        let len = usize::try_from(len).ok().filter(|&l| l as u64 <= self.remaining()).ok_or_else(|| {
            let detail = format!("{what} of {len} bytes, {} remain", self.remaining());
            self.error_at(len_at, Kind::Truncated, detail)
        })?;
        let start = self.pos;
        let raw = self.take(len, what)?;
        std::str::from_utf8(raw)
            .map_err(|e| self.error_at(start, Kind::InvalidString, format!("{what} is not UTF-8: {e}")))
    }

    fn value(&mut self, ty: ValueType, depth: usize) -> Result<MetaValue<'a>> {
        Ok(match ty {
            ValueType::U8 => MetaValue::U8(self.array::<1>("u8")?[0]),
            ValueType::I8 => MetaValue::I8(i8::from_le_bytes(self.array("i8")?)),
            ValueType::U16 => MetaValue::U16(u16::from_le_bytes(self.array("u16")?)),
            ValueType::I16 => MetaValue::I16(i16::from_le_bytes(self.array("i16")?)),
            ValueType::U32 => MetaValue::U32(self.u32("u32")?),
            ValueType::I32 => MetaValue::I32(i32::from_le_bytes(self.array("i32")?)),
            ValueType::F32 => MetaValue::F32(f32::from_le_bytes(self.array("f32")?)),
            ValueType::Bool => {
                let at = self.pos;
                match self.array::<1>("bool")?[0] {
                    0 => MetaValue::Bool(false),
                    1 => MetaValue::Bool(true),
                    b => return Err(self.error_at(at, Kind::UnknownValueType, format!("bool byte {b}"))),
                }
            }
            ValueType::String => MetaValue::String(Cow::Borrowed(self.string("string")?)),
            ValueType::U64 => MetaValue::U64(self.u64("u64")?),
            ValueType::I64 => MetaValue::I64(i64::from_le_bytes(self.array("i64")?)),
            ValueType::F64 => MetaValue::F64(f64::from_le_bytes(self.array("f64")?)),
            ValueType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    let detail = format!("more than {MAX_ARRAY_DEPTH} levels");
                    return Err(self.error_at(self.pos, Kind::TooDeep, detail));
                }
                let type_at = self.pos;
                let type_id = self.u32("array element type")?;
                let elem_type = ValueType::from_id(type_id).ok_or_else(|| {
                    self.error_at(type_at, Kind::UnknownValueType, format!("array element type id {type_id}"))
                })?;
                let len_at = self.pos;
                let len = self.u64("array length")?;
                let len = self.check_count(len, elem_type.min_size(), "array length", len_at)?;
                let mut values = Vec::with_capacity(self.capacity_for(len, elem_type.min_size()));
                for _ in 0..len {
                    values.push(self.value(elem_type, depth + 1)?);
                }
                MetaValue::Array(MetaArray { elem_type, values })
            }
        })
    }
}
