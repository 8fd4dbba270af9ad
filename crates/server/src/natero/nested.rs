//! Natero's nested account fields: `stage_history`, `custom_value_dimensions`,
//! `custom_label_dimensions`, `custom_event_dimensions`, `assigned_csms`, `nps_history` and
//! `documents`. Each entry is stored on its own (`accord_store::AccountEntry`), identified within
//! its field by what Natero's DELETE routes name it by: a dimension's `key`, a CSM's `email`, a
//! stage's `name` and `start_date`, an NPS answer's `date`, a document's `name` (or `url`). A write
//! merges entry by entry; one entry goes away through its DELETE route; a System of Record sync,
//! which rewrites the account, leaves them alone.

use accord_store::AccountEntry;
use serde_json::{Map, Value, json};

/// The nested fields, in the order they are returned.
pub const FIELDS: [&str; 7] = [
    "custom_value_dimensions",
    "custom_label_dimensions",
    "custom_event_dimensions",
    "assigned_csms",
    "stage_history",
    "nps_history",
    "documents",
];

/// A timestamp as an entry identity: an integer (as given, no unit guessing) or a date that
/// `parse_timestamp` reads, as epoch ms.
fn timestamp_key(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| accord_core::time::parse_timestamp(&json!(s)).map(|t| t.timestamp_millis()))
        }
        _ => None,
    }
}

/// A timestamp from a URL path segment, read as an entry's timestamp is (integers exactly, dates as epoch ms).
pub fn path_timestamp(segment: &str) -> Option<i64> {
    timestamp_key(&json!(segment))
}

