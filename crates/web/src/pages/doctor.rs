//! The doctor: the id-hygiene and coverage reports of `accord doctor`, as tables linking to the
//! accounts and the quarantine.

use accord_link::doctor::HygieneReport;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::auth::SignedIn;
use crate::form::{Query, encode};
use crate::layout::{Nav, account_href, page};
use crate::table::{Cell, Table, csv_answer};
use crate::{Web, WebError};

fn quarantine_href(source: &str, object: &str, reason: Option<&str>) -> String {
    let mut href = format!("/quarantine?source={}&object={}", encode(source), encode(object));
    if let Some(r) = reason {
        href.push_str(&format!("&reason={}", encode(r)));
    }
    href
}

fn hygiene_row(name: String, field: String, h: &HygieneReport) -> Vec<Cell> {
    let samples: Vec<String> = [&h.float_formatted, &h.whitespace, &h.case_collisions, &h.duplicate_keys]
        .iter()
        .flat_map(|f| f.samples.iter().cloned())
        .take(4)
        .collect();
    vec![
        name.into(),
        field.into(),
        Cell::num(h.keys),
        Cell::num(h.float_formatted.count),
        Cell::num(h.whitespace.count),
        Cell::num(h.case_collisions.count),
        Cell::num(h.duplicate_keys.count),
        samples.join("; ").into(),
        if h.suggested_normalize.is_empty() {
            "".into()
        } else {
            format!(
                "normalize = [{}]",
                h.suggested_normalize.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
            )
            .into()
        },
    ]
}

pub async fn show(State(web): State<Web>, who: SignedIn, Query(q): Query) -> Result<Response, WebError> {
    let (report, sor) = web
        .blocking(|hub| {
            let sor = format!("{}/{}", hub.plan.sor.source, hub.plan.sor.object);
            Ok((accord_engine::doctor::doctor(hub)?, sor))
        })
        .await?;
    let a = &report.accounts;
    let mut accounts = Table::new("accounts", "Accounts of the System of Record", vec!["Status", "Accounts#"]);
    for (status, n) in [("active", a.active), ("filtered", a.filtered), ("deleted", a.deleted)] {
        accounts.push(vec![Cell::link(status, format!("/accounts?status={status}")), Cell::num(n)]);
    }
    let (sor_source, sor_object) = sor.split_once('/').unwrap_or((&sor, ""));
    for (reason, n) in &a.sor_rejected {
        accounts.push(vec![
            Cell::link(format!("not an account: {reason}"), quarantine_href(sor_source, sor_object, Some(reason))),
            Cell::num(*n),
        ]);
    }
    let mut hygiene = Table::new(
        "hygiene",
        "Id hygiene: the keys each object links by",
        vec![
            "Source/object",
            "Key field",
            "Keys#",
            "Float-formatted#",
            "Padded#",
            "Case collisions#",
            "Duplicates#",
            "Examples",
            "Suggested setting",
        ],
    );
    hygiene.push(hygiene_row(format!("{sor} (System of Record)"), "account_id".into(), &report.sor));
    for o in &report.objects {
        if let Some(h) = &o.hygiene {
            hygiene.push(hygiene_row(format!("{}/{}", o.source, o.object), o.key_field.clone().unwrap_or_default(), h));
        }
    }
    let mut coverage = Table::new(
        "coverage",
        "Coverage against the System of Record",
        vec![
            "Source",
            "Object",
            "Kind",
            "Records#",
            "Linked#",
            "Linked %#",
            "Rejected by reason",
            "Accounts covered#",
            "Accounts %#",
        ],
    );
    let mut unmatched = Table::new(
        "unmatched",
        "Keys that match no account (examples)",
        vec!["Source", "Object", "Rule", "Field", "Key", "Record", "Hint"],
    )
    .empty("every key matched an account");
    for o in &report.objects {
        let c = &o.coverage;
        let reasons = c.rejected_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ");
        coverage.push(vec![
            o.source.clone().into(),
            o.object.clone().into(),
            o.kind.name().into(),
            Cell::num(c.records),
            Cell::num(c.linked),
            Cell::num(format!("{:.1}", c.linked_pct())),
            if reasons.is_empty() {
                "".into()
            } else {
                Cell::link(reasons, quarantine_href(&o.source, &o.object, None))
            },
            Cell::num(format!("{} of {}", c.accounts_covered, c.accounts_total)),
            Cell::num(format!("{:.1}", c.accounts_pct())),
        ]);
        for k in &o.unmatched_keys {
            unmatched.push(vec![
                o.source.clone().into(),
                o.object.clone().into(),
                k.rule.clone().into(),
                k.field.clone().into(),
                k.key.clone().into(),
                Cell::link(k.record.clone(), quarantine_href(&o.source, &o.object, Some("unknown_account"))),
                k.hint.clone().unwrap_or_default().into(),
            ]);
        }
    }
    let mut shared = Table::new(
        "shared-emails",
        "Emails shared by several accounts (email rules cannot link them)",
        vec!["Email", "Accounts"],
    )
    .empty("no email is shared by several accounts");
    for s in &report.shared_emails {
        let links = html! { @for (i, id) in s.accounts.iter().enumerate() { @if i > 0 { ", " } a href=(account_href(id)) { (id) } } };
        shared.push(vec![Cell::from(s.email.as_str()), Cell::from(s.accounts.join(", ")).html(links)]);
    }
    if let Some(answer) = csv_answer(&q, &[&accounts, &hygiene, &coverage, &unmatched, &shared]) {
        return answer;
    }
    let body = html! {
        (accounts.render(&q))
        h2 { "Id hygiene" }
        (hygiene.render(&q))
        h2 { "Coverage" }
        (coverage.render(&q))
        (unmatched.render(&q))
        h2 { "Shared emails" }
        (shared.render(&q))
    };
    Ok(page("Doctor", &who, Nav::Doctor, body).into_response())
}
