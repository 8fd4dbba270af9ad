//! The Stripe emulator over real HTTP: newest-first lists walked both ways by object ids, `limit`
//! and `created[...]` filters, subscriptions' default status filter, events by type and their
//! 30-day window, deletions and the events mutations record, both auth styles and their refusal,
//! the sandbox rate limit, the `Stripe-Version` shapes, and the answers against the official spec.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::model::{BASIL, LEGACY};
use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/stripe/spec3.2020-08-27.trimmed.json");

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.stripe.rate_limited = false;
    o
}

async fn get_as(s: &Sandbox, version: &str, path: &str) -> reqwest::Response {
    let key = s.stripe.credentials().secret_key;
    let mut r = client().get(format!("{}{path}", s.stripe.base_url())).bearer_auth(key);
    if !version.is_empty() {
        r = r.header("Stripe-Version", version);
    }
    r.send().await.unwrap()
}

async fn get(s: &Sandbox, path: &str) -> Value {
    let res = get_as(s, BASIL, path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Every page of a list, following `starting_after`; returns the objects and the page count.
async fn walk(s: &Sandbox, path: &str) -> (Vec<Value>, usize) {
    let (mut out, mut pages) = (Vec::new(), 0);
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut next = format!("{path}{sep}limit=7");
    loop {
        let body = get(s, &next).await;
        assert_eq!(body["object"], "list");
        pages += 1;
        let data = body["data"].as_array().unwrap().clone();
        let last = data.last().map(|d| d["id"].as_str().unwrap().to_owned());
        out.extend(data);
        match (body["has_more"].as_bool().unwrap(), last) {
            (true, Some(id)) => next = format!("{path}{sep}limit=7&starting_after={id}"),
            _ => return (out, pages),
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

fn newest_first(items: &[Value]) -> bool {
    items.windows(2).all(|w| {
        let key = |v: &Value| (v["created"].as_i64().unwrap(), v["id"].as_str().unwrap().to_owned());
        key(&w[0]) > key(&w[1])
    })
}

#[tokio::test]
async fn lists_are_newest_first_and_page_to_the_end_both_ways() {
    let (s, company) = sandbox(unlimited()).await;
    let (customers, pages) = walk(&s, "/v1/customers").await;
    let all: BTreeSet<String> = company.stripe.customers.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids(&customers).into_iter().collect::<BTreeSet<_>>(), all);
    assert_eq!(customers.len(), all.len(), "no customer twice");
    assert!(pages > 3 && newest_first(&customers));
    // Back toward newer ones from the oldest: `ending_before` pages hold the nearest items.
    let oldest = customers.last().unwrap()["id"].as_str().unwrap().to_owned();
    let page = get(&s, &format!("/v1/customers?limit=3&ending_before={oldest}")).await;
    let n = customers.len();
    assert_eq!(ids(page["data"].as_array().unwrap()), ids(&customers[n - 4..n - 1]));
    assert_eq!(page["has_more"], true);
    let newest = &customers[0]["id"];
    let top = get(&s, &format!("/v1/customers?ending_before={}", newest.as_str().unwrap())).await;
    assert_eq!((top["data"].as_array().unwrap().len(), &top["has_more"]), (0, &json!(false)));
    // `created` bounds.
    let mid = customers[n / 2]["created"].as_i64().unwrap();
    let (recent, _) = walk(&s, &format!("/v1/customers?created[gte]={mid}")).await;
    let want: Vec<&Value> = customers.iter().filter(|c| c["created"].as_i64().unwrap() >= mid).collect();
    assert_eq!(recent.len(), want.len());
    let (older, _) = walk(&s, &format!("/v1/customers?created[lt]={mid}")).await;
    assert_eq!(recent.len() + older.len(), n);
    assert_eq!(get(&s, "/v1/customers").await["data"].as_array().unwrap().len(), 10, "limit defaults to 10");
}

#[tokio::test]
async fn bad_limits_and_cursors_get_stripe_errors() {
    let (s, _) = sandbox(unlimited()).await;
    for path in ["/v1/customers?limit=0", "/v1/invoices?limit=101", "/v1/events?limit=ten"] {
        let res = get_as(&s, BASIL, path).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            (body["error"]["type"].as_str(), body["error"]["param"].as_str()),
            (Some("invalid_request_error"), Some("limit"))
        );
    }
    let res = get_as(&s, BASIL, "/v1/customers?starting_after=cus_nope").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resource_missing");
    let res = get_as(&s, BASIL, "/v1/subscriptions?status=sleeping").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn subscriptions_leave_canceled_ones_out_unless_asked() {
    let (s, company) = sandbox(unlimited()).await;
    let (default, _) = walk(&s, "/v1/subscriptions").await;
    let (every, _) = walk(&s, "/v1/subscriptions?status=all").await;
    let canceled = company.stripe.subscriptions.iter().filter(|x| x.status == "canceled").count();
    assert!(canceled > 0, "the seed cancels some");
    assert_eq!(every.len(), company.stripe.subscriptions.len());
    assert_eq!(default.len(), every.len() - canceled);
    assert!(default.iter().all(|x| x["status"] != "canceled"));
    let (only, _) = walk(&s, "/v1/subscriptions?status=canceled").await;
    assert_eq!(only.len(), canceled);
    let customer = &company.stripe.subscriptions[0].customer;
    let (mine, _) = walk(&s, &format!("/v1/subscriptions?status=all&customer={customer}")).await;
    assert!(!mine.is_empty() && mine.iter().all(|x| x["customer"] == json!(customer)));
}

#[tokio::test]
async fn the_version_header_chooses_the_shape() {
    let (s, company) = sandbox(unlimited()).await;
    let sub = company.stripe.subscriptions.iter().find(|x| x.discount.is_some()).unwrap();
    let path = format!("/v1/subscriptions/{}", sub.id);
    let old: Value = get_as(&s, "", &path).await.json().await.unwrap();
    assert_eq!(old["current_period_end"], sub.current_period_end, "the account's default is {LEGACY}");
    assert!(old["items"]["data"][0].get("current_period_end").is_none());
    assert_eq!(old["discount"]["coupon"]["id"], json!(sub.discount.as_ref().unwrap().coupon.id));
    let res = get_as(&s, BASIL, &path).await;
    assert_eq!(res.headers()["stripe-version"], BASIL);
    let new: Value = res.json().await.unwrap();
    assert!(new.get("current_period_end").is_none() && new.get("discount").is_none());
    assert_eq!(new["items"]["data"][0]["current_period_end"], sub.current_period_end);
    assert_eq!(new["discounts"], json!([sub.discount.as_ref().unwrap().id]));
    let expanded = get(&s, &format!("{path}?expand[]=discounts")).await;
    assert_eq!(expanded["discounts"][0]["coupon"]["id"], old["discount"]["coupon"]["id"]);
    let inv = company.stripe.invoices.iter().find(|i| i.subscription.is_some()).unwrap();
    let path = format!("/v1/invoices/{}", inv.id);
    let old: Value = get_as(&s, "2022-11-15", &path).await.json().await.unwrap();
    assert_eq!(old["subscription"], json!(inv.subscription));
    let new = get(&s, &path).await;
    assert!(new.get("subscription").is_none());
    assert_eq!(new["parent"]["subscription_details"]["subscription"], json!(inv.subscription));
    assert_eq!(new["total"], inv.subtotal + inv.tax);
}

#[tokio::test]
async fn mutations_record_events_and_a_deleted_customer_leaves_the_lists() {
    let (s, company) = sandbox(unlimited()).await;
    assert!(get(&s, "/v1/events").await["data"].as_array().unwrap().is_empty(), "the seed is older than 30 days");
    let sub = company.stripe.subscriptions.iter().find(|x| x.status == "active").unwrap();
    let customer = sub.customer.clone();
    s.stripe.update_customer(&customer, |c| c.name = Some("Renamed".into())).unwrap();
    s.clock().advance(chrono::Duration::seconds(5));
    s.stripe.delete_customer(&customer).unwrap();
    let (customers, _) = walk(&s, "/v1/customers").await;
    assert!(!ids(&customers).contains(&customer), "a deleted customer leaves the list");
    let gone = get(&s, &format!("/v1/customers/{customer}")).await;
    assert_eq!(gone, json!({ "id": customer, "object": "customer", "deleted": true }));
    let (events, _) = walk(&s, "/v1/events").await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"customer.deleted"), "newest first: {kinds:?}");
    assert_eq!(kinds.last(), Some(&"customer.updated"));
    assert!(kinds.contains(&"customer.subscription.deleted"), "its live subscriptions were canceled: {kinds:?}");
    let deleted = get(&s, "/v1/events?type=customer.deleted").await;
    assert_eq!(deleted["data"][0]["data"]["object"]["id"], json!(customer));
    let subs = get(&s, "/v1/events?types[]=customer.subscription.deleted&types[]=customer.updated").await;
    assert_eq!(subs["data"].as_array().unwrap().len(), kinds.len() - 1);
    let wild = get(&s, "/v1/events?type=customer.subscription.*").await;
    assert!(
        wild["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"].as_str().unwrap().starts_with("customer.subscription."))
    );
    let at = events[0]["created"].as_i64().unwrap();
    let later = get(&s, &format!("/v1/events?created[gt]={at}")).await;
    assert!(later["data"].as_array().unwrap().is_empty());
    // A page anchored on a since deleted customer still resumes after it.
    let page = get(&s, &format!("/v1/customers?starting_after={customer}")).await;
    assert_eq!(page["object"], "list");
    // Events are kept 30 days.
    s.clock().advance(chrono::Duration::days(31));
    assert!(get(&s, "/v1/events").await["data"].as_array().unwrap().is_empty());
    s.stripe
        .update_subscription(
            &company.stripe.subscriptions.iter().find(|x| x.status == "active" && x.customer != customer).unwrap().id,
            |x| x.status = "canceled".into(),
        )
        .unwrap();
    assert_eq!(get(&s, "/v1/events").await["data"][0]["type"], "customer.subscription.deleted");
}

#[tokio::test]
async fn keys_go_as_basic_username_or_bearer_and_refusals_are_stripe_errors() {
    let (s, _) = sandbox(unlimited()).await;
    let key = s.stripe.credentials().secret_key;
    let url = format!("{}/v1/customers", s.stripe.base_url());
    let basic = client().get(&url).basic_auth(&key, None::<&str>).send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    let account = get(&s, &format!("/v1/accounts/{}", super::ACCOUNT_ID)).await;
    assert_eq!((account["object"].as_str(), account["id"].as_str()), (Some("account"), Some(super::ACCOUNT_ID)));
    for req in [client().get(&url), client().get(&url).bearer_auth("sk_test_wrong1234")] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("API key")
                || body["error"]["message"].as_str().unwrap().contains("API Key")
        );
    }
}

