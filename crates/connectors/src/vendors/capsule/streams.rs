//! Capsule streams as data: organisations and people, both read from the party list
//! (`embed=fields` for the custom fields), paged by the `Link` header, incremental on `since`
//! (ISO-8601) with `updatedAt` as the cursor and a second of overlap, and the deleted parties
//! read from `/api/v2/parties/deleted?since=` at the start of every incremental pass. A list
//! without `since` holds every party: the first pass reconciles.

use std::sync::Arc;

use accord_core::{FieldPath, ObjectKind};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::ObjectSpec;
use crate::http::{DeletionFeed, Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// The party `type` an object keeps.
pub fn party_type(object: &str) -> Option<&'static str> {
    match object {
        "organisations" => Some("organisation"),
        "people" => Some("person"),
        _ => None,
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How long Capsule lists deleted parties (not documented; taken as 30 days): an older start
/// falls back to a full pass.
const DELETION_WINDOW_DAYS: i64 = 30;

fn parties(object: ObjectSpec, per_page: u32) -> StreamDef {
    StreamDef {
        object,
        first_request: Arc::new(move |since: Option<&Value>| {
            let list =
                RequestSpec::get("/api/v2/parties").param("perPage", per_page.to_string()).param("embed", "fields");
            match since.and_then(accord_core::time::parse_timestamp) {
                Some(t) => list.param("since", iso(t)),
                None => list,
            }
        }),
        records: path("parties"),
        paginator: Paginator::LinkHeader,
        cursor_field: Some(path("updatedAt")),
        overlap_seconds: 1,
        deleted_when: None,
        deletions: Some(DeletionFeed {
            request: Arc::new(move |from: DateTime<Utc>, _end: DateTime<Utc>| {
                RequestSpec::get("/api/v2/parties/deleted")
                    .param("since", iso(from))
                    .param("perPage", per_page.to_string())
            }),
            list: path("parties"),
            id: path("id"),
            next_start: None,
            earliest: None,
            gap_errors: vec![],
            window: chrono::Duration::days(DELETION_WINDOW_DAYS),
            min_span: chrono::Duration::zero(),
        }),
        authoritative: true,
        total: None,
        reconcile_every: None,
    }
}

/// `accord propagate` writes the account id into an organisation's custom field, the one the
/// settings name: `PUT /api/v2/parties/{id}?embed=fields` with the value under the field's
/// definition id (a new field value carries no id of its own), which Capsule's field definitions
/// give: read once, by name, before the first write. The answer is the party with its fields,
/// read back by the definition's name; `GET` of the party reads the value now.
pub fn organisation_field(account_id_field: &str) -> crate::http::WriteDef {
    let definition = Arc::new(std::sync::OnceLock::<String>::new());
    let known = definition.clone();
    crate::http::WriteDef {
        object: "organisations".into(),
        field: path(&format!("fields[definition.name={account_id_field}].value")),
        read: Box::new(|id| RequestSpec::get(format!("/api/v2/parties/{id}")).param("embed", "fields")),
        read_value: path(&format!("party.fields[definition.name={account_id_field}].value")),
        write: Box::new(move |id, value| {
            // The connector reads the definition before the first write.
            let id_json = known.get().map_or(Value::Null, |d| d.parse::<u64>().map_or_else(|_| json!(d), |n| json!(n)));
            RequestSpec::with_body(
                "PUT",
                format!("/api/v2/parties/{id}"),
                json!({"party": {"fields": [{"definition": {"id": id_json}, "value": value}]}}),
            )
            .param("embed", "fields")
        }),
        create: None,
        lookup: Some(crate::http::Lookup {
            request: RequestSpec::get("/api/v2/parties/fields/definitions").param("perPage", "100"),
            value: path(&format!("definitions[name={account_id_field}].id")),
            missing: format!(
                "Capsule has no party custom field named {account_id_field:?} (account_id_field): create it in Capsule's settings, or name the one that holds the account id"
            ),
            into: definition,
        }),
        confirm: crate::http::Confirm::Answer,
    }
}

/// The streams, in reading order; `account_id_field` names the custom field's definition.
pub fn streams(account_id_field: &str, per_page: u32) -> Vec<StreamDef> {
    let field = format!("fields[definition.name={account_id_field}].value");
    // Checked by the caller: the name holds no `]` or `=`.
    debug_assert!(FieldPath::parse(&field).is_ok());
    vec![
        parties(
            object(
                "organisations",
                ObjectKind::Organization,
                rules(json!([
                    {"rule": "field", "field": field},
                    {"rule": "domain", "field": "websites[service=URL].address"}
                ])),
                mapping(&[("name", "name"), ("website", "websites[service=URL].address")]),
            ),
            per_page,
        ),
        parties(
            object(
                "people",
                ObjectKind::Contact,
                rules(json!([{"rule": "parent", "field": "organisation.id", "object": "organisations"}])),
                mapping(&[
                    ("email", "emailAddresses[0].address"),
                    ("first_name", "firstName"),
                    ("last_name", "lastName"),
                    ("title", "jobTitle"),
                ]),
            ),
            per_page,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_custom_field_is_found_by_its_definitions_name() {
        let s = streams("Account ID", 100);
        let org = json!({
            "type": "organisation",
            "fields": [{"id": 1, "value": "100042", "definition": {"id": 9, "name": "Account ID"}}],
            "websites": [{"service": "TWITTER", "address": "acme"}, {"service": "URL", "address": "www.acme.io/"}]
        });
        assert_eq!(s[0].object.link[0].field().get(&org), Some(&json!("100042")));
        assert_eq!(s[0].object.link[1].field().get(&org), Some(&json!("www.acme.io/")));
        let first = (s[1].first_request)(None);
        assert!(!first.query.iter().any(|(k, _)| k == "since"));
        let next = (s[1].first_request)(Some(&json!("2024-05-01T12:00:00.000Z")));
        assert!(next.query.contains(&("since".into(), "2024-05-01T12:00:00Z".into())), "{next:?}");
        assert_eq!(party_type("people"), Some("person"));
    }
}
