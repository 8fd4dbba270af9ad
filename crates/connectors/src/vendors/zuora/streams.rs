//! Zuora streams as data: one ZOQL query per object, sent as `POST /v1/action/query`
//! (`{"queryString": "select ... from <Object> [where UpdatedDate >= '...']"}`) and continued
//! with `POST /v1/action/queryMore` (`{"queryLocator": "..."}`) while the answer says
//! `"done": false`. Zuora returns up to 2,000 rows a call and has no `ORDER BY`, so a pass is
//! read to its end before its high-water mark (the greatest `UpdatedDate` seen) becomes the next
//! pass's start; a killed pass resumes from its saved locator, and a locator Zuora no longer
//! knows restarts the pass from its `since`. An incremental pass starts a second before the mark
//! (`>=`, so a row changed in the mark's second comes again and is skipped once).
//!
//! Cancelled accounts (`Status = 'Canceled'`) are tombstones, as Recurly's deactivated accounts
//! are: a cancelled billing account no longer stands for a customer. Subscriptions
//! (`Cancelled`, `Expired`) and invoices (`Canceled`) change status, which their typed `status`
//! carries; nothing is hard-deleted through this read path (only stateful AQuA reports deletes).

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, path, rules};

pub const QUERY: &str = "/v1/action/query";
pub const QUERY_MORE: &str = "/v1/action/queryMore";

