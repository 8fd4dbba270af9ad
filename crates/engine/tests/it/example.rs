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

/// The Desk example under `examples/desk`: the `desk` preset reads the HAL export, and every
/// company, customer and case links by the rule the guide names for Desk, or is rejected with its
/// reason and hint.
#[test]
fn the_desk_export_example_links_by_custom_field_domain_parent_and_email() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/desk");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("accord.toml"), dir.path().join("accord.toml")).unwrap();
    std::fs::copy(src.join("crm_accounts.csv"), dir.path().join("crm_accounts.csv")).unwrap();
    std::fs::create_dir(dir.path().join("export")).unwrap();
    for f in ["companies.json", "customers.json", "cases.json"] {
        std::fs::copy(src.join("export").join(f), dir.path().join("export").join(f)).unwrap();
    }
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    let report = sync(&hub);
    assert!(!report.failed());
    let linked = |kind: accord_core::ObjectKind, object: &str, native: &str| {
        let r = hub.store.record(kind, &accord_store::RecordKey::new("desk", object, native)).unwrap();
        r.map(|r| (r.account_id.to_string(), r.provenance.rule.name(), r.provenance.rule_index))
    };
    use accord_core::ObjectKind::{Contact, Organization, Ticket};
    let at = |a: &str, rule: &'static str, i: usize| Some((a.to_owned(), rule, i));
    assert_eq!(linked(Organization, "companies", "1"), at("1001", "field", 0));
    assert_eq!(linked(Organization, "companies", "2"), at("1002", "domain", 1), "the SOR's website");
    assert_eq!(linked(Organization, "companies", "3"), at("1003", "domain", 1), "the [[domains]] map");
    assert_eq!(linked(Contact, "customers", "10"), at("1001", "parent", 0));
    assert_eq!(linked(Contact, "customers", "11"), at("1001", "email", 1), "its email, in another case");
    assert_eq!(linked(Contact, "customers", "12"), at("1002", "parent", 0));
    assert_eq!(linked(Ticket, "cases", "100"), at("1001", "parent", 1));
    assert_eq!(linked(Ticket, "cases", "101"), at("1001", "parent", 1));
    assert_eq!(linked(Ticket, "cases", "102"), at("1002", "parent", 1));
    let q = quarantine(&hub);
    let get = |id: &str| q.iter().find(|e| e.key.source == "desk" && e.key.native_id == id).unwrap();
    assert_eq!(get("4").rejection.reason, RejectReason::UnknownAccount);
    assert_eq!(get("4").rejection.hints, vec![Hint::FloatSuffix { account_id: id("1001") }]);
    assert_eq!(get("13").rejection.reason, RejectReason::UnknownAccount);
    assert_eq!(get("103").rejection.reason, RejectReason::UnknownAccount);
    assert_eq!(get("104").rejection.reason, RejectReason::MissingKey);
    assert_eq!(q.iter().filter(|e| e.key.source == "desk").count(), 4, "nothing else is rejected");
}