fn text_key(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The key of a stage entry: its name and start.
pub fn stage_key(name: &str, start_ms: i64) -> String {
    json!([name, start_ms]).to_string()
}

/// The key of an assigned CSM: the email, trimmed and lowercased.
pub fn csm_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An entry's identity within its field, or what is wrong with it.
fn entry_key(field: &str, entry: &Map<String, Value>) -> Result<String, String> {
    let need = |name: &str, what: &str| format!("needs {name:?} ({what})");
    match field {
        "custom_value_dimensions" | "custom_label_dimensions" | "custom_event_dimensions" => {
            text_key(entry.get("key")).ok_or_else(|| need("key", "text"))
        }
        "assigned_csms" => entry
            .get("email")
            .and_then(Value::as_str)
            .filter(|e| e.contains('@'))
            .map(csm_key)
            .ok_or_else(|| need("email", "an email address")),
        "stage_history" => {
            let name = text_key(entry.get("name")).ok_or_else(|| need("name", "text"))?;
            let start = entry
                .get("start_date")
                .and_then(timestamp_key)
                .ok_or_else(|| need("start_date", "a timestamp, epoch ms"))?;
            Ok(stage_key(&name, start))
        }
        "nps_history" => entry
            .get("date")
            .and_then(timestamp_key)
            .map(|t| t.to_string())
            .ok_or_else(|| need("date", "a timestamp, epoch ms")),
        "documents" => {
            text_key(entry.get("name")).or_else(|| text_key(entry.get("url"))).ok_or_else(|| need("name", "text"))
        }
        _ => Err(format!("{field} is not a nested field")),
    }
}

/// Takes the nested fields out of a submitted account: the entries, as (field, key, entry), or a
/// message naming the first field and entry that is wrong. A `null` field is no change.
pub fn split(record: &mut Map<String, Value>) -> Result<Vec<(&'static str, String, Value)>, String> {
    let mut out = Vec::new();
    for field in FIELDS {
        let Some(value) = record.remove(field) else { continue };
        let entries = match value {
            Value::Null => continue,
            Value::Array(entries) => entries,
            _ => return Err(format!("Invalid type for property: {field} (expecting a list of objects)")),
        };
        for (i, entry) in entries.into_iter().enumerate() {
            let Value::Object(map) = entry else {
                return Err(format!("Invalid type for property: {field}[{i}] (expecting an object)"));
            };
            let key = entry_key(field, &map).map_err(|e| format!("Invalid property: {field}[{i}] {e}"))?;
            out.push((field, key, Value::Object(map)));
        }
    }
    Ok(out)
}

/// The entries as stored rows of one account.
pub fn rows(account_id: &str, entries: Vec<(&'static str, String, Value)>) -> Vec<AccountEntry> {
    entries
        .into_iter()
        .map(|(field, entry_key, entry)| AccountEntry {
            account_id: account_id.to_owned(),
            field: field.to_owned(),
            entry_key,
            entry,
        })
        .collect()
}

/// Adds an account's nested fields to its JSON: every field in `only` (all when `None`), as a
/// list (empty when there is no entry). History comes oldest first; the rest by key.
pub fn insert(out: &mut Map<String, Value>, entries: &[&AccountEntry], only: Option<&[&str]>) {
    for field in FIELDS {
        if only.is_some_and(|names| !names.contains(&field)) {
            continue;
        }
        let mut of_field: Vec<&AccountEntry> = entries.iter().copied().filter(|e| e.field == field).collect();
        let time = |e: &AccountEntry| -> i64 {
            match field {
                "nps_history" => e.entry_key.parse().unwrap_or(0),
                "stage_history" => {
                    serde_json::from_str::<Value>(&e.entry_key).ok().and_then(|k| k[1].as_i64()).unwrap_or(0)
                }
                _ => 0,
            }
        };
        of_field.sort_by(|a, b| time(a).cmp(&time(b)).then_with(|| a.entry_key.cmp(&b.entry_key)));
        out.insert(field.into(), Value::Array(of_field.into_iter().map(|e| e.entry.clone()).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_as_the_delete_routes_name_them() {
        let mut record = json!({
            "account_id": "A1",
            "custom_value_dimensions": [{"key": "seats", "value": 10}],
            "assigned_csms": [{"email": " CSM@Acme.io "}],
            "stage_history": [{"name": "onboarding", "start_date": 1000000}],
            "nps_history": [{"nps_score": 9, "date": "10000"}],
            "documents": null,
        })
        .as_object()
        .unwrap()
        .clone();
        let entries = split(&mut record).unwrap();
        let keys: Vec<(&str, &str)> = entries.iter().map(|(f, k, _)| (*f, k.as_str())).collect();
        assert_eq!(
            keys,
            [
                ("custom_value_dimensions", "seats"),
                ("assigned_csms", "csm@acme.io"),
                ("stage_history", stage_key("onboarding", path_timestamp("1000000").unwrap()).as_str()),
                ("nps_history", "10000"),
            ]
        );
        assert_eq!(record.keys().collect::<Vec<_>>(), ["account_id"], "nested fields leave the record");
    }

    #[test]
    fn a_bad_entry_is_named() {
        let mut r = json!({"stage_history": [{"name": "x"}]}).as_object().unwrap().clone();
        assert_eq!(
            split(&mut r).unwrap_err(),
            "Invalid property: stage_history[0] needs \"start_date\" (a timestamp, epoch ms)"
        );
        let mut r = json!({"custom_label_dimensions": {"key": "x"}}).as_object().unwrap().clone();
        assert!(split(&mut r).unwrap_err().contains("custom_label_dimensions"));
        let mut r = json!({"assigned_csms": ["x@y.z"]}).as_object().unwrap().clone();
        assert!(split(&mut r).unwrap_err().contains("assigned_csms[0]"));
    }

    #[test]
    fn history_comes_oldest_first() {
        let e = |key: String, n: i64| AccountEntry {
            account_id: "A".into(),
            field: "stage_history".into(),
            entry_key: key,
            entry: json!({"n": n}),
        };
        let (late, early) = (e(stage_key("a", 20), 2), e(stage_key("b", 10), 1));
        let mut out = Map::new();
        insert(&mut out, &[&late, &early], Some(&["stage_history"]));
        assert_eq!(Value::Object(out), json!({"stage_history": [{"n": 1}, {"n": 2}]}));
        assert_eq!(path_timestamp("2024-01-01T00:00:00Z"), Some(1_704_067_200_000));
        assert_eq!(path_timestamp("soon"), None);
    }
}
