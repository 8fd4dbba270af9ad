//! The Keap emulator over real HTTP: rotating refresh tokens, `page_token` paging of companies
//! and contacts with their filters, the product quota with Keap's headers, and the answers'
//! shapes against the official REST v2 spec.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/keap/keap-v2-openapi.yml");

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.keap.rate_limited = false;
    o
}

/// Redeems `refresh_token`: the answer's status and body.
async fn grant(s: &Sandbox, refresh_token: &str) -> (StatusCode, Value) {
    let c = s.keap.credentials();
    let res = client()
        .post(s.keap.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn get(s: &Sandbox, bearer: &str, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", s.keap.base_url())).bearer_auth(bearer).send().await.unwrap()
}

/// Every page of `object` from `query`; returns the records and the page count.
async fn list_all(s: &Sandbox, bearer: &str, object: &str, query: &str) -> (Vec<Value>, usize) {
    let (mut out, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let res = get(s, bearer, &format!("/rest/v2/{object}?{query}&page_token={token}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        pages += 1;
        out.extend(body[object].as_array().unwrap().iter().cloned());
        match body["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_owned(),
            _ => return (out, pages),
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_redeemed_one_stops_working() {
    let (s, _) = sandbox(unlimited()).await;
    let first = s.keap.credentials().refresh_token;
    let (status, body) = grant(&s, &first).await;
    assert_eq!(status, StatusCode::OK);
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, first);
    assert!(!s.keap.refresh_token_valid(&first) && s.keap.refresh_token_valid(&next));
    let (status, body) = grant(&s, &first).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(s.keap.credentials().refresh_token, next, "the credentials name the token valid now");
    let (status, _) = grant(&s, &next).await;
    assert_eq!(status, StatusCode::OK);
    let res = get(&s, "not-a-token", "/rest/v2/contacts").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn lists_page_by_token_and_filter_by_update_time() {
    let (s, company) = sandbox(unlimited()).await;
    let (_, body) = grant(&s, &s.keap.credentials().refresh_token).await;
    let bearer = body["access_token"].as_str().unwrap().to_owned();
    let k = &company.keap;
    assert!(k.companies.len() > 50 && k.contacts.len() > 150);
    for size in [7, 1000] {
        let (companies, pages) =
            list_all(&s, &bearer, "companies", &format!("page_size={size}&fields=custom_fields")).await;
        assert_eq!(ids(&companies), k.companies.iter().map(|c| c.id.to_string()).collect());
        assert_eq!((companies.len(), pages), (k.companies.len(), k.companies.len().div_ceil(size).max(1)));
        assert!(companies[0]["custom_fields"].is_array());
        let (contacts, _) =
            list_all(&s, &bearer, "contacts", &format!("page_size={size}&order_by=update_time%20asc")).await;
        assert_eq!(ids(&contacts), k.contacts.iter().map(|c| c.id.to_string()).collect());
        assert_eq!(contacts.len(), k.contacts.len());
        assert!(contacts[0].get("custom_fields").is_none(), "custom fields only when asked");
    }
    let (companies, _) = list_all(&s, &bearer, "companies", "page_size=5").await;
    assert!(companies[0].get("update_time").is_none(), "times only when asked");
    // Filters on update time, inclusive.
    let mut times: Vec<_> = k.contacts.iter().map(|c| c.update_time).collect();
    times.sort();
    let mid = times[times.len() / 2];
    let at = mid.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (recent, _) =
        list_all(&s, &bearer, "contacts", &format!("page_size=9&filter=start_update_time%3D%3D{at}")).await;
    assert_eq!(recent.len(), times.iter().filter(|t| **t >= mid).count());
    let (companies, _) = list_all(&s, &bearer, "companies", &format!("page_size=9&filter=since_time%3D%3D{at}")).await;
    assert_eq!(companies.len(), k.companies.iter().filter(|c| c.update_time >= mid).count());
    let res = get(&s, &bearer, "/rest/v2/contacts?filter=shoe_size%3D%3D9").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = get(&s, &bearer, "/rest/v2/contacts?page_token=bogus").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_product_quota_shows_in_keaps_headers_and_a_429_when_spent() {
    let mut o = SandboxOptions::default();
    o.keap.per_minute = 2;
    let (s, _) = sandbox(o).await;
    let (_, body) = grant(&s, &s.keap.credentials().refresh_token).await;
    let bearer = body["access_token"].as_str().unwrap().to_owned();
    let res = get(&s, &bearer, "/rest/v2/companies").await;
    assert_eq!(res.status(), StatusCode::OK, "the grant took one of the two");
    assert_eq!(res.headers()["x-keap-product-quota-available"], "0");
    assert_eq!(res.headers()["x-keap-product-quota-limit"], "2");
    let res = get(&s, &bearer, "/rest/v2/companies").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let expiry = res.headers()["x-keap-product-quota-expiry-time"].to_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&expiry).is_ok(), "{expiry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], 429);
}

#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let text = match std::fs::read_to_string(SPEC) {
        Ok(text) => text,
        Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
            panic!("ACCORD_REQUIRE_SHARED is set, so the official Keap v2 spec must be at {SPEC}: {e}")
        }
        Err(e) => {
            eprintln!("skipping the Keap spec check: {SPEC} not readable ({e}); shared/ is not beside the clone");
            return;
        }
    };
    let spec: Value = serde_yaml::from_str(&text).expect("the spec is YAML");
    let check = |schema: &str, instance: &Value| {
        let mut root = json!({ "$ref": format!("#/components/schemas/{schema}") });
        root["components"] = spec["components"].clone();
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"));
        let errors: Vec<String> = v.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{schema} rejects the answer: {errors:#?}\n{instance:#}");
        v
    };
    let (s, _) = sandbox(unlimited()).await;
    let (_, body) = grant(&s, &s.keap.credentials().refresh_token).await;
    let bearer = body["access_token"].as_str().unwrap().to_owned();
    let all = "fields=company_name,website,custom_fields,create_time,update_time&page_size=30";
    let companies: Value = get(&s, &bearer, &format!("/rest/v2/companies?{all}")).await.json().await.unwrap();
    let v = check("ListCompaniesResponse", &companies);
    // The check can fail: ids are strings in v2.
    assert!(!v.is_valid(&json!({ "companies": [{ "id": 5 }] })));
    let contacts: Value =
        get(&s, &bearer, "/rest/v2/contacts?fields=custom_fields&page_size=30").await.json().await.unwrap();
    check("ListContactsResponse", &contacts);
    for (path, status) in
        [("/rest/v2/contacts?filter=x%3D%3Dy", StatusCode::BAD_REQUEST), ("/rest/v2/nothing", StatusCode::NOT_FOUND)]
    {
        let res = get(&s, &bearer, path).await;
        assert_eq!(res.status(), status);
        check("Error", &res.json().await.unwrap());
    }
    let unauthorized: Value = get(&s, "expired", "/rest/v2/companies").await.json().await.unwrap();
    check("Error", &unauthorized);
}
