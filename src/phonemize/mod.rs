//! The bundled English phonemizer: text (or SSML) → Kokoro phonemes, in misaki's conventions
//! for en-US and en-GB. The pipeline reads top to bottom: [`normalize`] expands what misaki
//! would misread (times, dates, phone numbers, units, URLs, abbreviations), [`tokenize`]
//! splits and tags, [`lexicon`] holds misaki's dictionaries and rules, [`lts`] guesses words no
//! dictionary knows, and [`ssml`] / [`alphabet`] give the user control over pronunciation.

pub mod alphabet;
mod g2p;
pub mod lexicon;
pub mod lts;
pub mod normalize;
pub mod numbers;
pub mod ssml;
pub mod tokenize;

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::vocab;
use alphabet::Alphabet;
use g2p::{G2p, Piece};
use lexicon::Lexicon;
use lts::LetterToSound;
use ssml::SpanKind;

const LTS_US: &[u8] = include_bytes!("../../data/phonemize/lts-us.bin");
const LTS_GB: &[u8] = include_bytes!("../../data/phonemize/lts-gb.bin");
/// Pause after an SSML paragraph (`</p>`); sentences already end with Kokoro's own pause.
const PARAGRAPH_PAUSE_MS: u32 = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Language {
    EnUs,
    EnGb,
}

impl Language {
    /// "en-us", "en-gb" (also "us", "gb", "en", and Kokoro's lang codes "a" and "b").
    pub fn from_code(code: &str) -> Result<Self> {
        match code.to_ascii_lowercase().replace('_', "-").as_str() {
            "en-us" | "us" | "en" | "a" | "american" => Ok(Self::EnUs),
            "en-gb" | "gb" | "en-uk" | "uk" | "b" | "british" => Ok(Self::EnGb),
            other => Err(Error::BadOption { option: "language", reason: format!("unknown language {other:?}; use en-us or en-gb") }),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::EnUs => "en-us",
            Self::EnGb => "en-gb",
        }
    }

    pub fn is_british(self) -> bool {
        self == Self::EnGb
    }

    /// Kokoro's convention: voice names start with the language letter (af_…, bf_…). Voices of
    /// the languages tritone cannot phonemize yet (jf_alpha, zf_xiaobei, …) read English as en-US;
    /// [`Language::voice_note`] says so.
    pub fn for_voice(voice: &str) -> Self {
        if voice.trim_start().starts_with('b') { Self::EnGb } else { Self::EnUs }
    }

    /// For a voice of a non-English language (by Kokoro's first letter), the note that its text is
    /// read as en-US English; `None` for English voices and names without a known letter.
    pub fn voice_note(voice: &str) -> Option<String> {
        let language = match voice.trim_start().chars().next()? {
            'e' => "Spanish",
            'f' => "French",
            'h' => "Hindi",
            'i' => "Italian",
            'j' => "Japanese",
            'p' => "Brazilian Portuguese",
            'z' => "Mandarin Chinese",
            _ => return None,
        };
        Some(format!("{} is a {language} voice; tritone phonemizes English only, so the text is read as US English (choose en-gb with the language option)", voice.trim()))
    }
}

/// Where a word's phonemes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// misaki's gold or silver dictionary (with its stem and spelling rules).
    Lexicon,
    /// Letter-to-sound, for words no dictionary knows.
    Rule,
    /// The user's lexicon.
    User,
    /// SSML `<phoneme>`, `<say-as>` or `<sub>`.
    Ssml,
    /// Numbers, dates, times, units, symbols and abbreviations read out.
    Normalizer,
    /// An inline `[word](/phonemes/)` override.
    Link,
    Punctuation,
}

impl Source {
    /// Which source a word merged from several pieces reports.
    fn priority(self) -> u8 {
        match self {
            Source::Punctuation => 0,
            Source::Lexicon => 1,
            Source::Rule => 2,
            Source::Normalizer => 3,
            Source::Ssml => 4,
            Source::Link => 5,
            Source::User => 6,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    pub text: String,
    pub phonemes: String,
    pub source: Source,
}

/// A stretch of speech with one speaking rate, followed by `pause_ms` of silence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub phonemes: String,
    pub words: Vec<Word>,
    pub rate: f32,
    pub pause_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phonemized {
    pub segments: Vec<Segment>,
}

impl Phonemized {
    /// All phonemes, segments joined by a space.
    pub fn phonemes(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.phonemes.as_str()).filter(|p| !p.is_empty()).collect();
        parts.join(" ")
    }
}

/// Word → phonemes overrides given by the user; they win over the built-in lexicon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserLexicon {
    words: HashMap<String, String>,
}

