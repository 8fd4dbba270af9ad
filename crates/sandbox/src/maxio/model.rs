//! Maxio records as the sandbox holds them, and their JSON as Maxio renders it: ids are integers
//! (invoices have a `uid`), times are ISO-8601 in the site's zone (the emulated site keeps
//! UTC−05:00 all year, so `2026-01-10T07:00:00-05:00`), amounts on subscriptions and products are
//! `*_in_cents` integers and amounts on invoices decimal strings of the major unit written as
//! Ruby's `BigDecimal` writes them (`"29.9"`, `"5000.0"`), and a price point's `currency_prices`
//! hold JSON numbers.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde_json::{Value, json};

/// The site's zone: five hours west of UTC.
pub const SITE_OFFSET_SECONDS: i32 = -5 * 3600;

/// The site's own currency: a price point's `price_in_cents` is in it.
pub const SITE_CURRENCY: &str = "USD";

pub(crate) fn site_time(secs: i64) -> String {
    let zone = FixedOffset::east_opt(SITE_OFFSET_SECONDS).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap());
    let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().with_timezone(&zone);
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn site_time_opt(secs: Option<i64>) -> Value {
    secs.map_or(Value::Null, |s| json!(site_time(s)))
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn exponent(currency: &str) -> u32 {
    if currency.eq_ignore_ascii_case("JPY") { 0 } else { 2 }
}

/// Minor units as Maxio's decimal text: the exact value with at least one decimal and no
/// trailing zeros beyond it (`2990` USD → `"29.9"`, `5000` JPY → `"5000.0"`, `-5` → `"-0.05"`).
pub fn decimal(minor: i64, currency: &str) -> String {
    let e = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(e);
    let mut frac = if e == 0 { String::new() } else { format!("{:0width$}", abs % scale, width = e as usize) };
    while frac.ends_with('0') {
        frac.pop();
    }
    if frac.is_empty() {
        frac.push('0');
    }
    format!("{sign}{}.{frac}", abs / scale)
}

/// A customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub organization: Option<String>,
    /// The customer's id in the merchant's own systems: our account id, where set.
    pub reference: Option<String>,
    pub created: i64,
    pub updated: i64,
}

impl Customer {
    pub fn to_json(&self) -> Value {
        json!({
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email.clone().unwrap_or_default(),
            "cc_emails": null,
            "organization": self.organization,
            "reference": self.reference,
            "id": self.id,
            "created_at": site_time(self.created),
            "updated_at": site_time(self.updated),
            "address": null,
            "address_2": null,
            "city": null,
            "state": null,
            "state_name": null,
            "zip": null,
            "country": null,
            "country_name": null,
            "phone": null,
            "verified": false,
            "portal_customer_created_at": null,
            "portal_invite_last_sent_at": null,
            "portal_invite_last_accepted_at": null,
            "tax_exempt": false,
            "vat_number": null,
            "parent_id": null,
            "locale": "en-US",
        })
    }
}

/// A product with its one (default) price point, priced in several currencies.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    pub handle: String,
    pub name: String,
    /// `interval` × `interval_unit` (`month` or `day`): a year is 12 months, a week 7 days.
    pub interval: i64,
    pub interval_unit: &'static str,
    pub price_point_id: i64,
    /// The price per period in each currency, minor units (the site's currency first).
    pub prices: Vec<(&'static str, i64)>,
    pub created: i64,
}

impl Product {
    pub fn price(&self, currency: &str) -> Option<i64> {
        self.prices.iter().find(|(c, _)| c.eq_ignore_ascii_case(currency)).map(|(_, p)| *p)
    }

    fn site_price(&self) -> i64 {
        self.price(SITE_CURRENCY).unwrap_or_default()
    }

