//! Deletions at the sources between two syncs, end to end over the vendor emulators: a deleted
//! System-of-Record account becomes `deleted` and the records that linked to it are rejected as
//! `deleted_account`; records deleted where there is no deletion feed (Intercom) are found by a
//! reconciling full pass.

use accord_core::{ObjectKind, RejectReason};
use accord_engine::{Hub, SyncOptions};
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use accord_store::{AccountStatus, QuarantineQuery, RecordKey};

use crate::sandbox::runtime;

fn sync(hub: &Hub, rt: &tokio::runtime::Runtime) -> accord_engine::SyncReport {
    let report = accord_engine::sync(hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
    let errors: Vec<_> = report.sources.iter().filter_map(|s| s.error.as_ref()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    report
}

fn reason(hub: &Hub, key: &RecordKey) -> Option<RejectReason> {
    let mut out = None;
    hub.store
        .for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            if e.key == *key {
                out = Some(e.rejection.reason);
            }
        })
        .unwrap();
    out
}

#[test]
fn deletions_between_two_syncs_reach_the_link_state() {
    let rt = runtime();
    let sandbox = rt.block_on(Sandbox::start(Company::generate(5, 60), SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Intercom has no deletion feed: reconcile on every sync here.
    let toml = sandbox
        .accord_toml(dir.path(), false)
        .unwrap()
        .replace("[sources.intercom]\n", "[sources.intercom]\nreconcile_every = \"0s\"\n");
    let hub = Hub::open(accord_core::Config::from_toml(&toml, dir.path()).unwrap()).unwrap();
    sync(&hub, &rt);

    // An account with an Intercom company linked to it, and an Intercom contact linked anywhere.
    let mut companies = Vec::new();
    hub.store.for_each_record(ObjectKind::Organization, "intercom", "companies", &mut |r| companies.push(r)).unwrap();
    let company = companies.iter().find(|c| !c.is_deleted).expect("a linked Intercom company");
    let account = hub.store.account(company.account_id.as_str()).unwrap().unwrap();
    assert_eq!(account.origin.object, "Account");
    let mut contacts = Vec::new();
    hub.store.for_each_record(ObjectKind::Contact, "intercom", "contacts", &mut |r| contacts.push(r)).unwrap();
    let contact = contacts.iter().find(|c| !c.is_deleted).expect("a linked Intercom contact").key.clone();

    sandbox.salesforce.delete::<accord_sandbox::salesforce::model::Account>(&account.origin.native_id).unwrap();
    sandbox.intercom.delete::<accord_sandbox::intercom::model::Contact>(&contact.native_id).unwrap();
    // getDeleted covers whole minutes only.
    sandbox.clock().advance(chrono::Duration::minutes(2));
    let second = sync(&hub, &rt);
    let reconciled = |source: &str, object: &str| {
        second
            .sources
            .iter()
            .filter(|s| s.source == source)
            .flat_map(|s| &s.streams)
            .find(|st| st.object == object)
            .map(|st| st.reconciled_deletions)
    };
    assert_eq!(reconciled("intercom", "contacts"), Some(1), "the reconciling pass found the deleted contact");

    assert_eq!(hub.store.account(account.account_id.as_str()).unwrap().unwrap().status, AccountStatus::Deleted);
    assert_eq!(hub.store.delete_list().unwrap().iter().filter(|d| d.0 == account.account_id.as_str()).count(), 1);
    assert_eq!(
        reason(&hub, &company.key),
        Some(RejectReason::DeletedAccount),
        "the Intercom company of the deleted account"
    );
    let gone = hub.store.record(ObjectKind::Contact, &contact).unwrap();
    assert!(gone.is_none_or(|r| r.is_deleted), "the Intercom contact deleted at the source is a tombstone");
    assert!(reason(&hub, &contact).is_none(), "and not a rejection");
    let again = hub.retry(&QuarantineQuery::default()).unwrap();
    assert_eq!(again.linked, 0, "the second sync settled: {again:?}");
    rt.block_on(sandbox.shutdown());
}
