//! Braintree streams as data: one GraphQL query per object, `POST /graphql` with
//! `{"query", "variables": {"input", "first"}}`, paged as a Relay connection (`first`/`after`,
//! `pageInfo { hasNextPage endCursor }`, the records are the edges' nodes).
//!
//! Neither customers nor transactions have an update time. Both are read incrementally by
//! `createdAt` (`input.createdAt.greaterThanOrEqualTo` at the last pass's mark less a second;
//! the records on the mark are skipped once when they come again), so an incremental pass sees
//! new records only. Every `full_rescan` (and on the first read and `--full`) a pass reads the
//! whole search without a filter: it picks up what changed on records already read (a customer's
//! email or custom field, a transaction's status), and, being authoritative, a customer it no
//! longer returns (Braintree hard-deletes customers) becomes a tombstone once the pass completes.

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::ObjectSpec;
use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, path, rules};

/// The customers search. Every field it selects is checked against Braintree's schema in the
/// connector's tests.
pub const CUSTOMERS: &str = "query Customers($input: CustomerSearchInput!, $first: Int, $after: String) {
  search {
    customers(input: $input, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          legacyId
          createdAt
          email
          company
          firstName
          lastName
          website
          customFields { name value }
        }
      }
    }
  }
}";

/// The transactions search.
pub const TRANSACTIONS: &str = "query Transactions($input: TransactionSearchInput!, $first: Int, $after: String) {
  search {
    transactions(input: $input, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          legacyId
          createdAt
          status
          orderId
          amount { value currencyCode }
          customer { id email }
          customFields { name value }
        }
      }
    }
  }
}";

/// Reads one customer's custom fields back (before a write, and to see what a write left).
pub const READ_CUSTOMER: &str = "query Customer($id: ID!) {
  node(id: $id) {
    ... on Customer { id customFields { name value } }
  }
}";

/// Writes custom fields into one customer (`accord propagate`).
pub const UPDATE_CUSTOMER: &str = "mutation UpdateCustomer($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id customFields { name value } }
  }
}";

/// The search input of a pass: everything, or what was created from `since` on.
pub fn search_input(since: Option<&Value>) -> Value {
    match since.and_then(accord_core::time::parse_timestamp) {
        Some(t) => json!({"createdAt": {
            "greaterThanOrEqualTo": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }}),
        None => json!({}),
    }
}

/// The first request of a pass of `query`.
pub fn request(query: &str, since: Option<&Value>, page_size: u32) -> RequestSpec {
    RequestSpec::post(
        "/graphql",
        json!({"query": query, "variables": {"input": search_input(since), "first": page_size}}),
    )
    .header("Accept", "application/json")
}

fn relay(
    object: ObjectSpec,
    query: &'static str,
    connection: &str,
    page_size: u32,
    full_rescan: Option<chrono::Duration>,
) -> StreamDef {
    StreamDef {
        object,
        first_request: Arc::new(move |since: Option<&Value>| request(query, since, page_size)),
        records: path(&format!("data.search.{connection}.edges")),
        paginator: Paginator::Relay {
            page_info: path(&format!("data.search.{connection}.pageInfo")),
            after: "after".into(),
        },
        cursor_field: Some(path("createdAt")),
        overlap_seconds: 1,
        deleted_when: None,
        deletions: None,
        // A search without input returns every record Braintree still holds.
        authoritative: true,
        total: None,
        reconcile_every: full_rescan,
    }
}

/// Subscriptions (read by `subscriptions.rs` through the XML gateway): linked through their
/// payment method's customer, with the revenue terms `accord.*` derives.
pub fn subscriptions_object() -> ObjectSpec {
    ObjectSpec {
        name: "subscriptions".into(),
        kind: ObjectKind::Subscription,
        native_id: Some(path("id")),
        link: rules(json!([{"rule": "parent", "field": "customer.id", "object": "customers"}])),
        normalize: vec![],
        fields: mapping(&[
            ("plan_code", "plan-id"),
            ("status", "accord.status"),
            ("currency", "accord.currency"),
            ("start_date", "accord.start_date"),
            ("end_date", "accord.end_date"),
            ("canceled_at", "accord.canceled_at"),
            ("billing_interval", "accord.billing_interval"),
            ("interval_count", "accord.interval_count"),
            ("quantity", "accord.quantity"),
            ("unit_amount", "accord.unit_amount"),
            ("current_period_start", "billing-period-start-date"),
            // The renewal: the period's last day is `billing-period-end-date`, the day after it.
            ("current_period_end", "next-billing-date"),
        ]),
    }
}

/// The streams, in reading order. `account_id_field`: the custom field's API name holding our
/// account id.
pub fn streams(account_id_field: &str, page_size: u32, full_rescan: Option<chrono::Duration>) -> Vec<StreamDef> {
    let field = format!("customFields[name={account_id_field}].value");
    let customers = ObjectSpec {
        name: "customers".into(),
        kind: ObjectKind::Organization,
        native_id: Some(path("id")),
        link: rules(json!([
            {"rule": "field", "field": field},
            {"rule": "email", "field": "email"}
        ])),
        normalize: vec![],
        fields: mapping(&[("name", "accord.name"), ("email", "email"), ("website", "website")]),
    };
    let transactions = ObjectSpec {
        name: "transactions".into(),
        kind: ObjectKind::Invoice,
        native_id: Some(path("id")),
        link: rules(json!([{"rule": "parent", "field": "customer.id", "object": "customers"}])),
        normalize: vec![],
        fields: mapping(&[
            ("amount", "accord.amount"),
            ("currency", "amount.currencyCode"),
            ("issued_at", "createdAt"),
            ("paid_at", "accord.paid_at"),
            ("is_failed", "accord.failed"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "accord.status"),
        ]),
    };
    vec![
        relay(customers, CUSTOMERS, "customers", page_size, full_rescan),
        relay(transactions, TRANSACTIONS, "transactions", page_size, full_rescan),
    ]
}
