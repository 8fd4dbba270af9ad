//! Intercom records as the sandbox holds them, and their JSON as API version 2.14 returns it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The workspace (`app_id`) every record belongs to.
pub const APP_ID: &str = "sbx4ccrd";

/// An Intercom company. `company_id` is ours (the linking key); `id` is Intercom's.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: String,
    pub company_id: String,
    pub name: String,
    pub website: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub remote_created_at: Option<DateTime<Utc>>,
    /// The plan's name; rendered as Intercom's `plan` object.
    pub plan: Option<String>,
    pub size: Option<i64>,
    pub industry: Option<String>,
    pub user_count: i64,
    /// Company custom attributes are strings in the 2.14 schema.
    pub custom_attributes: Vec<(String, String)>,
}

/// The value of a contact's `custom_attributes.account_id`, which people fill with text or numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Text(String),
    Int(i64),
    Float(f64),
}

impl AttributeValue {
    fn to_json(&self) -> Value {
        match self {
            AttributeValue::Text(s) => Value::String(s.clone()),
            AttributeValue::Int(i) => Value::from(*i),
            AttributeValue::Float(f) => Value::from(*f),
        }
    }
}

/// An Intercom contact: a `user` (has an `external_id`) or a `lead`.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub external_id: Option<String>,
    /// `user` or `lead`.
    pub role: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `custom_attributes.account_id`, when someone set it.
    pub account_id: Option<AttributeValue>,
    /// Intercom ids of the companies the contact is attached to, first is primary.
    pub company_ids: Vec<String>,
}

/// The contact a conversation is with, as the conversation references it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRef {
    pub id: String,
    pub external_id: Option<String>,
}

/// An Intercom conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `open`, `closed` or `snoozed`.
    pub state: String,
    /// `conversation`, `email`, ...
    pub source_type: String,
    pub body: String,
    pub contacts: Vec<ContactRef>,
}

/// Everything an Intercom workspace holds, each list in creation order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntercomData {
    pub companies: Vec<Company>,
    pub contacts: Vec<Contact>,
    pub conversations: Vec<Conversation>,
}

impl Company {
    pub fn to_json(&self) -> Value {
        let custom: Map<String, Value> =
            self.custom_attributes.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let mut j = json!({
            "type": "company",
            "company_id": self.company_id,
            "id": self.id,
            "app_id": APP_ID,
            "name": self.name,
            "remote_created_at": self.remote_created_at.map(|t| t.timestamp()),
            "created_at": self.created_at.timestamp(),
            "updated_at": self.updated_at.timestamp(),
            "last_request_at": self.updated_at.timestamp(),
            "monthly_spend": 0,
            "session_count": 0,
            "user_count": self.user_count,
            "tags": { "type": "tag.list", "tags": [] },
            "segments": { "type": "segment.list", "segments": [] },
            "plan": match &self.plan {
                Some(p) => json!({ "type": "plan", "id": plan_id(p), "name": p }),
                None => json!({}),
            },
            "custom_attributes": custom,
        });
        // Absent attributes are left out rather than sent as null, as Intercom does.
        let m = j.as_object_mut().expect("a json object");
        if self.remote_created_at.is_none() {
            m.remove("remote_created_at");
        }
        for (key, value) in [
            ("website", self.website.clone().map(Value::String)),
            ("size", self.size.map(Value::from)),
            ("industry", self.industry.clone().map(Value::String)),
        ] {
            if let Some(v) = value {
                m.insert(key.into(), v);
            }
        }
        j
    }
}

fn plan_id(name: &str) -> String {
    (name.bytes().fold(269_000u32, |acc, b| acc.wrapping_mul(31).wrapping_add(u32::from(b))) % 1_000_000).to_string()
}

const NULL_CONTACT_FIELDS: &[&str] = &[
    "last_seen_at",
    "last_replied_at",
    "last_contacted_at",
    "last_email_opened_at",
    "last_email_clicked_at",
    "language_override",
    "browser",
    "browser_version",
    "browser_language",
    "os",
    "android_app_name",
    "android_app_version",
    "android_device",
    "android_os_version",
    "android_sdk_version",
    "android_last_seen_at",
    "ios_app_name",
    "ios_app_version",
    "ios_device",
    "ios_os_version",
    "ios_sdk_version",
    "ios_last_seen_at",
];

