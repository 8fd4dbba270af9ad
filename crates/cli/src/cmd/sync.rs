//! `accord sync`: pull, link, quarantine, re-link; print what happened per source.

use std::io::IsTerminal;
use std::process::ExitCode;

use accord_engine::sync::{Quiet, SyncObserver};
use accord_engine::{SyncOptions, SyncReport};

use super::Ctx;
use crate::output::{Progress, reasons, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sources to sync (default: all). The System of Record always goes first.
    sources: Vec<String>,
    /// Ignore saved cursors and read everything again.
    #[arg(long)]
    full: bool,
    /// Sync the sources one after another (by default the sources other than the System of
    /// Record sync at the same time, each within its own rate limit).
    #[arg(long)]
    sequential: bool,
    /// No progress bars.
    #[arg(long)]
    no_progress: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let hub = ctx.hub()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build()?;
    // Another run of a source (a schedule of `accord serve`, another `accord sync`) holds its
    // lock: nothing runs, and the error names the holder.
    let options = SyncOptions {
        sources: args.sources,
        full: args.full,
        sequential: args.sequential,
        started_by: "accord sync".into(),
        ..SyncOptions::default()
    };
    let show_progress = !args.no_progress && !ctx.json && std::io::stderr().is_terminal();
    let progress = Progress::new(show_progress);
    let observer: &dyn SyncObserver = if show_progress { &progress } else { &Quiet };
    let report = accord_engine::sync(&hub, &options, observer, runtime.handle())?;
    if ctx.json {
        super::print_json(&report)?;
    } else {
        print_report(&report);
        let open = hub.store.quarantine_summary()?.iter().map(|r| r.3).sum::<u64>();
        if open > 0 {
            println!("{open} records are in the quarantine: `accord rejects list` shows why");
        }
    }
    Ok(if report.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_report(report: &SyncReport) {
    let mut t = table(&["source/object", "fetched", "linked", "rejected", "rejected by reason"]);
    for s in &report.sources {
        for st in &s.streams {
            let mut name = format!("{}/{}", s.source, st.object);
            if st.resumed {
                name.push_str(" (resumed)");
            }
            t.add_row(vec![
                name,
                st.counts.fetched.to_string(),
                st.counts.linked.to_string(),
                st.counts.rejected.to_string(),
                reasons(&st.counts.rejected_by_reason),
            ]);
        }
    }
    println!("{t}");
    for s in &report.sources {
        if s.interrupted_runs > 0 {
            println!("{}: resumed after an interrupted sync (the stopped run is marked `interrupted`)", s.source);
        }
        if let Some(left) = s.streams.iter().rev().find_map(|st| st.day_calls_left) {
            println!("{}: {left} calls left of its daily budget (the vendor's count after the last page)", s.source);
        }
        if s.relinked.linked > 0 {
            println!("{}: {} quarantined records linked after its records arrived", s.source, s.relinked.linked);
        }
        for st in s.streams.iter().filter(|st| st.reconciled_deletions > 0) {
            println!(
                "{}/{}: {} records deleted at the source (a full read no longer returned them)",
                s.source, st.object, st.reconciled_deletions
            );
        }
        for st in &s.streams {
            if let Some(e) = &st.error {
                eprintln!("error: {}/{}: {e}", s.source, st.object);
            }
        }
    }
}
