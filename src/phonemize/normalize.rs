//! Text normalization ahead of the phonemizer. It spells out what misaki reads badly or not at
//! all: clock times, dates, telephone numbers, numeric ranges, fractions, units, "$5M"-style
//! amounts and yen, abbreviations, roman numerals, URLs, e-mail addresses and "#" forms. What
//! misaki already reads (plain and comma-grouped integers, decimals, "-5", "21st", "$5.50",
//! "5%", years, "1990s") stays byte for byte, and so does anything whose reading the context
//! does not make clear.
//!
//! Readings chosen where English offers several:
//! - Times: "3:30" → "three thirty", "10:05" → "ten oh five", "7:00" → "seven o'clock";
//!   hours 0 and 13–23 are 24-hour times: "15:45" → "fifteen forty-five", "15:00" → "fifteen
//!   hundred", "00:30" → "zero thirty". With am/pm ("3pm", "3 P.M.", "10:30am") the marker is
//!   written "a.m."/"p.m." and ":00" is dropped: "7:00 pm" → "seven p.m.". "h:mm:ss" stays.
//! - Dates need a valid day: US "January fifth, twenty twenty-four", GB "the fifth of January,
//!   twenty twenty-four"; "1/5/2024" is month first in US, day first in GB.
//! - Abbreviations misaki's lexicon already reads with their period ("Mrs.", "Ms.", "etc.",
//!   and "Dr." when it is not a street) are left alone; "Mr." and "Dr." before a name become
//!   "Mister"/"Doctor", which read the same, and "the Dr." is "the doctor".
//! - Digits stay digits where misaki reads them well: "10-20" → "10 to 20", "$5M" → "5 million
//!   dollars", "5km" → "5 kilometers", "Rated 4/5" → "Rated 4 out of 5".
//! - Scores ("lost 2-3"), ratios ("1:10 scale") and initials ("Louis V. Gerstner") stay.
//! - Telephone numbers are read digit by digit in their groups, 0 as "oh": "555-123-4567",
//!   "+44 (0)20 7946 0958" (the trunk "(0)" dropped), "ext. 204". Shorter or spaced forms
//!   ("555-1234", "555 123 4567", "911") only after a word like "call", "phone" or "at".

use super::numbers;
use std::ops::Range;

/// A stretch of the text to phonemize and the bytes of the input it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub text: String,
    pub source: Range<usize>,
    pub normalized: bool,
}

/// Splits `text` into pieces whose concatenation is the text to phonemize. Unchanged stretches
/// have normalized=false and text == &input[source]; expansions have normalized=true.
pub fn normalize(text: &str, british: bool) -> Vec<Piece> {
    Normalizer { text, tokens: lex(text), british }.run()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run of letters.
    Word,
    /// A run of ASCII digits.
    Digits,
    Space,
    /// Any other single character.
    Symbol,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn lex(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    for (start, c) in text.char_indices() {
        let kind = if c.is_alphabetic() {
            Kind::Word
        } else if c.is_ascii_digit() {
            Kind::Digits
        } else if c.is_whitespace() {
            Kind::Space
        } else {
            Kind::Symbol
        };
        let end = start + c.len_utf8();
        match tokens.last_mut() {
            Some(last) if last.kind == kind && kind != Kind::Symbol => last.end = end,
            _ => tokens.push(Token { kind, start, end }),
        }
    }
    tokens
}

/// A rule's match: the tokens from where it matched up to `end` (exclusive) read as `text`.
struct Expansion {
    end: usize,
    text: String,
}

fn expansion(end: usize, text: impl Into<String>) -> Option<Expansion> {
    Some(Expansion { end, text: text.into() })
}

/// What may come right before a number or an abbreviation for it to be read on its own.
const OPENERS: &str = "([{\"“‘«—~";
/// Punctuation after which a number continues ("3.5", "1,000", "5-7", "1/2", "3:30").
const NUMBER_JOINERS: &str = ".,:/-–'’";
const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
];
/// Digit names in telephone numbers.
const PHONE_DIGITS: [&str; 10] = ["oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
/// Words a few words before "555-1234" or "555 123 4567" that make it a telephone number.
const PHONE_WORDS: &[&str] = &[
    "call", "calls", "called", "calling", "dial", "dialed", "dialled", "dialing", "dialling", "phone", "phoned",
    "telephone", "tel", "ph", "fax", "text", "texting", "cell", "mobile", "reach", "number", "at",
];
/// Phone words that also come before decimals ("closed at 555.1234"): not enough for "555.1234".
const WEAK_PHONE_WORDS: &[&str] = &["number", "at"];
/// Words right before "911" or "999" that make it a telephone number.
const DIAL_WORDS: &[&str] = &["call", "calls", "called", "calling", "dial", "dialed", "dialled", "dialing", "dialling"];
/// Three-digit emergency and service numbers: "call 911", "dial 999"; not "call 100 people".
const SERVICE_NUMBERS: &[&str] =
    &["000", "101", "110", "111", "112", "119", "211", "311", "411", "511", "611", "711", "811", "911", "999"];
/// How an extension is introduced after a telephone number: "ext. 204", "x204".
const EXTENSION_WORDS: &[&str] = &["ext", "Ext", "EXT", "extension", "Extension", "x", "X"];
const ORDINAL_SUFFIXES: [&str; 4] = ["st", "nd", "rd", "th"];
/// Denominators read as fractions; others ("9/11", "7/11") are more often names or dates.
const FRACTION_DENOMINATORS: [u32; 16] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 20, 32, 64, 100, 1000];

/// When an abbreviation is expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Anywhere.
    Always,
    /// Anywhere, and never the end of a sentence: "Lakers vs. Celtics".
    Between,
    /// Before a capitalized name: "Prof. Smith".
    Title,
    /// After a capitalized word: "Smith Jr.", "Acme Inc.", "Smith & Co.".
    AfterName,
    /// After a street name: "Park Ave.", "5th Ave.".
    Street,
    /// Before a number: "No. 5".
    BeforeNumber,
    /// Before a four-digit year: "est. 1990".
    BeforeYear,
    /// Before a date: "Mon., Jan. 5", "Fri. 12".
    BeforeDate,
    /// A month next to a number or after "in", "since"...: "in Jan.", "Jan. 2024", but "I met Jan.".
    Month,
}

struct Abbreviation {
    short: &'static str,
    long: &'static str,
    context: Context,
    /// Whether it is also written without the period ("Mr Smith", "Abbey Rd").
    period_optional: bool,
}

const fn abbreviation(
    short: &'static str,
    long: &'static str,
    context: Context,
    period_optional: bool,
) -> Abbreviation {
    Abbreviation { short, long, context, period_optional }
}

/// "St." and "Dr." depend on more context and are handled by [`Normalizer::saint_or_street`].
const ABBREVIATIONS: &[Abbreviation] = &[
    abbreviation("Mr", "Mister", Context::Title, true),
    abbreviation("Prof", "Professor", Context::Title, true),
    abbreviation("Gen", "General", Context::Title, false),
    abbreviation("Col", "Colonel", Context::Title, false),
    abbreviation("Lt", "Lieutenant", Context::Title, true),
    abbreviation("Capt", "Captain", Context::Title, true),
    abbreviation("Sgt", "Sergeant", Context::Title, true),
    abbreviation("Rev", "Reverend", Context::Title, false),
    abbreviation("Mt", "Mount", Context::Title, true),
    abbreviation("Ft", "Fort", Context::Title, true),
    abbreviation("Jr", "Junior", Context::AfterName, true),
    abbreviation("Sr", "Senior", Context::AfterName, true),
    abbreviation("Inc", "Incorporated", Context::AfterName, true),
    abbreviation("Ltd", "Limited", Context::AfterName, true),
    abbreviation("Corp", "Corporation", Context::AfterName, false),
    abbreviation("Co", "Company", Context::AfterName, false),
    abbreviation("Ave", "Avenue", Context::Street, true),
    abbreviation("Blvd", "Boulevard", Context::Street, true),
    abbreviation("Rd", "Road", Context::Street, true),
    abbreviation("approx", "approximately", Context::Always, false),
    abbreviation("Approx", "Approximately", Context::Always, false),
    abbreviation("dept", "department", Context::Always, false),
    abbreviation("Dept", "Department", Context::Always, false),
    abbreviation("vs", "versus", Context::Between, true),
    abbreviation("Vs", "Versus", Context::Between, false),
    abbreviation("No", "Number", Context::BeforeNumber, false),
    abbreviation("no", "number", Context::BeforeNumber, false),
    abbreviation("est", "established", Context::BeforeYear, false),
    abbreviation("Est", "Established", Context::BeforeYear, false),
    abbreviation("Jan", "January", Context::Month, false),
    abbreviation("Feb", "February", Context::Month, false),
    abbreviation("Mar", "March", Context::Month, false),
    abbreviation("Apr", "April", Context::Month, false),
    abbreviation("Jun", "June", Context::Month, false),
    abbreviation("Jul", "July", Context::Month, false),
    abbreviation("Aug", "August", Context::Month, false),
    abbreviation("Sep", "September", Context::Month, false),
    abbreviation("Sept", "September", Context::Month, false),
    abbreviation("Oct", "October", Context::Month, false),
    abbreviation("Nov", "November", Context::Month, false),
    abbreviation("Dec", "December", Context::Month, false),
    abbreviation("Mon", "Monday", Context::BeforeDate, false),
    abbreviation("Tue", "Tuesday", Context::BeforeDate, false),
    abbreviation("Tues", "Tuesday", Context::BeforeDate, false),
    abbreviation("Wed", "Wednesday", Context::BeforeDate, false),
    abbreviation("Thu", "Thursday", Context::BeforeDate, false),
    abbreviation("Thur", "Thursday", Context::BeforeDate, false),
    abbreviation("Thurs", "Thursday", Context::BeforeDate, false),
    abbreviation("Fri", "Friday", Context::BeforeDate, false),
    abbreviation("Sat", "Saturday", Context::BeforeDate, false),
    abbreviation("Sun", "Sunday", Context::BeforeDate, false),
];

/// Given names of monarchs and popes: "Henry VIII" → "Henry the Eighth".
const REGNAL_NAMES: &[&str] = &[
    "Alexander", "Alfonso", "Amadeus", "Anne", "Benedict", "Boniface", "Carl", "Carlos", "Catherine", "Charles",
    "Christian", "Clement", "Constantine", "David", "Edward", "Elizabeth", "Felipe", "Ferdinand", "Francis", "Franz",
    "Frederick", "Frederik", "Friedrich", "George", "Gregory", "Gustav", "Gustavus", "Haakon", "Harald", "Henry",
    "Innocent", "Isabella", "Ivan", "James", "John", "Joseph", "Juan", "Leo", "Leopold", "Louis", "Ludwig",
    "Margrethe", "Mary", "Napoleon", "Nicholas", "Olaf", "Otto", "Paul", "Peter", "Philip", "Pius", "Ptolemy",
    "Ramesses", "Ramses", "Richard", "Robert", "Rudolf", "Sixtus", "Stephen", "Umberto", "Urban", "Victor", "Victoria",
    "Wilhelm", "William",
];
/// Titles that make the next name regnal even when it is not in [`REGNAL_NAMES`].
const REGNAL_TITLES: &[&str] = &[
    "King", "Queen", "Pope", "Emperor", "Empress", "Tsar", "Czar", "Tsarina", "Prince", "Princess", "Duke", "Duchess",
    "Sultan", "Pharaoh", "Kaiser", "Shah", "Archduke", "Count", "Countess",
];
/// Words that open a sentence rather than continue a name: "the Dr. He said".
const SENTENCE_OPENERS: &[&str] = &[
    "The", "He", "She", "It", "They", "We", "I", "You", "This", "That", "These", "Those", "There", "Then", "But",
    "And", "So", "My", "His", "Her", "Our", "Their", "Its", "A", "An", "What", "When", "If", "As",
];
/// Nouns that continue a name past an abbreviation: "Wall St. Journal", "King Jr. Day".
const NAME_CONTINUATIONS: &[&str] = &[
    "Academy", "Airport", "Award", "Awards", "Boulevard", "Bridge", "Building", "Center", "Centre", "College", "Day",
    "Foundation", "Hall", "High", "Highway", "Hospital", "Institute", "Journal", "Library", "Line", "Market",
    "Memorial", "Museum", "Park", "Plaza", "Prize", "School", "Square", "Stadium", "Station", "Subway", "Theater",
    "Theatre", "Tower", "University",
];
/// Words before "Dr." that make it a common noun: "the Dr. said", "my Dr. appointment".
const DETERMINERS: &[&str] = &["the", "a", "my", "your", "his", "her", "our", "their"];
/// Words before which a month abbreviation is a month: "in Jan.", "since Feb.".
const MONTH_PREPOSITIONS: &[&str] = &[
    "in", "of", "since", "by", "until", "till", "from", "before", "after", "during", "through", "early", "late", "mid",
];
/// Words after which "5 March" is a date whatever follows.
const DATE_PREPOSITIONS: &[&str] =
    &["on", "the", "of", "since", "until", "till", "by", "from", "before", "after", "through"];
