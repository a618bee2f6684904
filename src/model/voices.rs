//! Voice packs: per voice a `[510, 256]` table of style vectors, one row per phoneme count;
//! the first 128 values style the decoder, the last 128 the prosody. Blends like
//! `"af_bella(2)+af_sky(1)"` are weighted means of packs.

use crate::error::{Error, Result};

/// Rows per pack (one per phoneme count 1..=510) and values per row.
pub const ROWS: usize = 510;
pub const STYLE: usize = 256;

/// A parsed voice request: (voice name, weight) pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct VoiceMix(pub Vec<(String, f32)>);

impl VoiceMix {
    /// `name`, or `name(weight)+name(weight)…` (a missing weight is 1).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: String| Error::BadOption { option: "voice", reason };
        let mut parts = Vec::new();
        for part in spec.split('+').map(str::trim) {
            let (name, weight) = match part.split_once('(') {
                Some((name, rest)) => {
                    let w = rest.strip_suffix(')').ok_or_else(|| bad(format!("{part:?}: expected name(weight)")))?;
                    let w: f32 = w.trim().parse().map_err(|_| bad(format!("{part:?}: weight {w:?} is not a number")))?;
                    (name.trim(), w)
                }
                None => (part, 1.0),
            };
            if name.is_empty() {
                return Err(bad(format!("empty voice name in {spec:?}")));
            }
            if !weight.is_finite() || weight <= 0.0 {
                return Err(bad(format!("{part:?}: the weight must be positive")));
            }
            parts.push((name.to_owned(), weight));
        }
        Ok(Self(parts))
    }

    /// The weighted mean of the named packs; `lookup` gives a pack by name.
    pub fn blend<'p>(&self, available: &[String], lookup: impl Fn(&str) -> Result<&'p [f32]>) -> Result<Vec<f32>> {
        let total: f32 = self.0.iter().map(|(_, w)| w).sum();
        let mut out = vec![0.0f32; ROWS * STYLE];
        for (name, weight) in &self.0 {
            if !available.iter().any(|v| v == name) {
                return Err(Error::UnknownVoice { name: name.clone(), available: available.to_vec() });
            }
            let pack = lookup(name)?;
            for (o, v) in out.iter_mut().zip(pack) {
                *o += v * (weight / total);
            }
        }
        Ok(out)
    }
}

/// The style row for an utterance of `phonemes` code points, as the reference pipeline picks
/// it: `pack[len(phonemes) − 1]` (clamped to the pack).
pub fn style_row(pack: &[f32], phoneme_count: usize) -> &[f32] {
    let row = phoneme_count.clamp(1, ROWS) - 1;
    &pack[row * STYLE..(row + 1) * STYLE]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mixes() {
        assert_eq!(VoiceMix::parse("af_bella").unwrap(), VoiceMix(vec![("af_bella".into(), 1.0)]));
        assert_eq!(
            VoiceMix::parse("af_bella(2) + af_sky(0.5)").unwrap(),
            VoiceMix(vec![("af_bella".into(), 2.0), ("af_sky".into(), 0.5)])
        );
        for bad in ["", "a(", "a(x)", "a(-1)", "a(0)", "+b", "a(nan)"] {
            assert!(VoiceMix::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn blends_by_weight_and_names_unknown_voices() {
        let a = vec![1.0f32; ROWS * STYLE];
        let b = vec![4.0f32; ROWS * STYLE];
        let names = vec!["a".to_string(), "b".to_string()];
        let lookup = |n: &str| Ok(if n == "a" { a.as_slice() } else { b.as_slice() });
        let mix = VoiceMix::parse("a(2)+b(1)").unwrap().blend(&names, lookup).unwrap();
        assert!(mix.iter().all(|&v| (v - 2.0).abs() < 1e-6));
        let err = VoiceMix::parse("c").unwrap().blend(&names, lookup).unwrap_err().to_string();
        assert!(err.contains("unknown voice \"c\"; this model has: a, b"), "{err}");
    }

    #[test]
    fn style_row_follows_the_reference_pipeline() {
        let pack: Vec<f32> = (0..ROWS * STYLE).map(|i| (i / STYLE) as f32).collect();
        assert_eq!(style_row(&pack, 13)[0], 12.0);
        assert_eq!(style_row(&pack, 0)[0], 0.0);
        assert_eq!(style_row(&pack, 9999)[0], 509.0);
    }
}
