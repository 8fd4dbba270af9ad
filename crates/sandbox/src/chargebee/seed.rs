//! The generated company's Chargebee site, and the revenue it must show.
//!
//! A fifth of the System of Record's customer accounts (chosen by this seed's own ChaCha8 stream,
//! so every other system's data stays as it was) bill through Chargebee. Most of their customers
//! carry our account id in the `cf_account_id` custom field; the others carry none, and their
//! Chargebee id is in the Salesforce account's `Billing_Account_ID__c` (mapped to the accounts'
//! `billing_account_id`: the `native_id` rule). One in a hundred customers is billing-only, in no
//! System of Record (`unknown_account`, and so are its subscriptions and invoices).
//!
//! Subscriptions run monthly, annually or weekly in USD, EUR, GBP or JPY; some start with a trial
//! that converts, some with one that lapses (cancelled at its end), some were cancelled at a term
//! end, some are `non_renewing` (cancelling at the current one), some have an invoice left
//! `payment_due`, some customers cancelled and subscribed again months later (a reactivation),
//! some carry a coupon (20% `forever`, a fixed amount for a `limited_period` of three months,
//! or 50% `one_time`), and there are one-off invoices (some voided, one of those deleted). Some
//! subscriptions are upgraded mid-term (a proration invoice on the change day: a credit of the old
//! price's unused part and a charge of the new price's, whose plan line is the price billed from
//! that day) or downgraded at a term end (the next renewal bills the new price); their revenue
//! terms carry the change (`Terms::changes`). A few customers, with their subscriptions, were
//! deleted before accord first looks (`deleted: true`, read as tombstones).
//!
//! Chargebee's own `mrr` of each subscription is what the generator's formula gives on the day
//! the data is as of, except for one upgraded subscription whose figure is stale (the price
//! before the upgrade): `accord doctor`'s cross-check must list it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{
    ACCOUNT_ID_FIELD, Applied, ChargebeeData, Coupon, Customer, Discount, DurationType, Invoice, Line, Subscription,
};
use crate::billing::{Change, Every, Off, SeedOrg, Terms, date, noon};
use crate::generate::AS_OF;
use crate::truth::{CHARGEBEE, Gone, Ix, Key, Ledger, Plan, RecordKey, rules};

const CURRENCIES: [(&str, [i64; 3]); 4] = [
    ("USD", [4_900, 9_900, 29_900]),
    ("EUR", [4_500, 8_900, 27_900]),
    ("GBP", [3_900, 7_900, 23_900]),
    ("JPY", [5_000, 12_000, 38_000]),
];

/// The coupons every currency can use: 20% forever, 50% once, and 5.00 (¥500) off for three
/// months in each currency.
fn coupons() -> Vec<Coupon> {
    let created = AS_OF - 900 * 86_400;
    let mut out = vec![
        Coupon {
            id: "LOYAL20".into(),
            name: "Loyalty 20%".into(),
            discount: Discount::Percentage(2_000),
            currency_code: None,
            duration: DurationType::Forever,
            created_at: created,
        },
        Coupon {
            id: "WELCOME50".into(),
            name: "Welcome 50% off the first invoice".into(),
            discount: Discount::Percentage(5_000),
            currency_code: None,
            duration: DurationType::OneTime,
            created_at: created,
        },
    ];
    for (c, _) in CURRENCIES {
        out.push(Coupon {
            id: format!("SPRING500-{c}"),
            name: format!("Spring: 500 {c} off for three months"),
            discount: Discount::FixedAmount(500),
            currency_code: Some(c.to_owned()),
            duration: DurationType::LimitedPeriod(3),
            created_at: created,
        });
    }
    out
}

