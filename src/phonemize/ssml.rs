//! A small SSML reader: turns the subset of SSML a TTS front end needs into a flat list of
//! [`Span`]s in reading order.
//!
//! Hand-written rather than built on an XML crate so that it stays tiny and cannot be turned
//! against us: there are no DTDs, and the only references decoded are the five predefined
//! entities and numeric character references, so entity-expansion attacks are impossible.
//! Parsing is a single forward pass without recursion, linear in the input length.
//!
//! Elements: `speak` (the root), `phoneme`, `say-as`, `sub`, `break`, `prosody`, `p`, `s`, and
//! `emphasis`, `voice`, `lang`, `mark`, whose markup is ignored. Unknown attributes are ignored;
//! unknown elements are errors. A `<break time>` is capped at [`MAX_BREAK_MS`] (10 s) so one tag
//! cannot stall synthesis, and rates, both each `<prosody rate>` and their product, are clamped
//! to 0.25–4.0. Element nesting, `<speak>` included, is limited to [`MAX_DEPTH`] levels.

use crate::error::Error;
use crate::Result;

/// The deepest element nesting accepted; `<speak>` is level 1.
pub const MAX_DEPTH: usize = 64;
/// The longest pause a `<break time>` can ask for, in milliseconds.
pub const MAX_BREAK_MS: u32 = 10_000;
const MIN_RATE: f32 = 0.25;
const MAX_RATE: f32 = 4.0;
/// The pause of `<break/>` without attributes (strength "medium").
const DEFAULT_BREAK_MS: u32 = 400;

const ALPHABETS: [&str; 7] = ["ipa", "x-sampa", "xsampa", "arpabet", "cmu", "kirshenbaum", "misaki"];
const INTERPRET_AS: [&str; 13] = [
    "characters",
    "spell-out",
    "cardinal",
    "number",
    "ordinal",
    "digits",
    "date",
    "time",
    "telephone",
    "currency",
    "verbatim",
    "unit",
    "fraction",
];

/// One piece of the document, in reading order. `rate` is the product of the enclosing
/// `<prosody rate>` factors (1.0 outside any).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub kind: SpanKind,
    pub rate: f32,
    /// Byte offset in the input: the first character of a text run, the `<` of an element's
    /// start tag, or the `</` of the end tag that produced a [`SpanKind::Boundary`].
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpanKind {
    /// Entity-decoded character data; whitespace is kept as written.
    Text(String),
    /// `alphabet` is lowercased and defaults to "ipa".
    Phoneme {
        alphabet: String,
        ph: String,
        text: String,
    },
    /// `interpret_as` is lowercased.
    SayAs {
        interpret_as: String,
        format: Option<String>,
        detail: Option<String>,
        text: String,
    },
    Sub {
        alias: String,
        text: String,
    },
    Break {
        ms: u32,
    },
    /// End of a `<s>` or `<p>`: the synthesizer should end the sentence/paragraph here.
    Boundary {
        paragraph: bool,
    },
}

/// Parses an SSML document whose root is `<speak>`.
pub fn parse(input: &str) -> Result<Vec<Span>> {
    Parser { src: input, pos: 0, spans: Vec::new(), open: Vec::new(), sentence_starts: false }.document()
}

fn error(offset: usize, detail: impl Into<String>) -> Error {
    Error::Ssml { offset, detail: detail.into() }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    spans: Vec<Span>,
    /// Elements whose content is being read, outermost first (`<speak>` at the bottom).
    open: Vec<OpenElement<'a>>,
    /// Set at a `<p>` or `<s>` start tag, so the text before it is not merged with its content.
    sentence_starts: bool,
}

#[derive(Clone, Copy)]
struct OpenElement<'a> {
    name: &'a str,
    offset: usize,
    rate: f32,
    /// `Some(paragraph)` for `<p>`/`<s>`, which emit a boundary when they close.
    boundary: Option<bool>,
}

struct StartTag<'a> {
    name: &'a str,
    offset: usize,
    attributes: Vec<Attribute<'a>>,
    self_closing: bool,
}

struct Attribute<'a> {
    name: &'a str,
    offset: usize,
    value: String,
}

impl<'a> StartTag<'a> {
    fn attribute(&self, name: &str) -> Option<&Attribute<'a>> {
        self.attributes.iter().find(|a| a.name == name)
    }

    fn required(&self, name: &str) -> Result<&Attribute<'a>> {
        self.attribute(name).ok_or_else(|| error(self.offset, format!("<{}> needs the {name} attribute", self.name)))
    }
}

/// What starts at the current position.
enum Markup {
    Text,
    Comment,
    EndTag,
    StartTag,
    /// `<!DOCTYPE`, `<!ENTITY`, `<![CDATA[`: never supported.
    Declaration,
    /// `<?...?>`: only the XML declaration, and only before the root.
    Instruction,
}

impl<'a> Parser<'a> {
    fn document(mut self) -> Result<Vec<Span>> {
        if self.src.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        self.prolog()?;
        let root = self.start_tag()?;
        if root.name != "speak" {
            return Err(error(root.offset, format!("the root element must be <speak>, found <{}>", root.name)));
        }
        if !root.self_closing {
            self.open.push(OpenElement { name: "speak", offset: root.offset, rate: 1.0, boundary: None });
            self.content()?;
        }
        self.epilogue()?;
        Ok(self.spans)
    }

    /// Skips what may precede the root, stopping at its `<`.
    fn prolog(&mut self) -> Result<()> {
        let mut first = true;
        loop {
            self.skip_whitespace();
            if self.pos == self.src.len() {
                return Err(error(self.pos, "missing root <speak> element"));
            }
            match self.markup() {
                Markup::StartTag => return Ok(()),
                Markup::Comment => self.skip_comment()?,
                Markup::Instruction if first && self.at_xml_declaration() => {
                    let end = self.src[self.pos..]
                        .find("?>")
                        .ok_or_else(|| error(self.pos, "unterminated <?xml ...?> declaration"))?;
                    self.pos += end + 2;
                }
                Markup::Text => return Err(error(self.pos, "text before the root <speak> element")),
                Markup::EndTag => return Err(error(self.pos, "end tag before the root <speak> element")),
                Markup::Declaration | Markup::Instruction => return Err(self.unsupported_markup()),
            }
            first = false;
        }
    }

