//! The generated company: a deterministic, deliberately messy customer base spread across
//! Salesforce, Zendesk, Intercom, Delighted, Freshdesk, Capsule, JIRA, Keap and Stripe (and a Desk export),
//! with the problems accord's integration guide warns about (each vendor's part beyond the first
//! three is in its `seed.rs` or in this file's JIRA and Keap sections).
//!
//! Everything comes from a ChaCha8 stream seeded with the seed, so the same seed and size give the
//! same data byte for byte. `size` is the number of real-world customer companies; the other
//! objects scale with it (about 9 records per company in all: 100,000 give about 910,000).
//! Each problem kind is planted in a few percent of the companies, and at least once whenever
//! there are 40 companies or more.
//!
//! The ground truth is planted with the data (see [`crate::truth`]): every link key the generator
//! writes goes into the [`Ledger`] with what it means, and every planted problem also states the
//! outcome it was meant to have ([`Planted`]); tests check that the two agree. The generator
//! plants, on purpose, data whose answer depends on seeing all of it at once: emails shared by
//! two accounts whose second holder is in a later-synced object, duplicate System of Record ids
//! whose holder (the lowest `Id`) syncs after the duplicate, records whose only evidence or parent
//! is in an object synced after them, people whose email says one account and whose organization
//! says another, and records reaching filtered-out accounts through an id map.
//!
//! [`Company::delete_some`] is a second day: it deletes a planted set of records (System of
//! Record accounts with their contacts and cases, Zendesk users whose email linked other records,
//! Intercom contacts, Salesforce contacts) and states what the deletions were meant to cause.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::capsule::model::CapsuleData;
use crate::chargebee::model::ChargebeeData;
use crate::delighted::model::DelightedData;
use crate::desk::DeskData;
use crate::freshdesk::model::FreshdeskData;
use crate::intercom::model::{self as ic, AttributeValue, ContactRef, IntercomData};
use crate::jira::model::JiraData;
use crate::keap::model::KeapData;
use crate::salesforce::model::{self as sf, SObject, SalesforceData, sf_id};
use crate::stripe::model::StripeData;
use crate::truth::{
    AccountIx, AccountTruth, By, DomainIx, EmailIx, Expected, Gone, INTERCOM, Ix, Key, Ledger, Plan, RecordKey,
    SALESFORCE, SorKind, Truth, ZENDESK, reason, rules,
};
use crate::zendesk::model::{self as zd, ZendeskData};

#[path = "capsule/seed.rs"]
mod capsule_seed;
#[path = "freshdesk/seed.rs"]
mod freshdesk_seed;

/// The generated data is "as of" this instant (2025-01-01T00:00:00Z): every timestamp is earlier.
/// Salesforce deletions are re-dated relative to the sandbox's start (see the emulator).
pub const AS_OF: i64 = 1_735_689_600;
/// The first company joined on 2019-01-01.
const START: i64 = 1_546_300_800;

/// A problem the generator plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Problem {
    /// A Salesforce account without `Account_ID__c`.
    SfMissingAccountId,
    /// A Salesforce account without `Name`.
    SfMissingName,
    /// A Salesforce account whose `Type` is not `Customer` (`Prospect`, `Partner`).
    SfFilteredType,
    /// A second Salesforce account carrying a customer's account id, synced after the holder.
    SfDuplicateAccountId,
    /// A second Salesforce account carrying a customer's account id (a higher `Id`) whose
    /// `SystemModstamp` is earlier than the holder's: it syncs first.
    SfDuplicateSyncedFirst,
    /// The holder (lowest `Id`) of an account id whose duplicate syncs first.
    SfDuplicateHolder,
    /// A Salesforce case whose `AccountId` is a duplicate's `Id`.
    PointsAtDuplicate,
    /// A Salesforce account deleted at the source before the first sync (with its contacts and cases).
    SfDeletedAccount,
    /// A Zendesk organization, Intercom company or Intercom contact naming a filtered-out account.
    PointsAtFilteredAccount,
    /// A Salesforce contact or case whose `AccountId` is a filtered-out account's `Id`.
    CrmFilteredAccount,
    /// A Salesforce contact of a filtered-out account whose email is evidence for another account.
    FilteredDespiteEmail,
    /// A Zendesk user or Intercom contact whose organization or company is rejected, with no
    /// evidence for its email; an Intercom conversation of a contact rejected as ambiguous.
    ThroughRejectedParent,
    /// `"100042.0"` for `"100042"`.
    FloatFormattedId,
    /// `"100042 "` for `"100042"`.
    TrailingSpace,
    /// `"eu-2001"` for `"EU-2001"`.
    CaseDrift,
    /// A Zendesk organization without `external_id` whose domain is an account's website.
    LinkedByDomain,
    /// A Zendesk organization without `external_id` (or a Capsule organisation without its custom
    /// field) whose domain no account has.
    UnknownDomain,
    /// A Zendesk organization without `external_id` whose domain is a free-mail one.
    FreemailDomain,
    /// A Zendesk organization without `external_id` whose domain two accounts have.
    SharedDomain,
    /// A Zendesk organization with neither `external_id` nor domains; a Freshdesk company without
    /// its custom field; a Capsule organisation with neither custom field nor web address.
    NoLinkKeys,
    /// A record decided by an email that linked records of two accounts hold (one of them in an
    /// object synced after the record).
    SharedEmail,
    /// A Zendesk user or Intercom contact whose organization or company is one account's and
    /// whose email is evidence for another: the earlier rule (parent) wins.
    ParentOverEmail,
    /// A record linked by an email whose only evidence is a Zendesk user (an object synced late).
    LateEmailEvidence,
    /// A record whose parent links only through late email evidence.
    LateParent,
    /// A company only in Zendesk, Intercom or Freshdesk, with an id that is no account.
    OnlyInOneSystem,
    /// A Salesforce contact without `AccountId` whose email a linked contact elsewhere has.
    NoAccountIdKnownEmail,
    /// A Salesforce contact without `AccountId` whose email nobody else has.
    NoAccountIdUnknownEmail,
    /// A Salesforce contact with neither `AccountId` nor `Email`.
    NoAccountIdNoEmail,
    /// A Salesforce contact without `AccountId` whose `Email` is not an address (`n/a`).
    NotAnEmail,
    /// An Intercom contact whose `custom_attributes.account_id` is a JSON number (`100042`).
    NumericAccountAttribute,
    /// An Intercom contact whose `custom_attributes.account_id` is `100042.5`.
    NonIntegralAccountAttribute,
    /// A Zendesk or Freshdesk ticket deleted (status `deleted` in the export, in Freshdesk's trash).
    DeletedTicket,
    /// A Salesforce contact or case, or a Freshdesk contact, deleted at the source.
    DeletedAtSource,
    /// A Freshdesk contact outside any company whose email is typed in another case than the
    /// customer's own contact's (`ADA.BERG@ACME.IO`): it links by that email all the same.
    EmailInAnotherCase,
    /// A Capsule organisation without the custom field whose web address is typed by hand
    /// (`www.acme.io`, `http://acme.io/`, `HTTP://WWW.ACME.IO/`): its domain links it.
    WebsiteTypedByHand,
    /// A JIRA issue carrying only a support id (the Salesforce account's `Support_ID__c`).
    JiraSupportIdOnly,
    /// A JIRA issue whose support id no account has.
    JiraUnknownSupportId,
    /// A Keap contact of a company with several contacts (by its ContactID, or its company).
    KeapSeveralContactsOfOneCompany,

    // The second day (`Company::delete_some`).
    /// A Salesforce account holding an active account, deleted: its account goes on the delete list.
    DeletedSorAccount,
    /// A Salesforce contact or case deleted with its account.
    DeletedWithItsAccount,
    /// A record naming a deleted account by its id.
    PointsAtDeletedAccount,
    /// A record that linked to a deleted account through a parent or an email.
    LinkedThroughDeletedAccount,
    /// A Zendesk user, Intercom contact or Salesforce contact deleted.
    DeletedRecord,
    /// A record linked by an email whose only evidence was deleted.
    EvidenceDeleted,
    /// A record whose parent was deleted.
    ParentDeleted,
    /// A record decided by a shared email whose second holder was deleted, or linked through
    /// one: it now links.
    SecondHolderDeleted,
}

impl Problem {
    /// The problems of the generated data.
    pub const ALL: [Problem; 38] = [
        Problem::SfMissingAccountId,
        Problem::SfMissingName,
        Problem::SfFilteredType,
        Problem::SfDuplicateAccountId,
        Problem::SfDuplicateSyncedFirst,
        Problem::SfDuplicateHolder,
        Problem::PointsAtDuplicate,
        Problem::SfDeletedAccount,
        Problem::PointsAtFilteredAccount,
        Problem::CrmFilteredAccount,
        Problem::FilteredDespiteEmail,
        Problem::ThroughRejectedParent,
        Problem::FloatFormattedId,
        Problem::TrailingSpace,
        Problem::CaseDrift,
        Problem::LinkedByDomain,
        Problem::UnknownDomain,
        Problem::FreemailDomain,
        Problem::SharedDomain,
        Problem::NoLinkKeys,
        Problem::SharedEmail,
        Problem::ParentOverEmail,
        Problem::LateEmailEvidence,
        Problem::LateParent,
        Problem::OnlyInOneSystem,
        Problem::NoAccountIdKnownEmail,
        Problem::NoAccountIdUnknownEmail,
        Problem::NoAccountIdNoEmail,
        Problem::NotAnEmail,
        Problem::NumericAccountAttribute,
        Problem::NonIntegralAccountAttribute,
        Problem::DeletedTicket,
        Problem::DeletedAtSource,
        Problem::EmailInAnotherCase,
        Problem::WebsiteTypedByHand,
        Problem::JiraSupportIdOnly,
        Problem::JiraUnknownSupportId,
        Problem::KeapSeveralContactsOfOneCompany,
    ];

    /// The problems the second day plants.
    pub const SECOND_DAY: [Problem; 8] = [
        Problem::DeletedSorAccount,
        Problem::DeletedWithItsAccount,
        Problem::PointsAtDeletedAccount,
        Problem::LinkedThroughDeletedAccount,
        Problem::DeletedRecord,
        Problem::EvidenceDeleted,
        Problem::ParentDeleted,
        Problem::SecondHolderDeleted,
    ];
}

/// What the generator meant a planted record to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Outcome(Expected),
    /// Deleted at its source.
    Tombstone,
}

/// One planted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    pub problem: Problem,
    pub record: RecordKey,
    pub intent: Intent,
}

/// A generated company and where it lives in each system.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub seed: u64,
    pub size: usize,
    pub salesforce: SalesforceData,
    pub zendesk: ZendeskData,
    pub intercom: IntercomData,
    pub planted: Vec<Planted>,
    pub delighted: DelightedData,
    pub desk: DeskData,
    /// What every link key means: the truth's source.
    pub(crate) ledger: Ledger,
    /// Situations the second day can delete.
    scenarios: Scenarios,
    pub freshdesk: FreshdeskData,
    pub capsule: CapsuleData,
    pub jira: JiraData,
    pub keap: KeapData,
    pub stripe: StripeData,
    pub recurly: crate::recurly::model::RecurlyData,
    pub maxio: crate::maxio::model::MaxioData,
    pub chargebee: ChargebeeData,
    pub zuora: crate::zuora::model::ZuoraData,
    /// The Zuora subscription whose charge's `MRR` was planted off its price: `accord doctor`
    /// lists it.
    pub zuora_mrr_plant: Option<String>,
    pub xero: crate::xero::model::XeroData,
    pub braintree: crate::braintree::model::BraintreeData,
    /// Each billing subscription's revenue (Stripe's, Recurly's, Maxio's, Chargebee's, Zuora's, Xero's) as the generator means it.
    pub(crate) billing: Vec<crate::billing::Terms>,
}

/// What the second day deleted ([`Company::delete_some`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecondDay {
    /// The records to delete at their sources: Salesforce accounts first, then Zendesk users,
    /// Intercom contacts and Salesforce contacts.
    pub deleted: Vec<RecordKey>,
    /// The Salesforce contacts and cases whose `AccountId` is a deleted account's: Salesforce
    /// deletes them with the account (and so does the emulator's `delete`).
    pub cascaded: Vec<RecordKey>,
    /// The accounts the deletions put on the delete list.
    pub deleted_accounts: Vec<String>,
    /// What the deletions were planted to cause.
    pub planted: Vec<Planted>,
}

