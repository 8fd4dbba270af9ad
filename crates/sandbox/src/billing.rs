//! The revenue every generated billing system must show, as the generator means it: each
//! subscription's [`Terms`], and [`expected_mrr`] and [`expected_movements`] computed from them
//! with the generator's own formula (not accord's), the truth tests compare accord's figures with
//! to the cent. Shared by the billing vendors' seeds (Stripe, Chargebee, Recurly, Maxio).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};

use crate::truth::{AccountIx, EmailIx, RecordKey, Truth};

/// A company as a billing system needs it.
#[derive(Debug, Clone)]
pub(crate) struct SeedOrg {
    pub account: AccountIx,
    pub account_id: String,
    pub name: String,
    /// Its Salesforce account holds an active account.
    pub customer: bool,
    pub created: i64,
    /// Addresses of its people that mean only them (lower case), with their ledger entries.
    pub emails: Vec<(String, EmailIx)>,
}

/// Whom a billing customer of `org` names, as every billing seed draws it: three in four carry the
/// org's account id, the others only one of its people's emails (an org without people's emails
/// always gives its id); a customer outside the System of Record names neither. The draws are
/// the same whichever way a customer goes, so one customer's choice never shifts the next one's.
pub(crate) fn billing_contact(
    rng: &mut impl rand::RngExt,
    org: Option<&SeedOrg>,
) -> (Option<AccountIx>, Option<(String, EmailIx)>) {
    let roll: f64 = rng.random();
    let Some(o) = org else { return (None, None) };
    let person = (!o.emails.is_empty()).then(|| o.emails[rng.random_range(0..o.emails.len())].clone());
    if roll < 0.75 || person.is_none() { (Some(o.account), person) } else { (None, person) }
}

/// The exchange rates of the sandbox's `[revenue]` table: USD per unit of each other currency.
pub const RATES: [(&str, &str); 3] = [("EUR", "1.08"), ("GBP", "1.27"), ("JPY", "0.0067")];

/// A billing interval, as the generator plans it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Week,
    Month,
    Year,
}

impl Every {
    /// The start of the period `k` periods after `anchor`.
    pub(crate) fn nth(self, anchor: NaiveDate, k: u32) -> NaiveDate {
        match self {
            Every::Week => anchor + chrono::Duration::days(7 * i64::from(k)),
            Every::Month => anchor.checked_add_months(Months::new(k)).unwrap_or(anchor),
            Every::Year => anchor.checked_add_months(Months::new(12 * k)).unwrap_or(anchor),
        }
    }
}

/// A recurring discount as it affects MRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Off {
    /// Basis points off the price.
    Percent(u32),
    /// Minor units off each billing period.
    Amount(i64),
}

/// One subscription's revenue as the generator means it.
#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    pub subscription: RecordKey,
    pub currency: &'static str,
    pub unit_amount: i64,
    pub quantity: i64,
    pub every: Every,
    /// First day it is served.
    pub start: NaiveDate,
    /// First day it is no longer served (ended, or the period end it cancels at).
    pub end: Option<NaiveDate>,
    /// Days of a free trial: `[from, until)`.
    pub trial: Option<(NaiveDate, NaiveDate)>,
    /// Still trialing now: it never paid.
    pub trialing: bool,
    /// Usage-based: never recurring revenue.
    pub metered: bool,
    /// A recurring discount and the first day it no longer applies (`None`: forever). `once`
    /// coupons are not recurring and are not here.
    pub discount: Option<(Off, Option<NaiveDate>)>,
    /// Upgrades and downgrades, in date order: from its day on, the price and quantity are the
    /// change's (`unit_amount` and `quantity` above are those of the start).
    pub changes: Vec<Change>,
}

/// A mid-cycle upgrade or downgrade: the subscription's price and quantity from `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub from: NaiveDate,
    pub unit_amount: i64,
    pub quantity: i64,
}

pub(crate) fn exponent(currency: &str) -> u32 {
    if currency == "JPY" { 0 } else { 2 }
}

/// `n / d` rounded half away from zero (`d > 0`).
fn round(n: i128, d: i128) -> i128 {
    let twice = 2 * n.abs() + d;
    n.signum() * (twice / (2 * d))
}

