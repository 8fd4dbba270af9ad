//! `accord propagate` against the Zendesk emulator: the plan is exactly the organizations the
//! ground truth links by an acceptable rule (their domain), split by whether their `external_id`
//! is empty (upgrade) or holds something (conflict); applying writes each upgrade once, leaves a
//! value the vendor gained meanwhile untouched, and the next sync links the written records by
//! `field`; a second apply writes nothing.

use std::collections::BTreeSet;

use accord_core::{ObjectKind, RuleKind};
use accord_engine::propagate;
use accord_engine::sync::Quiet;
use accord_engine::{Hub, SyncOptions};
use accord_sandbox::zendesk::model::Organization;
use accord_sandbox::{Company, Expected, Sandbox, SandboxOptions};
use accord_store::RecordKey;

/// A generated company of `size` accounts in the emulators, synced once into a hub whose
/// accord.toml is the sandbox's with `edit` applied. Zendesk's export ends at the current second
/// here rather than a minute ago.
struct Fixture {
    rt: tokio::runtime::Runtime,
    sandbox: Sandbox,
    hub: Hub,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new(size: usize, edit: impl FnOnce(String) -> String) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut options = SandboxOptions::unlimited();
        options.zendesk.exclude_recent = chrono::Duration::zero();
        let sandbox = rt.block_on(Sandbox::start(Company::generate(8, size), options)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let toml = edit(sandbox.accord_toml(dir.path(), false).unwrap());
        let hub = Hub::open(accord_core::Config::from_toml(&toml, dir.path()).unwrap()).unwrap();
        let f = Self { rt, sandbox, hub, _dir: dir };
        f.sync();
        f
    }

    fn sync(&self) {
        let r = accord_engine::sync(&self.hub, &SyncOptions::default(), &Quiet, self.rt.handle()).unwrap();
        assert!(!r.failed(), "{r:?}");
    }

    fn shutdown(self) {
        self.rt.block_on(self.sandbox.shutdown());
    }
}

#[test]
fn the_plan_is_exact_applying_writes_each_field_once_and_the_next_sync_links_by_field() {
    let f = Fixture::new(120, |t| t);
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);

    // What the truth says: organizations linked by their domain, by whether external_id is set.
    let truth = sandbox.truth();
    let orgs = sandbox.zendesk.snapshot().organizations;
    let external = |id: &str| orgs.iter().find(|o| o.id.to_string() == id).and_then(|o| o.external_id.clone());
    let (mut upgrades, mut conflicts) = (BTreeSet::new(), BTreeSet::new());
    for (key, expected) in &truth.records {
        if let (("zendesk", "organizations"), Expected::Linked { account_id, by: Some(by) }) =
            ((key.source, key.object), expected)
            && by.index > 0
        {
            let entry = (key.native_id.clone(), account_id.clone());
            if external(&key.native_id).is_some() {
                conflicts.insert(entry)
            } else {
                upgrades.insert(entry)
            };
        }
    }
    assert!(upgrades.len() >= 2, "the company has organizations linked by domain only: {upgrades:?}");
    let mut plan = propagate::plan(hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == "zendesk");
    plan.conflicts.retain(|c| c.key.source == "zendesk");
    let planned: BTreeSet<_> = plan.upgrades.iter().map(|u| (u.key.native_id.clone(), u.account_id.clone())).collect();
    assert_eq!(planned, upgrades, "upgrades");
    assert!(plan.upgrades.iter().all(|u| u.field == "external_id" && u.linked_by == RuleKind::Domain));
    let planned: BTreeSet<_> = plan.conflicts.iter().map(|c| (c.key.native_id.clone(), c.account_id.clone())).collect();
    assert_eq!(planned, conflicts, "conflicts");

    // Meanwhile someone fills one organization's external_id at the vendor: it is left alone.
    let taken = plan.upgrades[0].key.native_id.clone();
    sandbox
        .zendesk
        .update::<Organization>(taken.parse().unwrap(), |o| o.external_id = Some("crm-7731".into()))
        .unwrap();
    let applied = propagate::apply(hub, &plan, &Quiet, rt.handle()).unwrap();
    assert_eq!((applied.written, applied.conflicts, applied.failed), (upgrades.len() as u64 - 1, 1, 0), "{applied:?}");
    let writes = sandbox.zendesk.writes();
    let written: BTreeSet<String> = writes.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(writes.len(), written.len(), "each field written once: {writes:?}");
    assert!(!written.contains(&taken), "a field that holds a value is never overwritten");
    let after = sandbox.zendesk.snapshot().organizations;
    assert_eq!(after.iter().find(|o| o.id.to_string() == taken).unwrap().external_id.as_deref(), Some("crm-7731"));
    let history = hub.store.propagation_history(1000).unwrap();
    assert_eq!(history.len(), upgrades.len());
    assert!(history.iter().any(|e| e.status == "conflict" && e.key.native_id == taken));

    // The next sync links them by `field`, to the same accounts (Zendesk's export ends before
    // the current second: the sync runs a moment later).
    sandbox.clock().advance(chrono::Duration::seconds(2));
    f.sync();
    for (id, account) in upgrades.iter().filter(|(id, _)| *id != taken) {
        let r = hub
            .store
            .record(ObjectKind::Organization, &RecordKey::new("zendesk", "organizations", id.clone()))
            .unwrap()
            .expect("still linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field), "{id}");
    }
    // A second run has nothing to upgrade, and reports the taken one as a conflict.
    let mut again = propagate::plan(hub).unwrap();
    again.upgrades.retain(|u| u.key.source == "zendesk");
    assert!(again.upgrades.is_empty(), "{:?}", again.upgrades);
    assert!(again.conflicts.iter().any(|c| c.key.native_id == taken && c.current == "crm-7731"));
    let applied = propagate::apply(hub, &again, &Quiet, rt.handle()).unwrap();
    assert_eq!(applied.written, 0);
    assert_eq!(sandbox.zendesk.writes().len(), writes.len(), "a second apply writes nothing");
    f.shutdown();
}

