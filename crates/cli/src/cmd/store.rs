//! `accord migrate` and `accord copy`: the store itself.

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use super::{Ctx, redact_url};
use crate::output::table;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The store to migrate (default: the config's store).
    #[arg(long)]
    url: Option<String>,
    /// Only list the migrations and whether each is applied.
    #[arg(long)]
    status: bool,
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The hub to copy: sqlite://path or postgres://...
    #[arg(long)]
    from: String,
    /// An empty store to copy into (it is migrated first).
    #[arg(long)]
    to: String,
}

pub fn migrate(ctx: &Ctx, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let url = match args.url {
        Some(u) => u,
        None => ctx.config()?.store_url(),
    };
    let store = accord_store::open(&url).with_context(|| format!("cannot open {}", redact_url(&url)))?;
    let applied = if args.status { Vec::new() } else { store.migrate()? };
    let all = store.migrations()?;
    if ctx.json {
        super::print_json(&json!({"store": redact_url(&url), "applied_now": applied, "migrations": all}))?;
    } else {
        let mut t = table(&["version", "name", "state"]);
        for m in &all {
            let state = if applied.iter().any(|a| a.version == m.version) {
                "applied now"
            } else if m.applied {
                "applied"
            } else {
                "pending"
            };
            t.add_row(vec![m.version.to_string(), m.name.clone(), state.to_owned()]);
        }
        println!("{} ({})\n{t}", redact_url(&url), store.backend());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn copy(ctx: &Ctx, args: CopyArgs) -> anyhow::Result<ExitCode> {
    let from = accord_store::open(&args.from).with_context(|| format!("cannot open {}", redact_url(&args.from)))?;
    let pending = from.migrations()?.iter().filter(|m| !m.applied).count();
    if pending > 0 {
        anyhow::bail!(
            "{} has {pending} pending migrations: run `accord migrate --url ...` on it first",
            redact_url(&args.from)
        );
    }
    let to =
        accord_store::open_and_migrate(&args.to).with_context(|| format!("cannot open {}", redact_url(&args.to)))?;
    let report = accord_store::copy(from.as_ref(), to.as_ref(), |table, n| {
        if !ctx.json {
            eprint!("\r{table}: {n} rows          ");
        }
    })?;
    if !ctx.json {
        eprintln!();
    }
    let ok = accord_store::copy_verified(&report);
    if ctx.json {
        super::print_json(&json!({"verified": ok, "tables": report}))?;
    } else {
        let mut t = table(&["table", "source rows", "target rows", "check"]);
        for (name, (a, b)) in &report {
            t.add_row(vec![name.clone(), a.to_string(), b.to_string(), if a == b { "ok" } else { "MISMATCH" }.into()]);
        }
        println!("{t}");
        println!(
            "{} {} → {} ({} → {})",
            if ok { "copied and verified:" } else { "copy NOT verified:" },
            redact_url(&args.from),
            redact_url(&args.to),
            from.backend(),
            to.backend()
        );
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
