//! `POST /stripe/webhook`: Stripe's word, verified, applied once.
//!
//! 1. The signature (HMAC-SHA256 over `t.body`, 300 s tolerance) is checked
//!    by async-stripe; a bad one is audited and answered 400.
//! 2. An event already processed is answered 200 at once (Stripe delivers at
//!    least once).
//! 3. Order does not matter: for a subscription or invoice event the
//!    subscription is **re-read from Stripe** (`read`), for a refund or a
//!    dispute the payment, and the current state applied (`converge`); a
//!    snapshot read earlier than the one already applied is skipped. A
//!    one-time purchase refunded is final; a canceled subscription never
//!    comes back.
//! 4. The event id is recorded in the same transaction as the changes, so
//!    the 2xx goes out only after commit and a crash means a redo, never a
//!    loss.

use crate::backend::db;
use crate::backend::db::Db;
use crate::backend::services::audit;
use crate::backend::services::audit::attempts::{Attempt, Attempts};
use crate::backend::services::audit::{AuditEvent, Outcome};
use crate::backend::services::billing::converge::{self, Plan};
use crate::backend::services::billing::lifecycle::{self, Cause, Why};
use crate::backend::services::billing::{read, Billing};
use crate::backend::web::RequestMeta;
use crate::domain::order::OrderStatus;
use crate::error::AppError;
use chrono::{DateTime, Utc};
use serde_json::json;
use stripe_webhook::{EventObject, Webhook, WebhookError};

/// How a delivery was answered (the HTTP layer turns it into a status).
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Applied,
    Duplicate,
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// Bad or missing signature, stale timestamp, unparsable event: 400.
    #[error("{0}")]
    Invalid(String),
    /// Stripe or the database failed: 500, and Stripe retries.
    #[error("{0}")]
    Retry(AppError),
}

impl From<sqlx::Error> for Rejected {
    fn from(e: sqlx::Error) -> Self {
        Self::Retry(e.into())
    }
}

impl From<AppError> for Rejected {
    fn from(e: AppError) -> Self {
        Self::Retry(e)
    }
}

/// Verifies, de-duplicates and applies one delivery: `verify` the
/// signature, `plan` what to change from Stripe's current state (read
/// before any transaction), then `apply` the plan in one transaction with
/// the event's id.
pub async fn handle(
    billing: &Billing,
    db: &Db,
    attempts: &Attempts,
    payload: &str,
    signature: Option<&str>,
    meta: &RequestMeta,
) -> Result<Handled, Rejected> {
    let event = verify(billing, db, attempts, payload, signature, meta).await?;
    let event_id = event.id.as_str().to_owned();
    let event_type = event.type_.as_str().to_owned();
    if db::orders::event_seen(db, &event_id).await? {
        return Ok(Handled::Duplicate);
    }
    let created = DateTime::from_timestamp(event.created, 0).unwrap_or_default();
    let plan = plan(billing, db, event.data.object, created).await?;
    apply(billing, db, plan, created, &event_id, &event_type, meta).await
}

/// The longest `Stripe-Signature` header read (Stripe's are ~200 bytes).
const MAX_SIGNATURE_BYTES: usize = 4096;

/// The event, if its signature holds. A delivery that is not signed with
/// the secret is counted as an attempt that authenticated nothing
/// (`services::audit::attempts`); a signed one that cannot be read (the
/// endpoint's API version) is audited on its own: it is Stripe's.
async fn verify(
    billing: &Billing,
    db: &Db,
    attempts: &Attempts,
    payload: &str,
    signature: Option<&str>,
    meta: &RequestMeta,
) -> Result<stripe_webhook::Event, Rejected> {
    let signature = signature.filter(|s| s.len() <= MAX_SIGNATURE_BYTES);
    let (code, reason) = match signature.map(|sig| Webhook::construct_event(payload, sig, &billing.webhook_secret)) {
        Some(Ok(event)) => return Ok(event),
        None => ("no_signature", "no Stripe-Signature header (or an oversized one)".to_owned()),
        Some(Err(WebhookError::BadTimestamp(t))) => ("stale_signature", format!("signature timestamp {t} is outside the 300 s tolerance")),
        Some(Err(WebhookError::BadSignature)) => ("bad_signature", "signature does not match the signing secret".to_owned()),
        Some(Err(WebhookError::BadParse(e))) => {
            let reason = format!(
                "signed, but not readable as an event of API version {}: set the webhook endpoint's API version to it ({e})",
                stripe_shared::version::VERSION.as_str()
            );
            let _ = audit::record_alone(
                db,
                &AuditEvent::new(lifecycle::stripe_actor(), "billing.webhook", Outcome::Denied)
                    .meta(meta)
                    .details(json!({ "reason": reason })),
            )
            .await;
            return Err(Rejected::Invalid(reason));
        }
        Some(Err(_)) => ("bad_signature", "the Stripe-Signature header is malformed".to_owned()),
    };
    attempts.note(Attempt::denied("billing.webhook", code), meta.ip, Utc::now(), || json!({ "reason": reason, "user_agent": meta.user_agent }));
    Err(Rejected::Invalid(reason))
}

