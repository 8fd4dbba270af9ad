//! Usage rollups: what a batch of newly stored events adds to the hourly and daily aggregates.
//! Pure: the backends call it with the events that were new in the transaction, so a duplicate
//! delivery (same event identity) is never counted twice.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use accord_core::{FieldValue, ObjectKind};
use compact_str::CompactString;
use serde::Serialize;

use crate::model::RecordRow;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The time grains rollups are kept at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Hour,
    Day,
}

impl Grain {
    pub fn code(self) -> &'static str {
        match self {
            Grain::Hour => "hour",
            Grain::Day => "day",
        }
    }

    /// The start of the bucket holding `ms` (UTC).
    pub fn bucket(self, ms: i64) -> i64 {
        let size = match self {
            Grain::Hour => HOUR_MS,
            Grain::Day => DAY_MS,
        };
        ms.div_euclid(size) * size
    }
}

/// The text of a usage key: ids and names up to 24 bytes are inline, so building a key per event,
/// comparing keys and cloning them into the pending usage allocates nothing for the usual short ids.
pub type KeyText = CompactString;

/// One rollup row's key, its fields in the order of the table's primary key (so a flush writes the
/// rows in key order and the b-tree's cursor moves forward). Empty strings stand for "not given".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub grain: Grain,
    pub bucket: i64,
    pub account_id: KeyText,
    pub user_id: KeyText,
    pub product: KeyText,
    pub module: KeyText,
    pub feature: KeyText,
}

/// What a rollup row accumulates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RollupValues {
    pub events: i64,
    /// Sum of `total` (feature use counts).
    pub total: f64,
    /// Sum of `time_spent` (seconds in modules).
    pub time_spent: f64,
    /// Sum of `active_duration` (seconds in sessions).
    pub active_duration: f64,
}

impl RollupValues {
    fn add(&mut self, other: &RollupValues) {
        self.events += other.events;
        self.total += other.total;
        self.time_spent += other.time_spent;
        self.active_duration += other.active_duration;
    }
}

/// One session of an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub account_id: KeyText,
    pub session_id: KeyText,
}

/// One daily row's key: the hourly key without its user, at the day's start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DailyKey {
    pub account_id: KeyText,
    pub day: i64,
    pub product: KeyText,
    pub module: KeyText,
    pub feature: KeyText,
}

/// A user active in an account on a day (the day's start).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DailyUser {
    pub account_id: KeyText,
    pub day: i64,
    pub user_id: KeyText,
}

/// Everything a set of new events adds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageDelta {
    pub rollups: BTreeMap<RollupKey, RollupValues>,
    /// The hour of each session's earliest event (`usage_session_starts`, which keeps the minimum).
    pub sessions: BTreeMap<SessionKey, i64>,
    /// The same events summed per day without the user dimension (`usage_daily`)...
    pub daily: BTreeMap<DailyKey, RollupValues>,
    /// ... and their users per day (`usage_daily_users`).
    pub daily_users: BTreeSet<DailyUser>,
    /// New events per (account, source, object): the account's event counts (`event_counts`).
    pub counts: BTreeMap<(KeyText, KeyText, KeyText), i64>,
}

