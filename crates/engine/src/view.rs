//! The account view: an account with its linked records (and the rule that linked each) and the
//! open rejections that point at it or hint at it.

use std::collections::BTreeMap;

use accord_core::record::FieldType;
use accord_core::{FieldValue, ObjectKind, Provenance, Timestamp, TypedRecord};
use accord_store::{AccountRow, AccountStatus, QuarantineEntry, RecordQuery};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{EngineError, Hub, Result, revenue};

/// An account's typed fields as a JSON object (null fields left out).
pub fn account_fields(row: &AccountRow) -> Map<String, Value> {
    typed_map(ObjectKind::Account, &row.fields)
}

/// A kind's typed field values as a JSON object (null fields left out).
pub fn typed_map(kind: ObjectKind, values: &[FieldValue]) -> Map<String, Value> {
    // Amounts are shown with the decimals of the record's currency (JPY none, KWD three).
    let currency = kind
        .fields()
        .iter()
        .zip(values)
        .find(|(f, _)| f.name == "currency")
        .and_then(|(_, v)| accord_core::Currency::parse(v.as_text()?).ok());
    kind.fields()
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_null())
        .map(|(f, v)| {
            let value = match (f.ty, v) {
                (FieldType::Money, FieldValue::Int(minor)) => Value::String(match currency {
                    Some(c) => major_text(accord_core::Money::new(*minor, c)),
                    None => money_text(*minor),
                }),
                _ => serde_json::to_value(v).unwrap_or(Value::Null),
            };
            (f.name.to_owned(), value)
        })
        .collect()
}

/// Minor units as a decimal amount: 499000 → `"4990.00"`.
pub fn money_text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.unsigned_abs() / 100, minor.unsigned_abs() % 100)
}

/// An amount in major units with its currency's decimals, without the code: `"1.250"` KWD.
pub fn major_text(m: accord_core::Money) -> String {
    let text = m.to_string();
    text.rsplit_once(' ').map_or(text.clone(), |(amount, _)| amount.to_owned())
}

/// One linked record, briefly.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedRecord {
    pub native_id: String,
    pub provenance: Provenance,
    pub fields: Map<String, Value>,
    pub last_seen: Timestamp,
}

/// The records of one source object linked to the account.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedGroup {
    pub source: String,
    pub object: String,
    pub kind: ObjectKind,
    pub count: u64,
    /// How many of the shown records each rule linked.
    pub rules: BTreeMap<String, u64>,
    /// The most recent records (at most the requested number; none for events, which are summed
    /// in the usage rollups instead).
    pub recent: Vec<LinkedRecord>,
}

/// Everything accord knows about one account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub account_id: String,
    pub status: AccountStatus,
    pub fields: Map<String, Value>,
    pub origin: String,
    pub attributes: Value,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub delete_list: Option<DeleteListEntry>,
    pub linked: Vec<LinkedGroup>,
    pub rejections_near: Vec<QuarantineEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeleteListEntry {
    pub deleted_at: Timestamp,
    pub reason: String,
}

/// Builds the view of an account, with up to `recent` records per source object.
pub fn account_view(hub: &Hub, account_id: &str, recent: u32) -> Result<Option<AccountView>> {
    let Some(account) = hub.store.account(account_id)? else { return Ok(None) };
    let counts = hub.store.record_counts(account_id)?;
    let mut linked = Vec::new();
    // Events are counted (from `event_counts`) but not listed: they have no index by account
    // (it cost a third of the Event API's throughput), and their usage is in the rollups.
    let mut kinds: Vec<ObjectKind> = counts.iter().map(|c| c.kind).filter(|k| *k != ObjectKind::Event).collect();
    kinds.dedup();
    let mut recent_by_object: BTreeMap<(String, String), Vec<LinkedRecord>> = BTreeMap::new();
    for kind in kinds {
        let query = RecordQuery { account_id: Some(account_id.to_owned()), ..Default::default() };
        let page = hub.store.records(kind, &query, 0, recent.saturating_mul(8).max(1))?;
        for r in page.items {
            let list = recent_by_object.entry((r.key.source.clone(), r.key.object.clone())).or_default();
            if list.len() < recent as usize {
                list.push(LinkedRecord {
                    native_id: r.key.native_id.clone(),
                    provenance: r.provenance.clone(),
                    fields: typed_map(kind, &r.fields),
                    last_seen: r.last_seen,
                });
            }
        }
    }
    for c in counts {
        let recent = recent_by_object.remove(&(c.source.clone(), c.object.clone())).unwrap_or_default();
        let mut rules = BTreeMap::new();
        for r in &recent {
            *rules.entry(r.provenance.rule.name().to_owned()).or_default() += 1;
        }
        linked.push(LinkedGroup { source: c.source, object: c.object, kind: c.kind, count: c.count, rules, recent });
    }
    let delete_list = hub
        .store
        .delete_list()?
        .into_iter()
        .find(|(id, _, _)| id == account_id)
        .map(|(_, deleted_at, reason)| DeleteListEntry { deleted_at, reason });
    Ok(Some(AccountView {
        account_id: account.account_id.to_string(),
        status: account.status,
        fields: account_fields(&account),
        origin: account.origin.to_string(),
        attributes: account.attributes.clone(),
        first_seen: account.first_seen,
        last_seen: account.last_seen,
        delete_list,
        linked,
        rejections_near: hub.store.quarantine_near(account_id)?,
    }))
}

