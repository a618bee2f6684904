//! Converters from the phoneme alphabets that SSML and the CLI accept (IPA, X-SAMPA, ARPAbet,
//! Kirshenbaum) to misaki's phoneme set, the one Kokoro was trained on.
//!
//! X-SAMPA and Kirshenbaum are first transliterated to IPA. IPA is mapped onto misaki's US or GB
//! set, longest symbol sequence first. ARPAbet is phonemic and American, so it is mapped
//! directly, with a non-rhotic rewrite for GB. Every converter moves each stress mark from the
//! syllable onset to just before the stressed vowel, where misaki writes it (`həˈloʊ` →
//! `həlˈO`), and separates words by single spaces. Flaps come out as `ɾ` and glottal stops as
//! `ʔ`, as in misaki's lexicons; misaki's last step (`ɾ`→`T`, `ʔ`→`t`) is left to the caller.

use crate::error::Error;
use crate::Result;

/// Every symbol misaki's US lexicons use.
const US_PHONEMES: &str = "AIOWYbdfhijklmnpstuvwzæðŋɑɔəɛɜɡɪɹɾʃʊʌʒʤʧˈˌθᵊᵻʔ";
/// Every symbol misaki's GB lexicons use.
const GB_PHONEMES: &str = "AIQWYabdfhijklmnpstuvwzðŋɑɒɔəɛɜɡɪɹʃʊʌʒʤʧˈˌːθᵊ";
/// Misaki's vowels: a stress mark stands right before one of these.
const MISAKI_VOWELS: &str = "AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻ";
/// The misaki vowels that GB may lengthen with `ː` (not the diphthongs).
const MISAKI_MONOPHTHONGS: &str = "aiuæɑɒɔəɛɜɪʊʌ";

const PRIMARY_STRESS: char = 'ˈ';
const SECONDARY_STRESS: char = 'ˌ';
const LENGTH: char = 'ː';
const SYLLABIC: char = '\u{0329}';
const SYLLABIC_ABOVE: char = '\u{030D}';
const RHOTIC_HOOK: char = '˞';
/// A syllable boundary: emits nothing, but keeps its neighbours from being read as one symbol
/// (`t.ʃ` is two consonants, `tʃ` is `ʧ`).
const BOUNDARY: char = '.';

/// IPA vowels, including r-coloured and reduced ones; a syllabic mark on these changes nothing.
const IPA_VOWELS: &str = "iyɨʉɯuɪʏʊeøɘɵɤoəɛœɜɞʌɔæɐaɶɑɒɚɝᵻᵿᵊ";

/// The alphabet a pronunciation is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Ipa,
    XSampa,
    Arpabet,
    Kirshenbaum,
    Misaki,
}

impl Alphabet {
    /// SSML/CLI names: "ipa", "x-sampa" (also "xsampa"), "arpabet" (also "cmu"), "kirshenbaum",
    /// "misaki". Case-insensitive.
    pub fn from_name(name: &str) -> Option<Alphabet> {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "ipa" => Some(Alphabet::Ipa),
            "x-sampa" | "xsampa" => Some(Alphabet::XSampa),
            "arpabet" | "cmu" => Some(Alphabet::Arpabet),
            "kirshenbaum" => Some(Alphabet::Kirshenbaum),
            "misaki" => Some(Alphabet::Misaki),
            _ => None,
        }
    }

    /// The canonical name, as [`Alphabet::from_name`] accepts it and errors report it.
    pub fn name(self) -> &'static str {
        match self {
            Alphabet::Ipa => "ipa",
            Alphabet::XSampa => "x-sampa",
            Alphabet::Arpabet => "arpabet",
            Alphabet::Kirshenbaum => "kirshenbaum",
            Alphabet::Misaki => "misaki",
        }
    }
}

/// Converts a pronunciation written in `alphabet` to misaki/Kokoro phonemes for US
/// (`british == false`) or GB.
///
/// Input forms:
/// - IPA: Wiktionary/eSpeak style; `/`, `[`, `]`, `(`, `)` are ignored (so the optional sound in
///   `ɡɑɹd(ə)n` is kept), `'` and `:` stand for `ˈ` and `ː`, `.` and `-` are syllable breaks,
///   `|` and `‖` separate words, diacritics without an English contrast are dropped.
/// - ARPAbet: CMUdict phones separated by whitespace, case-insensitive, stress digit 0/1/2 on
///   vowels (a vowel without a digit is unstressed and keeps its full quality: `AH` is `ʌ`); a
///   lone `|` separates words, a lone `.` (syllable break) is ignored, anything else is an error.
///   TIMIT's AX, AXR, IX, UX, DX, NX, EL, EM, EN, Q, WH are accepted too.
/// - X-SAMPA: `"` `%` stress, `_` ties (`e_I`, `t_S`) unless a diacritic letter follows
///   (dropped; `_=` and `=` mark syllabic consonants), `-` keeps symbols from merging.
/// - Kirshenbaum: the Usenet ASCII-IPA table plus eSpeak's `-x` mnemonics (`3`, `3:`, `0`,
///   `a#`, `I#`, `I2`, `i@`, `@L`); `<feature>` modifiers are dropped except `<r>` and `<syl>`.
/// - Misaki: checked against the variant's symbol set and passed through; misaki's output
///   spelling `T` of the flap is read back as `ɾ` (US) or `t` (GB).
///
/// An unknown symbol is an [`Error::Alphabet`] whose offset is its byte offset in `input`.
pub fn to_misaki(alphabet: Alphabet, input: &str, british: bool) -> Result<String> {
    match alphabet {
        Alphabet::Ipa => ipa_to_misaki(input.char_indices(), british, alphabet),
        Alphabet::XSampa => ipa_to_misaki(xsampa_to_ipa(input)?, british, alphabet),
        Alphabet::Kirshenbaum => ipa_to_misaki(kirshenbaum_to_ipa(input)?, british, alphabet),
        Alphabet::Arpabet => arpabet_to_misaki(input, british),
        Alphabet::Misaki => check_misaki(input, british),
    }
}

fn alphabet_error(alphabet: Alphabet, offset: usize, detail: String) -> Error {
    Error::Alphabet {
        alphabet: alphabet.name(),
        offset,
        detail,
    }
}

fn unknown_symbol(alphabet: Alphabet, offset: usize, symbol: char) -> Error {
    let detail = format!("unknown symbol {symbol:?} (U+{:04X})", u32::from(symbol));
    alphabet_error(alphabet, offset, detail)
}

/// The entry of `table` whose pattern is the longest prefix of `rest`.
fn longest_match<'t, T>(
    rest: &str,
    table: &'t [(&'static str, T)],
) -> Option<&'t (&'static str, T)> {
    table
        .iter()
        .filter(|(pattern, _)| rest.starts_with(pattern))
        .max_by_key(|(pattern, _)| pattern.len())
}

/// Assembles misaki output: holds each stress mark until the next vowel of the same word, keeps
/// GB length marks only after monophthongs, and puts single spaces between words.
struct MisakiWriter {
    out: String,
    british: bool,
    pending_stress: Option<char>,
    pending_space: bool,
    after_monophthong: bool,
}

impl MisakiWriter {
    fn new(british: bool, capacity: usize) -> Self {
        MisakiWriter {
            out: String::with_capacity(capacity),
            british,
            pending_stress: None,
            pending_space: false,
            after_monophthong: false,
        }
    }

    fn phones(&mut self, phones: &str) {
        let Some(first) = phones.chars().next() else {
            return;
        };
        if std::mem::take(&mut self.pending_space) && !self.out.is_empty() {
            self.out.push(' ');
        }
        if MISAKI_VOWELS.contains(first) {
            if let Some(stress) = self.pending_stress.take() {
                self.out.push(stress);
            }
        }
        self.out.push_str(phones);
        self.after_monophthong = phones.chars().count() == 1 && MISAKI_MONOPHTHONGS.contains(first);
    }

    /// Primary stress wins over secondary when a syllable is given both.
    fn stress(&mut self, mark: char) {
        if self.pending_stress != Some(PRIMARY_STRESS) {
            self.pending_stress = Some(mark);
        }
    }

    /// Misaki US has no length mark; GB writes it after long monophthongs only.
    fn length(&mut self) {
        if self.british && self.after_monophthong {
            self.out.push(LENGTH);
        }
        self.after_monophthong = false;
    }

