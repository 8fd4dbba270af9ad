//! The Salesforce emulator over real HTTP: OAuth, query pagination, incremental queries,
//! getDeleted, limits and faults.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::model::{Account, Contact, SalesforceData};
use crate::tests::support::{client, sandbox};
use crate::{Fault, Sandbox, SandboxOptions, Schedule};

async fn token(s: &Sandbox) -> String {
    let c = s.salesforce.credentials();
    let res = client()
        .post(format!("{}/services/oauth2/token", c.login_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("refresh_token", &c.refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["instance_url"], s.salesforce.base_url());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["issued_at"].as_str().unwrap().parse::<i64>().is_ok());
    body["access_token"].as_str().unwrap().to_owned()
}

async fn get(s: &Sandbox, token: &str, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", s.salesforce.base_url())).bearer_auth(token).send().await.unwrap()
}

/// Runs a query and follows `nextRecordsUrl` to the end; returns the records and the batch count.
async fn query_all_pages(s: &Sandbox, token: &str, endpoint: &str, soql: &str) -> (Vec<Value>, usize) {
    let res = client()
        .get(format!("{}/services/data/v59.0/{endpoint}", s.salesforce.base_url()))
        .query(&[("q", soql)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{soql}");
    let mut body: Value = res.json().await.unwrap();
    let total = body["totalSize"].as_u64().unwrap() as usize;
    let mut records = Vec::new();
    let mut batches = 0;
    loop {
        batches += 1;
        records.extend(body["records"].as_array().unwrap().iter().cloned());
        if body["done"] == json!(true) {
            assert!(body.get("nextRecordsUrl").is_none());
            break;
        }
        let next = body["nextRecordsUrl"].as_str().unwrap().to_owned();
        assert!(next.starts_with("/services/data/v59.0/query/01g"), "{next}");
        let res = get(s, token, &next).await;
        assert_eq!(res.status(), StatusCode::OK);
        body = res.json().await.unwrap();
        assert_eq!(body["totalSize"].as_u64().unwrap() as usize, total);
    }
    assert_eq!(records.len(), total);
    (records, batches)
}

fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["Id"].as_str().unwrap().to_owned()).collect()
}

fn live<'a, T>(list: &'a [T], id: impl Fn(&T) -> &str + 'a, deleted: impl Fn(&T) -> bool + 'a) -> Vec<String> {
    list.iter().filter(|r| !deleted(r)).map(|r| id(r).to_owned()).collect()
}

fn options(batch: usize) -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.salesforce.batch_size = batch;
    o
}

#[tokio::test]
async fn queries_page_through_exactly_the_live_records_for_several_batch_sizes() {
    for batch in [7, 64, 2000] {
        let (s, company) = sandbox(options(batch)).await;
        let t = token(&s).await;
        let sf: &SalesforceData = &company.salesforce;
        let (records, batches) = query_all_pages(&s, &t, "query", "SELECT Id, Name, Account_ID__c FROM Account").await;
        assert_eq!(ids(&records), live(&sf.accounts, |a| &a.id, |a| a.deleted_at.is_some()));
        assert_eq!(batches, records.len().div_ceil(batch));
        let first = &records[0];
        assert_eq!(first["attributes"]["type"], "Account");
        assert_eq!(
            first["attributes"]["url"],
            format!("/services/data/v59.0/sobjects/Account/{}", first["Id"].as_str().unwrap())
        );
        assert_eq!(first.as_object().unwrap().len(), 4, "only the selected fields: {first}");
        let (records, _) = query_all_pages(&s, &t, "query", "SELECT Id, AccountId, Email FROM Contact").await;
        assert_eq!(ids(&records), live(&sf.contacts, |c| &c.id, |c| c.deleted_at.is_some()));
        let (records, _) = query_all_pages(&s, &t, "query", "SELECT Id, AccountId, ContactId FROM Case").await;
        assert_eq!(ids(&records), live(&sf.cases, |c| &c.id, |c| c.deleted_at.is_some()));
        let (records, _) = query_all_pages(&s, &t, "queryAll", "SELECT Id, IsDeleted FROM Contact").await;
        assert_eq!(records.len(), sf.contacts.len(), "queryAll includes deleted records");
        assert!(records.iter().any(|r| r["IsDeleted"] == json!(true)));
        s.shutdown().await;
    }
}

