//! The token service's audit writer. Every decision is recorded, but not in
//! the request: handlers queue the event (waiting only if the queue is full)
//! and one task writes whatever has queued up in a single transaction
//! (multi-row INSERTs), along with each credential's `last_used_at`. On a
//! clean shutdown the queue is closed after the server has finished its
//! requests and drained to the database before the process exits.

use crate::backend::db;
use crate::backend::db::audit::NewAuditRow;
use crate::backend::db::Db;
use chrono::{DateTime, Utc};
use std::{collections::HashMap, time::Duration};
use tokio::sync::{mpsc, oneshot};

/// One decision as the audit log keeps it.
#[derive(Debug)]
pub struct TokenRecord {
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub target_id: Option<String>,
    pub outcome: &'static str,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
    pub subject_user_id: Option<i64>,
    /// The credential that authenticated, for `last_used_at`.
    pub credential_id: Option<i64>,
}

const QUEUE: usize = 65_536;
const BATCH: usize = 2_000;

#[derive(Clone)]
pub struct AuditQueue {
    tx: mpsc::Sender<TokenRecord>,
}

/// Stops the writer: closes the queue, writes what is left, then returns.
pub struct Drain {
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Drain {
    pub async fn finish(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.done.await {
            tracing::error!(error = %e, "the audit writer failed while draining");
        }
    }
}

impl AuditQueue {
    pub fn start(db: Db) -> (Self, Drain) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = oneshot::channel();
        let done = tokio::spawn(writer(db, rx, stopped));
        (Self { tx }, Drain { stop, done })
    }

    /// Queues a decision; waits only when the writer is far behind.
    pub async fn push(&self, d: TokenRecord) {
        if let Err(e) = self.tx.send(d).await {
            // Only after shutdown began, which happens after the last request.
            tracing::error!(decision = ?e.0, "audit queue closed: decision not recorded");
        }
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<TokenRecord>, mut stopped: oneshot::Receiver<()>) {
    let mut buf = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut buf, BATCH) => {
                if n == 0 {
                    break;
                }
                write_with_retry(&db, &mut buf).await;
            }
            _ = &mut stopped => {
                rx.close();
                while rx.recv_many(&mut buf, BATCH).await > 0 {
                    write_with_retry(&db, &mut buf).await;
                }
                break;
            }
        }
    }
}

/// Writes the batch, retrying for about half a minute (a database restart,
/// a lock); only then are the events logged as lost. A batch the database
/// refuses for its data (which `db::audit` cleans, so this is a defence in
/// depth) is written row by row at once, so one bad row never costs or
/// delays another.
async fn write_with_retry(db: &Db, buf: &mut Vec<TokenRecord>) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=10 {
        match write(db, buf).await {
            Ok(()) => {
                buf.clear();
                return;
            }
            Err(e) if db::is_bad_data(&e) => {
                tracing::warn!(error = %e, events = buf.len(), "audit batch refused for its data; writing row by row");
                write_alone(db, buf).await;
                return;
            }
            Err(e) if attempt < 10 => {
                tracing::warn!(error = %e, attempt, events = buf.len(), "audit batch write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(error = %e, events = buf.len(), "audit batch lost after retries");
                for d in buf.drain(..) {
                    tracing::error!(decision = ?d, "unrecorded registry decision");
                }
            }
        }
    }
}

/// Each record in its own transaction; one the database still refuses is
/// recorded without its details (which name the refusal instead).
async fn write_alone(db: &Db, buf: &mut Vec<TokenRecord>) {
    for d in buf.drain(..) {
        let Err(e) = write(db, std::slice::from_ref(&d)).await else { continue };
        let stub = TokenRecord { details: serde_json::json!({ "unrecordable_details": e.to_string() }), ..d };
        if let Err(e) = write(db, std::slice::from_ref(&stub)).await {
            tracing::error!(error = %e, decision = ?stub, "unrecorded registry decision");
        }
    }
}

async fn write(db: &Db, buf: &[TokenRecord]) -> Result<(), sqlx::Error> {
    let rows: Vec<NewAuditRow<'_>> = buf
        .iter()
        .map(|d| NewAuditRow {
            occurred_at: d.at,
            actor_user_id: d.actor_user_id,
            actor: &d.actor,
            action: "registry.token",
            target_type: d.target_id.as_ref().map(|_| "repository"),
            target_id: d.target_id.as_deref(),
            outcome: d.outcome,
            ip: d.ip.as_deref(),
            user_agent: d.user_agent.as_deref(),
            details: &d.details,
            subject_user_id: d.subject_user_id,
        })
        .collect();
    let mut used: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for d in buf {
        if let Some(id) = d.credential_id {
            let t = used.entry(id).or_insert(d.at);
            *t = (*t).max(d.at);
        }
    }
    let mut tx = db.begin().await?;
    db::audit::insert_many(&mut tx, &rows).await?;
    for (id, at) in used {
        db::credentials::touch_used(&mut tx, id, at).await?;
    }
    tx.commit().await
}
