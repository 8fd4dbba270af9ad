//! Freshdesk records as the sandbox holds them, and their JSON as API v2 returns it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::emulator::respond::TimeFormat;

/// The company custom field that holds our account id (`custom_fields.account_id`).
pub const ACCOUNT_ID_FIELD: &str = "account_id";

/// Freshdesk's timestamp form: `2024-01-31T09:15:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    static FORMAT: TimeFormat = TimeFormat::new("%Y-%m-%dT%H:%M:%SZ");
    FORMAT.render(t)
}

/// A Freshdesk company. Its custom field [`ACCOUNT_ID_FIELD`] is the linking key.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: u64,
    pub name: String,
    pub domains: Vec<String>,
    /// `custom_fields.account_id`, as typed (text, or null when empty).
    pub account_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Freshdesk contact (a requester). A soft-deleted one has `deleted: true` and is listed
/// only with `state=deleted`.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub company_id: Option<u64>,
    pub job_title: Option<String>,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Freshdesk ticket. A deleted one (in the trash) has `deleted: true` and is listed only with
/// `filter=deleted`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: u64,
    pub subject: String,
    /// 2 open, 3 pending, 4 resolved, 5 closed.
    pub status: u8,
    /// 1 low, 2 medium, 3 high, 4 urgent.
    pub priority: u8,
    pub requester_id: u64,
    pub company_id: Option<u64>,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything a Freshdesk account holds, each list in id order (deleted records included).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FreshdeskData {
    pub companies: Vec<Company>,
    pub contacts: Vec<Contact>,
    pub tickets: Vec<Ticket>,
}

impl Company {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": null,
            "note": null,
            "domains": self.domains,
            "health_score": null,
            "account_tier": null,
            "renewal_date": null,
            "industry": null,
            "custom_fields": { ACCOUNT_ID_FIELD: self.account_id },
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        })
    }
}

impl Contact {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": null,
            "mobile": null,
            "twitter_id": null,
            "unique_external_id": null,
            "other_emails": [],
            "active": true,
            "address": null,
            "company_id": self.company_id,
            "view_all_tickets": false,
            "description": null,
            "job_title": self.job_title,
            "language": "en",
            "time_zone": "Eastern Time (US & Canada)",
            "tags": [],
            "other_companies": [],
            "custom_fields": {},
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        });
        if self.deleted {
            v["deleted"] = Value::Bool(true);
        }
        v
    }
}

impl Ticket {
    pub fn to_json(&self) -> Value {
        let due = timestamp(self.created_at + chrono::Duration::days(3));
        let mut v = json!({
            "id": self.id,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "source": 2,
            "type": null,
            "requester_id": self.requester_id,
            "responder_id": null,
            "company_id": self.company_id,
            "group_id": null,
            "product_id": null,
            "email_config_id": null,
            "due_by": due,
            "fr_due_by": due,
            "is_escalated": false,
            "fr_escalated": false,
            "spam": false,
            "cc_emails": [],
            "fwd_emails": [],
            "reply_cc_emails": [],
            "ticket_cc_emails": [],
            "to_emails": null,
            "tags": [],
            "custom_fields": {},
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        });
        if self.deleted {
            v["deleted"] = Value::Bool(true);
        }
        v
    }

    /// `include=stats`: the ticket's timeline.
    pub fn stats(&self) -> Value {
        let resolved = (self.status >= 4).then(|| timestamp(self.updated_at));
        json!({
            "agent_responded_at": null,
            "requester_responded_at": null,
            "first_responded_at": null,
            "status_updated_at": timestamp(self.updated_at),
            "reopened_at": null,
            "resolved_at": resolved,
            "closed_at": if self.status == 5 { resolved } else { None },
            "pending_since": null,
        })
    }
}

/// The account's agents (the sandbox's support team), for clients that list them.
pub fn agents() -> Vec<Value> {
    (1..=2u64)
        .map(|i| {
            json!({
                "id": 9_000 + i,
                "available": true,
                "occasional": false,
                "signature": null,
                "ticket_scope": 1,
                "type": "support_agent",
                "group_ids": [],
                "role_ids": [1],
                "contact": {
                    "active": true,
                    "email": format!("agent{i}@support.accord-sandbox.example"),
                    "job_title": "Support",
                    "language": "en",
                    "mobile": null,
                    "name": format!("Agent {i}"),
                    "phone": null,
                    "time_zone": "Eastern Time (US & Canada)",
                    "created_at": "2019-01-01T00:00:00Z",
                    "updated_at": "2019-01-01T00:00:00Z",
                },
                "created_at": "2019-01-01T00:00:00Z",
                "updated_at": "2019-01-01T00:00:00Z",
            })
        })
        .collect()
}

pub fn groups() -> Vec<Value> {
    vec![json!({
        "id": 8_001, "name": "Support", "description": "First line", "escalate_to": null,
        "unassigned_for": null, "business_hour_id": null, "group_type": "support_agent_group",
        "agent_ids": [9_001, 9_002], "auto_ticket_assign": false,
        "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z",
    })]
}

pub fn roles() -> Vec<Value> {
    vec![json!({
        "id": 1, "name": "Agent", "description": "Can log, view, reply, update and resolve tickets",
        "default": true, "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z",
    })]
}

/// `GET /api/v2/company_fields`: the default fields and the account id custom field.
pub fn company_fields() -> Vec<Value> {
    vec![
        json!({"id": 7_001, "name": "name", "label": "Company Name", "position": 1, "required_for_agents": true,
               "type": "default_name", "default": true, "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"}),
        json!({"id": 7_002, "name": "domains", "label": "Domains for this company", "position": 2, "required_for_agents": false,
               "type": "default_domains", "default": true, "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"}),
        json!({"id": 7_003, "name": ACCOUNT_ID_FIELD, "label": "Account ID", "position": 3, "required_for_agents": false,
               "type": "custom_text", "default": false, "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"}),
    ]
}
