//! The Zendesk emulator over real HTTP: export pagination, auth, rate limits, incremental
//! re-sync, the last-minute rule and faults.

use std::collections::BTreeSet;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::model::{self, Ticket, User};
use crate::tests::support::{client, sandbox};
use crate::{Fault, Sandbox, SandboxOptions, Schedule};

fn basic(s: &Sandbox) -> String {
    let c = s.zendesk.credentials();
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}/token:{}", c.email, c.api_token)))
}

async fn get(s: &Sandbox, url: &str) -> reqwest::Response {
    let url = if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", s.zendesk.base_url()) };
    client().get(url).header("authorization", basic(s)).send().await.unwrap()
}

/// Follows a cursor export to its end; returns the items and the last cursor.
async fn cursor_export(s: &Sandbox, resource: &str, first: &str) -> (Vec<Value>, String) {
    let mut url = first.to_owned();
    let mut items = Vec::new();
    loop {
        let res = get(s, &url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let body: Value = res.json().await.unwrap();
        items.extend(body[resource].as_array().unwrap().iter().cloned());
        let cursor = body["after_cursor"].as_str().unwrap().to_owned();
        if body["end_of_stream"] == json!(true) {
            return (items, cursor);
        }
        url = body["after_url"].as_str().unwrap().to_owned();
    }
}

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.zendesk.rate_limited = false;
    o
}

fn id_set(items: &[Value]) -> BTreeSet<u64> {
    items.iter().map(|i| i["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn exports_page_through_every_record_for_several_page_sizes() {
    let (s, company) = sandbox(unlimited()).await;
    let z = &company.zendesk;
    for per_page in [7, 100, 1000] {
        let (tickets, _) = cursor_export(
            &s,
            "tickets",
            &format!("/api/v2/incremental/tickets/cursor.json?start_time=0&per_page={per_page}"),
        )
        .await;
        assert_eq!(tickets.len(), z.tickets.len(), "no duplicates in cursor exports");
        assert_eq!(id_set(&tickets), z.tickets.iter().map(|t| t.id).collect());
        let deleted = tickets.iter().filter(|t| t["status"] == "deleted").count();
        assert_eq!(deleted, z.tickets.iter().filter(|t| t.is_deleted()).count());
        assert!(deleted > 0);
        let stamps: Vec<i64> = tickets.iter().map(|t| t["generated_timestamp"].as_i64().unwrap()).collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "exported in change order");
        let (users, _) = cursor_export(
            &s,
            "users",
            &format!("/api/v2/incremental/users/cursor.json?start_time=0&per_page={per_page}"),
        )
        .await;
        assert_eq!(users.len(), z.users.len());
        assert_eq!(id_set(&users), z.users.iter().map(|u| u.id).collect());
        // Time-based: follow next_page until end_of_stream; pages may repeat an item.
        let mut url = format!("/api/v2/incremental/organizations.json?start_time=0&per_page={per_page}");
        let mut orgs = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            let body: Value = get(&s, &url).await.json().await.unwrap();
            assert_eq!(body["count"].as_u64().unwrap() as usize, body["organizations"].as_array().unwrap().len());
            orgs.extend(body["organizations"].as_array().unwrap().iter().cloned());
            if body["end_of_stream"] == json!(true) {
                break;
            }
            url = body["next_page"].as_str().unwrap().to_owned();
            assert!(url.contains(&format!("start_time={}", body["end_time"])));
        }
        assert_eq!(id_set(&orgs), z.organizations.iter().map(|o| o.id).collect());
        assert!(pages >= z.organizations.len().div_ceil(per_page));
    }
    let (without_deleted, _) =
        cursor_export(&s, "tickets", "/api/v2/incremental/tickets/cursor.json?start_time=0&exclude_deleted=true").await;
    assert!(without_deleted.iter().all(|t| t["status"] != "deleted"));
}

