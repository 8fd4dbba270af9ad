//! The link state is a fixpoint of the stored data: each case reaches, through a second sync or a
//! later change, the answer a single sync of all the data at once gives.

use accord_connectors::{FullPass, Item, RawRecord};
use accord_core::{ObjectKind, RejectReason, RuleKind};
use accord_engine::{Hub, PageContext, SyncOptions};
use accord_store::{AccountStatus, RecordKey};
use serde_json::json;

use crate::*;

/// The flows' System of Record, its records identified by `rid` (so two can carry one account id).
fn crm() -> String {
    crate::flows::CRM.replace("path = \"accounts.csv\"", "path = \"accounts.csv\"\nnative_id = \"rid\"")
}

const SUPPORT: &str = r#"
[sources.support]
kind = "file"
[[sources.support.objects]]
name = "users"
kind = "user"
path = "users.csv"
native_id = "id"
link = [{ rule = "field", field = "account" }]
[[sources.support.objects]]
name = "orgs"
kind = "organization"
path = "orgs.csv"
native_id = "org_id"
link = [{ rule = "field", field = "external_id" }]
[[sources.support.objects]]
name = "tickets"
kind = "ticket"
path = "tickets.csv"
native_id = "id"
link = [{ rule = "parent", field = "org_id", object = "orgs" }]
[[sources.support.objects]]
name = "contacts"
kind = "contact"
path = "contacts.csv"
native_id = "id"
link = [{ rule = "field", field = "account" }, { rule = "email", field = "email" }]
"#;

const HEADER: &str = "rid,id,name,joined,status\n";

fn setup(accounts: &str) -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", &format!("{HEADER}{accounts}"));
    write(dir.path(), "users.csv", "id,account,email\nu1,A1,ann@x.io\n");
    write(dir.path(), "orgs.csv", "org_id,external_id\no1,A1\no2,A2\n");
    write(dir.path(), "tickets.csv", "id,org_id\nt1,o1\nt2,o2\n");
    write(dir.path(), "contacts.csv", "id,account,email\nc1,A2,ann@x.io\n");
    let hub = hub(dir.path(), &format!("{}{SUPPORT}", crm()));
    (dir, hub)
}

/// The support source's files, with a header and no rows.
fn empty_support(dir: &std::path::Path) {
    write(dir, "users.csv", "id,account,email\n");
    write(dir, "orgs.csv", "org_id,external_id\n");
    write(dir, "tickets.csv", "id,org_id\n");
    write(dir, "contacts.csv", "id,account,email\n");
}

fn record(hub: &Hub, kind: ObjectKind, object: &str, id: &str) -> Option<accord_store::RecordRow> {
    hub.store.record(kind, &RecordKey::new("support", object, id)).unwrap().filter(|r| !r.is_deleted)
}

fn reason(hub: &Hub, object: &str, id: &str) -> Option<RejectReason> {
    quarantine(hub).into_iter().find(|e| e.key.object == object && e.key.native_id == id).map(|e| e.rejection.reason)
}

fn crm_only(hub: &Hub) {
    sync_with(hub, SyncOptions { sources: vec!["crm".into()], full: false, ..SyncOptions::default() });
}

/// After any settle, asking again changes nothing, and the report counts each record once.
fn assert_settled(hub: &Hub) {
    let quarantined = quarantine(hub).len() as u64;
    let again = hub.retry(&Default::default()).unwrap();
    assert_eq!(again.linked, 0, "a settled hub links nothing more on retry: {again:?}");
    assert_eq!(again.retried, quarantined, "each quarantined record retried once: {again:?}");
    let still: u64 = again.still_rejected.values().sum();
    assert_eq!(still + again.not_retryable, quarantined, "each counted once: {again:?}");
}

#[test]
fn an_earlier_rule_that_resolves_later_takes_over() {
    let (dir, hub) = setup("r1,A1,Alpha,2024-01-01,active\n");
    sync(&hub);
    // A2 is unknown, so c1 fell through to its email, which u1 (of A1) carries.
    let c1 = record(&hub, ObjectKind::Contact, "contacts", "c1").unwrap();
    assert_eq!((c1.account_id.as_str(), c1.provenance.rule), ("A1", RuleKind::Email));
    write(
        dir.path(),
        "accounts.csv",
        &format!("{HEADER}r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n"),
    );
    crm_only(&hub);
    let c1 = record(&hub, ObjectKind::Contact, "contacts", "c1").unwrap();
    assert_eq!(
        (c1.account_id.as_str(), c1.provenance.rule),
        ("A2", RuleKind::Field),
        "the first rule wins once it resolves"
    );
    assert_settled(&hub);
}

