//! The generated company's Braintree vault.
//!
//! A fifth of the System of Record's customer accounts (chosen by this module's own ChaCha8
//! stream, so every other system's data stays as it is) are Braintree customers: three in four
//! carry our account id in the `account_id` custom field, the others only a person's email
//! (linked through the email where one account vouches for it). A customer record stands for a
//! company or for a person: about half have a `company`, the others only first and last names.
//! One customer is billing-only, known to no other system (`unknown_account`, and so are its
//! transactions). Each customer has a few sales in USD, EUR, GBP or JPY, settled, submitted for
//! settlement, declined or voided; a couple of guest checkouts belong to no customer
//! (`missing_key`). Braintree has no update time and deletes customers outright: the emulator's
//! `delete_customer` makes such deletions between syncs, the seed plants none.
//!
//! Every customer has a vaulted card (its token is the owner's way back, through
//! `payment_methods/any/{token}`); most have a subscription on it, some two, on the merchant's
//! plans (monthly and yearly, one set per currency). Subscriptions are active, past due,
//! pending (billing starts after today), canceled or expired (after a fixed number of cycles),
//! some with a price of their own, add-ons (with quantities) and discounts that never expire.
//! Each one's revenue terms go to the billing truth: the price plus add-ons less discounts per
//! billing cycle, from the first billing date to the day its status history ends it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use chrono::NaiveDate;

use super::model::{
    ACCOUNT_ID_FIELD, BraintreeData, Customer, Modification, PaymentMethod, Plan as BillingPlan, Subscription,
    Transaction, global_id,
};
use crate::billing::{Every, SeedOrg, Terms, billing_contact, date, exponent, noon};
use crate::generate::AS_OF;
use crate::truth::{BRAINTREE, Gone, Ix, Key, Ledger, Plan, RecordKey, rules};

const STATUSES: [&str; 5] = ["SETTLED", "SETTLED", "SUBMITTED_FOR_SETTLEMENT", "PROCESSOR_DECLINED", "VOIDED"];

fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// `amount`'s text back in minor units.
fn parse_minor(text: &str, currency: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let scale = 10i64.pow(exponent(currency));
    whole.parse::<i64>().unwrap_or(0) * scale + frac.parse::<i64>().unwrap_or(0)
}

/// An amount of `minor` units as Braintree writes it: whole units or two decimals.
fn amount(minor: i64, currency: &str) -> String {
    if currency == "JPY" { minor.to_string() } else { format!("{}.{:02}", minor / 100, minor % 100) }
}

/// The merchant's plans: `(id, currency, months, price in minor units)`.
const PLANS: [(&str, &str, u32, i64); 8] = [
    ("basic-usd", "USD", 1, 2_900),
    ("pro-usd-annual", "USD", 12, 99_000),
    ("basic-eur", "EUR", 1, 2_500),
    ("pro-eur-annual", "EUR", 12, 84_000),
    ("basic-gbp", "GBP", 1, 2_200),
    ("pro-gbp-annual", "GBP", 12, 72_000),
    ("basic-jpy", "JPY", 1, 3_000),
    ("pro-jpy-annual", "JPY", 12, 96_000),
];

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: BraintreeData,
    terms: Vec<Terms>,
    base: u64,
    seq: u64,
}