impl UsageDelta {
    /// Adds one newly stored event (a record of kind `event`).
    pub fn add(&mut self, event: &RecordRow) {
        debug_assert_eq!(event.kind, ObjectKind::Event);
        let text = |name: &str| KeyText::from(event.field(name).as_text().unwrap_or_default());
        let number = |name: &str| match event.field(name) {
            FieldValue::Float(f) if f.is_finite() => *f,
            FieldValue::Int(i) => *i as f64,
            _ => 0.0,
        };
        let Some(at) = event.field("created_at").as_time() else { return };
        let ms = at.timestamp_millis();
        let (user, session) = (text("user_id"), text("session_id"));
        let (product, module, feature) = (text("product"), text("module"), text("feature"));
        let values = RollupValues {
            events: 1,
            total: number("total"),
            time_spent: number("time_spent"),
            active_duration: number("active_duration"),
        };
        // The hourly rows carry the user; the daily ones (a read's whole days) do not, and the
        // day's users are kept apart, so a day is one row per feature plus one per user.
        let grain = Grain::Hour;
        let bucket = grain.bucket(ms);
        let day = Grain::Day.bucket(ms);
        let account_id = KeyText::from(event.account_id.as_str());
        *self
            .counts
            .entry((account_id.clone(), event.key.source.as_str().into(), event.key.object.as_str().into()))
            .or_default() += 1;
        let daily = DailyKey {
            account_id: account_id.clone(),
            day,
            product: product.clone(),
            module: module.clone(),
            feature: feature.clone(),
        };
        self.daily.entry(daily).or_default().add(&values);
        if !user.is_empty() {
            self.daily_users.insert(DailyUser { account_id: account_id.clone(), day, user_id: user.clone() });
        }
        let key = RollupKey { grain, bucket, account_id: account_id.clone(), user_id: user, product, module, feature };
        self.rollups.entry(key).or_default().add(&values);
        if !session.is_empty() {
            self.sessions
                .entry(SessionKey { account_id, session_id: session })
                .and_modify(|h| *h = (*h).min(bucket))
                .or_insert(bucket);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rollups.is_empty() && self.sessions.is_empty() && self.counts.is_empty()
    }

    /// Adds a copy of another delta to this one.
    pub fn merge_from(&mut self, other: &UsageDelta) {
        for (k, v) in &other.rollups {
            self.rollups.entry(k.clone()).or_default().add(v);
        }
        for (k, v) in &other.daily {
            self.daily.entry(k.clone()).or_default().add(v);
        }
        for (k, hour) in &other.sessions {
            self.sessions.entry(k.clone()).and_modify(|h| *h = (*h).min(*hour)).or_insert(*hour);
        }
        self.daily_users.extend(other.daily_users.iter().cloned());
        for (k, n) in &other.counts {
            *self.counts.entry(k.clone()).or_default() += n;
        }
    }

    /// Adds another delta to this one.
    pub fn merge(&mut self, other: UsageDelta) {
        if self.is_empty() {
            *self = other;
            return;
        }
        for (k, v) in other.rollups {
            self.rollups.entry(k).or_default().add(&v);
        }
        for (k, v) in other.daily {
            self.daily.entry(k).or_default().add(&v);
        }
        for (k, hour) in other.sessions {
            self.sessions.entry(k).and_modify(|h| *h = (*h).min(hour)).or_insert(hour);
        }
        self.daily_users.extend(other.daily_users);
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
    }
}

/// Rollups are written at most this long after their events (or sooner, see [`PendingUsage::due`]).
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// ... or once this many events wait, which bounds the memory they take.
pub(crate) const FLUSH_EVENTS: u64 = 100_000;
/// Rollup rows one write takes with it, unless forced (a flush, a read, shutdown): a slice of the
/// pending usage per transaction keeps every request's commit short.
pub(crate) const FLUSH_ROWS_PER_WRITE: usize = 4_000;
/// A backlog entry this old (epoch ms) belongs to a process that stopped before it wrote its
/// rollups (a live one writes them within [`FLUSH_EVERY`]): the next flush of any process rolls
/// it up from its raw events. Should a slow process still hold it, its own flush finds the entry
/// gone and drops its copy, so the events are counted exactly once either way.
pub(crate) const ORPHAN_AFTER_MS: i64 = 5_000;

/// The rows a delta writes.
fn rows_of(delta: &UsageDelta) -> usize {
    delta.rollups.len() + delta.sessions.len() + delta.counts.len() + delta.daily.len() + delta.daily_users.len()
}

/// The usage of events this process stored but has not written to the rollups yet, per backlog
/// entry (`usage_backlog.seq`): aggregated in memory across transactions, so a flush writes one
/// row per rollup key however many events and requests fed it. The raw events are durable when
/// their transaction commits; the rollups follow within about a second, and are recoverable from
/// the events through the backlog after a crash.
#[derive(Debug, Default)]
pub(crate) struct PendingUsage {
    /// Per backlog entry: its usage, its events, and when it was added.
    by_entry: BTreeMap<i64, (UsageDelta, u64, Instant)>,
    events: u64,
    /// When this process last looked for entries a stopped process left.
    checked_orphans: Option<Instant>,
    /// Day-user rows and session starts this process has committed. Writing them again changes
    /// nothing (rows are never deleted; a session start only moves earlier), so flushes leave
    /// them out: most events of a busy day repeat users and sessions already written.
    known_users: HashSet<DailyUser>,
    known_sessions: HashMap<SessionKey, i64>,
    /// What the last `take` writes of them, known once its transaction commits.
    unconfirmed: (Vec<DailyUser>, Vec<(SessionKey, i64)>),
}

/// Rows remembered as written before the memory is given back (they are then written again once).
const KNOWN_ROWS: usize = 1_000_000;

impl PendingUsage {
    /// Records what committed backlog entry `seq` adds (`events` new events).
    pub(crate) fn add(&mut self, seq: i64, delta: UsageDelta, events: u64) {
        let entry = self.by_entry.entry(seq).or_insert_with(|| (UsageDelta::default(), 0, Instant::now()));
        entry.0.merge(delta);
        entry.1 += events;
        self.events += events;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_entry.is_empty()
    }

