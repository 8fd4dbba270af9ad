//! Cross-cutting tests: the generator's determinism and problems, and the planted truth's
//! consistency, before and after the second day's deletions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use crate::generate::{Company, Intent, Planted, Problem, SecondDay};
use crate::truth::{By, Expected, RecordKey, Truth, reason};

/// The size the issue asks every planted situation to occur at.
const SIZE: usize = 300;

fn company() -> Company {
    Company::generate(42, SIZE)
}

/// How many records each problem planted.
fn census(planted: &[Planted]) -> BTreeMap<Problem, usize> {
    let mut m = BTreeMap::new();
    for p in planted {
        *m.entry(p.problem).or_default() += 1;
    }
    m
}

/// Every planted record has the outcome it was planted for.
fn check_intents(planted: &[Planted], truth: &Truth) {
    for p in planted {
        match &p.intent {
            Intent::Tombstone => assert!(truth.tombstones.contains(&p.record), "{p:?} is not a tombstone"),
            Intent::Outcome(expected) => {
                assert_eq!(truth.records.get(&p.record), Some(expected), "{:?} {:?}", p.problem, p.record)
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_company_and_truth() {
    let (a, b) = (Company::generate(9, SIZE), Company::generate(9, SIZE));
    assert_eq!(a, b);
    let (ta, tb) = (a.truth(), b.truth());
    assert_eq!(ta.records, tb.records);
    assert_eq!(ta.accounts, tb.accounts);
    assert_eq!(ta.tombstones, tb.tombstones);
    let c = Company::generate(10, SIZE);
    assert_ne!(a.salesforce, c.salesforce, "another seed gives another company");
    let (mut a2, mut b2) = (a.clone(), b);
    assert_eq!(a2.delete_some(3), b2.delete_some(3), "the same second day");
    assert_eq!(a2, b2);
    assert_ne!(a2, a, "the second day changed the data");
}

#[test]
fn every_planted_problem_occurs_and_the_truth_agrees_with_what_was_meant() {
    let c = company();
    let counts = census(&c.planted);
    let missing: Vec<_> = Problem::ALL.iter().filter(|p| !counts.contains_key(p)).collect();
    assert!(missing.is_empty(), "problems never planted at {SIZE} accounts: {missing:?}\n{counts:?}");
    assert!(c.planted.iter().all(|p| !Problem::SECOND_DAY.contains(&p.problem)));
    check_intents(&c.planted, &c.truth());
}

#[test]
fn every_reason_occurs() {
    let mut c = company();
    let counts = c.truth().counts();
    for code in reason::ALL {
        // Only an account that was active and then deleted can be `deleted_account`.
        if code != reason::DELETED_ACCOUNT {
            assert!(counts.get(code).copied().unwrap_or(0) > 0, "no record is {code}: {counts:?}");
        }
    }
    assert_eq!(counts.get(reason::DELETED_ACCOUNT), None);
    assert!(counts["linked"] > counts.values().sum::<usize>() / 2, "most records link: {counts:?}");
    c.delete_some(1);
    let after = c.truth().counts();
    assert!(after.get(reason::DELETED_ACCOUNT).copied().unwrap_or(0) > 0, "{after:?}");
}

#[test]
fn the_truth_is_internally_consistent() {
    let c = company();
    let truth = c.truth();
    assert_eq!(truth.records.len() + truth.tombstones.len(), c.record_count(), "every record is accounted for once");
    for key in &truth.tombstones {
        assert!(!truth.records.contains_key(key));
    }
    for (key, e) in &truth.records {
        if let Some(account_id) = e.account_id() {
            assert!(truth.accounts.contains_key(account_id), "{key:?} links to {account_id}, not an active account");
            // Only System of Record records link without a rule.
            assert_eq!(e.by().is_none(), key.object == "Account", "{key:?}: {e:?}");
        }
    }
    assert!(truth.deleted_accounts.is_empty(), "nothing was active before the first sync");
    // Each active account is held by its Salesforce record: a Customer, carrying the id, with the
    // lowest `Id` among the live records carrying it.
    let mut carriers: HashMap<&str, Vec<&crate::salesforce::model::Account>> = HashMap::new();
    for a in c.salesforce.accounts.iter().filter(|a| a.deleted_at.is_none() && a.name.is_some()) {
        if let Some(id) = a.account_id.as_deref() {
            carriers.entry(id).or_default().push(a);
        }
    }
    for (id, a) in &truth.accounts {
        assert_eq!(truth.get("salesforce", "Account", &a.crm_account_id), Some(&Expected::holds(id)));
        let holder = carriers[id.as_str()].iter().min_by_key(|r| &r.id).unwrap();
        assert_eq!(holder.id, a.crm_account_id, "{id} is held by the lowest Id");
        assert_eq!(holder.account_type.as_deref(), Some("Customer"));
        assert_eq!(Some(&a.name), holder.name.as_ref());
    }
    let linked_accounts: BTreeSet<&str> = truth.records.values().filter_map(Expected::account_id).collect();
    assert_eq!(linked_accounts.len(), truth.accounts.len(), "every account links at least its own record");
    // The generator wrote each address and domain once.
    let emails: BTreeSet<&String> = c.ledger.emails().iter().collect();
    assert_eq!(emails.len(), c.ledger.emails().len());
    assert!(emails.iter().all(|e| e.contains('@') && e.to_lowercase() == **e));
    let domains: BTreeSet<&String> = c.ledger.domains().iter().collect();
    assert_eq!(domains.len(), c.ledger.domains().len());
}

/// The order-sensitive situations are in the data as planted: checked on the records themselves.
#[test]
fn the_order_sensitive_situations_are_in_the_data() {
    let c = company();
    let truth = c.truth();
    let sf = &c.salesforce;
    let account = |id: &str| sf.accounts.iter().find(|a| a.id == id).unwrap();
    let of = |problem: Problem| c.planted.iter().filter(move |p| p.problem == problem);
    // A duplicate synced first: a higher Id, an earlier SystemModstamp than the record holding
    // the account, and the same account id.
    for p in of(Problem::SfDuplicateSyncedFirst) {
        let dup = account(&p.record.native_id);
        let holder = &truth.accounts[dup.account_id.as_deref().unwrap()];
        let holder = account(&holder.crm_account_id);
        assert!(holder.id < dup.id && dup.system_modstamp < holder.system_modstamp, "{dup:?} / {holder:?}");
    }
    // Records reaching a filtered account through crm_account_id.
    for p in of(Problem::CrmFilteredAccount).chain(of(Problem::FilteredDespiteEmail)) {
        let account_id = match p.record.object {
            "Contact" => sf.contacts.iter().find(|r| r.id == p.record.native_id).unwrap().account_id.clone(),
            _ => sf.cases.iter().find(|r| r.id == p.record.native_id).unwrap().account_id.clone(),
        };
        assert_ne!(account(&account_id.unwrap()).account_type.as_deref(), Some("Customer"));
    }
    // A shared email: its decided record holds the address as the two linked holders do.
    let email_of = |k: &RecordKey| -> Option<String> {
        match (k.source, k.object) {
            ("salesforce", "Contact") => sf.contacts.iter().find(|r| r.id == k.native_id)?.email.clone(),
            ("zendesk", "users") => c.zendesk.users.iter().find(|r| r.id.to_string() == k.native_id)?.email.clone(),
            ("intercom", "contacts") => c.intercom.contacts.iter().find(|r| r.id == k.native_id)?.email.clone(),
            ("delighted", "survey_responses") => {
                c.delighted.survey_responses.iter().find(|r| r.id == k.native_id)?.person.email.clone()
            }
            _ => None,
        }
    };
    let holders = |email: &str| -> BTreeSet<String> {
        let same = |e: &Option<String>| e.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email));
        let keys = sf
            .contacts
            .iter()
            .filter(|r| same(&r.email))
            .map(|r| RecordKey::new("salesforce", "Contact", &r.id))
            .chain(
                c.zendesk
                    .users
                    .iter()
                    .filter(|r| same(&r.email))
                    .map(|r| RecordKey::new("zendesk", "users", r.id.to_string())),
            )
            .chain(
                c.intercom
                    .contacts
                    .iter()
                    .filter(|r| same(&r.email))
                    .map(|r| RecordKey::new("intercom", "contacts", &r.id)),
            );
        keys.filter_map(|k| {
            truth.records[&k]
                .clone()
                .account_id()
                .map(str::to_owned)
                .filter(|_| truth.records[&k].by().is_some_and(|b| b.rule != "email"))
        })
        .collect()
    };
    for p in of(Problem::SharedEmail) {
        let email = email_of(&p.record).unwrap();
        assert_eq!(holders(&email).len(), 2, "{email} is held by linked records of two accounts");
    }
    // The parent wins over an email that says another account.
    for p in of(Problem::ParentOverEmail) {
        let email = email_of(&p.record).unwrap();
        let accounts = holders(&email);
        assert_eq!(accounts.len(), 2, "{email}: {accounts:?}");
        assert!(matches!(truth.records[&p.record].by(), Some(By { rule: "parent", .. })));
    }
    // Late evidence: the only linked holder of the address is a Zendesk user.
    for p in of(Problem::LateEmailEvidence) {
        let email = email_of(&p.record).unwrap();
        assert_eq!(holders(&email).len(), 1);
        assert!(c.zendesk.users.iter().any(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&email))));
    }
    let counts = census(&c.planted);
    for problem in [
        Problem::SfDuplicateSyncedFirst,
        Problem::CrmFilteredAccount,
        Problem::FilteredDespiteEmail,
        Problem::SharedEmail,
        Problem::ParentOverEmail,
        Problem::LateEmailEvidence,
        Problem::LateParent,
    ] {
        assert!(counts.get(&problem).copied().unwrap_or(0) > 0, "{problem:?}");
    }
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
    for object in ["organizations", "Contact"] {
        let filtered = truth.of_object(if object == "Contact" { "salesforce" } else { "zendesk" }, object);
        assert!(filtered.filter(|(_, e)| e.reason() == Some(reason::FILTERED_ACCOUNT)).count() > 0, "{object}");
    }
}

