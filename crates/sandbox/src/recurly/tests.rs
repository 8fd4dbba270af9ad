//! The Recurly emulator over real HTTP: cursor lists in both orders and both sort fields with
//! inclusive time bounds and `next` paths, filters, bad parameters, the `Accept` version and its
//! refusals, both auth refusals, the site's rate limit and its headers, deactivation and
//! reactivation, exact decimal amounts, and the answers against the official OpenAPI document.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/recurly/api.yaml");
const ACCEPT: &str = "application/vnd.recurly.v2021-02-25+json";

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.recurly.rate_limited = false;
    o
}

async fn get_with(s: &Sandbox, accept: Option<&str>, path: &str) -> reqwest::Response {
    let key = s.recurly.credentials().api_key;
    let mut r = client().get(format!("{}{path}", s.recurly.base_url())).basic_auth(key, Some(""));
    if let Some(a) = accept {
        r = r.header("Accept", a);
    }
    r.send().await.unwrap()
}

async fn get(s: &Sandbox, path: &str) -> Value {
    let res = get_with(s, Some(ACCEPT), path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Every page of a list, following `next`; returns the records and the page count.
async fn walk(s: &Sandbox, path: &str) -> (Vec<Value>, usize) {
    let (mut out, mut pages) = (Vec::new(), 0);
    let mut next = path.to_owned();
    loop {
        let body = get(s, &next).await;
        assert_eq!(body["object"], "list");
        pages += 1;
        out.extend(body["data"].as_array().unwrap().iter().cloned());
        match (body["has_more"].as_bool().unwrap(), body["next"].as_str()) {
            (true, Some(n)) => next = n.to_owned(),
            (false, None) => return (out, pages),
            other => panic!("{path}: has_more and next disagree: {other:?}"),
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

fn sorted_by(items: &[Value], field: &str, asc: bool) -> bool {
    items.windows(2).all(|w| {
        let key = |v: &Value| (v[field].as_str().unwrap().to_owned(), v["id"].as_str().unwrap().to_owned());
        if asc { key(&w[0]) < key(&w[1]) } else { key(&w[0]) > key(&w[1]) }
    })
}

#[tokio::test]
async fn lists_page_by_cursor_in_both_orders_and_both_sort_fields() {
    let (s, company) = sandbox(unlimited()).await;
    let all: BTreeSet<String> = company.recurly.subscriptions.iter().map(|x| x.id.clone()).collect();
    assert!(all.len() > 40, "{} subscriptions", all.len());
    for (query, field, asc) in [
        ("limit=7", "created_at", false),
        ("limit=7&order=asc", "created_at", true),
        ("limit=7&sort=updated_at&order=asc", "updated_at", true),
        ("limit=7&sort=updated_at", "updated_at", false),
    ] {
        let (subs, pages) = walk(&s, &format!("/subscriptions?{query}")).await;
        assert_eq!(ids(&subs).into_iter().collect::<BTreeSet<_>>(), all, "{query}");
        assert_eq!(subs.len(), all.len(), "{query}: none twice");
        assert!(pages > 5 && sorted_by(&subs, field, asc), "{query}");
    }
    assert_eq!(get(&s, "/accounts").await["data"].as_array().unwrap().len(), 20, "limit defaults to 20");
    // `next` keeps the query and adds the cursor.
    let first = get(&s, "/invoices?limit=3&sort=updated_at&order=asc").await;
    let next = first["next"].as_str().unwrap();
    assert!(next.starts_with("/invoices?") && next.contains("cursor=") && next.contains("sort=updated_at"), "{next}");
    // Inclusive time bounds on the sort field.
    let (invoices, _) = walk(&s, "/invoices?limit=200&sort=updated_at&order=asc").await;
    let mid = invoices[invoices.len() / 2]["updated_at"].as_str().unwrap().to_owned();
    let (since, _) = walk(&s, &format!("/invoices?limit=50&sort=updated_at&order=asc&begin_time={mid}")).await;
    let want: Vec<&Value> = invoices.iter().filter(|i| i["updated_at"].as_str().unwrap() >= mid.as_str()).collect();
    assert_eq!(since.len(), want.len());
    assert_eq!(since[0]["updated_at"], json!(mid), "begin_time is inclusive");
    let (until, _) = walk(&s, &format!("/invoices?limit=50&sort=updated_at&order=asc&end_time={mid}")).await;
    let at_mid = invoices.iter().filter(|i| i["updated_at"] == json!(mid)).count();
    assert_eq!(since.len() + until.len(), invoices.len() + at_mid, "both bounds include the instant");
    // Filters.
    let (expired, _) = walk(&s, "/subscriptions?limit=200&state=expired").await;
    assert!(!expired.is_empty() && expired.iter().all(|x| x["state"] == "expired"));
    let (past_due, _) = walk(&s, "/invoices?limit=200&state=past_due").await;
    assert!(!past_due.is_empty() && past_due.iter().all(|x| x["state"] == "past_due"));
    let account = &company.recurly.accounts.iter().find(|a| a.email.is_some()).unwrap();
    let by_email = get(&s, &format!("/accounts?email={}", account.email.as_deref().unwrap())).await;
    assert!(ids(by_email["data"].as_array().unwrap()).contains(&account.id));
    let one = get(&s, &format!("/accounts/code-{}", account.code)).await;
    assert_eq!(one["id"], json!(account.id));
    // Site-scoped paths are the same lists, and their `next` keeps the site.
    let scoped = get(&s, "/sites/subdomain-sandbox-accord/accounts?limit=2&sort=updated_at&order=asc").await;
    let plain = get(&s, "/accounts?limit=2&sort=updated_at&order=asc").await;
    assert_eq!(scoped["data"], plain["data"]);
    assert!(scoped["next"].as_str().unwrap().starts_with("/sites/subdomain-sandbox-accord/accounts?"));
    let (scoped_all, _) = walk(&s, "/sites/subdomain-sandbox-accord/subscriptions?limit=50").await;
    assert_eq!(scoped_all.len(), company.recurly.subscriptions.len());
    let other = get_with(&s, Some(ACCEPT), "/sites/subdomain-elsewhere/accounts").await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let two = format!("{},{}", company.recurly.invoices[0].id, company.recurly.invoices[1].id);
    assert_eq!(get(&s, &format!("/invoices?ids={two}")).await["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_parameters_versions_and_keys_get_recurly_errors() {
    let (s, _) = sandbox(unlimited()).await;
    for (path, param) in [
        ("/accounts?limit=0", "limit"),
        ("/accounts?limit=201", "limit"),
        ("/invoices?sort=number", "sort"),
        ("/invoices?order=up", "order"),
        ("/subscriptions?begin_time=yesterday", "begin_time"),
        ("/subscriptions?state=sleeping", "state"),
        ("/accounts?cursor=nonsense", "cursor"),
        ("/accounts?ids=a,b&limit=2", "ids"),
    ] {
        let res = get_with(&s, Some(ACCEPT), path).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            (body["error"]["type"].as_str(), body["error"]["params"][0]["param"].as_str()),
            (Some("bad_request"), Some(param))
        );
    }
    let res = get_with(&s, Some(ACCEPT), "/nothing").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["type"], "not_found");
    let ok = get_with(&s, Some("application/vnd.recurly.v2021-02-25"), "/plans").await;
    assert_eq!(ok.status(), StatusCode::OK, "the version without +json");
    assert_eq!(ok.headers()["recurly-version"], "recurly.v2021-02-25");
    for (accept, kind) in [
        (None, "invalid_api_version"),
        (Some("application/json"), "invalid_api_version"),
        (Some("application/vnd.recurly.v2099-01-01+json"), "unknown_api_version"),
    ] {
        let res = get_with(&s, accept, "/accounts").await;
        assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE, "{accept:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["type"], kind, "{accept:?}");
        assert!(body["error"]["acceptable_accept_headers"].as_array().is_some());
    }
    let none =
        client().get(format!("{}/accounts", s.recurly.base_url())).header("Accept", ACCEPT).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.json::<Value>().await.unwrap()["error"]["type"], "unauthorized");
    let wrong = client()
        .get(format!("{}/accounts", s.recurly.base_url()))
        .basic_auth("not-the-key", Some(""))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"]["type"], "invalid_api_key");
}

#[tokio::test]
async fn the_site_limit_answers_429_with_its_headers() {
    let mut o = SandboxOptions::default();
    o.recurly.per_window = 5;
    o.recurly.window = std::time::Duration::from_secs(30);
    let (s, _) = sandbox(o).await;
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let res = get_with(&s, Some(ACCEPT), "/accounts?limit=1").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-ratelimit-limit"], "5");
        remaining.push(res.headers()["x-ratelimit-remaining"].to_str().unwrap().to_owned());
        let reset: i64 = res.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!(reset > chrono::Utc::now().timestamp(), "the reset is a Unix time ahead");
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let res = get_with(&s, Some(ACCEPT), "/accounts?limit=1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["type"], "rate_limited");
    assert_eq!(s.recurly.rate_limiter().stats().throttled, 1);
}

#[tokio::test]
async fn amounts_are_exact_decimals_of_the_currency() {
    let (s, company) = sandbox(unlimited()).await;
    let (invoices, _) = walk(&s, "/invoices?limit=200").await;
    let mut cents = 0;
    for i in &invoices {
        let text = serde_json::to_string(&i["total"]).unwrap();
        let want = company.recurly.invoices.iter().find(|x| x.id == i["id"]).unwrap();
        let e = crate::recurly::model::exponent(want.currency);
        let digits = text.split_once('.').map_or(0, |(_, f)| f.len());
        assert_eq!(digits, e as usize, "{text} in {}", want.currency);
        assert_eq!(text.replace('.', "").trim_start_matches('-').parse::<i64>().unwrap(), want.total().abs());
        cents += usize::from(e == 2 && !text.ends_with("00"));
    }
    assert!(cents > 10, "prices to the cent: {cents}");
    // A proration: the plan's credit and its new charge, from the change day.
    let proration = invoices.iter().find(|i| i["origin"] == "immediate_change").expect("a mid-cycle change");
    let lines = proration["line_items"].as_array().unwrap();
    assert_eq!((lines[0]["type"].as_str(), lines[1]["type"].as_str()), (Some("credit"), Some("charge")));
    assert_eq!(lines[0]["start_date"], lines[1]["start_date"]);
}

#[tokio::test]
async fn a_deactivated_account_stays_listed_inactive_and_is_a_tombstone_in_the_truth() {
    use crate::truth::{Expected, RECURLY, RecordKey, reason};
    let (s, company) = sandbox(unlimited()).await;
    let before = s.truth();
    let sub = company
        .recurly
        .subscriptions
        .iter()
        .find(|x| {
            x.state == "active"
                && before
                    .records
                    .get(&RecordKey::new(RECURLY, "subscriptions", x.id.clone()))
                    .is_some_and(|e| e.account_id().is_some())
        })
        .unwrap();
    let res = client()
        .delete(format!("{}/accounts/{}", s.recurly.base_url(), sub.account_id))
        .basic_auth(s.recurly.credentials().api_key, Some(""))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let gone: Value = res.json().await.unwrap();
    assert_eq!((gone["state"].as_str(), gone["deleted_at"].is_string()), (Some("inactive"), true));
    let listed = get(&s, &format!("/accounts?ids={}", sub.account_id)).await;
    assert_eq!(listed["data"][0]["state"], "inactive", "still listed");
    assert_eq!(get(&s, &format!("/subscriptions/{}", sub.id)).await["state"], "expired");
    let after = s.truth();
    assert!(after.tombstones.contains(&RecordKey::new(RECURLY, "accounts", sub.account_id.clone())));
    assert_eq!(
        after.records[&RecordKey::new(RECURLY, "subscriptions", sub.id.clone())],
        Expected::rejected(reason::UNKNOWN_ACCOUNT)
    );
    let back = client()
        .put(format!("{}/accounts/{}/reactivate", s.recurly.base_url(), sub.account_id))
        .basic_auth(s.recurly.credentials().api_key, Some(""))
        .header("Accept", ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(back.json::<Value>().await.unwrap()["state"], "active");
}

/// Recurly sends `null` for a property without a value, and its spec marks no property
/// nullable: a null member is checked as the absent member it stands for.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, x)| !x.is_null()).map(|(k, x)| (k.clone(), without_nulls(x))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The spec writes some patterns as Ruby regex literals (`/^[a-z0-9_+-]+$/i`), which as JSON
/// Schema patterns match nothing a server sends: they are read as the regex they spell.
fn patterns_as_regexes(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get_mut("pattern")
                && let Some((body, flags)) = p.strip_prefix('/').and_then(|r| r.rsplit_once('/'))
            {
                *p = if flags.contains('i') { format!("(?i){body}") } else { body.to_owned() };
            }
            map.values_mut().for_each(patterns_as_regexes);
        }
        Value::Array(items) => items.iter_mut().for_each(patterns_as_regexes),
        _ => {}
    }
}

#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let text = match std::fs::read_to_string(SPEC) {
        Ok(text) => text,
        Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
            panic!("ACCORD_REQUIRE_SHARED is set, so the official Recurly spec must be at {SPEC}: {e}")
        }
        Err(e) => {
            eprintln!("skipping the Recurly spec check: {SPEC} not readable ({e}); shared/ is not beside the clone");
            return;
        }
    };
    let mut spec: Value = serde_yaml::from_str(&text).expect("the spec is YAML");
    patterns_as_regexes(&mut spec);
    let check = |name: &str, instance: &Value, what: &str| {
        let root = json!({ "$ref": format!("#/components/schemas/{name}"), "components": spec["components"].clone() });
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
        let instance = &without_nulls(instance);
        let errors: Vec<String> =
            v.iter_errors(instance).take(10).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what} rejects the answer: {errors:#?}");
        v
    };
    let (s, _) = sandbox(unlimited()).await;
    for (path, schema) in [
        ("/accounts", "AccountList"),
        ("/subscriptions", "SubscriptionList"),
        ("/invoices", "InvoiceList"),
        ("/plans", "PlanList"),
        ("/coupons", "CouponList"),
    ] {
        let body = get(&s, &format!("{path}?limit=200&sort=updated_at&order=asc")).await;
        assert!(!body["data"].as_array().unwrap().is_empty(), "{path}: something to check");
        let v = check(schema, &body, path);
        if path == "/accounts" {
            // The check can fail: `has_more` is a boolean, an account's state one of two.
            assert!(!v.is_valid(&json!({ "object": "list", "has_more": "no", "data": [] })));
            assert!(!v.is_valid(&json!({ "object": "list", "has_more": false, "data": [{ "state": "closed" }] })));
        }
    }
    let one = get(&s, "/accounts?limit=1").await["data"][0]["id"].as_str().unwrap().to_owned();
    check("Account", &get(&s, &format!("/accounts/{one}")).await, "account");
    let sub = get(&s, "/subscriptions?limit=1").await["data"][0]["id"].as_str().unwrap().to_owned();
    check("Subscription", &get(&s, &format!("/subscriptions/{sub}")).await, "subscription");
    let inv = get(&s, "/invoices?limit=1").await["data"][0]["id"].as_str().unwrap().to_owned();
    check("Invoice", &get(&s, &format!("/invoices/{inv}")).await, "invoice");
    for (accept, path) in [(Some(ACCEPT), "/accounts?limit=0"), (Some(ACCEPT), "/nothing"), (None, "/accounts")] {
        let body: Value = get_with(&s, accept, path).await.json().await.unwrap();
        check("Error", &body["error"], path);
    }
}
