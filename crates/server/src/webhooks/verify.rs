//! Each vendor's way of signing a webhook, checked in two steps: what the request head alone can
//! refuse (a missing or malformed signature header, a signed timestamp outside the tolerance),
//! before a byte of the body is read, and then the signature over the body, compared in constant
//! time (`ring::hmac::verify`).
//!
//! | kind | header | signed text | fresh by |
//! | --- | --- | --- | --- |
//! | `stripe` | `Stripe-Signature: t=<unix>,v1=<hex>` (several `v1` while a secret rolls) | `<t>.<body>`, HMAC-SHA256 | `t` |
//! | `zendesk` | `X-Zendesk-Webhook-Signature: <base64>`, `X-Zendesk-Webhook-Signature-Timestamp` | `<timestamp><body>`, HMAC-SHA256 | the timestamp header |
//! | `intercom` | `X-Hub-Signature: sha1=<hex>` | the body, HMAC-SHA1 (the app's client secret) | the body's `created_at` |
//! | `jira` | `X-Hub-Signature: sha256=<hex>` | the body, HMAC-SHA256 | the body's `timestamp` (ms) |
//! | `freshdesk` | `X-Webhook-Token: <secret>` (a header the automation rule adds; Freshdesk signs nothing) | — | — |
//! | `recurly` | `Recurly-Signature: <unix ms>,<hex>[,<hex>...]` (several while a key rolls) | `<ms>.<body>`, HMAC-SHA256 (the endpoint's secret key) | the header's timestamp |
//! | `maxio` (`chargify`) | `X-Chargify-Webhook-Signature-Hmac-Sha-256: <hex>` | the (form-encoded) body, HMAC-SHA256 (the site's shared key) | — (Maxio signs no time) |
//! | `chargebee` | `Authorization: Basic base64(<username>:<password>)` (the webhook's basic authentication; Chargebee signs nothing) | — | — (Chargebee retries a failed event for days with its first `occurred_at`) |
//!
//! A delivery's identity (what replay protection remembers) is the vendor's delivery id where it
//! has one (Intercom's notification `id`, JIRA's `X-Atlassian-Webhook-Identifier`, Maxio's
//! `X-Chargify-Webhook-Id`, Chargebee's event `id`), else the signed timestamp with the
//! signature. Maxio signs no time, so its replays are refused only while the delivery is
//! remembered (twice the tolerance).

use axum::http::HeaderMap;
use base64::Engine;
use chrono::{DateTime, Utc};
use ring::hmac;
use serde_json::Value;

/// How one vendor signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Stripe,
    Zendesk,
    Intercom,
    Jira,
    Freshdesk,
    Recurly,
    Maxio,
    Chargebee,
}

impl Scheme {
    /// The scheme of a source kind (the kinds of `accord_core::config::WEBHOOK_KINDS`).
    pub fn for_kind(kind: &str) -> Option<Self> {
        Some(match kind {
            "stripe" => Scheme::Stripe,
            "zendesk" => Scheme::Zendesk,
            "intercom" => Scheme::Intercom,
            "jira" => Scheme::Jira,
            "freshdesk" => Scheme::Freshdesk,
            "recurly" => Scheme::Recurly,
            "maxio" | "chargify" => Scheme::Maxio,
            "chargebee" => Scheme::Chargebee,
            _ => return None,
        })
    }

    /// How long deliveries wait for a sync by default: Zendesk's incremental exports leave out
    /// changes of the last minute, so a sync sooner would not see the change it was told about.
    pub fn default_debounce_seconds(self) -> u64 {
        match self {
            Scheme::Zendesk => 61,
            _ => 2,
        }
    }

    fn algorithm(self) -> hmac::Algorithm {
        match self {
            Scheme::Intercom => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            _ => hmac::HMAC_SHA256,
        }
    }
}

/// Why a delivery is refused (answered 401; logged without the body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("malformed {0} header")]
    Malformed(&'static str),
    #[error("the signed timestamp is {0} s from now, outside the tolerance")]
    Stale(i64),
    #[error("the signature does not match")]
    Mismatch,
    #[error("the body is not the vendor's JSON: {0}")]
    Body(String),
}

