//! The 360 page of an account: profile and ids per system, usage (DAU/WAU/MAU chart, top features
//! and modules), the support and conversation timeline, billing, every linked record with its
//! provenance, and the open rejections that name the account. Operators deactivate and restore.

use std::collections::BTreeMap;

use accord_core::ObjectKind;
use accord_engine::view::{
    Account360, ActiveUsersDay, account_360, active_users_series, billing_sources, money_text, mrr_by_month,
};
use accord_store::AccountStatus;
use accord_store::usage::UsageSummary;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::Value;

use crate::auth::{Role, SignedIn};
use crate::chart::{Series, lines};
use crate::form::{Form, Query};
use crate::layout::{Nav, account_href, csrf_field, json_text, ms_date, page, time};
use crate::table::{Cell, Table, csv_answer};
use crate::{Web, WebError};

const DAY_MS: i64 = 86_400_000;
/// Days the usage chart covers.
const CHART_DAYS: u32 = 90;
/// Records shown per kind (tickets, conversations, ...); the counts say how many there are.
const PER_KIND: u32 = 100;

/// Everything the page shows, read in one blocking call.
struct Data {
    view: Account360,
    /// The instant usage is shown up to: now, or the end of the last day with usage when that
    /// was more than 30 days ago (so an account that went quiet still shows its history).
    usage_end: i64,
    usage: UsageSummary,
    series: Vec<ActiveUsersDay>,
    billing_sources: Vec<String>,
    fixes: BTreeMap<i64, Vec<String>>,
    open_tickets: u64,
    /// MRR at the start of each of the last 12 months, and now (minor units).
    mrr: Vec<(accord_core::Timestamp, i64)>,
}

fn read(hub: &accord_engine::Hub, id: &str) -> Result<Option<Data>, WebError> {
    let now = chrono::Utc::now();
    let Some(view) = account_360(hub, id, PER_KIND, now)? else { return Ok(None) };
    // Last activity and open tickets; active users come from the series below (none counted here).
    let summary = hub.store.web_account_summaries(&[id.to_owned()], i64::MAX)?.pop().unwrap_or_default();
    let last = summary.last_activity_ms;
    let now_ms = now.timestamp_millis();
    let usage_end = match last {
        Some(l) if l < now_ms - 30 * DAY_MS => (l.div_euclid(DAY_MS) + 1) * DAY_MS,
        _ => now_ms,
    };
    let end = chrono::DateTime::from_timestamp_millis(usage_end - 1).unwrap_or(now);
    let series = active_users_series(hub, id, CHART_DAYS, end)?;
    let usage = if usage_end == now_ms {
        view.usage_30d.clone()
    } else {
        hub.store.usage(id, usage_end - 30 * DAY_MS, usage_end)?
    };
    let billing_sources = billing_sources(hub);
    let fixes = view.account.rejections_near.iter().map(|e| (e.id, accord_engine::explain::fixes(e))).collect();
    let mrr = if billing_sources.is_empty() { Vec::new() } else { mrr_by_month(hub, id, 12, now)? };
    Ok(Some(Data { view, usage_end, usage, series, billing_sources, fixes, open_tickets: summary.open_tickets, mrr }))
}

fn field<'a>(record: &'a Value, name: &str) -> &'a Value {
    record.get("fields").and_then(|f| f.get(name)).unwrap_or(&Value::Null)
}

fn text(record: &Value, key: &str) -> String {
    json_text(record.get(key).unwrap_or(&Value::Null))
}

fn provenance(record: &Value) -> (String, String) {
    let link = record.get("link").unwrap_or(&Value::Null);
    let rule = format!(
        "{} (rule {})",
        text(link, "rule"),
        link.get("rule_index").and_then(Value::as_u64).map_or(0, |i| i + 1)
    );
    (rule, text(link, "key"))
}

