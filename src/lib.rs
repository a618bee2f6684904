//! tritone: Kokoro-82M text-to-speech for the browser and the command line.
//!
//! Modules, from the leaves up (imports only point to modules listed before):
//! - [`error`] (the one error type, with stable codes), [`quant`] (weight formats, packed
//!   tensors), [`vocab`], [`rng`], [`npy`], [`audio`] (STFT, WAV)
//! - [`gguf`] (the model container), [`config`] (Kokoro's hyperparameters in GGUF metadata),
//!   [`formats`] (ONNX, `.pth`, TTS.cpp GGUF, `.npz` import)
//! - [`backend`]: the closed op set, implemented by the reference (f64 loops), CPU and GPU backends;
//!   [`conformance`] holds every backend to the reference
//! - [`phonemize`]: text to phonemes
//! - [`model`]: Kokoro, one file per submodule, written once over the backend
//! - [`tts`]: the engine façade (backend choice, voices, options, chunking)
//! - `web` (wasm API) and the `tritone` binary

pub mod audio;
pub mod backend;
pub mod config;
pub mod conformance;
pub mod error;
pub mod formats;
pub mod gguf;
pub mod model;
pub mod npy;
pub mod phonemize;
pub mod quant;
pub mod rng;
pub mod tts;
pub mod vocab;

#[cfg(target_arch = "wasm32")]
mod web;
/// The threaded wasm build's `initThreadPool(n)`: starts n Web Workers sharing the module's
/// memory (the page must be cross-origin isolated); the CPU kernels then run on them.
#[cfg(all(target_arch = "wasm32", feature = "wasm-threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;

pub use error::{Error, Result};
