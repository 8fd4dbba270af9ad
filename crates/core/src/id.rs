//! Account ids: case-sensitive text, never floats, and the opt-in normalizers.

use std::borrow::Borrow;
use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Our account id: exact, case-sensitive text.
///
/// A JSON string is kept exactly as given (surrounding whitespace included, because a mangled id must
/// fail visibly rather than link silently). An integral JSON number (`12345` or `12345.0`) becomes the
/// text `"12345"`; a non-integral number is not an id at all.
/// Cheap to clone: an id of up to 24 bytes (every vendor's id format we know) is stored inline, so
/// a clone copies it without an allocation or a shared counter on another cache line: the linker's
/// hot path clones the account id of every record it links.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(CompactString);

impl Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AccountId::new(text).map_err(serde::de::Error::custom)
    }
}

/// Why a value cannot be an account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAccountId {
    #[error("the account id is empty")]
    Empty,
    #[error("{0} is not an integral number, so it cannot be an account id")]
    NonIntegral(String),
    #[error("a {0} cannot be an account id (expected text or an integral number)")]
    WrongType(&'static str),
}

impl AccountId {
    /// An id from text, kept exactly as given. Only the empty string is refused.
    pub fn new(text: impl Into<String>) -> Result<Self, InvalidAccountId> {
        let text: String = text.into();
        if text.is_empty() {
            return Err(InvalidAccountId::Empty);
        }
        Ok(Self(text.into()))
    }

    /// An id from a JSON value, by the rules in DESIGN.md.
    pub fn from_json(value: &Value) -> Result<Self, InvalidAccountId> {
        match value {
            Value::String(s) => Self::new(s.as_str()),
            Value::Number(n) => {
                integral_text(n).map(|t| Self(t.into())).ok_or_else(|| InvalidAccountId::NonIntegral(n.to_string()))
            }
            Value::Null => Err(InvalidAccountId::Empty),
            Value::Bool(_) => Err(InvalidAccountId::WrongType("boolean")),
            Value::Array(_) => Err(InvalidAccountId::WrongType("list")),
            Value::Object(_) => Err(InvalidAccountId::WrongType("object")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0.to_string()
    }
}

/// The text of an integral JSON number (`12345.0` → `"12345"`), or `None` when it is not an exact integer.
///
/// Read from the number's text, never through `f64`: the workspace enables serde_json's
/// `arbitrary_precision`, so a `Number` keeps the digits it was written with and
/// `9.007199254740993e15` is `"9007199254740993"`, not the nearest float.
pub fn integral_text(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    decimal_integer_text(&n.to_string())
}

/// The longest integer text `decimal_integer_text` produces; longer (e.g. `1e100000`) is refused
/// before anything that size is allocated.
pub const MAX_INTEGER_DIGITS: usize = 1000;

/// The exact integer text of a JSON decimal number's text: `"12345"`, `"12345.0"`, `"1.2345e4"` and
/// `"0012345"` all give `"12345"`; `"100e-2"` gives `"1"`.
///
/// `None` when the text is not a number (JSON grammar, leading zeros allowed), when its value is not
/// an exact integer (`"1.5"`, `"1e-3"`), or when the integer would have more than
/// [`MAX_INTEGER_DIGITS`] digits. Zero has no sign: `"-0"` and `"-0.0e5"` give `"0"`, because they are
/// the same integer as `0` and must name the same account.
pub fn decimal_integer_text(text: &str) -> Option<String> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let frac = frac.unwrap_or("");
    let exp_digits = match exponent {
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if !all_digits(digits) {
                return None;
            }
            Some((e.starts_with('-'), digits))
        }
        None => None,
    };
    // The value is `significant × 10^scale`, with `significant` free of leading and trailing zeros.
    let joined = || int.bytes().chain(frac.bytes());
    let total = int.len() + frac.len();
    let leading = joined().take_while(|&b| b == b'0').count();
    if leading == total {
        return Some("0".to_owned());
    }
    let trailing = frac.bytes().rev().chain(int.bytes().rev()).take_while(|&b| b == b'0').count();
    let significant = total - leading - trailing;
    let exp: i64 = match exp_digits {
        None => 0,
        Some((neg, digits)) => {
            // An exponent too large for an i64 is far beyond the digit cap either way: a huge positive
            // one makes too many digits, a huge negative one leaves a fraction.
            let magnitude: i64 = digits.parse().ok()?;
            if neg { -magnitude } else { magnitude }
        }
    };
    let scale = exp.checked_sub(i64::try_from(frac.len()).ok()?)?.checked_add(i64::try_from(trailing).ok()?)?;
    if scale < 0 {
        return None;
    }
    let zeros = usize::try_from(scale).ok()?;
    if significant.checked_add(zeros)? > MAX_INTEGER_DIGITS {
        return None;
    }
    let mut out = String::with_capacity(usize::from(negative) + significant + zeros);
    if negative {
        out.push('-');
    }
    out.extend(joined().skip(leading).take(significant).map(char::from));
    out.extend(std::iter::repeat_n('0', zeros));
    Some(out)
}

