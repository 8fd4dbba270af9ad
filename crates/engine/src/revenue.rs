//! The revenue model: MRR per account per day and month, its movements, and renewal dates.
//!
//! Pure: no I/O. Input is each subscription's terms ([`Subscription`]: its priced phases, status,
//! trial, dates), output is exact integer minor units. The rules are Stripe Billing's and
//! ChartMogul's (see `../shared/reference/vendor-apis-billing.md`):
//!
//! - each recurring item is normalised to a month: a month is 1, a year 1/12, a week 52/12, a day
//!   365/12, each divided by the interval count;
//! - `active` and `past_due` subscriptions count; trials, `incomplete`, `unpaid` and `paused` do
//!   not; a `canceled` one counts from its service start until it ended;
//! - metered items, one-off charges and tax are not recurring revenue and never count;
//! - recurring discounts (`forever`, and `repeating` until they end) are deducted; `once` coupons
//!   are not;
//! - each subscription's monthly amount is kept as an exact fraction, converted to the reporting
//!   currency with the user's rate table, and rounded once (halves away from zero) to minor
//!   units; an account's MRR is the sum of its subscriptions' rounded amounts, and the original
//!   per-currency amounts are kept beside it.
//!
//! A month's MRR is the MRR on its last day. Movements compare each month with the one before.

use std::collections::BTreeMap;

use accord_core::money::{Currency, MoneyError, div_round};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// A billing interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    /// `day`, `week`, `month`, `year` (any case; `monthly`/`annual` too).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "days" | "daily" => Some(Interval::Day),
            "week" | "weeks" | "weekly" => Some(Interval::Week),
            "month" | "months" | "monthly" => Some(Interval::Month),
            "year" | "years" | "yearly" | "annual" | "annually" => Some(Interval::Year),
            _ => None,
        }
    }

    /// Periods of one interval per month, as `(numerator, denominator)`: a year is 1/12, a week
    /// 52/12, a day 365/12.
    fn per_month(self) -> (i128, i128) {
        match self {
            Interval::Day => (365, 12),
            Interval::Week => (52, 12),
            Interval::Month => (1, 1),
            Interval::Year => (1, 12),
        }
    }
}

/// How long a discount applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "duration")]
pub enum DiscountDuration {
    /// The first invoice only: not recurring revenue, so MRR ignores it.
    Once,
    Forever,
    /// Until (excluding) this day.
    Repeating {
        until: NaiveDate,
    },
}

/// A discount on a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Discount {
    /// Percent off in basis points (2500 = 25%).
    pub percent_off_bp: Option<u32>,
    /// Amount off each billing period, minor units of the subscription's currency.
    pub amount_off: Option<i64>,
    pub duration: DiscountDuration,
}

impl Discount {
    fn applies_on(&self, day: NaiveDate) -> bool {
        match self.duration {
            DiscountDuration::Once => false,
            DiscountDuration::Forever => true,
            DiscountDuration::Repeating { until } => day < until,
        }
    }
}

/// One priced item of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub plan: String,
    /// Price of one unit for one interval, minor units.
    pub unit_amount: i64,
    pub quantity: i64,
    pub interval: Interval,
    pub interval_count: u32,
    /// Usage-based: billed in arrears from usage, not recurring revenue.
    pub metered: bool,
}

/// The items and discounts of a subscription over a span of days: a mid-cycle upgrade or
/// downgrade ends one phase and starts the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phase {
    pub from: NaiveDate,
    /// Exclusive; `None`: still current.
    pub until: Option<NaiveDate>,
    pub items: Vec<Item>,
    pub discounts: Vec<Discount>,
}

/// A recurring price a statement bills from a day on: its period start, or the day of the
/// mid-cycle upgrade or downgrade it prorates (the statement's `billed_*` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BilledPrice {
    pub from: NaiveDate,
    pub unit_amount: i64,
    pub quantity: i64,
}

/// A subscription's status now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Trialing,
    Active,
    PastDue,
    Unpaid,
    Canceled,
    Incomplete,
    Paused,
}

impl Status {
    /// Vendor spellings: Stripe, Chargebee (`in_trial`, `non_renewing`, `cancelled`), Recurly
    /// (`expired`, `future`), Maxio (`trial_ended`, `on_hold`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "trialing" | "in_trial" | "trial" | "future" => Status::Trialing,
            "active" | "non_renewing" | "live" => Status::Active,
            "past_due" => Status::PastDue,
            "unpaid" => Status::Unpaid,
            "canceled" | "cancelled" | "expired" | "ended" | "trial_ended" | "incomplete_expired" => Status::Canceled,
            "incomplete" => Status::Incomplete,
            "paused" | "on_hold" | "suspended" => Status::Paused,
            _ => return None,
        })
    }
}

