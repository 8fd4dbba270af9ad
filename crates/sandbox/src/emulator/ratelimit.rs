//! Rate limiting as the vendors do it, and the counters tests assert on.
//!
//! Each limit is a fixed window that opens with the first request after the previous window
//! closed. (Intercom and Zendesk align their windows to the wall clock; anchoring them to the
//! first request instead keeps a burst in a test from straddling a boundary by chance.) Every
//! request an emulator receives is also metered over a sliding window of the same length, so a
//! test can assert that a client never sent more than the limit in any window.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// One limit: at most `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub fn per_minute(max: u32) -> Self {
        Self { max, window: Duration::from_secs(60) }
    }
}

/// The outcome of asking a window for one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Time until the window closes.
    pub reset_in: Duration,
}

impl Verdict {
    /// `reset_in` rounded up to whole seconds, never 0: what a `Retry-After` header says.
    pub fn retry_after_secs(&self) -> u64 {
        self.reset_in.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// How a vendor's limit headers say when the window resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// A Unix time of the wall clock (clients compare it with their own clock): Intercom, Capsule.
    UnixTime,
    /// Seconds from now: Freshdesk's `Retry-After`-like counters.
    Seconds,
}

/// The names of a vendor's rate-limit headers: Zendesk's `x-rate-limit` and
/// `x-rate-limit-remaining`, Intercom's `x-ratelimit-limit`, `-remaining` and `-reset`, ...
#[derive(Debug, Clone, Copy)]
pub struct LimitHeaders {
    pub limit: &'static str,
    pub remaining: &'static str,
    pub reset: Option<(&'static str, Reset)>,
}

impl LimitHeaders {
    /// The headers of an answer with `remaining` of `limit` left and the window closing in
    /// `reset_in` (rounded up to whole seconds).
    pub fn headers(&self, limit: u32, remaining: u32, reset_in: Duration) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static(self.limit), HeaderValue::from(limit));
        h.insert(HeaderName::from_static(self.remaining), HeaderValue::from(remaining));
        if let Some((name, style)) = self.reset {
            let secs = reset_in.as_millis().div_ceil(1000) as i64;
            let value = match style {
                Reset::UnixTime => chrono::Utc::now().timestamp() + secs,
                Reset::Seconds => secs,
            };
            h.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        h
    }
}

#[derive(Debug)]
struct Window {
    opened: Instant,
    used: u32,
}

/// What an emulator counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateStats {
    /// Every request received, whatever its answer.
    pub requests: u64,
    /// Requests refused by the emulated limit (injected rate-limit faults are counted by the
    /// fault handle, not here).
    pub throttled: u64,
    /// The most requests received within any sliding window of the metered length.
    pub max_in_window: u64,
    /// When the first and the last request arrived: the span a client was active.
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

impl RateStats {
    /// From the first request to the last.
    pub fn active(&self) -> Duration {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.duration_since(a),
            _ => Duration::ZERO,
        }
    }
}

/// How close a client came to one of the emulator's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeUse {
    /// The limit's name (`account`, `incremental`, `app`, ...).
    pub scope: &'static str,
    pub limit: Limit,
    /// The most requests granted within one of its windows.
    pub peak: u32,
}

impl ScopeUse {
    /// The peak as a fraction of the limit.
    pub fn fraction(&self) -> f64 {
        f64::from(self.peak) / f64::from(self.limit.max.max(1))
    }
}

#[derive(Debug)]
struct State {
    enabled: bool,
    windows: HashMap<&'static str, Window>,
    meter_window: Duration,
    recent: VecDeque<Instant>,
    stats: RateStats,
    /// Per scope, in the order first seen: its limit and the most requests one window granted.
    peaks: Vec<ScopeUse>,
}

/// The limiter and meter of one emulator. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    state: Arc<Mutex<State>>,
}

