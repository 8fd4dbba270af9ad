//! The Intercom emulator over real HTTP: list, scroll and search pagination, auth, the 10-second
//! rate limit, incremental search, faults, and the answers' shapes against the official 2.14 spec.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::model::{Contact, Conversation};
use crate::tests::support::{client, sandbox};
use crate::{Fault, Sandbox, SandboxOptions, Schedule};

const SPEC: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/intercom/intercom-2.14-api.intercom.io.yaml");

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.intercom.rate_limited = false;
    o
}

fn request(s: &Sandbox, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, format!("{}{path}", s.intercom.base_url()))
        .bearer_auth(s.intercom.credentials().access_token)
        .header("Intercom-Version", "2.14")
}

async fn get(s: &Sandbox, path: &str) -> Value {
    let res = request(s, reqwest::Method::GET, path).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

async fn post(s: &Sandbox, path: &str, body: Value) -> reqwest::Response {
    request(s, reqwest::Method::POST, path).json(&body).send().await.unwrap()
}

/// Follows `pages.next.starting_after` to the end of a GET list.
async fn list_all(s: &Sandbox, path: &str, key: &str, per_page: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = format!("{path}?per_page={per_page}");
    loop {
        let body = get(s, &url).await;
        let page = body[key].as_array().unwrap();
        assert!(page.len() <= per_page);
        out.extend(page.iter().cloned());
        assert!(body["total_count"].as_u64().unwrap() as usize >= out.len());
        match body["pages"]["next"]["starting_after"].as_str() {
            Some(after) => url = format!("{path}?per_page={per_page}&starting_after={after}"),
            None => return out,
        }
    }
}

/// Follows a search to its end.
async fn search_all(s: &Sandbox, path: &str, query: Value, key: &str, per_page: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pagination = json!({ "per_page": per_page });
    loop {
        let res = post(s, path, json!({ "query": query, "pagination": pagination })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        out.extend(body[key].as_array().unwrap().iter().cloned());
        match body["pages"]["next"]["starting_after"].as_str() {
            Some(after) => pagination = json!({ "per_page": per_page, "starting_after": after }),
            None => return out,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn lists_scrolls_and_pages_return_every_record_for_several_page_sizes() {
    let (s, company) = sandbox(unlimited()).await;
    let ic = &company.intercom;
    for per_page in [7, 50, 150] {
        let contacts = list_all(&s, "/contacts", "data", per_page).await;
        assert_eq!(ids(&contacts), ic.contacts.iter().map(|c| c.id.clone()).collect::<Vec<_>>());
        let conversations = list_all(&s, "/conversations", "conversations", per_page).await;
        assert_eq!(ids(&conversations), ic.conversations.iter().map(|c| c.id.clone()).collect::<Vec<_>>());
    }
    let all_companies: BTreeSet<String> = ic.companies.iter().map(|c| c.id.clone()).collect();
    // GET /companies documents no maximum per_page: the size asked is the size served.
    for per_page in [50, 60, 150] {
        let mut listed = Vec::new();
        let mut page = 1;
        loop {
            let body = get(&s, &format!("/companies?per_page={per_page}&page={page}")).await;
            let data = body["data"].as_array().unwrap();
            assert_eq!(body["pages"]["per_page"], per_page);
            assert_eq!(body["total_count"].as_u64().unwrap() as usize, all_companies.len());
            if page < body["pages"]["total_pages"].as_u64().unwrap() as usize {
                assert_eq!(data.len(), per_page, "a full page when more follow");
            }
            listed.extend(ids(data));
            if page >= body["pages"]["total_pages"].as_u64().unwrap() as usize {
                break;
            }
            page += 1;
        }
        assert_eq!(listed.len(), all_companies.len(), "per_page {per_page}: no company twice");
        assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), all_companies, "per_page {per_page}");
    }
    let mut listed = BTreeSet::new();
    let mut page = 1;
    loop {
        let res = post(&s, &format!("/companies/list?per_page=7&page={page}"), json!({})).await;
        let body: Value = res.json().await.unwrap();
        listed.extend(ids(body["data"].as_array().unwrap()));
        if page >= body["pages"]["total_pages"].as_u64().unwrap() as usize {
            break;
        }
        page += 1;
    }
    assert_eq!(listed, all_companies);
    let first = get(&s, "/companies/scroll").await;
    let param = first["scroll_param"].as_str().unwrap().to_owned();
    let res = request(&s, reqwest::Method::GET, "/companies/scroll").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "one scroll at a time");
    assert_eq!(res.json::<Value>().await.unwrap()["errors"][0]["code"], "scroll_exists");
    let mut scrolled = ids(first["data"].as_array().unwrap());
    loop {
        let body = get(&s, &format!("/companies/scroll?scroll_param={param}")).await;
        let data = body["data"].as_array().unwrap();
        if data.is_empty() {
            break;
        }
        scrolled.extend(ids(data));
    }
    assert_eq!(scrolled, ic.companies.iter().map(|c| c.id.clone()).collect::<Vec<_>>());
    let res =
        request(&s, reqwest::Method::GET, &format!("/companies/scroll?scroll_param={param}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "the scroll expired at its end");
    assert!(!get(&s, "/companies/scroll").await["data"].as_array().unwrap().is_empty(), "a new scroll can start");
    let one = &ic.companies[0];
    let found = get(&s, &format!("/companies?company_id={}", one.company_id)).await;
    assert_eq!(found["id"], one.id);
}

#[tokio::test]
async fn a_server_that_pages_by_fewer_than_asked_says_so_in_pages() {
    let mut o = unlimited();
    o.intercom.company_page_cap = Some(50);
    let (s, company) = sandbox(o).await;
    let total = company.intercom.companies.len();
    assert!(total > 60);
    let body = get(&s, "/companies?per_page=60&page=1").await;
    assert_eq!(body["data"].as_array().unwrap().len(), 50);
    assert_eq!(body["pages"]["per_page"], 50);
    assert_eq!(body["pages"]["total_pages"].as_u64().unwrap() as usize, total.div_ceil(50));
    assert_eq!(body["total_count"].as_u64().unwrap() as usize, total);
    // A deleted company leaves the list and its count.
    let gone = company.intercom.companies[0].id.clone();
    s.intercom.delete::<super::model::Company>(&gone).unwrap();
    let body = get(&s, "/companies?per_page=150&page=1").await;
    assert_eq!(body["total_count"].as_u64().unwrap() as usize, total - 1);
    assert!(!ids(body["data"].as_array().unwrap()).contains(&gone));
}

#[tokio::test]
async fn auth_and_version_failures_answer_like_intercom() {
    let (s, _) = sandbox(unlimited()).await;
    let res = client().get(format!("{}/contacts", s.intercom.base_url())).bearer_auth("nope").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("x-ratelimit-limit").is_none(), "no rate-limit headers without credentials");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "error.list");
    assert!(body["request_id"].is_string());
    assert_eq!(body["errors"], json!([{ "code": "unauthorized", "message": "Access Token Invalid" }]));
    let res = client()
        .get(format!("{}/contacts", s.intercom.base_url()))
        .bearer_auth(s.intercom.credentials().access_token)
        .header("Intercom-Version", "9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = request(&s, reqwest::Method::GET, "/nothing").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["errors"][0]["code"], "not_found");
}

#[tokio::test]
async fn the_ten_second_limit_answers_429_with_intercom_headers() {
    let mut o = SandboxOptions::default();
    o.intercom.per_minute = 60;
    let (s, _) = sandbox(o).await;
    for n in 1..=10u32 {
        let res = request(&s, reqwest::Method::GET, "/contacts?per_page=1").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-ratelimit-limit"], "10");
        assert_eq!(res.headers()["x-ratelimit-remaining"], (10 - n).to_string().as_str());
        let reset: i64 = res.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(reset > now - 1 && reset <= now + 11, "{reset} vs {now}");
    }
    let res = request(&s, reqwest::Method::GET, "/contacts?per_page=1").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "rate_limit_exceeded");
    assert_eq!(body["errors"][0]["message"], "Exceeded rate limit of 10 in 10_seconds");
    let stats = s.intercom.rate_limiter().stats();
    assert_eq!((stats.requests, stats.throttled, stats.max_in_window), (11, 1, 11));
}

#[tokio::test]
async fn searches_by_updated_at_return_only_what_changed_by_whole_days() {
    let (s, company) = sandbox(unlimited()).await;
    let yesterday = (s.clock().now() - chrono::Duration::days(1)).timestamp();
    let changed = json!({ "field": "updated_at", "operator": ">", "value": yesterday });
    assert!(search_all(&s, "/contacts/search", changed.clone(), "data", 50).await.is_empty());
    let contact = company.intercom.contacts[5].id.clone();
    s.intercom.update::<Contact>(&contact, |c| c.name = Some("Renamed".into())).unwrap();
    let conversation = company.intercom.conversations[2].id.clone();
    s.intercom.update::<Conversation>(&conversation, |c| c.state = "closed".into()).unwrap();
    let found = search_all(&s, "/contacts/search", changed.clone(), "data", 1).await;
    assert_eq!(ids(&found), vec![contact]);
    let found = search_all(&s, "/conversations/search", changed.clone(), "conversations", 20).await;
    assert_eq!(ids(&found), vec![conversation]);
    // `>` today starts tomorrow: the change made today is not found (Intercom's day rule).
    let today = json!({ "field": "updated_at", "operator": ">", "value": s.clock().now().timestamp() });
    assert!(search_all(&s, "/contacts/search", today, "data", 50).await.is_empty());
    let res = post(
        &s,
        "/contacts/search",
        json!({ "query": { "field": "updated_at", "operator": ">=", "value": yesterday } }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["errors"][0]["code"], "parameter_invalid");
    let all = search_all(
        &s,
        "/contacts/search",
        json!({ "operator": "OR", "value": [
            { "field": "created_at", "operator": "<", "value": s.clock().now().timestamp() },
            { "field": "role", "operator": "=", "value": "lead" }
        ] }),
        "data",
        150,
    )
    .await;
    assert_eq!(all.len(), company.intercom.contacts.len());
}

/// What Singer's tap-intercom sends, which the real API takes: `GET /tags` to check the token, a
/// resumable conversations search by `id > <last id>` (a string field), and float timestamps.
#[tokio::test]
async fn the_queries_singers_tap_intercom_sends_are_answered() {
    let (s, company) = sandbox(unlimited()).await;
    assert_eq!(get(&s, "/tags").await, json!({ "type": "list", "data": [] }));
    let since = |id: &str| {
        json!({ "operator": "AND", "value": [
            { "operator": "OR", "value": [
                { "field": "id", "operator": ">", "value": id },
                { "field": "id", "operator": "=", "value": id }
            ] },
            { "operator": "OR", "value": [
                { "field": "updated_at", "operator": ">", "value": 946_684_800.5 },
                { "field": "updated_at", "operator": "=", "value": 946_684_800.5 }
            ] }
        ] })
    };
    let all = search_all(&s, "/conversations/search", since(""), "conversations", 150).await;
    assert_eq!(all.len(), company.intercom.conversations.len());
    // From a conversation id on: that one and every later one, in numeric id order.
    let mut numeric: Vec<u128> = ids(&all).iter().map(|i| i.parse().unwrap()).collect();
    numeric.sort();
    let middle = numeric[numeric.len() / 2].to_string();
    let rest = search_all(&s, "/conversations/search", since(&middle), "conversations", 150).await;
    assert_eq!(rest.len(), numeric.len() - numeric.len() / 2);
}

#[tokio::test]
async fn faults_are_observable_over_http() {
    let (s, _) = sandbox(unlimited()).await;
    s.intercom.faults().inject_on("/contacts", Fault::Status(503), Schedule::Next(1));
    s.intercom.faults().inject_on("/conversations", Fault::Drop, Schedule::Always);
    let res = request(&s, reqwest::Method::GET, "/contacts").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json::<Value>().await.unwrap()["type"], "error.list");
    assert_eq!(request(&s, reqwest::Method::GET, "/contacts").send().await.unwrap().status(), StatusCode::OK);
    for _ in 0..3 {
        assert!(request(&s, reqwest::Method::GET, "/conversations").send().await.is_err());
    }
    s.intercom.faults().clear();
    assert_eq!(request(&s, reqwest::Method::GET, "/conversations").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(s.intercom.faults().counts().dropped, 3);
}

/// OpenAPI 3.0 `nullable: true` becomes JSON Schema's `null` type.
fn nullable_to_json_schema(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        Value::Object(m) => {
            for child in m.values_mut() {
                nullable_to_json_schema(child);
            }
            if m.get("nullable") != Some(&Value::Bool(true)) {
                return;
            }
            m.remove("nullable");
            match m.get("type").cloned() {
                Some(Value::String(t)) => {
                    m.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(e)) = m.get_mut("enum") {
                        e.push(Value::Null);
                    }
                }
                _ => {
                    let inner = Value::Object(std::mem::take(m));
                    *v = json!({ "anyOf": [inner, { "type": "null" }] });
                }
            }
        }
        _ => {}
    }
}

struct Spec(Value);

impl Spec {
    /// The spec, or `None` when `shared/` is not beside the clone (a newcomer's fresh clone): the
    /// test then says it skipped. CI sets `ACCORD_REQUIRE_SHARED=1`, which makes a missing spec fail.
    fn load() -> Option<Spec> {
        let text = match std::fs::read_to_string(SPEC) {
            Ok(text) => text,
            Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
                panic!("ACCORD_REQUIRE_SHARED is set, so the official Intercom 2.14 spec must be at {SPEC}: {e}")
            }
            Err(e) => {
                eprintln!(
                    "skipping the Intercom spec check: {SPEC} not readable ({e}); shared/ is not beside the clone"
                );
                return None;
            }
        };
        let mut spec: Value = serde_yaml::from_str(&text).expect("the spec is YAML");
        nullable_to_json_schema(&mut spec);
        Some(Spec(spec))
    }

    fn check(&self, schema: &str, instance: &Value) {
        let mut root = json!({ "$ref": format!("#/components/schemas/{schema}") });
        root["components"] = self.0["components"].clone();
        // Formats are annotations here: the spec marks relative links (`/contacts/x/tags`, its
        // own examples) as `format: uri`, which a strict check of absolute URIs would refuse.
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(false)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"));
        let errors: Vec<String> =
            validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{schema} rejects the answer: {errors:#?}\n{instance:#}");
    }
}

#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let Some(spec) = Spec::load() else { return };
    // The check can fail: a company with a non-string custom attribute is refused.
    let bad = json!({ "type": "company", "id": "x", "custom_attributes": { "n": 5 } });
    let mut root = json!({ "$ref": "#/components/schemas/company" });
    root["components"] = spec.0["components"].clone();
    let v = jsonschema::options().with_draft(jsonschema::Draft::Draft7).build(&root).unwrap();
    assert!(!v.is_valid(&bad));

    let mut o = SandboxOptions::default();
    o.intercom.per_minute = 6;
    let (s, company) = sandbox(o).await;
    s.intercom.rate_limiter().set_enabled(false);
    let scroll = get(&s, "/companies/scroll").await;
    spec.check("company_scroll", &scroll);
    spec.check("company", &scroll["data"][0]);
    let one = get(&s, &format!("/companies?company_id={}", company.intercom.companies[3].company_id)).await;
    spec.check("company", &one);
    let list: Value = post(&s, "/companies/list?per_page=5", json!({})).await.json().await.unwrap();
    spec.check("company_list", &list);
    let contacts = get(&s, "/contacts?per_page=150").await;
    spec.check("contact_list", &contacts);
    for c in contacts["data"].as_array().unwrap() {
        spec.check("contact", c);
    }
    let search: Value =
        post(&s, "/contacts/search", json!({ "query": { "field": "role", "operator": "=", "value": "lead" } }))
            .await
            .json()
            .await
            .unwrap();
    spec.check("contact_list", &search);
    let conversations = get(&s, "/conversations?per_page=150").await;
    spec.check("conversation_list", &conversations);
    let unauthorized: Value =
        client().get(format!("{}/contacts", s.intercom.base_url())).send().await.unwrap().json().await.unwrap();
    spec.check("error", &unauthorized);
    s.intercom.rate_limiter().set_enabled(true);
    let mut limited = None;
    for _ in 0..3 {
        let res = request(&s, reqwest::Method::GET, "/contacts?per_page=1").send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res.json::<Value>().await.unwrap());
        }
    }
    spec.check("error", &limited.expect("the second request in a slice of 1 is refused"));
}
