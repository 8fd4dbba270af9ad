//! Link throughput: 1,000,000 records against 100,000 accounts with a mix of rules.
//!
//! `cargo bench -p accord-bench --bench link` prints records/s on one thread and on two threads
//! sharing the index (the linker is pure, so it parallelises by splitting the records): the
//! median of `ACCORD_BENCH_RUNS` runs (default 3), with every run's figure.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Instant;

use accord_bench::{Gen, median, runs};
use accord_core::{AccountId, LinkRule};
use accord_link::{AccountEntry, LinkIndex, LinkSpec, RecordLink};
use serde_json::{Value, json};

const ACCOUNTS: u64 = 100_000;
const RECORDS: usize = 1_000_000;

fn main() {
    let mut index = LinkIndex::new();
    for i in 0..ACCOUNTS {
        let mut e = AccountEntry::active(&format!("{}", 100_000 + i));
        e.crm_account_id = Some(format!("001{i:012}"));
        e.website = Some(format!("https://acct{i}.example.com"));
        index.upsert_account(e);
    }
    for i in 0..ACCOUNTS {
        let account = AccountId::new(format!("{}", 100_000 + i)).unwrap();
        index.upsert_link(
            "support/orgs",
            &format!("org-{i}"),
            RecordLink { account_id: account.clone(), email: None, is_user: false, organization: None },
        );
        for u in 0..2 {
            let email: Arc<str> = Arc::from(format!("user{u}@acct{i}.example.com"));
            index.upsert_link(
                "product/users",
                &format!("u-{i}-{u}"),
                RecordLink { account_id: account.clone(), email: Some(email), is_user: true, organization: None },
            );
        }
    }
    let rules: Vec<LinkRule> = serde_json::from_value(json!([
        {"rule": "field", "field": "account_id"},
        {"rule": "parent", "field": "org_id", "object": "orgs"},
        {"rule": "native_id", "field": "crm_id", "map": "crm_account_id"},
        {"rule": "email", "field": "email"},
        {"rule": "user_map", "field": "user_id"},
        {"rule": "domain", "field": "website"}
    ]))
    .unwrap();
    let spec = LinkSpec::new("support", rules, vec![]);

    let mut g = Gen::new(7);
    let records: Vec<Value> = (0..RECORDS)
        .map(|_| {
            let a = g.below(ACCOUNTS);
            match g.below(100) {
                0..=39 => json!({"account_id": format!("{}", 100_000 + a)}),
                40..=54 => json!({"org_id": format!("org-{a}")}),
                55..=64 => json!({"crm_id": format!("001{a:012}")}),
                65..=79 => json!({"email": format!("User{}@Acct{a}.example.com", a % 2)}),
                80..=89 => json!({"user_id": format!("u-{a}-1")}),
                90..=94 => json!({"website": format!("acct{a}.example.com")}),
                95..=97 => json!({"account_id": format!("{}.0", 100_000 + a)}),
                _ => json!({"account_id": "nobody", "email": "x@nowhere.dev"}),
            }
        })
        .collect();

    // Warm up, then measure one thread and two, several times.
    let warm = records.iter().take(50_000).filter(|r| spec.link(&index, r).is_ok()).count();
    assert!(warm > 0);
    let (mut ones, mut twos) = (Vec::new(), Vec::new());
    let mut linked = 0usize;
    for _ in 0..runs() {
        let start = Instant::now();
        linked = records.iter().filter(|r| spec.link(&index, r).is_ok()).count();
        ones.push(RECORDS as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let (a, b) = records.split_at(RECORDS / 2);
        let linked2: usize = std::thread::scope(|s| {
            let ha = s.spawn(|| a.iter().filter(|r| spec.link(&index, r).is_ok()).count());
            let hb = s.spawn(|| b.iter().filter(|r| spec.link(&index, r).is_ok()).count());
            ha.join().unwrap() + hb.join().unwrap()
        });
        twos.push(RECORDS as f64 / start.elapsed().as_secs_f64());
        assert_eq!(linked, linked2);
    }
    let each = |v: &[f64]| v.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");

    println!(
        "link: {RECORDS} records against {ACCOUNTS} accounts (rules: field 40%, parent 15%, native_id 10%, email 15%, user_map 10%, domain 5%, misses 5%)"
    );
    println!("link: linked {linked}, rejected {}", RECORDS - linked);
    println!("link: 1 thread  {:>12.0} records/s (median; runs: {})", median(ones.clone()), each(&ones));
    println!("link: 2 threads {:>12.0} records/s (median; runs: {})", median(twos.clone()), each(&twos));
}