/// What the generator decides about one subscription.
#[derive(Clone)]
struct SubPlan {
    every: Every,
    start: NaiveDate,
    trial_days: Option<i64>,
    lapses: bool,
    /// Ends at the end of the term holding this day.
    cancel_on: Option<NaiveDate>,
    non_renewing: bool,
    payment_due: bool,
    /// The coupon's id and terms.
    coupon: Option<(&'static str, Off, DurationType)>,
    quantity: i64,
    /// A mid-term upgrade (to the next tier) or a downgrade at a term end.
    change: Option<bool>,
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: ChargebeeData,
    terms: Vec<Terms>,
    seq: u64,
    invoice_seq: u64,
    /// The Chargebee ids the Salesforce accounts must carry, by org position.
    billing_ids: Vec<(usize, String)>,
    billing_taken: Vec<bool>,
    /// Whether the stale `mrr` was planted.
    stale: bool,
}

/// A Chargebee-style id: 16 letters and digits, unique per number.
fn cb_id(n: u64) -> String {
    format!("Az{}Cb1", super::model::event_id(n))
}

/// `n / d` rounded half away from zero (`d > 0`), as `billing` rounds.
fn round(n: i128, d: i128) -> i64 {
    let twice = 2 * n.abs() + d;
    (n.signum() * (twice / (2 * d))) as i64
}

/// Chargebee's `mrr` of a price on `every`, less a recurring discount: minor units a month.
fn monthly(unit: i64, quantity: i64, every: Every, off: Option<Off>) -> i64 {
    let (per_n, per_d): (i128, i128) = match every {
        Every::Week => (52, 12),
        Every::Month => (1, 1),
        Every::Year => (1, 12),
    };
    let mut period = i128::from(unit) * i128::from(quantity);
    let mut scale = 1i128;
    match off {
        Some(Off::Percent(bp)) => {
            period *= 10_000 - i128::from(bp);
            scale = 10_000;
        }
        Some(Off::Amount(a)) => period -= i128::from(a),
        None => {}
    }
    if period <= 0 {
        return 0;
    }
    round(period * per_n, per_d * scale)
}

impl Seeder<'_> {
    fn id(&mut self) -> String {
        self.seq += 1;
        cb_id(self.seq)
    }

    fn invoice_id(&mut self) -> String {
        self.invoice_seq += 1;
        self.invoice_seq.to_string()
    }

    /// A day between `from` and `until` (exclusive), both Unix seconds, on the 28th at the latest.
    fn day_between(&mut self, from: i64, until: i64) -> NaiveDate {
        let (a, b) = (date(from), date(until));
        let span = (b - a).num_days().max(1);
        let d = a + chrono::Duration::days(self.rng.random_range(0..span));
        if d.day() > 28 { d.with_day(28).unwrap_or(d) } else { d }
    }

    /// A customer of `org` (its position, itself and its Salesforce account record; none: a
    /// billing-only customer). Most carry our account id in `cf_account_id`; the others' ids
    /// are put in the Salesforce account's `Billing_Account_ID__c`.
    fn customer(&mut self, org: Option<(usize, &SeedOrg, Ix)>, k: usize, gone: Gone) -> (Customer, Ix) {
        let id = self.id();
        let created = match org {
            Some((_, o, _)) => noon(self.day_between(o.created + 86_400, AS_OF - 400 * 86_400)),
            None => noon(self.day_between(AS_OF - 700 * 86_400, AS_OF - 400 * 86_400)),
        };
        // The account's `Billing_Account_ID__c` may hold its code in another billing system
        // (Recurly): such a customer carries our account id itself.
        let taken = org.is_some_and(|(i, _, _)| self.billing_taken.get(i).copied().unwrap_or(false));
        let by_field = org.is_some() && (gone != Gone::Live || self.rng.random_bool(0.8) || taken);
        let mut custom = BTreeMap::new();
        let (field_key, native_key) = match org {
            Some((_, o, _)) if by_field => {
                custom.insert(ACCOUNT_ID_FIELD.to_owned(), o.account_id.clone());
                (Some(Key::Account(o.account)), Key::NoAccount)
            }
            Some((i, _, sor)) => {
                self.billing_ids.push((i, id.clone()));
                (None, Key::Billing(sor))
            }
            None => (None, Key::NoAccount),
        };
        // The billing contact's address: evidence for it (the customer holds it), as every
        // record holding an address is when it links by another rule.
        let (company, email) = match org {
            Some((_, o, _)) => (o.name.clone(), o.emails.first().cloned()),
            None => {
                let text = format!("billing{k}@solo-cb.example");
                let e = self.ledger.email(text.clone());
                (format!("Solo Buyer {k}"), Some((text, e)))
            }
        };
        let steps = rules::chargebee_customer(field_key, Some(native_key));
        let plan = Plan::Rules { steps, email: email.as_ref().map(|(_, e)| *e) };
        let ix = self.ledger.push(RecordKey::new(CHARGEBEE, "customers", id.clone()), plan, gone);
        let email = email.map(|(text, _)| text);
        let customer = Customer {
            id,
            first_name: Some("Accounts".into()),
            last_name: Some("Payable".into()),
            email,
            company: Some(company),
            custom,
            meta_data: None,
            preferred_currency_code: None,
            created_at: created,
            updated_at: created + 3_600,
            deleted: gone != Gone::Live,
        };
        (customer, ix)
    }