/// The fields read from `Account`; `account_field` is the tenant's custom field holding
/// accord's account id.
pub fn account_fields(account_field: &str) -> Vec<String> {
    let mut f: Vec<String> = ["Id", "AccountNumber", "Name", "Status", "Currency", "CreatedDate", "UpdatedDate"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    f.push(account_field.to_owned());
    f
}

pub const SUBSCRIPTION_FIELDS: &[&str] = &[
    "Id",
    "AccountId",
    "Name",
    "Status",
    "TermType",
    "AutoRenew",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "TermStartDate",
    "TermEndDate",
    "CancelledDate",
    "CreatedDate",
    "UpdatedDate",
];

pub const INVOICE_FIELDS: &[&str] = &[
    "Id",
    "AccountId",
    "InvoiceNumber",
    "InvoiceDate",
    "DueDate",
    "Amount",
    "TaxAmount",
    "Balance",
    "Status",
    "CreatedDate",
    "UpdatedDate",
];

/// `RatePlan` rows give a charge's subscription.
pub const RATE_PLAN_FIELDS: &[&str] = &["Id", "SubscriptionId", "Name"];

pub const CHARGE_FIELDS: &[&str] = &[
    "Id",
    "RatePlanId",
    "Name",
    "ChargeNumber",
    "ChargeType",
    "ChargeModel",
    "BillingPeriod",
    "Price",
    "Quantity",
    "MRR",
    "EffectiveStartDate",
    "EffectiveEndDate",
    "IsLastSegment",
];

pub const INVOICE_ITEM_FIELDS: &[&str] = &[
    "Id",
    "InvoiceId",
    "SubscriptionId",
    "RatePlanChargeId",
    "ChargeName",
    "ProcessingType",
    "ServiceStartDate",
    "ServiceEndDate",
    "ChargeAmount",
    "UnitPrice",
    "Quantity",
];

/// A ZOQL string literal: `'` and `\` escaped with a backslash.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `select <fields> from <object>`, with `where UpdatedDate >= '<since>'` when given.
pub fn zoql(object: &str, fields: &[String], since: Option<&Value>) -> String {
    let mut q = format!("select {} from {object}", fields.join(", "));
    if let Some(t) = since.and_then(accord_core::time::parse_timestamp) {
        q.push_str(&format!(
            " where UpdatedDate >= {}",
            literal(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        ));
    }
    q
}

/// The first request of a query: `conf.batchSize` rows a call (1–2,000; Zuora's default and
/// maximum is 2,000). The locator keeps the batch size for `queryMore`.
pub fn query(zoql: String, batch_size: u32) -> RequestSpec {
    RequestSpec::post(QUERY, json!({ "queryString": zoql, "conf": { "batchSize": batch_size } }))
}

pub fn paginator() -> Paginator {
    Paginator::QueryMore {
        path: QUERY_MORE.into(),
        locator: path("queryLocator"),
        param: "queryLocator".into(),
        done: path("done"),
    }
}

fn stream(
    spec: crate::ObjectSpec,
    object: &'static str,
    fields: Vec<String>,
    batch_size: u32,
    deleted: Option<Value>,
) -> StreamDef {
    StreamDef {
        object: spec,
        first_request: Arc::new(move |since: Option<&Value>| query(zoql(object, &fields, since), batch_size)),
        records: path("records"),
        paginator: paginator(),
        cursor_field: Some(path("UpdatedDate")),
        overlap_seconds: 1,
        deleted_when: deleted.map(|v| (path("Status"), v)),
        deletions: None,
        // A query without `where` returns every row the tenant has (cancelled accounts
        // included, as tombstones).
        authoritative: true,
        total: None,
        reconcile_every: None,
    }
}

fn owned(f: &[&str]) -> Vec<String> {
    f.iter().map(|s| (*s).to_owned()).collect()
}

/// The streams, in reading order. `account_field` is the custom field (`AccountId__c`) holding
/// accord's account id; `id_map` is where an account's Zuora `Id` is looked up (an SOR field
/// such as `billing_account_id`, filled by the Zuora plug-in for Salesforce).
pub fn streams(account_field: &str, id_map: &str, batch_size: u32) -> Vec<StreamDef> {
    let parent = || rules(json!([{"rule": "parent", "field": "AccountId", "object": "accounts"}]));
    let accounts = crate::ObjectSpec {
        name: "accounts".into(),
        kind: ObjectKind::Organization,
        native_id: Some(path("Id")),
        link: rules(json!([
            {"rule": "field", "field": account_field},
            {"rule": "native_id", "field": "Id", "map": id_map}
        ])),
        normalize: vec![],
        fields: mapping(&[("name", "Name")]),
    };
    let subscriptions = crate::ObjectSpec {
        name: "subscriptions".into(),
        kind: ObjectKind::Subscription,
        native_id: Some(path("Id")),
        link: parent(),
        normalize: vec![],
        fields: mapping(&[
            ("plan_code", "accord.plan_code"),
            ("status", "Status"),
            ("mrr", "accord.mrr"),
            ("currency", "accord.currency"),
            ("start_date", "SubscriptionStartDate"),
            ("end_date", "accord.end_date"),
            ("billing_interval", "accord.billing_interval"),
            ("interval_count", "accord.interval_count"),
            ("quantity", "accord.quantity"),
            ("unit_amount", "accord.unit_amount"),
            ("current_period_start", "TermStartDate"),
            ("current_period_end", "accord.current_period_end"),
            ("cancel_at_period_end", "accord.cancel_at_period_end"),
            ("canceled_at", "CancelledDate"),
        ]),
    };
    let invoices = crate::ObjectSpec {
        name: "invoices".into(),
        kind: ObjectKind::Invoice,
        native_id: Some(path("Id")),
        link: parent(),
        normalize: vec![],
        fields: mapping(&[
            ("amount", "accord.amount"),
            ("currency", "accord.currency"),
            ("issued_at", "InvoiceDate"),
            ("due_at", "DueDate"),
            ("status", "Status"),
            ("non_recurring", "accord.non_recurring"),
            ("subscription_id", "accord.subscription_id"),
            ("period_start", "accord.period_start"),
            ("period_end", "accord.period_end"),
            ("tax", "accord.tax"),
            ("line_count", "accord.line_count"),
            ("billed_from", "accord.billed_from"),
            ("billed_unit_amount", "accord.billed_unit_amount"),
            ("billed_quantity", "accord.billed_quantity"),
        ]),
    };
    vec![
        stream(accounts, "Account", account_fields(account_field), batch_size, Some(json!("Canceled"))),
        stream(subscriptions, "Subscription", owned(SUBSCRIPTION_FIELDS), batch_size, None),
        stream(invoices, "Invoice", owned(INVOICE_FIELDS), batch_size, None),
    ]
}

/// `accord propagate` writes the account id into the tenant's custom field (`account_field`,
/// `AccountId__c` by default) of an account linked another way: `PUT /v1/accounts/{id}` with
/// `{"AccountId__c": "..."}`, Zuora's update of an account by its key (custom fields sit at the
/// top level of the body). Zuora answers `{"success": true}` without the account, so the value
/// is read back with the same ZOQL query that reads it before the write
/// (`select Id, AccountId__c from Account where Id = '…'`). A field the tenant does not have is
/// refused by Zuora (`"success": false` with its reasons) and reported as refused.
pub fn account_field(account_field: &str) -> crate::http::WriteDef {
    let (read_field, write_field) = (account_field.to_owned(), account_field.to_owned());
    crate::http::WriteDef {
        object: "accounts".into(),
        field: path(account_field),
        read: Box::new(move |id| {
            let fields = vec!["Id".to_owned(), read_field.clone()];
            query(format!("{} where Id = {}", zoql("Account", &fields, None), literal(id)), 1)
        }),
        read_value: path(&format!("records[0].{account_field}")),
        write: Box::new(move |id, value| {
            let mut body = serde_json::Map::new();
            body.insert(write_field.clone(), Value::String(value.to_owned()));
            RequestSpec::with_body("PUT", format!("/v1/accounts/{id}"), Value::Object(body))
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::ReadBack,
    }
}
