//! The generated company's Freshdesk account: a module of [`crate::generate`] (it extends the
//! generator), kept beside the Freshdesk emulator.
//!
//! Most customers have a Freshdesk company whose custom field `account_id` holds their id; a few
//! hold a mangled id (`100042.0`, `100042 `) or none, and a few companies exist only in Freshdesk.
//! People (plain ones: their fate elsewhere stays as planted) are contacts, most of them in their
//! company, their emails often typed in another case (`ADA.BERG@ACME.IO`, `Ada.Berg@acme.io`);
//! contacts outside any company link by that email, however it is cased. Tickets are filed by
//! contacts, most in their company. A few contacts and tickets were deleted before the first sync
//! (`deleted: true`, listed only by `state=deleted` and `filter=deleted`). Everything is drawn
//! from a stream of its own, so the other systems' data does not depend on it.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    AS_OF, Generator, Intent, Person, PersonFate, Problem, SUBJECTS, SfFate, at, capitalized, linked, rejected,
};
use crate::freshdesk::model as fd;
use crate::truth::{EmailIx, FRESHDESK, Gone, Ix, Key, Plan, RecordKey, reason, rules};

/// How a company's Freshdesk company looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Exact,
    FloatId,
    TrailingSpace,
    NoField,
}

struct Seeder {
    rng: ChaCha8Rng,
    contact_seq: u64,
    ticket_seq: u64,
}

impl Seeder {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn between(&mut self, from: i64) -> i64 {
        let from = from.min(AS_OF - 2);
        self.rng.random_range(from + 1..AS_OF)
    }
}

impl Generator {
    /// Seeds Freshdesk from the companies and people made so far.
    pub(super) fn freshdesk(&mut self, people: &[Vec<Person>]) {
        let mut s =
            Seeder { rng: ChaCha8Rng::seed_from_u64(self.seed ^ 0x00F5_E5D3_5C00), contact_seq: 0, ticket_seq: 0 };
        let fates = self.freshdesk_fates(&mut s);
        // Which Salesforce contact carrying a customer's `Id` holds each address: the evidence an
        // email typed in another case must still find.
        let mut evidence: HashMap<EmailIx, Vec<Ix>> = HashMap::new();
        for ix in 0..self.out.ledger.len() as Ix {
            let e = self.out.ledger.entry(ix);
            if let (Plan::Rules { steps, email: Some(address) }, Gone::Live) = (&e.plan, e.gone)
                && let Some(Key::Crm(holder)) = steps.first().map(|s| s.key)
            {
                evidence.entry(*address).or_default().push(holder);
            }
        }
        for (i, fate) in fates.into_iter().enumerate() {
            let company = fate.map(|f| self.freshdesk_company(&mut s, i, f));
            let customer = self.orgs[i].sf == SfFate::Customer;
            for p in people[i].iter().filter(|p| p.fate == PersonFate::Plain) {
                if !s.chance(0.65) {
                    continue;
                }
                let in_company = company.filter(|_| s.chance(0.85));
                let email = match s.rng.random_range(0..20) {
                    0..=3 => p.email.to_uppercase(),
                    4..=6 => capitalized(&p.email),
                    _ => p.email.clone(),
                };
                let recased = email != p.email;
                let deleted = s.chance(0.02);
                let name = format!("{} {}", p.first, p.last);
                let (id, ix) = self.freshdesk_contact(&mut s, in_company, name, Some(email), p.address, deleted, i);
                if deleted {
                    self.plant_ix(Problem::DeletedAtSource, ix, Intent::Tombstone);
                    continue;
                }
                // Outside its company, a contact links by its email: typed in another case, it
                // still finds the customer's own Salesforce contact.
                let sf_ix = self.orgs[i].sf_ix;
                if in_company.is_none()
                    && recased
                    && customer
                    && evidence.get(&p.address).is_some_and(|h| h.contains(&sf_ix))
                {
                    let account_id = self.orgs[i].account_id.clone();
                    self.plant_ix(Problem::EmailInAnotherCase, ix, linked(&account_id, "email", 1));
                }
                self.freshdesk_tickets(&mut s, (id, ix), in_company, i);
            }
        }
        self.freshdesk_only_companies(&mut s);
    }

