//! The built-in pronunciation lexicon (misaki's gold and silver dictionaries, US and GB) and
//! misaki's rules for using it: capitalization, stress, the -s/-ed/-ing stems, letters read
//! one by one, the function words whose reading depends on the next word, and numbers.
//!
//! Data: `data/phonemize/lexicon.bin`, built by `tools/phonemize/build_lexicon.py`; a zlib
//! stream of `b"TTLX"`, u32 version, u32 count, then one line per word sorted by bytes:
//! `word \t us_gold \t us_silver \t gb_gold \t gb_silver \n`. Empty field: absent; GB `=`: same
//! as US; `{TAG=ps|TAG=ps}`: by part of speech (DEFAULT first), `-` meaning "no entry".

use std::sync::OnceLock;

use super::numbers;
use crate::error::{Error, Result};

const LEXICON_BIN: &[u8] = include_bytes!("../../data/phonemize/lexicon.bin");
/// The inflated data is about 8 MB; anything much larger is not ours.
const MAX_INFLATED: usize = 64 << 20;

pub const PRIMARY: char = 'ˈ';
pub const SECONDARY: char = 'ˌ';
pub const VOWELS: &str = "AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻ";
pub const CONSONANTS: &str = "bdfhjklmnpstvwzðŋɡɹɾʃʒʤʧθ";
const US_TAUS: &str = "AIOWYiuæɑəɛɪɹʊʌ";
const DIPHTHONGS: &str = "AIOQWYʤʧ";
const ORDINALS: [&str; 4] = ["st", "nd", "rd", "th"];
pub const CURRENCIES: [(&str, &str, &str); 3] =
    [("$", "dollar", "cent"), ("£", "pound", "pence"), ("€", "euro", "cent")];
const SYMBOLS: [(&str, &str); 4] = [("%", "percent"), ("&", "and"), ("+", "plus"), ("@", "at")];

pub fn is_vowel(c: char) -> bool {
    VOWELS.contains(c)
}

/// Pronunciation weight misaki uses to pick which part of a compound keeps its stress.
pub fn stress_weight(ps: &str) -> usize {
    ps.chars().map(|c| if DIPHTHONGS.contains(c) { 2 } else { 1 }).sum()
}

/// The inflated lexicon file: its text and where each line and its word end.
struct LexiconData {
    text: String,
    lines: Vec<(u32, u32)>,
}

fn data() -> Result<&'static LexiconData> {
    static DATA: OnceLock<Result<LexiconData>> = OnceLock::new();
    DATA.get_or_init(|| LexiconData::parse(LEXICON_BIN)).as_ref().map_err(Clone::clone)
}

impl LexiconData {
    fn parse(compressed: &[u8]) -> Result<Self> {
        let bytes = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_INFLATED)
            .map_err(|e| Error::Lexicon(format!("cannot inflate the built-in lexicon: {e:?}")))?;
        if bytes.len() < 12 || &bytes[..4] != b"TTLX" || bytes[4..8] != 1u32.to_le_bytes() {
            return Err(Error::Lexicon("the built-in lexicon has no TTLX v1 header".into()));
        }
        let count = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        let text = String::from_utf8(bytes[12..].to_vec())
            .map_err(|e| Error::Lexicon(format!("lexicon text is not UTF-8: {e}")))?;
        let mut lines = Vec::with_capacity(count);
        let mut start = 0usize;
        for line in text.split_inclusive('\n') {
            let key_end = start + line.find('\t').ok_or_else(|| Error::Lexicon(format!("lexicon line {} has no fields", lines.len())))?;
            lines.push((start as u32, key_end as u32));
            start += line.len();
        }
        if lines.len() != count {
            return Err(Error::Lexicon(format!("lexicon header says {count} words, found {}", lines.len())));
        }
        Ok(Self { text, lines })
    }

    /// The four fields of `word`'s line.
    fn fields(&self, word: &str) -> Option<[&str; 4]> {
        let i = self.lines.binary_search_by(|&(s, e)| self.text.as_bytes()[s as usize..e as usize].cmp(word.as_bytes())).ok()?;
        let (_, e) = self.lines[i];
        let line_end = self.lines.get(i + 1).map_or(self.text.len(), |&(next, _)| next as usize);
        let rest = self.text[e as usize + 1..line_end].trim_end_matches('\n');
        let mut it = rest.split('\t');
        Some([it.next()?, it.next()?, it.next()?, it.next()?])
    }
}