impl Seeder<'_> {
    fn legacy(&mut self) -> String {
        self.seq += 1;
        format!("{}{:06}", self.base, self.seq)
    }

    fn customer(&mut self, org: Option<&SeedOrg>, k: usize) -> (Customer, Ix) {
        let legacy = self.legacy();
        let id = global_id("customer", &legacy);
        let (account, person) = billing_contact(&mut self.rng, org);
        let (email, email_key) = match person {
            Some((text, e)) => (text, e),
            None => {
                let text = format!("billing{k}@braintree{}.example", self.base);
                let e = self.ledger.email(text.clone());
                (text, e)
            }
        };
        let steps = rules::braintree_customer(account.map(Key::Account), Some(Key::Email(email_key)));
        let ix = self.ledger.push(
            RecordKey::new(BRAINTREE, "customers", id.clone()),
            Plan::Rules { steps, email: Some(email_key) },
            Gone::Live,
        );
        let created = match org {
            Some(o) => o.created + 86_400 * self.rng.random_range(1..300i64),
            None => AS_OF - 86_400 * self.rng.random_range(100..500i64),
        }
        .min(AS_OF - 86_400);
        let company = self.rng.random_bool(0.5);
        let mut custom_fields = Vec::new();
        if let (Some(_), Some(o)) = (account, org) {
            custom_fields.push((ACCOUNT_ID_FIELD.to_owned(), o.account_id.clone()));
        }
        if self.rng.random_range(0..4) == 0 {
            custom_fields.push(("referral_code".to_owned(), format!("R{}", self.rng.random_range(100..999))));
        }
        let c = Customer {
            id,
            legacy_id: legacy,
            created: at(created - created % 60),
            email: Some(email),
            company: if company {
                Some(org.map_or_else(|| format!("Solo Buyer {k}"), |o| o.name.clone()))
            } else {
                None
            },
            first_name: (!company).then(|| "Pat".to_owned()),
            last_name: (!company).then(|| format!("Buyer{k}")),
            website: None,
            custom_fields,
        };
        (c, ix)
    }

    /// A subscription of `customer` (paying with `token`) in `currency`, and its revenue terms.
    fn subscription(&mut self, customer: &Customer, cix: Ix, token: &str, currency: &'static str) {
        let id = format!("s{}", self.legacy());
        let choices: Vec<_> = PLANS.iter().filter(|p| p.1 == currency).collect();
        let &&(plan_id, _, months, plan_price) = &choices[self.rng.random_range(0..choices.len())];
        let every = if months == 12 { Every::Year } else { Every::Month };
        let today = date(crate::generate::AS_OF);
        let created_at = customer.created.timestamp() + 86_400 * self.rng.random_range(0..40i64);
        let created_at = created_at.min(crate::generate::AS_OF - 86_400);
        let roll = self.rng.random_range(0..20);
        let (status, first_billing) = match roll {
            0 => ("Pending", today + chrono::Duration::days(self.rng.random_range(3..40))),
            _ => {
                let s = match roll {
                    1..=2 => "Canceled",
                    3 => "Expired",
                    4 => "Past Due",
                    _ => "Active",
                };
                (s, date(created_at) + chrono::Duration::days(self.rng.random_range(0..15)))
            }
        };
        let first_billing =
            if status == "Pending" { first_billing } else { first_billing.min(today - chrono::Duration::days(1)) };
        // A negotiated price now and then.
        let price = if self.rng.random_range(0..4) == 0 { plan_price + plan_price / 10 } else { plan_price };
        let unit = if currency == "JPY" { 100 } else { 500 };
        let mut add_ons = Vec::new();
        let mut discounts = Vec::new();
        if self.rng.random_range(0..3) == 0 {
            add_ons.push(Modification {
                id: "extra-seats".into(),
                amount: amount(unit * i64::from(months), currency),
                quantity: self.rng.random_range(1..4),
                never_expires: true,
                number_of_billing_cycles: None,
                current_billing_cycle: 1,
            });
        }
        if self.rng.random_range(0..4) == 0 {
            discounts.push(Modification {
                id: "loyalty".into(),
                amount: amount(2 * unit * i64::from(months) / 5, currency),
                quantity: 1,
                never_expires: true,
                number_of_billing_cycles: None,
                current_billing_cycle: 1,
            });
        }
        let mut net = price;
        for m in &add_ons {
            net += parse_minor(&m.amount, currency) * i64::from(m.quantity);
        }
        for m in &discounts {
            net -= parse_minor(&m.amount, currency) * i64::from(m.quantity);
        }
        // Periods from the first billing date.
        let periods_through = |day: NaiveDate| {
            let mut k = 0;
            while every.nth(first_billing, k + 1) <= day {
                k += 1;
            }
            k
        };
        let (end, cycles): (Option<NaiveDate>, Option<u32>) = match status {
            "Canceled" => {
                let span = (today - first_billing).num_days().max(2);
                (Some(first_billing + chrono::Duration::days(self.rng.random_range(1..span))), None)
            }
            "Expired" => {
                // A fixed number of cycles that ran out before today.
                let passed = periods_through(today);
                if passed >= 1 {
                    let n = self.rng.random_range(1..=passed.min(6));
                    (Some(every.nth(first_billing, n)), Some(n))
                } else {
                    (Some(today), Some(1))
                }
            }
            _ => (None, None),
        };
        let created = at(created_at.min(noon(first_billing)));
        let mut history = vec![(created, if status == "Pending" { "Pending" } else { "Active" }.to_owned())];
        if status == "Past Due" {
            history.push((at(noon(today - chrono::Duration::days(3))), "Past Due".to_owned()));
        }
        if let Some(e) = end {
            history.push((at(noon(e)), status.to_owned()));
        }
        let last = end.unwrap_or(today);
        let (period_start, period_end, next) = if status == "Pending" {
            (None, None, Some(first_billing))
        } else {
            let k = periods_through(last.max(first_billing));
            let start = every.nth(first_billing, k);
            let next = every.nth(first_billing, k + 1);
            (Some(start), Some(next - chrono::Duration::days(1)), end.is_none().then_some(next))
        };
        let steps = rules::braintree_child(Some(Key::Record(cix)));
        self.ledger.push(
            RecordKey::new(BRAINTREE, "subscriptions", id.clone()),
            Plan::Rules { steps, email: None },
            Gone::Live,
        );
        self.terms.push(Terms {
            subscription: RecordKey::new(BRAINTREE, "subscriptions", id.clone()),
            currency,
            unit_amount: net,
            quantity: 1,
            every,
            start: first_billing,
            end,
            trial: None,
            trialing: status == "Pending",
            metered: false,
            discount: None,
            changes: Vec::new(),
        });
        self.data.subscriptions.push(Subscription {
            id,
            plan_id: plan_id.to_owned(),
            status: status.to_owned(),
            price: amount(price, currency),
            payment_method_token: token.to_owned(),
            updated: history.last().map_or(created, |h| h.0),
            created,
            first_billing_date: first_billing,
            billing_period_start: period_start,
            billing_period_end: period_end,
            next_billing_date: next,
            billing_day_of_month: chrono::Datelike::day(&first_billing).min(28),
            number_of_billing_cycles: cycles,
            current_billing_cycle: period_start.map_or(0, |_| periods_through(last.max(first_billing)) + 1),
            add_ons,
            discounts,
            status_history: history,
        });
    }

    fn transaction(&mut self, customer: Option<(&Customer, Ix)>, currency: &str) {
        let legacy = format!("t{}", self.legacy());
        let id = global_id("transaction", &legacy);
        let steps = rules::braintree_child(customer.map(|(_, ix)| Key::Record(ix)));
        self.ledger.push(
            RecordKey::new(BRAINTREE, "transactions", id.clone()),
            Plan::Rules { steps, email: None },
            Gone::Live,
        );
        let from = customer.map_or(AS_OF - 200 * 86_400, |(c, _)| c.created.timestamp());
        let created = from + self.rng.random_range(3_600..(AS_OF - from).max(7_200));
        let minor = [4_900, 9_900, 29_900, 1_250][self.rng.random_range(0..4)];
        self.data.transactions.push(Transaction {
            id,
            legacy_id: legacy,
            created: at(created),
            status: STATUSES[self.rng.random_range(0..STATUSES.len())].into(),
            order_id: self.rng.random_bool(0.5).then(|| format!("ORD-{}", self.seq)),
            amount: amount(minor, currency),
            currency: currency.to_owned(),
            customer_id: customer.map(|(c, _)| c.id.clone()),
            custom_fields: Vec::new(),
        });
    }
}

