//! The repository layer: the only place SQL lives. One build speaks SQLite and
//! PostgreSQL; the URL decides. Queries are written once with `$1`-style
//! placeholders (both drivers accept them) and monomorphised for each backend
//! by the `on_db!`/`on_tx!` macros, so there is no `Any` driver and no lost
//! types. Row structs are never `Serialize`.

pub mod api_keys;
pub mod audit;
pub mod audit_chain;
pub mod audit_search;
pub mod bounded;
pub mod credentials;
pub mod dashboard;
pub mod entitlements;
pub mod harbor;
pub mod jobs;
pub mod mail;
pub mod notices;
pub mod orders;
pub mod organisations;
mod password_hash;
pub mod products;
pub mod pulls;
pub mod rate_limits;
pub mod sessions;
pub mod registry;
pub mod releases;
pub mod requests;
pub mod signing_keys;
pub mod two_factor;
pub mod users;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, Postgres, Sqlite, SqlitePool, Transaction,
};
use std::{str::FromStr, time::Duration};

pub use password_hash::PasswordHash;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A connection pool to whichever backend the URL named.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on either backend. Dropped without `commit`, it rolls back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the concrete pool of `$db`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::backend::db::Db::Sqlite($conn) => $body,
            $crate::backend::db::Db::Postgres($conn) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the concrete connection inside `$tx`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::backend::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::backend::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Which backend a URL names, or why it names none.
pub fn backend_of(url: &str) -> Result<&'static str, String> {
    if url.starts_with("sqlite:") {
        Ok("sqlite")
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok("postgres")
    } else {
        Err("must start with sqlite: or postgres://".into())
    }
}

impl Db {
    /// Opens a pool. SQLite: the file is created if missing, WAL journal,
    /// foreign keys enforced, a busy timeout instead of instant lock errors.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        match backend_of(url).map_err(|m| sqlx::Error::Configuration(m.into()))? {
            "sqlite" => {
                ensure_sqlite_dir(url).map_err(sqlx::Error::Io)?;
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
                Ok(Db::Sqlite(pool))
            }
            _ => {
                let opts = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Applies the embedded migrations for this backend (idempotent), then
    /// indexes for text search the audit events that have no search row yet
    /// (those written before migration 0006; `audit_search::index_pending`).
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        audit_search::index_pending(self).await.map_err(sqlx::migrate::MigrateError::Execute)?;
        Ok(())
    }

    /// Opens a write transaction. On SQLite it is `BEGIN IMMEDIATE`: a
    /// deferred transaction that reads and then writes fails at once with
    /// SQLITE_BUSY_SNAPSHOT if another connection committed in between (WAL),
    /// which the busy timeout cannot help; taking the write lock up front
    /// makes writers queue instead.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// The pool's open and idle connections (metrics).
    pub fn pool_use(&self) -> (u32, usize) {
        on_db!(self, |pool| (pool.size(), pool.num_idle()))
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }
}

/// Counts the write transactions this process has committed (any database,
/// any app in the process). A cache that re-validates against the database
/// only when this moved (or after a time bound, for writes by other
/// processes) can skip the database on its hot path without ever missing a
/// change made here. Shared by every app in a process: it can only cause an
/// extra check, never a missed one.
static LOCAL_COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// See `LOCAL_COMMITS`.
pub fn local_commits() -> u64 {
    LOCAL_COMMITS.load(std::sync::atomic::Ordering::Acquire)
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let done = match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        };
        LOCAL_COMMITS.fetch_add(1, std::sync::atomic::Ordering::Release);
        done
    }
}

/// Creates the folder of a SQLite file URL (SQLite creates the file, not
/// its folder), so the default `sqlite://data/portcullis.db` works anywhere.
fn ensure_sqlite_dir(url: &str) -> std::io::Result<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') || path.starts_with("file:") {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// True when `err` is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Whether `e` is the database refusing the statement's *data* (a value it
/// cannot store, a constraint, a row too big), which retrying cannot cure,
/// as opposed to the connection, a lock or a restart, which it can.
/// PostgreSQL: SQLSTATE classes 22 (data exception, e.g. NUL in text), 23
/// (integrity) and 54 (program limit); SQLite: TOOBIG, CONSTRAINT, MISMATCH.
pub fn is_bad_data(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        return ["22", "23", "54"].iter().any(|class| code.starts_with(class));
    }
    // SQLite's extended codes keep the primary code in the low byte.
    matches!(code.parse::<i64>().map(|c| c & 0xff), Ok(18..=20))
}
