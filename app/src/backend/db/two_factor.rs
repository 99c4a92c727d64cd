//! The `two_factor` and `recovery_codes` tables.

use crate::backend::db::{Db, Tx};
use crate::domain::signing_key::Sealed;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TwoFactorRow {
    pub user_id: i64,
    pub kek_id: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_step: i64,
}

impl TwoFactorRow {
    pub fn secret(&self) -> Sealed {
        Sealed { kek_id: self.kek_id.clone(), nonce: self.nonce.clone(), ciphertext: self.sealed.clone() }
    }
}

pub async fn find(db: &Db, user_id: i64) -> Result<Option<TwoFactorRow>, sqlx::Error> {
    let sql = "SELECT user_id, kek_id, nonce, sealed, enabled_at, last_step FROM two_factor WHERE user_id = $1";
    on_db!(db, |pool| sqlx::query_as(sql).bind(user_id).fetch_optional(pool).await)
}

/// Starts (or restarts) an enrolment: the secret, not yet enabled.
pub async fn begin(db: &Db, user_id: i64, secret: &Sealed, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO two_factor (user_id, kek_id, nonce, sealed, created_at, enabled_at, last_step) \
               VALUES ($1, $2, $3, $4, $5, NULL, 0) \
               ON CONFLICT (user_id) DO UPDATE SET kek_id = excluded.kek_id, nonce = excluded.nonce, sealed = excluded.sealed, \
               created_at = excluded.created_at, enabled_at = NULL, last_step = 0 WHERE two_factor.enabled_at IS NULL";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(user_id)
        .bind(&secret.kek_id)
        .bind(&secret.nonce)
        .bind(&secret.ciphertext)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))
}

/// Accepts time step `step` for the account if it is later than the last
/// one accepted (one conditional UPDATE: a code works once, also between
/// replicas); also enables a pending enrolment when `enable`.
pub async fn accept_step(tx: &mut Tx, user_id: i64, step: i64, enable: Option<DateTime<Utc>>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE two_factor SET last_step = $1, enabled_at = COALESCE(enabled_at, $2) WHERE user_id = $3 AND last_step < $1";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(step).bind(enable).bind(user_id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Replaces the account's recovery codes.
pub async fn set_recovery_codes(tx: &mut Tx, user_id: i64, hashes: &[String]) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await.map(|_| ()))?;
    for h in hashes {
        let sql = "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)";
        on_tx!(tx, |conn| sqlx::query(sql).bind(user_id).bind(h).execute(conn).await.map(|_| ()))?;
    }
    Ok(())
}

/// Uses a recovery code once: `false` if unknown or used.
pub async fn use_recovery_code(tx: &mut Tx, user_id: i64, hash: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(now).bind(user_id).bind(hash).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Recovery codes left.
pub async fn recovery_codes_left(db: &Db, user_id: i64) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(user_id).fetch_one(pool).await)
}

/// Turns two-factor sign-in off for the account (its secret and codes go).
pub async fn remove(tx: &mut Tx, user_id: i64) -> Result<bool, sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await.map(|_| ()))?;
    let n = on_tx!(tx, |conn| sqlx::query("DELETE FROM two_factor WHERE user_id = $1").bind(user_id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Every enrolment, in `tx` (re-sealing under a new key-encryption key).
pub async fn all_in(tx: &mut Tx) -> Result<Vec<TwoFactorRow>, sqlx::Error> {
    let sql = "SELECT user_id, kek_id, nonce, sealed, enabled_at, last_step FROM two_factor ORDER BY user_id";
    on_tx!(tx, |conn| sqlx::query_as(sql).fetch_all(conn).await)
}

/// Stores a secret re-sealed under another key-encryption key.
pub async fn reseal(tx: &mut Tx, user_id: i64, sealed: &Sealed) -> Result<(), sqlx::Error> {
    let sql = "UPDATE two_factor SET kek_id = $1, nonce = $2, sealed = $3 WHERE user_id = $4";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(&sealed.kek_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(user_id)
        .execute(conn)
        .await
        .map(|_| ()))
}
