//! A whole sync of the sandbox company (Salesforce as System of Record, Zendesk, Intercom, JIRA, Keap, Stripe, Chargebee, Braintree, ...) through
//! the real connectors over HTTP: every record ends exactly where the generator's planted ground
//! truth says — linked to the right account by the right rule, or rejected with the right reason —
//! and every account is held by the right record. 300 accounts in `cargo test`; 3,000 and 30,000
//! with `cargo test -p accord-engine --test it -- --ignored sandbox`.

use std::collections::{BTreeMap, HashMap};

use accord_core::{ObjectKind, RejectReason};
use accord_engine::SyncOptions;
use accord_sandbox::{Company, Expected, Sandbox, SandboxOptions};
use accord_store::{AccountStatus, QuarantineQuery, RecordKey};

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// One way the hub differs from the truth.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// `source/object: expected … got …`, without ids: differences of one kind share it.
    pub kind: String,
    /// The record or account it concerns.
    pub at: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.kind)
    }
}

/// An outcome as text, with and without its account id (differences of one kind share the latter).
fn outcome(linked: Option<(&str, Option<(&str, usize)>)>, rejected: Option<RejectReason>) -> (String, String) {
    let both = |s: String| (s.clone(), s);
    match (linked, rejected) {
        (Some((a, Some((rule, i)))), None) => (format!("linked to {a} by {rule}#{i}"), format!("linked by {rule}#{i}")),
        (Some((a, None)), None) => (format!("holding {a}"), "holding its account".into()),
        (None, Some(r)) => both(format!("rejected {}", r.code())),
        (None, None) => both("absent".into()),
        (Some((a, _)), Some(r)) => {
            (format!("linked to {a} and rejected {}", r.code()), format!("linked and rejected {}", r.code()))
        }
    }
}

/// Compares the hub with the truth; returns the differences, sorted.
pub fn differences(hub: &accord_engine::Hub, truth: &accord_sandbox::Truth) -> Vec<Difference> {
    let mut quarantined = HashMap::new();
    hub.store
        .for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            quarantined
                .insert((e.key.source.clone(), e.key.object.clone(), e.key.native_id.clone()), e.rejection.reason);
        })
        .unwrap();
    let mut diffs = Vec::new();
    for (key, expected) in &truth.records {
        let plan = hub
            .plan
            .stream(key.source, key.object)
            .unwrap_or_else(|| panic!("no stream {}/{}", key.source, key.object));
        let rk = RecordKey::new(key.source, key.object, key.native_id.clone());
        // (account, (rule, index)) as stored; an SOR record holds an account without a rule.
        let stored: Option<(String, Option<(&'static str, usize)>)> = if plan.kind() == ObjectKind::Account {
            hub.store
                .account_by_origin(&rk)
                .unwrap()
                .filter(|a| a.status == AccountStatus::Active)
                .map(|a| (a.account_id.to_string(), None))
        } else {
            hub.store
                .record(plan.kind(), &rk)
                .unwrap()
                .filter(|r| !r.is_deleted)
                .map(|r| (r.account_id.to_string(), Some((r.provenance.rule.name(), r.provenance.rule_index))))
        };
        let rejected = quarantined.get(&(key.source.to_owned(), key.object.to_owned(), key.native_id.clone())).copied();
        let want = match expected {
            Expected::Linked { account_id, by } => outcome(Some((account_id, by.map(|b| (b.rule, b.index)))), None),
            Expected::Rejected { reason } => (format!("rejected {reason}"), format!("rejected {reason}")),
        };
        let got = outcome(stored.as_ref().map(|(a, by)| (a.as_str(), *by)), rejected);
        if want != got {
            diffs.push(Difference {
                kind: format!("{}/{}: expected {}, got {}", key.source, key.object, want.1, got.1),
                at: format!("{rk}: expected {}, got {}", want.0, got.0),
            });
        }
    }
    for key in &truth.tombstones {
        let rk = RecordKey::new(key.source, key.object, key.native_id.clone());
        let plan = hub.plan.stream(key.source, key.object).unwrap();
        let live = if plan.kind() == ObjectKind::Account {
            hub.store.account_by_origin(&rk).unwrap().is_some_and(|a| a.status == AccountStatus::Active)
        } else {
            hub.store.record(plan.kind(), &rk).unwrap().is_some_and(|r| !r.is_deleted)
        };
        if live {
            diffs.push(Difference {
                kind: format!("{}/{}: deleted at the source but live here", key.source, key.object),
                at: rk.to_string(),
            });
        }
    }
    // Accounts: the active ones, held by the right record as it holds them; the deleted ones.
    for (id, a) in &truth.accounts {
        match hub.store.account(id).unwrap() {
            Some(row) if row.status == AccountStatus::Active => {
                let held = (row.origin.native_id.as_str(), row.text("name"));
                if held != (a.crm_account_id.as_str(), Some(a.name.as_str())) {
                    diffs.push(Difference {
                        kind: "account: held by another System of Record record".into(),
                        at: format!("account {id}: expected {} {:?}, got {held:?}", a.crm_account_id, a.name),
                    });
                }
            }
            other => diffs.push(Difference {
                kind: "account: expected active".into(),
                at: format!("account {id}: got {:?}", other.map(|r| r.status)),
            }),
        }
    }
    for id in &truth.deleted_accounts {
        let status = hub.store.account(id).unwrap().map(|r| r.status);
        if status != Some(AccountStatus::Deleted) {
            diffs.push(Difference {
                kind: "account: expected on the delete list".into(),
                at: format!("account {id}: got {status:?}"),
            });
        }
    }
    hub.store
        .for_each_account(&[AccountStatus::Active], &mut |row| {
            if !truth.accounts.contains_key(row.account_id.as_str()) {
                diffs.push(Difference {
                    kind: "account: active but not in the truth".into(),
                    at: format!("account {}", row.account_id),
                });
            }
        })
        .unwrap();
    diffs.sort();
    diffs
}

