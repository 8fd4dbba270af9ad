//! The lookup tables the linker reads: accounts, id maps, emails, domains, users.
//!
//! Built from the store at start-up and kept current as records link. Every mutation returns the
//! keys whose meaning changed, so the engine can re-link exactly the records (quarantined or
//! linked) whose answer depends on them. Derived tables (emails, users, account-field ids, domains) are reference-counted per
//! account, so a record that moves from one account to another leaves no stale candidate behind.

use std::collections::HashMap;
use std::sync::Arc;

use accord_core::rule::AccountIdField;
use accord_core::{AccountId, KeySpace, TriedKey};
use compact_str::CompactString;
use foldhash::fast::RandomState;
use smallvec::SmallVec;

type Map<K, V> = HashMap<K, V, RandomState>;
/// A lookup key. Keys up to 24 bytes (account ids, most native ids) are stored inline in the
/// table's slot, so comparing one does not chase a pointer: with 100,000 accounts a lookup is then
/// one cache miss instead of two (measured by `cargo bench --bench link`).
type Key = CompactString;

/// Whether an account can receive links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    /// Was active, and the System of Record filter now excludes it.
    Filtered,
    /// On the delete list: records pointing at it are rejected as `deleted_account`.
    Deleted,
}

/// What the index knows about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    pub account_id: AccountId,
    pub state: AccountState,
    pub crm_account_id: Option<String>,
    pub billing_account_id: Option<String>,
    pub support_account_id: Option<String>,
    /// The account's website, feeding the domain map.
    pub website: Option<String>,
}

impl AccountEntry {
    pub fn active(id: &str) -> Self {
        Self {
            account_id: AccountId::new(id).expect("non-empty id"),
            state: AccountState::Active,
            crm_account_id: None,
            billing_account_id: None,
            support_account_id: None,
            website: None,
        }
    }

    fn id_field(&self, f: AccountIdField) -> Option<&str> {
        match f {
            AccountIdField::CrmAccountId => self.crm_account_id.as_deref(),
            AccountIdField::BillingAccountId => self.billing_account_id.as_deref(),
            AccountIdField::SupportAccountId => self.support_account_id.as_deref(),
        }
        .filter(|s| !s.is_empty())
    }
}

/// A linked record's contribution to the lookup tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLink {
    pub account_id: AccountId,
    /// The record's email, if its kind carries one that identifies a person (users, contacts).
    pub email: Option<Arc<str>>,
    /// True for product users: the native id is a user_id for `user_map` rules.
    pub is_user: bool,
    /// The organization a contact linked by a direct rule names (its `organization_id`), for
    /// `children` rules. `None` for a contact linked through another record or an email.
    pub organization: Option<Arc<str>>,
}

/// Accounts referenced by a key, with how many entries reference each. Almost every key names one
/// account, kept inline in the table's slot (no pointer to chase on a lookup).
#[derive(Debug, Clone, Default)]
struct Refs(SmallVec<[(AccountId, u32); 1]>);

impl Refs {
    fn add(&mut self, id: &AccountId) {
        match self.0.iter_mut().find(|(a, _)| a == id) {
            Some((_, n)) => *n += 1,
            None => self.0.push((id.clone(), 1)),
        }
    }
    fn remove(&mut self, id: &AccountId) {
        if let Some(pos) = self.0.iter().position(|(a, _)| a == id) {
            self.0[pos].1 -= 1;
            if self.0[pos].1 == 0 {
                self.0.swap_remove(pos);
            }
        }
    }
    fn accounts(&self) -> impl Iterator<Item = &AccountId> {
        self.0.iter().map(|(a, _)| a)
    }
}

fn add_ref(map: &mut Map<Key, Refs>, key: &str, id: &AccountId) {
    map.entry(key.into()).or_default().add(id);
}

fn remove_ref(map: &mut Map<Key, Refs>, key: &str, id: &AccountId) {
    if let Some(r) = map.get_mut(key) {
        r.remove(id);
        if r.0.is_empty() {
            map.remove(key);
        }
    }
}