/// Singer's tap-zendesk starts an export at Python's `datetime.timestamp()`, a float: Zendesk
/// takes it, by the whole second.
#[tokio::test]
async fn an_export_takes_a_fractional_start_time() {
    let (s, company) = sandbox(unlimited()).await;
    let (whole, _) =
        cursor_export(&s, "tickets", "/api/v2/incremental/tickets/cursor.json?start_time=946684800&per_page=100").await;
    let (fractional, _) =
        cursor_export(&s, "tickets", "/api/v2/incremental/tickets/cursor.json?start_time=946684800.0&per_page=100")
            .await;
    assert_eq!(id_set(&whole), id_set(&fractional));
    assert_eq!(fractional.len(), company.zendesk.tickets.len());
    let res = get(&s, "/api/v2/incremental/tickets/cursor.json?start_time=soon").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn auth_failures_answer_like_zendesk() {
    let (s, _) = sandbox(unlimited()).await;
    let url = format!("{}/api/v2/incremental/users/cursor.json?start_time=0", s.zendesk.base_url());
    let res = client().get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "error": "Couldn't authenticate you" }));
    let wrong = base64::engine::general_purpose::STANDARD.encode("sync@accord-sandbox.example/token:wrong");
    let res = client().get(&url).header("authorization", format!("Basic {wrong}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client().get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_token");
    let res = client().get(&url).bearer_auth(s.zendesk.credentials().oauth_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = get(&s, "/api/v2/tickets.json").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "error": "InvalidEndpoint", "description": "Not found" }));
    let res = get(&s, "/api/v2/incremental/tickets/cursor.json").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "start_time or cursor is required");
}

