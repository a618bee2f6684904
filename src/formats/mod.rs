//! Model files from other tools: ONNX exports (kokoro-onnx, kokoro's `KModelForONNX`) and
//! NumPy `.npz` voice archives.

pub mod npz;
pub mod onnx;