#[tokio::test]
async fn the_sandbox_rate_limit_answers_429() {
    let mut o = SandboxOptions::default();
    o.stripe.per_second = 5;
    o.stripe.window = std::time::Duration::from_secs(5);
    let (s, _) = sandbox(o).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(get_as(&s, BASIL, "/v1/customers?limit=1").await.status());
    }
    assert_eq!(statuses.iter().filter(|st| **st == StatusCode::OK).count(), 5);
    let res = get_as(&s, BASIL, "/v1/customers?limit=1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit");
    assert_eq!(s.stripe.rate_limiter().stats().throttled, 3);
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema says it: the schema, or null.
fn nullable_to_json_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                nullable_to_json_schema(child);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(map));
                map.insert("anyOf".into(), json!([inner, { "type": "null" }]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}

/// The legacy shape against the official 2020-08-27 spec (the basil shape is newer than any spec
/// stored: its field moves are checked above).
#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let text = match std::fs::read_to_string(SPEC) {
        Ok(text) => text,
        Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
            panic!("ACCORD_REQUIRE_SHARED is set, so the official Stripe spec must be at {SPEC}: {e}")
        }
        Err(e) => {
            eprintln!("skipping the Stripe spec check: {SPEC} not readable ({e}); shared/ is not beside the clone");
            return;
        }
    };
    let mut spec: Value = serde_json::from_str(&text).expect("the spec is JSON");
    nullable_to_json_schema(&mut spec);
    // The list answer of an operation: the 200 response's schema.
    let list_schema =
        |path: &str| spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"].clone();
    let check = |schema: Value, instance: &Value, what: &str| {
        let mut root = schema;
        root["components"] = spec["components"].clone();
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(false)
            .build(&root)
            .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
        let errors: Vec<String> =
            v.iter_errors(instance).take(10).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what} rejects the answer: {errors:#?}");
        v
    };
    let component = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let (s, company) = sandbox(unlimited()).await;
    let sub = company.stripe.subscriptions.iter().find(|x| x.discount.is_some()).unwrap().id.clone();
    s.stripe.update_subscription(&sub, |x| x.quantity += 1).unwrap();
    for path in ["/v1/customers", "/v1/subscriptions", "/v1/invoices", "/v1/events"] {
        let status = if path == "/v1/subscriptions" { "&status=all" } else { "" };
        let body: Value = get_as(&s, LEGACY, &format!("{path}?limit=100{status}")).await.json().await.unwrap();
        assert!(!body["data"].as_array().unwrap().is_empty(), "{path}: something to check");
        let v = check(list_schema(path), &body, path);
        if path == "/v1/customers" {
            // The check can fail: `has_more` is a boolean.
            assert!(!v.is_valid(&json!({ "object": "list", "data": [], "has_more": "no", "url": "/v1/customers" })));
        }
    }
    let customer = &company.stripe.customers[0].id;
    let one: Value = get_as(&s, LEGACY, &format!("/v1/customers/{customer}")).await.json().await.unwrap();
    check(component("customer"), &one, "customer");
    let one: Value = get_as(&s, LEGACY, &format!("/v1/subscriptions/{sub}")).await.json().await.unwrap();
    check(component("subscription"), &one, "subscription");
    s.stripe.delete_customer(customer).unwrap();
    let gone: Value = get_as(&s, LEGACY, &format!("/v1/customers/{customer}")).await.json().await.unwrap();
    check(component("deleted_customer"), &gone, "deleted_customer");
    for path in ["/v1/customers?limit=0", "/v1/nothing"] {
        let body: Value = get_as(&s, LEGACY, path).await.json().await.unwrap();
        check(component("error"), &body, path);
    }
}

