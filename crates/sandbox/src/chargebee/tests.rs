//! The Chargebee emulator over real HTTP: wrapped lists paged by `offset` to the end in either
//! order, `updated_at[after]` with `sort_by[asc]=updated_at`, `include_deleted`, `[is]` filters,
//! records by id, Basic auth and its refusal, the test site's rate limit, Chargebee's error
//! bodies, and the generated book (coupons, changes, the stale `mrr`, deletions).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.chargebee.rate_limited = false;
    o
}

async fn get_raw(s: &Sandbox, path: &str) -> reqwest::Response {
    let key = s.chargebee.credentials().api_key;
    client().get(format!("{}{path}", s.chargebee.base_url())).basic_auth(key, Some("")).send().await.unwrap()
}

async fn get(s: &Sandbox, path: &str) -> Value {
    let res = get_raw(s, path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Every page of a list, following `next_offset`; returns the records (unwrapped) and the page count.
async fn walk(s: &Sandbox, path: &str, member: &str) -> (Vec<Value>, usize) {
    let (mut out, mut pages) = (Vec::new(), 0);
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut next = format!("{path}{sep}limit=7");
    loop {
        let body = get(s, &next).await;
        pages += 1;
        for entry in body["list"].as_array().unwrap() {
            out.push(entry[member].clone());
        }
        match body.get("next_offset").and_then(Value::as_str) {
            Some(offset) => {
                let encoded: String = url_encode(offset);
                next = format!("{path}{sep}limit=7&offset={encoded}");
            }
            None => return (out, pages),
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn lists_page_by_offset_to_the_end_in_either_order() {
    let (s, company) = sandbox(unlimited()).await;
    let live: BTreeSet<String> =
        company.chargebee.customers.iter().filter(|c| !c.deleted).map(|c| c.id.clone()).collect();
    let (newest_first, pages) = walk(&s, "/api/v2/customers", "customer").await;
    assert_eq!(ids(&newest_first).into_iter().collect::<BTreeSet<_>>(), live, "deleted ones left out by default");
    assert_eq!(newest_first.len(), live.len(), "no customer twice");
    assert!(pages > 3);
    let created = |v: &Value| (v["created_at"].as_i64().unwrap(), v["id"].as_str().unwrap().to_owned());
    assert!(newest_first.windows(2).all(|w| created(&w[0]) > created(&w[1])), "newest created first by default");
    let (by_update, _) =
        walk(&s, "/api/v2/customers?sort_by%5Basc%5D=updated_at&include_deleted=true", "customer").await;
    assert_eq!(by_update.len(), company.chargebee.customers.len(), "include_deleted lists every customer");
    assert!(by_update.iter().any(|c| c["deleted"] == Value::Bool(true)));
    let updated = |v: &Value| (v["updated_at"].as_i64().unwrap(), v["id"].as_str().unwrap().to_owned());
    assert!(by_update.windows(2).all(|w| updated(&w[0]) < updated(&w[1])));
    // A subscription's entry carries its customer.
    let page = get(&s, "/api/v2/subscriptions?limit=2").await;
    let entry = &page["list"][0];
    assert_eq!(entry["customer"]["id"], entry["subscription"]["customer_id"]);
}

#[tokio::test]
async fn updated_after_is_strict_and_filters_combine() {
    let (s, company) = sandbox(unlimited()).await;
    let subs = &company.chargebee.subscriptions;
    let mut times: Vec<i64> = subs.iter().map(|x| x.updated_at).collect();
    times.sort_unstable();
    let mark = times[times.len() / 2];
    let (after, _) = walk(
        &s,
        &format!("/api/v2/subscriptions?sort_by%5Basc%5D=updated_at&include_deleted=true&updated_at%5Bafter%5D={mark}"),
        "subscription",
    )
    .await;
    let want: BTreeSet<String> = subs.iter().filter(|x| x.updated_at > mark).map(|x| x.id.clone()).collect();
    assert_eq!(ids(&after).into_iter().collect::<BTreeSet<_>>(), want, "after is strictly after");
    let (before, _) =
        walk(&s, &format!("/api/v2/subscriptions?include_deleted=true&updated_at%5Bbefore%5D={mark}"), "subscription")
            .await;
    assert_eq!(before.len(), subs.iter().filter(|x| x.updated_at < mark).count());
    let customer = &subs[0].customer_id;
    let (theirs, _) = walk(&s, &format!("/api/v2/invoices?customer_id%5Bis%5D={customer}"), "invoice").await;
    let want: BTreeSet<String> = company
        .chargebee
        .invoices
        .iter()
        .filter(|i| &i.customer_id == customer && !i.deleted)
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(ids(&theirs).into_iter().collect::<BTreeSet<_>>(), want);
    // Chargebee's spelling of booleans from Python clients (`True`) is accepted.
    let body = get(&s, "/api/v2/invoices?limit=1&include_deleted=True").await;
    assert_eq!(body["list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn refusals_are_chargebee_errors() {
    let (s, _) = sandbox(unlimited()).await;
    let check = |body: &Value, status: u16, code: &str| {
        assert_eq!(body["http_status_code"], status, "{body}");
        assert_eq!(body["api_error_code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()) && body["error_code"].is_string(), "{body}");
    };
    for (path, param) in [
        ("/api/v2/customers?limit=101", "limit"),
        ("/api/v2/customers?offset=garbage", "offset"),
        ("/api/v2/customers?sort_by%5Basc%5D=email", "sort_by[asc]"),
        ("/api/v2/customers?updated_at%5Bsoon%5D=1", "updated_at[soon]"),
        ("/api/v2/customers?colour=blue", "colour"),
    ] {
        let res = get_raw(&s, path).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = res.json().await.unwrap();
        check(&body, 400, "invalid_request");
        assert_eq!(body["param"], param, "{path}");
        assert_eq!(body["type"], "invalid_request");
    }
    let res = get_raw(&s, "/api/v2/customers/nobody").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    check(&res.json().await.unwrap(), 404, "resource_not_found");
    let res = get_raw(&s, "/api/v2/nothing_here").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let url = format!("{}/api/v2/customers", s.chargebee.base_url());
    let res = client().get(&url).basic_auth("wrong", Some("")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    check(&res.json().await.unwrap(), 401, "api_authentication_failed");
    let res = client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_test_site_limit_answers_429() {
    let mut o = SandboxOptions::default();
    o.chargebee.per_minute = 3;
    let (s, _) = sandbox(o).await;
    for _ in 0..3 {
        assert_eq!(get_raw(&s, "/api/v2/customers?limit=1").await.status(), StatusCode::OK);
    }
    let res = get_raw(&s, "/api/v2/customers?limit=1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["api_error_code"].as_str(), body["http_status_code"].as_u64()),
        (Some("api_request_limit_exceeded"), Some(429))
    );
    assert_eq!(s.chargebee.rate_limiter().stats().throttled, 1);
}

#[tokio::test]
async fn mutations_move_updated_at_and_deletions_are_flagged() {
    let (s, company) = sandbox(unlimited()).await;
    let sub = company.chargebee.subscriptions.iter().find(|x| !x.deleted).unwrap().clone();
    let before = s.chargebee.snapshot().subscriptions.iter().map(|x| x.updated_at).max().unwrap();
    s.chargebee.update_subscription(&sub.id, |x| x.quantity += 1).unwrap();
    let body = get(&s, &format!("/api/v2/subscriptions/{}", sub.id)).await;
    assert_eq!(body["subscription"]["quantity"], Value::Null, "PC 2.0 has no top-level quantity");
    assert_eq!(body["subscription"]["subscription_items"][0]["quantity"], sub.quantity + 1);
    assert!(body["subscription"]["updated_at"].as_i64().unwrap() > before);
    s.chargebee.delete_customer(&sub.customer_id).unwrap();
    let gone = get(&s, &format!("/api/v2/customers/{}", sub.customer_id)).await;
    assert_eq!(gone["customer"]["deleted"], Value::Bool(true));
    let (listed, _) = walk(&s, "/api/v2/subscriptions", "subscription").await;
    assert!(!ids(&listed).contains(&sub.id), "a deleted customer's subscriptions leave the default list");
    let truth = s.truth();
    assert!(truth.tombstones.iter().any(|k| k.source == "chargebee" && k.native_id == sub.id));
    assert!(s.chargebee.update_customer("nobody", |_| ()).is_err());
}

#[tokio::test]
async fn coupons_and_the_configuration_are_served() {
    let (s, company) = sandbox(unlimited()).await;
    let with =
        company.chargebee.subscriptions.iter().find(|x| !x.coupons.is_empty()).expect("a subscription with a coupon");
    let body = get(&s, &format!("/api/v2/coupons/{}", with.coupons[0].coupon_id)).await;
    assert!(["percentage", "fixed_amount"].contains(&body["coupon"]["discount_type"].as_str().unwrap()));
    assert!(body["coupon"]["duration_type"].is_string());
    let conf = get(&s, "/api/v2/configurations").await;
    assert_eq!(conf["configurations"][0]["domain"], super::SITE);
    assert_eq!(conf["configurations"][0]["product_catalog_version"], "v2");
}

/// The generated book has what the revenue truth needs: every status, upgrades with a
/// proration invoice billing the new price from the change day, downgrades, coupons of each
/// kind, several currencies, deletions, customers linked only by their id, and one stale `mrr`.
#[test]
fn the_generated_book_has_every_case() {
    let company = crate::Company::generate(42, 400);
    let cb = &company.chargebee;
    let statuses: BTreeSet<&str> = cb.subscriptions.iter().map(|x| x.status.as_str()).collect();
    for s in ["in_trial", "active", "non_renewing", "cancelled"] {
        assert!(statuses.contains(s), "no {s} subscription: {statuses:?}");
    }
    let currencies: BTreeSet<&str> = cb.subscriptions.iter().map(|x| x.currency_code.as_str()).collect();
    assert!(currencies.len() >= 3, "{currencies:?}");
    let units: BTreeSet<&str> = cb.subscriptions.iter().map(|x| x.billing_period_unit).collect();
    assert_eq!(units, BTreeSet::from(["month", "week", "year"]));
    let prorations: Vec<_> = cb.invoices.iter().filter(|i| i.lines.iter().any(|l| l.amount < 0)).collect();
    assert!(!prorations.is_empty(), "an upgrade's proration invoice");
    for p in &prorations {
        let positive = p.lines.iter().find(|l| l.amount > 0).unwrap();
        assert_eq!(positive.date_from, p.lines[0].date_from, "both lines start on the change day");
    }
    let changed: Vec<_> = company.billing.iter().filter(|t| !t.changes.is_empty()).collect();
    assert!(changed.len() >= 2, "upgrades and downgrades in the terms");
    assert!(cb.customers.iter().any(|c| c.deleted) && cb.invoices.iter().any(|i| i.deleted));
    assert!(cb.customers.iter().any(|c| c.custom.is_empty()), "customers linked by their id");
    let by_id = company.salesforce.accounts.iter().filter(|a| a.billing_id.is_some()).count();
    assert!(by_id > 0, "Salesforce accounts carry Chargebee ids");
    let kinds: BTreeSet<&str> = cb
        .subscriptions
        .iter()
        .flat_map(|x| x.coupons.iter().map(|c| c.coupon_id.as_str()))
        .map(|c| c.split('-').next().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["LOYAL20", "SPRING500", "WELCOME50"]));
    // Chargebee's own figure is the price a month, but for one upgraded subscription's stale one.
    let per_month = |x: &super::model::Subscription| match x.billing_period_unit {
        "week" => (x.unit_price * x.quantity * 52 * 2 + 12) / 24,
        "year" => (x.unit_price * x.quantity * 2 + 12) / 24,
        _ => x.unit_price * x.quantity,
    };
    let stale: Vec<_> = cb
        .subscriptions
        .iter()
        .filter(|x| x.coupons.is_empty() && matches!(x.status.as_str(), "active" | "non_renewing") && !x.deleted)
        .filter(|x| x.mrr != per_month(x))
        .collect();
    assert_eq!(stale.len(), 1, "one stale figure: {stale:#?}");
    assert!(stale[0].mrr < per_month(stale[0]), "the price before the upgrade");
}