impl Terms {
    /// The exact monthly value on `day`, in minor units of the subscription's currency, as a
    /// fraction `(n, d)`: a week is 52/12 of a month, a year 1/12.
    fn monthly(&self, day: NaiveDate) -> (i128, i128) {
        let served = day >= self.start && self.end.is_none_or(|e| day < e);
        let in_trial = self.trial.is_some_and(|(a, b)| a <= day && day < b);
        if !served || in_trial || self.trialing || self.metered {
            return (0, 1);
        }
        let (per_n, per_d): (i128, i128) = match self.every {
            Every::Week => (52, 12),
            Every::Month => (1, 1),
            Every::Year => (1, 12),
        };
        let (unit, quantity) = self
            .changes
            .iter()
            .rev()
            .find(|c| c.from <= day)
            .map_or((self.unit_amount, self.quantity), |c| (c.unit_amount, c.quantity));
        let mut period = i128::from(unit) * i128::from(quantity);
        let mut scale = 1i128;
        match self.discount {
            Some((off, until)) if until.is_none_or(|u| day < u) => match off {
                Off::Percent(bp) => {
                    period *= 10_000 - i128::from(bp);
                    scale = 10_000;
                }
                Off::Amount(a) => period -= i128::from(a),
            },
            _ => {}
        }
        if period <= 0 {
            return (0, 1);
        }
        (period * per_n, per_d * scale)
    }
}

/// Expected MRR per account per month end (`through` is the last day counted; its month's figure
/// is on that day), in minor units of USD converted with [`RATES`], each subscription rounded
/// once: the sum over the subscriptions the truth links to the account. Months without revenue
/// are absent.
pub fn expected_mrr(terms: &[Terms], truth: &Truth, through: NaiveDate) -> BTreeMap<String, BTreeMap<NaiveDate, i64>> {
    let mut out: BTreeMap<String, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    for t in terms {
        let Some(account) = truth.records.get(&t.subscription).and_then(|e| e.account_id()) else { continue };
        let (rate_n, rate_d): (i128, i128) = match RATES.iter().find(|(c, _)| *c == t.currency) {
            None => (1, 1),
            Some((_, text)) => {
                let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
                (format!("{whole}{frac}").parse().unwrap_or(0), 10i128.pow(frac.len() as u32))
            }
        };
        // Minor units of USD (two decimals) per minor unit of the currency.
        let shift = 10i128.pow(2 - exponent(t.currency).min(2));
        let mut month = t.start.with_day(1).unwrap_or(t.start);
        while month <= through {
            let next = month.checked_add_months(Months::new(1)).unwrap_or(through);
            let day = next.pred_opt().unwrap_or(month).min(through);
            let (n, d) = t.monthly(day);
            if n != 0 {
                let usd = round(n * rate_n * shift, d * rate_d) as i64;
                *out.entry(account.to_owned()).or_default().entry(month).or_default() += usd;
            }
            month = next;
        }
    }
    out
}

/// The movements of one account's month-end MRR (`mrr`, months without revenue absent), from
/// the month of `first` to that of `through`, counted from the month of `join`: `new` from zero
/// the first time, `reactivation` from zero after revenue, `churn` to zero, `expansion` and
/// `contraction` between other figures. Each is `(month, kind, change)`.
pub fn expected_movements(
    mrr: &BTreeMap<NaiveDate, i64>,
    first: NaiveDate,
    through: NaiveDate,
    join: NaiveDate,
) -> Vec<(NaiveDate, &'static str, i64)> {
    let month_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let (mut month, join) = (month_of(first), month_of(join));
    let (mut before, mut ever) = (0i64, false);
    let mut out = Vec::new();
    while month <= through {
        let now = mrr.get(&month).copied().unwrap_or(0);
        let kind = match (before, now) {
            (b, n) if b == n => None,
            (0, _) if ever => Some("reactivation"),
            (0, _) => Some("new"),
            (_, 0) => Some("churn"),
            (b, n) if n > b => Some("expansion"),
            _ => Some("contraction"),
        };
        if let Some(kind) = kind.filter(|_| month >= join) {
            out.push((month, kind, now - before));
        }
        ever |= before > 0;
        before = now;
        month = month.checked_add_months(Months::new(1)).unwrap_or(through + chrono::Duration::days(1));
    }
    out
}

pub(crate) fn noon(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()).and_utc().timestamp()
}

pub(crate) fn date(secs: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().date_naive()
}
