//! Managing web users (`accord user add|list|remove|passwd`, the users page): names, roles and
//! argon2id password hashes in the store.

use accord_store::{Store, WebUser};

use crate::auth::{Role, hash_password, password_problem};

/// Errors of user management, worded for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user {0:?} exists already (change its password with `accord user passwd {0}`)")]
    Exists(String),
    #[error("no web user {0:?} (`accord user list` shows them)")]
    Unknown(String),
    #[error("invalid user name {0:?}: use 1 to 64 letters, digits, and . _ @ -")]
    InvalidName(String),
    #[error("{0}")]
    Password(String),
    #[error(transparent)]
    Store(#[from] accord_store::StoreError),
}

fn check_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok { Ok(()) } else { Err(UserError::InvalidName(name.to_owned())) }
}

/// Adds a user; refuses an existing name.
pub fn add(store: &dyn Store, name: &str, role: Role, password: &str) -> Result<WebUser, UserError> {
    check_name(name)?;
    if let Some(p) = password_problem(password) {
        return Err(UserError::Password(p));
    }
    if store.web_user(name)?.is_some() {
        return Err(UserError::Exists(name.to_owned()));
    }
    let now = chrono::Utc::now();
    let user = WebUser {
        name: name.to_owned(),
        role: role.code().to_owned(),
        password_hash: hash_password(password).map_err(UserError::Password)?,
        created_at: now,
        updated_at: now,
    };
    store.web_put_user(&user)?;
    Ok(user)
}

/// Adds a user, or replaces the password and role of an existing one (`accord demo`).
pub fn put(store: &dyn Store, name: &str, role: Role, password: &str) -> Result<WebUser, UserError> {
    match add(store, name, role, password) {
        Err(UserError::Exists(_)) => {
            let mut user = passwd(store, name, password)?;
            user.role = role.code().to_owned();
            store.web_put_user(&user)?;
            Ok(user)
        }
        other => other,
    }
}

/// Sets a user's password and signs out its sessions.
pub fn passwd(store: &dyn Store, name: &str, password: &str) -> Result<WebUser, UserError> {
    if let Some(p) = password_problem(password) {
        return Err(UserError::Password(p));
    }
    let mut user = store.web_user(name)?.ok_or_else(|| UserError::Unknown(name.to_owned()))?;
    user.password_hash = hash_password(password).map_err(UserError::Password)?;
    user.updated_at = chrono::Utc::now();
    store.web_put_user(&user)?;
    store.web_remove_sessions_of(name)?;
    Ok(user)
}

/// Removes a user and its sessions.
pub fn remove(store: &dyn Store, name: &str) -> Result<(), UserError> {
    if store.web_remove_user(name)? { Ok(()) } else { Err(UserError::Unknown(name.to_owned())) }
}

pub fn list(store: &dyn Store) -> Result<Vec<WebUser>, UserError> {
    Ok(store.web_users()?)
}
