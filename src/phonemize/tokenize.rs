//! Words and punctuation: the tokenizer misaki sees (spaCy's English rules for splitting
//! prefixes, suffixes and infixes), the closed-class tagger that stands in for spaCy's
//! statistical tagger, and misaki's sub-token split.
//!
//! misaki merges tokens that are not separated by whitespace back into one word before it
//! looks anything up, so what matters here is which pieces become punctuation, which tag a
//! token gets, and where whitespace was.

/// A token of the input with its part-of-speech tag (Penn tags; "" when the rules do not
/// know). `start` is the byte offset in the text that was tokenized.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub text: String,
    pub tag: &'static str,
    pub whitespace: bool,
    pub start: usize,
}

/// Abbreviations and spellings spaCy's English tokenizer keeps whole, so that their final
/// period is not split off as punctuation.
const EXCEPTIONS: &[&str] = &[
    "a.m.", "p.m.", "Adm.", "Bros.", "co.", "Co.", "Corp.", "D.C.", "Dr.", "e.g.", "E.g.", "E.G.",
    "Gen.", "Gov.", "i.e.", "I.e.", "I.E.", "Inc.", "Jr.", "Ltd.", "Md.", "Messrs.", "Mo.", "Mont.",
    "Mr.", "Mrs.", "Ms.", "Ph.D.", "Prof.", "Rep.", "Rev.", "Sen.", "St.", "vs.", "v.s.", "Mt.",
    "Apr.", "Aug.", "Dec.", "Feb.", "Jan.", "Jul.", "Jun.", "Mar.", "Nov.", "Oct.", "Sep.",
    "Sept.", "Calif.", "Mass.", "Wash.", "C++", "''", "'em", "'cause", "'bout", "'nuff", "'cos", "'cuz",
    "’em", "’cause", "’bout", "’nuff", "’cos", "’cuz", "goin'", "nothin'", "doin'", "havin'", "lovin'",
    "somethin'", "nuthin'", "ol'", "goin’", "nothin’", "doin’", "havin’", "lovin’", "somethin’", "nuthin’", "ol’",
];

const PUNCT: &[char] = &[
    '…', ',', ':', ';', '!', '?', '¿', '¡', '(', ')', '[', ']', '{', '}', '<', '>', '_', '#', '*',
    '&',
];
const QUOTES: &[char] = &['\'', '"', '”', '“', '`', '‘', '´', '’', '‚', '„', '»', '«'];
const CURRENCY: &[char] = &['$', '£', '€', '¥', '₹', '₩', '₽', '₿'];
const HYPHENS: &[&str] = &["---", "--", "——", "-", "–", "—", "~"];
const CLITICS: &[&str] = &["n't", "'d", "'ll", "'ve", "'re", "'m", "n’t", "’d", "’ll", "’ve", "’re", "’m"];
/// Units spaCy splits off a number ("5km" → "5", "km"), longest first.
const UNITS: &[&str] = &[
    "km/h", "m/s", "km²", "km³", "cm²", "cm³", "mm²", "mm³", "m²", "m³", "kmh", "mph", "hPa",
    "mbar", "km", "dm", "cm", "mm", "µm", "nm", "yd", "in", "ft", "kg", "mg", "µg", "lb", "oz",
    "Pa", "mb", "MB", "kb", "KB", "gb", "GB", "tb", "TB", "ha", "m", "g", "t", "T", "G", "M", "K",
    "%",
];

/// Splits `text` into tokens the way spaCy's English tokenizer does for the cases that change
/// misaki's output, and tags them.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chunk_start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_whitespace(), chunk_start) {
            (true, Some(start)) => {
                split_chunk(text, start, i, &mut tokens);
                if let Some(last) = tokens.last_mut() {
                    last.whitespace = i < text.len();
                }
                chunk_start = None;
            }
            (false, None) => chunk_start = Some(i),
            _ => {}
        }
    }
    for token in &mut tokens {
        let before = text[..token.start].chars().next_back();
        let after = text[token.start + token.text.len()..].chars().next();
        let opens_quote = before.is_none_or(|c| c.is_whitespace() || "([{".contains(c));
        let inside_word = before.is_some_and(|c| !c.is_whitespace()) && after.is_some_and(|c| !c.is_whitespace());
        token.tag = tag(&token.text, opens_quote, inside_word);
    }
    tokens
}

