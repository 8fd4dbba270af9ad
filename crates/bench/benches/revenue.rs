//! Revenue: MRR and movements recomputed for 100,000 subscriptions over 36 months.
//!
//! `cargo bench -p accord-bench --bench revenue` builds 100,000 subscriptions on 30,000
//! accounts (monthly, annual and weekly plans, trials, cancellations, mid-cycle plan changes,
//! discounts, three currencies) and recomputes every account's month-end MRR and its movements
//! over 36 months with `accord_engine::revenue::book_movements`. It prints the median seconds of
//! `ACCORD_BENCH_RUNS` runs (default 3), the figures of each run, and the process's peak memory.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use accord_bench::{Gen, median, peak_rss_mib, runs};
use accord_core::Currency;
use accord_engine::revenue::{
    Discount, DiscountDuration, Interval, Item, MovementKind, Phase, Rates, Status, Subscription, book_movements,
};
use chrono::{Days, NaiveDate};

const SUBSCRIPTIONS: u64 = 100_000;
const ACCOUNTS: u64 = 30_000;
const MONTHS: u32 = 36;

fn main() {
    let first = NaiveDate::from_ymd_opt(2023, 1, 1).expect("a date");
    let last = first.checked_add_months(chrono::Months::new(MONTHS - 1)).expect("a date");
    let currencies = ["USD", "EUR", "JPY"].map(|c| Currency::parse(c).expect("a currency"));
    let rates = Rates::new(currencies[0]).with(currencies[1], "1.08").and_then(|r| r.with(currencies[2], "0.0067"));
    let rates = rates.expect("rates");
    let mut g = Gen::new(15);
    let span = 36 * 30;
    let subs: Vec<Subscription> = (0..SUBSCRIPTIONS)
        .map(|i| {
            let start = first + Days::new(g.below(span));
            let (interval, unit) = match g.below(10) {
                0..=6 => (Interval::Month, 1_000 + 100 * g.below(200) as i64),
                7 | 8 => (Interval::Year, 10_000 + 1_000 * g.below(200) as i64),
                _ => (Interval::Week, 300 + 10 * g.below(100) as i64),
            };
            let quantity = 1 + g.below(3) as i64;
            let item = |unit: i64| Item {
                plan: format!("plan-{}", unit % 7),
                unit_amount: unit,
                quantity,
                interval,
                interval_count: 1,
                metered: false,
            };
            let mut phases = vec![Phase { from: start, until: None, items: vec![item(unit)], discounts: vec![] }];
            if g.below(4) == 0 {
                let change = start + Days::new(1 + g.below(300));
                phases[0].until = Some(change);
                let unit = if g.below(2) == 0 { unit * 2 } else { unit / 2 };
                phases.push(Phase { from: change, until: None, items: vec![item(unit)], discounts: vec![] });
            }
            if g.below(8) == 0 {
                let duration = if g.below(2) == 0 { DiscountDuration::Forever } else { DiscountDuration::Once };
                phases[0].discounts.push(Discount { percent_off_bp: Some(2_000), amount_off: None, duration });
            }
            let canceled = g.below(5) == 0;
            let trial = g.below(6) == 0;
            Subscription {
                id: format!("sub_{i}"),
                account_id: format!("{}", 100_000 + g.below(ACCOUNTS)),
                currency: currencies[(g.below(10) / 8) as usize + usize::from(g.below(20) == 0)],
                status: if canceled { Status::Canceled } else { Status::Active },
                phases,
                trial_start: trial.then_some(start),
                trial_end: trial.then(|| start + Days::new(14)),
                current_period_end: None,
                cancel_at_period_end: false,
                canceled_at: None,
                ended_at: canceled.then(|| start + Days::new(30 + g.below(500))),
            }
        })
        .collect();

    let mut secs = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs() {
        let t = Instant::now();
        let (mrr, movements) = book_movements(&subs, first, last, &rates).expect("every currency has a rate");
        secs.push(t.elapsed().as_secs_f64());
        let last_month: i64 = mrr.values().map(|s| s.last().copied().unwrap_or(0)).sum();
        let count = |k: MovementKind| movements.iter().filter(|m| m.kind == k).count();
        summary = format!(
            "{} accounts; MRR at the end of {}: {:.2} USD; movements: {} new, {} expansion, {} contraction, {} churn, {} reactivation",
            mrr.len(),
            last.format("%Y-%m"),
            last_month as f64 / 100.0,
            count(MovementKind::New),
            count(MovementKind::Expansion),
            count(MovementKind::Contraction),
            count(MovementKind::Churn),
            count(MovementKind::Reactivation),
        );
    }
    println!("revenue: {SUBSCRIPTIONS} subscriptions, {MONTHS} months");
    println!("  {summary}");
    println!(
        "  seconds (median of {}): {:.3}  runs: {:?}",
        secs.len(),
        median(secs.clone()),
        secs.iter().map(|s| (s * 1000.0).round() / 1000.0).collect::<Vec<_>>()
    );
    match peak_rss_mib() {
        Some(m) => println!("  peak memory: {m:.0} MiB"),
        None => println!("  peak memory: unavailable (no /proc/self/status)"),
    }
}
