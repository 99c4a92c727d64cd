//! The audit foundation: one function, `record`, writes an event inside the
//! caller's transaction, so a change and its record commit or vanish
//! together. Events are append-only (no code path updates or deletes them;
//! database triggers refuse it too).

pub mod attempts;
pub mod chain;
pub mod query;
pub mod read;
pub mod retention;

use crate::backend::db;
use crate::backend::db::Tx;
use crate::backend::web::request::RequestMeta;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    /// The caller's input was wrong (bad password, taken e-mail).
    Failure,
    /// Policy refused it (wrong role, rate limit, no entitlement).
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Who did it: a user, the command line, the system itself, or an
/// unauthenticated caller naming an account (e.g. a failed login).
#[derive(Clone, Debug)]
pub enum Actor {
    User { id: i64, email: String },
    Anonymous { claimed: Option<String> },
    Cli,
    System,
    /// A REST API key, by id and name.
    ApiKey { id: i64, name: String },
}

impl Actor {
    pub fn id(&self) -> Option<i64> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// How the audit log and `created_by` columns name this actor.
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.clone(),
            Actor::Anonymous { claimed: Some(c) } => format!("anonymous ({c})"),
            Actor::Anonymous { claimed: None } => "anonymous".into(),
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::ApiKey { id, name } => format!("api key {name} (#{id})"),
        }
    }
}

/// One event, built fluently: `AuditEvent::new(actor, "auth.login", Outcome::Success)`.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: &'static str,
    pub target: Option<(&'static str, String)>,
    pub outcome: Outcome,
    pub meta: RequestMeta,
    pub details: Value,
    /// The user whose access this concerns (defaults to a user actor).
    pub subject: Option<i64>,
    /// The organisation it concerns (defaults to the subject's).
    pub organisation: Option<i64>,
}

impl AuditEvent {
    pub fn new(actor: Actor, action: &'static str, outcome: Outcome) -> Self {
        Self {
            at: Utc::now(),
            actor,
            action,
            target: None,
            outcome,
            meta: RequestMeta::default(),
            details: Value::Object(Default::default()),
            subject: None,
            organisation: None,
        }
    }

    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }

    pub fn meta(mut self, meta: &RequestMeta) -> Self {
        self.meta = meta.clone();
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn subject(mut self, user_id: i64) -> Self {
        self.subject = Some(user_id);
        self
    }

    pub fn organisation(mut self, id: i64) -> Self {
        self.organisation = Some(id);
        self
    }

    pub fn organisation_opt(mut self, id: Option<i64>) -> Self {
        self.organisation = id.or(self.organisation);
        self
    }

    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }
}

/// Writes `event` in the caller's transaction and returns its id.
pub async fn record(tx: &mut Tx, event: &AuditEvent) -> Result<i64, sqlx::Error> {
    let actor = event.actor.label();
    let ip = event.meta.ip_string();
    db::audit::insert(
        tx,
        &db::audit::NewAuditRow {
            occurred_at: event.at,
            actor_user_id: event.actor.id(),
            actor: &actor,
            action: event.action,
            target_type: event.target.as_ref().map(|t| t.0),
            target_id: event.target.as_ref().map(|t| t.1.as_str()),
            outcome: event.outcome.as_str(),
            ip: ip.as_deref(),
            user_agent: event.meta.user_agent.as_deref(),
            details: &event.details,
            subject_user_id: event.subject.or(event.actor.id()),
            subject_org_id: event.organisation,
        },
    )
    .await
}

/// Records an event that has no other change to go with (a refused login, a
/// denied call) in a transaction of its own.
pub async fn record_alone(db: &db::Db, event: &AuditEvent) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(id)
}
