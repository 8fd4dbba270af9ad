//! Recurly records as the sandbox holds them, and their JSON in the v2021-02-25 shape: ids are
//! 12 lowercase base-36 characters, times ISO 8601 in UTC (held as Unix seconds), and amounts
//! JSON numbers in major units (held as integer minor units and written as the exact decimal
//! text of the currency, `49.99`, never through a float).

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Number, Value, json};

/// A Recurly-style id: 12 base-36 characters from `n`.
pub fn recurly_id(n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0005_DEEC_E66D;
    let mut out = vec![b'0'; 12];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(x % 36) as usize];
        x /= 36;
    }
    // The sequence keeps ids unique: the first characters encode `n` itself.
    let mut m = n;
    for slot in out.iter_mut().take(5) {
        *slot = DIGITS[(m % 36) as usize];
        m /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

pub fn iso(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn iso_opt(secs: Option<i64>) -> Value {
    secs.map_or(Value::Null, |s| json!(iso(s)))
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

/// `head` with `rest`'s members added (one `json!` of a whole record is past the macro's
/// recursion limit).
fn merge(mut head: Value, rest: Value) -> Value {
    if let (Some(h), Value::Object(r)) = (head.as_object_mut(), rest) {
        h.extend(r);
    }
    head
}

/// An account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub code: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    /// `active`, or `inactive` once deactivated (`DELETE /accounts/{id}`).
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

impl Account {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "account",
            "state": self.state,
            "hosted_login_token": format!("{:0>32}", self.id),
            "has_live_subscription": false,
            "has_active_subscription": false,
            "has_future_subscription": false,
            "has_canceled_subscription": false,
            "has_paused_subscription": false,
            "has_past_due_invoice": false,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "deleted_at": iso_opt(self.deleted_at),
            "code": self.code,
            "username": null,
            "email": self.email,
            "preferred_locale": null,
            "cc_emails": null,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "vat_number": null,
            "tax_exempt": false,
            "exemption_certificate": null,
            "parent_account_id": null,
            "bill_to": "self",
            "address": null,
            "billing_info": null,
            "custom_fields": [],
        })
    }

    /// The `account` of a subscription, an invoice or a line item (`AccountMini`).
    pub fn mini(&self) -> Value {
        json!({
            "id": self.id,
            "object": "account",
            "code": self.code,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "parent_account_id": null,
            "bill_to": "self",
        })
    }
}

/// A plan: its interval (`months` or `days`, and how many) and its price in each currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: String,
    pub code: String,
    pub name: String,
    pub interval_unit: &'static str,
    pub interval_length: i64,
    /// `(currency, unit amount in minor units)`.
    pub currencies: Vec<(&'static str, i64)>,
    pub created_at: i64,
}

impl Plan {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "plan",
            "code": self.code,
            "state": "active",
            "name": self.name,
            "description": null,
            "interval_unit": self.interval_unit,
            "interval_length": self.interval_length,
            "trial_unit": "days",
            "trial_length": 0,
            "trial_requires_billing_info": true,
            "total_billing_cycles": null,
            "auto_renew": true,
            "pricing_model": "fixed",
            "custom_fields": [],
            "revenue_schedule_type": "evenly",
            "setup_fee_revenue_schedule_type": "evenly",
            "tax_exempt": false,
            "currencies": self.currencies.iter().map(|(c, a)| json!({
                "currency": c, "setup_fee": amount(0, c), "unit_amount": amount(*a, c)
            })).collect::<Vec<_>>(),
            "allow_any_item_on_subscriptions": false,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
            "deleted_at": null,
        })
    }

    pub fn mini(&self) -> Value {
        json!({ "id": self.id, "object": "plan", "code": self.code, "name": self.name })
    }
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Off {
    /// Whole percent.
    Percent(u32),
    /// Minor units of the currency, off each invoice.
    Fixed(&'static str, i64),
}

/// A coupon: `forever`, `single_use` (the first invoice) or `temporal` (`temporal_amount`
/// months from its redemption).
#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub id: String,
    pub code: String,
    pub name: String,
    pub duration: &'static str,
    pub temporal_months: Option<u32>,
    pub off: Off,
    pub created_at: i64,
}

impl Coupon {
    fn discount(&self) -> Value {
        match self.off {
            Off::Percent(p) => json!({ "type": "percent", "percent": p }),
            Off::Fixed(c, a) => json!({ "type": "fixed", "currencies": [{ "currency": c, "amount": amount(a, c) }] }),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "coupon",
            "code": self.code,
            "name": self.name,
            "state": "redeemable",
            "max_redemptions": null,
            "max_redemptions_per_account": null,
            "unique_coupon_codes_count": 0,
            "duration": self.duration,
            "temporal_amount": self.temporal_months,
            "temporal_unit": self.temporal_months.map(|_| "month"),
            "applies_to_all_plans": true,
            "applies_to_all_items": false,
            "applies_to_non_plan_charges": false,
            "redemption_resource": "account",
            "discount": self.discount(),
            "coupon_type": "single_code",
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
            "expired_at": null,
        })
    }

    pub fn mini(&self) -> Value {
        json!({
            "id": self.id,
            "object": "coupon",
            "code": self.code,
            "name": self.name,
            "state": "redeemable",
            "discount": self.discount(),
            "coupon_type": "single_code",
            "expired_at": null,
        })
    }
}