/// The text of a key found in a record: strings as given, integral numbers as integer text.
///
/// Used for every kind of link key (native ids, emails, user ids), not only account ids.
pub fn key_text(value: &Value) -> Result<Option<String>, InvalidAccountId> {
    key_str(value).map(|k| k.map(std::borrow::Cow::into_owned))
}

/// Like `key_text`, borrowing the text when the value is a string.
pub fn key_str(value: &Value) -> Result<Option<std::borrow::Cow<'_, str>>, InvalidAccountId> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(std::borrow::Cow::Borrowed(s))),
        other => AccountId::from_json(other).map(|id| Some(std::borrow::Cow::Owned(id.0.to_string()))),
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_str())
    }
}

impl Borrow<str> for AccountId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An id normalizer a user can opt a source into when they know the source mangles ids.
/// None is applied by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalizer {
    /// Remove surrounding whitespace.
    Trim,
    /// `"12345.0"` (or `"12345.000"`) becomes `"12345"`.
    IntegerText,
    /// Compare in lower case (the account ids of the hub are lower-cased for the lookup too).
    Lowercase,
}

impl Normalizer {
    pub const ALL: [Normalizer; 3] = [Normalizer::Trim, Normalizer::IntegerText, Normalizer::Lowercase];

    pub fn name(self) -> &'static str {
        match self {
            Normalizer::Trim => "trim",
            Normalizer::IntegerText => "integer_text",
            Normalizer::Lowercase => "lowercase",
        }
    }

    pub fn apply(self, key: &str) -> String {
        match self {
            Normalizer::Trim => key.trim().to_owned(),
            Normalizer::IntegerText => strip_zero_fraction(key).unwrap_or(key).to_owned(),
            Normalizer::Lowercase => key.to_lowercase(),
        }
    }
}

/// Applies normalizers in order. Returns the input unchanged (borrowed) when there are none.
pub fn normalize<'a>(key: &'a str, normalizers: &[Normalizer]) -> std::borrow::Cow<'a, str> {
    let mut out = std::borrow::Cow::Borrowed(key);
    for n in normalizers {
        out = std::borrow::Cow::Owned(n.apply(&out));
    }
    out
}

/// `"12345.0"` → `Some("12345")`; anything that is not digits followed by `.` and zeros → `None`.
pub fn strip_zero_fraction(key: &str) -> Option<&str> {
    let (int, frac) = key.split_once('.')?;
    let digits = int.strip_prefix('-').unwrap_or(int);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0');
    ok.then_some(int)
}

/// The canonical text of a JSON number, read from its text: one text per number, whatever its
/// spelling (`1.5`, `1.50`, `15e-1`; `100`, `1e2`, `100.0`). Integers are their plain integer text;
/// other numbers are the shortest `f64` text when that is the same number (as `serde_json` writes
/// it), else an exact `<digits>e<exponent>` form. Never rounds: two different numbers keep two texts.
pub fn canonical_number(text: &str) -> String {
    let Some((negative, digits, exp)) = decimal_parts(text) else { return text.to_owned() };
    if digits == "0" {
        return "0".to_owned();
    }
    let sign = if negative { "-" } else { "" };
    if (0..=400).contains(&exp) {
        return format!("{sign}{digits}{}", "0".repeat(exp as usize));
    }
    if exp >= 0 {
        return format!("{sign}{digits}e{exp}");
    }
    if let Ok(f) = text.parse::<f64>()
        && f.is_finite()
        && let Ok(shortest) = serde_json::to_string(&f)
        && decimal_parts(&shortest).is_some_and(|p| p == (negative, digits.clone(), exp))
    {
        return shortest;
    }
    format!("{sign}{digits}e{exp}")
}