/// What the head said, kept for the body check.
#[derive(Debug, Clone)]
pub struct Head {
    scheme: Scheme,
    /// The signed timestamp as sent (Stripe's `t`, Zendesk's header).
    timestamp: Option<String>,
    /// Candidate signatures, decoded.
    signatures: Vec<Vec<u8>>,
    /// The shared token (Freshdesk's header, Chargebee's `username:password`).
    token: Option<String>,
    delivery_id: Option<String>,
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, Refusal> {
    let value = headers.get(name).ok_or(Refusal::Missing(name))?;
    value.to_str().map(str::trim).map_err(|_| Refusal::Malformed(name))
}

fn fresh(at: i64, now: DateTime<Utc>, tolerance_s: i64) -> Result<(), Refusal> {
    let skew = now.timestamp() - at;
    if skew.abs() > tolerance_s { Err(Refusal::Stale(skew)) } else { Ok(()) }
}

/// The checks the head alone decides.
pub fn check_head(scheme: Scheme, headers: &HeaderMap, now: DateTime<Utc>, tolerance_s: i64) -> Result<Head, Refusal> {
    let mut head = Head { scheme, timestamp: None, signatures: Vec::new(), token: None, delivery_id: None };
    match scheme {
        Scheme::Stripe => {
            const NAME: &str = "Stripe-Signature";
            let value = header(headers, NAME)?;
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => head.timestamp = Some(t.to_owned()),
                    Some(("v1", sig)) => head.signatures.push(hex(sig).ok_or(Refusal::Malformed(NAME))?),
                    // `v0` (test-mode scheme) and future schemes are ignored, as Stripe says to.
                    Some(_) => {}
                    None => return Err(Refusal::Malformed(NAME)),
                }
            }
            let t = head.timestamp.as_deref().ok_or(Refusal::Malformed(NAME))?;
            let at: i64 = t.parse().map_err(|_| Refusal::Malformed(NAME))?;
            if head.signatures.is_empty() {
                return Err(Refusal::Malformed(NAME));
            }
            fresh(at, now, tolerance_s)?;
        }
        Scheme::Zendesk => {
            const SIG: &str = "X-Zendesk-Webhook-Signature";
            const TS: &str = "X-Zendesk-Webhook-Signature-Timestamp";
            let sig = base64::engine::general_purpose::STANDARD
                .decode(header(headers, SIG)?)
                .map_err(|_| Refusal::Malformed(SIG))?;
            let ts = header(headers, TS)?;
            let at = DateTime::parse_from_rfc3339(ts).map_err(|_| Refusal::Malformed(TS))?;
            fresh(at.timestamp(), now, tolerance_s)?;
            head.signatures.push(sig);
            head.timestamp = Some(ts.to_owned());
        }
        Scheme::Intercom | Scheme::Jira => {
            const NAME: &str = "X-Hub-Signature";
            let prefix = if scheme == Scheme::Intercom { "sha1=" } else { "sha256=" };
            let value = header(headers, NAME)?;
            let sig = value.strip_prefix(prefix).and_then(hex).ok_or(Refusal::Malformed(NAME))?;
            head.signatures.push(sig);
            head.delivery_id = headers
                .get("X-Atlassian-Webhook-Identifier")
                .and_then(|v| v.to_str().ok())
                .filter(|_| scheme == Scheme::Jira)
                .map(str::to_owned);
        }
        Scheme::Freshdesk => {
            head.token = Some(header(headers, "X-Webhook-Token")?.to_owned());
        }
        Scheme::Recurly => {
            const NAME: &str = "Recurly-Signature";
            let mut parts = header(headers, NAME)?.split(',').map(str::trim);
            let ms = parts.next().filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
            let ms = ms.ok_or(Refusal::Malformed(NAME))?;
            for sig in parts {
                head.signatures.push(hex(sig).ok_or(Refusal::Malformed(NAME))?);
            }
            if head.signatures.is_empty() {
                return Err(Refusal::Malformed(NAME));
            }
            let at: i64 = ms.parse().map_err(|_| Refusal::Malformed(NAME))?;
            fresh(at.div_euclid(1000), now, tolerance_s)?;
            head.timestamp = Some(ms.to_owned());
        }
        Scheme::Maxio => {
            const NAME: &str = "X-Chargify-Webhook-Signature-Hmac-Sha-256";
            head.signatures.push(hex(header(headers, NAME)?).ok_or(Refusal::Malformed(NAME))?);
            head.delivery_id = headers
                .get("X-Chargify-Webhook-Id")
                .and_then(|v| v.to_str().ok())
                .map(|v| format!("maxio:{}", v.trim()));
        }
        Scheme::Chargebee => {
            const NAME: &str = "Authorization";
            let encoded = header(headers, NAME)?.strip_prefix("Basic ").ok_or(Refusal::Malformed(NAME))?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|pair| pair.contains(':'))
                .ok_or(Refusal::Malformed(NAME))?;
            head.token = Some(decoded);
        }
    }
    Ok(head)
}

