//! Xero streams as data. Contacts, invoices and payments page by `page` (1-based) and `pageSize`
//! in `UpdatedDateUTC` order (`order=UpdatedDateUTC ASC`), to the answer's
//! `pagination.pageCount`; an incremental pass sends `If-Modified-Since` (UTC,
//! `yyyy-mm-ddThh:mm:ss`) at the last pass's mark less a second, and the records on the mark are
//! skipped once when they come again. Repeating invoices have neither paging, nor
//! `If-Modified-Since`, nor an update time: the whole list is read on every pass.
//!
//! Xero deletes nothing a sync could miss: a contact is archived (`ContactStatus: ARCHIVED`,
//! listed only with `includeArchived=true`), an invoice becomes `VOIDED` or `DELETED`, a payment
//! `DELETED`, a repeating invoice `DELETED`; modified-since reads return these changes. They
//! stay records whose status says so, as the other billing systems' voided invoices and expired
//! subscriptions do (a tombstone would unlink an archived contact's history from its account).
//!
//! Every request carries the organisation's `xero-tenant-id` (read from `/connections` before
//! the first page; see `super::Tenant`).

use std::sync::Arc;

use accord_core::ObjectKind;
use serde_json::{Value, json};

use super::Tenant;
use crate::ObjectSpec;
use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, path, rules};

/// `If-Modified-Since` as Xero's documentation writes it: UTC, to the second, no zone.
pub fn modified_since(since: &Value) -> Option<String> {
    accord_core::time::parse_timestamp(since).map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
}

fn spec(name: &str, kind: ObjectKind, id: &str, link: Value, fields: &[(&str, &str)]) -> ObjectSpec {
    ObjectSpec {
        name: name.into(),
        kind,
        native_id: Some(path(id)),
        link: rules(link),
        normalize: vec![],
        fields: mapping(fields),
    }
}

/// The request of one list: the tenant header, the list's own parameters, and (for paged lists)
/// the page size, the order and the incremental start.
fn request(
    tenant: &Tenant,
    list: &str,
    params: &[(&str, &str)],
    page_size: Option<u32>,
    since: Option<&Value>,
) -> RequestSpec {
    let mut r = RequestSpec::get(format!("/api.xro/2.0/{list}")).header("xero-tenant-id", tenant.id());
    for (k, v) in params {
        r = r.param(k, *v);
    }
    if let Some(size) = page_size {
        r = r.param("order", "UpdatedDateUTC ASC").param("page", "1").param("pageSize", size.to_string());
    }
    if let Some(at) = since.and_then(modified_since) {
        r = r.header("If-Modified-Since", at);
    }
    r
}

fn paged(
    object: ObjectSpec,
    tenant: &Tenant,
    list: &'static str,
    params: &'static [(&'static str, &'static str)],
    page_size: u32,
    reconcile_every: Option<chrono::Duration>,
) -> StreamDef {
    let tenant = tenant.clone();
    StreamDef {
        object,
        first_request: Arc::new(move |since: Option<&Value>| request(&tenant, list, params, Some(page_size), since)),
        records: path(list),
        paginator: Paginator::PageNumber {
            param: "page".into(),
            first: 1,
            // Xero's answers have no next link: the page count says where the list ends.
            next: path("pagination.next"),
            page: path("pagination.page"),
            total_pages: path("pagination.pageCount"),
        },
        cursor_field: Some(path("UpdatedDateUTC")),
        overlap_seconds: 1,
        // Status changes, never deletions (see the module's comment).
        deleted_when: None,
        deletions: None,
        authoritative: true,
        total: None,
        reconcile_every,
    }
}

