//! Webhooks end to end against the sandbox: a change in an emulator reaches the 360 view within
//! seconds with no manual sync, and deliveries with a bad signature, a stale timestamp or a
//! replayed identity are refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_core::Config;
use accord_engine::{Hub, SyncOptions};
use accord_sandbox::zendesk::model::Ticket;
use accord_sandbox::{Company, Expected, Sandbox, SandboxOptions};
use base64::Engine;
use ring::hmac;

const SECRET: &str = "zd-webhook-signing-secret";

struct Setup {
    sandbox: Sandbox,
    hub: Arc<Hub>,
    base: String,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    setup_for("zendesk").await
}

/// The sandbox synced once, and `accord serve` with a webhook table on `source`.
async fn setup_for(source: &str) -> Setup {
    setup_with(source, SECRET).await
}

/// Like `setup_for`, with the webhook's secret.
async fn setup_with(source: &str, secret: &str) -> Setup {
    let mut options = SandboxOptions::unlimited();
    // Zendesk's exports leave out the last minute (hence its 61 s default debounce) and end
    // before the current second: here only the latter, with a one-second debounce.
    options.zendesk.exclude_recent = chrono::Duration::zero();
    let sandbox = Sandbox::start(Company::generate(21, 40), options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api_key"), crate::KEY).unwrap();
    std::fs::write(dir.path().join("zd_webhook"), secret).unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap()
        + "\n[server]\napi_key = { file = \"api_key\" }\n\
           [sources.SOURCE.webhook]\nsecret = { file = \"zd_webhook\" }\ndebounce_seconds = 1\n"
            .replace("SOURCE", source)
            .as_str();
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let hub = Arc::new(tokio::task::spawn_blocking(move || Hub::open(config)).await.unwrap().unwrap());
    let (h, rt) = (hub.clone(), tokio::runtime::Handle::current());
    let report = tokio::task::spawn_blocking(move || {
        accord_engine::sync(&h, &SyncOptions::default(), &accord_engine::sync::Quiet, &rt)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!report.failed(), "{report:?}");
    let state = accord_server::state_from_config(hub.clone(), &hub.config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, accord_server::app(state)).await.unwrap() });
    Setup { sandbox, hub, base, _dir: dir }
}

