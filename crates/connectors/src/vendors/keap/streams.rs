//! Keap streams as data: companies (the whole list on every pass, in id order) and contacts
//! (incremental on `start_update_time`, in `update_time` order), both paged by `page_token`.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

fn paginator() -> Paginator {
    Paginator::NextToken { field: path("next_page_token"), param: "page_token".into(), last: None }
}

/// The streams, in reading order.
pub fn streams(
    page_size: u32,
    reconcile_every: Option<chrono::Duration>,
    company_field: &str,
    contact_field: &str,
) -> Vec<StreamDef> {
    let companies = StreamDef {
        object: object(
            "companies",
            ObjectKind::Organization,
            // The guide's warning: several contacts can match one company. A company without its
            // CompanyID takes the account its contacts' ContactIDs agree on; when they disagree it
            // is ambiguous, with the candidates.
            rules(json!([
                {"rule": "field", "field": format!("custom_fields[id={company_field}].content")},
                {"rule": "children", "field": "id", "object": "contacts"}
            ])),
            mapping(&[("name", "company_name"), ("website", "website")]),
        ),
        first_request: Arc::new(move |_| {
            RequestSpec::get("/rest/v2/companies")
                .param("page_size", page_size.to_string())
                .param("order_by", "id asc")
                // custom fields and times come only when asked for.
                .param("fields", "company_name,website,custom_fields,create_time,update_time")
        }),
        records: path("companies"),
        paginator: paginator(),
        // No incremental start: every pass is the whole list, and reconciles.
        cursor_field: None,
        overlap_seconds: 0,
        deleted_when: None,
        deletions: None,
        authoritative: true,
        total: None,
        reconcile_every: Some(chrono::Duration::zero()),
    };
    let contacts = StreamDef {
        object: object(
            "contacts",
            ObjectKind::Contact,
            rules(json!([
                {"rule": "field", "field": format!("custom_fields[id={contact_field}].content")},
                {"rule": "parent", "field": "company.id", "object": "companies"}
            ])),
            mapping(&[
                ("email", "email_addresses[0].email"),
                ("first_name", "given_name"),
                ("last_name", "family_name"),
                ("organization_id", "company.id"),
            ]),
        ),
        first_request: Arc::new(move |since: Option<&Value>| {
            let mut r = RequestSpec::get("/rest/v2/contacts")
                .param("page_size", page_size.to_string())
                .param("order_by", "update_time asc")
                .param(
                    "fields",
                    "given_name,family_name,email_addresses,company,custom_fields,create_time,update_time",
                );
            if let Some(t) = since.and_then(accord_core::time::parse_timestamp) {
                // Milliseconds and a zone, as the filter wants them.
                let at = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                r = r.param("filter", format!("start_update_time=={at}"));
            }
            r
        }),
        records: path("contacts"),
        paginator: paginator(),
        cursor_field: Some(path("update_time")),
        overlap_seconds: 1,
        deleted_when: None,
        deletions: None,
        authoritative: true,
        total: None,
        reconcile_every,
    };
    vec![companies, contacts]
}

/// `accord propagate` writes the account id into a company's CompanyID custom field
/// (`PATCH /rest/v2/companies/{id}`), and reads it back from `GET` of the same company.
pub fn company_id_field(company_field: &str) -> crate::http::WriteDef {
    let field = company_field.to_owned();
    crate::http::WriteDef {
        object: "companies".into(),
        field: path(&format!("custom_fields[id={company_field}].content")),
        read: Box::new(|id| RequestSpec::get(format!("/rest/v2/companies/{id}")).param("fields", "custom_fields")),
        read_value: path(&format!("custom_fields[id={company_field}].content")),
        write: Box::new(move |id, value| {
            RequestSpec::with_body(
                "PATCH",
                format!("/rest/v2/companies/{id}"),
                json!({"custom_fields": [{"id": field, "content": value}]}),
            )
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    }
}
