//! The `accord` binary end to end: exit codes, human output and JSON on the example company.

mod ingest_kill;
mod postgres;
mod propagate_kill;
mod schedule;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn example_copy() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_name().to_string_lossy().contains(".db") {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    dir
}

pub fn accord(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("--config")
        .arg(dir.join("accord.toml"))
        .args(args)
        .env_remove("ACCORD_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn sync_then_rejects_on_the_example() {
    let dir = example_copy();
    // One source after another: with sources at the same time, how many records each stream
    // linked on arrival (before the re-link at the end) depends on which source got there first.
    let out = accord(dir.path(), &["sync", "--sequential"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    insta::assert_snapshot!("sync", stdout(&out));
    // The sources at the same time end in the same state.
    let concurrent = example_copy();
    assert!(accord(concurrent.path(), &["sync"]).status.success());
    let state = |dir: &std::path::Path| {
        let list = json(&accord(dir, &["rejects", "list", "--json"]));
        let mut rejected: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{} {} {}", e["key"], e["rejection"]["reason"], e["rejection"]["key"]))
            .collect();
        rejected.sort();
        let accounts = stdout(&accord(dir, &["accounts", "--json"]));
        (rejected, accounts)
    };
    assert_eq!(state(concurrent.path()), state(dir.path()), "concurrent and sequential syncs end alike");

    let list = accord(dir.path(), &["rejects", "list", "--json"]);
    assert!(list.status.success());
    let page = json(&list);
    assert_eq!(page["total"], 21);
    let reasons: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|e| e["rejection"]["reason"].as_str().unwrap()).collect();
    assert!(
        reasons.contains(&"ambiguous")
            && reasons.contains(&"filtered_account")
            && reasons.contains(&"invalid_account_id")
    );

    let filtered =
        accord(dir.path(), &["rejects", "list", "--reason", "unknown_account", "--source", "support", "--json"]);
    assert_eq!(json(&filtered)["total"], 6);

    let id =
        page["items"].as_array().unwrap().iter().find(|e| e["key"]["native_id"] == "504").unwrap()["id"].to_string();
    let explain = accord(dir.path(), &["rejects", "explain", &id]);
    let text = stdout(&explain);
    assert!(text.contains("account \"1042\" exists: the id looks float-formatted"), "{text}");
    assert!(text.contains("normalize = [\"integer_text\"]"), "{text}");
    assert!(text.contains("support_organizations.ndjson:4"), "{text}");
}

#[test]
fn json_output_of_sync_accounts_and_doctor() {
    let dir = example_copy();
    let sync = json(&accord(dir.path(), &["sync", "--json"]));
    for s in sync["sources"].as_array().unwrap() {
        for st in s["streams"].as_array().unwrap() {
            let c = &st["counts"];
            assert_eq!(c["fetched"].as_u64(), Some(c["linked"].as_u64().unwrap() + c["rejected"].as_u64().unwrap()));
        }
    }
    let accounts = json(&accord(dir.path(), &["accounts", "--json", "--filter", "Plan = 'Enterprise'"]));
    let ids: Vec<&str> =
        accounts["accounts"].as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["1001", "1004", "1042"]);
    let show = json(&accord(dir.path(), &["account", "show", "1001", "--json"]));
    assert_eq!(show["fields"]["name"], "Acme Corp");
    let groups = show["linked"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["source"] == "support"
        && g["object"] == "tickets"
        && g["recent"][0]["provenance"]["rule"] == "parent"));
    let doctor = json(&accord(dir.path(), &["doctor", "--json"]));
    assert_eq!(doctor["shared_emails"][0]["email"], "pat@agency.io");
    let orgs = doctor["objects"].as_array().unwrap().iter().find(|o| o["object"] == "organizations").unwrap();
    assert_eq!(orgs["hygiene"]["float_formatted"]["count"], 1);
    assert_eq!(orgs["hygiene"]["whitespace"]["count"], 1);
    // Every unmatched key names the rule and field it came from.
    for o in doctor["objects"].as_array().unwrap() {
        for k in o["unmatched_keys"].as_array().unwrap() {
            let (rule, field) = (k["rule"].as_str().unwrap(), k["field"].as_str().unwrap());
            assert!(!rule.is_empty() && !field.is_empty(), "{k}");
        }
    }
    let unmatched: Vec<String> = doctor["objects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["unmatched_keys"].as_array().unwrap().iter().map(|k| format!("{}/{}", k["rule"], k["field"])))
        .collect();
    assert!(
        unmatched.iter().any(|u| u == r#""user_map"/"user_id""#),
        "an event's user_id is listed under its user_map rule, not the first rule's field: {unmatched:?}"
    );
}

#[test]
fn deactivate_and_restore_round_trip() {
    let dir = example_copy();
    accord(dir.path(), &["sync"]);
    let out = accord(dir.path(), &["account", "deactivate", "1002", "--reason", "churned"]);
    assert!(out.status.success());
    let deleted = json(&accord(dir.path(), &["accounts", "--status", "deleted", "--json"]));
    assert_eq!(deleted["total"], 1);
    let restored = json(&accord(dir.path(), &["account", "restore", "1002", "--json"]));
    assert_eq!(restored["status"], "active");
}

#[test]
fn exit_codes_separate_usage_from_runtime_errors() {
    let dir = example_copy();
    let missing = accord(&dir.path().join("nowhere"), &["sync"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("accord init"));

    std::fs::write(dir.path().join("bad.toml"), "[system_of_record]\nsource = 1\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["--config"])
        .arg(dir.path().join("bad.toml"))
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");

    assert!(accord(dir.path(), &["sync"]).status.success());
    let unknown = accord(dir.path(), &["account", "show", "1042.0"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("float-formatted"));
    assert_eq!(accord(dir.path(), &["rejects", "list", "--reason", "nope"]).status.code(), Some(2));
    assert_eq!(accord(dir.path(), &["frobnicate"]).status.code(), Some(2));

    // A file that disappears is a runtime error of that stream; the rest still syncs.
    std::fs::remove_file(dir.path().join("support_tickets.csv")).unwrap();
    let partial = accord(dir.path(), &["sync", "--json"]);
    assert_eq!(partial.status.code(), Some(1));
    let report = json(&partial);
    let support = report["sources"].as_array().unwrap().iter().find(|s| s["source"] == "support").unwrap();
    assert!(support["error"].as_str().unwrap().contains("support_tickets.csv"));
    assert_eq!(support["streams"][0]["counts"]["fetched"], 10, "organizations still synced");
}

#[test]
fn init_writes_a_config_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("accord.toml");
    let out = accord(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(path.exists());
    assert_eq!(accord(dir.path(), &["init"]).status.code(), Some(2), "no silent overwrite");
    // The store opens; the data folder it points at does not exist yet, which sync reports.
    let sync = accord(dir.path(), &["sync"]);
    assert_eq!(sync.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&sync.stderr).contains("crm_accounts.csv"));
}

/// `accord` with a line on standard input.
fn accord_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("--config")
        .arg(dir.join("accord.toml"))
        .args(args)
        .env_remove("ACCORD_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn web_users_are_added_listed_changed_and_removed() {
    let dir = example_copy();
    let add =
        accord_stdin(dir.path(), &["user", "add", "ana", "--role", "admin", "--password-stdin"], "a fine password\n");
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    assert!(stdout(&add).contains("added ana (admin)"), "{}", stdout(&add));

    let again = accord_stdin(dir.path(), &["user", "add", "ana", "--password-stdin"], "a fine password\n");
    assert_eq!(again.status.code(), Some(2), "a duplicate is the user's to fix");
    assert!(String::from_utf8_lossy(&again.stderr).contains("user \"ana\" exists already"));
    let short = accord_stdin(dir.path(), &["user", "add", "bo", "--password-stdin"], "short\n");
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let role = accord(dir.path(), &["user", "add", "bo", "--role", "root"]);
    assert_eq!(role.status.code(), Some(2), "clap refuses an unknown role");

    let list = json(&accord(dir.path(), &["user", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!((list[0]["name"].as_str(), list[0]["role"].as_str()), (Some("ana"), Some("admin")));
    assert!(list[0].get("password_hash").is_none(), "hashes are never printed");

    let passwd = accord_stdin(dir.path(), &["user", "passwd", "ana", "--password-stdin"], "another fine one\n");
    assert!(passwd.status.success());
    assert_eq!(accord(dir.path(), &["user", "remove", "ana"]).status.code(), Some(0));
    let gone = accord(dir.path(), &["user", "remove", "ana"]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no web user \"ana\""));
}

#[test]
fn accounts_sort_and_filter_by_mrr_and_show_the_revenue_history() {
    let dir = example_copy();
    assert!(accord(dir.path(), &["sync"]).status.success());
    let all = json(&accord(dir.path(), &["accounts", "--sort", "mrr", "--json"]));
    let mrr: Vec<i64> =
        all["accounts"].as_array().unwrap().iter().map(|a| a["current_mrr"].as_i64().unwrap()).collect();
    assert!(mrr.iter().any(|m| *m > 0), "the example bills some accounts: {mrr:?}");
    assert!(mrr.windows(2).all(|w| w[0] >= w[1]), "highest first: {mrr:?}");
    let top = mrr[0];
    let threshold = format!("{}.{:02}", top / 100, top % 100);
    let rich = json(&accord(dir.path(), &["accounts", "--sort", "mrr", "--min-mrr", &threshold, "--json"]));
    let kept: Vec<i64> =
        rich["accounts"].as_array().unwrap().iter().map(|a| a["current_mrr"].as_i64().unwrap()).collect();
    assert_eq!(kept, mrr.iter().copied().filter(|m| *m >= top).collect::<Vec<_>>());
    let asc = json(&accord(dir.path(), &["accounts", "--sort", "mrr", "--asc", "--max-mrr", "0", "--json"]));
    assert!(asc["accounts"].as_array().unwrap().iter().all(|a| a["current_mrr"] == 0));
    let bad = accord(dir.path(), &["accounts", "--min-mrr", "12.345"]);
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    let bad = accord(dir.path(), &["accounts", "--sort", "revenue"]);
    assert_eq!(bad.status.code(), Some(2));

    let id = all["accounts"][0]["account_id"].as_str().unwrap().to_owned();
    let show = stdout(&accord(dir.path(), &["account", "show", &id]));
    let money = format!("{}.{:02} USD", top / 100, top % 100);
    assert!(show.contains(&format!("revenue: current MRR {money}")), "{show}");
}
