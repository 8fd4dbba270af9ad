//! The quarantine: rejections filtered by source, object, reason and hint; each one explained in
//! full (payload, keys tried, hints, what would fix it); operators retry one, a selection, or
//! everything matching the filters, and see how many linked.

use accord_core::{Hint, RejectReason};
use accord_engine::RelinkReport;
use accord_store::{QuarantineEntry, QuarantineQuery};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::auth::{Role, SignedIn};
use crate::form::{Form, Pairs, Query};
use crate::layout::{Nav, csrf_field, page, time};
use crate::table::{Cell, Table, csv_answer};
use crate::{Web, WebError};

const PAGE_SIZE: u32 = 100;
const HINTS: [(&str, &str); 5] = [
    ("float_suffix", "float-formatted id"),
    ("whitespace", "surrounding spaces"),
    ("case_only", "letter case"),
    ("candidates", "several accounts"),
    ("none", "no hint"),
];

fn hint_code(h: &Hint) -> &'static str {
    match h {
        Hint::FloatSuffix { .. } => "float_suffix",
        Hint::Whitespace { .. } => "whitespace",
        Hint::CaseOnly { .. } => "case_only",
        Hint::Candidates { .. } => "candidates",
    }
}

fn matches_hint(e: &QuarantineEntry, hint: Option<&str>) -> bool {
    match hint {
        None => true,
        Some("none") => e.rejection.hints.is_empty(),
        Some(h) => e.rejection.hints.iter().any(|x| hint_code(x) == h),
    }
}

/// The filters of the page (and of "retry all").
fn filters(q: &Pairs) -> Result<(QuarantineQuery, Option<String>), WebError> {
    let reason = q
        .get("reason")
        .map(|r| {
            RejectReason::from_code(r).ok_or_else(|| {
                let all: Vec<_> = RejectReason::ALL.iter().map(|r| r.code()).collect();
                WebError::BadRequest(format!("reason: {r:?} is not one of {}", all.join(", ")))
            })
        })
        .transpose()?;
    let hint = q.get("hint").map(str::to_owned);
    if let Some(h) = &hint
        && !HINTS.iter().any(|(c, _)| c == h)
    {
        return Err(WebError::BadRequest(format!(
            "hint: {h:?} is not one of float_suffix, whitespace, case_only, candidates, none"
        )));
    }
    Ok((
        QuarantineQuery {
            source: q.get("source").map(str::to_owned),
            object: q.get("object").map(str::to_owned),
            reason,
        },
        hint,
    ))
}

fn detail(e: &QuarantineEntry) -> String {
    e.rejection.hints.first().map(Hint::describe).unwrap_or_else(|| e.rejection.message.clone())
}