    /// The product as a subscription embeds it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "handle": self.handle,
            "description": "",
            "accounting_code": null,
            "request_credit_card": true,
            "expiration_interval": null,
            "expiration_interval_unit": "never",
            "created_at": site_time(self.created),
            "updated_at": site_time(self.created),
            "price_in_cents": self.site_price(),
            "interval": self.interval,
            "interval_unit": self.interval_unit,
            "initial_charge_in_cents": null,
            "trial_price_in_cents": 0,
            "trial_interval": 14,
            "trial_interval_unit": "day",
            "archived_at": null,
            "require_credit_card": true,
            "return_params": "",
            "taxable": true,
            "update_return_url": "",
            "initial_charge_after_trial": false,
            "version_number": 1,
            "update_return_params": "",
            "product_family": {
                "id": 1,
                "name": "Plans",
                "handle": "plans",
                "accounting_code": null,
                "description": "",
                "created_at": site_time(self.created),
                "updated_at": site_time(self.created),
            },
            "public_signup_pages": [],
            "product_price_point_name": "Default",
            "request_billing_address": false,
            "require_billing_address": false,
            "require_shipping_address": false,
            "tax_code": null,
            "default_product_price_point_id": self.price_point_id,
            "use_site_exchange_rate": false,
            "item_category": null,
            "product_price_point_id": self.price_point_id,
            "product_price_point_handle": "original",
        })
    }

    /// `GET /products/{id}/price_points/{id}.json`; `currency_prices` only when asked for.
    pub fn price_point_json(&self, currency_prices: bool) -> Value {
        let mut p = json!({
            "id": self.price_point_id,
            "name": "Original",
            "handle": "original",
            "price_in_cents": self.site_price(),
            "interval": self.interval,
            "interval_unit": self.interval_unit,
            "trial_price_in_cents": 0,
            "trial_interval": 14,
            "trial_interval_unit": "day",
            "trial_type": "payment_expected",
            "introductory_offer": false,
            "initial_charge_in_cents": null,
            "initial_charge_after_trial": false,
            "expiration_interval": null,
            "expiration_interval_unit": null,
            "product_id": self.id,
            "archived_at": null,
            "created_at": site_time(self.created),
            "updated_at": site_time(self.created),
            "use_site_exchange_rate": false,
            "type": "default",
            "tax_included": false,
        });
        if currency_prices {
            let prices: Vec<Value> = self
                .prices
                .iter()
                .filter(|(c, _)| *c != SITE_CURRENCY)
                .enumerate()
                .map(|(k, (c, minor))| {
                    // A JSON number written with its exact decimal text.
                    let number: Value = serde_json::from_str(&decimal(*minor, c)).unwrap_or(Value::Null);
                    json!({
                        "id": self.price_point_id * 10 + k as i64,
                        "currency": c,
                        "price": number,
                        "formatted_price": format!("{} {c}", decimal(*minor, c)),
                        "product_price_point_id": self.price_point_id,
                        "role": "baseline",
                    })
                })
                .collect();
            p["currency_prices"] = json!(prices);
        }
        json!({ "price_point": p })
    }
}

/// A coupon applied to a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub code: String,
    /// Basis points off (`"20.0"` percent is 2000).
    pub percentage_bp: Option<u32>,
    pub amount_in_cents: Option<i64>,
    /// Applies at every renewal (else the first charge only).
    pub recurring: bool,
    /// How many charges it applies to (`None`: every one).
    pub uses_allowed: Option<i64>,
    pub use_count: i64,
}

impl Coupon {
    fn included_json(&self) -> Value {
        let mut c = json!({
            "code": self.code,
            "use_count": self.use_count,
            "expires_at": null,
            "recurring": self.recurring,
            "amount_in_cents": self.amount_in_cents,
            "percentage": self.percentage_bp.map(|bp| decimal(i64::from(bp), "USD")),
        });
        // The spec's `uses_allowed` is an integer: a coupon without a limit leaves it out.
        if let Some(n) = self.uses_allowed {
            c["uses_allowed"] = json!(n);
        }
        c
    }
}

/// A subscription to one product.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: i64,
    pub customer: i64,
    pub product: i64,
    pub state: String,
    pub currency: &'static str,
    /// The product's price per period in the subscription's currency, minor units.
    pub price_in_cents: i64,
    pub created: i64,
    pub updated: i64,
    pub activated_at: Option<i64>,
    pub trial_started_at: Option<i64>,
    pub trial_ended_at: Option<i64>,
    pub current_period_started_at: i64,
    pub current_period_ends_at: i64,
    pub cancel_at_end_of_period: bool,
    pub canceled_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub coupon: Option<Coupon>,
    pub balance_in_cents: i64,
}

