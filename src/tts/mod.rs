//! From a model file and a phoneme string of any length to samples: loads either GGUF layout,
//! picks or blends the voice, splits long input the way the reference pipeline prefers, and
//! joins the pieces without clicks.

use crate::config::KokoroConfig;
use bytes::Bytes;

use crate::model::kokoro::{Kokoro, StageTimes};
use crate::model::voices::{style_row, VoiceMix, ROWS, STYLE};
use crate::model::weights::{GgufWeights, TranslatedWeights, WeightSource};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::formats::ttscpp::{is_ttscpp_kokoro, translate};
use crate::gguf::GgufFile;
use crate::phonemize::Segment;

/// A loaded model with its voices.
pub struct Tts<B: Backend> {
    pub model: Kokoro<B>,
    voices: Vec<(String, Vec<f32>)>,
}

/// Speech for a whole input.
#[derive(Clone, Debug)]
pub struct Speech {
    pub audio: Vec<f32>,
    /// Per chunk: the phonemes spoken and frames per token (boundary tokens included).
    pub chunks: Vec<(String, Vec<usize>)>,
    pub times: StageTimes,
}

/// Output sample rate.
pub const SAMPLE_RATE: u32 = 24_000;

impl<B: Backend> Tts<B> {
    /// A tritone GGUF, or one of TTS.cpp's Kokoro files.
    /// The weights stay packed in `bytes` (shared, not copied).
    pub fn from_gguf(b: &B, bytes: Bytes) -> Result<Self> {
        let file = GgufFile::parse(&bytes)?;
        if is_ttscpp_kokoro(&file) {
            let t = translate(&file)?;
            let src = TranslatedWeights { translated: &t, bytes: &bytes };
            return Self::assemble(b, &src, t.config.clone(), &t.tokens, &t.voices);
        }
        let config = KokoroConfig::from_gguf(&file)?;
        let tokens: Vec<String> = file.get_str_array("tokenizer.ggml.tokens")?.into_iter().map(str::to_owned).collect();
        let voices: Vec<String> = file.get_str_array("kokoro.voices")?.into_iter().map(str::to_owned).collect();
        Self::assemble(b, &GgufWeights::new(&file, &bytes), config, &tokens, &voices)
    }

