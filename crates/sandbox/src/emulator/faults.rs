//! Fault injection: scheduled failures an emulator answers with instead of (or on top of) serving.
//!
//! A test arms rules on an emulator's [`FaultHandle`] at any time ("fail the next 3 requests with
//! 503", "drop every 7th connection") and reads back how many of each it delivered, so it can
//! assert exact recovery. Rules are checked in the order they were added and the first that
//! fires decides the request; a `Next(n)` rule fires on n requests no earlier rule took.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_LENGTH;
use axum::response::Response;

/// What goes wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this server-error status and the vendor's error body for it.
    Status(u16),
    /// Answer as the vendor does when its rate limit is exceeded (its status, headers and body),
    /// whatever the emulator's own limiter says.
    RateLimited,
    /// Serve the request normally, after this delay.
    Delay(Duration),
    /// Close the connection without sending a response.
    Drop,
    /// Serve the request, but cut the JSON body in half: the status is right and
    /// `Content-Length` matches the cut body, so only parsing fails.
    Truncate,
    /// Serve the request, but leave the last record out of the page's record array, keeping its
    /// totals and links: a vendor that loses a record, which only a count check can notice.
    LoseRecord,
}

/// When a rule fires, counted over the requests it matches from the moment it is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The next `n` matching requests; then the rule is spent.
    Next(u32),
    /// Every `n`-th matching request (the n-th, 2n-th, ...), until cleared.
    EveryNth(u32),
    /// Every matching request, until cleared.
    Always,
}

/// How many faults of each kind an emulator delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub status: u64,
    pub rate_limited: u64,
    pub delayed: u64,
    pub dropped: u64,
    pub truncated: u64,
    pub lost_records: u64,
}

impl FaultCounts {
    pub fn total(&self) -> u64 {
        self.status + self.rate_limited + self.delayed + self.dropped + self.truncated + self.lost_records
    }
}

#[derive(Debug)]
struct Rule {
    fault: Fault,
    schedule: Schedule,
    /// Only requests whose path starts with this are matched.
    path_prefix: Option<String>,
    seen: u32,
    fired: u32,
}

impl Rule {
    fn spent(&self) -> bool {
        matches!(self.schedule, Schedule::Next(n) if self.fired >= n)
    }

    /// Counts a matching request; true when the rule fires for it. `free` is false when an
    /// earlier rule already took the request: `EveryNth` still counts it (its rhythm is over all
    /// matching requests), `Next` waits for a request of its own.
    fn tick(&mut self, free: bool) -> bool {
        self.seen += 1;
        let fire = free
            && match self.schedule {
                Schedule::Next(n) => self.fired < n,
                Schedule::EveryNth(n) => n > 0 && self.seen.is_multiple_of(n),
                Schedule::Always => true,
            };
        if fire {
            self.fired += 1;
        }
        fire
    }
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<Rule>,
    counts: FaultCounts,
}

/// The fault schedule of one emulator. Cheap to clone; clones share the schedule.
#[derive(Debug, Clone, Default)]
pub struct FaultHandle {
    inner: Arc<Mutex<Inner>>,
}

impl FaultHandle {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain counters behind, which stay usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms a fault for every path.
    pub fn inject(&self, fault: Fault, schedule: Schedule) -> &Self {
        self.add(fault, schedule, None)
    }

    /// Arms a fault for requests whose path starts with `path_prefix` (e.g. `/contacts`).
    pub fn inject_on(&self, path_prefix: &str, fault: Fault, schedule: Schedule) -> &Self {
        self.add(fault, schedule, Some(path_prefix.to_owned()))
    }

    fn add(&self, fault: Fault, schedule: Schedule, path_prefix: Option<String>) -> &Self {
        self.lock().rules.push(Rule { fault, schedule, path_prefix, seen: 0, fired: 0 });
        self
    }

    /// Removes every armed rule (counters are kept).
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Whether any rule is still armed.
    pub fn armed(&self) -> bool {
        !self.lock().rules.is_empty()
    }

