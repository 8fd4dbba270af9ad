use serde_json::{Value, json};

use crate::*;

async fn post_events(s: &Server, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = client().post(s.events_url()).header("content-type", "application/json").body(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn line(v: Value) -> String {
    format!("{v}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_keeps_good_lines_reports_bad_ones_and_resolves_users() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    post(&s, "/api/v2/account_users", json!({"records": [{"user_id": "u1", "account_id": "A1"}]})).await;
    let t = 1_714_550_400_000_i64;
    let body = [
        line(json!({"user_id": "u1", "created_at": t, "action": "feature", "module": "reports", "feature": "export", "total": 2, "session_id": "s1"})),
        line(json!({"account_id": "A2", "user_id": "u7", "created_at": "2024-05-01T10:00:00Z", "action": "sessionSync", "active_duration": 60})),
        "{not json}\r\n".to_owned(),
        line(json!({"user_id": "u1", "action": "feature"})),
        "\n".to_owned(),
        line(json!({"user_id": "ghost", "created_at": t, "action": "feature"})),
        line(json!({"action": "identifyUser", "user_id": "u8", "account_id": "A2", "created_at": t, "details": {"email": "e@beta.io"}})),
        line(json!({"user_id": "u8", "created_at": t + 1, "action": "feature", "feature": "search"})),
    ]
    .concat();
    let (status, r) = post_events(&s, body.clone()).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["received"], 7);
    assert_eq!(r["stored"], 4, "{r}");
    assert_eq!(r["quarantined"], 1, "the ghost user waits in the quarantine");
    let failed = r["failed_lines"].as_array().unwrap();
    assert_eq!(failed.iter().map(|f| f["line"].as_u64().unwrap()).collect::<Vec<_>>(), vec![3, 4]);
    assert!(failed[1]["message"].as_str().unwrap().contains("created_at"), "{r}");

    // The same body again: nothing new, nothing double-counted.
    let (_, again) = post_events(&s, body).await;
    assert_eq!((again["stored"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(4)), "{again}");
    let usage = s.hub.store.usage("A1", t - 1, t + 86_400_000).unwrap();
    assert_eq!((usage.events, usage.feature_total), (1, 2.0));
    let usage = s.hub.store.usage("A2", t - 1, t + 86_400_000 * 2).unwrap();
    assert_eq!(usage.events, 3, "sessionSync, identifyUser and u8's feature through the learned mapping");

    // The ghost user arrives: its quarantined event links and counts.
    post(&s, "/api/v2/account_users", json!({"records": [{"user_id": "ghost", "account_id": "A1"}]})).await;
    assert_eq!(s.hub.store.usage("A1", t - 1, t + 86_400_000).unwrap().events, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_gzip_and_crlf_are_accepted() {
    let s = Server::start().await;
    post(&s, "/api/v2/accounts", accounts_body()).await;
    let t = 1_714_550_400_000_i64;
    let array = json!([{"account_id": "A1", "created_at": t, "action": "feature"}, {"account_id": "A1", "created_at": t + 1, "action": "feature"}]);
    let (_, r) = post_events(&s, array.to_string()).await;
    assert_eq!(r["stored"], 2);
    let crlf = format!(
        "{}\r\n{}\r\n",
        json!({"account_id": "A1", "created_at": t + 2}),
        json!({"account_id": "A1", "created_at": t + 3})
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, crlf.as_bytes()).unwrap();
    let r = client()
        .post(s.events_url())
        .header("content-encoding", "gzip")
        .body(enc.finish().unwrap())
        .send()
        .await
        .unwrap();
    let r: Value = r.json().await.unwrap();
    assert_eq!(r["stored"], 2, "{r}");
    let (status, _) = post_events(&s, "   \n").await;
    assert_eq!(status, 400);
    let metrics = client().get(s.bare("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("accord_events_ingested_total{source=\"product\",outcome=\"stored\"} 4"), "{metrics}");
}