#[tokio::test]
async fn the_filter_subset_selects_what_soql_would() {
    let (s, company) = sandbox(options(2000)).await;
    let t = token(&s).await;
    let (records, _) = query_all_pages(
        &s,
        &t,
        "query",
        "SELECT Id, Type, SystemModstamp FROM Account WHERE Type = 'customer' AND SystemModstamp >= 2020-01-01T00:00:00Z ORDER BY SystemModstamp ASC",
    )
    .await;
    let expected: BTreeSet<&str> = company
        .salesforce
        .accounts
        .iter()
        .filter(|a| a.deleted_at.is_none() && a.account_type.as_deref() == Some("Customer"))
        .filter(|a| a.system_modstamp.timestamp() >= 1_577_836_800)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(ids(&records).iter().map(String::as_str).collect::<BTreeSet<_>>(), expected);
    let stamps: Vec<&str> = records.iter().map(|r| r["SystemModstamp"].as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "ordered by SystemModstamp");
    assert!(stamps[0].ends_with(".000+0000"), "{}", stamps[0]);
    let (prospects, _) =
        query_all_pages(&s, &t, "query", "SELECT Id FROM Account WHERE Type IN ('Prospect', 'Partner') OR Type = null")
            .await;
    assert!(!prospects.is_empty());
    let res = client()
        .get(format!("{}/services/data/v59.0/query", s.salesforce.base_url()))
        .query(&[("q", "SELECT Id FROM Account WHERE Name LIKE 'A%'")])
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY");
}