    /// A stress mark with no vowel after it in its word is dropped.
    fn space(&mut self) {
        self.pending_stress = None;
        self.pending_space = true;
        self.after_monophthong = false;
    }

    fn finish(self) -> String {
        self.out
    }
}

/// IPA symbol sequences → misaki (US, GB); the longest match wins.
const IPA_TO_MISAKI: &[(&str, (&str, &str))] = &[
    // Diphthongs, with the variant spellings of Wiktionary, eSpeak and older dictionaries.
    ("eɪ", ("A", "A")),
    ("ei", ("A", "A")),
    ("ɛɪ", ("A", "A")),
    ("aɪ", ("I", "I")),
    ("ai", ("I", "I")),
    ("ɑɪ", ("I", "I")),
    ("ʌɪ", ("I", "I")),
    ("ɔɪ", ("Y", "Y")),
    ("ɔi", ("Y", "Y")),
    ("oɪ", ("Y", "Y")),
    ("aʊ", ("W", "W")),
    ("au", ("W", "W")),
    ("ɑʊ", ("W", "W")),
    ("æʊ", ("W", "W")),
    ("oʊ", ("O", "Q")),
    ("ou", ("O", "Q")),
    ("əʊ", ("O", "Q")),
    ("əu", ("O", "Q")),
    ("ɵʊ", ("O", "Q")),
    // R-coloured vowels. Misaki US writes NURSE as ɜɹ and never ɜ alone; GB is non-rhotic.
    ("ɝ", ("ɜɹ", "ɜː")),
    ("ɚ", ("əɹ", "ə")),
    ("ɜ", ("ɜɹ", "ɜ")),
    ("ɜɹ", ("ɜɹ", "ɜɹ")),
    ("ɜr", ("ɜɹ", "ɜɹ")),
    ("ɜːɹ", ("ɜɹ", "ɜːɹ")),
    ("ɜːr", ("ɜɹ", "ɜːɹ")),
    ("ɛɚ", ("ɛɹ", "ɛː")),
    ("eɚ", ("ɛɹ", "ɛː")),
    ("ɪɚ", ("ɪɹ", "ɪə")),
    ("ʊɚ", ("ʊɹ", "ʊə")),
    ("ɔɚ", ("ɔɹ", "ɔː")),
    ("ɑɚ", ("ɑɹ", "ɑː")),
    // SQUARE: misaki GB writes ɛː.
    ("ɛə", ("ɛə", "ɛː")),
    ("eə", ("ɛə", "ɛː")),
    ("ɛəɹ", ("ɛɹ", "ɛːɹ")),
    ("eəɹ", ("ɛɹ", "ɛːɹ")),
    // Affricates.
    ("tʃ", ("ʧ", "ʧ")),
    ("ʧ", ("ʧ", "ʧ")),
    ("dʒ", ("ʤ", "ʤ")),
    ("ʤ", ("ʤ", "ʤ")),
    ("ʦ", ("ts", "ts")),
    ("ʣ", ("dz", "dz")),
    // Monophthongs; the GB set has `a` where the US set has `æ`, and no `ᵻ`.
    ("i", ("i", "i")),
    ("ɪ", ("ɪ", "ɪ")),
    ("e", ("ɛ", "ɛ")),
    ("ɛ", ("ɛ", "ɛ")),
    ("æ", ("æ", "a")),
    ("a", ("æ", "a")),
    ("ɶ", ("æ", "a")),
    ("ɑ", ("ɑ", "ɑ")),
    ("ɒ", ("ɑ", "ɒ")),
    ("ɔ", ("ɔ", "ɔ")),
    ("o", ("O", "Q")),
    ("ʊ", ("ʊ", "ʊ")),
    ("u", ("u", "u")),
    ("ʌ", ("ʌ", "ʌ")),
    ("ə", ("ə", "ə")),
    ("ɐ", ("ə", "ə")),
    ("ɘ", ("ə", "ə")),
    ("ɵ", ("ə", "ə")),
    ("ɨ", ("ᵻ", "ɪ")),
    ("ᵻ", ("ᵻ", "ɪ")),
    ("ᵿ", ("ʊ", "ʊ")),
    ("ᵊ", ("ᵊ", "ᵊ")),
    ("ʉ", ("u", "u")),
    ("ɯ", ("u", "u")),
    ("y", ("u", "u")),
    ("ʏ", ("ɪ", "ɪ")),
    ("ø", ("ɜɹ", "ɜ")),
    ("œ", ("ɜɹ", "ɜ")),
    ("ɞ", ("ɜɹ", "ɜ")),
    ("ɤ", ("ʌ", "ʌ")),
    // English consonants.
    ("p", ("p", "p")),
    ("b", ("b", "b")),
    ("t", ("t", "t")),
    ("d", ("d", "d")),
    ("k", ("k", "k")),
    ("g", ("ɡ", "ɡ")),
    ("ɡ", ("ɡ", "ɡ")),
    ("f", ("f", "f")),
    ("v", ("v", "v")),
    ("θ", ("θ", "θ")),
    ("ð", ("ð", "ð")),
    ("s", ("s", "s")),
    ("z", ("z", "z")),
    ("ʃ", ("ʃ", "ʃ")),
    ("ʒ", ("ʒ", "ʒ")),
    ("h", ("h", "h")),
    ("m", ("m", "m")),
    ("n", ("n", "n")),
    ("ŋ", ("ŋ", "ŋ")),
    ("l", ("l", "l")),
    ("w", ("w", "w")),
    ("j", ("j", "j")),
    ("ɹ", ("ɹ", "ɹ")),
    ("r", ("ɹ", "ɹ")),
    // In English transcriptions ɾ is the flapped t/d and ʔ a glottalled t: GB has neither,
    // and its lexicon says t where the US one says ɾ or ʔ (butter, button).
    ("ɾ", ("ɾ", "t")),
    ("ɽ", ("ɾ", "t")),
    ("ʔ", ("ʔ", "t")),
    // Other consonants, by nearest English sound.
    ("ɻ", ("ɹ", "ɹ")),
    ("ʀ", ("ɹ", "ɹ")),
    ("ʁ", ("ɹ", "ɹ")),
    ("ɫ", ("l", "l")),
    ("ɬ", ("l", "l")),
    ("ɮ", ("l", "l")),
    ("ɭ", ("l", "l")),
    ("ʟ", ("l", "l")),
    ("ʎ", ("lj", "lj")),
    ("ɲ", ("nj", "nj")),
    ("ɱ", ("m", "m")),
    ("ɳ", ("n", "n")),
    ("ɴ", ("ŋ", "ŋ")),
    ("ʈ", ("t", "t")),
    ("ɖ", ("d", "d")),
    ("c", ("k", "k")),
    ("ɟ", ("ɡ", "ɡ")),
    ("q", ("k", "k")),
    ("ɢ", ("ɡ", "ɡ")),
    ("ɓ", ("b", "b")),
    ("ɗ", ("d", "d")),
    ("ɠ", ("ɡ", "ɡ")),
    ("ɸ", ("f", "f")),
    ("β", ("v", "v")),
    ("ʋ", ("v", "v")),
    ("ç", ("h", "h")),
    ("ʝ", ("j", "j")),
    ("x", ("k", "k")),
    ("ɣ", ("ɡ", "ɡ")),
    ("χ", ("k", "k")),
    ("ħ", ("h", "h")),
    ("ɦ", ("h", "h")),
    ("ʍ", ("w", "w")),
    ("ɥ", ("w", "w")),
    ("ɰ", ("w", "w")),
    ("ʂ", ("ʃ", "ʃ")),
    ("ʐ", ("ʒ", "ʒ")),
    ("ɕ", ("ʃ", "ʃ")),
    ("ʑ", ("ʒ", "ʒ")),
    ("ɧ", ("ʃ", "ʃ")),
];

/// Marks that carry no phonemic contrast in English: diacritics (tie bars included), modifier
/// letters (aspiration, palatalisation...), half-length, linking and tone arrows, invisible
/// joiners, and the brackets that wrap transcriptions.
fn is_ignorable_ipa(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1DC0}'..='\u{1DFF}'
            | 'ʰ'
            | 'ʱ'
            | 'ʲ'
            | 'ʷ'
            | 'ˠ'
            | 'ˤ'
            | 'ⁿ'
            | 'ˡ'
            | 'ʼ'
            | 'ˀ'
            | 'ˑ'
            | '‿'
            | 'ꜛ'
            | 'ꜜ'
            | '\u{200C}'
            | '\u{200D}'
            | '\u{FEFF}'
            | '/'
            | '['
            | ']'
            | '('
            | ')'
    )
}

