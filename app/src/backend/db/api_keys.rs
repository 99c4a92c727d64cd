//! `api_keys`: the secret is stored only as its SHA-256.

use crate::backend::db::{Db, Tx};
use crate::domain::Role;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub key_id: String,
    /// Hex SHA-256 of the secret part; never shown.
    pub secret_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, role, key_id, secret_hash, created_by, created_at, last_used_at, revoked_at";

pub async fn insert(
    tx: &mut Tx,
    name: &str,
    role: &str,
    key_id: &str,
    secret_hash: &str,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO api_keys (name, role, key_id, secret_hash, created_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(name)
        .bind(role)
        .bind(key_id)
        .bind(secret_hash)
        .bind(created_by)
        .bind(now)
        .fetch_one(conn)
        .await)
}

pub async fn find_by_key_id(db: &Db, key_id: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(key_id).fetch_optional(pool).await)
}

pub async fn touch(db: &Db, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";
    on_db!(db, |pool| sqlx::query(sql).bind(now).bind(id).execute(pool).await.map(|_| ()))
}

/// Returns the key if it existed and was not yet revoked.
pub async fn revoke(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let sql = format!("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING {COLUMNS}");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(now).bind(id).fetch_optional(conn).await)
}

pub async fn list(db: &Db) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY id DESC");
    on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
}