impl RateLimiter {
    /// A limiter metering requests over `meter_window`; limits apply only when `enabled`.
    pub(crate) fn new(enabled: bool, meter_window: Duration) -> Self {
        let state = State {
            enabled,
            windows: HashMap::new(),
            meter_window,
            recent: VecDeque::new(),
            stats: RateStats::default(),
            peaks: Vec::new(),
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns enforcement on or off (counting goes on either way).
    pub fn set_enabled(&self, enabled: bool) {
        let mut s = self.lock();
        s.enabled = enabled;
        s.windows.clear();
    }

    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    pub fn stats(&self) -> RateStats {
        self.lock().stats
    }

    /// How close clients came to each limit that was enforced.
    pub fn scope_use(&self) -> Vec<ScopeUse> {
        self.lock().peaks.clone()
    }

    /// Zeroes the counters and closes every window.
    pub fn reset(&self) {
        let mut s = self.lock();
        s.stats = RateStats::default();
        s.peaks.clear();
        s.recent.clear();
        s.windows.clear();
    }

    /// Counts a request that reached the emulator.
    pub(crate) fn observe(&self) {
        let now = Instant::now();
        let mut s = self.lock();
        let window = s.meter_window;
        while s.recent.front().is_some_and(|t| now.duration_since(*t) >= window) {
            s.recent.pop_front();
        }
        s.recent.push_back(now);
        s.stats.requests += 1;
        s.stats.first.get_or_insert(now);
        s.stats.last = Some(now);
        s.stats.max_in_window = s.stats.max_in_window.max(s.recent.len() as u64);
    }

    /// Takes one request from the window named `scope`. `None` when limits are off.
    pub(crate) fn acquire(&self, scope: &'static str, limit: Limit) -> Option<Verdict> {
        self.acquire_all(&[(scope, limit)]).map(|mut v| v.remove(0))
    }

    /// Takes one request from every scope, or from none when any is exhausted. One verdict per
    /// scope, in order; `None` when limits are off.
    pub(crate) fn acquire_all(&self, scopes: &[(&'static str, Limit)]) -> Option<Vec<Verdict>> {
        let now = Instant::now();
        let mut s = self.lock();
        if !s.enabled {
            return None;
        }
        let mut verdicts = Vec::with_capacity(scopes.len());
        for (name, limit) in scopes {
            let w = s.windows.entry(name).or_insert(Window { opened: now, used: 0 });
            if now.duration_since(w.opened) >= limit.window {
                *w = Window { opened: now, used: 0 };
            }
            verdicts.push(Verdict {
                allowed: w.used < limit.max,
                limit: limit.max,
                remaining: limit.max.saturating_sub(w.used + 1),
                reset_in: limit.window.saturating_sub(now.duration_since(w.opened)),
            });
        }
        if verdicts.iter().all(|v| v.allowed) {
            for (name, limit) in scopes {
                let Some(w) = s.windows.get_mut(name) else { continue };
                w.used += 1;
                let used = w.used;
                match s.peaks.iter_mut().find(|p| p.scope == *name) {
                    Some(p) => {
                        p.peak = p.peak.max(used);
                        p.limit = *limit;
                    }
                    None => s.peaks.push(ScopeUse { scope: name, limit: *limit, peak: used }),
                }
            }
        } else {
            s.stats.throttled += 1;
            for v in &mut verdicts {
                v.remaining = if v.allowed { v.remaining + 1 } else { 0 };
            }
        }
        Some(verdicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_max_then_refuses_until_it_closes() {
        let rl = RateLimiter::new(true, Duration::from_millis(200));
        let limit = Limit { max: 3, window: Duration::from_millis(200) };
        let allowed: Vec<bool> = (0..5).map(|_| rl.acquire("a", limit).unwrap().allowed).collect();
        assert_eq!(allowed, [true, true, true, false, false]);
        assert_eq!(rl.stats().throttled, 2);
        std::thread::sleep(Duration::from_millis(220));
        let v = rl.acquire("a", limit).unwrap();
        assert!(v.allowed);
        assert_eq!(v.remaining, 2);
    }

    #[test]
    fn a_refused_scope_consumes_nothing_from_the_others() {
        let rl = RateLimiter::new(true, Duration::from_secs(60));
        let small = Limit { max: 1, window: Duration::from_secs(60) };
        let big = Limit { max: 10, window: Duration::from_secs(60) };
        assert!(rl.acquire_all(&[("inc", small), ("acct", big)]).unwrap().iter().all(|v| v.allowed));
        let refused = rl.acquire_all(&[("inc", small), ("acct", big)]).unwrap();
        assert_eq!((refused[0].allowed, refused[0].remaining), (false, 0));
        assert_eq!((refused[1].allowed, refused[1].remaining), (true, 9), "nothing was taken from acct");
        let v = rl.acquire("acct", big).unwrap();
        assert_eq!(v.remaining, 8, "only two requests were taken from the account window");
    }

    #[test]
    fn limit_headers_carry_the_vendors_names() {
        let style = LimitHeaders { limit: "x-ratelimit-limit", remaining: "x-ratelimit-remaining", reset: None };
        let h = style.headers(100, 7, Duration::from_millis(1500));
        assert_eq!(
            (h["x-ratelimit-limit"].to_str().unwrap(), h["x-ratelimit-remaining"].to_str().unwrap()),
            ("100", "7")
        );
        assert_eq!(h.len(), 2);
        let style = LimitHeaders { reset: Some(("x-ratelimit-reset", Reset::Seconds)), ..style };
        assert_eq!(style.headers(1, 0, Duration::from_millis(1500))["x-ratelimit-reset"], "2");
    }

    #[test]
    fn the_meter_reports_the_busiest_sliding_window() {
        let rl = RateLimiter::new(false, Duration::from_millis(100));
        for _ in 0..4 {
            rl.observe();
        }
        std::thread::sleep(Duration::from_millis(120));
        rl.observe();
        let s = rl.stats();
        assert_eq!((s.requests, s.max_in_window), (5, 4));
        assert_eq!(rl.acquire("a", Limit::per_minute(1)), None, "limits are off");
    }
}