/// Everything accord knows about one account, for the 360 API.
#[derive(Debug, Clone, Serialize)]
pub struct Account360 {
    pub account: AccountView,
    /// Usage over the last 30 days, from the rollups.
    pub usage_30d: accord_store::usage::UsageSummary,
    /// Distinct active users over the last 1, 7 and 30 days.
    pub dau: u64,
    pub wau: u64,
    pub mau: u64,
    /// Monthly recurring revenue of the active subscriptions, in minor units, and as text.
    pub mrr_minor: i64,
    pub mrr: String,
    /// MRR by month from the join date, its movements, `current_mrr` and `renewal_date`; `None`
    /// without a billing source.
    pub revenue: Option<revenue::MrrHistory>,
    /// Linked records by kind (most recent first, at most `per_kind` each), with provenance.
    pub records: BTreeMap<String, Vec<Value>>,
}

/// Builds the 360 view of an account at `now`.
pub fn account_360(hub: &Hub, account_id: &str, per_kind: u32, now: Timestamp) -> Result<Option<Account360>> {
    let Some(account) = account_view(hub, account_id, 5)? else { return Ok(None) };
    let day = 86_400_000;
    let end = now.timestamp_millis();
    let store = &hub.store;
    let usage_30d = store.usage(account_id, end - 30 * day, end)?;
    let (dau, wau, mau) = (
        store.active_users(account_id, end - day, end)?,
        store.active_users(account_id, end - 7 * day, end)?,
        store.active_users(account_id, end - 30 * day, end)?,
    );
    let mut records = BTreeMap::new();
    let mut mrr_minor = 0i64;
    for kind in ObjectKind::ALL.iter().copied().filter(|k| !matches!(k, ObjectKind::Account | ObjectKind::Event)) {
        let query = RecordQuery { account_id: Some(account_id.to_owned()), ..Default::default() };
        if kind == ObjectKind::Subscription {
            // MRR counts every live subscription that has not ended, not only the ones shown.
            mrr_minor = current_mrr(hub, account_id, now)?;
        }
        let page = store.records(kind, &query, 0, per_kind.max(1))?;
        if page.items.is_empty() {
            continue;
        }
        let list = page
            .items
            .iter()
            .map(|r| {
                serde_json::json!({
                    "source": r.key.source,
                    "object": r.key.object,
                    "native_id": r.key.native_id,
                    "fields": typed_map(kind, &r.fields),
                    "link": r.provenance,
                    "first_seen": r.first_seen,
                    "last_seen": r.last_seen,
                })
            })
            .collect();
        records.insert(kind.name().to_owned(), list);
    }
    let revenue = if billing_sources(hub).is_empty() { None } else { revenue_history(hub, account_id, now)? };
    Ok(Some(Account360 { account, usage_30d, dau, wau, mau, mrr_minor, mrr: money_text(mrr_minor), revenue, records }))
}

/// The account's subscriptions as the revenue model's terms, each following the prices its
/// statements billed (upgrades and downgrades), and the configured rate table.
fn account_revenue(hub: &Hub, account_id: &str) -> Result<(Vec<revenue::Subscription>, revenue::Rates)> {
    let rates = revenue::rates_from_config(&hub.config.raw.revenue).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let query = RecordQuery { account_id: Some(account_id.to_owned()), ..Default::default() };
    let billed = billed_prices(hub, &query)?;
    let rows = hub.store.records(ObjectKind::Subscription, &query, 0, 10_000)?.items;
    let subs = rows
        .iter()
        .filter(|r| !r.is_deleted)
        .filter_map(|r| {
            let TypedRecord::Subscription(s) = ObjectKind::Subscription.typed(&r.fields) else { return None };
            let id = format!("{}/{}/{}", r.key.source, r.key.object, r.key.native_id);
            let mut sub = revenue::from_record(&id, account_id, &s, rates.reporting)?;
            if let Some(prices) = billed.get(&(r.key.source.clone(), r.key.native_id.clone())) {
                sub.follow_billed_prices(prices);
            }
            Some(sub)
        })
        .collect();
    Ok((subs, rates))
}

