//! The one error type of the library. Each variant has a stable [`Error::code`] that the JS API
//! (`TritoneError.code`), the CLI and the server expose; messages may change, codes do not.

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

    /// A GGUF file is malformed or uses something this reader does not support.
    #[error("GGUF, byte {offset}: {kind}: {detail}")]
    Gguf { offset: u64, kind: GgufErrorKind, detail: String },

    /// A metadata key the caller needs is absent.
    #[error("metadata key {key:?} is missing")]
    MissingMetadata { key: String },

    /// A metadata key holds a value of another type than the caller needs.
    #[error("metadata key {key:?} must be {expected}, got {got}")]
    MetadataType { key: String, expected: &'static str, got: &'static str },

    /// A tensor the caller needs is absent.
    #[error("tensor {name:?} is missing")]
    MissingTensor { name: String },

    /// A stored tensor has another shape than the model's config needs.
    #[error("tensor {name:?} has shape {got:?}, the config needs {expected:?}")]
    TensorShape { name: String, expected: Vec<usize>, got: Vec<usize> },

    /// A voice name the model does not have.
    #[error("unknown voice {name:?}; this model has: {}", available.join(", "))]
    UnknownVoice { name: String, available: Vec<String> },

    /// Phonemes outside the model's vocabulary (each with its code point).
    #[error("phonemes outside the vocabulary: {}", symbols.iter().map(|c| format!("{c:?} (U+{:04X})", *c as u32)).collect::<Vec<_>>().join(", "))]
    UnknownPhonemes { symbols: Vec<char> },

    /// Nothing to speak: empty text, or text that phonemizes to nothing.
    #[error("nothing to speak{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    EmptyInput { detail: String },

    /// The caller stopped the synthesis (a listener left, a request was cancelled).
    #[error("cancelled")]
    Cancelled,

    /// A synthesis option out of range or malformed (speed, seed, voice blend, language, backend).
    #[error("option {option}: {reason}")]
    BadOption { option: &'static str, reason: String },

    /// A backend has no kernel for this op yet.
    #[error("{op} is not implemented on the {backend} backend yet")]
    Unsupported { op: &'static str, backend: &'static str },

    /// No GPU adapter could be found or opened.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),

    /// The GPU rejected or lost work (device lost, out of memory, validation error, failed map).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// Malformed SSML; `offset` is the byte offset in the input where the problem starts.
    #[error("SSML, byte {offset}: {detail}")]
    Ssml { offset: usize, detail: String },

    /// A phoneme string in a named alphabet (ipa, x-sampa, arpabet, kirshenbaum) that cannot be
    /// converted; `offset` is the byte offset in that string.
    #[error("{alphabet} phonemes, byte {offset}: {detail}")]
    Alphabet { alphabet: &'static str, offset: usize, detail: String },

    /// An ONNX file that cannot be read, or whose weights cannot be recovered.
    #[error("ONNX: {0}")]
    Onnx(String),

    /// Phonemizer data (built-in or a user lexicon) that cannot be read.
    #[error("lexicon: {0}")]
    Lexicon(String),
}

impl Error {
    /// A stable, machine-readable name of the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ShapeMismatch { .. } => "shape_mismatch",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::WeightFormat { .. } => "weight_format",
            Error::Gguf { .. } => "bad_gguf",
            Error::MissingMetadata { .. } => "missing_metadata",
            Error::MetadataType { .. } => "metadata_type",
            Error::MissingTensor { .. } => "missing_tensor",
            Error::TensorShape { .. } => "tensor_shape",
            Error::UnknownVoice { .. } => "unknown_voice",
            Error::UnknownPhonemes { .. } => "unknown_phonemes",
            Error::EmptyInput { .. } => "empty_input",
            Error::BadOption { .. } => "bad_option",
            Error::Cancelled => "cancelled",
            Error::Unsupported { .. } => "unsupported",
            Error::NoAdapter(_) => "no_adapter",
            Error::Gpu(_) => "gpu",
            Error::Ssml { .. } => "bad_ssml",
            Error::Alphabet { .. } => "bad_phoneme_alphabet",
            Error::Onnx(_) => "bad_onnx",
            Error::Lexicon(_) => "bad_lexicon",
        }
    }
}

/// Fails unless `shape` holds exactly `len` values.
pub(crate) fn check_len(what: &'static str, shape: &[usize], len: usize) -> Result<()> {
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match expected {
        Some(n) if n == len => Ok(()),
        _ => Err(Error::ShapeMismatch {
            what,
            shape: shape.to_vec(),
            expected: expected.unwrap_or(usize::MAX),
            got: len,
        }),
    }
}

/// What is wrong with a GGUF file; [`Error::Gguf`] adds where and the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgufErrorKind {
    /// The bytes end before the structure does (a truncated or still-downloading file).
    Truncated,
    BadMagic,
    UnsupportedVersion,
    /// A count or size larger than the file could hold.
    TooLarge,
    UnknownValueType,
    UnknownTensorType,
    InvalidString,
    BadAlignment,
    Misaligned,
    TooManyDims,
    BadShape,
    Duplicate,
    /// Tensor data outside the file.
    OutOfBounds,
    TooDeep,
}

impl std::fmt::Display for GgufErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Truncated => "truncated",
            Self::BadMagic => "not a GGUF file",
            Self::UnsupportedVersion => "unsupported version",
            Self::TooLarge => "count larger than the file",
            Self::UnknownValueType => "unknown metadata value type",
            Self::UnknownTensorType => "unknown tensor type",
            Self::InvalidString => "invalid string",
            Self::BadAlignment => "bad alignment",
            Self::Misaligned => "misaligned tensor data",
            Self::TooManyDims => "too many dimensions",
            Self::BadShape => "bad tensor shape",
            Self::Duplicate => "duplicate name",
            Self::OutOfBounds => "tensor data outside the file",
            Self::TooDeep => "arrays nested too deeply",
        })
    }
}