/// A customer deleted in the emulator is a tombstone in the sandbox's truth, and what linked
/// through it (its subscriptions and invoices) is then `unknown_account`.
#[tokio::test]
async fn a_deleted_customer_shows_in_the_sandbox_truth() {
    use crate::truth::{Expected, RecordKey, STRIPE, reason};
    let (s, company) = sandbox(unlimited()).await;
    let before = s.truth();
    let sub = company
        .stripe
        .subscriptions
        .iter()
        .find(|x| {
            let key = RecordKey::new(STRIPE, "subscriptions", x.id.clone());
            before.records.get(&key).is_some_and(|e| e.account_id().is_some())
        })
        .unwrap();
    s.stripe.delete_customer(&sub.customer).unwrap();
    let after = s.truth();
    assert!(after.tombstones.contains(&RecordKey::new(STRIPE, "customers", sub.customer.clone())));
    let key = RecordKey::new(STRIPE, "subscriptions", sub.id.clone());
    assert_eq!(after.records[&key], Expected::rejected(reason::UNKNOWN_ACCOUNT));
    let invoices = company.stripe.invoices.iter().filter(|i| i.customer == sub.customer);
    for i in invoices {
        let key = RecordKey::new(STRIPE, "invoices", i.id.clone());
        assert_eq!(after.records[&key], Expected::rejected(reason::UNKNOWN_ACCOUNT));
    }
}
