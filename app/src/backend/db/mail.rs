//! The `mail_outbox` and `account_links` tables (`services::mail` writes
//! and delivers; `services::recovery` follows the links).

use crate::backend::db::{Db, Tx};
use crate::domain::mail::{LinkPurpose, MailKind, MailStatus};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// A row of the outbox, without its local copy.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MailRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub kind: MailKind,
    pub user_id: i64,
    pub to_address: String,
    pub status: MailStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    /// What a notice is about.
    pub entitlement_id: Option<i64>,
    /// What an answer to an access request answers.
    pub request_id: Option<i64>,
}

const COLUMNS: &str =
    "id, created_at, kind, user_id, to_address, status, attempts, next_attempt_at, last_error, sent_at, subject, entitlement_id, request_id";

/// Queues a mail in `tx` (the transaction of the event that causes it),
/// due at once.
pub async fn enqueue(tx: &mut Tx, kind: MailKind, user_id: i64, to: &str, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO mail_outbox (created_at, kind, user_id, to_address, status, attempts, next_attempt_at) \
               VALUES ($1, $2, $3, $4, 'pending', 0, $1) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(now).bind(kind).bind(user_id).bind(to).fetch_one(conn).await)
}

/// Queues a notice about an entitlement in `tx` (its facts are read when
/// it is delivered).
pub async fn enqueue_notice(tx: &mut Tx, kind: MailKind, user_id: i64, to: &str, entitlement_id: i64, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO mail_outbox (created_at, kind, user_id, to_address, status, attempts, next_attempt_at, entitlement_id) \
               VALUES ($1, $2, $3, $4, 'pending', 0, $1, $5) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(now).bind(kind).bind(user_id).bind(to).bind(entitlement_id).fetch_one(conn).await)
}

/// Queues the answer to an access request in `tx` (what it says is read
/// when it is delivered).
pub async fn enqueue_answer(tx: &mut Tx, user_id: i64, to: &str, request_id: i64, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO mail_outbox (created_at, kind, user_id, to_address, status, attempts, next_attempt_at, request_id) \
               VALUES ($1, $2, $3, $4, 'pending', 0, $1, $5) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(now)
        .bind(MailKind::RequestAnswered)
        .bind(user_id)
        .bind(to)
        .bind(request_id)
        .fetch_one(conn)
        .await)
}

/// Up to `limit` pending mails due at `now`, oldest first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> Result<Vec<MailRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(pool).await)
}

/// Marks a mail delivered (`local_copy`: demo mode's local mailbox only).
pub async fn mark_sent(db: &Db, id: i64, subject: &str, now: DateTime<Utc>, local_copy: Option<&str>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE mail_outbox SET status = 'sent', sent_at = $1, subject = $2, local_copy = $3, \
               attempts = attempts + 1, last_error = NULL WHERE id = $4";
    on_db!(db, |pool| sqlx::query(sql).bind(now).bind(subject).bind(local_copy).bind(id).execute(pool).await.map(|_| ()))
}

/// Records a failed attempt: tried again at `retry_at`, or failed for good
/// when `retry_at` is `None`.
pub async fn mark_attempt_failed(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(500).collect();
    let status = if retry_at.is_some() { MailStatus::Pending } else { MailStatus::Failed };
    let sql = "UPDATE mail_outbox SET status = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $4";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(status)
        .bind(&error)
        .bind(retry_at.unwrap_or(now))
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))
}

/// Puts a sent or failed mail back in the queue, due at once, with fresh
/// attempts (an admin's "send again"). `None` if there is no such mail.
pub async fn requeue(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<Option<MailRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE mail_outbox SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = $1, \
         sent_at = NULL, local_copy = NULL WHERE id = $2 RETURNING {COLUMNS}"
    );
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(now).bind(id).fetch_optional(conn).await)
}

/// The newest mails, optionally of one status, newest first.
pub async fn recent(db: &Db, status: Option<MailStatus>, limit: i64) -> Result<Vec<MailRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM mail_outbox WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(status).bind(limit).fetch_all(pool).await)
}

/// How many mails are in each status (the admin page's summary).
pub async fn counts(db: &Db) -> Result<Vec<(MailStatus, i64)>, sqlx::Error> {
    let sql = "SELECT status, COUNT(*) FROM mail_outbox GROUP BY status";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}

/// A mail delivered to demo mode's local mailbox, as delivered.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LocalMail {
    pub id: i64,
    pub sent_at: DateTime<Utc>,
    pub to_address: String,
    pub subject: String,
    pub local_copy: String,
}

/// The local mailbox (demo mode without SMTP), newest first.
pub async fn local_mailbox(db: &Db, limit: i64) -> Result<Vec<LocalMail>, sqlx::Error> {
    let sql = "SELECT id, sent_at, to_address, subject, local_copy FROM mail_outbox \
               WHERE local_copy IS NOT NULL AND sent_at IS NOT NULL AND subject IS NOT NULL ORDER BY id DESC LIMIT $1";
    on_db!(db, |pool| sqlx::query_as(sql).bind(limit).fetch_all(pool).await)
}

/// A link made for a mail about to be delivered: only its hash is stored
/// (`new_email`: the address an address-change link confirms).
#[allow(clippy::too_many_arguments)]
pub async fn insert_link(
    db: &Db,
    user_id: i64,
    purpose: LinkPurpose,
    token_hash: &str,
    mail_id: i64,
    new_email: Option<&str>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO account_links (user_id, purpose, token_hash, mail_id, new_email, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(user_id)
        .bind(purpose)
        .bind(token_hash)
        .bind(mail_id)
        .bind(new_email)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|_| ()))
}

/// A link as its holder presents it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LinkRow {
    pub id: i64,
    pub user_id: i64,
    pub purpose: LinkPurpose,
    pub new_email: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub async fn find_link(db: &Db, token_hash: &str) -> Result<Option<LinkRow>, sqlx::Error> {
    let sql = "SELECT id, user_id, purpose, new_email, expires_at, used_at FROM account_links WHERE token_hash = $1";
    on_db!(db, |pool| sqlx::query_as(sql).bind(token_hash).fetch_optional(pool).await)
}

/// Uses the link in `tx` if it is still unused: `false` if another request
/// used it first (single use, also between replicas).
pub async fn use_link(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE account_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(now).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Ends every other unused link of the user with one of `purposes` (a
/// password was just set, an address confirmed).
pub async fn retire_links(tx: &mut Tx, user_id: i64, purposes: &[LinkPurpose], now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    for purpose in purposes {
        let sql = "UPDATE account_links SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL";
        n += on_tx!(tx, |conn| sqlx::query(sql).bind(now).bind(user_id).bind(*purpose).execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(n)
}
