use super::*;

fn us() -> Phonemizer {
    Phonemizer::new(Language::EnUs).unwrap()
}

#[test]
fn sentence_in_misakis_conventions() {
    // misaki 0.9.4 (tools/phonemize/words.py --lang us)
    assert_eq!(us().phonemize("Hello, world!").phonemes(), "həlˈO, wˈɜɹld!");
}
