//! The store contract: the same cases run against every backend (see `tests/it`).
//! Each function takes a freshly migrated, empty store and panics on a broken promise.

use std::collections::BTreeMap;

use accord_core::{
    AccountId, FieldValue, Hint, KeySpace, ObjectKind, Provenance, RejectReason, Rejection, RuleKind, Timestamp,
    TriedKey,
};
use chrono::TimeZone;
use serde_json::json;

use crate::Store;
use crate::model::*;
use crate::web::*;

fn t(ms: i64) -> Timestamp {
    chrono::Utc.timestamp_millis_opt(ms).unwrap()
}

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

pub fn account(account_id: &str, name: &str) -> AccountRow {
    let mut fields = vec![FieldValue::Null; ObjectKind::Account.fields().len()];
    fields[0] = FieldValue::Text(name.into());
    fields[1] = FieldValue::Time(t(1_600_000_000_000));
    AccountRow {
        account_id: id(account_id),
        status: AccountStatus::Active,
        fields,
        origin: RecordKey::new("crm", "accounts", account_id),
        attributes: json!({"id": account_id, "name": name}),
        first_seen: t(1_700_000_000_000),
        last_seen: t(1_700_000_000_000),
    }
}

pub fn ticket(native_id: &str, account_id: &str, subject: &str) -> RecordRow {
    let mut fields = vec![FieldValue::Null; ObjectKind::Ticket.fields().len()];
    fields[0] = FieldValue::Text(subject.into());
    fields[4] = FieldValue::Time(t(1_700_000_000_000));
    RecordRow {
        key: RecordKey::new("support", "tickets", native_id),
        kind: ObjectKind::Ticket,
        account_id: id(account_id),
        provenance: Provenance { rule: RuleKind::Parent, rule_index: 0, key: "org-1".into() },
        fields,
        payload: json!({"id": native_id, "subject": subject}),
        payload_json: None,
        is_deleted: false,
        first_seen: t(1_700_000_000_000),
        last_seen: t(1_700_000_000_000),
        depends_on: Vec::new(),
    }
}

pub fn user(native_id: &str, account_id: &str, email: &str) -> RecordRow {
    let mut fields = vec![FieldValue::Null; ObjectKind::User.fields().len()];
    fields[0] = FieldValue::Text(email.into());
    fields[4] = FieldValue::Bool(true);
    RecordRow {
        key: RecordKey::new("product", "users", native_id),
        kind: ObjectKind::User,
        account_id: id(account_id),
        provenance: Provenance { rule: RuleKind::Field, rule_index: 0, key: account_id.into() },
        fields,
        payload: json!({"user_id": native_id}),
        payload_json: None,
        is_deleted: false,
        first_seen: t(1_700_000_000_000),
        last_seen: t(1_700_000_000_000),
        depends_on: Vec::new(),
    }
}

/// A usage event with an optional feature use (module, feature, total) or module time.
pub fn event(
    native_id: &str,
    account_id: &str,
    user: &str,
    session: &str,
    at_ms: i64,
    feature: Option<(&str, &str, f64)>,
    time_spent: Option<f64>,
) -> RecordRow {
    let spec = ObjectKind::Event.fields();
    let mut fields = vec![FieldValue::Null; spec.len()];
    let mut set = |name: &str, v: FieldValue| {
        let i = spec.iter().position(|f| f.name == name).unwrap();
        fields[i] = v;
    };
    set("user_id", FieldValue::Text(user.into()));
    set("session_id", FieldValue::Text(session.into()));
    set("created_at", FieldValue::Time(t(at_ms)));
    if let Some((module, feature, total)) = feature {
        set("action", FieldValue::Text("feature".into()));
        set("module", FieldValue::Text(module.into()));
        set("feature", FieldValue::Text(feature.into()));
        set("total", FieldValue::Float(total));
    }
    if let Some(s) = time_spent {
        set("action", FieldValue::Text("moduleEnd".into()));
        set("time_spent", FieldValue::Float(s));
    }
    RecordRow {
        key: RecordKey::new("events", "events", native_id),
        kind: ObjectKind::Event,
        account_id: id(account_id),
        provenance: Provenance { rule: RuleKind::UserMap, rule_index: 1, key: user.into() },
        fields,
        payload: json!({"user_id": user, "created_at": at_ms}),
        payload_json: None,
        is_deleted: false,
        first_seen: t(at_ms),
        last_seen: t(at_ms),
        depends_on: Vec::new(),
    }
}

pub fn rejected_ticket(native_id: &str, key: &str) -> QuarantineRow {
    QuarantineRow {
        key: RecordKey::new("support", "tickets", native_id),
        kind: ObjectKind::Ticket,
        rejection: Rejection {
            reason: RejectReason::UnknownAccount,
            message: format!("no account {key:?}"),
            rule: Some(RuleKind::Field),
            key: Some(key.into()),
            hints: vec![Hint::FloatSuffix { account_id: id("1042") }],
            tried: vec![TriedKey { space: KeySpace::Account, key: key.into() }],
        },
        payload: json!({"id": native_id, "account": key}),
        location: Some("tickets.csv:3".into()),
        seen_at: t(1_700_000_000_000),
    }
}

fn batch() -> WriteBatch {
    WriteBatch::default()
}

pub fn migrations_are_idempotent(store: &dyn Store) {
    assert!(store.migrate().unwrap().is_empty(), "a second migrate applies nothing");
    assert!(store.migrations().unwrap().iter().all(|m| m.applied));
}

pub fn upserts_are_idempotent(store: &dyn Store) {
    let mut b = batch();
    b.accounts = vec![account("1042", "Acme"), account("1043", "Beta")];
    b.records = vec![ticket("T1", "1042", "Login broken"), ticket("T2", "1042", "Invoice")];
    store.apply(&b).unwrap();
    store.apply(&b).unwrap();
    let page = store.accounts(&AccountQuery { page_size: 100, ..Default::default() }).unwrap();
    assert_eq!(page.total, 2);
    let tickets = store
        .records(ObjectKind::Ticket, &RecordQuery { account_id: Some("1042".into()), ..Default::default() }, 0, 100)
        .unwrap();
    assert_eq!(tickets.total, 2);
    let mut later = ticket("T1", "1042", "Login fixed");
    later.first_seen = t(1_800_000_000_000);
    later.last_seen = t(1_800_000_000_000);
    store.apply(&WriteBatch { records: vec![later], ..batch() }).unwrap();
    let t1 = store.record(ObjectKind::Ticket, &RecordKey::new("support", "tickets", "T1")).unwrap().unwrap();
    assert_eq!(t1.field("subject"), &FieldValue::Text("Login fixed".into()));
    assert_eq!(t1.first_seen, t(1_700_000_000_000), "first_seen keeps the first sighting");
    assert_eq!(t1.last_seen, t(1_800_000_000_000));
    assert_eq!(t1.provenance.rule, RuleKind::Parent);
    let a = store.account("1042").unwrap().unwrap();
    assert_eq!(a.text("name"), Some("Acme"));
    assert_eq!(a.field("join_date"), &FieldValue::Time(t(1_600_000_000_000)));
    assert_eq!(a.attributes, json!({"id": "1042", "name": "Acme"}));
}

