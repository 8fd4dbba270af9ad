//! Zendesk Support records as the sandbox holds them, and their JSON as the API returns it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Zendesk's timestamp form: `2024-01-31T09:15:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A Zendesk organization. `external_id` is the linking key.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: u64,
    pub name: String,
    pub external_id: Option<String>,
    pub domain_names: Vec<String>,
    /// The custom field `organization_fields.tier`.
    pub tier: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Zendesk user: an end user at a customer, or one of our agents.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub organization_id: Option<u64>,
    /// `end-user`, `agent` or `admin`.
    pub role: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A Zendesk ticket. A deleted ticket keeps its row with `status: "deleted"`, as the incremental
/// export reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: u64,
    pub subject: String,
    /// `new`, `open`, `pending`, `hold`, `solved`, `closed` or `deleted`.
    pub status: String,
    pub priority: Option<String>,
    pub requester_id: u64,
    pub organization_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Ticket {
    pub fn is_deleted(&self) -> bool {
        self.status == "deleted"
    }
}

/// Everything a Zendesk account holds, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZendeskData {
    pub organizations: Vec<Organization>,
    pub users: Vec<User>,
    pub tickets: Vec<Ticket>,
}

impl Organization {
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "url": format!("{base}/api/v2/organizations/{}.json", self.id),
            "id": self.id,
            "name": self.name,
            "shared_tickets": false,
            "shared_comments": false,
            "external_id": self.external_id,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "domain_names": self.domain_names,
            "details": null,
            "notes": null,
            "group_id": null,
            "tags": [],
            "organization_fields": { "tier": self.tier },
        })
    }
}

impl User {
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "url": format!("{base}/api/v2/users/{}.json", self.id),
            "name": self.name,
            "email": self.email,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "time_zone": "UTC",
            "iana_time_zone": "Etc/UTC",
            "phone": null,
            "shared_phone_number": null,
            "photo": null,
            "locale_id": 1,
            "locale": "en-US",
            "organization_id": self.organization_id,
            "role": self.role,
            "verified": true,
            "external_id": null,
            "tags": [],
            "alias": null,
            "active": self.active,
            "shared": false,
            "shared_agent": false,
            "last_login_at": null,
            "two_factor_auth_enabled": null,
            "signature": null,
            "details": null,
            "notes": null,
            "role_type": null,
            "custom_role_id": null,
            "moderator": self.role != "end-user",
            "ticket_restriction": if self.role == "end-user" { "requested" } else { "none" },
            "only_private_comments": false,
            "restricted_agent": self.role == "end-user",
            "suspended": false,
            "default_group_id": null,
            "report_csv": false,
            "user_fields": {},
        })
    }
}

impl Ticket {
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "url": format!("{base}/api/v2/tickets/{}.json", self.id),
            "id": self.id,
            "external_id": null,
            "via": { "channel": "web", "source": { "from": {}, "to": {}, "rel": null } },
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "generated_timestamp": self.updated_at.timestamp(),
            "type": null,
            "subject": self.subject,
            "raw_subject": self.subject,
            "description": self.subject,
            "priority": self.priority,
            "status": self.status,
            "recipient": null,
            "requester_id": self.requester_id,
            "submitter_id": self.requester_id,
            "assignee_id": null,
            "organization_id": self.organization_id,
            "group_id": null,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": null,
            "problem_id": null,
            "has_incidents": false,
            "is_public": true,
            "due_at": null,
            "tags": [],
            "custom_fields": [],
            "satisfaction_rating": null,
            "sharing_agreement_ids": [],
            "custom_status_id": null,
            "fields": [],
            "followup_ids": [],
            "ticket_form_id": null,
            "brand_id": null,
            "allow_channelback": false,
            "allow_attachments": true,
            "from_messaging_channel": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_carry_generated_timestamp_in_seconds() {
        let t = DateTime::from_timestamp(1_704_067_200, 0).unwrap();
        let ticket = Ticket {
            id: 7,
            subject: "x".into(),
            status: "deleted".into(),
            priority: None,
            requester_id: 1,
            organization_id: None,
            created_at: t,
            updated_at: t,
        };
        let j = ticket.to_json("http://h");
        assert_eq!(j["generated_timestamp"], 1_704_067_200);
        assert_eq!(j["updated_at"], "2024-01-01T00:00:00Z");
        assert_eq!(j["url"], "http://h/api/v2/tickets/7.json");
        assert!(ticket.is_deleted());
    }
}
