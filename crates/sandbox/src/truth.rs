//! Ground truth: for every generated record, the account accord must link it to and the rule that
//! links it, or the reason it must reject it; the accounts that are active and those on the delete
//! list; the records that are deleted.
//!
//! # Planted, not derived
//!
//! The truth is not computed from the data by a second linker. When the generator writes a link
//! key into a record it decides what the key means and writes that down beside the record, in the
//! [`Ledger`]: "this `external_id` is account `100042`'s id", "this `organization_id` is
//! organization `360000000004`'s id", "this email is Ada Berg's address" (however its letters are
//! cased in this system), "this domain is the website of accounts `100042` and `100077`", "this
//! `AccountId` is the `Id` of Salesforce account `001Hs…`", "this text is no account's id". It
//! also decides what each System of Record record is (a customer, filtered out, missing a required
//! field, a duplicate of an account id) and which record holds each account id. Nothing here reads
//! a field, normalizes an id, folds an email's case or extracts a domain: a mistake in accord's
//! parsing or matching shows as a difference from this truth, never as the same mistake twice.
//!
//! What follows from the keys' meanings is the handful of rules below, stated once
//! ([`Ledger::truth`]).
//!
//! # Rules (the connectors' defaults; `rules` builds the steps in this order)
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
//! | `delighted/survey_responses` | `email person.email` |
//! | `desk/companies` | `field custom_fields.account_id`, `domain domains` |
//! | `desk/customers` | `parent _links.company.id → companies`, `email emails[0].value` |
//! | `desk/cases` | `parent _links.company.id → companies`, `parent _links.customer.id → customers` |
//! | `freshdesk/companies` | `field custom_fields.account_id` |
//! | `freshdesk/contacts` | `parent company_id → companies`, `email email` |
//! | `freshdesk/tickets` | `parent company_id → companies`, `parent requester_id → contacts` |
//! | `capsule/organisations` | `field fields[definition.name=Account ID].value`, `domain websites[service=URL].address` |
//! | `capsule/people` | `parent organisation.id → organisations` |
//! | `keap/companies` | `field custom_fields[id=7].content` (the "CompanyID" custom field), `children id → contacts` |
//! | `keap/contacts` | `field custom_fields[id=9].content` ("ContactID"), `parent company.id → companies` |
//! | `stripe/customers` | `field metadata.account_id`, `email email` |
//! | `stripe/subscriptions`, `stripe/invoices` | `parent customer → customers` |
//! | `recurly/accounts` | `native_id code via billing_account_id` (the Salesforce account's `Billing_Account_ID__c` is its `billing_account_id`), `email email` |
//! | `recurly/subscriptions`, `recurly/invoices` | `parent account.id → accounts` |
//! | `maxio/customers` | `field reference`, `email email` |
//! | `maxio/subscriptions`, `maxio/invoices` | `parent customer.id` / `customer_id → customers` |
//! | `chargebee/customers` | `field cf_account_id`, `native_id id via billing_account_id` (the Salesforce account's `Billing_Account_ID__c` is its `billing_account_id`) |
//! | `chargebee/subscriptions`, `chargebee/invoices` | `parent customer_id → customers` |
//! | `zuora/accounts` | `field AccountId__c`, `native_id Id via billing_account_id` (the Zuora plug-in for Salesforce's `Account.Id` in `Billing_Account_ID__c`) |
//! | `zuora/subscriptions`, `zuora/invoices` | `parent AccountId → accounts` |
//! | `xero/contacts` | `field AccountNumber`, `email EmailAddress` |
//! | `xero/invoices`, `xero/payments`, `xero/repeating_invoices` | `parent Contact.ContactID` / `Invoice.Contact.ContactID → contacts` |
//! | `braintree/customers` | `field customFields[name=account_id].value`, `email email` |
//! | `braintree/transactions` | `parent customer.id → customers` |
//! | `jira/issues` | `field fields_by_name["Account ID"]`, `support_id fields_by_name["Support ID"]` (the Salesforce account's `Support_ID__c` is its `support_account_id`) |
//!
//! # What accord must answer
//!
//! The truth is the fixpoint over all of the company's data: the answer accord gives when every
//! record is known at once. It has no sync order, page size or crash point in its definition, and
//! the generator plants data whose answer a naive, order-dependent linker would get wrong (a
//! shared email whose second holder syncs late, an earlier rule that resolves only after a later
//! one did, a System of Record duplicate that syncs before the record holding the id).
//!
//! - Rules are tried in order and the first that resolves wins, whatever resolved first in time.
//!   A rule whose field is absent is skipped.
//! - A key naming an active account links to it. One naming an account the System of Record
//!   filter excludes is `filtered_account`, one naming an account on the delete list is
//!   `deleted_account`; both end the search (the record points at that account: linking it
//!   elsewhere would be a guess). A key naming no account is `unknown_account`.
//! - `native_id AccountId via crm_account_id`: the `Id` of a Salesforce account record names the
//!   account that record holds, and answers as a key naming that account does (so a contact of a
//!   filtered account is `filtered_account`). An `Id` whose record holds no account (missing a
//!   required field, a duplicate, deleted before accord saw it) is `unknown_account`.
//! - `support_id`: the `Support_ID__c` of a Salesforce account record answers as its `Id` does
//!   through `crm_account_id`: the account holds the support id of the record holding it.
//! - `native_id id via billing_account_id` (Chargebee customers): the `Billing_Account_ID__c`
//!   of a Salesforce account record answers as its `Id` does through `crm_account_id`.
//! - `children`: the accounts of the record's live members (the contacts naming it as their
//!   organization) that link by a rule before their first `parent`, `children` or `email` rule.
//!   One account links, several are `ambiguous`, none is `unknown_account`.
//! - `parent`: the parent's account when the parent links; `unknown_account` when the parent is
//!   rejected, deleted or absent, whatever the parent's own reason.
//! - `email`: the accounts of the live records holding that address that link by a rule other
//!   than `email` (a record linked by an email is no evidence for it). One account links, several
//!   are `ambiguous`, none is `unknown_account`.
//! - `domain`: the accounts whose website has that domain, among those accord knows (active or on
//!   the delete list; an account filtered out before it was ever active is unknown to accord).
//!   One active account links, several are `ambiguous`, only deleted ones are `deleted_account`
//!   (ending the search), none is `unknown_account`.
//! - A key the rule cannot use (text that is not an email address, a free-mail domain, a
//!   non-integral number) fails with `invalid_field`, or `invalid_account_id` for a `field` rule;
//!   the search goes on.
//! - When no rule resolves, the first rule that failed gives the reason; no key at all is
//!   `missing_key`.
//! - System of Record: a record missing `Account_ID__c` or `Name` is `missing_required_field`. Of
//!   the records carrying one account id, the one with the lowest `Id` holds the account and the
//!   others are `ambiguous`. A holder whose `Type` is not `Customer` is `filtered_account` and its
//!   account is filtered out; otherwise the account is active and its record links to it.
//!
//! # Deletions
//!
//! A record deleted at its source is a tombstone: accord must not hold it live. A record deleted
//! before accord first saw it (the generated company's own deletions) is only that. A record
//! deleted later ([`crate::Company::delete_some`], or an emulator's delete at runtime) is
//! judged as accord sees it after a sync before and a sync after the deletion: a System of Record
//! record that held an active account puts the account on the delete list, and every other record
//! is answered by the rules above without the deleted records (records that linked through them
//! re-link or are rejected).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::delighted::model::DelightedData;
use crate::desk::DeskData;
use crate::intercom::model::IntercomData;
use crate::salesforce::model::SalesforceData;
use crate::zendesk::model::ZendeskData;