/// Differences grouped by kind, with a count and the first few records of each.
pub fn summary(diffs: &[Difference]) -> String {
    let mut kinds: BTreeMap<&str, Vec<&Difference>> = BTreeMap::new();
    for d in diffs {
        kinds.entry(&d.kind).or_default().push(d);
    }
    let mut out = format!("{} differences from the truth, in {} kinds:\n", diffs.len(), kinds.len());
    for (kind, ds) in kinds {
        out.push_str(&format!("{:>6} × {kind}\n", ds.len()));
        for d in ds.iter().take(3) {
            out.push_str(&format!("         {}\n", d.at));
        }
    }
    out
}

/// Syncs a generated company of `size` accounts and compares the hub with its truth; returns the
/// differences, summarized. `order` lists the sources to sync one at a time, in that order (each
/// its own `accord sync --source`); empty syncs everything at once, the System of Record first.
fn sync_and_compare(seed: u64, size: usize, order: &[&str]) -> Option<String> {
    let rt = runtime();
    let company = Company::generate(seed, size);
    let truth = company.truth();
    let sandbox = rt.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    assert_eq!(sandbox.truth().records, truth.records, "the sandbox serves the company as generated");
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    let runs: Vec<Vec<String>> =
        if order.is_empty() { vec![vec![]] } else { order.iter().map(|s| vec![s.to_string()]).collect() };
    for sources in runs {
        let options = SyncOptions { sources, ..SyncOptions::default() };
        let report = accord_engine::sync(&hub, &options, &accord_engine::sync::Quiet, rt.handle()).unwrap();
        assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
    }
    let diffs = differences(&hub, &truth);
    // Every kind of planted problem showed up as its reason.
    let mut reasons = std::collections::BTreeSet::new();
    hub.store
        .for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            reasons.insert(e.rejection.reason);
        })
        .unwrap();
    for r in [
        RejectReason::UnknownAccount,
        RejectReason::Ambiguous,
        RejectReason::FilteredAccount,
        RejectReason::MissingRequiredField,
        RejectReason::InvalidField,
        RejectReason::InvalidAccountId,
        RejectReason::MissingKey,
    ] {
        assert!(reasons.contains(&r), "no {r} in {reasons:?}");
    }
    rt.block_on(sandbox.shutdown());
    (!diffs.is_empty()).then(|| format!("{size} accounts, seed {seed}, sources {order:?}: {}", summary(&diffs)))
}