/// IPA text with the byte offset in the caller's input of each of its bytes.
#[derive(Default)]
struct IpaText {
    text: String,
    offsets: Vec<usize>,
}

impl IpaText {
    fn push(&mut self, c: char, offset: usize) {
        self.text.push(c);
        self.offsets
            .extend(std::iter::repeat_n(offset, c.len_utf8()));
    }

    fn pop(&mut self) -> Option<(char, usize)> {
        let c = self.text.pop()?;
        let offset = *self.offsets.last()?;
        self.offsets.truncate(self.text.len());
        Some((c, offset))
    }

    fn last(&self) -> Option<char> {
        self.text.chars().next_back()
    }

    /// A syllabic consonant becomes misaki's `ᵊ` + consonant (`n̩` → `ᵊn`), a syllabic r
    /// becomes `ɚ`; on a vowel the mark says nothing.
    fn make_last_syllabic(&mut self) {
        let Some(last) = self.last() else { return };
        if IPA_VOWELS.contains(last) || !last.is_alphabetic() {
            return;
        }
        if let Some((consonant, offset)) = self.pop() {
            if matches!(consonant, 'ɹ' | 'r' | 'ɻ') {
                self.push('ɚ', offset);
            } else {
                self.push('ᵊ', offset);
                self.push(consonant, offset);
            }
        }
    }

    /// `ə˞` is `ɚ` and `ɜ˞` is `ɝ`; on other vowels the hook is an r for US and nothing for GB.
    fn add_rhotic_hook(&mut self, offset: usize, british: bool) {
        match self.last() {
            Some('ə') => self.replace_last('ɚ'),
            Some('ɜ') => self.replace_last('ɝ'),
            Some(vowel) if !british && IPA_VOWELS.contains(vowel) => self.push('ɹ', offset),
            _ => {}
        }
    }

    fn replace_last(&mut self, c: char) {
        if let Some((_, offset)) = self.pop() {
            self.push(c, offset);
        }
    }
}

fn normalize_ipa(input: impl IntoIterator<Item = (usize, char)>, british: bool) -> IpaText {
    let mut ipa = IpaText::default();
    for (offset, c) in input {
        match c {
            SYLLABIC | SYLLABIC_ABOVE => ipa.make_last_syllabic(),
            RHOTIC_HOOK => ipa.add_rhotic_hook(offset, british),
            '|' | '‖' => ipa.push(' ', offset),
            c if c.is_whitespace() => ipa.push(' ', offset),
            c if is_ignorable_ipa(c) => {}
            c => ipa.push(c, offset),
        }
    }
    ipa
}

/// Converts IPA characters (with their byte offsets in the original input) to misaki;
/// `alphabet` is the one the user wrote, for error messages.
fn ipa_to_misaki(
    input: impl IntoIterator<Item = (usize, char)>,
    british: bool,
    alphabet: Alphabet,
) -> Result<String> {
    let ipa = normalize_ipa(input, british);
    let mut writer = MisakiWriter::new(british, ipa.text.len());
    let mut pos = 0;
    while let Some(c) = ipa.text[pos..].chars().next() {
        let mut consumed = c.len_utf8();
        match c {
            ' ' => writer.space(),
            PRIMARY_STRESS | '\'' => writer.stress(PRIMARY_STRESS),
            SECONDARY_STRESS => writer.stress(SECONDARY_STRESS),
            LENGTH | ':' => writer.length(),
            BOUNDARY | '-' => {}
            _ => {
                let offset = ipa.offsets[pos];
                let Some((pattern, (us, gb))) = longest_match(&ipa.text[pos..], IPA_TO_MISAKI)
                else {
                    return Err(unknown_symbol(alphabet, offset, c));
                };
                writer.phones(if british { gb } else { us });
                consumed = pattern.len();
            }
        }
        pos += consumed;
    }
    Ok(writer.finish())
}

/// X-SAMPA → IPA, for the symbols [`IPA_TO_MISAKI`] knows. Diphthongs and affricates are
/// written as their parts (`eI`, `tS`) or tied with `_` (`e_I`, `t_S`); `-` separates symbols
/// that would otherwise merge.
const XSAMPA_TO_IPA: &[(&str, &str)] = &[
    ("a", "a"),
    ("b", "b"),
    ("b_<", "ɓ"),
    ("c", "c"),
    ("d", "d"),
    ("d`", "ɖ"),
    ("d_<", "ɗ"),
    ("e", "e"),
    ("f", "f"),
    ("g", "ɡ"),
    ("g_<", "ɠ"),
    ("h", "h"),
    ("h\\", "ɦ"),
    ("i", "i"),
    ("j", "j"),
    ("j\\", "ʝ"),
    ("k", "k"),
    ("l", "l"),
    ("l`", "ɭ"),
    ("m", "m"),
    ("n", "n"),
    ("n`", "ɳ"),
    ("o", "o"),
    ("p", "p"),
    ("p\\", "ɸ"),
    ("q", "q"),
    ("r", "r"),
    ("r`", "ɽ"),
    ("r\\", "ɹ"),
    ("r\\`", "ɻ"),
    ("s", "s"),
    ("s`", "ʂ"),
    ("s\\", "ɕ"),
    ("t", "t"),
    ("t`", "ʈ"),
    ("u", "u"),
    ("v", "v"),
    ("v\\", "ʋ"),
    ("w", "w"),
    ("x", "x"),
    ("x\\", "ɧ"),
    ("y", "y"),
    ("z", "z"),
    ("z`", "ʐ"),
    ("z\\", "ʑ"),
    ("A", "ɑ"),
    ("B", "β"),
    ("C", "ç"),
    ("D", "ð"),
    ("E", "ɛ"),
    ("F", "ɱ"),
    ("G", "ɣ"),
    ("G\\", "ɢ"),
    ("H", "ɥ"),
    ("I", "ɪ"),
    ("I\\", "ᵻ"),
    ("J", "ɲ"),
    ("J\\", "ɟ"),
    ("K", "ɬ"),
    ("K\\", "ɮ"),
    ("L", "ʎ"),
    ("L\\", "ʟ"),
    ("M", "ɯ"),
    ("M\\", "ɰ"),
    ("N", "ŋ"),
    ("N\\", "ɴ"),
    ("O", "ɔ"),
    ("P", "ʋ"),
    ("Q", "ɒ"),
    ("R", "ʁ"),
    ("R\\", "ʀ"),
    ("S", "ʃ"),
    ("T", "θ"),
    ("U", "ʊ"),
    ("U\\", "ᵿ"),
    ("V", "ʌ"),
    ("W", "ʍ"),
    ("X", "χ"),
    ("X\\", "ħ"),
    ("Y", "ʏ"),
    ("Z", "ʒ"),
    ("@", "ə"),
    ("@\\", "ɘ"),
    ("@`", "ɚ"),
    ("{", "æ"),
    ("}", "ʉ"),
    ("1", "ɨ"),
    ("2", "ø"),
    ("3", "ɜ"),
    ("3\\", "ɞ"),
    ("3`", "ɝ"),
    ("4", "ɾ"),
    ("5", "ɫ"),
    ("6", "ɐ"),
    ("7", "ɤ"),
    ("8", "ɵ"),
    ("9", "œ"),
    ("&", "ɶ"),
    ("?", "ʔ"),
    ("\"", "ˈ"),
    ("%", "ˌ"),
    (":", "ː"),
    // Half-long, nasalised, palatalised: no English contrast.
    (":\\", ""),
    ("~", ""),
    ("'", ""),
    (".", "."),
    ("-", "."),
    ("=", "\u{0329}"),
    ("`", "˞"),
];

/// The X-SAMPA diacritics written `_` + one character (`_h` aspirated, `_0` voiceless...).
const XSAMPA_DIACRITICS: &str = "\"+-0=>^}~\\/AaBcdeFGHhjkLlMmNnOoqRrTtvWwXx";

