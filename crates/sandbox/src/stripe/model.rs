//! Stripe records as the sandbox holds them, and their JSON in the two shapes the `Stripe-Version`
//! header chooses: the 2025-03-31.basil shape (period dates on subscription items, discounts as a
//! list, `invoice.parent.subscription_details.subscription`, `invoice.total_taxes`) and the older
//! one (top-level `current_period_*`, one `discount` object, `invoice.subscription`, `invoice.tax`).
//! Amounts are integers in the currency's smallest unit, times are Unix seconds.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The version whose field moves the emulator follows.
pub const BASIL: &str = "2025-03-31.basil";
/// The version an account without a pinned version answers in (the spec's, 2020-08-27).
pub const LEGACY: &str = "2020-08-27";

/// The response shape of an API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Before 2025-03-31.
    Legacy,
    /// 2025-03-31.basil and later.
    Basil,
}

impl Shape {
    /// The shape of a `Stripe-Version` value (`2025-03-31.basil`, `2022-11-15`): versions are
    /// dates, so they order as text.
    pub fn of(version: &str) -> Shape {
        let date = version.trim().split('.').next().unwrap_or_default();
        if date >= "2025-03-31" { Shape::Basil } else { Shape::Legacy }
    }
}

/// A customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The currency it is billed in (set by its first subscription).
    pub currency: Option<String>,
}

/// How long a coupon applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    Once,
    /// For this many months.
    Repeating(u32),
    Forever,
}

/// A coupon: a percentage (in basis points) or an amount off.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub id: String,
    pub created: i64,
    pub percent_off_bp: Option<u32>,
    pub amount_off: Option<i64>,
    pub currency: Option<String>,
    pub duration: Duration,
}

/// A coupon applied to a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Discount {
    pub id: String,
    pub coupon: Coupon,
    pub start: i64,
    /// When a `repeating` coupon stops applying.
    pub end: Option<i64>,
}

/// A recurring price.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub id: String,
    pub product: String,
    pub created: i64,
    pub unit_amount: i64,
    pub currency: String,
    /// `day`, `week`, `month` or `year`.
    pub interval: &'static str,
    pub interval_count: u32,
    pub metered: bool,
}

/// A subscription with one item (its price and quantity).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    /// `active`, `past_due`, `trialing`, `canceled`, ...
    pub status: String,
    pub created: i64,
    pub start_date: i64,
    pub item_id: String,
    pub price: Price,
    pub quantity: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub trial_start: Option<i64>,
    pub trial_end: Option<i64>,
    pub discount: Option<Discount>,
}

/// An invoice with one line (a billed period of a subscription, or a one-off charge).
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub customer: String,
    pub customer_email: Option<String>,
    pub subscription: Option<String>,
    pub created: i64,
    pub currency: String,
    /// Before tax, after discounts.
    pub subtotal: i64,
    pub tax: i64,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: String,
    pub period_start: i64,
    pub period_end: i64,
    pub paid_at: Option<i64>,
    pub line_id: String,
    pub description: String,
    pub price: Option<Price>,
    pub quantity: i64,
    /// The invoice of a mid-cycle upgrade or downgrade (`billing_reason: subscription_update`,
    /// `proration_behavior: always_invoice`): its line is the remaining time on the new price,
    /// over `period_start..period_end`, and this is the credit for the unused time on the old.
    pub proration: Option<Credit>,
}

/// The credit line of a proration: unused time on the old price (a negative amount).
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub line_id: String,
    pub price: Price,
    pub quantity: i64,
    pub amount: i64,
}

impl Invoice {
    pub fn total(&self) -> i64 {
        self.subtotal + self.tax
    }
}

/// What an event's `data.object` is: the object as it was when the event happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Snapshot {
    Customer(Customer),
    Subscription(Subscription),
    Invoice(Invoice),
}

/// An event (`customer.deleted`, `customer.subscription.updated`, `invoice.paid`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub created: i64,
    pub kind: String,
    pub object: Snapshot,
}

/// Everything a Stripe account holds, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StripeData {
    pub customers: Vec<Customer>,
    pub subscriptions: Vec<Subscription>,
    pub invoices: Vec<Invoice>,
    pub events: Vec<Event>,
}

