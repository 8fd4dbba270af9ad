//! The generated company's Zuora tenant, and the revenue it must show.
//!
//! A fifth of the System of Record's customers that have no Recurly account code in the SOR
//! (chosen by this seed's own ChaCha8 stream, so every other system's data stays as it was) have
//! a Zuora billing account. For three in five the tenant stored accord's account id in the
//! custom field `AccountId__c`; for the others the company stored the Zuora `Account.Id` in the
//! Salesforce account (`Billing_Account_ID__c`, the accounts' `billing_account_id`: the Zuora
//! plug-in for Salesforce), so the account links by its id. One account in a hundred belongs to
//! a billing-only customer no system knows (`unknown_account`, and so are its subscriptions and
//! invoices), and a few accounts were cancelled before accord first read the tenant
//! (`Status = Canceled`: tombstones; their subscriptions were cancelled then, and link nowhere).
//!
//! Each subscription has one rate plan with one recurring charge, billed monthly (`Month`),
//! quarterly (`Quarter`, three monthly prices) or annually (`Annual`, ten monthly prices), in
//! USD, EUR, GBP or JPY. Subscriptions: evergreen ones and termed annual ones that renew,
//! cancellations effective at a period end, reactivations (a cancelled subscription and a new
//! one months later), past-due last invoices, one-off invoices (an item on no subscription), and
//! mid-cycle upgrades and downgrades: the charge's first segment ends on the change day and a
//! second segment (`IsLastSegment`) carries the new price or quantity ([`Change`]); the period's
//! invoice credits the old price's unused days and charges the new one from that day (its
//! positive item is what `billed_from` reads), and later periods bill the new price. Every billed
//! period has an invoice. A quarterly price's MRR truth is its monthly third (`Every::Month`
//! with a third of the price; the prices are multiples of three, so the figure is exact).
//!
//! Left out, as Zuora has no such thing or accord reads none: trials (a Zuora subscription has
//! no trial period; a free first period is a discount or a product choice), and discounts (a
//! discount charge's `DiscountPercentage` is not read into the typed subscription yet, so none
//! is seeded). Zuora's own `MRR` of each charge is its price per month; one active
//! subscription's figure is planted a unit of currency off, so `accord doctor` lists it.

use chrono::{Datelike, Months, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Account, Invoice, InvoiceItem, RatePlan, RatePlanCharge, Subscription, ZuoraData, zuora_id};
use crate::billing::{Change, Every, SeedOrg, Terms, date, noon};
use crate::generate::AS_OF;
use crate::truth::{Gone, Ix, Key, Ledger, Plan as Meaning, RecordKey, ZUORA, rules};

/// Monthly prices by currency and tier, minor units (quarterly is three of them, annual ten).
const CURRENCIES: [(&str, [i64; 3]); 4] = [
    ("USD", [4_900, 9_900, 29_900]),
    ("EUR", [4_500, 8_900, 27_900]),
    ("GBP", [3_900, 7_900, 23_900]),
    ("JPY", [5_000, 12_000, 38_000]),
];
const TIERS: [&str; 3] = ["Starter", "Professional", "Enterprise"];

/// A billing period as Zuora names it, with the generator's interval and price multiple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Month,
    Quarter,
    Annual,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Month => "Month",
            Period::Quarter => "Quarter",
            Period::Annual => "Annual",
        }
    }

    /// Months per period.
    fn months(self) -> u32 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
            Period::Annual => 12,
        }
    }

    /// The price of a period from the monthly list price.
    fn price(self, monthly: i64) -> i64 {
        match self {
            Period::Month => monthly,
            Period::Quarter => 3 * monthly,
            Period::Annual => 10 * monthly,
        }
    }

    /// The start of period `k` after `anchor`.
    fn nth(self, anchor: NaiveDate, k: u32) -> NaiveDate {
        anchor.checked_add_months(Months::new(self.months() * k)).unwrap_or(anchor)
    }

    /// How the truth counts it: `(every, unit per that interval)`.
    fn truth(self, price: i64) -> (Every, i64) {
        match self {
            Period::Month => (Every::Month, price),
            Period::Quarter => (Every::Month, price / 3),
            Period::Annual => (Every::Year, price),
        }
    }
}

