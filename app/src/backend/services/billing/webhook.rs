//! `POST /stripe/webhook`: Stripe's word, verified, applied once.
//!
//! 1. The signature (HMAC-SHA256 over `t.body`, 300 s tolerance) is checked
//!    by async-stripe; a bad one is audited and answered 400.
//! 2. An event already processed is answered 200 at once (Stripe delivers at
//!    least once).
//! 3. Order does not matter: for a subscription or invoice event the
//!    subscription is **re-read from Stripe** and its current state applied;
//!    a snapshot read earlier than the one already applied is skipped. A
//!    refund is final; a canceled subscription never comes back.
//! 4. The event id is recorded in the same transaction as the changes, so
//!    the 2xx goes out only after commit and a crash means a redo, never a
//!    loss.

use crate::backend::services::billing::lifecycle;
use crate::backend::services::billing::lifecycle::{Cause, Desired, SubscriptionState};
use crate::backend::services::billing::{stripe_err, Billing};
use crate::error::AppError;
use crate::backend::services::audit;
use crate::backend::services::audit::attempts::{Attempt, Attempts};
use crate::backend::services::audit::{AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::orders::{Key, OrderRow};
use crate::backend::db::{Db, Tx};
use crate::backend::web::RequestMeta;
use chrono::{DateTime, Months, Utc};
use serde_json::json;
use crate::domain::access::{EntitlementSource, EntitlementStatus};
use crate::domain::order::{OrderMode, OrderStatus};
use stripe_shared::{
    CheckoutSession, CheckoutSessionPaymentStatus, InvoiceBillingReason, InvoiceStatus, Subscription, SubscriptionStatus,
};
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

fn ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
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
    let cause = Cause { event_id: &event_id, event_type: &event_type, meta };
    let created = ts(event.created);
    let plan = plan(billing, db, event.data.object).await?;
    apply(billing, db, plan, created, &cause).await
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
async fn plan(billing: &Billing, db: &Db, object: EventObject) -> Result<Plan, Rejected> {
    Ok(match object {
        EventObject::CheckoutSessionCompleted(s) | EventObject::CheckoutSessionAsyncPaymentSucceeded(s) => {
            let snapshot = match s.subscription.as_ref() {
                Some(sub) => Some(retrieve(billing, sub.id().as_str()).await?),
                None => None,
            };
            Plan::Session(s, snapshot)
        }
        EventObject::CheckoutSessionExpired(s) => Plan::Abandoned(s, OrderStatus::Expired),
        EventObject::CheckoutSessionAsyncPaymentFailed(s) => Plan::Abandoned(s, OrderStatus::Incomplete),
        EventObject::CustomerSubscriptionCreated(s)
        | EventObject::CustomerSubscriptionUpdated(s)
        | EventObject::CustomerSubscriptionDeleted(s)
        | EventObject::CustomerSubscriptionPaused(s)
        | EventObject::CustomerSubscriptionResumed(s) => {
            let snapshot = retrieve(billing, s.id.as_str()).await?;
            Plan::Subscription(session_for(billing, db, Key::Subscription(s.id.as_str())).await?, snapshot)
        }
        EventObject::InvoicePaid(i) | EventObject::InvoicePaymentFailed(i) => {
            let sub = i.parent.as_ref().and_then(|p| p.subscription_details.as_ref()).map(|d| d.subscription.id().as_str().to_owned());
            match sub {
                Some(sub) => {
                    let snapshot = retrieve(billing, &sub).await?;
                    Plan::Subscription(session_for(billing, db, Key::Subscription(&sub)).await?, snapshot)
                }
                None => Plan::Nothing,
            }
        }
        EventObject::ChargeRefunded(c) => match c.payment_intent.as_ref() {
            Some(pi) if c.refunded => {
                let pi = pi.id().as_str().to_owned();
                Plan::Refund(session_for(billing, db, Key::PaymentIntent(&pi)).await?, pi)
            }
            _ => Plan::Nothing,
        },
        _ => Plan::Nothing,
    })
}

/// Applies a plan and records the event in one transaction (serialised
/// with every other delivery), so the 2xx leaves only after commit.
async fn apply(billing: &Billing, db: &Db, plan: Plan, created: DateTime<Utc>, cause: &Cause<'_>) -> Result<Handled, Rejected> {
    let mut tx = db.begin().await?;
    db::orders::lock_billing(&mut tx).await?;
    if !db::orders::claim_event(&mut tx, cause.event_id, cause.event_type, created, Utc::now()).await? {
        return Ok(Handled::Duplicate);
    }
    let handled = match plan {
        Plan::Nothing => Handled::Ignored,
        Plan::Session(session, snapshot) => {
            match order_for(&mut tx, Some(&session)).await? {
                Some(mut order) => {
                    on_session(&mut tx, &mut order, &session, snapshot.as_ref(), created, billing, cause).await?;
                    Handled::Applied
                }
                None => Handled::Ignored,
            }
        }
        Plan::Subscription(session, snap) => {
            match find_or_make(&mut tx, Key::Subscription(snap.sub.id.as_str()), session.as_ref()).await? {
                Some(mut order) => {
                    on_subscription(&mut tx, &mut order, &snap, billing, cause).await?;
                    Handled::Applied
                }
                None => Handled::Ignored,
            }
        }
        Plan::Abandoned(session, status) => match db::orders::find_in(&mut tx, Key::Session(session.id.as_str())).await? {
            // Only an order still waiting for payment: a paid one keeps its state.
            Some(mut order) if order.status == OrderStatus::Pending => {
                order.status = status;
                db::orders::update(&mut tx, &order, Utc::now()).await?;
                Handled::Applied
            }
            _ => Handled::Ignored,
        },
        Plan::Refund(session, pi) => match find_or_make(&mut tx, Key::PaymentIntent(&pi), session.as_ref()).await? {
            Some(mut order) => {
                order.stripe_payment_intent_id.get_or_insert(pi);
                on_refund(&mut tx, &mut order, cause).await?;
                Handled::Applied
            }
            None => Handled::Ignored,
        },
    };
    tx.commit().await?;
    Ok(handled)
}

enum Plan {
    Nothing,
    Session(Box<CheckoutSession>, Option<Snapshot>),
    Subscription(Option<CheckoutSession>, Snapshot),
    Refund(Option<CheckoutSession>, String),
    /// A checkout that expired unpaid, or whose delayed payment failed.
    Abandoned(Box<CheckoutSession>, OrderStatus),
}

/// The subscription as Stripe has it now, with the moment it was read.
struct Snapshot {
    sub: Subscription,
    read_at: DateTime<Utc>,
    /// Its latest invoice is a renewal that was not paid (read only when
    /// the subscription is past due, unpaid or canceled).
    renewal_unpaid: bool,
}

async fn retrieve(billing: &Billing, id: &str) -> Result<Snapshot, Rejected> {
    let sub = stripe_billing::subscription::RetrieveSubscription::new(id).send(&billing.client).await.map_err(stripe_err)?;
    let read_at = Utc::now();
    let troubled = matches!(sub.status, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid | SubscriptionStatus::Canceled);
    let latest = sub.latest_invoice.as_ref().filter(|_| troubled).and_then(|inv| inv.id().as_ref()).map(|id| id.as_str().to_owned());
    let renewal_unpaid = match latest {
        Some(id) => {
            let inv = stripe_billing::invoice::RetrieveInvoice::new(id.as_str()).send(&billing.client).await.map_err(stripe_err)?;
            let renewal = matches!(inv.billing_reason, Some(InvoiceBillingReason::SubscriptionCycle));
            renewal && inv.status.as_ref().is_some_and(|s| *s != InvoiceStatus::Paid) && inv.amount_remaining > 0
        }
        None => false,
    };
    Ok(Snapshot { sub, read_at, renewal_unpaid })
}

/// The Checkout Session that made a subscription or payment, when we do not
/// know it yet (its metadata names the customer, product and price).
async fn session_for(billing: &Billing, db: &Db, key: Key<'_>) -> Result<Option<CheckoutSession>, Rejected> {
    if db::orders::exists_for(db, key).await? {
        return Ok(None);
    }
    let list = stripe_checkout::checkout_session::ListCheckoutSession::new().limit(1);
    let list = match key {
        Key::Subscription(id) => list.subscription(id),
        Key::PaymentIntent(id) => list.payment_intent(id),
        Key::Session(_) => return Ok(None),
    };
    Ok(list.send(&billing.client).await.map_err(stripe_err)?.data.into_iter().next())
}

/// The order a subscription or payment intent belongs to, else its session's.
async fn find_or_make(tx: &mut Tx, key: Key<'_>, session: Option<&CheckoutSession>) -> Result<Option<OrderRow>, Rejected> {
    match db::orders::find_in(tx, key).await? {
        Some(order) => Ok(Some(order)),
        None => order_for(tx, session).await,
    }
}

/// The order of a Checkout Session: ours, or one made now from the session's
/// metadata (the webhook can beat the browser's own request).
async fn order_for(tx: &mut Tx, session: Option<&CheckoutSession>) -> Result<Option<OrderRow>, Rejected> {
    let Some(session) = session else { return Ok(None) };
    if let Some(order) = db::orders::find_in(tx, Key::Session(session.id.as_str())).await? {
        return Ok(Some(order));
    }
    let Some(md) = session.metadata.as_ref() else { return Ok(None) };
    let num = |k: &str| md.get(k).and_then(|v| v.parse::<i64>().ok());
    let (Some(customer_id), Some(price_id)) = (num("portcullis_user_id"), num("portcullis_price_id")) else {
        tracing::warn!(session = %session.id.as_str(), "a Checkout Session without Portcullis metadata: ignored");
        return Ok(None);
    };
    // Trust the metadata only as far as Stripe's own fields agree with it: the
    // session's customer is this account's Stripe customer and its reference
    // is this account (a Stripe account shared with another system stays out).
    let ours = db::orders::stripe_customer_in(tx, customer_id).await?;
    let theirs = session.customer.as_ref().map(|c| c.id().as_str().to_owned());
    if ours.is_none() || ours != theirs || session.client_reference_id.as_deref() != Some(customer_id.to_string().as_str()) {
        tracing::warn!(session = %session.id.as_str(), "a Checkout Session whose customer is not the account its metadata names: ignored");
        return Ok(None);
    }
    let Some(price) = db::products::price_in(tx, price_id).await? else { return Ok(None) };
    let mode = if session.subscription.is_some() { OrderMode::Subscription } else { OrderMode::Payment };
    db::orders::insert(
        tx,
        &db::orders::NewOrder {
            customer_id,
            product_id: price.product_id,
            price_id,
            mode,
            amount_cents: price.amount_cents,
            currency: &price.currency,
            checkout_session_id: session.id.as_str(),
        },
        Utc::now(),
    )
    .await?;
    Ok(db::orders::find_in(tx, Key::Session(session.id.as_str())).await?)
}

async fn on_session(
    tx: &mut Tx,
    order: &mut OrderRow,
    session: &CheckoutSession,
    snapshot: Option<&Snapshot>,
    created: DateTime<Utc>,
    billing: &Billing,
    cause: &Cause<'_>,
) -> Result<(), Rejected> {
    if let Some(snap) = snapshot {
        return on_subscription(tx, order, snap, billing, cause).await;
    }
    let paid = session.payment_status == CheckoutSessionPaymentStatus::Paid;
    if let Some(pi) = &session.payment_intent {
        order.stripe_payment_intent_id = Some(pi.id().as_str().to_owned());
    }
    if !paid || order.status == OrderStatus::Refunded || order.entitlement_id.is_some() {
        db::orders::update(tx, order, Utc::now()).await?;
        return Ok(());
    }
    let months = u32::try_from(order.price_duration.unwrap_or(1)).unwrap_or(1);
    let want = Desired {
        status: EntitlementStatus::Active,
        ends_at: created.checked_add_months(Months::new(months)),
        grace_until: None,
        reason: None,
    };
    order.status = OrderStatus::Paid;
    lifecycle::apply(tx, order, &want, created, EntitlementSource::OneTime, cause).await?;
    db::orders::update(tx, order, Utc::now()).await?;
    Ok(())
}

async fn on_subscription(tx: &mut Tx, order: &mut OrderRow, snap: &Snapshot, billing: &Billing, cause: &Cause<'_>) -> Result<(), Rejected> {
    let (sub, read_at) = (&snap.sub, snap.read_at);
    if order.stripe_state_at.is_some_and(|applied| applied >= read_at) {
        return Ok(()); // an older read than the one already applied
    }
    let item = sub.items.data.first();
    let state = SubscriptionState {
        status: lifecycle::order_status(&sub.status).unwrap_or(order.status),
        started_at: ts(sub.start_date),
        period_start: item.map_or(ts(sub.start_date), |i| ts(i.current_period_start)),
        period_end: item.map_or(ts(sub.start_date), |i| ts(i.current_period_end)),
        cancel_at_period_end: sub.cancel_at_period_end,
        ended_at: sub.ended_at.or(sub.canceled_at).map(ts),
    };
    // When the unpaid renewal fell due: the period's start (never later than
    // now, so a stand-in whose clock does not move cannot stretch the grace).
    // Kept through a cancellation, which then ends access at the last paid
    // period, not the unpaid one.
    order.past_due_since = match state.status {
        OrderStatus::PastDue | OrderStatus::Unpaid => order.past_due_since.or(Some(state.period_start.min(read_at))),
        OrderStatus::Canceled if snap.renewal_unpaid => order.past_due_since.or(Some(state.period_start.min(read_at))),
        _ => None,
    };
    order.stripe_subscription_id = Some(sub.id.as_str().to_owned());
    order.current_period_end = Some(state.period_end);
    order.cancel_at_period_end = state.cancel_at_period_end;
    order.stripe_state_at = Some(read_at);
    order.status = state.status;
    if let Some(want) = lifecycle::desired(&state, order.past_due_since, &billing.settings) {
        lifecycle::apply(tx, order, &want, state.started_at, EntitlementSource::Subscription, cause).await?;
    }
    db::orders::update(tx, order, Utc::now()).await?;
    Ok(())
}

/// A refunded one-time purchase loses its access at once, for good.
async fn on_refund(tx: &mut Tx, order: &mut OrderRow, cause: &Cause<'_>) -> Result<(), Rejected> {
    if order.status == OrderStatus::Refunded {
        return Ok(());
    }
    order.status = OrderStatus::Refunded;
    if order.entitlement_id.is_some() {
        let want = Desired {
            status: EntitlementStatus::Revoked,
            ends_at: order.entitlement_ends_at,
            grace_until: None,
            reason: Some("the payment was refunded".into()),
        };
        lifecycle::apply(tx, order, &want, order.created_at, EntitlementSource::OneTime, cause).await?;
    }
    db::orders::update(tx, order, Utc::now()).await?;
    Ok(())
}