#[tokio::test]
async fn the_incremental_export_limit_answers_429_with_retry_after() {
    let mut o = SandboxOptions::default();
    o.zendesk.incremental_per_minute = 3;
    let (s, _) = sandbox(o).await;
    let url = "/api/v2/incremental/users/cursor.json?start_time=0&per_page=1";
    for n in 1..=3u32 {
        let res = get(&s, url).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-rate-limit"], "700");
        assert_eq!(res.headers()["x-rate-limit-remaining"], (700 - n).to_string().as_str());
    }
    let res = get(&s, url).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(res.headers()["x-rate-limit"], "700");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "APIRateLimitExceeded");
    assert!(body["description"].as_str().unwrap().contains("per minute"));
    let stats = s.zendesk.rate_limiter().stats();
    assert_eq!((stats.requests, stats.throttled, stats.max_in_window), (4, 1, 4));
    // With the High Volume add-on the same client stays under the limit.
    let mut o = SandboxOptions::default();
    o.zendesk.incremental_per_minute = 3;
    o.zendesk.high_volume = true;
    let (s, _) = sandbox(o).await;
    for _ in 0..4 {
        assert_eq!(get(&s, url).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_resumed_export_returns_only_changes_once_the_last_minute_has_passed() {
    let (s, company) = sandbox(unlimited()).await;
    let (_, tickets_cursor) =
        cursor_export(&s, "tickets", "/api/v2/incremental/tickets/cursor.json?start_time=0").await;
    let (_, users_cursor) = cursor_export(&s, "users", "/api/v2/incremental/users/cursor.json?start_time=0").await;
    let user = company.zendesk.users[3].id;
    s.zendesk.update::<User>(user, |u| u.email = Some("changed@example.com".into())).unwrap();
    let ticket = company.zendesk.tickets.iter().find(|t| !t.is_deleted()).unwrap().id;
    s.zendesk.delete_ticket(ticket).unwrap();
    let added = s.zendesk.insert(Ticket {
        id: 0,
        subject: "New".into(),
        status: "new".into(),
        priority: None,
        requester_id: user,
        organization_id: None,
        created_at: s.clock().now(),
        updated_at: s.clock().now(),
    });
    let resume = |resource: &str, cursor: &str| format!("/api/v2/incremental/{resource}/cursor.json?cursor={cursor}");
    let (recent, _) = cursor_export(&s, "users", &resume("users", &users_cursor)).await;
    assert!(recent.is_empty(), "items changed in the last minute are left out");
    s.clock().advance(chrono::Duration::seconds(61));
    let (users, _) = cursor_export(&s, "users", &resume("users", &users_cursor)).await;
    assert_eq!(id_set(&users), BTreeSet::from([user]));
    assert_eq!(users[0]["email"], "changed@example.com");
    let (tickets, _) = cursor_export(&s, "tickets", &resume("tickets", &tickets_cursor)).await;
    assert_eq!(id_set(&tickets), BTreeSet::from([ticket, added]));
    let deleted = tickets.iter().find(|t| t["id"] == ticket).unwrap();
    assert_eq!(deleted["status"], "deleted");
    assert!(s.truth().tombstones.iter().any(|k| k.object == "tickets" && k.native_id == ticket.to_string()));
}

#[tokio::test]
async fn faults_are_observable_over_http() {
    let (s, _) = sandbox(unlimited()).await;
    let url = "/api/v2/incremental/organizations.json?start_time=0&per_page=5";
    s.zendesk.faults().inject_on("/api/v2/incremental/organizations", Fault::RateLimited, Schedule::Next(2));
    for _ in 0..2 {
        let res = get(&s, url).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()["retry-after"], "1");
    }
    assert_eq!(get(&s, url).await.status(), StatusCode::OK);
    s.zendesk.faults().inject(Fault::Status(502), Schedule::Next(1)).inject(Fault::Truncate, Schedule::Next(1));
    assert_eq!(get(&s, url).await.status(), StatusCode::BAD_GATEWAY);
    let res = get(&s, url).await;
    assert_eq!(res.status(), StatusCode::OK, "the second rule waited its turn");
    assert!(serde_json::from_slice::<Value>(&res.bytes().await.unwrap()).is_err());
    s.zendesk.faults().inject(Fault::Drop, Schedule::Next(1));
    let url = format!("{}{url}", s.zendesk.base_url());
    assert!(client().get(&url).header("authorization", basic(&s)).send().await.is_err());
    let c = s.zendesk.faults().counts();
    assert_eq!((c.rate_limited, c.status, c.truncated, c.dropped), (2, 1, 1, 1));
    assert_eq!(s.zendesk.rate_limiter().stats().throttled, 0, "injected 429s are not the limiter's");
}

#[tokio::test]
async fn a_deleted_user_stays_in_the_export_as_inactive() {
    let mut o = SandboxOptions::unlimited();
    o.zendesk.exclude_recent = chrono::Duration::zero();
    let (s, company) = sandbox(o).await;
    let user = company.zendesk.users[0].id;
    let since = s.clock().now().timestamp();
    s.clock().advance(chrono::Duration::seconds(5));
    s.zendesk.delete_user(user).unwrap();
    s.clock().advance(chrono::Duration::seconds(5));
    let (users, _) =
        cursor_export(&s, "users", &format!("/api/v2/incremental/users/cursor.json?start_time={since}")).await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["id"], user);
    assert_eq!(users[0]["active"], false);
}

