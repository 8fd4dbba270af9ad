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

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{ACCOUNT_ID_FIELD, BraintreeData, Customer, Transaction, global_id};
use crate::billing::SeedOrg;
use crate::generate::AS_OF;
use crate::truth::{BRAINTREE, Gone, Ix, Key, Ledger, Plan, RecordKey, rules};

const STATUSES: [&str; 5] = ["SETTLED", "SETTLED", "SUBMITTED_FOR_SETTLEMENT", "PROCESSOR_DECLINED", "VOIDED"];

fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// An amount of `minor` units as Braintree writes it: whole units or two decimals.
fn amount(minor: i64, currency: &str) -> String {
    if currency == "JPY" { minor.to_string() } else { format!("{}.{:02}", minor / 100, minor % 100) }
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: BraintreeData,
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
        let roll: f64 = self.rng.random();
        let (account, person) = match org {
            Some(o) => {
                let person = (!o.emails.is_empty()).then(|| o.emails[self.rng.random_range(0..o.emails.len())].clone());
                if roll < 0.75 || person.is_none() { (Some(o.account), person) } else { (None, person) }
            }
            None => (None, None),
        };
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
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], ledger: &mut Ledger) -> (BraintreeData, Vec<Vec<Ix>>) {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4252_4e54_0000),
        ledger,
        data: BraintreeData {
            custom_field_names: vec![ACCOUNT_ID_FIELD.to_owned(), "referral_code".to_owned()],
            ..BraintreeData::default()
        },
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
        s.data.customers.push(customer);
        if org.is_some() {
            per_org[o].push(cix);
            per_org[o].extend(first..s.ledger.len() as Ix);
        }
    }
    for _ in 0..2 {
        s.transaction(None, "USD");
    }
    let Seeder { mut data, .. } = s;
    data.customers.sort_by(|a, b| a.id.cmp(&b.id));
    data.transactions.sort_by(|a, b| a.id.cmp(&b.id));
    (data, per_org)
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
    }
}
