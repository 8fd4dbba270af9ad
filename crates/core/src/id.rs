//! Account ids: case-sensitive text, never floats, and the opt-in normalizers.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Our account id: exact, case-sensitive text.
///
/// A JSON string is kept exactly as given (surrounding whitespace included, because a mangled id must
/// fail visibly rather than link silently). An integral JSON number (`12345` or `12345.0`) becomes the
/// text `"12345"`; a non-integral number is not an id at all.
/// Cheap to clone: the text is shared.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Arc<str>);

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

/// The text of an integral JSON number (`12345.0` → `"12345"`), or `None` when it has a fraction.
pub fn integral_text(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()?;
    (f.is_finite() && f.fract() == 0.0).then(|| format!("{f:.0}"))
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
        write!(f, "{:?}", self.0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    proptest::proptest! {
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
