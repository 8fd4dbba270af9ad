//! Web users, for admins: list, add, remove (passwords are changed with `accord user passwd`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::auth::{Role, SignedIn};
use crate::form::{Form, Query};
use crate::layout::{Nav, csrf_field, page, time};
use crate::table::{Cell, Table, csv_answer};
use crate::users::{self, UserError};
use crate::{Web, WebError};

fn user_error(e: UserError) -> WebError {
    match e {
        UserError::Store(s) => WebError::Internal(s.to_string()),
        other => WebError::BadRequest(other.to_string()),
    }
}

pub async fn list(State(web): State<Web>, who: SignedIn, Query(q): Query) -> Result<Response, WebError> {
    who.require(Role::Admin, "managing users")?;
    let list = web.blocking(|hub| users::list(hub.store.as_ref()).map_err(user_error)).await?;
    let mut t = Table::new("users", "Web users", vec!["Name", "Role", "Added", "Password changed", "Remove"]);
    for u in &list {
        let remove = if u.name == who.user {
            html! { span.muted { "(you)" } }
        } else {
            html! {
                form.inline method="post" action=(format!("/users/{}/remove", crate::form::path_segment(&u.name))) {
                    (csrf_field(&who))
                    button.danger type="submit" data-confirm=(format!("Remove {}?", u.name)) { "Remove" }
                }
            }
        };
        t.push(vec![
            u.name.as_str().into(),
            u.role.as_str().into(),
            time(&u.created_at).into(),
            time(&u.updated_at).into(),
            Cell::from("").html(remove),
        ]);
    }
    if let Some(answer) = csv_answer(&q, &[&t]) {
        return answer;
    }
    let body = html! {
        (t.render(&q))
        h2 { "Add a user" }
        form.filters method="post" action="/users" {
            (csrf_field(&who))
            label { "Name" input type="text" name="name" required autocomplete="off"; }
            label { "Role" select name="role" { @for r in Role::ALL { option value=(r.code()) { (r.code()) } } } }
            label { "Password (at least " (crate::auth::MIN_PASSWORD_LEN) " characters)" input type="password" name="password" required autocomplete="new-password"; }
            button type="submit" { "Add" }
        }
    };
    Ok(page("Users", &who, Nav::Users, body).into_response())
}

pub async fn add(State(web): State<Web>, who: SignedIn, Form(f): Form) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    who.require(Role::Admin, "managing users")?;
    let name = f.get("name").unwrap_or_default().trim().to_owned();
    let role = f
        .get("role")
        .and_then(Role::from_code)
        .ok_or_else(|| WebError::BadRequest("role: use viewer, operator or admin".into()))?;
    let password = f.get("password").unwrap_or_default().to_owned();
    web.blocking(move |hub| users::add(hub.store.as_ref(), &name, role, &password).map_err(user_error)).await?;
    Ok(Redirect::to("/users").into_response())
}

pub async fn remove(
    State(web): State<Web>,
    who: SignedIn,
    Path(name): Path<String>,
    Form(f): Form,
) -> Result<Response, WebError> {
    who.check_csrf(&f)?;
    who.require(Role::Admin, "managing users")?;
    if name == who.user {
        return Err(WebError::BadRequest("you cannot remove yourself; another admin can".into()));
    }
    web.blocking(move |hub| users::remove(hub.store.as_ref(), &name).map_err(user_error)).await?;
    Ok(Redirect::to("/users").into_response())
}
