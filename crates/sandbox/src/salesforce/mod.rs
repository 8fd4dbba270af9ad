//! The Salesforce REST emulator: the OAuth refresh-token flow, SOQL `query`/`queryAll` with query
//! locators, `getDeleted`, `limits`, and the daily API request allocation. Login and data are on
//! separate hosts, as at Salesforce: the login host serves only the token endpoint (404 for data
//! paths), and the token response's `instance_url` names the host that serves the API.

pub mod model;
mod routes;
pub mod soql;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, whole_seconds};
use crate::emulator::auth::{Refresh, Tokens};
use crate::emulator::faults::FaultHandle;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::server::Server;
use crate::emulator::store::{self, Store};
use crate::emulator::{Core, Shared};
use crate::generate::AS_OF;
use crate::{Error, Result};
use model::{Account, Case, Contact, Record, SObject, SalesforceData, sf_id};

/// How the Salesforce emulator behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records per query batch unless the request's `Sforce-Query-Options: batchSize=` asks for
    /// fewer (Salesforce: up to 2,000).
    pub batch_size: usize,
    /// How long an access token from the token endpoint stays valid.
    pub token_lifetime: chrono::Duration,
    /// The org's API request allocation per `limit_window` (24 hours at Salesforce).
    pub daily_limit: u32,
    pub limit_window: Duration,
    /// Enforce `daily_limit` (counting happens either way).
    pub rate_limited: bool,
    /// Query cursors a user may hold; opening one more releases the oldest (Salesforce: 10).
    pub max_open_locators: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: 2000,
            token_lifetime: chrono::Duration::hours(2),
            daily_limit: 100_000,
            limit_window: Duration::from_secs(24 * 3600),
            rate_limited: true,
            max_open_locators: 10,
        }
    }
}

/// What a connected app needs to get tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// Where to `POST /services/oauth2/token`: the login host, which is not the `instance_url`
    /// the token response names.
    pub login_url: String,
}

/// A stored query result: record positions in the object's list, in result order.
#[derive(Debug)]
pub(crate) struct Locator {
    pub object: SObject,
    pub fields: Vec<&'static str>,
    pub rows: Vec<u32>,
    pub batch: usize,
}

/// The org's records, indexed: in Id order, and by `(SystemModstamp, Id)` for queries ordered
/// by `SystemModstamp` (how clients read incrementally).
#[derive(Debug, Default)]
pub struct Stores {
    pub accounts: Store<Account>,
    pub contacts: Store<Contact>,
    pub cases: Store<Case>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) data: Shared<Stores>,
    pub(crate) tokens: Tokens,
    pub(crate) locators: Mutex<VecDeque<(String, Arc<Locator>)>>,
    pub(crate) options: Options,
    pub(crate) credentials: Credentials,
    pub(crate) core: Core,
    /// The instance host's base URL, named by token responses.
    pub(crate) instance_url: OnceLock<String>,
    /// When the delete log was last purged: getDeleted refuses starts before it.
    pub(crate) purged: Mutex<Option<DateTime<Utc>>>,
}

impl State {
    pub(crate) fn purged(&self) -> MutexGuard<'_, Option<DateTime<Utc>>> {
        self.purged.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn locators(&self) -> MutexGuard<'_, VecDeque<(String, Arc<Locator>)>> {
        self.locators.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new opaque id with the given three-character prefix (tokens, query locators).
    pub(crate) fn mint(&self, prefix: &str) -> String {
        let id = sf_id(SObject::Account, 150_000_000_000_000 + self.core.next_seq());
        format!("{prefix}{}", &id[3..])
    }
}

/// The records of one sObject, for the generic mutation methods.
pub trait Object: Record + store::Record<Id = String> {
    fn store(data: &Stores) -> &Store<Self>;
    fn store_mut(data: &mut Stores) -> &mut Store<Self>;
    fn prepare_insert(&mut self, id: String, now: DateTime<Utc>);
}

macro_rules! object {
    ($t:ty, $field:ident, $created:ident) => {
        impl store::Record for $t {
            type Id = String;
            fn id(&self) -> &String {
                &self.id
            }
            fn created(&self) -> DateTime<Utc> {
                self.$created
            }
            fn updated(&self) -> DateTime<Utc> {
                self.system_modstamp
            }
        }
        impl Object for $t {
            fn store(data: &Stores) -> &Store<Self> {
                &data.$field
            }
            fn store_mut(data: &mut Stores) -> &mut Store<Self> {
                &mut data.$field
            }
            fn prepare_insert(&mut self, id: String, now: DateTime<Utc>) {
                if self.id.is_empty() {
                    self.id = id;
                }
                self.$created = now;
                self.system_modstamp = now;
            }
        }
    };
}
object!(Account, accounts, created_date);
object!(Contact, contacts, created_date);
object!(Case, cases, created_date);

/// A running Salesforce emulator: a login host and an instance host.
#[derive(Debug)]
pub struct Emulator {
    server: Server,
    login: Server,
    state: Arc<State>,
    base_url: String,
    login_url: String,
}

