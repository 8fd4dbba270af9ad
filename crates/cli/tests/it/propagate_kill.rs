//! kill -9 during `accord propagate --apply`: the writes go slowly (each Zendesk request is held
//! 150 ms), the process is killed after a few, and a second run finishes the plan (every
//! writable system's upgrades). Every record of the plan ends up holding its account id,
//! and each was written exactly once:
//! the second run reads each field back before writing, so a write the killed run had sent is
//! not sent again.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use accord_sandbox::{Company, Fault, Sandbox, SandboxOptions, Schedule};

use crate::postgres::Killed;
use crate::{accord, json};

/// Every write the writable emulators took: (object, native id).
fn writes(s: &Sandbox) -> Vec<(String, String)> {
    [
        s.zendesk.writes(),
        s.keap.writes(),
        s.stripe.writes(),
        s.intercom.writes(),
        s.capsule.writes(),
        s.jira.writes(),
        s.chargebee.writes(),
        s.maxio.writes(),
        s.zuora.writes(),
        s.xero.writes(),
        s.braintree.writes(),
    ]
    .concat()
}

#[test]
fn a_killed_apply_resumes_and_writes_each_field_exactly_once() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut options = SandboxOptions::unlimited();
    options.zendesk.exclude_recent = chrono::Duration::zero();
    let sandbox = rt.block_on(Sandbox::start(Company::generate(8, 120), options)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = sandbox.accord_toml(dir.path(), false).unwrap();
    std::fs::write(dir.path().join("accord.toml"), toml).unwrap();
    assert!(accord(dir.path(), &["sync"]).status.success());
    let plan = json(&accord(dir.path(), &["--json", "propagate"]));
    let upgrades: BTreeMap<String, String> = plan["upgrades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["key"]["native_id"].as_str().unwrap().to_owned(), u["account_id"].as_str().unwrap().to_owned()))
        .collect();
    assert!(upgrades.len() >= 4, "enough writes to stop in the middle: {upgrades:?}");
    let sources: std::collections::BTreeSet<&str> =
        plan["upgrades"].as_array().unwrap().iter().map(|u| u["key"]["source"].as_str().unwrap()).collect();
    for writable in
        ["zendesk", "keap", "stripe", "intercom", "capsule", "jira", "chargebee", "maxio", "zuora", "xero", "braintree"]
    {
        assert!(sources.contains(writable), "the plan writes into {writable}: {sources:?}");
    }

    sandbox.zendesk.faults().inject_on(
        "/api/v2/organizations/",
        Fault::Delay(Duration::from_millis(150)),
        Schedule::Always,
    );
    let child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("--config")
        .arg(dir.path().join("accord.toml"))
        .args(["propagate", "--apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed = Killed(child);
    let start = Instant::now();
    while sandbox.zendesk.writes().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(60), "the apply never wrote");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(killed); // SIGKILL, then reaped
    let before = writes(&sandbox).len();
    assert!(before < upgrades.len(), "killed before the end ({before} of {})", upgrades.len());
    sandbox.zendesk.faults().clear();

    let out = accord(dir.path(), &["--json", "propagate", "--apply"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let applied = json(&out);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, id) in writes(&sandbox) {
        *counts.entry(id).or_default() += 1;
    }
    assert!(counts.values().all(|n| *n == 1), "each field written once: {counts:?}");
    assert_eq!(counts.keys().cloned().collect::<Vec<_>>(), upgrades.keys().cloned().collect::<Vec<_>>());
    let orgs = sandbox.zendesk.snapshot().organizations;
    for (id, account) in upgrades.iter().filter(|(id, _)| id.starts_with("36")) {
        let org = orgs.iter().find(|o| o.id.to_string() == *id).unwrap();
        assert_eq!(org.external_id.as_deref(), Some(account.as_str()), "{id}");
    }
    let resumed = applied["written"].as_u64().unwrap() + applied["already"].as_u64().unwrap();
    assert_eq!(resumed as usize, upgrades.len() - before + applied["already"].as_u64().unwrap() as usize);
    let history = json(&accord(dir.path(), &["--json", "propagate", "--history", "--limit", "1000"]));
    let statuses: Vec<&str> = history.as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert!(!statuses.contains(&"pending"), "the stopped run's pending write is marked: {statuses:?}");
    rt.block_on(sandbox.shutdown());
}
