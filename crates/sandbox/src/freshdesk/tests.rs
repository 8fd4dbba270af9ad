//! The Freshdesk emulator over real HTTP: bare arrays paged by `Link` headers, the 30-day window
//! of a ticket list without `updated_since`, the deletion lists, auth, the rate limit and its
//! headers.

use std::collections::BTreeSet;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use super::model::Ticket;
use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

fn basic(key: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:{password}")))
}

async fn get(s: &Sandbox, url: &str) -> reqwest::Response {
    let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", s.freshdesk.base_url()) };
    client().get(url).header("authorization", basic(&s.freshdesk.credentials().api_key, "X")).send().await.unwrap()
}

/// The `rel="next"` target of a response's `Link` header.
fn next_link(res: &reqwest::Response) -> Option<String> {
    let link = res.headers().get("link")?.to_str().ok()?;
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    Some(link.trim_start_matches('<').split('>').next()?.to_owned())
}

/// Follows `Link` headers to the end; returns the records and the number of pages.
async fn all(s: &Sandbox, first: &str) -> (Vec<Value>, usize) {
    let (mut url, mut items, mut pages) = (first.to_owned(), Vec::new(), 0);
    loop {
        let res = get(s, &url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let next = next_link(&res);
        let page: Value = res.json().await.unwrap();
        items.extend(page.as_array().expect("a bare array").iter().cloned());
        pages += 1;
        match next {
            Some(n) => url = n,
            None => return (items, pages),
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<u64> {
    items.iter().map(|i| i["id"].as_u64().unwrap()).collect()
}

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::unlimited();
    o.freshdesk.rate_limited = false;
    o
}

#[tokio::test]
async fn lists_page_by_link_headers_to_every_live_record() {
    let (s, company) = sandbox(unlimited()).await;
    let f = &company.freshdesk;
    let live_tickets: BTreeSet<u64> = f.tickets.iter().filter(|t| !t.deleted).map(|t| t.id).collect();
    for per_page in [7, 100, 500] {
        let (tickets, pages) =
            all(&s, &format!("/api/v2/tickets?updated_since=1970-01-01T00:00:00Z&per_page={per_page}")).await;
        assert_eq!(ids(&tickets), live_tickets, "per_page {per_page}");
        assert_eq!(tickets.len(), live_tickets.len(), "no ticket twice");
        assert_eq!(pages, live_tickets.len().div_ceil(per_page.min(100)), "at most 100 a page");
    }
    let (asc, _) =
        all(&s, "/api/v2/tickets?updated_since=2000-01-01&order_by=updated_at&order_type=asc&per_page=50").await;
    let times: Vec<&str> = asc.iter().map(|t| t["updated_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "updated_at ascending");
    let (companies, _) = all(&s, "/api/v2/companies?per_page=40").await;
    assert_eq!(ids(&companies), f.companies.iter().map(|c| c.id).collect());
    let account_ids: Vec<&Value> = companies.iter().map(|c| &c["custom_fields"]["account_id"]).collect();
    assert!(account_ids.iter().any(|v| v.is_string()) && account_ids.iter().any(|v| v.is_null()));
    let (contacts, _) = all(&s, "/api/v2/contacts?per_page=100").await;
    assert_eq!(ids(&contacts), f.contacts.iter().filter(|c| !c.deleted).map(|c| c.id).collect());
    s.shutdown().await;
}

#[tokio::test]
async fn without_updated_since_only_tickets_of_the_last_thirty_days_come_back() {
    let (s, company) = sandbox(unlimited()).await;
    let (recent, _) = all(&s, "/api/v2/tickets").await;
    assert!(recent.is_empty(), "the generated tickets are older than 30 days");
    let requester = company.freshdesk.contacts.iter().find(|c| !c.deleted).unwrap().id;
    let new = Ticket {
        id: 0,
        subject: "New today".into(),
        status: 2,
        priority: 1,
        requester_id: requester,
        company_id: None,
        deleted: false,
        created_at: s.clock().now(),
        updated_at: s.clock().now(),
    };
    let id = s.freshdesk.insert(new);
    let (recent, _) = all(&s, "/api/v2/tickets").await;
    assert_eq!(ids(&recent), BTreeSet::from([id]));
    let since = (s.clock().now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (changed, _) = all(&s, &format!("/api/v2/tickets?updated_since={since}")).await;
    assert_eq!(ids(&changed), BTreeSet::from([id]));
    let res = get(&s, "/api/v2/tickets?updated_since=yesterday").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "updated_since");
    s.shutdown().await;
}

#[tokio::test]
async fn deleted_contacts_and_tickets_are_listed_only_as_deleted() {
    let (s, company) = sandbox(unlimited()).await;
    let f = &company.freshdesk;
    let (trash, _) = all(&s, "/api/v2/tickets?filter=deleted&updated_since=1970-01-01T00:00:00Z").await;
    let deleted: BTreeSet<u64> = f.tickets.iter().filter(|t| t.deleted).map(|t| t.id).collect();
    assert!(!deleted.is_empty());
    assert_eq!(ids(&trash), deleted);
    assert!(trash.iter().all(|t| t["deleted"] == Value::Bool(true)));
    let live = f.tickets.iter().find(|t| !t.deleted).unwrap().id;
    let contact = f.contacts.iter().find(|c| !c.deleted).unwrap().id;
    s.clock().advance(chrono::Duration::minutes(1));
    let before = s.clock().now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    s.freshdesk.delete_ticket(live).unwrap();
    s.freshdesk.delete_contact(contact).unwrap();
    let (trash, _) = all(&s, &format!("/api/v2/tickets?filter=deleted&updated_since={before}")).await;
    assert_eq!(ids(&trash), BTreeSet::from([live]));
    let (gone, _) = all(&s, &format!("/api/v2/contacts?state=deleted&_updated_since={before}")).await;
    assert_eq!(ids(&gone), BTreeSet::from([contact]));
    assert_eq!(gone[0]["deleted"], Value::Bool(true));
    let (open, _) = all(&s, "/api/v2/tickets?updated_since=1970-01-01T00:00:00Z&per_page=100").await;
    assert!(!ids(&open).contains(&live));
    s.shutdown().await;
}

#[tokio::test]
async fn the_api_key_is_the_user_and_a_wrong_one_is_refused() {
    let (s, _) = sandbox(unlimited()).await;
    let url = format!("{}/api/v2/companies", s.freshdesk.base_url());
    let key = s.freshdesk.credentials().api_key;
    for password in ["X", ""] {
        let res = client().get(&url).header("authorization", basic(&key, password)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "password {password:?}");
    }
    let res = client().get(&url).header("authorization", basic("wrong", "X")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_credentials");
    s.shutdown().await;
}

#[tokio::test]
async fn over_the_limit_a_429_says_retry_after_and_every_answer_counts_down() {
    let mut o = SandboxOptions::unlimited();
    o.freshdesk.rate_limited = true;
    o.freshdesk.per_minute = 3;
    let (s, _) = sandbox(o).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = get(&s, "/api/v2/companies").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-ratelimit-total"], "3");
        assert_eq!(res.headers()["x-ratelimit-used-currentrequest"], "1");
        remaining.push(res.headers()["x-ratelimit-remaining"].to_str().unwrap().to_owned());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let res = get(&s, "/api/v2/companies").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(s.freshdesk.rate_limiter().stats().throttled, 1);
    s.shutdown().await;
}