    /// Each company's Freshdesk company, if it has one. Every mangled fate occurs once at least
    /// (with 40 companies or more), on plain customers, which then stay out of the second day.
    fn freshdesk_fates(&mut self, s: &mut Seeder) -> Vec<Option<Fate>> {
        let mut fates: Vec<Option<Fate>> = Vec::with_capacity(self.orgs.len());
        for o in &self.orgs {
            if !s.chance(0.8) {
                fates.push(None);
                continue;
            }
            let roll: f64 = s.rng.random();
            let plain = o.sf == SfFate::Customer && !o.reserved && !o.website_taken;
            // Only a number goes through a float (`100042.0`); `EU-2001` never does.
            let numeric = o.account_id.bytes().all(|b| b.is_ascii_digit());
            fates.push(Some(match roll {
                r if plain && numeric && r < 0.02 => Fate::FloatId,
                r if plain && r < 0.035 => Fate::TrailingSpace,
                r if plain && r < 0.05 => Fate::NoField,
                _ => Fate::Exact,
            }));
        }
        if self.size >= 40 {
            for fate in [Fate::FloatId, Fate::TrailingSpace, Fate::NoField] {
                if !fates.contains(&Some(fate)) {
                    let plain: Vec<usize> = (0..self.orgs.len())
                        .filter(|&i| {
                            let o = &self.orgs[i];
                            o.sf == SfFate::Customer
                                && !o.reserved
                                && !o.website_taken
                                && fates[i] != Some(Fate::FloatId)
                                && (fate != Fate::FloatId || o.account_id.bytes().all(|b| b.is_ascii_digit()))
                        })
                        .collect();
                    let i = plain[s.rng.random_range(0..plain.len())];
                    fates[i] = Some(fate);
                }
            }
        }
        for (i, f) in fates.iter().enumerate() {
            if matches!(f, Some(Fate::FloatId | Fate::TrailingSpace | Fate::NoField)) {
                // Its records link otherwise than a plain customer's: no second-day scenario.
                self.orgs[i].reserved = true;
            }
        }
        fates
    }

    fn freshdesk_company(&mut self, s: &mut Seeder, i: usize, fate: Fate) -> (u64, Ix) {
        let id = 80_000_000 + i as u64;
        let created = s.between(self.orgs[i].created);
        let updated = s.between(created);
        let a = self.account(i);
        let o = &self.orgs[i];
        let (account_id, key, planted) = match fate {
            Fate::Exact => (Some(o.account_id.clone()), Some(Key::Account(a)), None),
            Fate::FloatId => (
                Some(format!("{}.0", o.account_id)),
                Some(Key::NoAccount),
                Some((Problem::FloatFormattedId, rejected(reason::UNKNOWN_ACCOUNT))),
            ),
            Fate::TrailingSpace => (
                Some(format!("{} ", o.account_id)),
                Some(Key::NoAccount),
                Some((Problem::TrailingSpace, rejected(reason::UNKNOWN_ACCOUNT))),
            ),
            Fate::NoField => (None, None, Some((Problem::NoLinkKeys, rejected(reason::MISSING_KEY)))),
        };
        let company = fd::Company {
            id,
            name: o.name.clone(),
            domains: vec![o.domain.clone()],
            account_id,
            created_at: at(created),
            updated_at: at(updated),
        };
        let key_of = RecordKey::new(FRESHDESK, "companies", id.to_string());
        let ix = self.out.ledger.push(key_of, Plan::Rules { steps: rules::fd_company(key), email: None }, Gone::Live);
        if let Some((problem, intent)) = planted {
            self.plant_ix(problem, ix, intent);
        }
        self.own(i, ix, false);
        self.out.freshdesk.companies.push(company);
        (id, ix)
    }

    /// A contact; `owner` is the company whose records it counts among.
    #[allow(clippy::too_many_arguments)]
    fn freshdesk_contact(
        &mut self,
        s: &mut Seeder,
        company: Option<(u64, Ix)>,
        name: String,
        email: Option<String>,
        address: EmailIx,
        deleted: bool,
        owner: usize,
    ) -> (u64, Ix) {
        s.contact_seq += 1;
        let id = 81_000_000 + s.contact_seq;
        let created = s.between(self.orgs.get(owner).map_or(AS_OF - 400 * 86_400, |o| o.created));
        let updated = s.between(created);
        let holds = email.as_ref().map(|_| address);
        let steps = rules::fd_contact(company.map(|c| Key::Record(c.1)), holds.map(Key::Email));
        let gone = if deleted { Gone::BeforeFirstSync } else { Gone::Live };
        let ix = self.out.ledger.push(
            RecordKey::new(FRESHDESK, "contacts", id.to_string()),
            Plan::Rules { steps, email: holds },
            gone,
        );
        if !deleted {
            self.own(owner, ix, false);
        }
        let title = ["Support Lead", "Office Manager", "CTO", "Developer"][s.rng.random_range(0..4)];
        self.out.freshdesk.contacts.push(fd::Contact {
            id,
            name,
            email,
            company_id: company.map(|c| c.0),
            job_title: Some(title.into()),
            deleted,
            created_at: at(created),
            updated_at: at(updated),
        });
        (id, ix)
    }