/// Every run matches the truth.
fn a_sync_matches_the_truth(runs: &[(u64, usize, &[&str])]) {
    let failures: Vec<String> =
        runs.iter().filter_map(|(seed, size, order)| sync_and_compare(*seed, *size, order)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The System of Record last: every record arrives before the accounts, ids maps and evidence
/// it needs, and earlier rules resolve after later ones did.
const SOR_LAST: &[&str] = &[
    "zendesk",
    "intercom",
    "delighted",
    "desk",
    "freshdesk",
    "capsule",
    "jira",
    "keap",
    "stripe",
    "recurly",
    "maxio",
    "chargebee",
    "zuora",
    "xero",
    "braintree",
    "salesforce",
];

#[test]
fn a_sync_of_the_sandbox_matches_the_ground_truth() {
    a_sync_matches_the_truth(&[(11, 300, &[])]);
}

#[test]
fn a_sync_source_by_source_with_the_system_of_record_last_matches_the_ground_truth() {
    a_sync_matches_the_truth(&[(11, 300, SOR_LAST)]);
}

#[test]
#[ignore = "3,000 accounts, two source orders: about 30 s in a debug build"]
fn a_sync_of_the_sandbox_matches_the_ground_truth_at_3000_accounts() {
    a_sync_matches_the_truth(&[(11, 3_000, &[]), (12, 3_000, SOR_LAST)]);
}

#[test]
#[ignore = "30,000 accounts: about 2 minutes in a debug build"]
fn a_sync_of_the_sandbox_matches_the_ground_truth_at_30000_accounts() {
    a_sync_matches_the_truth(&[(11, 30_000, &[])]);
}

/// Two days: a first sync, then the second day's deletions made in the emulators (a System of
/// Record account with its contacts and cases, Zendesk users, an Intercom contact, a Salesforce
/// contact), then a second sync; the hub matches the planted truth after each.
#[test]
fn deletions_between_two_syncs_match_the_ground_truth() {
    use accord_sandbox::{intercom, salesforce};
    let rt = runtime();
    let company = Company::generate(42, 300);
    let mut second_day = company.clone();
    let day = second_day.delete_some(7);
    let truth_after = second_day.truth();
    let sandbox = rt.block_on(Sandbox::start(company.clone(), SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Intercom, JIRA and Keap have no deletion feed: this hub reconciles them on every sync.
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    let toml = ["intercom", "jira", "keap"].iter().fold(toml, |t, name| {
        t.replace(&format!("[sources.{name}]\n"), &format!("[sources.{name}]\nreconcile_every = \"0s\"\n"))
    });
    let hub = accord_engine::Hub::open(accord_core::Config::from_toml(&toml, dir.path()).unwrap()).unwrap();
    let sync = || {
        let report =
            accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
        assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
    };
    sync();
    let first = differences(&hub, &company.truth());
    assert!(first.is_empty(), "day one: {}", summary(&first));

    assert!(!day.deleted.is_empty() && !day.deleted_accounts.is_empty(), "the second day deletes something");
    for key in &day.deleted {
        let id = key.native_id.as_str();
        match (key.source, key.object) {
            ("salesforce", "Account") => sandbox.salesforce.delete::<salesforce::model::Account>(id).unwrap(),
            ("salesforce", "Contact") => sandbox.salesforce.delete::<salesforce::model::Contact>(id).unwrap(),
            ("salesforce", "Case") => sandbox.salesforce.delete::<salesforce::model::Case>(id).unwrap(),
            ("zendesk", "users") => sandbox.zendesk.delete_user(id.parse().unwrap()).unwrap(),
            ("zendesk", "tickets") => sandbox.zendesk.delete_ticket(id.parse().unwrap()).unwrap(),
            ("intercom", "contacts") => sandbox.intercom.delete::<intercom::model::Contact>(id).unwrap(),
            ("intercom", "companies") => sandbox.intercom.delete::<intercom::model::Company>(id).unwrap(),
            ("intercom", "conversations") => sandbox.intercom.delete::<intercom::model::Conversation>(id).unwrap(),
            other => panic!("the second day deletes {other:?}, which this test cannot delete"),
        }
    }
    // getDeleted covers whole minutes.
    sandbox.clock().advance(chrono::Duration::minutes(2));
    assert_eq!(sandbox.truth().records, truth_after.records, "the emulators hold the second day");
    sync();
    let second = differences(&hub, &truth_after);
    assert!(second.is_empty(), "day two: {}", summary(&second));
    let retry = hub.retry(&QuarantineQuery::default()).unwrap();
    assert_eq!(retry.linked, 0, "day two settled: {retry:?}");
    rt.block_on(sandbox.shutdown());
}

/// Freshdesk companies with a mangled account id are rejected with the hint that names the
/// account they meant (`100042.0`, `100042 `), every Capsule organisation linked by a web
/// address typed by hand records that address as its key, and a Keap company whose contacts'
/// ContactIDs match two accounts is `ambiguous` with exactly those two as candidates.
#[test]
fn freshdesk_capsule_and_keap_rejections_carry_their_hints() {
    use accord_core::{AccountId, Hint};
    use accord_sandbox::{Intent, Problem};
    let rt = runtime();
    let company = Company::generate(11, 300);
    let planted = company.planted.clone();
    let sandbox = rt.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::from_toml(&toml, dir.path()).unwrap()).unwrap();
    let report = accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
    assert!(!report.failed());
    let mut hints = HashMap::new();
    hub.store
        .for_each_quarantined(&QuarantineQuery::default(), &mut |e| {
            hints.insert((e.key.source.clone(), e.key.native_id.clone()), e.rejection.hints.clone());
        })
        .unwrap();
    let fd = sandbox.freshdesk.snapshot();
    let mut checked = 0;
    for p in planted.iter().filter(|p| p.record.source == "freshdesk") {
        let hint = |account: &str| AccountId::new(account.trim().trim_end_matches(".0")).unwrap();
        let company = || fd.companies.iter().find(|c| c.id.to_string() == p.record.native_id).unwrap();
        let want = match p.problem {
            Problem::FloatFormattedId => {
                Hint::FloatSuffix { account_id: hint(company().account_id.as_deref().unwrap()) }
            }
            Problem::TrailingSpace => Hint::Whitespace { account_id: hint(company().account_id.as_deref().unwrap()) },
            _ => continue,
        };
        let got = &hints[&("freshdesk".to_owned(), p.record.native_id.clone())];
        assert!(got.contains(&want), "{:?} {:?}: hints {got:?}", p.problem, p.record);
        checked += 1;
    }
    assert!(checked >= 2, "a float-formatted and a padded id were planted");
    let cp = sandbox.capsule.snapshot();
    let by_hand: Vec<_> = planted.iter().filter(|p| p.problem == Problem::WebsiteTypedByHand).collect();
    assert!(!by_hand.is_empty());
    for p in by_hand {
        assert!(matches!(p.intent, Intent::Outcome(_)));
        let rk = RecordKey::new("capsule", "organisations", p.record.native_id.clone());
        let stored = hub.store.record(ObjectKind::Organization, &rk).unwrap().expect("linked");
        let typed = cp.parties.iter().find(|c| c.id.to_string() == p.record.native_id).unwrap().website.clone();
        assert_eq!(Some(stored.provenance.key), typed, "the key is the address as typed");
    }
    let keap = sandbox.keap.snapshot();
    let (mut ambiguous, mut by_contacts) = (0, 0);
    for p in planted.iter().filter(|p| p.problem == Problem::KeapSeveralContactsOfOneCompany) {
        if p.record.object != "companies" {
            continue;
        }
        let company: u64 = p.record.native_id.parse().unwrap();
        let mut carried: Vec<AccountId> = keap
            .contacts
            .iter()
            .filter(|c| c.company.as_ref().is_some_and(|(id, _)| *id == company))
            .filter_map(|c| c.account_id.as_deref())
            .map(|a| AccountId::new(a).unwrap())
            .collect();
        carried.sort();
        carried.dedup();
        match &p.intent {
            Intent::Outcome(accord_sandbox::Expected::Rejected { reason }) if *reason == "ambiguous" => {
                let got = &hints[&("keap".to_owned(), p.record.native_id.clone())];
                assert_eq!(got, &vec![Hint::Candidates { account_ids: carried }], "{:?}", p.record);
                ambiguous += 1;
            }
            Intent::Outcome(accord_sandbox::Expected::Linked { account_id, by }) => {
                let rk = RecordKey::new("keap", "companies", p.record.native_id.clone());
                let stored = hub.store.record(ObjectKind::Organization, &rk).unwrap().expect("linked");
                assert_eq!(stored.provenance.rule.name(), by.as_ref().unwrap().rule);
                assert_eq!(carried, vec![AccountId::new(account_id).unwrap()]);
                by_contacts += 1;
            }
            _ => {}
        }
    }
    assert!(ambiguous >= 1 && by_contacts >= 1, "planted: {ambiguous} ambiguous, {by_contacts} linked by contacts");
    rt.block_on(sandbox.shutdown());
}

/// Revenue ground truth: after a sync of the sandbox, every account's MRR at every month end,
/// and every movement, equal the generator's own figures (computed from the terms it gave each
/// subscription, not by accord's model) to the cent, in four currencies converted with the
/// sandbox's `[revenue]` rates, through mid-cycle upgrades and downgrades known only from
/// their invoices.
#[test]
fn every_accounts_mrr_for_every_month_matches_the_generators_figures() {
    mrr_matches_the_generators_figures(11, 300);
}

#[test]
#[ignore = "3,000 accounts: about a minute in a debug build"]
fn every_accounts_mrr_for_every_month_matches_the_generators_figures_at_3000_accounts() {
    mrr_matches_the_generators_figures(12, 3_000);
}

fn mrr_matches_the_generators_figures(seed: u64, size: usize) {
    use chrono::{Datelike, NaiveDate};
    let rt = runtime();
    let company = Company::generate(seed, size);
    let truth = company.truth();
    let through = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    let expected = company.expected_mrr(&truth, through);
    let changed = company.changed_subscriptions();
    assert!(changed.len() >= size / 100, "{} subscriptions changed mid-cycle", changed.len());
    let sandbox = rt.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    let report = accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
    assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
    let now = through.and_hms_opt(12, 0, 0).unwrap().and_utc();
    let (mut months, mut paying, mut kinds) = (0usize, 0usize, std::collections::BTreeSet::new());
    let mut diffs = Vec::new();
    for (id, account) in &truth.accounts {
        let h = accord_engine::view::revenue_history(&hub, id, now).unwrap().unwrap();
        let got: BTreeMap<NaiveDate, i64> =
            h.before_join.iter().chain(&h.months).map(|p| (p.day.with_day(1).unwrap(), p.mrr)).collect();
        let want = expected.get(id).cloned().unwrap_or_default();
        paying += usize::from(!want.is_empty());
        for month in got.keys().chain(want.keys()).collect::<std::collections::BTreeSet<_>>() {
            months += 1;
            let (g, w) = (got.get(month).copied().unwrap_or(0), want.get(month).copied().unwrap_or(0));
            if g != w {
                diffs.push(format!("account {id}, {month}: accord {g}, generator {w}"));
            }
        }
        let join = account.join_date.date_naive();
        let first = want.keys().next().copied().unwrap_or(join).min(join);
        let want_moves = accord_sandbox::billing::expected_movements(&want, first, through, join);
        let got_moves: Vec<(NaiveDate, String, i64)> = h
            .movements
            .iter()
            .map(|m| (m.month, serde_json::to_value(m.kind).unwrap().as_str().unwrap().to_owned(), m.amount))
            .collect();
        let want_moves: Vec<(NaiveDate, String, i64)> =
            want_moves.into_iter().map(|(m, k, a)| (m, k.to_owned(), a)).collect();
        if got_moves != want_moves {
            diffs.push(format!("account {id}: movements {got_moves:?}, generator {want_moves:?}"));
        }
        kinds.extend(want_moves.into_iter().map(|(_, k, _)| k));
    }
    rt.block_on(sandbox.shutdown());
    assert!(diffs.is_empty(), "{} differences, the first: {:#?}", diffs.len(), &diffs[..diffs.len().min(10)]);
    assert!(paying > size / 3 && months > size * 7, "{paying} paying accounts, {months} account-months compared");
    for kind in ["new", "expansion", "contraction", "churn", "reactivation"] {
        assert!(kinds.contains(kind), "no {kind} movement in the generated book: {kinds:?}");
    }
}

/// Chargebee reports each subscription's own `mrr`: after a sync, `accord doctor` compares it
/// with accord's figure and lists the one the generator made stale (the price before an
/// upgrade). The others it may list are those whose terms change between the day the data is
/// as of and the doctor's today (a term that ends, a coupon that runs out).
#[test]
fn the_doctor_lists_the_chargebee_subscription_whose_own_mrr_is_stale() {
    let rt = runtime();
    let company = Company::generate(11, 300);
    let per_month = |x: &accord_sandbox::chargebee::model::Subscription| match x.billing_period_unit {
        "week" => (x.unit_price * x.quantity * 104 + 12) / 24,
        "year" => (x.unit_price * x.quantity * 2 + 12) / 24,
        _ => x.unit_price * x.quantity,
    };
    let subs: HashMap<String, accord_sandbox::chargebee::model::Subscription> = company
        .chargebee
        .subscriptions
        .iter()
        .map(|s| (format!("chargebee/subscriptions/{}", s.id), s.clone()))
        .collect();
    let stale: Vec<_> = subs
        .iter()
        .filter(|(_, s)| s.coupons.is_empty() && s.status == "active" && !s.deleted && s.mrr != per_month(s))
        .collect();
    assert_eq!(stale.len(), 1, "the generator plants one stale figure");
    let (stale_key, stale_sub) = stale[0];
    let sandbox = rt.block_on(Sandbox::start(company.clone(), SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    let report = accord_engine::sync(&hub, &SyncOptions::default(), &accord_engine::sync::Quiet, rt.handle()).unwrap();
    assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
    let doctor = accord_engine::doctor::doctor(&hub).unwrap();
    rt.block_on(sandbox.shutdown());
    let live = subs.values().filter(|s| !s.deleted).count() as u64;
    assert!(doctor.mrr_checked >= live / 2, "{} of {live} Chargebee subscriptions compared", doctor.mrr_checked);
    let listed: HashMap<&str, (i64, i64)> =
        doctor.mrr_disagreements.iter().map(|d| (d.subscription.as_str(), (d.vendor, d.accord))).collect();
    assert_eq!(listed.get(stale_key.as_str()), Some(&(stale_sub.mrr, per_month(stale_sub))), "{listed:#?}");
    for key in listed.keys().filter(|k| k.starts_with("chargebee/") && **k != stale_key.as_str()) {
        let s = &subs[*key];
        let changes = s.status == "non_renewing" || !s.coupons.is_empty();
        assert!(changes, "{key} is listed but its terms stay as they are: {s:#?}");
    }
}

/// `accord doctor` compares Zuora's own MRR (the subscription's charges' `MRR`) with accord's:
/// they agree on every subscription but the one the generator planted a unit of currency off,
/// which it lists with both figures.
#[test]
fn the_doctor_lists_the_planted_zuora_mrr_disagreement() {
    let rt = runtime();
    let company = Company::generate(11, 300);
    let plant = company.zuora_mrr_plant.clone().expect("a planted disagreement");
    let sandbox = rt.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    let hub = accord_engine::Hub::open(accord_core::Config::load(&dir.path().join("accord.toml")).unwrap()).unwrap();
    let options = SyncOptions { sources: vec!["salesforce".into(), "zuora".into()], ..SyncOptions::default() };
    let report = accord_engine::sync(&hub, &options, &accord_engine::sync::Quiet, rt.handle()).unwrap();
    assert!(!report.failed(), "{:#?}", report.sources.iter().map(|s| &s.error).collect::<Vec<_>>());
    let doctor = accord_engine::doctor::doctor(&hub).unwrap();
    assert!(doctor.mrr_checked > 10, "{} subscriptions compared", doctor.mrr_checked);
    let found: Vec<_> =
        doctor.mrr_disagreements.iter().map(|d| (d.subscription.clone(), d.vendor - d.accord)).collect();
    let unit = match doctor.mrr_disagreements.first().map(|d| d.currency.code()) {
        Some("JPY") => 1,
        _ => 100,
    };
    assert_eq!(found, vec![(format!("zuora/subscriptions/{plant}"), unit)]);
    rt.block_on(sandbox.shutdown());
}