/// Prefixes, then suffixes, then infixes, as spaCy's tokenizer loop does.
fn split_chunk(text: &str, start: usize, end: usize, out: &mut Vec<Token>) {
    let mut lo = start;
    let mut hi = end;
    let mut suffixes = Vec::new();
    loop {
        let core = &text[lo..hi];
        if core.is_empty() || EXCEPTIONS.contains(&core) {
            break;
        }
        if let Some(n) = prefix_len(core) {
            out.push(piece(text, lo, lo + n));
            lo += n;
            continue;
        }
        if let Some(n) = suffix_len(core) {
            suffixes.push((hi - n, hi));
            hi -= n;
            continue;
        }
        break;
    }
    if lo < hi {
        split_infixes(text, lo, hi, out);
    }
    for &(a, b) in suffixes.iter().rev() {
        out.push(piece(text, a, b));
    }
}

fn piece(text: &str, a: usize, b: usize) -> Token {
    Token { text: text[a..b].to_string(), tag: "", whitespace: false, start: a }
}

fn prefix_len(s: &str) -> Option<usize> {
    let c = s.chars().next()?;
    if let Some(n) = ellipsis_len(s) {
        return Some(n);
    }
    let next = s[c.len_utf8()..].chars().next();
    let plus_before_digit = c == '+' && next.is_some_and(|d| d.is_ascii_digit());
    let single = matches!(c, '§' | '%' | '=' | '—' | '–' | '+')
        || PUNCT.contains(&c)
        || QUOTES.contains(&c)
        || CURRENCY.contains(&c);
    (single && !plus_before_digit && s.len() > c.len_utf8() || single && s.len() == c.len_utf8())
        .then_some(c.len_utf8())
}

fn suffix_len(s: &str) -> Option<usize> {
    let c = s.chars().next_back()?;
    if s.len() == c.len_utf8() {
        return None;
    }
    let rest = &s[..s.len() - c.len_utf8()];
    let before = rest.chars().next_back();
    if s.ends_with("..") || s.ends_with('…') {
        let n = s.len() - s.trim_end_matches('.').len();
        if n >= 2 && n < s.len() {
            return Some(n);
        }
    }
    if PUNCT.contains(&c) || QUOTES.contains(&c) || c == '—' || c == '–' {
        return Some(c.len_utf8());
    }
    for apostrophe_s in ["'s", "'S", "’s", "’S"] {
        if s.len() > apostrophe_s.len() && s.ends_with(apostrophe_s) {
            return Some(apostrophe_s.len());
        }
    }
    // spaCy's exception table splits clitics off pronouns and verbs ("we'll", "should've")
    for clitic in CLITICS {
        if let Some(head) = s.strip_suffix(clitic) {
            if head.chars().count() > 1 && head.chars().all(char::is_alphabetic) {
                return Some(clitic.len());
            }
        }
    }
    if c == '+' && before.is_some_and(|b| b.is_ascii_digit()) {
        return Some(1);
    }
    if CURRENCY.contains(&c) && before.is_some_and(|b| b.is_ascii_digit()) {
        return Some(c.len_utf8());
    }
    for unit in UNITS {
        if let Some(head) = s.strip_suffix(unit) {
            if head.chars().next_back().is_some_and(|b| b.is_ascii_digit()) {
                return Some(unit.len());
            }
        }
    }
    if c == '.' {
        let b = before?;
        let after_lower = b.is_ascii_digit()
            || b.is_lowercase()
            || matches!(b, '%' | '²' | '-' | '+')
            || PUNCT.contains(&b)
            || QUOTES.contains(&b);
        let mut two = rest.chars().rev();
        let after_two_upper = two.next().is_some_and(char::is_uppercase) && two.next().is_some_and(char::is_uppercase);
        if after_lower || after_two_upper {
            return Some(1);
        }
    }
    None
}

fn ellipsis_len(s: &str) -> Option<usize> {
    if s.starts_with('…') {
        return Some('…'.len_utf8());
    }
    let n = s.len() - s.trim_start_matches('.').len();
    (n >= 2).then_some(n)
}