pub async fn list(State(web): State<Web>, who: SignedIn, Query(q): Query) -> Result<Response, WebError> {
    let (query, hint) = filters(&q)?;
    let export = q.get("csv") == Some("rejections");
    let page_no = q.number::<u32>("page")?.unwrap_or(1).max(1) - 1;
    let (items, total, summary, sources) = web
        .blocking(move |hub| {
            let (items, total) = if hint.is_some() || export {
                // The hint is not a column: filter while streaming (the quarantine is read once).
                let mut all = Vec::new();
                hub.store.for_each_quarantined(&query, &mut |e| {
                    if matches_hint(&e, hint.as_deref()) {
                        all.push(e);
                    }
                })?;
                let total = all.len() as u64;
                if !export {
                    let start = (page_no * PAGE_SIZE) as usize;
                    all = all.into_iter().skip(start).take(PAGE_SIZE as usize).collect();
                }
                (all, total)
            } else {
                let p = hub.store.quarantine(&query, page_no, PAGE_SIZE)?;
                (p.items, p.total)
            };
            let summary = hub.store.quarantine_summary()?;
            let sources: Vec<(String, String)> =
                hub.plan.streams().map(|p| (p.source.clone(), p.object().to_owned())).collect();
            Ok((items, total, summary, sources))
        })
        .await?;
    let can_retry = who.can(Role::Operator);
    let mut t = Table::new(
        "rejections",
        format!("{total} rejected records match"),
        vec!["Select", "Id", "Source", "Object", "Record", "Reason", "Key", "Hint or detail", "Where", "Attempts#"],
    )
    .empty("no rejected record matches these filters");
    for e in &items {
        let select = if can_retry {
            html! { input type="checkbox" name="id" value=(e.id) form="retry-selected" aria-label=(format!("select rejection {}", e.id)); }
        } else {
            html! {}
        };
        t.push(vec![
            Cell::from("").html(select),
            Cell::link(e.id.to_string(), format!("/quarantine/{}", e.id)),
            e.key.source.clone().into(),
            e.key.object.clone().into(),
            e.key.native_id.clone().into(),
            e.rejection.reason.code().into(),
            e.rejection.key.clone().unwrap_or_default().into(),
            detail(e).into(),
            e.location.clone().unwrap_or_default().into(),
            Cell::num(e.attempts),
        ]);
    }
    let mut s = Table::new(
        "summary",
        "Open rejections by source, object and reason",
        vec!["Source", "Object", "Reason", "Records#"],
    );
    for (source, object, reason, n) in &summary {
        let href = format!(
            "/quarantine?source={}&object={}&reason={}",
            crate::form::encode(source),
            crate::form::encode(object),
            crate::form::encode(reason)
        );
        s.push(vec![
            source.as_str().into(),
            object.as_str().into(),
            reason.as_str().into(),
            Cell::link(n.to_string(), href).class("num"),
        ]);
    }
    if let Some(answer) = csv_answer(&q, &[&t, &s]) {
        return answer;
    }
    let mut source_names: Vec<&str> = sources.iter().map(|(s, _)| s.as_str()).collect();
    source_names.dedup();
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let current = u64::from(page_no) + 1;
    let body = html! {
        form.filters method="get" action="/quarantine" {
            label { "Source" select name="source" {
                option value="" { "any" }
                @for src in &source_names { option value=(src) selected[q.get("source") == Some(*src)] { (src) } }
            } }
            label { "Object" select name="object" {
                option value="" { "any" }
                @for (src, obj) in &sources { option value=(obj) selected[q.get("object") == Some(obj.as_str())] { (src) "/" (obj) } }
            } }
            label { "Reason" select name="reason" {
                option value="" { "any" }
                @for r in RejectReason::ALL { option value=(r.code()) selected[q.get("reason") == Some(r.code())] { (r.code()) } }
            } }
            label { "Hint" select name="hint" {
                option value="" { "any" }
                @for (c, l) in HINTS { option value=(c) selected[q.get("hint") == Some(c)] { (l) } }
            } }
            button type="submit" { "Filter" }
            a href="/quarantine" { "Clear" }
        }
        @if can_retry {
            form #retry-selected method="post" action="/quarantine/retry" {
                (csrf_field(&who))
                input type="hidden" name="mode" value="selected";
                label { input type="checkbox" data-select-all="id"; " select all shown" } " "
                button type="submit" { "Retry selected" }
            }
        } @else {
            p.muted { "Retrying needs the operator role." }
        }
        (t.render(&q))
        nav.pager aria-label="Pages" {
            @if current > 1 { a href=(format!("?{}", q.with("page", Some(&(current - 1).to_string())))) rel="prev" { "← Previous" } }
            span { "Page " (current) " of " (pages) }
            @if current < pages { a href=(format!("?{}", q.with("page", Some(&(current + 1).to_string())))) rel="next" { "Next →" } }
        }
        @if can_retry {
            form method="post" action="/quarantine/retry" {
                (csrf_field(&who))
                input type="hidden" name="mode" value="all";
                @for k in ["source", "object", "reason", "hint"] {
                    @if let Some(v) = q.get(k) { input type="hidden" name=(k) value=(v); }
                }
                p { "After a config change, run every record matching these filters through linking again: "
                    button type="submit" data-confirm="Retry every rejected record matching these filters?" { "Retry all " (total) " matching" } }
            }
        }
        h2 { "Summary" }
        (s.render(&q))
    };
    Ok(page("Quarantine", &who, Nav::Quarantine, body).into_response())
}

