//! The JIRA issue stream as data: `POST /rest/api/3/search/jql` ordered by `updated`, paged by
//! `nextPageToken` until `isLast`, incremental on JQL `updated >= "yyyy-MM-dd HH:mm"`.

use std::sync::Arc;

use accord_core::{FieldPath, LinkRule, ObjectKind};
use chrono::{DateTime, DurationRound, Utc};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::Resolved;
use crate::http::{Paginator, RequestSpec, StreamDef};
use crate::vendors::common::{mapping, object, path};

/// How the issue stream is configured.
pub(crate) struct Issues {
    pub jql: Option<String>,
    pub max_results: u32,
    pub reconcile_every: Option<chrono::Duration>,
    pub account: Option<FieldPath>,
    pub support: Option<FieldPath>,
    pub resolved: Arc<OnceCell<Resolved>>,
}

/// The start of a full pass: JIRA Cloud refuses unbounded JQL on `/search/jql`.
const EPOCH: &str = "1970-01-01 00:00";

/// The widest UTC offset (+14:00): a start moved back by it is early enough in any time zone.
const WIDEST_OFFSET_HOURS: i64 = 14;

/// The JQL date of an incremental start: floored to the minute (JQL's precision), and moved back
/// by the widest offset unless the user's time zone is UTC.
pub(crate) fn jql_date(since: DateTime<Utc>, utc: bool) -> String {
    let start = if utc { since } else { since - chrono::Duration::hours(WIDEST_OFFSET_HOURS) };
    let floored = start.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(start);
    floored.format("%Y-%m-%d %H:%M").to_string()
}

/// The JQL of a pass: the user's restriction, the start, the order.
pub(crate) fn jql(restriction: Option<&str>, start: &str) -> String {
    let since = format!("updated >= \"{start}\"");
    let filter = match restriction.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("({r}) AND {since}"),
        None => since,
    };
    format!("{filter} ORDER BY updated ASC")
}

impl Issues {
    pub(crate) fn stream(self) -> StreamDef {
        let rules: Vec<LinkRule> = [
            self.account.map(|field| LinkRule::Field { field }),
            self.support.map(|field| LinkRule::SupportId { field }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (restriction, max_results, resolved) = (self.jql, self.max_results, self.resolved);
        let first = move |since: Option<&Value>| {
            let utc = resolved.get().is_some_and(|r| r.utc);
            let start = since
                .and_then(accord_core::time::parse_timestamp)
                .map_or_else(|| EPOCH.to_owned(), |t| jql_date(t, utc));
            RequestSpec::post(
                "/rest/api/3/search/jql",
                json!({
                    "jql": jql(restriction.as_deref(), &start),
                    "maxResults": max_results,
                    "fields": ["*all"],
                }),
            )
        };
        StreamDef {
            object: object(
                "issues",
                ObjectKind::Ticket,
                rules,
                mapping(&[
                    ("subject", "fields.summary"),
                    ("status", "fields.status.name"),
                    ("priority", "fields.priority.name"),
                    ("created_at", "fields.created"),
                    ("updated_at", "fields.updated"),
                ]),
            ),
            first_request: Arc::new(first),
            records: path("issues"),
            paginator: Paginator::NextToken {
                field: path("nextPageToken"),
                param: "nextPageToken".into(),
                last: Some(path("isLast")),
            },
            cursor_field: Some(path("fields.updated")),
            // JQL compares whole minutes: the floor re-reads the mark's minute, and the overlap
            // one minute more (an issue saved in the second the previous pass read it).
            overlap_seconds: 60,
            deleted_when: None,
            deletions: None,
            // A pass from the epoch is every issue the user can see.
            authoritative: true,
            // `/search/jql` reports no total.
            total: None,
            reconcile_every: self.reconcile_every,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_dates_are_minutes_and_widened_outside_utc() {
        let t = DateTime::parse_from_rfc3339("2024-03-05T10:07:59.900Z").unwrap().with_timezone(&Utc);
        assert_eq!(jql_date(t, true), "2024-03-05 10:07");
        assert_eq!(jql_date(t, false), "2024-03-04 20:07");
        assert_eq!(jql(None, "2024-03-05 10:07"), "updated >= \"2024-03-05 10:07\" ORDER BY updated ASC");
        assert_eq!(
            jql(Some("project = SUP OR project = OPS"), EPOCH),
            "(project = SUP OR project = OPS) AND updated >= \"1970-01-01 00:00\" ORDER BY updated ASC"
        );
    }
}
