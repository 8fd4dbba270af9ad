//! Integrations: per source its last run, per object what it holds (linked, rejected by reason,
//! coverage of the System of Record's accounts) and its cursor; operators start a sync here and
//! watch it on a page that refreshes itself while it runs (polling; no script needed).

use accord_engine::SyncOptions;
use accord_engine::overview::SourceOverview;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::auth::{Role, SignedIn};
use crate::form::{Form, Query, encode};
use crate::layout::{Nav, csrf_field, page, page_with, time};
use crate::sync_jobs::{Job, JobState};
use crate::table::{Cell, Table, csv_answer};
use crate::{Web, WebError};

fn reasons(map: &std::collections::BTreeMap<String, u64>) -> String {
    map.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 { "—".into() } else { format!("{:.0}%", 100.0 * part as f64 / whole as f64) }
}

/// "running (holder)" while a run holds the source's lock, else the next scheduled run ("due" once
/// it is past: a server runs it at its next turn).
fn next_run(s: &SourceOverview, now: chrono::DateTime<chrono::Utc>) -> String {
    match (&s.running, &s.next_run) {
        (Some(h), _) => format!("running now ({})", h.holder),
        (None, Some(t)) if *t <= now => "due now".into(),
        (None, Some(t)) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        (None, None) => String::new(),
    }
}

fn overview_tables(sources: &[SourceOverview], latest: Option<&JobState>) -> (Table, Table) {
    let now = chrono::Utc::now();
    let mut runs = Table::new(
        "runs",
        "Last sync run per source",
        vec![
            "Source",
            "Kind",
            "Started",
            "Finished",
            "Status",
            "Fetched#",
            "Linked#",
            "Rejected#",
            "Error",
            "Schedule",
            "Next run",
        ],
    );
    let mut objects = Table::new(
        "objects",
        "Per object: what it holds, coverage, cursor",
        vec![
            "Source",
            "Object",
            "Kind",
            "Linked#",
            "Deleted#",
            "Rejected#",
            "Rejected by reason",
            "Coverage of accounts",
            "Rate-limit waits (last web sync)#",
            "Error (last web sync)",
            "Cursor",
        ],
    );
    for s in sources {
        let r = s.last_run.as_ref();
        runs.push(vec![
            s.source.clone().into(),
            s.kind.clone().into(),
            r.map(|r| time(&r.started_at)).unwrap_or_else(|| "never synced".into()).into(),
            r.and_then(|r| r.finished_at.as_ref().map(time)).unwrap_or_default().into(),
            r.map(|r| Cell::from(r.status.as_str()).class(if r.status == "ok" { "good" } else { "bad" }))
                .unwrap_or_default(),
            Cell::num(r.map_or(0, |r| r.counts.fetched)),
            Cell::num(r.map_or(0, |r| r.counts.linked)),
            Cell::num(r.map_or(0, |r| r.counts.rejected)),
            r.and_then(|r| r.error.clone()).unwrap_or_default().into(),
            s.schedule.clone().unwrap_or_default().into(),
            next_run(s, now).into(),
        ]);
        for o in &s.objects {
            let stream =
                latest.and_then(|j| j.streams.iter().rev().find(|st| st.source == s.source && st.object == o.object));
            let cursor = o.cursor.as_ref().map(|c| c.to_string()).unwrap_or_default();
            let rejected_href = format!("/quarantine?source={}&object={}", encode(&s.source), encode(&o.object));
            objects.push(vec![
                s.source.clone().into(),
                o.object.clone().into(),
                o.kind.name().into(),
                Cell::num(o.linked),
                Cell::num(o.deleted),
                if o.rejected > 0 {
                    Cell::link(o.rejected.to_string(), rejected_href).class("num")
                } else {
                    Cell::num(0)
                },
                reasons(&o.rejected_by_reason).into(),
                format!(
                    "{} of {} ({})",
                    o.accounts_covered,
                    o.accounts_total,
                    percent(o.accounts_covered, o.accounts_total)
                )
                .into(),
                stream.map_or_else(|| Cell::from(""), |st| Cell::num(st.rate_limit_waits)),
                stream.and_then(|st| st.error.clone()).unwrap_or_default().into(),
                cursor.into(),
            ]);
        }
    }
    (runs, objects)
}

