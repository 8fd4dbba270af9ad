//! The Chargebee site's records and their JSON, as API v2 of a Product Catalog 2.0 site answers
//! them: Unix seconds for times, integer minor units for amounts, custom fields as top-level
//! `cf_*` keys, `deleted` on every record, `resource_version` in milliseconds, and each list
//! entry wrapping its record under the object's name.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The customer custom field that holds our account id (`cf_account_id`).
pub const ACCOUNT_ID_FIELD: &str = "cf_account_id";

/// The `meta_data` key some customers carry our account id in instead.
pub const META_DATA_KEY: &str = "account_id";

/// A Chargebee-style id: letters and digits, unique per number (the seed's ids and events').
pub fn event_id(n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(11);
    for _ in 0..11 {
        out.push(DIGITS[(x % 62) as usize] as char);
        x /= 62;
    }
    out
}

/// A customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    /// Custom fields, by their `cf_*` names.
    pub custom: BTreeMap<String, String>,
    pub meta_data: Option<Value>,
    pub preferred_currency_code: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

impl Customer {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        for (k, v) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("email", &self.email),
            ("company", &self.company),
            ("preferred_currency_code", &self.preferred_currency_code),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        m.insert("auto_collection".into(), json!("on"));
        m.insert("net_term_days".into(), json!(0));
        m.insert("allow_direct_debit".into(), json!(false));
        m.insert("created_at".into(), json!(self.created_at));
        m.insert("taxability".into(), json!("taxable"));
        m.insert("updated_at".into(), json!(self.updated_at));
        m.insert("pii_cleared".into(), json!("active"));
        m.insert("channel".into(), json!("web"));
        m.insert("resource_version".into(), json!(self.updated_at * 1000));
        m.insert("deleted".into(), json!(self.deleted));
        m.insert("object".into(), json!("customer"));
        m.insert("card_status".into(), json!("valid"));
        m.insert("promotional_credits".into(), json!(0));
        m.insert("refundable_credits".into(), json!(0));
        m.insert("excess_payments".into(), json!(0));
        m.insert("unbilled_charges".into(), json!(0));
        if let Some(meta) = &self.meta_data {
            m.insert("meta_data".into(), meta.clone());
        }
        for (k, v) in &self.custom {
            m.insert(k.clone(), json!(v));
        }
        Value::Object(m)
    }
}

/// How a coupon discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Basis points off (`discount_percentage` 20.0 is 2000).
    Percentage(u32),
    /// Minor units off each invoice.
    FixedAmount(i64),
}

/// How long a coupon applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationType {
    OneTime,
    Forever,
    /// For this many months.
    LimitedPeriod(u32),
}

/// A coupon (`/api/v2/coupons/{id}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    pub id: String,
    pub name: String,
    pub discount: Discount,
    pub currency_code: Option<String>,
    pub duration: DurationType,
    pub created_at: i64,
}

impl Coupon {
    pub fn to_json(&self) -> Value {
        let mut c = json!({
            "id": self.id,
            "name": self.name,
            "invoice_name": self.name,
            "status": "active",
            "apply_on": "invoice_amount",
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "resource_version": self.created_at * 1000,
            "redemptions": 1,
            "object": "coupon",
        });
        match self.discount {
            Discount::Percentage(bp) => {
                c["discount_type"] = json!("percentage");
                c["discount_percentage"] = json!(f64::from(bp) / 100.0);
            }
            Discount::FixedAmount(a) => {
                c["discount_type"] = json!("fixed_amount");
                c["discount_amount"] = json!(a);
                c["currency_code"] = json!(self.currency_code);
            }
        }
        match self.duration {
            DurationType::OneTime => c["duration_type"] = json!("one_time"),
            DurationType::Forever => c["duration_type"] = json!("forever"),
            DurationType::LimitedPeriod(months) => {
                c["duration_type"] = json!("limited_period");
                c["period"] = json!(months);
                c["period_unit"] = json!("month");
            }
        }
        c
    }
}

/// A coupon applied to a subscription: its id, and when a limited-period one stops applying.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub coupon_id: String,
    pub apply_till: Option<i64>,
    pub applied_count: u32,
}

/// A subscription (one plan item price).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub customer_id: String,
    /// `future`, `in_trial`, `active`, `non_renewing`, `paused`, `cancelled`.
    pub status: String,
    pub currency_code: String,
    pub item_price_id: String,
    pub unit_price: i64,
    pub quantity: i64,
    /// `week`, `month`, `year` (and `day`).
    pub billing_period_unit: &'static str,
    pub billing_period: u32,
    /// Chargebee's own figure, in minor units (one subscription's is stale, on purpose).
    pub mrr: i64,
    pub trial_start: Option<i64>,
    pub trial_end: Option<i64>,
    pub started_at: i64,
    pub activated_at: Option<i64>,
    pub current_term_start: Option<i64>,
    pub current_term_end: Option<i64>,
    pub next_billing_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub cancel_schedule_created_at: Option<i64>,
    pub coupons: Vec<Applied>,
    /// Due invoices since: `payment_due` ones left unpaid.
    pub due_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