    fn plan(&mut self, after: i64) -> SubPlan {
        let every = match self.rng.random_range(0..10) {
            0 => Every::Week,
            1 | 2 => Every::Year,
            _ => Every::Month,
        };
        let earliest = match every {
            Every::Week => AS_OF - 180 * 86_400,
            _ => AS_OF - 700 * 86_400,
        };
        let start = self.day_between(after.max(earliest), AS_OF - 20 * 86_400);
        let mut p = SubPlan {
            every,
            start,
            trial_days: None,
            lapses: false,
            cancel_on: None,
            non_renewing: false,
            payment_due: false,
            coupon: None,
            quantity: if self.rng.random_bool(0.3) { self.rng.random_range(2..=12) } else { 1 },
            change: None,
        };
        match self.rng.random::<f64>() {
            r if r < 0.15 => {
                p.trial_days = Some(14);
                if self.rng.random_bool(0.4) {
                    // Signed up days ago: still in its trial.
                    p.start = self.day_between((AS_OF - 10 * 86_400).max(after), AS_OF - 2 * 86_400);
                }
            }
            r if r < 0.22 => {
                p.trial_days = Some(14);
                p.lapses = true;
            }
            r if r < 0.32 => p.cancel_on = Some(self.day_between(noon(start) + 40 * 86_400, AS_OF - 5 * 86_400)),
            r if r < 0.38 => p.non_renewing = true,
            r if r < 0.42 => p.payment_due = true,
            r if r < 0.56 && every != Every::Week => p.change = Some(self.rng.random_bool(0.6)),
            _ => {}
        }
        if p.change.is_none() {
            p.coupon = match self.rng.random_range(0..10) {
                0 => Some(("LOYAL20", Off::Percent(2_000), DurationType::Forever)),
                1 => Some(("SPRING500", Off::Amount(500), DurationType::LimitedPeriod(3))),
                2 => Some(("WELCOME50", Off::Percent(5_000), DurationType::OneTime)),
                _ => None,
            };
        }
        p
    }

