//! The page shell (header, navigation, sign-out), the assets served from the binary, and the small
//! formatting helpers every page uses.

use accord_core::Timestamp;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};

use crate::auth::{Role, SignedIn};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

/// Which section of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Accounts,
    Integrations,
    Quarantine,
    Doctor,
    Users,
}

fn head(title: &str, extra: Markup) -> Markup {
    html! {
        head {
            (extra)
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · accord" }
            link rel="stylesheet" href="/assets/app.css";
            script src="/assets/app.js" defer {}
        }
    }
}

/// A page of a signed-in user.
pub fn page(title: &str, who: &SignedIn, nav: Nav, body: Markup) -> Markup {
    page_with(title, who, nav, html! {}, body)
}

/// A page with extra `<head>` content (a refresh while a sync runs).
pub fn page_with(title: &str, who: &SignedIn, nav: Nav, extra_head: Markup, body: Markup) -> Markup {
    let link = |n: Nav, href: &str, label: &str| {
        html! { a href=(href) aria-current=[(n == nav).then_some("page")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, extra_head))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/accounts" { "accord" }
                    nav aria-label="Sections" {
                        (link(Nav::Accounts, "/accounts", "Accounts"))
                        (link(Nav::Integrations, "/integrations", "Integrations"))
                        (link(Nav::Quarantine, "/quarantine", "Quarantine"))
                        (link(Nav::Doctor, "/doctor", "Doctor"))
                        @if who.can(Role::Admin) { (link(Nav::Users, "/users", "Users")) }
                    }
                    div.who {
                        span { (who.user) " · " (who.role) }
                        form.inline method="post" action="/signout" {
                            (csrf_field(who))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, html! {}))
            body { main #main { (body) } }
        }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    bare_page(
        title,
        html! {
            h1 { (status.as_u16()) " " (title) }
            p.notice.bad role="alert" { (message) }
            p { a href="/accounts" { "Back to the accounts" } " · " a href="/signin" { "Sign in" } }
        },
    )
}

/// The hidden CSRF field of every form.
pub fn csrf_field(who: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], CSS)
}

pub async fn js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], JS)
}

pub fn date(t: &Timestamp) -> String {
    t.format("%Y-%m-%d").to_string()
}

pub fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

pub fn ms_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| time(&t))
}

pub fn ms_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| date(&t))
}

/// `/accounts/{id}` with the id percent-encoded.
pub fn account_href(id: &str) -> String {
    format!("/accounts/{}", crate::form::path_segment(id))
}

/// A JSON value as a table cell: text as is, null empty, the rest as JSON.
pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