pub async fn explain(
    State(web): State<Web>,
    who: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query,
) -> Result<Response, WebError> {
    let Some(e) = web.blocking(move |hub| Ok(hub.store.quarantine_entry(id)?)).await? else {
        return Err(WebError::NotFound(format!("no rejected record {id}: it may have linked since (see the account)")));
    };
    let fixes = accord_engine::explain::fixes(&e);
    let r = &e.rejection;
    let mut tried = Table::new("tried", "Keys tried", vec!["Space", "Key"]).empty("no key was tried");
    for k in &r.tried {
        tried.push(vec![k.space.code().into(), k.key.clone().into()]);
    }
    if let Some(answer) = csv_answer(&q, &[&tried]) {
        return answer;
    }
    let body = html! {
        p { "Record " strong { (e.key) } " (" (e.kind.name()) ")" }
        dl.fields {
            dt { "Reason" } dd { strong { (r.reason.code()) } " — " (r.reason.message()) }
            dt { "Message" } dd { (r.message) }
            @if let Some(rule) = r.rule { dt { "Rule" } dd { (rule.name()) } }
            @if let Some(k) = &r.key { dt { "Key" } dd { code { (format!("{k:?}")) } } }
            @if let Some(l) = &e.location { dt { "Read at" } dd { (l) } }
            dt { "Seen" } dd { "first " (time(&e.first_seen)) ", last " (time(&e.last_seen)) ", " (e.attempts) " attempt(s)" }
        }
        h2 { "Hints" }
        @if r.hints.is_empty() { p.muted { "No near-miss hint." } }
        ul { @for h in &r.hints {
            li { (h.describe()) @for a in hint_accounts(h) { " " a href=(crate::layout::account_href(&a)) { "account " (a) } } }
        } }
        h2 { "What would fix it" }
        ul #fixes { @for f in &fixes { li { (f) } } }
        (tried.render(&q))
        h2 { "Payload" }
        pre { (serde_json::to_string_pretty(&e.payload).unwrap_or_default()) }
        @if who.can(Role::Operator) {
            form method="post" action="/quarantine/retry" {
                (csrf_field(&who))
                input type="hidden" name="mode" value="selected";
                input type="hidden" name="id" value=(e.id);
                button type="submit" { "Retry this record" }
            }
        }
        p { a href="/quarantine" { "← All rejections" } }
    };
    Ok(page(&format!("Rejection {}", e.id), &who, Nav::Quarantine, body).into_response())
}

fn hint_accounts(h: &Hint) -> Vec<String> {
    match h {
        Hint::FloatSuffix { account_id } | Hint::Whitespace { account_id } => vec![account_id.to_string()],
        Hint::CaseOnly { account_ids } | Hint::Candidates { account_ids } => {
            account_ids.iter().map(|a| a.to_string()).collect()
        }
    }
}

pub async fn retry(State(web): State<Web>, who: SignedIn, Form(f): Form) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    who.require(Role::Operator, "retrying rejections")?;
    let mode = f.get("mode").unwrap_or("selected").to_owned();
    let (query, hint) = filters(&f)?;
    let ids: Vec<i64> = f
        .all("id")
        .map(|v| v.parse().map_err(|_| WebError::BadRequest(format!("id: {v:?} is not a rejection id"))))
        .collect::<Result<_, _>>()?;
    if mode == "selected" && ids.is_empty() {
        return Err(WebError::BadRequest("select at least one rejection to retry".into()));
    }
    let user = who.user.clone();
    let report: RelinkReport = web
        .blocking(move |hub| {
            let report = match (mode.as_str(), hint) {
                ("all", None) => hub.retry(&query)?,
                ("all", Some(h)) => {
                    let mut ids = Vec::new();
                    hub.store.for_each_quarantined(&query, &mut |e| {
                        if matches_hint(&e, Some(&h)) {
                            ids.push(e.id);
                        }
                    })?;
                    hub.retry_ids(&ids)?
                }
                ("selected", _) => hub.retry_ids(&ids)?,
                (other, _) => return Err(WebError::BadRequest(format!("mode: {other:?} is not selected or all"))),
            };
            tracing::info!(user = %user, retried = report.retried, linked = report.linked, "retry from the web app");
            Ok(report)
        })
        .await?;
    let still: u64 = report.still_rejected.values().sum();
    let body = html! {
        p.notice role="status" #retry-result {
            "Retried " strong { (report.retried) } ": "
            strong.good { (report.linked) " linked" } " and left the quarantine, "
            (still) " still rejected"
            @if !report.still_rejected.is_empty() {
                " (" (report.still_rejected.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")) ")"
            }
            @if report.not_retryable > 0 { ", " (report.not_retryable) " cannot be retried (malformed rows: fix the source file)" }
            "."
        }
        p { a href="/quarantine" { "← Back to the quarantine" } }
    };
    Ok(page("Retry", &who, Nav::Quarantine, body).into_response())
}
