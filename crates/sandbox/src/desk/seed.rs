//! Desk's part of the generated company: companies of about half the customers, carrying our
//! account id in the `account_id` custom field (now and then as `100042.0`, which names no
//! account), or only their domain; their people as customers, in the company or only by email;
//! cases from those customers, and cases from nobody Desk knew (`missing_key`). Each key is
//! planted with what it means. Included from `generate.rs`, whose `Generator` it extends.

use super::{Generator, Person, PersonFate, Problem, SfFate, at, rejected};
use crate::desk::{Case, Company, Customer};
use crate::truth::{DESK, Gone, Ix, Key, Plan, RecordKey, reason, rules};

impl Generator {
    /// Seeds Desk; runs after every other system, so the emails and domains it reuses are known.
    pub(super) fn desk(&mut self, people: &[Vec<Person>]) {
        let base = (self.seed % 1000) * 100_000;
        for (i, ps) in people.iter().enumerate() {
            let o = &self.orgs[i];
            if o.reserved || o.sf != SfFate::Customer || !self.chance(0.5) {
                continue;
            }
            // A customer the second day may delete keeps its company findable by the account id.
            let o = &self.orgs[i];
            let scenario =
                o.zd == super::ZdFate::Exact && o.ic == super::IcFate::Exact && !o.website_taken && o.plain_people;
            let (name, domain, account_id, created, website_taken) =
                (o.name.clone(), o.domain.clone(), o.account_id.clone(), o.created, o.website_taken);
            let roll: f64 = rand::RngExt::random(&mut self.rng);
            let (custom, custom_key, domains) = match roll {
                _ if scenario => (Some(account_id.clone()), Some(Key::Account(self.account(i))), vec![domain.clone()]),
                r if r < 0.7 => (Some(account_id.clone()), Some(Key::Account(self.account(i))), vec![domain.clone()]),
                r if r < 0.9 && !website_taken => (None, None, vec![domain.clone()]),
                _ => (Some(format!("{account_id}.0")), Some(Key::NoAccount), vec![]),
            };
            let domain_key = domains.first().map(|d| Key::Domain(self.domain(d)));
            let float = custom_key == Some(Key::NoAccount);
            self.desk_seq += 1;
            let company_id = base + self.desk_seq;
            let c_created = self.between(created);
            let company_ix = self.out.ledger.push(
                RecordKey::new(DESK, "companies", company_id.to_string()),
                Plan::Rules { steps: rules::dk_company(custom_key, domain_key), email: None },
                Gone::Live,
            );
            if float {
                self.plant_ix(Problem::FloatFormattedId, company_ix, rejected(reason::UNKNOWN_ACCOUNT));
            }
            self.own(i, company_ix, false);
            let c_updated = self.between(c_created);
            self.out.desk.companies.push(Company {
                id: company_id,
                name: name.clone(),
                domains,
                account_id: custom,
                created_at: at(c_created),
                updated_at: at(c_updated),
            });
            for p in ps.iter().filter(|p| p.fate == PersonFate::Plain) {
                let in_company = self.chance(0.85);
                let customer =
                    self.desk_customer(p, in_company.then(|| (company_id, name.clone(), company_ix)), c_created);
                self.own(i, customer.1, false);
                for _ in 0..self.rng_cases() {
                    let case = self.desk_case(Some(customer), c_created);
                    self.own(i, case, false);
                }
            }
        }
        for _ in 0..(self.size / 50).max(1) {
            let case = self.desk_case(None, super::START);
            self.plant_ix(Problem::NoLinkKeys, case, rejected(reason::MISSING_KEY));
        }
    }

    fn rng_cases(&mut self) -> usize {
        rand::RngExt::random_range(&mut self.rng, 0..3)
    }

    /// A customer of `p`; returns its id and ledger entry.
    fn desk_customer(&mut self, p: &Person, company: Option<(u64, String, Ix)>, after: i64) -> (u64, Ix) {
        self.desk_seq += 1;
        let id = (self.seed % 1000) * 100_000 + self.desk_seq;
        let created = self.between(after);
        let parent = company.as_ref().map(|(_, _, ix)| Key::Record(*ix));
        let ix = self.out.ledger.push(
            RecordKey::new(DESK, "customers", id.to_string()),
            Plan::Rules { steps: rules::dk_customer(parent, Some(Key::Email(p.address))), email: Some(p.address) },
            Gone::Live,
        );
        let updated = self.between(created);
        self.out.desk.customers.push(Customer {
            id,
            first_name: p.first.into(),
            last_name: p.last.into(),
            emails: vec![p.email.clone()],
            company: company.map(|(id, name, _)| (id, name)),
            created_at: at(created),
            updated_at: at(updated),
        });
        (id, ix)
    }

    /// A case from `customer`, or from nobody.
    fn desk_case(&mut self, customer: Option<(u64, Ix)>, after: i64) -> Ix {
        self.desk_seq += 1;
        let id = (self.seed % 1000) * 100_000 + self.desk_seq;
        let created = self.between(after);
        let ix = self.out.ledger.push(
            RecordKey::new(DESK, "cases", id.to_string()),
            Plan::Rules { steps: rules::dk_case(None, customer.map(|(_, ix)| Key::Record(ix))), email: None },
            Gone::Live,
        );
        let subject = self.pick(super::SUBJECTS).to_owned();
        let status = self.pick(&["new", "open", "pending", "resolved", "closed"]).to_owned();
        let updated = self.between(created);
        let priority = rand::RngExt::random_range(&mut self.rng, 1..=10);
        self.out.desk.cases.push(Case {
            id,
            subject,
            status,
            priority,
            customer_id: customer.map(|(id, _)| id),
            created_at: at(created),
            updated_at: at(updated),
        });
        ix
    }
}
