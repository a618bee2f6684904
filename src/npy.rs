//! NumPy `.npy` (format 1.0) writing, for dumping tensors and intermediates that Python tools
//! compare against the reference.

use std::io::Write;

/// Element types the dumps use.
pub trait NpyElement: Copy {
    /// NumPy dtype string, little-endian.
    const DESCR: &'static str;
    fn put(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for i64 {
    const DESCR: &'static str = "<i8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// Writes `data` (C order) with `shape` as a `.npy` file. `shape` must multiply to `data.len()`.
pub fn write_npy<T: NpyElement>(out: &mut impl Write, shape: &[u64], data: &[T]) -> std::io::Result<()> {
    let n = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    if n != Some(data.len() as u64) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("shape {shape:?} does not hold {} values", data.len()),
        ));
    }
    let dims = match shape {
        [d] => format!("{d},"),
        _ => shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': ({dims}), }}", T::DESCR);
    // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of
    // 64 and ended by a newline.
    let total = (10 + header.len() + 1).next_multiple_of(64);
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut bytes = Vec::with_capacity(total + data.len() * 8);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    data.iter().for_each(|v| v.put(&mut bytes));
    out.write_all(&bytes)
}