pub fn account_ids_are_case_sensitive(store: &dyn Store) {
    store.apply(&WriteBatch { accounts: vec![account("acme", "lower"), account("ACME", "upper")], ..batch() }).unwrap();
    assert_eq!(store.account("acme").unwrap().unwrap().text("name"), Some("lower"));
    assert_eq!(store.account("ACME").unwrap().unwrap().text("name"), Some("upper"));
    assert!(store.account("Acme").unwrap().is_none());
}

pub fn quarantine_and_release(store: &dyn Store) {
    store.apply(&WriteBatch { accounts: vec![account("1042", "Acme")], ..batch() }).unwrap();
    let q = rejected_ticket("T9", "1042.0");
    store.apply(&WriteBatch { quarantine: vec![q.clone()], ..batch() }).unwrap();
    store.apply(&WriteBatch { quarantine: vec![q], ..batch() }).unwrap();
    let page = store.quarantine(&QuarantineQuery::default(), 0, 10).unwrap();
    assert_eq!(page.total, 1);
    let e = &page.items[0];
    assert_eq!(e.attempts, 2, "a re-seen rejection counts an attempt");
    assert_eq!(e.rejection.reason, RejectReason::UnknownAccount);
    assert_eq!(e.rejection.hints, vec![Hint::FloatSuffix { account_id: id("1042") }]);
    assert_eq!(e.location.as_deref(), Some("tickets.csv:3"));
    assert_eq!(store.quarantine_entry(e.id).unwrap().unwrap().key.native_id, "T9");
    let by_key = store.quarantine_by_keys(&[TriedKey { space: KeySpace::Account, key: "1042.0".into() }]).unwrap();
    assert_eq!(by_key.len(), 1);
    // Account 1042 appearing would give the rejection its hint: the rejection watches that id.
    let near = store.quarantine_by_keys(&[TriedKey { space: KeySpace::AccountNear, key: "1042".into() }]).unwrap();
    assert_eq!(near.len(), 1);
    assert!(store.quarantine_by_keys(&[TriedKey { space: KeySpace::Account, key: "1042".into() }]).unwrap().is_empty());
    assert!(
        store.quarantine_by_keys(&[TriedKey { space: KeySpace::AccountNear, key: "1043".into() }]).unwrap().is_empty()
    );
    let mut keys = Vec::new();
    store.for_each_quarantine_key(&mut |k| keys.push(k)).unwrap();
    assert_eq!(keys, vec![TriedKey { space: KeySpace::Account, key: "1042.0".into() }], "hint keys are not tried keys");
    let near = store.quarantine_near("1042").unwrap();
    assert_eq!(near.len(), 1, "a hint naming the account puts the rejection near it");
    let filtered = QuarantineQuery { reason: Some(RejectReason::Ambiguous), ..Default::default() };
    assert_eq!(store.quarantine(&filtered, 0, 10).unwrap().total, 0);
    assert_eq!(
        store.quarantine_summary().unwrap(),
        vec![("support".into(), "tickets".into(), "unknown_account".into(), 1)]
    );

    // The record links later: it leaves the quarantine and its keys.
    store.apply(&WriteBatch { records: vec![ticket("T9", "1042", "late")], ..batch() }).unwrap();
    assert_eq!(store.quarantine(&QuarantineQuery::default(), 0, 10).unwrap().total, 0);
    assert_eq!(store.quarantine_key_count(u64::MAX).unwrap(), 0);

    // And a linked record that stops linking moves back to the quarantine, out of its table.
    store.apply(&WriteBatch { quarantine: vec![rejected_ticket("T9", "999")], ..batch() }).unwrap();
    assert!(store.record(ObjectKind::Ticket, &RecordKey::new("support", "tickets", "T9")).unwrap().is_none());
    assert_eq!(store.quarantine(&QuarantineQuery::default(), 0, 10).unwrap().total, 1);
}

pub fn an_account_releases_its_sor_rejection(store: &dyn Store) {
    let mut q = rejected_ticket("1042", "1042");
    q.key = RecordKey::new("crm", "accounts", "1042");
    q.kind = ObjectKind::Account;
    q.rejection.reason = RejectReason::DeletedAccount;
    store.apply(&WriteBatch { quarantine: vec![q], ..batch() }).unwrap();
    assert_eq!(store.quarantine(&QuarantineQuery::default(), 0, 10).unwrap().total, 1);
    store.apply(&WriteBatch { accounts: vec![account("1042", "Acme")], ..batch() }).unwrap();
    assert_eq!(store.quarantine(&QuarantineQuery::default(), 0, 10).unwrap().total, 0);
    assert_eq!(store.quarantine_key_count(u64::MAX).unwrap(), 0);
}

pub fn tombstones_keep_history(store: &dyn Store) {
    store
        .apply(&WriteBatch {
            accounts: vec![account("1042", "Acme")],
            records: vec![ticket("T1", "1042", "x")],
            ..batch()
        })
        .unwrap();
    let key = RecordKey::new("support", "tickets", "T1");
    store.apply(&WriteBatch { tombstones: vec![(ObjectKind::Ticket, key.clone())], ..batch() }).unwrap();
    assert!(store.record(ObjectKind::Ticket, &key).unwrap().unwrap().is_deleted);
    assert!(store.record_counts("1042").unwrap().is_empty(), "deleted records are not counted");
    let mut seen = Vec::new();
    store.load_index(&[ObjectKind::Ticket], &mut |r| seen.push(r)).unwrap();
    assert!(!seen.iter().any(|r| matches!(r, IndexRow::Link { .. })), "deleted records are not in the id map");
    store.apply(&WriteBatch { records: vec![ticket("T1", "1042", "x")], ..batch() }).unwrap();
    assert!(!store.record(ObjectKind::Ticket, &key).unwrap().unwrap().is_deleted, "a re-seen record is live again");
}

