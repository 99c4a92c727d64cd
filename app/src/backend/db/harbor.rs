//! Harbor provisioning's tables (migration 0012): the switch the triggers
//! read (`provisioning`), the outbox they fill (`harbor_outbox`), what the
//! portal knows of each credential's robot (`harbor_robots`), robot secrets
//! kept sealed for a while (`harbor_secrets`) and the reconciler's runs.

use crate::backend::db::{Db, Tx};
use crate::domain::credential::CredentialKind;
use crate::domain::harbor::{OutboxCause, RobotState, SecretPurpose};
use crate::domain::signing_key::Sealed;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// Turns the triggers on or off (start-up, from the configuration);
/// `true` if it was off and is now on.
pub async fn set_enabled(db: &Db, on: bool) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE provisioning SET harbor = $1 WHERE id = 1 AND harbor <> $1";
    let n = on_db!(db, |pool| sqlx::query(sql).bind(on).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(on && n == 1)
}

/// Every customer with a pull credential (live, or with a robot not yet
/// deleted) gets an outbox row: provisioning was just turned on.
pub async fn enqueue_everyone(db: &Db, cause: OutboxCause, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let sql = "INSERT INTO harbor_outbox (customer_id, cause, created_at) \
               SELECT DISTINCT COALESCE(organisation_id, owner_user_id), $1, $2 FROM registry_credentials WHERE kind = $3 AND revoked_at IS NULL";
    on_db!(db, |pool| sqlx::query(sql).bind(cause).bind(now).bind(CredentialKind::Pull).execute(pool).await.map(|r| r.rows_affected()))
}

/// Turns robots whose access changes by itself at or before `now` (a
/// window or grace end) into outbox rows, once.
pub async fn schedule_due(tx: &mut Tx, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let insert = "INSERT INTO harbor_outbox (customer_id, cause, created_at) \
                  SELECT DISTINCT customer_id, $1, $2 FROM harbor_robots WHERE next_check_at <= $2";
    let n = on_tx!(tx, |conn| sqlx::query(insert)
        .bind(OutboxCause::Schedule)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    let clear = "UPDATE harbor_robots SET next_check_at = NULL WHERE next_check_at <= $1";
    on_tx!(tx, |conn| sqlx::query(clear).bind(now).execute(conn).await.map(|_| ()))?;
    Ok(n)
}

/// Customers with outbox rows due, oldest first: `(customer, newest row id)`.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let sql = "SELECT customer_id, MAX(id) FROM harbor_outbox GROUP BY customer_id \
               HAVING MAX(CASE WHEN due_at IS NULL OR due_at <= $1 THEN 1 ELSE 0 END) = 1 \
               ORDER BY MIN(id) LIMIT $2";
    on_db!(db, |pool| sqlx::query_as(sql).bind(now).bind(limit).fetch_all(pool).await)
}

/// Delivered: the customer's rows up to `upto` go (newer ones, written
/// while the job worked, stay for the next run).
pub async fn delivered(tx: &mut Tx, customer_id: i64, upto: i64) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM harbor_outbox WHERE customer_id = $1 AND id <= $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(customer_id).bind(upto).execute(conn).await.map(|_| ()))
}

/// Not delivered: counts the attempt and sets when to try again. Returns
/// the attempts so far.
pub async fn retry_later(
    db: &Db,
    customer_id: i64,
    upto: i64,
    error: &str,
    backoff: impl Fn(i64) -> chrono::Duration,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let attempts: i64 = {
        let sql = "SELECT COALESCE(MAX(attempts), 0) FROM harbor_outbox WHERE customer_id = $1 AND id <= $2";
        on_db!(db, |pool| sqlx::query_scalar::<_, i32>(sql).bind(customer_id).bind(upto).fetch_one(pool).await)? as i64
    } + 1;
    let error: String = error.chars().take(2000).collect();
    let sql = "UPDATE harbor_outbox SET attempts = $1, last_error = $2, due_at = $3 WHERE customer_id = $4 AND id <= $5";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(attempts as i32)
        .bind(&error)
        .bind(now + backoff(attempts))
        .bind(customer_id)
        .bind(upto)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(attempts)
}

/// The outbox at a glance: rows waiting, rows that failed at least once,
/// the oldest row's time and the latest error.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct OutboxStats {
    pub pending: i64,
    pub failing: i64,
    pub oldest: Option<DateTime<Utc>>,
}

pub async fn outbox_stats(db: &Db) -> Result<(OutboxStats, Option<String>), sqlx::Error> {
    let sql = "SELECT COUNT(*) AS pending, COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS failing, \
               MIN(created_at) AS oldest FROM harbor_outbox";
    let stats: OutboxStats = on_db!(db, |pool| sqlx::query_as(sql).fetch_one(pool).await)?;
    let sql = "SELECT last_error FROM harbor_outbox WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1";
    let error: Option<String> = on_db!(db, |pool| sqlx::query_scalar(sql).fetch_optional(pool).await)?;
    Ok((stats, error))
}

