//! The Capsule emulator over real HTTP: the party list paged by `Link` headers, `since`, custom
//! fields only when embedded, the deleted parties, auth and the hourly limit's headers.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

async fn get(s: &Sandbox, url: &str) -> reqwest::Response {
    let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", s.capsule.base_url()) };
    client().get(url).bearer_auth(s.capsule.credentials().access_token).send().await.unwrap()
}

/// Follows `Link` headers to the end; returns the items under `key` and the number of pages.
async fn all(s: &Sandbox, first: &str, key: &str) -> (Vec<Value>, usize) {
    let (mut url, mut items, mut pages) = (first.to_owned(), Vec::new(), 0);
    loop {
        let res = get(s, &url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let next = res.headers().get("link").map(|l| l.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap();
        items.extend(body[key].as_array().unwrap().iter().cloned());
        pages += 1;
        match next {
            Some(link) => {
                assert!(link.ends_with("rel=\"next\""), "{link}");
                url = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
            }
            None => return (items, pages),
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<u64> {
    items.iter().map(|i| i["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn parties_page_by_link_headers_and_embed_their_fields_when_asked() {
    let (s, company) = sandbox(SandboxOptions::unlimited()).await;
    let every: BTreeSet<u64> = company.capsule.parties.iter().map(|p| p.id).collect();
    for per_page in [9, 100, 1000] {
        let (parties, pages) = all(&s, &format!("/api/v2/parties?perPage={per_page}&embed=fields"), "parties").await;
        assert_eq!(ids(&parties), every);
        assert_eq!(pages, every.len().div_ceil(per_page.min(100)));
    }
    let (plain, _) = all(&s, "/api/v2/parties?perPage=100", "parties").await;
    assert!(plain.iter().all(|p| p.get("fields").is_none()), "fields only with embed=fields");
    let (parties, _) = all(&s, "/api/v2/parties?perPage=100&embed=fields,tags", "parties").await;
    let org = parties
        .iter()
        .find(|p| p["type"] == "organisation" && p["fields"].as_array().is_some_and(|f| !f.is_empty()))
        .unwrap();
    assert_eq!(org["fields"][0]["definition"]["name"], "Account ID");
    assert_eq!(org["websites"][0]["service"], "URL");
    let person = parties.iter().find(|p| p["type"] == "person" && !p["organisation"].is_null()).unwrap();
    assert!(every.contains(&person["organisation"]["id"].as_u64().unwrap()));
    s.shutdown().await;
}

#[tokio::test]
async fn since_lists_changes_and_deleted_lists_deletions() {
    let (s, company) = sandbox(SandboxOptions::unlimited()).await;
    s.clock().advance(chrono::Duration::minutes(1));
    let since = s.clock().now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (changed, _) = all(&s, &format!("/api/v2/parties?since={since}"), "parties").await;
    assert!(changed.is_empty(), "the generated parties are older");
    let (a, b) = (company.capsule.parties[0].id, company.capsule.parties[1].id);
    s.capsule.update(a, |p| p.job_title = Some("Changed".into())).unwrap();
    s.capsule.delete(b).unwrap();
    let (changed, _) = all(&s, &format!("/api/v2/parties?since={since}"), "parties").await;
    assert_eq!(ids(&changed), BTreeSet::from([a]));
    let (gone, _) = all(&s, &format!("/api/v2/parties/deleted?since={since}"), "parties").await;
    assert_eq!(ids(&gone), BTreeSet::from([b]));
    assert_eq!(get(&s, "/api/v2/parties/deleted").await.status(), StatusCode::BAD_REQUEST, "since is required");
    assert_eq!(get(&s, "/api/v2/parties?since=soon").await.status(), StatusCode::BAD_REQUEST);
    s.shutdown().await;
}

#[tokio::test]
async fn a_bearer_token_is_required_and_the_hourly_limit_counts_down_to_a_429() {
    let mut o = SandboxOptions::unlimited();
    o.capsule.rate_limited = true;
    o.capsule.per_hour = 2;
    let (s, _) = sandbox(o).await;
    let res =
        client().get(format!("{}/api/v2/parties", s.capsule.base_url())).bearer_auth("nope").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let now = chrono::Utc::now().timestamp();
    for left in ["1", "0"] {
        let res = get(&s, "/api/v2/parties").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-ratelimit-limit"], "2");
        assert_eq!(res.headers()["x-ratelimit-remaining"], left);
        let reset: i64 = res.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!(reset > now && reset <= now + 3601, "a Unix time within the hour: {reset}");
    }
    let res = get(&s, "/api/v2/parties").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "rate limit reached");
    s.shutdown().await;
}

#[tokio::test]
async fn a_put_adds_a_field_value_by_its_definition_id_and_refuses_an_unknown_definition() {
    let (s, company) = sandbox(SandboxOptions::unlimited()).await;
    let org =
        company.capsule.parties.iter().find(|p| p.kind == crate::capsule::model::PartyKind::Organisation).unwrap();
    let put = |path: String, body: serde_json::Value| {
        client()
            .put(format!("{}{path}", s.capsule.base_url()))
            .bearer_auth(s.capsule.credentials().access_token)
            .json(&body)
            .send()
    };
    let field = |definition: serde_json::Value| serde_json::json!({"party": {"fields": [{"definition": {"id": definition}, "value": "A-77"}]}});
    let res = put(format!("/api/v2/parties/{}", org.id), field(serde_json::json!(9))).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "fields.definition", "{body}");
    let res = put(format!("/api/v2/parties/{}", org.id), serde_json::json!({"name": "no wrapper"})).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = put("/api/v2/parties/999999999".into(), field(serde_json::json!(412_001))).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(s.capsule.writes().is_empty(), "refused writes change nothing");

    let res = put(format!("/api/v2/parties/{}?embed=fields", org.id), field(serde_json::json!(412_001))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["party"]["fields"][0]["value"], "A-77");
    assert_eq!(body["party"]["fields"][0]["definition"]["name"], "Account ID");
    let read: Value = get(&s, &format!("/api/v2/parties/{}?embed=fields", org.id)).await.json().await.unwrap();
    assert_eq!(read["party"]["fields"][0]["value"], "A-77");
    assert_eq!(s.capsule.writes().len(), 1);
    s.shutdown().await;
}