impl Contact {
    pub fn to_json(&self) -> Value {
        let mut custom = Map::new();
        if let Some(a) = &self.account_id {
            custom.insert("account_id".into(), a.to_json());
        }
        let email_domain = self.email.as_deref().and_then(|e| e.rsplit_once('@')).map(|(_, d)| d.to_lowercase());
        let companies: Vec<Value> = self
            .company_ids
            .iter()
            .map(|id| json!({ "type": "company", "id": id, "url": format!("/companies/{id}") }))
            .collect();
        let empty_list = |what: &str| json!({ "type": "list", "data": [], "url": format!("/contacts/{}/{what}", self.id), "total_count": 0, "has_more": false });
        let mut j = json!({
            "type": "contact",
            "id": self.id,
            "workspace_id": APP_ID,
            "external_id": self.external_id,
            "role": self.role,
            "email": self.email.clone().unwrap_or_default(),
            "email_domain": email_domain.unwrap_or_default(),
            "phone": null,
            "name": self.name,
            "owner_id": null,
            "has_hard_bounced": false,
            "marked_email_as_spam": false,
            "unsubscribed_from_emails": false,
            "created_at": self.created_at.timestamp(),
            "updated_at": self.updated_at.timestamp(),
            "signed_up_at": if self.role == "user" { Some(self.created_at.timestamp()) } else { None },
            "custom_attributes": custom,
            "avatar": null,
            "tags": empty_list("tags"),
            "notes": empty_list("notes"),
            "companies": {
                "type": "list",
                "data": companies,
                "url": format!("/contacts/{}/companies", self.id),
                "total_count": self.company_ids.len(),
                "has_more": false,
            },
            "location": { "type": "location", "country": null, "region": null, "city": null },
            "social_profiles": { "type": "list", "data": [] },
        });
        // Attributes the sandbox never sets, present as null as in Intercom's answers.
        if let Some(m) = j.as_object_mut() {
            for key in NULL_CONTACT_FIELDS {
                m.insert((*key).into(), Value::Null);
            }
        }
        j
    }
}

impl Conversation {
    pub fn to_json(&self) -> Value {
        let contacts: Vec<Value> = self
            .contacts
            .iter()
            .map(|c| json!({ "type": "contact", "id": c.id, "external_id": c.external_id }))
            .collect();
        let author = self.contacts.first().map_or_else(
            || json!({ "type": "admin", "id": "991267600", "name": "Support", "email": "support@accord.example" }),
            |c| json!({ "type": "user", "id": c.id }),
        );
        json!({
            "type": "conversation",
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at.timestamp(),
            "updated_at": self.updated_at.timestamp(),
            "waiting_since": null,
            "snoozed_until": null,
            "open": self.state == "open",
            "state": self.state,
            "read": true,
            "priority": "not_priority",
            "admin_assignee_id": null,
            "team_assignee_id": null,
            "tags": { "type": "tag.list", "tags": [] },
            "conversation_rating": null,
            "source": {
                "type": self.source_type,
                "id": format!("4{}", self.id),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": format!("<p>{}</p>", self.body),
                "author": author,
                "attachments": [],
                "url": null,
                "redacted": false,
            },
            "contacts": { "type": "contact.list", "contacts": contacts },
            "teammates": { "type": "admin.list", "teammates": [] },
            "custom_attributes": {},
            "first_contact_reply": { "created_at": self.created_at.timestamp(), "type": "conversation", "url": null },
            "sla_applied": null,
            "linked_objects": { "type": "list", "data": [], "total_count": 0, "has_more": false },
            "ai_agent_participated": false,
        })
    }
}

/// A 24-hex-digit Intercom id: creation second, then a counter, like the ids Intercom issues.
pub fn object_id(created: DateTime<Utc>, n: u64) -> String {
    format!("{:08x}{:016x}", created.timestamp() as u32, n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_company_attributes_are_left_out_and_numbers_stay_numbers() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let c = Company {
            id: object_id(t, 1),
            company_id: "100042".into(),
            name: "Acme".into(),
            website: None,
            created_at: t,
            updated_at: t,
            remote_created_at: None,
            plan: Some("Pro".into()),
            size: Some(40),
            industry: None,
            user_count: 2,
            custom_attributes: vec![("tier".into(), "gold".into())],
        };
        let j = c.to_json();
        assert!(j.get("website").is_none());
        assert_eq!(j["size"], 40);
        assert_eq!(j["plan"]["name"], "Pro");
        assert_eq!(j["id"].as_str().unwrap().len(), 24);
        let contact = Contact {
            id: "c1".into(),
            external_id: None,
            role: "lead".into(),
            email: Some("Ann@Acme.io".into()),
            name: None,
            created_at: t,
            updated_at: t,
            account_id: Some(AttributeValue::Float(100042.5)),
            company_ids: vec![],
        };
        let j = contact.to_json();
        assert_eq!(j["custom_attributes"]["account_id"], 100042.5);
        assert_eq!(j["email_domain"], "acme.io");
        assert_eq!(j["companies"]["total_count"], 0);
    }
}