/// A subscription's terms as the revenue model reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub id: String,
    pub account_id: String,
    pub currency: Currency,
    pub status: Status,
    pub phases: Vec<Phase>,
    pub trial_start: Option<NaiveDate>,
    pub trial_end: Option<NaiveDate>,
    pub current_period_end: Option<NaiveDate>,
    pub cancel_at_period_end: bool,
    /// When it was canceled (asked), and when it ended (stopped being served).
    pub canceled_at: Option<NaiveDate>,
    pub ended_at: Option<NaiveDate>,
}

impl Subscription {
    /// The first day it stops counting: when it ended, or the period end it is set to cancel at.
    fn stops(&self) -> Option<NaiveDate> {
        let at_period_end = self.cancel_at_period_end.then_some(self.current_period_end).flatten();
        match (self.ended_at, at_period_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the subscription is paying revenue on `day` (status, trial and end dates).
    pub fn counts_on(&self, day: NaiveDate) -> bool {
        let status_counts = match self.status {
            Status::Active | Status::PastDue | Status::Canceled => true,
            Status::Trialing | Status::Unpaid | Status::Incomplete | Status::Paused => false,
        };
        let in_trial =
            matches!((self.trial_start, self.trial_end), (s, Some(e)) if s.is_none_or(|s| s <= day) && day < e);
        status_counts && !in_trial && self.stops().is_none_or(|stop| day < stop)
    }

    /// The exact monthly amount on `day` in the subscription's currency: `(numerator,
    /// denominator)` of minor units. Zero when it does not count.
    pub fn monthly_on(&self, day: NaiveDate) -> (i128, i128) {
        if !self.counts_on(day) {
            return (0, 1);
        }
        let Some(phase) = self.phases.iter().find(|p| p.from <= day && p.until.is_none_or(|u| day < u)) else {
            return (0, 1);
        };
        phase_monthly(phase, day)
    }

    /// Splits the subscription's history at each day its statements bill another price, so its
    /// MRR follows upgrades and downgrades (mid-cycle or at a renewal) rather than showing its
    /// current price for all time: the ChartMogul method, invoices as the record of what was
    /// sold when. `billed` is in the order the statements were issued; of two naming one day,
    /// the later wins. Each price holds from its day to the next one's; before the first, the
    /// first's; from the last on, the subscription's own current item (what it bills now, and
    /// any change not invoiced yet). The interval, plan and discounts are the subscription's
    /// own throughout: a change of interval shows as one from its day on only through the
    /// current item. Without statements the one phase stays as it is.
    pub fn follow_billed_prices(&mut self, billed: &[BilledPrice]) {
        let [phase] = self.phases.as_slice() else { return };
        let Some(current) = phase.items.first().cloned() else { return };
        let mut points: Vec<BilledPrice> = Vec::with_capacity(billed.len());
        for b in billed {
            points.retain(|p| p.from != b.from);
            points.push(*b);
        }
        points.sort_by_key(|p| p.from);
        let start = phase.from;
        let discounts = phase.discounts.clone();
        let mut phases: Vec<Phase> = Vec::with_capacity(points.len());
        for (i, p) in points.iter().enumerate() {
            let from = if i == 0 { start } else { p.from.max(start) };
            let items = if i + 1 == points.len() {
                phase.items.clone()
            } else {
                vec![Item { unit_amount: p.unit_amount, quantity: p.quantity, ..current.clone() }]
            };
            if let Some(last) = phases.last_mut() {
                if last.items == items {
                    continue;
                }
                if from <= last.from {
                    // A price billed before the subscription started: the later one holds.
                    last.items = items;
                    continue;
                }
                last.until = Some(from);
            }
            phases.push(Phase { from, until: None, items, discounts: discounts.clone() });
        }
        if !phases.is_empty() {
            self.phases = phases;
        }
    }

    /// `renewal_date`: the current period end, while the subscription counts and will renew.
    pub fn renewal_date(&self, today: NaiveDate) -> Option<NaiveDate> {
        let renews = matches!(self.status, Status::Active | Status::PastDue | Status::Trialing)
            && !self.cancel_at_period_end
            && self.ended_at.is_none();
        self.current_period_end.filter(|end| renews && *end >= today)
    }
}

/// The exact monthly value of a phase: `Σ unit × quantity × per_month / count`, less its
/// recurring discounts (percent off the total, amounts off per billing period), never below zero.
fn phase_monthly(phase: &Phase, day: NaiveDate) -> (i128, i128) {
    // Every item of a subscription bills on one interval in practice; sum as fractions anyway.
    let mut acc = (0i128, 1i128);
    fn add(acc: &mut (i128, i128), n: i128, d: i128) {
        let num = acc.0 * d + n * acc.1;
        let den = acc.1 * d;
        let g = gcd(num, den);
        *acc = (num / g, den / g);
    }
    // Amount-off coupons are per invoice: normalised like the first recurring item's interval.
    let mut period = None;
    for item in phase.items.iter().filter(|i| !i.metered && i.quantity > 0) {
        let (pn, pd) = item.interval.per_month();
        let count = i128::from(item.interval_count.max(1));
        add(&mut acc, i128::from(item.unit_amount) * i128::from(item.quantity) * pn, pd * count);
        period.get_or_insert((pn, pd * count));
    }
    for d in phase.discounts.iter().filter(|d| d.applies_on(day)) {
        if let Some(bp) = d.percent_off_bp {
            let bp = i128::from(bp.min(10_000));
            acc = (acc.0 * (10_000 - bp), acc.1 * 10_000);
        }
        if let (Some(off), Some((pn, pd))) = (d.amount_off, period) {
            add(&mut acc, -i128::from(off) * pn, pd);
        }
    }
    if acc.0 <= 0 { (0, 1) } else { acc }
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Exchange rates the user configures: how many units of the reporting currency one unit of
/// another is worth, as exact decimal text (`EUR = "1.08"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    pub reporting: Currency,
    /// Per currency: (numerator, denominator) of reporting major units per major unit.
    rates: BTreeMap<Currency, (i128, i128)>,
}

/// A currency has no rate in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("no exchange rate from {from} to {to}: add `{from} = \"...\"` to [revenue.rates]")]
    Missing { from: Currency, to: Currency },
    #[error("rate {text:?} for {currency} is not a positive decimal")]
    Bad { currency: Currency, text: String },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl Rates {
    pub fn new(reporting: Currency) -> Self {
        Rates { reporting, rates: BTreeMap::new() }
    }

    /// Adds a rate from its decimal text, read exactly (`"1.0825"`).
    pub fn with(mut self, currency: Currency, rate: &str) -> Result<Self, RateError> {
        let bad = || RateError::Bad { currency, text: rate.to_owned() };
        let (whole, frac) = rate.trim().split_once('.').unwrap_or((rate.trim(), ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 12
        {
            return Err(bad());
        }
        let num: i128 = format!("{whole}{frac}").parse().map_err(|_| bad())?;
        if num <= 0 {
            return Err(bad());
        }
        self.rates.insert(currency, (num, 10i128.pow(frac.len() as u32)));
        Ok(self)
    }

    /// `amount` minor units of `from` as an exact fraction of reporting minor units.
    pub fn convert(&self, (num, den): (i128, i128), from: Currency) -> Result<(i128, i128), RateError> {
        if from == self.reporting {
            return Ok((num, den));
        }
        let &(rn, rd) = self.rates.get(&from).ok_or(RateError::Missing { from, to: self.reporting })?;
        let shift = i32::from(self.reporting.exponent()) - i32::from(from.exponent());
        let (sn, sd) = if shift >= 0 { (10i128.pow(shift as u32), 1) } else { (1, 10i128.pow((-shift) as u32)) };
        Ok((num * rn * sn, den * rd * sd))
    }
}

/// One account's MRR on one day (or at one month's end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MrrPoint {
    pub day: NaiveDate,
    /// In the reporting currency, minor units.
    pub mrr: i64,
    /// Before conversion, per currency, minor units.
    pub original: BTreeMap<Currency, i64>,
}

/// Computes MRR for one account's subscriptions.
pub fn mrr_on(subs: &[&Subscription], day: NaiveDate, rates: &Rates) -> Result<MrrPoint, RateError> {
    let mut point = MrrPoint { day, mrr: 0, original: BTreeMap::new() };
    for s in subs {
        let exact = s.monthly_on(day);
        if exact.0 == 0 {
            continue;
        }
        let (n, d) = rates.convert(exact, s.currency)?;
        point.mrr += div_round(n, d) as i64;
        *point.original.entry(s.currency).or_default() += div_round(exact.0, exact.1) as i64;
    }
    Ok(point)
}

/// One account's MRR on every day from `from` to `to` (inclusive).
pub fn daily(
    subs: &[&Subscription],
    from: NaiveDate,
    to: NaiveDate,
    rates: &Rates,
) -> Result<Vec<MrrPoint>, RateError> {
    from.iter_days().take_while(|d| *d <= to).map(|d| mrr_on(subs, d, rates)).collect()
}

/// A subscription whose vendor reports its own MRR (Chargebee `subscription.mrr`) and accord's
/// figure for the same day differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub subscription: String,
    pub account_id: String,
    pub currency: Currency,
    /// Minor units of the subscription's currency.
    pub vendor: i64,
    pub accord: i64,
}

/// Compares each subscription's vendor-reported MRR (`reported`, minor units of its currency)
/// with accord's on `day`; returns the ones that differ.
pub fn cross_check<'a>(subs: impl IntoIterator<Item = (&'a Subscription, i64)>, day: NaiveDate) -> Vec<Disagreement> {
    subs.into_iter()
        .filter_map(|(s, reported)| {
            let (n, d) = s.monthly_on(day);
            let accord = div_round(n, d) as i64;
            (accord != reported).then(|| Disagreement {
                subscription: s.id.clone(),
                account_id: s.account_id.clone(),
                currency: s.currency,
                vendor: reported,
                accord,
            })
        })
        .collect()
}