#[tokio::test]
async fn auth_failures_answer_like_salesforce_and_a_refresh_recovers_from_expiry() {
    let (s, _) = sandbox(options(2000)).await;
    let res = get(&s, "not-a-token", "/services/data/v59.0/limits").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }]));
    let c = s.salesforce.credentials();
    let bad = client()
        .post(format!("{}/services/oauth2/token", c.login_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("refresh_token", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let t = token(&s).await;
    assert_eq!(get(&s, &t, "/services/data/v59.0/limits").await.status(), StatusCode::OK);
    // Tokens expire with the clock, as sessions do.
    s.clock().advance(chrono::Duration::hours(3));
    let res = get(&s, &t, "/services/data/v59.0/limits").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_SESSION_ID");
    let fresh = token(&s).await;
    assert_eq!(get(&s, &fresh, "/services/data/v59.0/limits").await.status(), StatusCode::OK);
    s.salesforce.expire_tokens();
    assert_eq!(get(&s, &fresh, "/services/data/v59.0/limits").await.status(), StatusCode::UNAUTHORIZED);
    let res = get(&s, &token(&s).await, "/services/data/v59.0/nope").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "NOT_FOUND");
}

#[tokio::test]
async fn incremental_queries_and_get_deleted_return_only_what_changed() {
    let (s, company) = sandbox(options(2000)).await;
    let t = token(&s).await;
    let since = s.clock().now() - chrono::Duration::seconds(1);
    let watermark = since.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let changed = |object: &str| {
        format!("SELECT Id FROM {object} WHERE SystemModstamp > {watermark} ORDER BY SystemModstamp ASC")
    };
    let (none, _) = query_all_pages(&s, &t, "query", &changed("Account")).await;
    assert!(none.is_empty(), "generated data is older than now");
    let account = company.salesforce.accounts.iter().find(|a| a.deleted_at.is_none()).unwrap().id.clone();
    s.salesforce.update::<Account>(&account, |a| a.website = Some("https://new.example".into())).unwrap();
    let new_contact = s.salesforce.insert(Contact {
        id: String::new(),
        account_id: Some(account.clone()),
        email: Some("new.person@new.example".into()),
        first_name: Some("New".into()),
        last_name: "Person".into(),
        created_date: since,
        system_modstamp: since,
        deleted_at: None,
    });
    assert_eq!(new_contact.len(), 18);
    let victim = company.salesforce.contacts.iter().find(|c| c.deleted_at.is_none()).unwrap().id.clone();
    s.salesforce.delete::<Contact>(&victim).unwrap();
    s.clock().advance(chrono::Duration::seconds(2));
    let (accounts, _) = query_all_pages(&s, &t, "query", &changed("Account")).await;
    assert_eq!(ids(&accounts), vec![account]);
    let (contacts, _) = query_all_pages(&s, &t, "query", &changed("Contact")).await;
    assert_eq!(ids(&contacts), vec![new_contact], "the deleted contact left the query results");
    // getDeleted covers whole minutes up to now: a deletion shows once its minute is over.
    s.clock().advance(chrono::Duration::minutes(2));
    let now = s.clock().now();
    let start = (now - chrono::Duration::days(29)).format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let end = (now + chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let res = client()
        .get(format!("{}/services/data/v59.0/sobjects/Contact/deleted/", s.salesforce.base_url()))
        .query(&[("start", start.as_str()), ("end", end.as_str())])
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let deleted: BTreeSet<String> =
        body["deletedRecords"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    let generated: BTreeSet<String> =
        company.salesforce.contacts.iter().filter(|c| c.deleted_at.is_some()).map(|c| c.id.clone()).collect();
    assert!(!generated.is_empty());
    let expected: BTreeSet<String> = generated.into_iter().chain([victim]).collect();
    assert_eq!(deleted, expected);
    assert!(body["latestDateCovered"].as_str().unwrap().ends_with(":00.000+0000"));
    assert!(body["earliestDateAvailable"].is_string());
    let too_old = (now - chrono::Duration::days(40)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let res = client()
        .get(format!("{}/services/data/v59.0/sobjects/Contact/deleted/", s.salesforce.base_url()))
        .query(&[("start", too_old.as_str()), ("end", end.as_str())])
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_REPLICATION_DATE");
}

#[tokio::test]
async fn the_oldest_query_locator_is_released_past_the_limit() {
    let mut o = options(10);
    o.salesforce.max_open_locators = 2;
    let (s, _) = sandbox(o).await;
    let t = token(&s).await;
    let mut urls = Vec::new();
    for _ in 0..3 {
        let res = client()
            .get(format!("{}/services/data/v59.0/query", s.salesforce.base_url()))
            .query(&[("q", "SELECT Id FROM Account")])
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        urls.push(res.json::<Value>().await.unwrap()["nextRecordsUrl"].as_str().unwrap().to_owned());
    }
    let res = get(&s, &t, &urls[0]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_QUERY_LOCATOR");
    assert_eq!(get(&s, &t, &urls[2]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_daily_allocation_is_enforced_with_salesforce_answers() {
    let mut o = options(2000);
    o.salesforce.daily_limit = 5;
    let (s, _) = sandbox(o).await;
    let t = token(&s).await;
    for n in 1..=5 {
        let res = get(&s, &t, "/services/data/v59.0/limits").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["sforce-limit-info"], format!("api-usage={n}/5").as_str());
    }
    let res = get(&s, &t, "/services/data/v59.0/limits").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["sforce-limit-info"], "api-usage=5/5");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!([{ "message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED" }]));
    let stats = s.salesforce.rate_limiter().stats();
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.requests, 7, "the token request counts as received too");
}

#[tokio::test]
async fn every_fault_kind_is_observable_over_http() {
    let (s, _) = sandbox(options(2000)).await;
    let t = token(&s).await;
    let limits = "/services/data/v59.0/limits";
    s.salesforce.faults().inject(Fault::Status(503), Schedule::Next(2));
    for _ in 0..2 {
        let res = get(&s, &t, limits).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "SERVER_UNAVAILABLE");
    }
    assert_eq!(get(&s, &t, limits).await.status(), StatusCode::OK, "recovered after exactly 2");

    s.salesforce.faults().inject(Fault::RateLimited, Schedule::Next(1));
    let res = get(&s, &t, limits).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "REQUEST_LIMIT_EXCEEDED");

    s.salesforce.faults().inject(Fault::Drop, Schedule::Next(1));
    let err = client().get(format!("{}{limits}", s.salesforce.base_url())).bearer_auth(&t).send().await.unwrap_err();
    assert!(err.is_request() || err.is_connect() || err.is_body(), "{err:?}");

    s.salesforce.faults().inject(Fault::Truncate, Schedule::Next(1));
    let res = get(&s, &t, limits).await;
    assert_eq!(res.status(), StatusCode::OK);
    let declared: usize = res.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let bytes = res.bytes().await.unwrap();
    assert_eq!(bytes.len(), declared);
    assert!(serde_json::from_slice::<Value>(&bytes).is_err(), "the body is cut: {bytes:?}");

    s.salesforce.faults().inject(Fault::Delay(Duration::from_millis(300)), Schedule::Next(1));
    let started = Instant::now();
    assert_eq!(get(&s, &t, limits).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    s.salesforce.faults().inject(Fault::Status(500), Schedule::EveryNth(3));
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(get(&s, &t, limits).await.status().as_u16());
        }
        v
    };
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);
    s.salesforce.faults().clear();
    let counts = s.salesforce.faults().counts();
    assert_eq!((counts.status, counts.rate_limited, counts.dropped, counts.truncated, counts.delayed), (4, 1, 1, 1, 1));
}