/// Whether the customer has outbox rows waiting (the reconciler leaves
/// them to the delivery).
pub async fn has_pending(db: &Db, customer_id: i64) -> Result<bool, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM harbor_outbox WHERE customer_id = $1";
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(sql).bind(customer_id).fetch_one(pool).await)?;
    Ok(n > 0)
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RobotRow {
    pub credential_id: i64,
    pub customer_id: i64,
    /// The robot's name in Harbor without Harbor's prefix.
    pub name: String,
    pub harbor_id: Option<i64>,
    pub state: RobotState,
    /// Comma-separated, sorted, as last applied.
    pub projects: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub synced_at: Option<DateTime<Utc>>,
}

const ROBOT: &str = "SELECT credential_id, customer_id, name, harbor_id, state, projects, expires_at, next_check_at, synced_at \
                     FROM harbor_robots";

pub async fn insert_robot(tx: &mut Tx, credential_id: i64, customer_id: i64, name: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO harbor_robots (credential_id, customer_id, name, state, created_at) VALUES ($1, $2, $3, $4, $5)";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(credential_id)
        .bind(customer_id)
        .bind(name)
        .bind(RobotState::Pending)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ()))
}

/// Whether the credential has a robot row (inside a transaction).
pub async fn has_robot(tx: &mut Tx, credential_id: i64) -> Result<bool, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM harbor_robots WHERE credential_id = $1";
    let n: i64 = on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(credential_id).fetch_one(conn).await)?;
    Ok(n > 0)
}

pub async fn robots_of(db: &Db, customer_id: i64) -> Result<Vec<RobotRow>, sqlx::Error> {
    let sql = format!("{ROBOT} WHERE customer_id = $1 ORDER BY credential_id");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(customer_id).fetch_all(pool).await)
}

pub async fn robot(db: &Db, credential_id: i64) -> Result<Option<RobotRow>, sqlx::Error> {
    let sql = format!("{ROBOT} WHERE credential_id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(credential_id).fetch_optional(pool).await)
}

/// Every robot the portal has not deleted, for the reconciler.
pub async fn live_robots(db: &Db) -> Result<Vec<RobotRow>, sqlx::Error> {
    let sql = format!("{ROBOT} WHERE state <> $1 ORDER BY credential_id");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(RobotState::Deleted).fetch_all(pool).await)
}

/// Customers whose robots the reconciler looks at: every one with a robot
/// not deleted or a live pull credential.
pub async fn customers_to_check(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    let sql = "SELECT customer_id FROM harbor_robots WHERE state <> $1 \
               UNION SELECT COALESCE(organisation_id, owner_user_id) FROM registry_credentials WHERE kind = $2 AND revoked_at IS NULL \
               ORDER BY 1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(RobotState::Deleted).bind(CredentialKind::Pull).fetch_all(pool).await)
}

/// What was applied in Harbor.
pub struct Applied<'a> {
    pub harbor_id: Option<i64>,
    pub state: RobotState,
    pub projects: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
}

pub async fn save_robot(tx: &mut Tx, credential_id: i64, a: &Applied<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE harbor_robots SET harbor_id = $1, state = $2, projects = $3, expires_at = $4, next_check_at = $5, \
               synced_at = $6 WHERE credential_id = $7";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(a.harbor_id)
        .bind(a.state)
        .bind(a.projects)
        .bind(a.expires_at)
        .bind(a.next_check_at)
        .bind(now)
        .bind(credential_id)
        .execute(conn)
        .await
        .map(|_| ()))
}

/// Counts of robots per state (the dashboard).
pub async fn robot_counts(db: &Db) -> Result<Vec<(RobotState, i64)>, sqlx::Error> {
    let sql = "SELECT state, COUNT(*) FROM harbor_robots GROUP BY state ORDER BY state";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}

#[derive(Clone, sqlx::FromRow)]
pub struct SecretRow {
    pub credential_id: i64,
    pub purpose: SecretPurpose,
    pub kek_id: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for SecretRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRow")
            .field("credential_id", &self.credential_id)
            .field("purpose", &self.purpose)
            .field("kek_id", &self.kek_id)
            .finish_non_exhaustive()
    }
}

impl SecretRow {
    pub fn secret(&self) -> Sealed {
        Sealed { kek_id: self.kek_id.clone(), nonce: self.nonce.clone(), ciphertext: self.sealed.clone() }
    }
}