/// Makes the vault's records and records their meanings in `ledger`; returns the data and each
/// org's records (in `orgs` order).
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], ledger: &mut Ledger) -> (BraintreeData, Vec<Terms>, Vec<Vec<Ix>>) {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4252_4e54_0000),
        ledger,
        data: BraintreeData {
            custom_field_names: vec![ACCOUNT_ID_FIELD.to_owned(), "referral_code".to_owned()],
            plans: PLANS
                .iter()
                .map(|&(id, currency, months, price)| BillingPlan {
                    id: id.to_owned(),
                    name: id.replace('-', " "),
                    price: amount(price, currency),
                    currency: currency.to_owned(),
                    billing_frequency: months,
                })
                .collect(),
            ..BraintreeData::default()
        },
        terms: Vec::new(),
        base: seed % 1000,
        seq: 0,
    };
    let mut per_org = vec![Vec::new(); orgs.len()];
    let mut k = 0usize;
    for (o, org) in orgs.iter().map(Some).enumerate().chain([(usize::MAX, None)]) {
        if org.is_some_and(|g| !g.customer || !s.rng.random_bool(0.2)) {
            continue;
        }
        k += 1;
        let (customer, cix) = s.customer(org, k);
        let first = s.ledger.len() as Ix;
        let currency = ["USD", "USD", "USD", "EUR", "GBP", "JPY"][s.rng.random_range(0..6)];
        for _ in 0..s.rng.random_range(1..4) {
            s.transaction(Some((&customer, cix)), currency);
        }
        let token = format!("tok{}", customer.legacy_id);
        s.data.payment_methods.push(PaymentMethod {
            token: token.clone(),
            customer_legacy_id: customer.legacy_id.clone(),
            kind: "credit-card".into(),
        });
        let subscriptions = match s.rng.random_range(0..10) {
            0..=1 => 0,
            2 => 2,
            _ => 1,
        };
        for _ in 0..subscriptions {
            s.subscription(&customer, cix, &token, currency);
        }
        s.data.customers.push(customer);
        if org.is_some() {
            per_org[o].push(cix);
            per_org[o].extend(first..s.ledger.len() as Ix);
        }
    }
    for _ in 0..2 {
        s.transaction(None, "USD");
    }
    let Seeder { mut data, terms, .. } = s;
    data.customers.sort_by(|a, b| a.id.cmp(&b.id));
    data.transactions.sort_by(|a, b| a.id.cmp(&b.id));
    data.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    (data, terms, per_org)
}