impl Subscription {
    pub fn to_json(&self) -> Value {
        let mut s = json!({
            "id": self.id,
            "billing_period": self.billing_period,
            "billing_period_unit": self.billing_period_unit,
            "customer_id": self.customer_id,
            "status": self.status,
            "currency_code": self.currency_code,
            "started_at": self.started_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "has_scheduled_changes": false,
            "channel": "web",
            "resource_version": self.updated_at * 1000,
            "deleted": self.deleted,
            "object": "subscription",
            "due_invoices_count": if self.due_since.is_some() { 1 } else { 0 },
            "mrr": self.mrr,
            "exchange_rate": 1.0,
            "base_currency_code": self.currency_code,
            "has_scheduled_advance_invoices": false,
            "subscription_items": [{
                "item_price_id": self.item_price_id,
                "item_type": "plan",
                "quantity": self.quantity,
                "unit_price": self.unit_price,
                "amount": self.unit_price * self.quantity,
                "free_quantity": 0,
                "object": "subscription_item",
            }],
        });
        let opt = |s: &mut Value, k: &str, v: Option<i64>| {
            if let Some(v) = v {
                s[k] = json!(v);
            }
        };
        opt(&mut s, "trial_start", self.trial_start);
        opt(&mut s, "trial_end", self.trial_end);
        opt(&mut s, "activated_at", self.activated_at);
        opt(&mut s, "current_term_start", self.current_term_start);
        opt(&mut s, "current_term_end", self.current_term_end);
        opt(&mut s, "next_billing_at", self.next_billing_at);
        opt(&mut s, "cancelled_at", self.cancelled_at);
        opt(&mut s, "cancel_schedule_created_at", self.cancel_schedule_created_at);
        opt(&mut s, "due_since", self.due_since);
        if !self.coupons.is_empty() {
            s["coupons"] = self
                .coupons
                .iter()
                .map(|c| {
                    let mut a = json!({"coupon_id": c.coupon_id, "applied_count": c.applied_count, "object": "coupon"});
                    if let Some(t) = c.apply_till {
                        a["apply_till"] = json!(t);
                    }
                    a
                })
                .collect();
        }
        s
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: String,
    pub date_from: i64,
    pub date_to: i64,
    pub unit_amount: i64,
    pub quantity: i64,
    /// Negative for a proration's credit of the old price.
    pub amount: i64,
    pub discount_amount: i64,
    pub tax_amount: i64,
    /// `plan_item_price`, `charge_item_price`, `adhoc`.
    pub entity_type: &'static str,
    pub entity_id: Option<String>,
    pub description: String,
}

impl Line {
    fn to_json(&self, invoice: &Invoice) -> Value {
        let mut line = json!({
            "id": self.id,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "unit_amount": self.unit_amount,
            "quantity": self.quantity,
            "amount": self.amount,
            "pricing_model": "per_unit",
            "is_taxed": self.tax_amount != 0,
            "tax_amount": self.tax_amount,
            "object": "line_item",
            "subscription_id": invoice.subscription_id,
            "customer_id": invoice.customer_id,
            "description": self.description,
            "entity_type": self.entity_type,
            "discount_amount": self.discount_amount,
            "item_level_discount_amount": 0,
        });
        if let Some(e) = &self.entity_id {
            line["entity_id"] = json!(e);
        }
        line
    }
}

/// An invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub id: String,
    pub customer_id: String,
    pub subscription_id: Option<String>,
    pub recurring: bool,
    /// `paid`, `posted`, `payment_due`, `not_paid`, `voided`, `pending`.
    pub status: String,
    pub date: i64,
    pub due_date: Option<i64>,
    pub paid_at: Option<i64>,
    pub currency_code: String,
    pub tax: i64,
    pub lines: Vec<Line>,
    pub updated_at: i64,
    pub deleted: bool,
}

impl Invoice {
    /// What the lines add up to before tax (discounts deducted).
    pub fn sub_total(&self) -> i64 {
        self.lines.iter().map(|l| l.amount - l.discount_amount).sum()
    }

    pub fn total(&self) -> i64 {
        self.sub_total() + self.tax
    }

    pub fn to_json(&self) -> Value {
        let total = self.total();
        let paid = if self.status == "paid" { total } else { 0 };
        let lines: Vec<Value> = self.lines.iter().map(|l| l.to_json(self)).collect();
        let mut i = json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "recurring": self.recurring,
            "status": self.status,
            "price_type": "tax_exclusive",
            "date": self.date,
            "exchange_rate": 1.0,
            "total": total,
            "amount_paid": paid,
            "amount_adjusted": 0,
            "write_off_amount": 0,
            "credits_applied": 0,
            "amount_due": if self.status == "voided" { 0 } else { total - paid },
            "updated_at": self.updated_at,
            "resource_version": self.updated_at * 1000,
            "deleted": self.deleted,
            "object": "invoice",
            "first_invoice": false,
            "amount_to_collect": if self.status == "voided" { 0 } else { total - paid },
            "round_off_amount": 0,
            "has_advance_charges": false,
            "currency_code": self.currency_code,
            "base_currency_code": self.currency_code,
            "tax": self.tax,
            "sub_total": self.sub_total(),
            "line_items": lines,
        });
        if let Some(s) = &self.subscription_id {
            i["subscription_id"] = json!(s);
        }
        if let Some(d) = self.due_date {
            i["due_date"] = json!(d);
            i["net_term_days"] = json!(0);
        }
        if let Some(p) = self.paid_at {
            i["paid_at"] = json!(p);
        }
        i
    }
}

/// A Chargebee site's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargebeeData {
    pub customers: Vec<Customer>,
    pub subscriptions: Vec<Subscription>,
    pub invoices: Vec<Invoice>,
    pub coupons: Vec<Coupon>,
}
