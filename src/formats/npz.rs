//! NumPy `.npz` archives (`np.savez`, stored or deflated), such as kokoro-onnx's
//! `voices-v1.0.bin`: a zip of `.npy` arrays.

use std::io::{Cursor, Read};

use zip::{CompressionMethod, ZipArchive};

use crate::error::{Error, Result};
use crate::npy::{read_npy, NpyArray};

fn npz_error(detail: impl Into<String>) -> Error {
    Error::InvalidArgument { op: "npz", reason: detail.into() }
}

/// Whether `bytes` look like an `.npz`: a zip whose entries are `.npy` files.
pub fn is_npz(bytes: &[u8]) -> bool {
    ZipArchive::new(Cursor::new(bytes)).is_ok_and(|zip| !zip.is_empty() && zip.file_names().all(|n| n.ends_with(".npy")))
}

/// Every array, by name without `.npy`, in archive order.
pub fn read_npz(bytes: &[u8]) -> Result<Vec<(String, NpyArray)>> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| npz_error(format!("not a zip archive: {e}")))?;
    let mut arrays = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        // The zip crate is built without codecs; deflated members are inflated here.
        let mut entry = zip.by_index_raw(index).map_err(|e| npz_error(format!("entry {index}: {e}")))?;
        let name = entry.name().to_owned();
        let Some(stem) = name.strip_suffix(".npy") else {
            return Err(npz_error(format!("{name:?} is not a .npy array")));
        };
        let size = entry.size();
        let method = entry.compression();
        let mut raw = Vec::with_capacity(entry.compressed_size().min(1 << 30) as usize);
        entry.read_to_end(&mut raw).map_err(|e| npz_error(format!("{name}: {e}")))?;
        let data = match method {
            CompressionMethod::Stored => raw,
            m if m == CompressionMethod::DEFLATE => miniz_oxide::inflate::decompress_to_vec_with_limit(&raw, size as usize)
                .map_err(|e| npz_error(format!("{name}: bad deflate data ({e:?})")))?,
            other => return Err(npz_error(format!("{name}: compression {other} is not supported (np.savez and np.savez_compressed are)"))),
        };
        if data.len() as u64 != size {
            return Err(npz_error(format!("{name}: {} bytes, the archive says {size}", data.len())));
        }
        let array = read_npy(&data).map_err(|e| npz_error(format!("{name}: {e}")))?;
        arrays.push((stem.to_owned(), array));
    }
    Ok(arrays)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn npy(values: &[f32], shape: &str) -> Vec<u8> {
        let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}");
        let mut header = header.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header);
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    fn zip_of(entries: &[(&str, Vec<u8>, CompressionMethod)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in entries {
            zip.start_file(*name, SimpleFileOptions::default().compression_method(*method)).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_stored_arrays_and_refuses_other_members() {
        let bytes = zip_of(&[("a.npy", npy(&[1.0, 2.0], "2,"), CompressionMethod::Stored), ("b.npy", npy(&[3.0], "1, 1"), CompressionMethod::Stored)]);
        assert!(is_npz(&bytes));
        let arrays = read_npz(&bytes).unwrap();
        assert_eq!(arrays[0].0, "a");
        assert_eq!(arrays[0].1.values, [1.0, 2.0]);
        assert_eq!(arrays[1].1.shape, [1, 1]);
        let odd = zip_of(&[("data.pkl", vec![1, 2], CompressionMethod::Stored)]);
        assert!(!is_npz(&odd));
        assert!(read_npz(&odd).unwrap_err().to_string().contains("not a .npy"));
        assert!(read_npz(b"PK\x03\x04 truncated").is_err());
    }

    #[test]
    fn inflates_deflated_members() {
        // np.savez_compressed(voice=arange(32).reshape(4, 1, 8) / 1000 as f32, other=[1.5, 2.5])
        let arrays = read_npz(include_bytes!("../../tests/fixtures/npz/compressed.npz")).unwrap();
        let (name, voice) = &arrays[0];
        assert_eq!((name.as_str(), voice.shape.as_slice()), ("voice", &[4, 1, 8][..]));
        assert_eq!(voice.values[17], f64::from(17.0f32 / 1000.0));
        assert_eq!(arrays[1].1.values, [1.5, 2.5]);
    }
}
