//! Cross-cutting tests: the generator's determinism and problems, and the truth's consistency.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::generate::{Company, Intent, Problem};
use crate::truth::{Expected, RecordKey, Truth, reason};

fn company() -> Company {
    Company::generate(42, 200)
}

#[test]
fn the_same_seed_gives_the_same_company_and_truth() {
    let (a, b) = (Company::generate(9, 300), Company::generate(9, 300));
    assert_eq!(a, b);
    let (ta, tb) = (a.truth(), b.truth());
    assert_eq!(ta.records, tb.records);
    assert_eq!(ta.accounts, tb.accounts);
    assert_eq!(ta.tombstones, tb.tombstones);
    let c = Company::generate(10, 300);
    assert_ne!(a.salesforce, c.salesforce, "another seed gives another company");
}

#[test]
fn every_planted_problem_occurs_and_the_truth_agrees_with_what_was_meant() {
    let c = company();
    let truth = c.truth();
    let kinds: BTreeSet<Problem> = c.planted.iter().map(|p| p.problem).collect();
    let missing: Vec<_> = Problem::ALL.iter().filter(|p| !kinds.contains(p)).collect();
    assert!(missing.is_empty(), "problems never planted: {missing:?}");
    for p in &c.planted {
        match &p.intent {
            Intent::Tombstone => assert!(truth.tombstones.contains(&p.record), "{p:?} is not a tombstone"),
            Intent::Outcome(expected) => {
                assert_eq!(truth.records.get(&p.record), Some(expected), "{:?} {:?}", p.problem, p.record)
            }
        }
    }
}

#[test]
fn every_reason_a_first_sync_can_give_occurs() {
    let counts = company().truth().counts();
    for code in reason::ALL {
        // Only an account that was active and then deleted can be `deleted_account`, which a
        // first sync cannot produce.
        if code != reason::DELETED_ACCOUNT {
            assert!(counts.get(code).copied().unwrap_or(0) > 0, "no record is {code}: {counts:?}");
        }
    }
    assert!(counts["linked"] > counts.values().sum::<usize>() / 2, "most records link: {counts:?}");
}

#[test]
fn the_truth_is_internally_consistent() {
    let c = company();
    let truth = c.truth();
    assert!(truth.unstable().is_empty(), "order-dependent links: {:?}", truth.unstable());
    assert_eq!(truth.records.len() + truth.tombstones.len(), c.record_count(), "every record is accounted for once");
    for key in &truth.tombstones {
        assert!(!truth.records.contains_key(key));
    }
    for (key, e) in &truth.records {
        if let Expected::Linked { account_id } = e {
            assert!(truth.accounts.contains_key(account_id), "{key:?} links to {account_id}, not an active account");
        }
    }
    // Each active account is its own Salesforce record, linked to itself, with a Customer type.
    for (id, a) in &truth.accounts {
        assert_eq!(truth.get("salesforce", "Account", &a.crm_account_id), Some(&Expected::linked(id)));
        let sf = c.salesforce.accounts.iter().find(|r| r.id == a.crm_account_id).unwrap();
        assert_eq!(sf.account_type.as_deref(), Some("Customer"));
        assert_eq!(sf.account_id.as_deref(), Some(id.as_str()));
    }
    let linked_accounts: BTreeSet<&str> = truth.records.values().filter_map(Expected::account_id).collect();
    assert_eq!(linked_accounts.len(), truth.accounts.len(), "every account links at least its own record");
}

#[test]
fn records_of_filtered_accounts_never_link() {
    let c = company();
    let truth = c.truth();
    let filtered: BTreeSet<&str> = c
        .salesforce
        .accounts
        .iter()
        .filter(|a| a.account_type.as_deref() != Some("Customer"))
        .filter_map(|a| a.account_id.as_deref())
        .collect();
    assert!(!filtered.is_empty());
    for e in truth.records.values() {
        if let Some(a) = e.account_id() {
            assert!(!filtered.contains(a), "{a} is filtered out but something links to it");
        }
    }
    let by_reason: BTreeMap<&str, usize> = truth
        .of_object("zendesk", "organizations")
        .filter_map(|(_, e)| e.reason())
        .fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r).or_default() += 1;
            m
        });
    assert!(by_reason.contains_key(reason::FILTERED_ACCOUNT), "{by_reason:?}");
}

#[test]
fn a_hundred_thousand_accounts_make_half_a_million_records_quickly() {
    let started = Instant::now();
    let c = Company::generate(1, 100_000);
    let took = started.elapsed();
    assert!(c.record_count() >= 500_000, "{} records", c.record_count());
    // Debug builds are several times slower than the release build a benchmark uses.
    let budget = if cfg!(debug_assertions) { 60 } else { 5 };
    assert!(took.as_secs() < budget, "generation took {took:?}");
    let key = RecordKey::new("salesforce", "Account", &c.salesforce.accounts[0].id);
    let truth = Truth::compute(&c);
    assert!(truth.records.contains_key(&key) || truth.tombstones.contains(&key));
    assert!(truth.unstable().is_empty());
}

/// Helpers the vendor test modules share.
pub(crate) mod support {
    use crate::{Company, Sandbox, SandboxOptions};

    pub(crate) fn client() -> reqwest::Client {
        reqwest::Client::builder().build().expect("a reqwest client")
    }