/// All lookup tables of a hub.
#[derive(Debug, Default)]
pub struct LinkIndex {
    accounts: Map<Key, AccountEntry>,
    /// SOR records excluded by the filter that are not accounts, by account id, with their
    /// account-field ids (so a record reaching one through `crm_account_id` hears it is filtered).
    filtered: Map<Key, AccountEntry>,
    /// The native id of the SOR record behind each filtered mark → its account id.
    filtered_origins: Map<Key, Key>,
    lower: Map<Key, Refs>,
    /// Accounts by near key (trimmed, no zero fraction): the near-miss hints' candidates.
    near: Map<Key, Refs>,
    account_fields: [Map<Key, Refs>; 3],
    /// Id maps by name (`source/object`): native id → the record's link.
    maps: Map<Key, Map<Key, RecordLink>>,
    emails: Map<Key, Refs>,
    users: Map<Key, Refs>,
    domains: Map<Key, Refs>,
    /// By object (`source/object`): organization id → the accounts of the linked records naming it.
    children: Map<Key, Map<Key, Refs>>,
    /// Explicit domain entries, so a website change does not remove them.
    explicit_domains: Vec<(String, AccountId)>,
}

fn field_slot(f: AccountIdField) -> usize {
    match f {
        AccountIdField::CrmAccountId => 0,
        AccountIdField::BillingAccountId => 1,
        AccountIdField::SupportAccountId => 2,
    }
}

fn key(space: KeySpace, key: impl Into<String>) -> TriedKey {
    TriedKey { space, key: key.into() }
}

impl LinkIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn account(&self, id: &str) -> Option<&AccountEntry> {
        self.accounts.get(id)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &AccountEntry> {
        self.accounts.values()
    }

    pub fn is_filtered(&self, id: &str) -> bool {
        self.filtered.contains_key(id)
    }

    /// The state of an account id: an account's own state, `Filtered` for an SOR record the filter
    /// excludes, `None` when nothing carries the id.
    pub fn state(&self, id: &str) -> Option<AccountState> {
        match self.accounts.get(id) {
            Some(e) => Some(e.state),
            None => self.filtered.contains_key(id).then_some(AccountState::Filtered),
        }
    }

