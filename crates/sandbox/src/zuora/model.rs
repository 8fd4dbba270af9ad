//! Zuora records as the sandbox holds them, and their ZOQL rows: ids are 32 lowercase hex
//! characters, `CreatedDate`/`UpdatedDate` are date-times with the tenant's offset
//! (`2024-03-01T12:00:00.000+00:00`, held as Unix seconds), date fields are `YYYY-MM-DD`, and
//! amounts are JSON numbers in major units (held as integer minor units, or for `MRR` as exact
//! decimal text, and written without a float). A field that is null is left out of the row, as
//! Zuora leaves it out.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Number, Value};

/// A Zuora-style id: 32 hex characters, unique per `n`.
pub fn zuora_id(n: u64) -> String {
    let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2C92_A0FD_5C3B_0A71;
    format!("2c92a0f{:09x}{:016x}", n & 0xF_FFFF_FFFF, mix)
}

/// `2024-03-01T12:00:00.000+00:00`.
pub fn datetime(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Decimal places of a currency's major unit.
pub fn exponent(currency: &str) -> u32 {
    if currency == "JPY" { 0 } else { 2 }
}

/// `minor` units as decimal text of the major unit (`4999` USD → `49.99`).
pub fn major(minor: i64, currency: &str) -> String {
    let e = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if e == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(e);
    format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = e as usize)
}

/// Decimal text as a JSON number, exactly.
pub fn number(text: &str) -> Value {
    Number::from_str(text).map(Value::Number).unwrap_or(Value::Null)
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn opt_day(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| text(&day(d)))
}

/// An object ZOQL can query: its name, its fields (as Zuora spells them) and a row's values.
pub trait Queryable {
    const OBJECT: &'static str;
    const FIELDS: &'static [&'static str];
    /// The value of field `name` (one of `FIELDS`, or a custom field), `Null` when empty.
    fn value(&self, name: &str) -> Value;
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub account_number: String,
    pub name: String,
    /// `Draft`, `Active` or `Canceled`.
    pub status: String,
    pub currency: String,
    /// The custom field holding accord's account id (`AccountId__c`).
    pub account_id_c: Option<String>,
    /// `BillToContact.WorkEmail` (a Contact's field; not selectable from Account in ZOQL).
    pub work_email: Option<String>,
    pub created: i64,
    pub updated: i64,
}

/// The tenant's custom field on Account.
pub const ACCOUNT_ID_FIELD: &str = "AccountId__c";

