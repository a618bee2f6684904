//! GGUF v3 writer, laid out as gguf-py and ggml write: metadata in insertion order, the tensor
//! table, padding, then each tensor's data padded to the alignment.

use std::borrow::Cow;
use std::io::Write;

use super::{GgmlType, MetaValue, ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC, MAX_DIMS, VERSION};
use crate::error::{Error, Result};

struct PendingTensor<'a> {
    name: String,
    ne: Vec<u64>,
    ggml_type: GgmlType,
    data: Cow<'a, [u8]>,
}

/// Collects metadata and tensors, then writes them in one pass.
pub struct GgufWriter<'a> {
    metadata: Vec<(String, MetaValue<'a>)>,
    tensors: Vec<PendingTensor<'a>>,
    alignment: u64,
}

impl Default for GgufWriter<'_> {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidArgument { op: "gguf write", reason }
}

impl<'a> GgufWriter<'a> {
    pub fn new() -> Self {
        Self { metadata: Vec::new(), tensors: Vec::new(), alignment: DEFAULT_ALIGNMENT }
    }

    /// Sets a metadata key (replacing an earlier value, keeping its position).
    /// `general.alignment` also sets the alignment, so it must be a u32 power of two.
    pub fn set(&mut self, key: &str, value: MetaValue<'a>) -> Result<()> {
        if key == ALIGNMENT_KEY {
            match value {
                MetaValue::U32(a) if a.is_power_of_two() => self.alignment = a.into(),
                other => return Err(invalid(format!("{ALIGNMENT_KEY} must be a u32 power of two, got {other:?}"))),
            }
        }
        check_value(&value)?;
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.metadata.push((key.to_owned(), value)),
        }
        Ok(())
    }

    /// Alignment of the data section and of each tensor (a power of two; 32 unless set),
    /// recorded as `general.alignment`.
    pub fn set_alignment(&mut self, alignment: u32) -> Result<()> {
        self.set(ALIGNMENT_KEY, MetaValue::U32(alignment))
    }

    /// Adds a tensor already encoded in `ggml_type`; `ne` in GGUF order (`ne[0]` fastest).
    pub fn add_tensor(&mut self, name: &str, ne: &[u64], ggml_type: GgmlType, data: impl Into<Cow<'a, [u8]>>) -> Result<()> {
        let data = data.into();
        if ne.len() > MAX_DIMS {
            return Err(invalid(format!("tensor {name:?} has {} dims, at most {MAX_DIMS}", ne.len())));
        }
        if ne.first().is_some_and(|&d| d % ggml_type.block_size() as u64 != 0) {
            return Err(invalid(format!("tensor {name:?} {ne:?} {}: ne[0] must be a multiple of {}", ggml_type.name(), ggml_type.block_size())));
        }
        let n = ne.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let expected = n.and_then(|n| usize::try_from(n).ok()).and_then(|n| ggml_type.bytes_for(n));
        if expected != Some(data.len()) {
            return Err(invalid(format!(
                "tensor {name:?} {ne:?} {} needs {expected:?} bytes (ne[0] a multiple of {}), got {}",
                ggml_type.name(),
                ggml_type.block_size(),
                data.len()
            )));
        }
        if self.tensors.iter().any(|t| t.name == name) {
            return Err(invalid(format!("tensor {name:?} added twice")));
        }
        self.tensors.push(PendingTensor { name: name.to_owned(), ne: ne.to_vec(), ggml_type, data });
        Ok(())
    }

    /// Encodes f32 values (storage order, `ne[0]` fastest) into `ggml_type` and adds them.
    pub fn add_tensor_f32(&mut self, name: &str, ne: &[u64], ggml_type: GgmlType, values: &[f32]) -> Result<()> {
        let mut data = Vec::new();
        ggml_type.quantize(values, &mut data)?;
        self.add_tensor(name, ne, ggml_type, data)
    }

    /// Writes the file.
    pub fn write_to(&self, out: &mut impl Write) -> Result<()> {
        let io = |e: std::io::Error| invalid(format!("writing: {e}"));
        let mut head = Vec::new();
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        head.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            put_string(&mut head, key);
            head.extend_from_slice(&(value.value_type() as u32).to_le_bytes());
            put_value(&mut head, value);
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            put_string(&mut head, &t.name);
            head.extend_from_slice(&(t.ne.len() as u32).to_le_bytes());
            t.ne.iter().for_each(|d| head.extend_from_slice(&d.to_le_bytes()));
            head.extend_from_slice(&t.ggml_type.id().to_le_bytes());
            head.extend_from_slice(&offset.to_le_bytes());
            offset = (offset + t.data.len() as u64).next_multiple_of(self.alignment);
        }
        head.resize((head.len() as u64).next_multiple_of(self.alignment) as usize, 0);
        out.write_all(&head).map_err(io)?;
        for t in &self.tensors {
            out.write_all(&t.data).map_err(io)?;
            let pad = (t.data.len() as u64).next_multiple_of(self.alignment) - t.data.len() as u64;
            out.write_all(&vec![0; pad as usize]).map_err(io)?;
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// Arrays must hold values of their declared element type.
fn check_value(value: &MetaValue) -> Result<()> {
    if let MetaValue::Array(a) = value {
        if let Some(bad) = a.values.iter().find(|v| v.value_type() != a.elem_type) {
            return Err(invalid(format!(
                "array of {} holds a {}",
                a.elem_type.name(),
                bad.value_type().name()
            )));
        }
        a.values.iter().try_for_each(check_value)?;
    }
    Ok(())
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &MetaValue) {
    match value {
        MetaValue::U8(v) => out.push(*v),
        MetaValue::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::Bool(v) => out.push(u8::from(*v)),
        MetaValue::String(s) => put_string(out, s),
        MetaValue::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
        MetaValue::Array(a) => {
            out.extend_from_slice(&(a.elem_type as u32).to_le_bytes());
            out.extend_from_slice(&(a.values.len() as u64).to_le_bytes());
            a.values.iter().for_each(|v| put_value(out, v));
        }
    }
}