impl Company {
    /// Generates `size` customer companies from `seed`. Same inputs, same company.
    pub fn generate(seed: u64, size: usize) -> Company {
        Generator::new(seed, size).run()
    }

    /// The ground truth of this data (see [`crate::truth`]), deletions of the second day included.
    pub fn truth(&self) -> Truth {
        self.ledger.truth()
    }

    /// The MRR each account must show at each month end up to `through` (the last day counted),
    /// in US cents at the sandbox's rates ([`crate::billing::RATES`]), computed from the
    /// generator's own terms for the subscriptions `truth` links to each account. Months without
    /// revenue are absent.
    pub fn expected_mrr(
        &self,
        truth: &Truth,
        through: chrono::NaiveDate,
    ) -> std::collections::BTreeMap<String, std::collections::BTreeMap<chrono::NaiveDate, i64>> {
        crate::billing::expected_mrr(&self.billing, truth, through)
    }

    /// The subscriptions the generator upgrades or downgrades mid-cycle, as `source/object/id`:
    /// their history before the change is only in their invoices.
    pub fn changed_subscriptions(&self) -> Vec<String> {
        self.billing
            .iter()
            .filter(|t| !t.changes.is_empty())
            .map(|t| format!("{}/{}/{}", t.subscription.source, t.subscription.object, t.subscription.native_id))
            .collect()
    }

    /// How many records each system holds, deleted ones included.
    pub fn record_count(&self) -> usize {
        let (s, z, i) = (&self.salesforce, &self.zendesk, &self.intercom);
        s.accounts.len()
            + s.contacts.len()
            + s.cases.len()
            + z.organizations.len()
            + z.users.len()
            + z.tickets.len()
            + i.companies.len()
            + i.contacts.len()
            + i.conversations.len()
            + self.delighted.survey_responses.len()
            + self.desk.companies.len()
            + self.desk.customers.len()
            + self.desk.cases.len()
            + self.freshdesk.companies.len()
            + self.freshdesk.contacts.len()
            + self.freshdesk.tickets.len()
            + self.capsule.parties.len()
            + self.jira.issues.len()
            + self.keap.companies.len()
            + self.keap.contacts.len()
            + self.stripe.customers.len()
            + self.stripe.subscriptions.len()
            + self.stripe.invoices.len()
            + self.recurly.accounts.len()
            + self.recurly.subscriptions.len()
            + self.recurly.invoices.len()
            + self.maxio.customers.len()
            + self.maxio.subscriptions.len()
            + self.maxio.invoices.len()
            + self.maxio.deleted_customers.len()
            + self.chargebee.customers.len()
            + self.chargebee.subscriptions.len()
            + self.chargebee.invoices.len()
            + self.zuora.accounts.len()
            + self.zuora.subscriptions.len()
            + self.zuora.invoices.len()
            + self.xero.contacts.len()
            + self.xero.invoices.iter().filter(|i| i.kind == "ACCREC").count()
            + self.xero.payments.len()
            + self.xero.repeating_invoices.len()
            + self.braintree.customers.len()
            + self.braintree.transactions.len()
            + self.braintree.subscriptions.len()
    }

    /// The second day: deletes a planted set of records, chosen by `seed` among the situations
    /// the generator set up: System of Record accounts with contacts, cases and records in the
    /// other systems (at most one account in a hundred); Zendesk users whose email was the only
    /// evidence for other records; the second holder of a shared email; Intercom contacts whose
    /// email was evidence and who have conversations; Salesforce contacts with a case that links
    /// through them (about half of each, at least one). The data changes as each source shows a deletion (a Salesforce
    /// deletion date and its cascade, a Zendesk user's `active: false`; Intercom contacts are
    /// gone), and [`Company::truth`] is then the truth after a sync before and a sync after the
    /// deletions. Returns what was deleted and what that was meant to cause.
    ///
    /// To test a hub across the two days: start a sandbox with the company, sync, delete
    /// [`SecondDay::deleted`] through the emulators (a clone of the company given `delete_some`
    /// the same seed says what), sync again, and compare with the clone's truth or with
    /// [`crate::Sandbox::truth`], which sees the deletions in the emulators.
    pub fn delete_some(&mut self, seed: u64) -> SecondDay {
        let before = self.truth();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut day = SecondDay::default();
        let l = &self.ledger;
        let live = |ix: Ix| l.entry(ix).gone == Gone::Live;
        let key = |ix: Ix| &l.entry(ix).key;
        let unknown = || Intent::Outcome(Expected::rejected(reason::UNKNOWN_ACCOUNT));
        let s = &self.scenarios;
        let mut gone: Vec<Ix> = Vec::new();

        // About one account in a hundred churns.
        let accounts = (self.size / 100).max(1);
        for sc in half(&mut rng, s.accounts.iter().filter(|sc| live(sc.holder)), accounts) {
            gone.push(sc.holder);
            plant(&mut day, Problem::DeletedSorAccount, key(sc.holder), Intent::Tombstone);
            day.deleted_accounts.push(l.account_id(sc.account).to_owned());
            for &ix in sc.cascade.iter().filter(|&&ix| live(ix)) {
                gone.push(ix);
                plant(&mut day, Problem::DeletedWithItsAccount, key(ix), Intent::Tombstone);
                day.cascaded.push(key(ix).clone());
            }
            // Every other record of a plain customer leads to its account and nowhere else: those
            // naming the account by its id now point at a deleted account, the rest at nothing.
            let linked = |ix: Ix| before.records.get(key(ix)).and_then(Expected::account_id).is_some();
            for &ix in sc.others.iter().filter(|&&ix| live(ix) && linked(ix)) {
                // Every other rule of a plain customer's record fails without ending the search.
                let names_it = matches!(&l.entry(ix).plan, Plan::Rules { steps, .. }
                    if steps.iter().any(|s| s.key == Key::Account(sc.account)
                        || s.key == Key::Support(sc.holder)
                        || s.key == Key::Billing(sc.holder)));
                if names_it {
                    let intent = Intent::Outcome(Expected::rejected(reason::DELETED_ACCOUNT));
                    plant(&mut day, Problem::PointsAtDeletedAccount, key(ix), intent);
                } else {
                    plant(&mut day, Problem::LinkedThroughDeletedAccount, key(ix), unknown());
                }
            }
        }
        for sc in half(&mut rng, s.late.iter().filter(|sc| live(sc.user)), usize::MAX) {
            gone.push(sc.user);
            plant(&mut day, Problem::DeletedRecord, key(sc.user), Intent::Tombstone);
            for &ix in &sc.by_email {
                plant(&mut day, Problem::EvidenceDeleted, key(ix), unknown());
            }
            for &ix in &sc.through {
                plant(&mut day, Problem::ParentDeleted, key(ix), unknown());
            }
        }
        for sc in half(&mut rng, s.agencies.iter().filter(|sc| live(sc.second)), usize::MAX) {
            gone.push(sc.second);
            plant(&mut day, Problem::DeletedRecord, key(sc.second), Intent::Tombstone);
            let first = l.account_id(sc.first);
            let intent = Intent::Outcome(Expected::linked(first, By::new("email", 2)));
            plant(&mut day, Problem::SecondHolderDeleted, key(sc.decided), intent);
            for &ix in &sc.conversations {
                let intent = Intent::Outcome(Expected::linked(first, By::new("parent", 0)));
                plant(&mut day, Problem::SecondHolderDeleted, key(ix), intent);
            }
        }
        for sc in half(&mut rng, s.ic_evidence.iter().filter(|sc| live(sc.contact)), usize::MAX) {
            gone.push(sc.contact);
            plant(&mut day, Problem::DeletedRecord, key(sc.contact), Intent::Tombstone);
            plant(&mut day, Problem::EvidenceDeleted, key(sc.by_email), unknown());
            for &ix in &sc.conversations {
                plant(&mut day, Problem::ParentDeleted, key(ix), unknown());
            }
        }
        for sc in half(&mut rng, s.lone.iter().filter(|sc| live(sc.contact)), usize::MAX) {
            gone.push(sc.contact);
            plant(&mut day, Problem::DeletedRecord, key(sc.contact), Intent::Tombstone);
            plant(&mut day, Problem::ParentDeleted, key(sc.case), unknown());
        }

        let cascaded: HashSet<&RecordKey> = day.cascaded.iter().collect();
        day.deleted = gone.iter().map(|&ix| key(ix)).filter(|k| !cascaded.contains(k)).cloned().collect();
        let keys: HashSet<RecordKey> = gone.iter().map(|&ix| key(ix).clone()).collect();
        for ix in gone {
            self.ledger.set_gone(ix, Gone::Later);
        }
        self.remove(&keys);
        day.planted.sort_by(|a, b| (a.problem, &a.record).cmp(&(b.problem, &b.record)));
        day
    }

    /// Deletes records from the data as each source shows a deletion.
    fn remove(&mut self, keys: &HashSet<RecordKey>) {
        let keys: HashSet<(&str, &str)> = keys.iter().map(|k| (k.object, k.native_id.as_str())).collect();
        let has = |object: &str, id: &str| keys.contains(&(object, id));
        let when = at(AS_OF - 60);
        let sf = &mut self.salesforce;
        for a in sf.accounts.iter_mut().filter(|a| has("Account", &a.id)) {
            a.deleted_at = Some(when);
            a.system_modstamp = when;
        }
        for c in sf.contacts.iter_mut().filter(|c| has("Contact", &c.id)) {
            c.deleted_at = Some(when);
            c.system_modstamp = when;
        }
        for c in sf.cases.iter_mut().filter(|c| has("Case", &c.id)) {
            c.deleted_at = Some(when);
            c.system_modstamp = when;
        }
        let z = &mut self.zendesk;
        z.organizations.retain(|o| !has("organizations", &o.id.to_string()));
        // Zendesk keeps a deleted user, with `active: false`, in its exports.
        for u in z.users.iter_mut().filter(|u| has("users", &u.id.to_string())) {
            u.active = false;
            u.updated_at = when;
        }
        for t in z.tickets.iter_mut().filter(|t| has("tickets", &t.id.to_string())) {
            t.status = "deleted".into();
            t.updated_at = when;
        }
        let i = &mut self.intercom;
        i.companies.retain(|c| !has("companies", &c.id));
        i.contacts.retain(|c| !has("contacts", &c.id));
        i.conversations.retain(|c| !has("conversations", &c.id));
        count_company_users(i);
    }
}

fn plant(day: &mut SecondDay, problem: Problem, record: &RecordKey, intent: Intent) {
    day.planted.push(Planted { problem, record: record.clone(), intent });
}

/// About half of the items but at most `most`, and at least one when there is one, chosen by `rng`.
fn half<'a, T>(rng: &mut ChaCha8Rng, items: impl Iterator<Item = &'a T>, most: usize) -> Vec<&'a T> {
    let items: Vec<&T> = items.collect();
    let want = items.len().div_ceil(2).min(most.max(1));
    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    while chosen.len() < want {
        chosen.insert(rng.random_range(0..items.len()));
    }
    chosen.into_iter().map(|i| items[i]).collect()
}

fn count_company_users(c: &mut IntercomData) {
    let mut counts = HashMap::new();
    for contact in &c.contacts {
        for company in &contact.company_ids {
            *counts.entry(company.clone()).or_insert(0i64) += 1;
        }
    }
    for company in &mut c.companies {
        company.user_count = counts.get(&company.id).copied().unwrap_or(0);
    }
}

/// Situations the second day can delete, recorded as the generator makes them.
#[derive(Debug, Clone, Default, PartialEq)]
struct Scenarios {
    accounts: Vec<AccountScenario>,
    late: Vec<LateEvidence>,
    agencies: Vec<Agency>,
    ic_evidence: Vec<IntercomEvidence>,
    lone: Vec<LoneContact>,
}

/// A plain customer: every record of it leads to its account and nothing else does.
#[derive(Debug, Clone, PartialEq)]
struct AccountScenario {
    account: AccountIx,
    holder: Ix,
    /// Its Salesforce contacts and cases carrying its `Id` in `AccountId`.
    cascade: Vec<Ix>,
    /// Its other records.
    others: Vec<Ix>,
}

