//! The conformance harness: every vendor connector, against its sandbox emulator, must page to the
//! end, resume after a kill with no gap and no duplicate, re-sync incrementally fetching only
//! changes, survive injected faults with the exact record set, and stay under the vendor's rate
//! limit. One harness, every vendor: adding a system means adding a `Vendor` entry. `cases.rs`
//! holds the cases of behaviour the vendors document and a same-assumption sandbox would hide:
//! separate login and data hosts, server-chosen page sizes, totals, and deletions between syncs.

mod cases;
mod http;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use accord_connectors::{Connector, FullPass, Item};
use accord_core::Config;
use accord_sandbox::{Company, Fault, Sandbox, SandboxOptions, Schedule};
use serde_json::Value;

/// What differs between vendors in the harness.
struct Vendor {
    /// The source name (equal to the truth's source name).
    name: &'static str,
    objects: &'static [&'static str],
    /// Extra settings (page sizes) for the source table.
    settings: &'static str,
    /// Accounts in the generated company: enough for several pages at the vendor's smallest
    /// page size (Salesforce's query batches are at least 200 records).
    size: usize,
}

const SALESFORCE: Vendor =
    Vendor { name: "salesforce", objects: &["Account", "Contact", "Case"], settings: "", size: 400 };
const ZENDESK: Vendor =
    Vendor { name: "zendesk", objects: &["organizations", "users", "tickets"], settings: "per_page = 25\n", size: 60 };
const INTERCOM: Vendor = Vendor {
    name: "intercom",
    objects: &["companies", "contacts", "conversations"],
    settings: "per_page = 20\n",
    size: 60,
};
const DELIGHTED: Vendor =
    Vendor { name: "delighted", objects: &["survey_responses"], settings: "per_page = 5\n", size: 60 };

const FRESHDESK: Vendor =
    Vendor { name: "freshdesk", objects: &["companies", "contacts", "tickets"], settings: "per_page = 20\n", size: 60 };

/// Freshdesk through a `kind = "http"` source described in accord.toml (`http.rs`).
const FRESHDESK_HTTP: Vendor =
    Vendor { name: "freshdesk", objects: &["companies", "contacts", "tickets"], settings: http::SETTINGS, size: 60 };

const CAPSULE: Vendor =
    Vendor { name: "capsule", objects: &["organisations", "people"], settings: "per_page = 20\n", size: 60 };
const JIRA: Vendor = Vendor { name: "jira", objects: &["issues"], settings: "max_results = 10\n", size: 60 };
const KEAP: Vendor =
    Vendor { name: "keap", objects: &["companies", "contacts"], settings: "page_size = 10\n", size: 60 };
const STRIPE: Vendor = Vendor {
    name: "stripe",
    objects: &["customers", "subscriptions", "invoices"],
    settings: "page_size = 10\n",
    size: 60,
};

const RECURLY: Vendor = Vendor {
    name: "recurly",
    objects: &["accounts", "subscriptions", "invoices"],
    settings: "page_size = 5\n",
    size: 150,
};

/// Maxio with a small page: a fifth of the customer accounts are on the site.
const MAXIO: Vendor = Vendor {
    name: "maxio",
    objects: &["customers", "subscriptions", "invoices"],
    settings: "per_page = 5\n",
    size: 150,
};

const CHARGEBEE: Vendor = Vendor {
    name: "chargebee",
    objects: &["customers", "subscriptions", "invoices"],
    settings: "page_size = 10\n",
    size: 60,
};

const ZUORA: Vendor = Vendor {
    name: "zuora",
    objects: &["accounts", "subscriptions", "invoices"],
    settings: "batch_size = 5\n",
    size: 200,
};

/// Xero with a small page: a fifth of the customer accounts are contacts.
const XERO: Vendor = Vendor {
    name: "xero",
    objects: &["contacts", "invoices", "payments", "repeating_invoices"],
    settings: "page_size = 5\n",
    size: 150,
};

/// Braintree with a small page: a fifth of the customer accounts are in the vault.
/// Subscriptions come through the XML gateway's id search, paged by the emulator's page size (5).
const BRAINTREE: Vendor = Vendor {
    name: "braintree",
    objects: &["customers", "transactions", "subscriptions"],
    settings: "page_size = 5\n",
    size: 150,
};

