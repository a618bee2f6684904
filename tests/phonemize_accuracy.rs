//! The phonemizer against misaki on the project's corpus (tests/fixtures/phonemize/reference-*.tsv,
//! made by tools/phonemize/misaki_reference.py): word accuracy and phoneme error rate per
//! category, for en-US and en-GB.

use std::collections::BTreeMap;

use tritone::phonemize::{Language, Phonemizer};

fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diag + usize::from(x != y));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[derive(Default)]
struct Score {
    words: usize,
    word_errors: usize,
    phonemes: usize,
    phoneme_errors: usize,
}

fn score(language: Language, file: &str) -> BTreeMap<String, Score> {
    let text = std::fs::read_to_string(format!("{}/tests/fixtures/phonemize/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let phonemizer = Phonemizer::new(language).unwrap();
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    let verbose = std::env::var_os("TRITONE_PHONEMIZE_DIFF").is_some();
    for line in text.lines().skip(1) {
        let mut cols = line.split('\t');
        let (category, sentence, reference) = (cols.next().unwrap(), cols.next().unwrap(), cols.next().unwrap_or(""));
        let ours = phonemizer.phonemize(sentence).phonemes();
        let (rw, ow): (Vec<&str>, Vec<&str>) = (reference.split(' ').collect(), ours.split(' ').collect());
        let (rc, oc): (Vec<char>, Vec<char>) = (reference.chars().collect(), ours.chars().collect());
        for s in [category, "all"] {
            let e = scores.entry(s.to_string()).or_default();
            e.words += rw.len();
            e.word_errors += edit_distance(&rw, &ow);
            e.phonemes += rc.len();
            e.phoneme_errors += edit_distance(&rc, &oc);
        }
        if verbose && ours != reference {
            println!("{category}: {sentence}\n  misaki: {reference}\n  ours:   {ours}");
        }
    }
    for (category, s) in &scores {
        println!(
            "{} {category:>14}: word accuracy {:6.2}% ({} words), PER {:5.2}%",
            language.code(),
            100.0 * (1.0 - s.word_errors as f64 / s.words as f64),
            s.words,
            100.0 * s.phoneme_errors as f64 / s.phonemes as f64
        );
    }
    scores
}

fn check(language: Language, file: &str) {
    let scores = score(language, file);
    let all = &scores["all"];
    let accuracy = 1.0 - all.word_errors as f64 / all.words as f64;
    let per = all.phoneme_errors as f64 / all.phonemes as f64;
    assert!(all.words > 5000, "the corpus shrank: {} words", all.words);
    assert!(accuracy >= 0.97, "{}: word accuracy {:.2}% < 97%", language.code(), 100.0 * accuracy);
    assert!(per <= 0.02, "{}: phoneme error rate {:.2}% > 2%", language.code(), 100.0 * per);
}

#[test]
fn en_us_matches_misaki() {
    check(Language::EnUs, "reference-us.tsv");
}

#[test]
fn en_gb_matches_misaki() {
    check(Language::EnGb, "reference-gb.tsv");
}
