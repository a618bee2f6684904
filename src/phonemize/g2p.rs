//! misaki's G2P loop over tokens: sub-tokens glued into words, the longest known spans looked
//! up right to left (so each word knows whether the next one starts with a vowel), stress
//! balanced inside compounds, and letter-to-sound for what no lexicon knows.

use super::lexicon::{self, apply_stress, stress_weight, Found, Lexicon, TokenContext, WordQuery, PRIMARY};
use super::lts::LetterToSound;
use super::tokenize::{subtokenize, tokenize};
use super::{Source, UserLexicon, Word};

const PUNCTS: &str = ";:,.!?—…\"“”";
const NON_QUOTE_PUNCTS: &str = ";:,.!?—…";
const SUBTOKEN_JUNKS: &str = "',-._‘’/";
/// Symbols misaki has no reading for (its eSpeak fallback reads them).
const SYMBOL_WORDS: [(&str, &str); 8] = [
    ("=", "equals"),
    ("×", "times"),
    ("÷", "divided by"),
    ("±", "plus or minus"),
    ("≈", "approximately"),
    ("≠", "is not equal to"),
    ("<", "less than"),
    (">", "greater than"),
];
const PUNCT_TAGS: [&str; 10] = [".", ",", "-LRB-", "-RRB-", "``", "\"\"", "''", ":", "$", "#"];

/// Text to phonemize, in pieces: plain text, or text whose pronunciation is already decided.
#[derive(Debug, Clone)]
pub struct Piece {
    pub text: String,
    pub fixed: Option<(String, Source)>,
    /// Plain text produced by the normalizer, SSML `<sub>` or `<say-as>`.
    pub source: Source,
    /// misaki link features: `[word](-1)` stress, `[word](#a#)` number flags.
    pub stress: Option<f32>,
    pub num_flags: String,
}

impl Piece {
    pub fn plain(text: impl Into<String>, source: Source) -> Self {
        Self { text: text.into(), fixed: None, source, stress: None, num_flags: String::new() }
    }
}

#[derive(Debug, Clone)]
struct MToken {
    text: String,
    tag: &'static str,
    whitespace: bool,
    phonemes: Option<String>,
    rating: Option<u8>,
    is_head: bool,
    alias: Option<String>,
    stress: Option<f32>,
    currency: Option<&'static str>,
    num_flags: String,
    prespace: bool,
    source: Source,
}

impl MToken {
    fn query(&self) -> WordQuery<'_> {
        WordQuery {
            text: self.alias.as_deref().unwrap_or(&self.text),
            tag: self.tag,
            stress: self.stress,
            currency: self.currency,
            is_head: self.is_head,
            num_flags: &self.num_flags,
        }
    }
}

/// misaki's `merge_tokens`; `unk` given: the phonemes are joined too.
fn merge(tokens: &[MToken], unk: Option<&str>) -> MToken {
    let last = &tokens[tokens.len() - 1];
    let mut text = String::new();
    for tk in &tokens[..tokens.len() - 1] {
        text.push_str(&tk.text);
        if tk.whitespace {
            text.push(' ');
        }
    }
    text.push_str(&last.text);
    let weight = |tk: &MToken| tk.text.chars().map(|c| if c.to_lowercase().eq(std::iter::once(c)) { 1 } else { 2 }).sum::<usize>();
    let mut tag_token = &tokens[0];
    for tk in tokens {
        if weight(tk) > weight(tag_token) {
            tag_token = tk;
        }
    }
    let mut stresses: Vec<f32> = tokens.iter().filter_map(|t| t.stress).collect();
    stresses.dedup();
    let phonemes = unk.map(|unk| {
        let mut ps = String::new();
        for tk in tokens {
            if tk.prespace && !ps.is_empty() && !ps.ends_with(char::is_whitespace) && tk.phonemes.as_deref().is_some_and(|p| !p.is_empty()) {
                ps.push(' ');
            }
            ps.push_str(tk.phonemes.as_deref().unwrap_or(unk));
        }
        ps
    });
    let mut flags: Vec<char> = tokens.iter().flat_map(|t| t.num_flags.chars()).collect();
    flags.sort_unstable();
    flags.dedup();
    let source = tokens.iter().map(|t| t.source).max_by_key(|s| s.priority()).unwrap_or(Source::Lexicon);
    MToken {
        text,
        tag: tag_token.tag,
        whitespace: last.whitespace,
        phonemes,
        rating: tokens.iter().map(|t| t.rating).collect::<Option<Vec<u8>>>().and_then(|r| r.into_iter().min()),
        is_head: tokens[0].is_head,
        alias: None,
        stress: if stresses.len() == 1 { Some(stresses[0]) } else { None },
        currency: tokens.iter().filter_map(|t| t.currency).max(),
        num_flags: flags.into_iter().collect(),
        prespace: tokens[0].prespace,
        source,
    }
}

