//! Zendesk Support records as the sandbox holds them, and their JSON as the API returns it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::emulator::respond::TimeFormat;

/// Zendesk's timestamp form: `2024-01-31T09:15:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    static FORMAT: TimeFormat = TimeFormat::new("%Y-%m-%dT%H:%M:%SZ");
    FORMAT.render(t)
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

/// When the account's configuration (groups, fields, forms, macros, policies) was set up: a year
/// before the generated data's `AS_OF`.
pub fn configured_at() -> DateTime<Utc> {
    DateTime::from_timestamp(crate::generate::AS_OF - 365 * 86_400, 0).unwrap_or_default()
}

/// The account's groups: `(id, name)`. Every agent is in the first, its default.
pub const GROUPS: &[(u64, &str)] = &[(360_000_001, "Support"), (360_000_002, "Billing")];

/// A group, as `/api/v2/groups` lists it.
pub fn group_json(base: &str, (id, name): (u64, &str)) -> Value {
    let at = timestamp(configured_at());
    json!({
        "url": format!("{base}/api/v2/groups/{id}.json"),
        "id": id,
        "is_public": true,
        "name": name,
        "description": "",
        "default": id == GROUPS[0].0,
        "deleted": false,
        "created_at": at,
        "updated_at": at,
    })
}

/// An agent's membership of the default group, as `/api/v2/group_memberships` lists it.
pub fn group_membership_json(base: &str, agent: &User) -> Value {
    let id = 361_000_000 + agent.id;
    json!({
        "url": format!("{base}/api/v2/group_memberships/{id}.json"),
        "id": id,
        "user_id": agent.id,
        "group_id": GROUPS[0].0,
        "default": true,
        "created_at": timestamp(agent.created_at),
        "updated_at": timestamp(agent.created_at),
    })
}

/// A custom field definition (`ticket_fields`, `user_fields`, `organization_fields`).
fn field_json(base: &str, kind: &str, id: u64, key: &str, title: &str, field_type: &str, options: &[&str]) -> Value {
    let at = timestamp(configured_at());
    let mut f = json!({
        "url": format!("{base}/api/v2/{kind}/{id}.json"),
        "id": id,
        "type": field_type,
        "key": key,
        "title": title,
        "raw_title": title,
        "description": "",
        "raw_description": "",
        "position": 0,
        "active": true,
        "system": false,
        "regexp_for_validation": null,
        "created_at": at,
        "updated_at": at,
    });
    if !options.is_empty() {
        f["custom_field_options"] = options
            .iter()
            .enumerate()
            .map(|(i, o)| json!({ "id": id * 10 + i as u64, "name": o, "raw_name": o, "value": o, "position": i, "default": false }))
            .collect();
    }
    f
}

/// The organization fields: `tier`, the dropdown every organization's `organization_fields` has.
pub fn organization_fields(base: &str) -> Vec<Value> {
    vec![field_json(
        base,
        "organization_fields",
        370_000_001,
        "tier",
        "Tier",
        "dropdown",
        &["gold", "silver", "bronze"],
    )]
}

/// The user fields: none are defined, so users carry an empty `user_fields`.
pub fn user_fields(_base: &str) -> Vec<Value> {
    Vec::new()
}

/// The ticket fields: Zendesk's system fields, which every account lists (tickets carry no custom
/// field values).
pub fn ticket_fields(base: &str) -> Vec<Value> {
    let at = timestamp(configured_at());
    let system = [
        (380_000_001u64, "subject", "Subject", true),
        (380_000_002, "description", "Description", true),
        (380_000_003, "status", "Status", true),
        (380_000_004, "tickettype", "Type", false),
        (380_000_005, "priority", "Priority", false),
        (380_000_006, "group", "Group", false),
        (380_000_007, "assignee", "Assignee", true),
    ];
    system
        .iter()
        .enumerate()
        .map(|(i, &(id, field_type, title, required))| {
            json!({
                "url": format!("{base}/api/v2/ticket_fields/{id}.json"),
                "id": id,
                "type": field_type,
                "title": title,
                "raw_title": title,
                "description": "",
                "raw_description": "",
                "position": i + 1,
                "active": true,
                "required": false,
                "collapsed_for_agents": false,
                "regexp_for_validation": null,
                "title_in_portal": title,
                "raw_title_in_portal": title,
                "visible_in_portal": true,
                "editable_in_portal": required,
                "required_in_portal": required,
                "tag": null,
                "created_at": at,
                "updated_at": at,
                "removable": false,
                "key": null,
                "agent_description": null,
            })
        })
        .collect()
}

/// The one ticket form every account has.
pub fn ticket_forms(base: &str) -> Vec<Value> {
    let at = timestamp(configured_at());
    let ids: Vec<u64> = ticket_fields(base).iter().filter_map(|f| f["id"].as_u64()).collect();
    vec![json!({
        "url": format!("{base}/api/v2/ticket_forms/390000001.json"),
        "id": 390_000_001u64,
        "name": "Default Ticket Form",
        "raw_name": "Default Ticket Form",
        "display_name": "Default Ticket Form",
        "raw_display_name": "Default Ticket Form",
        "end_user_visible": true,
        "position": 0,
        "ticket_field_ids": ids,
        "active": true,
        "default": true,
        "created_at": at,
        "updated_at": at,
        "in_all_brands": true,
        "restricted_brand_ids": [],
        "end_user_conditions": [],
        "agent_conditions": [],
    })]
}

/// The account's shared macros.
pub fn macros(base: &str) -> Vec<Value> {
    let at = timestamp(configured_at());
    [(400_000_001u64, "Close and thank", "solved"), (400_000_002, "Ask for details", "pending")]
        .iter()
        .enumerate()
        .map(|(i, &(id, title, status))| {
            json!({
                "url": format!("{base}/api/v2/macros/{id}.json"),
                "id": id,
                "title": title,
                "raw_title": title,
                "active": true,
                "description": null,
                "position": i + 1,
                "restriction": null,
                "default": false,
                "actions": [{ "field": "status", "value": status }],
                "created_at": at,
                "updated_at": at,
            })
        })
        .collect()
}

/// The account's SLA policy: first reply within 8 business hours for urgent and high tickets.
pub fn sla_policies(base: &str) -> Vec<Value> {
    let at = timestamp(configured_at());
    let target = |priority: &str| json!({ "priority": priority, "metric": "first_reply_time", "target": 480, "business_hours": true });
    vec![json!({
        "url": format!("{base}/api/v2/slas/policies/410000001.json"),
        "id": 410_000_001u64,
        "title": "Urgent and high first reply",
        "description": "",
        "position": 1,
        "filter": { "all": [], "any": [
            { "field": "priority", "operator": "is", "value": "urgent" },
            { "field": "priority", "operator": "is", "value": "high" },
        ] },
        "policy_metrics": [target("urgent"), target("high")],
        "created_at": at,
        "updated_at": at,
    })]
}

/// A ticket's metric events: its agent work time and requester wait time start when it is
/// created, as Zendesk's `incremental/ticket_metric_events` reports them.
pub fn ticket_metric_events(ticket: &Ticket) -> [Value; 2] {
    let at = timestamp(ticket.created_at);
    let event = |n: u64, metric: &str| json!({ "id": ticket.id * 10 + n, "ticket_id": ticket.id, "metric": metric, "instance_id": 1, "type": "activate", "time": at });
    [event(1, "agent_work_time"), event(2, "requester_wait_time")]
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
