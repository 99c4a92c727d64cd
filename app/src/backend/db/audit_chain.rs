//! SQL of the audit hash chain (`server::audit_chain`): the one-row
//! `audit_chain` state, reading events in id order, writing their hashes
//! once into `audit_seals` (insert-only: events are never updated), and the
//! retention cut (the only DELETE the triggers allow).

use crate::backend::db::audit::{AuditRow, COLUMNS, EVENTS};
use crate::backend::db::{Db, Tx};
use crate::{on_db, on_tx};
use std::time::Duration;

/// How far the chain is sealed, and where it starts after retention.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainState {
    pub sealed_id: i64,
    pub sealed_hash: String,
    pub anchor_id: i64,
    pub anchor_hash: String,
}

const STATE: &str = "SELECT sealed_id, sealed_hash, anchor_id, anchor_hash FROM audit_chain WHERE id = 1";

pub async fn state(db: &Db) -> Result<ChainState, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_as(STATE).fetch_one(pool).await)
}

/// Reads the state and locks it for this transaction (PostgreSQL: the row
/// lock serialises sealers and retention across replicas; SQLite's
/// `BEGIN IMMEDIATE` already holds the write lock).
pub async fn lock_state(tx: &mut Tx) -> Result<ChainState, sqlx::Error> {
    match tx {
        Tx::Sqlite(t) => sqlx::query_as(STATE).fetch_one(&mut **t).await,
        Tx::Postgres(t) => sqlx::query_as(&format!("{STATE} FOR UPDATE")).fetch_one(&mut **t).await,
    }
}

/// Events with `after < id <= upto`, oldest first, at most `limit`.
pub async fn rows_between(db: &Db, after: i64, upto: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(after).bind(upto).bind(limit).fetch_all(pool).await)
}

/// The same, inside a transaction.
pub async fn rows_between_in(tx: &mut Tx, after: i64, upto: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(after).bind(upto).bind(limit).fetch_all(conn).await)
}

/// Writes each event's hash (multi-row INSERTs into `audit_seals`).
pub async fn set_hashes(tx: &mut Tx, hashes: &[(i64, String)]) -> Result<(), sqlx::Error> {
    for chunk in hashes.chunks(1_000) {
        on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_seals (event_id, hash) ");
            q.push_values(chunk, |mut b, h| {
                b.push_bind(h.0).push_bind(&h.1);
            });
            q.build().execute(&mut *conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

pub async fn set_sealed(tx: &mut Tx, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE audit_chain SET sealed_id = $1, sealed_hash = $2 WHERE id = 1";
    on_tx!(tx, |conn| sqlx::query(sql).bind(id).bind(hash).execute(conn).await.map(|_| ()))
}

/// Moves the retention anchor to event `id` (its own hash becomes the
/// anchor: the triggers check it) and deletes the events, their seals and
/// their search rows up to it. Returns how many events were deleted.
pub async fn cut(tx: &mut Tx, id: i64) -> Result<u64, sqlx::Error> {
    let anchor = "UPDATE audit_chain SET anchor_id = $1, \
                  anchor_hash = (SELECT hash FROM audit_seals WHERE event_id = $1) WHERE id = 1";
    let events = "DELETE FROM audit_events WHERE id <= $1";
    let seals = "DELETE FROM audit_seals WHERE event_id <= $1";
    let deleted = on_tx!(tx, |conn| {
        sqlx::query(anchor).bind(id).execute(&mut *conn).await?;
        let n = sqlx::query(events).bind(id).execute(&mut *conn).await?.rows_affected();
        sqlx::query(seals).bind(id).execute(&mut *conn).await?;
        Ok::<_, sqlx::Error>(n)
    })?;
    super::audit_search::delete_upto(tx, id).await?;
    Ok(deleted)
}

/// The largest id at and below which every event that will ever commit has
/// committed, so it can be sealed in id order.
///
/// SQLite has one writer at a time, so that is simply the largest id. On
/// PostgreSQL ids are taken before commit and concurrent transactions commit
/// out of order: read the largest committed id, then a snapshot of the
/// transactions in progress, and wait until each has ended. Every insert
/// takes its transaction id before its event id (`audit::xact_first`), so a
/// transaction holding a smaller id than that maximum is in the snapshot.
/// `None` if they are still running after `patience`.
pub async fn horizon(db: &Db, patience: Duration) -> Result<Option<i64>, sqlx::Error> {
    let top = crate::backend::db::audit::max_id(db).await?;
    let Db::Postgres(pool) = db else { return Ok(Some(top)) };
    let snapshot: String = sqlx::query_scalar("SELECT pg_current_snapshot()::TEXT").fetch_one(pool).await?;
    let running = "SELECT COUNT(*) FROM pg_snapshot_xip($1::pg_snapshot) AS x WHERE pg_xact_status(x) = 'in progress'";
    let started = std::time::Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(running).bind(&snapshot).fetch_one(pool).await?;
        if n == 0 {
            return Ok(Some(top));
        }
        if started.elapsed() >= patience {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Adds sealed events to the per-day counts: (day, action, outcome, target, n).
pub async fn add_daily(tx: &mut Tx, counts: &[(String, String, String, String, i64)]) -> Result<(), sqlx::Error> {
    for chunk in counts.chunks(500) {
        on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_daily (day, action, outcome, target_id, n) ");
            q.push_values(chunk, |mut b, c| {
                b.push_bind(&c.0).push_bind(&c.1).push_bind(&c.2).push_bind(&c.3).push_bind(c.4);
            });
            q.push(" ON CONFLICT (day, action, outcome, target_id) DO UPDATE SET n = audit_daily.n + excluded.n");
            q.build().execute(&mut *conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Widens each hour's id range to include the sealed events: (hour, min id, max id).
pub async fn add_hours(tx: &mut Tx, hours: &[(String, i64, i64)]) -> Result<(), sqlx::Error> {
    let (least, greatest) = match tx {
        Tx::Postgres(_) => ("LEAST", "GREATEST"),
        Tx::Sqlite(_) => ("MIN", "MAX"),
    };
    for chunk in hours.chunks(500) {
        on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO audit_hours (hour, min_id, max_id) ");
            q.push_values(chunk, |mut b, h| {
                b.push_bind(&h.0).push_bind(h.1).push_bind(h.2);
            });
            q.push(format!(
                " ON CONFLICT (hour) DO UPDATE SET min_id = {least}(audit_hours.min_id, excluded.min_id), \
                 max_id = {greatest}(audit_hours.max_id, excluded.max_id)"
            ));
            q.build().execute(&mut *conn).await.map(|_| ())
        })?;
    }
    Ok(())
}
