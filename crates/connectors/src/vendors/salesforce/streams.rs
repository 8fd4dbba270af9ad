//! Salesforce streams as data: Account (the System of Record), Contact and Case, read with SOQL
//! ordered by `SystemModstamp`, paged through `nextRecordsUrl` until `done`, checked against
//! `totalSize`; deletions from `getDeleted`, read from its last `latestDateCovered`.

use std::sync::Arc;

use accord_core::ObjectKind;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Settings;
use crate::ObjectSpec;
use crate::http::{DeletionFeed, Paginator, RequestSpec, StreamDef, Total};
use crate::vendors::common::{mapping, path, rules};

fn soql_stream(
    settings: &Settings,
    object: &'static str,
    kind: ObjectKind,
    fields: Vec<String>,
    extra_where: Option<String>,
    link: Vec<accord_core::LinkRule>,
    field_mapping: accord_core::FieldMapping,
) -> StreamDef {
    let version = settings.api_version.clone();
    let select = fields.join(", ");
    let extra_where_is_none = extra_where.is_none();
    let first = move |since: Option<&Value>| {
        let mut conditions = Vec::new();
        if let Some(since) = since.and_then(accord_core::time::parse_timestamp) {
            // A SOQL datetime literal, unquoted; whole seconds (the boundary second is re-read).
            conditions.push(format!("SystemModstamp >= {}", since.format("%Y-%m-%dT%H:%M:%SZ")));
        }
        if let Some(w) = &extra_where {
            conditions.push(format!("({w})"));
        }
        let where_clause =
            if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let q = format!("SELECT {select} FROM {object}{where_clause} ORDER BY SystemModstamp ASC");
        RequestSpec::get(format!("/services/data/v{version}/query")).param("q", q)
    };
    let version = settings.api_version.clone();
    let deleted = move |start: DateTime<Utc>, end: DateTime<Utc>| {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        RequestSpec::get(format!("/services/data/v{version}/sobjects/{object}/deleted/"))
            .param("start", at(start))
            .param("end", at(end))
    };
    StreamDef {
        object: ObjectSpec {
            name: object.to_owned(),
            kind,
            native_id: Some(path("Id")),
            link,
            normalize: vec![],
            fields: field_mapping,
        },
        first_request: Arc::new(first),
        records: path("records"),
        paginator: Paginator::NextUrl { field: path("nextRecordsUrl"), done: Some(path("done")) },
        cursor_field: Some(path("SystemModstamp")),
        overlap_seconds: 0,
        deleted_when: None,
        deletions: Some(DeletionFeed {
            request: Arc::new(deleted),
            list: path("deletedRecords"),
            id: path("id"),
            next_start: Some(path("latestDateCovered")),
            earliest: Some(path("earliestDateAvailable")),
            // Asked from before the log's start (or after a purge), getDeleted refuses: "do a
            // full pull of the table", which the reconciling pass is.
            gap_errors: vec!["INVALID_REPLICATION_DATE"],
            // "Results are returned for no more than 15 days previous to the day the call is
            // executed": a cursor older than that may have missed deletions. A day less, since
            // the log counts from the day (not the instant) of the call; the answer's
            // `earliestDateAvailable` is checked as well.
            window: chrono::Duration::days(14),
            // "The specified startDate must chronologically precede the specified endDate value
            // by more than one minute."
            min_span: chrono::Duration::minutes(1),
        }),
        // `query` (never `queryAll`) leaves deleted records out: a pass without `since` is the
        // org's whole list, unless the System of Record filter is pushed into the WHERE (then
        // an account leaving the filter is not a deletion).
        authoritative: extra_where_is_none,
        total: Some(Total::Pass(path("totalSize"))),
        reconcile_every: None,
    }
}

/// The streams, in reading order.
pub fn streams(settings: &Settings, sor_where: Option<String>) -> Vec<StreamDef> {
    let account_fields: Vec<String> = ["Id", "Name", "Type", "Website", "CreatedDate", "SystemModstamp"]
        .into_iter()
        .map(str::to_owned)
        .chain([settings.account_id_field.clone()])
        .chain(settings.extra_account_fields.iter().cloned())
        .collect();
    vec![
        soql_stream(
            settings,
            "Account",
            ObjectKind::Account,
            account_fields,
            sor_where,
            vec![],
            mapping(&[
                ("name", "Name"),
                ("join_date", "CreatedDate"),
                ("website", "Website"),
                ("crm_account_id", "Id"),
            ]),
        ),
        soql_stream(
            settings,
            "Contact",
            ObjectKind::Contact,
            ["Id", "AccountId", "Email", "FirstName", "LastName", "CreatedDate", "SystemModstamp"]
                .map(str::to_owned)
                .to_vec(),
            None,
            rules(json!([
                {"rule": "native_id", "field": "AccountId", "map": "crm_account_id"},
                {"rule": "email", "field": "Email"}
            ])),
            mapping(&[("email", "Email"), ("first_name", "FirstName"), ("last_name", "LastName")]),
        ),
        soql_stream(
            settings,
            "Case",
            ObjectKind::Ticket,
            ["Id", "AccountId", "ContactId", "Subject", "Status", "Priority", "CreatedDate", "SystemModstamp"]
                .map(str::to_owned)
                .to_vec(),
            None,
            rules(json!([
                {"rule": "native_id", "field": "AccountId", "map": "crm_account_id"},
                {"rule": "parent", "field": "ContactId", "object": "Contact"}
            ])),
            mapping(&[
                ("subject", "Subject"),
                ("status", "Status"),
                ("priority", "Priority"),
                ("created_at", "CreatedDate"),
                ("updated_at", "SystemModstamp"),
            ]),
        ),
    ]
}
