//! Ground truth: for every generated record, the account accord must link it to or the reason it
//! must reject it, computed by an independent re-statement of accord's default link rules.
//!
//! # Rules (the connectors' defaults)
//!
//! | object | rules, in order |
//! | --- | --- |
//! | `salesforce/Account` | System of Record: `Account_ID__c` is the account id, `Name` the name, `CreatedDate` the join date, filter `Type = 'Customer'`, `crm_account_id` = `Id`, website = `Website` |
//! | `salesforce/Contact` | `native_id AccountId via crm_account_id`, `email Email` |
//! | `salesforce/Case` | `native_id AccountId via crm_account_id`, `parent ContactId → Contact` |
//! | `zendesk/organizations` | `field external_id`, `domain domain_names[0]` |
//! | `zendesk/users` | `parent organization_id → organizations`, `email email` |
//! | `zendesk/tickets` | `parent organization_id → organizations`, `parent requester_id → users` |
//! | `intercom/companies` | `field company_id` |
//! | `intercom/contacts` | `field custom_attributes.account_id`, `parent companies.data[0].id → companies`, `email email` |
//! | `intercom/conversations` | `parent contacts.contacts[0].id → contacts` |
//!
//! Rules are tried in order and the first that resolves wins. A rule whose field is absent (or
//! null, or empty text) is skipped. A key naming a filtered-out account stops the search with
//! `filtered_account`. Otherwise the first rule that had a key decides the reason; no key at all is
//! `missing_key`. Ids compare exactly (case, spaces and `.0` matter); an integral JSON number is its
//! integer text, a non-integral one is `invalid_account_id` for a `field` rule and `invalid_field`
//! for the others. An `email` rule matches (case-insensitively, trimmed) the emails of *linked*
//! Salesforce contacts, Zendesk users and Intercom contacts: one account links, several are
//! `ambiguous`, none is `unknown_account`, and text without `@` is `invalid_field`. A `domain` rule
//! reads the lower-cased host of an email or URL (no `www.`) and matches the websites of active
//! accounts; free-mail domains never map and are `invalid_field`. `parent` and `native_id` rules
//! look the id up among the *linked* records of the named object, or the active accounts' Salesforce
//! ids. A System of Record account without `Account_ID__c` or `Name` is `missing_required_field`,
//! one whose `Account_ID__c` an earlier record (in `Id` order) already carried is `ambiguous`, and
//! one whose `Type` is not `Customer` is `filtered_account`. Only records that link feed the lookup
//! tables. A record reaching a filtered account through its Salesforce id (`AccountId`) is
//! `filtered_account`.
//!
//! # Ordering
//!
//! accord syncs the objects in [`SYNC_ORDER`], the System of Record first. A record can depend on
//! objects synced after it (a Salesforce contact whose only key is an email that a Zendesk user
//! carries): it is quarantined first and re-linked when the later record links. The truth is the
//! final state after every object has been synced once and re-linking has reached its fixpoint; it
//! is computed exactly that way (objects in order, then re-linking of the quarantine until nothing
//! changes, after each object). Records already linked are never re-linked by accord, so the
//! generator avoids data whose answer would change after a record linked (a shared email's holders
//! all sync before any record that is decided by it); [`Truth::unstable`] lists violations and is
//! empty for generated data.
//!
//! The truth describes a first sync of the data as it is. It has no history: an account that
//! was active in an earlier sync and is deleted or filtered now would be `deleted_account` or keep
//! its `crm_account_id` in accord, which a fresh sync cannot show.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::generate::Company;
use crate::intercom::model::{AttributeValue, IntercomData};
use crate::salesforce::model::SalesforceData;
use crate::zendesk::model::ZendeskData;

/// Source kind names, as accord's `[sources.*] kind` names them.
pub const SALESFORCE: &str = "salesforce";
pub const ZENDESK: &str = "zendesk";
pub const INTERCOM: &str = "intercom";

