//! In-process emulators of the Salesforce REST, Zendesk Support, Intercom, Delighted, Freshdesk,
//! Capsule, JIRA Cloud, Keap, Stripe, Recurly, Maxio (Chargify), Chargebee, Zuora and Xero APIs and Braintree's GraphQL API, a deterministic messy company spread across them (and a Desk
//! export), and the ground truth of which record belongs to which account.
//!
//! ```no_run
//! # async fn demo() -> Result<(), accord_sandbox::Error> {
//! use accord_sandbox::{Company, Sandbox, SandboxOptions};
//!
//! let company = Company::generate(7, 200);
//! let truth = company.truth();
//! let sandbox = Sandbox::start(company, SandboxOptions::default()).await?;
//! let sf = sandbox.salesforce.login_url(); // POST {sf}/services/oauth2/token with the credentials
//! let creds = sandbox.salesforce.credentials();
//! # let _ = (sf, creds, truth);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The machinery every emulator shares (server and request guard, auth checks, paging styles,
//! rate limits and their headers, fault injection, indexed record stores) is in [`emulator`].
//! Each vendor folder has the same files: `model.rs` (records and their JSON), `routes.rs` (the
//! HTTP API), `mod.rs` (options, credentials, the running emulator and its mutation methods) and
//! `tests.rs`. Salesforce also has `soql.rs`, its query language; Freshdesk and Capsule have
//! `seed.rs`, their part of the generated company.

// Handlers answer refusals with the vendor's `Response` as the error of a `Result`: it is built
// once per request and returned straight to axum, so its size never travels far.
#![allow(clippy::result_large_err)]

pub mod billing;
pub mod braintree;
pub mod capsule;
pub mod chargebee;
pub mod clock;
pub mod delighted;
pub mod desk;
pub mod emulator;
pub mod freshdesk;
pub mod generate;
pub mod intercom;
pub mod jira;
pub mod keap;
pub mod maxio;
pub mod recurly;
pub mod salesforce;
pub mod stripe;
pub mod truth;
pub mod xero;
pub mod zendesk;
pub mod zuora;

#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use emulator::{faults, ratelimit};
pub use faults::{Fault, FaultCounts, FaultHandle, Schedule};
pub use generate::{AS_OF, Company, Intent, Planted, Problem, SecondDay};
pub use ratelimit::{Limit, RateLimiter, RateStats, ScopeUse};
pub use truth::{AccountTruth, By, Expected, OBJECTS, RecordKey, Truth};

