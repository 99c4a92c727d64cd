//! Reconciliation: the webhook is not the only way Stripe's word arrives.
//! Deliveries can be lost past Stripe's retries (an outage, a wrong signing
//! secret or API version on the endpoint), so a run re-reads from Stripe
//! what is behind every live and pending order (the subscription with its
//! current invoice's payment, a purchase's payment, a checkout's session)
//! and converges the order and its entitlement on it (`converge`), one
//! transaction per order, serialised with the webhook. Every change is
//! audited with the run's id (`details.reconciliation`); the run itself is a
//! `billing_reconciliations` row and a `billing.reconcile` audit event.
//!
//! Runs: the fleet job `billing.reconcile` (`next_cause`: daily by
//! default, `PORTCULLIS_BILLING_RECONCILE_EVERY`, and soon after refused
//! deliveries), and `portcullis stripe reconcile [--since DATE]`.

use crate::backend::db;
use crate::backend::db::orders::{OrderRow, ReconcileRow};
use crate::backend::db::Db;
use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::services::billing::converge::{self, Plan};
use crate::backend::services::billing::lifecycle::{Cause, Why};
use crate::backend::services::billing::webhook::Rejected;
use crate::backend::services::billing::{read, Billing};
use crate::backend::web::RequestMeta;
use crate::domain::order::{OrderStatus, ReconcileCause};
use crate::error::AppError;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stripe_shared::{CheckoutSessionPaymentStatus, CheckoutSessionStatus};

/// How many orders are read from the database at a time.
const BATCH: i64 = 200;

/// How long after its access ended a paid purchase is still re-read (a
/// card dispute can be opened up to 120 days after the payment).
const DISPUTE_WINDOW_DAYS: i64 = 120;

/// Whether a run is due, and why: the regular one when `every` has passed
/// since the last clean run (or there never was one), else one after
/// webhook deliveries were refused since the last run began.
pub fn next_cause(last_clean_start: Option<DateTime<Utc>>, refused_since_last: i64, every: Duration, now: DateTime<Utc>) -> Option<ReconcileCause> {
    match last_clean_start {
        None => Some(ReconcileCause::Schedule),
        Some(t) if t.checked_add_signed(every).is_some_and(|due| due <= now) => Some(ReconcileCause::Schedule),
        Some(_) if refused_since_last > 0 => Some(ReconcileCause::Refusals),
        Some(_) => None,
    }
}

/// The fleet job's body: runs when `next_cause` says so; answers what it
/// did in words.
pub async fn when_due(billing: &Billing, db: &Db, every: std::time::Duration) -> Result<String, String> {
    let every = Duration::from_std(every).unwrap_or(Duration::days(1));
    let last = db::orders::last_reconcile(db, true).await.map_err(|e| e.to_string())?;
    let refused = match &last {
        Some(run) => db::orders::refused_since(db, run.started_at).await.map_err(|e| e.to_string())?,
        None => 0,
    };
    let Some(cause) = next_cause(last.map(|r| r.started_at), refused, every, Utc::now()) else {
        return Ok("not due".into());
    };
    let run = run(billing, db, cause, None, Actor::System, &RequestMeta::default()).await.map_err(|e| e.for_log())?;
    Ok(summary(&run))
}

/// "12 orders re-read, 2 repaired, 1 not readable".
pub fn summary(run: &ReconcileRow) -> String {
    let mut s = format!("{} orders re-read from Stripe, {} repaired", run.checked, run.repaired);
    if run.failed > 0 {
        s.push_str(&format!(", {} could not be read (see the log)", run.failed));
    }
    s
}

