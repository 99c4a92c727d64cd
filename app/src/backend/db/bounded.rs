//! A connection whose statements stop at a deadline, for the auditor's
//! queries: whatever filter a caller sends, a read ends within its time
//! limit and frees its connection, instead of keeping a core busy.
//!
//! PostgreSQL: a read-only transaction with `SET LOCAL statement_timeout`
//! (the server cancels the statement, SQLSTATE 57014) and custom plans for
//! every statement (see `stop_after`). SQLite: a progress handler that
//! interrupts the statement once the deadline has passed (SQLITE_INTERRUPT);
//! dropping a future alone would leave SQLite's worker thread running the
//! statement to its end. The handler runs between virtual-machine steps, so
//! a single step that runs long inside SQLite (an FTS5 index probe) ends
//! before the interruption is seen.

use sqlx::{pool::PoolConnection, Postgres, Sqlite, Transaction};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::Db;

/// SQLite virtual-machine steps between two looks at the clock (a look is
/// a few nanoseconds; 10,000 steps are well under a millisecond).
const PROGRESS_STEPS: i32 = 10_000;

/// A read that has run past its limit: the caller should narrow it.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the query ran longer than its limit of {0:?}")]
    TooBroad(Duration),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub(crate) enum Conn {
    Sqlite(Option<PoolConnection<Sqlite>>),
    Postgres(Option<Transaction<'static, Postgres>>),
}

/// One bounded session: open with `open`, run statements through `conn`
/// (see `on_bounded!`), end with `finish`.
pub(crate) struct Bounded {
    pub(crate) conn: Conn,
    started: Instant,
    limit: Duration,
    /// SQLite: nanoseconds after `started` at which the progress handler
    /// interrupts the running statement.
    stop_at: Arc<AtomicU64>,
}

/// Runs `$body` with `$conn` bound to the concrete connection of a `Bounded`.
macro_rules! on_bounded {
    ($b:expr, |$conn:ident| $body:expr) => {
        match &mut $b.conn {
            $crate::backend::db::bounded::Conn::Sqlite(Some(c)) => {
                let $conn = &mut **c;
                $body
            }
            $crate::backend::db::bounded::Conn::Postgres(Some(t)) => {
                let $conn = &mut **t;
                $body
            }
            _ => unreachable!("a Bounded holds its connection until finish"),
        }
    };
}
pub(crate) use on_bounded;

impl Bounded {
    pub(crate) async fn open(db: &Db, limit: Duration) -> Result<Self, sqlx::Error> {
        let started = Instant::now();
        let stop_at = Arc::new(AtomicU64::new(nanos(limit)));
        let conn = match db {
            Db::Sqlite(pool) => {
                let mut c = pool.acquire().await?;
                let stop = stop_at.clone();
                c.lock_handle()
                    .await?
                    .set_progress_handler(PROGRESS_STEPS, move || nanos(started.elapsed()) < stop.load(Ordering::Relaxed));
                Conn::Sqlite(Some(c))
            }
            Db::Postgres(pool) => Conn::Postgres(Some(pool.begin_with("BEGIN READ ONLY").await?)),
        };
        let mut b = Self { conn, started, limit, stop_at };
        b.stop_after(limit).await?;
        Ok(b)
    }

    /// Moves the deadline to `at` after the start (never past the limit);
    /// the statements after this call stop there.
    pub(crate) async fn stop_after(&mut self, at: Duration) -> Result<(), sqlx::Error> {
        let at = at.min(self.limit);
        self.stop_at.store(nanos(at), Ordering::Relaxed);
        if let Conn::Postgres(Some(t)) = &mut self.conn {
            // At least 1 ms: 0 would mean no limit at all. Custom plans:
            // after five runs of a prepared statement PostgreSQL may switch
            // to a generic plan, which cannot see how rare a searched text
            // is and walks the whole log for one it never saw.
            let ms = at.saturating_sub(self.started.elapsed()).as_millis().max(1);
            let sql = "SELECT set_config('statement_timeout', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true)";
            sqlx::query(sql).bind(format!("{ms}ms")).execute(&mut **t).await?;
        }
        Ok(())
    }

    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Turns a statement's error into `TooBroad` when it is the time limit
    /// speaking (SQLITE_INTERRUPT, or PostgreSQL's query_canceled).
    pub(crate) fn classify(&self, err: sqlx::Error) -> QueryError {
        let code = match &err {
            sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()),
            _ => None,
        };
        let stopped = match self.conn {
            Conn::Sqlite(_) => code.as_deref() == Some("9"),
            Conn::Postgres(_) => code.as_deref() == Some("57014"),
        };
        if stopped {
            QueryError::TooBroad(self.limit)
        } else {
            QueryError::Db(err)
        }
    }

    /// Hands the connection back clean: the handler removed (SQLite), the
    /// read-only transaction ended (PostgreSQL).
    pub(crate) async fn finish(mut self) {
        match &mut self.conn {
            Conn::Sqlite(c) => {
                if let Some(mut c) = c.take() {
                    let removed = match c.lock_handle().await {
                        Ok(mut h) => {
                            h.remove_progress_handler();
                            true
                        }
                        Err(_) => false,
                    };
                    if !removed {
                        // The worker is gone: never reuse the connection.
                        drop(c.detach());
                    }
                }
            }
            Conn::Postgres(t) => {
                if let Some(t) = t.take() {
                    let _ = t.rollback().await;
                }
            }
        }
    }
}

impl Drop for Bounded {
    /// Dropped before `finish` (the request went away mid-statement): a
    /// SQLite connection leaves the pool for good, so the progress handler,
    /// which stops the orphaned statement at the deadline, can never
    /// interrupt another caller's statement. A PostgreSQL transaction rolls
    /// back as usual; the server ends the statement at its timeout.
    fn drop(&mut self) {
        if let Conn::Sqlite(c) = &mut self.conn {
            if let Some(c) = c.take() {
                drop(c.detach());
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