#[test]
fn the_second_day_deletes_what_it_planted_and_nothing_else_changes() {
    let mut c = company();
    let before = c.truth();
    let count_before = c.record_count();
    let day: SecondDay = c.delete_some(7);
    let after = c.truth();
    let counts = census(&day.planted);
    let missing: Vec<_> = Problem::SECOND_DAY.iter().filter(|p| !counts.contains_key(p)).collect();
    assert!(missing.is_empty(), "second-day problems never planted at {SIZE} accounts: {missing:?}\n{counts:?}");
    check_intents(&day.planted, &after);
    for key in day.deleted.iter().chain(&day.cascaded) {
        assert!(after.tombstones.contains(key) && !before.tombstones.contains(key), "{key:?}");
    }
    assert!(!day.deleted_accounts.is_empty());
    for id in &day.deleted_accounts {
        assert!(after.deleted_accounts.contains(id) && !after.accounts.contains_key(id));
        assert!(before.accounts.contains_key(id));
    }
    assert_eq!(after.deleted_accounts.len(), day.deleted_accounts.len());
    for e in after.records.values() {
        if let Some(a) = e.account_id() {
            assert!(after.accounts.contains_key(a), "{e:?}");
        }
    }
    // Every record whose outcome changed is one the second day planted: the consequences of the
    // deletions are all stated.
    let planted: BTreeSet<&RecordKey> = day.planted.iter().map(|p| &p.record).collect();
    let changed: Vec<&RecordKey> = before
        .records
        .keys()
        .filter(|k| after.records.get(*k) != before.records.get(*k))
        .filter(|k| !planted.contains(k))
        .collect();
    assert!(changed.is_empty(), "unplanted changes: {changed:?}");
    // The data shows each deletion as its source does.
    let removed = count_before - c.record_count();
    let live = |k: &RecordKey| match (k.source, k.object) {
        ("salesforce", "Account") => {
            c.salesforce.accounts.iter().any(|r| r.id == k.native_id && r.deleted_at.is_none())
        }
        ("salesforce", "Contact") => {
            c.salesforce.contacts.iter().any(|r| r.id == k.native_id && r.deleted_at.is_none())
        }
        ("salesforce", "Case") => c.salesforce.cases.iter().any(|r| r.id == k.native_id && r.deleted_at.is_none()),
        ("zendesk", "users") => c.zendesk.users.iter().any(|r| r.id.to_string() == k.native_id && r.active),
        ("intercom", "contacts") => c.intercom.contacts.iter().any(|r| r.id == k.native_id),
        other => panic!("the second day does not delete {other:?}"),
    };
    for k in day.deleted.iter().chain(&day.cascaded) {
        assert!(!live(k), "{k:?} is still live in the data");
    }
    let gone_from_lists = day.deleted.iter().filter(|k| k.source == "intercom").count();
    assert_eq!(removed, gone_from_lists);
    assert_eq!(after.records.len() + after.tombstones.len(), c.record_count() + removed);
    // The cascade is what the Salesforce emulator's delete takes: the records carrying the Id.
    for k in &day.cascaded {
        let carried = match k.object {
            "Contact" => c.salesforce.contacts.iter().find(|r| r.id == k.native_id).unwrap().account_id.clone(),
            _ => c.salesforce.cases.iter().find(|r| r.id == k.native_id).unwrap().account_id.clone(),
        };
        assert!(day.deleted.iter().any(|d| d.object == "Account" && Some(&d.native_id) == carried.as_ref()));
    }
}

