//! Intercom streams as data: companies (listed by page number, until `pages.total_pages`),
//! contacts and conversations (listed, or searched by `updated_at` once there is a high-water
//! mark). Search matches whole days, so the next pass starts a day before the mark and upserts
//! absorb the repeats. Every list and search reports `total_count`, which each pass must match.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::ObjectSpec;
use crate::http::{Paginator, RequestSpec, StreamDef, Total};
use crate::vendors::common::{mapping, object, path, rules};

fn listed(
    per_page: u32,
    reconcile_every: Option<chrono::Duration>,
    object: ObjectSpec,
    list: &'static str,
    search: &'static str,
    records: &'static str,
) -> StreamDef {
    let first = move |since: Option<&Value>| match since.and_then(Value::as_i64) {
        None => RequestSpec::get(list).param("per_page", per_page.to_string()),
        Some(t) => RequestSpec::post(
            search,
            json!({
                "query": {"field": "updated_at", "operator": ">", "value": t},
                "pagination": {"per_page": per_page}
            }),
        ),
    };
    StreamDef {
        object,
        first_request: Arc::new(first),
        records: path(records),
        paginator: Paginator::StartingAfter { field: path("pages.next.starting_after") },
        cursor_field: Some(path("updated_at")),
        overlap_seconds: 86_400,
        deleted_when: None,
        deletions: None,
        // The list (a pass without `since`) holds every contact or conversation.
        authoritative: true,
        total: Some(Total::Pass(path("total_count"))),
        reconcile_every,
    }
}

/// The streams, in reading order.
pub fn streams(per_page: u32, reconcile_every: Option<chrono::Duration>) -> Vec<StreamDef> {
    vec![
        // Companies are listed by page number: a retried page is the same page. (A scroll is
        // stateful: a page lost to a failed response would be skipped.) The spec sets no maximum
        // page size, and a server may serve fewer than asked: only `pages` says where the end is.
        StreamDef {
            object: object(
                "companies",
                ObjectKind::Organization,
                rules(json!([{"rule": "field", "field": "company_id"}])),
                mapping(&[("name", "name"), ("website", "website")]),
            ),
            first_request: Arc::new(move |_| {
                RequestSpec::get("/companies").param("per_page", per_page.to_string()).param("page", "1")
            }),
            records: path("data"),
            paginator: Paginator::PageNumber {
                param: "page".into(),
                first: 1,
                next: path("pages.next"),
                page: path("pages.page"),
                total_pages: path("pages.total_pages"),
            },
            cursor_field: None,
            overlap_seconds: 0,
            deleted_when: None,
            deletions: None,
            // Every pass reads the whole list; only a due reconciling pass marks it as such,
            // since page-number lists shift when companies change during a pass.
            authoritative: true,
            total: Some(Total::Pass(path("total_count"))),
            reconcile_every,
        },
        listed(
            per_page,
            reconcile_every,
            object(
                "contacts",
                ObjectKind::Contact,
                rules(json!([
                    {"rule": "field", "field": "custom_attributes.account_id"},
                    {"rule": "parent", "field": "companies.data[0].id", "object": "companies"},
                    {"rule": "email", "field": "email"}
                ])),
                mapping(&[("email", "email"), ("first_name", "name"), ("title", "role")]),
            ),
            "/contacts",
            "/contacts/search",
            "data",
        ),
        listed(
            per_page,
            reconcile_every,
            object(
                "conversations",
                ObjectKind::Interaction,
                rules(json!([{"rule": "parent", "field": "contacts.contacts[0].id", "object": "contacts"}])),
                mapping(&[("subject", "title"), ("occurred_at", "created_at"), ("channel", "source.type")]),
            ),
            "/conversations",
            "/conversations/search",
            "conversations",
        ),
    ]
}

/// `accord propagate` writes the account id into a contact's `custom_attributes.account_id`
/// (`PUT /contacts/{id}`), and reads it back from `GET` of the same contact.
pub fn contact_account_id() -> crate::http::WriteDef {
    crate::http::WriteDef {
        object: "contacts".into(),
        field: path("custom_attributes.account_id"),
        read: Box::new(|id| RequestSpec::get(format!("/contacts/{id}"))),
        read_value: path("custom_attributes.account_id"),
        write: Box::new(|id, value| {
            RequestSpec::with_body(
                "PUT",
                format!("/contacts/{id}"),
                json!({"custom_attributes": {"account_id": value}}),
            )
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    }
}