#[test]
fn a_parent_that_goes_takes_its_children_with_it() {
    let (_dir, hub) = setup("r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n");
    sync(&hub);
    assert_eq!(record(&hub, ObjectKind::Ticket, "tickets", "t1").unwrap().account_id.as_str(), "A1");
    let orgs = hub.plan.stream("support", "orgs").unwrap().clone();
    hub.ingest(&orgs, vec![Item::Deleted { native_id: "o1".into() }], PageContext::default()).unwrap();
    hub.settle().unwrap();
    assert!(record(&hub, ObjectKind::Ticket, "tickets", "t1").is_none(), "t1 linked only through o1");
    assert_eq!(reason(&hub, "tickets", "t1"), Some(RejectReason::UnknownAccount));
    // The parent moves: its child follows.
    let moved = RawRecord { data: json!({"org_id": "o2", "external_id": "A1"}), location: None, identity: None };
    hub.ingest(&orgs, vec![Item::Record(moved)], PageContext::default()).unwrap();
    hub.settle().unwrap();
    assert_eq!(record(&hub, ObjectKind::Ticket, "tickets", "t2").unwrap().account_id.as_str(), "A1");
    assert_settled(&hub);
}

#[test]
fn an_account_that_becomes_filtered_takes_its_records_out_and_back() {
    let (dir, hub) = setup("r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n");
    sync(&hub);
    write(
        dir.path(),
        "accounts.csv",
        &format!("{HEADER}r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,churned\n"),
    );
    crm_only(&hub);
    assert_eq!(hub.store.account("A2").unwrap().unwrap().status, AccountStatus::Filtered);
    for (object, id) in [("orgs", "o2"), ("contacts", "c1")] {
        assert_eq!(reason(&hub, object, id), Some(RejectReason::FilteredAccount), "{object}/{id}");
    }
    // A child of a rejected parent has no linked parent to go through.
    assert_eq!(reason(&hub, "tickets", "t2"), Some(RejectReason::UnknownAccount));
    assert_settled(&hub);
    write(
        dir.path(),
        "accounts.csv",
        &format!("{HEADER}r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n"),
    );
    crm_only(&hub);
    assert_eq!(record(&hub, ObjectKind::Ticket, "tickets", "t2").unwrap().account_id.as_str(), "A2");
    assert_eq!(record(&hub, ObjectKind::Contact, "contacts", "c1").unwrap().account_id.as_str(), "A2");
    assert!(quarantine(&hub).is_empty(), "{:?}", quarantine(&hub));
}

#[test]
fn a_deleted_account_takes_its_records_to_the_quarantine() {
    let (_dir, hub) = setup("r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n");
    sync(&hub);
    hub.deactivate("A2", "closed").unwrap();
    for (object, id) in [("orgs", "o2"), ("contacts", "c1")] {
        assert_eq!(reason(&hub, object, id), Some(RejectReason::DeletedAccount), "{object}/{id}");
    }
    assert_eq!(reason(&hub, "tickets", "t2"), Some(RejectReason::UnknownAccount));
    hub.restore("A2").unwrap();
    assert_eq!(record(&hub, ObjectKind::Contact, "contacts", "c1").unwrap().account_id.as_str(), "A2");
    assert!(quarantine(&hub).is_empty(), "{:?}", quarantine(&hub));
}

#[test]
fn the_lowest_native_id_holds_a_duplicated_account_id_whatever_the_order() {
    let state = |rows: &[&str]| {
        let (dir, hub) = setup(&rows.concat());
        sync(&hub);
        let holder = hub.store.account("A1").unwrap().unwrap();
        let rejected: Vec<String> =
            quarantine(&hub).into_iter().filter(|e| e.key.object == "accounts").map(|e| e.key.native_id).collect();
        drop(hub);
        drop(dir);
        let name = holder.text("name").map(str::to_owned);
        (holder.origin.native_id, name, rejected)
    };
    let one = "r1,A1,First,2024-01-01,active\n";
    let two = "r2,A1,Second,2024-01-01,active\n";
    let expected = ("r1".to_owned(), Some("First".to_owned()), vec!["r2".to_owned()]);
    assert_eq!(state(&[one, two]), expected);
    assert_eq!(state(&[two, one]), expected);
    // Across syncs: r2 alone holds A1, then r1 arrives and takes it.
    let (dir, hub) = setup(two);
    sync(&hub);
    assert_eq!(hub.store.account("A1").unwrap().unwrap().origin.native_id, "r2");
    write(dir.path(), "accounts.csv", &format!("{HEADER}{two}{one}"));
    crm_only(&hub);
    let holder = hub.store.account("A1").unwrap().unwrap();
    assert_eq!((holder.origin.native_id.as_str(), holder.text("name")), ("r1", Some("First")));
    assert_eq!(reason(&hub, "accounts", "r2"), Some(RejectReason::Ambiguous));
    assert_settled(&hub);
}