impl Subscription {
    /// The subscription with its customer and product embedded, as every answer has it;
    /// `coupons` (the coupon terms) only when asked for (`include[]=coupons`).
    pub fn to_json(&self, customer: Option<&Customer>, product: Option<&Product>, coupons: bool) -> Value {
        let previous = match self.state.as_str() {
            "canceled" | "expired" | "trial_ended" | "past_due" => "active",
            other => other,
        };
        let mut s = json!({
            "id": self.id,
            "state": self.state,
            "balance_in_cents": self.balance_in_cents,
            "total_revenue_in_cents": 0,
            "product_price_in_cents": self.price_in_cents,
            "product_version_number": 1,
            "current_period_ends_at": site_time(self.current_period_ends_at),
            "next_assessment_at": site_time(self.current_period_ends_at),
            "trial_started_at": site_time_opt(self.trial_started_at),
            "trial_ended_at": site_time_opt(self.trial_ended_at),
            "activated_at": site_time_opt(self.activated_at),
            "expires_at": site_time_opt(self.expires_at),
            "created_at": site_time(self.created),
            "updated_at": site_time(self.updated),
            "cancellation_message": null,
            "cancellation_method": if self.canceled_at.is_some() { json!("merchant_api") } else { Value::Null },
            "cancel_at_end_of_period": self.cancel_at_end_of_period,
            "canceled_at": site_time_opt(self.canceled_at),
            "current_period_started_at": site_time(self.current_period_started_at),
            "previous_state": previous,
            "signup_payment_id": self.id * 10,
            "signup_revenue": "0.0",
            "delayed_cancel_at": if self.cancel_at_end_of_period { json!(site_time(self.current_period_ends_at)) } else { Value::Null },
            "coupon_code": self.coupon.as_ref().map(|c| c.code.clone()),
            "snap_day": null,
        });
        let more = json!({
            "payment_collection_method": "automatic",
            "customer": customer.map_or(Value::Null, Customer::to_json),
            "product": product.map_or(Value::Null, Product::to_json),
            "group": null,
            "payment_type": "credit_card",
            "referral_code": null,
            "next_product_id": null,
            "next_product_handle": null,
            "coupon_use_count": self.coupon.as_ref().map(|c| c.use_count),
            "coupon_uses_allowed": self.coupon.as_ref().and_then(|c| c.uses_allowed),
            "reason_code": null,
            "automatically_resume_at": null,
            "coupon_codes": self.coupon.as_ref().map_or_else(Vec::new, |c| vec![c.code.clone()]),
            "offer_id": null,
            "payer_id": self.customer,
            "current_billing_amount_in_cents": self.price_in_cents,
            "product_price_point_id": product.map(|p| p.price_point_id),
            "product_price_point_type": "default",
            "next_product_price_point_id": null,
            "net_terms": null,
            "stored_credential_transaction_id": null,
            "reference": null,
            "on_hold_at": null,
            "prepaid_dunning": false,
            "dunning_communication_delay_enabled": false,
            "dunning_communication_delay_time_zone": null,
            "receives_invoice_emails": null,
            "locale": null,
            "currency": self.currency,
            "scheduled_cancellation_at": null,
            "credit_balance_in_cents": 0,
            "prepayment_balance_in_cents": 0,
        });
        if let (Some(map), Value::Object(more)) = (s.as_object_mut(), more) {
            map.extend(more);
        }
        if coupons {
            s["coupons"] = json!(self.coupon.iter().map(Coupon::included_json).collect::<Vec<_>>());
        }
        s
    }
}

/// An invoice line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub uid: String,
    pub title: String,
    /// `baseline` (the product), `initial` (a one-off charge), ...
    pub kind: &'static str,
    pub quantity: i64,
    /// Minor units; a prorated line's is the prorated amount.
    pub unit_price: i64,
    pub discount: i64,
    pub tax: i64,
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub product_id: Option<i64>,
    pub price_point_id: Option<i64>,
}

impl Line {
    pub fn subtotal(&self) -> i64 {
        self.unit_price * self.quantity
    }

    fn to_json(&self, currency: &str) -> Value {
        let subtotal = self.subtotal();
        json!({
            "uid": self.uid,
            "title": self.title,
            "description": self.period.map_or_else(String::new, |(a, b)| format!("{} - {}", a.format("%m/%d/%Y"), b.format("%m/%d/%Y"))),
            "quantity": decimal(self.quantity, "JPY"),
            "unit_price": decimal(self.unit_price, currency),
            "subtotal_amount": decimal(subtotal, currency),
            "discount_amount": decimal(self.discount, currency),
            "tax_amount": decimal(self.tax, currency),
            "total_amount": decimal(subtotal - self.discount + self.tax, currency),
            "tiered_unit_price": false,
            "period_range_start": self.period.map(|(a, _)| day(a)),
            "period_range_end": self.period.map(|(_, b)| day(b)),
            "product_id": self.product_id,
            "product_version": self.product_id.map(|_| 1),
            "component_id": null,
            "price_point_id": self.price_point_id,
            "hide": false,
            "product_price_point_id": self.price_point_id,
            "custom_item": self.kind != "baseline",
            "kind": self.kind,
        })
    }
}

/// An invoice (Relationship Invoicing).
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub uid: String,
    pub id: i64,
    pub customer: i64,
    pub subscription: i64,
    pub number: i64,
    pub created: i64,
    pub updated: i64,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub paid_date: Option<NaiveDate>,
    /// `draft`, `open`, `pending`, `paid`, `voided`, `canceled`.
    pub status: String,
    pub currency: &'static str,
    pub lines: Vec<Line>,
}