/// Source kind names, as accord's `[sources.*] kind` names them.
pub const SALESFORCE: &str = "salesforce";
pub const ZENDESK: &str = "zendesk";
pub const INTERCOM: &str = "intercom";
pub const DELIGHTED: &str = "delighted";
pub const DESK: &str = "desk";
pub const FRESHDESK: &str = "freshdesk";
pub const CAPSULE: &str = "capsule";
pub const JIRA: &str = "jira";
pub const KEAP: &str = "keap";
pub const STRIPE: &str = "stripe";
pub const RECURLY: &str = "recurly";
pub const MAXIO: &str = "maxio";
pub const CHARGEBEE: &str = "chargebee";
pub const ZUORA: &str = "zuora";
pub const XERO: &str = "xero";
pub const BRAINTREE: &str = "braintree";

/// The objects the sandbox serves, System of Record first. A reading order for a config at most:
/// the truth does not depend on it.
pub const OBJECTS: [(&str, &str); 43] = [
    (SALESFORCE, "Account"),
    (SALESFORCE, "Contact"),
    (SALESFORCE, "Case"),
    (ZENDESK, "organizations"),
    (ZENDESK, "users"),
    (ZENDESK, "tickets"),
    (INTERCOM, "companies"),
    (INTERCOM, "contacts"),
    (INTERCOM, "conversations"),
    (DELIGHTED, "survey_responses"),
    (DESK, "companies"),
    (DESK, "customers"),
    (DESK, "cases"),
    (FRESHDESK, "companies"),
    (FRESHDESK, "contacts"),
    (FRESHDESK, "tickets"),
    (CAPSULE, "organisations"),
    (CAPSULE, "people"),
    (JIRA, "issues"),
    (KEAP, "companies"),
    (KEAP, "contacts"),
    (STRIPE, "customers"),
    (STRIPE, "subscriptions"),
    (STRIPE, "invoices"),
    (RECURLY, "accounts"),
    (RECURLY, "subscriptions"),
    (RECURLY, "invoices"),
    (MAXIO, "customers"),
    (MAXIO, "subscriptions"),
    (MAXIO, "invoices"),
    (CHARGEBEE, "customers"),
    (CHARGEBEE, "subscriptions"),
    (CHARGEBEE, "invoices"),
    (ZUORA, "accounts"),
    (ZUORA, "subscriptions"),
    (ZUORA, "invoices"),
    (XERO, "contacts"),
    (XERO, "invoices"),
    (XERO, "payments"),
    (XERO, "repeating_invoices"),
    (BRAINTREE, "customers"),
    (BRAINTREE, "transactions"),
    (BRAINTREE, "subscriptions"),
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

/// The rule a record links by: accord's name for the rule's kind (`field`, `native_id`, `parent`,
/// `email`, `domain`) and its position in the object's rule list (accord's `rule_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct By {
    pub rule: &'static str,
    pub index: usize,
}

impl By {
    pub const fn new(rule: &'static str, index: usize) -> Self {
        Self { rule, index }
    }
}

/// What accord must do with a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Expected {
    /// Linked to `account_id` by the rule `by`; `by` is `None` for the System of Record record
    /// that holds the account.
    Linked { account_id: String, by: Option<By> },
    /// `reason` is one of [`reason::ALL`].
    Rejected { reason: &'static str },
}

impl Expected {
    /// A record linked by a rule.
    pub fn linked(account_id: impl Into<String>, by: By) -> Self {
        Expected::Linked { account_id: account_id.into(), by: Some(by) }
    }

    /// The System of Record record holding an active account.
    pub fn holds(account_id: impl Into<String>) -> Self {
        Expected::Linked { account_id: account_id.into(), by: None }
    }

    pub fn rejected(reason: &'static str) -> Self {
        Expected::Rejected { reason }
    }

    pub fn account_id(&self) -> Option<&str> {
        match self {
            Expected::Linked { account_id, .. } => Some(account_id),
            Expected::Rejected { .. } => None,
        }
    }

    pub fn by(&self) -> Option<By> {
        match self {
            Expected::Linked { by, .. } => *by,
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

/// An active account, as its System of Record record holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountTruth {
    pub account_id: String,
    pub name: String,
    pub join_date: DateTime<Utc>,
    /// The Salesforce `Id` of the record holding the account.
    pub crm_account_id: String,
    pub website: Option<String>,
}

/// The expected state of accord once it has seen all of the company's data.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Every live record, with its expected outcome.
    pub records: HashMap<RecordKey, Expected>,
    /// The active accounts, by account id.
    pub accounts: BTreeMap<String, AccountTruth>,
    /// Accounts on the delete list: their System of Record record was deleted after accord saw it.
    pub deleted_accounts: BTreeSet<String>,
    /// Records deleted at their source. They are not in `records`.
    pub tombstones: BTreeSet<RecordKey>,
}

impl Truth {
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
}

/// Maps a name to the `'static` spelling used in keys.
pub(crate) fn static_name(name: &str) -> Option<&'static str> {
    OBJECTS.iter().flat_map(|(s, o)| [*s, *o]).find(|n| *n == name)
}

