//! The Xero emulator over real HTTP: rotating refresh tokens, the tenant check, `/connections`,
//! page-number paging with `If-Modified-Since`, `includeArchived` and `where`, bad parameters,
//! the minute and day limits with their headers, and the answers against the official OpenAPI
//! documents (`xero_accounting.yaml`, `xero-identity.yaml`).

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::model::{Contact, Invoice, Line, Payment, RepeatingInvoice, XeroData};
use super::{Emulator, OTHER_TENANT_ID, Options, TENANT_ID};
use crate::clock::Clock;
use crate::tests::support::client;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/xero/xero_accounting.yaml");
const IDENTITY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/xero/xero-identity.yaml");

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200, 0).unwrap() // 2024-01-01
}

fn line(unit: i64, qty: &str) -> Line {
    Line { description: "Pro plan".into(), item_code: Some("PRO".into()), quantity: qty.into(), unit_amount: unit }
}

/// 25 contacts (every fifth archived), an invoice and a payment for each, four repeating invoices.
fn data() -> XeroData {
    let mut d = XeroData::default();
    for n in 0..25i64 {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let updated = t0() + Duration::hours(n);
        d.contacts.push(Contact {
            id: id.clone(),
            name: format!("Customer {n}"),
            account_number: (n % 2 == 0).then(|| format!("ACC-{n}")),
            email: Some(format!("billing{n}@example.com")),
            status: if n % 5 == 4 { "ARCHIVED".into() } else { "ACTIVE".into() },
            updated,
        });
        let currency = ["USD", "EUR", "GBP", "JPY"][n as usize % 4].to_owned();
        let inv = format!("10000000-0000-4000-8000-{n:012}");
        d.invoices.push(Invoice {
            id: inv.clone(),
            number: format!("INV-{n:04}"),
            kind: if n == 3 { "ACCPAY".into() } else { "ACCREC".into() },
            contact_id: id.clone(),
            contact_name: format!("Customer {n}"),
            status: if n == 7 { "VOIDED".into() } else { "PAID".into() },
            currency: currency.clone(),
            lines: vec![line(if currency == "JPY" { 5000 } else { 4999 }, "2.0000")],
            date: updated,
            due: updated + Duration::days(30),
            amount_paid: 0,
            paid_on: Some(updated + Duration::days(3)),
            repeating_id: None,
            updated,
        });
        d.payments.push(Payment {
            id: format!("20000000-0000-4000-8000-{n:012}"),
            invoice_id: inv,
            invoice_number: format!("INV-{n:04}"),
            contact_id: id.clone(),
            contact_name: format!("Customer {n}"),
            currency,
            amount: 9998,
            date: updated + Duration::days(3),
            status: if n == 9 { "DELETED".into() } else { "AUTHORISED".into() },
            updated: updated + Duration::days(3),
        });
    }
    for (n, (unit, period, status)) in
        [("WEEKLY", 1, "AUTHORISED"), ("MONTHLY", 1, "AUTHORISED"), ("MONTHLY", 12, "DRAFT"), ("MONTHLY", 1, "DELETED")]
            .into_iter()
            .enumerate()
    {
        d.repeating_invoices.push(RepeatingInvoice {
            id: format!("30000000-0000-4000-8000-{n:012}"),
            kind: "ACCREC".into(),
            contact_id: d.contacts[n].id.clone(),
            contact_name: d.contacts[n].name.clone(),
            status: status.into(),
            currency: "EUR".into(),
            unit: unit.into(),
            period,
            start: t0(),
            next: Some(t0() + Duration::days(30)),
            end: (n == 1).then(|| t0() + Duration::days(365)),
            lines: vec![line(1250, "1.0000")],
            reference: Some("Subscription".into()),
            updated: t0(),
        });
    }
    d
}

async fn emulator(options: Options) -> Emulator {
    Emulator::start(data(), options, Clock::new()).await.unwrap()
}

fn unlimited() -> Options {
    Options { rate_limited: false, ..Options::default() }
}