impl UserLexicon {
    /// JSON object, word → pronunciation. A string value is IPA, or Arpabet when it looks like
    /// Arpabet ("T AH0 M EY1 T OW2"); an object names the alphabet:
    /// `{"tomato": {"x-sampa": "t@\"mA:t@U"}}` (ipa, x-sampa, arpabet, kirshenbaum, misaki).
    pub fn from_json(json: &str, language: Language) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Lexicon(format!("user lexicon is not valid JSON: {e}")))?;
        let object = value.as_object().ok_or_else(|| Error::Lexicon("user lexicon must be a JSON object (word → pronunciation)".into()))?;
        let mut words = HashMap::new();
        for (word, entry) in object {
            let (alphabet, text) = match entry {
                serde_json::Value::String(s) => (if looks_like_arpabet(s) { Alphabet::Arpabet } else { Alphabet::Ipa }, s.as_str()),
                serde_json::Value::Object(o) if o.len() == 1 => {
                    let (name, v) = o.iter().next().expect("one entry");
                    let alphabet = Alphabet::from_name(name)
                        .ok_or_else(|| Error::Lexicon(format!("{word:?}: unknown alphabet {name:?}")))?;
                    let text = v.as_str().ok_or_else(|| Error::Lexicon(format!("{word:?}: the {name} pronunciation must be a string")))?;
                    (alphabet, text)
                }
                _ => return Err(Error::Lexicon(format!("{word:?}: a pronunciation is a string or {{\"alphabet\": \"...\"}}"))),
            };
            let phonemes = alphabet::to_misaki(alphabet, text, language.is_british())
                .map_err(|e| Error::Lexicon(format!("{word:?}: {e}")))?;
            words.insert(word.clone(), phonemes);
        }
        Ok(Self { words })
    }

    pub fn insert(&mut self, word: &str, phonemes: &str) {
        self.words.insert(word.to_string(), phonemes.to_string());
    }

    pub fn get(&self, word: &str) -> Option<&str> {
        self.words.get(word).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

fn looks_like_arpabet(s: &str) -> bool {
    let mut phones = s.split_whitespace().peekable();
    phones.peek().is_some()
        && phones.all(|p| {
            let letters = p.trim_end_matches(['0', '1', '2']);
            (1..=2).contains(&letters.len()) && letters.bytes().all(|b| b.is_ascii_uppercase()) && p.len() - letters.len() <= 1
        })
}

pub struct Phonemizer {
    language: Language,
    lexicon: Lexicon,
    lts: LetterToSound,
    user: Option<UserLexicon>,
}

impl Phonemizer {
    pub fn new(language: Language) -> Result<Self> {
        let british = language.is_british();
        let lts = LetterToSound::from_bytes(if british { LTS_GB } else { LTS_US })?;
        Ok(Self { language, lexicon: Lexicon::new(british)?, lts, user: None })
    }

    pub fn with_user_lexicon(mut self, user: UserLexicon) -> Self {
        self.user = Some(user);
        self
    }

    pub fn language(&self) -> Language {
        self.language
    }

    fn g2p(&self) -> G2p<'_> {
        G2p { lexicon: &self.lexicon, lts: &self.lts, user: self.user.as_ref() }
    }

    /// Plain text with misaki's inline controls: `[word](/phonemes/)` sets a pronunciation
    /// (misaki's alphabet, or IPA), `[word](-1)` / `[word](2)` changes stress, `[12](#a#)` sets
    /// number flags. Each line is read on its own, as Kokoro does.
    pub fn phonemize(&self, text: &str) -> Phonemized {
        let mut segments = Vec::new();
        for line in text.split(['\n', '\r']).filter(|l| !l.trim().is_empty()) {
            let pieces = self.text_pieces(line.trim_start(), Source::Lexicon);
            let (phonemes, words) = self.g2p().run(&pieces);
            segments.push(Segment { phonemes, words, rate: 1.0, pause_ms: 0 });
        }
        Phonemized { segments }
    }

    /// The text as the normalizer rewrites it before phonemization (links kept as written).
    pub fn normalize_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, link_text, feature, after)) = next_link(rest) {
            out.extend(normalize::normalize(before, self.language.is_british()).into_iter().map(|p| p.text));
            out.push_str(&format!("[{link_text}]({feature})"));
            rest = after;
        }
        out.extend(normalize::normalize(rest, self.language.is_british()).into_iter().map(|p| p.text));
        out
    }

    /// SSML (see [`ssml`]): breaks become pauses and `<prosody rate>` becomes segment rates.
    pub fn phonemize_ssml(&self, document: &str) -> Result<Phonemized> {
        let spans = ssml::parse(document)?;
        let mut segments: Vec<Segment> = Vec::new();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut rate = 1.0f32;
        let flush = |pieces: &mut Vec<Piece>, segments: &mut Vec<Segment>, rate: f32, pause: u32| {
            if pieces.iter().any(|p| !p.text.trim().is_empty()) {
                let (phonemes, words) = self.g2p().run(pieces);
                segments.push(Segment { phonemes, words, rate, pause_ms: pause });
            } else if let Some(last) = segments.last_mut() {
                last.pause_ms = last.pause_ms.saturating_add(pause);
            } else if pause > 0 {
                segments.push(Segment { phonemes: String::new(), words: Vec::new(), rate, pause_ms: pause });
            }
            pieces.clear();
        };
        for span in spans {
            if span.rate != rate {
                flush(&mut pieces, &mut segments, rate, 0);
                rate = span.rate;
            }
            let after_element = pieces.last().is_some_and(|p| p.source == Source::Ssml && !p.text.ends_with(char::is_whitespace));
            match span.kind {
                SpanKind::Text(text) => {
                    let mut text = collapse_space(&text);
                    if after_element && text.starts_with(char::is_alphanumeric) {
                        text.insert(0, ' ');
                    }
                    pieces.extend(self.normalized_pieces(&text, Source::Lexicon));
                }
                SpanKind::Phoneme { alphabet, ph, text } => {
                    let alphabet = Alphabet::from_name(&alphabet).ok_or_else(|| Error::Ssml {
                        offset: span.offset,
                        detail: format!("unknown phoneme alphabet {alphabet:?}"),
                    })?;
                    let phonemes = alphabet::to_misaki(alphabet, &ph, self.language.is_british())
                        .map_err(|e| Error::Ssml { offset: span.offset, detail: format!("<phoneme ph={ph:?}>: {e}") })?;
                    pieces.push(fixed(spaced(&text), phonemes, Source::Ssml));
                }
                SpanKind::SayAs { interpret_as, text, .. } => pieces.extend(self.say_as(&interpret_as, &text)),
                SpanKind::Sub { alias, .. } => pieces.push(Piece::plain(format!(" {}", collapse_space(&alias).trim()), Source::Ssml)),
                SpanKind::Break { ms } => flush(&mut pieces, &mut segments, rate, ms),
                SpanKind::Boundary { paragraph } => {
                    flush(&mut pieces, &mut segments, rate, if paragraph { PARAGRAPH_PAUSE_MS } else { 0 })
                }
            }
        }
        flush(&mut pieces, &mut segments, rate, 0);
        Ok(Phonemized { segments })
    }

    /// `<say-as>`: letters and digits spelled, numbers read, and the normalizer's readings of
    /// dates, times, telephone numbers and the like.
    fn say_as(&self, interpret_as: &str, text: &str) -> Vec<Piece> {
        let text = text.trim();
        let plain = |t: String| vec![Piece::plain(format!(" {t}"), Source::Ssml)];
        // number words as misaki reads them: split at hyphens and commas, without "and"
        let words = |w: Option<String>| {
            let w = w.unwrap_or_default();
            plain(w.split(|c: char| !c.is_ascii_lowercase()).filter(|x| !x.is_empty() && *x != "and").collect::<Vec<_>>().join(" "))
        };
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        match interpret_as {
            "characters" | "spell-out" | "verbatim" => {
                // letter runs read like an initialism ("SSML" → ˌɛsˌɛsˌɛmˈɛl), digits one by one;
                // letters without a reading are skipped
                let mut spelled: Vec<String> = Vec::new();
                let mut letters = String::new();
                for c in g2p::fold_latin(text).chars().chain(std::iter::once(' ')) {
                    if c.is_alphabetic() {
                        if self.lexicon.spell(&c.to_string()).is_some() {
                            letters.push(c);
                        }
                        continue;
                    }
                    if !letters.is_empty() {
                        spelled.extend(self.lexicon.spell(&letters));
                        letters.clear();
                    }
                    if c.is_ascii_digit() {
                        let query = lexicon::WordQuery { text: &c.to_string(), is_head: true, ..Default::default() };
                        spelled.extend(self.lexicon.word(&query, lexicon::TokenContext::default()).map(|f| f.phonemes));
                    }
                }
                vec![fixed(spaced(text), spelled.join(" "), Source::Ssml)]
            }
            "cardinal" | "number" if !digits.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == ',') => {
                words(numbers::cardinal(numbers::without_leading_zeros(&digits)))
            }
            "ordinal" if !digits.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == ',') => {
                words(numbers::ordinal(numbers::without_leading_zeros(&digits)))
            }
            "digits" => plain(digits.chars().map(String::from).collect::<Vec<_>>().join(" ")),
            _ => {
                let mut pieces = self.normalized_pieces(text, Source::Ssml);
                for p in &mut pieces {
                    p.source = Source::Ssml;
                }
                pieces.insert(0, Piece::plain(" ", Source::Ssml));
                pieces
            }
        }
    }

    fn normalized_pieces(&self, text: &str, source: Source) -> Vec<Piece> {
        normalize::normalize(text, self.language.is_british())
            .into_iter()
            .map(|p| Piece::plain(p.text, if p.normalized { Source::Normalizer } else { source }))
            .collect()
    }

    /// Splits out misaki's `[text](feature)` links; the rest goes through the normalizer.
    fn text_pieces(&self, line: &str, source: Source) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut rest = line;
        while let Some((before, text, feature, after)) = next_link(rest) {
            pieces.extend(self.normalized_pieces(before, source));
            pieces.push(self.link_piece(text, feature));
            rest = after;
        }
        pieces.extend(self.normalized_pieces(rest, source));
        pieces
    }

    fn link_piece(&self, text: &str, feature: &str) -> Piece {
        let mut piece = Piece::plain(text, Source::Link);
        let unsigned = feature.strip_prefix(['-', '+']).unwrap_or(feature);
        let integer = !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit());
        if integer || matches!(feature, "0.5" | "+0.5" | "-0.5") {
            piece.stress = feature.parse::<f32>().ok();
        } else if feature.len() > 1 && feature.starts_with('/') && feature.ends_with('/') {
            let ps = feature.trim_matches('/');
            let british = self.language.is_british();
            // as in Kokoro, symbols the model does not know are dropped
            let phonemes = alphabet::to_misaki(Alphabet::Misaki, ps, british)
                .or_else(|_| alphabet::to_misaki(Alphabet::Ipa, ps, british))
                .unwrap_or_else(|_| ps.chars().filter(|&c| vocab::KOKORO_VOCAB.iter().any(|&(_, s)| s == c)).collect());
            piece.fixed = Some((phonemes, Source::Link));
        } else if feature.len() > 1 && feature.starts_with('#') && feature.ends_with('#') {
            piece.num_flags = feature.trim_matches('#').to_string();
        } else {
            piece.source = Source::Lexicon;
        }
        piece
    }
}

