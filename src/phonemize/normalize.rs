//! STUB (lead's temporary; replaced by the numbers helper)
#[derive(Debug, Clone, PartialEq)]
pub struct Piece { pub text: String, pub source: std::ops::Range<usize>, pub normalized: bool }
pub fn normalize(text: &str, _british: bool) -> Vec<Piece> { vec![Piece { text: text.to_string(), source: 0..text.len(), normalized: false }] }
