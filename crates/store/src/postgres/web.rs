//! The web app's tables on PostgreSQL: users, sessions, failed sign-ins, and the accounts list.

use postgres::types::Type;

use super::rows::{account_from_row, count, time};
use super::{DAY_OF_BUCKET, EDGE_ROLLUPS, Param, PgStore, edge_hours, span_params, status_codes};
use crate::model::{AccountQuery, AccountRow, Page};
use crate::usage::{FAR_FUTURE_MS, Span};
use crate::web::{AccountField, AccountSearch, AccountSummary, CLOSED_TICKET_STATUSES, WebSession, WebUser};
use crate::{Result, sql};

const USER_COLUMNS: &str = "name, role, password_hash, created_at, updated_at";

fn user_from_row(r: &postgres::Row) -> Result<WebUser> {
    Ok(WebUser {
        name: r.try_get(0)?,
        role: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        created_at: time(r.try_get(3)?),
        updated_at: time(r.try_get(4)?),
    })
}

impl PgStore {
    pub(super) fn web_users_impl(&self) -> Result<Vec<WebUser>> {
        self.read(|conn| {
            conn.query_typed(&format!("SELECT {USER_COLUMNS} FROM web_users ORDER BY name"), &[])?
                .iter()
                .map(user_from_row)
                .collect()
        })
    }

