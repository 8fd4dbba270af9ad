//! Xero records as the sandbox holds them, and their JSON as the Accounting API 2.0 returns it:
//! PascalCase members, Microsoft JSON dates (`/Date(1439434356790+0000)/`), amounts as JSON
//! numbers in major units written exactly from minor units.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Number, Value, json};

/// Xero's wire form of an instant: `/Date(<epoch ms>+0000)/`.
pub fn ms_date(t: DateTime<Utc>) -> String {
    format!("/Date({}+0000)/", t.timestamp_millis())
}

/// A calendar date field's companion text (`DateString`: `2024-03-01T00:00:00`).
fn date_string(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT00:00:00").to_string()
}

/// Decimal places of a currency's major unit.
pub fn exponent(currency: &str) -> u32 {
    if currency == "JPY" { 0 } else { 2 }
}

/// `minor` units of `currency` as a JSON number in major units, exactly (`4999` USD → `49.99`).
pub fn amount(minor: i64, currency: &str) -> Value {
    let e = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let text = if e == 0 {
        format!("{sign}{abs}")
    } else {
        let scale = 10u64.pow(e);
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = e as usize)
    };
    Number::from_str(&text).map(Value::Number).unwrap_or(Value::Null)
}

/// A Xero contact (the customer). Contacts are never deleted, only archived.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub name: String,
    /// Our account id when the customer filled it in.
    pub account_number: Option<String>,
    pub email: Option<String>,
    /// `ACTIVE` or `ARCHIVED`.
    pub status: String,
    pub updated: DateTime<Utc>,
}

/// One line of an invoice or a repeating invoice: `quantity` as Xero's decimal text (`1.0000`).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub description: String,
    pub item_code: Option<String>,
    pub quantity: String,
    pub unit_amount: i64,
}

impl Line {
    /// `UnitAmount` × `Quantity` in minor units, exactly: the seed's quantities are whole
    /// (`2.0000`), and a fractional one rounds half away from zero to the minor unit, as Xero
    /// rounds a line amount.
    pub fn amount(&self) -> i64 {
        let (int, frac) = self.quantity.trim().split_once('.').unwrap_or((self.quantity.trim(), ""));
        let places = u32::try_from(frac.len()).unwrap_or(0);
        let digits: i128 = format!("{int}{frac}").parse().unwrap_or(10i128.pow(places));
        let scale = 10i128.pow(places);
        let product = i128::from(self.unit_amount) * digits;
        let rounded = (product + product.signum() * scale / 2) / scale;
        i64::try_from(rounded).unwrap_or(i64::MAX)
    }

    fn to_json(&self, currency: &str) -> Value {
        json!({
            "Description": self.description,
            "ItemCode": self.item_code,
            "Quantity": Number::from_str(&self.quantity).map(Value::Number).unwrap_or(Value::Null),
            "UnitAmount": amount(self.unit_amount, currency),
            "LineAmount": amount(self.amount(), currency),
            "AccountCode": "200",
            "TaxType": "NONE",
            "TaxAmount": amount(0, currency),
        })
    }
}

/// A sales invoice (`ACCREC`): `DRAFT`, `SUBMITTED`, `AUTHORISED`, `PAID`, `VOIDED` or `DELETED`.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    /// `ACCREC` (sales) or `ACCPAY` (bills).
    pub kind: String,
    pub contact_id: String,
    pub contact_name: String,
    pub status: String,
    pub currency: String,
    pub lines: Vec<Line>,
    pub date: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub amount_paid: i64,
    pub paid_on: Option<DateTime<Utc>>,
    /// The repeating invoice it was raised from.
    pub repeating_id: Option<String>,
    pub updated: DateTime<Utc>,
}

impl Invoice {
    pub fn total(&self) -> i64 {
        self.lines.iter().map(Line::amount).sum()
    }
}

/// A payment against an invoice: `AUTHORISED` or `DELETED`.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub id: String,
    pub invoice_id: String,
    pub invoice_number: String,
    pub contact_id: String,
    pub contact_name: String,
    pub currency: String,
    pub amount: i64,
    pub date: DateTime<Utc>,
    pub status: String,
    pub updated: DateTime<Utc>,
}

/// A repeating invoice template: `DRAFT`, `AUTHORISED` or `DELETED`; every `period` `unit`s
/// (`WEEKLY` or `MONTHLY`).
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatingInvoice {
    pub id: String,
    pub kind: String,
    pub contact_id: String,
    pub contact_name: String,
    pub status: String,
    pub currency: String,
    pub unit: String,
    pub period: u32,
    pub start: DateTime<Utc>,
    pub next: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub lines: Vec<Line>,
    pub reference: Option<String>,
    /// Not served (Xero keeps no update time on templates); orders the store.
    pub updated: DateTime<Utc>,
}

