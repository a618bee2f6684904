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

/// A `.npy` array read back: little-endian f4, f8, i4 or i8, C order; values as f64.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl NpyArray {
    pub fn to_f32(&self) -> Vec<f32> {
        self.values.iter().map(|&v| v as f32).collect()
    }
}

/// Reads a `.npy` (format 1.0/2.0) of a little-endian numeric dtype; Fortran-ordered arrays
/// (what NumPy writes for transposed views) are returned in C order.
pub fn read_npy(bytes: &[u8]) -> std::io::Result<NpyArray> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("npy: {why}"));
    if bytes.get(..6) != Some(b"\x93NUMPY") {
        return Err(bad("no magic"));
    }
    let (header_len, start) = match bytes.get(6) {
        Some(1) if bytes.len() >= 10 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        Some(2 | 3) if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad("unknown version")),
    };
    let header = bytes.get(start..start + header_len).ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header not UTF-8"))?;
    let fortran = header.contains("'fortran_order': True");
    let field = |key: &str| header.split(key).nth(1).ok_or_else(|| bad(&format!("no {key}")));
    let descr = field("'descr': '")?.split('\'').next().unwrap_or("");
    let dims = field("'shape': (")?.split(')').next().unwrap_or("");
    let shape: Vec<usize> = dims.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().map_err(|_| bad("shape"))).collect::<Result<_, _>>()?;
    let data = bytes.get(start + header_len..).unwrap_or_default();
    let n: usize = shape.iter().product();
    let values: Vec<f64> = match descr {
        "<f4" => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).collect(),
        "<f8" => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default())).collect(),
        "<i4" => data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).collect(),
        "<i8" => data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()) as f64).collect(),
        other => return Err(bad(&format!("dtype {other}"))),
    };
    if values.len() != n {
        return Err(bad(&format!("{} values for shape {shape:?}", values.len())));
    }
    let values = if fortran { fortran_to_c(&values, &shape) } else { values };
    Ok(NpyArray { shape, values })
}

/// Reorders column-major values of `shape` into row-major order.
fn fortran_to_c(values: &[f64], shape: &[usize]) -> Vec<f64> {
    let mut out = vec![0.0; values.len()];
    let mut index = vec![0usize; shape.len()];
    for slot in out.iter_mut() {
        // `index` walks C order; its column-major offset has the first dim fastest.
        let mut offset = 0;
        let mut stride = 1;
        for (i, &d) in index.iter().zip(shape) {
            offset += i * stride;
            stride *= d;
        }
        *slot = values[offset];
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fortran_order() {
        let mut bytes = Vec::new();
        write_npy(&mut bytes, &[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(read_npy(&bytes).unwrap(), NpyArray { shape: vec![2, 3], values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] });
        // The same matrix stored column-major.
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend_from_slice(&(header.len() as u16).to_le_bytes());
        f.extend_from_slice(header.as_bytes());
        for v in [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(read_npy(&f).unwrap().values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