/// Keap companies without their CompanyID, linked through their contacts (`children`), get it
/// written; the next sync links them by `field`.
#[test]
fn keap_companies_linked_by_their_contacts_get_their_company_id() {
    let f = Fixture::new(120, |t| t);
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);
    let expected: BTreeSet<(String, String)> = sandbox
        .truth()
        .records
        .iter()
        .filter_map(|(k, e)| match (k.source, k.object, e) {
            ("keap", "companies", Expected::Linked { account_id, by: Some(by) }) if by.rule == "children" => {
                Some((k.native_id.clone(), account_id.clone()))
            }
            _ => None,
        })
        .collect();
    assert!(!expected.is_empty());
    let plan = propagate::plan(hub).unwrap();
    let keap: BTreeSet<_> = plan
        .upgrades
        .iter()
        .filter(|u| u.key.source == "keap")
        .map(|u| (u.key.native_id.clone(), u.account_id.clone()))
        .collect();
    assert_eq!(keap, expected);
    let only_keap = propagate::Plan {
        upgrades: plan.upgrades.into_iter().filter(|u| u.key.source == "keap").collect(),
        ..propagate::Plan::default()
    };
    let applied = propagate::apply(hub, &only_keap, &Quiet, rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (expected.len() as u64, 0), "{applied:?}");
    assert_eq!(sandbox.keap.writes().len(), expected.len());
    f.sync();
    for (id, account) in &expected {
        let r = hub
            .store
            .record(ObjectKind::Organization, &RecordKey::new("keap", "companies", id.clone()))
            .unwrap()
            .expect("linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field), "{id}");
    }
    f.shutdown();
}

