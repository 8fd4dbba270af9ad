//! The client-side rate limiter: never more than `requests` in any window of `window`, so a normal
//! sync stays under the vendor's documented limit (a sliding window is at least as strict as the
//! fixed windows vendors count in). A vendor's own "remaining: 0, resets at T" pauses it until T.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A vendor's documented limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_minute(requests: u32) -> Self {
        Self { requests, window: Duration::from_secs(60) }
    }

    pub const fn per_second(requests: u32) -> Self {
        Self { requests, window: Duration::from_secs(1) }
    }
}

#[derive(Debug)]
struct State {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// A sliding-window limiter shared by every stream of a source.
#[derive(Debug)]
pub struct Limiter {
    limit: Option<Limit>,
    state: Mutex<State>,
}

impl Limiter {
    /// `None` turns limiting off (benchmarks against an unthrottled sandbox).
    pub fn new(limit: Option<Limit>) -> Self {
        Self { limit, state: Mutex::new(State { sent: VecDeque::new(), paused_until: None }) }
    }

    /// Waits until a request may be sent; returns whether it had to wait.
    pub async fn acquire(&self) -> bool {
        let mut waited = false;
        loop {
            let wait_until = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                match s.paused_until {
                    Some(t) if t > now => Some(t),
                    _ => {
                        s.paused_until = None;
                        match self.limit {
                            None => return waited,
                            Some(limit) => {
                                // Requests reach the vendor a little after we send them, and not
                                // all equally late: a small margin keeps jitter from putting one
                                // request too many into the vendor's window.
                                let window = limit.window + (limit.window / 20).max(Duration::from_millis(50));
                                while s.sent.front().is_some_and(|t| now.duration_since(*t) >= window) {
                                    s.sent.pop_front();
                                }
                                if (s.sent.len() as u32) < limit.requests {
                                    s.sent.push_back(now);
                                    return waited;
                                }
                                s.sent.front().map(|t| *t + window)
                            }
                        }
                    }
                }
            };
            if let Some(t) = wait_until {
                waited = true;
                tokio::time::sleep_until(t).await;
            }
        }
    }

    /// Pauses every request until `until` (a vendor said its quota is spent).
    pub async fn pause_until(&self, until: Instant) {
        let mut s = self.state.lock().await;
        if s.paused_until.is_none_or(|t| t < until) {
            s.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window() {
        let l = Limiter::new(Some(Limit { requests: 3, window: Duration::from_secs(10) }));
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            l.acquire().await;
            at.push(start.elapsed().as_millis());
        }
        assert_eq!(at, vec![0, 0, 0, 10_500, 10_500, 10_500, 21_000], "10 s windows, plus a 5% margin");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request() {
        let l = Limiter::new(None);
        let start = Instant::now();
        l.pause_until(start + Duration::from_secs(5)).await;
        assert!(l.acquire().await);
        assert_eq!(start.elapsed().as_secs(), 5);
        assert!(!l.acquire().await);
    }
}