/// A Zendesk user whose email is the only evidence for other records.
#[derive(Debug, Clone, PartialEq)]
struct LateEvidence {
    user: Ix,
    /// Records linked by that email.
    by_email: Vec<Ix>,
    /// Records linked through the user or through records linked by its email.
    through: Vec<Ix>,
}

/// A shared email: `decided` (an Intercom lead) is ambiguous while `second` (the Zendesk user)
/// holds it, and so are its conversations.
#[derive(Debug, Clone, PartialEq)]
struct Agency {
    second: Ix,
    decided: Ix,
    conversations: Vec<Ix>,
    first: AccountIx,
}

/// An Intercom contact whose email is the only evidence for a Salesforce contact.
#[derive(Debug, Clone, PartialEq)]
struct IntercomEvidence {
    contact: Ix,
    by_email: Ix,
    conversations: Vec<Ix>,
}

/// A Salesforce contact and a case linked only through it.
#[derive(Debug, Clone, PartialEq)]
struct LoneContact {
    contact: Ix,
    case: Ix,
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Cara", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noor",
    "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Anna",
    "Bruno", "Chloe", "Diego", "Emma", "Felix",
];
const LAST: &[&str] = &[
    "Adams", "Berg", "Costa", "Dubois", "Eklund", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Larsen",
    "Moreau", "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Xu",
    "Yilmaz", "Zhang", "Novak", "Silva",
];
const ADJ: &[&str] = &[
    "Blue", "Bright", "North", "Silver", "Rapid", "Quiet", "Red", "Green", "Iron", "Clear", "Swift", "Golden", "Urban",
    "Prime", "Bold", "Lunar", "Solar", "Polar", "Coastal", "Summit",
];
const NOUN: &[&str] = &[
    "Harbor", "Peak", "Field", "River", "Forge", "Pine", "Stone", "Wave", "Bridge", "Orbit", "Cedar", "Falcon", "Lake",
    "Mesa", "Grove", "Signal", "Atlas", "Beacon", "Vertex", "Canyon",
];
const SUFFIX: &[&str] =
    &["Labs", "Systems", "Group", "Analytics", "Logistics", "Health", "Foods", "Media", "Works", "GmbH"];
const TLD: &[&str] = &["com", "com", "com", "io", "co", "net", "de", "fr", "co.uk"];
const INDUSTRY: &[&str] = &["Software", "Retail", "Logistics", "Healthcare", "Manufacturing", "Media", "Finance"];
const PLANS: &[&str] = &["Starter", "Growth", "Pro", "Enterprise"];
const SUBJECTS: &[&str] = &[
    "Cannot log in",
    "Invoice shows the wrong amount",
    "Export to CSV times out",
    "Add a new admin user",
    "SSO configuration question",
    "API rate limit reached",
    "Feature request: dark mode",
    "Data missing from dashboard",
    "Cancel our subscription",
    "Upgrade to annual plan",
    "Webhook deliveries failing",
    "Password reset email never arrives",
];

/// How a company's Salesforce account looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SfFate {
    Customer,
    Filtered(&'static str),
    MissingAccountId,
    MissingName,
    Deleted,
}

/// How a company's Zendesk organization looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZdFate {
    Absent,
    Exact,
    FloatId,
    TrailingSpace,
    LinkedByDomain,
    UnknownDomain,
    Freemail,
    NoKeys,
    SharedDomain,
}

/// How a company's Intercom company looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IcFate {
    Absent,
    Exact,
    FloatId,
    CaseDrift,
}

/// What is special about one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PersonFate {
    Plain,
    NoAccountIdKnownEmail,
    NoAccountIdUnknownEmail,
    NoAccountIdNoEmail,
    NotAnEmail,
    NumericAccountAttribute,
    NonIntegralAccountAttribute,
}

#[derive(Debug, Clone)]
struct Person {
    first: &'static str,
    last: &'static str,
    email: String,
    address: EmailIx,
    fate: PersonFate,
    in_sf: bool,
    in_zd: bool,
    in_ic: bool,
}

#[derive(Debug, Clone)]
struct Org {
    account_id: String,
    name: String,
    domain: String,
    /// The SF `Website`; another company's domain for the second half of a shared domain.
    website: String,
    /// The domain `website` has.
    website_domain: String,
    created: i64,
    sf: SfFate,
    zd: ZdFate,
    ic: IcFate,
    /// Another company's domain is our website: our own domain must not decide anything.
    website_taken: bool,
    /// Used by a plant that spans companies: keep it out of other such plants.
    reserved: bool,
    /// Every person is `PersonFate::Plain`.
    plain_people: bool,
    sf_id: String,
    account: Option<AccountIx>,
    sf_ix: Ix,
    zd_id: Option<u64>,
    zd_ix: Option<Ix>,
    ic_id: Option<String>,
    ic_ix: Option<Ix>,
    /// Its Salesforce contacts and cases with its `Id` in `AccountId`.
    carrying_sf_id: Vec<Ix>,
    /// Its other records.
    records: Vec<Ix>,
}

/// A record the generator made: its id and its ledger entry.
struct Made<Id> {
    id: Id,
    ix: Ix,
}