/// With `create = true`, the System of Record's active accounts that Zendesk has no organization
/// for are created there, carrying their account id; a second run creates nothing, and the next
/// sync links the new organizations by `field`.
#[test]
fn accounts_missing_in_zendesk_are_created_once_when_the_config_says_so() {
    let f = Fixture::new(120, |t| t + "\n[sources.zendesk.propagate]\ncreate = true\n");
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);
    // The truth: active accounts, less those a Zendesk organization links to.
    let truth = sandbox.truth();
    let covered: BTreeSet<&String> = truth
        .records
        .iter()
        .filter(|(k, _)| k.source == "zendesk" && k.object == "organizations")
        .filter_map(|(_, e)| match e {
            Expected::Linked { account_id, .. } => Some(account_id),
            _ => None,
        })
        .collect();
    let missing: BTreeSet<String> = truth.accounts.keys().filter(|a| !covered.contains(a)).cloned().collect();
    assert!(!missing.is_empty());
    let plan = propagate::plan(hub).unwrap();
    let planned: BTreeSet<String> = plan.creates.iter().map(|c| c.account.account_id.clone()).collect();
    assert_eq!(planned, missing);
    // Zendesk refuses a second organization of one name: an account whose name an unlinked
    // organization already has fails with the vendor's answer (that organization needs its
    // external_id fixed, not a twin).
    let before = sandbox.zendesk.snapshot().organizations;
    let taken = |name: &str| before.iter().any(|o| o.name.eq_ignore_ascii_case(name));
    let (clash, free): (Vec<_>, Vec<_>) = plan.creates.iter().partition(|c| taken(&c.account.name));
    let creates_only = propagate::Plan { creates: plan.creates.clone(), ..propagate::Plan::default() };
    let applied = propagate::apply(hub, &creates_only, &Quiet, rt.handle()).unwrap();
    assert_eq!(
        (applied.created, applied.found, applied.failed),
        (free.len() as u64, 0, clash.len() as u64),
        "{applied:?}"
    );
    assert!(applied.errors.values().all(|e| e.contains("Name: has already been taken")), "{:?}", applied.errors);
    // Again, as a stopped run would: each is found, none created twice.
    let applied = propagate::apply(hub, &creates_only, &Quiet, rt.handle()).unwrap();
    assert_eq!((applied.created, applied.found), (0, free.len() as u64));
    sandbox.clock().advance(chrono::Duration::seconds(2));
    f.sync();
    let orgs = sandbox.zendesk.snapshot().organizations;
    let missing: BTreeSet<String> = free.iter().map(|c| c.account.account_id.clone()).collect();
    for account in &missing {
        let org = orgs.iter().find(|o| o.external_id.as_deref() == Some(account.as_str())).expect("created");
        let r = hub
            .store
            .record(ObjectKind::Organization, &RecordKey::new("zendesk", "organizations", org.id.to_string()))
            .unwrap()
            .expect("synced");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field));
    }
    let left: BTreeSet<String> =
        propagate::plan(hub).unwrap().creates.iter().map(|c| c.account.account_id.clone()).collect();
    let clashing: BTreeSet<String> = clash.iter().map(|c| c.account.account_id.clone()).collect();
    assert_eq!(left, clashing, "only the refused ones are left to create");
    f.shutdown();
}

/// A scheduled System of Record run that brings a new account propagates it to Zendesk when
/// `after_sor_run` says so: the organization exists there before anyone runs `accord propagate`.
#[test]
fn a_scheduled_sor_run_with_new_accounts_propagates_them() {
    use accord_sandbox::salesforce::model::Account;
    let f = Fixture::new(60, |t| {
        t.replace("[sources.salesforce]\n", "[sources.salesforce]\nschedule = \"every 15m\"\n")
            + "\n[sources.zendesk.propagate]\ncreate = true\nafter_sor_run = true\n"
    });
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);
    let now = chrono::Utc::now();
    sandbox.salesforce.insert(Account {
        id: String::new(),
        name: Some("Northwind Signals".into()),
        account_type: Some("Customer".into()),
        website: Some("https://northwind-signals.example".into()),
        account_id: Some("100999".into()),
        created_date: now,
        system_modstamp: now,
        deleted_at: None,
        support_id: None,
        billing_id: None,
    });
    let scheduler = accord_engine::schedule::Scheduler::default();
    let turn = scheduler.run_due(hub, chrono::Utc::now() + chrono::Duration::minutes(16), rt.handle());
    assert_eq!(turn.due, ["salesforce"]);
    assert_eq!(turn.new_accounts, 1, "{:?}", turn.error);
    let org = sandbox
        .zendesk
        .snapshot()
        .organizations
        .into_iter()
        .find(|o| o.external_id.as_deref() == Some("100999"))
        .expect("created in Zendesk by the scheduled run");
    assert_eq!(
        (org.name.as_str(), org.domain_names.as_slice()),
        ("Northwind Signals", &["northwind-signals.example".to_owned()][..])
    );
    f.shutdown();
}

