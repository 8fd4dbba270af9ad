//! Field paths: where a value sits inside a source record.
//!
//! `external_id`, `metadata.account_id`, `companies.data[0].company_id`,
//! `custom_fields[id=360001].value`, `fields[definition.name=Account ID].value` (the selector's key
//! may be nested), and `["Acct.No"]` for a key that itself contains a dot.
//! CSV headers with spaces need no quoting: `Account Number` is one segment.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Segment {
    Key(String),
    Index(usize),
    /// The first element of an array whose `key` equals `value` (compared as text).
    Match {
        key: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field path {path:?}: {problem}")]
pub struct PathError {
    pub path: String,
    pub problem: String,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |problem: &str| PathError { path: text.to_owned(), problem: problem.to_owned() };
        if text.trim().is_empty() {
            return Err(err("it is empty"));
        }
        if text == "." {
            return Ok(Self::root());
        }
        let mut segments = Vec::new();
        let mut rest = text;
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]").ok_or_else(|| err("a [\"...\"] key is not closed"))?;
                segments.push(Segment::Key(after[..end].to_owned()));
                rest = &after[end + 2..];
                expect_key = false;
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| err("a [...] selector is not closed"))?;
                let inner = &after[..end];
                if let Some((k, v)) = inner.split_once('=') {
                    if k.is_empty() {
                        return Err(err("a [key=value] selector needs a key"));
                    }
                    segments.push(Segment::Match { key: k.trim().to_owned(), value: v.trim().to_owned() });
                } else {
                    let i = inner.trim().parse().map_err(|_| err("[...] must hold an index or key=value"))?;
                    segments.push(Segment::Index(i));
                }
                rest = &after[end + 1..];
                expect_key = false;
            } else if let Some(after) = rest.strip_prefix('.') {
                if expect_key {
                    return Err(err("it has an empty segment"));
                }
                rest = after;
                expect_key = true;
                if rest.is_empty() {
                    return Err(err("it ends with a dot"));
                }
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                if end == 0 {
                    return Err(err("it has an empty segment"));
                }
                segments.push(Segment::Key(rest[..end].to_owned()));
                rest = &rest[end..];
                expect_key = false;
            }
        }
        Ok(Self { text: text.to_owned(), segments })
    }

    /// A path of one key, taken literally (no parsing): for generated mappings.
    pub fn key(key: &str) -> Self {
        Self { text: key.to_owned(), segments: vec![Segment::Key(key.to_owned())] }
    }

    /// The record itself: for answers that are a bare JSON array of records (Freshdesk's lists).
    /// It reads as `.`; `get` and `take` return the whole value.
    pub fn root() -> Self {
        Self { text: ".".to_owned(), segments: Vec::new() }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The single top-level key when the path is just one key.
    pub fn as_single_key(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Key(k)] => Some(k),
            _ => None,
        }
    }

    /// The value at this path, if every step exists. JSON `null` counts as absent.
    pub fn get<'a>(&self, record: &'a Value) -> Option<&'a Value> {
        let mut at = record;
        for seg in &self.segments {
            at = match seg {
                Segment::Key(k) => at.as_object()?.get(k)?,
                Segment::Index(i) => at.as_array()?.get(*i)?,
                Segment::Match { key, value } => at.as_array()?.iter().find(|item| {
                    // The key may name a nested field: `[definition.name=Account ID]`.
                    let found = key.split('.').try_fold(*item, |v, k| v.get(k));
                    found.is_some_and(|v| match v {
                        Value::String(s) => s == value,
                        Value::Number(n) => crate::id::integral_text(n).is_some_and(|t| t == *value),
                        _ => false,
                    })
                })?,
            };
        }
        (!at.is_null()).then_some(at)
    }

    /// Moves the value at this path out of `record` (leaving null), when every step exists.
    pub fn take(&self, record: &mut Value) -> Option<Value> {
        let mut at = record;
        for seg in &self.segments {
            at = match seg {
                Segment::Key(k) => at.as_object_mut()?.get_mut(k)?,
                Segment::Index(i) => at.as_array_mut()?.get_mut(*i)?,
                Segment::Match { .. } => return None,
            };
        }
        (!at.is_null()).then(|| at.take())
    }

    /// Sets the value at this path, creating objects on the way. Only key segments can be set.
    pub fn set(&self, record: &mut Value, value: Value) -> bool {
        let mut at = record;
        for (i, seg) in self.segments.iter().enumerate() {
            let Segment::Key(k) = seg else { return false };
            if !at.is_object() {
                *at = Value::Object(Default::default());
            }
            let map = at.as_object_mut().expect("just made an object");
            if i + 1 == self.segments.len() {
                map.insert(k.clone(), value);
                return true;
            }
            at = map.entry(k.clone()).or_insert_with(|| Value::Object(Default::default()));
        }
        false
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({:?})", self.text)
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FieldPath::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, v: &Value) -> Option<Value> {
        FieldPath::parse(path).unwrap().get(v).cloned()
    }

    #[test]
    fn paths_reach_nested_values() {
        let v = json!({
            "external_id": "42",
            "metadata": {"account_id": 7},
            "Account Number": "A-1",
            "Acct.No": "dot",
            "companies": {"data": [{"company_id": "c1"}, {"company_id": "c2"}]},
            "custom_fields": [{"id": 1, "value": "x"}, {"id": 360001, "value": "acme"}],
            "empty": null
        });
        assert_eq!(get("external_id", &v), Some(json!("42")));
        assert_eq!(get("metadata.account_id", &v), Some(json!(7)));
        assert_eq!(get("Account Number", &v), Some(json!("A-1")));
        assert_eq!(get("[\"Acct.No\"]", &v), Some(json!("dot")));
        assert_eq!(get("companies.data[1].company_id", &v), Some(json!("c2")));
        assert_eq!(get("custom_fields[id=360001].value", &v), Some(json!("acme")));
        assert_eq!(get("custom_fields[id=9].value", &v), None);
        assert_eq!(get("empty", &v), None);
        assert_eq!(get("missing.deeper", &v), None);
    }

    #[test]
    fn bad_paths_are_explained() {
        for bad in ["", "a..b", "a.", ".a", "a[", "a[x]", "a[=1]", "[\"x"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn a_selector_may_match_a_nested_key() {
        let v = json!({"fields": [
            {"value": "x", "definition": {"id": 1, "name": "Region"}},
            {"value": "100042", "definition": {"id": 2, "name": "Account ID"}}
        ]});
        assert_eq!(get("fields[definition.name=Account ID].value", &v), Some(json!("100042")));
        assert_eq!(get("fields[definition.id=1].value", &v), Some(json!("x")));
        assert_eq!(get("fields[definition.name=Plan].value", &v), None);
        assert_eq!(get("fields[definition=Region].value", &v), None, "an object is not text");
    }

    #[test]
    fn the_root_path_is_the_whole_record() {
        let mut v = json!([{"id": 1}, {"id": 2}]);
        let root = FieldPath::parse(".").unwrap();
        assert_eq!(root, FieldPath::root());
        assert_eq!(root.get(&v), Some(&json!([{"id": 1}, {"id": 2}])));
        assert_eq!(root.take(&mut v), Some(json!([{"id": 1}, {"id": 2}])));
        assert_eq!(v, Value::Null, "taken");
        assert_eq!(root.get(&Value::Null), None);
        assert!(FieldPath::parse("..").is_err());
    }

    #[test]
    fn set_creates_objects() {
        let mut v = json!({});
        assert!(FieldPath::parse("a.b").unwrap().set(&mut v, json!(1)));
        assert_eq!(v, json!({"a": {"b": 1}}));
    }
}
