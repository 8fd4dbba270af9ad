//! The generated company's Maxio site, and the revenue it must show.
//!
//! A fifth of the System of Record's customer accounts (chosen by this module's own ChaCha8
//! stream, so every other system's data stays as it is) are Maxio customers: three in four carry
//! our account id as `reference`, the others only a person's email (linked through the email
//! where one account vouches for it); one in a hundred is a billing-only customer no system knows
//! (`unknown_account`, and so are its subscriptions and invoices). A few customers never
//! subscribed: some are still there, some were deleted before accord first synced (Maxio deletes
//! only customers without subscriptions).
//!
//! The site sells nine products: three tiers, each monthly (`1 month`), annual (`12 month`) and
//! weekly (`7 day`), priced in USD (the site's currency) and in EUR, GBP and JPY (price points'
//! currency prices). Subscriptions are in one of those currencies; some start with a trial that
//! converts, some with a trial that lapses (`trial_ended`), some were canceled at a period end
//! (`canceled`, or `expired` for fixed-term ones), some are set to cancel at the current one,
//! some are past due (their last invoice open), some customers canceled and subscribed again (a
//! reactivation), some carry a coupon (20% recurring for ever, 5.00 off the first three charges,
//! or 50% off the first charge only), and some moved to the next tier up or down mid-cycle
//! (`Terms.changes`): the price changes that day, and a proration invoice credits the rest of
//! the period at the old price and charges it at the new one. Every billed period has an
//! invoice; some customers have a one-off onboarding invoice. Quantities are 1: a Maxio product
//! is billed once a period (seats would be quantity-based components, which this site has none of).

use chrono::{Datelike, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Coupon, Customer, Invoice, Line, MaxioData, Product, SITE_CURRENCY, Subscription};
use crate::billing::{Change, Every, Off, SeedOrg, Terms, billing_contact, date, noon};
use crate::generate::AS_OF;
use crate::truth::{Gone, Ix, Key, Ledger, MAXIO, Plan, RecordKey, rules};

/// The price per month of each tier, in each currency (the site's first).
const CURRENCIES: [(&str, [i64; 3]); 4] = [
    ("USD", [4_900, 9_900, 29_900]),
    ("EUR", [4_500, 8_900, 27_900]),
    ("GBP", [3_900, 7_900, 23_900]),
    ("JPY", [5_000, 12_000, 38_000]),
];

const EVERY: [Every; 3] = [Every::Month, Every::Year, Every::Week];

/// A `uid` as Maxio writes them (`inv_` and base-36 digits), from the invoice's id.
pub fn invoice_uid(id: i64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = id.unsigned_abs();
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    format!("inv_{}", String::from_utf8(out).unwrap_or_default())
}

/// The id an invoice `uid` was made from.
pub fn invoice_id(uid: &str) -> Option<i64> {
    i64::from_str_radix(uid.strip_prefix("inv_")?, 36).ok()
}

/// The products: tier × interval, ids from `base`.
pub(crate) fn products(base: i64) -> Vec<Product> {
    let mut out = Vec::new();
    for tier in 0..3 {
        for (k, every) in EVERY.iter().enumerate() {
            let id = base + (tier * 3 + k) as i64 + 1;
            let (interval, unit, label, factor) = match every {
                Every::Month => (1, "month", "monthly", (1, 1)),
                Every::Year => (12, "month", "annual", (10, 1)),
                Every::Week => (7, "day", "weekly", (1, 4)),
            };
            let tier_name = ["Basic", "Pro", "Enterprise"][tier];
            out.push(Product {
                id,
                handle: format!("{}-{label}", tier_name.to_lowercase()),
                name: format!("{tier_name} ({label})"),
                interval,
                interval_unit: unit,
                price_point_id: id + 1000,
                prices: CURRENCIES.iter().map(|(c, p)| (*c, p[tier] * factor.0 / factor.1)).collect(),
                created: AS_OF - 900 * 86_400,
            });
        }
    }
    out
}