/// Transliterates X-SAMPA to IPA characters paired with their byte offsets in `input`.
/// `_` followed by a diacritic letter drops the diacritic (`_=` still marks a syllabic
/// consonant); any other `_` is a tie bar and is dropped.
fn xsampa_to_ipa(input: &str) -> Result<Vec<(usize, char)>> {
    let mut ipa = Vec::with_capacity(input.len());
    let mut pos = 0;
    while let Some(c) = input[pos..].chars().next() {
        let rest = &input[pos..];
        if c.is_whitespace() {
            ipa.push((pos, ' '));
            pos += c.len_utf8();
        } else if c == '_' {
            let diacritic = &rest[1..];
            pos += if diacritic.starts_with("?\\") {
                3
            } else if diacritic.starts_with('=') {
                ipa.push((pos, SYLLABIC));
                2
            } else if diacritic.starts_with(|d| XSAMPA_DIACRITICS.contains(d)) {
                2
            } else {
                1
            };
        } else {
            let Some((pattern, symbol)) = longest_match(rest, XSAMPA_TO_IPA) else {
                return Err(unknown_symbol(Alphabet::XSampa, pos, c));
            };
            ipa.extend(symbol.chars().map(|s| (pos, s)));
            pos += pattern.len();
        }
    }
    Ok(ipa)
}

/// Kirshenbaum (Usenet ASCII-IPA) → IPA. Deviations from the 1993 specification, for eSpeak's
/// `-x` mnemonics, which are based on it: `3` is `ɚ` and `3:` is `ɜː` (the specification has
/// `R` and `V"`, which are kept), `0` is `ɒ` (specification: `A.`), `a#` is `ɐ`, `I#` is `ᵻ`,
/// `I2` is `ɪ`, `i@` is `ɪə` and `@L` is a syllabic l; `#` is dropped. Explicit feature sets
/// (`{vcd,blb,stp}`) are not supported.
const KIRSHENBAUM_TO_IPA: &[(&str, &str)] = &[
    ("i", "i"),
    ("I", "ɪ"),
    ("e", "e"),
    ("E", "ɛ"),
    ("&", "æ"),
    ("a", "a"),
    ("A", "ɑ"),
    ("O", "ɔ"),
    ("o", "o"),
    ("U", "ʊ"),
    ("u", "u"),
    ("V", "ʌ"),
    ("@", "ə"),
    ("R", "ɚ"),
    ("y", "y"),
    ("Y", "ø"),
    ("W", "œ"),
    ("i\"", "ɨ"),
    ("u\"", "ʉ"),
    ("u-", "ɯ"),
    ("o-", "ɤ"),
    ("I.", "ʏ"),
    ("@.", "ɵ"),
    ("@<umd>", "ɘ"),
    ("V\"", "ɜ"),
    ("O\"", "ɞ"),
    ("&\"", "ɐ"),
    ("a.", "ɶ"),
    ("A.", "ɒ"),
    ("3", "ɚ"),
    ("3:", "ɜː"),
    ("0", "ɒ"),
    ("a#", "ɐ"),
    ("I#", "ᵻ"),
    ("I2", "ɪ"),
    ("i@", "ɪə"),
    ("@L", "ᵊl"),
    ("p", "p"),
    ("b", "b"),
    ("t", "t"),
    ("d", "d"),
    ("t.", "ʈ"),
    ("d.", "ɖ"),
    ("c", "c"),
    ("J", "ɟ"),
    ("k", "k"),
    ("g", "ɡ"),
    ("q", "q"),
    ("G", "ɢ"),
    ("?", "ʔ"),
    ("m", "m"),
    ("M", "ɱ"),
    ("n", "n"),
    ("n.", "ɳ"),
    ("n^", "ɲ"),
    ("N", "ŋ"),
    ("n\"", "ɴ"),
    ("P", "ɸ"),
    ("B", "β"),
    ("f", "f"),
    ("v", "v"),
    ("T", "θ"),
    ("D", "ð"),
    ("s", "s"),
    ("z", "z"),
    ("s.", "ʂ"),
    ("z.", "ʐ"),
    ("S", "ʃ"),
    ("Z", "ʒ"),
    ("C", "ç"),
    ("C<vcd>", "ʝ"),
    ("x", "x"),
    ("Q", "ɣ"),
    ("X", "χ"),
    ("g\"", "ʁ"),
    ("H", "ħ"),
    ("h", "h"),
    ("h<?>", "ɦ"),
    ("s<lat>", "ɬ"),
    ("z<lat>", "ɮ"),
    ("r", "ɹ"),
    ("r.", "ɻ"),
    ("r\"", "ʀ"),
    ("r<trl>", "r"),
    ("r<lbd>", "ʋ"),
    ("*", "ɾ"),
    ("j", "j"),
    ("j<vel>", "ɰ"),
    ("w", "w"),
    ("w<vls>", "ʍ"),
    ("l", "l"),
    ("l.", "ɭ"),
    ("l^", "ʎ"),
    ("L", "ʟ"),
    ("'", "ˈ"),
    (",", "ˌ"),
    (":", "ː"),
    // After a consonant `-` marks it syllabic; after a vowel it means unrounded.
    ("-", "\u{0329}"),
    // Nasalised, centralised, rounded/retroflex, dental, ejective: no English contrast.
    ("~", ""),
    ("\"", ""),
    (".", ""),
    ("^", ""),
    ("[", ""),
    ("`", ""),
    ("#", ""),
];

/// The longest `<feature>` modifier Kirshenbaum writes after a symbol (`<trl>`, `<?>`).
const MAX_KIRSHENBAUM_FEATURE: usize = 4;

/// Transliterates Kirshenbaum to IPA characters paired with their byte offsets in `input`.
/// A `<feature>` after a symbol is dropped, except `<r>`/`<rzd>` (rhotacised) and `<syl>`.
fn kirshenbaum_to_ipa(input: &str) -> Result<Vec<(usize, char)>> {
    let mut ipa = Vec::with_capacity(input.len());
    let mut pos = 0;
    while let Some(c) = input[pos..].chars().next() {
        let rest = &input[pos..];
        if c.is_whitespace() {
            ipa.push((pos, ' '));
            pos += c.len_utf8();
        } else if let Some((pattern, symbol)) = longest_match(rest, KIRSHENBAUM_TO_IPA) {
            ipa.extend(symbol.chars().map(|s| (pos, s)));
            pos += pattern.len();
        } else if c == '<' {
            let feature = rest[1..]
                .split_once('>')
                .map(|(feature, _)| feature)
                .filter(|f| {
                    f.len() <= MAX_KIRSHENBAUM_FEATURE
                        && f.chars().all(|f| f.is_ascii_alphabetic() || f == '?')
                })
                .ok_or_else(|| {
                    alphabet_error(Alphabet::Kirshenbaum, pos, "'<' opens no <feature>".into())
                })?;
            match feature {
                "r" | "rzd" => ipa.push((pos, RHOTIC_HOOK)),
                "syl" => ipa.push((pos, SYLLABIC)),
                _ => {}
            }
            pos += feature.len() + 2;
        } else if c == '{' {
            let detail = "explicit feature sets ({...}) are not supported".into();
            return Err(alphabet_error(Alphabet::Kirshenbaum, pos, detail));
        } else {
            return Err(unknown_symbol(Alphabet::Kirshenbaum, pos, c));
        }
    }
    Ok(ipa)
}

/// An ARPAbet phone: CMUdict's 39 and TIMIT's additions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arpa {
    Aa,
    Ae,
    Ah,
    Ao,
    Aw,
    Ax,
    Axr,
    Ay,
    Eh,
    Er,
    Ey,
    Ih,
    Ix,
    Iy,
    Ow,
    Oy,
    Uh,
    Uw,
    Ux,
    B,
    Ch,
    D,
    Dh,
    Dx,
    El,
    Em,
    En,
    F,
    G,
    Hh,
    Jh,
    K,
    L,
    M,
    N,
    Ng,
    Nx,
    P,
    Q,
    R,
    S,
    Sh,
    T,
    Th,
    V,
    W,
    Wh,
    Y,
    Z,
    Zh,
}