fn options() -> SandboxOptions {
    let mut o = SandboxOptions::unlimited();
    o.salesforce.batch_size = 200;
    o.intercom.scroll_page_size = 15;
    o.zendesk.exclude_recent = chrono::Duration::zero();
    o.braintree.search_page_size = 5;
    o
}

async fn sandbox(v: &Vendor, options: SandboxOptions) -> Sandbox {
    Sandbox::start(Company::generate(5, v.size), options).await.unwrap()
}

/// The vendor's connector, built from the sandbox's own accord.toml plus `extra` settings.
fn connector(sandbox: &Sandbox, v: &Vendor, dir: &Path, extra: &str) -> Box<dyn Connector> {
    // Unthrottled unless the test sets its own limit: the emulators here enforce none.
    let toml = sandbox.accord_toml(dir, !extra.is_empty()).unwrap();
    let header = format!("[sources.{}]\n", v.name);
    let toml = if v.settings == http::SETTINGS {
        http::freshdesk_as_http(sandbox, &toml, extra)
    } else {
        toml.replace(&header, &format!("{header}{}{extra}", v.settings))
    };
    let config = Config::from_toml(&toml, dir).unwrap();
    let c = accord_connectors::open_source(v.name, &config.raw.sources[v.name], &config).unwrap();
    assert_eq!(c.kind() == "http", v.settings == http::SETTINGS, "{}: the connector asked for", v.name);
    c
}

/// Reads a stream to its end; returns its records' ids, deleted ids, page count and last cursor.
async fn read(c: &dyn Connector, object: &str, cursor: Option<Value>, pages: Option<usize>) -> Read {
    let r = try_read(c, object, cursor, false, pages).await;
    if let Some(e) = &r.error {
        panic!("{object}: {e}");
    }
    r
}

/// Like `read`, but `full` asks for a whole-list pass, and an error ends the read and is kept.
async fn try_read(c: &dyn Connector, object: &str, cursor: Option<Value>, full: bool, pages: Option<usize>) -> Read {
    let spec = c.objects().iter().find(|o| o.name == object).unwrap().clone();
    let mut stream = c.open_stream(object, cursor, full).unwrap();
    let mut out = Read::default();
    loop {
        let page = match stream.next_page().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        for item in page.items {
            match item {
                Item::Record(r) => {
                    let id = accord_core::id::key_text(spec.native_id.as_ref().unwrap().get(&r.data).unwrap())
                        .unwrap()
                        .unwrap();
                    out.ids.push(id);
                }
                Item::Deleted { native_id } => out.deleted.push(native_id),
                Item::Malformed { problem, .. } => panic!("{object}: malformed item: {problem}"),
            }
        }
        out.pages += 1;
        out.retries += page.stats.retries;
        out.marks.push(page.full_pass);
        out.cursor = Some(page.cursor);
        if pages.is_some_and(|p| out.pages >= p) {
            break;
        }
    }
    out
}

/// Reads a stream to its end the way the sync driver does across runs: when a page fails, the
/// next "sync" resumes from the last page's cursor. Returns the ids read and how many restarts.
async fn read_resuming(c: &dyn Connector, object: &str) -> (Vec<String>, usize) {
    let spec = c.objects().iter().find(|o| o.name == object).unwrap().clone();
    let mut ids = Vec::new();
    let mut cursor: Option<Value> = None;
    let mut restarts = 0;
    'runs: loop {
        let mut stream = c.open_stream(object, cursor.clone(), false).unwrap();
        loop {
            match stream.next_page().await {
                Ok(Some(page)) => {
                    for item in page.items {
                        if let Item::Record(r) = item {
                            ids.push(
                                accord_core::id::key_text(spec.native_id.as_ref().unwrap().get(&r.data).unwrap())
                                    .unwrap()
                                    .unwrap(),
                            );
                        }
                    }
                    let done = page.cursor.get("complete") == Some(&Value::Bool(true));
                    cursor = Some(page.cursor);
                    if done {
                        break 'runs;
                    }
                }
                Ok(None) => break 'runs,
                Err(_) => {
                    restarts += 1;
                    assert!(restarts < 200, "{object}: no progress across restarts");
                    continue 'runs;
                }
            }
        }
    }
    (ids, restarts)
}

#[derive(Debug, Default)]
struct Read {
    ids: Vec<String>,
    deleted: Vec<String>,
    pages: usize,
    retries: u64,
    cursor: Option<Value>,
    /// Each page's full-pass mark, in order.
    marks: Vec<Option<FullPass>>,
    /// The error that ended the read, if one did.
    error: Option<String>,
}

