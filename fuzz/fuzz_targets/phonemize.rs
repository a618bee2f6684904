//! Any text: the phonemizer returns phonemes for plain text and phonemes or a positioned error
//! for SSML, never panics, and only emits symbols of Kokoro's vocabulary.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tritone::vocab::KOKORO_VOCAB;
use tritone::phonemize::{Language, Phonemizer};

fuzz_target!(|bytes: &[u8]| {
    static PHONEMIZERS: OnceLock<[Phonemizer; 2]> = OnceLock::new();
    let [us, gb] = PHONEMIZERS.get_or_init(|| [Phonemizer::new(Language::EnUs).unwrap(), Phonemizer::new(Language::EnGb).unwrap()]);
    let text = String::from_utf8_lossy(bytes);
    for p in [us, gb] {
        let phonemes = p.phonemize(&text).phonemes();
        for c in phonemes.chars() {
            assert!(KOKORO_VOCAB.iter().any(|&(_, s)| s == c), "{c:?} is not a Kokoro symbol (input {text:?})");
        }
        if let Err(e) = p.phonemize_ssml(&text) {
            assert!(!e.to_string().is_empty());
        }
    }
});
