//! `accord rejects list|explain|retry`: the quarantine.

use std::process::ExitCode;

use accord_core::{Hint, RejectReason};
use accord_engine::explain::fixes;
use accord_store::{QuarantineEntry, QuarantineQuery};
use serde_json::json;

use super::Ctx;
use crate::UsageError;
use crate::output::{reasons, table};

#[derive(Debug, clap::Args)]
pub struct Filters {
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Only this object.
    #[arg(long)]
    object: Option<String>,
    /// Only this reason (missing_key, unknown_account, ambiguous, ...).
    #[arg(long)]
    reason: Option<String>,
}

impl Filters {
    fn query(&self) -> anyhow::Result<QuarantineQuery> {
        let reason = self
            .reason
            .as_deref()
            .map(|r| {
                RejectReason::from_code(r).ok_or_else(|| {
                    let all: Vec<_> = RejectReason::ALL.iter().map(|r| r.code()).collect();
                    UsageError(format!("--reason {r:?}: use one of {}", all.join(", ")))
                })
            })
            .transpose()?;
        Ok(QuarantineQuery { source: self.source.clone(), object: self.object.clone(), reason })
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum RejectsCommand {
    /// Rejected records with their reason, key and best hint.
    List {
        #[command(flatten)]
        filters: Filters,
        /// At most this many rows.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Everything about one rejected record, and what would fix it.
    Explain { id: i64 },
    /// Run rejected records through linking again (after fixing data or config).
    Retry {
        #[command(flatten)]
        filters: Filters,
    },
}

pub fn run(ctx: &Ctx, command: RejectsCommand) -> anyhow::Result<ExitCode> {
    let hub = ctx.hub()?;
    match command {
        RejectsCommand::List { filters, limit } => {
            let page = hub.store.quarantine(&filters.query()?, 0, limit.max(1))?;
            if ctx.json {
                super::print_json(&page)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(&["id", "source/object", "record", "reason", "key", "hint or detail", "where"]);
            for e in &page.items {
                t.add_row(vec![
                    e.id.to_string(),
                    format!("{}/{}", e.key.source, e.key.object),
                    e.key.native_id.clone(),
                    e.rejection.reason.code().to_owned(),
                    e.rejection.key.clone().map(|k| format!("{k:?}")).unwrap_or_default(),
                    e.rejection.hints.first().map(Hint::describe).unwrap_or_else(|| detail(&e.rejection.message)),
                    e.location.clone().unwrap_or_default(),
                ]);
            }
            println!("{t}");
            let mut by_reason = std::collections::BTreeMap::new();
            for (_, _, r, n) in hub.store.quarantine_summary()? {
                *by_reason.entry(r).or_insert(0) += n;
            }
            println!("{} of {} shown; all open rejections: {}", page.items.len(), page.total, reasons(&by_reason));
            println!("`accord rejects explain ID` says why and what would fix it");
        }
        RejectsCommand::Explain { id } => {
            let e = hub.store.quarantine_entry(id)?.ok_or_else(|| UsageError(format!("no rejected record {id}")))?;
            if ctx.json {
                super::print_json(&json!({"entry": e, "fix": fixes(&e)}))?;
                return Ok(ExitCode::SUCCESS);
            }
            explain(&e);
        }
        RejectsCommand::Retry { filters } => {
            let report = hub.retry(&filters.query()?)?;
            if ctx.json {
                super::print_json(&report)?;
            } else {
                println!(
                    "retried {}: {} linked, still rejected: {}{}",
                    report.retried,
                    report.linked,
                    if report.still_rejected.is_empty() { "none".into() } else { reasons(&report.still_rejected) },
                    if report.not_retryable > 0 {
                        format!(" ({} malformed rows cannot be retried: fix the source file)", report.not_retryable)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A rejection message without the file location prefix, shortened for a table cell.
fn detail(message: &str) -> String {
    let text = message
        .split_once(".csv:")
        .or_else(|| message.split_once(".ndjson:"))
        .map_or(message, |(_, rest)| rest.split_once(": ").map_or(rest, |(_, m)| m));
    let mut out: String = text.chars().take(70).collect();
    if text.chars().count() > 70 {
        out.push('…');
    }
    out
}

fn explain(e: &QuarantineEntry) {
    let r = &e.rejection;
    println!("rejected record {} — {}", e.id, e.key);
    println!("  reason     {} ({})", r.reason.code(), r.reason.message());
    println!("  message    {}", r.message);
    if let Some(rule) = r.rule {
        println!("  rule       {rule}");
    }
    if let Some(k) = &r.key {
        println!("  key        {k:?}");
    }
    if let Some(loc) = &e.location {
        println!("  read at    {loc}");
    }
    for h in &r.hints {
        println!("  hint       {}", h.describe());
    }
    for t in &r.tried {
        println!("  tried      {} {:?}", t.space.code(), t.key);
    }
    println!(
        "  seen       first {}, last {}, {} attempt(s)",
        e.first_seen.format("%Y-%m-%d %H:%M"),
        e.last_seen.format("%Y-%m-%d %H:%M"),
        e.attempts
    );
    for f in fixes(e) {
        println!("  fix        {f}");
    }
    println!(
        "  payload    {}",
        serde_json::to_string_pretty(&e.payload).unwrap_or_default().replace('\n', "\n             ")
    );
}