/// A JSON number's text as a plain decimal, without exponent: `1.25e2` → `"125"`, `5E-1` →
/// `"0.5"`. `None` for text that is not a number, or whose exponent would write more than 400
/// digits.
pub fn plain_decimal(text: &str) -> Option<String> {
    let (negative, digits, exp) = decimal_parts(text)?;
    if exp.unsigned_abs() > 400 {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    Some(if exp >= 0 {
        format!("{sign}{digits}{}", "0".repeat(exp as usize))
    } else {
        let point = digits.len() as i64 + exp;
        if point > 0 {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        }
    })
}

/// A decimal number's sign, significant digits (no leading or trailing zeros; `"0"` for zero) and
/// power of ten: `-1.50e2` → `(true, "15", 1)`. `None` for text that is not a JSON number.
fn decimal_parts(text: &str) -> Option<(bool, String, i64)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e).parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut exp = exp.checked_sub(frac.len() as i64)?;
    let all: String = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    let kept = trimmed.trim_end_matches('0');
    exp = exp.checked_add((trimmed.len() - kept.len()) as i64)?;
    if kept.is_empty() {
        return Some((false, "0".to_owned(), 0));
    }
    Some((negative, kept.to_owned(), exp))
}

/// The form under which near-miss ids meet: trimmed, and without a zero fraction (`" 1042.0 "`,
/// `"1042.00"` and `"1042"` all give `"1042"`). Two different ids with one near key are a hint
/// (whitespace or float formatting), never a link.
pub fn near_key(id: &str) -> &str {
    let t = id.trim();
    strip_zero_fraction(t).unwrap_or(t)
}