/// Zuora's `MRR` of a charge billing `price` × `quantity` each period: exact decimal text
/// (an annual price's twelfth is cut to nine places, as Zuora shows it).
fn mrr_text(price: i64, quantity: i64, period: Period, currency: &str) -> String {
    let e = super::model::exponent(currency);
    let total = i128::from(price) * i128::from(quantity);
    // Nine decimals of the major unit.
    let scaled = total * 10i128.pow(9 - e) / i128::from(period.months());
    let (int, frac) = (scaled / 1_000_000_000, scaled % 1_000_000_000);
    let frac = format!("{frac:09}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

struct SubPlan {
    period: Period,
    tier: usize,
    quantity: i64,
    start: NaiveDate,
    termed: bool,
    /// Cancelled on this day, effective at the period end it falls in.
    cancel_on: Option<NaiveDate>,
    past_due: bool,
    /// A mid-cycle change: this many days after the start, to this tier and quantity.
    change: Option<(i64, usize, i64)>,
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: ZuoraData,
    terms: Vec<Terms>,
    base: u64,
    seq: u64,
    invoice_number: u64,
    subscription_number: u64,
    charge_number: u64,
}

impl Seeder<'_> {
    fn id(&mut self) -> String {
        self.seq += 1;
        zuora_id(self.base + self.seq)
    }

    fn day_between(&mut self, from: i64, until: i64) -> NaiveDate {
        let (a, b) = (date(from), date(until));
        let span = (b - a).num_days().max(1);
        let d = a + chrono::Duration::days(self.rng.random_range(0..span));
        if d.day() > 28 { d.with_day(28).unwrap_or(d) } else { d }
    }

    fn price(currency: &str, tier: usize) -> i64 {
        CURRENCIES.iter().find(|(c, _)| *c == currency).map_or(0, |(_, p)| p[tier])
    }

    fn sub_plan(&mut self, after: i64) -> SubPlan {
        let period = match self.rng.random_range(0..10) {
            0 | 1 => Period::Annual,
            2 | 3 => Period::Quarter,
            _ => Period::Month,
        };
        let start = self.day_between(after.max(AS_OF - 700 * 86_400), AS_OF - 20 * 86_400);
        let mut p = SubPlan {
            period,
            tier: self.rng.random_range(0..3),
            quantity: if self.rng.random_bool(0.3) { self.rng.random_range(2..=12) } else { 1 },
            start,
            termed: period == Period::Annual && self.rng.random_bool(0.5),
            cancel_on: None,
            past_due: false,
            change: None,
        };
        match self.rng.random::<f64>() {
            r if r < 0.12 => p.cancel_on = Some(self.day_between(noon(start) + 40 * 86_400, AS_OF - 5 * 86_400)),
            r if r < 0.17 => p.past_due = true,
            _ => {}
        }
        let old_enough = (date(AS_OF) - start).num_days() > 100;
        if period != Period::Annual && old_enough && self.rng.random_bool(0.2) {
            let span = (date(AS_OF) - start).num_days() - 10;
            let at = self.rng.random_range(35..span.max(36));
            let tier = self.rng.random_range(0..3);
            let quantity = if self.rng.random_bool(0.5) { p.quantity } else { self.rng.random_range(1..=8) };
            p.change = Some((at, tier, quantity));
        }
        p
    }

    #[allow(clippy::too_many_arguments)]
    fn item(
        &mut self,
        invoice: &str,
        sub: Option<&str>,
        charge: Option<&str>,
        name: &str,
        currency: &str,
        amount: i64,
        unit: i64,
        quantity: i64,
        from: NaiveDate,
        to_exclusive: NaiveDate,
        at: i64,
    ) -> InvoiceItem {
        InvoiceItem {
            id: self.id(),
            invoice_id: invoice.to_owned(),
            subscription_id: sub.map(str::to_owned),
            rate_plan_charge_id: charge.map(str::to_owned),
            charge_name: name.to_owned(),
            processing_type: 0,
            service_start: from,
            service_end: to_exclusive.pred_opt().unwrap_or(to_exclusive),
            currency: currency.to_owned(),
            charge_amount: amount,
            unit_price: unit,
            quantity,
            created: at,
            updated: at,
        }
    }

    /// An invoice of `account` holding `items` (made by `make` with the invoice's id).
    fn invoice(
        &mut self,
        account: &Account,
        parent: Ix,
        day: NaiveDate,
        unpaid: bool,
        make: impl FnOnce(&mut Self, &str, i64) -> Vec<InvoiceItem>,
    ) {
        let id = self.id();
        let at = noon(day) + 3_600;
        let items = make(self, &id, at);
        self.invoice_number += 1;
        let currency = account.currency.clone();
        let gross: i64 = items.iter().map(|i| i.charge_amount).sum();
        let tax = if matches!(currency.as_str(), "EUR" | "GBP") && gross > 0 { gross / 5 } else { 0 };
        self.ledger.push(
            RecordKey::new(ZUORA, "invoices", id.clone()),
            Meaning::Rules { steps: rules::zuora_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        self.data.invoices.push(Invoice {
            id,
            account_id: account.id.clone(),
            number: format!("INV{:08}", self.invoice_number),
            date: day,
            due: day + chrono::Duration::days(30),
            currency,
            amount: gross + tax,
            tax,
            balance: if unpaid { gross + tax } else { 0 },
            status: "Posted".into(),
            created: at,
            updated: if unpaid { at } else { at + 86_400 },
        });
        self.data.invoice_items.extend(items);
    }

    #[allow(clippy::too_many_arguments)]
    fn charge(
        &mut self,
        plan: &str,
        name: &str,
        period: Period,
        currency: &str,
        price: i64,
        quantity: i64,
        from: NaiveDate,
        until: Option<NaiveDate>,
        segment: i64,
        last: bool,
        at: i64,
    ) -> RatePlanCharge {
        if segment == 1 {
            self.charge_number += 1;
        }
        RatePlanCharge {
            id: self.id(),
            rate_plan_id: plan.to_owned(),
            name: format!("{name} Subscription Fee"),
            charge_number: format!("C-{:08}", self.charge_number),
            charge_type: "Recurring".into(),
            charge_model: if quantity > 1 { "Per Unit Pricing" } else { "Flat Fee Pricing" }.into(),
            billing_period: period.name().into(),
            price,
            quantity,
            currency: currency.to_owned(),
            mrr: mrr_text(price, quantity, period, currency),
            effective_start: from,
            effective_end: until,
            segment,
            is_last_segment: last,
            created: at,
            updated: at,
        }
    }

    /// A subscription of `account` on `p`, its rate plan, charge segments, invoices and terms.
    fn subscription(&mut self, account: &Account, parent: Ix, p: &SubPlan) {
        let currency: &'static str =
            CURRENCIES.iter().map(|(c, _)| *c).find(|c| *c == account.currency).unwrap_or("USD");
        let period = p.period;
        let unit = period.price(Self::price(currency, p.tier));
        let today = date(AS_OF);
        // The cancellation takes effect at the end of the period holding its day.
        let end = p.cancel_on.map(|on| {
            let mut j = 0u32;
            while period.nth(p.start, j + 1) <= on {
                j += 1;
            }
            period.nth(p.start, j + 1)
        });
        let end = end.filter(|e| *e <= today);
        let stop = end.unwrap_or(today);
        let change = p.change.and_then(|(at, tier, quantity)| {
            let day = p.start + chrono::Duration::days(at);
            let mut j = 0u32;
            while period.nth(p.start, j + 1) <= day {
                j += 1;
            }
            let (from, to) = (period.nth(p.start, j), period.nth(p.start, j + 1));
            let new_unit = period.price(Self::price(currency, tier));
            let differs = new_unit != unit || quantity != p.quantity;
            (day > from && day < to && day < stop && differs).then_some((day, j, from, to, tier, new_unit, quantity))
        });
        let id = self.id();
        let key = RecordKey::new(ZUORA, "subscriptions", id.clone());
        self.ledger.push(
            key.clone(),
            Meaning::Rules { steps: rules::zuora_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        let (every, truth_unit) = period.truth(unit);
        self.terms.push(Terms {
            subscription: key,
            currency,
            unit_amount: truth_unit,
            quantity: p.quantity,
            every,
            start: p.start,
            end,
            trial: None,
            trialing: false,
            metered: false,
            discount: None,
            changes: change
                .iter()
                .map(|(day, _, _, _, _, nu, nq)| Change { from: *day, unit_amount: period.truth(*nu).1, quantity: *nq })
                .collect(),
        });
        let mut j = 0u32;
        while period.nth(p.start, j + 1) <= today {
            j += 1;
        }
        let term_start = if p.termed {
            let mut t = p.start;
            while t.checked_add_months(Months::new(12)).is_some_and(|n| n <= stop) {
                t = t.checked_add_months(Months::new(12)).unwrap_or(t);
            }
            t
        } else {
            p.start
        };
        let last_touch = [Some(p.start), p.cancel_on.filter(|_| end.is_some()), change.as_ref().map(|c| c.0)]
            .into_iter()
            .flatten()
            .map(noon)
            .max()
            .unwrap_or(noon(p.start))
            .min(AS_OF - 60);
        let created = noon(p.start);
        self.subscription_number += 1;
        let sub = Subscription {
            id: id.clone(),
            account_id: account.id.clone(),
            name: format!("A-S{:08}", self.subscription_number),
            status: if end.is_some() { "Cancelled" } else { "Active" }.into(),
            term_type: if p.termed { "TERMED" } else { "EVERGREEN" }.into(),
            auto_renew: p.termed && end.is_none(),
            start: p.start,
            end,
            term_start,
            term_end: p.termed.then(|| term_start.checked_add_months(Months::new(12)).unwrap_or(term_start)),
            cancelled: p.cancel_on.filter(|_| end.is_some()),
            created,
            updated: last_touch,
        };
        let plan_id = self.id();
        let plan_name = format!("{} {}", TIERS[p.tier], period.name());
        self.data.rate_plans.push(RatePlan {
            id: plan_id.clone(),
            subscription_id: id.clone(),
            name: plan_name.clone(),
            created,
            updated: last_touch,
        });
        let first = self.charge(
            &plan_id,
            &plan_name,
            period,
            currency,
            unit,
            p.quantity,
            p.start,
            change.as_ref().map(|c| c.0).or(end),
            1,
            change.is_none(),
            created,
        );
        let second = change.as_ref().map(|(day, _, _, _, tier, nu, nq)| {
            let name = format!("{} {}", TIERS[*tier], period.name());
            self.charge(&plan_id, &name, period, currency, *nu, *nq, *day, end, 2, true, noon(*day))
        });
        // An invoice per billed period, and the proration invoice of a change.
        let mut k = 0u32;
        loop {
            let (from, to) = (period.nth(p.start, k), period.nth(p.start, k + 1));
            if from > today || end.is_some_and(|e| from >= e) {
                break;
            }
            let seg = match (&change, &second) {
                (Some((_, cj, ..)), Some(s)) if k > *cj => s.clone(),
                _ => first.clone(),
            };
            let unpaid = p.past_due && to > today;
            let sub_id = id.clone();
            self.invoice(account, parent, from, unpaid, |s, inv, at| {
                let amount = seg.price * seg.quantity;
                vec![s.item(
                    inv,
                    Some(&sub_id),
                    Some(&seg.id),
                    &seg.name,
                    currency,
                    amount,
                    seg.price,
                    seg.quantity,
                    from,
                    to,
                    at,
                )]
            });
            if let (Some((day, cj, cfrom, cto, _, nu, nq)), Some(new)) = (&change, &second)
                && *cj == k
            {
                let (left, days) = ((*cto - *day).num_days(), (*cto - *cfrom).num_days());
                let share = |amount: i64| (i128::from(amount) * i128::from(left) / i128::from(days)) as i64;
                let (old, new, day, cto, nu, nq) = (first.clone(), new.clone(), *day, *cto, *nu, *nq);
                let sub_id = id.clone();
                self.invoice(account, parent, day, false, |s, inv, at| {
                    vec![
                        s.item(
                            inv,
                            Some(&sub_id),
                            Some(&old.id),
                            &old.name,
                            currency,
                            -share(old.price * old.quantity),
                            old.price,
                            old.quantity,
                            day,
                            cto,
                            at,
                        ),
                        s.item(
                            inv,
                            Some(&sub_id),
                            Some(&new.id),
                            &new.name,
                            currency,
                            share(nu * nq),
                            nu,
                            nq,
                            day,
                            cto,
                            at,
                        ),
                    ]
                });
            }
            k += 1;
        }
        self.data.charges.push(first);
        self.data.charges.extend(second);
        self.data.subscriptions.push(sub);
    }

    /// A one-off invoice (an onboarding fee): an item on no subscription.
    fn one_off(&mut self, account: &Account, parent: Ix) {
        let day = self.day_between(account.created + 86_400, AS_OF - 86_400);
        // 500.00, or ¥50,000.
        let fee = 50_000;
        let currency = account.currency.clone();
        self.invoice(account, parent, day, false, |s, inv, at| {
            vec![s.item(
                inv,
                None,
                None,
                "Onboarding",
                &currency,
                fee,
                fee,
                1,
                day,
                day + chrono::Duration::days(1),
                at,
            )]
        });
    }
}

/// What the seed made.
pub(crate) struct Seeded {
    pub data: ZuoraData,
    pub terms: Vec<Terms>,
    /// Each org's records, in `orgs` order.
    pub records: Vec<Vec<Ix>>,
    /// The Zuora `Account.Id` each org's Salesforce account stores (`Billing_Account_ID__c`).
    pub ids: Vec<Option<String>>,
    /// The subscription whose charge's `MRR` was planted off its price.
    pub mrr_plant: Option<String>,
}

/// Makes the tenant's records and records their meanings in `ledger`; `holders` are the orgs'
/// Salesforce account records, `taken` the orgs whose `Billing_Account_ID__c` already holds a
/// Recurly code.
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], holders: &[Ix], taken: &[bool], ledger: &mut Ledger) -> Seeded {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x005A_554F_5241_0011),
        ledger,
        data: ZuoraData::default(),
        terms: Vec::new(),
        base: (seed % 1000) * 100_000 + 7_000_000_000,
        seq: 0,
        invoice_number: 0,
        subscription_number: 0,
        charge_number: 0,
    };
    let mut per_org = vec![Vec::new(); orgs.len()];
    let mut ids = vec![None; orgs.len()];
    let solo = (orgs.len() / 100).max(1);
    let mut k = 0u64;
    for (o, org) in orgs.iter().map(Some).enumerate().chain((0..solo).map(|_| (usize::MAX, None))) {
        if org.is_some_and(|g| !g.customer || taken[o] || !s.rng.random_bool(0.2)) {
            continue;
        }
        k += 1;
        let id = s.id();
        let created = match org {
            Some(g) => noon(s.day_between(g.created + 86_400, AS_OF - 400 * 86_400)),
            None => noon(s.day_between(AS_OF - 700 * 86_400, AS_OF - 400 * 86_400)),
        };
        let custom = org.is_some() && s.rng.random_bool(0.6);
        let stored = org.is_some() && !custom;
        // A few, and at least one in any company.
        let cancelled = org.is_some() && (s.rng.random_bool(0.03) || k == 3);
        let field_key = match (custom, org) {
            (true, Some(g)) => Some(Key::Account(g.account)),
            _ => None,
        };
        let id_key = if stored { Key::Billing(holders[o]) } else { Key::NoAccount };
        let aix = s.ledger.push(
            RecordKey::new(ZUORA, "accounts", id.clone()),
            Meaning::Rules { steps: rules::zuora_account(field_key, Some(id_key)), email: None },
            if cancelled { Gone::BeforeFirstSync } else { Gone::Live },
        );
        let currency = match s.rng.random_range(0..20) {
            0..=11 => "USD",
            12..=14 => "EUR",
            15..=17 => "GBP",
            _ => "JPY",
        };
        let account = Account {
            id: id.clone(),
            account_number: format!("A{:08}", k),
            name: org.map_or_else(|| format!("Solo Subscriber {k}"), |g| g.name.clone()),
            status: if cancelled { "Canceled" } else { "Active" }.into(),
            currency: currency.into(),
            account_id_c: custom.then(|| org.map(|g| g.account_id.clone()).unwrap_or_default()),
            work_email: None,
            created,
            updated: if cancelled { AS_OF - 20 * 86_400 } else { created + s.rng.random_range(0..200) * 86_400 },
        };
        let first = s.ledger.len() as Ix;
        if s.rng.random_bool(0.08) {
            // A reactivation: a monthly subscription cancelled at a period end, and months later
            // a new one.
            let mut old = s.sub_plan(account.created);
            (old.period, old.termed, old.past_due, old.change) = (Period::Month, false, false, None);
            old.cancel_on = Some(s.day_between(noon(old.start) + 40 * 86_400, AS_OF - 150 * 86_400));
            s.subscription(&account, aix, &old);
            let ended = s.terms.last().and_then(|t| t.end);
            if let Some(ended) = ended {
                let mut again = s.sub_plan(noon(ended) + 75 * 86_400);
                (again.cancel_on, again.change) = (None, None);
                if again.start > ended + chrono::Duration::days(60) && again.start < date(AS_OF - 20 * 86_400) {
                    s.subscription(&account, aix, &again);
                }
            }
        } else {
            let plan = s.sub_plan(account.created);
            s.subscription(&account, aix, &plan);
        }
        if s.rng.random_bool(0.1) {
            s.one_off(&account, aix);
        }
        if cancelled {
            // Cancelled: its live subscriptions were cancelled then.
            let gone = AS_OF - 20 * 86_400;
            for sub in s.data.subscriptions.iter_mut().filter(|x| x.account_id == account.id) {
                if sub.status == "Active" {
                    sub.status = "Cancelled".into();
                    sub.end = Some(date(gone));
                    sub.cancelled = Some(date(gone));
                    sub.auto_renew = false;
                    sub.updated = gone;
                }
            }
        }
        s.data.accounts.push(account);
        if let Some(i) = (o != usize::MAX).then_some(o) {
            per_org[i].push(aix);
            per_org[i].extend(first..s.ledger.len() as Ix);
            if stored {
                ids[i] = Some(id);
            }
        }
    }
    let Seeder { mut data, terms, .. } = s;
    // The planted disagreement: the first active subscription's charge reports a unit of its
    // currency more MRR than its price means.
    let live: std::collections::HashSet<&str> =
        data.accounts.iter().filter(|a| a.status == "Active").map(|a| a.id.as_str()).collect();
    let plant = data
        .subscriptions
        .iter()
        .filter(|x| x.status == "Active" && live.contains(x.account_id.as_str()))
        .map(|x| x.id.clone())
        .min();
    if let Some(sub) = &plant {
        let plans: Vec<String> =
            data.rate_plans.iter().filter(|p| &p.subscription_id == sub).map(|p| p.id.clone()).collect();
        if let Some(c) = data.charges.iter_mut().find(|c| plans.contains(&c.rate_plan_id) && c.is_last_segment) {
            c.mrr = plus_one(&c.mrr);
        }
    }
    data.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    data.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    data.invoices.sort_by(|a, b| a.id.cmp(&b.id));
    Seeded { data, terms, records: per_org, ids, mrr_plant: plant }
}

/// Decimal text plus one (`49` → `50`, `83.333333333` → `84.333333333`).
fn plus_one(text: &str) -> String {
    let (int, frac) = text.split_once('.').map_or((text, None), |(i, f)| (i, Some(f)));
    let n: i64 = int.parse().unwrap_or(0) + 1;
    frac.map_or_else(|| n.to_string(), |f| format!("{n}.{f}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrr_is_the_price_per_month_as_zuora_writes_it() {
        assert_eq!(mrr_text(4_900, 1, Period::Month, "USD"), "49");
        assert_eq!(mrr_text(14_700, 2, Period::Quarter, "USD"), "98");
        assert_eq!(mrr_text(99_000, 1, Period::Annual, "USD"), "82.5");
        assert_eq!(mrr_text(100_000, 1, Period::Annual, "USD"), "83.333333333");
        assert_eq!(mrr_text(50_000, 1, Period::Annual, "JPY"), "4166.666666666");
        assert_eq!(plus_one("83.333333333"), "84.333333333");
        assert_eq!(plus_one("49"), "50");
        assert_eq!(Period::Quarter.truth(14_700), (Every::Month, 4_900));
    }
}
