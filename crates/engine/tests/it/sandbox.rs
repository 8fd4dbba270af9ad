//! A whole sync of the sandbox company (Salesforce as System of Record, Zendesk, Intercom) through
//! the real connectors over HTTP: every record ends exactly where the generator's ground truth
//! says — linked to the right account, or rejected with the right reason.

use accord_core::{ObjectKind, RejectReason};
use accord_engine::SyncOptions;
use accord_sandbox::{Company, Expected, Sandbox, SandboxOptions};
use accord_store::{QuarantineQuery, RecordKey};

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Compares the hub with the truth; returns the differences, one line each.
pub fn differences(hub: &accord_engine::Hub, truth: &accord_sandbox::Truth) -> Vec<String> {
    let mut quarantined = std::collections::HashMap::new();
    hub.store
        .for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            quarantined
                .insert((e.key.source.clone(), e.key.object.clone(), e.key.native_id.clone()), e.rejection.reason);
        })
        .unwrap();
    let mut diffs = Vec::new();
    for (key, expected) in &truth.records {
        let plan = hub
            .plan
            .stream(key.source, key.object)
            .unwrap_or_else(|| panic!("no stream {}/{}", key.source, key.object));
        let rk = RecordKey::new(key.source, key.object, key.native_id.clone());
        let stored = if plan.kind() == ObjectKind::Account {
            hub.store
                .account_by_origin(&rk)
                .unwrap()
                .filter(|a| a.status == accord_store::AccountStatus::Active)
                .map(|a| a.account_id.to_string())
        } else {
            hub.store.record(plan.kind(), &rk).unwrap().filter(|r| !r.is_deleted).map(|r| r.account_id.to_string())
        };
        let rejected = quarantined.get(&(key.source.to_owned(), key.object.to_owned(), key.native_id.clone()));
        match expected {
            Expected::Linked { account_id } => {
                if stored.as_deref() != Some(account_id.as_str()) {
                    diffs
                        .push(format!("{rk}: expected linked to {account_id}, got {stored:?} / rejected {rejected:?}"));
                }
            }
            Expected::Rejected { reason } => {
                if rejected.map(|r| r.code()) != Some(*reason) || stored.is_some() {
                    diffs.push(format!(
                        "{rk}: expected rejected {reason}, got rejected {rejected:?} / linked {stored:?}"
                    ));
                }
            }
        }
    }
    for key in &truth.tombstones {
        let rk = RecordKey::new(key.source, key.object, key.native_id.clone());
        let plan = hub.plan.stream(key.source, key.object).unwrap();
        if plan.kind() != ObjectKind::Account
            && let Some(r) = hub.store.record(plan.kind(), &rk).unwrap()
            && !r.is_deleted
        {
            diffs.push(format!("{rk}: deleted at the source but live here"));
        }
    }
    diffs.sort();
    diffs
}

#[test]
fn a_sync_of_the_sandbox_matches_the_ground_truth() {
    let rt = runtime();
    let company = Company::generate(11, 150);
    let sandbox = rt.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    let truth = sandbox.truth();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    let report = accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
    assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
    let diffs = differences(&hub, &truth);
    assert!(
        diffs.is_empty(),
        "{} differences from the truth, first ones:\n{}",
        diffs.len(),
        diffs.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
    // Every kind of planted problem showed up as its reason.
    let mut reasons = std::collections::BTreeSet::new();
    hub.store
        .for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            reasons.insert(e.rejection.reason);
        })
        .unwrap();
    for r in [
        RejectReason::UnknownAccount,
        RejectReason::Ambiguous,
        RejectReason::FilteredAccount,
        RejectReason::MissingRequiredField,
    ] {
        assert!(reasons.contains(&r), "no {r} in {reasons:?}");
    }
    rt.block_on(sandbox.shutdown());
}