impl Arpa {
    fn from_code(code: &str) -> Option<Arpa> {
        use Arpa::*;
        Some(match code.to_ascii_uppercase().as_str() {
            "AA" => Aa,
            "AE" => Ae,
            "AH" => Ah,
            "AO" => Ao,
            "AW" => Aw,
            "AX" => Ax,
            "AXR" => Axr,
            "AY" => Ay,
            "EH" => Eh,
            "ER" => Er,
            "EY" => Ey,
            "IH" => Ih,
            "IX" => Ix,
            "IY" => Iy,
            "OW" => Ow,
            "OY" => Oy,
            "UH" => Uh,
            "UW" => Uw,
            "UX" => Ux,
            "B" => B,
            "CH" => Ch,
            "D" => D,
            "DH" => Dh,
            "DX" => Dx,
            "EL" => El,
            "EM" => Em,
            "EN" => En,
            "F" => F,
            "G" => G,
            "HH" | "H" => Hh,
            "JH" => Jh,
            "K" => K,
            "L" => L,
            "M" => M,
            "N" => N,
            "NG" => Ng,
            "NX" => Nx,
            "P" => P,
            "Q" => Q,
            "R" => R,
            "S" => S,
            "SH" => Sh,
            "T" => T,
            "TH" => Th,
            "V" => V,
            "W" => W,
            "WH" => Wh,
            "Y" => Y,
            "Z" => Z,
            "ZH" => Zh,
            _ => return None,
        })
    }

    fn is_vowel(self) -> bool {
        use Arpa::*;
        matches!(
            self,
            Aa | Ae
                | Ah
                | Ao
                | Aw
                | Ax
                | Axr
                | Ay
                | Eh
                | Er
                | Ey
                | Ih
                | Ix
                | Iy
                | Ow
                | Oy
                | Uh
                | Uw
                | Ux
        )
    }

    /// The phone in misaki; `stress` is the CMUdict digit (0 = unstressed), if any.
    fn misaki(self, stress: Option<u8>, british: bool) -> &'static str {
        use Arpa::*;
        let reduced = stress == Some(0);
        match (self, british) {
            (Aa, false) => "ɑ",
            // CMUdict's AA is both LOT (GB ɒ) and PALM (GB ɑː); LOT is far more common, and
            // START (AA + R) is handled with the R.
            (Aa, true) => "ɒ",
            (Ae, false) => "æ",
            (Ae, true) => "a",
            (Ax, _) => "ə",
            (Ah, _) if reduced => "ə",
            (Ah, _) => "ʌ",
            (Ao, false) => "ɔ",
            (Ao, true) => "ɔː",
            (Aw, _) => "W",
            (Axr, false) => "əɹ",
            (Axr, true) => "ə",
            (Ay, _) => "I",
            (Eh, _) => "ɛ",
            (Er, false) if reduced => "əɹ",
            (Er, false) => "ɜɹ",
            (Er, true) if reduced => "ə",
            (Er, true) => "ɜː",
            (Ey, _) => "A",
            (Ih, _) => "ɪ",
            (Ix, false) => "ᵻ",
            (Ix, true) => "ɪ",
            // Misaki GB writes unstressed FLEECE and GOOSE short (happy = hˈapi).
            (Iy, true) if !reduced => "iː",
            (Iy, _) => "i",
            (Ow, false) => "O",
            (Ow, true) => "Q",
            (Oy, _) => "Y",
            (Uh, _) => "ʊ",
            (Uw | Ux, true) if !reduced => "uː",
            (Uw | Ux, _) => "u",
            (B, _) => "b",
            (Ch, _) => "ʧ",
            (D, _) => "d",
            (Dh, _) => "ð",
            (Dx, false) => "ɾ",
            (Dx, true) => "t",
            (El, _) => "ᵊl",
            (Em, _) => "ᵊm",
            (En, _) => "ᵊn",
            (F, _) => "f",
            (G, _) => "ɡ",
            (Hh, _) => "h",
            (Jh, _) => "ʤ",
            (K, _) => "k",
            (L, _) => "l",
            (M, _) => "m",
            (N | Nx, _) => "n",
            (Ng, _) => "ŋ",
            (P, _) => "p",
            (Q, false) => "ʔ",
            (Q, true) => "t",
            (R, _) => "ɹ",
            (S, _) => "s",
            (Sh, _) => "ʃ",
            (T, _) => "t",
            (Th, _) => "θ",
            (V, _) => "v",
            (W | Wh, _) => "w",
            (Y, _) => "j",
            (Z, _) => "z",
            (Zh, _) => "ʒ",
        }
    }

    /// GB: this vowel followed by an R that no vowel follows, which non-rhotic accents drop,
    /// lengthening or centring the vowel (car kˈɑː, care kˈɛː, here hˈɪə, tour tˈʊə).
    fn gb_before_silent_r(self, stress: Option<u8>) -> &'static str {
        use Arpa::*;
        match self {
            Aa | Ae => "ɑː",
            Ao | Ow => "ɔː",
            Eh | Ey => "ɛː",
            Ih | Ix | Iy => "ɪə",
            Uh | Uw | Ux => "ʊə",
            Ay => "Iə",
            Aw => "Wə",
            Oy => "Yə",
            Ah if stress != Some(0) => "ɜː",
            _ => self.misaki(stress, true),
        }
    }
}

enum ArpaToken {
    Phone(Arpa, Option<u8>),
    WordBreak,
}

fn parse_arpabet(input: &str) -> Result<Vec<ArpaToken>> {
    let mut tokens = Vec::new();
    for token in input.split_whitespace() {
        // `token` is a subslice of `input`, so the pointer difference is its byte offset.
        let offset = token.as_ptr() as usize - input.as_ptr() as usize;
        match token {
            "|" => tokens.push(ArpaToken::WordBreak),
            "." => {}
            _ => tokens.push(parse_arpabet_phone(token, offset)?),
        }
    }
    Ok(tokens)
}

fn parse_arpabet_phone(token: &str, offset: usize) -> Result<ArpaToken> {
    let (code, stress) = match token.as_bytes().last() {
        Some(&digit) if digit.is_ascii_digit() => (&token[..token.len() - 1], Some(digit - b'0')),
        _ => (token, None),
    };
    let error = |at: usize, detail: String| alphabet_error(Alphabet::Arpabet, at, detail);
    let phone =
        Arpa::from_code(code).ok_or_else(|| error(offset, format!("unknown phone {code:?}")))?;
    let digit_offset = offset + code.len();
    match stress {
        Some(digit) if digit > 2 => Err(error(
            digit_offset,
            format!("stress digit {digit} is not 0, 1 or 2"),
        )),
        Some(_) if !phone.is_vowel() => Err(error(
            digit_offset,
            format!("consonant {code:?} cannot carry stress"),
        )),
        _ => Ok(ArpaToken::Phone(phone, stress)),
    }
}

fn arpabet_to_misaki(input: &str, british: bool) -> Result<String> {
    let tokens = parse_arpabet(input)?;
    let phone_at = |i: usize| match tokens.get(i) {
        Some(&ArpaToken::Phone(phone, _)) => Some(phone),
        _ => None,
    };
    let vowel_at = |i: usize| phone_at(i).is_some_and(Arpa::is_vowel);
    let silent_r_at = |i: usize| british && phone_at(i) == Some(Arpa::R) && !vowel_at(i + 1);

    let mut writer = MisakiWriter::new(british, input.len());
    for (i, token) in tokens.iter().enumerate() {
        let &ArpaToken::Phone(phone, stress) = token else {
            writer.space();
            continue;
        };
        match stress {
            Some(1) => writer.stress(PRIMARY_STRESS),
            Some(2) => writer.stress(SECONDARY_STRESS),
            _ => {}
        }
        if silent_r_at(i) {
            continue;
        }
        if phone.is_vowel() && silent_r_at(i + 1) {
            writer.phones(phone.gb_before_silent_r(stress));
        } else {
            writer.phones(phone.misaki(stress, british));
            // GB keeps the r of NURSE and lettER before a vowel (stirring, bakery).
            if british && matches!(phone, Arpa::Er | Arpa::Axr) && vowel_at(i + 1) {
                writer.phones("ɹ");
            }
        }
    }
    Ok(writer.finish())
}

