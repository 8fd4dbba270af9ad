//! What every vendor connector shares: settings for rate limits and the user's per-object
//! overrides of the connector's default link rules and field mappings.

use accord_core::ConfigError;
use accord_core::config::ObjectConfig;
use serde::Deserialize;

use crate::http::{Auth, HttpClient, Limit, Limiter, RetryPolicy, StreamDef, Vendor};

/// An override of the vendor's documented rate limit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSetting {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window, in seconds.
    pub per_seconds: f64,
}

impl RateLimitSetting {
    pub fn limit(self) -> Limit {
        Limit {
            requests: self.requests.max(1),
            window: std::time::Duration::from_secs_f64(self.per_seconds.max(0.001)),
        }
    }
}

/// The limit to enforce: the user's, or the vendor's default; none when `unthrottled`.
pub fn effective_limit(setting: Option<RateLimitSetting>, unthrottled: bool, default: Limit) -> Option<Limit> {
    if unthrottled { None } else { Some(setting.map_or(default, RateLimitSetting::limit)) }
}

/// Applies `[[sources.X.objects]]` entries to the connector's streams: `link`, `normalize` and
/// `fields` replace or extend the defaults. A name the connector does not have is an error that
/// lists the names it has.
pub fn apply_overrides(source: &str, streams: &mut [StreamDef], objects: &[ObjectConfig]) -> Result<(), ConfigError> {
    for (i, o) in objects.iter().enumerate() {
        let key = format!("sources.{source}.objects[{i}]");
        let Some(def) = streams.iter_mut().find(|s| s.object.name == o.name) else {
            let names: Vec<_> = streams.iter().map(|s| format!("{:?}", s.object.name)).collect();
            return Err(ConfigError::new(
                format!("{key}.name"),
                format!("{:?} is not an object of this source; its objects: {}", o.name, names.join(", ")),
            ));
        };
        if o.kind.is_some_and(|k| k != def.object.kind) {
            return Err(ConfigError::new(
                format!("{key}.kind"),
                format!("{} records are {}; leave kind out", o.name, def.object.kind.name()),
            ));
        }
        if let Some(native) = &o.native_id {
            def.object.native_id = Some(native.clone());
        }
        if let Some(link) = &o.link {
            def.object.link = link.clone();
        }
        if !o.normalize.is_empty() {
            def.object.normalize = o.normalize.clone();
        }
        for (field, path) in &o.fields.0 {
            def.object.fields.0.insert(field.clone(), path.clone());
        }
    }
    Ok(())
}

/// A secret of a source's settings, read now; an unreadable one names `sources.<name>.<key>`.
pub fn secret(
    name: &str,
    key: &str,
    secret: &accord_core::secret::SecretRef,
    base_dir: &std::path::Path,
) -> Result<accord_core::secret::SecretString, ConfigError> {
    secret.resolve(base_dir).map_err(|e| ConfigError::new(format!("sources.{name}.{key}"), e.to_string()))
}

/// A vendor's HTTP client, with the default retry policy and the vendor's rate limit (`None`:
/// unthrottled), naming the source on error.
pub fn client(
    name: &str,
    base_url: &str,
    auth: Auth,
    limit: Option<Limit>,
    rules: Box<dyn Vendor>,
    headers: Vec<(String, String)>,
) -> Result<HttpClient, ConfigError> {
    HttpClient::new(base_url.to_owned(), auth, Limiter::new(limit), RetryPolicy::default(), rules, headers)
        .map_err(|e| ConfigError::new(format!("sources.{name}"), e.to_string()))
}

/// The `Accept` header of vendors that answer JSON only when asked.
pub fn accept_json() -> (String, String) {
    ("Accept".into(), "application/json".into())
}

/// Deserializes a source's settings table, naming the source on error.
pub fn settings<T: for<'de> Deserialize<'de>>(source: &str, table: &toml::Table) -> Result<T, ConfigError> {
    table
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(format!("sources.{source}"), e.message().to_owned()))
}

/// Builds a field mapping from `(field, path)` pairs.
pub fn mapping(pairs: &[(&str, &str)]) -> accord_core::FieldMapping {
    accord_core::FieldMapping(
        pairs.iter().map(|(f, p)| ((*f).to_owned(), accord_core::FieldPath::parse(p).expect("static path"))).collect(),
    )
}

/// Parses a static link-rule list written as JSON.
pub fn rules(json: serde_json::Value) -> Vec<accord_core::LinkRule> {
    serde_json::from_value(json).expect("static link rules")
}

pub fn path(p: &str) -> accord_core::FieldPath {
    accord_core::FieldPath::parse(p).expect("static path")
}

/// An object whose records carry their id in `id`.
pub fn object(
    name: &str,
    kind: accord_core::ObjectKind,
    link: Vec<accord_core::LinkRule>,
    fields: accord_core::FieldMapping,
) -> crate::ObjectSpec {
    crate::ObjectSpec { name: name.into(), kind, native_id: Some(path("id")), link, normalize: vec![], fields }
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

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Period::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