pub fn dependency_keys_follow_the_record(store: &dyn Store) {
    let email = TriedKey { space: KeySpace::Email, key: "ann@acme.io".into() };
    let org = TriedKey { space: KeySpace::Map("support/orgs".into()), key: "org-1".into() };
    let mut t1 = ticket("T1", "1042", "x");
    t1.depends_on = vec![org.clone(), email.clone()];
    let mut t2 = ticket("T2", "1042", "y");
    t2.depends_on = vec![org.clone()];
    store.apply(&WriteBatch { accounts: vec![account("1042", "Acme")], records: vec![t1, t2], ..batch() }).unwrap();
    let keys = |k: &[TriedKey]| store.linked_by_keys(k).unwrap().into_iter().map(|r| r.native_id).collect::<Vec<_>>();
    assert_eq!(keys(std::slice::from_ref(&org)), ["T1", "T2"]);
    assert_eq!(keys(&[email.clone(), org.clone()]), ["T1", "T2"], "each record once");
    assert_eq!(keys(std::slice::from_ref(&email)), ["T1"]);
    let linked = store.linked_to_accounts(&[ObjectKind::Ticket, ObjectKind::Event], &["1042".into()]).unwrap();
    assert_eq!(linked.len(), 2);
    // Re-linked without the email: the old keys go.
    store.apply(&WriteBatch { records: vec![ticket("T1", "1042", "x")], ..batch() }).unwrap();
    assert!(keys(std::slice::from_ref(&email)).is_empty());
    // Rejected, or deleted: no keys, and not linked to the account any more.
    store.apply(&WriteBatch { quarantine: vec![rejected_ticket("T2", "404")], ..batch() }).unwrap();
    assert!(keys(std::slice::from_ref(&org)).is_empty());
    store
        .apply(&WriteBatch {
            tombstones: vec![(ObjectKind::Ticket, RecordKey::new("support", "tickets", "T1"))],
            ..batch()
        })
        .unwrap();
    assert!(store.linked_to_accounts(&[ObjectKind::Ticket], &["1042".into()]).unwrap().is_empty());
}

pub fn a_full_pass_finds_what_it_did_not_return(store: &dyn Store) {
    store
        .apply(&WriteBatch {
            accounts: vec![account("1042", "Acme")],
            records: vec![ticket("T1", "1042", "x"), ticket("T2", "1042", "y"), ticket("T3", "1042", "z")],
            quarantine: vec![rejected_ticket("T4", "404")],
            ..batch()
        })
        .unwrap();
    assert_eq!(
        store.pass_state(ObjectKind::Ticket, "support", "tickets", "p1").unwrap(),
        PassState::New { holds_records: true }
    );
    assert_eq!(
        store.pass_state(ObjectKind::Ticket, "support", "other", "p1").unwrap(),
        PassState::New { holds_records: false }
    );
    let seen = |ids: &[&str], complete: bool| WriteBatch {
        seen_in_pass: Some(SeenInPass {
            source: "support".into(),
            object: "tickets".into(),
            pass: "p1".into(),
            native_ids: ids.iter().map(|s| s.to_string()).collect(),
            complete,
            reconcile: true,
        }),
        ..batch()
    };
    store.apply(&seen(&["T1"], false)).unwrap();
    assert_eq!(store.pass_state(ObjectKind::Ticket, "support", "tickets", "p1").unwrap(), PassState::Marking);
    store.apply(&seen(&["T3", "T9"], false)).unwrap();
    let unseen = store.unseen_in_pass(ObjectKind::Ticket, "support", "tickets", "p1").unwrap();
    assert_eq!(unseen, ["T2", "T4"], "live and quarantined records the pass did not return");
    // Another pass has seen nothing.
    assert_eq!(store.unseen_in_pass(ObjectKind::Ticket, "support", "tickets", "p2").unwrap().len(), 4);
    store.apply(&seen(&[], true)).unwrap();
    assert_eq!(store.unseen_in_pass(ObjectKind::Ticket, "support", "tickets", "p1").unwrap().len(), 4, "marks cleared");
    assert!(store.unseen_in_pass(ObjectKind::Event, "support", "tickets", "p1").unwrap().is_empty());
    // A pass that reconciles nothing notes it once, so a resumed one knows.
    let quiet = WriteBatch {
        seen_in_pass: Some(SeenInPass {
            source: "support".into(),
            object: "other".into(),
            pass: "p3".into(),
            native_ids: vec!["X1".into()],
            complete: false,
            reconcile: false,
        }),
        ..batch()
    };
    store.apply(&quiet).unwrap();
    assert_eq!(store.pass_state(ObjectKind::Ticket, "support", "other", "p3").unwrap(), PassState::NotReconciling);
    // For the System of Record, the accounts it created are what accord holds.
    let unseen = store.unseen_in_pass(ObjectKind::Account, "crm", "accounts", "p1").unwrap();
    assert_eq!(unseen, ["1042"]);
}

pub fn delete_list_and_status(store: &dyn Store) {
    store.apply(&WriteBatch { accounts: vec![account("9", "Gone"), account("10", "Here")], ..batch() }).unwrap();
    store
        .apply(&WriteBatch {
            account_status: vec![(id("9"), AccountStatus::Deleted)],
            delete_list: vec![DeleteListChange::Add { account_id: id("9"), reason: "churned".into() }],
            ..batch()
        })
        .unwrap();
    let list = store.delete_list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].0.as_str(), list[0].2.as_str()), ("9", "churned"));
    assert_eq!(store.account("9").unwrap().unwrap().status, AccountStatus::Deleted);
    let active = store.accounts(&AccountQuery { page_size: 10, ..Default::default() }).unwrap();
    assert_eq!(active.items.iter().map(|a| a.account_id.as_str()).collect::<Vec<_>>(), vec!["10"]);
    let all = AccountQuery {
        statuses: vec![AccountStatus::Active, AccountStatus::Deleted],
        page_size: 10,
        ..Default::default()
    };
    assert_eq!(store.accounts(&all).unwrap().total, 2);
    store
        .apply(&WriteBatch { delete_list: vec![DeleteListChange::Remove { account_id: id("9") }], ..batch() })
        .unwrap();
    assert!(store.delete_list().unwrap().is_empty());
}

pub fn checkpoints_and_runs(store: &dyn Store) {
    let run = store.start_run("support").unwrap();
    let mut counts = RunCounts { fetched: 3, linked: 2, ..Default::default() };
    counts.reject(RejectReason::UnknownAccount);
    let cp = Checkpoint { source: "support".into(), stream: "tickets".into(), cursor: json!({"offset": 3}) };
    store.apply(&WriteBatch { checkpoint: Some(cp.clone()), run: Some((run, counts.clone())), ..batch() }).unwrap();
    store
        .apply(&WriteBatch {
            checkpoint: Some(Checkpoint { cursor: json!({"offset": 6}), ..cp }),
            run: Some((run, counts)),
            ..batch()
        })
        .unwrap();
    assert_eq!(store.checkpoint("support", "tickets").unwrap(), Some(json!({"offset": 6})));
    assert_eq!(store.checkpoint("support", "orgs").unwrap(), None);
    store.finish_run(run, "ok", None).unwrap();
    let runs = store.runs(Some("support"), 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "ok");
    assert_eq!((runs[0].counts.fetched, runs[0].counts.linked, runs[0].counts.rejected), (6, 4, 2));
    assert_eq!(runs[0].counts.rejected_by_reason, BTreeMap::from([("unknown_account".into(), 2)]));
    assert!(runs[0].finished_at.is_some());
    store.clear_checkpoints("support").unwrap();
    assert_eq!(store.checkpoint("support", "tickets").unwrap(), None);
}

