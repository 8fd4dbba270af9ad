use reqwest::Method;
use serde_json::{Value, json};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_round_trip_with_natero_shapes() {
    let s = Server::start().await;
    let (status, body) = post(&s, "/api/v2/accounts", accounts_body()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status_is_ok": true, "stored": 2, "failed_results": []}));

    let (status, list) = get(&s, "/api/v2/accounts?order_by=name&direction=desc&page=0").await;
    assert_eq!(status, 200);
    assert_eq!(list["status_is_ok"], true);
    assert_eq!(list["current_page"], 0);
    assert_eq!(list["max_page_size"], 1000);
    assert_eq!(list["order_by"], "name");
    assert_eq!(list["direction"], "desc");
    let ids: Vec<&str> =
        list["results"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["A2", "A1"]);

    let (status, one) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!(status, 200);
    let a = &one["result"];
    assert_eq!(a["join_date"], 1598907978483_i64, "dates go out as epoch ms");
    assert_eq!(a["tier"], "gold", "fields are kept as given");
    assert_eq!(a["is_active"], true);
    let (_, beta) = get(&s, "/api/v2/accounts/A2").await;
    assert_eq!(beta["result"]["join_date"], 1609804800000_i64, "ISO-8601 accepted, epoch ms returned");

    let (status, put) = send(&s, Method::PUT, "/api/v2/accounts/A1", json!({"data": {"tier": "platinum"}})).await;
    assert_eq!((status, &put["failed_results"]), (200, &json!([])));
    let (_, one) = get(&s, "/api/v2/accounts/A1").await;
    assert_eq!((one["result"]["tier"].as_str(), one["result"]["name"].as_str()), (Some("platinum"), Some("Acme")));

    let (status, _) = send(&s, Method::PUT, "/api/v2/accounts/NOPE", json!({"data": {}})).await;
    assert_eq!(status, 404);

    let (status, _) = send(&s, Method::DELETE, "/api/v2/accounts/A2", Value::Null).await;
    assert_eq!(status, 200);
    let (_, active) = get(&s, "/api/v2/accounts").await;
    assert_eq!(active["total"], 1);
    let (_, all) = get(&s, "/api/v2/accounts?include_inactive=1").await;
    assert_eq!(all["total"], 2);
    let (_, not_all) = get(&s, "/api/v2/accounts?include_inactive=0").await;
    assert_eq!(not_all["total"], 1, "\"0\" is false");
    let (status, _) = get(&s, "/api/v2/accounts/NOPE").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_results_name_the_record_and_the_rest_is_stored() {
    let s = Server::start().await;
    let batch = json!({"records": [
        {"account_id": "A1", "name": "Acme", "join_date": 1598907978483_i64},
        {"account_id": "rei_2", "name": "No date"},
        "not an object",
        {"account_id": "A4", "name": "Bad date", "join_date": "yesterday"},
        {"account_id": 12.5, "name": "Float id", "join_date": 1},
        {"account_id": 1005, "name": "Numeric id", "join_date": 1},
    ]});
    let (status, body) = post(&s, "/api/v2/accounts", batch).await;
    assert_eq!(status, 200);
    assert_eq!(body["status_is_ok"], true);
    assert_eq!(body["stored"], 2);
    let failed = body["failed_results"].as_array().unwrap();
    let by_index = |i: u64| failed.iter().find(|f| f["record"] == i).unwrap_or_else(|| panic!("record {i}: {body}"));
    assert_eq!(by_index(1)["message"], "Missing/invalid required field(s) for Accounts insert: 'join_date'");
    assert_eq!(by_index(1)["account_id"], "rei_2");
    assert_eq!(by_index(2)["reason"], "invalid_field");
    assert_eq!(by_index(3)["message"], "Invalid type for property: join_date (expecting timestamp)");
    assert_eq!(by_index(4)["message"], "Missing/invalid required field(s) for Accounts insert: 'account_id'");
    assert_eq!(failed.len(), 4);
    let (status, _) = get(&s, "/api/v2/accounts/1005").await;
    assert_eq!(status, 200, "an integral number id is stored as integer text");
    // Nothing is lost: the failed records are in the quarantine.
    let (_, q) = get(&s, "/api/v2/rejections?source=api&object=accounts").await;
    assert_eq!(q["total"], 4);
    // A body that is not a batch fails as a whole.
    let (status, err) = post(&s, "/api/v2/accounts", json!({"data": []})).await;
    assert_eq!(status, 400);
    assert_eq!(err["status_is_ok"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_an_unknown_account_links_when_the_account_arrives() {
    let s = Server::start().await;
    let users = json!({"records": [
        {"user_id": "u1", "account_id": "A9", "email": "ann@acme.io", "first_name": "Ann"},
        {"account_id": "A9", "email": "nouser@acme.io"},
    ]});
    let (status, body) = post(&s, "/api/v2/account_users", users).await;
    assert_eq!(status, 200);
    let failed = body["failed_results"].as_array().unwrap();
    assert_eq!(
        failed[0],
        json!({"message": "Account not found", "account_id": "A9", "user_id": "u1", "record": 0, "reason": "unknown_account"})
    );
    assert_eq!(failed[1]["message"], "Missing/invalid required field(s) for Users insert: 'user_id'");
    let (status, _) = get(&s, "/api/v2/account_users/u1").await;
    assert_eq!(status, 404, "not linked yet");

    let (_, body) =
        post(&s, "/api/v2/accounts", json!({"records": [{"account_id": "A9", "name": "Nine", "join_date": 1}]})).await;
    assert_eq!(body["stored"], 1);
    let (status, user) = get(&s, "/api/v2/account_users/u1").await;
    assert_eq!(status, 200, "linked by itself once the account arrived");
    assert_eq!(user["results"][0]["account_id"], "A9");
    assert_eq!(user["results"][0]["first_name"], "Ann");
    let (_, users) = get(&s, "/api/v2/accounts/A9/users").await;
    assert_eq!(users["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_contacts_and_metrics_routes() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let (_, body) = post(
        &s,
        "/api/v2/account_users",
        json!({"records": [
        {"user_id": "u1", "account_id": "A1", "email": "a@acme.io"},
        {"user_id": "u2", "account_id": "A2", "email": "b@beta.io"}]}),
    )
    .await;
    assert_eq!(body["stored"], 2);
    let (_, list) = get(&s, "/api/v2/account_users?page=0").await;
    assert_eq!(list["total"], 2);
    let (status, _) = get(&s, "/api/v2/account_users/u1/A1").await;
    assert_eq!(status, 200);
    let (status, _) = get(&s, "/api/v2/account_users/u1/A2").await;
    assert_eq!(status, 404);
    let (_, put) = send(&s, Method::PUT, "/api/v2/account_users/u1", json!({"data": {"role": "admin"}})).await;
    assert_eq!(put["stored"], 1);
    let (_, u1) = get(&s, "/api/v2/account_users/u1").await;
    assert_eq!(
        (u1["results"][0]["role"].as_str(), u1["results"][0]["email"].as_str()),
        (Some("admin"), Some("a@acme.io"))
    );
    let (_, moved) = send(&s, Method::PUT, "/api/v2/account_users/u1/A2", json!({"data": {}})).await;
    assert_eq!(moved["stored"], 1);
    let (_, in_a2) = get(&s, "/api/v2/accounts/A2/users").await;
    assert_eq!(in_a2["total"], 2);
    let (status, _) = send(&s, Method::DELETE, "/api/v2/account_users/u2/A2", Value::Null).await;
    assert_eq!(status, 200);
    let (_, active) = get(&s, "/api/v2/accounts/A2/users").await;
    assert_eq!(active["total"], 1);
    let (_, with_inactive) = get(&s, "/api/v2/accounts/A2/users?include_inactive=true").await;
    assert_eq!(with_inactive["total"], 2);
    let (status, _) = send(&s, Method::DELETE, "/api/v2/account_users/nobody", Value::Null).await;
    assert_eq!(status, 404);

    let (_, c) = post(
        &s,
        "/api/v2/account_contacts",
        json!({"records": [
        {"account_id": "A1", "email": "Boss@Acme.io", "is_primary": true},
        {"account_id": "ZZ", "email": "x@zz.io"}]}),
    )
    .await;
    assert_eq!(c["stored"], 1);
    assert_eq!(c["failed_results"][0]["message"], "Account not found");
    let (_, contacts) = get(&s, "/api/v2/account_contacts").await;
    assert_eq!(contacts["results"][0]["contact_id"], "boss@acme.io");
    let (_, a1c) = get(&s, "/api/v2/accounts/A1/contacts").await;
    assert_eq!(a1c["total"], 1);

    let (_, m) = post(
        &s,
        "/api/v2/metrics",
        json!({"records": [
        {"account_id": "A1", "name": "seats", "value": 12, "date": "2024-05-01"},
        {"account_id": "NOPE", "name": "seats", "value": 1},
        {"account_id": "A1", "value": 1}]}),
    )
    .await;
    assert_eq!(m["stored"], 1);
    assert_eq!(m["failed_results"][0]["message"], "Account not found");
    assert_eq!(m["failed_results"][1]["message"], "Missing/invalid required field(s) for Metrics insert: 'name'");
    let (_, list) = get(&s, "/api/v2/metrics?name=seats").await;
    assert_eq!(list["results"][0]["value"], 12.0);
    assert_eq!(list["results"][0]["date"], 1714521600000_i64);
    let (_, am) = get(&s, "/api/v2/accounts/A1/metrics").await;
    assert_eq!(am["total"], 1);
    for path in ["support_tickets", "subscriptions", "statements"] {
        let (status, body) = get(&s, &format!("/api/v2/accounts/A1/{path}")).await;
        assert_eq!((status, body["total"].as_u64()), (200, Some(0)), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_api_360_rejections_retry_and_sources() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    post(
        &s,
        "/api/v2/account_users",
        json!({"records": [{"user_id": "u1", "account_id": "A1"}, {"user_id": "u9", "account_id": "a1"}]}),
    )
    .await;
    let events = "{\"user_id\":\"u1\",\"created_at\":".to_owned()
        + &(chrono::Utc::now().timestamp_millis() - 3_600_000).to_string()
        + ",\"action\":\"feature\",\"module\":\"reports\",\"feature\":\"export\",\"total\":3,\"session_id\":\"s1\"}\n";
    let r = client().post(s.events_url()).body(events).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let (status, v) = get(&s, "/api/v2/accounts/A1/360").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["account"]["account_id"], "A1");
    assert_eq!(v["usage_30d"]["events"], 1);
    assert_eq!(v["usage_30d"]["feature_total"], 3.0);
    assert_eq!((v["dau"].as_u64(), v["mau"].as_u64()), (Some(1), Some(1)));
    assert_eq!(v["records"]["user"][0]["link"]["rule"], "field");
    assert_eq!(v["records"]["user"][0]["source"], "api");
    let near = v["account"]["rejections_near"].as_array().unwrap();
    assert_eq!(near.len(), 1, "u9's account id \"a1\" differs only in case: {v}");
    let (status, _) = get(&s, "/api/v2/accounts/NOPE/360").await;
    assert_eq!(status, 404);

    let (_, rej) = get(&s, "/api/v2/rejections?reason=unknown_account&page=0&page_size=10").await;
    assert_eq!(rej["total"], 1);
    assert_eq!(rej["results"][0]["rejection"]["hints"][0]["hint"], "case_only");
    let (status, _) = get(&s, "/api/v2/rejections?reason=nonsense").await;
    assert_eq!(status, 400);
    let (status, retry) = post(&s, "/api/v2/rejections/retry", json!({"source": "api"})).await;
    assert_eq!(status, 200);
    assert_eq!(retry["report"]["retried"], 1);

    let (_, sources) = get(&s, "/api/v2/sources").await;
    let api = sources.as_array().unwrap().iter().find(|s| s["source"] == "api").unwrap();
    let users = api["objects"].as_array().unwrap().iter().find(|o| o["object"] == "users").unwrap();
    assert_eq!((users["linked"].as_u64(), users["rejected"].as_u64()), (Some(1), Some(1)));
    assert!(sources.as_array().unwrap().iter().any(|s| s["source"] == "product" && s["kind"] == "events"));
    // No schedule, nobody syncing: both absent.
    let crm = sources.as_array().unwrap().iter().find(|s| s["source"] == "crm").unwrap();
    assert_eq!((&crm["schedule"], &crm["next_run"], &crm["running"]), (&Value::Null, &Value::Null, &Value::Null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_required_and_wrong_keys_say_nothing_more() {
    let s = Server::start().await;
    let c = client();
    let r = c.get(s.bare("/api/v2/accounts")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["status_is_ok"].as_bool(), body["error"].as_str()), (Some(false), Some("unauthorized")));
    let r = c.get(s.bare("/api/v2/accounts?api_key=wrong")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = c.get(s.bare("/api/v2/accounts")).basic_auth("api", Some(KEY)).send().await.unwrap();
    assert_eq!(r.status(), 200, "HTTP Basic with user api");
    let r = c.get(s.bare("/api/v2/accounts")).basic_auth("admin", Some(KEY)).send().await.unwrap();
    assert_eq!(r.status(), 401, "only user api carries the key");
    for url in [format!("http://{}/v1/{AUTH}/wrong", s.addr), format!("http://{}/v1/wrong/{SEND}", s.addr)] {
        let r = c.post(url).body("{}").send().await.unwrap();
        assert_eq!(r.status(), 403);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["message"], "the credentials are not valid", "never which part");
    }
    let r = c.get(s.bare("/api/v2/rejections")).send().await.unwrap();
    assert_eq!(r.status(), 401, "accord's own API needs the key too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_and_big_bodies_get_clear_errors() {
    let s = Server::start_with(10_000).await;
    let c = client();
    let r = c.post(s.url("/api/v2/accounts")).body("{\"records\": [").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("not valid JSON"), "{body}");
    let big = format!("{{\"records\": [{}]}}", vec!["{\"account_id\":\"x\"}"; 1000].join(","));
    let r = c.post(s.url("/api/v2/accounts")).body(big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
    assert!(body["message"].as_str().unwrap().contains("10000"), "{body}");
    // A gzip bomb is cut at the limit too.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &vec![b' '; 1_000_000]).unwrap();
    let r = c.post(s.events_url()).header("content-encoding", "gzip").body(enc.finish().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let r = c.get(s.url("/api/v2/nothing/here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(s.url("/api/v2/accounts?page=minus-one")).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_openapi_document() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let c = client();
    let r = c.get(s.bare("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = c.get(s.bare("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("accord_http_requests_total{method=\"POST\",route=\"/api/v2/accounts\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("accord_http_request_duration_seconds_bucket"), "{text}");
    assert!(!text.contains(KEY), "keys never reach the metrics");
    let doc: Value = c.get(s.bare("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v2/accounts", vec!["get", "post"]),
        ("/api/v2/accounts/{account_id}", vec!["get", "put", "delete"]),
        ("/api/v2/accounts/{account_id}/users", vec!["get"]),
        ("/api/v2/accounts/{account_id}/contacts", vec!["get"]),
        ("/api/v2/accounts/{account_id}/support_tickets", vec!["get"]),
        ("/api/v2/accounts/{account_id}/subscriptions", vec!["get"]),
        ("/api/v2/accounts/{account_id}/statements", vec!["get"]),
        ("/api/v2/accounts/{account_id}/metrics", vec!["get"]),
        ("/api/v2/accounts/{account_id}/360", vec!["get"]),
        ("/api/v2/account_users", vec!["get", "post"]),
        ("/api/v2/account_users/{user_id}", vec!["get", "put", "delete"]),
        ("/api/v2/account_users/{user_id}/{account_id}", vec!["get", "put", "delete"]),
        ("/api/v2/account_contacts", vec!["get", "post"]),
        ("/api/v2/metrics", vec!["get", "post"]),
        ("/api/v2/rejections", vec!["get"]),
        ("/api/v2/rejections/retry", vec!["post"]),
        ("/api/v2/sources", vec!["get"]),
        ("/v1/{auth_key}/{api_key}", vec!["post"]),
    ] {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing from the OpenAPI document"));
        for m in methods {
            assert!(item.get(m).is_some(), "{m} {path} missing from the OpenAPI document");
        }
    }
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    // The sources' schedule, next run and run-lock holder are in the document as they are sent.
    let source = &doc["components"]["schemas"]["SourceInfo"]["properties"];
    assert_eq!(source["next_run"]["format"], "date-time", "{source}");
    assert!(source["schedule"].is_object() && source["running"].is_object(), "{source}");
    let running = &doc["components"]["schemas"]["RunningInfo"];
    assert_eq!(running["required"], json!(["holder", "since"]), "{running}");
}