/// A record's position in the ledger.
pub(crate) type Ix = u32;

/// An account id the generator made, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AccountIx(u32);

/// An email address (one person's, however each system cases it), by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct EmailIx(u32);

/// A domain, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DomainIx(u32);

/// What the generator put in a record's link field, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// An account id, exactly as the System of Record carries it (whether or not a record holds it).
    Account(AccountIx),
    /// Text that is no account's id: mangled (`100042.0`, `100042 `, `eu-2001`) or never one.
    NoAccount,
    /// Text the rule cannot use; the reason it fails with.
    Unusable(&'static str),
    /// A domain.
    Domain(DomainIx),
    /// The `Id` of a Salesforce account record.
    Crm(Ix),
    /// The native id of a record of the parent object.
    Record(Ix),
    /// An email address.
    Email(EmailIx),
    /// The `Support_ID__c` of a Salesforce account record.
    Support(Ix),
    /// The `Billing_Account_ID__c` of a Salesforce account record (the accounts'
    /// `billing_account_id`): a Recurly account code, a Chargebee customer id or a Zuora `Account.Id`.
    Billing(Ix),
    /// The record's own id, which its members (records the generator made members of it, see
    /// [`Ledger::member`]) name as their organization: a `children` rule.
    Children(Ix),
}

/// One rule of a record, with what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub by: By,
    pub key: Key,
}

/// The connectors' default rules, one function per object (the table in the module docs). Each
/// takes what the generator put in the rule's field, `None` when the field is absent, and returns
/// the steps in rule order.
pub(crate) mod rules {
    use super::{By, Key, Step};

    fn steps<const N: usize>(rules: [(&'static str, Option<Key>); N]) -> Vec<Step> {
        rules
            .into_iter()
            .enumerate()
            .filter_map(|(index, (rule, key))| key.map(|key| Step { by: By::new(rule, index), key }))
            .collect()
    }

    pub fn sf_contact(account_id: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("native_id", account_id), ("email", email)])
    }

    pub fn sf_case(account_id: Option<Key>, contact_id: Option<Key>) -> Vec<Step> {
        steps([("native_id", account_id), ("parent", contact_id)])
    }

    pub fn zd_organization(external_id: Option<Key>, domain: Option<Key>) -> Vec<Step> {
        steps([("field", external_id), ("domain", domain)])
    }

    pub fn zd_user(organization_id: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("parent", organization_id), ("email", email)])
    }

    pub fn zd_ticket(organization_id: Option<Key>, requester_id: Option<Key>) -> Vec<Step> {
        steps([("parent", organization_id), ("parent", requester_id)])
    }

    pub fn ic_company(company_id: Option<Key>) -> Vec<Step> {
        steps([("field", company_id)])
    }

    pub fn ic_contact(account_id: Option<Key>, company: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("field", account_id), ("parent", company), ("email", email)])
    }

    pub fn ic_conversation(contact: Option<Key>) -> Vec<Step> {
        steps([("parent", contact)])
    }

    pub fn dl_response(email: Option<Key>) -> Vec<Step> {
        steps([("email", email)])
    }

    pub fn dk_company(account_id: Option<Key>, domain: Option<Key>) -> Vec<Step> {
        steps([("field", account_id), ("domain", domain)])
    }

    pub fn dk_customer(company: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("parent", company), ("email", email)])
    }

    pub fn dk_case(company: Option<Key>, customer: Option<Key>) -> Vec<Step> {
        steps([("parent", company), ("parent", customer)])
    }

    pub fn fd_company(account_id_field: Option<Key>) -> Vec<Step> {
        steps([("field", account_id_field)])
    }

    pub fn fd_contact(company_id: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("parent", company_id), ("email", email)])
    }

    pub fn fd_ticket(company_id: Option<Key>, requester_id: Option<Key>) -> Vec<Step> {
        steps([("parent", company_id), ("parent", requester_id)])
    }

    pub fn cp_organisation(account_id_field: Option<Key>, website: Option<Key>) -> Vec<Step> {
        steps([("field", account_id_field), ("domain", website)])
    }

    pub fn cp_person(organisation: Option<Key>) -> Vec<Step> {
        steps([("parent", organisation)])
    }

    pub fn jira_issue(account_field: Option<Key>, support_id: Option<Key>) -> Vec<Step> {
        steps([("field", account_field), ("support_id", support_id)])
    }

    pub fn keap_company(company_id: Option<Key>, itself: Key) -> Vec<Step> {
        steps([("field", company_id), ("children", Some(itself))])
    }

    pub fn keap_contact(contact_id: Option<Key>, company: Option<Key>) -> Vec<Step> {
        steps([("field", contact_id), ("parent", company)])
    }

    pub fn stripe_customer(account_id: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("field", account_id), ("email", email)])
    }

    /// Subscriptions and invoices: through their customer.
    pub fn stripe_child(customer: Option<Key>) -> Vec<Step> {
        steps([("parent", customer)])
    }

    /// Recurly accounts: the code through the SOR's `billing_account_id`, then the email.
    pub fn recurly_account(code: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("native_id", code), ("email", email)])
    }

    /// Recurly subscriptions and invoices: through their account.
    pub fn recurly_child(account: Option<Key>) -> Vec<Step> {
        steps([("parent", account)])
    }

    /// Maxio customers: by `reference` (our account id), then by email.
    pub fn maxio_customer(reference: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("field", reference), ("email", email)])
    }

    /// Maxio subscriptions (`customer.id`) and invoices (`customer_id`): through their customer.
    pub fn maxio_child(customer: Option<Key>) -> Vec<Step> {
        steps([("parent", customer)])
    }

    pub fn chargebee_customer(account_id_field: Option<Key>, id: Option<Key>) -> Vec<Step> {
        steps([("field", account_id_field), ("native_id", id)])
    }

    /// Subscriptions and invoices: through their customer (`customer_id`).
    pub fn chargebee_child(customer: Option<Key>) -> Vec<Step> {
        steps([("parent", customer)])
    }

    /// Zuora accounts: the custom field `AccountId__c`, then the `Id` through the SOR's
    /// `billing_account_id`.
    pub fn zuora_account(account_id: Option<Key>, id: Option<Key>) -> Vec<Step> {
        steps([("field", account_id), ("native_id", id)])
    }

    /// Zuora subscriptions and invoices: through their account.
    pub fn zuora_child(account: Option<Key>) -> Vec<Step> {
        steps([("parent", account)])
    }

    /// Xero contacts: by `AccountNumber` (our account id), then by `EmailAddress`.
    pub fn xero_contact(account_number: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("field", account_number), ("email", email)])
    }

    /// Xero invoices, payments and repeating invoices: through their contact.
    pub fn xero_child(contact: Option<Key>) -> Vec<Step> {
        steps([("parent", contact)])
    }

    /// Braintree customers: by the `account_id` custom field, then by email.
    pub fn braintree_customer(account_id: Option<Key>, email: Option<Key>) -> Vec<Step> {
        steps([("field", account_id), ("email", email)])
    }

    /// Braintree transactions: through their customer (`customer.id`).
    pub fn braintree_child(customer: Option<Key>) -> Vec<Step> {
        steps([("parent", customer)])
    }
}

