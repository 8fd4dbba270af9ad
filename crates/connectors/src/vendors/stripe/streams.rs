//! Stripe streams as data: a full pass reads the object's list (newest first, `starting_after`
//! the last id while `has_more`); an incremental pass reads `/v1/events` of the object's event
//! types from the saved start (`created[gte]`), the same way. `mod.rs` turns each event into its
//! `data.object` (or a tombstone) and adds the fields Stripe does not give in a form accord reads
//! (`accord.*`: amounts as decimal text, basis points, the shape-independent period dates).

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// The event types that change each object; `*.deleted` of customers and invoices are deletions.
pub(crate) fn event_types(object: &str) -> &'static [&'static str] {
    match object {
        "customers" => &["customer.created", "customer.updated", "customer.deleted"],
        "subscriptions" => &[
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "customer.subscription.paused",
            "customer.subscription.resumed",
            "customer.subscription.pending_update_applied",
            "customer.subscription.pending_update_expired",
        ],
        _ => &[
            "invoice.created",
            "invoice.updated",
            "invoice.deleted",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_failed",
            "invoice.payment_succeeded",
            "invoice.marked_uncollectible",
            "invoice.voided",
        ],
    }
}

fn stream(name: &'static str, spec: crate::ObjectSpec, list: RequestSpec, page_size: u32) -> StreamDef {
    StreamDef {
        object: spec,
        first_request: Arc::new(move |since: Option<&Value>| match since.and_then(Value::as_i64) {
            None => list.clone().param("limit", page_size.to_string()),
            Some(t) => {
                let mut r = RequestSpec::get("/v1/events")
                    .param("limit", page_size.to_string())
                    .param("created[gte]", t.to_string());
                r.query.extend(event_types(name).iter().map(|k| ("types[]".to_owned(), (*k).to_owned())));
                r
            }
        }),
        records: path("data"),
        paginator: Paginator::HasMore { more: path("has_more"), id: path("id") },
        // Customers' on a full pass, events' on an incremental one: `mod.rs` replaces the mark
        // of a finished pass with the server time it started at.
        cursor_field: Some(path("created")),
        overlap_seconds: 0,
        deleted_when: None,
        deletions: None,
        authoritative: true,
        total: None,
        reconcile_every: None,
    }
}

/// The streams, in reading order. `account_key` is the metadata key holding our account id.
pub fn streams(page_size: u32, account_key: &str) -> Vec<StreamDef> {
    let parent = || rules(json!([{"rule": "parent", "field": "customer", "object": "customers"}]));
    let customers = object(
        "customers",
        ObjectKind::Organization,
        rules(json!([
            {"rule": "field", "field": format!("metadata.{account_key}")},
            {"rule": "email", "field": "email"}
        ])),
        mapping(&[("name", "name"), ("email", "email")]),
    );
    let subscriptions = object(
        "subscriptions",
        ObjectKind::Subscription,
        parent(),
        mapping(&[
            ("plan_code", "items.data[0].price.id"),
            ("status", "status"),
            ("currency", "currency"),
            ("start_date", "start_date"),
            ("end_date", "ended_at"),
            ("billing_interval", "items.data[0].price.recurring.interval"),
            ("interval_count", "items.data[0].price.recurring.interval_count"),
            ("quantity", "items.data[0].quantity"),
            ("unit_amount", "items.data[0].price.unit_amount"),
            ("metered", "accord.metered"),
            ("discount_percent_bp", "accord.discount_percent_bp"),
            ("discount_amount", "accord.discount_amount"),
            ("discount_duration", "accord.discount_duration"),
            ("discount_end", "accord.discount_end"),
            ("trial_start", "trial_start"),
            ("trial_end", "trial_end"),
            ("current_period_start", "accord.current_period_start"),
            ("current_period_end", "accord.current_period_end"),
            ("cancel_at_period_end", "cancel_at_period_end"),
            ("canceled_at", "canceled_at"),
        ]),
    );
    let invoices = object(
        "invoices",
        ObjectKind::Invoice,
        parent(),
        mapping(&[
            ("amount", "accord.amount"),
            ("currency", "currency"),
            ("issued_at", "created"),
            ("due_at", "due_date"),
            ("paid_at", "status_transitions.paid_at"),
            ("is_failed", "accord.failed"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "status"),
            ("subscription_id", "accord.subscription"),
            ("period_start", "period_start"),
            ("period_end", "period_end"),
            ("tax", "accord.tax"),
            ("line_count", "accord.line_count"),
            ("billed_from", "accord.billed_from"),
            ("billed_unit_amount", "accord.billed_unit_amount"),
            ("billed_quantity", "accord.billed_quantity"),
        ]),
    );
    vec![
        stream("customers", customers, RequestSpec::get("/v1/customers"), page_size),
        stream(
            "subscriptions",
            subscriptions,
            // Canceled subscriptions are history MRR needs; discounts come as ids unless expanded.
            RequestSpec::get("/v1/subscriptions").param("status", "all").param("expand[]", "data.discounts"),
            page_size,
        ),
        stream("invoices", invoices, RequestSpec::get("/v1/invoices"), page_size),
    ]
}

/// `accord propagate` writes the account id into a customer's metadata
/// (`POST /v1/customers/{id}` with `metadata[<key>]`), and reads it back from `GET` of the same
/// customer. Each write carries an `Idempotency-Key` made of the customer and the value, so a
/// write a stopped run had sent is, sent again, Stripe's replay of the first answer.
pub fn customer_metadata(account_key: &str) -> crate::http::WriteDef {
    let key = account_key.to_owned();
    crate::http::WriteDef {
        object: "customers".into(),
        field: path(&format!("metadata.{account_key}")),
        read: Box::new(|id| RequestSpec::get(format!("/v1/customers/{id}"))),
        read_value: path(&format!("metadata.{account_key}")),
        write: Box::new(move |id, value| {
            RequestSpec::form(
                "POST",
                format!("/v1/customers/{id}"),
                vec![(format!("metadata[{key}]"), value.to_owned())],
            )
            .header("Idempotency-Key", format!("accord-propagate-{id}-{key}-{value}"))
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    }
}
