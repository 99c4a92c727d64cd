//! Browser sessions: tower-sessions with its sqlx store in the portal's own
//! database. `SessionStore` is implemented once over both backends so the
//! session layer has one concrete type.

use crate::backend::db::Db;
use async_trait::async_trait;
use rand::{distributions::Alphanumeric, Rng};
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The session key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "uid";

/// The session key holding the account's `session_epoch` at log-in: a
/// session from before a password reset or change is over.
pub const EPOCH_KEY: &str = "epoch";

/// The session key holding its `user_sessions` id: a session whose row is
/// gone is over.
pub const SID_KEY: &str = "sid";

/// A random alphanumeric string from the OS CSPRNG (≈5.95 bits a character).
pub fn random_token(chars: usize) -> String {
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(chars).map(char::from).collect()
}

#[derive(Clone, Debug)]
pub enum PortalSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl PortalSessionStore {
    /// Creates the store's table if missing.
    pub async fn new(db: &Db) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Db::Sqlite(pool) => {
                let s = SqliteStore::new(pool.clone());
                s.migrate().await?;
                Self::Sqlite(s)
            }
            Db::Postgres(pool) => {
                let s = PostgresStore::new(pool.clone());
                s.migrate().await?;
                Self::Postgres(s)
            }
        })
    }
}

#[async_trait]
impl SessionStore for PortalSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for PortalSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}