struct Generator {
    rng: ChaCha8Rng,
    size: usize,
    seed: u64,
    out: Company,
    orgs: Vec<Org>,
    sf_seq: [u64; 3],
    zd_user_seq: u64,
    zd_ticket_seq: u64,
    ic_seq: u64,
    ic_conversation_seq: u64,
    emails: HashMap<String, EmailIx>,
    domains: HashMap<String, DomainIx>,
    zd_orgs: HashMap<u64, Ix>,
    ic_companies: HashMap<String, Ix>,
    dl_seq: u64,
    desk_seq: u64,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn rejected(reason: &'static str) -> Intent {
    Intent::Outcome(Expected::rejected(reason))
}

fn linked(account_id: &str, rule: &'static str, index: usize) -> Intent {
    Intent::Outcome(Expected::linked(account_id, By::new(rule, index)))
}

impl Generator {
    fn new(seed: u64, size: usize) -> Self {
        let empty = Company {
            seed,
            size,
            salesforce: SalesforceData::default(),
            zendesk: ZendeskData::default(),
            intercom: IntercomData::default(),
            planted: Vec::new(),
            ledger: Ledger::default(),
            scenarios: Scenarios::default(),
            delighted: DelightedData::default(),
            desk: DeskData::default(),
            freshdesk: FreshdeskData::default(),
            capsule: CapsuleData::default(),
            jira: JiraData::default(),
            keap: KeapData::default(),
            stripe: StripeData::default(),
            recurly: Default::default(),
            maxio: Default::default(),
            chargebee: ChargebeeData::default(),
            zuora: Default::default(),
            zuora_mrr_plant: None,
            xero: Default::default(),
            braintree: Default::default(),
            billing: Vec::new(),
        };
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            size,
            seed,
            out: empty,
            orgs: Vec::with_capacity(size),
            sf_seq: [0; 3],
            zd_user_seq: 0,
            zd_ticket_seq: 0,
            ic_seq: 0,
            ic_conversation_seq: 0,
            emails: HashMap::new(),
            domains: HashMap::new(),
            zd_orgs: HashMap::new(),
            ic_companies: HashMap::new(),
            dl_seq: 0,
            desk_seq: 0,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// A time between `from` and `AS_OF` (exclusive), skewed to neither end.
    fn between(&mut self, from: i64) -> i64 {
        let from = from.min(AS_OF - 2);
        self.rng.random_range(from + 1..AS_OF)
    }

    fn plant(&mut self, problem: Problem, record: RecordKey, intent: Intent) {
        self.out.planted.push(Planted { problem, record, intent });
    }

    fn plant_ix(&mut self, problem: Problem, ix: Ix, intent: Intent) {
        let record = self.out.ledger.entry(ix).key.clone();
        self.plant(problem, record, intent);
    }

    /// The ledger's entry for an address this generator wrote (lower-case, as people are given
    /// one); each system may case it differently.
    fn address(&mut self, email: &str) -> EmailIx {
        if let Some(e) = self.emails.get(email) {
            return *e;
        }
        let e = self.out.ledger.email(email);
        self.emails.insert(email.to_owned(), e);
        e
    }

    fn domain(&mut self, domain: &str) -> DomainIx {
        if let Some(d) = self.domains.get(domain) {
            return *d;
        }
        let d = self.out.ledger.domain(domain);
        self.domains.insert(domain.to_owned(), d);
        d
    }

    fn account(&self, i: usize) -> AccountIx {
        self.orgs[i].account.expect("accounts are made with the Salesforce records")
    }

    fn next_sf_id(&mut self, object: SObject) -> String {
        let slot = object as usize;
        self.sf_seq[slot] += 1;
        // The seed shifts the range so two companies do not share ids.
        sf_id(object, (self.seed % 1000) * 10_000_000 + self.sf_seq[slot])
    }

    fn run(mut self) -> Company {
        self.companies();
        self.guarantee_every_problem();
        self.shared_domains();
        for i in 0..self.orgs.len() {
            self.salesforce_account(i);
        }
        self.duplicate_accounts();
        let people: Vec<Vec<Person>> = (0..self.orgs.len()).map(|i| self.people(i)).collect();
        for (i, ps) in people.iter().enumerate() {
            self.salesforce_people(i, ps);
        }
        for i in 0..self.orgs.len() {
            self.zendesk_organization(i);
        }
        self.zendesk_only_companies();
        for (i, ps) in people.iter().enumerate() {
            self.zendesk_people(i, ps);
        }
        self.zendesk_agents();
        for i in 0..self.orgs.len() {
            self.intercom_company(i);
        }
        self.intercom_only_companies();
        for (i, ps) in people.iter().enumerate() {
            self.intercom_people(i, ps);
        }
        if self.size >= 40 {
            self.shared_emails();
            self.moved_people();
            self.late_evidence();
            self.filtered_despite_email();
            self.intercom_evidence();
            self.contacts_with_their_own_case();
        }
        self.delighted(&people);
        self.desk(&people);
        self.freshdesk(&people);
        self.capsule(&people);
        self.jira();
        self.keap();
        self.stripe(&people);
        self.recurly(&people);
        self.maxio(&people);
        self.chargebee(&people);
        self.zuora();
        self.xero(&people);
        self.braintree(&people);
        self.plain_accounts();
        self.finish()
    }

    fn companies(&mut self) {
        let span = (AS_OF - START - 400 * 86_400).max(1);
        let step = (span / self.size.max(1) as i64).max(1);
        for i in 0..self.size {
            let eu = self.chance(0.12);
            let account_id = if eu { format!("EU-{}", 2000 + i) } else { (100_000 + i).to_string() };
            let (adj, noun, suffix) = (self.pick(ADJ), self.pick(NOUN), self.pick(SUFFIX));
            let name = format!("{adj} {noun} {suffix}");
            let tld = self.pick(TLD);
            let domain = format!("{}{}{}.{tld}", adj.to_lowercase(), noun.to_lowercase(), i);
            let website = match self.rng.random_range(0..3) {
                0 => format!("https://www.{domain}"),
                1 => format!("www.{domain}"),
                _ => domain.clone(),
            };
            let created = START + i as i64 * step + self.rng.random_range(0..step);
            let roll: f64 = self.rng.random();
            let sf = match roll {
                r if r < 0.045 => SfFate::Filtered("Prospect"),
                r if r < 0.06 => SfFate::Filtered("Partner"),
                r if r < 0.07 => SfFate::MissingAccountId,
                r if r < 0.075 => SfFate::MissingName,
                r if r < 0.082 => SfFate::Deleted,
                _ => SfFate::Customer,
            };
            let mut zd = if self.chance(0.9) { ZdFate::Exact } else { ZdFate::Absent };
            let mut ic = if self.chance(0.85) { IcFate::Exact } else { IcFate::Absent };
            if sf == SfFate::Customer {
                let roll: f64 = self.rng.random();
                zd = match roll {
                    r if r < 0.02 => ZdFate::FloatId,
                    r if r < 0.035 => ZdFate::TrailingSpace,
                    r if r < 0.135 => ZdFate::LinkedByDomain,
                    r if r < 0.15 => ZdFate::UnknownDomain,
                    r if r < 0.157 => ZdFate::Freemail,
                    r if r < 0.167 => ZdFate::NoKeys,
                    _ => zd,
                };
                let roll: f64 = self.rng.random();
                ic = match roll {
                    r if r < 0.02 => IcFate::FloatId,
                    r if r < 0.035 && eu => IcFate::CaseDrift,
                    _ => ic,
                };
            }
            self.orgs.push(Org {
                account_id,
                name,
                website_domain: domain.clone(),
                domain,
                website,
                created,
                sf,
                zd,
                ic,
                website_taken: false,
                reserved: false,
                plain_people: true,
                sf_id: String::new(),
                account: None,
                sf_ix: 0,
                zd_id: None,
                zd_ix: None,
                ic_id: None,
                ic_ix: None,
                carrying_sf_id: Vec::new(),
                records: Vec::new(),
            });
        }
    }

    /// Gives every company-level problem at least one company when there are enough companies,
    /// choosing plain customers at random.
    fn guarantee_every_problem(&mut self) {
        if self.size < 40 {
            return;
        }
        let wanted_sf = [SfFate::Filtered("Prospect"), SfFate::MissingAccountId, SfFate::MissingName, SfFate::Deleted];
        for fate in wanted_sf {
            if !self.orgs.iter().any(|o| o.sf == fate) {
                let i = self.plain_company();
                self.orgs[i].sf = fate;
                self.orgs[i].zd = ZdFate::Exact;
                self.orgs[i].ic = IcFate::Exact;
            }
        }
        if !self.orgs.iter().any(|o| matches!(o.sf, SfFate::Filtered(_)) && o.zd == ZdFate::Exact) {
            let i = self.orgs.iter().position(|o| matches!(o.sf, SfFate::Filtered(_))).unwrap_or(0);
            self.orgs[i].zd = ZdFate::Exact;
            self.orgs[i].ic = IcFate::Exact;
        }
        let wanted_zd = [
            ZdFate::FloatId,
            ZdFate::TrailingSpace,
            ZdFate::LinkedByDomain,
            ZdFate::UnknownDomain,
            ZdFate::Freemail,
            ZdFate::NoKeys,
        ];
        for fate in wanted_zd {
            if !self.orgs.iter().any(|o| o.zd == fate) {
                let i = self.plain_company();
                self.orgs[i].zd = fate;
            }
        }
        for fate in [IcFate::FloatId, IcFate::CaseDrift] {
            if !self.orgs.iter().any(|o| o.ic == fate) {
                let i = self.plain_company();
                self.orgs[i].ic = fate;
                if fate == IcFate::CaseDrift && !self.orgs[i].account_id.starts_with("EU-") {
                    self.orgs[i].account_id = format!("EU-{}", 2000 + i);
                }
            }
        }
    }

    /// A random customer with plain records everywhere, not used by a plant spanning companies.
    fn plain_company(&mut self) -> usize {
        let plain: Vec<usize> = (0..self.orgs.len())
            .filter(|&i| {
                let o = &self.orgs[i];
                o.sf == SfFate::Customer
                    && o.zd == ZdFate::Exact
                    && o.ic == IcFate::Exact
                    && !o.reserved
                    && !o.website_taken
            })
            .collect();
        plain[self.rng.random_range(0..plain.len())]
    }

    /// A plain company, reserved for the plant that asks.
    fn reserve(&mut self) -> usize {
        let i = self.plain_company();
        self.orgs[i].reserved = true;
        i
    }

    /// Pairs of customers where the second's website is the first's domain, and the first's
    /// Zendesk organization links by domain only: that domain names two accounts.
    fn shared_domains(&mut self) {
        if self.size < 40 {
            return;
        }
        let pairs = (self.size / 200).max(1);
        for _ in 0..pairs {
            let a = self.reserve();
            let b = self.plain_company();
            self.orgs[a].zd = ZdFate::SharedDomain;
            self.orgs[a].reserved = false;
            self.orgs[b].website = format!("https://{}", self.orgs[a].domain);
            self.orgs[b].website_domain = self.orgs[a].domain.clone();
            self.orgs[b].website_taken = true;
        }
    }

    fn salesforce_account(&mut self, i: usize) {
        let id = self.next_sf_id(SObject::Account);
        let o = &self.orgs[i];
        let modstamp = self.rng.random_range(o.created + 1..AS_OF - 86_400 * 2);
        let o = &mut self.orgs[i];
        o.sf_id = id.clone();
        let mut account = sf::Account {
            id: id.clone(),
            name: Some(o.name.clone()),
            account_type: Some("Customer".into()),
            website: Some(o.website.clone()),
            account_id: Some(o.account_id.clone()),
            created_date: at(o.created),
            system_modstamp: at(modstamp),
            deleted_at: None,
            support_id: None,
            billing_id: None,
        };
        let fate = o.sf;
        let (account_id, website_domain) = (o.account_id.clone(), o.website_domain.clone());
        let a = self.out.ledger.account(&account_id);
        self.orgs[i].account = Some(a);
        let key = RecordKey::new(SALESFORCE, "Account", &id);
        let (carried, kind, gone) = match fate {
            SfFate::Customer => (Some(a), SorKind::Customer, Gone::Live),
            SfFate::Filtered(kind) => {
                account.account_type = Some(kind.into());
                self.plant(Problem::SfFilteredType, key.clone(), rejected(reason::FILTERED_ACCOUNT));
                (Some(a), SorKind::Filtered, Gone::Live)
            }
            SfFate::MissingAccountId => {
                account.account_id = None;
                self.plant(Problem::SfMissingAccountId, key.clone(), rejected(reason::MISSING_REQUIRED_FIELD));
                (None, SorKind::MissingField, Gone::Live)
            }
            SfFate::MissingName => {
                account.name = None;
                self.plant(Problem::SfMissingName, key.clone(), rejected(reason::MISSING_REQUIRED_FIELD));
                (Some(a), SorKind::MissingField, Gone::Live)
            }
            SfFate::Deleted => {
                let deleted = AS_OF - self.rng.random_range(3_600..259_200);
                account.deleted_at = Some(at(deleted));
                account.system_modstamp = at(deleted);
                self.plant(Problem::SfDeletedAccount, key.clone(), Intent::Tombstone);
                (Some(a), SorKind::Customer, Gone::BeforeFirstSync)
            }
        };
        let ix = self.out.ledger.push(key, Plan::Sor { account: carried, kind }, gone);
        self.orgs[i].sf_ix = ix;
        if matches!(kind, SorKind::Customer | SorKind::Filtered) {
            let website = self.domain(&website_domain);
            let truth = AccountTruth {
                account_id,
                name: account.name.clone().unwrap_or_default(),
                join_date: account.created_date,
                crm_account_id: id,
                website: account.website.clone(),
            };
            self.out.ledger.hold(ix, truth, Some(website));
        }
        self.out.salesforce.accounts.push(account);
    }

    /// Second Salesforce accounts carrying a customer's account id. They are created later, so
    /// their `Id` is higher and the first record holds the account. Half of them were last
    /// modified before the holder, so a sync reads them first; each has a case pointing at it.
    fn duplicate_accounts(&mut self) {
        if self.size < 40 {
            return;
        }
        for _ in 0..(self.size / 200).max(1) {
            for synced_first in [false, true] {
                let i = self.reserve();
                let a = self.account(i);
                let holder_ix = self.orgs[i].sf_ix;
                let original = self.out.salesforce.accounts[i].clone();
                let id = self.next_sf_id(SObject::Account);
                assert!(original.id < id, "the holder has the lower Id");
                let (created, modstamp) = if synced_first {
                    // The holder was touched last: make sure there is room before it.
                    let holder_modstamp =
                        original.system_modstamp.timestamp().max(original.created_date.timestamp() + 86_400);
                    self.out.salesforce.accounts[i].system_modstamp = at(holder_modstamp);
                    let created = original.created_date.timestamp();
                    (created, self.rng.random_range(created..holder_modstamp))
                } else {
                    let created = self.between(original.system_modstamp.timestamp());
                    (created, self.between(created.max(original.system_modstamp.timestamp())))
                };
                self.out.salesforce.accounts.push(sf::Account {
                    id: id.clone(),
                    name: original.name.clone().map(|n| format!("{n} (old)")),
                    created_date: at(created),
                    system_modstamp: at(modstamp),
                    ..original
                });
                let key = RecordKey::new(SALESFORCE, "Account", &id);
                let dup =
                    self.out.ledger.push(key, Plan::Sor { account: Some(a), kind: SorKind::Duplicate }, Gone::Live);
                let account_id = self.orgs[i].account_id.clone();
                if synced_first {
                    self.plant_ix(Problem::SfDuplicateSyncedFirst, dup, rejected(reason::AMBIGUOUS));
                    self.plant_ix(Problem::SfDuplicateHolder, holder_ix, Intent::Outcome(Expected::holds(account_id)));
                } else {
                    self.plant_ix(Problem::SfDuplicateAccountId, dup, rejected(reason::AMBIGUOUS));
                }
                // An old case filed under the duplicate: its `AccountId` holds no account.
                let case = self.salesforce_case(Some((id, dup)), None, created, None);
                self.plant_ix(Problem::PointsAtDuplicate, case, rejected(reason::UNKNOWN_ACCOUNT));
            }
        }
    }

    /// A Salesforce case under `account` (its `Id` and ledger entry) and `contact`.
    fn salesforce_case(
        &mut self,
        account: Option<(String, Ix)>,
        contact: Option<(String, Ix)>,
        after: i64,
        deleted: Option<DateTime<Utc>>,
    ) -> Ix {
        let id = self.next_sf_id(SObject::Case);
        let created = self.between(after);
        let modstamp = self.between(created);
        let steps = rules::sf_case(account.as_ref().map(|a| Key::Crm(a.1)), contact.as_ref().map(|c| Key::Record(c.1)));
        let gone = if deleted.is_some() { Gone::BeforeFirstSync } else { Gone::Live };
        let ix =
            self.out.ledger.push(RecordKey::new(SALESFORCE, "Case", &id), Plan::Rules { steps, email: None }, gone);
        let case = sf::Case {
            id,
            account_id: account.map(|a| a.0),
            contact_id: contact.map(|c| c.0),
            subject: Some(self.pick(SUBJECTS).into()),
            status: self.pick(&["New", "Working", "Escalated", "Closed", "Closed"]).into(),
            priority: self.pick(&["Low", "Medium", "Medium", "High"]).into(),
            created_date: at(created),
            system_modstamp: deleted.unwrap_or(at(modstamp)),
            deleted_at: deleted,
        };
        self.out.salesforce.cases.push(case);
        ix
    }

    /// A Salesforce contact; `account` is its `AccountId` (an `Id` and its ledger entry), `email`
    /// the `Email` field with what it means.
    fn salesforce_contact(
        &mut self,
        account: Option<(String, Ix)>,
        email: Option<(String, Key)>,
        name: (Option<&str>, String),
        after: i64,
        deleted: Option<DateTime<Utc>>,
    ) -> Made<String> {
        let id = self.next_sf_id(SObject::Contact);
        let created = self.between(after);
        let modstamp = self.between(created);
        let holds = match email.as_ref().map(|e| e.1) {
            Some(Key::Email(address)) => Some(address),
            _ => None,
        };
        let steps = rules::sf_contact(account.as_ref().map(|a| Key::Crm(a.1)), email.as_ref().map(|e| e.1));
        let gone = if deleted.is_some() { Gone::BeforeFirstSync } else { Gone::Live };
        let ix =
            self.out.ledger.push(RecordKey::new(SALESFORCE, "Contact", &id), Plan::Rules { steps, email: holds }, gone);
        self.out.salesforce.contacts.push(sf::Contact {
            id: id.clone(),
            account_id: account.map(|a| a.0),
            email: email.map(|e| e.0),
            first_name: name.0.map(Into::into),
            last_name: name.1,
            created_date: at(created),
            system_modstamp: deleted.unwrap_or(at(modstamp)),
            deleted_at: deleted,
        });
        Made { id, ix }
    }

    fn people(&mut self, i: usize) -> Vec<Person> {
        let n = match self.rng.random_range(0..20) {
            0..=5 => 1,
            6..=14 => 2,
            _ => 3,
        };
        let customer = self.orgs[i].sf == SfFate::Customer;
        let mut out: Vec<Person> = Vec::with_capacity(n);
        for k in 0..n {
            let (first, last) = (self.pick(FIRST), self.pick(LAST));
            let mut email = format!("{}.{}@{}", first.to_lowercase(), last.to_lowercase(), self.orgs[i].domain);
            if out.iter().any(|p| p.email == email) {
                email = format!("{}.{}{k}@{}", first.to_lowercase(), last.to_lowercase(), self.orgs[i].domain);
            }
            let address = self.address(&email);
            let mut p = Person {
                first,
                last,
                email,
                address,
                fate: PersonFate::Plain,
                in_sf: self.chance(0.72),
                in_zd: self.chance(0.7),
                in_ic: self.chance(0.68),
            };
            if customer {
                let numeric = self.orgs[i].account_id.bytes().all(|b| b.is_ascii_digit());
                let roll: f64 = self.rng.random();
                p.fate = match roll {
                    r if r < 0.02 => PersonFate::NoAccountIdKnownEmail,
                    r if r < 0.035 => PersonFate::NoAccountIdUnknownEmail,
                    r if r < 0.045 => PersonFate::NoAccountIdNoEmail,
                    r if r < 0.052 => PersonFate::NotAnEmail,
                    r if r < 0.07 && numeric => PersonFate::NumericAccountAttribute,
                    r if r < 0.08 => PersonFate::NonIntegralAccountAttribute,
                    _ => PersonFate::Plain,
                };
            }
            shape_person(&mut p);
            self.orgs[i].plain_people &= p.fate == PersonFate::Plain;
            out.push(p);
        }
        out
    }

    fn salesforce_people(&mut self, i: usize, people: &[Person]) {
        let o = &self.orgs[i];
        let (sf_id, sf_ix, created, fate) = (o.sf_id.clone(), o.sf_ix, o.created, o.sf);
        let account_id = o.account_id.clone();
        let filtered = matches!(fate, SfFate::Filtered(_));
        let cascade = self.out.salesforce.accounts[i].deleted_at;
        let mut contacts = Vec::new();
        for p in people.iter().filter(|p| p.in_sf) {
            let mut account = Some((sf_id.clone(), sf_ix));
            let mut email = Some((p.email.clone(), Key::Email(p.address)));
            let mut planted = None;
            match p.fate {
                PersonFate::NoAccountIdKnownEmail => {
                    account = None;
                    planted = Some((Problem::NoAccountIdKnownEmail, linked(&account_id, "email", 1)));
                }
                PersonFate::NoAccountIdUnknownEmail => {
                    account = None;
                    planted = Some((Problem::NoAccountIdUnknownEmail, rejected(reason::UNKNOWN_ACCOUNT)));
                }
                PersonFate::NoAccountIdNoEmail => {
                    account = None;
                    email = None;
                    planted = Some((Problem::NoAccountIdNoEmail, rejected(reason::MISSING_KEY)));
                }
                PersonFate::NotAnEmail => {
                    account = None;
                    email = Some(("n/a".into(), Key::Unusable(reason::INVALID_FIELD)));
                    planted = Some((Problem::NotAnEmail, rejected(reason::INVALID_FIELD)));
                }
                _ => {}
            }
            let deleted = match cascade {
                Some(d) => Some(d),
                None if fate == SfFate::Customer && p.fate == PersonFate::Plain && self.chance(0.015) => {
                    Some(at(AS_OF - self.rng.random_range(3_600..259_200)))
                }
                None => None,
            };
            let carries = account.is_some();
            let c = self.salesforce_contact(account, email, (Some(p.first), p.last.into()), created, deleted);
            if let Some((problem, intent)) = planted {
                self.plant_ix(problem, c.ix, intent);
            }
            if deleted.is_some() && cascade.is_none() {
                self.plant_ix(Problem::DeletedAtSource, c.ix, Intent::Tombstone);
            }
            if filtered && carries {
                self.plant_ix(Problem::CrmFilteredAccount, c.ix, rejected(reason::FILTERED_ACCOUNT));
            }
            self.own(i, c.ix, carries);
            if deleted.is_none() {
                contacts.push((c.id, c.ix));
            }
        }
        let cases = match self.rng.random_range(0..10) {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        for _ in 0..cases {
            let contact = if contacts.is_empty() {
                None
            } else {
                Some(contacts[self.rng.random_range(0..contacts.len())].clone())
            };
            let account = if self.chance(0.9) { Some((sf_id.clone(), sf_ix)) } else { None };
            let carries = account.is_some();
            let deleted = match cascade {
                Some(d) => Some(d),
                None if self.chance(0.02) => Some(at(AS_OF - self.rng.random_range(3_600..259_200))),
                None => None,
            };
            let case = self.salesforce_case(account, contact, created, deleted);
            if deleted.is_some() && cascade.is_none() {
                self.plant_ix(Problem::DeletedAtSource, case, Intent::Tombstone);
            }
            if filtered && carries {
                self.plant_ix(Problem::CrmFilteredAccount, case, rejected(reason::FILTERED_ACCOUNT));
            }
            self.own(i, case, carries);
        }
    }

    /// Notes a record of company `i`'s own; `carries_sf_id` for a Salesforce record whose
    /// `AccountId` is the company's.
    fn own(&mut self, i: usize, ix: Ix, carries_sf_id: bool) {
        if carries_sf_id {
            self.orgs[i].carrying_sf_id.push(ix);
        } else {
            self.orgs[i].records.push(ix);
        }
    }

    fn zendesk_organization(&mut self, i: usize) {
        if self.orgs[i].zd == ZdFate::Absent {
            return;
        }
        let id = 360_000_000_000 + i as u64 * 3 + 1;
        let created = self.between(self.orgs[i].created);
        let updated = self.between(created);
        let tier = self.pick(&["gold", "silver", "bronze"]);
        let a = self.account(i);
        let o = &mut self.orgs[i];
        o.zd_id = Some(id);
        let (account_id, domain, fate, sf_fate, website_taken) =
            (o.account_id.clone(), o.domain.clone(), o.zd, o.sf, o.website_taken);
        let own_domain = Key::Domain(self.domain(&domain));
        let mut org = zd::Organization {
            id,
            name: self.orgs[i].name.clone(),
            external_id: Some(account_id.clone()),
            // A company whose domain another account's website took keeps its domain off Zendesk.
            domain_names: if website_taken { vec![] } else { vec![domain.clone()] },
            tier: Some(tier.into()),
            created_at: at(created),
            updated_at: at(updated),
        };
        let mut external = Some(Key::Account(a));
        let mut by_domain = if website_taken { None } else { Some(own_domain) };
        let mut planted = None;
        match fate {
            ZdFate::Absent => {}
            ZdFate::Exact => {
                if matches!(sf_fate, SfFate::Filtered(_)) {
                    planted = Some((Problem::PointsAtFilteredAccount, rejected(reason::FILTERED_ACCOUNT)));
                }
            }
            ZdFate::FloatId => {
                org.external_id = Some(format!("{account_id}.0"));
                org.domain_names.clear();
                (external, by_domain) = (Some(Key::NoAccount), None);
                planted = Some((Problem::FloatFormattedId, rejected(reason::UNKNOWN_ACCOUNT)));
            }
            ZdFate::TrailingSpace => {
                org.external_id = Some(format!("{account_id} "));
                org.domain_names.clear();
                (external, by_domain) = (Some(Key::NoAccount), None);
                planted = Some((Problem::TrailingSpace, rejected(reason::UNKNOWN_ACCOUNT)));
            }
            ZdFate::LinkedByDomain => {
                org.external_id = None;
                external = None;
                planted = Some((Problem::LinkedByDomain, linked(&account_id, "domain", 1)));
            }
            ZdFate::UnknownDomain => {
                org.external_id = None;
                let old = format!("{}-old.example", domain.split('.').next().unwrap_or("x"));
                (external, by_domain) = (None, Some(Key::Domain(self.domain(&old))));
                org.domain_names = vec![old];
                planted = Some((Problem::UnknownDomain, rejected(reason::UNKNOWN_ACCOUNT)));
            }
            ZdFate::Freemail => {
                org.external_id = None;
                org.domain_names = vec![self.pick(&["gmail.com", "outlook.com", "yahoo.com"]).into()];
                (external, by_domain) = (None, Some(Key::Unusable(reason::INVALID_FIELD)));
                planted = Some((Problem::FreemailDomain, rejected(reason::INVALID_FIELD)));
            }
            ZdFate::NoKeys => {
                org.external_id = None;
                org.domain_names.clear();
                (external, by_domain) = (None, None);
                planted = Some((Problem::NoLinkKeys, rejected(reason::MISSING_KEY)));
            }
            ZdFate::SharedDomain => {
                org.external_id = None;
                external = None;
                planted = Some((Problem::SharedDomain, rejected(reason::AMBIGUOUS)));
            }
        }
        let key = RecordKey::new(ZENDESK, "organizations", id.to_string());
        let steps = rules::zd_organization(external, by_domain);
        let ix = self.out.ledger.push(key, Plan::Rules { steps, email: None }, Gone::Live);
        if let Some((problem, intent)) = planted {
            self.plant_ix(problem, ix, intent);
        }
        self.orgs[i].zd_ix = Some(ix);
        self.zd_orgs.insert(id, ix);
        self.own(i, ix, false);
        self.out.zendesk.organizations.push(org);
    }

    /// Organizations from an old support desk whose ids were never accounts.
    fn zendesk_only_companies(&mut self) {
        let n = (self.size / 100).max(1);
        for k in 0..n {
            let id = 369_000_000_000 + k as u64;
            let created = self.between(START);
            let updated = self.between(created);
            let domain = format!("legacy{k}.example");
            let org = zd::Organization {
                id,
                name: format!("{} {} (legacy)", self.pick(ADJ), self.pick(NOUN)),
                external_id: Some(format!("legacy-{k}")),
                domain_names: vec![domain.clone()],
                tier: None,
                created_at: at(created),
                updated_at: at(updated),
            };
            self.out.zendesk.organizations.push(org);
            let key = RecordKey::new(ZENDESK, "organizations", id.to_string());
            let steps = rules::zd_organization(Some(Key::NoAccount), Some(Key::Domain(self.domain(&domain))));
            let ix = self.out.ledger.push(key, Plan::Rules { steps, email: None }, Gone::Live);
            self.zd_orgs.insert(id, ix);
            self.plant_ix(Problem::OnlyInOneSystem, ix, rejected(reason::UNKNOWN_ACCOUNT));
            let email = format!("help{k}@legacy{k}.example");
            let user = self.zendesk_user(Some(id), format!("Legacy Contact {k}"), Some(email.clone()), &email, created);
            self.zendesk_tickets_for(&[(user.id, user.ix)], Some(id), created, None);
        }
    }

    /// A Zendesk user in organization `org`; `email` is how this system writes `address`.
    fn zendesk_user(
        &mut self,
        org: Option<u64>,
        name: String,
        email: Option<String>,
        address: &str,
        after: i64,
    ) -> Made<u64> {
        self.zd_user_seq += 1;
        let id = 361_000_000_000 + (self.seed % 1000) * 10_000_000 + self.zd_user_seq * 7;
        let created = self.between(after);
        let updated = self.between(created);
        let holds = email.as_ref().map(|_| self.address(address));
        let steps = rules::zd_user(org.map(|o| Key::Record(self.zd_orgs[&o])), holds.map(Key::Email));
        let key = RecordKey::new(ZENDESK, "users", id.to_string());
        let ix = self.out.ledger.push(key, Plan::Rules { steps, email: holds }, Gone::Live);
        self.out.zendesk.users.push(zd::User {
            id,
            name,
            email,
            organization_id: org,
            role: "end-user".into(),
            active: true,
            created_at: at(created),
            updated_at: at(updated),
        });
        Made { id, ix }
    }

    fn zendesk_people(&mut self, i: usize, people: &[Person]) {
        let (org, created) = (self.orgs[i].zd_id, self.orgs[i].created);
        let filtered = matches!(self.orgs[i].sf, SfFate::Filtered(_));
        let mut users = Vec::new();
        for p in people.iter().filter(|p| p.in_zd) {
            // Most end users sit in their organization; some were never assigned one.
            let org_id = org.filter(|_| self.chance(0.9));
            let email = if self.chance(0.1) { p.email.to_uppercase() } else { p.email.clone() };
            let user = self.zendesk_user(org_id, format!("{} {}", p.first, p.last), Some(email), &p.email, created);
            if filtered && org_id.is_some() {
                // Nobody holding the person's email links: the organization is filtered out,
                // and so are the person's other records.
                self.plant_ix(Problem::ThroughRejectedParent, user.ix, rejected(reason::UNKNOWN_ACCOUNT));
            }
            self.own(i, user.ix, false);
            users.push((user.id, user.ix));
        }
        let tickets = self.zendesk_tickets_for(&users, org, created, None);
        for t in tickets {
            self.own(i, t, false);
        }
    }

    /// Zero to three tickets by `users`, in `org` (most of the time); `count` overrides how many.
    fn zendesk_tickets_for(
        &mut self,
        users: &[(u64, Ix)],
        org: Option<u64>,
        after: i64,
        count: Option<usize>,
    ) -> Vec<Ix> {
        if users.is_empty() {
            return vec![];
        }
        let n = count.unwrap_or_else(|| match self.rng.random_range(0..10) {
            0..=2 => 0,
            3..=6 => 1,
            7..=8 => 2,
            _ => 3,
        });
        let mut made = Vec::with_capacity(n);
        for _ in 0..n {
            let (requester, requester_ix) = users[self.rng.random_range(0..users.len())];
            let org_id = org.filter(|_| self.chance(0.85));
            made.push(self.zendesk_ticket(requester, requester_ix, org_id, after));
        }
        made
    }

    fn zendesk_ticket(&mut self, requester: u64, requester_ix: Ix, org: Option<u64>, after: i64) -> Ix {
        self.zd_ticket_seq += 1;
        let id = self.zd_ticket_seq;
        let created = self.between(after);
        let updated = self.between(created);
        let deleted = self.chance(0.03);
        let status = if deleted {
            "deleted".to_owned()
        } else {
            self.pick(&["new", "open", "pending", "hold", "solved", "closed", "closed"]).to_owned()
        };
        let ticket = zd::Ticket {
            id,
            subject: self.pick(SUBJECTS).into(),
            status,
            priority: self
                .pick(&[None, Some("low"), Some("normal"), Some("normal"), Some("high"), Some("urgent")])
                .map(Into::into),
            requester_id: requester,
            organization_id: org,
            created_at: at(created),
            updated_at: at(updated),
        };
        let steps = rules::zd_ticket(org.map(|o| Key::Record(self.zd_orgs[&o])), Some(Key::Record(requester_ix)));
        let gone = if deleted { Gone::BeforeFirstSync } else { Gone::Live };
        let ix = self.out.ledger.push(
            RecordKey::new(ZENDESK, "tickets", id.to_string()),
            Plan::Rules { steps, email: None },
            gone,
        );
        if deleted {
            self.plant_ix(Problem::DeletedTicket, ix, Intent::Tombstone);
        }
        self.out.zendesk.tickets.push(ticket);
        ix
    }

    /// Our own support agents: Zendesk users with no organization, linking to nothing.
    fn zendesk_agents(&mut self) {
        for k in 0..(self.size / 500).clamp(2, 50) {
            let first = self.pick(FIRST);
            let email = format!("{}{k}@support.accord-sandbox.example", first.to_lowercase());
            let user = self.zendesk_user(None, format!("{first} (Support)"), Some(email.clone()), &email, START);
            if let Some(u) = self.out.zendesk.users.iter_mut().rev().find(|u| u.id == user.id) {
                u.role = "agent".into();
            }
        }
    }

    fn intercom_company(&mut self, i: usize) {
        if self.orgs[i].ic == IcFate::Absent {
            return;
        }
        let created = self.between(self.orgs[i].created);
        let updated = self.between(created);
        self.ic_seq += 1;
        let id = ic::object_id(at(created), self.seed.wrapping_mul(1_000_003) + self.ic_seq);
        let a = self.account(i);
        let o = &mut self.orgs[i];
        o.ic_id = Some(id.clone());
        let (account_id, fate, sf_fate) = (o.account_id.clone(), o.ic, o.sf);
        let mut company = ic::Company {
            id: id.clone(),
            company_id: account_id.clone(),
            name: o.name.clone(),
            website: Some(o.website.clone()),
            created_at: at(created),
            updated_at: at(updated),
            remote_created_at: Some(at(o.created)),
            plan: None,
            size: None,
            industry: None,
            user_count: 0,
            custom_attributes: vec![],
        };
        company.plan = Some(self.pick(PLANS).into());
        company.size = Some(self.rng.random_range(5..5000));
        company.industry = Some(self.pick(INDUSTRY).into());
        company.custom_attributes = vec![("region".into(), self.pick(&["emea", "amer", "apac"]).into())];
        let mut key = Key::Account(a);
        let mut planted = None;
        match fate {
            IcFate::Absent => {}
            IcFate::Exact => {
                if matches!(sf_fate, SfFate::Filtered(_)) {
                    planted = Some((Problem::PointsAtFilteredAccount, rejected(reason::FILTERED_ACCOUNT)));
                }
            }
            IcFate::FloatId => {
                company.company_id = format!("{account_id}.0");
                key = Key::NoAccount;
                planted = Some((Problem::FloatFormattedId, rejected(reason::UNKNOWN_ACCOUNT)));
            }
            IcFate::CaseDrift => {
                company.company_id = account_id.to_lowercase();
                key = Key::NoAccount;
                planted = Some((Problem::CaseDrift, rejected(reason::UNKNOWN_ACCOUNT)));
            }
        }
        let ix = self.out.ledger.push(
            RecordKey::new(INTERCOM, "companies", &id),
            Plan::Rules { steps: rules::ic_company(Some(key)), email: None },
            Gone::Live,
        );
        if let Some((problem, intent)) = planted {
            self.plant_ix(problem, ix, intent);
        }
        self.orgs[i].ic_ix = Some(ix);
        self.ic_companies.insert(id, ix);
        self.own(i, ix, false);
        self.out.intercom.companies.push(company);
    }

    /// Trial companies created straight in Intercom, with ids no account has.
    fn intercom_only_companies(&mut self) {
        let n = (self.size / 100).max(1);
        for k in 0..n {
            let created = self.between(START);
            let updated = self.between(created);
            self.ic_seq += 1;
            let id = ic::object_id(at(created), self.seed.wrapping_mul(1_000_003) + self.ic_seq);
            let name = format!("{} {} Trial", self.pick(ADJ), self.pick(NOUN));
            self.out.intercom.companies.push(ic::Company {
                id: id.clone(),
                company_id: format!("trial-{k}"),
                name,
                website: None,
                created_at: at(created),
                updated_at: at(updated),
                remote_created_at: None,
                plan: Some("Trial".into()),
                size: None,
                industry: None,
                user_count: 0,
                custom_attributes: vec![],
            });
            let ix = self.out.ledger.push(
                RecordKey::new(INTERCOM, "companies", &id),
                Plan::Rules { steps: rules::ic_company(Some(Key::NoAccount)), email: None },
                Gone::Live,
            );
            self.ic_companies.insert(id.clone(), ix);
            self.plant_ix(Problem::OnlyInOneSystem, ix, rejected(reason::UNKNOWN_ACCOUNT));
            let email = format!("founder{k}@trial{k}.example");
            let contact = IcContact { email: Some((email.clone(), email)), companies: vec![id], ..Default::default() };
            self.intercom_contact(contact, Some(format!("Trial Founder {k}")), created, 0);
        }
    }

    /// An Intercom contact with zero to two conversations (at least `min_conversations`).
    fn intercom_contact(&mut self, c: IcContact, name: Option<String>, after: i64, min_conversations: usize) -> IcMade {
        let created = self.between(after);
        let updated = self.between(created);
        self.ic_seq += 1;
        let id = ic::object_id(at(created), self.seed.wrapping_mul(1_000_003) + self.ic_seq);
        let role = if c.external_id.is_some() { "user" } else { "lead" };
        let holds = c.email.as_ref().map(|(_, address)| address.clone()).map(|a| self.address(&a));
        let company = c.companies.first().map(|company| Key::Record(self.ic_companies[company]));
        let steps = rules::ic_contact(c.account_key, company, holds.map(Key::Email));
        let ix = self.out.ledger.push(
            RecordKey::new(INTERCOM, "contacts", &id),
            Plan::Rules { steps, email: holds },
            Gone::Live,
        );
        self.out.intercom.contacts.push(ic::Contact {
            id: id.clone(),
            external_id: c.external_id.clone(),
            role: role.into(),
            email: c.email.map(|e| e.0),
            name,
            created_at: at(created),
            updated_at: at(updated),
            account_id: c.account_id,
            company_ids: c.companies,
        });
        let conversations = match self.rng.random_range(0..10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        }
        .max(min_conversations);
        let mut made = IcMade { ix, conversations: Vec::with_capacity(conversations) };
        for _ in 0..conversations {
            self.ic_conversation_seq += 1;
            let c_created = self.between(created);
            let c_updated = self.between(c_created);
            let subject = self.pick(SUBJECTS);
            let title = if self.chance(0.3) { Some(subject.into()) } else { None };
            let state = self.pick(&["open", "closed", "closed", "snoozed"]).into();
            let source_type = self.pick(&["conversation", "conversation", "email"]).into();
            let conversation_id = (1000 + self.ic_conversation_seq).to_string();
            let steps = rules::ic_conversation(Some(Key::Record(ix)));
            made.conversations.push(self.out.ledger.push(
                RecordKey::new(INTERCOM, "conversations", &conversation_id),
                Plan::Rules { steps, email: None },
                Gone::Live,
            ));
            self.out.intercom.conversations.push(ic::Conversation {
                id: conversation_id,
                title,
                created_at: at(c_created),
                updated_at: at(c_updated),
                state,
                source_type,
                body: subject.into(),
                contacts: vec![ContactRef { id: id.clone(), external_id: c.external_id.clone() }],
            });
        }
        made
    }

    fn intercom_people(&mut self, i: usize, people: &[Person]) {
        let (account_id, company, created) =
            (self.orgs[i].account_id.clone(), self.orgs[i].ic_id.clone(), self.orgs[i].created);
        let a = self.account(i);
        let filtered = matches!(self.orgs[i].sf, SfFate::Filtered(_));
        for p in people.iter().filter(|p| p.in_ic) {
            self.ic_seq += 1;
            let external_id = if self.chance(0.7) { Some(format!("usr_{}", self.ic_seq)) } else { None };
            let email = if self.chance(0.1) { capitalized(&p.email) } else { p.email.clone() };
            let mut attr = if self.chance(0.5) { Some(AttributeValue::Text(account_id.clone())) } else { None };
            let mut companies = company.iter().filter(|_| self.chance(0.85)).cloned().collect::<Vec<_>>();
            let mut account_key = attr.as_ref().map(|_| Key::Account(a));
            let mut planted = None;
            match p.fate {
                PersonFate::NoAccountIdKnownEmail => {
                    attr = Some(AttributeValue::Text(account_id.clone()));
                    account_key = Some(Key::Account(a));
                }
                PersonFate::NumericAccountAttribute => {
                    attr = account_id.parse().ok().map(AttributeValue::Int);
                    account_key = attr.as_ref().map(|_| Key::Account(a));
                    planted = Some((Problem::NumericAccountAttribute, linked(&account_id, "field", 0)));
                }
                PersonFate::NonIntegralAccountAttribute => {
                    let n: f64 = account_id.trim_start_matches("EU-").parse().unwrap_or(1.0);
                    attr = Some(AttributeValue::Float(n + 0.5));
                    account_key = Some(Key::Unusable(reason::INVALID_ACCOUNT_ID));
                    companies.clear();
                    planted = Some((Problem::NonIntegralAccountAttribute, rejected(reason::INVALID_ACCOUNT_ID)));
                }
                _ => {}
            }
            if filtered && planted.is_none() {
                planted = match (&account_key, companies.is_empty()) {
                    (Some(_), _) => Some((Problem::PointsAtFilteredAccount, rejected(reason::FILTERED_ACCOUNT))),
                    (None, false) => Some((Problem::ThroughRejectedParent, rejected(reason::UNKNOWN_ACCOUNT))),
                    (None, true) => None,
                };
            }
            let contact = IcContact {
                external_id,
                email: Some((email, p.email.clone())),
                account_id: attr,
                account_key,
                companies,
            };
            let made = self.intercom_contact(contact, Some(format!("{} {}", p.first, p.last)), created, 0);
            if let Some((problem, intent)) = planted {
                self.plant_ix(problem, made.ix, intent);
            }
            self.own(i, made.ix, false);
            for c in made.conversations {
                self.own(i, c, false);
            }
        }
    }

    /// Agencies whose one mailbox is a contact at two customers, each time deciding a third
    /// record by that email alone: an Intercom lead with conversations (the second holder, a
    /// Zendesk user, syncs after it), a Zendesk user without organization, a Salesforce contact
    /// without `AccountId` (both holders sync after it).
    fn shared_emails(&mut self) {
        for k in 0..(self.size / 200).max(1) {
            // A Salesforce contact of A, a Zendesk user of B; an Intercom lead.
            let (a, b) = (self.reserve(), self.reserve());
            let email = format!("billing@agency{k}.example");
            let name = format!("Agency {k} Billing");
            self.contact_at(a, &email, &name);
            let b_org = self.orgs[b].zd_id;
            let second = self.zendesk_user(b_org, name.clone(), Some(email.clone()), &email, self.orgs[b].created);
            let lead = IcContact { email: Some((email.clone(), email)), ..Default::default() };
            let decided = self.intercom_contact(lead, Some(format!("Agency {k}")), START, 1);
            self.plant_ix(Problem::SharedEmail, decided.ix, rejected(reason::AMBIGUOUS));
            for &c in &decided.conversations {
                self.plant_ix(Problem::ThroughRejectedParent, c, rejected(reason::UNKNOWN_ACCOUNT));
            }
            let first = self.account(a);
            let conversations = decided.conversations;
            self.out.scenarios.agencies.push(Agency { second: second.ix, decided: decided.ix, conversations, first });

            // A Salesforce contact of A, an Intercom contact of B (by its account id); a Zendesk
            // user without organization.
            let (a, b) = (self.reserve(), self.reserve());
            let email = format!("ops@agency{k}.example");
            self.contact_at(a, &email, &format!("Agency {k} Ops"));
            let contact = IcContact {
                email: Some((email.clone(), email.clone())),
                account_id: Some(AttributeValue::Text(self.orgs[b].account_id.clone())),
                account_key: Some(Key::Account(self.account(b))),
                ..Default::default()
            };
            self.intercom_contact(contact, Some(format!("Agency {k} Ops")), self.orgs[b].created, 0);
            let user = self.zendesk_user(None, format!("Agency {k} Ops"), Some(email.clone()), &email, START);
            self.plant_ix(Problem::SharedEmail, user.ix, rejected(reason::AMBIGUOUS));

            // An Intercom contact of A, a Zendesk user of B; a Salesforce contact without AccountId.
            let (a, b) = (self.reserve(), self.reserve());
            let email = format!("finance@agency{k}.example");
            let contact = IcContact {
                email: Some((email.clone(), email.clone())),
                account_id: Some(AttributeValue::Text(self.orgs[a].account_id.clone())),
                account_key: Some(Key::Account(self.account(a))),
                ..Default::default()
            };
            self.intercom_contact(contact, Some(format!("Agency {k} Finance")), self.orgs[a].created, 0);
            let b_org = self.orgs[b].zd_id;
            self.zendesk_user(b_org, format!("Agency {k} Finance"), Some(email.clone()), &email, self.orgs[b].created);
            let address = Key::Email(self.address(&email));
            let c = self.salesforce_contact(
                None,
                Some((email, address)),
                (None, format!("Agency {k} Finance")),
                START,
                None,
            );
            self.plant_ix(Problem::SharedEmail, c.ix, rejected(reason::AMBIGUOUS));
        }
    }

    /// A Salesforce contact of company `i` (by its `AccountId`) holding `email`.
    fn contact_at(&mut self, i: usize, email: &str, name: &str) -> Ix {
        let account = Some((self.orgs[i].sf_id.clone(), self.orgs[i].sf_ix));
        let address = Key::Email(self.address(email));
        let created = self.orgs[i].created;
        self.salesforce_contact(account, Some((email.to_owned(), address)), (None, name.to_owned()), created, None).ix
    }

    /// People who moved: their Salesforce contact is still at Y, while Zendesk has them in X's
    /// organization and Intercom in X's company. Organization and company come first in the
    /// rules, so both link to X, whatever the email says.
    fn moved_people(&mut self) {
        for k in 0..(self.size / 200).max(1) {
            let (x, y) = (self.reserve(), self.reserve());
            let (first, last) = (self.pick(FIRST), self.pick(LAST));
            let email = format!("{}.{}@alumni{k}.example", first.to_lowercase(), last.to_lowercase());
            self.contact_at(y, &email, last);
            let (x_org, created, x_id) = (self.orgs[x].zd_id, self.orgs[x].created, self.orgs[x].account_id.clone());
            let name = format!("{first} {last}");
            let user = self.zendesk_user(x_org, name.clone(), Some(email.to_uppercase()), &email, created);
            self.plant_ix(Problem::ParentOverEmail, user.ix, linked(&x_id, "parent", 0));
            let contact = IcContact {
                email: Some((capitalized(&email), email.clone())),
                companies: self.orgs[x].ic_id.iter().cloned().collect(),
                ..Default::default()
            };
            let made = self.intercom_contact(contact, Some(name), created, 0);
            self.plant_ix(Problem::ParentOverEmail, made.ix, linked(&x_id, "parent", 1));
        }
    }

    /// People whose only evidence is a Zendesk user in X's organization (Zendesk is synced last):
    /// a Salesforce contact without `AccountId` and an Intercom lead link by that email, and a
    /// case and a conversation link through them. The user also files a ticket in the
    /// organization and one without.
    fn late_evidence(&mut self) {
        for k in 0..(self.size / 200).max(1) {
            let x = self.reserve();
            let (first, last) = (self.pick(FIRST), self.pick(LAST));
            let (domain, x_org, created) = (self.orgs[x].domain.clone(), self.orgs[x].zd_id, self.orgs[x].created);
            let x_id = self.orgs[x].account_id.clone();
            let email = format!("{}.{}.late{k}@{domain}", first.to_lowercase(), last.to_lowercase());
            let name = format!("{first} {last}");
            let user = self.zendesk_user(x_org, name.clone(), Some(email.clone()), &email, created);
            let address = Key::Email(self.address(&email));
            let contact = self.salesforce_contact(
                None,
                Some((capitalized(&email), address)),
                (Some(first), last.into()),
                created,
                None,
            );
            self.plant_ix(Problem::LateEmailEvidence, contact.ix, linked(&x_id, "email", 1));
            let case = self.salesforce_case(None, Some((contact.id.clone(), contact.ix)), created, None);
            self.plant_ix(Problem::LateParent, case, linked(&x_id, "parent", 1));
            let lead = IcContact { email: Some((email.clone(), email.clone())), ..Default::default() };
            let lead = self.intercom_contact(lead, Some(name), created, 1);
            self.plant_ix(Problem::LateEmailEvidence, lead.ix, linked(&x_id, "email", 2));
            for &c in &lead.conversations {
                self.plant_ix(Problem::LateParent, c, linked(&x_id, "parent", 0));
            }
            let _in_org = self.zendesk_ticket_exactly(user.id, user.ix, x_org, created);
            let outside = self.zendesk_ticket_exactly(user.id, user.ix, None, created);
            let mut through = vec![case, outside];
            through.extend(lead.conversations.iter().copied());
            self.out.scenarios.late.push(LateEvidence { user: user.ix, by_email: vec![contact.ix, lead.ix], through });
        }
    }

    /// A live ticket (never one deleted at the source).
    fn zendesk_ticket_exactly(&mut self, requester: u64, requester_ix: Ix, org: Option<u64>, after: i64) -> Ix {
        loop {
            let ix = self.zendesk_ticket(requester, requester_ix, org, after);
            if self.out.ledger.entry(ix).gone == Gone::Live {
                return ix;
            }
        }
    }

    /// People at a filtered-out company F whose email is evidence for customer Y (an Intercom
    /// contact of Y by its account id): their Salesforce contact points at F and is
    /// `filtered_account`; the email never decides it.
    fn filtered_despite_email(&mut self) {
        let filtered: Vec<usize> =
            (0..self.orgs.len()).filter(|&i| matches!(self.orgs[i].sf, SfFate::Filtered(_))).collect();
        if filtered.is_empty() {
            return;
        }
        for k in 0..(self.size / 200).max(1) {
            let f = filtered[self.rng.random_range(0..filtered.len())];
            let y = self.reserve();
            let (first, last) = (self.pick(FIRST), self.pick(LAST));
            let email = format!("{}.{}.f{k}@{}", first.to_lowercase(), last.to_lowercase(), self.orgs[f].domain);
            let c = self.contact_at(f, &email, last);
            self.plant_ix(Problem::FilteredDespiteEmail, c, rejected(reason::FILTERED_ACCOUNT));
            let contact = IcContact {
                email: Some((email.clone(), email)),
                account_id: Some(AttributeValue::Text(self.orgs[y].account_id.clone())),
                account_key: Some(Key::Account(self.account(y))),
                ..Default::default()
            };
            let created = self.orgs[y].created;
            self.intercom_contact(contact, Some(format!("{first} {last}")), created, 0);
        }
    }

    /// People whose only evidence is an Intercom contact of X (by its account id) with
    /// conversations: their Salesforce contact has no `AccountId`.
    fn intercom_evidence(&mut self) {
        for k in 0..(self.size / 200).max(1) {
            let x = self.reserve();
            let (first, last) = (self.pick(FIRST), self.pick(LAST));
            let (domain, created, x_id) =
                (self.orgs[x].domain.clone(), self.orgs[x].created, self.orgs[x].account_id.clone());
            let email = format!("{}.{}.ic{k}@{domain}", first.to_lowercase(), last.to_lowercase());
            let contact = IcContact {
                email: Some((email.clone(), email.clone())),
                account_id: Some(AttributeValue::Text(x_id.clone())),
                account_key: Some(Key::Account(self.account(x))),
                ..Default::default()
            };
            let made = self.intercom_contact(contact, Some(format!("{first} {last}")), created, 1);
            let address = Key::Email(self.address(&email));
            let c = self.salesforce_contact(None, Some((email, address)), (Some(first), last.into()), created, None);
            self.plant_ix(Problem::NoAccountIdKnownEmail, c.ix, linked(&x_id, "email", 1));
            self.out.scenarios.ic_evidence.push(IntercomEvidence {
                contact: made.ix,
                by_email: c.ix,
                conversations: made.conversations,
            });
        }
    }

    /// Salesforce contacts of X (by `AccountId`) with a case that has no `AccountId`: the case
    /// links through the contact only.
    fn contacts_with_their_own_case(&mut self) {
        for k in 0..(self.size / 200).max(1) {
            let x = self.reserve();
            let (first, last) = (self.pick(FIRST), self.pick(LAST));
            let email = format!("{}.{}.own{k}@{}", first.to_lowercase(), last.to_lowercase(), self.orgs[x].domain);
            let contact = self.contact_at(x, &email, last);
            let id = self.out.ledger.entry(contact).key.native_id.clone();
            let case = self.salesforce_case(None, Some((id, contact)), self.orgs[x].created, None);
            self.out.scenarios.lone.push(LoneContact { contact, case });
        }
    }

    /// Customers the second day may delete: plain everywhere, with people in every system, and
    /// no plant spanning companies touches them.
    /// Support ids on the companies' Salesforce accounts, and the JIRA site ([`crate::jira::seed`]).
    fn jira(&mut self) {
        let mut orgs = Vec::with_capacity(self.orgs.len());
        for (i, o) in self.orgs.iter().enumerate() {
            let support_id = crate::jira::seed::support_id(i);
            self.out.salesforce.accounts[i].support_id = Some(support_id.clone());
            orgs.push(crate::jira::seed::SeedOrg {
                account: o.account.expect("accounts are made with the Salesforce records"),
                account_id: o.account_id.clone(),
                holder: o.sf_ix,
                support_id,
                customer: o.sf == SfFate::Customer,
                created: o.created,
            });
        }
        let (data, issues) = crate::jira::seed::seed(self.seed, &orgs, &mut self.out.ledger, &mut self.out.planted);
        for (o, ixs) in self.orgs.iter_mut().zip(issues) {
            o.records.extend(ixs);
        }
        self.out.jira = data;
    }

    /// The Keap app ([`crate::keap::seed`]).
    fn keap(&mut self) {
        let orgs: Vec<crate::keap::seed::SeedOrg> = self
            .orgs
            .iter()
            .map(|o| crate::keap::seed::SeedOrg {
                account: o.account.expect("accounts are made with the Salesforce records"),
                account_id: o.account_id.clone(),
                name: o.name.clone(),
                domain: o.domain.clone(),
                customer: o.sf == SfFate::Customer,
                created: o.created,
            })
            .collect();
        let (data, records) = crate::keap::seed::seed(self.seed, &orgs, &mut self.out.ledger, &mut self.out.planted);
        for (o, ixs) in self.orgs.iter_mut().zip(records) {
            o.records.extend(ixs);
        }
        self.out.keap = data;
    }

    /// The Stripe account ([`crate::stripe::seed`]): people's addresses only of companies no plant
    /// spanning companies touches.
    fn stripe(&mut self, people: &[Vec<Person>]) {
        let orgs = self.seed_orgs(people);
        let (data, terms, records) = crate::stripe::seed::seed(self.seed, &orgs, &mut self.out.ledger);
        for (o, ixs) in self.orgs.iter_mut().zip(records) {
            o.records.extend(ixs);
        }
        self.out.stripe = data;
        self.out.billing.extend(terms);
    }

    /// The Maxio site ([`crate::maxio::seed`]), on the same terms as Stripe's account.
    fn maxio(&mut self, people: &[Vec<Person>]) {
        let orgs = self.seed_orgs(people);
        let (data, terms, records) = crate::maxio::seed::seed(self.seed, &orgs, &mut self.out.ledger);
        for (o, ixs) in self.orgs.iter_mut().zip(records) {
            o.records.extend(ixs);
        }
        self.out.maxio = data;
        self.out.billing.extend(terms);
    }

    /// The Xero organisation ([`crate::xero::seed`]): repeating invoices as its subscriptions.
    fn xero(&mut self, people: &[Vec<Person>]) {
        let orgs = self.seed_orgs(people);
        let (data, terms, records) = crate::xero::seed::seed(self.seed, &orgs, &mut self.out.ledger);
        for (o, ixs) in self.orgs.iter_mut().zip(records) {
            o.records.extend(ixs);
        }
        self.out.xero = data;
        self.out.billing.extend(terms);
    }

    /// The Braintree vault ([`crate::braintree::seed`]): customers by custom field or email, their
    /// transactions, and subscriptions with MRR truth.
    fn braintree(&mut self, people: &[Vec<Person>]) {
        let orgs = self.seed_orgs(people);
        let (data, terms, records) = crate::braintree::seed::seed(self.seed, &orgs, &mut self.out.ledger);
        for (o, ixs) in self.orgs.iter_mut().zip(records) {
            o.records.extend(ixs);
        }
        self.out.braintree = data;
        self.out.billing.extend(terms);
    }

    /// The companies as a billing system needs them.
    fn seed_orgs(&self, people: &[Vec<Person>]) -> Vec<crate::billing::SeedOrg> {
        self.orgs
            .iter()
            .zip(people)
            .map(|(o, ps)| crate::billing::SeedOrg {
                account: o.account.expect("accounts are made with the Salesforce records"),
                account_id: o.account_id.clone(),
                name: o.name.clone(),
                customer: o.sf == SfFate::Customer,
                created: o.created,
                emails: if o.reserved {
                    Vec::new()
                } else {
                    ps.iter().filter(|p| p.fate == PersonFate::Plain).map(|p| (p.email.clone(), p.address)).collect()
                },
            })
            .collect()
    }

    /// The Recurly site ([`crate::recurly::seed`]), and the account codes the Salesforce accounts
    /// store (`Billing_Account_ID__c`); people's addresses as for Stripe.
    fn recurly(&mut self, people: &[Vec<Person>]) {
        let orgs = self.seed_orgs(people);
        let holders: Vec<Ix> = self.orgs.iter().map(|o| o.sf_ix).collect();
        let crate::recurly::seed::Seeded { data, terms, records, codes } =
            crate::recurly::seed::seed(self.seed, &orgs, &holders, &mut self.out.ledger);
        for (i, ((o, ixs), code)) in self.orgs.iter_mut().zip(records).zip(codes).enumerate() {
            o.records.extend(ixs);
            if let Some(code) = code {
                self.out.salesforce.accounts[i].billing_id = Some(code);
            }
        }
        self.out.recurly = data;
        self.out.billing.extend(terms);
    }

    /// The Chargebee site ([`crate::chargebee::seed`]), with the customer ids the Salesforce
    /// accounts of its customers without a custom field carry (`Billing_Account_ID__c`).
    fn chargebee(&mut self, people: &[Vec<Person>]) {
        let orgs: Vec<(crate::billing::SeedOrg, Ix)> = self
            .orgs
            .iter()
            .zip(people)
            .map(|(o, ps)| {
                let org = crate::billing::SeedOrg {
                    account: o.account.expect("accounts are made with the Salesforce records"),
                    account_id: o.account_id.clone(),
                    name: o.name.clone(),
                    customer: o.sf == SfFate::Customer,
                    created: o.created,
                    emails: if o.reserved {
                        Vec::new()
                    } else {
                        ps.iter()
                            .filter(|p| p.fate == PersonFate::Plain)
                            .map(|p| (p.email.clone(), p.address))
                            .collect()
                    },
                };
                (org, o.sf_ix)
            })
            .collect();
        let taken: Vec<bool> = self.out.salesforce.accounts.iter().map(|a| a.billing_id.is_some()).collect();
        let (data, terms, records, billing_ids) =
            crate::chargebee::seed::seed(self.seed, &orgs, &taken, &mut self.out.ledger);
        for (o, ixs) in self.orgs.iter_mut().zip(records) {
            o.records.extend(ixs);
        }
        for (i, id) in billing_ids {
            self.out.salesforce.accounts[i].billing_id = Some(id);
        }
        self.out.chargebee = data;
        self.out.billing.extend(terms);
    }

    /// The Zuora tenant ([`crate::zuora::seed`]) of customers with no Recurly code in the SOR,
    /// and the Zuora account ids the Salesforce accounts store (`Billing_Account_ID__c`).
    fn zuora(&mut self) {
        let orgs: Vec<crate::billing::SeedOrg> = self
            .orgs
            .iter()
            .map(|o| crate::billing::SeedOrg {
                account: o.account.expect("accounts are made with the Salesforce records"),
                account_id: o.account_id.clone(),
                name: o.name.clone(),
                customer: o.sf == SfFate::Customer,
                created: o.created,
                emails: Vec::new(),
            })
            .collect();
        let holders: Vec<Ix> = self.orgs.iter().map(|o| o.sf_ix).collect();
        let taken: Vec<bool> = self.out.salesforce.accounts.iter().map(|a| a.billing_id.is_some()).collect();
        let crate::zuora::seed::Seeded { data, terms, records, ids, mrr_plant } =
            crate::zuora::seed::seed(self.seed, &orgs, &holders, &taken, &mut self.out.ledger);
        for (i, ((o, ixs), id)) in self.orgs.iter_mut().zip(records).zip(ids).enumerate() {
            o.records.extend(ixs);
            if let Some(id) = id {
                self.out.salesforce.accounts[i].billing_id = Some(id);
            }
        }
        self.out.zuora = data;
        self.out.zuora_mrr_plant = mrr_plant;
        self.out.billing.extend(terms);
    }

    fn plain_accounts(&mut self) {
        for i in 0..self.orgs.len() {
            let o = &self.orgs[i];
            let plain = o.sf == SfFate::Customer
                && o.zd == ZdFate::Exact
                && o.ic == IcFate::Exact
                && !o.reserved
                && !o.website_taken
                && o.plain_people;
            let live = |ix: &&Ix| self.out.ledger.entry(**ix).gone == Gone::Live;
            let object = |ix: &Ix| self.out.ledger.entry(*ix).key.object;
            let has = |list: &[Ix], name: &str| list.iter().filter(live).any(|ix| object(ix) == name);
            if plain && has(&o.carrying_sf_id, "Contact") && has(&o.carrying_sf_id, "Case") && has(&o.records, "users")
            {
                let scenario = AccountScenario {
                    account: self.account(i),
                    holder: o.sf_ix,
                    cascade: o.carrying_sf_id.clone(),
                    others: o.records.clone(),
                };
                self.out.scenarios.accounts.push(scenario);
            }
        }
    }

    fn finish(mut self) -> Company {
        let c = &mut self.out;
        // Salesforce lists are in id order (the emulator looks records up by binary search);
        // ids grow as records are made, so sorting only guards the invariant.
        c.salesforce.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        c.salesforce.contacts.sort_by(|a, b| a.id.cmp(&b.id));
        c.salesforce.cases.sort_by(|a, b| a.id.cmp(&b.id));
        c.zendesk.organizations.sort_by_key(|o| o.id);
        c.zendesk.users.sort_by_key(|u| u.id);
        c.zendesk.tickets.sort_by_key(|t| t.id);
        count_company_users(&mut c.intercom);
        c.intercom.companies.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        c.intercom.contacts.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        c.intercom.conversations.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        c.freshdesk.companies.sort_by_key(|r| r.id);
        c.freshdesk.contacts.sort_by_key(|r| r.id);
        c.freshdesk.tickets.sort_by_key(|r| r.id);
        c.capsule.parties.sort_by_key(|r| r.id);
        c.planted.sort_by(|a, b| (a.problem, &a.record).cmp(&(b.problem, &b.record)));
        c.delighted.survey_responses.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        self.out
    }
}

#[path = "delighted/seed.rs"]
mod delighted_seed;
#[path = "desk/seed.rs"]
mod desk_seed;

/// An Intercom contact to make: what goes in its link fields, and what each means.
#[derive(Debug, Default)]
struct IcContact {
    external_id: Option<String>,
    /// The `email` as written here, and the address it is.
    email: Option<(String, String)>,
    /// `custom_attributes.account_id`, and what it means.
    account_id: Option<AttributeValue>,
    account_key: Option<Key>,
    /// Intercom ids of its companies.
    companies: Vec<String>,
}

/// An Intercom contact made, with its conversations.
struct IcMade {
    ix: Ix,
    conversations: Vec<Ix>,
}

/// Makes a person's presence match what their fate needs to mean what it says.
fn shape_person(p: &mut Person) {
    match p.fate {
        PersonFate::Plain => {}
        // The email must belong to a contact that links on its own: an Intercom contact with
        // the exact account id.
        PersonFate::NoAccountIdKnownEmail => {
            p.in_sf = true;
            p.in_ic = true;
        }
        PersonFate::NoAccountIdUnknownEmail | PersonFate::NoAccountIdNoEmail | PersonFate::NotAnEmail => {
            p.in_sf = true;
            p.in_zd = false;
            p.in_ic = false;
        }
        PersonFate::NumericAccountAttribute => p.in_ic = true,
        PersonFate::NonIntegralAccountAttribute => {
            p.in_sf = false;
            p.in_zd = false;
            p.in_ic = true;
        }
    }
}

/// `jane.doe@x.io` → `Jane.Doe@x.io`: the same address, as people type it.
fn capitalized(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let local: Vec<String> = local
        .split('.')
        .map(|part| {
            let mut c = part.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        })
        .collect();
    format!("{}@{domain}", local.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitalized_keeps_the_address() {
        assert_eq!(capitalized("jane.doe@acme.io"), "Jane.Doe@acme.io");
    }

    #[test]
    fn small_companies_still_generate() {
        let c = Company::generate(1, 3);
        assert_eq!(c.size, 3);
        assert!(c.salesforce.accounts.len() >= 3);
        let truth = c.truth();
        assert_eq!(truth.records.len() + truth.tombstones.len(), c.record_count());
    }

    #[test]
    fn half_takes_at_least_one_and_about_half() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let items: Vec<u32> = (0..9).collect();
        assert_eq!(half(&mut rng, items.iter(), usize::MAX).len(), 5);
        assert_eq!(half(&mut rng, items.iter(), 2).len(), 2);
        assert_eq!(half(&mut rng, items[..1].iter(), 0).len(), 1);
        assert!(half(&mut rng, items[..0].iter(), 3).is_empty());
        let chosen = half(&mut rng, items.iter(), usize::MAX);
        assert!(chosen.windows(2).all(|w| w[0] < w[1]), "distinct, in order");
    }
}