/// What a System of Record record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SorKind {
    /// Holds its account id; `Type = 'Customer'`.
    Customer,
    /// Holds its account id; another `Type`, so the filter excludes it.
    Filtered,
    /// Lacks `Account_ID__c` or `Name`.
    MissingField,
    /// Carries an account id that a record with a lower `Id` holds.
    Duplicate,
}

/// Whether a record still exists at its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    Live,
    /// Deleted before accord first saw the data.
    BeforeFirstSync,
    /// Deleted after a first sync.
    Later,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// A System of Record record and the account id it carries.
    Sor { account: Option<AccountIx>, kind: SorKind },
    /// A record linked by its object's rules; `email` is the address it holds (evidence for that
    /// address when the record links by another rule).
    Rules { steps: Vec<Step>, email: Option<EmailIx> },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: RecordKey,
    pub plan: Plan,
    pub gone: Gone,
}

#[derive(Debug, Clone, PartialEq)]
struct AccountPlan {
    id: String,
    /// The System of Record record holding the id, with the account as it holds it.
    holder: Option<(Ix, AccountTruth)>,
    /// The domain of the holder's website.
    website: Option<DomainIx>,
}

/// Every generated record with what its link keys mean, every account id and who holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    entries: Vec<Entry>,
    accounts: Vec<AccountPlan>,
    emails: Vec<String>,
    domains: Vec<String>,
    /// `(member, organization)`: the member names the organization as its own.
    members: Vec<(Ix, Ix)>,
}

impl Ledger {
    pub(crate) fn account(&mut self, id: impl Into<String>) -> AccountIx {
        self.accounts.push(AccountPlan { id: id.into(), holder: None, website: None });
        AccountIx(self.accounts.len() as u32 - 1)
    }

    pub(crate) fn account_id(&self, a: AccountIx) -> &str {
        &self.accounts[a.0 as usize].id
    }

    /// A new email address (the generator interns them: one per address).
    pub(crate) fn email(&mut self, address: impl Into<String>) -> EmailIx {
        self.emails.push(address.into());
        EmailIx(self.emails.len() as u32 - 1)
    }

    #[cfg(test)]
    pub(crate) fn emails(&self) -> &[String] {
        &self.emails
    }

    /// A new domain (the generator interns them: one per domain).
    pub(crate) fn domain(&mut self, domain: impl Into<String>) -> DomainIx {
        self.domains.push(domain.into());
        DomainIx(self.domains.len() as u32 - 1)
    }

    #[cfg(test)]
    pub(crate) fn domains(&self) -> &[String] {
        &self.domains
    }

    pub(crate) fn push(&mut self, key: RecordKey, plan: Plan, gone: Gone) -> Ix {
        if let Plan::Rules { steps, .. } = &plan {
            // Evidence for an email is a record linked by another rule: with email last, whether a
            // record is evidence never depends on its own email.
            let email_at = steps.iter().position(|s| matches!(s.key, Key::Email(_)));
            assert!(email_at.is_none_or(|i| i == steps.len() - 1), "{key:?}: the email rule must come last");
        }
        self.entries.push(Entry { key, plan, gone });
        self.entries.len() as Ix - 1
    }

    /// Records that `holder`, a System of Record record of kind `Customer` or `Filtered`, holds
    /// its account id, which it carries as `account`, with a website of domain `website`.
    pub(crate) fn hold(&mut self, holder: Ix, account: AccountTruth, website: Option<DomainIx>) {
        let Plan::Sor { account: Some(a), kind } = self.entries[holder as usize].plan else {
            panic!("{:?} carries no account id", self.entries[holder as usize].key)
        };
        assert!(matches!(kind, SorKind::Customer | SorKind::Filtered), "a {kind:?} record holds no account");
        let plan = &mut self.accounts[a.0 as usize];
        assert!(plan.holder.is_none(), "account {} already has a holder", plan.id);
        assert_eq!(plan.id, account.account_id);
        plan.holder = Some((holder, account));
        plan.website = website;
    }

    /// The System of Record record holding an account id.
    pub(crate) fn holder(&self, a: AccountIx) -> Option<Ix> {
        self.accounts[a.0 as usize].holder.as_ref().map(|(h, _)| *h)
    }