    /// Only whitespace and comments may follow the root.
    fn epilogue(&mut self) -> Result<()> {
        loop {
            self.skip_whitespace();
            if self.pos == self.src.len() {
                return Ok(());
            }
            match self.markup() {
                Markup::Comment => self.skip_comment()?,
                Markup::Text => return Err(error(self.pos, "text after the root </speak> element")),
                _ => return Err(error(self.pos, "markup after the root </speak> element")),
            }
        }
    }

    /// Reads the content of the open elements until the root closes.
    fn content(&mut self) -> Result<()> {
        while let Some(&innermost) = self.open.last() {
            if self.pos == self.src.len() {
                return Err(error(innermost.offset, format!("<{}> is never closed", innermost.name)));
            }
            match self.markup() {
                Markup::Text => {
                    let (offset, rate) = (self.pos, innermost.rate);
                    let mut text = String::new();
                    self.pos = decode_until(self.src, self.pos, b'<', &mut text)?;
                    // Adjacent text, even across comments and ignored markup, becomes one span.
                    match self.spans.last_mut() {
                        Some(Span { kind: SpanKind::Text(previous), rate: r, .. })
                            if *r == rate && !self.sentence_starts =>
                        {
                            previous.push_str(&text)
                        }
                        _ => self.spans.push(Span { kind: SpanKind::Text(text), rate, offset }),
                    }
                    self.sentence_starts = false;
                }
                Markup::Comment => self.skip_comment()?,
                Markup::EndTag => {
                    let (name, offset) = self.end_tag()?;
                    if name != innermost.name {
                        return Err(error(
                            offset,
                            format!(
                                "end tag </{name}> does not match <{}> opened at byte {}",
                                innermost.name, innermost.offset
                            ),
                        ));
                    }
                    let closed = self.open.pop();
                    if let Some(OpenElement { boundary: Some(paragraph), rate, .. }) = closed {
                        self.spans.push(Span { kind: SpanKind::Boundary { paragraph }, rate, offset });
                    }
                }
                Markup::StartTag => {
                    let tag = self.start_tag()?;
                    self.element(tag)?;
                }
                Markup::Declaration | Markup::Instruction => return Err(self.unsupported_markup()),
            }
        }
        Ok(())
    }

    /// Handles a start tag found inside `<speak>`.
    fn element(&mut self, tag: StartTag<'a>) -> Result<()> {
        if self.open.len() >= MAX_DEPTH {
            return Err(error(tag.offset, format!("elements nested deeper than {MAX_DEPTH} levels")));
        }
        let rate = self.open.last().map_or(1.0, |e| e.rate);
        let kind = match tag.name {
            "p" | "s" => {
                let paragraph = tag.name == "p";
                if tag.self_closing {
                    SpanKind::Boundary { paragraph }
                } else {
                    // what came before ends here too (a sentence boundary, no paragraph pause)
                    if self.spans.last().is_some_and(|s| !matches!(s.kind, SpanKind::Boundary { .. })) {
                        self.spans.push(Span { kind: SpanKind::Boundary { paragraph: false }, rate, offset: tag.offset });
                    }
                    self.sentence_starts = true;
                    self.open_element(&tag, rate, Some(paragraph));
                    return Ok(());
                }
            }
            "emphasis" | "voice" | "lang" => {
                self.open_element(&tag, rate, None);
                return Ok(());
            }
            "prosody" => {
                let rate = match tag.attribute("rate") {
                    Some(attr) => (rate * rate_factor(attr)?).clamp(MIN_RATE, MAX_RATE),
                    None => rate,
                };
                self.open_element(&tag, rate, None);
                return Ok(());
            }
            "mark" => {
                self.empty_content(&tag)?;
                return Ok(());
            }
            "break" => {
                let ms = break_ms(&tag)?;
                self.empty_content(&tag)?;
                SpanKind::Break { ms }
            }
            "phoneme" => {
                let ph = tag.required("ph")?.value.clone();
                let alphabet = match tag.attribute("alphabet") {
                    Some(attr) => one_of(attr, &ALPHABETS, "phoneme alphabet")?,
                    None => "ipa".to_owned(),
                };
                SpanKind::Phoneme { alphabet, ph, text: self.text_content(&tag)? }
            }
            "say-as" => {
                let interpret_as = one_of(tag.required("interpret-as")?, &INTERPRET_AS, "interpret-as")?;
                let format = tag.attribute("format").map(|a| a.value.clone());
                let detail = tag.attribute("detail").map(|a| a.value.clone());
                SpanKind::SayAs { interpret_as, format, detail, text: self.text_content(&tag)? }
            }
            "sub" => {
                let alias = tag.required("alias")?.value.clone();
                SpanKind::Sub { alias, text: self.text_content(&tag)? }
            }
            "speak" => return Err(error(tag.offset, "<speak> may only be the root element")),
            other => return Err(error(tag.offset, format!("unsupported element <{other}>"))),
        };
        self.spans.push(Span { kind, rate, offset: tag.offset });
        Ok(())
    }

    fn open_element(&mut self, tag: &StartTag<'a>, rate: f32, boundary: Option<bool>) {
        if !tag.self_closing {
            self.open.push(OpenElement { name: tag.name, offset: tag.offset, rate, boundary });
        }
    }

    /// Reads the content of an element that may hold only text, through its end tag.
    fn text_content(&mut self, tag: &StartTag<'a>) -> Result<String> {
        let mut text = String::new();
        if tag.self_closing {
            return Ok(text);
        }
        loop {
            if self.pos == self.src.len() {
                return Err(error(tag.offset, format!("<{}> is never closed", tag.name)));
            }
            match self.markup() {
                Markup::Text => self.pos = decode_until(self.src, self.pos, b'<', &mut text)?,
                Markup::Comment => self.skip_comment()?,
                Markup::EndTag => {
                    let (name, offset) = self.end_tag()?;
                    if name != tag.name {
                        return Err(error(
                            offset,
                            format!("end tag </{name}> does not match <{}> opened at byte {}", tag.name, tag.offset),
                        ));
                    }
                    return Ok(text);
                }
                Markup::StartTag => {
                    let nested = name_at(self.src, self.pos + 1).unwrap_or("?");
                    return Err(error(self.pos, format!("<{}> may contain only text, found <{nested}>", tag.name)));
                }
                Markup::Declaration | Markup::Instruction => return Err(self.unsupported_markup()),
            }
        }
    }