impl Queryable for Account {
    const OBJECT: &'static str = "Account";
    const FIELDS: &'static [&'static str] = &[
        "Id",
        "AccountNumber",
        "Name",
        "Status",
        "Currency",
        "CreatedDate",
        "UpdatedDate",
        "BillToId",
        "Batch",
        "BillCycleDay",
        ACCOUNT_ID_FIELD,
    ];
    fn value(&self, name: &str) -> Value {
        match name {
            "Id" => text(&self.id),
            "AccountNumber" => text(&self.account_number),
            "Name" => text(&self.name),
            "Status" => text(&self.status),
            "Currency" => text(&self.currency),
            "CreatedDate" => text(&datetime(self.created)),
            "UpdatedDate" => text(&datetime(self.updated)),
            "BillToId" => text(&format!("{}c0", &self.id[..30])),
            "Batch" => text("Batch1"),
            "BillCycleDay" => Value::from(1),
            ACCOUNT_ID_FIELD => self.account_id_c.as_deref().map_or(Value::Null, text),
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub account_id: String,
    /// The subscription number (`A-S00000001`).
    pub name: String,
    /// `Active`, `Cancelled`, `Expired`, `Suspended`, ...
    pub status: String,
    /// `TERMED` or `EVERGREEN`.
    pub term_type: String,
    pub auto_renew: bool,
    pub start: NaiveDate,
    /// The day a cancelled or expired subscription ended.
    pub end: Option<NaiveDate>,
    pub term_start: NaiveDate,
    pub term_end: Option<NaiveDate>,
    pub cancelled: Option<NaiveDate>,
    pub created: i64,
    pub updated: i64,
}

impl Queryable for Subscription {
    const OBJECT: &'static str = "Subscription";
    const FIELDS: &'static [&'static str] = &[
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
        "ContractEffectiveDate",
        "Version",
        "CreatedDate",
        "UpdatedDate",
    ];
    fn value(&self, name: &str) -> Value {
        match name {
            "Id" => text(&self.id),
            "AccountId" => text(&self.account_id),
            "Name" => text(&self.name),
            "Status" => text(&self.status),
            "TermType" => text(&self.term_type),
            "AutoRenew" => Value::Bool(self.auto_renew),
            "SubscriptionStartDate" | "ContractEffectiveDate" => text(&day(self.start)),
            "SubscriptionEndDate" => opt_day(self.end),
            "TermStartDate" => text(&day(self.term_start)),
            "TermEndDate" => opt_day(self.term_end),
            "CancelledDate" => opt_day(self.cancelled),
            "Version" => Value::from(1),
            "CreatedDate" => text(&datetime(self.created)),
            "UpdatedDate" => text(&datetime(self.updated)),
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RatePlan {
    pub id: String,
    pub subscription_id: String,
    pub name: String,
    pub created: i64,
    pub updated: i64,
}

impl Queryable for RatePlan {
    const OBJECT: &'static str = "RatePlan";
    const FIELDS: &'static [&'static str] =
        &["Id", "SubscriptionId", "Name", "ProductRatePlanId", "AmendmentType", "CreatedDate", "UpdatedDate"];
    fn value(&self, name: &str) -> Value {
        match name {
            "Id" => text(&self.id),
            "SubscriptionId" => text(&self.subscription_id),
            "Name" => text(&self.name),
            "ProductRatePlanId" => text(&format!("{}pr", &self.id[..30])),
            "CreatedDate" => text(&datetime(self.created)),
            "UpdatedDate" => text(&datetime(self.updated)),
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RatePlanCharge {
    pub id: String,
    pub rate_plan_id: String,
    pub name: String,
    pub charge_number: String,
    /// `Recurring`, `OneTime` or `Usage`.
    pub charge_type: String,
    /// `Flat Fee Pricing`, `Per Unit Pricing`, `Discount-Percentage`, ...
    pub charge_model: String,
    /// `Month`, `Quarter`, `Annual`, ...
    pub billing_period: String,
    /// Minor units of the account's currency.
    pub price: i64,
    pub quantity: i64,
    pub currency: String,
    /// Zuora's monthly figure, exact decimal text (`83.333333333`).
    pub mrr: String,
    pub effective_start: NaiveDate,
    pub effective_end: Option<NaiveDate>,
    pub segment: i64,
    pub is_last_segment: bool,
    pub created: i64,
    pub updated: i64,
}

impl Queryable for RatePlanCharge {
    const OBJECT: &'static str = "RatePlanCharge";
    const FIELDS: &'static [&'static str] = &[
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
        "TCV",
        "EffectiveStartDate",
        "EffectiveEndDate",
        "Segment",
        "IsLastSegment",
        "CreatedDate",
        "UpdatedDate",
    ];
    fn value(&self, name: &str) -> Value {
        match name {
            "Id" => text(&self.id),
            "RatePlanId" => text(&self.rate_plan_id),
            "Name" => text(&self.name),
            "ChargeNumber" => text(&self.charge_number),
            "ChargeType" => text(&self.charge_type),
            "ChargeModel" => text(&self.charge_model),
            "BillingPeriod" => text(&self.billing_period),
            "Price" => number(&major(self.price, &self.currency)),
            "Quantity" => Value::from(self.quantity),
            "MRR" => number(&self.mrr),
            "EffectiveStartDate" => text(&day(self.effective_start)),
            "EffectiveEndDate" => opt_day(self.effective_end),
            "Segment" => Value::from(self.segment),
            "IsLastSegment" => Value::Bool(self.is_last_segment),
            "CreatedDate" => text(&datetime(self.created)),
            "UpdatedDate" => text(&datetime(self.updated)),
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub account_id: String,
    pub number: String,
    pub date: NaiveDate,
    pub due: NaiveDate,
    pub currency: String,
    /// Minor units.
    pub amount: i64,
    pub tax: i64,
    pub balance: i64,
    /// `Draft`, `Posted` or `Canceled`.
    pub status: String,
    pub created: i64,
    pub updated: i64,
}

impl Queryable for Invoice {
    const OBJECT: &'static str = "Invoice";
    const FIELDS: &'static [&'static str] = &[
        "Id",
        "AccountId",
        "InvoiceNumber",
        "InvoiceDate",
        "DueDate",
        "Amount",
        "AmountWithoutTax",
        "TaxAmount",
        "Balance",
        "Status",
        "CreatedDate",
        "UpdatedDate",
    ];
    fn value(&self, name: &str) -> Value {
        let m = |v: i64| number(&major(v, &self.currency));
        match name {
            "Id" => text(&self.id),
            "AccountId" => text(&self.account_id),
            "InvoiceNumber" => text(&self.number),
            "InvoiceDate" => text(&day(self.date)),
            "DueDate" => text(&day(self.due)),
            "Amount" => m(self.amount),
            "AmountWithoutTax" => m(self.amount - self.tax),
            "TaxAmount" => m(self.tax),
            "Balance" => m(self.balance),
            "Status" => text(&self.status),
            "CreatedDate" => text(&datetime(self.created)),
            "UpdatedDate" => text(&datetime(self.updated)),
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceItem {
    pub id: String,
    pub invoice_id: String,
    pub subscription_id: Option<String>,
    pub rate_plan_charge_id: Option<String>,
    pub charge_name: String,
    /// 0 a charge, 1 a discount, 2 a prepayment, 3 tax.
    pub processing_type: i64,
    pub service_start: NaiveDate,
    /// The last day served (inclusive).
    pub service_end: NaiveDate,
    pub currency: String,
    /// Minor units; negative for a credit.
    pub charge_amount: i64,
    pub unit_price: i64,
    pub quantity: i64,
    pub created: i64,
    pub updated: i64,
}

impl Queryable for InvoiceItem {
    const OBJECT: &'static str = "InvoiceItem";
    const FIELDS: &'static [&'static str] = &[
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
        "CreatedDate",
        "UpdatedDate",
    ];
    fn value(&self, name: &str) -> Value {
        let m = |v: i64| number(&major(v, &self.currency));
        match name {
            "Id" => text(&self.id),
            "InvoiceId" => text(&self.invoice_id),
            "SubscriptionId" => self.subscription_id.as_deref().map_or(Value::Null, text),
            "RatePlanChargeId" => self.rate_plan_charge_id.as_deref().map_or(Value::Null, text),
            "ChargeName" => text(&self.charge_name),
            "ProcessingType" => Value::from(self.processing_type),
            "ServiceStartDate" => text(&day(self.service_start)),
            "ServiceEndDate" => text(&day(self.service_end)),
            "ChargeAmount" => m(self.charge_amount),
            "UnitPrice" => m(self.unit_price),
            "Quantity" => Value::from(self.quantity),
            "CreatedDate" => text(&datetime(self.created)),
            "UpdatedDate" => text(&datetime(self.updated)),
            _ => Value::Null,
        }
    }
}

/// A tenant's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZuoraData {
    pub accounts: Vec<Account>,
    pub subscriptions: Vec<Subscription>,
    pub rate_plans: Vec<RatePlan>,
    pub charges: Vec<RatePlanCharge>,
    pub invoices: Vec<Invoice>,
    pub invoice_items: Vec<InvoiceItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_amounts_and_times_are_written_as_zuora_writes_them() {
        let a = zuora_id(1);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(zuora_id(1), zuora_id(2));
        assert_eq!(major(4_999, "USD"), "49.99");
        assert_eq!(major(-5, "EUR"), "-0.05");
        assert_eq!(major(5_000, "JPY"), "5000");
        assert_eq!(number("83.333333333").to_string(), "83.333333333");
        assert_eq!(datetime(1_709_294_400), "2024-03-01T12:00:00.000+00:00");
    }
}
