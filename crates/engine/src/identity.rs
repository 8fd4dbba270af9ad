//! Content identities: stable ids for records that carry none of their own.
//!
//! A usage event's identity is the BLAKE3 hash of its canonical JSON (keys sorted at every level,
//! no whitespace). The same event delivered twice, even with its keys in another order, has the same
//! identity, so the upsert keyed by it stores and counts it once. Two events that differ in any
//! field (a later `created_at`, another `total`) are two events.

use serde_json::Value;

/// A short stable id of a JSON value's content: 32 hex characters.
pub fn content_id(value: &Value) -> String {
    let mut hasher = blake3::Hasher::new();
    write_canonical(value, &mut hasher);
    let hash = hasher.finalize();
    hash.to_hex()[..32].to_owned()
}

/// The identity of a usage event: its content id, prefixed with its time (zero-padded epoch ms)
/// when it has a readable `created_at`, so that ids sort by time and the store's unique index
/// grows at its end.
pub fn event_id(event: &Value) -> String {
    let at = event.get("created_at").and_then(accord_core::time::parse_timestamp).map(|t| t.timestamp_millis());
    match at {
        Some(ms) if ms >= 0 => format!("ev:{ms:013}:{}", content_id(event)),
        _ => format!("ev:{}", content_id(event)),
    }
}

fn write_canonical(value: &Value, h: &mut blake3::Hasher) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            h.update(b"{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                write_json(k, h);
                h.update(b":");
                write_canonical(&map[k], h);
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                write_canonical(v, h);
            }
            h.update(b"]");
        }
        // One text per number, however it was spelled (`1.5`, `1.50`): numbers keep their
        // original text when parsed, so the same event sent by two clients hashes alike.
        Value::Number(n) => {
            h.update(accord_core::id::canonical_number(&n.to_string()).as_bytes());
        }
        other => write_json(other, h),
    }
}

/// Writes a value as compact JSON straight into the hasher, with no intermediate string.
fn write_json<T: serde::Serialize + ?Sized>(value: &T, h: &mut blake3::Hasher) {
    // Writing into a hasher cannot fail.
    let _ = serde_json::to_writer(h, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_identity() {
        let a: Value = serde_json::from_str(r#"{"user_id":"u1","created_at":1,"details":{"b":1,"a":2}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"details":{"a":2,"b":1},"created_at":1,"user_id":"u1"}"#).unwrap();
        assert_eq!(event_id(&a), event_id(&b));
        assert_ne!(event_id(&a), event_id(&json!({"user_id": "u1", "created_at": 2})));
        assert_eq!(content_id(&a).len(), 32);
        assert!(event_id(&a).starts_with("ev:0000000001000:"), "created_at 1 is epoch seconds: {}", event_id(&a));
    }

    #[test]
    fn a_number_spelled_two_ways_is_one_event() {
        let a: Value = serde_json::from_str(r#"{"user_id":"u1","created_at":1714550400000,"total":1.5}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"total":15e-1,"created_at":1714550400000,"user_id":"u1"}"#).unwrap();
        assert_eq!(event_id(&a), event_id(&b));
        let c: Value = serde_json::from_str(r#"{"user_id":"u1","created_at":1714550400000,"total":1.51}"#).unwrap();
        assert_ne!(event_id(&a), event_id(&c));
    }
}