fn fixed(text: String, phonemes: String, source: Source) -> Piece {
    Piece { text, fixed: Some((phonemes, source)), source, stress: None, num_flags: String::new() }
}

/// SSML elements are words of their own: a space keeps them apart from the text before (the
/// text after gets one where it needs it). Empty content still carries the pronunciation.
fn spaced(text: &str) -> String {
    let text = collapse_space(text);
    format!(" {}", if text.trim().is_empty() { "_" } else { text.trim() })
}

fn collapse_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

/// `[text](feature)` as misaki's LINK_REGEX finds it: (before, text, feature, after).
fn next_link(s: &str) -> Option<(&str, &str, &str, &str)> {
    let mut from = 0;
    while let Some(open) = s[from..].find('[').map(|i| i + from) {
        let close = s[open + 1..].find(']').map(|i| i + open + 1)?;
        let text = &s[open + 1..close];
        if !text.is_empty() && s[close + 1..].starts_with('(') {
            if let Some(end) = s[close + 2..].find(')').map(|i| i + close + 2) {
                return Some((&s[..open], text, &s[close + 2..end], &s[end + 1..]));
            }
        }
        from = open + 1;
    }
    None
}

/// A tiny deterministic generator (xorshift64) for the randomized tests: reproducible failures,
/// no dependency.
#[cfg(test)]
pub(crate) struct XorShift(pub u64);

#[cfg(test)]
impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests;
