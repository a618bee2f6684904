//! Model files from other tools, read into tritone's terms: ONNX exports (kokoro-onnx, kokoro's
//! `KModelForONNX`), PyTorch `.pth` checkpoints, TTS.cpp's Kokoro GGUF layout, and NumPy `.npz`
//! voice archives.

pub mod npz;
pub mod onnx;
pub mod pth;
pub mod ttscpp;
