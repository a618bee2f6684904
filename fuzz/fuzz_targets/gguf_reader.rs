//! Any bytes: the GGUF reader returns a file or an error, never panics, and what it accepts
//! can be decoded tensor by tensor and written back to an equivalent file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tritone::gguf::{GgufFile, GgufWriter};

fuzz_target!(|bytes: &[u8]| {
    let _ = GgufFile::parse_header(bytes);
    let Ok(file) = GgufFile::parse(bytes) else { return };
    let mut writer = GgufWriter::new();
    for (key, value) in file.metadata() {
        writer.set(key, value.clone()).expect("metadata the reader accepted is writable");
    }
    for t in file.tensors() {
        // Large shapes are valid but not worth decoding here.
        if t.n_elements() <= 1 << 16 {
            file.tensor_f32(t.name).expect("in-bounds tensor data decodes");
        }
        let data = file.tensor_bytes(t).expect("parse checked the bounds");
        writer.add_tensor(t.name, &t.ne, t.ggml_type, data).expect("a tensor the reader accepted is writable");
    }
    let again = writer.to_bytes().expect("writing to memory");
    let reread = GgufFile::parse(&again).expect("our own output parses");
    // Compared as bytes where values are involved: NaN metadata is not equal to itself.
    let keys = |f: &GgufFile| f.metadata().iter().map(|(k, v)| (k.to_string(), v.value_type())).collect::<Vec<_>>();
    assert_eq!(keys(&reread), keys(&file));
    for (a, b) in reread.tensors().iter().zip(file.tensors()) {
        assert_eq!((a.name, &a.ne, a.ggml_type, a.size), (b.name, &b.ne, b.ggml_type, b.size));
        assert_eq!(reread.tensor_bytes(a).unwrap(), file.tensor_bytes(b).unwrap());
    }
    assert_eq!(reread.tensors().len(), file.tensors().len());
});