    /// Accounts whose id has this near key (`accord_core::id::near_key`).
    pub fn accounts_near(&self, near_key: &str) -> Vec<&AccountId> {
        self.near.get(near_key).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    /// Accounts whose id lower-cases to `lower`.
    pub fn accounts_lower(&self, lower: &str) -> Vec<&AccountId> {
        self.lower.get(lower).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    pub fn accounts_by_field(&self, f: AccountIdField, value: &str) -> Vec<&AccountId> {
        self.account_fields[field_slot(f)].get(value).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    pub fn map_lookup(&self, map: &str, native_id: &str) -> Option<&AccountId> {
        self.maps.get(map)?.get(native_id).map(|l| &l.account_id)
    }

    /// The accounts of the linked records of `map` (`source/object`) that name organization `id`.
    pub fn accounts_by_children(&self, map: &str, id: &str) -> Vec<&AccountId> {
        self.children.get(map).and_then(|m| m.get(id)).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    pub fn accounts_by_email(&self, lower_email: &str) -> Vec<&AccountId> {
        self.emails.get(lower_email).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    pub fn accounts_by_user(&self, user_id: &str) -> Vec<&AccountId> {
        self.users.get(user_id).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    pub fn accounts_by_domain(&self, domain: &str) -> Vec<&AccountId> {
        self.domains.get(domain).map(|r| r.accounts().collect()).unwrap_or_default()
    }

    /// Emails that point at more than one account, with those accounts.
    pub fn shared_emails(&self) -> Vec<(&str, Vec<&AccountId>)> {
        let mut v: Vec<_> = self
            .emails
            .iter()
            .filter(|(_, r)| r.0.len() > 1)
            .map(|(e, r)| {
                let mut ids: Vec<_> = r.accounts().collect();
                ids.sort();
                (e.as_ref(), ids)
            })
            .collect();
        v.sort();
        v
    }

    /// Adds or replaces an account; returns the keys whose meaning changed. The account id's own
    /// keys change only when the account appears or its state changes: records linked to it
    /// depend on its existence and state, not on its other fields.
    pub fn upsert_account(&mut self, entry: AccountEntry) -> Vec<TriedKey> {
        if self.accounts.get(entry.account_id.as_str()) == Some(&entry)
            && !self.filtered.contains_key(entry.account_id.as_str())
        {
            return Vec::new();
        }
        let id = entry.account_id.clone();
        let mut changed = Vec::new();
        let was_filtered = self.unfilter(id.as_str(), &mut changed);
        let old = self.accounts.remove(id.as_str());
        if old.as_ref().is_none_or(|o| o.state != entry.state) || was_filtered {
            changed.push(key(KeySpace::Account, id.as_str()));
            changed.push(key(KeySpace::AccountLower, id.as_str().to_lowercase()));
        }
        if old.as_ref().is_some_and(|o| o.state != entry.state) {
            changed.push(key(KeySpace::AccountState, id.as_str()));
        }
        match &old {
            Some(old) => self.unindex_account(old, &mut changed),
            None => {
                add_ref(&mut self.lower, &id.as_str().to_lowercase(), &id);
                let near = accord_core::id::near_key(id.as_str());
                add_ref(&mut self.near, near, &id);
                changed.push(key(KeySpace::AccountNear, near));
            }
        }
        self.index_fields(&entry, &mut changed);
        if let Some(d) = entry.website.as_deref().and_then(domain_of) {
            add_ref(&mut self.domains, &d, &id);
            changed.push(key(KeySpace::Domain, d));
        }
        self.accounts.insert(id.as_str().into(), entry);
        changed
    }

    fn index_fields(&mut self, entry: &AccountEntry, changed: &mut Vec<TriedKey>) {
        for f in AccountIdField::ALL {
            if let Some(v) = entry.id_field(f) {
                add_ref(&mut self.account_fields[field_slot(f)], v, &entry.account_id);
                changed.push(key(KeySpace::Map(f.name().into()), v));
            }
        }
    }

    fn unindex_fields(&mut self, old: &AccountEntry, changed: &mut Vec<TriedKey>) {
        for f in AccountIdField::ALL {
            if let Some(v) = old.id_field(f) {
                remove_ref(&mut self.account_fields[field_slot(f)], v, &old.account_id);
                changed.push(key(KeySpace::Map(f.name().into()), v));
            }
        }
    }

    /// Drops a filtered mark and its account-field ids; true if there was one.
    fn unfilter(&mut self, id: &str, changed: &mut Vec<TriedKey>) -> bool {
        match self.filtered.remove(id) {
            Some(old) => {
                self.filtered_origins.retain(|_, a| a.as_str() != id);
                self.unindex_fields(&old, changed);
                true
            }
            None => false,
        }
    }

    fn unindex_account(&mut self, old: &AccountEntry, changed: &mut Vec<TriedKey>) {
        self.unindex_fields(old, changed);
        if let Some(d) = old.website.as_deref().and_then(domain_of) {
            remove_ref(&mut self.domains, &d, &old.account_id);
            changed.push(key(KeySpace::Domain, d));
        }
    }

    /// The account id of the filtered SOR record with this native id.
    pub fn filtered_by_origin(&self, native_id: &str) -> Option<&str> {
        self.filtered_origins.get(native_id).map(AsRef::as_ref)
    }

    /// Marks an SOR record excluded by the filter, that is not an account, by its account id and
    /// account-field ids (its `state` is ignored), and the record's native id.
    pub fn set_filtered(&mut self, entry: AccountEntry, origin: &str) -> Vec<TriedKey> {
        let id = entry.account_id.clone();
        self.filtered_origins.insert(origin.into(), id.as_str().into());
        let mut changed = Vec::new();
        match self.filtered.get(id.as_str()) {
            Some(old)
                if old.crm_account_id == entry.crm_account_id
                    && old.billing_account_id == entry.billing_account_id
                    && old.support_account_id == entry.support_account_id =>
            {
                return changed;
            }
            Some(_) => {
                self.unfilter(id.as_str(), &mut changed);
            }
            None => changed.push(key(KeySpace::Account, id.as_str())),
        }
        self.index_fields(&entry, &mut changed);
        self.filtered
            .insert(id.as_str().into(), AccountEntry { state: AccountState::Filtered, website: None, ..entry });
        changed
    }

    /// Clears a filtered mark (the SOR record now passes or is gone).
    pub fn clear_filtered(&mut self, id: &str) -> Vec<TriedKey> {
        let mut changed = Vec::new();
        if self.unfilter(id, &mut changed) {
            changed.push(key(KeySpace::Account, id));
        }
        changed
    }

    /// Sets an account's state (delete list); returns changed keys.
    pub fn set_account_state(&mut self, id: &str, state: AccountState) -> Vec<TriedKey> {
        match self.accounts.get_mut(id) {
            Some(e) if e.state != state => {
                e.state = state;
                vec![
                    key(KeySpace::Account, id),
                    key(KeySpace::AccountLower, id.to_lowercase()),
                    key(KeySpace::AccountState, id),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// Records that `native_id` of `map` (`source/object`) is linked; returns changed keys.
    pub fn upsert_link(&mut self, map: &str, native_id: &str, link: RecordLink) -> Vec<TriedKey> {
        if self.maps.get(map).and_then(|m| m.get(native_id)) == Some(&link) {
            return Vec::new();
        }
        let mut changed = vec![key(KeySpace::Map(map.into()), native_id)];
        self.add_derived(map, native_id, &link, &mut changed);
        let old = self.maps.entry(map.into()).or_default().insert(native_id.into(), link);
        if let Some(old) = old {
            self.remove_derived(map, native_id, &old, &mut changed);
        }
        changed
    }

    /// Forgets a record's link (it was deleted at the source or no longer links).
    pub fn remove_link(&mut self, map: &str, native_id: &str) -> Vec<TriedKey> {
        let mut changed = Vec::new();
        if let Some(old) = self.maps.get_mut(map).and_then(|m| m.remove(native_id)) {
            changed.push(key(KeySpace::Map(map.into()), native_id));
            self.remove_derived(map, native_id, &old, &mut changed);
        }
        changed
    }

    fn add_derived(&mut self, map: &str, native_id: &str, link: &RecordLink, changed: &mut Vec<TriedKey>) {
        if let Some(org) = &link.organization {
            add_ref(self.children.entry(map.into()).or_default(), org, &link.account_id);
            changed.push(key(KeySpace::Children(map.into()), org.as_ref()));
        }
        if let Some(e) = &link.email {
            add_ref(&mut self.emails, e, &link.account_id);
            changed.push(key(KeySpace::Email, e.as_ref()));
        }
        if link.is_user {
            add_ref(&mut self.users, native_id, &link.account_id);
            changed.push(key(KeySpace::User, native_id));
        }
    }

    fn remove_derived(&mut self, map: &str, native_id: &str, old: &RecordLink, changed: &mut Vec<TriedKey>) {
        if let Some(org) = &old.organization {
            if let Some(refs) = self.children.get_mut(map) {
                remove_ref(refs, org, &old.account_id);
            }
            changed.push(key(KeySpace::Children(map.into()), org.as_ref()));
        }
        if let Some(e) = &old.email {
            remove_ref(&mut self.emails, e, &old.account_id);
            changed.push(key(KeySpace::Email, e.as_ref()));
        }
        if old.is_user {
            remove_ref(&mut self.users, native_id, &old.account_id);
            changed.push(key(KeySpace::User, native_id));
        }
    }

    /// Adds an explicit domain → account entry.
    pub fn add_domain(&mut self, domain: &str, account: &AccountId) -> Vec<TriedKey> {
        let d = domain.trim().to_lowercase();
        if self.explicit_domains.iter().any(|(x, a)| *x == d && a == account) {
            return Vec::new();
        }
        add_ref(&mut self.domains, &d, account);
        self.explicit_domains.push((d.clone(), account.clone()));
        vec![key(KeySpace::Domain, d)]
    }
}

/// Domains of free mail providers: they say nothing about the company, so they never map.
const FREEMAIL: &[&str] = &[
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

/// The lower-cased domain of an email (`x@Acme.com`) or web address (`https://www.acme.com/a`).
/// `None` for free-mail domains and for text without a domain.
/// Web addresses typed by hand are read as people mean them: `www.acme.io`, `http://acme.io/`,
/// `HTTP://WWW.ACME.IO/`, `acme.io/contact`; an `@` in a URL's path (`medium.com/@acme`) or its
/// user part (`http://me@acme.io`) does not make it an email.
pub fn domain_of(text: &str) -> Option<String> {
    let t = text.trim();
    let slash = t.find('/');
    let url = t.contains("://") || slash.is_some_and(|s| t.find('@').is_none_or(|at| s < at));
    let host = match t.rsplit_once('@') {
        Some((_, d)) if !url => d,
        _ => {
            let no_scheme = t.split_once("://").map_or(t, |(_, rest)| rest);
            let authority = no_scheme.split(['/', '?', '#']).next().unwrap_or("");
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            host.split(':').next().unwrap_or("")
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

    fn id(s: &str) -> AccountId {
        AccountId::new(s).unwrap()
    }

    #[test]
    fn domains_come_from_emails_and_urls() {
        assert_eq!(domain_of("Ann@Acme.COM").as_deref(), Some("acme.com"));
        assert_eq!(domain_of("https://www.acme.com/about?x").as_deref(), Some("acme.com"));
        assert_eq!(domain_of("acme.io").as_deref(), Some("acme.io"));
        assert_eq!(domain_of("bob@gmail.com"), None);
        assert_eq!(domain_of("n/a"), None);
    }

    #[test]
    fn web_addresses_typed_by_hand_give_their_domain() {
        for typed in [
            "www.acme.io",
            "http://acme.io/",
            "HTTP://WWW.ACME.IO/",
            "acme.io/",
            " https://www.acme.io/contact?x=1 ",
            "http://www.acme.io:8080/",
            "https://sales@acme.io/",
            "Acme.IO.",
        ] {
            assert_eq!(domain_of(typed).as_deref(), Some("acme.io"), "{typed:?}");
        }
        assert_eq!(domain_of("www.acme.co.uk/").as_deref(), Some("acme.co.uk"));
        assert_eq!(domain_of("https://medium.com/@acme").as_deref(), Some("medium.com"), "an @ in the path");
        assert_eq!(domain_of("ann@www.acme.io").as_deref(), Some("acme.io"), "still an email");
        assert_eq!(domain_of("http:///"), None);
        assert_eq!(domain_of("www."), None);
    }

    #[test]
    fn moving_a_record_leaves_no_stale_email() {
        let mut ix = LinkIndex::new();
        let email: Arc<str> = "a@x.io".into();
        ix.upsert_link(
            "s/users",
            "u1",
            RecordLink { account_id: id("A"), email: Some(email.clone()), is_user: true, organization: None },
        );
        ix.upsert_link(
            "s/contacts",
            "c1",
            RecordLink { account_id: id("A"), email: Some(email.clone()), is_user: false, organization: None },
        );
        assert_eq!(ix.accounts_by_email("a@x.io"), vec![&id("A")]);
        ix.upsert_link(
            "s/users",
            "u1",
            RecordLink { account_id: id("B"), email: Some(email.clone()), is_user: true, organization: None },
        );
        let mut both = ix.accounts_by_email("a@x.io");
        both.sort();
        assert_eq!(both, vec![&id("A"), &id("B")]);
        ix.remove_link("s/contacts", "c1");
        assert_eq!(ix.accounts_by_email("a@x.io"), vec![&id("B")]);
        assert_eq!(ix.accounts_by_user("u1"), vec![&id("B")]);
    }

    #[test]
    fn account_changes_report_their_keys() {
        let mut ix = LinkIndex::new();
        let mut e = AccountEntry::active("1042");
        e.crm_account_id = Some("001A".into());
        e.website = Some("acme.com".into());
        let changed = ix.upsert_account(e.clone());
        assert!(changed.contains(&TriedKey { space: KeySpace::Account, key: "1042".into() }));
        assert!(changed.contains(&TriedKey { space: KeySpace::Map("crm_account_id".into()), key: "001A".into() }));
        assert!(changed.contains(&TriedKey { space: KeySpace::Domain, key: "acme.com".into() }));
        e.crm_account_id = Some("001B".into());
        ix.upsert_account(e);
        assert!(ix.accounts_by_field(AccountIdField::CrmAccountId, "001A").is_empty());
        assert_eq!(ix.accounts_by_field(AccountIdField::CrmAccountId, "001B"), vec![&id("1042")]);
        assert_eq!(ix.accounts_lower("1042"), vec![&id("1042")]);
    }
}