/// The signature over the body, then what the body says about freshness. Returns the
/// delivery's identity for replay protection (`None`: the scheme has none, Freshdesk's).
pub fn check_body(
    head: &Head,
    secret: &[u8],
    body: &[u8],
    now: DateTime<Utc>,
    tolerance_s: i64,
) -> Result<Option<String>, Refusal> {
    if let Some(token) = &head.token {
        use subtle::ConstantTimeEq;
        if !bool::from(token.as_bytes().ct_eq(secret)) {
            return Err(Refusal::Mismatch);
        }
        if head.scheme != Scheme::Chargebee {
            return Ok(None);
        }
        // Chargebee's event id names the delivery; its `occurred_at` is not checked: a failed
        // delivery is retried for days with the event as it was.
        let v = json(body)?;
        let id = v.get("id").and_then(Value::as_str).ok_or(Refusal::Body("no event id".into()))?;
        return Ok(Some(id.to_owned()));
    }
    let key = hmac::Key::new(head.scheme.algorithm(), secret);
    let signed: Vec<u8> = match &head.timestamp {
        Some(t) if matches!(head.scheme, Scheme::Stripe | Scheme::Recurly) => [t.as_bytes(), b".", body].concat(),
        Some(t) => [t.as_bytes(), body].concat(),
        None => body.to_vec(),
    };
    let matched =
        head.signatures.iter().find(|sig| hmac::verify(&key, &signed, sig).is_ok()).ok_or(Refusal::Mismatch)?;
    let signature = hex_text(matched);
    match head.scheme {
        Scheme::Intercom => {
            let v = json(body)?;
            let at = v.get("created_at").and_then(Value::as_i64).ok_or(Refusal::Body("no created_at".into()))?;
            fresh(at, now, tolerance_s)?;
            Ok(Some(v.get("id").and_then(Value::as_str).map_or(signature, str::to_owned)))
        }
        Scheme::Jira => {
            let v = json(body)?;
            let ms = v.get("timestamp").and_then(Value::as_i64).ok_or(Refusal::Body("no timestamp".into()))?;
            fresh(ms.div_euclid(1000), now, tolerance_s)?;
            Ok(Some(head.delivery_id.clone().unwrap_or(signature)))
        }
        Scheme::Maxio => Ok(Some(head.delivery_id.clone().unwrap_or(signature))),
        _ => Ok(Some(format!("{}:{signature}", head.timestamp.as_deref().unwrap_or_default()))),
    }
}

fn json(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal::Body(e.to_string()))
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