/// The order accord syncs the objects in; the truth is computed in the same order.
pub const SYNC_ORDER: [(&str, &str); 9] = [
    (SALESFORCE, "Account"),
    (SALESFORCE, "Contact"),
    (SALESFORCE, "Case"),
    (ZENDESK, "organizations"),
    (ZENDESK, "users"),
    (ZENDESK, "tickets"),
    (INTERCOM, "companies"),
    (INTERCOM, "contacts"),
    (INTERCOM, "conversations"),
];

/// accord's rejection reason codes.
pub mod reason {
    pub const MISSING_KEY: &str = "missing_key";
    pub const INVALID_ACCOUNT_ID: &str = "invalid_account_id";
    pub const UNKNOWN_ACCOUNT: &str = "unknown_account";
    pub const AMBIGUOUS: &str = "ambiguous";
    pub const FILTERED_ACCOUNT: &str = "filtered_account";
    pub const DELETED_ACCOUNT: &str = "deleted_account";
    pub const MISSING_REQUIRED_FIELD: &str = "missing_required_field";
    pub const INVALID_FIELD: &str = "invalid_field";
    pub const ALL: [&str; 8] = [
        MISSING_KEY,
        INVALID_ACCOUNT_ID,
        UNKNOWN_ACCOUNT,
        AMBIGUOUS,
        FILTERED_ACCOUNT,
        DELETED_ACCOUNT,
        MISSING_REQUIRED_FIELD,
        INVALID_FIELD,
    ];
}

/// A record of a source object: (source kind, object name, native id as text).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RecordKey {
    pub source: &'static str,
    pub object: &'static str,
    pub native_id: String,
}

impl RecordKey {
    pub fn new(source: &'static str, object: &'static str, native_id: impl Into<String>) -> Self {
        Self { source, object, native_id: native_id.into() }
    }
}

/// What accord must do with a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Expected {
    Linked {
        account_id: String,
    },
    /// `reason` is one of [`reason::ALL`].
    Rejected {
        reason: &'static str,
    },
}

impl Expected {
    pub fn linked(account_id: impl Into<String>) -> Self {
        Expected::Linked { account_id: account_id.into() }
    }

    pub fn account_id(&self) -> Option<&str> {
        match self {
            Expected::Linked { account_id } => Some(account_id),
            Expected::Rejected { .. } => None,
        }
    }

    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Expected::Rejected { reason } => Some(reason),
            Expected::Linked { .. } => None,
        }
    }
}

/// An account the System of Record yields (active after the filter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountTruth {
    pub account_id: String,
    pub name: String,
    pub join_date: DateTime<Utc>,
    /// The Salesforce `Id` of the account record.
    pub crm_account_id: String,
    pub website: Option<String>,
}

/// The expected state of accord after syncing every object once.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Every record a sync fetches, with its expected outcome.
    pub records: HashMap<RecordKey, Expected>,
    /// The accounts the System of Record yields, by account id.
    pub accounts: BTreeMap<String, AccountTruth>,
    /// Records the sources report as deleted (Salesforce `getDeleted`, Zendesk tickets with status
    /// `deleted`). They are not in `records`.
    pub tombstones: BTreeSet<RecordKey>,
    unstable: Vec<RecordKey>,
}

impl Truth {
    /// The truth of a generated company.
    pub fn compute(company: &Company) -> Self {
        Self::compute_from(&company.salesforce, &company.zendesk, &company.intercom)
    }

    /// The truth of data as the emulators hold it (see each emulator's `snapshot`).
    pub fn compute_from(sf: &SalesforceData, zd: &ZendeskData, ic: &IntercomData) -> Self {
        Computation::default().run(sf, zd, ic)
    }

    pub fn get(&self, source: &str, object: &str, native_id: &str) -> Option<&Expected> {
        self.records.get(&RecordKey {
            source: static_name(source)?,
            object: static_name(object)?,
            native_id: native_id.to_owned(),
        })
    }

    /// Records of one object, with their outcomes.
    pub fn of_object<'a>(
        &'a self,
        source: &'a str,
        object: &'a str,
    ) -> impl Iterator<Item = (&'a RecordKey, &'a Expected)> {
        self.records.iter().filter(move |(k, _)| k.source == source && k.object == object)
    }

    /// How many records expect each outcome: `linked` or a reason code.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for e in self.records.values() {
            *m.entry(e.reason().unwrap_or("linked")).or_default() += 1;
        }
        m
    }

    /// Linked records whose answer would change if they were linked again against the final
    /// lookup tables: order effects accord cannot undo. Empty for generated data.
    pub fn unstable(&self) -> &[RecordKey] {
        &self.unstable
    }
}