pub fn a_failed_batch_writes_nothing(store: &dyn Store) {
    let cp = Checkpoint { source: "s".into(), stream: "x".into(), cursor: json!(1) };
    let bad = WriteBatch {
        records: vec![ticket("T1", "1042", "x")],
        checkpoint: Some(cp),
        run: Some((999_999, RunCounts::default())),
        ..batch()
    };
    assert!(store.apply(&bad).is_err(), "a batch naming an unknown run fails");
    assert!(store.record(ObjectKind::Ticket, &RecordKey::new("support", "tickets", "T1")).unwrap().is_none());
    assert_eq!(store.checkpoint("s", "x").unwrap(), None, "the checkpoint rolled back with the records");
}

pub fn index_loads_links_emails_and_filtered(store: &dyn Store) {
    let mut filtered = rejected_ticket("77", "77");
    filtered.key = RecordKey::new("crm", "accounts", "77");
    filtered.kind = ObjectKind::Account;
    filtered.rejection.reason = RejectReason::FilteredAccount;
    store
        .apply(&WriteBatch {
            accounts: vec![account("1042", "Acme")],
            records: vec![user("u1", "1042", "ann@acme.io"), ticket("T1", "1042", "x")],
            quarantine: vec![filtered],
            domains: vec![DomainRow { domain: "acme.io".into(), account_id: id("1042"), origin: "config".into() }],
            ..batch()
        })
        .unwrap();
    let mut rows = Vec::new();
    store.load_index(&[ObjectKind::User], &mut |r| rows.push(r)).unwrap();
    assert!(rows.iter().any(|r| matches!(r, IndexRow::Account(a) if a.account_id.as_str() == "1042")));
    assert!(rows.iter().any(|r| matches!(r, IndexRow::Filtered { account_id, .. } if account_id == "77")));
    assert!(rows.iter().any(|r| matches!(r, IndexRow::Domain(d) if d.domain == "acme.io")));
    assert!(rows.iter().any(
        |r| matches!(r, IndexRow::Link { key, email: Some(e), .. } if key.native_id == "u1" && e == "ann@acme.io")
    ));
    assert!(!rows.iter().any(|r| matches!(r, IndexRow::Link { kind: ObjectKind::Ticket, .. })), "only asked kinds");
}

pub fn paging_and_order(store: &dyn Store) {
    let accounts: Vec<_> = (0..25).map(|i| account(&format!("A{i:02}"), &format!("Name {}", 24 - i))).collect();
    store.apply(&WriteBatch { accounts, ..batch() }).unwrap();
    let q = |page, order, descending| AccountQuery { page, page_size: 10, order, descending, ..Default::default() };
    let p0 = store.accounts(&q(0, AccountOrder::AccountId, false)).unwrap();
    assert_eq!((p0.total, p0.items.len()), (25, 10));
    assert_eq!(p0.items[0].account_id.as_str(), "A00");
    let p2 = store.accounts(&q(2, AccountOrder::AccountId, false)).unwrap();
    assert_eq!(p2.items.len(), 5);
    assert_eq!(p2.items[4].account_id.as_str(), "A24");
    let by_name = store.accounts(&q(0, AccountOrder::Name, false)).unwrap();
    assert_eq!(by_name.items[0].text("name"), Some("Name 0"));
    let desc = store.accounts(&q(0, AccountOrder::AccountId, true)).unwrap();
    assert_eq!(desc.items[0].account_id.as_str(), "A24");
    let records: Vec<_> = (0..15).map(|i| ticket(&format!("T{i:02}"), "A00", "s")).collect();
    store.apply(&WriteBatch { records, ..batch() }).unwrap();
    let p1 = store
        .records(ObjectKind::Ticket, &RecordQuery { account_id: Some("A00".into()), ..Default::default() }, 1, 10)
        .unwrap();
    assert_eq!((p1.total, p1.items.len()), (15, 5));
    let mut n = 0;
    store.for_each_record(ObjectKind::Ticket, "support", "tickets", &mut |_| n += 1).unwrap();
    assert_eq!(n, 15);
    let stats = store.object_stats(ObjectKind::Ticket, "support", "tickets").unwrap();
    assert_eq!((stats.linked, stats.accounts_covered), (15, 1));
}

pub fn events_count_once_and_roll_up(store: &dyn Store) {
    let day = 1_714_521_600_000; // 2024-05-01T00:00Z
    let hour = 3_600_000;
    let batch = |events: Vec<RecordRow>| WriteBatch { records: events, ..WriteBatch::default() };
    let first = vec![
        event("e1", "A", "u1", "s1", day + 10, Some(("reports", "export", 2.0)), None),
        event("e2", "A", "u2", "s2", day + hour + 10, Some(("reports", "export", 1.0)), None),
        event("e3", "A", "u1", "s1", day + 20, None, Some(120.0)),
    ];
    let outcome = store.apply(&batch(first.clone())).unwrap();
    assert_eq!((outcome.new_events, outcome.duplicate_events), (3, 0));
    // The same events again, plus one new: only the new one counts.
    let mut again = first;
    again.push(event("e4", "A", "u3", "s3", day + 2 * 86_400_000, Some(("billing", "pay", 1.0)), None));
    let outcome = store.apply(&batch(again)).unwrap();
    assert_eq!((outcome.new_events, outcome.duplicate_events), (1, 3));
    let u = store.usage("A", day, day + 86_400_000).unwrap();
    assert_eq!(u.events, 3);
    assert_eq!(u.feature_total, 3.0);
    assert_eq!(u.time_spent, 120.0);
    assert_eq!((u.active_users, u.sessions), (2, 2));
    assert_eq!(u.features[0].feature, "export");
    assert_eq!(u.features[0].events, 2);
    assert_eq!(u.days.len(), 1);
    assert_eq!(u.days[0].active_users, 2);
    assert_eq!(store.active_users("A", day, day + 3 * 86_400_000).unwrap(), 3);
    assert_eq!(store.active_users("B", day, day + 3 * 86_400_000).unwrap(), 0);
    let events_of_a = || {
        let counts = store.record_counts("A").unwrap();
        counts.iter().filter(|c| c.kind == ObjectKind::Event).map(|c| c.count).sum::<u64>()
    };
    assert_eq!(events_of_a(), 4, "an account's events are counted once each");
    // Retention removes raw events but keeps the rollups (and the counts).
    assert_eq!(store.prune_events(day + 86_400_000).unwrap(), 3);
    assert_eq!(events_of_a(), 4);
    let left = store.records(ObjectKind::Event, &RecordQuery::default(), 0, 10).unwrap();
    assert_eq!(left.total, 1);
    assert_eq!(store.usage("A", day, day + 86_400_000).unwrap().events, 3);
}