    /// A sandbox over a 200-company generated company.
    pub(crate) async fn sandbox(options: SandboxOptions) -> (Sandbox, Company) {
        let company = Company::generate(42, 200);
        let sandbox = Sandbox::start(company.clone(), options).await.expect("the sandbox starts");
        (sandbox, company)
    }
}

/// Reads every object of every system over HTTP, as a connector would on a first sync, and
/// checks that the records served are exactly the truth's records and tombstones, keyed by the
/// native ids as they appear on the wire.
#[tokio::test]
async fn a_full_read_over_http_serves_exactly_the_truths_records() {
    use base64::Engine;
    use serde_json::Value;

    let (s, company) = support::sandbox(crate::SandboxOptions::unlimited()).await;
    let truth = company.truth();
    let http = support::client();
    let mut seen: BTreeSet<RecordKey> = BTreeSet::new();
    let mut deleted: BTreeSet<RecordKey> = BTreeSet::new();

    let creds = s.salesforce.credentials();
    let token: Value = http
        .post(format!("{}/services/oauth2/token", creds.login_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
            ("refresh_token", creds.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (sf_base, bearer) = (token["instance_url"].as_str().unwrap(), token["access_token"].as_str().unwrap());
    for object in ["Account", "Contact", "Case"] {
        let mut url =
            format!("{sf_base}/services/data/v59.0/query?q=SELECT+Id+FROM+{object}+ORDER+BY+SystemModstamp+ASC");
        loop {
            let body: Value = http.get(&url).bearer_auth(bearer).send().await.unwrap().json().await.unwrap();
            for r in body["records"].as_array().unwrap() {
                seen.insert(RecordKey::new("salesforce", static_object(object), r["Id"].as_str().unwrap()));
            }
            match body["nextRecordsUrl"].as_str() {
                Some(next) => url = format!("{sf_base}{next}"),
                None => break,
            }
        }
        let start = (s.clock().now() - chrono::Duration::days(29)).to_rfc3339();
        let end = (s.clock().now() + chrono::Duration::minutes(1)).to_rfc3339();
        let body: Value = http
            .get(format!("{sf_base}/services/data/v59.0/sobjects/{object}/deleted/"))
            .query(&[("start", start), ("end", end)])
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for d in body["deletedRecords"].as_array().unwrap() {
            deleted.insert(RecordKey::new("salesforce", static_object(object), d["id"].as_str().unwrap()));
        }
    }

    let zd = s.zendesk.credentials();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}/token:{}", zd.email, zd.api_token))
    );
    for (resource, path) in [
        ("organizations", "organizations.json?start_time=0"),
        ("users", "users/cursor.json?start_time=0"),
        ("tickets", "tickets/cursor.json?start_time=0"),
    ] {
        let mut url = format!("{}/api/v2/incremental/{path}", s.zendesk.base_url());
        loop {
            let body: Value =
                http.get(&url).header("authorization", &basic).send().await.unwrap().json().await.unwrap();
            for r in body[resource].as_array().unwrap() {
                // Ids are JSON numbers; accord keys records by their integer text.
                let key = RecordKey::new("zendesk", static_object(resource), r["id"].as_u64().unwrap().to_string());
                if r["status"] == "deleted" {
                    deleted.insert(key)
                } else {
                    seen.insert(key)
                };
            }
            if body["end_of_stream"] == Value::Bool(true) {
                break;
            }
            url = body.get("after_url").or(body.get("next_page")).and_then(Value::as_str).unwrap().to_owned();
        }
    }

    let ic = s.intercom.credentials().access_token;
    let mut scroll: Value = http
        .get(format!("{}/companies/scroll", s.intercom.base_url()))
        .bearer_auth(&ic)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    while !scroll["data"].as_array().unwrap().is_empty() {
        for c in scroll["data"].as_array().unwrap() {
            seen.insert(RecordKey::new("intercom", "companies", c["id"].as_str().unwrap()));
        }
        let param = scroll["scroll_param"].as_str().unwrap().to_owned();
        scroll = http
            .get(format!("{}/companies/scroll?scroll_param={param}", s.intercom.base_url()))
            .bearer_auth(&ic)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    for (object, key) in [("contacts", "data"), ("conversations", "conversations")] {
        let mut url = format!("{}/{object}?per_page=150", s.intercom.base_url());
        loop {
            let body: Value = http.get(&url).bearer_auth(&ic).send().await.unwrap().json().await.unwrap();
            for r in body[key].as_array().unwrap() {
                seen.insert(RecordKey::new("intercom", static_object(object), r["id"].as_str().unwrap()));
            }
            match body["pages"]["next"]["starting_after"].as_str() {
                Some(after) => url = format!("{}/{object}?per_page=150&starting_after={after}", s.intercom.base_url()),
                None => break,
            }
        }
    }

    let expected: BTreeSet<RecordKey> = truth.records.keys().cloned().collect();
    assert_eq!(seen.len(), expected.len());
    assert!(seen == expected, "served records differ from the truth's");
    assert_eq!(deleted, truth.tombstones);
    s.shutdown().await;
}

fn static_object(name: &str) -> &'static str {
    crate::SYNC_ORDER.iter().map(|(_, o)| *o).find(|o| *o == name).expect("a known object")
}
