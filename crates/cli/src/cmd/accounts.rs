//! `accord accounts` and `accord account show|deactivate|restore`.

use std::process::ExitCode;

use accord_core::filter::Filter;
use accord_engine::view::{account_fields, account_view, billing_sources, current_mrr, revenue_history};
use accord_store::{AccountRow, AccountStatus};
use serde_json::{Value, json};

use super::Ctx;
use crate::UsageError;
use crate::output::table;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only accounts matching this expression, e.g. "website is not null and name = 'Acme'".
    #[arg(long)]
    filter: Option<String>,
    /// Which accounts: active (default), filtered, deleted or all.
    #[arg(long, default_value = "active")]
    status: String,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Order by account_id (default), name, join_date, renewal_date or mrr (current MRR, highest
    /// first unless --asc).
    #[arg(long, default_value = "account_id")]
    sort: String,
    /// Ascending order for --sort mrr (other orders are ascending).
    #[arg(long)]
    asc: bool,
    /// Only accounts whose current MRR is at least this amount, in the reporting currency's major
    /// units (`[revenue] currency`, USD by default), e.g. 1000 or 99.50.
    #[arg(long)]
    min_mrr: Option<String>,
    /// Only accounts whose current MRR is at most this amount.
    #[arg(long)]
    max_mrr: Option<String>,
}

const SORTS: &[&str] = &["account_id", "name", "join_date", "renewal_date", "mrr"];

#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// An account with its linked records per source, the rule that linked each, and the open
    /// rejections that point near it.
    Show {
        account_id: String,
        /// Records shown per source object.
        #[arg(long, default_value_t = 5)]
        recent: u32,
    },
    /// Put an account on the delete list: syncs do not bring it back, records pointing at it are rejected.
    Deactivate {
        account_id: String,
        #[arg(long, default_value = "deactivated with the CLI")]
        reason: String,
    },
    /// Take an account off the delete list and re-link what was rejected because of it.
    Restore { account_id: String },
}

/// The document an account filter sees: typed fields, then the source record's own fields.
fn account_document(a: &AccountRow) -> Value {
    let mut doc = match &a.attributes {
        Value::Object(m) => m.clone(),
        _ => Default::default(),
    };
    doc.extend(account_fields(a));
    doc.insert("account_id".into(), json!(a.account_id));
    doc.insert("status".into(), json!(a.status.code()));
    Value::Object(doc)
}

pub fn list(ctx: &Ctx, args: ListArgs) -> anyhow::Result<ExitCode> {
    let statuses = match args.status.as_str() {
        "all" => vec![],
        s => vec![
            AccountStatus::from_code(s)
                .ok_or_else(|| UsageError(format!("--status {s:?}: use active, filtered, deleted or all")))?,
        ],
    };
    let filter =
        args.filter.as_deref().map(Filter::parse).transpose().map_err(|e| UsageError(format!("--filter: {e}")))?;
    if !SORTS.contains(&args.sort.as_str()) {
        return Err(UsageError(format!("--sort {:?}: use one of {}", args.sort, SORTS.join(", "))).into());
    }
    let hub = ctx.hub()?;
    let rates = accord_engine::revenue::rates_from_config(&hub.config.raw.revenue)?;
    let bound = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_deref()
            .map(|t| accord_core::Money::parse_major(t, rates.reporting).map(|m| m.minor))
            .transpose()
            .map_err(|e| UsageError(format!("{flag}: {e}")).into())
    };
    let (min, max) = (bound("--min-mrr", &args.min_mrr)?, bound("--max-mrr", &args.max_mrr)?);
    let mut matching = Vec::new();
    hub.store.for_each_account(&statuses, &mut |a| {
        if filter.as_ref().is_none_or(|f| f.matches(&account_document(&a))) {
            matching.push(a);
        }
    })?;
    // MRR is read per account only when something asks for it.
    let wants_mrr = min.is_some() || max.is_some() || args.sort == "mrr" || !billing_sources(&hub).is_empty();
    let now = chrono::Utc::now();
    let mut rows: Vec<(AccountRow, Option<i64>)> = Vec::with_capacity(matching.len());
    for a in matching {
        let mrr = if wants_mrr { Some(current_mrr(&hub, a.account_id.as_str(), now)?) } else { None };
        if mrr.is_some_and(|m| min.is_some_and(|lo| m < lo) || max.is_some_and(|hi| m > hi)) {
            continue;
        }
        rows.push((a, mrr));
    }
    match args.sort.as_str() {
        "mrr" if args.asc => rows.sort_by_key(|(a, m)| (*m, a.account_id.to_string())),
        "mrr" => rows.sort_by_key(|(a, m)| (std::cmp::Reverse(*m), a.account_id.to_string())),
        "name" => rows.sort_by(|(a, _), (b, _)| a.text("name").cmp(&b.text("name"))),
        field @ ("join_date" | "renewal_date") => {
            rows.sort_by_key(|(a, _)| (a.field(field).as_time().is_none(), a.field(field).as_time()))
        }
        _ => {}
    }
    let total = rows.len();
    rows.truncate(args.limit);
    let money = |m: i64| accord_core::Money::new(m, rates.reporting).to_string();
    if ctx.json {
        let out: Vec<Value> = rows
            .iter()
            .map(|(a, mrr)| {
                json!({"account_id": a.account_id, "status": a.status, "fields": account_fields(a), "origin": a.origin.to_string(),
                       "current_mrr": mrr, "currency": mrr.map(|_| rates.reporting.code())})
            })
            .collect();
        super::print_json(&json!({"total": total, "accounts": out}))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["account_id", "name", "join_date", "status", "from", "current_mrr", "renewal_date"]);
    for (a, mrr) in &rows {
        t.add_row(vec![
            a.account_id.to_string(),
            a.text("name").unwrap_or("").to_owned(),
            a.field("join_date").as_time().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            a.status.code().to_owned(),
            a.origin.to_string(),
            mrr.map(money).unwrap_or_default(),
            a.field("renewal_date").as_time().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        ]);
    }
    println!("{t}");
    println!("{} of {total} accounts", rows.len());
    Ok(ExitCode::SUCCESS)
}

