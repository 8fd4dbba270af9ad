//! The JIRA emulator over real HTTP: `/search/jql` paged by `nextPageToken` (GET and POST), JQL
//! minute precision and time zones, the removed `/search`, auth, the rate limit with JIRA's
//! headers, and the answers' shapes against the official REST v3 spec.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::tests::support::{client, sandbox};
use crate::{Sandbox, SandboxOptions};

const SPEC: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/jira/jira-cloud-platform-v3-openapi.json");

fn unlimited() -> SandboxOptions {
    let mut o = SandboxOptions::default();
    o.jira.rate_limited = false;
    o
}

fn request(s: &Sandbox, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    let c = s.jira.credentials();
    client().request(method, format!("{}{path}", s.jira.base_url())).basic_auth(c.email, Some(c.api_token))
}

async fn get(s: &Sandbox, path: &str) -> Value {
    let res = request(s, reqwest::Method::GET, path).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Follows `nextPageToken` to `isLast`, by POST or GET; returns the issues and the page count.
async fn search_all(s: &Sandbox, jql: &str, max: usize, by_post: bool) -> (Vec<Value>, usize) {
    let (mut out, mut pages, mut token): (Vec<Value>, usize, Option<String>) = (Vec::new(), 0, None);
    loop {
        let res = if by_post {
            let mut body = json!({ "jql": jql, "maxResults": max, "fields": ["*all"] });
            if let Some(t) = &token {
                body["nextPageToken"] = json!(t);
            }
            request(s, reqwest::Method::POST, "/rest/api/3/search/jql").json(&body).send().await.unwrap()
        } else {
            let mut q = vec![("jql", jql.to_owned()), ("maxResults", max.to_string()), ("fields", "*all".into())];
            q.extend(token.iter().map(|t| ("nextPageToken", t.clone())));
            request(s, reqwest::Method::GET, "/rest/api/3/search/jql").query(&q).send().await.unwrap()
        };
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        pages += 1;
        let page = body["issues"].as_array().unwrap();
        assert!(page.len() <= max);
        out.extend(page.iter().cloned());
        match (body["isLast"].as_bool(), body["nextPageToken"].as_str()) {
            (Some(true), None) => return (out, pages),
            (Some(false), Some(t)) => token = Some(t.to_owned()),
            other => panic!("inconsistent paging signals {other:?}"),
        }
    }
}

fn ids(issues: &[Value]) -> Vec<String> {
    issues.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn searches_page_to_the_end_by_get_and_post_in_updated_order() {
    let (s, company) = sandbox(unlimited()).await;
    let all: BTreeSet<String> = company.jira.issues.iter().map(|i| i.id.to_string()).collect();
    assert!(all.len() > 150, "several pages: {} issues", all.len());
    for (max, by_post) in [(7, true), (50, false), (1000, true)] {
        let (issues, pages) =
            search_all(&s, "updated >= \"1970-01-01 00:00\" ORDER BY updated ASC", max, by_post).await;
        let got = ids(&issues);
        assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), all, "maxResults {max}");
        assert_eq!(got.len(), all.len(), "maxResults {max}: no issue twice");
        assert_eq!(pages, all.len().div_ceil(max.min(100)), "maxResults {max}: pages of at most 100");
        let updated: Vec<&str> = issues.iter().map(|i| i["fields"]["updated"].as_str().unwrap()).collect();
        assert!(updated.windows(2).all(|w| w[0] <= w[1]), "ORDER BY updated ASC");
    }
    // Without `fields`, only ids come back.
    let body = get(&s, "/rest/api/3/search/jql?jql=project%20%3D%20SUP&maxResults=2").await;
    assert_eq!(body["issues"][0].as_object().unwrap().keys().collect::<Vec<_>>(), ["id"]);
    // A token belongs to its query.
    let first = get(&s, "/rest/api/3/search/jql?jql=project%20%3D%20SUP&maxResults=2").await;
    let token = first["nextPageToken"].as_str().unwrap();
    let res = request(&s, reqwest::Method::GET, "/rest/api/3/search/jql")
        .query(&[("jql", "project = OPS"), ("nextPageToken", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn jql_dates_have_minute_precision_in_the_users_time_zone() {
    let mut o = unlimited();
    o.jira.time_zone = "Etc/GMT-2".into();
    let (s, company) = sandbox(o).await;
    assert_eq!(get(&s, "/rest/api/3/myself").await["timeZone"], "Etc/GMT-2");
    let (earlier, id) = (company.jira.issues[4].id, company.jira.issues[5].id);
    s.jira.update(earlier, |i| i.summary = "Changed first".into()).unwrap();
    s.clock().advance(chrono::Duration::minutes(70));
    s.jira.update(id, |i| i.summary = "Changed".into()).unwrap();
    let changed = s.jira.snapshot().issues.into_iter().find(|i| i.id == id).unwrap().updated;
    // The minute the change happened, written in the user's zone (two hours east of UTC).
    let local =
        |t: chrono::DateTime<chrono::Utc>| (t + chrono::Duration::hours(2)).format("%Y-%m-%d %H:%M").to_string();
    let (issues, _) = search_all(&s, &format!("updated >= \"{}\"", local(changed)), 50, true).await;
    assert_eq!(ids(&issues), [id.to_string()], "the minute of the change includes it, seconds and all");
    let next_minute = changed + chrono::Duration::minutes(1);
    let (issues, _) = search_all(&s, &format!("updated >= '{}'", local(next_minute)), 50, false).await;
    assert!(issues.is_empty(), "the next minute does not");
    let utc_written = changed.format("%Y-%m-%d %H:%M").to_string();
    let (issues, _) = search_all(&s, &format!("updated >= \"{utc_written}\""), 50, true).await;
    assert_eq!(
        ids(&issues),
        [earlier.to_string(), id.to_string()],
        "a UTC time read in a zone two hours east starts two hours earlier"
    );
}

#[tokio::test]
async fn the_removed_search_unbounded_queries_and_bad_credentials_answer_as_jira_does() {
    let (s, _) = sandbox(unlimited()).await;
    let res = request(&s, reqwest::Method::GET, "/rest/api/3/search?jql=project=SUP").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let body: Value = res.json().await.unwrap();
    assert!(body["errorMessages"][0].as_str().unwrap().contains("/rest/api/3/search/jql"), "{body}");
    let res = request(&s, reqwest::Method::POST, "/rest/api/2/search").json(&json!({"jql": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    let res = request(&s, reqwest::Method::POST, "/rest/api/3/search/jql")
        .json(&json!({"jql": "ORDER BY updated ASC"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(body["errorMessages"][0].as_str().unwrap().starts_with("Unbounded JQL"), "{body}");
    let res = client()
        .get(format!("{}/rest/api/3/field", s.jira.base_url()))
        .basic_auth("sync@accord-sandbox.example", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let fields = get(&s, "/rest/api/3/field").await;
    let custom: Vec<&str> = fields
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["custom"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(custom.contains(&"Account ID") && custom.contains(&"Support ID"), "{custom:?}");
}

#[tokio::test]
async fn the_limit_answers_429_with_retry_after_and_jiras_headers() {
    let mut o = SandboxOptions::default();
    o.jira.per_minute = 2;
    let (s, _) = sandbox(o).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..3 {
        let res = request(&s, reqwest::Method::GET, "/rest/api/3/field").send().await.unwrap();
        statuses.push(res.status());
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
        }
    }
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    let res = limited.unwrap();
    let h = res.headers();
    assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(h["ratelimit-reason"], "jira-burst-based");
    let reset = h["x-ratelimit-reset"].to_str().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(reset, "%Y-%m-%dT%H:%MZ").is_ok(), "{reset}");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(s.jira.rate_limiter().stats().throttled, 1);
}

struct Spec(Value);

impl Spec {
    /// The spec, or `None` when `shared/` is not beside the clone: the test then says it skipped.
    /// `ACCORD_REQUIRE_SHARED=1` (CI) makes a missing spec fail.
    fn load() -> Option<Spec> {
        match std::fs::read_to_string(SPEC) {
            Ok(text) => Some(Spec(serde_json::from_str(&text).expect("the spec is JSON"))),
            Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
                panic!("ACCORD_REQUIRE_SHARED is set, so the official JIRA v3 spec must be at {SPEC}: {e}")
            }
            Err(e) => {
                eprintln!("skipping the JIRA spec check: {SPEC} not readable ({e}); shared/ is not beside the clone");
                None
            }
        }
    }

    fn validator(&self, schema: Value) -> jsonschema::Validator {
        let mut root = schema;
        root["components"] = self.0["components"].clone();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(false)
            .build(&root)
            .unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
    }

    fn check(&self, schema: &str, instance: &Value) {
        let v = self.validator(json!({ "$ref": format!("#/components/schemas/{schema}") }));
        let errors: Vec<String> = v.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{schema} rejects the answer: {errors:#?}\n{instance:#}");
    }
}

#[tokio::test]
async fn answers_validate_against_the_official_spec() {
    let Some(spec) = Spec::load() else { return };
    // The check can fail: `isLast` must be a boolean, an issue's id a string.
    let v = spec.validator(json!({ "$ref": "#/components/schemas/SearchAndReconcileResults" }));
    assert!(!v.is_valid(&json!({ "issues": [], "isLast": "yes" })));
    assert!(!v.is_valid(&json!({ "issues": [{ "id": 10001 }] })));
    assert!(!v.is_valid(&json!({ "issues": [], "total": 3 })), "no startAt-era members");

    let mut o = SandboxOptions::default();
    o.jira.per_minute = 40;
    let (s, _) = sandbox(o).await;
    let post = request(&s, reqwest::Method::POST, "/rest/api/3/search/jql")
        .json(&json!({ "jql": "project = SUP AND updated >= -3650w", "maxResults": 20, "fields": ["*all"], "expand": "names,changelog" }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    let page: Value = post.json().await.unwrap();
    assert!(page["nextPageToken"].is_string());
    spec.check("SearchAndReconcileResults", &page);
    let token = page["nextPageToken"].as_str().unwrap();
    let next = get(&s, &format!("/rest/api/3/search/jql?jql=project%20%3D%20SUP%20AND%20updated%20%3E%3D%20-3650w&fields=summary,updated&nextPageToken={token}")).await;
    spec.check("SearchAndReconcileResults", &next);
    let last = get(&s, "/rest/api/3/search/jql?jql=updated%20%3E%3D%20-1m&fields=*all").await;
    assert_eq!(last["isLast"], true);
    spec.check("SearchAndReconcileResults", &last);
    let fields = get(&s, "/rest/api/3/field").await;
    spec.check("FieldDetails", &fields[0]);
    for f in fields.as_array().unwrap() {
        spec.check("FieldDetails", f);
    }
    spec.check("User", &get(&s, "/rest/api/3/myself").await);
    spec.check("ServerInformation", &get(&s, "/rest/api/2/serverInfo").await);
    for (path, status) in
        [("/rest/api/3/search?jql=x", StatusCode::GONE), ("/rest/api/3/search/jql?jql=", StatusCode::BAD_REQUEST)]
    {
        let res = request(&s, reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), status, "{path}");
        spec.check("ErrorCollection", &res.json().await.unwrap());
    }
    let unauthorized: Value =
        client().get(format!("{}/rest/api/3/field", s.jira.base_url())).send().await.unwrap().json().await.unwrap();
    spec.check("ErrorCollection", &unauthorized);
    let mut limited = None;
    for _ in 0..45 {
        let res = request(&s, reqwest::Method::GET, "/rest/api/3/myself").send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res.json::<Value>().await.unwrap());
        }
    }
    spec.check("ErrorCollection", &limited.expect("the limit of 40 a minute is reached"));
}

#[tokio::test]
async fn an_edit_sets_the_fields_it_names_and_refuses_one_the_screen_lacks_by_name() {
    let (s, company) = sandbox(unlimited()).await;
    let issue = company.jira.issues[0].clone();
    let put = |path: String, body: Value| request(&s, reqwest::Method::PUT, &path).json(&body).send();
    let res = put(
        format!("/rest/api/3/issue/{}", issue.id),
        json!({"fields": {"customfield_99999": "x", "customfield_10050": "A-1"}}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(body["errors"]["customfield_99999"].as_str().unwrap().contains("cannot be set"), "{body}");
    let res =
        put(format!("/rest/api/3/issue/{}", issue.id), json!({"fields": {"customfield_10050": 7}})).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a text field takes text");
    let res = put("/rest/api/3/issue/1".into(), json!({"fields": {"customfield_10050": "A-1"}})).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(s.jira.writes().is_empty(), "refused edits change nothing");

    // By key, 204 without returnIssue; by id with it, the edited issue.
    let res =
        put(format!("/rest/api/3/issue/{}", issue.key), json!({"fields": {"customfield_10050": "A-1"}})).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = put(
        format!("/rest/api/3/issue/{}?returnIssue=true", issue.id),
        json!({"fields": {"customfield_10050": "A-2"}}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"]["customfield_10050"], "A-2");
    let read = get(&s, &format!("/rest/api/3/issue/{}?fields=customfield_10050", issue.id)).await;
    assert_eq!(read["fields"].as_object().unwrap().len(), 1, "only the field asked for: {read}");
    assert_eq!(read["fields"]["customfield_10050"], "A-2");
    if let Some(spec) = Spec::load() {
        spec.check("IssueBean", &read);
        spec.check("IssueBean", &body);
    }
    assert_eq!(s.jira.writes().len(), 2);
    s.shutdown().await;
}
