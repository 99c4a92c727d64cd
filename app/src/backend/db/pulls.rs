//! `pulls`: the pull history (gateway manifest pulls, registry pull
//! notifications), as customers, admins and the CSV export read it.

use crate::backend::db::{Db, Tx};
use crate::domain::pull::PullSource;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PullRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub organisation_id: i64,
    pub user_id: Option<i64>,
    pub member_email: Option<String>,
    pub credential_id: Option<i64>,
    pub credential: Option<String>,
    pub credential_name: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub source: PullSource,
}

pub struct NewPull<'a> {
    pub at: DateTime<Utc>,
    pub organisation_id: i64,
    pub user_id: Option<i64>,
    pub credential_id: Option<i64>,
    pub credential: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub source: PullSource,
    pub event_id: Option<&'a str>,
}

/// Records a pull; a notification seen before (its `event_id`) adds nothing.
pub async fn insert(tx: &mut Tx, p: &NewPull<'_>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO pulls (occurred_at, organisation_id, user_id, credential_id, credential, repository, tag, digest, ip, \
               user_agent, source, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (event_id) DO NOTHING";
    let ua = p.user_agent.map(|u| u.chars().filter(|c| !c.is_control()).take(300).collect::<String>());
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(p.at)
        .bind(p.organisation_id)
        .bind(p.user_id)
        .bind(p.credential_id)
        .bind(p.credential)
        .bind(p.repository)
        .bind(p.tag)
        .bind(p.digest)
        .bind(p.ip)
        .bind(ua.as_deref())
        .bind(p.source)
        .bind(p.event_id)
        .execute(conn)
        .await
        .map(|_| ()))
}

/// What a pull list shows: one organisation's pulls, narrowed.
#[derive(Clone, Debug, Default)]
pub struct PullFilter<'a> {
    pub organisation_id: i64,
    pub repository: Option<&'a str>,
    /// A member's address.
    pub member: Option<&'a str>,
    /// A credential's user name or name.
    pub credential: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset cursor: only older pulls.
    pub before: Option<i64>,
}

/// Newest first, at most `limit`.
pub async fn list(db: &Db, f: &PullFilter<'_>, limit: i64) -> Result<Vec<PullRow>, sqlx::Error> {
    let sql = "SELECT p.id, p.occurred_at, p.organisation_id, p.user_id, u.email AS member_email, p.credential_id, p.credential, \
               c.name AS credential_name, p.repository, p.tag, p.digest, p.ip, p.user_agent, p.source \
               FROM pulls p LEFT JOIN users u ON u.id = p.user_id LEFT JOIN registry_credentials c ON c.id = p.credential_id \
               WHERE p.organisation_id = $1 AND ($2 IS NULL OR p.repository = $2) AND ($3 IS NULL OR lower(u.email) = lower($3)) \
               AND ($4 IS NULL OR p.credential = $4 OR c.name = $4) AND ($5 IS NULL OR p.occurred_at >= $5) \
               AND ($6 IS NULL OR p.occurred_at < $6) AND ($7 IS NULL OR p.id < $7) ORDER BY p.id DESC LIMIT $8";
    on_db!(db, |pool| sqlx::query_as(sql)
        .bind(f.organisation_id)
        .bind(f.repository)
        .bind(f.member)
        .bind(f.credential)
        .bind(f.from)
        .bind(f.to)
        .bind(f.before)
        .bind(limit)
        .fetch_all(pool)
        .await)
}

/// The client address and user agent of the newest granted token request
/// of `credential` for `repository` at or before `at` (what a registry
/// pull notification is attributed to, instead of its `request.addr`).
pub async fn token_origin(tx: &mut Tx, subject_user_id: i64, credential: &str, repository: &str, at: DateTime<Utc>) -> Result<Option<(Option<String>, Option<String>)>, sqlx::Error> {
    let sql = "SELECT ip, user_agent, details FROM audit_events WHERE subject_user_id = $1 AND action = 'registry.token' \
               AND outcome = 'success' AND target_id = $2 AND occurred_at <= $3 ORDER BY id DESC LIMIT 20";
    let rows: Vec<(Option<String>, Option<String>, sqlx::types::Json<serde_json::Value>)> =
        on_tx!(tx, |conn| sqlx::query_as(sql).bind(subject_user_id).bind(repository).bind(at).fetch_all(conn).await)?;
    Ok(rows.into_iter().find(|r| r.2 .0["username"] == credential).map(|r| (r.0, r.1)))
}
