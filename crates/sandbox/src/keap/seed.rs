//! The generated company's Keap app: a company per customer for most customers, its "CompanyID"
//! custom field holding our account id (or left empty), and several contacts per company, some
//! with the account id in their "ContactID" custom field (the guide's warning: several contacts
//! match one company), the others linked through their company.
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
        // One in eight companies was made by hand, without the CompanyID from the product.
        let keyed = company_seq % 8 != 5;
        let company_key = keyed.then_some(Key::Account(org.account));
        let key = RecordKey::new(KEAP, "companies", id.to_string());
        let company_ix =
            ledger.push(key.clone(), Plan::Rules { steps: rules::keap_company(company_key), email: None }, Gone::Live);
        per_org[o].push(company_ix);
        if !keyed {
            planted.push(Planted {
                problem: Problem::NoLinkKeys,
                record: key.clone(),
                intent: Intent::Outcome(Expected::rejected(reason::MISSING_KEY)),
            });
        }
        data.companies.push(Company {
            id,
            company_name: org.name.clone(),
            website: Some(format!("https://{}", org.domain)),
            account_id: keyed.then(|| org.account_id.clone()),
            create_time: at(created),
            update_time: at(rng.random_range(created..AS_OF - 1)),
        });
        let people = rng.random_range(1..=4u32);
        for p in 0..people {
            contact_seq += 1;
            let cid = 1000 + contact_seq * 2;
            let (first, last) = (FIRST[rng.random_range(0..FIRST.len())], LAST[rng.random_range(0..LAST.len())]);
            // About half carry the ContactID; every one names its company.
            let carries = rng.random_bool(0.5);
            let steps =
                rules::keap_contact(carries.then_some(Key::Account(org.account)), Some(Key::Record(company_ix)));
            let ckey = RecordKey::new(KEAP, "contacts", cid.to_string());
            let ix = ledger.push(ckey.clone(), Plan::Rules { steps, email: None }, Gone::Live);
            per_org[o].push(ix);
            if org.customer && people > 1 && p > 0 {
                let intent = if carries {
                    Intent::Outcome(Expected::linked(org.account_id.clone(), By::new("field", 0)))
                } else if keyed {
                    Intent::Outcome(Expected::linked(org.account_id.clone(), By::new("parent", 1)))
                } else {
                    Intent::Outcome(Expected::rejected(reason::UNKNOWN_ACCOUNT))
                };
                planted.push(Planted { problem: Problem::KeapSeveralContactsOfOneCompany, record: ckey, intent });
            }
            let ccreated = rng.random_range(created..AS_OF - 1);
            data.contacts.push(Contact {
                id: cid,
                given_name: first.to_owned(),
                family_name: last.to_owned(),
                email: Some(format!("{}.{}{cid}@{}", first.to_lowercase(), last.to_lowercase(), org.domain)),
                company: Some((id, org.name.clone())),
                account_id: carries.then(|| org.account_id.clone()),
                create_time: at(ccreated),
                update_time: at(rng.random_range(ccreated..AS_OF)),
            });
        }
    }
    (data, per_org)
}
