//! Letter-to-sound fallback for words no lexicon knows. A decision tree, trained on misaki's
//! own lexicons by `tools/phonemize/train_lts.py`, picks each letter's phonemes (0–2 of them,
//! stress marks included) from the surrounding letters and from what it already picked for
//! the letters after it: words are read right to left, as English stress mostly depends on
//! the ending. The word then gets exactly one primary stress.
//!
//! # File format (`data/phonemize/lts-{us,gb}.bin`, little-endian)
//!
//! ```text
//! "TLTS" | u32 version (1) | u32 payload length | zlib stream (RFC 1950) of the payload
//!
//! payload:
//!   u8  window W          features 0..=2W: the letter at offset f - W from the current one
//!   u8  feature count F   must be 2W + 4; feature 2W+1: history class of the chunk picked for
//!                         the next letter, 2W+2: of the letter after that (255 past the end),
//!                         2W+3: 1 once a primary stress was picked to the right, else 0
//!   u16 label count K, then K × (u8 byte length, UTF-8 phonemes): the chunks a letter can give
//!   K × u8                history class of each label: its chunk without stress marks
//!   u32 node count N, then four columns of N entries each:
//!       u8  feature the node asks about (255 in leaves)
//!       u16 label: the answer when no child matches
//!       u8  child count
//!       u8  value of the parent's feature that leads to this node (0 for the root)
//! ```
//!
//! Letter codes: 0 is the apostrophe, 1–26 are a–z, 27 lies outside the word. Nodes are in
//! breadth-first order: node 0 is the root and the children of node i directly follow those
//! of node i − 1, sorted by value.

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"TLTS";
const VERSION: u32 = 1;
/// Bounds the inflated size, so a corrupt length cannot ask for gigabytes.
const MAX_PAYLOAD: usize = 16 << 20;
const OUTSIDE_WORD: u8 = 27;
const NO_CHUNK: u8 = 255;
const LEAF: u8 = 255;
const PRIMARY: char = 'ˈ';
const SECONDARY: char = 'ˌ';
/// Vowels that can carry stress (misaki never stresses ə, ᵊ or ᵻ).
const STRESSABLE: &str = "AIOWYQaiuæɑɒɔɛɜɪʊʌ";
/// Everything misaki's US and GB lexicons use; labels outside it are rejected at load.
const MISAKI_SYMBOLS: &str = "AIOQWYabdfhijklmnpstuvwzæðŋɑɒɔəɛɜɡɪɹɾʃʊʌʒʔʤʧˈˌːθᵊᵻ";

#[derive(Debug, Clone, Copy)]
struct Node {
    first_child: u32,
    label: u16,
    feature: u8,
    child_count: u8,
}

/// A trained letter-to-sound model for one accent.
#[derive(Debug, Clone)]
pub struct LetterToSound {
    window: usize,
    labels: Vec<String>,
    history_class: Vec<u8>,
    has_primary: Vec<bool>,
    nodes: Vec<Node>,
    /// `values[i]`: the feature value that leads from node i's parent to node i.
    values: Vec<u8>,
}