    /// Faults delivered so far.
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// Decides the fate of one request.
    pub(crate) fn next(&self, path: &str) -> Option<Fault> {
        let mut inner = self.lock();
        let mut chosen = None;
        for rule in inner.rules.iter_mut() {
            if rule.path_prefix.as_deref().is_some_and(|p| !path.starts_with(p)) {
                continue;
            }
            if rule.tick(chosen.is_none()) {
                chosen = Some(rule.fault);
            }
        }
        inner.rules.retain(|r| !r.spent());
        if let Some(f) = chosen {
            let c = &mut inner.counts;
            match f {
                Fault::Status(_) => c.status += 1,
                Fault::RateLimited => c.rate_limited += 1,
                Fault::Delay(_) => c.delayed += 1,
                Fault::Drop => c.dropped += 1,
                Fault::Truncate => c.truncated += 1,
                Fault::LoseRecord => c.lost_records += 1,
            }
        }
        chosen
    }
}

/// Marks a response the server must not send: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

pub(crate) fn dropped() -> Response {
    let mut r = Response::new(Body::empty());
    r.extensions_mut().insert(DropConnection);
    r
}

/// Cuts a response body in half, keeping the status and headers and fixing `Content-Length`.
pub(crate) async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(cut.len()));
    Response::from_parts(parts, Body::from(cut))
}

/// Removes the last record of a page: the last element of the longest array at the top of the
/// JSON body (`records`, `data`, `tickets`...). Other bodies are served unchanged.
pub(crate) async fn lose_record(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let longest = json.as_object_mut().and_then(|o| {
        o.values_mut().filter_map(|v| v.as_array_mut()).filter(|a| !a.is_empty()).max_by_key(|a| a.len())
    });
    if let Some(records) = longest {
        records.pop();
    }
    let out = serde_json::to_vec(&json).unwrap_or_default();
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lost_record_leaves_the_page_and_keeps_its_totals() {
        let page =
            serde_json::json!({"totalSize": 3, "done": true, "records": [{"Id": "a"}, {"Id": "b"}, {"Id": "c"}]});
        let response = Response::new(Body::from(page.to_string()));
        let served = lose_record(response).await;
        let length: usize = served.headers()[CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let bytes = axum::body::to_bytes(served.into_body(), usize::MAX).await.unwrap();
        assert_eq!(length, bytes.len());
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body, serde_json::json!({"totalSize": 3, "done": true, "records": [{"Id": "a"}, {"Id": "b"}]}));
    }

    #[test]
    fn next_n_fires_exactly_n_times_then_is_spent() {
        let f = FaultHandle::default();
        f.inject(Fault::Status(503), Schedule::Next(3));
        let fired: Vec<_> = (0..5).map(|_| f.next("/x")).collect();
        assert_eq!(fired, vec![Some(Fault::Status(503)); 3].into_iter().chain([None, None]).collect::<Vec<_>>());
        assert!(!f.armed());
        assert_eq!(f.counts().status, 3);
    }

    #[test]
    fn every_nth_counts_matching_requests_only() {
        let f = FaultHandle::default();
        f.inject_on("/contacts", Fault::Drop, Schedule::EveryNth(3));
        let mut hits = Vec::new();
        for i in 1..=9 {
            f.next("/companies");
            if f.next("/contacts").is_some() {
                hits.push(i);
            }
        }
        assert_eq!(hits, vec![3, 6, 9]);
        assert_eq!(f.counts().dropped, 3);
    }

    #[test]
    fn next_rules_wait_their_turn() {
        let f = FaultHandle::default();
        f.inject(Fault::Status(502), Schedule::Next(1)).inject(Fault::Truncate, Schedule::Next(1));
        assert_eq!(f.next("/"), Some(Fault::Status(502)));
        assert_eq!(f.next("/"), Some(Fault::Truncate));
        assert_eq!(f.next("/"), None);
    }

    #[test]
    fn the_first_rule_that_fires_wins_and_later_rules_still_count() {
        let f = FaultHandle::default();
        f.inject(Fault::Truncate, Schedule::Next(1)).inject(Fault::Status(500), Schedule::EveryNth(2));
        assert_eq!(f.next("/"), Some(Fault::Truncate));
        // The second rule saw the first request too, so it fires on this one.
        assert_eq!(f.next("/"), Some(Fault::Status(500)));
        assert_eq!(f.next("/"), None);
        assert_eq!(f.counts().total(), 2);
    }
}