    /// From any weight source (voices as `voices.{name}` `[510, 256]`).
    pub fn assemble(b: &B, src: &dyn WeightSource, config: KokoroConfig, tokens: &[String], voice_names: &[String]) -> Result<Self> {
        let voices = voice_names
            .iter()
            .map(|v| {
                let w = src.tensor(&format!("voices.{v}"), &[ROWS, STYLE])?;
                Ok((v.clone(), w.to_f32()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { model: Kokoro::load(b, src, config, tokens)?, voices })
    }

    pub fn voice_names(&self) -> Vec<String> {
        self.voices.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The voice pack for a name or a blend such as `"af_bella(2)+af_sky(1)"`.
    pub fn voice(&self, spec: &str) -> Result<Vec<f32>> {
        let names = self.voice_names();
        VoiceMix::parse(spec)?.blend(&names, |n| {
            self.voices.iter().find(|(v, _)| v == n).map(|(_, p)| p.as_slice()).ok_or_else(|| Error::MissingTensor { name: format!("voices.{n}") })
        })
    }

    /// Speaks `phonemes` (any length) with `voice` at `speed`, noise seeded by `seed`.
    pub async fn speak(&self, b: &B, phonemes: &str, voice: &str, speed: f32, seed: u64) -> Result<Speech> {
        let pack = self.voice(voice)?;
        let limit = self.model.config.plbert.max_position_embeddings - 2;
        let pieces = split_phonemes(phonemes, limit);
        if pieces.is_empty() {
            return Err(Error::InvalidArgument { op: "speak", reason: "no phonemes to speak".into() });
        }
        let mut speech = Speech { audio: Vec::new(), chunks: Vec::new(), times: StageTimes::default() };
        for (i, piece) in pieces.into_iter().enumerate() {
            let ids = self.model.tokenize(piece)?;
            let style = style_row(&pack, piece.chars().count());
            // Each chunk its own noise stream; the first uses `seed` itself (as the reference).
            let out = self.model.synthesize(b, &ids, style, speed, seed.wrapping_add(i as u64)).await?;
            join(&mut speech.audio, out.audio);
            speech.chunks.push((piece.to_owned(), out.durations));
            let t = &mut speech.times;
            t.albert += out.times.albert;
            t.predictor += out.times.predictor;
            t.text_encoder += out.times.text_encoder;
            t.decoder += out.times.decoder;
            t.generator += out.times.generator;
            t.istft += out.times.istft;
        }
        Ok(speech)
    }
}

impl<B: Backend> Tts<B> {
    /// Speaks phonemized text: each segment at `speed` times its own rate, followed by its
    /// pause (SSML `<break>`, paragraph ends) as silence.
    pub async fn speak_segments(&self, b: &B, segments: &[Segment], voice: &str, speed: f32, seed: u64) -> Result<Speech> {
        let mut speech = Speech { audio: Vec::new(), chunks: Vec::new(), times: StageTimes::default() };
        for segment in segments {
            if !segment.phonemes.trim().is_empty() {
                let part = self.speak(b, &segment.phonemes, voice, speed * segment.rate, seed.wrapping_add(speech.chunks.len() as u64)).await?;
                join(&mut speech.audio, part.audio);
                speech.chunks.extend(part.chunks);
                let (t, p) = (&mut speech.times, part.times);
                t.albert += p.albert;
                t.predictor += p.predictor;
                t.text_encoder += p.text_encoder;
                t.decoder += p.decoder;
                t.generator += p.generator;
                t.istft += p.istft;
            }
            speech.audio.extend(std::iter::repeat_n(0.0, segment.pause_ms as usize * SAMPLE_RATE as usize / 1000));
        }
        if speech.chunks.is_empty() {
            return Err(Error::InvalidArgument { op: "speak", reason: "no phonemes to speak (the input has nothing to say)".into() });
        }
        Ok(speech)
    }
}

/// Splits into pieces of at most `limit` code points: at sentence ends (`.!?…`) first, then at
/// clause marks (`:;`), then at `,—`, then at spaces, then anywhere (the reference pipeline's
/// preference order). Pieces keep their punctuation; whitespace between them is dropped.
pub fn split_phonemes(text: &str, limit: usize) -> Vec<&str> {
    let text = text.trim();
    if text.chars().count() <= limit || limit == 0 {
        return if text.is_empty() { vec![] } else { vec![text] };
    }
    for marks in [".!?…", ":;", ",—", " "] {
        // The last break point within the limit.
        let mut cut = None;
        for (count, (i, c)) in text.char_indices().enumerate() {
            if count >= limit {
                break;
            }
            if marks.contains(c) {
                cut = Some(i + c.len_utf8());
            }
        }
        if let Some(cut) = cut.filter(|&c| c < text.len()) {
            let mut out = split_phonemes(&text[..cut], limit);
            out.extend(split_phonemes(&text[cut..], limit));
            return out;
        }
    }
    let cut = text.char_indices().nth(limit).map_or(text.len(), |(i, _)| i);
    let mut out = vec![&text[..cut]];
    out.extend(split_phonemes(&text[cut..], limit));
    out
}

/// Appends `next`, with 5 ms raised-cosine fades where pieces meet so no step is heard.
fn join(audio: &mut Vec<f32>, mut next: Vec<f32>) {
    let fade = (SAMPLE_RATE as usize / 200).min(next.len()).min(audio.len());
    let tail = audio.len() - fade;
    for (i, (out, inp)) in audio[tail..].iter_mut().rev().zip(&mut next[..fade]).enumerate() {
        let g = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / fade as f32).cos();
        *out *= g;
        *inp *= g;
    }
    audio.extend(next);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_by_preference_within_the_limit() {
        assert_eq!(split_phonemes("ab. cd, ef", 100), ["ab. cd, ef"]);
        assert_eq!(split_phonemes("ab, cd. ef gh", 9), ["ab, cd.", "ef gh"]);
        assert_eq!(split_phonemes("ab cd, ef gh", 9), ["ab cd,", "ef gh"]);
        assert_eq!(split_phonemes("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let long = "hˈɛlO wˈɜɹld. ".repeat(100);
        let pieces = split_phonemes(&long, 510);
        assert!(pieces.iter().all(|p| p.chars().count() <= 510 && p.ends_with('.')));
        assert_eq!(pieces.concat().replace(' ', ""), long.replace(' ', ""));
        assert!(split_phonemes("   ", 10).is_empty());
    }

    #[test]
    fn joins_without_steps() {
        let mut a = vec![1.0; 1000];
        join(&mut a, vec![-1.0; 1000]);
        assert_eq!(a.len(), 2000);
        let max_step = a.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
        assert!(max_step < 0.05, "{max_step}");
    }
}