/// Reads over any window (whole days from the daily tables, edges from the hourly rows) give what
/// the events themselves say: an hourly bucket counts when it starts inside the window, and a
/// session in the hour of its earliest event. Events arrive out of time order.
pub fn usage_over_any_window_matches_the_events(store: &dyn Store) {
    use std::collections::{BTreeMap, BTreeSet};
    let (hour, day) = (3_600_000_i64, 86_400_000_i64);
    let start = 1_714_521_600_000 - 3 * day; // a few days before 2024-05-01T00:00Z
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let (modules, features) = (["reports", "billing"], ["export", "pay", "share"]);
    let mut events = Vec::new();
    for i in 0..600 {
        let account = if next(4) == 0 { "B" } else { "A" };
        let user = if next(10) == 0 { String::new() } else { format!("u{}", next(12)) };
        let at = start + next(12 * day as u64) as i64;
        let feature =
            (next(5) > 0).then(|| (modules[next(2) as usize], features[next(3) as usize], 1.0 + next(3) as f64));
        let spent = feature.is_none().then(|| next(100) as f64);
        events.push((account, user.clone(), at, feature, spent));
        let e = event(&format!("w{i}"), account, &user, &format!("s-{user}-{}", at / (5 * hour)), at, feature, spent);
        store.apply(&WriteBatch { records: vec![e], ..WriteBatch::default() }).unwrap();
    }
    let ceil_hour = |ms: i64| ms.div_euclid(hour) * hour + if ms.rem_euclid(hour) == 0 { 0 } else { hour };
    let windows = [
        (start, start + 12 * day),
        (start + 10 * hour + 7, start + 9 * day + 5 * hour + 1),
        (start + day, start + 3 * day),
        (start + 2 * day - 1, start + 2 * day + 30 * hour),
        (start + 5 * day + 3 * hour, start + 5 * day + 20 * hour),
        (start + 4 * day, start + 4 * day),
    ];
    for (from, to) in windows {
        let inside: Vec<_> = events
            .iter()
            .filter(|(a, _, at, _, _)| {
                let b = at.div_euclid(hour) * hour;
                *a == "A" && b >= ceil_hour(from) && b < to
            })
            .collect();
        let u = store.usage("A", from, to).unwrap();
        let what = format!("window {from}..{to}");
        assert_eq!(u.events, inside.len() as i64, "{what}");
        let total: f64 = inside.iter().filter_map(|e| e.3.map(|f| f.2)).sum();
        assert_eq!(u.feature_total, total, "{what}");
        let spent: f64 = inside.iter().filter_map(|e| e.4).sum();
        assert_eq!(u.time_spent, spent, "{what}");
        let users: BTreeSet<&str> = inside.iter().map(|e| e.1.as_str()).filter(|u| !u.is_empty()).collect();
        assert_eq!(u.active_users, users.len() as u64, "{what}");
        assert_eq!(store.active_users("A", from, to).unwrap(), users.len() as u64, "{what}");
        // A session counts in the hour of its earliest event.
        let mut starts: BTreeMap<String, i64> = BTreeMap::new();
        for (a, user, at, _, _) in &events {
            if *a == "A" {
                let first = starts.entry(format!("s-{user}-{}", at / (5 * hour))).or_insert(i64::MAX);
                *first = (*first).min(at.div_euclid(hour) * hour);
            }
        }
        let started = starts.values().filter(|b| **b >= ceil_hour(from) && **b < to).count();
        assert_eq!(u.sessions, started as u64, "{what}");
        let mut per_feature: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for e in &inside {
            let (m, f) = e.3.map_or(("", ""), |f| (f.0, f.1));
            *per_feature.entry((m, f)).or_default() += 1;
        }
        let got: BTreeMap<(&str, &str), i64> =
            u.features.iter().map(|f| ((f.module.as_str(), f.feature.as_str()), f.events)).collect();
        assert_eq!(got, per_feature, "{what}");
        assert!(u.features.windows(2).all(|w| w[0].events >= w[1].events), "{what}: most used first");
        let mut per_day: BTreeMap<i64, (i64, BTreeSet<&str>)> = BTreeMap::new();
        for e in &inside {
            let d = per_day.entry(e.2.div_euclid(day) * day).or_default();
            d.0 += 1;
            if !e.1.is_empty() {
                d.1.insert(&e.1);
            }
        }
        let want: Vec<(i64, i64, u64)> = per_day.iter().map(|(d, (n, u))| (*d, *n, u.len() as u64)).collect();
        let got: Vec<(i64, i64, u64)> = u.days.iter().map(|d| (d.day, d.events, d.active_users)).collect();
        assert_eq!(got, want, "{what}");
        let pairs: BTreeSet<(i64, String)> =
            per_day.iter().flat_map(|(d, (_, users))| users.iter().map(|u| (*d, (*u).to_owned()))).collect();
        let daily: BTreeSet<(i64, String)> = store.web_daily_users("A", from, to).unwrap().into_iter().collect();
        assert_eq!(daily, pairs, "{what}");
    }
}

pub fn metrics_upsert_per_day(store: &dyn Store) {
    let m = |name: &str, day: i64, value: f64| MetricRow { account_id: id("A"), name: name.into(), day: t(day), value };
    store
        .apply(&WriteBatch {
            metrics: vec![m("seats", 0, 10.0), m("seats", 86_400_000, 12.0)],
            ..WriteBatch::default()
        })
        .unwrap();
    store.apply(&WriteBatch { metrics: vec![m("seats", 86_400_000, 14.0)], ..WriteBatch::default() }).unwrap();
    let page = store
        .metrics(&MetricQuery { account_id: Some("A".into()), name: Some("seats".into()), ..Default::default() }, 0, 10)
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].value, 14.0, "newest day first, last write wins");
    assert_eq!(store.metrics(&MetricQuery { name: Some("nps".into()), ..Default::default() }, 0, 10).unwrap().total, 0);
}

pub fn record_queries_filter(store: &dyn Store) {
    store
        .apply(&WriteBatch {
            records: vec![user("u1", "A", "a@x.io"), user("u2", "B", "b@x.io")],
            ..WriteBatch::default()
        })
        .unwrap();
    let q = |native: &str| RecordQuery { native_id: Some(native.into()), ..Default::default() };
    let page = store.records(ObjectKind::User, &q("u2"), 0, 10).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].account_id.as_str(), "B");
    let all = store
        .records(ObjectKind::User, &RecordQuery { source: Some("product".into()), ..Default::default() }, 0, 10)
        .unwrap();
    assert_eq!(all.total, 2);
}

