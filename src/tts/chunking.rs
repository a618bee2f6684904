//! Long input in pieces: where to split phonemes so each piece fits the model, and how to join
//! the pieces' audio without clicks.

use super::SAMPLE_RATE;

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

/// `text` cut after each sentence end (`.!?…` followed by a space), for streaming: the first
/// audio comes after the first sentence, not after the first 510 phonemes.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if ".!?…".contains(c) && chars.peek().is_some_and(|&(_, n)| n == ' ') {
            let end = i + c.len_utf8();
            out.push(text[start..end].trim());
            start = end;
        }
    }
    out.push(text[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// A long first sentence cut after its first clause (`,;:—` with at least [`MIN_CLAUSE`]
/// code points on each side) when it is longer than `max`, so a stream's first audio comes
/// early; otherwise the sentence whole.
pub fn split_first_clause(sentence: &str, max: usize) -> Vec<&str> {
    let count = sentence.chars().count();
    if count <= max {
        return vec![sentence];
    }
    let cut = sentence
        .char_indices()
        .enumerate()
        .find(|&(n, (_, c))| ",;:—".contains(c) && n + 1 >= MIN_CLAUSE && count - n > MIN_CLAUSE)
        .map(|(_, (i, c))| i + c.len_utf8());
    match cut {
        Some(cut) => vec![sentence[..cut].trim(), sentence[cut..].trim()],
        None => vec![sentence],
    }
}

/// The shortest clause [`split_first_clause`] cuts off (about half a second of speech).
pub const MIN_CLAUSE: usize = 24;

/// Joins pieces of audio as they come, with 5 ms raised-cosine fades where pieces meet so no
/// step is heard. The last 5 ms are held back until the next piece (or the end) decides their
/// fade, so the concatenated output of a stream equals the audio joined at once.
#[derive(Debug, Default)]
pub struct Joiner {
    held: Vec<f32>,
    /// Samples pushed so far (emitted or held).
    total: usize,
}

const FADE: usize = SAMPLE_RATE as usize / 200;

impl Joiner {
    /// Adds a piece, fading it into what came before; returns the samples now final.
    pub fn piece(&mut self, mut next: Vec<f32>) -> Vec<f32> {
        let fade = FADE.min(next.len()).min(self.total);
        let tail = self.held.len() - fade;
        for (i, (out, inp)) in self.held[tail..].iter_mut().rev().zip(&mut next[..fade]).enumerate() {
            let g = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / fade as f32).cos();
            *out *= g;
            *inp *= g;
        }
        self.extend(next)
    }

    /// Adds samples without a fade (silence between segments); returns the samples now final.
    pub fn extend(&mut self, next: Vec<f32>) -> Vec<f32> {
        self.total += next.len();
        let mut out = std::mem::take(&mut self.held);
        out.extend(next);
        let keep = FADE.min(out.len());
        self.held = out.split_off(out.len() - keep);
        out
    }

    /// Samples pushed so far (emitted or held): where the next piece starts.
    pub fn pushed(&self) -> usize {
        self.total
    }

    /// The held-back end.
    pub fn finish(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.held)
    }
}

/// When a word is spoken, in seconds from the start of the speech.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WordTime {
    pub text: String,
    pub start: f64,
    pub end: f64,
}