    /// How many records the ledger holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn entry(&self, ix: Ix) -> &Entry {
        &self.entries[ix as usize]
    }

    /// The position the next [`Ledger::push`] gives, for a plan that names its own record.
    pub(crate) fn next_ix(&self) -> Ix {
        self.entries.len() as Ix
    }

    /// Records that `member` names `organization` as its organization (what a `children` rule of
    /// the organization reads).
    pub(crate) fn member(&mut self, member: Ix, organization: Ix) {
        self.members.push((member, organization));
    }

    pub(crate) fn set_gone(&mut self, ix: Ix, gone: Gone) {
        self.entries[ix as usize].gone = gone;
    }

    /// The ledger with every record the emulators no longer serve live marked as deleted after
    /// a first sync: Salesforce records with a deletion date, Zendesk tickets with status
    /// `deleted` and users with `active: false`, and records that are gone.
    pub(crate) fn with_deletions_seen_in(
        &self,
        sf: &SalesforceData,
        zd: &ZendeskData,
        ic: &IntercomData,
        dl: &DelightedData,
        dk: &DeskData,
    ) -> Ledger {
        let mut live: HashSet<(&str, &str)> = HashSet::new();
        live.extend(sf.accounts.iter().filter(|r| r.deleted_at.is_none()).map(|r| ("Account", r.id.as_str())));
        live.extend(sf.contacts.iter().filter(|r| r.deleted_at.is_none()).map(|r| ("Contact", r.id.as_str())));
        live.extend(sf.cases.iter().filter(|r| r.deleted_at.is_none()).map(|r| ("Case", r.id.as_str())));
        let zd_ids: Vec<(&str, String)> = zd
            .organizations
            .iter()
            .map(|r| ("organizations", r.id.to_string()))
            .chain(zd.users.iter().filter(|u| u.active).map(|r| ("users", r.id.to_string())))
            .chain(zd.tickets.iter().filter(|t| !t.is_deleted()).map(|r| ("tickets", r.id.to_string())))
            .collect();
        live.extend(zd_ids.iter().map(|(o, id)| (*o, id.as_str())));
        live.extend(ic.companies.iter().map(|r| ("companies", r.id.as_str())));
        live.extend(ic.contacts.iter().map(|r| ("contacts", r.id.as_str())));
        live.extend(ic.conversations.iter().map(|r| ("conversations", r.id.as_str())));
        live.extend(dl.survey_responses.iter().map(|r| ("survey_responses", r.id.as_str())));
        // Desk's export does not change: its records are live as generated. (Its object names
        // meet Intercom's `companies`, whose ids are 24 hex digits, never Desk's numbers.)
        let dk_ids: Vec<(&str, String)> = dk
            .companies
            .iter()
            .map(|r| ("companies", r.id.to_string()))
            .chain(dk.customers.iter().map(|r| ("customers", r.id.to_string())))
            .chain(dk.cases.iter().map(|r| ("cases", r.id.to_string())))
            .collect();
        live.extend(dk_ids.iter().map(|(o, id)| (*o, id.as_str())));
        let mut out = self.clone();
        let seen = [SALESFORCE, ZENDESK, INTERCOM, DELIGHTED, DESK];
        for e in out.entries.iter_mut().filter(|e| seen.contains(&e.key.source)) {
            if e.gone == Gone::Live && !live.contains(&(e.key.object, e.key.native_id.as_str())) {
                e.gone = Gone::Later;
            }
        }
        out
    }

    /// The ledger with the records of `source` that it no longer serves live (not in `live`,
    /// as `(object, native id)`) marked as deleted after a first sync.
    pub(crate) fn with_gone_in(mut self, source: &str, live: &HashSet<(&str, String)>) -> Ledger {
        for e in &mut self.entries {
            if e.gone == Gone::Live
                && e.key.source == source
                && !live.contains(&(e.key.object, e.key.native_id.clone()))
            {
                e.gone = Gone::Later;
            }
        }
        self
    }

    /// The ledger with the JIRA issues the emulator no longer serves marked as deleted after a
    /// first sync.
    pub(crate) fn with_jira_deletions_seen_in(mut self, jira: &crate::jira::model::JiraData) -> Ledger {
        let live: HashSet<String> = jira.issues.iter().map(|i| i.id.to_string()).collect();
        for e in self.entries.iter_mut().filter(|e| e.key.source == JIRA) {
            if e.gone == Gone::Live && !live.contains(&e.key.native_id) {
                e.gone = Gone::Later;
            }
        }
        self
    }

    /// The ledger with the Keap records the emulator no longer serves marked as deleted after a
    /// first sync.
    pub(crate) fn with_keap_deletions_seen_in(mut self, keap: &crate::keap::model::KeapData) -> Ledger {
        let live: HashSet<(&str, String)> = keap
            .companies
            .iter()
            .map(|c| ("companies", c.id.to_string()))
            .chain(keap.contacts.iter().map(|c| ("contacts", c.id.to_string())))
            .collect();
        for e in self.entries.iter_mut().filter(|e| e.key.source == KEAP) {
            if e.gone == Gone::Live && !live.contains(&(e.key.object, e.key.native_id.clone())) {
                e.gone = Gone::Later;
            }
        }
        self
    }

    /// What accord must answer for this data: the rules of the module docs applied to the
    /// planted meanings.
    pub fn truth(&self) -> Truth {
        let mut r = Resolver::new(self);
        let mut truth = Truth::default();
        for i in 0..self.entries.len() as Ix {
            let key = self.entries[i as usize].key.clone();
            match r.outcome(i) {
                Outcome::Gone => {
                    truth.tombstones.insert(key);
                }
                Outcome::Linked(a, by) => {
                    truth.records.insert(key, Expected::Linked { account_id: self.account_id(a).to_owned(), by });
                }
                Outcome::Rejected(reason) => {
                    truth.records.insert(key, Expected::Rejected { reason });
                }
            }
        }
        for (i, plan) in self.accounts.iter().enumerate() {
            match r.status(AccountIx(i as u32)) {
                Status::Active => {
                    let (_, account) = plan.holder.as_ref().expect("an active account has a holder");
                    truth.accounts.insert(plan.id.clone(), account.clone());
                }
                Status::Deleted => {
                    truth.deleted_accounts.insert(plan.id.clone());
                }
                Status::Filtered | Status::Unknown => {}
            }
        }
        truth
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Gone,
    Linked(AccountIx, Option<By>),
    Rejected(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Filtered,
    Deleted,
    /// No record holds the id (or its holder was deleted before accord saw it).
    Unknown,
}

/// What one rule finds.
enum Found {
    Account(AccountIx),
    /// The rule fails with a reason; `ends` stops the search.
    Fails {
        reason: &'static str,
        ends: bool,
    },
}

fn fails(reason: &'static str) -> Found {
    Found::Fails { reason, ends: false }
}

struct Resolver<'a> {
    ledger: &'a Ledger,
    outcomes: Vec<Option<Outcome>>,
    evidence: HashMap<EmailIx, Vec<AccountIx>>,
    /// Entries and emails being resolved, to refuse plans that depend on themselves.
    busy: HashSet<Result<Ix, EmailIx>>,
    holders: HashMap<EmailIx, Vec<Ix>>,
    websites: HashMap<DomainIx, Vec<AccountIx>>,
    members: HashMap<Ix, Vec<Ix>>,
}