/// A coupon redeemed on a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Redemption {
    pub id: String,
    pub coupon: Coupon,
    /// `active` while it still applies, `inactive` once used up or expired.
    pub state: &'static str,
    pub created_at: i64,
}

/// A subscription of an account to a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub uuid: String,
    pub account_id: String,
    pub plan: Plan,
    /// `active`, `canceled` (expires at `expires_at`), `expired`, `failed`, `future`, `paused`.
    pub state: String,
    pub currency: &'static str,
    pub unit_amount: i64,
    pub quantity: i64,
    pub redemptions: Vec<Redemption>,
    pub current_period_started_at: i64,
    pub current_period_ends_at: i64,
    pub trial_started_at: Option<i64>,
    pub trial_ends_at: Option<i64>,
    pub auto_renew: bool,
    pub remaining_billing_cycles: Option<i64>,
    pub activated_at: Option<i64>,
    pub canceled_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Subscription {
    /// The subscription as listed; `account` is its account (`account_id`) as it is now.
    pub fn to_json(&self, account: &Account) -> Value {
        let c = self.currency;
        let subtotal = self.unit_amount * self.quantity;
        let head = json!({
            "id": self.id,
            "object": "subscription",
            "uuid": self.uuid,
            "account": account.mini(),
            "plan": self.plan.mini(),
            "state": self.state,
            "shipping": null,
            "coupon_redemptions": self.redemptions.iter().map(|r| json!({
                "id": r.id,
                "object": "coupon_redemption",
                "coupon": r.coupon.mini(),
                "state": r.state,
                "discounted": amount(0, c),
                "created_at": iso(r.created_at),
            })).collect::<Vec<_>>(),
            "pending_change": null,
            "current_period_started_at": iso(self.current_period_started_at),
            "current_period_ends_at": iso(self.current_period_ends_at),
            "current_term_started_at": iso(self.current_period_started_at),
            "current_term_ends_at": iso(self.current_period_ends_at),
            "trial_started_at": iso_opt(self.trial_started_at),
            "trial_ends_at": iso_opt(self.trial_ends_at),
            "remaining_billing_cycles": self.remaining_billing_cycles,
            "total_billing_cycles": null,
            "renewal_billing_cycles": null,
            "auto_renew": self.auto_renew,
            "ramp_intervals": [],
            "paused_at": null,
            "remaining_pause_cycles": null,
        });
        let rest = json!({
            "currency": c,
            "revenue_schedule_type": "evenly",
            "unit_amount": amount(self.unit_amount, c),
            "tax_inclusive": false,
            "quantity": self.quantity,
            "add_ons": [],
            "add_ons_total": amount(0, c),
            "subtotal": amount(subtotal, c),
            "tax": amount(0, c),
            "total": amount(subtotal, c),
            "collection_method": "automatic",
            "po_number": null,
            "net_terms": 0,
            "net_terms_type": "net",
            "terms_and_conditions": null,
            "customer_notes": null,
            "expiration_reason": if self.state == "expired" { json!("canceled") } else { Value::Null },
            "custom_fields": [],
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "activated_at": iso_opt(self.activated_at),
            "canceled_at": iso_opt(self.canceled_at),
            "expires_at": iso_opt(self.expires_at),
            "bank_account_authorized_at": null,
            "gateway_code": null,
            "billing_info_id": null,
            "active_invoice_id": null,
            "started_with_gift": false,
            "converted_at": null,
        });
        merge(head, rest)
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    pub id: String,
    /// `charge` or `credit`.
    pub kind: &'static str,
    /// `plan`, `one_time`, ...
    pub origin: &'static str,
    pub subscription_id: Option<String>,
    pub plan: Option<(String, String)>,
    pub description: String,
    /// `unit_amount × quantity × proration`, minor units (negative on a credit).
    pub amount: i64,
    pub unit_amount: i64,
    pub quantity: i64,
    /// The share of the period billed, when prorated.
    pub proration_rate: Option<&'static str>,
    pub start_date: i64,
    pub end_date: Option<i64>,
}

/// An invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    pub account_id: String,
    pub subscription_ids: Vec<String>,
    /// `charge` or `credit`.
    pub kind: &'static str,
    /// `purchase`, `renewal`, `immediate_change`, ...
    pub origin: &'static str,
    /// `pending`, `processing`, `past_due`, `paid`, `failed`, `voided`.
    pub state: String,
    pub currency: &'static str,
    pub discount: i64,
    pub tax: i64,
    pub lines: Vec<LineItem>,
    pub created_at: i64,
    pub updated_at: i64,
    pub due_at: i64,
    pub closed_at: Option<i64>,
}

