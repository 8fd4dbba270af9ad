//! Cases of documented vendor behaviour: Salesforce's login host is not its data host, Intercom
//! serves company pages of its own size, a vendor's total must match what a pass read, and records
//! deleted between syncs are reported (Salesforce `getDeleted`) or reconciled by a full pass whose
//! every page carries a `FullPass` mark.

use std::collections::BTreeSet;

use accord_sandbox::{Fault, Schedule, salesforce};
use serde_json::Value;

use super::{
    BRAINTREE, CAPSULE, CHARGEBEE, DELIGHTED, FRESHDESK, FRESHDESK_HTTP, INTERCOM, JIRA, KEAP, MAXIO, RECURLY,
    SALESFORCE, STRIPE, Vendor, XERO, ZENDESK, ZUORA, connector, expected, options, read, sandbox, set, try_read,
};

/// Intercom with the connector's default page size (150), for the paging cases.
const INTERCOM_DEFAULT_PAGES: Vendor =
    Vendor { name: "intercom", objects: &["companies", "contacts", "conversations"], settings: "", size: 400 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_data_goes_to_the_instance_never_to_the_login_host() {
    let sb = sandbox(&SALESFORCE, options()).await;
    assert_ne!(sb.salesforce.login_url(), sb.salesforce.base_url(), "login and data are separate hosts");
    // The login host knows no data path, as login.salesforce.com does not.
    let res = reqwest::get(format!("{}/services/data/v59.0/query?q=SELECT+Id+FROM+Account", sb.salesforce.login_url()))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &SALESFORCE, dir.path(), "");
    let login_requests = sb.salesforce.rate_limiter().stats().requests;
    for &object in SALESFORCE.objects {
        let r = read(c.as_ref(), object, None, None).await;
        assert_eq!(set(&r.ids), expected(&sb, &SALESFORCE, object).0, "{object}: every record, from the instance");
    }
    // One token request (to the login host) served all three streams.
    assert!(sb.salesforce.rate_limiter().stats().requests > login_requests + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_token_refusals_fail_at_once_naming_the_login_host() {
    let sb = sandbox(&SALESFORCE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("sf_refresh_token"), "revoked").unwrap();
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let c = accord_connectors::open_source("salesforce", &config.raw.sources["salesforce"], &config).unwrap();
    let r = try_read(c.as_ref(), "Account", None, false, None).await;
    let e = r.error.expect("a revoked refresh token fails the stream");
    assert!(e.contains("invalid_grant") && e.contains(sb.salesforce.login_url()), "{e}");
    assert_eq!(r.pages, 0);
    assert_eq!(sb.salesforce.rate_limiter().stats().requests, 1, "a refusal is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_companies_are_all_read_whatever_page_size_the_server_serves() {
    // The server pages by at most `cap` companies, whatever the client asks.
    for (cap, per_page) in [(50, None), (60, None), (150, None), (50, Some(60)), (60, Some(50))] {
        let mut o = options();
        o.intercom.company_page_cap = Some(cap);
        let sb = sandbox(&INTERCOM_DEFAULT_PAGES, o).await;
        let dir = tempfile::tempdir().unwrap();
        let extra = per_page.map(|n| format!("per_page = {n}\n")).unwrap_or_default();
        let c = connector(&sb, &INTERCOM_DEFAULT_PAGES, dir.path(), &extra);
        let (live, _) = expected(&sb, &INTERCOM_DEFAULT_PAGES, "companies");
        assert!(live.len() > 2 * 150, "several pages at every size: {} companies", live.len());
        let r = read(c.as_ref(), "companies", None, None).await;
        assert_eq!(set(&r.ids), live, "cap {cap}, per_page {per_page:?}: every company");
        assert_eq!(r.ids.len(), live.len(), "cap {cap}: no company twice");
        let served = per_page.unwrap_or(150).min(cap);
        assert_eq!(r.pages, live.len().div_ceil(served), "cap {cap}: pages of {served}");
        for object in ["contacts", "conversations"] {
            let r = read(c.as_ref(), object, None, None).await;
            assert_eq!(set(&r.ids), expected(&sb, &INTERCOM_DEFAULT_PAGES, object).0, "cap {cap}: {object}");
        }
    }
}

/// A vendor that loses a record from one page: the pass's count disagrees with the vendor's total
/// and the stream fails naming both; the failed pass starts again on the next read and then
/// delivers everything.
async fn a_count_below_the_vendors_total_fails_loudly(v: &Vendor, object: &str, path: &str, what: &str) {
    let sb = sandbox(v, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "");
    let faults = match v.name {
        "salesforce" => sb.salesforce.faults(),
        "zendesk" => sb.zendesk.faults(),
        _ => sb.intercom.faults(),
    };
    faults.inject_on(path, Fault::LoseRecord, Schedule::Next(1));
    let (live, _) = expected(&sb, v, object);
    let first = try_read(c.as_ref(), object, None, false, None).await;
    assert_eq!(faults.counts().lost_records, 1, "the fault fired");
    let e = first
        .error
        .unwrap_or_else(|| panic!("{}/{object}: a short pass must fail, it read {}", v.name, first.ids.len()));
    assert!(e.contains(what), "{}/{object}: the error names the vendor's count: {e}", v.name);
    if what != "count" {
        let numbers = [format!("read {} records", live.len() - 1), format!("says {}", live.len())];
        assert!(numbers.iter().all(|n| e.contains(n.as_str())), "{}/{object}: both numbers in {e}", v.name);
    }
    assert!(first.marks.iter().flatten().all(|m| !m.complete), "{}/{object}: a failed pass is never complete", v.name);
    // The next sync reads the pass again from its start, under the same full-pass id.
    let again = read(c.as_ref(), object, first.cursor.clone(), None).await;
    let mut all = set(&first.ids);
    all.extend(again.ids.iter().cloned());
    assert_eq!(all, live, "{}/{object}: nothing lost once the vendor answers in full", v.name);
    if v.name != "zendesk" {
        let id = again.completed_full_pass(object);
        assert!(
            first.marks.iter().flatten().all(|m| m.id == id),
            "{}/{object}: the restarted pass keeps its id",
            v.name
        );
        assert_eq!(set(&again.ids), live, "{}/{object}: the restart reads the whole list", v.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_a_pass_short_of_total_size_fails_loudly() {
    a_count_below_the_vendors_total_fails_loudly(&SALESFORCE, "Account", "/services/data/", "totalSize").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_a_pass_short_of_total_count_fails_loudly() {
    a_count_below_the_vendors_total_fails_loudly(&INTERCOM, "companies", "/companies", "total_count").await;
    a_count_below_the_vendors_total_fails_loudly(&INTERCOM, "contacts", "/contacts", "total_count").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_a_page_short_of_its_count_fails_loudly() {
    a_count_below_the_vendors_total_fails_loudly(
        &ZENDESK,
        "organizations",
        "/api/v2/incremental/organizations",
        "count",
    )
    .await;
}

fn live_accounts(sb: &accord_sandbox::Sandbox) -> Vec<String> {
    sb.salesforce.snapshot().accounts.iter().filter(|a| a.deleted_at.is_none()).map(|a| a.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_deletions_around_a_full_pass_are_reconciled_or_reported() {
    let sb = sandbox(&SALESFORCE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &SALESFORCE, dir.path(), "");
    let first = read(c.as_ref(), "Account", None, None).await;
    let first_pass = first.completed_full_pass("the first sync");
    assert!(first.pages > 1, "the test needs several pages");

    // Deleted before `sync --full`: the full pass does not return it, and completes.
    let before = live_accounts(&sb)[0].clone();
    sb.salesforce.delete::<salesforce::model::Account>(&before).unwrap();
    let mut full = try_read(c.as_ref(), "Account", first.cursor.clone(), true, Some(1)).await;
    // Deleted while the full pass runs, after its page was read; then another account changes,
    // so the pass's high-water mark (the incremental cursor) is later than the deletion.
    let during = full.ids.iter().find(|id| **id != before).unwrap().clone();
    sb.salesforce.delete::<salesforce::model::Account>(&during).unwrap();
    sb.clock().advance(chrono::Duration::minutes(1));
    let later = live_accounts(&sb).into_iter().find(|id| !full.ids.contains(id)).unwrap();
    sb.salesforce.update::<salesforce::model::Account>(&later, |a| a.name = Some("Changed".into())).unwrap();
    let rest = read(c.as_ref(), "Account", full.cursor.clone(), None).await;
    full.ids.extend(rest.ids);
    full.marks.extend(rest.marks);
    let full_pass = full.completed_full_pass("sync --full");
    assert_ne!(full_pass, first_pass, "a new pass, a new id");
    assert!(!full.ids.contains(&before), "the full pass leaves out what was deleted before it");
    assert!(full.ids.contains(&during), "the locator served the page before the deletion");
    assert!(full.ids.contains(&later), "the change made during the pass is read by it");
    let cursor = rest.cursor.clone().unwrap();
    let high_water = accord_core::time::parse_timestamp(&cursor["high_water"]).unwrap();
    let deleted_at = sb.salesforce.snapshot().accounts.iter().find(|a| a.id == during).unwrap().deleted_at.unwrap();
    assert!(deleted_at < high_water, "the deletion is older than the incremental cursor");

    // The next incremental pass reports it through getDeleted, from the full pass's start.
    sb.clock().advance(chrono::Duration::minutes(2));
    let next = read(c.as_ref(), "Account", Some(cursor), None).await;
    assert!(next.deleted.contains(&during), "deletions since the full pass began are reported: {:?}", next.deleted);
    assert!(!next.ids.contains(&during), "a deleted record is not read as live");
    assert!(next.unmarked(), "an incremental pass is not a full pass");
    let covered = accord_core::time::parse_timestamp(&next.cursor.as_ref().unwrap()["deletions_from"]).unwrap();
    assert!(covered > deleted_at, "the next deletion read starts at latestDateCovered, past this deletion");

    // And nothing deleted is reported twice once the log has moved on.
    sb.clock().advance(chrono::Duration::minutes(3));
    let quiet = read(c.as_ref(), "Account", next.cursor.clone(), None).await;
    assert!(!quiet.deleted.contains(&during), "{:?}", quiet.deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_a_cursor_older_than_the_deletion_log_falls_back_to_a_reconciling_pass() {
    let sb = sandbox(&SALESFORCE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &SALESFORCE, dir.path(), "");
    let first = read(c.as_ref(), "Contact", None, None).await;
    first.completed_full_pass("the first sync");
    // A contact is deleted, and 20 days pass: the delete log (15 days) no longer reaches the cursor.
    let gone = sb.salesforce.snapshot().contacts.iter().find(|c| c.deleted_at.is_none()).unwrap().id.clone();
    sb.salesforce.delete::<salesforce::model::Contact>(&gone).unwrap();
    sb.clock().advance(chrono::Duration::days(20));
    let late = read(c.as_ref(), "Contact", first.cursor.clone(), None).await;
    late.completed_full_pass("a pass past the deletion window");
    assert_eq!(set(&late.ids), expected(&sb, &SALESFORCE, "Contact").0, "the reconciling pass reads the whole list");
    assert!(!late.ids.contains(&gone));

    // An administrator purges the Recycle Bin: getDeleted refuses the cursor's start
    // (INVALID_REPLICATION_DATE), and the pass reconciles instead.
    sb.clock().advance(chrono::Duration::minutes(5));
    sb.salesforce.purge_delete_log();
    sb.clock().advance(chrono::Duration::minutes(5));
    let purged = read(c.as_ref(), "Contact", late.cursor.clone(), None).await;
    purged.completed_full_pass("a pass after the delete log was purged");
    assert_eq!(set(&purged.ids), expected(&sb, &SALESFORCE, "Contact").0);

    // Then incremental passes resume.
    sb.clock().advance(chrono::Duration::minutes(5));
    let calm = read(c.as_ref(), "Contact", purged.cursor.clone(), None).await;
    assert!(calm.unmarked() && calm.ids.len() < purged.ids.len() / 2, "incremental again: {} records", calm.ids.len());
}

/// Sets a cursor's record of its last reconciling pass back by `days`.
fn age_last_full_pass(cursor: &Value, days: i64) -> Value {
    let mut c = cursor.clone();
    let at = accord_core::time::parse_timestamp(&c["last_full_pass"]).expect("the cursor records its last full pass");
    c["last_full_pass"] = Value::String((at - chrono::Duration::days(days)).to_rfc3339());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_reconciles_deletions_every_reconcile_every() {
    let sb = sandbox(&INTERCOM, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &INTERCOM, dir.path(), "");
    for object in ["companies", "contacts"] {
        let first = read(c.as_ref(), object, None, None).await;
        first.completed_full_pass(object);
        let gone = match object {
            "companies" => {
                let id = sb.intercom.snapshot().companies[3].id.clone();
                sb.intercom.delete::<accord_sandbox::intercom::model::Company>(&id).unwrap();
                id
            }
            _ => {
                let id = sb.intercom.snapshot().contacts[3].id.clone();
                sb.intercom.delete::<accord_sandbox::intercom::model::Contact>(&id).unwrap();
                id
            }
        };
        // Within the period (7 days by default), passes are not reconciling ones.
        let next = read(c.as_ref(), object, first.cursor.clone(), None).await;
        assert!(next.unmarked(), "{object}: no reconciling pass within reconcile_every");
        assert!(next.deleted.is_empty(), "{object}: Intercom reports no deletions");
        // Once the last reconciling pass is older than the period, the whole list is read again.
        let due = age_last_full_pass(next.cursor.as_ref().unwrap(), 8);
        let reconciled = read(c.as_ref(), object, Some(due), None).await;
        reconciled.completed_full_pass(object);
        assert_eq!(set(&reconciled.ids), expected(&sb, &INTERCOM, object).0, "{object}: the whole list");
        assert!(!reconciled.ids.contains(&gone), "{object}: the deleted record is not in it");
        let after = read(c.as_ref(), object, reconciled.cursor.clone(), None).await;
        assert!(after.unmarked(), "{object}: the period starts again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_reconcile_every_is_a_setting_checked_when_parsed() {
    let sb = sandbox(&INTERCOM, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &INTERCOM, dir.path(), "reconcile_every = \"0s\"\nunthrottled = true\n");
    let first = read(c.as_ref(), "contacts", None, None).await;
    let again = read(c.as_ref(), "contacts", first.cursor.clone(), None).await;
    again.completed_full_pass("reconcile_every = 0s reconciles on every pass");
    let off = connector(&sb, &INTERCOM, dir.path(), "reconcile_every = \"off\"\nunthrottled = true\n");
    let first = read(off.as_ref(), "contacts", None, None).await;
    first.completed_full_pass("the first pass reconciles even when the period is off");
    let next =
        read(off.as_ref(), "contacts", Some(age_last_full_pass(first.cursor.as_ref().unwrap(), 365)), None).await;
    assert!(next.unmarked(), "off: never again");
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    let toml = toml.replace("[sources.intercom]\n", "[sources.intercom]\nreconcile_every = \"weekly\"\n");
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let e = accord_connectors::open_source("intercom", &config.raw.sources["intercom"], &config).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("sources.intercom") && e.contains("\"weekly\" is not a period") && e.contains("7d"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_deleted_users_and_tickets_arrive_as_deletions() {
    let sb = sandbox(&ZENDESK, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &ZENDESK, dir.path(), "");
    let users = read(c.as_ref(), "users", None, None).await;
    let tickets = read(c.as_ref(), "tickets", None, None).await;
    assert!(users.unmarked() && tickets.unmarked(), "exports leave out the last minute: never a full list");
    let snapshot = sb.zendesk.snapshot();
    let user = snapshot.users.iter().find(|u| u.active).unwrap().id;
    let ticket = snapshot.tickets.iter().find(|t| !t.is_deleted()).unwrap().id;
    sb.clock().advance(chrono::Duration::minutes(1));
    sb.zendesk.delete_user(user).unwrap();
    sb.zendesk.delete_ticket(ticket).unwrap();
    sb.clock().advance(chrono::Duration::minutes(2));
    let users = read(c.as_ref(), "users", users.cursor.clone(), None).await;
    let tickets = read(c.as_ref(), "tickets", tickets.cursor.clone(), None).await;
    assert_eq!(users.deleted, vec![user.to_string()], "the user's export row says active: false");
    assert!(!users.ids.contains(&user.to_string()));
    assert!(tickets.deleted.contains(&ticket.to_string()), "{:?}", tickets.deleted);
    assert!(!tickets.ids.contains(&ticket.to_string()));
    let gone: BTreeSet<_> = users.deleted.iter().chain(&tickets.deleted).collect();
    assert!(gone.len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_records_changing_during_a_pass_do_not_trip_the_count_check() {
    use accord_sandbox::intercom::model::Contact;
    let sb = sandbox(&INTERCOM, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &INTERCOM, dir.path(), "");
    // A whole-list pass: a contact deleted after its page was read leaves the total below what
    // the pass read, which loses nothing.
    let mut full = read(c.as_ref(), "contacts", None, Some(1)).await;
    sb.intercom.delete::<Contact>(&full.ids[0]).unwrap();
    let rest = read(c.as_ref(), "contacts", full.cursor.clone(), None).await;
    full.ids.extend(rest.ids);
    full.marks.extend(rest.marks);
    full.completed_full_pass("a list pass with a deletion behind it");
    // An incremental pass: a contact that starts matching the search after the pass began (and
    // sorts before its position) raises the total, and the next pass reads it.
    sb.clock().advance(chrono::Duration::days(2));
    let contacts = sb.intercom.snapshot().contacts;
    for changed in &contacts[10..50] {
        sb.intercom.update::<Contact>(&changed.id, |c| c.name = Some("Changed".into())).unwrap();
    }
    let mut inc = read(c.as_ref(), "contacts", rest.cursor.clone(), Some(1)).await;
    assert!(inc.pages == 1 && inc.cursor.as_ref().unwrap()["complete"] == Value::Bool(false), "several pages");
    sb.intercom.update::<Contact>(&contacts[2].id, |c| c.name = Some("Late".into())).unwrap();
    let rest = read(c.as_ref(), "contacts", inc.cursor.clone(), None).await;
    inc.ids.extend(rest.ids);
    let changed: BTreeSet<String> = contacts[10..50].iter().map(|c| c.id.clone()).collect();
    assert!(changed.is_subset(&set(&inc.ids)), "every change made before the pass is read");
    let next = read(c.as_ref(), "contacts", rest.cursor.clone(), None).await;
    assert!(next.ids.contains(&contacts[2].id), "the late change is read by the next pass");
}

/// Delighted: a deleted answer stops being listed (there is no feed); a due reconciling pass
/// reads the whole list in creation order and leaves it out. An incremental pass asks for
/// `updated_since` and reads only the changed answer, with its person's email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delighted_reconciles_deletions_and_reads_changes_with_the_persons_email() {
    let sb = sandbox(&DELIGHTED, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &DELIGHTED, dir.path(), "");
    let object = "survey_responses";
    let first = read(c.as_ref(), object, None, None).await;
    first.completed_full_pass(object);
    let responses = sb.delighted.snapshot().survey_responses;
    let gone = responses[3].id.clone();
    sb.delighted.delete(&gone).unwrap();
    sb.clock().advance(chrono::Duration::days(2));
    let changed = responses[5].id.clone();
    sb.delighted.update(&changed, |r| r.score = 0).unwrap();
    let next = read(c.as_ref(), object, first.cursor.clone(), None).await;
    assert!(next.unmarked(), "no reconciling pass within reconcile_every");
    assert_eq!(next.ids, std::slice::from_ref(&changed), "only the changed answer");
    let due = age_last_full_pass(next.cursor.as_ref().unwrap(), 8);
    let reconciled = read(c.as_ref(), object, Some(due), None).await;
    reconciled.completed_full_pass(object);
    assert!(!reconciled.ids.contains(&gone));
    assert_eq!(set(&reconciled.ids), expected(&sb, &DELIGHTED, object).0);
    // Every answer of the read carries the expanded person (its email is the link key).
    let mut stream = c.open_stream(object, None, true).unwrap();
    let page = stream.next_page().await.unwrap().unwrap();
    let emails = page
        .items
        .iter()
        .filter(|i| matches!(i, accord_connectors::Item::Record(r) if r.data["person"]["email"].is_string()))
        .count();
    assert!(emails > 0, "expand[]=person was asked");
}

/// Desk (a preset of the file source): the generated export, written by the sandbox's config,
/// reads as exactly the truth's companies, customers and cases, each once, with the link ids
/// taken from `_links.*.href`; a read stopped after its first page resumes with no gap and no
/// repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_exports_read_exactly_the_truths_records_and_resume() {
    const DESK: Vendor = Vendor { name: "desk", objects: &["companies", "customers", "cases"], settings: "", size: 60 };
    let sb = sandbox(&DESK, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let source = &config.raw.sources["desk"];
    let c = accord_connectors::file::desk::connector("desk", source, dir.path()).unwrap().with_page_size(7);
    for object in DESK.objects {
        let r = read(&c, object, None, None).await;
        let (live, _) = expected(&sb, &DESK, object);
        assert!(!live.is_empty(), "{object}: the generated export has records");
        assert_eq!(set(&r.ids), live, "desk/{object}: the records of the export");
        assert_eq!(r.ids.len(), live.len(), "desk/{object}: no record twice");
        let first = read(&c, object, None, Some(1)).await;
        let rest = read(&c, object, first.cursor.clone(), None).await;
        let mut all = first.ids.clone();
        all.extend(rest.ids.iter().cloned());
        assert_eq!(all, r.ids, "desk/{object}: resumed after the first page, in file order");
    }
    let mut cases = accord_connectors::Connector::open_stream(&c, "cases", None, false).unwrap();
    let page = cases.next_page().await.unwrap().unwrap();
    let linked = page
        .items
        .iter()
        .filter(|i| matches!(i, accord_connectors::Item::Record(r) if r.data["_links"]["customer"]["id"].is_string()))
        .count();
    assert!(linked > 0, "cases carry their customer's id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshdesk_deleted_contacts_and_tickets_arrive_from_the_deletion_lists() {
    deletion_lists(&FRESHDESK).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshdesk_http_deleted_contacts_and_tickets_arrive_from_the_deletion_lists() {
    deletion_lists(&FRESHDESK_HTTP).await
}

/// Freshdesk's deletion lists, read by the shipped connector or by the `http` source.
async fn deletion_lists(v: &Vendor) {
    let sb = sandbox(v, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "");
    let contacts = read(c.as_ref(), "contacts", None, None).await;
    let tickets = read(c.as_ref(), "tickets", None, None).await;
    contacts.completed_full_pass("the first contacts pass");
    tickets.completed_full_pass("the first tickets pass: everything updated since 1970");
    // Every ticket is older than the 30 days a list without updated_since reaches: the pass read
    // them all, so it sent updated_since.
    assert_eq!(set(&tickets.ids), expected(&sb, v, "tickets").0);
    let snapshot = sb.freshdesk.snapshot();
    let contact = snapshot.contacts.iter().find(|c| !c.deleted).unwrap().id;
    let ticket = snapshot.tickets.iter().find(|t| !t.deleted).unwrap().id;
    let old_ticket = snapshot.tickets.iter().find(|t| t.deleted).unwrap().id;
    sb.clock().advance(chrono::Duration::minutes(2));
    sb.freshdesk.delete_contact(contact).unwrap();
    sb.freshdesk.delete_ticket(ticket).unwrap();
    sb.clock().advance(chrono::Duration::minutes(2));
    let contacts = read(c.as_ref(), "contacts", contacts.cursor.clone(), None).await;
    let tickets = read(c.as_ref(), "tickets", tickets.cursor.clone(), None).await;
    assert!(contacts.unmarked() && tickets.unmarked(), "incremental passes");
    assert_eq!(contacts.deleted, vec![contact.to_string()], "state=deleted since the full pass began");
    assert_eq!(tickets.deleted, vec![ticket.to_string()], "filter=deleted since the full pass began");
    assert!(!tickets.deleted.contains(&old_ticket.to_string()), "a deletion older than the pass is not re-read");
    // Nothing deleted is reported twice once the feed has moved on.
    sb.clock().advance(chrono::Duration::minutes(2));
    let quiet = read(c.as_ref(), "tickets", tickets.cursor.clone(), None).await;
    assert!(quiet.deleted.is_empty(), "{:?}", quiet.deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshdesk_deleted_companies_are_reconciled_every_reconcile_every() {
    companies_reconciled(&FRESHDESK).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshdesk_http_deleted_companies_are_reconciled_every_reconcile_every() {
    companies_reconciled(&FRESHDESK_HTTP).await
}

async fn companies_reconciled(v: &Vendor) {
    let sb = sandbox(v, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "");
    let first = read(c.as_ref(), "companies", None, None).await;
    first.completed_full_pass("the first companies pass");
    let gone = sb.freshdesk.snapshot().companies[2].id;
    sb.freshdesk.delete_company(gone).unwrap();
    let next = read(c.as_ref(), "companies", first.cursor.clone(), None).await;
    assert!(next.unmarked(), "within reconcile_every, no reconciling pass");
    assert!(!next.ids.contains(&gone.to_string()));
    let mut due = next.cursor.clone().unwrap();
    let at = accord_core::time::parse_timestamp(&due["last_full_pass"]).unwrap();
    due["last_full_pass"] = Value::String((at - chrono::Duration::days(8)).to_rfc3339());
    let reconciled = read(c.as_ref(), "companies", Some(due), None).await;
    reconciled.completed_full_pass("a due reconciling pass");
    assert_eq!(set(&reconciled.ids), expected(&sb, v, "companies").0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshdesk_settings_are_checked_when_parsed() {
    let sb = sandbox(&FRESHDESK, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    let toml = toml.replace("account_id_field = \"account_id\"", "account_id_field = \"custom_fields.account_id\"");
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let e = accord_connectors::open_source("freshdesk", &config.raw.sources["freshdesk"], &config).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("sources.freshdesk.account_id_field") && e.contains("not a custom field name"), "{e}");
    // Another field name reads another custom field.
    let toml = sb
        .accord_toml(dir.path(), false)
        .unwrap()
        .replace("account_id_field = \"account_id\"", "account_id_field = \"acct_no\"");
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let c = accord_connectors::open_source("freshdesk", &config.raw.sources["freshdesk"], &config).unwrap();
    assert_eq!(c.objects()[0].link[0].field().as_str(), "custom_fields.acct_no");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capsule_each_object_keeps_its_own_party_type_and_deletions_come_from_the_deleted_list() {
    let sb = sandbox(&CAPSULE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &CAPSULE, dir.path(), "");
    let orgs = read(c.as_ref(), "organisations", None, None).await;
    let people = read(c.as_ref(), "people", None, None).await;
    orgs.completed_full_pass("the first organisations pass");
    people.completed_full_pass("the first people pass");
    assert_eq!(set(&orgs.ids), expected(&sb, &CAPSULE, "organisations").0, "organisations only");
    assert_eq!(set(&people.ids), expected(&sb, &CAPSULE, "people").0, "people only");
    let snapshot = sb.capsule.snapshot();
    let person =
        snapshot.parties.iter().find(|p| p.kind == accord_sandbox::capsule::model::PartyKind::Person).unwrap().id;
    sb.clock().advance(chrono::Duration::minutes(2));
    sb.capsule.delete(person).unwrap();
    sb.clock().advance(chrono::Duration::minutes(2));
    let people = read(c.as_ref(), "people", people.cursor.clone(), None).await;
    assert!(people.unmarked(), "an incremental pass");
    assert_eq!(people.deleted, vec![person.to_string()], "from /parties/deleted since the full pass began");
    sb.clock().advance(chrono::Duration::minutes(2));
    let quiet = read(c.as_ref(), "people", people.cursor.clone(), None).await;
    assert!(quiet.deleted.is_empty() && quiet.ids.is_empty(), "{quiet:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_links_read_custom_fields_by_name_and_a_wrong_name_fails_naming_the_fields() {
    let sb = sandbox(&JIRA, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &JIRA, dir.path(), "");
    let spec = c.objects()[0].clone();
    assert_eq!(
        serde_json::to_value(&spec.link).unwrap(),
        serde_json::json!([
            {"rule": "field", "field": "fields_by_name[\"Account ID\"]"},
            {"rule": "support_id", "field": "fields_by_name[\"Support ID\"]"}
        ])
    );
    // Every issue carries its custom fields under their names, as the emulator's ids hold them.
    let mut stream = c.open_stream("issues", None, false).unwrap();
    let page = stream.next_page().await.unwrap().unwrap();
    let issues = sb.jira.snapshot().issues;
    let mut checked = 0;
    for item in page.items {
        let accord_connectors::Item::Record(r) = item else { panic!("a record") };
        let id: u64 = r.data["id"].as_str().unwrap().parse().unwrap();
        let issue = issues.iter().find(|i| i.id == id).unwrap();
        let by_name = &r.data["fields_by_name"];
        assert_eq!(by_name["Account ID"].as_str(), issue.account_id.as_deref(), "{id}");
        assert_eq!(by_name["Support ID"].as_str(), issue.support_id.as_deref(), "{id}");
        assert_eq!(by_name["Account ID"], r.data["fields"]["customfield_10050"]);
        checked += 1;
    }
    assert!(checked > 0);
    let wrong = connector(&sb, &JIRA, dir.path(), "support_id_field = \"Suport ID\"\n");
    let r = try_read(wrong.as_ref(), "issues", None, false, None).await;
    let e = r.error.expect("a name no custom field has fails the stream");
    assert!(e.contains("\"Suport ID\"") && e.contains("\"Support ID\"") && e.contains("\"Account ID\""), "{e}");
    assert_eq!(r.pages, 0, "before any page");
    // A path needs no resolving.
    let by_path =
        connector(&sb, &JIRA, dir.path(), "account_field = \"fields.customfield_10050\"\nsupport_id_field = \"off\"\n");
    assert_eq!(
        serde_json::to_value(&by_path.objects()[0].link).unwrap(),
        serde_json::json!([{"rule": "field", "field": "fields.customfield_10050"}])
    );
    let all = read(by_path.as_ref(), "issues", None, None).await;
    assert_eq!(set(&all.ids), expected(&sb, &JIRA, "issues").0);
    // A restriction is joined to accord's own filter; an ORDER BY in it is refused when parsed.
    let sup = connector(&sb, &JIRA, dir.path(), "jql = \"project = SUP\"\n");
    assert_eq!(set(&read(sup.as_ref(), "issues", None, None).await.ids), expected(&sb, &JIRA, "issues").0);
    let other = connector(&sb, &JIRA, dir.path(), "jql = \"project = OPS\"\n");
    assert!(read(other.as_ref(), "issues", None, None).await.ids.is_empty(), "no issue of another project");
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    let toml = toml.replace("[sources.jira]\n", "[sources.jira]\njql = \"project = SUP ORDER BY created\"\n");
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let e = accord_connectors::open_source("jira", &config.raw.sources["jira"], &config).unwrap_err().to_string();
    assert!(e.contains("sources.jira.jql") && e.contains("ORDER BY"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_an_issue_changed_in_the_minute_of_the_mark_is_read_by_the_next_pass() {
    let sb = sandbox(&JIRA, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &JIRA, dir.path(), "");
    let full = read(c.as_ref(), "issues", None, None).await;
    let issues = sb.jira.snapshot().issues;
    let (a, b) = (issues[1].id, issues[2].id);
    sb.clock().advance(chrono::Duration::days(1));
    sb.jira.update(a, |i| i.summary = "First".into()).unwrap();
    let first = read(c.as_ref(), "issues", full.cursor.clone(), None).await;
    assert_eq!(first.ids, [a.to_string()], "only the change");
    // Ten seconds later, in the same minute as the mark: JQL cannot tell them apart by the
    // minute, so the next pass starts at the mark's minute (minus the overlap).
    sb.clock().advance(chrono::Duration::seconds(10));
    sb.jira.update(b, |i| i.summary = "Second".into()).unwrap();
    let second = read(c.as_ref(), "issues", first.cursor.clone(), None).await;
    assert!(second.ids.contains(&b.to_string()), "{:?}", second.ids);
    assert!(!second.ids.contains(&a.to_string()), "the issue at the mark is skipped once: {:?}", second.ids);
    let third = read(c.as_ref(), "issues", second.cursor.clone(), None).await;
    assert!(third.ids.len() <= 2, "no growing re-reads: {:?}", third.ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_reconciles_deletions_every_reconcile_every() {
    let sb = sandbox(&JIRA, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &JIRA, dir.path(), "");
    let first = read(c.as_ref(), "issues", None, None).await;
    first.completed_full_pass("issues");
    let gone = sb.jira.snapshot().issues[3].id;
    sb.jira.delete(gone).unwrap();
    let next = read(c.as_ref(), "issues", first.cursor.clone(), None).await;
    assert!(next.unmarked() && next.deleted.is_empty(), "JIRA reports no deletions");
    let due = age_last_full_pass(next.cursor.as_ref().unwrap(), 8);
    let reconciled = read(c.as_ref(), "issues", Some(due), None).await;
    reconciled.completed_full_pass("issues");
    assert_eq!(set(&reconciled.ids), expected(&sb, &JIRA, "issues").0);
    assert!(!reconciled.ids.contains(&gone.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keap_a_sync_killed_after_a_token_rotation_resumes_with_the_saved_token() {
    let sb = sandbox(&KEAP, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let first_token = sb.keap.credentials().refresh_token;
    let c = connector(&sb, &KEAP, dir.path(), "");
    let first = read(c.as_ref(), "contacts", None, Some(1)).await;
    assert!(!sb.keap.refresh_token_valid(&first_token), "the grant spent the configured token");
    let saved = std::fs::read_to_string(dir.path().join("keap.refresh_token")).unwrap();
    assert!(!saved.contains(&first_token), "its successor is on disk");
    // The process dies here. The next one has the same config, still naming the spent token.
    drop(c);
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("keap_refresh_token"), &first_token).unwrap();
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let c = accord_connectors::open_source("keap", &config.raw.sources["keap"], &config).unwrap();
    let rest = read(c.as_ref(), "contacts", first.cursor.clone(), None).await;
    let mut all = set(&first.ids);
    all.extend(rest.ids.iter().cloned());
    assert_eq!(all, expected(&sb, &KEAP, "contacts").0, "no gap, no lock-out");
    // An access token that expires is refreshed once more (a 401, then a grant), and the chain
    // goes on.
    let before = std::fs::read_to_string(dir.path().join("keap.refresh_token")).unwrap();
    sb.keap.expire_access_tokens();
    let companies = read(c.as_ref(), "companies", None, None).await;
    assert_eq!(set(&companies.ids), expected(&sb, &KEAP, "companies").0);
    let after = std::fs::read_to_string(dir.path().join("keap.refresh_token")).unwrap();
    assert_ne!(after, before);
    assert!(after.contains(&sb.keap.credentials().refresh_token), "the file holds the token valid now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keap_companies_are_read_whole_and_reconciled_on_every_pass() {
    let sb = sandbox(&KEAP, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &KEAP, dir.path(), "");
    let first = read(c.as_ref(), "companies", None, None).await;
    first.completed_full_pass("companies");
    let again = read(c.as_ref(), "companies", first.cursor.clone(), None).await;
    again.completed_full_pass("companies, the next pass");
    assert_eq!(set(&again.ids), expected(&sb, &KEAP, "companies").0);
    let spec = c.objects().iter().find(|o| o.name == "contacts").unwrap().clone();
    assert_eq!(
        serde_json::to_value(&spec.link).unwrap(),
        serde_json::json!([
            {"rule": "field", "field": "custom_fields[id=9].content"},
            {"rule": "parent", "field": "company.id", "object": "companies"}
        ])
    );
    // A deleted contact leaves with the next reconciling pass.
    let gone = sb.keap.snapshot().contacts[2].id;
    let contacts = read(c.as_ref(), "contacts", None, None).await;
    sb.keap.delete_contact(gone).unwrap();
    let due = age_last_full_pass(contacts.cursor.as_ref().unwrap(), 8);
    let reconciled = read(c.as_ref(), "contacts", Some(due), None).await;
    reconciled.completed_full_pass("contacts");
    assert!(!reconciled.ids.contains(&gone.to_string()));
}

/// Stripe: a deleted customer arrives as a tombstone from its `customer.deleted` event, of an
/// object's several events only the newest state is applied, and a cursor older than the 30 days
/// of events Stripe keeps reads the whole list again as a reconciling pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_changes_and_deletions_come_from_events_and_an_old_cursor_reads_everything() {
    let sb = sandbox(&STRIPE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &STRIPE, dir.path(), "");
    let full = read(c.as_ref(), "customers", None, None).await;
    full.completed_full_pass("stripe/customers");
    let customers = sb.stripe.snapshot().customers;
    let (renamed, gone) = (customers[0].id.clone(), customers[1].id.clone());
    sb.clock().advance(chrono::Duration::minutes(5));
    sb.stripe.update_customer(&renamed, |c| c.name = Some("First".into())).unwrap();
    sb.stripe.update_customer(&gone, |c| c.name = Some("Doomed".into())).unwrap();
    sb.clock().advance(chrono::Duration::seconds(2));
    sb.stripe.update_customer(&renamed, |c| c.name = Some("Second".into())).unwrap();
    sb.stripe.delete_customer(&gone).unwrap();
    let spec = c.objects().iter().find(|o| o.name == "customers").unwrap().clone();
    let mut stream = c.open_stream("customers", full.cursor.clone(), false).unwrap();
    let (mut names, mut deleted) = (Vec::new(), Vec::new());
    let mut cursor = None;
    while let Some(page) = stream.next_page().await.unwrap() {
        assert!(page.full_pass.is_none(), "an events pass is not a full pass");
        for item in page.items {
            match item {
                accord_connectors::Item::Record(r) => {
                    let id = accord_core::id::key_text(spec.native_id.as_ref().unwrap().get(&r.data).unwrap());
                    names.push((id.unwrap().unwrap(), r.data["name"].clone()));
                }
                accord_connectors::Item::Deleted { native_id } => deleted.push(native_id),
                other => panic!("{other:?}"),
            }
        }
        cursor = Some(page.cursor);
    }
    assert_eq!(names, vec![(renamed.clone(), Value::from("Second"))], "only the newest state of each");
    assert_eq!(deleted, vec![gone.clone()], "customer.deleted is a tombstone");
    // An event's subscription names its discounts by id: the connector reads it again expanded.
    let subs = read(c.as_ref(), "subscriptions", None, None).await;
    let sub = sb.stripe.snapshot().subscriptions.into_iter().find(|s| s.discount.is_some()).unwrap();
    let duration = match sub.discount.as_ref().unwrap().coupon.duration {
        accord_sandbox::stripe::model::Duration::Once => "once",
        accord_sandbox::stripe::model::Duration::Repeating(_) => "repeating",
        accord_sandbox::stripe::model::Duration::Forever => "forever",
    };
    sb.clock().advance(chrono::Duration::seconds(2));
    sb.stripe.update_subscription(&sub.id, |s| s.quantity += 1).unwrap();
    let mut stream = c.open_stream("subscriptions", subs.cursor.clone(), false).unwrap();
    let mut changed = Vec::new();
    while let Some(page) = stream.next_page().await.unwrap() {
        changed.extend(page.items.into_iter().filter_map(|i| match i {
            accord_connectors::Item::Record(r) => Some(r.data),
            _ => None,
        }));
    }
    // (The margin before the full pass's start also re-reads the cancellations of the deleted
    // customer's subscriptions.)
    let record = changed.iter().find(|r| r["id"] == sub.id.as_str()).expect("the changed subscription");
    assert!(changed.len() < subs.ids.len() / 2, "an events pass: {} of {}", changed.len(), subs.ids.len());
    assert_eq!(record["items"]["data"][0]["quantity"], Value::from(sub.quantity + 1));
    assert_eq!(record["accord"]["discount_duration"], Value::from(duration), "{:#}", record["accord"]);
    // 31 days later the events since the cursor are gone: the whole list again, as a full pass.
    sb.clock().advance(chrono::Duration::days(31));
    let mut old = cursor.clone().unwrap();
    let back = chrono::Utc::now().timestamp() - 31 * 86_400;
    old["high_water"] = Value::from(back);
    let again = read(c.as_ref(), "customers", Some(old), None).await;
    again.completed_full_pass("stripe/customers after 31 days");
    let live: BTreeSet<String> = sb.stripe.snapshot().customers.into_iter().map(|c| c.id).collect();
    assert_eq!(set(&again.ids), live);
    assert!(!live.contains(&gone));
}

/// Recurly: a deactivated account stays in the lists (`state: inactive`, `deleted_at`) and is a
/// tombstone on the next incremental pass (`sort=updated_at&order=asc&begin_time=`), which reads
/// little else and starts inside the second the last pass ended on; subscriptions carry their plan's
/// interval and their coupon's duration, which the API gives only in `/plans` and `/coupons`,
/// and exact minor units of their decimal price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recurly_deactivations_are_tombstones_and_increments_start_inside_the_last_second() {
    let sb = sandbox(&RECURLY, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &RECURLY, dir.path(), "");
    let full = read(c.as_ref(), "accounts", None, None).await;
    full.completed_full_pass("recurly/accounts");
    let (live, gone) = expected(&sb, &RECURLY, "accounts");
    assert_eq!((set(&full.ids), set(&full.deleted)), (live.clone(), gone), "inactive accounts are tombstones");
    let accounts = sb.recurly.snapshot().accounts;
    let active: Vec<_> = accounts.iter().filter(|a| a.state == "active").collect();
    let (closing, renamed) = (active[0].id.clone(), active[1].id.clone());
    sb.clock().advance(chrono::Duration::minutes(5));
    sb.recurly.deactivate_account(&closing).unwrap();
    sb.recurly.update_account(&renamed, |a| a.company = Some("Renamed Inc.".into())).unwrap();
    let again = read(c.as_ref(), "accounts", full.cursor.clone(), None).await;
    assert!(again.deleted.contains(&closing), "the deactivation is a tombstone: {:?}", again.deleted);
    assert!(again.ids.contains(&renamed) && !again.ids.contains(&closing));
    assert!(again.ids.len() + again.deleted.len() <= 3, "an incremental pass: {:?}", again.ids);
    // The next pass starts a second before the last one's mark (Recurly's times are whole
    // seconds, `begin_time` inclusive): a change in that second is read, and the record that was
    // on the mark, which the server lists again, is not given twice.
    let last = again.cursor.clone().unwrap();
    sb.recurly.update_account(&active[2].id, |a| a.company = Some("Same Second".into())).unwrap();
    let third = read(c.as_ref(), "accounts", Some(last), None).await;
    assert!(third.ids.contains(&active[2].id), "{:?}", third.ids);
    assert!(!third.ids.contains(&renamed), "the record on the mark is skipped once: {:?}", third.ids);

    let mut stream = c.open_stream("subscriptions", None, false).unwrap();
    let mut records = Vec::new();
    while let Some(page) = stream.next_page().await.unwrap() {
        records.extend(page.items.into_iter().filter_map(|i| match i {
            accord_connectors::Item::Record(r) => Some(r.data),
            _ => None,
        }));
    }
    let site = sb.recurly.snapshot();
    assert_eq!(records.len(), site.subscriptions.len());
    for r in &records {
        let sub = site.subscriptions.iter().find(|s| s.id == r["id"].as_str().unwrap()).unwrap();
        let want = match (sub.plan.interval_unit, sub.plan.interval_length) {
            ("days", 7) => ("week", 1),
            ("months", 12) => ("year", 1),
            _ => ("month", 1),
        };
        assert_eq!(
            (r["accord"]["billing_interval"].as_str(), r["accord"]["interval_count"].as_i64()),
            (Some(want.0), Some(want.1))
        );
        assert_eq!(
            r["accord"]["unit_amount"].as_i64(),
            Some(sub.unit_amount),
            "exact minor units of {}",
            r["unit_amount"]
        );
        let duration = sub.redemptions.first().map(|d| match d.coupon.duration {
            "single_use" => "once",
            "temporal" => "repeating",
            other => other,
        });
        assert_eq!(r["accord"]["discount_duration"].as_str(), duration, "{:#}", r["accord"]);
    }
    assert!(
        records
            .iter()
            .any(|r| r["accord"]["discount_duration"] == "repeating" && r["accord"]["discount_end"].is_string())
    );
}

/// All records of one stream read from `cursor`, as the engine gets them (unwrapped, derived).
async fn records(c: &dyn accord_connectors::Connector, object: &str, cursor: Option<Value>) -> (Vec<Value>, Value) {
    let mut stream = c.open_stream(object, cursor, false).unwrap();
    let (mut out, mut last) = (Vec::new(), Value::Null);
    while let Some(page) = stream.next_page().await.unwrap() {
        out.extend(page.items.into_iter().filter_map(|i| match i {
            accord_connectors::Item::Record(r) => Some(r.data),
            _ => None,
        }));
        last = page.cursor;
    }
    (out, last)
}

/// Maxio has no deletion feed: a customer deleted between syncs is left out of the next
/// reconciling pass (every `reconcile_every`), while an incremental pass reads only what changed
/// since the last one started. Records arrive unwrapped; coupon terms come from the subscription
/// read again with `include[]=coupons`; cents and decimal strings arrive exact; a proration
/// invoice names the new price and the change day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxio_deletions_reconcile_changes_are_incremental_and_amounts_are_exact() {
    use accord_sandbox::maxio::model::decimal;
    let sb = sandbox(&MAXIO, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &MAXIO, dir.path(), "");
    let full = read(c.as_ref(), "customers", None, None).await;
    full.completed_full_pass("maxio/customers");
    let site = sb.maxio.snapshot();
    let gone = site.customers.iter().find(|c| !site.subscriptions.iter().any(|s| s.customer == c.id)).unwrap().id;
    let renamed = site.customers.iter().find(|c| c.id != gone).unwrap().id;
    sb.clock().advance(chrono::Duration::minutes(5));
    sb.maxio.delete_customer(gone).unwrap();
    sb.maxio.update_customer(renamed, |c| c.organization = Some("Renamed Ltd".into())).unwrap();
    sb.clock().advance(chrono::Duration::minutes(2));
    let inc = read(c.as_ref(), "customers", full.cursor.clone(), None).await;
    assert!(inc.unmarked(), "an incremental pass is not a full pass");
    assert_eq!(inc.ids, vec![renamed.to_string()], "only the change");
    let (changed, _) = records(c.as_ref(), "customers", full.cursor.clone()).await;
    assert_eq!(changed[0]["accord"]["name"], "Renamed Ltd", "unwrapped, with the derived name");
    // A day after the last reconciling pass, the whole list again: the deleted customer is absent.
    let mut old = inc.cursor.clone().unwrap();
    old["last_full_pass"] = Value::from((chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339());
    let again = read(c.as_ref(), "customers", Some(old), None).await;
    again.completed_full_pass("maxio/customers a day later");
    assert!(!again.ids.contains(&gone.to_string()));
    assert_eq!(set(&again.ids), sb.maxio.snapshot().customers.iter().map(|c| c.id.to_string()).collect());

    let (subs, _) = records(c.as_ref(), "subscriptions", None).await;
    for s in &site.subscriptions {
        let r = subs.iter().find(|r| r["id"] == s.id).unwrap();
        assert_eq!(r["product_price_in_cents"], s.price_in_cents, "cents as they are");
        let Some(coupon) = &s.coupon else { continue };
        let want = match (coupon.recurring, coupon.uses_allowed) {
            (false, _) => "once",
            (true, None) => "forever",
            (true, Some(_)) => "repeating",
        };
        assert_eq!(r["accord"]["discount_duration"], want, "{:#}", r["accord"]);
        assert_eq!(r["accord"]["discount_amount"], serde_json::json!(coupon.amount_in_cents));
        assert_eq!(r["accord"]["discount_percent_bp"], serde_json::json!(coupon.percentage_bp));
    }
    let requests = sb.maxio.rate_limiter().stats().requests;
    let (invoices, _) = records(c.as_ref(), "invoices", None).await;
    assert_eq!(invoices.len(), site.invoices.len());
    let mut prorations = 0;
    for i in &site.invoices {
        let r = invoices.iter().find(|r| r["uid"] == i.uid.as_str()).unwrap();
        let exact = |minor: i64| {
            let text = decimal(minor, i.currency);
            let (whole, frac) = text.split_once('.').unwrap();
            match i.currency {
                "JPY" => whole.to_owned(),
                _ => format!("{whole}.{frac:0<2}"),
            }
        };
        assert_eq!(r["accord"]["amount"], exact(i.total()), "{}: {}", i.uid, r["total_amount"]);
        assert_eq!(r["accord"]["tax"], exact(i.tax()));
        if i.lines.len() == 2 {
            prorations += 1;
            let charge = &i.lines[1];
            let product = site.products.iter().find(|p| Some(p.id) == charge.product_id).unwrap();
            assert_eq!(
                r["accord"]["billed_unit_amount"],
                product.price(i.currency).unwrap(),
                "the new recurring price"
            );
            let day = charge.period.unwrap().0.format("%Y-%m-%d").to_string();
            assert_eq!(r["accord"]["billed_from"], day.as_str(), "from the change day");
        }
    }
    assert!(prorations > 0, "the site has mid-cycle changes");
    // The pages (5 invoices each, then the empty one), and each price point once per currency.
    let points: BTreeSet<(i64, &str)> = site
        .invoices
        .iter()
        .filter_map(|i| i.lines.iter().find(|l| l.kind == "baseline" && l.subtotal() > 0).map(|l| (l, i.currency)))
        .map(|(l, c)| (l.product_id.unwrap(), c))
        .collect();
    let sent = sb.maxio.rate_limiter().stats().requests - requests;
    assert_eq!(sent, (site.invoices.len().div_ceil(5) + 1 + points.len()) as u64);
}

/// Chargebee: an incremental pass reads what changed since the last one (`updated_at[after]`,
/// sorted ascending), deletions come back flagged (`include_deleted`) and become tombstones,
/// records reach the engine unwrapped from their list entries with the `accord.*` fields, and a
/// subscription's coupon is read from `/api/v2/coupons/{id}` once per pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chargebee_changes_and_deletions_come_back_in_order_and_unwrapped() {
    let sb = sandbox(&CHARGEBEE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &CHARGEBEE, dir.path(), "");
    let full = read(c.as_ref(), "customers", None, None).await;
    full.completed_full_pass("chargebee/customers");
    let live: Vec<_> = sb.chargebee.snapshot().customers.into_iter().filter(|c| !c.deleted).collect();
    let (renamed, gone) = (live[0].id.clone(), live[1].id.clone());
    sb.clock().advance(chrono::Duration::seconds(5));
    sb.chargebee.update_customer(&renamed, |c| c.company = Some("Renamed Ltd".into())).unwrap();
    sb.chargebee.delete_customer(&gone).unwrap();
    let spec = c.objects().iter().find(|o| o.name == "customers").unwrap().clone();
    assert_eq!(spec.native_id.as_ref().unwrap().to_string(), "id", "the engine sees the record, not its entry");
    let mut stream = c.open_stream("customers", full.cursor.clone(), false).unwrap();
    let (mut records, mut deleted) = (Vec::new(), Vec::new());
    while let Some(page) = stream.next_page().await.unwrap() {
        assert!(page.full_pass.is_none(), "an incremental pass is not a full pass");
        for item in page.items {
            match item {
                accord_connectors::Item::Record(r) => records.push(r.data),
                accord_connectors::Item::Deleted { native_id } => deleted.push(native_id),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(deleted, vec![gone.clone()], "the deleted customer is a tombstone");
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![renamed.as_str()], "only what changed since the last pass");
    assert_eq!(records[0]["accord"]["name"], "Renamed Ltd");
    assert!(records[0].get("customer").is_none(), "unwrapped");
    // Subscriptions: the deleted customer's come back as tombstones; coupons' terms are read.
    let subs = read(c.as_ref(), "subscriptions", None, None).await;
    let snapshot = sb.chargebee.snapshot();
    let theirs: BTreeSet<String> =
        snapshot.subscriptions.iter().filter(|s| s.customer_id == gone).map(|s| s.id.clone()).collect();
    assert!(theirs.iter().all(|id| subs.deleted.contains(id)), "{theirs:?} among {:?}", subs.deleted);
    let with_coupon = snapshot.subscriptions.iter().find(|s| !s.coupons.is_empty() && !s.deleted).unwrap();
    let mut stream = c.open_stream("subscriptions", None, true).unwrap();
    let mut found = None;
    while let Some(page) = stream.next_page().await.unwrap() {
        for item in page.items {
            if let accord_connectors::Item::Record(r) = item
                && r.data["id"] == with_coupon.id.as_str()
            {
                found = Some(r.data);
            }
        }
    }
    let found = found.expect("the subscription with a coupon");
    let duration = found["accord"]["discount_duration"].as_str().unwrap();
    assert!(["once", "forever", "repeating"].contains(&duration), "{:#}", found["accord"]);
    assert_eq!(found["accord"]["unit_amount"], Value::from(with_coupon.unit_price));
    assert_eq!(found["accord"]["plan_code"], Value::from(with_coupon.item_price_id.clone()));
}

/// Every record of a stream's pass, as the connector derives it.
async fn records_of(c: &dyn accord_connectors::Connector, object: &str) -> Vec<Value> {
    let mut stream = c.open_stream(object, None, false).unwrap();
    let mut records = Vec::new();
    while let Some(page) = stream.next_page().await.unwrap() {
        records.extend(page.items.into_iter().filter_map(|i| match i {
            accord_connectors::Item::Record(r) => Some(r.data),
            _ => None,
        }));
    }
    records
}

/// Zuora: a cancelled account (`Status = Canceled`) is a tombstone on the next incremental pass
/// (`where UpdatedDate >= '...'`), which reads little else; an expired token is bought again
/// mid-pass, and a pass whose saved locator Zuora forgot starts again from its `since`; a
/// subscription takes its unit price, quantity and billing period from its current charge
/// segment and Zuora's MRR from the charges; a proration invoice bills the new price from the
/// change day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zuora_cancellations_are_tombstones_tokens_refresh_and_charges_price_subscriptions() {
    let sb = sandbox(&ZUORA, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &ZUORA, dir.path(), "");
    let full = read(c.as_ref(), "accounts", None, None).await;
    full.completed_full_pass("zuora/accounts");
    let (live, gone) = expected(&sb, &ZUORA, "accounts");
    assert!(!gone.is_empty(), "the seed cancels some accounts");
    assert_eq!((set(&full.ids), set(&full.deleted)), (live, gone), "cancelled accounts are tombstones");
    let tenant = sb.zuora.snapshot();
    let active: Vec<_> = tenant.accounts.iter().filter(|a| a.status == "Active").collect();
    let (closing, renamed) = (active[0].id.clone(), active[1].id.clone());
    sb.clock().advance(chrono::Duration::minutes(5));
    sb.zuora.cancel_account(&closing).unwrap();
    sb.zuora.update_account(&renamed, |a| a.name = "Renamed Inc.".into()).unwrap();
    // The token the first pass bought has expired meanwhile: the client buys another.
    sb.zuora.expire_tokens();
    let again = read(c.as_ref(), "accounts", full.cursor.clone(), None).await;
    assert!(again.deleted.contains(&closing), "the cancellation is a tombstone: {:?}", again.deleted);
    assert!(again.ids.contains(&renamed) && !again.ids.contains(&closing));
    assert!(again.ids.len() + again.deleted.len() <= 3, "an incremental pass: {:?}", again.ids);

    // A pass killed after one page resumes by its locator; a forgotten locator restarts it.
    let first = read(c.as_ref(), "invoices", None, Some(1)).await;
    sb.zuora.expire_locators();
    let rest = read(c.as_ref(), "invoices", first.cursor.clone(), None).await;
    let (live, _) = expected(&sb, &ZUORA, "invoices");
    let mut all = set(&first.ids);
    all.extend(rest.ids.iter().cloned());
    assert_eq!(all, live, "no gap after a restart");

    let tenant = sb.zuora.snapshot();
    let subs = records_of(c.as_ref(), "subscriptions").await;
    assert_eq!(subs.len(), tenant.subscriptions.len());
    let months = |p: &str| match p {
        "Quarter" => ("month", 3),
        "Annual" => ("year", 1),
        _ => ("month", 1),
    };
    let mut checked = 0;
    for r in &subs {
        let id = r["Id"].as_str().unwrap();
        let plans: Vec<&str> =
            tenant.rate_plans.iter().filter(|p| p.subscription_id == id).map(|p| p.id.as_str()).collect();
        let charge =
            tenant.charges.iter().find(|c| plans.contains(&c.rate_plan_id.as_str()) && c.is_last_segment).unwrap();
        let a = &r["accord"];
        assert_eq!(a["unit_amount"].as_i64(), Some(charge.price), "{a:#}");
        assert_eq!(a["quantity"].as_i64(), Some(charge.quantity));
        let (interval, count) = months(&charge.billing_period);
        assert_eq!((a["billing_interval"].as_str(), a["interval_count"].as_i64()), (Some(interval), Some(count)));
        assert_eq!(a["currency"].as_str(), Some(charge.currency.as_str()));
        if r["Status"] == "Active" {
            assert!(a["mrr"].is_string(), "an active subscription reports Zuora's MRR: {a:#}");
            checked += 1;
        } else {
            assert!(a["mrr"].is_null(), "an ended one does not");
        }
    }
    assert!(checked > 5, "{checked}");
    let invoices = records_of(c.as_ref(), "invoices").await;
    let seg2: Vec<_> = tenant.charges.iter().filter(|c| c.segment == 2).collect();
    assert!(!seg2.is_empty());
    let proration = invoices
        .iter()
        .find(|i| i["accord"]["line_count"] == 2)
        .unwrap_or_else(|| panic!("a proration invoice among {}", invoices.len()));
    let b = &proration["accord"];
    let new = seg2.iter().find(|c| b["billed_unit_amount"].as_i64() == Some(c.price)).unwrap();
    assert_eq!(b["billed_from"].as_str().map(str::to_owned), Some(new.effective_start.format("%Y-%m-%d").to_string()));
    assert_eq!(b["billed_quantity"].as_i64(), Some(new.quantity));
}

/// Xero's 5,000 calls a day: a sync that spends the budget stops cleanly before the call it
/// cannot pay for (the last answer said `X-DayLimit-Remaining: 0`), keeps the cursor of its last
/// page, says when it can resume; a new process given that checkpoint knows the budget is spent
/// before its first call and makes none; after the day, it continues from that cursor with no
/// gap and no duplicate. A refusal the connector did not see coming (a 429 with
/// `X-Rate-Limit-Problem: day`) stops it the same way.
#[tokio::test]
async fn xero_a_sync_past_the_daily_budget_stops_keeps_its_checkpoint_and_resumes_after_the_reset() {
    let sb = sandbox(&XERO, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &XERO, dir.path(), "");
    let (live, _) = expected(&sb, &XERO, "contacts");
    let first = read(c.as_ref(), "contacts", None, Some(1)).await;
    assert!(first.ids.len() < live.len(), "the list spans pages");
    // One call left today: the next page is read, and the one after is not asked for.
    sb.xero.set_day_remaining(1);
    let used = sb.xero.day_used();
    let cut = try_read(c.as_ref(), "contacts", first.cursor.clone(), false, None).await;
    let error = cut.error.clone().expect("the day's limit ends the read");
    assert!(
        error.contains("daily limit") && error.contains("resumes") && error.contains("no call was made"),
        "{error}"
    );
    assert_eq!(cut.ids.len(), 5, "the page the last call paid for is delivered");
    assert_eq!(sb.xero.day_used(), used + 1, "no call past the budget");
    let checkpoint = cut.cursor.clone().expect("the last page's cursor is kept");
    assert_eq!(checkpoint["day_budget"]["remaining"], 0, "the checkpoint keeps the budget: {checkpoint}");
    // A new process, given the checkpoint, stops at once: nothing read, no call made.
    let again = connector(&sb, &XERO, dir.path(), "");
    let refused = try_read(again.as_ref(), "contacts", Some(checkpoint.clone()), false, None).await;
    assert!(refused.error.is_some_and(|e| e.contains("daily limit")) && refused.ids.is_empty());
    assert_eq!(sb.xero.day_used(), used + 1, "a spent budget is known before the first call");
    // So does one that learns it from another stream's checkpoint (the engine gives them all).
    let third = connector(&sb, &XERO, dir.path(), "");
    third.resume(std::slice::from_ref(&checkpoint));
    let invoices = try_read(third.as_ref(), "invoices", None, false, None).await;
    assert!(invoices.error.is_some_and(|e| e.contains("daily limit")) && invoices.ids.is_empty());
    assert_eq!(sb.xero.day_used(), used + 1);

    // A day later (by Xero's clock) the budget is whole again: the sync continues from the cut.
    sb.clock().advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    let next_day = connector(&sb, &XERO, dir.path(), "");
    let rest = read(next_day.as_ref(), "contacts", Some(checkpoint), None).await;
    let mut all = first.ids.clone();
    all.extend(cut.ids.iter().cloned());
    all.extend(rest.ids.iter().cloned());
    assert_eq!(set(&all), live, "no gap across the stop");
    assert_eq!(all.len(), live.len(), "no duplicate across the stop");

    // Spent behind the connector's back (another app of the organisation's): Xero's 429 stops it.
    sb.xero.set_day_remaining(0);
    let other = connector(&sb, &XERO, dir.path(), "");
    let stopped = try_read(other.as_ref(), "invoices", None, false, None).await;
    let error = stopped.error.expect("the 429 ends the read");
    assert!(error.contains("daily limit") && error.contains("Retry-After"), "{error}");
}

/// Xero never deletes: an archived contact and a voided invoice come back in the next
/// incremental pass as records whose status says so, never as tombstones; amounts are exact.
#[tokio::test]
async fn xero_archived_contacts_and_voided_invoices_are_status_changes() {
    let sb = sandbox(&XERO, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &XERO, dir.path(), "");
    let (contacts, cursor) = records(c.as_ref(), "contacts", None).await;
    assert!(contacts.iter().any(|r| r["ContactStatus"] == "ARCHIVED"), "archived contacts are listed");
    let (invoices, invoice_cursor) = records(c.as_ref(), "invoices", None).await;
    assert!(invoices.iter().all(|i| i["Type"] == "ACCREC"), "sales invoices only");
    let some = invoices.iter().find(|i| i["CurrencyCode"] == "JPY" || i["CurrencyCode"] == "USD").unwrap();
    assert!(some["accord"]["amount"].is_string(), "{some}");
    sb.clock().advance(chrono::Duration::days(1));
    let id =
        contacts.iter().find(|r| r["ContactStatus"] == "ACTIVE").unwrap()["ContactID"].as_str().unwrap().to_owned();
    sb.xero.archive_contact(&id).unwrap();
    let inv = invoices[0]["InvoiceID"].as_str().unwrap().to_owned();
    sb.xero.update_invoice(&inv, |i| i.status = "VOIDED".into()).unwrap();
    sb.clock().advance(chrono::Duration::seconds(5));
    let again = read(c.as_ref(), "contacts", Some(cursor.clone()), None).await;
    assert!(again.deleted.is_empty() && again.ids.contains(&id), "{:?}", again.ids);
    let (changed, _) = records(c.as_ref(), "contacts", Some(cursor)).await;
    assert_eq!(changed.iter().find(|r| r["ContactID"] == id.as_str()).unwrap()["ContactStatus"], "ARCHIVED");
    let (changed, _) = records(c.as_ref(), "invoices", Some(invoice_cursor)).await;
    let voided = changed.iter().find(|r| r["InvoiceID"] == inv.as_str()).unwrap();
    assert_eq!(voided["accord"]["status"], "voided");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn braintree_increments_read_new_records_and_the_full_rescan_sees_changes_and_hard_deletions() {
    let sb = sandbox(&BRAINTREE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &BRAINTREE, dir.path(), "");
    let full = read(c.as_ref(), "customers", None, None).await;
    full.completed_full_pass("braintree/customers");
    let vault = sb.braintree.snapshot();
    let gone = vault.customers[1].id.clone();
    let changed = vault.customers[2].id.clone();
    sb.clock().advance(chrono::Duration::minutes(5));
    sb.braintree.delete_customer(&gone).unwrap();
    sb.braintree
        .update_customer(&changed, |c| {
            c.custom_fields.retain(|(n, _)| n != "account_id");
            c.custom_fields.push(("account_id".into(), "RELINKED-1".into()));
        })
        .unwrap();
    let mut added = vault.customers[0].clone();
    added.id.clear();
    added.legacy_id.clear();
    let added = sb.braintree.add_customer(added);
    sb.clock().advance(chrono::Duration::minutes(2));
    // Within full_rescan, a pass reads what was created since the mark: the new customer only.
    let inc = read(c.as_ref(), "customers", full.cursor.clone(), None).await;
    assert!(inc.unmarked(), "an incremental pass is not a full pass");
    assert_eq!(
        inc.ids,
        vec![added.clone()],
        "only the new customer; Braintree says nothing of the change or the deletion"
    );
    // Once the last full pass is older than full_rescan (7 days), every customer is read again:
    // the change arrives and the hard-deleted customer is missing from a complete pass, which
    // the engine turns into its tombstone.
    let due = age_last_full_pass(inc.cursor.as_ref().unwrap(), 8);
    let (reread, _) = records(c.as_ref(), "customers", Some(due.clone())).await;
    let relinked = reread.iter().find(|r| r["id"] == changed.as_str()).expect("the changed customer is re-read");
    assert_eq!(
        relinked["customFields"].as_array().unwrap().iter().find(|f| f["name"] == "account_id").unwrap()["value"],
        "RELINKED-1"
    );
    let rescan = read(c.as_ref(), "customers", Some(due), None).await;
    rescan.completed_full_pass("braintree/customers after full_rescan");
    assert!(!rescan.ids.contains(&gone));
    assert_eq!(set(&rescan.ids), sb.braintree.snapshot().customers.iter().map(|c| c.id.clone()).collect());
    let after = read(c.as_ref(), "customers", rescan.cursor.clone(), None).await;
    assert!(after.unmarked() && after.ids.is_empty(), "the period starts again: {:?}", after.ids);
    // Transactions carry exact amounts and their customer's id for the parent rule.
    let (transactions, _) = records(c.as_ref(), "transactions", None).await;
    assert_eq!(transactions.len(), vault.transactions.len());
    for t in &vault.transactions {
        let r = transactions.iter().find(|r| r["id"] == t.id.as_str()).unwrap();
        assert_eq!(r["accord"]["amount"], t.amount.as_str(), "exact decimal text");
        assert_eq!(r["customer"]["id"].as_str(), t.customer_id.as_deref().filter(|id| *id != gone));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn braintree_refusals_name_the_problem() {
    let sb = sandbox(&BRAINTREE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("braintree_private_key"), "wrong-key").unwrap();
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let c = accord_connectors::open_source("braintree", &config.raw.sources["braintree"], &config).unwrap();
    let r = try_read(c.as_ref(), "customers", None, false, None).await;
    let e = r.error.expect("wrong keys fail");
    assert!(e.contains("401") || e.contains("credentials"), "{e}");
    assert!(!e.contains("wrong-key"), "the key never shows: {e}");
    // The XML gateway refuses them the same way.
    let r = try_read(c.as_ref(), "subscriptions", None, false, None).await;
    let e = r.error.expect("wrong keys fail on the gateway too");
    assert!(e.contains("401") && e.contains("/merchants/"), "{e}");
    assert!(!e.contains("wrong-key"), "the key never shows: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn braintree_subscriptions_are_a_full_pass_every_sync_that_sees_cancellations_and_new_ones() {
    let sb = sandbox(&BRAINTREE, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, &BRAINTREE, dir.path(), "");
    let first = read(c.as_ref(), "subscriptions", None, None).await;
    let id = first.completed_full_pass("braintree/subscriptions");
    assert!(first.pages > 2, "the id search's page size pages the records: {} pages", first.pages);
    let vault = sb.braintree.snapshot();
    let active = vault.subscriptions.iter().find(|s| s.status == "Active").unwrap().id.clone();
    sb.clock().advance(chrono::Duration::days(1));
    sb.braintree.update_subscription(&active, |s| s.status = "Canceled".into()).unwrap();
    // A kill in the middle of the next pass: the resumed pass keeps its id and fetches only the
    // ids still pending, and a subscription created meanwhile waits for the pass after.
    let part = read(c.as_ref(), "subscriptions", first.cursor.clone(), Some(1)).await;
    let mut late = vault.subscriptions[0].clone();
    late.id = "late-sub".into();
    late.created += chrono::Duration::days(3650);
    sb.braintree.add_subscription(late);
    let rest = read(c.as_ref(), "subscriptions", part.cursor.clone(), None).await;
    let mut marks = part.marks.clone();
    marks.extend(rest.marks.iter().cloned());
    let pass = super::Read { marks, ..super::Read::default() }.completed_full_pass("braintree/subscriptions resumed");
    assert_ne!(pass, id, "a new pass, not the first one again");
    let mut ids = part.ids.clone();
    ids.extend(rest.ids.iter().cloned());
    assert_eq!(set(&ids), set(&first.ids), "the pass's ids, each once");
    assert_eq!(ids.len(), first.ids.len());
    let (next, _) = records(c.as_ref(), "subscriptions", rest.cursor.clone()).await;
    assert!(next.iter().any(|r| r["id"] == "late-sub"), "the next pass sees the new subscription");
    let canceled = next.iter().find(|r| r["id"] == active.as_str()).unwrap();
    assert_eq!(canceled["accord"]["status"], "canceled");
    assert!(canceled["accord"]["end_date"].is_string(), "ended on its status history's day: {canceled}");
}
