//! When `accord serve` syncs a source on its own: `schedule = "every 15m"` (a fixed interval) or
//! `schedule = "cron: */15 * * * *"` (a standard five-field cron expression, evaluated in UTC).
//!
//! A schedule only answers "what is the first slot after this instant"; the scheduler decides
//! from the last run it finds in the store, so the answer is the same in every process and
//! survives restarts.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::time::Timestamp;

/// The shortest interval a schedule may have: a sync more often than this is a loop, not a schedule.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// A parsed `schedule` setting.
#[derive(Clone)]
pub enum Schedule {
    /// `every <n><s|m|h|d>`: slots `interval` apart, counted from the start of the last run.
    Every(Duration),
    /// `cron: <minute> <hour> <day of month> <month> <day of week>`, in UTC.
    Cron { expression: String, cron: Box<Cron> },
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({self})")
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Every(a), Self::Every(b)) => a == b,
            (Self::Cron { expression: a, .. }, Self::Cron { expression: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Schedule {
    /// The setting as it would be written (`every 15m`, `cron: */15 * * * *`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Every(d) => {
                let s = d.as_secs();
                let (n, unit) = if s % 86_400 == 0 {
                    (s / 86_400, 'd')
                } else if s % 3_600 == 0 {
                    (s / 3_600, 'h')
                } else if s % 60 == 0 {
                    (s / 60, 'm')
                } else {
                    (s, 's')
                };
                write!(f, "every {n}{unit}")
            }
            Self::Cron { expression, .. } => write!(f, "cron: {expression}"),
        }
    }
}

const SYNTAX: &str = "write \"every <n><s|m|h|d>\" (e.g. \"every 15m\") or \"cron: <minute> <hour> <day of month> <month> <day of week>\" (e.g. \"cron: */15 * * * *\", in UTC)";

