//! Object kinds and their typed records.
//!
//! Every kind has one list of typed fields (`FieldSpec`s). That one list generates the Rust struct,
//! drives extraction from a source record through a field mapping, and names the typed columns of the
//! kind's table in every store backend, so the three cannot disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::path::FieldPath;
use crate::time::{Timestamp, parse_timestamp};

/// The type of a typed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// Text compared case-insensitively when linking.
    Email,
    Time,
    Bool,
    Int,
    /// A decimal amount in major units (`"12.50"`), kept as integer minor units (1250).
    Money,
    Float,
}

/// One typed field of a kind.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    pub doc: &'static str,
}

/// A typed field's value, as stored in the kind's column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Null,
    Text(String),
    Time(Timestamp),
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl FieldValue {
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_time(&self) -> Option<Timestamp> {
        match self {
            FieldValue::Time(t) => Some(*t),
            _ => None,
        }
    }
}

/// Conversion from a stored value to a struct field's Rust type.
pub trait FromFieldValue: Sized {
    fn from_field_value(value: &FieldValue) -> Self;
}

impl FromFieldValue for Option<String> {
    fn from_field_value(v: &FieldValue) -> Self {
        v.as_text().map(str::to_owned)
    }
}
impl FromFieldValue for Option<Timestamp> {
    fn from_field_value(v: &FieldValue) -> Self {
        v.as_time()
    }
}
impl FromFieldValue for Option<bool> {
    fn from_field_value(v: &FieldValue) -> Self {
        match v {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}
impl FromFieldValue for Option<i64> {
    fn from_field_value(v: &FieldValue) -> Self {
        match v {
            FieldValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromFieldValue for Option<f64> {
    fn from_field_value(v: &FieldValue) -> Self {
        match v {
            FieldValue::Float(f) => Some(*f),
            FieldValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

macro_rules! rust_type {
    (Text) => { Option<String> };
    (Email) => { Option<String> };
    (Time) => { Option<Timestamp> };
    (Bool) => { Option<bool> };
    (Int) => { Option<i64> };
    (Money) => { Option<i64> };
    (Float) => { Option<f64> };
}

macro_rules! is_required {
    () => {
        false
    };
    (required) => {
        true
    };
}

macro_rules! object_kinds {
    ($(
        $(#[doc = $kdoc:literal])*
        $variant:ident => $strukt:ident, $name:literal, $table:literal {
            $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ident $($req:ident)? ),* $(,)?
        }
    )*) => {
        /// The kinds of object accord keeps. Accounts come only from the System of Record; every
        /// other kind must link to an account.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ObjectKind { $( $(#[doc = $kdoc])* $variant, )* }

        impl ObjectKind {
            pub const ALL: &'static [ObjectKind] = &[$(ObjectKind::$variant),*];

            /// The kind's name in config files, the CLI and JSON.
            pub fn name(self) -> &'static str {
                match self { $(ObjectKind::$variant => $name,)* }
            }

            /// The store table holding records of this kind.
            pub fn table(self) -> &'static str {
                match self { $(ObjectKind::$variant => $table,)* }
            }

            /// The typed fields of this kind, in column order.
            pub fn fields(self) -> &'static [FieldSpec] {
                match self { $(ObjectKind::$variant => $strukt::FIELDS,)* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(ObjectKind::$variant),)* _ => None }
            }

            /// The kind's typed record from stored field values (in `fields()` order).
            pub fn typed(self, values: &[FieldValue]) -> TypedRecord {
                match self { $(ObjectKind::$variant => TypedRecord::$variant($strukt::from_values(values)),)* }
            }
        }

        /// A record of any kind with its typed fields.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum TypedRecord { $( $variant($strukt), )* }

        $(
            $(#[doc = $kdoc])*
            #[derive(Debug, Clone, Default, PartialEq, Serialize)]
            pub struct $strukt {
                $( $(#[doc = $fdoc])* pub $field: rust_type!($ty), )*
            }

            impl $strukt {
                pub const FIELDS: &'static [FieldSpec] = &[
                    $( FieldSpec {
                        name: stringify!($field),
                        ty: FieldType::$ty,
                        required: is_required!($($req)?),
                        doc: concat!($($fdoc),*),
                    }, )*
                ];

                /// Builds the struct from stored values in `FIELDS` order.
                pub fn from_values(values: &[FieldValue]) -> Self {
                    let mut it = values.iter();
                    let mut next = || it.next().unwrap_or(&FieldValue::Null);
                    Self { $( $field: FromFieldValue::from_field_value(next()), )* }
                }
            }
        )*
    };
}

object_kinds! {
    /// A customer account, created only by the System of Record.
    Account => Account, "account", "accounts" {
        /// Display name (required).
        name: Text required,
        /// When accord starts looking for activity and revenue (required).
        join_date: Time required,
        renewal_date: Time,
        /// The account's id in the CRM (e.g. Salesforce `Account.Id`).
        crm_account_id: Text,
        /// The account's id in billing (e.g. a Chargify customer id).
        billing_account_id: Text,
        /// The account's id in support (e.g. a Zendesk organization id, or JIRA's account_support_id).
        support_account_id: Text,
        parent_account_id: Text,
        website: Text,
    }
    /// A system's own record of the customer company: a Zendesk organization, Intercom company,
    /// Stripe or Chargebee customer, Freshdesk company.
    Organization => Organization, "organization", "organizations" {
        name: Text,
        email: Email,
        website: Text,
        domain: Text,
    }
    /// A product user (Natero's account_users); the native id is the user_id.
    User => ProductUser, "user", "product_users" {
        email: Email,
        first_name: Text,
        last_name: Text,
        role: Text,
        is_active: Bool,
        product_join_date: Time,
    }
    /// A contact at the customer (Natero's account_contacts, CRM contacts, support requesters).
    Contact => Contact, "contact", "contacts" {
        email: Email,
        first_name: Text,
        last_name: Text,
        title: Text,
        is_primary: Bool,
        /// The id, in its own system, of the organization the contact belongs to (a Keap
        /// contact's `company.id`): what `children` rules of that organization read.
        organization_id: Text,
    }
    /// A product usage event.
    Event => UsageEvent, "event", "events" {
        user_id: Text,
        session_id: Text,
        /// `identifyUser`, `identifyAccount`, `sessionSync`, `moduleEnd`, `feature`, ...
        action: Text,
        product: Text,
        module: Text,
        feature: Text,
        total: Float,
        time_spent: Float,
        active_duration: Float,
        created_at: Time required,
    }
    /// A support ticket (Zendesk ticket, Freshdesk ticket, JIRA issue, Desk case).
    Ticket => SupportTicket, "ticket", "support_tickets" {
        subject: Text,
        status: Text,
        priority: Text,
        requester_email: Email,
        created_at: Time,
        updated_at: Time,
    }
    /// A subscription: drives MRR and renewal dates.
    Subscription => Subscription, "subscription", "subscriptions" {
        plan_code: Text,
        status: Text,
        /// Monthly recurring revenue in minor units.
        mrr: Money,
        currency: Text,
        start_date: Time,
        end_date: Time,
        /// Billing interval of the (first) item: `day`, `week`, `month`, `year` (Natero's cycle_unit).
        billing_interval: Text,
        /// Intervals per billing cycle (Natero's cycle_length); 1 when absent.
        interval_count: Int,
        quantity: Int,
        /// Price of one unit for one interval, in minor units of `currency`.
        unit_amount: Int,
        /// A usage-based price: not recurring revenue.
        metered: Bool,
        /// Recurring discount: percent off in basis points (2500 = 25%).
        discount_percent_bp: Int,
        /// Recurring discount: amount off each billing period, minor units.
        discount_amount: Int,
        /// `once`, `repeating` or `forever`; `once` does not lower MRR.
        discount_duration: Text,
        /// When a `repeating` discount ends.
        discount_end: Time,
        trial_start: Time,
        trial_end: Time,
        current_period_start: Time,
        /// The next renewal while the subscription renews.
        current_period_end: Time,
        cancel_at_period_end: Bool,
        canceled_at: Time,
    }
    /// An invoice statement: informational, paid or unpaid.
    Invoice => Statement, "invoice", "statements" {
        amount: Money,
        currency: Text,
        issued_at: Time,
        due_at: Time,
        paid_at: Time,
        is_failed: Bool,
        non_recurring: Bool,
        /// The vendor's status: `draft`, `open`, `paid`, `uncollectible`, `void`, ...
        status: Text,
        /// The subscription the invoice bills, when it bills one.
        subscription_id: Text,
        period_start: Time,
        period_end: Time,
        /// Tax included in `amount`, excluded from MRR.
        tax: Money,
        /// How many line items it has (the items are in the payload).
        line_count: Int,
        /// The first day the recurring price it bills applies: its period start, or the day of
        /// the mid-cycle upgrade or downgrade it prorates.
        billed_from: Time,
        /// The subscription's recurring unit price it bills from `billed_from`, minor units.
        billed_unit_amount: Int,
        /// The quantity of that price.
        billed_quantity: Int,
    }
    /// A conversation or email with the customer.
    Interaction => Interaction, "interaction", "interactions" {
        channel: Text,
        subject: Text,
        participant_email: Email,
        occurred_at: Time,
    }
    /// An NPS survey answer.
    NpsResponse => NpsResponse, "nps_response", "nps_responses" {
        score: Int required,
        comment: Text,
        email: Email,
        responded_at: Time,
    }
}

/// Where each typed field of a kind is found in a source record. Fields without an entry are read
/// from the key of the same name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldMapping(pub BTreeMap<String, FieldPath>);

impl FieldMapping {
    pub fn path_for(&self, field: &str) -> FieldPath {
        self.0.get(field).cloned().unwrap_or_else(|| FieldPath::key(field))
    }

    /// Names that are not typed fields of `kind`.
    pub fn unknown_fields(&self, kind: ObjectKind) -> Vec<&str> {
        self.0.keys().filter(|k| !kind.fields().iter().any(|f| f.name == k.as_str())).map(String::as_str).collect()
    }
}

/// Why a record's typed fields could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (field {field}, read from {path:?})")]
pub struct FieldError {
    pub field: &'static str,
    pub path: String,
    pub problem: String,
    /// True when the field is required and absent; false when present but unreadable.
    pub missing: bool,
}

/// Reads the typed fields of `kind` from `record`, following `mapping`.
pub fn extract_fields(kind: ObjectKind, mapping: &FieldMapping, record: &Value) -> Result<Vec<FieldValue>, FieldError> {
    extract_with_paths(kind, &mapping.paths(kind), record)
}

impl FieldMapping {
    /// The path of every typed field of `kind`, in field order: resolve once, extract many times.
    pub fn paths(&self, kind: ObjectKind) -> Vec<FieldPath> {
        kind.fields().iter().map(|f| self.path_for(f.name)).collect()
    }
}

/// Reads the typed fields of `kind` from `record`; `paths` comes from `FieldMapping::paths`.
pub fn extract_with_paths(
    kind: ObjectKind,
    paths: &[FieldPath],
    record: &Value,
) -> Result<Vec<FieldValue>, FieldError> {
    // Amounts are read with the exponent of the record's own currency (JPY 0, USD 2, KWD 3);
    // without a readable currency, two decimals.
    let currency = kind
        .fields()
        .iter()
        .zip(paths)
        .find(|(f, _)| f.name == "currency")
        .and_then(|(_, p)| p.get(record)?.as_str().and_then(|c| crate::money::Currency::parse(c).ok()));
    kind.fields()
        .iter()
        .zip(paths)
        .map(|(spec, path)| {
            let err = |problem: String, missing: bool| FieldError {
                field: spec.name,
                path: path.to_string(),
                problem,
                missing,
            };
            match path.get(record) {
                None if spec.required => Err(err(format!("missing required field {}", spec.name), true)),
                None => Ok(FieldValue::Null),
                // Blank text is no value: a required field of any type is missing, an optional
                // typed field is null, and optional free text keeps what the source wrote.
                Some(Value::String(s)) if s.trim().is_empty() && spec.required => {
                    Err(err(format!("missing required field {}", spec.name), true))
                }
                Some(Value::String(s)) if s.trim().is_empty() && spec.ty != FieldType::Text => Ok(FieldValue::Null),
                Some(v) => convert_in(spec.ty, v, currency).map_err(|p| err(p, false)),
            }
        })
        .collect()
}

#[cfg(test)]
fn convert(ty: FieldType, v: &Value) -> Result<FieldValue, String> {
    convert_in(ty, v, None)
}

fn convert_in(ty: FieldType, v: &Value, currency: Option<crate::money::Currency>) -> Result<FieldValue, String> {
    let money = |text: &str| match currency {
        Some(c) => crate::money::Money::parse_major(text, c).map(|m| m.minor).map_err(|e| e.to_string()),
        None => parse_money(text),
    };
    match ty {
        FieldType::Text | FieldType::Email => Ok(match v {
            Value::String(s) => FieldValue::Text(s.clone()),
            Value::Number(n) => FieldValue::Text(crate::id::integral_text(n).unwrap_or_else(|| n.to_string())),
            Value::Bool(b) => FieldValue::Text(b.to_string()),
            other => FieldValue::Text(other.to_string()),
        }),
        FieldType::Time => parse_timestamp(v)
            .map(FieldValue::Time)
            .ok_or_else(|| format!("{v} is not a date (expected ISO-8601 text or epoch milliseconds)")),
        FieldType::Bool => parse_bool(v).map(FieldValue::Bool).ok_or_else(|| format!("{v} is not a boolean")),
        FieldType::Int => match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| crate::id::decimal_integer_text(&n.to_string())?.parse().ok())
                .map(FieldValue::Int)
                .ok_or_else(|| format!("{n} is not a whole number")),
            Value::String(s) => {
                s.trim().parse().map(FieldValue::Int).map_err(|_| format!("{s:?} is not a whole number"))
            }
            other => Err(format!("{other} is not a whole number")),
        },
        FieldType::Float => match v {
            Value::Number(n) => n.as_f64().map(FieldValue::Float).ok_or_else(|| format!("{n} is not a number")),
            Value::String(s) => s.trim().parse().map(FieldValue::Float).map_err(|_| format!("{s:?} is not a number")),
            other => Err(format!("{other} is not a number")),
        },
        FieldType::Money => match v {
            // A number keeps its text (`1.25e2` too): read it as a plain decimal, never as a float.
            Value::Number(n) => {
                let text = n.to_string();
                money(&crate::id::plain_decimal(&text).unwrap_or(text))
            }
            Value::String(s) => money(s.trim()),
            other => Err(format!("{other} is not an amount")),
        }
        .map(FieldValue::Int),
    }
}

/// Natero's boolean coercion: nonzero numbers are true, `"0"` is false, `"true"`/`"false"` as
/// written (any case), `"yes"`/`"no"` too.
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `"12.5"` → 1250 minor units. At most two decimals; no float arithmetic.
pub fn parse_money(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not an amount (expected a decimal like 12.50)");
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return Err(format!("{s:?} has more than two decimals"));
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let v = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(bad)?;
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_has_a_unique_name_and_table() {
        let mut names: Vec<_> = ObjectKind::ALL.iter().map(|k| k.name()).collect();
        let mut tables: Vec<_> = ObjectKind::ALL.iter().map(|k| k.table()).collect();
        names.dedup();
        tables.sort();
        tables.dedup();
        assert_eq!(names.len(), ObjectKind::ALL.len());
        assert_eq!(tables.len(), ObjectKind::ALL.len());
        for k in ObjectKind::ALL {
            assert_eq!(ObjectKind::from_name(k.name()), Some(*k));
        }
    }

    #[test]
    fn extraction_follows_the_mapping_and_types() {
        let mut mapping = FieldMapping::default();
        mapping.0.insert("subject".into(), FieldPath::parse("Subject").unwrap());
        mapping.0.insert("created_at".into(), FieldPath::parse("dates.created").unwrap());
        let row = json!({"Subject": "Login broken", "status": "open", "dates": {"created": "2024-01-02"}});
        let values = extract_fields(ObjectKind::Ticket, &mapping, &row).unwrap();
        let TypedRecord::Ticket(t) = ObjectKind::Ticket.typed(&values) else { panic!() };
        assert_eq!(t.subject.as_deref(), Some("Login broken"));
        assert_eq!(t.status.as_deref(), Some("open"));
        assert_eq!(t.created_at.unwrap().to_rfc3339(), "2024-01-02T00:00:00+00:00");
        assert_eq!(t.priority, None);
    }

    #[test]
    fn bad_and_missing_fields_are_named() {
        let e =
            extract_fields(ObjectKind::NpsResponse, &FieldMapping::default(), &json!({"score": "eleven"})).unwrap_err();
        assert_eq!(e.field, "score");
        assert!(!e.missing);
        let e =
            extract_fields(ObjectKind::NpsResponse, &FieldMapping::default(), &json!({"comment": "hi"})).unwrap_err();
        assert!(e.missing);
        assert_eq!(e.to_string(), "missing required field score (field score, read from \"score\")");
    }

    #[test]
    fn blank_required_fields_are_missing() {
        let account = |v: Value| extract_fields(ObjectKind::Account, &FieldMapping::default(), &v);
        let ok = account(json!({"name": "Acme", "join_date": "2024-01-02", "website": "  "})).unwrap();
        assert_eq!(ok[0], FieldValue::Text("Acme".into()));
        let website = ObjectKind::Account.fields().iter().position(|f| f.name == "website").unwrap();
        assert_eq!(ok[website], FieldValue::Text("  ".into()), "optional free text is kept as written");
        for (row, field) in [
            (json!({"name": "   ", "join_date": "2024-01-02"}), "name"),
            (json!({"name": "", "join_date": "2024-01-02"}), "name"),
            (json!({"name": "\t\n", "join_date": "2024-01-02"}), "name"),
            (json!({"name": "Acme", "join_date": "  "}), "join_date"),
            (json!({"name": "Acme", "join_date": ""}), "join_date"),
            (json!({"name": null, "join_date": "2024-01-02"}), "name"),
        ] {
            let e = account(row.clone()).unwrap_err();
            assert_eq!((e.field, e.missing), (field, true), "{row}");
            assert_eq!(e.problem, format!("missing required field {field}"));
        }
        let e = extract_fields(ObjectKind::NpsResponse, &FieldMapping::default(), &json!({"score": " "})).unwrap_err();
        assert!(e.missing);
    }

    #[test]
    fn whole_numbers_are_exact() {
        let score = |v: Value| extract_fields(ObjectKind::NpsResponse, &FieldMapping::default(), &json!({"score": v}));
        let parsed = |text: &str| score(serde_json::from_str(text).unwrap());
        assert_eq!(parsed("9.0").unwrap()[0], FieldValue::Int(9));
        assert_eq!(parsed("9007199254740993.0").unwrap()[0], FieldValue::Int(9_007_199_254_740_993));
        assert!(parsed("1e30").is_err(), "beyond i64 is an error, not a saturated value");
        assert!(parsed("9.5").is_err());
    }

    #[test]
    fn money_in_exponent_form_is_read_exactly() {
        let v: Value = serde_json::from_str(r#"{"m": 1.25e2, "n": 1999e-2, "o": 1e-3}"#).unwrap();
        assert_eq!(convert(FieldType::Money, &v["m"]), Ok(FieldValue::Int(12_500)));
        assert_eq!(convert(FieldType::Money, &v["n"]), Ok(FieldValue::Int(1_999)));
        assert!(convert(FieldType::Money, &v["o"]).is_err(), "a tenth of a cent is not an amount");
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(parse_money("12.5"), Ok(1250));
        assert_eq!(parse_money("12.50"), Ok(1250));
        assert_eq!(parse_money("-0.99"), Ok(-99));
        assert_eq!(parse_money("100"), Ok(10000));
        assert_eq!(parse_money("1.230"), Ok(123));
        assert!(parse_money("1.234").is_err());
        assert!(parse_money("abc").is_err());
        assert!(parse_money(".").is_err());
    }

    #[test]
    fn amounts_use_the_exponent_of_the_records_currency() {
        let amounts = |row: Value| {
            let v = extract_fields(ObjectKind::Invoice, &FieldMapping::default(), &row).unwrap();
            let TypedRecord::Invoice(s) = ObjectKind::Invoice.typed(&v) else { panic!() };
            (s.amount, s.tax)
        };
        assert_eq!(amounts(json!({"amount": "1500", "tax": "100", "currency": "jpy"})), (Some(1500), Some(100)));
        assert_eq!(amounts(json!({"amount": "1.250", "tax": 0.125, "currency": "KWD"})), (Some(1250), Some(125)));
        assert_eq!(amounts(json!({"amount": "12.5", "currency": "usd"})), (Some(1250), None));
        assert_eq!(amounts(json!({"amount": "12.5"})), (Some(1250), None), "no currency: two decimals");
        let e =
            extract_fields(ObjectKind::Invoice, &FieldMapping::default(), &json!({"amount": "1.5", "currency": "JPY"}))
                .unwrap_err();
        assert_eq!(e.field, "amount", "yen have no decimals: {e}");
    }

    #[test]
    fn booleans_follow_natero() {
        assert_eq!(parse_bool(&json!(2)), Some(true));
        assert_eq!(parse_bool(&json!("0")), Some(false));
        assert_eq!(parse_bool(&json!("TRUE")), Some(true));
        assert_eq!(parse_bool(&json!("maybe")), None);
    }
}