pub fn run(ctx: &Ctx, command: AccountCommand) -> anyhow::Result<ExitCode> {
    let hub = ctx.hub()?;
    match command {
        AccountCommand::Show { account_id, recent } => {
            let Some(view) = account_view(&hub, &account_id, recent)? else {
                let near = hub.with_index(|ix| accord_link::near_misses(ix, &account_id));
                let hint = near.first().map(|h| format!(" ({})", h.describe())).unwrap_or_default();
                return Err(UsageError(format!("no account {account_id:?}{hint}")).into());
            };
            if ctx.json {
                super::print_json(&view)?;
                return Ok(ExitCode::SUCCESS);
            }
            println!("account {:?} ({})", view.account_id, view.status.code());
            for (k, v) in &view.fields {
                println!("  {k:<20} {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            }
            println!("  {:<20} {}", "from", view.origin);
            if let Some(d) = &view.delete_list {
                println!("  on the delete list since {} ({})", d.deleted_at.format("%Y-%m-%d"), d.reason);
            }
            if view.linked.is_empty() {
                println!("\nno linked records");
            }
            for g in &view.linked {
                println!("\n{}/{} — {} {} records", g.source, g.object, g.count, g.kind.name());
                let mut t = table(&["id", "rule", "key", "summary"]);
                for r in &g.recent {
                    let summary: Vec<String> = r
                        .fields
                        .iter()
                        .take(3)
                        .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect();
                    t.add_row(vec![
                        r.native_id.clone(),
                        format!("{} (#{})", r.provenance.rule, r.provenance.rule_index + 1),
                        r.provenance.key.clone(),
                        summary.join(" "),
                    ]);
                }
                println!("{t}");
            }
            if !billing_sources(&hub).is_empty()
                && let Some(h) = revenue_history(&hub, &account_id, chrono::Utc::now())?
            {
                print_revenue(&h);
            }
            if !view.rejections_near.is_empty() {
                println!("\nopen rejections pointing near this account:");
                let mut t = table(&["id", "record", "reason", "key", "hint"]);
                for e in &view.rejections_near {
                    t.add_row(vec![
                        e.id.to_string(),
                        e.key.to_string(),
                        e.rejection.reason.code().to_owned(),
                        e.rejection.key.clone().unwrap_or_default(),
                        e.rejection.hints.first().map(|h| h.describe()).unwrap_or_default(),
                    ]);
                }
                println!("{t}");
            }
        }
        AccountCommand::Deactivate { account_id, reason } => {
            hub.deactivate(&account_id, &reason).map_err(not_found_is_usage)?;
            if ctx.json {
                super::print_json(&json!({"account_id": account_id, "status": "deleted"}))?;
            } else {
                println!("account {account_id:?} is on the delete list; syncs will not bring it back");
            }
        }
        AccountCommand::Restore { account_id } => {
            let report = hub.restore(&account_id).map_err(not_found_is_usage)?;
            if ctx.json {
                super::print_json(&json!({"account_id": account_id, "status": "active", "relinked": report}))?;
            } else {
                println!("account {account_id:?} is active again; {} quarantined records linked", report.linked);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn not_found_is_usage(e: accord_engine::EngineError) -> anyhow::Error {
    match e {
        accord_engine::EngineError::NotFound(_) | accord_engine::EngineError::Invalid(_) => {
            UsageError(e.to_string()).into()
        }
        other => other.into(),
    }
}

/// The 360 view's revenue: current MRR, renewal, MRR by month from the join date, movements.
fn print_revenue(h: &accord_engine::revenue::MrrHistory) {
    let money = |m: i64| accord_core::Money::new(m, h.reporting).to_string();
    println!("\nrevenue: current MRR {}", money(h.current_mrr));
    if let Some(r) = h.renewal_date {
        println!("  renewal_date {r}");
    }
    let mut t = table(&["month end", "MRR", "by currency", "movement"]);
    let row = |p: &accord_engine::revenue::MrrPoint, movement: String, before: bool| {
        let original: Vec<String> =
            p.original.iter().map(|(c, m)| accord_core::Money::new(*m, *c).to_string()).collect();
        let day = if before { format!("{} (before join date)", p.day) } else { p.day.to_string() };
        vec![day, money(p.mrr), original.join(", "), movement]
    };
    for p in &h.before_join {
        t.add_row(row(p, String::new(), true));
    }
    for p in &h.months {
        let movement = h
            .movements
            .iter()
            .find(|m| accord_engine::revenue::month_start(p.day) == m.month)
            .map(|m| format!("{:?} {}", m.kind, money(m.amount)).to_lowercase())
            .unwrap_or_default();
        t.add_row(row(p, movement, false));
    }
    println!("{t}");
}
