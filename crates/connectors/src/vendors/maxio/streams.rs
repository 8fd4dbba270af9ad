//! Maxio streams as data. Every list is paged by `page` (from 1) and `per_page` (at most 200),
//! and ends with the first empty page: Maxio's lists report no total and no next link. Lists are
//! read in creation order (`direction=asc`, and `sort=created_at` where the endpoint sorts by
//! other fields too), so a record changed during a pass keeps its page and new records join the
//! end. An incremental pass adds `date_field=updated_at&start_datetime=` (the three endpoints
//! spell the filter the same way; invoices accept `start_datetime` only with `date_field`
//! `created_at` or `updated_at`), in UTC with the zone named, since Maxio reads a time without a
//! zone in the site's zone.
//!
//! Customers and subscriptions come wrapped (`[{"customer": {...}}]`); the runtime reads their
//! ids and update times inside the wrapper and `mod.rs` unwraps each record, so the object specs
//! below (link rules, fields) read the record itself. Invoices (Relationship Invoicing) come as
//! `{"invoices": [...]}`, keyed by `uid`.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::ObjectSpec;
use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// `start_datetime` text for a cursor value (ISO-8601 text): `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn start_datetime(since: &Value) -> Option<String> {
    let t = accord_core::time::parse_timestamp(since)?;
    Some(t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// The wrapper key of each record in a list's answer (`None`: the records are not wrapped).
pub(crate) fn wrapper(object: &str) -> Option<&'static str> {
    match object {
        "customers" => Some("customer"),
        "subscriptions" => Some("subscription"),
        _ => None,
    }
}

fn stream(
    spec: ObjectSpec,
    list: RequestSpec,
    records: &str,
    per_page: u32,
    reconcile_every: Option<chrono::Duration>,
) -> StreamDef {
    // The runtime reads update times in the answer as it comes (wrapped or not); `mod.rs`
    // moves the id path inside the wrapper once the user's overrides are applied.
    let cursor = match wrapper(&spec.name) {
        Some(w) => path(&format!("{w}.updated_at")),
        None => path("updated_at"),
    };
    StreamDef {
        object: spec,
        first_request: Arc::new(move |since: Option<&Value>| {
            let r = list.clone().param("per_page", per_page.to_string());
            match since.and_then(start_datetime) {
                None => r,
                Some(at) => r.param("date_field", "updated_at").param("start_datetime", at),
            }
        }),
        records: path(records),
        paginator: Paginator::UntilEmpty { param: "page".into(), first: 1 },
        cursor_field: Some(cursor),
        // `mod.rs` starts the next pass at the server time this one started, less a margin.
        overlap_seconds: 0,
        deleted_when: None,
        deletions: None,
        // A list without the date filter holds every record the site still has.
        authoritative: true,
        total: None,
        reconcile_every,
    }
}

/// The object specs as the engine sees them (records unwrapped): customers by `reference` (our
/// account id), then by email; subscriptions and invoices through their customer.
pub fn objects() -> Vec<ObjectSpec> {
    let customers = object(
        "customers",
        ObjectKind::Organization,
        rules(json!([
            {"rule": "field", "field": "reference"},
            {"rule": "email", "field": "email"}
        ])),
        mapping(&[("name", "accord.name"), ("email", "email")]),
    );
    let subscriptions = object(
        "subscriptions",
        ObjectKind::Subscription,
        rules(json!([{"rule": "parent", "field": "customer.id", "object": "customers"}])),
        mapping(&[
            ("plan_code", "product.handle"),
            ("status", "state"),
            ("currency", "currency"),
            ("start_date", "created_at"),
            ("end_date", "accord.end_date"),
            ("billing_interval", "accord.billing_interval"),
            ("interval_count", "accord.interval_count"),
            ("quantity", "accord.quantity"),
            ("unit_amount", "product_price_in_cents"),
            ("discount_percent_bp", "accord.discount_percent_bp"),
            ("discount_amount", "accord.discount_amount"),
            ("discount_duration", "accord.discount_duration"),
            ("discount_end", "accord.discount_end"),
            ("trial_start", "trial_started_at"),
            ("trial_end", "trial_ended_at"),
            ("current_period_start", "current_period_started_at"),
            ("current_period_end", "current_period_ends_at"),
            ("cancel_at_period_end", "cancel_at_end_of_period"),
            ("canceled_at", "canceled_at"),
        ]),
    );
    let mut invoices = object(
        "invoices",
        ObjectKind::Invoice,
        rules(json!([{"rule": "parent", "field": "customer_id", "object": "customers"}])),
        mapping(&[
            ("amount", "accord.amount"),
            ("currency", "currency"),
            ("issued_at", "issue_date"),
            ("due_at", "due_date"),
            ("paid_at", "paid_date"),
            ("is_failed", "accord.failed"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "status"),
            ("subscription_id", "accord.subscription"),
            ("period_start", "accord.period_start"),
            ("period_end", "accord.period_end"),
            ("tax", "accord.tax"),
            ("line_count", "accord.line_count"),
            ("billed_from", "accord.billed_from"),
            ("billed_unit_amount", "accord.billed_unit_amount"),
            ("billed_quantity", "accord.billed_quantity"),
        ]),
    );
    invoices.native_id = Some(path("uid"));
    vec![customers, subscriptions, invoices]
}

/// The streams, in reading order, for `objects` (the specs above with the user's overrides).
pub fn streams(objects: &[ObjectSpec], per_page: u32, reconcile_every: Option<chrono::Duration>) -> Vec<StreamDef> {
    objects
        .iter()
        .map(|spec| {
            let (list, records) = match spec.name.as_str() {
                "customers" => (RequestSpec::get("/customers.json").param("direction", "asc"), "customers"),
                "subscriptions" => (
                    RequestSpec::get("/subscriptions.json").param("sort", "created_at").param("direction", "asc"),
                    "subscriptions",
                ),
                _ => (
                    RequestSpec::get("/invoices.json")
                        .param("sort", "created_at")
                        .param("direction", "asc")
                        .param("line_items", "true")
                        .param("discounts", "true")
                        .param("taxes", "true"),
                    "invoices",
                ),
            };
            stream(spec.clone(), list, records, per_page, reconcile_every)
        })
        .collect()
}

/// `accord propagate` writes the account id into a customer's `reference`
/// (`PUT /customers/{id}.json` with `{"customer": {"reference": ...}}`), the answer the customer,
/// read back; `GET` of the customer reads the value now. Maxio keeps references unique: a value
/// another customer holds is refused, and reported as the failure it is.
pub fn customer_reference() -> crate::http::WriteDef {
    crate::http::WriteDef {
        object: "customers".into(),
        field: path("reference"),
        read: Box::new(|id| RequestSpec::get(format!("/customers/{id}.json"))),
        read_value: path("customer.reference"),
        write: Box::new(|id, value| {
            RequestSpec::with_body("PUT", format!("/customers/{id}.json"), json!({"customer": {"reference": value}}))
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    }
}
