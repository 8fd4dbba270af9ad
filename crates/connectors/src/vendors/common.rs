//! What every vendor connector shares: settings for rate limits and the user's per-object
//! overrides of the connector's default link rules and field mappings.

use accord_core::ConfigError;
use accord_core::config::ObjectConfig;
use serde::Deserialize;

use crate::http::{Auth, HttpClient, Limit, Limiter, RetryPolicy, StreamDef, Vendor};

/// A period written as text (`"7d"`, `"off"`), shared with the config of `http` sources.
pub use accord_core::time::Period;

/// An override of the vendor's documented rate limit (`rate_limit = { requests, per_seconds }`).
pub use accord_core::config::http::RateLimitSetting;

/// The limiter's form of a rate-limit setting.
pub fn limit_of(s: RateLimitSetting) -> Limit {
    Limit { requests: s.requests.max(1), window: std::time::Duration::from_secs_f64(s.per_seconds.max(0.001)) }
}

/// The limit to enforce: the user's, or the vendor's default; none when `unthrottled`.
pub fn effective_limit(setting: Option<RateLimitSetting>, unthrottled: bool, default: Limit) -> Option<Limit> {
    if unthrottled { None } else { Some(setting.map_or(default, limit_of)) }
}

/// Applies `[[sources.X.objects]]` entries to the connector's streams: `link`, `normalize` and
/// `fields` replace or extend the defaults. A name the connector does not have is an error that
/// lists the names it has.
pub fn apply_overrides(source: &str, streams: &mut [StreamDef], objects: &[ObjectConfig]) -> Result<(), ConfigError> {
    override_objects(source, streams.iter_mut().map(|s| &mut s.object).collect(), objects)
}

/// [`apply_overrides`] on object specs, for connectors with streams of their own beside the
/// declarative ones (Braintree's XML subscriptions search).
pub fn override_objects(
    source: &str,
    mut specs: Vec<&mut crate::ObjectSpec>,
    objects: &[ObjectConfig],
) -> Result<(), ConfigError> {
    for (i, o) in objects.iter().enumerate() {
        let key = format!("sources.{source}.objects[{i}]");
        let names: Vec<_> = specs.iter().map(|s| format!("{:?}", s.name)).collect();
        let Some(def) = specs.iter_mut().find(|s| s.name == o.name) else {
            return Err(ConfigError::new(
                format!("{key}.name"),
                format!("{:?} is not an object of this source; its objects: {}", o.name, names.join(", ")),
            ));
        };
        if o.kind.is_some_and(|k| k != def.kind) {
            return Err(ConfigError::new(
                format!("{key}.kind"),
                format!("{} records are {}; leave kind out", o.name, def.kind.name()),
            ));
        }
        if let Some(native) = &o.native_id {
            def.native_id = Some(native.clone());
        }
        if let Some(link) = &o.link {
            def.link = link.clone();
        }
        if !o.normalize.is_empty() {
            def.normalize = o.normalize.clone();
        }
        for (field, path) in &o.fields.0 {
            def.fields.0.insert(field.clone(), path.clone());
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