pub async fn show(State(web): State<Web>, who: SignedIn, Query(q): Query) -> Result<Response, WebError> {
    let mut sources = web.blocking(|hub| Ok(accord_engine::overview::sources(hub)?)).await?;
    // The API's streams nothing was posted to say nothing.
    for s in sources.iter_mut().filter(|s| matches!(s.kind.as_str(), "api" | "events")) {
        s.objects.retain(|o| o.linked + o.rejected + o.deleted > 0);
    }
    sources.retain(|s| !s.objects.is_empty() || s.last_run.is_some());
    let latest = web.0.jobs.latest();
    let latest_state = latest.as_ref().map(|j| j.snapshot());
    let (runs, objects) = overview_tables(&sources, latest_state.as_ref());
    if let Some(answer) = csv_answer(&q, &[&runs, &objects]) {
        return answer;
    }
    let configured: Vec<&SourceOverview> =
        sources.iter().filter(|s| !matches!(s.kind.as_str(), "api" | "events")).collect();
    let body = html! {
        @if let (Some(j), Some(st)) = (&latest, &latest_state) {
            p.notice {
                "Last sync started here: " a href=(format!("/integrations/sync/{}", j.id)) { "#" (j.id) }
                " by " (j.started_by) " at " (time(&j.started_at)) " — " (if st.done() { "finished" } else { "running" })
            }
        }
        @if who.can(Role::Operator) {
            form.filters method="post" action="/integrations/sync" #sync-form {
                (csrf_field(&who))
                fieldset {
                    legend { "Sources (none ticked: all; the System of Record goes first)" }
                    @for s in &configured {
                        label { input type="checkbox" name="source" value=(s.source); " " (s.source) }
                    }
                }
                label.check { input type="checkbox" name="full" value="1"; " full re-read (ignore cursors)" }
                button type="submit" { "Start sync" }
            }
        } @else {
            p.muted { "Starting a sync needs the operator role." }
        }
        (runs.render(&q))
        (objects.render(&q))
        p.muted { "Coverage: active accounts with at least one linked record of the object. Rate-limit waits and stream errors are those of the last sync started from this page." }
    };
    Ok(page("Integrations", &who, Nav::Integrations, body).into_response())
}

pub async fn start_sync(State(web): State<Web>, who: SignedIn, Form(f): Form) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    who.require(Role::Operator, "starting a sync")?;
    let options = SyncOptions {
        sources: f.all("source").map(str::to_owned).collect(),
        full: f.get("full").is_some(),
        started_by: format!("the web app (user {})", who.user),
        ..SyncOptions::default()
    };
    let known: Vec<String> = web.hub().plan.sources.iter().map(|s| s.name.clone()).collect();
    if let Some(bad) = options.sources.iter().find(|s| !known.contains(s)) {
        return Err(WebError::BadRequest(format!("no source named {bad:?}; configured sources: {}", known.join(", "))));
    }
    let handle = tokio::runtime::Handle::current();
    let (job, _new) = web
        .0
        .jobs
        .start(web.hub().clone(), options, &who.user, handle)
        .map_err(|e| WebError::Internal(format!("cannot start the sync thread: {e}")))?;
    tracing::info!(user = %who.user, job = job.id, "sync started from the web app");
    Ok(Redirect::to(&format!("/integrations/sync/{}", job.id)).into_response())
}