fn tables(d: &Data) -> Vec<Table> {
    let a = &d.view.account;
    let records = |kind: &str| d.view.records.get(kind).map(Vec::as_slice).unwrap_or_default();

    let mut ids =
        Table::new("ids", "The account's ids in each system", vec!["System", "Object", "Id", "How it is known"]);
    ids.push(vec![
        "accord".into(),
        "account_id".into(),
        a.account_id.as_str().into(),
        "accord's account id (System of Record)".into(),
    ]);
    if let Some((source, rest)) = a.origin.split_once('/') {
        let (object, native) = rest.split_once('/').unwrap_or((rest, ""));
        ids.push(vec![source.into(), object.into(), native.into(), "the System of Record's record".into()]);
    }
    for f in ["crm_account_id", "billing_account_id", "support_account_id", "parent_account_id"] {
        if let Some(v) = a.fields.get(f) {
            ids.push(vec!["".into(), f.into(), json_text(v).into(), "account field".into()]);
        }
    }
    for g in a.linked.iter().filter(|g| g.kind == ObjectKind::Organization) {
        for r in &g.recent {
            ids.push(vec![
                g.source.clone().into(),
                g.object.clone().into(),
                r.native_id.clone().into(),
                format!("linked by {} on {:?}", r.provenance.rule.name(), r.provenance.key).into(),
            ]);
        }
    }

    let mut features =
        Table::new("features", "Top features (30 days)", vec!["Product", "Module", "Feature", "Events#", "Uses#"])
            .empty("no feature usage in these 30 days");
    let mut by_feature = d.usage.features.clone();
    by_feature.sort_by(|x, y| y.events.cmp(&x.events).then(x.feature.cmp(&y.feature)));
    for f in by_feature.iter().filter(|f| !f.feature.is_empty()).take(10) {
        features.push(vec![
            f.product.clone().into(),
            f.module.clone().into(),
            f.feature.clone().into(),
            Cell::num(f.events),
            Cell::num(f.total),
        ]);
    }
    let mut modules = Table::new("modules", "Top modules (30 days)", vec!["Module", "Events#", "Time spent (min)#"])
        .empty("no module usage in these 30 days");
    let mut by_module: BTreeMap<&str, (i64, f64)> = BTreeMap::new();
    for f in d.usage.features.iter().filter(|f| !f.module.is_empty()) {
        let e = by_module.entry(&f.module).or_default();
        e.0 += f.events;
        e.1 += f.time_spent;
    }
    let mut by_module: Vec<_> = by_module.into_iter().collect();
    by_module.sort_by(|x, y| y.1.0.cmp(&x.1.0).then(x.0.cmp(y.0)));
    for (m, (events, secs)) in by_module.into_iter().take(10) {
        modules.push(vec![m.into(), Cell::num(events), Cell::num(format!("{:.1}", secs / 60.0))]);
    }
    let mut daily = Table::new("active-users", "Active users per day", vec!["Day", "DAU#", "WAU#", "MAU#"]);
    for p in d.series.iter().rev() {
        daily.push(vec![ms_date(p.day).into(), Cell::num(p.dau), Cell::num(p.wau), Cell::num(p.mau)]);
    }

    // Tickets, conversations and NPS answers, newest first.
    let mut timeline: Vec<(String, Vec<Cell>)> = Vec::new();
    for r in records("ticket") {
        let at = json_text(field(r, "created_at"));
        timeline.push((
            at.clone(),
            vec![
                at.into(),
                "ticket".into(),
                json_text(field(r, "subject")).into(),
                json_text(field(r, "status")).into(),
                format!("{}/{}", text(r, "source"), text(r, "object")).into(),
                text(r, "native_id").into(),
            ],
        ));
    }
    for r in records("interaction") {
        let at = json_text(field(r, "occurred_at"));
        let what = format!("{} {}", json_text(field(r, "channel")), json_text(field(r, "subject")));
        timeline.push((
            at.clone(),
            vec![
                at.into(),
                "conversation".into(),
                what.trim().to_owned().into(),
                "".into(),
                format!("{}/{}", text(r, "source"), text(r, "object")).into(),
                text(r, "native_id").into(),
            ],
        ));
    }
    for r in records("nps_response") {
        let at = json_text(field(r, "responded_at"));
        let what = format!("score {} {}", json_text(field(r, "score")), json_text(field(r, "comment")));
        timeline.push((
            at.clone(),
            vec![
                at.into(),
                "NPS".into(),
                what.trim().to_owned().into(),
                "".into(),
                format!("{}/{}", text(r, "source"), text(r, "object")).into(),
                text(r, "native_id").into(),
            ],
        ));
    }
    timeline.sort_by(|x, y| y.0.cmp(&x.0));
    let mut tl = Table::new(
        "timeline",
        "Tickets, conversations and NPS answers",
        vec!["When", "Kind", "Summary", "Status", "Source", "Record"],
    )
    .empty("no tickets, conversations or NPS answers");
    for (_, row) in timeline {
        tl.push(row);
    }

    let mut subs = Table::new(
        "subscriptions",
        "Subscriptions",
        vec!["Plan", "Status", "MRR#", "Currency", "Start", "End", "Source", "Record"],
    )
    .empty("no subscriptions linked");
    for r in records("subscription") {
        subs.push(vec![
            json_text(field(r, "plan_code")).into(),
            json_text(field(r, "status")).into(),
            Cell::num(json_text(field(r, "mrr"))),
            json_text(field(r, "currency")).into(),
            json_text(field(r, "start_date")).into(),
            json_text(field(r, "end_date")).into(),
            format!("{}/{}", text(r, "source"), text(r, "object")).into(),
            text(r, "native_id").into(),
        ]);
    }
    let mut invoices =
        Table::new("invoices", "Invoices", vec!["Issued", "Amount#", "Currency", "Due", "Paid", "Failed", "Record"])
            .empty("no invoices linked");
    for r in records("invoice") {
        invoices.push(vec![
            json_text(field(r, "issued_at")).into(),
            Cell::num(json_text(field(r, "amount"))),
            json_text(field(r, "currency")).into(),
            json_text(field(r, "due_at")).into(),
            json_text(field(r, "paid_at")).into(),
            json_text(field(r, "is_failed")).into(),
            text(r, "native_id").into(),
        ]);
    }

    let mut mrr = Table::new("mrr", "MRR by month (from the subscriptions' dates)", vec!["Month", "MRR#"]);
    for (t, minor) in d.mrr.iter().rev() {
        mrr.push(vec![crate::layout::date(t).into(), Cell::num(money_text(*minor))]);
    }
    let mut groups = Table::new(
        "linked-sources",
        "Linked records by source",
        vec!["Source", "Object", "Kind", "Records#", "Rules that linked the shown records"],
    );
    for g in &a.linked {
        let rules = if g.kind == ObjectKind::Event {
            "not listed: usage events are summed under Usage".to_owned()
        } else {
            g.rules.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")
        };
        groups.push(vec![
            g.source.clone().into(),
            g.object.clone().into(),
            g.kind.name().into(),
            Cell::num(g.count),
            rules.into(),
        ]);
    }
    let mut linked = Table::new(
        "linked",
        format!("Linked records with the rule and key that linked each (up to {PER_KIND} per kind, newest first)"),
        vec!["Source", "Object", "Kind", "Record", "Rule", "Key", "Last seen"],
    );
    let mut all: Vec<(&str, &Value)> =
        d.view.records.iter().flat_map(|(kind, list)| list.iter().map(move |r| (kind.as_str(), r))).collect();
    all.sort_by_key(|x| (text(x.1, "source"), text(x.1, "object")));
    for (kind, r) in all {
        let (rule, key) = provenance(r);
        linked.push(vec![
            text(r, "source").into(),
            text(r, "object").into(),
            kind.into(),
            text(r, "native_id").into(),
            rule.into(),
            key.into(),
            text(r, "last_seen").into(),
        ]);
    }

    let mut near = Table::new(
        "rejections",
        "Open rejections that name this account",
        vec!["Id", "Source", "Object", "Record", "Reason", "Key", "Hint", "Fix"],
    )
    .empty("no open rejection names this account");
    for e in &a.rejections_near {
        near.push(vec![
            Cell::link(e.id.to_string(), format!("/quarantine/{}", e.id)),
            e.key.source.clone().into(),
            e.key.object.clone().into(),
            e.key.native_id.clone().into(),
            e.rejection.reason.code().into(),
            e.rejection.key.clone().unwrap_or_default().into(),
            e.rejection.hints.iter().map(|h| h.describe()).collect::<Vec<_>>().join("; ").into(),
            d.fixes.get(&e.id).map(|f| f.join(" ")).unwrap_or_default().into(),
        ]);
    }
    vec![ids, features, modules, daily, tl, subs, invoices, mrr, groups, linked, near]
}