fn split_infixes(text: &str, lo: usize, hi: usize, out: &mut Vec<Token>) {
    let core = &text[lo..hi];
    if EXCEPTIONS.contains(&core) {
        out.push(piece(text, lo, hi));
        return;
    }
    let chars: Vec<(usize, char)> = core.char_indices().collect();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let len = infix_at(core, at, c, prev);
        // spaCy keeps "Dr." whole even when the next word is glued on ("Dr.Smith")
        let len = if c == '.' && EXCEPTIONS.contains(&&core[start..at + 1]) {
            out.push(piece(text, lo + start, lo + at + 1));
            start = at + 1;
            i += 1;
            continue;
        } else {
            len
        };
        match len {
            Some(n) if at > start && at + n < core.len() => {
                out.push(piece(text, lo + start, lo + at));
                out.push(piece(text, lo + at, lo + at + n));
                start = at + n;
                while i < chars.len() && chars[i].0 < start {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.push(piece(text, lo + start, hi));
}

fn infix_at(core: &str, at: usize, c: char, prev: Option<char>) -> Option<usize> {
    let rest = &core[at..];
    let next_of = |n: usize| rest[n..].chars().next();
    if let Some(n) = ellipsis_len(rest) {
        return Some(n);
    }
    let prev = prev?;
    let alpha = |x: Option<char>| x.is_some_and(char::is_alphabetic);
    if prev.is_ascii_digit() && matches!(c, '+' | '-' | '*' | '^') {
        let n = next_of(1);
        if n.is_some_and(|d| d.is_ascii_digit() || d == '-') {
            return Some(1);
        }
    }
    if c == '.' && (prev.is_lowercase() || QUOTES.contains(&prev)) {
        let n = next_of(1);
        if n.is_some_and(|d| d.is_uppercase() || QUOTES.contains(&d)) {
            return Some(1);
        }
    }
    if c == ',' && prev.is_alphabetic() && alpha(next_of(1)) {
        return Some(1);
    }
    if prev.is_alphabetic() || prev.is_ascii_digit() {
        for h in HYPHENS {
            if rest.starts_with(h) && alpha(next_of(h.len())) {
                return Some(h.len());
            }
        }
        if matches!(c, ':' | '<' | '>' | '=' | '/') && alpha(next_of(1)) {
            return Some(1);
        }
    }
    None
}

const PREPOSITIONS: &[&str] = &[
    "in", "of", "on", "at", "for", "with", "from", "into", "onto", "upon", "about", "over",
    "under", "after", "before", "between", "through", "during", "without", "within", "against",
    "among", "across", "behind", "beyond", "near", "since", "until", "via",
];

/// The closed-class tagger (spaCy's English model cannot ship here; this stands in for it and
/// the reference generator in tools/phonemize uses the same rules): determiners, "I", "to",
/// common prepositions, numbers, and punctuation get Penn tags; everything else gets "".
/// A straight quote opens after whitespace or a bracket; a hyphen touching non-space on both
/// sides is spaCy's HYPH (read as nothing), otherwise a dash.
fn tag(text: &str, opens_quote: bool, inside_word: bool) -> &'static str {
    let lower = text.to_lowercase();
    match lower.as_str() {
        "a" | "an" | "the" => return "DT",
        "to" => return "TO",
        _ => {}
    }
    if text == "I" {
        return "PRP";
    }
    if PREPOSITIONS.contains(&lower.as_str()) {
        return "IN";
    }
    if is_number_token(text) {
        return "CD";
    }
    match text {
        "$" | "£" | "€" | "¥" => return "$",
        "#" => return "#",
        "," => return ",",
        "(" | "[" | "{" => return "-LRB-",
        ")" | "]" | "}" => return "-RRB-",
        "“" | "‘" => return "``",
        "”" | "’" => return "''",
        "\"" | "'" => return if opens_quote { "``" } else { "''" },
        "-" | "–" if inside_word => return "HYPH",
        ":" | ";" | "-" | "–" | "—" | "--" | "..." | "…" => return ":",
        _ => {}
    }
    if !text.is_empty() && text.chars().all(|c| matches!(c, '.' | '!' | '?')) {
        return ".";
    }
    ""
}

fn is_number_token(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    body.starts_with(|c: char| c.is_ascii_digit())
        && body.ends_with(|c: char| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
}

/// misaki's sub-token split of one token: leading apostrophes, a capital starting a new
/// CamelCase word, numbers (with , or . inside), hyphen/underscore runs, doubled quotes,
/// lowercase-to-uppercase boundaries, letter runs with inner apostrophes, single other
/// characters, trailing apostrophes — tried in that order at each position.
pub fn subtokenize(word: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let n = chars.len();
    let at = |i: usize| if i < n { chars[i].0 } else { word.len() };
    let ch = |i: usize| chars.get(i).map(|&(_, c)| c);
    let is_apos = |c: Option<char>| matches!(c, Some('\'' | '‘' | '’'));
    let is_letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
    let is_upper = |c: Option<char>| c.is_some_and(|c| c.is_alphabetic() && c.is_uppercase());
    let is_lower = |c: Option<char>| c.is_some_and(|c| c.is_alphabetic() && c.is_lowercase());
    let is_digit = |c: Option<char>| c.is_some_and(|c| c.is_numeric());
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let end = sub_match(i, n, &ch, is_apos, is_letter, is_upper, is_lower, is_digit);
        match end {
            Some(e) if e > i => {
                out.push(&word[at(i)..at(e)]);
                i = e;
            }
            _ => i += 1,
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn sub_match(
    i: usize,
    n: usize,
    ch: &dyn Fn(usize) -> Option<char>,
    is_apos: impl Fn(Option<char>) -> bool,
    is_letter: impl Fn(Option<char>) -> bool,
    is_upper: impl Fn(Option<char>) -> bool,
    is_lower: impl Fn(Option<char>) -> bool,
    is_digit: impl Fn(Option<char>) -> bool,
) -> Option<usize> {
    let apos_run = |from: usize| (from..n).take_while(|&j| is_apos(ch(j))).count();
    // ^['‘’]+
    if i == 0 && is_apos(ch(0)) {
        return Some(apos_run(0));
    }
    // \p{Lu}(?=\p{Lu}\p{Ll})
    if is_upper(ch(i)) && is_upper(ch(i + 1)) && is_lower(ch(i + 2)) {
        return Some(i + 1);
    }
    // (?:^-)?(?:\d?[,.]?\d)+
    {
        let mut j = if i == 0 && ch(0) == Some('-') { 1 } else { i };
        let mut matched = None;
        loop {
            // one repetition of \d?[,.]?\d, greedy with backtracking over the optional parts
            let try_rep = |j: usize| -> Option<usize> {
                for (d, p) in [(true, true), (true, false), (false, true), (false, false)] {
                    let mut k = j;
                    if d {
                        if !is_digit(ch(k)) {
                            continue;
                        }
                        k += 1;
                    }
                    if p {
                        if !matches!(ch(k), Some(',' | '.')) {
                            continue;
                        }
                        k += 1;
                    }
                    if is_digit(ch(k)) {
                        return Some(k + 1);
                    }
                }
                None
            };
            match try_rep(j) {
                Some(k) => {
                    matched = Some(k);
                    j = k;
                }
                None => break,
            }
        }
        if matched.is_some() {
            return matched;
        }
    }
    // [-_]+
    if matches!(ch(i), Some('-' | '_')) {
        return Some((i..n).take_while(|&j| matches!(ch(j), Some('-' | '_'))).count() + i);
    }
    // ['‘’]{2,}
    if apos_run(i) >= 2 {
        return Some(i + apos_run(i));
    }
    // \p{L}*?(?:['‘’]\p{L})*?\p{Ll}(?=\p{Lu}): the shortest letter run ending in a lowercase
    // letter followed by an uppercase one (a CamelCase boundary).
    {
        let mut j = i;
        while j < n {
            if is_lower(ch(j)) && is_upper(ch(j + 1)) {
                return Some(j + 1);
            }
            if is_letter(ch(j)) {
                j += 1;
            } else if is_apos(ch(j)) && is_letter(ch(j + 1)) {
                j += 2;
                if is_lower(ch(j - 1)) && is_upper(ch(j)) {
                    return Some(j);
                }
            } else {
                break;
            }
        }
    }
    // \p{L}+(?:['‘’]\p{L})*
    if is_letter(ch(i)) {
        let mut j = i;
        while is_letter(ch(j)) {
            j += 1;
        }
        while is_apos(ch(j)) && is_letter(ch(j + 1)) {
            j += 2;
        }
        return Some(j);
    }
    // [^-_\p{L}'‘’\d]
    let c = ch(i);
    if !(matches!(c, Some('-' | '_')) || is_letter(c) || is_apos(c) || is_digit(c)) {
        return Some(i + 1);
    }
    // ['‘’]+$
    if is_apos(c) && i + apos_run(i) == n {
        return Some(n);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(String, &'static str, bool)> {
        tokenize(s).into_iter().map(|t| (t.text, t.tag, t.whitespace)).collect()
    }

    #[test]
    fn punctuation_and_tags() {
        let t = texts("Hello, world! I went to the U.S. (twice).");
        let words: Vec<&str> = t.iter().map(|(w, _, _)| w.as_str()).collect();
        assert_eq!(words, ["Hello", ",", "world", "!", "I", "went", "to", "the", "U.S.", "(", "twice", ")", "."]);
        let tags: Vec<&str> = t.iter().map(|(_, g, _)| *g).collect();
        assert_eq!(tags, ["", ",", "", ".", "PRP", "", "TO", "DT", "", "-LRB-", "", "-RRB-", "."]);
        assert!(!t[0].2 && t[1].2 && !t[11].2 && !t[12].2);
    }

    #[test]
    fn abbreviations_hyphens_numbers_quotes() {
        let words = |s| texts(s).into_iter().map(|(w, g, _)| format!("{w}/{g}")).collect::<Vec<_>>();
        assert_eq!(words("Dr. Smith's well-known 3-2 win"), ["Dr./", "Smith/", "'s/", "well/", "-/HYPH", "known/", "3/CD", "-/HYPH", "2/CD", "win/"]);
        assert_eq!(words("\"Yes,\" she said - $5.50 at 10km."), ["\"/``", "Yes/", ",/,", "\"/''", "she/", "said/", "-/:", "$/$", "5.50/CD", "at/IN", "10/CD", "km/", "./."]);
        assert_eq!(words("Wait... what?!"), ["Wait/", ".../:", "what/", "?/.", "!/."]);
        assert_eq!(words("Let 'em in 'cause (1990–)"), ["Let/", "'em/", "in/IN", "'cause/", "(/-LRB-", "1990/CD", "–/HYPH", ")/-RRB-"]);
        assert_eq!(words("Dr.Smith said ’hi’"), ["Dr./", "Smith/", "said/", "’/''", "hi/", "’/''"]);
        assert_eq!(words("(\"'Hi'\")"), ["(/-LRB-", "\"/``", "'/''", "Hi/", "'/''", "\"/''", ")/-RRB-"]);
        assert_eq!(words("We'll, should've, don't"), ["We/", "'ll/", ",/,", "should/", "'ve/", ",/,", "do/", "n't/"]);
    }

    #[test]
    fn subtokens_follow_misakis_regex() {
        assert_eq!(subtokenize("don't"), ["don't"]);
        assert_eq!(subtokenize("'twas"), ["'", "twas"]);
        assert_eq!(subtokenize("McDonald"), ["Mc", "Donald"]);
        assert_eq!(subtokenize("iPhone"), ["i", "Phone"]);
        assert_eq!(subtokenize("HTTPServer"), ["HTTPServer"]);
        assert_eq!(subtokenize("AbCDef"), ["Ab", "C", "Def"]);
        assert_eq!(subtokenize("rock'n'roll"), ["rock'n'r", "oll"]);
        assert_eq!(subtokenize("v1.2"), ["v", "1.2"]);
        assert_eq!(subtokenize("2.5.1"), ["2.5.1"]);
        assert_eq!(subtokenize("--5"), ["--", "5"]);
        assert_eq!(subtokenize("’90s"), ["’", "90", "s"]);
        assert_eq!(subtokenize("3.14"), ["3.14"]);
        assert_eq!(subtokenize("-5"), ["-5"]);
        assert_eq!(subtokenize("1,000,000"), ["1,000,000"]);
        assert_eq!(subtokenize("U.S."), ["U", ".", "S", "."]);
        assert_eq!(subtokenize("snake_case"), ["snake", "_", "case"]);
        assert_eq!(subtokenize("1990s"), ["1990", "s"]);
        assert_eq!(subtokenize("dogs'"), ["dogs", "'"]);
    }

    #[test]
    fn any_unicode_tokenizes() {
        for s in ["", " ", "🙂🙂", "שלום עולם", "e\u{301}\u{301}", "...", "--", "''", "a—b", "‘’’", "-", "+", "5-"] {
            let tokens = tokenize(s);
            let joined: String = tokens.iter().map(|t| t.text.as_str()).collect();
            assert_eq!(joined, s.split_whitespace().collect::<String>(), "{s:?}");
            for t in &tokens {
                let _ = subtokenize(&t.text);
            }
        }
    }
}