    /// Whether a write should flush now.
    pub(crate) fn due(&self) -> bool {
        let orphan_check = Duration::from_millis(ORPHAN_AFTER_MS as u64);
        let oldest = self.by_entry.values().next().map(|e| e.2);
        self.events >= FLUSH_EVENTS
            || oldest.is_some_and(|t| t.elapsed() >= FLUSH_EVERY)
            || self.checked_orphans.is_none_or(|t| t.elapsed() >= orphan_check)
    }

    /// Takes entries to write with a transaction: when they are due, the oldest ones up to about
    /// [`FLUSH_ROWS_PER_WRITE`] rows (so one request's commit never carries a whole second of
    /// rollups; the next writes take the rest), or all of them with `force`. Should that
    /// transaction fail, they are not put back: their backlog entries stay in the store, and a
    /// later flush rolls them up from the events as a stopped process's.
    pub(crate) fn take(&mut self, force: bool) -> Option<Vec<(i64, UsageDelta)>> {
        if !force && !self.due() {
            return None;
        }
        // A quarter of what waits, at least: should the writes bring more than a slice each, the
        // slices grow with the backlog instead of the backlog growing until one write takes it all.
        let pending_rows: usize = self.by_entry.values().map(|e| rows_of(&e.0)).sum();
        let limit = if force { usize::MAX } else { FLUSH_ROWS_PER_WRITE.max(pending_rows / 4) };
        let mut taken = Vec::new();
        let mut rows = 0;
        self.unconfirmed = Default::default();
        while let Some(entry) = self.by_entry.first_entry() {
            if rows >= limit {
                break;
            }
            let (seq, (mut delta, events, _)) = entry.remove_entry();
            delta.daily_users.retain(|u| !self.known_users.contains(u));
            delta.sessions.retain(|k, hour| self.known_sessions.get(k).is_none_or(|known| *hour < *known));
            self.unconfirmed.0.extend(delta.daily_users.iter().cloned());
            self.unconfirmed.1.extend(delta.sessions.iter().map(|(k, h)| (k.clone(), *h)));
            rows += rows_of(&delta);
            self.events -= events;
            taken.push((seq, delta));
        }
        Some(taken)
    }

    /// After a transaction that took pending usage committed; `wrote`: with what
    /// [`PendingUsage::take`] gave (a retried PostgreSQL transaction goes without it).
    pub(crate) fn flushed(&mut self, wrote: bool) {
        self.checked_orphans = Some(Instant::now());
        let (users, sessions) = std::mem::take(&mut self.unconfirmed);
        if !wrote {
            return;
        }
        if self.known_users.len() + self.known_sessions.len() > KNOWN_ROWS {
            self.known_users.clear();
            self.known_sessions.clear();
        }
        self.known_users.extend(users);
        for (k, hour) in sessions {
            let known = self.known_sessions.entry(k).or_insert(hour);
            *known = (*known).min(hour);
        }
    }
}

/// How a read of `[from, to)` splits between the rollups. The range holds the hourly buckets that
/// start in `[first_hour, end_hour)`; of those, the ones in `[first_day, end_day)` make whole days
/// and are read from the daily tables, the others (the partial first and last days) from the
/// hourly rows. Without a whole day, `first_day == end_day == end_hour`: every hour is an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub first_hour: i64,
    pub end_hour: i64,
    pub first_day: i64,
    pub end_day: i64,
}

/// An end for "from then on" ranges, far enough to hold any event and small enough to round up.
pub(crate) const FAR_FUTURE_MS: i64 = i64::MAX / 4;

impl Span {
    pub(crate) fn of(from: i64, to: i64) -> Span {
        let (from, to) = (from.clamp(-FAR_FUTURE_MS, FAR_FUTURE_MS), to.clamp(-FAR_FUTURE_MS, FAR_FUTURE_MS));
        let ceil = |ms: i64, size: i64| ms.div_euclid(size) * size + if ms.rem_euclid(size) == 0 { 0 } else { size };
        let first_hour = ceil(from, HOUR_MS);
        let end_hour = ceil(to, HOUR_MS).max(first_hour);
        let (first_day, end_day) = (ceil(first_hour, DAY_MS), Grain::Day.bucket(end_hour));
        if first_day < end_day {
            Span { first_hour, end_hour, first_day, end_day }
        } else {
            Span { first_hour, end_hour, first_day: end_hour, end_day: end_hour }
        }
    }
}

