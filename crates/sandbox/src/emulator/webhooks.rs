//! Webhooks the emulators send when their data changes, signed as each vendor signs them. The
//! signing here is written from the vendors' documentation on its own, not shared with accord's
//! verifier: a mistake in either shows as a refused delivery, never as the same mistake twice.
//!
//! - Zendesk: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body)), with
//!   the timestamp (RFC 3339) in `X-Zendesk-Webhook-Signature-Timestamp`.
//! - Intercom: `X-Hub-Signature: sha1=` hex(HMAC-SHA1(client secret, body)).
//! - JIRA Cloud: `X-Hub-Signature: sha256=` hex(HMAC-SHA256(secret, body)), and the delivery's id in
//!   `X-Atlassian-Webhook-Identifier`.
//! - Stripe: `Stripe-Signature: t=<unix>,v1=` hex(HMAC-SHA256(endpoint secret, `<t>.<body>`)).
//! - Recurly: `Recurly-Signature: <unix ms>,` hex(HMAC-SHA256(endpoint secret key, `<ms>.<body>`)).
//! - Freshdesk signs nothing: an automation rule's webhook carries the headers its author adds,
//!   here `X-Webhook-Token: <secret>`.
//! - Maxio (Chargify): a form-encoded body (`id=..&event=..&payload[...]=..`),
//!   `X-Chargify-Webhook-Signature-Hmac-Sha-256:` hex(HMAC-SHA256(the site's shared key, body)),
//!   and the webhook's id in `X-Chargify-Webhook-Id`.
//! - Chargebee signs nothing either: a webhook can be protected with HTTP Basic authentication,
//!   `Authorization: Basic` base64(`<username>:<password>`), the secret here.
//!
//! Deliveries are sent from the runtime the emulator started on, one task each, so a mutation
//! made from a test's own thread returns at once; [`Webhooks::sent`] and [`Webhooks::failed`]
//! count the answers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use chrono::{DateTime, Utc};
use ring::hmac;
use serde_json::Value;

/// How a vendor signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    Zendesk,
    Intercom,
    Jira,
    Stripe,
    Freshdesk,
    Recurly,
    Maxio,
    Chargebee,
}

#[derive(Debug, Clone)]
struct Target {
    url: String,
    secret: String,
}

/// Where an emulator delivers its webhooks.
#[derive(Debug)]
pub struct Webhooks {
    target: Mutex<Option<Target>>,
    runtime: Option<tokio::runtime::Handle>,
    client: reqwest::Client,
    seq: AtomicU64,
    sent: std::sync::Arc<AtomicU64>,
    failed: std::sync::Arc<AtomicU64>,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            target: Mutex::new(None),
            runtime: tokio::runtime::Handle::try_current().ok(),
            client: reqwest::Client::new(),
            seq: AtomicU64::new(1),
            sent: Default::default(),
            failed: Default::default(),
        }
    }
}

impl Webhooks {
    fn target(&self) -> std::sync::MutexGuard<'_, Option<Target>> {
        self.target.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends every later change to `url`, signed with `secret`.
    pub fn subscribe(&self, url: impl Into<String>, secret: impl Into<String>) {
        *self.target() = Some(Target { url: url.into(), secret: secret.into() });
    }

    pub fn unsubscribe(&self) {
        *self.target() = None;
    }

