//! English number words exactly as Python's `num2words` 0.5 (`lang='en'`) writes them, the
//! words misaki reads numbers with: cardinals ("one hundred and twenty-three"), ordinals,
//! years ("nineteen oh-five") and `num2words(float(text))` for decimals.
//!
//! num2words refuses integers from 10^306 up; those give `None` here.

/// Words for 0..=19.
const SMALL: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
/// Words for the multiples of ten, indexed by the tens digit (0 and 1 unused).
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
/// Latin stems of 10^6 .. 10^30 (short scale), indexed by power of a thousand minus two.
const LOW_ILLIONS: [&str; 9] = ["m", "b", "tr", "quadr", "quint", "sext", "sept", "oct", "non"];
/// num2words composes 10^33 .. 10^300 from a units prefix and a tens stem ("un" + "dec").
const ILLION_UNITS: [&str; 10] = ["", "un", "duo", "tre", "quattuor", "quin", "sex", "sept", "octo", "novem"];
const ILLION_TENS: [&str; 9] =
    ["dec", "vigint", "trigint", "quadragint", "quinquagint", "sexagint", "septuagint", "octogint", "nonagint"];
/// Powers of a thousand num2words has a name for: thousand (1) up to centillion (101).
const MAX_SCALE: usize = 101;
/// num2words raises OverflowError from 10^306 up, so at most 306 significant digits.
const MAX_DIGITS: usize = 3 * (MAX_SCALE + 1);

/// `digits`: ASCII decimal digits, no sign/commas. None if num2words would refuse it (too large).
pub fn cardinal(digits: &str) -> Option<String> {
    let significant = significant_digits(digits)?;
    let groups = thousands_groups(significant);
    Some(groups_to_words(&groups))
}

/// `num2words(int, to='ordinal')`: the cardinal with its last word made ordinal ("twenty-first").
pub fn ordinal(digits: &str) -> Option<String> {
    let words = cardinal(digits)?;
    // Only the last hyphen-separated part of the last word changes.
    let split = words.rfind([' ', '-']).map_or(0, |i| i + 1);
    let (head, last) = words.split_at(split);
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        other => match other.strip_suffix('y') {
            Some(stem) => format!("{stem}ieth"),
            None => format!("{other}th"),
        },
    };
    Some(format!("{head}{last}"))
}

/// `num2words(int, to='year')`: "nineteen eighty-four", "nineteen hundred", "nineteen oh-five";
/// years like 2005, 1000 and anything from 10000 up are read as cardinals.
pub fn year(digits: &str) -> Option<String> {
    let significant = significant_digits(digits)?;
    if significant.len() > 4 {
        return cardinal(significant);
    }
    let value: u32 = significant.parse().ok()?;
    let (high, low) = (value / 100, value % 100);
    if high == 0 || (high % 10 == 0 && low < 10) {
        return cardinal(significant);
    }
    let low_words = match low {
        0 => "hundred".to_string(),
        1..=9 => format!("oh-{}", SMALL[low as usize]),
        _ => below_thousand(low),
    };
    Some(format!("{} {low_words}", below_thousand(high)))
}

/// num2words(float(text)) for text like "3.14", "0.5", "10.05", ".5" (Python float repr rules
/// matter: float("2.50") prints as 2.5). None for what Python would not accept.
///
/// Accepted: an optional sign, digits with at most one point, an optional exponent ("1e5").
/// Python's other spellings (underscores, surrounding spaces) give None, as do "inf" and "nan",
/// which num2words refuses anyway.
pub fn decimal(text: &str) -> Option<String> {
    if !is_python_float_literal(text) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    if value.fract() == 0.0 {
        // num2words takes integral floats down its integer path.
        let sign = if value < 0.0 { "minus " } else { "" };
        return Some(format!("{sign}{}", integral_float_words(value.abs())?));
    }
    fractional_float_words(value)
}

/// The digits without leading zeros ("0" for zero); None for non-digits or too many digits.
fn significant_digits(digits: &str) -> Option<&str> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    let significant = if trimmed.is_empty() { "0" } else { trimmed };
    (significant.len() <= MAX_DIGITS).then_some(significant)
}

/// Splits ASCII digits into groups of three, most significant first.
fn thousands_groups(digits: &str) -> Vec<u32> {
    let bytes = digits.as_bytes();
    let first = match bytes.len() % 3 {
        0 => 3,
        n => n,
    };
    let value = |chunk: &[u8]| chunk.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'));
    let mut groups = vec![value(&bytes[..first])];
    groups.extend(bytes[first..].chunks(3).map(value));
    groups
}

