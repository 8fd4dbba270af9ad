//! The generated company's Recurly site, and the revenue it must show.
//!
//! A fifth of the System of Record's customers (chosen by this seed's own ChaCha8 stream, so
//! every other system's data stays as it was) have a Recurly account. Each account has a code
//! (`rc-00042`); for three in four the company stored that code in the Salesforce account
//! (`Billing_Account_ID__c`, the accounts' `billing_account_id`), so the account links by it; the
//! others carry only a person's email (linked where one account vouches for it). One account in
//! a hundred belongs to a billing-only customer no system knows (`unknown_account`, and so are
//! its subscriptions and invoices), and a few accounts were deactivated before accord first read
//! the site (tombstones; their subscriptions expired then, and link nowhere).
//!
//! Plans are monthly (`months`/1), annual (`months`/12) or weekly (`days`/7), priced in USD, EUR,
//! GBP and JPY with amounts to the cent (`49.99`). Subscriptions: trials that convert and trials
//! that lapse (expired at their end), cancellations at a period end (expired) and ones still
//! running to it (`canceled`), past-due renewals, reactivations (an expired subscription and a
//! new one months later), extra-seat subscriptions given up (a contraction), `forever`,
//! `temporal` (three months) and `single_use` coupons, one-off invoices, and mid-cycle upgrades
//! and downgrades: from the change day the subscription's price or quantity is the new one
//! ([`crate::billing::Change`]), the period's proration invoice credits the unused old price and
//! charges the new one from that day (its positive plan line is what `billed_from` reads), and
//! later renewals bill the new price. Every billed period has an invoice.

