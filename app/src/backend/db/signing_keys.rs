//! `signing_keys` and `registry_secrets` (migration 0008): the registry's
//! token-signing keys and shared secrets, sealed (the rows hold ciphertext
//! only; `domain::signing_key::Sealed`). The rules are
//! `services::signing_keys`.

use crate::backend::db::{Db, Tx};
use crate::domain::signing_key::{KeyState, Sealed};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub state: KeyState,
    pub kek_id: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
    pub cert_pem: String,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    pub fn sealed(&self) -> Sealed {
        Sealed { kek_id: self.kek_id.clone(), nonce: self.nonce.clone(), ciphertext: self.sealed.clone() }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SecretRow {
    pub name: String,
    pub kek_id: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl SecretRow {
    pub fn sealed(&self) -> Sealed {
        Sealed { kek_id: self.kek_id.clone(), nonce: self.nonce.clone(), ciphertext: self.sealed.clone() }
    }
}

const COLUMNS: &str = "kid, state, kek_id, nonce, sealed, cert_pem, created_at, activated_at, retired_at";
const SECRET_COLUMNS: &str = "name, kek_id, nonce, sealed, created_at";

/// Serialises every change to the keys: on PostgreSQL a transaction-level
/// advisory lock (so replicas starting together, or two operators, queue);
/// SQLite transactions already hold the write lock (`Db::begin`).
pub async fn lock(tx: &mut Tx) -> Result<(), sqlx::Error> {
    match tx {
        Tx::Sqlite(_) => Ok(()),
        Tx::Postgres(t) => sqlx::query("SELECT pg_advisory_xact_lock(5005120408)").execute(&mut **t).await.map(|_| ()),
    }
}

/// Every key, oldest first.
pub async fn list(db: &Db) -> Result<Vec<KeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM signing_keys ORDER BY created_at, kid");
    on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
}

/// Every key, oldest first, in `tx`.
pub async fn list_in(tx: &mut Tx) -> Result<Vec<KeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM signing_keys ORDER BY created_at, kid");
    on_tx!(tx, |conn| sqlx::query_as(&sql).fetch_all(conn).await)
}

/// The kid of the key that signs: the one-row read every replica polls.
pub async fn active_kid(db: &Db) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT kid FROM signing_keys WHERE state = $1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(KeyState::Active).fetch_optional(pool).await)
}

/// The key that signs.
pub async fn active(db: &Db) -> Result<Option<KeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM signing_keys WHERE state = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(KeyState::Active).fetch_optional(pool).await)
}

pub async fn insert(tx: &mut Tx, k: &KeyRow) -> Result<(), sqlx::Error> {
    let sql = format!("INSERT INTO signing_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    on_tx!(tx, |conn| sqlx::query(&sql)
        .bind(&k.kid)
        .bind(k.state)
        .bind(&k.kek_id)
        .bind(&k.nonce)
        .bind(&k.sealed)
        .bind(&k.cert_pem)
        .bind(k.created_at)
        .bind(k.activated_at)
        .bind(k.retired_at)
        .execute(conn)
        .await
        .map(|_| ()))
}

/// The signing key stops signing (it stays in the bundle); its kid.
pub async fn demote_active(tx: &mut Tx) -> Result<Option<String>, sqlx::Error> {
    let sql = "UPDATE signing_keys SET state = $1 WHERE state = $2 RETURNING kid";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(KeyState::Pending).bind(KeyState::Active).fetch_optional(conn).await)
}

/// A pending key becomes the signing key (`to` = active) or leaves the
/// bundle (retired), its `activated_at`/`retired_at` set to `at`; `false`
/// if `kid` is not pending.
pub async fn leave_pending(tx: &mut Tx, kid: &str, to: KeyState, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let column = match to {
        KeyState::Active => "activated_at",
        KeyState::Retired => "retired_at",
        KeyState::Pending => return Ok(false),
    };
    let sql = format!("UPDATE signing_keys SET state = $1, {column} = $2 WHERE kid = $3 AND state = $4");
    on_tx!(tx, |conn| sqlx::query(&sql)
        .bind(to)
        .bind(at)
        .bind(kid)
        .bind(KeyState::Pending)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Replaces a key's seal (a re-wrap under another key-encryption key).
pub async fn reseal(tx: &mut Tx, kid: &str, s: &Sealed) -> Result<(), sqlx::Error> {
    let sql = "UPDATE signing_keys SET kek_id = $1, nonce = $2, sealed = $3 WHERE kid = $4";
    on_tx!(tx, |conn| sqlx::query(sql).bind(&s.kek_id).bind(&s.nonce).bind(&s.ciphertext).bind(kid).execute(conn).await.map(|_| ()))
}

pub async fn secret(db: &Db, name: &str) -> Result<Option<SecretRow>, sqlx::Error> {
    let sql = format!("SELECT {SECRET_COLUMNS} FROM registry_secrets WHERE name = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(name).fetch_optional(pool).await)
}

/// How many keys and secrets each key-encryption key sealed: (KEK id, count).
pub async fn kek_counts(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = "SELECT kek_id, COUNT(*) FROM (SELECT kek_id FROM signing_keys UNION ALL SELECT kek_id FROM registry_secrets) s \
               GROUP BY kek_id ORDER BY kek_id";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}

pub async fn secrets_in(tx: &mut Tx) -> Result<Vec<SecretRow>, sqlx::Error> {
    let sql = format!("SELECT {SECRET_COLUMNS} FROM registry_secrets ORDER BY name");
    on_tx!(tx, |conn| sqlx::query_as(&sql).fetch_all(conn).await)
}

/// Stores a secret unless one of that name exists; `true` if stored.
pub async fn insert_secret(tx: &mut Tx, name: &str, s: &Sealed, at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO registry_secrets (name, kek_id, nonce, sealed, created_at) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (name) DO NOTHING";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(name)
        .bind(&s.kek_id)
        .bind(&s.nonce)
        .bind(&s.ciphertext)
        .bind(at)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn reseal_secret(tx: &mut Tx, name: &str, s: &Sealed) -> Result<(), sqlx::Error> {
    let sql = "UPDATE registry_secrets SET kek_id = $1, nonce = $2, sealed = $3 WHERE name = $4";
    on_tx!(tx, |conn| sqlx::query(sql).bind(&s.kek_id).bind(&s.nonce).bind(&s.ciphertext).bind(name).execute(conn).await.map(|_| ()))
}