/// num2words' reading of the number whose thousands groups these are: the leading group names
/// its scale, and the rest follows after "and" when below 100, after a comma otherwise.
fn groups_to_words(groups: &[u32]) -> String {
    let start = groups.iter().position(|&g| g != 0);
    let Some(start) = start else { return SMALL[0].to_string() };
    let groups = &groups[start..];
    let mut words = String::new();
    let mut rest = groups;
    while let Some((&lead, tail)) = rest.split_first() {
        if tail.is_empty() {
            words.push_str(&below_thousand(lead));
            break;
        }
        words.push_str(&below_thousand(lead));
        words.push(' ');
        words.push_str(&scale_name(tail.len()));
        let next = tail.iter().position(|&g| g != 0);
        let Some(next) = next else { break };
        rest = &tail[next..];
        let rest_below_hundred = rest.len() == 1 && rest[0] < 100;
        words.push_str(if rest_below_hundred { " and " } else { ", " });
    }
    words
}

/// 0..=999 as num2words writes it: "seven", "forty-two", "one hundred and five".
fn below_thousand(n: u32) -> String {
    let (hundreds, rest) = (n / 100, n % 100);
    let below_hundred = |n: u32| -> String {
        match (n / 10, n % 10) {
            (0 | 1, _) => SMALL[n as usize].to_string(),
            (tens, 0) => TENS[tens as usize].to_string(),
            (tens, units) => format!("{}-{}", TENS[tens as usize], SMALL[units as usize]),
        }
    };
    match (hundreds, rest) {
        (0, _) => below_hundred(rest),
        (h, 0) => format!("{} hundred", SMALL[h as usize]),
        (h, r) => format!("{} hundred and {}", SMALL[h as usize], below_hundred(r)),
    }
}

