//! The `audit_search` table (migration 0006): each event's search text
//! (`domain::audit_search::search_text`), written in the event's own
//! transaction by `db::audit::insert`/`insert_many`, deleted with the event
//! by retention, and matched by `db::audit::search` for `Filter::text`.
//!
//! SQLite keeps it in an FTS5 trigram table (rowid = event id) and matches
//! `body GLOB '*q*'`; PostgreSQL in a plain table with a pg_trgm GIN index
//! and matches `body LIKE '%q%'` (`strpos` for queries of 1–2 characters,
//! which no trigram can narrow). Both are exact, case-sensitive substring
//! tests on text that is already lowercased, so the backends agree.
//!
//! Events written before the table existed are indexed by `index_pending`,
//! which `Db::migrate` runs before the portal serves: in batches of id
//! ranges, each in a transaction that holds the back-fill's progress row
//! (SQLite's write lock; `FOR UPDATE` on PostgreSQL), skips events that
//! already have their row and moves the progress mark. A crash loses at most
//! the batch under way, which the next run redoes; two replicas take turns.

use super::{Db, Tx};
use crate::{
    domain::audit_search::{search_query, search_text, Searchable},
    on_tx,
};
use sqlx::types::Json;
use std::time::Instant;

/// Event ids per back-fill transaction. SQLite's are larger: FTS5 writes a
/// segment per transaction and merges them as they pile up, so fewer,
/// larger transactions index a big log a third faster.
const BATCH_PG: i64 = 5_000;
const BATCH_SQLITE: i64 = 50_000;

/// Back-filled rows after which SQLite's FTS5 index is merged (`optimize`).
const OPTIMIZE_AFTER: u64 = 100_000;

/// The trigram index of PostgreSQL's search text, built by `index_pending`.
const PG_INDEX: &str = "audit_search_body_trgm";

/// The column holding the event id: FTS5 tables key rows by `rowid`.
pub(crate) fn key_column(postgres: bool) -> &'static str {
    if postgres {
        "audit_search.event_id"
    } else {
        "audit_search.rowid"
    }
}