#[tokio::test]
async fn login_and_data_are_separate_hosts_and_the_login_host_knows_no_data_path() {
    let (s, _) = sandbox(options(2000)).await;
    assert_ne!(s.salesforce.login_url(), s.salesforce.base_url());
    let t = token(&s).await; // from the login host; names the instance
    for path in ["/services/data/v59.0/limits", "/services/data/v59.0/query?q=SELECT+Id+FROM+Account"] {
        let res = client().get(format!("{}{path}", s.salesforce.login_url())).bearer_auth(&t).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path} on the login host, with a valid token");
        assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "NOT_FOUND");
        assert_eq!(get(&s, &t, path).await.status(), StatusCode::OK, "{path} on the instance");
    }
    // The instance serves the token endpoint too (as My Domain hosts do), naming itself.
    let c = s.salesforce.credentials();
    let res = client()
        .post(format!("{}/services/oauth2/token", s.salesforce.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("refresh_token", &c.refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["instance_url"], s.salesforce.base_url());
}

#[tokio::test]
async fn answers_carry_the_sandbox_clock_in_date() {
    let (s, _) = sandbox(options(2000)).await;
    s.clock().advance(chrono::Duration::days(3));
    let t = token(&s).await;
    let res = get(&s, &t, "/services/data/v59.0/limits").await;
    let date = res.headers()["date"].to_str().unwrap().to_owned();
    let date = chrono::DateTime::parse_from_rfc2822(&date).unwrap();
    let gap = s.clock().now() - date.with_timezone(&chrono::Utc);
    assert!(
        gap >= chrono::Duration::zero() && gap < chrono::Duration::seconds(5),
        "{date} vs the sandbox clock: {gap}"
    );
}

async fn get_deleted(
    s: &Sandbox,
    t: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> reqwest::Response {
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    client()
        .get(format!("{}/services/data/v59.0/sobjects/Account/deleted/", s.salesforce.base_url()))
        .query(&[("start", at(start)), ("end", at(end))])
        .bearer_auth(t)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn get_deleted_refuses_spans_of_a_minute_and_starts_before_a_purge() {
    let (s, _) = sandbox(options(2000)).await;
    let t = token(&s).await;
    let now = s.clock().now();
    let res = get_deleted(&s, &t, now - chrono::Duration::seconds(50), now).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "start must precede end by more than a minute");
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_REPLICATION_DATE");
    let victim = s.salesforce.snapshot().accounts.iter().find(|a| a.deleted_at.is_none()).unwrap().id.clone();
    s.salesforce.delete::<Account>(&victim).unwrap();
    s.clock().advance(chrono::Duration::minutes(2));
    let now = s.clock().now();
    let body: Value = get_deleted(&s, &t, now - chrono::Duration::hours(1), now).await.json().await.unwrap();
    let ids: Vec<&str> = body["deletedRecords"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&victim.as_str()), "{body}");
    // An older start is served from the log's start, which says how far back it reaches.
    let body: Value = get_deleted(&s, &t, now - chrono::Duration::days(20), now).await.json().await.unwrap();
    let earliest =
        chrono::DateTime::parse_from_str(body["earliestDateAvailable"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.3f%z")
            .unwrap();
    assert!(earliest > now - chrono::Duration::days(16) && earliest < now - chrono::Duration::days(14), "{earliest}");
    s.salesforce.purge_delete_log();
    s.clock().advance(chrono::Duration::minutes(2));
    let now = s.clock().now();
    let res = get_deleted(&s, &t, now - chrono::Duration::hours(1), now).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the log was purged after the start");
    assert_eq!(res.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_REPLICATION_DATE");
    let res = get_deleted(&s, &t, now - chrono::Duration::seconds(90), now).await;
    assert_eq!(res.status(), StatusCode::OK, "a start after the purge is fine");
    assert!(res.json::<Value>().await.unwrap()["deletedRecords"].as_array().unwrap().is_empty());
}