impl Invoice {
    pub fn subtotal(&self) -> i64 {
        self.lines.iter().map(|l| l.amount).sum::<i64>() - self.discount
    }

    pub fn total(&self) -> i64 {
        self.subtotal() + self.tax
    }

    /// The invoice as listed; `account` is its account (`account_id`) as it is now.
    pub fn to_json(&self, account: &Account) -> Value {
        let c = self.currency;
        let total = self.total();
        let paid = if self.state == "paid" { total } else { 0 };
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|l| {
                let head = json!({
                    "id": l.id,
                    "object": "line_item",
                    "uuid": format!("{:0>32}", l.id),
                    "type": l.kind,
                    "item_code": null,
                    "item_id": null,
                    "external_sku": null,
                    "revenue_schedule_type": "evenly",
                    "state": if self.state == "paid" { "invoiced" } else { "pending" },
                    "legacy_category": null,
                    "account": account.mini(),
                    "bill_for_account_id": account.id,
                    "subscription_id": l.subscription_id,
                    "plan_id": l.plan.as_ref().map(|p| p.0.clone()),
                    "plan_code": l.plan.as_ref().map(|p| p.1.clone()),
                    "add_on_id": null,
                    "add_on_code": null,
                    "invoice_id": self.id,
                    "invoice_number": self.number,
                    "previous_line_item_id": null,
                    "original_line_item_invoice_id": null,
                    "origin": l.origin,
                    "accounting_code": null,
                    "product_code": null,
                    "credit_reason_code": null,
                });
                let rest = json!({
                    "currency": c,
                    "amount": amount(l.amount, c),
                    "description": l.description,
                    "quantity": l.quantity,
                    "unit_amount": amount(l.unit_amount, c),
                    "tax_inclusive": false,
                    "subtotal": amount(l.amount, c),
                    "discount": amount(0, c),
                    "tax": amount(0, c),
                    "taxable": false,
                    "tax_exempt": false,
                    "proration_rate": l.proration_rate.and_then(|r| Number::from_str(r).ok()),
                    "refund": false,
                    "refunded_quantity": null,
                    "credit_applied": null,
                    "shipping_address": null,
                    "start_date": iso(l.start_date),
                    "end_date": iso_opt(l.end_date),
                    "custom_fields": [],
                    "created_at": iso(self.created_at),
                    "updated_at": iso(self.updated_at),
                });
                merge(head, rest)
            })
            .collect();
        let head = json!({
            "id": self.id,
            "uuid": format!("{:0>32}", self.id),
            "object": "invoice",
            "type": self.kind,
            "origin": self.origin,
            "state": self.state,
            "account": account.mini(),
            "billing_info_id": null,
            "subscription_ids": self.subscription_ids,
            "previous_invoice_id": null,
            "number": self.number,
            "collection_method": "automatic",
            "po_number": null,
            "net_terms": 0,
            "net_terms_type": "net",
            "address": null,
            "shipping_address": null,
        });
        let rest = json!({
            "currency": c,
            "discount": amount(self.discount, c),
            "subtotal": amount(self.subtotal(), c),
            "tax": amount(self.tax, c),
            "total": amount(total, c),
            "refundable_amount": amount(paid, c),
            "paid": amount(paid, c),
            "balance": amount(total - paid, c),
            "tax_info": null,
            "used_tax_service": false,
            "vat_number": null,
            "vat_reverse_charge_notes": null,
            "terms_and_conditions": null,
            "customer_notes": null,
            "line_items": lines,
            "has_more_line_items": false,
            "transactions": [],
            "credit_payments": [],
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "due_at": iso(self.due_at),
            "closed_at": iso_opt(self.closed_at),
            "dunning_campaign_id": null,
            "dunning_events_sent": 0,
            "final_dunning_event": false,
            "business_entity_id": null,
        });
        merge(head, rest)
    }
}

/// The site's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecurlyData {
    pub accounts: Vec<Account>,
    pub plans: Vec<Plan>,
    pub coupons: Vec<Coupon>,
    pub subscriptions: Vec<Subscription>,
    pub invoices: Vec<Invoice>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_decimal_numbers() {
        assert_eq!(serde_json::to_string(&amount(4999, "USD")).unwrap(), "49.99");
        assert_eq!(serde_json::to_string(&amount(-5, "EUR")).unwrap(), "-0.05");
        assert_eq!(serde_json::to_string(&amount(5000, "JPY")).unwrap(), "5000");
        assert_eq!(serde_json::to_string(&amount(0, "GBP")).unwrap(), "0.00");
    }

    #[test]
    fn ids_are_unique_base36() {
        let ids: std::collections::BTreeSet<String> = (0..10_000).map(recurly_id).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|i| i.len() == 12 && i.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())));
    }
}