#[test]
fn an_id_map_reaching_a_filtered_account_says_filtered_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", &format!("{HEADER}r1,A1,Alpha,2024-01-01,churned\n"));
    write(dir.path(), "contacts.csv", "id,account_ref\nc1,r1\n");
    let toml = format!(
        "{}{}",
        crm().replace("native_id = \"rid\"", "native_id = \"rid\"\nfields = { crm_account_id = \"rid\" }"),
        r#"
[sources.support]
kind = "file"
[[sources.support.objects]]
name = "contacts"
kind = "contact"
path = "contacts.csv"
native_id = "id"
link = [{ rule = "native_id", field = "account_ref", map = "crm_account_id" }]
"#
    );
    let first = hub(dir.path(), &toml);
    sync(&first);
    assert_eq!(reason(&first, "contacts", "c1"), Some(RejectReason::FilteredAccount));
    drop(first);
    // A new process builds its index from the store and gives the same answer.
    let second = hub(dir.path(), &toml);
    second.retry(&Default::default()).unwrap();
    assert_eq!(reason(&second, "contacts", "c1"), Some(RejectReason::FilteredAccount));
}

fn full_pass_page(hub: &Hub, object: &str, rows: Vec<serde_json::Value>, pass: &str, complete: bool) {
    let source = if object == "accounts" { "crm" } else { "support" };
    let plan = hub.plan.stream(source, object).unwrap().clone();
    let items = rows.into_iter().map(|data| Item::Record(RawRecord { data, location: None, identity: None })).collect();
    let full_pass = Some(FullPass { id: pass.into(), complete });
    hub.ingest(&plan, items, PageContext { full_pass, ..Default::default() }).unwrap();
}

#[test]
fn a_completed_full_pass_tombstones_what_it_never_returned() {
    let (_dir, hub) = setup("r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n");
    sync(&hub);
    write(_dir.path(), "tickets.csv", "id,org_id\n");
    // A full pass of tickets over two pages returns t1 only: t2 is gone at the source.
    full_pass_page(&hub, "tickets", vec![json!({"id": "t1", "org_id": "o1"})], "p1", false);
    assert!(record(&hub, ObjectKind::Ticket, "tickets", "t2").is_some(), "nothing goes before the pass ends");
    full_pass_page(&hub, "tickets", vec![], "p1", true);
    assert!(record(&hub, ObjectKind::Ticket, "tickets", "t1").is_some());
    assert!(record(&hub, ObjectKind::Ticket, "tickets", "t2").is_none(), "t2 was not returned by the pass");
    // A full pass of the System of Record without A2: A2 is deleted, and its records go with it.
    full_pass_page(
        &hub,
        "accounts",
        vec![json!({"rid": "r1", "id": "A1", "name": "Alpha", "joined": "2024-01-01"})],
        "p2",
        true,
    );
    hub.settle().unwrap();
    assert_eq!(hub.store.account("A2").unwrap().unwrap().status, AccountStatus::Deleted);
    assert_eq!(reason(&hub, "orgs", "o2"), Some(RejectReason::DeletedAccount));
    assert_eq!(reason(&hub, "contacts", "c1"), Some(RejectReason::DeletedAccount));
    assert_settled(&hub);
}