pub fn listings_order_by_a_column(store: &dyn Store) {
    let mut u3 = user("u3", "A", "a@x.io");
    u3.fields[0] = FieldValue::Null;
    store
        .apply(&WriteBatch {
            records: vec![user("u1", "A", "c@x.io"), user("u2", "A", "b@x.io"), u3],
            metrics: vec![
                MetricRow { account_id: id("A"), name: "seats".into(), day: t(0), value: 3.0 },
                MetricRow { account_id: id("A"), name: "nps".into(), day: t(0), value: 9.0 },
            ],
            ..WriteBatch::default()
        })
        .unwrap();
    let ids = |order: &str, descending: bool| -> Vec<String> {
        let q = RecordQuery { order_by: Some(order.into()), descending, ..Default::default() };
        store.records(ObjectKind::User, &q, 0, 10).unwrap().items.into_iter().map(|r| r.key.native_id).collect()
    };
    assert_eq!(ids("native_id", true), ["u3", "u2", "u1"]);
    assert_eq!(ids("native_id", false), ["u1", "u2", "u3"]);
    assert_eq!(ids("email", false), ["u3", "u2", "u1"], "NULL first ascending");
    assert_eq!(ids("email", true), ["u1", "u2", "u3"], "NULL last descending");
    let bad = RecordQuery { order_by: Some("payload".into()), ..Default::default() };
    assert!(store.records(ObjectKind::User, &bad, 0, 10).is_err(), "only listed columns");
    let q = MetricQuery { order_by: Some("value".into()), descending: true, ..Default::default() };
    let names: Vec<String> = store.metrics(&q, 0, 10).unwrap().items.into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["nps", "seats"]);
    store
        .apply(&WriteBatch { accounts: vec![account("B", "Zed"), account("C", "Ann")], ..Default::default() })
        .unwrap();
    let q = AccountQuery { order: AccountOrder::Field("name"), descending: true, page_size: 10, ..Default::default() };
    let names: Vec<String> =
        store.accounts(&q).unwrap().items.iter().map(|a| a.text("name").unwrap_or_default().to_owned()).collect();
    assert_eq!(names, ["Zed", "Ann"]);
}

pub fn account_entries_merge_and_delete(store: &dyn Store) {
    let e = |account: &str, field: &str, key: &str, value: serde_json::Value| AccountEntry {
        account_id: account.into(),
        field: field.into(),
        entry_key: key.into(),
        entry: value,
    };
    store
        .put_account_entries(&[
            e("A", "custom_value_dimensions", "seats", json!({"key": "seats", "value": 10})),
            e("A", "assigned_csms", "x@y.io", json!({"email": "x@y.io"})),
            e("B", "custom_value_dimensions", "seats", json!({"key": "seats", "value": 1})),
        ])
        .unwrap();
    store
        .put_account_entries(&[
            e("A", "custom_value_dimensions", "seats", json!({"key": "seats", "value": 12})),
            e("A", "custom_value_dimensions", "users", json!({"key": "users", "value": 3})),
        ])
        .unwrap();
    let a = store.account_entries(&["A".into()]).unwrap();
    let keys: Vec<(&str, &str)> = a.iter().map(|e| (e.field.as_str(), e.entry_key.as_str())).collect();
    assert_eq!(
        keys,
        [("assigned_csms", "x@y.io"), ("custom_value_dimensions", "seats"), ("custom_value_dimensions", "users")]
    );
    assert_eq!(a[1].entry["value"], json!(12), "an entry is replaced by its key");
    assert!(store.delete_account_entry("A", "custom_value_dimensions", "seats").unwrap());
    assert!(!store.delete_account_entry("A", "custom_value_dimensions", "seats").unwrap());
    assert_eq!(store.account_entries(&["A".into()]).unwrap().len(), 2);
    assert_eq!(store.account_entries(&["A".into(), "B".into()]).unwrap().len(), 3);
    assert!(store.account_entries(&[]).unwrap().is_empty());
    assert_eq!(store.table_counts().unwrap()["account_entries"], 3);
}

pub fn metric_definitions_by_name(store: &dyn Store) {
    assert_eq!(store.metric_definition("seats").unwrap(), None);
    let def = |description: &str| MetricDefinition {
        name: "seats".into(),
        definition: json!({"name": "seats", "description": description}),
        updated_at: t(1_700_000_000_000),
    };
    store.put_metric_definition(&def("first")).unwrap();
    store.put_metric_definition(&def("Seats in use")).unwrap();
    assert_eq!(store.metric_definition("seats").unwrap(), Some(def("Seats in use")));
    store
        .apply(&WriteBatch {
            metrics: vec![
                MetricRow { account_id: id("A"), name: "seats".into(), day: t(0), value: 3.0 },
                MetricRow { account_id: id("A"), name: "nps".into(), day: t(0), value: 9.0 },
            ],
            ..WriteBatch::default()
        })
        .unwrap();
    assert!(store.delete_metric("seats").unwrap());
    assert_eq!(store.metric_definition("seats").unwrap(), None);
    let left = store.metrics(&MetricQuery::default(), 0, 10).unwrap();
    assert_eq!(left.items.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["nps"], "other metrics stay");
    assert!(!store.delete_metric("seats").unwrap());
    assert!(store.delete_metric("nps").unwrap(), "values alone are a metric too");
}

pub fn export_import_round_trips(store: &dyn Store) {
    store
        .apply(&WriteBatch {
            accounts: vec![account("1042", "Acme")],
            records: vec![ticket("T1", "1042", "x"), user("u1", "1042", "a@x.io")],
            quarantine: vec![rejected_ticket("T9", "1042.0")],
            ..WriteBatch::default()
        })
        .unwrap();
    let counts = store.table_counts().unwrap();
    assert_eq!((counts["accounts"], counts["support_tickets"], counts["quarantine"]), (1, 1, 1));
    let mut rows = Vec::new();
    store.export_table("support_tickets", &mut |r| rows.push(r)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["native_id"], json!("T1"));
    // Re-importing into the same table collides with the row already there.
    assert!(store.import_rows("support_tickets", &rows).is_err());
    assert!(store.export_table("no_such_table", &mut |_| {}).is_err());
}

fn web_user(name: &str, role: &str, hash: &str, at: i64) -> WebUser {
    WebUser { name: name.into(), role: role.into(), password_hash: hash.into(), created_at: t(at), updated_at: t(at) }
}