impl Read {
    /// The id of the reconciling pass every page belongs to, when the last page completes it;
    /// panics (naming `what`) when the marks are missing, mixed or incomplete.
    fn completed_full_pass(&self, what: &str) -> String {
        let ids: BTreeSet<_> = self.marks.iter().map(|m| m.as_ref().map(|m| m.id.clone())).collect();
        assert!(!self.marks.is_empty(), "{what}: no page");
        assert_eq!(ids.len(), 1, "{what}: every page carries the same full-pass mark: {:?}", self.marks);
        let id = ids.into_iter().next().unwrap().unwrap_or_else(|| panic!("{what}: no full-pass mark"));
        let (last, rest) = self.marks.split_last().unwrap();
        assert!(last.as_ref().unwrap().complete, "{what}: the last page completes the pass");
        assert!(rest.iter().all(|m| !m.as_ref().unwrap().complete), "{what}: only the last page completes it");
        id
    }

    fn unmarked(&self) -> bool {
        self.marks.iter().all(Option::is_none)
    }
}

/// The ids the truth expects a full read of an object to return, and those it reports deleted.
fn expected(sandbox: &Sandbox, v: &Vendor, object: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let truth = sandbox.truth();
    let live = truth
        .records
        .keys()
        .filter(|k| k.source == v.name && k.object == object)
        .map(|k| k.native_id.clone())
        .collect();
    let gone = truth
        .tombstones
        .iter()
        .filter(|k| k.source == v.name && k.object == object)
        .map(|k| k.native_id.clone())
        .collect();
    (live, gone)
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

async fn pages_to_the_end(v: &Vendor) {
    let sb = sandbox(v, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "");
    let mut multi_page = false;
    for &object in v.objects {
        let r = read(c.as_ref(), object, None, None).await;
        let (live, gone) = expected(&sb, v, object);
        assert_eq!(set(&r.ids), live, "{}/{object}: the records of a full read", v.name);
        assert_eq!(r.ids.len(), live.len(), "{}/{object}: no record twice", v.name);
        if (v.name == "zendesk" && object == "tickets") || v.name == "chargebee" {
            assert_eq!(set(&r.deleted), gone, "{}/{object}: deleted records arrive as tombstones", v.name);
        }
        multi_page |= r.pages > 2;
    }
    assert!(multi_page, "{}: the test data must span several pages", v.name);
}

async fn resumes_after_a_kill(v: &Vendor) {
    let sb = sandbox(v, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "");
    for &object in v.objects {
        let first = read(c.as_ref(), object, None, Some(1)).await;
        let (live, _) = expected(&sb, v, object);
        if first.cursor.as_ref().and_then(|c| c.get("complete")) == Some(&Value::Bool(true)) {
            // A list served in one answer (Xero's repeating invoices): its one page is the pass,
            // and a kill after it leaves nothing to resume (the next sync is a new pass).
            assert_eq!(set(&first.ids), live, "{}/{object}: the one page is the whole list", v.name);
            continue;
        }
        // The process dies here: only the first page and its cursor were committed.
        let rest = read(c.as_ref(), object, first.cursor.clone(), None).await;
        let mut all = first.ids.clone();
        all.extend(rest.ids.iter().cloned());
        assert_eq!(set(&all), live, "{}/{object}: no gap after resuming", v.name);
        let overlap: Vec<_> = first.ids.iter().filter(|id| rest.ids.contains(id)).collect();
        assert!(overlap.is_empty(), "{}/{object}: resumed pages repeat {overlap:?}", v.name);
    }
}

/// Changes one record of each object in the emulator; returns its id.
fn change_one(sb: &Sandbox, v: &Vendor, object: &str) -> String {
    use accord_sandbox::{capsule, freshdesk, intercom, salesforce, zendesk};
    match (v.name, object) {
        ("salesforce", "Account") => {
            let id = sb.salesforce.snapshot().accounts[0].id.clone();
            sb.salesforce.update::<salesforce::model::Account>(&id, |a| a.name = Some("Renamed".into())).unwrap();
            id
        }
        ("salesforce", "Contact") => {
            let id = sb.salesforce.snapshot().contacts[0].id.clone();
            sb.salesforce.update::<salesforce::model::Contact>(&id, |c| c.first_name = Some("Renamed".into())).unwrap();
            id
        }
        ("salesforce", "Case") => {
            let id = sb.salesforce.snapshot().cases[0].id.clone();
            sb.salesforce.update::<salesforce::model::Case>(&id, |c| c.subject = Some("Renamed".into())).unwrap();
            id
        }
        ("zendesk", "organizations") => {
            let id = sb.zendesk.snapshot().organizations[0].id;
            sb.zendesk.update::<zendesk::model::Organization>(id, |o| o.name = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("zendesk", "users") => {
            let id = sb.zendesk.snapshot().users[0].id;
            sb.zendesk.update::<zendesk::model::User>(id, |u| u.name = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("zendesk", "tickets") => {
            let id = sb.zendesk.snapshot().tickets[0].id;
            sb.zendesk.update::<zendesk::model::Ticket>(id, |t| t.subject = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("intercom", "companies") => {
            let id = sb.intercom.snapshot().companies[0].id.clone();
            sb.intercom.update::<intercom::model::Company>(&id, |c| c.name = "Renamed".into()).unwrap();
            id
        }
        ("intercom", "contacts") => {
            let id = sb.intercom.snapshot().contacts[0].id.clone();
            sb.intercom.update::<intercom::model::Contact>(&id, |c| c.name = Some("Renamed".into())).unwrap();
            id
        }
        ("intercom", "conversations") => {
            let id = sb.intercom.snapshot().conversations[0].id.clone();
            sb.intercom.update::<intercom::model::Conversation>(&id, |c| c.title = Some("Renamed".into())).unwrap();
            id
        }
        ("delighted", "survey_responses") => {
            let id = sb.delighted.snapshot().survey_responses[0].id.clone();
            sb.delighted.update(&id, |r| r.comment = Some("Changed my mind".into())).unwrap();
            id
        }
        ("freshdesk", "companies") => {
            let id = sb.freshdesk.snapshot().companies[0].id;
            sb.freshdesk.update::<freshdesk::model::Company>(id, |c| c.name = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("freshdesk", "contacts") => {
            let id = sb.freshdesk.snapshot().contacts.iter().find(|c| !c.deleted).unwrap().id;
            sb.freshdesk.update::<freshdesk::model::Contact>(id, |c| c.name = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("freshdesk", "tickets") => {
            let id = sb.freshdesk.snapshot().tickets.iter().find(|t| !t.deleted).unwrap().id;
            sb.freshdesk.update::<freshdesk::model::Ticket>(id, |t| t.subject = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("capsule", kind) => {
            let person = kind == "people";
            let party = sb
                .capsule
                .snapshot()
                .parties
                .into_iter()
                .find(|p| (p.kind == capsule::model::PartyKind::Person) == person)
                .unwrap();
            sb.capsule.update(party.id, |p| p.job_title = Some("Renamed".into())).unwrap();
            party.id.to_string()
        }
        ("jira", "issues") => {
            let id = sb.jira.snapshot().issues[0].id;
            sb.jira.update(id, |i| i.summary = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("keap", "companies") => {
            let id = sb.keap.snapshot().companies[0].id;
            sb.keap.update_company(id, |c| c.company_name = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("keap", "contacts") => {
            let id = sb.keap.snapshot().contacts[0].id;
            sb.keap.update_contact(id, |c| c.given_name = "Renamed".into()).unwrap();
            id.to_string()
        }
        ("stripe", "customers") => {
            let id = sb.stripe.snapshot().customers[0].id.clone();
            sb.stripe.update_customer(&id, |c| c.name = Some("Renamed".into())).unwrap();
            id
        }
        ("stripe", "subscriptions") => {
            let id = sb.stripe.snapshot().subscriptions.iter().find(|s| s.discount.is_some()).unwrap().id.clone();
            sb.stripe.update_subscription(&id, |s| s.quantity += 1).unwrap();
            id
        }
        ("stripe", "invoices") => {
            let id = sb.stripe.snapshot().invoices[0].id.clone();
            sb.stripe.update_invoice(&id, |i| i.status = "void".into()).unwrap();
            id
        }
        ("recurly", "accounts") => {
            let id = sb.recurly.snapshot().accounts[0].id.clone();
            sb.recurly.update_account(&id, |a| a.company = Some("Renamed".into())).unwrap();
            id
        }
        ("recurly", "subscriptions") => {
            let id = sb.recurly.snapshot().subscriptions[0].id.clone();
            sb.recurly.update_subscription(&id, |s| s.quantity += 1).unwrap();
            id
        }
        ("recurly", "invoices") => {
            let id = sb.recurly.snapshot().invoices[0].id.clone();
            sb.recurly.update_invoice(&id, |i| i.state = "voided".into()).unwrap();
            id
        }
        ("maxio", "customers") => {
            let id = sb.maxio.snapshot().customers[0].id;
            sb.maxio.update_customer(id, |c| c.organization = Some("Renamed".into())).unwrap();
            id.to_string()
        }
        ("maxio", "subscriptions") => {
            let id = sb.maxio.snapshot().subscriptions.iter().find(|s| s.coupon.is_some()).unwrap().id;
            sb.maxio.update_subscription(id, |s| s.cancel_at_end_of_period = true).unwrap();
            id.to_string()
        }
        ("maxio", "invoices") => {
            let i = sb.maxio.snapshot().invoices[0].clone();
            sb.maxio.update_invoice(i.id, |i| i.status = "voided".into()).unwrap();
            i.uid
        }
        ("chargebee", "customers") => {
            let id = sb.chargebee.snapshot().customers.into_iter().find(|c| !c.deleted).unwrap().id;
            sb.chargebee.update_customer(&id, |c| c.company = Some("Renamed".into())).unwrap();
            id
        }
        ("chargebee", "subscriptions") => {
            let id = sb.chargebee.snapshot().subscriptions.into_iter().find(|s| !s.deleted).unwrap().id;
            sb.chargebee.update_subscription(&id, |s| s.quantity += 1).unwrap();
            id
        }
        ("chargebee", "invoices") => {
            let id = sb.chargebee.snapshot().invoices.into_iter().find(|i| !i.deleted).unwrap().id;
            sb.chargebee.update_invoice(&id, |i| i.status = "voided".into()).unwrap();
            id
        }
        ("zuora", "accounts") => {
            let id = sb.zuora.snapshot().accounts.iter().find(|a| a.status == "Active").unwrap().id.clone();
            sb.zuora.update_account(&id, |a| a.name = "Renamed".into()).unwrap();
            id
        }
        ("zuora", "subscriptions") => {
            // A price change on the charge touches its subscription.
            let z = sb.zuora.snapshot();
            let charge = z.charges.iter().find(|c| c.is_last_segment).unwrap();
            let sub = z.rate_plans.iter().find(|p| p.id == charge.rate_plan_id).unwrap().subscription_id.clone();
            sb.zuora.update_charge(&charge.id.clone(), |c| c.quantity += 1).unwrap();
            sub
        }
        ("zuora", "invoices") => {
            let id = sb.zuora.snapshot().invoices[0].id.clone();
            sb.zuora.update_invoice(&id, |i| i.status = "Canceled".into()).unwrap();
            id
        }
        ("xero", "contacts") => {
            let id = sb.xero.snapshot().contacts[0].id.clone();
            sb.xero.archive_contact(&id).unwrap();
            id
        }
        ("xero", "invoices") => {
            let i = sb.xero.snapshot().invoices.into_iter().find(|i| i.kind == "ACCREC").unwrap();
            sb.xero.update_invoice(&i.id, |i| i.status = "VOIDED".into()).unwrap();
            i.id
        }
        ("xero", "payments") => {
            let id = sb.xero.snapshot().payments[0].id.clone();
            sb.xero.update_payment(&id, |p| p.status = "DELETED".into()).unwrap();
            id
        }
        ("xero", "repeating_invoices") => {
            let id = sb.xero.snapshot().repeating_invoices[0].id.clone();
            sb.xero.update_repeating_invoice(&id, |r| r.status = "DELETED".into()).unwrap();
            id
        }
        // Braintree keeps no update time: the only change an incremental (createdAt) pass can see
        // is a new record. Changes to existing ones wait for the full re-scan (`cases.rs`).
        ("braintree", "customers") => {
            let mut c = sb.braintree.snapshot().customers[0].clone();
            c.id.clear();
            c.legacy_id.clear();
            c.email = Some("new.customer@braintree.example".into());
            sb.braintree.add_customer(c)
        }
        ("braintree", "transactions") => {
            let mut t = sb.braintree.snapshot().transactions[0].clone();
            t.id.clear();
            t.legacy_id.clear();
            sb.braintree.add_transaction(t)
        }
        // A cancellation: only a full read sees it (the search has no update time).
        ("braintree", "subscriptions") => {
            let s = sb.braintree.snapshot().subscriptions.into_iter().find(|s| s.status == "Active").unwrap();
            sb.braintree.update_subscription(&s.id, |s| s.status = "Canceled".into()).unwrap();
            s.id
        }
        other => panic!("no change for {other:?}"),
    }
}

async fn re_syncs_only_changes(v: &Vendor) {
    let sb = sandbox(v, options()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "");
    for &object in v.objects {
        let full = read(c.as_ref(), object, None, None).await;
        sb.clock().advance(chrono::Duration::days(2));
        let changed = change_one(&sb, v, object);
        sb.clock().advance(chrono::Duration::seconds(120));
        let again = read(c.as_ref(), object, full.cursor.clone(), None).await;
        assert!(again.ids.contains(&changed), "{}/{object}: the changed record is re-read", v.name);
        // Intercom's, Freshdesk's and Keap's company lists are read whole on every pass.
        // Xero's repeating invoices have neither paging nor If-Modified-Since: read whole.
        // Braintree's subscription search has no update time: every pass is a full read.
        let whole = (matches!(v.name, "intercom" | "freshdesk" | "keap") && object == "companies")
            || (v.name == "xero" && object == "repeating_invoices")
            || (v.name == "braintree" && object == "subscriptions");
        let incremental = !whole;
        if incremental {
            assert!(
                again.ids.len() < full.ids.len() / 2,
                "{}/{object}: an incremental pass re-read {} of {} records",
                v.name,
                again.ids.len(),
                full.ids.len()
            );
        }
    }
}

async fn survives_faults(v: &Vendor) {
    for fault in [Fault::RateLimited, Fault::Status(503), Fault::Drop, Fault::Truncate] {
        let sb = sandbox(v, options()).await;
        let dir = tempfile::tempdir().unwrap();
        let c = connector(&sb, v, dir.path(), "");
        let faults = faults_of(&sb, v);
        faults.inject(fault, Schedule::EveryNth(3));
        for &object in v.objects {
            // Retries absorb passing faults inside one run; Salesforce's quota refusal
            // (REQUEST_LIMIT_EXCEEDED) ends the run, and the next one resumes from the checkpoint.
            let (ids, _restarts) = read_resuming(c.as_ref(), object).await;
            let (live, _) = expected(&sb, v, object);
            assert_eq!(set(&ids), live, "{}/{object} under {fault:?}: the exact record set", v.name);
            assert_eq!(ids.len(), live.len(), "{}/{object} under {fault:?}: no duplicate", v.name);
        }
        assert!(faults.counts().total() > 0, "{} under {fault:?}: the fault fired", v.name);
    }
}

async fn stays_under_the_rate_limit(v: &Vendor) {
    // The emulator enforces a small limit, and the connector is told the same limit.
    let mut o = options();
    let limit = accord_sandbox::Limit { max: 6, window: Duration::from_secs(2) };
    o.salesforce.rate_limited = true;
    o.salesforce.daily_limit = limit.max;
    o.salesforce.limit_window = limit.window;
    o.zendesk.rate_limited = true;
    o.zendesk.per_minute = limit.max;
    o.zendesk.incremental_per_minute = limit.max;
    o.zendesk.window = limit.window;
    o.intercom.rate_limited = true;
    o.intercom.per_minute = limit.max * 30; // Intercom spreads its per-minute limit over slices: 6 per 2-second slice
    o.intercom.slice = limit.window;
    o.delighted.rate_limited = true;
    o.delighted.per_minute = limit.max;
    o.delighted.window = limit.window;
    o.freshdesk.rate_limited = true;
    o.freshdesk.per_minute = limit.max;
    o.freshdesk.window = limit.window;
    o.capsule.rate_limited = true;
    o.capsule.per_hour = limit.max;
    o.capsule.window = limit.window;
    o.jira.rate_limited = true;
    o.jira.per_minute = limit.max;
    o.jira.window = limit.window;
    o.keap.rate_limited = true;
    o.keap.per_minute = limit.max;
    o.keap.window = limit.window;
    o.stripe.rate_limited = true;
    o.stripe.per_second = limit.max;
    o.stripe.window = limit.window;
    o.recurly.rate_limited = true;
    o.recurly.per_window = limit.max;
    o.recurly.window = limit.window;
    o.maxio.rate_limited = true;
    o.maxio.requests = limit.max;
    o.maxio.window = limit.window;
    o.chargebee.rate_limited = true;
    o.chargebee.per_minute = limit.max;
    o.chargebee.window = limit.window;
    o.zuora.rate_limited = true;
    o.zuora.per_window = limit.max;
    o.zuora.window = limit.window;
    o.xero.rate_limited = true;
    o.xero.per_minute = limit.max;
    o.xero.window = limit.window;
    o.braintree.rate_limited = true;
    o.braintree.requests = limit.max;
    o.braintree.window = limit.window;
    let sb = sandbox(v, o).await;
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sb, v, dir.path(), "rate_limit = { requests = 6, per_seconds = 2.0 }\n");
    let limiter = match v.name {
        "salesforce" => sb.salesforce.rate_limiter(),
        "zendesk" => sb.zendesk.rate_limiter(),
        "delighted" => sb.delighted.rate_limiter(),
        "freshdesk" => sb.freshdesk.rate_limiter(),
        "capsule" => sb.capsule.rate_limiter(),
        "jira" => sb.jira.rate_limiter(),
        "keap" => sb.keap.rate_limiter(),
        "stripe" => sb.stripe.rate_limiter(),
        "recurly" => sb.recurly.rate_limiter(),
        "maxio" => sb.maxio.rate_limiter(),
        "chargebee" => sb.chargebee.rate_limiter(),
        "zuora" => sb.zuora.rate_limiter(),
        "xero" => sb.xero.rate_limiter(),
        "braintree" => sb.braintree.rate_limiter(),
        _ => sb.intercom.rate_limiter(),
    };
    let mut read_all = BTreeMap::new();
    for &object in v.objects {
        read_all.insert(object, read(c.as_ref(), object, None, None).await.ids.len());
    }
    let stats = limiter.stats();
    assert!(stats.requests > u64::from(limit.max), "{}: the limit must be reached to be tested ({stats:?})", v.name);
    assert_eq!(stats.throttled, 0, "{}: no 429 when the client keeps to the limit ({stats:?})", v.name);
    assert!(stats.max_in_window <= u64::from(limit.max), "{}: {stats:?}", v.name);
}

macro_rules! conformance {
    ($($vendor:ident => $module:ident),*) => {$(
        mod $module {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pages_to_the_end() { super::pages_to_the_end(&$vendor).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn resumes_after_a_kill() { super::resumes_after_a_kill(&$vendor).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn re_syncs_only_changes() { super::re_syncs_only_changes(&$vendor).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn survives_faults() { super::survives_faults(&$vendor).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stays_under_the_rate_limit() { super::stays_under_the_rate_limit(&$vendor).await }
        }
    )*};
}

/// The fault rules of the vendor's emulator.
fn faults_of<'a>(sb: &'a Sandbox, v: &Vendor) -> &'a accord_sandbox::FaultHandle {
    match v.name {
        "salesforce" => sb.salesforce.faults(),
        "zendesk" => sb.zendesk.faults(),
        "delighted" => sb.delighted.faults(),
        "freshdesk" => sb.freshdesk.faults(),
        "capsule" => sb.capsule.faults(),
        "jira" => sb.jira.faults(),
        "keap" => sb.keap.faults(),
        "stripe" => sb.stripe.faults(),
        "recurly" => sb.recurly.faults(),
        "maxio" => sb.maxio.faults(),
        "chargebee" => sb.chargebee.faults(),
        "zuora" => sb.zuora.faults(),
        "xero" => sb.xero.faults(),
        "braintree" => sb.braintree.faults(),
        _ => sb.intercom.faults(),
    }
}

conformance!(
    SALESFORCE => salesforce,
    ZENDESK => zendesk,
    INTERCOM => intercom,
    DELIGHTED => delighted,
    FRESHDESK => freshdesk,
    CAPSULE => capsule,
    JIRA => jira,
    KEAP => keap,
    FRESHDESK_HTTP => freshdesk_http,
    STRIPE => stripe,
    RECURLY => recurly,
    MAXIO => maxio,
    CHARGEBEE => chargebee,
    ZUORA => zuora,
    XERO => xero,
    BRAINTREE => braintree
);
