//! The fleet jobs of Harbor provisioning, each run once across the fleet:
//! `harbor.provision` (every 2 s): window and grace ends that fell due
//! become outbox rows, and due outbox rows are delivered
//! (`converge::customer`), failures retried with backoff; and
//! `harbor.reconcile` (every `Harbor::reconcile_every`): the reconciler
//! pages through Harbor's robots and repairs drift. The delivery's lease is
//! short (a replica killed mid-run holds it up for under a minute), so a run
//! starts no new customer after `RUN_BUDGET`. The two may look at one
//! customer at once: both converge on the database's state of that moment,
//! Harbor refuses a second robot of a name (409, retried), and every later
//! change has its own outbox row, so the last word is the newest state's.

use crate::backend::db;
use crate::backend::db::harbor::RunRow;
use crate::backend::db::Db;
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::services::harbor::client::Robot;
use crate::backend::services::harbor::converge::{self, Why};
use crate::backend::services::harbor::Harbor;
use crate::backend::web::sealer::Sealer;
use chrono::{Duration, Utc};
use serde_json::json;
use std::collections::HashMap;

/// The delivery job's lease: how long a killed replica can hold it up.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(45);
/// After this, a delivery run starts no new customer (the rest wait 2 s).
const RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Customers delivered per run.
const BATCH: i64 = 25;
/// Pages of robots the reconciler reads at most (100 each).
const MAX_PAGES: u32 = 1_000;

/// When a failed delivery is tried again: 5 s, doubling, at most 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.clamp(1, 20).saturating_sub(1));
    Duration::seconds(secs.min(600))
}

/// The delivery job's body; what it did, in words.
pub async fn run(db: &Db, harbor: &Harbor, sealer: &dyn Sealer) -> Result<String, String> {
    let started = std::time::Instant::now();
    let now = Utc::now();
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    let scheduled = db::harbor::schedule_due(&mut tx, now).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let (mut delivered, mut failed) = (0, 0);
    for (customer, upto) in db::harbor::due(db, now, BATCH).await.map_err(|e| e.to_string())? {
        if started.elapsed() > RUN_BUDGET {
            break;
        }
        match converge::customer(db, harbor, sealer, customer, None, Why::Delivery).await {
            Ok(_) => {
                let mut tx = db.begin().await.map_err(|e| e.to_string())?;
                db::harbor::delivered(&mut tx, customer, upto).await.map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                delivered += 1;
            }
            Err(e) => {
                failed += 1;
                let attempts = db::harbor::retry_later(db, customer, upto, &e.to_string(), backoff, Utc::now())
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::warn!(customer, attempts, error = %e, "Harbor provisioning failed; retrying later");
            }
        }
    }
    Ok(format!("{scheduled} scheduled, {delivered} delivered, {failed} failed"))
}

/// The reconcile job's body.
pub async fn reconcile_job(db: &Db, harbor: &Harbor, sealer: &dyn Sealer) -> Result<String, String> {
    let run = reconcile(db, harbor, sealer).await.map_err(|e| e.to_string())?;
    let summary = format!("{} checked, {} repaired, {} failed", run.checked, run.repaired, run.failed);
    match run.error {
        None => Ok(summary),
        Some(e) => Err(format!("{summary}: {e}")),
    }
}

/// Pages through Harbor's system robots, converges every customer's robots
/// on them, and deletes robots named like ours that the portal no longer
/// knows (a credential revoked while its delete was lost, a portal restored
/// from an older backup). Robots not named like the portal's are never
/// touched. The run is a `harbor_reconciliations` row and a
/// `harbor.reconcile` audit event; each repair is audited with its id.
pub async fn reconcile(db: &Db, harbor: &Harbor, sealer: &dyn Sealer) -> Result<RunRow, sqlx::Error> {
    let started = Utc::now();
    let id = db::harbor::start_run(db, started).await?;
    let mut run = RunRow { id, started_at: started, finished_at: None, checked: 0, repaired: 0, failed: 0, error: None };
    let listed = match list_all(harbor).await {
        Ok(map) => Some(map),
        Err(e) => {
            run.error = Some(e.to_string());
            None
        }
    };
    if let Some(listed) = &listed {
        for customer in db::harbor::customers_to_check(db).await? {
            if db::harbor::has_pending(db, customer).await? {
                continue; // the delivery has it
            }
            match converge::customer(db, harbor, sealer, customer, Some(listed), Why::Reconcile { run: id }).await {
                Ok(done) => {
                    run.checked += done.checked as i64;
                    run.repaired += done.changed as i64;
                }
                Err(e) => {
                    run.failed += 1;
                    tracing::warn!(customer, error = %e, "Harbor reconcile: could not converge a customer");
                    run.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        let known: std::collections::HashSet<String> =
            db::harbor::live_robots(db).await?.into_iter().map(|r| harbor.login(&r.name)).collect();
        for (name, robot) in listed {
            if known.contains(name) || !ours(harbor, name) {
                continue;
            }
            match harbor.client.delete(robot.id).await {
                Ok(()) => {
                    run.repaired += 1;
                    let event = AuditEvent::new(Actor::System, "harbor.robot_delete", Outcome::Success)
                        .target("harbor_robot", robot.id)
                        .details(json!({ "robot": name, "reconciliation": id, "drift": "a robot of the portal's naming that no live credential has" }));
                    audit::record_alone(db, &event).await?;
                }
                Err(e) => {
                    run.failed += 1;
                    run.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
    run.finished_at = Some(Utc::now());
    db::harbor::finish_run(db, &run).await?;
    let outcome = if run.error.is_none() { Outcome::Success } else { Outcome::Failure };
    let event = AuditEvent::new(Actor::System, "harbor.reconcile", outcome).target("harbor_reconciliation", id).details(json!({
        "checked": run.checked, "repaired": run.repaired, "failed": run.failed, "error": run.error,
    }));
    audit::record_alone(db, &event).await?;
    Ok(run)
}

/// Whether a Harbor robot's full name is one the portal makes
/// (`{prefix}pull-` and 14 lower-case letters or digits).
fn ours(harbor: &Harbor, full: &str) -> bool {
    full.strip_prefix(harbor.prefix.as_str())
        .and_then(|n| n.strip_prefix("pull-"))
        .is_some_and(|rest| rest.len() == 14 && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

async fn list_all(harbor: &Harbor) -> Result<HashMap<String, Robot>, super::client::HarborError> {
    let mut all = HashMap::new();
    for page in 1..=MAX_PAGES {
        let (robots, total) = harbor.client.list(page).await?;
        let n = robots.len();
        all.extend(robots.into_iter().map(|r| (r.name.clone(), r)));
        if n < super::client::PAGE_SIZE as usize || total.is_some_and(|t| all.len() as u64 >= t) {
            break;
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(5), Duration::seconds(80));
        assert_eq!(backoff(30), Duration::seconds(600));
    }
}
