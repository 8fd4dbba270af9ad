//! The accounts list: search by id or name, filters by System of Record fields, sort by the stored
//! columns, paged on the server (the store counts and reads one page: fast at 100,000 accounts).

use accord_core::ObjectKind;
use accord_engine::view::{billing_sources, current_mrr, money_text};
use accord_store::{AccountField, AccountOrder, AccountQuery, AccountSearch, AccountStatus, AccountSummary, Page};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::auth::SignedIn;
use crate::form::{Pairs, Query};
use crate::layout::{Nav, account_href, date, ms_time, page};
use crate::table::{Cell, Table};
use crate::{Web, WebError};

const PAGE_SIZE: u32 = 50;
/// Rows read per store page when a CSV exports every matching account.
const EXPORT_CHUNK: u32 = 1_000;
const DAY_MS: i64 = 86_400_000;

/// The sortable columns: (query value, label, order).
const SORTS: [(&str, &str, AccountOrder); 4] = [
    ("account_id", "Account id", AccountOrder::AccountId),
    ("name", "Name", AccountOrder::Name),
    ("join_date", "Join date", AccountOrder::JoinDate),
    ("renewal_date", "Renewal date", AccountOrder::Field("renewal_date")),
];

fn search(q: &Pairs) -> Result<AccountSearch, WebError> {
    let statuses = match q.get("status").unwrap_or("active") {
        "all" => vec![AccountStatus::Active, AccountStatus::Filtered, AccountStatus::Deleted],
        s => vec![AccountStatus::from_code(s).ok_or_else(|| {
            WebError::BadRequest(format!("status: {s:?} is not one of active, filtered, deleted, all"))
        })?],
    };
    let sort = q.get("sort").unwrap_or("account_id");
    let order = SORTS.iter().find(|(k, _, _)| *k == sort).map(|(_, _, o)| *o).ok_or_else(|| {
        WebError::BadRequest(format!("sort: {sort:?} is not one of account_id, name, join_date, renewal_date"))
    })?;
    let mut equals = Vec::new();
    let values: Vec<&str> = q.all("v").collect();
    for (i, f) in q.all("f").enumerate() {
        let Some(value) = values.get(i).filter(|v| !v.is_empty()) else { continue };
        if f.is_empty() {
            continue;
        }
        let field = match f.split_once(':') {
            Some(("t", name)) => AccountField::Typed(
                ObjectKind::Account
                    .fields()
                    .iter()
                    .map(|d| d.name)
                    .find(|n| *n == name)
                    .ok_or_else(|| WebError::BadRequest(format!("accounts have no field {name:?}")))?,
            ),
            Some(("a", key)) => AccountField::Attribute(key.to_owned()),
            _ => return Err(WebError::BadRequest(format!("f: {f:?} names no field (t:NAME or a:KEY)"))),
        };
        equals.push((field, (*value).to_owned()));
    }
    Ok(AccountSearch {
        text: q.get("q").map(str::to_owned),
        equals,
        statuses,
        order,
        descending: q.get("dir") == Some("desc"),
        page: q.number::<u32>("page")?.unwrap_or(1).max(1) - 1,
        page_size: PAGE_SIZE,
    })
}

/// The accounts table. `mrr` holds each row's MRR (minor units) when a billing source is configured.
fn table(
    caption: String,
    rows: &Page<accord_store::AccountRow>,
    summaries: &[AccountSummary],
    mrr: Option<&[i64]>,
) -> Table {
    let mut columns = vec!["Account id", "Name", "Join date", "Status"];
    if mrr.is_some() {
        columns.push("MRR#");
    }
    columns.extend(["Last activity", "Active users (30 d)#", "Open tickets#", "Rejections near#"]);
    let mut t = Table::new("accounts", caption, columns).empty("no account matches");
    for (i, (a, s)) in rows.items.iter().zip(summaries).enumerate() {
        let id = a.account_id.to_string();
        let mut row = vec![
            Cell::link(id.clone(), account_href(&id)),
            a.text("name").unwrap_or_default().into(),
            a.field("join_date").as_time().map(|d| date(&d)).unwrap_or_default().into(),
            Cell::from(a.status.code()).class(a.status.code()),
        ];
        if let Some(mrr) = mrr {
            row.push(Cell::from(money_text(mrr.get(i).copied().unwrap_or(0))).class("num"));
        }
        row.extend([
            s.last_activity_ms.map(ms_time).unwrap_or_default().into(),
            Cell::num(s.active_users),
            Cell::num(s.open_tickets),
            if s.rejections_near > 0 {
                Cell::link(s.rejections_near.to_string(), format!("{}#rejections", account_href(&id))).class("num")
            } else {
                Cell::num(0)
            },
        ]);
        t.push(row);
    }
    t
}