fn list(url: String, data: Vec<Value>) -> Value {
    json!({ "object": "list", "data": data, "has_more": false, "url": url })
}

impl Customer {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": self.currency,
            "default_source": null,
            "delinquent": false,
            "description": null,
            "discount": null,
            "email": self.email,
            "invoice_prefix": self.id.chars().skip(4).take(8).collect::<String>().to_uppercase(),
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": null,
                "footer": null,
            },
            "livemode": false,
            "metadata": self.metadata,
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": null,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
        })
    }

    /// What `GET /v1/customers/{id}` answers for a deleted customer.
    pub fn deleted_json(id: &str) -> Value {
        json!({ "id": id, "object": "customer", "deleted": true })
    }
}

impl Coupon {
    pub fn to_json(&self) -> Value {
        let (duration, months) = match self.duration {
            Duration::Once => ("once", None),
            Duration::Repeating(m) => ("repeating", Some(m)),
            Duration::Forever => ("forever", None),
        };
        json!({
            "id": self.id,
            "object": "coupon",
            "amount_off": self.amount_off,
            "created": self.created,
            "currency": self.currency,
            "duration": duration,
            "duration_in_months": months,
            "livemode": false,
            "max_redemptions": null,
            "metadata": {},
            "name": null,
            // Stripe writes percentages as numbers with up to two decimals.
            "percent_off": self.percent_off_bp.map(|bp| f64::from(bp) / 100.0),
            "redeem_by": null,
            "times_redeemed": 1,
            "valid": true,
        })
    }
}

impl Discount {
    pub fn to_json(&self, customer: &str, subscription: &str) -> Value {
        json!({
            "id": self.id,
            "object": "discount",
            "checkout_session": null,
            "coupon": self.coupon.to_json(),
            "customer": customer,
            "end": self.end,
            "invoice": null,
            "invoice_item": null,
            "promotion_code": null,
            "start": self.start,
            "subscription": subscription,
        })
    }
}

impl Price {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "price",
            "active": true,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": self.currency,
            "livemode": false,
            "lookup_key": null,
            "metadata": {},
            "nickname": null,
            "product": self.product,
            "recurring": {
                "aggregate_usage": if self.metered { json!("sum") } else { Value::Null },
                "interval": self.interval,
                "interval_count": self.interval_count,
                "usage_type": if self.metered { "metered" } else { "licensed" },
            },
            "tax_behavior": "exclusive",
            "tiers_mode": null,
            "transform_quantity": null,
            "type": "recurring",
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": self.unit_amount.to_string(),
        })
    }
}

impl Subscription {
    /// The subscription in `shape`; with `expand_discounts` (`expand[]=discounts`), the basil
    /// shape's `discounts` are objects instead of ids.
    pub fn to_json(&self, shape: Shape, expand_discounts: bool) -> Value {
        let mut item = json!({
            "id": self.item_id,
            "object": "subscription_item",
            "billing_thresholds": null,
            "created": self.created,
            "metadata": {},
            "price": self.price.to_json(),
            "quantity": self.quantity,
            "subscription": self.id,
            "tax_rates": [],
        });
        let mut v = json!({
            "id": self.id,
            "object": "subscription",
            "application_fee_percent": null,
            "automatic_tax": { "enabled": false },
            "billing_cycle_anchor": self.start_date,
            "billing_thresholds": null,
            "cancel_at": if self.cancel_at_period_end { json!(self.current_period_end) } else { Value::Null },
            "cancel_at_period_end": self.cancel_at_period_end,
            "canceled_at": self.canceled_at,
            "collection_method": "charge_automatically",
            "created": self.created,
            "currency": self.price.currency,
            "customer": self.customer,
            "days_until_due": null,
            "default_payment_method": null,
            "default_source": null,
            "default_tax_rates": [],
            "ended_at": self.ended_at,
            "latest_invoice": null,
            "livemode": false,
            "metadata": {},
            "next_pending_invoice_item_invoice": null,
            "pause_collection": null,
            "payment_settings": null,
            "pending_invoice_item_interval": null,
            "pending_setup_intent": null,
            "pending_update": null,
            "schedule": null,
            "start_date": self.start_date,
            "status": self.status,
            "transfer_data": null,
            "trial_end": self.trial_end,
            "trial_start": self.trial_start,
        });
        let url = format!("/v1/subscription_items?subscription={}", self.id);
        match shape {
            Shape::Legacy => {
                v["current_period_start"] = json!(self.current_period_start);
                v["current_period_end"] = json!(self.current_period_end);
                v["discount"] = self.discount.as_ref().map_or(Value::Null, |d| d.to_json(&self.customer, &self.id));
                v["items"] = list(url, vec![item]);
            }
            Shape::Basil => {
                item["current_period_start"] = json!(self.current_period_start);
                item["current_period_end"] = json!(self.current_period_end);
                item["discounts"] = json!([]);
                v["discounts"] = json!(
                    self.discount
                        .iter()
                        .map(|d| if expand_discounts { d.to_json(&self.customer, &self.id) } else { json!(d.id) })
                        .collect::<Vec<_>>()
                );
                v["items"] = list(url, vec![item]);
            }
        }
        v
    }
}