/// Usage of one account over a time range, from the rollups.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageSummary {
    pub events: i64,
    pub feature_total: f64,
    pub time_spent: f64,
    pub active_duration: f64,
    pub active_users: u64,
    /// Sessions whose earliest event falls in the range.
    pub sessions: u64,
    /// Per product, module and feature.
    pub features: Vec<FeatureUsage>,
    /// Per day: events and active users.
    pub days: Vec<DayUsage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureUsage {
    pub product: String,
    pub module: String,
    pub feature: String,
    pub events: i64,
    pub total: f64,
    pub time_spent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayUsage {
    /// The day's start, epoch ms.
    pub day: i64,
    pub events: i64,
    pub active_users: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::event;

    #[test]
    fn buckets_are_utc_hours_and_days() {
        assert_eq!(Grain::Hour.bucket(1_714_553_999_999), 1_714_550_400_000);
        assert_eq!(Grain::Day.bucket(1_714_553_999_999), 1_714_521_600_000);
        assert_eq!(Grain::Day.bucket(-1), -DAY_MS);
    }

    #[test]
    fn events_add_up_per_grain_and_feature() {
        let mut d = UsageDelta::default();
        d.add(&event("e1", "A", "u1", "s1", 1_714_550_400_000, Some(("reports", "export", 2.0)), None));
        d.add(&event("e2", "A", "u1", "s1", 1_714_550_500_000, Some(("reports", "export", 1.0)), None));
        d.add(&event("e3", "A", "u2", "s2", 1_714_550_600_000, None, Some(30.0)));
        let hour: Vec<_> = d.rollups.iter().filter(|(k, _)| k.grain == Grain::Hour).collect();
        assert_eq!(hour.len(), 2, "u1/export and u2/(module end)");
        assert_eq!(hour.len(), d.rollups.len(), "only hourly rows are stored");
        let export = hour.iter().find(|(k, _)| k.feature == "export").unwrap().1;
        assert_eq!((export.events, export.total), (2, 3.0));
        assert_eq!(d.sessions.len(), 2, "two sessions");
        let daily: Vec<_> = d.daily.iter().map(|(k, v)| (k.day, k.feature.as_str(), v.events)).collect();
        assert_eq!(daily, [(1_714_521_600_000, "", 1), (1_714_521_600_000, "export", 2)]);
        assert_eq!(d.daily_users.len(), 2, "u1 and u2 on that day");
    }

    #[test]
    fn a_span_reads_whole_days_daily_and_the_edges_hourly() {
        let (h, day) = (HOUR_MS, DAY_MS);
        let d = 100 * day;
        // 30 days back from mid-day: hours up to the first midnight, 29 whole days, today's hours.
        let s = Span::of(d + 10 * h + 5, d + 30 * day + 10 * h + 5);
        assert_eq!((s.first_hour, s.end_hour), (d + 11 * h, d + 30 * day + 11 * h));
        assert_eq!((s.first_day, s.end_day), (d + day, d + 30 * day));
        // Aligned on days: no edges.
        let s = Span::of(d, d + 2 * day);
        assert_eq!((s.first_hour, s.first_day, s.end_day, s.end_hour), (d, d, d + 2 * day, d + 2 * day));
        // Under a whole day: every hour is an edge.
        let s = Span::of(d + h, d + day + h);
        assert_eq!((s.first_day, s.end_day), (s.end_hour, s.end_hour));
        assert_eq!((s.first_hour, s.end_hour), (d + h, d + day + h));
        // A bucket counts when it starts inside the range; an empty or reversed range is empty.
        let s = Span::of(d + 1, d + 1);
        assert_eq!(s.first_hour, s.end_hour);
        let s = Span::of(d + day, d);
        assert_eq!(s.first_hour, s.end_hour);
        // Unbounded ends are clamped, not overflowed.
        let s = Span::of(i64::MIN, i64::MAX);
        assert!(s.first_day - s.first_hour < DAY_MS && s.end_hour - s.end_day < DAY_MS);
        // Before 1970, days still start at midnight.
        let s = Span::of(-3 * day, -day + 1);
        assert_eq!((s.first_day, s.end_day), (-3 * day, -day));
    }
}
