//! `accord propagate`: the plan of account ids to write back into sources (a dry run), `--apply`
//! to write them, `--history` for the audit of writes made.

use std::process::ExitCode;

use accord_engine::propagate::{self, ApplyObserver, Upgrade};
use clap::Args as ClapArgs;

use super::Ctx;
use crate::output::table;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Write the plan's upgrades through the vendors' APIs (without it, only the plan is shown).
    #[arg(long, conflicts_with = "history")]
    pub apply: bool,
    /// Show the audit of the writes made so far, newest first.
    #[arg(long)]
    pub history: bool,
    /// How many audit entries `--history` shows.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

struct Progress(indicatif::ProgressBar);

impl ApplyObserver for Progress {
    fn done(&self, upgrade: &Upgrade, status: &str) {
        self.0.inc(1);
        self.0
            .set_message(format!("{}/{}/{}: {status}", upgrade.key.source, upgrade.key.object, upgrade.key.native_id));
    }
}

pub fn run(ctx: &Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let hub = ctx.hub()?;
    if args.history {
        let history = hub.store.propagation_history(args.limit)?;
        if ctx.json {
            super::print_json(&history)?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut t = table(&["when", "record", "field", "old", "new", "status", "vendor's answer"]);
        for e in &history {
            let when = chrono::DateTime::from_timestamp_millis(e.at_ms).map(|t| t.to_rfc3339()).unwrap_or_default();
            t.add_row(vec![
                when,
                format!("{}/{}/{}", e.key.source, e.key.object, e.key.native_id),
                e.field.clone(),
                e.old_value.clone().unwrap_or_default(),
                e.new_value.clone(),
                e.status.clone(),
                e.answer.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
        return Ok(ExitCode::SUCCESS);
    }
    let plan = propagate::plan(&hub)?;
    if !args.apply {
        if ctx.json {
            super::print_json(&plan)?;
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "upgrade: {} records linked by an acceptable rule get their account id in the best field",
            plan.upgrades.len()
        );
        let mut t = table(&["record", "linked by", "write", "value"]);
        for u in &plan.upgrades {
            t.add_row(vec![
                format!("{}/{}/{}", u.key.source, u.key.object, u.key.native_id),
                u.linked_by.to_string(),
                u.field.clone(),
                u.account_id.clone(),
            ]);
        }
        println!("{t}");
        if !plan.conflicts.is_empty() {
            println!(
                "\nconflicts: {} records whose best field holds another value (never overwritten)",
                plan.conflicts.len()
            );
            let mut t = table(&["record", "field", "holds", "links to (by)"]);
            for c in &plan.conflicts {
                t.add_row(vec![
                    format!("{}/{}/{}", c.key.source, c.key.object, c.key.native_id),
                    c.field.clone(),
                    c.current.clone(),
                    format!("{} ({})", c.account_id, c.linked_by),
                ]);
            }
            println!("{t}");
        }
        if !plan.creates.is_empty() {
            println!(
                "\ncreate: {} accounts of the System of Record missing in sources that allow it",
                plan.creates.len()
            );
            let mut t = table(&["in", "account", "name", "domain"]);
            for c in &plan.creates {
                t.add_row(vec![
                    format!("{}/{}", c.source, c.object),
                    c.account.account_id.clone(),
                    c.account.name.clone(),
                    c.account.domain.clone().unwrap_or_default(),
                ]);
            }
            println!("{t}");
        }
        for (source, object) in &plan.skipped {
            println!("skipped {source}/{object}: its first link rule is not the field accord writes");
        }
        println!("\nthis was a dry run: `accord propagate --apply` writes the upgrades");
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build()?;
    let bar = if ctx.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(plan.upgrades.len() as u64)
    };
    let applied = propagate::apply(&hub, &plan, &Progress(bar.clone()), runtime.handle())?;
    bar.finish_and_clear();
    if ctx.json {
        super::print_json(&applied)?;
    } else {
        println!(
            "propagate: {} written, {} already held by the vendor, {} conflicts left untouched, {} refused by the vendor, {} created, {} found already there, {} failed{}",
            applied.written,
            applied.already,
            applied.conflicts,
            applied.refused,
            applied.created,
            applied.found,
            applied.failed,
            if applied.interrupted_before > 0 {
                format!(" ({} writes of a stopped run were marked interrupted)", applied.interrupted_before)
            } else {
                String::new()
            }
        );
        for (record, error) in &applied.errors {
            println!("  {record}: {error}");
        }
        println!(
            "the next `accord sync` links the written records by their field; `accord propagate --history` lists the writes"
        );
    }
    Ok(if applied.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
