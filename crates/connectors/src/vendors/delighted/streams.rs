//! Delighted streams as data: survey responses, with `expand[]=person` so each carries its
//! person's email. A full pass lists in creation order (`order=asc`), which changes to answers do
//! not reorder; an incremental pass asks for `updated_since` the high-water mark (minus a second),
//! in `asc:updated_at` order. Both page by `page` until an empty page: Delighted reports no total
//! and no next link.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// The streams, in reading order.
pub fn streams(per_page: u32, reconcile_every: Option<chrono::Duration>) -> Vec<StreamDef> {
    let first = move |since: Option<&Value>| {
        let list = RequestSpec::get("/v1/survey_responses.json")
            .param("per_page", per_page.to_string())
            .param("expand[]", "person");
        match since.and_then(accord_core::time::parse_timestamp) {
            None => list.param("order", "asc"),
            Some(t) => list.param("updated_since", t.timestamp().max(0).to_string()).param("order", "asc:updated_at"),
        }
    };
    vec![StreamDef {
        object: object(
            "survey_responses",
            ObjectKind::NpsResponse,
            rules(json!([{"rule": "email", "field": "person.email"}])),
            mapping(&[
                ("score", "score"),
                ("comment", "comment"),
                ("email", "person.email"),
                ("responded_at", "created_at"),
            ]),
        ),
        first_request: Arc::new(first),
        // Delighted answers a bare array, which the runtime takes as the records; the path
        // only names them.
        records: path("survey_responses"),
        paginator: Paginator::UntilEmpty { param: "page".into(), first: 1 },
        cursor_field: Some(path("updated_at")),
        // `updated_since` counts whole seconds: a one-second overlap never misses an answer
        // changed in the mark's second, and upserts absorb the repeats.
        overlap_seconds: 1,
        deleted_when: None,
        deletions: None,
        // A pass without `updated_since` lists every answer the account still has.
        authoritative: true,
        total: None,
        reconcile_every,
    }]
}