fn product_of(products: &[Product], tier: usize, every: Every) -> &Product {
    let k = EVERY.iter().position(|e| *e == every).unwrap_or(0);
    &products[tier * 3 + k]
}

/// `amount` × `part` / `whole`, rounded half up (`whole > 0`).
fn prorate(amount: i64, part: i64, whole: i64) -> i64 {
    let (n, d) = (i128::from(amount) * i128::from(part), i128::from(whole.max(1)));
    ((2 * n + d) / (2 * d)) as i64
}

/// Who a proration invoice is for.
pub(crate) struct Proration {
    pub id: i64,
    pub customer: i64,
    pub subscription: i64,
    pub currency: &'static str,
}

/// The invoice of a mid-cycle product change on `day` of the period `[from, to)`: a credit for
/// the rest of the period at the old price and a charge for it at the new one, both `baseline`.
pub(crate) fn proration(
    who: Proration,
    (old, old_price): (&Product, i64),
    (new, new_price): (&Product, i64),
    (from, day, to): (NaiveDate, NaiveDate, NaiveDate),
    created: i64,
) -> Invoice {
    let (whole, left) = ((to - from).num_days(), (to - day).num_days());
    let mut credit = super::product_line(format!("li_{}c", who.id), old, -prorate(old_price, left, whole), (day, to));
    credit.title = format!("Credit: {}", old.name);
    let charge = super::product_line(format!("li_{}p", who.id), new, prorate(new_price, left, whole), (day, to));
    let total: i64 = credit.subtotal() + charge.subtotal();
    let paid = total <= 0 || created < AS_OF;
    Invoice {
        uid: invoice_uid(who.id),
        id: who.id,
        customer: who.customer,
        subscription: who.subscription,
        number: who.id,
        created,
        updated: created,
        issue_date: date(created),
        due_date: date(created),
        paid_date: paid.then(|| date(created)),
        status: if paid { "paid" } else { "open" }.into(),
        currency: who.currency,
        lines: vec![credit, charge],
    }
}

/// What the generator decides about one subscription.
struct SubPlan {
    every: Every,
    tier: usize,
    start: NaiveDate,
    trial_days: Option<i64>,
    lapses: bool,
    cancel_on: Option<NaiveDate>,
    cancel_at_period_end: bool,
    past_due: bool,
    coupon: Option<(Off, Option<i64>, bool)>,
    /// Moves a tier up (+1) or down (−1) mid-cycle.
    change: Option<i32>,
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: MaxioData,
    terms: Vec<Terms>,
    base: i64,
    seq: i64,
}