impl Schedule {
    /// Parses a `schedule` setting; the error says what was wrong and what is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if let Some(expression) = trimmed.strip_prefix("cron:") {
            let expression = expression.trim();
            let fields = expression.split_whitespace().count();
            if fields != 5 {
                return Err(format!(
                    "{text:?}: a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has {fields}"
                ));
            }
            let parser = CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
            let cron = parser.parse(expression).map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))?;
            // An expression that can never fire (`0 0 31 2 *`) is an error now, not a silent never.
            let probe = DateTime::<Utc>::UNIX_EPOCH;
            if cron.find_next_occurrence(&probe, false).is_err() {
                return Err(format!("{text:?} never fires (no date matches it)"));
            }
            return Ok(Self::Cron { expression: expression.to_owned(), cron: Box::new(cron) });
        }
        let Some(rest) = trimmed.strip_prefix("every") else {
            return Err(format!("{text:?} is not a schedule: {SYNTAX}"));
        };
        let rest = rest.trim();
        let split = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (digits, unit) = rest.split_at(split);
        let unit_secs = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return Err(format!("{text:?} is not a schedule: {SYNTAX}")),
        };
        let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a schedule: {SYNTAX}"))?;
        let secs = n
            .checked_mul(unit_secs)
            .filter(|s| *s <= 366 * 86_400)
            .ok_or_else(|| format!("{text:?}: an interval is at most 366 days"))?;
        let interval = Duration::from_secs(secs);
        if interval < MIN_INTERVAL {
            return Err(format!("{text:?}: an interval is at least 1s"));
        }
        Ok(Self::Every(interval))
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Timestamp {
        match self {
            Self::Every(d) => after + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX),
            // `parse` proved the expression fires; a date past croner's year limit is never due.
            Self::Cron { cron, .. } => cron.find_next_occurrence(&after, false).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// When a source with this schedule runs next: at once when it never ran, else the first
    /// slot after its last run started (a run missed while nothing was serving runs once, at once).
    pub fn next_run(&self, last_started: Option<Timestamp>, now: Timestamp) -> Timestamp {
        match last_started {
            None => now,
            Some(t) => self.next_after(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn intervals_parse_in_each_unit_and_print_back() {
        for (text, secs, shown) in [
            ("every 30s", 30, "every 30s"),
            ("every 15m", 900, "every 15m"),
            ("every 2h", 7_200, "every 2h"),
            ("every 1d", 86_400, "every 1d"),
            ("  every 90m ", 5_400, "every 90m"),
            ("every 120s", 120, "every 2m"),
        ] {
            let s = Schedule::parse(text).unwrap();
            assert_eq!(s, Schedule::Every(Duration::from_secs(secs)), "{text}");
            assert_eq!(s.to_string(), shown);
        }
    }

    #[test]
    fn bad_intervals_say_what_is_allowed() {
        for (text, needle) in [
            ("every", "every <n><s|m|h|d>"),
            ("every 15", "every <n><s|m|h|d>"),
            ("every 15 minutes", "every <n><s|m|h|d>"),
            ("every -5m", "every <n><s|m|h|d>"),
            ("every 1.5h", "every <n><s|m|h|d>"),
            ("every 0s", "at least 1s"),
            ("every 400d", "at most 366 days"),
            ("every 99999999999999999999d", "every <n><s|m|h|d>"),
            ("hourly", "is not a schedule"),
            ("", "is not a schedule"),
        ] {
            let e = Schedule::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(e.contains(&format!("{text:?}")), "the error names the value: {e}");
        }
    }

    #[test]
    fn cron_expressions_have_five_fields_and_valid_values() {
        let s = Schedule::parse("cron: */15 * * * *").unwrap();
        assert_eq!(s.to_string(), "cron: */15 * * * *");
        assert!(Schedule::parse("cron:0 3 * * MON-FRI").is_ok());
        let e = Schedule::parse("cron: 0 */15 * * * *").unwrap_err();
        assert!(e.contains("5 fields") && e.contains("has 6"), "{e}");
        let e = Schedule::parse("cron: * * *").unwrap_err();
        assert!(e.contains("has 3"), "{e}");
        let e = Schedule::parse("cron: 61 * * * *").unwrap_err();
        assert!(e.contains("not a valid cron expression") && e.contains("61"), "{e}");
        let e = Schedule::parse("cron: 0 0 31 2 *").unwrap_err();
        assert!(e.contains("never fires"), "{e}");
    }

    #[test]
    fn intervals_count_from_the_last_start() {
        let s = Schedule::parse("every 15m").unwrap();
        let t = at("2026-03-01T10:07:30Z");
        assert_eq!(s.next_after(t), at("2026-03-01T10:22:30Z"));
        assert_eq!(s.next_run(Some(t), at("2026-03-01T10:08:00Z")), at("2026-03-01T10:22:30Z"));
        // Never ran: due at once.
        let now = at("2026-03-01T11:00:00Z");
        assert_eq!(s.next_run(None, now), now);
        // Missed slots while nothing served: one run, due (in the past), not one per missed slot.
        assert_eq!(s.next_run(Some(t), at("2026-03-02T00:00:00Z")), at("2026-03-01T10:22:30Z"));
    }

    #[test]
    fn cron_slots_are_utc_and_strictly_after() {
        let s = Schedule::parse("cron: */15 * * * *").unwrap();
        assert_eq!(s.next_after(at("2026-03-01T10:07:30Z")), at("2026-03-01T10:15:00Z"));
        // On a slot: the next one, not the same.
        assert_eq!(s.next_after(at("2026-03-01T10:15:00Z")), at("2026-03-01T10:30:00Z"));
        let daily = Schedule::parse("cron: 30 2 * * *").unwrap();
        assert_eq!(daily.next_after(at("2026-03-01T02:30:00.001Z")), at("2026-03-02T02:30:00Z"));
        let weekdays = Schedule::parse("cron: 0 9 * * MON-FRI").unwrap();
        // 2026-03-06 is a Friday: the next weekday 09:00 is Monday the 9th.
        assert_eq!(weekdays.next_after(at("2026-03-06T09:00:00Z")), at("2026-03-09T09:00:00Z"));
        let leap = Schedule::parse("cron: 0 0 29 2 *").unwrap();
        assert_eq!(leap.next_after(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()), at("2028-02-29T00:00:00Z"));
    }
}