/// Stripe customers linked by their email get `metadata.account_id`, written form-encoded with an
/// `Idempotency-Key` per customer and value: sent again, Stripe answers the first answer and
/// applies nothing; the next sync (through `customer.updated` events) links them by `field`.
#[test]
fn stripe_customers_linked_by_email_get_their_metadata_once() {
    let f = Fixture::new(120, |t| t);
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);
    let mut plan = propagate::plan(hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == "stripe");
    plan.conflicts.clear();
    plan.creates.clear();
    assert!(!plan.upgrades.is_empty() && plan.upgrades.iter().all(|u| u.linked_by == RuleKind::Email));
    let applied = propagate::apply(hub, &plan, &Quiet, rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (plan.upgrades.len() as u64, 0), "{applied:?}");
    assert_eq!(sandbox.stripe.writes().len(), plan.upgrades.len());

    // The same write again, as a retry after a lost answer: replayed, nothing applied twice.
    let u = &plan.upgrades[0];
    let (key, secret) = ("account_id", sandbox.stripe.credentials().secret_key);
    let url = format!("{}/v1/customers/{}", sandbox.stripe.base_url().trim_end_matches('/'), u.key.native_id);
    let idem = format!("accord-propagate-{}-{key}-{}", u.key.native_id, u.account_id);
    let client = reqwest::Client::new();
    let send = |value: &str| {
        client
            .post(&url)
            .bearer_auth(&secret)
            .header("Idempotency-Key", &idem)
            .form(&[(format!("metadata[{key}]"), value.to_owned())])
            .send()
    };
    let replay = rt.block_on(send(&u.account_id)).unwrap();
    assert_eq!(replay.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let other = rt.block_on(send("something else")).unwrap();
    assert_eq!(other.status(), 400, "a used key with other parameters is refused");
    assert_eq!(sandbox.stripe.writes().len(), plan.upgrades.len(), "nothing applied twice");

    f.sync();
    for u in &plan.upgrades {
        let r = hub.store.record(ObjectKind::Organization, &u.key).unwrap().expect("linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (u.account_id.as_str(), RuleKind::Field), "{:?}", u.key);
    }
    f.shutdown();
}

/// Intercom contacts linked through their company or their email get
/// `custom_attributes.account_id`; one whose attribute holds something else is a conflict; the
/// next sync links the written ones by `field`.
#[test]
fn intercom_contacts_linked_another_way_get_their_account_attribute() {
    let f = Fixture::new(120, |t| t);
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);
    let contacts = sandbox.intercom.snapshot().contacts;
    let attribute = |id: &str| contacts.iter().find(|c| c.id == id).and_then(|c| c.account_id.clone());
    let (mut upgrades, mut conflicts) = (BTreeSet::new(), BTreeSet::new());
    for (key, expected) in &sandbox.truth().records {
        if let (("intercom", "contacts"), Expected::Linked { account_id, by: Some(by) }) =
            ((key.source, key.object), expected)
            && by.index > 0
        {
            let entry = (key.native_id.clone(), account_id.clone());
            if attribute(&key.native_id).is_some() {
                conflicts.insert(entry)
            } else {
                upgrades.insert(entry)
            };
        }
    }
    assert!(!upgrades.is_empty());
    let mut plan = propagate::plan(hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == "intercom");
    plan.conflicts.retain(|c| c.key.source == "intercom");
    plan.creates.clear();
    let planned: BTreeSet<_> = plan.upgrades.iter().map(|u| (u.key.native_id.clone(), u.account_id.clone())).collect();
    assert_eq!(planned, upgrades);
    let planned: BTreeSet<_> = plan.conflicts.iter().map(|c| (c.key.native_id.clone(), c.account_id.clone())).collect();
    assert_eq!(planned, conflicts);
    let applied = propagate::apply(hub, &plan, &Quiet, rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (upgrades.len() as u64, 0), "{applied:?}");
    assert_eq!(sandbox.intercom.writes().len(), upgrades.len());
    sandbox.clock().advance(chrono::Duration::seconds(2));
    f.sync();
    for (id, account) in &upgrades {
        let r = hub
            .store
            .record(ObjectKind::Contact, &RecordKey::new("intercom", "contacts", id.clone()))
            .unwrap()
            .expect("linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field), "{id}");
    }
    f.shutdown();
}

/// Capsule organisations linked by their web address get the "Account ID" custom field, written
/// under its definition's id (read from Capsule's field definitions first); the next sync links
/// them by `field`, and a second apply writes nothing.
#[test]
fn capsule_organisations_linked_by_domain_get_their_account_id_field() {
    let f = Fixture::new(120, |t| t);
    let parties = f.sandbox.capsule.snapshot().parties;
    let held = |id: &str| parties.iter().any(|p| p.id.to_string() == id && p.account_id.is_some());
    let want = linked_later(&f.sandbox, "capsule", "organisations", held);
    assert!(!want[0].is_empty(), "the company has organisations linked by domain only");
    let written = apply_and_resync(&f, "capsule", "organisations", ObjectKind::Organization, &want);
    assert_eq!(f.sandbox.capsule.writes().len(), written);
    let after = f.sandbox.capsule.snapshot().parties;
    for (id, account) in &want[0] {
        let p = after.iter().find(|p| p.id.to_string() == *id).unwrap();
        assert_eq!(p.account_id.as_deref(), Some(account.as_str()), "{id}");
    }
    f.shutdown();
}

/// A custom field name Capsule has no definition for: nothing is written, and each failed
/// write's audit entry says which setting to fix.
#[test]
fn a_capsule_field_capsule_does_not_have_fails_each_write_saying_so() {
    let f =
        Fixture::new(60, |t| t.replace("account_id_field = \"Account ID\"", "account_id_field = \"Customer Number\""));
    let (rt, sandbox, hub) = (&f.rt, &f.sandbox, &f.hub);
    let mut plan = propagate::plan(hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == "capsule");
    plan.conflicts.clear();
    plan.creates.clear();
    assert!(!plan.upgrades.is_empty(), "every organisation links by its domain now");
    let applied = propagate::apply(hub, &plan, &Quiet, rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (0, plan.upgrades.len() as u64), "{applied:?}");
    assert!(sandbox.capsule.writes().is_empty());
    let history = hub.store.propagation_history(1000).unwrap();
    assert!(
        history.iter().all(|e| e.status == "failed"
            && e.answer.as_deref().is_some_and(|a| a.contains("Customer Number") && a.contains("account_id_field"))),
        "{history:?}"
    );
    f.shutdown();
}

/// JIRA issues linked by their support id get the "Account ID" custom field, under the id
/// `/field` names it by (`PUT /issue/{id}?returnIssue=true`); the next sync links them by
/// `field`, and an issue whose field holds another value is a conflict, left alone.
#[test]
fn jira_issues_linked_by_their_support_id_get_their_account_field() {
    let f = Fixture::new(120, |t| t);
    let issues = f.sandbox.jira.snapshot().issues;
    let held = |id: &str| issues.iter().any(|i| i.id.to_string() == id && i.account_id.is_some());
    let want = linked_later(&f.sandbox, "jira", "issues", held);
    assert!(!want[0].is_empty(), "the company has issues linked by their support id only");
    // JIRA's incremental pass reads whole minutes: the re-sync runs a minute later.
    f.sandbox.clock().advance(chrono::Duration::seconds(60));
    let written = apply_and_resync(&f, "jira", "issues", ObjectKind::Ticket, &want);
    assert_eq!(f.sandbox.jira.writes().len(), written);
    f.shutdown();
}

/// The records of `source/object` the truth links by a rule after the first, split by whether
/// the vendor's field holds a value (`held`): the plan's upgrades and conflicts.
fn linked_later(
    sandbox: &Sandbox,
    source: &str,
    object: &str,
    held: impl Fn(&str) -> bool,
) -> [BTreeSet<(String, String)>; 2] {
    let (mut upgrades, mut conflicts) = (BTreeSet::new(), BTreeSet::new());
    for (key, expected) in &sandbox.truth().records {
        if let Expected::Linked { account_id, by: Some(by) } = expected
            && (key.source, key.object) == (source, object)
            && by.index > 0
        {
            let entry = (key.native_id.clone(), account_id.clone());
            if held(&key.native_id) {
                conflicts.insert(entry)
            } else {
                upgrades.insert(entry)
            };
        }
    }
    [upgrades, conflicts]
}

/// Applies the plan's upgrades of `source` only, checks they were each written once, syncs, and
/// checks the written records now link by `field` to the same accounts.
fn apply_and_resync(
    f: &Fixture,
    source: &str,
    object: &str,
    kind: ObjectKind,
    want: &[BTreeSet<(String, String)>; 2],
) -> usize {
    let mut plan = propagate::plan(&f.hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == source);
    plan.conflicts.retain(|c| c.key.source == source);
    plan.creates.clear();
    let planned: BTreeSet<_> = plan.upgrades.iter().map(|u| (u.key.native_id.clone(), u.account_id.clone())).collect();
    assert_eq!(planned, want[0], "{source} upgrades");
    let planned: BTreeSet<_> = plan.conflicts.iter().map(|c| (c.key.native_id.clone(), c.account_id.clone())).collect();
    assert_eq!(planned, want[1], "{source} conflicts");
    let applied = propagate::apply(&f.hub, &plan, &Quiet, f.rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (want[0].len() as u64, 0), "{applied:?}");
    f.sandbox.clock().advance(chrono::Duration::seconds(2));
    f.sync();
    for (id, account) in &want[0] {
        let r = f.hub.store.record(kind, &RecordKey::new(source, object, id.clone())).unwrap().expect("linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field), "{id}");
    }
    let mut again = propagate::plan(&f.hub).unwrap();
    again.upgrades.retain(|u| u.key.source == source);
    assert!(again.upgrades.is_empty(), "{:?}", again.upgrades);
    applied.written as usize
}

/// Chargebee customers linked by their id in the System of Record or by email get
/// `cf_account_id` (a form-encoded `POST /customers/{id}`); the next sync links them by `field`.
#[test]
fn chargebee_customers_linked_another_way_get_their_account_id_custom_field() {
    let f = Fixture::new(200, |t| t);
    let customers = f.sandbox.chargebee.snapshot().customers;
    let held = |id: &str| customers.iter().any(|c| c.id == id && c.custom.contains_key("cf_account_id"));
    let want = linked_later(&f.sandbox, "chargebee", "customers", held);
    assert!(!want[0].is_empty(), "the company has Chargebee customers without cf_account_id that link");
    let written = apply_and_resync(&f, "chargebee", "customers", ObjectKind::Organization, &want);
    assert_eq!(f.sandbox.chargebee.writes().len(), written);
    f.shutdown();
}

/// Maxio customers linked by email get their `reference` (`PUT /customers/{id}.json`); the next
/// sync links them by `field`.
#[test]
fn maxio_customers_linked_by_email_get_their_reference() {
    let f = Fixture::new(200, |t| t);
    let customers = f.sandbox.maxio.snapshot().customers;
    let held = |id: &str| customers.iter().any(|c| c.id.to_string() == id && c.reference.is_some());
    let want = linked_later(&f.sandbox, "maxio", "customers", held);
    assert!(!want[0].is_empty(), "the company has Maxio customers linked by email only");
    let written = apply_and_resync(&f, "maxio", "customers", ObjectKind::Organization, &want);
    assert_eq!(f.sandbox.maxio.writes().len(), written);
    f.shutdown();
}

/// What [`apply_around_one`] expects of the record disturbed before the apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disturbed {
    /// The vendor's field gained another value: a conflict, left untouched.
    Conflict,
    /// The vendor refuses the value: refused, again on every run.
    Refused,
}

/// Like [`apply_and_resync`], with the vendor changed meanwhile by `disturb` (given the first
/// upgrade's native id and account id) so that the first upgrade is `expect`ed to be a conflict
/// or a refusal; the others are written once and link by `field` after the next sync, and a
/// second apply writes nothing. The disturbed record's native id and the audit's answer for it.
fn apply_around_one(
    f: &Fixture,
    source: &str,
    object: &str,
    kind: ObjectKind,
    want: &[BTreeSet<(String, String)>; 2],
    disturb: impl FnOnce(&str, &str),
    expect: Disturbed,
) -> (String, String) {
    let only = |mut plan: propagate::Plan| {
        plan.upgrades.retain(|u| u.key.source == source);
        plan.conflicts.retain(|c| c.key.source == source);
        plan.creates.clear();
        plan
    };
    let plan = only(propagate::plan(&f.hub).unwrap());
    let planned: BTreeSet<_> = plan.upgrades.iter().map(|u| (u.key.native_id.clone(), u.account_id.clone())).collect();
    assert_eq!(planned, want[0], "{source} upgrades");
    let planned: BTreeSet<_> = plan.conflicts.iter().map(|c| (c.key.native_id.clone(), c.account_id.clone())).collect();
    assert_eq!(planned, want[1], "{source} conflicts");
    let first = plan.upgrades[0].clone();
    disturb(&first.key.native_id, &first.account_id);

    let applied = propagate::apply(&f.hub, &plan, &Quiet, f.rt.handle()).unwrap();
    let n = want[0].len() as u64;
    let (conflicts, refused) = if expect == Disturbed::Conflict { (1, 0) } else { (0, 1) };
    assert_eq!(
        (applied.written, applied.conflicts, applied.refused, applied.failed),
        (n - 1, conflicts, refused, 0),
        "{applied:?}"
    );
    let history = f.hub.store.propagation_history(1000).unwrap();
    let entry = history.iter().find(|e| e.key == first.key).expect("the disturbed record is audited");
    let status = if expect == Disturbed::Conflict { "conflict" } else { "refused" };
    assert_eq!(entry.status, status, "{entry:?}");
    let answer = entry.answer.clone().unwrap_or_default();

    f.sandbox.clock().advance(chrono::Duration::seconds(2));
    f.sync();
    for (id, account) in want[0].iter().filter(|(id, _)| *id != first.key.native_id) {
        let r = f.hub.store.record(kind, &RecordKey::new(source, object, id.clone())).unwrap().expect("linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field), "{id}");
    }
    let again = only(propagate::plan(&f.hub).unwrap());
    let left: Vec<&str> = again.upgrades.iter().map(|u| u.key.native_id.as_str()).collect();
    let expected_left: Vec<&str> = if expect == Disturbed::Refused { vec![&first.key.native_id] } else { vec![] };
    assert_eq!(left, expected_left, "only a refused record stays to upgrade");
    let second = propagate::apply(&f.hub, &again, &Quiet, f.rt.handle()).unwrap();
    assert_eq!(
        (second.written, second.refused, second.failed),
        (0, refused, 0),
        "a second apply writes nothing: {second:?}"
    );
    (first.key.native_id, answer)
}

/// Zuora accounts linked by their `Id` in the System of Record (its `billing_account_id`) get
/// `AccountId__c` (`PUT /v1/accounts/{id}`, answered `{"success": true}`, so read back by ZOQL);
/// one whose field gained a value meanwhile is a conflict and keeps it.
#[test]
fn zuora_accounts_linked_by_their_id_get_their_custom_field_read_back() {
    let f = Fixture::new(200, |t| t);
    let accounts = f.sandbox.zuora.snapshot().accounts;
    let held = |id: &str| accounts.iter().any(|a| a.id == id && a.account_id_c.is_some());
    let want = linked_later(&f.sandbox, "zuora", "accounts", held);
    assert!(want[0].len() >= 2, "the company has Zuora accounts linked by their id only: {want:?}");
    let zuora = &f.sandbox.zuora;
    let disturb = |id: &str, _: &str| zuora.update_account(id, |a| a.account_id_c = Some("crm-7731".into())).unwrap();
    let (taken, answer) =
        apply_around_one(&f, "zuora", "accounts", ObjectKind::Organization, &want, disturb, Disturbed::Conflict);
    assert!(answer.contains("crm-7731"), "{answer}");
    let after = zuora.snapshot().accounts;
    assert_eq!(after.iter().find(|a| a.id == taken).unwrap().account_id_c.as_deref(), Some("crm-7731"), "untouched");
    for (id, account) in want[0].iter().filter(|(id, _)| *id != taken) {
        assert_eq!(after.iter().find(|a| a.id == *id).unwrap().account_id_c.as_deref(), Some(account.as_str()));
    }
    let writes = zuora.writes();
    assert_eq!(writes.len(), want[0].len() - 1, "each field written once: {writes:?}");
    let history = f.hub.store.propagation_history(1000).unwrap();
    let written = history.iter().filter(|e| e.key.source == "zuora" && e.status == "written");
    assert!(
        written.clone().count() == want[0].len() - 1
            && written.clone().all(|e| e.answer.as_deref().unwrap_or("").contains("read back"))
    );
    f.shutdown();
}

/// Xero contacts linked by email get their `AccountNumber` (`POST /Contacts/{ContactID}` under
/// the organisation's tenant id); a number another contact took meanwhile is refused by Xero,
/// audited as refused with Xero's reason, and the contact keeps none.
#[test]
fn xero_contacts_linked_by_email_get_their_account_number_and_a_duplicate_is_refused() {
    let f = Fixture::new(200, |t| t);
    let contacts = f.sandbox.xero.snapshot().contacts;
    let held = |id: &str| contacts.iter().any(|c| c.id == id && c.account_number.is_some());
    let want = linked_later(&f.sandbox, "xero", "contacts", held);
    assert!(want[0].len() >= 2, "the company has Xero contacts linked by email only: {want:?}");
    let xero = &f.sandbox.xero;
    let planned = |id: &str| want.iter().flatten().any(|(p, _)| p == id);
    let other = contacts.iter().find(|c| !planned(&c.id)).expect("a contact outside the plan").id.clone();
    let disturb =
        |_: &str, account: &str| xero.update_contact(&other, |c| c.account_number = Some(account.to_owned())).unwrap();
    let (refused, answer) =
        apply_around_one(&f, "xero", "contacts", ObjectKind::Organization, &want, disturb, Disturbed::Refused);
    assert!(answer.contains("Account Number already exists"), "{answer}");
    let after = xero.snapshot().contacts;
    assert_eq!(after.iter().find(|c| c.id == refused).unwrap().account_number, None, "nothing written");
    for (id, account) in want[0].iter().filter(|(id, _)| *id != refused) {
        assert_eq!(after.iter().find(|c| c.id == *id).unwrap().account_number.as_deref(), Some(account.as_str()));
    }
    assert_eq!(xero.writes().len(), want[0].len() - 1, "a refused write is no write");
    f.shutdown();
}

/// Braintree customers linked by email get the `account_id` custom field (`updateCustomer`).
/// Braintree keeps no update time, so an incremental sync does not see the change: a full sync
/// (what the next `full_rescan` pass does) links them by `field`, and a second apply writes
/// nothing, since each field is read back first.
#[test]
fn braintree_customers_linked_by_email_get_the_account_id_custom_field() {
    let f = Fixture::new(200, |t| t);
    let customers = f.sandbox.braintree.snapshot().customers;
    let held =
        |id: &str| customers.iter().any(|c| c.id == id && c.custom_fields.iter().any(|(n, _)| n == "account_id"));
    let want = linked_later(&f.sandbox, "braintree", "customers", held);
    assert!(!want[0].is_empty(), "the company has Braintree customers linked by email only");
    let mut plan = propagate::plan(&f.hub).unwrap();
    plan.upgrades.retain(|u| u.key.source == "braintree");
    plan.conflicts.retain(|c| c.key.source == "braintree");
    plan.creates.clear();
    let planned: BTreeSet<_> = plan.upgrades.iter().map(|u| (u.key.native_id.clone(), u.account_id.clone())).collect();
    assert_eq!(planned, want[0], "upgrades");
    assert!(plan.upgrades.iter().all(|u| u.linked_by == RuleKind::Email), "{:?}", plan.upgrades);
    let applied = propagate::apply(&f.hub, &plan, &Quiet, f.rt.handle()).unwrap();
    assert_eq!((applied.written, applied.failed), (want[0].len() as u64, 0), "{applied:?}");
    assert_eq!(f.sandbox.braintree.writes().len(), want[0].len());
    let vault = f.sandbox.braintree.snapshot().customers;
    for (id, account) in &want[0] {
        let c = vault.iter().find(|c| c.id == *id).unwrap();
        assert!(c.custom_fields.contains(&("account_id".to_owned(), account.clone())), "{id}");
    }
    let full = SyncOptions { full: true, ..SyncOptions::default() };
    let r = accord_engine::sync(&f.hub, &full, &Quiet, f.rt.handle()).unwrap();
    assert!(!r.failed(), "{r:?}");
    for (id, account) in &want[0] {
        let key = RecordKey::new("braintree", "customers", id.clone());
        let r = f.hub.store.record(ObjectKind::Organization, &key).unwrap().expect("linked");
        assert_eq!((r.account_id.as_str(), r.provenance.rule), (account.as_str(), RuleKind::Field), "{id}");
    }
    let mut again = propagate::plan(&f.hub).unwrap();
    again.upgrades.retain(|u| u.key.source == "braintree");
    assert!(again.upgrades.is_empty(), "{:?}", again.upgrades);
    let applied = propagate::apply(&f.hub, &again, &Quiet, f.rt.handle()).unwrap();
    assert_eq!(applied.written, 0);
    assert_eq!(f.sandbox.braintree.writes().len(), want[0].len(), "a second apply writes nothing");
    f.shutdown();
}
