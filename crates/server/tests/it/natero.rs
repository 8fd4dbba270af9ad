//! Natero drop-in behaviour, item by item: trailing slashes, ordering, the client's `source`,
//! nested account fields, one product user per `user_id`, Event API hardening, query errors in our
//! shape, and which routes are open.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::*;

/// Every documented operation, with its path parameters filled in.
async fn operations(s: &Server) -> Vec<(Method, String)> {
    let doc: Value = client().get(s.bare("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let filled: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { if seg.contains("timestamp") { "1000" } else { "x" } } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase().parse().unwrap(), filled.clone()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_method_takes_a_trailing_slash() {
    let s = Server::start().await;
    let ops = operations(&s).await;
    assert!(ops.len() >= 36, "{ops:?}");
    for (method, path) in ops {
        let (plain, a) = send(&s, method.clone(), &path, json!({})).await;
        let (slashed, b) = send(&s, method.clone(), &format!("{path}/"), json!({})).await;
        assert_eq!(plain, slashed, "{method} {path}: {a} vs {b}");
        assert_ne!(b["message"], "no such route", "{method} {path}/");
    }
    let (status, body) = send(&s, Method::PATCH, "/api/v2/accounts/", Value::Null).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")), "in our error shape");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_route_honours_order_by_and_direction() {
    let s = Server::start().await;
    post(
        &s,
        "/api/v2/accounts",
        json!({"records": [
            {"account_id": "A1", "name": "Zed", "join_date": 3}, {"account_id": "A2", "name": "Ann", "join_date": 1}]}),
    )
    .await;
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [
            {"user_id": "u1", "account_id": "A1", "email": "c@x.io"}, {"user_id": "u2", "account_id": "A1", "email": "a@x.io"},
            {"user_id": "u3", "account_id": "A1", "email": "b@x.io"}]}),
    )
    .await;
    post(
        &s,
        "/api/v2/account_contacts",
        json!({"records": [{"account_id": "A1", "email": "b@x.io"}, {"account_id": "A1", "email": "a@x.io"}]}),
    )
    .await;
    post(
        &s,
        "/api/v2/metrics",
        json!({"records": [
            {"account_id": "A1", "name": "seats", "value": 3}, {"account_id": "A1", "name": "nps", "value": 9}]}),
    )
    .await;
    let field = |v: &Value, f: &str| -> Vec<Value> {
        v["results"].as_array().unwrap_or_else(|| panic!("{v}")).iter().map(|r| r[f].clone()).collect()
    };
    for (path, f, asc) in [
        ("/api/v2/accounts?order_by=name", "name", json!(["Ann", "Zed"])),
        ("/api/v2/accounts?order_by=join_date", "account_id", json!(["A2", "A1"])),
        ("/api/v2/account_users?order_by=email", "user_id", json!(["u2", "u3", "u1"])),
        ("/api/v2/account_users?order_by=user_id", "user_id", json!(["u1", "u2", "u3"])),
        ("/api/v2/accounts/A1/users?order_by=email", "user_id", json!(["u2", "u3", "u1"])),
        ("/api/v2/account_users/u1?order_by=user_id", "user_id", json!(["u1"])),
        ("/api/v2/account_contacts?order_by=email", "email", json!(["a@x.io", "b@x.io"])),
        ("/api/v2/accounts/A1/contacts?order_by=contact_id", "email", json!(["a@x.io", "b@x.io"])),
        ("/api/v2/metrics?order_by=value", "name", json!(["seats", "nps"])),
        ("/api/v2/accounts/A1/metrics?order_by=name", "name", json!(["nps", "seats"])),
    ] {
        let (status, up) = get(&s, &format!("{path}&direction=asc")).await;
        assert_eq!(status, 200, "{path}: {up}");
        assert_eq!(Value::Array(field(&up, f)), asc, "{path} asc");
        let (_, down) = get(&s, &format!("{path}&direction=DESC")).await;
        let mut desc = asc.as_array().unwrap().clone();
        desc.reverse();
        assert_eq!(field(&down, f), desc, "{path} desc");
        assert_eq!(down["direction"], "desc");
        let (_, empty) = get(&s, &format!("{path}&direction=")).await;
        assert_eq!(Value::Array(field(&empty, f)), asc, "{path}: an empty direction is asc");
    }
    for list in
        ["/api/v2/accounts/A1/support_tickets", "/api/v2/accounts/A1/subscriptions", "/api/v2/accounts/A1/statements"]
    {
        let (status, r) = get(&s, &format!("{list}?order_by=created_at&direction=desc")).await;
        assert!(status == 200 || r["message"].as_str().is_some_and(|m| m.contains("order_by")), "{list}: {r}");
        let (status, r) = get(&s, &format!("{list}?order_by=account_id&direction=desc")).await;
        assert_eq!(status, 200, "{list}: {r}");
    }
    let (status, err) = get(&s, "/api/v2/account_users?order_by=shoe_size").await;
    assert_eq!(status, 400);
    let m = err["message"].as_str().unwrap();
    assert!(m.contains("shoe_size") && m.contains("user_id") && m.contains("email"), "{m}");
    let (status, err) = get(&s, "/api/v2/accounts?direction=sideways").await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("direction"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_is_the_clients_field() {
    let s = Server::start().await;
    post(
        &s,
        "/api/v2/accounts",
        json!({"records": [{"account_id": "A1", "name": "Acme", "join_date": 1, "source": "salesforce"}]}),
    )
    .await;
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!(
        (a["result"]["source"].as_str(), a["result"]["accord_origin"].as_str()),
        (Some("salesforce"), Some("api/accounts"))
    );
    let (_, list) = get(&s, "/api/v2/accounts").await;
    assert_eq!(list["results"][0]["source"], "salesforce");
    send(&s, Method::PUT, "/api/v2/accounts/A1", json!({"source": "hubspot"})).await;
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!(a["result"]["source"], "hubspot", "the client changes it, accord does not");
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [{"user_id": "u1", "account_id": "A1", "source": "intercom"}]}),
    )
    .await;
    let (_, u) = get(&s, "/api/v2/account_users/u1").await;
    assert_eq!(
        (u["results"][0]["source"].as_str(), u["results"][0]["accord_origin"].as_str()),
        (Some("intercom"), Some("api/users"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_fields_merge_by_entry_and_live_apart_from_the_account() {
    let s = Server::start().await;
    let first = json!({"records": [{"account_id": "A1", "name": "Acme", "join_date": 1,
        "custom_value_dimensions": [{"key": "seats", "value": 10}, {"key": "users", "value": 4}],
        "custom_event_dimensions": [{"key": "renewed", "value": 1614367426004_i64}],
        "documents": [{"name": "MSA", "url": "https://x.io/msa", "description": "contract"}],
        "stage_history": [{"name": "live", "start_date": 3000}, {"name": "onboarding", "start_date": "1970-01-01T00:00:01Z"}],
        "nps_history": [{"nps_score": 9, "date": 10000, "username": "ann", "survey_name": "q1", "comments": "good"}]}]});
    let (_, r) = post(&s, "/api/v2/accounts", first).await;
    assert_eq!(r["failed_results"], json!([]), "{r}");
    // The account again without nested fields, one dimension changed: the rest stays.
    let again = json!({"records": [{"account_id": "A1", "name": "Acme Inc", "join_date": 1,
        "custom_value_dimensions": [{"key": "seats", "value": 12}], "assigned_csms": [{"email": "CSM@acme.io"}]}]});
    post(&s, "/api/v2/accounts", again).await;
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    let a = &a["result"];
    assert_eq!(a["name"], "Acme Inc");
    assert_eq!(a["custom_value_dimensions"], json!([{"key": "seats", "value": 12}, {"key": "users", "value": 4}]));
    assert_eq!(a["custom_label_dimensions"], json!([]));
    assert_eq!(a["custom_event_dimensions"][0]["value"], 1614367426004_i64);
    assert_eq!(a["assigned_csms"], json!([{"email": "CSM@acme.io"}]));
    assert_eq!(a["documents"][0]["name"], "MSA");
    let stages: Vec<&str> =
        a["stage_history"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(stages, ["onboarding", "live"], "oldest first");
    assert_eq!(a["nps_history"][0]["comments"], "good");

    // Lists carry nested fields only when named in include.
    let (_, list) = get(&s, "/api/v2/accounts").await;
    assert!(list["results"][0].get("custom_value_dimensions").is_none(), "{list}");
    let (_, list) = get(&s, "/api/v2/accounts?include=assigned_csms,nonsense").await;
    assert_eq!(list["results"][0]["assigned_csms"][0]["email"], "CSM@acme.io");
    assert!(list["results"][0].get("nps_history").is_none());

    // The ISO start of a stage is named by its epoch ms; the CSM's email in any case.
    let (status, _) = send(&s, Method::DELETE, "/api/v2/accounts/A1/stage_history/onboarding/1000", Value::Null).await;
    assert_eq!(status, 200);
    let (status, _) = send(&s, Method::DELETE, "/api/v2/accounts/A1/assigned_csms/csm@ACME.io", Value::Null).await;
    assert_eq!(status, 200);
    let (status, err) = send(&s, Method::DELETE, "/api/v2/accounts/A1/stage_history/live/9", Value::Null).await;
    assert_eq!(status, 404);
    assert!(err["message"].as_str().unwrap().contains("\"live\" starting at 9"), "{err}");
    let (status, err) = send(&s, Method::DELETE, "/api/v2/accounts/A1/nps_history/yesterday", Value::Null).await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("timestamp"), "{err}");
    let (status, err) = send(&s, Method::DELETE, "/api/v2/accounts/NOPE/dimension_values/seats", Value::Null).await;
    assert_eq!((status, err["message"].as_str()), (404, Some("Account not found")));

    // A malformed entry fails its record, naming the field; the record is kept in the quarantine.
    let bad =
        json!({"records": [{"account_id": "A2", "name": "Bad", "join_date": 1, "stage_history": [{"name": "x"}]}]});
    let (_, r) = post(&s, "/api/v2/accounts", bad).await;
    assert_eq!(r["stored"], 0);
    let m = r["failed_results"][0]["message"].as_str().unwrap();
    assert!(m.contains("stage_history[0]") && m.contains("start_date"), "{m}");
    let (status, _) = get(&s, "/api/v2/accounts/A2").await;
    assert_eq!(status, 404);

    // A record that is rejected (no name) stores none of its nested entries: they are written in
    // the same transaction as the account they belong to, and only with it.
    let rejected = json!({"records": [{"account_id": "A3", "join_date": 1,
        "custom_value_dimensions": [{"key": "seats", "value": 1}]}]});
    let (_, r) = post(&s, "/api/v2/accounts", rejected).await;
    assert_eq!(r["stored"], 0, "{r}");
    let entries = s.hub.store.account_entries(&["A3".to_owned()]).unwrap();
    assert!(entries.is_empty(), "{entries:?}");
}

/// Writes a user the way an event source did before users were merged (`product/users`).
async fn legacy_event_user(s: &Server, user: Value) {
    let hub = s.hub.clone();
    tokio::task::spawn_blocking(move || {
        let plan = hub.plan.stream("product", "users").cloned().unwrap();
        let item = accord_connectors::Item::Record(accord_connectors::RawRecord {
            data: user,
            location: None,
            identity: None,
        });
        hub.ingest_group(vec![(plan, vec![item], false).into()]).unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_user_and_an_identify_user_event_are_one_user() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let t = chrono::Utc::now().timestamp_millis() - 60_000;
    let identify = |user: &str, account: Option<&str>, details: Value| {
        let mut e =
            json!({"action": "identifyUser", "user_id": user, "created_at": t, "session_id": "s", "details": details});
        if let Some(a) = account {
            e["account_id"] = json!(a);
        }
        format!("{e}\n")
    };
    // Posted first, then identified.
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [{"user_id": "u1", "account_id": "A1", "email": "ann@acme.io"}]}),
    )
    .await;
    let r = client()
        .post(s.events_url())
        .body(identify("u1", Some("A1"), json!({"first_name": "Ann"})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Identified first (an event without account_id says nothing of an unknown user), then posted.
    client().post(s.events_url()).body(identify("u2", None, json!({"title": "nobody"}))).send().await.unwrap();
    client().post(s.events_url()).body(identify("u2", Some("A2"), json!({"title": "CTO"}))).send().await.unwrap();
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [{"user_id": "u2", "account_id": "A2", "email": "bo@beta.io"}]}),
    )
    .await;
    // An event naming only the user merges onto the stored one.
    client().post(s.events_url()).body(identify("u1", None, json!({"role": "admin"}))).send().await.unwrap();

    let (_, all) = get(&s, "/api/v2/account_users").await;
    assert_eq!(all["total"], 2, "one row per user: {all}");
    let (_, u1) = get(&s, "/api/v2/account_users/u1").await;
    let u = &u1["results"][0];
    assert_eq!(
        (u["email"].as_str(), u["first_name"].as_str(), u["role"].as_str(), u["account_id"].as_str()),
        (Some("ann@acme.io"), Some("Ann"), Some("admin"), Some("A1"))
    );
    let (_, u2) = get(&s, "/api/v2/account_users/u2/A2").await;
    assert_eq!(
        (u2["results"][0]["title"].as_str(), u2["results"][0]["email"].as_str()),
        (Some("CTO"), Some("bo@beta.io"))
    );
    let (_, none) = get(&s, "/api/v2/rejections?object=users").await;
    assert_eq!(none["total"], 0, "no user without an account was kept: {none}");

    // A copy an event source wrote before the merge goes with the user.
    legacy_event_user(&s, json!({"user_id": "u1", "account_id": "A1", "title": "old"})).await;
    let (_, both) = get(&s, "/api/v2/account_users/u1").await;
    assert_eq!(both["total"], 2);
    let (status, _) = send(&s, Method::DELETE, "/api/v2/account_users/u1/A1", Value::Null).await;
    assert_eq!(status, 200);
    let (_, gone) = get(&s, "/api/v2/accounts/A1/users").await;
    assert_eq!(gone["total"], 0, "every copy deactivated: {gone}");
    let (_, kept) = get(&s, "/api/v2/accounts/A1/users?include_inactive=1").await;
    assert_eq!(kept["total"], 2, "deactivated, not dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_takes_a_bare_object_or_the_data_wrapper() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let (status, _) = send(&s, Method::PUT, "/api/v2/accounts/A1", json!({"tier": "silver"})).await;
    assert_eq!(status, 200);
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!(a["result"]["tier"], "silver");
    send(&s, Method::PUT, "/api/v2/accounts/A1", json!({"data": {"tier": "gold"}})).await;
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!(a["result"]["tier"], "gold");
    // `data` beside other fields is a field like any other.
    send(&s, Method::PUT, "/api/v2/accounts/A1", json!({"data": {"x": 1}, "tier": "iron"})).await;
    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!((a["result"]["tier"].as_str(), &a["result"]["data"]), (Some("iron"), &json!({"x": 1})));
    let (status, err) = send(&s, Method::PUT, "/api/v2/accounts/A1", json!(["tier"])).await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("JSON object"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_event_keys_are_refused_before_the_body_is_read() {
    let s = Server::start().await;
    // Promise a large body and send none: a server that read it first would wait.
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /v1/{AUTH}/wrong HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 16000000\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("answered without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(text.contains("the credentials are not valid"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_encodings_are_415_and_a_broken_array_is_400_with_its_position() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    for encoding in ["deflate", "br", "compress, gzip"] {
        let r = client().post(s.events_url()).header("content-encoding", encoding).body("x").send().await.unwrap();
        assert_eq!(r.status(), 415, "{encoding}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_media_type");
        assert!(body["message"].as_str().unwrap().contains(encoding), "{body}");
    }
    let r = client().post(s.url("/api/v2/accounts")).header("content-encoding", "br").body("{}").send().await.unwrap();
    assert_eq!(r.status(), 415, "the Account API too");
    let t = 1_714_550_400_000_i64;
    let ok = client()
        .post(s.events_url())
        .header("content-encoding", "identity")
        .body(format!("{}\n", json!({"account_id": "A1", "created_at": t})))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let broken = format!(
        "[{},\n  {{\"account_id\": \"A1\" \"created_at\": {t}}}]",
        json!({"account_id": "A1", "created_at": t + 1})
    );
    let r = client().post(s.events_url()).body(broken).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("line 2, column 23"), "{body}");
    assert_eq!(s.hub.store.usage("A1", t, t + 10).unwrap().events, 1, "nothing of the broken array was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_errors_are_json_and_name_the_parameter() {
    let s = Server::start().await;
    for (path, name) in [
        ("/api/v2/accounts?page=-1", "page"),
        ("/api/v2/accounts?page=4294967296", "page"),
        ("/api/v2/accounts?limit=0", "limit"),
        ("/api/v2/account_users?limit=1001", "limit"),
        ("/api/v2/metrics?limit=5000", "limit"),
        ("/api/v2/rejections?page_size=0", "page_size"),
        ("/api/v2/accounts/A1/360?per_kind=abc", "per_kind"),
    ] {
        let r = client().get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "bad_request");
        assert!(body["message"].as_str().unwrap().contains(name), "{path}: {body}");
    }
    let (status, r) = get(&s, "/api/v2/accounts?page=0&limit=2&direction=").await;
    assert_eq!((status, r["max_page_size"].as_u64()), (200, Some(2)));
    let (status, _) = post(&s, "/api/v2/rejections/retry", json!([null])).await;
    assert_eq!(status, 400, "a filter is an object");
    let (status, _) = post(&s, "/api/v2/rejections/retry", Value::Null).await;
    assert_eq!(status, 200, "null is no filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_health_the_document_metrics_and_signed_webhooks_are_open() {
    let s = Server::start().await;
    for open in ["/healthz", "/api/openapi.json", "/metrics"] {
        let r = client().get(s.bare(open)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{open}");
    }
    for (method, path) in operations(&s).await {
        let r = client().request(method.clone(), s.bare(&path)).body("{}").send().await.unwrap();
        // The Event API's keys are in its path; a webhook takes its vendor's signature instead
        // of a key, and a source without a `webhook` table takes none (`webhooks.rs` tests the
        // signatures: 401 without one).
        let expected = if path.starts_with("/v1/") {
            403
        } else if path.starts_with("/webhooks/") {
            404
        } else {
            401
        };
        assert_eq!(r.status(), expected, "{method} {path} without a key");
    }

    let s = Server::start_config(1024 * 1024, "metrics_key = { file = \"metrics_key\" }").await;
    let c = client();
    let r = c.get(s.bare("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.get(s.bare("/metrics")).bearer_auth(METRICS_KEY).send().await.unwrap();
    assert_eq!(r.status(), 200, "Prometheus bearer_token");
    assert!(r.text().await.unwrap().contains("accord_http_requests"));
    let r = c.get(s.bare("/metrics")).basic_auth("prometheus", Some(METRICS_KEY)).send().await.unwrap();
    assert_eq!(r.status(), 200, "Prometheus basic_auth");
    let r = c.get(s.bare("/metrics")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.status(), 403, "the API key is not the metrics key");
    let r = c.get(s.bare("/metrics?api_key=") + METRICS_KEY).send().await.unwrap();
    assert_eq!(r.status(), 401, "never in the query string, where it would be logged");
    let r = c.get(s.bare("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "health stays open");
}

/// NPS answers synced from a survey tool (shaped as Delighted's survey responses, linked by
/// `person.email` to a contact) are the account's `nps_history`, merged with what the Account
/// API wrote, oldest first, and its `current_nps_score` is the latest answer's score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synced_nps_answers_are_the_accounts_nps_history_and_current_score() {
    let survey = r#"
[sources.survey]
kind = "file"
[[sources.survey.objects]]
name = "survey_responses"
kind = "nps_response"
native_id = "id"
path = "answers.ndjson"
link = [{ rule = "email", field = "person.email" }]
fields = { email = "person.email", responded_at = "created_at" }
"#;
    let s = Server::start_config(1024 * 1024, survey).await;
    let answers = [
        json!({"id": "1", "score": 6, "comment": "slow", "created_at": 1_700_000_000, "person": {"email": "ann@acme.io"}}),
        json!({"id": "2", "score": 9, "comment": "better", "created_at": 1_700_100_000, "person": {"email": "ANN@acme.io"}}),
        json!({"id": "3", "score": 2, "created_at": 1_700_200_000, "person": {"email": "nobody@else.io"}}),
    ];
    let text: String = answers.iter().map(|a| format!("{a}\n")).collect();
    std::fs::write(s.hub.config.base_dir.join("answers.ndjson"), text).unwrap();
    let (_, r) = post(
        &s,
        "/api/v2/accounts",
        json!({"records": [
        {"account_id": "A1", "name": "Acme", "join_date": 1, "current_nps_score": 3,
         "nps_history": [{"nps_score": 3, "date": 1_600_000_000_000_i64, "username": "old", "survey_name": "2020"}]},
        {"account_id": "A2", "name": "Beta", "join_date": 1, "current_nps_score": 7}]}),
    )
    .await;
    assert_eq!(r["failed_results"], json!([]), "{r}");
    let (_, r) =
        post(&s, "/api/v2/account_contacts", json!({"records": [{"account_id": "A1", "email": "ann@acme.io"}]})).await;
    assert_eq!(r["failed_results"], json!([]), "{r}");
    let hub = s.hub.clone();
    let handle = tokio::runtime::Handle::current();
    let report = tokio::task::spawn_blocking(move || {
        let options = accord_engine::SyncOptions {
            sources: vec!["survey".into()],
            full: false,
            ..accord_engine::SyncOptions::default()
        };
        accord_engine::sync(&hub, &options, &accord_engine::sync::Quiet, &handle).unwrap()
    })
    .await
    .unwrap();
    assert!(!report.failed(), "{:?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());

    let (_, a) = get(&s, "/api/v2/accounts/A1").await;
    let a = &a["result"];
    let history = a["nps_history"].as_array().unwrap();
    let scores: Vec<i64> = history.iter().map(|e| e["nps_score"].as_i64().unwrap()).collect();
    assert_eq!(scores, [3, 6, 9], "API-written and synced answers, oldest first: {a}");
    assert_eq!(history[1]["date"], 1_700_000_000_000_i64);
    assert_eq!(history[2]["comments"], "better");
    assert_eq!(history[2]["username"], "ANN@acme.io");
    assert_eq!(history[2]["survey_name"], "survey/survey_responses");
    assert_eq!(a["current_nps_score"], 9, "the latest synced answer");
    // An account without synced answers keeps what the Account API wrote; lists say it too.
    let (_, b) = get(&s, "/api/v2/accounts/A2").await;
    assert_eq!(b["result"]["current_nps_score"], 7);
    assert_eq!(b["result"]["nps_history"], json!([]));
    let (_, list) = get(&s, "/api/v2/accounts").await;
    let scores: Vec<&Value> = list["results"].as_array().unwrap().iter().map(|r| &r["current_nps_score"]).collect();
    assert_eq!(scores, [&json!(9), &json!(7)]);
    assert!(list["results"][0].get("nps_history").is_none());
    let (_, list) = get(&s, "/api/v2/accounts?include=nps_history").await;
    assert_eq!(list["results"][0]["nps_history"].as_array().unwrap().len(), 3);
}