/// Month abbreviations that are also given names ("painted by Jan."): "by" alone does not make them months.
const MONTHS_ALSO_NAMES: &[&str] = &["Jan", "Jun"];
/// Verbs after which "3-2" is a score, not a range: "lost 2-3", "beat them 4-5".
const SCORE_WORDS: &[&str] = &[
    "won", "win", "wins", "lost", "lose", "loses", "beat", "beats", "tied", "tie", "drew", "draw", "lead", "leads",
    "led", "trail", "trails", "trailed", "score", "scored", "defeated", "edged",
];
/// Words after which "4/5" is a rating: "Rated 4/5 stars" → "4 out of 5".
const RATING_WORDS: &[&str] = &["rated", "rate", "rating", "scored", "score", "got", "gave", "give", "gives"];
/// Words around "1:10" that make it a ratio, not a clock time.
const RATIO_WORDS: &[&str] = &["scale", "ratio", "mix", "dilution", "dilute"];
/// Words after "$5 million" that repeat its currency ("$5 million dollars"), by symbol.
const CURRENCY_WORDS: &[(char, &[&str])] = &[
    ('$', &["dollars", "dollar", "USD", "bucks"]),
    ('£', &["pounds", "pound", "GBP", "quid"]),
    ('€', &["euros", "euro", "EUR"]),
    ('¥', &["yen", "JPY"]),
];
/// Words after which a roman numeral is a cardinal: "Chapter IV" → "Chapter Four".
const NUMBERED_NOUNS: &[&str] =
    &["Chapter", "Part", "Volume", "Book", "Act", "Scene", "Phase", "Type", "Class", "Article", "Section"];

struct Unit {
    short: &'static str,
    singular: &'static str,
    plural: &'static str,
    /// "m" and "l" also abbreviate other words ("5m users" is five million): attached to the
    /// number they are expanded only at the end of a clause.
    ambiguous: bool,
}

const fn unit(short: &'static str, singular: &'static str, plural: &'static str) -> Unit {
    Unit { short, singular, plural, ambiguous: false }
}

/// US spellings; British output replaces "meter"/"liter" with "metre"/"litre".
const UNITS: &[Unit] = &[
    unit("km", "kilometer", "kilometers"),
    Unit { short: "m", singular: "meter", plural: "meters", ambiguous: true },
    unit("cm", "centimeter", "centimeters"),
    unit("mm", "millimeter", "millimeters"),
    unit("kg", "kilogram", "kilograms"),
    unit("g", "gram", "grams"),
    unit("mg", "milligram", "milligrams"),
    unit("lb", "pound", "pounds"),
    unit("lbs", "pound", "pounds"),
    unit("oz", "ounce", "ounces"),
    unit("ft", "foot", "feet"),
    unit("mi", "mile", "miles"),
    unit("mph", "mile per hour", "miles per hour"),
    unit("kph", "kilometer per hour", "kilometers per hour"),
    unit("ml", "milliliter", "milliliters"),
    unit("mL", "milliliter", "milliliters"),
    Unit { short: "l", singular: "liter", plural: "liters", ambiguous: true },
    unit("L", "liter", "liters"),
    unit("KB", "kilobyte", "kilobytes"),
    unit("kB", "kilobyte", "kilobytes"),
    unit("MB", "megabyte", "megabytes"),
    unit("GB", "gigabyte", "gigabytes"),
    unit("TB", "terabyte", "terabytes"),
    unit("Hz", "hertz", "hertz"),
    unit("kHz", "kilohertz", "kilohertz"),
    unit("MHz", "megahertz", "megahertz"),
    unit("GHz", "gigahertz", "gigahertz"),
    unit("W", "watt", "watts"),
    unit("kW", "kilowatt", "kilowatts"),
    unit("V", "volt", "volts"),
    unit("ms", "millisecond", "milliseconds"),
    unit("min", "minute", "minutes"),
    unit("h", "hour", "hours"),
];
/// Units that "²" and "³" make areas and volumes.
const LENGTH_UNITS: &[&str] = &["km", "m", "cm", "mm", "ft", "mi"];
const KILOMETERS_PER_HOUR: Unit = unit("km/h", "kilometer per hour", "kilometers per hour");
const METERS_PER_SECOND: Unit = unit("m/s", "meter per second", "meters per second");
const DEGREES: Unit = unit("°", "degree", "degrees");
const CELSIUS: Unit = unit("°C", "degree Celsius", "degrees Celsius");
const FAHRENHEIT: Unit = unit("°F", "degree Fahrenheit", "degrees Fahrenheit");

/// Top-level domains that make "name.tld" a web address without "www." or a scheme.
const DOMAINS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "mil", "io", "ai", "co", "uk", "us", "de", "fr", "ca", "au", "nz", "ie", "info",
    "biz", "dev", "app", "me", "tv",
];

struct Normalizer<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    british: bool,
}

