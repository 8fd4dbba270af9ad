//! Braintree's records as the GraphQL API shows them: global ids (base64 of `customer_<legacy
//! id>`, as Braintree's are), `createdAt` as ISO 8601 in UTC, custom fields as `{name, value}`,
//! amounts as `MonetaryAmount { value, currencyCode }` with the value a decimal string.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chrono::{DateTime, Utc};
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

/// A merchant's vault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BraintreeData {
    pub customers: Vec<Customer>,
    pub transactions: Vec<Transaction>,
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
