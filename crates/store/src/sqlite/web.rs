//! The web app's tables on SQLite: users, sessions, failed sign-ins, and the accounts list.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params, params_from_iter};

use super::rows::{account_from_row, time};
use super::{DAILY_USERS, DAY_OF_BUCKET, EDGE_HOURS, EDGE_ROLLUPS, EDGE_USERS, SqliteStore, span_params, status_codes};
use crate::model::{AccountQuery, AccountRow, Page};
use crate::usage::{FAR_FUTURE_MS, Span};
use crate::web::{AccountField, AccountSearch, AccountSummary, CLOSED_TICKET_STATUSES, WebSession, WebUser};
use crate::{Result, sql};

const USER_COLUMNS: &str = "name, role, password_hash, created_at, updated_at";

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebUser> {
    Ok(WebUser {
        name: r.get(0)?,
        role: r.get(1)?,
        password_hash: r.get(2)?,
        created_at: time(r.get(3)?),
        updated_at: time(r.get(4)?),
    })
}

impl SqliteStore {
    pub(super) fn web_users_impl(&self) -> Result<Vec<WebUser>> {
        self.read(|conn| {
            let mut st = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM web_users ORDER BY name"))?;
            let rows = st.query_map([], user_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(super) fn web_user_impl(&self, name: &str) -> Result<Option<WebUser>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM web_users WHERE name = ?1"))?
                .query_row(params![name], user_from_row)
                .optional()?)
        })
    }