/// Everything an organisation holds, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct XeroData {
    pub contacts: Vec<Contact>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub repeating_invoices: Vec<RepeatingInvoice>,
}

fn contact_ref(id: &str, name: &str) -> Value {
    json!({ "ContactID": id, "Name": name })
}

impl Contact {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "ContactID": self.id,
            "ContactStatus": self.status,
            "Name": self.name,
            "IsCustomer": true,
            "IsSupplier": false,
            "UpdatedDateUTC": ms_date(self.updated),
            // Xero lists a contact's groups and people even when it has none (clients index
            // them: tap-xero does).
            "ContactGroups": [],
            "ContactPersons": [],
            "HasAttachments": false,
            "HasValidationErrors": false,
        });
        if let Some(n) = &self.account_number {
            v["AccountNumber"] = json!(n);
        }
        if let Some(e) = &self.email {
            v["EmailAddress"] = json!(e);
        }
        v
    }
}

impl Invoice {
    pub fn to_json(&self) -> Value {
        let c = &self.currency;
        let total = self.total();
        let mut v = json!({
            "Type": self.kind,
            "InvoiceID": self.id,
            "InvoiceNumber": self.number,
            "Contact": contact_ref(&self.contact_id, &self.contact_name),
            "Status": self.status,
            "LineAmountTypes": "Exclusive",
            "LineItems": self.lines.iter().map(|l| l.to_json(c)).collect::<Vec<_>>(),
            "Date": ms_date(self.date),
            "DateString": date_string(self.date),
            "DueDate": ms_date(self.due),
            "DueDateString": date_string(self.due),
            "CurrencyCode": c,
            "CurrencyRate": Number::from_str("1.000000").map(Value::Number).unwrap_or(Value::Null),
            "SubTotal": amount(total, c),
            "TotalTax": amount(0, c),
            "Total": amount(total, c),
            "AmountDue": amount(if matches!(self.status.as_str(), "VOIDED" | "DELETED") { 0 } else { total - self.amount_paid }, c),
            "AmountPaid": amount(self.amount_paid, c),
            "AmountCredited": amount(0, c),
            "UpdatedDateUTC": ms_date(self.updated),
            "HasAttachments": false,
        });
        if let Some(p) = self.paid_on {
            v["FullyPaidOnDate"] = json!(ms_date(p));
        }
        if let Some(r) = &self.repeating_id {
            v["RepeatingInvoiceID"] = json!(r);
        }
        v
    }
}

impl Payment {
    pub fn to_json(&self) -> Value {
        json!({
            "PaymentID": self.id,
            "Date": ms_date(self.date),
            "Amount": amount(self.amount, &self.currency),
            "CurrencyRate": Number::from_str("1.000000").map(Value::Number).unwrap_or(Value::Null),
            "PaymentType": "ACCRECPAYMENT",
            "Status": self.status,
            "UpdatedDateUTC": ms_date(self.updated),
            "IsReconciled": false,
            "HasAccount": false,
            "Invoice": {
                "Type": "ACCREC",
                "InvoiceID": self.invoice_id,
                "InvoiceNumber": self.invoice_number,
                "CurrencyCode": self.currency,
                "Contact": contact_ref(&self.contact_id, &self.contact_name),
            },
            "Account": { "AccountID": "5690f1e8-1d00-4893-90c7-05530c968201", "Code": "090" },
        })
    }
}

impl RepeatingInvoice {
    pub fn to_json(&self) -> Value {
        let c = &self.currency;
        let total: i64 = self.lines.iter().map(Line::amount).sum();
        let mut schedule = json!({
            "Period": self.period,
            "Unit": self.unit,
            "DueDate": 20,
            "DueDateType": "OFFOLLOWINGMONTH",
            "StartDate": ms_date(self.start),
        });
        if let Some(n) = self.next {
            schedule["NextScheduledDate"] = json!(ms_date(n));
        }
        if let Some(e) = self.end {
            schedule["EndDate"] = json!(ms_date(e));
        }
        let mut v = json!({
            "Type": self.kind,
            "RepeatingInvoiceID": self.id,
            "ID": self.id,
            "Contact": contact_ref(&self.contact_id, &self.contact_name),
            "Schedule": schedule,
            "LineItems": self.lines.iter().map(|l| l.to_json(c)).collect::<Vec<_>>(),
            "LineAmountTypes": "Exclusive",
            "CurrencyCode": c,
            "Status": self.status,
            "SubTotal": amount(total, c),
            "TotalTax": amount(0, c),
            "Total": amount(total, c),
            "HasAttachments": false,
        });
        if let Some(r) = &self.reference {
            v["Reference"] = json!(r);
        }
        v
    }
}