/// Times of the `words` (in order, from the segment the piece belongs to, starting at
/// `*next_word`) whose phonemes appear in `piece`, given frames per token (the boundary token
/// first) and the piece's start time. Advances `*next_word` past the words found.
pub fn word_times(words: &[crate::phonemize::Word], next_word: &mut usize, piece: &str, durations: &[usize], seconds_per_frame: f64, start: f64) -> Vec<WordTime> {
    let chars: Vec<char> = piece.chars().collect();
    // frame at which token t starts; token 0 is the boundary token before the piece
    let mut starts = Vec::with_capacity(durations.len() + 1);
    starts.push(0usize);
    for d in durations {
        starts.push(starts.last().copied().unwrap_or(0) + d);
    }
    let mut out = Vec::new();
    let mut cursor = 0;
    while let Some(word) = words.get(*next_word) {
        let target: Vec<char> = word.phonemes.chars().collect();
        if target.is_empty() {
            *next_word += 1;
            continue;
        }
        let Some(at) = (cursor..=chars.len().saturating_sub(target.len())).find(|&i| chars[i..].starts_with(&target)) else { break };
        let (first, last) = (at + 1, at + target.len()); // tokens, after the boundary token
        let time = |t: usize| start + starts.get(t).copied().unwrap_or(0) as f64 * seconds_per_frame;
        out.push(WordTime { text: word.text.clone(), start: time(first), end: time(last + 1) });
        cursor = at + target.len();
        *next_word += 1;
    }
    out
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
    fn splits_sentences_for_streaming() {
        assert_eq!(split_sentences("hˈI. hˌW ɑɹ ju? fˈIn… ðæŋks!"), ["hˈI.", "hˌW ɑɹ ju?", "fˈIn…", "ðæŋks!"]);
        assert_eq!(split_sentences("dˈɑktəɹ.smɪθ 3.5"), ["dˈɑktəɹ.smɪθ 3.5"]);
        assert!(split_sentences("  ").is_empty());
    }

    #[test]
    fn cuts_a_long_first_sentence_after_its_first_clause() {
        let long = "ðə sˈʌn ɹˈOz ˈOvəɹ ðə kwˈIət tˈWn, ænd ðə bˈɜɹdz sˈæŋ ɪn ði ˈOld ˈOk tɹˈiz ˈɔl mˈɔɹnɪŋ lˈɔŋ.";
        assert_eq!(split_first_clause(long, 60), ["ðə sˈʌn ɹˈOz ˈOvəɹ ðə kwˈIət tˈWn,", "ænd ðə bˈɜɹdz sˈæŋ ɪn ði ˈOld ˈOk tɹˈiz ˈɔl mˈɔɹnɪŋ lˈɔŋ."]);
        assert_eq!(split_first_clause(long, 200), [long], "short enough");
        // a clause shorter than MIN_CLAUSE on either side is not cut off
        assert_eq!(split_first_clause("jˈɛs, ðə sˈʌn ɹˈOz ˈOvəɹ ðə kwˈIət tˈWn ænd ðə bˈɜɹdz sˈæŋ", 20).len(), 1);
        assert_eq!(split_first_clause("ðə sˈʌn ɹˈOz ˈOvəɹ ðə kwˈIət tˈWn ænd ðə bˈɜɹdz sˈæŋ", 20).len(), 1, "no clause mark");
    }

    #[test]
    fn joins_without_steps() {
        let mut j = Joiner::default();
        let mut a = j.piece(vec![1.0; 1000]);
        a.extend(j.piece(vec![-1.0; 1000]));
        a.extend(j.finish());
        assert_eq!(a.len(), 2000);
        let max_step = a.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
        assert!(max_step < 0.05, "{max_step}");
    }

    /// Streamed in pieces of any size, with silences between, the output is the same samples
    /// in the same order, and nothing is emitted twice.
    #[test]
    fn streaming_equals_joining_at_once() {
        let pieces: Vec<Vec<f32>> = [3usize, 500, 50, 1, 2000].iter().enumerate().map(|(k, &n)| (0..n).map(|i| ((i + k * 7) as f32 * 0.1).sin()).collect()).collect();
        let mut all = Joiner::default();
        let mut at_once = Vec::new();
        for p in &pieces {
            at_once.extend(all.piece(p.clone()));
        }
        at_once.extend(all.finish());
        assert_eq!(at_once.len(), pieces.iter().map(Vec::len).sum::<usize>());
        let mut j = Joiner::default();
        let mut streamed = Vec::new();
        for (k, p) in pieces.iter().enumerate() {
            streamed.extend(j.piece(p.clone()));
            if k == 2 {
                streamed.extend(j.extend(vec![0.0; 240]));
            }
        }
        streamed.extend(j.finish());
        assert_eq!(streamed.len(), at_once.len() + 240);
    }

    #[test]
    fn words_are_timed_by_their_tokens() {
        use crate::phonemize::{Source, Word};
        let word = |text: &str, phonemes: &str| Word { text: text.into(), phonemes: phonemes.into(), source: Source::Lexicon };
        let words = [word("Hi", "hI"), word("there", "ðɛɹ"), word("again", "əɡɛn")];
        // tokens: boundary, h, I, ' ', ð, ɛ, ɹ, boundary — frames 1, 2, 3, 1, 1, 1, 1, 4
        let durations = [1, 2, 3, 1, 1, 1, 1, 4];
        let mut next = 0;
        let times = word_times(&words, &mut next, "hI ðɛɹ", &durations, 0.025, 10.0);
        assert_eq!(next, 2, "the third word is in a later piece");
        assert_eq!(times[0], WordTime { text: "Hi".into(), start: 10.0 + 0.025, end: 10.0 + 6.0 * 0.025 });
        assert_eq!(times[1], WordTime { text: "there".into(), start: 10.0 + 7.0 * 0.025, end: 10.0 + 10.0 * 0.025 });
    }
}