/// The streams, in reading order. `reconcile_every`: how often the paged lists are re-read whole
/// (page-number paging over a list that changes while it is read can shift a record onto a page
/// already read; the whole-list pass picks such a record up).
pub fn streams(tenant: &Tenant, page_size: u32, reconcile_every: Option<chrono::Duration>) -> Vec<StreamDef> {
    let contact = |field: &str| json!([{"rule": "parent", "field": field, "object": "contacts"}]);
    let contacts = spec(
        "contacts",
        ObjectKind::Organization,
        "ContactID",
        json!([
            {"rule": "field", "field": "AccountNumber"},
            {"rule": "email", "field": "EmailAddress"}
        ]),
        &[("name", "Name"), ("email", "EmailAddress"), ("website", "Website")],
    );
    let invoices = spec(
        "invoices",
        ObjectKind::Invoice,
        "InvoiceID",
        contact("Contact.ContactID"),
        &[
            ("amount", "accord.amount"),
            ("currency", "CurrencyCode"),
            ("issued_at", "Date"),
            ("due_at", "DueDate"),
            ("paid_at", "FullyPaidOnDate"),
            ("is_failed", "accord.failed"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "accord.status"),
            ("subscription_id", "RepeatingInvoiceID"),
            ("tax", "accord.tax"),
            ("line_count", "accord.line_count"),
            ("billed_from", "accord.billed_from"),
            ("billed_unit_amount", "accord.billed_unit_amount"),
            ("billed_quantity", "accord.billed_quantity"),
        ],
    );
    // A payment is money received against an invoice: a statement of its amount, paid on its
    // date, billing no subscription.
    let payments = spec(
        "payments",
        ObjectKind::Invoice,
        "PaymentID",
        contact("Invoice.Contact.ContactID"),
        &[
            ("amount", "accord.amount"),
            ("currency", "Invoice.CurrencyCode"),
            ("issued_at", "Date"),
            ("paid_at", "accord.paid_at"),
            ("non_recurring", "accord.non_recurring"),
            ("status", "accord.status"),
        ],
    );
    let repeating = spec(
        "repeating_invoices",
        ObjectKind::Subscription,
        "RepeatingInvoiceID",
        contact("Contact.ContactID"),
        &[
            ("plan_code", "accord.plan_code"),
            ("status", "accord.status"),
            ("currency", "CurrencyCode"),
            ("start_date", "Schedule.StartDate"),
            ("end_date", "Schedule.EndDate"),
            ("billing_interval", "accord.billing_interval"),
            ("interval_count", "accord.interval_count"),
            ("quantity", "accord.quantity"),
            ("unit_amount", "accord.unit_amount"),
            ("current_period_end", "accord.next_invoice"),
            ("canceled_at", "accord.canceled_at"),
        ],
    );
    let tenant_r = tenant.clone();
    let repeating = StreamDef {
        object: repeating,
        first_request: Arc::new(move |_| {
            request(&tenant_r, "RepeatingInvoices", &[("where", "Type==\"ACCREC\"")], None, None)
        }),
        records: path("RepeatingInvoices"),
        paginator: Paginator::Single,
        cursor_field: None,
        overlap_seconds: 0,
        deleted_when: None,
        deletions: None,
        authoritative: true,
        total: None,
        // Every pass is the whole list.
        reconcile_every: Some(chrono::Duration::zero()),
    };
    vec![
        paged(contacts, tenant, "Contacts", &[("includeArchived", "true")], page_size, reconcile_every),
        paged(
            invoices,
            tenant,
            "Invoices",
            &[("where", "Type==\"ACCREC\""), ("includeArchived", "true")],
            page_size,
            reconcile_every,
        ),
        // Sales payments only (purchase payments pay suppliers).
        paged(payments, tenant, "Payments", &[("where", "PaymentType==\"ACCRECPAYMENT\"")], page_size, reconcile_every),
        repeating,
    ]
}

/// `accord propagate` writes the account id into a contact's `AccountNumber` (`updateContact`:
/// `POST /api.xro/2.0/Contacts/{ContactID}` with `{"Contacts": [{"AccountNumber": ...}]}`), the
/// answer the contact, read back; `getContact` (`GET /Contacts/{ContactID}`) reads the value now.
/// Both name the organisation in `xero-tenant-id`. Xero keeps account numbers unique: one another
/// contact has is refused (400, `ValidationException`, the reason in
/// `Elements[].ValidationErrors`), and reported as refused.
pub fn contact_account_number(tenant: &Tenant) -> crate::http::WriteDef {
    let (read_tenant, write_tenant) = (tenant.clone(), tenant.clone());
    crate::http::WriteDef {
        object: "contacts".into(),
        field: path("AccountNumber"),
        read: Box::new(move |id| {
            RequestSpec::get(format!("/api.xro/2.0/Contacts/{id}")).header("xero-tenant-id", read_tenant.id())
        }),
        read_value: path("Contacts[0].AccountNumber"),
        write: Box::new(move |id, value| {
            RequestSpec::with_body(
                "POST",
                format!("/api.xro/2.0/Contacts/{id}"),
                json!({"Contacts": [{"ContactID": id, "AccountNumber": value}]}),
            )
            .header("xero-tenant-id", write_tenant.id())
        }),
        create: None,
        lookup: None,
        confirm: crate::http::Confirm::Answer,
    }
}