impl LetterToSound {
    /// Reads a model file; [`Error::Lexicon`] if it is malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut header = Reader { bytes, at: 0 };
        if header.take(4)? != MAGIC {
            return Err(malformed("not a letter-to-sound file"));
        }
        let version = header.u32()?;
        if version != VERSION {
            return Err(malformed(format!("version {version}, this reader knows {VERSION}")));
        }
        let length = header.u32()? as usize;
        if length > MAX_PAYLOAD {
            return Err(malformed(format!("payload of {length} bytes")));
        }
        let payload = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&bytes[header.at..], length)
            .map_err(|e| malformed(format!("zlib: {e:?}")))?;
        if payload.len() != length {
            return Err(malformed(format!("payload is {} bytes, header says {length}", payload.len())));
        }
        Self::parse(&payload)
    }

    fn parse(payload: &[u8]) -> Result<Self> {
        let mut r = Reader { bytes: payload, at: 0 };
        let window = r.u8()? as usize;
        let feature_count = r.u8()? as usize;
        if feature_count != 2 * window + 4 {
            return Err(malformed(format!("{feature_count} features for window {window}")));
        }
        let label_count = r.u16()? as usize;
        let mut labels = Vec::with_capacity(label_count);
        for _ in 0..label_count {
            let len = r.u8()? as usize;
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| malformed("label is not UTF-8"))?;
            if let Some(c) = text.chars().find(|c| !MISAKI_SYMBOLS.contains(*c)) {
                return Err(malformed(format!("label {text:?} has {c:?}, not a misaki phoneme")));
            }
            labels.push(text.to_owned());
        }
        let history_class = r.take(label_count)?.to_vec();
        let has_primary = labels.iter().map(|l| l.contains(PRIMARY)).collect();

        let node_count = r.u32()? as usize;
        if node_count == 0 {
            return Err(malformed("no nodes"));
        }
        let features = r.take(node_count)?;
        let node_labels = r.take(node_count.saturating_mul(2))?;
        let child_counts = r.take(node_count)?;
        let values = r.take(node_count)?.to_vec();
        if r.at != payload.len() {
            return Err(malformed("bytes after the last table"));
        }

        let mut nodes = Vec::with_capacity(node_count);
        let mut next_child = 1usize;
        for i in 0..node_count {
            let label = u16::from_le_bytes([node_labels[2 * i], node_labels[2 * i + 1]]);
            let (feature, child_count) = (features[i], child_counts[i]);
            if label as usize >= label_count {
                return Err(malformed(format!("node {i}: label {label} of {label_count}")));
            }
            if child_count > 0 {
                // Children after their parent keep every walk finite.
                let children = next_child..next_child + child_count as usize;
                if children.start <= i || children.end > node_count {
                    return Err(malformed(format!(
                        "node {i}: children {children:?} past its own index or past {node_count} nodes"
                    )));
                }
                if feature as usize >= feature_count {
                    return Err(malformed(format!("node {i}: feature {feature} of {feature_count}")));
                }
                if !values[children].windows(2).all(|pair| pair[0] < pair[1]) {
                    return Err(malformed(format!("node {i}: children not sorted by value")));
                }
            } else if feature != LEAF {
                return Err(malformed(format!("node {i}: a leaf that asks feature {feature}")));
            }
            nodes.push(Node { first_child: next_child as u32, label, feature, child_count });
            next_child += child_count as usize;
        }
        if next_child != node_count {
            return Err(malformed(format!("{} child links for {node_count} nodes", next_child - 1)));
        }
        Ok(Self { window, labels, history_class, has_primary, nodes, values })
    }

    /// `word`: any string; letters are lowercased, characters outside a–z and ' are skipped.
    /// Returns misaki phonemes with stress marks; empty string if no letters.
    pub fn predict(&self, word: &str) -> String {
        let codes: Vec<u8> = word.chars().flat_map(char::to_lowercase).filter_map(letter_code).collect();
        let mut chosen = vec![0u16; codes.len()];
        let mut primary_to_right = false;
        for i in (0..codes.len()).rev() {
            let context = Context { codes: &codes, chosen: &chosen, at: i, primary_to_right };
            let label = self.classify(&context);
            chosen[i] = label;
            primary_to_right |= self.has_primary[label as usize];
        }
        let phonemes: String = chosen.iter().map(|&label| self.labels[label as usize].as_str()).collect();
        fix_stress(&phonemes)
    }

    /// Walks from the root while a child matches; the last node reached answers.
    fn classify(&self, context: &Context) -> u16 {
        let mut node = self.nodes[0];
        while node.child_count > 0 {
            let wanted = self.feature_value(context, node.feature as usize);
            let first = node.first_child as usize;
            let values = &self.values[first..first + node.child_count as usize];
            match values.binary_search(&wanted) {
                Ok(k) => node = self.nodes[first + k],
                Err(_) => break,
            }
        }
        node.label
    }

    fn feature_value(&self, context: &Context, feature: usize) -> u8 {
        let Context { codes, chosen, at, primary_to_right } = *context;
        let letters = 2 * self.window + 1;
        if feature < letters {
            return (at + feature).checked_sub(self.window).and_then(|j| codes.get(j)).copied().unwrap_or(OUTSIDE_WORD);
        }
        match feature - letters {
            offset @ (0 | 1) => {
                chosen.get(at + 1 + offset).map_or(NO_CHUNK, |&label| self.history_class[label as usize])
            }
            _ => u8::from(primary_to_right),
        }
    }
}

