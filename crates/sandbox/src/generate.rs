//! The generated company: a deterministic, deliberately messy customer base spread across
//! Salesforce, Zendesk and Intercom, with the problems accord's integration guide warns about.
//!
//! Everything comes from a ChaCha8 stream seeded with the seed, so the same seed and size give the
//! same data byte for byte. `size` is the number of real-world customer companies; the other
//! objects scale with it (about 9 records per company in all: 100,000 give 910,639).
//! Each problem kind is planted in a few percent of the companies, and at least once whenever
//! there are 40 companies or more. The generator also states what it meant each planted record to
//! become ([`Planted`]); the truth is computed independently and tests check the two agree.

use chrono::{DateTime, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::intercom::model::{self as ic, AttributeValue, ContactRef, IntercomData};
use crate::salesforce::model::{self as sf, SObject, SalesforceData, sf_id};
use crate::truth::{Expected, INTERCOM, RecordKey, SALESFORCE, Truth, ZENDESK, reason};
use crate::zendesk::model::{self as zd, ZendeskData};

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
    /// A second Salesforce account carrying an account id another one already has.
    SfDuplicateAccountId,
    /// A Salesforce account deleted at the source (with its contacts and cases).
    SfDeletedAccount,
    /// A Zendesk organization or Intercom company naming a filtered-out account.
    PointsAtFilteredAccount,
    /// `"100042.0"` for `"100042"`.
    FloatFormattedId,
    /// `"100042 "` for `"100042"`.
    TrailingSpace,
    /// `"eu-2001"` for `"EU-2001"`.
    CaseDrift,
    /// A Zendesk organization without `external_id` whose domain is an account's website.
    LinkedByDomain,
    /// A Zendesk organization without `external_id` whose domain no account has.
    UnknownDomain,
    /// A Zendesk organization without `external_id` whose domain is a free-mail one.
    FreemailDomain,
    /// A Zendesk organization without `external_id` whose domain two accounts have.
    SharedDomain,
    /// A Zendesk organization with neither `external_id` nor domains.
    NoLinkKeys,
    /// An email used by contacts of two accounts, deciding an Intercom contact.
    SharedEmail,
    /// A company only in Zendesk or only in Intercom, with an id that is no account.
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
    /// A Zendesk ticket deleted (status `deleted` in the export).
    DeletedTicket,
    /// A Salesforce contact or case deleted at the source.
    DeletedAtSource,
}

impl Problem {
    pub const ALL: [Problem; 24] = [
        Problem::SfMissingAccountId,
        Problem::SfMissingName,
        Problem::SfFilteredType,
        Problem::SfDuplicateAccountId,
        Problem::SfDeletedAccount,
        Problem::PointsAtFilteredAccount,
        Problem::FloatFormattedId,
        Problem::TrailingSpace,
        Problem::CaseDrift,
        Problem::LinkedByDomain,
        Problem::UnknownDomain,
        Problem::FreemailDomain,
        Problem::SharedDomain,
        Problem::NoLinkKeys,
        Problem::SharedEmail,
        Problem::OnlyInOneSystem,
        Problem::NoAccountIdKnownEmail,
        Problem::NoAccountIdUnknownEmail,
        Problem::NoAccountIdNoEmail,
        Problem::NotAnEmail,
        Problem::NumericAccountAttribute,
        Problem::NonIntegralAccountAttribute,
        Problem::DeletedTicket,
        Problem::DeletedAtSource,
    ];
}

/// What the generator meant a planted record to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Outcome(Expected),
    /// Reported as deleted by the source.
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
}

impl Company {
    /// Generates `size` customer companies from `seed`. Same inputs, same company.
    pub fn generate(seed: u64, size: usize) -> Company {
        Generator::new(seed, size).run()
    }

    /// The ground truth of this data (see [`crate::truth`]).
    pub fn truth(&self) -> Truth {
        Truth::compute(self)
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
    }
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
    created: i64,
    sf: SfFate,
    zd: ZdFate,
    ic: IcFate,
    /// Another company's domain is our website: our own domain must not decide anything.
    website_taken: bool,
    /// Part of a shared-email pair: keep this company's Salesforce and Zendesk records plain.
    reserved: bool,
    sf_id: String,
    zd_id: Option<u64>,
    ic_id: Option<String>,
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
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
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
        self.shared_emails();
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
                domain,
                website,
                created,
                sf,
                zd,
                ic,
                website_taken: false,
                reserved: false,
                sf_id: String::new(),
                zd_id: None,
                ic_id: None,
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

