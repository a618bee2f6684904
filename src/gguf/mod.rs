//! GGUF v3, ggml's model container: a zero-copy reader over a byte slice (the same code parses
//! an `ArrayBuffer` in the browser) and a writer; the block formats live in [`crate::quant`].
//!
//! Layout: header (magic, version, tensor count, metadata count), metadata key/value pairs,
//! tensor infos (name, `ne` dims with `ne[0]` fastest, type, offset), padding to the alignment,
//! then tensor data, each tensor padded to the alignment.

mod reader;
mod writer;

use std::borrow::Cow;

pub use crate::quant::GgmlType;
pub use reader::{GgufFile, TensorInfo};
pub use writer::GgufWriter;

pub const MAGIC: [u8; 4] = *b"GGUF";
pub const VERSION: u32 = 3;
/// Used when `general.alignment` is absent (the spec's and ggml's default).
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's GGML_MAX_DIMS.
pub const MAX_DIMS: usize = 4;
pub const ALIGNMENT_KEY: &str = "general.alignment";

/// A metadata value. Strings borrow from the file when read.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue<'a> {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(Cow<'a, str>),
    /// Elements of one type (`elem_type`), possibly arrays themselves.
    Array(MetaArray<'a>),
    U64(u64),
    I64(i64),
    F64(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetaArray<'a> {
    pub elem_type: ValueType,
    pub values: Vec<MetaValue<'a>>,
}

/// GGUF metadata value type ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    pub fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }

    /// Fewest bytes one value of this type takes in a file (bounds array allocations).
    fn min_size(self) -> u64 {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

impl MetaValue<'_> {
    pub fn value_type(&self) -> ValueType {
        match self {
            MetaValue::U8(_) => ValueType::U8,
            MetaValue::I8(_) => ValueType::I8,
            MetaValue::U16(_) => ValueType::U16,
            MetaValue::I16(_) => ValueType::I16,
            MetaValue::U32(_) => ValueType::U32,
            MetaValue::I32(_) => ValueType::I32,
            MetaValue::F32(_) => ValueType::F32,
            MetaValue::Bool(_) => ValueType::Bool,
            MetaValue::String(_) => ValueType::String,
            MetaValue::Array(_) => ValueType::Array,
            MetaValue::U64(_) => ValueType::U64,
            MetaValue::I64(_) => ValueType::I64,
            MetaValue::F64(_) => ValueType::F64,
        }
    }

    /// Any unsigned or non-negative signed integer, widened.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v.into()),
            MetaValue::U16(v) => Some(v.into()),
            MetaValue::U32(v) => Some(v.into()),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&MetaArray<'_>> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Copies borrowed strings so the value outlives the file's bytes.
    pub fn into_owned(self) -> MetaValue<'static> {
        match self {
            MetaValue::String(s) => MetaValue::String(Cow::Owned(s.into_owned())),
            MetaValue::Array(a) => MetaValue::Array(MetaArray {
                elem_type: a.elem_type,
                values: a.values.into_iter().map(MetaValue::into_owned).collect(),
            }),
            MetaValue::U8(v) => MetaValue::U8(v),
            MetaValue::I8(v) => MetaValue::I8(v),
            MetaValue::U16(v) => MetaValue::U16(v),
            MetaValue::I16(v) => MetaValue::I16(v),
            MetaValue::U32(v) => MetaValue::U32(v),
            MetaValue::I32(v) => MetaValue::I32(v),
            MetaValue::F32(v) => MetaValue::F32(v),
            MetaValue::Bool(v) => MetaValue::Bool(v),
            MetaValue::U64(v) => MetaValue::U64(v),
            MetaValue::I64(v) => MetaValue::I64(v),
            MetaValue::F64(v) => MetaValue::F64(v),
        }
    }
}

impl<'a> MetaValue<'a> {
    pub fn string(s: impl Into<Cow<'a, str>>) -> Self {
        MetaValue::String(s.into())
    }

    /// An array of strings.
    pub fn strings<S: Into<Cow<'a, str>>>(items: impl IntoIterator<Item = S>) -> Self {
        MetaValue::Array(MetaArray { elem_type: ValueType::String, values: items.into_iter().map(MetaValue::string).collect() })
    }
}

/// Values as plain JSON-like data: numbers, booleans, strings, nested lists.
impl serde::Serialize for MetaValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MetaValue::U8(v) => s.serialize_u8(*v),
            MetaValue::I8(v) => s.serialize_i8(*v),
            MetaValue::U16(v) => s.serialize_u16(*v),
            MetaValue::I16(v) => s.serialize_i16(*v),
            MetaValue::U32(v) => s.serialize_u32(*v),
            MetaValue::I32(v) => s.serialize_i32(*v),
            MetaValue::F32(v) => s.serialize_f32(*v),
            MetaValue::Bool(v) => s.serialize_bool(*v),
            MetaValue::String(v) => s.serialize_str(v),
            MetaValue::Array(a) => s.collect_seq(&a.values),
            MetaValue::U64(v) => s.serialize_u64(*v),
            MetaValue::I64(v) => s.serialize_i64(*v),
            MetaValue::F64(v) => s.serialize_f64(*v),
        }
    }
}

/// `ne` dims (GGUF order, `ne[0]` fastest) as numpy/PyTorch show them: reversed.
pub fn numpy_shape(ne: &[u64]) -> Vec<u64> {
    ne.iter().rev().copied().collect()
}