    /// Reads the content of an element that must be empty (whitespace and comments allowed).
    fn empty_content(&mut self, tag: &StartTag<'a>) -> Result<()> {
        if self.text_content(tag)?.trim_matches(is_xml_whitespace).is_empty() {
            Ok(())
        } else {
            Err(error(tag.offset, format!("<{}> must be empty", tag.name)))
        }
    }

    /// Reads a start tag at `<`, through its `>` or `/>`.
    fn start_tag(&mut self) -> Result<StartTag<'a>> {
        let offset = self.pos;
        self.pos += 1;
        let name = self.take_name().ok_or_else(|| error(self.pos, "expected an element name after '<'"))?;
        let mut attributes: Vec<Attribute<'a>> = Vec::new();
        loop {
            let had_whitespace = self.skip_whitespace();
            let rest = &self.src[self.pos..];
            if rest.is_empty() {
                return Err(error(offset, format!("unterminated tag <{name}>")));
            }
            if rest.starts_with('>') || rest.starts_with("/>") {
                let self_closing = rest.starts_with('/');
                self.pos += if self_closing { 2 } else { 1 };
                return Ok(StartTag { name, offset, attributes, self_closing });
            }
            let attribute_offset = self.pos;
            let attribute_name = match self.take_name() {
                Some(n) if had_whitespace => n,
                _ => {
                    let found = rest.chars().next().unwrap_or(' ');
                    return Err(error(
                        attribute_offset,
                        format!("unexpected {found:?} in tag <{name}>: expected an attribute, '>' or '/>'"),
                    ));
                }
            };
            if attributes.iter().any(|a| a.name == attribute_name) {
                return Err(error(attribute_offset, format!("duplicate attribute {attribute_name} in <{name}>")));
            }
            self.skip_whitespace();
            if !self.src[self.pos..].starts_with('=') {
                return Err(error(attribute_offset, format!("attribute {attribute_name} has no value")));
            }
            self.pos += 1;
            self.skip_whitespace();
            let quote = match self.src.as_bytes().get(self.pos) {
                Some(&q @ (b'"' | b'\'')) => q,
                Some(_) => {
                    return Err(error(self.pos, format!("the value of attribute {attribute_name} must be quoted")))
                }
                None => return Err(error(offset, format!("unterminated tag <{name}>"))),
            };
            let quote_offset = self.pos;
            let mut value = String::new();
            let stop = decode_until(self.src, self.pos + 1, quote, &mut value)?;
            match self.src.as_bytes().get(stop) {
                Some(&b) if b == quote => self.pos = stop + 1,
                Some(_) => {
                    return Err(error(stop, format!("'<' is not allowed in the value of attribute {attribute_name}")))
                }
                None => return Err(error(quote_offset, format!("unterminated value of attribute {attribute_name}"))),
            }
            attributes.push(Attribute { name: attribute_name, offset: attribute_offset, value });
        }
    }

    /// Reads an end tag at `</`, returning its name and offset.
    fn end_tag(&mut self) -> Result<(&'a str, usize)> {
        let offset = self.pos;
        self.pos += 2;
        let name = self.take_name().ok_or_else(|| error(self.pos, "expected an element name after '</'"))?;
        self.skip_whitespace();
        match self.src.as_bytes().get(self.pos) {
            Some(b'>') => {
                self.pos += 1;
                Ok((name, offset))
            }
            Some(_) => Err(error(self.pos, format!("expected '>' to end the end tag </{name}>"))),
            None => Err(error(offset, format!("unterminated end tag </{name}>"))),
        }
    }

    fn skip_comment(&mut self) -> Result<()> {
        let end = self.src[self.pos + 4..].find("-->").ok_or_else(|| error(self.pos, "unterminated comment"))?;
        self.pos += 4 + end + 3;
        Ok(())
    }

    fn unsupported_markup(&self) -> Error {
        if self.src[self.pos..].starts_with("<!") {
            error(self.pos, "DOCTYPE, ENTITY and CDATA declarations are not supported")
        } else {
            error(self.pos, "processing instructions are not supported (only <?xml ...?> before the root)")
        }
    }

    fn markup(&self) -> Markup {
        let rest = &self.src[self.pos..];
        if !rest.starts_with('<') {
            Markup::Text
        } else if rest.starts_with("<!--") {
            Markup::Comment
        } else if rest.starts_with("</") {
            Markup::EndTag
        } else if rest.starts_with("<!") {
            Markup::Declaration
        } else if rest.starts_with("<?") {
            Markup::Instruction
        } else {
            Markup::StartTag
        }
    }

    fn at_xml_declaration(&self) -> bool {
        let rest = &self.src.as_bytes()[self.pos..];
        rest.starts_with(b"<?xml") && matches!(rest.get(5), Some(b' ' | b'\t' | b'\r' | b'\n' | b'?'))
    }

    /// Returns whether any whitespace was skipped.
    fn skip_whitespace(&mut self) -> bool {
        let rest = &self.src[self.pos..];
        let skipped = rest.len() - rest.trim_start_matches(is_xml_whitespace).len();
        self.pos += skipped;
        skipped > 0
    }

    fn take_name(&mut self) -> Option<&'a str> {
        let name = name_at(self.src, self.pos)?;
        self.pos += name.len();
        Some(name)
    }
}

fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The XML name starting at `at`, if one does.
fn name_at(src: &str, at: usize) -> Option<&str> {
    let rest = src.get(at..)?;
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    if !(first.is_alphabetic() || first == '_' || first == ':') {
        return None;
    }
    let end = chars
        .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.')))
        .map_or(rest.len(), |(i, _)| i);
    Some(&rest[..end])
}

