//! Human output: tables and progress bars.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use accord_connectors::PageStats;
use accord_engine::RelinkReport;
use accord_engine::sync::{StreamReport, SyncObserver};
use accord_store::RunCounts;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A table with accord's look.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_header(header.to_vec());
    t
}

/// `unknown_account 3, ambiguous 1`.
pub fn reasons(by_reason: &std::collections::BTreeMap<String, u64>) -> String {
    by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")
}

/// A stream's progress line after a page: records, pages, links, how far (when known), the
/// rate-limit waits and what the vendor says is left of its day of calls (Xero).
pub fn page_message(counts: &RunCounts, pages: u64, waits: u64, stats: &PageStats) -> String {
    let mut msg =
        format!("{} records in {pages} pages, {} linked, {} rejected", counts.fetched, counts.linked, counts.rejected);
    if let Some((done, total)) = stats.position.filter(|(_, t)| *t > 0) {
        msg.push_str(&format!(", {:>3}%", done * 100 / total));
    }
    if waits > 0 {
        msg.push_str(&format!(", {waits} rate-limit waits"));
    }
    if let Some(left) = stats.day_calls_left {
        msg.push_str(&format!(", {left} calls left today"));
    }
    msg
}

/// Progress bars for a sync, one per stream.
pub struct Progress {
    multi: MultiProgress,
    bars: Mutex<HashMap<(String, String), ProgressBar>>,
    pages: Mutex<HashMap<(String, String), (u64, u64)>>,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            pages: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, source: &str, object: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry((source.to_owned(), object.to_owned()))
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<28} {wide_msg} {elapsed:>4}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(format!("{source}/{object}"));
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl SyncObserver for Progress {
    fn stream_started(&self, source: &str, object: &str, resumed: bool) {
        let bar = self.bar(source, object);
        if resumed {
            bar.set_message("resuming from the last checkpoint");
        }
    }

    fn page(&self, source: &str, object: &str, stats: &PageStats, counts: &RunCounts) {
        let bar = self.bar(source, object);
        let (pages, waits) = {
            let mut all = self.pages.lock().unwrap_or_else(|e| e.into_inner());
            let entry = all.entry((source.to_owned(), object.to_owned())).or_default();
            entry.0 += 1;
            entry.1 += stats.rate_limit_waits;
            *entry
        };
        bar.set_message(page_message(counts, pages, waits, stats));
    }

    fn stream_finished(&self, source: &str, report: &StreamReport) {
        let bar = self.bar(source, &report.object);
        let state = if report.error.is_some() { "failed" } else { "done" };
        let mut msg = format!(
            "{state}: {} records, {} linked, {} rejected",
            report.counts.fetched, report.counts.linked, report.counts.rejected
        );
        if let Some(left) = report.day_calls_left {
            msg.push_str(&format!(", {left} calls left today"));
        }
        bar.finish_with_message(msg);
    }

    fn relinked(&self, _source: &str, report: &RelinkReport) {
        if report.linked > 0 {
            let _ = self.multi.println(format!("  re-linked {} quarantined records", report.linked));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_shows_what_is_left_of_the_vendors_day() {
        let counts = RunCounts { fetched: 120, linked: 100, rejected: 20, ..RunCounts::default() };
        let plain = page_message(&counts, 3, 0, &PageStats::default());
        assert_eq!(plain, "120 records in 3 pages, 100 linked, 20 rejected");
        let stats = PageStats { day_calls_left: Some(4_321), ..PageStats::default() };
        assert_eq!(
            page_message(&counts, 3, 2, &stats),
            "120 records in 3 pages, 100 linked, 20 rejected, 2 rate-limit waits, 4321 calls left today"
        );
    }
}