#[test]
fn twenty_thousand_accounts_make_a_hundred_thousand_records_each_with_its_truth() {
    // How long generation takes is the benchmarks' business (never asserted here): the sync
    // benchmark generates 100,000 accounts in release mode.
    let started = Instant::now();
    let c = Company::generate(1, 20_000);
    eprintln!("generated {} records in {:?}", c.record_count(), started.elapsed());
    assert!(c.record_count() >= 100_000, "{} records", c.record_count());
    let key = RecordKey::new("salesforce", "Account", &c.salesforce.accounts[0].id);
    let truth = c.truth();
    assert!(truth.records.contains_key(&key) || truth.tombstones.contains(&key));
    assert_eq!(truth.records.len() + truth.tombstones.len(), c.record_count());
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

/// Deletions made through the emulators at runtime show in the sandbox's truth as deletions after
/// a first sync: the account goes on the delete list, its cascade is deleted, what pointed at it
/// is `deleted_account`, and what linked through a deleted record is rejected.
#[tokio::test]
async fn deletions_made_in_the_emulators_show_in_the_sandbox_truth() {
    use crate::intercom::model::Contact as IcContact;
    use crate::salesforce::model::Account;

    let (s, company) = support::sandbox(crate::SandboxOptions::unlimited()).await;
    let before = s.truth();
    assert_eq!(before.records, company.truth().records);
    // An account that a Zendesk organization names by its id.
    let org = company
        .zendesk
        .organizations
        .iter()
        .find(|o| o.external_id.as_deref().is_some_and(|id| before.accounts.contains_key(id)))
        .unwrap();
    let account_id = org.external_id.clone().unwrap();
    let crm = before.accounts[&account_id].crm_account_id.clone();
    s.salesforce.delete::<Account>(&crm).unwrap();
    // An Intercom contact with a conversation, linked.
    let conversation = company
        .intercom
        .conversations
        .iter()
        .find(|c| {
            before
                .get("intercom", "contacts", &c.contacts[0].id)
                .and_then(Expected::account_id)
                .is_some_and(|a| a != account_id)
        })
        .unwrap();
    let contact = conversation.contacts[0].id.clone();
    s.intercom.delete::<IcContact>(&contact).unwrap();

    let after = s.truth();
    assert!(after.deleted_accounts.contains(&account_id) && !after.accounts.contains_key(&account_id));
    assert!(after.tombstones.contains(&RecordKey::new("salesforce", "Account", &crm)));
    let cascade: Vec<_> = company.salesforce.contacts.iter().filter(|c| c.account_id.as_ref() == Some(&crm)).collect();
    for c in cascade.iter().filter(|c| c.deleted_at.is_none()) {
        assert!(after.tombstones.contains(&RecordKey::new("salesforce", "Contact", &c.id)), "{c:?}");
    }
    assert_eq!(
        after.get("zendesk", "organizations", &org.id.to_string()),
        Some(&Expected::rejected(reason::DELETED_ACCOUNT))
    );
    assert!(after.tombstones.contains(&RecordKey::new("intercom", "contacts", &contact)));
    assert_eq!(
        after.get("intercom", "conversations", &conversation.id),
        Some(&Expected::rejected(reason::UNKNOWN_ACCOUNT))
    );
    for e in after.records.values() {
        assert_ne!(e.account_id(), Some(account_id.as_str()));
    }
    s.shutdown().await;
}

/// Reads every object of every system over HTTP, as a connector would on a first sync, and
/// checks that the records served are exactly the truth's records and tombstones, keyed by the
/// native ids as they appear on the wire.
#[tokio::test]
async fn a_full_read_over_http_serves_exactly_the_truths_records() {
    use base64::Engine;
    use serde_json::{Value, json};

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
    let dl = s.delighted.credentials().api_key;
    for page in 1.. {
        let url = format!("{}/v1/survey_responses.json?per_page=100&page={page}", s.delighted.base_url());
        let body: Value = http.get(&url).basic_auth(&dl, Some("")).send().await.unwrap().json().await.unwrap();
        let rows = body.as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        for r in rows {
            seen.insert(RecordKey::new("delighted", "survey_responses", r["id"].as_str().unwrap()));
        }
    }
    // Desk is an export: its files, as the `desk` source reads them.
    let export = tempfile::tempdir().unwrap();
    s.desk.write_export(export.path()).unwrap();
    for object in ["companies", "customers", "cases"] {
        let body: Value =
            serde_json::from_slice(&std::fs::read(export.path().join(format!("{object}.json"))).unwrap()).unwrap();
        let entries = body["_embedded"]["entries"].as_array().unwrap();
        assert_eq!(body["total_entries"], entries.len());
        for r in entries {
            seen.insert(RecordKey::new("desk", static_object(object), r["id"].as_u64().unwrap().to_string()));
        }
    }

    let fd = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:X", s.freshdesk.credentials().api_key))
    );
    for (object, list, deletions) in [
        ("companies", "companies?per_page=100", None),
        ("contacts", "contacts?per_page=100", Some("contacts?per_page=100&state=deleted")),
        (
            "tickets",
            "tickets?per_page=100&updated_since=1970-01-01T00:00:00Z",
            Some("tickets?per_page=100&filter=deleted&updated_since=1970-01-01T00:00:00Z"),
        ),
    ] {
        for (path, into) in [(Some(list), &mut seen), (deletions, &mut deleted)] {
            let Some(path) = path else { continue };
            let mut url = format!("{}/api/v2/{path}", s.freshdesk.base_url());
            loop {
                let res = http.get(&url).header("authorization", &fd).send().await.unwrap();
                let next = res.headers().get("link").map(|l| l.to_str().unwrap().to_owned());
                let body: Value = res.json().await.unwrap();
                for r in body.as_array().unwrap() {
                    into.insert(RecordKey::new(
                        "freshdesk",
                        static_object(object),
                        r["id"].as_u64().unwrap().to_string(),
                    ));
                }
                match next {
                    Some(link) => url = link.trim_start_matches('<').split('>').next().unwrap().to_owned(),
                    None => break,
                }
            }
        }
    }

    let mut url = format!("{}/api/v2/parties?perPage=100", s.capsule.base_url());
    loop {
        let res = http.get(&url).bearer_auth(s.capsule.credentials().access_token).send().await.unwrap();
        let next = res.headers().get("link").map(|l| l.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap();
        for p in body["parties"].as_array().unwrap() {
            let object = if p["type"] == "person" { "people" } else { "organisations" };
            seen.insert(RecordKey::new("capsule", static_object(object), p["id"].as_u64().unwrap().to_string()));
        }
        match next {
            Some(link) => url = link.trim_start_matches('<').split('>').next().unwrap().to_owned(),
            None => break,
        }
    }

    let jira = s.jira.credentials();
    let mut token: Option<String> = None;
    loop {
        let mut body = serde_json::json!({ "jql": "updated >= \"1970-01-01 00:00\"", "maxResults": 100 });
        if let Some(t) = &token {
            body["nextPageToken"] = Value::String(t.clone());
        }
        let url = format!("{}/rest/api/3/search/jql", s.jira.base_url());
        let page: Value = http
            .post(&url)
            .basic_auth(&jira.email, Some(&jira.api_token))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for r in page["issues"].as_array().unwrap() {
            seen.insert(RecordKey::new("jira", "issues", r["id"].as_str().unwrap()));
        }
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }

    let keap = s.keap.credentials();
    let grant: Value = http
        .post(s.keap.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", keap.client_id.as_str()),
            ("client_secret", keap.client_secret.as_str()),
            ("refresh_token", keap.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = grant["access_token"].as_str().unwrap().to_owned();
    for object in ["companies", "contacts"] {
        let mut token = String::new();
        loop {
            let url = format!("{}/rest/v2/{object}?page_size=200&page_token={token}", s.keap.base_url());
            let page: Value = http.get(&url).bearer_auth(&bearer).send().await.unwrap().json().await.unwrap();
            for r in page[object].as_array().unwrap() {
                seen.insert(RecordKey::new("keap", static_object(object), r["id"].as_str().unwrap()));
            }
            match page["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = t.to_owned(),
                _ => break,
            }
        }
    }

    let stripe_key = s.stripe.credentials().secret_key;
    for (object, query) in [("customers", ""), ("subscriptions", "&status=all"), ("invoices", "")] {
        let mut after = String::new();
        loop {
            let url = format!("{}/v1/{object}?limit=100{query}{after}", s.stripe.base_url());
            let page: Value = http.get(&url).bearer_auth(&stripe_key).send().await.unwrap().json().await.unwrap();
            let data = page["data"].as_array().unwrap();
            for r in data {
                seen.insert(RecordKey::new("stripe", static_object(object), r["id"].as_str().unwrap()));
            }
            match (page["has_more"].as_bool(), data.last()) {
                (Some(true), Some(last)) => after = format!("&starting_after={}", last["id"].as_str().unwrap()),
                _ => break,
            }
        }
    }

    let recurly_key = s.recurly.credentials().api_key;
    for object in ["accounts", "subscriptions", "invoices"] {
        let mut next = format!("/{object}?limit=200&sort=updated_at&order=asc");
        loop {
            let page: Value = http
                .get(format!("{}{next}", s.recurly.base_url()))
                .basic_auth(&recurly_key, Some(""))
                .header("Accept", "application/vnd.recurly.v2021-02-25+json")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for r in page["data"].as_array().unwrap() {
                let key = RecordKey::new("recurly", static_object(object), r["id"].as_str().unwrap());
                // A deactivated account is still listed: a tombstone.
                if r["state"] == "inactive" && object == "accounts" {
                    deleted.insert(key);
                } else {
                    seen.insert(key);
                }
            }
            match (page["has_more"].as_bool(), page["next"].as_str()) {
                (Some(true), Some(n)) => next = n.to_owned(),
                _ => break,
            }
        }
    }
    let maxio_key = s.maxio.credentials().api_key;
    for (object, wrapper) in
        [("customers", Some("customer")), ("subscriptions", Some("subscription")), ("invoices", None)]
    {
        for page in 1.. {
            let url = format!("{}/{object}.json?per_page=200&page={page}", s.maxio.base_url());
            let body: Value =
                http.get(&url).basic_auth(&maxio_key, Some("x")).send().await.unwrap().json().await.unwrap();
            let items = match wrapper {
                Some(w) => body.as_array().unwrap().iter().map(|i| i[w].clone()).collect::<Vec<_>>(),
                None => body["invoices"].as_array().unwrap().clone(),
            };
            if items.is_empty() {
                break;
            }
            for r in items {
                let id = if wrapper.is_some() { r["id"].to_string() } else { r["uid"].as_str().unwrap().to_owned() };
                seen.insert(RecordKey::new("maxio", static_object(object), id));
            }
        }
    }
    // Maxio answers nothing for a deleted customer: the site's deletions are the generated ones.
    for id in &company.maxio.deleted_customers {
        deleted.insert(RecordKey::new("maxio", "customers", id.to_string()));
    }
    let chargebee_key = s.chargebee.credentials().api_key;
    for (object, member) in [("customers", "customer"), ("subscriptions", "subscription"), ("invoices", "invoice")] {
        let mut offset = String::new();
        loop {
            let url = format!("{}/api/v2/{object}?limit=100&include_deleted=true{offset}", s.chargebee.base_url());
            let page: Value =
                http.get(&url).basic_auth(&chargebee_key, Some("")).send().await.unwrap().json().await.unwrap();
            for entry in page["list"].as_array().unwrap() {
                let r = &entry[member];
                let key = RecordKey::new("chargebee", static_object(object), r["id"].as_str().unwrap());
                if r["deleted"] == Value::Bool(true) {
                    deleted.insert(key)
                } else {
                    seen.insert(key)
                };
            }
            match page["next_offset"].as_str() {
                Some(o) => offset = format!("&offset={}", urlencode(o)),
                None => break,
            }
        }
    }

    let zuora = s.zuora.credentials();
    let token: Value = http
        .post(format!("{}/oauth/token", s.zuora.base_url()))
        .form(&[
            ("client_id", zuora.client_id.as_str()),
            ("client_secret", zuora.client_secret.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    for (object, zoql) in [
        ("accounts", "select Id, Status from Account"),
        ("subscriptions", "select Id from Subscription"),
        ("invoices", "select Id from Invoice"),
    ] {
        let mut request = (format!("{}/v1/action/query", s.zuora.base_url()), json!({ "queryString": zoql }));
        loop {
            let page: Value =
                http.post(&request.0).bearer_auth(&token).json(&request.1).send().await.unwrap().json().await.unwrap();
            for r in page["records"].as_array().unwrap() {
                let key = RecordKey::new("zuora", static_object(object), r["Id"].as_str().unwrap());
                // A cancelled account is still queried: a tombstone.
                if r["Status"] == "Canceled" {
                    deleted.insert(key);
                } else {
                    seen.insert(key);
                }
            }
            match (page["done"].as_bool(), page["queryLocator"].as_str()) {
                (Some(false), Some(l)) => {
                    request = (format!("{}/v1/action/queryMore", s.zuora.base_url()), json!({ "queryLocator": l }));
                }
                _ => break,
            }
        }
    }

    // Xero: a refresh grant, then the sales lists with archived contacts, page by page.
    let xc = s.xero.credentials();
    let grant: Value = http
        .post(s.xero.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", xc.client_id.as_str()),
            ("client_secret", xc.client_secret.as_str()),
            ("refresh_token", xc.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let xero_token = grant["access_token"].as_str().unwrap().to_owned();
    for (object, list, query, id) in [
        ("contacts", "Contacts", "includeArchived=true", "ContactID"),
        ("invoices", "Invoices", "where=Type%3D%3D%22ACCREC%22", "InvoiceID"),
        ("payments", "Payments", "where=PaymentType%3D%3D%22ACCRECPAYMENT%22", "PaymentID"),
        ("repeating_invoices", "RepeatingInvoices", "where=Type%3D%3D%22ACCREC%22", "RepeatingInvoiceID"),
    ] {
        for page in 1.. {
            let url = format!("{}/api.xro/2.0/{list}?{query}&page={page}&pageSize=1000", s.xero.base_url());
            let body: Value = http
                .get(&url)
                .bearer_auth(&xero_token)
                .header("xero-tenant-id", crate::xero::TENANT_ID)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for r in body[list].as_array().unwrap() {
                seen.insert(RecordKey::new("xero", static_object(object), r[id].as_str().unwrap()));
            }
            if body["pagination"]["pageCount"].as_u64().is_none_or(|n| page >= n) {
                break;
            }
        }
    }

    // Braintree: the two searches with an empty input, as Relay connections.
    let bt = s.braintree.credentials();
    for (object, query) in [
        (
            "customers",
            "query($after: String) { search { customers(input: {}, first: 50, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } } }",
        ),
        (
            "transactions",
            "query($after: String) { search { transactions(input: {}, first: 50, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } } }",
        ),
    ] {
        let mut after = Value::Null;
        loop {
            let body: Value = http
                .post(format!("{}/graphql", s.braintree.base_url()))
                .basic_auth(&bt.public_key, Some(&bt.private_key))
                .header("Braintree-Version", "2025-04-29")
                .json(&json!({"query": query, "variables": {"after": after}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let connection = &body["data"]["search"][object];
            for e in connection["edges"].as_array().unwrap() {
                seen.insert(RecordKey::new("braintree", static_object(object), e["node"]["id"].as_str().unwrap()));
            }
            if connection["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
    }

    // Braintree's subscriptions through the XML gateway: the id search, then pages by id.
    let gateway = |rest: &str, body: String| {
        http.post(format!("{}/merchants/{}/{rest}", s.braintree.gateway_url(), bt.merchant_id))
            .basic_auth(&bt.public_key, Some(&bt.private_key))
            .header("X-ApiVersion", "6")
            .header("Content-Type", "application/xml")
            .body(body)
            .send()
    };
    let text = gateway("subscriptions/advanced_search_ids", "<search/>".into()).await.unwrap().text().await.unwrap();
    let results = accord_core::xml::parse(&text).unwrap();
    let ids: Vec<String> = serde_json::from_value(results["search-results"]["ids"].clone()).unwrap();
    let size = usize::try_from(results["search-results"]["page-size"].as_u64().unwrap()).unwrap();
    for chunk in ids.chunks(size) {
        let items: String = chunk.iter().map(|id| format!("<item>{id}</item>")).collect();
        let body = format!("<search><ids type=\"array\">{items}</ids></search>");
        let text = gateway("subscriptions/advanced_search", body).await.unwrap().text().await.unwrap();
        let page = accord_core::xml::parse(&text).unwrap();
        for r in page["subscriptions"].as_array().unwrap() {
            seen.insert(RecordKey::new("braintree", "subscriptions", r["id"].as_str().unwrap()));
        }
    }

    let expected: BTreeSet<RecordKey> = truth.records.keys().cloned().collect();
    assert_eq!(seen.len(), expected.len());
    assert!(seen == expected, "served records differ from the truth's");
    assert_eq!(deleted, truth.tombstones);
    s.shutdown().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn static_object(name: &str) -> &'static str {
    crate::OBJECTS.iter().map(|(_, o)| *o).find(|o| *o == name).expect("a known object")
}