    /// Zero to two tickets by `requester`, most of them in `company`.
    fn freshdesk_tickets(&mut self, s: &mut Seeder, requester: (u64, Ix), company: Option<(u64, Ix)>, owner: usize) {
        for _ in 0..s.rng.random_range(0..3) {
            s.ticket_seq += 1;
            let id = 5_000 + s.ticket_seq;
            let created = s.between(self.orgs[owner].created);
            let updated = s.between(created);
            let in_company = company.filter(|_| s.chance(0.8));
            let deleted = s.chance(0.03);
            let steps = rules::fd_ticket(in_company.map(|c| Key::Record(c.1)), Some(Key::Record(requester.1)));
            let gone = if deleted { Gone::BeforeFirstSync } else { Gone::Live };
            let ix = self.out.ledger.push(
                RecordKey::new(FRESHDESK, "tickets", id.to_string()),
                Plan::Rules { steps, email: None },
                gone,
            );
            if deleted {
                self.plant_ix(Problem::DeletedTicket, ix, Intent::Tombstone);
            } else {
                self.own(owner, ix, false);
            }
            let subject = SUBJECTS[s.rng.random_range(0..SUBJECTS.len())];
            self.out.freshdesk.tickets.push(fd::Ticket {
                id,
                subject: subject.into(),
                status: [2, 3, 4, 5, 5][s.rng.random_range(0..5)],
                priority: [1, 2, 2, 3, 4][s.rng.random_range(0..5)],
                requester_id: requester.0,
                company_id: in_company.map(|c| c.0),
                deleted,
                created_at: at(created),
                updated_at: at(updated),
            });
        }
    }

    /// Companies of an old help desk whose ids were never accounts, each with a contact (its
    /// email is nobody else's) and its tickets.
    fn freshdesk_only_companies(&mut self, s: &mut Seeder) {
        for k in 0..(self.size / 100).max(1) {
            let id = 89_000_000 + k as u64;
            let created = s.between(super::START);
            let updated = s.between(created);
            let ix = self.out.ledger.push(
                RecordKey::new(FRESHDESK, "companies", id.to_string()),
                Plan::Rules { steps: rules::fd_company(Some(Key::NoAccount)), email: None },
                Gone::Live,
            );
            self.plant_ix(Problem::OnlyInOneSystem, ix, rejected(reason::UNKNOWN_ACCOUNT));
            self.out.freshdesk.companies.push(fd::Company {
                id,
                name: format!("Legacy Desk {k}"),
                domains: vec![format!("fdlegacy{k}.example")],
                account_id: Some(format!("legacy-{k}")),
                created_at: at(created),
                updated_at: at(updated),
            });
            let email = format!("helpdesk{k}@fdlegacy{k}.example");
            let address = self.address(&email);
            s.contact_seq += 1;
            let cid = 81_000_000 + s.contact_seq;
            let steps = rules::fd_contact(Some(Key::Record(ix)), Some(Key::Email(address)));
            let contact_ix = self.out.ledger.push(
                RecordKey::new(FRESHDESK, "contacts", cid.to_string()),
                Plan::Rules { steps, email: Some(address) },
                Gone::Live,
            );
            self.out.freshdesk.contacts.push(fd::Contact {
                id: cid,
                name: format!("Legacy Help {k}"),
                email: Some(email),
                company_id: Some(id),
                job_title: None,
                deleted: false,
                created_at: at(created),
                updated_at: at(updated),
            });
            s.ticket_seq += 1;
            let tid = 5_000 + s.ticket_seq;
            let steps = rules::fd_ticket(Some(Key::Record(ix)), Some(Key::Record(contact_ix)));
            self.out.ledger.push(
                RecordKey::new(FRESHDESK, "tickets", tid.to_string()),
                Plan::Rules { steps, email: None },
                Gone::Live,
            );
            self.out.freshdesk.tickets.push(fd::Ticket {
                id: tid,
                subject: "Migrated from the old desk".into(),
                status: 5,
                priority: 1,
                requester_id: cid,
                company_id: Some(id),
                deleted: false,
                created_at: at(updated),
                updated_at: at(updated),
            });
        }
    }
}
