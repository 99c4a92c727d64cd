//! The `audit_events` table: INSERT and SELECT only. There is deliberately no
//! UPDATE or DELETE here (and triggers refuse them in the database). Each
//! insert also writes the event's search text (`db::audit_search`) in the
//! same transaction; the auditor's reads (`search`: filters, keyset pages,
//! one event) run under a time limit (`db::bounded`).

use crate::backend::db::{audit_search, Db, Tx};
use crate::{
    domain::audit_search::{search_text, Searchable},
    on_db, on_tx,
};
use crate::domain::audit_fields::{
    clean_details, clean_text, ACTOR_MAX, DETAIL_KEY_MAX, IP_MAX, TARGET_MAX, USER_AGENT_MAX,
};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::borrow::Cow;

mod search;
pub(crate) use search::like_escape;
pub use search::{get, search, ActionMatch, Filter, DEFAULT_QUERY_TIMEOUT};

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
    /// The organisation it concerns, as recorded (rows from before
    /// organisations have none: `services::audit::query::organisation_of`).
    pub subject_org_id: Option<i64>,
    /// The organisation it concerns: as recorded, or for events from before
    /// organisations the customer their subject was (mapped at query time).
    pub organisation_id: Option<i64>,
    /// The hash chaining it to the event before (`audit_seals`; NULL until sealed).
    pub chain_hash: Option<String>,
}

/// What one event records; see `crate::backend::services::audit` for the builder.
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
    /// `None`: the subject user's organisation, if any (`insert`).
    pub subject_org_id: Option<i64>,
}

/// On PostgreSQL, makes sure the transaction has its id before it takes an
/// event id, which the chain's sealer relies on (`db::audit_chain::horizon`).
async fn xact_first(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_current_xact_id()").execute(&mut **t).await?;
    }
    Ok(())
}

impl AuditRow {
    /// What the text filter searches (`domain::audit_search`), from the
    /// event as read back (the tests' reference scan).
    pub fn search_text(&self) -> String {
        search_text(Searchable {
            actor: &self.actor,
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details.0,
        })
    }
}

/// A row as it is stored: every field cut and cleaned by
/// `domain::audit_fields`, whatever the caller passed.
struct Stored<'a> {
    occurred_at: DateTime<Utc>,
    actor_user_id: Option<i64>,
    actor: Cow<'a, str>,
    action: Cow<'a, str>,
    target_type: Option<Cow<'a, str>>,
    target_id: Option<Cow<'a, str>>,
    outcome: Cow<'a, str>,
    ip: Option<Cow<'a, str>>,
    user_agent: Option<Cow<'a, str>>,
    details: Cow<'a, serde_json::Value>,
    subject_user_id: Option<i64>,
    subject_org_id: Option<i64>,
}

impl<'a> Stored<'a> {
    fn of(row: &NewAuditRow<'a>) -> Self {
        Self {
            occurred_at: row.occurred_at,
            actor_user_id: row.actor_user_id,
            actor: clean_text(row.actor, ACTOR_MAX),
            action: clean_text(row.action, DETAIL_KEY_MAX),
            target_type: row.target_type.map(|t| clean_text(t, DETAIL_KEY_MAX)),
            target_id: row.target_id.map(|t| clean_text(t, TARGET_MAX)),
            outcome: clean_text(row.outcome, DETAIL_KEY_MAX),
            ip: row.ip.map(|t| clean_text(t, IP_MAX)),
            user_agent: row.user_agent.map(|t| clean_text(t, USER_AGENT_MAX)),
            details: clean_details(row.details),
            subject_user_id: row.subject_user_id,
            subject_org_id: row.subject_org_id,
        }
    }

    /// What the text filter searches (`domain::audit_search`).
    fn search_text(&self) -> String {
        search_text(Searchable {
            actor: &self.actor,
            target_id: self.target_id.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details,
        })
    }
}

pub async fn insert(tx: &mut Tx, row: &NewAuditRow<'_>) -> Result<i64, sqlx::Error> {
    xact_first(tx).await?;
    let row = Stored::of(row);
    let sql = "INSERT INTO audit_events \
        (occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, ip, user_agent, details, \
        subject_user_id, subject_org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
        COALESCE($12, (SELECT organisation_id FROM users WHERE id = $11))) RETURNING id";
    let id: i64 = on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(row.occurred_at)
        .bind(row.actor_user_id)
        .bind(&*row.actor)
        .bind(&*row.action)
        .bind(row.target_type.as_deref())
        .bind(row.target_id.as_deref())
        .bind(&*row.outcome)
        .bind(row.ip.as_deref())
        .bind(row.user_agent.as_deref())
        .bind(Json(&*row.details))
        .bind(row.subject_user_id)
        .bind(row.subject_org_id)
        .fetch_one(conn)
        .await)?;
    audit_search::insert_rows(tx, &[(id, row.search_text())]).await?;
    Ok(id)
}

