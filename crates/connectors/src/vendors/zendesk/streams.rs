//! Zendesk streams as data: organizations (time-based incremental export, each page checked
//! against its `count`), users and tickets (cursor-based incremental exports), all paged until
//! `end_of_stream`. Deleted tickets arrive with `status: "deleted"`, deleted users with
//! `active: false`. Exports leave out the last minute's changes, so no pass is an authoritative
//! full list.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::ObjectSpec;
use crate::http::{Paginator, RequestSpec, StreamDef, Total};
use crate::vendors::common::{mapping, object, path, rules};

/// `start_time` for an export: the incremental start as Unix seconds, or 0 for everything.
fn start_time(since: Option<&Value>) -> String {
    since.and_then(accord_core::time::parse_timestamp).map(|t| t.timestamp().max(0)).unwrap_or(0).to_string()
}

fn export(
    object: ObjectSpec,
    endpoint: &'static str,
    records: &'static str,
    paginator: Paginator,
    per_page: u32,
) -> StreamDef {
    let first = move |since: Option<&Value>| {
        RequestSpec::get(endpoint).param("start_time", start_time(since)).param("per_page", per_page.to_string())
    };
    StreamDef {
        object,
        first_request: Arc::new(first),
        records: path(records),
        paginator,
        cursor_field: Some(path("updated_at")),
        // Exports compare whole seconds, and the time-based one repeats items: a one-second
        // overlap never misses a change, and upserts absorb the repeats.
        overlap_seconds: 1,
        deleted_when: match endpoint {
            e if e.contains("/tickets/") => Some((path("status"), json!("deleted"))),
            e if e.contains("/users/") => Some((path("active"), json!(false))),
            _ => None,
        },
        deletions: None,
        authoritative: false,
        total: endpoint.contains("/organizations").then(|| Total::Page(path("count"))),
        reconcile_every: None,
    }
}

/// The streams, in reading order.
pub fn streams(per_page: u32) -> Vec<StreamDef> {
    vec![
        export(
            object(
                "organizations",
                ObjectKind::Organization,
                rules(json!([
                    {"rule": "field", "field": "external_id"},
                    {"rule": "domain", "field": "domain_names"}
                ])),
                mapping(&[("name", "name"), ("domain", "domain_names[0]")]),
            ),
            "/api/v2/incremental/organizations.json",
            "organizations",
            Paginator::NextUrl { field: path("next_page"), done: Some(path("end_of_stream")) },
            per_page,
        ),
        export(
            object(
                "users",
                ObjectKind::Contact,
                rules(json!([
                    {"rule": "parent", "field": "organization_id", "object": "organizations"},
                    {"rule": "email", "field": "email"}
                ])),
                mapping(&[("email", "email"), ("first_name", "name"), ("title", "role")]),
            ),
            "/api/v2/incremental/users/cursor.json",
            "users",
            Paginator::NextUrl { field: path("after_url"), done: Some(path("end_of_stream")) },
            per_page,
        ),
        export(
            object(
                "tickets",
                ObjectKind::Ticket,
                rules(json!([
                    {"rule": "parent", "field": "organization_id", "object": "organizations"},
                    {"rule": "parent", "field": "requester_id", "object": "users"}
                ])),
                mapping(&[("subject", "subject"), ("status", "status"), ("priority", "priority")]),
            ),
            "/api/v2/incremental/tickets/cursor.json",
            "tickets",
            Paginator::NextUrl { field: path("after_url"), done: Some(path("end_of_stream")) },
            per_page,
        ),
    ]
}

/// `accord propagate` writes the account id into an organization's `external_id`
/// (`PUT /api/v2/organizations/{id}.json`), and reads it back from `GET` of the same path.
pub fn organization_external_id() -> crate::http::WriteDef {
    crate::http::WriteDef {
        object: "organizations".into(),
        field: path("external_id"),
        read: Box::new(|id| RequestSpec::get(format!("/api/v2/organizations/{id}.json"))),
        read_value: path("organization.external_id"),
        write: Box::new(|id, value| {
            RequestSpec::with_body(
                "PUT",
                format!("/api/v2/organizations/{id}.json"),
                json!({"organization": {"external_id": value}}),
            )
        }),
        create: Some(crate::http::CreateDef {
            find: Box::new(|account_id| {
                RequestSpec::get("/api/v2/organizations/search.json").param("external_id", account_id)
            }),
            found: path("organizations"),
            found_id: path("id"),
            create: Box::new(|a| {
                let mut org = json!({"name": a.name, "external_id": a.account_id});
                if let Some(domain) = &a.domain {
                    org["domain_names"] = json!([domain]);
                }
                RequestSpec::post("/api/v2/organizations.json", json!({ "organization": org }))
            }),
            created_id: path("organization.id"),
        }),
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    }
}
