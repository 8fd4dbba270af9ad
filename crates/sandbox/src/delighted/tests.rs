//! The Delighted emulator over real HTTP: page-number lists that end with an empty page, the
//! person expanded or not, creation and change orders and bounds, Basic auth with the key alone,
//! and 429 with `Retry-After`.

use std::collections::BTreeSet;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.delighted.rate_limited = false;
    o
}

async fn get(s: &Sandbox, path: &str) -> reqwest::Response {
    let key = s.delighted.credentials().api_key;
    client().get(format!("{}{path}", s.delighted.base_url())).basic_auth(key, Some("")).send().await.unwrap()
}

async fn page(s: &Sandbox, path: &str) -> Vec<Value> {
    let res = get(s, path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json::<Vec<Value>>().await.unwrap()
}

/// Every page of `path` (which has a `?`) until the empty one.
async fn list_all(s: &Sandbox, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for n in 1.. {
        let p = page(s, &format!("{path}&page={n}")).await;
        if p.is_empty() {
            break;
        }
        out.extend(p);
    }
    out
}

#[tokio::test]
async fn a_list_pages_to_an_empty_page_in_creation_order_with_persons_expanded() {
    let (s, company) = sandbox(unlimited()).await;
    let all = list_all(&s, "/v1/survey_responses.json?per_page=7&expand[]=person").await;
    let want: Vec<&str> = company.delighted.survey_responses.iter().map(|r| r.id.as_str()).collect();
    let got: Vec<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, want, "every response once, oldest first");
    assert!(want.len() > 14, "several pages: {}", want.len());
    let created: Vec<i64> = all.iter().map(|r| r["created_at"].as_i64().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]));
    let with_email = all.iter().filter(|r| r["person"]["email"].is_string()).count();
    assert!(with_email > 0 && with_email < all.len(), "most answers carry an email, phone surveys do not");
    // Without expand, `person` is the person's id; `per_page` above 100 serves 100.
    let plain = page(&s, "/v1/survey_responses?per_page=500").await;
    assert_eq!(plain.len(), want.len().min(100));
    assert!(plain[0]["person"].is_string());
    let desc = page(&s, "/v1/survey_responses.json?order=desc&per_page=1").await;
    assert_eq!(desc[0]["id"], *want.last().unwrap());
}

#[tokio::test]
async fn updated_since_in_change_order_serves_only_what_changed() {
    let (s, company) = sandbox(unlimited()).await;
    let responses = &company.delighted.survey_responses;
    let mark = responses.iter().map(|r| r.updated_at).max().unwrap() + chrono::Duration::seconds(1);
    s.clock().advance(chrono::Duration::days(3650));
    let changed = responses[3].id.clone();
    s.delighted.update(&changed, |r| r.score = 10).unwrap();
    let path =
        format!("/v1/survey_responses.json?per_page=100&order=asc:updated_at&updated_since={}.0", mark.timestamp());
    let got = list_all(&s, &path).await;
    let ids: Vec<&str> = got.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [changed.as_str()]);
    assert_eq!(got[0]["score"], 10);
    // `since` bounds the creation time, inclusively.
    let first = responses[0].created_at.timestamp();
    let since = page(&s, &format!("/v1/survey_responses.json?per_page=100&since={first}&until={first}")).await;
    let want: BTreeSet<&str> =
        responses.iter().filter(|r| r.created_at.timestamp() == first).map(|r| r.id.as_str()).collect();
    assert_eq!(since.iter().map(|r| r["id"].as_str().unwrap()).collect::<BTreeSet<_>>(), want);
    assert_eq!(get(&s, "/v1/survey_responses.json?order=sideways").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // One person's answers, by email in any case.
    let email = responses.iter().find_map(|r| r.person.email.clone()).unwrap();
    let path = format!("/v1/survey_responses.json?per_page=100&person_email={}", email.to_uppercase());
    let theirs = page(&s, &path).await;
    let want = responses.iter().filter(|r| r.person.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&email)));
    assert_eq!(theirs.len(), want.count());
    assert!(!theirs.is_empty() && theirs.len() < responses.len());
}

#[tokio::test]
async fn the_key_alone_authenticates_and_a_wrong_one_is_refused_in_delighteds_shape() {
    let (s, _) = sandbox(unlimited()).await;
    let url = format!("{}/v1/survey_responses.json", s.delighted.base_url());
    // The official Python client sends the key without the `:` of an empty password.
    let bare = base64::engine::general_purpose::STANDARD.encode(s.delighted.credentials().api_key);
    let res = client().get(&url).header("Authorization", format!("Basic {bare}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client().get(&url).basic_auth("wrong", Some("")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn over_the_limit_answers_429_with_retry_after() {
    let mut o = SandboxOptions::default();
    o.delighted.per_minute = 3;
    let (s, _) = sandbox(o).await;
    for _ in 0..3 {
        assert_eq!(get(&s, "/v1/survey_responses.json").await.status(), StatusCode::OK);
    }
    let res = get(&s, "/v1/survey_responses.json").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(s.delighted.rate_limiter().stats().throttled, 1);
}