/// One run: every order still waiting for payment or giving access, and
/// with `since` every order made or changed since then.
pub async fn run(
    billing: &Billing,
    db: &Db,
    cause: ReconcileCause,
    since: Option<DateTime<Utc>>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<ReconcileRow, AppError> {
    let started_at = Utc::now();
    let id = db::orders::start_reconcile(db, cause, since, started_at).await?;
    let mut run = ReconcileRow { id, cause, since, started_at, finished_at: None, checked: 0, repaired: 0, failed: 0, error: None };
    let mut after = 0;
    loop {
        let batch = db::orders::to_reconcile(db, since, started_at - Duration::days(DISPUTE_WINDOW_DAYS), after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for order in &batch {
            run.checked += 1;
            let why = Cause::new(Why::Reconciliation { run: id }, meta);
            match one(billing, db, order, &why).await {
                Ok(()) if why.changes() > 0 => run.repaired += 1,
                Ok(()) => {}
                Err(e) => {
                    run.failed += 1;
                    let e = match e {
                        Rejected::Retry(e) => e.for_log(),
                        Rejected::Invalid(e) => e,
                    };
                    tracing::warn!(order = order.id, run = id, error = %e, "reconciliation: the order could not be re-read from Stripe");
                }
            }
        }
    }
    run.finished_at = Some(Utc::now());
    if run.failed > 0 {
        run.error = Some(format!("{} order(s) could not be read from Stripe; the log names them", run.failed));
    }
    db::orders::finish_reconcile(db, &run).await?;
    let outcome = if run.failed > 0 { Outcome::Failure } else { Outcome::Success };
    audit::record_alone(
        db,
        &AuditEvent::new(actor, "billing.reconcile", outcome).target("reconciliation", id).meta(meta).details(json!({
            "cause": cause.as_str(),
            "since": since.map(crate::domain::time::rfc3339),
            "checked": run.checked,
            "repaired": run.repaired,
            "failed": run.failed,
        })),
    )
    .await?;
    Ok(run)
}

/// Re-reads one order from Stripe and converges on it in its own
/// transaction (serialised with the webhook's).
async fn one(billing: &Billing, db: &Db, order: &OrderRow, cause: &Cause<'_>) -> Result<(), Rejected> {
    let plan = plan(billing, db, order).await?;
    let mut tx = db.begin().await?;
    db::orders::lock_billing(&mut tx).await?;
    converge::apply(&mut tx, billing, plan, cause).await?;
    tx.commit().await?;
    Ok(())
}

/// What Stripe says about an order now: its subscription, its payment, or
/// (still pending) its Checkout Session.
async fn plan(billing: &Billing, db: &Db, order: &OrderRow) -> Result<Plan, Rejected> {
    if let Some(sub) = &order.stripe_subscription_id {
        return converge::subscription_plan(billing, db, sub).await;
    }
    if let (Some(pi), false) = (&order.stripe_payment_intent_id, order.status == OrderStatus::Pending) {
        return converge::payment_plan(billing, db, pi).await;
    }
    let session = read::session(billing, &order.stripe_checkout_session_id).await?;
    Ok(match session.status {
        Some(CheckoutSessionStatus::Expired) => Plan::Abandoned(Box::new(session), OrderStatus::Expired),
        Some(CheckoutSessionStatus::Complete) => {
            if let Some(sub) = session.subscription.as_ref().map(|s| s.id().as_str().to_owned()) {
                let snapshot = read::subscription(billing, &sub).await?;
                Plan::Session { session: Box::new(session), snapshot: Some(Box::new(snapshot)), paid_at: Utc::now() }
            } else if session.payment_status == CheckoutSessionPaymentStatus::Paid {
                // The purchase's window starts when it was paid, not now.
                let paid_at = match session.payment_intent.as_ref() {
                    Some(pi) => read::payment(billing, pi.id().as_str()).await?.paid_at,
                    None => None,
                };
                Plan::Session { session: Box::new(session), snapshot: None, paid_at: paid_at.unwrap_or_else(Utc::now) }
            } else {
                Plan::Nothing
            }
        }
        _ => Plan::Nothing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_run_is_due_daily_and_after_refusals() {
        let t = |h: u32| Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
        let day = Duration::days(1);
        assert_eq!(next_cause(None, 0, day, t(1)), Some(ReconcileCause::Schedule));
        assert_eq!(next_cause(Some(t(1)), 0, day, t(5)), None);
        assert_eq!(next_cause(Some(t(1)), 3, day, t(5)), Some(ReconcileCause::Refusals));
        assert_eq!(next_cause(Some(t(0)), 0, Duration::hours(4), t(5)), Some(ReconcileCause::Schedule));
        assert_eq!(next_cause(Some(t(0)), 0, Duration::MAX, t(5)), None);
    }
}