/// Zendesk's signature, computed here from its documentation.
fn zendesk_headers(secret: &str, body: &str, at: chrono::DateTime<chrono::Utc>) -> [(String, String); 2] {
    let ts = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), format!("{ts}{body}").as_bytes());
    [
        ("X-Zendesk-Webhook-Signature".into(), base64::engine::general_purpose::STANDARD.encode(tag.as_ref())),
        ("X-Zendesk-Webhook-Signature-Timestamp".into(), ts),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ticket_in_zendesk_reaches_the_360_view_without_a_sync() {
    let s = setup().await;
    let truth = s.sandbox.truth();
    let (org, account) = truth
        .records
        .iter()
        .filter(|(k, _)| k.source == "zendesk" && k.object == "organizations")
        .find_map(|(k, e)| match e {
            Expected::Linked { account_id, .. } => Some((k.native_id.parse::<u64>().unwrap(), account_id.clone())),
            _ => None,
        })
        .expect("a linked organization");
    s.sandbox.zendesk.webhooks().subscribe(format!("{}/webhooks/zendesk", s.base), SECRET);
    let subject = "Printer on fire (sent by webhook)";
    let now = chrono::Utc::now();
    s.sandbox.zendesk.insert(Ticket {
        id: 0,
        subject: subject.into(),
        status: "open".into(),
        priority: None,
        requester_id: 1,
        organization_id: Some(org),
        created_at: now,
        updated_at: now,
    });
    let url = format!("{}/api/v2/accounts/{account}/360?api_key={}", s.base, crate::KEY);
    let start = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let text = client.get(&url).send().await.unwrap().text().await.unwrap();
        if text.contains(subject) {
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let hooks = s.sandbox.zendesk.webhooks();
            let runs = s.hub.store.runs(Some("zendesk"), 10).unwrap();
            panic!(
                "the ticket never reached the 360 view: {} sent, {} failed; runs {runs:?}",
                hooks.sent(),
                hooks.failed()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.sandbox.zendesk.webhooks().sent(), 1, "one delivery, answered 202");
    assert_eq!(s.sandbox.zendesk.webhooks().failed(), 0);
    let runs = s.hub.store.runs(Some("zendesk"), 10).unwrap();
    assert!(runs.len() >= 2, "the first sync and the webhook's: {runs:?}");
}

/// Waits until the 360 view of `account` shows `text`.
async fn until_360_shows(s: &Setup, account: &str, text: &str) {
    let url = format!("{}/api/v2/accounts/{account}/360?api_key={}", s.base, crate::KEY);
    let start = Instant::now();
    loop {
        let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
        if page.contains(text) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{text:?} never reached the 360 view of {account}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn linked_in(s: &Setup, source: &str, object: &str) -> (String, String) {
    s.sandbox
        .truth()
        .records
        .iter()
        .filter(|(k, _)| k.source == source && k.object == object)
        .find_map(|(k, e)| match e {
            Expected::Linked { account_id, by: Some(_) } => Some((k.native_id.clone(), account_id.clone())),
            _ => None,
        })
        .expect("a linked record")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_and_jira_changes_reach_the_360_view_signed_their_way() {
    let s = setup_for("intercom").await;
    let (company, account) = linked_in(&s, "intercom", "companies");
    s.sandbox.intercom.webhooks().subscribe(format!("{}/webhooks/intercom", s.base), SECRET);
    s.sandbox
        .intercom
        .update::<accord_sandbox::intercom::model::Company>(&company, |c| c.name = "Renamed by a webhook".into())
        .unwrap();
    until_360_shows(&s, &account, "Renamed by a webhook").await;
    assert_eq!((s.sandbox.intercom.webhooks().sent(), s.sandbox.intercom.webhooks().failed()), (1, 0));

    let s = setup_for("jira").await;
    let (issue, account) = linked_in(&s, "jira", "issues");
    s.sandbox.jira.webhooks().subscribe(format!("{}/webhooks/jira", s.base), SECRET);
    s.sandbox.jira.update(issue.parse().unwrap(), |i| i.summary = "Escalated through a webhook".into()).unwrap();
    until_360_shows(&s, &account, "Escalated through a webhook").await;
    assert_eq!((s.sandbox.jira.webhooks().sent(), s.sandbox.jira.webhooks().failed()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_customer_change_reaches_the_360_view_through_its_event() {
    let s = setup_for("stripe").await;
    let (customer, account) = linked_in(&s, "stripe", "customers");
    s.sandbox.stripe.webhooks().subscribe(format!("{}/webhooks/stripe", s.base), SECRET);
    s.sandbox.stripe.update_customer(&customer, |c| c.name = Some("Renamed in Stripe".into())).unwrap();
    until_360_shows(&s, &account, "Renamed in Stripe").await;
    assert_eq!((s.sandbox.stripe.webhooks().sent(), s.sandbox.stripe.webhooks().failed()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurly_account_change_reaches_the_360_view_signed_with_milliseconds() {
    let s = setup_for("recurly").await;
    let (account_id, account) = linked_in(&s, "recurly", "accounts");
    s.sandbox.recurly.webhooks().subscribe(format!("{}/webhooks/recurly", s.base), SECRET);
    s.sandbox.recurly.update_account(&account_id, |a| a.company = Some("Renamed in Recurly".into())).unwrap();
    until_360_shows(&s, &account, "Renamed in Recurly").await;
    assert_eq!((s.sandbox.recurly.webhooks().sent(), s.sandbox.recurly.webhooks().failed()), (1, 0));
    // Signed in seconds instead of milliseconds, or with another key: refused.
    let url = format!("{}/webhooks/recurly", s.base);
    let body = r#"{"id":"n1","object_type":"account","event_type":"updated"}"#;
    let sign = |key: &str, at: String| {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()), format!("{at}.{body}").as_bytes());
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("{at},{hex}")
    };
    let client = reqwest::Client::new();
    let now = chrono::Utc::now();
    for header in [sign(SECRET, now.timestamp().to_string()), sign("another key", now.timestamp_millis().to_string())] {
        let r = client.post(&url).header("Recurly-Signature", header).body(body).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let ok = client
        .post(&url)
        .header("Recurly-Signature", sign(SECRET, now.timestamp_millis().to_string()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maxio_customer_change_reaches_the_360_view_signed_with_the_site_key() {
    let s = setup_for("maxio").await;
    let (customer, account) = linked_in(&s, "maxio", "customers");
    s.sandbox.maxio.webhooks().subscribe(format!("{}/webhooks/maxio", s.base), SECRET);
    s.sandbox
        .maxio
        .update_customer(customer.parse().unwrap(), |c| c.organization = Some("Renamed in Maxio".into()))
        .unwrap();
    until_360_shows(&s, &account, "Renamed in Maxio").await;
    assert_eq!((s.sandbox.maxio.webhooks().sent(), s.sandbox.maxio.webhooks().failed()), (1, 0));
    // Signed with another key, or not at all: refused; the same webhook id twice: a replay.
    let url = format!("{}/webhooks/maxio", s.base);
    let client = reqwest::Client::new();
    let body = "id=900&event=customer_update&payload[customer][id]=1";
    let signed = |key: &str| {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()), body.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let post = |sig: Option<String>| {
        let mut r = client.post(&url).header("content-type", "application/x-www-form-urlencoded").body(body);
        if let Some(sig) = sig {
            r = r.header("X-Chargify-Webhook-Signature-Hmac-Sha-256", sig).header("X-Chargify-Webhook-Id", "900");
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(post(Some(signed("guess"))).await.unwrap().status(), 401);
    assert_eq!(post(Some(signed(SECRET))).await.unwrap().status(), 202);
    assert_eq!(post(Some(signed(SECRET))).await.unwrap().status(), 409, "a replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freshdesk_ticket_change_reaches_the_360_view_with_its_token() {
    let s = setup_for("freshdesk").await;
    let (ticket, account) = linked_in(&s, "freshdesk", "tickets");
    s.sandbox.freshdesk.webhooks().subscribe(format!("{}/webhooks/freshdesk", s.base), SECRET);
    s.sandbox
        .freshdesk
        .update::<accord_sandbox::freshdesk::model::Ticket>(ticket.parse().unwrap(), |t| {
            t.subject = "Escalated from a Freshdesk rule".into()
        })
        .unwrap();
    until_360_shows(&s, &account, "Escalated from a Freshdesk rule").await;
    assert_eq!((s.sandbox.freshdesk.webhooks().sent(), s.sandbox.freshdesk.webhooks().failed()), (1, 0));
    // Without the token, or with another: refused.
    let url = format!("{}/webhooks/freshdesk", s.base);
    let client = reqwest::Client::new();
    assert_eq!(client.post(&url).body("{}").send().await.unwrap().status(), 401);
    let r = client.post(&url).header("X-Webhook-Token", "guess").body("{}").send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stale_and_replayed_deliveries_are_refused() {
    let s = setup().await;
    let client = reqwest::Client::new();
    let url = format!("{}/webhooks/zendesk", s.base);
    let body = r#"{"type":"zen:event-type:ticket.updated","detail":{"id":"1"}}"#;
    let post = |headers: [(String, String); 2], body: &'static str| {
        let mut r = client.post(&url).header("content-type", "application/json");
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.body(body).send()
    };
    let now = chrono::Utc::now();
    let status = |r: reqwest::Response| r.status().as_u16();
    // Signed with another secret.
    assert_eq!(status(post(zendesk_headers("not the secret", body, now), body).await.unwrap()), 401);
    // Signed right, ten minutes ago.
    let stale = now - chrono::Duration::minutes(10);
    let r = post(zendesk_headers(SECRET, body, stale), body).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("outside the tolerance"));
    // No signature at all: refused before the body is read, naming the header.
    let r = client.post(&url).body(body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("X-Zendesk-Webhook-Signature"));
    // Valid, then the very same delivery again.
    let headers = zendesk_headers(SECRET, body, now);
    assert_eq!(status(post(headers.clone(), body).await.unwrap()), 202);
    assert_eq!(status(post(headers, body).await.unwrap()), 409, "a replay");
    // Sources without a webhook table, and unknown ones.
    for other in ["intercom", "nosuch"] {
        let r = client.post(format!("{}/webhooks/{other}", s.base)).body(body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{other}");
    }
}

/// A Chargebee webhook protected with basic authentication (the source's secret is
/// `username:password`): a customer change reaches the 360 view; other credentials, or none, are
/// refused, and an event delivered twice is a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargebee_customer_change_reaches_the_360_view_with_basic_auth() {
    const PAIR: &str = "accord:cb-hook-password";
    let s = setup_with("chargebee", PAIR).await;
    let (customer, account) = linked_in(&s, "chargebee", "customers");
    s.sandbox.chargebee.webhooks().subscribe(format!("{}/webhooks/chargebee", s.base), PAIR);
    s.sandbox.chargebee.update_customer(&customer, |c| c.company = Some("Renamed in Chargebee".into())).unwrap();
    until_360_shows(&s, &account, "Renamed in Chargebee").await;
    assert_eq!((s.sandbox.chargebee.webhooks().sent(), s.sandbox.chargebee.webhooks().failed()), (1, 0));
    let url = format!("{}/webhooks/chargebee", s.base);
    let client = reqwest::Client::new();
    let body = r#"{"id":"ev_replayed","event_type":"customer_changed","content":{}}"#;
    assert_eq!(client.post(&url).body(body).send().await.unwrap().status(), 401, "no credentials");
    let wrong = client.post(&url).basic_auth("accord", Some("guess")).body(body).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let (user, password) = PAIR.split_once(':').unwrap();
    let first = client.post(&url).basic_auth(user, Some(password)).body(body).send().await.unwrap();
    assert_eq!(first.status(), 202);
    let again = client.post(&url).basic_auth(user, Some(password)).body(body).send().await.unwrap();
    assert_eq!(again.status(), 409, "the same event id again");
}
