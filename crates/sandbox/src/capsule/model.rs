//! Capsule parties (people and organisations) as the sandbox holds them, and their JSON as API v2
//! returns it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::emulator::respond::TimeFormat;

/// The custom field (its definition's name) that holds our account id.
pub const ACCOUNT_ID_FIELD: &str = "Account ID";
/// That definition's id.
pub const ACCOUNT_ID_DEFINITION: u64 = 412_001;

/// Capsule's timestamp form: `2024-01-31T09:15:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    static FORMAT: TimeFormat = TimeFormat::new("%Y-%m-%dT%H:%M:%SZ");
    FORMAT.render(t)
}

/// A party: an organisation (`name`) or a person (`first_name`, `last_name`, its organisation).
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    pub id: u64,
    /// `organisation` or `person`.
    pub kind: PartyKind,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub job_title: Option<String>,
    /// A person's organisation: its id and name.
    pub organisation: Option<(u64, String)>,
    pub email: Option<String>,
    /// The web address, as typed (`www.acme.io/`, `http://acme.io`).
    pub website: Option<String>,
    /// The custom field [`ACCOUNT_ID_FIELD`], as typed.
    pub account_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyKind {
    Organisation,
    Person,
}

/// A deleted party, as `/api/v2/parties/deleted` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deleted {
    pub id: u64,
    pub deleted_at: DateTime<Utc>,
}

/// Everything a Capsule account holds: parties in id order, and the deletions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapsuleData {
    pub parties: Vec<Party>,
    pub deleted: Vec<Deleted>,
}

impl Party {
    /// The party's JSON; `fields` when the request embeds them (`embed=fields`).
    pub fn to_json(&self, fields: bool) -> Value {
        let websites: Vec<Value> = self
            .website
            .iter()
            .map(|w| {
                let url = if w.contains("://") { w.clone() } else { format!("http://{w}") };
                json!({"id": self.id * 10 + 1, "type": null, "service": "URL", "address": w, "url": url})
            })
            .collect();
        let emails: Vec<Value> =
            self.email.iter().map(|e| json!({"id": self.id * 10 + 2, "type": "Work", "address": e})).collect();
        let mut v = json!({
            "id": self.id,
            "type": match self.kind { PartyKind::Organisation => "organisation", PartyKind::Person => "person" },
            "about": null,
            "createdAt": timestamp(self.created_at),
            "updatedAt": timestamp(self.updated_at),
            "lastContactedAt": null,
            "pictureURL": "https://capsulecrm.com/theme/default/images/org_avatar_70.png",
            "owner": {"id": 61_001, "username": "sandbox", "name": "Sandbox Owner"},
            "team": null,
            "addresses": [],
            "phoneNumbers": [],
            "websites": websites,
            "emailAddresses": emails,
        });
        match self.kind {
            PartyKind::Organisation => v["name"] = Value::String(self.name.clone()),
            PartyKind::Person => {
                v["title"] = Value::Null;
                v["firstName"] = json!(self.first_name);
                v["lastName"] = json!(self.last_name);
                v["jobTitle"] = json!(self.job_title);
                v["organisation"] = self.organisation.as_ref().map_or(Value::Null, |(id, name)| {
                    json!({"id": id, "name": name, "pictureURL": "https://capsulecrm.com/theme/default/images/org_avatar_70.png"})
                });
            }
        }
        if fields {
            v["fields"] = Value::Array(
                self.account_id
                    .iter()
                    .map(|a| {
                        json!({
                            "id": self.id * 10 + 3,
                            "value": a,
                            "definition": {"id": ACCOUNT_ID_DEFINITION, "name": ACCOUNT_ID_FIELD},
                        })
                    })
                    .collect(),
            );
        }
        v
    }
}

/// `GET /api/v2/parties/fields/definitions`.
pub fn definitions() -> Value {
    json!({"definitions": [{
        "id": ACCOUNT_ID_DEFINITION, "name": ACCOUNT_ID_FIELD, "type": "text", "description": "Our account id",
        "options": [], "tag": null, "important": true, "displayOrder": 1, "captureRule": "party", "active": true,
    }]})
}