/// A movement kind, ChartMogul's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    New,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
}

/// How an account's MRR changed from one month's end to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Movement {
    /// The first day of the month the change is counted in.
    pub month: NaiveDate,
    pub kind: MovementKind,
    /// Signed change, reporting minor units.
    pub amount: i64,
}

/// The movement between two consecutive month-end figures, given whether the account had paid
/// before `previous`.
pub fn movement(month: NaiveDate, previous: i64, current: i64, paid_before: bool) -> Option<Movement> {
    let kind = match (previous, current) {
        (p, c) if p == c => return None,
        (0, _) if paid_before => MovementKind::Reactivation,
        (0, _) => MovementKind::New,
        (_, 0) => MovementKind::Churn,
        (p, c) if c > p => MovementKind::Expansion,
        _ => MovementKind::Contraction,
    };
    Some(Movement { month, kind, amount: current - previous })
}

/// An account's MRR by month and its movements, from its join date; revenue before it is kept
/// apart, not counted or dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MrrHistory {
    pub reporting: Currency,
    /// Months that ended before the join date's month, with any revenue in them.
    pub before_join: Vec<MrrPoint>,
    /// One point per month end from the join month to `today`'s month (its point is `today`).
    pub months: Vec<MrrPoint>,
    pub movements: Vec<Movement>,
    pub current_mrr: i64,
    pub renewal_date: Option<NaiveDate>,
}

