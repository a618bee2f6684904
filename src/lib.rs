//! tritone: Kokoro-82M text-to-speech for the browser and the command line.
//!
//! The crate reads as the pipeline: [`gguf`] reads and writes the model container and ggml's
//! block formats; [`backend`] holds the closed op set the model is written
//! over (CPU with SIMD, GPU with wgpu/WGSL); [`selftest`] checks every backend's ops against
//! their scalar definitions; `web` is the wasm-bindgen API.

pub mod audio;
pub mod backend;
pub mod error;
pub mod formats;
pub mod gguf;
pub mod model;
pub mod npy;
pub mod phonemize;
pub mod selftest;

#[cfg(target_arch = "wasm32")]
mod web;

pub use error::{Error, Result};
