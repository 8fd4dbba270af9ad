//! The Zuora emulator over real HTTP, against Zuora's documented shapes (Zuora publishes no
//! machine-readable spec on GitHub; the facts are in `vendor-apis-billing.md` and the REST
//! reference of `POST /oauth/token`, `POST /v1/action/query` and `/v1/action/queryMore`):
//! client-credentials tokens and their refusals, expiry, ZOQL rows with `records`/`size`/
//! `done`/`queryLocator`, batch sizes, incremental `UpdatedDate` filters, refusals in Zuora's
//! error body, the rate and concurrency limits with `REQUEST_EXCEEDED_LIMIT`, cancellations,
//! and the seed's revenue: charges whose MRR is their price per month, segments for mid-cycle
//! changes, invoices whose items bill them.

use std::collections::{BTreeSet, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.zuora.rate_limited = false;
    o
}

async fn token(s: &Sandbox) -> String {
    let c = s.zuora.credentials();
    let res = client()
        .post(format!("{}/oauth/token", s.zuora.base_url()))
        .form(&[
            ("client_id", c.client_id.as_str()),
            ("client_secret", &c.client_secret),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 3_000);
    body["access_token"].as_str().unwrap().to_owned()
}

async fn post(s: &Sandbox, token: &str, path: &str, body: Value) -> reqwest::Response {
    client().post(format!("{}{path}", s.zuora.base_url())).bearer_auth(token).json(&body).send().await.unwrap()
}

/// Every row of `zoql`, following `queryMore`; the rows and the call count.
async fn query_all(s: &Sandbox, token: &str, zoql: &str, batch: Option<u32>) -> (Vec<Value>, usize) {
    let mut body = json!({ "queryString": zoql });
    if let Some(b) = batch {
        body["conf"] = json!({ "batchSize": b });
    }
    let (mut rows, mut calls) = (Vec::new(), 0);
    let mut res = post(s, token, "/v1/action/query", body).await;
    loop {
        assert_eq!(res.status(), StatusCode::OK, "{zoql}");
        let page: Value = res.json().await.unwrap();
        calls += 1;
        let records = page["records"].as_array().unwrap();
        if let Some(b) = batch {
            assert!(records.len() <= b as usize);
        }
        rows.extend(records.iter().cloned());
        assert!(page["size"].as_u64().is_some());
        match (page["done"].as_bool().unwrap(), page["queryLocator"].as_str()) {
            (true, None) => return (rows, calls),
            (false, Some(l)) => {
                res = post(s, token, "/v1/action/queryMore", json!({ "queryLocator": l })).await;
            }
            other => panic!("done and queryLocator disagree: {other:?}"),
        }
    }
}

#[tokio::test]
async fn tokens_are_bought_with_client_credentials_and_expire() {
    let (s, _) = sandbox(unlimited()).await;
    let c = s.zuora.credentials();
    let url = format!("{}/oauth/token", s.zuora.base_url());
    let bad = client()
        .post(&url)
        .form(&[("client_id", c.client_id.as_str()), ("client_secret", "nope"), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_client");
    let grant = client()
        .post(&url)
        .form(&[("client_id", c.client_id.as_str()), ("client_secret", &c.client_secret), ("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::BAD_REQUEST);
    let q = json!({ "queryString": "select Id from Account" });
    let none = client().post(format!("{}/v1/action/query", s.zuora.base_url())).json(&q).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.json::<Value>().await.unwrap(), json!({"message": "Authentication error"}));
    let t = token(&s).await;
    assert_eq!(post(&s, &t, "/v1/action/query", q.clone()).await.status(), StatusCode::OK);
    assert_eq!(post(&s, "made-up", "/v1/action/query", q.clone()).await.status(), StatusCode::UNAUTHORIZED);
    s.zuora.expire_tokens();
    assert_eq!(post(&s, &t, "/v1/action/query", q.clone()).await.status(), StatusCode::UNAUTHORIZED);
    let again = token(&s).await;
    assert_eq!(post(&s, &again, "/v1/action/query", q).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn queries_page_by_batch_size_with_locators_and_filter_on_updated_date() {
    let (s, company) = sandbox(unlimited()).await;
    let t = token(&s).await;
    let n = company.zuora.accounts.len();
    assert!(n > 10, "{n} accounts");
    let (rows, calls) =
        query_all(&s, &t, "select Id, Name, Status, UpdatedDate, AccountId__c from Account", Some(7)).await;
    assert_eq!(rows.len(), n);
    assert_eq!(calls, n.div_ceil(7));
    let unique: BTreeSet<&str> = rows.iter().map(|r| r["Id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), n, "no row twice");
    let first = &rows[0];
    let keys: BTreeSet<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(keys.is_subset(&BTreeSet::from(["Id", "Name", "Status", "UpdatedDate", "AccountId__c"])), "{keys:?}");
    assert!(rows.iter().any(|r| r.get("AccountId__c").is_none()), "a null field is left out");
    assert!(first["UpdatedDate"].as_str().unwrap().ends_with(".000+00:00"), "{first}");
    // Without a batch size, 2,000 a call: one call here.
    let (all, calls) = query_all(&s, &t, "SELECT id FROM account", None).await;
    assert_eq!((all.len(), calls), (n, 1));
    // Incremental: `UpdatedDate >=` a mark returns exactly the rows changed since.
    let mut times: Vec<i64> = company.zuora.accounts.iter().map(|a| a.updated).collect();
    times.sort_unstable();
    let mark = times[times.len() / 2];
    let since = chrono::DateTime::from_timestamp(mark, 0).unwrap().to_rfc3339();
    let (changed, _) =
        query_all(&s, &t, &format!("select Id, UpdatedDate from Account where UpdatedDate >= '{since}'"), Some(5))
            .await;
    assert_eq!(changed.len(), times.iter().filter(|t| **t >= mark).count());
    // A changed account comes back.
    let id = company.zuora.accounts[0].id.clone();
    s.clock().advance(chrono::Duration::days(3));
    s.zuora.update_account(&id, |a| a.name = "Renamed".into()).unwrap();
    let t = token(&s).await;
    let after = (s.clock().now() - chrono::Duration::seconds(1)).to_rfc3339();
    let (changed, _) =
        query_all(&s, &t, &format!("select Id, Name from Account where UpdatedDate >= '{after}'"), None).await;
    assert_eq!(changed, vec![json!({"Id": id, "Name": "Renamed"})]);
}

#[tokio::test]
async fn refusals_are_zuoras_error_bodies() {
    let (s, _) = sandbox(unlimited()).await;
    let t = token(&s).await;
    for (zoql, code) in [
        ("select * from Account", "MALFORMED_QUERY"),
        ("select Id from Account order by UpdatedDate", "MALFORMED_QUERY"),
        ("select Account.Name from Subscription", "MALFORMED_QUERY"),
        ("select Nope from Account", "INVALID_FIELD"),
        ("select Id from Widget", "INVALID_VALUE"),
    ] {
        let res = post(&s, &t, "/v1/action/query", json!({ "queryString": zoql })).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{zoql}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Success"], false, "{zoql}");
        assert_eq!(body["Errors"][0]["Code"], code, "{zoql}: {body}");
        assert!(body["Errors"][0]["Message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let res = post(&s, &t, "/v1/action/queryMore", json!({ "queryLocator": "2c92c0f8000000000000000000000000" })).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["Errors"][0]["Code"], "INVALID_VALUE");
    let res =
        post(&s, &t, "/v1/action/query", json!({ "queryString": "select Id from Account", "conf": {"batchSize": 0} }))
            .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A locator Zuora forgot is refused; the query can be run again.
    let res =
        post(&s, &t, "/v1/action/query", json!({ "queryString": "select Id from Account", "conf": {"batchSize": 2} }))
            .await;
    let locator = res.json::<Value>().await.unwrap()["queryLocator"].as_str().unwrap().to_owned();
    // A locator can be sent again (an answer lost on the way): the same rows.
    let once: Value =
        post(&s, &t, "/v1/action/queryMore", json!({ "queryLocator": locator })).await.json().await.unwrap();
    let twice: Value =
        post(&s, &t, "/v1/action/queryMore", json!({ "queryLocator": locator })).await.json().await.unwrap();
    assert_eq!(once["records"], twice["records"]);
    s.zuora.expire_locators();
    let res = post(&s, &t, "/v1/action/queryMore", json!({ "queryLocator": locator })).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_rate_and_concurrency_limits_answer_request_exceeded_limit() {
    let mut o = SandboxOptions::unlimited();
    o.zuora.rate_limited = true;
    o.zuora.per_window = 3;
    o.zuora.window = std::time::Duration::from_secs(30);
    let (s, _) = sandbox(o).await;
    let t = token(&s).await;
    let q = json!({ "queryString": "select Id from Account", "conf": {"batchSize": 1} });
    let mut last = None;
    for _ in 0..4 {
        last = Some(post(&s, &t, "/v1/action/query", q.clone()).await);
    }
    let res = last.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    let reset: u64 = res.headers()["ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&reset), "{reset}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["Errors"][0]["Code"].clone(), body["Success"].clone()),
        (json!("REQUEST_EXCEEDED_LIMIT"), json!(false))
    );

    let mut o = SandboxOptions::unlimited();
    o.zuora.rate_limited = true;
    o.zuora.concurrent = 0;
    let (s, _) = sandbox(o).await;
    let t = token(&s).await;
    let res = post(&s, &t, "/v1/action/query", q).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["concurrency-limit-remaining"], "0");
    assert_eq!(res.json::<Value>().await.unwrap()["Errors"][0]["Code"], "REQUEST_EXCEEDED_LIMIT");
}

#[tokio::test]
async fn the_seed_bills_its_charges_and_cancellations_are_status_changes() {
    let (s, company) = sandbox(unlimited()).await;
    let z = &company.zuora;
    let t = token(&s).await;
    // Charges: MRR is the price per month (Quarter a third, Annual a twelfth), but for the plant.
    let months = HashMap::from([("Month", 1i64), ("Quarter", 3), ("Annual", 12)]);
    let plant_plans: BTreeSet<&str> = z
        .rate_plans
        .iter()
        .filter(|p| Some(&p.subscription_id) == company.zuora_mrr_plant.as_ref())
        .map(|p| p.id.as_str())
        .collect();
    assert!(!plant_plans.is_empty(), "an MRR disagreement is planted");
    let periods: BTreeSet<&str> = z.charges.iter().map(|c| c.billing_period.as_str()).collect();
    assert_eq!(periods, BTreeSet::from(["Annual", "Month", "Quarter"]));
    for c in &z.charges {
        let per = months[c.billing_period.as_str()];
        let scale = 10i128.pow(9 - super::model::exponent(&c.currency));
        let (int, frac) = c.mrr.split_once('.').unwrap_or((&c.mrr, ""));
        let mrr: i128 = format!("{int}{frac:0<9}").parse().unwrap();
        let expected = i128::from(c.price * c.quantity) * scale / i128::from(per);
        let planted = plant_plans.contains(c.rate_plan_id.as_str()) && c.is_last_segment;
        let unit = 10i128.pow(9);
        assert_eq!(mrr - expected, if planted { unit } else { 0 }, "{c:?}");
    }
    // A mid-cycle change: two segments of one charge, the second the last.
    let segmented = z.charges.iter().filter(|c| c.segment == 2).count();
    assert!(segmented > 0, "some subscriptions change mid-cycle");
    for c in z.charges.iter().filter(|c| c.segment == 2) {
        let first = z.charges.iter().find(|f| f.charge_number == c.charge_number && f.segment == 1).unwrap();
        assert!(!first.is_last_segment && c.is_last_segment);
        assert_eq!(first.effective_end, Some(c.effective_start));
    }
    // Cancellations are statuses, and a cancelled subscription has its end.
    assert!(z.accounts.iter().any(|a| a.status == "Canceled"));
    assert!(z.subscriptions.iter().filter(|x| x.status == "Cancelled").all(|x| x.end.is_some()));
    assert!(z.accounts.iter().filter(|a| a.currency != "USD").count() > 0);
    // Invoice items through the API: amounts exact, the invoice's total its items' plus tax.
    let (invoices, _) = query_all(&s, &t, "select Id, Amount, TaxAmount from Invoice", None).await;
    let (items, _) = query_all(&s, &t, "select InvoiceId, ChargeAmount from InvoiceItem", Some(500)).await;
    assert_eq!(invoices.len(), z.invoices.len());
    assert_eq!(items.len(), z.invoice_items.len());
    let one = &z.invoices[0];
    let row = invoices.iter().find(|r| r["Id"] == one.id.as_str()).unwrap();
    assert_eq!(row["Amount"].to_string(), super::model::major(one.amount, &one.currency));
    // Children by their parent, through the index.
    let sub = &z.subscriptions[0];
    let (plans, _) = query_all(
        &s,
        &t,
        &format!("select Id, SubscriptionId from RatePlan where SubscriptionId = '{}' or SubscriptionId = 'x'", sub.id),
        None,
    )
    .await;
    assert_eq!(plans.len(), z.rate_plans.iter().filter(|p| p.subscription_id == sub.id).count());
    // Cancelling an account cancels its live subscriptions.
    let live = z
        .accounts
        .iter()
        .find(|a| a.status == "Active" && z.subscriptions.iter().any(|x| x.account_id == a.id && x.status == "Active"));
    let live = live.unwrap();
    s.zuora.cancel_account(&live.id).unwrap();
    let now = s.zuora.snapshot();
    assert_eq!(now.accounts.iter().find(|a| a.id == live.id).unwrap().status, "Canceled");
    assert!(now.subscriptions.iter().filter(|x| x.account_id == live.id).all(|x| x.status != "Active"));
}

#[tokio::test]
async fn an_account_update_takes_the_custom_field_and_refuses_what_zuora_refuses() {
    let (s, _) = sandbox(unlimited()).await;
    let token = token(&s).await;
    let put = |path: String, body: Value| {
        let (url, token) = (format!("{}{path}", s.zuora.base_url()), token.clone());
        async move { client().put(url).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let accounts = s.zuora.snapshot().accounts;
    let blank = accounts.iter().find(|a| a.account_id_c.is_none()).expect("an account without AccountId__c");
    let before = blank.updated;
    s.clock().advance(chrono::Duration::seconds(5));

    let res = put(format!("/v1/accounts/{}", blank.id), json!({ "AccountId__c": "acct-77" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "success": true }), "no account in the answer");
    let zoql = format!("select Id, AccountId__c, UpdatedDate from Account where Id = '{}'", blank.id);
    let (rows, _) = query_all(&s, &token, &zoql, None).await;
    assert_eq!(rows[0]["AccountId__c"], "acct-77");
    let after = s.zuora.snapshot().accounts.into_iter().find(|a| a.id == blank.id).unwrap();
    assert!(after.updated > before, "UpdatedDate moves, so an incremental read sees the change");
    assert_eq!(s.zuora.writes(), vec![("account".to_owned(), blank.id.clone())]);

    // By its number too; an unknown field and an unknown key are refused with HTTP 200.
    let res = put(format!("/v1/accounts/{}", blank.account_number), json!({ "name": "Renamed Ltd" })).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "success": true }));
    let res = put(format!("/v1/accounts/{}", blank.id), json!({ "Region__c": "EMEA" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["reasons"][0]["code"], 50_000_020);
    assert!(body["reasons"][0]["message"].as_str().unwrap().contains("Region__c"), "{body}");
    let body: Value = put("/v1/accounts/8a8aa0000000000000000000000000ff".into(), json!({ "AccountId__c": "x" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((body["success"].clone(), body["reasons"][0]["code"].clone()), (json!(false), json!(50_000_040)));
    let body: Value =
        put(format!("/v1/accounts/{}", blank.id), json!({ "AccountId__c": 12 })).await.json().await.unwrap();
    assert_eq!(body["success"], false, "a text custom field takes text");
    let unchanged = s.zuora.snapshot().accounts.into_iter().find(|a| a.id == blank.id).unwrap();
    assert_eq!((unchanged.account_id_c.as_deref(), unchanged.name.as_str()), (Some("acct-77"), "Renamed Ltd"));
    assert_eq!(s.zuora.writes().len(), 2, "refused updates are no writes");
}

#[tokio::test]
async fn describe_and_data_source_exports_serve_what_tap_zuora_reads() {
    let (s, _) = sandbox(unlimited()).await;
    let token = token(&s).await;
    let get = |path: String| {
        let (url, token) = (format!("{}{path}", s.zuora.base_url()), token.clone());
        async move { client().get(url).bearer_auth(token).send().await.unwrap() }
    };
    let objects = get("/v1/describe".into()).await.text().await.unwrap();
    assert!(objects.contains("<object href=\"/v1/describe/Account\"><name>Account</name>"), "{objects}");
    let account = get("/v1/describe/Account".into()).await.text().await.unwrap();
    assert!(account.contains("<name>AccountId__c</name>") && account.contains("<custom>true</custom>"), "{account}");
    assert!(account.contains("<name>UpdatedDate</name><label>UpdatedDate</label>"));
    assert!(account.contains("<type>datetime</type>") && account.contains("<context>export</context>"));
    assert_eq!(get("/v1/describe/Nothing".into()).await.status(), StatusCode::NOT_FOUND);

    // An export runs at once; its file is CSV with object-qualified headers.
    let export = |query: String| {
        let (url, token) = (format!("{}/v1/object/export", s.zuora.base_url()), token.clone());
        async move {
            let body = json!({"Format": "csv", "Query": query});
            client().post(url).bearer_auth(token).json(&body).send().await.unwrap()
        }
    };
    let csv_of = |query: String| async {
        let res = export(query).await;
        assert_eq!(res.status(), StatusCode::OK);
        let job: Value = res.json().await.unwrap();
        assert_eq!(job["Success"], true, "{job}");
        let status: Value =
            get(format!("/v1/object/export/{}", job["Id"].as_str().unwrap())).await.json().await.unwrap();
        assert_eq!(status["Status"], "Completed");
        get(format!("/v1/files/{}", status["FileId"].as_str().unwrap())).await.text().await.unwrap()
    };
    let probe = csv_of("select * from Account limit 2".into()).await;
    let lines: Vec<&str> = probe.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two rows: {probe}");
    assert!(lines[0].starts_with("Account.Id,Account.AccountNumber,Account.Name"), "{}", lines[0]);
    let (all, _) =
        query_all(&s, &token, "select Id from Account where UpdatedDate >= '2000-01-01T00:00:00Z'", None).await;
    let window = "select Account.Id, Name from Account where UpdatedDate >= '2000-01-01T00:00:00Z' and UpdatedDate < '2100-01-01T00:00:00Z'";
    let file = csv_of(window.into()).await;
    assert_eq!(file.lines().count(), all.len() + 1, "the window holds every account");
    assert_eq!(file.lines().next(), Some("Account.Id,Account.Name"));
    let res = export("select Id, Account.Name from Subscription".into()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "joins are not emulated");
    assert_eq!(get("/v1/files/ffff".into()).await.status(), StatusCode::NOT_FOUND);
}