    /// Makes a subscription of `customer` on `p`, its invoices and its revenue terms; returns the
    /// subscription's end (the first day it is no longer served), if it ends.
    fn subscription(
        &mut self,
        customer: &mut Customer,
        parent: Ix,
        currency: &'static str,
        tier: usize,
        p: &SubPlan,
        gone: Gone,
    ) -> Option<NaiveDate> {
        let prices = CURRENCIES.iter().find(|(c, _)| *c == currency).map_or([4_900; 3], |(_, p)| *p);
        let price_of = |tier: usize| match p.every {
            Every::Month => prices[tier],
            Every::Year => prices[tier] * 10,
            Every::Week => prices[tier] / 4,
        };
        let unit = price_of(tier);
        let unit_name = match p.every {
            Every::Week => "week",
            Every::Month => "month",
            Every::Year => "year",
        };
        let plan_id = |tier: usize| {
            let name = ["starter", "growth", "scale"][tier];
            let every = match p.every {
                Every::Week => "Weekly",
                Every::Month => "Monthly",
                Every::Year => "Yearly",
            };
            format!("{name}-{currency}-{every}")
        };
        let id = self.id();
        customer.preferred_currency_code.get_or_insert_with(|| currency.to_owned());
        let today = date(AS_OF);
        let trial = p.trial_days.map(|d| (p.start, p.start + chrono::Duration::days(d)));
        let paid_from = trial.map_or(p.start, |(_, e)| e);
        let every = p.every;
        let mut k = 0u32;
        while every.nth(paid_from, k + 1) <= today {
            k += 1;
        }
        let mut current = (every.nth(paid_from, k), every.nth(paid_from, k + 1));
        let (mut status, mut ended, mut cancelled_at, mut scheduled_at) = ("active", None, None, None);
        if p.lapses {
            let (_, end) = trial.unwrap_or((p.start, p.start));
            status = "cancelled";
            ended = Some(end);
            cancelled_at = Some(end);
            current = (p.start, end);
        } else if let Some(on) = p.cancel_on {
            let mut j = 0u32;
            while every.nth(paid_from, j + 1) <= on {
                j += 1;
            }
            let end = every.nth(paid_from, j + 1);
            cancelled_at = Some(end);
            scheduled_at = Some(on);
            if end <= today {
                status = "cancelled";
                ended = Some(end);
                current = (every.nth(paid_from, j), end);
            } else {
                status = "non_renewing";
            }
        } else if trial.is_some_and(|(_, e)| e > today) {
            status = "in_trial";
            current = trial.unwrap_or(current);
        } else if p.non_renewing {
            status = "non_renewing";
            cancelled_at = Some(current.1);
            scheduled_at = Some(today - chrono::Duration::days(3));
        }
        if status == "cancelled" {
            scheduled_at = None;
        }
        // A change needs a term before the current one to happen in.
        let change = p.change.filter(|_| status == "active" && k >= 2).map(|upgrade| {
            let j = self.rng.random_range(1..k);
            let (from, to) = (every.nth(paid_from, j), every.nth(paid_from, j + 1));
            if upgrade {
                let span = (to - from).num_days();
                let day = from + chrono::Duration::days(self.rng.random_range(3..(span - 3).max(4)));
                let (t, q) = if tier < 2 { (tier + 1, p.quantity) } else { (tier, p.quantity + 2) };
                (j, day, true, t, q)
            } else {
                let (t, q) = if tier > 0 { (tier - 1, p.quantity) } else { (tier, (p.quantity - 1).max(1)) };
                let q = if t == tier && q == p.quantity { q + 1 } else { q };
                // Downgrades apply at the term's end: from the start of term j + 1.
                (j + 1, to, false, t, q)
            }
        });
        let (now_unit, now_quantity, now_plan) = match change {
            Some((_, _, _, t, q)) => (price_of(t), q, plan_id(t)),
            None => (unit, p.quantity, plan_id(tier)),
        };
        let coupon = p.coupon.map(|(cid, off, duration)| {
            let cid = if cid == "SPRING500" { format!("SPRING500-{currency}") } else { cid.to_owned() };
            let till = match duration {
                DurationType::LimitedPeriod(m) => paid_from.checked_add_months(chrono::Months::new(m)),
                _ => None,
            };
            (cid, off, duration, till)
        });
        let key = RecordKey::new(CHARGEBEE, "subscriptions", id.clone());
        self.ledger.push(
            key.clone(),
            Plan::Rules { steps: rules::chargebee_child(Some(Key::Record(parent))), email: None },
            gone,
        );
        let served_until = if status == "non_renewing" { Some(current.1) } else { ended };
        let recurring_off = coupon.as_ref().and_then(|(_, off, duration, till)| match duration {
            DurationType::OneTime => None,
            DurationType::Forever => Some((*off, None)),
            DurationType::LimitedPeriod(_) => Some((*off, *till)),
        });
        if gone == Gone::Live {
            self.terms.push(Terms {
                subscription: key,
                currency,
                unit_amount: unit,
                quantity: p.quantity,
                every,
                start: p.start,
                end: served_until,
                trial,
                trialing: status == "in_trial",
                metered: false,
                discount: recurring_off,
                changes: change
                    .map(|(_, day, _, _, q)| Change { from: day, unit_amount: now_unit, quantity: q })
                    .into_iter()
                    .collect(),
            });
        }
        // Chargebee's own figure, as of today; one upgraded subscription keeps its old one.
        let off_now = recurring_off.filter(|(_, till)| till.is_none_or(|t| today < t)).map(|(o, _)| o);
        let mut mrr = match status {
            "active" | "non_renewing" => monthly(now_unit, now_quantity, every, off_now),
            _ => 0,
        };
        if let Some((_, _, true, _, _)) = change
            && !self.stale
        {
            self.stale = true;
            mrr = monthly(unit, p.quantity, every, None);
        }
        // An invoice per billed term, and the change's proration.
        let mut due_since = None;
        if status != "in_trial" && !p.lapses {
            let mut j = 0u32;
            loop {
                let (from, to) = (every.nth(paid_from, j), every.nth(paid_from, j + 1));
                if from > today || ended.is_some_and(|e| from >= e) {
                    break;
                }
                let changed = change.is_some_and(|(cj, _, up, _, _)| if up { j > cj } else { j >= cj });
                let (u, q, plan) = if changed {
                    (now_unit, now_quantity, now_plan.clone())
                } else {
                    (unit, p.quantity, plan_id(tier))
                };
                let gross = u * q;
                let discount = match &coupon {
                    Some((_, off, DurationType::OneTime, _)) if j == 0 => off_amount(*off, gross),
                    Some((_, _, DurationType::OneTime, _)) => 0,
                    Some((_, _, _, Some(till))) if from >= *till => 0,
                    Some((_, off, _, _)) => off_amount(*off, gross),
                    None => 0,
                };
                let last = to > today;
                let state = if last && p.payment_due { "payment_due" } else { "paid" };
                if state == "payment_due" {
                    due_since = Some(noon(from) + 3_600);
                }
                let line = Line {
                    id: format!("li_{}", self.id()),
                    date_from: noon(from),
                    date_to: noon(to),
                    unit_amount: u,
                    quantity: q,
                    amount: gross,
                    discount_amount: discount,
                    tax_amount: tax(currency, gross - discount),
                    entity_type: "plan_item_price",
                    entity_id: Some(plan.clone()),
                    description: format!("{plan} ({q} × {unit_name})"),
                };
                self.invoice(customer, parent, Some(&id), noon(from) + 3_600, state, vec![line], gone);
                if let Some((cj, day, true, _, q_new)) = change
                    && cj == j
                {
                    // The upgrade's proration: the unused part of the old price credited, the
                    // new price charged for the rest of the term.
                    let (left, span) = ((to - day).num_days(), (to - from).num_days().max(1));
                    let credit = -(unit * p.quantity * left / span);
                    let charge = now_unit * q_new * left / span;
                    let lines = vec![
                        Line {
                            id: format!("li_{}", self.id()),
                            date_from: noon(day),
                            date_to: noon(to),
                            unit_amount: unit,
                            quantity: p.quantity,
                            amount: credit,
                            discount_amount: 0,
                            tax_amount: tax(currency, credit),
                            entity_type: "plan_item_price",
                            entity_id: Some(plan_id(tier)),
                            description: format!("Unused time on {}", plan_id(tier)),
                        },
                        Line {
                            id: format!("li_{}", self.id()),
                            date_from: noon(day),
                            date_to: noon(to),
                            unit_amount: now_unit,
                            quantity: q_new,
                            amount: charge,
                            discount_amount: 0,
                            tax_amount: tax(currency, charge),
                            entity_type: "plan_item_price",
                            entity_id: Some(now_plan.clone()),
                            description: format!("Remaining time on {now_plan}"),
                        },
                    ];
                    self.invoice(customer, parent, Some(&id), noon(day) + 600, "paid", lines, gone);
                }
                j += 1;
            }
        }
        let last_change = [Some(current.0), scheduled_at, ended, change.map(|(_, d, _, _, _)| d)]
            .into_iter()
            .flatten()
            .filter(|d| *d <= today)
            .max()
            .unwrap_or(p.start);
        customer.updated_at = customer.updated_at.max(noon(p.start));
        self.data.subscriptions.push(Subscription {
            id,
            customer_id: customer.id.clone(),
            status: status.into(),
            currency_code: currency.into(),
            item_price_id: now_plan,
            unit_price: now_unit,
            quantity: now_quantity,
            billing_period_unit: unit_name,
            billing_period: 1,
            mrr,
            trial_start: trial.map(|(a, _)| noon(a)),
            trial_end: trial.map(|(_, b)| noon(b)),
            started_at: noon(p.start),
            activated_at: (!p.lapses && status != "in_trial").then(|| noon(paid_from)),
            current_term_start: Some(noon(current.0)),
            current_term_end: Some(noon(current.1)),
            next_billing_at: (status == "active").then(|| noon(current.1)),
            cancelled_at: cancelled_at.map(noon),
            cancel_schedule_created_at: scheduled_at.map(noon),
            coupons: coupon
                .map(|(cid, _, _, till)| Applied { coupon_id: cid, apply_till: till.map(noon), applied_count: 1 })
                .into_iter()
                .collect(),
            due_since,
            created_at: noon(p.start) - 600,
            updated_at: (noon(last_change) + 1_800).min(AS_OF - 600),
            deleted: gone != Gone::Live,
        });
        served_until
    }

