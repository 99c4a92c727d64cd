//! The `audit_events` table: INSERT and SELECT only. There is deliberately no
//! UPDATE or DELETE here (and triggers refuse them in the database).

use super::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

/// A row of `audit_events` as read back.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Json<serde_json::Value>,
    pub subject_user_id: Option<i64>,
}

/// What one event records; see `crate::server::audit` for the builder.
#[derive(Clone, Debug)]
pub struct NewAuditRow<'a> {
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a serde_json::Value,
    pub subject_user_id: Option<i64>,
}

pub async fn insert(tx: &mut Tx, row: &NewAuditRow<'_>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO audit_events \
        (occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, ip, user_agent, details, \
        subject_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(row.occurred_at)
        .bind(row.actor_user_id)
        .bind(row.actor)
        .bind(row.action)
        .bind(row.target_type)
        .bind(row.target_id)
        .bind(row.outcome)
        .bind(row.ip)
        .bind(row.user_agent)
        .bind(Json(row.details))
        .bind(row.subject_user_id)
        .fetch_one(conn)
        .await)
}

/// Inserts many events with multi-row INSERTs (the token service's batches).
pub async fn insert_many(tx: &mut Tx, rows: &[NewAuditRow<'_>]) -> Result<(), sqlx::Error> {
    // 11 binds a row; 400 rows stay far below either backend's bind limit.
    for chunk in rows.chunks(400) {
        on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_events (occurred_at, actor_user_id, actor, action, target_type, target_id, \
                 outcome, ip, user_agent, details, subject_user_id) ",
            );
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.occurred_at)
                    .push_bind(row.actor_user_id)
                    .push_bind(row.actor)
                    .push_bind(row.action)
                    .push_bind(row.target_type)
                    .push_bind(row.target_id)
                    .push_bind(row.outcome)
                    .push_bind(row.ip)
                    .push_bind(row.user_agent)
                    .push_bind(Json(row.details))
                    .push_bind(row.subject_user_id);
            });
            q.build().execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Newest first, strictly older than `before_id` when given (keyset paging).
pub async fn list_recent(db: &Db, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM audit_events WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(before_id).bind(limit).fetch_all(pool).await)
}

const COLUMNS: &str = "id, occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, ip, \
                       user_agent, details, subject_user_id";

/// The newest events by or about one user (as actor or as subject).
pub async fn list_for_user(db: &Db, user_id: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events WHERE subject_user_id = $1 OR actor_user_id = $1 ORDER BY id DESC LIMIT $2"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(pool).await)
}