/// Redeems `refresh_token`: the answer's status and body.
async fn grant(e: &Emulator, refresh_token: &str) -> (StatusCode, Value) {
    let c = e.credentials();
    let res = client()
        .post(e.token_url())
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

async fn access(e: &Emulator) -> String {
    let (status, body) = grant(e, &e.credentials().refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn call(e: &Emulator, token: &str, tenant: Option<&str>, path: &str, since: Option<&str>) -> reqwest::Response {
    let mut r = client().get(format!("{}{path}", e.base_url())).bearer_auth(token).header("Accept", "application/json");
    if let Some(t) = tenant {
        r = r.header("xero-tenant-id", t);
    }
    if let Some(s) = since {
        r = r.header("If-Modified-Since", s);
    }
    r.send().await.unwrap()
}

async fn get(e: &Emulator, token: &str, path: &str, since: Option<&str>) -> Value {
    let res = call(e, token, Some(TENANT_ID), path, since).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Every page of a list; returns the records and the page count.
async fn walk(e: &Emulator, token: &str, list: &str, query: &str, since: Option<&str>) -> (Vec<Value>, usize) {
    let (mut out, mut page) = (Vec::new(), 1);
    loop {
        let body = get(e, token, &format!("/api.xro/2.0/{list}?{query}&page={page}"), since).await;
        out.extend(body[list].as_array().unwrap().iter().cloned());
        let count = body["pagination"]["pageCount"].as_u64().unwrap() as usize;
        assert_eq!(body["pagination"]["page"], page);
        if page >= count {
            return (out, page);
        }
        page += 1;
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_calls_need_a_token_and_a_known_tenant() {
    let e = emulator(Options { two_tenants: true, ..unlimited() }).await;
    let first = e.credentials().refresh_token;
    let (status, body) = grant(&e, &first).await;
    assert_eq!(status, StatusCode::OK);
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(next != first && !e.refresh_token_valid(&first) && e.refresh_token_valid(&next));
    let (status, body) = grant(&e, &first).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let token = body_token(&e).await;
    let list: Value = call(&e, &token, None, "/connections", None).await.json().await.unwrap();
    let tenants: BTreeSet<&str> = list.as_array().unwrap().iter().map(|c| c["tenantId"].as_str().unwrap()).collect();
    assert_eq!(tenants, BTreeSet::from([TENANT_ID, OTHER_TENANT_ID]));
    assert_eq!(
        call(&e, "nope", Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = call(&e, &token, None, "/api.xro/2.0/Contacts", None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no xero-tenant-id");
    let res = call(&e, &token, Some("11111111-2222-3333-4444-555555555555"), "/api.xro/2.0/Contacts", None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a tenant the token does not reach");
    assert_eq!(call(&e, &token, Some(OTHER_TENANT_ID), "/api.xro/2.0/Contacts", None).await.status(), StatusCode::OK);
    e.expire_access_tokens();
    assert_eq!(
        call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn body_token(e: &Emulator) -> String {
    access(e).await
}

#[tokio::test]
async fn lists_page_in_update_order_with_archived_modified_since_and_where() {
    let e = emulator(unlimited()).await;
    let token = access(&e).await;
    let (all, pages) = walk(&e, &token, "Contacts", "includeArchived=true&pageSize=4", None).await;
    assert_eq!((all.len(), pages), (25, 7));
    let (active, _) = walk(&e, &token, "Contacts", "pageSize=4", None).await;
    assert_eq!(active.len(), 20, "archived contacts only with includeArchived");
    assert!(active.iter().all(|c| c["ContactStatus"] == "ACTIVE"));
    assert!(all.windows(2).all(|w| {
        let t = |c: &Value| accord_core_ms(&c["UpdatedDateUTC"]);
        t(&w[0]) <= t(&w[1])
    }));
    assert_eq!(all[0]["UpdatedDateUTC"], json!(format!("/Date({}+0000)/", t0().timestamp_millis())));
    // Modified since 10:00 on the first day: contacts 10..24, inclusive of the instant.
    let (recent, _) =
        walk(&e, &token, "Contacts", "includeArchived=true&pageSize=4", Some("2024-01-01T10:00:00")).await;
    assert_eq!(recent.len(), 15);
    let (zoned, _) = walk(&e, &token, "Contacts", "includeArchived=true", Some("2024-01-01T12:00:00+02:00")).await;
    assert_eq!(zoned.len(), 15, "a zone is honoured");
    let (sales, _) = walk(&e, &token, "Invoices", "where=Type%3D%3D%22ACCREC%22&pageSize=10", None).await;
    assert_eq!(sales.len(), 24, "the bill is left out");
    let voided = sales.iter().find(|i| i["Status"] == "VOIDED").unwrap();
    assert_eq!(voided["AmountDue"], json!(0));
    assert_eq!(sales[0]["Total"].to_string(), "99.98", "amounts are exact decimals");
    let (payments, _) =
        walk(&e, &token, "Payments", "where=PaymentType%3D%3D%22ACCRECPAYMENT%22&pageSize=1000", None).await;
    assert_eq!(payments.len(), 25);
    let repeating = get(&e, &token, "/api.xro/2.0/RepeatingInvoices?where=Type%3D%3D%22ACCREC%22", None).await;
    assert_eq!(repeating["RepeatingInvoices"].as_array().unwrap().len(), 4);
    assert!(repeating.get("pagination").is_none(), "repeating invoices are not paged");
    for bad in ["pageSize=1001", "pageSize=0", "page=0", "page=x", "where=Name%3D%3D%22x%22", "where=Type%3DACCREC"] {
        let res = call(&e, &token, Some(TENANT_ID), &format!("/api.xro/2.0/Invoices?{bad}"), None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let res = call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", Some("yesterday")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // An archived contact comes back in a modified-since read as a status change.
    let mark = e.state().core.clock.now();
    e.archive_contact(all[0]["ContactID"].as_str().unwrap()).unwrap();
    let since = mark.format("%Y-%m-%dT%H:%M:%S").to_string();
    let (changed, _) = walk(&e, &token, "Contacts", "includeArchived=true", Some(&since)).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["ContactStatus"], "ARCHIVED");
}

fn accord_core_ms(v: &Value) -> i64 {
    let s = v.as_str().unwrap();
    s.trim_start_matches("/Date(").split('+').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_minute_and_the_day_limits_answer_429_with_the_problem_and_when() {
    let e = emulator(Options { per_minute: 3, per_day: 5, ..Options::default() }).await;
    let token = access(&e).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let h = |n: &str| res.headers()[n].to_str().unwrap().parse::<u32>().unwrap();
        remaining.push((h("x-minlimit-remaining"), h("x-daylimit-remaining")));
    }
    assert_eq!(remaining, vec![(2, 4), (1, 3), (0, 2)]);
    let res = call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-rate-limit-problem"], "minute");
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() <= 60);
    assert_eq!(e.day_used(), 3, "a refused call is not counted");
    e.rate_limiter().set_enabled(false);
    for _ in 0..2 {
        assert_eq!(call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await.status(), StatusCode::OK);
    }
    let res = call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (
            res.headers()["x-rate-limit-problem"].to_str().unwrap(),
            res.headers()["x-daylimit-remaining"].to_str().unwrap()
        ),
        ("day", "0")
    );
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 86_000 && wait <= 86_400, "until the day's window closes: {wait}");
    e.reset_day();
    assert_eq!(call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await.status(), StatusCode::OK);
    e.set_day_remaining(0);
    assert_eq!(
        call(&e, &token, Some(TENANT_ID), "/api.xro/2.0/Contacts", None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Skips (visibly) when `../shared` is not beside the clone, unless `ACCORD_REQUIRE_SHARED`.
fn spec(path: &str) -> Option<Value> {
    match std::fs::read_to_string(Path::new(path)) {
        Ok(text) => Some(serde_yaml::from_str(&text).expect("the spec is YAML")),
        Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
            panic!("ACCORD_REQUIRE_SHARED is set, so the official Xero spec must be at {path}: {e}")
        }
        Err(e) => {
            eprintln!("skipping the Xero spec check: {path} not readable ({e}); shared/ is not beside the clone");
            None
        }
    }
}

/// A validator of `#/components/schemas/<name>` within the whole document.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let mut schema = doc.clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(false)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: the schema does not compile: {e}"))
}

fn check(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> =
        v.iter_errors(instance).take(10).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} rejects the answer: {errors:#?}");
}

#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let (Some(accounting), Some(identity)) = (spec(SPEC), spec(IDENTITY)) else { return };
    let e = emulator(unlimited()).await;
    let token = access(&e).await;
    // The operations' schemas are what the spec names for their 200s.
    for (path, list) in [
        ("/Contacts", "Contacts"),
        ("/Invoices", "Invoices"),
        ("/Payments", "Payments"),
        ("/RepeatingInvoices", "RepeatingInvoices"),
    ] {
        let named =
            accounting["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                .clone();
        assert_eq!(named, json!(format!("#/components/schemas/{list}")), "{path}");
        let v = validator(&accounting, list);
        let query =
            if list == "Contacts" { "?includeArchived=true&page=1&pageSize=100" } else { "?page=1&pageSize=100" };
        let body = get(&e, &token, &format!("/api.xro/2.0/{list}{query}"), None).await;
        assert!(!body[list].as_array().unwrap().is_empty());
        check(&v, &body, &format!("GET {path}"));
    }
    let named = accounting["paths"]["/Currencies"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["$ref"]
        .clone();
    assert_eq!(named, json!("#/components/schemas/Currencies"));
    let currencies = get(&e, &token, "/api.xro/2.0/Currencies", None).await;
    let codes: Vec<&str> =
        currencies["Currencies"].as_array().unwrap().iter().map(|c| c["Code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["EUR", "GBP", "JPY", "USD"], "the currencies the books are in");
    check(&validator(&accounting, "Currencies"), &currencies, "GET /Currencies");
    let usd = get(&e, &token, "/api.xro/2.0/Currencies?where=Code%3D%3D%22USD%22", None).await;
    assert_eq!(usd["Currencies"], json!([{"Code": "USD", "Description": "United States Dollar"}]));
    // The check can fail: a contact's status is one of the spec's.
    let v = validator(&accounting, "Contacts");
    assert!(!v.is_valid(&json!({"Contacts": [{"ContactID": "x", "ContactStatus": "GONE"}]})));
    let connections: Value = call(&e, &token, None, "/connections", None).await.json().await.unwrap();
    let mut schema = identity.clone();
    schema["$ref"] = json!("#/components/schemas/Connection");
    let one = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(false)
        .build(&schema)
        .unwrap();
    for c in connections.as_array().unwrap() {
        check(&one, c, "GET /connections");
    }
    assert!(!one.is_valid(&json!({"tenantId": 7})));
}

async fn update(e: &Emulator, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    let res = client()
        .post(format!("{}/api.xro/2.0/Contacts/{id}", e.base_url()))
        .bearer_auth(token)
        .header("xero-tenant-id", TENANT_ID)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_contact_update_sets_its_account_number_and_refuses_one_another_contact_has() {
    let e = emulator(unlimited()).await;
    let token = access(&e).await;
    let (free, taken) = ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002");
    let one = get(&e, &token, &format!("/api.xro/2.0/Contacts/{free}"), None).await;
    assert_eq!((one["Contacts"][0]["ContactID"].as_str(), one["Contacts"][0].get("AccountNumber")), (Some(free), None));
    e.state().core.clock.advance(Duration::seconds(3));

    let (status, body) =
        update(&e, &token, free, json!({"Contacts": [{"ContactID": free, "AccountNumber": "acct-9"}]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Contacts"][0]["AccountNumber"], "acct-9", "the answer is the contact");
    assert_eq!(
        get(&e, &token, &format!("/api.xro/2.0/Contacts/{free}"), None).await["Contacts"][0]["AccountNumber"],
        "acct-9"
    );
    let since = (t0() + Duration::days(30)).format("%Y-%m-%dT%H:%M:%S").to_string();
    let (changed, _) = walk(&e, &token, "Contacts", "includeArchived=true", Some(&since)).await;
    assert_eq!(changed.iter().map(|c| c["ContactID"].clone()).collect::<Vec<_>>(), vec![json!(free)], "modified since");

    // ACC-2 is contact 2's: refused, with Xero's validation shape, and nothing changes.
    let (status, body) = update(&e, &token, free, json!({"Contacts": [{"AccountNumber": "ACC-2"}]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((body["ErrorNumber"].clone(), body["Type"].clone()), (json!(10), json!("ValidationException")));
    let message = body["Elements"][0]["ValidationErrors"][0]["Message"].as_str().unwrap();
    assert!(message.contains("Account Number already exists"), "{message}");
    assert_eq!(e.snapshot().contacts.iter().find(|c| c.id == free).unwrap().account_number.as_deref(), Some("acct-9"));
    // Its own number again is no duplicate; a body without one contact is refused.
    let (status, _) = update(&e, &token, taken, json!({"Contacts": [{"AccountNumber": "ACC-2"}]})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = update(&e, &token, free, json!({"AccountNumber": "x"})).await;
    assert_eq!((status, body["Type"].clone()), (StatusCode::BAD_REQUEST, json!("PostDataInvalidException")));
    let (status, _) = update(&e, &token, "00000000-0000-4000-8000-999999999999", json!({"Contacts": [{}]})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e.writes(), vec![("contact".to_owned(), free.to_owned()), ("contact".to_owned(), taken.to_owned())]);

    // The answers are the spec's: getContact's and updateContact's 200s, and the 400's Error.
    let Some(accounting) = spec(SPEC) else { return };
    let op = &accounting["paths"]["/Contacts/{ContactID}"];
    for method in ["get", "post"] {
        let named = op[method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].clone();
        assert_eq!(named, json!("#/components/schemas/Contacts"), "{method}");
    }
    assert_eq!(op["post"]["responses"]["400"]["$ref"], "#/components/responses/400Error");
    check(&validator(&accounting, "Contacts"), &one, "GET /Contacts/{ContactID}");
    let (_, answer) = update(&e, &token, free, json!({"Contacts": [{"Name": "Renamed"}]})).await;
    check(&validator(&accounting, "Contacts"), &answer, "POST /Contacts/{ContactID}");
    let (_, refused) = update(&e, &token, free, json!({"Contacts": [{"AccountNumber": "ACC-2"}]})).await;
    check(&validator(&accounting, "Error"), &refused, "the 400 of POST /Contacts/{ContactID}");
    assert!(!validator(&accounting, "Error").is_valid(&json!({"Elements": [{"ValidationErrors": "no"}]})));
}