    #[allow(clippy::too_many_arguments)]
    fn invoice(
        &mut self,
        customer: &Customer,
        parent: Ix,
        subscription: Option<&str>,
        at: i64,
        status: &str,
        lines: Vec<Line>,
        gone: Gone,
    ) {
        let id = self.invoice_id();
        self.ledger.push(
            RecordKey::new(CHARGEBEE, "invoices", id.clone()),
            Plan::Rules { steps: rules::chargebee_child(Some(Key::Record(parent))), email: None },
            gone,
        );
        let currency = customer.preferred_currency_code.clone().unwrap_or_else(|| "USD".into());
        let tax = lines.iter().map(|l| l.tax_amount).sum();
        let paid = status == "paid";
        self.data.invoices.push(Invoice {
            id: id.clone(),
            customer_id: customer.id.clone(),
            subscription_id: subscription.map(str::to_owned),
            recurring: subscription.is_some(),
            status: status.into(),
            date: at,
            due_date: Some(at),
            paid_at: paid.then_some(at + 3_600),
            currency_code: currency,
            tax,
            lines,
            updated_at: if paid { at + 3_600 } else { at },
            deleted: gone != Gone::Live,
        });
    }

    /// A one-off invoice (an onboarding fee): not recurring; `voided` when asked.
    fn one_off(&mut self, customer: &Customer, parent: Ix, voided: bool, gone: Gone) {
        let day = self.day_between(customer.created_at + 86_400, AS_OF - 86_400);
        let line = Line {
            id: format!("li_{}", self.id()),
            date_from: noon(day),
            date_to: noon(day),
            unit_amount: 50_000,
            quantity: 1,
            amount: 50_000,
            discount_amount: 0,
            tax_amount: 0,
            entity_type: "charge_item_price",
            entity_id: Some("onboarding".into()),
            description: "Onboarding".into(),
        };
        let status = if voided { "voided" } else { "paid" };
        self.invoice(customer, parent, None, noon(day), status, vec![line], gone);
    }
}