#[cfg(test)]
mod tests {
    use crate::Company;

    #[test]
    fn the_vault_has_every_kind_of_record_the_connector_reads() {
        let c = Company::generate(11, 300);
        let b = &c.braintree;
        assert!(b.customers.len() > 20, "{} customers", b.customers.len());
        let field = |c: &super::Customer| c.custom_fields.iter().any(|(n, _)| n == super::ACCOUNT_ID_FIELD);
        assert!(b.customers.iter().any(field), "customers with the account id field");
        assert!(b.customers.iter().any(|c| !field(c) && c.email.is_some()), "customers known by email only");
        assert!(b.customers.iter().any(|c| c.company.is_none() && c.first_name.is_some()), "people as customers");
        assert!(
            b.customers.iter().any(|c| c.company.as_deref().is_some_and(|n| n.starts_with("Solo Buyer"))
                || c.email.as_deref().is_some_and(|e| e.contains("@braintree"))),
            "a billing-only customer"
        );
        assert!(b.transactions.iter().any(|t| t.customer_id.is_none()), "guest checkouts");
        for status in ["SETTLED", "PROCESSOR_DECLINED", "VOIDED"] {
            assert!(b.transactions.iter().any(|t| t.status == status), "{status}");
        }
        let currencies: std::collections::BTreeSet<&str> = b.transactions.iter().map(|t| t.currency.as_str()).collect();
        assert!(currencies.len() >= 3, "{currencies:?}");
        assert!(b.transactions.iter().filter(|t| t.currency == "JPY").all(|t| !t.amount.contains('.')));
        let ids: std::collections::BTreeSet<&str> = b.customers.iter().map(|c| c.id.as_str()).collect();
        assert!(b.transactions.iter().filter_map(|t| t.customer_id.as_deref()).all(|id| ids.contains(id)));
        for status in ["Active", "Canceled", "Past Due", "Pending", "Expired"] {
            assert!(b.subscriptions.iter().any(|s| s.status == status), "a {status} subscription");
        }
        let tokens: std::collections::BTreeSet<&str> = b.payment_methods.iter().map(|p| p.token.as_str()).collect();
        assert!(b.subscriptions.iter().all(|s| tokens.contains(s.payment_method_token.as_str())));
        assert!(b.subscriptions.iter().all(|s| b.plans.iter().any(|p| p.id == s.plan_id)));
        assert!(
            b.subscriptions.iter().any(|s| !s.add_ons.is_empty())
                && b.subscriptions.iter().any(|s| !s.discounts.is_empty())
        );
        assert!(b.plans.iter().any(|p| p.billing_frequency == 12));
        let terms = c.billing.iter().filter(|t| t.subscription.source == crate::truth::BRAINTREE).count();
        assert_eq!(terms, b.subscriptions.len(), "every subscription's revenue terms are in the truth");
    }
}
