//! Sign-in and sign-out. The sign-in form's CSRF token is derived from a short-lived cookie of its
//! own (there is no session yet); a successful sign-in replaces it with the session cookie.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::auth::{self, SESSION_COOKIE, SIGNIN_COOKIE, SignIn, SignedIn};
use crate::form::{Form, Query};
use crate::layout::bare_page;
use crate::{Web, WebError};

/// Only local paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/accounts".to_owned(),
    }
}

fn render(status: StatusCode, seed: &str, next: &str, name: &str, problem: Option<&str>, secure: bool) -> Response {
    let body = bare_page(
        "Sign in",
        html! {
            form.signin method="post" action="/signin" {
                h1 { "Sign in to accord" }
                @if let Some(p) = problem { p.notice.bad role="alert" { (p) } }
                input type="hidden" name="csrf" value=(auth::csrf_token(seed));
                input type="hidden" name="next" value=(next);
                label for="name" { "User name" }
                input #name type="text" name="name" value=(name) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
                p.muted { "No account? An admin adds one with " code { "accord user add" } "." }
            }
        },
    );
    let cookie = auth::set_cookie(SIGNIN_COOKIE, seed, 3600, secure);
    (status, [(header::SET_COOKIE, cookie)], body).into_response()
}

pub async fn form(headers: HeaderMap, Query(q): Query) -> Response {
    let seed = auth::cookie(&headers, SIGNIN_COOKIE).unwrap_or_else(auth::new_token);
    render(StatusCode::OK, &seed, &safe_next(q.get("next")), "", None, auth::is_https(&headers))
}

pub async fn submit(State(web): State<Web>, headers: HeaderMap, Form(f): Form) -> Result<Response, WebError> {
    let secure = auth::is_https(&headers);
    let Some(seed) = auth::cookie(&headers, SIGNIN_COOKIE) else { return Err(WebError::Csrf) };
    auth::check_csrf(&f, &auth::csrf_token(&seed))?;
    let next = safe_next(f.get("next"));
    let name = f.get("name").unwrap_or_default().trim().to_owned();
    let password = f.get("password").unwrap_or_default().to_owned();
    let who = name.clone();
    let outcome = web
        .blocking(move |hub| auth::sign_in(hub.store.as_ref(), &who, &password, chrono::Utc::now().timestamp_millis()))
        .await?;
    match outcome {
        SignIn::Ok { token } => {
            tracing::info!(user = %name, "signed in to the web app");
            let mut response = Redirect::to(&next).into_response();
            let h = response.headers_mut();
            h.append(header::SET_COOKIE, auth::set_cookie(SESSION_COOKIE, &token, auth::SESSION_MS / 1000, secure));
            h.append(header::SET_COOKIE, auth::set_cookie(SIGNIN_COOKIE, "", 0, secure));
            Ok(response)
        }
        SignIn::Wrong => {
            tracing::warn!(user = %name, "failed sign-in to the web app");
            Ok(render(StatusCode::UNAUTHORIZED, &seed, &next, &name, Some("wrong user name or password"), secure))
        }
        SignIn::Locked { minutes } => {
            tracing::warn!(user = %name, "sign-in refused: too many failures");
            let text = format!(
                "too many failed sign-ins for {name:?}: try again in {minutes} minute{}",
                if minutes == 1 { "" } else { "s" }
            );
            Ok(render(StatusCode::TOO_MANY_REQUESTS, &seed, &next, &name, Some(&text), secure))
        }
    }
}

pub async fn signout(
    State(web): State<Web>,
    who: SignedIn,
    headers: HeaderMap,
    Form(f): Form,
) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    let hash = who.token_hash.clone();
    web.blocking(move |hub| Ok(hub.store.web_remove_session(&hash)?)).await?;
    let mut response = Redirect::to("/signin").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, auth::set_cookie(SESSION_COOKIE, "", 0, auth::is_https(&headers)));
    Ok(response)
}
