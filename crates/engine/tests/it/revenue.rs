//! Revenue through the whole pipeline: subscriptions read from a file, stored with their typed
//! revenue fields (migration 0008), and the account's MRR history, movements and renewal date.

use accord_engine::revenue::MovementKind;
use chrono::{NaiveDate, TimeZone, Utc};

use crate::*;

const TOML: &str = r#"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"

[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"

[sources.billing]
kind = "file"
[[sources.billing.objects]]
name = "subscriptions"
kind = "subscription"
path = "subs.csv"
native_id = "id"
link = [{ rule = "field", field = "account" }]

[revenue]
currency = "USD"
rates = { EUR = "1.10" }
"#;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn mrr_history_movements_and_renewal_come_from_the_stored_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined\nA1,Alpha,2024-02-01\nA2,Beta,2024-01-01\n");
    // A1: monthly 50 USD × 2 seats since January (before its join date), an annual 1,200 EUR
    // plan from March with a forever 10% discount, a weekly plan that churned at the end of
    // April, and a trial still running (no MRR). A2: a trial that lapsed, never paid.
    write(
        dir.path(),
        "subs.csv",
        "id,account,plan_code,status,currency,start_date,end_date,billing_interval,interval_count,quantity,unit_amount,\
discount_percent_bp,discount_duration,trial_start,trial_end,current_period_end,cancel_at_period_end\n\
s1,A1,team,active,usd,2024-01-15,,month,1,2,5000,,,,,2024-06-15,false\n\
s2,A1,annual,active,eur,2024-03-10,,year,1,1,120000,1000,forever,,,2025-03-10,false\n\
s3,A1,weekly,canceled,usd,2024-02-05,2024-04-30,week,1,1,1200,,,,,,\n\
s4,A1,trial,trialing,usd,2024-05-20,,month,1,1,9900,,,2024-05-20,2024-06-20,2024-06-20,false\n\
s5,A2,trial,canceled,usd,2024-03-01,2024-03-15,month,1,1,9900,,,2024-03-01,2024-03-15,,\n",
    );
    let hub = hub(dir.path(), TOML);
    let report = sync(&hub);
    assert_eq!(counts(&report, "billing", "subscriptions"), (5, 5, 0));
    let now = Utc.with_ymd_and_hms(2024, 6, 10, 12, 0, 0).unwrap();
    let h = accord_engine::view::revenue_history(&hub, "A1", now).unwrap().unwrap();

    // s1: 10,000. s2: 1,200 EUR a year, less 10%, = 90 EUR a month = 99.00 USD at 1.10.
    // s3: 12 a week = 12 × 52 / 12 = 52.00 a month.
    let points: Vec<_> = h.before_join.iter().chain(&h.months).map(|p| (p.day, p.mrr)).collect();
    assert_eq!(
        points,
        vec![
            (d("2024-01-31"), 10_000),
            (d("2024-02-29"), 10_000 + 5_200),
            (d("2024-03-31"), 10_000 + 5_200 + 9_900),
            (d("2024-04-30"), 10_000 + 9_900),
            (d("2024-05-31"), 10_000 + 9_900),
            (d("2024-06-10"), 10_000 + 9_900),
        ]
    );
    assert_eq!(h.before_join.len(), 1, "January is before the join date, kept apart");
    let moves: Vec<_> = h.movements.iter().map(|m| (m.month, m.kind, m.amount)).collect();
    assert_eq!(
        moves,
        vec![
            (d("2024-02-01"), MovementKind::Expansion, 5_200),
            (d("2024-03-01"), MovementKind::Expansion, 9_900),
            (d("2024-04-01"), MovementKind::Contraction, -5_200),
        ]
    );
    let last = h.months.last().unwrap();
    assert_eq!(
        last.original.iter().map(|(c, m)| (c.code().to_owned(), *m)).collect::<Vec<_>>(),
        vec![("EUR".to_owned(), 9_000), ("USD".to_owned(), 10_000)],
        "original amounts are kept beside the converted sum"
    );
    assert_eq!(h.current_mrr, 19_900);
    assert_eq!(accord_engine::view::current_mrr(&hub, "A1", now).unwrap(), 19_900);
    assert_eq!(h.renewal_date, Some(d("2024-06-15")), "the earliest current period end that renews");

    let beta = accord_engine::view::revenue_history(&hub, "A2", now).unwrap().unwrap();
    assert!(beta.months.iter().all(|p| p.mrr == 0), "a lapsed trial never paid");
    assert!(beta.movements.is_empty());

    let v = accord_engine::view::account_360(&hub, "A1", 10, now).unwrap().unwrap();
    assert_eq!(v.mrr_minor, 19_900);
    assert_eq!(v.revenue.as_ref().map(|r| r.movements.len()), Some(3));
    let sub = &v.records["subscription"];
    assert!(sub.iter().any(|r| r["fields"]["billing_interval"] == "year"), "the new fields are stored: {sub:?}");
}

#[test]
fn a_currency_without_a_rate_is_an_error_that_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined\nA1,Alpha,2024-02-01\n");
    write(dir.path(), "subs.csv", "id,account,currency,start_date,unit_amount\ns1,A1,gbp,2024-01-15,5000\n");
    let hub = hub(dir.path(), TOML);
    sync(&hub);
    let now = Utc.with_ymd_and_hms(2024, 6, 10, 12, 0, 0).unwrap();
    let e = accord_engine::view::current_mrr(&hub, "A1", now).unwrap_err().to_string();
    assert!(e.contains("no exchange rate from GBP to USD") && e.contains("[revenue.rates]"), "{e}");
}

#[test]
fn bad_revenue_settings_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, key) in [
        ("[revenue]\ncurrency = \"dollars\"\n", "revenue.currency"),
        ("[revenue]\nrates = { EUR = \"-1\" }\n", "revenue.rates.EUR"),
        ("[revenue]\nrates = { EUR = \"0.000\" }\n", "revenue.rates.EUR"),
        ("[revenue]\nrates = { EURO = \"1.1\" }\n", "revenue.rates.EURO"),
    ] {
        let text = format!("store = \"sqlite://hub.db\"\n{}\n{bad}", TOML.split("[revenue]").next().unwrap());
        let e = accord_core::Config::from_toml(&text, dir.path()).unwrap_err();
        assert_eq!(e.key, key, "{bad}");
    }
}

#[test]
fn the_doctor_lists_subscriptions_whose_vendor_mrr_disagrees() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined\nA1,Alpha,2024-02-01\n");
    // The vendor's own `mrr` beside the terms: s1 agrees (120 a year = 10 a month), s2 does not
    // (a weekly 10 is 43.33 a month, the vendor says 40), s3 sends no terms and is not compared.
    write(
        dir.path(),
        "subs.csv",
        "id,account,currency,start_date,billing_interval,unit_amount,mrr\n\
s1,A1,usd,2024-01-15,year,12000,10.00\n\
s2,A1,usd,2024-01-15,week,1000,40.00\n\
s3,A1,usd,2024-01-15,,,25.00\n",
    );
    let hub = hub(dir.path(), TOML);
    sync(&hub);
    let report = accord_engine::doctor::doctor(&hub).unwrap();
    assert_eq!(report.mrr_checked, 2);
    let found: Vec<_> =
        report.mrr_disagreements.iter().map(|d| (d.subscription.as_str(), d.vendor, d.accord)).collect();
    assert_eq!(found, vec![("billing/subscriptions/s2", 4000, 4333)]);
}