/// Appends the character data from `pos` to `out`, decoding references, up to the first
/// `terminator` or `<` (or the end); returns where it stopped.
fn decode_until(src: &str, mut pos: usize, terminator: u8, out: &mut String) -> Result<usize> {
    let bytes = src.as_bytes();
    loop {
        let run = bytes[pos..].iter().position(|&b| b == terminator || b == b'<' || b == b'&');
        let stop = run.map_or(bytes.len(), |n| pos + n);
        out.push_str(&src[pos..stop]);
        pos = stop;
        if bytes.get(pos) != Some(&b'&') {
            return Ok(pos);
        }
        let (decoded, len) = reference(src, pos)?;
        out.push(decoded);
        pos += len;
    }
}

/// Decodes the entity or character reference at the `&` at `at`: the character and the
/// reference's length in bytes.
fn reference(src: &str, at: usize) -> Result<(char, usize)> {
    let rest = &src.as_bytes()[at + 1..];
    let body_len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'#').count();
    if rest.get(body_len) != Some(&b';') {
        return Err(error(at, "'&' does not start a reference; write &amp; for a literal ampersand"));
    }
    // The body is ASCII, so slicing at its end stays on a character boundary.
    let body = &src[at + 1..at + 1 + body_len];
    let decoded = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let Some(number) = body.strip_prefix('#') else {
                return Err(error(
                    at,
                    format!("unknown entity &{body}; (only &lt; &gt; &amp; &quot; &apos; and &#...; are allowed)"),
                ));
            };
            let (digits, radix) = match number.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            let valid_digits = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
            let code = if valid_digits { u32::from_str_radix(digits, radix).ok() } else { None };
            match code.and_then(char::from_u32) {
                Some(c) if c != '\0' => c,
                _ => {
                    return Err(error(at, format!("&{body}; is not a valid character reference")));
                }
            }
        }
    };
    Ok((decoded, body_len + 2))
}

/// The attribute's value, lowercased, if it is one of `allowed`.
fn one_of(attribute: &Attribute<'_>, allowed: &[&str], what: &str) -> Result<String> {
    let value = attribute.value.to_ascii_lowercase();
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(error(
            attribute.offset,
            format!("unsupported {what} {:?}; expected one of {}", attribute.value, allowed.join(", ")),
        ))
    }
}

/// A non-negative decimal like `12`, `1.5` or `.5`; no signs, exponents, `inf` or `nan`.
fn parse_decimal(text: &str) -> Option<f64> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let dots = text.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != text.len() {
        return None;
    }
    text.parse().ok()
}

/// The pause of a `<break>`: `time` wins over `strength`; neither means "medium".
fn break_ms(tag: &StartTag<'_>) -> Result<u32> {
    let strength_ms = match tag.attribute("strength") {
        Some(attr) => Some(match attr.value.to_ascii_lowercase().trim_matches(is_xml_whitespace) {
            "none" => 0,
            "x-weak" => 100,
            "weak" => 200,
            "medium" => 400,
            "strong" => 700,
            "x-strong" => 1000,
            _ => {
                return Err(error(
                    attr.offset,
                    format!("break strength {:?} must be none, x-weak, weak, medium, strong or x-strong", attr.value),
                ))
            }
        }),
        None => None,
    };
    let Some(attr) = tag.attribute("time") else {
        return Ok(strength_ms.unwrap_or(DEFAULT_BREAK_MS));
    };
    let time = attr.value.to_ascii_lowercase();
    let time = time.trim_matches(is_xml_whitespace);
    let (number, ms_per_unit) = match time.strip_suffix("ms") {
        Some(number) => (number, 1.0),
        None => (time.strip_suffix('s').unwrap_or(""), 1000.0),
    };
    let ms = parse_decimal(number.trim_end_matches(is_xml_whitespace)).ok_or_else(|| {
        error(attr.offset, format!("break time {:?} must be a number and ms or s, like 500ms or 1.5s", attr.value))
    })?;
    // Capped before the conversion, so huge values cannot overflow.
    Ok((ms * ms_per_unit).min(f64::from(MAX_BREAK_MS)).round() as u32)
}