/// Maps a name to the `'static` spelling used in keys.
fn static_name(name: &str) -> Option<&'static str> {
    SYNC_ORDER.iter().flat_map(|(s, o)| [*s, *o]).find(|n| *n == name)
}

/// A link key read from a record, with JSON-number semantics already applied.
#[derive(Debug, Clone)]
enum Key<'a> {
    Absent,
    Text(Cow<'a, str>),
    /// A non-integral number.
    Invalid,
}

fn text_key(v: Option<&str>) -> Key<'_> {
    match v {
        None | Some("") => Key::Absent,
        Some(s) => Key::Text(Cow::Borrowed(s)),
    }
}

fn attribute_key(v: Option<&AttributeValue>) -> Key<'_> {
    match v {
        None => Key::Absent,
        Some(AttributeValue::Text(s)) => text_key(Some(s)),
        Some(AttributeValue::Int(i)) => Key::Text(Cow::Owned(i.to_string())),
        Some(AttributeValue::Float(f)) if f.is_finite() && f.fract() == 0.0 => Key::Text(Cow::Owned(format!("{f:.0}"))),
        Some(AttributeValue::Float(_)) => Key::Invalid,
    }
}

fn number_key(v: Option<u64>) -> Key<'static> {
    v.map_or(Key::Absent, |n| Key::Text(Cow::Owned(n.to_string())))
}

/// The id maps `parent` rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapId {
    SfContact = 0,
    ZdOrganization = 1,
    ZdUser = 2,
    IcCompany = 3,
    IcContact = 4,
}

