//! The one error type of the library.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Data length does not match the shape it claims.
    #[error("{what}: shape {shape:?} needs {expected} values, got {got}")]
    ShapeMismatch { what: &'static str, shape: Vec<usize>, expected: usize, got: usize },

    /// An operation was given arguments it cannot compute with.
    #[error("{op}: {reason}")]
    InvalidArgument { op: &'static str, reason: String },

    /// An operation received a weight stored in a format it has no kernel for.
    #[error("{op}: {what} must be {expected}, got {got}")]
    WeightFormat { op: &'static str, what: &'static str, expected: &'static str, got: &'static str },

    /// No GPU adapter could be found or opened.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),

    /// The GPU rejected or lost work (device lost, out of memory, validation error, failed map).
    #[error("GPU error: {0}")]
    Gpu(String),
}
