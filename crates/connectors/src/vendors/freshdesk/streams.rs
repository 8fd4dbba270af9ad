//! Freshdesk streams as data. Every list is a bare JSON array paged by the `Link` header.
//! Companies are listed whole on every pass (Freshdesk has no change filter for them). Contacts
//! and tickets are listed by `_updated_since` / `updated_since` (ISO-8601, whole seconds, an
//! overlap of one second), and tickets in `updated_at` order; a full pass of tickets asks for
//! everything updated since 1970, since the ticket list without `updated_since` stops at 30 days.
//! Soft-deleted contacts and tickets are read from their deletion lists (`state=deleted`,
//! `filter=deleted`) at the start of every incremental pass, from where the last read ended.

use std::sync::Arc;

use accord_core::ObjectKind;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::http::{DeletionFeed, Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// The start of "everything": what a full pass sends as its `updated_since`.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Freshdesk's timestamp form: `2024-01-31T09:15:00Z`.
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `updated_since` for a pass: the incremental start in whole seconds, or the epoch.
fn since_text(since: Option<&Value>) -> String {
    since.and_then(accord_core::time::parse_timestamp).map_or_else(|| EPOCH.to_owned(), iso)
}

/// How long Freshdesk keeps soft-deleted contacts and tickets listable (they can be restored,
/// or purged by an agent, from the trash): an older deletion start falls back to a full pass.
const DELETION_WINDOW_DAYS: i64 = 30;

fn deletion_feed(
    list: &'static str,
    filter: (&'static str, &'static str),
    since: &'static str,
    per_page: u32,
) -> DeletionFeed {
    DeletionFeed {
        request: Arc::new(move |from: DateTime<Utc>, _end: DateTime<Utc>| {
            RequestSpec::get(list)
                .param(filter.0, filter.1)
                .param(since, iso(from))
                .param("per_page", per_page.to_string())
        }),
        list: accord_core::FieldPath::root(),
        id: path("id"),
        next_start: None,
        earliest: None,
        gap_errors: vec![],
        window: chrono::Duration::days(DELETION_WINDOW_DAYS),
        min_span: chrono::Duration::zero(),
    }
}

/// The streams, in reading order; `account_id_field` names the company custom field.
pub fn streams(account_id_field: &str, per_page: u32, reconcile_every: Option<chrono::Duration>) -> Vec<StreamDef> {
    let account_id = format!("custom_fields.{account_id_field}");
    vec![
        StreamDef {
            object: object(
                "companies",
                ObjectKind::Organization,
                rules(json!([{"rule": "field", "field": account_id}])),
                mapping(&[("name", "name"), ("domain", "domains[0]")]),
            ),
            first_request: Arc::new(move |_| {
                RequestSpec::get("/api/v2/companies").param("per_page", per_page.to_string())
            }),
            records: accord_core::FieldPath::root(),
            paginator: Paginator::LinkHeader,
            cursor_field: None,
            overlap_seconds: 0,
            deleted_when: None,
            deletions: None,
            // The list holds every company; only a due reconciling pass is marked as one, since
            // pages by number shift when a company is deleted during a pass.
            authoritative: true,
            total: None,
            reconcile_every,
        },
        StreamDef {
            object: object(
                "contacts",
                ObjectKind::Contact,
                rules(json!([
                    {"rule": "parent", "field": "company_id", "object": "companies"},
                    {"rule": "email", "field": "email"}
                ])),
                mapping(&[("email", "email"), ("first_name", "name"), ("title", "job_title")]),
            ),
            first_request: Arc::new(move |since: Option<&Value>| {
                let list = RequestSpec::get("/api/v2/contacts").param("per_page", per_page.to_string());
                match since {
                    Some(_) => list.param("_updated_since", since_text(since)),
                    None => list,
                }
            }),
            records: accord_core::FieldPath::root(),
            paginator: Paginator::LinkHeader,
            cursor_field: Some(path("updated_at")),
            overlap_seconds: 1,
            deleted_when: Some((path("deleted"), json!(true))),
            deletions: Some(deletion_feed("/api/v2/contacts", ("state", "deleted"), "_updated_since", per_page)),
            // The list (no `_updated_since`) holds every contact that is not deleted.
            authoritative: true,
            total: None,
            reconcile_every: None,
        },
        StreamDef {
            object: object(
                "tickets",
                ObjectKind::Ticket,
                rules(json!([
                    {"rule": "parent", "field": "company_id", "object": "companies"},
                    {"rule": "parent", "field": "requester_id", "object": "contacts"}
                ])),
                mapping(&[
                    ("subject", "subject"),
                    ("status", "status"),
                    ("priority", "priority"),
                    ("created_at", "created_at"),
                    ("updated_at", "updated_at"),
                ]),
            ),
            first_request: Arc::new(move |since: Option<&Value>| {
                RequestSpec::get("/api/v2/tickets")
                    .param("updated_since", since_text(since))
                    .param("order_by", "updated_at")
                    .param("order_type", "asc")
                    .param("per_page", per_page.to_string())
            }),
            records: accord_core::FieldPath::root(),
            paginator: Paginator::LinkHeader,
            cursor_field: Some(path("updated_at")),
            overlap_seconds: 1,
            deleted_when: Some((path("deleted"), json!(true))),
            deletions: Some(deletion_feed("/api/v2/tickets", ("filter", "deleted"), "updated_since", per_page)),
            // With `updated_since` at 1970, the list holds every ticket that is not deleted.
            authoritative: true,
            total: None,
            reconcile_every: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ticket_pass_sends_updated_since_and_contacts_only_when_incremental() {
        let s = streams("account_id", 100, None);
        let tickets = (s[2].first_request)(None);
        assert!(tickets.query.contains(&("updated_since".into(), EPOCH.into())), "{tickets:?}");
        let since = json!("2024-03-01T10:00:00.000Z");
        let tickets = (s[2].first_request)(Some(&since));
        assert!(tickets.query.contains(&("updated_since".into(), "2024-03-01T10:00:00Z".into())), "{tickets:?}");
        assert!(!(s[1].first_request)(None).query.iter().any(|(k, _)| k == "_updated_since"));
        let contacts = (s[1].first_request)(Some(&since));
        assert!(contacts.query.contains(&("_updated_since".into(), "2024-03-01T10:00:00Z".into())));
        let feed = s[2].deletions.as_ref().unwrap();
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let deleted = (feed.request)(t, t);
        assert!(deleted.query.contains(&("filter".into(), "deleted".into())), "{deleted:?}");
        let gone = (s[1].deletions.as_ref().unwrap().request)(t, t);
        assert!(gone.query.contains(&("state".into(), "deleted".into())), "{gone:?}");
        assert_eq!(s[0].object.link[0].field().as_str(), "custom_fields.account_id");
    }
}
