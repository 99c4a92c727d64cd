//! The `jobs` table: one row per background job, its lease and its last
//! run (`services::jobs` runs them once across the fleet).

use crate::backend::db::Db;
use crate::on_db;
use chrono::{DateTime, Utc};

/// A job's row as the dashboard and metrics read it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    pub name: String,
    pub next_run_at: DateTime<Utc>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_ok: Option<bool>,
    pub last_error: Option<String>,
    pub runs: i64,
}

/// Adds the job if no replica has yet (due at once).
pub async fn ensure(db: &Db, name: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO jobs (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    on_db!(db, |pool| sqlx::query(sql).bind(name).bind(now).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// Takes the job's lease for `holder` until `until` if the job is due at
/// `now` and no other live lease holds it: one conditional UPDATE, so of
/// replicas asking at once exactly one gets it.
pub async fn try_lease(db: &Db, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE jobs SET lease_holder = $1, lease_until = $2, last_started_at = $3 \
               WHERE name = $4 AND next_run_at <= $3 AND (lease_holder IS NULL OR lease_until < $3)";
    let done = on_db!(db, |pool| sqlx::query(sql).bind(holder).bind(until).bind(now).bind(name).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Ends `holder`'s run: the outcome, the next run, the lease released.
/// Nothing happens if the lease was lost meanwhile (it expired and another
/// replica took the job).
pub async fn finish(
    db: &Db,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
    error: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE jobs SET lease_holder = NULL, lease_until = NULL, next_run_at = $1, last_finished_at = $2, \
               last_ok = $3, last_error = $4, runs = runs + 1 WHERE name = $5 AND lease_holder = $6";
    let done = on_db!(db, |pool| sqlx::query(sql)
        .bind(next)
        .bind(now)
        .bind(error.is_none())
        .bind(error)
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

pub async fn all(db: &Db) -> Result<Vec<JobRow>, sqlx::Error> {
    let sql = "SELECT name, next_run_at, lease_holder, lease_until, last_started_at, last_finished_at, last_ok, \
               last_error, runs FROM jobs ORDER BY name";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}