impl Seeder<'_> {
    fn id(&mut self) -> i64 {
        self.seq += 1;
        self.base + self.seq
    }

    /// A day between `from` and `until` (exclusive), both Unix seconds, kept to the 28th.
    fn day_between(&mut self, from: i64, until: i64) -> NaiveDate {
        let (a, b) = (date(from), date(until));
        let span = (b - a).num_days().max(1);
        let d = a + chrono::Duration::days(self.rng.random_range(0..span));
        if d.day() > 28 { d.with_day(28).unwrap_or(d) } else { d }
    }

    fn customer(&mut self, org: Option<&SeedOrg>, k: usize) -> (Customer, Ix) {
        let id = self.id();
        let created = match org {
            Some(o) => noon(self.day_between(o.created + 86_400, AS_OF - 400 * 86_400)),
            None => noon(self.day_between(AS_OF - 700 * 86_400, AS_OF - 400 * 86_400)),
        };
        let (reference, person) = billing_contact(&mut self.rng, org);
        // Maxio requires an email: a customer without a person's gets a billing address of its own.
        let (email, email_key) = match person {
            Some((text, e)) => (text, e),
            None => {
                let text = format!("billing{k}@maxio{}.example", self.base / 1_000_000);
                let e = self.ledger.email(text.clone());
                (text, e)
            }
        };
        let steps = rules::maxio_customer(reference.map(Key::Account), Some(Key::Email(email_key)));
        let ix = self.ledger.push(
            RecordKey::new(MAXIO, "customers", id.to_string()),
            Plan::Rules { steps, email: Some(email_key) },
            Gone::Live,
        );
        let (first, last, organization) = match org {
            Some(o) => ("Accounts".to_owned(), "Payable".to_owned(), Some(o.name.clone())),
            None => ("Solo".to_owned(), format!("Buyer {k}"), None),
        };
        let reference = match (reference, org) {
            (Some(_), Some(o)) => Some(o.account_id.clone()),
            _ => None,
        };
        let c = Customer {
            id,
            first_name: first,
            last_name: last,
            email: Some(email),
            organization,
            reference,
            created,
            updated: created,
        };
        (c, ix)
    }

    fn plan(&mut self, after: i64, tier: usize) -> SubPlan {
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
            tier,
            start,
            trial_days: None,
            lapses: false,
            cancel_on: None,
            cancel_at_period_end: false,
            past_due: false,
            coupon: None,
            change: None,
        };
        match self.rng.random::<f64>() {
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
            r if r < 0.60 && every != Every::Week => {
                p.change = Some(match tier {
                    0 => 1,
                    2 => -1,
                    _ if self.rng.random_bool(0.5) => 1,
                    _ => -1,
                });
            }
            _ => {}
        }
        p.coupon = match self.rng.random_range(0..10) {
            0 => Some((Off::Percent(2_000), None, true)),
            1 => Some((Off::Amount(500), Some(3), true)),
            2 => Some((Off::Percent(5_000), None, false)),
            _ => None,
        };
        p
    }

    /// Makes a subscription of `customer` on `p`, its invoices, and its revenue terms.
    fn subscription(&mut self, customer: &Customer, parent: Ix, currency: &'static str, p: &SubPlan) {
        let products = self.data.products.clone();
        let product = product_of(&products, p.tier, p.every).clone();
        let unit = product.price(currency).unwrap_or_default();
        let every = p.every;
        let sub_id = self.id();
        let today = date(AS_OF);
        let trial = p.trial_days.map(|d| (p.start, p.start + chrono::Duration::days(d)));
        let paid_from = trial.map_or(p.start, |(_, e)| e);
        let mut k = 0u32;
        while every.nth(paid_from, k + 1) <= today {
            k += 1;
        }
        let (mut state, mut ended, mut canceled_at, mut expires_at) = ("active", None, None, None);
        let mut scheduled = p.cancel_at_period_end;
        let mut current = (every.nth(paid_from, k), every.nth(paid_from, k + 1));
        if p.lapses {
            let (_, end) = trial.unwrap_or((p.start, p.start));
            state = "trial_ended";
            ended = Some(end);
            current = (p.start, end);
        } else if let Some(on) = p.cancel_on {
            let mut j = 0u32;
            while every.nth(paid_from, j + 1) <= on {
                j += 1;
            }
            let end = every.nth(paid_from, j + 1);
            if end <= today {
                // A third of ended ones were fixed-term: they expired rather than canceled.
                if self.rng.random_bool(0.33) {
                    state = "expired";
                    expires_at = Some(end);
                } else {
                    state = "canceled";
                    canceled_at = Some(end);
                }
                ended = Some(end);
                current = (every.nth(paid_from, j), end);
            } else {
                scheduled = true;
            }
        } else if trial.is_some_and(|(_, e)| e > today) {
            state = "trialing";
            current = trial.unwrap_or(current);
        } else if p.past_due {
            state = "past_due";
        }
        let cancel_at_period_end = scheduled && state == "active";
        // A change on a day inside a paid period before today, at least a week into it.
        let change = match (p.change, state) {
            (Some(step), "active" | "past_due") if k >= 1 || (today - current.0).num_days() > 14 => {
                let (a, b) = if (today - current.0).num_days() > 14 {
                    current
                } else {
                    (every.nth(paid_from, k - 1), current.0)
                };
                let span = (b.min(today) - a).num_days();
                (span > 10).then(|| {
                    let day = a + chrono::Duration::days(self.rng.random_range(5..span - 3));
                    let tier = (p.tier as i32 + step) as usize;
                    (day, product_of(&products, tier, every).clone())
                })
            }
            _ => None,
        };
        let key = RecordKey::new(MAXIO, "subscriptions", sub_id.to_string());
        self.ledger.push(
            key.clone(),
            Plan::Rules { steps: rules::maxio_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
        let coupon = p.coupon.map(|(off, uses, recurring)| Coupon {
            code: match off {
                Off::Percent(bp) => format!("SAVE{}", bp / 100),
                Off::Amount(a) => format!("OFF{a}"),
            },
            percentage_bp: match off {
                Off::Percent(bp) => Some(bp),
                Off::Amount(_) => None,
            },
            amount_in_cents: match off {
                Off::Amount(a) => Some(a),
                Off::Percent(_) => None,
            },
            recurring,
            uses_allowed: uses,
            use_count: 0,
        });
        let served_until = if cancel_at_period_end { Some(current.1) } else { ended };
        let new_unit = change.as_ref().and_then(|(_, np)| np.price(currency));
        self.terms.push(Terms {
            subscription: key,
            currency,
            unit_amount: unit,
            quantity: 1,
            every,
            start: p.start,
            end: served_until,
            trial,
            trialing: state == "trialing",
            metered: false,
            discount: p.coupon.and_then(|(off, uses, recurring)| match (recurring, uses) {
                (false, _) => None,
                (true, None) => Some((off, None)),
                (true, Some(n)) => Some((off, Some(every.nth(paid_from, n as u32)))),
            }),
            changes: change
                .iter()
                .map(|(day, _)| Change { from: *day, unit_amount: new_unit.unwrap_or(unit), quantity: 1 })
                .collect(),
        });
        // An invoice per billed period, from the first paid one to the current one.
        let mut uses = 0i64;
        if state != "trialing" && !p.lapses {
            let mut j = 0u32;
            loop {
                let (from, to) = (every.nth(paid_from, j), every.nth(paid_from, j + 1));
                if from > today || ended.is_some_and(|e| from >= e) {
                    break;
                }
                let (billed, price) = match &change {
                    Some((day, np)) if *day <= from => (np, new_unit.unwrap_or(unit)),
                    _ => (&product, unit),
                };
                let applies = coupon.as_ref().is_some_and(|c| match (c.recurring, c.uses_allowed) {
                    (false, _) => j == 0,
                    (true, None) => true,
                    (true, Some(n)) => i64::from(j) < n,
                });
                let off = match (applies, &coupon) {
                    (true, Some(c)) => {
                        uses += 1;
                        match (c.percentage_bp, c.amount_in_cents) {
                            (Some(bp), _) => price * i64::from(bp) / 10_000,
                            (None, Some(a)) => a.min(price),
                            _ => 0,
                        }
                    }
                    _ => 0,
                };
                let id = self.id();
                let mut line = super::product_line(format!("li_{id}"), billed, price, (from, to));
                line.discount = off;
                line.tax = if currency == "EUR" || currency == "GBP" { (price - off) / 5 } else { 0 };
                let last = every.nth(paid_from, j + 1) > today;
                let open = last && state == "past_due";
                let created = noon(from) + 3_600;
                self.data.invoices.push(Invoice {
                    uid: invoice_uid(id),
                    id,
                    customer: customer.id,
                    subscription: sub_id,
                    number: id,
                    created,
                    updated: if open { created } else { created + 3_600 },
                    issue_date: from,
                    due_date: from,
                    paid_date: (!open).then_some(from),
                    status: if open { "open" } else { "paid" }.into(),
                    currency,
                    lines: vec![line],
                });
                self.ledger.push(
                    RecordKey::new(MAXIO, "invoices", invoice_uid(id)),
                    Plan::Rules { steps: rules::maxio_child(Some(Key::Record(parent))), email: None },
                    Gone::Live,
                );
                if let Some((day, np)) = &change
                    && from < *day
                    && *day < to
                {
                    let pid = self.id();
                    let created = noon(*day) + 1_800;
                    let inv = proration(
                        Proration { id: pid, customer: customer.id, subscription: sub_id, currency },
                        (&product, unit),
                        (np, new_unit.unwrap_or(unit)),
                        (from, *day, to),
                        created,
                    );
                    self.ledger.push(
                        RecordKey::new(MAXIO, "invoices", inv.uid.clone()),
                        Plan::Rules { steps: rules::maxio_child(Some(Key::Record(parent))), email: None },
                        Gone::Live,
                    );
                    self.data.invoices.push(inv);
                }
                j += 1;
            }
        }
        let (now_product, now_price) = match &change {
            Some((_, np)) => (np.id, new_unit.unwrap_or(unit)),
            None => (product.id, unit),
        };
        let created = noon(p.start);
        let changed = change.as_ref().map_or(created, |(day, _)| noon(*day) + 1_800);
        let last_event = [Some(changed), canceled_at.map(noon), expires_at.map(noon), ended.map(noon)]
            .into_iter()
            .flatten()
            .chain(std::iter::once(noon(current.0) + 3_600))
            .max()
            .unwrap_or(created)
            .min(AS_OF - 3_600);
        self.data.subscriptions.push(Subscription {
            id: sub_id,
            customer: customer.id,
            product: now_product,
            state: state.into(),
            currency,
            price_in_cents: now_price,
            created,
            updated: last_event.max(created),
            activated_at: (state != "trialing" && !p.lapses).then(|| noon(paid_from)),
            trial_started_at: trial.map(|(a, _)| noon(a)),
            trial_ended_at: trial.map(|(_, b)| noon(b)),
            current_period_started_at: noon(current.0),
            current_period_ends_at: noon(current.1),
            cancel_at_end_of_period: cancel_at_period_end,
            canceled_at: canceled_at
                .map(noon)
                .or_else(|| cancel_at_period_end.then_some(AS_OF - 3 * 86_400))
                .filter(|_| state != "expired"),
            expires_at: expires_at.map(noon),
            coupon: coupon.map(|mut c| {
                c.use_count = uses;
                c
            }),
            balance_in_cents: if state == "past_due" { now_price } else { 0 },
        });
    }

    /// A one-off onboarding charge on the customer's first subscription: not recurring.
    fn one_off(&mut self, customer: &Customer, parent: Ix, subscription: i64, currency: &'static str) {
        let day = self.day_between(customer.created + 86_400, AS_OF - 86_400);
        let id = self.id();
        self.data.invoices.push(Invoice {
            uid: invoice_uid(id),
            id,
            customer: customer.id,
            subscription,
            number: id,
            created: noon(day),
            updated: noon(day) + 3_600,
            issue_date: day,
            due_date: day,
            paid_date: Some(day),
            status: "paid".into(),
            currency,
            lines: vec![Line {
                uid: format!("li_{id}"),
                title: "Onboarding".into(),
                kind: "initial",
                quantity: 1,
                // ¥50,000 or 500.00 in the other currencies.
                unit_price: 50_000,
                discount: 0,
                tax: 0,
                // A one-off charge's period is its day.
                period: Some((day, day)),
                product_id: None,
                price_point_id: None,
            }],
        });
        self.ledger.push(
            RecordKey::new(MAXIO, "invoices", invoice_uid(id)),
            Plan::Rules { steps: rules::maxio_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
    }
}

/// Makes the site's records, records their meanings in `ledger`; returns the data, each
/// subscription's revenue terms, and each org's records (in `orgs` order).
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], ledger: &mut Ledger) -> (MaxioData, Vec<Terms>, Vec<Vec<Ix>>) {
    let base = (seed % 1000) as i64 * 1_000_000 + 4_000_000_000;
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4d41_5849_4f00),
        ledger,
        data: MaxioData { products: products(base - 100), ..MaxioData::default() },
        terms: Vec::new(),
        base,
        seq: 0,
    };
    debug_assert_eq!(CURRENCIES[0].0, SITE_CURRENCY);
    let mut per_org = vec![Vec::new(); orgs.len()];
    let solo = (orgs.len() / 100).max(1);
    let mut k = 0usize;
    for (o, org) in orgs.iter().map(Some).enumerate().chain((0..solo).map(|_| (usize::MAX, None))) {
        if org.is_some_and(|g| !g.customer || !s.rng.random_bool(0.2)) {
            continue;
        }
        k += 1;
        let (customer, cix) = s.customer(org, k);
        let first = s.ledger.len() as Ix;
        let currency = match s.rng.random_range(0..20) {
            0..=11 => "USD",
            12..=14 => "EUR",
            15..=17 => "GBP",
            _ => "JPY",
        };
        let tier = s.rng.random_range(0..3);
        let roll: f64 = s.rng.random();
        let mut first_sub = None;
        // The second and third customers, and one in twenty-five of the others, never subscribed.
        if roll < 0.04 || k == 2 || k == 3 {
            // Never subscribed: deleted before accord synced (half of them) or still there.
            if k == 2 || (k != 3 && s.rng.random_bool(0.5)) {
                s.ledger.set_gone(cix, Gone::BeforeFirstSync);
                s.data.deleted_customers.push(customer.id);
                continue;
            }
        } else if roll < 0.12 {
            // A reactivation: a monthly subscription canceled at a period end, then a new one.
            let mut old = s.plan(customer.created, tier);
            old.every = Every::Month;
            (old.trial_days, old.lapses, old.cancel_at_period_end, old.past_due, old.change) =
                (None, false, false, false, None);
            let on = s.day_between(noon(old.start) + 40 * 86_400, AS_OF - 150 * 86_400);
            old.cancel_on = Some(on);
            first_sub = Some(s.seq + 1);
            s.subscription(&customer, cix, currency, &old);
            let ended = s.terms.last().and_then(|t| t.end).unwrap_or(on);
            let mut again = s.plan(noon(ended) + 75 * 86_400, tier);
            (again.trial_days, again.lapses, again.cancel_on) = (None, false, None);
            if again.start > ended + chrono::Duration::days(60) {
                s.subscription(&customer, cix, currency, &again);
            }
        } else {
            let plan = s.plan(customer.created, tier);
            first_sub = Some(s.seq + 1);
            s.subscription(&customer, cix, currency, &plan);
        }
        if let Some(sub) = first_sub
            && s.rng.random_bool(0.1)
        {
            s.one_off(&customer, cix, sub, currency);
        }
        s.data.customers.push(customer);
        if org.is_some() {
            per_org[o].push(cix);
            per_org[o].extend(first..s.ledger.len() as Ix);
        }
    }
    let Seeder { mut data, terms, .. } = s;
    data.customers.sort_by_key(|c| c.id);
    data.subscriptions.sort_by_key(|x| x.id);
    // Invoice numbers follow creation, as a site numbers them.
    data.invoices.sort_by_key(|i| (i.created, i.id));
    for (n, i) in data.invoices.iter_mut().enumerate() {
        i.number = n as i64 + 1;
    }
    data.invoices.sort_by_key(|i| i.id);
    (data, terms, per_org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_round_trip() {
        for id in [0, 35, 36, 4_000_123_456] {
            assert_eq!(invoice_id(&invoice_uid(id)), Some(id));
        }
        assert_eq!(invoice_uid(36), "inv_10");
        assert_eq!(invoice_id("in_1"), None);
    }

    #[test]
    fn prorations_credit_the_old_price_and_charge_the_new() {
        let ps = products(0);
        let (old, new) = (product_of(&ps, 0, Every::Month), product_of(&ps, 1, Every::Month));
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let inv = proration(
            Proration { id: 7, customer: 1, subscription: 2, currency: "USD" },
            (old, 4_900),
            (new, 9_900),
            (d(1, 1), d(1, 11), d(2, 1)),
            1_000,
        );
        // 21 of 31 days left.
        assert_eq!(inv.lines[0].subtotal(), -prorate(4_900, 21, 31));
        assert_eq!(inv.lines[1].subtotal(), 6_706);
        assert_eq!(inv.lines[1].period, Some((d(1, 11), d(2, 1))));
        assert_eq!(inv.total(), 6_706 - 3_319);
    }
}
