//! Recurly streams as data. Every list (`/accounts`, `/subscriptions`, `/invoices`) is read in
//! `updated_at` order, ascending (`sort=updated_at&order=asc`: the spec warns that descending
//! order can skip records updated while paging), `limit` records a page, following the body's
//! `next` path while `has_more`. An incremental pass adds `begin_time` (inclusive, ISO 8601) at
//! the last pass's mark less a second; the records on the mark are skipped once when they come
//! again. Deactivated accounts (`DELETE /accounts/{id}` sets `state: inactive` and `deleted_at`,
//! and the account stays in the lists) are tombstones; subscriptions and invoices are never
//! deleted, they change state (`expired`, `voided`), which their typed `status` carries.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path, rules};

/// The list request of `list`, from `since` (a mark of `updated_at`) when given.
fn list_request(list: &'static str, page_size: u32, since: Option<&Value>) -> RequestSpec {
    let r =
        RequestSpec::get(list).param("limit", page_size.to_string()).param("sort", "updated_at").param("order", "asc");
    match since.and_then(accord_core::time::parse_timestamp) {
        Some(t) => r.param("begin_time", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => r,
    }
}

fn stream(spec: crate::ObjectSpec, list: &'static str, page_size: u32, deleted: bool) -> StreamDef {
    StreamDef {
        object: spec,
        first_request: Arc::new(move |since: Option<&Value>| list_request(list, page_size, since)),
        records: path("data"),
        paginator: Paginator::NextPath { field: path("next"), more: path("has_more") },
        cursor_field: Some(path("updated_at")),
        overlap_seconds: 1,
        deleted_when: deleted.then(|| (path("state"), json!("inactive"))),
        deletions: None,
        // A list without `begin_time` holds every record the site has (deactivated accounts
        // included, as tombstones): nothing is ever removed from Recurly's lists.
        authoritative: true,
        total: None,
        reconcile_every: None,
    }
}

/// The streams, in reading order. `code_map` is where accounts' codes are looked up: the SOR
/// field holding each account's Recurly account code (`billing_account_id` by default).
pub fn streams(page_size: u32, code_map: &str) -> Vec<StreamDef> {
    let parent = || rules(json!([{"rule": "parent", "field": "account.id", "object": "accounts"}]));
    let accounts = object(
        "accounts",
        ObjectKind::Organization,
        rules(json!([
            {"rule": "native_id", "field": "code", "map": code_map},
            {"rule": "email", "field": "email"}
        ])),
        mapping(&[("name", "company"), ("email", "email")]),
    );
    let subscriptions = object(
        "subscriptions",
        ObjectKind::Subscription,
        parent(),
        mapping(&[
            ("plan_code", "plan.code"),
            ("status", "state"),
            ("currency", "currency"),
            ("start_date", "accord.start_date"),
            ("end_date", "accord.end_date"),
            ("billing_interval", "accord.billing_interval"),
            ("interval_count", "accord.interval_count"),
            ("quantity", "quantity"),
            ("unit_amount", "accord.unit_amount"),
            ("metered", "accord.metered"),
            ("discount_percent_bp", "accord.discount_percent_bp"),
            ("discount_amount", "accord.discount_amount"),
            ("discount_duration", "accord.discount_duration"),
            ("discount_end", "accord.discount_end"),
            ("trial_start", "trial_started_at"),
            ("trial_end", "trial_ends_at"),
            ("current_period_start", "current_period_started_at"),
            ("current_period_end", "current_period_ends_at"),
            ("cancel_at_period_end", "accord.cancel_at_period_end"),
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
            ("issued_at", "created_at"),
            ("due_at", "due_at"),
            ("paid_at", "accord.paid_at"),
            ("is_failed", "accord.failed"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "state"),
            ("subscription_id", "subscription_ids[0]"),
            ("period_start", "accord.period_start"),
            ("period_end", "accord.period_end"),
            ("tax", "accord.tax"),
            ("line_count", "accord.line_count"),
            ("billed_from", "accord.billed_from"),
            ("billed_unit_amount", "accord.billed_unit_amount"),
            ("billed_quantity", "accord.billed_quantity"),
        ]),
    );
    vec![
        stream(accounts, "/accounts", page_size, true),
        stream(subscriptions, "/subscriptions", page_size, false),
        stream(invoices, "/invoices", page_size, false),
    ]
}
