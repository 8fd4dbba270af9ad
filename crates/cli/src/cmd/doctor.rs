//! `accord doctor`: id hygiene and coverage.

use std::process::ExitCode;

use accord_engine::doctor::doctor;
use accord_link::doctor::{Finding, HygieneReport};

use super::Ctx;
use crate::output::{reasons, table};

pub fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let hub = ctx.hub()?;
    let report = doctor(&hub)?;
    if ctx.json {
        super::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let a = &report.accounts;
    println!(
        "accounts: {} active, {} filtered out, {} deleted; System of Record rejects: {}",
        a.active,
        a.filtered,
        a.deleted,
        if a.sor_rejected.is_empty() { "none".into() } else { reasons(&a.sor_rejected) }
    );
    println!("\nid hygiene of the System of Record ({} ids):", report.sor.keys);
    print_hygiene(&report.sor);

    println!("\ncoverage against the System of Record:");
    let mut t = table(&["source/object", "records", "linked", "accounts covered", "rejected by reason"]);
    for o in &report.objects {
        let c = &o.coverage;
        t.add_row(vec![
            format!("{}/{}", o.source, o.object),
            c.records.to_string(),
            format!("{} ({}%)", c.linked, c.linked_pct()),
            format!("{} of {} ({}%)", c.accounts_covered, c.accounts_total, c.accounts_pct()),
            reasons(&c.rejected_by_reason),
        ]);
    }
    println!("{t}");

    for o in &report.objects {
        let Some(h) = &o.hygiene else { continue };
        println!(
            "\n{}/{}: account keys in {} ({} records)",
            o.source,
            o.object,
            o.key_field.as_deref().unwrap_or("?"),
            h.keys
        );
        print_hygiene(h);
    }
    for o in report.objects.iter().filter(|o| !o.unmatched_keys.is_empty()) {
        println!("\n{}/{}: keys matching no account", o.source, o.object);
        for k in &o.unmatched_keys {
            println!("  {k}");
        }
    }
    if report.shared_emails.is_empty() {
        println!("\nno email is shared by several accounts");
    } else {
        println!("\nemails shared by several accounts (email rules cannot link them):");
        for s in &report.shared_emails {
            println!("  {} → {}", s.email, s.accounts.join(", "));
        }
    }
    if report.mrr_checked > 0 {
        if report.mrr_disagreements.is_empty() {
            println!("\nMRR: the vendors' own figures agree with accord's ({} subscriptions)", report.mrr_checked);
        } else {
            println!(
                "\nMRR: {} of {} subscriptions disagree with the vendor's own figure:",
                report.mrr_disagreements.len(),
                report.mrr_checked
            );
            for d in &report.mrr_disagreements {
                let money = |m: i64| accord_core::Money::new(m, d.currency).to_string();
                println!(
                    "  {} (account {}): vendor {}, accord {}",
                    d.subscription,
                    d.account_id,
                    money(d.vendor),
                    money(d.accord)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_hygiene(h: &HygieneReport) {
    let line = |name: &str, f: &Finding| {
        if f.count == 0 {
            println!("  {name:<26} none");
        } else {
            println!("  {name:<26} {} (e.g. {})", f.count, f.samples.join(", "));
        }
    };
    line("float-formatted ids", &h.float_formatted);
    line("surrounding whitespace", &h.whitespace);
    line("case collisions", &h.case_collisions);
    line("one id on several records", &h.duplicate_keys);
    if !h.suggested_normalize.is_empty() {
        let list: Vec<String> = h.suggested_normalize.iter().map(|n| format!("{n:?}")).collect();
        println!("  fix in config: normalize = [{}] on this object", list.join(", "));
    }
}