/// Writes the search rows `(event id, search text)` inside the events' transaction.
pub async fn insert_rows(tx: &mut Tx, rows: &[(i64, String)]) -> Result<(), sqlx::Error> {
    let cols = match tx {
        Tx::Sqlite(_) => "INSERT INTO audit_search (rowid, body) ",
        Tx::Postgres(_) => "INSERT INTO audit_search (event_id, body) ",
    };
    // 2 binds a row: far below either backend's bind limit.
    for chunk in rows.chunks(1_000) {
        on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new(cols);
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.0).push_bind(r.1.as_str());
            });
            q.build().execute(&mut *conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Deletes the search rows of events up to `id` (retention's cut).
pub async fn delete_upto(tx: &mut Tx, id: i64) -> Result<u64, sqlx::Error> {
    let sql = match tx {
        Tx::Sqlite(_) => "DELETE FROM audit_search WHERE rowid <= $1",
        Tx::Postgres(_) => "DELETE FROM audit_search WHERE event_id <= $1",
    };
    on_tx!(tx, |conn| sqlx::query(sql).bind(id).execute(conn).await.map(|r| r.rows_affected()))
}

/// The GLOB pattern (SQLite) matching text that contains `q` (lowercased
/// here): `*q*`, with `*`, `?` and `[` in q made literal as `[*]`, `[?]`, `[[]`.
pub(crate) fn glob_pattern(q: &str) -> String {
    let mut p = String::from("*");
    for c in search_query(q).chars() {
        match c {
            '*' | '?' | '[' => {
                p.push('[');
                p.push(c);
                p.push(']');
            }
            c => p.push(c),
        }
    }
    p.push('*');
    p
}

/// What PostgreSQL's condition on `body` binds, and whether it is a LIKE
/// pattern (`%q%`, escaped with PostgreSQL's default escape `\`, which
/// pg_trgm's index reads) or, below three characters, the plain text for
/// `strpos` (no trigram to narrow by, and a LIKE would make the planner
/// read the whole GIN index).
pub(crate) fn pg_match(q: &str) -> (bool, String) {
    let q = search_query(q);
    if q.chars().count() < 3 {
        return (false, q);
    }
    (true, format!("%{}%", super::audit::like_escape(&q)))
}

#[derive(sqlx::FromRow)]
struct Source {
    id: i64,
    actor: String,
    target_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    details: Json<serde_json::Value>,
}

/// Indexes every event up to the current largest id that has no search row
/// yet (see the module doc); then, on PostgreSQL, builds the trigram index
/// if it is missing. Idempotent and resumable; returns how many events it
/// indexed. Run by `Db::migrate`; the audit benchmark calls it directly
/// after filling the log with SQL.
pub async fn index_pending(db: &Db) -> Result<u64, sqlx::Error> {
    let started = Instant::now();
    let target = super::audit::max_id(db).await?;
    let postgres = matches!(db, Db::Postgres(_));
    let missing = format!(
        "SELECT id, actor, target_id, ip, user_agent, details FROM audit_events WHERE id > $1 AND id <= $2 \
         AND NOT EXISTS (SELECT 1 FROM audit_search WHERE {} = audit_events.id) ORDER BY id",
        key_column(postgres)
    );
    let (mut indexed, mut batches) = (0u64, 0u64);
    loop {
        let mut tx = db.begin().await?;
        let done = lock_progress(&mut tx).await?;
        if done >= target {
            tx.commit().await?;
            break;
        }
        let end = (done + if postgres { BATCH_PG } else { BATCH_SQLITE }).min(target);
        let rows: Vec<Source> = on_tx!(&mut tx, |conn| sqlx::query_as(&missing).bind(done).bind(end).fetch_all(conn).await)?;
        let texts: Vec<(i64, String)> = rows
            .iter()
            .map(|r| {
                let text = search_text(Searchable {
                    actor: &r.actor,
                    target_id: r.target_id.as_deref(),
                    ip: r.ip.as_deref(),
                    user_agent: r.user_agent.as_deref(),
                    details: &r.details.0,
                });
                (r.id, text)
            })
            .collect();
        insert_rows(&mut tx, &texts).await?;
        let mark = "UPDATE audit_search_backfill SET done_upto = $1 WHERE id = 1";
        on_tx!(&mut tx, |conn| sqlx::query(mark).bind(end).execute(conn).await.map(|_| ()))?;
        tx.commit().await?;
        indexed += texts.len() as u64;
        batches += 1;
        if batches % 100 == 0 {
            tracing::info!(upto = end, of = target, indexed, "indexing audit events for text search");
        }
    }
    match db {
        Db::Postgres(_) => build_pg_index(db, indexed > 0).await?,
        Db::Sqlite(pool) if indexed >= OPTIMIZE_AFTER => {
            // A back-fill leaves the FTS5 index in many small segments that
            // every search reads; merging them makes searches several times
            // faster (it rewrites the whole index, so only after a big one).
            sqlx::query("INSERT INTO audit_search (audit_search) VALUES ('optimize')").execute(pool).await?;
        }
        Db::Sqlite(_) => {}
    }
    if indexed > 0 {
        tracing::info!(indexed, secs = started.elapsed().as_secs_f64(), "indexed audit events for text search");
    }
    Ok(indexed)
}

/// The back-fill's progress, locked for this transaction.
async fn lock_progress(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    let sql = match tx {
        Tx::Sqlite(_) => "SELECT done_upto FROM audit_search_backfill WHERE id = 1",
        Tx::Postgres(_) => "SELECT done_upto FROM audit_search_backfill WHERE id = 1 FOR UPDATE",
    };
    on_tx!(tx, |conn| sqlx::query_scalar(sql).fetch_one(conn).await)
}

/// Builds PostgreSQL's trigram index when missing (once, after the first
/// back-fill), holding the progress row so replicas do not race; after a
/// back-fill, merges the index's pending list and refreshes the planner's
/// statistics (they tell it how common a text is, hence whether to walk ids
/// newest first or ask the index).
async fn build_pg_index(db: &Db, filled: bool) -> Result<(), sqlx::Error> {
    let Db::Postgres(pool) = db else { return Ok(()) };
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT done_upto FROM audit_search_backfill WHERE id = 1 FOR UPDATE").execute(&mut *tx).await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(PG_INDEX).fetch_one(&mut *tx).await?;
    if !exists {
        sqlx::query("SET LOCAL maintenance_work_mem = '256MB'").execute(&mut *tx).await?;
        sqlx::query(&format!("CREATE INDEX {PG_INDEX} ON audit_search USING gin (body gin_trgm_ops)")).execute(&mut *tx).await?;
    }
    if filled && exists {
        // Rows added to an existing index wait in its pending list, which
        // every search reads in full: merge them into the index now.
        sqlx::query("SELECT gin_clean_pending_list($1::regclass)").bind(PG_INDEX).execute(&mut *tx).await?;
    }
    if filled || !exists {
        sqlx::query("ANALYZE audit_search").execute(&mut *tx).await?;
    }
    tx.commit().await
}