/// The recurring prices the account's statements billed, per `(source, subscription id)`, in the
/// order they were issued. Void, draft and deleted statements billed nothing.
fn billed_prices(hub: &Hub, query: &RecordQuery) -> Result<BTreeMap<(String, String), Vec<revenue::BilledPrice>>> {
    let rows = hub.store.records(ObjectKind::Invoice, query, 0, 100_000)?.items;
    let mut billed: Vec<(Timestamp, (String, String), revenue::BilledPrice)> = rows
        .iter()
        .filter(|r| !r.is_deleted)
        .filter_map(|r| {
            let TypedRecord::Invoice(i) = ObjectKind::Invoice.typed(&r.fields) else { return None };
            let status = i.status.as_deref().unwrap_or_default().to_ascii_lowercase();
            if matches!(status.as_str(), "void" | "voided" | "draft" | "deleted" | "canceled" | "cancelled") {
                return None;
            }
            let price = revenue::BilledPrice {
                from: i.billed_from?.date_naive(),
                unit_amount: i.billed_unit_amount?,
                quantity: i.billed_quantity?,
            };
            let issued = i.issued_at.or(i.billed_from)?;
            Some((issued, (r.key.source.clone(), i.subscription_id?), price))
        })
        .collect();
    billed.sort_by_key(|(issued, _, p)| (*issued, p.from));
    let mut out: BTreeMap<(String, String), Vec<revenue::BilledPrice>> = BTreeMap::new();
    for (_, key, price) in billed {
        out.entry(key).or_default().push(price);
    }
    Ok(out)
}

fn mrr_at(subs: &[revenue::Subscription], rates: &revenue::Rates, t: Timestamp) -> Result<i64> {
    let refs: Vec<_> = subs.iter().collect();
    Ok(revenue::mrr_on(&refs, t.date_naive(), rates).map_err(|e| EngineError::Invalid(e.to_string()))?.mrr)
}

/// Monthly recurring revenue of an account at `now`, in minor units of the reporting currency
/// (`[revenue]`), by the revenue model (`crate::revenue`): normalised to a month, active and past
/// due subscriptions only, trials, metered items and `once` coupons left out.
pub fn current_mrr(hub: &Hub, account_id: &str, now: Timestamp) -> Result<i64> {
    let (subs, rates) = account_revenue(hub, account_id)?;
    mrr_at(&subs, &rates, now)
}

/// An account's MRR history by month from its join date, with its movements, `current_mrr` and
/// `renewal_date` (the earliest current period end of a subscription that renews). Revenue
/// before the join date is in `before_join`, neither counted nor dropped.
pub fn revenue_history(hub: &Hub, account_id: &str, now: Timestamp) -> Result<Option<revenue::MrrHistory>> {
    let Some(row) = hub.store.account(account_id)? else { return Ok(None) };
    let join = row.field("join_date").as_time().map_or(now.date_naive(), |t| t.date_naive());
    let (subs, rates) = account_revenue(hub, account_id)?;
    let refs: Vec<_> = subs.iter().collect();
    revenue::history(&refs, join, now.date_naive(), &rates).map(Some).map_err(|e| EngineError::Invalid(e.to_string()))
}

/// The configured streams that bring billing records (subscriptions or invoices), as
/// `source/object`: without one, MRR is "no billing source" rather than zero.
pub fn billing_sources(hub: &Hub) -> Vec<String> {
    hub.plan
        .streams()
        .filter(|p| matches!(p.kind(), ObjectKind::Subscription | ObjectKind::Invoice))
        .map(|p| format!("{}/{}", p.source, p.object()))
        .collect()
}

/// Active users of an account on one day: that day, the 7 days and the 30 days ending with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActiveUsersDay {
    /// The day's start, epoch ms (UTC).
    pub day: i64,
    pub dau: u64,
    pub wau: u64,
    pub mau: u64,
}