fn off_amount(off: Off, gross: i64) -> i64 {
    match off {
        Off::Percent(bp) => gross * i64::from(bp) / 10_000,
        Off::Amount(a) => a.min(gross),
    }
}

/// VAT of 20% on EUR and GBP invoices.
fn tax(currency: &str, amount: i64) -> i64 {
    if currency == "EUR" || currency == "GBP" { amount / 5 } else { 0 }
}

/// What [`seed`] makes: the site's data, each subscription's revenue terms, each org's records
/// (in `orgs` order), and `(org position, Chargebee customer id)` for the Salesforce accounts that
/// must carry the id.
pub(crate) type Seeded = (ChargebeeData, Vec<Terms>, Vec<Vec<Ix>>, Vec<(usize, String)>);

/// Makes the site's records and records their meanings in `ledger`; returns the data, each
/// subscription's revenue terms, each org's records (in `orgs` order), and the Chargebee
/// customer ids the Salesforce accounts of orgs must carry (`Billing_Account_ID__c`).
/// `billing_taken[i]`: the `i`th org's Salesforce account holds another billing system's id in
/// `Billing_Account_ID__c` already.
pub(crate) fn seed(seed: u64, orgs: &[(SeedOrg, Ix)], billing_taken: &[bool], ledger: &mut Ledger) -> Seeded {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4348_4152_4745_4245),
        ledger,
        data: ChargebeeData { coupons: coupons(), ..ChargebeeData::default() },
        terms: Vec::new(),
        seq: (seed % 1000) * 10_000_000,
        invoice_seq: 1_000,
        billing_ids: Vec::new(),
        billing_taken: billing_taken.to_vec(),
        stale: false,
    };
    let mut per_org = vec![Vec::new(); orgs.len()];
    let solo = (orgs.len() / 100).max(1);
    let mut k = 0usize;
    let mut voided_deleted = false;
    for (o, org) in orgs.iter().map(Some).enumerate().chain((0..solo).map(|_| (usize::MAX, None))) {
        if org.is_some_and(|(g, _)| !g.customer || !s.rng.random_bool(0.2)) {
            continue;
        }
        k += 1;
        let gone = if org.is_some() && s.rng.random_bool(0.04) { Gone::BeforeFirstSync } else { Gone::Live };
        let (mut customer, cix) = s.customer(org.map(|(g, sor)| (o, g, *sor)), k, gone);
        let first = s.ledger.len() as Ix;
        let currency = match s.rng.random_range(0..20) {
            0..=11 => "USD",
            12..=14 => "EUR",
            15..=17 => "GBP",
            _ => "JPY",
        };
        let tier = s.rng.random_range(0..3);
        if gone != Gone::Live {
            // Deleted with its subscription: a trial that lapsed, nothing billed.
            let mut lapsed = s.plan(customer.created_at);
            lapsed.trial_days = Some(14);
            lapsed.lapses = true;
            lapsed.change = None;
            lapsed.coupon = None;
            s.subscription(&mut customer, cix, currency, tier, &lapsed, gone);
        } else if s.rng.random_bool(0.06) {
            // A reactivation: a monthly subscription cancelled at a term end, then, months
            // later, a new one.
            let mut old = s.plan(customer.created_at);
            old.every = Every::Month;
            old.trial_days = None;
            old.lapses = false;
            old.non_renewing = false;
            old.payment_due = false;
            old.change = None;
            let on = s.day_between(noon(old.start) + 40 * 86_400, AS_OF - 150 * 86_400);
            old.cancel_on = Some(on);
            let ended = s.subscription(&mut customer, cix, currency, tier, &old, gone).unwrap_or(on);
            let mut again = s.plan(noon(ended) + 75 * 86_400);
            again.trial_days = None;
            again.lapses = false;
            again.cancel_on = None;
            if again.start > ended + chrono::Duration::days(60) {
                s.subscription(&mut customer, cix, currency, tier, &again, gone);
            }
        } else {
            let plan = s.plan(customer.created_at);
            s.subscription(&mut customer, cix, currency, tier, &plan, gone);
        }
        if gone == Gone::Live && s.rng.random_bool(0.12) {
            let voided = s.rng.random_bool(0.3);
            // The first voided one was deleted before accord looks.
            let deleted = voided && !voided_deleted;
            voided_deleted |= deleted;
            s.one_off(&customer, cix, voided, if deleted { Gone::BeforeFirstSync } else { Gone::Live });
        }
        customer.updated_at = customer.updated_at.min(AS_OF - 3_600);
        s.data.customers.push(customer);
        if org.is_some() {
            per_org[o].push(cix);
            per_org[o].extend(first..s.ledger.len() as Ix);
        }
    }
    let Seeder { mut data, terms, billing_ids, .. } = s;
    data.customers.sort_by(|a, b| a.id.cmp(&b.id));
    data.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    data.invoices.sort_by(|a, b| a.id.cmp(&b.id));
    (data, terms, per_org, billing_ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_chargebee_shaped_and_distinct() {
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(cb_id).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|i| i.len() == 16 && i.bytes().all(|b| b.is_ascii_alphanumeric())));
    }

    #[test]
    fn monthly_figures_normalise_and_deduct_as_chargebee_does() {
        assert_eq!(monthly(4_900, 3, Every::Month, None), 14_700);
        assert_eq!(monthly(99_000, 1, Every::Year, None), 8_250);
        assert_eq!(monthly(1_225, 1, Every::Week, None), 5_308, "1225 × 52 / 12 = 5308.33");
        assert_eq!(monthly(4_900, 1, Every::Month, Some(Off::Percent(2_000))), 3_920);
        assert_eq!(monthly(400, 1, Every::Month, Some(Off::Amount(500))), 0, "never below zero");
    }
}