#[test]
fn the_system_of_record_can_normalize_its_own_ids() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "accounts.csv",
        &format!("{HEADER}r1,1042.0,Wayne,2024-01-01,active\nr2, 1050 ,Kent,2024-01-01,active\n"),
    );
    write(dir.path(), "users.csv", "id,account,email\n");
    write(dir.path(), "orgs.csv", "org_id,external_id\no1,1042\no2,1050\n");
    write(dir.path(), "tickets.csv", "id,org_id\n");
    write(dir.path(), "contacts.csv", "id,account,email\n");
    let unfixed = hub(dir.path(), &format!("{}{SUPPORT}", crm()));
    sync(&unfixed);
    let q = quarantine(&unfixed);
    let o1 = q.iter().find(|e| e.key.native_id == "o1").unwrap();
    assert!(
        o1.rejection.hints.iter().any(|h| matches!(h, accord_core::Hint::FloatSuffix { .. })),
        "the record carries the clean id, the SOR the mangled one: {:?}",
        o1.rejection.hints
    );
    let report = accord_engine::doctor::doctor(&unfixed).unwrap();
    assert_eq!(report.sor.suggested_normalize, ["trim", "integer_text"], "the doctor says how to fix the SOR");
    drop(unfixed);
    std::fs::remove_file(dir.path().join("hub.db")).unwrap();
    let fixed_toml =
        crm().replace("native_id = \"rid\"", "native_id = \"rid\"\nnormalize = [\"trim\", \"integer_text\"]");
    let fixed = hub(dir.path(), &format!("{fixed_toml}{SUPPORT}"));
    sync(&fixed);
    assert!(fixed.store.account("1042").unwrap().is_some() && fixed.store.account("1050").unwrap().is_some());
    assert_eq!(record(&fixed, ObjectKind::Organization, "orgs", "o1").unwrap().account_id.as_str(), "1042");
    assert_eq!(record(&fixed, ObjectKind::Organization, "orgs", "o2").unwrap().account_id.as_str(), "1050");
}

#[test]
fn two_processes_on_one_store_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", HEADER);
    empty_support(dir.path());
    let toml = format!("{}{SUPPORT}", crm());
    // Two hubs over one SQLite file, as two processes are; each builds its index at start.
    let a = hub(dir.path(), &toml);
    let b = hub(dir.path(), &toml);
    write(
        dir.path(),
        "accounts.csv",
        &format!("{HEADER}r1,A1,Alpha,2024-01-01,active\nr2,A2,Beta,2024-01-01,active\n"),
    );
    crm_only(&a);
    // B links against what A committed, without a retry.
    let orgs = b.plan.stream("support", "orgs").unwrap().clone();
    let org = |id: &str, account: &str| {
        Item::Record(RawRecord { data: json!({"org_id": id, "external_id": account}), location: None, identity: None })
    };
    let out = b.ingest(&orgs, vec![org("o1", "A1")], PageContext::default()).unwrap();
    assert_eq!(out.counts.linked, 1, "B saw A's account");
    // B deactivates an account A created; A's next link hears it.
    b.deactivate("A2", "closed").unwrap();
    let out = a.ingest(&orgs, vec![org("o2", "A2")], PageContext::default()).unwrap();
    assert_eq!(out.counts.rejected_by_reason.get("deleted_account"), Some(&1), "{:?}", out.counts);
    // Both settle to the same fixpoint: the feed ends empty and a retry links nothing.
    a.settle().unwrap();
    b.settle().unwrap();
    assert_settled(&a);
    assert_settled(&b);
}

#[test]
fn a_page_linked_against_a_stale_view_is_rechecked_after_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", HEADER);
    empty_support(dir.path());
    let toml = format!("{}{SUPPORT}", crm());
    let (a, b) = (hub(dir.path(), &toml), hub(dir.path(), &toml));
    // A links o9 while A9 does not exist anywhere: unknown.
    let orgs = a.plan.stream("support", "orgs").unwrap().clone();
    let item =
        Item::Record(RawRecord { data: json!({"org_id": "o9", "external_id": "A9"}), location: None, identity: None });
    let page = a.prepare(&orgs, vec![item], PageContext::default());
    assert_eq!(page.counts().rejected, 1);
    // Before A commits, B creates A9 (and nothing depends on it yet in the store).
    let accounts = b.plan.stream("crm", "accounts").unwrap().clone();
    let sor = Item::Record(RawRecord {
        data: json!({"rid": "r9", "id": "A9", "name": "Nine", "joined": "2024-01-01", "status": "active"}),
        location: None,
        identity: None,
    });
    b.ingest(&accounts, vec![sor], PageContext::default()).unwrap();
    b.settle().unwrap();
    // A's commit sees B's change under its page: the page goes in, and its record is re-checked.
    let out = a.commit(page).unwrap();
    assert!(
        out.changed.contains(&accord_core::TriedKey { space: accord_core::KeySpace::Account, key: "A9".into() }),
        "the commit reports the key that changed under it: {:?}",
        out.changed
    );
    a.settle().unwrap();
    assert_eq!(record(&a, ObjectKind::Organization, "orgs", "o9").unwrap().account_id.as_str(), "A9");
    assert_settled(&a);
}
