//! The Maxio emulator over real HTTP: page-numbered lists to their empty page, `per_page` capped
//! at 200, the wrappers, date filters in and out of the site's zone, sorts and directions,
//! invoices' `start_datetime` rule, Basic auth and its refusal, `{"errors": [...]}` bodies, the
//! rate limit, customer deletion, a mid-cycle product change, and the answers against the
//! official OpenAPI document.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/maxio/reference/Chargify-API.v1.yaml");

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.maxio.rate_limited = false;
    o
}

async fn get_raw(s: &Sandbox, path: &str) -> reqwest::Response {
    let key = s.maxio.credentials().api_key;
    client().get(format!("{}{path}", s.maxio.base_url())).basic_auth(key, Some("x")).send().await.unwrap()
}

async fn get(s: &Sandbox, path: &str) -> Value {
    let res = get_raw(s, path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Every page of a list until the empty one; returns the records (unwrapped) and the pages read.
async fn walk(s: &Sandbox, path: &str, wrapper: Option<&str>) -> (Vec<Value>, usize) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (mut out, mut page) = (Vec::new(), 1);
    loop {
        let body = get(s, &format!("{path}{sep}page={page}")).await;
        let items = match wrapper {
            Some(w) => body.as_array().unwrap().iter().map(|i| i[w].clone()).collect::<Vec<_>>(),
            None => body["invoices"].as_array().unwrap().clone(),
        };
        if items.is_empty() {
            return (out, page);
        }
        out.extend(items);
        page += 1;
    }
}

fn ids(items: &[Value], key: &str) -> Vec<String> {
    items.iter().map(|i| crate_key(&i[key])).collect()
}

fn crate_key(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[tokio::test]
async fn lists_page_to_their_empty_page_in_creation_order() {
    let (s, company) = sandbox(unlimited()).await;
    let (customers, pages) = walk(&s, "/customers.json?per_page=7&direction=asc", Some("customer")).await;
    let all: BTreeSet<String> = company.maxio.customers.iter().map(|c| c.id.to_string()).collect();
    assert!(all.len() > 10, "a site worth paging: {}", all.len());
    assert_eq!(ids(&customers, "id").into_iter().collect::<BTreeSet<_>>(), all);
    assert_eq!(customers.len(), all.len(), "no customer twice");
    assert_eq!(pages, all.len().div_ceil(7) + 1, "the page after the last is empty");
    let created: Vec<&str> = customers.iter().map(|c| c["created_at"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "ascending creation");
    let desc = get(&s, "/customers.json?per_page=3&direction=desc").await;
    assert_eq!(desc[0]["customer"]["id"], customers.last().unwrap()["id"]);
    // Defaults and the cap: 50 customers a page, over 200 is 200.
    assert_eq!(get(&s, "/customers.json").await.as_array().unwrap().len(), all.len().min(50));
    let (subs, _) =
        walk(&s, "/subscriptions.json?per_page=500&sort=created_at&direction=asc", Some("subscription")).await;
    assert_eq!(subs.len(), company.maxio.subscriptions.len());
    assert!(get(&s, "/subscriptions.json?per_page=500").await.as_array().unwrap().len() <= 200);
    assert!(subs.iter().all(|x| x["customer"]["id"].is_i64() && x["product"]["handle"].is_string()));
    let (invoices, _) = walk(&s, "/invoices.json?per_page=50&line_items=true", None).await;
    assert_eq!(invoices.len(), company.maxio.invoices.len());
    assert!(invoices.iter().all(|i| i["line_items"].is_array() && i["total_amount"].is_string()));
    let bare = get(&s, "/invoices.json?per_page=1").await;
    assert!(bare["invoices"][0].get("line_items").is_none(), "breakdowns only when asked");
    // Invoices are newest first by default.
    let first = &bare["invoices"][0]["number"];
    let newest = invoices.iter().map(|i| i["sequence_number"].as_i64().unwrap()).max().unwrap();
    assert_eq!(first, &json!(newest.to_string()));
}

#[tokio::test]
async fn date_filters_read_times_in_the_site_zone_unless_zoned() {
    let (s, company) = sandbox(unlimited()).await;
    let mut times: Vec<i64> = company.maxio.customers.iter().map(|c| c.updated).collect();
    times.sort_unstable();
    let mid = times[times.len() / 2];
    let utc = chrono::DateTime::from_timestamp(mid, 0).unwrap().format("%Y-%m-%d %H:%M:%S").to_string();
    let want = times.iter().filter(|t| **t >= mid).count();
    let q = |at: &str| {
        format!("/customers.json?per_page=200&date_field=updated_at&start_datetime={}", at.replace(' ', "%20"))
    };
    let zoned = get(&s, &q(&format!("{utc} UTC"))).await;
    assert_eq!(zoned.as_array().unwrap().len(), want);
    // Without a zone the same text is five hours later (the site is at UTC−05:00).
    let local = get(&s, &q(&utc)).await;
    let later = times.iter().filter(|t| **t >= mid + 5 * 3600).count();
    assert_eq!(local.as_array().unwrap().len(), later);
    assert!(later < want, "the zone changes the answer");
    let res = get_raw(&s, &q("yesterday")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(body["errors"][0].as_str().unwrap().contains("start_datetime"));
    // Invoices take start_datetime only with created_at or updated_at.
    let res = get_raw(&s, "/invoices.json?date_field=due_date&start_datetime=2024-01-01%2000:00:00").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ok =
        get(&s, "/invoices.json?date_field=updated_at&start_datetime=2024-01-01%2000:00:00%20UTC&per_page=200").await;
    assert!(!ok["invoices"].as_array().unwrap().is_empty());
    for bad in ["/subscriptions.json?state=sleeping", "/subscriptions.json?sort=price", "/customers.json?direction=up"]
    {
        assert_eq!(get_raw(&s, bad).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // A change moves a record into the window of a later start.
    let c = company.maxio.customers[0].id;
    s.maxio.update_customer(c, |c| c.organization = Some("Renamed".into())).unwrap();
    let now = s.clock().now() - chrono::Duration::seconds(5);
    let recent = get(&s, &q(&format!("{} UTC", now.format("%Y-%m-%d %H:%M:%S")))).await;
    assert_eq!(recent.as_array().unwrap().len(), 1);
    assert_eq!(recent[0]["customer"]["organization"], "Renamed");
}

#[tokio::test]
async fn the_key_is_the_basic_username_and_refusals_are_rails_and_maxio_bodies() {
    let (s, _) = sandbox(unlimited()).await;
    let url = format!("{}/customers.json", s.maxio.base_url());
    let res = client().get(&url).basic_auth("wrong", Some("x")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.text().await.unwrap(), "HTTP Basic: Access denied.\n");
    assert_eq!(client().get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let res = get_raw(&s, "/customers/1.json").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.json::<Value>().await.unwrap()["errors"].is_array());
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let mut o = SandboxOptions::default();
    o.maxio.requests = 3;
    o.maxio.window = std::time::Duration::from_secs(30);
    let (s, _) = sandbox(o).await;
    for _ in 0..3 {
        assert_eq!(get_raw(&s, "/customers.json?per_page=1").await.status(), StatusCode::OK);
    }
    let res = get_raw(&s, "/customers.json?per_page=1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    assert!(res.json::<Value>().await.unwrap()["errors"].is_array());
}

#[tokio::test]
async fn only_customers_without_subscriptions_can_be_deleted() {
    use crate::truth::{MAXIO, RecordKey};
    let (s, company) = sandbox(unlimited()).await;
    let with = company.maxio.subscriptions[0].customer;
    let key = s.maxio.credentials().api_key;
    let del = |id: i64| {
        client().delete(format!("{}/customers/{id}.json", s.maxio.base_url())).basic_auth(&key, Some("x")).send()
    };
    let res = del(with).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.json::<Value>().await.unwrap()["errors"][0].as_str().unwrap().contains("subscriptions"));
    let without = company
        .maxio
        .customers
        .iter()
        .find(|c| !company.maxio.subscriptions.iter().any(|x| x.customer == c.id))
        .expect("a customer who never subscribed")
        .id;
    assert_eq!(del(without).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(get_raw(&s, &format!("/customers/{without}.json")).await.status(), StatusCode::NOT_FOUND);
    assert!(s.truth().tombstones.contains(&RecordKey::new(MAXIO, "customers", without.to_string())));
    assert!(s.maxio.delete_customer(with).is_err());
}

#[tokio::test]
async fn a_product_change_reprices_and_invoices_a_proration() {
    let (s, company) = sandbox(unlimited()).await;
    let sub = company.maxio.subscriptions.iter().find(|x| x.state == "active").unwrap();
    let product = &company.maxio.products.iter().find(|p| p.id == sub.product).unwrap();
    let to = company
        .maxio
        .products
        .iter()
        .find(|p| p.id != product.id && p.interval == product.interval && p.interval_unit == product.interval_unit)
        .unwrap();
    let start = crate::billing::date(sub.current_period_started_at);
    let day = start + chrono::Duration::days(3);
    let uid = s.maxio.change_product(sub.id, to.id, day).unwrap();
    let now = get(&s, &format!("/subscriptions/{}.json", sub.id)).await;
    assert_eq!(now["subscription"]["product"]["id"], to.id);
    assert_eq!(now["subscription"]["product_price_in_cents"], to.price(sub.currency).unwrap());
    let inv = get(&s, &format!("/invoices/{uid}.json")).await;
    let lines = inv["line_items"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["subtotal_amount"].as_str().unwrap().starts_with('-'), "the old product is credited");
    assert_eq!(lines[1]["period_range_start"], day.format("%Y-%m-%d").to_string());
    let point =
        get(&s, &format!("/products/{}/price_points/{}.json?currency_prices=true", to.id, to.price_point_id)).await;
    assert_eq!(point["price_point"]["price_in_cents"], to.price("USD").unwrap());
    assert_eq!(point["price_point"]["currency_prices"].as_array().unwrap().len(), 3);
    let plain = get(&s, &format!("/products/{}/price_points/{}.json", to.id, to.price_point_id)).await;
    assert!(plain["price_point"].get("currency_prices").is_none());
}

/// Loads a YAML file of the spec with every relative `$ref` (`../components/schemas/X.yaml`)
/// replaced by the document it names, resolved against the file that holds it. A reference back
/// into a document being expanded (a recursive schema) becomes `{}`.
fn load(path: &Path, stack: &mut Vec<PathBuf>) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    stack.push(path.to_path_buf());
    inline(&mut v, path.parent().unwrap_or(Path::new(".")), stack);
    stack.pop();
    v
}

fn inline(v: &mut Value, dir: &Path, stack: &mut Vec<PathBuf>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref")
                && !r.starts_with('#')
            {
                let (file, pointer) = r.split_once('#').unwrap_or((r.as_str(), ""));
                let target = normalize(&dir.join(file));
                let mut doc = if stack.contains(&target) { json!({}) } else { load(&target, stack) };
                if !pointer.is_empty() {
                    doc = doc.pointer(pointer).cloned().unwrap_or(json!({}));
                }
                *v = doc;
                return;
            }
            map.values_mut().for_each(|x| inline(x, dir, stack));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| inline(x, dir, stack)),
        _ => {}
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let spec_path = Path::new(SPEC);
    if let Err(e) = std::fs::metadata(spec_path) {
        if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() {
            panic!("ACCORD_REQUIRE_SHARED is set, so the official Maxio spec must be at {SPEC}: {e}");
        }
        eprintln!("skipping the Maxio spec check: {SPEC} not readable ({e}); shared/ is not beside the clone");
        return;
    }
    // Only the operations checked are expanded (the whole document is large).
    let text = std::fs::read_to_string(spec_path).unwrap();
    let raw: Value = serde_yaml::from_str(&text).expect("the spec is YAML");
    let dir = spec_path.parent().unwrap();
    let response = |path: &str, status: &str| -> Value {
        let mut op = raw["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"].clone();
        assert!(!op.is_null(), "{path} {status}: no schema in the spec");
        inline(&mut op, dir, &mut vec![spec_path.to_path_buf()]);
        op
    };
    let schema_file = |name: &str| load(&dir.join(format!("../components/schemas/{name}")), &mut Vec::new());
    let check = |schema: &Value, instance: &Value, what: &str| {
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(schema)
            .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
        let errors: Vec<String> =
            v.iter_errors(instance).take(10).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what} rejects the answer: {errors:#?}");
        v
    };
    let (s, company) = sandbox(unlimited()).await;
    let customers = get(&s, "/customers.json?per_page=200").await;
    let v = check(&response("/customers.json", "200"), &customers, "GET /customers.json");
    // The check can fail: an id is an integer.
    assert!(!v.is_valid(&json!([{ "customer": { "id": "one", "email": "a@b.c" } }])));
    let subs = get(&s, "/subscriptions.json?per_page=200").await;
    check(&response("/subscriptions.json", "200"), &subs, "GET /subscriptions.json");
    let invoices = get(&s, "/invoices.json?per_page=200&line_items=true").await;
    check(&response("/invoices.json", "200"), &invoices, "GET /invoices.json");
    let c = company.maxio.customers[0].id;
    let one = get(&s, &format!("/customers/{c}.json")).await;
    check(&response("/customers/{id}.json", "200"), &one, "GET /customers/{id}.json");
    let with_coupon = company.maxio.subscriptions.iter().find(|x| x.coupon.is_some()).expect("a coupon").id;
    let one = get(&s, &format!("/subscriptions/{with_coupon}.json?include[]=coupons")).await;
    assert!(one["subscription"]["coupons"][0]["code"].is_string());
    check(&response("/subscriptions/{subscription_id}.json", "200"), &one, "GET /subscriptions/{id}.json");
    let uid = &company.maxio.invoices[0].uid;
    let one = get(&s, &format!("/invoices/{uid}.json")).await;
    check(&response("/invoices/{uid}.json", "200"), &one, "GET /invoices/{uid}.json");
    let p = &company.maxio.products[0];
    let point =
        get(&s, &format!("/products/{}/price_points/{}.json?currency_prices=true", p.id, p.price_point_id)).await;
    check(&schema_file("Product-Price-Point-Response.yaml"), &point, "GET price point");
    let error: Value = get_raw(&s, "/subscriptions.json?state=sleeping").await.json().await.unwrap();
    check(&schema_file("errors/Error-List-Response.yaml"), &error, "an error body");
}