/// A lexicon value: one pronunciation, or one per part of speech.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Entry<'a> {
    Plain(&'a str),
    Tagged(&'a str),
}

impl<'a> Entry<'a> {
    fn parse(field: &'a str) -> Option<Self> {
        if field.is_empty() {
            None
        } else if let Some(inner) = field.strip_prefix('{').and_then(|f| f.strip_suffix('}')) {
            Some(Entry::Tagged(inner))
        } else {
            Some(Entry::Plain(field))
        }
    }

    /// `Some(None)`: the tag is listed without a pronunciation.
    fn tag(self, tag: &str) -> Option<Option<&'a str>> {
        let Entry::Tagged(inner) = self else { return None };
        inner.split('|').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == tag).then_some((v != "-").then_some(v))
        })
    }

    fn has_tag(self, tag: &str) -> bool {
        self.tag(tag).is_some()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TokenContext {
    /// Whether the next word starts with a vowel sound; None at the end or before punctuation.
    pub future_vowel: Option<bool>,
    pub future_to: bool,
}

/// Everything misaki's lexicon needs to know about a token.
#[derive(Debug, Clone, Default)]
pub struct WordQuery<'a> {
    pub text: &'a str,
    pub tag: &'a str,
    pub stress: Option<f32>,
    pub currency: Option<&'a str>,
    pub is_head: bool,
    pub num_flags: &'a str,
}

/// What a lookup found: phonemes, misaki's rating (4 gold, 3 silver/spelled, ...), and whether
/// the number reader produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub phonemes: String,
    pub rating: u8,
    pub number: bool,
}

pub struct Lexicon {
    data: &'static LexiconData,
    british: bool,
}

type Lookup = Option<(String, u8)>;

impl Lexicon {
    pub fn new(british: bool) -> Result<Self> {
        Ok(Self { data: data()?, british })
    }

    pub fn is_british(&self) -> bool {
        self.british
    }