fn hex_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signs a body as `scheme`'s vendor would (the sandbox's emulators sign with their own code).
    fn sign(scheme: Scheme, secret: &[u8], body: &[u8], now: DateTime<Utc>) -> Vec<(&'static str, String)> {
        let key = hmac::Key::new(scheme.algorithm(), secret);
        match scheme {
            Scheme::Stripe => {
                let t = now.timestamp().to_string();
                let tag = hmac::sign(&key, &[t.as_bytes(), b".", body].concat());
                vec![("Stripe-Signature", format!("t={t},v1={}", hex_text(tag.as_ref())))]
            }
            Scheme::Zendesk => {
                let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let tag = hmac::sign(&key, &[ts.as_bytes(), body].concat());
                vec![
                    ("X-Zendesk-Webhook-Signature", base64::engine::general_purpose::STANDARD.encode(tag.as_ref())),
                    ("X-Zendesk-Webhook-Signature-Timestamp", ts),
                ]
            }
            Scheme::Intercom => {
                vec![("X-Hub-Signature", format!("sha1={}", hex_text(hmac::sign(&key, body).as_ref())))]
            }
            Scheme::Jira => vec![("X-Hub-Signature", format!("sha256={}", hex_text(hmac::sign(&key, body).as_ref())))],
            Scheme::Freshdesk => vec![("X-Webhook-Token", String::from_utf8_lossy(secret).into_owned())],
            Scheme::Recurly => {
                let ms = now.timestamp_millis().to_string();
                let tag = hmac::sign(&key, &[ms.as_bytes(), b".", body].concat());
                vec![("Recurly-Signature", format!("{ms},{}", hex_text(tag.as_ref())))]
            }
            Scheme::Maxio => vec![
                ("X-Chargify-Webhook-Signature-Hmac-Sha-256", hex_text(hmac::sign(&key, body).as_ref())),
                ("X-Chargify-Webhook-Id", "81".to_owned()),
            ],
            Scheme::Chargebee => {
                vec![("Authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(secret)))]
            }
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn body_for(scheme: Scheme, at: DateTime<Utc>) -> Vec<u8> {
        match scheme {
            Scheme::Intercom => {
                format!(r#"{{"type":"notification_event","id":"notif_1","created_at":{}}}"#, at.timestamp())
                    .into_bytes()
            }
            Scheme::Jira => {
                format!(r#"{{"webhookEvent":"jira:issue_updated","timestamp":{}}}"#, at.timestamp_millis()).into_bytes()
            }
            Scheme::Maxio => b"id=81&event=customer_update&payload[customer][id]=7".to_vec(),
            Scheme::Chargebee => {
                br#"{"id":"ev_16BPgETyVrQbiGhA","event_type":"customer_changed","content":{}}"#.to_vec()
            }
            _ => br#"{"id":"evt_1","type":"customer.updated"}"#.to_vec(),
        }
    }

    const ALL: [Scheme; 8] = [
        Scheme::Stripe,
        Scheme::Zendesk,
        Scheme::Intercom,
        Scheme::Jira,
        Scheme::Freshdesk,
        Scheme::Recurly,
        Scheme::Maxio,
        Scheme::Chargebee,
    ];

    #[test]
    fn every_kind_with_webhooks_has_a_scheme() {
        for kind in accord_core::config::WEBHOOK_KINDS {
            assert!(Scheme::for_kind(kind).is_some(), "{kind}");
        }
        let schemes: std::collections::HashSet<_> =
            accord_core::config::WEBHOOK_KINDS.iter().filter_map(|k| Scheme::for_kind(k)).collect();
        assert_eq!(schemes, ALL.into_iter().collect(), "every scheme has a kind");
    }

    #[test]
    fn a_delivery_signed_the_vendors_way_passes_and_names_itself() {
        // Secrets with a colon: Chargebee's is a `username:password` pair.
        for scheme in ALL {
            let body = body_for(scheme, now());
            let h = headers(&sign(scheme, b"whsec:test", &body, now()));
            let head = check_head(scheme, &h, now(), 300).unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
            let id = check_body(&head, b"whsec:test", &body, now(), 300).unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
            assert_eq!(id.is_some(), scheme != Scheme::Freshdesk, "{scheme:?}");
            if scheme == Scheme::Intercom {
                assert_eq!(id.as_deref(), Some("notif_1"), "Intercom's notification id");
            }
            if scheme == Scheme::Maxio {
                assert_eq!(id.as_deref(), Some("maxio:81"), "Maxio's webhook id");
            }
            if scheme == Scheme::Chargebee {
                assert_eq!(id.as_deref(), Some("ev_16BPgETyVrQbiGhA"), "Chargebee's event id");
            }
        }
    }

    #[test]
    fn a_bad_signature_or_a_changed_body_is_refused() {
        for scheme in ALL {
            let body = body_for(scheme, now());
            let h = headers(&sign(scheme, b"another:secret", &body, now()));
            let head = check_head(scheme, &h, now(), 300).unwrap();
            assert_eq!(check_body(&head, b"whsec:test", &body, now(), 300), Err(Refusal::Mismatch), "{scheme:?}");
            if scheme != Scheme::Freshdesk && scheme != Scheme::Chargebee {
                let h = headers(&sign(scheme, b"whsec:test", &body, now()));
                let head = check_head(scheme, &h, now(), 300).unwrap();
                let mut changed = body.clone();
                changed.extend_from_slice(b" ");
                assert_eq!(check_body(&head, b"whsec:test", &changed, now(), 300), Err(Refusal::Mismatch));
            }
        }
    }

    #[test]
    fn a_stale_timestamp_is_refused_by_the_head_or_the_body() {
        let then = now() - chrono::Duration::seconds(301);
        for scheme in [Scheme::Stripe, Scheme::Zendesk, Scheme::Recurly] {
            let h = headers(&sign(scheme, b"s", &body_for(scheme, then), then));
            assert_eq!(check_head(scheme, &h, now(), 300).unwrap_err(), Refusal::Stale(301), "{scheme:?}");
        }
        for scheme in [Scheme::Intercom, Scheme::Jira] {
            let body = body_for(scheme, then);
            let head = check_head(scheme, &headers(&sign(scheme, b"s", &body, now())), now(), 300).unwrap();
            assert_eq!(check_body(&head, b"s", &body, now(), 300), Err(Refusal::Stale(301)), "{scheme:?}");
        }
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        assert_eq!(
            check_head(Scheme::Stripe, &HeaderMap::new(), now(), 300).unwrap_err(),
            Refusal::Missing("Stripe-Signature")
        );
        let h = headers(&[("Stripe-Signature", "t=abc,v1=00".into())]);
        assert_eq!(check_head(Scheme::Stripe, &h, now(), 300).unwrap_err(), Refusal::Malformed("Stripe-Signature"));
        assert_eq!(
            check_head(Scheme::Maxio, &HeaderMap::new(), now(), 300).unwrap_err(),
            Refusal::Missing("X-Chargify-Webhook-Signature-Hmac-Sha-256")
        );
        let h = headers(&[("X-Hub-Signature", "md5=00".into())]);
        assert_eq!(check_head(Scheme::Intercom, &h, now(), 300).unwrap_err(), Refusal::Malformed("X-Hub-Signature"));
        // A secret being rolled: Stripe signs with both, and either matches.
        let body = body_for(Scheme::Stripe, now());
        let old = sign(Scheme::Stripe, b"old", &body, now());
        let new = sign(Scheme::Stripe, b"new", &body, now());
        let both = format!("{},{}", old[0].1, new[0].1.split_once(',').unwrap().1);
        let head = check_head(Scheme::Stripe, &headers(&[("Stripe-Signature", both)]), now(), 300).unwrap();
        assert!(check_body(&head, b"new", &body, now(), 300).is_ok());
    }

    /// Recurly's header: the Unix time in milliseconds, then one signature per active key; the
    /// signed text is the milliseconds, a dot and the body.
    #[test]
    fn recurly_signs_milliseconds_a_dot_and_the_body_with_each_key() {
        let body = br#"{"id":"n1","object_type":"subscription","event_type":"updated"}"#;
        let ms = now().timestamp_millis();
        let tag = |secret: &[u8]| {
            let signed = [ms.to_string().as_bytes(), b".", &body[..]].concat();
            hex_text(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &signed).as_ref())
        };
        let value = format!("{ms},{},{}", tag(b"old key"), tag(b"new key"));
        let head = check_head(Scheme::Recurly, &headers(&[("Recurly-Signature", value)]), now(), 300).unwrap();
        assert!(check_body(&head, b"new key", body, now(), 300).is_ok(), "either key matches");
        assert!(check_body(&head, b"old key", body, now(), 300).is_ok());
        assert_eq!(check_body(&head, b"other", body, now(), 300), Err(Refusal::Mismatch));
        for bad in [format!("{ms}"), format!("{},{}", now().timestamp(), "zz"), format!("x{ms},{}", tag(b"k"))] {
            let h = headers(&[("Recurly-Signature", bad.clone())]);
            assert_eq!(
                check_head(Scheme::Recurly, &h, now(), 300).unwrap_err(),
                Refusal::Malformed("Recurly-Signature"),
                "{bad}"
            );
        }
        // Seconds where milliseconds belong read as 1970: stale.
        let h = headers(&[("Recurly-Signature", format!("{},{}", now().timestamp(), tag(b"k")))]);
        assert!(matches!(check_head(Scheme::Recurly, &h, now(), 300), Err(Refusal::Stale(_))));
    }

    #[test]
    fn chargebee_takes_the_webhooks_basic_authentication() {
        let body = body_for(Scheme::Chargebee, now());
        let pair = b"accord:hook-password";
        let head =
            check_head(Scheme::Chargebee, &headers(&sign(Scheme::Chargebee, pair, &body, now())), now(), 300).unwrap();
        assert_eq!(check_body(&head, b"accord:another", &body, now(), 300), Err(Refusal::Mismatch));
        assert_eq!(check_body(&head, pair, b"{}", now(), 300), Err(Refusal::Body("no event id".into())));
        let bearer = headers(&[("Authorization", "Bearer abc".into())]);
        assert_eq!(
            check_head(Scheme::Chargebee, &bearer, now(), 300).unwrap_err(),
            Refusal::Malformed("Authorization")
        );
        let no_colon = headers(&sign(Scheme::Chargebee, b"justapassword", &body, now()));
        assert_eq!(
            check_head(Scheme::Chargebee, &no_colon, now(), 300).unwrap_err(),
            Refusal::Malformed("Authorization")
        );
        assert_eq!(
            check_head(Scheme::Chargebee, &HeaderMap::new(), now(), 300).unwrap_err(),
            Refusal::Missing("Authorization")
        );
    }
}