/// The first day of `day`'s month.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn next_month(m: NaiveDate) -> NaiveDate {
    m.checked_add_months(chrono::Months::new(1)).unwrap_or(m)
}

/// MRR history of one account: month ends from the month of its first subscription (or the
/// join date, whichever is earlier) to `today`.
pub fn history(
    subs: &[&Subscription],
    join: NaiveDate,
    today: NaiveDate,
    rates: &Rates,
) -> Result<MrrHistory, RateError> {
    let earliest = subs.iter().flat_map(|s| s.phases.iter().map(|p| p.from)).min().unwrap_or(join).min(join);
    let join_month = month_start(join);
    let mut h = MrrHistory {
        reporting: rates.reporting,
        before_join: Vec::new(),
        months: Vec::new(),
        movements: Vec::new(),
        current_mrr: mrr_on(subs, today, rates)?.mrr,
        renewal_date: subs.iter().filter_map(|s| s.renewal_date(today)).min(),
    };
    let (mut previous, mut paid_before) = (0i64, false);
    let mut m = month_start(earliest);
    while m <= today {
        let end = next_month(m).pred_opt().unwrap_or(m).min(today);
        let point = mrr_on(subs, end, rates)?;
        if let Some(mv) = movement(m, previous, point.mrr, paid_before)
            && m >= join_month
        {
            h.movements.push(mv);
        }
        paid_before |= previous > 0;
        previous = point.mrr;
        if m < join_month {
            h.before_join.push(point)
        } else {
            h.months.push(point)
        }
        m = next_month(m);
    }
    Ok(h)
}

/// Month-end MRR per account (one figure per month) and every account's movements.
pub type Book = (BTreeMap<String, Vec<i64>>, Vec<Movement>);