impl Invoice {
    pub fn subtotal(&self) -> i64 {
        self.lines.iter().map(Line::subtotal).sum()
    }

    pub fn discount(&self) -> i64 {
        self.lines.iter().map(|l| l.discount).sum()
    }

    pub fn tax(&self) -> i64 {
        self.lines.iter().map(|l| l.tax).sum()
    }

    pub fn total(&self) -> i64 {
        self.subtotal() - self.discount() + self.tax()
    }

    /// The invoice; `lines` when `line_items=true` was asked for.
    pub fn to_json(&self, customer: Option<&Customer>, lines: bool) -> Value {
        let c = self.currency;
        let total = self.total();
        let paid = if self.status == "paid" { total } else { 0 };
        let due = if matches!(self.status.as_str(), "open" | "pending") { total } else { 0 };
        let product = self.lines.iter().find(|l| l.kind == "baseline").map(|l| l.title.clone());
        let mut i = json!({
            "id": self.id,
            "uid": self.uid,
            "site_id": 51288,
            "customer_id": self.customer,
            "subscription_id": self.subscription,
            "number": self.number.to_string(),
            "sequence_number": self.number,
            "transaction_time": site_time(self.created),
            "created_at": site_time(self.created),
            "updated_at": site_time(self.updated),
            "issue_date": day(self.issue_date),
            "due_date": day(self.due_date),
            "paid_date": self.paid_date.map(day),
            "status": self.status,
            "role": if product.is_some() { "renewal" } else { "adhoc" },
            "parent_invoice_id": null,
            "collection_method": "automatic",
            "payment_instructions": "",
            "currency": c,
            "consolidation_level": "none",
            "parent_invoice_uid": null,
            "subscription_group_id": null,
            "parent_invoice_number": null,
            "group_primary_subscription_id": null,
        });
        let more = json!({
            "product_name": product.unwrap_or_default(),
            "product_family_name": "Plans",
            "seller": {
                "name": "Sandbox Inc.",
                "address": {"street": null, "line2": null, "city": null, "state": null, "zip": null, "country": null},
                "phone": "",
                "logo_url": null,
            },
            "customer": customer.map_or(Value::Null, |k| json!({
                "chargify_id": k.id,
                "first_name": k.first_name,
                "last_name": k.last_name,
                "organization": k.organization,
                "email": k.email,
                "vat_number": null,
                "reference": k.reference,
            })),
            "payer": customer.map_or(Value::Null, |k| json!({
                "chargify_id": k.id,
                "first_name": k.first_name,
                "last_name": k.last_name,
                "organization": k.organization,
                "email": k.email,
            })),
            "recipient_emails": [],
            "net_terms": 0,
            "memo": "",
            "billing_address": {"street": null, "line2": null, "city": null, "state": null, "zip": null, "country": null},
            "shipping_address": {"street": null, "line2": null, "city": null, "state": null, "zip": null, "country": null},
            "subtotal_amount": decimal(self.subtotal(), c),
            "discount_amount": decimal(self.discount(), c),
            "tax_amount": decimal(self.tax(), c),
            "total_amount": decimal(total, c),
            "credit_amount": "0.0",
            "refund_amount": "0.0",
            "paid_amount": decimal(paid, c),
            "due_amount": decimal(due, c),
            "public_url": format!("https://www.chargifypay.com/invoice/{}", self.uid),
        });
        if let (Some(map), Value::Object(more)) = (i.as_object_mut(), more) {
            map.extend(more);
        }
        if lines {
            i["line_items"] = json!(self.lines.iter().map(|l| l.to_json(c)).collect::<Vec<_>>());
        }
        i
    }
}

/// A site's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaxioData {
    pub customers: Vec<Customer>,
    pub products: Vec<Product>,
    pub subscriptions: Vec<Subscription>,
    pub invoices: Vec<Invoice>,
    /// Customers deleted before accord first synced: the site no longer serves them.
    pub deleted_customers: Vec<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_maxio_writes_them() {
        assert_eq!(decimal(2990, "USD"), "29.9");
        assert_eq!(decimal(2999, "USD"), "29.99");
        assert_eq!(decimal(5000, "JPY"), "5000.0");
        assert_eq!(decimal(-5, "EUR"), "-0.05");
        assert_eq!(decimal(0, "GBP"), "0.0");
        assert_eq!(site_time(1_768_046_400), "2026-01-10T07:00:00-05:00");
    }
}