impl<'a> Resolver<'a> {
    fn new(ledger: &'a Ledger) -> Self {
        let mut holders: HashMap<EmailIx, Vec<Ix>> = HashMap::new();
        for (i, e) in ledger.entries.iter().enumerate() {
            if let Plan::Rules { email: Some(address), .. } = e.plan {
                holders.entry(address).or_default().push(i as Ix);
            }
        }
        let mut websites: HashMap<DomainIx, Vec<AccountIx>> = HashMap::new();
        for (i, a) in ledger.accounts.iter().enumerate() {
            if let (Some(d), Some(_)) = (a.website, &a.holder) {
                websites.entry(d).or_default().push(AccountIx(i as u32));
            }
        }
        let mut members: HashMap<Ix, Vec<Ix>> = HashMap::new();
        for &(member, organization) in &ledger.members {
            members.entry(organization).or_default().push(member);
        }
        Self {
            ledger,
            outcomes: vec![None; ledger.entries.len()],
            evidence: HashMap::new(),
            busy: HashSet::new(),
            holders,
            websites,
            members,
        }
    }

    fn status(&self, a: AccountIx) -> Status {
        let Some(h) = self.ledger.holder(a) else { return Status::Unknown };
        let e = self.ledger.entry(h);
        match (e.gone, &e.plan) {
            (Gone::Live, Plan::Sor { kind: SorKind::Customer, .. }) => Status::Active,
            (Gone::Live, Plan::Sor { kind: SorKind::Filtered, .. }) => Status::Filtered,
            (Gone::Later, Plan::Sor { kind: SorKind::Customer, .. }) => Status::Deleted,
            _ => Status::Unknown,
        }
    }

    fn outcome(&mut self, i: Ix) -> Outcome {
        if let Some(o) = self.outcomes[i as usize] {
            return o;
        }
        let entry = self.ledger.entry(i);
        assert!(self.busy.insert(Ok(i)), "the plan of {:?} depends on itself", entry.key);
        let o = if entry.gone != Gone::Live {
            Outcome::Gone
        } else {
            match &entry.plan {
                Plan::Sor { account, kind } => self.system_of_record(i, *account, *kind),
                Plan::Rules { steps, .. } => self.rules(steps),
            }
        };
        self.busy.remove(&Ok(i));
        self.outcomes[i as usize] = Some(o);
        o
    }

    fn system_of_record(&self, i: Ix, account: Option<AccountIx>, kind: SorKind) -> Outcome {
        match (account, kind) {
            (Some(a), SorKind::Customer | SorKind::Filtered) => {
                assert_eq!(self.ledger.holder(a), Some(i), "{:?} holds no account", self.ledger.entry(i).key);
                match self.status(a) {
                    Status::Active => Outcome::Linked(a, None),
                    _ => Outcome::Rejected(reason::FILTERED_ACCOUNT),
                }
            }
            (None, _) | (_, SorKind::MissingField) => Outcome::Rejected(reason::MISSING_REQUIRED_FIELD),
            (Some(_), SorKind::Duplicate) => Outcome::Rejected(reason::AMBIGUOUS),
        }
    }

    fn rules(&mut self, steps: &[Step]) -> Outcome {
        let mut first_failure = None;
        for step in steps {
            match self.find(step.key) {
                Found::Account(a) => return Outcome::Linked(a, Some(step.by)),
                Found::Fails { reason, ends: true } => return Outcome::Rejected(reason),
                Found::Fails { reason, ends: false } => {
                    first_failure.get_or_insert(reason);
                }
            }
        }
        Outcome::Rejected(first_failure.unwrap_or(reason::MISSING_KEY))
    }

    fn find(&mut self, key: Key) -> Found {
        match key {
            Key::Account(a) => match self.status(a) {
                Status::Active => Found::Account(a),
                Status::Filtered => Found::Fails { reason: reason::FILTERED_ACCOUNT, ends: true },
                Status::Deleted => Found::Fails { reason: reason::DELETED_ACCOUNT, ends: true },
                Status::Unknown => fails(reason::UNKNOWN_ACCOUNT),
            },
            Key::NoAccount => fails(reason::UNKNOWN_ACCOUNT),
            Key::Unusable(reason) => fails(reason),
            Key::Domain(d) => {
                let known = self.websites.get(&d).map(Vec::as_slice).unwrap_or_default();
                let active: BTreeSet<AccountIx> =
                    known.iter().copied().filter(|a| self.status(*a) == Status::Active).collect();
                let deleted = known.iter().any(|a| self.status(*a) == Status::Deleted);
                match active.len() {
                    1 => Found::Account(*active.first().expect("one")),
                    0 if deleted => Found::Fails { reason: reason::DELETED_ACCOUNT, ends: true },
                    0 => fails(reason::UNKNOWN_ACCOUNT),
                    _ => fails(reason::AMBIGUOUS),
                }
            }
            Key::Crm(r) | Key::Support(r) | Key::Billing(r) => match self.ledger.entry(r).plan {
                Plan::Sor { account: Some(a), .. } if self.ledger.holder(a) == Some(r) => self.find(Key::Account(a)),
                _ => fails(reason::UNKNOWN_ACCOUNT),
            },
            Key::Record(p) => match self.outcome(p) {
                Outcome::Linked(a, _) => Found::Account(a),
                Outcome::Gone | Outcome::Rejected(_) => fails(reason::UNKNOWN_ACCOUNT),
            },
            Key::Email(e) => {
                let accounts = self.evidence(e);
                match accounts.as_slice() {
                    [one] => Found::Account(*one),
                    [] => fails(reason::UNKNOWN_ACCOUNT),
                    _ => fails(reason::AMBIGUOUS),
                }
            }
            Key::Children(organization) => {
                let accounts = self.member_accounts(organization);
                match accounts.len() {
                    1 => Found::Account(*accounts.first().expect("one")),
                    0 => fails(reason::UNKNOWN_ACCOUNT),
                    _ => fails(reason::AMBIGUOUS),
                }
            }
        }
    }

