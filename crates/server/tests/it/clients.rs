//! The request shapes of the public Natero client libraries, replayed from their public behaviour
//! (what their own specs say they send): the `natero` and `freshworks` Ruby gems put a slash before
//! the query string, send PUT bodies as bare objects and events as forms; pytero sends its list
//! parameters as Python writes them (`include=N,o,n,e`, `include_inactive=False`). The real clients
//! run against `accord serve` in `tests/clients/run.sh`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::*;

/// A gem's URL: every path segment followed by `/`, then `?api_key=KEY`.
fn gem_url(s: &Server, path: &str) -> String {
    format!("http://{}{path}/?api_key={KEY}", s.addr)
}

async fn gem(s: &Server, method: Method, path: &str, body: &str) -> (u16, Value) {
    raw(method, &gem_url(s, path), "application/json", body).await
}

/// The gems' `to_records_json`: records serialized one by one and spliced into `{"records": [...]}`
/// with a space after the colon and after each comma between records.
fn gem_records(records: &[Value]) -> String {
    let parts: Vec<String> = records.iter().map(Value::to_string).collect();
    format!("{{\"records\": [{}]}}", parts.join(", "))
}

fn account(a: &Value) -> &Value {
    &a["result"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruby_gem_account_calls_with_a_slash_before_the_query() {
    let s = Server::start().await;
    let acme = json!({"account_id": "A1", "name": "Acme", "join_date": 1598907978483_i64, "source": "salesforce",
        "custom_value_dimensions": [{"key": "seats", "value": 10}],
        "custom_label_dimensions": [{"key": "plan", "value": "gold"}],
        "assigned_csms": [{"email": "bob@acme.com"}],
        "stage_history": [{"name": "paul", "start_date": 1000000, "end_date": 2000000}],
        "nps_history": [{"nps_score": 9, "date": 10000}]});
    let beta = json!({"account_id": "A2", "name": "Beta", "join_date": 1609804800000_i64});
    let (status, r) = gem(&s, Method::POST, "/api/v2/accounts", &gem_records(&[acme, beta])).await;
    assert_eq!((status, &r["failed_results"]), (200, &json!([])), "{r}");

    let (status, all) = gem(&s, Method::GET, "/api/v2/accounts", "").await;
    assert_eq!((status, all["total"].as_u64()), (200, Some(2)));
    let (_, a) = gem(&s, Method::GET, "/api/v2/accounts/A1", "").await;
    assert_eq!(account(&a)["source"], "salesforce", "the client's source, as written");
    assert_eq!(account(&a)["accord_origin"], "api/accounts");
    assert_eq!(account(&a)["custom_value_dimensions"], json!([{"key": "seats", "value": 10}]));

    // Account.modify sends the account's fields as a bare object.
    let (status, r) = gem(&s, Method::PUT, "/api/v2/accounts/A1", r#"{"tier":"platinum"}"#).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");
    let (_, a) = gem(&s, Method::GET, "/api/v2/accounts/A1", "").await;
    assert_eq!((account(&a)["tier"].as_str(), account(&a)["name"].as_str()), (Some("platinum"), Some("Acme")));
    assert_eq!(account(&a)["source"], "salesforce", "a PUT keeps the source");
    assert_eq!(account(&a)["stage_history"].as_array().map(Vec::len), Some(1), "and the nested fields");

    for list in ["metrics", "statements", "subscriptions", "support_tickets", "users", "contacts"] {
        let (status, r) = gem(&s, Method::GET, &format!("/api/v2/accounts/A1/{list}"), "").await;
        assert_eq!((status, r["status_is_ok"].as_bool()), (200, Some(true)), "{list}: {r}");
    }

    for (path, field) in [
        ("/api/v2/accounts/A1/stage_history/paul/1000000", "stage_history"),
        ("/api/v2/accounts/A1/dimension_values/seats", "custom_value_dimensions"),
        ("/api/v2/accounts/A1/dimension_labels/plan", "custom_label_dimensions"),
        ("/api/v2/accounts/A1/assigned_csms/bob@acme.com", "assigned_csms"),
        ("/api/v2/accounts/A1/nps_history/10000", "nps_history"),
    ] {
        let (status, r) = gem(&s, Method::DELETE, path, "").await;
        assert_eq!(status, 200, "{path}: {r}");
        let (_, a) = gem(&s, Method::GET, "/api/v2/accounts/A1", "").await;
        assert_eq!(account(&a)[field], json!([]), "{path} removed its entry");
        let (status, r) = gem(&s, Method::DELETE, path, "").await;
        assert_eq!(status, 404, "{path} a second time: {r}");
    }

    let (status, _) = gem(&s, Method::DELETE, "/api/v2/accounts/A2", "").await;
    assert_eq!(status, 200);
    let (_, a) = gem(&s, Method::GET, "/api/v2/accounts/A2", "").await;
    assert_eq!(account(&a)["is_active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruby_gem_user_calls() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let users = [
        json!({"user_id": "u1", "account_id": "A1", "email": "ann@acme.io", "source": "intercom"}),
        json!({"user_id": "u2", "account_id": "A1", "email": "bob@acme.io"}),
    ];
    let (status, r) = gem(&s, Method::POST, "/api/v2/account_users", &gem_records(&users)).await;
    assert_eq!((status, &r["failed_results"]), (200, &json!([])), "{r}");
    let (_, all) = gem(&s, Method::GET, "/api/v2/account_users", "").await;
    assert_eq!(all["total"], 2);
    let (status, one) = gem(&s, Method::GET, "/api/v2/account_users/u1", "").await;
    assert_eq!((status, one["results"][0]["source"].as_str()), (200, Some("intercom")));
    let (status, _) = gem(&s, Method::GET, "/api/v2/account_users/u1/A1", "").await;
    assert_eq!(status, 200);
    let (status, _) = gem(&s, Method::GET, "/api/v2/account_users/u1/A2", "").await;
    assert_eq!(status, 404, "u1 is not in A2");

    let (status, r) = gem(&s, Method::PUT, "/api/v2/account_users/u1", r#"{"role":"admin"}"#).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");
    let (_, one) = gem(&s, Method::GET, "/api/v2/account_users/u1", "").await;
    let u = &one["results"][0];
    assert_eq!(
        (u["role"].as_str(), u["email"].as_str(), one["total"].as_u64()),
        (Some("admin"), Some("ann@acme.io"), Some(1))
    );

    let (status, _) = gem(&s, Method::DELETE, "/api/v2/account_users/u2/A2", "").await;
    assert_eq!(status, 404, "u2 is not in A2: nothing to deactivate");
    let (status, _) = gem(&s, Method::DELETE, "/api/v2/account_users/u2/A1", "").await;
    assert_eq!(status, 200);
    let (status, _) = gem(&s, Method::DELETE, "/api/v2/account_users/u1", "").await;
    assert_eq!(status, 200);
    let (_, active) = gem(&s, Method::GET, "/api/v2/account_users", "").await;
    assert_eq!(active["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruby_gem_metric_calls() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let values = [json!({"account_id": "A1", "name": "ted", "value": 7})];
    let (status, r) = gem(&s, Method::POST, "/api/v2/metrics", &gem_records(&values)).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");
    let (status, r) = gem(&s, Method::PUT, "/api/v2/metrics/ted", r#"{"id":1,"name":"ted"}"#).await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = gem(&s, Method::PUT, "/api/v2/metrics/ted", r#"{"data":{"description":"Seats in use"}}"#).await;
    assert_eq!(status, 200, "{r}");
    let (status, m) = gem(&s, Method::GET, "/api/v2/metrics/ted", "").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["result"], json!({"id": 1, "name": "ted", "description": "Seats in use"}), "merged field by field");
    assert_eq!(m["results"][0]["value"], 7.0);
    assert_eq!(m["total"], 1);
    let (status, _) = gem(&s, Method::DELETE, "/api/v2/metrics/ted", "").await;
    assert_eq!(status, 200);
    let (status, _) = gem(&s, Method::GET, "/api/v2/metrics/ted", "").await;
    assert_eq!(status, 404);
    let (_, values) = get(&s, "/api/v2/metrics?name=ted").await;
    assert_eq!(values["total"], 0, "its values went with it");
    let (status, _) = gem(&s, Method::DELETE, "/api/v2/metrics/ted", "").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruby_gem_events_are_forms_labelled_json() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [{"user_id": "u1", "account_id": "A1", "email": "ann@acme.io"}]}),
    )
    .await;
    let t = chrono::Utc::now().timestamp_millis() - 60_000;
    // HTTParty encodes a hash body as a form, whatever the Content-Type header says.
    let url = format!("http://{}/v1/{AUTH}/{SEND}", s.addr);
    let identify = format!(
        "account_id=A1&user_id=u1&session_id=s1&created_at={t}&action=identifyUser&details%5Bfirst_name%5D=Ann&details%5Btitle%5D=CTO"
    );
    let (status, r) = raw(Method::POST, &url, "application/json", &identify).await;
    assert_eq!((status, r["stored"].as_u64(), &r["failed_lines"]), (200, Some(1), &json!([])), "{r}");
    let feature = format!(
        "account_id=A1&user_id=u1&session_id=s1&created_at={}&action=feature&feature=export&module=reports&total=3",
        t + 1
    );
    let (_, r) = raw(Method::POST, &url, "application/json", &feature).await;
    assert_eq!(r["stored"], 1, "{r}");
    let usage = s.hub.store.usage("A1", t - 86_400_000, t + 86_400_000).unwrap();
    assert_eq!((usage.events, usage.feature_total), (2, 3.0), "both events stored and counted");
    let (_, users) = get(&s, "/api/v2/account_users/u1").await;
    assert_eq!(users["total"], 1, "one user: {users}");
    let u = &users["results"][0];
    assert_eq!((u["first_name"].as_str(), u["email"].as_str()), (Some("Ann"), Some("ann@acme.io")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pytero_request_shapes() {
    let s = Server::start().await;
    post(
        &s,
        "/api/v2/accounts",
        json!({"records": [
            {"account_id": "A1", "name": "Acme", "join_date": 1},
            {"account_id": "A2", "name": "Beta", "join_date": 2},
            {"account_id": "A3", "name": "Core", "join_date": 3}]}),
    )
    .await;
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [
            {"user_id": "u1", "account_id": "A1"}, {"user_id": "u3", "account_id": "A1"},
            {"user_id": "u2", "account_id": "A1"}]}),
    )
    .await;
    let ids = |v: &Value, f: &str| -> Vec<String> {
        v["results"].as_array().unwrap().iter().map(|r| r[f].as_str().unwrap().to_owned()).collect()
    };
    // pytero: requests.get(url, params={...}, headers={'Content-Type': ..., 'charset': 'utf-8'}).
    let pytero = |path: &str| {
        client().get(s.url(path)).header("content-type", "application/json").header("charset", "utf-8").send()
    };
    let r: Value = pytero(
        "/api/v2/accounts?order_by=account_id&direction=desc&page=0&include_inactive=False&include=N%2Co%2Cn%2Ce",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&r, "account_id"), ["A3", "A2", "A1"], "{r}");
    assert_eq!((r["order_by"].as_str(), r["direction"].as_str()), (Some("account_id"), Some("desc")));
    // include=["x"] becomes ','.join(str(["x"])): every character, commas between.
    let r = pytero("/api/v2/accounts?include=%5B%2C%27%2Cx%2C%27%2C%5D").await.unwrap();
    assert_eq!(r.status(), 200);
    let r: Value = pytero("/api/v2/accounts/A1/users?order_by=user_id&direction=desc&page=0&include_inactive=False")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&r, "user_id"), ["u3", "u2", "u1"], "{r}");
    let r: Value =
        pytero("/api/v2/accounts/A1/users?order_by=user_id&direction=asc").await.unwrap().json().await.unwrap();
    assert_eq!(ids(&r, "user_id"), ["u1", "u2", "u3"]);
    let r = pytero("/api/v2/accounts/A1").await.unwrap();
    assert_eq!(r.status(), 200);
    // `{"data": {...}}` still works beside the bare object.
    let (status, _) = send(&s, Method::PUT, "/api/v2/accounts/A1", json!({"data": {"tier": "gold"}})).await;
    assert_eq!(status, 200);
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!(a["result"]["tier"], "gold");
}