    fn raw(&self, word: &str, silver: bool) -> Option<Entry<'static>> {
        let fields = self.data.fields(word)?;
        let us = fields[usize::from(silver)];
        let field = if self.british {
            match fields[2 + usize::from(silver)] {
                "=" => us,
                gb => gb,
            }
        } else {
            us
        };
        Entry::parse(field)
    }

    /// misaki's `grow_dictionary`: lowercase words also answer capitalized, capitalized ones
    /// lowercase (words of two letters or more); the word's own entry wins.
    fn get(&self, word: &str, silver: bool) -> Option<Entry<'static>> {
        if let Some(e) = self.raw(word, silver) {
            return Some(e);
        }
        if word.chars().count() < 2 {
            return None;
        }
        let lower = word.to_lowercase();
        let capitalized = capitalize(word);
        if word == lower && capitalized != word {
            self.raw(&capitalized, silver)
        } else if word == capitalized {
            self.raw(&lower, silver)
        } else {
            None
        }
    }

    fn gold(&self, word: &str) -> Option<Entry<'static>> {
        self.get(word, false)
    }

    fn in_gold(&self, word: &str) -> bool {
        self.gold(word).is_some()
    }

    fn in_silver(&self, word: &str) -> bool {
        self.get(word, true).is_some()
    }

    fn gold_plain(&self, word: &str, tag: &str) -> String {
        match self.gold(word) {
            Some(Entry::Plain(p)) => p.to_string(),
            Some(e) => e.tag(tag).flatten().or_else(|| e.tag("DEFAULT").flatten()).unwrap_or_default().to_string(),
            None => String::new(),
        }
    }

    /// Letters read one by one ("FBI", "U.S."), stress on the last.
    fn get_nnp(&self, word: &str) -> Lookup {
        let mut ps = String::new();
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            match self.gold(&c.to_uppercase().to_string()) {
                Some(Entry::Plain(p)) => ps.push_str(p),
                _ => return None,
            }
        }
        let ps = apply_stress(&ps, Some(0.0));
        Some((match ps.rfind(SECONDARY) {
            Some(i) => format!("{}{PRIMARY}{}", &ps[..i], &ps[i + SECONDARY.len_utf8()..]),
            None => ps,
        }, 3))
    }

    fn get_special_case(&self, word: &str, tag: &str, stress: Option<f32>, ctx: TokenContext) -> Lookup {
        if tag == "ADD" && matches!(word, "." | "/") {
            return self.lookup(if word == "." { "dot" } else { "slash" }, "", Some(-0.5), Some(ctx));
        }
        if let Some(&(_, name)) = SYMBOLS.iter().find(|(s, _)| *s == word) {
            return self.lookup(name, "", None, Some(ctx));
        }
        let stripped = word.trim_matches('.');
        if stripped.contains('.')
            && is_alpha(&word.replace('.', ""))
            && word.split('.').map(|p| p.chars().count()).max().unwrap_or(0) < 3
        {
            return self.get_nnp(word);
        }
        let future_vowel = ctx.future_vowel;
        match word {
            "a" | "A" => return Some((if tag == "DT" { "ɐ" } else { "ˈA" }.into(), 4)),
            "am" | "Am" | "AM" => {
                if tag.starts_with("NN") {
                    return self.get_nnp(word);
                } else if future_vowel.is_none() || word != "am" || stress.is_some_and(|s| s > 0.0) {
                    return Some((self.gold_plain("am", ""), 4));
                }
                return Some(("ɐm".into(), 4));
            }
            "an" | "An" | "AN" => {
                if word == "AN" && tag.starts_with("NN") {
                    return self.get_nnp(word);
                }
                return Some(("ɐn".into(), 4));
            }
            "I" if tag == "PRP" => return Some((format!("{SECONDARY}I"), 4)),
            "by" | "By" | "BY" if parent_tag(tag) == "ADV" => return Some(("bˈI".into(), 4)),
            _ => {}
        }
        if matches!(word, "to" | "To") || (word == "TO" && matches!(tag, "TO" | "IN")) {
            let ps = match future_vowel {
                None => self.gold_plain("to", ""),
                Some(false) => "tə".into(),
                Some(true) => "tʊ".into(),
            };
            return Some((ps, 4));
        }
        if matches!(word, "in" | "In") || (word == "IN" && tag != "NNP") {
            let stress = if future_vowel.is_none() || tag != "IN" { "ˈ" } else { "" };
            return Some((format!("{stress}ɪn"), 4));
        }
        if matches!(word, "the" | "The") || (word == "THE" && tag == "DT") {
            return Some((if future_vowel == Some(true) { "ði" } else { "ðə" }.into(), 4));
        }
        if tag == "IN" && matches!(word.to_lowercase().as_str(), "vs" | "vs.") {
            return self.lookup("versus", "", None, Some(ctx));
        }
        if matches!(word, "used" | "Used" | "USED") {
            let tag = if matches!(tag, "VBD" | "JJ") && ctx.future_to { "VBD" } else { "DEFAULT" };
            return Some((self.gold_plain("used", tag), 4));
        }
        None
    }

    fn is_known(&self, word: &str) -> bool {
        if self.in_gold(word) || SYMBOLS.iter().any(|(s, _)| *s == word) || self.in_silver(word) {
            return true;
        }
        if !is_alpha(word) || !word.chars().all(is_lexicon_char) {
            return false;
        }
        let mut chars = word.chars();
        if chars.clone().count() == 1 {
            return true;
        }
        if word == word.to_uppercase() && self.in_gold(&word.to_lowercase()) {
            return true;
        }
        chars.next();
        let tail = chars.as_str();
        tail == tail.to_uppercase()
    }

    pub fn lookup(&self, word: &str, tag: &str, stress: Option<f32>, ctx: Option<TokenContext>) -> Lookup {
        let mut word = word.to_string();
        let mut is_nnp = false;
        if word == word.to_uppercase() && !self.in_gold(&word) {
            word = word.to_lowercase();
            is_nnp = tag == "NNP";
        }
        let (mut entry, mut rating) = (self.gold(&word), 4);
        if entry.is_none() && !is_nnp {
            (entry, rating) = (self.get(&word, true), 3);
        }
        let ps: Option<&str> = match entry {
            None => None,
            Some(Entry::Plain(p)) => Some(p),
            Some(e) => {
                let key = if ctx.is_some_and(|c| c.future_vowel.is_none()) && e.has_tag("None") {
                    "None"
                } else if e.has_tag(tag) {
                    tag
                } else {
                    parent_tag(tag)
                };
                e.tag(key).unwrap_or_else(|| e.tag("DEFAULT").flatten())
            }
        };
        match ps {
            Some(p) if !is_nnp || p.contains(PRIMARY) => Some((apply_stress(p, stress), rating)),
            // misaki would return nothing (or fail) here; the unstressed entry is kept instead
            Some(p) => self.get_nnp(&word).or_else(|| Some((apply_stress(p, stress), rating))),
            None => self.get_nnp(&word),
        }
    }

    fn suffix_s(&self, stem: &str) -> Option<String> {
        let last = stem.chars().next_back()?;
        Some(if "ptkfθ".contains(last) {
            format!("{stem}s")
        } else if "szʃʒʧʤ".contains(last) {
            format!("{stem}{}z", if self.british { 'ɪ' } else { 'ᵻ' })
        } else {
            format!("{stem}z")
        })
    }

    fn stem_s(&self, word: &str, tag: &str, stress: Option<f32>, ctx: Option<TokenContext>) -> Lookup {
        let n = word.chars().count();
        if n < 3 || !word.ends_with('s') {
            return None;
        }
        let stem = if !word.ends_with("ss") && self.is_known(&word[..word.len() - 1]) {
            word[..word.len() - 1].to_string()
        } else if (word.ends_with("'s") || (n > 4 && word.ends_with("es") && !word.ends_with("ies")))
            && self.is_known(&word[..word.len() - 2])
        {
            word[..word.len() - 2].to_string()
        } else if n > 4 && word.ends_with("ies") && self.is_known(&format!("{}y", &word[..word.len() - 3])) {
            format!("{}y", &word[..word.len() - 3])
        } else {
            return None;
        };
        let (ps, rating) = self.lookup(&stem, tag, stress, ctx)?;
        Some((self.suffix_s(&ps)?, rating))
    }

    fn suffix_ed(&self, stem: &str) -> Option<String> {
        let chars: Vec<char> = stem.chars().collect();
        let last = *chars.last()?;
        Some(if "pkfθʃsʧ".contains(last) {
            format!("{stem}t")
        } else if last == 'd' {
            format!("{stem}{}d", if self.british { 'ɪ' } else { 'ᵻ' })
        } else if last != 't' {
            format!("{stem}d")
        } else if self.british || chars.len() < 2 {
            format!("{stem}ɪd")
        } else if US_TAUS.contains(chars[chars.len() - 2]) {
            format!("{}ɾᵻd", &stem[..stem.len() - 1])
        } else {
            format!("{stem}ᵻd")
        })
    }

    fn stem_ed(&self, word: &str, tag: &str, stress: Option<f32>, ctx: Option<TokenContext>) -> Lookup {
        let n = word.chars().count();
        if n < 4 || !word.ends_with('d') {
            return None;
        }
        let stem = if !word.ends_with("dd") && self.is_known(&word[..word.len() - 1]) {
            &word[..word.len() - 1]
        } else if n > 4 && word.ends_with("ed") && !word.ends_with("eed") && self.is_known(&word[..word.len() - 2]) {
            &word[..word.len() - 2]
        } else {
            return None;
        };
        let (ps, rating) = self.lookup(stem, tag, stress, ctx)?;
        Some((self.suffix_ed(&ps)?, rating))
    }

    fn suffix_ing(&self, stem: &str) -> Option<String> {
        let chars: Vec<char> = stem.chars().collect();
        let last = *chars.last()?;
        if self.british {
            if "əː".contains(last) {
                return None;
            }
        } else if chars.len() > 1 && last == 't' && US_TAUS.contains(chars[chars.len() - 2]) {
            return Some(format!("{}ɾɪŋ", &stem[..stem.len() - 1]));
        }
        Some(format!("{stem}ɪŋ"))
    }

    fn stem_ing(&self, word: &str, tag: &str, stress: Option<f32>, ctx: Option<TokenContext>) -> Lookup {
        let n = word.chars().count();
        if n < 5 || !word.ends_with("ing") {
            return None;
        }
        let base = &word[..word.len() - 3];
        let stem = if n > 5 && self.is_known(base) {
            base.to_string()
        } else if self.is_known(&format!("{base}e")) {
            format!("{base}e")
        } else if n > 5 && doubled_consonant_ing(word) && self.is_known(&word[..word.len() - 4]) {
            word[..word.len() - 4].to_string()
        } else {
            return None;
        };
        let (ps, rating) = self.lookup(&stem, tag, stress, ctx)?;
        Some((self.suffix_ing(&ps)?, rating))
    }

    fn get_word(&self, word: &str, tag: &str, stress: Option<f32>, ctx: TokenContext) -> Lookup {
        if let Some(found) = self.get_special_case(word, tag, stress, ctx) {
            return Some(found);
        }
        let lower = word.to_lowercase();
        let mut word = word.to_string();
        let rest_lower = {
            let mut c = word.chars();
            c.next();
            c.as_str() == c.as_str().to_lowercase()
        };
        if word.chars().count() > 1
            && is_alpha(&word.replace('\'', ""))
            && word != lower
            && (tag != "NNP" || word.chars().count() > 7)
            && !self.in_gold(&word)
            && !self.in_silver(&word)
            && (word == word.to_uppercase() || rest_lower)
            && (self.in_gold(&lower)
                || self.in_silver(&lower)
                || self.stem_s(&lower, tag, stress, Some(ctx)).is_some()
                || self.stem_ed(&lower, tag, stress, Some(ctx)).is_some()
                || self.stem_ing(&lower, tag, stress, Some(ctx)).is_some())
        {
            word = lower;
        }
        if self.is_known(&word) {
            return self.lookup(&word, tag, stress, Some(ctx));
        }
        if let Some(stem) = word.strip_suffix("s'") {
            let possessive = format!("{stem}'s");
            if self.is_known(&possessive) {
                return self.lookup(&possessive, tag, stress, Some(ctx));
            }
        }
        if let Some(stem) = word.strip_suffix('\'') {
            if self.is_known(stem) {
                return self.lookup(stem, tag, stress, Some(ctx));
            }
        }
        self.stem_s(&word, tag, stress, Some(ctx))
            .or_else(|| self.stem_ed(&word, tag, stress, Some(ctx)))
            .or_else(|| self.stem_ing(&word, tag, Some(stress.unwrap_or(0.5)), Some(ctx)))
    }

    /// misaki's reading of numbers: years, ordinals, digit strings, decimals, currency.
    fn get_number(&self, word: &str, currency: Option<&str>, is_head: bool, num_flags: &str) -> Lookup {
        let suffix_len = word.len() - word.trim_end_matches(|c: char| c.is_ascii_lowercase() || c == '\'').len();
        let suffix = &word[word.len() - suffix_len..];
        let mut word = &word[..word.len() - suffix_len];
        let mut result: Vec<(String, u8)> = Vec::new();
        if let Some(rest) = word.strip_prefix('-') {
            result.push(self.lookup("minus", "", None, None)?);
            word = rest;
        }
        let known_currency = currency.and_then(|c| CURRENCIES.iter().find(|(s, _, _)| *s == c));
        let extend = |result: &mut Vec<(String, u8)>, words: &str, first: bool| -> Option<()> {
            let splits: Vec<&str> = split_non_letters(words);
            for (i, w) in splits.iter().enumerate() {
                if *w != "and" || num_flags.contains('&') {
                    if first && i == 0 && splits.len() > 1 && *w == "one" && num_flags.contains('a') {
                        result.push(("ə".into(), 4));
                    } else {
                        let stress = if *w == "point" { Some(-2.0) } else { None };
                        result.push(self.lookup(w, "", stress, None).unwrap_or_default());
                    }
                } else if num_flags.contains('n') {
                    if let Some(last) = result.last_mut() {
                        last.0.push_str("ən");
                    }
                }
            }
            Some(())
        };
        let digits = |n: &str| numbers::cardinal(numbers::without_leading_zeros(n));
        if is_digit(word) && ORDINALS.contains(&suffix) {
            extend(&mut result, &numbers::ordinal(numbers::without_leading_zeros(word))?, true)?;
        } else if result.is_empty() && word.len() == 4 && known_currency.is_none() && is_digit(word) {
            extend(&mut result, &numbers::year(numbers::without_leading_zeros(word))?, true)?;
        } else if !is_head && !word.contains('.') {
            let num = word.replace(',', "");
            if num.starts_with('0') || num.len() > 3 {
                for d in num.chars() {
                    extend(&mut result, &digits(&d.to_string())?, false)?;
                }
            } else if num.len() == 3 && !num.ends_with("00") {
                extend(&mut result, &digits(&num[..1])?, true)?;
                if &num[1..2] == "0" {
                    result.push(self.lookup("O", "", Some(-2.0), None)?);
                    extend(&mut result, &digits(&num[2..])?, false)?;
                } else {
                    extend(&mut result, &digits(&num[1..])?, false)?;
                }
            } else {
                extend(&mut result, &digits(&num)?, true)?;
            }
        } else if word.matches('.').count() > 1 || !is_head {
            let mut first = true;
            for num in word.replace(',', "").split('.') {
                if num.is_empty() {
                } else if num.starts_with('0') || (num.len() != 2 && num[1..].chars().any(|c| c != '0')) {
                    for d in num.chars() {
                        extend(&mut result, &digits(&d.to_string())?, false)?;
                    }
                } else {
                    extend(&mut result, &digits(num)?, first)?;
                }
                first = false;
            }
        } else if let Some(&(_, unit, cents_unit)) = known_currency.filter(|_| is_currency_amount(word)) {
            let plain = word.replace(',', "");
            let mut pairs: Vec<(String, &str)> =
                plain.split('.').zip([unit, cents_unit]).map(|(n, u)| (if n.is_empty() { "0".to_string() } else { n.to_string() }, u)).collect();
            let is_zero = |n: &str| n.chars().all(|c| c == '0');
            if pairs.len() > 1 {
                if is_zero(&pairs[1].0) {
                    pairs.truncate(1);
                } else if is_zero(&pairs[0].0) {
                    pairs.remove(0);
                }
            }
            for (i, (num, unit)) in pairs.iter().enumerate() {
                if i > 0 {
                    result.push(self.lookup("and", "", None, None)?);
                }
                extend(&mut result, &digits(num)?, i == 0)?;
                let one = num.trim_start_matches('0') == "1";
                result.push(if !one && *unit != "pence" {
                    self.stem_s(&format!("{unit}s"), "", None, None)?
                } else {
                    self.lookup(unit, "", None, None)?
                });
            }
        } else {
            let words = if is_digit(word) {
                digits(word)?
            } else if !word.contains('.') {
                let plain = word.replace(',', "");
                if ORDINALS.contains(&suffix) { numbers::ordinal(numbers::without_leading_zeros(&plain))? } else { digits(&plain)? }
            } else {
                let plain = word.replace(',', "");
                match plain.strip_prefix('.') {
                    Some(frac) => {
                        let mut s = String::from("point");
                        for d in frac.chars() {
                            s.push(' ');
                            s.push_str(&digits(&d.to_string())?);
                        }
                        s
                    }
                    None => numbers::decimal(&plain)?,
                }
            };
            extend(&mut result, &words, true)?;
        }
        if result.is_empty() {
            return None;
        }
        let rating = result.iter().map(|r| r.1).min().unwrap_or(4);
        let joined = result.into_iter().map(|r| r.0).collect::<Vec<_>>().join(" ");
        let ps = match suffix {
            "s" | "'s" => self.suffix_s(&joined)?,
            "ed" | "'d" => self.suffix_ed(&joined)?,
            "ing" => self.suffix_ing(&joined)?,
            _ => joined,
        };
        Some((ps, rating))
    }

    fn append_currency(&self, ps: String, currency: Option<&str>) -> String {
        match currency.and_then(|c| CURRENCIES.iter().find(|(s, _, _)| *s == c)) {
            Some(&(_, unit, _)) => match self.stem_s(&format!("{unit}s"), "", None, None) {
                Some((name, _)) => format!("{ps} {name}"),
                None => ps,
            },
            None => ps,
        }
    }

    /// misaki's `Lexicon.__call__`.
    pub fn word(&self, q: &WordQuery, ctx: TokenContext) -> Option<Found> {
        let word: String = q.text.chars().map(|c| if matches!(c, '‘' | '’') { '\'' } else { c }).collect();
        let word = fold_compatibility(&word);
        let stress = if word == word.to_lowercase() {
            None
        } else if word == word.to_uppercase() {
            Some(2.0)
        } else {
            Some(0.5)
        };
        if let Some((ps, rating)) = self.get_word(&word, q.tag, stress, ctx) {
            let ps = apply_stress(&self.append_currency(ps, q.currency), q.stress);
            return Some(Found { phonemes: ps, rating, number: false });
        }
        if is_number(&word, q.is_head) {
            let (ps, rating) = self.get_number(&word, q.currency, q.is_head, q.num_flags)?;
            return Some(Found { phonemes: apply_stress(&ps, q.stress), rating, number: true });
        }
        None
    }

    /// Whether the word's gold entry reads differently as a verb, a noun or a past form
    /// (record, object, live, read, use, close, …): the words context tagging can help.
    pub fn is_heteronym(&self, word: &str) -> bool {
        matches!(self.gold(word), Some(e @ Entry::Tagged(_)) if ["VERB", "NOUN", "VBD", "VBN"].iter().any(|t| e.has_tag(t)))
    }

    /// Whether the gold entry has its own past-participle reading ("read", "wound").
    pub fn has_past_participle(&self, word: &str) -> bool {
        self.gold(word).is_some_and(|e| e.has_tag("VBN"))
    }

    /// Letters read one by one as misaki reads initialisms ("abc" → "ˌAbˌisˈi"); None if
    /// some letter has no reading.
    pub fn spell(&self, letters: &str) -> Option<String> {
        self.get_nnp(letters).map(|(ps, _)| ps)
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.as_str().to_lowercase().chars()).collect(),
        None => String::new(),
    }
}