/// The name of 1000^power ("thousand", "million", ..., "centillion").
fn scale_name(power: usize) -> String {
    match power {
        1 => "thousand".to_string(),
        2..=10 => format!("{}illion", LOW_ILLIONS[power - 2]),
        MAX_SCALE => "centillion".to_string(),
        _ => {
            let index = power - 11;
            let tens = ILLION_TENS.get(index / 10).copied().unwrap_or_default();
            format!("{}{tens}illion", ILLION_UNITS[index % 10])
        }
    }
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`
fn is_python_float_literal(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

/// The exact decimal digits of a non-negative integral float.
fn exact_integer_digits(value: f64) -> String {
    format!("{value:.0}")
}

/// num2words' integer path run on a float: below 2^53 that is the integer itself; above, its
/// splitting follows Python's float `divmod` by `float(10**k)`, which is what makes
/// `num2words(1e23)` read 99999999999999991611392. From 10^306 up num2words refuses.
fn integral_float_words(value: f64) -> Option<String> {
    let digits = exact_integer_digits(value);
    if digits.len() > MAX_DIGITS {
        return None;
    }
    if value < 9_007_199_254_740_992.0 {
        return cardinal(&digits);
    }
    let power = (digits.len() - 1) / 3;
    let divisor: f64 = format!("1e{}", 3 * power).parse().ok()?;
    let (quotient, remainder) = python_divmod(value, divisor);
    if quotient < 1.0 {
        // Python would recurse until RecursionError; no float reaches this.
        return None;
    }
    let lead = if quotient == 1.0 { SMALL[1].to_string() } else { integral_float_words(quotient)? };
    let mut words = format!("{lead} {}", scale_name(power));
    if remainder != 0.0 {
        words.push_str(if remainder < 100.0 { " and " } else { ", " });
        words.push_str(&integral_float_words(remainder)?);
    }
    Some(words)
}

/// CPython's `float.__divmod__` for positive operands: an exact `fmod`, then a quotient
/// snapped to the nearest integer.
fn python_divmod(dividend: f64, divisor: f64) -> (f64, f64) {
    let remainder = dividend % divisor;
    let quotient = (dividend - remainder) / divisor;
    if quotient == 0.0 {
        return (0.0, remainder);
    }
    let mut floor = quotient.floor();
    if quotient - floor > 0.5 {
        floor += 1.0;
    }
    (floor, remainder)
}

/// num2words' `to_cardinal_float`: the integer part, "point", then one word per decimal of
/// Python's `repr` of the float, the decimals taken from `(value - int(value)) * 10**places`
/// (rounded when within 0.01 of an integer, floored otherwise).
fn fractional_float_words(value: f64) -> Option<String> {
    let whole = value.trunc();
    let places = repr_decimal_places(value)?;
    // Python converts 10**places to float and overflows from 10^309 up.
    let scale: f64 = format!("1e{places}").parse().ok()?;
    if !scale.is_finite() {
        return None;
    }
    let scaled = (value - whole).abs() * scale;
    let rounded = scaled.round_ties_even();
    let post = if (rounded - scaled).abs() < 0.01 { rounded } else { scaled.floor() };
    let post_digits = exact_integer_digits(post);
    let padded = format!("{}{post_digits}", "0".repeat(places.saturating_sub(post_digits.len())));
    let whole_sign = if whole < 0.0 { "minus " } else { "" };
    let mut words = format!("{whole_sign}{} point", integral_float_words(whole.abs())?);
    for digit in padded.bytes().take(places) {
        words.push(' ');
        words.push_str(SMALL[usize::from(digit - b'0')]);
    }
    Some(words)
}

/// How many decimals Python's `repr` of the float shows (`Decimal(str(value))`'s exponent):
/// Rust's `{:e}` prints the same shortest round-trip digits.
fn repr_decimal_places(value: f64) -> Option<usize> {
    let sci = format!("{:e}", value.abs());
    let (mantissa, exponent) = sci.split_once('e')?;
    let exponent: i64 = exponent.parse().ok()?;
    let digit_count = mantissa.bytes().filter(u8::is_ascii_digit).count() as i64;
    usize::try_from(digit_count - 1 - exponent).ok()
}

/// Python's `int()` of a digit string, as digits again ("007" → "7", "000" → "0").
pub fn without_leading_zeros(digits: &str) -> &str {
    let t = digits.trim_start_matches('0');
    if t.is_empty() && !digits.is_empty() { "0" } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of the num2words reference table: (kind, input, expected or None).
    fn reference_rows() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
        let table = include_str!("../../tests/fixtures/phonemize/num2words.tsv");
        table
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let mut fields = line.splitn(3, '\t');
                let kind = fields.next().unwrap_or_default();
                let input = fields.next().unwrap_or_default();
                let expected = fields.next().unwrap_or_default();
                (kind, input, (expected != "None").then_some(expected))
            })
            .collect()
    }

    #[test]
    fn matches_python_num2words_table() {
        let rows = reference_rows();
        assert!(rows.len() >= 300, "table has {} rows", rows.len());
        let mut failures = Vec::new();
        for (kind, input, expected) in &rows {
            let got = match *kind {
                "cardinal" => cardinal(input),
                "ordinal" => ordinal(input),
                "year" => year(input),
                "decimal" => decimal(input),
                other => panic!("unknown kind {other}"),
            };
            if got.as_deref() != *expected {
                failures.push(format!("{kind}({input:?}): got {got:?}, want {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn table_covers_the_required_ranges() {
        let rows = reference_rows();
        let has = |kind: &str, input: &str| rows.iter().any(|(k, i, _)| *k == kind && *i == input);
        for n in 0..=120 {
            assert!(has("cardinal", &n.to_string()) && has("ordinal", &n.to_string()), "{n}");
        }
        for y in (1000..=2099).filter(|y| (2000..=2009).contains(y) || y % 100 == 0 || *y == 1066) {
            assert!(has("year", &y.to_string()), "{y}");
        }
    }

    #[test]
    fn spot_values() {
        assert_eq!(cardinal("123").as_deref(), Some("one hundred and twenty-three"));
        assert_eq!(cardinal("1000100").as_deref(), Some("one million, one hundred"));
        assert_eq!(cardinal("000").as_deref(), Some("zero"));
        assert_eq!(ordinal("21").as_deref(), Some("twenty-first"));
        assert_eq!(ordinal("1100").as_deref(), Some("one thousand, one hundredth"));
        assert_eq!(year("1905").as_deref(), Some("nineteen oh-five"));
        assert_eq!(year("2005").as_deref(), Some("two thousand and five"));
        assert_eq!(decimal("2.50").as_deref(), Some("two point five"));
        assert_eq!(scale_name(11), "decillion");
        assert_eq!(scale_name(100), "novemnonagintillion");
    }

    #[test]
    fn refuses_what_python_refuses() {
        for bad in ["", "12a", "-5", "1,000", "٣"] {
            assert_eq!(cardinal(bad), None, "{bad:?}");
            assert_eq!(ordinal(bad), None, "{bad:?}");
            assert_eq!(year(bad), None, "{bad:?}");
        }
        assert!(cardinal(&"9".repeat(306)).is_some());
        assert_eq!(cardinal(&format!("1{}", "0".repeat(306))), None);
        assert!(cardinal(&format!("{}1", "0".repeat(1000))).is_some());
        for bad in ["", ".", "1.2.3", "1e", "e5", "inf", "nan", "1_0", " 1", "1,5", "--1", "0x10"] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    /// Random digit strings never panic and stay consistent with the limits.
    #[test]
    fn random_inputs_never_panic() {
        let mut rng = crate::phonemize::XorShift(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next();
        let alphabet = b"0123456789.eE+-_ x";
        for _ in 0..5000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char).collect();
            let _ = decimal(&text);
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(cardinal(&digits).is_some(), !digits.is_empty(), "{digits:?}");
            let _ = (ordinal(&digits), year(&digits));
        }
    }
}
