//! The sandbox's notion of "now": the wall clock plus an offset tests can move forward.
//!
//! Emulators stamp runtime changes (`SystemModstamp`, `updated_at`) with this clock and compare
//! against it where the real API does (Zendesk leaves out the last minute, Salesforce keeps deleted
//! ids for a window). It follows the wall clock so a connector that computes windows from its own
//! clock (`getDeleted?end=now`) agrees with the emulator; `advance` lets a test skip a wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// A shared, adjustable clock. Cloning shares the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current time as the emulators see it.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (or back, with a negative duration) for every emulator sharing it.
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

/// Truncates to whole seconds: every API here reports seconds at most, so runtime changes are
/// stored the way they will be read back.
pub(crate) fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_every_clone() {
        let a = Clock::new();
        let b = a.clone();
        let before = b.now();
        a.advance(Duration::hours(2));
        let gap = b.now() - before;
        assert!(gap >= Duration::hours(2) && gap < Duration::hours(2) + Duration::seconds(5), "{gap}");
    }
}