fn is_alpha(word: &str) -> bool {
    !word.is_empty() && word.chars().all(char::is_alphabetic)
}

/// misaki's LEXICON_ORDS: apostrophe, hyphen and ASCII letters.
fn is_lexicon_char(c: char) -> bool {
    c == '\'' || c == '-' || c.is_ascii_alphabetic()
}

fn is_digit(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parent_tag(tag: &str) -> &str {
    if tag.starts_with("VB") {
        "VERB"
    } else if tag.starts_with("NN") {
        "NOUN"
    } else if tag.starts_with("ADV") || tag.starts_with("RB") {
        "ADV"
    } else if tag.starts_with("ADJ") || tag.starts_with("JJ") {
        "ADJ"
    } else {
        tag
    }
}

/// `([bcdgklmnprstvxz])\1ing$|cking$`
fn doubled_consonant_ing(word: &str) -> bool {
    let b = word.as_bytes();
    word.ends_with("cking")
        || (b.len() >= 5 && b[b.len() - 5] == b[b.len() - 4] && b"bcdgklmnprstvxz".contains(&b[b.len() - 4]) && word.ends_with("ing"))
}

/// `re.split(r'[^a-z]+', s)`, empty pieces included as Python keeps them.
fn split_non_letters(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_sep = false;
    for (i, c) in s.char_indices() {
        let letter = c.is_ascii_lowercase();
        if !letter && !in_sep {
            out.push(&s[start..i]);
            in_sep = true;
        } else if letter && in_sep {
            start = i;
            in_sep = false;
        }
    }
    out.push(if in_sep { "" } else { &s[start..] });
    out
}

fn is_currency_amount(word: &str) -> bool {
    match word.matches('.').count() {
        0 => true,
        1 => word.split('.').nth(1).is_some_and(|cents| cents.len() < 3),
        _ => false,
    }
}

fn is_number(word: &str, is_head: bool) -> bool {
    if !word.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut body = word;
    for suffix in ["ing", "'d", "ed", "'s", "st", "nd", "rd", "th", "s"] {
        if let Some(b) = word.strip_suffix(suffix) {
            body = b;
            break;
        }
    }
    body.char_indices().all(|(i, c)| c.is_ascii_digit() || c == ',' || c == '.' || (is_head && i == 0 && c == '-'))
}

/// The part of NFKC that matters for English text: full-width ASCII, ligatures and
/// superscript digits (misaki NFKC-normalizes every word).
fn fold_compatibility(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            '\u{FF01}'..='\u{FF5E}' => out.push(char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)),
            'ﬀ' => out.push_str("ff"),
            'ﬁ' => out.push_str("fi"),
            'ﬂ' => out.push_str("fl"),
            'ﬃ' => out.push_str("ffi"),
            'ﬄ' => out.push_str("ffl"),
            '¹' => out.push('1'),
            '²' => out.push('2'),
            '³' => out.push('3'),
            '⁰' | '⁴'..='⁹' => out.push(char::from_u32(c as u32 - 0x2070 + 0x30).unwrap_or(c)),
            _ => out.push(c),
        }
    }
    out
}