/// What the features of one letter are read from.
struct Context<'a> {
    codes: &'a [u8],
    /// Labels picked so far; only those after `at` are set.
    chosen: &'a [u16],
    at: usize,
    primary_to_right: bool,
}

fn letter_code(c: char) -> Option<u8> {
    match c {
        '\'' => Some(0),
        'a'..='z' => Some(c as u8 - b'a' + 1),
        _ => None,
    }
}

/// Exactly one primary stress: later primaries become secondary; with none, the first
/// secondary is promoted, else the first stressable vowel gets one.
fn fix_stress(phonemes: &str) -> String {
    if let Some(first) = phonemes.find(PRIMARY) {
        let keep = first + PRIMARY.len_utf8();
        return format!("{}{}", &phonemes[..keep], phonemes[keep..].replace(PRIMARY, &SECONDARY.to_string()));
    }
    if phonemes.contains(SECONDARY) {
        return phonemes.replacen(SECONDARY, &PRIMARY.to_string(), 1);
    }
    match phonemes.find(|c| STRESSABLE.contains(c)) {
        Some(vowel) => format!("{}{PRIMARY}{}", &phonemes[..vowel], &phonemes[vowel..]),
        None => phonemes.to_owned(),
    }
}

fn malformed(detail: impl std::fmt::Display) -> Error {
    Error::Lexicon(format!("letter-to-sound data: {detail}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| malformed(format!("truncated at byte {} (wanted {n} more)", self.at)))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phonemize::XorShift;

    const US: &[u8] = include_bytes!("../../data/phonemize/lts-us.bin");
    const GB: &[u8] = include_bytes!("../../data/phonemize/lts-gb.bin");
    const HELDOUT_US: &str = include_str!("../../tests/fixtures/phonemize/lts-heldout-us.tsv");
    const HELDOUT_GB: &str = include_str!("../../tests/fixtures/phonemize/lts-heldout-gb.tsv");
    const US_SYMBOLS: &str = "AIOWYbdfhijklmnpstuvwzæðŋɑɔəɛɜɡɪɹɾʃʊʌʒʤʧˈˌθᵊᵻʔ";
    const GB_SYMBOLS: &str = "AIQWYabdfhijklmnpstuvwzðŋɑɒɔəɛɜɡɪɹʃʊʌʒʤʧˈˌːθᵊ";

    /// (word, misaki's phonemes, the Python trainer's prediction) per fixture row.
    fn heldout(tsv: &str) -> Vec<(&str, &str, &str)> {
        let rows: Vec<_> = tsv
            .lines()
            .skip(1)
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                assert_eq!(cols.len(), 3, "fixture row {line:?}");
                (cols[0], cols[1], cols[2])
            })
            .collect();
        assert!(rows.len() > 300, "fixture has {} rows", rows.len());
        rows
    }

    fn edit_distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut previous: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut current = vec![i + 1];
            for (j, &cb) in b.iter().enumerate() {
                current.push((previous[j + 1] + 1).min(current[j] + 1).min(previous[j] + usize::from(ca != cb)));
            }
            previous = current;
        }
        previous[b.len()]
    }


    fn payload(file: &[u8]) -> Vec<u8> {
        miniz_oxide::inflate::decompress_to_vec_zlib(&file[12..]).expect("shipped data inflates")
    }

    fn pack(payload: &[u8]) -> Vec<u8> {
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&VERSION.to_le_bytes());
        file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        file.extend_from_slice(&miniz_oxide::deflate::compress_to_vec_zlib(payload, 1));
        file
    }

    #[test]
    fn matches_the_python_trainer_on_heldout_words() {
        for (data, tsv) in [(US, HELDOUT_US), (GB, HELDOUT_GB)] {
            let lts = LetterToSound::from_bytes(data).unwrap();
            let mismatches: Vec<_> = heldout(tsv)
                .into_iter()
                .map(|(word, _, python)| (word, python, lts.predict(word)))
                .filter(|(_, python, rust)| python != rust)
                .collect();
            assert!(mismatches.is_empty(), "{} mismatches, first: {:?}", mismatches.len(), &mismatches[..1]);
        }
    }

    /// Measured on the fixture words when the data was trained: US PER 7.4%, 67.6% of words
    /// right; GB 7.5%, 71.2%. The bounds allow 2 points.
    #[test]
    fn heldout_phoneme_error_rate_stays_low() {
        for (data, tsv, max_per, min_accuracy) in [(US, HELDOUT_US, 0.094, 0.656), (GB, HELDOUT_GB, 0.095, 0.692)] {
            let lts = LetterToSound::from_bytes(data).unwrap();
            let rows = heldout(tsv);
            let (mut errors, mut length, mut correct) = (0, 0, 0);
            for (word, reference, _) in &rows {
                let predicted = lts.predict(word);
                errors += edit_distance(&predicted, reference);
                length += reference.chars().count();
                correct += usize::from(predicted == *reference);
            }
            let per = errors as f64 / length as f64;
            let accuracy = correct as f64 / rows.len() as f64;
            assert!(per < max_per, "PER {per:.4} (bound {max_per})");
            assert!(accuracy > min_accuracy, "word accuracy {accuracy:.4} (bound {min_accuracy})");
        }
    }

    #[test]
    fn heldout_words_it_gets_right_survive_case_and_punctuation() {
        let lts = LetterToSound::from_bytes(US).unwrap();
        // Rows where the trainer matched misaki: the reference is the known-correct answer.
        let right: Vec<_> =
            heldout(HELDOUT_US).into_iter().filter(|(_, reference, python)| reference == python).collect();
        assert!(right.len() > 200);
        for (word, reference, _) in right.iter().take(20) {
            assert_eq!(lts.predict(&word.to_uppercase()), *reference);
            assert_eq!(lts.predict(&format!("-{word}!")), *reference);
        }
    }

    #[test]
    fn input_is_lowercased_and_filtered() {
        let lts = LetterToSound::from_bytes(US).unwrap();
        assert_eq!(lts.predict(""), "");
        assert_eq!(lts.predict("123 -- ?!"), "");
        assert_eq!(lts.predict("Zorbly"), lts.predict("zorbly"));
        assert_eq!(lts.predict("zor-bly 42"), lts.predict("zorbly"));
        assert_eq!(lts.predict("zörbly"), lts.predict("zrbly"));
        assert_ne!(lts.predict("o'brien"), lts.predict("obrien"));
    }

    #[test]
    fn output_uses_only_misaki_symbols_and_one_primary_stress() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz'éß-Kİ 1ǅ".chars().collect();
        for (data, symbols, tsv) in [(US, US_SYMBOLS, HELDOUT_US), (GB, GB_SYMBOLS, HELDOUT_GB)] {
            let lts = LetterToSound::from_bytes(data).unwrap();
            let mut words: Vec<String> = heldout(tsv).iter().map(|row| row.0.to_owned()).collect();
            for _ in 0..2000 {
                let len = 1 + rng.below(20);
                words.push((0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect());
            }
            for word in &words {
                let phonemes = lts.predict(word);
                assert!(phonemes.chars().all(|c| symbols.contains(c)), "{word:?} -> {phonemes:?}");
                let primaries = phonemes.matches(PRIMARY).count();
                let stressable = phonemes.contains(|c| STRESSABLE.contains(c));
                assert_eq!(primaries, usize::from(stressable), "{word:?} -> {phonemes:?}");
            }
        }
    }

    #[test]
    fn huge_input_does_not_fail() {
        let lts = LetterToSound::from_bytes(US).unwrap();
        let word = "supercalifragilistic".repeat(5000);
        let phonemes = lts.predict(&word);
        assert_eq!(phonemes.matches(PRIMARY).count(), 1);
        assert!(phonemes.chars().count() > word.len() / 2);
    }

    #[test]
    fn fix_stress_leaves_one_primary() {
        assert_eq!(fix_stress("ˈæbˈæb"), "ˈæbˌæb");
        assert_eq!(fix_stress("ˌæbˌæb"), "ˈæbˌæb");
        assert_eq!(fix_stress("əbæb"), "əbˈæb");
        assert_eq!(fix_stress("bəm"), "bəm");
        assert_eq!(fix_stress(""), "");
    }

    #[test]
    fn truncated_or_foreign_files_are_errors() {
        for data in [US, GB] {
            let mut cuts: Vec<usize> = (0..64).collect();
            cuts.extend((64..data.len()).step_by(9973));
            for cut in cuts {
                assert!(matches!(LetterToSound::from_bytes(&data[..cut]), Err(Error::Lexicon(_))), "cut at {cut}");
            }
        }
        let mut wrong_version = US.to_vec();
        wrong_version[4] = 2;
        let mut wrong_length = US.to_vec();
        wrong_length[8] ^= 1;
        let mut huge_length = US.to_vec();
        huge_length[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut flipped = US.to_vec();
        flipped[500] ^= 0x40;
        for bad in [&b"GGUF\x01\0\0\0\0\0\0\0"[..], &wrong_version, &wrong_length, &huge_length, &flipped] {
            assert!(matches!(LetterToSound::from_bytes(bad), Err(Error::Lexicon(_))));
        }
    }

    #[test]
    fn malformed_tables_are_errors() {
        let good = payload(US);
        assert!(LetterToSound::from_bytes(&pack(&good)).is_ok());
        let window = good[0] as usize;
        let label_count = u16::from_le_bytes([good[2], good[3]]) as usize;
        let mut at = 4;
        let mut one_byte_label = None; // where a one-byte (ASCII) label's text is
        for _ in 0..label_count {
            if good[at] == 1 && one_byte_label.is_none() {
                one_byte_label = Some(at + 1);
            }
            at += 1 + good[at] as usize;
        }
        let ascii = one_byte_label.unwrap();
        let nodes_at = at + label_count;
        let n = u32::from_le_bytes(good[nodes_at..nodes_at + 4].try_into().unwrap()) as usize;
        let (features, labels, counts, values) =
            (nodes_at + 4, nodes_at + 4 + n, nodes_at + 4 + 3 * n, nodes_at + 4 + 4 * n);
        let root_children = good[counts];
        let last_node_children = format!("node {}: children", n - 1);
        let last_parent = (0..n).rfind(|&i| good[counts + i] > 1).unwrap();
        type Edit = Box<dyn Fn(&mut Vec<u8>)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("features for window", Box::new(|p| p[1] += 1)),
            ("not a misaki phoneme", Box::new(move |p| p[ascii] = b'T')),
            ("not UTF-8", Box::new(move |p| p[ascii] = 0xff)),
            ("truncated", Box::new(move |p| p.truncate(nodes_at + 4 + 2 * n))),
            ("no nodes", Box::new(move |p| p[nodes_at..nodes_at + 4].copy_from_slice(&[0; 4]))),
            ("after the last table", Box::new(|p| p.push(0))),
            ("node 0: feature", Box::new(move |p| p[features] = (2 * window + 4) as u8)),
            ("a leaf that asks", Box::new(move |p| p[features + n - 1] = 0)),
            ("node 0: label", Box::new(move |p| p[labels..labels + 2].copy_from_slice(&u16::MAX.to_le_bytes()))),
            (
                "node 1: children 1..",
                Box::new(move |p| {
                    (p[features], p[counts]) = (LEAF, 0);
                    p[counts + 1] += root_children;
                }),
            ),
            (&last_node_children, Box::new(move |p| p[counts + n - 1] = 1)),
            ("child links", Box::new(move |p| p[counts + last_parent] -= 1)),
            ("not sorted", Box::new(move |p| p.swap(values + 1, values + 2))),
        ];
        for (expected, edit) in edits {
            let mut bad = good.clone();
            edit(&mut bad);
            match LetterToSound::parse(&bad) {
                Err(Error::Lexicon(detail)) => assert!(detail.contains(expected), "{detail:?} lacks {expected:?}"),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        let good = payload(GB);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut loaded = 0;
        for _ in 0..300 {
            let mut bad = good.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bad.len());
                bad[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                bad.truncate(rng.below(bad.len()));
            }
            if let Ok(lts) = LetterToSound::parse(&bad) {
                loaded += 1;
                for word in ["a", "zyzzyva", "o'neill", "antidisestablishmentarianism"] {
                    let phonemes = lts.predict(word);
                    assert!(phonemes.chars().all(|c| MISAKI_SYMBOLS.contains(c)));
                }
            }
        }
        assert!(loaded > 0, "some corruptions (a changed label id or value) still load");
    }
}
