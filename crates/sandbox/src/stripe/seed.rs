//! The generated company's Stripe account, and the revenue it must show.
//!
//! Most customers of the System of Record get a Stripe customer: most carry our account id in
//! `metadata.account_id`, some only a person's email (linked through the email where one account
//! vouches for it), and one in a hundred is a billing-only customer no system knows
//! (`unknown_account`, and so are its subscriptions and invoices). Subscriptions run monthly,
//! annually or weekly in USD, EUR, GBP or JPY; some start with a trial that converts, some with a
//! trial that lapses (canceled at its end), some were canceled at a period end, some are set to
//! cancel at the current one, some are past due, some customers canceled and subscribed again
//! (a reactivation), some carry a `forever`, `repeating` or `once` coupon, some a metered add-on,
//! some extra seats on a subscription of their own that they give up (a contraction),
//! and there are one-off invoices. Every billed period has an invoice.
//!
//! Some paying subscriptions change mid-cycle: an upgrade to the next tier, or seats given up or
//! added, on a day inside a billed period. The subscription's object then shows only its new
//! price; the history is in its invoices, as Stripe bills it with `always_invoice`: a proration
//! invoice on the day (unused time on the old price credited, the remaining time on the new
//! one charged), and every later period at the new price.
//!
//! Each subscription's revenue as the generator intends it is its [`Terms`]; `crate::billing`
//! turns them into the MRR per account per month a test compares `revenue_history` with.
//!
//! Draws come from their own ChaCha8 stream: adding Stripe leaves every other system's data as it was.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Coupon, Credit, Customer, Discount, Duration, Invoice, Price, StripeData, Subscription, stripe_id};
use crate::billing::{Change, Every, Off, SeedOrg, Terms, billing_contact, date, noon};
use crate::generate::AS_OF;
use crate::truth::{Gone, Ix, Key, Ledger, Plan, RecordKey, STRIPE, rules};

/// What the generator decides about one subscription.
struct SubPlan {
    every: Every,
    count_metered: bool,
    start: NaiveDate,
    trial_days: Option<i64>,
    /// The trial lapses: canceled when it ends.
    lapses: bool,
    /// Ends at the end of the period holding this day.
    cancel_on: Option<NaiveDate>,
    /// Set to cancel at the end of the current period.
    cancel_at_period_end: bool,
    past_due: bool,
    coupon: Option<(Off, Duration)>,
    quantity: i64,
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: StripeData,
    terms: Vec<Terms>,
    base: u64,
    seq: u64,
}

const CURRENCIES: [(&str, [i64; 3]); 4] = [
    ("USD", [4_900, 9_900, 29_900]),
    ("EUR", [4_500, 8_900, 27_900]),
    ("GBP", [3_900, 7_900, 23_900]),
    ("JPY", [5_000, 12_000, 38_000]),
];