/// What the event asks for, with what Stripe says now: read before the
/// transaction (a write lock is never held across a network call).
async fn plan(billing: &Billing, db: &Db, object: EventObject, created: DateTime<Utc>) -> Result<Plan, Rejected> {
    Ok(match object {
        EventObject::CheckoutSessionCompleted(session) | EventObject::CheckoutSessionAsyncPaymentSucceeded(session) => {
            let snapshot = match session.subscription.as_ref() {
                Some(sub) => Some(Box::new(read::subscription(billing, sub.id().as_str()).await?)),
                None => None,
            };
            Plan::Session { session, snapshot, paid_at: created }
        }
        EventObject::CheckoutSessionExpired(s) => Plan::Abandoned(s, OrderStatus::Expired),
        EventObject::CheckoutSessionAsyncPaymentFailed(s) => Plan::Abandoned(s, OrderStatus::Incomplete),
        EventObject::CustomerSubscriptionCreated(s)
        | EventObject::CustomerSubscriptionUpdated(s)
        | EventObject::CustomerSubscriptionDeleted(s)
        | EventObject::CustomerSubscriptionPaused(s)
        | EventObject::CustomerSubscriptionResumed(s) => converge::subscription_plan(billing, db, s.id.as_str()).await?,
        EventObject::InvoicePaid(i) | EventObject::InvoicePaymentFailed(i) => {
            match i.parent.as_ref().and_then(|p| p.subscription_details.as_ref()) {
                Some(d) => converge::subscription_plan(billing, db, d.subscription.id().as_str()).await?,
                None => Plan::Nothing,
            }
        }
        // A refund (full or partial) or a dispute: the payment is re-read.
        EventObject::ChargeRefunded(c) => match c.payment_intent.as_ref() {
            Some(pi) => converge::payment_plan(billing, db, pi.id().as_str()).await?,
            None => Plan::Nothing,
        },
        EventObject::ChargeDisputeCreated(d)
        | EventObject::ChargeDisputeUpdated(d)
        | EventObject::ChargeDisputeClosed(d)
        | EventObject::ChargeDisputeFundsWithdrawn(d)
        | EventObject::ChargeDisputeFundsReinstated(d) => {
            let pi = match d.payment_intent.as_ref() {
                Some(pi) => Some(pi.id().as_str().to_owned()),
                None => read::charge_payment_intent(billing, d.charge.id().as_str()).await?,
            };
            match pi {
                Some(pi) => converge::payment_plan(billing, db, &pi).await?,
                None => Plan::Nothing,
            }
        }
        _ => Plan::Nothing,
    })
}

/// Applies a plan and records the event in one transaction (serialised
/// with every other delivery), so the 2xx leaves only after commit.
async fn apply(
    billing: &Billing,
    db: &Db,
    plan: Plan,
    created: DateTime<Utc>,
    id: &str,
    kind: &str,
    meta: &RequestMeta,
) -> Result<Handled, Rejected> {
    let cause = Cause::new(Why::Event { id, kind }, meta);
    let mut tx = db.begin().await?;
    db::orders::lock_billing(&mut tx).await?;
    if !db::orders::claim_event(&mut tx, id, kind, created, Utc::now()).await? {
        return Ok(Handled::Duplicate);
    }
    let handled = if converge::apply(&mut tx, billing, plan, &cause).await? { Handled::Applied } else { Handled::Ignored };
    tx.commit().await?;
    Ok(handled)
}
