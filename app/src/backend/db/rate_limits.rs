//! The `rate_limits` table: a fixed window per key, shared by replicas.

use crate::backend::db::Db;
use crate::on_db;
use chrono::{DateTime, Utc};

/// Counts one hit of `key` in the window starting at `window`, and returns
/// the window's count so far (this hit included). One upsert: replicas
/// counting the same key at once each get a distinct count.
pub async fn hit(db: &Db, key: &str, window: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
               ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.count + 1 ELSE 1 END, \
               window_start = excluded.window_start \
               RETURNING count";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(key).bind(window).fetch_one(pool).await)
}

/// Deletes the windows that started before `before`.
pub async fn sweep(db: &Db, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM rate_limits WHERE window_start < $1";
    on_db!(db, |pool| sqlx::query(sql).bind(before).execute(pool).await.map(|r| r.rows_affected()))
}