    /// A random customer with plain records everywhere.
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

    /// Pairs of customers where the second's website is the first's domain, and the first's
    /// Zendesk organization links by domain only: that domain names two accounts.
    fn shared_domains(&mut self) {
        if self.size < 40 {
            return;
        }
        let pairs = (self.size / 200).max(1);
        for _ in 0..pairs {
            let a = self.plain_company();
            self.orgs[a].reserved = true;
            let b = self.plain_company();
            self.orgs[a].zd = ZdFate::SharedDomain;
            self.orgs[a].reserved = false;
            self.orgs[b].website = format!("https://{}", self.orgs[a].domain);
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
        };
        let key = RecordKey::new(SALESFORCE, "Account", &id);
        let rejected = |reason| Intent::Outcome(Expected::Rejected { reason });
        let fate = o.sf;
        match fate {
            SfFate::Customer => {}
            SfFate::Filtered(kind) => {
                account.account_type = Some(kind.into());
                self.plant(Problem::SfFilteredType, key, rejected(reason::FILTERED_ACCOUNT));
            }
            SfFate::MissingAccountId => {
                account.account_id = None;
                self.plant(Problem::SfMissingAccountId, key, rejected(reason::MISSING_REQUIRED_FIELD));
            }
            SfFate::MissingName => {
                account.name = None;
                self.plant(Problem::SfMissingName, key, rejected(reason::MISSING_REQUIRED_FIELD));
            }
            SfFate::Deleted => {
                let deleted = AS_OF - self.rng.random_range(3_600..259_200);
                account.deleted_at = Some(at(deleted));
                account.system_modstamp = at(deleted);
                self.plant(Problem::SfDeletedAccount, key, Intent::Tombstone);
            }
        }
        self.out.salesforce.accounts.push(account);
    }

    /// Second Salesforce accounts carrying a customer's account id; created later, so they come
    /// second both in `Id` order and in `SystemModstamp` order.
    fn duplicate_accounts(&mut self) {
        if self.size < 40 {
            return;
        }
        for _ in 0..(self.size / 200).max(1) {
            let i = self.plain_company();
            let original = self.out.salesforce.accounts[i].clone();
            let id = self.next_sf_id(SObject::Account);
            let created = self.between(original.system_modstamp.timestamp());
            let modstamp = self.between(created.max(original.system_modstamp.timestamp()));
            self.out.salesforce.accounts.push(sf::Account {
                id: id.clone(),
                name: original.name.map(|n| format!("{n} (old)")),
                created_date: at(created),
                system_modstamp: at(modstamp),
                ..original
            });
            let intent = Intent::Outcome(Expected::Rejected { reason: reason::AMBIGUOUS });
            self.plant(Problem::SfDuplicateAccountId, RecordKey::new(SALESFORCE, "Account", id), intent);
        }
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
            let mut p = Person {
                first,
                last,
                email,
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
            out.push(p);
        }
        out
    }