/// The speed factor of a `<prosody rate>`, clamped to [MIN_RATE, MAX_RATE].
fn rate_factor(attr: &Attribute<'_>) -> Result<f32> {
    let value = attr.value.to_ascii_lowercase();
    let value = value.trim_matches(is_xml_whitespace);
    let factor = match value {
        "x-slow" => Some(0.5),
        "slow" => Some(0.75),
        "medium" | "default" => Some(1.0),
        "fast" => Some(1.25),
        "x-fast" => Some(1.75),
        _ => match value.strip_suffix('%') {
            // "+20%" and "-10%" are relative changes, "150%" is absolute.
            Some(percent) => match percent.as_bytes().first() {
                Some(b'+') => parse_decimal(&percent[1..]).map(|p| 1.0 + p / 100.0),
                Some(b'-') => parse_decimal(&percent[1..]).map(|p| 1.0 - p / 100.0),
                _ => parse_decimal(percent).map(|p| p / 100.0),
            },
            None => parse_decimal(value),
        },
    };
    let factor = factor.ok_or_else(|| {
        error(
            attr.offset,
            format!(
                "prosody rate {:?} must be x-slow, slow, medium, fast, x-fast, default, \
                 a percentage like 150% or +20%, or a number like 1.2",
                attr.value
            ),
        )
    })?;
    Ok((factor as f32).clamp(MIN_RATE, MAX_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(input: &str) -> Vec<Span> {
        parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
    }

    fn kinds(input: &str) -> Vec<SpanKind> {
        spans(input).into_iter().map(|s| s.kind).collect()
    }

    fn text(s: &str) -> SpanKind {
        SpanKind::Text(s.to_owned())
    }

    /// Checks that `input` fails at byte `offset` with a message containing each of `words`.
    fn assert_error(input: &str, offset: usize, words: &[&str]) {
        match parse(input) {
            Err(Error::Ssml { offset: got, detail }) => {
                assert_eq!(got, offset, "{input:?}: wrong offset for {detail:?}");
                for word in words {
                    assert!(detail.contains(word), "{input:?}: {detail:?} should mention {word:?}");
                }
            }
            other => panic!("{input:?} should fail at byte {offset}, got {other:?}"),
        }
    }

    /// The rates of the spans, in order.
    fn rates(input: &str) -> Vec<f32> {
        spans(input).iter().map(|s| s.rate).collect()
    }

    fn assert_rates(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn plain_text() {
        assert_eq!(spans("<speak>Hello</speak>"), [Span { kind: text("Hello"), rate: 1.0, offset: 7 }]);
        assert_eq!(spans("<speak/>"), []);
        assert_eq!(spans("<speak></speak>"), []);
    }

    #[test]
    fn prolog_and_epilogue() {
        let input = "\u{feff} <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n<speak version=\"1.1\" \
                     xmlns=\"http://www.w3.org/2001/10/synthesis\" xml:lang='en-US'>Hi</speak>\n<!-- end --> \n";
        let offset = input.find("Hi").unwrap();
        assert_eq!(spans(input), [Span { kind: text("Hi"), rate: 1.0, offset }]);
        assert_eq!(kinds("<?xml version='1.0'?><speak>a</speak>"), [text("a")]);
    }

    #[test]
    fn text_is_merged_and_whitespace_kept() {
        let input = "<speak>a<!-- x -->b<emphasis level=\"strong\">c</emphasis>&amp;d<mark name=\"m\"/>e\
                     <voice name=\"af\"><lang xml:lang=\"fr\">f</lang></voice><prosody pitch=\"high\" \
                     volume=\"loud\">g</prosody><mark name='n'></mark></speak>";
        assert_eq!(spans(input), [Span { kind: text("abc&defg"), rate: 1.0, offset: 7 }]);
        assert_eq!(kinds("<speak>\r\n  two  spaces\t\n</speak>"), [text("\r\n  two  spaces\t\n")]);
        // Non-ASCII text: offsets are in bytes.
        let input = "<speak>héllo<break/>wörld</speak>";
        let got = spans(input);
        assert_eq!(got[1].offset, input.find("<break").unwrap());
        assert_eq!(got[2], Span { kind: text("wörld"), rate: 1.0, offset: input.find('w').unwrap() });
    }

    #[test]
    fn entities() {
        assert_eq!(
            kinds("<speak>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;&#233;</speak>"),
            [text("<>&\"'AB\u{1F600}é")]
        );
        assert_eq!(
            kinds("<speak><sub alias=\"&lt;b&gt; &#x26; &quot;c&apos;\">&amp;</sub></speak>"),
            [SpanKind::Sub { alias: "<b> & \"c'".into(), text: "&".into() }]
        );
        // A '>' in text and the other quote inside a value are plain characters.
        assert_eq!(
            kinds("<speak>a > b<sub alias='say \"x\"'>y</sub></speak>"),
            [text("a > b"), SpanKind::Sub { alias: "say \"x\"".into(), text: "y".into() }]
        );
    }

    #[test]
    fn phoneme() {
        let input = "<speak>I say <phoneme alphabet=\"X-SAMPA\" ph=\"t@\\m&lt;\">tomato</phoneme>.</speak>";
        assert_eq!(
            spans(input),
            [
                Span { kind: text("I say "), rate: 1.0, offset: 7 },
                Span {
                    kind: SpanKind::Phoneme { alphabet: "x-sampa".into(), ph: "t@\\m<".into(), text: "tomato".into() },
                    rate: 1.0,
                    offset: 13,
                },
                Span { kind: text("."), rate: 1.0, offset: input.find('.').unwrap() },
            ]
        );
        assert_eq!(
            kinds("<speak><phoneme ph=\"təˈmeɪtoʊ\">to<!-- c -->mato</phoneme><phoneme ph='x'/></speak>"),
            [
                SpanKind::Phoneme { alphabet: "ipa".into(), ph: "təˈmeɪtoʊ".into(), text: "tomato".into() },
                SpanKind::Phoneme { alphabet: "ipa".into(), ph: "x".into(), text: String::new() },
            ]
        );
        for alphabet in ["ipa", "x-sampa", "xsampa", "arpabet", "cmu", "kirshenbaum", "misaki"] {
            let input = format!("<speak><phoneme alphabet='{alphabet}' ph='a'> a </phoneme></speak>");
            let want = SpanKind::Phoneme { alphabet: alphabet.into(), ph: "a".into(), text: " a ".into() };
            assert_eq!(kinds(&input), [want]);
        }
    }

    #[test]
    fn say_as() {
        assert_eq!(
            kinds("<speak><say-as interpret-as=\"Date\" format=\"mdy\" detail=\"2\">1/2/2000</say-as></speak>"),
            [SpanKind::SayAs {
                interpret_as: "date".into(),
                format: Some("mdy".into()),
                detail: Some("2".into()),
                text: "1/2/2000".into()
            }]
        );
        for kind in INTERPRET_AS {
            let input = format!("<speak><say-as interpret-as='{kind}'>12</say-as></speak>");
            let want = SpanKind::SayAs { interpret_as: kind.into(), format: None, detail: None, text: "12".into() };
            assert_eq!(kinds(&input), [want]);
        }
    }

    #[test]
    fn sub() {
        assert_eq!(
            spans("<speak><sub alias=\"World Wide Web\">WWW</sub></speak>"),
            [Span { kind: SpanKind::Sub { alias: "World Wide Web".into(), text: "WWW".into() }, rate: 1.0, offset: 7 }]
        );
    }

    #[test]
    fn breaks() {
        let ms = |attributes: &str| match kinds(&format!("<speak><break {attributes}/></speak>"))[..] {
            [SpanKind::Break { ms }] => ms,
            ref other => panic!("{attributes}: {other:?}"),
        };
        assert_eq!(ms(""), 400);
        assert_eq!(ms("time=\"500ms\""), 500);
        assert_eq!(ms("time=\"1.5s\""), 1500);
        assert_eq!(ms("time=\"2s\""), 2000);
        assert_eq!(ms("time=\" 250 MS \""), 250);
        assert_eq!(ms("time=\"0ms\""), 0);
        assert_eq!(ms("time=\".25s\""), 250);
        assert_eq!(ms("time=\"60s\""), 10_000);
        assert_eq!(ms("time=\"10001ms\""), 10_000);
        assert_eq!(ms("time=\"99999999999999999999999999999999999999s\""), 10_000);
        for (strength, want) in
            [("none", 0), ("x-weak", 100), ("weak", 200), ("medium", 400), ("strong", 700), ("x-strong", 1000)]
        {
            assert_eq!(ms(&format!("strength='{strength}'")), want);
        }
        assert_eq!(ms("strength=\"x-strong\" time=\"300ms\""), 300);
        assert_eq!(ms("time=\"300ms\" strength=\"none\""), 300);
        assert_eq!(kinds("<speak><break time='1s'> <!-- c --> </break></speak>"), [SpanKind::Break { ms: 1000 }]);
        let input = "<speak>a<break time='1s'/>b</speak>";
        assert_eq!(
            spans(input),
            [
                Span { kind: text("a"), rate: 1.0, offset: 7 },
                Span { kind: SpanKind::Break { ms: 1000 }, rate: 1.0, offset: 8 },
                Span { kind: text("b"), rate: 1.0, offset: input.find("/>b").unwrap() + 2 },
            ]
        );
    }

    #[test]
    fn prosody_rates() {
        let rate = |value: &str| rates(&format!("<speak><prosody rate=\"{value}\">x</prosody></speak>"))[0];
        for (value, want) in [
            ("x-slow", 0.5),
            ("slow", 0.75),
            ("medium", 1.0),
            ("fast", 1.25),
            ("x-fast", 1.75),
            ("default", 1.0),
            ("FAST", 1.25),
            ("150%", 1.5),
            ("+20%", 1.2),
            ("-10%", 0.9),
            ("1.2", 1.2),
            (" 2 ", 2.0),
            ("10", 4.0),
            ("5%", 0.25),
            ("-200%", 0.25),
            ("0", 0.25),
        ] {
            assert!((rate(value) - want).abs() < 1e-6, "{value}: {} != {want}", rate(value));
        }
        // Nested rates multiply and unwind; boundaries and atoms carry the rate they are in.
        let input = "<speak>a<prosody rate=\"150%\">b<prosody rate=\"fast\" pitch=\"+2st\">c<s>d</s>\
                     <break/></prosody>e<prosody volume=\"loud\">f<sub alias='g'>h</sub></prosody></prosody>i</speak>";
        assert_eq!(
            kinds(input),
            [
                text("a"),
                text("b"),
                text("c"),
                SpanKind::Boundary { paragraph: false },
                text("d"),
                SpanKind::Boundary { paragraph: false },
                SpanKind::Break { ms: 400 },
                text("ef"),
                SpanKind::Sub { alias: "g".into(), text: "h".into() },
                text("i"),
            ]
        );
        assert_rates(&rates(input), &[1.0, 1.5, 1.875, 1.875, 1.875, 1.875, 1.875, 1.5, 1.5, 1.0]);
        // The product is clamped too.
        let input = "<speak><prosody rate='4'><prosody rate='4'>a</prosody></prosody>\
                     <prosody rate='x-slow'><prosody rate='x-slow'><prosody rate='x-slow'>b</prosody></prosody></prosody></speak>";
        assert_rates(&rates(input), &[4.0, 0.25]);
    }

    #[test]
    fn sentences_and_paragraphs() {
        let input = "<speak><p><s>One.</s><s>Two.</s></p><p>Three.</p><p/><s/></speak>";
        let at = |needle: &str| input.find(needle).unwrap();
        let boundary = |paragraph, offset| Span { kind: SpanKind::Boundary { paragraph }, rate: 1.0, offset };
        assert_eq!(
            spans(input),
            [
                Span { kind: text("One."), rate: 1.0, offset: at("One") },
                boundary(false, at("</s>")),
                Span { kind: text("Two."), rate: 1.0, offset: at("Two") },
                boundary(false, at("</s></p>")),
                boundary(true, at("</p>")),
                Span { kind: text("Three."), rate: 1.0, offset: at("Three") },
                boundary(true, at("</p><p/>")),
                boundary(true, at("<p/>")),
                boundary(false, at("<s/>")),
            ]
        );
        assert_eq!(kinds("<speak><p >a</p\n></speak >"), [text("a"), SpanKind::Boundary { paragraph: true }]);
        // Text before a sentence ends where the sentence starts.
        assert_eq!(
            kinds("<speak>Hello<p>World<emphasis>!</emphasis></p></speak>"),
            [text("Hello"), SpanKind::Boundary { paragraph: false }, text("World!"), SpanKind::Boundary { paragraph: true }]
        );
    }

    #[test]
    fn nesting_limit() {
        let nested = |depth: usize| {
            format!("<speak>{}x{}</speak>", "<emphasis>".repeat(depth - 1), "</emphasis>".repeat(depth - 1))
        };
        assert_eq!(kinds(&nested(MAX_DEPTH)), [text("x")]);
        let too_deep = nested(MAX_DEPTH + 1);
        assert_error(&too_deep, 7 + (MAX_DEPTH - 1) * "<emphasis>".len(), &["deeper than 64"]);
        // A self-closing element one level too deep counts too.
        let leaf = format!("<speak>{}<break/></speak>", "<s>".repeat(MAX_DEPTH - 1));
        assert_error(&leaf, 7 + (MAX_DEPTH - 1) * 3, &["deeper"]);
        // Far deeper input fails the same way, without recursion.
        assert_error(&"<speak>".repeat(1_000_000), 7, &["<speak> may only be the root"]);
        assert_error(&format!("<speak>{}", "<p>".repeat(1_000_000)), 7 + (MAX_DEPTH - 1) * 3, &["deeper"]);
    }

    #[test]
    fn structure_errors() {
        assert_error("", 0, &["missing root"]);
        assert_error(" \n\t", 3, &["missing root"]);
        assert_error("<!-- c -->", 10, &["missing root"]);
        assert_error("hi<speak/>", 0, &["text before the root"]);
        assert_error("</speak>", 0, &["end tag before the root"]);
        assert_error("<p>x</p>", 0, &["root element must be <speak>", "<p>"]);
        assert_error("<Speak/>", 0, &["<Speak>"]);
        assert_error("<speak>a<audio src='x'/></speak>", 8, &["unsupported element <audio>"]);
        assert_error("<speak><amazon:effect>a</amazon:effect></speak>", 7, &["<amazon:effect>"]);
        assert_error("<speak><speak/></speak>", 7, &["only be the root"]);
        assert_error("<speak>x</speak>y", 16, &["text after the root"]);
        assert_error("<speak></speak>\n<speak/>", 16, &["markup after the root"]);
        assert_error("<speak/></speak>", 8, &["markup after the root"]);
        assert_error("<speak/><!-- a --><?xml version='1.0'?>", 18, &["markup after the root"]);
        // Unclosed tags and elements.
        assert_error("<speak><break time='1s'", 7, &["unterminated tag <break>"]);
        assert_error("<speak", 0, &["unterminated tag <speak>"]);
        assert_error("<speak><break time=", 7, &["unterminated tag <break>"]);
        assert_error("<speak><sub alias=\"abc", 18, &["unterminated value of attribute alias"]);
        assert_error("<speak>hi", 0, &["<speak> is never closed"]);
        assert_error("<speak><p>hi<s>x</s>", 7, &["<p> is never closed"]);
        assert_error("<speak><phoneme ph='a'>hi", 7, &["<phoneme> is never closed"]);
        assert_error("<speak>hi</speak", 9, &["unterminated end tag </speak>"]);
        assert_error("<speak>hi</speak x>", 17, &["expected '>'", "</speak>"]);
        assert_error("<speak>hi</ speak>", 11, &["element name after '</'"]);
        assert_error("<speak>< p>x</p></speak>", 8, &["element name after '<'"]);
        assert_error("<speak>a < b</speak>", 10, &["element name after '<'"]);
        // Mismatched end tags name both elements.
        assert_error("<speak><p>hi</s></speak>", 12, &["</s>", "<p>", "byte 7"]);
        assert_error("<speak><sub alias='a'>hi</p></speak>", 24, &["</p>", "<sub>"]);
        assert_error("<speak>hi</speek>", 9, &["</speek>", "<speak>"]);
        // Comments, declarations and processing instructions.
        assert_error("<speak><!-- x</speak>", 7, &["unterminated comment"]);
        assert_error("<!-- x", 0, &["unterminated comment"]);
        assert_error("<speak><phoneme ph='a'><!-- x</phoneme></speak>", 23, &["unterminated comment"]);
        assert_error("<?xml version='1.0'", 0, &["unterminated <?xml"]);
        assert_error("<!DOCTYPE speak [<!ENTITY a \"b\">]><speak>&a;</speak>", 0, &["DOCTYPE"]);
        assert_error("<speak><!ENTITY a \"b\"></speak>", 7, &["ENTITY"]);
        assert_error("<speak><![CDATA[x]]></speak>", 7, &["CDATA"]);
        assert_error("<speak><?foo bar?></speak>", 7, &["processing instructions"]);
        assert_error("<speak><?xml version='1.0'?></speak>", 7, &["processing instructions"]);
        assert_error("<!-- c --><?xml version='1.0'?><speak/>", 10, &["processing instructions"]);
        assert_error("<?xml-stylesheet href='a'?><speak/>", 0, &["processing instructions"]);
    }

    #[test]
    fn attribute_errors() {
        assert_error("<speak><break time=\"1s\" time=\"2s\"/></speak>", 24, &["duplicate attribute time", "<break>"]);
        assert_error("<speak a='1' a='1'/>", 13, &["duplicate attribute a"]);
        assert_error("<speak><break time=1s/></speak>", 19, &["must be quoted", "time"]);
        assert_error("<speak><break time/></speak>", 14, &["attribute time has no value"]);
        assert_error("<speak><sub alias=\"a<b\">x</sub></speak>", 20, &["'<' is not allowed", "alias"]);
        assert_error("<speak><break time=\"1s\"strength=\"weak\"/></speak>", 23, &["unexpected 's'"]);
        assert_error("<speak\"x\">", 6, &["unexpected '\"'"]);
        assert_error("<speak><break / ></speak>", 14, &["unexpected '/'"]);
        assert_error("<speak><break ©='1'/></speak>", 14, &["unexpected '©'"]);
        // Required attributes are reported at the start tag, bad values at the attribute.
        assert_error("<speak><phoneme>x</phoneme></speak>", 7, &["<phoneme> needs the ph attribute"]);
        assert_error("<speak><phoneme ph='a' alphabet='klingon'>x</phoneme></speak>", 23, &["alphabet", "klingon"]);
        assert_error("<speak><say-as>x</say-as></speak>", 7, &["<say-as> needs the interpret-as attribute"]);
        assert_error("<speak><say-as interpret-as='color'>x</say-as></speak>", 15, &["interpret-as", "color"]);
        assert_error("<speak><sub>x</sub></speak>", 7, &["<sub> needs the alias attribute"]);
        assert_error("<speak><break time='fast'/></speak>", 14, &["break time \"fast\""]);
        assert_error("<speak><break time='500'/></speak>", 14, &["break time"]);
        assert_error("<speak><break time='-1s'/></speak>", 14, &["break time"]);
        assert_error("<speak><break time='1e3ms'/></speak>", 14, &["break time"]);
        assert_error("<speak><break time='infs'/></speak>", 14, &["break time"]);
        assert_error("<speak><break time='1..5s'/></speak>", 14, &["break time"]);
        assert_error("<speak><break time='1s' strength='loud'/></speak>", 24, &["break strength \"loud\""]);
        for rate in ["quick", "+20", "1.2.3", "%", "+%", "nan", "1e2", "--10%"] {
            let input = format!("<speak><prosody rate='{rate}'>x</prosody></speak>");
            assert_error(&input, 16, &["prosody rate"]);
        }
    }

    #[test]
    fn content_errors() {
        assert_error(
            "<speak><phoneme ph='x'>a<emphasis>b</emphasis></phoneme></speak>",
            24,
            &["<phoneme>", "<emphasis>"],
        );
        assert_error("<speak><say-as interpret-as='digits'><break/></say-as></speak>", 37, &["only text", "<break>"]);
        assert_error("<speak><sub alias='a'><sub alias='b'>c</sub></sub></speak>", 22, &["only text"]);
        assert_error("<speak><break>x</break></speak>", 7, &["<break> must be empty"]);
        assert_error("<speak><mark name='a'>x</mark></speak>", 7, &["<mark> must be empty"]);
        assert_error("<speak><break><s/></break></speak>", 14, &["<break>", "<s>"]);
    }

    #[test]
    fn reference_errors() {
        assert_error("<speak>AT&T</speak>", 9, &["&amp;"]);
        assert_error("<speak>a & b</speak>", 9, &["&amp;"]);
        assert_error("<speak>&</speak>", 7, &["&amp;"]);
        assert_error("<speak>&amp</speak>", 7, &["&amp;"]);
        assert_error("<speak>x&foo;</speak>", 8, &["unknown entity &foo;"]);
        assert_error("<speak>&nbsp;</speak>", 7, &["unknown entity &nbsp;"]);
        assert_error("<speak>&AMP;</speak>", 7, &["unknown entity"]);
        assert_error("<speak>&#0;</speak>", 7, &["&#0;"]);
        assert_error("<speak>&#x0;</speak>", 7, &["&#x0;"]);
        assert_error("<speak>&#xD800;</speak>", 7, &["&#xD800;"]);
        assert_error("<speak>&#x110000;</speak>", 7, &["not a valid character"]);
        assert_error("<speak>&#99999999999999999999;</speak>", 7, &["not a valid character"]);
        assert_error("<speak>&#;</speak>", 7, &["not a valid character"]);
        assert_error("<speak>&#x;</speak>", 7, &["not a valid character"]);
        assert_error("<speak>&#12a;</speak>", 7, &["not a valid character"]);
        assert_error("<speak>&#X41;</speak>", 7, &["not a valid character"]);
        assert_error("<speak>&#+65;</speak>", 7, &["&amp;"]);
        assert_error("<speak><sub alias='a&b'>c</sub></speak>", 20, &["&amp;"]);
        assert_error("<speak><sub alias='&lt;&bogus;'>c</sub></speak>", 23, &["&bogus;"]);
        assert_error("<speak><phoneme ph='a'>&x;</phoneme></speak>", 23, &["&x;"]);
    }

    #[test]
    fn megabyte_document() {
        let chunk = "<s>Hello &amp; <emphasis>world</emphasis><break time=\"200ms\"/></s>\n";
        let repeats = (1 << 20) / chunk.len() + 1;
        let input = format!("<speak>{}</speak>", chunk.repeat(repeats));
        let got = spans(&input);
        // every <s> after the first also ends the "\n" before it
        assert_eq!(got.len(), 5 * repeats - 1);
        assert_eq!(got[0].kind, text("Hello & world"));
        assert_eq!(got[3], Span { kind: text("\n"), rate: 1.0, offset: 7 + chunk.len() - 1 });
        assert_eq!(got[4].kind, SpanKind::Boundary { paragraph: false });
        assert_eq!(got[5].kind, text("Hello & world"));
        assert_eq!(got[5 * repeats - 4].kind, SpanKind::Break { ms: 200 });
        assert_eq!(got[5 * repeats - 2].kind, text("\n"));
        // One megabyte of plain text is one span.
        let input = format!("<speak>{}</speak>", "a&lt;".repeat(200_000));
        assert_eq!(kinds(&input), [text(&"a<".repeat(200_000))]);
    }

    /// Checks what holds for any input: spans and errors point at character boundaries inside it.
    fn check_offsets(input: &str) {
        match parse(input) {
            Ok(spans) => {
                for span in spans {
                    assert!(span.offset < input.len() && input.is_char_boundary(span.offset), "{input:?}: {span:?}");
                    assert!((MIN_RATE..=MAX_RATE).contains(&span.rate), "{input:?}: {span:?}");
                }
            }
            Err(Error::Ssml { offset, .. }) => {
                assert!(offset <= input.len() && input.is_char_boundary(offset), "{input:?}: offset {offset}");
            }
            Err(other) => panic!("{input:?}: unexpected error kind {other:?}"),
        }
    }

    #[test]
    fn random_mutations_never_panic() {
        let valid = "<?xml version=\"1.0\"?>\n<!-- intro --><speak version=\"1.1\" xml:lang=\"en-US\">\
                     <p><s>Hé said &quot;hi&quot; &#x1F600;</s><s><prosody rate=\"+20%\" pitch=\"low\">fast \
                     <phoneme alphabet=\"ipa\" ph=\"təˈmɑtoʊ\">tomato</phoneme></prosody></s></p>\
                     <break strength=\"weak\" time=\"1.5s\"/><say-as interpret-as=\"date\" format=\"mdy\">1/2/3</say-as>\
                     <sub alias=\"W3C\">World &amp; Web</sub><emphasis><voice name=\"a\">x</voice></emphasis>\
                     <mark name=\"m\"/><lang xml:lang=\"fr\">oui</lang></speak>\n";
        check_offsets(valid);
        assert!(parse(valid).is_ok());
        let interesting = b"<>&;#x\"'/=!-?  s\xc3\xa9\xff0";
        let mut rng = crate::phonemize::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut next = move |bound: usize| rng.below(bound);
        let (mut ok, mut failed) = (0, 0);
        for _ in 0..20_000 {
            let mut bytes = valid.as_bytes().to_vec();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len() + 1);
                match next(5) {
                    0 if at < bytes.len() => bytes[at] ^= 1 << next(8),
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, interesting[next(interesting.len())]),
                    3 => bytes.truncate(at),
                    _ => {
                        let from = next(bytes.len() + 1);
                        let len = next(20).min(bytes.len() - from);
                        let copy = bytes[from..from + len].to_vec();
                        bytes.splice(at..at, copy);
                    }
                }
            }
            let input = String::from_utf8_lossy(&bytes);
            check_offsets(&input);
            if parse(&input).is_ok() {
                ok += 1;
            } else {
                failed += 1;
            }
        }
        // Both outcomes must occur, or the mutations are not exercising the parser.
        assert!(ok > 100 && failed > 100, "ok {ok}, failed {failed}");
    }
}