/// The keys whose accounts decide the near-miss hints of an unknown account id `key`: the
/// quarantine watches them too, so a rejection's hints are the same whether the near-miss account
/// arrived before it or after.
pub fn near_miss_keys(key: &str) -> Vec<crate::TriedKey> {
    use crate::{KeySpace, TriedKey};
    vec![
        TriedKey { space: KeySpace::AccountNear, key: near_key(key).to_owned() },
        TriedKey { space: KeySpace::AccountLower, key: key.trim().to_lowercase() },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_decimals_have_no_exponent() {
        assert_eq!(plain_decimal("1.25e2").as_deref(), Some("125"));
        assert_eq!(plain_decimal("5E-1").as_deref(), Some("0.5"));
        assert_eq!(plain_decimal("-1250e-3").as_deref(), Some("-1.25"));
        assert_eq!(plain_decimal("12.50").as_deref(), Some("12.5"));
        assert_eq!(plain_decimal("0.0").as_deref(), Some("0"));
        assert_eq!(plain_decimal("1e999"), None);
        assert_eq!(plain_decimal("abc"), None);
    }

    #[test]
    fn one_canonical_text_per_number() {
        for (same, canonical) in [
            (&["1.5", "1.50", "15e-1", "0.15e1", "1.5E0"][..], "1.5"),
            (&["100", "1e2", "100.0", "1.00E+2"][..], "100"),
            (&["0", "-0", "0.000", "0e5"][..], "0"),
            (&["-2.25", "-225e-2"][..], "-2.25"),
            (&["1714550400000", "1.7145504e12"][..], "1714550400000"),
        ] {
            for text in same {
                assert_eq!(canonical_number(text), canonical, "{text}");
            }
        }
        // Numbers an f64 cannot tell apart keep their own exact texts.
        assert_ne!(canonical_number("0.1"), canonical_number("0.1000000000000000055511151231257827"));
        assert_eq!(canonical_number("0.1000000000000000055511151231257827"), "1000000000000000055511151231257827e-34");
        assert_ne!(canonical_number("12345678901234567890.1"), canonical_number("12345678901234567890.2"));
    }

    #[test]
    fn strings_are_kept_exactly() {
        assert_eq!(AccountId::from_json(&json!(" Acme ")).unwrap().as_str(), " Acme ");
        assert_eq!(AccountId::from_json(&json!("12345.0")).unwrap().as_str(), "12345.0");
        assert_ne!(AccountId::new("acme").unwrap(), AccountId::new("ACME").unwrap());
    }

    #[test]
    fn integral_numbers_become_integer_text() {
        assert_eq!(AccountId::from_json(&json!(12345)).unwrap().as_str(), "12345");
        assert_eq!(AccountId::from_json(&json!(12345.0)).unwrap().as_str(), "12345");
        assert_eq!(AccountId::from_json(&json!(-7)).unwrap().as_str(), "-7");
        assert_eq!(AccountId::from_json(&json!(u64::MAX)).unwrap().as_str(), u64::MAX.to_string());
    }

    #[test]
    fn non_integral_numbers_and_other_types_are_invalid() {
        assert_eq!(AccountId::from_json(&json!(12.5)), Err(InvalidAccountId::NonIntegral("12.5".into())));
        assert!(matches!(AccountId::from_json(&json!(true)), Err(InvalidAccountId::WrongType(_))));
        assert_eq!(AccountId::from_json(&json!("")), Err(InvalidAccountId::Empty));
        assert_eq!(AccountId::from_json(&Value::Null), Err(InvalidAccountId::Empty));
    }

    #[test]
    fn normalizers_do_only_what_they_say() {
        assert_eq!(Normalizer::Trim.apply(" 42 "), "42");
        assert_eq!(Normalizer::IntegerText.apply("42.00"), "42");
        assert_eq!(Normalizer::IntegerText.apply("42.5"), "42.5");
        assert_eq!(Normalizer::IntegerText.apply("v1.0"), "v1.0");
        assert_eq!(Normalizer::Lowercase.apply("AcMe"), "acme");
        assert_eq!(normalize(" 42.0 ", &[Normalizer::Trim, Normalizer::IntegerText]), "42");
        assert_eq!(normalize(" 42.0 ", &[]), " 42.0 ");
    }

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn numbers_are_read_from_their_text_not_through_a_float() {
        let id = |text: &str| AccountId::from_json(&number(text)).map(|a| a.into_string());
        assert_eq!(id("9.007199254740993e15").unwrap(), "9007199254740993");
        assert_eq!(id("12345678901234567890.0").unwrap(), "12345678901234567890");
        assert_eq!(id("123456789012345678901234567890").unwrap(), "123456789012345678901234567890");
        assert_eq!(id("12345.0").unwrap(), "12345");
        assert_eq!(id("1.2345e4").unwrap(), "12345");
        assert_eq!(id("100e-2").unwrap(), "1");
        assert_eq!(id("-0").unwrap(), "0");
        assert_eq!(id("1.5"), Err(InvalidAccountId::NonIntegral("1.5".into())));
        assert_eq!(id("1e-3"), Err(InvalidAccountId::NonIntegral("1e-3".into())));
        assert!(id("1e100000").is_err());
    }

    #[test]
    fn decimal_text_converts_exactly() {
        let d = decimal_integer_text;
        assert_eq!(d("12345").as_deref(), Some("12345"));
        assert_eq!(d("0012345.000").as_deref(), Some("12345"));
        assert_eq!(d("-12.5e1").as_deref(), Some("-125"));
        assert_eq!(d("1.2345E+4").as_deref(), Some("12345"));
        assert_eq!(d("1200e-2").as_deref(), Some("12"));
        assert_eq!(d("0.0001e4").as_deref(), Some("1"));
        assert_eq!(d("1e3").as_deref(), Some("1000"));
        assert_eq!(d("0").as_deref(), Some("0"));
        assert_eq!(d("-0.0e5").as_deref(), Some("0"));
        assert_eq!(d("0e99999999999999999999999").as_deref(), Some("0"));
        assert_eq!(d("1e999").map(|t| t.len()), Some(1000));
        assert_eq!(d("1e1000"), None, "over the digit cap");
        assert_eq!(d("1e99999999999999999999999"), None, "exponent beyond i64");
        assert_eq!(d("1e-99999999999999999999999"), None);
        assert_eq!(d("1.5"), None);
        assert_eq!(d("1e-3"), None);
        assert_eq!(d("1001e-3"), None);
        for bad in ["", "-", ".5", "5.", "1e", "1e+", "abc", "1.2.3", "+1", "1_000", " 1"] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn integers_survive_any_decimal_spelling(i in proptest::num::i64::ANY, shift in 0usize..30) {
            // i written as i·10^shift / 10^shift, i.e. with `shift` fraction digits and exponent `shift`.
            let text = i.unsigned_abs().to_string();
            let sign = if i < 0 { "-" } else { "" };
            let padded = format!("{}{text}", "0".repeat(shift));
            let (int, frac) = padded.split_at(padded.len() - shift);
            let spelled = if shift == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}e{shift}") };
            proptest::prop_assert_eq!(decimal_integer_text(&spelled), Some(i.to_string()));
        }


        #[test]
        fn any_string_id_round_trips(s in "\\PC{1,20}") {
            let id = AccountId::from_json(&Value::String(s.clone())).unwrap();
            proptest::prop_assert_eq!(id.as_str(), s.as_str());
        }

        #[test]
        fn integral_floats_match_integers(i in -1_000_000_000i64..1_000_000_000) {
            let from_float = AccountId::from_json(&json!(i as f64)).unwrap();
            let from_int = AccountId::from_json(&json!(i)).unwrap();
            proptest::prop_assert_eq!(from_float, from_int);
        }
    }
}