pub async fn list(State(web): State<Web>, who: SignedIn, Query(q): Query) -> Result<Response, WebError> {
    let search = search(&q)?;
    let export = q.get("csv") == Some("accounts");
    let since = chrono::Utc::now().timestamp_millis() - 30 * DAY_MS;
    let (rows, summaries, sor_keys, mrr) = web
        .blocking(move |hub| {
            let read = |s: &AccountSearch| -> Result<_, WebError> {
                let page = hub.store.web_accounts(s)?;
                let ids: Vec<String> = page.items.iter().map(|a| a.account_id.to_string()).collect();
                let summaries = hub.store.web_account_summaries(&ids, since)?;
                Ok((page, summaries))
            };
            let (page, summaries) = if export {
                let mut s = AccountSearch { page: 0, page_size: EXPORT_CHUNK, ..search.clone() };
                let (mut all, mut sums) = read(&s)?;
                while (u64::from(s.page) + 1) * u64::from(EXPORT_CHUNK) < all.total {
                    s.page += 1;
                    let (more, more_sums) = read(&s)?;
                    all.items.extend(more.items);
                    sums.extend(more_sums);
                }
                (all, sums)
            } else {
                read(&search)?
            };
            // The System of Record's own field names, from one of its records, for the filters (a
            // record of this page; another one only when the page is empty).
            let sample = match page.items.first() {
                Some(a) => Some(a.clone()),
                None => hub.store.accounts(&AccountQuery { page_size: 1, ..Default::default() })?.items.pop(),
            };
            let keys: Vec<String> = sample
                .as_ref()
                .and_then(|a| a.attributes.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            // MRR per shown account, once a billing source is configured.
            let mrr = if billing_sources(hub).is_empty() {
                None
            } else {
                let now = chrono::Utc::now();
                let ids = page.items.iter().map(|a| current_mrr(hub, a.account_id.as_str(), now));
                Some(ids.collect::<Result<Vec<i64>, _>>()?)
            };
            Ok((page, summaries, keys, mrr))
        })
        .await?;
    let shown_from = u64::from(rows.page) * u64::from(PAGE_SIZE) + 1;
    let caption = if export {
        format!("{} accounts", rows.total)
    } else if rows.items.is_empty() {
        format!("0 of {} accounts", rows.total)
    } else {
        format!("{}–{} of {} accounts", shown_from, shown_from + rows.items.len() as u64 - 1, rows.total)
    };
    let t = table(caption, &rows, &summaries, mrr.as_deref());
    if export {
        return t.csv();
    }
    let pages = rows.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let current = u64::from(rows.page) + 1;
    let filters: Vec<(&str, &str)> =
        q.all("f").zip(q.all("v")).filter(|(f, v)| !f.is_empty() && !v.is_empty()).collect();
    let field_options = |selected: &str| {
        html! {
            option value="" { "— field —" }
            optgroup label="System of Record fields" {
                @for k in &sor_keys {
                    @let v = format!("a:{k}");
                    option value=(v) selected[v == selected] { (k) }
                }
            }
            optgroup label="accord's account fields" {
                @for f in ObjectKind::Account.fields() {
                    @let v = format!("t:{}", f.name);
                    option value=(v) selected[v == selected] { (f.name) }
                }
            }
        }
    };
    let sort = q.get("sort").unwrap_or("account_id");
    let body = html! {
        form.filters method="get" action="/accounts" role="search" {
            label { "Search id or name" input type="search" name="q" value=(q.get("q").unwrap_or_default()) placeholder="e.g. Acme or 1001"; }
            label { "Status"
                select name="status" {
                    @for s in ["active", "filtered", "deleted", "all"] {
                        option value=(s) selected[q.get("status").unwrap_or("active") == s] { (s) }
                    }
                }
            }
            @for (f, v) in filters.iter().copied().chain(std::iter::once(("", ""))) {
                label { "Filter field" select name="f" { (field_options(f)) } }
                label { "equals" input type="text" name="v" value=(v); }
            }
            label { "Sort by"
                select name="sort" {
                    @for (k, label, _) in SORTS { option value=(k) selected[sort == k] { (label) } }
                }
            }
            label { "Order"
                select name="dir" {
                    option value="asc" selected[q.get("dir") != Some("desc")] { "ascending" }
                    option value="desc" selected[q.get("dir") == Some("desc")] { "descending" }
                }
            }
            button type="submit" { "Show" }
            a href="/accounts" { "Clear" }
        }
        (t.render(&q))
        nav.pager aria-label="Pages" {
            @if current > 1 { a href=(format!("?{}", q.with("page", Some(&(current - 1).to_string())))) rel="prev" { "← Previous" } }
            span { "Page " (current) " of " (pages) }
            @if current < pages { a href=(format!("?{}", q.with("page", Some(&(current + 1).to_string())))) rel="next" { "Next →" } }
        }
        p.muted { "Active users count distinct users with usage in the last 30 days. Rejections near: open rejections whose key or hint names the account. MRR (of the live subscriptions) appears once a billing source is configured." }
    };
    Ok(page("Accounts", &who, Nav::Accounts, body).into_response())
}
