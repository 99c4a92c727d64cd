//! The `notices` and `digests` tables and what the notices read
//! (`services::notices` decides and sends).

use crate::backend::db::{Db, Tx};
use crate::domain::mail::NoticeKind;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// An entitlement a notice may be about, with its owner.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Candidate {
    pub entitlement_id: i64,
    pub customer_id: i64,
    pub email: String,
    pub opted_out: bool,
    pub disabled: bool,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    /// A subscription that renews by itself (its end moves with each period).
    pub renews: bool,
}

/// Whether entitlement `e` belongs to a subscription that renews by itself
/// (the one rule both the notices and the digest leave such ends out by).
macro_rules! renews {
    () => {
        "EXISTS (SELECT 1 FROM orders o WHERE o.entitlement_id = e.id AND o.mode = 'subscription' \
         AND o.status = 'active' AND NOT o.cancel_at_period_end)"
    };
}

const CANDIDATE: &str = concat!(
    "SELECT e.id AS entitlement_id, e.customer_id, u.email, u.notices_opt_out AS opted_out, u.disabled, \
     e.ends_at, e.grace_until, ",
    renews!(),
    " AS renews FROM entitlements e JOIN users u ON u.id = e.customer_id WHERE e.status = 'active'"
);

/// Active entitlements ending after `from` and by `to`.
pub async fn ending_between(db: &Db, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Candidate>, sqlx::Error> {
    let sql = format!("{CANDIDATE} AND e.ends_at IS NOT NULL AND e.ends_at > $1 AND e.ends_at <= $2 ORDER BY e.ends_at, e.id");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(from).bind(to).fetch_all(pool).await)
}

/// Active entitlements in a grace period whose end is after `since`.
pub async fn in_grace(db: &Db, since: DateTime<Utc>) -> Result<Vec<Candidate>, sqlx::Error> {
    let sql = format!("{CANDIDATE} AND e.grace_until IS NOT NULL AND e.grace_until > $1 ORDER BY e.grace_until, e.id");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(since).fetch_all(pool).await)
}

/// Records a notice in `tx`; `false` if it was recorded before (by this or
/// another replica): the caller rolls back what it queued with it.
pub async fn record(
    tx: &mut Tx,
    entitlement_id: i64,
    kind: NoticeKind,
    occasion: &str,
    mail_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO notices (entitlement_id, kind, occasion, mail_id, created_at) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (entitlement_id, kind, occasion) DO NOTHING";
    let n = on_tx!(tx, |conn| sqlx::query(sql)
        .bind(entitlement_id)
        .bind(kind)
        .bind(occasion)
        .bind(mail_id)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records the digest of `day`; `false` if it was sent before.
pub async fn record_digest(tx: &mut Tx, day: &str, mails: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO digests (day, created_at, mails) VALUES ($1, $2, $3) ON CONFLICT (day) DO NOTHING";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(day).bind(now).bind(mails).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The enabled admins who take notices: (id, address).
pub async fn digest_recipients(db: &Db) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let sql = "SELECT id, email FROM users WHERE role = 'admin' AND NOT disabled AND NOT notices_opt_out ORDER BY id";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}

/// What a notice mail says about its entitlement, read when it is sent.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Facts {
    pub product: String,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
}

pub async fn facts(db: &Db, entitlement_id: i64) -> Result<Option<Facts>, sqlx::Error> {
    let sql = "SELECT p.name AS product, e.ends_at, e.grace_until FROM entitlements e JOIN products p ON p.id = e.product_id WHERE e.id = $1";
    on_db!(db, |pool| sqlx::query_as(sql).bind(entitlement_id).fetch_optional(pool).await)
}

/// One line of the admins' digest.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DigestLine {
    pub customer: String,
    pub product: String,
    pub ends_at: DateTime<Utc>,
}

/// Access that ends for good between `from` and `to` (renewing
/// subscriptions left out), soonest first, at most `limit`.
pub async fn digest_lines(db: &Db, from: DateTime<Utc>, to: DateTime<Utc>, limit: i64) -> Result<Vec<DigestLine>, sqlx::Error> {
    let sql = concat!(
        "SELECT u.email AS customer, p.name AS product, e.ends_at FROM entitlements e \
         JOIN users u ON u.id = e.customer_id JOIN products p ON p.id = e.product_id \
         WHERE e.status = 'active' AND e.ends_at IS NOT NULL AND e.ends_at > $1 AND e.ends_at <= $2 AND NOT ",
        renews!(),
        " ORDER BY e.ends_at, e.id LIMIT $3"
    );
    on_db!(db, |pool| sqlx::query_as(sql).bind(from).bind(to).bind(limit).fetch_all(pool).await)
}

/// The customers (organisations) whose access ends for good between
/// `from` and `to` (the digest's rule), and how many such entitlements.
pub async fn ending_customers(db: &Db, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
    let sql = concat!(
        "SELECT e.customer_id FROM entitlements e \
         WHERE e.status = 'active' AND e.ends_at IS NOT NULL AND e.ends_at > $1 AND e.ends_at <= $2 AND NOT ",
        renews!(),
    );
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(from).bind(to).fetch_all(pool).await)
}

/// The account's one-click unsubscribe token, made on first use.
pub async fn unsubscribe_token(db: &Db, user_id: i64, fresh: &str) -> Result<String, sqlx::Error> {
    let set = "UPDATE users SET unsubscribe_token = $1 WHERE id = $2 AND unsubscribe_token IS NULL";
    on_db!(db, |pool| sqlx::query(set).bind(fresh).bind(user_id).execute(pool).await.map(|_| ()))?;
    let get = "SELECT unsubscribe_token FROM users WHERE id = $1";
    let token: Option<String> = on_db!(db, |pool| sqlx::query_scalar(get).bind(user_id).fetch_one(pool).await)?;
    Ok(token.unwrap_or_else(|| fresh.to_owned()))
}

/// The account an unsubscribe token belongs to: (id, address, opted out).
pub async fn by_unsubscribe_token(db: &Db, token: &str) -> Result<Option<(i64, String, bool)>, sqlx::Error> {
    let sql = "SELECT id, email, notices_opt_out FROM users WHERE unsubscribe_token = $1";
    on_db!(db, |pool| sqlx::query_as(sql).bind(token).fetch_optional(pool).await)
}

/// Opts account `id` out of (or back into) notices.
pub async fn set_opt_out(tx: &mut Tx, id: i64, opted_out: bool) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET notices_opt_out = $1 WHERE id = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(opted_out).bind(id).execute(conn).await.map(|_| ()))
}
