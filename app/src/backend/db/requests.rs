//! `access_requests`: customers' requests for a trial or for sales, and the
//! admin's answer (`services::requests` decides).

use crate::backend::db::{Db, Tx};
use crate::domain::request::{RequestKind, RequestStatus};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation: String,
    pub requested_by: i64,
    pub requested_by_email: String,
    pub product_id: i64,
    pub product_name: String,
    pub product_slug: String,
    pub kind: RequestKind,
    pub message: String,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by_email: Option<String>,
    pub answer: Option<String>,
    pub entitlement_id: Option<i64>,
    /// The granted entitlement's end, when the answer was a grant.
    pub granted_until: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT r.id, r.organisation_id, o.name AS organisation, r.requested_by, u.email AS requested_by_email, \
    r.product_id, p.name AS product_name, p.slug AS product_slug, r.kind, r.message, r.status, r.created_at, r.answered_at, \
    a.email AS answered_by_email, r.answer, r.entitlement_id, e.ends_at AS granted_until \
    FROM access_requests r JOIN organisations o ON o.id = r.organisation_id JOIN users u ON u.id = r.requested_by \
    JOIN products p ON p.id = r.product_id LEFT JOIN users a ON a.id = r.answered_by \
    LEFT JOIN entitlements e ON e.id = r.entitlement_id";

pub struct NewRequest<'a> {
    pub organisation_id: i64,
    pub requested_by: i64,
    pub product_id: i64,
    pub kind: RequestKind,
    pub message: &'a str,
}

/// Records a request; `Ok(None)` when the organisation already has an open
/// one for this product (the partial unique index: across replicas too).
pub async fn insert(tx: &mut Tx, r: &NewRequest<'_>, now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    let sql = "INSERT INTO access_requests (organisation_id, requested_by, product_id, kind, message, status, created_at) \
               VALUES ($1, $2, $3, $4, $5, 'open', $6) ON CONFLICT (organisation_id, product_id) WHERE status = 'open' DO NOTHING \
               RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(r.organisation_id)
        .bind(r.requested_by)
        .bind(r.product_id)
        .bind(r.kind)
        .bind(r.message)
        .bind(now)
        .fetch_optional(conn)
        .await)
}

pub async fn find(db: &Db, id: i64) -> Result<Option<RequestRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn find_in(tx: &mut Tx, id: i64) -> Result<Option<RequestRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

/// The open request of an organisation for a product, if any.
pub async fn open_for(db: &Db, org: i64, product_id: i64) -> Result<Option<RequestRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.organisation_id = $1 AND r.product_id = $2 AND r.status = 'open'");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).bind(product_id).fetch_optional(pool).await)
}

/// Requests in `status` (all when `None`), newest first, at most `limit`.
pub async fn list(db: &Db, status: Option<RequestStatus>, limit: i64) -> Result<Vec<RequestRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE ($1 IS NULL OR r.status = $1) ORDER BY r.id DESC LIMIT $2");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(status).bind(limit).fetch_all(pool).await)
}

/// An organisation's requests, newest first (the last 50).
pub async fn of_organisation(db: &Db, org: i64) -> Result<Vec<RequestRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.organisation_id = $1 ORDER BY r.id DESC LIMIT 50");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).fetch_all(pool).await)
}

/// An organisation's open requests.
pub async fn list_open_of(db: &Db, org: i64) -> Result<Vec<RequestRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE r.organisation_id = $1 AND r.status = 'open' ORDER BY r.id");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).fetch_all(pool).await)
}

pub async fn count_open(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM access_requests WHERE status = 'open'").fetch_one(pool).await)
}

/// Closes an open request with the answer; `false` when it was no longer
/// open (answered meanwhile, by this or another admin or replica).
pub async fn close(
    tx: &mut Tx,
    id: i64,
    status: RequestStatus,
    by: Option<i64>,
    answer: Option<&str>,
    entitlement_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE access_requests SET status = $1, answered_by = $2, answer = $3, entitlement_id = $4, answered_at = $5 \
               WHERE id = $6 AND status = 'open'";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(status)
        .bind(by)
        .bind(answer)
        .bind(entitlement_id)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1))
}