impl Invoice {
    pub fn to_json(&self, shape: Shape) -> Value {
        let paid = self.status == "paid";
        let finalized = (self.status != "draft").then_some(self.created);
        let credit = self.proration.as_ref().map_or(0, |c| c.amount);
        let line = json!({
            "id": self.line_id,
            "object": "line_item",
            "amount": self.subtotal - credit,
            "currency": self.currency,
            "description": self.description,
            "discount_amounts": [],
            "discountable": true,
            "discounts": [],
            "livemode": false,
            "metadata": {},
            "period": { "start": self.period_start, "end": self.period_end },
            "proration": self.proration.is_some(),
            "quantity": self.quantity,
            "tax_amounts": [],
            "tax_rates": [],
            "type": if self.subscription.is_some() { "subscription" } else { "invoiceitem" },
        });
        let mut v = json!({
            "id": self.id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Sandbox Inc.",
            "account_tax_ids": null,
            "amount_due": self.total(),
            "amount_paid": if paid { self.total() } else { 0 },
            "amount_remaining": if paid { 0 } else { self.total() },
            "application_fee_amount": null,
            "attempt_count": if self.status == "draft" { 0 } else { 1 },
            "attempted": self.status != "draft",
            "auto_advance": self.status == "draft" || self.status == "open",
            "automatic_tax": { "enabled": false, "status": null },
            "billing_reason": match (&self.subscription, &self.proration) {
                (Some(_), Some(_)) => "subscription_update",
                (Some(_), None) => "subscription_cycle",
                (None, _) => "manual",
            },
            "charge": null,
            "collection_method": "charge_automatically",
            "created": self.created,
            "currency": self.currency,
            "custom_fields": null,
            "customer": self.customer,
            "customer_address": null,
            "customer_email": self.customer_email,
            "customer_name": null,
            "customer_phone": null,
            "customer_shipping": null,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": null,
            "default_source": null,
            "default_tax_rates": [],
        });
        // Two literals: one would pass `json!`'s recursion limit.
        let rest = json!({
            "description": null,
            "discounts": [],
            "due_date": null,
            "ending_balance": if self.status == "draft" { Value::Null } else { json!(0) },
            "footer": null,
            "hosted_invoice_url": null,
            "invoice_pdf": null,
            "last_finalization_error": null,
            "livemode": false,
            "metadata": {},
            "next_payment_attempt": null,
            "number": null,
            "on_behalf_of": null,
            "paid": paid,
            "paid_out_of_band": false,
            "payment_intent": null,
            "payment_settings": { "payment_method_options": null, "payment_method_types": null },
            "period_end": self.period_end,
            "period_start": self.period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "quote": null,
            "receipt_number": null,
            "starting_balance": 0,
            "statement_descriptor": null,
            "status": self.status,
            "status_transitions": {
                "finalized_at": finalized,
                "marked_uncollectible_at": null,
                "paid_at": self.paid_at,
                "voided_at": null,
            },
            "subtotal": self.subtotal,
            "test_clock": null,
            "total": self.total(),
            "total_discount_amounts": [],
            "transfer_data": null,
            "webhooks_delivered_at": self.created,
        });
        if let (Some(v), Value::Object(rest)) = (v.as_object_mut(), rest) {
            v.extend(rest);
        }
        let url = format!("/v1/invoices/{}/lines", self.id);
        let mut lines = Vec::with_capacity(2);
        if let Some(c) = &self.proration {
            let mut credit = line.clone();
            credit["id"] = json!(c.line_id);
            credit["amount"] = json!(c.amount);
            credit["quantity"] = json!(c.quantity);
            credit["description"] = json!(format!("Unused time on {} × plan", c.quantity));
            lines.push((credit, Some(&c.price)));
        }
        lines.push((line, self.price.as_ref()));
        let lines: Vec<Value> = lines.into_iter().map(|(line, price)| self.line_json(line, price, shape)).collect();
        match shape {
            Shape::Legacy => {
                v["subscription"] = json!(self.subscription);
                v["subscription"] = json!(self.subscription);
                v["tax"] = if self.tax == 0 { Value::Null } else { json!(self.tax) };
                v["total_tax_amounts"] = json!([]);
                v["discount"] = Value::Null;
            }
            Shape::Basil => {
                v["parent"] = match &self.subscription {
                    Some(s) => json!({
                        "type": "subscription_details",
                        "quote_details": null,
                        "subscription_details": { "metadata": {}, "subscription": s },
                    }),
                    None => Value::Null,
                };
                v["total_taxes"] = if self.tax == 0 {
                    json!([])
                } else {
                    json!([{ "amount": self.tax, "tax_behavior": "exclusive", "taxability_reason": "standard_rated", "type": "tax_rate_details" }])
                };
            }
        }
        v["lines"] = list(url, lines);
        v
    }

