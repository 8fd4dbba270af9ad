//! Delighted's part of the generated company: NPS answers of the people of the generated
//! customers, each with its person's email (in another case now and then), planted with what the
//! email means; answers from emails that two accounts share (rejected as `ambiguous`), from
//! people no system knows (`unknown_account`) and from people surveyed by phone, without an
//! email (`missing_key`). Included from `generate.rs`, whose `Generator` it extends.

use super::{AS_OF, Generator, Person, PersonFate, Problem, SfFate, at, capitalized, rejected};
use crate::delighted::model::{Person as DlPerson, SurveyResponse};
use crate::truth::{DELIGHTED, Gone, Key, Plan, RecordKey, reason, rules};

const COMMENTS: &[&str] = &[
    "Great support team",
    "The dashboard is slow",
    "Easy to set up",
    "Missing an export to our BI tool",
    "Pricing went up too much",
    "Love the new reports",
];

impl Generator {
    fn delighted_response(&mut self, email: Option<String>, key: Option<Key>, name: Option<String>, after: i64) -> u32 {
        self.dl_seq += 1;
        let id = ((self.seed % 1000) * 1_000_000 + self.dl_seq).to_string();
        let created = self.between(after);
        let updated = if self.chance(0.3) { self.between(created) } else { created };
        let score = rand::RngExt::random_range(&mut self.rng, 0..=10);
        let comment = if self.chance(0.5) { Some(self.pick(COMMENTS).to_owned()) } else { None };
        let holds = match key {
            Some(Key::Email(e)) => Some(e),
            _ => None,
        };
        let ix = self.out.ledger.push(
            RecordKey::new(DELIGHTED, "survey_responses", &id),
            Plan::Rules { steps: rules::dl_response(key), email: holds },
            Gone::Live,
        );
        let person_id = (9_000_000 + self.dl_seq).to_string();
        self.out.delighted.survey_responses.push(SurveyResponse {
            id,
            person: DlPerson { id: person_id, name, email, created_at: at(created) },
            score,
            comment,
            created_at: at(created),
            updated_at: at(updated),
        });
        ix
    }

    /// Seeds Delighted; runs after every other system, so the emails it reuses are known.
    pub(super) fn delighted(&mut self, people: &[Vec<Person>]) {
        for (i, ps) in people.iter().enumerate() {
            // Plain customers' people answer; the second day's deletions of an account reach
            // their answers through `own`.
            if self.orgs[i].reserved || self.orgs[i].sf != SfFate::Customer {
                continue;
            }
            for p in ps.iter().filter(|p| p.fate == PersonFate::Plain) {
                if !self.chance(0.4) {
                    continue;
                }
                let answers = if self.chance(0.25) { 2 } else { 1 };
                for _ in 0..answers {
                    let email = if self.chance(0.1) { capitalized(&p.email) } else { p.email.clone() };
                    let name = Some(format!("{} {}", p.first, p.last));
                    let ix =
                        self.delighted_response(Some(email), Some(Key::Email(p.address)), name, self.orgs[i].created);
                    self.own(i, ix, false);
                }
            }
        }
        // Emails two accounts share (the agencies of `shared_emails`): never linked.
        if self.size >= 40 {
            for k in 0..(self.size / 200).max(1) {
                for mailbox in ["ops", "finance"] {
                    let email = format!("{mailbox}@agency{k}.example");
                    let address = self.address(&email);
                    let ix = self.delighted_response(Some(email), Some(Key::Email(address)), None, super::START);
                    self.plant_ix(Problem::SharedEmail, ix, rejected(reason::AMBIGUOUS));
                }
            }
        }
        // Someone no system knows, and a phone survey without an email.
        for k in 0..(self.size / 50).max(1) {
            let email = format!("visitor{k}@nowhere{}.example", self.seed);
            let address = self.address(&email);
            let ix = self.delighted_response(Some(email), Some(Key::Email(address)), None, super::START);
            self.plant_ix(Problem::NoAccountIdUnknownEmail, ix, rejected(reason::UNKNOWN_ACCOUNT));
            let ix = self.delighted_response(None, None, Some(format!("Caller {k}")), AS_OF - 86_400 * 30);
            self.plant_ix(Problem::NoLinkKeys, ix, rejected(reason::MISSING_KEY));
        }
    }
}