pub fn web_users_and_sessions(store: &dyn Store) {
    assert!(store.web_put_user(&web_user("bo", "viewer", "$argon2id$a", 1_000)).unwrap(), "a new user");
    assert!(store.web_put_user(&web_user("al", "admin", "$argon2id$b", 1_000)).unwrap());
    assert!(!store.web_put_user(&web_user("bo", "operator", "$argon2id$c", 2_000)).unwrap(), "replaced");
    let bo = store.web_user("bo").unwrap().unwrap();
    assert_eq!((bo.role.as_str(), bo.password_hash.as_str()), ("operator", "$argon2id$c"));
    assert_eq!((bo.created_at, bo.updated_at), (t(1_000), t(2_000)), "created_at is kept");
    assert_eq!(store.web_users().unwrap().iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["al", "bo"]);
    assert!(store.web_user("Bo").unwrap().is_none(), "names are exact");

    let session = |hash: &str, user: &str, at: i64| WebSession {
        token_hash: hash.into(),
        user_name: user.into(),
        created_at: t(at),
        expires_at: t(at + 1_000),
    };
    store.web_put_session(&session("h1", "bo", 10_000)).unwrap();
    store.web_put_session(&session("h2", "bo", 10_500)).unwrap();
    store.web_put_session(&session("h3", "al", 10_500)).unwrap();
    assert_eq!(store.web_session("h1", 10_999).unwrap().unwrap().user_name, "bo");
    assert!(store.web_session("h1", 11_000).unwrap().is_none(), "expired at expires_at");
    assert!(store.web_session("nope", 10_000).unwrap().is_none());
    // A new session sweeps the expired ones.
    store.web_put_session(&session("h4", "al", 11_200)).unwrap();
    assert!(store.web_session("h1", 0).unwrap().is_none(), "h1 expired at 11,000 and was removed");
    assert!(store.web_session("h2", 11_200).unwrap().is_some());
    store.web_remove_session("h4").unwrap();
    assert!(store.web_session("h4", 11_200).unwrap().is_none());
    assert_eq!(store.web_remove_sessions_of("bo").unwrap(), 1);
    assert!(store.web_session("h2", 11_200).unwrap().is_none());
    assert!(store.web_remove_user("al").unwrap());
    assert!(!store.web_remove_user("al").unwrap());
    assert!(store.web_session("h3", 11_000).unwrap().is_none(), "a removed user's sessions go with it");
}

pub fn web_signin_failures_are_counted(store: &dyn Store) {
    for at in [100, 200, 300] {
        store.web_signin_failed("bo", at, 0).unwrap();
    }
    store.web_signin_failed("al", 300, 0).unwrap();
    assert_eq!(store.web_signin_failures("bo", 150).unwrap(), [200, 300]);
    assert_eq!(store.web_signin_failures("bo", 0).unwrap().len(), 3);
    store.web_signin_failed("al", 400, 250).unwrap();
    assert_eq!(store.web_signin_failures("bo", 0).unwrap(), [300], "failures before 250 are forgotten");
    store.web_clear_signin_failures("al").unwrap();
    assert!(store.web_signin_failures("al", 0).unwrap().is_empty());
    assert_eq!(store.web_signin_failures("bo", 0).unwrap(), [300]);
}

pub fn webhook_deliveries_are_remembered_once(store: &dyn Store) {
    assert!(store.remember_delivery("stripe", "t=100,v1=ab", 100, 0).unwrap());
    assert!(!store.remember_delivery("stripe", "t=100,v1=ab", 150, 0).unwrap(), "a replay");
    assert!(store.remember_delivery("zendesk", "t=100,v1=ab", 150, 0).unwrap(), "per source");
    assert!(store.remember_delivery("stripe", "t=200,v1=cd", 200, 120).unwrap());
    // Forgotten once older than the tolerance (a replay of it then fails its timestamp check).
    assert!(store.remember_delivery("stripe", "t=100,v1=ab", 300, 120).unwrap());
}

pub fn propagation_writes_are_audited(store: &dyn Store) {
    let entry = |id: &str| PropagationEntry {
        id: 0,
        at_ms: 1_000,
        key: RecordKey::new("zendesk", "organizations", id),
        field: "external_id".into(),
        old_value: None,
        new_value: "A1".into(),
        status: "pending".into(),
        answer: None,
    };
    let a = store.propagation_begin(&entry("1")).unwrap();
    let b = store.propagation_begin(&entry("2")).unwrap();
    assert_ne!(a, b);
    store.propagation_finish(a, "written", Some("PUT /api/v2/organizations/1.json: stored"), 2_000).unwrap();
    assert_eq!(store.propagation_interrupted().unwrap(), 1, "the one a stopped run left pending");
    let h = store.propagation_history(10).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].id, h[0].status.as_str()), (b, "interrupted"), "newest first");
    assert_eq!(
        (h[1].status.as_str(), h[1].at_ms, h[1].answer.as_deref()),
        ("written", 2_000, Some("PUT /api/v2/organizations/1.json: stored"))
    );
    assert_eq!(h[1].key, RecordKey::new("zendesk", "organizations", "1"));
}

pub fn web_accounts_search_filter_and_summaries(store: &dyn Store) {
    let plan = |id: &str, name: &str, plan: &str| {
        let mut a = account(id, name);
        a.attributes = json!({"id": id, "name": name, "Plan": plan, "Seats": 5});
        a
    };
    let mut closed = ticket("T2", "1042", "done");
    closed.fields[1] = FieldValue::Text("Solved".into());
    store
        .apply(&WriteBatch {
            accounts: vec![
                plan("1042", "Acme 100%", "Enterprise"),
                plan("7", "Globex", "Starter"),
                plan("8", "acme_b", "Starter"),
            ],
            records: vec![
                ticket("T1", "1042", "open one"),
                closed,
                event("e1", "1042", "u1", "s1", 1_714_550_400_000, None, None),
                event("e2", "1042", "u2", "s1", 1_714_640_400_000, None, None),
            ],
            quarantine: vec![rejected_ticket("T9", "1042.0")],
            ..WriteBatch::default()
        })
        .unwrap();
    let ids = |search: &AccountSearch| {
        let page = store.web_accounts(search).unwrap();
        (page.total, page.items.iter().map(|a| a.account_id.to_string()).collect::<Vec<_>>())
    };
    let base = AccountSearch { page_size: 10, ..AccountSearch::default() };
    assert_eq!(ids(&base), (3, vec!["1042".into(), "7".into(), "8".into()]));
    let text = |t: &str| AccountSearch { text: Some(t.into()), ..base.clone() };
    assert_eq!(ids(&text("ACME")).1, ["1042", "8"], "case-insensitive, by name");
    assert_eq!(ids(&text("04")).1, ["1042"], "by id");
    assert_eq!(ids(&text("0%")).1, ["1042"], "a % is a character, not a wildcard");
    assert_eq!(ids(&text("e_b")).1, ["8"]);
    assert_eq!(ids(&text("e_")).1, ["8"], "an _ is a character too");
    let by = |field: AccountField, v: &str| AccountSearch { equals: vec![(field, v.into())], ..base.clone() };
    assert_eq!(ids(&by(AccountField::Attribute("Plan".into()), "Starter")).1, ["7", "8"]);
    assert_eq!(ids(&by(AccountField::Attribute("Seats".into()), "5")).0, 3, "numbers compare as text");
    assert_eq!(ids(&by(AccountField::Typed("name"), "Globex")).1, ["7"]);
    assert!(store.web_accounts(&by(AccountField::Typed("nope"), "x")).is_err());
    assert!(store.web_accounts(&by(AccountField::Attribute("a\"b".into()), "x")).is_err());
    let sorted = AccountSearch { order: AccountOrder::Name, descending: true, page_size: 2, page: 1, ..base.clone() };
    assert_eq!(ids(&sorted), (3, vec!["1042".into()]), "Globex, acme_b | Acme 100% (byte order)");

    let s = store.web_account_summaries(&["7".into(), "1042".into()], 1_714_600_000_000).unwrap();
    assert_eq!(s[0], AccountSummary { account_id: "7".into(), ..AccountSummary::default() });
    assert_eq!(s[1].account_id, "1042");
    assert_eq!(s[1].last_activity_ms, Some(1_714_640_400_000));
    assert_eq!(s[1].active_users, 1, "u2 only is active since the instant");
    assert_eq!(s[1].open_tickets, 1, "the solved ticket is not open");
    assert_eq!(s[1].rejections_near, 1, "T9 hints at 1042");
    let days = store.web_daily_users("1042", 0, i64::MAX).unwrap();
    assert_eq!(days, [(1_714_521_600_000, "u1".to_owned()), (1_714_608_000_000, "u2".to_owned())]);
}