/// An index no token has, for looking before the first token.
fn before(i: usize, n: usize) -> usize {
    i.checked_sub(n).unwrap_or(usize::MAX)
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_capitalized(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

/// A capitalized word with lowercase after it ("Smith", "McDonald"), not an initialism.
fn is_name(word: &str) -> bool {
    is_capitalized(word) && word.chars().skip(1).any(char::is_lowercase)
}

/// "editions", "picks"; not "is", "this", "bus", "glass".
fn looks_plural(word: &str) -> bool {
    word.len() >= 4
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
        && word.chars().all(|c| c.is_lowercase())
}

fn capitalize(words: &str) -> String {
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// The month a name or abbreviation ("Sept") stands for, and whether it was abbreviated.
fn month_number(word: &str) -> Option<(u32, bool)> {
    let number = |name: &str| MONTHS.iter().position(|&m| m == name).map(|index| index as u32 + 1);
    if let Some(month) = number(word) {
        return Some((month, false));
    }
    ABBREVIATIONS.iter().find(|a| a.short == word).and_then(|a| number(a.long)).map(|month| (month, true))
}

fn days_in_month(month: u32, year: Option<u32>) -> u32 {
    match month {
        2 => match year {
            Some(y) if !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) => 28,
            _ => 29,
        },
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn vulgar_fraction(c: char) -> Option<(u32, u32)> {
    Some(match c {
        '½' => (1, 2),
        '⅓' => (1, 3),
        '⅔' => (2, 3),
        '¼' => (1, 4),
        '¾' => (3, 4),
        '⅕' => (1, 5),
        '⅖' => (2, 5),
        '⅗' => (3, 5),
        '⅘' => (4, 5),
        '⅙' => (1, 6),
        '⅚' => (5, 6),
        '⅛' => (1, 8),
        '⅜' => (3, 8),
        '⅝' => (5, 8),
        '⅞' => (7, 8),
        _ => return None,
    })
}

/// "one half", "three quarters", "two and a half", "one and an eighth".
fn fraction_words(numerator: u32, denominator: u32, whole: Option<&str>) -> Option<String> {
    let (singular, plural) = match denominator {
        2 => ("half".to_string(), "halves".to_string()),
        4 => ("quarter".to_string(), "quarters".to_string()),
        _ => {
            // "hundredths", not "one hundredths".
            let ordinal = numbers::ordinal(&denominator.to_string())?;
            let ordinal = ordinal.strip_prefix("one ").map_or(ordinal.clone(), str::to_string);
            (ordinal.clone(), format!("{ordinal}s"))
        }
    };
    let part = match (numerator, whole) {
        (1, Some(_)) => format!("{} {singular}", if singular.starts_with('e') { "an" } else { "a" }),
        (1, None) => format!("one {singular}"),
        _ => format!("{} {plural}", numbers::cardinal(&numerator.to_string())?),
    };
    match whole {
        Some(whole) => Some(format!("{} and {part}", numbers::cardinal(whole)?)),
        None => Some(part),
    }
}

/// A season or fiscal year, "2020" and "21" (the next year): "twenty twenty to twenty
/// twenty-one".
fn season_words(first: &str, second: &str) -> Option<String> {
    let is_year = first.len() == 4 && !first.starts_with('0') && first.bytes().all(|b| b.is_ascii_digit());
    if !is_year || second.len() != 2 || !second.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let start: u32 = first.parse().ok()?;
    let next = start + 1;
    if next % 100 != second.parse::<u32>().ok()? {
        return None;
    }
    Some(format!("{} to {}", numbers::year(first)?, numbers::year(&next.to_string())?))
}

/// The value of a canonical uppercase roman numeral ("XIV"), None for anything else ("IIII").
fn roman_value(numeral: &str) -> Option<u32> {
    #[rustfmt::skip]
    const SYMBOLS: [(&str, u32); 13] = [
        ("M", 1000), ("CM", 900), ("D", 500), ("CD", 400), ("C", 100), ("XC", 90), ("L", 50), ("XL", 40),
        ("X", 10), ("IX", 9), ("V", 5), ("IV", 4), ("I", 1),
    ];
    if numeral.is_empty() || numeral.len() > 15 {
        return None;
    }
    // Read greedily by the canonical symbols, then write the value back: only a canonical
    // spelling survives the round trip ("IIII", "IC" and "VX" do not).
    let mut rest = numeral;
    let mut value = 0;
    for (symbol, amount) in SYMBOLS {
        while let Some(after) = rest.strip_prefix(symbol) {
            rest = after;
            value += amount;
        }
    }
    if !rest.is_empty() || value >= 4000 {
        return None;
    }
    let mut canonical = String::new();
    let mut left = value;
    for (symbol, amount) in SYMBOLS {
        while left >= amount {
            canonical.push_str(symbol);
            left -= amount;
        }
    }
    (canonical == numeral).then_some(value)
}

fn address_symbol_name(c: char) -> Option<&'static str> {
    Some(match c {
        '.' => "dot",
        '/' => "slash",
        ':' => "colon",
        '-' => "dash",
        '_' => "underscore",
        '?' => "question mark",
        '=' => "equals",
        '&' => "and",
        '#' => "hash",
        '@' => "at",
        '%' => "percent",
        '~' => "tilde",
        '+' => "plus",
        '!' => "exclamation mark",
        '$' => "dollar",
        '*' => "star",
        ',' => "comma",
        ';' => "semicolon",
        _ => return None,
    })
}

fn is_address_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || address_symbol_name(c).is_some()
}

/// Host labels: non-empty, ASCII letters, digits and hyphens.
fn is_host(host: &str) -> bool {
    host.split('.').all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// The scheme's length ("https://" → 8) if `candidate` is a web address, Some(0) without one.
fn web_address_scheme(candidate: &str) -> Option<usize> {
    let lower = candidate.to_ascii_lowercase();
    let scheme = ["https://", "http://", "ftp://"].into_iter().find(|s| lower.starts_with(s)).map_or(0, str::len);
    let rest = &lower[scheme..];
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
    if host.is_empty() || !is_host(host) || rest.contains('@') {
        return None;
    }
    let has_known_domain = host.rsplit('.').next().is_some_and(|tld| DOMAINS.contains(&tld))
        && host.split('.').count() >= 2
        && host.split('.').next().is_some_and(|first| first.bytes().any(|b| b.is_ascii_alphabetic()));
    (scheme > 0 || (host.starts_with("www.") && host.contains('.')) || has_known_domain).then_some(scheme)
}

fn is_email(candidate: &str) -> bool {
    let Some((local, domain)) = candidate.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
    let tld_ok =
        domain.rsplit('.').next().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain.contains('.') && is_host(domain) && tld_ok
}

/// Spells a web or e-mail address: the scheme letter by letter, "www" as three letters, other
/// names as words, and each symbol by its name.
fn spell_address(candidate: &str, scheme_len: usize) -> String {
    let scheme_name = candidate[..scheme_len].trim_end_matches([':', '/']);
    let mut words: Vec<String> = scheme_name.chars().map(String::from).collect();
    let mut name = String::new();
    for c in candidate[scheme_name.len()..].chars() {
        match address_symbol_name(c) {
            Some(symbol) => {
                push_address_name(&mut words, &mut name);
                words.push(symbol.to_string());
            }
            None => name.push(c),
        }
    }
    push_address_name(&mut words, &mut name);
    words.join(" ")
}

fn push_address_name(words: &mut Vec<String>, name: &mut String) {
    if name.eq_ignore_ascii_case("www") {
        words.extend(name.chars().map(String::from));
    } else if !name.is_empty() {
        words.push(name.clone());
    }
    name.clear();
}

impl<'a> Normalizer<'a> {
    fn run(&self) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut plain_start = 0;
        let mut i = 0;
        while i < self.tokens.len() {
            match self.expand_at(i).filter(|e| e.end > i && e.end <= self.tokens.len()) {
                Some(mut expansion) => {
                    let source = self.tokens[i].start..self.tokens[expansion.end - 1].end;
                    if plain_start < source.start {
                        pieces.push(self.plain(plain_start..source.start));
                    }
                    plain_start = source.end;
                    // "½cup" → "one half cup", "½½" → "one half one half".
                    let glued = self.text[source.end..].starts_with(char::is_alphanumeric);
                    if glued && expansion.text.ends_with(char::is_alphanumeric) {
                        expansion.text.push(' ');
                    }
                    pieces.push(Piece { text: expansion.text, source, normalized: true });
                    i = expansion.end;
                }
                None => i += 1,
            }
        }
        if plain_start < self.text.len() {
            pieces.push(self.plain(plain_start..self.text.len()));
        }
        pieces
    }

    fn plain(&self, source: Range<usize>) -> Piece {
        Piece { text: self.text[source.clone()].to_string(), source, normalized: false }
    }

    fn expand_at(&self, i: usize) -> Option<Expansion> {
        if self.starts_chunk(i) {
            if let Some(address) = self.web_address(i) {
                return Some(address);
            }
        }
        match self.kind(i)? {
            Kind::Digits => self.starting_with_number(i),
            Kind::Word => self.starting_with_word(i),
            Kind::Symbol => self.starting_with_symbol(i),
            Kind::Space => None,
        }
    }

    fn starting_with_number(&self, i: usize) -> Option<Expansion> {
        if !self.stands_alone(i) {
            return None;
        }
        self.iso_date(i)
            .or_else(|| self.slash_date(i))
            .or_else(|| self.phone(i))
            .or_else(|| self.time(i))
            .or_else(|| self.day_month_date(i))
            .or_else(|| self.fraction(i))
            .or_else(|| self.range(i))
            .or_else(|| self.counted_number(i))
    }

    /// A four-digit count before a plural noun ("1024 points", "2500 people") is a number,
    /// not a year as misaki would read it ("ten twenty-four"); after a year word ("in 1984",
    /// "since 2001 prices") it stays a year. US drops num2words' "and" ("one thousand twenty-
    /// four"), GB keeps it.
    fn counted_number(&self, i: usize) -> Option<Expansion> {
        const YEAR_CUES: &[&str] = &[
            "in", "since", "by", "from", "until", "till", "of", "year", "circa", "during", "before", "after", "around",
            "summer", "winter", "spring", "autumn", "fall", "class", "early", "late", "mid", "through",
        ];
        const NOT_PLURAL: &[&str] = &[
            "was", "is", "has", "does", "goes", "this", "its", "his", "as", "us", "yes", "plus", "thus", "always",
            "perhaps", "unless", "whereas", "less", "across", "versus",
        ];
        const IRREGULAR_PLURALS: &[&str] = &["people", "men", "women", "children", "feet", "teeth", "mice", "geese"];
        let digits = self.digits(i).filter(|d| d.len() == 4 && !d.starts_with('0'))?;
        let noun = self.word(i + 2).filter(|_| self.single_space(i + 1))?;
        let plural = IRREGULAR_PLURALS.contains(&noun)
            || (noun.len() > 2 && noun.ends_with('s') && noun.starts_with(|c: char| c.is_ascii_lowercase()) && !NOT_PLURAL.contains(&noun));
        let year_cue = self.word_before(i).is_some_and(|k| self.word_is(k, YEAR_CUES) || month_number(self.str(k)).is_some());
        if !plural || year_cue {
            return None;
        }
        let words = numbers::cardinal(digits)?.replace(',', "");
        expansion(i + 1, if self.british { words } else { words.replace(" and ", " ") })
    }

    fn starting_with_word(&self, i: usize) -> Option<Expansion> {
        self.month_day_date(i)
            .or_else(|| self.unit(i))
            .or_else(|| self.roman_numeral(i))
            .or_else(|| self.latin_abbreviation(i))
            .or_else(|| self.saint_or_street(i))
            .or_else(|| self.abbreviation(i))
    }

    fn starting_with_symbol(&self, i: usize) -> Option<Expansion> {
        match self.symbol(i)? {
            '$' | '£' | '€' | '¥' => self.money(i),
            '#' => self.hash(i),
            '(' | '+' => self.phone(i),
            '°' | '℃' | '℉' => self.unit(i),
            c if vulgar_fraction(c).is_some() => self.fraction(i),
            _ => None,
        }
    }

    // --- token access -------------------------------------------------------------------

    fn kind(&self, i: usize) -> Option<Kind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    fn str(&self, i: usize) -> &'a str {
        self.tokens.get(i).map_or("", |t| &self.text[t.start..t.end])
    }

    /// The text of tokens `from..to`.
    fn span(&self, from: usize, to: usize) -> &'a str {
        match (self.tokens.get(from), to.checked_sub(1).and_then(|last| self.tokens.get(last))) {
            (Some(first), Some(last)) if first.start <= last.end => &self.text[first.start..last.end],
            _ => "",
        }
    }

    fn word(&self, i: usize) -> Option<&'a str> {
        (self.kind(i) == Some(Kind::Word)).then(|| self.str(i))
    }

    fn digits(&self, i: usize) -> Option<&'a str> {
        (self.kind(i) == Some(Kind::Digits)).then(|| self.str(i))
    }

    /// Digits of a length in `lengths`, as a number.
    fn digits_value(&self, i: usize, lengths: Range<usize>) -> Option<u32> {
        self.digits(i).filter(|d| lengths.contains(&d.len())).and_then(|d| d.parse().ok())
    }

    fn is_alphanumeric(&self, i: usize) -> bool {
        matches!(self.kind(i), Some(Kind::Word | Kind::Digits))
    }

    fn symbol(&self, i: usize) -> Option<char> {
        (self.kind(i) == Some(Kind::Symbol)).then(|| self.str(i).chars().next()).flatten()
    }

    fn is_symbol(&self, i: usize, c: char) -> bool {
        self.symbol(i) == Some(c)
    }

    fn symbol_in(&self, i: usize, set: &str) -> bool {
        self.symbol(i).is_some_and(|c| set.contains(c))
    }

    /// Whitespace within a line.
    fn inline_space(&self, i: usize) -> bool {
        self.kind(i) == Some(Kind::Space) && !self.str(i).contains(is_line_break)
    }

    fn single_space(&self, i: usize) -> bool {
        self.kind(i) == Some(Kind::Space) && self.str(i) == " "
    }

    // --- boundaries ---------------------------------------------------------------------

    /// Whether a number or abbreviation starting at `i` stands on its own (not "A4", "3.5",
    /// "-5", "$5", "U.S.Inc").
    fn stands_alone(&self, i: usize) -> bool {
        let previous = before(i, 1);
        match self.kind(previous) {
            None | Some(Kind::Space) => true,
            Some(Kind::Symbol) => self.symbol_in(previous, OPENERS),
            _ => false,
        }
    }

    /// Whether a number ends before token `j` (not "3.5", "1,000", "5-7", "12km").
    fn ends_number(&self, j: usize) -> bool {
        match self.kind(j) {
            None | Some(Kind::Space) => true,
            Some(Kind::Word | Kind::Digits) => false,
            Some(Kind::Symbol) => {
                let numeric = self.str(j).chars().any(char::is_numeric);
                let continues = self.symbol_in(j, NUMBER_JOINERS) && self.is_alphanumeric(j + 1);
                !numeric && !continues
            }
        }
    }

    /// Whether a clause ends at token `j`: end of text, punctuation, a line break, or
    /// whitespace followed by something other than a word.
    fn ends_clause(&self, j: usize) -> bool {
        match self.kind(j) {
            None | Some(Kind::Symbol) => true,
            Some(Kind::Space) => !self.inline_space(j) || !self.is_alphanumeric(j + 1),
            _ => false,
        }
    }

    /// Whether the period at `p` also ends a sentence: end of text, a line break, or a
    /// capitalized word next that does not continue a name ("Wall St. Journal", "Jr. Day").
    fn period_ends_sentence(&self, p: usize) -> bool {
        match self.kind(p + 1) {
            None => true,
            Some(Kind::Space) => {
                !self.inline_space(p + 1)
                    || self.kind(p + 2).is_none()
                    || self.word(p + 2).is_some_and(|w| is_capitalized(w) && !NAME_CONTINUATIONS.contains(&w))
            }
            _ => false,
        }
    }

    /// Whether the word at `k` begins a sentence.
    fn starts_sentence(&self, k: usize) -> bool {
        let previous = before(k, 1);
        match self.kind(previous) {
            None => true,
            Some(Kind::Space) => {
                !self.inline_space(previous) || {
                    let punctuation = before(k, 2);
                    self.kind(punctuation).is_none() || self.symbol_in(punctuation, ".!?")
                }
            }
            Some(Kind::Symbol) => self.symbol_in(previous, OPENERS),
            _ => false,
        }
    }

    /// Whether a web address may start at `i`: at the start of a whitespace-separated chunk or
    /// after an opening bracket or quote.
    fn starts_chunk(&self, i: usize) -> bool {
        let previous = before(i, 1);
        match self.kind(previous) {
            None | Some(Kind::Space) => true,
            Some(Kind::Symbol) => self.symbol_in(previous, "(<[\"'“‘«"),
            _ => false,
        }
    }

    /// The word right before token `i`, separated from it by whitespace within the line.
    fn word_before(&self, i: usize) -> Option<usize> {
        let k = before(i, 2);
        (self.inline_space(before(i, 1)) && self.kind(k) == Some(Kind::Word)).then_some(k)
    }

    /// Whether the word at `k` is one of `words`, ignoring case.
    fn word_is(&self, k: usize, words: &[&str]) -> bool {
        self.word(k).is_some_and(|word| words.iter().any(|w| w.eq_ignore_ascii_case(word)))
    }

    /// Whether one of `words` is among the two words before token `i` ("beat them 4-5").
    fn follows_word_in(&self, i: usize, words: &[&str]) -> bool {
        let first = self.word_before(i);
        let second = first.and_then(|k| self.word_before(k));
        [first, second].into_iter().flatten().any(|k| self.word_is(k, words))
    }

    /// The word after token `after`, separated from it by whitespace within the line.
    fn word_after(&self, after: usize) -> Option<&'a str> {
        if self.inline_space(after) {
            self.word(after + 1)
        } else {
            None
        }
    }

    /// Whether a sentence-opening word ("He", "The") follows token `after`; "A." is an initial.
    fn sentence_opener_after(&self, after: usize) -> bool {
        self.word_after(after).is_some_and(|w| SENTENCE_OPENERS.contains(&w)) && !self.is_symbol(after + 2, '.')
    }

    /// The number ("5", "1,000", "2.5") starting at `i`; returns the token after it.
    fn number_end(&self, i: usize) -> Option<usize> {
        self.digits(i)?;
        let mut j = i + 1;
        while self.is_symbol(j, ',') && self.digits(j + 1).is_some_and(|d| d.len() == 3) {
            j += 2;
        }
        if self.is_symbol(j, '.') && self.digits(j + 1).is_some() {
            j += 2;
        }
        Some(j)
    }

    // --- dates and times ----------------------------------------------------------------

    /// US "January fifth, twenty twenty-four", GB "the fifth of January, twenty twenty-four";
    /// "fifth of January" in both when the date at token `i` follows "the". None unless the
    /// day exists.
    fn date_words(&self, i: usize, month: u32, day: u32, year: Option<&str>) -> Option<String> {
        let year_value = year.map(str::parse).transpose().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(month, year_value) {
            return None;
        }
        let name = MONTHS[month as usize - 1];
        let ordinal = numbers::ordinal(&day.to_string())?;
        let after_the =
            self.inline_space(before(i, 1)) && self.word(before(i, 2)).is_some_and(|w| w.eq_ignore_ascii_case("the"));
        let mut words = match (self.british, after_the) {
            (_, true) => format!("{ordinal} of {name}"),
            (true, false) => format!("the {ordinal} of {name}"),
            (false, false) => format!("{name} {ordinal}"),
        };
        if let Some(year) = year {
            words.push_str(", ");
            words.push_str(&numbers::year(year)?);
        }
        Some(words)
    }

    /// "2024-01-05".
    fn iso_date(&self, i: usize) -> Option<Expansion> {
        let year = self.digits(i).filter(|d| d.len() == 4 && !d.starts_with('0'))?;
        let month = self.digits_value(i + 2, 2..3)?;
        let day = self.digits_value(i + 4, 2..3)?;
        if !(self.is_symbol(i + 1, '-') && self.is_symbol(i + 3, '-') && self.ends_number(i + 5)) {
            return None;
        }
        expansion(i + 5, self.date_words(i, month, day, Some(year))?)
    }

    /// "1/5/2024": month first in US English, day first in British English.
    fn slash_date(&self, i: usize) -> Option<Expansion> {
        let first = self.digits_value(i, 1..3)?;
        let second = self.digits_value(i + 2, 1..3)?;
        let year = self.digits(i + 4).filter(|d| d.len() == 4 && !d.starts_with('0'))?;
        if !(self.is_symbol(i + 1, '/') && self.is_symbol(i + 3, '/') && self.ends_number(i + 5)) {
            return None;
        }
        let (month, day) = if self.british { (second, first) } else { (first, second) };
        expansion(i + 5, self.date_words(i, month, day, Some(year))?)
    }

    /// An optional year after a day: ", 2024" or " 2024"; returns it and the token after it.
    fn year_after(&self, j: usize, comma_allowed: bool) -> Option<(&'a str, usize)> {
        let four_digits = |k: usize| self.digits(k).filter(|d| d.len() == 4 && !d.starts_with('0'));
        if comma_allowed && self.is_symbol(j, ',') && self.inline_space(j + 1) {
            if let Some(year) = four_digits(j + 2).filter(|_| self.ends_number(j + 3)) {
                return Some((year, j + 3));
            }
        }
        let year = four_digits(j + 1).filter(|_| self.inline_space(j) && self.ends_number(j + 2))?;
        Some((year, j + 2))
    }

    /// "January 5, 2024", "Jan. 5th", "Sept 30 1999".
    fn month_day_date(&self, i: usize) -> Option<Expansion> {
        let (month, abbreviated) = month_number(self.word(i)?)?;
        let mut j = i + 1;
        if abbreviated && self.is_symbol(j, '.') {
            j += 1;
        }
        if !self.inline_space(j) {
            return None;
        }
        let day = self.digits_value(j + 1, 1..3)?;
        j += 2;
        if self.word(j).is_some_and(|w| ORDINAL_SUFFIXES.contains(&w)) {
            j += 1;
        }
        let (year, end) = match self.year_after(j, true) {
            Some((year, end)) => (Some(year), end),
            None if self.ends_number(j) => (None, j),
            None => return None,
        };
        expansion(end, self.date_words(i, month, day, year)?)
    }

    /// "5 January 2024", "5th Jan.".
    fn day_month_date(&self, i: usize) -> Option<Expansion> {
        let day = self.digits_value(i, 1..3)?;
        let mut j = i + 1;
        if self.word(j).is_some_and(|w| ORDINAL_SUFFIXES.contains(&w)) {
            j += 1;
        }
        if !self.inline_space(j) {
            return None;
        }
        let (month, abbreviated) = month_number(self.word(j + 1)?)?;
        j += 2;
        let period = (abbreviated && self.is_symbol(j, '.') && !self.is_alphanumeric(j + 1)).then_some(j);
        let (year, end) = match (self.year_after(period.map_or(j, |p| p + 1), false), period) {
            (Some((year, end)), _) => (Some(year), end),
            // A period that also ends the sentence stays.
            (None, Some(p)) if !self.period_ends_sentence(p) => (None, p + 1),
            (None, _) => (None, j),
        };
        // "top 10 March Madness picks", "2 August editions": a count before a name or noun.
        let date_word_before = self.word_before(i).is_some_and(|k| self.word_is(k, DATE_PREPOSITIONS));
        let name_or_noun_next = self.word_after(end).is_some_and(|w| is_capitalized(w) || looks_plural(w));
        if year.is_none() && !date_word_before && name_or_noun_next {
            return None;
        }
        expansion(end, self.date_words(i, month, day, year)?)
    }

    /// "am", "PM", "a.m.", "P.M"; returns the token after it and whether it is p.m. A period
    /// right after "pm" is taken too: "p.m." ends the sentence with its own.
    fn am_pm(&self, j: usize) -> Option<(usize, bool)> {
        let word = self.word(j)?;
        let mut end = match word {
            "am" | "AM" | "pm" | "PM" => j + 1,
            "a" | "A" | "p" | "P" if self.is_symbol(j + 1, '.') && matches!(self.word(j + 2), Some("m" | "M")) => j + 3,
            _ => return None,
        };
        if self.is_symbol(end, '.') && !self.is_alphanumeric(end + 1) {
            end += 1;
        }
        if self.is_alphanumeric(end) {
            return None;
        }
        Some((end, word.starts_with(['p', 'P'])))
    }

    /// A marker attached ("3pm") or after one space ("3 pm").
    fn am_pm_after(&self, j: usize) -> Option<(usize, bool)> {
        self.am_pm(j).or_else(|| if self.inline_space(j) { self.am_pm(j + 1) } else { None })
    }

    /// A clock time ("3:30", "10:05 pm", "15:45", "3pm") or a range of two ("9:00-10:30",
    /// "9am – 5pm", "2-3pm").
    fn time(&self, i: usize) -> Option<Expansion> {
        let first = self.time_at(i);
        let first_end = first.as_ref().map_or(i + 1, |(end, _, _)| *end);
        let second = self
            .dash_after(first_end)
            .and_then(|k| self.time_at(k))
            .filter(|(end, _, marked)| self.ends_number(*end) && (first.is_some() || *marked));
        match (first, second) {
            (Some((_, from, _)), Some((end, to, _))) => expansion(end, format!("{from} to {to}")),
            (None, Some((end, to, _))) => {
                let hour = self.digits_value(i, 1..3).filter(|h| (1..=12).contains(h))?;
                expansion(end, format!("{} to {to}", numbers::cardinal(&hour.to_string())?))
            }
            (Some((end, words, _)), None) if self.ends_number(end) => expansion(end, words),
            _ => None,
        }
    }

    /// The token after a dash at `end` ("-", "–", or either between spaces).
    fn dash_after(&self, end: usize) -> Option<usize> {
        if self.symbol_in(end, "-–") {
            Some(end + 1)
        } else if self.inline_space(end) && self.symbol_in(end + 1, "-–") && self.inline_space(end + 2) {
            Some(end + 3)
        } else {
            None
        }
    }

    /// The time at `i`, the token after it and whether it has am/pm; "h:mm:ss", a ratio
    /// ("1:10 scale", "mix 1:10") and "0:00" are not one. "9.30pm" is, with its am/pm.
    fn time_at(&self, i: usize) -> Option<(usize, String, bool)> {
        let hour = self.digits_value(i, 1..3)?;
        let dotted =
            self.is_symbol(i + 1, '.') && self.digits_value(i + 2, 2..3).is_some() && self.am_pm_after(i + 3).is_some();
        if !self.is_symbol(i + 1, ':') && !dotted {
            let hour = Some(hour).filter(|h| (1..=12).contains(h))?;
            let (end, pm) = self.am_pm_after(i + 1)?;
            return Some((end, time_words(hour, 0, Some(pm))?, true));
        }
        let minute = self.digits_value(i + 2, 2..3)?;
        let with_seconds = self.is_symbol(i + 3, ':') && self.kind(i + 4) == Some(Kind::Digits);
        if hour > 23 || minute > 59 || with_seconds {
            return None;
        }
        match self.am_pm_after(i + 3) {
            Some((end, pm)) if (1..=12).contains(&hour) => Some((end, time_words(hour, minute, Some(pm))?, true)),
            Some(_) => None,
            None => {
                let ratio = self.word_before(i).is_some_and(|k| self.word_is(k, RATIO_WORDS))
                    || (self.inline_space(i + 3) && self.word_is(i + 4, RATIO_WORDS));
                if ratio || hour + minute == 0 {
                    return None;
                }
                Some((i + 3, time_words(hour, minute, None)?, false))
            }
        }
    }

    // --- other numbers ------------------------------------------------------------------

    /// Telephone numbers: "555-123-4567", "555.123.4567", "1-555-123-4567", "(555) 123-4567",
    /// "+1 555 123 4567", "+44 20 7946 0958", "+91 98765 43210"; after a phone word also
    /// "555-1234", "555 123 4567" and "911". An extension may follow: "ext. 204", "x204".
    fn phone(&self, i: usize) -> Option<Expansion> {
        if self.is_alphanumeric(before(i, 1)) {
            return None;
        }
        let (groups, number_end) = match self.symbol(i) {
            Some('+') => self.international_phone(i)?,
            Some('(') => self.area_code_phone(i)?,
            _ => self.dotted_phone(i).or_else(|| self.phone_after_phone_word(i))?,
        };
        let (extension, end) = match self.extension(number_end) {
            Some((extension, end)) => (Some(extension), end),
            None => (None, number_end),
        };
        if !self.ends_number(end) {
            return None;
        }
        let mut words: Vec<String> = groups.iter().map(|group| phone_digits(group)).collect();
        if self.is_symbol(i, '+') {
            words[0].insert_str(0, "plus ");
        }
        if let Some(extension) = extension {
            words.push(format!("extension {}", phone_digits(extension)));
        }
        expansion(end, words.join(", "))
    }

    fn dotted_phone(&self, i: usize) -> Option<(Vec<&'a str>, usize)> {
        let separator = self.symbol(i + 1).filter(|c| matches!(c, '-' | '.'))?;
        let start = if self.digits(i) == Some("1") { i + 2 } else { i };
        let lengths = [3, 3, 4];
        let mut groups = if start == i { Vec::new() } else { vec!["1"] };
        for (n, length) in lengths.into_iter().enumerate() {
            let k = start + 2 * n;
            groups.push(self.digits(k).filter(|d| d.len() == length)?);
            if n < 2 && !self.is_symbol(k + 1, separator) {
                return None;
            }
        }
        Some((groups, start + 5))
    }

    /// Shapes that are telephone numbers only after a phone word: "call 555-1234", "phone
    /// 555 123 4567", "dial 911". "reach 500-1000 people" and "at 500-1000" are counts and
    /// ranges.
    fn phone_after_phone_word(&self, i: usize) -> Option<(Vec<&'a str>, usize)> {
        let first = self.digits(i).filter(|d| d.len() == 3)?;
        let exchange = self.digits(i + 2).filter(|d| d.len() == 3 && self.single_space(i + 1));
        let line = self.digits(i + 4).filter(|d| d.len() == 4 && self.single_space(i + 3));
        if let (Some(exchange), Some(line)) = (exchange, line) {
            return self.follows_phone_word(i, true).then(|| (vec![first, exchange, line], i + 5));
        }
        let count_next = |end: usize| self.word_after(end).is_some_and(looks_plural);
        let separator = self.symbol(i + 1).filter(|c| matches!(c, '-' | '.'));
        if let (Some(separator), Some(line)) = (separator, self.digits(i + 2).filter(|d| d.len() == 4)) {
            let round = first.ends_with('0') && line.ends_with("00");
            let is_phone = !round && !count_next(i + 3) && self.follows_phone_word(i, separator == '-');
            return is_phone.then(|| (vec![first, line], i + 3));
        }
        // "call 911", "dial 999 or 112"; not "call 911 people" or "dial 911 1234".
        let digits_next = self.inline_space(i + 1) && self.kind(i + 2) == Some(Kind::Digits);
        let after_dial_word = |n: usize| self.word_before(n).is_some_and(|k| self.word_is(k, DIAL_WORDS));
        let after_dialed_number = self.word_before(i).filter(|&k| self.word_is(k, &["or", "and"])).is_some_and(|k| {
            let number = before(k, 2);
            self.inline_space(before(k, 1))
                && self.digits(number).is_some_and(|d| SERVICE_NUMBERS.contains(&d))
                && after_dial_word(number)
        });
        let dialed = SERVICE_NUMBERS.contains(&first) && (after_dial_word(i) || after_dialed_number);
        (dialed && !digits_next && !count_next(i + 1)).then(|| (vec![first], i + 1))
    }

    /// Whether a phone word is among the three words before token `i` in its sentence ("call
    /// me at", "Tel.", "Phone:"); `weak_words_count` lets "at" and "number" count. A count
    /// noun in between ("at pages 555-1234") stops the search.
    fn follows_phone_word(&self, i: usize, weak_words_count: bool) -> bool {
        let is_phone_word =
            |k: usize| self.word_is(k, PHONE_WORDS) && (weak_words_count || !self.word_is(k, WEAK_PHONE_WORDS));
        let mut k = before(i, 1);
        let mut words = 0;
        // Bounded, so that runs of ":" cannot make this quadratic.
        for _ in 0..8 {
            match self.kind(k) {
                Some(Kind::Space) if self.inline_space(k) => {}
                Some(Kind::Symbol) if self.is_symbol(k, ':') => {}
                // "Tel. 555-1234": the period of an abbreviated phone word, not a sentence end.
                Some(Kind::Symbol) if self.is_symbol(k, '.') => return is_phone_word(before(k, 1)),
                Some(Kind::Word) if is_phone_word(k) => return true,
                Some(Kind::Word) if words < 2 && !self.word(k).is_some_and(looks_plural) => words += 1,
                _ => return false,
            }
            k = before(k, 1);
        }
        false
    }

    /// An extension after a telephone number ending before token `j`: " ext. 204", ", x204",
    /// " extension 204". Returns its digits and the token after them.
    fn extension(&self, j: usize) -> Option<(&'a str, usize)> {
        let k = match (self.is_symbol(j, ','), self.inline_space(j)) {
            (true, _) if self.inline_space(j + 1) => j + 2,
            (false, true) => j + 1,
            _ => j,
        };
        let word = self.word(k).filter(|w| EXTENSION_WORDS.contains(w))?;
        let mut d = k + 1;
        // "x" only attached ("x204"): "x 2" may be a product.
        if !word.eq_ignore_ascii_case("x") {
            if word.len() == 3 && self.is_symbol(d, '.') {
                d += 1;
            }
            if self.inline_space(d) {
                d += 1;
            }
        }
        let digits = self.digits(d).filter(|digits| digits.len() <= 6)?;
        Some((digits, d + 1))
    }

    fn area_code_phone(&self, i: usize) -> Option<(Vec<&'a str>, usize)> {
        let area = self.digits(i + 1).filter(|d| d.len() == 3)?;
        if !self.is_symbol(i + 2, ')') {
            return None;
        }
        let k = if self.single_space(i + 3) { i + 4 } else { i + 3 };
        let exchange = self.digits(k).filter(|d| d.len() == 3)?;
        let line = self.digits(k + 2).filter(|d| d.len() == 4 && self.is_symbol(k + 1, '-'))?;
        Some((vec![area, exchange, line], k + 3))
    }

    fn international_phone(&self, i: usize) -> Option<(Vec<&'a str>, usize)> {
        let country = self.digits(i + 1).filter(|d| d.len() <= 3)?;
        let mut groups = vec![country];
        let mut j = i + 2;
        // "+44 (0)20 7946 0958": the trunk prefix "(0)" is not dialled from abroad, so not read.
        let trunk = self.single_space(j)
            && self.is_symbol(j + 1, '(')
            && self.digits(j + 2) == Some("0")
            && self.is_symbol(j + 3, ')');
        if trunk {
            match self.digits(j + 4).filter(|d| d.len() <= 5) {
                Some(group) => {
                    groups.push(group);
                    j += 5;
                }
                None => j += 4,
            }
        }
        loop {
            let separated = self.single_space(j) || self.symbol_in(j, "-.");
            let k = j + 1;
            if let Some(group) = self.digits(k).filter(|d| separated && d.len() <= 5) {
                groups.push(group);
                j = k + 1;
            } else if let Some(group) = self
                .digits(k + 1)
                .filter(|d| separated && d.len() <= 4 && self.is_symbol(k, '(') && self.is_symbol(k + 2, ')'))
            {
                groups.push(group);
                j = k + 3;
            } else {
                break;
            }
            if groups.len() > 8 {
                return None;
            }
        }
        let digit_count: usize = groups.iter().map(|g| g.len()).sum();
        (groups.len() >= 3 && (8..=15).contains(&digit_count)).then_some((groups, j))
    }

    /// "1/2", "2 1/2", "2½", "¾".
    fn fraction(&self, i: usize) -> Option<Expansion> {
        if let Some((numerator, denominator)) = self.symbol(i).and_then(vulgar_fraction) {
            if self.is_alphanumeric(before(i, 1)) || self.kind(i + 1) == Some(Kind::Digits) {
                return None;
            }
            return expansion(i + 1, fraction_words(numerator, denominator, None)?);
        }
        let first = self.digits(i).filter(|d| d.len() <= 3)?;
        if let Some((numerator, denominator)) = self.symbol(i + 1).and_then(vulgar_fraction) {
            if self.kind(i + 2) == Some(Kind::Digits) {
                return None;
            }
            return expansion(i + 2, fraction_words(numerator, denominator, Some(first))?);
        }
        if self.single_space(i + 1) {
            if let Some((numerator, denominator, end)) = self.simple_fraction(i + 2) {
                return expansion(end, fraction_words(numerator, denominator, Some(first))?);
            }
        }
        if let Some(rating) = self.rating(i) {
            return Some(rating);
        }
        // "on 1/5" is a date without its year.
        let after_on = self.inline_space(before(i, 1)) && matches!(self.word(before(i, 2)), Some("on" | "On"));
        let (numerator, denominator, end) = self.simple_fraction(i).filter(|_| !after_on)?;
        expansion(end, fraction_words(numerator, denominator, None)?)
    }

    /// "Rated 4/5 stars", "scored 10/10" → "4 out of 5"; not "got 3/4 of the cake".
    fn rating(&self, i: usize) -> Option<Expansion> {
        let score = self.digits_value(i, 1..4)?;
        let out_of = self.digits_value(i + 2, 1..4)?;
        let is_rating = self.is_symbol(i + 1, '/')
            && self.ends_number(i + 3)
            && score <= out_of
            && out_of >= 2
            && self.follows_word_in(i, RATING_WORDS)
            && self.word_after(i + 3) != Some("of");
        is_rating.then(|| Expansion { end: i + 3, text: format!("{} out of {}", self.str(i), self.str(i + 2)) })
    }

    /// "3/4" at `k` with a proper fraction and a common denominator.
    fn simple_fraction(&self, k: usize) -> Option<(u32, u32, usize)> {
        let numerator = self.digits_value(k, 1..3)?;
        let denominator = self.digits_value(k + 2, 1..5)?;
        let proper = 1 <= numerator && numerator < denominator && FRACTION_DENOMINATORS.contains(&denominator);
        (proper && self.is_symbol(k + 1, '/') && self.ends_number(k + 3)).then_some((numerator, denominator, k + 3))
    }

    /// "10-20", "5–7", "1.5-2.5" (rising only; "3-2" may be a score) → "10 to 20"; "between
    /// 5-10" → "between 5 and 10"; seasons "2020-21" → "twenty twenty to twenty twenty-one".
    /// Scores ("lost 2-3", "beat them 4-5") stay.
    fn range(&self, i: usize) -> Option<Expansion> {
        if self.follows_word_in(i, SCORE_WORDS) {
            return None;
        }
        let first_end = self.number_end(i)?;
        let (hyphen, second_start) = if self.symbol_in(first_end, "-–") {
            (self.is_symbol(first_end, '-'), first_end + 1)
        } else if self.inline_space(first_end) && self.is_symbol(first_end + 1, '–') && self.inline_space(first_end + 2)
        {
            (false, first_end + 3)
        } else {
            return None;
        };
        let second_end = self.number_end(second_start)?;
        let unit_follows = self.word(second_end).is_some_and(|w| UNITS.iter().any(|u| u.short == w));
        if !(self.ends_number(second_end) || unit_follows) {
            return None;
        }
        let (first, second) = (self.span(i, first_end), self.span(second_start, second_end));
        if let Some(season) = season_words(first, second) {
            return expansion(second_end, season);
        }
        let value = |n: &str| n.replace(',', "").parse::<f64>().ok().filter(|v| v.is_finite());
        let rising = value(first)? < value(second)?;
        // "555-1234" is a local telephone number more often than a range.
        let phone_like = hyphen && first.len() == 3 && second.len() == 4;
        if !rising || phone_like {
            return None;
        }
        let between = self.word_before(i).is_some_and(|k| self.word_is(k, &["between"]));
        expansion(second_end, format!("{first} {} {second}", if between { "and" } else { "to" }))
    }

    /// "$5M", "€3bn", "$2.5 billion" → "5 million dollars"; "¥500" → "500 yen". A currency
    /// word after it is the same money: "$5 million dollars", "$5 USD" → "5 dollars".
    fn money(&self, i: usize) -> Option<Expansion> {
        if self.is_alphanumeric(before(i, 1)) {
            return None;
        }
        let symbol = self.symbol(i)?;
        let currency = match symbol {
            '$' => "dollars",
            '£' => "pounds",
            '€' => "euros",
            _ => "yen",
        };
        let repeated_currency = |end: usize| {
            let words = CURRENCY_WORDS.iter().find(|(c, _)| *c == symbol).map_or(&[][..], |(_, words)| *words);
            let is_currency = self.word_after(end).is_some_and(|w| words.contains(&w));
            (is_currency && self.ends_number(end + 2)).then_some(end + 2)
        };
        let number_end = self.number_end(i + 1)?;
        let number = self.span(i + 1, number_end);
        if let Some((end, magnitude)) = self.magnitude(number_end) {
            let end = repeated_currency(end).unwrap_or(end);
            return expansion(end, format!("{number} {magnitude} {currency}"));
        }
        if !self.ends_number(number_end) {
            return None;
        }
        let whole = !number.contains('.');
        match repeated_currency(number_end).filter(|_| whole) {
            Some(end) if number == "1" => expansion(end, format!("1 {}", currency.trim_end_matches('s'))),
            Some(end) => expansion(end, format!("{number} {currency}")),
            None if currency == "yen" => expansion(number_end, format!("{number} yen")),
            None => None,
        }
    }

    /// "M", "bn", "k" attached to the number, or "billion" after a space.
    fn magnitude(&self, j: usize) -> Option<(usize, &'static str)> {
        let (k, spaced) = if self.inline_space(j) { (j + 1, true) } else { (j, false) };
        let name = match self.word(k)? {
            "thousand" => "thousand",
            "million" => "million",
            "billion" => "billion",
            "trillion" => "trillion",
            "k" | "K" if !spaced => "thousand",
            "m" | "M" | "mn" | "mln" if !spaced => "million",
            "b" | "B" | "bn" | "bln" if !spaced => "billion",
            "t" | "T" | "tn" | "trn" if !spaced => "trillion",
            _ => return None,
        };
        (self.kind(k + 1) != Some(Kind::Digits)).then_some((k + 1, name))
    }

    /// "#1" → "number one", "#tag" → "hashtag tag".
    fn hash(&self, i: usize) -> Option<Expansion> {
        if self.is_alphanumeric(before(i, 1)) || self.symbol_in(before(i, 1), "#&_") {
            return None;
        }
        if let Some(digits) = self.digits(i + 1) {
            if self.ends_number(i + 2) && digits.len() <= 9 {
                return expansion(i + 2, format!("number {}", numbers::cardinal(digits)?));
            }
            // "#100DaysOfCode" is a tag, "#1st" is not.
            if self.word(i + 2).is_none_or(|w| ORDINAL_SUFFIXES.contains(&w)) {
                return None;
            }
        } else {
            self.word(i + 1)?;
        }
        let mut end = i + 1;
        while self.is_alphanumeric(end) || (self.is_symbol(end, '_') && self.is_alphanumeric(end + 1)) {
            end += 1;
        }
        // "#a_#b", "#a#b": not a tag on its own.
        if self.symbol_in(end, "_#@") {
            return None;
        }
        let tag = self.span(i + 1, end).replace('_', " ");
        // "#hashtags" is the word itself, not "hashtag hashtags"
        if tag.to_lowercase().starts_with("hashtag") {
            return expansion(end, tag);
        }
        expansion(end, format!("hashtag {tag}"))
    }

    /// A unit after a number: "5 km", "2.5kg", "20°C", "1 mph", "5 m²"; singular in "a 16 GB
    /// card".
    fn unit(&self, i: usize) -> Option<Expansion> {
        let (unit, after, power) = self.unit_at(i)?;
        let (attached, is_one, number_start) = self.number_before_unit(i)?;
        let followed_by_more = self.is_alphanumeric(after)
            || self.str(after).chars().any(char::is_numeric)
            || self.symbol_in(after, "/'’");
        // "100 W Main St" is a direction.
        let letter_before_name = unit.short.len() == 1
            && unit.short.starts_with(|c: char| c.is_ascii_uppercase())
            && self.word_after(after).is_some_and(is_capitalized);
        let ambiguous = unit.ambiguous && power.is_none() && attached && !self.ends_clause(after);
        if followed_by_more || letter_before_name || ambiguous {
            return None;
        }
        // After "a", a unit with a noun next describes it: "a 16 GB card", "a 5 km run".
        let after_article = self.word_before(number_start).is_some_and(|k| self.word_is(k, &["a", "an"]));
        let noun_next = self
            .word_after(after)
            .is_some_and(|w| !is_capitalized(w) && !["of", "per", "and", "or", "to", "in"].contains(&w));
        let mut name = if is_one || (after_article && noun_next) { unit.singular } else { unit.plural }.to_string();
        if self.british {
            name = name.replace("meter", "metre").replace("liter", "litre");
        }
        if let Some(power) = power {
            name = format!("{power} {name}");
        }
        // "6 ft. tall": the abbreviation's period goes with it unless the sentence ends there.
        let period_inside = self.is_symbol(after, '.')
            && (self.word_after(after + 1).is_some_and(|w| !is_capitalized(w)) || self.symbol_in(after + 1, ",;:"));
        let end = if period_inside { after + 1 } else { after };
        expansion(end, if attached { format!(" {name}") } else { name })
    }

    /// The unit at `i`, the token after it and "square"/"cubic" for "m²"/"m³".
    fn unit_at(&self, i: usize) -> Option<(&'static Unit, usize, Option<&'static str>)> {
        match self.symbol(i) {
            Some('℃') => return Some((&CELSIUS, i + 1, None)),
            Some('℉') => return Some((&FAHRENHEIT, i + 1, None)),
            Some('°') => {
                return match self.word(i + 1) {
                    Some("C") => Some((&CELSIUS, i + 2, None)),
                    Some("F") => Some((&FAHRENHEIT, i + 2, None)),
                    Some(_) => None,
                    None => Some((&DEGREES, i + 1, None)),
                };
            }
            Some(_) => return None,
            None => {}
        }
        let word = self.word(i)?;
        // "º" (the ordinal indicator, a letter) is often typed for "°".
        let degrees = match word {
            "º" => Some(&DEGREES),
            "ºC" => Some(&CELSIUS),
            "ºF" => Some(&FAHRENHEIT),
            _ => None,
        };
        if let Some(degrees) = degrees {
            return Some((degrees, i + 1, None));
        }
        let per = match (word, self.word(i + 2)) {
            ("km", Some("h")) => Some(&KILOMETERS_PER_HOUR),
            ("m", Some("s")) => Some(&METERS_PER_SECOND),
            _ => None,
        };
        if let Some(per) = per.filter(|_| self.is_symbol(i + 1, '/')) {
            return Some((per, i + 3, None));
        }
        let unit = UNITS.iter().find(|u| u.short == word)?;
        let power = match self.symbol(i + 1) {
            Some('²') => Some("square"),
            Some('³') => Some("cubic"),
            _ => None,
        };
        match power {
            Some(power) if LENGTH_UNITS.contains(&word) => Some((unit, i + 2, Some(power))),
            _ => Some((unit, i + 1, None)),
        }
    }

    /// The number right before a unit at `i` (attached or after one space): whether it is
    /// attached, whether it is exactly 1, and its first token. None when there is no plain
    /// number there.
    fn number_before_unit(&self, i: usize) -> Option<(bool, bool, usize)> {
        let attached = !self.single_space(before(i, 1));
        let last = before(i, if attached { 1 } else { 2 });
        let last_digits = self.digits(last)?;
        let mut start = last;
        // Walk back over "1,000" and "2.5", a few groups at most.
        for _ in 0..8 {
            if self.symbol_in(before(start, 1), ".,") && self.digits(before(start, 2)).is_some() {
                start -= 2;
            } else {
                break;
            }
        }
        let previous = before(start, 1);
        if self.is_alphanumeric(previous) || self.symbol_in(previous, "$£€¥/:.,#@_") {
            return None;
        }
        Some((attached, start == last && last_digits == "1", start))
    }

    // --- words --------------------------------------------------------------------------

    /// Roman numerals in unambiguous places: regnal ("Henry VIII" → "Henry the Eighth"),
    /// "World War II" and "Super Bowl LVIII" (cardinal), after "Chapter", "Part", etc.
    fn roman_numeral(&self, i: usize) -> Option<Expansion> {
        let numeral = self.word(i)?;
        let value = roman_value(numeral)?;
        let possessive = self.symbol_in(i + 1, "'’") && self.word(i + 2) == Some("s");
        if (self.is_alphanumeric(i + 1) || self.symbol_in(i + 1, "'’-")) && !possessive {
            return None;
        }
        if !self.inline_space(before(i, 1)) {
            return None;
        }
        let previous = self.word(before(i, 2))?;
        let before_previous = if self.inline_space(before(i, 3)) { self.word(before(i, 4)) } else { None };
        let small = numeral.bytes().all(|b| b"IVX".contains(&b));
        let cardinal = || {
            let words = numbers::cardinal(&value.to_string())?;
            Some(if is_capitalized(previous) { capitalize(&words) } else { words })
        };
        let is_cardinal_place = match previous {
            "War" => before_previous == Some("World") && value <= 3,
            "Bowl" => before_previous == Some("Super") && value <= 100,
            // A lone "I" is the pronoun unless a capitalized noun and a clause end or title
            // frame it: "Part I, Type II", "Book I Genesis", but "the Book I read".
            _ => {
                let lowercase = previous.to_lowercase();
                let pronoun = numeral == "I"
                    && !(is_capitalized(previous)
                        && (self.ends_clause(i + 1) || self.word_after(i + 1).is_some_and(is_capitalized)));
                small && NUMBERED_NOUNS.iter().any(|n| *n == previous || n.to_lowercase() == lowercase) && !pronoun
            }
        };
        if is_cardinal_place {
            return expansion(i + 1, cardinal()?);
        }
        let titled = before_previous.is_some_and(|t| REGNAL_TITLES.contains(&t));
        // "Louis V. Gerstner": a one-letter numeral with a period before a name is an initial.
        let initial =
            numeral.len() == 1 && self.is_symbol(i + 1, '.') && self.word_after(i + 2).is_some_and(is_capitalized);
        let regnal = small && is_name(previous) && (titled || REGNAL_NAMES.contains(&previous)) && !initial;
        // "Henry I was" could be "Henry, I was"; a lone I needs a title or a clause end.
        if !regnal || (numeral == "I" && !titled && !self.ends_clause(i + 1)) {
            return None;
        }
        let ordinal = numbers::ordinal(&value.to_string())?;
        expansion(i + 1, format!("the {}", capitalize(&ordinal)))
    }

    /// "e.g." → "for example", "i.e." → "that is".
    fn latin_abbreviation(&self, i: usize) -> Option<Expansion> {
        let first = self.word(i)?;
        let long = match (first, self.word(i + 2)?) {
            ("e" | "E", "g" | "G") => "for example",
            ("i" | "I", "e" | "E") => "that is",
            _ => return None,
        };
        let dotted = self.is_symbol(i + 1, '.') && self.is_symbol(i + 3, '.');
        let previous = before(i, 1);
        if !dotted || self.is_alphanumeric(i + 4) || self.is_alphanumeric(previous) || self.is_symbol(previous, '.') {
            return None;
        }
        expansion(i + 4, if is_capitalized(first) { capitalize(long) } else { long.to_string() })
    }

    /// The abbreviation's period if it has one; the token after the abbreviation. None when a
    /// word or a joining symbol follows ("Inc.com", "Co-op").
    fn abbreviation_end(&self, i: usize) -> Option<(Option<usize>, usize)> {
        if self.is_symbol(i + 1, '.') {
            return (!self.is_alphanumeric(i + 2)).then_some((Some(i + 1), i + 2));
        }
        let joined = self.is_alphanumeric(i + 1) || self.symbol_in(i + 1, "'’-/@_&");
        (!joined).then_some((None, i + 1))
    }

    /// A capitalized name (or "5th") before the word at `i`, not "The" or "He"; returns its index.
    fn name_before(&self, i: usize) -> Option<usize> {
        let k = self.word_before(i)?;
        let is_ordinal_number = self.word(k).is_some_and(|w| ORDINAL_SUFFIXES.contains(&w))
            && self.kind(before(k, 1)) == Some(Kind::Digits);
        let is_name = self.word(k).is_some_and(|w| is_capitalized(w) && !SENTENCE_OPENERS.contains(&w));
        (is_name || is_ordinal_number).then_some(k)
    }

    /// Whether a capitalized name follows the token `after`.
    fn name_after(&self, after: usize) -> bool {
        self.inline_space(after) && self.word(after + 1).is_some_and(is_name)
    }

    /// The expansion, with the period kept when it also ended the sentence.
    fn with_final_period(&self, long: &str, period: Option<usize>, after: usize) -> Option<Expansion> {
        let keep = period.is_some_and(|p| self.period_ends_sentence(p));
        expansion(after, if keep { format!("{long}.") } else { long.to_string() })
    }

    /// "St." is Saint before a name and Street after one; "Dr." is Drive after a name, Doctor
    /// before a name, "doctor" after "the" or "my", and otherwise stays for misaki's lexicon.
    fn saint_or_street(&self, i: usize) -> Option<Expansion> {
        let (title, street) = match self.word(i)? {
            "St" => ("Saint", "Street"),
            "Dr" => ("Doctor", "Drive"),
            _ => return None,
        };
        if !self.stands_alone(i) {
            return None;
        }
        let (period, after) = self.abbreviation_end(i)?;
        if title == "Doctor" && self.word_before(i).is_some_and(|k| self.word_is(k, DETERMINERS)) {
            let name_follows = self.name_after(after) && !self.sentence_opener_after(after);
            return self.with_final_period("doctor", period.filter(|_| !name_follows), after);
        }
        let street_name = self.name_before(i);
        if street_name.is_some() && self.word_after(after).is_some_and(|w| NAME_CONTINUATIONS.contains(&w)) {
            return expansion(after, street);
        }
        if self.sentence_opener_after(after) {
            // "Main St. He said": the street ends the sentence; "Dr. He" may be a name.
            return if street_name.is_some() && period.is_some() {
                self.with_final_period(street, period, after)
            } else {
                None
            };
        }
        if self.name_after(after) {
            // "on Main St. Paul lives", "on Rodeo Dr. Beverly Hills": a street name mid-sentence
            // and a period; the period ends the sentence unless a longer place name follows.
            let mid_sentence_street = period.is_some() && street_name.is_some_and(|k| !self.starts_sentence(k));
            if !mid_sentence_street {
                return expansion(after, title);
            }
            let place_follows = self.word_after(after + 2).is_some_and(is_capitalized);
            return self.with_final_period(street, period.filter(|_| !place_follows), after);
        }
        if street_name.is_some() && !self.word(after + 1).is_some_and(is_capitalized) {
            return self.with_final_period(street, period, after);
        }
        None
    }

    fn abbreviation(&self, i: usize) -> Option<Expansion> {
        let word = self.word(i)?;
        let entry = ABBREVIATIONS.iter().find(|a| a.short == word)?;
        if !self.stands_alone(i) {
            return None;
        }
        let (period, after) = self.abbreviation_end(i)?;
        if period.is_none() && !entry.period_optional {
            return None;
        }
        let digits_next =
            |lengths: Range<usize>| self.inline_space(after) && self.digits_value(after + 1, lengths).is_some();
        let applies = match entry.context {
            Context::Always | Context::Between => true,
            // Not a unit: "5 Ft Tall".
            Context::Title => self.name_after(after) && self.kind(before(i, 2)) != Some(Kind::Digits),
            Context::AfterName => {
                let comma_name = self.inline_space(before(i, 1))
                    && self.is_symbol(before(i, 2), ',')
                    && self.word(before(i, 3)).is_some_and(is_capitalized);
                let ampersand = self.inline_space(before(i, 1)) && self.is_symbol(before(i, 2), '&');
                let name = self.name_before(i).and_then(|k| self.word(k)).is_some_and(is_capitalized);
                name || comma_name || ampersand
            }
            Context::Street => self.name_before(i).is_some(),
            // "Did you win? No. 3 people did."
            Context::BeforeNumber => digits_next(1..10) && !self.symbol_in(before(i, 2), "?!"),
            Context::Month => {
                let k = before(i, 2);
                let ordinal_before =
                    self.word(k).is_some_and(|w| ORDINAL_SUFFIXES.contains(&w)) && self.digits(before(k, 1)).is_some();
                let number_before = self.inline_space(before(i, 1)) && (self.digits(k).is_some() || ordinal_before);
                let preposition = self.word_is(k, MONTH_PREPOSITIONS)
                    && !(self.word_is(k, &["by"]) && MONTHS_ALSO_NAMES.contains(&word));
                digits_next(1..5) || number_before || (self.inline_space(before(i, 1)) && preposition)
            }
            Context::BeforeYear => digits_next(4..5),
            Context::BeforeDate => {
                let k = if self.is_symbol(after, ',') { after + 1 } else { after };
                self.inline_space(k)
                    && (self.digits(k + 1).is_some() || self.word(k + 1).and_then(month_number).is_some())
            }
        };
        if !applies {
            return None;
        }
        let may_end_sentence =
            matches!(entry.context, Context::Always | Context::AfterName | Context::Street | Context::Month);
        if may_end_sentence {
            self.with_final_period(entry.long, period, after)
        } else {
            expansion(after, entry.long)
        }
    }

    // --- web addresses ------------------------------------------------------------------

    /// URLs ("https://…", "www.…", "example.com") and e-mail addresses, spelled out.
    fn web_address(&self, i: usize) -> Option<Expansion> {
        let start = self.tokens.get(i)?.start;
        let rest = &self.text[start..];
        if !rest.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return None;
        }
        let length = rest.find(|c: char| !is_address_char(c)).unwrap_or(rest.len());
        let candidate = rest[..length].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        // The address must end where a token ends (not inside "www.exampleé").
        let end = self.tokens.binary_search_by_key(&(start + candidate.len()), |t| t.end).ok()? + 1;
        let scheme = if is_email(candidate) { 0 } else { web_address_scheme(candidate)? };
        expansion(end, spell_address(candidate, scheme))
    }
}