/// Checks misaki phonemes against the variant's set; whitespace runs become single spaces.
fn check_misaki(input: &str, british: bool) -> Result<String> {
    let allowed = if british { GB_PHONEMES } else { US_PHONEMES };
    let mut out = String::with_capacity(input.len());
    for word in input.split_whitespace() {
        let word_offset = word.as_ptr() as usize - input.as_ptr() as usize;
        if !out.is_empty() {
            out.push(' ');
        }
        for (offset, c) in word.char_indices() {
            let c = match c {
                'T' if british => 't',
                'T' => 'ɾ',
                c => c,
            };
            if !allowed.contains(c) {
                let variant = if british { "GB" } else { "US" };
                let detail = format!(
                    "{c:?} (U+{:04X}) is not in misaki's {variant} set",
                    u32::from(c)
                );
                return Err(alphabet_error(
                    Alphabet::Misaki,
                    word_offset + offset,
                    detail,
                ));
            }
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phonemize::XorShift;

    fn us(alphabet: Alphabet, input: &str) -> String {
        to_misaki(alphabet, input, false).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn gb(alphabet: Alphabet, input: &str) -> String {
        to_misaki(alphabet, input, true).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    /// Each case: (word, input, misaki lexicon entry); the expected values are misaki 0.9.4's
    /// `us_gold.json` / `gb_gold.json` entries for the word.
    fn check_words(alphabet: Alphabet, british: bool, cases: &[(&str, &str, &str)]) {
        for &(word, input, want) in cases {
            let got = to_misaki(alphabet, input, british).unwrap_or_else(|e| panic!("{word}: {e}"));
            assert_eq!(
                got,
                want,
                "{} {word} {input:?} (british: {british})",
                alphabet.name()
            );
        }
    }

    fn assert_in_set(output: &str, british: bool, context: &str) {
        let allowed = if british { GB_PHONEMES } else { US_PHONEMES };
        for c in output.chars() {
            assert!(
                c == ' ' || allowed.contains(c),
                "{c:?} in {output:?} from {context:?} (british: {british})"
            );
        }
        assert!(
            !output.starts_with(' ') && !output.ends_with(' ') && !output.contains("  "),
            "{output:?}"
        );
    }

    fn assert_error(
        alphabet: Alphabet,
        input: &str,
        british: bool,
        offset: usize,
        detail_has: &str,
    ) {
        match to_misaki(alphabet, input, british) {
            Err(Error::Alphabet {
                alphabet: name,
                offset: got,
                detail,
            }) => {
                assert_eq!(name, alphabet.name(), "{input:?}");
                assert_eq!(got, offset, "{input:?}: {detail}");
                assert!(
                    detail.contains(detail_has),
                    "{input:?}: {detail:?} lacks {detail_has:?}"
                );
            }
            other => panic!("{input:?}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn names_round_trip_and_aliases() {
        for alphabet in [
            Alphabet::Ipa,
            Alphabet::XSampa,
            Alphabet::Arpabet,
            Alphabet::Kirshenbaum,
            Alphabet::Misaki,
        ] {
            assert_eq!(Alphabet::from_name(alphabet.name()), Some(alphabet));
            assert_eq!(
                Alphabet::from_name(&alphabet.name().to_uppercase()),
                Some(alphabet)
            );
        }
        assert_eq!(Alphabet::from_name("XSAMPA"), Some(Alphabet::XSampa));
        assert_eq!(Alphabet::from_name("Cmu"), Some(Alphabet::Arpabet));
        assert_eq!(Alphabet::from_name("sampa"), None);
        assert_eq!(Alphabet::from_name(""), None);
    }

    #[test]
    fn ipa_words_match_misaki_us_lexicon() {
        check_words(
            Alphabet::Ipa,
            false,
            &[
                ("hello", "/həˈloʊ/", "həlˈO"),
                ("doctor", "ˈdɑktɚ", "dˈɑktəɹ"),
                ("thought", "ˈθɔt", "θˈɔt"),
                ("church", "ˈt͡ʃɝt͡ʃ", "ʧˈɜɹʧ"),
                ("judge", "ˈdʒʌdʒ", "ʤˈʌʤ"),
                ("measure", "ˈmɛʒɚ", "mˈɛʒəɹ"),
                ("bird", "ˈbɝd", "bˈɜɹd"),
                ("butter", "ˈbʌɾɚ", "bˈʌɾəɹ"),
                ("nation", "ˈneɪʃən", "nˈAʃən"),
                ("boy", "ˈbɔɪ", "bˈY"),
                ("house", "[ˈhaʊs]", "hˈWs"),
                ("rhythm", "ˈɹɪðəm", "ɹˈɪðəm"),
                ("little", "ˈlɪɾl̩", "lˈɪɾᵊl"),
                ("garden", "ˈɡɑɹd(ə)n", "ɡˈɑɹdən"),
                ("about", "əˈbaʊt", "əbˈWt"),
                ("care", "ˈkɛɚ", "kˈɛɹ"),
                ("cat", "ˈkæt", "kˈæt"),
                ("hot", "ˈhɒt", "hˈɑt"),
                ("beat", "ˈbiːt", "bˈit"),
                ("bird", "ˈbɜːd", "bˈɜɹd"),
            ],
        );
    }

    #[test]
    fn ipa_words_match_misaki_gb_lexicon() {
        check_words(
            Alphabet::Ipa,
            true,
            &[
                ("hello", "/həˈləʊ/", "həlˈQ"),
                ("doctor", "ˈdɒktə", "dˈɒktə"),
                ("thought", "ˈθɔːt", "θˈɔːt"),
                ("church", "ˈtʃɜːtʃ", "ʧˈɜːʧ"),
                ("judge", "ˈd͡ʒʌd͡ʒ", "ʤˈʌʤ"),
                ("measure", "ˈmɛʒə", "mˈɛʒə"),
                ("bird", "ˈbɜːd", "bˈɜːd"),
                ("butter", "ˈbʌtə", "bˈʌtə"),
                ("nation", "ˈneɪʃn̩", "nˈAʃᵊn"),
                ("boy", "ˈbɔɪ", "bˈY"),
                ("house", "ˈhaʊs", "hˈWs"),
                ("rhythm", "ˈrɪðəm", "ɹˈɪðəm"),
                ("cat", "ˈkæt", "kˈat"),
                ("father", "ˈfɑːðə", "fˈɑːðə"),
                ("care", "ˈkɛə", "kˈɛː"),
                ("little", "ˈlɪtl̩", "lˈɪtᵊl"),
                ("happy", "ˈhæpi", "hˈapi"),
                // US transcriptions read with the GB set.
                ("butter", "ˈbʌɾɚ", "bˈʌtə"),
                ("button", "ˈbʌʔn̩", "bˈʌtᵊn"),
                ("bird", "ˈbɝd", "bˈɜːd"),
            ],
        );
    }

    #[test]
    fn xsampa_words_match_misaki_lexicons() {
        check_words(
            Alphabet::XSampa,
            false,
            &[
                ("hello", "h@\"loU", "həlˈO"),
                ("doctor", "\"dAkt@`", "dˈɑktəɹ"),
                ("thought", "\"TOt", "θˈɔt"),
                ("church", "\"tS3`tS", "ʧˈɜɹʧ"),
                ("judge", "\"d_ZVd_Z", "ʤˈʌʤ"),
                ("measure", "\"mEZ@`", "mˈɛʒəɹ"),
                ("bird", "\"b3`d", "bˈɜɹd"),
                ("butter", "\"bV4@`", "bˈʌɾəɹ"),
                ("nation", "\"ne_IS@n", "nˈAʃən"),
                ("boy", "\"bOI", "bˈY"),
                ("house", "\"haUs", "hˈWs"),
                ("rhythm", "\"r\\ID@m", "ɹˈɪðəm"),
                ("little", "\"lI4l=", "lˈɪɾᵊl"),
                ("cat", "\"k_h{t", "kˈæt"),
            ],
        );
        check_words(
            Alphabet::XSampa,
            true,
            &[
                ("hello", "h@\"l@U", "həlˈQ"),
                ("doctor", "\"dQkt@", "dˈɒktə"),
                ("thought", "\"TO:t", "θˈɔːt"),
                ("church", "\"tS3:tS", "ʧˈɜːʧ"),
                ("measure", "\"mEZ@", "mˈɛʒə"),
                ("bird", "\"b3:d", "bˈɜːd"),
                ("butter", "\"bVt@", "bˈʌtə"),
                ("nation", "\"neISn=", "nˈAʃᵊn"),
                ("cat", "\"k{t", "kˈat"),
                ("father", "\"fA:D@", "fˈɑːðə"),
                ("boy", "\"bOI", "bˈY"),
                ("house", "\"haUs", "hˈWs"),
            ],
        );
    }

    #[test]
    fn kirshenbaum_words_match_misaki_lexicons() {
        check_words(
            Alphabet::Kirshenbaum,
            false,
            &[
                ("hello", "h@'loU", "həlˈO"),
                ("doctor", "'dAktR", "dˈɑktəɹ"),
                ("thought", "'TOt", "θˈɔt"),
                ("church", "'tS3:tS", "ʧˈɜɹʧ"),
                ("judge", "'dZVdZ", "ʤˈʌʤ"),
                ("measure", "'mEZ3", "mˈɛʒəɹ"),
                ("bird", "'bV\"rd", "bˈɜɹd"),
                ("butter", "'bV*R", "bˈʌɾəɹ"),
                ("nation", "'neIS@n", "nˈAʃən"),
                ("boy", "'bOI", "bˈY"),
                ("house", "'haUs", "hˈWs"),
                ("rhythm", "'rID@m", "ɹˈɪðəm"),
                ("little", "'lI*l-", "lˈɪɾᵊl"),
            ],
        );
        check_words(
            Alphabet::Kirshenbaum,
            true,
            &[
                ("hello", "h@'l@U", "həlˈQ"),
                ("doctor", "'dA.kt@", "dˈɒktə"),
                ("hot", "'h0t", "hˈɒt"),
                ("thought", "'TO:t", "θˈɔːt"),
                ("church", "'tS3:tS", "ʧˈɜːʧ"),
                ("measure", "'mEZ@", "mˈɛʒə"),
                ("bird", "'b3:d", "bˈɜːd"),
                ("butter", "'bVt@", "bˈʌtə"),
                ("nation", "'neISn-", "nˈAʃᵊn"),
                ("cat", "'k&t", "kˈat"),
                ("boy", "'bOI", "bˈY"),
                ("here", "'hi@", "hˈɪə"),
            ],
        );
    }

    #[test]
    fn arpabet_words_match_misaki_lexicons() {
        check_words(
            Alphabet::Arpabet,
            false,
            &[
                ("hello", "HH AH0 L OW1", "həlˈO"),
                ("doctor", "D AA1 K T ER0", "dˈɑktəɹ"),
                ("thought", "TH AO1 T", "θˈɔt"),
                ("church", "CH ER1 CH", "ʧˈɜɹʧ"),
                ("judge", "jh ah1 jh", "ʤˈʌʤ"),
                ("measure", "M EH1 ZH ER0", "mˈɛʒəɹ"),
                ("bird", "B ER1 D", "bˈɜɹd"),
                ("butter", "B AH1 DX ER0", "bˈʌɾəɹ"),
                ("nation", "N EY1 SH AH0 N", "nˈAʃən"),
                ("boy", "B OY1", "bˈY"),
                ("house", "HH AW1 S", "hˈWs"),
                ("rhythm", "R IH1 DH AH0 M", "ɹˈɪðəm"),
                ("father", "F AA1 DH ER0", "fˈɑðəɹ"),
                ("car", "K AA1 R", "kˈɑɹ"),
                ("happy", "HH AE1 P IY0", "hˈæpi"),
            ],
        );
        check_words(
            Alphabet::Arpabet,
            true,
            &[
                ("hello", "HH AH0 L OW1", "həlˈQ"),
                ("doctor", "D AA1 K T ER0", "dˈɒktə"),
                ("thought", "TH AO1 T", "θˈɔːt"),
                ("church", "CH ER1 CH", "ʧˈɜːʧ"),
                ("judge", "JH AH1 JH", "ʤˈʌʤ"),
                ("measure", "M EH1 ZH ER0", "mˈɛʒə"),
                ("bird", "B ER1 D", "bˈɜːd"),
                ("butter", "B AH1 T ER0", "bˈʌtə"),
                ("nation", "N EY1 SH EN", "nˈAʃᵊn"),
                ("boy", "B OY1", "bˈY"),
                ("house", "HH AW1 S", "hˈWs"),
                ("rhythm", "R IH1 DH AH0 M", "ɹˈɪðəm"),
                ("beat", "B IY1 T", "bˈiːt"),
                ("happy", "HH AE1 P IY0", "hˈapi"),
                ("water", "W AO1 T ER0", "wˈɔːtə"),
                // Non-rhotic R: dropped after a vowel unless a vowel follows.
                ("car", "K AA1 R", "kˈɑː"),
                ("care", "K EH1 R", "kˈɛː"),
                ("here", "HH IY1 R", "hˈɪə"),
                ("more", "M AO1 R", "mˈɔː"),
                ("tour", "T UH1 R", "tˈʊə"),
                ("horse", "HH AO1 R S", "hˈɔːs"),
                ("sorry", "S AA1 R IY0", "sˈɒɹi"),
            ],
        );
    }

    #[test]
    fn arpabet_separators_and_gb_linking_r() {
        assert_eq!(
            us(Alphabet::Arpabet, "  HH AH0 . L OW1  |  W ER1 L D "),
            "həlˈO wˈɜɹld"
        );
        assert_eq!(
            gb(Alphabet::Arpabet, "HH AH0 L OW1 | W ER1 L D"),
            "həlˈQ wˈɜːld"
        );
        // R before a word break is silent in GB; ER keeps its r before a vowel of the word.
        assert_eq!(gb(Alphabet::Arpabet, "K AA1 R | AH0"), "kˈɑː ə");
        assert_eq!(gb(Alphabet::Arpabet, "S T ER1 IH0 NG"), "stˈɜːɹɪŋ");
        assert_eq!(gb(Alphabet::Arpabet, "B EY1 K ER0 IY0"), "bˈAkəɹi");
        // Without a digit a vowel is unstressed and keeps its full quality.
        assert_eq!(us(Alphabet::Arpabet, "HH AH L OW"), "hʌlO");
        assert_eq!(us(Alphabet::Arpabet, "AE2 N T AY1"), "ˌæntˈI");
    }

    #[test]
    fn stress_moves_to_the_vowel() {
        assert_eq!(us(Alphabet::Ipa, "ˈstɹɔŋ"), "stɹˈɔŋ");
        assert_eq!(us(Alphabet::Ipa, "ˌʌndɚˈstænd"), "ˌʌndəɹstˈænd");
        // Already misaki-style: unchanged.
        assert_eq!(us(Alphabet::Ipa, "həlˈoʊ"), "həlˈO");
        // Syllable dots and stress break diphthongs and affricates apart.
        assert_eq!(us(Alphabet::Ipa, "ˈnʌt.ʃɛl"), "nˈʌtʃɛl");
        assert_eq!(us(Alphabet::Ipa, "ˈbi.ɪŋ"), "bˈiɪŋ");
        assert_eq!(us(Alphabet::Ipa, "naɪˈiv"), "nIˈiv");
        // No vowel left in the word: the mark is dropped, never moved into the next word.
        assert_eq!(us(Alphabet::Ipa, "həˈ loʊ"), "hə lO");
        assert_eq!(us(Alphabet::Ipa, "həˈ ˌloʊ"), "hə lˌO");
        assert_eq!(us(Alphabet::Ipa, "ˈm̩"), "ᵊm");
        // Stress skips a syllabic consonant's ᵊ (misaki never stresses it).
        assert_eq!(us(Alphabet::Ipa, "ˈn̩ə"), "ᵊnˈə");
        // Primary stress wins over secondary on one syllable.
        assert_eq!(us(Alphabet::Ipa, "ˌˈa"), "ˈæ");
        assert_eq!(us(Alphabet::Ipa, "ˈˌa"), "ˈæ");
        assert_eq!(gb(Alphabet::XSampa, "%Ind@\"pEnd@nt"), "ˌɪndəpˈɛndənt");
    }

    #[test]
    fn ipa_spelling_variants() {
        // ASCII stand-ins, tie bars, non-syllabic marks and aspiration.
        assert_eq!(us(Alphabet::Ipa, "hə'lo:"), "həlˈO");
        assert_eq!(us(Alphabet::Ipa, "ˈkʰaɪ̯t"), "kˈIt");
        assert_eq!(us(Alphabet::Ipa, "ˈt͡ʃɪp"), "ʧˈɪp");
        assert_eq!(us(Alphabet::Ipa, "ˈtʃɪp"), us(Alphabet::Ipa, "ˈʧɪp"));
        assert_eq!(us(Alphabet::Ipa, "ˈgɐt"), "ɡˈət");
        assert_eq!(us(Alphabet::Ipa, "ˈbɛd"), us(Alphabet::Ipa, "ˈbed"));
        assert_eq!(us(Alphabet::Ipa, "ˈɫɪɬ"), "lˈɪl");
        assert_eq!(us(Alphabet::Ipa, "ˈlɒx"), "lˈɑk");
        assert_eq!(us(Alphabet::Ipa, "ˈçuːˑ"), "hˈu");
        assert_eq!(gb(Alphabet::Ipa, "ˈçuːˑ"), "hˈuː");
        // ʔ stays for US; length after a diphthong or consonant is dropped even for GB.
        assert_eq!(us(Alphabet::Ipa, "ˈʌʔoʊ"), "ˈʌʔO");
        assert_eq!(gb(Alphabet::Ipa, "ˈeɪːsː"), "ˈAs");
        // Rhotic hooks and syllabic r.
        assert_eq!(us(Alphabet::Ipa, "ˈbə˞d"), "bˈəɹd");
        assert_eq!(us(Alphabet::Ipa, "ˈkɑ˞"), "kˈɑɹ");
        assert_eq!(gb(Alphabet::Ipa, "ˈkɑ˞"), "kˈɑ");
        assert_eq!(us(Alphabet::Ipa, "ˈbʌtɹ̩"), "bˈʌtəɹ");
        assert_eq!(gb(Alphabet::Ipa, "ˈbʌtɹ̩"), "bˈʌtə");
        assert_eq!(us(Alphabet::Ipa, "ˈfaɪɚ"), "fˈIəɹ");
        assert_eq!(us(Alphabet::Ipa, "ˈkɜːrʃənbɔːm"), "kˈɜɹʃənbɔm");
        assert_eq!(gb(Alphabet::Ipa, "ˈkɜːrʃənbɔːm"), "kˈɜːɹʃənbɔːm");
        // Whitespace: single spaces between words, none at the ends.
        assert_eq!(us(Alphabet::Ipa, "  ˈhaʊ \t ˈnaʊ \n"), "hˈW nˈW");
        assert_eq!(us(Alphabet::Ipa, "ˈhaʊ | ˈnaʊ"), "hˈW nˈW");
        assert_eq!(us(Alphabet::Ipa, ""), "");
        assert_eq!(us(Alphabet::Ipa, " ˈ . "), "");
    }

    #[test]
    fn misaki_passes_through_when_valid() {
        assert_eq!(us(Alphabet::Misaki, " həlˈO   wˈɜɹld "), "həlˈO wˈɜɹld");
        assert_eq!(gb(Alphabet::Misaki, "həlˈQ"), "həlˈQ");
        // Misaki's own output spelling of the flap.
        assert_eq!(us(Alphabet::Misaki, "bˈʌTəɹ"), "bˈʌɾəɹ");
        assert_eq!(gb(Alphabet::Misaki, "bˈʌTə"), "bˈʌtə");
    }

    #[test]
    fn errors_name_the_symbol_and_its_byte_offset() {
        // h(1) ə(2) ˈ(2) l(1): Q starts at byte 6.
        assert_error(Alphabet::Ipa, "həˈlQ", false, 6, "'Q'");
        assert_error(Alphabet::Ipa, "ab 😀", false, 3, "U+1F600");
        assert_error(Alphabet::Ipa, "ʘa", true, 0, "'ʘ'");
        assert_error(Alphabet::XSampa, "h@\"l!", false, 4, "'!'");
        assert_error(Alphabet::XSampa, "ə", false, 0, "'ə'");
        assert_error(
            Alphabet::Kirshenbaum,
            "h@'lo{vls}",
            false,
            5,
            "feature sets",
        );
        assert_error(Alphabet::Kirshenbaum, "t<h", false, 1, "<feature>");
        assert_error(Alphabet::Kirshenbaum, "t<toolong>", false, 1, "<feature>");
        assert_error(Alphabet::Kirshenbaum, "ab%", false, 2, "'%'");
        assert_error(Alphabet::Arpabet, "HH XX1 L", false, 3, "\"XX\"");
        assert_error(Alphabet::Arpabet, "HH AH0,", false, 3, "\"AH0,\"");
        assert_error(Alphabet::Arpabet, "HH AH5", false, 5, "stress digit 5");
        assert_error(Alphabet::Arpabet, "  L1", false, 3, "consonant \"L\"");
        assert_error(Alphabet::Arpabet, "ÄÄ1", false, 0, "unknown phone");
        assert_error(Alphabet::Misaki, "həlˈQ", false, 6, "US set");
        assert_error(Alphabet::Misaki, "a kˈæt", true, 5, "GB set");
        assert_error(Alphabet::Misaki, "bˈʌɾə", true, 5, "'ɾ'");
    }

    #[test]
    fn every_table_entry_converts_into_the_misaki_set() {
        for british in [false, true] {
            for (ipa, _) in IPA_TO_MISAKI {
                let out = to_misaki(Alphabet::Ipa, ipa, british).expect(ipa);
                assert!(!out.is_empty(), "{ipa:?}");
                assert_in_set(&out, british, ipa);
            }
            for (alphabet, table) in [
                (Alphabet::XSampa, XSAMPA_TO_IPA),
                (Alphabet::Kirshenbaum, KIRSHENBAUM_TO_IPA),
            ] {
                for (symbol, _) in table {
                    // After a vowel, so that diacritics and marks have something to modify.
                    let input = format!("a{symbol}");
                    let out = to_misaki(alphabet, &input, british)
                        .unwrap_or_else(|e| panic!("{input:?}: {e}"));
                    assert_in_set(&out, british, &input);
                }
            }
            let codes = "AA AE AH AO AW AX AXR AY EH ER EY IH IX IY OW OY UH UW UX B CH D DH DX EL EM EN F G \
                         HH H JH K L M N NG NX P Q R S SH T TH V W WH Y Z ZH";
            for code in codes.split(' ') {
                let phone = Arpa::from_code(code).expect(code);
                let digits: &[&str] = if phone.is_vowel() {
                    &["", "0", "1", "2"]
                } else {
                    &[""]
                };
                for digit in digits {
                    for context in ["{}", "{} R", "{} R AH0", "T {}"] {
                        let input = context.replace("{}", &format!("{code}{digit}"));
                        let out = to_misaki(Alphabet::Arpabet, &input, british).expect(&input);
                        assert_in_set(&out, british, &input);
                    }
                }
            }
        }
    }


    #[test]
    fn random_input_never_panics_and_stays_in_the_set() {
        let pool: Vec<char> = "həˈloʊɝɚɜːɹrɾʔæaɑɒɔəɛeɪiʊuʌθðʃʒŋtdʃʒʧʤ\u{0329}\u{030D}\u{0361}˞ˑˌ'.:-|/()[]{}<>_=`~\"%@&?!#*,^\\ \t\n0123456789AEIOUVQSZTDNRabcdefghijklmnopqrstuvwxyz\u{0300}😀\u{FEFF}ʘ"
            .chars()
            .collect();
        let alphabets = [
            Alphabet::Ipa,
            Alphabet::XSampa,
            Alphabet::Arpabet,
            Alphabet::Kirshenbaum,
            Alphabet::Misaki,
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut successes = 0;
        for round in 0..20_000 {
            let len = rng.below(24);
            let input: String = (0..len)
                .map(|_| match rng.below(10) {
                    // Now and then any scalar value at all.
                    0 => char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{FFFD}'),
                    _ => pool[rng.below(pool.len())],
                })
                .collect();
            let alphabet = alphabets[round % alphabets.len()];
            let british = rng.below(2) == 1;
            match to_misaki(alphabet, &input, british) {
                Ok(out) => {
                    successes += 1;
                    assert_in_set(&out, british, &input);
                }
                Err(Error::Alphabet {
                    offset,
                    alphabet: name,
                    ..
                }) => {
                    assert_eq!(name, alphabet.name());
                    assert!(
                        offset < input.len() && input.is_char_boundary(offset),
                        "{input:?}: offset {offset}"
                    );
                }
                Err(other) => panic!("{input:?}: unexpected error {other:?}"),
            }
        }
        // The generator must exercise the success path too, not only errors.
        assert!(successes > 1_000, "only {successes} successes");
    }

    #[test]
    fn huge_input_converts_linearly() {
        let words = 50_000;
        let ipa = "həˈloʊ ".repeat(words);
        let out = us(Alphabet::Ipa, &ipa);
        assert_eq!(out.len(), "həlˈO ".len() * words - 1);
        assert!(out.split(' ').all(|w| w == "həlˈO"));
        let arpabet = "HH AH0 L OW1 | ".repeat(words);
        assert_eq!(
            gb(Alphabet::Arpabet, &arpabet)
                .split(' ')
                .filter(|w| *w == "həlˈQ")
                .count(),
            words
        );
    }
}
