//! Keap (Infusionsoft) records as the sandbox holds them, and their JSON as REST v2 returns it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The id of the company custom field "CompanyID", which holds our account id when set.
pub const COMPANY_FIELD: &str = "7";
/// The id of the contact custom field "ContactID", which holds our account id when set.
pub const CONTACT_FIELD: &str = "9";

/// Keap's timestamps: `2024-03-15T10:30:00.000Z`.
pub fn keap_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A Keap company.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: u64,
    pub company_name: String,
    pub website: Option<String>,
    /// The "CompanyID" custom field.
    pub account_id: Option<String>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// A Keap contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: u64,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    /// The company it belongs to: (id, name).
    pub company: Option<(u64, String)>,
    /// The "ContactID" custom field.
    pub account_id: Option<String>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// Everything a Keap app holds, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeapData {
    pub companies: Vec<Company>,
    pub contacts: Vec<Contact>,
}

fn custom(id: &str, value: &Option<String>) -> Value {
    json!([{ "id": id, "content": value.clone().map_or(Value::Null, Value::String) }])
}

impl Company {
    /// The company as `Company`; `custom_fields`, `create_time` and `update_time` only when
    /// asked for in `fields`, as Keap serves them.
    pub fn to_json(&self, fields: &[String]) -> Value {
        let wants = |f: &str| fields.iter().any(|x| x == f);
        let mut v = json!({ "id": self.id.to_string(), "company_name": self.company_name });
        if let Some(w) = &self.website {
            v["website"] = json!(w);
        }
        if wants("custom_fields") {
            v["custom_fields"] = custom(COMPANY_FIELD, &self.account_id);
        }
        if wants("create_time") {
            v["create_time"] = json!(keap_time(self.create_time));
        }
        if wants("update_time") {
            v["update_time"] = json!(keap_time(self.update_time));
        }
        v
    }
}

impl Contact {
    /// The contact as `Contact`; `custom_fields` only when asked for in `fields`.
    pub fn to_json(&self, fields: &[String]) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "given_name": self.given_name,
            "family_name": self.family_name,
            "email_addresses": self.email.iter().map(|e| json!({ "email": e, "field": "EMAIL1" })).collect::<Vec<_>>(),
            "create_time": keap_time(self.create_time),
            "update_time": keap_time(self.update_time),
        });
        if let Some((id, name)) = &self.company {
            v["company"] = json!({ "id": id.to_string(), "company_name": name });
        }
        if fields.iter().any(|f| f == "custom_fields") {
            v["custom_fields"] = custom(CONTACT_FIELD, &self.account_id);
        }
        v
    }
}