#[derive(Debug, Clone)]
enum Rule<'a> {
    Field(Key<'a>),
    Crm(Key<'a>),
    Parent(MapId, Key<'a>),
    Email(Key<'a>),
    Domain(Key<'a>),
}

/// One record to link.
#[derive(Debug)]
struct Item<'a> {
    key: RecordKey,
    rules: Vec<Rule<'a>>,
    /// The email it adds to the lookup tables once linked (people only).
    email: Option<String>,
    /// The id map it joins once linked, under its native id.
    map: Option<MapId>,
}

enum Step {
    Linked(String),
    NoKey,
    Failed { reason: &'static str, terminal: bool },
}

#[derive(Debug, Default)]
struct Computation {
    accounts: BTreeMap<String, AccountTruth>,
    filtered: HashSet<String>,
    crm: HashMap<String, String>,
    /// Salesforce ids of the accounts the filter excludes.
    filtered_crm: HashSet<String>,
    domains: HashMap<String, Vec<String>>,
    maps: [HashMap<String, String>; 5],
    emails: HashMap<String, Vec<(String, u32)>>,
}

impl Computation {
    fn run(mut self, sf: &SalesforceData, zd: &ZendeskData, ic: &IntercomData) -> Truth {
        let mut truth = Truth::default();
        self.system_of_record(sf, &mut truth);
        for a in sf.accounts.iter().filter(|a| a.deleted_at.is_some()) {
            truth.tombstones.insert(RecordKey::new(SALESFORCE, "Account", &a.id));
        }
        let objects = objects(sf, zd, ic, &mut truth.tombstones);
        let mut linked: Vec<(Item<'_>, String)> = Vec::new();
        let mut quarantine: Vec<Item<'_>> = Vec::new();
        for items in objects {
            for item in items {
                match self.link(&item.rules) {
                    Ok(account) => {
                        self.join(&item, &account);
                        linked.push((item, account));
                    }
                    Err(_) => quarantine.push(item),
                }
            }
            // Re-link what the new links make resolvable, until nothing changes.
            loop {
                let before = quarantine.len();
                let mut still = Vec::with_capacity(before);
                for item in quarantine {
                    match self.link(&item.rules) {
                        Ok(account) => {
                            self.join(&item, &account);
                            linked.push((item, account));
                        }
                        Err(_) => still.push(item),
                    }
                }
                quarantine = still;
                if quarantine.len() == before {
                    break;
                }
            }
        }
        for (item, account) in &linked {
            if self.link(&item.rules).as_deref() != Ok(account.as_str()) {
                truth.unstable.push(item.key.clone());
            }
        }
        for (item, account) in linked {
            truth.records.insert(item.key, Expected::Linked { account_id: account });
        }
        for item in quarantine {
            let reason = self.link(&item.rules).err().unwrap_or(reason::UNKNOWN_ACCOUNT);
            truth.records.insert(item.key, Expected::Rejected { reason });
        }
        truth.unstable.sort();
        truth.accounts = self.accounts;
        truth
    }

    fn system_of_record(&mut self, sf: &SalesforceData, truth: &mut Truth) {
        let mut claims: HashMap<&str, &str> = HashMap::new();
        for a in sf.accounts.iter().filter(|a| a.deleted_at.is_none()) {
            let key = RecordKey::new(SALESFORCE, "Account", &a.id);
            let reject = |reason| Expected::Rejected { reason };
            let outcome = match (a.account_id.as_deref().filter(|s| !s.is_empty()), &a.name) {
                (None, _) | (_, None) => reject(reason::MISSING_REQUIRED_FIELD),
                (Some(id), Some(name)) => {
                    let first = *claims.entry(id).or_insert(&a.id);
                    if first != a.id {
                        reject(reason::AMBIGUOUS)
                    } else if a.account_type.as_deref() != Some("Customer") {
                        self.filtered.insert(id.to_owned());
                        self.filtered_crm.insert(a.id.clone());
                        reject(reason::FILTERED_ACCOUNT)
                    } else {
                        self.filtered.remove(id);
                        self.crm.insert(a.id.clone(), id.to_owned());
                        if let Some(d) = a.website.as_deref().and_then(domain_of) {
                            self.domains.entry(d).or_default().push(id.to_owned());
                        }
                        self.accounts.insert(
                            id.to_owned(),
                            AccountTruth {
                                account_id: id.to_owned(),
                                name: name.clone(),
                                join_date: a.created_date,
                                crm_account_id: a.id.clone(),
                                website: a.website.clone(),
                            },
                        );
                        Expected::linked(id)
                    }
                }
            };
            truth.records.insert(key, outcome);
        }
    }

    /// Adds a linked record to the lookup tables.
    fn join(&mut self, item: &Item<'_>, account: &str) {
        if let Some(m) = item.map {
            self.maps[m as usize].insert(item.key.native_id.clone(), account.to_owned());
        }
        if let Some(e) = item.email.as_deref().map(|e| e.trim().to_lowercase()).filter(|e| e.contains('@')) {
            let refs = self.emails.entry(e).or_default();
            match refs.iter_mut().find(|(a, _)| a == account) {
                Some((_, n)) => *n += 1,
                None => refs.push((account.to_owned(), 1)),
            }
        }
    }

    /// The linker: the account, or the reason.
    fn link(&self, rules: &[Rule<'_>]) -> Result<String, &'static str> {
        let mut first_failure: Option<&'static str> = None;
        for rule in rules {
            match self.apply(rule) {
                Step::Linked(a) => return Ok(a),
                Step::NoKey => {}
                Step::Failed { reason, terminal: true } => return Err(reason),
                Step::Failed { reason, terminal: false } => {
                    first_failure.get_or_insert(reason);
                }
            }
        }
        Err(first_failure.unwrap_or(reason::MISSING_KEY))
    }

    fn apply(&self, rule: &Rule<'_>) -> Step {
        let key = match rule {
            Rule::Field(k) | Rule::Crm(k) | Rule::Parent(_, k) | Rule::Email(k) | Rule::Domain(k) => k,
        };
        let text = match key {
            Key::Absent => return Step::NoKey,
            Key::Invalid => {
                let reason =
                    if matches!(rule, Rule::Field(_)) { reason::INVALID_ACCOUNT_ID } else { reason::INVALID_FIELD };
                return Step::Failed { reason, terminal: false };
            }
            Key::Text(t) => t.as_ref(),
        };
        match rule {
            Rule::Field(_) => {
                if self.accounts.contains_key(text) {
                    Step::Linked(text.to_owned())
                } else if self.filtered.contains(text) {
                    Step::Failed { reason: reason::FILTERED_ACCOUNT, terminal: true }
                } else {
                    Step::Failed { reason: reason::UNKNOWN_ACCOUNT, terminal: false }
                }
            }
            Rule::Crm(_) => match self.crm.get(text) {
                None if self.filtered_crm.contains(text) => {
                    Step::Failed { reason: reason::FILTERED_ACCOUNT, terminal: true }
                }
                found => choose(found.map(std::slice::from_ref).unwrap_or_default()),
            },
            Rule::Parent(map, _) => {
                choose(self.maps[*map as usize].get(text).map(std::slice::from_ref).unwrap_or_default())
            }
            Rule::Email(_) => {
                let email = text.trim().to_lowercase();
                if !email.contains('@') {
                    return Step::Failed { reason: reason::INVALID_FIELD, terminal: false };
                }
                let accounts: Vec<String> =
                    self.emails.get(&email).map(|r| r.iter().map(|(a, _)| a.clone()).collect()).unwrap_or_default();
                choose(&accounts)
            }
            Rule::Domain(_) => match domain_of(text) {
                None => Step::Failed { reason: reason::INVALID_FIELD, terminal: false },
                Some(d) => choose(self.domains.get(&d).map(Vec::as_slice).unwrap_or_default()),
            },
        }
    }
}

/// Every candidate here is an active account (a fresh sync has no deleted ones, and filtered
/// accounts never enter the tables), so the choice depends only on how many there are.
fn choose(candidates: &[String]) -> Step {
    let mut distinct: Vec<&String> = candidates.iter().collect();
    distinct.sort();
    distinct.dedup();
    match distinct.as_slice() {
        [] => Step::Failed { reason: reason::UNKNOWN_ACCOUNT, terminal: false },
        [one] => Step::Linked((*one).clone()),
        _ => Step::Failed { reason: reason::AMBIGUOUS, terminal: false },
    }
}

/// The non-System-of-Record objects as items to link, in sync order; deleted records go to
/// `tombstones` instead.
fn objects<'a>(
    sf: &'a SalesforceData,
    zd: &'a ZendeskData,
    ic: &'a IntercomData,
    tombstones: &mut BTreeSet<RecordKey>,
) -> Vec<Vec<Item<'a>>> {
    let mut out = Vec::with_capacity(8);
    let mut items = Vec::new();
    for c in &sf.contacts {
        let key = RecordKey::new(SALESFORCE, "Contact", &c.id);
        if c.deleted_at.is_some() {
            tombstones.insert(key);
            continue;
        }
        items.push(Item {
            key,
            rules: vec![Rule::Crm(text_key(c.account_id.as_deref())), Rule::Email(text_key(c.email.as_deref()))],
            email: c.email.clone(),
            map: Some(MapId::SfContact),
        });
    }
    out.push(std::mem::take(&mut items));
    for c in &sf.cases {
        let key = RecordKey::new(SALESFORCE, "Case", &c.id);
        if c.deleted_at.is_some() {
            tombstones.insert(key);
            continue;
        }
        items.push(Item {
            key,
            rules: vec![
                Rule::Crm(text_key(c.account_id.as_deref())),
                Rule::Parent(MapId::SfContact, text_key(c.contact_id.as_deref())),
            ],
            email: None,
            map: None,
        });
    }
    out.push(std::mem::take(&mut items));
    for o in &zd.organizations {
        items.push(Item {
            key: RecordKey::new(ZENDESK, "organizations", o.id.to_string()),
            rules: vec![
                Rule::Field(text_key(o.external_id.as_deref())),
                Rule::Domain(text_key(o.domain_names.first().map(String::as_str))),
            ],
            email: None,
            map: Some(MapId::ZdOrganization),
        });
    }
    out.push(std::mem::take(&mut items));
    for u in &zd.users {
        items.push(Item {
            key: RecordKey::new(ZENDESK, "users", u.id.to_string()),
            rules: vec![
                Rule::Parent(MapId::ZdOrganization, number_key(u.organization_id)),
                Rule::Email(text_key(u.email.as_deref())),
            ],
            email: u.email.clone(),
            map: Some(MapId::ZdUser),
        });
    }
    out.push(std::mem::take(&mut items));
    for t in &zd.tickets {
        let key = RecordKey::new(ZENDESK, "tickets", t.id.to_string());
        if t.is_deleted() {
            tombstones.insert(key);
            continue;
        }
        items.push(Item {
            key,
            rules: vec![
                Rule::Parent(MapId::ZdOrganization, number_key(t.organization_id)),
                Rule::Parent(MapId::ZdUser, number_key(Some(t.requester_id))),
            ],
            email: None,
            map: None,
        });
    }
    out.push(std::mem::take(&mut items));
    for c in &ic.companies {
        items.push(Item {
            key: RecordKey::new(INTERCOM, "companies", &c.id),
            rules: vec![Rule::Field(text_key(Some(&c.company_id)))],
            email: None,
            map: Some(MapId::IcCompany),
        });
    }
    out.push(std::mem::take(&mut items));
    for c in &ic.contacts {
        items.push(Item {
            key: RecordKey::new(INTERCOM, "contacts", &c.id),
            rules: vec![
                Rule::Field(attribute_key(c.account_id.as_ref())),
                Rule::Parent(MapId::IcCompany, text_key(c.company_ids.first().map(String::as_str))),
                Rule::Email(text_key(c.email.as_deref())),
            ],
            email: c.email.clone(),
            map: Some(MapId::IcContact),
        });
    }
    out.push(std::mem::take(&mut items));
    for c in &ic.conversations {
        items.push(Item {
            key: RecordKey::new(INTERCOM, "conversations", &c.id),
            rules: vec![Rule::Parent(MapId::IcContact, text_key(c.contacts.first().map(|r| r.id.as_str())))],
            email: None,
            map: None,
        });
    }
    out.push(items);
    out
}

/// Free-mail domains: they say nothing about the company, so they never map (accord's list).
pub const FREEMAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "mail.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "web.de",
    "msn.com",
];

/// The lower-cased domain of an email (`x@Acme.com`) or web address (`https://www.acme.com/a`);
/// `None` for free-mail domains and text without a domain.
pub fn domain_of(text: &str) -> Option<String> {
    let t = text.trim();
    let host = match t.rsplit_once('@') {
        Some((_, d)) => d,
        None => {
            let no_scheme = t.split_once("://").map_or(t, |(_, rest)| rest);
            no_scheme.split(['/', '?', '#', ':']).next().unwrap_or("")
        }
    };
    let host = host.trim_end_matches('.').to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    let valid = host.contains('.')
        && !host.starts_with('.')
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    (valid && !FREEMAIL.contains(&host.as_str())).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::model::{Account, Contact};
    use crate::zendesk::model::Organization;

    fn t() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn account(id: &str, account_id: Option<&str>, kind: &str, website: &str) -> Account {
        Account {
            id: id.into(),
            name: Some(format!("Co {id}")),
            account_type: Some(kind.into()),
            website: Some(website.into()),
            account_id: account_id.map(Into::into),
            created_date: t(),
            system_modstamp: t(),
            deleted_at: None,
        }
    }

    fn org(id: u64, external_id: Option<&str>, domains: &[&str]) -> Organization {
        Organization {
            id,
            name: format!("Org {id}"),
            external_id: external_id.map(Into::into),
            domain_names: domains.iter().map(|d| d.to_string()).collect(),
            tier: None,
            created_at: t(),
            updated_at: t(),
        }
    }

    fn contact(id: &str, account: Option<&str>, email: Option<&str>) -> Contact {
        Contact {
            id: id.into(),
            account_id: account.map(Into::into),
            email: email.map(Into::into),
            first_name: None,
            last_name: "X".into(),
            created_date: t(),
            system_modstamp: t(),
            deleted_at: None,
        }
    }

    #[test]
    fn the_rules_decide_as_accord_does() {
        let sf = SalesforceData {
            accounts: vec![
                account("001A", Some("100"), "Customer", "https://www.acme.com"),
                account("001B", Some("200"), "Prospect", "beta.io"),
                account("001C", Some("100"), "Customer", "dup.io"),
                account("001D", None, "Customer", "x.io"),
                account("001E", Some("300"), "Customer", "acme.com"),
            ],
            // Linked by AccountId; a prospect's contact is filtered (through its crm id); one links by email
            // only because a Zendesk user (synced later) carries it.
            contacts: vec![
                contact("003A", Some("001A"), Some("ann@acme.com")),
                contact("003B", Some("001B"), None),
                contact("003C", None, Some("Zed@Zeta.io")),
                contact("003D", None, Some("n/a")),
                contact("003E", None, None),
            ],
            cases: vec![],
        };
        let zd = ZendeskData {
            organizations: vec![
                org(1, Some("100"), &[]),
                org(2, Some("200"), &[]),
                org(3, Some("100.0"), &[]),
                org(4, None, &["acme.com"]),
                org(5, None, &["gmail.com"]),
                org(6, None, &[]),
                org(7, Some("300"), &[]),
            ],
            users: vec![crate::zendesk::model::User {
                id: 9,
                name: "Zed".into(),
                email: Some("zed@zeta.io".into()),
                organization_id: Some(7),
                role: "end-user".into(),
                active: true,
                created_at: t(),
                updated_at: t(),
            }],
            tickets: vec![],
        };
        let truth = Truth::compute_from(&sf, &zd, &IntercomData::default());
        let get = |s, o, id| truth.get(s, o, id).cloned().unwrap();
        let rejected = |reason| Expected::Rejected { reason };
        assert_eq!(get("salesforce", "Account", "001A"), Expected::linked("100"));
        assert_eq!(get("salesforce", "Account", "001B"), rejected(reason::FILTERED_ACCOUNT));
        assert_eq!(get("salesforce", "Account", "001C"), rejected(reason::AMBIGUOUS));
        assert_eq!(get("salesforce", "Account", "001D"), rejected(reason::MISSING_REQUIRED_FIELD));
        assert_eq!(get("salesforce", "Contact", "003A"), Expected::linked("100"));
        assert_eq!(get("salesforce", "Contact", "003B"), rejected(reason::FILTERED_ACCOUNT));
        assert_eq!(get("salesforce", "Contact", "003C"), Expected::linked("300"));
        assert_eq!(get("salesforce", "Contact", "003D"), rejected(reason::INVALID_FIELD));
        assert_eq!(get("salesforce", "Contact", "003E"), rejected(reason::MISSING_KEY));
        assert_eq!(get("zendesk", "organizations", "1"), Expected::linked("100"));
        assert_eq!(get("zendesk", "organizations", "2"), rejected(reason::FILTERED_ACCOUNT));
        assert_eq!(get("zendesk", "organizations", "3"), rejected(reason::UNKNOWN_ACCOUNT));
        assert_eq!(get("zendesk", "organizations", "4"), rejected(reason::AMBIGUOUS), "acme.com is 100's and 300's");
        assert_eq!(get("zendesk", "organizations", "5"), rejected(reason::INVALID_FIELD));
        assert_eq!(get("zendesk", "organizations", "6"), rejected(reason::MISSING_KEY));
        assert_eq!(truth.accounts.len(), 2);
        assert!(truth.unstable().is_empty());
    }

    #[test]
    fn json_number_keys_follow_accord() {
        assert!(matches!(attribute_key(Some(&AttributeValue::Float(42.0))), Key::Text(t) if t == "42"));
        assert!(matches!(attribute_key(Some(&AttributeValue::Float(42.5))), Key::Invalid));
        assert!(matches!(attribute_key(Some(&AttributeValue::Text(String::new()))), Key::Absent));
        assert_eq!(domain_of("Ann@Acme.COM").as_deref(), Some("acme.com"));
        assert_eq!(domain_of("bob@gmail.com"), None);
    }
}
