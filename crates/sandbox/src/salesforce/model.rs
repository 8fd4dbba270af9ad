//! Salesforce records as the sandbox holds them, and their JSON as the REST API returns it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::emulator::respond::TimeFormat;

/// The API version used in the URLs the emulator writes (`nextRecordsUrl`, `attributes.url`).
/// Requests may use any `vNN.N`; the emulator answers in the version the request used.
pub const API_VERSION: &str = "v59.0";

/// The sObjects the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SObject {
    Account,
    Contact,
    Case,
}

impl SObject {
    pub const ALL: [SObject; 3] = [SObject::Account, SObject::Contact, SObject::Case];

    pub fn name(self) -> &'static str {
        match self {
            SObject::Account => "Account",
            SObject::Contact => "Contact",
            SObject::Case => "Case",
        }
    }

    /// Object names are case-insensitive in SOQL and URLs.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// The three-character key prefix of the object's ids.
    pub fn key_prefix(self) -> &'static str {
        match self {
            SObject::Account => "001",
            SObject::Contact => "003",
            SObject::Case => "500",
        }
    }

    /// The queryable fields, with their canonical spelling.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            SObject::Account => &[
                "Id",
                "Name",
                "Type",
                "Website",
                "Account_ID__c",
                "CreatedDate",
                "SystemModstamp",
                "IsDeleted",
                "Support_ID__c",
                "Billing_Account_ID__c",
            ],
            SObject::Contact => {
                &["Id", "AccountId", "Email", "FirstName", "LastName", "CreatedDate", "SystemModstamp", "IsDeleted"]
            }
            SObject::Case => &[
                "Id",
                "AccountId",
                "ContactId",
                "Subject",
                "Status",
                "Priority",
                "CreatedDate",
                "SystemModstamp",
                "IsDeleted",
            ],
        }
    }

    /// The canonical spelling of a field name, which SOQL matches case-insensitively.
    pub fn field(self, name: &str) -> Option<&'static str> {
        self.fields().iter().copied().find(|f| f.eq_ignore_ascii_case(name))
    }
}

/// A field's value, for filtering and rendering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Null,
    Text(&'a str),
    Bool(bool),
    Time(DateTime<Utc>),
}

impl FieldValue<'_> {
    fn to_json(self) -> Value {
        match self {
            FieldValue::Null => Value::Null,
            FieldValue::Text(s) => Value::String(s.to_owned()),
            FieldValue::Bool(b) => Value::Bool(b),
            FieldValue::Time(t) => Value::String(datetime(t)),
        }
    }
}

fn text(v: &Option<String>) -> FieldValue<'_> {
    v.as_deref().map_or(FieldValue::Null, FieldValue::Text)
}

/// Salesforce's datetime form in JSON: `2024-01-31T09:15:00.000+0000`.
pub fn datetime(t: DateTime<Utc>) -> String {
    static FORMAT: TimeFormat = TimeFormat::new("%Y-%m-%dT%H:%M:%S%.3f%z");
    FORMAT.render(t)
}

/// What every stored record offers the query engine.
pub trait Record {
    const OBJECT: SObject;
    fn id(&self) -> &str;
    fn get(&self, field: &str) -> FieldValue<'_>;
    fn system_modstamp(&self) -> DateTime<Utc>;
    fn deleted_at(&self) -> Option<DateTime<Utc>>;
    /// Marks the record changed now.
    fn touch(&mut self, now: DateTime<Utc>);
    fn set_deleted(&mut self, at: DateTime<Utc>);

    /// The record as a query returns it: `attributes` and the selected fields, in order.
    fn to_json(&self, version: &str, fields: &[&str]) -> Value {
        let mut m = Map::new();
        let object = Self::OBJECT.name();
        m.insert(
            "attributes".into(),
            json!({ "type": object, "url": format!("/services/data/{version}/sobjects/{object}/{}", self.id()) }),
        );
        for f in fields {
            m.insert((*f).to_owned(), self.get(f).to_json());
        }
        Value::Object(m)
    }
}

/// A Salesforce Account. `account_id` is the custom field `Account_ID__c`.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub name: Option<String>,
    /// `Type`: `Customer`, `Prospect`, `Partner`, ...
    pub account_type: Option<String>,
    pub website: Option<String>,
    pub account_id: Option<String>,
    pub created_date: DateTime<Utc>,
    pub system_modstamp: DateTime<Utc>,
    /// Set when the record is in the recycle bin (reported by `getDeleted` and `queryAll`).
    pub deleted_at: Option<DateTime<Utc>>,
    /// `Support_ID__c`: the id support (JIRA) knows the account by.
    pub support_id: Option<String>,
    /// `Billing_Account_ID__c`: the account's id in its billing system (a Recurly account code,
    /// or the Chargebee customer id of a customer that carries no account id of its own).
    pub billing_id: Option<String>,
}