enum Unit {
    One(MToken),
    Group(Vec<MToken>),
}

pub struct G2p<'a> {
    pub lexicon: &'a Lexicon,
    pub lts: &'a LetterToSound,
    pub user: Option<&'a UserLexicon>,
}

impl G2p<'_> {
    fn user_word(&self, text: &str) -> Option<String> {
        let user = self.user?;
        user.get(text).or_else(|| user.get(&text.to_lowercase())).map(str::to_string)
    }

    fn lookup(&self, tk: &MToken, ctx: TokenContext) -> Option<(Found, Source)> {
        if let Some(ps) = self.user_word(tk.alias.as_deref().unwrap_or(&tk.text)) {
            return Some((Found { phonemes: ps, rating: 5, number: false }, Source::User));
        }
        let found = self.lexicon.word(&tk.query(), ctx)?;
        let source = if tk.source != Source::Lexicon {
            tk.source
        } else if found.number {
            Source::Normalizer
        } else {
            Source::Lexicon
        };
        Some((found, source))
    }

    /// A group without letters read as its runs of digits (with inner , and .), one number each.
    fn digit_runs(&self, w: &[MToken]) -> Option<String> {
        let text: String = w.iter().map(|t| t.text.as_str()).collect();
        if text.chars().any(char::is_alphabetic) || !text.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let runs = text.split(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.')).map(|r| r.trim_matches([',', '.'])).filter(|r| !r.is_empty());
        let read: Option<Vec<String>> = runs
            .map(|r| self.lexicon.word(&WordQuery { text: r, is_head: true, ..Default::default() }, TokenContext::default()).map(|f| f.phonemes))
            .collect();
        read.map(|r| r.join(" "))
    }

    /// A known word with a clitic the lexicon lacks ("should've" → ʃˈʊd + əv): the clitic's
    /// reduced form after the word's own pronunciation, with US flapping of a final t.
    fn contraction(&self, text: &str, ctx: TokenContext) -> Option<String> {
        let text = text.replace('’', "'");
        let british = self.lexicon.is_british();
        let clitics: [(&str, &str, &str); 5] = [
            ("'ve", "v", "əv"),
            ("'ll", "l", "ᵊl"),
            ("'d", "d", "əd"),
            ("'re", if british { "ə" } else { "ɹ" }, if british { "ə" } else { "əɹ" }),
            ("'m", "m", "əm"),
        ];
        let (base, after_vowel, after_consonant) = clitics.iter().find_map(|&(c, v, k)| text.strip_suffix(c).map(|b| (b, v, k)))?;
        let found = self.lexicon.word(&WordQuery { text: base, is_head: true, ..Default::default() }, ctx)?;
        let mut ps = found.phonemes;
        let last = ps.chars().next_back()?;
        if lexicon::is_vowel(last) || last == 'ɹ' || last == 'ː' {
            ps.push_str(after_vowel);
        } else {
            let before_t = ps.chars().rev().nth(1);
            if !british && last == 't' && before_t.is_some_and(|c| "AIOWYiuæɑəɛɪɹʊʌ".contains(c)) {
                ps.pop();
                ps.push('ɾ');
            }
            ps.push_str(after_consonant);
        }
        Some(ps)
    }

    /// Letter-to-sound for a word no lexicon knows; letters outside a–z are folded or skipped.
    fn fallback(&self, tk: &MToken) -> Option<String> {
        let text = fold_latin(tk.alias.as_deref().unwrap_or(&tk.text));
        if let Some(&(_, words)) = SYMBOL_WORDS.iter().find(|(symbol, _)| *symbol == text) {
            let spoken: Option<Vec<String>> = words.split(' ').map(|w| self.lexicon.lookup(w, "", None, None).map(|f| f.0)).collect();
            return spoken.map(|s| s.join(" "));
        }
        if !text.chars().any(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let all_caps = text.chars().filter(char::is_ascii_alphabetic).all(|c| c.is_ascii_uppercase());
        let letters = text.chars().filter(char::is_ascii_alphabetic).count();
        if all_caps && letters > 1 && letters <= 4 {
            // short unknown capitals are initialisms: spell them as misaki's lexicon would
            let found = self.lexicon.word(&WordQuery { text: &text, tag: "NNP", is_head: true, ..Default::default() }, TokenContext::default());
            if let Some(f) = found {
                return Some(apply_stress(&f.phonemes, tk.stress));
            }
        }
        let letters_only: String = text.chars().filter(char::is_ascii_alphabetic).collect();
        if letters > 1 && !letters_only.contains(|c: char| "aeiouyAEIOUY".contains(c)) {
            // no vowel letter ("npm", "Shh"): read the letters, as eSpeak does
            if let Some(spelled) = self.lexicon.spell(&letters_only) {
                return Some(spelled);
            }
        }
        let ps = self.lts.predict(&text);
        (!ps.is_empty()).then(|| apply_stress(&ps, tk.stress))
    }

    /// Phonemizes the pieces; returns the phoneme string (Kokoro's input) and the words.
    pub fn run(&self, pieces: &[Piece]) -> (String, Vec<Word>) {
        let mut tokens = self.tokens(pieces);
        self.tag_heteronyms(&mut tokens);
        let tokens = fold_left(tokens);
        let mut units = retokenize(tokens);
        let mut ctx = TokenContext::default();
        for unit in units.iter_mut().rev() {
            match unit {
                Unit::One(w) => {
                    if w.phonemes.is_none() {
                        if let Some((found, source)) = self.lookup(w, ctx) {
                            w.phonemes = Some(found.phonemes);
                            w.rating = Some(found.rating);
                            w.source = source;
                        } else if let Some(ps) = self.fallback(w) {
                            w.phonemes = Some(ps);
                            w.rating = Some(2);
                            w.source = Source::Rule;
                        }
                    }
                    ctx = token_context(ctx, w.phonemes.as_deref(), w);
                }
                Unit::Group(w) => ctx = self.group(w, ctx),
            }
        }
        let mut words = Vec::new();
        let mut out = String::new();
        for unit in units {
            let tk = match unit {
                Unit::One(tk) => tk,
                Unit::Group(g) => merge(&g, Some("")),
            };
            let ps = tk.phonemes.unwrap_or_default().replace('ɾ', "T").replace('ʔ', "t");
            out.push_str(&ps);
            if tk.whitespace {
                out.push(' ');
            }
            words.push(Word { text: tk.text, phonemes: ps, source: tk.source });
        }
        (out.trim().to_string(), words)
    }

    /// The right-to-left search for the longest known span inside a glued group of sub-tokens.
    /// Spans are at most MAX_SPAN sub-tokens (misaki tries them all, which is cubic in the
    /// group's length; no lexicon entry is that long).
    fn group(&self, w: &mut [MToken], mut ctx: TokenContext) -> TokenContext {
        const MAX_SPAN: usize = 32;
        let (mut left, mut right) = (w.len().saturating_sub(MAX_SPAN), w.len());
        while left < right {
            let fixed = w[left..right].iter().any(|t| t.alias.is_some() || t.phonemes.is_some());
            let merged = (!fixed).then(|| merge(&w[left..right], None));
            let found = merged.as_ref().and_then(|m| self.lookup(m, ctx));
            if let (Some((found, source)), Some(merged)) = (found, &merged) {
                ctx = token_context(ctx, Some(&found.phonemes), merged);
                w[left].phonemes = Some(found.phonemes);
                w[left].rating = Some(found.rating);
                w[left].source = source;
                for x in &mut w[left + 1..right] {
                    x.phonemes = Some(String::new());
                    x.rating = Some(found.rating);
                }
                right = left;
                left = right.saturating_sub(MAX_SPAN);
            } else if left + 1 < right {
                left += 1;
            } else {
                right -= 1;
                if w[right].phonemes.is_none() {
                    let word_like = w.iter().all(|t| t.text.chars().all(|c| c.is_alphabetic() || matches!(c, '\'' | '’')));
                    if w[right].text.chars().all(|c| SUBTOKEN_JUNKS.contains(c)) {
                        w[right].phonemes = Some(String::new());
                        w[right].rating = Some(3);
                    } else if let Some(ps) = self.digit_runs(w) {
                        // numbers glued by dashes ("3--1", where "-1" is no number to misaki):
                        // each run of digits read on its own, as misaki's eSpeak fallback does
                        return whole_group(w, ps, Source::Normalizer, ctx);
                    } else if word_like {
                        // a word split only at apostrophes ("should've"): the whole word goes
                        // to letter-to-sound, as misaki sends it to eSpeak
                        let merged = merge(w, None);
                        return match self.contraction(&merged.text, ctx) {
                            Some(ps) => whole_group(w, ps, Source::Lexicon, ctx),
                            None => match self.fallback(&merged) {
                                Some(ps) => whole_group(w, ps, Source::Rule, ctx),
                                None => ctx,
                            },
                        };
                    } else if let Some(ps) = self.fallback(&w[right]) {
                        // unlike misaki (which hands the whole group to eSpeak), only the
                        // unknown part goes to letter-to-sound; the known parts keep the lexicon
                        let tk = &mut w[right];
                        ctx = token_context(ctx, Some(&ps), tk);
                        tk.phonemes = Some(ps);
                        tk.rating = Some(2);
                        tk.source = Source::Rule;
                    }
                }
                left = right.saturating_sub(MAX_SPAN);
            }
        }
        resolve_tokens(w);
        ctx
    }

    /// Context tags for heteronyms. misaki's lexicon has verb/noun/past readings for about 620
    /// words but needs spaCy's statistical tagger to choose; these rules cover the common
    /// patterns: "to record", "we object", "can't tear" (verb); "the record", "my present"
    /// (noun); "has read", "she read" (past).
    fn tag_heteronyms(&self, tokens: &mut [MToken]) {
        const MODALS: &[&str] = &[
            "to", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "do", "does", "did",
            "n't", "n’t", "'ll", "’ll", "cannot", "please", "let's", "let’s", "often", "always", "never", "also",
            "usually", "sometimes",
        ];
        const PRONOUNS: &[&str] = &["i", "you", "we", "they"];
        const DETERMINERS: &[&str] = &[
            "the", "a", "an", "this", "these", "those", "my", "your", "his", "her", "its", "our", "their", "each",
            "every", "no", "any", "some", "whose", "another",
        ];
        const OBJECTS: &[&str] = &["the", "a", "an", "this", "these", "those", "my", "your", "his", "our", "their", "it", "them", "him", "me", "us"];
        const PERFECT: &[&str] = &["have", "has", "had", "having", "'ve", "’ve"];
        // after a form of "be", a past participle ("was read") or an adjective ("is close")
        const BE: &[&str] = &["was", "were", "been", "being", "be", "is", "are", "am", "'s", "’s", "'re", "’re", "'m", "’m"];
        const THIRD_PERSON: &[&str] = &["he", "she", "it", "who"];
        let lower: Vec<String> = tokens.iter().map(|t| t.text.to_lowercase()).collect();
        let past = lower.iter().any(|w| matches!(w.as_str(), "yesterday" | "ago" | "last" | "once"));
        for i in 0..tokens.len() {
            if !tokens[i].tag.is_empty() || !self.lexicon.is_heteronym(&lower[i]) {
                continue;
            }
            let prev = i.checked_sub(1).map(|j| lower[j].as_str()).unwrap_or("");
            let next = lower.get(i + 1).map(String::as_str).unwrap_or("");
            let sentence_start = i == 0 || tokens[i - 1].tag == ".";
            tokens[i].tag = if PERFECT.contains(&prev) || (BE.contains(&prev) && self.lexicon.has_past_participle(&lower[i])) {
                "VBN"
            } else if BE.contains(&prev) {
                ""
            } else if THIRD_PERSON.contains(&prev) || (past && PRONOUNS.contains(&prev)) {
                "VBD"
            } else if MODALS.contains(&prev) || PRONOUNS.contains(&prev) || (sentence_start && OBJECTS.contains(&next)) {
                "VB"
            } else if DETERMINERS.contains(&prev) {
                "NN"
            } else {
                ""
            };
        }
    }

    /// Tokens of all pieces, with fixed pronunciations and features attached.
    fn tokens(&self, pieces: &[Piece]) -> Vec<MToken> {
        let mut text = String::new();
        let mut spans = Vec::new();
        for piece in pieces {
            let start = text.len();
            text.push_str(&piece.text);
            spans.push(start..text.len());
        }
        let mut out = Vec::new();
        let mut seen_in_piece = vec![0usize; pieces.len()];
        for t in tokenize(&text) {
            let p = spans.iter().position(|s| s.contains(&t.start)).unwrap_or(0);
            let piece = &pieces[p];
            let first = seen_in_piece[p] == 0;
            seen_in_piece[p] += 1;
            let mut tk = MToken {
                text: t.text,
                tag: t.tag,
                whitespace: t.whitespace,
                phonemes: None,
                rating: None,
                is_head: true,
                alias: None,
                stress: piece.stress,
                currency: None,
                num_flags: piece.num_flags.clone(),
                prespace: false,
                source: piece.source,
            };
            if let Some((ps, source)) = &piece.fixed {
                tk.is_head = first;
                tk.phonemes = Some(if first { ps.clone() } else { String::new() });
                tk.rating = Some(5);
                tk.source = *source;
            }
            out.push(tk);
        }
        out
    }
}

/// One reading for a whole glued group, carried by its first sub-token (misaki's fallback path,
/// which skips the compound stress rules).
fn whole_group(w: &mut [MToken], ps: String, source: Source, ctx: TokenContext) -> TokenContext {
    let ctx = token_context(ctx, Some(&ps), &merge(w, None));
    for (i, t) in w.iter_mut().enumerate() {
        t.phonemes = Some(if i == 0 { ps.clone() } else { String::new() });
        t.rating = Some(2);
        t.source = source;
    }
    ctx
}

fn fold_left(tokens: Vec<MToken>) -> Vec<MToken> {
    let mut result: Vec<MToken> = Vec::with_capacity(tokens.len());
    for tk in tokens {
        match result.pop() {
            Some(prev) if !tk.is_head => result.push(merge(&[prev, tk], Some(""))),
            Some(prev) => {
                result.push(prev);
                result.push(tk);
            }
            None => result.push(tk),
        }
    }
    result
}

fn retokenize(tokens: Vec<MToken>) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut currency: Option<&'static str> = None;
    let next_tags: Vec<&'static str> = tokens.iter().skip(1).map(|t| t.tag).chain(std::iter::once("")).collect();
    for (i, token) in tokens.into_iter().enumerate() {
        let has_next = i + 1 < next_tags.len();
        let mut tks: Vec<MToken> = if token.alias.is_none() && token.phonemes.is_none() {
            subtokenize(&token.text)
                .into_iter()
                .map(|t| MToken { text: t.to_string(), whitespace: false, is_head: true, prespace: false, ..token.clone() })
                .collect()
        } else {
            vec![token.clone()]
        };
        if let Some(last) = tks.last_mut() {
            last.whitespace = token.whitespace;
        }
        let n = tks.len();
        for j in 0..n {
            let (before, rest) = tks.split_at_mut(j);
            let (tk, after) = rest.split_first_mut().expect("j < n");
            if tk.alias.is_some() || tk.phonemes.is_some() {
            } else if tk.tag == "$" && lexicon::CURRENCIES.iter().any(|(s, _, _)| *s == tk.text) {
                currency = lexicon::CURRENCIES.iter().find(|(s, _, _)| *s == tk.text).map(|c| c.0);
                tk.phonemes = Some(String::new());
                tk.rating = Some(4);
                tk.source = Source::Punctuation;
            } else if tk.tag == ":" && matches!(tk.text.as_str(), "-" | "–") {
                tk.phonemes = Some("—".into());
                tk.rating = Some(3);
                tk.source = Source::Punctuation;
            } else if PUNCT_TAGS.contains(&tk.tag) && !tk.text.chars().all(|c| c.to_ascii_lowercase().is_ascii_lowercase()) {
                tk.phonemes = Some(match tk.tag {
                    "-LRB-" => "(".into(),
                    "-RRB-" => ")".into(),
                    "``" => "“".into(),
                    "\"\"" | "''" => "”".into(),
                    _ => tk.text.chars().filter(|c| PUNCTS.contains(*c)).collect(),
                });
                tk.rating = Some(4);
                tk.source = Source::Punctuation;
            } else if currency.is_some() {
                if tk.tag != "CD" {
                    currency = None;
                } else if j + 1 == n && (!has_next || next_tags[i] != "CD") {
                    tk.currency = currency;
                }
            } else if j > 0 && j + 1 < n && tk.text == "2" {
                let glue: String = before[j - 1].text.chars().next_back().into_iter().chain(after[0].text.chars().next()).collect();
                if glue.chars().count() == 2 && glue.chars().all(char::is_alphabetic) {
                    tk.alias = Some("to".into());
                }
            }
        }
        for tk in tks {
            let standalone = tk.alias.is_some() || tk.phonemes.is_some();
            match units.last_mut() {
                Some(Unit::Group(g)) if !standalone && g.last().is_some_and(|l| !l.whitespace) => {
                    let mut tk = tk;
                    tk.is_head = false;
                    g.push(tk);
                }
                _ if standalone || tk.whitespace => units.push(Unit::One(tk)),
                _ => units.push(Unit::Group(vec![tk])),
            }
        }
    }
    units
        .into_iter()
        .map(|u| match u {
            Unit::Group(mut g) if g.len() == 1 => Unit::One(g.remove(0)),
            u => u,
        })
        .collect()
}