    pub(super) fn web_put_user_impl(&self, u: &WebUser) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            let existed: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM web_users WHERE name = ?1)", params![u.name], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO web_users (name, role, password_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
                   updated_at = excluded.updated_at",
                params![
                    u.name,
                    u.role,
                    u.password_hash,
                    u.created_at.timestamp_millis(),
                    u.updated_at.timestamp_millis()
                ],
            )?;
            tx.commit()?;
            Ok(!existed)
        })
    }

    pub(super) fn web_remove_user_impl(&self, name: &str) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            let n = tx.execute("DELETE FROM web_users WHERE name = ?1", params![name])?;
            tx.execute("DELETE FROM web_sessions WHERE user_name = ?1", params![name])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    pub(super) fn web_put_session_impl(&self, s: &WebSession) -> Result<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", params![s.created_at.timestamp_millis()])?;
            tx.execute(
                "INSERT INTO web_sessions (token_hash, user_name, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![s.token_hash, s.user_name, s.created_at.timestamp_millis(), s.expires_at.timestamp_millis()],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    pub(super) fn web_session_impl(&self, token_hash: &str, now_ms: i64) -> Result<Option<WebSession>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT token_hash, user_name, created_at, expires_at FROM web_sessions
                     WHERE token_hash = ?1 AND expires_at > ?2",
                )?
                .query_row(params![token_hash, now_ms], |r| {
                    Ok(WebSession {
                        token_hash: r.get(0)?,
                        user_name: r.get(1)?,
                        created_at: time(r.get(2)?),
                        expires_at: time(r.get(3)?),
                    })
                })
                .optional()?)
        })
    }

    pub(super) fn web_remove_session_impl(&self, token_hash: &str) -> Result<()> {
        self.write(|conn| {
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?1", params![token_hash])?;
            Ok(())
        })
    }

    pub(super) fn web_remove_sessions_of_impl(&self, user_name: &str) -> Result<u64> {
        self.write(|conn| Ok(conn.execute("DELETE FROM web_sessions WHERE user_name = ?1", params![user_name])? as u64))
    }

    pub(super) fn web_signin_failed_impl(&self, user_name: &str, at_ms: i64, forget_before_ms: i64) -> Result<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM web_signin_failures WHERE at < ?1", params![forget_before_ms])?;
            tx.execute("INSERT INTO web_signin_failures (user_name, at) VALUES (?1, ?2)", params![user_name, at_ms])?;
            tx.commit()?;
            Ok(())
        })
    }

    pub(super) fn remember_delivery_impl(
        &self,
        source: &str,
        delivery: &str,
        at_ms: i64,
        forget_before_ms: i64,
    ) -> Result<bool> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM webhook_deliveries WHERE received_at < ?1", params![forget_before_ms])?;
            let new = tx.execute(
                "INSERT INTO webhook_deliveries (source, delivery, received_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![source, delivery, at_ms],
            )? == 1;
            tx.commit()?;
            Ok(new)
        })
    }

    pub(super) fn propagation_begin_impl(&self, e: &crate::PropagationEntry) -> Result<i64> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO propagation_log (at, source, object, native_id, field, old_value, new_value, status, answer)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', NULL)",
                params![e.at_ms, e.key.source, e.key.object, e.key.native_id, e.field, e.old_value, e.new_value],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    pub(super) fn propagation_finish_impl(
        &self,
        id: i64,
        status: &str,
        answer: Option<&str>,
        at_ms: i64,
    ) -> Result<()> {
        self.write(|conn| {
            conn.execute(
                "UPDATE propagation_log SET status = ?2, answer = ?3, at = ?4 WHERE id = ?1",
                params![id, status, answer, at_ms],
            )?;
            Ok(())
        })
    }

    pub(super) fn propagation_interrupted_impl(&self) -> Result<u64> {
        self.write(|conn| {
            Ok(conn.execute("UPDATE propagation_log SET status = 'interrupted' WHERE status = 'pending'", [])? as u64)
        })
    }

    pub(super) fn propagation_history_impl(&self, limit: u32) -> Result<Vec<crate::PropagationEntry>> {
        self.read(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT id, at, source, object, native_id, field, old_value, new_value, status, answer
                 FROM propagation_log ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map(params![limit], |r| {
                Ok(crate::PropagationEntry {
                    id: r.get(0)?,
                    at_ms: r.get(1)?,
                    key: crate::RecordKey { source: r.get(2)?, object: r.get(3)?, native_id: r.get(4)? },
                    field: r.get(5)?,
                    old_value: r.get(6)?,
                    new_value: r.get(7)?,
                    status: r.get(8)?,
                    answer: r.get(9)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(super) fn web_signin_failures_impl(&self, user_name: &str, since_ms: i64) -> Result<Vec<i64>> {
        self.read(|conn| {
            let mut st = conn
                .prepare_cached("SELECT at FROM web_signin_failures WHERE user_name = ?1 AND at >= ?2 ORDER BY at")?;
            let rows = st.query_map(params![user_name, since_ms], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(super) fn web_clear_signin_failures_impl(&self, user_name: &str) -> Result<()> {
        self.write(|conn| {
            conn.execute("DELETE FROM web_signin_failures WHERE user_name = ?1", params![user_name])?;
            Ok(())
        })
    }

    pub(super) fn web_accounts_impl(&self, q: &AccountSearch) -> Result<Page<AccountRow>> {
        let size = q.page_size.clamp(1, 10_000);
        let order = sql::account_order(
            &AccountQuery { order: q.order, descending: q.descending, ..AccountQuery::default() },
            false,
        )?;
        let mut args: Vec<SqlValue> = Vec::new();
        let mut clauses = Vec::new();
        let statuses = status_codes(&q.statuses);
        let marks: Vec<String> = statuses
            .iter()
            .map(|s| {
                args.push(SqlValue::Text((*s).to_owned()));
                format!("?{}", args.len())
            })
            .collect();
        clauses.push(format!("status IN ({})", marks.join(", ")));
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            args.push(SqlValue::Text(crate::web::like_pattern(text)));
            let n = args.len();
            clauses.push(format!("(account_id LIKE ?{n} ESCAPE '\\' OR name LIKE ?{n} ESCAPE '\\')"));
        }
        for (field, value) in &q.equals {
            match field {
                AccountField::Typed(name) => {
                    let col = crate::web::typed_column(name)?;
                    args.push(SqlValue::Text(value.clone()));
                    clauses.push(format!("CAST({col} AS TEXT) = ?{}", args.len()));
                }
                AccountField::Attribute(key) => {
                    args.push(SqlValue::Text(json_path(key)?));
                    args.push(SqlValue::Text(value.clone()));
                    let n = args.len();
                    clauses.push(format!("CAST(json_extract(attributes, ?{}) AS TEXT) = ?{n}", n - 1));
                }
            }
        }
        let filter = clauses.join(" AND ");
        self.read(|conn| {
            let total: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM accounts WHERE {filter}"),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let mut st = conn.prepare(&format!(
                "SELECT {} FROM accounts WHERE {filter} ORDER BY {order} LIMIT {size} OFFSET {}",
                sql::account_columns().join(", "),
                u64::from(q.page) * u64::from(size)
            ))?;
            let mut rows = st.query(params_from_iter(args.iter()))?;
            let mut items = Vec::new();
            while let Some(r) = rows.next()? {
                items.push(account_from_row(r)?);
            }
            Ok(Page { items, total: total as u64, page: q.page, page_size: size })
        })
    }

    pub(super) fn web_account_summaries_impl(&self, ids: &[String], since_ms: i64) -> Result<Vec<AccountSummary>> {
        self.flush_own_usage()?;
        self.read(|conn| {
            let mut last =
                conn.prepare_cached("SELECT MAX(bucket) FROM usage_rollups WHERE account_id = ?1 AND grain = 'hour'")?;
            // Users since `since_ms`, however far ahead their events are dated.
            let span = Span::of(since_ms, FAR_FUTURE_MS);
            let mut users =
                conn.prepare_cached(&format!("{EDGE_HOURS} SELECT COUNT(*) FROM ({DAILY_USERS} UNION {EDGE_USERS})"))?;
            let closed = CLOSED_TICKET_STATUSES.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
            let mut tickets = conn.prepare_cached(&format!(
                "SELECT COUNT(*) FROM support_tickets WHERE account_id = ?1 AND is_deleted = 0
                   AND (status IS NULL OR lower(status) NOT IN ({closed}))"
            ))?;
            let mut near = conn.prepare_cached(
                "SELECT COUNT(*) FROM (SELECT DISTINCT source, object, native_id FROM quarantine_keys
                 WHERE space IN ('account', 'hint') AND key = ?1)",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(AccountSummary {
                    account_id: id.clone(),
                    last_activity_ms: last.query_row(params![id], |r| r.get(0))?,
                    active_users: users.query_row(span_params(id, &span), |r| r.get::<_, i64>(0))? as u64,
                    open_tickets: tickets.query_row(params![id], |r| r.get::<_, i64>(0))? as u64,
                    rejections_near: near.query_row(params![id], |r| r.get::<_, i64>(0))? as u64,
                });
            }
            Ok(out)
        })
    }

    pub(super) fn web_daily_users_impl(
        &self,
        account_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, String)>> {
        self.flush_own_usage()?;
        self.read(|conn| {
            let span = Span::of(from_ms, to_ms);
            let mut st = conn.prepare_cached(&format!(
                "{EDGE_HOURS} SELECT day, user_id FROM usage_daily_users WHERE account_id = ?1 AND day >= ?4 AND day < ?5
                 UNION SELECT {DAY_OF_BUCKET} AS day, r.user_id FROM {EDGE_ROLLUPS} WHERE r.user_id <> ''
                 ORDER BY day, user_id"
            ))?;
            let rows = st.query_map(span_params(account_id, &span), |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// The JSON path of a top-level key: `$."Plan"`.
fn json_path(key: &str) -> Result<String> {
    Ok(format!("$.\"{}\"", crate::web::attribute_key(key)?))
}
