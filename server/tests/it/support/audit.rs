//! Helpers for the audit tests: events with chosen fields, written the way
//! the services (`record_alone`) and the token service (`insert_many`) do,
//! and the rows of the text-search table.

use app::backend::services::audit;
use app::backend::services::audit::{Actor, AuditEvent, Outcome};
use app::backend::db;
use app::backend::db::audit::NewAuditRow;
use app::backend::db::Db;
use app::backend::web::RequestMeta;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One event as the tests describe it.
pub struct Ev {
    pub action: &'static str,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
    pub repo: Option<&'static str>,
    pub ip: Option<&'static str>,
    pub subject: Option<i64>,
    pub details: Value,
}

impl Ev {
    pub fn new(action: &'static str, outcome: Outcome, at: DateTime<Utc>) -> Self {
        Self { action, outcome, at, repo: None, ip: None, subject: None, details: serde_json::json!({}) }
    }
}

/// Records `e` through `audit::record_alone`; returns its id.
pub async fn record(db: &Db, e: Ev) -> i64 {
    let meta = RequestMeta { ip: e.ip.map(|i| i.parse().unwrap()), user_agent: Some("test-agent/1.0".into()), request_id: None };
    let mut ev = AuditEvent::new(Actor::System, e.action, e.outcome).at(e.at).meta(&meta).details(e.details);
    if let Some(r) = e.repo {
        ev = ev.target("repository", r);
    }
    // An event about a customer concerns its organisation (whose id the
    // founder's is).
    if let Some(s) = e.subject {
        ev = ev.subject(s).organisation(s);
    }
    audit::record_alone(db, &ev).await.unwrap()
}

/// Writes `n` token decisions in one batch, as `registry/batch.rs` does.
pub async fn token_batch(db: &Db, n: usize, at: DateTime<Utc>, username: &str, ip: &str) {
    let details: Vec<Value> = (0..n).map(|i| serde_json::json!({ "username": username, "scopes": ["pull"], "granted": i % 2 == 0, "n": i })).collect();
    let rows: Vec<NewAuditRow<'_>> = details
        .iter()
        .enumerate()
        .map(|(i, d)| NewAuditRow {
            occurred_at: at,
            actor_user_id: None,
            actor: "batch",
            action: "registry.token",
            target_type: Some("repository"),
            target_id: Some("acme/bulk"),
            outcome: if i % 2 == 0 { "success" } else { "denied" },
            ip: Some(ip),
            user_agent: Some("docker/27"),
            details: d,
            subject_user_id: None,
            subject_org_id: None,
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    db::audit::insert_many(&mut tx, &rows).await.unwrap();
    tx.commit().await.unwrap();
}

/// Every row of the text-search table as (event id, search text), by id.
pub async fn search_rows(db: &Db) -> Vec<(i64, String)> {
    match db {
        Db::Sqlite(p) => sqlx::query_as("SELECT rowid, body FROM audit_search ORDER BY rowid").fetch_all(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_as("SELECT event_id, body FROM audit_search ORDER BY event_id").fetch_all(p).await.unwrap(),
    }
}

/// Every event id, oldest first.
pub async fn event_ids(db: &Db) -> Vec<i64> {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar("SELECT id FROM audit_events ORDER BY id").fetch_all(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar("SELECT id FROM audit_events ORDER BY id").fetch_all(p).await.unwrap(),
    }
}