/// "204" → "two oh four".
fn phone_digits(digits: &str) -> String {
    digits.bytes().filter(u8::is_ascii_digit).map(|b| PHONE_DIGITS[usize::from(b - b'0')]).collect::<Vec<_>>().join(" ")
}

/// "three thirty", "ten oh five", "seven o'clock", "fifteen hundred", "seven p.m.".
fn time_words(hour: u32, minute: u32, pm: Option<bool>) -> Option<String> {
    let mut words = numbers::cardinal(&hour.to_string())?;
    let minute_words = match minute {
        0 if pm.is_some() => None,
        0 if hour == 0 || hour > 12 => Some("hundred".to_string()),
        0 => Some("o'clock".to_string()),
        1..=9 => Some(format!("oh {}", numbers::cardinal(&minute.to_string())?)),
        _ => Some(numbers::cardinal(&minute.to_string())?),
    };
    if let Some(minute_words) = minute_words {
        words.push(' ');
        words.push_str(&minute_words);
    }
    match pm {
        Some(true) => words.push_str(" p.m."),
        Some(false) => words.push_str(" a.m."),
        None => {}
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(text: &str) -> String {
        normalize(text, false).into_iter().map(|p| p.text).collect()
    }

    fn gb(text: &str) -> String {
        normalize(text, true).into_iter().map(|p| p.text).collect()
    }

    /// (input, US output, GB output)
    #[rustfmt::skip]
    const CASES: &[(&str, &str, &str)] = &[
        // Left for misaki, byte for byte.
        ("I paid $5.50 for 2,000 items.", "I paid $5.50 for 2,000 items.", "I paid $5.50 for 2,000 items."),
        ("It fell 5% to -5 on the 21st in 1990.", "It fell 5% to -5 on the 21st in 1990.", "It fell 5% to -5 on the 21st in 1990."),
        ("The 1990s cost £3 & €4.", "The 1990s cost £3 & €4.", "The 1990s cost £3 & €4."),
        ("Pi is 3.14159.", "Pi is 3.14159.", "Pi is 3.14159."),
        ("Mrs. Smith met Ms. Jones, etc.", "Mrs. Smith met Ms. Jones, etc.", "Mrs. Smith met Ms. Jones, etc."),
        ("I'm 5 and I think so.", "I'm 5 and I think so.", "I'm 5 and I think so."),
        // Abbreviations.
        ("Mr. Smith and Dr. Jones", "Mister Smith and Doctor Jones", "Mister Smith and Doctor Jones"),
        ("She lives on Elm Dr. near the park.", "She lives on Elm Drive near the park.", "She lives on Elm Drive near the park."),
        ("He lives on Main St.", "He lives on Main Street.", "He lives on Main Street."),
        ("He lives on Main St. Paul lives nearby.", "He lives on Main Street. Paul lives nearby.", "He lives on Main Street. Paul lives nearby."),
        ("Visit St. Louis today.", "Visit Saint Louis today.", "Visit Saint Louis today."),
        ("Then St. Paul wrote.", "Then Saint Paul wrote.", "Then Saint Paul wrote."),
        ("We met at 42nd St. and Park Ave. yesterday.", "We met at 42nd Street and Park Avenue yesterday.", "We met at 42nd Street and Park Avenue yesterday."),
        ("Prof. Adams and Gen. Patton climbed Mt. Everest.", "Professor Adams and General Patton climbed Mount Everest.", "Professor Adams and General Patton climbed Mount Everest."),
        ("Lt. Dan, Capt. Kirk, Sgt. Pepper, Col. Mustard, Rev. Green", "Lieutenant Dan, Captain Kirk, Sergeant Pepper, Colonel Mustard, Reverend Green", "Lieutenant Dan, Captain Kirk, Sergeant Pepper, Colonel Mustard, Reverend Green"),
        ("Martin Luther King Jr. spoke.", "Martin Luther King Junior spoke.", "Martin Luther King Junior spoke."),
        ("He works for Acme Inc. The pay is good.", "He works for Acme Incorporated. The pay is good.", "He works for Acme Incorporated. The pay is good."),
        ("Smith & Co. and Widgets Ltd. merged with Big Corp.", "Smith & Company and Widgets Limited merged with Big Corporation.", "Smith & Company and Widgets Limited merged with Big Corporation."),
        ("Fruit, e.g. apples, i.e. food", "Fruit, for example apples, that is food", "Fruit, for example apples, that is food"),
        ("It costs approx. 5 dollars, dept. of energy, est. 1990.", "It costs approximately 5 dollars, department of energy, established 1990.", "It costs approximately 5 dollars, department of energy, established 1990."),
        ("Lakers vs. Celtics and cats vs dogs", "Lakers versus Celtics and cats versus dogs", "Lakers versus Celtics and cats versus dogs"),
        ("He is No. 1 and no. 5.", "He is Number 1 and number 5.", "He is Number 1 and number 5."),
        ("No. I refuse.", "No. I refuse.", "No. I refuse."),
        ("See you in Jan. next year, or in Feb.", "See you in January next year, or in February.", "See you in January next year, or in February."),
        ("Open Mon., Jan. 5 only", "Open Monday, January fifth only", "Open Monday, the fifth of January only"),
        ("I love the Sun. It is warm.", "I love the Sun. It is warm.", "I love the Sun. It is warm."),
        ("Gen Z and the Inc. magazine", "Gen Z and the Inc. magazine", "Gen Z and the Inc. magazine"),
        ("I went to the Dr. He said I'm fine.", "I went to the doctor. He said I'm fine.", "I went to the doctor. He said I'm fine."),
        ("The Dr. said so. My Dr. appointment, ask the Dr. Smith.", "The doctor said so. My doctor appointment, ask the doctor Smith.", "The doctor said so. My doctor appointment, ask the doctor Smith."),
        ("Read the Wall St. Journal at Main St. Station.", "Read the Wall Street Journal at Main Street Station.", "Read the Wall Street Journal at Main Street Station."),
        ("Wall St. Journal", "Wall Street Journal", "Wall Street Journal"),
        ("Shops on Rodeo Dr. Beverly Hills, or Elm Dr. Paul said.", "Shops on Rodeo Drive Beverly Hills, or Elm Drive. Paul said.", "Shops on Rodeo Drive Beverly Hills, or Elm Drive. Paul said."),
        ("He lives on Main St. He likes it. Dr. He Jiankui spoke.", "He lives on Main Street. He likes it. Dr. He Jiankui spoke.", "He lives on Main Street. He likes it. Dr. He Jiankui spoke."),
        ("Martin Luther King Jr. Day and John Smith Jr. Mary came.", "Martin Luther King Junior Day and John Smith Junior. Mary came.", "Martin Luther King Junior Day and John Smith Junior. Mary came."),
        ("Did you win? No. 3 people did! No. 5 ranks.", "Did you win? No. 3 people did! No. 5 ranks.", "Did you win? No. 3 people did! No. 5 ranks."),
        ("I met Jan. She was nice, painted by Jan. too.", "I met Jan. She was nice, painted by Jan. too.", "I met Jan. She was nice, painted by Jan. too."),
        ("Due by Feb. or since Mar. and Sept. 2024, the 5th Oct. meeting.", "Due by February or since March and September 2024, the fifth of October meeting.", "Due by February or since March and September 2024, the fifth of October meeting."),
        // Times.
        ("Meet at 3:30 or 10:05.", "Meet at three thirty or ten oh five.", "Meet at three thirty or ten oh five."),
        ("It opens at 7:00 and closes at 15:45.", "It opens at seven o'clock and closes at fifteen forty-five.", "It opens at seven o'clock and closes at fifteen forty-five."),
        ("Shifts at 00:30 and 15:00.", "Shifts at zero thirty and fifteen hundred.", "Shifts at zero thirty and fifteen hundred."),
        ("Call at 3pm, 3 p.m. or 3 PM.", "Call at three p.m., three p.m. or three p.m.", "Call at three p.m., three p.m. or three p.m."),
        ("Wake at 10:30am and sleep at 7:00 pm.", "Wake at ten thirty a.m. and sleep at seven p.m.", "Wake at ten thirty a.m. and sleep at seven p.m."),
        ("The shop opens at 8 a.m. and closes at 6 p.m.", "The shop opens at eight a.m. and closes at six p.m.", "The shop opens at eight a.m. and closes at six p.m."),
        ("Lap 1:02:03 and 25:61 stay.", "Lap 1:02:03 and 25:61 stay.", "Lap 1:02:03 and 25:61 stay."),
        ("Open 9:00-10:30 and 9am – 5pm, not 9:00-5.", "Open nine o'clock to ten thirty and nine a.m. to five p.m., not 9:00-5.", "Open nine o'clock to ten thirty and nine a.m. to five p.m., not 9:00-5."),
        ("Meet at 9.30pm or 10.05 am, not 9.30 or 13.30pm.", "Meet at nine thirty p.m. or ten oh five a.m., not 9.30 or 13.30pm.", "Meet at nine thirty p.m. or ten oh five a.m., not 9.30 or 13.30pm."),
        ("A 1:10 scale, Mix 1:10, a 1:10 ratio; 0:00 and 00:00 stay.", "A 1:10 scale, Mix 1:10, a 1:10 ratio; 0:00 and 00:00 stay.", "A 1:10 scale, Mix 1:10, a 1:10 ratio; 0:00 and 00:00 stay."),
        ("Busy from 2-3pm, free 10 - 11 am.", "Busy from two to three p.m., free ten to eleven a.m.", "Busy from two to three p.m., free ten to eleven a.m."),
        // Dates.
        ("Due 2024-01-05.", "Due January fifth, twenty twenty-four.", "Due the fifth of January, twenty twenty-four."),
        ("Born 1/5/2024 here", "Born January fifth, twenty twenty-four here", "Born the first of May, twenty twenty-four here"),
        ("On 2/29/2023 and 2023-02-29 nothing.", "On 2/29/2023 and 2023-02-29 nothing.", "On 2/29/2023 and 2023-02-29 nothing."),
        ("Leap day 2024-02-29", "Leap day February twenty-ninth, twenty twenty-four", "Leap day the twenty-ninth of February, twenty twenty-four"),
        ("On Jan. 5, 2024 we met.", "On January fifth, twenty twenty-four we met.", "On the fifth of January, twenty twenty-four we met."),
        ("On January 5, 2024, we met.", "On January fifth, twenty twenty-four, we met.", "On the fifth of January, twenty twenty-four, we met."),
        ("Her birthday is on March 14th.", "Her birthday is on March fourteenth.", "Her birthday is on the fourteenth of March."),
        ("Signed 5 January 2024.", "Signed January fifth, twenty twenty-four.", "Signed the fifth of January, twenty twenty-four."),
        ("Due the 5th January, or Sun. 7 Jan.", "Due the fifth of January, or Sunday January seventh.", "Due the fifth of January, or Sunday the seventh of January."),
        ("In 2005-07-04 and July 4, 1776", "In July fourth, two thousand and five and July fourth, seventeen seventy-six", "In the fourth of July, two thousand and five and the fourth of July, seventeen seventy-six"),
        ("My top 10 March Madness picks; buy 2 August editions.", "My top 10 March Madness picks; buy 2 August editions.", "My top 10 March Madness picks; buy 2 August editions."),
        ("On 5 March Smith came; born 2 August, she", "On March fifth Smith came; born August second, she", "On the fifth of March Smith came; born the second of August, she"),
        ("Not a date: April 31 or 13/13/2020.", "Not a date: April 31 or 13/13/2020.", "Not a date: April 31 or 13/13/2020."),
        // Telephone numbers.
        ("Call 555-123-4567 now.", "Call five five five, one two three, four five six seven now.", "Call five five five, one two three, four five six seven now."),
        ("Call (555) 123-4567.", "Call five five five, one two three, four five six seven.", "Call five five five, one two three, four five six seven."),
        ("Call +1 555 123 4567.", "Call plus one, five five five, one two three, four five six seven.", "Call plus one, five five five, one two three, four five six seven."),
        ("Fax 555.102.4000", "Fax five five five, one oh two, four oh oh oh", "Fax five five five, one oh two, four oh oh oh"),
        ("London +44 20 7946 0958", "London plus four four, two oh, seven nine four six, oh nine five eight", "London plus four four, two oh, seven nine four six, oh nine five eight"),
        ("Dial 1-800-555-0199", "Dial one, eight oh oh, five five five, oh one nine nine", "Dial one, eight oh oh, five five five, oh one nine nine"),
        ("Call 555-1234 or text 555.9876 today.", "Call five five five, one two three four or text five five five, nine eight seven six today.", "Call five five five, one two three four or text five five five, nine eight seven six today."),
        ("Tel. 555-0100, Phone: 555.2468, call me at 555-1234.", "Tel. five five five, oh one oh oh, Phone: five five five, two four six eight, call me at five five five, one two three four.", "Tel. five five five, oh one oh oh, Phone: five five five, two four six eight, call me at five five five, one two three four."),
        ("Call us on 555 123 4567 or my number 555 987 6543.", "Call us on five five five, one two three, four five six seven or my number five five five, nine eight seven, six five four three.", "Call us on five five five, one two three, four five six seven or my number five five five, nine eight seven, six five four three."),
        ("London +44 (0)20 7946 0958 or +44 (0) 20 7946 0958", "London plus four four, two oh, seven nine four six, oh nine five eight or plus four four, two oh, seven nine four six, oh nine five eight", "London plus four four, two oh, seven nine four six, oh nine five eight or plus four four, two oh, seven nine four six, oh nine five eight"),
        ("Ring +91 98765 43210.", "Ring plus nine one, nine eight seven six five, four three two one oh.", "Ring plus nine one, nine eight seven six five, four three two one oh."),
        ("Call 911 now, dial 999 or 112, call 111.", "Call nine one one now, dial nine nine nine or one one two, call one one one.", "Call nine one one now, dial nine nine nine or one one two, call one one one."),
        ("Call 555-123-4567 ext. 204, (555) 123-4567 x204 or 1-800-555-0199, extension 12.", "Call five five five, one two three, four five six seven, extension two oh four, five five five, one two three, four five six seven, extension two oh four or one, eight oh oh, five five five, oh one nine nine, extension one two.", "Call five five five, one two three, four five six seven, extension two oh four, five five five, one two three, four five six seven, extension two oh four or one, eight oh oh, five five five, oh one nine nine, extension one two."),
        ("In 2024 555 people came to the 555-1234 range, pages 10-20, a Boeing 737.", "In 2024 555 people came to the 555-1234 range, pages 10 to 20, a Boeing 737.", "In 2024 555 people came to the 555-1234 range, pages 10 to 20, a Boeing 737."),
        ("It closed at 555.1234; look at pages 555-1234, reach 500-1000 users, call 100 people, call 555 1234, call 911 callers, Item x204.", "It closed at 555.1234; look at pages 555-1234, reach 500-1000 users, call 100 people, call 555 1234, call 911 callers, Item x204.", "It closed at 555.1234; look at pages 555-1234, reach 500-1000 users, call 100 people, call 555 1234, call 911 callers, Item x204."),
        // Ranges.
        ("Read pages 5–7 and 10-20.", "Read pages 5 to 7 and 10 to 20.", "Read pages 5 to 7 and 10 to 20."),
        ("It won 3-2 in 1990-95, call 555-1234, COVID-19.", "It won 3-2 in 1990-95, call five five five, one two three four, COVID-19.", "It won 3-2 in 1990-95, call five five five, one two three four, COVID-19."),
        ("They lost 2-3, won 1-2 and beat them 4-5; the score was 2-3.", "They lost 2-3, won 1-2 and beat them 4-5; the score was 2-3.", "They lost 2-3, won 1-2 and beat them 4-5; the score was 2-3."),
        ("Between 5-10 people came in the 2020-21 season and 1999–00, not 2020-22.", "Between 5 and 10 people came in the twenty twenty to twenty twenty-one season and nineteen ninety-nine to two thousand, not 2020-22.", "Between 5 and 10 people came in the twenty twenty to twenty twenty-one season and nineteen ninety-nine to two thousand, not 2020-22."),
        ("Walk 5-10 km daily", "Walk 5 to 10 kilometers daily", "Walk 5 to 10 kilometres daily"),
        // Fractions.
        ("Add 1/2 cup and 3/4 spoon, 2/3 of it, 1/10 more.", "Add one half cup and three quarters spoon, two thirds of it, one tenth more.", "Add one half cup and three quarters spoon, two thirds of it, one tenth more."),
        ("Wait 2 1/2 hours, or 1 1/8.", "Wait two and a half hours, or one and an eighth.", "Wait two and a half hours, or one and an eighth."),
        ("Use ½ or 2¾ cups.", "Use one half or two and three quarters cups.", "Use one half or two and three quarters cups."),
        ("Take 99/100, 1/100, 2 1/100 and 3/1000.", "Take ninety-nine hundredths, one hundredth, two and a hundredth and three thousandths.", "Take ninety-nine hundredths, one hundredth, two and a hundredth and three thousandths."),
        ("Rated 4/5 stars, he got 9/10 right, scored 10/10, got 3/4 of it.", "Rated 4 out of 5 stars, he got 9 out of 10 right, scored 10 out of 10, got three quarters of it.", "Rated 4 out of 5 stars, he got 9 out of 10 right, scored 10 out of 10, got three quarters of it."),
        ("Add ½cup, 2½cups, ½½ or 1½½.", "Add one half cup, two and a half cups, one half one half or one and a half one half.", "Add one half cup, two and a half cups, one half one half or one and a half one half."),
        ("Open 24/7 since 9/11, closed on 1/5.", "Open 24/7 since 9/11, closed on 1/5.", "Open 24/7 since 9/11, closed on 1/5."),
        // Money.
        ("It costs ¥500 or ¥1,000.", "It costs 500 yen or 1,000 yen.", "It costs 500 yen or 1,000 yen."),
        ("Raised $5M, then $2.5 billion and €3bn.", "Raised 5 million dollars, then 2.5 billion dollars and 3 billion euros.", "Raised 5 million dollars, then 2.5 billion dollars and 3 billion euros."),
        ("Raised $5 million dollars, $5M USD, $5 USD, $1 dollar, £3 pounds and ¥500 yen, not $5.50 USD.", "Raised 5 million dollars, 5 million dollars, 5 dollars, 1 dollar, 3 pounds and 500 yen, not $5.50 USD.", "Raised 5 million dollars, 5 million dollars, 5 dollars, 1 dollar, 3 pounds and 500 yen, not $5.50 USD."),
        ("The company earned $4.5 million, £10k and ¥2bn.", "The company earned 4.5 million dollars, 10 thousand pounds and 2 billion yen.", "The company earned 4.5 million dollars, 10 thousand pounds and 2 billion yen."),
        // Units.
        ("Run 2.5 km, then 1 km, then 5km.", "Run 2.5 kilometers, then 1 kilometer, then 5 kilometers.", "Run 2.5 kilometres, then 1 kilometre, then 5 kilometres."),
        ("Weigh 3 kg, 200 g, 1 lb, 5 lbs, 8 oz.", "Weigh 3 kilograms, 200 grams, 1 pound, 5 pounds, 8 ounces.", "Weigh 3 kilograms, 200 grams, 1 pound, 5 pounds, 8 ounces."),
        ("It is 20°C, 68°F, 1 °C and 90°.", "It is 20 degrees Celsius, 68 degrees Fahrenheit, 1 degree Celsius and 90 degrees.", "It is 20 degrees Celsius, 68 degrees Fahrenheit, 1 degree Celsius and 90 degrees."),
        ("Drive 60 mph or 100 km/h, 1 kph, 3 m/s.", "Drive 60 miles per hour or 100 kilometers per hour, 1 kilometer per hour, 3 meters per second.", "Drive 60 miles per hour or 100 kilometres per hour, 1 kilometre per hour, 3 metres per second."),
        ("Pour 250 ml, 2 L and 1 l.", "Pour 250 milliliters, 2 liters and 1 liter.", "Pour 250 millilitres, 2 litres and 1 litre."),
        ("A 16 GB card, 512 MB, 1 TB, 64 KB at 3.2 GHz, 50 Hz, 20 kHz, 100 MHz.", "A 16 gigabyte card, 512 megabytes, 1 terabyte, 64 kilobytes at 3.2 gigahertz, 50 hertz, 20 kilohertz, 100 megahertz.", "A 16 gigabyte card, 512 megabytes, 1 terabyte, 64 kilobytes at 3.2 gigahertz, 50 hertz, 20 kilohertz, 100 megahertz."),
        ("Use 5 kW, 60 W, 12 V for 30 ms, 5 min or 2 h.", "Use 5 kilowatts, 60 watts, 12 volts for 30 milliseconds, 5 minutes or 2 hours.", "Use 5 kilowatts, 60 watts, 12 volts for 30 milliseconds, 5 minutes or 2 hours."),
        ("The pool is 50 m long, 3 mi, 6 ft and 10 cm, 5 mm, 2 mg.", "The pool is 50 meters long, 3 miles, 6 feet and 10 centimeters, 5 millimeters, 2 milligrams.", "The pool is 50 metres long, 3 miles, 6 feet and 10 centimetres, 5 millimetres, 2 milligrams."),
        ("He is 6 ft. tall; wait 10 min. then add 5 oz. of sugar, 2 lb., 3 km. Then 5 mi.", "He is 6 feet tall; wait 10 minutes then add 5 ounces of sugar, 2 pounds, 3 kilometers. Then 5 miles.", "He is 6 feet tall; wait 10 minutes then add 5 ounces of sugar, 2 pounds, 3 kilometres. Then 5 miles."),
        ("It was 20ºC, 68ºF and 45º here.", "It was 20 degrees Celsius, 68 degrees Fahrenheit and 45 degrees here.", "It was 20 degrees Celsius, 68 degrees Fahrenheit and 45 degrees here."),
        ("Rooms of 5 m², 1 m², 3 ft², 2 m³ and 5m², not 5 kg².", "Rooms of 5 square meters, 1 square meter, 3 square feet, 2 cubic meters and 5 square meters, not 5 kg².", "Rooms of 5 square metres, 1 square metre, 3 square feet, 2 cubic metres and 5 square metres, not 5 kg²."),
        ("A 5 km run, a 45° angle, an 8 GB stick, a 10 km and a 5 kg of rice.", "A 5 kilometer run, a 45 degree angle, an 8 gigabyte stick, a 10 kilometers and a 5 kilograms of rice.", "A 5 kilometre run, a 45 degree angle, an 8 gigabyte stick, a 10 kilometres and a 5 kilograms of rice."),
        ("A 100m sprint by 5m users ran 400m.", "A 100m sprint by 5m users ran 400 meters.", "A 100m sprint by 5m users ran 400 metres."),
        ("It is 5 in long at 45°N, 5 m² and $5 m.", "It is 5 in long at 45°N, 5 square meters and $5 m.", "It is 5 in long at 45°N, 5 square metres and $5 m."),
        ("Go to 100 W Main St and buy 60 W bulbs.", "Go to 100 W Main Street and buy 60 watts bulbs.", "Go to 100 W Main Street and buy 60 watts bulbs."),
        // Roman numerals.
        ("Henry VIII married; Elizabeth II reigned.", "Henry the Eighth married; Elizabeth the Second reigned.", "Henry the Eighth married; Elizabeth the Second reigned."),
        ("Queen Elizabeth I was crowned, King Tut III too.", "Queen Elizabeth the First was crowned, King Tut the Third too.", "Queen Elizabeth the First was crowned, King Tut the Third too."),
        ("After World War II and World War I.", "After World War Two and World War One.", "After World War Two and World War One."),
        ("Super Bowl LVIII, Chapter IV, Part I, Type II diabetes", "Super Bowl Fifty-eight, Chapter Four, Part One, Type Two diabetes", "Super Bowl Fifty-eight, Chapter Four, Part One, Type Two diabetes"),
        ("Louis XIV's palace, see chapter iv and chapter IV", "Louis the Fourteenth's palace, see chapter iv and chapter four", "Louis the Fourteenth's palace, see chapter iv and chapter four"),
        ("I told Henry I would. The book I read. Class C, Part D, Malcolm X.", "I told Henry I would. The book I read. Class C, Part D, Malcolm X.", "I told Henry I would. The book I read. Class C, Part D, Malcolm X."),
        ("Louis V. Gerstner, Joseph I. Lieberman and John V. Lindsay", "Louis V. Gerstner, Joseph I. Lieberman and John V. Lindsay", "Louis V. Gerstner, Joseph I. Lieberman and John V. Lindsay"),
        ("The Book I read, Book I Genesis, Book I.", "The Book I read, Book One Genesis, Book One.", "The Book I read, Book One Genesis, Book One."),
        ("CIVIL war, VIII alone, Henry IIII", "CIVIL war, VIII alone, Henry IIII", "CIVIL war, VIII alone, Henry IIII"),
        // Web addresses and hashes.
        ("See https://www.example.com/docs.", "See h t t p s colon slash slash w w w dot example dot com slash docs.", "See h t t p s colon slash slash w w w dot example dot com slash docs."),
        ("Mail jane.doe@example.org today", "Mail jane dot doe at example dot org today", "Mail jane dot doe at example dot org today"),
        ("Go to example.com or (www.test-site.co.uk/a_b?x=1).", "Go to example dot com or (w w w dot test dash site dot co dot uk slash a underscore b question mark x equals 1).", "Go to example dot com or (w w w dot test dash site dot co dot uk slash a underscore b question mark x equals 1)."),
        ("Node.js, file.txt and v1.2.3 stay", "Node.js, file.txt and v1.2.3 stay", "Node.js, file.txt and v1.2.3 stay"),
        ("Use #hashtags, #Hashtag_Fun.", "Use hashtags, Hashtag Fun.", "Use hashtags, Hashtag Fun."),
        ("He scored 1024 points in 1984 games", "He scored one thousand twenty-four points in 1984 games", "He scored one thousand and twenty-four points in 1984 games"),
        ("2500 people; 1984 was great; 1500 BC", "two thousand five hundred people; 1984 was great; 1500 BC", "two thousand five hundred people; 1984 was great; 1500 BC"),
        ("We're #1 with #MeToo, #100DaysOfCode and #throw_back.", "We're number one with hashtag MeToo, hashtag 100DaysOfCode and hashtag throw back.", "We're number one with hashtag MeToo, hashtag 100DaysOfCode and hashtag throw back."),
        ("Tags #a_#b, #a#b and #x@y stay.", "Tags #a_#b, #a#b and #x@y stay.", "Tags #a_#b, #a#b and #x@y stay."),
        ("C# and F# stay; #1st stays.", "C# and F# stay; #1st stays.", "C# and F# stay; #1st stays."),
    ];

    #[test]
    fn roman_numerals_must_be_canonical() {
        for (numeral, value) in [("I", 1), ("IV", 4), ("XIV", 14), ("LVIII", 58), ("XCIX", 99), ("MCMXCIV", 1994)] {
            assert_eq!(roman_value(numeral), Some(value), "{numeral}");
        }
        for bad in ["", "IIII", "IC", "VX", "IXI", "XCX", "MMMM", "iv", "ABC", "Ⅻ"] {
            assert_eq!(roman_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn expected_readings() {
        assert!(CASES.len() >= 60);
        let mut failures = Vec::new();
        for (input, want_us, want_gb) in CASES {
            for (got, want, variant) in [(us(input), want_us, "US"), (gb(input), want_gb, "GB")] {
                if got != *want {
                    failures.push(format!("{variant} {input:?}\n   got {got:?}\n  want {want:?}"));
                }
            }
        }
        assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    }

    /// Pieces tile the input; unchanged pieces are the input's own text.
    fn assert_pieces_are_consistent(text: &str, british: bool) {
        let pieces = normalize(text, british);
        let mut at = 0;
        for piece in &pieces {
            assert_eq!(piece.source.start, at, "gap or overlap in {text:?}: {pieces:?}");
            assert!(piece.source.end > piece.source.start, "empty piece in {text:?}");
            if !piece.normalized {
                assert_eq!(piece.text, text[piece.source.clone()]);
            }
            at = piece.source.end;
        }
        assert_eq!(at, text.len(), "pieces do not cover {text:?}");
        for pair in pieces.windows(2) {
            assert!(pair[0].normalized || pair[1].normalized, "unchanged pieces not merged in {text:?}");
        }
    }

    #[test]
    fn pieces_tile_the_input() {
        for (input, _, _) in CASES {
            assert_pieces_are_consistent(input, false);
            assert_pieces_are_consistent(input, true);
        }
        let pieces = normalize("Meet at 3:30 today", false);
        assert_eq!(
            pieces,
            vec![
                Piece { text: "Meet at ".into(), source: 0..8, normalized: false },
                Piece { text: "three thirty".into(), source: 8..12, normalized: true },
                Piece { text: " today".into(), source: 12..18, normalized: false },
            ]
        );
        assert_eq!(
            normalize("5km", true),
            vec![
                Piece { text: "5".into(), source: 0..1, normalized: false },
                Piece { text: " kilometres".into(), source: 1..3, normalized: true },
            ]
        );
        assert!(normalize("", false).is_empty());
    }

    #[test]
    fn unicode_is_left_alone() {
        for text in [
            "😀 3:30 😀",
            "שלום 5 km עולם",
            "e\u{301}t\u{301}e\u{301} 1/2",
            "Ⅻ ½½ ٣:٣٠ 5\u{301}km",
            "\u{feff}#\u{200d}1",
        ] {
            assert_pieces_are_consistent(text, false);
        }
        assert_eq!(us("😀 3:30 😀"), "😀 three thirty 😀");
        assert_eq!(us("שלום 5 km עולם"), "שלום 5 kilometers עולם");
        assert_eq!(us("www.exampleé.com"), "www.exampleé.com");
    }

    /// Random strings over the characters the rules look at never panic and always tile.
    #[test]
    fn random_text_never_breaks_invariants() {
        let alphabet: Vec<char> =
            "0123456789 :/-–.,$£€¥#@+()°º²½_?kmgLIVXhttpswwwStDrJanMonThe \n\tépm'’😀\u{301}אב".chars().collect();
        let mut rng = crate::phonemize::XorShift(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.next();
        for round in 0..3000 {
            let len = (next() % 60) as usize;
            let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            assert_pieces_are_consistent(&text, round % 2 == 0);
        }
    }

    /// Random sequences of the pieces telephone numbers are made of never panic and always tile.
    #[test]
    fn random_phone_fragments_never_break_invariants() {
        const FRAGMENTS: &[&str] = &[
            "call", "Tel", "at", "or", "people", " ", " ", ":", ".", ",", "-", "+", "(", ")", "(0)", "0", "1", "44",
            "555", "911", "1234", "98765", "ext", "x", "204", "\n",
        ];
        let mut rng = crate::phonemize::XorShift(0x9E37_79B9_7F4A_7C15);
        for round in 0..3000 {
            let len = rng.below(24);
            let text: String = (0..len).map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())]).collect();
            assert_pieces_are_consistent(&text, round % 2 == 1);
        }
    }

    #[test]
    fn megabyte_inputs_finish() {
        let sentence =
            "On Jan. 5, 2024 at 3:30pm Dr. Smith ran 5 km (555) 123-4567 #1 www.example.com/a e.g. Henry VIII ";
        let big = sentence.repeat(1 << 20 >> 7);
        let pieces = normalize(&big, false);
        assert!(pieces.len() > 10_000);
        for adversarial in [
            "1.".repeat(500_000),
            "(".repeat(1 << 20),
            "a.".repeat(500_000),
            "1-".repeat(500_000),
            "#a".repeat(500_000),
            "a@b.".repeat(250_000),
            "½".repeat(400_000),
            "#a_".repeat(300_000),
            "the Dr. He ".repeat(100_000),
            format!("call{}555-1234", ":".repeat(1 << 20)),
            "Tel: 555-1234 x".repeat(60_000),
            "+44 (0)".repeat(120_000),
        ] {
            assert_pieces_are_consistent(&adversarial, false);
        }
    }
}