/// Movements of every account, for each month from `first` to `last` (month starts), with
/// the totals per kind: the whole book at once (the benchmark's workload).
pub fn book_movements(
    subs: &[Subscription],
    first: NaiveDate,
    last: NaiveDate,
    rates: &Rates,
) -> Result<Book, RateError> {
    let mut by_account: BTreeMap<&str, Vec<&Subscription>> = BTreeMap::new();
    for s in subs {
        by_account.entry(&s.account_id).or_default().push(s);
    }
    let mut months = Vec::new();
    let mut m = month_start(first);
    while m <= last {
        months.push(m);
        m = next_month(m);
    }
    let mut mrr = BTreeMap::new();
    let mut movements = Vec::new();
    for (account, subs) in by_account {
        let mut series = Vec::with_capacity(months.len());
        let (mut previous, mut paid_before) = (0i64, false);
        for &m in &months {
            let current = mrr_on(&subs, next_month(m).pred_opt().unwrap_or(m), rates)?.mrr;
            movements.extend(movement(m, previous, current, paid_before));
            paid_before |= previous > 0;
            previous = current;
            series.push(current);
        }
        mrr.insert(account.to_owned(), series);
    }
    Ok((mrr, movements))
}

/// Reads the rate table of `[revenue]`; USD when no currency is set.
pub fn rates_from_config(cfg: &accord_core::config::RevenueConfig) -> Result<Rates, RateError> {
    let reporting = Currency::parse(cfg.currency.as_deref().unwrap_or("USD"))?;
    cfg.rates.iter().try_fold(Rates::new(reporting), |rates, (code, rate)| rates.with(Currency::parse(code)?, rate))
}

fn date(t: Option<accord_core::Timestamp>) -> Option<NaiveDate> {
    t.map(|t| t.date_naive())
}