fn token_context(ctx: TokenContext, ps: Option<&str>, token: &MToken) -> TokenContext {
    let mut vowel = ctx.future_vowel;
    if let Some(ps) = ps.filter(|p| !p.is_empty()) {
        if let Some(c) = ps.chars().find(|&c| lexicon::is_vowel(c) || lexicon::CONSONANTS.contains(c) || NON_QUOTE_PUNCTS.contains(c)) {
            vowel = if NON_QUOTE_PUNCTS.contains(c) { None } else { Some(lexicon::is_vowel(c)) };
        }
    }
    let future_to = matches!(token.text.as_str(), "to" | "To") || (token.text == "TO" && matches!(token.tag, "TO" | "IN"));
    TokenContext { future_vowel: vowel, future_to }
}

/// misaki's `resolve_tokens`: punctuation and junk inside a group, spaces where the group mixes
/// letters and digits, and only half of the parts of a compound keep primary stress.
fn resolve_tokens(tokens: &mut [MToken]) {
    let mut text = String::new();
    for (i, tk) in tokens.iter().enumerate() {
        text.push_str(&tk.text);
        if i + 1 < tokens.len() && tk.whitespace {
            text.push(' ');
        }
    }
    let classes: std::collections::BTreeSet<u8> = text
        .chars()
        .filter(|c| !SUBTOKEN_JUNKS.contains(*c))
        .map(|c| if c.is_alphabetic() { 0 } else if c.is_ascii_digit() { 1 } else { 2 })
        .collect();
    let prespace = text.contains(' ') || text.contains('/') || classes.len() > 1;
    let n = tokens.len();
    for (i, tk) in tokens.iter_mut().enumerate() {
        if tk.phonemes.is_none() {
            if i == n - 1 && tk.text.chars().count() == 1 && NON_QUOTE_PUNCTS.contains(tk.text.as_str()) {
                tk.phonemes = Some(tk.text.clone());
                tk.rating = Some(3);
            } else if tk.text.chars().all(|c| SUBTOKEN_JUNKS.contains(c)) {
                tk.phonemes = Some(String::new());
                tk.rating = Some(3);
            }
        } else if i > 0 {
            tk.prespace = prespace;
        }
    }
    if prespace {
        return;
    }
    let mut indices: Vec<(bool, usize, usize)> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, tk)| tk.phonemes.as_deref().filter(|p| !p.is_empty()).map(|p| (p.contains(PRIMARY), stress_weight(p), i)))
        .collect();
    if indices.len() == 2 && tokens[indices[0].2].text.chars().count() == 1 {
        let i = indices[1].2;
        let ps = apply_stress(tokens[i].phonemes.as_deref().unwrap_or(""), Some(-0.5));
        tokens[i].phonemes = Some(ps);
        return;
    }
    let primaries = indices.iter().filter(|x| x.0).count();
    if indices.len() < 2 || primaries <= indices.len().div_ceil(2) {
        return;
    }
    indices.sort();
    let half = indices.len() / 2;
    for &(_, _, i) in &indices[..half] {
        let ps = apply_stress(tokens[i].phonemes.as_deref().unwrap_or(""), Some(-0.5));
        tokens[i].phonemes = Some(ps);
    }
}

