//! Link throughput: 1,000,000 records against 100,000 accounts with a mix of rules.
//!
//! `cargo bench -p accord-bench --bench link` prints records/s on one thread and on two threads
//! sharing the index (the linker is pure, so it parallelises by splitting the records).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Instant;

use accord_bench::Gen;
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
            RecordLink { account_id: account.clone(), email: None, is_user: false },
        );
        for u in 0..2 {
            let email: Arc<str> = Arc::from(format!("user{u}@acct{i}.example.com"));
            index.upsert_link(
                "product/users",
                &format!("u-{i}-{u}"),
                RecordLink { account_id: account.clone(), email: Some(email), is_user: true },
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

    // Warm up, then measure one thread.
    let warm = records.iter().take(50_000).filter(|r| spec.link(&index, r).is_ok()).count();
    assert!(warm > 0);
    let start = Instant::now();
    let mut linked = 0usize;
    for r in &records {
        linked += usize::from(spec.link(&index, r).is_ok());
    }
    let one = start.elapsed();
    let rate1 = RECORDS as f64 / one.as_secs_f64();

    // Two threads over halves of the records, sharing the index.
    let start = Instant::now();
    let (a, b) = records.split_at(RECORDS / 2);
    let linked2: usize = std::thread::scope(|s| {
        let ha = s.spawn(|| a.iter().filter(|r| spec.link(&index, r).is_ok()).count());
        let hb = s.spawn(|| b.iter().filter(|r| spec.link(&index, r).is_ok()).count());
        ha.join().unwrap() + hb.join().unwrap()
    });
    let two = start.elapsed();
    let rate2 = RECORDS as f64 / two.as_secs_f64();
    assert_eq!(linked, linked2);

    println!(
        "link: {RECORDS} records against {ACCOUNTS} accounts (rules: field 40%, parent 15%, native_id 10%, email 15%, user_map 10%, domain 5%, misses 5%)"
    );
    println!("link: linked {linked}, rejected {}", RECORDS - linked);
    println!("link: 1 thread  {:>12.0} records/s ({:.3} s)", rate1, one.as_secs_f64());
    println!("link: 2 threads {:>12.0} records/s ({:.3} s)", rate2, two.as_secs_f64());
}
