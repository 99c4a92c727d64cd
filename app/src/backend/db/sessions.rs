//! The `user_sessions` table: every logged-in session of an account, so
//! its owner and admins see them and can end one.

use crate::backend::db::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn insert(db: &Db, row: &SessionRow) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO user_sessions (id, user_id, created_at, last_seen_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(&row.id)
        .bind(row.user_id)
        .bind(row.created_at)
        .bind(row.last_seen_at)
        .bind(&row.ip)
        .bind(&row.user_agent)
        .execute(pool)
        .await
        .map(|_| ()))
}

/// How often a session's `last_seen_at` is written at most.
const SEEN_EVERY_MINUTES: i64 = 5;

/// Whether session `id` of `user_id` still exists; notes it as seen (at
/// most every few minutes, so most requests only read).
pub async fn alive(db: &Db, id: &str, user_id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "SELECT last_seen_at FROM user_sessions WHERE id = $1 AND user_id = $2";
    let seen: Option<DateTime<Utc>> = on_db!(db, |pool| sqlx::query_scalar(sql).bind(id).bind(user_id).fetch_optional(pool).await)?;
    let Some(seen) = seen else { return Ok(false) };
    if now - seen > Duration::minutes(SEEN_EVERY_MINUTES) {
        let sql = "UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2";
        on_db!(db, |pool| sqlx::query(sql).bind(now).bind(id).execute(pool).await.map(|_| ()))?;
    }
    Ok(true)
}

/// The account's sessions, most recently seen first.
pub async fn of_user(db: &Db, user_id: i64) -> Result<Vec<SessionRow>, sqlx::Error> {
    let sql = "SELECT id, user_id, created_at, last_seen_at, ip, user_agent FROM user_sessions WHERE user_id = $1 ORDER BY last_seen_at DESC LIMIT 100";
    on_db!(db, |pool| sqlx::query_as(sql).bind(user_id).fetch_all(pool).await)
}

/// Ends one session of the account; `false` if it was gone.
pub async fn delete_one(tx: &mut Tx, user_id: i64, id: &str) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM user_sessions WHERE user_id = $1 AND id = $2";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(user_id).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Ends every session of the account (in the transaction that raises its
/// session epoch).
pub async fn delete_all(tx: &mut Tx, user_id: i64) -> Result<u64, sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query("DELETE FROM user_sessions WHERE user_id = $1").bind(user_id).execute(conn).await.map(|r| r.rows_affected()))
}

/// A session that logs out.
pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query("DELETE FROM user_sessions WHERE id = $1").bind(id).execute(pool).await.map(|_| ()))
}

/// Forgets sessions not seen since `before` (they expired by inactivity).
pub async fn sweep(db: &Db, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query("DELETE FROM user_sessions WHERE last_seen_at < $1").bind(before).execute(pool).await.map(|r| r.rows_affected()))
}