/// misaki's `apply_stress`: None keeps the word's stress; < -1 removes it; -1 (and 0/-0.5 on a
/// stressed word) demotes primary to secondary; 0..1 on an unstressed word adds secondary; ≥ 1
/// promotes secondary; > 1 on an unstressed word adds primary.
pub fn apply_stress(ps: &str, stress: Option<f32>) -> String {
    let Some(s) = stress else { return ps.to_string() };
    let has = |c| ps.contains(c);
    let unstressed = !has(PRIMARY) && !has(SECONDARY);
    if s < -1.0 {
        ps.replace([PRIMARY, SECONDARY], "")
    } else if s == -1.0 || ((s == 0.0 || s == -0.5) && has(PRIMARY)) {
        ps.replace(SECONDARY, "").replace(PRIMARY, &SECONDARY.to_string())
    } else if (s == 0.0 || s == 0.5 || s == 1.0) && unstressed {
        stress_first_vowel(ps, SECONDARY)
    } else if s >= 1.0 && !has(PRIMARY) && has(SECONDARY) {
        ps.replace(SECONDARY, &PRIMARY.to_string())
    } else if s > 1.0 && unstressed {
        stress_first_vowel(ps, PRIMARY)
    } else {
        ps.to_string()
    }
}

fn stress_first_vowel(ps: &str, mark: char) -> String {
    match ps.char_indices().find(|&(_, c)| is_vowel(c)) {
        Some((i, _)) => format!("{}{mark}{}", &ps[..i], &ps[i..]),
        None => ps.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Lexicon {
        Lexicon::new(false).unwrap()
    }

    fn say(lex: &Lexicon, text: &str, tag: &str) -> Option<String> {
        let q = WordQuery { text, tag, is_head: true, ..Default::default() };
        lex.word(&q, TokenContext::default()).map(|f| f.phonemes)
    }

    #[test]
    fn lexicon_entries_match_misakis_json() {
        let lex = us();
        // Values from misaki 0.9.4 us_gold.json / gb_gold.json.
        assert_eq!(say(&lex, "hello", ""), Some("həlˈO".into()));
        assert_eq!(say(&lex, "Dr.", ""), Some("dˈɑktəɹ".into()));
        assert_eq!(say(&lex, "record", ""), Some("ɹˈɛkəɹd".into()));
        assert_eq!(say(&lex, "record", "VB"), Some("ɹəkˈɔɹd".into()));
        assert_eq!(say(&lex, "read", "VBD"), Some("ɹˈɛd".into()));
        assert_eq!(say(&lex, "NASA", ""), Some("nˈæsə".into()));
        let gb = Lexicon::new(true).unwrap();
        assert_eq!(say(&gb, "hello", ""), Some("həlˈQ".into()));
    }

    #[test]
    fn misakis_rules() {
        let lex = us();
        // letters spelled, stress on the last
        assert_eq!(say(&lex, "FBI", ""), Some("ˌɛfbˌiˈI".into()));
        // capitalized words fall back to the lowercase entry with secondary stress kept
        assert_eq!(say(&lex, "Hello", ""), say(&lex, "hello", ""));
        assert_eq!(apply_stress("həlˈO", Some(-1.0)), "həlˌO");
        assert_eq!(apply_stress("ðə", Some(2.0)), "ðˈə");
        assert_eq!(apply_stress("kˌæt", Some(2.0)), "kˈæt");
        assert_eq!(apply_stress("hˈɛlp", Some(-2.0)), "hɛlp");
        assert_eq!(split_non_letters("twenty-one"), ["twenty", "one"]);
        assert_eq!(split_non_letters(" one "), ["", "one", ""]);
    }

    #[test]
    fn built_in_data_parses_and_rejects_garbage() {
        assert!(data().unwrap().lines.len() > 200_000);
        assert!(LexiconData::parse(b"not zlib").is_err());
        let truncated = &LEXICON_BIN[..LEXICON_BIN.len() / 2];
        assert!(LexiconData::parse(truncated).is_err());
    }
}