    fn salesforce_people(&mut self, i: usize, people: &[Person]) {
        let o = &self.orgs[i];
        let (sf_id, created, fate) = (o.sf_id.clone(), o.created, o.sf);
        let cascade = self.out.salesforce.accounts[i].deleted_at;
        let mut contact_ids = Vec::new();
        for p in people.iter().filter(|p| p.in_sf) {
            let id = self.next_sf_id(SObject::Contact);
            let c_created = self.between(created);
            let modstamp = self.between(c_created);
            let mut c = sf::Contact {
                id: id.clone(),
                account_id: Some(sf_id.clone()),
                email: Some(p.email.clone()),
                first_name: Some(p.first.into()),
                last_name: p.last.into(),
                created_date: at(c_created),
                system_modstamp: at(modstamp),
                deleted_at: None,
            };
            let key = RecordKey::new(SALESFORCE, "Contact", &id);
            let rejected = |reason| Intent::Outcome(Expected::Rejected { reason });
            match p.fate {
                PersonFate::NoAccountIdKnownEmail => {
                    c.account_id = None;
                    let intent = Intent::Outcome(Expected::linked(&self.orgs[i].account_id));
                    self.plant(Problem::NoAccountIdKnownEmail, key.clone(), intent);
                }
                PersonFate::NoAccountIdUnknownEmail => {
                    c.account_id = None;
                    self.plant(Problem::NoAccountIdUnknownEmail, key.clone(), rejected(reason::UNKNOWN_ACCOUNT));
                }
                PersonFate::NoAccountIdNoEmail => {
                    c.account_id = None;
                    c.email = None;
                    self.plant(Problem::NoAccountIdNoEmail, key.clone(), rejected(reason::MISSING_KEY));
                }
                PersonFate::NotAnEmail => {
                    c.account_id = None;
                    c.email = Some("n/a".into());
                    self.plant(Problem::NotAnEmail, key.clone(), rejected(reason::INVALID_FIELD));
                }
                _ => {}
            }
            if let Some(d) = cascade {
                c.deleted_at = Some(d);
                c.system_modstamp = d;
            } else if fate == SfFate::Customer && p.fate == PersonFate::Plain && self.chance(0.015) {
                let d = at(AS_OF - self.rng.random_range(3_600..259_200));
                c.deleted_at = Some(d);
                c.system_modstamp = d;
                self.plant(Problem::DeletedAtSource, key, Intent::Tombstone);
            }
            if c.deleted_at.is_none() {
                contact_ids.push(id);
            }
            self.out.salesforce.contacts.push(c);
        }
        let cases = match self.rng.random_range(0..10) {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        for _ in 0..cases {
            let id = self.next_sf_id(SObject::Case);
            let c_created = self.between(created);
            let modstamp = self.between(c_created);
            let contact_id = if contact_ids.is_empty() {
                None
            } else {
                Some(contact_ids[self.rng.random_range(0..contact_ids.len())].clone())
            };
            let mut case = sf::Case {
                id: id.clone(),
                account_id: if self.chance(0.9) { Some(sf_id.clone()) } else { None },
                contact_id,
                subject: Some(self.pick(SUBJECTS).into()),
                status: self.pick(&["New", "Working", "Escalated", "Closed", "Closed"]).into(),
                priority: self.pick(&["Low", "Medium", "Medium", "High"]).into(),
                created_date: at(c_created),
                system_modstamp: at(modstamp),
                deleted_at: cascade,
            };
            if let Some(d) = cascade {
                case.system_modstamp = d;
            } else if self.chance(0.02) {
                let d = at(AS_OF - self.rng.random_range(3_600..259_200));
                case.deleted_at = Some(d);
                case.system_modstamp = d;
                self.plant(Problem::DeletedAtSource, RecordKey::new(SALESFORCE, "Case", &id), Intent::Tombstone);
            }
            self.out.salesforce.cases.push(case);
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
        let o = &mut self.orgs[i];
        o.zd_id = Some(id);
        let (account_id, domain, fate, sf_fate, website_taken) =
            (o.account_id.clone(), o.domain.clone(), o.zd, o.sf, o.website_taken);
        let mut org = zd::Organization {
            id,
            name: o.name.clone(),
            external_id: Some(account_id.clone()),
            // A company whose domain another account's website took keeps its domain off Zendesk.
            domain_names: if website_taken { vec![] } else { vec![domain.clone()] },
            tier: Some(tier.into()),
            created_at: at(created),
            updated_at: at(updated),
        };
        let key = RecordKey::new(ZENDESK, "organizations", id.to_string());
        let rejected = |reason| Intent::Outcome(Expected::Rejected { reason });
        match fate {
            ZdFate::Absent => {}
            ZdFate::Exact => {
                if matches!(sf_fate, SfFate::Filtered(_)) {
                    self.plant(Problem::PointsAtFilteredAccount, key, rejected(reason::FILTERED_ACCOUNT));
                }
            }
            ZdFate::FloatId => {
                org.external_id = Some(format!("{account_id}.0"));
                org.domain_names.clear();
                self.plant(Problem::FloatFormattedId, key, rejected(reason::UNKNOWN_ACCOUNT));
            }
            ZdFate::TrailingSpace => {
                org.external_id = Some(format!("{account_id} "));
                org.domain_names.clear();
                self.plant(Problem::TrailingSpace, key, rejected(reason::UNKNOWN_ACCOUNT));
            }
            ZdFate::LinkedByDomain => {
                org.external_id = None;
                self.plant(Problem::LinkedByDomain, key, Intent::Outcome(Expected::linked(&account_id)));
            }
            ZdFate::UnknownDomain => {
                org.external_id = None;
                org.domain_names = vec![format!("{}-old.example", domain.split('.').next().unwrap_or("x"))];
                self.plant(Problem::UnknownDomain, key, rejected(reason::UNKNOWN_ACCOUNT));
            }
            ZdFate::Freemail => {
                org.external_id = None;
                org.domain_names = vec![self.pick(&["gmail.com", "outlook.com", "yahoo.com"]).into()];
                self.plant(Problem::FreemailDomain, key, rejected(reason::INVALID_FIELD));
            }
            ZdFate::NoKeys => {
                org.external_id = None;
                org.domain_names.clear();
                self.plant(Problem::NoLinkKeys, key, rejected(reason::MISSING_KEY));
            }
            ZdFate::SharedDomain => {
                org.external_id = None;
                self.plant(Problem::SharedDomain, key, rejected(reason::AMBIGUOUS));
            }
        }
        self.out.zendesk.organizations.push(org);
    }

    /// Organizations from an old support desk whose ids were never accounts.
    fn zendesk_only_companies(&mut self) {
        let n = (self.size / 100).max(1);
        for k in 0..n {
            let id = 369_000_000_000 + k as u64;
            let created = self.between(START);
            let updated = self.between(created);
            let org = zd::Organization {
                id,
                name: format!("{} {} (legacy)", self.pick(ADJ), self.pick(NOUN)),
                external_id: Some(format!("legacy-{k}")),
                domain_names: vec![format!("legacy{k}.example")],
                tier: None,
                created_at: at(created),
                updated_at: at(updated),
            };
            self.out.zendesk.organizations.push(org);
            let key = RecordKey::new(ZENDESK, "organizations", id.to_string());
            self.plant(
                Problem::OnlyInOneSystem,
                key,
                Intent::Outcome(Expected::Rejected { reason: reason::UNKNOWN_ACCOUNT }),
            );
            let user = self.zendesk_user(
                Some(id),
                format!("Legacy Contact {k}"),
                Some(format!("help{k}@legacy{k}.example")),
                created,
            );
            self.zendesk_tickets_for(&[user], Some(id), created);
        }
    }

    fn zendesk_user(&mut self, org: Option<u64>, name: String, email: Option<String>, after: i64) -> u64 {
        self.zd_user_seq += 1;
        let id = 361_000_000_000 + (self.seed % 1000) * 10_000_000 + self.zd_user_seq * 7;
        let created = self.between(after);
        let updated = self.between(created);
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
        id
    }

    fn zendesk_people(&mut self, i: usize, people: &[Person]) {
        let (org, created) = (self.orgs[i].zd_id, self.orgs[i].created);
        let mut users = Vec::new();
        for p in people.iter().filter(|p| p.in_zd) {
            // Most end users sit in their organization; some were never assigned one.
            let org_id = org.filter(|_| self.chance(0.9));
            let email = if self.chance(0.1) { p.email.to_uppercase() } else { p.email.clone() };
            users.push(self.zendesk_user(org_id, format!("{} {}", p.first, p.last), Some(email), created));
        }
        self.zendesk_tickets_for(&users, org, created);
    }

    fn zendesk_tickets_for(&mut self, users: &[u64], org: Option<u64>, after: i64) {
        if users.is_empty() {
            return;
        }
        let n = match self.rng.random_range(0..10) {
            0..=2 => 0,
            3..=6 => 1,
            7..=8 => 2,
            _ => 3,
        };
        for _ in 0..n {
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
                requester_id: users[self.rng.random_range(0..users.len())],
                organization_id: org.filter(|_| self.chance(0.85)),
                created_at: at(created),
                updated_at: at(updated),
            };
            if deleted {
                self.plant(
                    Problem::DeletedTicket,
                    RecordKey::new(ZENDESK, "tickets", id.to_string()),
                    Intent::Tombstone,
                );
            }
            self.out.zendesk.tickets.push(ticket);
        }
    }

    /// Our own support agents: Zendesk users with no organization, linking to nothing.
    fn zendesk_agents(&mut self) {
        for k in 0..(self.size / 500).clamp(2, 50) {
            let first = self.pick(FIRST);
            let id = self.zendesk_user(
                None,
                format!("{first} (Support)"),
                Some(format!("{}{k}@support.accord-sandbox.example", first.to_lowercase())),
                START,
            );
            if let Some(u) = self.out.zendesk.users.iter_mut().find(|u| u.id == id) {
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
        let key = RecordKey::new(INTERCOM, "companies", &id);
        let rejected = |reason| Intent::Outcome(Expected::Rejected { reason });
        match fate {
            IcFate::Absent => {}
            IcFate::Exact => {
                if matches!(sf_fate, SfFate::Filtered(_)) {
                    self.plant(Problem::PointsAtFilteredAccount, key, rejected(reason::FILTERED_ACCOUNT));
                }
            }
            IcFate::FloatId => {
                company.company_id = format!("{account_id}.0");
                self.plant(Problem::FloatFormattedId, key, rejected(reason::UNKNOWN_ACCOUNT));
            }
            IcFate::CaseDrift => {
                company.company_id = account_id.to_lowercase();
                self.plant(Problem::CaseDrift, key, rejected(reason::UNKNOWN_ACCOUNT));
            }
        }
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
            let intent = Intent::Outcome(Expected::Rejected { reason: reason::UNKNOWN_ACCOUNT });
            self.plant(Problem::OnlyInOneSystem, RecordKey::new(INTERCOM, "companies", &id), intent);
            let email = format!("founder{k}@trial{k}.example");
            self.intercom_contact(None, Some(email), Some(format!("Trial Founder {k}")), None, vec![id], created);
        }
    }

    fn intercom_contact(
        &mut self,
        external_id: Option<String>,
        email: Option<String>,
        name: Option<String>,
        account_id: Option<AttributeValue>,
        company_ids: Vec<String>,
        after: i64,
    ) -> String {
        let created = self.between(after);
        let updated = self.between(created);
        self.ic_seq += 1;
        let id = ic::object_id(at(created), self.seed.wrapping_mul(1_000_003) + self.ic_seq);
        let role = if external_id.is_some() { "user" } else { "lead" };
        let contact = ic::Contact {
            id: id.clone(),
            external_id: external_id.clone(),
            role: role.into(),
            email,
            name,
            created_at: at(created),
            updated_at: at(updated),
            account_id,
            company_ids,
        };
        self.out.intercom.contacts.push(contact);
        let conversations = match self.rng.random_range(0..10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        for _ in 0..conversations {
            self.ic_conversation_seq += 1;
            let c_created = self.between(created);
            let c_updated = self.between(c_created);
            let subject = self.pick(SUBJECTS);
            let title = if self.chance(0.3) { Some(subject.into()) } else { None };
            let state = self.pick(&["open", "closed", "closed", "snoozed"]).into();
            let source_type = self.pick(&["conversation", "conversation", "email"]).into();
            self.out.intercom.conversations.push(ic::Conversation {
                id: (1000 + self.ic_conversation_seq).to_string(),
                title,
                created_at: at(c_created),
                updated_at: at(c_updated),
                state,
                source_type,
                body: subject.into(),
                contacts: vec![ContactRef { id: id.clone(), external_id: external_id.clone() }],
            });
        }
        id
    }

    fn intercom_people(&mut self, i: usize, people: &[Person]) {
        let (account_id, company, created) =
            (self.orgs[i].account_id.clone(), self.orgs[i].ic_id.clone(), self.orgs[i].created);
        for p in people.iter().filter(|p| p.in_ic) {
            self.ic_seq += 1;
            let external_id = if self.chance(0.7) { Some(format!("usr_{}", self.ic_seq)) } else { None };
            let email = if self.chance(0.1) { capitalized(&p.email) } else { p.email.clone() };
            let mut attr = if self.chance(0.5) { Some(AttributeValue::Text(account_id.clone())) } else { None };
            let mut companies = company.iter().filter(|_| self.chance(0.85)).cloned().collect::<Vec<_>>();
            let mut planted = None;
            match p.fate {
                PersonFate::NoAccountIdKnownEmail => attr = Some(AttributeValue::Text(account_id.clone())),
                PersonFate::NumericAccountAttribute => {
                    attr = account_id.parse().ok().map(AttributeValue::Int);
                    planted = Some((Problem::NumericAccountAttribute, Intent::Outcome(Expected::linked(&account_id))));
                }
                PersonFate::NonIntegralAccountAttribute => {
                    let n: f64 = account_id.trim_start_matches("EU-").parse().unwrap_or(1.0);
                    attr = Some(AttributeValue::Float(n + 0.5));
                    companies.clear();
                    let intent = Intent::Outcome(Expected::Rejected { reason: reason::INVALID_ACCOUNT_ID });
                    planted = Some((Problem::NonIntegralAccountAttribute, intent));
                }
                _ => {}
            }
            let name = Some(format!("{} {}", p.first, p.last));
            let id = self.intercom_contact(external_id, Some(email), name, attr, companies, created);
            if let Some((problem, intent)) = planted {
                self.plant(problem, RecordKey::new(INTERCOM, "contacts", id), intent);
            }
        }
    }

    /// Agencies whose one mailbox is a contact at two customers: a Salesforce contact of the
    /// first, a Zendesk user of the second, and an Intercom lead decided by that email alone.
    fn shared_emails(&mut self) {
        if self.size < 40 {
            return;
        }
        for k in 0..(self.size / 200).max(1) {
            let a = self.plain_company();
            self.orgs[a].reserved = true;
            let b = self.plain_company();
            self.orgs[b].reserved = true;
            let email = format!("billing@agency{k}.example");
            let id = self.next_sf_id(SObject::Contact);
            let created = self.between(self.orgs[a].created);
            let modstamp = self.between(created);
            self.out.salesforce.contacts.push(sf::Contact {
                id,
                account_id: Some(self.orgs[a].sf_id.clone()),
                email: Some(email.clone()),
                first_name: None,
                last_name: format!("Agency {k} Billing"),
                created_date: at(created),
                system_modstamp: at(modstamp),
                deleted_at: None,
            });
            let (org_b, created_b) = (self.orgs[b].zd_id, self.orgs[b].created);
            self.zendesk_user(org_b, format!("Agency {k} Billing"), Some(email.clone()), created_b);
            let lead = self.intercom_contact(None, Some(email), Some(format!("Agency {k}")), None, vec![], START);
            let intent = Intent::Outcome(Expected::Rejected { reason: reason::AMBIGUOUS });
            self.plant(Problem::SharedEmail, RecordKey::new(INTERCOM, "contacts", lead), intent);
        }
    }

    fn finish(mut self) -> Company {
        let c = &mut self.out;
        // Salesforce lists are in id order; duplicates and agency contacts were added last with
        // the highest ids, so sorting only guards the invariant.
        c.salesforce.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        c.salesforce.contacts.sort_by(|a, b| a.id.cmp(&b.id));
        c.zendesk.organizations.sort_by_key(|o| o.id);
        c.zendesk.users.sort_by_key(|u| u.id);
        let mut counts = std::collections::HashMap::new();
        for contact in &c.intercom.contacts {
            for company in &contact.company_ids {
                *counts.entry(company.clone()).or_insert(0i64) += 1;
            }
        }
        for company in &mut c.intercom.companies {
            company.user_count = counts.get(&company.id).copied().unwrap_or(0);
        }
        c.intercom.companies.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        c.intercom.contacts.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        c.intercom.conversations.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        c.planted.sort_by(|a, b| (a.problem, &a.record).cmp(&(b.problem, &b.record)));
        self.out
    }
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
    }
}