/// Latin letters with diacritics to their base letter, for letter-to-sound ("Zoë" → "Zoe").
pub(super) fn fold_latin(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
            'À'..='Å' | 'Ā' | 'Ă' | 'Ą' => 'A',
            'ç' | 'ć' | 'č' => 'c',
            'Ç' | 'Ć' | 'Č' => 'C',
            'è'..='ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'È'..='Ë' | 'Ē' | 'Ė' | 'Ę' | 'Ě' => 'E',
            'ì'..='ï' | 'ī' | 'į' | 'ı' => 'i',
            'Ì'..='Ï' | 'Ī' | 'Į' | 'İ' => 'I',
            'ñ' | 'ń' | 'ň' => 'n',
            'Ñ' | 'Ń' | 'Ň' => 'N',
            'ò'..='ö' | 'ø' | 'ō' | 'ő' => 'o',
            'Ò'..='Ö' | 'Ø' | 'Ō' | 'Ő' => 'O',
            'ù'..='ü' | 'ū' | 'ů' | 'ű' => 'u',
            'Ù'..='Ü' | 'Ū' | 'Ů' | 'Ű' => 'U',
            'ý' | 'ÿ' => 'y',
            'Ý' | 'Ÿ' => 'Y',
            'ś' | 'š' | 'ß' => 's',
            'Ś' | 'Š' => 'S',
            'ź' | 'ż' | 'ž' => 'z',
            'Ź' | 'Ż' | 'Ž' => 'Z',
            'ł' => 'l',
            'Ł' => 'L',
            '’' | '‘' => '\'',
            c => c,
        })
        .collect()
}