fn job_table(job: &Job, state: &JobState) -> Table {
    let mut t = Table::new(
        "progress",
        format!("Sync #{} by {}, started {}", job.id, job.started_by, time(&job.started_at)),
        vec![
            "Source",
            "Object",
            "Pages#",
            "Fetched#",
            "Linked#",
            "Rejected#",
            "Rate-limit waits#",
            "Retries#",
            "Progress",
            "State",
        ],
    )
    .empty("starting…");
    for s in &state.streams {
        let progress = match s.position {
            Some((done, total)) if total > 0 => {
                let pct = (100.0 * done as f64 / total as f64).min(100.0);
                Cell::from(format!("{pct:.0}%")).html(html! {
                    div.progress role="progressbar" aria-valuenow=(format!("{pct:.0}")) aria-valuemin="0" aria-valuemax="100" {
                        div style=(format!("width: {pct:.0}%")) {}
                    }
                })
            }
            _ => Cell::from(if s.finished { "100%" } else { "" }),
        };
        let status = match (&s.error, s.finished) {
            (Some(e), _) => Cell::from(format!("failed: {e}")).class("bad"),
            (None, true) => Cell::from(if s.resumed { "done (resumed)" } else { "done" }).class("good"),
            (None, false) => Cell::from("running"),
        };
        t.push(vec![
            s.source.clone().into(),
            s.object.clone().into(),
            Cell::num(s.pages),
            Cell::num(s.counts.fetched),
            Cell::num(s.counts.linked),
            Cell::num(s.counts.rejected),
            Cell::num(s.rate_limit_waits),
            Cell::num(s.retries),
            progress,
            status,
        ]);
    }
    t
}

pub async fn job(
    State(web): State<Web>,
    who: SignedIn,
    Path(id): Path<u64>,
    Query(q): Query,
) -> Result<Response, WebError> {
    let job = web.0.jobs.get(id).ok_or_else(|| {
        WebError::NotFound(format!(
            "no sync #{id} in this process (syncs started here are kept until the server restarts)"
        ))
    })?;
    let state = job.snapshot();
    let t = job_table(&job, &state);
    if let Some(answer) = csv_answer(&q, &[&t]) {
        return answer;
    }
    let fetched: u64 = state.streams.iter().map(|s| s.counts.fetched).sum();
    let linked: u64 = state.streams.iter().map(|s| s.counts.linked).sum();
    let rejected: u64 = state.streams.iter().map(|s| s.counts.rejected).sum();
    let refresh = if state.done() {
        html! {}
    } else {
        html! { meta http-equiv="refresh" content="1"; }
    };
    let failed = state.report.as_ref().is_some_and(|r| r.failed()) || state.error.is_some();
    let body = html! {
        @if let Some(e) = &state.error {
            p.notice.bad role="alert" #sync-status data-state="failed" { "The sync could not run: " (e) }
        } @else if state.done() {
            p.notice role="status" #sync-status data-state=(if failed { "failed" } else { "done" }) {
                @if failed { "Finished with errors: " } @else { "Finished: " }
                (fetched) " fetched, " (linked) " linked, " (rejected) " rejected"
                @if state.relinked > 0 { "; " (state.relinked) " quarantined records linked after the new records arrived" }
                "."
            }
        } @else {
            p.notice role="status" #sync-status data-state="running" {
                "Running: " (fetched) " fetched so far. This page refreshes every second."
            }
        }
        @if job.full { p.muted { "Full re-read (cursors ignored)." } }
        @if !job.sources.is_empty() { p.muted { "Sources: " (job.sources.join(", ")) } }
        (t.render(&q))
        p { a href="/integrations" { "← Integrations" } }
    };
    Ok(page_with(&format!("Sync #{id}"), &who, Nav::Integrations, refresh, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(schedule: Option<&str>, next: Option<&str>, holder: Option<&str>) -> SourceOverview {
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
        SourceOverview {
            source: "crm".into(),
            kind: "file".into(),
            last_run: None,
            schedule: schedule.map(str::to_owned),
            next_run: next.map(t),
            running: holder.map(|h| accord_store::LockHolder {
                source: "crm".into(),
                holder: h.into(),
                acquired_at: t("2026-03-01T09:59:00Z"),
                expires_at: t("2026-03-01T10:01:00Z"),
            }),
            objects: vec![],
        }
    }

    #[test]
    fn the_next_run_column_says_running_due_or_when() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let at = source(Some("every 15m"), Some("2026-03-01T10:14:30Z"), None);
        assert_eq!(next_run(&at, now), "2026-03-01 10:14:30 UTC");
        let due = source(Some("every 15m"), Some("2026-03-01T09:00:00Z"), None);
        assert_eq!(next_run(&due, now), "due now");
        let running = source(Some("every 15m"), Some("2026-03-01T10:14:30Z"), Some("accord sync, pid 9 on h"));
        assert_eq!(next_run(&running, now), "running now (accord sync, pid 9 on h)");
        assert_eq!(next_run(&source(None, None, None), now), "");
    }
}
