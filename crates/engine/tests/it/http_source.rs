//! A `kind = "http"` source is planned, synced, checked by the doctor and shown in the sources
//! overview like a shipped one: the generated company, with its Freshdesk read through the
//! description in `examples/rest/freshdesk.toml` instead of the `freshdesk` connector, syncs to
//! exactly the ground truth, and a second sync reads only what changed.

use accord_engine::SyncOptions;
use accord_sandbox::{Company, Sandbox, SandboxOptions};

use crate::sandbox::{differences, runtime, summary};

const EXAMPLE: &str = include_str!("../../../../examples/rest/freshdesk.toml");

/// The sandbox's accord.toml with its `freshdesk` source replaced by the example, pointed at the
/// emulator.
fn with_http_freshdesk(sandbox: &Sandbox, toml: &str) -> String {
    let header = "[sources.freshdesk]\n";
    let start = toml.find(header).expect("a freshdesk source");
    let body = start + header.len();
    let end = toml[body..].find("\n[").map_or(toml.len(), |i| body + i + 1);
    let example = EXAMPLE
        .replace("https://acme.freshdesk.com", &sandbox.freshdesk.base_url())
        .replace("{ env = \"FRESHDESK_API_KEY\" }", "{ file = \"freshdesk_api_key\" }")
        .replacen(header, &format!("{header}unthrottled = true\n"), 1);
    assert!(example.contains(&sandbox.freshdesk.base_url()) && example.contains("freshdesk_api_key"));
    format!("{}{example}\n{}", &toml[..start], &toml[end..])
}

#[test]
fn an_http_source_syncs_to_the_ground_truth_like_a_shipped_one() {
    let rt = runtime();
    let company = Company::generate(11, 300);
    let truth = company.truth();
    let sandbox = rt.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = with_http_freshdesk(&sandbox, &sandbox.accord_toml(dir.path(), false).unwrap());
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    assert_eq!(hub.config.raw.sources["freshdesk"].kind, "http");
    let sync = || {
        let report =
            accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
        assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
        report
    };
    let first = sync();
    let diffs = differences(&hub, &truth);
    assert!(diffs.is_empty(), "{}", summary(&diffs));
    let fetched = |r: &accord_engine::SyncReport, object: &str| {
        let s = r.sources.iter().find(|s| s.source == "freshdesk").expect("freshdesk was synced");
        s.streams.iter().find(|st| st.object == object).map_or(0, |st| st.counts.fetched)
    };
    assert!(fetched(&first, "tickets") > 100, "the first sync reads every ticket");

    // The overview and the doctor see it as they see any source.
    let overview = accord_engine::overview::sources(&hub).unwrap();
    let fd = overview.iter().find(|s| s.source == "freshdesk").unwrap();
    assert_eq!(fd.kind, "http");
    let objects: Vec<_> = fd.objects.iter().map(|o| (o.object.as_str(), o.linked > 0, o.cursor.is_some())).collect();
    assert_eq!(objects, [("companies", true, true), ("contacts", true, true), ("tickets", true, true)]);
    let doctor = accord_engine::doctor::doctor(&hub).unwrap();
    let companies = doctor.objects.iter().find(|o| o.source == "freshdesk" && o.object == "companies").unwrap();
    assert_eq!(companies.key_field.as_deref(), Some("custom_fields.account_id"));

    // An hour later, nothing changed: the ticket and contact passes are incremental.
    sandbox.clock().advance(chrono::Duration::hours(1));
    let again = sync();
    assert_eq!((fetched(&again, "tickets"), fetched(&again, "contacts")), (0, 0), "only changes are read");
    let diffs = differences(&hub, &truth);
    assert!(diffs.is_empty(), "after the second sync: {}", summary(&diffs));
    rt.block_on(sandbox.shutdown());
}