    /// The accounts an organization's live members link to by a direct rule: the rules before
    /// their first `parent`, `children` or `email` rule (which the connectors list after the
    /// direct ones), so a member's evidence never depends on the organization's own answer.
    fn member_accounts(&mut self, organization: Ix) -> BTreeSet<AccountIx> {
        let members = self.members.get(&organization).cloned().unwrap_or_default();
        let mut accounts = BTreeSet::new();
        for m in members {
            let entry = self.ledger.entry(m);
            let Plan::Rules { steps, .. } = &entry.plan else { continue };
            if entry.gone != Gone::Live {
                continue;
            }
            for step in steps.iter().take_while(|s| !matches!(s.by.rule, "parent" | "children" | "email")) {
                match self.find(step.key) {
                    Found::Account(a) => {
                        accounts.insert(a);
                        break;
                    }
                    Found::Fails { ends: true, .. } => break,
                    Found::Fails { ends: false, .. } => {}
                }
            }
        }
        accounts
    }

    /// The accounts an email is evidence for: those of its live holders that link by another
    /// rule than `email` (which, coming last, is never needed to know).
    fn evidence(&mut self, e: EmailIx) -> Vec<AccountIx> {
        if let Some(v) = self.evidence.get(&e) {
            return v.clone();
        }
        assert!(self.busy.insert(Err(e)), "the evidence for {} depends on itself", self.ledger.emails[e.0 as usize]);
        let holders = self.holders.get(&e).cloned().unwrap_or_default();
        let mut accounts = BTreeSet::new();
        for h in holders {
            let entry = self.ledger.entry(h);
            let Plan::Rules { steps, .. } = &entry.plan else { continue };
            if entry.gone != Gone::Live {
                continue;
            }
            for step in steps.iter().take_while(|s| !matches!(s.key, Key::Email(_))) {
                match self.find(step.key) {
                    Found::Account(a) => {
                        accounts.insert(a);
                        break;
                    }
                    Found::Fails { ends: true, .. } => break,
                    Found::Fails { ends: false, .. } => {}
                }
            }
        }
        let accounts: Vec<AccountIx> = accounts.into_iter().collect();
        self.busy.remove(&Err(e));
        self.evidence.insert(e, accounts.clone());
        accounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// A ledger built by hand, as the generator builds one.
    struct Fixture {
        l: Ledger,
        n: u32,
    }

    impl Fixture {
        fn new() -> Self {
            Self { l: Ledger::default(), n: 0 }
        }

        fn key(&mut self, object: &'static str) -> RecordKey {
            self.n += 1;
            let source = OBJECTS.iter().find(|(_, o)| *o == object).unwrap().0;
            RecordKey::new(source, object, format!("{object}{}", self.n))
        }

        /// A System of Record record; holders hold their id, with `website`.
        fn sor(&mut self, account: Option<AccountIx>, kind: SorKind, website: Option<DomainIx>) -> Ix {
            let key = self.key("Account");
            let native = key.native_id.clone();
            let ix = self.l.push(key, Plan::Sor { account, kind }, Gone::Live);
            if let (Some(a), SorKind::Customer | SorKind::Filtered) = (account, kind) {
                let truth = AccountTruth {
                    account_id: self.l.account_id(a).to_owned(),
                    name: "Co".into(),
                    join_date: t(),
                    crm_account_id: native,
                    website: None,
                };
                self.l.hold(ix, truth, website);
            }
            ix
        }

        fn record(&mut self, object: &'static str, steps: Vec<Step>, email: Option<EmailIx>) -> Ix {
            let key = self.key(object);
            self.l.push(key, Plan::Rules { steps, email }, Gone::Live)
        }

        fn get(&self, ix: Ix) -> Expected {
            self.l.truth().records[&self.l.entry(ix).key].clone()
        }
    }

    fn rejected(reason: &'static str) -> Expected {
        Expected::rejected(reason)
    }

    #[test]
    fn the_first_rule_that_resolves_wins_and_the_first_failure_explains() {
        let mut f = Fixture::new();
        let a = f.l.account("100");
        let acme = f.l.domain("acme.io");
        f.sor(Some(a), SorKind::Customer, Some(acme));
        let nobody = f.l.account("999");
        let email = f.l.email("ann@acme.io");
        let org = f.record(
            "organizations",
            rules::zd_organization(Some(Key::NoAccount), Some(Key::Unusable(reason::INVALID_FIELD))),
            None,
        );
        let user = f.record("users", rules::zd_user(Some(Key::Record(org)), None), None);
        let contact =
            f.record("Contact", rules::sf_contact(Some(Key::Account(nobody)), Some(Key::Email(email))), Some(email));
        let no_keys = f.record("organizations", rules::zd_organization(None, None), None);
        let later =
            f.record("organizations", rules::zd_organization(Some(Key::NoAccount), Some(Key::Domain(acme))), None);
        let both = f.record("contacts", rules::ic_contact(Some(Key::Account(a)), Some(Key::Record(later)), None), None);
        assert_eq!(f.get(contact), rejected(reason::UNKNOWN_ACCOUNT), "no evidence: the contact itself is not linked");
        assert_eq!(f.get(org), rejected(reason::UNKNOWN_ACCOUNT), "the first failing rule explains");
        assert_eq!(f.get(no_keys), rejected(reason::MISSING_KEY));
        assert_eq!(f.get(later), Expected::linked("100", By::new("domain", 1)), "a later rule resolves");
        assert_eq!(f.get(both), Expected::linked("100", By::new("field", 0)), "the earlier rule wins");
        assert_eq!(f.get(user), rejected(reason::UNKNOWN_ACCOUNT), "a rejected parent");
    }

    #[test]
    fn filtered_and_deleted_accounts_end_the_search() {
        let mut f = Fixture::new();
        let (active, filtered, deleted) = (f.l.account("1"), f.l.account("2"), f.l.account("3"));
        f.sor(Some(active), SorKind::Customer, None);
        let fr = f.sor(Some(filtered), SorKind::Filtered, None);
        let dr = f.sor(Some(deleted), SorKind::Customer, None);
        f.l.set_gone(dr, Gone::Later);
        let email = f.l.email("x@y.io");
        f.record("Contact", rules::sf_contact(Some(Key::Crm(0)), None), Some(email));
        let c = f.record("Contact", rules::sf_contact(Some(Key::Crm(fr)), Some(Key::Email(email))), None);
        let d = f.record("contacts", rules::ic_contact(Some(Key::Account(deleted)), Some(Key::Record(0)), None), None);
        let o =
            f.record("organizations", rules::zd_organization(Some(Key::Account(filtered)), Some(Key::NoAccount)), None);
        let truth = f.l.truth();
        assert_eq!(f.get(c), rejected(reason::FILTERED_ACCOUNT), "through crm_account_id, not by the email");
        assert_eq!(f.get(d), rejected(reason::DELETED_ACCOUNT));
        assert_eq!(f.get(o), rejected(reason::FILTERED_ACCOUNT));
        assert_eq!(f.get(fr), rejected(reason::FILTERED_ACCOUNT));
        assert_eq!(truth.accounts.keys().collect::<Vec<_>>(), ["1"]);
        assert_eq!(truth.deleted_accounts.iter().collect::<Vec<_>>(), ["3"]);
        assert!(truth.tombstones.contains(&f.l.entry(dr).key));
    }

    #[test]
    fn an_email_is_evidence_only_from_records_linked_another_way() {
        let mut f = Fixture::new();
        let (a, b) = (f.l.account("A"), f.l.account("B"));
        let ar = f.sor(Some(a), SorKind::Customer, None);
        let br = f.sor(Some(b), SorKind::Customer, None);
        let (shared, solo) = (f.l.email("s@x.io"), f.l.email("solo@x.io"));
        // `shared`: a contact of A by AccountId, a user of B by organization, a lead by email only.
        f.record("Contact", rules::sf_contact(Some(Key::Crm(ar)), Some(Key::Email(shared))), Some(shared));
        let org_b = f.record("organizations", rules::zd_organization(Some(Key::Account(b)), None), None);
        let user_b =
            f.record("users", rules::zd_user(Some(Key::Record(org_b)), Some(Key::Email(shared))), Some(shared));
        let lead = f.record("contacts", rules::ic_contact(None, None, Some(Key::Email(shared))), Some(shared));
        // `solo`: one contact of B by AccountId; two records linked by that email vouch for nothing.
        let holder = f.record("Contact", rules::sf_contact(Some(Key::Crm(br)), Some(Key::Email(solo))), Some(solo));
        let u = f.record("users", rules::zd_user(None, Some(Key::Email(solo))), Some(solo));
        let l = f.record("contacts", rules::ic_contact(None, None, Some(Key::Email(solo))), Some(solo));
        assert_eq!(f.get(lead), rejected(reason::AMBIGUOUS));
        assert_eq!(f.get(user_b), Expected::linked("B", By::new("parent", 0)));
        assert_eq!(f.get(u), Expected::linked("B", By::new("email", 1)));
        f.l.set_gone(holder, Gone::Later);
        assert_eq!(f.get(u), rejected(reason::UNKNOWN_ACCOUNT), "the other email-linked record is no evidence");
        assert_eq!(f.get(l), rejected(reason::UNKNOWN_ACCOUNT));
        f.l.set_gone(user_b, Gone::Later);
        assert_eq!(f.get(lead), Expected::linked("A", By::new("email", 2)), "one holder left");
    }

    #[test]
    fn domains_and_duplicates() {
        let mut f = Fixture::new();
        let (d_one, d_two, d_none) = (f.l.domain("one.io"), f.l.domain("two.io"), f.l.domain("none.io"));
        let (a, b, c) = (f.l.account("A"), f.l.account("B"), f.l.account("C"));
        let ar = f.sor(Some(a), SorKind::Customer, Some(d_one));
        let dup = f.sor(Some(a), SorKind::Duplicate, None);
        f.sor(Some(b), SorKind::Customer, Some(d_two));
        f.sor(Some(c), SorKind::Customer, Some(d_two));
        let missing = f.sor(None, SorKind::MissingField, None);
        let one = f.record("organizations", rules::zd_organization(None, Some(Key::Domain(d_one))), None);
        let two = f.record("organizations", rules::zd_organization(None, Some(Key::Domain(d_two))), None);
        let none = f.record("organizations", rules::zd_organization(None, Some(Key::Domain(d_none))), None);
        let via_dup = f.record("Case", rules::sf_case(Some(Key::Crm(dup)), None), None);
        assert_eq!(f.get(ar), Expected::holds("A"));
        assert_eq!(f.get(dup), rejected(reason::AMBIGUOUS));
        assert_eq!(f.get(missing), rejected(reason::MISSING_REQUIRED_FIELD));
        assert_eq!(f.get(one), Expected::linked("A", By::new("domain", 1)));
        assert_eq!(f.get(two), rejected(reason::AMBIGUOUS));
        assert_eq!(f.get(none), rejected(reason::UNKNOWN_ACCOUNT));
        assert_eq!(f.get(via_dup), rejected(reason::UNKNOWN_ACCOUNT), "a duplicate's Id names no account");
        f.l.set_gone(ar, Gone::Later);
        assert_eq!(f.get(one), rejected(reason::DELETED_ACCOUNT));
    }

    #[test]
    #[should_panic(expected = "the email rule must come last")]
    fn an_email_rule_before_another_is_refused() {
        let mut f = Fixture::new();
        let e = f.l.email("a@b.io");
        let steps = vec![
            Step { by: By::new("email", 0), key: Key::Email(e) },
            Step { by: By::new("field", 1), key: Key::NoAccount },
        ];
        f.record("contacts", steps, Some(e));
    }
}
