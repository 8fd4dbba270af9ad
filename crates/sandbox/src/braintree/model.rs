//! Braintree's records as the GraphQL API shows them: global ids (base64 of `customer_<legacy
//! id>`, as Braintree's are), `createdAt` as ISO 8601 in UTC, custom fields as `{name, value}`,
//! amounts as `MonetaryAmount { value, currencyCode }` with the value a decimal string.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

/// The API name of the custom field that holds our account id in the sandbox's vault.
pub const ACCOUNT_ID_FIELD: &str = "account_id";

/// A vault customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// The GraphQL global id.
    pub id: String,
    /// The id the server SDKs use.
    pub legacy_id: String,
    pub created: DateTime<Utc>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub website: Option<String>,
    /// `(API name, value)`, in the order they were set.
    pub custom_fields: Vec<(String, String)>,
}

/// A sale.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: String,
    pub legacy_id: String,
    pub created: DateTime<Utc>,
    /// A `PaymentStatus`: `SETTLED`, `SUBMITTED_FOR_SETTLEMENT`, `PROCESSOR_DECLINED`, `VOIDED`, ...
    pub status: String,
    pub order_id: Option<String>,
    /// Decimal text in major units (`"49.99"`).
    pub amount: String,
    pub currency: String,
    /// The customer's global id (a guest checkout has none).
    pub customer_id: Option<String>,
    pub custom_fields: Vec<(String, String)>,
}

/// A recurring billing plan (the server API's `<plan>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: String,
    pub name: String,
    /// Decimal text in major units.
    pub price: String,
    pub currency: String,
    /// Months per billing cycle.
    pub billing_frequency: u32,
}

/// A vaulted payment method: its token and its owner (the server API's `customer-id`).
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentMethod {
    pub token: String,
    /// The owner's legacy id.
    pub customer_legacy_id: String,
    /// `credit-card`, `paypal-account`, ...: the answer's root element.
    pub kind: String,
}

/// An add-on or a discount on a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Modification {
    pub id: String,
    /// Decimal text in major units, per unit of `quantity` and billing cycle.
    pub amount: String,
    pub quantity: u32,
    pub never_expires: bool,
    pub number_of_billing_cycles: Option<u32>,
    pub current_billing_cycle: u32,
}

/// A subscription as the server API's subscription search returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub plan_id: String,
    /// `Active`, `Canceled`, `Past Due`, `Pending` or `Expired`.
    pub status: String,
    /// Decimal text in major units, per billing cycle.
    pub price: String,
    pub payment_method_token: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub first_billing_date: NaiveDate,
    pub billing_period_start: Option<NaiveDate>,
    pub billing_period_end: Option<NaiveDate>,
    pub next_billing_date: Option<NaiveDate>,
    pub billing_day_of_month: u32,
    pub number_of_billing_cycles: Option<u32>,
    pub current_billing_cycle: u32,
    pub add_ons: Vec<Modification>,
    pub discounts: Vec<Modification>,
    /// `(when, status)`, oldest first.
    pub status_history: Vec<(DateTime<Utc>, String)>,
}

/// A merchant's vault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BraintreeData {
    pub customers: Vec<Customer>,
    pub transactions: Vec<Transaction>,
    pub plans: Vec<Plan>,
    pub payment_methods: Vec<PaymentMethod>,
    pub subscriptions: Vec<Subscription>,
    /// The custom fields defined in the Control Panel (API names): Braintree refuses to store
    /// any other.
    pub custom_field_names: Vec<String>,
}

/// A global id of `kind` (`customer`, `transaction`) for a legacy id.
pub fn global_id(kind: &str, legacy: &str) -> String {
    B64.encode(format!("{kind}_{legacy}"))
}

/// ISO 8601 in UTC, as Braintree's `Timestamp` scalar reads.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn custom_fields(fields: &[(String, String)]) -> Value {
    Value::Array(fields.iter().map(|(n, v)| json!({"name": n, "value": v})).collect())
}

impl Customer {
    /// Every field the emulator serves, selected or not.
    pub fn json(&self) -> Value {
        json!({
            "__typename": "Customer",
            "id": self.id,
            "legacyId": self.legacy_id,
            "createdAt": timestamp(self.created),
            "email": self.email,
            "company": self.company,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "website": self.website,
            "phoneNumber": null,
            "fax": null,
            "customFields": custom_fields(&self.custom_fields),
        })
    }
}

impl Transaction {
    /// Every field the emulator serves; `customer` is the customer's own (`null` once deleted).
    pub fn json(&self, customer: Option<&Customer>) -> Value {
        json!({
            "__typename": "Transaction",
            "id": self.id,
            "legacyId": self.legacy_id,
            "createdAt": timestamp(self.created),
            "status": self.status,
            "orderId": self.order_id,
            "amount": {"__typename": "MonetaryAmount", "value": self.amount, "currencyCode": self.currency},
            "customer": customer.map(Customer::json),
            "customFields": custom_fields(&self.custom_fields),
        })
    }
}

fn modification(m: &Modification) -> Value {
    json!({
        "id": m.id,
        "amount": m.amount,
        "quantity": m.quantity,
        "never-expires": m.never_expires,
        "number-of-billing-cycles": m.number_of_billing_cycles,
        "current-billing-cycle": m.current_billing_cycle,
    })
}

fn day(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string()))
}

impl Plan {
    /// The `<plan>` element's content.
    pub fn xml_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "price": self.price,
            "currency-iso-code": self.currency,
            "billing-frequency": self.billing_frequency,
            "billing-day-of-month": null,
            "number-of-billing-cycles": null,
            "trial-period": false,
            "add-ons": [],
            "discounts": [],
        })
    }
}

impl Subscription {
    /// The `<subscription>` element's content.
    pub fn xml_json(&self) -> Value {
        json!({
            "id": self.id,
            "plan-id": self.plan_id,
            "status": self.status,
            "price": self.price,
            "payment-method-token": self.payment_method_token,
            "merchant-account-id": "accord_sandbox",
            "created-at": timestamp(self.created),
            "updated-at": timestamp(self.updated),
            "first-billing-date": day(Some(self.first_billing_date)),
            "billing-period-start-date": day(self.billing_period_start),
            "billing-period-end-date": day(self.billing_period_end),
            "next-billing-date": day(self.next_billing_date),
            "paid-through-date": day(self.billing_period_end),
            "billing-day-of-month": self.billing_day_of_month,
            "number-of-billing-cycles": self.number_of_billing_cycles,
            "current-billing-cycle": self.current_billing_cycle,
            "never-expires": self.number_of_billing_cycles.is_none(),
            "trial-period": false,
            "failure-count": 0,
            "add-ons": self.add_ons.iter().map(modification).collect::<Vec<_>>(),
            "discounts": self.discounts.iter().map(modification).collect::<Vec<_>>(),
            "status-history": self.status_history.iter().map(|(at, status)| json!({
                "timestamp": timestamp(*at),
                "status": status,
                "price": self.price,
                "plan-id": self.plan_id,
                "subscription-source": "api",
            })).collect::<Vec<_>>(),
            "transactions": [],
        })
    }
}

/// The element names of a list's items in the server API's XML.
pub fn xml_item(list: &str) -> String {
    match list {
        "subscriptions" => "subscription",
        "plans" => "plan",
        "add-ons" => "add-on",
        "discounts" => "discount",
        "status-history" => "status-event",
        "transactions" => "transaction",
        _ => "item",
    }
    .to_owned()
}
