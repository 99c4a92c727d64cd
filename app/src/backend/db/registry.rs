//! Registry bookkeeping: de-duplicated notification events, pushed tags, the
//! access epoch the token service's cache watches, and product patterns.

use crate::backend::db::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

pub struct NewEventRow<'a> {
    pub event_id: &'a str,
    pub received_at: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
    pub action: &'a str,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
    pub media_type: Option<&'a str>,
    pub method: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub credential_id: Option<i64>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Inserts the event unless its id was seen before; `true` if it is new.
pub async fn insert_event(tx: &mut Tx, e: &NewEventRow<'_>) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO registry_events (event_id, received_at, occurred_at, action, repository, tag, digest, \
               media_type, method, actor, credential_id, ip, user_agent) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (event_id) DO NOTHING";
    let done = on_tx!(tx, |conn| sqlx::query(sql)
        .bind(e.event_id)
        .bind(e.received_at)
        .bind(e.occurred_at)
        .bind(e.action)
        .bind(e.repository)
        .bind(e.tag)
        .bind(e.digest)
        .bind(e.media_type)
        .bind(e.method)
        .bind(e.actor)
        .bind(e.credential_id)
        .bind(e.ip)
        .bind(e.user_agent)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Records (or moves) a tag to the digest a push reported.
pub async fn upsert_tag(
    tx: &mut Tx,
    repository: &str,
    tag: &str,
    digest: &str,
    at: DateTime<Utc>,
    by: Option<&str>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO repository_tags (repository, tag, digest, pushed_at, pushed_by) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, pushed_at = excluded.pushed_at, \
               pushed_by = excluded.pushed_by";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(repository)
        .bind(tag)
        .bind(digest)
        .bind(at)
        .bind(by)
        .execute(conn)
        .await
        .map(|_| ()))
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TagRow {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub pushed_at: DateTime<Utc>,
}

/// Every known tag, newest push first (the list is small: one row per tag).
pub async fn all_tags(db: &Db) -> Result<Vec<TagRow>, sqlx::Error> {
    let sql = "SELECT repository, tag, digest, pushed_at FROM repository_tags ORDER BY pushed_at DESC, tag";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}

/// The current access epoch (bumped by triggers on every access change).
pub async fn epoch(db: &Db) -> Result<i64, sqlx::Error> {
    let sql = "SELECT epoch FROM access_epoch WHERE id = 1";
    on_db!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
}

/// Every repository pattern of every product (what push credentials cover).
pub async fn all_patterns(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let sql = "SELECT DISTINCT pattern FROM product_repositories ORDER BY pattern";
    on_db!(db, |pool| sqlx::query_scalar(sql).fetch_all(pool).await)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EntitledPatternRow {
    pub product_id: i64,
    pub product_name: String,
    pub licence: crate::domain::release::Licence,
    pub gateway: bool,
    pub pattern: String,
    pub status: crate::domain::access::EntitlementStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub suspended_reason: Option<String>,
}

/// A customer's entitlements with their products' names and patterns.
pub async fn entitled_patterns(db: &Db, customer_id: i64) -> Result<Vec<EntitledPatternRow>, sqlx::Error> {
    let sql = "SELECT p.id AS product_id, p.name AS product_name, p.licence, p.gateway, r.pattern, e.status, e.starts_at, e.ends_at, e.grace_until, \
               e.suspended_reason FROM entitlements e JOIN products p ON p.id = e.product_id \
               JOIN product_repositories r ON r.product_id = e.product_id WHERE e.customer_id = $1 \
               ORDER BY p.name, r.pattern";
    on_db!(db, |pool| sqlx::query_as(sql).bind(customer_id).fetch_all(pool).await)
}
