//! The generated company's Capsule account: a module of [`crate::generate`] (it extends the
//! generator), kept beside the Capsule emulator.
//!
//! Most customers are an organisation whose custom field "Account ID" holds their id, with a web
//! address typed by hand: `www.acme.io`, `http://acme.io/`, `HTTP://WWW.ACME.IO/`, `acme.io/`.
//! Some have no custom field, so only that address (normalised to its domain) links them to the
//! account whose website has the domain; some type an address of a domain no account has, and a
//! few have neither. People (plain ones: their fate elsewhere stays as planted) are persons,
//! most of them in their organisation, through which they link. Everything is drawn from a stream
//! of its own, so the other systems' data does not depend on it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{AS_OF, Generator, Person, PersonFate, Problem, SfFate, at, linked, rejected};
use crate::capsule::model::{self as cp, PartyKind};
use crate::truth::{CAPSULE, Gone, Ix, Key, Plan, RecordKey, reason, rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Exact,
    ByWebsite,
    UnknownWebsite,
    NoKeys,
}

/// How people type a web address.
fn typed(domain: &str, style: usize) -> String {
    match style % 6 {
        0 => format!("www.{domain}"),
        1 => format!("http://{domain}/"),
        2 => format!("HTTP://WWW.{}/", domain.to_uppercase()),
        3 => format!("{domain}/"),
        4 => format!("https://www.{domain}/contact"),
        _ => domain.to_owned(),
    }
}

impl Generator {
    /// Seeds Capsule from the companies and people made so far.
    pub(super) fn capsule(&mut self, people: &[Vec<Person>]) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x0CA9_5C1E);
        let mut fates: Vec<Option<Fate>> = Vec::with_capacity(self.orgs.len());
        for o in &self.orgs {
            if !rng.random_bool(0.75) {
                fates.push(None);
                continue;
            }
            // Only plain customers get a fate that decides otherwise than their custom field;
            // their domain is theirs alone.
            let plain = o.sf == SfFate::Customer && !o.reserved && !o.website_taken;
            let roll: f64 = rng.random();
            fates.push(Some(match roll {
                r if plain && r < 0.08 => Fate::ByWebsite,
                r if plain && r < 0.10 => Fate::UnknownWebsite,
                r if plain && r < 0.115 => Fate::NoKeys,
                _ => Fate::Exact,
            }));
        }
        if self.size >= 40 {
            for fate in [Fate::ByWebsite, Fate::UnknownWebsite, Fate::NoKeys] {
                if !fates.contains(&Some(fate)) {
                    let plain: Vec<usize> = (0..self.orgs.len())
                        .filter(|&i| {
                            let o = &self.orgs[i];
                            o.sf == SfFate::Customer
                                && !o.reserved
                                && !o.website_taken
                                && fates[i] != Some(Fate::ByWebsite)
                        })
                        .collect();
                    let i = plain[rng.random_range(0..plain.len())];
                    fates[i] = Some(fate);
                }
            }
        }
        let mut person_seq = 0u64;
        for (i, fate) in fates.into_iter().enumerate() {
            let org = fate.map(|f| self.capsule_organisation(&mut rng, i, f));
            for p in people[i].iter().filter(|p| p.fate == PersonFate::Plain) {
                if !rng.random_bool(0.6) {
                    continue;
                }
                person_seq += 1;
                let id = 71_000_000 + person_seq;
                let in_org = org.filter(|_| rng.random_bool(0.9));
                let created = between(&mut rng, self.orgs[i].created);
                let updated = between(&mut rng, created);
                let steps = rules::cp_person(in_org.map(|o| Key::Record(o.1)));
                let ix = self.out.ledger.push(
                    RecordKey::new(CAPSULE, "people", id.to_string()),
                    Plan::Rules { steps, email: Some(p.address) },
                    Gone::Live,
                );
                self.own(i, ix, false);
                let name = self.orgs[i].name.clone();
                self.out.capsule.parties.push(cp::Party {
                    id,
                    kind: PartyKind::Person,
                    name: String::new(),
                    first_name: Some(p.first.into()),
                    last_name: Some(p.last.into()),
                    job_title: Some(["CEO", "Head of Operations", "Buyer"][rng.random_range(0..3)].into()),
                    organisation: in_org.map(|o| (o.0, name)),
                    email: Some(p.email.clone()),
                    website: None,
                    account_id: None,
                    created_at: at(created),
                    updated_at: at(updated),
                });
            }
        }
    }

    fn capsule_organisation(&mut self, rng: &mut ChaCha8Rng, i: usize, fate: Fate) -> (u64, Ix) {
        let id = 70_000_000 + i as u64;
        let created = between(rng, self.orgs[i].created);
        let updated = between(rng, created);
        let a = self.account(i);
        let (domain, account_id) = (self.orgs[i].domain.clone(), self.orgs[i].account_id.clone());
        let style = rng.random_range(0..6);
        let (website, field, site_key, planted) = match fate {
            Fate::Exact => {
                let d = self.domain(&domain);
                (Some(typed(&domain, style)), Some(account_id.clone()), Some(Key::Domain(d)), None)
            }
            Fate::ByWebsite => {
                let d = self.domain(&domain);
                let intent = linked(&account_id, "domain", 1);
                (Some(typed(&domain, style)), None, Some(Key::Domain(d)), Some((Problem::WebsiteTypedByHand, intent)))
            }
            Fate::UnknownWebsite => {
                let other = format!("{}-old.example", domain.split('.').next().unwrap_or("x"));
                let d = self.domain(&other);
                let intent = rejected(reason::UNKNOWN_ACCOUNT);
                (Some(typed(&other, style)), None, Some(Key::Domain(d)), Some((Problem::UnknownDomain, intent)))
            }
            Fate::NoKeys => (None, None, None, Some((Problem::NoLinkKeys, rejected(reason::MISSING_KEY)))),
        };
        if fate != Fate::Exact {
            // Its records link otherwise than a plain customer's: no second-day scenario.
            self.orgs[i].reserved = true;
        }
        let steps = rules::cp_organisation(field.as_ref().map(|_| Key::Account(a)), site_key);
        let ix = self.out.ledger.push(
            RecordKey::new(CAPSULE, "organisations", id.to_string()),
            Plan::Rules { steps, email: None },
            Gone::Live,
        );
        if let Some((problem, intent)) = planted {
            self.plant_ix(problem, ix, intent);
        }
        self.own(i, ix, false);
        self.out.capsule.parties.push(cp::Party {
            id,
            kind: PartyKind::Organisation,
            name: self.orgs[i].name.clone(),
            first_name: None,
            last_name: None,
            job_title: None,
            organisation: None,
            email: None,
            website,
            account_id: field,
            created_at: at(created),
            updated_at: at(updated),
        });
        (id, ix)
    }
}

fn between(rng: &mut ChaCha8Rng, from: i64) -> i64 {
    let from = from.min(AS_OF - 2);
    rng.random_range(from + 1..AS_OF)
}