impl Emulator {
    pub(crate) async fn start(mut data: SalesforceData, options: Options, clock: Clock) -> Result<Self> {
        // Generated deletions happened shortly before the data's `AS_OF`; move them to shortly
        // before now so they fall inside getDeleted's window (the delete log keeps 15 days).
        let shift = whole_seconds(clock.now()) - DateTime::from_timestamp(AS_OF, 0).unwrap_or_default();
        rebase(&mut data.accounts, shift);
        rebase(&mut data.contacts, shift);
        rebase(&mut data.cases, shift);
        let limiter = RateLimiter::new(options.rate_limited, options.limit_window);
        let credentials = Credentials {
            client_id: "3MVG9sandbox.accord.connected.app".into(),
            client_secret: "sandbox-client-secret".into(),
            refresh_token: "5Aep861sandbox.refresh.token".into(),
            login_url: String::new(),
        };
        let stores = Stores {
            accounts: data.accounts.into_iter().collect(),
            contacts: data.contacts.into_iter().collect(),
            cases: data.cases.into_iter().collect(),
        };
        let state = Arc::new(State {
            data: Shared::new(stores),
            tokens: Tokens::new(options.token_lifetime, Refresh::Reusable, &credentials.refresh_token),
            locators: Mutex::new(VecDeque::new()),
            options,
            credentials,
            core: Core::new(clock, limiter, 0),
            instance_url: OnceLock::new(),
            purged: Mutex::new(None),
        });
        let server = Server::start("salesforce", routes::router(state.clone())).await?;
        let base_url = server.base_url();
        let _ = state.instance_url.set(base_url.clone());
        let login = Server::start("salesforce", routes::login_router(state.clone())).await?;
        let login_url = login.base_url();
        Ok(Self { server, login, state, base_url, login_url })
    }

    /// The instance host (`https://{MyDomain}.my.salesforce.com`): the REST API, and the
    /// `instance_url` of every token.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The login host (`https://login.salesforce.com`): tokens only; data paths answer 404.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    pub fn credentials(&self) -> Credentials {
        Credentials { login_url: self.login_url.clone(), ..self.state.credentials.clone() }
    }

    /// Purges the delete log now, as an administrator emptying the Recycle Bin does: getDeleted
    /// refuses a start before this instant with `INVALID_REPLICATION_DATE`.
    pub fn purge_delete_log(&self) {
        *self.state.purged() = Some(whole_seconds(self.state.core.clock.now()));
    }

    pub fn faults(&self) -> &FaultHandle {
        &self.state.core.faults
    }

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.state.core.limiter
    }

    /// Expires every access token issued so far (the refresh token stays valid).
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all(self.state.core.clock.now());
    }

    /// Adds a record, stamped now; an empty `id` gets a new one. Returns the id.
    pub fn insert<R: Object>(&self, mut record: R) -> String {
        let now = whole_seconds(self.state.core.clock.now());
        let n = self.state.core.next_seq();
        record.prepare_insert(sf_id(R::OBJECT, 200_000_000_000_000 + n), now);
        let id = Record::id(&record).to_owned();
        let mut data = self.state.data.write();
        let store = R::store_mut(&mut data);
        store.insert(record);
        // Positions held by open query locators would shift: release them, as a schema change
        // would. (New ids sort last, so this only happens for a caller-chosen id.)
        if store.position(&id).is_some_and(|at| at + 1 != store.len()) {
            self.state.locators().clear();
        }
        id
    }

    /// Changes a record and stamps its `SystemModstamp` now.
    pub fn update<R: Object>(&self, id: &str, change: impl FnOnce(&mut R)) -> Result<()> {
        let now = whole_seconds(self.state.core.clock.now());
        let mut data = self.state.data.write();
        R::store_mut(&mut data)
            .update(&id.to_owned(), |r| {
                change(r);
                r.touch(now);
            })
            .ok_or_else(|| not_found::<R>(id))
    }

    /// Deletes a record now: it leaves `query` results and shows in `getDeleted` (with the
    /// deletion's minute in `latestDateCovered` once it is over) and `queryAll`. Deleting an
    /// account deletes its contacts and cases too, as Salesforce does. Use it between two syncs to
    /// test deletions.
    pub fn delete<R: Object>(&self, id: &str) -> Result<()> {
        let now = whole_seconds(self.state.core.clock.now());
        let mut data = self.state.data.write();
        R::store_mut(&mut data).update(&id.to_owned(), |r| r.set_deleted(now)).ok_or_else(|| not_found::<R>(id))?;
        if R::OBJECT == SObject::Account {
            cascade(&mut data.contacts, id, now, |c| c.account_id.as_deref());
            cascade(&mut data.cases, id, now, |c| c.account_id.as_deref());
        }
        Ok(())
    }

    /// A copy of the data as served now.
    pub fn snapshot(&self) -> SalesforceData {
        let data = self.state.data.read();
        SalesforceData {
            accounts: data.accounts.rows().to_vec(),
            contacts: data.contacts.rows().to_vec(),
            cases: data.cases.rows().to_vec(),
        }
    }

    pub(crate) async fn shutdown(&mut self) {
        self.login.shutdown().await;
        self.server.shutdown().await;
    }
}

fn not_found<R: Object>(id: &str) -> Error {
    Error::NotFound { vendor: "salesforce", object: R::OBJECT.name(), id: id.to_owned() }
}

/// Deletes, at `now`, the live records of `store` whose account is `account`.
fn cascade<R: Object>(
    store: &mut Store<R>,
    account: &str,
    now: DateTime<Utc>,
    account_of: impl Fn(&R) -> Option<&str>,
) {
    let ids: Vec<String> = store
        .rows()
        .iter()
        .filter(|r| account_of(r) == Some(account) && r.deleted_at().is_none())
        .map(|r| Record::id(r).to_owned())
        .collect();
    for id in ids {
        store.update(&id, |r| r.set_deleted(now));
    }
}

fn rebase<R: Record>(list: &mut [R], shift: chrono::Duration) {
    for r in list {
        if let Some(at) = r.deleted_at() {
            r.set_deleted(at + shift);
        }
    }
}