fn card(label: &str, value: impl std::fmt::Display) -> Markup {
    html! { div.card { div.label { (label) } div.value { (value) } } }
}

pub async fn show(
    State(web): State<Web>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query,
) -> Result<Response, WebError> {
    let lookup = id.clone();
    let Some(d) = web.blocking(move |hub| read(hub, &lookup)).await? else {
        return Err(WebError::NotFound(format!("no account {id:?}")));
    };
    let tables = tables(&d);
    if let Some(answer) = csv_answer(&q, &tables.iter().collect::<Vec<_>>()) {
        return answer;
    }
    let [ids, features, modules, daily, timeline, subs, invoices, mrr, groups, linked, near] =
        <[Table; 11]>::try_from(tables).map_err(|_| WebError::Internal("the 360 page lost a table".into()))?;
    let a = &d.view.account;
    let name = a.fields.get("name").map(json_text).unwrap_or_else(|| a.account_id.clone());
    let last = d.series.last().copied();
    let labels: Vec<String> = d.series.iter().map(|p| ms_date(p.day)).collect();
    let chart = lines(
        "Daily, weekly and monthly active users",
        &labels,
        &[
            Series { label: "DAU", color: "#0b5cad", values: d.series.iter().map(|p| p.dau as f64).collect() },
            Series { label: "WAU", color: "#1a6b32", values: d.series.iter().map(|p| p.wau as f64).collect() },
            Series { label: "MAU", color: "#a4161a", values: d.series.iter().map(|p| p.mau as f64).collect() },
        ],
    );
    let stale = d.usage_end < chrono::Utc::now().timestamp_millis() - DAY_MS;
    let tickets: u64 = d.view.account.linked.iter().filter(|g| g.kind == ObjectKind::Ticket).map(|g| g.count).sum();
    let body = html! {
        p {
            span.badge class=(a.status.code()) { (a.status.code()) } " "
            "Account " strong { (a.account_id) } " · first seen " (time(&a.first_seen)) " · last seen " (time(&a.last_seen))
        }
        @if let Some(dl) = &a.delete_list { p.notice.bad { "On the delete list since " (time(&dl.deleted_at)) ": " (dl.reason) } }
        @if who.can(Role::Operator) {
            @if a.status == AccountStatus::Active {
                form.inline method="post" action=(format!("{}/deactivate", account_href(&a.account_id))) {
                    (csrf_field(&who))
                    label { "Reason " input type="text" name="reason" value="deactivated from the web app"; }
                    " "
                    button.danger type="submit" data-confirm="Deactivate this account? Its records go to the quarantine until it is restored." { "Deactivate" }
                }
            } @else if a.status == AccountStatus::Deleted {
                form.inline method="post" action=(format!("{}/restore", account_href(&a.account_id))) {
                    (csrf_field(&who))
                    button type="submit" { "Restore" }
                }
            }
        }
        div.cards {
            (card("DAU", last.map_or(0, |p| p.dau)))
            (card("WAU", last.map_or(0, |p| p.wau)))
            (card("MAU", last.map_or(0, |p| p.mau)))
            (card("Events (30 d)", d.usage.events))
            (card("Sessions started (30 d)", d.usage.sessions))
            (card("Open tickets", d.open_tickets))
            (card("Tickets", tickets))
            (card("MRR", if d.billing_sources.is_empty() { "no billing source".to_owned() } else { d.view.mrr.clone() }))
            (card("Open rejections near", a.rejections_near.len()))
        }
        h2 #profile { "Profile" }
        div.two {
            div {
                dl.fields {
                    @for (k, v) in &a.fields { dt { (k) } dd { (json_text(v)) } }
                    dt { "origin" } dd { (a.origin) }
                }
            }
            div {
                p.muted { "The System of Record's record, as given" }
                dl.fields {
                    @if let Some(o) = a.attributes.as_object() { @for (k, v) in o { dt { (k) } dd { (json_text(v)) } } }
                }
            }
        }
        (ids.render(&q))
        h2 #usage { "Usage" }
        @if stale { p.notice { "No usage in the last 30 days: shown up to the last day with usage, " (ms_date(d.usage_end - DAY_MS)) "." } }
        div #usage-chart { (chart) }
        div.two { div { (features.render(&q)) } div { (modules.render(&q)) } }
        details { summary { "Active users per day (the chart's figures)" } (daily.render(&q)) }
        h2 #timeline { "Support and conversations" }
        (timeline.render(&q))
        h2 #billing { "Billing" }
        @if d.billing_sources.is_empty() {
            p.notice { "No billing source: no subscription or invoice object is configured, so there is no MRR, subscription or invoice to show." }
        } @else {
            p { "MRR of the live subscriptions: " strong { (d.view.mrr) } " (from " (d.billing_sources.join(", ")) ")" }
            div #mrr-chart { (lines(
                "MRR by month",
                &d.mrr.iter().map(|(t, _)| crate::layout::date(t)).collect::<Vec<_>>(),
                &[Series { label: "MRR", color: "#0b5cad", values: d.mrr.iter().map(|(_, m)| *m as f64 / 100.0).collect() }],
            )) }
            details { summary { "MRR by month (the chart's figures)" } (mrr.render(&q)) }
            (subs.render(&q))
            (invoices.render(&q))
        }
        h2 #provenance { "Linked records and provenance" }
        (groups.render(&q))
        (linked.render(&q))
        h2 #rejections { "Open rejections naming this account" }
        (near.render(&q))
    };
    Ok(page(&name, &who, Nav::Accounts, body).into_response())
}

pub async fn deactivate(
    State(web): State<Web>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(f): Form,
) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    who.require(Role::Operator, "deactivating an account")?;
    let reason = f.get("reason").unwrap_or("deactivated from the web app").to_owned();
    let reason = format!("{reason} (by {})", who.user);
    let target = id.clone();
    web.blocking(move |hub| Ok(hub.deactivate(&target, &reason)?)).await?;
    Ok(Redirect::to(&account_href(&id)).into_response())
}

pub async fn restore(
    State(web): State<Web>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(f): Form,
) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    who.require(Role::Operator, "restoring an account")?;
    let target = id.clone();
    web.blocking(move |hub| Ok(hub.restore(&target)?)).await?;
    Ok(Redirect::to(&account_href(&id)).into_response())
}