/// Keeps (or replaces) a sealed secret.
pub async fn put_secret(
    tx: &mut Tx,
    credential_id: i64,
    purpose: SecretPurpose,
    sealed: &Sealed,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO harbor_secrets (credential_id, purpose, kek_id, nonce, sealed, reason, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (credential_id, purpose) DO UPDATE SET \
               kek_id = excluded.kek_id, nonce = excluded.nonce, sealed = excluded.sealed, reason = excluded.reason, \
               created_at = excluded.created_at";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(credential_id)
        .bind(purpose)
        .bind(&sealed.kek_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(reason)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ()))
}

pub async fn secret(db: &Db, credential_id: i64, purpose: SecretPurpose) -> Result<Option<SecretRow>, sqlx::Error> {
    let sql = "SELECT credential_id, purpose, kek_id, nonce, sealed, reason, created_at FROM harbor_secrets \
               WHERE credential_id = $1 AND purpose = $2";
    on_db!(db, |pool| sqlx::query_as(sql).bind(credential_id).bind(purpose).fetch_optional(pool).await)
}

/// The reasons of secrets waiting to be revealed, by credential.
pub async fn reveals_of(db: &Db, org: i64) -> Result<Vec<(i64, Option<String>)>, sqlx::Error> {
    let sql = "SELECT s.credential_id, s.reason FROM harbor_secrets s JOIN registry_credentials c ON c.id = s.credential_id \
               WHERE COALESCE(c.organisation_id, c.owner_user_id) = $1 AND s.purpose = $2";
    on_db!(db, |pool| sqlx::query_as(sql).bind(org).bind(SecretPurpose::Reveal).fetch_all(pool).await)
}

/// Forgets a secret, only if it is still the one read (its nonce): a newer
/// one written meanwhile stays.
pub async fn forget_secret(tx: &mut Tx, credential_id: i64, purpose: SecretPurpose, nonce: &[u8]) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM harbor_secrets WHERE credential_id = $1 AND purpose = $2 AND nonce = $3";
    let n = on_tx!(tx, |conn| sqlx::query(sql)
        .bind(credential_id)
        .bind(purpose)
        .bind(nonce)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Drops a kept secret whatever it is (a rotation makes a robot's
/// unrevealed secret useless).
pub async fn drop_secret(tx: &mut Tx, credential_id: i64, purpose: SecretPurpose) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM harbor_secrets WHERE credential_id = $1 AND purpose = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(credential_id).bind(purpose).execute(conn).await.map(|_| ()))
}

/// Every kept secret (re-sealing under a new key-encryption key).
pub async fn all_secrets_in(tx: &mut Tx) -> Result<Vec<SecretRow>, sqlx::Error> {
    let sql = "SELECT credential_id, purpose, kek_id, nonce, sealed, reason, created_at FROM harbor_secrets";
    on_tx!(tx, |conn| sqlx::query_as(sql).fetch_all(conn).await)
}

pub async fn reseal_secret(tx: &mut Tx, credential_id: i64, purpose: SecretPurpose, sealed: &Sealed) -> Result<(), sqlx::Error> {
    let sql = "UPDATE harbor_secrets SET kek_id = $1, nonce = $2, sealed = $3 WHERE credential_id = $4 AND purpose = $5";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(&sealed.kek_id)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(credential_id)
        .bind(purpose)
        .execute(conn)
        .await
        .map(|_| ()))
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub checked: i64,
    pub repaired: i64,
    pub failed: i64,
    pub error: Option<String>,
}

pub async fn start_run(db: &Db, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO harbor_reconciliations (started_at) VALUES ($1) RETURNING id";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(now).fetch_one(pool).await)
}

pub async fn finish_run(db: &Db, run: &RunRow) -> Result<(), sqlx::Error> {
    let error = run.error.as_ref().map(|e| e.chars().take(2000).collect::<String>());
    let sql = "UPDATE harbor_reconciliations SET finished_at = $1, checked = $2, repaired = $3, failed = $4, error = $5 \
               WHERE id = $6";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(run.finished_at)
        .bind(run.checked)
        .bind(run.repaired)
        .bind(run.failed)
        .bind(error)
        .bind(run.id)
        .execute(pool)
        .await
        .map(|_| ()))
}

pub async fn last_run(db: &Db) -> Result<Option<RunRow>, sqlx::Error> {
    let sql = "SELECT id, started_at, finished_at, checked, repaired, failed, error FROM harbor_reconciliations \
               WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_optional(pool).await)
}

/// Sets a credential's user name (a credential made before Harbor
/// provisioning gets its robot's login name).
pub async fn rename_credential(tx: &mut Tx, credential_id: i64, username: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE registry_credentials SET username = $1 WHERE id = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(username).bind(credential_id).execute(conn).await.map(|_| ()))
}