/// The lists clients read during discovery (Singer's tap-zendesk, through zenpy): each in
/// Zendesk's offset shape (`next_page`, `count`) and, with `page[size]`, its cursor shape
/// (`meta.has_more`, `meta.after_cursor`), both walking the same items.
#[tokio::test]
async fn account_lists_page_in_both_styles() {
    let (s, company) = sandbox(unlimited()).await;
    let agents = company.zendesk.users.iter().filter(|u| u.role != "end-user").count();
    assert!(agents > 1, "the generated account has agents");
    for (path, key, expected) in [
        ("/api/v2/groups", "groups", 2),
        ("/api/v2/group_memberships.json", "group_memberships", agents),
        ("/api/v2/ticket_fields", "ticket_fields", 7),
        ("/api/v2/user_fields.json", "user_fields", 0),
        ("/api/v2/organization_fields.json", "organization_fields", 1),
        ("/api/v2/ticket_forms.json", "ticket_forms", 1),
        ("/api/v2/macros", "macros", 2),
        ("/api/v2/tags", "tags", 0),
        ("/api/v2/satisfaction_ratings", "satisfaction_ratings", 0),
        ("/api/v2/slas/policies.json", "sla_policies", 1),
        ("/api/v2/channels/voice/phone_numbers.json", "phone_numbers", 0),
    ] {
        let body: Value = get(&s, path).await.json().await.unwrap();
        assert_eq!(body["count"], expected, "{path}");
        assert_eq!(body[key].as_array().map(Vec::len), Some(expected), "{path}");
        assert_eq!(body["next_page"], Value::Null, "{path}");
        // One item a page, both ways.
        let mut offset_ids = Vec::new();
        let mut url = format!("{path}?per_page=1");
        loop {
            let body: Value = get(&s, &url).await.json().await.unwrap();
            offset_ids.extend(body[key].as_array().unwrap().iter().map(|i| i["id"].clone()));
            match body["next_page"].as_str() {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
        let mut cursor_ids = Vec::new();
        let mut url = format!("{path}?page[size]=1");
        loop {
            let body: Value = get(&s, &url).await.json().await.unwrap();
            cursor_ids.extend(body[key].as_array().unwrap().iter().map(|i| i["id"].clone()));
            if body["meta"]["has_more"] != json!(true) {
                break;
            }
            url = format!("{path}?page[size]=1&page[after]={}", body["meta"]["after_cursor"].as_str().unwrap());
        }
        assert_eq!(offset_ids.len(), expected, "{path}");
        assert_eq!(offset_ids, cursor_ids, "{path}");
    }
    let fields: Value = get(&s, "/api/v2/organization_fields.json").await.json().await.unwrap();
    let tier = &fields["organization_fields"][0];
    assert_eq!((tier["key"].as_str(), tier["type"].as_str()), (Some("tier"), Some("dropdown")));
    let options: BTreeSet<&str> =
        tier["custom_field_options"].as_array().unwrap().iter().filter_map(|o| o["value"].as_str()).collect();
    let used: BTreeSet<&str> = company.zendesk.organizations.iter().filter_map(|o| o.tier.as_deref()).collect();
    assert!(used.is_subset(&options), "every organization's tier is an option: {used:?} ⊄ {options:?}");
    let bad = get(&s, "/api/v2/groups?page[size]=1&page[after]=nope").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(get(&s, "/api/v2/nothing.json").await.status(), StatusCode::NOT_FOUND);
}

/// Search finds records by type, time window and text; zenpy's token check asks for an empty
/// window (`updated>now updated<2000-01-02`) and gets the real empty shape.
#[tokio::test]
async fn search_filters_by_type_time_and_text() {
    let (s, company) = sandbox(unlimited()).await;
    let search = |q: &str| {
        format!("/api/v2/search.json?query={}", q.replace(' ', "%20").replace('>', "%3E").replace('<', "%3C"))
    };
    let body: Value = get(&s, &search("updated>2026-01-01T00:00:00Z updated<2000-01-02T00:00:00Z type:user"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "results": [], "facets": null, "next_page": null, "previous_page": null, "count": 0 }));
    let users = company.zendesk.users.len();
    let body: Value = get(&s, &search("type:user")).await.json().await.unwrap();
    assert_eq!(body["count"], users);
    assert_eq!(body["results"].as_array().unwrap().len(), users.min(100));
    assert_eq!(body["results"][0]["result_type"], "user");
    assert_eq!(body["next_page"].is_string(), users > 100);
    let org = &company.zendesk.organizations[0];
    let word = org.name.split_whitespace().next().unwrap().to_lowercase();
    let body: Value = get(&s, &search(&format!("type:organization {word}"))).await.json().await.unwrap();
    let names: Vec<&str> = body["results"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(names.contains(&org.name.as_str()), "{names:?}");
    assert!(names.iter().all(|n| n.to_lowercase().contains(&word)));
    let before = model::timestamp(org.updated_at + chrono::Duration::seconds(1));
    let body: Value = get(&s, &search(&format!("type:organization updated<{before}"))).await.json().await.unwrap();
    let expected = company.zendesk.organizations.iter().filter(|o| o.updated_at <= org.updated_at).count();
    assert_eq!(body["count"], expected);
    assert_eq!(get(&s, &search("updated>yesterday")).await.status(), StatusCode::BAD_REQUEST);
}

/// Ticket metric events and audits are derived from the tickets; a deleted ticket has neither.
#[tokio::test]
async fn metric_events_and_audits_follow_the_tickets() {
    let (s, company) = sandbox(unlimited()).await;
    let live: Vec<&Ticket> = company.zendesk.tickets.iter().filter(|t| !t.is_deleted()).collect();
    let mut events = Vec::new();
    let mut url = "/api/v2/incremental/ticket_metric_events.json?start_time=0&per_page=50".to_owned();
    for _ in 0..1000 {
        let body: Value = get(&s, &url).await.json().await.unwrap();
        events.extend(body["ticket_metric_events"].as_array().unwrap().iter().cloned());
        if body["end_of_stream"] == json!(true) {
            break;
        }
        url = body["next_page"].as_str().unwrap().to_owned();
    }
    // Pages restart at their last second, so events of a boundary second come again.
    let ids: BTreeSet<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 2 * live.len());
    let t = live[0];
    let body: Value = get(&s, &format!("/api/v2/tickets/{}/audits.json", t.id)).await.json().await.unwrap();
    assert_eq!(body["count"], 1);
    assert_eq!(body["audits"][0]["ticket_id"], t.id);
    assert_eq!(body["audits"][0]["events"][0]["type"], "Comment");
    assert_eq!(body["audits"][0]["events"][0]["body"], t.subject.as_str());
    let deleted = company.zendesk.tickets.iter().find(|t| t.is_deleted()).expect("the company has a deleted ticket");
    assert_eq!(get(&s, &format!("/api/v2/tickets/{}/audits.json", deleted.id)).await.status(), StatusCode::NOT_FOUND);
}

/// Behind a proxy that names the vendor's host, the links an emulator writes name it too.
#[tokio::test]
async fn links_name_the_forwarded_host() {
    let (s, _) = sandbox(unlimited()).await;
    let res = client()
        .get(format!("{}/api/v2/incremental/users/cursor.json?start_time=0&per_page=1", s.zendesk.base_url()))
        .header("authorization", basic(&s))
        .header("x-forwarded-host", "accord.zendesk.com")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert!(
        body["after_url"]
            .as_str()
            .unwrap()
            .starts_with("https://accord.zendesk.com/api/v2/incremental/users/cursor.json?")
    );
    assert!(body["users"][0]["url"].as_str().unwrap().starts_with("https://accord.zendesk.com/api/v2/users/"));
}

/// `start_time` is read as Zendesk reads it: whole or fractional Unix seconds, or an ISO 8601
/// time (zenpy passes strings through), and never in the future.
#[tokio::test]
async fn start_time_takes_seconds_fractions_and_iso_times() {
    let (s, company) = sandbox(unlimited()).await;
    let t = company.zendesk.organizations.iter().map(|o| o.updated_at).min().unwrap();
    let count = |body: Value| body["organizations"].as_array().map(Vec::len);
    let expected = company.zendesk.organizations.len();
    for start in [t.timestamp().to_string(), format!("{}.0", t.timestamp()), model::timestamp(t)] {
        let body: Value =
            get(&s, &format!("/api/v2/incremental/organizations.json?start_time={start}")).await.json().await.unwrap();
        assert_eq!(count(body), Some(expected.min(1000)), "start_time={start}");
    }
    let future = model::timestamp(chrono::Utc::now() + chrono::Duration::hours(1));
    let res = get(&s, &format!("/api/v2/incremental/organizations.json?start_time={future}")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = get(&s, "/api/v2/incremental/organizations.json?start_time=yesterday").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
