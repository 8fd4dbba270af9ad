//! Desk.com, shut down in 2020: no emulator, only exports of its API's answers. The generator
//! makes a Desk account's companies, customers and cases, and [`DeskData::write_export`] writes
//! them as three JSON files shaped as Desk's API v2 answered a list (HAL: `total_entries`,
//! `_links`, `_embedded.entries`), which accord's `desk` source (a preset of the file source)
//! reads. Records link by URL (`_links.customer.href`), as Desk's did. The generator's seeding
//! is in `seed.rs` (a part of `crate::generate`, which it extends).

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// A Desk company. `account_id` is the custom field holding our account id.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: u64,
    pub name: String,
    pub domains: Vec<String>,
    pub account_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Desk customer, in a company or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub emails: Vec<String>,
    pub company: Option<(u64, String)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Desk case, from a customer (or from nobody Desk knew).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: u64,
    pub subject: String,
    pub status: String,
    pub priority: i64,
    pub customer_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Desk account's data, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeskData {
    pub companies: Vec<Company>,
    pub customers: Vec<Customer>,
    pub cases: Vec<Case>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn link(kind: &str, id: u64) -> Value {
    json!({ "href": format!("/api/v2/{kind}s/{id}"), "class": kind })
}

impl Company {
    pub fn to_json(&self) -> Value {
        let custom = match &self.account_id {
            Some(a) => json!({ "account_id": a }),
            None => json!({ "account_id": null }),
        };
        json!({
            "id": self.id,
            "name": self.name,
            "domains": self.domains,
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
            "custom_fields": custom,
            "_links": {
                "self": link("company", self.id),
                "customers": { "href": format!("/api/v2/companies/{}/customers", self.id), "class": "customer" },
                "cases": { "href": format!("/api/v2/companies/{}/cases", self.id), "class": "case" },
            },
        })
    }
}

impl Customer {
    pub fn to_json(&self) -> Value {
        let emails: Vec<Value> = self.emails.iter().map(|e| json!({ "type": "work", "value": e })).collect();
        let mut links = json!({
            "self": link("customer", self.id),
            "cases": { "href": format!("/api/v2/customers/{}/cases", self.id), "class": "case" },
        });
        if let Some((id, _)) = &self.company {
            links["company"] = link("company", *id);
        }
        json!({
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company.as_ref().map(|(_, name)| name),
            "title": null,
            "emails": emails,
            "phone_numbers": [],
            "addresses": [],
            "custom_fields": {},
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
            "_links": links,
        })
    }
}

impl Case {
    pub fn to_json(&self) -> Value {
        let mut links = json!({ "self": link("case", self.id), "assigned_user": null, "assigned_group": null });
        if let Some(c) = self.customer_id {
            links["customer"] = link("customer", c);
        }
        json!({
            "id": self.id,
            "external_id": null,
            "subject": self.subject,
            "blurb": self.subject,
            "priority": self.priority,
            "status": self.status,
            "type": "email",
            "labels": [],
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
            "_links": links,
        })
    }
}

/// One list as Desk's API answered it: every entry on one page.
fn page(kind: &str, entries: Vec<Value>) -> Value {
    let n = entries.len();
    let href = format!("/api/v2/{kind}?page=1&per_page={}", n.max(1));
    json!({
        "total_entries": n,
        "page": 1,
        "_links": {
            "self": { "href": href, "class": "page" },
            "first": { "href": href, "class": "page" },
            "last": { "href": href, "class": "page" },
            "previous": null,
            "next": null,
        },
        "_embedded": { "entries": entries },
    })
}

impl DeskData {
    /// Writes `companies.json`, `customers.json` and `cases.json` into `dir`.
    pub fn write_export(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let files = [
            ("companies", page("companies", self.companies.iter().map(Company::to_json).collect())),
            ("customers", page("customers", self.customers.iter().map(Customer::to_json).collect())),
            ("cases", page("cases", self.cases.iter().map(Case::to_json).collect())),
        ];
        for (name, body) in files {
            std::fs::write(dir.join(format!("{name}.json")), serde_json::to_vec_pretty(&body)?)?;
        }
        Ok(())
    }
}