    pub(super) fn web_user_impl(&self, name: &str) -> Result<Option<WebUser>> {
        self.read(|conn| {
            conn.query_typed_opt(
                &format!("SELECT {USER_COLUMNS} FROM web_users WHERE name = $1"),
                &[(&name, Type::TEXT)],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
        })
    }

    pub(super) fn web_put_user_impl(&self, u: &WebUser) -> Result<bool> {
        let (created, updated) = (u.created_at.timestamp_millis(), u.updated_at.timestamp_millis());
        self.write(|tx| {
            // `xmax = 0` only on a freshly inserted row.
            let row = tx.query_typed_one(
                "INSERT INTO web_users (name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
                   updated_at = excluded.updated_at
                 RETURNING (xmax = 0)",
                &[
                    (&u.name, Type::TEXT),
                    (&u.role, Type::TEXT),
                    (&u.password_hash, Type::TEXT),
                    (&created, Type::INT8),
                    (&updated, Type::INT8),
                ],
            )?;
            Ok(row.try_get(0)?)
        })
    }

    pub(super) fn web_remove_user_impl(&self, name: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute_typed("DELETE FROM web_users WHERE name = $1", &[(&name, Type::TEXT)])?;
            tx.execute_typed("DELETE FROM web_sessions WHERE user_name = $1", &[(&name, Type::TEXT)])?;
            Ok(n > 0)
        })
    }

    pub(super) fn web_put_session_impl(&self, s: &WebSession) -> Result<()> {
        let (created, expires) = (s.created_at.timestamp_millis(), s.expires_at.timestamp_millis());
        self.write(|tx| {
            tx.execute_typed("DELETE FROM web_sessions WHERE expires_at <= $1", &[(&created, Type::INT8)])?;
            tx.execute_typed(
                "INSERT INTO web_sessions (token_hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    (&s.token_hash, Type::TEXT),
                    (&s.user_name, Type::TEXT),
                    (&created, Type::INT8),
                    (&expires, Type::INT8),
                ],
            )?;
            Ok(())
        })
    }

    pub(super) fn web_session_impl(&self, token_hash: &str, now_ms: i64) -> Result<Option<WebSession>> {
        self.read(|conn| {
            let row = conn.query_typed_opt(
                "SELECT token_hash, user_name, created_at, expires_at FROM web_sessions
                 WHERE token_hash = $1 AND expires_at > $2",
                &[(&token_hash, Type::TEXT), (&now_ms, Type::INT8)],
            )?;
            row.map(|r| {
                Ok(WebSession {
                    token_hash: r.try_get(0)?,
                    user_name: r.try_get(1)?,
                    created_at: time(r.try_get(2)?),
                    expires_at: time(r.try_get(3)?),
                })
            })
            .transpose()
        })
    }

    pub(super) fn web_remove_session_impl(&self, token_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute_typed("DELETE FROM web_sessions WHERE token_hash = $1", &[(&token_hash, Type::TEXT)])?;
            Ok(())
        })
    }

    pub(super) fn web_remove_sessions_of_impl(&self, user_name: &str) -> Result<u64> {
        self.write(|tx| {
            Ok(tx.execute_typed("DELETE FROM web_sessions WHERE user_name = $1", &[(&user_name, Type::TEXT)])?)
        })
    }

    pub(super) fn web_signin_failed_impl(&self, user_name: &str, at_ms: i64, forget_before_ms: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute_typed("DELETE FROM web_signin_failures WHERE at < $1", &[(&forget_before_ms, Type::INT8)])?;
            tx.execute_typed(
                "INSERT INTO web_signin_failures (user_name, at) VALUES ($1, $2)",
                &[(&user_name, Type::TEXT), (&at_ms, Type::INT8)],
            )?;
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
        self.write(|tx| {
            tx.execute_typed("DELETE FROM webhook_deliveries WHERE received_at < $1", &[(&forget_before_ms, Type::INT8)])?;
            let inserted = tx.execute_typed(
                "INSERT INTO webhook_deliveries (source, delivery, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[(&source, Type::TEXT), (&delivery, Type::TEXT), (&at_ms, Type::INT8)],
            )?;
            Ok(inserted == 1)
        })
    }

    pub(super) fn propagation_begin_impl(&self, e: &crate::PropagationEntry) -> Result<i64> {
        self.write(|tx| {
            let row = tx.query_typed(
                "INSERT INTO propagation_log (at, source, object, native_id, field, old_value, new_value, status, answer)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', NULL) RETURNING id",
                &[
                    (&e.at_ms, Type::INT8),
                    (&e.key.source, Type::TEXT),
                    (&e.key.object, Type::TEXT),
                    (&e.key.native_id, Type::TEXT),
                    (&e.field, Type::TEXT),
                    (&e.old_value, Type::TEXT),
                    (&e.new_value, Type::TEXT),
                ],
            )?;
            Ok(row.first().map(|r| r.get::<_, i64>(0)).unwrap_or_default())
        })
    }

    pub(super) fn propagation_finish_impl(
        &self,
        id: i64,
        status: &str,
        answer: Option<&str>,
        at_ms: i64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute_typed(
                "UPDATE propagation_log SET status = $2, answer = $3, at = $4 WHERE id = $1",
                &[(&id, Type::INT8), (&status, Type::TEXT), (&answer, Type::TEXT), (&at_ms, Type::INT8)],
            )?;
            Ok(())
        })
    }

    pub(super) fn propagation_interrupted_impl(&self) -> Result<u64> {
        self.write(|tx| {
            Ok(tx.execute_typed("UPDATE propagation_log SET status = 'interrupted' WHERE status = 'pending'", &[])?)
        })
    }

    pub(super) fn propagation_history_impl(&self, limit: u32) -> Result<Vec<crate::PropagationEntry>> {
        self.read(|conn| {
            let rows = conn.query_typed(
                "SELECT id, at, source, object, native_id, field, old_value, new_value, status, answer
                 FROM propagation_log ORDER BY id DESC LIMIT $1",
                &[(&i64::from(limit), Type::INT8)],
            )?;
            Ok(rows
                .iter()
                .map(|r| crate::PropagationEntry {
                    id: r.get(0),
                    at_ms: r.get(1),
                    key: crate::RecordKey { source: r.get(2), object: r.get(3), native_id: r.get(4) },
                    field: r.get(5),
                    old_value: r.get(6),
                    new_value: r.get(7),
                    status: r.get(8),
                    answer: r.get(9),
                })
                .collect())
        })
    }

    pub(super) fn web_signin_failures_impl(&self, user_name: &str, since_ms: i64) -> Result<Vec<i64>> {
        self.read(|conn| {
            let rows = conn.query_typed(
                "SELECT at FROM web_signin_failures WHERE user_name = $1 AND at >= $2 ORDER BY at",
                &[(&user_name, Type::TEXT), (&since_ms, Type::INT8)],
            )?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }

    pub(super) fn web_clear_signin_failures_impl(&self, user_name: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute_typed("DELETE FROM web_signin_failures WHERE user_name = $1", &[(&user_name, Type::TEXT)])?;
            Ok(())
        })
    }

    pub(super) fn web_accounts_impl(&self, q: &AccountSearch) -> Result<Page<AccountRow>> {
        let size = q.page_size.clamp(1, 10_000);
        let order = sql::account_order(
            &AccountQuery { order: q.order, descending: q.descending, ..AccountQuery::default() },
            true,
        )?;
        let statuses = status_codes(&q.statuses);
        let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(crate::web::like_pattern);
        // Every value is bound; the clauses only name code-chosen columns and parameter numbers.
        let mut texts: Vec<String> = Vec::new();
        let mut clauses = vec!["status = ANY($1)".to_owned()];
        let mut next = 2;
        if text.is_some() {
            clauses.push(format!("(account_id ILIKE ${next} ESCAPE '\\' OR name ILIKE ${next} ESCAPE '\\')"));
            next += 1;
        }
        for (field, value) in &q.equals {
            match field {
                AccountField::Typed(name) => {
                    let col = crate::web::typed_column(name)?;
                    clauses.push(format!("{col}::text = ${next}"));
                    texts.push(value.clone());
                    next += 1;
                }
                AccountField::Attribute(key) => {
                    clauses.push(format!("(attributes::json ->> ${next}) = ${}", next + 1));
                    texts.push(crate::web::attribute_key(key)?.to_owned());
                    texts.push(value.clone());
                    next += 2;
                }
            }
        }
        let filter = clauses.join(" AND ");
        let (limit, offset) = (i64::from(size), i64::from(q.page) * i64::from(size));
        self.read(|conn| {
            let mut params: Vec<Param<'_>> = vec![(&statuses, Type::TEXT_ARRAY)];
            if let Some(t) = &text {
                params.push((t, Type::TEXT));
            }
            for t in &texts {
                params.push((t, Type::TEXT));
            }
            let total: i64 =
                conn.query_typed_one(&format!("SELECT COUNT(*) FROM accounts WHERE {filter}"), &params)?.try_get(0)?;
            let sql = format!(
                "SELECT {} FROM accounts WHERE {filter} ORDER BY {order} LIMIT ${next} OFFSET ${}",
                sql::account_columns().join(", "),
                next + 1
            );
            params.push((&limit, Type::INT8));
            params.push((&offset, Type::INT8));
            let items = conn.query_typed(&sql, &params)?.iter().map(account_from_row).collect::<Result<_>>()?;
            Ok(Page { items, total: total as u64, page: q.page, page_size: size })
        })
    }

    pub(super) fn web_account_summaries_impl(&self, ids: &[String], since_ms: i64) -> Result<Vec<AccountSummary>> {
        self.flush_own_usage()?;
        let closed: Vec<&str> = CLOSED_TICKET_STATUSES.to_vec();
        self.read(|conn| {
            let mut out: Vec<AccountSummary> =
                ids.iter().map(|id| AccountSummary { account_id: id.clone(), ..Default::default() }).collect();
            let at = |id: &str| ids.iter().position(|i| i == id);
            for r in conn.query_typed(
                "SELECT id, (SELECT MAX(bucket) FROM usage_rollups WHERE account_id = id AND grain = 'hour')
                 FROM unnest($1::text[]) AS id",
                &[(&ids, Type::TEXT_ARRAY)],
            )? {
                if let Some(i) = at(r.try_get(0)?) {
                    out[i].last_activity_ms = r.try_get(1)?;
                }
            }
            // Users since `since_ms`, however far ahead their events are dated.
            let span = Span::of(since_ms, FAR_FUTURE_MS);
            for r in conn.query_typed(
                concat!(
                    "SELECT account_id, COUNT(DISTINCT user_id) FROM (
                         SELECT account_id, user_id FROM usage_daily_users
                         WHERE account_id = ANY($1) AND day >= $4 AND day < $5
                         UNION ALL SELECT r.account_id, r.user_id FROM ",
                    edge_hours!(),
                    " JOIN usage_rollups r ON r.grain = 'hour' AND r.bucket = b.x AND r.account_id = ANY($1)
                         WHERE r.user_id <> '') u
                     GROUP BY account_id"
                ),
                &[
                    (&ids, Type::TEXT_ARRAY),
                    (&span.first_hour, Type::INT8),
                    (&span.end_hour, Type::INT8),
                    (&span.first_day, Type::INT8),
                    (&span.end_day, Type::INT8),
                ],
            )? {
                if let Some(i) = at(r.try_get(0)?) {
                    out[i].active_users = count(&r, 1)?;
                }
            }
            for r in conn.query_typed(
                "SELECT account_id, COUNT(*) FROM support_tickets
                 WHERE account_id = ANY($1) AND NOT is_deleted AND (status IS NULL OR lower(status) <> ALL($2))
                 GROUP BY account_id",
                &[(&ids, Type::TEXT_ARRAY), (&closed, Type::TEXT_ARRAY)],
            )? {
                if let Some(i) = at(r.try_get(0)?) {
                    out[i].open_tickets = count(&r, 1)?;
                }
            }
            for r in conn.query_typed(
                "SELECT key, COUNT(DISTINCT (source, object, native_id)) FROM quarantine_keys
                 WHERE space IN ('account', 'hint') AND key = ANY($1) GROUP BY key",
                &[(&ids, Type::TEXT_ARRAY)],
            )? {
                if let Some(i) = at(r.try_get(0)?) {
                    out[i].rejections_near = count(&r, 1)?;
                }
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
            let rows = conn.query_typed(
                &format!(
                    "SELECT day, user_id FROM usage_daily_users WHERE account_id = $1 AND day >= $4 AND day < $5
                     UNION SELECT {DAY_OF_BUCKET} AS day, r.user_id FROM {EDGE_ROLLUPS} WHERE r.user_id <> ''
                     ORDER BY day, user_id"
                ),
                &span_params(&account_id, &span),
            )?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        })
    }
}
