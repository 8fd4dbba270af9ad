//! The example company under `examples/acme`: every planted problem is rejected with the right
//! reason and hint, and nothing is lost.

use accord_core::{Hint, RejectReason};

use crate::*;

fn example_hub() -> (tempfile::TempDir, accord_engine::Hub) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if !name.to_string_lossy().contains(".db") {
            std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    let config = accord_core::Config::load(&dir.path().join("accord.toml")).unwrap();
    let hub = accord_engine::Hub::open(config).unwrap();
    (dir, hub)
}

#[test]
fn every_planted_problem_is_explained_and_nothing_is_lost() {
    let (_dir, hub) = example_hub();
    let report = sync(&hub);
    let q = quarantine(&hub);
    let get = |source: &str, id: &str| {
        q.iter()
            .find(|e| e.key.source == source && e.key.native_id == id)
            .unwrap_or_else(|| panic!("{source}/{id} should be in the quarantine"))
    };
    let reason = |source: &str, id: &str| get(source, id).rejection.reason;

    // The SOR: a churned account filtered out, a row without join date.
    assert_eq!(reason("crm", "1006"), RejectReason::FilteredAccount);
    assert_eq!(reason("crm", "1008"), RejectReason::MissingRequiredField);
    assert!(get("crm", "1008").rejection.message.contains("join_date"));

    // Float-formatted, padded and case-drifted ids, each with its hint.
    assert_eq!(get("support", "504").rejection.hints, vec![Hint::FloatSuffix { account_id: id("1042") }]);
    assert_eq!(get("product", "u-420").rejection.hints, vec![Hint::FloatSuffix { account_id: id("1042") }]);
    assert_eq!(get("support", "503").rejection.hints, vec![Hint::Whitespace { account_id: id("1003") }]);
    assert_eq!(get("support", "505").rejection.hints, vec![Hint::CaseOnly { account_ids: vec![id("EU-2001")] }]);

    // A shared email is ambiguous, with both candidates.
    assert_eq!(reason("support", "T-5"), RejectReason::Ambiguous);
    assert_eq!(
        get("support", "T-5").rejection.hints,
        vec![Hint::Candidates { account_ids: vec![id("1001"), id("1002")] }]
    );

    // An account only in billing; records pointing at the filtered account; a non-integral id.
    assert_eq!(reason("billing", "cus_X9"), RejectReason::UnknownAccount);
    assert_eq!(reason("billing", "cus_V6"), RejectReason::FilteredAccount);
    assert_eq!(reason("support", "507"), RejectReason::FilteredAccount);
    assert_eq!(reason("billing", "cus_W42"), RejectReason::InvalidAccountId);
    assert_eq!(reason("billing", "sub_6"), RejectReason::InvalidField);

    // Malformed rows are kept with their location.
    assert!(
        q.iter().any(|e| e.location.as_deref() == Some("support_tickets.csv:9")
            && e.rejection.reason == RejectReason::InvalidField)
    );
    assert!(q.iter().any(|e| e.location.as_deref() == Some("product_events.ndjson:12")));

    // Linked through fallbacks: a billing customer by email (after product users arrived) and a
    // support organization by domain.
    assert!(!q.iter().any(|e| e.key.native_id == "cus_H5"), "cus_H5 links by email");
    assert!(!q.iter().any(|e| e.key.native_id == "508"), "org 508 links by domain");

    // Nothing is lost: every fetched record is stored or quarantined (sync() checks each run's
    // counts; here, the store agrees).
    let fetched: u64 = report.sources.iter().map(|s| s.counts.fetched).sum();
    let mut stored = 0u64;
    for plan in hub.plan.streams() {
        let stats = hub.store.object_stats(plan.kind(), &plan.source, plan.object()).unwrap();
        stored += stats.linked + stats.rejected_by_reason.values().sum::<u64>();
    }
    let duplicate_deliveries = 1; // the example's events contain one event delivered twice
    assert_eq!(fetched, stored + duplicate_deliveries);
}

fn id(s: &str) -> accord_core::AccountId {
    accord_core::AccountId::new(s).unwrap()
}