impl Seeder<'_> {
    fn id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        stripe_id(prefix, self.base + self.seq)
    }

    /// A day between `from` and `until` (exclusive), both Unix seconds.
    fn day_between(&mut self, from: i64, until: i64) -> NaiveDate {
        let (a, b) = (date(from), date(until));
        let span = (b - a).num_days().max(1);
        let d = a + chrono::Duration::days(self.rng.random_range(0..span));
        // Anchors on days 29–31 would move with short months: keep to the 28th.
        if d.day() > 28 { d.with_day(28).unwrap_or(d) } else { d }
    }

    fn customer(&mut self, org: Option<&SeedOrg>, k: usize) -> (Customer, Ix) {
        let id = self.id("cus");
        let created = match org {
            Some(o) => noon(self.day_between(o.created + 86_400, AS_OF - 400 * 86_400)),
            None => noon(self.day_between(AS_OF - 700 * 86_400, AS_OF - 400 * 86_400)),
        };
        let (metadata, email) = billing_contact(&mut self.rng, org);
        let (email_text, email_key) = match (org, email) {
            (_, Some((text, e))) => (Some(text), Some(e)),
            (None, None) => {
                let text = format!("billing{k}@solo{}.example", self.base / 10_000_000);
                let e = self.ledger.email(text.clone());
                (Some(text), Some(e))
            }
            (Some(_), None) => (None, None),
        };
        let steps = rules::stripe_customer(metadata.map(Key::Account), email_key.map(Key::Email));
        let ix = self.ledger.push(
            RecordKey::new(STRIPE, "customers", id.clone()),
            Plan::Rules { steps, email: email_key },
            Gone::Live,
        );
        let mut meta = BTreeMap::new();
        if let (Some(_), Some(o)) = (metadata, org) {
            meta.insert(super::ACCOUNT_ID_KEY.to_owned(), o.account_id.clone());
        }
        let name = org.map_or_else(|| format!("Solo Buyer {k}"), |o| o.name.clone());
        (Customer { id, created, email: email_text, name: Some(name), metadata: meta, currency: None }, ix)
    }

    fn plan(&mut self, after: i64) -> SubPlan {
        let every = match self.rng.random_range(0..10) {
            0 => Every::Week,
            1 | 2 => Every::Year,
            _ => Every::Month,
        };
        // Weekly plans started recently (many invoices otherwise), the others within two years.
        let earliest = match every {
            Every::Week => AS_OF - 180 * 86_400,
            _ => AS_OF - 700 * 86_400,
        };
        let start = self.day_between(after.max(earliest), AS_OF - 20 * 86_400);
        let roll: f64 = self.rng.random();
        let mut p = SubPlan {
            every,
            count_metered: false,
            start,
            trial_days: None,
            lapses: false,
            cancel_on: None,
            cancel_at_period_end: false,
            past_due: false,
            coupon: None,
            quantity: if self.rng.random_bool(0.3) { self.rng.random_range(2..=12) } else { 1 },
        };
        match roll {
            r if r < 0.15 => p.trial_days = Some(14),
            r if r < 0.22 => {
                p.trial_days = Some(14);
                p.lapses = true;
            }
            r if r < 0.32 => {
                let d = self.day_between(noon(start) + 40 * 86_400, AS_OF - 5 * 86_400);
                p.cancel_on = Some(d);
            }
            r if r < 0.38 => p.cancel_at_period_end = true,
            r if r < 0.42 => p.past_due = true,
            _ => {}
        }
        p.coupon = match self.rng.random_range(0..10) {
            0 => Some((Off::Percent(2_000), Duration::Forever)),
            1 => Some((Off::Amount(500), Duration::Repeating(3))),
            2 => Some((Off::Percent(5_000), Duration::Once)),
            _ => None,
        };
        p
    }

    /// Makes a subscription of `customer` on `plan`, its invoices, and its revenue terms.
    fn subscription(
        &mut self,
        customer: &mut Customer,
        parent: Ix,
        currency: &'static str,
        tier: usize,
        p: &SubPlan,
    ) -> String {
        let prices = CURRENCIES.iter().find(|(c, _)| *c == currency).map(|(_, p)| *p).unwrap_or([4_900; 3]);
        let monthly = prices[tier];
        let (unit, interval_name) = match (p.count_metered, p.every) {
            (true, _) => (if currency == "JPY" { 10 } else { 5 }, "month"),
            (false, Every::Month) => (monthly, "month"),
            (false, Every::Year) => (monthly * 10, "year"),
            (false, Every::Week) => (monthly / 4, "week"),
        };
        let every = if p.count_metered { Every::Month } else { p.every };
        let sub_id = self.id("sub");
        let created = noon(p.start);
        let price = Price {
            id: self.id("price"),
            product: self.id("prod"),
            created: created - 86_400 * 30,
            unit_amount: unit,
            currency: currency.to_lowercase(),
            interval: interval_name,
            interval_count: 1,
            metered: p.count_metered,
        };
        let today = date(AS_OF);
        let trial = p.trial_days.map(|d| (p.start, p.start + chrono::Duration::days(d)));
        let paid_from = trial.map_or(p.start, |(_, e)| e);
        // The periods from the first paid day: find the one holding today, or the one a
        // cancellation ends.
        let mut k = 0u32;
        while every.nth(paid_from, k + 1) <= today {
            k += 1;
        }
        let (mut status, mut ended, mut canceled_at) = ("active", None, None);
        let mut scheduled = p.cancel_at_period_end;
        let mut current = (every.nth(paid_from, k), every.nth(paid_from, k + 1));
        if p.lapses {
            let (_, end) = trial.unwrap_or((p.start, p.start));
            status = "canceled";
            ended = Some(end);
            canceled_at = Some(end);
            current = (p.start, end);
        } else if let Some(on) = p.cancel_on {
            let mut j = 0u32;
            while every.nth(paid_from, j + 1) <= on {
                j += 1;
            }
            let end = every.nth(paid_from, j + 1);
            canceled_at = Some(on);
            if end <= today {
                status = "canceled";
                ended = Some(end);
                current = (every.nth(paid_from, j), end);
            } else {
                // Asked to cancel, and the period it ends with is still running.
                scheduled = true;
            }
        } else if trial.is_some_and(|(_, e)| e > today) {
            status = "trialing";
            current = trial.unwrap_or(current);
        } else if p.past_due {
            status = "past_due";
        }
        let cancel_at_period_end = scheduled && status == "active";
        if cancel_at_period_end && canceled_at.is_none() {
            canceled_at = Some(today - chrono::Duration::days(3));
        }
        let discount = p.coupon.map(|(off, duration)| {
            let coupon = Coupon {
                id: self.id("co").replacen("co_", "", 1),
                created: created - 86_400,
                percent_off_bp: match off {
                    Off::Percent(bp) => Some(bp),
                    Off::Amount(_) => None,
                },
                amount_off: match off {
                    Off::Amount(a) => Some(a),
                    Off::Percent(_) => None,
                },
                currency: matches!(off, Off::Amount(_)).then(|| currency.to_lowercase()),
                duration,
            };
            let end = match duration {
                Duration::Repeating(m) => Some(noon(paid_from.checked_add_months(Months::new(m)).unwrap_or(paid_from))),
                _ => None,
            };
            Discount { id: self.id("di"), coupon, start: noon(paid_from), end }
        });
        // A mid-cycle upgrade or downgrade of some paying subscriptions, on a day inside one of
        // their billed periods: the next tier's price or another seat count from that day on,
        // invoiced at once for the rest of the period (a proration: the unused time on the old
        // price credited, the remaining time on the new one charged).
        let mut change: Option<(NaiveDate, Price, i64)> = None;
        let served_to = ended.unwrap_or(today).min(today);
        if !p.count_metered
            && !p.lapses
            && status != "trialing"
            && served_to > paid_from + chrono::Duration::days(2)
            && self.rng.random_bool(0.15)
        {
            let span = (served_to - paid_from).num_days();
            let mut on = paid_from + chrono::Duration::days(self.rng.random_range(1..span));
            let mut j = 0u32;
            while every.nth(paid_from, j + 1) <= on {
                j += 1;
            }
            if every.nth(paid_from, j) == on {
                on += chrono::Duration::days(1);
            }
            let up = tier < 2 && self.rng.random_bool(0.6);
            let (new_tier, new_quantity) = match (up, p.quantity) {
                (true, q) => (tier + 1, q),
                (false, q) if q > 1 => (tier, q - 1),
                (false, q) => (tier, q + 2),
            };
            let new_unit = match every {
                Every::Month => prices[new_tier],
                Every::Year => prices[new_tier] * 10,
                Every::Week => prices[new_tier] / 4,
            };
            let new_price = Price { id: self.id("price"), unit_amount: new_unit, ..price.clone() };
            if on < served_to && on > paid_from {
                change = Some((on, new_price, new_quantity));
            }
        }
        let key = RecordKey::new(STRIPE, "subscriptions", sub_id.clone());
        self.ledger.push(
            key.clone(),
            Plan::Rules { steps: rules::stripe_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        customer.currency.get_or_insert_with(|| currency.to_lowercase());
        let served_until = if cancel_at_period_end { Some(current.1) } else { ended };
        self.terms.push(Terms {
            subscription: key,
            currency,
            unit_amount: unit,
            quantity: p.quantity,
            every,
            start: p.start,
            end: served_until,
            trial,
            trialing: status == "trialing",
            metered: p.count_metered,
            discount: discount.as_ref().and_then(|d| {
                let off = match (d.coupon.percent_off_bp, d.coupon.amount_off) {
                    (Some(bp), _) => Off::Percent(bp),
                    (None, Some(a)) => Off::Amount(a),
                    (None, None) => return None,
                };
                match d.coupon.duration {
                    Duration::Once => None,
                    Duration::Forever => Some((off, None)),
                    Duration::Repeating(_) => Some((off, d.end.map(date))),
                }
            }),
            changes: change
                .iter()
                .map(|(from, price, quantity)| Change {
                    from: *from,
                    unit_amount: price.unit_amount,
                    quantity: *quantity,
                })
                .collect(),
        });
        // An invoice per billed period, from the first paid one to the current one.
        if status != "trialing" && !p.lapses {
            let mut j = 0u32;
            loop {
                let (from, to) = (every.nth(paid_from, j), every.nth(paid_from, j + 1));
                if from > today || ended.is_some_and(|e| from >= e) {
                    break;
                }
                let changed = change.as_ref().filter(|(on, _, _)| *on <= from);
                let (bill_price, bill_quantity) = changed.map_or((&price, p.quantity), |(_, pr, q)| (pr, *q));
                let gross = bill_price.unit_amount * bill_quantity;
                let off = match &discount {
                    Some(d) if d.coupon.duration == Duration::Once && j > 0 => 0,
                    Some(d) if d.end.is_some_and(|e| noon(from) >= e) => 0,
                    Some(d) => match (d.coupon.percent_off_bp, d.coupon.amount_off) {
                        (Some(bp), _) => gross * i64::from(bp) / 10_000,
                        (None, Some(a)) => a.min(gross),
                        _ => 0,
                    },
                    None => 0,
                };
                let subtotal = if p.count_metered { unit * self.rng.random_range(0..400) } else { gross - off };
                let tax = if currency == "EUR" || currency == "GBP" { subtotal / 5 } else { 0 };
                let last = every.nth(paid_from, j + 1) > today;
                let state = if last && status == "past_due" { "open" } else { "paid" };
                let id = self.id("in");
                let line_id = self.id("il");
                self.push_invoice(
                    Invoice {
                        id,
                        customer: customer.id.clone(),
                        customer_email: customer.email.clone(),
                        subscription: Some(sub_id.clone()),
                        created: noon(from) + 3_600,
                        currency: currency.to_lowercase(),
                        subtotal,
                        tax,
                        status: state.into(),
                        period_start: noon(from),
                        period_end: noon(to),
                        paid_at: (state == "paid").then_some(noon(from) + 7_200),
                        line_id,
                        description: format!("{bill_quantity} × plan ({interval_name})"),
                        price: Some(bill_price.clone()),
                        quantity: bill_quantity,
                        proration: None,
                    },
                    parent,
                );
                if let Some((on, new_price, new_quantity)) = change.as_ref().filter(|(on, _, _)| from < *on && *on < to)
                {
                    let (left, days) = ((to - *on).num_days(), (to - from).num_days().max(1));
                    let credit = -(price.unit_amount * p.quantity * left / days);
                    let charge = new_price.unit_amount * new_quantity * left / days;
                    let subtotal = charge + credit;
                    let id = self.id("in");
                    let (line_id, credit_line) = (self.id("il"), self.id("il"));
                    self.push_invoice(
                        Invoice {
                            id,
                            customer: customer.id.clone(),
                            customer_email: customer.email.clone(),
                            subscription: Some(sub_id.clone()),
                            created: noon(*on) + 3_600,
                            currency: currency.to_lowercase(),
                            subtotal,
                            tax: if currency == "EUR" || currency == "GBP" { subtotal / 5 } else { 0 },
                            status: "paid".into(),
                            period_start: noon(*on),
                            period_end: noon(to),
                            paid_at: Some(noon(*on) + 7_200),
                            line_id,
                            description: format!("Remaining time on {new_quantity} × plan ({interval_name})"),
                            price: Some(new_price.clone()),
                            quantity: *new_quantity,
                            proration: Some(Credit {
                                line_id: credit_line,
                                price: price.clone(),
                                quantity: p.quantity,
                                amount: credit,
                            }),
                        },
                        parent,
                    );
                }
                j += 1;
            }
        }
        let item_id = self.id("si");
        let (price, quantity) = match change {
            Some((_, new_price, new_quantity)) => (new_price, new_quantity),
            None => (price, p.quantity),
        };
        self.data.subscriptions.push(Subscription {
            id: sub_id.clone(),
            customer: customer.id.clone(),
            status: status.into(),
            created,
            start_date: created,
            item_id,
            price,
            quantity,
            current_period_start: noon(current.0),
            current_period_end: noon(current.1),
            cancel_at_period_end,
            canceled_at: canceled_at.map(noon),
            ended_at: ended.map(noon),
            trial_start: trial.map(|(a, _)| noon(a)),
            trial_end: trial.map(|(_, b)| noon(b)),
            discount,
        });
        sub_id
    }

    fn push_invoice(&mut self, invoice: Invoice, parent: Ix) {
        self.ledger.push(
            RecordKey::new(STRIPE, "invoices", invoice.id.clone()),
            Plan::Rules { steps: rules::stripe_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        self.data.invoices.push(invoice);
    }

    /// A one-off invoice (an onboarding fee): not recurring.
    fn one_off(&mut self, customer: &Customer, parent: Ix, currency: &'static str) {
        let day = self.day_between(customer.created + 86_400, AS_OF - 86_400);
        let id = self.id("in");
        let line_id = self.id("il");
        // ¥50,000 or 500.00 in the other currencies.
        let amount = 50_000;
        self.push_invoice(
            Invoice {
                id,
                customer: customer.id.clone(),
                customer_email: customer.email.clone(),
                subscription: None,
                created: noon(day),
                currency: currency.to_lowercase(),
                subtotal: amount,
                tax: 0,
                status: "paid".into(),
                period_start: noon(day),
                period_end: noon(day),
                paid_at: Some(noon(day) + 3_600),
                line_id,
                description: "Onboarding".into(),
                price: None,
                quantity: 1,
                proration: None,
            },
            parent,
        );
    }
}

/// Makes the account's records, records their meanings in `ledger`; returns the data, each
/// subscription's revenue terms, and each org's records (in `orgs` order).
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], ledger: &mut Ledger) -> (StripeData, Vec<Terms>, Vec<Vec<Ix>>) {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5354_5249_5045),
        ledger,
        data: StripeData::default(),
        terms: Vec::new(),
        base: (seed % 1000) * 10_000_000,
        seq: 0,
    };
    let mut per_org = vec![Vec::new(); orgs.len()];
    let solo = (orgs.len() / 100).max(1);
    let mut k = 0usize;
    for (o, org) in orgs.iter().map(Some).enumerate().chain((0..solo).map(|_| (usize::MAX, None))) {
        if org.is_some_and(|g| !g.customer || !s.rng.random_bool(0.8)) {
            continue;
        }
        k += 1;
        let (mut customer, cix) = s.customer(org, k);
        let first = s.ledger.len() as Ix;
        let currency = match s.rng.random_range(0..20) {
            0..=11 => "USD",
            12..=14 => "EUR",
            15..=17 => "GBP",
            _ => "JPY",
        };
        let tier = s.rng.random_range(0..3);
        if s.rng.random_bool(0.06) {
            // A reactivation: a monthly subscription canceled at a period end, then, months
            // later, a new one.
            let mut old = s.plan(customer.created);
            old.every = Every::Month;
            old.trial_days = None;
            old.lapses = false;
            old.cancel_at_period_end = false;
            old.past_due = false;
            let on = s.day_between(noon(old.start) + 40 * 86_400, AS_OF - 150 * 86_400);
            old.cancel_on = Some(on);
            s.subscription(&mut customer, cix, currency, tier, &old);
            let ended = s.terms.last().and_then(|t| t.end).unwrap_or(on);
            let mut again = s.plan(noon(ended) + 75 * 86_400);
            again.trial_days = None;
            again.lapses = false;
            again.cancel_on = None;
            if again.start > ended + chrono::Duration::days(60) {
                s.subscription(&mut customer, cix, currency, tier, &again);
            }
        } else {
            let plan = s.plan(customer.created);
            s.subscription(&mut customer, cix, currency, tier, &plan);
        }
        if s.rng.random_bool(0.08) {
            // Extra seats on a subscription of their own, given up at a period end: the account's
            // MRR contracts.
            let mut seats = s.plan(customer.created);
            seats.every = Every::Month;
            seats.trial_days = None;
            seats.lapses = false;
            seats.cancel_at_period_end = false;
            seats.past_due = false;
            seats.coupon = None;
            let on = s.day_between(noon(seats.start) + 40 * 86_400, AS_OF - 5 * 86_400);
            seats.cancel_on = Some(on);
            s.subscription(&mut customer, cix, currency, 0, &seats);
        }
        if s.rng.random_bool(0.05) {
            let mut add_on = s.plan(customer.created);
            add_on.count_metered = true;
            add_on.trial_days = None;
            add_on.lapses = false;
            add_on.cancel_on = None;
            add_on.coupon = None;
            add_on.quantity = 1;
            s.subscription(&mut customer, cix, currency, 0, &add_on);
        }
        if s.rng.random_bool(0.1) {
            s.one_off(&customer, cix, currency);
        }
        s.data.customers.push(customer);
        if org.is_some() {
            per_org[o].push(cix);
            per_org[o].extend(first..s.ledger.len() as Ix);
        }
    }
    let Seeder { mut data, terms, .. } = s;
    data.customers.sort_by(|a, b| a.id.cmp(&b.id));
    data.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    data.invoices.sort_by(|a, b| a.id.cmp(&b.id));
    (data, terms, per_org)
}
