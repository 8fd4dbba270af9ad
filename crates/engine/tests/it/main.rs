//! Engine integration tests: files in a temp folder, a real SQLite store, the whole pipeline.

mod budget;
mod crash;
mod deletions;
mod example;
mod fixpoint;
mod flows;
mod http_source;
mod order;
mod propagate;
mod revenue;
mod sandbox;
mod schedule;

use std::path::Path;

use accord_core::Config;
use accord_engine::sync::Quiet;
use accord_engine::{Hub, SyncOptions, SyncReport};
use accord_store::{QuarantineEntry, QuarantineQuery};

pub fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

pub fn hub(dir: &Path, toml: &str) -> Hub {
    let text = format!("store = \"sqlite://hub.db\"\n{toml}");
    let config = Config::from_toml(&text, dir).unwrap();
    Hub::open(config).unwrap()
}

pub fn sync(hub: &Hub) -> SyncReport {
    sync_with(hub, SyncOptions::default())
}

pub fn sync_with(hub: &Hub, options: SyncOptions) -> SyncReport {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = accord_engine::sync(hub, &options, &Quiet, rt.handle()).unwrap();
    for s in &report.sources {
        for st in &s.streams {
            assert_eq!(
                st.counts.fetched,
                st.counts.linked + st.counts.rejected,
                "{}/{}: fetched = linked + rejected",
                s.source,
                st.object
            );
        }
    }
    report
}

pub fn quarantine(hub: &Hub) -> Vec<QuarantineEntry> {
    let mut out = Vec::new();
    hub.store.for_each_quarantined(&QuarantineQuery::default(), &mut |e| out.push(e)).unwrap();
    out
}

pub fn counts(report: &SyncReport, source: &str, object: &str) -> (u64, u64, u64) {
    let st = report
        .sources
        .iter()
        .find(|s| s.source == source)
        .and_then(|s| s.streams.iter().find(|st| st.object == object))
        .unwrap_or_else(|| panic!("no stream {source}/{object} in the report"));
    (st.counts.fetched, st.counts.linked, st.counts.rejected)
}
