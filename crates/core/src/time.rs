//! Timestamps as they arrive: ISO-8601 text, plain dates, epoch milliseconds (Natero) or seconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

pub type Timestamp = DateTime<Utc>;

/// Epoch numbers at or above this are milliseconds (1973-03-03 in ms; year 5138 in seconds).
const MILLIS_THRESHOLD: f64 = 1e11;

/// A timestamp from a JSON value: ISO-8601/RFC 3339 text (`2024-05-01T10:00:00Z`,
/// `2024-05-01 10:00:00`, `2024-05-01`), or an epoch number (milliseconds when ≥ 1e11, else
/// seconds), also when the number comes as text (CSV cells are text), or a Microsoft JSON date
/// (`/Date(1439434356790+0000)/`, Xero's wire form).
pub fn parse_timestamp(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => from_epoch(n.as_f64()?),
        Value::String(s) => parse_text(s.trim()),
        _ => None,
    }
}

fn parse_text(s: &str) -> Option<Timestamp> {
    if s.is_empty() {
        return None;
    }
    if let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        return ms_json(inner);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.len() >= 9
        && !s.contains("--")
        && let Ok(n) = s.parse::<f64>()
    {
        return from_epoch(n);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// The inside of `/Date(…)/`: integer milliseconds since the epoch (UTC), optionally followed by
/// the writer's zone offset (`+0000`, `-0800`). The milliseconds already name the instant; the
/// offset only says where the writer was, so it does not move it.
fn ms_json(inner: &str) -> Option<Timestamp> {
    let digits_end = inner.char_indices().skip(1).find(|(_, c)| *c == '+' || *c == '-').map_or(inner.len(), |(i, _)| i);
    let (millis, offset) = inner.split_at(digits_end);
    let zoned = offset.len() == 5 && offset[1..].bytes().all(|b| b.is_ascii_digit());
    if !(offset.is_empty() || zoned) {
        return None;
    }
    let millis: i64 = millis.parse().ok()?;
    Utc.timestamp_millis_opt(millis).single()
}

fn from_epoch(n: f64) -> Option<Timestamp> {
    if !n.is_finite() {
        return None;
    }
    let millis = if n.abs() >= MILLIS_THRESHOLD { n } else { n * 1000.0 };
    Utc.timestamp_millis_opt(millis.round() as i64).single()
}

/// Epoch milliseconds, Natero's wire form for dates.
pub fn to_epoch_millis(t: &Timestamp) -> i64 {
    t.timestamp_millis()
}

/// RFC 3339 with millisecond precision and a `Z`, the form accord stores and prints.
pub fn to_rfc3339(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A period written as text: `"7d"`, `"12h"`, `"30m"`, `"90s"` or `"2w"`; `"off"` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period(pub Option<chrono::Duration>);

impl Period {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("never") {
            return Ok(Period(None));
        }
        let bad = || {
            format!("{text:?} is not a period: write a number and a unit (s, m, h, d or w), e.g. \"7d\", or \"off\"")
        };
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = t.split_at(split);
        let n: i64 = n.parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        let total = n.checked_mul(seconds).filter(|s| *s <= 3650 * 86_400).ok_or_else(bad)?;
        Ok(Period(Some(chrono::Duration::seconds(total))))
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        Period::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ms(v: Value) -> Option<i64> {
        parse_timestamp(&v).map(|t| t.timestamp_millis())
    }

    #[test]
    fn accepts_the_forms_sources_send() {
        assert_eq!(ms(json!(1598907978483_i64)), Some(1598907978483));
        assert_eq!(ms(json!(1598907978)), Some(1598907978000));
        assert_eq!(ms(json!("1598907978483")), Some(1598907978483));
        assert_eq!(ms(json!("2020-08-31T21:06:18.483Z")), Some(1598907978483));
        assert_eq!(ms(json!("2020-08-31T23:06:18.483+02:00")), Some(1598907978483));
        assert_eq!(ms(json!("2020-08-31 21:06:18")), Some(1598907978000));
        assert_eq!(ms(json!("2020-08-31")), Some(1598832000000));
        // Xero's Microsoft JSON dates: the milliseconds are the instant, the offset is not applied.
        assert_eq!(ms(json!("/Date(1439434356790+0000)/")), Some(1439434356790));
        assert_eq!(ms(json!("/Date(1439434356790-0800)/")), Some(1439434356790));
        assert_eq!(ms(json!("/Date(1439434356790)/")), Some(1439434356790));
        assert_eq!(ms(json!("/Date(-86400000+0000)/")), Some(-86400000));
        assert_eq!(ms(json!("/Date(14394x4356790+0000)/")), None);
        assert_eq!(ms(json!("/Date(1439434356790+00)/")), None);
        assert_eq!(ms(json!("2020-08-31T21:06:18+0000")), Some(1598907978000));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        assert_eq!(ms(json!("next tuesday")), None);
        assert_eq!(ms(json!("")), None);
        assert_eq!(ms(json!(true)), None);
        assert_eq!(ms(json!("2020-13-45")), None);
    }

    #[test]
    fn periods_parse_with_units_or_off() {
        assert_eq!(Period::parse("7d"), Ok(Period(Some(chrono::Duration::days(7)))));
        assert_eq!(Period::parse(" 12h "), Ok(Period(Some(chrono::Duration::hours(12)))));
        assert_eq!(Period::parse("0s"), Ok(Period(Some(chrono::Duration::zero()))));
        assert_eq!(Period::parse("2w"), Ok(Period(Some(chrono::Duration::days(14)))));
        assert_eq!(Period::parse("off"), Ok(Period(None)));
        for bad in ["7", "d", "7 days", "-1d", "99999999999d"] {
            let e = Period::parse(bad).unwrap_err();
            assert!(e.contains("not a period") && e.contains("7d"), "{bad}: {e}");
        }
    }
}
