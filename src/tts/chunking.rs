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

/// Appends `next`, with 5 ms raised-cosine fades where pieces meet so no step is heard.
pub(super) fn join(audio: &mut Vec<f32>, mut next: Vec<f32>) {
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