    /// Deliveries answered with a 2xx.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Deliveries refused or not delivered.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The next delivery number (ids of notifications and deliveries).
    pub(crate) fn next_id(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Signs `body` the vendor's way and posts it, when someone subscribed.
    pub(crate) fn deliver(&self, signing: Signing, body: &Value, now: DateTime<Utc>) {
        self.deliver_bytes(signing, "application/json", body.to_string().into_bytes(), now, None);
    }

    /// Signs a form-encoded body (Maxio's) and posts it; `delivery` is the webhook's id.
    pub(crate) fn deliver_form(
        &self,
        signing: Signing,
        fields: &[(String, String)],
        now: DateTime<Utc>,
        delivery: u64,
    ) {
        let body = form_encode(fields).into_bytes();
        self.deliver_bytes(signing, "application/x-www-form-urlencoded", body, now, Some(delivery));
    }

    fn deliver_bytes(
        &self,
        signing: Signing,
        content_type: &str,
        body: Vec<u8>,
        now: DateTime<Utc>,
        delivery: Option<u64>,
    ) {
        let Some(target) = self.target().clone() else { return };
        let Some(runtime) = &self.runtime else { return };
        let mut request = self.client.post(&target.url).header("content-type", content_type);
        let delivery = delivery.unwrap_or_else(|| self.next_id());
        for (name, value) in sign(signing, target.secret.as_bytes(), &body, now, delivery) {
            request = request.header(name, value);
        }
        let (sent, failed) = (self.sent.clone(), self.failed.clone());
        runtime.spawn(async move {
            match request.body(body).send().await {
                Ok(r) if r.status().is_success() => sent.fetch_add(1, Ordering::Relaxed),
                Ok(r) => {
                    tracing::warn!(status = %r.status(), "webhook delivery refused");
                    failed.fetch_add(1, Ordering::Relaxed)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery failed");
                    failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        });
    }
}

/// `application/x-www-form-urlencoded`: letters, digits and `*-._` as they are, a space as `+`,
/// every other byte `%XX`.
pub(crate) fn form_encode(fields: &[(String, String)]) -> String {
    let enc = |t: &str| -> String {
        t.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The headers a vendor signs a delivery with.
pub(crate) fn sign(
    signing: Signing,
    secret: &[u8],
    body: &[u8],
    now: DateTime<Utc>,
    delivery: u64,
) -> Vec<(&'static str, String)> {
    match signing {
        Signing::Zendesk => {
            let timestamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let mut signed = timestamp.clone().into_bytes();
            signed.extend_from_slice(body);
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &signed);
            vec![
                ("X-Zendesk-Webhook-Signature", base64::engine::general_purpose::STANDARD.encode(tag.as_ref())),
                ("X-Zendesk-Webhook-Signature-Timestamp", timestamp),
            ]
        }
        Signing::Intercom => {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret), body);
            vec![("X-Hub-Signature", format!("sha1={}", hex(tag.as_ref())))]
        }
        Signing::Freshdesk => vec![("X-Webhook-Token", String::from_utf8_lossy(secret).into_owned())],
        Signing::Maxio => {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body);
            vec![
                ("X-Chargify-Webhook-Signature-Hmac-Sha-256", hex(tag.as_ref())),
                ("X-Chargify-Webhook-Id", delivery.to_string()),
            ]
        }
        Signing::Chargebee => {
            vec![("Authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(secret)))]
        }
        Signing::Stripe => {
            let t = now.timestamp().to_string();
            let mut signed = format!("{t}.").into_bytes();
            signed.extend_from_slice(body);
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &signed);
            vec![("Stripe-Signature", format!("t={t},v1={}", hex(tag.as_ref())))]
        }
        Signing::Recurly => {
            let ms = now.timestamp_millis().to_string();
            let mut signed = format!("{ms}.").into_bytes();
            signed.extend_from_slice(body);
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &signed);
            vec![("Recurly-Signature", format!("{ms},{}", hex(tag.as_ref())))]
        }
        Signing::Jira => {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body);
            vec![
                ("X-Hub-Signature", format!("sha256={}", hex(tag.as_ref()))),
                ("X-Atlassian-Webhook-Identifier", delivery.to_string()),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256 and HMAC-SHA1 of RFC 4231 / RFC 2202 test case 2 ("Jefe"), so the signing
    /// is checked against published values rather than against itself.
    #[test]
    fn signatures_match_the_published_hmac_test_vectors() {
        let body = b"what do ya want for nothing?";
        let jira = sign(Signing::Jira, b"Jefe", body, Utc::now(), 7);
        assert_eq!(jira[0].1, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(jira[1], ("X-Atlassian-Webhook-Identifier", "7".to_owned()));
        let maxio = sign(Signing::Maxio, b"Jefe", body, Utc::now(), 9);
        assert_eq!(maxio[0].1, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(maxio[1], ("X-Chargify-Webhook-Id", "9".to_owned()));
        let intercom = sign(Signing::Intercom, b"Jefe", body, Utc::now(), 1);
        assert_eq!(intercom[0].1, "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn forms_are_encoded_as_browsers_encode_them() {
        let f = [("payload[customer][email]".to_owned(), "a b+c@x.example".to_owned())];
        assert_eq!(form_encode(&f), "payload%5Bcustomer%5D%5Bemail%5D=a+b%2Bc%40x.example");
    }

    #[test]
    fn stripe_signs_the_timestamp_a_dot_and_the_body() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let h = sign(Signing::Stripe, b"whsec_x", b"{}", now, 1);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"whsec_x"), b"1700000000.{}");
        assert_eq!(h[0].1, format!("t=1700000000,v1={}", hex(tag.as_ref())));
    }

    #[test]
    fn recurly_signs_the_milliseconds_a_dot_and_the_body() {
        let now = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let h = sign(Signing::Recurly, b"key", b"{}", now, 1);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"key"), b"1700000000123.{}");
        assert_eq!(h, vec![("Recurly-Signature", format!("1700000000123,{}", hex(tag.as_ref())))]);
    }

    #[test]
    fn zendesk_signs_the_timestamp_and_the_body() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let h = sign(Signing::Zendesk, b"secret", b"{}", now, 1);
        assert_eq!(h[1].1, "2023-11-14T22:13:20Z");
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"secret"), b"2023-11-14T22:13:20Z{}");
        assert_eq!(h[0].1, base64::engine::general_purpose::STANDARD.encode(tag.as_ref()));
    }
}