/// A stored subscription's typed fields as the model's terms. A record with only a precomputed
/// `mrr` (a CSV export) is one monthly item of that amount. Without a start date or any amount
/// it carries no revenue (`None`). An unknown status counts as active, as Natero's import does;
/// a cancelled one without an end date never counted.
pub fn from_record(
    id: &str,
    account_id: &str,
    r: &accord_core::record::Subscription,
    reporting: Currency,
) -> Option<Subscription> {
    let start = date(r.start_date)?;
    let currency = r.currency.as_deref().and_then(|c| Currency::parse(c).ok()).unwrap_or(reporting);
    let item = match (r.unit_amount, r.mrr) {
        (Some(unit), _) => Item {
            plan: r.plan_code.clone().unwrap_or_default(),
            unit_amount: unit,
            quantity: r.quantity.unwrap_or(1),
            interval: r.billing_interval.as_deref().and_then(Interval::parse).unwrap_or(Interval::Month),
            interval_count: r.interval_count.and_then(|c| u32::try_from(c).ok()).unwrap_or(1),
            metered: r.metered.unwrap_or(false),
        },
        (None, Some(mrr)) => Item {
            plan: r.plan_code.clone().unwrap_or_default(),
            unit_amount: mrr,
            quantity: 1,
            interval: Interval::Month,
            interval_count: 1,
            metered: false,
        },
        (None, None) => return None,
    };
    let duration = match r.discount_duration.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("forever") => Some(DiscountDuration::Forever),
        Some("repeating") => date(r.discount_end).map(|until| DiscountDuration::Repeating { until }),
        // `once`, or an unknown duration: not recurring.
        _ => None,
    };
    let discounts = match duration {
        Some(duration) if r.discount_percent_bp.is_some() || r.discount_amount.is_some() => vec![Discount {
            percent_off_bp: r.discount_percent_bp.and_then(|b| u32::try_from(b).ok()),
            amount_off: r.discount_amount,
            duration,
        }],
        _ => Vec::new(),
    };
    let status = r.status.as_deref().map_or(Some(Status::Active), Status::parse).unwrap_or(Status::Active);
    let mut ended_at = date(r.end_date);
    if status == Status::Canceled && ended_at.is_none() {
        ended_at = date(r.canceled_at).or(Some(start));
    }
    Some(Subscription {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        currency,
        status,
        phases: vec![Phase { from: start, until: None, items: vec![item], discounts }],
        trial_start: date(r.trial_start),
        trial_end: date(r.trial_end),
        current_period_end: date(r.current_period_end),
        cancel_at_period_end: r.cancel_at_period_end.unwrap_or(false),
        canceled_at: date(r.canceled_at),
        ended_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }
    fn item(unit: i64, qty: i64, interval: Interval, count: u32) -> Item {
        Item { plan: "p".into(), unit_amount: unit, quantity: qty, interval, interval_count: count, metered: false }
    }
    fn sub(id: &str, items: Vec<Item>, from: &str) -> Subscription {
        Subscription {
            id: id.into(),
            account_id: "a".into(),
            currency: cur("USD"),
            status: Status::Active,
            phases: vec![Phase { from: d(from), until: None, items, discounts: vec![] }],
            trial_start: None,
            trial_end: None,
            current_period_end: None,
            cancel_at_period_end: false,
            canceled_at: None,
            ended_at: None,
        }
    }
    fn usd() -> Rates {
        Rates::new(cur("USD"))
    }
    fn on(s: &Subscription, day: &str) -> i64 {
        mrr_on(&[s], d(day), &usd()).unwrap().mrr
    }

    #[test]
    fn intervals_are_normalised_to_a_month() {
        assert_eq!(on(&sub("m", vec![item(2000, 3, Interval::Month, 1)], "2024-01-01"), "2024-02-01"), 6000);
        assert_eq!(on(&sub("y", vec![item(120_000, 1, Interval::Year, 1)], "2024-01-01"), "2024-02-01"), 10_000);
        // 1000 a week is 1000 × 52 / 12 = 4333.33… a month.
        assert_eq!(on(&sub("w", vec![item(1000, 1, Interval::Week, 1)], "2024-01-01"), "2024-02-01"), 4333);
        // Every three months: a third per month; every two weeks: 26/12.
        assert_eq!(on(&sub("q", vec![item(9000, 1, Interval::Month, 3)], "2024-01-01"), "2024-02-01"), 3000);
        assert_eq!(on(&sub("2w", vec![item(1200, 1, Interval::Week, 2)], "2024-01-01"), "2024-02-01"), 2600);
        assert_eq!(on(&sub("d", vec![item(100, 1, Interval::Day, 1)], "2024-01-01"), "2024-02-01"), 3042);
        // Before its start it is nothing.
        assert_eq!(on(&sub("m", vec![item(2000, 1, Interval::Month, 1)], "2024-01-01"), "2023-12-31"), 0);
    }

    #[test]
    fn statuses_trials_metered_and_ends() {
        let mut s = sub("s", vec![item(5000, 1, Interval::Month, 1)], "2024-01-01");
        s.trial_start = Some(d("2024-01-01"));
        s.trial_end = Some(d("2024-01-15"));
        assert_eq!(on(&s, "2024-01-10"), 0, "in trial");
        assert_eq!(on(&s, "2024-01-15"), 5000, "converted");
        s.status = Status::Trialing;
        assert_eq!(on(&s, "2024-01-20"), 0, "still trialing");
        s.status = Status::PastDue;
        assert_eq!(on(&s, "2024-01-20"), 5000, "past due counts");
        for excluded in [Status::Unpaid, Status::Incomplete, Status::Paused] {
            s.status = excluded;
            assert_eq!(on(&s, "2024-01-20"), 0, "{excluded:?}");
        }
        s.status = Status::Canceled;
        s.ended_at = Some(d("2024-03-01"));
        assert_eq!(on(&s, "2024-02-29"), 5000, "canceled counts until it ended");
        assert_eq!(on(&s, "2024-03-01"), 0);
        let mut metered = sub("m", vec![item(5000, 1, Interval::Month, 1)], "2024-01-01");
        metered.phases[0].items[0].metered = true;
        metered.phases[0].items.push(item(700, 1, Interval::Month, 1));
        assert_eq!(on(&metered, "2024-01-20"), 700, "metered items are not MRR");
        let mut ending = sub("e", vec![item(5000, 1, Interval::Month, 1)], "2024-01-01");
        ending.cancel_at_period_end = true;
        ending.current_period_end = Some(d("2024-04-01"));
        assert_eq!(on(&ending, "2024-03-31"), 5000);
        assert_eq!(on(&ending, "2024-04-01"), 0, "cancels at period end");
        assert_eq!(ending.renewal_date(d("2024-03-01")), None, "no renewal when set to cancel");
        ending.cancel_at_period_end = false;
        assert_eq!(ending.renewal_date(d("2024-03-01")), Some(d("2024-04-01")));
        assert_eq!(ending.renewal_date(d("2024-04-02")), None, "a past period end is no renewal");
    }

    #[test]
    fn recurring_discounts_count_once_coupons_do_not() {
        let mut s = sub("s", vec![item(10_000, 1, Interval::Month, 1)], "2024-01-01");
        let pct = |duration| Discount { percent_off_bp: Some(2500), amount_off: None, duration };
        s.phases[0].discounts = vec![pct(DiscountDuration::Once)];
        assert_eq!(on(&s, "2024-01-20"), 10_000);
        s.phases[0].discounts = vec![pct(DiscountDuration::Forever)];
        assert_eq!(on(&s, "2024-01-20"), 7500);
        s.phases[0].discounts = vec![pct(DiscountDuration::Repeating { until: d("2024-04-01") })];
        assert_eq!(on(&s, "2024-03-31"), 7500);
        assert_eq!(on(&s, "2024-04-01"), 10_000, "a repeating coupon ends");
        let mut annual = sub("y", vec![item(120_000, 1, Interval::Year, 1)], "2024-01-01");
        annual.phases[0].discounts =
            vec![Discount { percent_off_bp: None, amount_off: Some(12_000), duration: DiscountDuration::Forever }];
        assert_eq!(on(&annual, "2024-02-01"), 9000, "amount off per year is a twelfth per month");
        annual.phases[0].discounts[0].amount_off = Some(500_000);
        assert_eq!(on(&annual, "2024-02-01"), 0, "never negative");
    }

    #[test]
    fn phases_follow_upgrades_and_downgrades() {
        let mut s = sub("s", vec![item(1000, 1, Interval::Month, 1)], "2024-01-01");
        s.phases[0].until = Some(d("2024-02-10"));
        s.phases.push(Phase {
            from: d("2024-02-10"),
            until: None,
            items: vec![item(3000, 1, Interval::Month, 1)],
            discounts: vec![],
        });
        assert_eq!(on(&s, "2024-02-09"), 1000);
        assert_eq!(on(&s, "2024-02-10"), 3000);
    }

    #[test]
    fn billed_prices_split_the_history_at_each_change() {
        let billed = |from: &str, unit: i64, quantity: i64| BilledPrice { from: d(from), unit_amount: unit, quantity };
        // Now 3 seats at 3000; billed 1 at 1000 from Jan, upgraded mid-cycle on Feb 10 to 3 at
        // 3000 (the proration), renewed at that price on Mar 1.
        let mut s = sub("s", vec![item(3000, 3, Interval::Month, 1)], "2024-01-01");
        s.follow_billed_prices(&[
            billed("2024-01-01", 1000, 1),
            billed("2024-02-01", 1000, 1),
            billed("2024-02-10", 3000, 3),
            billed("2024-03-01", 3000, 3),
        ]);
        assert_eq!(s.phases.len(), 2, "equal neighbours merge: {:?}", s.phases);
        assert_eq!((on(&s, "2024-01-31"), on(&s, "2024-02-09")), (1000, 1000));
        assert_eq!((on(&s, "2024-02-10"), on(&s, "2024-04-30")), (9000, 9000));
        // A downgrade at a renewal; the first statement after a trial still prices the start;
        // two statements of one day: the later wins.
        let mut d2 = sub("d", vec![item(1000, 1, Interval::Month, 1)], "2024-01-01");
        d2.follow_billed_prices(&[
            billed("2024-01-15", 2000, 2),
            billed("2024-03-15", 2000, 1),
            billed("2024-03-15", 1000, 1),
        ]);
        assert_eq!((on(&d2, "2024-01-05"), on(&d2, "2024-03-14"), on(&d2, "2024-03-15")), (4000, 4000, 1000));
        // The last billed price gives way to the current item: a change not invoiced yet.
        let mut n = sub("n", vec![item(500, 1, Interval::Month, 1)], "2024-01-01");
        n.follow_billed_prices(&[billed("2024-01-01", 700, 1), billed("2024-02-01", 700, 1)]);
        assert_eq!((on(&n, "2024-01-31"), on(&n, "2024-02-05")), (700, 500));
        // No statements: the current price throughout.
        let mut none = sub("x", vec![item(500, 2, Interval::Month, 1)], "2024-01-01");
        none.follow_billed_prices(&[]);
        assert_eq!(on(&none, "2024-01-31"), 1000);
    }

    #[test]
    fn currencies_convert_with_exact_rates_and_keep_originals() {
        let rates = usd().with(cur("EUR"), "1.08").unwrap().with(cur("JPY"), "0.0067").unwrap();
        let mut eur = sub("e", vec![item(1999, 1, Interval::Month, 1)], "2024-01-01");
        eur.currency = cur("EUR");
        let mut jpy = sub("j", vec![item(15_000, 1, Interval::Month, 1)], "2024-01-01");
        jpy.currency = cur("JPY");
        let p = mrr_on(&[&eur, &jpy], d("2024-01-05"), &rates).unwrap();
        // 19.99 EUR × 1.08 = 21.5892 → 2159 cents; 15000 JPY × 0.0067 = 100.50 USD.
        assert_eq!(p.mrr, 2159 + 10_050);
        assert_eq!(p.original, BTreeMap::from([(cur("EUR"), 1999), (cur("JPY"), 15_000)]));
        let mut gbp = sub("g", vec![item(100, 1, Interval::Month, 1)], "2024-01-01");
        gbp.currency = cur("GBP");
        assert!(matches!(mrr_on(&[&gbp], d("2024-01-05"), &rates), Err(RateError::Missing { .. })));
        assert!(usd().with(cur("EUR"), "-1").is_err());
        assert!(usd().with(cur("EUR"), "0").is_err());
    }

    #[test]
    fn movement_new() {
        assert_eq!(movement(d("2024-02-01"), 0, 5000, false).unwrap().kind, MovementKind::New);
    }

    #[test]
    fn movement_expansion() {
        let m = movement(d("2024-02-01"), 5000, 8000, true).unwrap();
        assert_eq!((m.kind, m.amount), (MovementKind::Expansion, 3000));
    }

    #[test]
    fn movement_contraction() {
        let m = movement(d("2024-02-01"), 8000, 5000, true).unwrap();
        assert_eq!((m.kind, m.amount), (MovementKind::Contraction, -3000));
    }

    #[test]
    fn movement_churn() {
        let m = movement(d("2024-02-01"), 5000, 0, true).unwrap();
        assert_eq!((m.kind, m.amount), (MovementKind::Churn, -5000));
    }

    #[test]
    fn movement_reactivation() {
        let m = movement(d("2024-05-01"), 0, 4000, true).unwrap();
        assert_eq!((m.kind, m.amount), (MovementKind::Reactivation, 4000));
        assert_eq!(movement(d("2024-05-01"), 4000, 4000, true), None, "no change, no movement");
    }

    #[test]
    fn history_from_join_date_with_earlier_revenue_kept_apart() {
        // Paid from January, churned at the end of March, reactivated in May at a higher price.
        let mut first = sub("a", vec![item(5000, 1, Interval::Month, 1)], "2024-01-10");
        first.status = Status::Canceled;
        first.ended_at = Some(d("2024-03-31"));
        let mut second = sub("b", vec![item(7000, 1, Interval::Month, 1)], "2024-05-03");
        second.current_period_end = Some(d("2024-07-03"));
        let h = history(&[&first, &second], d("2024-02-15"), d("2024-06-20"), &usd()).unwrap();
        assert_eq!(h.before_join.iter().map(|p| (p.day, p.mrr)).collect::<Vec<_>>(), vec![(d("2024-01-31"), 5000)]);
        assert_eq!(
            h.months.iter().map(|p| p.mrr).collect::<Vec<_>>(),
            vec![5000, 0, 0, 7000, 7000],
            "Feb..Jun month ends; March's end is after the last day served"
        );
        assert_eq!(
            h.movements.iter().map(|m| (m.month, m.kind, m.amount)).collect::<Vec<_>>(),
            vec![(d("2024-03-01"), MovementKind::Churn, -5000), (d("2024-05-01"), MovementKind::Reactivation, 7000)],
            "January's new business is before the join date"
        );
        assert_eq!(h.current_mrr, 7000);
        assert_eq!(h.renewal_date, Some(d("2024-07-03")));
    }

    #[test]
    fn daily_mrr_changes_on_the_day_of_the_change() {
        let mut s = sub("s", vec![item(3000, 1, Interval::Month, 1)], "2024-01-03");
        s.status = Status::Canceled;
        s.ended_at = Some(d("2024-01-05"));
        let days = daily(&[&s], d("2024-01-01"), d("2024-01-06"), &usd()).unwrap();
        assert_eq!(days.iter().map(|p| p.mrr).collect::<Vec<_>>(), vec![0, 0, 3000, 3000, 0, 0]);
        assert_eq!(days.last().unwrap().day, d("2024-01-06"));
    }

    #[test]
    fn vendor_mrr_is_cross_checked() {
        let a = sub("a", vec![item(1000, 1, Interval::Week, 1)], "2024-01-01");
        let b = sub("b", vec![item(5000, 1, Interval::Month, 1)], "2024-01-01");
        let found = cross_check([(&a, 4333), (&b, 4000)], d("2024-02-01"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].subscription.as_str(), found[0].vendor, found[0].accord), ("b", 4000, 5000));
    }

    #[test]
    fn the_book_totals_every_account() {
        let a = sub("a", vec![item(1000, 1, Interval::Month, 1)], "2024-01-05");
        let mut b = sub("b", vec![item(2000, 1, Interval::Month, 1)], "2024-02-05");
        b.account_id = "b".into();
        let (mrr, movements) = book_movements(&[a, b], d("2024-01-01"), d("2024-03-01"), &usd()).unwrap();
        assert_eq!(mrr["a"], vec![1000, 1000, 1000]);
        assert_eq!(mrr["b"], vec![0, 2000, 2000]);
        assert_eq!(movements.iter().filter(|m| m.kind == MovementKind::New).map(|m| m.amount).sum::<i64>(), 3000);
    }
}