/// One contract case: takes a freshly migrated store, panics on a broken promise.
pub type Case = fn(&dyn Store);

/// Every contract case, by name, for the test harness.
/// Every table's link-relevant columns, as sorted text rows (times and row ids left out).
/// Crash and order tests compare two hubs with it: equal states mean the same records, accounts,
/// links, rules, rejections (with reasons and hints), dependency keys and change feed.
pub fn link_state(store: &dyn Store) -> BTreeMap<String, Vec<String>> {
    const KEEP: &[&str] = &[
        "account_id",
        "status",
        "source",
        "object",
        "native_id",
        "link_rule",
        "link_rule_index",
        "link_key",
        "is_deleted",
        "reason",
        "rule",
        "hints",
        "domain",
        "space",
        "key",
    ];
    let mut state = BTreeMap::new();
    for table in ["accounts", "deleted_accounts", "contacts", "product_users", "organizations", "support_tickets"]
        .into_iter()
        .chain(["interactions", "quarantine", "quarantine_keys", "record_keys", "domain_map", "pending_keys"])
    {
        let mut rows = Vec::new();
        store
            .export_table(table, &mut |row| {
                let kept: Vec<String> = KEEP.iter().filter_map(|c| row.get(*c).map(|v| format!("{c}={v}"))).collect();
                rows.push(kept.join(" "));
            })
            .unwrap();
        rows.sort();
        state.insert(table.to_owned(), rows);
    }
    state
}

/// A source's run lock has one holder at a time; other sources are other locks; releasing or
/// dropping a lock frees it.
pub fn run_locks_exclude_each_other(store: &dyn Store) {
    use crate::LockAttempt;
    let t0 = 1_700_000_000_000;
    let LockAttempt::Acquired(a) = store.lock_source("crm", "process A", t0, 60_000).unwrap() else {
        panic!("a free lock is taken")
    };
    assert_eq!(a.source(), "crm");
    match store.lock_source("crm", "process B", t0 + 1, 60_000).unwrap() {
        LockAttempt::Held(h) => {
            assert_eq!((h.source.as_str(), h.holder.as_str(), h.acquired_at), ("crm", "process A", t(t0)));
            assert!(h.to_string().contains("process A"), "{h}");
        }
        LockAttempt::Acquired(_) => panic!("two holders of one source's run lock"),
    }
    let LockAttempt::Acquired(other) = store.lock_source("support", "process B", t0 + 1, 60_000).unwrap() else {
        panic!("another source's lock is another lock")
    };
    assert_eq!(store.source_lock_holder("crm", t0 + 2).unwrap().map(|h| h.holder), Some("process A".into()));
    assert_eq!(store.source_lock_holder("billing", t0 + 2).unwrap(), None);
    a.renew(t0 + 30_000).unwrap();
    assert!(matches!(store.lock_source("crm", "process B", t0 + 30_001, 60_000).unwrap(), LockAttempt::Held(_)));
    a.release().unwrap();
    assert_eq!(store.source_lock_holder("crm", t0 + 30_002).unwrap(), None);
    let LockAttempt::Acquired(b) = store.lock_source("crm", "process B", t0 + 30_003, 60_000).unwrap() else {
        panic!("a released lock is free")
    };
    drop(b);
    assert!(matches!(store.lock_source("crm", "process C", t0 + 30_004, 60_000).unwrap(), LockAttempt::Acquired(_)));
    drop(other);
}

pub const CASES: &[(&str, Case)] = &[
    ("migrations_are_idempotent", migrations_are_idempotent),
    ("upserts_are_idempotent", upserts_are_idempotent),
    ("account_ids_are_case_sensitive", account_ids_are_case_sensitive),
    ("quarantine_and_release", quarantine_and_release),
    ("an_account_releases_its_sor_rejection", an_account_releases_its_sor_rejection),
    ("tombstones_keep_history", tombstones_keep_history),
    ("dependency_keys_follow_the_record", dependency_keys_follow_the_record),
    ("a_full_pass_finds_what_it_did_not_return", a_full_pass_finds_what_it_did_not_return),
    ("delete_list_and_status", delete_list_and_status),
    ("checkpoints_and_runs", checkpoints_and_runs),
    ("a_failed_batch_writes_nothing", a_failed_batch_writes_nothing),
    ("index_loads_links_emails_and_filtered", index_loads_links_emails_and_filtered),
    ("paging_and_order", paging_and_order),
    ("events_count_once_and_roll_up", events_count_once_and_roll_up),
    ("usage_over_any_window_matches_the_events", usage_over_any_window_matches_the_events),
    ("metrics_upsert_per_day", metrics_upsert_per_day),
    ("record_queries_filter", record_queries_filter),
    ("export_import_round_trips", export_import_round_trips),
    ("listings_order_by_a_column", listings_order_by_a_column),
    ("account_entries_merge_and_delete", account_entries_merge_and_delete),
    ("metric_definitions_by_name", metric_definitions_by_name),
    ("web_users_and_sessions", web_users_and_sessions),
    ("web_signin_failures_are_counted", web_signin_failures_are_counted),
    ("webhook_deliveries_are_remembered_once", webhook_deliveries_are_remembered_once),
    ("propagation_writes_are_audited", propagation_writes_are_audited),
    ("web_accounts_search_filter_and_summaries", web_accounts_search_filter_and_summaries),
    ("run_locks_exclude_each_other", run_locks_exclude_each_other),
];
