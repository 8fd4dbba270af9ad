//! The generated company's Keap app: a company per customer for most customers, its "CompanyID"
//! custom field holding our account id (or left empty: then it takes the account its contacts'
//! ContactIDs agree on), and several contacts per company, some with the account id in their
//! "ContactID" custom field, the others linked through their company. The guide's warning,
//! several contacts matching one company, is planted: some hand-made companies have a contact
//! carrying another customer's ContactID, so the company is `ambiguous` with both candidates.
//!
//! Draws come from their own ChaCha8 stream: adding Keap leaves every other system's data as it was.

use chrono::{DateTime, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Company, Contact, KeapData};
use crate::generate::{AS_OF, Intent, Planted, Problem};
use crate::truth::{AccountIx, By, Expected, Gone, Ix, KEAP, Key, Ledger, Plan, RecordKey, reason, rules};

/// A company as Keap needs it.
#[derive(Debug, Clone)]
pub(crate) struct SeedOrg {
    pub account: AccountIx,
    pub account_id: String,
    pub name: String,
    pub domain: String,
    /// Its Salesforce account holds an active account.
    pub customer: bool,
    pub created: i64,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

const FIRST: &[&str] = &["Ana", "Bo", "Cy", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jin"];
const LAST: &[&str] = &["Moss", "Reyes", "Lund", "Okoro", "Brandt", "Sato", "Quinn", "Vidal"];

/// Makes the app's records, records their meanings in `ledger`, plants the problems; returns
/// each org's records (in `orgs` order).
pub(crate) fn seed(
    seed: u64,
    orgs: &[SeedOrg],
    ledger: &mut Ledger,
    planted: &mut Vec<Planted>,
) -> (KeapData, Vec<Vec<Ix>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4b45_4150);
    let mut data = KeapData::default();
    let mut per_org = vec![Vec::new(); orgs.len()];
    let (mut company_seq, mut contact_seq) = (0u64, 0u64);
    for (o, org) in orgs.iter().enumerate() {
        if !rng.random_bool(0.7) {
            continue;
        }
        company_seq += 1;
        let id = company_seq * 2 + 1;
        let created = rng.random_range(org.created.min(AS_OF - 3) + 1..AS_OF - 2);
        // One in eight companies was made by hand, without the CompanyID from the product: it
        // takes the account its contacts' ContactIDs agree on.
        let keyed = company_seq % 8 != 5;
        let company_key = keyed.then_some(Key::Account(org.account));
        let key = RecordKey::new(KEAP, "companies", id.to_string());
        let company_ix = ledger.next_ix();
        let plan = Plan::Rules { steps: rules::keap_company(company_key, Key::Children(company_ix)), email: None };
        assert_eq!(ledger.push(key.clone(), plan, Gone::Live), company_ix);
        per_org[o].push(company_ix);
        data.companies.push(Company {
            id,
            company_name: org.name.clone(),
            website: Some(format!("https://{}", org.domain)),
            account_id: keyed.then(|| org.account_id.clone()),
            create_time: at(created),
            update_time: at(rng.random_range(created..AS_OF - 1)),
        });
        let people = rng.random_range(1..=4u32);
        // The guide's warning, planted: of a hand-made company's contacts, the first carries
        // another customer's ContactID and the second its own, so they match two accounts.
        let stray = (!keyed && org.customer && people >= 2)
            .then(|| (1..orgs.len()).map(|d| &orgs[(o + d) % orgs.len()]).find(|x| x.customer))
            .flatten();
        let mut carried = Vec::new();
        let mut contacts = Vec::new();
        for p in 0..people {
            contact_seq += 1;
            let cid = 1000 + contact_seq * 2;
            let (first, last) = (FIRST[rng.random_range(0..FIRST.len())], LAST[rng.random_range(0..LAST.len())]);
            // About half carry the ContactID; every one names its company.
            let drawn = rng.random_bool(0.5);
            let carries = match (stray, p) {
                (Some(other), 0) => Some(other),
                (Some(_), 1) => Some(org),
                _ => drawn.then_some(org),
            };
            let steps = rules::keap_contact(carries.map(|c| Key::Account(c.account)), Some(Key::Record(company_ix)));
            let ckey = RecordKey::new(KEAP, "contacts", cid.to_string());
            let ix = ledger.push(ckey.clone(), Plan::Rules { steps, email: None }, Gone::Live);
            ledger.member(ix, company_ix);
            per_org[o].push(ix);
            carried.extend(carries.filter(|c| c.customer).map(|c| c.account));
            contacts.push((p, ckey, carries));
            let ccreated = rng.random_range(created..AS_OF - 1);
            data.contacts.push(Contact {
                id: cid,
                given_name: first.to_owned(),
                family_name: last.to_owned(),
                email: Some(format!("{}.{}{cid}@{}", first.to_lowercase(), last.to_lowercase(), org.domain)),
                company: Some((id, org.name.clone())),
                account_id: carries.map(|c| c.account_id.clone()),
                create_time: at(ccreated),
                update_time: at(rng.random_range(ccreated..AS_OF)),
            });
        }
        carried.sort();
        carried.dedup();
        // What the company answers: its CompanyID, else the one account its contacts agree on.
        let company_links = org.customer && (keyed || carried == [org.account]);
        if !keyed {
            let intent = if company_links {
                Expected::linked(org.account_id.clone(), By::new("children", 1))
            } else if carried.len() > 1 {
                Expected::rejected(reason::AMBIGUOUS)
            } else {
                Expected::rejected(reason::UNKNOWN_ACCOUNT)
            };
            planted.push(Planted {
                problem: Problem::KeapSeveralContactsOfOneCompany,
                record: key.clone(),
                intent: Intent::Outcome(intent),
            });
        }
        for (p, ckey, carries) in contacts {
            if !(org.customer && people > 1 && p > 0) {
                continue;
            }
            let intent = match carries {
                Some(c) => Intent::Outcome(Expected::linked(c.account_id.clone(), By::new("field", 0))),
                None if company_links => {
                    Intent::Outcome(Expected::linked(org.account_id.clone(), By::new("parent", 1)))
                }
                None => Intent::Outcome(Expected::rejected(reason::UNKNOWN_ACCOUNT)),
            };
            planted.push(Planted { problem: Problem::KeapSeveralContactsOfOneCompany, record: ckey, intent });
        }
    }
    (data, per_org)
}