    /// A line in the version's shape: the price and the subscription on the line (legacy), or
    /// `pricing` and `parent` (basil).
    fn line_json(&self, mut line: Value, price: Option<&Price>, shape: Shape) -> Value {
        match shape {
            Shape::Legacy => {
                line["price"] = price.map_or(Value::Null, Price::to_json);
                line["subscription"] = json!(self.subscription);
            }
            Shape::Basil => {
                line["pricing"] = json!({
                    "type": "price_details",
                    "price_details": price.map(|p| json!({ "price": p.id, "product": p.product })),
                    "unit_amount_decimal": price.map(|p| p.unit_amount.to_string()),
                });
                line["parent"] = match &self.subscription {
                    Some(s) => json!({
                        "type": "subscription_item_details",
                        "subscription_item_details": {
                            "subscription": s, "subscription_item": null, "proration": self.proration.is_some(),
                        },
                    }),
                    None => Value::Null,
                };
            }
        }
        line
    }
}

impl Snapshot {
    pub fn id(&self) -> &str {
        match self {
            Snapshot::Customer(c) => &c.id,
            Snapshot::Subscription(s) => &s.id,
            Snapshot::Invoice(i) => &i.id,
        }
    }

    pub fn to_json(&self, shape: Shape) -> Value {
        match self {
            Snapshot::Customer(c) => c.to_json(),
            // Events carry objects unexpanded, as Stripe sends them.
            Snapshot::Subscription(s) => s.to_json(shape, false),
            Snapshot::Invoice(i) => i.to_json(shape),
        }
    }
}

impl Event {
    pub fn to_json(&self, shape: Shape) -> Value {
        json!({
            "id": self.id,
            "object": "event",
            "api_version": if shape == Shape::Basil { BASIL } else { LEGACY },
            "created": self.created,
            "data": { "object": self.object.to_json(shape) },
            "livemode": false,
            "pending_webhooks": 0,
            "request": { "id": null, "idempotency_key": null },
            "type": self.kind,
        })
    }
}

/// Stripe's ids: a prefix and 24 base-62 characters, minted from a sequence (fixed width, so
/// that ids of one prefix order as their numbers do).
pub fn stripe_id(prefix: &str, n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 24];
    let mut n = n;
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    format!("{prefix}_{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_choose_the_shape_by_date() {
        assert_eq!(Shape::of(BASIL), Shape::Basil);
        assert_eq!(Shape::of("2025-09-30.clover"), Shape::Basil);
        assert_eq!(Shape::of("2024-06-20"), Shape::Legacy);
        assert_eq!(Shape::of(""), Shape::Legacy);
    }

    #[test]
    fn ids_are_fixed_width_and_ordered() {
        let (a, b) = (stripe_id("cus", 61), stripe_id("cus", 62));
        assert_eq!(a.len(), 28);
        assert!(a < b, "{a} {b}");
        assert!(b.ends_with("10"));
    }
}
