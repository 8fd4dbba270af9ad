//! Chargebee streams as data: `GET /api/v2/<objects>` with `limit` (at most 100) and the opaque
//! `offset` the previous page's `next_offset` gave (no `next_offset`: the last page), sorted by
//! `updated_at` ascending, with deleted records included (`deleted: true`, which become
//! tombstones). An incremental pass adds `updated_at[after]=<unix>`; Chargebee's `after` is
//! strict, so the pass starts a second before the last mark and the records already read at the
//! mark are skipped once.
//!
//! Each list entry wraps its record under the object's name (`{"customer": {...}}`; a
//! subscription's entry also carries its `customer` and `card`). The runtime reads the id, the
//! update time and the deletion flag inside the wrapper; `mod.rs` hands the engine the record
//! itself, so link rules and field mappings name the record's own fields (`cf_account_id`).

use std::sync::Arc;

use accord_core::{IdMapRef, LinkRule, ObjectKind};
use serde_json::{Value, json};

use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// The member of each list entry that holds the record, by object.
pub(crate) fn member(object: &str) -> &'static str {
    match object {
        "customers" => "customer",
        "subscriptions" => "subscription",
        _ => "invoice",
    }
}

fn stream(spec: crate::ObjectSpec, page_size: u32) -> StreamDef {
    let list = format!("/api/v2/{}", spec.name);
    StreamDef {
        object: spec,
        first_request: Arc::new(move |since: Option<&Value>| {
            let r = RequestSpec::get(list.clone())
                .param("limit", page_size.to_string())
                .param("sort_by[asc]", "updated_at")
                .param("include_deleted", "true");
            match since.and_then(Value::as_i64) {
                None => r,
                Some(t) => r.param("updated_at[after]", t.to_string()),
            }
        }),
        records: path("list"),
        paginator: Paginator::NextToken { field: path("next_offset"), param: "offset".into(), last: None },
        // Read inside the wrapper: `mod.rs` rewrites these paths under the entry's member.
        cursor_field: Some(path("updated_at")),
        // `updated_at[after]` is strict and in whole seconds: start a second early so records
        // changed in the second of the mark are not missed (the ones read already are skipped).
        overlap_seconds: 1,
        deleted_when: Some((path("deleted"), Value::Bool(true))),
        deletions: None,
        // With `include_deleted=true` a whole list holds every record, deleted ones flagged.
        authoritative: true,
        total: None,
        reconcile_every: None,
    }
}

/// The default link rules of customers: our account id in `account_field` (a `cf_*` custom
/// field or a `meta_data.<key>`), then the customer's own id looked up in `customer_map` (an id
/// accounts carry, set from a System of Record field that holds the Chargebee customer id), when
/// there is one.
fn customer_rules(account_field: &str, customer_map: Option<&IdMapRef>) -> Vec<LinkRule> {
    let mut list = vec![json!({"rule": "field", "field": account_field})];
    if let Some(map) = customer_map {
        list.push(json!({"rule": "native_id", "field": "id", "map": map.to_string()}));
    }
    rules(Value::Array(list))
}

/// The streams, in reading order.
pub fn streams(page_size: u32, account_field: &str, customer_map: Option<&IdMapRef>) -> Vec<StreamDef> {
    let parent = || rules(json!([{"rule": "parent", "field": "customer_id", "object": "customers"}]));
    let customers = object(
        "customers",
        ObjectKind::Organization,
        customer_rules(account_field, customer_map),
        mapping(&[("name", "accord.name"), ("email", "email")]),
    );
    let subscriptions = object(
        "subscriptions",
        ObjectKind::Subscription,
        parent(),
        mapping(&[
            ("plan_code", "accord.plan_code"),
            ("status", "status"),
            ("mrr", "accord.mrr"),
            ("currency", "currency_code"),
            ("start_date", "accord.start_date"),
            ("end_date", "accord.end_date"),
            ("billing_interval", "billing_period_unit"),
            ("interval_count", "billing_period"),
            ("quantity", "accord.quantity"),
            ("unit_amount", "accord.unit_amount"),
            ("metered", "accord.metered"),
            ("discount_percent_bp", "accord.discount_percent_bp"),
            ("discount_amount", "accord.discount_amount"),
            ("discount_duration", "accord.discount_duration"),
            ("discount_end", "accord.discount_end"),
            ("trial_start", "trial_start"),
            ("trial_end", "trial_end"),
            ("current_period_start", "current_term_start"),
            ("current_period_end", "current_term_end"),
            ("cancel_at_period_end", "accord.cancel_at_period_end"),
            ("canceled_at", "accord.canceled_at"),
        ]),
    );
    let invoices = object(
        "invoices",
        ObjectKind::Invoice,
        parent(),
        mapping(&[
            ("amount", "accord.amount"),
            ("currency", "currency_code"),
            ("issued_at", "date"),
            ("due_at", "due_date"),
            ("paid_at", "paid_at"),
            ("is_failed", "accord.failed"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "status"),
            ("subscription_id", "subscription_id"),
            ("period_start", "accord.period_start"),
            ("period_end", "accord.period_end"),
            ("tax", "accord.tax"),
            ("line_count", "accord.line_count"),
            ("billed_from", "accord.billed_from"),
            ("billed_unit_amount", "accord.billed_unit_amount"),
            ("billed_quantity", "accord.billed_quantity"),
        ]),
    );
    vec![stream(customers, page_size), stream(subscriptions, page_size), stream(invoices, page_size)]
}

/// `accord propagate` writes the account id into a customer's custom field (`cf_*`, the one the
/// first link rule reads): `POST /api/v2/customers/{id}` form-encoded, the answer the customer,
/// read back; `GET` of the customer reads the value now. A `meta_data` key is not written (an
/// update replaces the whole JSON object): `None` then.
pub fn customer_field(account_field: &str) -> Option<crate::http::WriteDef> {
    if !account_field.starts_with("cf_") {
        return None;
    }
    let name = account_field.to_owned();
    Some(crate::http::WriteDef {
        object: "customers".into(),
        field: path(account_field),
        read: Box::new(|id| RequestSpec::get(format!("/api/v2/customers/{id}"))),
        read_value: path(&format!("customer.{account_field}")),
        write: Box::new(move |id, value| {
            RequestSpec::form("POST", format!("/api/v2/customers/{id}"), vec![(name.clone(), value.to_owned())])
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    })
}
