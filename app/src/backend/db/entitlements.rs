//! `entitlements`.

use crate::backend::db::{Db, Tx};
use crate::domain::access::{EntitlementSource, EntitlementStatus};
use crate::views::EntitlementFilter;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EntitlementRow {
    pub id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub status: EntitlementStatus,
    pub source: EntitlementSource,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub suspended_reason: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Joined for display: the organisation's name and its founder's address.
    pub customer_name: String,
    pub customer_email: String,
    pub product_name: String,
    pub product_slug: String,
}

const SELECT: &str = "SELECT e.id, e.customer_id, e.product_id, e.status, e.source, e.starts_at, e.ends_at, \
    e.grace_until, e.suspended_reason, e.note, e.created_at, e.updated_at, \
    o.name AS customer_name, u.email AS customer_email, p.name AS product_name, p.slug AS product_slug \
    FROM entitlements e JOIN users u ON u.id = e.customer_id JOIN organisations o ON o.id = e.customer_id \
    JOIN products p ON p.id = e.product_id";

pub struct NewEntitlement<'a> {
    pub customer_id: i64,
    pub product_id: i64,
    pub source: EntitlementSource,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub note: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, e: &NewEntitlement<'_>, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO entitlements (customer_id, product_id, status, source, starts_at, ends_at, note, \
               created_at, updated_at) VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $7) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(e.customer_id)
        .bind(e.product_id)
        .bind(e.source)
        .bind(e.starts_at)
        .bind(e.ends_at)
        .bind(e.note)
        .bind(now)
        .fetch_one(conn)
        .await)
}

pub async fn find(db: &Db, id: i64) -> Result<Option<EntitlementRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE e.id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// Reads the row inside a transaction (the state a change starts from).
pub async fn find_in(tx: &mut Tx, id: i64) -> Result<Option<EntitlementRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE e.id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

/// Sets status, window and reason in one statement.
pub async fn update(tx: &mut Tx, row: &EntitlementRow, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE entitlements SET status = $1, starts_at = $2, ends_at = $3, grace_until = $4, \
               suspended_reason = $5, updated_at = $6 WHERE id = $7";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(&row.status)
        .bind(row.starts_at)
        .bind(row.ends_at)
        .bind(row.grace_until)
        .bind(&row.suspended_reason)
        .bind(now)
        .bind(row.id)
        .execute(conn)
        .await
        .map(|_| ()))
}

/// Newest first.
pub async fn list(db: &Db, f: &EntitlementFilter, limit: i64, offset: i64) -> Result<Vec<EntitlementRow>, sqlx::Error> {
    let sql = format!(
        "{SELECT} WHERE ($1 IS NULL OR e.customer_id = $1) AND ($2 IS NULL OR e.product_id = $2) \
         AND ($3 IS NULL OR e.status = $3) ORDER BY e.id DESC LIMIT $4 OFFSET $5"
    );
    on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(f.customer_id)
        .bind(f.product_id)
        .bind(&f.status)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)
}

/// One row per (entitlement, repository pattern) of a customer: everything
/// the access decision needs, in one indexed lookup.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AccessRow {
    pub id: i64,
    pub product_id: i64,
    pub licence: crate::domain::release::Licence,
    pub gateway: bool,
    pub status: EntitlementStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub suspended_reason: Option<String>,
    pub pattern: String,
}

pub async fn access_rows(db: &Db, customer_id: i64) -> Result<Vec<AccessRow>, sqlx::Error> {
    let sql = "SELECT e.id, e.product_id, p.licence, p.gateway, e.status, e.starts_at, e.ends_at, e.grace_until, e.suspended_reason, \
               r.pattern FROM entitlements e JOIN product_repositories r ON r.product_id = e.product_id \
               JOIN products p ON p.id = e.product_id \
               WHERE e.customer_id = $1 ORDER BY e.id";
    on_db!(db, |pool| sqlx::query_as(sql).bind(customer_id).fetch_all(pool).await)
}