/// A Salesforce Contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub account_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: String,
    pub created_date: DateTime<Utc>,
    pub system_modstamp: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A Salesforce Case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub account_id: Option<String>,
    pub contact_id: Option<String>,
    pub subject: Option<String>,
    pub status: String,
    pub priority: String,
    pub created_date: DateTime<Utc>,
    pub system_modstamp: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

macro_rules! common_record {
    ($t:ty, $obj:expr, |$r:ident| { $($field:literal => $get:expr),* $(,)? }) => {
        impl Record for $t {
            const OBJECT: SObject = $obj;
            fn id(&self) -> &str {
                &self.id
            }
            fn get(&self, field: &str) -> FieldValue<'_> {
                let $r = self;
                match field {
                    "Id" => FieldValue::Text(&self.id),
                    "CreatedDate" => FieldValue::Time(self.created_date),
                    "SystemModstamp" => FieldValue::Time(self.system_modstamp),
                    "IsDeleted" => FieldValue::Bool(self.deleted_at.is_some()),
                    $($field => $get,)*
                    _ => FieldValue::Null,
                }
            }
            fn system_modstamp(&self) -> DateTime<Utc> {
                self.system_modstamp
            }
            fn deleted_at(&self) -> Option<DateTime<Utc>> {
                self.deleted_at
            }
            fn touch(&mut self, now: DateTime<Utc>) {
                self.system_modstamp = now;
            }
            fn set_deleted(&mut self, at: DateTime<Utc>) {
                self.deleted_at = Some(at);
                self.system_modstamp = at;
            }
        }
    };
}

common_record!(Account, SObject::Account, |r| {
    "Name" => text(&r.name),
    "Type" => text(&r.account_type),
    "Website" => text(&r.website),
    "Account_ID__c" => text(&r.account_id),
    "Support_ID__c" => text(&r.support_id),
    "Billing_Account_ID__c" => text(&r.billing_id),
});
common_record!(Contact, SObject::Contact, |r| {
    "AccountId" => text(&r.account_id),
    "Email" => text(&r.email),
    "FirstName" => text(&r.first_name),
    "LastName" => FieldValue::Text(&r.last_name),
});
common_record!(Case, SObject::Case, |r| {
    "AccountId" => text(&r.account_id),
    "ContactId" => text(&r.contact_id),
    "Subject" => text(&r.subject),
    "Status" => FieldValue::Text(&r.status),
    "Priority" => FieldValue::Text(&r.priority),
});

/// Everything a Salesforce org holds, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SalesforceData {
    pub accounts: Vec<Account>,
    pub contacts: Vec<Contact>,
    pub cases: Vec<Case>,
}

/// An 18-character Salesforce id: the 15-character case-sensitive id plus its case-insensitive
/// checksum suffix, computed as Salesforce does. Ids sort in creation order.
pub fn sf_id(object: SObject, n: u64) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 8];
    let mut rest = n;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let mut id = String::with_capacity(18);
    id.push_str(object.key_prefix());
    id.push_str("Hs00");
    id.push_str(std::str::from_utf8(&digits).unwrap_or("00000000"));
    id.push_str(&checksum(id.as_bytes()));
    id
}

/// The three checksum characters: for each 5-character chunk, a bit per upper-case letter.
fn checksum(id15: &[u8]) -> String {
    const MAP: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    id15.chunks(5)
        .map(|chunk| {
            let bits =
                chunk.iter().enumerate().filter(|(_, c)| c.is_ascii_uppercase()).fold(0, |acc, (i, _)| acc | 1 << i);
            MAP[bits] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_salesforce_shape_and_sort_by_creation() {
        let a = sf_id(SObject::Account, 61);
        let b = sf_id(SObject::Account, 62);
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("001"));
        assert!(a < b, "{a} < {b}");
        // Checksum of a known id: 001Hs00000000000 has no upper-case letter in chunk 3.
        assert_eq!(&checksum(b"001Hs0000000000"), "IAA");
    }

    #[test]
    fn datetimes_use_the_salesforce_form() {
        let t = DateTime::from_timestamp(1_704_067_200, 0).unwrap();
        assert_eq!(datetime(t), "2024-01-01T00:00:00.000+0000");
    }
}