/// DAU, WAU and MAU of an account for each of the `days` days ending with the day of `now`, from
/// the hourly rollups (one read: distinct users per day).
pub fn active_users_series(hub: &Hub, account_id: &str, days: u32, now: Timestamp) -> Result<Vec<ActiveUsersDay>> {
    const DAY: i64 = 86_400_000;
    let today = now.timestamp_millis().div_euclid(DAY) * DAY;
    let first = today - i64::from(days.saturating_sub(1)) * DAY;
    // MAU of the first day reaches 29 days further back.
    let pairs = hub.store.web_daily_users(account_id, first - 29 * DAY, today + DAY)?;
    // Users as small numbers, and each day's users as a list of them.
    let mut number: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut users_by_day: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (day, user) in &pairs {
        let next = number.len();
        users_by_day.entry(*day).or_default().push(*number.entry(user.as_str()).or_insert(next));
    }
    let days = i64::from(days);
    let wau = sliding_distinct(&users_by_day, number.len(), first, days, 7);
    let mau = sliding_distinct(&users_by_day, number.len(), first, days, 30);
    Ok((0..days)
        .map(|i| {
            let day = first + i * DAY;
            let dau = users_by_day.get(&day).map_or(0, |u| u.len() as u64);
            ActiveUsersDay { day, dau, wau: wau[i as usize], mau: mau[i as usize] }
        })
        .collect())
}

/// For each of `days` days from `first`, the distinct users of the `width` days ending with it:
/// a window slid a day at a time, each day's users entering and leaving it once.
fn sliding_distinct(
    users_by_day: &BTreeMap<i64, Vec<usize>>,
    users: usize,
    first: i64,
    days: i64,
    width: i64,
) -> Vec<u64> {
    const DAY: i64 = 86_400_000;
    let mut in_window = vec![0u32; users];
    let mut distinct = 0u64;
    let mut enter = |day: i64, step: i32, distinct: &mut u64| {
        for &u in users_by_day.get(&day).map_or(&[][..], Vec::as_slice) {
            let n = &mut in_window[u];
            if step > 0 {
                *distinct += u64::from(*n == 0);
                *n += 1;
            } else {
                *n -= 1;
                *distinct -= u64::from(*n == 0);
            }
        }
    };
    for back in 1..width {
        enter(first - back * DAY, 1, &mut distinct);
    }
    (0..days)
        .map(|i| {
            let day = first + i * DAY;
            enter(day, 1, &mut distinct);
            let out = distinct;
            enter(day - (width - 1) * DAY, -1, &mut distinct);
            out
        })
        .collect()
}

/// Monthly recurring revenue of an account at the start of each of the `months` months up to
/// `now` (the last point is `now` itself), in minor units, by the revenue model (see
/// `current_mrr`). A subscription whose status says it was cancelled or expired counts only where
/// its dates place it, and not at all without an end date.
pub fn mrr_by_month(hub: &Hub, account_id: &str, months: u32, now: Timestamp) -> Result<Vec<(Timestamp, i64)>> {
    use chrono::Datelike;
    let month_start = |y: i32, m: u32| {
        chrono::NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
    };
    let mut points = Vec::new();
    let (mut y, mut m) = (now.year(), now.month());
    for _ in 1..months.max(1) {
        (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
        if let Some(t) = month_start(y, m) {
            points.push(t);
        }
    }
    points.reverse();
    if let Some(this_month) = month_start(now.year(), now.month()) {
        points.push(this_month);
    }
    points.push(now);
    points.dedup();
    let (subs, rates) = account_revenue(hub, account_id)?;
    points.into_iter().map(|t| Ok((t, mrr_at(&subs, &rates, t)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_windows_count_each_user_once_per_window() {
        const DAY: i64 = 86_400_000;
        // Users 0..5 on pseudo-random days, compared with a distinct count per window.
        let mut by_day: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        let mut x = 7u64;
        for _ in 0..200 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let (day, user) = ((x >> 33) % 60, ((x >> 20) % 5) as usize);
            let users = by_day.entry(day as i64 * DAY).or_default();
            if !users.contains(&user) {
                users.push(user);
            }
        }
        let (first, days) = (29 * DAY, 31);
        for width in [1, 7, 30] {
            let got = sliding_distinct(&by_day, 5, first, days, width);
            let want: Vec<u64> = (0..days)
                .map(|i| {
                    let day = first + i * DAY;
                    let window = by_day.range(day - (width - 1) * DAY..=day);
                    window.flat_map(|(_, u)| u.iter()).collect::<std::collections::BTreeSet<_>>().len() as u64
                })
                .collect();
            assert_eq!(got, want, "width {width}");
        }
    }
}