use chrono::{Datelike, Months, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{
    Account, Coupon, Invoice, LineItem, Off as CouponOff, Plan, RecurlyData, Redemption, Subscription, recurly_id,
};
use crate::billing::{Change, Every, Off, SeedOrg, Terms, date, noon};
use crate::generate::AS_OF;
use crate::truth::{Gone, Ix, Key, Ledger, Plan as Meaning, RECURLY, RecordKey, rules};

const CURRENCIES: [(&str, [i64; 3]); 4] = [
    ("USD", [4_999, 9_950, 29_900]),
    ("EUR", [4_590, 8_999, 27_950]),
    ("GBP", [3_899, 7_925, 23_999]),
    ("JPY", [5_000, 12_000, 38_000]),
];
const TIERS: [&str; 3] = ["starter", "pro", "scale"];

/// What the generator decides about one subscription.
struct SubPlan {
    every: Every,
    start: NaiveDate,
    trial_days: Option<i64>,
    lapses: bool,
    cancel_on: Option<NaiveDate>,
    cancel_at_period_end: bool,
    past_due: bool,
    /// `forever` 20%, `temporal` 3 months of 5.00 off, or `single_use` 50%.
    coupon: Option<&'static str>,
    quantity: i64,
    /// A mid-cycle change: in the period holding this many days after the first paid day, to
    /// this tier and quantity.
    change: Option<(i64, usize, i64)>,
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: RecurlyData,
    terms: Vec<Terms>,
    base: u64,
    seq: u64,
    invoice_number: u64,
}

fn every_of(p: &Plan) -> Every {
    match (p.interval_unit, p.interval_length) {
        ("days", _) => Every::Week,
        (_, 12) => Every::Year,
        _ => Every::Month,
    }
}

impl Seeder<'_> {
    fn id(&mut self) -> String {
        self.seq += 1;
        recurly_id(self.base + self.seq)
    }

    fn day_between(&mut self, from: i64, until: i64) -> NaiveDate {
        let (a, b) = (date(from), date(until));
        let span = (b - a).num_days().max(1);
        let d = a + chrono::Duration::days(self.rng.random_range(0..span));
        if d.day() > 28 { d.with_day(28).unwrap_or(d) } else { d }
    }

    /// The site's plans (every tier in every interval) and coupons.
    fn catalog(&mut self) {
        let created = AS_OF - 900 * 86_400;
        for (t, tier) in TIERS.iter().enumerate() {
            for (suffix, name, unit, length) in [
                ("monthly", "Monthly", "months", 1),
                ("annual", "Annual", "months", 12),
                ("weekly", "Weekly", "days", 7),
            ] {
                let currencies = CURRENCIES
                    .iter()
                    .map(|(c, prices)| {
                        let m = prices[t];
                        (
                            *c,
                            match suffix {
                                "annual" => m * 10,
                                "weekly" => m / 4,
                                _ => m,
                            },
                        )
                    })
                    .collect();
                let id = self.id();
                self.data.plans.push(Plan {
                    id,
                    code: format!("{tier}-{suffix}"),
                    name: format!("{} {name}", tier[..1].to_uppercase() + &tier[1..]),
                    interval_unit: unit,
                    interval_length: length,
                    currencies,
                    created_at: created,
                });
            }
        }
        let coupon = |s: &mut Self, code: &str, duration: &'static str, months: Option<u32>, off: CouponOff| {
            let id = s.id();
            s.data.coupons.push(Coupon {
                id,
                code: code.to_owned(),
                name: code.to_uppercase(),
                duration,
                temporal_months: months,
                off,
                created_at: created,
            });
        };
        coupon(self, "forever20", "forever", None, CouponOff::Percent(20));
        coupon(self, "first50", "single_use", None, CouponOff::Percent(50));
        for (c, _) in CURRENCIES {
            coupon(self, &format!("save5-{}", c.to_lowercase()), "temporal", Some(3), CouponOff::Fixed(c, 500));
        }
    }

    fn plan_of(&self, tier: usize, every: Every) -> Plan {
        let suffix = match every {
            Every::Month => "monthly",
            Every::Year => "annual",
            Every::Week => "weekly",
        };
        let code = format!("{}-{suffix}", TIERS[tier]);
        self.data.plans.iter().find(|p| p.code == code).cloned().expect("every tier has every interval")
    }

    fn coupon_of(&self, code: &str) -> Coupon {
        self.data.coupons.iter().find(|c| c.code == code).cloned().expect("a seeded coupon")
    }

    fn account(
        &mut self,
        org: Option<&SeedOrg>,
        holder: Option<Ix>,
        k: usize,
        codes: &mut Option<String>,
    ) -> (Account, Ix) {
        let id = self.id();
        let code = format!("rc-{:05}", k);
        let created = match org {
            Some(o) => noon(self.day_between(o.created + 86_400, AS_OF - 400 * 86_400)),
            None => noon(self.day_between(AS_OF - 700 * 86_400, AS_OF - 400 * 86_400)),
        };
        let person = org
            .and_then(|o| (!o.emails.is_empty()).then(|| o.emails[self.rng.random_range(0..o.emails.len())].clone()));
        // Three in four store the code in the System of Record; the others only a person's email.
        let stored = org.is_some() && (self.rng.random_bool(0.75) || person.is_none());
        let code_key = match (stored, holder) {
            (true, Some(h)) => {
                *codes = Some(code.clone());
                Key::Billing(h)
            }
            _ => Key::NoAccount,
        };
        let (email, email_key) = match (org, person) {
            (_, Some((text, e))) => (Some(text), Some(e)),
            (None, None) => {
                let text = format!("accounts{k}@solo-billing{}.example", self.base / 10_000);
                let e = self.ledger.email(text.clone());
                (Some(text), Some(e))
            }
            (Some(_), None) => (None, None),
        };
        let deactivated = org.is_some() && self.rng.random_bool(0.03);
        let ix = self.ledger.push(
            RecordKey::new(RECURLY, "accounts", id.clone()),
            Meaning::Rules {
                steps: rules::recurly_account(Some(code_key), email_key.map(Key::Email)),
                email: email_key,
            },
            if deactivated { Gone::BeforeFirstSync } else { Gone::Live },
        );
        let updated = created + self.rng.random_range(0..200) * 86_400;
        let account = Account {
            id,
            code,
            email,
            first_name: None,
            last_name: None,
            company: Some(org.map_or_else(|| format!("Solo Subscriber {k}"), |o| o.name.clone())),
            state: if deactivated { "inactive".into() } else { "active".into() },
            created_at: created,
            updated_at: if deactivated { AS_OF - 20 * 86_400 } else { updated },
            deleted_at: deactivated.then_some(AS_OF - 20 * 86_400),
        };
        (account, ix)
    }

    fn sub_plan(&mut self, after: i64) -> SubPlan {
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
            cancel_at_period_end: false,
            past_due: false,
            coupon: None,
            quantity: if self.rng.random_bool(0.3) { self.rng.random_range(2..=12) } else { 1 },
            change: None,
        };
        match self.rng.random::<f64>() {
            r if r < 0.15 => p.trial_days = Some(14),
            r if r < 0.22 => {
                p.trial_days = Some(14);
                p.lapses = true;
            }
            r if r < 0.32 => p.cancel_on = Some(self.day_between(noon(start) + 40 * 86_400, AS_OF - 5 * 86_400)),
            r if r < 0.38 => p.cancel_at_period_end = true,
            r if r < 0.42 => p.past_due = true,
            _ => {}
        }
        p.coupon = match self.rng.random_range(0..10) {
            0 => Some("forever20"),
            1 => Some("save5"),
            2 => Some("first50"),
            _ => None,
        };
        // One in five monthly or annual subscriptions without a trial changes mid-cycle: to
        // another tier (an upgrade or a downgrade) or another quantity.
        let old_enough = (date(AS_OF) - start).num_days() > 75;
        if every != Every::Week && p.trial_days.is_none() && old_enough && self.rng.random_bool(0.2) {
            let span = (date(AS_OF) - start).num_days() - 10;
            let at = self.rng.random_range(35..span.max(36));
            let tier = self.rng.random_range(0..3);
            let quantity = if self.rng.random_bool(0.5) { p.quantity } else { self.rng.random_range(1..=8) };
            p.change = Some((at, tier, quantity));
        }
        p
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        kind: &'static str,
        sub: &Subscription,
        amount: i64,
        unit: i64,
        quantity: i64,
        rate: Option<&'static str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> LineItem {
        let id = self.id();
        LineItem {
            id,
            kind,
            origin: "plan",
            subscription_id: Some(sub.id.clone()),
            plan: Some((sub.plan.id.clone(), sub.plan.code.clone())),
            description: sub.plan.name.clone(),
            amount,
            unit_amount: unit,
            quantity,
            proration_rate: rate,
            start_date: noon(from),
            end_date: Some(noon(to)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn invoice(
        &mut self,
        account: &Account,
        parent: Ix,
        sub: Option<&str>,
        origin: &'static str,
        state: &str,
        currency: &'static str,
        discount: i64,
        lines: Vec<LineItem>,
        at: i64,
    ) {
        let id = self.id();
        self.invoice_number += 1;
        let gross: i64 = lines.iter().map(|l| l.amount).sum::<i64>() - discount;
        let tax = if matches!(currency, "EUR" | "GBP") && gross > 0 { gross / 5 } else { 0 };
        let paid = state == "paid";
        self.ledger.push(
            RecordKey::new(RECURLY, "invoices", id.clone()),
            Meaning::Rules { steps: rules::recurly_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        self.data.invoices.push(Invoice {
            id,
            number: self.invoice_number.to_string(),
            account_id: account.id.clone(),
            subscription_ids: sub.map(|s| vec![s.to_owned()]).unwrap_or_default(),
            kind: "charge",
            origin,
            state: state.to_owned(),
            currency,
            discount,
            tax,
            lines,
            created_at: at,
            updated_at: if paid { at + 3_600 } else { at },
            due_at: at,
            closed_at: paid.then_some(at + 3_600),
        });
    }

    /// A subscription of `account` on `p`, its invoices and its revenue terms.
    fn subscription(&mut self, account: &Account, parent: Ix, currency: &'static str, tier: usize, p: &SubPlan) {
        let plan = self.plan_of(tier, p.every);
        let price = |plan: &Plan| plan.currencies.iter().find(|(c, _)| *c == currency).map_or(0, |(_, a)| *a);
        let unit = price(&plan);
        let every = every_of(&plan);
        let today = date(AS_OF);
        let trial = p.trial_days.map(|d| (p.start, p.start + chrono::Duration::days(d)));
        let paid_from = trial.map_or(p.start, |(_, e)| e);
        let mut k = 0u32;
        while every.nth(paid_from, k + 1) <= today {
            k += 1;
        }
        let (mut state, mut expires, mut canceled_at) = ("active", None, None);
        let mut current = (every.nth(paid_from, k), every.nth(paid_from, k + 1));
        let mut ended = None;
        if p.lapses {
            let (_, end) = trial.unwrap_or((p.start, p.start));
            (state, expires, canceled_at, ended) = ("expired", Some(end), Some(end), Some(end));
            current = (p.start, end);
        } else if let Some(on) = p.cancel_on {
            let mut j = 0u32;
            while every.nth(paid_from, j + 1) <= on {
                j += 1;
            }
            let end = every.nth(paid_from, j + 1);
            canceled_at = Some(on);
            expires = Some(end);
            if end <= today {
                state = "expired";
                ended = Some(end);
                current = (every.nth(paid_from, j), end);
            } else {
                state = "canceled";
            }
        } else if p.cancel_at_period_end {
            state = "canceled";
            canceled_at = Some(today - chrono::Duration::days(3));
            expires = Some(current.1);
        } else if trial.is_some_and(|(_, e)| e > today) {
            current = trial.unwrap_or(current);
        }
        // The change, dated inside a billed period that is not the last one's start.
        let change = p.change.and_then(|(at, new_tier, quantity)| {
            let day = paid_from + chrono::Duration::days(at);
            let stop = ended.unwrap_or(today);
            let mut j = 0u32;
            while every.nth(paid_from, j + 1) <= day {
                j += 1;
            }
            let (from, to) = (every.nth(paid_from, j), every.nth(paid_from, j + 1));
            let new_plan = self.plan_of(new_tier, p.every);
            let new_unit = price(&new_plan);
            let differs = new_unit != unit || quantity != p.quantity;
            (day > from && day < to && day < stop && differs)
                .then_some((day, j, from, to, new_plan, new_unit, quantity))
        });
        let id = self.id();
        let key = RecordKey::new(RECURLY, "subscriptions", id.clone());
        self.ledger.push(
            key.clone(),
            Meaning::Rules { steps: rules::recurly_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        let coupon = p.coupon.map(|c| match c {
            "save5" => self.coupon_of(&format!("save5-{}", currency.to_lowercase())),
            other => self.coupon_of(other),
        });
        let discount_until = coupon
            .as_ref()
            .and_then(|c| c.temporal_months)
            .map(|m| paid_from.checked_add_months(Months::new(m)).unwrap_or(paid_from));
        let off = coupon.as_ref().and_then(|c| {
            let off = match c.off {
                CouponOff::Percent(p) => Off::Percent(p * 100),
                CouponOff::Fixed(_, a) => Off::Amount(a),
            };
            match c.duration {
                "single_use" => None,
                "forever" => Some((off, None)),
                _ => Some((off, discount_until)),
            }
        });
        let served_until = if state == "canceled" { expires } else { ended };
        let (final_plan, final_unit, final_quantity) = match &change {
            Some((_, _, _, _, np, nu, q)) => (np.clone(), *nu, *q),
            None => (plan.clone(), unit, p.quantity),
        };
        self.terms.push(Terms {
            subscription: key,
            currency,
            unit_amount: unit,
            quantity: p.quantity,
            every,
            start: p.start,
            end: served_until,
            trial,
            trialing: trial.is_some_and(|(_, e)| e > today) && !p.lapses,
            metered: false,
            discount: off,
            changes: change
                .iter()
                .map(|(day, ..)| Change { from: *day, unit_amount: final_unit, quantity: final_quantity })
                .collect(),
        });
        let last_touch = [Some(current.0), canceled_at, change.as_ref().map(|c| c.0), ended]
            .into_iter()
            .flatten()
            .map(noon)
            .max()
            .unwrap_or(noon(p.start))
            .min(AS_OF - 60);
        let redemption = coupon.as_ref().map(|c| Redemption {
            id: format!("r{}", &c.id[1..]),
            coupon: c.clone(),
            state: match c.duration {
                "single_use" => "inactive",
                "temporal" if discount_until.is_some_and(|u| u <= today) => "inactive",
                _ => "active",
            },
            created_at: noon(paid_from),
        });
        let sub = Subscription {
            id: id.clone(),
            uuid: format!("{:0>32}", id),
            account_id: account.id.clone(),
            plan: final_plan,
            state: state.to_owned(),
            currency,
            unit_amount: final_unit,
            quantity: final_quantity,
            redemptions: redemption.into_iter().collect(),
            current_period_started_at: noon(current.0),
            current_period_ends_at: noon(current.1),
            trial_started_at: trial.map(|(a, _)| noon(a)),
            trial_ends_at: trial.map(|(_, b)| noon(b)),
            auto_renew: state == "active",
            remaining_billing_cycles: None,
            activated_at: Some(noon(p.start)),
            canceled_at: canceled_at.map(noon),
            expires_at: expires.map(noon),
            created_at: noon(p.start),
            updated_at: last_touch,
        };
        // An invoice per billed period, and the proration invoice of a change.
        let still_trialing = trial.is_some_and(|(_, e)| e > today);
        if !still_trialing && !p.lapses {
            let mut j = 0u32;
            loop {
                let (from, to) = (every.nth(paid_from, j), every.nth(paid_from, j + 1));
                if from > today || ended.is_some_and(|e| from >= e) {
                    break;
                }
                let (u, q) = match &change {
                    Some((_, cj, ..)) if j > *cj => (final_unit, final_quantity),
                    _ => (unit, p.quantity),
                };
                let gross = u * q;
                let disc = match (&coupon, off) {
                    (Some(c), _) if c.duration == "single_use" && j == 0 => match c.off {
                        CouponOff::Percent(pc) => gross * i64::from(pc) / 100,
                        CouponOff::Fixed(_, a) => a.min(gross),
                    },
                    (Some(_), Some((o, until))) if until.is_none_or(|u| from < u) => match o {
                        Off::Percent(bp) => gross * i64::from(bp) / 10_000,
                        Off::Amount(a) => a.min(gross),
                    },
                    _ => 0,
                };
                let last = every.nth(paid_from, j + 1) > today;
                let invoice_state = if last && p.past_due { "past_due" } else { "paid" };
                let line = self.line("charge", &sub, gross, u, q, None, from, to);
                let origin = if j == 0 { "purchase" } else { "renewal" };
                self.invoice(
                    account,
                    parent,
                    Some(&id),
                    origin,
                    invoice_state,
                    currency,
                    disc,
                    vec![line],
                    noon(from) + 3_600,
                );
                if let Some((day, cj, cfrom, cto, _, nu, nq)) = &change
                    && *cj == j
                {
                    // Credit the old price's unused days, charge the new one's, from the change day.
                    let (left, days) = ((*cto - *day).num_days(), (*cto - *cfrom).num_days());
                    let share = |amount: i64| (i128::from(amount) * i128::from(left) / i128::from(days)) as i64;
                    let credit = self.line(
                        "credit",
                        &sub,
                        -share(unit * p.quantity),
                        unit,
                        p.quantity,
                        Some("prorated"),
                        *day,
                        *cto,
                    );
                    let charge = self.line("charge", &sub, share(nu * nq), *nu, *nq, Some("prorated"), *day, *cto);
                    self.invoice(
                        account,
                        parent,
                        Some(&id),
                        "immediate_change",
                        "paid",
                        currency,
                        0,
                        vec![credit, charge],
                        noon(*day),
                    );
                }
                j += 1;
            }
        }
        self.data.subscriptions.push(sub);
    }

    /// A one-off invoice (an onboarding fee): not recurring.
    fn one_off(&mut self, account: &Account, parent: Ix, currency: &'static str) {
        let day = self.day_between(account.created_at + 86_400, AS_OF - 86_400);
        let id = self.id();
        let line = LineItem {
            id,
            kind: "charge",
            origin: "one_time",
            subscription_id: None,
            plan: None,
            description: "Onboarding".into(),
            amount: 50_000,
            unit_amount: 50_000,
            quantity: 1,
            proration_rate: None,
            start_date: noon(day),
            end_date: None,
        };
        self.invoice(account, parent, None, "purchase", "paid", currency, 0, vec![line], noon(day));
    }
}

/// What the seed made.
pub(crate) struct Seeded {
    pub data: RecurlyData,
    /// Each subscription's revenue terms.
    pub terms: Vec<Terms>,
    /// Each org's records, in `orgs` order.
    pub records: Vec<Vec<Ix>>,
    /// The account code each org's Salesforce account stores (`Billing_Account_ID__c`).
    pub codes: Vec<Option<String>>,
}

/// Makes the site's records and records their meanings in `ledger`; `holders` are the orgs'
/// Salesforce account records.
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], holders: &[Ix], ledger: &mut Ledger) -> Seeded {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x0052_4543_5552_4c59),
        ledger,
        data: RecurlyData::default(),
        terms: Vec::new(),
        base: (seed % 1000) * 10_000,
        seq: 0,
        invoice_number: 1_000,
    };
    s.catalog();
    let mut per_org = vec![Vec::new(); orgs.len()];
    let mut codes = vec![None; orgs.len()];
    let solo = (orgs.len() / 100).max(1);
    let mut k = 0usize;
    for (o, org) in orgs.iter().map(Some).enumerate().chain((0..solo).map(|_| (usize::MAX, None))) {
        if org.is_some_and(|g| !g.customer || !s.rng.random_bool(0.2)) {
            continue;
        }
        k += 1;
        let mut code = None;
        let (account, aix) = s.account(org, org.map(|_| holders[o]), k, &mut code);
        let first = s.ledger.len() as Ix;
        let currency = match s.rng.random_range(0..20) {
            0..=11 => "USD",
            12..=14 => "EUR",
            15..=17 => "GBP",
            _ => "JPY",
        };
        let tier = s.rng.random_range(0..3);
        if s.rng.random_bool(0.08) {
            // A reactivation: a monthly subscription that expired at a period end, and months
            // later a new one.
            let mut old = s.sub_plan(account.created_at);
            (old.every, old.trial_days, old.lapses, old.cancel_at_period_end, old.past_due, old.change) =
                (Every::Month, None, false, false, false, None);
            let on = s.day_between(noon(old.start) + 40 * 86_400, AS_OF - 150 * 86_400);
            old.cancel_on = Some(on);
            s.subscription(&account, aix, currency, tier, &old);
            let ended = s.terms.last().and_then(|t| t.end).unwrap_or(on);
            let mut again = s.sub_plan(noon(ended) + 75 * 86_400);
            (again.trial_days, again.lapses, again.cancel_on, again.change) = (None, false, None, None);
            if again.start > ended + chrono::Duration::days(60) && again.start < date(AS_OF - 20 * 86_400) {
                s.subscription(&account, aix, currency, tier, &again);
            }
        } else {
            let plan = s.sub_plan(account.created_at);
            s.subscription(&account, aix, currency, tier, &plan);
        }
        if s.rng.random_bool(0.1) {
            // Extra seats on a subscription of their own, given up at a period end.
            let mut seats = s.sub_plan(account.created_at);
            (seats.every, seats.trial_days, seats.lapses, seats.cancel_at_period_end, seats.past_due) =
                (Every::Month, None, false, false, false);
            (seats.coupon, seats.change) = (None, None);
            seats.cancel_on = Some(s.day_between(noon(seats.start) + 40 * 86_400, AS_OF - 5 * 86_400));
            s.subscription(&account, aix, currency, 0, &seats);
        }
        if s.rng.random_bool(0.1) {
            s.one_off(&account, aix, currency);
        }
        if account.state == "inactive" {
            // Deactivated: its live subscriptions expired then.
            let gone = account.deleted_at.unwrap_or(AS_OF);
            for sub in s.data.subscriptions.iter_mut().filter(|x| x.account_id == account.id) {
                if matches!(sub.state.as_str(), "active" | "canceled") {
                    sub.state = "expired".into();
                    sub.expires_at = Some(gone);
                    sub.canceled_at.get_or_insert(gone);
                    sub.auto_renew = false;
                    sub.updated_at = gone;
                }
            }
        }
        s.data.accounts.push(account);
        if let Some(i) = (o != usize::MAX).then_some(o) {
            per_org[i].push(aix);
            per_org[i].extend(first..s.ledger.len() as Ix);
            codes[i] = code;
        }
    }
    let Seeder { mut data, terms, .. } = s;
    data.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    data.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    data.invoices.sort_by(|a, b| a.id.cmp(&b.id));
    Seeded { data, terms, records: per_org, codes }
}