/// Errors of the sandbox's Rust API (the emulated HTTP APIs answer in their vendors' shapes).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind a loopback port for the {vendor} emulator: {source}")]
    Bind {
        vendor: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the {vendor} emulator has no {object} with id {id:?}")]
    NotFound { vendor: &'static str, object: &'static str, id: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Options of every emulator.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    pub salesforce: salesforce::Options,
    pub zendesk: zendesk::Options,
    pub intercom: intercom::Options,
    pub delighted: delighted::Options,
    pub freshdesk: freshdesk::Options,
    pub capsule: capsule::Options,
    pub jira: jira::Options,
    pub keap: keap::Options,
    pub stripe: stripe::Options,
    pub recurly: recurly::Options,
    pub maxio: maxio::Options,
    pub chargebee: chargebee::Options,
    pub zuora: zuora::Options,
    pub xero: xero::Options,
    pub braintree: braintree::Options,
}

impl SandboxOptions {
    /// No rate limits anywhere: for benchmarks, where the emulators must not be the bottleneck.
    pub fn unlimited() -> Self {
        let mut o = Self::default();
        o.salesforce.rate_limited = false;
        o.zendesk.rate_limited = false;
        o.intercom.rate_limited = false;
        o.delighted.rate_limited = false;
        o.freshdesk.rate_limited = false;
        o.capsule.rate_limited = false;
        o.jira.rate_limited = false;
        o.keap.rate_limited = false;
        o.stripe.rate_limited = false;
        o.recurly.rate_limited = false;
        o.maxio.rate_limited = false;
        o.chargebee.rate_limited = false;
        o.zuora.rate_limited = false;
        o.xero.rate_limited = false;
        o.braintree.rate_limited = false;
        o
    }
}

/// The emulators, running on 127.0.0.1 ephemeral ports and sharing one clock.
///
/// Dropping the sandbox stops the servers; `shutdown` also waits for them to finish.
#[derive(Debug)]
pub struct Sandbox {
    pub salesforce: salesforce::Emulator,
    pub zendesk: zendesk::Emulator,
    pub intercom: intercom::Emulator,
    pub delighted: delighted::Emulator,
    /// Desk's export (Desk shut down in 2020: no emulator), written by [`Sandbox::accord_toml`].
    pub desk: desk::DeskData,
    pub freshdesk: freshdesk::Emulator,
    pub capsule: capsule::Emulator,
    pub jira: jira::Emulator,
    pub keap: keap::Emulator,
    pub stripe: stripe::Emulator,
    pub recurly: recurly::Emulator,
    pub maxio: maxio::Emulator,
    pub chargebee: chargebee::Emulator,
    pub zuora: zuora::Emulator,
    pub xero: xero::Emulator,
    pub braintree: braintree::Emulator,
    clock: Clock,
    /// The planted truth of the company the emulators started with.
    ledger: truth::Ledger,
}

impl Sandbox {
    /// Starts the emulators serving `company`. Must be called inside a Tokio runtime.
    pub async fn start(company: Company, options: SandboxOptions) -> Result<Sandbox> {
        let clock = Clock::new();
        let Company {
            salesforce,
            zendesk,
            intercom,
            delighted,
            desk,
            ledger,
            freshdesk,
            capsule,
            jira,
            keap,
            stripe,
            recurly,
            maxio,
            chargebee,
            zuora,
            xero,
            braintree,
            ..
        } = company;
        Ok(Sandbox {
            salesforce: salesforce::Emulator::start(salesforce, options.salesforce, clock.clone()).await?,
            zendesk: zendesk::Emulator::start(zendesk, options.zendesk, clock.clone()).await?,
            intercom: intercom::Emulator::start(intercom, options.intercom, clock.clone()).await?,
            delighted: delighted::Emulator::start(delighted, options.delighted, clock.clone()).await?,
            desk,
            freshdesk: freshdesk::Emulator::start(freshdesk, options.freshdesk, clock.clone()).await?,
            capsule: capsule::Emulator::start(capsule, options.capsule, clock.clone()).await?,
            jira: jira::Emulator::start(jira, options.jira, clock.clone()).await?,
            keap: keap::Emulator::start(keap, options.keap, clock.clone()).await?,
            stripe: stripe::Emulator::start(stripe, options.stripe, clock.clone()).await?,
            recurly: recurly::Emulator::start(recurly, options.recurly, clock.clone()).await?,
            maxio: maxio::Emulator::start(maxio, options.maxio, clock.clone()).await?,
            chargebee: chargebee::Emulator::start(chargebee, options.chargebee, clock.clone()).await?,
            zuora: zuora::Emulator::start(zuora, options.zuora, clock.clone()).await?,
            xero: xero::Emulator::start(xero, options.xero, clock.clone()).await?,
            braintree: braintree::Emulator::start(braintree, options.braintree, clock.clone()).await?,
            clock,
            ledger,
        })
    }

    /// The clock every emulator reads; `advance` it to skip waits (Zendesk's last-minute rule,
    /// Salesforce token expiry).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The planted truth of the company the sandbox started with, after the deletions made in
    /// the emulators since (taken as made after a first sync: a deleted System of Record account
    /// is on the delete list). Records added or changed at runtime are not planted: an added one
    /// is not in the truth, a changed one keeps the outcome planted for it.
    pub fn truth(&self) -> Truth {
        let (sf, zd, ic) = (self.salesforce.snapshot(), self.zendesk.snapshot(), self.intercom.snapshot());
        let dl = self.delighted.snapshot();
        let fd = self.freshdesk.snapshot();
        let fd_live: std::collections::HashSet<(&str, String)> = fd
            .companies
            .iter()
            .map(|r| ("companies", r.id.to_string()))
            .chain(fd.contacts.iter().filter(|r| !r.deleted).map(|r| ("contacts", r.id.to_string())))
            .chain(fd.tickets.iter().filter(|r| !r.deleted).map(|r| ("tickets", r.id.to_string())))
            .collect();
        let cp = self.capsule.snapshot();
        let cp_live: std::collections::HashSet<(&str, String)> = cp
            .parties
            .iter()
            .map(|p| {
                let object = if p.kind == capsule::model::PartyKind::Person { "people" } else { "organisations" };
                (object, p.id.to_string())
            })
            .collect();
        let st = self.stripe.snapshot();
        let st_live: std::collections::HashSet<(&str, String)> = st
            .customers
            .iter()
            .map(|r| ("customers", r.id.clone()))
            .chain(st.subscriptions.iter().map(|r| ("subscriptions", r.id.clone())))
            .chain(st.invoices.iter().map(|r| ("invoices", r.id.clone())))
            .collect();
        let rc = self.recurly.snapshot();
        let rc_live: std::collections::HashSet<(&str, String)> = rc
            .accounts
            .iter()
            .filter(|a| a.state == "active")
            .map(|r| ("accounts", r.id.clone()))
            .chain(rc.subscriptions.iter().map(|r| ("subscriptions", r.id.clone())))
            .chain(rc.invoices.iter().map(|r| ("invoices", r.id.clone())))
            .collect();
        let mx = self.maxio.snapshot();
        let mx_live: std::collections::HashSet<(&str, String)> = mx
            .customers
            .iter()
            .map(|r| ("customers", r.id.to_string()))
            .chain(mx.subscriptions.iter().map(|r| ("subscriptions", r.id.to_string())))
            .chain(mx.invoices.iter().map(|r| ("invoices", r.uid.clone())))
            .collect();
        let cb = self.chargebee.snapshot();
        let cb_live: std::collections::HashSet<(&str, String)> = cb
            .customers
            .iter()
            .filter(|r| !r.deleted)
            .map(|r| ("customers", r.id.clone()))
            .chain(cb.subscriptions.iter().filter(|r| !r.deleted).map(|r| ("subscriptions", r.id.clone())))
            .chain(cb.invoices.iter().filter(|r| !r.deleted).map(|r| ("invoices", r.id.clone())))
            .collect();
        let zu = self.zuora.snapshot();
        let zu_live: std::collections::HashSet<(&str, String)> = zu
            .accounts
            .iter()
            .filter(|a| a.status != "Canceled")
            .map(|r| ("accounts", r.id.clone()))
            .chain(zu.subscriptions.iter().map(|r| ("subscriptions", r.id.clone())))
            .chain(zu.invoices.iter().map(|r| ("invoices", r.id.clone())))
            .collect();
        let bt = self.braintree.snapshot();
        let bt_live: std::collections::HashSet<(&str, String)> = bt
            .customers
            .iter()
            .map(|r| ("customers", r.id.clone()))
            .chain(bt.transactions.iter().map(|r| ("transactions", r.id.clone())))
            .chain(bt.subscriptions.iter().map(|r| ("subscriptions", r.id.clone())))
            .collect();
        self.ledger
            .with_deletions_seen_in(&sf, &zd, &ic, &dl, &self.desk)
            .with_gone_in(truth::FRESHDESK, &fd_live)
            .with_gone_in(truth::CAPSULE, &cp_live)
            .with_jira_deletions_seen_in(&self.jira.snapshot())
            .with_keap_deletions_seen_in(&self.keap.snapshot())
            .with_gone_in(truth::STRIPE, &st_live)
            .with_gone_in(truth::RECURLY, &rc_live)
            .with_gone_in(truth::MAXIO, &mx_live)
            .with_gone_in(truth::CHARGEBEE, &cb_live)
            .with_gone_in(truth::ZUORA, &zu_live)
            .with_gone_in(truth::BRAINTREE, &bt_live)
            .truth()
    }

    /// Each emulator's limiter and meter, by source kind.
    pub fn rate_limiters(&self) -> Vec<(&'static str, RateLimiter)> {
        vec![
            (truth::SALESFORCE, self.salesforce.rate_limiter().clone()),
            (truth::ZENDESK, self.zendesk.rate_limiter().clone()),
            (truth::INTERCOM, self.intercom.rate_limiter().clone()),
            (truth::DELIGHTED, self.delighted.rate_limiter().clone()),
            (truth::FRESHDESK, self.freshdesk.rate_limiter().clone()),
            (truth::CAPSULE, self.capsule.rate_limiter().clone()),
            (truth::JIRA, self.jira.rate_limiter().clone()),
            (truth::KEAP, self.keap.rate_limiter().clone()),
            (truth::STRIPE, self.stripe.rate_limiter().clone()),
            (truth::RECURLY, self.recurly.rate_limiter().clone()),
            (truth::MAXIO, self.maxio.rate_limiter().clone()),
            (truth::CHARGEBEE, self.chargebee.rate_limiter().clone()),
            (truth::ZUORA, self.zuora.rate_limiter().clone()),
            (truth::XERO, self.xero.rate_limiter().clone()),
            (truth::BRAINTREE, self.braintree.rate_limiter().clone()),
        ]
    }

    /// The 429s every emulator has sent so far.
    pub fn throttled(&self) -> u64 {
        self.rate_limiters().iter().map(|(_, l)| l.stats().throttled).sum()
    }

    /// Stops every emulator and waits until their servers have closed.
    pub async fn shutdown(mut self) {
        self.salesforce.shutdown().await;
        self.zendesk.shutdown().await;
        self.intercom.shutdown().await;
        self.delighted.shutdown().await;
        self.freshdesk.shutdown().await;
        self.capsule.shutdown().await;
        self.jira.shutdown().await;
        self.keap.shutdown().await;
        self.stripe.shutdown().await;
        self.recurly.shutdown().await;
        self.maxio.shutdown().await;
        self.chargebee.shutdown().await;
        self.zuora.shutdown().await;
        self.xero.shutdown().await;
        self.braintree.shutdown().await;
    }
}

impl Sandbox {
    /// An `accord.toml` for this sandbox: Salesforce as the System of Record (account id in
    /// `Account_ID__c`, only `Type = 'Customer'` accounts, `Support_ID__c` as the accounts'
    /// `support_account_id`), Zendesk, Desk (its export written to `desk-export/` in `dir`),
    /// Delighted, Freshdesk, Capsule, JIRA, Keap, the billing systems (Stripe; Recurly, Chargebee
    /// and Zuora, whose ids the Salesforce accounts keep in `Billing_Account_ID__c`, the accounts'
    /// `billing_account_id`; Maxio; Xero; Braintree; with a `[revenue]` rate table) and Intercom
    /// as sources (Intercom's table last:
    /// tests append settings to it), the
    /// credentials written as secret files in `dir` (with Zendesk's OAuth token, which the config
    /// does not use), and a store file there. Source names equal the
    /// vendors' names, so the truth's keys match the hub's. Intercom's table comes last, so
    /// settings appended to the text are Intercom's.
    pub fn accord_toml(&self, dir: &std::path::Path, throttled: bool) -> std::io::Result<String> {
        let sf = self.salesforce.credentials();
        let zd = self.zendesk.credentials();
        let ic = self.intercom.credentials();
        let dl = self.delighted.credentials();
        let fd = self.freshdesk.credentials();
        let cp = self.capsule.credentials();
        let jira = self.jira.credentials();
        let keap = self.keap.credentials();
        let stripe = self.stripe.credentials();
        let recurly = self.recurly.credentials();
        let maxio = self.maxio.credentials();
        let chargebee = self.chargebee.credentials();
        let zuora = self.zuora.credentials();
        let xero = self.xero.credentials();
        let braintree = self.braintree.credentials();
        for (name, value) in [
            ("sf_client_id", sf.client_id.as_str()),
            ("sf_client_secret", sf.client_secret.as_str()),
            ("sf_refresh_token", sf.refresh_token.as_str()),
            ("zendesk_token", zd.api_token.as_str()),
            // Not in the config: for clients that use OAuth, as Singer's tap-zendesk does.
            ("zendesk_oauth_token", zd.oauth_token.as_str()),
            ("intercom_token", ic.access_token.as_str()),
            ("delighted_key", dl.api_key.as_str()),
            ("freshdesk_api_key", fd.api_key.as_str()),
            ("capsule_token", cp.access_token.as_str()),
            ("jira_token", jira.api_token.as_str()),
            ("keap_client_id", keap.client_id.as_str()),
            ("keap_client_secret", keap.client_secret.as_str()),
            ("keap_refresh_token", keap.refresh_token.as_str()),
            ("stripe_secret_key", stripe.secret_key.as_str()),
            ("recurly_api_key", recurly.api_key.as_str()),
            ("maxio_api_key", maxio.api_key.as_str()),
            ("chargebee_api_key", chargebee.api_key.as_str()),
            ("zuora_client_id", zuora.client_id.as_str()),
            ("zuora_client_secret", zuora.client_secret.as_str()),
            ("xero_client_id", xero.client_id.as_str()),
            ("xero_client_secret", xero.client_secret.as_str()),
            ("xero_refresh_token", xero.refresh_token.as_str()),
            ("braintree_public_key", braintree.public_key.as_str()),
            ("braintree_private_key", braintree.private_key.as_str()),
        ] {
            std::fs::write(dir.join(name), value)?;
        }
        self.desk.write_export(&dir.join("desk-export"))?;
        let limits = if throttled { "" } else { "unthrottled = true\n" };
        Ok(format!(
            r#"# accord demo: a generated company spread across emulated Salesforce, Zendesk, JIRA, Keap and Intercom.
store = "sqlite://accord-demo.db"

[system_of_record]
source = "salesforce"
object = "Account"
account_id = "Account_ID__c"
name = "Name"
join_date = "CreatedDate"
filter = "Type = 'Customer'"

[sources.salesforce]
kind = "salesforce"
login_url = "{sf_url}"
client_id = {{ file = "sf_client_id" }}
client_secret = {{ file = "sf_client_secret" }}
refresh_token = {{ file = "sf_refresh_token" }}
extra_account_fields = ["Support_ID__c", "Billing_Account_ID__c"]
{limits}
[[sources.salesforce.objects]]
name = "Account"
fields = {{ support_account_id = "Support_ID__c", billing_account_id = "Billing_Account_ID__c" }}

[sources.zendesk]
kind = "zendesk"
base_url = "{zd_url}"
email = "{zd_email}"
api_token = {{ file = "zendesk_token" }}
{limits}
[sources.desk]
kind = "desk"
dir = "desk-export"

[sources.delighted]
kind = "delighted"
base_url = "{dl_url}"
api_key = {{ file = "delighted_key" }}
{limits}
[sources.freshdesk]
kind = "freshdesk"
base_url = "{fd_url}"
api_key = {{ file = "freshdesk_api_key" }}
account_id_field = "{fd_field}"
{limits}
[sources.capsule]
kind = "capsule"
base_url = "{cp_url}"
access_token = {{ file = "capsule_token" }}
account_id_field = "{cp_field}"
{limits}
[sources.jira]
kind = "jira"
base_url = "{jira_url}"
email = "{jira_email}"
api_token = {{ file = "jira_token" }}
{limits}
[sources.keap]
kind = "keap"
base_url = "{keap_url}"
token_url = "{keap_token_url}"
client_id = {{ file = "keap_client_id" }}
client_secret = {{ file = "keap_client_secret" }}
refresh_token = {{ file = "keap_refresh_token" }}
company_field = "7"
contact_field = "9"
{limits}
[sources.stripe]
kind = "stripe"
base_url = "{stripe_url}"
secret_key = {{ file = "stripe_secret_key" }}
{limits}
[sources.recurly]
kind = "recurly"
base_url = "{recurly_url}"
api_key = {{ file = "recurly_api_key" }}
[sources.maxio]
kind = "maxio"
base_url = "{maxio_url}"
api_key = {{ file = "maxio_api_key" }}
[sources.chargebee]
kind = "chargebee"
base_url = "{chargebee_url}"
api_key = {{ file = "chargebee_api_key" }}
{limits}
[sources.zuora]
kind = "zuora"
base_url = "{zuora_url}"
client_id = {{ file = "zuora_client_id" }}
client_secret = {{ file = "zuora_client_secret" }}
{limits}
[sources.xero]
kind = "xero"
base_url = "{xero_url}"
token_url = "{xero_token_url}"
client_id = {{ file = "xero_client_id" }}
client_secret = {{ file = "xero_client_secret" }}
refresh_token = {{ file = "xero_refresh_token" }}
{limits}
[sources.braintree]
kind = "braintree"
base_url = "{braintree_url}"
gateway_url = "{braintree_gateway}"
merchant_id = "{braintree_merchant}"
public_key = {{ file = "braintree_public_key" }}
private_key = {{ file = "braintree_private_key" }}
account_id_field = "{braintree_field}"
{limits}
[revenue]
currency = "USD"
rates = {{ {rates} }}

[sources.intercom]
kind = "intercom"
base_url = "{ic_url}"
access_token = {{ file = "intercom_token" }}
{limits}"#,
            sf_url = self.salesforce.login_url(),
            zd_url = self.zendesk.base_url(),
            zd_email = zd.email,
            ic_url = self.intercom.base_url(),
            dl_url = self.delighted.base_url(),
            fd_url = self.freshdesk.base_url(),
            fd_field = freshdesk::model::ACCOUNT_ID_FIELD,
            cp_url = self.capsule.base_url(),
            cp_field = capsule::model::ACCOUNT_ID_FIELD,
            jira_url = self.jira.base_url(),
            jira_email = jira.email,
            keap_url = self.keap.base_url(),
            keap_token_url = self.keap.token_url(),
            stripe_url = self.stripe.base_url(),
            recurly_url = self.recurly.base_url(),
            maxio_url = self.maxio.base_url(),
            chargebee_url = self.chargebee.base_url(),
            zuora_url = self.zuora.base_url(),
            xero_url = self.xero.base_url(),
            xero_token_url = self.xero.token_url(),
            braintree_url = self.braintree.base_url(),
            braintree_gateway = self.braintree.gateway_url(),
            braintree_merchant = braintree.merchant_id,
            braintree_field = braintree::model::ACCOUNT_ID_FIELD,
            rates = billing::RATES.iter().map(|(c, r)| format!("{c} = \"{r}\"")).collect::<Vec<_>>().join(", "),
        ))
    }
}