/// Inserts many events with multi-row INSERTs (the token service's batches),
/// and their search rows.
pub async fn insert_many(tx: &mut Tx, rows: &[NewAuditRow<'_>]) -> Result<(), sqlx::Error> {
    xact_first(tx).await?;
    let rows: Vec<Stored<'_>> = rows.iter().map(Stored::of).collect();
    // 12 binds a row; 400 rows stay far below either backend's bind limit.
    for chunk in rows.chunks(400) {
        let mut ids: Vec<i64> = on_tx!(tx, |conn| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO audit_events (occurred_at, actor_user_id, actor, action, target_type, target_id, \
                 outcome, ip, user_agent, details, subject_user_id, subject_org_id) ",
            );
            q.push_values(chunk, |mut b, row| {
                b.push_bind(row.occurred_at)
                    .push_bind(row.actor_user_id)
                    .push_bind(&*row.actor)
                    .push_bind(&*row.action)
                    .push_bind(row.target_type.as_deref())
                    .push_bind(row.target_id.as_deref())
                    .push_bind(&*row.outcome)
                    .push_bind(row.ip.as_deref())
                    .push_bind(row.user_agent.as_deref())
                    .push_bind(Json(&*row.details))
                    .push_bind(row.subject_user_id)
                    .push_bind(row.subject_org_id);
            });
            q.push(" RETURNING id");
            q.build_query_scalar().fetch_all(conn).await
        })?;
        // One statement takes its ids in the order of its VALUES rows (on
        // PostgreSQL too: the sequence is drawn row by row), whatever order
        // RETURNING lists them in.
        ids.sort_unstable();
        let texts: Vec<(i64, String)> = ids.into_iter().zip(chunk).map(|(id, row)| (id, row.search_text())).collect();
        audit_search::insert_rows(tx, &texts).await?;
    }
    Ok(())
}

/// Newest first, strictly older than `before_id` when given (keyset paging).
pub async fn list_recent(db: &Db, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(before_id).bind(limit).fetch_all(pool).await)
}

/// The columns of `AuditRow`; use with `FROM {EVENTS}` (the event and its seal).
pub(crate) const COLUMNS: &str = "id, occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, \
                                  ip, user_agent, details, subject_user_id, subject_org_id, \
    COALESCE(subject_org_id, (SELECT o.id FROM organisations o WHERE o.id = audit_events.subject_user_id \
      AND audit_events.id <= (SELECT m.audit_upto FROM organisation_migration m WHERE m.id = 1))) AS organisation_id, \
    audit_seals.hash AS chain_hash";
pub(crate) const EVENTS: &str = "audit_events LEFT JOIN audit_seals ON audit_seals.event_id = audit_events.id";

/// Events about organisation `$n`: those naming it, and those from before
/// organisations whose subject was the customer (whose id is the
/// organisation's): the mapping at query time that leaves sealed rows as
/// they are.
pub(crate) fn about_organisation(n: usize) -> String {
    format!(
        "(subject_org_id = ${n} OR (subject_org_id IS NULL AND subject_user_id = ${n} \
         AND audit_events.id <= (SELECT audit_upto FROM organisation_migration WHERE id = 1)))"
    )
}

/// The newest events about one organisation (`about_organisation`).
pub async fn list_for_organisation(db: &Db, org: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {EVENTS} WHERE {} ORDER BY id DESC LIMIT $2", about_organisation(1));
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).bind(limit).fetch_all(pool).await)
}

/// The newest events by or about one user (as actor or as subject).
pub async fn list_for_user(db: &Db, user_id: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {EVENTS} WHERE subject_user_id = $1 OR actor_user_id = $1 ORDER BY id DESC LIMIT $2"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(pool).await)
}

/// The largest id so far (0 for an empty log).
pub async fn max_id(db: &Db) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COALESCE(MAX(id), 0) FROM audit_events";
    on_db!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
}

/// Sealed events per UTC day from `since` (`YYYY-MM-DD`), from the counts
/// the sealer keeps (`audit_daily`): (day, target id, count), for `action`
/// (or every action) and `outcome` (or every outcome); grouped by target
/// (kept for `registry.pull` only) when `by_target`.
pub async fn daily_counts(
    db: &Db,
    action: Option<&str>,
    outcome: Option<&str>,
    by_target: bool,
    since: &str,
) -> Result<Vec<(String, Option<String>, i64)>, sqlx::Error> {
    let (target, group) = if by_target { ("target_id", "day, target_id") } else { ("CAST(NULL AS TEXT)", "day") };
    let sql = format!(
        "SELECT day, {target} AS target, CAST(SUM(n) AS BIGINT) AS n FROM audit_daily \
         WHERE day >= $1 AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR outcome = $3) GROUP BY {group} ORDER BY day"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(since).bind(action).bind(outcome).fetch_all(pool).await)
}
