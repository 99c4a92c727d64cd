//! The token service's audit writer, a group commit: a request hands its
//! decision to the queue and waits until the transaction holding it has
//! committed; one task writes whatever has queued up meanwhile in a single
//! transaction (multi-row INSERTs), along with each credential's
//! `last_used_at`, then tells every waiting request. So a token leaves the
//! process only after its record is durable: a crash can lose a request,
//! never a token issued without its record. On a clean shutdown the queue
//! is closed after the server has finished its requests and drained.

use crate::backend::db;
use crate::backend::db::audit::NewAuditRow;
use crate::backend::db::Db;
use chrono::{DateTime, Utc};
use crate::backend::web::metrics::Metrics;
use std::{collections::HashMap, sync::Arc, time::Duration};
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
    /// The organisation of the credential.
    pub subject_org_id: Option<i64>,
    /// The credential that authenticated, for `last_used_at`.
    pub credential_id: Option<i64>,
}

const QUEUE: usize = 65_536;
const BATCH: usize = 2_000;

/// A decision and the request waiting for its commit.
struct Pending {
    record: TokenRecord,
    committed: oneshot::Sender<bool>,
}

#[derive(Clone)]
pub struct AuditQueue {
    tx: mpsc::Sender<Pending>,
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
    pub fn start(db: Db, metrics: Arc<Metrics>) -> (Self, Drain) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = oneshot::channel();
        let done = tokio::spawn(writer(db, rx, stopped, metrics));
        (Self { tx }, Drain { stop, done })
    }

    /// Queues a decision and waits, at most `limit`, until it is committed.
    /// `true`: the record is durable. `false`: it may still be written (the
    /// writer retries a failing database for ~30 s), but the caller must
    /// not let its effect out (the token route answers 503).
    pub async fn commit(&self, record: TokenRecord, limit: Duration) -> bool {
        let (committed, done) = oneshot::channel();
        if let Err(e) = self.tx.send(Pending { record, committed }).await {
            // Only after shutdown began, which happens after the last request.
            tracing::error!(decision = ?e.0.record, "audit queue closed: decision not recorded");
            return false;
        }
        matches!(tokio::time::timeout(limit, done).await, Ok(Ok(true)))
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Pending>, mut stopped: oneshot::Receiver<()>, metrics: Arc<Metrics>) {
    let mut buf = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut buf, BATCH) => {
                if n == 0 {
                    break;
                }
                let started = std::time::Instant::now();
                write_with_retry(&db, &mut buf).await;
                metrics.audit_commit(started.elapsed(), rx.len());
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

/// Tells every request of `buf` how its batch ended, and empties it.
fn settle(buf: &mut Vec<Pending>, committed: bool) {
    for p in buf.drain(..) {
        let _ = p.committed.send(committed);
    }
}

/// Writes the batch, retrying for about half a minute (a database restart,
/// a lock); only then are the events logged as lost. A batch the database
/// refuses for its data (which `db::audit` cleans, so this is a defence in
/// depth) is written row by row at once, so one bad row never costs or
/// delays another.
async fn write_with_retry(db: &Db, buf: &mut Vec<Pending>) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=10 {
        match write(db, buf.iter().map(|p| &p.record)).await {
            Ok(()) => return settle(buf, true),
            Err(e) if db::is_bad_data(&e) => {
                tracing::warn!(error = %e, events = buf.len(), "audit batch refused for its data; writing row by row");
                return write_alone(db, buf).await;
            }
            Err(e) if attempt < 10 => {
                tracing::warn!(error = %e, attempt, events = buf.len(), "audit batch write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                tracing::error!(error = %e, events = buf.len(), "audit batch lost after retries");
                for p in buf.iter() {
                    tracing::error!(decision = ?p.record, "unrecorded registry decision");
                }
                return settle(buf, false);
            }
        }
    }
}

/// Each record in its own transaction; one the database still refuses is
/// recorded without its details (which name the refusal instead).
async fn write_alone(db: &Db, buf: &mut Vec<Pending>) {
    for p in buf.drain(..) {
        let ok = match write(db, std::iter::once(&p.record)).await {
            Ok(()) => true,
            Err(e) => {
                let stub = TokenRecord { details: serde_json::json!({ "unrecordable_details": e.to_string() }), ..p.record };
                match write(db, std::iter::once(&stub)).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, decision = ?stub, "unrecorded registry decision");
                        false
                    }
                }
            }
        };
        let _ = p.committed.send(ok);
    }
}

async fn write<'a>(db: &Db, records: impl Iterator<Item = &'a TokenRecord> + Clone) -> Result<(), sqlx::Error> {
    let rows: Vec<NewAuditRow<'_>> = records
        .clone()
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
            subject_org_id: d.subject_org_id,
        })
        .collect();
    let mut used: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for d in records {
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
